/*
 * store_sqlite.c: the SQLite backend: opening (WAL, synchronous=FULL, busy timeout, foreign
 * keys), schema migrations, transactions, the statement cache and the vtable.
 */
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "store_int.h"

/*
 * Migrations, in order. Version N is reached by applying steps 1..N, each in a transaction of
 * its own together with its schema_version row. Never edit a released step: append a new one.
 */
static const struct migration {
	int version;
	const char *description;
	const char *sql;
} migrations[] = {
	{ 1, "cards, key profiles, contents, load files, jobs, agents, audit log",
	  "CREATE TABLE key_profiles ("
	  " name TEXT PRIMARY KEY,"
	  " labels TEXT NOT NULL,"		/* JSON array of HSM object labels */
	  " template TEXT NOT NULL,"
	  " kvn INTEGER NOT NULL, scp INTEGER NOT NULL, i INTEGER NOT NULL,"
	  " enrol_allowed INTEGER NOT NULL DEFAULT 0 CHECK (enrol_allowed IN (0, 1)),"
	  " created INTEGER NOT NULL, updated INTEGER NOT NULL);"
	  "CREATE TABLE cards ("
	  " id TEXT PRIMARY KEY,"
	  " kdd BLOB NOT NULL,"
	  " profile TEXT REFERENCES key_profiles(name),"
	  " life_cycle INTEGER NOT NULL,"
	  " key_versions BLOB NOT NULL,"	/* one octet per KVN */
	  " scp INTEGER NOT NULL, i INTEGER NOT NULL,"
	  " last_seen INTEGER NOT NULL DEFAULT 0,"
	  " created INTEGER NOT NULL, updated INTEGER NOT NULL);"
	  "CREATE INDEX cards_profile ON cards(profile);"
	  "CREATE TABLE card_contents ("
	  " card TEXT PRIMARY KEY REFERENCES cards(id) ON DELETE CASCADE,"
	  " doc TEXT NOT NULL,"
	  " created INTEGER NOT NULL, updated INTEGER NOT NULL);"
	  "CREATE TABLE load_files ("
	  " id INTEGER PRIMARY KEY,"
	  " aid BLOB NOT NULL, version TEXT NOT NULL, applets TEXT NOT NULL,"
	  " lfdb_hash BLOB NOT NULL, size INTEGER NOT NULL, data BLOB NOT NULL,"
	  " created INTEGER NOT NULL, updated INTEGER NOT NULL,"
	  " UNIQUE (aid, version));"
	  "CREATE TABLE jobs ("
	  " id INTEGER PRIMARY KEY,"
	  " card TEXT NOT NULL REFERENCES cards(id),"
	  " type TEXT NOT NULL CHECK (type IN ('install', 'delete', 'personalise', 'data-change',"
	  "  'lock-app', 'unlock-app', 'lock-card', 'unlock-card', 'terminate', 'rotate-keys')),"
	  " state TEXT NOT NULL CHECK (state IN ('queued', 'in_session', 'sent', 'done', 'failed',"
	  "  'needs_reconcile')),"
	  " params TEXT NOT NULL, result TEXT, reason TEXT NOT NULL DEFAULT '',"
	  " attempts INTEGER NOT NULL DEFAULT 0, session TEXT NOT NULL DEFAULT '',"
	  " created INTEGER NOT NULL, updated INTEGER NOT NULL);"
	  "CREATE INDEX jobs_card_state ON jobs(card, state, id);"
	  "CREATE TABLE agents ("
	  " id TEXT PRIMARY KEY, fingerprint TEXT NOT NULL UNIQUE, name TEXT NOT NULL,"
	  " last_seen INTEGER NOT NULL DEFAULT 0,"
	  " created INTEGER NOT NULL, updated INTEGER NOT NULL);"
	  "CREATE TABLE audit ("
	  " id INTEGER PRIMARY KEY, time INTEGER NOT NULL,"
	  " actor TEXT NOT NULL, action TEXT NOT NULL, subject TEXT NOT NULL, details TEXT,"
	  " prev_hash BLOB NOT NULL, hash BLOB NOT NULL);"
	},
	{ 2, "sessions, at most one live session per card",
	  "CREATE TABLE sessions ("
	  " id TEXT PRIMARY KEY,"
	  " card TEXT NOT NULL REFERENCES cards(id),"
	  " agent TEXT NOT NULL REFERENCES agents(id),"
	  " step INTEGER NOT NULL,"
	  " state TEXT NOT NULL CHECK (state IN ('hello', 'authenticated', 'reconciling',"
	  "  'closed')),"
	  " host_challenge BLOB NOT NULL, card_challenge BLOB NOT NULL,"
	  " seq_counter INTEGER NOT NULL, mac_chain BLOB NOT NULL, enc_counter INTEGER NOT NULL,"
	  " security_level INTEGER NOT NULL, scp INTEGER NOT NULL, i INTEGER NOT NULL,"
	  " plan TEXT, expires INTEGER NOT NULL,"
	  " created INTEGER NOT NULL, updated INTEGER NOT NULL);"
	  "CREATE UNIQUE INDEX sessions_one_live_per_card ON sessions(card)"
	  " WHERE state <> 'closed';"
	  "CREATE INDEX sessions_expires ON sessions(expires) WHERE state <> 'closed';"
	},
};

