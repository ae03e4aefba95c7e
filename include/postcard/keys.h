/*
 * keys.h: the key provider seam (design.md, "Two seams").
 *
 * The secure-channel code never touches key bytes: it holds opaque handles and asks a provider
 * to derive, MAC, encrypt and wrap, at the granularity a PKCS#11 HSM offers. Two providers
 * implement this table: the in-memory one below (CLI keys given by the user, the card
 * simulator's own keys) and the PKCS#11 one in src/hsm (postcardd).
 *
 * Handles are small integers valid within one provider; PCARD_KEYH_NONE is never a key.
 * A derived key is owned by whoever asked for it and must be released (pcard_keys_release);
 * releasing wipes it.
 */
#ifndef POSTCARD_KEYS_H
#define POSTCARD_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "postcard/crypto.h"
#include "postcard/err.h"

typedef uint32_t pcard_keyh;
#define PCARD_KEYH_NONE 0u

typedef enum pcard_keytype {
	PCARD_KEY_NONE = 0,
	PCARD_KEY_AES,		/* 16, 24 or 32 bytes */
	PCARD_KEY_DES3,		/* 16 or 24 bytes */
	PCARD_KEY_PKEY,		/* an asymmetric key (RSA or EC), private or public */
} pcard_keytype;

typedef enum pcard_derive_mech {
	/* new key = 3DES-ECB(base, data); data is 16 or 24 bytes (EMV, VISA2 diversification) */
	PCARD_DERIVE_DES3_ECB = 1,
	/* new key = 3DES-CBC(base, ICV 0, data); data is 16 bytes (SCP02 session keys) */
	PCARD_DERIVE_DES3_CBC,
	/*
	 * new key = NIST SP 800-108 counter-mode KDF with AES-CMAC: PRF input = data with the
	 * one-byte counter (1, 2, ...) written at data[counter_pos]; out_len bytes
	 * (SCP03 session keys: counter at 15; GPPro's KDF3: counter at 0).
	 */
	PCARD_DERIVE_AES_KDF,
} pcard_derive_mech;

typedef enum pcard_mac_alg {
	PCARD_MAC_AES_CMAC = 1,	/* 16-byte CMAC; icv must be NULL */
	PCARD_MAC_DES_RETAIL,	/* ISO 9797-1 alg. 3, ISO padding inside, 8 bytes; icv 8 bytes or NULL */
	PCARD_MAC_DES3_CBC,	/* full 3DES CBC-MAC, ISO padding inside, 8 bytes; icv 8 bytes or NULL */
} pcard_mac_alg;

typedef enum pcard_cipher_alg {
	PCARD_CIPHER_AES_ECB = 1,
	PCARD_CIPHER_AES_CBC,	/* iv 16 bytes or NULL (zero) */
	PCARD_CIPHER_DES3_ECB,
	PCARD_CIPHER_DES3_CBC,	/* iv 8 bytes or NULL (zero) */
	PCARD_CIPHER_DES_ECB_K1,	/* single DES with the key's first 8 bytes (SCP02 ICV) */
} pcard_cipher_alg;

