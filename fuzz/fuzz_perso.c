/*
 * fuzz_perso.c: the perso-file parser (pcard_gpc_perso_parse, gpclient_perso.c) on arbitrary
 * text. Consistency checked (abort on violation):
 *  - success: 1..rcap records, bad_line 0; each record non-empty, inside buf, after the one
 *    before it (no overlap), of a known format, enc 0 or 1; tlv records are whole BER-TLV,
 *    dgi records exactly one DGI (tag, 1- or 3-byte length, value);
 *  - printing the records back as a perso file and parsing that gives the same records;
 *  - failure: no records, an error the header documents, bad_line within the text's lines;
 *  - the same text with smaller buffers either fails with PCARD_E_NOSPACE or gives the same
 *    records.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "postcard/bytes.h"
#include "postcard/gp.h"
#include "postcard/gpclient.h"
#include "postcard/tlv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TEXT_MAX 8192
#define RECS 64
#define BUF (TEXT_MAX / 2 + 3 * RECS)

static void
check_dgi(const uint8_t *p, size_t n)
{
	pcard_rd r;
	uint16_t tag, l2 = 0;
	uint8_t l1;
	const uint8_t *v;

	pcard_rd_init(&r, p, n);
	if (pcard_rd_u16(&r, &tag) != PCARD_OK || pcard_rd_u8(&r, &l1) != PCARD_OK ||
	    (l1 == 0xFF && pcard_rd_u16(&r, &l2) != PCARD_OK) ||
	    pcard_rd_view(&r, l1 == 0xFF ? l2 : l1, &v) != PCARD_OK ||
	    pcard_rd_expect_end(&r) != PCARD_OK || (l1 == 0xFF && l2 < 0xFF))
		abort();
}

static void
check_records(const uint8_t *buf, size_t cap, const pcard_gpc_sd_record *r, size_t count)
{
	const uint8_t *end = buf;

	for (size_t i = 0; i < count; i++) {
		if (r[i].len == 0 || r[i].data < end || r[i].data + r[i].len > buf + cap ||
		    (r[i].encrypt != 0 && r[i].encrypt != 1))
			abort();
		end = r[i].data + r[i].len;
		if (r[i].fmt == PCARD_SD_FMT_BER) {
			pcard_rd rd, val;
			uint32_t tag;

			pcard_rd_init(&rd, r[i].data, r[i].len);
			while (pcard_rd_left(&rd) > 0)
				if (pcard_tlv_next(&rd, &tag, &val) != PCARD_OK)
					abort();
		} else if (r[i].fmt == PCARD_SD_FMT_DGI) {
			check_dgi(r[i].data, r[i].len);
		} else if (r[i].fmt != PCARD_SD_FMT_NONE) {
			abort();
		}
	}
}

static int
same(const pcard_gpc_sd_record *a, const pcard_gpc_sd_record *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i].fmt != b[i].fmt || a[i].encrypt != b[i].encrypt || a[i].len != b[i].len ||
		    memcmp(a[i].data, b[i].data, a[i].len) != 0)
			return 0;
	return 1;
}

/* The records as a perso file: dgi records lose the length the parser inserted. */
static size_t
render(const pcard_gpc_sd_record *r, size_t count, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < count; i++) {
		const char *kind = r[i].fmt == PCARD_SD_FMT_BER ? "tlv" :
		    r[i].fmt == PCARD_SD_FMT_DGI ? "dgi" : "raw";
		const uint8_t *p = r[i].data;
		size_t n = r[i].len, k;

		k = (size_t)snprintf(out + o, cap - o, "%s%s ", kind, r[i].encrypt ? " enc" : "");
		o += k;
		for (size_t j = 0; j < n; j++) {
			if (r[i].fmt == PCARD_SD_FMT_DGI && (j == 2 || (p[2] == 0xFF && j < 5 &&
			    j > 2)))
				continue;
			if (o + 3 > cap)
				abort();
			o += (size_t)snprintf(out + o, cap - o, "%02X", p[j]);
		}
		if (o + 2 > cap)
			abort();
		out[o++] = '\n';
	}
	return o;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[BUF], buf2[BUF], buf3[BUF];
	static char text2[4 * BUF + 16 * RECS];
	pcard_gpc_sd_record r[RECS], r2[RECS], r3[RECS];
	size_t count = 99, count2 = 0, count3 = 0, line = 99, line2 = 0, lines = 1, n2;
	size_t cap3, rcap3;
	pcard_err err;

	if (size > TEXT_MAX)
		return 0;
	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';
	err = pcard_gpc_perso_parse(data, size, buf, sizeof buf, r, RECS, &count, &line);
	if (err != PCARD_OK) {
		if ((err != PCARD_E_BAD_ENCODING && err != PCARD_E_NOSPACE) || count != 0 ||
		    line > lines || (line == 0 && size > 0))
			abort();
		return 0;
	}
	if (count == 0 || count > RECS || line != 0)
		abort();
	check_records(buf, sizeof buf, r, count);
	/* round trip through the printed form */
	n2 = render(r, count, text2, sizeof text2);
	if (pcard_gpc_perso_parse((const uint8_t *)text2, n2, buf2, sizeof buf2, r2, RECS,
	    &count2, &line2) != PCARD_OK || count2 != count || !same(r, r2, count))
		abort();
	/* smaller buffers: NOSPACE or the same records */
	cap3 = size > 0 ? data[0] % (sizeof buf3) : 0;
	rcap3 = size > 1 ? data[size - 1] % (RECS + 1) : 0;
	err = pcard_gpc_perso_parse(data, size, cap3 ? buf3 : NULL, cap3, rcap3 ? r3 : NULL,
	    rcap3, &count3, NULL);
	if (err == PCARD_OK ? (count3 != count || !same(r, r3, count)) : err != PCARD_E_NOSPACE)
		abort();
	return 0;
}
