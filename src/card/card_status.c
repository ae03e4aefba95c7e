/*
 * card_status.c: GET DATA (CS 11.3), GET STATUS (11.4), SET STATUS (11.10) and STORE DATA
 * (11.11) of the card manager. docs/card-behaviour.md has the answers in tables.
 */
#include <string.h>

#include "card_int.h"
#include "postcard/crypto.h"
#include "postcard/gp.h"
#include "postcard/tlv.h"

/* ------------------------------------------------------------------------------------- */
/* GET DATA */

/* 1.2.840.114283 (GlobalPlatform) */
static const uint8_t oid_gp[] = { 0x2A, 0x86, 0x48, 0x86, 0xFC, 0x6B };
/* 1.3.6.1.4.1.42.2.110.1 (Java Card) */
static const uint8_t oid_jc[] = { 0x2B, 0x06, 0x01, 0x04, 0x01, 0x2A, 0x02, 0x6E, 0x01 };

static void
put_oid(pcard_wr *w, uint32_t wrap_tag, const uint8_t *base, size_t n, const uint8_t *arcs,
    size_t na)
{
	pcard_tlv_mark m;

	if (wrap_tag != 0)
		pcard_tlv_begin(w, wrap_tag, &m);
	pcard_tlv_put_tag(w, 0x06);
	pcard_wr_ber_len(w, n + na);
	pcard_wr_bytes(w, base, n);
	pcard_wr_bytes(w, arcs, na);
	if (wrap_tag != 0)
		pcard_tlv_end(w, &m);
}

/*
 * Card recognition data (CS Appendix H): 73 { 06 GP card, 60 { GP 2.3.1 }, 63 { card id
 * scheme }, 64 { SCP of the ISD with its i }, 66 { Java Card 3 } }, inside 66 for GET DATA.
 */
void
card_put_crd(pcard_card *c, pcard_wr *w, int as73)
{
	pcard_tlv_mark m66, m73;
	const uint8_t a_card[] = { 0x01 };
	const uint8_t a_ver[] = { 0x02, 0x02, 0x03, 0x01 };
	const uint8_t a_id[] = { 0x03 };
	uint8_t a_scp[3] = { 0x04, c->cs.isd.sd_info.scp, c->cs.isd.sd_info.i };
	const uint8_t a_jc[] = { 0x03 };

	if (!as73)
		pcard_tlv_begin(w, 0x66, &m66);
	pcard_tlv_begin(w, 0x73, &m73);
	put_oid(w, 0, oid_gp, sizeof oid_gp, a_card, sizeof a_card);
	put_oid(w, 0x60, oid_gp, sizeof oid_gp, a_ver, sizeof a_ver);
	put_oid(w, 0x63, oid_gp, sizeof oid_gp, a_id, sizeof a_id);
	if (a_scp[2] >= 0x80) {
		uint8_t arcs[4] = { 0x04, a_scp[1], (uint8_t)(0x80 | (a_scp[2] >> 7)),
			(uint8_t)(a_scp[2] & 0x7F) };
		put_oid(w, 0x64, oid_gp, sizeof oid_gp, arcs, sizeof arcs);
	} else {
		put_oid(w, 0x64, oid_gp, sizeof oid_gp, a_scp, sizeof a_scp);
	}
	put_oid(w, 0x66, oid_jc, sizeof oid_jc, a_jc, sizeof a_jc);
	pcard_tlv_end(w, &m73);
	if (!as73)
		pcard_tlv_end(w, &m66);
}

static void
put_caps(pcard_wr *w)
{
	pcard_tlv_mark m67, ma0;
	static const uint8_t scp03_i[] = { 0x00, 0x10, 0x20, 0x30, 0x60, 0x70 };
	static const uint8_t scp02_i[] = { 0x15, 0x35, 0x55, 0x75 };
	static const uint8_t ssd_privs[] = { 0xFF, 0xFE, 0x80 };
	static const uint8_t app_privs[] = { 0x1E, 0x83, 0x00 };
	static const uint8_t lfdbh[] = { 0x01, 0x02, 0x03, 0x04 };

	pcard_tlv_begin(w, 0x67, &m67);
	pcard_tlv_begin(w, 0xA0, &ma0);
	pcard_tlv_put_u8(w, 0x80, 0x03);
	pcard_tlv_put(w, 0x81, scp03_i, sizeof scp03_i);
	pcard_tlv_put_u8(w, 0x82, 0x07);
	pcard_tlv_end(w, &ma0);
	pcard_tlv_begin(w, 0xA0, &ma0);
	pcard_tlv_put_u8(w, 0x80, 0x02);
	pcard_tlv_put(w, 0x81, scp02_i, sizeof scp02_i);
	pcard_tlv_end(w, &ma0);
	pcard_tlv_put(w, 0x81, ssd_privs, sizeof ssd_privs);
	pcard_tlv_put(w, 0x82, app_privs, sizeof app_privs);
	pcard_tlv_put(w, 0x83, lfdbh, sizeof lfdbh);
	pcard_tlv_end(w, &m67);
}

