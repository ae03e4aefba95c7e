/*
 * bundle.h: jobs, bundles and reconciliation for remote card management (design.md flow 2,
 * "the pipe"; the messages are in docs/agent-protocol.md).
 *
 * A server holds a card's pending jobs. After the card cryptogram has verified, it builds ONE
 * bundle: EXTERNAL AUTHENTICATE then every command of the jobs, in a safe order, each wrapped
 * at the session's level (scp_bundle.h records how to verify each response). The agent plays
 * it, stops at the first status word the step does not list and returns every response; the
 * server verifies each R-MAC and decides per job:
 *
 *   DONE      the job's last command was answered as expected, R-MAC verified, and its data
 *             checked (PUT KEY: KVN and KCVs; datastore: the version)
 *   FAILED    a command of the job got a status word it does not list, authenticated by an
 *             R-MAC (SCP02 MACs every answer)
 *   UNKNOWN   not reached, an answer that did not verify, or an error status word that
 *             travelled bare (SCP03 sends error SWs without R-MAC, AmdD 6.2.5): the next
 *             session reconciles first
 *
 * Reconciliation. For UNKNOWN jobs the next session's bundle starts with reads (wrapped and
 * R-MACed like the rest): the card life cycle (GET STATUS P1 80), the applications
 * (GET STATUS P1 40, all, following 6310), the load files (P1 20, likewise), the key
 * information template (GET DATA E0), and for each datastore job its own versioned write
 * again (the datastore applies a version once: a retry of the same message answers 9000 and
 * C1 04 version without changing anything, so the write is its own read-back under the ISD's
 * R-MAC; GET DATA C1 would need the instance selected, which ends the ISD's secure channel).
 * pcard_bundle_reconcile_decide turns the answers into DONE / NOT_DONE (finish it: the job
 * goes into the next bundle, with skip_load when its load file is already on the card) /
 * FAILED / UNKNOWN. Absence is only believed from a MACed complete listing.
 *
 * Everything here is a pure function over plain structs: no I/O, no allocation (the caller
 * gives the step and result arrays). Key values never appear: PUT KEY blocks come from the
 * key provider (putkey.h) under the session's DEK.
 */
#ifndef POSTCARD_BUNDLE_H
#define POSTCARD_BUNDLE_H

#include <stddef.h>
#include <stdint.h>

#include "postcard/err.h"
#include "postcard/gp.h"
#include "postcard/keys.h"
#include "postcard/putkey.h"
#include "postcard/scp.h"
#include "postcard/scp_bundle.h"

/* ------------------------------------------------------------------------------------------ */
/* Jobs */

typedef enum pcard_bjob_type {
	PCARD_BJOB_INSTALL = 1,	/* LOAD a load file (unless skip_load) and install an instance;
				 * no instance (a library): load only */
	PCARD_BJOB_DELETE,	/* DELETE aid (with related objects when related) */
	PCARD_BJOB_DATA,		/* personalise / change datastore items: absolute versioned write */
	PCARD_BJOB_LOCK_APP,	/* SET STATUS 40 80 aid */
	PCARD_BJOB_UNLOCK_APP,	/* SET STATUS 40 00 aid */
	PCARD_BJOB_LOCK_CARD,	/* SET STATUS 80 7F */
	PCARD_BJOB_UNLOCK_CARD,	/* SET STATUS 80 0F */
	PCARD_BJOB_TERMINATE,	/* SET STATUS 80 FF */
	PCARD_BJOB_ROTATE_KEYS,	/* PUT KEY: ENC MAC DEK replacing old_kvn by new_kvn */
	PCARD_BJOB__COUNT
} pcard_bjob_type;

#define PCARD_BJOB_PARAMS_MAX 128
#define PCARD_BJOB_ITEMS_MAX 224
#define PCARD_BJOB_IMPORTS_MAX 16

