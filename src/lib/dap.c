/*
 * dap.c: DAP blocks, LFDB hash strength, delegated management tokens and receipts
 * (GP CS 2.3.1 C.2-C.5, 11.1.6; gp-facts 3.17, 3.18).
 *
 * DAP block (before C4 in the load file):
 *
 *   E2 L | 4F L SD-AID | C3 L signature-over-LFDBH |
 *
 * Token input (what the token signs), and where the token goes:
 *
 *   P1 | P2 | Lc (1 byte, or 00 hi lo) | data up to the token
 *   INSTALL data:  LV LV ... LV | L token          (L in BER form from 128 bytes)
 *   DELETE data:   4F L AID [B6 L CRT] | 9E L token
 *
 * Receipt response and what the receipt MACs:
 *
 *   L | receipt | 02 counter(2) | L SD-unique | [L token-id] | [L token-digest]
 *   receipt = AES-CMAC(confirmation data || context LVs)
 */
#include <stdlib.h>
#include <string.h>

#include "postcard/bytes.h"
#include "postcard/crypto.h"
#include "postcard/dap.h"
#include "postcard/err.h"
#include "postcard/keys.h"
#include "postcard/tlv.h"

const char *
pcard_dap_alg_name(pcard_dap_alg alg)
{
	switch (alg) {
	case PCARD_DAP_RSA_SHA1:
		return "rsa-sha1";
	case PCARD_DAP_RSA_PSS_SHA256:
		return "rsa-pss-sha256";
	case PCARD_DAP_ECDSA:
		return "ecdsa";
	case PCARD_DAP_AES_CMAC:
		return "aes-cmac";
	case PCARD_DAP_DES_RETAIL:
		return "des-retail";
	}
	return NULL;
}

/* ECDSA hash by order size (CS Table B-3). */
static pcard_hash
ecdsa_hash(unsigned bits)
{
	if (bits < 384)
		return PCARD_HASH_SHA256;
	if (bits < 512)
		return PCARD_HASH_SHA384;
	return PCARD_HASH_SHA512;
}

static int
hash_rank(pcard_hash h)
{
	switch (h) {
	case PCARD_HASH_SHA1:
		return 1;
	case PCARD_HASH_SHA256:
		return 2;
	case PCARD_HASH_SHA384:
		return 3;
	case PCARD_HASH_SHA512:
		return 4;
	default:
		return 0;
	}
}

pcard_err
pcard_lfdb_min_hash(pcard_dap_alg alg, unsigned key_bits, pcard_hash *min)
{
	if (min == NULL)
		return PCARD_E_INVALID_ARG;
	switch (alg) {
	case PCARD_DAP_RSA_SHA1:
	case PCARD_DAP_DES_RETAIL:
		*min = PCARD_HASH_SHA1;
		return PCARD_OK;
	case PCARD_DAP_RSA_PSS_SHA256:
		*min = PCARD_HASH_SHA256;
		return PCARD_OK;
	case PCARD_DAP_ECDSA:
		if (key_bits < 256)
			return PCARD_E_INVALID_ARG;
		*min = ecdsa_hash(key_bits);
		return PCARD_OK;
	case PCARD_DAP_AES_CMAC:
		if (key_bits == 128)
			*min = PCARD_HASH_SHA256;
		else if (key_bits == 192)
			*min = PCARD_HASH_SHA384;
		else if (key_bits == 256)
			*min = PCARD_HASH_SHA512;
		else
			return PCARD_E_INVALID_ARG;
		return PCARD_OK;
	}
	return PCARD_E_INVALID_ARG;
}

pcard_err
pcard_lfdb_hash_check(pcard_hash have, pcard_hash min)
{
	if (hash_rank(have) == 0 || hash_rank(min) == 0)
		return PCARD_E_INVALID_ARG;
	return hash_rank(have) >= hash_rank(min) ? PCARD_OK : PCARD_E_UNSUPPORTED;
}

