/*
 * scp03.c: SCP03 (GP Card Specification Amendment D v1.2): key derivation, cryptograms,
 * pseudo-random challenge, C-MAC / C-DEC / R-MAC / R-ENC, through the key provider.
 *
 * KDF input block (AmdD 4.1.5), counter at byte 15 filled in by the provider:
 *
 *   00 x 11 | constant | 00 | L (2, bits) | counter | context
 *
 * Wrapped command (AmdD 6.2.6): encrypt first, then MAC
 *
 *   CLA|SM INS P1 P2 Lc' AES-CBC(S-ENC, ICV, data || 80 00..) C-MAC(8|16) [Le]
 *   ICV   = AES(S-ENC, counter as a 16-byte big-endian block)
 *   C-MAC = CMAC(S-MAC, chaining || CLA' INS P1 P2 Lc' data'), CLA' without channel bits
 *
 * Wrapped response (AmdD 6.2.7, 9000/62xx/63xx only):
 *
 *   AES-CBC(S-ENC, ICV', data || 80 00..) R-MAC(8|16) SW1 SW2
 *   ICV'  = AES(S-ENC, 80 || 00.. || counter);  R-MAC = CMAC(S-RMAC, chaining || data' || SW)
 */
#include <string.h>

#include "postcard/bytes.h"
#include "postcard/crypto.h"
#include "postcard/keys.h"
#include "scp_int.h"

#define KDF_HDR 16
#define CONST_CARD_CRYPT 0x00
#define CONST_HOST_CRYPT 0x01
#define CONST_CARD_CHAL 0x02
#define CONST_S_ENC 0x04
#define CONST_S_MAC 0x06
#define CONST_S_RMAC 0x07

/* Fill buf with the KDF block for constant, L bits, context c1 || c2; returns its length. */
static size_t
kdf_block(uint8_t *buf, uint8_t constant, size_t lbits, const uint8_t *c1, size_t n1,
    const uint8_t *c2, size_t n2)
{
	memset(buf, 0, 11);
	buf[11] = constant;
	buf[12] = 0x00;
	buf[13] = (uint8_t)(lbits >> 8);
	buf[14] = (uint8_t)lbits;
	buf[15] = 0x01;
	if (n1 > 0)
		memcpy(buf + KDF_HDR, c1, n1);
	if (n2 > 0)
		memcpy(buf + KDF_HDR + n1, c2, n2);
	return KDF_HDR + n1 + n2;
}

static pcard_err
derive_one(pcard_scp *s, pcard_keyh base, uint8_t constant, size_t len, pcard_keyh *out)
{
	uint8_t blk[KDF_HDR + 2 * PCARD_SCP_MAX_CHAL];
	size_t n;
	pcard_err err;

	n = kdf_block(blk, constant, len * 8, s->host_chal, s->host_chal_len, s->card_chal,
	    s->card_chal_len);
	err = pcard_keys_derive(s->keys, base, PCARD_DERIVE_AES_KDF, blk, n, 15, PCARD_KEY_AES,
	    len, out);
	pcard_wipe(blk, sizeof blk);
	return err;
}

pcard_err
scp03_session_keys(pcard_scp *s)
{
	pcard_keytype te, tm;
	size_t le, lm;
	pcard_err err = PCARD_E_INTERNAL;

	if ((err = pcard_keys_info(s->keys, s->st.enc, &te, &le)) != PCARD_OK ||
	    (err = pcard_keys_info(s->keys, s->st.mac, &tm, &lm)) != PCARD_OK)
		return err == PCARD_E_NOT_FOUND ? PCARD_E_KEY : err;
	if (te != PCARD_KEY_AES || tm != PCARD_KEY_AES ||
	    (le != 16 && le != 24 && le != 32) || (lm != 16 && lm != 24 && lm != 32))
		return PCARD_E_KEY;
	s->key_len = le;
	if ((err = derive_one(s, s->st.enc, CONST_S_ENC, le, &s->s_enc)) != PCARD_OK ||
	    (err = derive_one(s, s->st.mac, CONST_S_MAC, lm, &s->s_mac)) != PCARD_OK ||
	    (err = derive_one(s, s->st.mac, CONST_S_RMAC, lm, &s->s_rmac)) != PCARD_OK)
		return err;
	return PCARD_OK;
}