/* E0 { C0 { id, kvn, type, len } ... }; a key over 255 bytes states length 00. */
static void
put_keyinfo(pcard_wr *w, const pcard_card_app *sd)
{
	pcard_tlv_mark me0;

	pcard_tlv_begin(w, 0xE0, &me0);
	for (size_t i = 0; i < sd->sd_info.nkeysets; i++) {
		const pcard_card_keyset *ks = &sd->sd_info.keysets[i];

		for (size_t k = 0; k < ks->nkeys; k++) {
			const pcard_card_key *key = &ks->keys[k];
			uint8_t v[4] = { key->id, ks->kvn, key->type,
				(uint8_t)(key->len > 255 ? 0 : key->len) };

			pcard_tlv_put(w, 0xC0, v, sizeof v);
		}
	}
	pcard_tlv_end(w, &me0);
}

void
card_get_data(pcard_card *c, const card_cmd *cmd, card_rsp *r)
{
	pcard_card_app *sd = card_selected_sd(c, cmd->chan);
	uint16_t tag = (uint16_t)(cmd->a.p1 << 8 | cmd->a.p2);
	pcard_cardstate *cs = &c->cs;
	pcard_wr w;

	if (sd == NULL)
		sd = &cs->isd;
	pcard_wr_init(&w, r->data, sizeof r->data);
	switch (tag) {
	case 0x9F7F:
		pcard_tlv_put(&w, 0x9F7F, cs->cplc, sizeof cs->cplc);
		break;
	case 0x0042:
		pcard_tlv_put(&w, 0x42, cs->iin, cs->iin_len);
		break;
	case 0x0045:
		pcard_tlv_put(&w, 0x45, cs->cin, cs->cin_len);
		break;
	case 0x00CF:
		pcard_tlv_put(&w, 0xCF, cs->kdd, cs->kdd_len);
		break;
	case 0x00C1: {
		uint8_t v[3];
		uint32_t seq = sd->sd_info.nkeysets > 0 ? sd->sd_info.keysets[0].seq : 0;
		size_t n = sd->sd_info.scp == 2 ? 2 : 3;

		v[0] = (uint8_t)(seq >> 16);
		v[1] = (uint8_t)(seq >> 8);
		v[2] = (uint8_t)seq;
		pcard_tlv_put(&w, 0xC1, v + 3 - n, n);
		break;
	}
	case 0x0066:
		card_put_crd(c, &w, 0);
		break;
	case 0x0067:
		put_caps(&w);
		break;
	case 0x00E0:
		put_keyinfo(&w, sd);
		break;
	default:
		r->sw = SW_REF_NOT_FOUND;
		return;
	}
	if (pcard_wr_finish(&w, &r->len) != PCARD_OK) {
		r->len = 0;
		r->sw = SW_UNKNOWN;
		return;
	}
	r->sw = SW_OK;
}

/* ------------------------------------------------------------------------------------- */
/* GET STATUS */

static int
aid_prefix(const pcard_aid *crit, const pcard_aid *aid)
{
	return crit->len == 0 || (crit->len <= aid->len && memcmp(crit->b, aid->b, crit->len) == 0);
}

