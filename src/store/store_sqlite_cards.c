/*
 * store_sqlite_cards.c: SQLite backend for cards, key profiles, card contents, agents and the
 * load-file catalogue.
 */
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "store_int.h"

#define SQ(st) ((sq_store *)(st))

/* ---- cards ---- */

static const char card_select_sql[] =
    "SELECT id, kdd, coalesce(profile, ''), life_cycle, key_versions, scp, i, last_seen, created,"
    " updated FROM cards WHERE id = ?";

static pcard_err
card_row(sqlite3_stmt *s, pcard_store_card *c)
{
	pcard_err err;

	if ((err = pcard_sq_col_text(s, 0, c->id, sizeof c->id)) != PCARD_OK ||
	    (err = pcard_sq_col_blob(s, 1, c->kdd, sizeof c->kdd, &c->kdd_len)) != PCARD_OK ||
	    (err = pcard_sq_col_text(s, 2, c->profile, sizeof c->profile)) != PCARD_OK ||
	    (err = pcard_sq_col_blob(s, 4, c->kvn, sizeof c->kvn, &c->n_kvn)) != PCARD_OK)
		return err;
	c->life_cycle = (uint8_t)sqlite3_column_int(s, 3);
	c->scp = (uint8_t)sqlite3_column_int(s, 5);
	c->i = (uint8_t)sqlite3_column_int(s, 6);
	c->last_seen = sqlite3_column_int64(s, 7);
	c->created = sqlite3_column_int64(s, 8);
	c->updated = sqlite3_column_int64(s, 9);
	return PCARD_OK;
}

static pcard_err
card_get_locked(sq_store *sq, const char *id, pcard_store_card *out)
{
	sqlite3_stmt *s;
	pcard_err err;

	if ((err = pcard_sq_prep(sq, card_select_sql, &s)) != PCARD_OK)
		return err;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	if ((err = pcard_sq_step_row(sq, s)) == PCARD_OK)
		err = card_row(s, out);
	sqlite3_reset(s);
	return err;
}

pcard_err
pcard_sq_card_get(pcard_store *st, const char *id, pcard_store_card *out)
{
	int own;
	pcard_err err;

	if ((err = pcard_sq_tx_enter(SQ(st), 0, &own)) != PCARD_OK)
		return err;
	err = card_get_locked(SQ(st), id, out);
	return pcard_sq_tx_leave(SQ(st), own, err);
}

static const char card_upsert_sql[] =
    "INSERT INTO cards (id, kdd, profile, life_cycle, key_versions, scp, i, last_seen, created,"
    " updated) VALUES (?1, ?2, nullif(?3, ''), ?4, ?5, ?6, ?7, ?8, ?9, ?9)"
    " ON CONFLICT (id) DO UPDATE SET kdd = excluded.kdd, profile = excluded.profile,"
    " life_cycle = excluded.life_cycle, key_versions = excluded.key_versions,"
    " scp = excluded.scp, i = excluded.i, last_seen = excluded.last_seen,"
    " updated = excluded.updated";
static const char card_insert_sql[] =
    "INSERT INTO cards (id, kdd, profile, life_cycle, key_versions, scp, i, last_seen, created,"
    " updated) VALUES (?1, ?2, nullif(?3, ''), ?4, ?5, ?6, ?7, ?8, ?9, ?9)";

static pcard_err
card_write(sq_store *sq, const char *sql, const pcard_store_card *c)
{
	sqlite3_stmt *s;
	pcard_err err;

	if ((err = pcard_sq_prep(sq, sql, &s)) != PCARD_OK)
		return err;
	sqlite3_bind_text(s, 1, c->id, -1, SQLITE_STATIC);
	sqlite3_bind_blob(s, 2, c->kdd, (int)c->kdd_len, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, c->profile, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 4, c->life_cycle);
	sqlite3_bind_blob(s, 5, c->kvn, (int)c->n_kvn, SQLITE_STATIC);
	sqlite3_bind_int(s, 6, c->scp);
	sqlite3_bind_int(s, 7, c->i);
	sqlite3_bind_int64(s, 8, c->last_seen);
	sqlite3_bind_int64(s, 9, pcard_sq_now(sq));
	return pcard_sq_exec_stmt(s);
}

