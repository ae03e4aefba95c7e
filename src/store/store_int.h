/*
 * store_int.h: internals shared by store.c and the backends (not for store users).
 */
#ifndef PCARD_STORE_INT_H
#define PCARD_STORE_INT_H

#include <sqlite3.h>

#include "store.h"

/* s is non-NULL, non-empty and at most max characters. */
int pcard_store_str_ok(const char *s, size_t max);
/* Canonical JSON text (sorted keys, compact, ASCII) of j, malloc'd; NULL for j == NULL. */
pcard_err pcard_store_json_text(const json_t *j, char **text);
/* Parse stored JSON text (NULL gives NULL); PCARD_E_BAD_FILE if the text is not JSON. */
pcard_err pcard_store_json_parse(const char *text, json_t **out);

/* ---- SQLite backend ---- */

#define SQ_CACHE_MAX 64

typedef struct sq_store {
	pcard_store base;		/* first: a pcard_store * is an sq_store * */
	sqlite3 *db;
	struct {
		const char *sql;	/* static string; matched by pointer */
		sqlite3_stmt *stmt;
	} cache[SQ_CACHE_MAX];
	size_t n_cache;
} sq_store;

/* sqlite3 result code -> pcard_err (BUSY, constraint kinds, corruption, NOMEM, else IO). */
pcard_err pcard_sq_err(int rc);
/* A cached prepared statement for a static SQL string, reset and unbound. */
pcard_err pcard_sq_prep(sq_store *sq, const char *sql, sqlite3_stmt **stmt);
/* Step a statement expected to return no row (or to be done); maps errors. */
pcard_err pcard_sq_exec_stmt(sqlite3_stmt *stmt);
/* Step a statement expected to return at most one row: PCARD_OK with the row ready to read,
 * PCARD_E_NOT_FOUND when there is none, else the mapped error. The caller resets stmt. */
pcard_err pcard_sq_step_row(sq_store *sq, sqlite3_stmt *stmt);
/* Reads one row of stmt into elem, an element of a pcard_sq_rows array (zeroed beforehand). */
typedef pcard_err (*pcard_sq_row_fn)(sqlite3_stmt *stmt, void *elem);
/* Step stmt to its end (then reset it), reading each row with row into a malloc'd array of
 * elements of elem_size bytes (first growth to first elements, then doubling). *arr and *n
 * are set on every return, also on failure, so that the caller frees the *n elements read
 * (the one that failed included) with its type's free function. */
pcard_err pcard_sq_rows(sq_store *sq, sqlite3_stmt *stmt, size_t elem_size, size_t first,
    pcard_sq_row_fn row, void **arr, size_t *n);
/* Run plain SQL (no parameters). */
pcard_err pcard_sq_exec(sq_store *sq, const char *sql);
/* Start a transaction unless one is open (*own says whether this call started it). */
pcard_err pcard_sq_tx_enter(sq_store *sq, int write, int *own);
/* End the transaction the call started: commit when err is PCARD_OK, else roll back. */
pcard_err pcard_sq_tx_leave(sq_store *sq, int own, pcard_err err);
/* Copy column col as text into out (cap bytes incl. NUL); PCARD_E_BAD_FILE if too long. */
pcard_err pcard_sq_col_text(sqlite3_stmt *stmt, int col, char *out, size_t cap);
/* Copy column col as a blob into out; PCARD_E_BAD_FILE if longer than cap. */
pcard_err pcard_sq_col_blob(sqlite3_stmt *stmt, int col, uint8_t *out, size_t cap,
    size_t *len);
int64_t pcard_sq_now(sq_store *sq);

/* Backend operations implemented in store_sqlite_*.c. */
pcard_err pcard_sq_card_get(pcard_store *st, const char *id, pcard_store_card *out);
pcard_err pcard_sq_card_put(pcard_store *st, const pcard_store_card *c);
pcard_err pcard_sq_card_enrol(pcard_store *st, const pcard_store_card *c);
pcard_err pcard_sq_profile_get(pcard_store *st, const char *name, pcard_store_profile *out);
pcard_err pcard_sq_profile_put(pcard_store *st, const pcard_store_profile *p);
pcard_err pcard_sq_contents_get(pcard_store *st, const char *card, json_t **doc,
    int64_t *updated);
pcard_err pcard_sq_contents_put(pcard_store *st, const char *card, const char *doc_text);
pcard_err pcard_sq_loadfile_add(pcard_store *st, const pcard_store_loadfile *lf,
    const char *applets_text, int64_t *id);
pcard_err pcard_sq_loadfile_get(pcard_store *st, int64_t id, int with_data,
    pcard_store_loadfile *out);
pcard_err pcard_sq_loadfile_list(pcard_store *st, pcard_store_loadfile **out, size_t *n);
pcard_err pcard_sq_agent_get(pcard_store *st, const char *id, pcard_store_agent *out);
pcard_err pcard_sq_agent_find(pcard_store *st, const char *fingerprint,
    pcard_store_agent *out);
pcard_err pcard_sq_agent_put(pcard_store *st, const pcard_store_agent *a);

pcard_err pcard_sq_job_enqueue(pcard_store *st, const char *card, pcard_job_type type,
    const char *params_text, int64_t *id);
pcard_err pcard_sq_job_get(pcard_store *st, int64_t id, pcard_store_job *out);
pcard_err pcard_sq_job_list(pcard_store *st, const char *card, unsigned state_mask,
    pcard_store_job **out, size_t *n);
pcard_err pcard_sq_job_transition(pcard_store *st, int64_t id, pcard_job_state from,
    pcard_job_state to, const char *session, const char *result_text, const char *reason);
pcard_err pcard_sq_session_create(pcard_store *st, const pcard_store_session *s,
    const char *plan_text);
pcard_err pcard_sq_session_get(pcard_store *st, const char *id, pcard_store_session *out);
pcard_err pcard_sq_session_update(pcard_store *st, const pcard_store_session *s,
    const char *plan_text, uint32_t expected_step);
pcard_err pcard_sq_session_close(pcard_store *st, const char *id);
pcard_err pcard_sq_session_live(pcard_store *st, const char *card, pcard_store_session *out);
pcard_err pcard_sq_session_expire(pcard_store *st, size_t *n_closed);
pcard_err pcard_sq_audit_append(pcard_store *st, const char *actor, const char *action,
    const char *subject, const char *details_text, int64_t *id);
pcard_err pcard_sq_audit_list(pcard_store *st, int64_t after_id, size_t limit,
    pcard_store_audit **out, size_t *n);
pcard_err pcard_sq_audit_verify(pcard_store *st, int64_t *first_bad);

#endif
