/*
 * srv_admin.c: the admin API (docs/api.md), behind the bearer token checked in srv_http.c.
 *
 *   POST /admin/v1/loadfiles            body: a CAP file (application/octet-stream)
 *   GET  /admin/v1/loadfiles            the catalogue
 *   GET  /admin/v1/loadfiles/{id}
 *   POST /admin/v1/cards                register a card
 *   GET  /admin/v1/cards/{id}           the card's view: record, contents as last seen, jobs
 *   POST /admin/v1/cards/{id}/jobs      queue a job
 *   GET  /admin/v1/cards/{id}/jobs      its jobs (?state=queued,...)
 *   GET  /admin/v1/jobs/{id}            job status
 *   POST /admin/v1/jobs/{id}/cancel     queued -> failed ("cancelled")
 *   POST /admin/v1/agents               register an agent (certificate fingerprint)
 *   GET  /admin/v1/agents/{id}
 *   GET  /admin/v1/profiles/{name}
 *   GET  /admin/v1/audit                ?after=N&limit=M
 *   GET  /admin/v1/audit/verify
 *
 * Every request is validated completely before the store is touched; every change is one
 * store transaction holding the change and its audit record, so a refused request leaves
 * the store (audit log included) as it was.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "postcard/bytes.h"
#include "postcard/cap.h"
#include "postcard/crypto.h"
#include "postcard/tlv.h"
#include "hsm.h"
#include "server.h"
#include "store.h"

#define SEG_MAX 4
#define SEG_LEN 128
#define AUDIT_PAGE_MAX 1000
#define ITEMS_MAX 224		/* bundle.h PCARD_JOB_ITEMS_MAX: one STORE DATA message */
#define INSTALL_PARAMS_MAX 128	/* bundle.h PCARD_JOB_PARAMS_MAX */

typedef struct path_segs {
	char s[SEG_MAX][SEG_LEN + 1];
	size_t n;
} path_segs;

/* Split what follows /admin/v1/ into segments; 0 when malformed. */
static int
split_path(const char *path, path_segs *p)
{
	const char *q;

	memset(p, 0, sizeof *p);
	if (strncmp(path, "/admin/v1/", 10) != 0)
		return 0;
	q = path + 10;
	while (*q != '\0') {
		size_t len = strcspn(q, "/");

		if (len == 0 || len > SEG_LEN || p->n == SEG_MAX)
			return 0;
		memcpy(p->s[p->n++], q, len);
		q += len;
		if (*q == '/') {
			q++;
			if (*q == '\0')
				return 0;
		}
	}
	return p->n > 0;
}

static unsigned
store_error(pcard_err e, json_t **out, const char *what)
{
	const char *code;
	unsigned st = pcard_srv_status_of(e, &code);

	return pcard_srv_error(out, st, code, "%s: %s", what, pcard_strerror(e));
}

/* Commit a change opened with pcard_store_begin, with its audit record; roll back on error. */
static pcard_err
audit_commit(pcard_store *st, const char *action, const char *subject, const json_t *details)
{
	pcard_err e;

	if ((e = pcard_store_audit_append(st, "admin", action, subject, details, NULL)) !=
	    PCARD_OK || (e = pcard_store_commit(st)) != PCARD_OK)
		pcard_store_rollback(st);
	return e;
}

static int
parse_id(const char *s, int64_t *id)
{
	char *end = NULL;
	long long v;

	if (s[0] < '1' || s[0] > '9' || strlen(s) > 18)
		return 0;
	v = strtoll(s, &end, 10);
	if (*end != '\0' || v <= 0)
		return 0;
	*id = v;
	return 1;
}

/* A card id: 2..64 hex digits, even count; upper-cased into out. */
static int
card_id_ok(const char *s, char out[PCARD_STORE_ID_MAX + 1])
{
	size_t n = strlen(s), i;

	if (n < 2 || n > PCARD_STORE_ID_MAX || n % 2 != 0)
		return 0;
	for (i = 0; i < n; i++) {
		int d = pcard_hex_digit((unsigned char)s[i]);

		if (d < 0)
			return 0;
		out[i] = "0123456789ABCDEF"[d];
	}
	out[n] = '\0';
	return 1;
}

/* ------------------------------------------------------------------------------------------ */
/* JSON views */

static json_t *
card_json(const pcard_store_card *c)
{
	json_t *kv = json_array(), *o;
	size_t i;

	for (i = 0; kv != NULL && i < c->n_kvn; i++)
		json_array_append_new(kv, json_integer(c->kvn[i]));
	o = json_pack("{s:s,s:o,s:s?,s:i,s:o,s:i,s:i,s:I,s:I,s:I}",
	    "id", c->id,
	    "kdd", pcard_srv_json_hex(c->kdd, c->kdd_len),
	    "profile", c->profile[0] != '\0' ? c->profile : NULL,
	    "life_cycle", (int)c->life_cycle,
	    "key_versions", kv,
	    "scp", (int)c->scp, "i", (int)c->i,
	    "last_seen", (json_int_t)c->last_seen,
	    "created", (json_int_t)c->created, "updated", (json_int_t)c->updated);
	return o;
}

static json_t *
job_json(const pcard_store_job *j)
{
	return json_pack("{s:I,s:s,s:s,s:s,s:o,s:O?,s:s?,s:i,s:s?,s:I,s:I}",
	    "id", (json_int_t)j->id, "card", j->card,
	    "type", pcard_job_type_name(j->type), "state", pcard_job_state_name(j->state),
	    "params", j->params != NULL ? json_incref(j->params) : json_object(),
	    "result", j->result,
	    "reason", j->reason[0] != '\0' ? j->reason : NULL,
	    "attempts", (int)j->attempts,
	    "session", j->session[0] != '\0' ? j->session : NULL,
	    "created", (json_int_t)j->created, "updated", (json_int_t)j->updated);
}

static json_t *
loadfile_json(const pcard_store_loadfile *lf)
{
	return json_pack("{s:I,s:o,s:s,s:O,s:o,s:s,s:I,s:I}",
	    "id", (json_int_t)lf->id, "aid", pcard_srv_json_hex(lf->aid, lf->aid_len),
	    "version", lf->version, "applets", lf->applets != NULL ? lf->applets : json_array(),
	    "lfdb_hash", pcard_srv_json_hex(lf->lfdb_hash, lf->lfdb_hash_len),
	    "lfdb_hash_alg", lf->lfdb_hash_len == 32 ? "sha256" : "other",
	    "size", (json_int_t)lf->size, "created", (json_int_t)lf->created);
}

