/*
 * crypto.h: the only door to OpenSSL. Symmetric primitives over key bytes held in memory
 * (used by the in-memory key provider and by the card), hashes, asymmetric keys, randomness,
 * wiping and constant-time comparison. No other module includes OpenSSL headers.
 *
 * Algorithms are fetched once (pcard_crypto_init, called implicitly on first use; thread-safe).
 * Key lengths: AES 16/24/32 bytes; 3DES 16 (two-key) or 24 bytes; single DES 8 bytes.
 * Lengths of data for the raw block functions must be multiples of the block size
 * (PCARD_E_INVALID_ARG otherwise); in and out may be the same buffer.
 */
#ifndef POSTCARD_CRYPTO_H
#define POSTCARD_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "postcard/err.h"

#define PCARD_AES_BLOCK 16
#define PCARD_DES_BLOCK 8
#define PCARD_KCV_BYTES 3
#define PCARD_MAX_HASH_BYTES 64
#define PCARD_MAX_SYMKEY_BYTES 32

pcard_err pcard_crypto_init(void);

/* Wipe n bytes so the compiler cannot elide it (OPENSSL_cleanse). p may be NULL. */
void pcard_wipe(void *p, size_t n);
/* 1 when a and b are equal, in time independent of the contents (CRYPTO_memcmp); else 0. */
int pcard_ct_eq(const void *a, const void *b, size_t n);
/* n bytes from the CSPRNG. */
pcard_err pcard_random(uint8_t *out, size_t n);

/* AES. iv NULL means 16 zero bytes. */
pcard_err pcard_aes_ecb(int encrypt, const uint8_t *key, size_t key_len,
    const uint8_t *in, size_t n, uint8_t *out);
pcard_err pcard_aes_cbc(int encrypt, const uint8_t *key, size_t key_len, const uint8_t *iv,
    const uint8_t *in, size_t n, uint8_t *out);
/* Full 16-byte AES-CMAC (NIST SP 800-38B, RFC 4493) over msg of any length. */
pcard_err pcard_aes_cmac(const uint8_t *key, size_t key_len, const uint8_t *msg, size_t n,
    uint8_t out[16]);

/* 3DES (EDE). iv NULL means 8 zero bytes. */
pcard_err pcard_des3_ecb(int encrypt, const uint8_t *key, size_t key_len,
    const uint8_t *in, size_t n, uint8_t *out);
pcard_err pcard_des3_cbc(int encrypt, const uint8_t *key, size_t key_len, const uint8_t *iv,
    const uint8_t *in, size_t n, uint8_t *out);
/* Single DES ECB with an 8-byte key (SCP02 ICV encryption uses the left half of S-MAC). */
pcard_err pcard_des_ecb(int encrypt, const uint8_t key[8], const uint8_t *in, size_t n,
    uint8_t *out);

/*
 * ISO/IEC 9797-1 MAC algorithm 3 ("retail MAC": single-DES CBC with K1, final 3DES with
 * K1,K2) over msg, which the function pads with ISO 9797-1 method 2 itself. key is 16 bytes;
 * icv NULL means zero.
 */
pcard_err pcard_des_retail_mac(const uint8_t key[16], const uint8_t *icv, const uint8_t *msg,
    size_t n, uint8_t out[8]);
/* Full 3DES CBC-MAC (ISO 9797-1 MAC algorithm 1 with 3DES), msg padded with method 2 inside. */
pcard_err pcard_des3_cbc_mac(const uint8_t *key, size_t key_len, const uint8_t *icv,
    const uint8_t *msg, size_t n, uint8_t out[8]);

/*
 * NIST SP 800-108 KDF in counter mode with AES-CMAC as PRF, counter of rlen_bytes (1 to 4)
 * placed before the fixed input data; writes out_len bytes (may be any length).
 */
pcard_err pcard_kdf_ctr_cmac(const uint8_t *key, size_t key_len, size_t rlen_bytes,
    const uint8_t *fixed, size_t fixed_len, uint8_t *out, size_t out_len);

/* ISO/IEC 7816-4 padding: append 80 then 00 up to a multiple of block (always adds >= 1). */
pcard_err pcard_pad_iso(const uint8_t *in, size_t n, size_t block, uint8_t *out, size_t out_cap,
    size_t *out_len);
/* Length of the data before the padding, checked in time that does not depend on where the 80
 * byte is; PCARD_E_PADDING when there is no valid padding. */
pcard_err pcard_unpad_iso(const uint8_t *in, size_t n, size_t *out_len);

