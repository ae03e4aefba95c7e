/*
 * store.c: the backend-neutral half of the store: argument checks, dispatch through the
 * vtable, JSON to canonical text, the job state machine, names, frees and the audit hash.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "postcard/crypto.h"
#include "store.h"
#include "store_int.h"

/* ---- small helpers shared with the backends (store_int.h) ---- */

int
pcard_store_str_ok(const char *s, size_t max)
{
	return s != NULL && s[0] != '\0' && strnlen(s, max + 1) <= max;
}

pcard_err
pcard_store_json_text(const json_t *j, char **text)
{
	*text = NULL;
	if (j == NULL)
		return PCARD_OK;
	/* Sorted keys, no spaces, ASCII only: the same value always gives the same bytes. */
	*text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII | JSON_ENCODE_ANY);
	return *text != NULL ? PCARD_OK : PCARD_E_NOMEM;
}

pcard_err
pcard_store_json_parse(const char *text, json_t **out)
{
	json_error_t jerr;

	*out = NULL;
	if (text == NULL)
		return PCARD_OK;
	*out = json_loads(text, JSON_DECODE_ANY, &jerr);
	return *out != NULL ? PCARD_OK : PCARD_E_BAD_FILE;
}

/* ---- handle ---- */

static int64_t
system_clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
pcard_store_close(pcard_store *st)
{
	if (st == NULL)
		return;
	st->ops->close(st);
}

void
pcard_store_set_clock(pcard_store *st, int64_t (*fn)(void *ctx), void *ctx)
{
	st->clock = fn;
	st->clock_ctx = ctx;
}

int64_t
pcard_store_now(const pcard_store *st)
{
	if (st != NULL && st->clock != NULL)
		return st->clock(st->clock_ctx);
	return system_clock_ms();
}

uint64_t
pcard_store_tx_count(const pcard_store *st)
{
	return st->tx_count;
}

pcard_err
pcard_store_schema_version(pcard_store *st, int *version)
{
	if (st == NULL || version == NULL)
		return PCARD_E_INVALID_ARG;
	return st->ops->schema_version(st, version);
}

pcard_err
pcard_store_begin(pcard_store *st)
{
	if (st == NULL)
		return PCARD_E_INVALID_ARG;
	if (st->in_tx)
		return PCARD_E_STATE;
	return st->ops->begin(st);
}

pcard_err
pcard_store_commit(pcard_store *st)
{
	if (st == NULL)
		return PCARD_E_INVALID_ARG;
	if (!st->in_tx)
		return PCARD_E_STATE;
	return st->ops->commit(st);
}

pcard_err
pcard_store_rollback(pcard_store *st)
{
	if (st == NULL)
		return PCARD_E_INVALID_ARG;
	if (!st->in_tx)
		return PCARD_E_STATE;
	return st->ops->rollback(st);
}

/* ---- cards, profiles, contents ---- */

static int
card_ok(const pcard_store_card *c)
{
	return c != NULL && pcard_store_str_ok(c->id, PCARD_STORE_ID_MAX) &&
	    c->kdd_len <= PCARD_STORE_KDD_MAX && c->n_kvn <= PCARD_STORE_KVN_MAX &&
	    strnlen(c->profile, PCARD_STORE_NAME_MAX + 1) <= PCARD_STORE_NAME_MAX;
}

pcard_err
pcard_store_card_get(pcard_store *st, const char *id, pcard_store_card *out)
{
	if (st == NULL || out == NULL || !pcard_store_str_ok(id, PCARD_STORE_ID_MAX))
		return PCARD_E_INVALID_ARG;
	memset(out, 0, sizeof *out);
	return st->ops->card_get(st, id, out);
}

pcard_err
pcard_store_card_put(pcard_store *st, const pcard_store_card *c)
{
	if (st == NULL || !card_ok(c))
		return PCARD_E_INVALID_ARG;
	return st->ops->card_put(st, c);
}

