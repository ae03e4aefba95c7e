/*
 * crypto.c: symmetric primitives, hashes, randomness, wiping and constant-time comparison over
 * OpenSSL 3 EVP. The asymmetric half is in crypto_pkey.c.
 *
 * Algorithms are fetched once per process (pthread_once) and never freed; every thread keeps
 * its own reusable EVP contexts (a cipher context, one CMAC context per AES key size with the
 * cipher already bound, a digest context), so a call costs an init with the new key and the
 * update, never a fetch (platform-facts.md: CMAC over 256 B 0.7 us this way, 3.4 us fetched per
 * call). Per-thread contexts are freed by a pthread key destructor when the thread exits.
 *
 * Single DES is DES-EDE with K1 = K2 (E_K(D_K(E_K(x))) = E_K(x)), so the legacy provider is not
 * needed.
 */
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "postcard/crypto.h"

enum {
	C_AES128_ECB, C_AES192_ECB, C_AES256_ECB,
	C_AES128_CBC, C_AES192_CBC, C_AES256_CBC,
	C_DES2_ECB, C_DES3_ECB, C_DES2_CBC, C_DES3_CBC,
	C__COUNT
};

static const char *const cipher_names[C__COUNT] = {
	"AES-128-ECB", "AES-192-ECB", "AES-256-ECB",
	"AES-128-CBC", "AES-192-CBC", "AES-256-CBC",
	"DES-EDE-ECB", "DES-EDE3-ECB", "DES-EDE-CBC", "DES-EDE3-CBC",
};

/* Digests indexed by pcard_hash. */
static const char *const md_names[] = { NULL, "SHA1", "SHA256", "SHA384", "SHA512" };
#define MD__COUNT (sizeof md_names / sizeof md_names[0])

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static pcard_err g_init_err = PCARD_E_INTERNAL;
static EVP_CIPHER *g_cipher[C__COUNT];
static EVP_MAC *g_cmac;
static EVP_MD *g_md[MD__COUNT];
static pthread_key_t g_tls_key;

/* Per-thread contexts, created on first use in each thread. */
typedef struct tls_ctx {
	EVP_CIPHER_CTX *cipher;
	EVP_MAC_CTX *cmac[3];	/* AES-128, -192, -256 CBC bound once */
	EVP_MD_CTX *md;
} tls_ctx;

static _Thread_local tls_ctx *t_ctx;

static void
tls_free(void *p)
{
	tls_ctx *t = p;
	size_t i;

	if (t == NULL)
		return;
	EVP_CIPHER_CTX_free(t->cipher);
	for (i = 0; i < 3; i++)
		EVP_MAC_CTX_free(t->cmac[i]);
	EVP_MD_CTX_free(t->md);
	free(t);
	if (t_ctx == t)
		t_ctx = NULL;	/* a later call in this thread's exit path starts afresh */
}

static void
init_once(void)
{
	size_t i;

	if (pthread_key_create(&g_tls_key, tls_free) != 0)
		return;
	for (i = 0; i < C__COUNT; i++)
		if ((g_cipher[i] = EVP_CIPHER_fetch(NULL, cipher_names[i], NULL)) == NULL)
			return;
	if ((g_cmac = EVP_MAC_fetch(NULL, "CMAC", NULL)) == NULL)
		return;
	for (i = 1; i < MD__COUNT; i++)
		if ((g_md[i] = EVP_MD_fetch(NULL, md_names[i], NULL)) == NULL)
			return;
	g_init_err = PCARD_OK;
}

pcard_err
pcard_crypto_init(void)
{
	if (pthread_once(&g_once, init_once) != 0)
		return PCARD_E_CRYPTO;
	return g_init_err == PCARD_OK ? PCARD_OK : PCARD_E_CRYPTO;
}

