/*
 * bundle_json.c: the agent <-> server messages of docs/agent-protocol.md over jansson.
 * The parser reads untrusted bytes: size bounded, duplicate keys refused, every member
 * checked for type, syntax and length, unknown members refused; errors say which field.
 *
 *   {"v":1,"type":"hello","session":"","step":0,"agent":ID,"relay":false,
 *    "card":{"atr":HEX,"fci":HEX,"cplc":HEX,"iin":HEX,"cin":HEX,"kdd":HEX,"seq":HEX}}
 *   {"v":1,"type":"bundle","session":ID,"step":N,"steps":[{"apdu":HEX,"expect":["9000"]}]}
 *   {"v":1,"type":"responses","session":ID,"step":N,"responses":[HEX],
 *    "stop":"complete"|"unexpected_sw"|"card_error"}
 *   {"v":1,"type":"result","session":ID,"step":N,
 *    "jobs":[{"id":N,"state":"done","sw":"9000","why":TEXT}]}
 *   {"v":1,"type":"error","session":ID,"step":N,
 *    "error":{"code":"PCARD_E_MAC","message":TEXT,"retry":false}}
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "postcard/apdu.h"
#include "postcard/bundle.h"
#include "postcard/bytes.h"
#include "postcard/json.h"

#define MAX_STEP 1000000u
#define MAX_JOB_ID ((uint64_t)1 << 53)

static const char *const type_names[] = { NULL, "hello", "bundle", "responses", "result",
	"error" };
static const char *const stop_names[] = { NULL, "complete", "unexpected_sw", "card_error" };

void
pcard_bmsg_init(pcard_bmsg *m, pcard_bmsg_step *steps, size_t steps_cap, pcard_bmsg_rsp *rsps,
    size_t rsps_cap, pcard_bmsg_job *jobs, size_t jobs_cap)
{
	if (m == NULL)
		return;
	memset(m, 0, sizeof *m);
	m->steps = steps;
	m->steps_cap = steps == NULL ? 0 : steps_cap;
	m->rsps = rsps;
	m->rsps_cap = rsps == NULL ? 0 : rsps_cap;
	m->jobs = jobs;
	m->jobs_cap = jobs == NULL ? 0 : jobs_cap;
}

static int
id_ok(const char *s, int allow_empty)
{
	size_t n = strlen(s);

	if (n > PCARD_BMSG_ID_MAX || (n == 0 && !allow_empty))
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_'))
			return 0;
	}
	return 1;
}

/* Strict hex: even number of digits 0-9A-Fa-f, at most cap bytes. */
static pcard_err
hex_field(json_t *v, uint8_t *out, size_t cap, size_t *len)
{
	const char *s;
	size_t n;

	if (!json_is_string(v))
		return PCARD_E_BAD_ENCODING;
	s = json_string_value(v);
	n = json_string_length(v);
	if (n % 2 != 0 || n / 2 > cap || strlen(s) != n)
		return PCARD_E_BAD_ENCODING;
	for (size_t i = 0; i < n; i++)
		if (pcard_hex_digit((unsigned char)s[i]) < 0)
			return PCARD_E_BAD_ENCODING;
	return pcard_hex_decode(s, out, cap, len);
}

static pcard_err
sw_field(json_t *v, uint16_t *sw)
{
	uint8_t b[2];
	size_t n;

	if (hex_field(v, b, sizeof b, &n) != PCARD_OK || n != 2)
		return PCARD_E_BAD_ENCODING;
	*sw = (uint16_t)(b[0] << 8 | b[1]);
	return PCARD_OK;
}

static pcard_err
text_field(json_t *v, char *out, size_t cap)
{
	const char *s;
	size_t n;

	if (!json_is_string(v))
		return PCARD_E_BAD_ENCODING;
	s = json_string_value(v);
	n = json_string_length(v);
	if (n >= cap || strlen(s) != n)
		return PCARD_E_BAD_ENCODING;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20)
			return PCARD_E_BAD_ENCODING;
	memcpy(out, s, n + 1);
	return PCARD_OK;
}

static int
name_index(const char *const *names, size_t n, json_t *v)
{
	if (!json_is_string(v))
		return -1;
	for (size_t i = 1; i < n; i++)
		if (strcmp(names[i], json_string_value(v)) == 0)
			return (int)i;
	return -1;
}

