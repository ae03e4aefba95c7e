/*
 * keydiv.h: card-key diversification (gp-facts 3.3b) over the key provider.
 *
 * A card's static keys are derived from a master key and the card's key diversification data
 * (KDD, the first 10 bytes of the INITIALIZE UPDATE response). This module only builds the
 * derivation data and asks the provider to derive: it never sees key bytes.
 *
 * Templates. A template is a name or a string of tokens (spaces ignored):
 *   HH   a literal byte, two hex digits           $0..$9  byte i of the KDD
 *   $k   the key number (01 ENC, 02 MAC, 03 DEK)  $_      the KDF counter byte (see below)
 * Without $_ the template is a 3DES diversification: card key = 3DES-ECB(master, data), data
 * 16 or 24 bytes, master a 3DES key (PCARD_DERIVE_DES3_ECB). With exactly one $_ it is an AES
 * KDF: card key = SP 800-108 counter-mode AES-CMAC under the master with the counter (01, 02..)
 * at the $_ position, output as long as the master (PCARD_DERIVE_AES_KDF), master an AES key.
 *
 * The built-in names are these strings (GlobalPlatformPro's templates):
 *   emv    "$4$5$6$7$8$9 F0 $k $4$5$6$7$8$9 0F $k"
 *   visa2  "$0$1$4$5$6$7 F0 $k $0$1$4$5$6$7 0F $k"
 *   visa   "$0$1$2$3$8$9 F0 $k $0$1$2$3$8$9 0F $k"
 *   kdf3   "$_ 000000 $k 00 $0$1$2$3$4$5$6$7$8$9"
 *   none   no diversification: the card key is the master key itself.
 *
 * Ownership: pcard_keydiv_derive hands back a new key the caller owns, EXCEPT with "none",
 * where it hands back the master handle itself. Always let pcard_keydiv_release drop a card
 * key: it releases it unless it is the master.
 */
#ifndef POSTCARD_KEYDIV_H
#define POSTCARD_KEYDIV_H

#include <stddef.h>
#include <stdint.h>

#include "postcard/err.h"
#include "postcard/keys.h"

#define PCARD_KEYDIV_KDD_BYTES 10
#define PCARD_KEYDIV_MAX_DATA 64	/* longest derivation data a template may build */
#define PCARD_KEYDIV_NAME_MAX 16

typedef enum pcard_keydiv_kind {
	PCARD_KEYDIV_NONE = 0,	/* card key = master key */
	PCARD_KEYDIV_DES3_ECB,	/* 3DES-ECB of 16 or 24 bytes of data under a 3DES master */
	PCARD_KEYDIV_AES_KDF,	/* AES-CMAC counter KDF, counter at counter_pos */
} pcard_keydiv_kind;

/* A parsed template; plain data, no ownership (fields read-only for callers). */
typedef struct pcard_keydiv {
	pcard_keydiv_kind kind;
	char name[PCARD_KEYDIV_NAME_MAX];	/* "emv", ... or "custom" */
	size_t len;				/* bytes of derivation data */
	size_t counter_pos;			/* AES_KDF only */
	uint8_t src[PCARD_KEYDIV_MAX_DATA];	/* private: where each byte comes from */
	uint8_t lit[PCARD_KEYDIV_MAX_DATA];	/* private: literal values */
} pcard_keydiv;

/*
 * Parse a built-in name (case-insensitive) or a template string into *out.
 * @retval PCARD_E_BAD_ENCODING unknown name, bad token, odd hex, $_ twice, a 3DES template
 *         whose data is not 16 or 24 bytes, an empty or over-long template
 */
pcard_err pcard_keydiv_parse(const char *name_or_template, pcard_keydiv *out);

/*
 * The derivation data of key number keyno for this KDD (the counter byte, if any, written as
 * 00; the provider sets it). Exposed for tests and for HSM providers that log what they derive.
 * @retval PCARD_E_INVALID_ARG keyno not 1..3; PCARD_E_NOSPACE out_cap too small
 */
pcard_err pcard_keydiv_data(const pcard_keydiv *t, const uint8_t kdd[PCARD_KEYDIV_KDD_BYTES],
    uint8_t keyno, uint8_t *out, size_t out_cap, size_t *out_len);

/*
 * Derive card key number keyno (1 ENC, 2 MAC, 3 DEK) from master with the KDD.
 * *out is a new handle owned by the caller, or master itself for "none" (see the ownership
 * note above; drop it with pcard_keydiv_release).
 * @retval PCARD_E_KEY master of the wrong type for the template (or unknown to the provider)
 * @retval PCARD_E_INVALID_ARG keyno not 1..3, NULL pointers
 */
pcard_err pcard_keydiv_derive(pcard_keys *keys, pcard_keyh master, const pcard_keydiv *t,
    const uint8_t kdd[PCARD_KEYDIV_KDD_BYTES], uint8_t keyno, pcard_keyh *out);

/*
 * Derive the three card keys ENC, MAC, DEK (key numbers 1, 2, 3) from masters[0..2] (which
 * may all be the same handle). On failure nothing is left to release and out[] is NONE.
 */
pcard_err pcard_keydiv_derive_set(pcard_keys *keys, const pcard_keyh masters[3],
    const pcard_keydiv *t, const uint8_t kdd[PCARD_KEYDIV_KDD_BYTES], pcard_keyh out[3]);

/* Release card_key unless it is master (the "none" template); NONE is ignored. */
void pcard_keydiv_release(pcard_keys *keys, pcard_keyh master, pcard_keyh card_key);

/* Release a set from pcard_keydiv_derive_set and set the handles to NONE. */
void pcard_keydiv_release_set(pcard_keys *keys, const pcard_keyh masters[3], pcard_keyh set[3]);

#endif