pcard_err
scp03_cryptogram(pcard_scp *s, uint8_t constant, uint8_t *out)
{
	uint8_t blk[KDF_HDR + 2 * PCARD_SCP_MAX_CHAL];
	size_t n, len = s->card_chal_len;
	pcard_err err;

	n = kdf_block(blk, constant, len * 8, s->host_chal, s->host_chal_len, s->card_chal,
	    s->card_chal_len);
	err = pcard_keys_kdf_data(s->keys, s->s_mac, blk, n, 15, out, len);
	pcard_wipe(blk, sizeof blk);
	return err;
}

pcard_err
scp03_pseudo_chal(pcard_scp *s, uint8_t *out)
{
	uint8_t blk[KDF_HDR + 3 + PCARD_SCP_MAX_AID], seq[3];
	size_t n, len = s->s16 ? 16 : 8;
	pcard_err err;

	seq[0] = (uint8_t)(s->seq >> 16);
	seq[1] = (uint8_t)(s->seq >> 8);
	seq[2] = (uint8_t)s->seq;
	n = kdf_block(blk, CONST_CARD_CHAL, len * 8, seq, 3, s->aid, s->aid_len);
	err = pcard_keys_kdf_data(s->keys, s->st.enc, blk, n, 15, out, len);
	pcard_wipe(blk, sizeof blk);
	return err;
}

pcard_err
scp03_host_auth(pcard_scp *s, pcard_rd *r)
{
	uint8_t crypt[16], want[16];
	uint32_t seq = 0;
	size_t len;
	pcard_err err = PCARD_E_INTERNAL;

	if ((err = pcard_rd_u8(r, &s->i)) != PCARD_OK)
		goto bad;
	if ((s->i & 0x8E) != 0 || ((s->i & PCARD_SCP03_I_RENC) && !(s->i & PCARD_SCP03_I_RMAC))) {
		err = PCARD_E_UNSUPPORTED;
		goto out;
	}
	s->s16 = (s->i & PCARD_SCP03_I_S16) ? 1 : 0;
	len = s->s16 ? 16 : 8;
	if (s->host_chal_len != len) {
		err = PCARD_E_BAD_ENCODING;
		goto out;
	}
	s->card_chal_len = len;
	if ((err = pcard_rd_copy(r, len, s->card_chal)) != PCARD_OK ||
	    (err = pcard_rd_copy(r, len, crypt)) != PCARD_OK)
		goto bad;
	if ((s->i & PCARD_SCP03_I_PSEUDO) && (err = pcard_rd_u24(r, &seq)) != PCARD_OK)
		goto bad;
	if ((err = pcard_rd_expect_end(r)) != PCARD_OK)
		goto bad;
	s->seq = seq;
	if ((err = scp03_session_keys(s)) != PCARD_OK ||
	    (err = scp03_cryptogram(s, CONST_CARD_CRYPT, want)) != PCARD_OK)
		goto out;
	if (!pcard_ct_eq(want, crypt, len)) {
		err = PCARD_E_AUTH;
		goto out;
	}
	if ((s->i & PCARD_SCP03_I_PSEUDO) && s->aid_len > 0) {
		if ((err = scp03_pseudo_chal(s, want)) != PCARD_OK)
			goto out;
		if (!pcard_ct_eq(want, s->card_chal, len)) {
			err = PCARD_E_AUTH;
			goto out;
		}
	}
	err = PCARD_OK;
	goto out;
bad:
	err = PCARD_E_BAD_ENCODING;
out:
	pcard_wipe(want, sizeof want);
	pcard_wipe(crypt, sizeof crypt);
	return err;
}