pcard_err
pcard_sq_card_put(pcard_store *st, const pcard_store_card *c)
{
	int own;
	pcard_err err;

	if ((err = pcard_sq_tx_enter(SQ(st), 1, &own)) != PCARD_OK)
		return err;
	err = card_write(SQ(st), card_upsert_sql, c);
	return pcard_sq_tx_leave(SQ(st), own, err);
}

static pcard_err
profile_get_locked(sq_store *sq, const char *name, pcard_store_profile *out);

pcard_err
pcard_sq_card_enrol(pcard_store *st, const pcard_store_card *c)
{
	pcard_store_profile p;
	int own;
	pcard_err err;

	if ((err = pcard_sq_tx_enter(SQ(st), 1, &own)) != PCARD_OK)
		return err;
	memset(&p, 0, sizeof p);
	if ((err = profile_get_locked(SQ(st), c->profile, &p)) != PCARD_OK)
		goto out;
	if (!p.enrol_allowed) {
		err = PCARD_E_STATE;
		goto out;
	}
	err = card_write(SQ(st), card_insert_sql, c);
out:
	return pcard_sq_tx_leave(SQ(st), own, err);
}

/* ---- key profiles ---- */

static const char profile_select_sql[] =
    "SELECT name, labels, template, kvn, scp, i, enrol_allowed, created, updated"
    " FROM key_profiles WHERE name = ?";

static pcard_err
profile_get_locked(sq_store *sq, const char *name, pcard_store_profile *out)
{
	sqlite3_stmt *s;
	json_t *labels = NULL, *v;
	size_t k;
	pcard_err err;

	if ((err = pcard_sq_prep(sq, profile_select_sql, &s)) != PCARD_OK)
		return err;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	if ((err = pcard_sq_step_row(sq, s)) != PCARD_OK ||
	    (err = pcard_sq_col_text(s, 0, out->name, sizeof out->name)) != PCARD_OK ||
	    (err = pcard_sq_col_text(s, 2, out->template, sizeof out->template)) != PCARD_OK ||
	    (err = pcard_store_json_parse((const char *)sqlite3_column_text(s, 1), &labels)) !=
	    PCARD_OK)
		goto out;
	if (!json_is_array(labels) || json_array_size(labels) > PCARD_STORE_LABELS_MAX) {
		err = PCARD_E_BAD_FILE;
		goto out;
	}
	json_array_foreach(labels, k, v) {
		const char *t = json_string_value(v);

		if (t == NULL || strlen(t) > PCARD_STORE_NAME_MAX) {
			err = PCARD_E_BAD_FILE;
			goto out;
		}
		strcpy(out->labels[k], t);
	}
	out->n_labels = json_array_size(labels);
	out->kvn = (uint8_t)sqlite3_column_int(s, 3);
	out->scp = (uint8_t)sqlite3_column_int(s, 4);
	out->i = (uint8_t)sqlite3_column_int(s, 5);
	out->enrol_allowed = sqlite3_column_int(s, 6);
	out->created = sqlite3_column_int64(s, 7);
	out->updated = sqlite3_column_int64(s, 8);
	err = PCARD_OK;
out:
	json_decref(labels);
	sqlite3_reset(s);
	return err;
}

pcard_err
pcard_sq_profile_get(pcard_store *st, const char *name, pcard_store_profile *out)
{
	int own;
	pcard_err err;

	if ((err = pcard_sq_tx_enter(SQ(st), 0, &own)) != PCARD_OK)
		return err;
	err = profile_get_locked(SQ(st), name, out);
	return pcard_sq_tx_leave(SQ(st), own, err);
}