/* Entry number idx of the subset: 1 and its encoding when present, 0 past the end. */
static int
gs_entry(pcard_card *c, const pcard_card_app *sd, uint8_t p1, size_t idx, int tags,
    pcard_wr *w, int *match)
{
	pcard_cardstate *cs = &c->cs;
	pcard_tlv_mark m;
	const pcard_aid *crit = &c->ch[0].gs_aid;

	(void)crit;
	*match = 0;
	if (p1 == 0x80) {
		if (idx > 0)
			return 0;
		*match = 1;
		if (tags) {
			pcard_tlv_begin(w, 0xE3, &m);
			pcard_tlv_put(w, 0x4F, cs->isd.aid.b, cs->isd.aid.len);
			pcard_tlv_put_u8(w, 0x9F70, cs->life_cycle);
			pcard_tlv_put(w, 0xC5, cs->isd.priv, 3);
			pcard_tlv_end(w, &m);
		} else {
			pcard_wr_lv(w, cs->isd.aid.b, cs->isd.aid.len);
			pcard_wr_u8(w, cs->life_cycle);
			pcard_wr_u8(w, cs->isd.priv[0]);
		}
		return 1;
	}
	if (p1 == 0x40) {
		const pcard_card_app *a;

		if (idx >= cs->napps)
			return 0;
		a = &cs->apps[idx];
		if (sd != &cs->isd && !(sd->priv[1] & PCARD_PRIV2_GLOBAL_REGISTRY) &&
		    !card_sd_owns(c, sd, &a->sd) && !pcard_aid_eq(&a->aid, &sd->aid))
			return 1;
		*match = 1;
		if (tags) {
			pcard_tlv_begin(w, 0xE3, &m);
			pcard_tlv_put(w, 0x4F, a->aid.b, a->aid.len);
			pcard_tlv_put_u8(w, 0x9F70, a->life_cycle);
			pcard_tlv_put(w, 0xC5, a->priv, 3);
			if (a->nimplicit > 0)
				pcard_tlv_put(w, 0xCF, a->implicit, a->nimplicit);
			if (a->elf.len > 0)
				pcard_tlv_put(w, 0xC4, a->elf.b, a->elf.len);
			if (a->sd.len > 0)
				pcard_tlv_put(w, 0xCC, a->sd.b, a->sd.len);
			pcard_tlv_end(w, &m);
		} else {
			pcard_wr_lv(w, a->aid.b, a->aid.len);
			pcard_wr_u8(w, a->life_cycle);
			pcard_wr_u8(w, a->priv[0]);
		}
		return 1;
	}
	{
		const pcard_card_elf *e;
		uint8_t ver[2];

		if (idx >= cs->nelfs)
			return 0;
		e = &cs->elfs[idx];
		*match = 1;
		ver[0] = e->major;
		ver[1] = e->minor;
		if (tags) {
			pcard_tlv_begin(w, 0xE3, &m);
			pcard_tlv_put(w, 0x4F, e->aid.b, e->aid.len);
			pcard_tlv_put_u8(w, 0x9F70, PCARD_ELF_LOADED);
			if (e->sd.len > 0)
				pcard_tlv_put(w, 0xCC, e->sd.b, e->sd.len);
			pcard_tlv_put(w, 0xCE, ver, 2);
			if (p1 == 0x10)
				for (size_t k = 0; k < e->nmodules; k++)
					pcard_tlv_put(w, 0x84, e->modules[k].b, e->modules[k].len);
			pcard_tlv_end(w, &m);
		} else {
			pcard_wr_lv(w, e->aid.b, e->aid.len);
			pcard_wr_u8(w, PCARD_ELF_LOADED);
			pcard_wr_u8(w, 0x00);
			if (p1 == 0x10) {
				pcard_wr_u8(w, e->nmodules);
				for (size_t k = 0; k < e->nmodules; k++)
					pcard_wr_lv(w, e->modules[k].b, e->modules[k].len);
			}
		}
		return 1;
	}
}

static const pcard_aid *
gs_aid_of(pcard_card *c, uint8_t p1, size_t idx)
{
	if (p1 == 0x80)
		return &c->cs.isd.aid;
	if (p1 == 0x40)
		return &c->cs.apps[idx].aid;
	return &c->cs.elfs[idx].aid;
}

