/*
 * card_fixture.h: a populated card for the card-manager tests (header-only, static inline):
 * a loaded (non-ROM) load file with two modules, an instance, a Final Application holder, a
 * locked instance and a supplementary SD, in any card life cycle; plus helpers to send a
 * command plain or wrapped, and to compare states apart from their counters.
 */
#ifndef PCARD_CARD_FIXTURE_H
#define PCARD_CARD_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "card_host.h"
#include "cardstate.h"
#include "postcard/bytes.h"
#include "postcard/cap.h"
#include "postcard/dap.h"
#include "postcard/gp.h"
#include "postcard/putkey.h"
#include "testvec.h"

#define FX_ISD "A000000151000000"
#define FX_ELF "A0000000FF01"
#define FX_MOD1 "A0000000FF0101"
#define FX_MOD2 "A0000000FF0102"
#define FX_APP "A0000000FF010101"
#define FX_FINAL "A0000000FF010102"
#define FX_LOCKED "A0000000FF010103"
#define FX_NEW "A0000000FF010104"
#define FX_SSD "A0000000FF5344"
#define FX_SSD_APP "A0000000FF010105"	/* an instance associated with the SSD */
#define FX_SSD_PKG "A0000001515350"
#define FX_SSD_MOD "A000000151535041"

static inline pcard_aid
fx_aid(const char *hex)
{
	pcard_aid a;

	memset(&a, 0, sizeof a);
	if (pcard_aid_from_hex(&a, hex) != PCARD_OK)
		abort();
	return a;
}

static inline int
fx_add_app(pcard_cardstate *cs, const char *aid, const char *sd, uint8_t lc, uint8_t priv1,
    uint8_t priv2)
{
	pcard_card_app a;

	memset(&a, 0, sizeof a);
	a.aid = fx_aid(aid);
	a.elf = fx_aid(FX_ELF);
	a.module = fx_aid(FX_MOD1);
	a.sd = fx_aid(sd);
	a.life_cycle = lc;
	a.priv[0] = priv1;
	a.priv[1] = priv2;
	return pcard_cardstate_app_add(cs, &a) == PCARD_OK ? 0 : -1;
}

/*
 * The populated card: default card (scp, life cycle lc) plus the fixture registry. The SSD
 * has a copy of the ISD's key set (counters zero), the given privileges and its own instance.
 */
static inline int
fx_state(pcard_cardstate *cs, uint8_t scp, uint8_t lc, const uint8_t ssd_priv[3])
{
	pcard_cardstate_opts o;
	pcard_card_elf e;
	pcard_card_app s;
	pcard_card_keyset ks;

	memset(&o, 0, sizeof o);
	o.scp = scp;
	o.life_cycle = lc;
	if (pcard_cardstate_default(cs, &o) != PCARD_OK)
		return -1;
	memset(&e, 0, sizeof e);
	e.aid = fx_aid(FX_ELF);
	e.major = 1;
	e.sd = fx_aid(FX_ISD);
	e.size = 1000;
	e.nmodules = 2;
	e.modules[0] = fx_aid(FX_MOD1);
	e.modules[1] = fx_aid(FX_MOD2);
	e.nimports = 1;
	e.imports[0].aid = fx_aid("A0000000620001");
	e.imports[0].major = 1;
	if (pcard_cardstate_elf_add(cs, &e) != PCARD_OK)
		return -1;
	cs->nvm_used += e.size;
	if (fx_add_app(cs, FX_APP, FX_ISD, PCARD_APP_SELECTABLE, 0, 0) != 0 ||
	    fx_add_app(cs, FX_FINAL, FX_ISD, PCARD_APP_SELECTABLE, 0, PCARD_PRIV2_FINAL_APP) != 0 ||
	    fx_add_app(cs, FX_LOCKED, FX_ISD, PCARD_APP_SELECTABLE | PCARD_APP_LOCKED_BIT, 0,
	    0) != 0)
		return -1;
	memset(&s, 0, sizeof s);
	s.aid = fx_aid(FX_SSD);
	s.elf = fx_aid(FX_SSD_PKG);
	s.module = fx_aid(FX_SSD_MOD);
	s.sd = fx_aid(FX_ISD);
	s.life_cycle = PCARD_SD_PERSONALIZED;
	memcpy(s.priv, ssd_priv, 3);
	s.priv[0] |= PCARD_PRIV1_SD;
	s.is_sd = 1;
	s.sd_info.scp = cs->isd.sd_info.scp;
	s.sd_info.i = cs->isd.sd_info.i;
	ks = cs->isd.sd_info.keysets[0];
	ks.seq = 0;
	ks.fails = 0;
	ks.blocked = 0;
	if (pcard_card_sd_keyset_put(&s, &ks) != PCARD_OK ||
	    pcard_cardstate_app_add(cs, &s) != PCARD_OK) {
		pcard_card_app_clear(&s);
		return -1;
	}
	pcard_card_app_clear(&s);
	pcard_wipe(&ks, sizeof ks);
	return fx_add_app(cs, FX_SSD_APP, FX_SSD, PCARD_APP_SELECTABLE, 0, 0);
}

