/*
 * agent.h: postcard-agent's internals (docs/agent.md; the wire contract is
 * docs/agent-protocol.md).
 *
 *   agent_card.c   the card side: identity read without authentication (ATR, SELECT ISD,
 *                  GET DATA), and playing a bundle's steps with the ISO transport rules
 *   agent_run.c    one session: hello, bundles and responses until a result, retries of a
 *                  failed HTTP exchange with the same session id and step, kill hooks, summary
 *   agent_http.c   the HTTP exchange over libcurl: one handle, mutual TLS, keep-alive
 *   agent_main.c   the command line, the one-line errors and the --json summary
 *
 * The agent holds no key. It never changes, skips or repeats a step it was given, and never
 * sends an APDU again for a step the server may already have: a retried exchange resends the
 * very message (same bytes: same session id, step and responses).
 */
#ifndef PCARD_AGENT_H
#define PCARD_AGENT_H

#include <stddef.h>
#include <stdint.h>

#include "postcard/bundle.h"
#include "postcard/err.h"
#include "postcard/transport.h"

#define PCARD_AGENT_RESP_MAX (PCARD_BMSG_MAX_BYTES + 1)	/* largest reply body accepted */
#define PCARD_AGENT_XLOG_MAX 64		/* exchanges recorded one by one in a summary */
#define PCARD_AGENT_MAX_EXCHANGES 4096	/* a session that takes more is refused */
#define PCARD_AGENT_MSG_MAX 256

/* ---- agent_card.c ---- */

/*
 * Read the card's identity without authentication into the hello fields of m (atr, fci,
 * cplc, iin, cin, kdd, seq): the ATR from the transport, SELECT of the ISD (empty AID, then
 * A000000151000000 when that is refused), GET DATA 9F7F, 42, 45, CF, C1 with CLA 80 (then 00
 * when the class is refused). A field the card does not give stays absent; *napdus counts
 * the commands sent (may be NULL).
 * @retval PCARD_E_TRANSPORT, PCARD_E_NO_CARD the reader or card failed
 * @retval PCARD_E_UNSUPPORTED the ATR cannot be read or is not 2..33 bytes
 */
pcard_err pcard_agent_identity(pcard_transport *t, pcard_bmsg *m, size_t *napdus);

/* What playing a bundle did. */
typedef struct pcard_agent_play_stats {
	size_t played;		/* steps answered */
	int stop;		/* enum pcard_bmsg_stop */
	pcard_err card_err;	/* the transport's error when stop is CARD_ERROR */
	uint16_t last_sw;	/* SW of the last answer (0 when none) */
} pcard_agent_play_stats;

/*
 * Called after each step's answer arrived (k counts from 1); a test hook (kill points).
 * Returns non-zero to make the card fail there (power cut): the step after k is not sent.
 */
typedef int (*pcard_agent_step_hook)(void *ctx, uint32_t msg_step, size_t k);

/*
 * Play bundle->steps[0..nsteps) on t with pcard_transport_transmit (61xx GET RESPONSE and
 * 6Cxx resend are the transport's), stopping after the first answer whose SW the step does
 * not list, or at a transport failure. out->rsps[0..played) receive the answers (out is a
 * responses message whose array holds at least bundle->nsteps entries; its session and step
 * are copied from bundle).
 * @retval PCARD_E_NOSPACE out's response array is smaller than the bundle
 */
pcard_err pcard_agent_play(pcard_transport *t, const pcard_bmsg *bundle, pcard_bmsg *out,
    pcard_agent_step_hook hook, void *hook_ctx, pcard_agent_play_stats *st);

/* ---- agent_http.c ---- */

typedef struct pcard_agent_http pcard_agent_http;

