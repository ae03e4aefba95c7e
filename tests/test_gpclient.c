/*
 * test_gpclient.c: the GlobalPlatform client against the simulated card in process
 * (tests/util/simcard.c) for the operations its card manager implements, and against a
 * scripted fake card for the error paths: a wrong card cryptogram never leads to EXTERNAL
 * AUTHENTICATE (the command log is checked), the offline template guess finds the card's
 * diversification, GET STATUS falls back to the legacy format and follows 6310, and refusals
 * keep the SW and INS for pcard_sw_explain.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "postcard/apdu.h"
#include "postcard/bytes.h"
#include "postcard/crypto.h"
#include "postcard/gpclient.h"
#include "postcard/keydiv.h"
#include "postcard/keys.h"
#include "postcard/scp.h"
#include "postcard/sw.h"
#include "postcard/transport.h"
#include "card.h"
#include "postcard/cap.h"
#include "postcard/capbuild.h"
#include "natives.h"
#include "simcard.h"

static const uint8_t TEST_KEY[16] = {
	0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47,
	0x48, 0x49, 0x4A, 0x4B, 0x4C, 0x4D, 0x4E, 0x4F,
};
static const uint8_t ISD[8] = { 0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00 };

/* ---- helpers ---- */

typedef struct host {
	pcard_keys *keys;
	pcard_keyh master;
	pcard_gpc g;
	pcard_gpc_auth a;
	pcard_gpc_auth_result res;
} host;

static void
host_new(host *h, pcard_transport *t, pcard_keytype type, const uint8_t *key, size_t len)
{
	memset(h, 0, sizeof *h);
	assert_int_equal(pcard_keys_mem_new(32, &h->keys), PCARD_OK);
	assert_int_equal(pcard_keys_mem_import(h->keys, "m", type, key, len, &h->master),
	    PCARD_OK);
	pcard_gpc_init(&h->g, t);
	h->a.keys = h->keys;
	h->a.master[0] = h->a.master[1] = h->a.master[2] = h->master;
	h->a.kdf = "none";
	h->a.level = -1;
}

static void
host_free(host *h)
{
	pcard_gpc_clear(&h->g);
	pcard_keys_free(h->keys);
}

/* ---- against the simulated card ---- */

static void
sim_open(simcard **sc, host *h, uint8_t scp)
{
	simcard_opts o = { .scp = scp };

	assert_int_equal(simcard_new(&o, sc), PCARD_OK);
	host_new(h, simcard_transport(*sc), scp == 2 ? PCARD_KEY_DES3 : PCARD_KEY_AES, TEST_KEY,
	    sizeof TEST_KEY);
}

static void
test_sim_select_discovers_isd(void **state)
{
	pcard_gpc_select_result r;
	simcard *sc = NULL;
	host h;

	(void)state;
	sim_open(&sc, &h, 3);
	assert_int_equal(pcard_gpc_select(&h.g, NULL, &r), PCARD_OK);
	assert_int_equal(r.aid.len, sizeof ISD);
	assert_memory_equal(r.aid.b, ISD, sizeof ISD);
	assert_int_equal(r.card_locked, 0);
	assert_true(r.has_fci);
	assert_int_equal(pcard_gpc_last_ins(&h.g), PCARD_INS_SELECT);
	assert_int_equal(pcard_gpc_last_sw(&h.g), 0x9000);
	host_free(&h);
	simcard_free(sc);
}

static void
test_sim_select_unknown_aid(void **state)
{
	pcard_gp_aid aid;
	simcard *sc = NULL;
	host h;

	(void)state;
	sim_open(&sc, &h, 3);
	assert_int_equal(pcard_gp_aid_from_hex(&aid, "D000000000000001"), PCARD_OK);
	assert_int_equal(pcard_gpc_select(&h.g, &aid, NULL), PCARD_E_CARD_STATUS);
	assert_int_equal(pcard_gpc_last_sw(&h.g), 0x6A82);
	/* nothing selected: no channel can be opened */
	assert_int_equal(pcard_gpc_open(&h.g, &h.a, &h.res), PCARD_E_STATE);
	host_free(&h);
	simcard_free(sc);
}

static void
test_sim_info(void **state)
{
	pcard_gpc_info info;
	simcard *sc = NULL;
	host h;
	int has_ff = 0;

	(void)state;
	sim_open(&sc, &h, 3);
	assert_int_equal(pcard_gpc_select(&h.g, NULL, NULL), PCARD_OK);
	assert_int_equal(pcard_gpc_info_read(&h.g, &info), PCARD_OK);
	assert_true(info.has_cplc);
	assert_true(info.iin_len > 0);
	assert_true(info.cin_len > 0);
	assert_int_equal(info.kdd_len, 10);
	assert_true(info.has_crd);
	assert_true(info.crd.is_gp);
	assert_true(info.crd.has_scp);
	assert_int_equal(info.crd.scp, 3);
	assert_int_equal(info.crd.scp_i, 0x70);
	assert_true(info.n_keys >= 3);
	for (size_t k = 0; k < info.n_keys && k < PCARD_GPC_MAX_KEYINFO; k++)
		has_ff |= info.keys[k].kvn == 0xFF;
	assert_true(has_ff);
	host_free(&h);
	simcard_free(sc);
}

static void
test_sim_open_scp03(void **state)
{
	simcard *sc = NULL;
	host h;

	(void)state;
	sim_open(&sc, &h, 3);
	assert_int_equal(pcard_gpc_select(&h.g, NULL, NULL), PCARD_OK);
	assert_int_equal(pcard_gpc_open(&h.g, &h.a, &h.res), PCARD_OK);
	assert_int_equal(h.res.scp, 3);
	assert_int_equal(h.res.i, 0x70);
	assert_int_equal(h.res.kvn, 0xFF);
	assert_int_equal(h.res.level, 0x03);
	assert_int_equal(h.res.ext_auth_sent, 1);
	assert_non_null(pcard_gpc_session(&h.g));
	assert_string_equal(h.res.kdf_used, "none");
	/* a secured GET DATA works inside the channel */
	{
		pcard_gpc_info info;

		assert_int_equal(pcard_gpc_info_read(&h.g, &info), PCARD_OK);
		assert_int_equal(info.kdd_len, 10);
	}
	host_free(&h);
	simcard_free(sc);
}

static void
test_sim_open_scp02_i_from_crd(void **state)
{
	simcard *sc = NULL;
	host h;

	(void)state;
	sim_open(&sc, &h, 2);
	assert_int_equal(pcard_gpc_select(&h.g, NULL, NULL), PCARD_OK);
	{
		uint8_t scp = 0, i = 0;

		assert_int_equal(pcard_gpc_card_scp(&h.g, &scp, &i), PCARD_OK);
		assert_int_equal(scp, 2);
		assert_int_equal(i, 0x55);
	}
	assert_int_equal(pcard_gpc_open(&h.g, &h.a, &h.res), PCARD_OK);
	assert_int_equal(h.res.scp, 2);
	assert_int_equal(h.res.i, 0x55);
	assert_int_equal(h.res.level, 0x03);
	host_free(&h);
	simcard_free(sc);
}