pcard_err
pcard_store_card_enrol(pcard_store *st, const pcard_store_card *c)
{
	if (st == NULL || !card_ok(c) || c->profile[0] == '\0')
		return PCARD_E_INVALID_ARG;
	return st->ops->card_enrol(st, c);
}

pcard_err
pcard_store_profile_get(pcard_store *st, const char *name, pcard_store_profile *out)
{
	if (st == NULL || out == NULL || !pcard_store_str_ok(name, PCARD_STORE_NAME_MAX))
		return PCARD_E_INVALID_ARG;
	memset(out, 0, sizeof *out);
	return st->ops->profile_get(st, name, out);
}

pcard_err
pcard_store_profile_put(pcard_store *st, const pcard_store_profile *p)
{
	if (st == NULL || p == NULL || !pcard_store_str_ok(p->name, PCARD_STORE_NAME_MAX) ||
	    p->n_labels < 1 || p->n_labels > PCARD_STORE_LABELS_MAX ||
	    !pcard_store_str_ok(p->template, PCARD_STORE_TEMPLATE_MAX))
		return PCARD_E_INVALID_ARG;
	for (size_t k = 0; k < p->n_labels; k++)
		if (!pcard_store_str_ok(p->labels[k], PCARD_STORE_NAME_MAX))
			return PCARD_E_INVALID_ARG;
	return st->ops->profile_put(st, p);
}

pcard_err
pcard_store_contents_get(pcard_store *st, const char *card, json_t **doc, int64_t *updated)
{
	int64_t dummy;

	if (st == NULL || doc == NULL || !pcard_store_str_ok(card, PCARD_STORE_ID_MAX))
		return PCARD_E_INVALID_ARG;
	*doc = NULL;
	return st->ops->contents_get(st, card, doc, updated != NULL ? updated : &dummy);
}

pcard_err
pcard_store_contents_put(pcard_store *st, const char *card, const json_t *doc)
{
	char *text = NULL;
	pcard_err err;

	if (st == NULL || doc == NULL || !pcard_store_str_ok(card, PCARD_STORE_ID_MAX))
		return PCARD_E_INVALID_ARG;
	if ((err = pcard_store_json_text(doc, &text)) != PCARD_OK)
		return err;
	err = st->ops->contents_put(st, card, text);
	free(text);
	return err;
}

/* ---- load files ---- */

pcard_err
pcard_store_loadfile_add(pcard_store *st, const pcard_store_loadfile *lf, int64_t *id)
{
	char *applets = NULL;
	int64_t dummy;
	pcard_err err;

	if (st == NULL || lf == NULL || lf->aid_len < 5 || lf->aid_len > PCARD_STORE_AID_MAX ||
	    !pcard_store_str_ok(lf->version, PCARD_STORE_VERSION_MAX) ||
	    lf->lfdb_hash_len > sizeof lf->lfdb_hash || (lf->size > 0 && lf->data == NULL) ||
	    (lf->applets != NULL && !json_is_array(lf->applets)))
		return PCARD_E_INVALID_ARG;
	if ((err = pcard_store_json_text(lf->applets, &applets)) != PCARD_OK)
		return err;
	err = st->ops->loadfile_add(st, lf, applets != NULL ? applets : "[]",
	    id != NULL ? id : &dummy);
	free(applets);
	return err;
}

pcard_err
pcard_store_loadfile_get(pcard_store *st, int64_t id, int with_data, pcard_store_loadfile *out)
{
	pcard_err err;

	if (st == NULL || out == NULL)
		return PCARD_E_INVALID_ARG;
	memset(out, 0, sizeof *out);
	if ((err = st->ops->loadfile_get(st, id, with_data, out)) != PCARD_OK)
		pcard_store_loadfile_clear(out);
	return err;
}

pcard_err
pcard_store_loadfile_list(pcard_store *st, pcard_store_loadfile **out, size_t *n)
{
	if (st == NULL || out == NULL || n == NULL)
		return PCARD_E_INVALID_ARG;
	*out = NULL;
	*n = 0;
	return st->ops->loadfile_list(st, out, n);
}

