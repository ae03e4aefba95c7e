/*
 * card_keys.c: PUT KEY (CS 11.8, AmdD 7.2; gp-facts 3.13). Secret keys arrive encrypted with
 * the DEK of the open session (SCP03: static DEK, AES-CBC ICV 0; SCP02: session DEK,
 * 3DES-ECB) and are checked against their KCV; RSA and EC public keys arrive in clear.
 * Response: new KVN || the KCV of each secret key. DELETE of keys is in card_content.c.
 * A set created or replaced under KVN 70, 71 or 73 becomes the SD's token, receipt or DAP
 * key (card_sd_keyrefs).
 */
#include <string.h>

#include "card_int.h"
#include "postcard/crypto.h"
#include "postcard/putkey.h"

/* One key data field to a stored key; SW_OK or the SW to answer. */
static uint16_t
key_from_field(card_chan *ch, const pcard_putkey_key *f, uint8_t id, pcard_card_key *k,
    uint8_t kcv[3], int *has_kcv)
{
	uint8_t clear[48];
	uint8_t t = f->comp[0].type;
	uint16_t sw = SW_WRONG_DATA;

	memset(k, 0, sizeof *k);
	k->id = id;
	*has_kcv = 0;
	if (t == PCARD_PUTKEY_TYPE_DES || t == PCARD_PUTKEY_TYPE_AES) {
		const uint8_t *enc = f->comp[0].val;
		size_t n = f->comp[0].len, klen;

		if (f->ncomp != 1)
			goto out;
		if (t == PCARD_PUTKEY_TYPE_AES) {
			klen = enc[0];
			enc++;
			n--;
			if (pcard_scp_version(&ch->scp) != 3 ||
			    (klen != 16 && klen != 24 && klen != 32) || n < klen)
				goto out;
		} else {
			klen = 16;
			if (pcard_scp_version(&ch->scp) != 2 || n != 16)
				goto out;
		}
		if (n > sizeof clear || card_sc_dek_decrypt(ch, enc, n, clear) != PCARD_OK)
			goto out;
		k->type = t == PCARD_PUTKEY_TYPE_AES ? PCARD_KEYTYPE_AES : PCARD_KEYTYPE_DES3;
		k->len = (uint16_t)klen;
		memcpy(k->value, clear, klen);
		if ((t == PCARD_PUTKEY_TYPE_AES ? pcard_kcv_aes(clear, klen, kcv) :
		    pcard_kcv_des3(clear, klen, kcv)) != PCARD_OK)
			goto out;
		if (f->kcv_len == 3 && !pcard_ct_eq(kcv, f->kcv, 3))
			goto out;
		*has_kcv = 1;
		sw = SW_OK;
	} else if (t == PCARD_PUTKEY_TYPE_RSA_N || t == PCARD_PUTKEY_TYPE_RSA_E) {
		const uint8_t *nn = NULL, *e = NULL;
		size_t nl = 0, el = 0;

		for (size_t i = 0; i < f->ncomp; i++) {
			if (f->comp[i].type == PCARD_PUTKEY_TYPE_RSA_N) {
				nn = f->comp[i].val;
				nl = f->comp[i].len;
			} else if (f->comp[i].type == PCARD_PUTKEY_TYPE_RSA_E) {
				e = f->comp[i].val;
				el = f->comp[i].len;
			}
		}
		if (nn == NULL || e == NULL || nl == 0 || nl > PCARD_CS_KEY_MAX || el == 0 ||
		    el > PCARD_CS_KEYPARAM_MAX)
			goto out;
		k->type = PCARD_KEYTYPE_RSA_PUB;
		k->len = (uint16_t)nl;
		memcpy(k->value, nn, nl);
		k->param_len = (uint8_t)el;
		memcpy(k->param, e, el);
		sw = SW_OK;
	} else if (t == PCARD_PUTKEY_TYPE_EC_PUB) {
		if (f->ncomp != 2 || f->comp[1].type != PCARD_PUTKEY_TYPE_EC_PARAM ||
		    f->comp[1].len != 1 || f->comp[1].val[0] > 2 || f->comp[0].len == 0 ||
		    f->comp[0].len > PCARD_CS_KEY_MAX)
			goto out;
		k->type = PCARD_KEYTYPE_EC_PUB;
		k->len = (uint16_t)f->comp[0].len;
		memcpy(k->value, f->comp[0].val, f->comp[0].len);
		k->param_len = 1;
		k->param[0] = f->comp[1].val[0];
		sw = SW_OK;
	}
out:
	pcard_wipe(clear, sizeof clear);
	return sw;
}

