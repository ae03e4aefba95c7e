/*
 * test_card_security.c: the security refusals of docs/card-behaviour.md ("Security
 * refusals"), each against a card backed by a card file: the answer must be the documented
 * status word and the card file, read directly (pcard_cardfile_load), must hold the same
 * state as before the attack apart from counters (sequence, failures, blocked). The doc's
 * table is parsed and compared with the C table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "card_fixture.h"
#include "cardfile.h"

static char tmpdir[256];

static int
setup_dir(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof tmpdir, "/dev/shm/pcard-sec-XXXXXX");
	if (access("/dev/shm", W_OK) != 0 || mkdtemp(tmpdir) == NULL) {
		snprintf(tmpdir, sizeof tmpdir, "/tmp/pcard-sec-XXXXXX");
		if (mkdtemp(tmpdir) == NULL)
			return -1;
	}
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

/* What an attack needs from the card. */
typedef struct sec_env {
	ch_host h;
	pcard_card *c;
	pcard_keys *k1, *k2;
	pcard_dapkey good, wrong;
} sec_env;

typedef struct sec_case {
	const char *attack;		/* as in the doc's table */
	uint16_t sw;
	uint8_t ssd_priv[3];
	void (*config)(pcard_cardstate *cs);
	uint16_t (*run)(sec_env *e);	/* prep then the attack; returns the attack's SW */
} sec_case;

static uint16_t
open_on(ch_host *h, const char *sd, uint8_t level)
{
	uint16_t sw;

	if ((sw = fx_select(h, sd)) != 0x9000 && sw != 0x6283)
		return sw;
	sw = ch_open(h, 0, level, 0);
	h->open = sw == 0x9000;
	return sw;
}

static const uint8_t gs[] = { 0x80, 0xF2, 0x40, 0x02, 0x02, 0x4F, 0x00, 0x00 };

static uint16_t
a_wrong_mac(sec_env *e)
{
	uint8_t w[64];
	size_t n;

	assert_int_equal(open_on(&e->h, FX_ISD, 0x01), 0x9000);
	assert_int_equal(pcard_scp_wrap_cmd(&e->h.scp, gs, sizeof gs, w, sizeof w, &n), PCARD_OK);
	w[n - 2] ^= 0x01;
	return ch_raw(&e->h, w, n);
}

static uint16_t
a_replay(sec_env *e)
{
	uint8_t w[64];
	size_t n;

	assert_int_equal(open_on(&e->h, FX_ISD, 0x03), 0x9000);
	assert_int_equal(pcard_scp_wrap_cmd(&e->h.scp, gs, sizeof gs, w, sizeof w, &n), PCARD_OK);
	assert_int_equal(ch_raw(&e->h, w, n), 0x9000);
	return ch_raw(&e->h, w, n);
}

static uint16_t
a_reorder(sec_env *e)
{
	uint8_t w1[64], w2[64];
	size_t n1, n2;

	assert_int_equal(open_on(&e->h, FX_ISD, 0x03), 0x9000);
	assert_int_equal(pcard_scp_wrap_cmd(&e->h.scp, gs, sizeof gs, w1, sizeof w1, &n1),
	    PCARD_OK);
	assert_int_equal(pcard_scp_wrap_cmd(&e->h.scp, gs, sizeof gs, w2, sizeof w2, &n2),
	    PCARD_OK);
	return ch_raw(&e->h, w2, n2);
}

static uint16_t
a_below_level(sec_env *e)
{
	assert_int_equal(open_on(&e->h, FX_ISD, 0x01), 0x9000);
	/* DELETE sent plain in a C-MAC session */
	return ch_hex(&e->h, "80E400000A4F08" FX_APP "00");
}

static uint16_t
a_ssd_other(sec_env *e)
{
	assert_int_equal(open_on(&e->h, FX_SSD, 0x03), 0x9000);
	return fx_send_hex(&e->h, "80E400000A4F08" FX_APP "00");
}

static void
cfg_dm(pcard_cardstate *cs)
{
	assert_int_equal(fx_add_aes_keyset(&cs->isd, 0x70, 0x33), 0);
	cs->isd.sd_info.token.kvn = 0x70;
	cs->isd.sd_info.token.id = 1;
}

static uint16_t
a_token_wrong_key(sec_env *e)
{
	uint8_t d[64], cmd[128];
	size_t n, nt;

	assert_int_equal(open_on(&e->h, FX_SSD, 0x03), 0x9000);
	assert_int_equal(pcard_hex_decode("06" FX_ELF "07" FX_MOD2 "08" FX_NEW "0100" "02C900",
	    d, sizeof d, &n), PCARD_OK);
	assert_int_equal(pcard_token_append(&e->wrong, PCARD_INS_INSTALL, 0x0C, 0, d, n, cmd + 5,
	    sizeof cmd - 6, &nt), PCARD_OK);
	memcpy(cmd, "\x80\xE6\x0C\x00", 4);
	cmd[4] = (uint8_t)nt;
	cmd[5 + nt] = 0;
	return fx_send(&e->h, cmd, 6 + nt);
}

