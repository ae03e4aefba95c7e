/*
 * store_sqlite_jobs.c: SQLite backend for jobs, sessions and the audit log.
 */
#include <stdlib.h>
#include <string.h>

#include "postcard/crypto.h"
#include "store.h"
#include "store_int.h"

#define SQ(st) ((sq_store *)(st))

/* ---- jobs ---- */

static const char job_insert_sql[] =
    "INSERT INTO jobs (card, type, state, params, created, updated)"
    " VALUES (?1, ?2, 'queued', ?3, ?4, ?4)";
static const char job_select_sql[] =
    "SELECT id, card, type, state, params, result, reason, attempts, session, created, updated"
    " FROM jobs WHERE id = ?";
/* ?2 = NULL: every card. ?3..?8: the states wanted (NULL where unused). */
static const char job_list_sql[] =
    "SELECT id, card, type, state, params, result, reason, attempts, session, created, updated"
    " FROM jobs WHERE (?1 IS NULL OR card = ?1) AND (?2 = 0 OR state IN (?3, ?4, ?5, ?6, ?7,"
    " ?8)) ORDER BY id";
static const char job_update_sql[] =
    "UPDATE jobs SET state = ?3, attempts = attempts + ?4,"
    " session = CASE WHEN ?5 IS NULL THEN session ELSE ?5 END,"
    " result = coalesce(?6, result), reason = coalesce(?7, reason), updated = ?8"
    " WHERE id = ?1 AND state = ?2";
static const char job_state_sql[] = "SELECT state FROM jobs WHERE id = ?";

pcard_err
pcard_sq_job_enqueue(pcard_store *st, const char *card, pcard_job_type type,
    const char *params_text, int64_t *id)
{
	sqlite3_stmt *s;
	int own;
	pcard_err err;

	if ((err = pcard_sq_tx_enter(SQ(st), 1, &own)) != PCARD_OK)
		return err;
	if ((err = pcard_sq_prep(SQ(st), job_insert_sql, &s)) == PCARD_OK) {
		sqlite3_bind_text(s, 1, card, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, pcard_job_type_name(type), -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 3, params_text, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 4, pcard_sq_now(SQ(st)));
		if ((err = pcard_sq_exec_stmt(s)) == PCARD_OK)
			*id = sqlite3_last_insert_rowid(SQ(st)->db);
	}
	return pcard_sq_tx_leave(SQ(st), own, err);
}

static pcard_err
state_from_text(const unsigned char *t, pcard_job_state *s)
{
	for (unsigned k = PCARD_JOB_QUEUED; k <= PCARD_JOB_NEEDS_RECONCILE; k++) {
		if (t != NULL && strcmp((const char *)t, pcard_job_state_name((pcard_job_state)k))
		    == 0) {
			*s = (pcard_job_state)k;
			return PCARD_OK;
		}
	}
	return PCARD_E_BAD_FILE;
}

/* One row of job_select_sql / job_list_sql into elem, a pcard_store_job (which then owns its
 * JSON). */
static pcard_err
job_row(sqlite3_stmt *s, void *elem)
{
	pcard_store_job *j = elem;
	pcard_err err;

	j->id = sqlite3_column_int64(s, 0);
	if ((err = pcard_sq_col_text(s, 1, j->card, sizeof j->card)) != PCARD_OK ||
	    (err = pcard_job_type_from_name((const char *)sqlite3_column_text(s, 2), &j->type))
	    != PCARD_OK ||
	    (err = state_from_text(sqlite3_column_text(s, 3), &j->state)) != PCARD_OK ||
	    (err = pcard_store_json_parse((const char *)sqlite3_column_text(s, 4), &j->params))
	    != PCARD_OK ||
	    (err = pcard_store_json_parse((const char *)sqlite3_column_text(s, 5), &j->result))
	    != PCARD_OK ||
	    (err = pcard_sq_col_text(s, 6, j->reason, sizeof j->reason)) != PCARD_OK ||
	    (err = pcard_sq_col_text(s, 8, j->session, sizeof j->session)) != PCARD_OK)
		return err == PCARD_E_NOT_FOUND ? PCARD_E_BAD_FILE : err;
	j->attempts = (uint32_t)sqlite3_column_int64(s, 7);
	j->created = sqlite3_column_int64(s, 9);
	j->updated = sqlite3_column_int64(s, 10);
	return PCARD_OK;
}

