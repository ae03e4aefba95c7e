/*
 * test_card_seeds.c: the fuzz_card seeds that go through a valid secure channel, made by a
 * recorder. Each seed is a sequence of plain commands in fuzz_card's input format (mode byte,
 * then len || APDU records); the recorder sends every command wrapped through a session opened
 * the way fuzz_card opens it (SCP03 or SCP02, C-MAC + C-DEC) and checks the answer, so each
 * seed is known to reach INSTALL, LOAD, DELETE, PUT KEY, SET STATUS and STORE DATA past the
 * security checks. The seeds are deterministic: this test compares them with the files in
 * fuzz/corpus/card; with PCARD_WRITE_SEEDS=1 in the environment it (re)writes the files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "card_fixture.h"

/* fuzz_card's LLVMFuzzerTestOneInput, to replay each seed through the harness itself */
#include "../fuzz/fuzz_card.c"

typedef struct seed {
	uint8_t b[32768];
	size_t n;
	ch_host h;
	pcard_card *c;
	unsigned records;
	uint16_t sws[256];		/* the answer to each record */
} seed;

static uint16_t replay_sws[256];
static unsigned replay_n;

static void
observe(uint16_t sw)
{
	if (replay_n < 256)
		replay_sws[replay_n] = sw;
	replay_n++;
}

static void
seed_begin(seed *s, uint8_t mode)
{
	pcard_cardstate cs;
	pcard_cardstate_opts o;

	memset(s, 0, sizeof *s);
	s->b[s->n++] = mode;
	memset(&o, 0, sizeof o);
	o.scp = (mode & 2) ? 2 : 3;
	pcard_cardstate_init(&cs);
	assert_int_equal(pcard_cardstate_default(&cs, &o), PCARD_OK);
	assert_non_null(s->c = fx_card(&cs, NULL, NULL));
	pcard_cardstate_clear(&cs);
	assert_int_equal(fx_host(&s->h, s->c, o.scp), 0);
	assert_int_equal(ch_open(&s->h, 0, 0x03, 0x55), 0x9000);
	s->h.open = 1;
}

/* Record a plain command and send it wrapped; the answer must be sw. */
static void
rec(seed *s, const uint8_t *cmd, size_t n, uint16_t sw)
{
	uint16_t got;

	assert_true(n > 0 && n <= 255);
	assert_true(s->n + 1 + n <= sizeof s->b);
	s->b[s->n++] = (uint8_t)n;
	memcpy(s->b + s->n, cmd, n);
	s->n += n;
	s->records++;
	got = fx_send(&s->h, cmd, n);
	if (s->records <= 256)
		s->sws[s->records - 1] = got;
	if (got != sw)
		fail_msg("record %u: %04X, expected %04X", s->records, got, sw);
}

static void
rec_hex(seed *s, const char *hex, uint16_t sw)
{
	uint8_t b[300];
	size_t n;

	assert_int_equal(pcard_hex_decode(hex, b, sizeof b, &n), PCARD_OK);
	rec(s, b, n, sw);
}

/* INSTALL [for load] + LOAD of a CAP, then INSTALL [for install and make selectable] of its
 * first applet when it has one; the package and applet AIDs are returned. */
static void
rec_load_install(seed *s, const char *name, pcard_aid *pkg, pcard_aid *inst)
{
	pcard_cap *cap;
	const pcard_cap_info *info;
	uint8_t lf[8192], cmd[300];
	size_t lfn, nc, blk, count;
	pcard_gp_install in;

	assert_int_equal(pcard_cap_open_file(tv_path(name), &cap), PCARD_OK);
	info = pcard_cap_get_info(cap);
	assert_int_equal(pcard_aid_set(pkg, info->package.b, info->package.len), PCARD_OK);
	assert_int_equal(pcard_cap_load_file(cap, 0, lf, sizeof lf, &lfn), PCARD_OK);
	memset(&in, 0, sizeof in);
	in.p1 = PCARD_INSTALL_FOR_LOAD;
	in.elf = info->package.b;
	in.elf_len = info->package.len;
	assert_int_equal(pcard_gp_install_cmd(&in, cmd, sizeof cmd, &nc), PCARD_OK);
	rec(s, cmd, nc, 0x9000);
	blk = pcard_scp_max_data(&s->h.scp);
	assert_int_equal(pcard_gp_load_count(lfn, blk, &count), PCARD_OK);
	for (size_t i = 0; i < count; i++) {
		assert_int_equal(pcard_gp_load_cmd(lf, lfn, blk, i, cmd, sizeof cmd, &nc), PCARD_OK);
		rec(s, cmd, nc, 0x9000);
	}
	memset(inst, 0, sizeof *inst);
	if (info->napplets > 0) {
		memset(&in, 0, sizeof in);
		in.p1 = PCARD_INSTALL_FOR_INSTALL | PCARD_INSTALL_FOR_MAKE_SELECTABLE;
		in.elf = info->package.b;
		in.elf_len = info->package.len;
		in.module = info->applets[0].aid.b;
		in.module_len = info->applets[0].aid.len;
		in.instance = info->applets[0].aid.b;
		in.instance_len = info->applets[0].aid.len;
		assert_int_equal(pcard_gp_install_cmd(&in, cmd, sizeof cmd, &nc), PCARD_OK);
		rec(s, cmd, nc, 0x9000);
		assert_int_equal(pcard_aid_set(inst, info->applets[0].aid.b,
		    info->applets[0].aid.len), PCARD_OK);
	}
	pcard_cap_free(cap);
}