/* The calling thread's contexts (NULL on failure). */
static tls_ctx *
tls_get(void)
{
	static const char *const cbc[3] = { "AES-128-CBC", "AES-192-CBC", "AES-256-CBC" };
	tls_ctx *t;
	size_t i;

	if (t_ctx != NULL)
		return t_ctx;
	if (pcard_crypto_init() != PCARD_OK)
		return NULL;
	if ((t = calloc(1, sizeof *t)) == NULL)
		return NULL;
	if ((t->cipher = EVP_CIPHER_CTX_new()) == NULL || (t->md = EVP_MD_CTX_new()) == NULL)
		goto fail;
	for (i = 0; i < 3; i++) {
		OSSL_PARAM params[2];

		if ((t->cmac[i] = EVP_MAC_CTX_new(g_cmac)) == NULL)
			goto fail;
		params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER,
		    (char *)cbc[i], 0);
		params[1] = OSSL_PARAM_construct_end();
		if (!EVP_MAC_CTX_set_params(t->cmac[i], params))
			goto fail;
	}
	if (pthread_setspecific(g_tls_key, t) != 0)
		goto fail;
	t_ctx = t;
	return t;
fail:
	tls_free(t);
	return NULL;
}

void
pcard_wipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		OPENSSL_cleanse(p, n);
}

int
pcard_ct_eq(const void *a, const void *b, size_t n)
{
	if (n == 0)
		return 1;
	return CRYPTO_memcmp(a, b, n) == 0;
}

pcard_err
pcard_random(uint8_t *out, size_t n)
{
	if (out == NULL && n > 0)
		return PCARD_E_INVALID_ARG;
	if (pcard_crypto_init() != PCARD_OK)
		return PCARD_E_CRYPTO;
	while (n > 0) {
		size_t chunk = n > 1u << 20 ? 1u << 20 : n;

		if (RAND_bytes(out, (int)chunk) != 1)
			return PCARD_E_CRYPTO;
		out += chunk;
		n -= chunk;
	}
	return PCARD_OK;
}

/*
 * One pass of a block cipher without padding over n bytes (a multiple of the block size,
 * checked by the callers). in and out may alias exactly.
 */
static pcard_err
run_cipher(int which, int encrypt, const uint8_t *key, const uint8_t *iv, const uint8_t *in,
    size_t n, uint8_t *out)
{
	tls_ctx *t;
	int outl = 0;

	if ((t = tls_get()) == NULL)
		return PCARD_E_CRYPTO;
	if (n > INT_MAX)
		return PCARD_E_INVALID_ARG;
	if (!EVP_CipherInit_ex2(t->cipher, g_cipher[which], key, iv, encrypt ? 1 : 0, NULL) ||
	    !EVP_CIPHER_CTX_set_padding(t->cipher, 0))
		return PCARD_E_CRYPTO;
	if (n > 0 && !EVP_CipherUpdate(t->cipher, out, &outl, in, (int)n))
		return PCARD_E_CRYPTO;
	if ((size_t)outl != n)
		return PCARD_E_CRYPTO;
	return PCARD_OK;
}

static int
aes_index(size_t key_len)
{
	switch (key_len) {
	case 16: return 0;
	case 24: return 1;
	case 32: return 2;
	default: return -1;
	}
}

static pcard_err
check_io(const uint8_t *key, const uint8_t *in, size_t n, const uint8_t *out, size_t block)
{
	if (key == NULL || (n > 0 && (in == NULL || out == NULL)))
		return PCARD_E_INVALID_ARG;
	if (n % block != 0)
		return PCARD_E_INVALID_ARG;
	return PCARD_OK;
}

pcard_err
pcard_aes_ecb(int encrypt, const uint8_t *key, size_t key_len, const uint8_t *in, size_t n,
    uint8_t *out)
{
	int ix = aes_index(key_len);
	pcard_err err;

	if (ix < 0)
		return key == NULL ? PCARD_E_INVALID_ARG : PCARD_E_KEY;
	if ((err = check_io(key, in, n, out, PCARD_AES_BLOCK)) != PCARD_OK)
		return err;
	return run_cipher(C_AES128_ECB + ix, encrypt, key, NULL, in, n, out);
}

