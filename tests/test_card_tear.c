/*
 * test_card_tear.c: power cut at every write point of the card's state-changing commands.
 *
 * For each operation (LOAD and INSTALL, DELETE with related objects, PUT KEY replacing a key
 * set, STORE DATA, SET STATUS card and application, extradition, INITIALIZE UPDATE, a failed
 * EXTERNAL AUTHENTICATE) and each crash model x torn-write mode of cardio.h: a card file is
 * created, brought to the operation's starting point (session, INSTALL [for load]...), the
 * I/O count is reset and the power cut at operation k (k = 1, 2, ... until the command runs to
 * its end, and then once more just after the response); the card file is then reopened
 * (pcard_cardfile_load, not through the card) and must equal exactly the state before the
 * command or the state a run without a cut leaves after it (registry, key sets, life cycles,
 * applet data and counters alike), so no counter goes backwards; a command whose success
 * answer left the card must be found done. A negative control runs the same sweep with the
 * commit written in place (PCARD_CARDIO_UNSAFE_IN_PLACE) and must find inconsistent states.
 *
 * The card files live in /dev/shm when it is usable (a tmpfs: fsync costs nothing there, and
 * what fsync guarantees is simulated by cardio's crash models anyway), else in /tmp.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "card_fixture.h"
#include "cardfile.h"

static char tmpdir[256];

static int
setup_dir(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof tmpdir, "/dev/shm/pcard-tear-XXXXXX");
	if (access("/dev/shm", W_OK) != 0 || mkdtemp(tmpdir) == NULL) {
		snprintf(tmpdir, sizeof tmpdir, "/tmp/pcard-tear-XXXXXX");
		if (mkdtemp(tmpdir) == NULL)
			return -1;
	}
	printf("tear tests in %s\n", tmpdir);
	return 0;
}

static int
teardown_dir(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* ------------------------------------------------------------------------------------- */
/* Operations */

#define DS_PKG "F0706F73746361726401"
#define DS_MOD "F0706F7374636172640101"

static uint8_t load_cmds[64][262];
static size_t load_lens[64], nload;

static void
base_state(pcard_cardstate *cs)
{
	static const uint8_t no_priv[3] = { 0 };
	pcard_card_elf e;
	pcard_card_app a;

	assert_int_equal(fx_state(cs, 3, PCARD_CARD_SECURED, no_priv), 0);
	memset(&e, 0, sizeof e);
	e.aid = fx_aid(DS_PKG);
	e.major = 1;
	e.sd = fx_aid(FX_ISD);
	e.nmodules = 1;
	e.modules[0] = fx_aid(DS_MOD);
	assert_int_equal(pcard_cardstate_elf_add(cs, &e), PCARD_OK);
	memset(&a, 0, sizeof a);
	a.aid = fx_aid(DS_MOD);
	a.elf = e.aid;
	a.module = e.modules[0];
	a.sd = e.sd;
	a.life_cycle = PCARD_APP_SELECTABLE;
	assert_int_equal(pcard_cardstate_app_add(cs, &a), PCARD_OK);
}

static void
prep_session(ch_host *h)
{
	assert_int_equal(ch_open(h, 0, 0x03, 0), 0x9000);
	h->open = 1;
}

/* Plain LOAD commands of the empty CAP (built once). */
static void
build_load(void)
{
	pcard_cap *cap;
	uint8_t lf[4096];
	size_t lfn, count;

	if (nload > 0)
		return;
	assert_int_equal(pcard_cap_open_file(tv_path("cap/gppro-empty-2.2.1.cap"), &cap),
	    PCARD_OK);
	assert_int_equal(pcard_cap_load_file(cap, 0, lf, sizeof lf, &lfn), PCARD_OK);
	pcard_cap_free(cap);
	assert_int_equal(pcard_gp_load_count(lfn, 200, &count), PCARD_OK);
	assert_true(count >= 1 && count <= 64);
	for (size_t i = 0; i < count; i++)
		assert_int_equal(pcard_gp_load_cmd(lf, lfn, 200, i, load_cmds[i],
		    sizeof load_cmds[i], &load_lens[i]), PCARD_OK);
	nload = count;
}