/* The AID in upper-case hex (out holds 33 bytes). */
static const char *
aid_hex(const pcard_aid *a, char *out)
{
	for (size_t i = 0; i < a->len; i++)
		snprintf(out + 2 * i, 3, "%02X", a->b[i]);
	out[2 * a->len] = '\0';
	return out;
}

/* Compare with (or write) fuzz/corpus/card/<name>. */
static void
seed_end(seed *s, const char *name)
{
	const char *src = getenv("PCARD_SOURCE_DIR"), *w = getenv("PCARD_WRITE_SEEDS");
	char path[4096];
	uint8_t *file;
	FILE *f;
	size_t got;

	assert_non_null(src);
	snprintf(path, sizeof path, "%s/fuzz/corpus/card/%s", src, name);
	if (w != NULL && strcmp(w, "1") == 0) {
		assert_non_null(f = fopen(path, "wb"));
		assert_int_equal(fwrite(s->b, 1, s->n, f), s->n);
		assert_int_equal(fclose(f), 0);
	}
	assert_non_null(file = malloc(s->n + 1));
	f = fopen(path, "rb");
	if (f == NULL)
		fail_msg("%s missing: run with PCARD_WRITE_SEEDS=1", path);
	got = fread(file, 1, s->n + 1, f);
	fclose(f);
	if (got != s->n || memcmp(file, s->b, s->n) != 0)
		fail_msg("%s differs from what the recorder makes: run with PCARD_WRITE_SEEDS=1",
		    path);
	free(file);
	/* fuzz_card, fed the seed, gets the same answers: it does reach past the checks */
	replay_n = 0;
	fuzz_card_observe_sw = observe;
	assert_int_equal(LLVMFuzzerTestOneInput(s->b, s->n), 0);
	fuzz_card_observe_sw = NULL;
	assert_int_equal(replay_n, s->records);
	for (unsigned i = 0; i < s->records && i < 256; i++)
		if (replay_sws[i] != s->sws[i])
			fail_msg("%s record %u: fuzz_card got %04X, the recorder %04X", name, i + 1,
			    replay_sws[i], s->sws[i]);
	printf("seed %-28s %5zu bytes, %3u records through the session\n", name, s->n,
	    s->records);
	ch_clear(&s->h);
	pcard_card_free(s->c);
}

/* ------------------------------------------------------------------------------------- */

static void
test_seed_content(void **state)
{
	static seed s;
	pcard_aid pkg, inst, lib;
	char hex[200], ah[40];

	(void)state;
	seed_begin(&s, 0x01);
	rec_load_install(&s, "cap/kaoh-helloworld.cap", &pkg, &inst);
	snprintf(hex, sizeof hex, "80F04080%02X%s", inst.len, aid_hex(&inst, ah));
	rec_hex(&s, hex, 0x9000);				/* lock */
	snprintf(hex, sizeof hex, "80F04000%02X%s", inst.len, aid_hex(&inst, ah));
	rec_hex(&s, hex, 0x9000);				/* unlock */
	rec_hex(&s, "80F24002024F0000", 0x9000);
	rec_hex(&s, "80F28002024F0000", 0x9000);
	/* registry update: Card Reset, then back */
	{
		aid_hex(&inst, ah);
		snprintf(hex, sizeof hex, "80E64000%02X0000%02X%s0104000000", inst.len + 7,
		    inst.len, ah);
		rec_hex(&s, hex, 0x9000);
		snprintf(hex, sizeof hex, "80E62000%02X0000%02X%s00000000", inst.len + 6, inst.len,
		    ah);
		rec_hex(&s, hex, 0x9000);			/* personalization */
	}
	rec_hex(&s, "80E2800002AABB", 0x6A81);			/* generic applet: no store_data */
	rec_load_install(&s, "cap/openjavacard-lib-ber.cap", &lib, &inst);
	snprintf(hex, sizeof hex, "80E40080%02X4F%02X%s00", pkg.len + 2, pkg.len,
	    aid_hex(&pkg, ah));
	rec_hex(&s, hex, 0x9000);				/* with related objects */
	(void)lib;
	seed_end(&s, "scp03_content");
}