static const char profile_upsert_sql[] =
    "INSERT INTO key_profiles (name, labels, template, kvn, scp, i, enrol_allowed, created,"
    " updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)"
    " ON CONFLICT (name) DO UPDATE SET labels = excluded.labels,"
    " template = excluded.template, kvn = excluded.kvn, scp = excluded.scp, i = excluded.i,"
    " enrol_allowed = excluded.enrol_allowed, updated = excluded.updated";

pcard_err
pcard_sq_profile_put(pcard_store *st, const pcard_store_profile *p)
{
	sqlite3_stmt *s;
	json_t *labels = NULL;
	char *text = NULL;
	int own = 0;
	pcard_err err = PCARD_E_INTERNAL;

	if ((labels = json_array()) == NULL)
		return PCARD_E_NOMEM;
	for (size_t k = 0; k < p->n_labels; k++) {
		if (json_array_append_new(labels, json_string(p->labels[k])) != 0) {
			err = PCARD_E_NOMEM;
			goto out;
		}
	}
	if ((err = pcard_store_json_text(labels, &text)) != PCARD_OK)
		goto out;
	if ((err = pcard_sq_tx_enter(SQ(st), 1, &own)) != PCARD_OK)
		goto out;
	if ((err = pcard_sq_prep(SQ(st), profile_upsert_sql, &s)) == PCARD_OK) {
		sqlite3_bind_text(s, 1, p->name, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, text, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 3, p->template, -1, SQLITE_STATIC);
		sqlite3_bind_int(s, 4, p->kvn);
		sqlite3_bind_int(s, 5, p->scp);
		sqlite3_bind_int(s, 6, p->i);
		sqlite3_bind_int(s, 7, p->enrol_allowed ? 1 : 0);
		sqlite3_bind_int64(s, 8, pcard_sq_now(SQ(st)));
		err = pcard_sq_exec_stmt(s);
	}
	err = pcard_sq_tx_leave(SQ(st), own, err);
out:
	free(text);
	json_decref(labels);
	return err;
}

/* ---- contents ---- */

static const char contents_select_sql[] =
    "SELECT doc, updated FROM card_contents WHERE card = ?";
static const char contents_upsert_sql[] =
    "INSERT INTO card_contents (card, doc, created, updated) VALUES (?1, ?2, ?3, ?3)"
    " ON CONFLICT (card) DO UPDATE SET doc = excluded.doc, updated = excluded.updated";

pcard_err
pcard_sq_contents_get(pcard_store *st, const char *card, json_t **doc, int64_t *updated)
{
	sqlite3_stmt *s;
	int own;
	pcard_err err;

	if ((err = pcard_sq_tx_enter(SQ(st), 0, &own)) != PCARD_OK)
		return err;
	if ((err = pcard_sq_prep(SQ(st), contents_select_sql, &s)) != PCARD_OK)
		goto out;
	sqlite3_bind_text(s, 1, card, -1, SQLITE_STATIC);
	if ((err = pcard_sq_step_row(SQ(st), s)) == PCARD_OK) {
		err = pcard_store_json_parse((const char *)sqlite3_column_text(s, 0), doc);
		*updated = sqlite3_column_int64(s, 1);
	}
	sqlite3_reset(s);
out:
	return pcard_sq_tx_leave(SQ(st), own, err);
}

pcard_err
pcard_sq_contents_put(pcard_store *st, const char *card, const char *doc_text)
{
	sqlite3_stmt *s;
	int own;
	pcard_err err;

	if ((err = pcard_sq_tx_enter(SQ(st), 1, &own)) != PCARD_OK)
		return err;
	if ((err = pcard_sq_prep(SQ(st), contents_upsert_sql, &s)) == PCARD_OK) {
		sqlite3_bind_text(s, 1, card, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, doc_text, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 3, pcard_sq_now(SQ(st)));
		err = pcard_sq_exec_stmt(s);
	}
	return pcard_sq_tx_leave(SQ(st), own, err);
}

/* ---- agents ---- */

static const char agent_by_id_sql[] =
    "SELECT id, fingerprint, name, last_seen, created, updated FROM agents WHERE id = ?";
static const char agent_by_fp_sql[] =
    "SELECT id, fingerprint, name, last_seen, created, updated FROM agents"
    " WHERE fingerprint = ?";
