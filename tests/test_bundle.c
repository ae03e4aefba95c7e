/*
 * test_bundle.c: scp_bundle.h against the simulated card (tests/util/simcard.h) on SCP03
 * i=70 level 33 and SCP02 i=75 level 13: a session exported and imported (keys derived
 * again) wraps exactly the bytes pcard_scp_wrap_cmd produces one by one; the card's answers
 * to a whole bundle verify in any order (reverse here); every flipped bit of an answer fails;
 * resume continues the card's chain; every import error is provoked. Also job names/ranks
 * and pcard_bundle_iu_kvn.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "postcard/bundle.h"
#include "postcard/gp.h"
#include "postcard/scp_bundle.h"
#include "postcard/transport.h"
#include "simcard.h"

static const uint8_t ISD[8] = { 0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00 };
static const uint8_t TEST_KEY[16] = {
	0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47,
	0x48, 0x49, 0x4A, 0x4B, 0x4C, 0x4D, 0x4E, 0x4F,
};
static const uint8_t CHAL[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

#define NCMD 6

typedef struct fx {
	simcard *sc;
	pcard_transport *t;
	pcard_keys *keys;
	pcard_scp_keyset ks;
	uint8_t scp, level;
	uint8_t iu_rsp[64];
	size_t iu_n;
} fx;

static void
fx_open(fx *f, uint8_t scp)
{
	simcard_opts o;
	pcard_keytype kt = scp == 3 ? PCARD_KEY_AES : PCARD_KEY_DES3;
	uint8_t cmd[64], rsp[300];
	size_t nc, nr;
	pcard_scp s;
	pcard_scp_host_params hp;

	memset(f, 0, sizeof *f);
	memset(&o, 0, sizeof o);
	o.scp = scp;
	o.i = scp == 3 ? 0x70 : 0x75;
	f->scp = scp;
	f->level = scp == 3 ? 0x33 : 0x13;
	assert_int_equal(simcard_new(&o, &f->sc), PCARD_OK);
	f->t = simcard_transport(f->sc);
	assert_int_equal(pcard_keys_mem_new(32, &f->keys), PCARD_OK);
	assert_int_equal(pcard_keys_mem_import(f->keys, NULL, kt, TEST_KEY, 16, &f->ks.enc),
	    PCARD_OK);
	f->ks.mac = f->ks.dek = f->ks.enc;
	assert_int_equal(pcard_gp_select_cmd(ISD, sizeof ISD, cmd, sizeof cmd, &nc), PCARD_OK);
	assert_int_equal(pcard_transport_transmit(f->t, cmd, nc, rsp, sizeof rsp, &nr), PCARD_OK);
	pcard_scp_init(&s);
	memset(&hp, 0, sizeof hp);
	hp.host_chal = CHAL;
	hp.host_chal_len = 8;
	hp.scp02_i = scp == 2 ? 0x75 : 0;
	hp.aid = ISD;
	hp.aid_len = sizeof ISD;
	assert_int_equal(pcard_scp_host_init_update(&s, f->keys, &f->ks, &hp, cmd, sizeof cmd,
	    &nc), PCARD_OK);
	assert_int_equal(pcard_transport_transmit(f->t, cmd, nc, f->iu_rsp, sizeof f->iu_rsp,
	    &f->iu_n), PCARD_OK);
	pcard_scp_clear(&s);
}

static void
fx_close(fx *f)
{
	pcard_keys_free(f->keys);
	simcard_free(f->sc);
}

/* A host session after the INITIALIZE UPDATE response (card cryptogram checked). */
static void
host_authed(fx *f, pcard_scp *s)
{
	pcard_scp_host_params hp;
	uint8_t cmd[64];
	size_t nc;

	pcard_scp_init(s);
	memset(&hp, 0, sizeof hp);
	hp.host_chal = CHAL;
	hp.host_chal_len = 8;
	hp.scp02_i = f->scp == 2 ? 0x75 : 0;
	hp.aid = ISD;
	hp.aid_len = sizeof ISD;
	assert_int_equal(pcard_scp_host_init_update(s, f->keys, &f->ks, &hp, cmd, sizeof cmd,
	    &nc), PCARD_OK);
	assert_int_equal(pcard_scp_host_auth(s, f->iu_rsp, f->iu_n), PCARD_OK);
}