void
card_get_status(pcard_card *c, const card_cmd *cmd, pcard_card_app *sd, card_rsp *r)
{
	card_chan *ch = &c->ch[cmd->chan];
	uint8_t p1 = cmd->a.p1, p2 = cmd->a.p2;
	int tags = (p2 & 0x02) != 0, any = 0;
	size_t idx;
	pcard_wr w;
	pcard_rd rd, val;
	uint32_t tag;

	if ((p1 != 0x80 && p1 != 0x40 && p1 != 0x20 && p1 != 0x10) || (p2 & ~0x03) != 0) {
		r->sw = SW_WRONG_P1P2;
		return;
	}
	if (p2 & 0x01) {
		if (!ch->gs_active || ch->gs_p1 != p1 || ch->gs_p2 != (p2 & 0x02)) {
			r->sw = SW_CONDITIONS;
			return;
		}
		idx = ch->gs_next;
	} else {
		pcard_aid crit;
		int have4f = 0;

		memset(&crit, 0, sizeof crit);
		pcard_rd_init(&rd, cmd->a.data, cmd->a.lc);
		while (pcard_rd_left(&rd) > 0) {
			if (pcard_tlv_next(&rd, &tag, &val) != PCARD_OK) {
				r->sw = SW_WRONG_DATA;
				return;
			}
			if (tag == 0x4F) {
				size_t n = pcard_rd_left(&val);

				if (n > PCARD_AID_MAX || have4f) {
					r->sw = SW_WRONG_DATA;
					return;
				}
				memcpy(crit.b, pcard_rd_ptr(&val), n);
				crit.len = (uint8_t)n;
				have4f = 1;
			} else if (tag != 0x5C) {
				r->sw = SW_WRONG_DATA;
				return;
			}
		}
		if (!have4f) {
			r->sw = SW_WRONG_DATA;
			return;
		}
		ch->gs_aid = crit;
		ch->gs_p1 = p1;
		ch->gs_p2 = p2 & 0x02;
		idx = 0;
	}
	ch->gs_active = 0;
	pcard_wr_init(&w, r->data, CARD_RSP_DATA_MAX);
	for (;; idx++) {
		size_t before = pcard_wr_len(&w);
		pcard_wr probe;
		int match;

		pcard_wr_init(&probe, NULL, 0);
		if (!gs_entry(c, sd, p1, idx, tags, &probe, &match))
			break;
		if (!match || !aid_prefix(&ch->gs_aid, gs_aid_of(c, p1, idx)))
			continue;
		if (before + pcard_wr_len(&probe) > CARD_RSP_DATA_MAX) {
			if (before == 0) {	/* an entry that cannot fit alone */
				r->sw = SW_UNKNOWN;
				return;
			}
			ch->gs_active = 1;
			ch->gs_next = idx;
			break;
		}
		(void)gs_entry(c, sd, p1, idx, tags, &w, &match);
		any = 1;
	}
	if (!any) {
		r->sw = SW_REF_NOT_FOUND;
		return;
	}
	if (pcard_wr_finish(&w, &r->len) != PCARD_OK) {
		r->len = 0;
		r->sw = SW_UNKNOWN;
		return;
	}
	r->sw = ch->gs_active ? SW_MORE : SW_OK;
}

/* ------------------------------------------------------------------------------------- */
/* SET STATUS */

/* Card life cycle transitions (CS 5.1.1): SW_OK or why not. Mirrors docs table. */
static uint16_t
card_transition(uint8_t cur, uint8_t to)
{
	switch (to) {
	case PCARD_CARD_INITIALIZED:
		return cur == PCARD_CARD_OP_READY ? SW_OK : SW_CONDITIONS;
	case PCARD_CARD_SECURED:
		return (cur == PCARD_CARD_INITIALIZED || cur == PCARD_CARD_LOCKED) ? SW_OK :
		    SW_CONDITIONS;
	case PCARD_CARD_LOCKED:
		return cur == PCARD_CARD_SECURED ? SW_OK : SW_CONDITIONS;
	case PCARD_CARD_TERMINATED:
		return cur != PCARD_CARD_TERMINATED ? SW_OK : SW_CONDITIONS;
	default:
		return SW_WRONG_DATA;
	}
}