pcard_err
pcard_sq_job_get(pcard_store *st, int64_t id, pcard_store_job *out)
{
	sqlite3_stmt *s;
	int own;
	pcard_err err;

	if ((err = pcard_sq_tx_enter(SQ(st), 0, &own)) != PCARD_OK)
		return err;
	if ((err = pcard_sq_prep(SQ(st), job_select_sql, &s)) != PCARD_OK)
		goto out;
	sqlite3_bind_int64(s, 1, id);
	if ((err = pcard_sq_step_row(SQ(st), s)) == PCARD_OK)
		err = job_row(s, out);
	sqlite3_reset(s);
out:
	return pcard_sq_tx_leave(SQ(st), own, err);
}

pcard_err
pcard_sq_job_list(pcard_store *st, const char *card, unsigned state_mask,
    pcard_store_job **out, size_t *n)
{
	sqlite3_stmt *s;
	void *arr = NULL;
	size_t len = 0;
	int own, param = 3;
	pcard_err err;

	if ((err = pcard_sq_tx_enter(SQ(st), 0, &own)) != PCARD_OK)
		return err;
	if ((err = pcard_sq_prep(SQ(st), job_list_sql, &s)) != PCARD_OK)
		goto out;
	if (card != NULL)
		sqlite3_bind_text(s, 1, card, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 2, state_mask != 0);
	for (unsigned k = PCARD_JOB_QUEUED; k <= PCARD_JOB_NEEDS_RECONCILE; k++)
		if (state_mask & PCARD_JOB_STATE_BIT(k))
			sqlite3_bind_text(s, param++, pcard_job_state_name((pcard_job_state)k), -1,
			    SQLITE_STATIC);
	err = pcard_sq_rows(SQ(st), s, sizeof(pcard_store_job), 8, job_row, &arr, &len);
out:
	err = pcard_sq_tx_leave(SQ(st), own, err);
	if (err != PCARD_OK) {
		pcard_store_jobs_free(arr, len);
		return err;
	}
	*out = arr;
	*n = len;
	return PCARD_OK;
}

pcard_err
pcard_sq_job_transition(pcard_store *st, int64_t id, pcard_job_state from, pcard_job_state to,
    const char *session, const char *result_text, const char *reason)
{
	sqlite3_stmt *s;
	int own;
	pcard_err err;

	if ((err = pcard_sq_tx_enter(SQ(st), 1, &own)) != PCARD_OK)
		return err;
	/* Compare-and-set on the state: the update only applies if nobody moved the job. */
	if ((err = pcard_sq_prep(SQ(st), job_update_sql, &s)) != PCARD_OK)
		goto out;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_text(s, 2, pcard_job_state_name(from), -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, pcard_job_state_name(to), -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 4, to == PCARD_JOB_IN_SESSION ? 1 : 0);
	if (session != NULL)
		sqlite3_bind_text(s, 5, session, -1, SQLITE_STATIC);
	if (result_text != NULL)
		sqlite3_bind_text(s, 6, result_text, -1, SQLITE_STATIC);
	if (reason != NULL)
		sqlite3_bind_text(s, 7, reason, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 8, pcard_sq_now(SQ(st)));
	if ((err = pcard_sq_exec_stmt(s)) != PCARD_OK)
		goto out;
	if (sqlite3_changes(SQ(st)->db) == 1) {
		err = PCARD_OK;
		goto out;
	}
	/* Nothing changed: unknown job, or it is no longer in state from. */
	if ((err = pcard_sq_prep(SQ(st), job_state_sql, &s)) != PCARD_OK)
		goto out;
	sqlite3_bind_int64(s, 1, id);
	if ((err = pcard_sq_step_row(SQ(st), s)) == PCARD_OK)
		err = PCARD_E_CONFLICT;
	sqlite3_reset(s);
out:
	return pcard_sq_tx_leave(SQ(st), own, err);
}

