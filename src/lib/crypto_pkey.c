/*
 * crypto_pkey.c: asymmetric keys (RSA, EC P-256/P-384/P-521) over OpenSSL 3 EVP_PKEY, the
 * other half of the crypto module (crypto.h). Digests come from the fetched-once table in
 * crypto.c.
 *
 * ECDSA signatures cross this interface as r || s, each left-padded to the size of the group
 * order (GP tokens, receipts and DAP carry them that way); the DER form OpenSSL speaks is
 * built and parsed only here. RSA-PSS uses MGF1 with the message hash and salt = hash length.
 *
 * Errors: an argument outside the contract is PCARD_E_INVALID_ARG; a key of the wrong kind
 * for the operation (EC key for PSS, public key for signing) PCARD_E_KEY; unparsable key bytes
 * PCARD_E_BAD_ENCODING (PCARD_E_BAD_FILE from a file); a signature that does not verify, or
 * that is malformed, PCARD_E_VERIFY; an OAEP decryption that fails (wrong key or tampered
 * ciphertext) PCARD_E_CRYPTO.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "postcard/crypto.h"
#include "postcard/file.h"

/* Internal to the crypto module, defined in crypto.c: the fetched digest for h, or NULL. */
const EVP_MD *pcard__crypto_md(pcard_hash h);

#define KEY_FILE_MAX (1u << 20)

struct pcard_pkey {
	EVP_PKEY *pk;
};

static const struct {
	const char *name;	/* ours, as in crypto.h */
	const char *ossl;	/* OpenSSL's group name */
	size_t field;		/* bytes per coordinate */
} curves[] = {
	{ "P-256", "prime256v1", 32 },
	{ "P-384", "secp384r1", 48 },
	{ "P-521", "secp521r1", 66 },
};

static int
find_curve(const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < sizeof curves / sizeof curves[0]; i++)
		if (strcmp(name, curves[i].name) == 0 || strcmp(name, curves[i].ossl) == 0)
			return (int)i;
	return -1;
}

/* The curve index of an EC key, or -1. */
static int
key_curve(const EVP_PKEY *pk)
{
	char name[64];
	size_t len = 0;

	if (!EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof name,
	    &len))
		return -1;
	return find_curve(name);
}

/* Wrap pk (taken over) after checking it is RSA or one of our curves. */
static pcard_err
wrap_pkey(EVP_PKEY *pk, pcard_pkey **out)
{
	pcard_pkey *k;

	if (!EVP_PKEY_is_a(pk, "RSA") && !(EVP_PKEY_is_a(pk, "EC") && key_curve(pk) >= 0)) {
		EVP_PKEY_free(pk);
		return PCARD_E_UNSUPPORTED;
	}
	if ((k = calloc(1, sizeof *k)) == NULL) {
		EVP_PKEY_free(pk);
		return PCARD_E_NOMEM;
	}
	k->pk = pk;
	*out = k;
	return PCARD_OK;
}

/* Refuse to prompt for a passphrase: encrypted PEM keys simply fail to load. */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

pcard_err
pcard_pkey_load(const uint8_t *buf, size_t n, pcard_pkey **out)
{
	EVP_PKEY *pk = NULL;
	BIO *bio = NULL;
	const unsigned char *p;
	pcard_err err = PCARD_E_INTERNAL;
	int i;

	if (out != NULL)
		*out = NULL;
	if (buf == NULL || out == NULL || n == 0 || n > KEY_FILE_MAX)
		return PCARD_E_INVALID_ARG;
	if (pcard_crypto_init() != PCARD_OK)
		return PCARD_E_CRYPTO;
	/* PEM private, PEM public, DER private, DER public (SubjectPublicKeyInfo) */
	for (i = 0; i < 4 && pk == NULL; i++) {
		BIO_free(bio);
		if ((bio = BIO_new_mem_buf(buf, (int)n)) == NULL) {
			err = PCARD_E_NOMEM;
			goto out;
		}
		p = buf;
		switch (i) {
		case 0: pk = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL); break;
		case 1: pk = PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, NULL); break;
		case 2: pk = d2i_AutoPrivateKey(NULL, &p, (long)n); break;
		default: pk = d2i_PUBKEY(NULL, &p, (long)n); break;
		}
		/* DER must be consumed exactly */
		if (pk != NULL && i >= 2 && p != buf + n) {
			EVP_PKEY_free(pk);
			pk = NULL;
		}
	}
	if (pk == NULL) {
		err = PCARD_E_BAD_ENCODING;
		goto out;
	}
	err = wrap_pkey(pk, out);
