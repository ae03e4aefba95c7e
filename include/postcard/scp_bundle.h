/*
 * scp_bundle.h: the host side of a secure channel for a stateless server and for bundles
 * (docs/agent-protocol.md).
 *
 * 1. Export / import. A server answers each HTTP request and forgets; between requests a
 *    session lives in its store as the non-secret state this module exports: SCP, i, level,
 *    S16, KVN, challenges, sequence counter, KDD, MAC chaining values, encryption counter,
 *    AID, max Lc, the SCP02 R-MAC input of the last command. Session keys are never part of
 *    it: pcard_scpb_import derives them again through the key provider from the static keys
 *    and the challenges (in the HSM on the server).
 *
 *    Blob, version 1 (all integers big-endian; lengths checked on import):
 *
 *      off  size  field
 *        0     1  format = 0x01
 *        1     1  state (1 INITIALIZED, 2 OPEN)
 *        2     1  scp (0 before the INITIALIZE UPDATE response, 2, 3)
 *        3     1  i
 *        4     1  level
 *        5     1  kvn
 *        6     1  expect_kvn
 *        7     1  flags: 01 S16, 02 R-MAC on, 04 session keys derived, 08 response due
 *        8     2  max Lc (32..255)
 *       10     3  sequence counter
 *       13     4  encryption counter
 *       17    10  KDD
 *       27    16  MAC chaining value (SCP03: 16; SCP02: last C-MAC in the first 8)
 *       43     8  SCP02 R-MAC chaining value
 *       51     1  host challenge length (8 or 16), then the challenge
 *        .     1  card challenge length (0, 6, 8 or 16), then the challenge
 *        .     1  AID length (0..16), then the AID
 *        .     2  SCP02 last command length (0 or 5..260), then its bytes
 *
 * 2. Bundles. pcard_scpb_wrap wraps commands one after the other exactly as
 *    pcard_scp_wrap_cmd does, without waiting for responses, and records per command the
 *    context its response is verified with (pcard_scpb_ctx: the SCP03 chaining value and
 *    R-ENC counter, the SCP02 R-MAC input). pcard_scpb_verify checks response k with context
 *    k later, in any order: the card answers in order, the server sees them all at once.
 *    SCP02 chains R-MACs from response to response, so its check of response k takes the
 *    previous response's bytes, except where the context knows the chaining value already
 *    (ctx->rchain_set: the first command after EXTERNAL AUTHENTICATE or after a resume).
 *
 * Nothing here touches key bytes; a pcard_scpb_ctx holds no secret (the C-MAC it records
 * travels on the wire; the SCP02 command record is the plain command, so a context of a
 * command that carried encrypted secret data must be kept like that data: the bundle layer
 * keeps contexts only in memory and the server stores only what pcard_scpb_export writes).
 */
#ifndef POSTCARD_SCP_BUNDLE_H
#define POSTCARD_SCP_BUNDLE_H

#include <stddef.h>
#include <stdint.h>

#include "postcard/err.h"
#include "postcard/keys.h"
#include "postcard/scp.h"

#define PCARD_SCPB_FORMAT 0x01
/* Largest exported blob: 51 fixed, 1+16, 1+16, 1+16, 2+260. */
#define PCARD_SCPB_STATE_MAX (51 + 17 + 17 + 17 + 2 + 260)

/* Verification context of one wrapped command's response. Plain data; holds no key. */
typedef struct pcard_scpb_ctx {
	uint8_t scp;		/* 2 or 3 */
	uint8_t level;		/* the session's level when the command was wrapped */
	uint8_t rmac;		/* 1: the response carries an R-MAC */
	uint8_t rchain_set;	/* SCP02: rchain holds the R-MAC chaining value (first command
				 * after EXTERNAL AUTHENTICATE: zero; first after a resume) */
	uint8_t rchain[8];
	uint8_t s16;
	uint8_t chain[16];	/* SCP03: this command's full C-MAC (the R-MAC chaining input) */
	uint32_t enc_counter;	/* SCP03: this command's counter (R-ENC ICV) */
	uint8_t last_cmd[5 + 255];	/* SCP02: CLA'' INS P1 P2 Lc plain-data */
	size_t last_cmd_len;
} pcard_scpb_ctx;