#define N_MIGRATIONS (sizeof migrations / sizeof migrations[0])

/*
 * Guards re-created at every open when missing: the audit log refuses UPDATE and DELETE. Someone
 * with the file can still drop them and edit it; audit_verify catches that edit (docs/store.md).
 */
static const char guards_sql[] =
    "CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit"
    " BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;"
    "CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit"
    " BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;";

int
pcard_store_sqlite_latest_version(void)
{
	return migrations[N_MIGRATIONS - 1].version;
}

pcard_err
pcard_sq_err(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return PCARD_OK;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return PCARD_E_BUSY;
	case SQLITE_NOMEM:
		return PCARD_E_NOMEM;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return PCARD_E_BAD_FILE;
	case SQLITE_CONSTRAINT:
		switch (rc) {
		case SQLITE_CONSTRAINT_PRIMARYKEY:
		case SQLITE_CONSTRAINT_UNIQUE:
			return PCARD_E_EXISTS;
		case SQLITE_CONSTRAINT_FOREIGNKEY:
			return PCARD_E_NOT_FOUND;
		case SQLITE_CONSTRAINT_TRIGGER:
			return PCARD_E_STATE;
		default:
			return PCARD_E_INVALID_ARG;
		}
	case SQLITE_MISUSE:
	case SQLITE_RANGE:
	case SQLITE_ERROR:
		return PCARD_E_INTERNAL;
	default:
		return PCARD_E_IO;
	}
}

pcard_err
pcard_sq_prep(sq_store *sq, const char *sql, sqlite3_stmt **stmt)
{
	sqlite3_stmt *s = NULL;
	int rc;

	for (size_t k = 0; k < sq->n_cache; k++) {
		if (sq->cache[k].sql == sql) {
			*stmt = sq->cache[k].stmt;
			sqlite3_reset(*stmt);
			sqlite3_clear_bindings(*stmt);
			return PCARD_OK;
		}
	}
	rc = sqlite3_prepare_v3(sq->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL);
	if (rc != SQLITE_OK)
		return pcard_sq_err(rc);
	if (sq->n_cache < SQ_CACHE_MAX) {
		sq->cache[sq->n_cache].sql = sql;
		sq->cache[sq->n_cache].stmt = s;
		sq->n_cache++;
	} else {
		/* Cannot happen with the fixed set of statements; refuse rather than leak. */
		sqlite3_finalize(s);
		return PCARD_E_INTERNAL;
	}
	*stmt = s;
	return PCARD_OK;
}

pcard_err
pcard_sq_exec_stmt(sqlite3_stmt *stmt)
{
	int rc = sqlite3_step(stmt);
	pcard_err err = (rc == SQLITE_DONE || rc == SQLITE_ROW) ? PCARD_OK :
	    pcard_sq_err(sqlite3_extended_errcode(sqlite3_db_handle(stmt)));

	sqlite3_reset(stmt);
	return err;
}

pcard_err
pcard_sq_step_row(sq_store *sq, sqlite3_stmt *stmt)
{
	int rc = sqlite3_step(stmt);

	if (rc == SQLITE_ROW)
		return PCARD_OK;
	if (rc == SQLITE_DONE)
		return PCARD_E_NOT_FOUND;
	return pcard_sq_err(sqlite3_extended_errcode(sq->db));
}

