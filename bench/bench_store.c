/*
 * bench_store.c: the cost of postcardd's store on SQLite.
 *
 * 1. Single-row durable transactions per second (a card row rewritten, each its own
 *    transaction) with synchronous=FULL, against synchronous=NORMAL measured in the same run
 *    (ratio printed); point reads per second for scale.
 * 2. A typical session as postcardd runs it: three HTTP exchanges (hello, the card's
 *    INITIALIZE UPDATE answer, the bundle's responses), one store transaction each, carrying
 *    the demo's five jobs (install of a 3 KB load file, personalise, data change, lock app,
 *    rotate keys). Printed: store transactions and milliseconds per session. The same work
 *    with no explicit transaction (every call its own) is measured beside it.
 *
 * Usage: bench_store [--dir DIR] [--iter N] [--sessions N]
 *   DIR (default: a new folder under /tmp, removed at the end) is where the database files go;
 *   put it on the disk you mean to measure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store.h"

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
die(const char *what, pcard_err err)
{
	fprintf(stderr, "bench_store: %s: %s\n", what, pcard_strerror(err));
	exit(1);
}

#define CHECK(what, call) do { pcard_err e_ = (call); if (e_ != PCARD_OK) die(what, e_); } \
	while (0)

static pcard_store *
open_at(const char *dir, const char *name, int normal)
{
	pcard_store_sqlite_opts o;
	pcard_store *st = NULL;
	char path[600];

	memset(&o, 0, sizeof o);
	o.synchronous_normal = normal;
	snprintf(path, sizeof path, "%s/%s", dir, name);
	CHECK("open", pcard_store_open_sqlite_opts(path, &o, &st));
	return st;
}

static void
fill_card(pcard_store_card *c, const char *id)
{
	memset(c, 0, sizeof *c);
	snprintf(c->id, sizeof c->id, "%s", id);
	memset(c->kdd, 0x42, 10);
	c->kdd_len = 10;
	snprintf(c->profile, sizeof c->profile, "demo");
	c->life_cycle = 0x0F;
	c->kvn[0] = 0x30;
	c->n_kvn = 1;
	c->scp = 0x03;
	c->i = 0x70;
}

static void
setup_common(pcard_store *st)
{
	pcard_store_profile p;
	pcard_store_agent a;

	memset(&p, 0, sizeof p);
	snprintf(p.name, sizeof p.name, "demo");
	snprintf(p.labels[0], sizeof p.labels[0], "demo-master");
	p.n_labels = 1;
	snprintf(p.template, sizeof p.template, "kdf3");
	p.kvn = 0x30;
	p.scp = 0x03;
	p.i = 0x70;
	p.enrol_allowed = 1;
	CHECK("profile", pcard_store_profile_put(st, &p));
	memset(&a, 0, sizeof a);
	snprintf(a.id, sizeof a.id, "agent-1");
	snprintf(a.fingerprint, sizeof a.fingerprint, "%064x", 1);
	snprintf(a.name, sizeof a.name, "bench agent");
	CHECK("agent", pcard_store_agent_put(st, &a));
}

/* Rewrite one card row iter times, each a durable transaction; returns transactions/s. */
static double
single_row(pcard_store *st, int iter)
{
	pcard_store_card c;
	double t0;

	fill_card(&c, "BENCH0001");
	CHECK("card put", pcard_store_card_put(st, &c));
	t0 = now_s();
	for (int k = 0; k < iter; k++) {
		c.last_seen = k;
		CHECK("card put", pcard_store_card_put(st, &c));
	}
	return iter / (now_s() - t0);
}

static double
point_reads(pcard_store *st, int iter)
{
	pcard_store_card c;
	double t0 = now_s();

	for (int k = 0; k < iter; k++)
		CHECK("card get", pcard_store_card_get(st, "BENCH0001", &c));
	return iter / (now_s() - t0);
}

static const pcard_job_type demo_jobs[] = {
	PCARD_JOB_INSTALL, PCARD_JOB_PERSONALISE, PCARD_JOB_DATA_CHANGE, PCARD_JOB_LOCK_APP,
	PCARD_JOB_ROTATE_KEYS,
};
#define N_DEMO_JOBS (sizeof demo_jobs / sizeof demo_jobs[0])

/* The operator's side, not timed: the card and its five jobs. */
static void
prepare_card(pcard_store *st, int n, int64_t lf_id)
{
	pcard_store_card c;
	json_t *params;
	char id[32];

	snprintf(id, sizeof id, "CARD%08d", n);
	fill_card(&c, id);
	CHECK("card", pcard_store_card_put(st, &c));
	for (size_t k = 0; k < N_DEMO_JOBS; k++) {
		params = json_pack("{s:I,s:s,s:i}", "loadfile", (json_int_t)lf_id, "aid",
		    "A000000151535041", "version", (int)k);
		CHECK("enqueue", pcard_store_job_enqueue(st, id, demo_jobs[k], params, NULL));
		json_decref(params);
	}
}