void
pcard_store_loadfile_clear(pcard_store_loadfile *lf)
{
	if (lf == NULL)
		return;
	json_decref(lf->applets);
	lf->applets = NULL;
	free(lf->data);
	lf->data = NULL;
}

void
pcard_store_loadfiles_free(pcard_store_loadfile *lfs, size_t n)
{
	if (lfs == NULL)
		return;
	for (size_t k = 0; k < n; k++)
		pcard_store_loadfile_clear(&lfs[k]);
	free(lfs);
}

/* ---- jobs ---- */

static const char *const job_type_names[] = {
	[PCARD_JOB_INSTALL] = "install",
	[PCARD_JOB_DELETE] = "delete",
	[PCARD_JOB_PERSONALISE] = "personalise",
	[PCARD_JOB_DATA_CHANGE] = "data-change",
	[PCARD_JOB_LOCK_APP] = "lock-app",
	[PCARD_JOB_UNLOCK_APP] = "unlock-app",
	[PCARD_JOB_LOCK_CARD] = "lock-card",
	[PCARD_JOB_UNLOCK_CARD] = "unlock-card",
	[PCARD_JOB_TERMINATE] = "terminate",
	[PCARD_JOB_ROTATE_KEYS] = "rotate-keys",
};

static const char *const job_state_names[] = {
	[PCARD_JOB_QUEUED] = "queued",
	[PCARD_JOB_IN_SESSION] = "in_session",
	[PCARD_JOB_SENT] = "sent",
	[PCARD_JOB_DONE] = "done",
	[PCARD_JOB_FAILED] = "failed",
	[PCARD_JOB_NEEDS_RECONCILE] = "needs_reconcile",
};

const char *
pcard_job_type_name(pcard_job_type t)
{
	if ((unsigned)t >= sizeof job_type_names / sizeof job_type_names[0])
		return NULL;
	return job_type_names[t];
}

pcard_err
pcard_job_type_from_name(const char *name, pcard_job_type *t)
{
	if (name == NULL || t == NULL)
		return PCARD_E_INVALID_ARG;
	for (unsigned k = 1; k < sizeof job_type_names / sizeof job_type_names[0]; k++) {
		if (strcmp(job_type_names[k], name) == 0) {
			*t = (pcard_job_type)k;
			return PCARD_OK;
		}
	}
	return PCARD_E_NOT_FOUND;
}

const char *
pcard_job_state_name(pcard_job_state s)
{
	if ((unsigned)s >= sizeof job_state_names / sizeof job_state_names[0])
		return NULL;
	return job_state_names[s];
}

int
pcard_store_job_transition_allowed(pcard_job_state from, pcard_job_state to)
{
#define B(s) PCARD_JOB_STATE_BIT(s)
	static const unsigned next[] = {
		[PCARD_JOB_QUEUED] = B(PCARD_JOB_IN_SESSION) | B(PCARD_JOB_FAILED),
		[PCARD_JOB_IN_SESSION] = B(PCARD_JOB_SENT) | B(PCARD_JOB_QUEUED) |
		    B(PCARD_JOB_FAILED),
		[PCARD_JOB_SENT] = B(PCARD_JOB_DONE) | B(PCARD_JOB_FAILED) |
		    B(PCARD_JOB_NEEDS_RECONCILE),
		[PCARD_JOB_DONE] = 0,
		[PCARD_JOB_FAILED] = 0,
		[PCARD_JOB_NEEDS_RECONCILE] = B(PCARD_JOB_DONE) | B(PCARD_JOB_FAILED) |
		    B(PCARD_JOB_IN_SESSION),
	};
#undef B
	if ((unsigned)from >= sizeof next / sizeof next[0] || pcard_job_state_name(to) == NULL)
		return 0;
	return (next[from] & PCARD_JOB_STATE_BIT(to)) != 0;
}

