/*
 * scp02.c: SCP02 (GP Card Specification Appendix E), explicit initiation, C-MAC on the
 * modified APDU, ICV encryption: i = 15, 35, 55, 75. Every key operation goes through the
 * key provider.
 *
 * Session keys: 3DES-CBC (ICV 0) under the static key over constant(2) || seq(2) || 00 x 12;
 * 0182 S-ENC (Key-ENC), 0101 C-MAC (Key-MAC), 0102 R-MAC (Key-MAC), 0181 DEK (Key-DEK).
 *
 * Wrapped command (E.4.3, E.4.4): MAC first, then encrypt
 *
 *   CLA|04 INS P1 P2 Lc' [3DES-CBC(S-ENC, 0, data || 80 00..)] C-MAC(8) [Le]
 *   C-MAC = retail MAC(C-MAC key, ICV, CLA|04 INS P1 P2 (Lc+8) plain-data), ISO padded,
 *           ICV = DES(left half of C-MAC key, previous C-MAC); zero for EXTERNAL AUTHENTICATE
 *
 * R-MAC (E.4.5; levels 10/11/13 or inside BEGIN .. END R-MAC SESSION): appended to every
 * response, before SW1 SW2:
 *
 *   R-MAC = retail MAC(R-MAC key, previous R-MAC or 0, CLA'' INS P1 P2 Lc plain-data ||
 *           Li response-data || SW1 SW2), CLA'' without SM and channel bits
 */
#include <string.h>

#include "postcard/bytes.h"
#include "postcard/crypto.h"
#include "postcard/keys.h"
#include "scp_int.h"

static pcard_err
derive_one(pcard_scp *s, pcard_keyh base, uint8_t c0, uint8_t c1, pcard_keyh *out)
{
	uint8_t blk[16] = { 0 };

	blk[0] = c0;
	blk[1] = c1;
	blk[2] = (uint8_t)(s->seq >> 8);
	blk[3] = (uint8_t)s->seq;
	return pcard_keys_derive(s->keys, base, PCARD_DERIVE_DES3_CBC, blk, sizeof blk, 0,
	    PCARD_KEY_DES3, 16, out);
}

static pcard_err
check_des3(pcard_scp *s, pcard_keyh k)
{
	pcard_keytype t;
	size_t len;
	pcard_err err;

	if ((err = pcard_keys_info(s->keys, k, &t, &len)) != PCARD_OK)
		return PCARD_E_KEY;
	if (t != PCARD_KEY_DES3 || (len != 16 && len != 24))
		return PCARD_E_KEY;
	return PCARD_OK;
}

pcard_err
scp02_session_keys(pcard_scp *s)
{
	pcard_err err = PCARD_E_INTERNAL;

	if ((err = check_des3(s, s->st.enc)) != PCARD_OK ||
	    (err = check_des3(s, s->st.mac)) != PCARD_OK)
		return err;
	s->key_len = 16;
	if ((err = derive_one(s, s->st.enc, 0x01, 0x82, &s->s_enc)) != PCARD_OK ||
	    (err = derive_one(s, s->st.mac, 0x01, 0x01, &s->s_mac)) != PCARD_OK ||
	    (err = derive_one(s, s->st.mac, 0x01, 0x02, &s->s_rmac)) != PCARD_OK)
		return err;
	/* the session DEK only when the key set has a DEK (PUT KEY needs it) */
	if (s->st.dek != PCARD_KEYH_NONE) {
		if ((err = check_des3(s, s->st.dek)) != PCARD_OK ||
		    (err = derive_one(s, s->st.dek, 0x01, 0x81, &s->s_dek)) != PCARD_OK)
			return err;
	}
	return PCARD_OK;
}

static pcard_err
mac8(pcard_scp *s, pcard_keyh k, pcard_mac_alg alg, const uint8_t *icv, const uint8_t *msg,
    size_t n, uint8_t out[8])
{
	size_t got = 0;
	pcard_err err;

	err = pcard_keys_mac(s->keys, k, alg, icv, msg, n, out, 8, &got);
	if (err == PCARD_OK && got != 8)
		err = PCARD_E_CRYPTO;
	return err;
}

