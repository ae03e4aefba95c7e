/*
 * hotp.h: HOTP one-time passwords (RFC 4226) for the hotp native applet, with the
 * HMAC-SHA-1 (RFC 2104) it needs.
 *
 * crypto.h offers digests but no HMAC (OpenSSL's HMAC is not reachable through it), so
 * HMAC is built here from pcard_digest with the ipad/opad construction:
 *     HMAC(K, m) = H((K0 ^ opad) || H((K0 ^ ipad) || m))
 * where K0 is K padded with zeros to the 64-byte SHA-1 block (K longer than 64 bytes is
 * first replaced by H(K)).
 */
#ifndef PCARD_HOTP_H
#define PCARD_HOTP_H

#include <stddef.h>
#include <stdint.h>

#include "postcard/err.h"

#define PCARD_HMAC_SHA1_BYTES 20
#define PCARD_HOTP_KEY_MAX 64		/* secrets up to one SHA-1 block */
#define PCARD_HOTP_DIGITS_MIN 6		/* RFC 4226 R4: at least 6 digits */
#define PCARD_HOTP_DIGITS_MAX 8

/*
 * HMAC-SHA-1 of msg under key (any length; key may be NULL when key_len is 0).
 * @retval PCARD_E_CRYPTO the digest failed
 */
pcard_err pcard_hmac_sha1(const uint8_t *key, size_t key_len, const uint8_t *msg, size_t n,
    uint8_t out[PCARD_HMAC_SHA1_BYTES]);

/*
 * HOTP(K, C) = Truncate(HMAC-SHA-1(K, C)) mod 10^digits, with C the 8-byte big-endian counter
 * and the dynamic truncation of RFC 4226 5.3.
 * @retval PCARD_E_INVALID_ARG digits outside 6..8, key_len 0 or over PCARD_HOTP_KEY_MAX
 */
pcard_err pcard_hotp(const uint8_t *key, size_t key_len, uint64_t counter, unsigned digits,
    uint32_t *code);

#endif