static json_t *
agent_json(const pcard_store_agent *a)
{
	return json_pack("{s:s,s:s,s:s,s:I,s:I}", "id", a->id, "name", a->name,
	    "fingerprint", a->fingerprint, "last_seen", (json_int_t)a->last_seen,
	    "created", (json_int_t)a->created);
}

static json_t *
profile_json(const pcard_store_profile *p)
{
	json_t *labels = json_array();
	size_t i;

	for (i = 0; labels != NULL && i < p->n_labels; i++)
		json_array_append_new(labels, json_string(p->labels[i]));
	return json_pack("{s:s,s:o,s:s,s:i,s:i,s:i,s:b}", "name", p->name, "labels", labels,
	    "template", p->template, "kvn", (int)p->kvn, "scp", (int)p->scp, "i", (int)p->i,
	    "enrol", p->enrol_allowed);
}

/* ------------------------------------------------------------------------------------------ */
/* Start-up: profiles and agents from the configuration */

static int
profile_same(const pcard_store_profile *a, const pcard_store_profile *b)
{
	size_t i;

	if (a->n_labels != b->n_labels || strcmp(a->template, b->template) != 0 ||
	    a->kvn != b->kvn || a->scp != b->scp || a->i != b->i ||
	    a->enrol_allowed != b->enrol_allowed)
		return 0;
	for (i = 0; i < a->n_labels; i++)
		if (strcmp(a->labels[i], b->labels[i]) != 0)
			return 0;
	return 1;
}

static pcard_err
sync_one(pcard_store *st, const char *action, const char *subject, json_t *details,
    pcard_err (*put)(pcard_store *, const void *), const void *obj)
{
	pcard_err e;

	if ((e = pcard_store_begin(st)) != PCARD_OK)
		return e;
	if ((e = put(st, obj)) != PCARD_OK ||
	    (e = pcard_store_audit_append(st, "server", action, subject, details, NULL)) !=
	    PCARD_OK || (e = pcard_store_commit(st)) != PCARD_OK)
		pcard_store_rollback(st);
	return e;
}

static pcard_err
put_profile(pcard_store *st, const void *p)
{
	return pcard_store_profile_put(st, p);
}

static pcard_err
put_agent(pcard_store *st, const void *a)
{
	return pcard_store_agent_put(st, a);
}

pcard_err
pcard_srv_admin_sync_config(pcard_srv *srv, char *err, size_t err_cap)
{
	size_t idx, j;
	json_t *p, *l;
	pcard_err e = PCARD_OK;

	json_array_foreach(srv->cfg.profiles, idx, p) {
		pcard_store_profile want, have;
		json_t *labels = json_object_get(p, "labels"), *det;

		memset(&want, 0, sizeof want);
		snprintf(want.name, sizeof want.name, "%s",
		    json_string_value(json_object_get(p, "name")));
		json_array_foreach(labels, j, l)
			snprintf(want.labels[j], sizeof want.labels[j], "%s", json_string_value(l));
		want.n_labels = json_array_size(labels);
		snprintf(want.template, sizeof want.template, "%s",
		    json_string_value(json_object_get(p, "template")));
		want.kvn = (uint8_t)json_integer_value(json_object_get(p, "kvn"));
		want.scp = (uint8_t)json_integer_value(json_object_get(p, "scp"));
		want.i = (uint8_t)json_integer_value(json_object_get(p, "i"));
		want.enrol_allowed = json_is_true(json_object_get(p, "enrol"));
		e = pcard_store_profile_get(srv->st, want.name, &have);
		if (e == PCARD_OK && profile_same(&want, &have))
			continue;
		if (e != PCARD_OK && e != PCARD_E_NOT_FOUND)
			break;
		det = profile_json(&want);
		e = sync_one(srv->st, "profile.put", want.name, det, put_profile, &want);
		json_decref(det);
		if (e != PCARD_OK)
			break;
	}
	if (e != PCARD_OK) {
		snprintf(err, err_cap, "profiles: %s", pcard_strerror(e));
		return e;
	}
	json_array_foreach(srv->cfg.agents, idx, p) {
		pcard_store_agent want, have;
		const char *name = json_string_value(json_object_get(p, "name"));
		json_t *det;

		memset(&want, 0, sizeof want);
		snprintf(want.id, sizeof want.id, "%s", json_string_value(json_object_get(p, "id")));
		snprintf(want.name, sizeof want.name, "%s", name != NULL ? name : want.id);
		snprintf(want.fingerprint, sizeof want.fingerprint, "%s",
		    json_string_value(json_object_get(p, "fingerprint")));
		for (j = 0; want.fingerprint[j] != '\0'; j++)
			if (want.fingerprint[j] >= 'A' && want.fingerprint[j] <= 'F')
				want.fingerprint[j] = (char)(want.fingerprint[j] - 'A' + 'a');
		e = pcard_store_agent_get(srv->st, want.id, &have);
		if (e == PCARD_OK && strcmp(have.fingerprint, want.fingerprint) == 0 &&
		    strcmp(have.name, want.name) == 0)
			continue;
		if (e != PCARD_OK && e != PCARD_E_NOT_FOUND)
			break;
		det = json_pack("{s:s,s:s}", "name", want.name, "fingerprint", want.fingerprint);
		e = sync_one(srv->st, "agent.put", want.id, det, put_agent, &want);
		json_decref(det);
		if (e != PCARD_OK)
			break;
	}
	if (e != PCARD_OK) {
		snprintf(err, err_cap, "agents: %s", pcard_strerror(e));
		return e;
	}
	return PCARD_OK;
}