/* Key check values: AES = AES(key, 01 x 16)[0..2] (AmdD 7.2); 3DES = 3DES(key, 00 x 8)[0..2]. */
pcard_err pcard_kcv_aes(const uint8_t *key, size_t key_len, uint8_t kcv[3]);
pcard_err pcard_kcv_des3(const uint8_t *key, size_t key_len, uint8_t kcv[3]);

typedef enum pcard_hash {
	PCARD_HASH_NONE = 0,
	PCARD_HASH_SHA1,
	PCARD_HASH_SHA256,
	PCARD_HASH_SHA384,
	PCARD_HASH_SHA512,
} pcard_hash;

size_t pcard_hash_len(pcard_hash h);	/* 0 for NONE or unknown */
const char *pcard_hash_name(pcard_hash h);	/* "sha256", ...; NULL for unknown */
pcard_err pcard_hash_from_name(const char *name, pcard_hash *h);
pcard_err pcard_digest(pcard_hash h, const uint8_t *msg, size_t n, uint8_t *out, size_t out_cap,
    size_t *out_len);

/* Asymmetric keys (RSA, EC P-256/P-384/P-521), wrapping an EVP_PKEY. */
typedef struct pcard_pkey pcard_pkey;

typedef enum pcard_sig_scheme {
	PCARD_SIG_RSA_PKCS1,	/* RSASSA-PKCS1-v1_5 (GP Scheme 1 uses it with SHA-1) */
	PCARD_SIG_RSA_PSS,	/* RSASSA-PSS, MGF1 with the same hash, salt = hash length */
	PCARD_SIG_ECDSA,	/* ECDSA; signature as r || s, each the size of the order */
} pcard_sig_scheme;

/* Load a private or public key from PEM (or DER) bytes. Free with pcard_pkey_free. */
pcard_err pcard_pkey_load(const uint8_t *buf, size_t n, pcard_pkey **out);
pcard_err pcard_pkey_load_file(const char *path, pcard_pkey **out);
pcard_err pcard_pkey_gen_rsa(unsigned bits, pcard_pkey **out);
/* curve: "P-256", "P-384" or "P-521". */
pcard_err pcard_pkey_gen_ec(const char *curve, pcard_pkey **out);
/* Public key from raw parts: RSA modulus and exponent (big-endian), or an EC point 04||X||Y. */
pcard_err pcard_pkey_rsa_from_parts(const uint8_t *n, size_t n_len, const uint8_t *e,
    size_t e_len, pcard_pkey **out);
pcard_err pcard_pkey_ec_from_point(const char *curve, const uint8_t *pt, size_t pt_len,
    pcard_pkey **out);
void pcard_pkey_free(pcard_pkey *k);
int pcard_pkey_is_rsa(const pcard_pkey *k);
int pcard_pkey_is_ec(const pcard_pkey *k);
unsigned pcard_pkey_bits(const pcard_pkey *k);
/* RSA modulus and public exponent, big-endian, minimal length. */
pcard_err pcard_pkey_rsa_parts(const pcard_pkey *k, uint8_t *n, size_t n_cap, size_t *n_len,
    uint8_t *e, size_t e_cap, size_t *e_len);
/* EC public point uncompressed (04||X||Y) and curve name ("P-256", ...; static string). */
pcard_err pcard_pkey_ec_point(const pcard_pkey *k, uint8_t *pt, size_t pt_cap, size_t *pt_len,
    const char **curve);
/* PEM of the private key (when present) or of the public key. */
pcard_err pcard_pkey_pem(const pcard_pkey *k, int private_part, char *out, size_t out_cap,
    size_t *out_len);

pcard_err pcard_sign(const pcard_pkey *k, pcard_sig_scheme s, pcard_hash h, const uint8_t *msg,
    size_t n, uint8_t *sig, size_t sig_cap, size_t *sig_len);
/* PCARD_OK when the signature verifies, PCARD_E_VERIFY when it does not. */
pcard_err pcard_verify(const pcard_pkey *k, pcard_sig_scheme s, pcard_hash h, const uint8_t *msg,
    size_t n, const uint8_t *sig, size_t sig_len);
/* RSA-OAEP; md names the OAEP and MGF1 hash (SoftHSM accepts only SHA-1). */
pcard_err pcard_rsa_oaep_encrypt(const pcard_pkey *k, pcard_hash md, const uint8_t *in,
    size_t n, uint8_t *out, size_t out_cap, size_t *out_len);
pcard_err pcard_rsa_oaep_decrypt(const pcard_pkey *k, pcard_hash md, const uint8_t *in,
    size_t n, uint8_t *out, size_t out_cap, size_t *out_len);

#endif
