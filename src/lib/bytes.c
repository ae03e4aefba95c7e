/* bytes.c: bounded reader, overflow-recording writer, hex. */
#include <string.h>

#include "postcard/bytes.h"

void
pcard_rd_init(pcard_rd *r, const uint8_t *p, size_t n)
{
	r->p = p;
	r->left = p == NULL ? 0 : n;
}

size_t
pcard_rd_left(const pcard_rd *r)
{
	return r->left;
}

const uint8_t *
pcard_rd_ptr(const pcard_rd *r)
{
	return r->p;
}

pcard_err
pcard_rd_view(pcard_rd *r, size_t n, const uint8_t **v)
{
	if (n > r->left)
		return PCARD_E_TRUNCATED;
	*v = r->p;
	if (n > 0)
		r->p += n;
	r->left -= n;
	return PCARD_OK;
}

pcard_err
pcard_rd_copy(pcard_rd *r, size_t n, uint8_t *out)
{
	const uint8_t *v;
	pcard_err err;

	if ((err = pcard_rd_view(r, n, &v)) != PCARD_OK)
		return err;
	if (n > 0)
		memcpy(out, v, n);
	return PCARD_OK;
}

pcard_err
pcard_rd_skip(pcard_rd *r, size_t n)
{
	const uint8_t *v;

	return pcard_rd_view(r, n, &v);
}

pcard_err
pcard_rd_sub(pcard_rd *r, size_t n, pcard_rd *sub)
{
	const uint8_t *v;
	pcard_err err;

	if ((err = pcard_rd_view(r, n, &v)) != PCARD_OK)
		return err;
	sub->p = v;
	sub->left = n;
	return PCARD_OK;
}

static pcard_err
rd_be(pcard_rd *r, size_t n, uint32_t *v)
{
	const uint8_t *b;
	uint32_t x = 0;
	pcard_err err;

	if ((err = pcard_rd_view(r, n, &b)) != PCARD_OK)
		return err;
	for (size_t i = 0; i < n; i++)
		x = (x << 8) | b[i];
	*v = x;
	return PCARD_OK;
}

pcard_err
pcard_rd_u8(pcard_rd *r, uint8_t *v)
{
	uint32_t x;
	pcard_err err;

	if ((err = rd_be(r, 1, &x)) == PCARD_OK)
		*v = (uint8_t)x;
	return err;
}

pcard_err
pcard_rd_u16(pcard_rd *r, uint16_t *v)
{
	uint32_t x;
	pcard_err err;

	if ((err = rd_be(r, 2, &x)) == PCARD_OK)
		*v = (uint16_t)x;
	return err;
}

pcard_err
pcard_rd_u24(pcard_rd *r, uint32_t *v)
{
	return rd_be(r, 3, v);
}

pcard_err
pcard_rd_u32(pcard_rd *r, uint32_t *v)
{
	return rd_be(r, 4, v);
}

pcard_err
pcard_rd_u16le(pcard_rd *r, uint16_t *v)
{
	const uint8_t *b;
	pcard_err err;

	if ((err = pcard_rd_view(r, 2, &b)) == PCARD_OK)
		*v = (uint16_t)(b[0] | (b[1] << 8));
	return err;
}

pcard_err
pcard_rd_u32le(pcard_rd *r, uint32_t *v)
{
	const uint8_t *b;
	pcard_err err;

	if ((err = pcard_rd_view(r, 4, &b)) == PCARD_OK)
		*v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
		    (uint32_t)b[3] << 24;
	return err;
}

pcard_err
pcard_rd_lv(pcard_rd *r, pcard_rd *val)
{
	pcard_rd save = *r;
	uint8_t n;
	pcard_err err;

	if ((err = pcard_rd_u8(r, &n)) != PCARD_OK ||
	    (err = pcard_rd_sub(r, n, val)) != PCARD_OK)
		*r = save;
	return err;
}

pcard_err
pcard_rd_expect_end(const pcard_rd *r)
{
	return r->left == 0 ? PCARD_OK : PCARD_E_TRAILING_DATA;
}

void
pcard_wr_init(pcard_wr *w, uint8_t *buf, size_t cap)
{
	w->p = buf;
	w->cap = buf == NULL ? 0 : cap;
	w->len = 0;
	w->overflow = 0;
}