/* ---- sessions ---- */

static const char *const session_state_names[] = {
	[PCARD_SESSION_HELLO] = "hello",
	[PCARD_SESSION_AUTHENTICATED] = "authenticated",
	[PCARD_SESSION_RECONCILING] = "reconciling",
	[PCARD_SESSION_CLOSED] = "closed",
};

static const char session_expire_card_sql[] =
    "UPDATE sessions SET state = 'closed', updated = ?2"
    " WHERE card = ?1 AND state <> 'closed' AND expires <= ?2";
static const char session_insert_sql[] =
    "INSERT INTO sessions (id, card, agent, step, state, host_challenge, card_challenge,"
    " seq_counter, mac_chain, enc_counter, security_level, scp, i, plan, expires, created,"
    " updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,"
    " ?16, ?16)";
static const char session_select_sql[] =
    "SELECT id, card, agent, step, state, host_challenge, card_challenge, seq_counter,"
    " mac_chain, enc_counter, security_level, scp, i, plan, expires, created, updated"
    " FROM sessions WHERE id = ?";
static const char session_live_sql[] =
    "SELECT id, card, agent, step, state, host_challenge, card_challenge, seq_counter,"
    " mac_chain, enc_counter, security_level, scp, i, plan, expires, created, updated"
    " FROM sessions WHERE card = ? AND state <> 'closed'";
static const char session_update_sql[] =
    "UPDATE sessions SET step = ?4, state = ?5, host_challenge = ?6, card_challenge = ?7,"
    " seq_counter = ?8, mac_chain = ?9, enc_counter = ?10, security_level = ?11, scp = ?12,"
    " i = ?13, plan = ?14, expires = ?15, updated = ?16"
    " WHERE id = ?1 AND step = ?17 AND state <> 'closed'";
static const char session_state_sql[] = "SELECT state FROM sessions WHERE id = ?";
static const char session_close_sql[] =
    "UPDATE sessions SET state = 'closed', updated = ?2 WHERE id = ?1 AND state <> 'closed'";
static const char session_exists_sql[] = "SELECT 1 FROM sessions WHERE id = ?";
static const char session_expire_sql[] =
    "UPDATE sessions SET state = 'closed', updated = ?1 WHERE state <> 'closed'"
    " AND expires <= ?1";

/* Bind ?1..?16 of session_insert_sql / session_update_sql. */
static void
session_bind(sqlite3_stmt *s, const pcard_store_session *x, const char *plan, int64_t now)
{
	static const uint8_t empty[1];

	sqlite3_bind_text(s, 1, x->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, x->card, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, x->agent, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, x->step);
	sqlite3_bind_text(s, 5, session_state_names[x->state], -1, SQLITE_STATIC);
	sqlite3_bind_blob(s, 6, x->host_challenge_len ? x->host_challenge : empty,
	    (int)x->host_challenge_len, SQLITE_STATIC);
	sqlite3_bind_blob(s, 7, x->card_challenge_len ? x->card_challenge : empty,
	    (int)x->card_challenge_len, SQLITE_STATIC);
	sqlite3_bind_int64(s, 8, x->seq_counter);
	sqlite3_bind_blob(s, 9, x->mac_chain_len ? x->mac_chain : empty, (int)x->mac_chain_len,
	    SQLITE_STATIC);
	sqlite3_bind_int64(s, 10, x->enc_counter);
	sqlite3_bind_int(s, 11, x->security_level);
	sqlite3_bind_int(s, 12, x->scp);
	sqlite3_bind_int(s, 13, x->i);
	if (plan != NULL)
		sqlite3_bind_text(s, 14, plan, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 15, x->expires);
	sqlite3_bind_int64(s, 16, now);
}