static void
test_sim_open_wrong_key(void **state)
{
	static const uint8_t other[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
	simcard *sc = NULL;
	simcard_opts o = { .scp = 3 };
	host h;

	(void)state;
	assert_int_equal(simcard_new(&o, &sc), PCARD_OK);
	host_new(&h, simcard_transport(sc), PCARD_KEY_AES, other, sizeof other);
	assert_int_equal(pcard_gpc_select(&h.g, NULL, NULL), PCARD_OK);
	assert_int_equal(pcard_gpc_open(&h.g, &h.a, &h.res), PCARD_E_AUTH);
	assert_int_equal(h.res.ext_auth_sent, 0);
	assert_string_equal(h.res.kdf_fits, "");
	assert_null(pcard_gpc_session(&h.g));
	assert_int_equal(pcard_gpc_last_ins(&h.g), PCARD_INS_INITIALIZE_UPDATE);
	/* the right key still works afterwards: the card counted nothing */
	host_free(&h);
	host_new(&h, simcard_transport(sc), PCARD_KEY_AES, TEST_KEY, sizeof TEST_KEY);
	assert_int_equal(pcard_gpc_select(&h.g, NULL, NULL), PCARD_OK);
	assert_int_equal(pcard_gpc_open(&h.g, &h.a, &h.res), PCARD_OK);
	host_free(&h);
	simcard_free(sc);
}

static void
test_sim_open_wrong_kvn(void **state)
{
	simcard *sc = NULL;
	host h;

	(void)state;
	sim_open(&sc, &h, 3);
	assert_int_equal(pcard_gpc_select(&h.g, NULL, NULL), PCARD_OK);
	h.a.kvn = 0x30;
	assert_int_equal(pcard_gpc_open(&h.g, &h.a, &h.res), PCARD_E_CARD_STATUS);
	assert_int_equal(pcard_gpc_last_sw(&h.g), 0x6A88);
	assert_int_equal(pcard_gpc_last_ins(&h.g), PCARD_INS_INITIALIZE_UPDATE);
	host_free(&h);
	simcard_free(sc);
}

static void
test_sim_open_bad_level(void **state)
{
	simcard *sc = NULL;
	host h;

	(void)state;
	sim_open(&sc, &h, 2);
	assert_int_equal(pcard_gpc_select(&h.g, NULL, NULL), PCARD_OK);
	h.a.level = 0x33;	/* R-ENC does not exist in SCP02 */
	assert_int_equal(pcard_gpc_open(&h.g, &h.a, &h.res), PCARD_E_SECURITY_LEVEL);
	assert_int_equal(h.res.ext_auth_sent, 0);
	h.a.kdf = "no such template";
	assert_int_equal(pcard_gpc_open(&h.g, &h.a, &h.res), PCARD_E_BAD_ENCODING);
	host_free(&h);
	simcard_free(sc);
}

static void
test_sim_list(void **state)
{
	pcard_gpc_entry e[64];
	size_t n = 0, isd = 0, elfs = 0;
	simcard *sc = NULL;
	host h;

	(void)state;
	sim_open(&sc, &h, 3);
	assert_int_equal(pcard_gpc_select(&h.g, NULL, NULL), PCARD_OK);
	assert_int_equal(pcard_gpc_open(&h.g, &h.a, &h.res), PCARD_OK);
	assert_int_equal(pcard_gpc_list(&h.g, e, 64, &n), PCARD_OK);
	for (size_t k = 0; k < n; k++) {
		if (e[k].kind == PCARD_GS_ISD) {
			isd++;
			assert_memory_equal(e[k].e.aid.b, ISD, sizeof ISD);
			assert_int_equal(e[k].e.lifecycle, PCARD_LC_SECURED);
		}
		elfs += e[k].kind == PCARD_GS_ELFS_MODULES || e[k].kind == PCARD_GS_ELFS;
	}
	assert_int_equal(isd, 1);
	assert_true(elfs > 0);	/* the ROM packages */
	/* too small an array: NOSPACE with the count needed */
	{
		size_t need = 0;

		assert_int_equal(pcard_gpc_list(&h.g, e, 1, &need), PCARD_E_NOSPACE);
		assert_int_equal(need, n);
	}
	host_free(&h);
	simcard_free(sc);
}

static void
test_sim_card_lock_unlock(void **state)
{
	pcard_gpc_select_result r;
	pcard_gpc_entry e[64];
	size_t n = 0;
	simcard *sc = NULL;
	host h;

	(void)state;
	sim_open(&sc, &h, 3);
	assert_int_equal(pcard_gpc_select(&h.g, NULL, NULL), PCARD_OK);
	assert_int_equal(pcard_gpc_open(&h.g, &h.a, &h.res), PCARD_OK);
	assert_int_equal(pcard_gpc_card_state(&h.g, PCARD_LC_CARD_LOCKED), PCARD_OK);
	/* a locked card answers 6283 to SELECT: reported, not fatal */
	assert_int_equal(pcard_gpc_select(&h.g, NULL, &r), PCARD_OK);
	assert_int_equal(r.card_locked, 1);
	assert_int_equal(pcard_gpc_open(&h.g, &h.a, &h.res), PCARD_OK);
	assert_int_equal(pcard_gpc_card_state(&h.g, PCARD_LC_SECURED), PCARD_OK);
	assert_int_equal(pcard_gpc_list(&h.g, e, 64, &n), PCARD_OK);
	assert_int_equal(e[0].kind, PCARD_GS_ISD);
	assert_int_equal(e[0].e.lifecycle, PCARD_LC_SECURED);
	/* OP_READY cannot be asked for; INITIALIZED from SECURED is refused by the card */
	assert_int_equal(pcard_gpc_card_state(&h.g, PCARD_LC_OP_READY), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_gpc_card_state(&h.g, PCARD_LC_INITIALIZED), PCARD_E_CARD_STATUS);
	assert_int_equal(pcard_gpc_last_sw(&h.g), 0x6985);
	assert_int_equal(pcard_gpc_last_ins(&h.g), PCARD_INS_SET_STATUS);
	host_free(&h);
	simcard_free(sc);
}

static void
test_sim_app_lock_refusals(void **state)
{
	pcard_gp_aid isd, none;
	simcard *sc = NULL;
	host h;

	(void)state;
	sim_open(&sc, &h, 3);
	assert_int_equal(pcard_gpc_select(&h.g, NULL, NULL), PCARD_OK);
	assert_int_equal(pcard_gpc_open(&h.g, &h.a, &h.res), PCARD_OK);
	assert_int_equal(pcard_gp_aid_set(&isd, ISD, sizeof ISD), PCARD_OK);
	assert_int_equal(pcard_gpc_app_lock(&h.g, &isd, 1), PCARD_E_CARD_STATUS);
	assert_int_equal(pcard_gpc_last_sw(&h.g), 0x6985);
	assert_int_equal(pcard_gp_aid_from_hex(&none, "D0D1D2D3D4D5"), PCARD_OK);
	assert_int_equal(pcard_gpc_app_lock(&h.g, &none, 1), PCARD_E_CARD_STATUS);
	assert_int_equal(pcard_gpc_last_sw(&h.g), 0x6A88);
	host_free(&h);
	simcard_free(sc);
}

static void
test_sim_terminate(void **state)
{
	pcard_gpc_info info;
	simcard *sc = NULL;
	host h;

	(void)state;
	sim_open(&sc, &h, 3);
	assert_int_equal(pcard_gpc_select(&h.g, NULL, NULL), PCARD_OK);
	assert_int_equal(pcard_gpc_open(&h.g, &h.a, &h.res), PCARD_OK);
	assert_int_equal(pcard_gpc_card_state(&h.g, PCARD_LC_TERMINATED), PCARD_OK);
	/* a terminated card still answers GET DATA, and refuses a new channel */
	assert_int_equal(pcard_gpc_select(&h.g, NULL, NULL), PCARD_OK);
	assert_int_equal(pcard_gpc_info_read(&h.g, &info), PCARD_OK);
	assert_true(info.has_cplc);
	assert_int_equal(pcard_gpc_open(&h.g, &h.a, &h.res), PCARD_E_CARD_STATUS);
	host_free(&h);
	simcard_free(sc);
}

static void
test_sim_raw_and_secure_apdu(void **state)
{
	static const uint8_t gd[] = { 0x80, 0xCA, 0x00, 0xCF, 0x00 };
	uint8_t out[300];
	size_t n = 0;
	simcard *sc = NULL;
	host h;

	(void)state;
	sim_open(&sc, &h, 3);
	assert_int_equal(pcard_gpc_select(&h.g, NULL, NULL), PCARD_OK);
	assert_int_equal(pcard_gpc_apdu(&h.g, 1, gd, sizeof gd, out, sizeof out, &n),
	    PCARD_E_STATE);
	assert_int_equal(pcard_gpc_apdu(&h.g, 0, gd, sizeof gd, out, sizeof out, &n), PCARD_OK);
	assert_int_equal(pcard_gpc_last_sw(&h.g), 0x9000);
	assert_int_equal(pcard_gpc_open(&h.g, &h.a, &h.res), PCARD_OK);
	assert_int_equal(pcard_gpc_apdu(&h.g, 1, gd, sizeof gd, out, sizeof out, &n), PCARD_OK);
	assert_int_equal(pcard_gpc_last_sw(&h.g), 0x9000);
	assert_int_equal(n, 2 + 10 + 2);	/* CF 0A <KDD> 90 00 */
	{
		size_t cmds = 0, bytes = 0;

		pcard_gpc_stats(&h.g, &cmds, &bytes);
		assert_true(cmds >= 5);
		assert_true(bytes > 20);
	}
	host_free(&h);
	simcard_free(sc);
}

static pcard_card_app *
sim_app(simcard *sc, const char *hex)
{
	pcard_aid a;

	assert_int_equal(pcard_aid_from_hex(&a, hex), PCARD_OK);
	return pcard_cardstate_app_find((pcard_cardstate *)pcard_card_state(simcard_card(sc)),
	    &a);
}

static void
progress_count(void *ctx, size_t sent, size_t total)
{
	size_t *calls = ctx;

	assert_true(sent <= total);
	(*calls)++;
}

static void
test_sim_content_and_keys(void **state)
{
	static const uint8_t newkey[16] = { 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
		0x18, 0x19, 0x1A, 0x1B, 0x1C, 0x1D, 0x1E, 0x1F };
	char path[512];
	const char *td = getenv("PCARD_TESTDATA");
	pcard_cap *cap = NULL;
	uint8_t lf[4096];
	size_t lf_len = 0, calls = 0;
	pcard_gp_aid pkg, app, ssd;
	pcard_gpc_load_opts lo;
	pcard_gpc_install_opts io;
	pcard_gpc_ssd_opts so;
	pcard_keyh nk, set[3];
	simcard *sc = NULL;
	host h;

	(void)state;
	assert_non_null(td);
	snprintf(path, sizeof path, "%s/cap/kaoh-helloworld.cap", td);
	assert_int_equal(pcard_cap_open_file(path, &cap), PCARD_OK);
	assert_int_equal(pcard_cap_load_file(cap, 0, lf, sizeof lf, &lf_len), PCARD_OK);
	sim_open(&sc, &h, 3);
	assert_int_equal(pcard_gpc_select(&h.g, NULL, NULL), PCARD_OK);
	assert_int_equal(pcard_gpc_open(&h.g, &h.a, &h.res), PCARD_OK);
	assert_int_equal(pcard_gp_aid_from_hex(&pkg, "D0D1D2D3D4D501"), PCARD_OK);
	assert_int_equal(pcard_gp_aid_from_hex(&app, "D0D1D2D3D4D50101"), PCARD_OK);
	assert_int_equal(pcard_gp_aid_from_hex(&ssd, "D0D1D2D3D4D5AA"), PCARD_OK);
	memset(&lo, 0, sizeof lo);
	lo.elf = &pkg;
	lo.load_file = lf;
	lo.load_file_len = lf_len;
	lo.progress = progress_count;
	lo.progress_ctx = &calls;
	memset(&io, 0, sizeof io);
	io.module = &app;
	assert_int_equal(pcard_gpc_load_install(&h.g, &lo, &io), PCARD_OK);
	assert_int_equal(calls, (lf_len + pcard_scp_max_data(pcard_gpc_session(&h.g)) - 1) /
	    pcard_scp_max_data(pcard_gpc_session(&h.g)));
	assert_non_null(sim_app(sc, "D0D1D2D3D4D50101"));
	assert_int_equal(sim_app(sc, "D0D1D2D3D4D50101")->life_cycle, PCARD_LC_SELECTABLE);
	/* lock, unlock, default selected, SSD, extradition, registry update */
	assert_int_equal(pcard_gpc_app_lock(&h.g, &app, 1), PCARD_OK);
	assert_int_equal(sim_app(sc, "D0D1D2D3D4D50101")->life_cycle, 0x87);
	assert_int_equal(pcard_gpc_app_lock(&h.g, &app, 0), PCARD_OK);
	assert_int_equal(pcard_gpc_make_default(&h.g, &app), PCARD_OK);
	assert_true(sim_app(sc, "D0D1D2D3D4D50101")->default_selected);
	memset(&so, 0, sizeof so);
	so.aid = &ssd;
	assert_int_equal(pcard_gpc_create_ssd(&h.g, &so), PCARD_OK);
	assert_true(sim_app(sc, "D0D1D2D3D4D5AA")->is_sd);
	assert_int_equal(sim_app(sc, "D0D1D2D3D4D5AA")->sd_info.scp, 3);
	assert_int_equal(pcard_gpc_extradite(&h.g, &app, &ssd), PCARD_OK);
	assert_memory_equal(sim_app(sc, "D0D1D2D3D4D50101")->sd.b, ssd.b, ssd.len);
	assert_int_equal(pcard_gpc_registry_update(&h.g, &app, NULL, PCARD_PRIV_CARD_LOCK,
	    PCARD_PRIVS_AUTO, NULL, 0), PCARD_OK);
	assert_int_equal(sim_app(sc, "D0D1D2D3D4D50101")->priv[0], 0x10);
	/* a referenced package is refused, with related objects it goes */
	assert_int_equal(pcard_gpc_delete(&h.g, &pkg, 0, NULL, 0), PCARD_E_CARD_STATUS);
	assert_int_equal(pcard_gpc_last_sw(&h.g), 0x6985);
	assert_int_equal(pcard_gpc_delete(&h.g, &pkg, 1, NULL, 0), PCARD_OK);
	assert_null(sim_app(sc, "D0D1D2D3D4D50101"));
	/* PUT KEY a new set 30 with KCV check, open with it, delete it */
	assert_int_equal(pcard_keys_mem_import(h.keys, NULL, PCARD_KEY_AES, newkey,
	    sizeof newkey, &nk), PCARD_OK);
	set[0] = set[1] = set[2] = nk;
	assert_int_equal(pcard_gpc_put_keyset(&h.g, 0x30, 0, set), PCARD_OK);
	h.a.master[0] = h.a.master[1] = h.a.master[2] = nk;
	h.a.kvn = 0x30;
	assert_int_equal(pcard_gpc_select(&h.g, NULL, NULL), PCARD_OK);
	assert_int_equal(pcard_gpc_open(&h.g, &h.a, &h.res), PCARD_OK);
	assert_int_equal(h.res.kvn, 0x30);
	assert_int_equal(pcard_gpc_delete_key(&h.g, 0xFF, -1), PCARD_OK);
	/* a key set the card does not have: 6A88 */
	assert_int_equal(pcard_gpc_delete_key(&h.g, 0x55, -1), PCARD_E_CARD_STATUS);
	assert_int_equal(pcard_gpc_last_sw(&h.g), 0x6A88);
	host_free(&h);
	pcard_cap_free(cap);
	simcard_free(sc);
}

/* ---- fake card: scripted answers, a real SCP card end, a command log ---- */

typedef struct fake {
	pcard_keys *keys;
	pcard_scp_keyset ks;
	pcard_scp scp;
	uint8_t scp_ver, i;
	uint8_t kdd[10];
	uint32_t seq;
	uint8_t log[64];		/* INS of every command */
	size_t nlog;
	uint16_t sw_for_ins[256];	/* answer this SW to the INS (plain, no channel) */
	int gs_legacy_only;		/* GET STATUS: 6A86 to P2 02 */
	int gs_pages;			/* GET STATUS 40: answer in this many pages (6310) */
} fake;

static void
put_sw(uint8_t *resp, size_t *len, uint16_t sw)
{
	resp[*len] = (uint8_t)(sw >> 8);
	resp[*len + 1] = (uint8_t)sw;
	*len += 2;
}

static const uint8_t FCI[] = {
	0x6F, 0x0C, 0x84, 0x08, 0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00, 0xA5, 0x00,
};

static size_t
gs_legacy(uint8_t p1, int page, uint8_t *out)
{
	/* 40 apps: one entry per page: 06 D0D1D2D3D4 <page> 07 00 */
	if (p1 == 0x40) {
		const uint8_t e[] = { 0x06, 0xD0, 0xD1, 0xD2, 0xD3, 0xD4, (uint8_t)page, 0x07,
			0x00 };

		memcpy(out, e, sizeof e);
		return sizeof e;
	}
	if (p1 == 0x80) {
		const uint8_t e[] = { 0x08, 0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00, 0x0F,
			0x9E };

		memcpy(out, e, sizeof e);
		return sizeof e;
	}
	return 0;
}

static pcard_err
fake_get_status(fake *f, const pcard_apdu *a, uint8_t *resp, size_t *len)
{
	*len = 0;
	if ((a->p2 & 0x02) && f->gs_legacy_only) {
		put_sw(resp, len, 0x6A86);
		return PCARD_OK;
	}
	if (a->p1 == 0x10 || a->p1 == 0x20) {
		put_sw(resp, len, 0x6A88);
		return PCARD_OK;
	}
	{
		static int page;

		if ((a->p2 & 0x01) == 0)
			page = 0;
		*len = gs_legacy(a->p1, page, resp);
		page++;
		put_sw(resp, len, a->p1 == 0x40 && page < f->gs_pages ? 0x6310 : 0x9000);
	}
	return PCARD_OK;
}

static pcard_err
fake_apdu(void *ctx, const uint8_t *cmd, size_t n, uint8_t *resp, size_t cap, size_t *len)
{
	fake *f = ctx;
	uint8_t plain[PCARD_SCP_MAX_CMD];
	size_t plen = 0;
	pcard_apdu a;
	pcard_err err = PCARD_OK;

	(void)cap;
	*len = 0;
	if (n < 4)
		return PCARD_E_INVALID_ARG;
	if (f->nlog < sizeof f->log)
		f->log[f->nlog++] = cmd[1];
	if (f->sw_for_ins[cmd[1]] != 0) {
		put_sw(resp, len, f->sw_for_ins[cmd[1]]);
		return PCARD_OK;
	}
	switch (cmd[1]) {
	case 0xA4:
		memcpy(resp, FCI, sizeof FCI);
		*len = sizeof FCI;
		put_sw(resp, len, 0x9000);
		return PCARD_OK;
	case 0x50: {
		pcard_scp_card_params p = { .scp = f->scp_ver, .i = f->i, .kvn = 0x20,
			.kdd = f->kdd, .seq = f->seq, .aid = ISD, .aid_len = sizeof ISD };
		uint32_t ns = f->seq;

		err = pcard_scp_card_init_update(&f->scp, f->keys, &f->ks, &p, cmd, n, resp, 300,
		    len, &ns);
		f->seq = ns;
		break;
	}
	case 0x82: {
		uint32_t ns = f->seq;

		err = pcard_scp_card_ext_auth(&f->scp, cmd, n, &ns);
		f->seq = ns;
		if (err == PCARD_OK)
			put_sw(resp, len, 0x9000);
		break;
	}
	default:
		if (cmd[0] & 0x04) {
			if ((err = pcard_scp_unwrap_cmd(&f->scp, cmd, n, plain, sizeof plain,
			    &plen)) != PCARD_OK)
				break;
			return pcard_scp_wrap_rsp(&f->scp, NULL, 0, 0x9000, resp, 300, len);
		}
		assert_int_equal(pcard_apdu_parse(cmd, n, &a), PCARD_OK);
		if (cmd[1] == 0xF2)
			return fake_get_status(f, &a, resp, len);
		put_sw(resp, len, 0x6D00);
		return PCARD_OK;
	}
	if (err != PCARD_OK) {
		*len = 0;
		put_sw(resp, len, pcard_scp_card_sw(err));
	}
	return PCARD_OK;
}

/* A fake SCP02 card whose keys were diversified from master with template kdf. */
static void
fake_new(fake *f, const char *kdf, const uint8_t *master, size_t len)
{
	pcard_keyh m, set[3];
	pcard_keyh ms[3];
	pcard_keydiv t;

	memset(f, 0, sizeof *f);
	f->scp_ver = 2;
	f->i = 0x55;
	f->seq = 5;
	for (size_t k = 0; k < 10; k++)
		f->kdd[k] = (uint8_t)(0x11 * (k + 1));
	pcard_scp_init(&f->scp);
	assert_int_equal(pcard_keys_mem_new(32, &f->keys), PCARD_OK);
	assert_int_equal(pcard_keys_mem_import(f->keys, "m", PCARD_KEY_DES3, master, len, &m),
	    PCARD_OK);
	ms[0] = ms[1] = ms[2] = m;
	assert_int_equal(pcard_keydiv_parse(kdf, &t), PCARD_OK);
	assert_int_equal(pcard_keydiv_derive_set(f->keys, ms, &t, f->kdd, set), PCARD_OK);
	f->ks.enc = set[0];
	f->ks.mac = set[1];
	f->ks.dek = set[2];
}

static void
fake_free(fake *f)
{
	pcard_scp_clear(&f->scp);
	pcard_keys_free(f->keys);
}

static int
logged(const fake *f, uint8_t ins)
{
	for (size_t k = 0; k < f->nlog; k++)
		if (f->log[k] == ins)
			return 1;
	return 0;
}

static void
test_fake_wrong_kdf_guesses_emv(void **state)
{
	pcard_transport *t = NULL;
	fake f;
	host h;

	(void)state;
	fake_new(&f, "emv", TEST_KEY, sizeof TEST_KEY);
	assert_int_equal(pcard_inproc_open(fake_apdu, NULL, &f, &t), PCARD_OK);
	host_new(&h, t, PCARD_KEY_DES3, TEST_KEY, sizeof TEST_KEY);
	assert_int_equal(pcard_gpc_select(&h.g, NULL, NULL), PCARD_OK);
	h.a.kdf = "none";
	assert_int_equal(pcard_gpc_open(&h.g, &h.a, &h.res), PCARD_E_AUTH);
	assert_string_equal(h.res.kdf_used, "none");
	assert_string_equal(h.res.kdf_fits, "emv");
	assert_int_equal(h.res.ext_auth_sent, 0);
	assert_true(logged(&f, 0x50));
	assert_false(logged(&f, 0x82));	/* never EXTERNAL AUTHENTICATE with wrong keys */
	/* a wrong template that is asked for: the same */
	f.nlog = 0;
	h.a.kdf = "visa2";
	assert_int_equal(pcard_gpc_open(&h.g, &h.a, &h.res), PCARD_E_AUTH);
	assert_string_equal(h.res.kdf_fits, "emv");
	assert_false(logged(&f, 0x82));
	/* guessing off */
	h.a.no_guess = 1;
	assert_int_equal(pcard_gpc_open(&h.g, &h.a, &h.res), PCARD_E_AUTH);
	assert_string_equal(h.res.kdf_fits, "-");
	assert_false(logged(&f, 0x82));
	/* the right template opens the channel (and only then EXTERNAL AUTHENTICATE goes) */
	h.a.no_guess = 0;
	h.a.kdf = "emv";
	assert_int_equal(pcard_gpc_open(&h.g, &h.a, &h.res), PCARD_OK);
	assert_true(logged(&f, 0x82));
	assert_int_equal(h.res.kvn, 0x20);
	assert_memory_equal(h.res.kdd, f.kdd, 10);
	host_free(&h);
	pcard_transport_close(t);
	fake_free(&f);
}

static void
test_fake_wrong_key_no_template_fits(void **state)
{
	static const uint8_t other[16] = { 0x0F, 0x0E, 0x0D, 0x0C, 0x0B, 0x0A, 0x09, 0x08,
		0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, 0x00 };
	pcard_transport *t = NULL;
	fake f;
	host h;

	(void)state;
	fake_new(&f, "visa2", TEST_KEY, sizeof TEST_KEY);
	assert_int_equal(pcard_inproc_open(fake_apdu, NULL, &f, &t), PCARD_OK);
	host_new(&h, t, PCARD_KEY_DES3, other, sizeof other);
	assert_int_equal(pcard_gpc_select(&h.g, NULL, NULL), PCARD_OK);
	assert_int_equal(pcard_gpc_open(&h.g, &h.a, &h.res), PCARD_E_AUTH);
	assert_string_equal(h.res.kdf_fits, "");
	assert_false(logged(&f, 0x82));
	host_free(&h);
	pcard_transport_close(t);
	fake_free(&f);
}

static void
test_fake_init_update_refused(void **state)
{
	pcard_transport *t = NULL;
	fake f;
	host h;

	(void)state;
	fake_new(&f, "none", TEST_KEY, sizeof TEST_KEY);
	f.sw_for_ins[0x50] = 0x6983;
	assert_int_equal(pcard_inproc_open(fake_apdu, NULL, &f, &t), PCARD_OK);
	host_new(&h, t, PCARD_KEY_DES3, TEST_KEY, sizeof TEST_KEY);
	assert_int_equal(pcard_gpc_select(&h.g, NULL, NULL), PCARD_OK);
	assert_int_equal(pcard_gpc_open(&h.g, &h.a, &h.res), PCARD_E_CARD_STATUS);
	assert_int_equal(pcard_gpc_last_sw(&h.g), 0x6983);
	assert_int_equal(pcard_gpc_last_ins(&h.g), PCARD_INS_INITIALIZE_UPDATE);
	assert_false(logged(&f, 0x82));
	host_free(&h);
	pcard_transport_close(t);
	fake_free(&f);
}

static void
test_fake_install_6A80_explained(void **state)
{
	pcard_transport *t = NULL;
	pcard_gp_aid pkg, app;
	pcard_gpc_install_opts io;
	const char *why;
	fake f;
	host h;

	(void)state;
	fake_new(&f, "none", TEST_KEY, sizeof TEST_KEY);
	f.sw_for_ins[0xE6] = 0x6A80;
	assert_int_equal(pcard_inproc_open(fake_apdu, NULL, &f, &t), PCARD_OK);
	host_new(&h, t, PCARD_KEY_DES3, TEST_KEY, sizeof TEST_KEY);
	assert_int_equal(pcard_gpc_select(&h.g, NULL, NULL), PCARD_OK);
	assert_int_equal(pcard_gp_aid_from_hex(&pkg, "D0D1D2D3D4D5"), PCARD_OK);
	assert_int_equal(pcard_gp_aid_from_hex(&app, "D0D1D2D3D4D501"), PCARD_OK);
	memset(&io, 0, sizeof io);
	io.elf = &pkg;
	io.module = &app;
	assert_int_equal(pcard_gpc_install(&h.g, &io), PCARD_E_CARD_STATUS);
	assert_int_equal(pcard_gpc_last_sw(&h.g), 0x6A80);
	assert_int_equal(pcard_gpc_last_ins(&h.g), PCARD_INS_INSTALL);
	why = pcard_sw_explain(pcard_gpc_last_sw(&h.g), pcard_gpc_last_ins(&h.g));
	assert_non_null(strstr(why, "INSTALL"));
	assert_string_not_equal(why, pcard_sw_explain(0x6A80, PCARD_SW_ANY_INS));
	/* missing AIDs are refused before anything is sent */
	f.nlog = 0;
	io.elf = NULL;
	assert_int_equal(pcard_gpc_install(&h.g, &io), PCARD_E_INVALID_ARG);
	assert_int_equal(f.nlog, 0);
	host_free(&h);
	pcard_transport_close(t);
	fake_free(&f);
}

static void
test_fake_list_legacy_and_more_data(void **state)
{
	pcard_transport *t = NULL;
	pcard_gpc_entry e[16];
	size_t n = 0, apps = 0;
	fake f;
	host h;

	(void)state;
	fake_new(&f, "none", TEST_KEY, sizeof TEST_KEY);
	f.gs_legacy_only = 1;
	f.gs_pages = 3;
	assert_int_equal(pcard_inproc_open(fake_apdu, NULL, &f, &t), PCARD_OK);
	host_new(&h, t, PCARD_KEY_DES3, TEST_KEY, sizeof TEST_KEY);
	assert_int_equal(pcard_gpc_select(&h.g, NULL, NULL), PCARD_OK);
	assert_int_equal(pcard_gpc_list(&h.g, e, 16, &n), PCARD_OK);
	assert_int_equal(e[0].kind, PCARD_GS_ISD);
	assert_int_equal(e[0].e.lifecycle, 0x0F);
	for (size_t k = 0; k < n; k++) {
		if (e[k].kind != PCARD_GS_APPS)
			continue;
		assert_int_equal(e[k].e.aid.b[5], apps);	/* page order kept */
		apps++;
	}
	assert_int_equal(apps, 3);
	assert_int_equal(n, 4);
	host_free(&h);
	pcard_transport_close(t);
	fake_free(&f);
}

static void
test_fake_list_refused(void **state)
{
	pcard_transport *t = NULL;
	pcard_gpc_entry e[4];
	size_t n = 0;
	fake f;
	host h;

	(void)state;
	fake_new(&f, "none", TEST_KEY, sizeof TEST_KEY);
	f.sw_for_ins[0xF2] = 0x6982;
	assert_int_equal(pcard_inproc_open(fake_apdu, NULL, &f, &t), PCARD_OK);
	host_new(&h, t, PCARD_KEY_DES3, TEST_KEY, sizeof TEST_KEY);
	assert_int_equal(pcard_gpc_select(&h.g, NULL, NULL), PCARD_OK);
	assert_int_equal(pcard_gpc_list(&h.g, e, 4, &n), PCARD_E_CARD_STATUS);
	assert_int_equal(pcard_gpc_last_sw(&h.g), 0x6982);
	assert_int_equal(pcard_gpc_last_ins(&h.g), PCARD_INS_GET_STATUS);
	host_free(&h);
	pcard_transport_close(t);
	fake_free(&f);
}

static void
test_fake_select_discovery(void **state)
{
	pcard_transport *t = NULL;
	fake f;
	host h;

	(void)state;
	fake_new(&f, "none", TEST_KEY, sizeof TEST_KEY);
	f.sw_for_ins[0xA4] = 0x6A82;	/* no SD anywhere */
	assert_int_equal(pcard_inproc_open(fake_apdu, NULL, &f, &t), PCARD_OK);
	host_new(&h, t, PCARD_KEY_DES3, TEST_KEY, sizeof TEST_KEY);
	assert_int_equal(pcard_gpc_select(&h.g, NULL, NULL), PCARD_E_NOT_FOUND);
	assert_int_equal(f.nlog, 1 + PCARD_GPC_N_KNOWN_ISD);	/* empty AID, then the known */
	host_free(&h);
	pcard_transport_close(t);
	fake_free(&f);
}

static void
test_fake_needs_channel(void **state)
{
	pcard_transport *t = NULL;
	pcard_keyh set[3];
	fake f;
	host h;

	(void)state;
	fake_new(&f, "none", TEST_KEY, sizeof TEST_KEY);
	assert_int_equal(pcard_inproc_open(fake_apdu, NULL, &f, &t), PCARD_OK);
	host_new(&h, t, PCARD_KEY_DES3, TEST_KEY, sizeof TEST_KEY);
	set[0] = set[1] = set[2] = h.master;
	assert_int_equal(pcard_gpc_select(&h.g, NULL, NULL), PCARD_OK);
	assert_int_equal(pcard_gpc_put_keyset(&h.g, 0x21, 0, set), PCARD_E_STATE);
	assert_int_equal(pcard_gpc_put_keyset(&h.g, 0x80, 0, set), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_gpc_store_dgis(&h.g, (const uint8_t *)"\x01\x01\x02\xAA", 4,
	    1, 1), PCARD_E_BAD_ENCODING);
	assert_int_equal(f.nlog, 1);	/* only the SELECT */
	host_free(&h);
	pcard_transport_close(t);
	fake_free(&f);
}

/* ---- perso file and STORE DATA records ---- */

static void
test_perso_parse_good(void **state)
{
	static const char text[] =
	    "# datastore\n"
	    "tlv C1 04 00000001 5F20 03 414243   # items\n"
	    "\n"
	    "   tlv enc C10400000002\r\n"
	    "dgi 0101 AABB\n"
	    "raw 01020304";
	uint8_t buf[64];
	pcard_gpc_sd_record r[8];
	size_t n = 0, line = 99;
	static const uint8_t dgi[] = { 0x01, 0x01, 0x02, 0xAA, 0xBB };

	(void)state;
	assert_int_equal(pcard_gpc_perso_parse((const uint8_t *)text, strlen(text), buf,
	    sizeof buf, r, 8, &n, &line), PCARD_OK);
	assert_int_equal(n, 4);
	assert_int_equal(line, 0);
	assert_int_equal(r[0].fmt, PCARD_SD_FMT_BER);
	assert_int_equal(r[0].encrypt, 0);
	assert_int_equal(r[0].len, 12);
	assert_int_equal(r[1].encrypt, 1);
	assert_int_equal(r[1].len, 6);
	assert_int_equal(r[2].fmt, PCARD_SD_FMT_DGI);
	assert_int_equal(r[2].len, sizeof dgi);
	assert_memory_equal(r[2].data, dgi, sizeof dgi);
	assert_int_equal(r[3].fmt, PCARD_SD_FMT_NONE);
	assert_int_equal(r[3].len, 4);
}

static void
test_perso_parse_dgi_long(void **state)
{
	char text[8 + 2 * 300 + 2];
	uint8_t buf[400];
	pcard_gpc_sd_record r[2];
	size_t n = 0;

	(void)state;
	memcpy(text, "dgi 9F01", 8);
	memset(text + 8, 'A', 2 * 298);
	text[8 + 2 * 298] = '\0';
	/* "dgi 9F01AAAA...": tag 9F01, 298 value bytes: the FF 01 2A length form */
	assert_int_equal(pcard_gpc_perso_parse((const uint8_t *)text, strlen(text), buf,
	    sizeof buf, r, 2, &n, NULL), PCARD_OK);
	assert_int_equal(n, 1);
	assert_int_equal(r[0].len, 2 + 3 + 298);
	assert_int_equal(r[0].data[2], 0xFF);
	assert_int_equal(r[0].data[3], 0x01);
	assert_int_equal(r[0].data[4], 0x2A);
	assert_int_equal(r[0].data[5], 0xAA);
}

static void
test_perso_parse_errors(void **state)
{
	static const struct {
		const char *text;
		pcard_err err;
		size_t line;
	} cases[] = {
		{ "foo 0102\n", PCARD_E_BAD_ENCODING, 1 },		/* unknown kind */
		{ "tlv C1 04 000000\n", PCARD_E_BAD_ENCODING, 1 },	/* TLV truncated */
		{ "raw 012\n", PCARD_E_BAD_ENCODING, 1 },		/* odd token */
		{ "raw 01\nraw 0G\n", PCARD_E_BAD_ENCODING, 2 },	/* not hex */
		{ "raw\n", PCARD_E_BAD_ENCODING, 1 },			/* empty record */
		{ "raw enc\n", PCARD_E_BAD_ENCODING, 1 },		/* empty encrypted */
		{ "dgi 01\n", PCARD_E_BAD_ENCODING, 1 },		/* no DGI tag */
		{ "# nothing\n\n", PCARD_E_BAD_ENCODING, 2 },		/* no record */
		{ "raw 0102030405060708090A0B0C0D0E0F1011\n", PCARD_E_NOSPACE, 1 },
		{ "raw 01\nraw 02\nraw 03\nraw 04\n", PCARD_E_NOSPACE, 4 },
		{ "dgi 0101 0102030405060708090A0B0C0D0E\n", PCARD_E_NOSPACE, 1 },
	};
	uint8_t buf[16];
	pcard_gpc_sd_record r[3];

	(void)state;
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		size_t n = 7, line = 0;

		assert_int_equal(pcard_gpc_perso_parse((const uint8_t *)cases[k].text,
		    strlen(cases[k].text), buf, sizeof buf, r, 3, &n, &line), cases[k].err);
		assert_int_equal(n, 0);
		assert_int_equal(line, cases[k].line);
	}
	assert_int_equal(pcard_gpc_perso_parse(NULL, 1, buf, sizeof buf, r, 3, NULL, NULL),
	    PCARD_E_INVALID_ARG);
}

