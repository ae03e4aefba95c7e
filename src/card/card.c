/*
 * card.c: the card manager's front: open/close, power, logical channels, selection, the
 * command dispatcher, secure-messaging unwrap/wrap around every command, GET RESPONSE, and
 * the per-command transaction (one card-file commit before the response).
 *
 * Command APDU classes accepted (CS Table 11-11): 00/80 plain, 04/84 with secure messaging,
 * b2b1 = logical channel 0-3. Interindustry channels 4-19 (b7 set) answer 6881, command
 * chaining (b5) 6884, anything else 6E00. See docs/card-behaviour.md for every answer.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "card_int.h"
#include "postcard/bytes.h"
#include "postcard/tlv.h"

/* ------------------------------------------------------------------------------------- */
/* Transactions */

int
card_sw_ok(uint16_t sw)
{
	uint8_t sw1 = (uint8_t)(sw >> 8);

	return sw == SW_OK || sw1 == 0x61 || sw1 == 0x62 || sw1 == 0x63;
}

pcard_err
card_commit(pcard_card *c)
{
	if (!c->persist)
		return PCARD_OK;
	return pcard_cardfile_commit(&c->file, &c->cs);
}

pcard_err
card_txn_begin(pcard_card *c)
{
	pcard_err err;

	if (c->in_txn)
		return PCARD_OK;
	if ((err = pcard_cardstate_copy(&c->undo, &c->cs)) != PCARD_OK)
		return err;
	c->in_txn = 1;
	c->lock_requested = 0;
	return PCARD_OK;
}

static void
txn_restore(pcard_card *c)
{
	pcard_cardstate_clear(&c->cs);
	c->cs = c->undo;
	pcard_cardstate_init(&c->undo);
	c->in_txn = 0;
	c->lock_requested = 0;
}

uint16_t
card_txn_end(pcard_card *c, uint16_t sw)
{
	if (!c->in_txn)
		return sw;
	if (!card_sw_ok(sw)) {
		txn_restore(c);
		return sw;
	}
	if (pcard_cardstate_eq(&c->cs, &c->undo, NULL, 0)) {
		pcard_cardstate_clear(&c->undo);
		c->in_txn = 0;
		return sw;
	}
	if (pcard_cardstate_check(&c->cs) != PCARD_OK || card_commit(c) != PCARD_OK) {
		txn_restore(c);
		return SW_MEMORY_FAIL;
	}
	pcard_cardstate_clear(&c->undo);
	c->in_txn = 0;
	if (c->lock_requested || c->cs.life_cycle == PCARD_CARD_LOCKED ||
	    c->cs.life_cycle == PCARD_CARD_TERMINATED)
		card_apply_card_locked(c);
	c->lock_requested = 0;
	return sw;
}

/* ------------------------------------------------------------------------------------- */
/* Open, close, power */

static pcard_err
card_new(pcard_card **out)
{
	pcard_card *c = calloc(1, sizeof *c);

	if (c == NULL)
		return PCARD_E_NOMEM;
	pcard_cardstate_init(&c->cs);
	pcard_cardstate_init(&c->undo);
	for (size_t i = 0; i < PCARD_CARD_CHANNELS; i++)
		pcard_scp_init(&c->ch[i].scp);
	*out = c;
	return PCARD_OK;
}

pcard_err
pcard_card_open_file(const char *path, pcard_cardio *io, pcard_card **out)
{
	pcard_card *c = NULL;
	pcard_err err = PCARD_E_INTERNAL;

	if (path == NULL || out == NULL)
		return PCARD_E_INVALID_ARG;
	*out = NULL;
	if ((err = card_new(&c)) != PCARD_OK)
		return err;
	c->io = io;
	if ((err = pcard_cardfile_open(&c->file, io, path, &c->cs)) != PCARD_OK)
		goto out;
	c->persist = 1;
	*out = c;
	c = NULL;
	err = PCARD_OK;
out:
	pcard_card_free(c);
	return err;
}

