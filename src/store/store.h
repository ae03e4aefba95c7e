/*
 * store.h: postcardd's persistent state behind one backend-neutral interface.
 *
 * A pcard_store is a handle on a database (SQLite today, PostgreSQL later) holding cards, key
 * profiles, each card's contents as last seen, the load-file catalogue, jobs and their state
 * machine, sessions (their non-secret secure-channel state), agents and an append-only,
 * hash-chained audit log. docs/store.md describes the schema and what a backend must provide.
 *
 * Secrets never go in. No struct here has a field for a key value: cards carry the KDD and key
 * versions (public), profiles carry HSM labels (names, not keys), sessions carry challenges,
 * counters and the MAC chaining value (all sent in the clear on the wire, so not secret).
 * Session keys are derived again in the HSM on each request.
 *
 * Transactions: every call that is made outside pcard_store_begin() runs in a transaction of
 * its own. Between pcard_store_begin() and pcard_store_commit()/pcard_store_rollback() every
 * call joins the open transaction (postcardd runs one per HTTP exchange). A failed call inside
 * an explicit transaction leaves the transaction open; the caller decides to roll back.
 * pcard_store_tx_count() counts the transactions started through this handle (explicit ones,
 * and the implicit one of each call made outside them), reads included.
 *
 * Ownership: structs are filled by value. Fields typed json_t * are borrowed on input and owned
 * by the caller on output (release with the struct's _clear function). Arrays returned by
 * _list functions are owned by the caller (free with the matching _free function).
 * Output structs are zeroed first, so an output must not alias an input string.
 *
 * A handle is for one thread at a time; open one handle per thread (SQLite WAL lets many
 * handles read while one writes).
 */
#ifndef PCARD_STORE_H
#define PCARD_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "postcard/err.h"

#define PCARD_STORE_ID_MAX	64	/* card ids, agent ids, session ids: characters */
#define PCARD_STORE_NAME_MAX	64	/* profile names, labels, actors, actions, subjects */
#define PCARD_STORE_KDD_MAX	32	/* key diversification data octets */
#define PCARD_STORE_KVN_MAX	16	/* key versions remembered per card */
#define PCARD_STORE_LABELS_MAX	4	/* master key labels per profile */
#define PCARD_STORE_AID_MAX	16	/* AID octets (ISO 7816-5: 5 to 16) */
#define PCARD_STORE_CHAL_MAX	16	/* challenge octets (SCP02 8, SCP03 8 or 16) */
#define PCARD_STORE_MAC_MAX	16	/* MAC chaining value octets (SCP02 8, SCP03 16) */
#define PCARD_STORE_HASH_BYTES	32	/* SHA-256 */
#define PCARD_STORE_REASON_MAX	255	/* a job's failure reason, characters */
#define PCARD_STORE_VERSION_MAX	31	/* a load file's version text */
#define PCARD_STORE_TEMPLATE_MAX 15	/* diversification template name */

/* Times are milliseconds since the Unix epoch, UTC, set by the store (see _set_clock). */

/* A card. id is its stable identity: the CPLC-derived unique ID or IIN || CIN, as hex. */
typedef struct pcard_store_card {
	char id[PCARD_STORE_ID_MAX + 1];
	uint8_t kdd[PCARD_STORE_KDD_MAX];
	size_t kdd_len;
	char profile[PCARD_STORE_NAME_MAX + 1];	/* key profile name; "" = none */
	uint8_t life_cycle;			/* GP card life cycle byte (e.g. 0x0F SECURED) */
	uint8_t kvn[PCARD_STORE_KVN_MAX];	/* key version numbers present on the card */
	size_t n_kvn;
	uint8_t scp;				/* 0x02 or 0x03 */
	uint8_t i;				/* the SCP's i parameter */
	int64_t last_seen;			/* 0 = never; set by the caller */
	int64_t created, updated;		/* set by the store */
} pcard_store_card;