static pcard_err
parse_hello(json_t *root, pcard_bmsg *m, char *err, size_t cap)
{
	static const char *const card_keys[] = { "atr", "fci", "cplc", "iin", "cin", "kdd", "seq",
		NULL };
	pcard_bmsg_bytes *dst[] = { &m->atr, &m->fci, &m->cplc, &m->iin, &m->cin, &m->kdd,
		&m->seq };
	json_t *card = json_object_get(root, "card"), *v;
	const char *bad;

	if ((v = json_object_get(root, "agent")) != NULL &&
	    (text_field(v, m->agent, sizeof m->agent) != PCARD_OK || !id_ok(m->agent, 0)))
		return pcard_errf(err, cap, PCARD_E_BAD_ENCODING, "agent: not an id");
	if ((v = json_object_get(root, "relay")) != NULL) {
		if (!json_is_boolean(v))
			return pcard_errf(err, cap, PCARD_E_BAD_ENCODING, "relay: not a boolean");
		m->relay = json_is_true(v);
	}
	if (!json_is_object(card))
		return pcard_errf(err, cap, PCARD_E_BAD_ENCODING, "card: missing or not an object");
	if ((bad = pcard_json_unknown_member(card, card_keys)) != NULL)
		return pcard_errf(err, cap, PCARD_E_BAD_ENCODING, "card.%s: unknown member", bad);
	for (size_t i = 0; card_keys[i] != NULL; i++) {
		if ((v = json_object_get(card, card_keys[i])) == NULL)
			continue;
		if (hex_field(v, dst[i]->b, sizeof dst[i]->b, &dst[i]->len) != PCARD_OK)
			return pcard_errf(err, cap, PCARD_E_BAD_ENCODING,
			    "card.%s: not hex of at most "
			    "%u bytes", card_keys[i], PCARD_BMSG_CARD_FIELD_MAX);
		dst[i]->present = 1;
	}
	if (!m->atr.present || m->atr.len < 2 || m->atr.len > 33)
		return pcard_errf(err, cap, PCARD_E_BAD_ENCODING,
		    "card.atr: missing or not 2..33 bytes");
	return PCARD_OK;
}

static pcard_err
parse_bundle(json_t *root, pcard_bmsg *m, char *err, size_t cap)
{
	static const char *const step_keys[] = { "apdu", "expect", NULL };
	json_t *steps = json_object_get(root, "steps"), *st, *ex, *v;
	size_t i, k;
	pcard_apdu a;

	if (!json_is_array(steps) || json_array_size(steps) == 0 ||
	    json_array_size(steps) > PCARD_BMSG_MAX_STEPS)
		return pcard_errf(err, cap, PCARD_E_BAD_ENCODING, "steps: not an array of 1..%u",
		    PCARD_BMSG_MAX_STEPS);
	if (json_array_size(steps) > m->steps_cap)
		return pcard_errf(err, cap, PCARD_E_NOSPACE, "steps: more than %zu", m->steps_cap);
	json_array_foreach(steps, i, st) {
		pcard_bmsg_step *d = &m->steps[i];

		if (!json_is_object(st) || pcard_json_unknown_member(st, step_keys) != NULL)
			return pcard_errf(err, cap, PCARD_E_BAD_ENCODING,
			    "steps[%zu]: not a step", i);
		if ((v = json_object_get(st, "apdu")) == NULL ||
		    hex_field(v, d->apdu, sizeof d->apdu, &d->apdu_len) != PCARD_OK ||
		    pcard_apdu_parse(d->apdu, d->apdu_len, &a) != PCARD_OK)
			return pcard_errf(err, cap, PCARD_E_BAD_ENCODING,
			    "steps[%zu].apdu: not a short "
			    "command APDU in hex", i);
		ex = json_object_get(st, "expect");
		if (!json_is_array(ex) || json_array_size(ex) == 0 ||
		    json_array_size(ex) > PCARD_BUNDLE_MAX_EXPECT)
			return pcard_errf(err, cap, PCARD_E_BAD_ENCODING,
			    "steps[%zu].expect: not 1..%d "
			    "status words", i, PCARD_BUNDLE_MAX_EXPECT);
		json_array_foreach(ex, k, v) {
			if (sw_field(v, &d->expect[k]) != PCARD_OK)
				return pcard_errf(err, cap, PCARD_E_BAD_ENCODING,
				    "steps[%zu].expect[%zu]: "
				    "not 4 hex digits", i, k);
		}
		d->n_expect = json_array_size(ex);
	}
	m->nsteps = json_array_size(steps);
	return PCARD_OK;
}