/* Load and install the datastore native applet through the client. */
static void
install_datastore(host *h)
{
	const pcard_applet_ops *a = &pcard_applet_datastore;
	pcard_capbuild_params p;
	pcard_cap_aid mod;
	pcard_gp_aid pkg, app;
	pcard_gpc_load_opts lo;
	pcard_gpc_install_opts io;
	pcard_cap *cap = NULL;
	uint8_t *capb, *lf;
	size_t capn = 0, lfn;

	assert_int_equal(pcard_native_cap_params(a, &mod, 1, &p), PCARD_OK);
	assert_int_equal(pcard_capbuild_mem(&p, NULL, 0, &capn), PCARD_E_NOSPACE);
	assert_non_null(capb = malloc(capn));
	assert_int_equal(pcard_capbuild_mem(&p, capb, capn, &capn), PCARD_OK);
	assert_int_equal(pcard_cap_open_mem(capb, capn, &cap), PCARD_OK);
	lfn = pcard_cap_load_file_len(cap, 0);
	assert_non_null(lf = malloc(lfn));
	assert_int_equal(pcard_cap_load_file(cap, 0, lf, lfn, &lfn), PCARD_OK);
	assert_int_equal(pcard_gp_aid_set(&pkg, a->package, a->package_len), PCARD_OK);
	assert_int_equal(pcard_gp_aid_set(&app, mod.b, mod.len), PCARD_OK);
	memset(&lo, 0, sizeof lo);
	lo.elf = &pkg;
	lo.load_file = lf;
	lo.load_file_len = lfn;
	memset(&io, 0, sizeof io);
	io.module = &app;
	assert_int_equal(pcard_gpc_load_install(&h->g, &lo, &io), PCARD_OK);
	pcard_cap_free(cap);
	free(lf);
	free(capb);
}

