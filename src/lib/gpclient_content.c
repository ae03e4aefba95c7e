/*
 * gpclient_content.c: registry listing and card content management (GET STATUS, INSTALL,
 * LOAD, DELETE, SET STATUS) over the client's channel.
 */
#include <string.h>

#include "gpclient_int.h"
#include "postcard/tlv.h"

/* ---- GET STATUS ---- */

typedef struct list_acc {
	pcard_gpc_entry *out;
	size_t cap, count;
	int overflow;
} list_acc;

/* Parse one response into the accumulator; entries past cap are only counted. */
static pcard_err
list_take(list_acc *acc, uint8_t p1, uint8_t p2, const uint8_t *p, size_t n)
{
	pcard_gp_status_entry tmp[16];
	size_t found = 0;
	pcard_err err;

	if ((err = pcard_gp_parse_status(p1, p2, p, n, tmp, 16, &found)) != PCARD_OK)
		return err == PCARD_E_NOSPACE ? PCARD_E_UNSUPPORTED : err;
	for (size_t k = 0; k < found; k++, acc->count++) {
		if (acc->count >= acc->cap) {
			acc->overflow = 1;
			continue;
		}
		acc->out[acc->count].kind = p1;
		acc->out[acc->count].e = tmp[k];
	}
	return PCARD_OK;
}

/* One subset; *refused = the card does not know this P1/P2 (6A86) on the first command. */
static pcard_err
list_subset(pcard_gpc *g, uint8_t p1, uint8_t p2, list_acc *acc, int *refused)
{
	uint8_t cmd[16], next[16], rsp[PCARD_GPC_MAX_RSP];
	size_t nc = 0, nr = 0;
	pcard_err err;

	*refused = 0;
	if ((err = pcard_gp_get_status_cmd(p1, p2, cmd, sizeof cmd, &nc)) != PCARD_OK)
		return err;
	for (int first = 1;; first = 0) {
		if ((err = gpc_cmd(g, cmd, nc, rsp, sizeof rsp, &nr)) != PCARD_OK)
			return err;
		if (g->last_sw == 0x6A88)
			return PCARD_OK;		/* nothing in this subset */
		if (first && (g->last_sw == 0x6A86 || g->last_sw == 0x6A80)) {
			*refused = 1;
			return PCARD_E_CARD_STATUS;
		}
		if (g->last_sw != PCARD_SW_OK && g->last_sw != 0x6310)
			return PCARD_E_CARD_STATUS;
		if ((err = list_take(acc, p1, p2, rsp, nr - 2)) != PCARD_OK)
			return err;
		if (g->last_sw == PCARD_SW_OK)
			return PCARD_OK;
		if ((err = pcard_gp_get_status_next(cmd, nc, next, sizeof next, &nc)) != PCARD_OK)
			return err;
		memcpy(cmd, next, nc);
	}
}

/* A subset in tag format, else legacy format; for P1 10, else P1 20. */
static pcard_err
list_kind(pcard_gpc *g, uint8_t p1, list_acc *acc)
{
	size_t before = acc->count;
	int refused = 0;
	pcard_err err;

	err = list_subset(g, p1, PCARD_GS_P2_TAGS, acc, &refused);
	if (err == PCARD_E_CARD_STATUS && refused) {
		acc->count = before;
		err = list_subset(g, p1, 0x00, acc, &refused);
	}
	if (err == PCARD_E_CARD_STATUS && refused && p1 == PCARD_GS_ELFS_MODULES) {
		acc->count = before;
		err = list_kind(g, PCARD_GS_ELFS, acc);
	}
	return err;
}

pcard_err
pcard_gpc_list(pcard_gpc *g, pcard_gpc_entry *out, size_t cap, size_t *count)
{
	static const uint8_t kinds[3] = { PCARD_GS_ISD, PCARD_GS_APPS, PCARD_GS_ELFS_MODULES };
	list_acc acc = { out, cap, 0, 0 };
	pcard_err err;

	if (g == NULL || count == NULL || (out == NULL && cap > 0))
		return PCARD_E_INVALID_ARG;
	for (size_t k = 0; k < 3; k++)
		if ((err = list_kind(g, kinds[k], &acc)) != PCARD_OK)
			return err;
	*count = acc.count;
	return acc.overflow ? PCARD_E_NOSPACE : PCARD_OK;
}

/* ---- INSTALL ---- */