typedef struct pcard_keys_ops {
	const char *name;
	/* The handle of a key the provider knows by label ("isd-enc", a PKCS#11 label, ...). */
	pcard_err (*find)(void *ctx, const char *label, pcard_keyh *out);
	pcard_err (*info)(void *ctx, pcard_keyh k, pcard_keytype *type, size_t *len);
	pcard_err (*derive)(void *ctx, pcard_keyh base, pcard_derive_mech mech,
	    const uint8_t *data, size_t n, size_t counter_pos, pcard_keytype out_type,
	    size_t out_len, pcard_keyh *out);
	/* Same KDF as PCARD_DERIVE_AES_KDF, but the output is data (SCP03 cryptograms and
	 * pseudo-random challenges). */
	pcard_err (*kdf_data)(void *ctx, pcard_keyh base, const uint8_t *data, size_t n,
	    size_t counter_pos, uint8_t *out, size_t out_len);
	pcard_err (*mac)(void *ctx, pcard_keyh k, pcard_mac_alg alg, const uint8_t *icv,
	    const uint8_t *msg, size_t n, uint8_t *out, size_t out_cap, size_t *out_len);
	pcard_err (*cipher)(void *ctx, pcard_keyh k, pcard_cipher_alg alg, int encrypt,
	    const uint8_t *iv, const uint8_t *in, size_t n, uint8_t *out);
	/*
	 * Encrypt the value of key under kek for a PUT KEY key data block: AES-CBC ICV 0
	 * (SCP03, static DEK; AES-192 padded to 32 bytes) or 3DES-ECB (SCP02, session DEK).
	 */
	pcard_err (*wrap)(void *ctx, pcard_keyh kek, pcard_cipher_alg alg, pcard_keyh key,
	    uint8_t *out, size_t out_cap, size_t *out_len);
	/* Key check value: AES over 01 x 16, 3DES over 00 x 8; first 3 bytes. */
	pcard_err (*kcv)(void *ctx, pcard_keyh k, uint8_t out[PCARD_KCV_BYTES]);
	/* Asymmetric signature with a private PCARD_KEY_PKEY (tokens, DAP, receipts). */
	pcard_err (*sign)(void *ctx, pcard_keyh k, pcard_sig_scheme s, pcard_hash h,
	    const uint8_t *msg, size_t n, uint8_t *sig, size_t sig_cap, size_t *sig_len);
	void (*release)(void *ctx, pcard_keyh k);
	void (*free)(void *ctx);
} pcard_keys_ops;

typedef struct pcard_keys {
	const pcard_keys_ops *ops;
	void *ctx;
} pcard_keys;

/* Thin checked wrappers over the table (NULL ops give PCARD_E_UNSUPPORTED). */
pcard_err pcard_keys_find(pcard_keys *k, const char *label, pcard_keyh *out);
pcard_err pcard_keys_info(pcard_keys *k, pcard_keyh h, pcard_keytype *type, size_t *len);
pcard_err pcard_keys_derive(pcard_keys *k, pcard_keyh base, pcard_derive_mech mech,
    const uint8_t *data, size_t n, size_t counter_pos, pcard_keytype out_type, size_t out_len,
    pcard_keyh *out);
pcard_err pcard_keys_kdf_data(pcard_keys *k, pcard_keyh base, const uint8_t *data, size_t n,
    size_t counter_pos, uint8_t *out, size_t out_len);
pcard_err pcard_keys_mac(pcard_keys *k, pcard_keyh h, pcard_mac_alg alg, const uint8_t *icv,
    const uint8_t *msg, size_t n, uint8_t *out, size_t out_cap, size_t *out_len);
pcard_err pcard_keys_cipher(pcard_keys *k, pcard_keyh h, pcard_cipher_alg alg, int encrypt,
    const uint8_t *iv, const uint8_t *in, size_t n, uint8_t *out);
pcard_err pcard_keys_wrap(pcard_keys *k, pcard_keyh kek, pcard_cipher_alg alg, pcard_keyh key,
    uint8_t *out, size_t out_cap, size_t *out_len);
pcard_err pcard_keys_kcv(pcard_keys *k, pcard_keyh h, uint8_t out[PCARD_KCV_BYTES]);
pcard_err pcard_keys_sign(pcard_keys *k, pcard_keyh h, pcard_sig_scheme s, pcard_hash hash,
    const uint8_t *msg, size_t n, uint8_t *sig, size_t sig_cap, size_t *sig_len);
/* Wipe and forget a key; PCARD_KEYH_NONE is ignored. */
void pcard_keys_release(pcard_keys *k, pcard_keyh h);
/* Free the provider (and every key it holds); k may be NULL. */
void pcard_keys_free(pcard_keys *k);

/*
 * The in-memory provider. Keys live in a fixed table inside one allocation and are wiped on
 * release and free. max_keys bounds the table (derived session keys count too).
 */
pcard_err pcard_keys_mem_new(size_t max_keys, pcard_keys **out);
/* Import key bytes (copied; the caller wipes its copy). label may be NULL. */
pcard_err pcard_keys_mem_import(pcard_keys *k, const char *label, pcard_keytype type,
    const uint8_t *key, size_t len, pcard_keyh *out);
/* Import an asymmetric key; the provider takes ownership of pk. */
pcard_err pcard_keys_mem_import_pkey(pcard_keys *k, const char *label, pcard_pkey *pk,
    pcard_keyh *out);

#endif
