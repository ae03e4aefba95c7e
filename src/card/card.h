/*
 * card.h: postcard-sim's card: a GlobalPlatform card manager (ISD, supplementary security
 * domains, registry, life cycles, secure channels) over the persistent model of
 * cardstate.h, answering command APDUs the way docs/card-behaviour.md tabulates.
 *
 * A pcard_card is a heap object. It owns its pcard_cardstate (the persistent part) and the
 * volatile part (selection, logical channels 0-3, a secure channel per channel, an
 * unfinished LOAD, the STORE DATA block number, pending GET RESPONSE data), which power off
 * and reset drop.
 *
 * Persistence: a card opened from a file commits the whole state with pcard_cardfile_commit
 * once per state-changing command, before its response leaves the card (counters included);
 * when the commit fails the card answers 6581 and keeps the state before the command (a
 * counter that was being advanced stays advanced in memory: it never goes backwards). A card
 * opened from a state without a path never writes anything (tests, fuzzing).
 */
#ifndef PCARD_CARD_H
#define PCARD_CARD_H

#include <stddef.h>
#include <stdint.h>

#include "cardio.h"
#include "cardlink.h"
#include "cardstate.h"
#include "postcard/err.h"

#define PCARD_CARD_CHANNELS 4
/* Largest response pcard_card_apdu writes: 256 data bytes wrapped with R-ENC and an S16
 * R-MAC, plus SW1 SW2 (scp.h PCARD_SCP_MAX_RSP). resp_cap of this size always suffices. */
#define PCARD_CARD_RSP_MAX (256 + 16 + 16 + 2)

typedef struct pcard_card pcard_card;

/*
 * Open the card file at path (cardfile.h). io may be NULL (no fault injection); it is
 * borrowed for the card's lifetime. The card starts powered off.
 * @retval errors of pcard_cardfile_open; PCARD_E_NOMEM
 */
pcard_err pcard_card_open_file(const char *path, pcard_cardio *io, pcard_card **out);

/*
 * A card over a copy of cs. path NULL: persistence off (nothing is ever written). path
 * non-NULL: the card file is created there with cs (PCARD_E_INVALID_ARG if it exists) and
 * every state change is committed to it. io as above.
 */
pcard_err pcard_card_open_state(const pcard_cardstate *cs, const char *path, pcard_cardio *io,
    pcard_card **out);

/* Free the card (wipes session keys and key values). NULL is fine. */
void pcard_card_free(pcard_card *c);

/* The persistent state as the card sees it now; borrowed, valid until the next call. */
const pcard_cardstate *pcard_card_state(const pcard_card *c);

/*
 * Power on (cold reset): volatile state dropped, basic channel open with the ISD (or the
 * default-selected application) selected; the ATR is written to out.
 * @retval PCARD_E_NOSPACE out_cap below the ATR length
 */
pcard_err pcard_card_power_on(pcard_card *c, uint8_t *out, size_t out_cap, size_t *out_len);
/* Power off: every volatile thing is dropped (session keys released and wiped). */
void pcard_card_power_off(pcard_card *c);
/* Warm reset: as power off then power on. */
void pcard_card_reset(pcard_card *c);
/* 1 when powered. */
int pcard_card_powered(const pcard_card *c);

/*
 * Process one command APDU and write the response (data || SW1 SW2) to resp. Bad input of
 * any kind is answered with a status word (docs/card-behaviour.md), never with an error.
 * @retval PCARD_E_STATE the card is not powered (nothing written)
 * @retval PCARD_E_INVALID_ARG NULL pointers, resp_cap below 2
 * @retval PCARD_E_NOSPACE the response does not fit resp_cap (PCARD_CARD_RSP_MAX always fits)
 */
pcard_err pcard_card_apdu(pcard_card *c, const uint8_t *cmd, size_t n, uint8_t *resp,
    size_t resp_cap, size_t *resp_len);

/* Callback table for cardlink.h (ctx = the pcard_card): the vpcd / TCP link adapter. */
extern const pcard_card_ops pcard_card_link_ops;

#endif
