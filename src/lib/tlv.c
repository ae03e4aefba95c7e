/*
 * tlv.c: BER-TLV reader, writer and pretty-printer (ISO/IEC 7816-4 5.2; GP CS 11.1.4).
 *
 *   +---------------+-------------------------------+------------------+
 *   | tag 1-3 oct.  | length: 0x..7F | 81 L | 82 L L | 83 L L L | value |
 *   +---------------+-------------------------------+------------------+
 *   tag octet 1: b8b7 class, b6 constructed, b5-b1 = 11111 -> more tag octets follow
 *   later tag octets: b8 = 1 -> another follows (we stop at 3 octets in all)
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "postcard/tlv.h"

static pcard_err
read_tag(pcard_rd *r, uint32_t *tag)
{
	uint8_t b;
	uint32_t t;
	pcard_err err;

	if ((err = pcard_rd_u8(r, &b)) != PCARD_OK)
		return err;
	if (b == 0x00 || b == 0xFF)
		return PCARD_E_BAD_ENCODING;
	t = b;
	if ((b & 0x1F) != 0x1F) {
		*tag = t;
		return PCARD_OK;
	}
	if ((err = pcard_rd_u8(r, &b)) != PCARD_OK)
		return err;
	/* 80 would be a leading zero group (X.690 8.1.2.4.2). Low values (BF0C, the FCI
	 * proprietary template) are used by ISO 7816-4 itself, so they are accepted. */
	if (b == 0x80)
		return PCARD_E_BAD_ENCODING;
	t = t << 8 | b;
	if ((b & 0x80) != 0) {
		if ((err = pcard_rd_u8(r, &b)) != PCARD_OK)
			return err;
		if ((b & 0x80) != 0)
			return PCARD_E_BAD_ENCODING;	/* a fourth octet would follow */
		t = t << 8 | b;
	}
	*tag = t;
	return PCARD_OK;
}

static pcard_err
read_len(pcard_rd *r, size_t *len)
{
	uint8_t b;
	uint16_t w;
	uint32_t d;
	pcard_err err;

	if ((err = pcard_rd_u8(r, &b)) != PCARD_OK)
		return err;
	if (b < 0x80) {
		*len = b;
		return PCARD_OK;
	}
	switch (b) {
	case 0x81:
		if ((err = pcard_rd_u8(r, &b)) == PCARD_OK)
			*len = b;
		return err;
	case 0x82:
		if ((err = pcard_rd_u16(r, &w)) == PCARD_OK)
			*len = w;
		return err;
	case 0x83:
		if ((err = pcard_rd_u24(r, &d)) == PCARD_OK)
			*len = d;
		return err;
	default:			/* 80 indefinite, 84+ */
		return PCARD_E_BAD_ENCODING;
	}
}

pcard_err
pcard_tlv_next(pcard_rd *r, uint32_t *tag, pcard_rd *val)
{
	pcard_rd cur;
	uint32_t t = 0;
	size_t len = 0;
	pcard_err err = PCARD_E_INTERNAL;

	if (r == NULL || tag == NULL || val == NULL)
		return PCARD_E_INVALID_ARG;
	cur = *r;
	if ((err = read_tag(&cur, &t)) != PCARD_OK ||
	    (err = read_len(&cur, &len)) != PCARD_OK ||
	    (err = pcard_rd_sub(&cur, len, val)) != PCARD_OK)
		goto out;
	*tag = t;
	*r = cur;
	err = PCARD_OK;
out:
	return err;
}

void
pcard_tlv_skip_padding(pcard_rd *r)
{
	pcard_rd cur = *r;
	uint8_t b;

	while (pcard_rd_u8(&cur, &b) == PCARD_OK && (b == 0x00 || b == 0xFF))
		*r = cur;
}

size_t
pcard_tlv_tag_len(uint32_t tag)
{
	if (tag == 0 || tag > 0xFFFFFF)
		return 0;
	if (tag > 0xFFFF)
		return 3;
	if (tag > 0xFF)
		return 2;
	return 1;
}