pcard_err
pcard_sq_session_create(pcard_store *st, const pcard_store_session *x, const char *plan)
{
	sqlite3_stmt *s;
	int64_t now = pcard_sq_now(SQ(st));
	int own;
	pcard_err err;

	if ((err = pcard_sq_tx_enter(SQ(st), 1, &own)) != PCARD_OK)
		return err;
	/* A live session past its expiry no longer holds the card. */
	if ((err = pcard_sq_prep(SQ(st), session_expire_card_sql, &s)) != PCARD_OK)
		goto out;
	sqlite3_bind_text(s, 1, x->card, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, now);
	if ((err = pcard_sq_exec_stmt(s)) != PCARD_OK)
		goto out;
	/* The partial unique index refuses a second live session of the card (PCARD_E_EXISTS). */
	if ((err = pcard_sq_prep(SQ(st), session_insert_sql, &s)) != PCARD_OK)
		goto out;
	session_bind(s, x, plan, now);
	err = pcard_sq_exec_stmt(s);
out:
	return pcard_sq_tx_leave(SQ(st), own, err);
}

static pcard_err
session_row(sqlite3_stmt *s, pcard_store_session *x)
{
	const unsigned char *state;
	pcard_err err;

	if ((err = pcard_sq_col_text(s, 0, x->id, sizeof x->id)) != PCARD_OK ||
	    (err = pcard_sq_col_text(s, 1, x->card, sizeof x->card)) != PCARD_OK ||
	    (err = pcard_sq_col_text(s, 2, x->agent, sizeof x->agent)) != PCARD_OK ||
	    (err = pcard_sq_col_blob(s, 5, x->host_challenge, sizeof x->host_challenge,
	    &x->host_challenge_len)) != PCARD_OK ||
	    (err = pcard_sq_col_blob(s, 6, x->card_challenge, sizeof x->card_challenge,
	    &x->card_challenge_len)) != PCARD_OK ||
	    (err = pcard_sq_col_blob(s, 8, x->mac_chain, sizeof x->mac_chain,
	    &x->mac_chain_len)) != PCARD_OK ||
	    (err = pcard_store_json_parse((const char *)sqlite3_column_text(s, 13), &x->plan))
	    != PCARD_OK)
		return err;
	x->step = (uint32_t)sqlite3_column_int64(s, 3);
	state = sqlite3_column_text(s, 4);
	x->state = 0;
	for (unsigned k = PCARD_SESSION_HELLO; k <= PCARD_SESSION_CLOSED; k++)
		if (state != NULL && strcmp((const char *)state, session_state_names[k]) == 0)
			x->state = (pcard_session_state)k;
	if (x->state == 0)
		return PCARD_E_BAD_FILE;
	x->seq_counter = (uint32_t)sqlite3_column_int64(s, 7);
	x->enc_counter = (uint32_t)sqlite3_column_int64(s, 9);
	x->security_level = (uint8_t)sqlite3_column_int(s, 10);
	x->scp = (uint8_t)sqlite3_column_int(s, 11);
	x->i = (uint8_t)sqlite3_column_int(s, 12);
	x->expires = sqlite3_column_int64(s, 14);
	x->created = sqlite3_column_int64(s, 15);
	x->updated = sqlite3_column_int64(s, 16);
	return PCARD_OK;
}