pcard_err
pcard_card_open_state(const pcard_cardstate *cs, const char *path, pcard_cardio *io,
    pcard_card **out)
{
	pcard_card *c = NULL;
	pcard_err err = PCARD_E_INTERNAL;

	if (cs == NULL || out == NULL)
		return PCARD_E_INVALID_ARG;
	*out = NULL;
	if ((err = card_new(&c)) != PCARD_OK)
		return err;
	c->io = io;
	if ((err = pcard_cardstate_copy(&c->cs, cs)) != PCARD_OK ||
	    (err = pcard_cardstate_check(&c->cs)) != PCARD_OK)
		goto out;
	if (path != NULL) {
		if ((err = pcard_cardfile_create(&c->file, io, path, &c->cs)) != PCARD_OK)
			goto out;
		c->persist = 1;
	}
	*out = c;
	c = NULL;
	err = PCARD_OK;
out:
	pcard_card_free(c);
	return err;
}

static void
chan_reset(card_chan *ch)
{
	card_sc_end(ch);
	card_load_drop(ch);
	ch->open = 0;
	memset(&ch->sel, 0, sizeof ch->sel);
	ch->sd_next = 0;
	ch->perso = 0;
	memset(&ch->perso_aid, 0, sizeof ch->perso_aid);
	ch->gs_active = 0;
	ch->pending_len = ch->pending_off = 0;
	pcard_wipe(ch->pending, sizeof ch->pending);
	memset(ch->vol, 0, sizeof ch->vol);
}

void
pcard_card_free(pcard_card *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < PCARD_CARD_CHANNELS; i++)
		chan_reset(&c->ch[i]);
	pcard_cardstate_clear(&c->cs);
	pcard_cardstate_clear(&c->undo);
	pcard_cardfile_close(&c->file);
	pcard_wipe(c, sizeof *c);
	free(c);
}

const pcard_cardstate *
pcard_card_state(const pcard_card *c)
{
	return c == NULL ? NULL : &c->cs;
}

int
card_app_selectable(const pcard_cardstate *cs, const pcard_card_app *app)
{
	uint8_t lc = app->life_cycle;

	if (cs->life_cycle == PCARD_CARD_TERMINATED)
		return 0;
	if (cs->life_cycle == PCARD_CARD_LOCKED && !(app->priv[1] & PCARD_PRIV2_FINAL_APP))
		return 0;
	if (lc & PCARD_APP_LOCKED_BIT)
		return 0;
	return (lc & PCARD_APP_SELECTABLE) == PCARD_APP_SELECTABLE;
}

const pcard_applet_ops *
card_applet_of(pcard_card *c, const pcard_card_app *app)
{
	(void)c;
	return pcard_applet_find(app->elf.b, app->elf.len);
}

/* The default application: the selectable instance with Card Reset, else the ISD. */
static void
select_default(pcard_card *c, card_chan *ch)
{
	memset(&ch->sel, 0, sizeof ch->sel);
	ch->sel.valid = 1;
	ch->sel.is_isd = 1;
	ch->sel.aid = c->cs.isd.aid;
	for (size_t i = 0; i < c->cs.napps; i++) {
		pcard_card_app *a = &c->cs.apps[i];

		if (a->default_selected && card_app_selectable(&c->cs, a)) {
			ch->sel.is_isd = 0;
			ch->sel.aid = a->aid;
			break;
		}
	}
}

static void
power_down(pcard_card *c)
{
	for (size_t i = 0; i < PCARD_CARD_CHANNELS; i++)
		chan_reset(&c->ch[i]);
	c->powered = 0;
}