pcard_err
pcard_sq_rows(sq_store *sq, sqlite3_stmt *stmt, size_t elem_size, size_t first,
    pcard_sq_row_fn row, void **arr, size_t *n)
{
	unsigned char *a = NULL, *grown;
	size_t len = 0, cap = 0;
	int rc;
	pcard_err err = PCARD_OK;

	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (len == cap) {
			cap = cap ? 2 * cap : first;
			if ((grown = realloc(a, cap * elem_size)) == NULL) {
				err = PCARD_E_NOMEM;
				break;
			}
			a = grown;
		}
		memset(a + len * elem_size, 0, elem_size);
		len++;
		if ((err = row(stmt, a + (len - 1) * elem_size)) != PCARD_OK)
			break;
	}
	if (err == PCARD_OK && rc != SQLITE_DONE)
		err = pcard_sq_err(sqlite3_extended_errcode(sq->db));
	sqlite3_reset(stmt);
	*arr = a;
	*n = len;
	return err;
}

pcard_err
pcard_sq_exec(sq_store *sq, const char *sql)
{
	int rc = sqlite3_exec(sq->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? PCARD_OK : pcard_sq_err(sqlite3_extended_errcode(sq->db));
}

int64_t
pcard_sq_now(sq_store *sq)
{
	return pcard_store_now(&sq->base);
}

pcard_err
pcard_sq_tx_enter(sq_store *sq, int write, int *own)
{
	pcard_err err;

	*own = 0;
	if (sq->base.in_tx)
		return PCARD_OK;
	/* IMMEDIATE takes the write lock now: no lock upgrade can fail half-way. */
	if ((err = pcard_sq_exec(sq, write ? "BEGIN IMMEDIATE" : "BEGIN")) != PCARD_OK)
		return err;
	sq->base.tx_count++;
	*own = 1;
	return PCARD_OK;
}

pcard_err
pcard_sq_tx_leave(sq_store *sq, int own, pcard_err err)
{
	pcard_err cerr;

	if (!own)
		return err;
	if (err == PCARD_OK) {
		if ((cerr = pcard_sq_exec(sq, "COMMIT")) == PCARD_OK)
			return PCARD_OK;
		err = cerr;
	}
	(void)pcard_sq_exec(sq, "ROLLBACK");
	return err;
}

pcard_err
pcard_sq_col_text(sqlite3_stmt *stmt, int col, char *out, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(stmt, col);
	size_t n = (size_t)sqlite3_column_bytes(stmt, col);

	if (t == NULL)
		n = 0;
	if (n >= cap)
		return PCARD_E_BAD_FILE;
	if (n > 0)
		memcpy(out, t, n);
	out[n] = '\0';
	return PCARD_OK;
}

pcard_err
pcard_sq_col_blob(sqlite3_stmt *stmt, int col, uint8_t *out, size_t cap, size_t *len)
{
	const void *b = sqlite3_column_blob(stmt, col);
	size_t n = (size_t)sqlite3_column_bytes(stmt, col);

	if (b == NULL)
		n = 0;
	if (n > cap)
		return PCARD_E_BAD_FILE;
	if (n > 0)
		memcpy(out, b, n);
	*len = n;
	return PCARD_OK;
}

/* ---- transactions ---- */

static pcard_err
sq_begin(pcard_store *st)
{
	sq_store *sq = (sq_store *)st;
	pcard_err err;

	if ((err = pcard_sq_exec(sq, "BEGIN IMMEDIATE")) != PCARD_OK)
		return err;
	st->in_tx = 1;
	st->tx_count++;
	return PCARD_OK;
}

static pcard_err
sq_commit(pcard_store *st)
{
	sq_store *sq = (sq_store *)st;
	pcard_err err;

	if ((err = pcard_sq_exec(sq, "COMMIT")) != PCARD_OK) {
		/* A failed COMMIT (busy, I/O) leaves nothing half-done: roll it all back. */
		(void)pcard_sq_exec(sq, "ROLLBACK");
	}
	st->in_tx = 0;
	return err;
}

static pcard_err
sq_rollback(pcard_store *st)
{
	sq_store *sq = (sq_store *)st;
	pcard_err err = pcard_sq_exec(sq, "ROLLBACK");

	st->in_tx = 0;
	return err;
}

static pcard_err
read_version(sq_store *sq, int *version)
{
	sqlite3_stmt *s = NULL;
	int rc, exists = 0;
	pcard_err err = PCARD_E_INTERNAL;

	*version = 0;
	rc = sqlite3_prepare_v2(sq->db, "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
	    " AND name = 'schema_version'", -1, &s, NULL);
	if (rc != SQLITE_OK || (rc = sqlite3_step(s)) != SQLITE_ROW) {
		err = pcard_sq_err(sqlite3_extended_errcode(sq->db));
		goto out;
	}
	exists = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	s = NULL;
	if (exists) {
		rc = sqlite3_prepare_v2(sq->db, "SELECT coalesce(max(version), 0)"
		    " FROM schema_version", -1, &s, NULL);
		if (rc != SQLITE_OK || (rc = sqlite3_step(s)) != SQLITE_ROW) {
			err = pcard_sq_err(sqlite3_extended_errcode(sq->db));
			goto out;
		}
		*version = sqlite3_column_int(s, 0);
	}
	err = PCARD_OK;
out:
	sqlite3_finalize(s);
	return err;
}

static pcard_err
sq_schema_version(pcard_store *st, int *version)
{
	return read_version((sq_store *)st, version);
}

/* Apply one migration, unless another handle got there first (checked under the lock). */
static pcard_err
apply_migration(sq_store *sq, const struct migration *m)
{
	sqlite3_stmt *s = NULL;
	int version;
	pcard_err err = PCARD_E_INTERNAL;

	if ((err = pcard_sq_exec(sq, "BEGIN IMMEDIATE")) != PCARD_OK)
		return err;
	if ((err = read_version(sq, &version)) != PCARD_OK)
		goto out;
	if (version >= m->version) {
		err = PCARD_OK;
		goto out;
	}
	if (version != m->version - 1) {
		err = PCARD_E_BAD_FILE;
		goto out;
	}
	if ((err = pcard_sq_exec(sq, "CREATE TABLE IF NOT EXISTS schema_version ("
	    " version INTEGER PRIMARY KEY, applied INTEGER NOT NULL,"
	    " description TEXT NOT NULL)")) != PCARD_OK ||
	    (err = pcard_sq_exec(sq, m->sql)) != PCARD_OK)
		goto out;
	if (sqlite3_prepare_v2(sq->db, "INSERT INTO schema_version (version, applied, description)"
	    " VALUES (?, ?, ?)", -1, &s, NULL) != SQLITE_OK) {
		err = pcard_sq_err(sqlite3_extended_errcode(sq->db));
		goto out;
	}
	sqlite3_bind_int(s, 1, m->version);
	sqlite3_bind_int64(s, 2, pcard_sq_now(sq));
	sqlite3_bind_text(s, 3, m->description, -1, SQLITE_STATIC);
	if ((err = pcard_sq_exec_stmt(s)) != PCARD_OK)
		goto out;
	err = PCARD_OK;
out:
	sqlite3_finalize(s);
	return pcard_sq_tx_leave(sq, 1, err);
}

static pcard_err
ensure_guards(sq_store *sq)
{
	sqlite3_stmt *s = NULL;
	int n = 0;
	pcard_err err;

	if (sqlite3_prepare_v2(sq->db, "SELECT count(*) FROM sqlite_master WHERE type = 'trigger'"
	    " AND name IN ('audit_no_update', 'audit_no_delete')", -1, &s, NULL) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_ROW) {
		err = pcard_sq_err(sqlite3_extended_errcode(sq->db));
		sqlite3_finalize(s);
		return err;
	}
	n = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	if (n == 2)
		return PCARD_OK;
	return pcard_sq_exec(sq, guards_sql);
}

static void
sq_close(pcard_store *st)
{
	sq_store *sq = (sq_store *)st;

	if (st->in_tx)
		(void)pcard_sq_exec(sq, "ROLLBACK");
	for (size_t k = 0; k < sq->n_cache; k++)
		sqlite3_finalize(sq->cache[k].stmt);
	sqlite3_close(sq->db);
	free(sq);
}

static const pcard_store_ops sqlite_ops = {
	.name = "sqlite",
	.close = sq_close,
	.begin = sq_begin,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.schema_version = sq_schema_version,
	.card_get = pcard_sq_card_get,
	.card_put = pcard_sq_card_put,
	.card_enrol = pcard_sq_card_enrol,
	.profile_get = pcard_sq_profile_get,
	.profile_put = pcard_sq_profile_put,
	.contents_get = pcard_sq_contents_get,
	.contents_put = pcard_sq_contents_put,
	.loadfile_add = pcard_sq_loadfile_add,
	.loadfile_get = pcard_sq_loadfile_get,
	.loadfile_list = pcard_sq_loadfile_list,
	.job_enqueue = pcard_sq_job_enqueue,
	.job_get = pcard_sq_job_get,
	.job_list = pcard_sq_job_list,
	.job_transition = pcard_sq_job_transition,
	.session_create = pcard_sq_session_create,
	.session_get = pcard_sq_session_get,
	.session_update = pcard_sq_session_update,
	.session_close = pcard_sq_session_close,
	.session_live = pcard_sq_session_live,
	.session_expire = pcard_sq_session_expire,
	.agent_get = pcard_sq_agent_get,
	.agent_find = pcard_sq_agent_find,
	.agent_put = pcard_sq_agent_put,
	.audit_append = pcard_sq_audit_append,
	.audit_list = pcard_sq_audit_list,
	.audit_verify = pcard_sq_audit_verify,
};

static pcard_err
set_pragmas(sq_store *sq, const pcard_store_sqlite_opts *o)
{
	sqlite3_stmt *s = NULL;
	const unsigned char *mode;
	int wal = 0;
	pcard_err err;

	sqlite3_busy_timeout(sq->db, o->busy_timeout_ms > 0 ? o->busy_timeout_ms : 5000);
	if (sqlite3_prepare_v2(sq->db, "PRAGMA journal_mode = WAL", -1, &s, NULL) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_ROW) {
		err = pcard_sq_err(sqlite3_extended_errcode(sq->db));
		sqlite3_finalize(s);
		return err;
	}
	mode = sqlite3_column_text(s, 0);
	wal = mode != NULL && strcmp((const char *)mode, "wal") == 0;
	sqlite3_finalize(s);
	if (!wal)
		return PCARD_E_BAD_FILE;
	/* FULL: a commit is on disk (WAL fsync) before the call returns; what is acknowledged
	 * is durable. NORMAL exists for the bench's comparison only. */
	if ((err = pcard_sq_exec(sq, o->synchronous_normal ? "PRAGMA synchronous = NORMAL" :
	    "PRAGMA synchronous = FULL")) != PCARD_OK ||
	    (err = pcard_sq_exec(sq, "PRAGMA foreign_keys = ON")) != PCARD_OK)
		return err;
	return PCARD_OK;
}

pcard_err
pcard_store_open_sqlite_opts(const char *path, const pcard_store_sqlite_opts *opts,
    pcard_store **out)
{
	static const pcard_store_sqlite_opts defaults;
	const pcard_store_sqlite_opts *o = opts != NULL ? opts : &defaults;
	sq_store *sq = NULL;
	int version = 0, target;
	pcard_err err = PCARD_E_INTERNAL;

	if (path == NULL || out == NULL || o->max_version < 0)
		return PCARD_E_INVALID_ARG;
	*out = NULL;
	target = o->max_version > 0 ? o->max_version : pcard_store_sqlite_latest_version();
	if (target > pcard_store_sqlite_latest_version())
		return PCARD_E_INVALID_ARG;
	if ((sq = calloc(1, sizeof *sq)) == NULL)
		return PCARD_E_NOMEM;
	sq->base.ops = &sqlite_ops;
	if (sqlite3_open_v2(path, &sq->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		err = sq->db != NULL ? pcard_sq_err(sqlite3_extended_errcode(sq->db)) :
		    PCARD_E_NOMEM;
		if (err == PCARD_E_INTERNAL)
			err = PCARD_E_IO;
		goto out;
	}
	sqlite3_extended_result_codes(sq->db, 1);
	if ((err = set_pragmas(sq, o)) != PCARD_OK ||
	    (err = read_version(sq, &version)) != PCARD_OK)
		goto out;
	if (version > pcard_store_sqlite_latest_version()) {
		err = PCARD_E_UNSUPPORTED;	/* written by a newer postcardd: do not touch */
		goto out;
	}
	for (size_t k = 0; k < N_MIGRATIONS; k++) {
		if (migrations[k].version <= version || migrations[k].version > target)
			continue;
		if ((err = apply_migration(sq, &migrations[k])) != PCARD_OK)
			goto out;
	}
	if ((err = ensure_guards(sq)) != PCARD_OK)
		goto out;
	sq->base.tx_count = 0;
	*out = &sq->base;
	sq = NULL;
	err = PCARD_OK;
out:
	if (sq != NULL) {
		sqlite3_close(sq->db);
		free(sq);
	}
	return err;
}

pcard_err
pcard_store_open_sqlite(const char *path, pcard_store **out)
{
	return pcard_store_open_sqlite_opts(path, NULL, out);
}