unsigned
pcard_srv_agent_lookup(pcard_srv *srv, const char *fingerprint, char *id, size_t id_cap,
    json_t **out)
{
	pcard_store_agent a;
	pcard_err e = pcard_store_agent_find(srv->st, fingerprint, &a);

	if (e == PCARD_E_NOT_FOUND)
		return pcard_srv_error(out, 403, "unknown_agent",
		    "no agent is registered with this certificate (SHA-256 %s)", fingerprint);
	if (e != PCARD_OK)
		return store_error(e, out, "agent lookup");
	snprintf(id, id_cap, "%s", a.id);
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Load files */

static unsigned loadfile_get(pcard_srv *srv, const char *ids, json_t **out);

static unsigned
loadfile_upload(pcard_srv *srv, const pcard_srv_req *rq, json_t **out)
{
	pcard_cap *cap = NULL;
	const pcard_cap_info *ci;
	pcard_store_loadfile lf;
	uint8_t *data = NULL;
	size_t n = 0, k;
	json_t *applets = NULL, *det = NULL;
	unsigned st;
	pcard_err e;

	memset(&lf, 0, sizeof lf);
	if (rq->content_type == NULL ||
	    strncmp(rq->content_type, "application/octet-stream", 24) != 0) {
		st = pcard_srv_error(out, 415, "bad_content_type",
		    "upload the CAP file as application/octet-stream");
		goto out;
	}
	if (rq->body_len == 0) {
		st = pcard_srv_error(out, 400, "bad_cap", "the body is empty");
		goto out;
	}
	if ((e = pcard_cap_open_mem(rq->body, rq->body_len, &cap)) != PCARD_OK) {
		st = pcard_srv_error(out, e == PCARD_E_UNSUPPORTED ? 422 : 400, "bad_cap",
		    "not a usable CAP file: %s", pcard_strerror(e));
		goto out;
	}
	ci = pcard_cap_get_info(cap);
	n = pcard_cap_load_file_len(cap, 0);
	if ((data = malloc(n)) == NULL ||
	    (applets = json_array()) == NULL) {
		st = pcard_srv_error(out, 500, "internal", "out of memory");
		goto out;
	}
	if ((e = pcard_cap_load_file(cap, 0, data, n, &n)) != PCARD_OK ||
	    (e = pcard_cap_lfdb_hash(cap, 0, PCARD_HASH_SHA256, lf.lfdb_hash, sizeof lf.lfdb_hash,
	    &lf.lfdb_hash_len)) != PCARD_OK) {
		st = pcard_srv_error(out, 400, "bad_cap", "load file: %s", pcard_strerror(e));
		goto out;
	}
	for (k = 0; k < ci->napplets; k++)
		json_array_append_new(applets, pcard_srv_json_hex(ci->applets[k].aid.b,
		    ci->applets[k].aid.len));
	memcpy(lf.aid, ci->package.b, ci->package.len);
	lf.aid_len = ci->package.len;
	snprintf(lf.version, sizeof lf.version, "%u.%u", ci->pkg_major, ci->pkg_minor);
	lf.applets = applets;
	lf.size = n;
	lf.data = data;

	det = json_pack("{s:o,s:s,s:O,s:o,s:I}", "aid", pcard_srv_json_hex(lf.aid, lf.aid_len),
	    "version", lf.version, "applets", applets,
	    "lfdb_hash", pcard_srv_json_hex(lf.lfdb_hash, lf.lfdb_hash_len), "size",
	    (json_int_t)n);
	if ((e = pcard_store_begin(srv->st)) != PCARD_OK) {
		st = store_error(e, out, "store");
		goto out;
	}
	if ((e = pcard_store_loadfile_add(srv->st, &lf, &lf.id)) != PCARD_OK) {
		pcard_store_rollback(srv->st);
		st = e == PCARD_E_EXISTS ? pcard_srv_error(out, 409, "exists",
		    "load file %s version %s is already in the catalogue",
		    json_string_value(json_object_get(det, "aid")), lf.version) :
		    store_error(e, out, "load file");
		goto out;
	}
	json_object_set_new(det, "id", json_integer(lf.id));
	if ((e = audit_commit(srv->st, "loadfile.add", json_string_value(json_object_get(det,
	    "aid")), det)) != PCARD_OK) {
		st = store_error(e, out, "store");
		goto out;
	}
	{
		char ids[32];

		snprintf(ids, sizeof ids, "%lld", (long long)lf.id);
		if ((st = loadfile_get(srv, ids, out)) == 200)
			st = 201;
	}
out:
	json_decref(det);
	json_decref(applets);
	free(data);
	pcard_cap_free(cap);
	return st;
}

static unsigned
loadfile_list(pcard_srv *srv, json_t **out)
{
	pcard_store_loadfile *lfs = NULL;
	size_t n = 0, i;
	json_t *arr;
	pcard_err e = pcard_store_loadfile_list(srv->st, &lfs, &n);

	if (e != PCARD_OK)
		return store_error(e, out, "load files");
	arr = json_array();
	for (i = 0; arr != NULL && i < n; i++)
		json_array_append_new(arr, loadfile_json(&lfs[i]));
	pcard_store_loadfiles_free(lfs, n);
	json_decref(*out);
	*out = json_pack("{s:o}", "loadfiles", arr);
	return 200;
}

static unsigned
loadfile_get(pcard_srv *srv, const char *ids, json_t **out)
{
	pcard_store_loadfile lf;
	int64_t id;
	pcard_err e;

	if (!parse_id(ids, &id))
		return pcard_srv_error(out, 404, "not_found", "no load file '%.64s'", ids);
	if ((e = pcard_store_loadfile_get(srv->st, id, 0, &lf)) != PCARD_OK)
		return store_error(e, out, "load file");
	json_decref(*out);
	*out = loadfile_json(&lf);
	pcard_store_loadfile_clear(&lf);
	return 200;
}

/* ------------------------------------------------------------------------------------------ */
/* Cards */

static unsigned
card_register(pcard_srv *srv, const pcard_srv_req *rq, json_t **out)
{
	static const char *const allowed[] = { "id", "kdd", "profile", "scp", "i", "life_cycle",
		NULL };
	pcard_store_card c, old;
	pcard_store_profile prof;
	const char *id = NULL, *profile = NULL;
	uint64_t scp = 0, i = 0, lc = 0;
	int has_scp = 0, has_i = 0;
	json_t *body = NULL, *det = NULL;
	unsigned st;
	pcard_err e;

	memset(&c, 0, sizeof c);
	if ((st = pcard_srv_parse_object(rq, &body, out)) != 0 ||
	    (st = pcard_srv_only_members(body, allowed, "body", out)) != 0 ||
	    (st = pcard_srv_get_string(body, "id", 1, PCARD_STORE_ID_MAX, &id, out)) != 0 ||
	    (st = pcard_srv_get_hex(body, "kdd", 0, 1, PCARD_STORE_KDD_MAX, c.kdd, &c.kdd_len,
	    NULL, out)) != 0 ||
	    (st = pcard_srv_get_string(body, "profile", 1, PCARD_STORE_NAME_MAX, &profile,
	    out)) != 0 ||
	    (st = pcard_srv_get_uint(body, "scp", 0, 3, &scp, &has_scp, out)) != 0 ||
	    (st = pcard_srv_get_uint(body, "i", 0, 255, &i, &has_i, out)) != 0 ||
	    (st = pcard_srv_get_uint(body, "life_cycle", 0, 255, &lc, NULL, out)) != 0)
		goto out;
	if (!card_id_ok(id, c.id)) {
		st = pcard_srv_error(out, 400, "bad_value",
		    "'id' must be 2..64 hex digits (CPLC unique ID or IIN||CIN)");
		goto out;
	}
	if (has_scp && scp != 2 && scp != 3) {
		st = pcard_srv_error(out, 400, "bad_value", "'scp' must be 2 or 3");
		goto out;
	}
	if ((e = pcard_store_profile_get(srv->st, profile, &prof)) != PCARD_OK) {
		st = e == PCARD_E_NOT_FOUND ? pcard_srv_error(out, 422, "unknown_profile",
		    "no key profile '%.64s' (see the configuration's profiles)", profile) :
		    store_error(e, out, "profile");
		goto out;
	}
	snprintf(c.profile, sizeof c.profile, "%s", prof.name);
	c.scp = has_scp ? (uint8_t)scp : prof.scp;
	c.i = has_i ? (uint8_t)i : prof.i;
	c.life_cycle = (uint8_t)lc;
	c.kvn[0] = prof.kvn;
	c.n_kvn = 1;

	if ((e = pcard_store_begin(srv->st)) != PCARD_OK) {
		st = store_error(e, out, "store");
		goto out;
	}
	e = pcard_store_card_get(srv->st, c.id, &old);
	if (e == PCARD_OK) {
		pcard_store_rollback(srv->st);
		st = pcard_srv_error(out, 409, "exists", "card %s is already registered", c.id);
		goto out;
	}
	if (e != PCARD_E_NOT_FOUND || (e = pcard_store_card_put(srv->st, &c)) != PCARD_OK) {
		pcard_store_rollback(srv->st);
		st = store_error(e, out, "card");
		goto out;
	}
	det = card_json(&c);
	json_object_del(det, "created");
	json_object_del(det, "updated");
	if ((e = audit_commit(srv->st, "card.register", c.id, det)) != PCARD_OK) {
		st = store_error(e, out, "store");
		goto out;
	}
	if ((e = pcard_store_card_get(srv->st, c.id, &old)) != PCARD_OK) {
		st = store_error(e, out, "card");
		goto out;
	}
	json_decref(*out);
	*out = card_json(&old);
	st = 201;
out:
	json_decref(det);
	json_decref(body);
	return st;
}

static unsigned
parse_states(const char *s, unsigned *mask, json_t **out)
{
	static const pcard_job_state all[] = { PCARD_JOB_QUEUED, PCARD_JOB_IN_SESSION,
		PCARD_JOB_SENT, PCARD_JOB_DONE, PCARD_JOB_FAILED, PCARD_JOB_NEEDS_RECONCILE };
	char buf[256], *tok, *save = NULL;

	*mask = 0;
	if (s == NULL)
		return 0;
	if (strlen(s) >= sizeof buf)
		return pcard_srv_error(out, 400, "bad_value", "'state' is too long");
	snprintf(buf, sizeof buf, "%s", s);
	for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		size_t k;

		for (k = 0; k < sizeof all / sizeof all[0]; k++)
			if (strcmp(tok, pcard_job_state_name(all[k])) == 0)
				break;
		if (k == sizeof all / sizeof all[0])
			return pcard_srv_error(out, 400, "bad_value", "unknown job state '%.32s'", tok);
		*mask |= PCARD_JOB_STATE_BIT(all[k]);
	}
	return 0;
}

