/*
 * card_content.c: INSTALL (CS 11.5, every role but combined load+install), LOAD (11.6) and
 * DELETE (11.2) of card content, with memory accounting, the C6/C7/C8 quotas, import
 * resolution against the registry, LFDB hash and DAP checks, delegated-management tokens and
 * receipts. docs/card-behaviour.md lists every answer.
 *
 * INSTALL data fields are LV chains (gp-facts 3.8), lengths in BER form (81 xx, 82 xx xx):
 *
 *   for load (02):         ELF AID | SD AID | LFDB hash | load params | token
 *   for install (04/0C):   ELF AID | module AID | instance AID | privileges | params | token
 *   make selectable (08):  00 | 00 | instance AID | privileges | params | token
 *   extradition (10):      SD AID | 00 | app or ELF AID | 00 | params | token
 *   personalization (20):  00 | 00 | app AID | 00 | 00 | 00
 *   registry update (40):  SD AID | 00 | app AID | privileges | params | token
 */
#include <stdlib.h>
#include <string.h>

#include "card_int.h"
#include "postcard/cap.h"
#include "postcard/crypto.h"
#include "postcard/dap.h"
#include "postcard/gp.h"
#include "postcard/tlv.h"

#define VOLATILE_BYTES 8192u	/* transient memory the C7 quotas draw from */
#define LOAD_MAX_BYTES (PCARD_CAP_MAX_LFDB_BYTES + 4096u)

/* The Security Domain package (GP), in ROM on every card: installs only SDs. */
static const uint8_t ssd_pkg[] = { 0xA0, 0x00, 0x00, 0x01, 0x51, 0x53, 0x50 };

void
card_load_drop(card_chan *ch)
{
	if (ch->load_buf != NULL) {
		free(ch->load_buf);
		ch->load_buf = NULL;
	}
	ch->load_len = ch->load_cap = 0;
	ch->load_active = 0;
	ch->load_next = 0;
	ch->load_nv_code = 0;
	memset(&ch->load_elf, 0, sizeof ch->load_elf);
}

int
card_sd_owns(pcard_card *c, const pcard_card_app *sd, const pcard_aid *owner)
{
	pcard_aid cur;

	if (sd == &c->cs.isd || pcard_aid_eq(&sd->aid, &c->cs.isd.aid))
		return 1;
	if (owner == NULL || owner->len == 0)
		return 0;
	cur = *owner;
	for (int depth = 0; depth < 16; depth++) {
		pcard_card_app *p;

		if (pcard_aid_eq(&cur, &sd->aid))
			return 1;
		p = pcard_cardstate_app_find(&c->cs, &cur);
		if (p == NULL || !p->is_sd || p->sd.len == 0)
			return 0;
		cur = p->sd;
	}
	return 0;
}

/* One LV field with a BER length (00-7F, 81 xx, 82 xx xx). */
static pcard_err
rd_blv(pcard_rd *r, pcard_rd *val)
{
	uint8_t b;
	uint16_t n16;
	size_t n;
	pcard_rd save = *r;

	if (pcard_rd_u8(r, &b) != PCARD_OK)
		return PCARD_E_TRUNCATED;
	if (b < 0x80) {
		n = b;
	} else if (b == 0x81) {
		if (pcard_rd_u8(r, &b) != PCARD_OK)
			goto bad;
		n = b;
	} else if (b == 0x82) {
		if (pcard_rd_u16(r, &n16) != PCARD_OK)
			goto bad;
		n = n16;
	} else {
		goto bad;
	}
	if (pcard_rd_sub(r, n, val) != PCARD_OK)
		goto bad;
	return PCARD_OK;
bad:
	*r = save;
	return PCARD_E_BAD_ENCODING;
}

static int
aid_from_rd(const pcard_rd *v, pcard_aid *aid, int optional)
{
	size_t n = pcard_rd_left(v);

	memset(aid, 0, sizeof *aid);
	if (n == 0)
		return optional;
	return pcard_aid_set(aid, pcard_rd_ptr(v), n) == PCARD_OK;
}

/* ---- keys for tokens, DAP and receipts ---- */

typedef struct card_dk {
	pcard_dapkey dk;
	pcard_pkey *pk;
	pcard_keys *keys;
} card_dk;

static void
dk_clear(card_dk *d)
{
	pcard_pkey_free(d->pk);
	pcard_keys_free(d->keys);
	memset(d, 0, sizeof *d);
}

static pcard_err
dk_load(pcard_card_app *sd, const pcard_card_keyref *ref, card_dk *d)
{
	pcard_card_keyset *ks;
	pcard_card_key *k;
	pcard_err err;
	static const char *curves[] = { "P-256", "P-384", "P-521" };

	memset(d, 0, sizeof *d);
	if (ref->kvn == 0 || (ks = pcard_card_sd_keyset_find(sd, ref->kvn)) == NULL ||
	    (k = pcard_card_keyset_key_find(ks, ref->id)) == NULL)
		return PCARD_E_NOT_FOUND;
	switch (k->type) {
	case PCARD_KEYTYPE_RSA_PUB:
		if ((err = pcard_pkey_rsa_from_parts(k->value, k->len, k->param, k->param_len,
		    &d->pk)) != PCARD_OK)
			return err;
		d->dk.alg = pcard_pkey_bits(d->pk) > PCARD_DAP_RSA_SCHEME1_MAX_BITS ?
		    PCARD_DAP_RSA_PSS_SHA256 : PCARD_DAP_RSA_SHA1;
		d->dk.pkey = d->pk;
		return PCARD_OK;
	case PCARD_KEYTYPE_EC_PUB:
		if (k->param_len != 1 || k->param[0] > 2)
			return PCARD_E_KEY;
		if ((err = pcard_pkey_ec_from_point(curves[k->param[0]], k->value, k->len,
		    &d->pk)) != PCARD_OK)
			return err;
		d->dk.alg = PCARD_DAP_ECDSA;
		d->dk.pkey = d->pk;
		return PCARD_OK;
	case PCARD_KEYTYPE_AES:
	case PCARD_KEYTYPE_DES3:
		if ((err = pcard_keys_mem_new(4, &d->keys)) != PCARD_OK ||
		    (err = pcard_keys_mem_import(d->keys, NULL, k->type == PCARD_KEYTYPE_AES ?
		    PCARD_KEY_AES : PCARD_KEY_DES3, k->value, k->len, &d->dk.h)) != PCARD_OK)
			return err;
		d->dk.alg = k->type == PCARD_KEYTYPE_AES ? PCARD_DAP_AES_CMAC : PCARD_DAP_DES_RETAIL;
		d->dk.keys = d->keys;
		return PCARD_OK;
	default:
		return PCARD_E_KEY;
	}
}

