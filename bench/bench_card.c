/*
 * bench_card.c: APDUs per second of postcard-sim's card manager, in-process, with its
 * persistence off (a card over a state, nothing written), on (the card file committed with
 * fsync of the file and its directory before each state-changing answer: what postcard-sim
 * run does), and on without fsync (cardio's negative-control mode, to show fsync's share), all
 * measured in the same run, with the ratios printed.
 *
 * Workloads (each on a fresh SCP03 i=70 card per mode, the same APDUs in every mode):
 *   SELECT      00 A4 04 00 08 <ISD AID> 00, plain
 *   GET DATA    80 CA 9F 7F 00 (CPLC), plain
 *   GET STATUS  80 F2 80 02 (the ISD, tag format) wrapped at level 33 (C-MAC, C-DEC,
 *               R-MAC, R-ENC) in one session
 *   LOAD        one sequence = INSTALL [for load], LOAD blocks of a generated CAP (about 4 KB,
 *               pcard_scp_max_data blocks) and DELETE of the package, wrapped at level 03;
 *               INSTALL, every LOAD block and DELETE change state
 * Plain workloads time batches of commands; wrapped ones only the time inside pcard_card_apdu
 * (the host's wrap and unwrap are outside the clock; the session is opened outside it too).
 * Read workloads report the median of 5 batches; the LOAD workload one run.
 *
 * The card files go to --dir (default $TMPDIR or /tmp); what fsync costs depends on the file
 * system there (tmpfs: next to nothing), so its type is printed.
 *
 * Usage: bench_card [--iter N] [--load-iter N] [--dir D]
 *        bench_card --pcsc READER [--iter N]
 *            median round trip of SELECT ISD and GET DATA through PC/SC to a card in READER
 *            (postcard-sim behind pcscd + vpcd: bench/run-sim.sh)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "../tests/card_host.h"
#include "cardio.h"
#include "cardstate.h"
#include "postcard/apdu.h"
#include "postcard/bytes.h"
#include "postcard/cap.h"
#include "postcard/capbuild.h"
#include "postcard/gp.h"
#include "postcard/transport.h"

static long long
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ---- one card under test ---- */

typedef struct result {
	double per_s;		/* APDUs per second of card time */
	size_t apdus;
	double seq_per_s;	/* LOAD sequences per second (LOAD workload only) */
} result;

enum mode { M_OFF, M_FSYNC, M_NOFSYNC, M__N };
static const char *const mode_name[M__N] = {
	"persistence off", "card file + fsync", "card file, no fsync",
};

typedef struct bcard {
	ch_host h;
	pcard_cardio io;
	char path[512];
	long long ns;		/* time spent in pcard_card_apdu */
	size_t apdus;
} bcard;

static int
bcard_open(bcard *b, int mode, const char *dir, const char *tag)
{
	pcard_cardstate cs;
	pcard_cardstate_opts o;
	uint8_t atr[40];
	size_t n;
	int rc = -1;

	memset(b, 0, sizeof b[0]);
	pcard_cardio_init(&b->io);
	b->io.mode = mode == M_NOFSYNC ? PCARD_CARDIO_UNSAFE_NO_FSYNC : PCARD_CARDIO_SAFE;
	pcard_cardstate_init(&cs);
	memset(&o, 0, sizeof o);
	o.scp = 3;
	if (pcard_cardstate_default(&cs, &o) != PCARD_OK)
		goto out;
	if (mode != M_OFF) {
		snprintf(b->path, sizeof b->path, "%s/bench_card-%ld-%s-%d.pcsim", dir,
		    (long)getpid(), tag, mode);
		(void)unlink(b->path);
	}
	if (pcard_card_open_state(&cs, mode == M_OFF ? NULL : b->path,
	    mode == M_NOFSYNC ? &b->io : NULL, &b->h.card) != PCARD_OK ||
	    pcard_card_power_on(b->h.card, atr, sizeof atr, &n) != PCARD_OK)
		goto out;
	pcard_scp_init(&b->h.scp);
	if (ch_keys(&b->h, PCARD_KEY_AES, ch_test_key, 16) != 0)
		goto out;
	rc = 0;
out:
	pcard_cardstate_clear(&cs);
	return rc;
}

