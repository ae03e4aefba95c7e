/*
 * keys.c: the checked wrappers over a key provider's table (keys.h). They check the pointers
 * the contract requires, clear outputs first so a failed call never leaves a stale handle or
 * length behind, and answer PCARD_E_UNSUPPORTED for a provider without the operation.
 */
#include <string.h>

#include "postcard/crypto.h"
#include "postcard/keys.h"
#include "keys_int.h"

#define HAS_OP(k, op) ((k) != NULL && (k)->ops != NULL && (k)->ops->op != NULL)

pcard_err
pcard_keys_find(pcard_keys *k, const char *label, pcard_keyh *out)
{
	if (out != NULL)
		*out = PCARD_KEYH_NONE;
	if (label == NULL || out == NULL)
		return PCARD_E_INVALID_ARG;
	if (!HAS_OP(k, find))
		return PCARD_E_UNSUPPORTED;
	return k->ops->find(k->ctx, label, out);
}

pcard_err
pcard_keys_info(pcard_keys *k, pcard_keyh h, pcard_keytype *type, size_t *len)
{
	if (type == NULL || len == NULL)
		return PCARD_E_INVALID_ARG;
	*type = PCARD_KEY_NONE;
	*len = 0;
	if (!HAS_OP(k, info))
		return PCARD_E_UNSUPPORTED;
	if (h == PCARD_KEYH_NONE)
		return PCARD_E_KEY;
	return k->ops->info(k->ctx, h, type, len);
}

pcard_err
pcard_keys_derive(pcard_keys *k, pcard_keyh base, pcard_derive_mech mech, const uint8_t *data,
    size_t n, size_t counter_pos, pcard_keytype out_type, size_t out_len, pcard_keyh *out)
{
	if (out != NULL)
		*out = PCARD_KEYH_NONE;
	if (out == NULL || (data == NULL && n > 0))
		return PCARD_E_INVALID_ARG;
	if (!HAS_OP(k, derive))
		return PCARD_E_UNSUPPORTED;
	if (base == PCARD_KEYH_NONE)
		return PCARD_E_KEY;
	return k->ops->derive(k->ctx, base, mech, data, n, counter_pos, out_type, out_len, out);
}

pcard_err
pcard_keys_kdf_data(pcard_keys *k, pcard_keyh base, const uint8_t *data, size_t n,
    size_t counter_pos, uint8_t *out, size_t out_len)
{
	if ((data == NULL && n > 0) || (out == NULL && out_len > 0))
		return PCARD_E_INVALID_ARG;
	if (!HAS_OP(k, kdf_data))
		return PCARD_E_UNSUPPORTED;
	if (base == PCARD_KEYH_NONE)
		return PCARD_E_KEY;
	return k->ops->kdf_data(k->ctx, base, data, n, counter_pos, out, out_len);
}

pcard_err
pcard_keys_mac(pcard_keys *k, pcard_keyh h, pcard_mac_alg alg, const uint8_t *icv,
    const uint8_t *msg, size_t n, uint8_t *out, size_t out_cap, size_t *out_len)
{
	if (out_len != NULL)
		*out_len = 0;
	if (out == NULL || out_len == NULL || (msg == NULL && n > 0))
		return PCARD_E_INVALID_ARG;
	if (!HAS_OP(k, mac))
		return PCARD_E_UNSUPPORTED;
	if (h == PCARD_KEYH_NONE)
		return PCARD_E_KEY;
	return k->ops->mac(k->ctx, h, alg, icv, msg, n, out, out_cap, out_len);
}

pcard_err
pcard_keys_cipher(pcard_keys *k, pcard_keyh h, pcard_cipher_alg alg, int encrypt,
    const uint8_t *iv, const uint8_t *in, size_t n, uint8_t *out)
{
	if (n > 0 && (in == NULL || out == NULL))
		return PCARD_E_INVALID_ARG;
	if (!HAS_OP(k, cipher))
		return PCARD_E_UNSUPPORTED;
	if (h == PCARD_KEYH_NONE)
		return PCARD_E_KEY;
	return k->ops->cipher(k->ctx, h, alg, encrypt, iv, in, n, out);
}

pcard_err
pcard_keys_wrap(pcard_keys *k, pcard_keyh kek, pcard_cipher_alg alg, pcard_keyh key,
    uint8_t *out, size_t out_cap, size_t *out_len)
{
	if (out_len != NULL)
		*out_len = 0;
	if (out == NULL || out_len == NULL)
		return PCARD_E_INVALID_ARG;
	if (!HAS_OP(k, wrap))
		return PCARD_E_UNSUPPORTED;
	if (kek == PCARD_KEYH_NONE || key == PCARD_KEYH_NONE)
		return PCARD_E_KEY;
	return k->ops->wrap(k->ctx, kek, alg, key, out, out_cap, out_len);
}