/* Delegated management: an SSD without Authorized Management needs a token (DM). */
static uint16_t
dm_check(pcard_card *c, const pcard_card_app *sd, const card_cmd *cmd, int *dm)
{
	card_dk d;
	pcard_err err;

	*dm = 0;
	if (sd == &c->cs.isd || (sd->priv[1] & PCARD_PRIV2_AM))
		return SW_OK;
	if ((sd->priv[0] & PCARD_PRIV1_DM) == 0)
		return SW_SECURITY;
	*dm = 1;
	if (dk_load(&c->cs.isd, &c->cs.isd.sd_info.token, &d) != PCARD_OK) {
		dk_clear(&d);
		return SW_SECURITY;
	}
	err = pcard_token_verify(&d.dk, cmd->a.ins, cmd->a.p1, cmd->a.p2, cmd->a.data,
	    cmd->a.lc);
	dk_clear(&d);
	return err == PCARD_OK ? SW_OK : SW_SECURITY;
}

/*
 * The response of a content-management command: 00, or under delegated management a
 * receipt when the ISD has Receipt Generation and a receipt key.
 */
static void
respond(pcard_card *c, int dm, pcard_receipt_op op, const pcard_aid *a, const pcard_aid *b,
    const pcard_aid *x, card_rsp *r)
{
	pcard_cardstate *cs = &c->cs;
	uint8_t ctx[3 * 17], unique[2 * PCARD_CS_ID_MAX];
	size_t ctx_len, ulen = 0;
	pcard_confirm conf;
	card_dk d;

	r->data[0] = 0x00;
	r->len = 1;
	if (!dm || !(cs->isd.priv[2] & PCARD_PRIV3_RECEIPT))
		return;
	if (dk_load(&cs->isd, &cs->isd.sd_info.receipt, &d) != PCARD_OK || d.keys == NULL) {
		dk_clear(&d);
		return;
	}
	memcpy(unique, cs->iin, cs->iin_len);
	ulen = cs->iin_len;
	memcpy(unique + ulen, cs->cin, cs->cin_len);
	ulen += cs->cin_len;
	memset(&conf, 0, sizeof conf);
	if (cs->receipt_counter < 0xFFFF)
		cs->receipt_counter++;
	conf.counter = (uint16_t)cs->receipt_counter;
	conf.sd_unique = unique;
	conf.sd_unique_len = ulen;
	if (pcard_receipt_context(op, a->b, a->len, b ? b->b : NULL, b ? b->len : 0,
	    x ? x->b : NULL, x ? x->len : 0, ctx, sizeof ctx, &ctx_len) == PCARD_OK &&
	    pcard_receipt_response(d.keys, d.dk.h, &conf, ctx, ctx_len, r->data,
	    CARD_RSP_DATA_MAX, &r->len) != PCARD_OK) {
		r->data[0] = 0x00;
		r->len = 1;
	}
	dk_clear(&d);
}

/* ---- INSTALL ---- */

typedef struct inst_fields {
	pcard_rd f[6];
} inst_fields;

static int
split6(const card_cmd *cmd, inst_fields *fl)
{
	pcard_rd rd;

	pcard_rd_init(&rd, cmd->a.data, cmd->a.lc);
	for (int i = 0; i < 6; i++)
		if (rd_blv(&rd, &fl->f[i]) != PCARD_OK)
			return 0;
	return pcard_rd_expect_end(&rd) == PCARD_OK;
}

/* Install parameters: C9 value, EF { C7, C8 } quotas. */
static int
parse_params(pcard_rd p, pcard_rd *c9, uint32_t *vq, uint32_t *nvq, int *has_c9)
{
	uint32_t tag;
	pcard_rd val, in, q;

	*has_c9 = 0;
	*vq = *nvq = 0;
	pcard_rd_init(c9, NULL, 0);
	while (pcard_rd_left(&p) > 0) {
		if (pcard_tlv_next(&p, &tag, &val) != PCARD_OK)
			return 0;
		if (tag == 0xC9) {
			*c9 = val;
			*has_c9 = 1;
		} else if (tag == 0xEF) {
			in = val;
			while (pcard_rd_left(&in) > 0) {
				uint32_t t2, v = 0;
				uint8_t b;

				if (pcard_tlv_next(&in, &t2, &q) != PCARD_OK || pcard_rd_left(&q) > 4)
					return 0;
				while (pcard_rd_u8(&q, &b) == PCARD_OK)
					v = v << 8 | b;
				if (t2 == 0xC7)
					*vq = v;
				else if (t2 == 0xC8)
					*nvq = v;
			}
		}
	}
	return 1;
}