static void
bcard_close(bcard *b)
{
	ch_clear(&b->h);
	pcard_card_free(b->h.card);
	b->h.card = NULL;
	pcard_cardio_clear(&b->io);
	if (b->path[0] != '\0') {
		char tmp[600];

		(void)unlink(b->path);
		snprintf(tmp, sizeof tmp, "%s.new", b->path);	/* in case a commit left one */
		(void)unlink(tmp);
	}
}

/* A plain exchange (its workload times the whole batch); the SW, 0 on a transport error. */
static uint16_t
plain(bcard *b, const uint8_t *cmd, size_t n)
{
	b->apdus++;
	return ch_raw(&b->h, cmd, n);
}

#define REPS 5

static int
cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* REPS batches of iter plain exchanges of cmd; the median rate. */
static int
plain_batches(bcard *b, const uint8_t *cmd, size_t n, size_t iter, result *r)
{
	double rate[REPS];

	for (int k = 0; k < REPS; k++) {
		long long t0 = now_ns(), dt;

		for (size_t i = 0; i < iter; i++)
			if ((b->h.sw = plain(b, cmd, n)) != 0x9000)
				return -1;
		dt = now_ns() - t0;
		rate[k] = dt > 0 ? (double)iter * 1e9 / (double)dt : 0;
	}
	qsort(rate, REPS, sizeof rate[0], cmp_d);
	r->per_s = rate[REPS / 2];
	r->apdus = b->apdus;
	return 0;
}

/* A timed wrapped exchange (wrap and unwrap outside the clock); the SW, 0 on failure. */
static uint16_t
wrapped(bcard *b, const uint8_t *cmd, size_t n)
{
	uint8_t w[PCARD_SCP_MAX_CMD], raw[PCARD_CARD_RSP_MAX];
	size_t nw, nr;
	long long t0;
	pcard_err err;

	if (pcard_scp_wrap_cmd(&b->h.scp, cmd, n, w, sizeof w, &nw) != PCARD_OK)
		return 0;
	t0 = now_ns();
	err = pcard_card_apdu(b->h.card, w, nw, raw, sizeof raw, &nr);
	b->ns += now_ns() - t0;
	b->apdus++;
	if (err != PCARD_OK || pcard_scp_unwrap_rsp(&b->h.scp, raw, nr, b->h.rsp,
	    sizeof b->h.rsp, &b->h.rlen) != PCARD_OK || b->h.rlen < 2)
		return 0;
	return (uint16_t)(b->h.rsp[b->h.rlen - 2] << 8 | b->h.rsp[b->h.rlen - 1]);
}

/* ---- workloads ---- */

static const uint8_t isd_aid[] = { 0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00 };

typedef struct loadfile {
	uint8_t *lf;		/* C4 || len || LFDB */
	size_t n;
	pcard_gp_aid pkg;
} loadfile;

