/*
 * keys_mem.c: the in-memory key provider (keys.h).
 *
 * One allocation holds the pcard_keys the caller sees, a mutex and a fixed table of max_keys
 * slots; symmetric key bytes sit in the slots' fixed arrays and never leave this file except
 * encrypted (wrap) or as MACs, ciphertexts, KCVs and KDF output the caller asked for. Release
 * and free wipe the slot(s). A handle is (generation << 16) | (slot index + 1): a handle kept
 * after its key was released no longer matches the slot's generation and is refused
 * (PCARD_E_KEY), even when the slot has been reused.
 *
 * Errors: a missing, stale or wrong-type key is PCARD_E_KEY; a full table PCARD_E_NOSPACE
 * (ask for a bigger max_keys); a bad length or mechanism argument PCARD_E_INVALID_ARG.
 * The table is guarded by a mutex, so one provider may be shared between threads.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "postcard/keys.h"
#include "keys_int.h"

#define LABEL_MAX 64		/* including the NUL */
#define MAX_SLOTS 0xFFFFu

typedef struct slot {
	uint16_t gen;		/* bumped on release; part of the handle */
	uint8_t used;
	pcard_keytype type;
	size_t len;
	uint8_t key[PCARD_MAX_SYMKEY_BYTES];
	pcard_pkey *pk;		/* owned, PCARD_KEY_PKEY only */
	char label[LABEL_MAX];
} slot;

typedef struct mem {
	pcard_keys pub;		/* what pcard_keys_mem_new hands out; ctx points back here */
	pthread_mutex_t mu;
	size_t nslots;
	slot slots[];
} mem;

static const pcard_keys_ops mem_ops;

static mem *
as_mem(pcard_keys *k)
{
	if (k == NULL || k->ops != &mem_ops)
		return NULL;
	return k->ctx;
}

/* The live slot for h, or NULL. Caller holds the mutex. */
static slot *
lookup(mem *m, pcard_keyh h)
{
	size_t ix = (h & 0xFFFFu);
	slot *s;

	if (ix == 0 || ix > m->nslots)
		return NULL;
	s = &m->slots[ix - 1];
	if (!s->used || s->gen != (uint16_t)(h >> 16))
		return NULL;
	return s;
}

/* A symmetric key of the given type, or NULL. */
static slot *
lookup_sym(mem *m, pcard_keyh h, pcard_keytype type)
{
	slot *s = lookup(m, h);

	return s != NULL && s->type == type ? s : NULL;
}

static void
wipe_slot(slot *s)
{
	uint16_t gen = s->gen;

	if (s->pk != NULL)
		pcard_pkey_free(s->pk);
	pcard_wipe(s, sizeof *s);
	s->gen = (uint16_t)(gen + 1);
}

/* Claim a free slot and fill its common fields; the caller fills key or pk. */
static pcard_err
alloc_slot(mem *m, const char *label, pcard_keytype type, size_t len, slot **out,
    pcard_keyh *h)
{
	size_t i;

	if (label != NULL) {
		if (strlen(label) >= LABEL_MAX || label[0] == '\0')
			return PCARD_E_INVALID_ARG;
		for (i = 0; i < m->nslots; i++)
			if (m->slots[i].used && strcmp(m->slots[i].label, label) == 0)
				return PCARD_E_INVALID_ARG;
	}
	for (i = 0; i < m->nslots; i++) {
		slot *s = &m->slots[i];

		if (s->used)
			continue;
		s->used = 1;
		if (s->gen == 0)
			s->gen = 1;
		s->type = type;
		s->len = len;
		if (label != NULL)
			memcpy(s->label, label, strlen(label) + 1);
		*out = s;
		*h = ((pcard_keyh)s->gen << 16) | (pcard_keyh)(i + 1);
		return PCARD_OK;
	}
	return PCARD_E_NOSPACE;
}

static int
valid_sym_len(pcard_keytype type, size_t len)
{
	if (type == PCARD_KEY_AES)
		return len == 16 || len == 24 || len == 32;
	if (type == PCARD_KEY_DES3)
		return len == 16 || len == 24;
	return 0;
}

/* Store new symmetric key bytes in a fresh slot. Caller holds the mutex. */
static pcard_err
put_sym(mem *m, const char *label, pcard_keytype type, const uint8_t *key, size_t len,
    pcard_keyh *out)
{
	slot *s;
	pcard_err err;

	if (!valid_sym_len(type, len))
		return PCARD_E_KEY;
	if ((err = alloc_slot(m, label, type, len, &s, out)) != PCARD_OK)
		return err;
	memcpy(s->key, key, len);
	return PCARD_OK;
}