static int
privs_from(const pcard_rd *v, uint8_t priv[3])
{
	size_t n = pcard_rd_left(v);
	const uint8_t *p = pcard_rd_ptr(v);

	memset(priv, 0, 3);
	if (n != 1 && n != 3)
		return 0;
	memcpy(priv, p, n);
	return 1;
}

/* An SSD grants only privileges it holds itself (plus Security Domain). */
static int
privs_grantable(pcard_card *c, const pcard_card_app *sd, const uint8_t priv[3])
{
	if (sd == &c->cs.isd)
		return 1;
	return (priv[0] & (uint8_t)~(sd->priv[0] | PCARD_PRIV1_SD)) == 0 &&
	    (priv[1] & (uint8_t)~sd->priv[1]) == 0 && (priv[2] & (uint8_t)~sd->priv[2]) == 0;
}

static void
set_default_selected(pcard_card *c, pcard_card_app *a)
{
	for (size_t i = 0; i < c->cs.napps; i++)
		c->cs.apps[i].default_selected = 0;
	a->default_selected = 1;
}

static uint16_t
install_for_load(pcard_card *c, card_chan *ch, pcard_card_app *sd, const inst_fields *fl,
    int dm)
{
	pcard_card_elf *e = &ch->load_elf;
	pcard_rd p = fl->f[3], val, q;
	uint32_t tag;
	size_t hl = pcard_rd_left(&fl->f[2]);

	card_load_drop(ch);
	if (!aid_from_rd(&fl->f[0], &e->aid, 0) || !aid_from_rd(&fl->f[1], &e->sd, 1) ||
	    (hl != 0 && hl != 20 && hl != 32 && hl != 48 && hl != 64))
		return SW_WRONG_DATA;
	if (e->sd.len == 0)
		e->sd = sd->aid;
	if (pcard_cardstate_sd_find(&c->cs, &e->sd) == NULL)
		return SW_REF_NOT_FOUND;
	if (!card_sd_owns(c, sd, &e->sd))
		return SW_SECURITY;
	if (pcard_cardstate_elf_find(&c->cs, &e->aid) != NULL ||
	    pcard_cardstate_app_find(&c->cs, &e->aid) != NULL ||
	    pcard_aid_eq(&e->aid, &c->cs.isd.aid))
		return SW_CONDITIONS;
	if (dm && hl == 0)
		return SW_WRONG_DATA;
	memcpy(e->hash, pcard_rd_ptr(&fl->f[2]), hl);
	e->hash_len = (uint8_t)hl;
	while (pcard_rd_left(&p) > 0) {
		if (pcard_tlv_next(&p, &tag, &val) != PCARD_OK)
			return SW_WRONG_DATA;
		if (tag != 0xEF)
			continue;
		while (pcard_rd_left(&val) > 0) {
			uint32_t t2, v = 0;
			uint8_t b;

			if (pcard_tlv_next(&val, &t2, &q) != PCARD_OK || pcard_rd_left(&q) > 4)
				return SW_WRONG_DATA;
			while (pcard_rd_u8(&q, &b) == PCARD_OK)
				v = v << 8 | b;
			if (t2 == 0xC6 || t2 == 0xC8)
				ch->load_nv_code += v;
			else if (t2 == 0xC7 && v > VOLATILE_BYTES)
				return SW_NO_MEMORY;
		}
	}
	if (ch->load_nv_code > c->cs.nvm_size - c->cs.nvm_used)
		return SW_NO_MEMORY;
	ch->load_active = 1 + dm;	/* 2: delegated, a receipt may follow */
	return SW_OK;
}