static pcard_err
parse_responses(json_t *root, pcard_bmsg *m, char *err, size_t cap)
{
	json_t *rs = json_object_get(root, "responses"), *v;
	size_t i;
	int stop;

	if (!json_is_array(rs) || json_array_size(rs) > PCARD_BMSG_MAX_STEPS)
		return pcard_errf(err, cap, PCARD_E_BAD_ENCODING,
		    "responses: not an array of 0..%u",
		    PCARD_BMSG_MAX_STEPS);
	if (json_array_size(rs) > m->rsps_cap)
		return pcard_errf(err, cap, PCARD_E_NOSPACE,
		    "responses: more than %zu", m->rsps_cap);
	json_array_foreach(rs, i, v) {
		if (hex_field(v, m->rsps[i].b, sizeof m->rsps[i].b, &m->rsps[i].len) != PCARD_OK ||
		    m->rsps[i].len < 2)
			return pcard_errf(err, cap, PCARD_E_BAD_ENCODING,
			    "responses[%zu]: not hex of "
			    "2..%u bytes", i, PCARD_SCP_MAX_RSP);
	}
	m->nrsps = json_array_size(rs);
	if ((stop = name_index(stop_names, 4, json_object_get(root, "stop"))) < 0)
		return pcard_errf(err, cap, PCARD_E_BAD_ENCODING,
		    "stop: not complete, unexpected_sw "
		    "or card_error");
	m->stop = stop;
	return PCARD_OK;
}

static pcard_err
parse_result(json_t *root, pcard_bmsg *m, char *err, size_t cap)
{
	static const char *const job_keys[] = { "id", "state", "sw", "why", NULL };
	static const char *const states[] = { "unknown", "done", "failed", "not-done" };
	json_t *jobs = json_object_get(root, "jobs"), *j, *v;
	size_t i;

	if (!json_is_array(jobs) || json_array_size(jobs) > PCARD_BMSG_MAX_STEPS)
		return pcard_errf(err, cap, PCARD_E_BAD_ENCODING, "jobs: not an array");
	if (json_array_size(jobs) > m->jobs_cap)
		return pcard_errf(err, cap, PCARD_E_NOSPACE, "jobs: more than %zu", m->jobs_cap);
	json_array_foreach(jobs, i, j) {
		pcard_bmsg_job *d = &m->jobs[i];
		int st = -1;

		if (!json_is_object(j) || pcard_json_unknown_member(j, job_keys) != NULL)
			return pcard_errf(err, cap, PCARD_E_BAD_ENCODING,
			    "jobs[%zu]: not a job", i);
		v = json_object_get(j, "id");
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    (uint64_t)json_integer_value(v) >= MAX_JOB_ID)
			return pcard_errf(err, cap, PCARD_E_BAD_ENCODING,
			    "jobs[%zu].id: not 0..2^53-1", i);
		d->id = (uint64_t)json_integer_value(v);
		v = json_object_get(j, "state");
		for (int s = 0; s < 4 && json_is_string(v); s++)
			if (strcmp(states[s], json_string_value(v)) == 0)
				st = s;
		if (st < 0)
			return pcard_errf(err, cap, PCARD_E_BAD_ENCODING,
			    "jobs[%zu].state: unknown", i);
		d->state = st;
		d->sw = 0;
		if ((v = json_object_get(j, "sw")) != NULL && sw_field(v, &d->sw) != PCARD_OK)
			return pcard_errf(err, cap, PCARD_E_BAD_ENCODING,
			    "jobs[%zu].sw: not 4 hex digits",
			    i);
		d->why[0] = '\0';
		if ((v = json_object_get(j, "why")) != NULL &&
		    text_field(v, d->why, sizeof d->why) != PCARD_OK)
			return pcard_errf(err, cap, PCARD_E_BAD_ENCODING,
			    "jobs[%zu].why: not text of at "
			    "most %u bytes", i, PCARD_BMSG_TEXT_MAX);
	}
	m->njobs = json_array_size(jobs);
	return PCARD_OK;
}