static const char agent_upsert_sql[] =
    "INSERT INTO agents (id, fingerprint, name, last_seen, created, updated)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?5) ON CONFLICT (id) DO UPDATE SET"
    " fingerprint = excluded.fingerprint, name = excluded.name,"
    " last_seen = excluded.last_seen, updated = excluded.updated";

static pcard_err
agent_select(pcard_store *st, const char *sql, const char *key, pcard_store_agent *out)
{
	sqlite3_stmt *s;
	int own;
	pcard_err err;

	if ((err = pcard_sq_tx_enter(SQ(st), 0, &own)) != PCARD_OK)
		return err;
	if ((err = pcard_sq_prep(SQ(st), sql, &s)) != PCARD_OK)
		goto out;
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	if ((err = pcard_sq_step_row(SQ(st), s)) == PCARD_OK) {
		if ((err = pcard_sq_col_text(s, 0, out->id, sizeof out->id)) == PCARD_OK &&
		    (err = pcard_sq_col_text(s, 1, out->fingerprint, sizeof out->fingerprint)) ==
		    PCARD_OK)
			err = pcard_sq_col_text(s, 2, out->name, sizeof out->name);
		out->last_seen = sqlite3_column_int64(s, 3);
		out->created = sqlite3_column_int64(s, 4);
		out->updated = sqlite3_column_int64(s, 5);
	}
	sqlite3_reset(s);
out:
	return pcard_sq_tx_leave(SQ(st), own, err);
}

pcard_err
pcard_sq_agent_get(pcard_store *st, const char *id, pcard_store_agent *out)
{
	return agent_select(st, agent_by_id_sql, id, out);
}

pcard_err
pcard_sq_agent_find(pcard_store *st, const char *fingerprint, pcard_store_agent *out)
{
	return agent_select(st, agent_by_fp_sql, fingerprint, out);
}

pcard_err
pcard_sq_agent_put(pcard_store *st, const pcard_store_agent *a)
{
	sqlite3_stmt *s;
	int own;
	pcard_err err;

	if ((err = pcard_sq_tx_enter(SQ(st), 1, &own)) != PCARD_OK)
		return err;
	if ((err = pcard_sq_prep(SQ(st), agent_upsert_sql, &s)) == PCARD_OK) {
		sqlite3_bind_text(s, 1, a->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, a->fingerprint, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 3, a->name, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 4, a->last_seen);
		sqlite3_bind_int64(s, 5, pcard_sq_now(SQ(st)));
		err = pcard_sq_exec_stmt(s);
	}
	return pcard_sq_tx_leave(SQ(st), own, err);
}

/* ---- load files ---- */

static const char loadfile_insert_sql[] =
    "INSERT INTO load_files (aid, version, applets, lfdb_hash, size, data, created, updated)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)";
static const char loadfile_select_sql[] =
    "SELECT id, aid, version, applets, lfdb_hash, size, created, updated,"
    " CASE WHEN ?2 THEN data END FROM load_files WHERE id = ?1";
static const char loadfile_list_sql[] =
    "SELECT id, aid, version, applets, lfdb_hash, size, created, updated, NULL"
    " FROM load_files ORDER BY id";

pcard_err
pcard_sq_loadfile_add(pcard_store *st, const pcard_store_loadfile *lf, const char *applets_text,
    int64_t *id)
{
	static const uint8_t empty[1];
	sqlite3_stmt *s;
	int own;
	pcard_err err;

	if (lf->size > INT32_MAX)
		return PCARD_E_INVALID_ARG;
	if ((err = pcard_sq_tx_enter(SQ(st), 1, &own)) != PCARD_OK)
		return err;
	if ((err = pcard_sq_prep(SQ(st), loadfile_insert_sql, &s)) == PCARD_OK) {
		sqlite3_bind_blob(s, 1, lf->aid, (int)lf->aid_len, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, lf->version, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 3, applets_text, -1, SQLITE_STATIC);
		sqlite3_bind_blob(s, 4, lf->lfdb_hash, (int)lf->lfdb_hash_len, SQLITE_STATIC);
		sqlite3_bind_int64(s, 5, (int64_t)lf->size);
		sqlite3_bind_blob(s, 6, lf->size > 0 ? lf->data : empty, (int)lf->size,
		    SQLITE_STATIC);
		sqlite3_bind_int64(s, 7, pcard_sq_now(SQ(st)));
		if ((err = pcard_sq_exec_stmt(s)) == PCARD_OK)
			*id = sqlite3_last_insert_rowid(SQ(st)->db);
	}
	return pcard_sq_tx_leave(SQ(st), own, err);
}