pcard_err
pcard_card_power_on(pcard_card *c, uint8_t *out, size_t out_cap, size_t *out_len)
{
	if (c == NULL || out_len == NULL)
		return PCARD_E_INVALID_ARG;
	power_down(c);
	c->powered = 1;
	c->ch[0].open = 1;
	select_default(c, &c->ch[0]);
	*out_len = c->cs.atr_len;
	if (out == NULL || out_cap < c->cs.atr_len)
		return PCARD_E_NOSPACE;
	memcpy(out, c->cs.atr, c->cs.atr_len);
	return PCARD_OK;
}

void
pcard_card_power_off(pcard_card *c)
{
	if (c != NULL)
		power_down(c);
}

void
pcard_card_reset(pcard_card *c)
{
	size_t n;

	if (c == NULL)
		return;
	power_down(c);
	(void)pcard_card_power_on(c, NULL, 0, &n);
}

int
pcard_card_powered(const pcard_card *c)
{
	return c != NULL && c->powered;
}

/* ------------------------------------------------------------------------------------- */
/* Selection */

pcard_card_app *
card_selected_app(pcard_card *c, uint8_t chan)
{
	card_chan *ch = &c->ch[chan];

	if (!ch->sel.valid)
		return NULL;
	if (ch->sel.is_isd)
		return &c->cs.isd;
	return pcard_cardstate_app_find(&c->cs, &ch->sel.aid);
}

pcard_card_app *
card_selected_sd(pcard_card *c, uint8_t chan)
{
	pcard_card_app *a = card_selected_app(c, chan);

	return (a != NULL && a->is_sd) ? a : NULL;
}

static void
chan_new_selection(card_chan *ch)
{
	card_sc_end(ch);
	card_load_drop(ch);
	ch->sd_next = 0;
	ch->perso = 0;
	ch->gs_active = 0;
	memset(ch->vol, 0, sizeof ch->vol);
}

void
card_deselect_all(pcard_card *c, const pcard_aid *aid)
{
	for (size_t i = 0; i < PCARD_CARD_CHANNELS; i++) {
		card_chan *ch = &c->ch[i];

		if (ch->open && ch->sel.valid && !ch->sel.is_isd && pcard_aid_eq(&ch->sel.aid, aid)) {
			chan_new_selection(ch);
			memset(&ch->sel, 0, sizeof ch->sel);
			ch->sel.valid = 1;
			ch->sel.is_isd = 1;
			ch->sel.aid = c->cs.isd.aid;
		}
	}
}

void
card_apply_card_locked(pcard_card *c)
{
	for (size_t i = 0; i < PCARD_CARD_CHANNELS; i++) {
		card_chan *ch = &c->ch[i];
		pcard_card_app *a;

		if (!ch->open || !ch->sel.valid || ch->sel.is_isd)
			continue;
		a = pcard_cardstate_app_find(&c->cs, &ch->sel.aid);
		if (a == NULL || !card_app_selectable(&c->cs, a))
			card_deselect_all(c, &ch->sel.aid);
	}
}

/* FCI of a security domain: 6F { 84 AID, A5 { 73 CRD, 9F6E, 9F65 max data } } */
static void
sd_fci(pcard_card *c, const pcard_card_app *sd, card_rsp *r)
{
	pcard_wr w;
	pcard_tlv_mark m6f, ma5;
	static const uint8_t prod_lc[] = { 0x06, 0x4A, 0x00, 0x00 };

	pcard_wr_init(&w, r->data, sizeof r->data);
	pcard_tlv_begin(&w, 0x6F, &m6f);
	pcard_tlv_put(&w, 0x84, sd->aid.b, sd->aid.len);
	pcard_tlv_begin(&w, 0xA5, &ma5);
	card_put_crd(c, &w, 1);
	pcard_tlv_put(&w, 0x9F6E, prod_lc, sizeof prod_lc);
	pcard_tlv_put_u8(&w, 0x9F65, (uint8_t)(c->cs.max_cmd_len > 255 ? 255 : c->cs.max_cmd_len));
	pcard_tlv_end(&w, &ma5);
	pcard_tlv_end(&w, &m6f);
	if (pcard_wr_finish(&w, &r->len) != PCARD_OK) {
		r->len = 0;
		r->sw = SW_UNKNOWN;
	}
}