static int
make_loadfile(loadfile *l)
{
	static const pcard_cap_import imp[] = {
		{ { 7, { 0xA0, 0x00, 0x00, 0x00, 0x62, 0x00, 0x01 } }, 1, 0 },
		{ { 7, { 0xA0, 0x00, 0x00, 0x00, 0x62, 0x01, 0x01 } }, 1, 3 },
	};
	pcard_capbuild_params p;
	pcard_cap *cap = NULL;
	uint8_t *buf = NULL;
	size_t cap_len = 0;
	int rc = -1;

	memset(&p, 0, sizeof p);
	memcpy(p.package.b, "\xD0\xBE\x4C\x00\x01", 5);
	p.package.len = 5;
	p.pkg_major = 1;
	p.nimports = 2;
	p.imports = imp;
	p.code_size = 4000;
	p.package_path = "bench/card";
	if (pcard_capbuild_mem(&p, NULL, 0, &cap_len) != PCARD_E_NOSPACE ||
	    (buf = malloc(cap_len)) == NULL ||
	    pcard_capbuild_mem(&p, buf, cap_len, &cap_len) != PCARD_OK ||
	    pcard_cap_open_mem(buf, cap_len, &cap) != PCARD_OK)
		goto out;
	l->n = pcard_cap_load_file_len(cap, 0);
	if ((l->lf = malloc(l->n)) == NULL ||
	    pcard_cap_load_file(cap, 0, l->lf, l->n, &l->n) != PCARD_OK)
		goto out;
	memcpy(l->pkg.b, p.package.b, p.package.len);
	l->pkg.len = p.package.len;
	rc = 0;
out:
	pcard_cap_free(cap);
	free(buf);
	return rc;
}

static void
finish(bcard *b, result *r)
{
	r->apdus = b->apdus;
	r->per_s = b->ns > 0 ? (double)b->apdus * 1e9 / (double)b->ns : 0;
}

static int
w_select(bcard *b, size_t iter, result *r)
{
	uint8_t cmd[32];
	size_t n;

	if (pcard_gp_select_cmd(isd_aid, sizeof isd_aid, cmd, sizeof cmd, &n) != PCARD_OK)
		return -1;
	return plain_batches(b, cmd, n, iter, r);
}

static int
w_get_data(bcard *b, size_t iter, result *r)
{
	static const uint8_t cmd[] = { 0x80, 0xCA, 0x9F, 0x7F, 0x00 };

	return plain_batches(b, cmd, sizeof cmd, iter, r);
}

static int
w_get_status(bcard *b, size_t iter, result *r)
{
	result rr[REPS];
	double rate[REPS];
	uint8_t cmd[16];
	size_t n;

	if (ch_open(&b->h, 0, 0x33, 0) != 0x9000 ||
	    pcard_gp_get_status_cmd(PCARD_GS_ISD, PCARD_GS_P2_TAGS, cmd, sizeof cmd, &n) !=
	    PCARD_OK)
		return -1;
	for (int k = 0; k < REPS; k++) {
		b->ns = 0;	/* the session opening is not part of the workload */
		b->apdus = 0;
		for (size_t i = 0; i < iter / REPS; i++)
			if ((b->h.sw = wrapped(b, cmd, n)) != 0x9000)
				return -1;
		finish(b, &rr[k]);
		rate[k] = rr[k].per_s;
	}
	qsort(rate, REPS, sizeof rate[0], cmp_d);
	r->per_s = rate[REPS / 2];
	r->apdus = iter;
	return 0;
}

static int
w_load(bcard *b, const loadfile *l, size_t iter, result *r)
{
	uint8_t cmd[PCARD_APDU_SHORT_MAX + 16];
	pcard_gp_install in;
	size_t n, blocks, block;
	long long ns;

	if (ch_open(&b->h, 0, 0x03, 0) != 0x9000)
		return -1;
	b->ns = 0;
	b->apdus = 0;
	block = pcard_scp_max_data(&b->h.scp);
	if (pcard_gp_load_count(l->n, block, &blocks) != PCARD_OK)
		return -1;
	memset(&in, 0, sizeof in);
	in.p1 = PCARD_INSTALL_FOR_LOAD;
	in.elf = l->pkg.b;
	in.elf_len = l->pkg.len;
	in.sd = isd_aid;
	in.sd_len = sizeof isd_aid;
	for (size_t i = 0; i < iter; i++) {
		if (pcard_gp_install_cmd(&in, cmd, sizeof cmd, &n) != PCARD_OK ||
		    wrapped(b, cmd, n) != 0x9000)
			return -1;
		for (size_t k = 0; k < blocks; k++)
			if (pcard_gp_load_cmd(l->lf, l->n, block, k, cmd, sizeof cmd, &n) !=
			    PCARD_OK || wrapped(b, cmd, n) != 0x9000)
				return -1;
		if (pcard_gp_delete_cmd(l->pkg.b, l->pkg.len, 0, NULL, 0, cmd, sizeof cmd, &n) !=
		    PCARD_OK || wrapped(b, cmd, n) != 0x9000)
			return -1;
	}
	ns = b->ns;
	finish(b, r);
	r->seq_per_s = ns > 0 ? (double)iter * 1e9 / (double)ns : 0;
	return 0;
}