static void
prep_load(ch_host *h)
{
	pcard_cap *cap;
	const pcard_cap_info *info;
	char hex[80];

	prep_session(h);
	build_load();
	assert_int_equal(pcard_cap_open_file(tv_path("cap/gppro-empty-2.2.1.cap"), &cap),
	    PCARD_OK);
	info = pcard_cap_get_info(cap);
	{
		uint8_t cmd[64];
		size_t nc = 0;

		cmd[nc++] = 0x80;
		cmd[nc++] = 0xE6;
		cmd[nc++] = 0x02;
		cmd[nc++] = 0x00;
		cmd[nc++] = (uint8_t)(info->package.len + 5);
		cmd[nc++] = (uint8_t)info->package.len;
		memcpy(cmd + nc, info->package.b, info->package.len);
		nc += info->package.len;
		memset(cmd + nc, 0, 5);
		nc += 5;
		assert_int_equal(fx_send(h, cmd, nc), 0x9000);
	}
	(void)hex;
	pcard_cap_free(cap);
	for (size_t i = 0; i + 1 < nload; i++)
		assert_int_equal(fx_send(h, load_cmds[i], load_lens[i]), 0x9000);
}

static uint16_t
run_load(ch_host *h)
{
	return fx_send(h, load_cmds[nload - 1], load_lens[nload - 1]);
}

static uint16_t
run_install(ch_host *h)
{
	return fx_send_hex(h, "80E60C001E06" FX_ELF "07" FX_MOD2 "08" FX_NEW "010002C90000");
}

static uint16_t
run_delete_related(ch_host *h)
{
	return fx_send_hex(h, "80E40080084F06" FX_ELF "00");
}

static uint16_t
run_put_key(ch_host *h)
{
	return fx_put_key_aes(h, 0xFF, 0x30, 0x77);
}

static void
prep_perso(ch_host *h)
{
	prep_session(h);
	assert_int_equal(fx_send_hex(h, "80E62000110000" "0B" DS_MOD "00000000"), 0x9000);
}

static uint16_t
run_store_data(ch_host *h)
{
	return fx_send_hex(h, "80E280000DC10400000001DF2004A1B2C3D4");
}

static uint16_t
run_card_lock(ch_host *h)
{
	return fx_send_hex(h, "80F0807F");
}

static uint16_t
run_app_lock(ch_host *h)
{
	return fx_send_hex(h, "80F0408008" FX_APP);
}

static uint16_t
run_extradite(ch_host *h)
{
	return fx_send_hex(h, "80E610001507" FX_SSD "0008" FX_APP "00000000");
}

static void
prep_none(ch_host *h)
{
	(void)h;
}

static uint16_t
run_init_update(ch_host *h)
{
	return ch_hex(h, "8050000008010203040506070800");
}

static void
prep_init_update(ch_host *h)
{
	pcard_scp_host_params hp;
	uint8_t cmd[64];
	size_t nc;

	memset(&hp, 0, sizeof hp);
	pcard_scp_clear(&h->scp);
	pcard_scp_init(&h->scp);
	assert_int_equal(pcard_scp_host_init_update(&h->scp, h->keys, &h->ks, &hp, cmd,
	    sizeof cmd, &nc), PCARD_OK);
	assert_int_equal(ch_raw(h, cmd, nc), 0x9000);
	assert_int_equal(pcard_scp_host_auth(&h->scp, h->rsp, h->rlen), PCARD_OK);
}

static uint16_t
run_bad_ext_auth(ch_host *h)
{
	uint8_t cmd[64];
	size_t nc;

	assert_int_equal(pcard_scp_host_ext_auth(&h->scp, 0x01, cmd, sizeof cmd, &nc), PCARD_OK);
	cmd[5] ^= 0x01;
	return ch_raw(h, cmd, nc);
}

typedef struct tear_op {
	const char *name;
	void (*prep)(ch_host *h);
	uint16_t (*run)(ch_host *h);
	uint16_t sw;		/* the answer without a cut */
} tear_op;