/* The one session row sql (session_select_sql, session_live_sql) selects by key. */
static pcard_err
session_select(pcard_store *st, const char *sql, const char *key, pcard_store_session *out)
{
	sqlite3_stmt *s;
	int own;
	pcard_err err;

	if ((err = pcard_sq_tx_enter(SQ(st), 0, &own)) != PCARD_OK)
		return err;
	if ((err = pcard_sq_prep(SQ(st), sql, &s)) != PCARD_OK)
		goto out;
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	if ((err = pcard_sq_step_row(SQ(st), s)) == PCARD_OK)
		err = session_row(s, out);
	sqlite3_reset(s);
out:
	return pcard_sq_tx_leave(SQ(st), own, err);
}

pcard_err
pcard_sq_session_get(pcard_store *st, const char *id, pcard_store_session *out)
{
	return session_select(st, session_select_sql, id, out);
}

pcard_err
pcard_sq_session_live(pcard_store *st, const char *card, pcard_store_session *out)
{
	return session_select(st, session_live_sql, card, out);
}

pcard_err
pcard_sq_session_update(pcard_store *st, const pcard_store_session *x, const char *plan,
    uint32_t expected_step)
{
	sqlite3_stmt *s;
	const unsigned char *state;
	int own;
	pcard_err err;

	if ((err = pcard_sq_tx_enter(SQ(st), 1, &own)) != PCARD_OK)
		return err;
	if ((err = pcard_sq_prep(SQ(st), session_update_sql, &s)) != PCARD_OK)
		goto out;
	session_bind(s, x, plan, pcard_sq_now(SQ(st)));
	sqlite3_bind_int64(s, 17, expected_step);
	if ((err = pcard_sq_exec_stmt(s)) != PCARD_OK)
		goto out;
	if (sqlite3_changes(SQ(st)->db) == 1) {
		err = PCARD_OK;
		goto out;
	}
	/* Nothing written: unknown id, closed, or the step moved on (a retried message). */
	if ((err = pcard_sq_prep(SQ(st), session_state_sql, &s)) != PCARD_OK)
		goto out;
	sqlite3_bind_text(s, 1, x->id, -1, SQLITE_STATIC);
	if ((err = pcard_sq_step_row(SQ(st), s)) == PCARD_OK) {
		state = sqlite3_column_text(s, 0);
		err = state != NULL && strcmp((const char *)state, "closed") == 0 ?
		    PCARD_E_STATE : PCARD_E_CONFLICT;
	}
	sqlite3_reset(s);
out:
	return pcard_sq_tx_leave(SQ(st), own, err);
}

pcard_err
pcard_sq_session_close(pcard_store *st, const char *id)
{
	sqlite3_stmt *s;
	int own;
	pcard_err err;

	if ((err = pcard_sq_tx_enter(SQ(st), 1, &own)) != PCARD_OK)
		return err;
	if ((err = pcard_sq_prep(SQ(st), session_close_sql, &s)) != PCARD_OK)
		goto out;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, pcard_sq_now(SQ(st)));
	if ((err = pcard_sq_exec_stmt(s)) != PCARD_OK || sqlite3_changes(SQ(st)->db) == 1)
		goto out;
	if ((err = pcard_sq_prep(SQ(st), session_exists_sql, &s)) != PCARD_OK)
		goto out;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	err = pcard_sq_step_row(SQ(st), s);
	sqlite3_reset(s);
out:
	return pcard_sq_tx_leave(SQ(st), own, err);
}

pcard_err
pcard_sq_session_expire(pcard_store *st, size_t *n_closed)
{
	sqlite3_stmt *s;
	int own;
	pcard_err err;

	*n_closed = 0;
	if ((err = pcard_sq_tx_enter(SQ(st), 1, &own)) != PCARD_OK)
		return err;
	if ((err = pcard_sq_prep(SQ(st), session_expire_sql, &s)) == PCARD_OK) {
		sqlite3_bind_int64(s, 1, pcard_sq_now(SQ(st)));
		if ((err = pcard_sq_exec_stmt(s)) == PCARD_OK)
			*n_closed = (size_t)sqlite3_changes(SQ(st)->db);
	}
	return pcard_sq_tx_leave(SQ(st), own, err);
}