static json_t *
jobs_json(pcard_store *st, const char *card, unsigned mask, pcard_err *e)
{
	pcard_store_job *jobs = NULL;
	size_t n = 0, i;
	json_t *arr;

	if ((*e = pcard_store_job_list(st, card, mask, &jobs, &n)) != PCARD_OK)
		return NULL;
	arr = json_array();
	for (i = 0; arr != NULL && i < n; i++)
		json_array_append_new(arr, job_json(&jobs[i]));
	pcard_store_jobs_free(jobs, n);
	return arr;
}

static unsigned
card_view(pcard_srv *srv, const char *ids, json_t **out)
{
	pcard_store_card c;
	char id[PCARD_STORE_ID_MAX + 1];
	json_t *doc = NULL, *jobs;
	int64_t updated = 0;
	pcard_err e;

	if (!card_id_ok(ids, id))
		return pcard_srv_error(out, 404, "not_found", "no card '%.64s'", ids);
	if ((e = pcard_store_card_get(srv->st, id, &c)) != PCARD_OK)
		return store_error(e, out, "card");
	e = pcard_store_contents_get(srv->st, id, &doc, &updated);
	if (e != PCARD_OK && e != PCARD_E_NOT_FOUND)
		return store_error(e, out, "contents");
	if ((jobs = jobs_json(srv->st, id, 0, &e)) == NULL) {
		json_decref(doc);
		return store_error(e, out, "jobs");
	}
	json_decref(*out);
	*out = json_pack("{s:o,s:o,s:I,s:o}", "card", card_json(&c),
	    "contents", doc != NULL ? doc : json_null(), "contents_updated", (json_int_t)updated,
	    "jobs", jobs);
	return 200;
}

static unsigned
card_jobs(pcard_srv *srv, const pcard_srv_req *rq, const char *ids, json_t **out)
{
	pcard_store_card c;
	char id[PCARD_STORE_ID_MAX + 1];
	unsigned mask, st;
	json_t *jobs;
	pcard_err e;

	if (!card_id_ok(ids, id))
		return pcard_srv_error(out, 404, "not_found", "no card '%.64s'", ids);
	if ((st = parse_states(pcard_srv_query(rq, "state"), &mask, out)) != 0)
		return st;
	if ((e = pcard_store_card_get(srv->st, id, &c)) != PCARD_OK)
		return store_error(e, out, "card");
	if ((jobs = jobs_json(srv->st, id, mask, &e)) == NULL)
		return store_error(e, out, "jobs");
	json_decref(*out);
	*out = json_pack("{s:s,s:o}", "card", id, "jobs", jobs);
	return 200;
}

/* ------------------------------------------------------------------------------------------ */
/* Jobs */

static unsigned
get_aid(const json_t *p, const char *name, int required, uint8_t *aid, size_t *len,
    int *present, json_t **out)
{
	return pcard_srv_get_hex(p, name, required, 5, 16, aid, len, present, out);
}