pcard_err
pcard_keys_mem_new(size_t max_keys, pcard_keys **out)
{
	mem *m;

	if (out == NULL)
		return PCARD_E_INVALID_ARG;
	*out = NULL;
	if (max_keys == 0 || max_keys > MAX_SLOTS)
		return PCARD_E_INVALID_ARG;
	if ((m = calloc(1, sizeof *m + max_keys * sizeof(slot))) == NULL)
		return PCARD_E_NOMEM;
	if (pthread_mutex_init(&m->mu, NULL) != 0) {
		free(m);
		return PCARD_E_INTERNAL;
	}
	m->nslots = max_keys;
	m->pub.ops = &mem_ops;
	m->pub.ctx = m;
	*out = &m->pub;
	return PCARD_OK;
}

pcard_err
pcard_keys_mem_import(pcard_keys *k, const char *label, pcard_keytype type, const uint8_t *key,
    size_t len, pcard_keyh *out)
{
	mem *m = as_mem(k);
	pcard_err err;

	if (out != NULL)
		*out = PCARD_KEYH_NONE;
	if (m == NULL || key == NULL || out == NULL)
		return PCARD_E_INVALID_ARG;
	if (type != PCARD_KEY_AES && type != PCARD_KEY_DES3)
		return PCARD_E_KEY;
	pthread_mutex_lock(&m->mu);
	err = put_sym(m, label, type, key, len, out);
	pthread_mutex_unlock(&m->mu);
	return err;
}

pcard_err
pcard_keys_mem_import_pkey(pcard_keys *k, const char *label, pcard_pkey *pk, pcard_keyh *out)
{
	mem *m = as_mem(k);
	slot *s;
	pcard_err err;

	if (out != NULL)
		*out = PCARD_KEYH_NONE;
	if (m == NULL || pk == NULL || out == NULL)
		return PCARD_E_INVALID_ARG;
	pthread_mutex_lock(&m->mu);
	if ((err = alloc_slot(m, label, PCARD_KEY_PKEY, (pcard_pkey_bits(pk) + 7) / 8, &s,
	    out)) == PCARD_OK)
		s->pk = pk;
	pthread_mutex_unlock(&m->mu);
	return err;
}

static pcard_err
mem_find(void *ctx, const char *label, pcard_keyh *out)
{
	mem *m = ctx;
	pcard_err err = PCARD_E_NOT_FOUND;
	size_t i;

	pthread_mutex_lock(&m->mu);
	for (i = 0; i < m->nslots; i++) {
		slot *s = &m->slots[i];

		if (s->used && strcmp(s->label, label) == 0) {
			*out = ((pcard_keyh)s->gen << 16) | (pcard_keyh)(i + 1);
			err = PCARD_OK;
			break;
		}
	}
	pthread_mutex_unlock(&m->mu);
	return err;
}

static pcard_err
mem_info(void *ctx, pcard_keyh h, pcard_keytype *type, size_t *len)
{
	mem *m = ctx;
	slot *s;
	pcard_err err = PCARD_E_KEY;

	pthread_mutex_lock(&m->mu);
	if ((s = lookup(m, h)) != NULL) {
		*type = s->type;
		*len = s->len;
		err = PCARD_OK;
	}
	pthread_mutex_unlock(&m->mu);
	return err;
}

/* The PRF of the counter-position KDF (pcard_keys_kdf_ctr): AES-CMAC under the slot's key. */
static pcard_err
slot_cmac(void *ctx, const uint8_t *msg, size_t n, uint8_t out[16])
{
	const slot *s = ctx;

	return pcard_aes_cmac(s->key, s->len, msg, n, out);
}

