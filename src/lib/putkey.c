/*
 * putkey.c: PUT KEY data fields and the check of the answer (putkey.h draws the format).
 * Secret keys go through the key provider's wrap and kcv; no key bytes pass through here.
 */
#include <string.h>

#include "postcard/putkey.h"

/* Strip leading zero bytes of a big-endian integer (keeping at least one byte). */
static void
strip_zeros(const uint8_t **p, size_t *n)
{
	while (*n > 1 && (*p)[0] == 0) {
		(*p)++;
		(*n)--;
	}
}

pcard_err
pcard_putkey_sym_block(pcard_keys *keys, pcard_keyh dek, pcard_keyh key, uint8_t *out,
    size_t out_cap, size_t *out_len, uint8_t kcv[PCARD_KCV_BYTES])
{
	uint8_t enc[32], kc[PCARD_KCV_BYTES];
	pcard_keytype dtype, ktype;
	size_t dlen, klen, elen = 0;
	pcard_wr w;
	pcard_err err = PCARD_E_INTERNAL;

	if (keys == NULL || out == NULL || out_len == NULL)
		return PCARD_E_INVALID_ARG;
	*out_len = 0;
	if ((err = pcard_keys_info(keys, dek, &dtype, &dlen)) != PCARD_OK ||
	    (err = pcard_keys_info(keys, key, &ktype, &klen)) != PCARD_OK)
		goto out;
	if ((dtype != PCARD_KEY_AES && dtype != PCARD_KEY_DES3) ||
	    (ktype != PCARD_KEY_AES && ktype != PCARD_KEY_DES3)) {
		err = PCARD_E_KEY;
		goto out;
	}
	/* DES keys under an AES DEK (or the reverse) have no GP block: refuse */
	if (dtype != ktype || (ktype == PCARD_KEY_DES3 && klen != 16)) {
		err = PCARD_E_UNSUPPORTED;
		goto out;
	}
	if ((err = pcard_keys_wrap(keys, dek, ktype == PCARD_KEY_AES ? PCARD_CIPHER_AES_CBC :
	    PCARD_CIPHER_DES3_ECB, key, enc, sizeof enc, &elen)) != PCARD_OK ||
	    (err = pcard_keys_kcv(keys, key, kc)) != PCARD_OK)
		goto out;
	pcard_wr_init(&w, out, out_cap);
	if (ktype == PCARD_KEY_AES) {
		pcard_wr_u8(&w, PCARD_PUTKEY_TYPE_AES);
		pcard_wr_u8(&w, (uint8_t)(elen + 1));
		pcard_wr_u8(&w, (uint8_t)klen);
	} else {
		pcard_wr_u8(&w, PCARD_PUTKEY_TYPE_DES);
		pcard_wr_u8(&w, (uint8_t)elen);
	}
	pcard_wr_bytes(&w, enc, elen);
	pcard_wr_u8(&w, PCARD_KCV_BYTES);
	pcard_wr_bytes(&w, kc, PCARD_KCV_BYTES);
	if ((err = pcard_wr_finish(&w, out_len)) != PCARD_OK)
		goto out;
	if (kcv != NULL)
		memcpy(kcv, kc, PCARD_KCV_BYTES);
	err = PCARD_OK;
out:
	pcard_wipe(enc, sizeof enc);
	if (err != PCARD_OK && out != NULL)
		pcard_wipe(out, out_cap);
	return err;
}

pcard_err
pcard_putkey_rsa_block(const uint8_t *n, size_t n_len, const uint8_t *e, size_t e_len,
    uint8_t *out, size_t out_cap, size_t *out_len)
{
	pcard_wr w;

	if (n == NULL || e == NULL || n_len == 0 || e_len == 0 || out_len == NULL ||
	    (out == NULL && out_cap > 0))
		return PCARD_E_INVALID_ARG;
	strip_zeros(&n, &n_len);
	strip_zeros(&e, &e_len);
	if (n_len > 0xFFFF || e_len > 0xFFFF)
		return PCARD_E_INVALID_ARG;
	pcard_wr_init(&w, out, out_cap);
	pcard_wr_u8(&w, PCARD_PUTKEY_TYPE_RSA_N);
	pcard_wr_ber_len(&w, n_len);
	pcard_wr_bytes(&w, n, n_len);
	pcard_wr_u8(&w, PCARD_PUTKEY_TYPE_RSA_E);
	pcard_wr_ber_len(&w, e_len);
	pcard_wr_bytes(&w, e, e_len);
	pcard_wr_u8(&w, 0x00);	/* no KCV for a public key */
	return pcard_wr_finish(&w, out_len);
}