/* Find the entry a SELECT names: exact AID first, then the first whose AID starts with it. */
static pcard_card_app *
select_find(pcard_card *c, const uint8_t *aid, size_t n)
{
	pcard_cardstate *cs = &c->cs;

	if (n == cs->isd.aid.len && memcmp(aid, cs->isd.aid.b, n) == 0)
		return &cs->isd;
	for (size_t i = 0; i < cs->napps; i++)
		if (cs->apps[i].aid.len == n && memcmp(cs->apps[i].aid.b, aid, n) == 0)
			return &cs->apps[i];
	if (n < PCARD_AID_MIN)
		return NULL;
	if (n <= cs->isd.aid.len && memcmp(aid, cs->isd.aid.b, n) == 0)
		return &cs->isd;
	for (size_t i = 0; i < cs->napps; i++)
		if (n <= cs->apps[i].aid.len && memcmp(cs->apps[i].aid.b, aid, n) == 0)
			return &cs->apps[i];
	return NULL;
}

static void
cmd_select(pcard_card *c, const card_cmd *cmd, card_rsp *r)
{
	card_chan *ch = &c->ch[cmd->chan];
	pcard_card_app *target, *prev;
	const pcard_applet_ops *ops;
	pcard_applet_env env;
	pcard_aid taid;
	int lc_warn;

	if (cmd->a.p1 != 0x04 || (cmd->a.p2 != 0x00 && cmd->a.p2 != 0x0C)) {
		r->sw = SW_WRONG_P1P2;
		return;
	}
	if (cmd->a.lc > PCARD_AID_MAX) {
		r->sw = SW_WRONG_LENGTH;
		return;
	}
	if (cmd->a.lc == 0) {
		card_chan tmp;

		memset(&tmp.sel, 0, sizeof tmp.sel);
		select_default(c, &tmp);
		target = tmp.sel.is_isd ? &c->cs.isd : pcard_cardstate_app_find(&c->cs, &tmp.sel.aid);
	} else {
		target = select_find(c, cmd->a.data, cmd->a.lc);
	}
	if (target == NULL) {
		r->sw = SW_NOT_FOUND;
		return;
	}
	lc_warn = c->cs.life_cycle == PCARD_CARD_LOCKED || c->cs.life_cycle == PCARD_CARD_TERMINATED;
	if (target != &c->cs.isd && !card_app_selectable(&c->cs, target)) {
		r->sw = SW_NOT_FOUND;
		return;
	}
	/* deselect the previous application of this channel */
	prev = card_selected_app(c, cmd->chan);
	if (prev != NULL && prev != &c->cs.isd && !prev->is_sd) {
		ops = card_applet_of(c, prev);
		if (ops->deselect != NULL) {
			card_env_init(&env, c, prev, cmd->chan, 0);
			ops->deselect(&env);
		}
	}
	chan_new_selection(ch);
	memset(&ch->sel, 0, sizeof ch->sel);
	if (target->is_sd) {
		ch->sel.valid = 1;
		ch->sel.is_isd = target == &c->cs.isd;
		ch->sel.aid = target->aid;
		if (cmd->a.p2 == 0x00)
			sd_fci(c, target, r);
		r->sw = (target == &c->cs.isd && lc_warn) ? SW_LOCKED_WARN : SW_OK;
		if (r->sw == SW_LOCKED_WARN && r->len == 0 && cmd->a.p2 == 0x00)
			r->sw = SW_UNKNOWN;
		return;
	}
	ops = card_applet_of(c, target);
	taid = target->aid;
	/* until the applet accepts, the channel falls back to the ISD */
	ch->sel.valid = 1;
	ch->sel.is_isd = 1;
	ch->sel.aid = c->cs.isd.aid;
	r->sw = SW_OK;
	if (ops->select != NULL) {
		if (card_txn_begin(c) != PCARD_OK) {
			r->sw = SW_MEMORY_FAIL;
			return;
		}
		target = pcard_cardstate_app_find(&c->cs, &taid);
		card_env_init(&env, c, target, cmd->chan, 0);
		r->sw = ops->select(&env, r->data, CARD_RSP_DATA_MAX, &r->len);
		if (r->len > CARD_RSP_DATA_MAX)
			r->len = CARD_RSP_DATA_MAX;
		r->sw = card_txn_end(c, r->sw);
	}
	if (r->sw == SW_OK || (r->sw >> 8) == 0x62 || (r->sw >> 8) == 0x63) {
		ch->sel.is_isd = 0;
		ch->sel.aid = taid;
	} else {
		r->len = 0;
	}
}

