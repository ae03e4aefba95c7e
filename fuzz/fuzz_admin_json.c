/*
 * fuzz_admin_json.c: postcardd's admin request parsing (src/server/srv_json.c, compiled in
 * here: the server is not in libpostcard) on arbitrary bytes, through the member schemas of
 * the admin endpoints (docs/api.md): register a card, register an agent, queue a job and its
 * params by type. Invariants (abort on violation):
 *  - every refusal is an error reply {"error": {status, code, message}} with a 4xx status;
 *  - an accepted member is within its bounds (strings, hex lengths, integers);
 *  - nothing leaks (LeakSanitizer) on any path.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/server/srv_json.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A refusal must be a well-formed 4xx error reply. */
static void
refused(unsigned st, json_t *out)
{
	json_t *e = json_object_get(out, "error");

	if (st < 400 || st > 499 || !json_is_object(e) ||
	    json_integer_value(json_object_get(e, "status")) != (json_int_t)st ||
	    !json_is_string(json_object_get(e, "code")) ||
	    !json_is_string(json_object_get(e, "message")))
		abort();
}

static void
check_aid(const json_t *o, const char *name, json_t **out)
{
	uint8_t aid[16];
	size_t n = 0;
	int present = 0;
	unsigned st = pcard_srv_get_hex(o, name, 0, 5, 16, aid, &n, &present, out);

	if (st != 0)
		refused(st, *out);
	else if (present && (n < 5 || n > 16))
		abort();
}

static void
job_params(const json_t *p, json_t **out)
{
	static const char *const m_all[] = { "loadfile", "module", "instance", "privileges",
		"params", "aid", "related", "version", "expected", "items", "encrypt", "confirm",
		"new_kvn", "profile", NULL };
	uint8_t buf[224];
	size_t n = 0;
	uint64_t u = 0;
	int b = 0, present = 0;
	const char *s = NULL;
	unsigned st;

	if ((st = pcard_srv_only_members(p, m_all, "params", out)) != 0) {
		refused(st, *out);
		return;
	}
	if ((st = pcard_srv_get_uint(p, "loadfile", 0, INT64_MAX, &u, &present, out)) != 0)
		refused(st, *out);
	else if (present && u > INT64_MAX)
		abort();
	check_aid(p, "module", out);
	check_aid(p, "instance", out);
	check_aid(p, "aid", out);
	if ((st = pcard_srv_get_uint(p, "privileges", 0, 0xFFFFFF, &u, &present, out)) != 0)
		refused(st, *out);
	else if (present && u > 0xFFFFFF)
		abort();
	if ((st = pcard_srv_get_hex(p, "params", 0, 0, 128, buf, &n, &present, out)) != 0)
		refused(st, *out);
	else if (present && n > 128)
		abort();
	if ((st = pcard_srv_get_hex(p, "items", 0, 1, sizeof buf, buf, &n, &present, out)) != 0)
		refused(st, *out);
	else if (present && (n < 1 || n > sizeof buf))
		abort();
	if ((st = pcard_srv_get_uint(p, "version", 0, UINT32_MAX, &u, &present, out)) != 0)
		refused(st, *out);
	else if (present && u > UINT32_MAX)
		abort();
	if ((st = pcard_srv_get_uint(p, "new_kvn", 0, 0x7F, &u, &present, out)) != 0)
		refused(st, *out);
	if ((st = pcard_srv_get_bool(p, "encrypt", 0, &b, &present, out)) != 0)
		refused(st, *out);
	else if (present && b != 0 && b != 1)
		abort();
	if ((st = pcard_srv_get_string(p, "profile", 0, 64, &s, out)) != 0)
		refused(st, *out);
	else if (s != NULL && strlen(s) > 64)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const card_m[] = { "id", "kdd", "profile", "scp", "i", "life_cycle",
		NULL };
	static const char *const agent_m[] = { "id", "name", "fingerprint", NULL };
	static const char *const job_m[] = { "type", "params", NULL };
	pcard_srv_req rq;
	json_t *obj = NULL, *out = NULL;
	uint8_t kdd[32];
	size_t n = 0;
	uint64_t u = 0;
	const char *s = NULL;
	char *body;
	unsigned st;

	if ((body = malloc(size + 1)) == NULL)
		return 0;
	memcpy(body, data, size);
	body[size] = '\0';
	memset(&rq, 0, sizeof rq);
	rq.method = "POST";
	rq.path = "/admin/v1/cards";
	rq.content_type = size % 2 ? "application/json" : NULL;
	rq.body = (const uint8_t *)body;
	rq.body_len = size;
	if ((st = pcard_srv_parse_object(&rq, &obj, &out)) != 0) {
		refused(st, out);
		goto done;
	}
	if (!json_is_object(obj))
		abort();
	/* POST /admin/v1/cards */
	if ((st = pcard_srv_only_members(obj, card_m, "body", &out)) != 0)
		refused(st, out);
	if ((st = pcard_srv_get_string(obj, "id", 1, 64, &s, &out)) != 0)
		refused(st, out);
	else if (s == NULL || strlen(s) > 64)
		abort();
	if ((st = pcard_srv_get_hex(obj, "kdd", 0, 1, sizeof kdd, kdd, &n, NULL, &out)) != 0)
		refused(st, out);
	if ((st = pcard_srv_get_uint(obj, "scp", 0, 3, &u, NULL, &out)) != 0)
		refused(st, out);
	else if (u > 3)
		abort();
	/* POST /admin/v1/agents */
	if ((st = pcard_srv_only_members(obj, agent_m, "body", &out)) != 0)
		refused(st, out);
	if ((st = pcard_srv_get_string(obj, "name", 0, 64, &s, &out)) == 0 && s != NULL &&
	    !pcard_srv_is_ident(s, 64) && strlen(s) > 64)
		abort();
	/* POST /admin/v1/cards/{id}/jobs */
	if ((st = pcard_srv_only_members(obj, job_m, "body", &out)) != 0)
		refused(st, out);
	if (json_is_object(json_object_get(obj, "params")))
		job_params(json_object_get(obj, "params"), &out);
done:
	json_decref(out);
	json_decref(obj);
	free(body);
	return 0;
}