typedef struct pcard_agent_http_opts {
	const char *base_url;	/* https://HOST:PORT (a trailing slash is allowed) */
	const char *cert;	/* client certificate, PEM */
	const char *key;	/* its private key, PEM */
	const char *cacert;	/* the only CA trusted for the server (no system store) */
	const char *pin;	/* optional CURLOPT_PINNEDPUBLICKEY value ("sha256//...") */
	unsigned timeout_s;	/* whole exchange; 0 = 30 */
	int insecure_http;	/* tests only: allow http:// (never set by the program) */
} pcard_agent_http_opts;

/*
 * One libcurl easy handle reused for every exchange (keep-alive), TLS 1.2 or later, peer and
 * host verified against cacert alone, client certificate and key.
 * @retval PCARD_E_USAGE base_url not https://, a file option missing
 * @retval PCARD_E_NOMEM
 */
pcard_err pcard_agent_http_new(const pcard_agent_http_opts *o, pcard_agent_http **out);
void pcard_agent_http_free(pcard_agent_http *h);

/* Hook points inside one HTTP exchange (kill tests). */
enum pcard_agent_http_point {
	PCARD_AGENT_HTTP_SENT = 1,	/* the request body has left, no response read yet */
};
typedef void (*pcard_agent_http_hook)(void *ctx, int point);
void pcard_agent_http_set_hook(pcard_agent_http *h, pcard_agent_http_hook fn, void *ctx);

/*
 * POST body (JSON) to base_url + path. On PCARD_OK an HTTP answer arrived: *status and
 * resp[0..*resp_len) (NUL-terminated; resp_cap includes the NUL).
 * @retval PCARD_E_TRANSPORT the exchange failed on the way (connect, reset, timeout): the
 *         server may or may not have seen the request; resending the same body is safe
 * @retval PCARD_E_VERIFY the server's certificate does not verify against cacert
 * @retval PCARD_E_BAD_FILE the client certificate or key cannot be used
 * @retval PCARD_E_NOSPACE the answer is longer than resp_cap - 1
 * err (may be NULL) receives libcurl's reason.
 */
pcard_err pcard_agent_http_post(pcard_agent_http *h, const char *path, const char *body,
    size_t n, char *resp, size_t resp_cap, size_t *resp_len, long *status, char *err,
    size_t err_cap);

/* ---- agent_run.c ---- */

/* The exchange function a session uses: pcard_agent_http_post or a test's fake server. */
typedef pcard_err (*pcard_agent_post_fn)(void *ctx, const char *path, const char *body,
    size_t n, char *resp, size_t resp_cap, size_t *resp_len, long *status, char *err,
    size_t err_cap);

/*
 * Kill points (PCARD_AGENT_KILL_AT, docs/agent.md), for the kill tests:
 *   send:N        before HTTP exchange N (1 = the hello) is sent
 *   sent:N        after exchange N's request left, before its answer is read
 *   recv:N        after exchange N's answer arrived, before it is used
 *   apdu:S:K      after the card answered APDU K (from 1) of the bundle of step S
 *   cardoff:S:K   the same point, but the card is powered off (cold reset) instead of the
 *                 agent being killed: the agent goes on and reports card_error
 *   sleep-apdu:S:K:MS  sleep MS ms after that APDU (a window for killing something else)
 *   peer-send:N, peer-sent:N, peer-recv:N, peer-apdu:S:K   the same points, but SIGKILL goes
 *                 to the process cfg->peer_pid (the server, PCARD_AGENT_KILL_PID) once, and
 *                 the agent goes on (its resends meet the restarted server)
 * A kill is SIGKILL to the agent itself: nothing is flushed, no handler runs.
 */
enum pcard_agent_kill_kind {
	PCARD_AGENT_KILL_NONE = 0,
	PCARD_AGENT_KILL_SEND,
	PCARD_AGENT_KILL_SENT,
	PCARD_AGENT_KILL_RECV,
	PCARD_AGENT_KILL_APDU,
	PCARD_AGENT_KILL_CARDOFF,
	PCARD_AGENT_KILL_SLEEP_APDU,
};

