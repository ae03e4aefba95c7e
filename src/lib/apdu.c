/*
 * apdu.c: ISO/IEC 7816-4 (5.1) command and response APDUs, and command chaining (5.1.1).
 *
 * The four cases, by total length n and the byte after the header:
 *
 *   case 1   CLA INS P1 P2                                      n = 4
 *   case 2S  CLA INS P1 P2 Le                                   n = 5
 *   case 3S  CLA INS P1 P2 Lc(1..FF) data[Lc]                   n = 5 + Lc
 *   case 4S  CLA INS P1 P2 Lc(1..FF) data[Lc] Le                n = 6 + Lc
 *   case 2E  CLA INS P1 P2 00 Le(2)                             n = 7
 *   case 3E  CLA INS P1 P2 00 Lc(2, 0001..FFFF) data[Lc]        n = 7 + Lc
 *   case 4E  CLA INS P1 P2 00 Lc(2, 0001..FFFF) data[Lc] Le(2)  n = 9 + Lc
 *
 * Short Le 00 means 256, extended Le 0000 means 65536. Every other length is malformed, so a
 * parsed APDU re-encodes to exactly its input (pcard_apdu_encode with a->extended kept).
 */
#include <string.h>

#include "postcard/apdu.h"
#include "postcard/apdu_chain.h"
#include "postcard/bytes.h"

pcard_err
pcard_apdu_parse(const uint8_t *buf, size_t n, pcard_apdu *a)
{
	pcard_rd r;
	uint8_t hdr[4], b;
	uint16_t w;
	const uint8_t *data = NULL;
	size_t lc = 0, le = 0;
	int has_le = 0, ext = 0;
	pcard_err err = PCARD_E_INTERNAL;

	if (a == NULL || (buf == NULL && n > 0))
		return PCARD_E_INVALID_ARG;
	pcard_rd_init(&r, buf, n);
	if ((err = pcard_rd_copy(&r, 4, hdr)) != PCARD_OK)
		goto out;
	if (pcard_rd_left(&r) == 0)
		goto done;				/* case 1 */
	if ((err = pcard_rd_u8(&r, &b)) != PCARD_OK)
		goto out;
	if (pcard_rd_left(&r) == 0) {			/* case 2S */
		has_le = 1;
		le = b == 0 ? 256 : b;
		goto done;
	}
	if (b != 0) {					/* case 3S / 4S */
		lc = b;
		if ((err = pcard_rd_view(&r, lc, &data)) != PCARD_OK)
			goto out;
		if (pcard_rd_left(&r) == 1) {
			if ((err = pcard_rd_u8(&r, &b)) != PCARD_OK)
				goto out;
			has_le = 1;
			le = b == 0 ? 256 : b;
		}
		if (pcard_rd_left(&r) != 0) {
			err = PCARD_E_BAD_ENCODING;
			goto out;
		}
		goto done;
	}
	/* 00 then at least one byte: extended, unless it is a short Lc 00 (malformed). */
	ext = 1;
	if (pcard_rd_left(&r) < 2) {
		err = PCARD_E_BAD_ENCODING;
		goto out;
	}
	if ((err = pcard_rd_u16(&r, &w)) != PCARD_OK)
		goto out;
	if (pcard_rd_left(&r) == 0) {			/* case 2E */
		has_le = 1;
		le = w == 0 ? 65536 : w;
		goto done;
	}
	if (w == 0) {
		err = PCARD_E_BAD_ENCODING;		/* extended Lc 0000 followed by bytes */
		goto out;
	}
	lc = w;						/* case 3E / 4E */
	if ((err = pcard_rd_view(&r, lc, &data)) != PCARD_OK)
		goto out;
	if (pcard_rd_left(&r) == 2) {
		if ((err = pcard_rd_u16(&r, &w)) != PCARD_OK)
			goto out;
		has_le = 1;
		le = w == 0 ? 65536 : w;
	}
	if (pcard_rd_left(&r) != 0) {
		err = PCARD_E_BAD_ENCODING;		/* 1-byte Le after an extended Lc, or junk */
		goto out;
	}
done:
	a->cla = hdr[0];
	a->ins = hdr[1];
	a->p1 = hdr[2];
	a->p2 = hdr[3];
	a->data = lc > 0 ? data : NULL;
	a->lc = lc;
	a->le = le;
	a->has_le = has_le;
	a->extended = ext;
	err = PCARD_OK;
out:
	return err;
}

static pcard_err
check_cmd(const pcard_apdu *a)
{
	if (a == NULL || a->lc > PCARD_APDU_EXT_MAX || (a->lc > 0 && a->data == NULL))
		return PCARD_E_INVALID_ARG;
	if (a->has_le && (a->le == 0 || a->le > 65536))
		return PCARD_E_INVALID_ARG;
	return PCARD_OK;
}

