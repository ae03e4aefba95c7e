/*
 * apdu.h: ISO/IEC 7816-4 command and response APDUs (cases 1 to 4, short and extended).
 *
 * Short:    CLA INS P1 P2 [Lc(1) data] [Le(1)]            Le 00 means 256
 * Extended: CLA INS P1 P2 00 [Lc(2) data] [Le(2)]          (without data: 00 Le(2));
 *           Le 0000 means 65536
 */
#ifndef POSTCARD_APDU_H
#define POSTCARD_APDU_H

#include <stddef.h>
#include <stdint.h>

#include "postcard/err.h"

#define PCARD_APDU_SHORT_MAX 255	/* largest Lc of a short APDU */
#define PCARD_APDU_EXT_MAX 65535	/* largest Lc of an extended APDU */
#define PCARD_APDU_MAX_BYTES (7 + 65535 + 3)

typedef struct pcard_apdu {
	uint8_t cla, ins, p1, p2;
	const uint8_t *data;	/* borrowed; NULL when lc is 0 */
	size_t lc;		/* 0 to 65535 */
	size_t le;		/* expected response length when has_le: 1 to 65536 */
	int has_le;
	int extended;		/* parse: the encoding was extended; encode: force extended */
} pcard_apdu;

/*
 * Parse a command APDU; a->data borrows from buf.
 * @retval PCARD_E_TRUNCATED shorter than 4 bytes, or Lc announces more than follows
 * @retval PCARD_E_BAD_ENCODING lengths inconsistent with every case (e.g. Lc 00 in short form
 *         followed by data, extended Lc with a 1-byte Le)
 */
pcard_err pcard_apdu_parse(const uint8_t *buf, size_t n, pcard_apdu *a);

/*
 * Encode a command APDU: short form when lc <= 255 and le <= 256 and extended is 0, else
 * extended. @retval PCARD_E_INVALID_ARG lc > 65535, le 0 with has_le, or le > 65536
 */
pcard_err pcard_apdu_encode(const pcard_apdu *a, uint8_t *out, size_t out_cap, size_t *out_len);

/* Response: data then SW1 SW2. data borrows from buf. PCARD_E_TRUNCATED under 2 bytes. */
typedef struct pcard_rapdu {
	const uint8_t *data;
	size_t len;
	uint16_t sw;
} pcard_rapdu;

pcard_err pcard_rapdu_parse(const uint8_t *buf, size_t n, pcard_rapdu *r);

/* SW helpers */
#define PCARD_SW_OK 0x9000
int pcard_sw_is_success(uint16_t sw);	/* 9000, 61xx */
int pcard_sw_is_warning(uint16_t sw);	/* 62xx, 63xx */

#endif