typedef struct pcard_bjob {
	uint64_t id;
	int type;			/* pcard_bjob_type */
	/* install; instance.len == 0: load only (INSTALL [for load] and LOAD, decided by the
	 * last LOAD's answer; reconciled from the load file listing) */
	const uint8_t *load_file;	/* C4 len LFDB (pcard_cap_load_file); borrowed */
	size_t load_file_len;
	int skip_load;			/* the load file is on the card already */
	pcard_gp_aid elf, module, instance;
	/* the packages the load file imports (CAP Import component; optional): a LOAD of one
	 * of them in the same pcard_bundle_add_jobs call goes first */
	pcard_gp_aid imports[PCARD_BJOB_IMPORTS_MAX];
	size_t nimports;
	uint32_t privs;
	uint8_t params[PCARD_BJOB_PARAMS_MAX];	/* install parameters (wrapped in C9 unless TLV) */
	size_t params_len;
	/* delete, lock-app, unlock-app, data: the target */
	pcard_gp_aid aid;
	int related;			/* delete: with related objects */
	/* data: message = C1 04 version [C0 04 expected] items */
	uint32_t version;
	int has_expected;
	uint32_t expected;
	uint8_t items[PCARD_BJOB_ITEMS_MAX];	/* BER-TLV items (tag len value ...) */
	size_t items_len;
	int encrypt;			/* STORE DATA P1 b7b6 = 11 under the DEK */
	/* rotate-keys: new key values are provider handles (the server's HSM) */
	uint8_t old_kvn, new_kvn;
	pcard_keyh new_keys[3];		/* ENC, MAC, DEK; borrowed */
	/*
	 * Reconciliation: the status word (and its command's INS) a refusal of the previous
	 * attempt carried without R-MAC (SCP03 sends error SWs bare), 0 when none. Unless the
	 * reads show the job done, it is FAILED with that SW explained (macd 0) instead of
	 * sent again: the same bytes would be refused the same way.
	 */
	uint16_t refused_sw;
	uint8_t refused_ins;
} pcard_bjob;

/* "install", "delete", "data", "lock-app", "unlock-app", "lock-card", "unlock-card",
 * "terminate", "rotate-keys"; NULL for another value. */
const char *pcard_bjob_type_name(int type);
/* @retval PCARD_E_NOT_FOUND unknown name */
pcard_err pcard_bjob_type_from_name(const char *name, int *type);
/* Safe order rank: unlock-card 0, delete 1, install 2, data 3, lock/unlock-app 4,
 * rotate-keys 5, lock-card 6, terminate 7 (-1 for an unknown type). */
int pcard_bjob_rank(int type);

/* ------------------------------------------------------------------------------------------ */
/* Bundles */

#define PCARD_BUNDLE_MAX_EXPECT 4
#define PCARD_BUNDLE_ORDER_MAX 256	/* jobs that pcard_bundle_add_jobs orders by dependency */
#define PCARD_BUNDLE_NO_JOB ((size_t)-1)

enum pcard_step_purpose {
	PCARD_STEP_AUTH = 1,	/* EXTERNAL AUTHENTICATE */
	PCARD_STEP_JOB,		/* a command of a job */
	PCARD_STEP_RECONCILE,	/* a read (or idempotent write) of the reconciliation prefix */
};

enum pcard_step_probe {
	PCARD_PROBE_NONE = 0,
	PCARD_PROBE_ISD,	/* GET STATUS P1 80 */
	PCARD_PROBE_APPS,	/* GET STATUS P1 40 (first page or a next page) */
	PCARD_PROBE_ELFS,	/* GET STATUS P1 20 */
	PCARD_PROBE_KEYS,	/* GET DATA E0 */
	PCARD_PROBE_DATA,	/* a datastore job's write again (INSTALL [perso], STORE DATA) */
};