/* Check params for type; *norm receives the normalised params stored with the job. */
static unsigned
job_params(pcard_srv *srv, pcard_job_type type, const json_t *p, json_t **norm, json_t **out)
{
	static const char *const m_install[] = { "loadfile", "module", "instance", "privileges",
		"params", NULL };
	static const char *const m_delete[] = { "aid", "related", NULL };
	static const char *const m_data[] = { "aid", "version", "expected", "items", "encrypt",
		NULL };
	static const char *const m_aid[] = { "aid", NULL };
	static const char *const m_none[] = { NULL };
	static const char *const m_term[] = { "confirm", NULL };
	static const char *const m_rotate[] = { "new_kvn", "profile", NULL };
	uint8_t aid[16], aid2[16], buf[INSTALL_PARAMS_MAX > ITEMS_MAX ? INSTALL_PARAMS_MAX :
	    ITEMS_MAX];
	size_t aid_len = 0, aid2_len = 0, blen = 0;
	uint64_t u = 0, u2 = 0;
	int has = 0, has2 = 0, b = 0;
	unsigned st;
	json_t *n = NULL;

	switch (type) {
	case PCARD_JOB_INSTALL: {
		pcard_store_loadfile lf;
		pcard_err e;
		size_t k;
		int found = 0;

		if ((st = pcard_srv_only_members(p, m_install, "params", out)) != 0 ||
		    (st = pcard_srv_get_uint(p, "loadfile", 1, INT64_MAX, &u, NULL, out)) != 0 ||
		    (st = get_aid(p, "module", 0, aid, &aid_len, &has, out)) != 0 ||
		    (st = get_aid(p, "instance", 0, aid2, &aid2_len, &has2, out)) != 0 ||
		    (st = pcard_srv_get_uint(p, "privileges", 0, 0xFFFFFF, &u2, NULL, out)) != 0 ||
		    (st = pcard_srv_get_hex(p, "params", 0, 0, INSTALL_PARAMS_MAX, buf, &blen, NULL,
		    out)) != 0)
			return st;
		if ((e = pcard_store_loadfile_get(srv->st, (int64_t)u, 0, &lf)) != PCARD_OK)
			return e == PCARD_E_NOT_FOUND ? pcard_srv_error(out, 422, "unknown_loadfile",
			    "no load file %llu in the catalogue", (unsigned long long)u) :
			    store_error(e, out, "load file");
		if (!has && json_array_size(lf.applets) > 0) {
			/* the first applet of the package */
			const char *h = json_string_value(json_array_get(lf.applets, 0));

			has = h != NULL && pcard_hex_decode(h, aid, sizeof aid, &aid_len) == PCARD_OK;
		}
		if (has) {
			for (k = 0; k < json_array_size(lf.applets); k++) {
				const char *h = json_string_value(json_array_get(lf.applets, k));
				uint8_t a[16];
				size_t al = 0;

				if (h != NULL && pcard_hex_decode(h, a, sizeof a, &al) == PCARD_OK &&
				    al == aid_len && memcmp(a, aid, al) == 0)
					found = 1;
			}
		}
		pcard_store_loadfile_clear(&lf);
		if (has && !found)
			return pcard_srv_error(out, 422, "bad_value",
			    "'module' is not an applet of load file %llu", (unsigned long long)u);
		if (has2 && !has)
			return pcard_srv_error(out, 422, "bad_value",
			    "'instance' given but load file %llu has no applet to install",
			    (unsigned long long)u);
		n = json_pack("{s:I,s:i}", "loadfile", (json_int_t)u, "privileges", (int)u2);
		if (has) {
			json_object_set_new(n, "module", pcard_srv_json_hex(aid, aid_len));
			json_object_set_new(n, "instance", has2 ? pcard_srv_json_hex(aid2, aid2_len) :
			    pcard_srv_json_hex(aid, aid_len));
		}
		json_object_set_new(n, "params", pcard_srv_json_hex(buf, blen));
		break;
	}
	case PCARD_JOB_DELETE:
		if ((st = pcard_srv_only_members(p, m_delete, "params", out)) != 0 ||
		    (st = get_aid(p, "aid", 1, aid, &aid_len, NULL, out)) != 0 ||
		    (st = pcard_srv_get_bool(p, "related", 0, &b, NULL, out)) != 0)
			return st;
		n = json_pack("{s:o,s:b}", "aid", pcard_srv_json_hex(aid, aid_len), "related", b);
		break;
	case PCARD_JOB_PERSONALISE:
	case PCARD_JOB_DATA_CHANGE: {
		pcard_rd r;

		if ((st = pcard_srv_only_members(p, m_data, "params", out)) != 0 ||
		    (st = get_aid(p, "aid", 1, aid, &aid_len, NULL, out)) != 0 ||
		    (st = pcard_srv_get_uint(p, "version", 1, UINT32_MAX, &u, NULL, out)) != 0 ||
		    (st = pcard_srv_get_uint(p, "expected", 0, UINT32_MAX, &u2, &has, out)) != 0 ||
		    (st = pcard_srv_get_hex(p, "items", 1, 1, ITEMS_MAX, buf, &blen, NULL, out)) !=
		    0 || (st = pcard_srv_get_bool(p, "encrypt", 0, &b, NULL, out)) != 0)
			return st;
		if (u == 0)
			return pcard_srv_error(out, 400, "bad_value", "'version' must be 1 or more");
		if (has && u2 >= u)
			return pcard_srv_error(out, 400, "bad_value",
			    "'expected' must be below 'version' (versions only move forward)");
		pcard_rd_init(&r, buf, blen);
		if (pcard_tlv_validate(&r) != PCARD_OK)
			return pcard_srv_error(out, 400, "bad_value",
			    "'items' must be well-formed BER-TLV data objects");
		n = json_pack("{s:o,s:I,s:o,s:b}", "aid", pcard_srv_json_hex(aid, aid_len),
		    "version", (json_int_t)u, "items", pcard_srv_json_hex(buf, blen), "encrypt", b);
		if (has)
			json_object_set_new(n, "expected", json_integer((json_int_t)u2));
		break;
	}
	case PCARD_JOB_LOCK_APP:
	case PCARD_JOB_UNLOCK_APP:
		if ((st = pcard_srv_only_members(p, m_aid, "params", out)) != 0 ||
		    (st = get_aid(p, "aid", 1, aid, &aid_len, NULL, out)) != 0)
			return st;
		n = json_pack("{s:o}", "aid", pcard_srv_json_hex(aid, aid_len));
		break;
	case PCARD_JOB_LOCK_CARD:
	case PCARD_JOB_UNLOCK_CARD:
		if ((st = pcard_srv_only_members(p, m_none, "params", out)) != 0)
			return st;
		n = json_object();
		break;
	case PCARD_JOB_TERMINATE:
		if ((st = pcard_srv_only_members(p, m_term, "params", out)) != 0 ||
		    (st = pcard_srv_get_bool(p, "confirm", 1, &b, NULL, out)) != 0)
			return st;
		if (!b)
			return pcard_srv_error(out, 400, "bad_value",
			    "terminating a card is irreversible: send \"confirm\": true");
		n = json_object();
		break;
	case PCARD_JOB_ROTATE_KEYS: {
		pcard_store_profile prof;
		const char *pname = NULL;
		pcard_err e;

		if ((st = pcard_srv_only_members(p, m_rotate, "params", out)) != 0 ||
		    (st = pcard_srv_get_uint(p, "new_kvn", 1, 0x7F, &u, NULL, out)) != 0 ||
		    (st = pcard_srv_get_string(p, "profile", 1, PCARD_STORE_NAME_MAX, &pname,
		    out)) != 0)
			return st;
		if (u == 0)
			return pcard_srv_error(out, 400, "bad_value", "'new_kvn' must be 1..127");
		if ((e = pcard_store_profile_get(srv->st, pname, &prof)) != PCARD_OK)
			return e == PCARD_E_NOT_FOUND ? pcard_srv_error(out, 422, "unknown_profile",
			    "no key profile '%.64s'", pname) : store_error(e, out, "profile");
		n = json_pack("{s:i,s:s}", "new_kvn", (int)u, "profile", prof.name);
		break;
	}
	default:
		return pcard_srv_error(out, 400, "bad_value", "unknown job type");
	}
	if (n == NULL)
		return pcard_srv_error(out, 500, "internal", "out of memory");
	*norm = n;
	return 0;
}

