/* cli.c: helpers shared by every postcard command (errors, JSON, hex, files, values). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "postcard/bytes.h"
#include "postcard/transport.h"

static void
json_error(pcard_err err, const char *what)
{
	json_t *e = json_pack("{s:{s:s,s:s,s:s,s:i}}", "error", "code", pcard_errname(err),
	    "message", pcard_strerror(err), "what", what, "exit", pcard_exit_code(err));

	if (e != NULL)
		cli_json_print(e);
}

int
cli_fail(cli_ctx *ctx, pcard_err err, const char *fmt, ...)
{
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	fprintf(stderr, "postcard: %s: %s\n", what, pcard_strerror(err));
	if (ctx != NULL && ctx->json)
		json_error(err, what);
	return pcard_exit_code(err);
}

int
cli_usage(cli_ctx *ctx, const char *fmt, ...)
{
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	fprintf(stderr, "postcard: %s\n", what);
	if (ctx != NULL && ctx->json)
		json_error(PCARD_E_USAGE, what);
	return PCARD_EXIT_USAGE;
}

int
cli_bad_option(cli_ctx *ctx, const char *cmd, int c, char **argv)
{
	const char *arg = optind > 0 ? argv[optind - 1] : "?";

	if (c == ':')
		return cli_usage(ctx, "%s: option '%s' needs a value (see 'postcard help %s')",
		    cmd, arg, cmd);
	return cli_usage(ctx, "%s: unknown option '%s' (see 'postcard help %s')", cmd, arg, cmd);
}

void
cli_info(cli_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	if (ctx != NULL && ctx->quiet)
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

int
cli_is_help(const char *arg)
{
	return arg != NULL && (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0);
}

void
cli_getopt_reset(void)
{
	optind = 0;	/* glibc: full re-initialisation */
	opterr = 0;	/* we print our own one-line errors */
}

void
cli_trace_apdu(int dir, const uint8_t *p, size_t n)
{
	char hex[2 * 300 + 1];

	if (dir == PCARD_TRACE_CMD && pcard_trace_redact(p, n)) {
		fprintf(stderr, ">> %02X%02X%02X%02X <%zu bytes redacted>\n", p[0], p[1], p[2], p[3],
		    n - 4);
		return;
	}
	if (pcard_hex_encode(p, n < 300 ? n : 300, hex, sizeof hex) == PCARD_OK)
		fprintf(stderr, "%s %s%s\n", dir == PCARD_TRACE_CMD ? ">>" : "<<", hex,
		    n > 300 ? "..." : "");
}

char *
cli_hex(const uint8_t *p, size_t n)
{
	char *s = malloc(2 * n + 1);

	if (s == NULL)
		return NULL;
	if (pcard_hex_encode(p, n, s, 2 * n + 1) != PCARD_OK)
		s[0] = '\0';
	return s;
}

json_t *
cli_json_hex(const uint8_t *p, size_t n)
{
	char *s = cli_hex(p, n);
	json_t *j = s != NULL ? json_string(s) : NULL;

	free(s);
	return j;
}

int
cli_json_print(json_t *obj)
{
	int rc = json_dumpf(obj, stdout, JSON_INDENT(2)) == 0 ? 0 : -1;

	fputc('\n', stdout);
	json_decref(obj);
	return rc;
}

pcard_err
cli_parse_aid(const char *s, uint8_t aid[16], size_t *len)
{
	pcard_err err;

	if ((err = pcard_hex_decode(s, aid, 16, len)) != PCARD_OK)
		return err == PCARD_E_NOSPACE ? PCARD_E_BAD_ENCODING : err;
	if (*len < 5)
		return PCARD_E_BAD_ENCODING;
	return PCARD_OK;
}

pcard_err
cli_parse_version(const char *s, uint8_t *major, uint8_t *minor)
{
	unsigned long a, b;
	char *end;

	errno = 0;
	a = strtoul(s, &end, 10);
	if (end == s || *end != '.' || a > 255)
		return PCARD_E_BAD_ENCODING;
	s = end + 1;
	b = strtoul(s, &end, 10);
	if (end == s || *end != '\0' || b > 255 || errno != 0)
		return PCARD_E_BAD_ENCODING;
	*major = (uint8_t)a;
	*minor = (uint8_t)b;
	return PCARD_OK;
}

pcard_err
cli_parse_size(const char *s, size_t *v)
{
	unsigned long long n;
	char *end;

	if (s[0] < '0' || s[0] > '9')
		return PCARD_E_BAD_ENCODING;
	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno != 0)
		return PCARD_E_BAD_ENCODING;
	if (*end == 'k' || *end == 'K') {
		if (n > (unsigned long long)SIZE_MAX / 1024)
			return PCARD_E_BAD_ENCODING;
		n *= 1024;
		end++;
	}
	if (*end != '\0' || n > SIZE_MAX)
		return PCARD_E_BAD_ENCODING;
	*v = (size_t)n;
	return PCARD_OK;
}