static pcard_err
send_install(pcard_gpc *g, const pcard_gp_install *in)
{
	uint8_t cmd[PCARD_APDU_SHORT_MAX + 16];
	size_t nc = 0;
	pcard_err err;

	if ((err = pcard_gp_install_cmd(in, cmd, sizeof cmd, &nc)) != PCARD_OK)
		return err == PCARD_E_NOSPACE ? PCARD_E_INVALID_ARG : err;
	if (nc > 5 && cmd[4] > gpc_max_data(g))
		return PCARD_E_INVALID_ARG;	/* data field too long for this channel */
	return gpc_cmd_ok(g, cmd, nc);
}

static const uint8_t *
aid_p(const pcard_gp_aid *a)
{
	return a != NULL ? a->b : NULL;
}

static size_t
aid_n(const pcard_gp_aid *a)
{
	return a != NULL ? a->len : 0;
}

/* The load data: DAP blocks then the load file, as one virtual stream. */
static void
load_piece(const pcard_gpc_load_opts *o, size_t off, size_t len, uint8_t *out)
{
	for (size_t k = 0; k < len; k++) {
		size_t at = off + k;

		out[k] = at < o->dap_len ? o->dap[at] : o->load_file[at - o->dap_len];
	}
}

static pcard_err
load_blocks(pcard_gpc *g, const pcard_gpc_load_opts *o)
{
	uint8_t piece[255], cmd[PCARD_APDU_SHORT_MAX + 8];
	size_t total = o->dap_len + o->load_file_len, bs = gpc_max_data(g), count = 0;
	pcard_err err;

	if (bs > sizeof piece)
		bs = sizeof piece;
	if ((err = pcard_gp_load_count(total, bs, &count)) != PCARD_OK)
		return err;
	for (size_t i = 0; i < count; i++) {
		size_t off = i * bs, len = total - off < bs ? total - off : bs, nc = 0;
		pcard_apdu a = { .cla = 0x80, .ins = 0xE8, .p1 = i + 1 == count ? 0x80 : 0x00,
			.p2 = (uint8_t)i, .data = piece, .lc = len, .le = 256, .has_le = 1 };

		load_piece(o, off, len, piece);
		if ((err = pcard_apdu_encode(&a, cmd, sizeof cmd, &nc)) != PCARD_OK ||
		    (err = gpc_cmd_ok(g, cmd, nc)) != PCARD_OK)
			return err;
		if (o->progress != NULL)
			o->progress(o->progress_ctx, off + len, total);
	}
	return PCARD_OK;
}

pcard_err
pcard_gpc_load(pcard_gpc *g, const pcard_gpc_load_opts *o)
{
	pcard_gp_install in;
	pcard_err err;

	if (g == NULL || o == NULL || o->elf == NULL || o->load_file == NULL ||
	    o->load_file_len == 0 || (o->dap == NULL && o->dap_len > 0))
		return PCARD_E_INVALID_ARG;
	memset(&in, 0, sizeof in);
	in.p1 = PCARD_INSTALL_FOR_LOAD;
	in.p2 = o->combined ? PCARD_INSTALL_P2_COMBINED_BEGIN : PCARD_INSTALL_P2_NONE;
	in.elf = o->elf->b;
	in.elf_len = o->elf->len;
	in.sd = aid_p(o->sd);
	in.sd_len = aid_n(o->sd);
	in.hash = o->hash;
	in.hash_len = o->hash_len;
	in.load_params = o->load_params;
	in.load_params_len = o->load_params_len;
	in.token = o->token;
	in.token_len = o->token_len;
	if ((err = send_install(g, &in)) != PCARD_OK)
		return err;
	return load_blocks(g, o);
}

static uint8_t
install_p1(int role)
{
	switch (role) {
	case PCARD_GPC_INSTALL_ONLY:
		return PCARD_INSTALL_FOR_INSTALL;
	case PCARD_GPC_MAKE_SELECTABLE:
		return PCARD_INSTALL_FOR_MAKE_SELECTABLE;
	default:
		return PCARD_INSTALL_FOR_INSTALL | PCARD_INSTALL_FOR_MAKE_SELECTABLE;
	}
}

