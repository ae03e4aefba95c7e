/*
 * gpclient.c: the GlobalPlatform client's core: the context, exchanges, ISD discovery and
 * card information. The secure channel is in gpclient_open.c, card content in
 * gpclient_content.c, keys and personalisation in gpclient_keys.c.
 */
#include <string.h>

#include "gpclient_int.h"

/* Known ISD AIDs (gp-facts section 0 and 3.16): GlobalPlatform, Visa, the short GP one. */
static const struct {
	size_t len;
	uint8_t b[8];
} known_isd[PCARD_GPC_N_KNOWN_ISD] = {
	{ 8, { 0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00 } },
	{ 8, { 0xA0, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00 } },
	{ 7, { 0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00 } },
};

void
pcard_gpc_init(pcard_gpc *g, pcard_transport *t)
{
	memset(g, 0, sizeof *g);
	pcard_scp_init(&g->scp);
	g->t = t;
}

void
gpc_end_session(pcard_gpc *g)
{
	pcard_scp_clear(&g->scp);
	if (g->keys != NULL)
		pcard_keydiv_release_set(g->keys, g->masters, g->card);
	g->card[0] = g->card[1] = g->card[2] = PCARD_KEYH_NONE;
	g->open = 0;
}

void
pcard_gpc_clear(pcard_gpc *g)
{
	if (g == NULL)
		return;
	gpc_end_session(g);
	g->keys = NULL;
	g->open = 0;
}

uint16_t
pcard_gpc_last_sw(const pcard_gpc *g)
{
	return g->last_sw;
}

uint8_t
pcard_gpc_last_ins(const pcard_gpc *g)
{
	return g->last_ins;
}

void
pcard_gpc_stats(const pcard_gpc *g, size_t *cmds, size_t *bytes)
{
	if (cmds != NULL)
		*cmds = g->cmds;
	if (bytes != NULL)
		*bytes = g->bytes;
}

void
pcard_gpc_set_block_size(pcard_gpc *g, size_t bs)
{
	g->bs = bs;
}

const pcard_scp *
pcard_gpc_session(const pcard_gpc *g)
{
	return g->open ? &g->scp : NULL;
}

void
gpc_note(pcard_gpc *g, const uint8_t *cmd, size_t n, const uint8_t *rsp, size_t rn)
{
	g->cmds++;
	g->bytes += n;
	g->last_ins = n >= 2 ? cmd[1] : 0;
	g->last_sw = rn >= 2 ? (uint16_t)(rsp[rn - 2] << 8 | rsp[rn - 1]) : 0;
}

pcard_err
pcard_gpc_transmit(pcard_gpc *g, int secure, const uint8_t *cmd, size_t n, uint8_t *out,
    size_t out_cap, size_t *out_len)
{
	pcard_err err;

	if (g == NULL || cmd == NULL || out == NULL || out_len == NULL || n < 4)
		return PCARD_E_INVALID_ARG;
	if (secure && !g->open)
		return PCARD_E_STATE;
	if (secure)
		err = pcard_scp_transmit(g->t, &g->scp, cmd, n, out, out_cap, out_len);
	else
		err = pcard_transport_transmit(g->t, cmd, n, out, out_cap, out_len);
	g->last_ins = cmd[1];
	if (err != PCARD_OK) {
		g->cmds++;
		g->bytes += n;
		g->last_sw = 0;
		if (err == PCARD_E_MAC || err == PCARD_E_PADDING || err == PCARD_E_SESSION_DEAD)
			gpc_end_session(g);
		return err;
	}
	gpc_note(g, cmd, n, out, *out_len);
	return PCARD_OK;
}

pcard_err
gpc_cmd(pcard_gpc *g, const uint8_t *cmd, size_t n, uint8_t *out, size_t out_cap,
    size_t *out_len)
{
	return pcard_gpc_transmit(g, g->open, cmd, n, out, out_cap, out_len);
}

pcard_err
gpc_cmd_ok(pcard_gpc *g, const uint8_t *cmd, size_t n)
{
	uint8_t rsp[PCARD_GPC_MAX_RSP];
	size_t rn = 0;
	pcard_err err;

	if ((err = gpc_cmd(g, cmd, n, rsp, sizeof rsp, &rn)) != PCARD_OK)
		return err;
	pcard_wipe(rsp, rn);
	return g->last_sw == PCARD_SW_OK ? PCARD_OK : PCARD_E_CARD_STATUS;
}

size_t
gpc_max_data(const pcard_gpc *g)
{
	size_t m = 255;

	if (g->open)
		return pcard_scp_max_data(&g->scp);
	if (g->has_fci && g->fci.max_cmd_len >= 32 && g->fci.max_cmd_len < m)
		m = g->fci.max_cmd_len;
	if (g->bs >= 32 && g->bs < m)
		m = g->bs;
	return m;
}