/* One session's store work, exchange by exchange; explicit = one transaction per exchange. */
static void
run_session(pcard_store *st, int n, int explicit)
{
	pcard_store_agent a;
	pcard_store_card c;
	pcard_store_profile p;
	pcard_store_session s;
	pcard_store_job *jobs = NULL;
	pcard_store_loadfile lf;
	json_t *doc, *result;
	char id[32], sid[32], fp[2 * PCARD_STORE_HASH_BYTES + 1];
	size_t njobs = 0;

	snprintf(id, sizeof id, "CARD%08d", n);
	snprintf(sid, sizeof sid, "S%08d", n);

	/* Exchange 1: hello. Who is it, which card, what is pending; open the session. */
	if (explicit)
		CHECK("begin", pcard_store_begin(st));
	snprintf(fp, sizeof fp, "%064x", 1);	/* from the client certificate */
	CHECK("agent find", pcard_store_agent_find(st, fp, &a));
	CHECK("card get", pcard_store_card_get(st, id, &c));
	CHECK("job list", pcard_store_job_list(st, id,
	    PCARD_JOB_STATE_BIT(PCARD_JOB_QUEUED) | PCARD_JOB_STATE_BIT(PCARD_JOB_NEEDS_RECONCILE),
	    &jobs, &njobs));
	memset(&s, 0, sizeof s);
	snprintf(s.id, sizeof s.id, "%s", sid);
	snprintf(s.card, sizeof s.card, "%s", id);
	snprintf(s.agent, sizeof s.agent, "%s", a.id);
	s.state = PCARD_SESSION_HELLO;
	memset(s.host_challenge, 0x11, 8);
	s.host_challenge_len = 8;
	s.scp = 3;
	s.i = 0x70;
	s.security_level = 0x33;
	s.expires = pcard_store_now(st) + 60000;
	CHECK("session create", pcard_store_session_create(st, &s));
	CHECK("audit", pcard_store_audit_append(st, "agent-1", "session.hello", id, NULL, NULL));
	if (explicit)
		CHECK("commit", pcard_store_commit(st));

	/* Exchange 2: the card's answer; cryptogram checked in the HSM; the bundle goes out. */
	if (explicit)
		CHECK("begin", pcard_store_begin(st));
	CHECK("session get", pcard_store_session_get(st, sid, &s));
	CHECK("profile get", pcard_store_profile_get(st, c.profile, &p));
	for (size_t k = 0; k < njobs; k++) {
		CHECK("to in_session", pcard_store_job_transition(st, jobs[k].id, PCARD_JOB_QUEUED,
		    PCARD_JOB_IN_SESSION, sid, NULL, NULL));
		if (jobs[k].type == PCARD_JOB_INSTALL) {
			json_int_t lid = json_integer_value(json_object_get(jobs[k].params,
			    "loadfile"));

			CHECK("loadfile get", pcard_store_loadfile_get(st, (int64_t)lid, 1, &lf));
			pcard_store_loadfile_clear(&lf);
		}
		CHECK("to sent", pcard_store_job_transition(st, jobs[k].id, PCARD_JOB_IN_SESSION,
		    PCARD_JOB_SENT, NULL, NULL, NULL));
	}
	s.step = 1;
	s.state = PCARD_SESSION_AUTHENTICATED;
	memset(s.card_challenge, 0x22, 8);
	s.card_challenge_len = 8;
	s.seq_counter = (uint32_t)n;
	memset(s.mac_chain, 0x33, 16);
	s.mac_chain_len = 16;
	CHECK("session update", pcard_store_session_update(st, &s, 0));
	CHECK("audit", pcard_store_audit_append(st, "server", "bundle.sent", id, NULL, NULL));
	if (explicit)
		CHECK("commit", pcard_store_commit(st));
	pcard_store_session_clear(&s);

	/* Exchange 3: the responses, R-MACs verified; jobs done, the card's view updated. */
	if (explicit)
		CHECK("begin", pcard_store_begin(st));
	CHECK("session get", pcard_store_session_get(st, sid, &s));
	result = json_pack("{s:s,s:b}", "sw", "9000", "rmac_verified", 1);
	for (size_t k = 0; k < njobs; k++)
		CHECK("to done", pcard_store_job_transition(st, jobs[k].id, PCARD_JOB_SENT,
		    PCARD_JOB_DONE, NULL, result, NULL));
	json_decref(result);
	doc = json_pack("{s:[{s:s}],s:[{s:s,s:i}]}", "elfs", "aid", "A0000001515350", "apps",
	    "aid", "A000000151535041", "life_cycle", 0x83);
	CHECK("contents put", pcard_store_contents_put(st, id, doc));
	json_decref(doc);
	c.kvn[0] = 0x31;
	c.last_seen = pcard_store_now(st);
	CHECK("card put", pcard_store_card_put(st, &c));
	s.step = 2;
	CHECK("session update", pcard_store_session_update(st, &s, 1));
	CHECK("session close", pcard_store_session_close(st, sid));
	CHECK("audit", pcard_store_audit_append(st, "server", "session.done", id, NULL, NULL));
	if (explicit)
		CHECK("commit", pcard_store_commit(st));
	pcard_store_session_clear(&s);
	if (njobs != N_DEMO_JOBS)
		die("session", PCARD_E_INTERNAL);
	pcard_store_jobs_free(jobs, njobs);
}