/* The plain commands of the bundle: GET DATA E0, GET STATUS ISD, GET DATA CF, ... */
static size_t
plain_cmd(size_t i, uint8_t *out, size_t cap)
{
	size_t n = 0;

	switch (i % 3) {
	case 0:
		assert_int_equal(pcard_gp_get_data_cmd(0x80, PCARD_GP_TAG_KEYINFO, out, cap, &n),
		    PCARD_OK);
		break;
	case 1:
		assert_int_equal(pcard_gp_get_status_cmd(PCARD_GS_ISD, PCARD_GS_P2_TAGS, out, cap,
		    &n), PCARD_OK);
		break;
	default:
		assert_int_equal(pcard_gp_get_data_cmd(0x80, PCARD_GP_TAG_CPLC, out, cap, &n),
		    PCARD_OK);
		break;
	}
	return n;
}

static void
run_bundle(uint8_t scp)
{
	fx f;
	pcard_scp a, b, v;
	pcard_scpb_ctx ctx[NCMD + 1];
	uint8_t blob[PCARD_SCPB_STATE_MAX], blob2[PCARD_SCPB_STATE_MAX];
	uint8_t wa[NCMD + 1][PCARD_SCP_MAX_CMD], wb[NCMD + 1][PCARD_SCP_MAX_CMD];
	uint8_t rsp[NCMD + 1][PCARD_SCP_MAX_RSP], plain[PCARD_SCP_MAX_RSP], cmd[64];
	size_t na[NCMD + 1], nb[NCMD + 1], nr[NCMD + 1], bl, bl2, np, nc;
	size_t flips = 0;
	int macd;

	fx_open(&f, scp);
	host_authed(&f, &a);
	/* the server stores the session and forgets it; imported again, it is the same */
	assert_int_equal(pcard_scpb_export(&a, blob, sizeof blob, &bl), PCARD_OK);
	pcard_scp_init(&b);
	assert_int_equal(pcard_scpb_import(&b, f.keys, &f.ks, blob, bl), PCARD_OK);
	assert_int_equal(pcard_scpb_export(&b, blob2, sizeof blob2, &bl2), PCARD_OK);
	assert_int_equal(bl, bl2);
	assert_memory_equal(blob, blob2, bl);
	/* EXTERNAL AUTHENTICATE and the commands: same bytes either way */
	assert_int_equal(pcard_scp_host_ext_auth(&a, f.level, wa[0], sizeof wa[0], &na[0]),
	    PCARD_OK);
	assert_int_equal(pcard_scpb_ext_auth(&b, f.level, wb[0], sizeof wb[0], &nb[0], &ctx[0]),
	    PCARD_OK);
	assert_int_equal(na[0], nb[0]);
	assert_memory_equal(wa[0], wb[0], na[0]);
	for (size_t i = 1; i <= NCMD; i++) {
		nc = plain_cmd(i, cmd, sizeof cmd);
		assert_int_equal(pcard_scp_wrap_cmd(&a, cmd, nc, wa[i], sizeof wa[i], &na[i]),
		    PCARD_OK);
		/* export / import between every two commands: a stateless server */
		assert_int_equal(pcard_scpb_export(&b, blob, sizeof blob, &bl), PCARD_OK);
		pcard_scp_clear(&b);
		assert_int_equal(pcard_scpb_import(&b, f.keys, &f.ks, blob, bl), PCARD_OK);
		assert_int_equal(pcard_scpb_wrap(&b, cmd, nc, wb[i], sizeof wb[i], &nb[i], &ctx[i]),
		    PCARD_OK);
		assert_int_equal(na[i], nb[i]);
		assert_memory_equal(wa[i], wb[i], na[i]);
	}
	/* the agent plays them all */
	for (size_t i = 0; i <= NCMD; i++)
		assert_int_equal(pcard_transport_transmit(f.t, wb[i], nb[i], rsp[i],
		    sizeof rsp[i], &nr[i]), PCARD_OK);
	/* the server verifies later, in reverse order, from a fresh import */
	assert_int_equal(pcard_scpb_export(&b, blob, sizeof blob, &bl), PCARD_OK);
	pcard_scp_init(&v);
	assert_int_equal(pcard_scpb_import(&v, f.keys, &f.ks, blob, bl), PCARD_OK);
	for (size_t i = NCMD; i >= 1; i--) {
		assert_int_equal(pcard_scpb_verify(&v, &ctx[i], rsp[i - 1], nr[i - 1], rsp[i],
		    nr[i], plain, sizeof plain, &np, &macd), PCARD_OK);
		assert_int_equal(macd, 1);
		assert_int_equal(plain[np - 2], 0x90);
		assert_int_equal(plain[np - 1], 0x00);
		assert_true(np > 2);
	}
	assert_int_equal(pcard_scpb_verify(&v, &ctx[0], NULL, 0, rsp[0], nr[0], plain,
	    sizeof plain, &np, &macd), PCARD_OK);
	assert_int_equal(macd, 0);	/* EXTERNAL AUTHENTICATE: a bare 9000 */
	/* every flipped bit of answer 3 fails, and the session v is still usable */
	for (size_t byte = 0; byte < nr[3]; byte++) {
		for (int bit = 0; bit < 8; bit++) {
			pcard_err err;

			rsp[3][byte] ^= (uint8_t)(1u << bit);
			err = pcard_scpb_verify(&v, &ctx[3], rsp[2], nr[2], rsp[3], nr[3], plain,
			    sizeof plain, &np, &macd);
			rsp[3][byte] ^= (uint8_t)(1u << bit);
			/* SCP03: a flipped SW that is no longer protected must come bare,
			 * so it fails as a MAC error too */
			assert_true(err == PCARD_E_MAC || err == PCARD_E_PADDING);
			flips++;
		}
	}
	assert_int_equal(pcard_scpb_verify(&v, &ctx[3], rsp[2], nr[2], rsp[3], nr[3], plain,
	    sizeof plain, &np, &macd), PCARD_OK);
	/* a response verified with another command's context fails */
	assert_int_equal(pcard_scpb_verify(&v, &ctx[4], rsp[2], nr[2], rsp[3], nr[3], plain,
	    sizeof plain, &np, &macd), PCARD_E_MAC);
	if (scp == 2)
		assert_int_equal(pcard_scpb_verify(&v, &ctx[3], NULL, 0, rsp[3], nr[3], plain,
		    sizeof plain, &np, &macd), PCARD_E_INVALID_ARG);
	/* resume after answer 3 (as if 4.. were never played): new commands continue the chain */
	{
		pcard_scp r;
		pcard_scpb_ctx c2;
		uint8_t w[PCARD_SCP_MAX_CMD], rr[PCARD_SCP_MAX_RSP];
		size_t nw, nrr;

		pcard_scp_init(&r);
		assert_int_equal(pcard_scpb_import(&r, f.keys, &f.ks, blob, bl), PCARD_OK);
		assert_int_equal(pcard_scpb_resume_after(&r, &ctx[NCMD], rsp[NCMD], nr[NCMD]),
		    PCARD_OK);
		nc = plain_cmd(1, cmd, sizeof cmd);
		assert_int_equal(pcard_scpb_wrap(&r, cmd, nc, w, sizeof w, &nw, &c2), PCARD_OK);
		assert_int_equal(pcard_transport_transmit(f.t, w, nw, rr, sizeof rr, &nrr),
		    PCARD_OK);
		assert_int_equal(pcard_scpb_verify(&r, &c2, NULL, 0, rr, nrr, plain, sizeof plain,
		    &np, &macd), PCARD_OK);
		assert_int_equal(macd, 1);
		assert_int_equal(pcard_scpb_export(&r, blob2, sizeof blob2, &bl2), PCARD_OK);
		pcard_scp_clear(&r);
	}
	printf("SCP%02X: %d commands wrapped equal, verified in reverse order, %zu bit flips "
	    "caught\n", scp, NCMD, flips);
	pcard_scp_clear(&a);
	pcard_scp_clear(&b);
	pcard_scp_clear(&v);
	fx_close(&f);
}