pcard_err
pcard_gpc_install(pcard_gpc *g, const pcard_gpc_install_opts *o)
{
	const pcard_gp_aid *module, *instance;
	pcard_gp_install in;

	if (g == NULL || o == NULL)
		return PCARD_E_INVALID_ARG;
	module = o->module != NULL ? o->module : o->instance;
	instance = o->instance != NULL ? o->instance : o->module;
	if (instance == NULL || (o->role != PCARD_GPC_MAKE_SELECTABLE && o->elf == NULL))
		return PCARD_E_INVALID_ARG;
	memset(&in, 0, sizeof in);
	in.p1 = install_p1(o->role);
	in.p2 = o->combined_end ? PCARD_INSTALL_P2_COMBINED_END : PCARD_INSTALL_P2_NONE;
	if (o->role != PCARD_GPC_MAKE_SELECTABLE) {
		in.elf = o->elf->b;
		in.elf_len = o->elf->len;
		in.module = module->b;
		in.module_len = module->len;
	}
	in.instance = instance->b;
	in.instance_len = instance->len;
	in.privs = o->privs;
	in.privs_mode = PCARD_PRIVS_AUTO;
	in.params = o->params;
	in.params_len = o->params_len;
	in.params_mode = PCARD_PARAMS_WRAP;
	in.token = o->token;
	in.token_len = o->token_len;
	return send_install(g, &in);
}

pcard_err
pcard_gpc_load_install(pcard_gpc *g, const pcard_gpc_load_opts *lo,
    const pcard_gpc_install_opts *io)
{
	pcard_gpc_install_opts i2;
	pcard_err err;

	if (g == NULL || lo == NULL || io == NULL)
		return PCARD_E_INVALID_ARG;
	if ((err = pcard_gpc_load(g, lo)) != PCARD_OK)
		return err;
	i2 = *io;
	i2.combined_end = lo->combined;
	if (i2.elf == NULL)
		i2.elf = lo->elf;
	return pcard_gpc_install(g, &i2);
}

/* ---- DELETE, SET STATUS ---- */

pcard_err
pcard_gpc_delete(pcard_gpc *g, const pcard_gp_aid *aid, int related, const uint8_t *token,
    size_t token_len)
{
	uint8_t cmd[PCARD_APDU_SHORT_MAX + 16];
	size_t nc = 0;
	pcard_err err;

	if (g == NULL || aid == NULL || aid->len == 0)
		return PCARD_E_INVALID_ARG;
	if ((err = pcard_gp_delete_cmd(aid->b, aid->len, related, token, token_len, cmd,
	    sizeof cmd, &nc)) != PCARD_OK)
		return err;
	return gpc_cmd_ok(g, cmd, nc);
}

pcard_err
pcard_gpc_make_default(pcard_gpc *g, const pcard_gp_aid *aid)
{
	pcard_gpc_install_opts o;

	memset(&o, 0, sizeof o);
	o.role = PCARD_GPC_MAKE_SELECTABLE;
	o.instance = aid;
	o.privs = PCARD_PRIV_CARD_RESET;
	return pcard_gpc_install(g, &o);
}

static pcard_err
set_status(pcard_gpc *g, uint8_t p1, uint8_t state, const pcard_gp_aid *aid)
{
	uint8_t cmd[32];
	size_t nc = 0;
	pcard_err err;

	if ((err = pcard_gp_set_status_cmd(p1, state, aid_p(aid), aid_n(aid), cmd, sizeof cmd,
	    &nc)) != PCARD_OK)
		return err;
	return gpc_cmd_ok(g, cmd, nc);
}

pcard_err
pcard_gpc_app_lock(pcard_gpc *g, const pcard_gp_aid *aid, int lock)
{
	if (g == NULL || aid == NULL || aid->len == 0)
		return PCARD_E_INVALID_ARG;
	return set_status(g, PCARD_SS_APP, lock ? PCARD_LC_LOCKED : 0x00, aid);
}

pcard_err
pcard_gpc_card_state(pcard_gpc *g, uint8_t state)
{
	if (g == NULL)
		return PCARD_E_INVALID_ARG;
	if (state != PCARD_LC_INITIALIZED && state != PCARD_LC_SECURED &&
	    state != PCARD_LC_CARD_LOCKED && state != PCARD_LC_TERMINATED)
		return PCARD_E_INVALID_ARG;
	/* the data field (the ISD's AID) is ignored by cards for P1 80 (CS 11.10.2.3) */
	return set_status(g, PCARD_SS_CARD, state, g->sd.len > 0 ? &g->sd : NULL);
}