/* ---- in-process benchmark ---- */

static const char *
fs_name(const char *dir)
{
	struct statfs s;

	if (statfs(dir, &s) != 0)
		return "?";
	switch ((unsigned long)s.f_type) {
	case 0x01021994UL: return "tmpfs";
	case 0xEF53UL: return "ext2/3/4";
	case 0x58465342UL: return "xfs";
	case 0x9123683EUL: return "btrfs";
	case 0x794C7630UL: return "overlayfs";
	default: return "other";
	}
}

static int
bench_inproc(size_t iter, size_t load_iter, const char *dir)
{
	static const char *const wname[4] = { "SELECT (plain)", "GET DATA 9F7F (plain)",
		"GET STATUS, wrapped level 33", "LOAD sequence, wrapped level 03" };
	result res[4][M__N];
	loadfile l;
	bcard b;
	size_t blocks = 0;
	int rc = 1;

	memset(&l, 0, sizeof l);
	memset(res, 0, sizeof res);
	if (make_loadfile(&l) != 0) {
		fprintf(stderr, "bench_card: cannot build the CAP\n");
		return 1;
	}
	/* round 0 warms caches and the allocator (a tenth of the work, not reported) */
	for (int round = 0; round < 2; round++)
	for (int m = 0; m < M__N; m++) {
		for (int w = 0; w < 4; w++) {
			size_t it = round == 0 ? iter / 10 : iter;
			size_t lit = round == 0 ? 1 : load_iter;
			int bad;

			if (bcard_open(&b, m, dir, "w") != 0) {
				fprintf(stderr, "bench_card: cannot open a card (%s) in %s\n",
				    mode_name[m], dir);
				bcard_close(&b);
				goto out;
			}
			switch (w) {
			case 0: bad = w_select(&b, it, &res[w][m]); break;
			case 1: bad = w_get_data(&b, it, &res[w][m]); break;
			case 2: bad = w_get_status(&b, it, &res[w][m]); break;
			default:
				bad = w_load(&b, &l, lit, &res[w][m]);
				blocks = res[w][m].apdus / lit;
				break;
			}
			if (bad != 0) {
				fprintf(stderr, "bench_card: %s (%s): the card answered %04X\n",
				    wname[w], mode_name[m], b.h.sw);
				bcard_close(&b);
				goto out;
			}
			bcard_close(&b);
		}
	}
	printf("# postcard-sim card manager in-process: APDUs per second of card time\n");
	printf("# card files in %s (%s); LOAD sequence = %zu APDUs (%zu-byte load file)\n", dir,
	    fs_name(dir), blocks, l.n);
	printf("%-34s %14s %14s %14s %9s %9s\n", "workload", mode_name[M_OFF], mode_name[M_FSYNC],
	    mode_name[M_NOFSYNC], "off/fsync", "off/nofs");
	for (int w = 0; w < 4; w++) {
		printf("%-34s %14.0f %14.0f %14.0f %8.1fx %8.1fx\n", wname[w], res[w][M_OFF].per_s,
		    res[w][M_FSYNC].per_s, res[w][M_NOFSYNC].per_s,
		    res[w][M_FSYNC].per_s > 0 ? res[w][M_OFF].per_s / res[w][M_FSYNC].per_s : 0,
		    res[w][M_NOFSYNC].per_s > 0 ? res[w][M_OFF].per_s / res[w][M_NOFSYNC].per_s :
		    0);
	}
	printf("%-34s %14.1f %14.1f %14.1f\n", "  LOAD sequences per second", res[3][M_OFF].seq_per_s,
	    res[3][M_FSYNC].seq_per_s, res[3][M_NOFSYNC].seq_per_s);
	printf("# iterations: %zu per read workload, %zu LOAD sequences\n", iter, load_iter);
	rc = 0;
out:
	free(l.lf);
	return rc;
}

