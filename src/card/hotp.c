/*
 * hotp.c: HMAC-SHA-1 from pcard_digest, and HOTP (RFC 4226); see hotp.h.
 */
#include <stdlib.h>
#include <string.h>

#include "hotp.h"
#include "postcard/crypto.h"

#define SHA1_BLOCK 64

pcard_err
pcard_hmac_sha1(const uint8_t *key, size_t key_len, const uint8_t *msg, size_t n,
    uint8_t out[PCARD_HMAC_SHA1_BYTES])
{
	uint8_t k0[SHA1_BLOCK], outer[SHA1_BLOCK + PCARD_HMAC_SHA1_BYTES];
	uint8_t ih[PCARD_HMAC_SHA1_BYTES];
	uint8_t *inner = NULL;
	size_t len;
	pcard_err err = PCARD_E_INTERNAL;

	if ((key == NULL && key_len > 0) || (msg == NULL && n > 0) || out == NULL ||
	    n > SIZE_MAX - SHA1_BLOCK)
		return PCARD_E_INVALID_ARG;
	memset(k0, 0, sizeof k0);
	if (key_len > SHA1_BLOCK) {
		if ((err = pcard_digest(PCARD_HASH_SHA1, key, key_len, k0, sizeof k0, &len)) !=
		    PCARD_OK)
			goto out;
	} else if (key_len > 0) {
		memcpy(k0, key, key_len);
	}
	err = PCARD_E_NOMEM;
	if ((inner = malloc(SHA1_BLOCK + n)) == NULL)
		goto out;
	for (size_t i = 0; i < SHA1_BLOCK; i++)
		inner[i] = k0[i] ^ 0x36;
	if (n > 0)
		memcpy(inner + SHA1_BLOCK, msg, n);
	if ((err = pcard_digest(PCARD_HASH_SHA1, inner, SHA1_BLOCK + n, ih, sizeof ih, &len)) !=
	    PCARD_OK)
		goto out;
	for (size_t i = 0; i < SHA1_BLOCK; i++)
		outer[i] = k0[i] ^ 0x5C;
	memcpy(outer + SHA1_BLOCK, ih, sizeof ih);
	if ((err = pcard_digest(PCARD_HASH_SHA1, outer, sizeof outer, out, PCARD_HMAC_SHA1_BYTES,
	    &len)) != PCARD_OK)
		goto out;
	err = PCARD_OK;
out:
	if (inner != NULL) {
		pcard_wipe(inner, SHA1_BLOCK + n);
		free(inner);
	}
	pcard_wipe(k0, sizeof k0);
	pcard_wipe(outer, sizeof outer);
	pcard_wipe(ih, sizeof ih);
	return err;
}

pcard_err
pcard_hotp(const uint8_t *key, size_t key_len, uint64_t counter, unsigned digits,
    uint32_t *code)
{
	static const uint32_t mod[] = { 1000000u, 10000000u, 100000000u };
	uint8_t c[8], mac[PCARD_HMAC_SHA1_BYTES];
	uint32_t bin;
	unsigned off;
	pcard_err err = PCARD_E_INTERNAL;

	if (key == NULL || key_len == 0 || key_len > PCARD_HOTP_KEY_MAX || code == NULL ||
	    digits < PCARD_HOTP_DIGITS_MIN || digits > PCARD_HOTP_DIGITS_MAX)
		return PCARD_E_INVALID_ARG;
	for (int i = 7; i >= 0; i--) {
		c[i] = (uint8_t)counter;
		counter >>= 8;
	}
	if ((err = pcard_hmac_sha1(key, key_len, c, sizeof c, mac)) != PCARD_OK)
		goto out;
	/* RFC 4226 5.3: offset from the low nibble of the last byte, 31-bit big-endian value */
	off = mac[PCARD_HMAC_SHA1_BYTES - 1] & 0x0F;
	bin = (uint32_t)(mac[off] & 0x7F) << 24 | (uint32_t)mac[off + 1] << 16 |
	    (uint32_t)mac[off + 2] << 8 | mac[off + 3];
	*code = bin % mod[digits - PCARD_HOTP_DIGITS_MIN];
	err = PCARD_OK;
out:
	pcard_wipe(mac, sizeof mac);
	return err;
}
