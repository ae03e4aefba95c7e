/*
 * bytes.h: the bounded reader and writer every parser and encoder goes through, and hex.
 *
 * A pcard_rd is a cursor over borrowed bytes; reads only ever shrink it. A failed read leaves
 * the reader unchanged. A pcard_wr records an overflow once and reports it at the end
 * (pcard_wr_finish), so encoders never check after every call and can never overrun.
 */
#ifndef POSTCARD_BYTES_H
#define POSTCARD_BYTES_H

#include <stddef.h>
#include <stdint.h>

#include "postcard/err.h"

typedef struct pcard_rd {
	const uint8_t *p;	/* private */
	size_t left;		/* private */
} pcard_rd;

/* Reader over p[0..n); p is borrowed and must outlive r. p may be NULL when n is 0. */
void pcard_rd_init(pcard_rd *r, const uint8_t *p, size_t n);
size_t pcard_rd_left(const pcard_rd *r);
/* The unread bytes (borrowed; valid while the underlying buffer is). */
const uint8_t *pcard_rd_ptr(const pcard_rd *r);

pcard_err pcard_rd_u8(pcard_rd *r, uint8_t *v);
pcard_err pcard_rd_u16(pcard_rd *r, uint16_t *v);	/* big-endian */
pcard_err pcard_rd_u24(pcard_rd *r, uint32_t *v);	/* big-endian */
pcard_err pcard_rd_u32(pcard_rd *r, uint32_t *v);	/* big-endian */
pcard_err pcard_rd_u16le(pcard_rd *r, uint16_t *v);
pcard_err pcard_rd_u32le(pcard_rd *r, uint32_t *v);
/* *v points at the next n bytes (borrowed from r's buffer). */
pcard_err pcard_rd_view(pcard_rd *r, size_t n, const uint8_t **v);
pcard_err pcard_rd_copy(pcard_rd *r, size_t n, uint8_t *out);
pcard_err pcard_rd_skip(pcard_rd *r, size_t n);
/* sub becomes a reader over exactly the next n bytes; r moves past them. */
pcard_err pcard_rd_sub(pcard_rd *r, size_t n, pcard_rd *sub);
/* Read a one-byte length, then that many bytes (GP's LV chains). */
pcard_err pcard_rd_lv(pcard_rd *r, pcard_rd *val);
/* PCARD_OK when nothing is left, else PCARD_E_TRAILING_DATA. */
pcard_err pcard_rd_expect_end(const pcard_rd *r);

typedef struct pcard_wr {
	uint8_t *p;		/* private */
	size_t cap;		/* private */
	size_t len;		/* private: bytes written, or that would have been */
	int overflow;		/* private */
} pcard_wr;

/* Writer into buf[0..cap). buf may be NULL with cap 0 to measure a size. */
void pcard_wr_init(pcard_wr *w, uint8_t *buf, size_t cap);
void pcard_wr_u8(pcard_wr *w, uint8_t v);
void pcard_wr_u16(pcard_wr *w, uint16_t v);		/* big-endian */
void pcard_wr_u24(pcard_wr *w, uint32_t v);
void pcard_wr_u32(pcard_wr *w, uint32_t v);
void pcard_wr_bytes(pcard_wr *w, const void *p, size_t n);
void pcard_wr_fill(pcard_wr *w, uint8_t v, size_t n);
/* One-byte length then the bytes; an n over 255 is an overflow (PCARD_E_INVALID_ARG at finish). */
void pcard_wr_lv(pcard_wr *w, const void *p, size_t n);
/* BER-TLV length octets: 1 byte below 0x80, then 81 xx, 82 xx xx, 83 xx xx xx. */
void pcard_wr_ber_len(pcard_wr *w, size_t n);
/* Bytes written so far (or that would have been, after an overflow). */
size_t pcard_wr_len(const pcard_wr *w);
/* Pointer to byte off of the output, for back-patching; NULL when off is past the capacity. */
uint8_t *pcard_wr_at(pcard_wr *w, size_t off);
/* PCARD_E_NOSPACE after any overflow (PCARD_E_INVALID_ARG after a bad LV), else the length. */
pcard_err pcard_wr_finish(const pcard_wr *w, size_t *len);

/*
 * Hex. Decoding accepts upper and lower case and ignores spaces, tabs, colons and newlines
 * between byte pairs; an odd number of digits or any other character is PCARD_E_BAD_ENCODING.
 */
pcard_err pcard_hex_decode(const char *s, uint8_t *out, size_t out_cap, size_t *out_len);
/* Decode exactly n bytes, else PCARD_E_BAD_ENCODING. */
pcard_err pcard_hex_decode_exact(const char *s, uint8_t *out, size_t n);
/* Value of one hex digit (0-9, a-f, A-F), or -1. */
int pcard_hex_digit(int c);
/* Upper-case hex, NUL-terminated; out_cap must be at least 2*n+1. */
pcard_err pcard_hex_encode(const uint8_t *p, size_t n, char *out, size_t out_cap);

#endif