/* ---- through PC/SC ---- */

static int
cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

static int
bench_pcsc(const char *reader, size_t iter)
{
	static const uint8_t get_data[] = { 0x80, 0xCA, 0x9F, 0x7F, 0x00 };
	pcard_pcsc_opts o = { NULL, 0, 1, PCARD_PCSC_LEAVE, PCARD_PCSC_TANY };
	pcard_transport *t = NULL;
	uint8_t sel[32], resp[300];
	size_t nsel, len;
	long long *ns = NULL;
	int rc = 1;

	o.reader = reader;
	if (pcard_gp_select_cmd(isd_aid, sizeof isd_aid, sel, sizeof sel, &nsel) != PCARD_OK ||
	    (ns = calloc(iter, sizeof *ns)) == NULL)
		goto out;
	if (pcard_pcsc_open(&o, &t) != PCARD_OK) {
		fprintf(stderr, "bench_card: no card in '%s'\n", reader);
		goto out;
	}
	for (int k = 0; k < 2; k++) {
		const uint8_t *cmd = k == 0 ? sel : get_data;
		size_t n = k == 0 ? nsel : sizeof get_data;

		for (size_t i = 0; i < iter + 3; i++) {
			long long t0 = now_ns();

			if (pcard_transport_raw(t, cmd, n, resp, sizeof resp, &len) != PCARD_OK ||
			    len < 2 || resp[len - 2] != 0x90) {
				fprintf(stderr, "bench_card: exchange failed\n");
				goto out;
			}
			if (i >= 3)	/* 3 warm-up exchanges */
				ns[i - 3] = now_ns() - t0;
		}
		qsort(ns, iter, sizeof *ns, cmp_ll);
		printf("%-28s median %10.1f us  p90 %10.1f us  min %10.1f us  n %zu\n",
		    k == 0 ? "SELECT ISD" : "GET DATA 9F7F", (double)ns[iter / 2] / 1e3,
		    (double)ns[iter * 9 / 10] / 1e3, (double)ns[0] / 1e3, iter);
	}
	rc = 0;
out:
	pcard_transport_close(t);
	free(ns);
	return rc;
}

int
main(int argc, char **argv)
{
	const char *dir = getenv("TMPDIR"), *reader = NULL;
	size_t iter = 20000, load_iter = 40;
	int iter_set = 0;

	if (dir == NULL || dir[0] == '\0')
		dir = "/tmp";
	for (int i = 1; i < argc; i++) {
		if (i + 1 < argc && strcmp(argv[i], "--iter") == 0) {
			iter = strtoul(argv[++i], NULL, 10);
			iter_set = 1;
		} else if (i + 1 < argc && strcmp(argv[i], "--load-iter") == 0) {
			load_iter = strtoul(argv[++i], NULL, 10);
		} else if (i + 1 < argc && strcmp(argv[i], "--dir") == 0) {
			dir = argv[++i];
		} else if (i + 1 < argc && strcmp(argv[i], "--pcsc") == 0) {
			reader = argv[++i];
		} else {
			fprintf(stderr, "usage: bench_card [--iter N] [--load-iter N] [--dir D]\n"
			    "       bench_card --pcsc READER [--iter N]\n");
			return 2;
		}
	}
	if (reader != NULL)
		return bench_pcsc(reader, iter_set ? iter : 500);
	if (iter < 10 || load_iter < 1) {
		fprintf(stderr, "bench_card: --iter at least 10, --load-iter at least 1\n");
		return 2;
	}
	return bench_inproc(iter, load_iter, dir);
}