pcard_err
pcard_store_job_enqueue(pcard_store *st, const char *card, pcard_job_type type,
    const json_t *params, int64_t *id)
{
	char *text = NULL;
	int64_t dummy;
	pcard_err err;

	if (st == NULL || !pcard_store_str_ok(card, PCARD_STORE_ID_MAX) ||
	    pcard_job_type_name(type) == NULL || (params != NULL && !json_is_object(params)))
		return PCARD_E_INVALID_ARG;
	if ((err = pcard_store_json_text(params, &text)) != PCARD_OK)
		return err;
	err = st->ops->job_enqueue(st, card, type, text != NULL ? text : "{}",
	    id != NULL ? id : &dummy);
	free(text);
	return err;
}

pcard_err
pcard_store_job_get(pcard_store *st, int64_t id, pcard_store_job *out)
{
	pcard_err err;

	if (st == NULL || out == NULL)
		return PCARD_E_INVALID_ARG;
	memset(out, 0, sizeof *out);
	if ((err = st->ops->job_get(st, id, out)) != PCARD_OK)
		pcard_store_job_clear(out);
	return err;
}

pcard_err
pcard_store_job_list(pcard_store *st, const char *card, unsigned state_mask,
    pcard_store_job **out, size_t *n)
{
	if (st == NULL || out == NULL || n == NULL ||
	    (card != NULL && !pcard_store_str_ok(card, PCARD_STORE_ID_MAX)))
		return PCARD_E_INVALID_ARG;
	*out = NULL;
	*n = 0;
	return st->ops->job_list(st, card, state_mask, out, n);
}

pcard_err
pcard_store_job_transition(pcard_store *st, int64_t id, pcard_job_state from,
    pcard_job_state to, const char *session, const json_t *result, const char *reason)
{
	char *text = NULL;
	pcard_err err;

	if (st == NULL || pcard_job_state_name(from) == NULL || pcard_job_state_name(to) == NULL ||
	    (session != NULL && strnlen(session, PCARD_STORE_ID_MAX + 1) > PCARD_STORE_ID_MAX) ||
	    (reason != NULL && strnlen(reason, PCARD_STORE_REASON_MAX + 1) > PCARD_STORE_REASON_MAX))
		return PCARD_E_INVALID_ARG;
	if (!pcard_store_job_transition_allowed(from, to))
		return PCARD_E_STATE;
	if (to == PCARD_JOB_FAILED && (reason == NULL || reason[0] == '\0'))
		return PCARD_E_INVALID_ARG;
	if ((err = pcard_store_json_text(result, &text)) != PCARD_OK)
		return err;
	err = st->ops->job_transition(st, id, from, to, session, text, reason);
	free(text);
	return err;
}

void
pcard_store_job_clear(pcard_store_job *j)
{
	if (j == NULL)
		return;
	json_decref(j->params);
	j->params = NULL;
	json_decref(j->result);
	j->result = NULL;
}

void
pcard_store_jobs_free(pcard_store_job *jobs, size_t n)
{
	if (jobs == NULL)
		return;
	for (size_t k = 0; k < n; k++)
		pcard_store_job_clear(&jobs[k]);
	free(jobs);
}

/* ---- sessions ---- */

static int
session_ok(const pcard_store_session *s)
{
	return s != NULL && pcard_store_str_ok(s->id, PCARD_STORE_ID_MAX) &&
	    pcard_store_str_ok(s->card, PCARD_STORE_ID_MAX) &&
	    pcard_store_str_ok(s->agent, PCARD_STORE_ID_MAX) &&
	    s->state >= PCARD_SESSION_HELLO && s->state <= PCARD_SESSION_CLOSED &&
	    s->host_challenge_len <= PCARD_STORE_CHAL_MAX &&
	    s->card_challenge_len <= PCARD_STORE_CHAL_MAX &&
	    s->mac_chain_len <= PCARD_STORE_MAC_MAX;
}