static pcard_err
mem_derive(void *ctx, pcard_keyh base, pcard_derive_mech mech, const uint8_t *data, size_t n,
    size_t counter_pos, pcard_keytype out_type, size_t out_len, pcard_keyh *out)
{
	mem *m = ctx;
	uint8_t nk[PCARD_MAX_SYMKEY_BYTES];
	slot *s;
	pcard_err err = PCARD_E_INTERNAL;

	pthread_mutex_lock(&m->mu);
	switch (mech) {
	case PCARD_DERIVE_DES3_ECB:
	case PCARD_DERIVE_DES3_CBC:
		if ((s = lookup_sym(m, base, PCARD_KEY_DES3)) == NULL) {
			err = PCARD_E_KEY;
			goto out;
		}
		if (out_type != PCARD_KEY_DES3 || out_len != n ||
		    (mech == PCARD_DERIVE_DES3_ECB ? n != 16 && n != 24 : n != 16)) {
			err = PCARD_E_INVALID_ARG;
			goto out;
		}
		if (mech == PCARD_DERIVE_DES3_ECB)
			err = pcard_des3_ecb(1, s->key, s->len, data, n, nk);
		else
			err = pcard_des3_cbc(1, s->key, s->len, NULL, data, n, nk);
		if (err != PCARD_OK)
			goto out;
		break;
	case PCARD_DERIVE_AES_KDF:
		if ((s = lookup_sym(m, base, PCARD_KEY_AES)) == NULL) {
			err = PCARD_E_KEY;
			goto out;
		}
		if (out_type != PCARD_KEY_AES || !valid_sym_len(out_type, out_len)) {
			err = PCARD_E_INVALID_ARG;
			goto out;
		}
		if ((err = pcard_keys_kdf_ctr(slot_cmac, s, data, n, counter_pos, nk, out_len)) !=
		    PCARD_OK)
			goto out;
		break;
	default:
		err = PCARD_E_UNSUPPORTED;
		goto out;
	}
	err = put_sym(m, NULL, out_type, nk, out_len, out);
out:
	pthread_mutex_unlock(&m->mu);
	pcard_wipe(nk, sizeof nk);
	return err;
}

static pcard_err
mem_kdf_data(void *ctx, pcard_keyh base, const uint8_t *data, size_t n, size_t counter_pos,
    uint8_t *out, size_t out_len)
{
	mem *m = ctx;
	slot *s;
	pcard_err err = PCARD_E_KEY;

	pthread_mutex_lock(&m->mu);
	if ((s = lookup_sym(m, base, PCARD_KEY_AES)) != NULL)
		err = pcard_keys_kdf_ctr(slot_cmac, s, data, n, counter_pos, out, out_len);
	pthread_mutex_unlock(&m->mu);
	return err;
}

static pcard_err
mem_mac(void *ctx, pcard_keyh h, pcard_mac_alg alg, const uint8_t *icv, const uint8_t *msg,
    size_t n, uint8_t *out, size_t out_cap, size_t *out_len)
{
	mem *m = ctx;
	slot *s;
	size_t len;
	pcard_err err = PCARD_E_INTERNAL;

	pthread_mutex_lock(&m->mu);
	s = lookup(m, h);
	if ((err = pcard_keys_mac_check(alg, s != NULL ? s->type : PCARD_KEY_NONE,
	    s != NULL ? s->len : 0, icv, out_cap, &len)) != PCARD_OK)
		goto out;
	if (alg == PCARD_MAC_AES_CMAC)
		err = pcard_aes_cmac(s->key, s->len, msg, n, out);
	else if (alg == PCARD_MAC_DES_RETAIL)
		err = pcard_des_retail_mac(s->key, icv, msg, n, out);
	else
		err = pcard_des3_cbc_mac(s->key, s->len, icv, msg, n, out);
	if (err != PCARD_OK)
		goto out;
	*out_len = len;
	err = PCARD_OK;
out:
	pthread_mutex_unlock(&m->mu);
	return err;
}

static pcard_err
mem_cipher(void *ctx, pcard_keyh h, pcard_cipher_alg alg, int encrypt, const uint8_t *iv,
    const uint8_t *in, size_t n, uint8_t *out)
{
	mem *m = ctx;
	slot *s;
	pcard_err err = PCARD_E_INTERNAL;
	pcard_keytype want;

	switch (alg) {
	case PCARD_CIPHER_AES_ECB:
	case PCARD_CIPHER_AES_CBC:
		want = PCARD_KEY_AES;
		break;
	case PCARD_CIPHER_DES3_ECB:
	case PCARD_CIPHER_DES3_CBC:
	case PCARD_CIPHER_DES_ECB_K1:
		want = PCARD_KEY_DES3;
		break;
	default:
		return PCARD_E_UNSUPPORTED;
	}
	pthread_mutex_lock(&m->mu);
	if ((s = lookup_sym(m, h, want)) == NULL) {
		err = PCARD_E_KEY;
		goto out;
	}
	switch (alg) {
	case PCARD_CIPHER_AES_ECB:
		err = pcard_aes_ecb(encrypt, s->key, s->len, in, n, out);
		break;
	case PCARD_CIPHER_AES_CBC:
		err = pcard_aes_cbc(encrypt, s->key, s->len, iv, in, n, out);
		break;
	case PCARD_CIPHER_DES3_ECB:
		err = pcard_des3_ecb(encrypt, s->key, s->len, in, n, out);
		break;
	case PCARD_CIPHER_DES3_CBC:
		err = pcard_des3_cbc(encrypt, s->key, s->len, iv, in, n, out);
		break;
	default:
		err = pcard_des_ecb(encrypt, s->key, in, n, out);
		break;
	}
out:
	pthread_mutex_unlock(&m->mu);
	return err;
}