pcard_err
scp03_card_iu(pcard_scp *s, const pcard_scp_card_params *p, pcard_wr *w)
{
	uint8_t crypt[16];
	size_t len = s->s16 ? 16 : 8;
	pcard_err err = PCARD_E_INTERNAL;

	s->card_chal_len = len;
	if (s->i & PCARD_SCP03_I_PSEUDO)
		err = scp03_pseudo_chal(s, s->card_chal);
	else if (p->card_chal != NULL) {
		memcpy(s->card_chal, p->card_chal, len);
		err = PCARD_OK;
	} else
		err = pcard_random(s->card_chal, len);
	if (err != PCARD_OK)
		goto out;
	if ((err = scp03_session_keys(s)) != PCARD_OK ||
	    (err = scp03_cryptogram(s, CONST_CARD_CRYPT, crypt)) != PCARD_OK)
		goto out;
	pcard_wr_u8(w, s->i);
	pcard_wr_bytes(w, s->card_chal, len);
	pcard_wr_bytes(w, crypt, len);
	if (s->i & PCARD_SCP03_I_PSEUDO)
		pcard_wr_u24(w, s->seq);
	err = PCARD_OK;
out:
	pcard_wipe(crypt, sizeof crypt);
	return err;
}

/* Full CMAC over chaining || hdr(4) || lc || d1 || d2 under key k. */
static pcard_err
cmac_chain(pcard_scp *s, pcard_keyh k, const uint8_t *hdr, size_t nhdr, const uint8_t *d1,
    size_t n1, const uint8_t *d2, size_t n2, uint8_t out[16])
{
	uint8_t msg[16 + 5 + 272 + 2];
	size_t len, got = 0;
	pcard_err err;

	if (nhdr + n1 + n2 > sizeof msg - 16)
		return PCARD_E_INTERNAL;
	memcpy(msg, s->chain, 16);
	len = 16;
	if (nhdr > 0)
		memcpy(msg + len, hdr, nhdr);
	len += nhdr;
	if (n1 > 0)
		memcpy(msg + len, d1, n1);
	len += n1;
	if (n2 > 0)
		memcpy(msg + len, d2, n2);
	len += n2;
	err = pcard_keys_mac(s->keys, k, PCARD_MAC_AES_CMAC, NULL, msg, len, out, 16, &got);
	pcard_wipe(msg, sizeof msg);
	if (err == PCARD_OK && got != 16)
		err = PCARD_E_CRYPTO;
	return err;
}

pcard_err
scp03_ext_auth_mac(pcard_scp *s, const uint8_t hdr[4], const uint8_t *crypt, uint8_t *mac)
{
	uint8_t h[5];
	size_t clen = scp_mac_len(s);
	pcard_err err;

	memcpy(h, hdr, 4);
	h[4] = (uint8_t)(2 * clen);
	memset(s->chain, 0, sizeof s->chain);
	if ((err = cmac_chain(s, s->s_mac, h, 5, crypt, clen, NULL, 0, mac)) != PCARD_OK)
		return err;
	memcpy(s->chain, mac, 16);
	return PCARD_OK;
}

/* ICV for C-DEC (resp = 0) or R-ENC (resp = 1) with counter ctr. */
static pcard_err
enc_icv(pcard_scp *s, uint32_t ctr, int resp, uint8_t icv[16])
{
	uint8_t blk[16] = { 0 };

	if (resp)
		blk[0] = 0x80;
	blk[12] = (uint8_t)(ctr >> 24);
	blk[13] = (uint8_t)(ctr >> 16);
	blk[14] = (uint8_t)(ctr >> 8);
	blk[15] = (uint8_t)ctr;
	return pcard_keys_cipher(s->keys, s->s_enc, PCARD_CIPHER_AES_ECB, 1, NULL, blk, 16, icv);
}

/* Pad and encrypt in under S-ENC; out_len is a multiple of 16. */
static pcard_err
encrypt(pcard_scp *s, uint32_t ctr, int resp, const uint8_t *in, size_t n, uint8_t *out,
    size_t out_cap, size_t *out_len)
{
	uint8_t icv[16];
	pcard_err err;

	if ((err = pcard_pad_iso(in, n, 16, out, out_cap, out_len)) != PCARD_OK ||
	    (err = enc_icv(s, ctr, resp, icv)) != PCARD_OK)
		return err;
	return pcard_keys_cipher(s->keys, s->s_enc, PCARD_CIPHER_AES_CBC, 1, icv, out, *out_len,
	    out);
}