/* The job index of each job step of b, collapsed: "1 0 2" for steps of jobs 1, 1, 0, 2. */
static void
job_order(const pcard_bundle *b, char *out, size_t cap)
{
	size_t n = 0, prev = PCARD_BUNDLE_NO_JOB;

	out[0] = '\0';
	for (size_t k = 0; k < b->n; k++) {
		if (b->steps[k].purpose != PCARD_STEP_JOB || b->steps[k].job == prev)
			continue;
		prev = b->steps[k].job;
		n += (size_t)snprintf(out + n, cap - n, "%s%zu", n ? " " : "", prev);
	}
}

/* Install jobs in dependency order; load-only installs end at their last LOAD. */
static void
test_install_order(void **state)
{
	static const uint8_t lf[40] = { 0xC4, 38 };
	pcard_bundle_step *steps = calloc(64, sizeof *steps);
	pcard_bundle b;
	pcard_bjob j[3];
	pcard_scp s;
	fx f;
	char order[64];
	size_t last = 0;

	(void)state;
	assert_non_null(steps);
	fx_open(&f, 3);
	host_authed(&f, &s);
	memset(j, 0, sizeof j);
	for (int i = 0; i < 3; i++) {
		j[i].type = PCARD_BJOB_INSTALL;
		j[i].load_file = lf;
		j[i].load_file_len = sizeof lf;
		assert_int_equal(pcard_gp_aid_set(&j[i].elf, (const uint8_t *)"\xA0\0\0\0\x01", 5),
		    PCARD_OK);
		j[i].elf.b[4] = (uint8_t)(0x10 + i);
	}
	/* 0 installs from E10 and imports E11; 1 loads E11 only; 2 installs from E11 without
	 * loading it: 1 first, then 0 and 2 in the order given */
	j[0].instance = j[0].elf;
	j[0].imports[j[0].nimports++] = j[1].elf;
	j[2].elf = j[1].elf;
	j[2].skip_load = 1;
	j[2].instance = j[1].elf;
	j[2].instance.b[j[2].instance.len++] = 0x01;
	pcard_bundle_init(&b, steps, 64);
	assert_int_equal(pcard_bundle_add_ext_auth(&b, &s, f.level), PCARD_OK);
	assert_int_equal(pcard_bundle_add_jobs(&b, &s, f.keys, j, 3), PCARD_OK);
	job_order(&b, order, sizeof order);
	assert_string_equal(order, "1 0 2");
	/* the load-only job's last LOAD decides it */
	for (size_t k = 0; k < b.n; k++)
		if (b.steps[k].job == 1) {
			assert_int_equal(b.steps[k].last, k + 1 == b.n || b.steps[k + 1].job != 1);
			last += b.steps[k].last;
		}
	assert_int_equal(last, 1);
	/* a cycle (0 imports E11, 1 imports E10): the order given */
	j[1].imports[j[1].nimports++] = j[0].elf;
	pcard_bundle_init(&b, steps, 64);
	assert_int_equal(pcard_bundle_add_jobs(&b, &s, f.keys, j, 2), PCARD_OK);
	job_order(&b, order, sizeof order);
	assert_string_equal(order, "0 1");
	/* a load-only job that skips its LOAD has nothing to send: refused, b unchanged */
	j[1].skip_load = 1;
	pcard_bundle_init(&b, steps, 64);
	assert_int_equal(pcard_bundle_add_jobs(&b, &s, f.keys, &j[1], 1), PCARD_E_INVALID_ARG);
	assert_int_equal(b.n, 0);
	pcard_scp_clear(&s);
	fx_close(&f);
	free(steps);
}