/* ------------------------------------------------------------------------------------- */
/* MANAGE CHANNEL and GET RESPONSE */

static void
cmd_manage_channel(pcard_card *c, const card_cmd *cmd, card_rsp *r)
{
	uint8_t p1 = cmd->a.p1, p2 = cmd->a.p2;
	size_t target = p2;

	if (cmd->a.lc != 0) {
		r->sw = SW_WRONG_LENGTH;
		return;
	}
	if (p1 == 0x00) {
		if (p2 == 0x00) {
			for (target = 1; target < PCARD_CARD_CHANNELS; target++)
				if (!c->ch[target].open)
					break;
			if (target == PCARD_CARD_CHANNELS) {
				r->sw = SW_FUNC_NOT_SUPPORTED;
				return;
			}
		} else if (p2 >= PCARD_CARD_CHANNELS) {
			r->sw = SW_WRONG_P1P2;
			return;
		} else if (c->ch[p2].open) {
			r->sw = SW_CONDITIONS;
			return;
		}
		chan_reset(&c->ch[target]);
		c->ch[target].open = 1;
		select_default(c, &c->ch[target]);
		if (p2 == 0x00) {
			r->data[0] = (uint8_t)target;
			r->len = 1;
		}
		r->sw = SW_OK;
		return;
	}
	if (p1 == 0x80) {
		pcard_card_app *a;

		if (p2 == 0 || p2 >= PCARD_CARD_CHANNELS) {
			r->sw = SW_WRONG_P1P2;
			return;
		}
		if (!c->ch[p2].open) {
			r->sw = SW_CHANNEL_NOT_SUPPORTED;
			return;
		}
		a = card_selected_app(c, p2);
		if (a != NULL && !a->is_sd) {
			const pcard_applet_ops *ops = card_applet_of(c, a);
			pcard_applet_env env;

			if (ops->deselect != NULL) {
				card_env_init(&env, c, a, p2, 0);
				ops->deselect(&env);
			}
		}
		chan_reset(&c->ch[p2]);
		r->sw = SW_OK;
		return;
	}
	r->sw = SW_WRONG_P1P2;
}

static void
cmd_get_response(pcard_card *c, const card_cmd *cmd, card_rsp *r)
{
	card_chan *ch = &c->ch[cmd->chan];
	size_t left = ch->pending_len - ch->pending_off, n;

	if (left == 0) {
		r->sw = SW_CONDITIONS;
		return;
	}
	n = cmd->a.has_le && cmd->a.le < CARD_RSP_DATA_MAX ? cmd->a.le : CARD_RSP_DATA_MAX;
	if (n > left)
		n = left;
	memcpy(r->data, ch->pending + ch->pending_off, n);
	r->len = n;
	ch->pending_off += n;
	left -= n;
	if (left > 0) {
		r->sw = (uint16_t)(0x6100 | (left > 255 ? 0 : left));
	} else {
		r->sw = ch->pending_sw;
		ch->pending_len = ch->pending_off = 0;
	}
}

/* ------------------------------------------------------------------------------------- */
/* Dispatch */