/*
 * Key version numbers GlobalPlatform reserves for an SD's verification and generation keys,
 * key identifier 01 each (GP CS 11.1.8 conventions; gp-facts 3.18): 70 token verification,
 * 71 receipt generation, 73 DAP verification. (KVN 11, the ETSI TS 102 226 DAP key, is not
 * given this meaning here.)
 */
#define KVN_TOKEN 0x70
#define KVN_RECEIPT 0x71
#define KVN_DAP 0x73

static void
ref_drop_dangling(pcard_card_app *sd, pcard_card_keyref *ref)
{
	pcard_card_keyset *ks;

	if (ref->kvn != 0 && ((ks = pcard_card_sd_keyset_find(sd, ref->kvn)) == NULL ||
	    pcard_card_keyset_key_find(ks, ref->id) == NULL))
		memset(ref, 0, sizeof *ref);
}

void
card_sd_keyrefs(pcard_card_app *sd, uint8_t put_kvn)
{
	pcard_card_sd *si = &sd->sd_info;
	pcard_card_keyset *ks;
	pcard_card_keyref *ref = put_kvn == KVN_TOKEN ? &si->token :
	    put_kvn == KVN_RECEIPT ? &si->receipt : put_kvn == KVN_DAP ? &si->dap : NULL;

	if (ref != NULL && (ks = pcard_card_sd_keyset_find(sd, put_kvn)) != NULL &&
	    pcard_card_keyset_key_find(ks, 0x01) != NULL) {
		ref->kvn = put_kvn;
		ref->id = 0x01;
	}
	ref_drop_dangling(sd, &si->token);
	ref_drop_dangling(sd, &si->receipt);
	ref_drop_dangling(sd, &si->dap);
}

/* The PUT KEY of data[0..n) (the whole data field, chained or not) with P1 p1 (b8 clear,
 * or FF for the initial set) and P2 p2. */
static uint16_t
put_key(pcard_card *c, card_chan *ch, uint8_t p1, uint8_t p2, const uint8_t *data, size_t n,
    pcard_card_app *sd, card_rsp *r)
{
	uint8_t old = p1 & 0x7F, id = p2 & 0x7F, kvn;
	pcard_card_keyset ks;
	pcard_card_keyset *cur = NULL;
	pcard_putkey_key f;
	pcard_card_key k;
	pcard_rd rd;
	uint8_t kcv[3];
	int has_kcv;
	uint16_t sw = SW_WRONG_DATA;
	size_t nkeys = 0;

	memset(&ks, 0, sizeof ks);
	memset(&k, 0, sizeof k);
	if (id == 0) {
		sw = SW_WRONG_P1P2;
		goto out;
	}
	pcard_rd_init(&rd, data, n);
	if (pcard_rd_u8(&rd, &kvn) != PCARD_OK || kvn == 0 || (kvn > 0x7F && kvn != 0xFF))
		goto out;
	if (old != 0) {
		if ((cur = pcard_card_sd_keyset_find(sd, old)) == NULL &&
		    (p1 != 0xFF || (cur = pcard_card_sd_keyset_find(sd, 0xFF)) == NULL)) {
			sw = SW_REF_NOT_FOUND;
			goto out;
		}
	}
	if (p1 == 0xFF)
		cur = pcard_card_sd_keyset_find(sd, 0xFF);
	if (cur != NULL && !(p2 & 0x80))
		ks = *cur;		/* a single key replaced inside the set */
	if (cur == NULL && old == 0 && pcard_card_sd_keyset_find(sd, kvn) != NULL)
		goto out;
	if (cur != NULL && kvn != cur->kvn && pcard_card_sd_keyset_find(sd, kvn) != NULL)
		goto out;
	ks.kvn = kvn;
	ks.seq = 0;
	ks.fails = 0;
	ks.blocked = 0;
	r->data[0] = kvn;
	r->len = 1;
	while (pcard_rd_left(&rd) > 0) {
		if (pcard_putkey_parse_key(&rd, &f) != PCARD_OK || nkeys >= PCARD_CS_MAX_KEYS ||
		    id + nkeys > 0x7F)
			goto out;
		if ((sw = key_from_field(ch, &f, (uint8_t)(id + nkeys), &k, kcv, &has_kcv)) != SW_OK)
			goto out;
		sw = SW_WRONG_DATA;
		if (pcard_card_keyset_put_key(&ks, &k) != PCARD_OK)
			goto out;
		if (has_kcv) {
			memcpy(r->data + r->len, kcv, 3);
			r->len += 3;
		}
		nkeys++;
	}
	if (nkeys == 0 || (nkeys > 1) != ((p2 & 0x80) != 0))
		goto out;
	if (cur != NULL && cur->kvn != kvn) {
		if (pcard_card_sd_keyset_remove(sd, cur->kvn) != PCARD_OK)
			goto out;
	}
	if (cur == NULL && (c->cs.flags & PCARD_CS_FLAG_PUTKEY_REPLACES_FF) &&
	    pcard_card_sd_keyset_find(sd, 0xFF) != NULL && kvn != 0xFF)
		(void)pcard_card_sd_keyset_remove(sd, 0xFF);
	if (pcard_card_sd_keyset_put(sd, &ks) != PCARD_OK) {
		sw = SW_NO_MEMORY;
		goto out;
	}
	card_sd_keyrefs(sd, kvn);
	sw = SW_OK;
out:
	pcard_wipe(&ks, sizeof ks);
	pcard_wipe(&k, sizeof k);
	pcard_wipe(kcv, sizeof kcv);
	return sw;
}