/* Open a card over cs (path NULL: no persistence) and power it on. */
static inline pcard_card *
fx_card(const pcard_cardstate *cs, const char *path, pcard_cardio *io)
{
	pcard_card *c = NULL;
	uint8_t atr[40];
	size_t n;

	if (pcard_card_open_state(cs, path, io, &c) != PCARD_OK)
		return NULL;
	(void)pcard_card_power_on(c, atr, sizeof atr, &n);
	return c;
}

static inline int
fx_host(ch_host *h, pcard_card *c, uint8_t scp)
{
	memset(h, 0, sizeof *h);
	pcard_scp_init(&h->scp);
	h->card = c;
	return ch_keys(h, scp == 3 ? PCARD_KEY_AES : PCARD_KEY_DES3, ch_test_key, 16);
}

/* Wrapped when a session is open, else plain. */
static inline uint16_t
fx_send(ch_host *h, const uint8_t *cmd, size_t n)
{
	if (h->open && pcard_scp_state_of(&h->scp) == PCARD_SCP_OPEN)
		return ch_sec(h, cmd, n);
	return ch_raw(h, cmd, n);
}

static inline uint16_t
fx_send_hex(ch_host *h, const char *hex)
{
	return ch_send_hex(h, hex, fx_send);
}

static inline void
fx_zero_counters_sd(pcard_card_app *a)
{
	for (size_t k = 0; k < a->sd_info.nkeysets; k++) {
		a->sd_info.keysets[k].seq = 0;
		a->sd_info.keysets[k].fails = 0;
		a->sd_info.keysets[k].blocked = 0;
	}
}

/* 1 when a and b are equal apart from the counters (sequence, failures, blocked, receipt). */
static inline int
fx_eq_but_counters(const pcard_cardstate *a, const pcard_cardstate *b, char *why, size_t cap)
{
	pcard_cardstate x, y;
	int eq;

	pcard_cardstate_init(&x);
	pcard_cardstate_init(&y);
	if (pcard_cardstate_copy(&x, a) != PCARD_OK || pcard_cardstate_copy(&y, b) != PCARD_OK)
		abort();
	x.receipt_counter = y.receipt_counter = 0;
	fx_zero_counters_sd(&x.isd);
	fx_zero_counters_sd(&y.isd);
	for (size_t i = 0; i < x.napps; i++)
		fx_zero_counters_sd(&x.apps[i]);
	for (size_t i = 0; i < y.napps; i++)
		fx_zero_counters_sd(&y.apps[i]);
	eq = pcard_cardstate_eq(&x, &y, why, cap);
	pcard_cardstate_clear(&x);
	pcard_cardstate_clear(&y);
	return eq;
}

/* SELECT by AID (hex) on channel 0; the session ends with it. */
static inline uint16_t
fx_select(ch_host *h, const char *aid_hex)
{
	uint8_t b[32] = { 0x00, 0xA4, 0x04, 0x00 };
	size_t n;

	if (pcard_hex_decode(aid_hex, b + 5, sizeof b - 5, &n) != PCARD_OK)
		return 0;
	b[4] = (uint8_t)n;
	h->open = 0;
	return ch_raw(h, b, 5 + n);
}