/* A key profile: how the server gets a card's keys out of the HSM. Labels name HSM objects. */
typedef struct pcard_store_profile {
	char name[PCARD_STORE_NAME_MAX + 1];
	char labels[PCARD_STORE_LABELS_MAX][PCARD_STORE_NAME_MAX + 1];
	size_t n_labels;			/* 1 (one master key) or 3 (ENC, MAC, DEK) */
	char template[PCARD_STORE_TEMPLATE_MAX + 1];	/* "none", "emv", "visa2", "kdf3" */
	uint8_t kvn, scp, i;
	int enrol_allowed;			/* unknown cards may enrol under this profile */
	int64_t created, updated;
} pcard_store_profile;

/* A load file in the catalogue. */
typedef struct pcard_store_loadfile {
	int64_t id;				/* assigned by the store */
	uint8_t aid[PCARD_STORE_AID_MAX];	/* package (ELF) AID */
	size_t aid_len;
	char version[PCARD_STORE_VERSION_MAX + 1];	/* package version, e.g. "1.0" */
	json_t *applets;			/* JSON array (of applet AIDs as hex, or objects) */
	uint8_t lfdb_hash[PCARD_STORE_HASH_BYTES + 32];	/* Load File Data Block hash */
	size_t lfdb_hash_len;			/* 20 (SHA-1) to 64 (SHA-512) */
	size_t size;				/* bytes of the load file */
	uint8_t *data;				/* the load file bytes (NULL in _list) */
	int64_t created, updated;
} pcard_store_loadfile;

typedef enum pcard_job_type {
	PCARD_JOB_INSTALL = 1,
	PCARD_JOB_DELETE,
	PCARD_JOB_PERSONALISE,
	PCARD_JOB_DATA_CHANGE,
	PCARD_JOB_LOCK_APP,
	PCARD_JOB_UNLOCK_APP,
	PCARD_JOB_LOCK_CARD,
	PCARD_JOB_UNLOCK_CARD,
	PCARD_JOB_TERMINATE,
	PCARD_JOB_ROTATE_KEYS,
} pcard_job_type;

/*
 * Job states (docs/store.md draws the machine):
 *   queued -> in_session | failed
 *   in_session -> sent | queued (session ended before the bundle left) | failed (not built)
 *   sent -> done | failed | needs_reconcile
 *   needs_reconcile -> done | failed (read back from the card) | in_session (send it again)
 * done and failed are final.
 */
typedef enum pcard_job_state {
	PCARD_JOB_QUEUED = 1,
	PCARD_JOB_IN_SESSION,
	PCARD_JOB_SENT,
	PCARD_JOB_DONE,
	PCARD_JOB_FAILED,
	PCARD_JOB_NEEDS_RECONCILE,
} pcard_job_state;

#define PCARD_JOB_STATE_BIT(s) (1u << (unsigned)(s))

typedef struct pcard_store_job {
	int64_t id;				/* assigned by the store */
	char card[PCARD_STORE_ID_MAX + 1];
	pcard_job_type type;
	pcard_job_state state;
	json_t *params;				/* JSON object; never key values */
	json_t *result;				/* JSON or NULL */
	char reason[PCARD_STORE_REASON_MAX + 1];	/* why it failed; "" otherwise */
	uint32_t attempts;			/* times it entered in_session */
	char session[PCARD_STORE_ID_MAX + 1];	/* session that last held it; "" = none */
	int64_t created, updated;
} pcard_store_job;

typedef enum pcard_session_state {
	PCARD_SESSION_HELLO = 1,	/* INITIALIZE UPDATE sent, waiting for the card's answer */
	PCARD_SESSION_AUTHENTICATED,	/* card cryptogram checked, bundle sent */
	PCARD_SESSION_RECONCILING,	/* reading the card back before finishing jobs */
	PCARD_SESSION_CLOSED,		/* ended (done, failed or expired); not live */
} pcard_session_state;

/*
 * A session between one agent and one card. Only non-secret secure-channel state: everything
 * here crosses the wire in the clear (challenges, counters) or is a MAC (chaining value).
 * At most one live (not closed, not expired) session per card.
 */