static pcard_err
parse_error(json_t *root, pcard_bmsg *m, char *err, size_t cap)
{
	static const char *const keys[] = { "code", "message", "retry", NULL };
	json_t *e = json_object_get(root, "error"), *v;

	if (!json_is_object(e) || pcard_json_unknown_member(e, keys) != NULL)
		return pcard_errf(err, cap, PCARD_E_BAD_ENCODING, "error: not an error object");
	if (text_field(json_object_get(e, "code"), m->code, sizeof m->code) != PCARD_OK ||
	    m->code[0] == '\0')
		return pcard_errf(err, cap, PCARD_E_BAD_ENCODING,
		    "error.code: missing or too long");
	if (text_field(json_object_get(e, "message"), m->message, sizeof m->message) != PCARD_OK)
		return pcard_errf(err, cap, PCARD_E_BAD_ENCODING,
		    "error.message: missing or too long");
	if ((v = json_object_get(e, "retry")) != NULL) {
		if (!json_is_boolean(v))
			return pcard_errf(err, cap, PCARD_E_BAD_ENCODING,
			    "error.retry: not a boolean");
		m->retry = json_is_true(v);
	}
	return PCARD_OK;
}

pcard_err
pcard_bmsg_parse(const char *json, size_t n, pcard_bmsg *m, char *err, size_t err_cap)
{
	static const char *const allowed[6][8] = {
		{ NULL },
		{ "v", "type", "session", "step", "agent", "relay", "card", NULL },
		{ "v", "type", "session", "step", "steps", NULL },
		{ "v", "type", "session", "step", "responses", "stop", NULL },
		{ "v", "type", "session", "step", "jobs", NULL },
		{ "v", "type", "session", "step", "error", NULL },
	};
	json_error_t je;
	json_t *root = NULL, *v;
	const char *bad;
	pcard_bmsg_step *steps;
	pcard_bmsg_rsp *rsps;
	pcard_bmsg_job *jobs;
	size_t sc, rc, jc;
	int type;
	pcard_err e = PCARD_E_INTERNAL;

	if (m == NULL || (json == NULL && n > 0))
		return PCARD_E_INVALID_ARG;
	steps = m->steps;
	rsps = m->rsps;
	jobs = m->jobs;
	sc = m->steps_cap;
	rc = m->rsps_cap;
	jc = m->jobs_cap;
	pcard_bmsg_init(m, steps, sc, rsps, rc, jobs, jc);
	if (n > PCARD_BMSG_MAX_BYTES) {
		e = pcard_errf(err, err_cap, PCARD_E_BAD_ENCODING, "message over %u bytes",
		    PCARD_BMSG_MAX_BYTES);
		goto out;
	}
	root = json_loadb(json, n, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL) {
		e = pcard_errf(err, err_cap, PCARD_E_BAD_ENCODING,
		    "not JSON: %s (offset %d)", je.text,
		    je.position);
		goto out;
	}
	if (!json_is_object(root)) {
		e = pcard_errf(err, err_cap, PCARD_E_BAD_ENCODING, "not a JSON object");
		goto out;
	}
	v = json_object_get(root, "v");
	if (!json_is_integer(v)) {
		e = pcard_errf(err, err_cap, PCARD_E_BAD_ENCODING, "v: missing or not an integer");
		goto out;
	}
	if (json_integer_value(v) != PCARD_BMSG_VERSION) {
		e = pcard_errf(err, err_cap, PCARD_E_UNSUPPORTED,
		    "v: protocol version %lld, this side "
		    "speaks %d", (long long)json_integer_value(v), PCARD_BMSG_VERSION);
		goto out;
	}
	if ((type = name_index(type_names, 6, json_object_get(root, "type"))) < 0) {
		e = pcard_errf(err, err_cap, PCARD_E_BAD_ENCODING, "type: missing or unknown");
		goto out;
	}
	m->type = type;
	if ((bad = pcard_json_unknown_member(root, allowed[type])) != NULL) {
		e = pcard_errf(err, err_cap, PCARD_E_BAD_ENCODING, "%s: unknown member", bad);
		goto out;
	}
	if (text_field(json_object_get(root, "session"), m->session, sizeof m->session) !=
	    PCARD_OK || !id_ok(m->session, type == PCARD_BMSG_HELLO) ||
	    (type == PCARD_BMSG_HELLO && m->session[0] != '\0')) {
		e = pcard_errf(err, err_cap, PCARD_E_BAD_ENCODING, "session: not an id of 1..%d of "
		    "[A-Za-z0-9_-] (\"\" in a hello)", PCARD_BMSG_ID_MAX);
		goto out;
	}
	v = json_object_get(root, "step");
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > (json_int_t)MAX_STEP ||
	    (type == PCARD_BMSG_HELLO && json_integer_value(v) != 0)) {
		e = pcard_errf(err, err_cap, PCARD_E_BAD_ENCODING, "step: not 0..%u (0 in a hello)",
		    MAX_STEP);
		goto out;
	}
	m->step = (uint32_t)json_integer_value(v);
	switch (type) {
	case PCARD_BMSG_HELLO:
		e = parse_hello(root, m, err, err_cap);
		break;
	case PCARD_BMSG_BUNDLE:
		e = parse_bundle(root, m, err, err_cap);
		break;
	case PCARD_BMSG_RESPONSES:
		e = parse_responses(root, m, err, err_cap);
		break;
	case PCARD_BMSG_RESULT:
		e = parse_result(root, m, err, err_cap);
		break;
	default:
		e = parse_error(root, m, err, err_cap);
		break;
	}