static unsigned
job_queue(pcard_srv *srv, const pcard_srv_req *rq, const char *ids, json_t **out)
{
	static const char *const allowed[] = { "type", "params", NULL };
	pcard_store_card c;
	pcard_store_job j;
	char id[PCARD_STORE_ID_MAX + 1];
	const char *tname = NULL;
	pcard_job_type type;
	json_t *body = NULL, *params, *norm = NULL, *det = NULL, *empty = NULL;
	int64_t jid = 0;
	unsigned st;
	pcard_err e;

	memset(&j, 0, sizeof j);
	if (!card_id_ok(ids, id))
		return pcard_srv_error(out, 404, "not_found", "no card '%.64s'", ids);
	if ((st = pcard_srv_parse_object(rq, &body, out)) != 0 ||
	    (st = pcard_srv_only_members(body, allowed, "body", out)) != 0 ||
	    (st = pcard_srv_get_string(body, "type", 1, 32, &tname, out)) != 0)
		goto out;
	if (pcard_job_type_from_name(tname, &type) != PCARD_OK) {
		st = pcard_srv_error(out, 400, "bad_value",
		    "unknown job type '%.32s' (install, delete, personalise, data-change, lock-app, "
		    "unlock-app, lock-card, unlock-card, terminate, rotate-keys)", tname);
		goto out;
	}
	params = json_object_get(body, "params");
	if (params == NULL)
		params = empty = json_object();
	if (!json_is_object(params)) {
		st = pcard_srv_error(out, 400, "bad_type", "'params' must be an object");
		goto out;
	}
	if ((e = pcard_store_card_get(srv->st, id, &c)) != PCARD_OK) {
		st = e == PCARD_E_NOT_FOUND ? pcard_srv_error(out, 404, "not_found",
		    "card %s is not registered", id) : store_error(e, out, "card");
		goto out;
	}
	if (c.life_cycle == 0xFF) {
		st = pcard_srv_error(out, 409, "state", "card %s is terminated", id);
		goto out;
	}
	if ((st = job_params(srv, type, params, &norm, out)) != 0)
		goto out;

	if ((e = pcard_store_begin(srv->st)) != PCARD_OK) {
		st = store_error(e, out, "store");
		goto out;
	}
	if ((e = pcard_store_job_enqueue(srv->st, id, type, norm, &jid)) != PCARD_OK) {
		pcard_store_rollback(srv->st);
		st = store_error(e, out, "job");
		goto out;
	}
	det = json_pack("{s:I,s:s,s:O}", "job", (json_int_t)jid, "type", pcard_job_type_name(type),
	    "params", norm);
	if ((e = audit_commit(srv->st, "job.queue", id, det)) != PCARD_OK) {
		st = store_error(e, out, "store");
		goto out;
	}
	if ((e = pcard_store_job_get(srv->st, jid, &j)) != PCARD_OK) {
		st = store_error(e, out, "job");
		goto out;
	}
	json_decref(*out);
	*out = job_json(&j);
	st = 201;
out:
	pcard_store_job_clear(&j);
	json_decref(det);
	json_decref(norm);
	json_decref(empty);
	json_decref(body);
	return st;
}

static unsigned
job_status(pcard_srv *srv, const char *ids, json_t **out)
{
	pcard_store_job j;
	int64_t id;
	pcard_err e;

	if (!parse_id(ids, &id))
		return pcard_srv_error(out, 404, "not_found", "no job '%.64s'", ids);
	if ((e = pcard_store_job_get(srv->st, id, &j)) != PCARD_OK)
		return store_error(e, out, "job");
	json_decref(*out);
	*out = job_json(&j);
	pcard_store_job_clear(&j);
	return 200;
}

