/*
 * fuzz_putkey.c: the card-side PUT KEY data field parser (pcard_putkey_parse_key) on
 * arbitrary bytes, read as KVN || key data fields.
 * Consistency checked (abort on violation):
 *  - a failed parse leaves the reader unchanged;
 *  - a successful parse consumes exactly the bytes that re-encoding the parsed field gives
 *    (type, minimal length form, value per component, then KCV length and KCV);
 *  - the response check never accepts a response of the wrong length.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "postcard/bytes.h"
#include "postcard/putkey.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_reencode(const uint8_t *start, size_t used, const pcard_putkey_key *k)
{
	static uint8_t buf[4 * (4 + 0xFFFF) + 8];
	pcard_wr w;
	size_t i, n;

	pcard_wr_init(&w, buf, sizeof buf);
	for (i = 0; i < k->ncomp; i++) {
		pcard_wr_u8(&w, k->comp[i].type);
		pcard_wr_ber_len(&w, k->comp[i].len);
		pcard_wr_bytes(&w, k->comp[i].val, k->comp[i].len);
	}
	pcard_wr_u8(&w, (uint8_t)k->kcv_len);
	if (k->kcv_len > 0)
		pcard_wr_bytes(&w, k->kcv, k->kcv_len);
	if (pcard_wr_finish(&w, &n) != PCARD_OK || n != used || memcmp(buf, start, n) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pcard_putkey_expect exp;
	pcard_putkey_key k;
	pcard_rd r;
	uint8_t kvn;

	pcard_rd_init(&r, data, size);
	if (pcard_rd_u8(&r, &kvn) != PCARD_OK)
		return 0;
	for (;;) {
		const uint8_t *start = pcard_rd_ptr(&r);
		size_t before = pcard_rd_left(&r);
		pcard_err err = pcard_putkey_parse_key(&r, &k);

		if (err != PCARD_OK) {
			if (pcard_rd_left(&r) != before || pcard_rd_ptr(&r) != start)
				abort();
			break;
		}
		check_reencode(start, before - pcard_rd_left(&r), &k);
	}

	/* the response check: data[0] as KVN, up to three KCVs from the rest */
	memset(&exp, 0, sizeof exp);
	exp.kvn = kvn;
	exp.nkcv = size % 4;
	if (pcard_putkey_check_response(&exp, data, size) == PCARD_OK &&
	    size != 1 + exp.nkcv * 3)
		abort();
	return 0;
}
