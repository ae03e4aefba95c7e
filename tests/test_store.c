/*
 * test_store.c: the store (src/store) on its SQLite backend: every call and every error it
 * returns, the job state machine (every pair of states), session compare-and-set and the one
 * live session per card, the audit chain and its tamper detection, migration from v1,
 * durability across reopen, two handles on one file, and processes killed before and after
 * COMMIT.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "postcard/crypto.h"
#include "store.h"
#include "store_int.h"

static char tmpdir[256];
static char dbpath[300];

static int
setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/pcard-store-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(dbpath, sizeof dbpath, "%s/store.db", tmpdir);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* A settable clock, so timestamps and expiry are deterministic. */
static int64_t fake_now = 1700000000000;

static int64_t
fake_clock(void *ctx)
{
	(void)ctx;
	return fake_now;
}

static pcard_store *
open_store(void)
{
	pcard_store *st = NULL;

	assert_int_equal(pcard_store_open_sqlite(dbpath, &st), PCARD_OK);
	pcard_store_set_clock(st, fake_clock, NULL);
	return st;
}

/* Raw SQL on the store's own connection (the test reaches into the backend on purpose). */
static int
raw_exec(pcard_store *st, const char *sql)
{
	return sqlite3_exec(((sq_store *)st)->db, sql, NULL, NULL, NULL);
}

static int
raw_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *s = NULL;
	int v;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	v = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return v;
}

static void
put_profile(pcard_store *st, const char *name, int enrol)
{
	pcard_store_profile p;

	memset(&p, 0, sizeof p);
	snprintf(p.name, sizeof p.name, "%s", name);
	snprintf(p.labels[0], sizeof p.labels[0], "master-%s", name);
	p.n_labels = 1;
	snprintf(p.template, sizeof p.template, "kdf3");
	p.kvn = 0x30;
	p.scp = 0x03;
	p.i = 0x70;
	p.enrol_allowed = enrol;
	assert_int_equal(pcard_store_profile_put(st, &p), PCARD_OK);
}

static void
fill_card(pcard_store_card *c, const char *id, const char *profile)
{
	memset(c, 0, sizeof *c);
	snprintf(c->id, sizeof c->id, "%s", id);
	for (size_t k = 0; k < 10; k++)
		c->kdd[k] = (uint8_t)(0xA0 + k);
	c->kdd_len = 10;
	snprintf(c->profile, sizeof c->profile, "%s", profile);
	c->life_cycle = 0x0F;
	c->kvn[0] = 0x30;
	c->kvn[1] = 0x31;
	c->n_kvn = 2;
	c->scp = 0x03;
	c->i = 0x70;
	c->last_seen = 42;
}

static void
put_card(pcard_store *st, const char *id)
{
	pcard_store_card c;

	fill_card(&c, id, "");
	assert_int_equal(pcard_store_card_put(st, &c), PCARD_OK);
}

static void
put_agent(pcard_store *st, const char *id, const char *fp)
{
	pcard_store_agent a;

	memset(&a, 0, sizeof a);
	snprintf(a.id, sizeof a.id, "%s", id);
	snprintf(a.fingerprint, sizeof a.fingerprint, "%s", fp);
	snprintf(a.name, sizeof a.name, "agent %s", id);
	assert_int_equal(pcard_store_agent_put(st, &a), PCARD_OK);
}

/* ---- open, pragmas, errors ---- */

static void
test_open_pragmas(void **state)
{
	pcard_store *st = open_store();
	sqlite3 *db = ((sq_store *)st)->db;
	int v = 0;

	(void)state;
	assert_int_equal(pcard_store_schema_version(st, &v), PCARD_OK);
	assert_int_equal(v, pcard_store_sqlite_latest_version());
	assert_true(v >= 2);
	assert_int_equal(raw_int(db, "PRAGMA synchronous"), 2);	/* FULL */
	assert_int_equal(raw_int(db, "PRAGMA foreign_keys"), 1);
	assert_int_equal(raw_int(db, "PRAGMA busy_timeout"), 5000);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM schema_version"), v);
	assert_int_equal(pcard_store_tx_count(st), 0);
	{
		sqlite3_stmt *s = NULL;

		assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, NULL),
		    SQLITE_OK);
		assert_int_equal(sqlite3_step(s), SQLITE_ROW);
		assert_string_equal((const char *)sqlite3_column_text(s, 0), "wal");
		sqlite3_finalize(s);
	}
	assert_string_equal(st->ops->name, "sqlite");
	pcard_store_close(st);
	pcard_store_close(NULL);
}