/* ---- audit ---- */

static const char audit_head_sql[] = "SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1";
static const char audit_insert_sql[] =
    "INSERT INTO audit (id, time, actor, action, subject, details, prev_hash, hash)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
static const char audit_list_sql[] =
    "SELECT id, time, actor, action, subject, details, prev_hash, hash FROM audit"
    " WHERE id > ?1 ORDER BY id LIMIT ?2";
static const char audit_all_sql[] =
    "SELECT id, time, actor, action, subject, details, prev_hash, hash FROM audit ORDER BY id";

pcard_err
pcard_sq_audit_append(pcard_store *st, const char *actor, const char *action,
    const char *subject, const char *details, int64_t *id)
{
	sqlite3_stmt *s;
	uint8_t prev[PCARD_STORE_HASH_BYTES] = { 0 }, hash[PCARD_STORE_HASH_BYTES];
	int64_t next = 1, now = pcard_sq_now(SQ(st));
	size_t plen = 0;
	int own, rc;
	pcard_err err;

	/* The write lock (BEGIN IMMEDIATE, or the caller's transaction) keeps the chain linear. */
	if ((err = pcard_sq_tx_enter(SQ(st), 1, &own)) != PCARD_OK)
		return err;
	if ((err = pcard_sq_prep(SQ(st), audit_head_sql, &s)) != PCARD_OK)
		goto out;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		next = sqlite3_column_int64(s, 0) + 1;
		err = pcard_sq_col_blob(s, 1, prev, sizeof prev, &plen);
		if (err == PCARD_OK && plen != sizeof prev)
			err = PCARD_E_BAD_FILE;
	} else if (rc != SQLITE_DONE) {
		err = pcard_sq_err(sqlite3_extended_errcode(SQ(st)->db));
	}
	sqlite3_reset(s);
	if (err != PCARD_OK ||
	    (err = pcard_store_audit_hash(prev, next, now, actor, action, subject, details,
	    hash)) != PCARD_OK ||
	    (err = pcard_sq_prep(SQ(st), audit_insert_sql, &s)) != PCARD_OK)
		goto out;
	sqlite3_bind_int64(s, 1, next);
	sqlite3_bind_int64(s, 2, now);
	sqlite3_bind_text(s, 3, actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, action, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, subject, -1, SQLITE_STATIC);
	if (details != NULL)
		sqlite3_bind_text(s, 6, details, -1, SQLITE_STATIC);
	sqlite3_bind_blob(s, 7, prev, sizeof prev, SQLITE_STATIC);
	sqlite3_bind_blob(s, 8, hash, sizeof hash, SQLITE_STATIC);
	if ((err = pcard_sq_exec_stmt(s)) == PCARD_OK)
		*id = next;
out:
	return pcard_sq_tx_leave(SQ(st), own, err);
}

/* One audit row into r (r owns details); details_text gets the stored text (borrowed, valid
 * until the statement moves). */
static pcard_err
audit_row(sqlite3_stmt *s, pcard_store_audit *r, const char **details_text)
{
	size_t n;
	pcard_err err;

	r->id = sqlite3_column_int64(s, 0);
	r->time = sqlite3_column_int64(s, 1);
	*details_text = (const char *)sqlite3_column_text(s, 5);
	if ((err = pcard_sq_col_text(s, 2, r->actor, sizeof r->actor)) != PCARD_OK ||
	    (err = pcard_sq_col_text(s, 3, r->action, sizeof r->action)) != PCARD_OK ||
	    (err = pcard_sq_col_text(s, 4, r->subject, sizeof r->subject)) != PCARD_OK ||
	    (err = pcard_sq_col_blob(s, 6, r->prev_hash, sizeof r->prev_hash, &n)) != PCARD_OK)
		return err;
	if (n != PCARD_STORE_HASH_BYTES)
		return PCARD_E_BAD_FILE;
	if ((err = pcard_sq_col_blob(s, 7, r->hash, sizeof r->hash, &n)) != PCARD_OK)
		return err;
	return n == PCARD_STORE_HASH_BYTES ? PCARD_OK : PCARD_E_BAD_FILE;
}

