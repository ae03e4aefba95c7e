/*
 * keys_int.h: internals shared by the key providers (keys_mem.c here, src/hsm/hsm_keys.c),
 * so that every provider computes the same KDF and refuses the same requests with the same
 * errors. Not for users of keys.h.
 */
#ifndef POSTCARD_KEYS_INT_H
#define POSTCARD_KEYS_INT_H

#include <stddef.h>
#include <stdint.h>

#include "postcard/keys.h"

#define PCARD_KEYS_KDF_DATA_MAX 256	/* longest PRF input of a counter-position KDF */

/* One AES-CMAC of msg under the key a provider put behind ctx. */
typedef pcard_err (*pcard_keys_cmac_fn)(void *ctx, const uint8_t *msg, size_t n,
    uint8_t out[16]);

/*
 * Whether a counter-position KDF request is well formed: 1 to PCARD_KEYS_KDF_DATA_MAX bytes
 * of data, the counter inside them, 1 to 255 blocks of 16 bytes of output.
 */
int pcard_keys_kdf_args_ok(size_t n, size_t ctr_pos, size_t out_len);

/*
 * SP 800-108 counter-mode KDF with AES-CMAC as PRF (keys.h, PCARD_DERIVE_AES_KDF and
 * kdf_data): block i is cmac(ctx, data with the one-byte counter i at data[ctr_pos]); out gets
 * the first out_len bytes of block 1 || block 2 ...
 * @retval PCARD_E_INVALID_ARG pcard_keys_kdf_args_ok refuses the request (out untouched)
 * Any error of cmac is returned with out wiped.
 */
pcard_err pcard_keys_kdf_ctr(pcard_keys_cmac_fn cmac, void *ctx, const uint8_t *data, size_t n,
    size_t ctr_pos, uint8_t *out, size_t out_len);

/*
 * The checks of a MAC request (pcard_keys_mac) that every provider makes, in this order, given
 * the type and length of the key the handle names (PCARD_KEY_NONE and 0 when it names none).
 * On success *mac_len is the MAC's length: 16 for AES-CMAC, 8 for the DES MACs.
 * @retval PCARD_E_UNSUPPORTED alg is none of pcard_mac_alg
 * @retval PCARD_E_KEY no key, or not one alg takes (AES for AES-CMAC, 3DES for the DES MACs,
 *         double length for the retail MAC)
 * @retval PCARD_E_INVALID_ARG an ICV for AES-CMAC
 * @retval PCARD_E_NOSPACE out_cap is below the MAC's length
 */
pcard_err pcard_keys_mac_check(pcard_mac_alg alg, pcard_keytype type, size_t key_len,
    const uint8_t *icv, size_t out_cap, size_t *mac_len);

/*
 * The checks of a wrap request (pcard_keys_wrap) that every provider makes, in this order,
 * given the types of the keys kek and key name (PCARD_KEY_NONE when none) and key's length.
 * PUT KEY key data (CS 11.8, AmdD 7.2): AES-CBC takes an AES KEK and key, 3DES-ECB 3DES ones;
 * on success *len is the key data's length: the key's, an AES-192 key's padded to 32.
 * @retval PCARD_E_UNSUPPORTED alg is neither PCARD_CIPHER_AES_CBC nor PCARD_CIPHER_DES3_ECB
 * @retval PCARD_E_KEY a key is missing or not of the type alg takes
 * @retval PCARD_E_NOSPACE out_cap is below *len
 */
pcard_err pcard_keys_wrap_check(pcard_cipher_alg alg, pcard_keytype kek_type,
    pcard_keytype key_type, size_t key_len, size_t out_cap, size_t *len);

#endif