/* ---- Registry update, extradition, SSD ---- */

pcard_err
pcard_gpc_registry_update(pcard_gpc *g, const pcard_gp_aid *aid, const pcard_gp_aid *sd,
    uint32_t privs, int privs_mode, const uint8_t *params, size_t params_len)
{
	pcard_gp_install in;

	if (g == NULL || aid == NULL || aid->len == 0)
		return PCARD_E_INVALID_ARG;
	memset(&in, 0, sizeof in);
	in.p1 = PCARD_INSTALL_FOR_REGISTRY_UPDATE;
	in.sd = aid_p(sd);
	in.sd_len = aid_n(sd);
	in.instance = aid->b;
	in.instance_len = aid->len;
	in.privs = privs;
	in.privs_mode = privs_mode;
	in.params = params;
	in.params_len = params_len;
	in.params_mode = PCARD_PARAMS_RAW;
	return send_install(g, &in);
}

pcard_err
pcard_gpc_extradite(pcard_gpc *g, const pcard_gp_aid *aid, const pcard_gp_aid *to)
{
	pcard_gp_install in;

	if (g == NULL || aid == NULL || to == NULL || aid->len == 0 || to->len == 0)
		return PCARD_E_INVALID_ARG;
	memset(&in, 0, sizeof in);
	in.p1 = PCARD_INSTALL_FOR_EXTRADITION;
	in.sd = to->b;
	in.sd_len = to->len;
	in.instance = aid->b;
	in.instance_len = aid->len;
	in.params_mode = PCARD_PARAMS_RAW;
	return send_install(g, &in);
}

/* C9 { 81 02 scp i, 82 02 20 20, 87 02 20 20, extra } */
static pcard_err
ssd_params(uint8_t scp, uint8_t i, const uint8_t *extra, size_t extra_len, uint8_t *out,
    size_t cap, size_t *len)
{
	const uint8_t v81[2] = { scp, i }, v2020[2] = { 0x20, 0x20 };
	pcard_wr w;

	if (extra_len > 200)
		return PCARD_E_INVALID_ARG;
	pcard_wr_init(&w, out, cap);
	pcard_wr_u8(&w, 0xC9);
	pcard_wr_ber_len(&w, 12 + extra_len);
	pcard_wr_u8(&w, 0x81);
	pcard_wr_lv(&w, v81, 2);
	pcard_wr_u8(&w, 0x82);
	pcard_wr_lv(&w, v2020, 2);
	pcard_wr_u8(&w, 0x87);
	pcard_wr_lv(&w, v2020, 2);
	pcard_wr_bytes(&w, extra, extra_len);
	return pcard_wr_finish(&w, len);
}

pcard_err
pcard_gpc_create_ssd(pcard_gpc *g, const pcard_gpc_ssd_opts *o)
{
	pcard_gp_aid pkg, mod;
	pcard_gpc_install_opts io;
	uint8_t params[256];
	size_t plen = 0;
	uint8_t scp, i;
	pcard_err err;

	if (g == NULL || o == NULL || o->aid == NULL || (o->params == NULL && o->params_len > 0))
		return PCARD_E_INVALID_ARG;
	scp = o->scp != 0 ? o->scp : (g->open ? pcard_scp_version(&g->scp) : 0x03);
	i = o->i != 0 ? o->i : (g->open && scp == pcard_scp_version(&g->scp) ?
	    pcard_scp_i(&g->scp) : (scp == 3 ? 0x70 : 0x55));
	if ((err = pcard_gp_aid_from_hex(&pkg, PCARD_GPC_SSD_PACKAGE)) != PCARD_OK ||
	    (err = pcard_gp_aid_from_hex(&mod, PCARD_GPC_SSD_MODULE)) != PCARD_OK ||
	    (err = ssd_params(scp, i, o->params, o->params_len, params, sizeof params, &plen)) !=
	    PCARD_OK)
		return err;
	memset(&io, 0, sizeof io);
	io.role = PCARD_GPC_INSTALL_AND_SELECTABLE;
	io.elf = o->package != NULL ? o->package : &pkg;
	io.module = o->module != NULL ? o->module : &mod;
	io.instance = o->aid;
	io.privs = o->privs | PCARD_PRIV_SECURITY_DOMAIN;
	io.params = params;
	io.params_len = plen;
	return pcard_gpc_install(g, &io);
}