pcard_err
scp02_cryptogram(pcard_scp *s, int card, uint8_t out[8])
{
	uint8_t msg[16], seq[2];

	seq[0] = (uint8_t)(s->seq >> 8);
	seq[1] = (uint8_t)s->seq;
	if (card) {
		memcpy(msg, s->host_chal, 8);
		memcpy(msg + 8, seq, 2);
		memcpy(msg + 10, s->card_chal, 6);
	} else {
		memcpy(msg, seq, 2);
		memcpy(msg + 2, s->card_chal, 6);
		memcpy(msg + 8, s->host_chal, 8);
	}
	return mac8(s, s->s_enc, PCARD_MAC_DES3_CBC, NULL, msg, sizeof msg, out);
}

pcard_err
scp02_pseudo_chal(pcard_scp *s, uint8_t out[6])
{
	uint8_t mac[8];
	pcard_err err;

	if ((err = mac8(s, s->s_mac, PCARD_MAC_DES_RETAIL, NULL, s->aid, s->aid_len, mac)) ==
	    PCARD_OK)
		memcpy(out, mac, 6);
	pcard_wipe(mac, sizeof mac);
	return err;
}

pcard_err
scp02_host_auth(pcard_scp *s, pcard_rd *r)
{
	uint8_t crypt[8], want[8];
	uint16_t seq;
	pcard_err err = PCARD_E_INTERNAL;

	if (s->host_chal_len != 8) {
		err = PCARD_E_BAD_ENCODING;
		goto out;
	}
	if (pcard_rd_u16(r, &seq) != PCARD_OK || pcard_rd_copy(r, 6, s->card_chal) != PCARD_OK ||
	    pcard_rd_copy(r, 8, crypt) != PCARD_OK || pcard_rd_expect_end(r) != PCARD_OK) {
		err = PCARD_E_BAD_ENCODING;
		goto out;
	}
	s->seq = seq;
	s->card_chal_len = 6;
	if ((err = scp02_session_keys(s)) != PCARD_OK ||
	    (err = scp02_cryptogram(s, 1, want)) != PCARD_OK)
		goto out;
	if (!pcard_ct_eq(want, crypt, 8)) {
		err = PCARD_E_AUTH;
		goto out;
	}
	if ((s->i & PCARD_SCP02_I_PSEUDO) && s->aid_len > 0) {
		if ((err = scp02_pseudo_chal(s, want)) != PCARD_OK)
			goto out;
		if (!pcard_ct_eq(want, s->card_chal, 6)) {
			err = PCARD_E_AUTH;
			goto out;
		}
	}
	err = PCARD_OK;
out:
	pcard_wipe(want, sizeof want);
	pcard_wipe(crypt, sizeof crypt);
	return err;
}

pcard_err
scp02_card_iu(pcard_scp *s, const pcard_scp_card_params *p, pcard_wr *w)
{
	uint8_t crypt[8];
	pcard_err err = PCARD_E_INTERNAL;

	s->card_chal_len = 6;
	if ((err = scp02_session_keys(s)) != PCARD_OK)
		goto out;
	if (s->i & PCARD_SCP02_I_PSEUDO)
		err = scp02_pseudo_chal(s, s->card_chal);
	else if (p->card_chal != NULL) {
		memcpy(s->card_chal, p->card_chal, 6);
		err = PCARD_OK;
	} else
		err = pcard_random(s->card_chal, 6);
	if (err != PCARD_OK || (err = scp02_cryptogram(s, 1, crypt)) != PCARD_OK)
		goto out;
	pcard_wr_u16(w, (uint16_t)s->seq);
	pcard_wr_bytes(w, s->card_chal, 6);
	pcard_wr_bytes(w, crypt, 8);
	err = PCARD_OK;
out:
	pcard_wipe(crypt, sizeof crypt);
	return err;
}

pcard_err
scp02_ext_auth_mac(pcard_scp *s, const uint8_t hdr[4], const uint8_t *crypt, uint8_t mac[8])
{
	uint8_t msg[13];
	pcard_err err;

	memcpy(msg, hdr, 4);
	msg[4] = 0x10;
	memcpy(msg + 5, crypt, 8);
	if ((err = mac8(s, s->s_mac, PCARD_MAC_DES_RETAIL, NULL, msg, sizeof msg, mac)) !=
	    PCARD_OK)
		return err;
	memset(s->chain, 0, sizeof s->chain);
	memcpy(s->chain, mac, 8);
	return PCARD_OK;
}