out:
	json_decref(root);
	if (e != PCARD_OK) {
		pcard_bmsg_init(m, steps, sc, rsps, rc, jobs, jc);
	}
	return e;
}

/* ---- encoding ---- */

static json_t *
hex_json(const uint8_t *p, size_t n)
{
	char buf[2 * 512 + 1];

	if (n > 512 || pcard_hex_encode(p, n, buf, sizeof buf) != PCARD_OK)
		return NULL;
	return json_string(buf);
}

static json_t *
sw_json(uint16_t sw)
{
	uint8_t b[2] = { (uint8_t)(sw >> 8), (uint8_t)sw };

	return hex_json(b, 2);
}

/* json_object_set_new that records a failure once. */
static void
put(json_t *o, const char *k, json_t *v, int *bad)
{
	if (v == NULL || json_object_set_new(o, k, v) != 0)
		*bad = 1;
}

static void
append(json_t *a, json_t *v, int *bad)
{
	if (v == NULL || json_array_append_new(a, v) != 0)
		*bad = 1;
}

pcard_err
pcard_bmsg_encode(const pcard_bmsg *m, char *out, size_t out_cap, size_t *out_len)
{
	static const char *const states[] = { "unknown", "done", "failed", "not-done" };
	json_t *root = NULL, *o, *a, *x;
	char *s = NULL;
	size_t n;
	int bad = 0;
	pcard_err err = PCARD_E_INTERNAL;

	if (m == NULL || out == NULL || out_len == NULL)
		return PCARD_E_INVALID_ARG;
	if (m->type < PCARD_BMSG_HELLO || m->type > PCARD_BMSG_ERROR ||
	    !id_ok(m->session, m->type == PCARD_BMSG_HELLO) || m->step > MAX_STEP)
		return PCARD_E_INVALID_ARG;
	if ((root = json_object()) == NULL)
		return PCARD_E_NOMEM;
	put(root, "v", json_integer(PCARD_BMSG_VERSION), &bad);
	put(root, "type", json_string(type_names[m->type]), &bad);
	put(root, "session", json_string(m->session), &bad);
	put(root, "step", json_integer(m->step), &bad);
	switch (m->type) {
	case PCARD_BMSG_HELLO: {
		static const char *const names[] = { "atr", "fci", "cplc", "iin", "cin", "kdd",
			"seq" };
		const pcard_bmsg_bytes *src[] = { &m->atr, &m->fci, &m->cplc, &m->iin, &m->cin,
			&m->kdd, &m->seq };

		if (m->agent[0] != '\0') {
			if (!id_ok(m->agent, 0)) {
				err = PCARD_E_INVALID_ARG;
				goto out;
			}
			put(root, "agent", json_string(m->agent), &bad);
		}
		put(root, "relay", json_boolean(m->relay), &bad);
		if ((o = json_object()) == NULL) {
			err = PCARD_E_NOMEM;
			goto out;
		}
		put(root, "card", o, &bad);
		for (size_t i = 0; i < 7; i++)
			if (src[i]->present)
				put(o, names[i], hex_json(src[i]->b, src[i]->len), &bad);
		break;
	}
	case PCARD_BMSG_BUNDLE:
		if ((a = json_array()) == NULL) {
			err = PCARD_E_NOMEM;
			goto out;
		}
		put(root, "steps", a, &bad);
		for (size_t i = 0; i < m->nsteps && !bad; i++) {
			json_t *ex = json_array();

			if ((o = json_object()) == NULL || ex == NULL ||
			    m->steps[i].n_expect > PCARD_BUNDLE_MAX_EXPECT) {
				json_decref(o);
				json_decref(ex);
				bad = 1;
				break;
			}
			append(a, o, &bad);
			put(o, "apdu", hex_json(m->steps[i].apdu, m->steps[i].apdu_len), &bad);
			put(o, "expect", ex, &bad);
			for (size_t k = 0; k < m->steps[i].n_expect; k++)
				append(ex, sw_json(m->steps[i].expect[k]), &bad);
		}
		break;
	case PCARD_BMSG_RESPONSES:
		if ((a = json_array()) == NULL || m->stop < PCARD_BMSG_STOP_COMPLETE ||
		    m->stop > PCARD_BMSG_STOP_CARD_ERROR) {
			json_decref(a);
			err = PCARD_E_INVALID_ARG;
			goto out;
		}
		put(root, "responses", a, &bad);
		for (size_t i = 0; i < m->nrsps; i++)
			append(a, hex_json(m->rsps[i].b, m->rsps[i].len), &bad);
		put(root, "stop", json_string(stop_names[m->stop]), &bad);
		break;
	case PCARD_BMSG_RESULT:
		if ((a = json_array()) == NULL) {
			err = PCARD_E_NOMEM;
			goto out;
		}
		put(root, "jobs", a, &bad);
		for (size_t i = 0; i < m->njobs && !bad; i++) {
			const pcard_bmsg_job *j = &m->jobs[i];

			if (j->state < 0 || j->state > 3 || j->id >= MAX_JOB_ID ||
			    (o = json_object()) == NULL) {
				bad = 1;
				break;
			}
			append(a, o, &bad);
			put(o, "id", json_integer((json_int_t)j->id), &bad);
			put(o, "state", json_string(states[j->state]), &bad);
			if (j->sw != 0)
				put(o, "sw", sw_json(j->sw), &bad);
			if (j->why[0] != '\0')
				put(o, "why", json_string(j->why), &bad);
		}
		break;
	default:
		if ((x = json_object()) == NULL) {
			err = PCARD_E_NOMEM;
			goto out;
		}
		put(root, "error", x, &bad);
		put(x, "code", json_string(m->code), &bad);
		put(x, "message", json_string(m->message), &bad);
		put(x, "retry", json_boolean(m->retry), &bad);
		break;
	}
	if (bad) {
		err = PCARD_E_INVALID_ARG;
		goto out;
	}
	if ((s = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER)) == NULL) {
		err = PCARD_E_NOMEM;
		goto out;
	}
	n = strlen(s);
	*out_len = n;
	if (n + 1 > out_cap) {
		err = PCARD_E_NOSPACE;
		goto out;
	}
	memcpy(out, s, n + 1);
	err = PCARD_OK;
out:
	free(s);
	json_decref(root);
	return err;
}

pcard_err
pcard_bmsg_from_bundle(pcard_bmsg *m, const pcard_bundle *b)
{
	if (m == NULL || b == NULL)
		return PCARD_E_INVALID_ARG;
	if (b->n > m->steps_cap)
		return PCARD_E_NOSPACE;
	for (size_t i = 0; i < b->n; i++) {
		memcpy(m->steps[i].apdu, b->steps[i].apdu, b->steps[i].apdu_len);
		m->steps[i].apdu_len = b->steps[i].apdu_len;
		memcpy(m->steps[i].expect, b->steps[i].expect, sizeof m->steps[i].expect);
		m->steps[i].n_expect = b->steps[i].n_expect;
	}
	m->type = PCARD_BMSG_BUNDLE;
	m->nsteps = b->n;
	return PCARD_OK;
}