static void
sessions(const char *dir, const char *name, int explicit, int n, double *ms, double *tx)
{
	pcard_store *st = open_at(dir, name, 0);
	pcard_store_loadfile lf;
	static uint8_t cap[3072];
	int64_t lf_id = 0;
	uint64_t tx0;
	double t0, total = 0;

	setup_common(st);
	memset(&lf, 0, sizeof lf);
	memcpy(lf.aid, "\xA0\x00\x00\x01\x51\x53\x50", 7);
	lf.aid_len = 7;
	snprintf(lf.version, sizeof lf.version, "1.0");
	lf.size = sizeof cap;
	lf.data = cap;
	CHECK("loadfile", pcard_store_loadfile_add(st, &lf, &lf_id));
	tx0 = 0;
	for (int k = 0; k < n; k++) {
		uint64_t before;

		prepare_card(st, k, lf_id);
		before = pcard_store_tx_count(st);
		t0 = now_s();
		run_session(st, k, explicit);
		total += now_s() - t0;
		tx0 += pcard_store_tx_count(st) - before;
	}
	CHECK("audit verify", pcard_store_audit_verify(st, NULL));
	pcard_store_close(st);
	*ms = total * 1000.0 / n;
	*tx = (double)tx0 / n;
}

int
main(int argc, char **argv)
{
	char dir[512] = "", cmd[600];
	int iter = 3000, nsess = 300, own_dir = 0;
	pcard_store *full, *normal;
	double full_tps, normal_tps, reads, ms1, tx1, ms2, tx2;

	for (int k = 1; k < argc; k++) {
		if (strcmp(argv[k], "--dir") == 0 && k + 1 < argc)
			snprintf(dir, sizeof dir, "%s", argv[++k]);
		else if (strcmp(argv[k], "--iter") == 0 && k + 1 < argc)
			iter = atoi(argv[++k]);
		else if (strcmp(argv[k], "--sessions") == 0 && k + 1 < argc)
			nsess = atoi(argv[++k]);
		else {
			fprintf(stderr, "usage: bench_store [--dir DIR] [--iter N] [--sessions N]\n");
			return 2;
		}
	}
	if (iter < 10 || nsess < 1) {
		fprintf(stderr, "bench_store: iterations at least 10, sessions at least 1\n");
		return 2;
	}
	if (dir[0] == '\0') {
		snprintf(dir, sizeof dir, "/tmp/pcard-bench-store-XXXXXX");
		if (mkdtemp(dir) == NULL) {
			perror("bench_store: mkdtemp");
			return 1;
		}
		own_dir = 1;
	}

	full = open_at(dir, "full.db", 0);
	normal = open_at(dir, "normal.db", 1);
	setup_common(full);
	setup_common(normal);
	/* Interleave the two so both see the same disk conditions; best of 3 each. */
	full_tps = normal_tps = 0;
	for (int r = 0; r < 3; r++) {
		double f = single_row(full, iter), n = single_row(normal, iter);

		if (f > full_tps)
			full_tps = f;
		if (n > normal_tps)
			normal_tps = n;
	}
	reads = point_reads(full, iter * 10);
	pcard_store_close(full);
	pcard_store_close(normal);

	printf("# SQLite %s, WAL, single-row transactions (card row rewritten), best of 3 x %d\n",
	    sqlite3_libversion(), iter);
	printf("%-48s %12.0f\n", "durable tx/s, synchronous=FULL", full_tps);
	printf("%-48s %12.0f\n", "tx/s, synchronous=NORMAL (not durable)", normal_tps);
	printf("%-48s %12.2f\n", "NORMAL / FULL", normal_tps / full_tps);
	printf("%-48s %12.0f\n", "point reads/s (card get, own transaction)", reads);

	sessions(dir, "sess-explicit.db", 1, nsess, &ms1, &tx1);
	sessions(dir, "sess-implicit.db", 0, nsess, &ms2, &tx2);
	printf("# typical session: 3 exchanges, 5 jobs (3 KB install, personalise, data change,"
	    " lock app, rotate keys), %d sessions\n", nsess);
	printf("%-48s %12s %12s %12s\n", "mode", "store tx", "ms/session", "sessions/s");
	printf("%-48s %12.1f %12.3f %12.0f\n", "one transaction per HTTP exchange", tx1, ms1,
	    1000.0 / ms1);
	printf("%-48s %12.1f %12.3f %12.0f\n", "every call its own transaction", tx2, ms2,
	    1000.0 / ms2);

	if (own_dir) {
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "bench_store: could not remove %s\n", dir);
	}
	return 0;
}