/* Commands a security domain answers (the selected one, or the ISD by default). */
static void
sd_dispatch(pcard_card *c, const card_cmd *cmd, pcard_card_app *sd, card_rsp *r)
{
	uint8_t ins = cmd->a.ins;
	int prop = (cmd->a.cla & 0x80) != 0;
	uint16_t sw;

	if (ins == 0xCA) {
		card_get_data(c, cmd, r);
		return;
	}
	switch (ins) {
	case 0xF2: case 0xF0: case 0xE6: case 0xE8: case 0xE4: case 0xD8: case 0xE2:
		break;
	case 0x7A: case 0x78:
		/* SCP02 BEGIN/END R-MAC SESSION: done by the SCP layer when wrapped */
		if (!prop) {
			r->sw = SW_CLA;
			return;
		}
		r->sw = (cmd->wrapped && pcard_scp_version(&c->ch[cmd->chan].scp) == 2) ?
		    SW_OK : SW_CONDITIONS;
		return;
	default:
		r->sw = SW_INS;
		return;
	}
	if (!prop) {
		r->sw = SW_CLA;
		return;
	}
	if (c->cs.life_cycle == PCARD_CARD_LOCKED && ins != 0xF2 && ins != 0xF0) {
		r->sw = SW_CONDITIONS;
		return;
	}
	if ((sw = card_sc_require(c, cmd, sd)) != SW_OK) {
		r->sw = sw;
		return;
	}
	switch (ins) {
	case 0xF2:
		card_get_status(c, cmd, sd, r);
		break;
	case 0xF0:
		card_set_status(c, cmd, sd, r);
		break;
	case 0xE6:
		card_install(c, cmd, sd, r);
		break;
	case 0xE8:
		card_load(c, cmd, sd, r);
		break;
	case 0xE4:
		card_delete(c, cmd, sd, r);
		break;
	case 0xD8:
		card_put_key(c, cmd, sd, r);
		break;
	default:
		card_store_data(c, cmd, sd, r);
		break;
	}
}

static void
app_dispatch(pcard_card *c, const card_cmd *cmd, pcard_card_app *app, card_rsp *r)
{
	const pcard_applet_ops *ops = card_applet_of(c, app);
	pcard_applet_env env;
	pcard_aid aid = app->aid;
	size_t cap = cmd->wrapped ? CARD_RSP_DATA_MAX : sizeof r->data;

	if (cmd->a.ins == 0xE2 && (cmd->a.cla & 0x80) && cmd->wrapped && ops->store_data != NULL) {
		card_store_data(c, cmd, NULL, r);
		return;
	}
	if (card_txn_begin(c) != PCARD_OK) {
		r->sw = SW_MEMORY_FAIL;
		return;
	}
	app = pcard_cardstate_app_find(&c->cs, &aid);
	card_env_init(&env, c, app, cmd->chan, cmd->level);
	r->len = 0;
	r->sw = ops->process(&env, &cmd->a, r->data, cap, &r->len);
	if (r->len > cap)
		r->len = cap;
	r->sw = card_txn_end(c, r->sw);
	if (!card_sw_ok(r->sw) && r->sw != SW_OK)
		r->len = 0;
}

/* Parse the class byte: channel, SM; SW_OK or the SW to answer. */
static uint16_t
parse_cla(uint8_t cla, uint8_t *chan, int *sm)
{
	if (cla & 0x40)
		return (cla & 0x20) == 0 && (cla & 0x80) == 0 ? SW_CHANNEL_NOT_SUPPORTED : SW_CLA;
	if (cla & 0x10)
		return SW_CHAINING;
	if ((cla & 0xE0) != 0x00 && (cla & 0xE0) != 0x80)
		return SW_CLA;
	if ((cla & 0x08) != 0)
		return SW_CLA;
	*chan = cla & 0x03;
	*sm = (cla & 0x04) != 0;
	return SW_OK;
}