size_t
gpc_max_lc(const pcard_gpc *g)
{
	size_t m = 255;

	if (g->has_fci && g->fci.max_cmd_len >= 32 && g->fci.max_cmd_len < m)
		m = g->fci.max_cmd_len;
	if (g->bs >= 32 && g->bs < m)
		m = g->bs;
	return m;
}

/* ---- Selection ---- */

/* SELECT aid (empty = default); *ok = 1 when 9000 or 6283; FCI kept in g. */
static pcard_err
select_one(pcard_gpc *g, const uint8_t *aid, size_t aid_len, int *ok)
{
	uint8_t cmd[32], rsp[PCARD_GPC_MAX_RSP];
	size_t nc = 0, nr = 0;
	pcard_err err;

	*ok = 0;
	if ((err = pcard_gp_select_cmd(aid, aid_len, cmd, sizeof cmd, &nc)) != PCARD_OK ||
	    (err = pcard_transport_transmit(g->t, cmd, nc, rsp, sizeof rsp, &nr)) != PCARD_OK)
		return err;
	gpc_note(g, cmd, nc, rsp, nr);
	if (g->last_sw != PCARD_SW_OK && g->last_sw != 0x6283)
		return PCARD_OK;
	*ok = 1;
	g->card_locked = g->last_sw == 0x6283;
	g->has_fci = pcard_gp_parse_fci(rsp, nr - 2, &g->fci) == PCARD_OK;
	if (!g->has_fci)
		memset(&g->fci, 0, sizeof g->fci);
	if (g->has_fci && g->fci.has_crd) {
		g->crd = g->fci.crd;
		g->has_crd = 1;
	}
	return PCARD_OK;
}

static pcard_err
discover(pcard_gpc *g)
{
	int ok = 0;
	pcard_err err;

	if ((err = select_one(g, NULL, 0, &ok)) != PCARD_OK)
		return err;
	if (ok && g->has_fci && g->fci.aid.len > 0) {
		g->sd = g->fci.aid;
		return PCARD_OK;
	}
	for (size_t i = 0; i < PCARD_GPC_N_KNOWN_ISD; i++) {
		if ((err = select_one(g, known_isd[i].b, known_isd[i].len, &ok)) != PCARD_OK)
			return err;
		if (ok)
			return pcard_gp_aid_set(&g->sd, known_isd[i].b, known_isd[i].len);
	}
	return PCARD_E_NOT_FOUND;
}

pcard_err
pcard_gpc_select(pcard_gpc *g, const pcard_gp_aid *aid, pcard_gpc_select_result *res)
{
	int ok = 0;
	pcard_err err = PCARD_E_INTERNAL;

	if (g == NULL || g->t == NULL)
		return PCARD_E_INVALID_ARG;
	gpc_end_session(g);	/* a SELECT ends the card's session anyway */
	g->selected = 0;
	g->has_crd = 0;
	if (aid == NULL) {
		if ((err = discover(g)) != PCARD_OK)
			goto out;
	} else {
		if ((err = select_one(g, aid->b, aid->len, &ok)) != PCARD_OK)
			goto out;
		if (!ok) {
			err = PCARD_E_CARD_STATUS;
			goto out;
		}
		g->sd = *aid;
	}
	g->selected = 1;
	if (res != NULL) {
		memset(res, 0, sizeof *res);
		res->aid = g->sd;
		res->card_locked = g->card_locked;
		res->has_fci = g->has_fci;
		res->fci = g->fci;
	}
	err = PCARD_OK;
out:
	return err;
}

/* ---- Card information ---- */

/* GET DATA tag with CLA 80, then 00 when refused. *n = 0 when the card gives nothing. */
static pcard_err
get_data(pcard_gpc *g, uint16_t tag, uint8_t *out, size_t cap, size_t *n, uint16_t *sw)
{
	static const uint8_t clas[2] = { 0x80, 0x00 };
	uint8_t cmd[8];
	size_t nc = 0, nr = 0;
	pcard_err err;

	*n = 0;
	for (size_t k = 0; k < 2; k++) {
		if ((err = pcard_gp_get_data_cmd(clas[k], tag, cmd, sizeof cmd, &nc)) != PCARD_OK)
			return err;
		/* CLA 00 cannot be wrapped by GP secure messaging rules here: send it plain */
		err = pcard_gpc_transmit(g, g->open && clas[k] == 0x80, cmd, nc, out, cap, &nr);
		if (err != PCARD_OK)
			return err;
		*sw = g->last_sw;
		if (g->last_sw == PCARD_SW_OK) {
			*n = nr - 2;
			return PCARD_OK;
		}
	}
	return PCARD_OK;
}