static void
test_scp03(void **state)
{
	(void)state;
	run_bundle(3);
}

static void
test_scp02(void **state)
{
	(void)state;
	run_bundle(2);
}

static void
test_import_errors(void **state)
{
	fx f;
	pcard_scp s, t;
	uint8_t blob[PCARD_SCPB_STATE_MAX], bad[PCARD_SCPB_STATE_MAX + 1], out[8];
	size_t bl, n;
	(void)state;

	fx_open(&f, 3);
	host_authed(&f, &s);
	assert_int_equal(pcard_scpb_export(&s, blob, sizeof blob, &bl), PCARD_OK);
	assert_int_equal(pcard_scpb_export(&s, blob, 10, &n), PCARD_E_NOSPACE);
	assert_int_equal(pcard_scpb_export(NULL, blob, sizeof blob, &n), PCARD_E_INVALID_ARG);
	pcard_scp_init(&t);
	assert_int_equal(pcard_scpb_export(&t, blob, sizeof blob, &n), PCARD_E_STATE);
	assert_int_equal(pcard_scpb_export(&s, blob, sizeof blob, &bl), PCARD_OK);
	/* every truncation fails */
	for (size_t k = 0; k < bl; k++)
		assert_int_equal(pcard_scpb_import(&t, f.keys, &f.ks, blob, k), PCARD_E_TRUNCATED);
	memcpy(bad, blob, bl);
	bad[bl] = 0;
	assert_int_equal(pcard_scpb_import(&t, f.keys, &f.ks, bad, bl + 1),
	    PCARD_E_TRAILING_DATA);
	memcpy(bad, blob, bl);
	bad[0] = 2;	/* format */
	assert_int_equal(pcard_scpb_import(&t, f.keys, &f.ks, bad, bl), PCARD_E_BAD_ENCODING);
	memcpy(bad, blob, bl);
	bad[1] = 3;	/* state DEAD */
	assert_int_equal(pcard_scpb_import(&t, f.keys, &f.ks, bad, bl), PCARD_E_BAD_ENCODING);
	memcpy(bad, blob, bl);
	bad[2] = 1;	/* SCP01 */
	assert_int_equal(pcard_scpb_import(&t, f.keys, &f.ks, bad, bl), PCARD_E_BAD_ENCODING);
	memcpy(bad, blob, bl);
	bad[8] = 0;
	bad[9] = 16;	/* max Lc 16 */
	assert_int_equal(pcard_scpb_import(&t, f.keys, &f.ks, bad, bl), PCARD_E_BAD_ENCODING);
	memcpy(bad, blob, bl);
	bad[7] |= 0x80;	/* unknown flag */
	assert_int_equal(pcard_scpb_import(&t, f.keys, &f.ks, bad, bl), PCARD_E_BAD_ENCODING);
	memcpy(bad, blob, bl);
	bad[51] = 17;	/* host challenge length */
	assert_int_equal(pcard_scpb_import(&t, f.keys, &f.ks, bad, bl), PCARD_E_BAD_ENCODING);
	assert_int_equal(pcard_scpb_import(&t, NULL, &f.ks, blob, bl), PCARD_E_INVALID_ARG);
	/* an AES session with DES keys: the provider refuses to derive */
	{
		pcard_scp_keyset dk;

		assert_int_equal(pcard_keys_mem_import(f.keys, NULL, PCARD_KEY_DES3, TEST_KEY, 16,
		    &dk.enc), PCARD_OK);
		dk.mac = dk.dek = dk.enc;
		assert_int_equal(pcard_scpb_import(&t, f.keys, &dk, blob, bl), PCARD_E_KEY);
	}
	assert_int_equal(pcard_scpb_import(&t, f.keys, &f.ks, blob, bl), PCARD_OK);
	/* verify needs an open session */
	{
		pcard_scpb_ctx c;
		int macd;
		uint8_t r2[2] = { 0x90, 0x00 };

		memset(&c, 0, sizeof c);
		c.scp = 3;
		assert_int_equal(pcard_scpb_verify(&t, &c, NULL, 0, r2, 2, out, sizeof out, &n,
		    &macd), PCARD_E_STATE);
		assert_int_equal(pcard_scpb_resume_after(&t, &c, r2, 2), PCARD_E_STATE);
	}
	pcard_scp_clear(&s);
	pcard_scp_clear(&t);
	fx_close(&f);
}