static const tear_op ops[] = {
	{ "LOAD (last block: registers the ELF)", prep_load, run_load, 0x9000 },
	{ "INSTALL [for install and make selectable]", prep_session, run_install, 0x9000 },
	{ "DELETE with related objects", prep_session, run_delete_related, 0x9000 },
	{ "PUT KEY replacing key set FF", prep_session, run_put_key, 0x9000 },
	{ "STORE DATA (datastore)", prep_perso, run_store_data, 0x9000 },
	{ "SET STATUS card -> CARD_LOCKED", prep_session, run_card_lock, 0x9000 },
	{ "SET STATUS application lock", prep_session, run_app_lock, 0x9000 },
	{ "INSTALL [for extradition]", prep_session, run_extradite, 0x9000 },
	{ "INITIALIZE UPDATE (sequence counter)", prep_none, run_init_update, 0x9000 },
	{ "failed EXTERNAL AUTHENTICATE (failure counter)", prep_init_update, run_bad_ext_auth,
	    0x6300 },
};
#define NOPS (sizeof ops / sizeof ops[0])

/* ------------------------------------------------------------------------------------- */
/* The sweep */

typedef struct tear_result {
	unsigned points, before, after, inconsistent, unreadable, lost;
} tear_result;

/*
 * One run: fresh card file, prep, cut at k (0 = no cut). Returns 1 when the command ran to
 * its end without meeting the cut; *done_sw is the command's answer; before/after receive the
 * card's state before the command and (no cut) after it.
 */
static int
one_run(const tear_op *op, const pcard_cardio *model, unsigned long k, const char *path,
    pcard_cardstate *before, pcard_cardstate *after, uint16_t *done_sw)
{
	pcard_cardstate cs;
	pcard_cardfile f;
	pcard_cardio io;
	pcard_card *c = NULL;
	ch_host h;
	uint8_t atr[40];
	size_t n;
	int ran_out;
	char tmp[600];

	snprintf(tmp, sizeof tmp, "%s.new", path);
	unlink(path);
	unlink(tmp);
	pcard_cardstate_init(&cs);
	base_state(&cs);
	assert_int_equal(pcard_cardfile_create(&f, NULL, path, &cs), PCARD_OK);
	pcard_cardfile_close(&f);
	pcard_cardstate_clear(&cs);
	pcard_cardio_init(&io);
	io.mode = model->mode;
	io.crash = model->crash;
	io.seed = (uint32_t)k * 2654435761u;
	assert_int_equal(pcard_card_open_file(path, &io, &c), PCARD_OK);
	assert_int_equal(pcard_card_power_on(c, atr, sizeof atr, &n), PCARD_OK);
	assert_int_equal(fx_host(&h, c, 3), 0);
	op->prep(&h);
	assert_int_equal(pcard_cardstate_copy(before, pcard_card_state(c)), PCARD_OK);
	pcard_cardio_reset_count(&io);
	if (k > 0)
		pcard_cardio_cut_at(&io, k, model->torn);
	*done_sw = op->run(&h);
	ran_out = io.powered;
	if (k == 0) {
		assert_int_equal(*done_sw, op->sw);
		assert_int_equal(pcard_cardstate_copy(after, pcard_card_state(c)), PCARD_OK);
		assert_false(pcard_cardstate_eq(before, after, NULL, 0));
	} else if (ran_out) {
		pcard_cardio_power_cut(&io);	/* just after the response left */
	}
	ch_clear(&h);
	pcard_card_free(c);
	assert_int_equal(pcard_cardio_power_on(&io), PCARD_OK);
	pcard_cardio_clear(&io);
	return ran_out;
}