static void
process(pcard_card *c, const uint8_t *raw, size_t n, card_cmd *cmd, card_rsp *r, int *wrap)
{
	card_chan *ch;
	pcard_card_app *sel;
	int sm = 0;
	uint16_t sw;
	size_t plen;
	pcard_err err;

	*wrap = 0;
	memset(cmd, 0, offsetof(card_cmd, buf));
	if (pcard_apdu_parse(raw, n, &cmd->a) != PCARD_OK || cmd->a.extended) {
		r->sw = SW_WRONG_LENGTH;
		return;
	}
	if ((sw = parse_cla(cmd->a.cla, &cmd->chan, &sm)) != SW_OK) {
		r->sw = sw;
		return;
	}
	ch = &c->ch[cmd->chan];
	if (!ch->open) {
		r->sw = SW_CHANNEL_NOT_SUPPORTED;
		return;
	}
	if (cmd->a.ins != 0xC0) {
		ch->pending_len = ch->pending_off = 0;
		if (cmd->a.ins != 0xF2)
			ch->gs_active = 0;
	}
	if (cmd->a.ins != 0xD8)
		card_putkey_drop(ch);	/* a PUT KEY chain ends with any other command */
	if (c->cs.life_cycle == PCARD_CARD_TERMINATED && cmd->a.ins != 0xA4 &&
	    cmd->a.ins != 0xCA && cmd->a.ins != 0xC0 && cmd->a.ins != 0x70) {
		r->sw = SW_CONDITIONS;
		return;
	}
	sel = card_selected_app(c, cmd->chan);
	if (sel == NULL) {
		select_default(c, ch);
		sel = card_selected_app(c, cmd->chan);
		if (sel == NULL)
			sel = &c->cs.isd;
	}
	/* the secure channel handshake: raw bytes to the SCP layer */
	if ((cmd->a.cla & 0x80) && (cmd->a.ins == 0x50 || cmd->a.ins == 0x82)) {
		pcard_card_app *sd = sel->is_sd ? sel : pcard_cardstate_sd_find(&c->cs, &sel->sd);

		if (sd == NULL) {
			r->sw = SW_CONDITIONS;
			return;
		}
		if (cmd->a.ins == 0x50)
			card_sc_init_update(c, ch, sd, raw, n, r);
		else
			card_sc_ext_auth(c, ch, raw, n, r);
		return;
	}
	if (sm) {
		if (ch->keys == NULL || pcard_scp_state_of(&ch->scp) != PCARD_SCP_OPEN) {
			card_sc_end(ch);
			r->sw = SW_SECURITY;
			return;
		}
		err = pcard_scp_unwrap_cmd(&ch->scp, raw, n, cmd->buf, sizeof cmd->buf, &plen);
		if (err == PCARD_E_SECURITY_LEVEL || err == PCARD_E_STATE) {
			*wrap = 1;
			r->sw = pcard_scp_card_sw(err);
			return;
		}
		if (err != PCARD_OK || pcard_apdu_parse(cmd->buf, plen, &cmd->a) != PCARD_OK) {
			card_sc_end(ch);
			r->sw = SW_SECURITY;
			return;
		}
		cmd->wrapped = 1;
		cmd->level = pcard_scp_level(&ch->scp);
		*wrap = 1;
	}
	switch (cmd->a.ins) {
	case 0xA4:
		if ((cmd->a.cla & 0x80) != 0) {
			r->sw = SW_CLA;
			return;
		}
		cmd_select(c, cmd, r);
		return;
	case 0x70:
		if ((cmd->a.cla & 0x80) != 0 || sm) {
			r->sw = sm ? SW_SM_NOT_SUPPORTED : SW_CLA;
			return;
		}
		cmd_manage_channel(c, cmd, r);
		return;
	case 0xC0:
		if ((cmd->a.cla & 0x80) != 0) {
			r->sw = SW_CLA;
			return;
		}
		cmd_get_response(c, cmd, r);
		return;
	default:
		break;
	}
	if (sel->is_sd)
		sd_dispatch(c, cmd, sel, r);
	else
		app_dispatch(c, cmd, sel, r);
}