/* The asymmetric scheme and hash for k, after checking the key fits the algorithm. */
static pcard_err
asym_params(const pcard_dapkey *k, pcard_sig_scheme *s, pcard_hash *h)
{
	if (k->alg != PCARD_DAP_RSA_SHA1 && k->alg != PCARD_DAP_RSA_PSS_SHA256 &&
	    k->alg != PCARD_DAP_ECDSA)
		return PCARD_E_INVALID_ARG;
	if (k->pkey == NULL)
		return PCARD_E_KEY;
	switch (k->alg) {
	case PCARD_DAP_RSA_SHA1:
		if (!pcard_pkey_is_rsa(k->pkey) ||
		    pcard_pkey_bits(k->pkey) > PCARD_DAP_RSA_SCHEME1_MAX_BITS)
			return PCARD_E_KEY;
		*s = PCARD_SIG_RSA_PKCS1;
		*h = PCARD_HASH_SHA1;
		return PCARD_OK;
	case PCARD_DAP_RSA_PSS_SHA256:
		if (!pcard_pkey_is_rsa(k->pkey))
			return PCARD_E_KEY;
		*s = PCARD_SIG_RSA_PSS;
		*h = PCARD_HASH_SHA256;
		return PCARD_OK;
	case PCARD_DAP_ECDSA:
		if (!pcard_pkey_is_ec(k->pkey))
			return PCARD_E_KEY;
		*s = PCARD_SIG_ECDSA;
		*h = ecdsa_hash(pcard_pkey_bits(k->pkey));
		return PCARD_OK;
	default:
		return PCARD_E_INVALID_ARG;
	}
}

static int
is_symmetric(pcard_dap_alg alg)
{
	return alg == PCARD_DAP_AES_CMAC || alg == PCARD_DAP_DES_RETAIL;
}

static pcard_err
sym_mac(const pcard_dapkey *k, const uint8_t *msg, size_t n, uint8_t *out, size_t out_cap,
    size_t *out_len)
{
	pcard_mac_alg m = k->alg == PCARD_DAP_AES_CMAC ? PCARD_MAC_AES_CMAC :
	    PCARD_MAC_DES_RETAIL;

	if (k->keys == NULL)
		return PCARD_E_KEY;
	return pcard_keys_mac(k->keys, k->h, m, NULL, msg, n, out, out_cap, out_len);
}

pcard_err
pcard_dap_sign(const pcard_dapkey *k, const uint8_t *msg, size_t n, uint8_t *sig,
    size_t sig_cap, size_t *sig_len)
{
	pcard_sig_scheme s;
	pcard_hash h;
	pcard_err err;

	if (k == NULL || (msg == NULL && n != 0) || sig == NULL || sig_len == NULL)
		return PCARD_E_INVALID_ARG;
	if (is_symmetric(k->alg))
		return sym_mac(k, msg, n, sig, sig_cap, sig_len);
	if ((err = asym_params(k, &s, &h)) != PCARD_OK)
		return err;
	return pcard_sign(k->pkey, s, h, msg, n, sig, sig_cap, sig_len);
}

pcard_err
pcard_dap_verify(const pcard_dapkey *k, const uint8_t *msg, size_t n, const uint8_t *sig,
    size_t sig_len)
{
	uint8_t mac[PCARD_AES_BLOCK];
	size_t mac_len = 0;
	pcard_sig_scheme s;
	pcard_hash h;
	pcard_err err = PCARD_E_INTERNAL;

	if (k == NULL || (msg == NULL && n != 0) || (sig == NULL && sig_len != 0))
		return PCARD_E_INVALID_ARG;
	if (!is_symmetric(k->alg)) {
		if ((err = asym_params(k, &s, &h)) != PCARD_OK)
			return err;
		return pcard_verify(k->pkey, s, h, msg, n, sig, sig_len);
	}
	if ((err = sym_mac(k, msg, n, mac, sizeof mac, &mac_len)) != PCARD_OK)
		goto out;
	/* The length is public; the bytes are compared in constant time. */
	err = sig_len == mac_len && pcard_ct_eq(mac, sig, mac_len) ? PCARD_OK : PCARD_E_VERIFY;
out:
	pcard_wipe(mac, sizeof mac);
	return err;
}

pcard_err
pcard_dap_block_encode(const uint8_t *sd_aid, size_t aid_len, const uint8_t *sig,
    size_t sig_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	pcard_wr w;
	pcard_tlv_mark m;

	if (sd_aid == NULL || aid_len < 5 || aid_len > 16 || sig == NULL || sig_len == 0 ||
	    out_len == NULL || (out == NULL && out_cap != 0))
		return PCARD_E_INVALID_ARG;
	pcard_wr_init(&w, out, out_cap);
	pcard_tlv_begin(&w, 0xE2, &m);
	pcard_tlv_put(&w, 0x4F, sd_aid, aid_len);
	pcard_tlv_put(&w, 0xC3, sig, sig_len);
	pcard_tlv_end(&w, &m);
	return pcard_wr_finish(&w, out_len);
}