typedef struct pcard_store_session {
	char id[PCARD_STORE_ID_MAX + 1];	/* chosen by the caller (random hex) */
	char card[PCARD_STORE_ID_MAX + 1];
	char agent[PCARD_STORE_ID_MAX + 1];
	uint32_t step;				/* exchange number; compare-and-set on update */
	pcard_session_state state;
	uint8_t host_challenge[PCARD_STORE_CHAL_MAX];
	size_t host_challenge_len;
	uint8_t card_challenge[PCARD_STORE_CHAL_MAX];
	size_t card_challenge_len;
	uint32_t seq_counter;			/* card's sequence counter (SCP02 2 B, SCP03 3 B) */
	uint8_t mac_chain[PCARD_STORE_MAC_MAX];	/* C-MAC chaining value */
	size_t mac_chain_len;
	uint32_t enc_counter;			/* SCP03 encryption counter */
	uint8_t security_level, scp, i;
	json_t *plan;				/* server's non-secret plan (job ids, steps) or NULL */
	int64_t expires;
	int64_t created, updated;
} pcard_store_session;

typedef struct pcard_store_agent {
	char id[PCARD_STORE_ID_MAX + 1];
	char fingerprint[2 * PCARD_STORE_HASH_BYTES + 1];	/* SHA-256 of the cert DER, hex */
	char name[PCARD_STORE_NAME_MAX + 1];
	int64_t last_seen;
	int64_t created, updated;
} pcard_store_agent;

/* One audit record. hash = SHA-256(prev_hash || canonical record); docs/store.md. */
typedef struct pcard_store_audit {
	int64_t id;
	int64_t time;
	char actor[PCARD_STORE_NAME_MAX + 1];
	char action[PCARD_STORE_NAME_MAX + 1];
	char subject[PCARD_STORE_NAME_MAX + 1];
	json_t *details;			/* JSON object or NULL */
	uint8_t prev_hash[PCARD_STORE_HASH_BYTES];
	uint8_t hash[PCARD_STORE_HASH_BYTES];
} pcard_store_audit;

typedef struct pcard_store pcard_store;

/*
 * The backend vtable. Each backend fills one static instance; the public functions below check
 * their arguments and dispatch here, so a backend gets only valid arguments. A backend runs
 * each operation in the caller's transaction when one is open, else in one of its own, and
 * maps its errors onto pcard_err as documented on the public functions.
 */
typedef struct pcard_store_ops {
	const char *name;	/* "sqlite", "postgresql" */
	void (*close)(pcard_store *st);
	pcard_err (*begin)(pcard_store *st);
	pcard_err (*commit)(pcard_store *st);
	pcard_err (*rollback)(pcard_store *st);
	pcard_err (*schema_version)(pcard_store *st, int *version);

	pcard_err (*card_get)(pcard_store *st, const char *id, pcard_store_card *out);
	pcard_err (*card_put)(pcard_store *st, const pcard_store_card *c);
	pcard_err (*card_enrol)(pcard_store *st, const pcard_store_card *c);

	pcard_err (*profile_get)(pcard_store *st, const char *name, pcard_store_profile *out);
	pcard_err (*profile_put)(pcard_store *st, const pcard_store_profile *p);

	pcard_err (*contents_get)(pcard_store *st, const char *card, json_t **doc,
	    int64_t *updated);
	pcard_err (*contents_put)(pcard_store *st, const char *card, const char *doc_text);

	pcard_err (*loadfile_add)(pcard_store *st, const pcard_store_loadfile *lf,
	    const char *applets_text, int64_t *id);
	pcard_err (*loadfile_get)(pcard_store *st, int64_t id, int with_data,
	    pcard_store_loadfile *out);
	pcard_err (*loadfile_list)(pcard_store *st, pcard_store_loadfile **out, size_t *n);

	pcard_err (*job_enqueue)(pcard_store *st, const char *card, pcard_job_type type,
	    const char *params_text, int64_t *id);
	pcard_err (*job_get)(pcard_store *st, int64_t id, pcard_store_job *out);
	pcard_err (*job_list)(pcard_store *st, const char *card, unsigned state_mask,
	    pcard_store_job **out, size_t *n);
	pcard_err (*job_transition)(pcard_store *st, int64_t id, pcard_job_state from,
	    pcard_job_state to, const char *session, const char *result_text,
	    const char *reason);

	pcard_err (*session_create)(pcard_store *st, const pcard_store_session *s,
	    const char *plan_text);
	pcard_err (*session_get)(pcard_store *st, const char *id, pcard_store_session *out);
	pcard_err (*session_update)(pcard_store *st, const pcard_store_session *s,
	    const char *plan_text, uint32_t expected_step);
	pcard_err (*session_close)(pcard_store *st, const char *id);
	pcard_err (*session_expire)(pcard_store *st, size_t *n_closed);
	pcard_err (*session_live)(pcard_store *st, const char *card, pcard_store_session *out);

	pcard_err (*agent_get)(pcard_store *st, const char *id, pcard_store_agent *out);
	pcard_err (*agent_find)(pcard_store *st, const char *fingerprint, pcard_store_agent *out);
	pcard_err (*agent_put)(pcard_store *st, const pcard_store_agent *a);

	/* rec has time, actor, action, subject, details text; the backend links and hashes it
	 * with pcard_store_audit_hash under its write lock so the chain stays linear. */
	pcard_err (*audit_append)(pcard_store *st, const char *actor, const char *action,
	    const char *subject, const char *details_text, int64_t *id);
	pcard_err (*audit_list)(pcard_store *st, int64_t after_id, size_t limit,
	    pcard_store_audit **out, size_t *n);
	pcard_err (*audit_verify)(pcard_store *st, int64_t *first_bad);
} pcard_store_ops;