out:
	BIO_free(bio);
	ERR_clear_error();
	return err;
}

pcard_err
pcard_pkey_load_file(const char *path, pcard_pkey **out)
{
	uint8_t *buf = NULL;
	size_t n = 0;
	pcard_err err;

	if (out != NULL)
		*out = NULL;
	if (path == NULL || out == NULL)
		return PCARD_E_INVALID_ARG;
	if ((err = pcard_file_read(path, KEY_FILE_MAX, &buf, &n)) != PCARD_OK)
		return err;
	if (n == 0)
		err = PCARD_E_BAD_FILE;
	else if ((err = pcard_pkey_load(buf, n, out)) == PCARD_E_BAD_ENCODING)
		err = PCARD_E_BAD_FILE;
	pcard_wipe(buf, n);
	free(buf);
	return err;
}

pcard_err
pcard_pkey_gen_rsa(unsigned bits, pcard_pkey **out)
{
	EVP_PKEY *pk;

	if (out != NULL)
		*out = NULL;
	if (out == NULL || bits < 1024 || bits > 8192)
		return PCARD_E_INVALID_ARG;
	if (pcard_crypto_init() != PCARD_OK)
		return PCARD_E_CRYPTO;
	if ((pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits)) == NULL) {
		ERR_clear_error();
		return PCARD_E_CRYPTO;
	}
	return wrap_pkey(pk, out);
}

pcard_err
pcard_pkey_gen_ec(const char *curve, pcard_pkey **out)
{
	EVP_PKEY *pk;
	int c = find_curve(curve);

	if (out != NULL)
		*out = NULL;
	if (out == NULL || curve == NULL)
		return PCARD_E_INVALID_ARG;
	if (c < 0)
		return PCARD_E_UNSUPPORTED;
	if (pcard_crypto_init() != PCARD_OK)
		return PCARD_E_CRYPTO;
	if ((pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curves[c].ossl)) == NULL) {
		ERR_clear_error();
		return PCARD_E_CRYPTO;
	}
	return wrap_pkey(pk, out);
}

/* A public key from parameters built by the caller. */
static pcard_err
from_params(const char *type, OSSL_PARAM_BLD *bld, pcard_pkey **out)
{
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pk = NULL;
	pcard_err err = PCARD_E_INTERNAL;

	if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL)) == NULL) {
		err = PCARD_E_NOMEM;
		goto out;
	}
	if (EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
		err = PCARD_E_BAD_ENCODING;
		goto out;
	}
	err = wrap_pkey(pk, out);
	pk = NULL;
out:
	EVP_PKEY_free(pk);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	ERR_clear_error();
	return err;
}

pcard_err
pcard_pkey_rsa_from_parts(const uint8_t *n, size_t n_len, const uint8_t *e, size_t e_len,
    pcard_pkey **out)
{
	OSSL_PARAM_BLD *bld = NULL;
	BIGNUM *bn = NULL, *be = NULL;
	pcard_err err = PCARD_E_INTERNAL;

	if (out != NULL)
		*out = NULL;
	if (n == NULL || e == NULL || out == NULL || n_len == 0 || e_len == 0 ||
	    n_len > 1024 || e_len > 1024)
		return PCARD_E_INVALID_ARG;
	if (pcard_crypto_init() != PCARD_OK)
		return PCARD_E_CRYPTO;
	if ((bn = BN_bin2bn(n, (int)n_len, NULL)) == NULL ||
	    (be = BN_bin2bn(e, (int)e_len, NULL)) == NULL ||
	    (bld = OSSL_PARAM_BLD_new()) == NULL) {
		err = PCARD_E_NOMEM;
		goto out;
	}
	/* a modulus below 512 bits or an even or tiny exponent is not a usable RSA key */
	if (BN_num_bits(bn) < 512 || !BN_is_odd(bn) || !BN_is_odd(be) || BN_is_one(be)) {
		err = PCARD_E_BAD_ENCODING;
		goto out;
	}
	if (!OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be)) {
		err = PCARD_E_NOMEM;
		goto out;
	}
	err = from_params("RSA", bld, out);