int
pcard_tlv_is_constructed(uint32_t tag)
{
	size_t n = pcard_tlv_tag_len(tag);

	if (n == 0)
		return 0;
	return ((tag >> (8 * (n - 1))) & 0x20) != 0;
}

pcard_err
pcard_tlv_find(const pcard_rd *r, uint32_t tag, pcard_rd *val)
{
	pcard_rd cur, v;
	uint32_t t;
	pcard_err err;

	if (r == NULL || val == NULL)
		return PCARD_E_INVALID_ARG;
	cur = *r;
	while (pcard_rd_left(&cur) > 0) {
		if ((err = pcard_tlv_next(&cur, &t, &v)) != PCARD_OK)
			return err;
		if (t == tag) {
			*val = v;
			return PCARD_OK;
		}
	}
	return PCARD_E_NOT_FOUND;
}

pcard_err
pcard_tlv_find_path(const pcard_rd *r, const uint32_t *path, size_t n, pcard_rd *val)
{
	pcard_rd cur, v;
	pcard_err err;

	if (r == NULL || path == NULL || n == 0 || val == NULL)
		return PCARD_E_INVALID_ARG;
	cur = *r;
	for (size_t i = 0; i < n; i++) {
		if ((err = pcard_tlv_find(&cur, path[i], &v)) != PCARD_OK)
			return err;
		cur = v;
	}
	*val = cur;
	return PCARD_OK;
}

static pcard_err
validate(const pcard_rd *r, unsigned depth)
{
	pcard_rd cur = *r, v;
	uint32_t t;
	pcard_err err;

	while (pcard_rd_left(&cur) > 0) {
		if ((err = pcard_tlv_next(&cur, &t, &v)) != PCARD_OK)
			return err;
		if (pcard_tlv_is_constructed(t)) {
			if (depth + 1 > PCARD_TLV_MAX_DEPTH)
				return PCARD_E_BAD_ENCODING;
			if ((err = validate(&v, depth + 1)) != PCARD_OK)
				return err;
		}
	}
	return PCARD_OK;
}

pcard_err
pcard_tlv_validate(const pcard_rd *r)
{
	if (r == NULL)
		return PCARD_E_INVALID_ARG;
	return validate(r, 0);
}

/* Make pcard_wr_finish report PCARD_E_INVALID_ARG (the writer's "bad argument" state). */
static void
wr_invalid(pcard_wr *w)
{
	pcard_wr_ber_len(w, SIZE_MAX);
}

void
pcard_tlv_put_tag(pcard_wr *w, uint32_t tag)
{
	size_t n = pcard_tlv_tag_len(tag);

	if (n == 0) {
		wr_invalid(w);
		return;
	}
	for (size_t i = n; i > 0; i--)
		pcard_wr_u8(w, (uint8_t)(tag >> (8 * (i - 1))));
}

void
pcard_tlv_put(pcard_wr *w, uint32_t tag, const void *v, size_t n)
{
	pcard_tlv_put_tag(w, tag);
	pcard_wr_ber_len(w, n);
	pcard_wr_bytes(w, v, n);
}

void
pcard_tlv_put_u8(pcard_wr *w, uint32_t tag, uint8_t v)
{
	pcard_tlv_put(w, tag, &v, 1);
}

void
pcard_tlv_begin(pcard_wr *w, uint32_t tag, pcard_tlv_mark *m)
{
	pcard_tlv_put_tag(w, tag);
	m->len_off = pcard_wr_len(w);
	pcard_wr_u8(w, 0x00);		/* one length octet reserved; end grows it if needed */
}

