/* cli_pkcs11.c: parser of the PKCS#11 URI subset of --key (cli_pkcs11.h). */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cli_pkcs11.h"
#include "postcard/bytes.h"

static pcard_err
p11_fail(cli_p11uri *u, char *why, size_t why_cap, pcard_err err, const char *fmt, ...)
{
	va_list ap;

	memset(u, 0, sizeof *u);
	if (why_cap > 0) {
		va_start(ap, fmt);
		vsnprintf(why, why_cap, fmt, ap);
		va_end(ap);
	}
	return err;
}

/* Length of the bytes before the first of stop1/stop2 (or the end), without consuming. */
static size_t
span_until(const pcard_rd *r, uint8_t stop1, uint8_t stop2)
{
	pcard_rd c = *r;
	size_t n = 0;
	uint8_t b;

	while (pcard_rd_u8(&c, &b) == PCARD_OK && b != stop1 && b != stop2)
		n++;
	return n;
}

/* Percent-decode all of r into out (cap including the NUL). */
static pcard_err
pct_decode(pcard_rd *r, char *out, size_t cap)
{
	size_t n = 0;
	uint8_t b;

	while (pcard_rd_u8(r, &b) == PCARD_OK) {
		if (b == '%') {
			uint8_t h, l;
			int dh, dl;

			if (pcard_rd_u8(r, &h) != PCARD_OK || pcard_rd_u8(r, &l) != PCARD_OK)
				return PCARD_E_BAD_ENCODING;
			dh = pcard_hex_digit(h);
			dl = pcard_hex_digit(l);
			if (dh < 0 || dl < 0)
				return PCARD_E_BAD_ENCODING;
			b = (uint8_t)(dh << 4 | dl);
		}
		if (b < 0x20 || b == 0x7F)
			return PCARD_E_BAD_ENCODING;
		if (n + 1 >= cap)
			return PCARD_E_NOSPACE;
		out[n++] = (char)b;
	}
	out[n] = '\0';
	return PCARD_OK;
}

enum { ATTR_TOKEN, ATTR_OBJECT, ATTR_TYPE, ATTR_MODULE, ATTR_PIN_SOURCE, ATTR_PIN_VALUE,
	ATTR__COUNT };

static const struct {
	const char *name;
	int query;
} attrs[ATTR__COUNT] = {
	[ATTR_TOKEN] = { "token", 0 },
	[ATTR_OBJECT] = { "object", 0 },
	[ATTR_TYPE] = { "type", 0 },
	[ATTR_MODULE] = { "module-path", 1 },
	[ATTR_PIN_SOURCE] = { "pin-source", 1 },
	[ATTR_PIN_VALUE] = { "pin-value", 1 },
};

static int
attr_lookup(const uint8_t *name, size_t n, int query)
{
	for (int a = 0; a < ATTR__COUNT; a++)
		if (attrs[a].query == query && strlen(attrs[a].name) == n &&
		    memcmp(attrs[a].name, name, n) == 0)
			return a;
	return -1;
}

