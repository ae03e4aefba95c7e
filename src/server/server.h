/*
 * server.h: postcardd's internals, shared by the files of src/server (docs/server.md, docs/api.md).
 *
 *   srv_main.c    command line, start-up (store, key provider, profiles, agents), signals
 *   srv_config.c  the JSON configuration file
 *   srv_http.c    HTTPS (libmicrohttpd over GnuTLS): TLS 1.2+, keep-alive, body limits,
 *                 admin bearer token, agent client certificates, JSON replies
 *   srv_json.c    strict JSON request helpers (unknown members, types, hex) and error replies
 *   srv_admin.c   the admin API (/admin/v1/...)
 *   srv_agent.c   the agent endpoints (/agent/v1/...)
 *   srv_session.c the store side of agent sessions
 *
 * One internal polling thread serves every connection, so the store handle and the key
 * provider are used by one thread at a time (store.h: a handle per thread).
 *
 * This header does not include store.h: only srv_admin.c, srv_session.c and srv_main.c talk
 * to the store; srv_agent.c speaks the protocol (bundle.h) and reaches the store through
 * srv_session.c.
 */
#ifndef POSTCARD_SERVER_H
#define POSTCARD_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "postcard/bundle.h"
#include "postcard/err.h"
#include "postcard/keys.h"

struct pcard_store;
struct pcard_hsm;

#define PCARD_SRV_HASH_BYTES 32
#define PCARD_SRV_DEFAULT_PORT 8443
#define PCARD_SRV_DEFAULT_MAX_BODY (64u * 1024u)		/* admin JSON bodies */
#define PCARD_SRV_DEFAULT_MAX_UPLOAD (1024u * 1024u)	/* a CAP file */
#define PCARD_SRV_DEFAULT_MAX_AGENT_BODY (1024u * 1024u)	/* an agent message */
#define PCARD_SRV_DEFAULT_SESSION_EXPIRY 300		/* seconds */
#define PCARD_SRV_DEFAULT_CONN_TIMEOUT 30		/* seconds of idle keep-alive */
#define PCARD_SRV_DEFAULT_MAX_CONNECTIONS 64
#define PCARD_SRV_TOKEN_MIN 16				/* characters of the admin token */
#define PCARD_SRV_TOKEN_MAX 256
#define PCARD_SRV_PEM_MAX (64u * 1024u)

/* The configuration (srv_config.c; docs/server.md). Strings are owned (free with _clear). */
typedef struct pcard_srv_config {
	char *path;			/* the file it was read from */
	char *listen;			/* IPv4 or IPv6 literal; default 127.0.0.1 */
	uint16_t port;			/* 0: an ephemeral port (see port_file) */
	char *port_file;		/* NULL or a file that receives the bound port */
	char *tls_cert, *tls_key;	/* server certificate chain and key, PEM */
	char *client_ca;		/* CA certificates that sign agent certificates, PEM */
	char *admin_token_file;		/* first line: the admin bearer token */
	char *store;			/* SQLite database path */
	int hsm_enabled;		/* an "hsm" section was given */
	char *hsm_module, *hsm_token, *hsm_pin_file;
	json_t *profiles;		/* validated array of key profile objects */
	json_t *agents;			/* validated array of agent objects */
	size_t max_body, max_upload, max_agent_body;
	unsigned session_expiry, conn_timeout, max_connections;
	uint8_t level;			/* security level of agent sessions (default 0x33) */
	int reconcile;			/* 1 (default): read back unknown jobs before resending;
					 * 0: resend them blindly (kill tests' negative control) */
} pcard_srv_config;

/*
 * Read and check a configuration file: JSON, no unknown members, types and ranges checked,
 * relative paths taken from the file's directory. err receives a one-line reason.
 * @retval PCARD_E_IO unreadable; PCARD_E_BAD_FILE not JSON or a member wrong
 */
pcard_err pcard_srv_config_load(const char *path, pcard_srv_config *cfg, char *err,
    size_t err_cap);
void pcard_srv_config_clear(pcard_srv_config *cfg);

/* Counters for the bench and GET /admin/v1/metrics (since start). */
typedef struct pcard_srv_metrics {
	uint64_t agent_requests;	/* agent messages received (any outcome) */
	uint64_t exchanges;		/* agent messages answered with a bundle or result */
	uint64_t retries;		/* repeated messages answered from the stored reply */
	uint64_t sessions_opened, sessions_closed;
	uint64_t auth_failures;		/* card cryptograms that did not verify */
	uint64_t enrolled;		/* cards enrolled at first contact */
	uint64_t jobs_done, jobs_failed, jobs_unknown;
} pcard_srv_metrics;