pcard_err
pcard_dap_block_make(const pcard_dapkey *k, const uint8_t *sd_aid, size_t aid_len,
    const uint8_t *lfdbh, size_t lfdbh_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	uint8_t sig[PCARD_DAP_MAX_SIG];
	size_t sig_len = 0;
	pcard_err err;

	if ((err = pcard_dap_sign(k, lfdbh, lfdbh_len, sig, sizeof sig, &sig_len)) != PCARD_OK)
		return err;
	return pcard_dap_block_encode(sd_aid, aid_len, sig, sig_len, out, out_cap, out_len);
}

pcard_err
pcard_dap_block_parse(pcard_rd *r, const uint8_t **aid, size_t *aid_len, const uint8_t **sig,
    size_t *sig_len)
{
	pcard_rd in = *r, val, a, s;
	uint32_t tag;
	pcard_err err;

	if (aid == NULL || aid_len == NULL || sig == NULL || sig_len == NULL)
		return PCARD_E_INVALID_ARG;
	if ((err = pcard_tlv_next(&in, &tag, &val)) != PCARD_OK)
		return err;
	if (tag != 0xE2)
		return PCARD_E_BAD_ENCODING;
	if ((err = pcard_tlv_next(&val, &tag, &a)) != PCARD_OK)
		return err;
	if (tag != 0x4F)
		return PCARD_E_BAD_ENCODING;
	if ((err = pcard_tlv_next(&val, &tag, &s)) != PCARD_OK)
		return err;
	if (tag != 0xC3 || pcard_rd_expect_end(&val) != PCARD_OK)
		return PCARD_E_BAD_ENCODING;
	*aid_len = pcard_rd_left(&a);
	*aid = pcard_rd_ptr(&a);
	*sig_len = pcard_rd_left(&s);
	*sig = pcard_rd_ptr(&s);
	*r = in;
	return PCARD_OK;
}

pcard_err
pcard_dap_block_verify(const pcard_dapkey *k, const uint8_t *block, size_t n,
    const uint8_t *lfdbh, size_t lfdbh_len)
{
	pcard_rd r;
	const uint8_t *aid, *sig;
	size_t aid_len, sig_len;
	pcard_err err;

	pcard_rd_init(&r, block, n);
	if ((err = pcard_dap_block_parse(&r, &aid, &aid_len, &sig, &sig_len)) != PCARD_OK)
		return err;
	if (pcard_rd_expect_end(&r) != PCARD_OK)
		return PCARD_E_TRAILING_DATA;
	return pcard_dap_verify(k, lfdbh, lfdbh_len, sig, sig_len);
}

/* ---- Tokens ---- */

pcard_err
pcard_token_input(uint8_t p1, uint8_t p2, const uint8_t *data, size_t n, uint8_t *out,
    size_t out_cap, size_t *out_len)
{
	pcard_wr w;

	if ((data == NULL && n != 0) || n > 65535 || out_len == NULL ||
	    (out == NULL && out_cap != 0))
		return PCARD_E_INVALID_ARG;
	pcard_wr_init(&w, out, out_cap);
	pcard_wr_u8(&w, p1);
	pcard_wr_u8(&w, p2);
	if (n < 256) {
		pcard_wr_u8(&w, (uint8_t)n);
	} else {
		pcard_wr_u8(&w, 0);
		pcard_wr_u16(&w, (uint16_t)n);
	}
	pcard_wr_bytes(&w, data, n);
	return pcard_wr_finish(&w, out_len);
}

pcard_err
pcard_token_append(const pcard_dapkey *k, uint8_t ins, uint8_t p1, uint8_t p2,
    const uint8_t *data, size_t n, uint8_t *out, size_t out_cap, size_t *out_len)
{
	uint8_t sig[PCARD_DAP_MAX_SIG];
	size_t in_len = 0, sig_len = 0;
	pcard_wr w;
	pcard_err err = PCARD_E_INTERNAL;

	if (k == NULL || (ins != PCARD_INS_INSTALL && ins != PCARD_INS_DELETE) ||
	    out == NULL || out_len == NULL || (data == NULL && n != 0))
		return PCARD_E_INVALID_ARG;
	/* The token input goes into out first: anything the result fits in holds it too. */
	if ((err = pcard_token_input(p1, p2, data, n, out, out_cap, &in_len)) != PCARD_OK ||
	    (err = pcard_dap_sign(k, out, in_len, sig, sizeof sig, &sig_len)) != PCARD_OK)
		goto out;
	pcard_wr_init(&w, out, out_cap);
	pcard_wr_bytes(&w, data, n);
	if (ins == PCARD_INS_DELETE) {
		pcard_tlv_put(&w, 0x9E, sig, sig_len);
	} else {
		pcard_wr_ber_len(&w, sig_len);
		pcard_wr_bytes(&w, sig, sig_len);
	}
	err = pcard_wr_finish(&w, out_len);
out:
	pcard_wipe(sig, sizeof sig);
	return err;
}