/* C-MAC over CLA' INS P1 P2 (n+8) data with the (encrypted) previous C-MAC as ICV. */
static pcard_err
cmac(pcard_scp *s, const pcard_apdu *a, const uint8_t *data, size_t n, uint8_t mac[8])
{
	uint8_t msg[5 + 255], icv[8];
	uint8_t cla = a->cla | scp_cla_sm(a->cla);
	pcard_err err;

	if (n > 255 - 8)
		return PCARD_E_NOSPACE;
	msg[0] = cla & (uint8_t)~scp_cla_chan(a->cla);
	msg[1] = a->ins;
	msg[2] = a->p1;
	msg[3] = a->p2;
	msg[4] = (uint8_t)(n + 8);
	if (n > 0)
		memcpy(msg + 5, data, n);
	if (s->i & 0x10)	/* ICV encryption (i b5) */
		err = pcard_keys_cipher(s->keys, s->s_mac, PCARD_CIPHER_DES_ECB_K1, 1, NULL,
		    s->chain, 8, icv);
	else {
		memcpy(icv, s->chain, 8);
		err = PCARD_OK;
	}
	if (err == PCARD_OK)
		err = mac8(s, s->s_mac, PCARD_MAC_DES_RETAIL, icv, msg, 5 + n, mac);
	pcard_wipe(msg, sizeof msg);
	pcard_wipe(icv, sizeof icv);
	return err;
}

pcard_err
scp02_wrap_cmd(pcard_scp *s, const pcard_apdu *a, uint8_t *out, size_t out_cap,
    size_t *out_len)
{
	uint8_t buf[256], mac[8];
	const uint8_t *d = a->data;
	size_t dlen = a->lc;
	pcard_wr w;
	pcard_err err = PCARD_E_INTERNAL;

	pcard_wr_init(&w, out, out_cap);
	if (!(s->level & PCARD_SCP_CMAC)) {
		scp_put_cmd(&w, a->cla, a, a->data, a->lc, NULL, 0);
		if ((err = pcard_wr_finish(&w, out_len)) == PCARD_OK)
			scp_note_cmd(s, a, a->data, a->lc);
		goto out;
	}
	if ((err = cmac(s, a, a->data, a->lc, mac)) != PCARD_OK)
		goto out;
	if ((s->level & PCARD_SCP_CDEC) && a->lc > 0) {
		if ((err = pcard_pad_iso(a->data, a->lc, 8, buf, sizeof buf, &dlen)) != PCARD_OK ||
		    (err = pcard_keys_cipher(s->keys, s->s_enc, PCARD_CIPHER_DES3_CBC, 1, NULL, buf,
		    dlen, buf)) != PCARD_OK)
			goto out;
		d = buf;
	}
	if (dlen + 8 > s->max_lc) {
		err = PCARD_E_NOSPACE;
		goto out;
	}
	scp_put_cmd(&w, a->cla | scp_cla_sm(a->cla), a, d, dlen, mac, 8);
	if ((err = pcard_wr_finish(&w, out_len)) != PCARD_OK)
		goto out;
	memcpy(s->chain, mac, 8);
	scp_note_cmd(s, a, a->data, a->lc);
	err = PCARD_OK;
out:
	pcard_wipe(buf, sizeof buf);
	return err;
}