typedef struct pcard_bundle_step {
	uint8_t apdu[PCARD_SCP_MAX_CMD];	/* wrapped command, as the agent sends it */
	size_t apdu_len;
	uint16_t expect[PCARD_BUNDLE_MAX_EXPECT];	/* status words that let the agent go on */
	size_t n_expect;
	size_t job;			/* index in the job array, or PCARD_BUNDLE_NO_JOB */
	uint8_t purpose;		/* enum pcard_step_purpose */
	uint8_t probe;			/* enum pcard_step_probe (reconcile steps) */
	uint8_t ins;			/* INS of the plain command (SW explanations) */
	uint8_t last;			/* the job's last command: its answer decides DONE */
	pcard_scpb_ctx ctx;		/* how to verify the response */
	int has_putkey;
	pcard_putkey_expect putkey;	/* rotate-keys: what the card must answer */
} pcard_bundle_step;

typedef struct pcard_bundle {
	pcard_bundle_step *steps;	/* borrowed: the caller's array */
	size_t n, cap;
} pcard_bundle;

void pcard_bundle_init(pcard_bundle *b, pcard_bundle_step *steps, size_t cap);

/*
 * Append EXTERNAL AUTHENTICATE for level to b (the session s has checked the card
 * cryptogram: pcard_scp_host_auth). s is then open.
 * @retval PCARD_E_NOSPACE b is full; errors of pcard_scp_host_ext_auth
 */
pcard_err pcard_bundle_add_ext_auth(pcard_bundle *b, pcard_scp *s, uint8_t level);

/*
 * Append every command of jobs[0..njobs) in the safe order (pcard_bjob_rank, then the order
 * given; among installs, a job goes after the jobs that LOAD a package it imports or the
 * package it installs from without loading it; a cycle keeps the order given; over
 * PCARD_BUNDLE_ORDER_MAX jobs the order given), wrapped through s. LOAD blocks take pcard_scp_max_data(s) bytes. keys is the
 * provider holding s's keys and the jobs' new keys (PUT KEY and encrypted STORE DATA).
 * On failure b is back to its length before the call (s has advanced: discard it).
 * @retval PCARD_E_NOSPACE b is full
 * @retval PCARD_E_INVALID_ARG a job malformed (unknown type, missing AID or load file, data
 *         message too long for one STORE DATA at this level, more than 256 LOAD blocks, a
 *         load-only install with skip_load)
 * @retval PCARD_E_UNSUPPORTED rotate-keys under a level without C-MAC
 */
pcard_err pcard_bundle_add_jobs(pcard_bundle *b, pcard_scp *s, pcard_keys *keys,
    const pcard_bjob *jobs, size_t njobs);

/*
 * Append the reconciliation reads for jobs[0..njobs) (the jobs whose state is unknown):
 * GET STATUS 80; 40 and 20 each with 3 next pages; GET DATA E0; each data job's write again.
 */
pcard_err pcard_bundle_add_reconcile(pcard_bundle *b, pcard_scp *s, pcard_keys *keys,
    const pcard_bjob *jobs, size_t njobs);

/* ------------------------------------------------------------------------------------------ */
/* Responses */

typedef struct pcard_bundle_rsp {
	const uint8_t *p;		/* borrowed */
	size_t n;
} pcard_bundle_rsp;

enum pcard_step_status {
	PCARD_STEP_NOT_REACHED = 0,	/* no response returned */
	PCARD_STEP_OK,			/* expected SW, authenticated (or no R-MAC possible: see macd) */
	PCARD_STEP_UNEXPECTED,		/* a SW the step does not list */
	PCARD_STEP_BAD_MAC,		/* R-MAC wrong or missing, bad R-ENC padding */
};

typedef struct pcard_step_result {
	int status;			/* enum pcard_step_status */
	int macd;			/* 1: authenticated by the card's R-MAC */
	uint16_t sw;
	uint8_t data[256 + 16];		/* plain response data (R-ENC decrypted) */
	size_t len;
} pcard_step_result;

/*
 * Verify the agent's responses rsp[0..nrsp) against b with session s (imported from the
 * store; its keys derived again). res[0..b->n) receives one result per step; steps without a
 * response are NOT_REACHED.
 * @retval PCARD_E_BAD_ENCODING more responses than steps, a response under 2 bytes or over
 *         PCARD_SCP_MAX_RSP (the agent misbehaves: nothing is believed)
 */