static unsigned
job_cancel(pcard_srv *srv, const pcard_srv_req *rq, const char *ids, json_t **out)
{
	pcard_store_job j;
	json_t *det;
	int64_t id;
	pcard_err e;

	memset(&j, 0, sizeof j);
	if (!parse_id(ids, &id))
		return pcard_srv_error(out, 404, "not_found", "no job '%.64s'", ids);
	if (rq->body_len != 0)
		return pcard_srv_error(out, 400, "bad_json", "cancel takes no body");
	if ((e = pcard_store_begin(srv->st)) != PCARD_OK)
		return store_error(e, out, "store");
	if ((e = pcard_store_job_transition(srv->st, id, PCARD_JOB_QUEUED, PCARD_JOB_FAILED, NULL,
	    NULL, "cancelled by the admin")) != PCARD_OK) {
		pcard_store_rollback(srv->st);
		if (e == PCARD_E_CONFLICT || e == PCARD_E_STATE)
			return pcard_srv_error(out, 409, "state",
			    "job %lld is no longer queued: only queued jobs can be cancelled",
			    (long long)id);
		return store_error(e, out, "job");
	}
	det = json_pack("{s:I}", "job", (json_int_t)id);
	if ((e = pcard_store_job_get(srv->st, id, &j)) != PCARD_OK ||
	    (e = audit_commit(srv->st, "job.cancel", j.card, det)) != PCARD_OK) {
		if (e != PCARD_OK)
			pcard_store_rollback(srv->st);
		json_decref(det);
		pcard_store_job_clear(&j);
		return store_error(e, out, "store");
	}
	json_decref(det);
	pcard_store_job_clear(&j);
	return job_status(srv, ids, out);
}

/* ------------------------------------------------------------------------------------------ */
/* Agents, profiles, audit */

static unsigned
agent_register(pcard_srv *srv, const pcard_srv_req *rq, json_t **out)
{
	static const char *const allowed[] = { "id", "name", "fingerprint", NULL };
	pcard_store_agent a, old;
	const char *id = NULL, *name = NULL;
	uint8_t fp[PCARD_STORE_HASH_BYTES];
	size_t fplen = 0, k;
	json_t *body = NULL, *det = NULL;
	unsigned st;
	pcard_err e;

	memset(&a, 0, sizeof a);
	if ((st = pcard_srv_parse_object(rq, &body, out)) != 0 ||
	    (st = pcard_srv_only_members(body, allowed, "body", out)) != 0 ||
	    (st = pcard_srv_get_string(body, "id", 1, PCARD_STORE_ID_MAX, &id, out)) != 0 ||
	    (st = pcard_srv_get_string(body, "name", 0, PCARD_STORE_NAME_MAX, &name, out)) != 0 ||
	    (st = pcard_srv_get_hex(body, "fingerprint", 1, sizeof fp, sizeof fp, fp, &fplen,
	    NULL, out)) != 0)
		goto out;
	if (!pcard_srv_is_ident(id, PCARD_STORE_ID_MAX)) {
		st = pcard_srv_error(out, 400, "bad_value", "'id' must be 1..64 of [A-Za-z0-9._-]");
		goto out;
	}
	snprintf(a.id, sizeof a.id, "%s", id);
	snprintf(a.name, sizeof a.name, "%s", name != NULL ? name : id);
	pcard_hex_encode(fp, sizeof fp, a.fingerprint, sizeof a.fingerprint);
	for (k = 0; a.fingerprint[k] != '\0'; k++)
		if (a.fingerprint[k] >= 'A' && a.fingerprint[k] <= 'F')
			a.fingerprint[k] = (char)(a.fingerprint[k] - 'A' + 'a');
	if ((e = pcard_store_begin(srv->st)) != PCARD_OK) {
		st = store_error(e, out, "store");
		goto out;
	}
	if ((e = pcard_store_agent_get(srv->st, a.id, &old)) == PCARD_OK) {
		pcard_store_rollback(srv->st);
		st = pcard_srv_error(out, 409, "exists", "agent '%s' is already registered", a.id);
		goto out;
	}
	if (e != PCARD_E_NOT_FOUND || (e = pcard_store_agent_put(srv->st, &a)) != PCARD_OK) {
		pcard_store_rollback(srv->st);
		st = e == PCARD_E_EXISTS ? pcard_srv_error(out, 409, "exists",
		    "another agent has this certificate fingerprint") : store_error(e, out, "agent");
		goto out;
	}
	det = json_pack("{s:s,s:s}", "name", a.name, "fingerprint", a.fingerprint);
	if ((e = audit_commit(srv->st, "agent.register", a.id, det)) != PCARD_OK) {
		st = store_error(e, out, "store");
		goto out;
	}
	if ((e = pcard_store_agent_get(srv->st, a.id, &old)) != PCARD_OK) {
		st = store_error(e, out, "agent");
		goto out;
	}
	json_decref(*out);
	*out = agent_json(&old);
	st = 201;
out:
	json_decref(det);
	json_decref(body);
	return st;
}

static unsigned
agent_get(pcard_srv *srv, const char *id, json_t **out)
{
	pcard_store_agent a;
	pcard_err e;

	if (!pcard_srv_is_ident(id, PCARD_STORE_ID_MAX))
		return pcard_srv_error(out, 404, "not_found", "no agent '%.64s'", id);
	if ((e = pcard_store_agent_get(srv->st, id, &a)) != PCARD_OK)
		return store_error(e, out, "agent");
	json_decref(*out);
	*out = agent_json(&a);
	return 200;
}

static unsigned
profile_get(pcard_srv *srv, const char *name, json_t **out)
{
	pcard_store_profile p;
	pcard_err e;

	if (!pcard_srv_is_ident(name, PCARD_STORE_NAME_MAX))
		return pcard_srv_error(out, 404, "not_found", "no profile '%.64s'", name);
	if ((e = pcard_store_profile_get(srv->st, name, &p)) != PCARD_OK)
		return store_error(e, out, "profile");
	json_decref(*out);
	*out = profile_json(&p);
	return 200;
}

static unsigned
query_uint(const pcard_srv_req *rq, const char *name, uint64_t max, uint64_t *v, json_t **out)
{
	const char *s = pcard_srv_query(rq, name);
	char *end = NULL;
	unsigned long long x;

	if (s == NULL)
		return 0;
	if (s[0] < '0' || s[0] > '9' || strlen(s) > 19)
		return pcard_srv_error(out, 400, "bad_value", "'%s' must be a number", name);
	x = strtoull(s, &end, 10);
	if (*end != '\0' || x > max)
		return pcard_srv_error(out, 400, "bad_value", "'%s' must be in 0..%llu", name,
		    (unsigned long long)max);
	*v = x;
	return 0;
}

