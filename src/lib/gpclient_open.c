/*
 * gpclient_open.c: opening the secure channel with master keys and a diversification
 * template, checking the card cryptogram before EXTERNAL AUTHENTICATE.
 *
 *   host                                   card
 *   INITIALIZE UPDATE (host challenge) ->
 *                                       <- KDD | KVN | SCP | [i] | card challenge | cryptogram
 *   derive card keys from KDD (template), session keys, expected card cryptogram
 *   match?  no -> try the other templates on the SAME response, offline; stop (PCARD_E_AUTH)
 *           yes -> EXTERNAL AUTHENTICATE (host cryptogram, C-MAC) ->
 *
 * pcard_scp_host_auth re-runs on a saved response with other keys: a scratch pcard_scp is
 * initialised with the same host challenge (pcard_scp_host_params.host_chal), so it expects
 * exactly what the card computed.
 */
#include <stdio.h>
#include <string.h>

#include "gpclient_int.h"

/* Templates tried when the asked one does not reproduce the card cryptogram. */
static const char *const guess_order[] = { "none", "emv", "visa2", "visa", "kdf3" };

#define DEFAULT_LEVEL (PCARD_SCP_CMAC | PCARD_SCP_CDEC)

typedef struct open_ctx {
	const pcard_gpc_auth *a;
	uint8_t chal[16];
	size_t chal_len;
	uint8_t rsp[PCARD_SCP_MAX_RSP];
	size_t rsp_len;
	uint8_t scp02_i;
} open_ctx;

/* INITIALIZE UPDATE; on 6700 to an 8-byte challenge, once more with 16 bytes (S16). */
static pcard_err
init_update(pcard_gpc *g, open_ctx *o)
{
	uint8_t cmd[32];
	size_t nc = 0;
	pcard_err err;

	o->chal_len = o->a->s16 ? 16 : 8;
	for (int round = 0; round < 2; round++) {
		if ((err = pcard_random(o->chal, o->chal_len)) != PCARD_OK ||
		    (err = pcard_gp_init_update_cmd(o->a->kvn, 0, o->chal, o->chal_len, cmd,
		    sizeof cmd, &nc)) != PCARD_OK ||
		    (err = pcard_transport_transmit(g->t, cmd, nc, o->rsp, sizeof o->rsp,
		    &o->rsp_len)) != PCARD_OK)
			return err;
		gpc_note(g, cmd, nc, o->rsp, o->rsp_len);
		if (g->last_sw != 0x6700 || o->chal_len != 8 || o->a->scp == 2)
			break;
		o->chal_len = 16;
	}
	return g->last_sw == PCARD_SW_OK ? PCARD_OK : PCARD_E_CARD_STATUS;
}

/*
 * Derive the card keys with template t from the response's KDD and check the cryptogram in
 * s. On success card[] holds the keys (owned) and s the initialised session.
 */
static pcard_err
try_template(pcard_gpc *g, open_ctx *o, const pcard_keydiv *t, pcard_scp *s,
    pcard_keyh card[3])
{
	pcard_scp_host_params p;
	pcard_scp_keyset ks;
	uint8_t cmd[32];
	size_t nc = 0;
	pcard_err err;

	if (o->rsp_len < 2 + PCARD_SCP_KDD_BYTES)
		return PCARD_E_BAD_ENCODING;
	if ((err = pcard_keydiv_derive_set(o->a->keys, g->masters, t, o->rsp, card)) != PCARD_OK)
		return err;
	memset(&p, 0, sizeof p);
	p.kvn = o->a->kvn;
	p.expect_kvn = o->a->kvn;
	p.scp = o->a->scp;
	p.scp02_i = o->scp02_i;
	p.host_chal = o->chal;
	p.host_chal_len = o->chal_len;
	p.aid = g->sd.b;
	p.aid_len = g->sd.len;
	p.max_lc = gpc_max_lc(g);
	ks.enc = card[0];
	ks.mac = card[1];
	ks.dek = card[2];
	if ((err = pcard_scp_host_init_update(s, o->a->keys, &ks, &p, cmd, sizeof cmd, &nc)) ==
	    PCARD_OK)
		err = pcard_scp_host_auth(s, o->rsp, o->rsp_len);
	if (err != PCARD_OK) {
		pcard_scp_clear(s);
		pcard_keydiv_release_set(o->a->keys, g->masters, card);
	}
	return err;
}