/*
 * A perso file personalises the datastore: INSTALL [for personalization] then two records,
 * the second encrypted under the DEK (GP CS 11.11, all data encrypted). The applet only
 * accepts the second when it decrypts to the message sent, so GET DATA C1 = 2 proves it.
 */
static void
sim_store_records(uint8_t scp)
{
	static const char text[] =
	    "tlv C1 04 00000001 5F20 01 AA\n"
	    "tlv enc C1 04 00000002 C0 04 00000001 5F21 02 BBCC\n";
	static const uint8_t get_ver[] = { 0x80, 0xCA, 0x00, 0xC1, 0x00 };
	static const uint8_t want[] = { 0xC1, 0x04, 0x00, 0x00, 0x00, 0x02, 0x90, 0x00 };
	uint8_t buf[64], big[250], rsp[64];
	pcard_gpc_sd_record r[3];
	pcard_gp_aid app;
	size_t n = 0, cmds = 0, cmds2 = 0, nr = 0;
	simcard *sc = NULL;
	host h;

	sim_open(&sc, &h, scp);
	assert_int_equal(pcard_gpc_perso_parse((const uint8_t *)text, strlen(text), buf,
	    sizeof buf, r, 3, &n, NULL), PCARD_OK);
	assert_int_equal(n, 2);
	assert_int_equal(pcard_gpc_select(&h.g, NULL, NULL), PCARD_OK);
	assert_int_equal(pcard_gpc_store_records(&h.g, &r[1], 1), PCARD_E_STATE);
	assert_int_equal(pcard_gpc_open(&h.g, &h.a, &h.res), PCARD_OK);
	install_datastore(&h);
	/* too long once padded and MACed: refused before anything is sent */
	memset(big, 0x5A, sizeof big);
	r[2].fmt = PCARD_SD_FMT_NONE;
	r[2].encrypt = 1;
	r[2].data = big;
	r[2].len = sizeof big;
	pcard_gpc_stats(&h.g, &cmds, NULL);
	assert_int_equal(pcard_gpc_store_records(&h.g, &r[2], 1), PCARD_E_BAD_ENCODING);
	pcard_gpc_stats(&h.g, &cmds2, NULL);
	assert_int_equal(cmds, cmds2);
	assert_int_equal(pcard_gpc_store_records(&h.g, r, 0), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_gp_aid_set(&app, pcard_applet_datastore.modules[0].b,
	    pcard_applet_datastore.modules[0].len), PCARD_OK);
	assert_int_equal(pcard_gpc_personalize(&h.g, &app), PCARD_OK);
	assert_int_equal(pcard_gpc_store_records(&h.g, r, n), PCARD_OK);
	assert_int_equal(pcard_gpc_last_ins(&h.g), 0xE2);
	/* a replayed stale message is refused by the applet: the SW comes back */
	assert_int_equal(pcard_gpc_store_records(&h.g, r, 1), PCARD_E_CARD_STATUS);
	assert_int_equal(pcard_gpc_last_sw(&h.g), 0x6985);
	assert_int_equal(pcard_gpc_select(&h.g, &app, NULL), PCARD_OK);
	assert_int_equal(pcard_gpc_apdu(&h.g, 0, get_ver, sizeof get_ver, rsp, sizeof rsp, &nr),
	    PCARD_OK);
	assert_int_equal(nr, sizeof want);
	assert_memory_equal(rsp, want, sizeof want);
	host_free(&h);
	simcard_free(sc);
}