pcard_err
pcard_store_session_create(pcard_store *st, const pcard_store_session *s)
{
	char *plan = NULL;
	pcard_err err;

	if (st == NULL || !session_ok(s) || s->state == PCARD_SESSION_CLOSED)
		return PCARD_E_INVALID_ARG;
	if ((err = pcard_store_json_text(s->plan, &plan)) != PCARD_OK)
		return err;
	err = st->ops->session_create(st, s, plan);
	free(plan);
	return err;
}

pcard_err
pcard_store_session_get(pcard_store *st, const char *id, pcard_store_session *out)
{
	pcard_err err;

	if (st == NULL || out == NULL || !pcard_store_str_ok(id, PCARD_STORE_ID_MAX))
		return PCARD_E_INVALID_ARG;
	memset(out, 0, sizeof *out);
	if ((err = st->ops->session_get(st, id, out)) != PCARD_OK)
		pcard_store_session_clear(out);
	return err;
}

pcard_err
pcard_store_session_live(pcard_store *st, const char *card, pcard_store_session *out)
{
	pcard_err err;

	if (st == NULL || out == NULL || !pcard_store_str_ok(card, PCARD_STORE_ID_MAX))
		return PCARD_E_INVALID_ARG;
	memset(out, 0, sizeof *out);
	if ((err = st->ops->session_live(st, card, out)) != PCARD_OK)
		pcard_store_session_clear(out);
	return err;
}

pcard_err
pcard_store_session_update(pcard_store *st, const pcard_store_session *s,
    uint32_t expected_step)
{
	char *plan = NULL;
	pcard_err err;

	if (st == NULL || !session_ok(s))
		return PCARD_E_INVALID_ARG;
	if ((err = pcard_store_json_text(s->plan, &plan)) != PCARD_OK)
		return err;
	err = st->ops->session_update(st, s, plan, expected_step);
	free(plan);
	return err;
}

pcard_err
pcard_store_session_close(pcard_store *st, const char *id)
{
	if (st == NULL || !pcard_store_str_ok(id, PCARD_STORE_ID_MAX))
		return PCARD_E_INVALID_ARG;
	return st->ops->session_close(st, id);
}

pcard_err
pcard_store_session_expire(pcard_store *st, size_t *n_closed)
{
	size_t dummy;

	if (st == NULL)
		return PCARD_E_INVALID_ARG;
	return st->ops->session_expire(st, n_closed != NULL ? n_closed : &dummy);
}

void
pcard_store_session_clear(pcard_store_session *s)
{
	if (s == NULL)
		return;
	json_decref(s->plan);
	s->plan = NULL;
}

/* ---- agents ---- */

pcard_err
pcard_store_agent_get(pcard_store *st, const char *id, pcard_store_agent *out)
{
	if (st == NULL || out == NULL || !pcard_store_str_ok(id, PCARD_STORE_ID_MAX))
		return PCARD_E_INVALID_ARG;
	memset(out, 0, sizeof *out);
	return st->ops->agent_get(st, id, out);
}

pcard_err
pcard_store_agent_find(pcard_store *st, const char *fingerprint, pcard_store_agent *out)
{
	if (st == NULL || out == NULL ||
	    !pcard_store_str_ok(fingerprint, 2 * PCARD_STORE_HASH_BYTES))
		return PCARD_E_INVALID_ARG;
	memset(out, 0, sizeof *out);
	return st->ops->agent_find(st, fingerprint, out);
}

pcard_err
pcard_store_agent_put(pcard_store *st, const pcard_store_agent *a)
{
	if (st == NULL || a == NULL || !pcard_store_str_ok(a->id, PCARD_STORE_ID_MAX) ||
	    !pcard_store_str_ok(a->fingerprint, 2 * PCARD_STORE_HASH_BYTES) ||
	    strnlen(a->name, PCARD_STORE_NAME_MAX + 1) > PCARD_STORE_NAME_MAX)
		return PCARD_E_INVALID_ARG;
	return st->ops->agent_put(st, a);
}

/* ---- audit ---- */