out:
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn);
	BN_free(be);
	ERR_clear_error();
	return err;
}

pcard_err
pcard_pkey_ec_from_point(const char *curve, const uint8_t *pt, size_t pt_len, pcard_pkey **out)
{
	OSSL_PARAM_BLD *bld = NULL;
	int c = find_curve(curve);
	pcard_err err = PCARD_E_INTERNAL;

	if (out != NULL)
		*out = NULL;
	if (curve == NULL || pt == NULL || out == NULL)
		return PCARD_E_INVALID_ARG;
	if (c < 0)
		return PCARD_E_UNSUPPORTED;
	/* uncompressed points only: 04 || X || Y */
	if (pt_len != 1 + 2 * curves[c].field || pt[0] != 0x04)
		return PCARD_E_BAD_ENCODING;
	if (pcard_crypto_init() != PCARD_OK)
		return PCARD_E_CRYPTO;
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, curves[c].ossl, 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, pt_len)) {
		err = PCARD_E_NOMEM;
		goto out;
	}
	/* fromdata decodes the point and refuses one that is not on the curve */
	err = from_params("EC", bld, out);
out:
	OSSL_PARAM_BLD_free(bld);
	return err;
}

void
pcard_pkey_free(pcard_pkey *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pk);
	free(k);
}

int
pcard_pkey_is_rsa(const pcard_pkey *k)
{
	return k != NULL && EVP_PKEY_is_a(k->pk, "RSA");
}

int
pcard_pkey_is_ec(const pcard_pkey *k)
{
	return k != NULL && EVP_PKEY_is_a(k->pk, "EC");
}

unsigned
pcard_pkey_bits(const pcard_pkey *k)
{
	int b;

	if (k == NULL || (b = EVP_PKEY_get_bits(k->pk)) <= 0)
		return 0;
	return (unsigned)b;
}

/* Big-endian minimal bytes of a BIGNUM parameter of pk. */
static pcard_err
get_bn(const EVP_PKEY *pk, const char *name, uint8_t *out, size_t cap, size_t *len, size_t pad)
{
	BIGNUM *bn = NULL;
	size_t n;
	pcard_err err = PCARD_E_INTERNAL;

	if (!EVP_PKEY_get_bn_param(pk, name, &bn)) {
		err = PCARD_E_KEY;
		goto out;
	}
	n = pad ? pad : (size_t)BN_num_bytes(bn);
	if (n == 0)
		n = 1;	/* zero is one 00 byte */
	if ((size_t)BN_num_bytes(bn) > n) {
		err = PCARD_E_INTERNAL;
		goto out;
	}
	if (n > cap) {
		err = PCARD_E_NOSPACE;
		goto out;
	}
	if (BN_bn2binpad(bn, out, (int)n) != (int)n) {
		err = PCARD_E_CRYPTO;
		goto out;
	}
	*len = n;
	err = PCARD_OK;
out:
	BN_clear_free(bn);
	ERR_clear_error();
	return err;
}

pcard_err
pcard_pkey_rsa_parts(const pcard_pkey *k, uint8_t *n, size_t n_cap, size_t *n_len, uint8_t *e,
    size_t e_cap, size_t *e_len)
{
	pcard_err err;

	if (k == NULL || n == NULL || n_len == NULL || e == NULL || e_len == NULL)
		return PCARD_E_INVALID_ARG;
	if (!pcard_pkey_is_rsa(k))
		return PCARD_E_KEY;
	if ((err = get_bn(k->pk, OSSL_PKEY_PARAM_RSA_N, n, n_cap, n_len, 0)) != PCARD_OK)
		return err;
	return get_bn(k->pk, OSSL_PKEY_PARAM_RSA_E, e, e_cap, e_len, 0);
}

pcard_err
pcard_pkey_ec_point(const pcard_pkey *k, uint8_t *pt, size_t pt_cap, size_t *pt_len,
    const char **curve)
{
	size_t f, len;
	int c;
	pcard_err err;

	if (k == NULL || pt == NULL || pt_len == NULL)
		return PCARD_E_INVALID_ARG;
	if (!pcard_pkey_is_ec(k) || (c = key_curve(k->pk)) < 0)
		return PCARD_E_KEY;
	f = curves[c].field;
	if (pt_cap < 1 + 2 * f)
		return PCARD_E_NOSPACE;
	pt[0] = 0x04;
	if ((err = get_bn(k->pk, OSSL_PKEY_PARAM_EC_PUB_X, pt + 1, f, &len, f)) != PCARD_OK ||
	    (err = get_bn(k->pk, OSSL_PKEY_PARAM_EC_PUB_Y, pt + 1 + f, f, &len, f)) != PCARD_OK)
		return err;
	*pt_len = 1 + 2 * f;
	if (curve != NULL)
		*curve = curves[c].name;
	return PCARD_OK;
}