pcard_err
pcard_aes_cbc(int encrypt, const uint8_t *key, size_t key_len, const uint8_t *iv,
    const uint8_t *in, size_t n, uint8_t *out)
{
	static const uint8_t zero[PCARD_AES_BLOCK];
	int ix = aes_index(key_len);
	pcard_err err;

	if (ix < 0)
		return key == NULL ? PCARD_E_INVALID_ARG : PCARD_E_KEY;
	if ((err = check_io(key, in, n, out, PCARD_AES_BLOCK)) != PCARD_OK)
		return err;
	return run_cipher(C_AES128_CBC + ix, encrypt, key, iv != NULL ? iv : zero, in, n, out);
}

pcard_err
pcard_aes_cmac(const uint8_t *key, size_t key_len, const uint8_t *msg, size_t n,
    uint8_t out[16])
{
	int ix = aes_index(key_len);
	tls_ctx *t;
	size_t outl = 0;

	if (key == NULL || out == NULL || (msg == NULL && n > 0))
		return PCARD_E_INVALID_ARG;
	if (ix < 0)
		return PCARD_E_KEY;
	if ((t = tls_get()) == NULL)
		return PCARD_E_CRYPTO;
	if (!EVP_MAC_init(t->cmac[ix], key, key_len, NULL) ||
	    (n > 0 && !EVP_MAC_update(t->cmac[ix], msg, n)) ||
	    !EVP_MAC_final(t->cmac[ix], out, &outl, 16) || outl != 16)
		return PCARD_E_CRYPTO;
	return PCARD_OK;
}

static int
des3_ecb_index(size_t key_len)
{
	return key_len == 16 ? C_DES2_ECB : key_len == 24 ? C_DES3_ECB : -1;
}

pcard_err
pcard_des3_ecb(int encrypt, const uint8_t *key, size_t key_len, const uint8_t *in, size_t n,
    uint8_t *out)
{
	int ix = des3_ecb_index(key_len);
	pcard_err err;

	if (ix < 0)
		return key == NULL ? PCARD_E_INVALID_ARG : PCARD_E_KEY;
	if ((err = check_io(key, in, n, out, PCARD_DES_BLOCK)) != PCARD_OK)
		return err;
	return run_cipher(ix, encrypt, key, NULL, in, n, out);
}

pcard_err
pcard_des3_cbc(int encrypt, const uint8_t *key, size_t key_len, const uint8_t *iv,
    const uint8_t *in, size_t n, uint8_t *out)
{
	static const uint8_t zero[PCARD_DES_BLOCK];
	pcard_err err;
	int ix;

	if (key_len != 16 && key_len != 24)
		return key == NULL ? PCARD_E_INVALID_ARG : PCARD_E_KEY;
	if ((err = check_io(key, in, n, out, PCARD_DES_BLOCK)) != PCARD_OK)
		return err;
	ix = key_len == 16 ? C_DES2_CBC : C_DES3_CBC;
	return run_cipher(ix, encrypt, key, iv != NULL ? iv : zero, in, n, out);
}

pcard_err
pcard_des_ecb(int encrypt, const uint8_t key[8], const uint8_t *in, size_t n, uint8_t *out)
{
	uint8_t k2[16];
	pcard_err err = PCARD_E_INTERNAL;

	if ((err = check_io(key, in, n, out, PCARD_DES_BLOCK)) != PCARD_OK)
		goto out;
	memcpy(k2, key, 8);
	memcpy(k2 + 8, key, 8);
	err = run_cipher(C_DES2_ECB, encrypt, k2, NULL, in, n, out);
out:
	pcard_wipe(k2, sizeof k2);
	return err;
}