pcard_err
pcard_putkey_ec_block(const char *curve, const uint8_t *pt, size_t pt_len, uint8_t *out,
    size_t out_cap, size_t *out_len)
{
	static const struct { const char *name; uint8_t id; size_t field; } curves[] = {
		{ "P-256", 0x00, 32 }, { "P-384", 0x01, 48 }, { "P-521", 0x02, 66 },
	};
	pcard_wr w;
	size_t i;

	if (curve == NULL || pt == NULL || out_len == NULL || (out == NULL && out_cap > 0))
		return PCARD_E_INVALID_ARG;
	for (i = 0; i < sizeof curves / sizeof curves[0]; i++)
		if (strcmp(curve, curves[i].name) == 0)
			break;
	if (i == sizeof curves / sizeof curves[0])
		return PCARD_E_UNSUPPORTED;
	if (pt_len != 1 + 2 * curves[i].field || pt[0] != 0x04)
		return PCARD_E_INVALID_ARG;
	pcard_wr_init(&w, out, out_cap);
	pcard_wr_u8(&w, PCARD_PUTKEY_TYPE_EC_PUB);
	pcard_wr_ber_len(&w, pt_len);
	pcard_wr_bytes(&w, pt, pt_len);
	pcard_wr_u8(&w, PCARD_PUTKEY_TYPE_EC_PARAM);
	pcard_wr_u8(&w, 0x01);
	pcard_wr_u8(&w, curves[i].id);
	pcard_wr_u8(&w, 0x00);	/* no KCV */
	return pcard_wr_finish(&w, out_len);
}

/* KVN then the blocks of nkeys secret keys. */
static pcard_err
build_sym(pcard_keys *keys, pcard_keyh dek, uint8_t new_kvn, const pcard_keyh *set,
    size_t nkeys, uint8_t *out, size_t out_cap, size_t *out_len, pcard_putkey_expect *exp)
{
	pcard_putkey_expect e;
	size_t off = 1, blen, i;
	pcard_err err = PCARD_E_INTERNAL;

	if (out_len != NULL)
		*out_len = 0;
	if (keys == NULL || set == NULL || out == NULL || out_len == NULL || exp == NULL)
		return PCARD_E_INVALID_ARG;
	memset(&e, 0, sizeof e);
	if (out_cap < 1) {
		err = PCARD_E_NOSPACE;
		goto out;
	}
	out[0] = new_kvn;
	e.kvn = new_kvn;
	for (i = 0; i < nkeys; i++) {
		if ((err = pcard_putkey_sym_block(keys, dek, set[i], out + off, out_cap - off,
		    &blen, e.kcv[i])) != PCARD_OK)
			goto out;
		off += blen;
	}
	e.nkcv = nkeys;
	*exp = e;
	*out_len = off;
	err = PCARD_OK;
out:
	if (err != PCARD_OK)
		pcard_wipe(out, out_cap);
	return err;
}

pcard_err
pcard_putkey_set(pcard_keys *keys, pcard_keyh dek, uint8_t new_kvn, const pcard_keyh set[3],
    uint8_t *out, size_t out_cap, size_t *out_len, pcard_putkey_expect *exp)
{
	return build_sym(keys, dek, new_kvn, set, 3, out, out_cap, out_len, exp);
}

pcard_err
pcard_putkey_single(pcard_keys *keys, pcard_keyh dek, uint8_t new_kvn, pcard_keyh key,
    uint8_t *out, size_t out_cap, size_t *out_len, pcard_putkey_expect *exp)
{
	return build_sym(keys, dek, new_kvn, &key, 1, out, out_cap, out_len, exp);
}

pcard_err
pcard_putkey_public(uint8_t new_kvn, const pcard_pkey *pk, uint8_t *out, size_t out_cap,
    size_t *out_len, pcard_putkey_expect *exp)
{
	uint8_t a[1024], b[16];
	size_t al, bl, blen;
	const char *curve = NULL;
	pcard_err err = PCARD_E_INTERNAL;

	if (pk == NULL || out == NULL || out_len == NULL || exp == NULL)
		return PCARD_E_INVALID_ARG;
	*out_len = 0;
	if (out_cap < 1)
		return PCARD_E_NOSPACE;
	out[0] = new_kvn;
	if (pcard_pkey_is_rsa(pk)) {
		if ((err = pcard_pkey_rsa_parts(pk, a, sizeof a, &al, b, sizeof b, &bl)) != PCARD_OK)
			return err;
		err = pcard_putkey_rsa_block(a, al, b, bl, out + 1, out_cap - 1, &blen);
	} else if (pcard_pkey_is_ec(pk)) {
		if ((err = pcard_pkey_ec_point(pk, a, sizeof a, &al, &curve)) != PCARD_OK)
			return err;
		err = pcard_putkey_ec_block(curve, a, al, out + 1, out_cap - 1, &blen);
	} else
		return PCARD_E_KEY;
	if (err != PCARD_OK)
		return err;
	memset(exp, 0, sizeof *exp);
	exp->kvn = new_kvn;
	*out_len = 1 + blen;
	return PCARD_OK;
}

