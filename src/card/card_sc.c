/*
 * card_sc.c: secure channels on the card: INITIALIZE UPDATE and EXTERNAL AUTHENTICATE with
 * an SD's key sets (imported into a per-session in-memory key provider, released when the
 * session ends), the sequence and failed-authentication counters (committed before the
 * response that depends on them), and the security checks of card-management commands.
 *
 * Each logical channel has its own session (channels 0-3 alike). A session belongs to the SD
 * whose key set opened it: the selected SD, or the associated SD of the selected application.
 */
#include <string.h>

#include "card_int.h"

void
card_sc_end(card_chan *ch)
{
	pcard_scp_clear(&ch->scp);
	pcard_scp_init(&ch->scp);
	if (ch->keys != NULL) {
		pcard_keys_free(ch->keys);
		ch->keys = NULL;
	}
	memset(&ch->ks, 0, sizeof ch->ks);
	memset(&ch->sc_sd, 0, sizeof ch->sc_sd);
	ch->sc_kvn = 0;
	ch->sd_next = 0;
	ch->perso = 0;
	card_putkey_drop(ch);
}

int
card_sc_open_for(const card_chan *ch, const pcard_card_app *sd)
{
	return ch->keys != NULL && pcard_scp_state_of(&ch->scp) == PCARD_SCP_OPEN &&
	    pcard_aid_eq(&ch->sc_sd, &sd->aid);
}

static pcard_card_keyset *
keyset_for(pcard_card_app *sd, uint8_t kvn)
{
	if (sd->sd_info.nkeysets == 0)
		return NULL;
	if (kvn == 0)
		return &sd->sd_info.keysets[0];
	return pcard_card_sd_keyset_find(sd, kvn);
}

static pcard_err
import_keyset(card_chan *ch, const pcard_card_app *sd, pcard_card_keyset *ks)
{
	pcard_keyh *dst[3] = { &ch->ks.enc, &ch->ks.mac, &ch->ks.dek };
	pcard_keytype want = sd->sd_info.scp == 3 ? PCARD_KEY_AES : PCARD_KEY_DES3;
	uint8_t ctype = sd->sd_info.scp == 3 ? PCARD_KEYTYPE_AES : PCARD_KEYTYPE_DES3;
	pcard_err err;

	if ((err = pcard_keys_mem_new(16, &ch->keys)) != PCARD_OK)
		return err;
	for (uint8_t id = 1; id <= 3; id++) {
		pcard_card_key *k = pcard_card_keyset_key_find(ks, id);

		if (k == NULL || k->type != ctype)
			return PCARD_E_KEY;
		if ((err = pcard_keys_mem_import(ch->keys, NULL, want, k->value, k->len,
		    dst[id - 1])) != PCARD_OK)
			return err;
	}
	return PCARD_OK;
}

void
card_sc_init_update(pcard_card *c, card_chan *ch, pcard_card_app *sd, const uint8_t *raw,
    size_t n, card_rsp *r)
{
	pcard_card_keyset *ks;
	pcard_scp_card_params p;
	uint8_t kdd[PCARD_SCP_KDD_BYTES];
	uint32_t new_seq = 0;
	pcard_aid sd_aid = sd->aid;
	pcard_err err;

	card_sc_end(ch);
	if ((raw[0] & 0x0C) != 0 || n < 5) {
		r->sw = (raw[0] & 0x0C) != 0 ? SW_CLA : SW_WRONG_LENGTH;
		return;
	}
	if ((ks = keyset_for(sd, raw[2])) == NULL) {
		r->sw = SW_REF_NOT_FOUND;
		return;
	}
	if (ks->blocked) {
		r->sw = SW_BLOCKED;
		return;
	}
	if (import_keyset(ch, sd, ks) != PCARD_OK) {
		card_sc_end(ch);
		r->sw = SW_CONDITIONS;
		return;
	}
	memset(&p, 0, sizeof p);
	memset(kdd, 0, sizeof kdd);
	memcpy(kdd, c->cs.kdd, c->cs.kdd_len < sizeof kdd ? c->cs.kdd_len : sizeof kdd);
	p.scp = sd->sd_info.scp;
	p.i = sd->sd_info.i;
	p.kvn = ks->kvn;
	p.kdd = kdd;
	p.seq = ks->seq;
	p.aid = sd->aid.b;
	p.aid_len = sd->aid.len;
	p.max_lc = c->cs.max_cmd_len >= 32 && c->cs.max_cmd_len <= 255 ? c->cs.max_cmd_len : 255;
	/* P1 00 means the default set: ask the SCP layer for that set's KVN */
	{
		uint8_t cmdbuf[PCARD_SCP_MAX_CMD];

		if (n > sizeof cmdbuf) {
			card_sc_end(ch);
			r->sw = SW_WRONG_LENGTH;
			return;
		}
		memcpy(cmdbuf, raw, n);
		cmdbuf[2] = ks->kvn;
		err = pcard_scp_card_init_update(&ch->scp, ch->keys, &ch->ks, &p, cmdbuf, n,
		    r->data, sizeof r->data, &r->len, &new_seq);
	}
	if (err != PCARD_OK) {
		card_sc_end(ch);
		r->len = 0;
		r->sw = pcard_scp_card_sw(err);
		return;
	}
	if (new_seq != ks->seq) {
		ks->seq = new_seq;	/* stays advanced even if the commit fails */
		if (card_commit(c) != PCARD_OK) {
			card_sc_end(ch);
			r->len = 0;
			r->sw = SW_MEMORY_FAIL;
			return;
		}
	}
	ch->sc_sd = sd_aid;
	ch->sc_kvn = p.kvn;
	r->len = r->len >= 2 ? r->len - 2 : 0;	/* the SCP layer appends 9000 itself */
	r->sw = SW_OK;
}