/* 1 when pk holds a private part. */
static int
has_private(const EVP_PKEY *pk)
{
	BIGNUM *bn = NULL;
	int r;

	r = EVP_PKEY_get_bn_param(pk, EVP_PKEY_is_a(pk, "RSA") ? OSSL_PKEY_PARAM_RSA_D :
	    OSSL_PKEY_PARAM_PRIV_KEY, &bn);
	BN_clear_free(bn);
	ERR_clear_error();
	return r == 1;
}

pcard_err
pcard_pkey_pem(const pcard_pkey *k, int private_part, char *out, size_t out_cap,
    size_t *out_len)
{
	BIO *bio = NULL;
	char *p = NULL;
	long n = 0;
	pcard_err err = PCARD_E_INTERNAL;

	if (k == NULL || out == NULL || out_len == NULL)
		return PCARD_E_INVALID_ARG;
	if (private_part && !has_private(k->pk))
		return PCARD_E_KEY;
	if ((bio = BIO_new(BIO_s_mem())) == NULL) {
		err = PCARD_E_NOMEM;
		goto out;
	}
	if (private_part ?
	    !PEM_write_bio_PrivateKey(bio, k->pk, NULL, NULL, 0, NULL, NULL) :
	    !PEM_write_bio_PUBKEY(bio, k->pk)) {
		err = PCARD_E_CRYPTO;
		goto out;
	}
	n = BIO_get_mem_data(bio, &p);
	if (n <= 0 || p == NULL) {
		err = PCARD_E_CRYPTO;
		goto out;
	}
	if ((size_t)n + 1 > out_cap) {
		err = PCARD_E_NOSPACE;
		goto out;
	}
	memcpy(out, p, (size_t)n);
	out[n] = '\0';
	*out_len = (size_t)n;
	err = PCARD_OK;
out:
	if (p != NULL && n > 0)
		pcard_wipe(p, (size_t)n);
	BIO_free(bio);
	ERR_clear_error();
	return err;
}

/* Bytes of r and of s in an r || s ECDSA signature for this key. */
static size_t
ecdsa_half(const EVP_PKEY *pk)
{
	int c = key_curve(pk);

	return c < 0 ? 0 : curves[c].field;
}

/* Check that scheme s can run with key k and hash h; return the digest. */
static pcard_err
check_scheme(const pcard_pkey *k, pcard_sig_scheme s, pcard_hash h, const EVP_MD **md)
{
	if ((*md = pcard__crypto_md(h)) == NULL)
		return PCARD_E_INVALID_ARG;
	switch (s) {
	case PCARD_SIG_RSA_PKCS1:
	case PCARD_SIG_RSA_PSS:
		return pcard_pkey_is_rsa(k) ? PCARD_OK : PCARD_E_KEY;
	case PCARD_SIG_ECDSA:
		return pcard_pkey_is_ec(k) ? PCARD_OK : PCARD_E_KEY;
	default:
		return PCARD_E_UNSUPPORTED;
	}
}

/* A digest-sign or digest-verify context for k, scheme s. */
static pcard_err
init_sig_ctx(const pcard_pkey *k, pcard_sig_scheme s, const EVP_MD *md, int sign,
    EVP_MD_CTX **out)
{
	EVP_MD_CTX *mctx;
	EVP_PKEY_CTX *pctx = NULL;
	int ok;

	if ((mctx = EVP_MD_CTX_new()) == NULL)
		return PCARD_E_NOMEM;
	ok = sign ? EVP_DigestSignInit(mctx, &pctx, md, NULL, k->pk) :
	    EVP_DigestVerifyInit(mctx, &pctx, md, NULL, k->pk);
	if (ok == 1 && s == PCARD_SIG_RSA_PSS)
		ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
		    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) > 0 &&
		    EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) > 0;
	else if (ok == 1 && s == PCARD_SIG_RSA_PKCS1)
		ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) > 0;
	if (ok != 1) {
		EVP_MD_CTX_free(mctx);
		ERR_clear_error();
		/* signing needs the private part */
		return sign && !has_private(k->pk) ? PCARD_E_KEY : PCARD_E_CRYPTO;
	}
	*out = mctx;
	return PCARD_OK;
}