/* One INSTALL field: BER length (1 byte below 128, 81 xx, 82 xx xx) then the value. */
static pcard_err
rd_ber_lv(pcard_rd *r, pcard_rd *val)
{
	pcard_rd in = *r;
	uint8_t b;
	uint16_t w;
	size_t len;

	if (pcard_rd_u8(&in, &b) != PCARD_OK)
		return PCARD_E_TRUNCATED;
	if (b < 0x80) {
		len = b;
	} else if (b == 0x81) {
		if (pcard_rd_u8(&in, &b) != PCARD_OK)
			return PCARD_E_TRUNCATED;
		len = b;
	} else if (b == 0x82) {
		if (pcard_rd_u16(&in, &w) != PCARD_OK)
			return PCARD_E_TRUNCATED;
		len = w;
	} else {
		return PCARD_E_BAD_ENCODING;
	}
	if (pcard_rd_sub(&in, len, val) != PCARD_OK)
		return PCARD_E_TRUNCATED;
	*r = in;
	return PCARD_OK;
}

pcard_err
pcard_token_split(uint8_t ins, uint8_t p1, const uint8_t *data, size_t n, size_t *signed_len,
    const uint8_t **tok, size_t *tok_len)
{
	pcard_rd r, val;
	size_t before;
	pcard_err err;

	if ((data == NULL && n != 0) || signed_len == NULL || tok == NULL || tok_len == NULL)
		return PCARD_E_INVALID_ARG;
	pcard_rd_init(&r, data, n);
	if (ins == PCARD_INS_DELETE) {
		while (pcard_rd_left(&r) > 0) {
			size_t off = n - pcard_rd_left(&r);
			uint32_t tag;

			if ((err = pcard_tlv_next(&r, &tag, &val)) != PCARD_OK)
				return PCARD_E_BAD_ENCODING;
			if (tag == 0x9E) {
				if (pcard_rd_expect_end(&r) != PCARD_OK)
					return PCARD_E_BAD_ENCODING;
				*signed_len = off;
				goto found;
			}
		}
		*signed_len = n;	/* no token */
		*tok = NULL;
		*tok_len = 0;
		return PCARD_OK;
	}
	if (ins != PCARD_INS_INSTALL)
		return PCARD_E_INVALID_ARG;
	switch (p1 & 0x7F) {	/* b8: more INSTALL commands follow */
	case 0x02:
		before = 4;	/* ELF AID, SD AID, LFDB hash, load parameters */
		break;
	case 0x04: case 0x08: case 0x0C: case 0x10: case 0x20: case 0x40:
		before = 5;
		break;
	default:
		return PCARD_E_UNSUPPORTED;
	}
	for (size_t i = 0; i < before; i++)
		if (rd_ber_lv(&r, &val) != PCARD_OK)
			return PCARD_E_BAD_ENCODING;
	*signed_len = n - pcard_rd_left(&r);
	if (rd_ber_lv(&r, &val) != PCARD_OK || pcard_rd_expect_end(&r) != PCARD_OK)
		return PCARD_E_BAD_ENCODING;
found:
	*tok_len = pcard_rd_left(&val);
	*tok = *tok_len > 0 ? pcard_rd_ptr(&val) : NULL;
	return PCARD_OK;
}

pcard_err
pcard_token_verify(const pcard_dapkey *k, uint8_t ins, uint8_t p1, uint8_t p2,
    const uint8_t *data, size_t n)
{
	const uint8_t *tok = NULL;
	uint8_t *in = NULL;
	size_t signed_len = 0, tok_len = 0, in_len = 0;
	pcard_err err = PCARD_E_INTERNAL;

	if (k == NULL)
		return PCARD_E_INVALID_ARG;
	if ((err = pcard_token_split(ins, p1, data, n, &signed_len, &tok, &tok_len)) != PCARD_OK)
		goto out;
	if (tok_len == 0) {
		err = PCARD_E_VERIFY;
		goto out;
	}
	/* The input is up to 65538 bytes: too big for the stack, so it is a heap copy. */
	if ((in = malloc(signed_len + 5)) == NULL) {
		err = PCARD_E_NOMEM;
		goto out;
	}
	if ((err = pcard_token_input(p1, p2, data, signed_len, in, signed_len + 5, &in_len)) !=
	    PCARD_OK)
		goto out;
	err = pcard_dap_verify(k, in, in_len, tok, tok_len);
out:
	free(in);
	return err;
}

