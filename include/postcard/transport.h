/*
 * transport.h: anything that moves one command APDU to a card and brings back its response.
 *
 * A transport is a heap object behind a small vtable (pcard_transport_ops). Implementations
 * embed struct pcard_transport as their first member. Three live in libpostcard:
 *   - PC/SC through pcsc-lite (pcard_pcsc_open),
 *   - in-process: a function pointer, e.g. the card simulator (pcard_inproc_open),
 *   - others (vpcd socket, agent relay) implement the same ops elsewhere.
 *
 * Two layers:
 *   pcard_transport_raw()      one exchange, exactly the bytes given; no status-word handling.
 *   pcard_transport_transmit() ISO 7816-4 transport rules on top: 61xx -> GET RESPONSE
 *                              (00 C0 00 00 xx, data concatenated), 6Cxx -> resend with Le = xx.
 * Both pass every exchange (including each GET RESPONSE and resend) to the trace hook.
 *
 * Responses are raw bytes: data || SW1 SW2 (parse them with pcard_rapdu_parse).
 */
#ifndef POSTCARD_TRANSPORT_H
#define POSTCARD_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include "postcard/err.h"

typedef struct pcard_transport pcard_transport;

/* Direction of a traced APDU. */
enum pcard_trace_dir {
	PCARD_TRACE_CMD = 0,	/* host -> card */
	PCARD_TRACE_RESP = 1,	/* card -> host */
};

/*
 * Trace hook: sees every raw command and response (bytes borrowed for the call only).
 * The hook decides what to print; it must redact key-bearing commands (PUT KEY, encrypted
 * STORE DATA): see pcard_trace_redact().
 */
typedef void (*pcard_trace_fn)(void *ctx, int dir, const uint8_t *p, size_t n);

typedef struct pcard_transport_ops {
	const char *name;	/* "pcsc", "inproc", "vpcd", ... */
	/*
	 * One exchange. resp receives data || SW (at least 2 bytes on success).
	 * @retval PCARD_E_NOSPACE resp_cap too small for the response
	 * @retval PCARD_E_TRANSPORT, PCARD_E_NO_CARD the link or the card failed
	 */
	pcard_err (*transmit)(pcard_transport *t, const uint8_t *cmd, size_t n, uint8_t *resp,
	    size_t resp_cap, size_t *resp_len);
	/* Reset the card (warm, or cold = power cycle). NULL: PCARD_E_UNSUPPORTED. */
	pcard_err (*reset)(pcard_transport *t, int cold);
	/* The card's ATR. NULL: PCARD_E_UNSUPPORTED. */
	pcard_err (*atr)(pcard_transport *t, uint8_t *out, size_t out_cap, size_t *out_len);
	/* Release everything and free t. Never NULL. */
	void (*close)(pcard_transport *t);
} pcard_transport_ops;

struct pcard_transport {
	const pcard_transport_ops *ops;
	pcard_trace_fn trace;		/* NULL: no tracing */
	void *trace_ctx;
};

/* Install (or with fn NULL remove) the trace hook. */
void pcard_transport_set_trace(pcard_transport *t, pcard_trace_fn fn, void *ctx);

/* One raw exchange through t->ops->transmit, traced. A response under 2 bytes is
 * PCARD_E_TRANSPORT. */
pcard_err pcard_transport_raw(pcard_transport *t, const uint8_t *cmd, size_t n, uint8_t *resp,
    size_t resp_cap, size_t *resp_len);

#define PCARD_TRANSPORT_MAX_GET_RESPONSE 256	/* 61xx rounds before giving up */

/*
 * Exchange with the ISO 7816-4 transport rules:
 *  - SW 61xx: send GET RESPONSE (CLA 00 with the command's logical channel, INS C0, P1 P2 00,
 *    Le xx, 00 = 256) and append its data, as long as the card answers 61xx; the final SW is
 *    the last one received. Over PCARD_TRANSPORT_MAX_GET_RESPONSE rounds: PCARD_E_TRANSPORT.
 *  - SW 6Cxx: resend the same command once with Le = xx (00 = 256).
 * resp holds the concatenated data then the final SW.
 * @retval PCARD_E_NOSPACE resp_cap cannot hold the data gathered plus the SW
 * @retval PCARD_E_INVALID_ARG n under 4 (not a command)
 */