/* The part of a handle every backend shares (a backend's handle starts with it). */
struct pcard_store {
	const pcard_store_ops *ops;
	uint64_t tx_count;		/* transactions started through this handle */
	int in_tx;			/* inside pcard_store_begin() */
	int64_t (*clock)(void *ctx);	/* ms since the epoch; NULL = the system clock */
	void *clock_ctx;
};

/* Options of the SQLite backend; zeroed = the defaults. */
typedef struct pcard_store_sqlite_opts {
	int synchronous_normal;	/* 1 = synchronous=NORMAL (bench only: not durable on power loss) */
	int busy_timeout_ms;	/* 0 = 5000 */
	int max_version;	/* tests only: migrate no further than this; 0 = latest */
} pcard_store_sqlite_opts;

/*
 * Open (creating if missing) the SQLite database at path: WAL, synchronous=FULL, busy timeout,
 * foreign keys on; pending migrations applied, one transaction each. Free with
 * pcard_store_close.
 * @retval PCARD_E_UNSUPPORTED the file's schema is newer than this program knows
 * @retval PCARD_E_BAD_FILE    not a database, or WAL could not be enabled
 * @retval PCARD_E_IO          cannot open or create the file
 * @retval PCARD_E_BUSY        another writer held the lock past the busy timeout
 */
pcard_err pcard_store_open_sqlite(const char *path, pcard_store **out);
pcard_err pcard_store_open_sqlite_opts(const char *path, const pcard_store_sqlite_opts *opts,
    pcard_store **out);
/* The schema version this program migrates to. */
int pcard_store_sqlite_latest_version(void);

/* Close the handle (rolls back an open transaction). Accepts NULL. */
void pcard_store_close(pcard_store *st);
/* Replace the clock (tests: session expiry); fn NULL = the system clock. */
void pcard_store_set_clock(pcard_store *st, int64_t (*fn)(void *ctx), void *ctx);
/* The store's current time (ms since the epoch). */
int64_t pcard_store_now(const pcard_store *st);
/* Transactions started through this handle so far (implicit and explicit). */
uint64_t pcard_store_tx_count(const pcard_store *st);
/* Current schema version of the open database. */
pcard_err pcard_store_schema_version(pcard_store *st, int *version);