static void
cfg_dap(pcard_cardstate *cs)
{
	pcard_aid s = fx_aid(FX_SSD);
	pcard_card_app *a = pcard_cardstate_app_find(cs, &s);

	assert_int_equal(fx_add_aes_keyset(a, 0x72, 0x55), 0);
	a->sd_info.dap.kvn = 0x72;
	a->sd_info.dap.id = 1;
}

static uint16_t
a_dap_mismatch(sec_env *e)
{
	pcard_aid ssd = fx_aid(FX_SSD);
	fx_load_opts o;

	assert_int_equal(open_on(&e->h, FX_ISD, 0x03), 0x9000);
	memset(&o, 0, sizeof o);
	o.sd = &ssd;
	o.hash = 1;
	o.dap = &e->good;
	o.dap_sd = &ssd;
	o.corrupt_dap = 1;
	return fx_load_cap_ex(&e->h, "cap/gppro-empty-2.2.1.cap", &o, NULL);
}

static uint16_t
a_no_such_kvn(sec_env *e)
{
	(void)fx_select(&e->h, FX_ISD);
	return ch_hex(&e->h, "8050420008010203040506070800");
}

static void
cfg_no_rmac(pcard_cardstate *cs)
{
	cs->isd.sd_info.i = 0x00;
}

static uint16_t
a_rmac_level(sec_env *e)
{
	pcard_scp_host_params hp;
	uint8_t cmd[64];
	size_t nc;

	memset(&hp, 0, sizeof hp);
	assert_int_equal(pcard_scp_host_init_update(&e->h.scp, e->h.keys, &e->h.ks, &hp, cmd,
	    sizeof cmd, &nc), PCARD_OK);
	assert_int_equal(ch_raw(&e->h, cmd, nc), 0x9000);
	assert_int_equal(pcard_scp_host_auth(&e->h.scp, e->h.rsp, e->h.rlen), PCARD_OK);
	if (pcard_scp_host_ext_auth(&e->h.scp, 0x13, cmd, sizeof cmd, &nc) != PCARD_OK) {
		/* the host side refuses the level itself: make one for 03 and ask for 13 */
		assert_int_equal(pcard_scp_host_ext_auth(&e->h.scp, 0x03, cmd, sizeof cmd, &nc),
		    PCARD_OK);
		cmd[2] = 0x13;
	}
	return ch_raw(&e->h, cmd, nc);
}

static void
cfg_locked(pcard_cardstate *cs)
{
	cs->life_cycle = PCARD_CARD_LOCKED;
}

static uint16_t
a_locked_card(sec_env *e)
{
	assert_int_equal(open_on(&e->h, FX_ISD, 0x03), 0x9000);
	return fx_send_hex(&e->h, "80E40000084F06" FX_ELF "00");
}

static uint16_t
a_n_plus_one(sec_env *e)
{
	const pcard_cardstate *cs = pcard_card_state(e->c);
	uint16_t sw;

	for (unsigned i = 0; i < cs->auth_limit; i++) {
		pcard_scp_host_params hp;
		uint8_t cmd[64];
		size_t nc;

		memset(&hp, 0, sizeof hp);
		pcard_scp_clear(&e->h.scp);
		pcard_scp_init(&e->h.scp);
		assert_int_equal(pcard_scp_host_init_update(&e->h.scp, e->h.keys, &e->h.ks, &hp, cmd,
		    sizeof cmd, &nc), PCARD_OK);
		assert_int_equal(ch_raw(&e->h, cmd, nc), 0x9000);
		assert_int_equal(pcard_scp_host_auth(&e->h.scp, e->h.rsp, e->h.rlen), PCARD_OK);
		assert_int_equal(pcard_scp_host_ext_auth(&e->h.scp, 0x01, cmd, sizeof cmd, &nc),
		    PCARD_OK);
		cmd[5] ^= 0x01;
		assert_int_equal(ch_raw(&e->h, cmd, nc), 0x6300);
	}
	sw = ch_open(&e->h, 0, 0x01, 0);
	assert_int_equal(cs->isd.sd_info.keysets[0].blocked, 1);
	return sw;
}