/*
 * PUT KEY key data (CS 11.8, AmdD 7.2): AES-CBC ICV 0 under an AES KEK for an AES key, AES-192
 * values padded to 32 bytes with zeros; 3DES-ECB under a 3DES KEK for a 3DES key.
 */
static pcard_err
mem_wrap(void *ctx, pcard_keyh kek, pcard_cipher_alg alg, pcard_keyh key, uint8_t *out,
    size_t out_cap, size_t *out_len)
{
	mem *m = ctx;
	uint8_t buf[PCARD_MAX_SYMKEY_BYTES];
	slot *ks, *s;
	size_t len;
	pcard_err err = PCARD_E_INTERNAL;

	memset(buf, 0, sizeof buf);
	pthread_mutex_lock(&m->mu);
	ks = lookup(m, kek);
	s = lookup(m, key);
	if ((err = pcard_keys_wrap_check(alg, ks != NULL ? ks->type : PCARD_KEY_NONE,
	    s != NULL ? s->type : PCARD_KEY_NONE, s != NULL ? s->len : 0, out_cap, &len)) !=
	    PCARD_OK)
		goto out;
	memcpy(buf, s->key, s->len);
	if (alg == PCARD_CIPHER_AES_CBC)
		err = pcard_aes_cbc(1, ks->key, ks->len, NULL, buf, len, out);
	else
		err = pcard_des3_ecb(1, ks->key, ks->len, buf, len, out);
	if (err != PCARD_OK)
		goto out;
	*out_len = len;
	err = PCARD_OK;
out:
	pthread_mutex_unlock(&m->mu);
	pcard_wipe(buf, sizeof buf);
	return err;
}

static pcard_err
mem_kcv(void *ctx, pcard_keyh h, uint8_t out[PCARD_KCV_BYTES])
{
	mem *m = ctx;
	slot *s;
	pcard_err err = PCARD_E_KEY;

	pthread_mutex_lock(&m->mu);
	if ((s = lookup(m, h)) != NULL) {
		if (s->type == PCARD_KEY_AES)
			err = pcard_kcv_aes(s->key, s->len, out);
		else if (s->type == PCARD_KEY_DES3)
			err = pcard_kcv_des3(s->key, s->len, out);
	}
	pthread_mutex_unlock(&m->mu);
	return err;
}

static pcard_err
mem_sign(void *ctx, pcard_keyh h, pcard_sig_scheme sch, pcard_hash hash, const uint8_t *msg,
    size_t n, uint8_t *sig, size_t sig_cap, size_t *sig_len)
{
	mem *m = ctx;
	slot *s;
	pcard_err err = PCARD_E_KEY;

	pthread_mutex_lock(&m->mu);
	if ((s = lookup(m, h)) != NULL && s->type == PCARD_KEY_PKEY)
		err = pcard_sign(s->pk, sch, hash, msg, n, sig, sig_cap, sig_len);
	pthread_mutex_unlock(&m->mu);
	return err;
}

static void
mem_release(void *ctx, pcard_keyh h)
{
	mem *m = ctx;
	slot *s;

	pthread_mutex_lock(&m->mu);
	if ((s = lookup(m, h)) != NULL)
		wipe_slot(s);
	pthread_mutex_unlock(&m->mu);
}

static void
mem_free(void *ctx)
{
	mem *m = ctx;
	size_t i, n;

	if (m == NULL)
		return;
	n = m->nslots;
	for (i = 0; i < n; i++)
		if (m->slots[i].used)
			wipe_slot(&m->slots[i]);
	pthread_mutex_destroy(&m->mu);
	pcard_wipe(m, sizeof *m + n * sizeof(slot));
	free(m);
}

static const pcard_keys_ops mem_ops = {
	.name = "mem",
	.find = mem_find,
	.info = mem_info,
	.derive = mem_derive,
	.kdf_data = mem_kdf_data,
	.mac = mem_mac,
	.cipher = mem_cipher,
	.wrap = mem_wrap,
	.kcv = mem_kcv,
	.sign = mem_sign,
	.release = mem_release,
	.free = mem_free,
};