/* New life cycle of an application or SSD for P2, or 0 with *sw set. */
static uint8_t
app_transition(const pcard_card_app *a, uint8_t p2, uint16_t *sw)
{
	uint8_t lc = a->life_cycle;

	*sw = SW_OK;
	if (p2 & PCARD_APP_LOCKED_BIT) {
		if (lc & PCARD_APP_LOCKED_BIT) {
			*sw = SW_CONDITIONS;
			return 0;
		}
		return (uint8_t)(lc | PCARD_APP_LOCKED_BIT);
	}
	if (!(lc & PCARD_APP_LOCKED_BIT) && p2 == 0x00) {
		*sw = SW_CONDITIONS;	/* unlocking what is not locked */
		return 0;
	}
	if (lc & PCARD_APP_LOCKED_BIT) {
		if (p2 != 0x00 && p2 != (lc & 0x7F)) {
			*sw = SW_WRONG_DATA;
			return 0;
		}
		return (uint8_t)(lc & 0x7F);
	}
	if (a->is_sd) {
		if (p2 == PCARD_SD_PERSONALIZED && lc == PCARD_APP_SELECTABLE)
			return p2;
		*sw = (p2 == PCARD_SD_PERSONALIZED || p2 == PCARD_APP_SELECTABLE ||
		    p2 == PCARD_APP_INSTALLED) ? SW_CONDITIONS : SW_WRONG_DATA;
		return 0;
	}
	/* application-specific states: 0x07 with bits b4-b7 */
	if ((p2 & 0x87) == 0x07 && (lc & 0x07) == 0x07)
		return p2;
	*sw = (p2 & 0x80) == 0 && (p2 & 0x07) != 0x07 ? SW_WRONG_DATA : SW_CONDITIONS;
	return 0;
}

static uint16_t
set_status_card(pcard_card *c, const pcard_card_app *sd, uint8_t to)
{
	uint16_t sw = card_transition(c->cs.life_cycle, to);

	if (sw != SW_OK)
		return sw;
	if (sd != &c->cs.isd) {
		uint8_t need = to == PCARD_CARD_TERMINATED ? PCARD_PRIV1_CARD_TERMINATE :
		    (to == PCARD_CARD_LOCKED ||
		    (to == PCARD_CARD_SECURED && c->cs.life_cycle == PCARD_CARD_LOCKED)) ?
		    PCARD_PRIV1_CARD_LOCK : 0;

		if (need == 0 || !(sd->priv[0] & need))
			return SW_SECURITY;
	}
	c->cs.life_cycle = to;
	return SW_OK;
}

void
card_set_status(pcard_card *c, const card_cmd *cmd, pcard_card_app *sd, card_rsp *r)
{
	uint8_t p1 = cmd->a.p1, p2 = cmd->a.p2;
	pcard_aid aid, sd_aid = sd->aid;
	pcard_card_app *t;
	uint16_t sw = SW_OK;
	int locking = 0;

	if (p1 != 0x80 && p1 != 0x40 && p1 != 0x60) {
		r->sw = SW_WRONG_P1P2;
		return;
	}
	if (p1 == 0x80) {
		if (card_txn_begin(c) != PCARD_OK) {
			r->sw = SW_MEMORY_FAIL;
			return;
		}
		sd = pcard_cardstate_sd_find(&c->cs, &sd_aid);
		r->sw = card_txn_end(c, set_status_card(c, sd, p2));
		return;
	}
	if (c->cs.life_cycle == PCARD_CARD_LOCKED) {
		r->sw = SW_CONDITIONS;
		return;
	}
	if (pcard_aid_set(&aid, cmd->a.data, cmd->a.lc) != PCARD_OK) {
		r->sw = SW_WRONG_DATA;
		return;
	}
	if (pcard_aid_eq(&aid, &c->cs.isd.aid)) {
		r->sw = SW_CONDITIONS;
		return;
	}
	if ((t = pcard_cardstate_app_find(&c->cs, &aid)) == NULL) {
		r->sw = SW_REF_NOT_FOUND;
		return;
	}
	if (p1 == 0x60 && !t->is_sd) {
		r->sw = SW_WRONG_DATA;
		return;
	}
	if (sd != &c->cs.isd && !card_sd_owns(c, sd, &t->sd) &&
	    !((p2 & 0x80) && (sd->priv[1] & PCARD_PRIV2_GLOBAL_LOCK))) {
		r->sw = SW_SECURITY;
		return;
	}
	if (card_txn_begin(c) != PCARD_OK) {
		r->sw = SW_MEMORY_FAIL;
		return;
	}
	t = pcard_cardstate_app_find(&c->cs, &aid);
	{
		uint8_t lc = app_transition(t, p2, &sw);

		if (sw == SW_OK) {
			t->life_cycle = lc;
			locking = (lc & PCARD_APP_LOCKED_BIT) != 0;
		}
	}
	if (sw == SW_OK && p1 == 0x60) {
		for (size_t i = 0; i < c->cs.napps; i++) {
			pcard_card_app *a = &c->cs.apps[i];

			if (!pcard_aid_eq(&a->sd, &aid))
				continue;
			if (locking)
				a->life_cycle |= PCARD_APP_LOCKED_BIT;
			else
				a->life_cycle &= (uint8_t)~PCARD_APP_LOCKED_BIT;
		}
	}
	r->sw = card_txn_end(c, sw);
	if (r->sw == SW_OK && locking) {
		card_deselect_all(c, &aid);
		for (size_t i = 0; p1 == 0x60 && i < c->cs.napps; i++)
			if (pcard_aid_eq(&c->cs.apps[i].sd, &aid))
				card_deselect_all(c, &c->cs.apps[i].aid);
	}
}