static unsigned
audit_list(pcard_srv *srv, const pcard_srv_req *rq, json_t **out)
{
	pcard_store_audit *recs = NULL;
	uint64_t after = 0, limit = 100;
	size_t n = 0, i;
	json_t *arr;
	unsigned st;
	pcard_err e;

	if ((st = query_uint(rq, "after", INT64_MAX, &after, out)) != 0 ||
	    (st = query_uint(rq, "limit", AUDIT_PAGE_MAX, &limit, out)) != 0)
		return st;
	if (limit == 0)
		limit = 100;
	if ((e = pcard_store_audit_list(srv->st, (int64_t)after, (size_t)limit, &recs, &n)) !=
	    PCARD_OK)
		return store_error(e, out, "audit");
	arr = json_array();
	for (i = 0; arr != NULL && i < n; i++)
		json_array_append_new(arr, json_pack("{s:I,s:I,s:s,s:s,s:s,s:O?,s:o,s:o}",
		    "id", (json_int_t)recs[i].id, "time", (json_int_t)recs[i].time,
		    "actor", recs[i].actor, "action", recs[i].action, "subject", recs[i].subject,
		    "details", recs[i].details,
		    "prev_hash", pcard_srv_json_hex(recs[i].prev_hash, sizeof recs[i].prev_hash),
		    "hash", pcard_srv_json_hex(recs[i].hash, sizeof recs[i].hash)));
	pcard_store_audits_free(recs, n);
	json_decref(*out);
	*out = json_pack("{s:o}", "records", arr);
	return 200;
}

static unsigned
audit_verify(pcard_srv *srv, json_t **out)
{
	pcard_store_audit *recs = NULL;
	int64_t first_bad = 0, last = 0;
	size_t n = 0;
	json_t *head = json_null();
	pcard_err e = pcard_store_audit_verify(srv->st, &first_bad);

	if (e != PCARD_OK && e != PCARD_E_VERIFY)
		return store_error(e, out, "audit");
	/* the head (last id and hash): export it to anchor the chain (docs/store.md) */
	if (pcard_store_audit_list(srv->st, 0, 0, &recs, &n) == PCARD_OK && n > 0) {
		last = recs[n - 1].id;
		head = pcard_srv_json_hex(recs[n - 1].hash, PCARD_STORE_HASH_BYTES);
	}
	pcard_store_audits_free(recs, n);
	json_decref(*out);
	*out = json_pack("{s:b,s:I,s:I,s:o}", "ok", e == PCARD_OK, "first_bad",
	    (json_int_t)first_bad, "records", (json_int_t)last, "head", head);
	return 200;
}

/* GET /admin/v1/metrics: counters since start (bench, docs/api.md). */
static unsigned
metrics(pcard_srv *srv, json_t **out)
{
	pcard_hsm_stats hs;
	const pcard_srv_metrics *m = &srv->m;

	memset(&hs, 0, sizeof hs);
	if (srv->hsm != NULL)
		pcard_hsm_get_stats(srv->hsm, &hs);
	json_decref(*out);
	*out = json_pack("{s:I,s:{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I},"
	    "s:{s:I,s:I,s:I,s:I,s:I,s:I,s:I},s:{s:I}}",
	    "requests", (json_int_t)srv->requests,
	    "agent", "requests", (json_int_t)m->agent_requests, "exchanges",
	    (json_int_t)m->exchanges, "retries", (json_int_t)m->retries, "sessions_opened",
	    (json_int_t)m->sessions_opened, "sessions_closed", (json_int_t)m->sessions_closed,
	    "auth_failures", (json_int_t)m->auth_failures, "enrolled", (json_int_t)m->enrolled,
	    "jobs_done", (json_int_t)m->jobs_done, "jobs_failed", (json_int_t)m->jobs_failed,
	    "jobs_unknown", (json_int_t)m->jobs_unknown,
	    "hsm", "calls", (json_int_t)hs.calls, "derive", (json_int_t)hs.derive, "sign",
	    (json_int_t)hs.sign, "crypt", (json_int_t)hs.crypt, "destroy", (json_int_t)hs.destroy,
	    "other", (json_int_t)hs.other, "host_key_reads", (json_int_t)hs.host_key_reads,
	    "store", "transactions", (json_int_t)pcard_store_tx_count(srv->st));
	return *out != NULL ? 200 : pcard_srv_error(out, 500, "internal", "out of memory");
}

/* ------------------------------------------------------------------------------------------ */

unsigned
pcard_srv_admin(pcard_srv *srv, const pcard_srv_req *rq, json_t **out)
{
	path_segs p;
	int get = strcmp(rq->method, "GET") == 0, post = strcmp(rq->method, "POST") == 0;

	if (!split_path(rq->path, &p))
		return pcard_srv_error(out, 404, "not_found", "no such endpoint");
	if (!get && !post)
		return pcard_srv_error(out, 405, "method_not_allowed", "GET or POST only");
	if (get && rq->body_len != 0)
		return pcard_srv_error(out, 400, "bad_request", "GET takes no body");

	if (strcmp(p.s[0], "loadfiles") == 0) {
		if (p.n == 1 && post)
			return loadfile_upload(srv, rq, out);
		if (p.n == 1 && get)
			return loadfile_list(srv, out);
		if (p.n == 2 && get)
			return loadfile_get(srv, p.s[1], out);
	} else if (strcmp(p.s[0], "cards") == 0) {
		if (p.n == 1 && post)
			return card_register(srv, rq, out);
		if (p.n == 2 && get)
			return card_view(srv, p.s[1], out);
		if (p.n == 3 && strcmp(p.s[2], "jobs") == 0)
			return post ? job_queue(srv, rq, p.s[1], out) :
			    card_jobs(srv, rq, p.s[1], out);
	} else if (strcmp(p.s[0], "jobs") == 0) {
		if (p.n == 2 && get)
			return job_status(srv, p.s[1], out);
		if (p.n == 3 && post && strcmp(p.s[2], "cancel") == 0)
			return job_cancel(srv, rq, p.s[1], out);
	} else if (strcmp(p.s[0], "agents") == 0) {
		if (p.n == 1 && post)
			return agent_register(srv, rq, out);
		if (p.n == 2 && get)
			return agent_get(srv, p.s[1], out);
	} else if (strcmp(p.s[0], "profiles") == 0) {
		if (p.n == 2 && get)
			return profile_get(srv, p.s[1], out);
	} else if (strcmp(p.s[0], "metrics") == 0) {
		if (p.n == 1 && get)
			return metrics(srv, out);
	} else if (strcmp(p.s[0], "audit") == 0) {
		if (p.n == 1 && get)
			return audit_list(srv, rq, out);
		if (p.n == 2 && get && strcmp(p.s[1], "verify") == 0)
			return audit_verify(srv, out);
	}
	return pcard_srv_error(out, 404, "not_found", "no such endpoint (or method)");
}