pcard_err
pcard_sign(const pcard_pkey *k, pcard_sig_scheme s, pcard_hash h, const uint8_t *msg, size_t n,
    uint8_t *sig, size_t sig_cap, size_t *sig_len)
{
	const EVP_MD *md;
	EVP_MD_CTX *mctx = NULL;
	ECDSA_SIG *es = NULL;
	uint8_t der[160];
	size_t len = 0, half;
	pcard_err err = PCARD_E_INTERNAL;

	if (k == NULL || sig == NULL || sig_len == NULL || (msg == NULL && n > 0))
		return PCARD_E_INVALID_ARG;
	*sig_len = 0;
	if ((err = check_scheme(k, s, h, &md)) != PCARD_OK)
		return err;
	if (!has_private(k->pk))
		return PCARD_E_KEY;
	if ((err = init_sig_ctx(k, s, md, 1, &mctx)) != PCARD_OK)
		goto out;
	if (s != PCARD_SIG_ECDSA) {
		if (EVP_DigestSign(mctx, NULL, &len, msg, n) != 1) {
			err = PCARD_E_CRYPTO;
			goto out;
		}
		if (len > sig_cap) {
			err = PCARD_E_NOSPACE;
			goto out;
		}
		if (EVP_DigestSign(mctx, sig, &len, msg, n) != 1) {
			err = PCARD_E_CRYPTO;
			goto out;
		}
		*sig_len = len;
		err = PCARD_OK;
		goto out;
	}
	/* ECDSA: DER from OpenSSL, r || s to the caller */
	half = ecdsa_half(k->pk);
	if (2 * half > sig_cap) {
		err = PCARD_E_NOSPACE;
		goto out;
	}
	len = sizeof der;
	if (EVP_DigestSign(mctx, der, &len, msg, n) != 1) {
		err = PCARD_E_CRYPTO;
		goto out;
	}
	{
		const unsigned char *p = der;
		const BIGNUM *r, *sv;

		if ((es = d2i_ECDSA_SIG(NULL, &p, (long)len)) == NULL) {
			err = PCARD_E_CRYPTO;
			goto out;
		}
		ECDSA_SIG_get0(es, &r, &sv);
		if (BN_bn2binpad(r, sig, (int)half) != (int)half ||
		    BN_bn2binpad(sv, sig + half, (int)half) != (int)half) {
			err = PCARD_E_CRYPTO;
			goto out;
		}
	}
	*sig_len = 2 * half;
	err = PCARD_OK;
out:
	ECDSA_SIG_free(es);
	EVP_MD_CTX_free(mctx);
	ERR_clear_error();
	return err;
}

pcard_err
pcard_verify(const pcard_pkey *k, pcard_sig_scheme s, pcard_hash h, const uint8_t *msg,
    size_t n, const uint8_t *sig, size_t sig_len)
{
	const EVP_MD *md;
	EVP_MD_CTX *mctx = NULL;
	ECDSA_SIG *es = NULL;
	BIGNUM *r = NULL, *sv = NULL;
	unsigned char *der = NULL;
	int der_len, rc;
	pcard_err err = PCARD_E_INTERNAL;

	if (k == NULL || (sig == NULL && sig_len > 0) || (msg == NULL && n > 0))
		return PCARD_E_INVALID_ARG;
	if ((err = check_scheme(k, s, h, &md)) != PCARD_OK)
		return err;
	if ((err = init_sig_ctx(k, s, md, 0, &mctx)) != PCARD_OK)
		goto out;
	if (s != PCARD_SIG_ECDSA) {
		rc = EVP_DigestVerify(mctx, sig, sig_len, msg, n);
		err = rc == 1 ? PCARD_OK : PCARD_E_VERIFY;
		goto out;
	}
	/* ECDSA: r || s of exactly twice the order size */
	{
		size_t half = ecdsa_half(k->pk);

		if (half == 0 || sig_len != 2 * half) {
			err = PCARD_E_VERIFY;
			goto out;
		}
		if ((es = ECDSA_SIG_new()) == NULL ||
		    (r = BN_bin2bn(sig, (int)half, NULL)) == NULL ||
		    (sv = BN_bin2bn(sig + half, (int)half, NULL)) == NULL ||
		    !ECDSA_SIG_set0(es, r, sv)) {
			err = PCARD_E_NOMEM;
			goto out;
		}
		r = sv = NULL;	/* owned by es now */
		if ((der_len = i2d_ECDSA_SIG(es, &der)) <= 0) {
			err = PCARD_E_NOMEM;
			goto out;
		}
		rc = EVP_DigestVerify(mctx, der, (size_t)der_len, msg, n);
		err = rc == 1 ? PCARD_OK : PCARD_E_VERIFY;
	}
out:
	OPENSSL_free(der);
	BN_free(r);
	BN_free(sv);
	ECDSA_SIG_free(es);
	EVP_MD_CTX_free(mctx);
	ERR_clear_error();
	return err;
}