void
card_putkey_drop(card_chan *ch)
{
	if (ch->pk_active || ch->pk_len > 0)
		pcard_wipe(ch->pk_buf, sizeof ch->pk_buf);
	ch->pk_active = 0;
	ch->pk_len = 0;
	ch->pk_p1 = ch->pk_p2 = 0;
}

/*
 * PUT KEY chaining (CS 11.8.2.1, P1 b8 = 1: more PUT KEY commands follow): a data field too
 * long for one command (an RSA-2048 public key: 1 + 4 + 256 + 5 + 1 bytes) is cut into
 * consecutive pieces, each command carrying the same P1 (b8 set on all but the last) and P2;
 * the card answers 9000 without data to each piece and processes the concatenation at the
 * last one, which gets the normal answer. P1 FF keeps its meaning (replace the initial set
 * FF) and is never a chain. The chain ends with any other command, a new session or
 * selection, or a refusal: P1/P2 changing inside it 6A86, more than CARD_PUTKEY_CHAIN_MAX
 * bytes 6A84. Nothing persistent changes before the last piece.
 */
void
card_put_key(pcard_card *c, const card_cmd *cmd, pcard_card_app *sd, card_rsp *r)
{
	card_chan *ch = &c->ch[cmd->chan];
	pcard_aid sd_aid = sd->aid;
	uint8_t p1 = cmd->a.p1, p2 = cmd->a.p2;
	const uint8_t *data = cmd->a.data;
	size_t n = cmd->a.lc;
	int more = (p1 & 0x80) && p1 != 0xFF;

	r->len = 0;
	if (ch->pk_active && ((p1 & 0x7F) != ch->pk_p1 || p2 != ch->pk_p2 || p1 == 0xFF)) {
		card_putkey_drop(ch);
		r->sw = SW_WRONG_P1P2;
		return;
	}
	if (more || ch->pk_active) {
		if (n > sizeof ch->pk_buf - ch->pk_len) {
			card_putkey_drop(ch);
			r->sw = SW_NO_MEMORY;
			return;
		}
		if (n > 0)
			memcpy(ch->pk_buf + ch->pk_len, data, n);
		ch->pk_len += n;
		ch->pk_active = 1;
		ch->pk_p1 = p1 & 0x7F;
		ch->pk_p2 = p2;
		if (more) {
			r->sw = SW_OK;
			return;
		}
		p1 &= 0x7F;
		data = ch->pk_buf;
		n = ch->pk_len;
	}
	if (card_txn_begin(c) != PCARD_OK) {
		r->sw = SW_MEMORY_FAIL;
		card_putkey_drop(ch);
		return;
	}
	sd = pcard_cardstate_sd_find(&c->cs, &sd_aid);
	r->sw = card_txn_end(c, put_key(c, ch, p1, p2, data, n, sd, r));
	if (r->sw != SW_OK)
		r->len = 0;
	card_putkey_drop(ch);
}