/*
 * Transactions. begin takes the write lock at once (SQLite BEGIN IMMEDIATE), so a transaction
 * never fails half-way for lock upgrade.
 * @retval PCARD_E_STATE begin inside a transaction; commit or rollback outside one
 * @retval PCARD_E_BUSY  another writer held the lock past the busy timeout
 */
pcard_err pcard_store_begin(pcard_store *st);
pcard_err pcard_store_commit(pcard_store *st);
pcard_err pcard_store_rollback(pcard_store *st);

/* Cards. get: PCARD_E_NOT_FOUND. put: insert or replace by id (created kept); the profile, when
 * not "", must exist (PCARD_E_NOT_FOUND). enrol: first contact of an unknown card, under a
 * profile that allows it: PCARD_E_EXISTS if the card is known, PCARD_E_NOT_FOUND if the profile
 * is not, PCARD_E_STATE if the profile does not allow enrolment. */
pcard_err pcard_store_card_get(pcard_store *st, const char *id, pcard_store_card *out);
pcard_err pcard_store_card_put(pcard_store *st, const pcard_store_card *c);
pcard_err pcard_store_card_enrol(pcard_store *st, const pcard_store_card *c);

/* Key profiles. get: PCARD_E_NOT_FOUND. put: insert or replace by name. */
pcard_err pcard_store_profile_get(pcard_store *st, const char *name, pcard_store_profile *out);
pcard_err pcard_store_profile_put(pcard_store *st, const pcard_store_profile *p);

/*
 * A card's contents as last seen: one JSON document per card (registry entries: ELFs, apps,
 * SDs with life cycle and privileges; docs/store.md says why a document). put replaces it
 * (doc borrowed); get gives an owned reference (json_decref) and the time it was written.
 * PCARD_E_NOT_FOUND: no such card (put) or nothing recorded yet (get).
 */
pcard_err pcard_store_contents_get(pcard_store *st, const char *card, json_t **doc,
    int64_t *updated);
pcard_err pcard_store_contents_put(pcard_store *st, const char *card, const json_t *doc);

/*
 * Load files. add: lf->data (lf->size bytes) and lf->applets borrowed; the id is returned;
 * PCARD_E_EXISTS when the same package AID and version is already there. get: out owns
 * applets and data (pcard_store_loadfile_clear); with_data 0 leaves data NULL. list: every load
 * file without data, ordered by id; free with pcard_store_loadfiles_free.
 */
pcard_err pcard_store_loadfile_add(pcard_store *st, const pcard_store_loadfile *lf, int64_t *id);
pcard_err pcard_store_loadfile_get(pcard_store *st, int64_t id, int with_data,
    pcard_store_loadfile *out);
pcard_err pcard_store_loadfile_list(pcard_store *st, pcard_store_loadfile **out, size_t *n);
void pcard_store_loadfile_clear(pcard_store_loadfile *lf);
void pcard_store_loadfiles_free(pcard_store_loadfile *lfs, size_t n);

/*
 * Jobs. enqueue: state queued, params borrowed (an object; NULL = {}); PCARD_E_NOT_FOUND for
 * an unknown card. get: out owns params and result (pcard_store_job_clear). list: jobs of card
 * (NULL = all cards) whose state bit is in state_mask (0 = any), oldest first; free with
 * pcard_store_jobs_free.
 * transition: from -> to, only along the machine above (else PCARD_E_STATE), and only if the
 * job is still in state from (else PCARD_E_CONFLICT: someone moved it). Entering in_session
 * counts an attempt and records session (may be NULL). result (borrowed, may be NULL) and
 * reason (may be NULL) are stored when given; entering failed needs a reason.
 */
pcard_err pcard_store_job_enqueue(pcard_store *st, const char *card, pcard_job_type type,
    const json_t *params, int64_t *id);
pcard_err pcard_store_job_get(pcard_store *st, int64_t id, pcard_store_job *out);
pcard_err pcard_store_job_list(pcard_store *st, const char *card, unsigned state_mask,
    pcard_store_job **out, size_t *n);
pcard_err pcard_store_job_transition(pcard_store *st, int64_t id, pcard_job_state from,
    pcard_job_state to, const char *session, const json_t *result, const char *reason);