pcard_err
pcard_card_apdu(pcard_card *c, const uint8_t *cmd, size_t n, uint8_t *resp, size_t resp_cap,
    size_t *resp_len)
{
	card_rsp *r;
	card_chan *ch;
	int wrap = 0;
	size_t len;
	pcard_err err;

	if (c == NULL || resp == NULL || resp_len == NULL || resp_cap < 2 ||
	    (cmd == NULL && n > 0))
		return PCARD_E_INVALID_ARG;
	if (!c->powered)
		return PCARD_E_STATE;
	r = &c->rsp;
	r->len = 0;
	r->sw = SW_UNKNOWN;
	process(c, cmd, n, &c->cmd, r, &wrap);
	if (c->in_txn)		/* a handler forgot to end its transaction: roll back */
		r->sw = card_txn_end(c, SW_UNKNOWN);
	ch = &c->ch[c->cmd.chan];
	if (r->sw == SW_UNKNOWN || (!card_sw_ok(r->sw) && (r->sw >> 8) != 0x61))
		r->len = 0;
	if (wrap && ch->keys != NULL && pcard_scp_state_of(&ch->scp) == PCARD_SCP_OPEN) {
		if (r->len > CARD_RSP_DATA_MAX) {
			r->len = 0;
			r->sw = SW_UNKNOWN;
		}
		err = pcard_scp_wrap_rsp(&ch->scp, r->data, r->len, r->sw, resp, resp_cap,
		    resp_len);
		if (err == PCARD_E_NOSPACE)
			return err;
		if (err == PCARD_OK)
			return PCARD_OK;
		card_sc_end(ch);
		r->len = 0;
		r->sw = SW_SECURITY;
	}
	len = r->len;
	if (len > CARD_RSP_DATA_MAX) {
		size_t rest = len - CARD_RSP_DATA_MAX;

		memcpy(ch->pending, r->data + CARD_RSP_DATA_MAX, rest);
		ch->pending_len = rest;
		ch->pending_off = 0;
		ch->pending_sw = r->sw;
		len = CARD_RSP_DATA_MAX;
		r->sw = (uint16_t)(0x6100 | (rest > 255 ? 0 : rest));
	}
	if (resp_cap < len + 2)
		return PCARD_E_NOSPACE;
	memcpy(resp, r->data, len);
	resp[len] = (uint8_t)(r->sw >> 8);
	resp[len + 1] = (uint8_t)r->sw;
	*resp_len = len + 2;
	return PCARD_OK;
}

/* ------------------------------------------------------------------------------------- */
/* cardlink adapter */

static pcard_err
link_atr(void *ctx, uint8_t *out, size_t out_cap, size_t *out_len)
{
	pcard_card *c = ctx;

	*out_len = c->cs.atr_len;
	if (out_cap < c->cs.atr_len)
		return PCARD_E_NOSPACE;
	memcpy(out, c->cs.atr, c->cs.atr_len);
	return PCARD_OK;
}

static void
link_power_on(void *ctx)
{
	size_t n;

	(void)pcard_card_power_on(ctx, NULL, 0, &n);
}

static void
link_power_off(void *ctx)
{
	pcard_card_power_off(ctx);
}

static void
link_reset(void *ctx)
{
	pcard_card_reset(ctx);
}

static pcard_err
link_apdu(void *ctx, const uint8_t *cmd, size_t n, uint8_t *resp, size_t resp_cap,
    size_t *resp_len)
{
	return pcard_card_apdu(ctx, cmd, n, resp, resp_cap, resp_len);
}

const pcard_card_ops pcard_card_link_ops = {
	.atr = link_atr,
	.power_on = link_power_on,
	.power_off = link_power_off,
	.reset = link_reset,
	.apdu = link_apdu,
};