/*
 * An enrolment in progress: an unknown card said hello under an enrolment profile. Nothing
 * about it is stored until its card cryptogram verifies (then the card row and the session
 * are created together); until then it lives here, in memory, for session_expiry seconds.
 * A restart forgets it: the agent starts again with a hello.
 */
#define PCARD_SRV_ENROL_MAX 64
typedef struct pcard_srv_enrol {
	int used;
	char sid[65], card[65], agent[65];
	uint8_t chal[8];
	uint8_t aid[16];		/* the ISD AID of the hello's FCI (0: empty AID) */
	size_t aid_len;
	int relay;
	uint32_t step;			/* the step of the last bundle sent (1, relay 1 or 2) */
	int64_t expires;
} pcard_srv_enrol;

/* The server: what every request handler uses. */
typedef struct pcard_srv {
	pcard_srv_config cfg;
	struct pcard_store *st;		/* used by the polling thread only once serving */
	struct pcard_hsm *hsm;		/* NULL without an "hsm" section */
	pcard_keys *keys;		/* the key provider seam: the HSM's, or NULL */
	uint8_t admin_token_hash[PCARD_SRV_HASH_BYTES];	/* SHA-256 of the token */
	void *daemon;			/* struct MHD_Daemon * */
	uint16_t bound_port;
	uint64_t requests;		/* served (any outcome) */
	int verbose;			/* log one line per request on stderr */
	pcard_srv_metrics m;
	pcard_srv_enrol enrol[PCARD_SRV_ENROL_MAX];
} pcard_srv;

/* One HTTP request as the handlers see it (no libmicrohttpd types). */
typedef struct pcard_srv_req {
	const char *method;		/* "GET", "POST", ... */
	const char *path;		/* URL path without the query */
	const char *content_type;	/* NULL when absent */
	const uint8_t *body;		/* the whole body (NUL-terminated copy), borrowed */
	size_t body_len;
	void *conn;			/* struct MHD_Connection *, for pcard_srv_query */
	const char *agent_id;		/* agent endpoints: the agent of the client certificate */
	const char *fingerprint;	/* agent endpoints: SHA-256 of its certificate, hex */
} pcard_srv_req;

/* A query-string argument of the request, or NULL. */
const char *pcard_srv_query(const pcard_srv_req *rq, const char *key);

/* ---- srv_json.c ---- */

/*
 * Set *out to {"error": {"status", "code", "message"}} and return status. code is a short
 * stable word ("bad_json", "unknown_field", "not_found", ...).
 */