/*
 * CBC-MAC core shared by the retail MAC and the full 3DES MAC. msg is padded with ISO 9797-1
 * method 2 (80 00..); the chain starts from icv (zero when NULL). The whole blocks of msg go
 * through the CBC cipher `inner` with ikey, a chunk per call (one key setup per chunk, not per
 * block); the final, padded block through 3DES-ECB with fkey.
 */
static pcard_err
cbc_mac_des(int inner, const uint8_t *ikey, const uint8_t *fkey, size_t fkey_len,
    const uint8_t *icv, const uint8_t *msg, size_t n, uint8_t out[8])
{
	uint8_t h[8], blk[8], chunk[256];
	size_t full = (n / 8) * 8;	/* bytes in whole blocks; the padded block follows */
	size_t done, j, rest;
	pcard_err err = PCARD_E_INTERNAL;

	if (icv != NULL)
		memcpy(h, icv, 8);
	else
		memset(h, 0, 8);
	for (done = 0; done < full; done += sizeof chunk) {
		size_t take = full - done < sizeof chunk ? full - done : sizeof chunk;

		if ((err = run_cipher(inner, 1, ikey, h, msg + done, take, chunk)) != PCARD_OK)
			goto out;
		memcpy(h, chunk + take - 8, 8);
	}
	rest = n - full;
	memset(blk, 0, 8);
	if (rest > 0)
		memcpy(blk, msg + full, rest);
	blk[rest] = 0x80;
	for (j = 0; j < 8; j++)
		blk[j] ^= h[j];
	if ((err = run_cipher(des3_ecb_index(fkey_len), 1, fkey, NULL, blk, 8, out)) != PCARD_OK)
		goto out;
	err = PCARD_OK;
out:
	pcard_wipe(h, sizeof h);
	pcard_wipe(blk, sizeof blk);
	pcard_wipe(chunk, sizeof chunk);
	return err;
}

pcard_err
pcard_des_retail_mac(const uint8_t key[16], const uint8_t *icv, const uint8_t *msg, size_t n,
    uint8_t out[8])
{
	uint8_t k1k1[16];
	pcard_err err = PCARD_E_INTERNAL;

	if (key == NULL || out == NULL || (msg == NULL && n > 0))
		return PCARD_E_INVALID_ARG;
	memcpy(k1k1, key, 8);
	memcpy(k1k1 + 8, key, 8);
	err = cbc_mac_des(C_DES2_CBC, k1k1, key, 16, icv, msg, n, out);
	pcard_wipe(k1k1, sizeof k1k1);
	return err;
}

pcard_err
pcard_des3_cbc_mac(const uint8_t *key, size_t key_len, const uint8_t *icv, const uint8_t *msg,
    size_t n, uint8_t out[8])
{
	if (key == NULL || out == NULL || (msg == NULL && n > 0))
		return PCARD_E_INVALID_ARG;
	if (key_len != 16 && key_len != 24)
		return PCARD_E_KEY;
	return cbc_mac_des(key_len == 16 ? C_DES2_CBC : C_DES3_CBC, key, key, key_len, icv, msg,
	    n, out);
}