/* The last STORE DATA command the host sent (trace hook). */
typedef struct sd_spy {
	uint8_t cmd[300];
	size_t n;
} sd_spy;

static void
sd_spy_fn(void *ctx, int dir, const uint8_t *p, size_t n)
{
	sd_spy *s = ctx;

	if (dir == PCARD_TRACE_CMD && n >= 5 && p[1] == 0xE2 && n <= sizeof s->cmd) {
		memcpy(s->cmd, p, n);
		s->n = n;
	}
}

/*
 * Encrypted DGIs: a perso file 'dgi enc' line and --dgi-file --encrypt (store_dgis) both send
 * the DGI tag and length in clear and the value padded and encrypted on its own (EMV CPS),
 * P1 E8; the card reads them (9000 to the ISD; the datastore gets them decrypted and refuses
 * the DGI format itself, 6A86). The channel is at level 01 so the field is seen on the wire.
 */
static void
sim_store_dgis(uint8_t scp)
{
	static const char text[] = "dgi enc 0101 AABBCC\n";
	static const uint8_t dgis[] = { 0x02, 0x02, 0x03, 0xAA, 0xBB, 0xCC };
	uint8_t buf[64], plain[32];
	pcard_gpc_sd_record r[2];
	pcard_gp_aid app;
	pcard_cipher_alg alg;
	pcard_keyh dek;
	size_t n = 0, bl = scp == 3 ? 16 : 8;
	simcard *sc = NULL;
	sd_spy spy;
	host h;

	memset(&spy, 0, sizeof spy);
	sim_open(&sc, &h, scp);
	assert_int_equal(pcard_gpc_perso_parse((const uint8_t *)text, strlen(text), buf,
	    sizeof buf, r, 2, &n, NULL), PCARD_OK);
	assert_int_equal(pcard_gpc_select(&h.g, NULL, NULL), PCARD_OK);
	h.a.level = 0x01;
	assert_int_equal(pcard_gpc_open(&h.g, &h.a, &h.res), PCARD_OK);
	pcard_transport_set_trace(simcard_transport(sc), sd_spy_fn, &spy);
	assert_int_equal(pcard_scp_dek(pcard_gpc_session(&h.g), &dek, &alg), PCARD_OK);
	for (int k = 0; k < 2; k++) {
		if (k == 0)
			assert_int_equal(pcard_gpc_store_records(&h.g, r, n), PCARD_OK);
		else
			assert_int_equal(pcard_gpc_store_dgis(&h.g, dgis, sizeof dgis, 1, 1),
			    PCARD_OK);
		assert_int_equal(pcard_gpc_last_sw(&h.g), 0x9000);
		/* 84 E2 E8 00 Lc | tag(2) len value(bl) | C-MAC(8) */
		assert_int_equal(spy.n, 5 + 3 + bl + 8);
		assert_int_equal(spy.cmd[2], 0xE8);
		assert_int_equal(spy.cmd[5], k == 0 ? 0x01 : 0x02);
		assert_int_equal(spy.cmd[6], k == 0 ? 0x01 : 0x02);
		assert_int_equal(spy.cmd[7], bl);
		assert_int_equal(pcard_keys_cipher(h.keys, dek, alg, 0, NULL, spy.cmd + 8, bl,
		    plain), PCARD_OK);
		assert_memory_equal(plain, "\xAA\xBB\xCC\x80\x00\x00\x00\x00", 8);
	}
	install_datastore(&h);
	assert_int_equal(pcard_gp_aid_set(&app, pcard_applet_datastore.modules[0].b,
	    pcard_applet_datastore.modules[0].len), PCARD_OK);
	assert_int_equal(pcard_gpc_personalize(&h.g, &app), PCARD_OK);
	assert_int_equal(pcard_gpc_store_records(&h.g, r, n), PCARD_E_CARD_STATUS);
	assert_int_equal(pcard_gpc_last_sw(&h.g), 0x6A86);
	/* a record that is no DGI stream: refused before anything is sent */
	r[1].fmt = PCARD_SD_FMT_DGI;
	r[1].encrypt = 1;
	r[1].data = dgis;
	r[1].len = 4;	/* length 3, one value byte */
	spy.n = 0;
	assert_int_equal(pcard_gpc_store_records(&h.g, &r[1], 1), PCARD_E_BAD_ENCODING);
	assert_int_equal(spy.n, 0);
	pcard_transport_set_trace(simcard_transport(sc), NULL, NULL);
	host_free(&h);
	simcard_free(sc);
}