pcard_err
scp02_unwrap_cmd(pcard_scp *s, const pcard_apdu *a, uint8_t *out, size_t out_cap,
    size_t *out_len)
{
	uint8_t buf[256], mac[8];
	const uint8_t *d = a->data;
	size_t dlen, plen;
	pcard_apdu plain;
	pcard_wr w;
	pcard_err err = PCARD_E_INTERNAL;

	pcard_wr_init(&w, out, out_cap);
	if (!(s->level & PCARD_SCP_CMAC)) {
		scp_put_cmd(&w, a->cla, a, a->data, a->lc, NULL, 0);
		if ((err = pcard_wr_finish(&w, out_len)) == PCARD_OK)
			scp_note_cmd(s, a, a->data, a->lc);
		goto out;
	}
	if (!(a->cla & scp_cla_sm(a->cla)) || a->lc < 8) {
		err = PCARD_E_MAC;
		goto out;
	}
	dlen = a->lc - 8;
	plen = dlen;
	if ((s->level & PCARD_SCP_CDEC) && dlen > 0) {
		if (dlen % 8 != 0) {
			err = PCARD_E_PADDING;
			goto out;
		}
		if ((err = pcard_keys_cipher(s->keys, s->s_enc, PCARD_CIPHER_DES3_CBC, 0, NULL, d,
		    dlen, buf)) != PCARD_OK || (err = pcard_unpad_iso(buf, dlen, &plen)) != PCARD_OK)
			goto out;
		d = buf;
	}
	plain = *a;
	plain.cla = a->cla & (uint8_t)~scp_cla_sm(a->cla);
	if ((err = cmac(s, &plain, d, plen, mac)) != PCARD_OK)
		goto out;
	if (!pcard_ct_eq(mac, a->data + dlen, 8)) {
		err = PCARD_E_MAC;
		goto out;
	}
	memcpy(s->chain, mac, 8);
	scp_note_cmd(s, &plain, d, plen);
	scp_put_cmd(&w, plain.cla, a, d, plen, NULL, 0);
	err = pcard_wr_finish(&w, out_len);
out:
	pcard_wipe(buf, sizeof buf);
	return err;
}

/* R-MAC over the recorded command, Li, data, SW, chained from the previous R-MAC. */
static pcard_err
rmac(pcard_scp *s, const uint8_t *data, size_t n, const uint8_t sw[2], uint8_t mac[8])
{
	uint8_t msg[5 + 255 + 1 + 256 + 2];
	size_t len = s->last_cmd_len;
	pcard_err err;

	if (n > 256 || len > 5 + 255)
		return PCARD_E_INTERNAL;
	memcpy(msg, s->last_cmd, len);
	msg[len++] = (uint8_t)n;
	if (n > 0)
		memcpy(msg + len, data, n);
	len += n;
	msg[len++] = sw[0];
	msg[len++] = sw[1];
	err = mac8(s, s->s_rmac, PCARD_MAC_DES_RETAIL, s->rchain, msg, len, mac);
	pcard_wipe(msg, sizeof msg);
	return err;
}

pcard_err
scp02_wrap_rsp(pcard_scp *s, const uint8_t *data, size_t n, uint16_t sw, uint8_t *out,
    size_t out_cap, size_t *out_len)
{
	uint8_t swb[2], mac[8];
	pcard_wr w;
	pcard_err err;

	swb[0] = (uint8_t)(sw >> 8);
	swb[1] = (uint8_t)sw;
	pcard_wr_init(&w, out, out_cap);
	pcard_wr_bytes(&w, data, n);
	if (s->rmac_on) {
		if ((err = rmac(s, data, n, swb, mac)) != PCARD_OK)
			return err;
		pcard_wr_bytes(&w, mac, 8);
	}
	pcard_wr_bytes(&w, swb, 2);
	if ((err = pcard_wr_finish(&w, out_len)) != PCARD_OK)
		return err;
	if (s->rmac_on)
		memcpy(s->rchain, mac, 8);
	return PCARD_OK;
}

pcard_err
scp02_unwrap_rsp(pcard_scp *s, const uint8_t *rsp, size_t n, uint8_t *out, size_t out_cap,
    size_t *out_len)
{
	uint8_t mac[8];
	size_t dlen;
	pcard_wr w;
	pcard_err err;

	pcard_wr_init(&w, out, out_cap);
	if (!s->rmac_on) {
		pcard_wr_bytes(&w, rsp, n);
		return pcard_wr_finish(&w, out_len);
	}
	if (n < 10 || n - 10 > 256)
		return PCARD_E_MAC;
	dlen = n - 10;
	if ((err = rmac(s, rsp, dlen, rsp + n - 2, mac)) != PCARD_OK)
		return err;
	if (!pcard_ct_eq(mac, rsp + dlen, 8))
		return PCARD_E_MAC;
	pcard_wr_bytes(&w, rsp, dlen);
	pcard_wr_bytes(&w, rsp + n - 2, 2);
	if ((err = pcard_wr_finish(&w, out_len)) != PCARD_OK)
		return err;
	memcpy(s->rchain, mac, 8);
	return PCARD_OK;
}
