/*
 * fuzz_tlv.c: BER-TLV reader, validator, finders and printer on arbitrary bytes.
 * Consistency checked (abort on violation):
 *  - every object read re-encodes (pcard_tlv_put) to bytes that read back to the same tag
 *    and value, and to exactly the input bytes when the input used the minimal length form;
 *  - pcard_tlv_next leaves the reader unchanged on failure;
 *  - the printer's reported length matches strlen of its output when it fits.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "postcard/bytes.h"
#include "postcard/tlv.h"

static void
check_object(const uint8_t *start, size_t used, uint32_t tag, pcard_rd val)
{
	uint8_t buf[4 + 4 + 256];
	const uint8_t *v;
	size_t vlen = pcard_rd_left(&val), n;
	pcard_wr w;
	pcard_rd r, v2;
	uint32_t t2;

	if (vlen > 256)
		return;
	if (pcard_rd_view(&val, vlen, &v) != PCARD_OK)
		abort();
	pcard_wr_init(&w, buf, sizeof buf);
	pcard_tlv_put(&w, tag, v, vlen);
	if (pcard_wr_finish(&w, &n) != PCARD_OK)
		abort();
	pcard_rd_init(&r, buf, n);
	if (pcard_tlv_next(&r, &t2, &v2) != PCARD_OK || t2 != tag ||
	    pcard_rd_left(&v2) != vlen || pcard_rd_left(&r) != 0 ||
	    (vlen > 0 && memcmp(pcard_rd_ptr(&v2), v, vlen) != 0))
		abort();
	if (n == used && memcmp(buf, start, n) != 0)
		abort();	/* same size means same (minimal) form: must be the same bytes */
}

static void
walk(pcard_rd r, unsigned depth)
{
	while (pcard_rd_left(&r) > 0) {
		pcard_rd before = r, val;
		uint32_t tag;
		const uint8_t *start = pcard_rd_ptr(&r);

		if (pcard_tlv_next(&r, &tag, &val) != PCARD_OK) {
			if (pcard_rd_left(&r) != pcard_rd_left(&before) ||
			    pcard_rd_ptr(&r) != pcard_rd_ptr(&before))
				abort();
			pcard_tlv_skip_padding(&r);
			if (pcard_rd_left(&r) == pcard_rd_left(&before))
				return;
			continue;
		}
		check_object(start, pcard_rd_left(&before) - pcard_rd_left(&r), tag, val);
		if (pcard_tlv_is_constructed(tag) && depth < PCARD_TLV_MAX_DEPTH)
			walk(val, depth + 1);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t paths[][3] = {
		{ 0x6F, 0xA5, 0x9F65 }, { 0x66, 0x73, 0x06 }, { 0xE3, 0x4F, 0 }, { 0xE0, 0xC0, 0 },
	};
	char text[2048];
	size_t len = 0;
	pcard_rd r, v;
	pcard_err err;

	pcard_rd_init(&r, data, size);
	walk(r, 0);
	(void)pcard_tlv_validate(&r);
	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
		size_t n = paths[i][2] == 0 ? 2 : 3;

		if (pcard_tlv_find_path(&r, paths[i], n, &v) == PCARD_OK &&
		    (pcard_rd_ptr(&v) < data || pcard_rd_left(&v) > size))
			abort();
	}
	err = pcard_tlv_print(data, size, 0, text, sizeof text, &len);
	if (err != PCARD_E_NOSPACE && strlen(text) != len)
		abort();
	if (err == PCARD_E_NOSPACE && (len < sizeof text || strlen(text) != sizeof text - 1))
		abort();
	return 0;
}