typedef struct pcard_agent_kill {
	int kind;
	int peer;		/* the "peer-" forms: kill cfg->peer_pid instead */
	uint32_t n;		/* exchange number, or bundle step */
	size_t k;		/* APDU number */
	unsigned ms;		/* sleep */
} pcard_agent_kill;

/* @retval PCARD_E_USAGE not one of the forms above ("" and NULL are KILL_NONE) */
/* Act on a kill point that was reached: SIGKILL to the agent, or once to the peer. */
void pcard_agent_kill_fire(const pcard_agent_kill *k, int peer_pid, int *fired);
pcard_err pcard_agent_kill_parse(const char *spec, pcard_agent_kill *k);

typedef struct pcard_agent_cfg {
	const char *agent_id;	/* hello's "agent" member; NULL or "" leaves it out */
	int relay;		/* per-APDU relay mode: hello says so, /agent/v1/relay */
	unsigned retries;	/* resends of one message after a failed exchange */
	unsigned retry_delay_ms;	/* first wait, doubled each time up to 2000 ms; 0 = 100 */
	pcard_agent_kill kill;
	pcard_agent_post_fn post;
	void *post_ctx;
	uint32_t *exchange_now;	/* may be NULL: receives the number of the exchange under way */
	int peer_pid;		/* the process the peer- kill points kill (0: none) */
} pcard_agent_cfg;

/* One HTTP exchange of a session, as the summary records it. */
typedef struct pcard_agent_xchg {
	uint32_t step;		/* the step of the message sent */
	int sent;		/* enum pcard_bmsg_type sent */
	int got;		/* type answered (0 when none) */
	long http;		/* last HTTP status (0 when none arrived) */
	unsigned tries;		/* 1 + resends */
	size_t steps;		/* APDUs in the bundle answered */
	size_t rsps;		/* responses sent */
	size_t up, down;	/* body bytes of the last try */
	double ms;		/* wall time of all tries */
} pcard_agent_xchg;

typedef struct pcard_agent_summary {
	char session[PCARD_BMSG_ID_MAX + 1];
	size_t exchanges;	/* messages answered by the server (retries not counted) */
	size_t requests;	/* HTTP requests made (retries counted) */
	size_t retries;
	size_t id_apdus;	/* identity read */
	size_t apdus;		/* bundle steps answered by the card */
	size_t bundles;
	int last_stop;		/* enum pcard_bmsg_stop of the last bundle played (0 none) */
	pcard_bmsg_job *jobs;	/* result's jobs (owned; free with pcard_agent_summary_clear) */
	size_t njobs;
	size_t done, failed, unknown, not_done;
	pcard_agent_xchg x[PCARD_AGENT_XLOG_MAX];
	size_t nx;		/* entries in x (the first PCARD_AGENT_XLOG_MAX exchanges) */
	pcard_err err;		/* why the session did not end with a result (PCARD_OK if it did) */
	char msg[PCARD_AGENT_MSG_MAX];	/* one line about err */
	long http_status;	/* of a refusal */
} pcard_agent_summary;

void pcard_agent_summary_clear(pcard_agent_summary *s);

/*
 * Run one session: read the identity, hello, then play each bundle and return its responses
 * until the server answers a result or an error. A failed exchange is resent (same bytes)
 * up to cfg->retries times. sum is filled (also on failure).
 * @return PCARD_OK when a result arrived (look at sum's job counts); else the error that
 *         ended the session (sum->msg says it in one line): PCARD_E_TRANSPORT exchanges kept
 *         failing, the code of a server refusal (PCARD_E_CONFLICT, PCARD_E_AUTH, ...),
 *         PCARD_E_BAD_ENCODING the server's message did not parse, errors of the card.
 */
pcard_err pcard_agent_session(const pcard_agent_cfg *cfg, pcard_transport *t,
    pcard_agent_summary *sum);

/* The pcard_err whose pcard_errname is name; PCARD_E_INTERNAL when none is. */
pcard_err pcard_agent_err_from_name(const char *name);

#endif