void
pcard_wr_bytes(pcard_wr *w, const void *p, size_t n)
{
	if (w->overflow == 0 && n > w->cap - w->len)
		w->overflow = 1;
	if (w->overflow == 0 && n > 0)
		memcpy(w->p + w->len, p, n);
	w->len += n;
}

void
pcard_wr_fill(pcard_wr *w, uint8_t v, size_t n)
{
	if (w->overflow == 0 && n > w->cap - w->len)
		w->overflow = 1;
	if (w->overflow == 0 && n > 0)
		memset(w->p + w->len, v, n);
	w->len += n;
}

void
pcard_wr_u8(pcard_wr *w, uint8_t v)
{
	pcard_wr_bytes(w, &v, 1);
}

void
pcard_wr_u16(pcard_wr *w, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	pcard_wr_bytes(w, b, 2);
}

void
pcard_wr_u24(pcard_wr *w, uint32_t v)
{
	uint8_t b[3] = { (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };

	pcard_wr_bytes(w, b, 3);
}

void
pcard_wr_u32(pcard_wr *w, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };

	pcard_wr_bytes(w, b, 4);
}

void
pcard_wr_lv(pcard_wr *w, const void *p, size_t n)
{
	if (n > 255) {
		w->overflow = 2;
		return;
	}
	pcard_wr_u8(w, (uint8_t)n);
	pcard_wr_bytes(w, p, n);
}

void
pcard_wr_ber_len(pcard_wr *w, size_t n)
{
	if (n < 0x80) {
		pcard_wr_u8(w, (uint8_t)n);
	} else if (n <= 0xFF) {
		pcard_wr_u8(w, 0x81);
		pcard_wr_u8(w, (uint8_t)n);
	} else if (n <= 0xFFFF) {
		pcard_wr_u8(w, 0x82);
		pcard_wr_u16(w, (uint16_t)n);
	} else if (n <= 0xFFFFFF) {
		pcard_wr_u8(w, 0x83);
		pcard_wr_u24(w, (uint32_t)n);
	} else {
		w->overflow = 2;
	}
}

size_t
pcard_wr_len(const pcard_wr *w)
{
	return w->len;
}

uint8_t *
pcard_wr_at(pcard_wr *w, size_t off)
{
	if (w->overflow != 0 || off >= w->len || off >= w->cap)
		return NULL;
	return w->p + off;
}

pcard_err
pcard_wr_finish(const pcard_wr *w, size_t *len)
{
	if (w->overflow == 2)
		return PCARD_E_INVALID_ARG;
	if (w->overflow != 0)
		return PCARD_E_NOSPACE;
	*len = w->len;
	return PCARD_OK;
}

int
pcard_hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int
is_sep(char c)
{
	return c == ' ' || c == '\t' || c == ':' || c == '\n' || c == '\r';
}

pcard_err
pcard_hex_decode(const char *s, uint8_t *out, size_t out_cap, size_t *out_len)
{
	size_t n = 0;

	if (s == NULL)
		return PCARD_E_INVALID_ARG;
	while (*s != '\0') {
		int hi, lo;

		if (is_sep(*s)) {
			s++;
			continue;
		}
		if ((hi = pcard_hex_digit(s[0])) < 0 || s[1] == '\0' || (lo = pcard_hex_digit(s[1])) < 0)
			return PCARD_E_BAD_ENCODING;
		if (n >= out_cap)
			return PCARD_E_NOSPACE;
		out[n++] = (uint8_t)(hi << 4 | lo);
		s += 2;
	}
	*out_len = n;
	return PCARD_OK;
}

pcard_err
pcard_hex_decode_exact(const char *s, uint8_t *out, size_t n)
{
	size_t got;
	pcard_err err;

	if ((err = pcard_hex_decode(s, out, n, &got)) == PCARD_E_NOSPACE)
		return PCARD_E_BAD_ENCODING;
	if (err != PCARD_OK)
		return err;
	return got == n ? PCARD_OK : PCARD_E_BAD_ENCODING;
}

pcard_err
pcard_hex_encode(const uint8_t *p, size_t n, char *out, size_t out_cap)
{
	static const char digits[] = "0123456789ABCDEF";

	if (out_cap < 1 || n > (out_cap - 1) / 2)
		return PCARD_E_NOSPACE;
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
	return PCARD_OK;
}