static void
test_seed_keys(void **state)
{
	static seed s;
	uint8_t data[128], cmd[300];
	size_t n, nc;
	pcard_keyh set[3];
	pcard_putkey_expect exp;
	uint8_t key[16];

	(void)state;
	seed_begin(&s, 0x01);
	memset(key, 0x5A, sizeof key);
	for (int i = 0; i < 3; i++)
		assert_int_equal(pcard_keys_mem_import(s.h.keys, NULL, PCARD_KEY_AES, key, 16,
		    &set[i]), PCARD_OK);
	assert_int_equal(pcard_putkey_set(s.h.keys, s.h.ks.dek, 0x30, set, data, sizeof data, &n,
	    &exp), PCARD_OK);
	assert_int_equal(pcard_gp_put_key_cmd(0x00, 1, 1, 0, data, n, cmd, sizeof cmd, &nc),
	    PCARD_OK);
	rec(&s, cmd, nc, 0x9000);				/* add 30 */
	assert_int_equal(pcard_putkey_set(s.h.keys, s.h.ks.dek, 0x31, set, data, sizeof data, &n,
	    &exp), PCARD_OK);
	assert_int_equal(pcard_gp_put_key_cmd(0x30, 1, 1, 0, data, n, cmd, sizeof cmd, &nc),
	    PCARD_OK);
	rec(&s, cmd, nc, 0x9000);				/* replace 30 by 31 */
	assert_int_equal(pcard_putkey_single(s.h.keys, s.h.ks.dek, 0x31, set[0], data,
	    sizeof data, &n, &exp), PCARD_OK);
	assert_int_equal(pcard_gp_put_key_cmd(0x31, 2, 0, 0, data, n, cmd, sizeof cmd, &nc),
	    PCARD_OK);
	rec(&s, cmd, nc, 0x9000);				/* one key of 31 */
	rec_hex(&s, "80CA00E000", 0x9000);
	rec_hex(&s, "80E4000006D00102D2013100", 0x9000);		/* delete key 1 of 31 */
	rec_hex(&s, "80E4000003D2013100", 0x9000);		/* delete set 31 */
	rec_hex(&s, "80E4000003D2013100", 0x6A88);
	rec_hex(&s, "80E2900006C0040000000100", 0x9000);	/* STORE DATA to the ISD */
	rec_hex(&s, "80E29000024F00", 0x6A80);
	seed_end(&s, "scp03_keys_storedata");
}

static void
test_seed_ssd(void **state)
{
	static seed s;
	pcard_aid pkg, inst;
	char hex[200], ah[40];

	(void)state;
	seed_begin(&s, 0x01);
	/* an SSD from the ROM Security Domain package, AM and Card Lock */
	rec_hex(&s, "80E60C002107" FX_SSD_PKG "08" FX_SSD_MOD "07" FX_SSD "0390400002C90000",
	    0x9000);
	rec_load_install(&s, "cap/gppro-empty-2.2.1.cap", &pkg, &inst);
	snprintf(hex, sizeof hex, "80E61000%02X07" FX_SSD "00%02X%s00000000", pkg.len + 13,
	    pkg.len, aid_hex(&pkg, ah));
	rec_hex(&s, hex, 0x9000);				/* extradition */
	rec_hex(&s, "80F0608007" FX_SSD, 0x9000);		/* lock the SSD */
	rec_hex(&s, "80F0600007" FX_SSD, 0x9000);
	rec_hex(&s, "80F0807F", 0x9000);			/* lock the card */
	rec_hex(&s, "80F0800F", 0x9000);			/* and unlock it */
	rec_hex(&s, "80E40080094F07" FX_SSD "00", 0x9000);	/* SSD with related objects */
	seed_end(&s, "scp03_ssd_lifecycle");
}

static void
test_seed_scp02(void **state)
{
	static seed s;
	pcard_aid pkg, inst;
	char hex[200], ah[40];

	(void)state;
	seed_begin(&s, 0x03);
	rec_load_install(&s, "cap/kaoh-helloworld.cap", &pkg, &inst);
	snprintf(hex, sizeof hex, "80F04080%02X%s", inst.len, aid_hex(&inst, ah));
	rec_hex(&s, hex, 0x9000);
	snprintf(hex, sizeof hex, "80E40080%02X4F%02X%s00", pkg.len + 2, pkg.len,
	    aid_hex(&pkg, ah));
	rec_hex(&s, hex, 0x9000);
	seed_end(&s, "scp02_content");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seed_content),
		cmocka_unit_test(test_seed_keys),
		cmocka_unit_test(test_seed_ssd),
		cmocka_unit_test(test_seed_scp02),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