static uint16_t
install_for_install(pcard_card *c, card_chan *ch, pcard_card_app *sd, const inst_fields *fl,
    uint8_t p1, uint8_t level)
{
	pcard_card_app app;
	pcard_card_elf *e;
	pcard_rd c9;
	uint32_t vq, nvq;
	int has_c9;
	size_t mi;
	uint16_t sw = SW_OK;

	(void)ch;
	memset(&app, 0, sizeof app);
	if (!aid_from_rd(&fl->f[0], &app.elf, 0) || !aid_from_rd(&fl->f[1], &app.module, 0) ||
	    !aid_from_rd(&fl->f[2], &app.aid, 1) || !privs_from(&fl->f[3], app.priv) ||
	    pcard_rd_left(&fl->f[4]) > PCARD_CS_PARAMS_MAX ||
	    !parse_params(fl->f[4], &c9, &vq, &nvq, &has_c9))
		return SW_WRONG_DATA;
	if (app.aid.len == 0)
		app.aid = app.module;
	e = pcard_cardstate_elf_find(&c->cs, &app.elf);
	if (e == NULL || pcard_cardstate_module_find(&c->cs, &app.module, &mi) != e)
		return SW_REF_NOT_FOUND;
	/* the Security Domain package (a ROM load file, cardstate.c) makes only SDs */
	if (e->rom && e->aid.len == sizeof ssd_pkg &&
	    memcmp(e->aid.b, ssd_pkg, sizeof ssd_pkg) == 0 && !(app.priv[0] & PCARD_PRIV1_SD))
		return SW_WRONG_DATA;
	if (pcard_cardstate_app_find(&c->cs, &app.aid) != NULL ||
	    pcard_cardstate_elf_find(&c->cs, &app.aid) != NULL ||
	    pcard_aid_eq(&app.aid, &c->cs.isd.aid))
		return SW_CONDITIONS;
	if (!privs_grantable(c, sd, app.priv))
		return SW_WRONG_DATA;
	if (vq > VOLATILE_BYTES || nvq > c->cs.nvm_size - c->cs.nvm_used)
		return SW_NO_MEMORY;
	app.params_len = (uint8_t)pcard_rd_left(&fl->f[4]);
	memcpy(app.params, pcard_rd_ptr(&fl->f[4]), app.params_len);
	app.nv_quota = nvq;
	app.v_quota = vq;
	app.sd = sd->aid;
	app.life_cycle = (p1 & PCARD_INSTALL_FOR_MAKE_SELECTABLE) ? PCARD_APP_SELECTABLE :
	    PCARD_APP_INSTALLED;
	if (app.priv[0] & PCARD_PRIV1_SD) {
		pcard_rd in = c9, v;
		uint32_t tag;

		app.is_sd = 1;
		app.sd_info.scp = sd->sd_info.scp;
		app.sd_info.i = sd->sd_info.i;
		while (pcard_rd_left(&in) > 0) {
			if (pcard_tlv_next(&in, &tag, &v) != PCARD_OK)
				return SW_WRONG_DATA;
			if (tag == 0x81) {
				uint8_t s, i;

				if (pcard_rd_u8(&v, &s) != PCARD_OK || pcard_rd_u8(&v, &i) != PCARD_OK ||
				    !pcard_scp_level_ok(s, i, 0))
					return SW_WRONG_DATA;
				app.sd_info.scp = s;
				app.sd_info.i = i;
			}
		}
		/* initial key set: a copy of the installing SD's default set, counters zero */
		if (app.sd_info.scp == sd->sd_info.scp && sd->sd_info.nkeysets > 0) {
			pcard_card_keyset ks = sd->sd_info.keysets[0];

			ks.seq = 0;
			ks.fails = 0;
			ks.blocked = 0;
			app.sd_info.keysets = NULL;
			app.sd_info.nkeysets = 0;
			if (pcard_card_sd_keyset_put(&app, &ks) != PCARD_OK) {
				pcard_wipe(&ks, sizeof ks);
				pcard_card_app_clear(&app);
				return SW_MEMORY_FAIL;
			}
			pcard_wipe(&ks, sizeof ks);
		}
	}
	if (app.priv[0] & PCARD_PRIV1_CARD_RESET && app.life_cycle == PCARD_APP_SELECTABLE)
		app.default_selected = 1;
	if (pcard_cardstate_app_add(&c->cs, &app) != PCARD_OK) {
		pcard_card_app_clear(&app);
		return SW_WRONG_DATA;
	}
	{
		pcard_aid aid = app.aid;
		pcard_card_app *na = pcard_cardstate_app_find(&c->cs, &aid);

		pcard_card_app_clear(&app);
		if (na->default_selected)
			set_default_selected(c, na);
		if (!na->is_sd) {
			const pcard_applet_ops *ops = card_applet_of(c, na);
			pcard_applet_env env;

			if (ops->install != NULL) {
				card_env_init(&env, c, na, (uint8_t)(ch - c->ch), level);
				sw = ops->install(&env, pcard_rd_ptr(&c9), pcard_rd_left(&c9));
			}
		}
	}
	return sw;
}

static uint16_t
make_selectable(pcard_card *c, pcard_card_app *sd, const inst_fields *fl)
{
	pcard_aid aid;
	pcard_card_app *a;
	uint8_t priv[3];
	size_t pl = pcard_rd_left(&fl->f[3]);

	if (!aid_from_rd(&fl->f[2], &aid, 0) || (pl != 0 && !privs_from(&fl->f[3], priv)))
		return SW_WRONG_DATA;
	if ((a = pcard_cardstate_app_find(&c->cs, &aid)) == NULL)
		return SW_REF_NOT_FOUND;
	if (!card_sd_owns(c, sd, &a->sd))
		return SW_SECURITY;
	if (a->life_cycle == PCARD_APP_INSTALLED)
		a->life_cycle = PCARD_APP_SELECTABLE;
	else if (pl == 0 || (a->life_cycle & PCARD_APP_LOCKED_BIT))
		return SW_CONDITIONS;
	if (pl != 0 && (priv[0] & PCARD_PRIV1_CARD_RESET)) {
		a->priv[0] |= PCARD_PRIV1_CARD_RESET;
		set_default_selected(c, a);
	}
	return SW_OK;
}

static uint16_t
extradite(pcard_card *c, pcard_card_app *sd, const inst_fields *fl, pcard_aid *from,
    pcard_aid *what, pcard_aid *to)
{
	pcard_card_app *a, *dst;
	pcard_card_elf *e = NULL;
	pcard_aid *owner;

	if (!aid_from_rd(&fl->f[0], to, 0) || !aid_from_rd(&fl->f[2], what, 0) ||
	    pcard_rd_left(&fl->f[1]) != 0 || pcard_rd_left(&fl->f[3]) != 0)
		return SW_WRONG_DATA;
	if ((dst = pcard_cardstate_sd_find(&c->cs, to)) == NULL)
		return SW_REF_NOT_FOUND;
	a = pcard_cardstate_app_find(&c->cs, what);
	if (a == NULL && (e = pcard_cardstate_elf_find(&c->cs, what)) == NULL)
		return SW_REF_NOT_FOUND;
	if ((a != NULL && pcard_aid_eq(&a->aid, to)) || (e != NULL && e->rom))
		return SW_CONDITIONS;
	owner = a != NULL ? &a->sd : &e->sd;
	if (!card_sd_owns(c, sd, owner))
		return SW_SECURITY;
	/* an SD cannot be moved under itself or one of its descendants */
	if (a != NULL && a->is_sd && card_sd_owns(c, a, to))
		return SW_CONDITIONS;
	*from = *owner;
	*owner = *to;
	(void)dst;
	return SW_OK;
}