static void
test_sim_store_dgis_scp03(void **state)
{
	(void)state;
	sim_store_dgis(3);
}

static void
test_sim_store_dgis_scp02(void **state)
{
	(void)state;
	sim_store_dgis(2);
}

/*
 * Public keys whose PUT KEY data field exceeds one command go as a chain (P1 b8 on all but
 * the last piece, CS 11.8.2.1): RSA-2048 (267 bytes) in 2 commands at level 03, RSA-4096
 * (523) in 3; the card stores the whole modulus.
 */
static void
test_sim_put_pubkey_chain(void **state)
{
	static const struct {
		unsigned bits;
		size_t cmds;
	} cases[] = { { 1024, 1 }, { 2048, 2 }, { 4096, 3 } };
	simcard *sc = NULL;
	host h;

	(void)state;
	sim_open(&sc, &h, 3);
	assert_int_equal(pcard_gpc_select(&h.g, NULL, NULL), PCARD_OK);
	assert_int_equal(pcard_gpc_open(&h.g, &h.a, &h.res), PCARD_OK);
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		pcard_pkey *pk = NULL;
		size_t c0 = 0, c1 = 0;
		pcard_card_keyset *ks;
		pcard_cardstate *cs;

		assert_int_equal(pcard_pkey_gen_rsa(cases[k].bits, &pk), PCARD_OK);
		pcard_gpc_stats(&h.g, &c0, NULL);
		assert_int_equal(pcard_gpc_put_pubkey(&h.g, (uint8_t)(0x40 + k), 0, 1, pk),
		    PCARD_OK);
		pcard_gpc_stats(&h.g, &c1, NULL);
		assert_int_equal(c1 - c0, cases[k].cmds);
		cs = (pcard_cardstate *)pcard_card_state(simcard_card(sc));
		assert_non_null(ks = pcard_card_sd_keyset_find(&cs->isd, (uint8_t)(0x40 + k)));
		assert_int_equal(ks->keys[0].len, cases[k].bits / 8);
		pcard_pkey_free(pk);
	}
	host_free(&h);
	simcard_free(sc);
}

