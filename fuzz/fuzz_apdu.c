/*
 * fuzz_apdu.c: command and response APDU parsing on arbitrary bytes.
 * Consistency checked (abort on violation):
 *  - a command that parses re-encodes (same extended flag) to exactly the input (the parser
 *    accepts canonical encodings only);
 *  - the fields are within the documented ranges;
 *  - command chaining of a parsed short-Le command reassembles to the same data;
 *  - a response that parses has len + 2 == size and the SW of the last two bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "postcard/apdu.h"
#include "postcard/apdu_chain.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_chain(const pcard_apdu *a, size_t block)
{
	static uint8_t piece[4 + 1 + 255 + 1];
	size_t count, n, off = 0;
	pcard_apdu p;

	if (pcard_apdu_chain_count(a, block, &count) != PCARD_OK)
		abort();
	for (size_t i = 0; i < count; i++) {
		if (pcard_apdu_chain_piece(a, block, i, piece, sizeof piece, &n) != PCARD_OK ||
		    pcard_apdu_parse(piece, n, &p) != PCARD_OK || p.extended ||
		    p.ins != a->ins || p.p1 != a->p1 || p.p2 != a->p2 ||
		    ((p.cla & PCARD_APDU_CLA_CHAIN) != 0) != (i + 1 < count) ||
		    p.has_le != (i + 1 == count && a->has_le) || off + p.lc > a->lc ||
		    (p.lc > 0 && memcmp(p.data, a->data + off, p.lc) != 0))
			abort();
		off += p.lc;
	}
	if (off != a->lc)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[PCARD_APDU_MAX_BYTES];
	pcard_apdu a;
	pcard_rapdu r;
	size_t n;

	if (pcard_apdu_parse(data, size, &a) == PCARD_OK) {
		if (a.lc > PCARD_APDU_EXT_MAX || (a.has_le && (a.le < 1 || a.le > 65536)) ||
		    (!a.extended && (a.lc > 255 || a.le > 256)) || (a.lc == 0) != (a.data == NULL))
			abort();
		if (pcard_apdu_encode(&a, out, sizeof out, &n) != PCARD_OK || n != size ||
		    memcmp(out, data, size) != 0)
			abort();
		if ((a.cla & PCARD_APDU_CLA_CHAIN) == 0 && (!a.has_le || a.le <= 256))
			check_chain(&a, 1 + (size > 0 ? data[size - 1] % 255 : 0));
	}
	if (pcard_rapdu_parse(data, size, &r) == PCARD_OK) {
		if (r.len + 2 != size || r.sw != (uint16_t)(data[size - 2] << 8 | data[size - 1]))
			abort();
	} else if (size >= 2) {
		abort();
	}
	(void)pcard_sw_is_success(size >= 2 ? (uint16_t)(data[0] << 8 | data[1]) : 0);
	return 0;
}