pcard_err
pcard_keys_kcv(pcard_keys *k, pcard_keyh h, uint8_t out[PCARD_KCV_BYTES])
{
	if (out == NULL)
		return PCARD_E_INVALID_ARG;
	if (!HAS_OP(k, kcv))
		return PCARD_E_UNSUPPORTED;
	if (h == PCARD_KEYH_NONE)
		return PCARD_E_KEY;
	return k->ops->kcv(k->ctx, h, out);
}

pcard_err
pcard_keys_sign(pcard_keys *k, pcard_keyh h, pcard_sig_scheme s, pcard_hash hash,
    const uint8_t *msg, size_t n, uint8_t *sig, size_t sig_cap, size_t *sig_len)
{
	if (sig_len != NULL)
		*sig_len = 0;
	if (sig == NULL || sig_len == NULL || (msg == NULL && n > 0))
		return PCARD_E_INVALID_ARG;
	if (!HAS_OP(k, sign))
		return PCARD_E_UNSUPPORTED;
	if (h == PCARD_KEYH_NONE)
		return PCARD_E_KEY;
	return k->ops->sign(k->ctx, h, s, hash, msg, n, sig, sig_cap, sig_len);
}

void
pcard_keys_release(pcard_keys *k, pcard_keyh h)
{
	if (h == PCARD_KEYH_NONE || !HAS_OP(k, release))
		return;
	k->ops->release(k->ctx, h);
}

void
pcard_keys_free(pcard_keys *k)
{
	if (!HAS_OP(k, free))
		return;
	k->ops->free(k->ctx);
}

/* ---- shared by the providers (keys_int.h) ---- */

int
pcard_keys_kdf_args_ok(size_t n, size_t ctr_pos, size_t out_len)
{
	return n > 0 && n <= PCARD_KEYS_KDF_DATA_MAX && ctr_pos < n && out_len > 0 &&
	    out_len <= 255 * 16;
}

pcard_err
pcard_keys_mac_check(pcard_mac_alg alg, pcard_keytype type, size_t key_len,
    const uint8_t *icv, size_t out_cap, size_t *mac_len)
{
	size_t len;

	switch (alg) {
	case PCARD_MAC_AES_CMAC:
		len = 16;
		if (type != PCARD_KEY_AES)
			return PCARD_E_KEY;
		if (icv != NULL)
			return PCARD_E_INVALID_ARG;
		break;
	case PCARD_MAC_DES_RETAIL:
	case PCARD_MAC_DES3_CBC:
		len = 8;
		if (type != PCARD_KEY_DES3 || (alg == PCARD_MAC_DES_RETAIL && key_len != 16))
			return PCARD_E_KEY;
		break;
	default:
		return PCARD_E_UNSUPPORTED;
	}
	if (out_cap < len)
		return PCARD_E_NOSPACE;
	*mac_len = len;
	return PCARD_OK;
}

pcard_err
pcard_keys_wrap_check(pcard_cipher_alg alg, pcard_keytype kek_type, pcard_keytype key_type,
    size_t key_len, size_t out_cap, size_t *len)
{
	pcard_keytype want;
	size_t n;

	if (alg == PCARD_CIPHER_AES_CBC)
		want = PCARD_KEY_AES;
	else if (alg == PCARD_CIPHER_DES3_ECB)
		want = PCARD_KEY_DES3;
	else
		return PCARD_E_UNSUPPORTED;
	if (kek_type != want || key_type != want)
		return PCARD_E_KEY;
	n = key_len == 24 && want == PCARD_KEY_AES ? 32 : key_len;
	if (out_cap < n)
		return PCARD_E_NOSPACE;
	*len = n;
	return PCARD_OK;
}

pcard_err
pcard_keys_kdf_ctr(pcard_keys_cmac_fn cmac, void *ctx, const uint8_t *data, size_t n,
    size_t ctr_pos, uint8_t *out, size_t out_len)
{
	uint8_t buf[PCARD_KEYS_KDF_DATA_MAX], blk[16];
	size_t done = 0;
	unsigned counter = 1;
	pcard_err err = PCARD_E_INTERNAL;

	if (!pcard_keys_kdf_args_ok(n, ctr_pos, out_len))
		return PCARD_E_INVALID_ARG;
	memcpy(buf, data, n);
	while (done < out_len) {
		size_t take = out_len - done < 16 ? out_len - done : 16;

		buf[ctr_pos] = (uint8_t)counter++;
		if ((err = cmac(ctx, buf, n, blk)) != PCARD_OK)
			goto out;
		memcpy(out + done, blk, take);
		done += take;
	}
	err = PCARD_OK;
out:
	pcard_wipe(blk, sizeof blk);
	pcard_wipe(buf, sizeof buf);
	if (err != PCARD_OK)
		pcard_wipe(out, out_len);
	return err;
}