static const sec_case cases[] = {
	{ "wrong MAC", 0x6982, { 0 }, NULL, a_wrong_mac },
	{ "replayed command", 0x6982, { 0 }, NULL, a_replay },
	{ "reordered command", 0x6982, { 0 }, NULL, a_reorder },
	{ "command below its security level", 0x6982, { 0 }, NULL, a_below_level },
	{ "SSD touching another SD's application", 0x6982, { 0, PCARD_PRIV2_AM, 0 }, NULL,
	    a_ssd_other },
	{ "token signed with the wrong key", 0x6982, { PCARD_PRIV1_DM, 0, 0 }, cfg_dm,
	    a_token_wrong_key },
	{ "DAP mismatch", 0x6982, { PCARD_PRIV1_DAP, 0, 0 }, cfg_dap, a_dap_mismatch },
	{ "key version that does not exist", 0x6A88, { 0 }, NULL, a_no_such_kvn },
	{ "R-MAC level on an i without R-MAC", 0x6982, { 0 }, cfg_no_rmac, a_rmac_level },
	{ "locked card (DELETE)", 0x6985, { 0 }, cfg_locked, a_locked_card },
	{ "N+1 failed authentications", 0x6983, { 0 }, NULL, a_n_plus_one },
};
#define NCASES (sizeof cases / sizeof cases[0])

static void
test_attacks(void **state)
{
	char path[300];

	(void)state;
	snprintf(path, sizeof path, "%s/card", tmpdir);
	for (size_t i = 0; i < NCASES; i++) {
		pcard_cardstate cs, before, now;
		sec_env e;
		uint8_t atr[40];
		size_t n;
		uint16_t sw;
		char why[128] = "";

		memset(&e, 0, sizeof e);
		unlink(path);
		pcard_cardstate_init(&cs);
		pcard_cardstate_init(&before);
		pcard_cardstate_init(&now);
		assert_int_equal(fx_state(&cs, 3, PCARD_CARD_SECURED, cases[i].ssd_priv), 0);
		if (cases[i].config != NULL)
			cases[i].config(&cs);
		assert_int_equal(pcard_card_open_state(&cs, path, NULL, &e.c), PCARD_OK);
		assert_int_equal(pcard_card_power_on(e.c, atr, sizeof atr, &n), PCARD_OK);
		assert_int_equal(fx_host(&e.h, e.c, 3), 0);
		assert_int_equal(fx_cmac_key(&e.k1, &e.good, 0x55), 0);
		assert_int_equal(fx_cmac_key(&e.k2, &e.wrong, 0x34), 0);
		assert_int_equal(pcard_cardfile_load(path, &before), PCARD_OK);
		sw = cases[i].run(&e);
		assert_int_equal(pcard_cardfile_load(path, &now), PCARD_OK);
		if (sw != cases[i].sw)
			fail_msg("%s: %04X, the table says %04X", cases[i].attack, sw, cases[i].sw);
		if (!fx_eq_but_counters(&before, &now, why, sizeof why))
			fail_msg("%s: the card file changed (%s)", cases[i].attack, why);
		/* the card file agrees with the card (everything was committed) */
		assert_true(pcard_cardstate_eq(&now, pcard_card_state(e.c), NULL, 0));
		printf("security: %-40s %04X, card file unchanged apart from counters\n",
		    cases[i].attack, sw);
		ch_clear(&e.h);
		pcard_card_free(e.c);
		pcard_keys_free(e.k1);
		pcard_keys_free(e.k2);
		pcard_cardstate_clear(&cs);
		pcard_cardstate_clear(&before);
		pcard_cardstate_clear(&now);
	}
}

/* "| attack | SW |" rows of the doc's "Security refusals" table, in the C table's order. */
static void
test_doc_table(void **state)
{
	const char *src = getenv("PCARD_SOURCE_DIR");
	char p[4096], line[512];
	FILE *f;
	int in = 0;
	size_t row = 0;

	(void)state;
	assert_non_null(src);
	snprintf(p, sizeof p, "%s/docs/card-behaviour.md", src);
	assert_non_null(f = fopen(p, "r"));
	while (fgets(line, sizeof line, f) != NULL) {
		char attack[200];
		unsigned sw;

		if (strncmp(line, "## ", 3) == 0) {
			in = strncmp(line, "## Security refusals", 20) == 0;
			continue;
		}
		if (!in || sscanf(line, "| %199[^|]| %4X |", attack, &sw) != 2)
			continue;
		for (size_t k = strlen(attack); k > 0 && attack[k - 1] == ' '; k--)
			attack[k - 1] = '\0';
		assert_true(row < NCASES);
		assert_string_equal(attack, cases[row].attack);
		assert_int_equal(sw, cases[row].sw);
		row++;
	}
	fclose(f);
	assert_int_equal(row, NCASES);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_doc_table),
		cmocka_unit_test(test_attacks),
	};

	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