/* Options of fx_load_cap_ex; zero = plain load into the selected SD. */
typedef struct fx_load_opts {
	const pcard_aid *sd;		/* target SD in INSTALL [for load] */
	int hash;			/* give the LFDB's SHA-256 */
	const pcard_dapkey *dap;	/* add a DAP block signed with it, for dap_sd */
	const pcard_aid *dap_sd;
	int corrupt_dap;		/* flip a bit of the signature */
	const uint8_t *params;		/* load parameters (EF ...) */
	size_t params_len;
	const pcard_dapkey *token;	/* sign a token for INSTALL [for load] */
	uint8_t install_rsp[256];	/* response data of INSTALL [for load] */
	size_t install_rsp_len;
	uint8_t load_rsp[256];		/* response data of the last LOAD */
	size_t load_rsp_len;
} fx_load_opts;

/*
 * INSTALL [for load] of the CAP file (testdata-relative name) and its LOAD blocks; the SW of
 * the first step that does not answer 9000, else of the last LOAD. The package AID is
 * written to pkg when not NULL.
 */
static inline uint16_t
fx_load_cap_ex(ch_host *h, const char *name, fx_load_opts *o, pcard_aid *pkg)
{
	pcard_cap *cap = NULL;
	const pcard_cap_info *info;
	uint8_t *lf = NULL, cmd[300], hash[32], data[260], tok[300], dapb[300];
	size_t lfn, nc, blk, count, hl = 0, nd, nt, dn = 0;
	pcard_gp_install in;
	uint16_t sw = 0;

	if (pcard_cap_open_file(tv_path(name), &cap) != PCARD_OK)
		return 0;
	info = pcard_cap_get_info(cap);
	if (pkg != NULL && pcard_aid_set(pkg, info->package.b, info->package.len) != PCARD_OK)
		goto out;
	if (o->hash && pcard_cap_lfdb_hash(cap, 0, PCARD_HASH_SHA256, hash, sizeof hash, &hl) !=
	    PCARD_OK)
		goto out;
	if (o->dap != NULL) {
		if (pcard_dap_block_make(o->dap, o->dap_sd->b, o->dap_sd->len, hash, hl, dapb,
		    sizeof dapb, &dn) != PCARD_OK)
			goto out;
		if (o->corrupt_dap)
			dapb[dn - 1] ^= 0x01;
	}
	lfn = pcard_cap_load_file_len(cap, 0);
	if ((lf = malloc(dn + lfn)) == NULL ||
	    pcard_cap_load_file(cap, 0, lf + dn, lfn, &lfn) != PCARD_OK)
		goto out;
	memcpy(lf, dapb, dn);
	lfn += dn;
	memset(&in, 0, sizeof in);
	in.p1 = PCARD_INSTALL_FOR_LOAD;
	in.elf = info->package.b;
	in.elf_len = info->package.len;
	if (o->sd != NULL) {
		in.sd = o->sd->b;
		in.sd_len = o->sd->len;
	}
	in.hash = hl ? hash : NULL;
	in.hash_len = hl;
	in.load_params = o->params;
	in.load_params_len = o->params_len;
	if (o->token != NULL) {
		if (pcard_gp_install_data(&in, data, sizeof data, &nd) != PCARD_OK ||
		    nd == 0 || pcard_token_append(o->token, PCARD_INS_INSTALL, in.p1, 0, data,
		    nd - 1, tok, sizeof tok, &nt) != PCARD_OK || nt > 255)
			goto out;
		cmd[0] = 0x80;
		cmd[1] = 0xE6;
		cmd[2] = in.p1;
		cmd[3] = 0;
		cmd[4] = (uint8_t)nt;
		memcpy(cmd + 5, tok, nt);
		cmd[5 + nt] = 0;
		nc = 6 + nt;
	} else if (pcard_gp_install_cmd(&in, cmd, sizeof cmd, &nc) != PCARD_OK) {
		goto out;
	}
	sw = fx_send(h, cmd, nc);
	o->install_rsp_len = h->rlen >= 2 ? h->rlen - 2 : 0;
	memcpy(o->install_rsp, h->rsp, o->install_rsp_len);
	if (sw != 0x9000)
		goto out;
	blk = h->open ? pcard_scp_max_data(&h->scp) : 200;
	if (pcard_gp_load_count(lfn, blk, &count) != PCARD_OK) {
		sw = 0;
		goto out;
	}
	for (size_t i = 0; i < count; i++) {
		if (pcard_gp_load_cmd(lf, lfn, blk, i, cmd, sizeof cmd, &nc) != PCARD_OK) {
			sw = 0;
			break;
		}
		if ((sw = fx_send(h, cmd, nc)) != 0x9000)
			break;
	}
	o->load_rsp_len = h->rlen >= 2 ? h->rlen - 2 : 0;
	memcpy(o->load_rsp, h->rsp, o->load_rsp_len);
out:
	free(lf);
	pcard_cap_free(cap);
	return sw;
}