/* Decrypt and unpad; PCARD_E_PADDING for a length that is no block multiple or bad padding. */
static pcard_err
decrypt(pcard_scp *s, uint32_t ctr, int resp, const uint8_t *in, size_t n, uint8_t *out,
    size_t *out_len)
{
	uint8_t icv[16];
	pcard_err err;

	if (n == 0 || n % 16 != 0)
		return PCARD_E_PADDING;
	if ((err = enc_icv(s, ctr, resp, icv)) != PCARD_OK ||
	    (err = pcard_keys_cipher(s->keys, s->s_enc, PCARD_CIPHER_AES_CBC, 0, icv, in, n,
	    out)) != PCARD_OK)
		return err;
	return pcard_unpad_iso(out, n, out_len);
}

pcard_err
scp03_wrap_cmd(pcard_scp *s, const pcard_apdu *a, uint8_t *out, size_t out_cap,
    size_t *out_len)
{
	uint8_t buf[272], full[16], hdr[5], cla;
	const uint8_t *d = a->data;
	size_t dlen = a->lc, mlen = scp_mac_len(s);
	uint32_t ctr = s->enc_counter + 1;
	pcard_wr w;
	pcard_err err = PCARD_E_INTERNAL;

	pcard_wr_init(&w, out, out_cap);
	if (!(s->level & PCARD_SCP_CMAC)) {
		scp_put_cmd(&w, a->cla, a, a->data, a->lc, NULL, 0);
		err = pcard_wr_finish(&w, out_len);
		goto out;
	}
	if ((s->level & PCARD_SCP_CDEC) && a->lc > 0) {
		if ((err = encrypt(s, ctr, 0, a->data, a->lc, buf, sizeof buf, &dlen)) != PCARD_OK)
			goto out;
		d = buf;
	}
	if (dlen + mlen > s->max_lc) {
		err = PCARD_E_NOSPACE;
		goto out;
	}
	cla = a->cla | scp_cla_sm(a->cla);
	hdr[0] = cla & (uint8_t)~scp_cla_chan(a->cla);
	hdr[1] = a->ins;
	hdr[2] = a->p1;
	hdr[3] = a->p2;
	hdr[4] = (uint8_t)(dlen + mlen);
	if ((err = cmac_chain(s, s->s_mac, hdr, 5, d, dlen, NULL, 0, full)) != PCARD_OK)
		goto out;
	scp_put_cmd(&w, cla, a, d, dlen, full, mlen);
	if ((err = pcard_wr_finish(&w, out_len)) != PCARD_OK)
		goto out;
	memcpy(s->chain, full, 16);
	s->enc_counter = ctr;
	err = PCARD_OK;
out:
	pcard_wipe(buf, sizeof buf);
	return err;
}

pcard_err
scp03_unwrap_cmd(pcard_scp *s, const pcard_apdu *a, uint8_t *out, size_t out_cap,
    size_t *out_len)
{
	uint8_t buf[272], full[16], hdr[5];
	const uint8_t *d = a->data;
	size_t dlen, plen, mlen = scp_mac_len(s);
	pcard_wr w;
	pcard_err err = PCARD_E_INTERNAL;

	pcard_wr_init(&w, out, out_cap);
	if (!(s->level & PCARD_SCP_CMAC)) {
		scp_put_cmd(&w, a->cla, a, a->data, a->lc, NULL, 0);
		err = pcard_wr_finish(&w, out_len);
		goto out;
	}
	if (!(a->cla & scp_cla_sm(a->cla)) || a->lc < mlen) {
		err = PCARD_E_MAC;
		goto out;
	}
	dlen = a->lc - mlen;
	hdr[0] = a->cla & (uint8_t)~scp_cla_chan(a->cla);
	hdr[1] = a->ins;
	hdr[2] = a->p1;
	hdr[3] = a->p2;
	hdr[4] = (uint8_t)a->lc;
	if ((err = cmac_chain(s, s->s_mac, hdr, 5, d, dlen, NULL, 0, full)) != PCARD_OK)
		goto out;
	if (!pcard_ct_eq(full, a->data + dlen, mlen)) {
		err = PCARD_E_MAC;
		goto out;
	}
	memcpy(s->chain, full, 16);
	s->enc_counter++;
	plen = dlen;
	if ((s->level & PCARD_SCP_CDEC) && dlen > 0) {
		if ((err = decrypt(s, s->enc_counter, 0, d, dlen, buf, &plen)) != PCARD_OK)
			goto out;
		d = buf;
	}
	scp_put_cmd(&w, a->cla & (uint8_t)~scp_cla_sm(a->cla), a, d, plen, NULL, 0);
	err = pcard_wr_finish(&w, out_len);
out:
	pcard_wipe(buf, sizeof buf);
	return err;
}

