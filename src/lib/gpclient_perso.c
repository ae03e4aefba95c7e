/*
 * gpclient_perso.c: personalisation records (the postcard perso file) and sending them as
 * STORE DATA commands, one command per record (CS 11.11).
 *
 * Perso file: text, one record per line, '#' starts a comment, blank lines are skipped.
 *
 *   KIND [enc] HEX...          KIND = tlv | dgi | raw; HEX in tokens of whole bytes
 *
 *   tlv  BER-TLV objects (checked), P1 b5b4 = 10
 *   dgi  the first 2 bytes are the DGI tag, the rest its value; the DGI length (1 byte, or
 *        FF and 2 bytes from 255 on) is inserted, P1 b5b4 = 01
 *   raw  bytes as given, P1 b5b4 = 00
 *   enc  P1 b7b6 = 11 (GP CS 11.11 "all data encrypted"; SCP03 AES-CBC static DEK, SCP02
 *        3DES session DEK): for tlv and raw the whole data field is ISO 7816-4 padded and
 *        encrypted; for dgi only the DGI's value is, the tag and the length (of the
 *        cryptogram) stay in clear, as EMV CPS and GlobalPlatformPro send DGIs and the card
 *        decrypts them (docs/card-behaviour.md)
 *
 * Records go out as P2 = 00, 01, ... with P1 b8 on the last one.
 */
#include <string.h>

#include "gpclient_int.h"
#include "postcard/tlv.h"

typedef struct perso_out {
	uint8_t *buf;
	size_t cap, used;
	pcard_gpc_sd_record *recs;
	size_t rcap, count;
} perso_out;