pcard_err pcard_bundle_verify(const pcard_scp *s, const pcard_bundle *b,
    const pcard_bundle_rsp *rsp, size_t nrsp, pcard_step_result *res);

enum pcard_bjob_state {
	PCARD_BJOB_UNKNOWN = 0,
	PCARD_BJOB_DONE,
	PCARD_BJOB_FAILED,
	PCARD_BJOB_NOT_DONE,		/* reconciliation: the card shows it did not happen */
};

typedef struct pcard_bjob_result {
	uint64_t id;
	int state;			/* enum pcard_bjob_state */
	uint16_t sw;			/* the deciding status word (0 when none) */
	uint8_t ins;			/* its command's INS */
	int macd;			/* the deciding answer was R-MACed */
	pcard_err err;			/* PCARD_E_MAC, PCARD_E_VERIFY (KCV, version) or OK */
	int elf_present;		/* reconcile of install: the load file is on the card */
	const char *why;		/* static English reason */
} pcard_bjob_result;

/* "unknown", "done", "failed", "not-done". */
const char *pcard_bjob_state_name(int state);

/*
 * Decide every job of the bundle from verified step results: out[i] for jobs[i].
 * Jobs without a step in b are left UNKNOWN ("not in this bundle").
 */
pcard_err pcard_bundle_outcomes(const pcard_bundle *b, const pcard_step_result *res,
    const pcard_bjob *jobs, size_t njobs, pcard_bjob_result *out);

/*
 * Decide jobs[0..njobs) from the reconciliation steps of b (their results in res): out[i]
 * DONE, NOT_DONE (elf_present set for install), FAILED or UNKNOWN as the header explains.
 * A load-only install is DONE when the load file listing has its ELF. A NOT_DONE or
 * UNKNOWN job with refused_sw set becomes FAILED with that SW (macd 0) and its explanation.
 */
pcard_err pcard_bundle_reconcile_decide(const pcard_bundle *b, const pcard_step_result *res,
    const pcard_bjob *jobs, size_t njobs, pcard_bjob_result *out);

/*
 * Move s to where the card is after the last step that has a result (verified): commands
 * wrapped next continue the card's chain (the bundle after a reconciliation prefix).
 * @retval PCARD_E_STATE no step answered
 * @retval PCARD_E_MAC the last answer did not verify: the channel cannot be continued
 */
pcard_err pcard_bundle_resume(pcard_scp *s, const pcard_bundle *b, const pcard_step_result *res,
    const pcard_bundle_rsp *rsp, size_t nrsp);

/* The KVN the card answered in an INITIALIZE UPDATE response (data + SW): the server picks
 * the key set by it (old or new keys while a rotation is unconfirmed).
 * @retval PCARD_E_TRUNCATED too short; PCARD_E_CARD_STATUS SW not 9000 */
pcard_err pcard_bundle_iu_kvn(const uint8_t *rsp, size_t n, uint8_t *kvn);

/* ------------------------------------------------------------------------------------------ */
/* Agent <-> server messages (JSON; docs/agent-protocol.md). bundle_json.c, over jansson. */

#define PCARD_BMSG_VERSION 1
#define PCARD_BMSG_ID_MAX 64		/* session id: [A-Za-z0-9_-], 1..64 */
#define PCARD_BMSG_MAX_BYTES (1u << 20)	/* largest message accepted */
#define PCARD_BMSG_MAX_STEPS 1024
#define PCARD_BMSG_CARD_FIELD_MAX 256	/* bytes of one identity field */
#define PCARD_BMSG_TEXT_MAX 200

enum pcard_bmsg_type {
	PCARD_BMSG_HELLO = 1,		/* agent -> server: card identity */
	PCARD_BMSG_BUNDLE,		/* server -> agent: steps to play */
	PCARD_BMSG_RESPONSES,		/* agent -> server: what the card answered */
	PCARD_BMSG_RESULT,		/* server -> agent: the session is over, job states */
	PCARD_BMSG_ERROR,		/* either way: the request is refused */
};