void
pcard_tlv_end(pcard_wr *w, const pcard_tlv_mark *m)
{
	size_t end = pcard_wr_len(w), len, k;
	uint8_t lenbuf[4], *base;
	pcard_wr lw;

	if (end < m->len_off + 1) {
		wr_invalid(w);		/* mark from another writer, or ended twice */
		return;
	}
	len = end - m->len_off - 1;
	pcard_wr_init(&lw, lenbuf, sizeof lenbuf);
	pcard_wr_ber_len(&lw, len);
	if (pcard_wr_finish(&lw, &k) != PCARD_OK) {
		wr_invalid(w);		/* over 0xFFFFFF */
		return;
	}
	if (k > 1)
		pcard_wr_fill(w, 0x00, k - 1);
	base = pcard_wr_at(w, m->len_off);
	if (base == NULL)
		return;			/* overflowed (or measuring): finish reports it */
	if (k > 1 && len > 0)
		memmove(base + k, base + 1, len);
	memcpy(base, lenbuf, k);
}

/* ---- pretty-printer ---- */

typedef struct textbuf {
	char *p;
	size_t cap, len;
	int overflow;
} textbuf;

static void tb_printf(textbuf *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
tb_printf(textbuf *t, const char *fmt, ...)
{
	va_list ap;
	int n;
	size_t room = t->len < t->cap ? t->cap - t->len : 0;

	va_start(ap, fmt);
	n = vsnprintf(room > 0 ? t->p + t->len : NULL, room, fmt, ap);
	va_end(ap);
	if (n < 0) {
		t->overflow = 1;
		return;
	}
	if ((size_t)n >= room)
		t->overflow = 1;
	t->len += (size_t)n;
}

static void
tb_hex(textbuf *t, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		tb_printf(t, "%02X", p[i]);
}

static pcard_err
print_level(textbuf *t, pcard_rd *r, unsigned indent, unsigned depth)
{
	pcard_rd v;
	uint32_t tag;
	const uint8_t *bytes;
	size_t n, taglen;
	pcard_err err, first = PCARD_OK;

	while (pcard_rd_left(r) > 0) {
		pcard_tlv_skip_padding(r);
		if (pcard_rd_left(r) == 0)
			break;
		if ((err = pcard_tlv_next(r, &tag, &v)) != PCARD_OK) {
			n = pcard_rd_left(r);
			(void)pcard_rd_view(r, n, &bytes);
			tb_printf(t, "%*s?? ", (int)indent, "");
			tb_hex(t, bytes, n);
			tb_printf(t, "\n");
			return first != PCARD_OK ? first : err;
		}
		taglen = pcard_tlv_tag_len(tag);
		n = pcard_rd_left(&v);
		tb_printf(t, "%*s%0*X %02zX", (int)indent, "", (int)(2 * taglen), (unsigned)tag,
		    n);
		if (pcard_tlv_is_constructed(tag) && depth + 1 <= PCARD_TLV_MAX_DEPTH && n > 0) {
			tb_printf(t, "\n");
			if ((err = print_level(t, &v, indent + 2, depth + 1)) != PCARD_OK &&
			    first == PCARD_OK)
				first = err;
		} else {
			(void)pcard_rd_view(&v, n, &bytes);
			if (n > 0)
				tb_printf(t, " ");
			tb_hex(t, bytes, n);
			tb_printf(t, "\n");
		}
	}
	return first;
}

pcard_err
pcard_tlv_print(const uint8_t *p, size_t n, unsigned indent, char *out, size_t out_cap,
    size_t *out_len)
{
	textbuf t = { out, out_cap, 0, 0 };
	pcard_rd r;
	pcard_err err;

	if ((p == NULL && n > 0) || (out == NULL && out_cap > 0) || indent > 64)
		return PCARD_E_INVALID_ARG;
	if (out_cap > 0)
		out[0] = '\0';
	pcard_rd_init(&r, p, n);
	err = print_level(&t, &r, indent, 0);
	if (out_len != NULL)
		*out_len = t.len;
	if (t.overflow)
		return PCARD_E_NOSPACE;
	return err;
}