static void
test_open_errors(void **state)
{
	pcard_store *st = NULL;
	pcard_store_sqlite_opts o;
	char path[400];
	FILE *f;
	sqlite3 *db = NULL;

	(void)state;
	assert_int_equal(pcard_store_open_sqlite(NULL, &st), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_store_open_sqlite(dbpath, NULL), PCARD_E_INVALID_ARG);
	memset(&o, 0, sizeof o);
	o.max_version = pcard_store_sqlite_latest_version() + 1;
	assert_int_equal(pcard_store_open_sqlite_opts(dbpath, &o, &st), PCARD_E_INVALID_ARG);
	o.max_version = -1;
	assert_int_equal(pcard_store_open_sqlite_opts(dbpath, &o, &st), PCARD_E_INVALID_ARG);

	/* A folder that does not exist. */
	snprintf(path, sizeof path, "%s/no/such/dir/store.db", tmpdir);
	assert_int_equal(pcard_store_open_sqlite(path, &st), PCARD_E_IO);
	assert_null(st);

	/* Not a database. */
	snprintf(path, sizeof path, "%s/garbage.db", tmpdir);
	f = fopen(path, "wb");
	assert_non_null(f);
	for (int k = 0; k < 4096; k++)
		fputc((k * 7) & 0xff, f);
	fclose(f);
	assert_int_equal(pcard_store_open_sqlite(path, &st), PCARD_E_BAD_FILE);
	assert_null(st);

	/* A database written by a newer postcardd: refused, left untouched. */
	st = open_store();
	pcard_store_close(st);
	assert_int_equal(sqlite3_open(dbpath, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "INSERT INTO schema_version VALUES (99, 0, 'future')",
	    NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	st = NULL;
	assert_int_equal(pcard_store_open_sqlite(dbpath, &st), PCARD_E_UNSUPPORTED);
	assert_null(st);
	assert_int_equal(sqlite3_open(dbpath, &db), SQLITE_OK);
	assert_int_equal(raw_int(db, "SELECT max(version) FROM schema_version"), 99);
	sqlite3_close(db);
}

/* ---- migration ---- */

static void
test_migration_from_v1(void **state)
{
	pcard_store_sqlite_opts o;
	pcard_store *st = NULL;
	pcard_store_card c;
	pcard_store_job j;
	pcard_store_session s;
	int64_t jid = 0, aid = 0, first_bad = -1;
	int v = 0;

	(void)state;
	memset(&o, 0, sizeof o);
	o.max_version = 1;
	assert_int_equal(pcard_store_open_sqlite_opts(dbpath, &o, &st), PCARD_OK);
	pcard_store_set_clock(st, fake_clock, NULL);
	assert_int_equal(pcard_store_schema_version(st, &v), PCARD_OK);
	assert_int_equal(v, 1);
	put_profile(st, "p1", 1);
	put_card(st, "C1");
	put_agent(st, "a1", "aa11");
	assert_int_equal(pcard_store_job_enqueue(st, "C1", PCARD_JOB_INSTALL, NULL, &jid),
	    PCARD_OK);
	assert_int_equal(pcard_store_audit_append(st, "admin", "card.put", "C1", NULL, &aid),
	    PCARD_OK);
	/* v1 has no sessions table. */
	memset(&s, 0, sizeof s);
	snprintf(s.id, sizeof s.id, "S1");
	snprintf(s.card, sizeof s.card, "C1");
	snprintf(s.agent, sizeof s.agent, "a1");
	s.state = PCARD_SESSION_HELLO;
	s.expires = fake_now + 60000;
	assert_int_not_equal(pcard_store_session_create(st, &s), PCARD_OK);
	pcard_store_close(st);

	/* Reopen with the defaults: migrated to the latest, v1 data intact. */
	st = open_store();
	assert_int_equal(pcard_store_schema_version(st, &v), PCARD_OK);
	assert_int_equal(v, pcard_store_sqlite_latest_version());
	assert_int_equal(pcard_store_card_get(st, "C1", &c), PCARD_OK);
	assert_int_equal(c.kdd_len, 10);
	assert_int_equal(pcard_store_job_get(st, jid, &j), PCARD_OK);
	assert_int_equal(j.state, PCARD_JOB_QUEUED);
	pcard_store_job_clear(&j);
	assert_int_equal(pcard_store_audit_verify(st, &first_bad), PCARD_OK);
	assert_int_equal(first_bad, 0);
	assert_int_equal(pcard_store_session_create(st, &s), PCARD_OK);
	assert_int_equal(raw_int(((sq_store *)st)->db, "SELECT count(*) FROM schema_version"),
	    pcard_store_sqlite_latest_version());
	pcard_store_close(st);
}

/* ---- cards and profiles ---- */

static void
test_cards(void **state)
{
	pcard_store *st = open_store();
	pcard_store_card c, g;
	char longid[PCARD_STORE_ID_MAX + 2];

	(void)state;
	put_profile(st, "open", 1);
	put_profile(st, "closed", 0);

	fill_card(&c, "A000000151000001", "open");
	assert_int_equal(pcard_store_card_get(st, c.id, &g), PCARD_E_NOT_FOUND);
	assert_int_equal(pcard_store_card_put(st, &c), PCARD_OK);
	assert_int_equal(pcard_store_card_get(st, c.id, &g), PCARD_OK);
	assert_string_equal(g.id, c.id);
	assert_memory_equal(g.kdd, c.kdd, 10);
	assert_int_equal(g.kdd_len, 10);
	assert_string_equal(g.profile, "open");
	assert_int_equal(g.life_cycle, 0x0F);
	assert_int_equal(g.n_kvn, 2);
	assert_int_equal(g.kvn[1], 0x31);
	assert_int_equal(g.scp, 3);
	assert_int_equal(g.i, 0x70);
	assert_int_equal(g.last_seen, 42);
	assert_int_equal(g.created, fake_now);
	assert_int_equal(g.updated, fake_now);

	/* Update: created kept, updated moves, profile cleared. */
	fake_now += 1000;
	c.life_cycle = 0x83;
	c.profile[0] = '\0';
	assert_int_equal(pcard_store_card_put(st, &c), PCARD_OK);
	assert_int_equal(pcard_store_card_get(st, c.id, &g), PCARD_OK);
	assert_int_equal(g.life_cycle, 0x83);
	assert_string_equal(g.profile, "");
	assert_int_equal(g.created, fake_now - 1000);
	assert_int_equal(g.updated, fake_now);

	/* Unknown profile. */
	snprintf(c.profile, sizeof c.profile, "nope");
	assert_int_equal(pcard_store_card_put(st, &c), PCARD_E_NOT_FOUND);

	/* Enrolment. */
	fill_card(&c, "NEW1", "nope");
	assert_int_equal(pcard_store_card_enrol(st, &c), PCARD_E_NOT_FOUND);
	snprintf(c.profile, sizeof c.profile, "closed");
	assert_int_equal(pcard_store_card_enrol(st, &c), PCARD_E_STATE);
	assert_int_equal(pcard_store_card_get(st, "NEW1", &g), PCARD_E_NOT_FOUND);
	snprintf(c.profile, sizeof c.profile, "open");
	assert_int_equal(pcard_store_card_enrol(st, &c), PCARD_OK);
	assert_int_equal(pcard_store_card_get(st, "NEW1", &g), PCARD_OK);
	assert_int_equal(pcard_store_card_enrol(st, &c), PCARD_E_EXISTS);
	c.profile[0] = '\0';
	assert_int_equal(pcard_store_card_enrol(st, &c), PCARD_E_INVALID_ARG);

	/* Bad arguments. */
	memset(longid, 'A', sizeof longid - 1);
	longid[sizeof longid - 1] = '\0';
	assert_int_equal(pcard_store_card_get(st, longid, &g), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_store_card_get(st, "", &g), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_store_card_get(st, NULL, &g), PCARD_E_INVALID_ARG);
	fill_card(&c, "X", "");
	c.kdd_len = PCARD_STORE_KDD_MAX + 1;
	assert_int_equal(pcard_store_card_put(st, &c), PCARD_E_INVALID_ARG);
	c.kdd_len = 0;
	c.n_kvn = PCARD_STORE_KVN_MAX + 1;
	assert_int_equal(pcard_store_card_put(st, &c), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_store_card_put(st, NULL), PCARD_E_INVALID_ARG);
	pcard_store_close(st);
}

static void
test_profiles(void **state)
{
	pcard_store *st = open_store();
	pcard_store_profile p, g;

	(void)state;
	memset(&p, 0, sizeof p);
	snprintf(p.name, sizeof p.name, "bank-2024");
	snprintf(p.labels[0], sizeof p.labels[0], "enc-2024");
	snprintf(p.labels[1], sizeof p.labels[1], "mac-2024");
	snprintf(p.labels[2], sizeof p.labels[2], "dek-2024");
	p.n_labels = 3;
	snprintf(p.template, sizeof p.template, "emv");
	p.kvn = 0x01;
	p.scp = 0x02;
	p.i = 0x55;
	assert_int_equal(pcard_store_profile_get(st, "bank-2024", &g), PCARD_E_NOT_FOUND);
	assert_int_equal(pcard_store_profile_put(st, &p), PCARD_OK);
	assert_int_equal(pcard_store_profile_get(st, "bank-2024", &g), PCARD_OK);
	assert_string_equal(g.name, "bank-2024");
	assert_int_equal(g.n_labels, 3);
	assert_string_equal(g.labels[0], "enc-2024");
	assert_string_equal(g.labels[2], "dek-2024");
	assert_string_equal(g.template, "emv");
	assert_int_equal(g.kvn, 1);
	assert_int_equal(g.scp, 2);
	assert_int_equal(g.i, 0x55);
	assert_int_equal(g.enrol_allowed, 0);
	p.enrol_allowed = 1;
	p.n_labels = 1;
	assert_int_equal(pcard_store_profile_put(st, &p), PCARD_OK);
	assert_int_equal(pcard_store_profile_get(st, "bank-2024", &g), PCARD_OK);
	assert_int_equal(g.enrol_allowed, 1);
	assert_int_equal(g.n_labels, 1);

	p.n_labels = 0;
	assert_int_equal(pcard_store_profile_put(st, &p), PCARD_E_INVALID_ARG);
	p.n_labels = PCARD_STORE_LABELS_MAX + 1;
	assert_int_equal(pcard_store_profile_put(st, &p), PCARD_E_INVALID_ARG);
	p.n_labels = 2;
	p.labels[1][0] = '\0';
	assert_int_equal(pcard_store_profile_put(st, &p), PCARD_E_INVALID_ARG);
	p.n_labels = 1;
	p.template[0] = '\0';
	assert_int_equal(pcard_store_profile_put(st, &p), PCARD_E_INVALID_ARG);
	pcard_store_close(st);
}

/* ---- contents ---- */

static void
test_contents(void **state)
{
	pcard_store *st = open_store();
	json_t *doc, *got = NULL;
	int64_t when = 0;

	(void)state;
	doc = json_pack("{s:[{s:s,s:i}],s:[{s:s,s:s,s:i,s:s}]}",
	    "elfs", "aid", "A0000001515350", "version", 1,
	    "apps", "aid", "A000000151535041", "elf", "A0000001515350", "life_cycle", 7,
	    "privileges", "000000");
	assert_non_null(doc);
	assert_int_equal(pcard_store_contents_put(st, "C1", doc), PCARD_E_NOT_FOUND);
	put_card(st, "C1");
	assert_int_equal(pcard_store_contents_get(st, "C1", &got, &when), PCARD_E_NOT_FOUND);
	assert_null(got);
	assert_int_equal(pcard_store_contents_put(st, "C1", doc), PCARD_OK);
	assert_int_equal(pcard_store_contents_get(st, "C1", &got, &when), PCARD_OK);
	assert_true(json_equal(doc, got));
	assert_int_equal(when, fake_now);
	json_decref(got);
	got = NULL;
	fake_now += 5;
	json_object_set_new(doc, "sds", json_array());
	assert_int_equal(pcard_store_contents_put(st, "C1", doc), PCARD_OK);
	assert_int_equal(pcard_store_contents_get(st, "C1", &got, NULL), PCARD_OK);
	assert_true(json_equal(doc, got));
	json_decref(got);
	assert_int_equal(pcard_store_contents_put(st, "C1", NULL), PCARD_E_INVALID_ARG);
	json_decref(doc);
	pcard_store_close(st);
}

/* ---- load files ---- */

static void
test_loadfiles(void **state)
{
	pcard_store *st = open_store();
	pcard_store_loadfile lf, g, *list = NULL;
	static uint8_t data[30000];
	int64_t id1 = 0, id2 = 0;
	size_t n = 0;

	(void)state;
	for (size_t k = 0; k < sizeof data; k++)
		data[k] = (uint8_t)(k * 131 + 7);
	memset(&lf, 0, sizeof lf);
	memcpy(lf.aid, "\xA0\x00\x00\x01\x51\x53\x50", 7);
	lf.aid_len = 7;
	snprintf(lf.version, sizeof lf.version, "1.0");
	lf.applets = json_pack("[s,s]", "A000000151535041", "A000000151535042");
	memset(lf.lfdb_hash, 0x5A, 32);
	lf.lfdb_hash_len = 32;
	lf.size = sizeof data;
	lf.data = data;
	assert_int_equal(pcard_store_loadfile_add(st, &lf, &id1), PCARD_OK);
	assert_int_equal(pcard_store_loadfile_add(st, &lf, &id2), PCARD_E_EXISTS);
	snprintf(lf.version, sizeof lf.version, "1.1");
	lf.size = 3;
	assert_int_equal(pcard_store_loadfile_add(st, &lf, &id2), PCARD_OK);
	assert_true(id2 > id1);

	assert_int_equal(pcard_store_loadfile_get(st, id1, 1, &g), PCARD_OK);
	assert_int_equal(g.id, id1);
	assert_int_equal(g.aid_len, 7);
	assert_memory_equal(g.aid, lf.aid, 7);
	assert_string_equal(g.version, "1.0");
	assert_true(json_equal(g.applets, lf.applets));
	assert_int_equal(g.lfdb_hash_len, 32);
	assert_memory_equal(g.lfdb_hash, lf.lfdb_hash, 32);
	assert_int_equal(g.size, sizeof data);
	assert_non_null(g.data);
	assert_memory_equal(g.data, data, sizeof data);
	pcard_store_loadfile_clear(&g);
	pcard_store_loadfile_clear(&g);	/* twice is safe */
	assert_int_equal(pcard_store_loadfile_get(st, id2, 0, &g), PCARD_OK);
	assert_null(g.data);
	assert_int_equal(g.size, 3);
	pcard_store_loadfile_clear(&g);
	assert_int_equal(pcard_store_loadfile_get(st, id2 + 100, 1, &g), PCARD_E_NOT_FOUND);

	assert_int_equal(pcard_store_loadfile_list(st, &list, &n), PCARD_OK);
	assert_int_equal(n, 2);
	assert_int_equal(list[0].id, id1);
	assert_string_equal(list[1].version, "1.1");
	assert_null(list[0].data);
	assert_int_equal(list[0].size, sizeof data);
	pcard_store_loadfiles_free(list, n);

	lf.aid_len = 4;
	assert_int_equal(pcard_store_loadfile_add(st, &lf, NULL), PCARD_E_INVALID_ARG);
	lf.aid_len = 7;
	lf.data = NULL;
	assert_int_equal(pcard_store_loadfile_add(st, &lf, NULL), PCARD_E_INVALID_ARG);
	json_decref(lf.applets);
	pcard_store_close(st);
}

/* ---- jobs ---- */

/* A path from queued to each state, along allowed edges. */
static const pcard_job_state paths[][4] = {
	[PCARD_JOB_QUEUED] = { 0 },
	[PCARD_JOB_IN_SESSION] = { PCARD_JOB_IN_SESSION },
	[PCARD_JOB_SENT] = { PCARD_JOB_IN_SESSION, PCARD_JOB_SENT },
	[PCARD_JOB_DONE] = { PCARD_JOB_IN_SESSION, PCARD_JOB_SENT, PCARD_JOB_DONE },
	[PCARD_JOB_FAILED] = { PCARD_JOB_FAILED },
	[PCARD_JOB_NEEDS_RECONCILE] = { PCARD_JOB_IN_SESSION, PCARD_JOB_SENT,
	    PCARD_JOB_NEEDS_RECONCILE },
};

/* The machine as docs/store.md draws it, written out independently of the code's table. */
static int
edge_expected(pcard_job_state f, pcard_job_state t)
{
	switch (f) {
	case PCARD_JOB_QUEUED:
		return t == PCARD_JOB_IN_SESSION || t == PCARD_JOB_FAILED;
	case PCARD_JOB_IN_SESSION:
		return t == PCARD_JOB_SENT || t == PCARD_JOB_QUEUED || t == PCARD_JOB_FAILED;
	case PCARD_JOB_SENT:
		return t == PCARD_JOB_DONE || t == PCARD_JOB_FAILED ||
		    t == PCARD_JOB_NEEDS_RECONCILE;
	case PCARD_JOB_NEEDS_RECONCILE:
		return t == PCARD_JOB_DONE || t == PCARD_JOB_FAILED ||
		    t == PCARD_JOB_IN_SESSION;
	default:
		return 0;
	}
}

static void
drive(pcard_store *st, int64_t id, pcard_job_state target)
{
	pcard_job_state cur = PCARD_JOB_QUEUED;

	for (size_t k = 0; k < 4 && paths[target][k] != 0; k++) {
		assert_int_equal(pcard_store_job_transition(st, id, cur, paths[target][k], "S",
		    NULL, "why"), PCARD_OK);
		cur = paths[target][k];
	}
}

static void
test_job_state_machine(void **state)
{
	pcard_store *st = open_store();
	pcard_store_job j;
	int64_t id;
	int allowed = 0;

	(void)state;
	put_card(st, "C1");
	for (unsigned f = PCARD_JOB_QUEUED; f <= PCARD_JOB_NEEDS_RECONCILE; f++) {
		for (unsigned t = PCARD_JOB_QUEUED; t <= PCARD_JOB_NEEDS_RECONCILE; t++) {
			int want = edge_expected((pcard_job_state)f, (pcard_job_state)t);

			assert_int_equal(pcard_store_job_transition_allowed((pcard_job_state)f,
			    (pcard_job_state)t), want);
			assert_int_equal(pcard_store_job_enqueue(st, "C1", PCARD_JOB_DELETE, NULL,
			    &id), PCARD_OK);
			drive(st, id, (pcard_job_state)f);
			assert_int_equal(pcard_store_job_transition(st, id, (pcard_job_state)f,
			    (pcard_job_state)t, NULL, NULL, "reason"),
			    want ? PCARD_OK : PCARD_E_STATE);
			assert_int_equal(pcard_store_job_get(st, id, &j), PCARD_OK);
			assert_int_equal(j.state, want ? t : f);
			pcard_store_job_clear(&j);
			allowed += want;
		}
	}
	assert_int_equal(allowed, 11);
	assert_int_equal(pcard_store_job_transition_allowed(0, PCARD_JOB_QUEUED), 0);
	assert_int_equal(pcard_store_job_transition_allowed(PCARD_JOB_QUEUED, 99), 0);
	pcard_store_close(st);
}

static void
test_jobs(void **state)
{
	pcard_store *st = open_store();
	pcard_store_job j, *list = NULL;
	json_t *params, *result;
	pcard_job_type t;
	int64_t id1, id2, id3;
	size_t n;

	(void)state;
	params = json_pack("{s:i,s:s}", "loadfile", 3, "aid", "A000000151535041");
	assert_int_equal(pcard_store_job_enqueue(st, "C1", PCARD_JOB_INSTALL, params, &id1),
	    PCARD_E_NOT_FOUND);
	put_card(st, "C1");
	put_card(st, "C2");
	assert_int_equal(pcard_store_job_enqueue(st, "C1", PCARD_JOB_INSTALL, params, &id1),
	    PCARD_OK);
	assert_int_equal(pcard_store_job_enqueue(st, "C1", PCARD_JOB_ROTATE_KEYS, NULL, &id2),
	    PCARD_OK);
	assert_int_equal(pcard_store_job_enqueue(st, "C2", PCARD_JOB_LOCK_CARD, NULL, &id3),
	    PCARD_OK);
	assert_int_equal(pcard_store_job_enqueue(st, "C1", (pcard_job_type)0, NULL, NULL),
	    PCARD_E_INVALID_ARG);
	result = json_array();
	assert_int_equal(pcard_store_job_enqueue(st, "C1", PCARD_JOB_INSTALL, result, NULL),
	    PCARD_E_INVALID_ARG);
	json_decref(result);

	assert_int_equal(pcard_store_job_get(st, id1, &j), PCARD_OK);
	assert_int_equal(j.id, id1);
	assert_string_equal(j.card, "C1");
	assert_int_equal(j.type, PCARD_JOB_INSTALL);
	assert_int_equal(j.state, PCARD_JOB_QUEUED);
	assert_true(json_equal(j.params, params));
	assert_null(j.result);
	assert_int_equal(j.attempts, 0);
	assert_string_equal(j.reason, "");
	pcard_store_job_clear(&j);
	assert_int_equal(pcard_store_job_get(st, 999, &j), PCARD_E_NOT_FOUND);

	/* Lists: by card, by state, all. */
	assert_int_equal(pcard_store_job_list(st, "C1", 0, &list, &n), PCARD_OK);
	assert_int_equal(n, 2);
	assert_int_equal(list[0].id, id1);
	assert_int_equal(list[1].type, PCARD_JOB_ROTATE_KEYS);
	pcard_store_jobs_free(list, n);
	assert_int_equal(pcard_store_job_list(st, NULL, 0, &list, &n), PCARD_OK);
	assert_int_equal(n, 3);
	pcard_store_jobs_free(list, n);

	/* in_session counts an attempt and records the session; a lost CAS is a conflict. */
	assert_int_equal(pcard_store_job_transition(st, id1, PCARD_JOB_QUEUED,
	    PCARD_JOB_IN_SESSION, "S1", NULL, NULL), PCARD_OK);
	assert_int_equal(pcard_store_job_transition(st, id1, PCARD_JOB_QUEUED,
	    PCARD_JOB_IN_SESSION, "S2", NULL, NULL), PCARD_E_CONFLICT);
	assert_int_equal(pcard_store_job_transition(st, 999, PCARD_JOB_QUEUED,
	    PCARD_JOB_IN_SESSION, NULL, NULL, NULL), PCARD_E_NOT_FOUND);
	assert_int_equal(pcard_store_job_list(st, "C1", PCARD_JOB_STATE_BIT(PCARD_JOB_IN_SESSION),
	    &list, &n), PCARD_OK);
	assert_int_equal(n, 1);
	assert_int_equal(list[0].id, id1);
	assert_int_equal(list[0].attempts, 1);
	assert_string_equal(list[0].session, "S1");
	pcard_store_jobs_free(list, n);
	assert_int_equal(pcard_store_job_list(st, NULL, PCARD_JOB_STATE_BIT(PCARD_JOB_QUEUED) |
	    PCARD_JOB_STATE_BIT(PCARD_JOB_DONE), &list, &n), PCARD_OK);
	assert_int_equal(n, 2);
	pcard_store_jobs_free(list, n);

	/* Back to queued (session ended before sending), in again: two attempts. */
	assert_int_equal(pcard_store_job_transition(st, id1, PCARD_JOB_IN_SESSION,
	    PCARD_JOB_QUEUED, NULL, NULL, NULL), PCARD_OK);
	assert_int_equal(pcard_store_job_transition(st, id1, PCARD_JOB_QUEUED,
	    PCARD_JOB_IN_SESSION, "S3", NULL, NULL), PCARD_OK);
	assert_int_equal(pcard_store_job_transition(st, id1, PCARD_JOB_IN_SESSION,
	    PCARD_JOB_SENT, NULL, NULL, NULL), PCARD_OK);
	result = json_pack("{s:s,s:b}", "sw", "9000", "rmac_verified", 1);
	assert_int_equal(pcard_store_job_transition(st, id1, PCARD_JOB_SENT, PCARD_JOB_DONE,
	    NULL, result, NULL), PCARD_OK);
	assert_int_equal(pcard_store_job_get(st, id1, &j), PCARD_OK);
	assert_int_equal(j.state, PCARD_JOB_DONE);
	assert_int_equal(j.attempts, 2);
	assert_string_equal(j.session, "S3");
	assert_true(json_equal(j.result, result));
	pcard_store_job_clear(&j);
	/* Done is final. */
	assert_int_equal(pcard_store_job_transition(st, id1, PCARD_JOB_DONE, PCARD_JOB_QUEUED,
	    NULL, NULL, NULL), PCARD_E_STATE);

	/* Failure needs a reason, and keeps it. */
	assert_int_equal(pcard_store_job_transition(st, id3, PCARD_JOB_QUEUED, PCARD_JOB_FAILED,
	    NULL, NULL, NULL), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_store_job_transition(st, id3, PCARD_JOB_QUEUED, PCARD_JOB_FAILED,
	    NULL, NULL, ""), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_store_job_transition(st, id3, PCARD_JOB_QUEUED, PCARD_JOB_FAILED,
	    NULL, NULL, "card terminated"), PCARD_OK);
	assert_int_equal(pcard_store_job_get(st, id3, &j), PCARD_OK);
	assert_string_equal(j.reason, "card terminated");
	assert_int_equal(j.state, PCARD_JOB_FAILED);
	pcard_store_job_clear(&j);
	assert_int_equal(pcard_store_job_transition(st, id2, 0, PCARD_JOB_QUEUED, NULL, NULL,
	    NULL), PCARD_E_INVALID_ARG);

	/* Names. */
	for (unsigned k = PCARD_JOB_INSTALL; k <= PCARD_JOB_ROTATE_KEYS; k++) {
		assert_non_null(pcard_job_type_name((pcard_job_type)k));
		assert_int_equal(pcard_job_type_from_name(pcard_job_type_name((pcard_job_type)k),
		    &t), PCARD_OK);
		assert_int_equal(t, k);
	}
	assert_string_equal(pcard_job_type_name(PCARD_JOB_DATA_CHANGE), "data-change");
	assert_string_equal(pcard_job_state_name(PCARD_JOB_NEEDS_RECONCILE), "needs_reconcile");
	assert_null(pcard_job_type_name((pcard_job_type)11));
	assert_null(pcard_job_state_name((pcard_job_state)7));
	assert_int_equal(pcard_job_type_from_name("format-card", &t), PCARD_E_NOT_FOUND);
	json_decref(params);
	json_decref(result);
	pcard_store_close(st);
}

/* ---- sessions ---- */

static void
fill_session(pcard_store_session *s, const char *id, const char *card)
{
	memset(s, 0, sizeof *s);
	snprintf(s->id, sizeof s->id, "%s", id);
	snprintf(s->card, sizeof s->card, "%s", card);
	snprintf(s->agent, sizeof s->agent, "a1");
	s->step = 0;
	s->state = PCARD_SESSION_HELLO;
	memset(s->host_challenge, 0x11, 8);
	s->host_challenge_len = 8;
	s->expires = fake_now + 60000;
	s->scp = 3;
	s->i = 0x70;
	s->security_level = 0x33;
}

static void
test_sessions(void **state)
{
	pcard_store *st = open_store();
	pcard_store_session s, s2, g;
	size_t n = 99;

	(void)state;
	put_agent(st, "a1", "00ff");
	fill_session(&s, "S1", "C1");
	assert_int_equal(pcard_store_session_create(st, &s), PCARD_E_NOT_FOUND);	/* no card */
	put_card(st, "C1");
	put_card(st, "C2");
	snprintf(s.agent, sizeof s.agent, "nobody");
	assert_int_equal(pcard_store_session_create(st, &s), PCARD_E_NOT_FOUND);	/* no agent */
	snprintf(s.agent, sizeof s.agent, "a1");
	s.plan = json_pack("{s:[i,i]}", "jobs", 1, 2);
	assert_int_equal(pcard_store_session_create(st, &s), PCARD_OK);
	assert_int_equal(pcard_store_session_create(st, &s), PCARD_E_EXISTS);	/* same id */
	fill_session(&s2, "S2", "C1");
	assert_int_equal(pcard_store_session_create(st, &s2), PCARD_E_EXISTS);	/* card busy */
	fill_session(&s2, "S3", "C2");
	assert_int_equal(pcard_store_session_create(st, &s2), PCARD_OK);	/* other card */
	s2.state = PCARD_SESSION_CLOSED;
	assert_int_equal(pcard_store_session_create(st, &s2), PCARD_E_INVALID_ARG);

	assert_int_equal(pcard_store_session_get(st, "S1", &g), PCARD_OK);
	assert_string_equal(g.card, "C1");
	assert_string_equal(g.agent, "a1");
	assert_int_equal(g.step, 0);
	assert_int_equal(g.state, PCARD_SESSION_HELLO);
	assert_int_equal(g.host_challenge_len, 8);
	assert_memory_equal(g.host_challenge, s.host_challenge, 8);
	assert_int_equal(g.card_challenge_len, 0);
	assert_int_equal(g.mac_chain_len, 0);
	assert_int_equal(g.security_level, 0x33);
	assert_true(json_equal(g.plan, s.plan));
	assert_int_equal(g.expires, s.expires);
	pcard_store_session_clear(&g);
	assert_int_equal(pcard_store_session_get(st, "S9", &g), PCARD_E_NOT_FOUND);

	/* Step 0 -> 1 with the card's answer; the retried message (expects 0 again) conflicts. */
	s.step = 1;
	s.state = PCARD_SESSION_AUTHENTICATED;
	memset(s.card_challenge, 0x22, 8);
	s.card_challenge_len = 8;
	s.seq_counter = 0x000102;
	memset(s.mac_chain, 0x33, 16);
	s.mac_chain_len = 16;
	s.enc_counter = 7;
	assert_int_equal(pcard_store_session_update(st, &s, 0), PCARD_OK);
	assert_int_equal(pcard_store_session_update(st, &s, 0), PCARD_E_CONFLICT);
	assert_int_equal(pcard_store_session_get(st, "S1", &g), PCARD_OK);
	assert_int_equal(g.step, 1);
	assert_int_equal(g.state, PCARD_SESSION_AUTHENTICATED);
	assert_memory_equal(g.card_challenge, s.card_challenge, 8);
	assert_int_equal(g.seq_counter, 0x102);
	assert_int_equal(g.mac_chain_len, 16);
	assert_memory_equal(g.mac_chain, s.mac_chain, 16);
	assert_int_equal(g.enc_counter, 7);
	pcard_store_session_clear(&g);
	fill_session(&s2, "S9", "C1");
	assert_int_equal(pcard_store_session_update(st, &s2, 0), PCARD_E_NOT_FOUND);

	/* The card's live session, found by card; none once closed. */
	assert_int_equal(pcard_store_session_live(st, "C1", &g), PCARD_OK);
	assert_string_equal(g.id, "S1");
	assert_int_equal(g.step, 1);
	assert_true(json_equal(g.plan, s.plan));
	pcard_store_session_clear(&g);
	assert_int_equal(pcard_store_session_live(st, "C9", &g), PCARD_E_NOT_FOUND);
	assert_int_equal(pcard_store_session_live(st, "", &g), PCARD_E_INVALID_ARG);

	/* Close: idempotent; a closed session takes no update; the card is free again. */
	assert_int_equal(pcard_store_session_close(st, "S1"), PCARD_OK);
	assert_int_equal(pcard_store_session_close(st, "S1"), PCARD_OK);
	assert_int_equal(pcard_store_session_close(st, "S9"), PCARD_E_NOT_FOUND);
	assert_int_equal(pcard_store_session_live(st, "C1", &g), PCARD_E_NOT_FOUND);
	s.step = 2;
	assert_int_equal(pcard_store_session_update(st, &s, 1), PCARD_E_STATE);
	fill_session(&s2, "S4", "C1");
	assert_int_equal(pcard_store_session_create(st, &s2), PCARD_OK);

	/* Expiry: a live session past its expiry does not hold the card. */
	fake_now += 60001;
	fill_session(&s2, "S5", "C1");
	assert_int_equal(pcard_store_session_create(st, &s2), PCARD_OK);
	assert_int_equal(pcard_store_session_get(st, "S4", &g), PCARD_OK);
	assert_int_equal(g.state, PCARD_SESSION_CLOSED);
	pcard_store_session_clear(&g);
	/* S3 (C2) expired too; S5 is fresh. */
	assert_int_equal(pcard_store_session_expire(st, &n), PCARD_OK);
	assert_int_equal(n, 1);
	assert_int_equal(pcard_store_session_get(st, "S3", &g), PCARD_OK);
	assert_int_equal(g.state, PCARD_SESSION_CLOSED);
	pcard_store_session_clear(&g);
	assert_int_equal(pcard_store_session_expire(st, NULL), PCARD_OK);
	assert_int_equal(pcard_store_session_get(st, "S5", &g), PCARD_OK);
	assert_int_equal(g.state, PCARD_SESSION_HELLO);
	pcard_store_session_clear(&g);

	s.mac_chain_len = PCARD_STORE_MAC_MAX + 1;
	assert_int_equal(pcard_store_session_update(st, &s, 1), PCARD_E_INVALID_ARG);
	pcard_store_session_clear(&s);
	pcard_store_session_clear(&s);
	pcard_store_close(st);
}

/* ---- agents ---- */

static void
test_agents(void **state)
{
	pcard_store *st = open_store();
	pcard_store_agent a, g;

	(void)state;
	assert_int_equal(pcard_store_agent_get(st, "a1", &g), PCARD_E_NOT_FOUND);
	assert_int_equal(pcard_store_agent_find(st, "abcd", &g), PCARD_E_NOT_FOUND);
	put_agent(st, "a1", "abcd");
	assert_int_equal(pcard_store_agent_get(st, "a1", &g), PCARD_OK);
	assert_string_equal(g.fingerprint, "abcd");
	assert_string_equal(g.name, "agent a1");
	assert_int_equal(pcard_store_agent_find(st, "abcd", &g), PCARD_OK);
	assert_string_equal(g.id, "a1");
	memset(&a, 0, sizeof a);
	snprintf(a.id, sizeof a.id, "a2");
	snprintf(a.fingerprint, sizeof a.fingerprint, "abcd");
	assert_int_equal(pcard_store_agent_put(st, &a), PCARD_E_EXISTS);
	snprintf(a.fingerprint, sizeof a.fingerprint, "ef01");
	a.last_seen = 77;
	assert_int_equal(pcard_store_agent_put(st, &a), PCARD_OK);
	snprintf(a.name, sizeof a.name, "renamed");
	assert_int_equal(pcard_store_agent_put(st, &a), PCARD_OK);
	assert_int_equal(pcard_store_agent_get(st, "a2", &g), PCARD_OK);
	assert_string_equal(g.name, "renamed");
	assert_int_equal(g.last_seen, 77);
	a.fingerprint[0] = '\0';
	assert_int_equal(pcard_store_agent_put(st, &a), PCARD_E_INVALID_ARG);
	pcard_store_close(st);
}

/* ---- audit ---- */

/* The documented record format, built here by hand: SHA-256(prev || fields as u32 len || b). */
static void
manual_hash(const uint8_t prev[32], const char *const f[6], uint8_t out[32])
{
	uint8_t buf[2048];
	size_t off = 32, hl = 0;

	memcpy(buf, prev, 32);
	for (int k = 0; k < 6; k++) {
		size_t n = strlen(f[k]);

		buf[off++] = (uint8_t)(n >> 24);
		buf[off++] = (uint8_t)(n >> 16);
		buf[off++] = (uint8_t)(n >> 8);
		buf[off++] = (uint8_t)n;
		memcpy(buf + off, f[k], n);
		off += n;
	}
	assert_int_equal(pcard_digest(PCARD_HASH_SHA256, buf, off, out, 32, &hl), PCARD_OK);
}

static void
append_three(pcard_store *st)
{
	json_t *d = json_pack("{s:s,s:i}", "z", "last", "a", 1);
	int64_t id = 0;

	assert_int_equal(pcard_store_audit_append(st, "admin", "card.register", "C1", d, &id),
	    PCARD_OK);
	assert_int_equal(id, 1);
	fake_now += 10;
	assert_int_equal(pcard_store_audit_append(st, "agent:a1", "job.done", "C1", NULL, &id),
	    PCARD_OK);
	assert_int_equal(id, 2);
	assert_int_equal(pcard_store_audit_append(st, "server", "session.close", "", d, NULL),
	    PCARD_OK);
	json_decref(d);
}

static void
test_audit(void **state)
{
	pcard_store *st = open_store();
	pcard_store_audit *recs = NULL;
	uint8_t zero[32] = { 0 }, h[32];
	char t1[24];
	const char *f[6];
	int64_t bad = -1;
	size_t n = 0;

	(void)state;
	assert_int_equal(pcard_store_audit_verify(st, &bad), PCARD_OK);	/* empty chain */
	append_three(st);
	assert_int_equal(pcard_store_audit_list(st, 0, 0, &recs, &n), PCARD_OK);
	assert_int_equal(n, 3);
	assert_string_equal(recs[0].actor, "admin");
	assert_string_equal(recs[0].action, "card.register");
	assert_string_equal(recs[0].subject, "C1");
	assert_int_equal(json_integer_value(json_object_get(recs[0].details, "a")), 1);
	assert_null(recs[1].details);
	assert_memory_equal(recs[0].prev_hash, zero, 32);
	assert_memory_equal(recs[1].prev_hash, recs[0].hash, 32);
	assert_memory_equal(recs[2].prev_hash, recs[1].hash, 32);
	/* Record 1 by hand: details are canonical JSON (sorted keys, compact). */
	snprintf(t1, sizeof t1, "%lld", (long long)recs[0].time);
	f[0] = "1";
	f[1] = t1;
	f[2] = "admin";
	f[3] = "card.register";
	f[4] = "C1";
	f[5] = "{\"a\":1,\"z\":\"last\"}";
	manual_hash(zero, f, h);
	assert_memory_equal(h, recs[0].hash, 32);
	pcard_store_audits_free(recs, n);

	assert_int_equal(pcard_store_audit_list(st, 1, 1, &recs, &n), PCARD_OK);
	assert_int_equal(n, 1);
	assert_int_equal(recs[0].id, 2);
	pcard_store_audits_free(recs, n);
	assert_int_equal(pcard_store_audit_verify(st, &bad), PCARD_OK);
	assert_int_equal(bad, 0);

	/* The database itself refuses to rewrite history. */
	assert_int_not_equal(raw_exec(st, "UPDATE audit SET actor = 'mallory' WHERE id = 2"),
	    SQLITE_OK);
	assert_int_not_equal(raw_exec(st, "DELETE FROM audit WHERE id = 3"), SQLITE_OK);
	assert_int_equal(pcard_store_audit_verify(st, &bad), PCARD_OK);
	assert_int_equal(pcard_store_audit_append(st, "", "x", "y", NULL, NULL),
	    PCARD_E_INVALID_ARG);
	{
		json_t *arr = json_array();

		assert_int_equal(pcard_store_audit_append(st, "a", "x", "y", arr, NULL),
		    PCARD_E_INVALID_ARG);
		json_decref(arr);
	}
	pcard_store_close(st);
}

/* Someone with the file drops the triggers and edits it: verify finds the first bad record,
 * and the next open puts the triggers back. */
static void
test_audit_tamper_file(void **state)
{
	pcard_store *st = open_store();
	sqlite3 *db = NULL;
	int64_t bad = -1;

	(void)state;
	append_three(st);
	pcard_store_close(st);

	assert_int_equal(sqlite3_open(dbpath, &db), SQLITE_OK);
	assert_int_not_equal(sqlite3_exec(db, "UPDATE audit SET details = '{}' WHERE id = 2",
	    NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "DROP TRIGGER audit_no_update;"
	    "DROP TRIGGER audit_no_delete;"
	    "UPDATE audit SET details = '{\"forged\":1}' WHERE id = 2", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);

	st = open_store();
	assert_int_equal(pcard_store_audit_verify(st, &bad), PCARD_E_VERIFY);
	assert_int_equal(bad, 2);
	assert_int_not_equal(raw_exec(st, "UPDATE audit SET details = NULL WHERE id = 2"),
	    SQLITE_OK);	/* guards back */
	pcard_store_close(st);

	/* Deleting a record in the middle breaks the next link. */
	assert_int_equal(sqlite3_open(dbpath, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "DROP TRIGGER audit_no_update;"
	    "DROP TRIGGER audit_no_delete;"
	    "UPDATE audit SET details = NULL WHERE id = 2;"	/* undo the forgery */
	    "DELETE FROM audit WHERE id = 2", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	st = open_store();
	assert_int_equal(pcard_store_audit_verify(st, &bad), PCARD_E_VERIFY);
	assert_int_equal(bad, 3);
	pcard_store_close(st);

	/* Editing the first record's hash breaks record 1 itself. */
	assert_int_equal(sqlite3_open(dbpath, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "DROP TRIGGER audit_no_update;"
	    "UPDATE audit SET hash = zeroblob(32) WHERE id = 1", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	st = open_store();
	assert_int_equal(pcard_store_audit_verify(st, NULL), PCARD_E_VERIFY);
	assert_int_equal(pcard_store_audit_verify(st, &bad), PCARD_E_VERIFY);
	assert_int_equal(bad, 1);
	pcard_store_close(st);
}

/* Values the interface could not have written are reported, not trusted. */
static void
test_corrupt_values(void **state)
{
	pcard_store *st = open_store();
	pcard_store_profile p;
	pcard_store_loadfile lf, g;
	pcard_store_card c;
	json_t *doc = NULL;
	uint8_t data[8] = { 0 };
	int64_t id = 0;

	(void)state;
	put_profile(st, "p", 0);
	assert_int_equal(raw_exec(st, "UPDATE key_profiles SET labels = 'not json'"), SQLITE_OK);
	assert_int_equal(pcard_store_profile_get(st, "p", &p), PCARD_E_BAD_FILE);
	assert_int_equal(raw_exec(st, "UPDATE key_profiles SET labels = '[1]'"), SQLITE_OK);
	assert_int_equal(pcard_store_profile_get(st, "p", &p), PCARD_E_BAD_FILE);

	memset(&lf, 0, sizeof lf);
	memcpy(lf.aid, "\xA0\x00\x00\x00\x01", 5);
	lf.aid_len = 5;
	snprintf(lf.version, sizeof lf.version, "1");
	lf.size = sizeof data;
	lf.data = data;
	assert_int_equal(pcard_store_loadfile_add(st, &lf, &id), PCARD_OK);
	assert_int_equal(raw_exec(st, "UPDATE load_files SET size = 9"), SQLITE_OK);
	assert_int_equal(pcard_store_loadfile_get(st, id, 1, &g), PCARD_E_BAD_FILE);
	assert_null(g.data);
	assert_null(g.applets);

	put_card(st, "C1");
	assert_int_equal(raw_exec(st, "UPDATE cards SET kdd = zeroblob(33)"), SQLITE_OK);
	assert_int_equal(pcard_store_card_get(st, "C1", &c), PCARD_E_BAD_FILE);
	assert_int_equal(raw_exec(st, "INSERT INTO card_contents VALUES ('C1', '{', 0, 0)"),
	    SQLITE_OK);
	assert_int_equal(pcard_store_contents_get(st, "C1", &doc, NULL), PCARD_E_BAD_FILE);
	assert_null(doc);
	pcard_store_close(st);
}

/* ---- transactions ---- */

static void
test_transactions(void **state)
{
	pcard_store *st = open_store();
	pcard_store_card c;
	uint64_t n0;

	(void)state;
	assert_int_equal(pcard_store_commit(st), PCARD_E_STATE);
	assert_int_equal(pcard_store_rollback(st), PCARD_E_STATE);

	n0 = pcard_store_tx_count(st);
	put_card(st, "C0");
	assert_int_equal(pcard_store_tx_count(st), n0 + 1);	/* implicit */

	assert_int_equal(pcard_store_begin(st), PCARD_OK);
	assert_int_equal(pcard_store_begin(st), PCARD_E_STATE);
	put_card(st, "C1");
	put_card(st, "C2");
	assert_int_equal(pcard_store_card_get(st, "C1", &c), PCARD_OK);	/* own writes */
	assert_int_equal(pcard_store_rollback(st), PCARD_OK);
	assert_int_equal(pcard_store_tx_count(st), n0 + 2);
	assert_int_equal(pcard_store_card_get(st, "C1", &c), PCARD_E_NOT_FOUND);
	assert_int_equal(pcard_store_card_get(st, "C2", &c), PCARD_E_NOT_FOUND);

	/* A failed call inside a transaction leaves it open and earlier writes in place. */
	assert_int_equal(pcard_store_begin(st), PCARD_OK);
	put_card(st, "C1");
	assert_int_equal(pcard_store_job_enqueue(st, "none", PCARD_JOB_DELETE, NULL, NULL),
	    PCARD_E_NOT_FOUND);
	put_card(st, "C2");
	assert_int_equal(pcard_store_commit(st), PCARD_OK);
	assert_int_equal(pcard_store_card_get(st, "C1", &c), PCARD_OK);
	assert_int_equal(pcard_store_card_get(st, "C2", &c), PCARD_OK);
	pcard_store_close(st);

	/* Closing with a transaction open rolls it back. */
	st = open_store();
	assert_int_equal(pcard_store_begin(st), PCARD_OK);
	put_card(st, "C3");
	pcard_store_close(st);
	st = open_store();
	assert_int_equal(pcard_store_card_get(st, "C3", &c), PCARD_E_NOT_FOUND);
	assert_int_equal(pcard_store_begin(NULL), PCARD_E_INVALID_ARG);
	pcard_store_close(st);
}

/* ---- durability: everything survives close and reopen ---- */

static void
test_reopen_keeps_everything(void **state)
{
	pcard_store *st = open_store();
	pcard_store_loadfile lf, g;
	pcard_store_session s;
	pcard_store_card c;
	pcard_store_profile p;
	pcard_store_agent a;
	pcard_store_job j;
	pcard_store_audit *recs;
	json_t *doc = json_pack("{s:[]}", "apps"), *got = NULL;
	uint8_t data[100] = { 1, 2, 3 };
	int64_t lid = 0, jid = 0;
	size_t n;

	(void)state;
	put_profile(st, "p", 1);
	fill_card(&c, "C1", "p");
	assert_int_equal(pcard_store_card_enrol(st, &c), PCARD_OK);
	put_agent(st, "a1", "ff");
	assert_int_equal(pcard_store_contents_put(st, "C1", doc), PCARD_OK);
	memset(&lf, 0, sizeof lf);
	memcpy(lf.aid, "\xA0\x00\x00\x00\x01", 5);
	lf.aid_len = 5;
	snprintf(lf.version, sizeof lf.version, "2");
	lf.size = sizeof data;
	lf.data = data;
	assert_int_equal(pcard_store_loadfile_add(st, &lf, &lid), PCARD_OK);
	assert_int_equal(pcard_store_job_enqueue(st, "C1", PCARD_JOB_PERSONALISE, NULL, &jid),
	    PCARD_OK);
	fill_session(&s, "S1", "C1");
	assert_int_equal(pcard_store_session_create(st, &s), PCARD_OK);
	append_three(st);
	pcard_store_close(st);

	st = open_store();
	assert_int_equal(pcard_store_profile_get(st, "p", &p), PCARD_OK);
	assert_int_equal(pcard_store_card_get(st, "C1", &c), PCARD_OK);
	assert_int_equal(pcard_store_agent_get(st, "a1", &a), PCARD_OK);
	assert_int_equal(pcard_store_contents_get(st, "C1", &got, NULL), PCARD_OK);
	assert_true(json_equal(doc, got));
	assert_int_equal(pcard_store_loadfile_get(st, lid, 1, &g), PCARD_OK);
	assert_memory_equal(g.data, data, sizeof data);
	assert_non_null(g.applets);	/* NULL applets are stored as [] */
	assert_int_equal(json_array_size(g.applets), 0);
	pcard_store_loadfile_clear(&g);
	assert_int_equal(pcard_store_job_get(st, jid, &j), PCARD_OK);
	assert_int_equal(j.type, PCARD_JOB_PERSONALISE);
	pcard_store_job_clear(&j);
	assert_int_equal(pcard_store_session_get(st, "S1", &s), PCARD_OK);
	pcard_store_session_clear(&s);
	assert_int_equal(pcard_store_audit_list(st, 0, 0, &recs, &n), PCARD_OK);
	assert_int_equal(n, 3);
	pcard_store_audits_free(recs, n);
	assert_int_equal(pcard_store_audit_verify(st, NULL), PCARD_OK);
	json_decref(doc);
	json_decref(got);
	pcard_store_close(st);
}

/* ---- two handles on one file (WAL) ---- */

static void
test_two_handles(void **state)
{
	pcard_store_sqlite_opts o;
	pcard_store *a = open_store(), *b = NULL;
	pcard_store_card c;

	(void)state;
	memset(&o, 0, sizeof o);
	o.busy_timeout_ms = 50;
	assert_int_equal(pcard_store_open_sqlite_opts(dbpath, &o, &b), PCARD_OK);
	put_card(a, "C1");
	assert_int_equal(pcard_store_card_get(b, "C1", &c), PCARD_OK);

	/* A writes without committing: B still reads (WAL), does not see it, cannot write. */
	assert_int_equal(pcard_store_begin(a), PCARD_OK);
	put_card(a, "C2");
	assert_int_equal(pcard_store_card_get(b, "C1", &c), PCARD_OK);
	assert_int_equal(pcard_store_card_get(b, "C2", &c), PCARD_E_NOT_FOUND);
	assert_int_equal(pcard_store_begin(b), PCARD_E_BUSY);
	fill_card(&c, "C3", "");
	assert_int_equal(pcard_store_card_put(b, &c), PCARD_E_BUSY);
	assert_int_equal(pcard_store_commit(a), PCARD_OK);
	assert_int_equal(pcard_store_card_get(b, "C2", &c), PCARD_OK);
	assert_int_equal(pcard_store_begin(b), PCARD_OK);
	put_card(b, "C3");
	assert_int_equal(pcard_store_commit(b), PCARD_OK);
	assert_int_equal(pcard_store_card_get(a, "C3", &c), PCARD_OK);

	/* Both append to the audit log: one linear chain. */
	assert_int_equal(pcard_store_audit_append(a, "x", "a", "", NULL, NULL), PCARD_OK);
	assert_int_equal(pcard_store_audit_append(b, "x", "b", "", NULL, NULL), PCARD_OK);
	assert_int_equal(pcard_store_audit_append(a, "x", "c", "", NULL, NULL), PCARD_OK);
	assert_int_equal(pcard_store_audit_verify(b, NULL), PCARD_OK);
	pcard_store_close(a);
	pcard_store_close(b);
}

/* ---- processes killed with SIGKILL before and after COMMIT ---- */

static void
kill_child_at(int commit, const char *card_id)
{
	int fds[2];
	pid_t pid;
	char ch = 0;
	int status = 0;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		pcard_store *st = NULL;
		pcard_store_card c;
		pcard_store_loadfile lf;

		close(fds[0]);
		if (pcard_store_open_sqlite(dbpath, &st) != PCARD_OK ||
		    pcard_store_begin(st) != PCARD_OK)
			_exit(2);
		fill_card(&c, card_id, "");
		/* A 4 MB load file overflows the page cache, so uncommitted frames reach the WAL
		 * file before the kill. */
		memset(&lf, 0, sizeof lf);
		memcpy(lf.aid, "\xA0\x00\x00\x00\x09", 5);
		lf.aid_len = 5;
		snprintf(lf.version, sizeof lf.version, "%s", card_id);
		lf.size = 4u << 20;
		if ((lf.data = calloc(1, lf.size)) == NULL)
			_exit(6);
		if (pcard_store_loadfile_add(st, &lf, NULL) != PCARD_OK ||
		    pcard_store_card_put(st, &c) != PCARD_OK ||
		    pcard_store_job_enqueue(st, card_id, PCARD_JOB_LOCK_CARD, NULL, NULL) !=
		    PCARD_OK ||
		    pcard_store_audit_append(st, "t", "kill", card_id, NULL, NULL) != PCARD_OK)
			_exit(3);
		if (commit && pcard_store_commit(st) != PCARD_OK)
			_exit(4);
		if (write(fds[1], "k", 1) != 1)
			_exit(5);
		for (;;)
			pause();
	}
	close(fds[1]);
	assert_int_equal(read(fds[0], &ch, 1), 1);
	close(fds[0]);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

static long
wal_size(void)
{
	char p[320];
	struct stat sb;

	snprintf(p, sizeof p, "%s-wal", dbpath);
	return stat(p, &sb) == 0 ? (long)sb.st_size : -1;
}

static void
test_killed_before_and_after_commit(void **state)
{
	pcard_store *st = open_store();
	pcard_store_card c;
	pcard_store_job *jobs = NULL;
	pcard_store_loadfile *lfs = NULL;
	size_t n = 0;

	(void)state;
	pcard_store_close(st);

	kill_child_at(0, "K1");
	assert_true(wal_size() > (2L << 20));	/* the uncommitted frames are on disk */
	st = open_store();
	assert_int_equal(pcard_store_card_get(st, "K1", &c), PCARD_E_NOT_FOUND);
	assert_int_equal(pcard_store_loadfile_list(st, &lfs, &n), PCARD_OK);
	assert_int_equal(n, 0);
	pcard_store_loadfiles_free(lfs, n);
	assert_int_equal(pcard_store_job_list(st, NULL, 0, &jobs, &n), PCARD_OK);
	assert_int_equal(n, 0);
	pcard_store_jobs_free(jobs, n);
	pcard_store_close(st);

	kill_child_at(1, "K2");
	st = open_store();
	assert_int_equal(pcard_store_card_get(st, "K2", &c), PCARD_OK);
	assert_int_equal(pcard_store_loadfile_list(st, &lfs, &n), PCARD_OK);
	assert_int_equal(n, 1);
	assert_int_equal(lfs[0].size, 4u << 20);
	pcard_store_loadfiles_free(lfs, n);
	assert_int_equal(pcard_store_job_list(st, "K2", 0, &jobs, &n), PCARD_OK);
	assert_int_equal(n, 1);
	pcard_store_jobs_free(jobs, n);
	assert_int_equal(pcard_store_audit_verify(st, NULL), PCARD_OK);
	/* The store is writable after the crash (no stale lock). */
	put_card(st, "K3");
	pcard_store_close(st);

	/* Once more, killed before commit after a committed one: only K2 remains of the two. */
	kill_child_at(0, "K4");
	st = open_store();
	assert_int_equal(pcard_store_card_get(st, "K4", &c), PCARD_E_NOT_FOUND);
	assert_int_equal(pcard_store_card_get(st, "K2", &c), PCARD_OK);
	pcard_store_close(st);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_open_pragmas),
		T(test_open_errors),
		T(test_migration_from_v1),
		T(test_cards),
		T(test_profiles),
		T(test_contents),
		T(test_loadfiles),
		T(test_job_state_machine),
		T(test_jobs),
		T(test_sessions),
		T(test_agents),
		T(test_audit),
		T(test_audit_tamper_file),
		T(test_corrupt_values),
		T(test_transactions),
		T(test_reopen_keeps_everything),
		T(test_two_handles),
		T(test_killed_before_and_after_commit),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