static void
test_names(void **state)
{
	int t = 0;
	static const uint8_t iu[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0x30, 0x03, 0x90, 0x00 };
	uint8_t kvn = 0;
	(void)state;

	for (int i = 1; i < PCARD_BJOB__COUNT; i++) {
		assert_non_null(pcard_bjob_type_name(i));
		assert_int_equal(pcard_bjob_type_from_name(pcard_bjob_type_name(i), &t), PCARD_OK);
		assert_int_equal(t, i);
		assert_true(pcard_bjob_rank(i) >= 0);
	}
	assert_null(pcard_bjob_type_name(0));
	assert_int_equal(pcard_bjob_type_from_name("format-c", &t), PCARD_E_NOT_FOUND);
	assert_int_equal(pcard_bjob_rank(99), -1);
	assert_true(pcard_bjob_rank(PCARD_BJOB_TERMINATE) > pcard_bjob_rank(PCARD_BJOB_ROTATE_KEYS));
	assert_true(pcard_bjob_rank(PCARD_BJOB_ROTATE_KEYS) > pcard_bjob_rank(PCARD_BJOB_INSTALL));
	assert_string_equal(pcard_bjob_state_name(PCARD_BJOB_DONE), "done");
	assert_int_equal(pcard_bundle_iu_kvn(iu, sizeof iu, &kvn), PCARD_OK);
	assert_int_equal(kvn, 0x30);
	assert_int_equal(pcard_bundle_iu_kvn(iu + 12, 2, &kvn), PCARD_E_TRUNCATED);
	assert_int_equal(pcard_bundle_iu_kvn(iu, 1, &kvn), PCARD_E_TRUNCATED);
	{
		static const uint8_t refused[] = { 0x69, 0x85 };

		assert_int_equal(pcard_bundle_iu_kvn(refused, 2, &kvn), PCARD_E_CARD_STATUS);
	}
}