void pcard_store_job_clear(pcard_store_job *j);
void pcard_store_jobs_free(pcard_store_job *jobs, size_t n);
/* 1 if from -> to is an edge of the job state machine (backend-neutral). */
int pcard_store_job_transition_allowed(pcard_job_state from, pcard_job_state to);
const char *pcard_job_type_name(pcard_job_type t);		/* "install", ...; NULL if unknown */
pcard_err pcard_job_type_from_name(const char *name, pcard_job_type *t);
const char *pcard_job_state_name(pcard_job_state s);		/* "queued", ...; NULL if unknown */

/*
 * Sessions. create: s->state must not be closed; a live session of the same card that has
 * expired is closed first; PCARD_E_EXISTS if the id is taken or the card has a live session;
 * PCARD_E_NOT_FOUND if the card or the agent is unknown. get: out owns plan
 * (pcard_store_session_clear).
 * update: writes every mutable field of s (step, state, SCP state, plan, expiry) only if the
 * stored step equals expected_step and the session is live: a retried message finds the step
 * already advanced and gets PCARD_E_CONFLICT; a closed session gives PCARD_E_STATE.
 * close: PCARD_E_NOT_FOUND if unknown; closing a closed session is a no-op.
 * expire: close every live session past its expiry; n_closed may be NULL.
 */
pcard_err pcard_store_session_create(pcard_store *st, const pcard_store_session *s);
pcard_err pcard_store_session_get(pcard_store *st, const char *id, pcard_store_session *out);
pcard_err pcard_store_session_update(pcard_store *st, const pcard_store_session *s,
    uint32_t expected_step);
pcard_err pcard_store_session_close(pcard_store *st, const char *id);
pcard_err pcard_store_session_expire(pcard_store *st, size_t *n_closed);
/* The card's session that is not closed (expired or not): PCARD_E_NOT_FOUND when none.
 * out owns plan (pcard_store_session_clear). */
pcard_err pcard_store_session_live(pcard_store *st, const char *card, pcard_store_session *out);
void pcard_store_session_clear(pcard_store_session *s);

/* Agents. get by id, find by certificate fingerprint: PCARD_E_NOT_FOUND. put: insert or
 * replace by id; PCARD_E_EXISTS if another agent has the fingerprint. */
pcard_err pcard_store_agent_get(pcard_store *st, const char *id, pcard_store_agent *out);
pcard_err pcard_store_agent_find(pcard_store *st, const char *fingerprint,
    pcard_store_agent *out);
pcard_err pcard_store_agent_put(pcard_store *st, const pcard_store_agent *a);

/*
 * Audit log, append-only (the database refuses UPDATE and DELETE on it). append: details
 * borrowed (object or NULL), id may be NULL. list: records with id > after_id, oldest first,
 * at most limit (0 = all); free with pcard_store_audits_free. verify: recompute every hash and
 * link; PCARD_E_VERIFY with *first_bad = id of the first record whose hash or link is wrong
 * (0 when the chain is sound).
 */
pcard_err pcard_store_audit_append(pcard_store *st, const char *actor, const char *action,
    const char *subject, const json_t *details, int64_t *id);
pcard_err pcard_store_audit_list(pcard_store *st, int64_t after_id, size_t limit,
    pcard_store_audit **out, size_t *n);
pcard_err pcard_store_audit_verify(pcard_store *st, int64_t *first_bad);
void pcard_store_audits_free(pcard_store_audit *recs, size_t n);

/*
 * The audit hash (backend-neutral): SHA-256 over prev_hash (32 octets) || the canonical record
 * (docs/store.md): id, time, actor, action, subject and details text, each as a 4-octet
 * big-endian length then its bytes (id and time as decimal text).
 */
pcard_err pcard_store_audit_hash(const uint8_t prev_hash[PCARD_STORE_HASH_BYTES], int64_t id,
    int64_t time, const char *actor, const char *action, const char *subject,
    const char *details_text, uint8_t hash[PCARD_STORE_HASH_BYTES]);

#endif