/* One row of audit_list_sql into elem, a pcard_store_audit (which then owns its details). */
static pcard_err
audit_list_row(sqlite3_stmt *s, void *elem)
{
	pcard_store_audit *r = elem;
	const char *details;
	pcard_err err;

	if ((err = audit_row(s, r, &details)) != PCARD_OK)
		return err;
	return pcard_store_json_parse(details, &r->details);
}

pcard_err
pcard_sq_audit_list(pcard_store *st, int64_t after_id, size_t limit,
    pcard_store_audit **out, size_t *n)
{
	sqlite3_stmt *s;
	void *arr = NULL;
	size_t len = 0;
	int own;
	pcard_err err;

	if ((err = pcard_sq_tx_enter(SQ(st), 0, &own)) != PCARD_OK)
		return err;
	if ((err = pcard_sq_prep(SQ(st), audit_list_sql, &s)) != PCARD_OK)
		goto out;
	sqlite3_bind_int64(s, 1, after_id);
	sqlite3_bind_int64(s, 2, limit == 0 || limit > INT64_MAX ? -1 : (int64_t)limit);
	err = pcard_sq_rows(SQ(st), s, sizeof(pcard_store_audit), 16, audit_list_row, &arr, &len);
out:
	err = pcard_sq_tx_leave(SQ(st), own, err);
	if (err != PCARD_OK) {
		pcard_store_audits_free(arr, len);
		return err;
	}
	*out = arr;
	*n = len;
	return PCARD_OK;
}

/*
 * Walk the whole chain in one read transaction: each record's prev_hash must equal the hash
 * of the record before it (zeros for the first), its id must follow the previous one, and its
 * hash must match the recomputed one.
 */
pcard_err
pcard_sq_audit_verify(pcard_store *st, int64_t *first_bad)
{
	sqlite3_stmt *s;
	pcard_store_audit r;
	uint8_t prev[PCARD_STORE_HASH_BYTES] = { 0 }, h[PCARD_STORE_HASH_BYTES];
	const char *details;
	int64_t expect_id = 1;
	int own, rc;
	pcard_err err;

	if ((err = pcard_sq_tx_enter(SQ(st), 0, &own)) != PCARD_OK)
		return err;
	if ((err = pcard_sq_prep(SQ(st), audit_all_sql, &s)) != PCARD_OK)
		goto out;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		memset(&r, 0, sizeof r);
		r.id = sqlite3_column_int64(s, 0);
		if (audit_row(s, &r, &details) != PCARD_OK || r.id != expect_id ||
		    !pcard_ct_eq(r.prev_hash, prev, sizeof prev) ||
		    pcard_store_audit_hash(prev, r.id, r.time, r.actor, r.action, r.subject,
		    details, h) != PCARD_OK || !pcard_ct_eq(h, r.hash, sizeof h)) {
			*first_bad = r.id;
			err = PCARD_E_VERIFY;
			break;
		}
		memcpy(prev, r.hash, sizeof prev);
		expect_id = r.id + 1;
	}
	if (err == PCARD_OK && rc != SQLITE_DONE)
		err = pcard_sq_err(sqlite3_extended_errcode(SQ(st)->db));
	sqlite3_reset(s);
out:
	/* A failed verification is a finding, not a failed transaction. */
	if (err == PCARD_E_VERIFY) {
		(void)pcard_sq_tx_leave(SQ(st), own, PCARD_OK);
		return PCARD_E_VERIFY;
	}
	return pcard_sq_tx_leave(SQ(st), own, err);
}