static uint16_t
registry_update(pcard_card *c, pcard_card_app *sd, const inst_fields *fl)
{
	pcard_aid to, aid;
	pcard_card_app *a;
	uint8_t priv[3];
	size_t pl = pcard_rd_left(&fl->f[3]);

	if (!aid_from_rd(&fl->f[0], &to, 1) || !aid_from_rd(&fl->f[2], &aid, 0) ||
	    (pl != 0 && !privs_from(&fl->f[3], priv)))
		return SW_WRONG_DATA;
	if ((a = pcard_cardstate_app_find(&c->cs, &aid)) == NULL)
		return SW_REF_NOT_FOUND;
	if (!card_sd_owns(c, sd, &a->sd))
		return SW_SECURITY;
	if (to.len != 0) {
		if (pcard_cardstate_sd_find(&c->cs, &to) == NULL)
			return SW_REF_NOT_FOUND;
		if (a->is_sd && card_sd_owns(c, a, &to))
			return SW_CONDITIONS;
		a->sd = to;
	}
	if (pl != 0) {
		/* the SD bit cannot be changed by a registry update */
		if ((priv[0] ^ a->priv[0]) & PCARD_PRIV1_SD)
			return SW_WRONG_DATA;
		if (!privs_grantable(c, sd, priv))
			return SW_WRONG_DATA;
		memcpy(a->priv, priv, 3);
		if (priv[0] & PCARD_PRIV1_CARD_RESET)
			set_default_selected(c, a);
		else
			a->default_selected = 0;
	}
	return SW_OK;
}

void
card_install(pcard_card *c, const card_cmd *cmd, pcard_card_app *sd, card_rsp *r)
{
	card_chan *ch = &c->ch[cmd->chan];
	uint8_t p1 = cmd->a.p1 & (uint8_t)~PCARD_INSTALL_MORE, p2 = cmd->a.p2;
	pcard_aid sd_aid = sd->aid, from, what, to;
	inst_fields fl;
	uint16_t sw;
	int dm = 0;

	if ((p1 != 0x02 && p1 != 0x04 && p1 != 0x08 && p1 != 0x0C && p1 != 0x10 &&
	    p1 != 0x20 && p1 != 0x40) || p2 != 0x00) {
		r->sw = SW_WRONG_P1P2;
		return;
	}
	if (!split6(cmd, &fl) && !(p1 == 0x02 && cmd->a.lc > 0)) {
		r->sw = SW_WRONG_DATA;
		return;
	}
	if (p1 == 0x02) {
		pcard_rd rd;

		pcard_rd_init(&rd, cmd->a.data, cmd->a.lc);
		for (int i = 0; i < 5; i++)
			if (rd_blv(&rd, &fl.f[i]) != PCARD_OK) {
				r->sw = SW_WRONG_DATA;
				return;
			}
		if (pcard_rd_expect_end(&rd) != PCARD_OK) {
			r->sw = SW_WRONG_DATA;
			return;
		}
	}
	if (p1 == 0x20) {
		pcard_aid aid;
		pcard_card_app *a;

		if (!aid_from_rd(&fl.f[2], &aid, 0)) {
			r->sw = SW_WRONG_DATA;
			return;
		}
		if ((a = pcard_cardstate_app_find(&c->cs, &aid)) == NULL) {
			r->sw = SW_REF_NOT_FOUND;
			return;
		}
		if (!card_sd_owns(c, sd, &a->sd)) {
			r->sw = SW_SECURITY;
			return;
		}
		ch->perso = 1;
		ch->perso_aid = aid;
		ch->sd_next = 0;
		r->data[0] = 0x00;
		r->len = 1;
		r->sw = SW_OK;
		return;
	}
	if ((sw = dm_check(c, sd, cmd, &dm)) != SW_OK) {
		r->sw = sw;
		return;
	}
	if (p1 == 0x02) {
		sw = install_for_load(c, ch, sd, &fl, dm);
		if (sw != SW_OK)
			card_load_drop(ch);
		else {
			r->data[0] = 0x00;
			r->len = 1;
		}
		r->sw = sw;
		return;
	}
	if (card_txn_begin(c) != PCARD_OK) {
		r->sw = SW_MEMORY_FAIL;
		return;
	}
	sd = pcard_cardstate_sd_find(&c->cs, &sd_aid);
	switch (p1) {
	case 0x04:
	case 0x0C:
		sw = install_for_install(c, ch, sd, &fl, p1, cmd->level);
		if (sw == SW_OK) {
			pcard_aid elf, inst;

			(void)aid_from_rd(&fl.f[0], &elf, 0);
			if (!aid_from_rd(&fl.f[2], &inst, 0))
				(void)aid_from_rd(&fl.f[1], &inst, 0);
			respond(c, dm, PCARD_RECEIPT_INSTALL, &elf, &inst, NULL, r);
		}
		break;
	case 0x08:
		sw = make_selectable(c, sd, &fl);
		if (sw == SW_OK) {
			pcard_aid inst, none;

			memset(&none, 0, sizeof none);
			(void)aid_from_rd(&fl.f[2], &inst, 0);
			respond(c, dm, PCARD_RECEIPT_INSTALL, &none, &inst, NULL, r);
		}
		break;
	case 0x10:
		sw = extradite(c, sd, &fl, &from, &what, &to);
		if (sw == SW_OK)
			respond(c, dm, PCARD_RECEIPT_EXTRADITION, &from, &what, &to, r);
		break;
	default:
		sw = registry_update(c, sd, &fl);
		if (sw == SW_OK) {
			r->data[0] = 0x00;
			r->len = 1;
		}
		break;
	}
	r->sw = card_txn_end(c, sw);
	if (r->sw != SW_OK)
		r->len = 0;
}