/* ------------------------------------------------------------------------------------- */
/* STORE DATA */

static void
rename_refs(pcard_card *c, const pcard_aid *from, const pcard_aid *to)
{
	pcard_cardstate *cs = &c->cs;

	for (size_t i = 0; i < cs->nelfs; i++)
		if (pcard_aid_eq(&cs->elfs[i].sd, from))
			cs->elfs[i].sd = *to;
	for (size_t i = 0; i < cs->napps; i++)
		if (pcard_aid_eq(&cs->apps[i].sd, from))
			cs->apps[i].sd = *to;
}

/*
 * STORE DATA to the SD itself: BER-TLV 4F renames the ISD; other data is accepted and not
 * kept (the simulator's SDs have no personalisation data beyond keys). Encrypted BER-TLV
 * (P1 b7b6 = 11) arrives as the objects followed by ISO/IEC 7816-4 padding (80 00..): the
 * TLV parser never sees the padding (GP CS 11.11: the block cipher needs whole blocks, the
 * padding is not data). No valid padding: 6A80.
 */
static uint16_t
sd_own_data(pcard_card *c, uint8_t chan, pcard_card_app *sd, uint8_t p1, const uint8_t *d,
    size_t n)
{
	pcard_rd rd, val;
	uint32_t tag;
	size_t len = n;

	if ((p1 & 0x18) != PCARD_SD_FMT_BER)
		return SW_OK;
	if ((p1 & 0x60) == PCARD_SD_ENC_ALL && pcard_unpad_iso(d, n, &len) != PCARD_OK)
		return SW_WRONG_DATA;
	pcard_rd_init(&rd, d, len);
	while (pcard_rd_left(&rd) > 0) {
		if (pcard_tlv_next(&rd, &tag, &val) != PCARD_OK)
			return SW_WRONG_DATA;
		if (tag == 0x4F) {
			pcard_aid to, from = sd->aid;

			if (sd != &c->cs.isd)
				return SW_CONDITIONS;
			if (pcard_aid_set(&to, pcard_rd_ptr(&val), pcard_rd_left(&val)) != PCARD_OK)
				return SW_WRONG_DATA;
			if (pcard_cardstate_app_find(&c->cs, &to) != NULL ||
			    pcard_cardstate_elf_find(&c->cs, &to) != NULL)
				return SW_CONDITIONS;
			c->cs.isd.aid = to;
			rename_refs(c, &from, &to);
			for (size_t i = 0; i < PCARD_CARD_CHANNELS; i++) {
				card_chan *ch = &c->ch[i];

				if (pcard_aid_eq(&ch->sc_sd, &from))
					ch->sc_sd = to;
				if (ch->sel.valid && ch->sel.is_isd)
					ch->sel.aid = to;
			}
			(void)chan;
		}
	}
	return SW_OK;
}

/*
 * The plain data field of an encrypted STORE DATA (P1 b7b6 = 11), decrypted with the
 * session's DEK. GP CS 11.11 with EMV CPS: in DGI format (b5b4 = 01) every DGI keeps its
 * identifier and length in clear and only its value is a cryptogram,
 *
 *     DGI tag (2) | length (1, or FF + 2) | value (length bytes, whole cipher blocks)
 *
 * so each value is decrypted on its own (the length stays: whether the value was padded
 * before encryption is the application's knowledge, as in EMV CPS). In every other format
 * the whole field is one cryptogram. out gets n bytes.
 * @return SW_OK, or SW_WRONG_DATA: a DGI that overruns the field, a value (or field) not a
 *         whole number of blocks, no DEK on the channel
 */