static pcard_err
oaep(int encrypt, const pcard_pkey *k, pcard_hash h, const uint8_t *in, size_t n, uint8_t *out,
    size_t out_cap, size_t *out_len)
{
	const EVP_MD *md;
	EVP_PKEY_CTX *ctx = NULL;
	size_t len = 0;
	pcard_err err = PCARD_E_INTERNAL;

	if (k == NULL || (in == NULL && n > 0) || out == NULL || out_len == NULL)
		return PCARD_E_INVALID_ARG;
	*out_len = 0;
	if ((md = pcard__crypto_md(h)) == NULL)
		return PCARD_E_INVALID_ARG;
	if (!pcard_pkey_is_rsa(k) || (!encrypt && !has_private(k->pk)))
		return PCARD_E_KEY;
	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->pk, NULL)) == NULL) {
		err = PCARD_E_NOMEM;
		goto out;
	}
	if ((encrypt ? EVP_PKEY_encrypt_init(ctx) : EVP_PKEY_decrypt_init(ctx)) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_oaep_md(ctx, md) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md) <= 0) {
		err = PCARD_E_CRYPTO;
		goto out;
	}
	if (encrypt) {
		/* OAEP carries at most k - 2*hLen - 2 bytes */
		size_t kbytes = (size_t)EVP_PKEY_get_size(k->pk);

		if (n + 2 * (size_t)EVP_MD_get_size(md) + 2 > kbytes) {
			err = PCARD_E_INVALID_ARG;
			goto out;
		}
		if (EVP_PKEY_encrypt(ctx, NULL, &len, in, n) <= 0) {
			err = PCARD_E_CRYPTO;
			goto out;
		}
		if (len > out_cap) {
			err = PCARD_E_NOSPACE;
			goto out;
		}
		if (EVP_PKEY_encrypt(ctx, out, &len, in, n) <= 0) {
			err = PCARD_E_CRYPTO;
			goto out;
		}
	} else {
		uint8_t tmp[1024];

		/* decrypt into our own buffer of the modulus size, then copy what fits */
		len = sizeof tmp;
		if ((size_t)EVP_PKEY_get_size(k->pk) > sizeof tmp) {
			err = PCARD_E_UNSUPPORTED;
			goto out;
		}
		if (EVP_PKEY_decrypt(ctx, tmp, &len, in, n) <= 0) {
			pcard_wipe(tmp, sizeof tmp);
			err = PCARD_E_CRYPTO;
			goto out;
		}
		if (len > out_cap) {
			pcard_wipe(tmp, sizeof tmp);
			err = PCARD_E_NOSPACE;
			goto out;
		}
		memcpy(out, tmp, len);
		pcard_wipe(tmp, sizeof tmp);
	}
	*out_len = len;
	err = PCARD_OK;
out:
	EVP_PKEY_CTX_free(ctx);
	ERR_clear_error();
	return err;
}

pcard_err
pcard_rsa_oaep_encrypt(const pcard_pkey *k, pcard_hash md, const uint8_t *in, size_t n,
    uint8_t *out, size_t out_cap, size_t *out_len)
{
	return oaep(1, k, md, in, n, out, out_cap, out_len);
}

pcard_err
pcard_rsa_oaep_decrypt(const pcard_pkey *k, pcard_hash md, const uint8_t *in, size_t n,
    uint8_t *out, size_t out_cap, size_t *out_len)
{
	return oaep(0, k, md, in, n, out, out_cap, out_len);
}