pcard_err
cli_p11uri_parse(const char *s, cli_p11uri *u, char *why, size_t why_cap)
{
	static const char scheme[] = "pkcs11:";
	char val[CLI_P11_PATH_MAX];
	int seen[ATTR__COUNT] = { 0 };
	pcard_rd r;
	const uint8_t *v;
	int query = 0;

	memset(u, 0, sizeof *u);
	if (why_cap > 0)
		why[0] = '\0';
	pcard_rd_init(&r, (const uint8_t *)s, strlen(s));
	if (pcard_rd_view(&r, sizeof scheme - 1, &v) != PCARD_OK ||
	    strncasecmp((const char *)v, scheme, sizeof scheme - 1) != 0)
		return p11_fail(u, why, why_cap, PCARD_E_USAGE, "not a pkcs11: URI");
	if (span_until(&r, '?', '?') == 0 && pcard_rd_left(&r) > 0) {
		(void)pcard_rd_skip(&r, 1);	/* no path attributes: the query follows */
		query = 1;
	}
	while (pcard_rd_left(&r) > 0) {
		uint8_t sep = query ? '&' : ';';
		size_t clen = span_until(&r, sep, query ? sep : '?');
		size_t nlen;
		pcard_rd comp, vr;
		const uint8_t *name;
		pcard_err err;
		char *dst;
		size_t cap;
		int a;

		if (pcard_rd_sub(&r, clen, &comp) != PCARD_OK)
			return p11_fail(u, why, why_cap, PCARD_E_INTERNAL, "URI parser");
		nlen = span_until(&comp, '=', '=');
		if (nlen == pcard_rd_left(&comp) || nlen == 0)
			return p11_fail(u, why, why_cap, PCARD_E_USAGE,
			    "pkcs11: URI attribute without a name=value form");
		(void)pcard_rd_view(&comp, nlen, &name);
		(void)pcard_rd_skip(&comp, 1);
		vr = comp;
		a = attr_lookup(name, nlen, query);
		if (a < 0) {
			int shown = nlen <= 32;

			for (size_t i = 0; shown && i < nlen; i++)
				shown = name[i] > 0x20 && name[i] < 0x7F;
			return p11_fail(u, why, why_cap, PCARD_E_USAGE,
			    "pkcs11: URI: unsupported %s attribute '%.*s' (allowed: token, object, "
			    "type; ?module-path, pin-source)", query ? "query" : "path",
			    shown ? (int)nlen : 1, shown ? (const char *)name : "?");
		}
		if (a == ATTR_PIN_VALUE)
			return p11_fail(u, why, why_cap, PCARD_E_UNSUPPORTED,
			    "pkcs11: URI: pin-value is refused (the command line is visible to "
			    "other users); use pin-source=file:PATH or pin-source=env:VAR");
		if (seen[a]++)
			return p11_fail(u, why, why_cap, PCARD_E_USAGE,
			    "pkcs11: URI: attribute %s given twice", attrs[a].name);
		switch (a) {
		case ATTR_TOKEN: dst = u->token; cap = sizeof u->token; break;
		case ATTR_OBJECT: dst = u->object; cap = sizeof u->object; break;
		case ATTR_MODULE: dst = u->module; cap = sizeof u->module; break;
		default: dst = val; cap = sizeof val; break;
		}
		err = pct_decode(&vr, dst, cap);
		if (err == PCARD_OK && dst[0] == '\0')
			err = PCARD_E_BAD_ENCODING;
		if (err != PCARD_OK)
			return p11_fail(u, why, why_cap, PCARD_E_USAGE, err == PCARD_E_NOSPACE ?
			    "pkcs11: URI: %s is too long (at most %zu bytes)" :
			    "pkcs11: URI: %s is empty or badly percent-encoded", attrs[a].name,
			    cap - 1);
		if (a == ATTR_TYPE && strcmp(val, "secret-key") != 0)
			return p11_fail(u, why, why_cap, PCARD_E_USAGE,
			    "pkcs11: URI: type must be secret-key");
		if (a == ATTR_PIN_SOURCE) {
			const char *p = NULL;

			if (strncmp(val, "file:", 5) == 0)
				p = val + 5;
			else if (val[0] == '/')
				p = val;
			if (p != NULL) {
				/* file:///path and file:/path name the same file */
				if (strncmp(p, "//", 2) == 0)
					p += 2;
				if (p[0] != '/' || strlen(p) >= sizeof u->pin_file)
					return p11_fail(u, why, why_cap, PCARD_E_USAGE,
					    "pkcs11: URI: pin-source=file: takes an absolute path");
				memcpy(u->pin_file, p, strlen(p) + 1);
			} else if (strncmp(val, "env:", 4) == 0) {
				p = val + 4;
				if (p[0] == '\0' || strlen(p) >= sizeof u->pin_env ||
				    strchr(p, '=') != NULL)
					return p11_fail(u, why, why_cap, PCARD_E_USAGE,
					    "pkcs11: URI: pin-source=env: takes a variable name");
				memcpy(u->pin_env, p, strlen(p) + 1);
			} else {
				return p11_fail(u, why, why_cap, PCARD_E_UNSUPPORTED,
				    "pkcs11: URI: pin-source must be file:PATH or env:VAR");
			}
		}
		/* the separator that ended the component, if any */
		if (pcard_rd_left(&r) > 0) {
			uint8_t b = 0;

			(void)pcard_rd_u8(&r, &b);
			if (b == '?')
				query = 1;
			if (pcard_rd_left(&r) == 0)
				return p11_fail(u, why, why_cap, PCARD_E_USAGE,
				    "pkcs11: URI ends with a separator");
		}
	}
	if (u->object[0] == '\0')
		return p11_fail(u, why, why_cap, PCARD_E_USAGE,
		    "pkcs11: URI needs object=KEYLABEL");
	return PCARD_OK;
}