pcard_err pcard_transport_transmit(pcard_transport *t, const uint8_t *cmd, size_t n,
    uint8_t *resp, size_t resp_cap, size_t *resp_len);

pcard_err pcard_transport_reset(pcard_transport *t, int cold);
pcard_err pcard_transport_atr(pcard_transport *t, uint8_t *out, size_t out_cap, size_t *out_len);
/* Close and free t; NULL is allowed. */
void pcard_transport_close(pcard_transport *t);

/*
 * Whether a command's data must not be shown in a trace: PUT KEY (INS D8), STORE DATA (E2)
 * with encryption bits (P1 b7b6 != 00), and INITIALIZE UPDATE/EXTERNAL AUTHENTICATE are not
 * secret (cryptograms are one-time). Returns 1 to redact, 0 to show. Needs at least 4 bytes.
 */
int pcard_trace_redact(const uint8_t *cmd, size_t n);

/* ---- In-process transport ---- */

/* Called once per command; writes data || SW into resp. */
typedef pcard_err (*pcard_inproc_fn)(void *ctx, const uint8_t *cmd, size_t n, uint8_t *resp,
    size_t cap, size_t *resp_len);
/* Optional reset (cold when cold != 0). */
typedef pcard_err (*pcard_inproc_reset_fn)(void *ctx, int cold);

/*
 * A transport calling fn(ctx, ...) for every exchange; reset may be NULL (then
 * pcard_transport_reset answers PCARD_E_UNSUPPORTED). ctx is borrowed and must outlive *out.
 * @retval PCARD_E_INVALID_ARG fn or out NULL
 * @retval PCARD_E_NOMEM
 */
pcard_err pcard_inproc_open(pcard_inproc_fn fn, pcard_inproc_reset_fn reset, void *ctx,
    pcard_transport **out);

/* ---- PC/SC transport (pcsc-lite) ---- */

#define PCARD_READER_NAME_MAX 256

typedef struct pcard_reader_info {
	char name[PCARD_READER_NAME_MAX];
	int card_present;	/* 1 when the reader reports a card */
} pcard_reader_info;

/*
 * List the PC/SC readers (at most cap; *count is the number found, which may exceed cap).
 * @retval PCARD_E_NO_READER no reader is connected
 * @retval PCARD_E_TRANSPORT the PC/SC service is unreachable (pcscd not running) or failed
 */
pcard_err pcard_pcsc_list_readers(pcard_reader_info *out, size_t cap, size_t *count);

enum pcard_pcsc_disposition {
	PCARD_PCSC_LEAVE = 0,	/* SCARD_LEAVE_CARD: keep the card powered and its state */
	PCARD_PCSC_RESET = 1,	/* SCARD_RESET_CARD: warm reset (ends any secure channel) */
	PCARD_PCSC_UNPOWER = 2,	/* SCARD_UNPOWER_CARD */
};

typedef struct pcard_pcsc_opts {
	/*
	 * Which reader: NULL or "" = the first reader holding a card; otherwise an exact name,
	 * else a case-insensitive substring matching exactly one reader, else a decimal index
	 * into the reader list.
	 */
	const char *reader;
	int exclusive;		/* SCARD_SHARE_EXCLUSIVE instead of SHARED */
	int transaction;	/* hold SCardBeginTransaction from open to close */
	int disposition;	/* enum pcard_pcsc_disposition, applied at close */
	int protocol;		/* 0 = T=0 or T=1, 1 = T=1 only, 2 = T=0 only (PCARD_PCSC_T*) */
} pcard_pcsc_opts;

#define PCARD_PCSC_TANY 0
#define PCARD_PCSC_T1 1
#define PCARD_PCSC_T0 2

/*
 * Connect to a card. opts NULL = defaults (first card, shared, transaction, leave card).
 * @retval PCARD_E_NO_READER no reader matches, or the substring matches several
 * @retval PCARD_E_NO_CARD the reader holds no card, or the card does not answer
 * @retval PCARD_E_TRANSPORT the PC/SC service is unreachable or failed
 */
pcard_err pcard_pcsc_open(const pcard_pcsc_opts *opts, pcard_transport **out);

/* The name of the reader a PC/SC transport connected to (borrowed from t), or NULL if t is
 * not a PC/SC transport. */
const char *pcard_pcsc_reader_name(const pcard_transport *t);

#endif