static pcard_err
get_value(pcard_gpc *g, uint16_t tag, uint8_t *val, size_t cap, size_t *len, uint16_t *sw)
{
	uint8_t rsp[PCARD_GPC_MAX_RSP];
	size_t n = 0;
	pcard_rd v;
	pcard_err err;

	*len = 0;
	if ((err = get_data(g, tag, rsp, sizeof rsp, &n, sw)) != PCARD_OK || n == 0)
		return err;
	if ((err = pcard_gp_data_value(tag, rsp, n, &v)) != PCARD_OK)
		return err;
	if (pcard_rd_left(&v) > cap)
		return PCARD_E_BAD_ENCODING;
	*len = pcard_rd_left(&v);
	return pcard_rd_copy(&v, *len, val);
}

static pcard_err
info_ids(pcard_gpc *g, pcard_gpc_info *in)
{
	pcard_err err;

	if ((err = get_value(g, PCARD_GP_TAG_IIN, in->iin, sizeof in->iin, &in->iin_len,
	    &in->sw[1])) != PCARD_OK ||
	    (err = get_value(g, PCARD_GP_TAG_CIN, in->cin, sizeof in->cin, &in->cin_len,
	    &in->sw[2])) != PCARD_OK ||
	    (err = get_value(g, PCARD_GP_TAG_KDD, in->kdd, sizeof in->kdd, &in->kdd_len,
	    &in->sw[3])) != PCARD_OK ||
	    (err = get_value(g, PCARD_GP_TAG_SSC, in->ssc, sizeof in->ssc, &in->ssc_len,
	    &in->sw[4])) != PCARD_OK)
		return err;
	return PCARD_OK;
}

static pcard_err
info_structs(pcard_gpc *g, pcard_gpc_info *in)
{
	uint8_t rsp[PCARD_GPC_MAX_RSP];
	size_t n = 0;
	pcard_err err;

	if ((err = get_data(g, PCARD_GP_TAG_CPLC, rsp, sizeof rsp, &n, &in->sw[0])) != PCARD_OK)
		return err;
	if (n > 0 && (err = pcard_gp_parse_cplc(rsp, n, &in->cplc)) != PCARD_OK)
		return err;
	in->has_cplc = n > 0;
	if ((err = get_data(g, PCARD_GP_TAG_CRD, rsp, sizeof rsp, &n, &in->sw[5])) != PCARD_OK)
		return err;
	if (n > 0) {
		if ((err = pcard_gp_parse_crd(rsp, n, &in->crd)) != PCARD_OK)
			return err;
		in->has_crd = 1;
		g->crd = in->crd;
		g->has_crd = 1;
	} else if (g->has_crd) {
		in->crd = g->crd;
		in->has_crd = 1;
	}
	if ((err = get_data(g, PCARD_GP_TAG_CAPS, rsp, sizeof rsp, &n, &in->sw[6])) != PCARD_OK)
		return err;
	if (n > 0 && (err = pcard_gp_parse_caps(rsp, n, &in->caps)) != PCARD_OK)
		return err;
	in->has_caps = n > 0;
	if ((err = get_data(g, PCARD_GP_TAG_KEYINFO, rsp, sizeof rsp, &n, &in->sw[7])) !=
	    PCARD_OK)
		return err;
	if (n > 0 && (err = pcard_gp_parse_keyinfo(rsp, n, in->keys, PCARD_GPC_MAX_KEYINFO,
	    &in->n_keys)) != PCARD_OK)
		return err == PCARD_E_NOSPACE ? PCARD_E_UNSUPPORTED : err;
	return PCARD_OK;
}

pcard_err
pcard_gpc_info_read(pcard_gpc *g, pcard_gpc_info *info)
{
	pcard_err err;

	if (g == NULL || info == NULL)
		return PCARD_E_INVALID_ARG;
	memset(info, 0, sizeof *info);
	if ((err = info_structs(g, info)) != PCARD_OK || (err = info_ids(g, info)) != PCARD_OK)
		return err;
	return PCARD_OK;
}

pcard_err
pcard_gpc_card_scp(pcard_gpc *g, uint8_t *scp, uint8_t *i)
{
	uint8_t rsp[PCARD_GPC_MAX_RSP];
	size_t n = 0;
	uint16_t sw = 0;
	pcard_err err;

	if (g == NULL || scp == NULL || i == NULL)
		return PCARD_E_INVALID_ARG;
	*scp = *i = 0;
	if (!g->has_crd) {
		if ((err = get_data(g, PCARD_GP_TAG_CRD, rsp, sizeof rsp, &n, &sw)) != PCARD_OK)
			return err;
		if (n > 0 && pcard_gp_parse_crd(rsp, n, &g->crd) == PCARD_OK)
			g->has_crd = 1;
	}
	if (g->has_crd && g->crd.has_scp) {
		*scp = g->crd.scp;
		*i = g->crd.scp_i;
	}
	return PCARD_OK;
}

pcard_err
pcard_gpc_apdu(pcard_gpc *g, int secure, const uint8_t *cmd, size_t n, uint8_t *out,
    size_t out_cap, size_t *out_len)
{
	return pcard_gpc_transmit(g, secure, cmd, n, out, out_cap, out_len);
}
