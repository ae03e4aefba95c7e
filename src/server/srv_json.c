/*
 * srv_json.c: strict reading of JSON request bodies and the one error shape of every reply
 * (docs/api.md, "Errors"):
 *
 *   { "error": { "status": 400, "code": "unknown_field", "message": "body: unknown ..." } }
 *
 * A request that fails here has changed nothing: handlers validate everything before they
 * open a store transaction.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "postcard/bytes.h"
#include "postcard/json.h"
#include "server.h"

unsigned
pcard_srv_error(json_t **out, unsigned status, const char *code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	pcard_srv_text_clean(msg);
	json_decref(*out);
	*out = json_pack("{s:{s:i,s:s,s:s}}", "error", "status", (int)status, "code", code,
	    "message", msg);
	return status;
}

void
pcard_srv_text_clean(char *s)
{
	/* messages quote the request (member names, parser errors): a byte that is not
	 * printable ASCII, or a UTF-8 sequence cut by a precision, would make the reply
	 * invalid JSON text (json_pack refuses it and the reply would be lost) */
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7E)
			*s = '?';
}

unsigned
pcard_srv_status_of(pcard_err err, const char **code)
{
	switch (err) {
	case PCARD_E_NOT_FOUND:
		*code = "not_found";
		return 404;
	case PCARD_E_EXISTS:
		*code = "exists";
		return 409;
	case PCARD_E_CONFLICT:
		*code = "conflict";
		return 409;
	case PCARD_E_STATE:
		*code = "state";
		return 409;
	case PCARD_E_BUSY:
		*code = "busy";
		return 503;
	case PCARD_E_BAD_FILE:
	case PCARD_E_BAD_ENCODING:
	case PCARD_E_TRUNCATED:
	case PCARD_E_TRAILING_DATA:
	case PCARD_E_INVALID_ARG:
		*code = "bad_value";
		return 400;
	case PCARD_E_UNSUPPORTED:
		*code = "unsupported";
		return 422;
	case PCARD_E_VERIFY:
		*code = "verify_failed";
		return 500;
	default:
		*code = "internal";
		return 500;
	}
}

int
pcard_srv_is_ident(const char *s, size_t max)
{
	size_t n = 0;

	if (s == NULL)
		return 0;
	for (; s[n] != '\0'; n++) {
		char c = s[n];

		if (n >= max || !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return n > 0;
}

unsigned
pcard_srv_parse_object(const pcard_srv_req *rq, json_t **obj, json_t **out)
{
	json_error_t je;
	json_t *o;

	*obj = NULL;
	if (rq->body_len == 0)
		return pcard_srv_error(out, 400, "bad_json", "the request needs a JSON body");
	if (rq->content_type != NULL && strncmp(rq->content_type, "application/json", 16) != 0)
		return pcard_srv_error(out, 415, "bad_content_type",
		    "Content-Type must be application/json");
	o = json_loadb((const char *)rq->body, rq->body_len, JSON_REJECT_DUPLICATES, &je);
	if (o == NULL)
		return pcard_srv_error(out, 400, "bad_json", "malformed JSON at line %d column %d: %s",
		    je.line, je.column, je.text);
	if (!json_is_object(o)) {
		json_decref(o);
		return pcard_srv_error(out, 400, "bad_json", "the body must be a JSON object");
	}
	*obj = o;
	return 0;
}

unsigned
pcard_srv_only_members(const json_t *obj, const char *const *allowed, const char *where,
    json_t **out)
{
	const char *k = pcard_json_unknown_member(obj, allowed);

	if (k != NULL)
		return pcard_srv_error(out, 400, "unknown_field", "%s: unknown member '%.64s'",
		    where, k);
	return 0;
}

static unsigned
missing(const char *name, json_t **out)
{
	return pcard_srv_error(out, 400, "missing_field", "'%s' is required", name);
}

unsigned
pcard_srv_get_string(const json_t *obj, const char *name, int required, size_t max_len,
    const char **v, json_t **out)
{
	json_t *j = json_object_get(obj, name);

	*v = NULL;
	if (j == NULL)
		return required ? missing(name, out) : 0;
	if (!json_is_string(j))
		return pcard_srv_error(out, 400, "bad_type", "'%s' must be a string", name);
	if (json_string_length(j) == 0 || json_string_length(j) > max_len ||
	    strlen(json_string_value(j)) != json_string_length(j))
		return pcard_srv_error(out, 400, "bad_value", "'%s' must be 1..%zu characters", name,
		    max_len);
	*v = json_string_value(j);
	return 0;
}

unsigned
pcard_srv_get_uint(const json_t *obj, const char *name, int required, uint64_t max, uint64_t *v,
    int *present, json_t **out)
{
	json_t *j = json_object_get(obj, name);

	if (present != NULL)
		*present = j != NULL;
	if (j == NULL)
		return required ? missing(name, out) : 0;
	if (!json_is_integer(j))
		return pcard_srv_error(out, 400, "bad_type", "'%s' must be an integer", name);
	if (json_integer_value(j) < 0 || (uint64_t)json_integer_value(j) > max)
		return pcard_srv_error(out, 400, "bad_value", "'%s' must be in 0..%llu", name,
		    (unsigned long long)max);
	*v = (uint64_t)json_integer_value(j);
	return 0;
}

unsigned
pcard_srv_get_bool(const json_t *obj, const char *name, int required, int *v, int *present,
    json_t **out)
{
	json_t *j = json_object_get(obj, name);

	if (present != NULL)
		*present = j != NULL;
	if (j == NULL)
		return required ? missing(name, out) : 0;
	if (!json_is_boolean(j))
		return pcard_srv_error(out, 400, "bad_type", "'%s' must be true or false", name);
	*v = json_is_true(j);
	return 0;
}

unsigned
pcard_srv_get_hex(const json_t *obj, const char *name, int required, size_t min, size_t max,
    uint8_t *buf, size_t *len, int *present, json_t **out)
{
	json_t *j = json_object_get(obj, name);
	const char *s;

	if (present != NULL)
		*present = j != NULL;
	*len = 0;
	if (j == NULL)
		return required ? missing(name, out) : 0;
	if (!json_is_string(j))
		return pcard_srv_error(out, 400, "bad_type", "'%s' must be a hex string", name);
	s = json_string_value(j);
	if (json_string_length(j) % 2 != 0 || json_string_length(j) / 2 < min ||
	    json_string_length(j) / 2 > max ||
	    pcard_hex_decode(s, buf, max, len) != PCARD_OK || *len < min)
		return pcard_srv_error(out, 400, "bad_value",
		    "'%s' must be %zu..%zu bytes as hex digits", name, min, max);
	return 0;
}

json_t *
pcard_srv_json_hex(const uint8_t *p, size_t n)
{
	char buf[2 * 64 + 1];
	json_t *j;
	char *h;

	if (n <= 64) {
		if (pcard_hex_encode(p, n, buf, sizeof buf) != PCARD_OK)
			return NULL;
		return json_string(buf);
	}
	if ((h = malloc(2 * n + 1)) == NULL)
		return NULL;
	j = pcard_hex_encode(p, n, h, 2 * n + 1) == PCARD_OK ? json_string(h) : NULL;
	free(h);
	return j;
}