static pcard_err
parse_str(const char *js, pcard_bmsg *m, char *err)
{
	return pcard_bmsg_parse(js, strlen(js), m, err, 128);
}

static void
test_json(void **state)
{
	static pcard_bmsg_step steps[4];
	static pcard_bmsg_rsp rsps[4];
	static pcard_bmsg_job jobs[4];
	static char out[8192];
	pcard_bmsg m, m2;
	char err[128];
	size_t n;
	static const struct {
		const char *js;
		pcard_err want;
		const char *field;
	} bad[] = {
		{ "[1,2", PCARD_E_BAD_ENCODING, "not JSON" },
		{ "[1]", PCARD_E_BAD_ENCODING, "not a JSON object" },
		{ "{\"v\":2,\"type\":\"hello\"}", PCARD_E_UNSUPPORTED, "v:" },
		{ "{\"v\":\"1\"}", PCARD_E_BAD_ENCODING, "v:" },
		{ "{\"v\":1,\"type\":\"hi\"}", PCARD_E_BAD_ENCODING, "type:" },
		{ "{\"v\":1,\"type\":\"hello\",\"session\":\"\",\"step\":0,\"x\":1}",
		  PCARD_E_BAD_ENCODING, "x: unknown" },
		{ "{\"v\":1,\"type\":\"hello\",\"session\":\"s\",\"step\":0,\"card\":{}}",
		  PCARD_E_BAD_ENCODING, "session:" },
		{ "{\"v\":1,\"type\":\"hello\",\"session\":\"\",\"step\":1,\"card\":{}}",
		  PCARD_E_BAD_ENCODING, "step:" },
		{ "{\"v\":1,\"type\":\"hello\",\"session\":\"\",\"step\":0,\"card\":{}}",
		  PCARD_E_BAD_ENCODING, "card.atr" },
		{ "{\"v\":1,\"type\":\"hello\",\"session\":\"\",\"step\":0,\"card\":{\"atr\":\"3B 00\"}}",
		  PCARD_E_BAD_ENCODING, "card.atr" },
		{ "{\"v\":1,\"type\":\"hello\",\"session\":\"\",\"step\":0,\"card\":{\"atr\":\"3B00\","
		  "\"pin\":\"00\"}}", PCARD_E_BAD_ENCODING, "card.pin" },
		{ "{\"v\":1,\"type\":\"hello\",\"session\":\"\",\"step\":0,\"card\":{\"atr\":\"3B00\","
		  "\"atr\":\"3B00\"}}", PCARD_E_BAD_ENCODING, "not JSON" },
		{ "{\"v\":1,\"type\":\"bundle\",\"session\":\"a/b\",\"step\":1,\"steps\":[]}",
		  PCARD_E_BAD_ENCODING, "session:" },
		{ "{\"v\":1,\"type\":\"bundle\",\"session\":\"s\",\"step\":1,\"steps\":[]}",
		  PCARD_E_BAD_ENCODING, "steps:" },
		{ "{\"v\":1,\"type\":\"bundle\",\"session\":\"s\",\"step\":1,\"steps\":[{\"apdu\":"
		  "\"80CA\",\"expect\":[\"9000\"]}]}", PCARD_E_BAD_ENCODING, "steps[0].apdu" },
		{ "{\"v\":1,\"type\":\"bundle\",\"session\":\"s\",\"step\":1,\"steps\":[{\"apdu\":"
		  "\"80CA00E000\",\"expect\":[\"900\"]}]}", PCARD_E_BAD_ENCODING,
		  "steps[0].expect[0]" },
		{ "{\"v\":1,\"type\":\"bundle\",\"session\":\"s\",\"step\":1,\"steps\":[{\"apdu\":"
		  "\"80CA00E000\",\"expect\":[\"9000\",\"9000\",\"9000\",\"9000\",\"9000\"]}]}",
		  PCARD_E_BAD_ENCODING, "steps[0].expect" },
		{ "{\"v\":1,\"type\":\"bundle\",\"session\":\"s\",\"step\":1,\"steps\":[1,2,3,4,5]}",
		  PCARD_E_NOSPACE, "steps: more" },
		{ "{\"v\":1,\"type\":\"responses\",\"session\":\"s\",\"step\":1,\"responses\":"
		  "[\"90\"],\"stop\":\"complete\"}", PCARD_E_BAD_ENCODING, "responses[0]" },
		{ "{\"v\":1,\"type\":\"responses\",\"session\":\"s\",\"step\":1,\"responses\":[],"
		  "\"stop\":\"tired\"}", PCARD_E_BAD_ENCODING, "stop:" },
		{ "{\"v\":1,\"type\":\"result\",\"session\":\"s\",\"step\":3,\"jobs\":[{\"id\":-1,"
		  "\"state\":\"done\"}]}", PCARD_E_BAD_ENCODING, "jobs[0].id" },
		{ "{\"v\":1,\"type\":\"result\",\"session\":\"s\",\"step\":3,\"jobs\":[{\"id\":1,"
		  "\"state\":\"maybe\"}]}", PCARD_E_BAD_ENCODING, "jobs[0].state" },
		{ "{\"v\":1,\"type\":\"error\",\"session\":\"s\",\"step\":3,\"error\":{\"code\":\"\","
		  "\"message\":\"m\"}}", PCARD_E_BAD_ENCODING, "error.code" },
		{ "{\"v\":1,\"type\":\"error\",\"session\":\"s\",\"step\":3,\"error\":{\"code\":\"X\","
		  "\"message\":\"a\\nb\"}}", PCARD_E_BAD_ENCODING, "error.message" },
	};
	(void)state;

	pcard_bmsg_init(&m, steps, 4, rsps, 4, jobs, 4);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = '\0';
		assert_int_equal(parse_str(bad[i].js, &m, err), bad[i].want);
		if (strstr(err, bad[i].field) == NULL)
			fail_msg("case %zu: \"%s\" does not name %s", i, err, bad[i].field);
		assert_int_equal(m.nsteps + m.nrsps + m.njobs, 0);
	}
	assert_int_equal(pcard_bmsg_parse("{}", PCARD_BMSG_MAX_BYTES + 1, &m, err, sizeof err),
	    PCARD_E_BAD_ENCODING);
	/* good messages round-trip */
	assert_int_equal(parse_str("{\"v\":1,\"type\":\"bundle\",\"session\":\"s-1\",\"step\":1,"
	    "\"steps\":[{\"apdu\":\"00A4040008A00000015100000000\",\"expect\":[\"9000\",\"6283\"]},"
	    "{\"apdu\":\"80CA00E000\",\"expect\":[\"9000\"]}]}", &m, err), PCARD_OK);
	assert_int_equal(m.type, PCARD_BMSG_BUNDLE);
	assert_int_equal(m.nsteps, 2);
	assert_int_equal(m.steps[0].expect[1], 0x6283);
	assert_int_equal(m.steps[1].apdu_len, 5);
	assert_int_equal(pcard_bmsg_encode(&m, out, sizeof out, &n), PCARD_OK);
	assert_string_equal(out, "{\"v\":1,\"type\":\"bundle\",\"session\":\"s-1\",\"step\":1,"
	    "\"steps\":[{\"apdu\":\"00A4040008A00000015100000000\",\"expect\":[\"9000\",\"6283\"]},"
	    "{\"apdu\":\"80CA00E000\",\"expect\":[\"9000\"]}]}");
	assert_int_equal(pcard_bmsg_encode(&m, out, 10, &n), PCARD_E_NOSPACE);
	assert_int_equal(parse_str("{\"v\":1,\"type\":\"hello\",\"session\":\"\",\"step\":0,"
	    "\"agent\":\"a1\",\"relay\":true,\"card\":{\"atr\":\"3B00\",\"kdd\":\"0102\"}}", &m, err),
	    PCARD_OK);
	assert_int_equal(m.relay, 1);
	assert_int_equal(m.kdd.len, 2);
	assert_false(m.cplc.present);
	assert_int_equal(parse_str("{\"v\":1,\"type\":\"responses\",\"session\":\"s\",\"step\":2,"
	    "\"responses\":[\"9000\",\"6A80\"],\"stop\":\"unexpected_sw\"}", &m, err), PCARD_OK);
	assert_int_equal(m.nrsps, 2);
	assert_int_equal(m.stop, PCARD_BMSG_STOP_UNEXPECTED_SW);
	assert_int_equal(pcard_bmsg_encode(&m, out, sizeof out, &n), PCARD_OK);
	pcard_bmsg_init(&m2, steps, 4, rsps, 4, jobs, 4);
	assert_int_equal(pcard_bmsg_parse(out, n, &m2, err, sizeof err), PCARD_OK);
	assert_int_equal(m2.nrsps, 2);
	m.type = 99;
	assert_int_equal(pcard_bmsg_encode(&m, out, sizeof out, &n), PCARD_E_INVALID_ARG);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scp03),
		cmocka_unit_test(test_install_order),
		cmocka_unit_test(test_scp02),
		cmocka_unit_test(test_import_errors),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