pcard_err
pcard_kdf_ctr_cmac(const uint8_t *key, size_t key_len, size_t rlen_bytes, const uint8_t *fixed,
    size_t fixed_len, uint8_t *out, size_t out_len)
{
	uint8_t ctr[4], blk[16];
	size_t done = 0, i;
	uint32_t counter = 1;
	int ix = aes_index(key_len);
	tls_ctx *t;
	pcard_err err = PCARD_E_INTERNAL;

	if (key == NULL || (fixed == NULL && fixed_len > 0) || (out == NULL && out_len > 0) ||
	    rlen_bytes < 1 || rlen_bytes > 4)
		return PCARD_E_INVALID_ARG;
	if (ix < 0)
		return PCARD_E_KEY;
	/* the counter must not wrap: at most 2^(8*rlen) - 1 blocks */
	if (rlen_bytes < 4 && (out_len + 15) / 16 > (((size_t)1 << (8 * rlen_bytes)) - 1))
		return PCARD_E_INVALID_ARG;
	if ((t = tls_get()) == NULL)
		return PCARD_E_CRYPTO;
	while (done < out_len) {
		size_t outl = 0, take;

		for (i = 0; i < rlen_bytes; i++)
			ctr[i] = (uint8_t)(counter >> (8 * (rlen_bytes - 1 - i)));
		if (!EVP_MAC_init(t->cmac[ix], key, key_len, NULL) ||
		    !EVP_MAC_update(t->cmac[ix], ctr, rlen_bytes) ||
		    (fixed_len > 0 && !EVP_MAC_update(t->cmac[ix], fixed, fixed_len)) ||
		    !EVP_MAC_final(t->cmac[ix], blk, &outl, sizeof blk) || outl != 16) {
			err = PCARD_E_CRYPTO;
			goto out;
		}
		take = out_len - done < 16 ? out_len - done : 16;
		memcpy(out + done, blk, take);
		done += take;
		counter++;
	}
	err = PCARD_OK;
out:
	pcard_wipe(blk, sizeof blk);
	if (err != PCARD_OK)
		pcard_wipe(out, out_len);
	return err;
}

pcard_err
pcard_pad_iso(const uint8_t *in, size_t n, size_t block, uint8_t *out, size_t out_cap,
    size_t *out_len)
{
	size_t total;

	if (out_len == NULL || block == 0 || block > 256 || (in == NULL && n > 0) || out == NULL)
		return PCARD_E_INVALID_ARG;
	if (n > SIZE_MAX - block)
		return PCARD_E_INVALID_ARG;
	total = (n / block + 1) * block;
	if (total > out_cap)
		return PCARD_E_NOSPACE;
	if (n > 0 && out != in)
		memmove(out, in, n);
	out[n] = 0x80;
	memset(out + n + 1, 0, total - n - 1);
	*out_len = total;
	return PCARD_OK;
}

/* All-ones when x == 0, else zero; no branch on x. */
static size_t
ct_is_zero(size_t x)
{
	return (size_t)0 - (size_t)(1 ^ ((x | ((size_t)0 - x)) >> (sizeof(size_t) * CHAR_BIT - 1)));
}

pcard_err
pcard_unpad_iso(const uint8_t *in, size_t n, size_t *out_len)
{
	size_t found = 0, bad = 0, pos = 0, i;

	if (out_len == NULL || (in == NULL && n > 0))
		return PCARD_E_INVALID_ARG;
	/*
	 * Scan every byte from the end: the first non-zero byte met is the marker and must be 80.
	 * Masks only, so the time depends on n alone, not on where the marker sits.
	 */
	for (i = n; i-- > 0;) {
		size_t b = in[i];
		size_t take = ~found & ~ct_is_zero(b);

		pos = (pos & ~take) | (i & take);
		bad |= take & ~ct_is_zero(b ^ 0x80);
		found |= take;
	}
	if ((~found | bad) != 0)
		return PCARD_E_PADDING;
	*out_len = pos;
	return PCARD_OK;
}

/* An ECB cipher of this file (pcard_aes_ecb, pcard_des3_ecb). */
typedef pcard_err (*ecb_fn)(int encrypt, const uint8_t *key, size_t key_len, const uint8_t *in,
    size_t n, uint8_t *out);

/* Key check value: the first 3 bytes of one block of fill bytes encrypted with ecb. */
static pcard_err
kcv_ecb(ecb_fn ecb, const uint8_t *key, size_t key_len, uint8_t fill, size_t block,
    uint8_t kcv[3])
{
	uint8_t blk[PCARD_AES_BLOCK];
	pcard_err err;

	if (kcv == NULL)
		return PCARD_E_INVALID_ARG;
	memset(blk, fill, block);
	if ((err = ecb(1, key, key_len, blk, block, blk)) == PCARD_OK)
		memcpy(kcv, blk, 3);
	pcard_wipe(blk, sizeof blk);
	return err;
}