/* ---- LOAD ---- */

static pcard_hash
hash_by_len(size_t n)
{
	switch (n) {
	case 20: return PCARD_HASH_SHA1;
	case 32: return PCARD_HASH_SHA256;
	case 48: return PCARD_HASH_SHA384;
	case 64: return PCARD_HASH_SHA512;
	default: return PCARD_HASH_NONE;
	}
}

/* DAP verification (CS C.3): for the target SD when it has DAP Verification, and for every
 * SD with Mandated DAP Verification. */
static uint16_t
dap_checks(pcard_card *c, const pcard_card_elf *e, const uint8_t *blocks, size_t blen)
{
	pcard_cardstate *cs = &c->cs;

	for (size_t i = 0; i <= cs->napps; i++) {
		pcard_card_app *s = i == 0 ? &cs->isd : &cs->apps[i - 1];
		int need;
		pcard_rd rd;
		int found = 0;

		if (!s->is_sd)
			continue;
		need = ((s->priv[0] & 0xC1) == 0xC1) ||
		    (pcard_aid_eq(&s->aid, &e->sd) && (s->priv[0] & 0xC0) == 0xC0);
		if (!need)
			continue;
		if (e->hash_len == 0)
			return SW_WRONG_DATA;
		pcard_rd_init(&rd, blocks, blen);
		while (pcard_rd_left(&rd) > 0) {
			const uint8_t *aid, *sig, *start = pcard_rd_ptr(&rd);
			size_t aid_len, sig_len;
			card_dk d;
			pcard_err err;

			if (pcard_dap_block_parse(&rd, &aid, &aid_len, &sig, &sig_len) != PCARD_OK)
				return SW_WRONG_DATA;
			if (aid_len != s->aid.len || memcmp(aid, s->aid.b, aid_len) != 0)
				continue;
			(void)start;
			found = 1;
			if (dk_load(s, &s->sd_info.dap, &d) != PCARD_OK) {
				dk_clear(&d);
				return SW_SECURITY;
			}
			err = pcard_dap_verify(&d.dk, e->hash, e->hash_len, sig, sig_len);
			dk_clear(&d);
			if (err != PCARD_OK)
				return SW_SECURITY;
		}
		if (!found)
			return SW_SECURITY;
	}
	return SW_OK;
}

static int
import_ok(pcard_cardstate *cs, const pcard_cap_import *im)
{
	pcard_aid aid;
	pcard_card_elf *e;

	if (pcard_aid_set(&aid, im->aid.b, im->aid.len) != PCARD_OK ||
	    (e = pcard_cardstate_elf_find(cs, &aid)) == NULL)
		return 0;
	return e->major == im->major && im->minor <= e->minor;
}

static uint16_t
load_finish(pcard_card *c, card_chan *ch, card_rsp *r)
{
	pcard_card_elf *e = &ch->load_elf;
	pcard_rd rd, val;
	uint32_t tag;
	const uint8_t *blocks = pcard_rd_ptr(&rd), *lfdb;
	size_t blen = 0, lfdb_len;
	pcard_cap *cap = NULL;
	const pcard_cap_info *info;
	uint8_t h[PCARD_MAX_HASH_BYTES];
	size_t hl;
	uint32_t size;
	uint16_t sw = SW_WRONG_DATA;
	int dm = ch->load_active == 2;

	pcard_rd_init(&rd, ch->load_buf, ch->load_len);
	blocks = pcard_rd_ptr(&rd);
	for (;;) {
		pcard_rd save = rd;

		if (pcard_tlv_next(&rd, &tag, &val) != PCARD_OK)
			return SW_WRONG_DATA;
		if (tag == 0xE2) {
			blen += pcard_rd_left(&save) - pcard_rd_left(&rd);
			continue;
		}
		if (tag != 0xC4 || pcard_rd_expect_end(&rd) != PCARD_OK)
			return SW_WRONG_DATA;	/* D3/D4 ciphered load files are not supported */
		break;
	}
	lfdb = pcard_rd_ptr(&val);
	lfdb_len = pcard_rd_left(&val);
	if (e->hash_len > 0) {
		if (pcard_digest(hash_by_len(e->hash_len), lfdb, lfdb_len, h, sizeof h, &hl) !=
		    PCARD_OK || hl != e->hash_len || !pcard_ct_eq(h, e->hash, hl))
			return SW_WRONG_DATA;
	}
	if ((sw = dap_checks(c, e, blocks, blen)) != SW_OK)
		return sw;
	if (pcard_cap_open_lfdb(lfdb, lfdb_len, &cap) != PCARD_OK)
		return SW_WRONG_DATA;
	info = pcard_cap_get_info(cap);
	sw = SW_WRONG_DATA;
	if (info->package.len != e->aid.len ||
	    memcmp(info->package.b, e->aid.b, e->aid.len) != 0 ||
	    info->napplets > PCARD_CS_MAX_MODULES || info->nimports > PCARD_CS_MAX_IMPORTS)
		goto out;
	for (size_t i = 0; i < info->nimports; i++)
		if (!import_ok(&c->cs, &info->imports[i])) {
			sw = SW_IMPORT_MISSING;
			goto out;
		}
	size = (uint32_t)lfdb_len;
	if (ch->load_nv_code > size)
		size = ch->load_nv_code;
	if (size > c->cs.nvm_size - c->cs.nvm_used) {
		sw = SW_NO_MEMORY;
		goto out;
	}
	e->major = info->pkg_major;
	e->minor = info->pkg_minor;
	e->size = size;
	e->nmodules = (uint8_t)info->napplets;
	for (size_t i = 0; i < info->napplets; i++)
		if (pcard_aid_set(&e->modules[i], info->applets[i].aid.b,
		    info->applets[i].aid.len) != PCARD_OK)
			goto out;
	e->nimports = (uint8_t)info->nimports;
	for (size_t i = 0; i < info->nimports; i++) {
		if (pcard_aid_set(&e->imports[i].aid, info->imports[i].aid.b,
		    info->imports[i].aid.len) != PCARD_OK)
			goto out;
		e->imports[i].major = info->imports[i].major;
		e->imports[i].minor = info->imports[i].minor;
	}
	if (card_txn_begin(c) != PCARD_OK) {
		sw = SW_MEMORY_FAIL;
		goto out;
	}
	if (pcard_cardstate_elf_add(&c->cs, e) != PCARD_OK) {
		sw = card_txn_end(c, SW_WRONG_DATA);
		goto out;
	}
	c->cs.nvm_used += size;
	respond(c, dm, PCARD_RECEIPT_LOAD, &e->aid, &e->sd, NULL, r);
	sw = card_txn_end(c, SW_OK);
out:
	pcard_cap_free(cap);
	return sw;
}