enum pcard_bmsg_stop {
	PCARD_BMSG_STOP_COMPLETE = 1,	/* every step played, each SW expected */
	PCARD_BMSG_STOP_UNEXPECTED_SW,	/* stopped after the first unexpected SW */
	PCARD_BMSG_STOP_CARD_ERROR,	/* the reader / card failed: the last step has no answer */
};

typedef struct pcard_bmsg_bytes {
	uint8_t b[PCARD_BMSG_CARD_FIELD_MAX];
	size_t len;
	int present;
} pcard_bmsg_bytes;

typedef struct pcard_bmsg_step {
	uint8_t apdu[PCARD_SCP_MAX_CMD];
	size_t apdu_len;
	uint16_t expect[PCARD_BUNDLE_MAX_EXPECT];
	size_t n_expect;
} pcard_bmsg_step;

typedef struct pcard_bmsg_rsp {
	uint8_t b[PCARD_SCP_MAX_RSP];
	size_t len;
} pcard_bmsg_rsp;

typedef struct pcard_bmsg_job {
	uint64_t id;
	int state;			/* enum pcard_bjob_state */
	uint16_t sw;
	char why[PCARD_BMSG_TEXT_MAX + 1];
} pcard_bmsg_job;

typedef struct pcard_bmsg {
	int type;			/* enum pcard_bmsg_type */
	char session[PCARD_BMSG_ID_MAX + 1];	/* "" in a hello */
	uint32_t step;			/* exchange number: hello 0, then 1, 2, ... */
	/* hello: identity read without authentication */
	pcard_bmsg_bytes atr, fci, cplc, iin, cin, kdd, seq;
	char agent[PCARD_BMSG_ID_MAX + 1];
	int relay;			/* hello: 1 asks for the per-APDU relay mode */
	/* bundle: caller's array */
	pcard_bmsg_step *steps;
	size_t nsteps, steps_cap;
	/* responses: caller's array */
	pcard_bmsg_rsp *rsps;
	size_t nrsps, rsps_cap;
	int stop;			/* enum pcard_bmsg_stop */
	/* result */
	pcard_bmsg_job *jobs;
	size_t njobs, jobs_cap;
	/* error */
	char code[32];			/* pcard_errname, e.g. "PCARD_E_MAC" */
	char message[PCARD_BMSG_TEXT_MAX + 1];
	int retry;			/* error: 1 when sending the same request again may work */
} pcard_bmsg;

/* Zero m and attach the caller's arrays (any may be NULL with cap 0). */
void pcard_bmsg_init(pcard_bmsg *m, pcard_bmsg_step *steps, size_t steps_cap,
    pcard_bmsg_rsp *rsps, size_t rsps_cap, pcard_bmsg_job *jobs, size_t jobs_cap);

/*
 * Parse one message (untrusted bytes, not NUL-terminated) into m (its arrays attached with
 * pcard_bmsg_init). Every field is checked: known type, version 1, session id syntax, step
 * range, hex strings of bounded length, APDUs that parse, SWs of 4 hex digits, no unknown
 * member at the top level. err (may be NULL) receives a one-line reason.
 * @retval PCARD_E_BAD_ENCODING not JSON, a field missing, of the wrong type or out of range
 * @retval PCARD_E_NOSPACE more steps / responses / jobs than the arrays hold
 * @retval PCARD_E_UNSUPPORTED another protocol version
 */
pcard_err pcard_bmsg_parse(const char *json, size_t n, pcard_bmsg *m, char *err,
    size_t err_cap);

/*
 * Encode m as compact JSON into out (NUL-terminated; *out_len excludes the NUL).
 * @retval PCARD_E_NOSPACE out_cap too small; PCARD_E_INVALID_ARG a field out of range
 */
pcard_err pcard_bmsg_encode(const pcard_bmsg *m, char *out, size_t out_cap, size_t *out_len);

/* Fill m's steps from a bundle (m->type BUNDLE). @retval PCARD_E_NOSPACE */
pcard_err pcard_bmsg_from_bundle(pcard_bmsg *m, const pcard_bundle *b);

#endif