/* One row of loadfile_select_sql / loadfile_list_sql into elem, a pcard_store_loadfile (which
 * then owns its JSON and data). */
static pcard_err
loadfile_row(sqlite3_stmt *s, void *elem)
{
	pcard_store_loadfile *lf = elem;
	const void *data;
	size_t n;
	pcard_err err;

	lf->id = sqlite3_column_int64(s, 0);
	if ((err = pcard_sq_col_blob(s, 1, lf->aid, sizeof lf->aid, &lf->aid_len)) != PCARD_OK ||
	    (err = pcard_sq_col_text(s, 2, lf->version, sizeof lf->version)) != PCARD_OK ||
	    (err = pcard_store_json_parse((const char *)sqlite3_column_text(s, 3),
	    &lf->applets)) != PCARD_OK ||
	    (err = pcard_sq_col_blob(s, 4, lf->lfdb_hash, sizeof lf->lfdb_hash,
	    &lf->lfdb_hash_len)) != PCARD_OK)
		return err;
	lf->size = (size_t)sqlite3_column_int64(s, 5);
	lf->created = sqlite3_column_int64(s, 6);
	lf->updated = sqlite3_column_int64(s, 7);
	if (sqlite3_column_type(s, 8) == SQLITE_NULL)
		return PCARD_OK;
	data = sqlite3_column_blob(s, 8);
	n = (size_t)sqlite3_column_bytes(s, 8);
	if (n != lf->size)
		return PCARD_E_BAD_FILE;
	if ((lf->data = malloc(n > 0 ? n : 1)) == NULL)
		return PCARD_E_NOMEM;
	if (n > 0)
		memcpy(lf->data, data, n);
	return PCARD_OK;
}

pcard_err
pcard_sq_loadfile_get(pcard_store *st, int64_t id, int with_data, pcard_store_loadfile *out)
{
	sqlite3_stmt *s;
	int own;
	pcard_err err;

	if ((err = pcard_sq_tx_enter(SQ(st), 0, &own)) != PCARD_OK)
		return err;
	if ((err = pcard_sq_prep(SQ(st), loadfile_select_sql, &s)) != PCARD_OK)
		goto out;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int(s, 2, with_data ? 1 : 0);
	if ((err = pcard_sq_step_row(SQ(st), s)) == PCARD_OK)
		err = loadfile_row(s, out);
	sqlite3_reset(s);
out:
	return pcard_sq_tx_leave(SQ(st), own, err);
}

pcard_err
pcard_sq_loadfile_list(pcard_store *st, pcard_store_loadfile **out, size_t *n)
{
	sqlite3_stmt *s;
	void *arr = NULL;
	size_t len = 0;
	int own;
	pcard_err err;

	if ((err = pcard_sq_tx_enter(SQ(st), 0, &own)) != PCARD_OK)
		return err;
	if ((err = pcard_sq_prep(SQ(st), loadfile_list_sql, &s)) != PCARD_OK)
		goto out;
	err = pcard_sq_rows(SQ(st), s, sizeof(pcard_store_loadfile), 8, loadfile_row, &arr, &len);
out:
	err = pcard_sq_tx_leave(SQ(st), own, err);
	if (err != PCARD_OK) {
		pcard_store_loadfiles_free(arr, len);
		return err;
	}
	*out = arr;
	*n = len;
	return PCARD_OK;
}