pcard_err
pcard_putkey_check_response(const pcard_putkey_expect *exp, const uint8_t *resp, size_t n)
{
	uint8_t want[1 + PCARD_PUTKEY_MAX_KEYS * PCARD_KCV_BYTES];
	const uint8_t *got;
	size_t len, i;
	pcard_rd r;
	pcard_err err;

	if (exp == NULL || (resp == NULL && n > 0) || exp->nkcv > PCARD_PUTKEY_MAX_KEYS)
		return PCARD_E_INVALID_ARG;
	/* build the expected bytes and compare, rather than parse the card's */
	want[0] = exp->kvn;
	for (i = 0; i < exp->nkcv; i++)
		memcpy(want + 1 + i * PCARD_KCV_BYTES, exp->kcv[i], PCARD_KCV_BYTES);
	len = 1 + exp->nkcv * PCARD_KCV_BYTES;
	pcard_rd_init(&r, resp, n);
	if ((err = pcard_rd_view(&r, len, &got)) != PCARD_OK)
		return err;
	if ((err = pcard_rd_expect_end(&r)) != PCARD_OK)
		return err;
	return pcard_ct_eq(got, want, len) ? PCARD_OK : PCARD_E_VERIFY;
}

/* Component length: 1 byte below 80, 81 xx (80..FF), 82 xx xx (100..FFFF); minimal only. */
static pcard_err
rd_len(pcard_rd *r, size_t *len)
{
	uint8_t b, b1;
	uint16_t w;
	pcard_err err;

	if ((err = pcard_rd_u8(r, &b)) != PCARD_OK)
		return err;
	if (b < 0x80) {
		*len = b;
		return PCARD_OK;
	}
	if (b == 0x81) {
		if ((err = pcard_rd_u8(r, &b1)) != PCARD_OK)
			return err;
		if (b1 < 0x80)
			return PCARD_E_BAD_ENCODING;
		*len = b1;
		return PCARD_OK;
	}
	if (b == 0x82) {
		if ((err = pcard_rd_u16(r, &w)) != PCARD_OK)
			return err;
		if (w < 0x100)
			return PCARD_E_BAD_ENCODING;
		*len = w;
		return PCARD_OK;
	}
	return PCARD_E_BAD_ENCODING;
}

static pcard_err
check_component(uint8_t type, const uint8_t *v, size_t len)
{
	if (type == PCARD_PUTKEY_TYPE_DES && len != 16)
		return PCARD_E_BAD_ENCODING;
	if (type == PCARD_PUTKEY_TYPE_AES) {
		/* clear length, then whole AES blocks that hold it */
		if (len < 1 + 16 || (len - 1) % 16 != 0 ||
		    (v[0] != 16 && v[0] != 24 && v[0] != 32) || v[0] > len - 1)
			return PCARD_E_BAD_ENCODING;
	}
	return PCARD_OK;
}

pcard_err
pcard_putkey_parse_key(pcard_rd *r, pcard_putkey_key *out)
{
	pcard_putkey_key k;
	pcard_rd c;
	uint8_t type;
	size_t len;
	pcard_err err;

	if (r == NULL || out == NULL)
		return PCARD_E_INVALID_ARG;
	memset(&k, 0, sizeof k);
	c = *r;	/* work on a copy: r is unchanged on failure */
	for (;;) {
		if ((err = pcard_rd_u8(&c, &type)) != PCARD_OK)
			return err;
		if (type < 0x80)
			break;	/* the KCV length */
		if (k.ncomp == PCARD_PUTKEY_MAX_COMPONENTS)
			return PCARD_E_BAD_ENCODING;
		if ((err = rd_len(&c, &len)) != PCARD_OK ||
		    (err = pcard_rd_view(&c, len, &k.comp[k.ncomp].val)) != PCARD_OK)
			return err;
		if ((err = check_component(type, k.comp[k.ncomp].val, len)) != PCARD_OK)
			return err;
		k.comp[k.ncomp].type = type;
		k.comp[k.ncomp].len = len;
		k.ncomp++;
	}
	if (k.ncomp == 0 || (type != 0 && type != PCARD_KCV_BYTES))
		return PCARD_E_BAD_ENCODING;
	k.kcv_len = type;
	if (type > 0 && (err = pcard_rd_view(&c, type, &k.kcv)) != PCARD_OK)
		return err;
	*r = c;
	*out = k;
	return PCARD_OK;
}