static inline uint16_t
fx_load_cap(ch_host *h, const char *name, pcard_aid *pkg)
{
	fx_load_opts o;

	memset(&o, 0, sizeof o);
	return fx_load_cap_ex(h, name, &o, pkg);
}

/* A key set kvn with one AES-128 key (id 1, every byte v) in SD sd. */
static inline int
fx_add_aes_keyset(pcard_card_app *sd, uint8_t kvn, uint8_t v)
{
	pcard_card_keyset ks;
	pcard_card_key k;
	int rc;

	memset(&ks, 0, sizeof ks);
	memset(&k, 0, sizeof k);
	ks.kvn = kvn;
	k.id = 1;
	k.type = PCARD_KEYTYPE_AES;
	k.len = 16;
	memset(k.value, v, 16);
	rc = pcard_card_keyset_put_key(&ks, &k) == PCARD_OK &&
	    pcard_card_sd_keyset_put(sd, &ks) == PCARD_OK ? 0 : -1;
	pcard_wipe(&ks, sizeof ks);
	pcard_wipe(&k, sizeof k);
	return rc;
}

/* A host-side AES-CMAC DAP/token/receipt key of value v (provider owned by the caller). */
static inline int
fx_cmac_key(pcard_keys **keys, pcard_dapkey *dk, uint8_t v)
{
	uint8_t key[16];

	memset(key, v, sizeof key);
	memset(dk, 0, sizeof *dk);
	dk->alg = PCARD_DAP_AES_CMAC;
	if (pcard_keys_mem_new(4, keys) != PCARD_OK ||
	    pcard_keys_mem_import(*keys, NULL, PCARD_KEY_AES, key, 16, &dk->h) != PCARD_OK)
		return -1;
	dk->keys = *keys;
	return 0;
}

/* PUT KEY adding (old 0) or replacing (old = KVN) a set of three AES keys of value v. */
static inline uint16_t
fx_put_key_aes(ch_host *h, uint8_t old, uint8_t kvn, uint8_t v)
{
	pcard_keyh set[3];
	uint8_t key[16], data[128], cmd[300];
	size_t n, nc;
	pcard_putkey_expect exp;

	memset(key, v, sizeof key);
	for (int i = 0; i < 3; i++)
		if (pcard_keys_mem_import(h->keys, NULL, PCARD_KEY_AES, key, 16, &set[i]) !=
		    PCARD_OK)
			return 0;
	if (pcard_putkey_set(h->keys, h->ks.dek, kvn, set, data, sizeof data, &n, &exp) !=
	    PCARD_OK || n > 255)
		return 0;
	/* built here: the library's builder does not take old KVN FF (the initial set) */
	cmd[0] = 0x80;
	cmd[1] = 0xD8;
	cmd[2] = old;
	cmd[3] = 0x81;
	cmd[4] = (uint8_t)n;
	memcpy(cmd + 5, data, n);
	cmd[5 + n] = 0x00;
	nc = 6 + n;
	return fx_send(h, cmd, nc);
}

#endif