static void
test_sim_store_records_scp03(void **state)
{
	(void)state;
	sim_store_records(3);
}

static void
test_sim_store_records_scp02(void **state)
{
	(void)state;
	sim_store_records(2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_perso_parse_good),
		cmocka_unit_test(test_perso_parse_dgi_long),
		cmocka_unit_test(test_perso_parse_errors),
		cmocka_unit_test(test_sim_store_records_scp03),
		cmocka_unit_test(test_sim_store_records_scp02),
		cmocka_unit_test(test_sim_store_dgis_scp03),
		cmocka_unit_test(test_sim_store_dgis_scp02),
		cmocka_unit_test(test_sim_put_pubkey_chain),
		cmocka_unit_test(test_sim_select_discovers_isd),
		cmocka_unit_test(test_sim_select_unknown_aid),
		cmocka_unit_test(test_sim_info),
		cmocka_unit_test(test_sim_open_scp03),
		cmocka_unit_test(test_sim_open_scp02_i_from_crd),
		cmocka_unit_test(test_sim_open_wrong_key),
		cmocka_unit_test(test_sim_open_wrong_kvn),
		cmocka_unit_test(test_sim_open_bad_level),
		cmocka_unit_test(test_sim_list),
		cmocka_unit_test(test_sim_card_lock_unlock),
		cmocka_unit_test(test_sim_app_lock_refusals),
		cmocka_unit_test(test_sim_terminate),
		cmocka_unit_test(test_sim_raw_and_secure_apdu),
		cmocka_unit_test(test_sim_content_and_keys),
		cmocka_unit_test(test_fake_wrong_kdf_guesses_emv),
		cmocka_unit_test(test_fake_wrong_key_no_template_fits),
		cmocka_unit_test(test_fake_init_update_refused),
		cmocka_unit_test(test_fake_install_6A80_explained),
		cmocka_unit_test(test_fake_list_legacy_and_more_data),
		cmocka_unit_test(test_fake_list_refused),
		cmocka_unit_test(test_fake_select_discovery),
		cmocka_unit_test(test_fake_needs_channel),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