uint16_t
card_store_decrypt(card_chan *ch, uint8_t p1, const uint8_t *in, size_t n, uint8_t *out,
    size_t out_cap)
{
	pcard_rd rd;

	if (n > out_cap)
		return SW_WRONG_DATA;
	if ((p1 & 0x18) != PCARD_SD_FMT_DGI)
		return card_sc_dek_decrypt(ch, in, n, out) == PCARD_OK ? SW_OK : SW_WRONG_DATA;
	pcard_rd_init(&rd, in, n);
	while (pcard_rd_left(&rd) > 0) {
		size_t off = n - pcard_rd_left(&rd), hdr, len;
		const uint8_t *val;
		uint16_t tag, l2 = 0;
		uint8_t l1;

		if (pcard_rd_u16(&rd, &tag) != PCARD_OK || pcard_rd_u8(&rd, &l1) != PCARD_OK ||
		    (l1 == 0xFF && pcard_rd_u16(&rd, &l2) != PCARD_OK))
			return SW_WRONG_DATA;
		len = l1 == 0xFF ? l2 : l1;
		hdr = n - pcard_rd_left(&rd) - off;
		if (pcard_rd_view(&rd, len, &val) != PCARD_OK)
			return SW_WRONG_DATA;
		memcpy(out + off, in + off, hdr);
		if (len > 0 && card_sc_dek_decrypt(ch, val, len, out + off + hdr) != PCARD_OK)
			return SW_WRONG_DATA;
	}
	return SW_OK;
}

void
card_store_data(pcard_card *c, const card_cmd *cmd, pcard_card_app *sd, card_rsp *r)
{
	card_chan *ch = &c->ch[cmd->chan];
	uint8_t p1 = cmd->a.p1, p2 = cmd->a.p2;
	uint8_t buf[256];
	const uint8_t *d = cmd->a.data;
	size_t n = cmd->a.lc;
	pcard_card_app *t;
	pcard_aid taid;
	int to_sd = 0;
	uint16_t sw;

	if ((p1 & 0x06) != 0 || (p1 & 0x60) == 0x40) {
		r->sw = SW_WRONG_P1P2;
		return;
	}
	if (ch->sd_next > 0xFF || p2 != ch->sd_next) {
		r->sw = SW_WRONG_P1P2;
		return;
	}
	if (sd != NULL && ch->perso) {
		taid = ch->perso_aid;
	} else if (sd != NULL) {
		taid = sd->aid;
		to_sd = 1;
	} else {
		pcard_card_app *a = card_selected_app(c, cmd->chan);

		if (a == NULL) {
			r->sw = SW_CONDITIONS;
			return;
		}
		taid = a->aid;
	}
	if ((p1 & 0x60) == PCARD_SD_ENC_ALL && n > 0) {
		if ((sw = card_store_decrypt(ch, p1, d, n, buf, sizeof buf)) != SW_OK) {
			r->sw = sw;
			goto out;
		}
		d = buf;
	}
	if (card_txn_begin(c) != PCARD_OK) {
		r->sw = SW_MEMORY_FAIL;
		goto out;
	}
	if (to_sd) {
		sw = sd_own_data(c, cmd->chan, pcard_cardstate_sd_find(&c->cs, &taid), p1, d, n);
	} else if ((t = pcard_cardstate_app_find(&c->cs, &taid)) == NULL) {
		sw = SW_REF_NOT_FOUND;
	} else {
		const pcard_applet_ops *ops = t->is_sd ? NULL : card_applet_of(c, t);
		pcard_applet_env env;

		if (ops == NULL || ops->store_data == NULL) {
			sw = SW_FUNC_NOT_SUPPORTED;
		} else {
			card_env_init(&env, c, t, cmd->chan, cmd->level);
			r->len = 0;
			sw = ops->store_data(&env, p1, p2, d, n, r->data, CARD_RSP_DATA_MAX,
			    &r->len);
			if (r->len > CARD_RSP_DATA_MAX || !(p1 & PCARD_SD_CASE4))
				r->len = 0;
		}
	}
	r->sw = card_txn_end(c, sw);
	if (card_sw_ok(r->sw))
		ch->sd_next = (p1 & PCARD_SD_LAST) ? 0 : (uint16_t)(ch->sd_next + 1);
out:
	pcard_wipe(buf, sizeof buf);
}