/* ---- Receipts ---- */

pcard_err
pcard_confirm_encode(const pcard_confirm *c, uint8_t *out, size_t out_cap, size_t *out_len)
{
	pcard_wr w;

	if (c == NULL || out_len == NULL || (out == NULL && out_cap != 0) ||
	    (c->sd_unique == NULL && c->sd_unique_len != 0) ||
	    (c->has_token_id && c->token_id == NULL && c->token_id_len != 0) ||
	    (c->has_token_digest && c->token_digest == NULL && c->token_digest_len != 0))
		return PCARD_E_INVALID_ARG;
	pcard_wr_init(&w, out, out_cap);
	pcard_wr_u8(&w, 2);
	pcard_wr_u16(&w, c->counter);
	pcard_wr_lv(&w, c->sd_unique, c->sd_unique_len);
	if (c->has_token_id || c->has_token_digest)
		pcard_wr_lv(&w, c->has_token_id ? c->token_id : NULL,
		    c->has_token_id ? c->token_id_len : 0);
	if (c->has_token_digest)
		pcard_wr_lv(&w, c->token_digest, c->token_digest_len);
	return pcard_wr_finish(&w, out_len);
}

pcard_err
pcard_confirm_parse(const uint8_t *p, size_t n, pcard_confirm *c)
{
	pcard_rd r, v;
	uint8_t len;

	if (c == NULL || (p == NULL && n != 0))
		return PCARD_E_INVALID_ARG;
	memset(c, 0, sizeof *c);
	pcard_rd_init(&r, p, n);
	if (pcard_rd_u8(&r, &len) != PCARD_OK || len != 2 ||
	    pcard_rd_u16(&r, &c->counter) != PCARD_OK || pcard_rd_lv(&r, &v) != PCARD_OK)
		return PCARD_E_BAD_ENCODING;
	c->sd_unique_len = pcard_rd_left(&v);
	c->sd_unique = pcard_rd_ptr(&v);
	if (pcard_rd_left(&r) > 0) {
		if (pcard_rd_lv(&r, &v) != PCARD_OK)
			return PCARD_E_BAD_ENCODING;
		c->has_token_id = 1;
		c->token_id_len = pcard_rd_left(&v);
		c->token_id = pcard_rd_ptr(&v);
	}
	if (pcard_rd_left(&r) > 0) {
		if (pcard_rd_lv(&r, &v) != PCARD_OK)
			return PCARD_E_BAD_ENCODING;
		c->has_token_digest = 1;
		c->token_digest_len = pcard_rd_left(&v);
		c->token_digest = pcard_rd_ptr(&v);
	}
	if (pcard_rd_expect_end(&r) != PCARD_OK)
		return PCARD_E_BAD_ENCODING;
	return PCARD_OK;
}

pcard_err
pcard_receipt_context(pcard_receipt_op op, const uint8_t *a, size_t a_len, const uint8_t *b,
    size_t b_len, const uint8_t *c, size_t c_len, uint8_t *out, size_t out_cap,
    size_t *out_len)
{
	size_t want;
	pcard_wr w;

	switch (op) {
	case PCARD_RECEIPT_DELETE:
		want = 1;
		break;
	case PCARD_RECEIPT_LOAD:
	case PCARD_RECEIPT_INSTALL:
		want = 2;
		break;
	case PCARD_RECEIPT_EXTRADITION:
		want = 3;
		break;
	default:
		return PCARD_E_INVALID_ARG;
	}
	/* Exactly the AIDs op uses: present (1..16 bytes) when used, NULL/0 when not. */
	if ((a == NULL) != (want < 1) || (b == NULL) != (want < 2) || (c == NULL) != (want < 3) ||
	    (a != NULL && (a_len == 0 || a_len > 16)) || (b != NULL && (b_len == 0 || b_len > 16)) ||
	    (c != NULL && (c_len == 0 || c_len > 16)) || out_len == NULL ||
	    (out == NULL && out_cap != 0))
		return PCARD_E_INVALID_ARG;
	pcard_wr_init(&w, out, out_cap);
	pcard_wr_lv(&w, a, a_len);
	if (want >= 2)
		pcard_wr_lv(&w, b, b_len);
	if (want >= 3)
		pcard_wr_lv(&w, c, c_len);
	return pcard_wr_finish(&w, out_len);
}