static void
put_field(uint8_t *buf, size_t *off, const char *s, size_t n)
{
	buf[(*off)++] = (uint8_t)(n >> 24);
	buf[(*off)++] = (uint8_t)(n >> 16);
	buf[(*off)++] = (uint8_t)(n >> 8);
	buf[(*off)++] = (uint8_t)n;
	memcpy(buf + *off, s, n);
	*off += n;
}

pcard_err
pcard_store_audit_hash(const uint8_t prev_hash[PCARD_STORE_HASH_BYTES], int64_t id,
    int64_t time, const char *actor, const char *action, const char *subject,
    const char *details_text, uint8_t hash[PCARD_STORE_HASH_BYTES])
{
	char ids[24], times[24];
	const char *f[6];
	size_t lens[6], total = PCARD_STORE_HASH_BYTES, off = 0, hlen = 0;
	uint8_t *buf = NULL;
	pcard_err err = PCARD_E_INTERNAL;

	snprintf(ids, sizeof ids, "%lld", (long long)id);
	snprintf(times, sizeof times, "%lld", (long long)time);
	f[0] = ids;
	f[1] = times;
	f[2] = actor;
	f[3] = action;
	f[4] = subject;
	f[5] = details_text != NULL ? details_text : "";
	for (size_t k = 0; k < 6; k++) {
		lens[k] = strlen(f[k]);
		if (lens[k] > UINT32_MAX)
			return PCARD_E_INVALID_ARG;
		total += 4 + lens[k];
	}
	if ((buf = malloc(total)) == NULL)
		return PCARD_E_NOMEM;
	memcpy(buf, prev_hash, PCARD_STORE_HASH_BYTES);
	off = PCARD_STORE_HASH_BYTES;
	for (size_t k = 0; k < 6; k++)
		put_field(buf, &off, f[k], lens[k]);
	if ((err = pcard_digest(PCARD_HASH_SHA256, buf, off, hash, PCARD_STORE_HASH_BYTES,
	    &hlen)) != PCARD_OK)
		goto out;
	err = hlen == PCARD_STORE_HASH_BYTES ? PCARD_OK : PCARD_E_CRYPTO;
out:
	free(buf);
	return err;
}

pcard_err
pcard_store_audit_append(pcard_store *st, const char *actor, const char *action,
    const char *subject, const json_t *details, int64_t *id)
{
	char *text = NULL;
	int64_t dummy;
	pcard_err err;

	if (st == NULL || !pcard_store_str_ok(actor, PCARD_STORE_NAME_MAX) ||
	    !pcard_store_str_ok(action, PCARD_STORE_NAME_MAX) || subject == NULL ||
	    strnlen(subject, PCARD_STORE_NAME_MAX + 1) > PCARD_STORE_NAME_MAX ||
	    (details != NULL && !json_is_object(details)))
		return PCARD_E_INVALID_ARG;
	if ((err = pcard_store_json_text(details, &text)) != PCARD_OK)
		return err;
	err = st->ops->audit_append(st, actor, action, subject, text, id != NULL ? id : &dummy);
	free(text);
	return err;
}

pcard_err
pcard_store_audit_list(pcard_store *st, int64_t after_id, size_t limit,
    pcard_store_audit **out, size_t *n)
{
	if (st == NULL || out == NULL || n == NULL)
		return PCARD_E_INVALID_ARG;
	*out = NULL;
	*n = 0;
	return st->ops->audit_list(st, after_id, limit, out, n);
}

pcard_err
pcard_store_audit_verify(pcard_store *st, int64_t *first_bad)
{
	int64_t dummy;

	if (st == NULL)
		return PCARD_E_INVALID_ARG;
	if (first_bad == NULL)
		first_bad = &dummy;
	*first_bad = 0;
	return st->ops->audit_verify(st, first_bad);
}

void
pcard_store_audits_free(pcard_store_audit *recs, size_t n)
{
	if (recs == NULL)
		return;
	for (size_t k = 0; k < n; k++)
		json_decref(recs[k].details);
	free(recs);
}