unsigned pcard_srv_error(json_t **out, unsigned status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Replace every byte of s that is not printable ASCII by '?' (error messages quote input). */
void pcard_srv_text_clean(char *s);
/* The HTTP status and code word for a pcard_err from the store or a library call. */
unsigned pcard_srv_status_of(pcard_err err, const char **code);
/*
 * Parse a request body as one JSON object (duplicate members refused). On failure *out is an
 * error reply and the status is returned; 0 on success with *obj an owned reference.
 */
unsigned pcard_srv_parse_object(const pcard_srv_req *rq, json_t **obj, json_t **out);
/*
 * Check that obj has only members named in allowed (NULL-terminated); 0 or an error reply
 * (400 unknown_field) naming the first stranger; where names the object ("body", "params").
 */
unsigned pcard_srv_only_members(const json_t *obj, const char *const *allowed,
    const char *where, json_t **out);
/*
 * Typed member readers. required: absence is an error. On success 0; else a 400 reply
 * (missing_field / bad_type / bad_value) and its status. *present (may be NULL) tells whether
 * the member was there.
 */
unsigned pcard_srv_get_string(const json_t *obj, const char *name, int required, size_t max_len,
    const char **v, json_t **out);
unsigned pcard_srv_get_uint(const json_t *obj, const char *name, int required, uint64_t max,
    uint64_t *v, int *present, json_t **out);
unsigned pcard_srv_get_bool(const json_t *obj, const char *name, int required, int *v,
    int *present, json_t **out);
/* A hex string member decoded into buf: length between min and max bytes. */
unsigned pcard_srv_get_hex(const json_t *obj, const char *name, int required, size_t min,
    size_t max, uint8_t *buf, size_t *len, int *present, json_t **out);
/* Upper-case hex of p[0..n) as a new JSON string (NULL on allocation failure). */
json_t *pcard_srv_json_hex(const uint8_t *p, size_t n);
/* 1 when s is an identifier: 1..max characters of [A-Za-z0-9._-]. */
int pcard_srv_is_ident(const char *s, size_t max);

/* ---- srv_admin.c ---- */

/*
 * Start-up: write the configured key profiles and agents into the store (each change one
 * transaction and one audit record; unchanged entries are left alone).
 */
pcard_err pcard_srv_admin_sync_config(pcard_srv *srv, char *err, size_t err_cap);
/* Serve one admin request (already authenticated); returns the status, *out the body. */
unsigned pcard_srv_admin(pcard_srv *srv, const pcard_srv_req *rq, json_t **out);

/* ---- srv_agent.c ---- */

/*
 * Serve one agent request (client certificate verified, agent known): returns the status,
 * *out the body (a JSON object; agent-protocol messages or an error reply).
 */
unsigned pcard_srv_agent(pcard_srv *srv, const pcard_srv_req *rq, json_t **out);
/* Look up the agent of a certificate fingerprint (srv_admin.c, which sees the store): 0 with
 * id filled, or 403 and a reply. */
unsigned pcard_srv_agent_lookup(pcard_srv *srv, const char *fingerprint, char *id,
    size_t id_cap, json_t **out);

/* An agent-protocol error message as *out (docs/agent-protocol.md "error"); returns status. */
unsigned pcard_srv_agent_error(json_t **out, unsigned status, const char *session, uint32_t step,
    pcard_err code, int retry, const char *fmt, ...) __attribute__((format(printf, 7, 8)));
/* The step-1 bundle of a session: [SELECT ISD aid (empty: default), INITIALIZE UPDATE] (relay:
 * [SELECT]); or, with
 * iu_only, [INITIALIZE UPDATE] (the relay's step 2). Owned text (free). */
pcard_err pcard_srv_first_bundle(const char *sid, uint32_t step, const uint8_t chal[8],
    const uint8_t *aid, size_t aid_len, int relay, int iu_only, char **text, size_t *len);

/* ---- srv_plan.c: a bundle's per-step verification records, as stored between exchanges ---- */

/* Encode b's steps (not their APDUs) as one hex string (owned: free). */
pcard_err pcard_srv_plan_encode(const pcard_bundle *b, char **hex);
/* Decode into b (its array attached with pcard_bundle_init; apdu fields left empty).
 * @retval PCARD_E_BAD_FILE malformed or more steps than b holds */
pcard_err pcard_srv_plan_decode(const char *hex, pcard_bundle *b);

/* ---- srv_flow.c: the exchanges after the hello ---- */

/*
 * Serve a responses message m of a session: the INITIALIZE UPDATE answer (card cryptogram in
 * the HSM, enrolment, the bundle of the jobs), a bundle's answers (R-MACs, job outcomes,
 * reconciliation, results), the per-APDU relay's one-step exchanges, and repeats of the last
 * message (answered from the stored reply). Returns the HTTP status, *out the body.
 */
unsigned pcard_srv_flow(pcard_srv *srv, const pcard_srv_req *rq, const pcard_bmsg *m,
    json_t **out);
/* A new enrolment in memory for an unknown card (NULL when the table is full). */
pcard_srv_enrol *pcard_srv_enrol_new(pcard_srv *srv);
/* Forget enrolments past their expiry, and any other of card (a new hello supersedes). */
void pcard_srv_enrol_sweep(pcard_srv *srv, const char *card);

/* ---- srv_session.c: the store side of agent sessions ---- */

/* *known = 1 when the card is registered (errors of the store otherwise). */
pcard_err pcard_srv_sess_card(pcard_srv *srv, const char *card_id, int *known);
/* 1 when a configured key profile lets unknown cards enrol. */
int pcard_srv_sess_enrol_profile(const pcard_srv *srv);
/*
 * Create session sid of a registered card at step 1 (INITIALIZE UPDATE sent), keeping the
 * step-1 reply text, with its audit record, in one transaction. A live session of the card
 * held by the same agent is superseded first (the agent restarted: that session is closed,
 * its jobs not yet sent go back to queued, those sent are reconciled by the new session).
 * @retval PCARD_E_EXISTS the card has a live session of another agent (or the id is taken)
 * @retval PCARD_E_NOT_FOUND unknown card or agent
 */
pcard_err pcard_srv_sess_open(pcard_srv *srv, const char *sid, const char *card_id,
    const char *agent_id, const uint8_t *host_chal, size_t host_chal_len, uint8_t level,
    int relay, const char *reply_text);

/* ---- srv_http.c ---- */

/*
 * Read the TLS files and the admin token, start the HTTPS daemon on cfg's address (the bound
 * port in srv->bound_port and, when configured, in port_file).
 * @retval PCARD_E_IO a file unreadable, or the socket could not be bound
 * @retval PCARD_E_BAD_FILE a token that is too short or too long
 */
pcard_err pcard_srv_http_start(pcard_srv *srv, char *err, size_t err_cap);
void pcard_srv_http_stop(pcard_srv *srv);

#endif
