/*
 * putkey.h: the data field of PUT KEY (GP CS 11.8, Amendment D 7.2; gp-facts 3.13) and the
 * check of the card's answer.
 *
 * Data field = new KVN(1) || key data field per key. A key data field is one or more
 * components, then the KCV:
 *
 *   +------+-----+-----------------+   +--------+-----------+
 *   | type | len | component value |...| kcvlen | KCV       |
 *   +------+-----+-----------------+   +--------+-----------+
 *     1      1-3   len bytes             1        kcvlen (0 or 3)
 *
 *   DES (SCP02)  80 10 <16: 3DES-ECB(session DEK, key)>             03 <KCV>
 *   AES (SCP03)  88 <n+1> <clear key len> <n: AES-CBC(static DEK, ICV 0, key [|| 00 x 8])>
 *                                                                  03 <KCV>
 *   RSA public   A1 <len> <modulus N>  A0 <len> <public exponent e>  00
 *   EC public    B0 <len> <04 || X || Y>  F0 01 <curve: 00 P-256, 01 P-384, 02 P-521>  00
 *
 * A component length below 128 is one byte; longer ones use the BER forms 81 xx and 82 xx xx
 * (a 2048-bit modulus is A1 82 01 00 ...). GlobalPlatformPro writes a single byte instead,
 * which cannot express 256; cards that expect that form get 81 xx for 128..255 here.
 * KCVs: AES = AES(key, 01 x 16)[0..2], DES = 3DES(key, 00 x 8)[0..2].
 *
 * The response (CS 11.8.3) is KVN || the KCV of each secret key, in order; public keys add no
 * KCV. Secret keys are only ever handled through the key provider (wrap and kcv): this module
 * never sees key bytes. AES keys are sent under an AES DEK and DES keys under a 3DES DEK;
 * mixing (a DES key under an AES DEK) is refused.
 */
#ifndef POSTCARD_PUTKEY_H
#define POSTCARD_PUTKEY_H

#include <stddef.h>
#include <stdint.h>

#include "postcard/bytes.h"
#include "postcard/crypto.h"
#include "postcard/err.h"
#include "postcard/keys.h"

#define PCARD_PUTKEY_TYPE_DES 0x80
#define PCARD_PUTKEY_TYPE_AES 0x88
#define PCARD_PUTKEY_TYPE_RSA_E 0xA0
#define PCARD_PUTKEY_TYPE_RSA_N 0xA1
#define PCARD_PUTKEY_TYPE_EC_PUB 0xB0
#define PCARD_PUTKEY_TYPE_EC_PARAM 0xF0

#define PCARD_PUTKEY_MAX_KEYS 3		/* keys in one PUT KEY (ENC, MAC, DEK) */
#define PCARD_PUTKEY_MAX_COMPONENTS 4
/* Biggest secret key data field: 88 21 20 <32> 03 <3> */
#define PCARD_PUTKEY_SYM_BLOCK_MAX (2 + 1 + 32 + 1 + PCARD_KCV_BYTES)

/* What the card must answer: KVN || KCVs of the secret keys, in order. */
typedef struct pcard_putkey_expect {
	uint8_t kvn;
	size_t nkcv;
	uint8_t kcv[PCARD_PUTKEY_MAX_KEYS][PCARD_KCV_BYTES];
} pcard_putkey_expect;

/*
 * The key data field of secret key `key`, encrypted under `dek` (3DES DEK: DES block with
 * 3DES-ECB, key must be a 16-byte 3DES key; AES DEK: AES block with AES-CBC ICV 0), with its
 * KCV copied to kcv when kcv is not NULL.
 * @retval PCARD_E_UNSUPPORTED a DES key under an AES DEK, an AES key under a 3DES DEK, a
 *         24-byte 3DES key (no GP block carries one)
 * @retval PCARD_E_KEY a handle the provider does not know, or not a secret key
 * @retval PCARD_E_NOSPACE out_cap too small (PCARD_PUTKEY_SYM_BLOCK_MAX always fits)
 */
pcard_err pcard_putkey_sym_block(pcard_keys *keys, pcard_keyh dek, pcard_keyh key,
    uint8_t *out, size_t out_cap, size_t *out_len, uint8_t kcv[PCARD_KCV_BYTES]);

/* RSA public key data field from modulus and exponent (big-endian, leading zeros stripped). */
pcard_err pcard_putkey_rsa_block(const uint8_t *n, size_t n_len, const uint8_t *e, size_t e_len,
    uint8_t *out, size_t out_cap, size_t *out_len);
/* EC public key data field; curve "P-256", "P-384" or "P-521"; pt = 04 || X || Y. */
pcard_err pcard_putkey_ec_block(const char *curve, const uint8_t *pt, size_t pt_len,
    uint8_t *out, size_t out_cap, size_t *out_len);

/*
 * Whole data field for a key set: new_kvn || block(set[0]) || block(set[1]) || block(set[2])
 * (ENC, MAC, DEK; send with P2 = 81), all under dek. exp receives the expected response.
 */
pcard_err pcard_putkey_set(pcard_keys *keys, pcard_keyh dek, uint8_t new_kvn,
    const pcard_keyh set[3], uint8_t *out, size_t out_cap, size_t *out_len,
    pcard_putkey_expect *exp);
/* Whole data field for one secret key: new_kvn || block(key). */
pcard_err pcard_putkey_single(pcard_keys *keys, pcard_keyh dek, uint8_t new_kvn,
    pcard_keyh key, uint8_t *out, size_t out_cap, size_t *out_len, pcard_putkey_expect *exp);
/* Whole data field for one public key (RSA or EC): new_kvn || block; the answer is KVN only. */
pcard_err pcard_putkey_public(uint8_t new_kvn, const pcard_pkey *pk, uint8_t *out,
    size_t out_cap, size_t *out_len, pcard_putkey_expect *exp);

/*
 * Check the card's PUT KEY response data (SW already removed) against exp: KVN and every KCV,
 * compared in constant time.
 * @retval PCARD_E_TRUNCATED / PCARD_E_TRAILING_DATA the response is shorter / longer
 * @retval PCARD_E_VERIFY the KVN or a KCV differs: the card holds other keys than intended
 */
pcard_err pcard_putkey_check_response(const pcard_putkey_expect *exp, const uint8_t *resp,
    size_t n);

/* One parsed key data field (card side). Views are borrowed from the reader's bytes. */
typedef struct pcard_putkey_key {
	size_t ncomp;
	struct {
		uint8_t type;
		const uint8_t *val;
		size_t len;
	} comp[PCARD_PUTKEY_MAX_COMPONENTS];
	const uint8_t *kcv;	/* NULL when kcv_len is 0 */
	size_t kcv_len;
} pcard_putkey_key;

/*
 * Read one key data field from r: components (type byte >= 0x80, length, value) until a byte
 * below 0x80, which is the KCV length (0 or 3), then the KCV. r moves past it on success and
 * is unchanged on failure.
 * @retval PCARD_E_TRUNCATED input ends inside the field
 * @retval PCARD_E_BAD_ENCODING no component, more than PCARD_PUTKEY_MAX_COMPONENTS, a length
 *         form other than 1 byte / 81 xx / 82 xx xx (or not minimal), a KCV length not 0 or 3,
 *         an 80 component not 16 bytes, an 88 component whose clear length does not fit
 */
pcard_err pcard_putkey_parse_key(pcard_rd *r, pcard_putkey_key *out);

#endif