/*
 * Write the non-secret state of host session s (INITIALIZED or OPEN) as a blob (layout
 * above). out_cap PCARD_SCPB_STATE_MAX always suffices.
 * @retval PCARD_E_STATE not a host session, no session, or a dead one
 * @retval PCARD_E_NOSPACE out_cap too small
 */
pcard_err pcard_scpb_export(const pcard_scp *s, uint8_t *out, size_t out_cap, size_t *out_len);

/*
 * Re-establish a host session from a blob: s is cleared, the fields restored, and when the
 * blob says the session keys had been derived they are derived again through keys from ks
 * (borrowed until pcard_scp_clear, as pcard_scp_host_init_update). Every field is checked.
 * @retval PCARD_E_TRUNCATED / PCARD_E_TRAILING_DATA blob shorter / longer than its fields
 * @retval PCARD_E_BAD_ENCODING unknown format, a value out of its range
 * @retval PCARD_E_KEY static keys of the wrong type; errors of the provider
 */
pcard_err pcard_scpb_import(pcard_scp *s, pcard_keys *keys, const pcard_scp_keyset *ks,
    const uint8_t *blob, size_t n);

/*
 * EXTERNAL AUTHENTICATE for a bundle: pcard_scp_host_ext_auth, and the context of its answer
 * (a bare status word, never R-MACed: its success shows in the R-MACs that follow).
 */
pcard_err pcard_scpb_ext_auth(pcard_scp *s, uint8_t level, uint8_t *out, size_t out_cap,
    size_t *out_len, pcard_scpb_ctx *ctx);

/*
 * Wrap cmd exactly as pcard_scp_wrap_cmd would (same bytes) and record its response's
 * context in ctx. Responses are not awaited: call it once per command of the bundle.
 * @retval PCARD_E_UNSUPPORTED SCP02 BEGIN / END R-MAC SESSION (bundles use an R-MAC level)
 * @retval errors of pcard_scp_wrap_cmd
 */
pcard_err pcard_scpb_wrap(pcard_scp *s, const uint8_t *cmd, size_t n, uint8_t *out,
    size_t out_cap, size_t *out_len, pcard_scpb_ctx *ctx);

/*
 * Verify and decrypt the response rsp to the command whose context is ctx, with the session
 * keys of s (an imported or live host session of the same session; s is not changed, and a
 * failure does not kill it). prev is the previous response of the bundle (SCP02 only, when
 * ctx->rchain_set is 0: its R-MAC is the chaining value); may be NULL otherwise.
 * out receives plain data then SW1 SW2. *macd is 1 when the response was authenticated by an
 * R-MAC, 0 when it carried none (no R-MAC level; SCP03 error status words travel bare,
 * AmdD 6.2.5; EXTERNAL AUTHENTICATE) and was passed through as it is.
 * @retval PCARD_E_MAC R-MAC wrong or missing (or data where a bare SW was due)
 * @retval PCARD_E_PADDING R-ENC padding wrong
 * @retval PCARD_E_INVALID_ARG SCP02 chained context without prev, or prev too short
 * @retval PCARD_E_STATE s has no session keys
 */
pcard_err pcard_scpb_verify(const pcard_scp *s, const pcard_scpb_ctx *ctx, const uint8_t *prev,
    size_t prev_n, const uint8_t *rsp, size_t n, uint8_t *out, size_t out_cap, size_t *out_len,
    int *macd);

/*
 * Put session s where the card is after it answered the command of ctx with rsp (verified
 * before with pcard_scpb_verify): the chaining values and counter follow that command, so
 * commands wrapped next continue the card's chain (a new bundle in the same session after
 * a partly played one, or after a reconciliation prefix).
 * @retval PCARD_E_STATE s is not an open host session
 * @retval PCARD_E_INVALID_ARG ctx of another SCP, or an SCP02 R-MAC response too short
 */
pcard_err pcard_scpb_resume_after(pcard_scp *s, const pcard_scpb_ctx *ctx, const uint8_t *rsp,
    size_t n);

#endif