pcard_err
pcard_apdu_encode(const pcard_apdu *a, uint8_t *out, size_t out_cap, size_t *out_len)
{
	pcard_wr w;
	int ext;
	pcard_err err = PCARD_E_INTERNAL;

	if ((err = check_cmd(a)) != PCARD_OK || out_len == NULL) {
		err = PCARD_E_INVALID_ARG;
		goto out;
	}
	ext = a->extended || a->lc > PCARD_APDU_SHORT_MAX || (a->has_le && a->le > 256);
	pcard_wr_init(&w, out, out_cap);
	pcard_wr_u8(&w, a->cla);
	pcard_wr_u8(&w, a->ins);
	pcard_wr_u8(&w, a->p1);
	pcard_wr_u8(&w, a->p2);
	if (!ext) {
		if (a->lc > 0) {
			pcard_wr_u8(&w, (uint8_t)a->lc);
			pcard_wr_bytes(&w, a->data, a->lc);
		}
		if (a->has_le)
			pcard_wr_u8(&w, (uint8_t)(a->le & 0xFF));	/* 256 -> 00 */
	} else if (a->lc > 0 || a->has_le) {
		/* A case 1 command has no length field to extend: it stays 4 bytes. */
		pcard_wr_u8(&w, 0x00);
		if (a->lc > 0) {
			pcard_wr_u16(&w, (uint16_t)a->lc);
			pcard_wr_bytes(&w, a->data, a->lc);
		}
		if (a->has_le)
			pcard_wr_u16(&w, (uint16_t)(a->le & 0xFFFF));	/* 65536 -> 0000 */
	}
	err = pcard_wr_finish(&w, out_len);
out:
	return err;
}

pcard_err
pcard_rapdu_parse(const uint8_t *buf, size_t n, pcard_rapdu *r)
{
	pcard_rd rd;
	const uint8_t *data;
	uint16_t sw;
	pcard_err err = PCARD_E_INTERNAL;

	if (r == NULL || (buf == NULL && n > 0))
		return PCARD_E_INVALID_ARG;
	if (n < 2) {
		err = PCARD_E_TRUNCATED;
		goto out;
	}
	pcard_rd_init(&rd, buf, n);
	if ((err = pcard_rd_view(&rd, n - 2, &data)) != PCARD_OK ||
	    (err = pcard_rd_u16(&rd, &sw)) != PCARD_OK)
		goto out;
	r->data = n > 2 ? data : NULL;
	r->len = n - 2;
	r->sw = sw;
	err = PCARD_OK;
out:
	return err;
}

int
pcard_sw_is_success(uint16_t sw)
{
	return sw == PCARD_SW_OK || (sw & 0xFF00) == 0x6100;
}

int
pcard_sw_is_warning(uint16_t sw)
{
	return (sw & 0xFF00) == 0x6200 || (sw & 0xFF00) == 0x6300;
}

pcard_err
pcard_apdu_chain_count(const pcard_apdu *a, size_t block, size_t *count)
{
	if (a == NULL || count == NULL || block == 0 || block > PCARD_APDU_SHORT_MAX)
		return PCARD_E_INVALID_ARG;
	*count = a->lc == 0 ? 1 : (a->lc + block - 1) / block;
	return PCARD_OK;
}

pcard_err
pcard_apdu_chain_piece(const pcard_apdu *a, size_t block, size_t index, uint8_t *out,
    size_t out_cap, size_t *out_len)
{
	pcard_apdu piece;
	size_t count, off;
	pcard_err err = PCARD_E_INTERNAL;

	if ((err = check_cmd(a)) != PCARD_OK ||
	    (err = pcard_apdu_chain_count(a, block, &count)) != PCARD_OK)
		goto out;
	if (index >= count || (a->cla & PCARD_APDU_CLA_CHAIN) != 0 ||
	    (a->has_le && a->le > 256)) {
		err = PCARD_E_INVALID_ARG;
		goto out;
	}
	memset(&piece, 0, sizeof piece);
	off = index * block;
	piece.cla = a->cla;
	piece.ins = a->ins;
	piece.p1 = a->p1;
	piece.p2 = a->p2;
	piece.lc = a->lc - off < block ? a->lc - off : block;
	piece.data = piece.lc > 0 ? a->data + off : NULL;
	if (index + 1 < count) {
		piece.cla |= PCARD_APDU_CLA_CHAIN;
	} else {
		piece.has_le = a->has_le;
		piece.le = a->le;
	}
	err = pcard_apdu_encode(&piece, out, out_cap, out_len);
out:
	return err;
}