pcard_err
scp03_wrap_rsp(pcard_scp *s, const uint8_t *data, size_t n, uint16_t sw, uint8_t *out,
    size_t out_cap, size_t *out_len)
{
	uint8_t buf[272], full[16], swb[2];
	const uint8_t *d = data;
	size_t dlen = n;
	pcard_wr w;
	pcard_err err = PCARD_E_INTERNAL;

	swb[0] = (uint8_t)(sw >> 8);
	swb[1] = (uint8_t)sw;
	pcard_wr_init(&w, out, out_cap);
	if (!s->rmac_on) {
		pcard_wr_bytes(&w, data, n);
	} else if (scp_sw_protected(sw)) {
		if ((s->level & PCARD_SCP_RENC) && n > 0) {
			if ((err = encrypt(s, s->enc_counter, 1, data, n, buf, sizeof buf,
			    &dlen)) != PCARD_OK)
				goto out;
			d = buf;
		}
		if ((err = cmac_chain(s, s->s_rmac, d, dlen, swb, 2, NULL, 0, full)) != PCARD_OK)
			goto out;
		pcard_wr_bytes(&w, d, dlen);
		pcard_wr_bytes(&w, full, scp_mac_len(s));
	}
	/* an error status word travels alone, without R-MAC (AmdD 6.2.5) */
	pcard_wr_bytes(&w, swb, 2);
	err = pcard_wr_finish(&w, out_len);
out:
	pcard_wipe(buf, sizeof buf);
	return err;
}

pcard_err
scp03_unwrap_rsp(pcard_scp *s, const uint8_t *rsp, size_t n, uint8_t *out, size_t out_cap,
    size_t *out_len)
{
	uint8_t buf[272], full[16];
	const uint8_t *d = rsp;
	size_t dlen, plen, mlen = scp_mac_len(s);
	uint16_t sw = (uint16_t)(rsp[n - 2] << 8 | rsp[n - 1]);
	pcard_wr w;
	pcard_err err = PCARD_E_INTERNAL;

	pcard_wr_init(&w, out, out_cap);
	if (!s->rmac_on) {
		pcard_wr_bytes(&w, rsp, n);
		err = pcard_wr_finish(&w, out_len);
		goto out;
	}
	if (!scp_sw_protected(sw)) {
		if (n != 2) {
			err = PCARD_E_MAC;
			goto out;
		}
		pcard_wr_bytes(&w, rsp, n);
		err = pcard_wr_finish(&w, out_len);
		goto out;
	}
	if (n < 2 + mlen || n - 2 - mlen > sizeof buf) {
		err = PCARD_E_MAC;
		goto out;
	}
	dlen = n - 2 - mlen;
	if ((err = cmac_chain(s, s->s_rmac, rsp, dlen, rsp + n - 2, 2, NULL, 0, full)) !=
	    PCARD_OK)
		goto out;
	if (!pcard_ct_eq(full, rsp + dlen, mlen)) {
		err = PCARD_E_MAC;
		goto out;
	}
	plen = dlen;
	if ((s->level & PCARD_SCP_RENC) && dlen > 0) {
		if ((err = decrypt(s, s->enc_counter, 1, rsp, dlen, buf, &plen)) != PCARD_OK)
			goto out;
		d = buf;
	}
	pcard_wr_bytes(&w, d, plen);
	pcard_wr_bytes(&w, rsp + n - 2, 2);
	err = pcard_wr_finish(&w, out_len);
out:
	pcard_wipe(buf, sizeof buf);
	return err;
}