/* Which other template reproduces the cryptogram; "" when none. Nothing is sent. */
static void
guess(pcard_gpc *g, open_ctx *o, const char *asked, char *fits, size_t cap)
{
	pcard_keyh card[3] = { PCARD_KEYH_NONE, PCARD_KEYH_NONE, PCARD_KEYH_NONE };
	pcard_keydiv t;
	pcard_scp s;

	fits[0] = '\0';
	pcard_scp_init(&s);
	for (size_t k = 0; k < sizeof guess_order / sizeof guess_order[0]; k++) {
		if (strcmp(guess_order[k], asked) == 0 ||
		    pcard_keydiv_parse(guess_order[k], &t) != PCARD_OK)
			continue;
		if (try_template(g, o, &t, &s, card) == PCARD_OK) {
			snprintf(fits, cap, "%s", guess_order[k]);
			pcard_scp_clear(&s);
			pcard_keydiv_release_set(o->a->keys, g->masters, card);
			break;
		}
	}
	pcard_scp_clear(&s);
}

static uint8_t
scp02_i_of(const pcard_gpc *g, const pcard_gpc_auth *a)
{
	if (a->i != 0)
		return a->i;
	if (g->has_crd && g->crd.has_scp && g->crd.scp == 2)
		return g->crd.scp_i;
	return 0x55;
}

static pcard_err
external_authenticate(pcard_gpc *g, uint8_t level, pcard_gpc_auth_result *res)
{
	uint8_t cmd[64], rsp[PCARD_SCP_MAX_RSP];
	size_t nc = 0, nr = 0;
	pcard_err err;

	if ((err = pcard_scp_host_ext_auth(&g->scp, level, cmd, sizeof cmd, &nc)) != PCARD_OK)
		return err;
	res->ext_auth_sent = 1;
	if ((err = pcard_transport_transmit(g->t, cmd, nc, rsp, sizeof rsp, &nr)) != PCARD_OK)
		return err;
	gpc_note(g, cmd, nc, rsp, nr);
	return pcard_scp_host_ext_auth_rsp(&g->scp, rsp, nr);
}

static void
fill_result(const pcard_gpc *g, const open_ctx *o, pcard_gpc_auth_result *res)
{
	res->scp = pcard_scp_version(&g->scp);
	res->i = pcard_scp_i(&g->scp);
	res->kvn = pcard_scp_kvn(&g->scp);
	res->seq = pcard_scp_seq(&g->scp);
	res->s16 = o->chal_len == 16;
	if (o->rsp_len >= PCARD_SCP_KDD_BYTES + 2)
		memcpy(res->kdd, o->rsp, PCARD_SCP_KDD_BYTES);
}

pcard_err
pcard_gpc_open(pcard_gpc *g, const pcard_gpc_auth *a, pcard_gpc_auth_result *res)
{
	pcard_gpc_auth_result dummy;
	open_ctx o;
	uint8_t level;
	pcard_err err = PCARD_E_INTERNAL;

	if (res == NULL)
		res = &dummy;
	memset(res, 0, sizeof *res);
	if (g == NULL || a == NULL || a->keys == NULL || (a->scp != 0 && a->scp != 2 &&
	    a->scp != 3) || a->level > 0xFF)
		return PCARD_E_INVALID_ARG;
	if (!g->selected)
		return PCARD_E_STATE;
	gpc_end_session(g);
	memset(&o, 0, sizeof o);
	o.a = a;
	o.scp02_i = scp02_i_of(g, a);
	level = a->level < 0 ? DEFAULT_LEVEL : (uint8_t)a->level;
	g->keys = a->keys;
	memcpy(g->masters, a->master, sizeof g->masters);
	if ((err = pcard_keydiv_parse(a->kdf != NULL ? a->kdf : "none", &g->div)) != PCARD_OK)
		goto out;
	snprintf(res->kdf_used, sizeof res->kdf_used, "%s", g->div.name);
	snprintf(res->kdf_fits, sizeof res->kdf_fits, "-");
	if ((err = init_update(g, &o)) != PCARD_OK)
		goto out;
	err = try_template(g, &o, &g->div, &g->scp, g->card);
	if (err == PCARD_E_AUTH && !a->no_guess)
		guess(g, &o, g->div.name, res->kdf_fits, sizeof res->kdf_fits);
	if (err != PCARD_OK)
		goto out;
	fill_result(g, &o, res);
	res->level = level;
	if ((err = external_authenticate(g, level, res)) != PCARD_OK)
		goto out;
	g->open = 1;
	err = PCARD_OK;
out:
	pcard_wipe(&o, sizeof o);
	if (err != PCARD_OK)
		gpc_end_session(g);
	return err;
}