void
card_load(pcard_card *c, const card_cmd *cmd, pcard_card_app *sd, card_rsp *r)
{
	card_chan *ch = &c->ch[cmd->chan];
	uint8_t p1 = cmd->a.p1;

	(void)sd;
	if (!ch->load_active) {
		r->sw = SW_CONDITIONS;
		return;
	}
	if ((p1 != 0x00 && p1 != 0x80) || cmd->a.p2 != ch->load_next) {
		card_load_drop(ch);
		r->sw = SW_WRONG_P1P2;
		return;
	}
	if (cmd->a.lc > 0) {
		if (ch->load_len + cmd->a.lc > LOAD_MAX_BYTES ||
		    ch->load_len + cmd->a.lc > (size_t)(c->cs.nvm_size - c->cs.nvm_used) + 64) {
			card_load_drop(ch);
			r->sw = SW_NO_MEMORY;
			return;
		}
		if (ch->load_len + cmd->a.lc > ch->load_cap) {
			size_t ncap = ch->load_cap == 0 ? 4096 : ch->load_cap * 2;
			uint8_t *nb;

			while (ncap < ch->load_len + cmd->a.lc)
				ncap *= 2;
			if ((nb = realloc(ch->load_buf, ncap)) == NULL) {
				card_load_drop(ch);
				r->sw = SW_MEMORY_FAIL;
				return;
			}
			ch->load_buf = nb;
			ch->load_cap = ncap;
		}
		memcpy(ch->load_buf + ch->load_len, cmd->a.data, cmd->a.lc);
		ch->load_len += cmd->a.lc;
	}
	if (p1 == 0x00) {
		if (ch->load_next == 0xFF) {
			card_load_drop(ch);
			r->sw = SW_WRONG_P1P2;
			return;
		}
		ch->load_next++;
		r->sw = SW_OK;
		return;
	}
	r->sw = load_finish(c, ch, r);
	if (r->sw != SW_OK)
		r->len = 0;
	card_load_drop(ch);
}

/* ---- DELETE ---- */

static void
app_free_mem(pcard_cardstate *cs, const pcard_card_app *a)
{
	cs->nvm_used -= a->nv_used < cs->nvm_used ? a->nv_used : cs->nvm_used;
}

/* Delete an app or SSD and (related) everything associated with it. */
static uint16_t
delete_app(pcard_card *c, pcard_card_app *sd, const pcard_aid *aid, int related, int depth)
{
	pcard_card_app *a = pcard_cardstate_app_find(&c->cs, aid);
	uint16_t sw;

	if (a == NULL || depth > 16)
		return SW_REF_NOT_FOUND;
	if (a->is_sd) {
		for (size_t i = 0; i < c->cs.napps; i++) {
			pcard_aid child;

			if (!pcard_aid_eq(&c->cs.apps[i].sd, aid))
				continue;
			if (!related)
				return SW_CONDITIONS;
			child = c->cs.apps[i].aid;
			if ((sw = delete_app(c, sd, &child, 1, depth + 1)) != SW_OK)
				return sw;
			i = (size_t)-1;	/* the array moved: rescan */
		}
		for (size_t i = 0; i < c->cs.nelfs; i++)
			if (pcard_aid_eq(&c->cs.elfs[i].sd, aid)) {
				if (!related)
					return SW_CONDITIONS;
				c->cs.elfs[i].sd = c->cs.isd.aid;	/* ELFs go back to the ISD */
			}
	}
	a = pcard_cardstate_app_find(&c->cs, aid);
	app_free_mem(&c->cs, a);
	card_deselect_all(c, aid);
	return pcard_cardstate_app_remove(&c->cs, aid) == PCARD_OK ? SW_OK : SW_UNKNOWN;
}