static void
sweep(const tear_op *op, const pcard_cardio *model, tear_result *res)
{
	pcard_cardstate before, after, ref_before, now;
	char path[300];
	uint16_t sw;

	memset(res, 0, sizeof *res);
	pcard_cardstate_init(&before);
	pcard_cardstate_init(&after);
	pcard_cardstate_init(&ref_before);
	pcard_cardstate_init(&now);
	snprintf(path, sizeof path, "%s/card", tmpdir);
	/* the reference: no cut, safe */
	{
		pcard_cardio safe;

		pcard_cardio_init(&safe);
		(void)one_run(op, &safe, 0, path, &ref_before, &after, &sw);
		pcard_cardio_clear(&safe);
	}
	for (unsigned long k = 1;; k++) {
		int ran_out;

		assert_true(k < 500);
		ran_out = one_run(op, model, k, path, &before, NULL, &sw);
		assert_true(pcard_cardstate_eq(&before, &ref_before, NULL, 0));
		res->points++;
		if (pcard_cardfile_load(path, &now) != PCARD_OK)
			res->unreadable++;
		else if (pcard_cardstate_eq(&now, &before, NULL, 0))
			res->before++;
		else if (pcard_cardstate_eq(&now, &after, NULL, 0))
			res->after++;
		else
			res->inconsistent++;
		/* an answer that left the card (its success, or the counted failure) is on disk */
		if (sw == op->sw && !pcard_cardstate_eq(&now, &after, NULL, 0))
			res->lost++;
		if (ran_out)
			break;
	}
	pcard_cardstate_clear(&before);
	pcard_cardstate_clear(&after);
	pcard_cardstate_clear(&ref_before);
	pcard_cardstate_clear(&now);
}

static const char *const crash_names[] = { "KEEP_ALL", "LOSE_DATA", "LOSE_ALL" };
static const char *const torn_names[] = { "clean", "torn-half", "torn-random" };

static void
test_tear_every_operation(void **state)
{
	unsigned total = 0, bad = 0;
	struct timespec t0, t1;

	(void)state;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (size_t i = 0; i < NOPS; i++) {
		unsigned points = 0, inconsistent = 0, before = 0, after = 0;

		for (int cr = PCARD_CARDIO_KEEP_ALL; cr <= PCARD_CARDIO_LOSE_ALL; cr++) {
			for (int t = PCARD_CARDIO_CLEAN; t <= PCARD_CARDIO_TORN_RANDOM; t++) {
				pcard_cardio model;
				tear_result r;

				pcard_cardio_init(&model);
				model.crash = (pcard_cardio_crash)cr;
				model.torn = (pcard_cardio_torn)t;
				sweep(&ops[i], &model, &r);
				if (r.inconsistent + r.unreadable + r.lost > 0)
					printf("  %s %s %s: %u inconsistent, %u unreadable, %u lost\n",
					    ops[i].name, crash_names[cr], torn_names[t], r.inconsistent,
					    r.unreadable, r.lost);
				/* the sweep crosses the commit point: both outcomes occur */
				assert_true(r.before > 0);
				assert_true(r.after > 0);
				points += r.points;
				before += r.before;
				after += r.after;
				inconsistent += r.inconsistent + r.unreadable + r.lost;
				pcard_cardio_clear(&model);
			}
		}
		printf("tear %-48s: %4u tear points tried (9 crash/torn models), before %4u, "
		    "after %4u, inconsistent %u\n", ops[i].name, points, before, after, inconsistent);
		total += points;
		bad += inconsistent;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("tear tests: %u tear points, %u inconsistent states, %.1f s\n", total, bad,
	    (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	assert_int_equal(bad, 0);
}

/* Atomicity switched off: the commit written in place, torn. Must be caught. */
static void
test_tear_negative_control(void **state)
{
	unsigned total = 0, bad = 0;

	(void)state;
	for (size_t i = 0; i < NOPS; i++) {
		pcard_cardio model;
		tear_result r;

		pcard_cardio_init(&model);
		model.mode = PCARD_CARDIO_UNSAFE_IN_PLACE;
		model.crash = PCARD_CARDIO_KEEP_ALL;
		model.torn = PCARD_CARDIO_TORN_HALF;
		sweep(&ops[i], &model, &r);
		printf("negative control (in place, torn) %-48s: %3u tear points, %u inconsistent\n",
		    ops[i].name, r.points, r.inconsistent + r.unreadable + r.lost);
		assert_true(r.inconsistent + r.unreadable + r.lost > 0);
		total += r.points;
		bad += r.inconsistent + r.unreadable + r.lost;
		pcard_cardio_clear(&model);
	}
	printf("negative control: %u tear points, %u inconsistent states\n", total, bad);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tear_every_operation),
		cmocka_unit_test(test_tear_negative_control),
	};

	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