void
card_sc_ext_auth(pcard_card *c, card_chan *ch, const uint8_t *raw, size_t n, card_rsp *r)
{
	pcard_card_app *sd;
	pcard_card_keyset *ks;
	uint32_t new_seq = 0;
	pcard_err err;
	int dirty = 0;

	if (ch->keys == NULL || pcard_scp_state_of(&ch->scp) != PCARD_SCP_INITIALIZED) {
		card_sc_end(ch);
		r->sw = SW_CONDITIONS;
		return;
	}
	sd = pcard_cardstate_sd_find(&c->cs, &ch->sc_sd);
	ks = sd == NULL ? NULL : pcard_card_sd_keyset_find(sd, ch->sc_kvn);
	if (ks == NULL) {
		card_sc_end(ch);
		r->sw = SW_CONDITIONS;
		return;
	}
	/* a level the SCP/i does not offer (an R-MAC level on an i without R-MAC) is a
	 * protocol error, refused before the cryptogram is looked at: not a failed attempt */
	if (n >= 4 && !pcard_scp_level_ok(sd->sd_info.scp, sd->sd_info.i, raw[2])) {
		card_sc_end(ch);
		r->sw = SW_SECURITY;
		return;
	}
	err = pcard_scp_card_ext_auth(&ch->scp, raw, n, &new_seq);
	if (err == PCARD_E_AUTH || err == PCARD_E_MAC) {
		/* a failed authentication: counted and committed before the answer */
		if (ks->fails < UINT16_MAX)
			ks->fails++;
		if (ks->fails >= c->cs.auth_limit)
			ks->blocked = 1;
		card_sc_end(ch);
		r->sw = card_commit(c) != PCARD_OK ? SW_MEMORY_FAIL : pcard_scp_card_sw(err);
		return;
	}
	if (err != PCARD_OK) {
		card_sc_end(ch);
		r->sw = pcard_scp_card_sw(err);
		return;
	}
	if ((pcard_scp_level(&ch->scp) & sd->sd_info.min_level) != sd->sd_info.min_level) {
		card_sc_end(ch);
		r->sw = SW_SECURITY;
		return;
	}
	if (ks->fails != 0) {
		ks->fails = 0;
		dirty = 1;
	}
	if (pcard_scp_version(&ch->scp) == 2 && new_seq != ks->seq) {
		ks->seq = new_seq;
		dirty = 1;
	}
	if (dirty && card_commit(c) != PCARD_OK) {
		card_sc_end(ch);
		r->sw = SW_MEMORY_FAIL;
		return;
	}
	ch->sd_next = 0;
	r->sw = SW_OK;
}

uint16_t
card_sc_require(pcard_card *c, const card_cmd *cmd, const pcard_card_app *sd)
{
	card_chan *ch = &c->ch[cmd->chan];
	uint8_t lvl;

	if (!card_sc_open_for(ch, sd))
		return SW_SECURITY;
	lvl = pcard_scp_level(&ch->scp);
	if ((lvl & PCARD_SCP_CMAC) && !cmd->wrapped)
		return SW_SECURITY;
	if ((cmd->level & sd->sd_info.min_level) != sd->sd_info.min_level)
		return SW_SECURITY;
	return SW_OK;
}

pcard_err
card_sc_dek_decrypt(card_chan *ch, const uint8_t *in, size_t n, uint8_t *out)
{
	pcard_keyh dek;
	pcard_cipher_alg alg;
	size_t bs;
	pcard_err err;

	if ((err = pcard_scp_dek(&ch->scp, &dek, &alg)) != PCARD_OK)
		return err;
	bs = (alg == PCARD_CIPHER_AES_CBC || alg == PCARD_CIPHER_AES_ECB) ? 16 : 8;
	if (n == 0 || n % bs != 0)
		return PCARD_E_INVALID_ARG;
	return pcard_keys_cipher(ch->keys, dek, alg, 0, NULL, in, n, out);
}