pcard_err
pcard_kcv_aes(const uint8_t *key, size_t key_len, uint8_t kcv[3])
{
	return kcv_ecb(pcard_aes_ecb, key, key_len, 0x01, PCARD_AES_BLOCK, kcv);
}

pcard_err
pcard_kcv_des3(const uint8_t *key, size_t key_len, uint8_t kcv[3])
{
	return kcv_ecb(pcard_des3_ecb, key, key_len, 0x00, PCARD_DES_BLOCK, kcv);
}

size_t
pcard_hash_len(pcard_hash h)
{
	switch (h) {
	case PCARD_HASH_SHA1: return 20;
	case PCARD_HASH_SHA256: return 32;
	case PCARD_HASH_SHA384: return 48;
	case PCARD_HASH_SHA512: return 64;
	default: return 0;
	}
}

const char *
pcard_hash_name(pcard_hash h)
{
	switch (h) {
	case PCARD_HASH_SHA1: return "sha1";
	case PCARD_HASH_SHA256: return "sha256";
	case PCARD_HASH_SHA384: return "sha384";
	case PCARD_HASH_SHA512: return "sha512";
	default: return NULL;
	}
}

pcard_err
pcard_hash_from_name(const char *name, pcard_hash *h)
{
	static const struct { const char *name; pcard_hash h; } tab[] = {
		{ "sha1", PCARD_HASH_SHA1 }, { "sha-1", PCARD_HASH_SHA1 },
		{ "sha256", PCARD_HASH_SHA256 }, { "sha-256", PCARD_HASH_SHA256 },
		{ "sha384", PCARD_HASH_SHA384 }, { "sha-384", PCARD_HASH_SHA384 },
		{ "sha512", PCARD_HASH_SHA512 }, { "sha-512", PCARD_HASH_SHA512 },
	};
	size_t i;

	if (name == NULL || h == NULL)
		return PCARD_E_INVALID_ARG;
	for (i = 0; i < sizeof tab / sizeof tab[0]; i++) {
		if (strcasecmp(name, tab[i].name) == 0) {
			*h = tab[i].h;
			return PCARD_OK;
		}
	}
	return PCARD_E_UNSUPPORTED;
}

pcard_err
pcard_digest(pcard_hash h, const uint8_t *msg, size_t n, uint8_t *out, size_t out_cap,
    size_t *out_len)
{
	size_t len = pcard_hash_len(h);
	unsigned int outl = 0;
	tls_ctx *t;

	if ((msg == NULL && n > 0) || out == NULL || out_len == NULL)
		return PCARD_E_INVALID_ARG;
	if (len == 0)
		return PCARD_E_UNSUPPORTED;
	if (out_cap < len)
		return PCARD_E_NOSPACE;
	if ((t = tls_get()) == NULL)
		return PCARD_E_CRYPTO;
	if (!EVP_DigestInit_ex2(t->md, g_md[h], NULL) ||
	    (n > 0 && !EVP_DigestUpdate(t->md, msg, n)) ||
	    !EVP_DigestFinal_ex(t->md, out, &outl) || outl != len)
		return PCARD_E_CRYPTO;
	*out_len = len;
	return PCARD_OK;
}

/*
 * Internal to the crypto module (crypto_pkey.c): the fetched digest for h, or NULL.
 * Declared here and there only, never in a public header.
 */
const EVP_MD *pcard__crypto_md(pcard_hash h);

const EVP_MD *
pcard__crypto_md(pcard_hash h)
{
	if (pcard_crypto_init() != PCARD_OK || (size_t)h >= MD__COUNT || h == PCARD_HASH_NONE)
		return NULL;
	return g_md[h];
}