static int
is_blank(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* The next token of the line in r (up to blank, '#', or end of line); *len 0 at line end. */
static void
next_token(pcard_rd *line, const uint8_t **tok, size_t *len)
{
	uint8_t c = 0;

	*len = 0;
	while (pcard_rd_left(line) > 0 && is_blank(pcard_rd_ptr(line)[0]))
		(void)pcard_rd_skip(line, 1);
	*tok = pcard_rd_ptr(line);
	while (pcard_rd_left(line) > 0) {
		c = pcard_rd_ptr(line)[0];
		if (is_blank(c) || c == '#')
			break;
		(void)pcard_rd_skip(line, 1);
		(*len)++;
	}
	if (c == '#' && *len == 0)
		(void)pcard_rd_skip(line, pcard_rd_left(line));	/* comment: rest of line */
}

static int
tok_is(const uint8_t *tok, size_t len, const char *word)
{
	return len == strlen(word) && memcmp(tok, word, len) == 0;
}

/* Hex tokens of line appended to o->buf from *at. */
static pcard_err
hex_tokens(pcard_rd *line, perso_out *o, size_t *n)
{
	const uint8_t *tok;
	size_t len;

	*n = 0;
	for (;;) {
		next_token(line, &tok, &len);
		if (len == 0)
			return PCARD_OK;
		if (len % 2 != 0)
			return PCARD_E_BAD_ENCODING;
		for (size_t k = 0; k < len; k += 2) {
			int hi = pcard_hex_digit(tok[k]), lo = pcard_hex_digit(tok[k + 1]);

			if (hi < 0 || lo < 0)
				return PCARD_E_BAD_ENCODING;
			if (o->used + *n >= o->cap)
				return PCARD_E_NOSPACE;
			o->buf[o->used + (*n)++] = (uint8_t)(hi << 4 | lo);
		}
	}
}

static pcard_err
check_tlv(const uint8_t *p, size_t n)
{
	pcard_rd r, val;
	uint32_t tag;
	pcard_err err;

	pcard_rd_init(&r, p, n);
	while (pcard_rd_left(&r) > 0)
		if ((err = pcard_tlv_next(&r, &tag, &val)) != PCARD_OK)
			return PCARD_E_BAD_ENCODING;
	return PCARD_OK;
}

/* dgi: tag(2) value -> tag(2) len value, in place at o->buf + o->used (n bytes). */
static pcard_err
dgi_insert_len(perso_out *o, size_t *n)
{
	uint8_t *p = o->buf + o->used;
	size_t vlen, hdr;

	if (*n < 2)
		return PCARD_E_BAD_ENCODING;
	vlen = *n - 2;
	if (vlen > 0xFFFF)
		return PCARD_E_BAD_ENCODING;
	hdr = vlen < 0xFF ? 1 : 3;
	if (o->used + *n + hdr > o->cap)
		return PCARD_E_NOSPACE;
	memmove(p + 2 + hdr, p + 2, vlen);
	if (hdr == 1) {
		p[2] = (uint8_t)vlen;
	} else {
		p[2] = 0xFF;
		p[3] = (uint8_t)(vlen >> 8);
		p[4] = (uint8_t)vlen;
	}
	*n += hdr;
	return PCARD_OK;
}

static pcard_err
parse_line(pcard_rd *line, perso_out *o)
{
	const uint8_t *tok;
	size_t len, n = 0;
	uint8_t fmt;
	int enc = 0;
	pcard_err err;

	next_token(line, &tok, &len);
	if (len == 0)
		return PCARD_OK;		/* blank or comment */
	if (tok_is(tok, len, "tlv"))
		fmt = PCARD_SD_FMT_BER;
	else if (tok_is(tok, len, "dgi"))
		fmt = PCARD_SD_FMT_DGI;
	else if (tok_is(tok, len, "raw"))
		fmt = PCARD_SD_FMT_NONE;
	else
		return PCARD_E_BAD_ENCODING;
	{
		pcard_rd peek = *line;

		next_token(&peek, &tok, &len);
		if (tok_is(tok, len, "enc")) {
			enc = 1;
			*line = peek;
		}
	}
	if ((err = hex_tokens(line, o, &n)) != PCARD_OK)
		return err;
	if (n == 0)
		return PCARD_E_BAD_ENCODING;
	if (fmt == PCARD_SD_FMT_BER && (err = check_tlv(o->buf + o->used, n)) != PCARD_OK)
		return err;
	if (fmt == PCARD_SD_FMT_DGI && (err = dgi_insert_len(o, &n)) != PCARD_OK)
		return err;
	if (o->count >= o->rcap)
		return PCARD_E_NOSPACE;
	o->recs[o->count].fmt = fmt;
	o->recs[o->count].encrypt = enc;
	o->recs[o->count].data = o->buf + o->used;
	o->recs[o->count].len = n;
	o->count++;
	o->used += n;
	return PCARD_OK;
}

pcard_err
pcard_gpc_perso_parse(const uint8_t *text, size_t n, uint8_t *buf, size_t cap,
    pcard_gpc_sd_record *recs, size_t rcap, size_t *count, size_t *bad_line)
{
	perso_out o = { buf, cap, 0, recs, rcap, 0 };
	pcard_rd r;
	size_t lineno = 0;
	pcard_err err = PCARD_E_INTERNAL;

	if ((text == NULL && n > 0) || (buf == NULL && cap > 0) || (recs == NULL && rcap > 0) ||
	    count == NULL)
		return PCARD_E_INVALID_ARG;
	*count = 0;
	if (bad_line != NULL)
		*bad_line = 0;
	pcard_rd_init(&r, text, n);
	while (pcard_rd_left(&r) > 0) {
		const uint8_t *p = pcard_rd_ptr(&r);
		size_t len = 0, left = pcard_rd_left(&r);
		pcard_rd line;

		lineno++;
		while (len < left && p[len] != '\n')
			len++;
		if ((err = pcard_rd_sub(&r, len, &line)) != PCARD_OK)
			goto out;
		if (pcard_rd_left(&r) > 0)
			(void)pcard_rd_skip(&r, 1);	/* the newline */
		if ((err = parse_line(&line, &o)) != PCARD_OK)
			goto out;
	}
	if (o.count == 0) {
		err = PCARD_E_BAD_ENCODING;
		goto out;
	}
	*count = o.count;
	err = PCARD_OK;
out:
	if (err != PCARD_OK && bad_line != NULL)
		*bad_line = lineno;
	return err;
}

/* Pad and encrypt p[0..n) under the session's DEK into out. */
static pcard_err
encrypt_field(pcard_gpc *g, const uint8_t *p, size_t n, uint8_t *out, size_t cap,
    size_t *out_len)
{
	pcard_cipher_alg alg;
	pcard_keyh dek;
	size_t blk;
	pcard_err err;

	if (!g->open)
		return PCARD_E_STATE;
	if ((err = pcard_scp_dek(&g->scp, &dek, &alg)) != PCARD_OK)
		return err;
	blk = (alg == PCARD_CIPHER_AES_CBC || alg == PCARD_CIPHER_AES_ECB) ? 16 : 8;
	if ((err = pcard_pad_iso(p, n, blk, out, cap, out_len)) != PCARD_OK)
		return err == PCARD_E_NOSPACE ? PCARD_E_BAD_ENCODING : err;
	return pcard_keys_cipher(g->keys, dek, alg, 1, NULL, out, *out_len, out);
}

/*
 * An encrypted DGI record: each DGI of p[0..n) becomes tag || length || its value padded and
 * encrypted on its own (EMV CPS: identifier and length in clear).
 */
static pcard_err
encrypt_dgis(pcard_gpc *g, const uint8_t *p, size_t n, uint8_t *out, size_t cap,
    size_t *out_len)
{
	uint8_t v[PCARD_APDU_SHORT_MAX + 16];
	pcard_rd r;
	pcard_wr w;
	pcard_err err = PCARD_E_INTERNAL;

	pcard_rd_init(&r, p, n);
	pcard_wr_init(&w, out, cap);
	while (pcard_rd_left(&r) > 0) {
		const uint8_t *val;
		uint16_t tag, l2 = 0;
		uint8_t l1;
		size_t len, vl = 0;

		if (pcard_rd_u16(&r, &tag) != PCARD_OK || pcard_rd_u8(&r, &l1) != PCARD_OK ||
		    (l1 == 0xFF && pcard_rd_u16(&r, &l2) != PCARD_OK) ||
		    pcard_rd_view(&r, len = l1 == 0xFF ? l2 : l1, &val) != PCARD_OK) {
			err = PCARD_E_BAD_ENCODING;
			goto out;
		}
		if ((err = encrypt_field(g, val, len, v, sizeof v, &vl)) != PCARD_OK)
			goto out;
		pcard_wr_u16(&w, tag);
		if (vl < 0xFF) {
			pcard_wr_u8(&w, (uint8_t)vl);
		} else {
			pcard_wr_u8(&w, 0xFF);
			pcard_wr_u16(&w, (uint16_t)vl);
		}
		pcard_wr_bytes(&w, v, vl);
	}
	if (pcard_wr_finish(&w, out_len) != PCARD_OK) {
		err = PCARD_E_BAD_ENCODING;	/* too long for one command */
		goto out;
	}
	err = PCARD_OK;
out:
	pcard_wipe(v, sizeof v);
	return err;
}

pcard_err
pcard_gpc_store_records(pcard_gpc *g, const pcard_gpc_sd_record *recs, size_t n)
{
	uint8_t field[PCARD_APDU_SHORT_MAX + 16], cmd[PCARD_APDU_SHORT_MAX + 16];
	pcard_err err = PCARD_E_INTERNAL;

	if (g == NULL || (recs == NULL && n > 0) || n == 0 || n > 256)
		return PCARD_E_INVALID_ARG;
	for (size_t i = 0; i < n; i++) {
		const pcard_gpc_sd_record *rc = &recs[i];
		uint8_t p1 = (uint8_t)((rc->fmt & 0x18) | (rc->encrypt ? PCARD_SD_ENC_ALL : 0) |
		    (i + 1 == n ? PCARD_SD_LAST : 0));
		const uint8_t *d = rc->data;
		size_t dlen = rc->len, nc = 0;

		if (rc->data == NULL || rc->len == 0 || rc->len > PCARD_APDU_SHORT_MAX) {
			err = PCARD_E_BAD_ENCODING;
			goto out;
		}
		if (rc->encrypt) {
			if ((err = (rc->fmt & 0x18) == PCARD_SD_FMT_DGI ?
			    encrypt_dgis(g, rc->data, rc->len, field, sizeof field, &dlen) :
			    encrypt_field(g, rc->data, rc->len, field, sizeof field, &dlen)) !=
			    PCARD_OK)
				goto out;
			d = field;
		}
		if (dlen > gpc_max_data(g)) {
			err = PCARD_E_BAD_ENCODING;	/* one record must fit one command */
			goto out;
		}
		if ((err = pcard_gp_store_data_cmd(p1, (uint8_t)i, d, dlen, cmd, sizeof cmd,
		    &nc)) != PCARD_OK ||
		    (err = gpc_cmd_ok(g, cmd, nc)) != PCARD_OK)
			goto out;
	}
	err = PCARD_OK;
out:
	pcard_wipe(field, sizeof field);
	pcard_wipe(cmd, sizeof cmd);
	return err;
}