/* AES-CMAC over confirmation || context, through the key provider. */
static pcard_err
receipt_mac(pcard_keys *keys, pcard_keyh h, const uint8_t *conf, size_t conf_len,
    const uint8_t *ctx, size_t ctx_len, uint8_t mac[PCARD_RECEIPT_BYTES])
{
	uint8_t msg[PCARD_RECEIPT_MAX_MSG];
	size_t mac_len = 0;
	pcard_wr w;
	pcard_err err = PCARD_E_INTERNAL;

	if (keys == NULL || (ctx == NULL && ctx_len != 0))
		return PCARD_E_INVALID_ARG;
	pcard_wr_init(&w, msg, sizeof msg);
	pcard_wr_bytes(&w, conf, conf_len);
	pcard_wr_bytes(&w, ctx, ctx_len);
	if ((err = pcard_wr_finish(&w, &conf_len)) != PCARD_OK ||
	    (err = pcard_keys_mac(keys, h, PCARD_MAC_AES_CMAC, NULL, msg, conf_len, mac,
	    PCARD_RECEIPT_BYTES, &mac_len)) != PCARD_OK)
		goto out;
	err = mac_len == PCARD_RECEIPT_BYTES ? PCARD_OK : PCARD_E_INTERNAL;
out:
	return err;
}

pcard_err
pcard_receipt_response(pcard_keys *keys, pcard_keyh h, const pcard_confirm *c,
    const uint8_t *ctx, size_t ctx_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	uint8_t conf[PCARD_RECEIPT_MAX_MSG], mac[PCARD_RECEIPT_BYTES];
	size_t conf_len = 0;
	pcard_wr w;
	pcard_err err = PCARD_E_INTERNAL;

	if (out_len == NULL || (out == NULL && out_cap != 0))
		return PCARD_E_INVALID_ARG;
	if ((err = pcard_confirm_encode(c, conf, sizeof conf, &conf_len)) != PCARD_OK ||
	    (err = receipt_mac(keys, h, conf, conf_len, ctx, ctx_len, mac)) != PCARD_OK)
		goto out;
	pcard_wr_init(&w, out, out_cap);
	pcard_wr_lv(&w, mac, sizeof mac);
	pcard_wr_bytes(&w, conf, conf_len);
	err = pcard_wr_finish(&w, out_len);
out:
	pcard_wipe(mac, sizeof mac);
	return err;
}

pcard_err
pcard_receipt_verify(pcard_keys *keys, pcard_keyh h, const uint8_t *resp, size_t n,
    const uint8_t *ctx, size_t ctx_len, pcard_confirm *c)
{
	uint8_t mac[PCARD_RECEIPT_BYTES];
	pcard_confirm tmp;
	pcard_rd r, receipt;
	pcard_err err = PCARD_E_INTERNAL;

	if (resp == NULL && n != 0)
		return PCARD_E_INVALID_ARG;
	pcard_rd_init(&r, resp, n);
	if (pcard_rd_lv(&r, &receipt) != PCARD_OK) {
		err = PCARD_E_BAD_ENCODING;
		goto out;
	}
	if (pcard_rd_left(&receipt) != PCARD_RECEIPT_BYTES) {
		err = PCARD_E_VERIFY;	/* no receipt (00), or not an AES-CMAC one */
		goto out;
	}
	if ((err = pcard_confirm_parse(pcard_rd_ptr(&r), pcard_rd_left(&r), &tmp)) != PCARD_OK ||
	    (err = receipt_mac(keys, h, pcard_rd_ptr(&r), pcard_rd_left(&r), ctx, ctx_len,
	    mac)) != PCARD_OK)
		goto out;
	if (!pcard_ct_eq(mac, pcard_rd_ptr(&receipt), PCARD_RECEIPT_BYTES)) {
		err = PCARD_E_VERIFY;
		goto out;
	}
	if (c != NULL)
		*c = tmp;
	err = PCARD_OK;
out:
	pcard_wipe(mac, sizeof mac);
	return err;
}
