/*
 * crypto_pkey.c: asymmetric keys (RSA, EC) over OpenSSL 3 EVP_PKEY.
 * Placeholder while the implementation lands: every call answers PCARD_E_UNSUPPORTED.
 */
#include <stdlib.h>

#include "postcard/crypto.h"

pcard_err pcard_pkey_load(const uint8_t *buf, size_t n, pcard_pkey **out) { return PCARD_E_UNSUPPORTED; }
pcard_err pcard_pkey_load_file(const char *path, pcard_pkey **out) { return PCARD_E_UNSUPPORTED; }
pcard_err pcard_pkey_gen_rsa(unsigned bits, pcard_pkey **out) { return PCARD_E_UNSUPPORTED; }
pcard_err pcard_pkey_gen_ec(const char *curve, pcard_pkey **out) { return PCARD_E_UNSUPPORTED; }
pcard_err pcard_pkey_rsa_from_parts(const uint8_t *n, size_t n_len, const uint8_t *e,
    size_t e_len, pcard_pkey **out) { return PCARD_E_UNSUPPORTED; }
pcard_err pcard_pkey_ec_from_point(const char *curve, const uint8_t *pt, size_t pt_len,
    pcard_pkey **out) { return PCARD_E_UNSUPPORTED; }
void pcard_pkey_free(pcard_pkey *k) { (void)k; }
int pcard_pkey_is_rsa(const pcard_pkey *k) { return 0; }
int pcard_pkey_is_ec(const pcard_pkey *k) { return 0; }
unsigned pcard_pkey_bits(const pcard_pkey *k) { return 0; }
pcard_err pcard_pkey_rsa_parts(const pcard_pkey *k, uint8_t *n, size_t n_cap, size_t *n_len,
    uint8_t *e, size_t e_cap, size_t *e_len) { return PCARD_E_UNSUPPORTED; }
pcard_err pcard_pkey_ec_point(const pcard_pkey *k, uint8_t *pt, size_t pt_cap, size_t *pt_len,
    const char **curve) { return PCARD_E_UNSUPPORTED; }
pcard_err pcard_pkey_pem(const pcard_pkey *k, int private_part, char *out, size_t out_cap,
    size_t *out_len) { return PCARD_E_UNSUPPORTED; }
pcard_err pcard_sign(const pcard_pkey *k, pcard_sig_scheme s, pcard_hash h, const uint8_t *msg,
    size_t n, uint8_t *sig, size_t sig_cap, size_t *sig_len) { return PCARD_E_UNSUPPORTED; }
pcard_err pcard_verify(const pcard_pkey *k, pcard_sig_scheme s, pcard_hash h, const uint8_t *msg,
    size_t n, const uint8_t *sig, size_t sig_len) { return PCARD_E_UNSUPPORTED; }
pcard_err pcard_rsa_oaep_encrypt(const pcard_pkey *k, pcard_hash md, const uint8_t *in,
    size_t n, uint8_t *out, size_t out_cap, size_t *out_len) { return PCARD_E_UNSUPPORTED; }
pcard_err pcard_rsa_oaep_decrypt(const pcard_pkey *k, pcard_hash md, const uint8_t *in,
    size_t n, uint8_t *out, size_t out_cap, size_t *out_len) { return PCARD_E_UNSUPPORTED; }