static uint16_t
delete_elf(pcard_card *c, pcard_card_app *sd, const pcard_aid *aid, int related)
{
	pcard_card_elf *e = pcard_cardstate_elf_find(&c->cs, aid);
	uint32_t size;
	uint16_t sw;

	if (e->rom)
		return SW_CONDITIONS;
	for (size_t i = 0; i < c->cs.nelfs; i++)
		for (size_t k = 0; k < c->cs.elfs[i].nimports; k++)
			if (pcard_aid_eq(&c->cs.elfs[i].imports[k].aid, aid))
				return SW_CONDITIONS;
	for (size_t i = 0; i < c->cs.napps; i++) {
		pcard_aid inst;

		if (!pcard_aid_eq(&c->cs.apps[i].elf, aid))
			continue;
		if (!related)
			return SW_CONDITIONS;
		inst = c->cs.apps[i].aid;
		if ((sw = delete_app(c, sd, &inst, 1, 0)) != SW_OK)
			return sw;
		i = (size_t)-1;
	}
	e = pcard_cardstate_elf_find(&c->cs, aid);
	size = e->size;
	c->cs.nvm_used -= size < c->cs.nvm_used ? size : c->cs.nvm_used;
	return pcard_cardstate_elf_remove(&c->cs, aid) == PCARD_OK ? SW_OK : SW_UNKNOWN;
}

static uint16_t
delete_key(pcard_card *c, pcard_card_app *sd, int have_id, uint8_t id, int have_kvn,
    uint8_t kvn)
{
	pcard_card_keyset *ks;

	if (!have_kvn)
		return SW_WRONG_DATA;
	if ((ks = pcard_card_sd_keyset_find(sd, kvn)) == NULL)
		return SW_REF_NOT_FOUND;
	if (!have_id)
		return pcard_card_sd_keyset_remove(sd, kvn) == PCARD_OK ? SW_OK : SW_UNKNOWN;
	for (size_t i = 0; i < ks->nkeys; i++)
		if (ks->keys[i].id == id) {
			pcard_wipe(&ks->keys[i], sizeof ks->keys[i]);
			memmove(&ks->keys[i], &ks->keys[i + 1], (ks->nkeys - i - 1) *
			    sizeof ks->keys[i]);
			ks->nkeys--;
			if (ks->nkeys == 0)
				(void)pcard_card_sd_keyset_remove(sd, kvn);
			return SW_OK;
		}
	return SW_REF_NOT_FOUND;
}

void
card_delete(pcard_card *c, const card_cmd *cmd, pcard_card_app *sd, card_rsp *r)
{
	pcard_rd rd, val;
	uint32_t tag;
	pcard_aid aid, sd_aid = sd->aid;
	int have_aid = 0, have_id = 0, have_kvn = 0, related = cmd->a.p2 == 0x80, dm = 0;
	uint8_t id = 0, kvn = 0;
	uint16_t sw;
	pcard_card_app *a;
	pcard_card_elf *e;

	if (cmd->a.p1 != 0x00 || (cmd->a.p2 != 0x00 && cmd->a.p2 != 0x80)) {
		r->sw = SW_WRONG_P1P2;
		return;
	}
	pcard_rd_init(&rd, cmd->a.data, cmd->a.lc);
	while (pcard_rd_left(&rd) > 0) {
		if (pcard_tlv_next(&rd, &tag, &val) != PCARD_OK) {
			r->sw = SW_WRONG_DATA;
			return;
		}
		if (tag == 0x4F && !have_aid) {
			if (pcard_aid_set(&aid, pcard_rd_ptr(&val), pcard_rd_left(&val)) != PCARD_OK) {
				r->sw = SW_WRONG_DATA;
				return;
			}
			have_aid = 1;
		} else if ((tag == 0xD0 || tag == 0xD2) && pcard_rd_left(&val) == 1) {
			if (tag == 0xD0) {
				have_id = 1;
				(void)pcard_rd_u8(&val, &id);
			} else {
				have_kvn = 1;
				(void)pcard_rd_u8(&val, &kvn);
			}
		} else if (tag != 0xB6 && tag != 0x9E) {
			r->sw = SW_WRONG_DATA;
			return;
		}
	}
	if (have_aid == (have_id || have_kvn)) {
		r->sw = SW_WRONG_DATA;
		return;
	}
	if (have_aid) {
		if (pcard_aid_eq(&aid, &c->cs.isd.aid)) {
			r->sw = SW_CONDITIONS;
			return;
		}
		a = pcard_cardstate_app_find(&c->cs, &aid);
		e = a == NULL ? pcard_cardstate_elf_find(&c->cs, &aid) : NULL;
		if (a == NULL && e == NULL) {
			r->sw = SW_REF_NOT_FOUND;
			return;
		}
		if (!card_sd_owns(c, sd, a != NULL ? &a->sd : &e->sd) &&
		    !(sd->priv[1] & PCARD_PRIV2_GLOBAL_DELETE)) {
			r->sw = SW_SECURITY;
			return;
		}
		if ((sw = dm_check(c, sd, cmd, &dm)) != SW_OK) {
			r->sw = sw;
			return;
		}
	}
	if (card_txn_begin(c) != PCARD_OK) {
		r->sw = SW_MEMORY_FAIL;
		return;
	}
	sd = pcard_cardstate_sd_find(&c->cs, &sd_aid);
	if (!have_aid) {
		sw = delete_key(c, sd, have_id, id, have_kvn, kvn);
		if (sw == SW_OK) {
			card_sd_keyrefs(sd, 0);
			r->data[0] = 0x00;
			r->len = 1;
		}
	} else {
		if (pcard_cardstate_app_find(&c->cs, &aid) != NULL)
			sw = delete_app(c, sd, &aid, related, 0);
		else
			sw = delete_elf(c, sd, &aid, related);
		if (sw == SW_OK)
			respond(c, dm, PCARD_RECEIPT_DELETE, &aid, NULL, NULL, r);
	}
	r->sw = card_txn_end(c, sw);
	if (r->sw != SW_OK)
		r->len = 0;
}
