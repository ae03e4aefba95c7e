/*
 * scp.h: the GlobalPlatform secure channels SCP03 (Amendment D v1.2) and SCP02 (CS Appendix E),
 * one state machine for both ends of the channel: the host (postcard, postcardd) and the card
 * (the simulator).
 *
 * Every key operation goes through a key provider (keys.h): this module holds handles, never
 * key bytes. The static keys (ENC, MAC, DEK) are borrowed from the caller; the session keys
 * are derived through the provider, owned by the pcard_scp and released by pcard_scp_clear
 * and whenever the session dies.
 *
 * Host:  pcard_scp_host_init_update  -> INITIALIZE UPDATE command
 *        pcard_scp_host_auth         <- its response: card cryptogram checked, session keys
 *        pcard_scp_host_ext_auth     -> EXTERNAL AUTHENTICATE for a security level
 *        pcard_scp_host_ext_auth_rsp <- its response (9000 opens the channel)
 *        pcard_scp_wrap_cmd / pcard_scp_unwrap_rsp, once per command, in order
 * Card:  pcard_scp_card_init_update  <- INITIALIZE UPDATE, -> its response
 *        pcard_scp_card_ext_auth     <- EXTERNAL AUTHENTICATE
 *        pcard_scp_unwrap_cmd / pcard_scp_wrap_rsp, once per command, in order
 *
 * Any MAC, cryptogram or padding failure kills the session: the call returns PCARD_E_MAC (or
 * PCARD_E_AUTH for a cryptogram, PCARD_E_PADDING for padding), session keys are released,
 * and every later call returns PCARD_E_SESSION_DEAD until a new INITIALIZE UPDATE.
 *
 * Commands are short APDUs (Lc up to 255 after wrapping); extended APDUs are refused with
 * PCARD_E_UNSUPPORTED.
 */
#ifndef POSTCARD_SCP_H
#define POSTCARD_SCP_H

#include <stddef.h>
#include <stdint.h>

#include "postcard/err.h"
#include "postcard/keys.h"
#include "postcard/transport.h"

#define PCARD_SCP_MAX_AID 16
#define PCARD_SCP_KDD_BYTES 10
#define PCARD_SCP_MAX_CHAL 16
#define PCARD_SCP_MAX_MAC 16
/* Longest wrapped command of a short APDU: header, Lc, 255 data bytes, Le. */
#define PCARD_SCP_MAX_CMD 261
/* Longest wrapped response: 256 data bytes, R-ENC padding, a 16-byte R-MAC, SW1 SW2. */
#define PCARD_SCP_MAX_RSP (256 + 16 + 16 + 2)

/* Security level bits, P1 of EXTERNAL AUTHENTICATE (CS Table E-11, AmdD Table 7-3). */
#define PCARD_SCP_CMAC 0x01
#define PCARD_SCP_CDEC 0x02
#define PCARD_SCP_RMAC 0x10
#define PCARD_SCP_RENC 0x20

/* i parameter bits of SCP03 (AmdD Table 5-1). */
#define PCARD_SCP03_I_S16 0x01
#define PCARD_SCP03_I_PSEUDO 0x10
#define PCARD_SCP03_I_RMAC 0x20
#define PCARD_SCP03_I_RENC 0x40
/* i parameter bits of SCP02 (CS Table E-1). */
#define PCARD_SCP02_I_RMAC 0x20
#define PCARD_SCP02_I_PSEUDO 0x40

typedef enum pcard_scp_side {
	PCARD_SCP_HOST = 1,
	PCARD_SCP_CARD,
} pcard_scp_side;

typedef enum pcard_scp_state {
	PCARD_SCP_NONE = 0,	/* no session */
	PCARD_SCP_INITIALIZED,	/* after INITIALIZE UPDATE */
	PCARD_SCP_OPEN,		/* after EXTERNAL AUTHENTICATE */
	PCARD_SCP_DEAD,		/* a MAC, cryptogram or padding check failed */
} pcard_scp_state;

/* Static keys of one key set; borrowed handles, valid in the provider passed alongside. */
typedef struct pcard_scp_keyset {
	pcard_keyh enc, mac, dek;
} pcard_scp_keyset;

/*
 * Session state. Fields are private; read them through the accessors below. Nothing secret
 * is stored in it: session keys are provider handles.
 */
typedef struct pcard_scp {
	uint8_t side, scp, i, level, state, kvn;
	uint8_t s16;		/* SCP03 S16 mode: 16-byte challenges, cryptograms and MACs */
	uint8_t rmac_on;	/* responses carry an R-MAC (level, or SCP02 BEGIN R-MAC SESSION) */
	uint8_t pend;		/* SCP02: effect of BEGIN/END R-MAC SESSION awaiting its response */
	uint8_t expect_rsp;	/* a command was (un)wrapped, its response not yet handled */
	uint8_t expect_kvn;	/* host: KVN the card must answer, 0 = any */
	pcard_keys *keys;
	pcard_scp_keyset st;	/* borrowed */
	pcard_keyh s_enc, s_mac, s_rmac, s_dek;	/* owned */
	size_t key_len;
	uint8_t host_chal[PCARD_SCP_MAX_CHAL], card_chal[PCARD_SCP_MAX_CHAL];
	size_t host_chal_len, card_chal_len;
	uint32_t seq;
	uint8_t kdd[PCARD_SCP_KDD_BYTES];
	uint8_t chain[16];	/* SCP03 MAC chaining value; SCP02: last C-MAC (8) */
	uint8_t rchain[8];	/* SCP02 R-MAC chaining value (last R-MAC) */
	uint32_t enc_counter;	/* SCP03 C-DEC / R-ENC counter */
	uint8_t aid[PCARD_SCP_MAX_AID];
	size_t aid_len;
	size_t max_lc;		/* largest Lc of a wrapped command, 255 by default */
	/* SCP02 R-MAC input of the last command: CLA' INS P1 P2 Lc plain-data */
	uint8_t last_cmd[5 + 255];
	size_t last_cmd_len;
	uint16_t last_sw;
} pcard_scp;

void pcard_scp_init(pcard_scp *s);
/* Release the session keys through the provider and wipe s; NULL and repeated calls are fine. */
void pcard_scp_clear(pcard_scp *s);

/* ------------------------------------------------------------------------------------------ */
/* Host side */

typedef struct pcard_scp_host_params {
	uint8_t kvn;		/* P1 of INITIALIZE UPDATE; 00 = the card's default key set */
	uint8_t expect_kvn;	/* when nonzero, the card must answer this KVN (else PCARD_E_KEY) */
	uint8_t scp;		/* 02 or 03 to insist on one; 0 accepts either */
	uint8_t scp02_i;	/* SCP02 i (not sent by the card): 15, 35, 55 or 75; 0 means 55 */
	const uint8_t *host_chal;	/* NULL: drawn from pcard_random */
	size_t host_chal_len;	/* 8, or 16 for SCP03 S16; 0 means 8 */
	/* Invoking SD's AID; when set, a pseudo-random card challenge is checked against it. */
	const uint8_t *aid;
	size_t aid_len;
	size_t max_lc;		/* largest Lc the card takes (FCI 9F65, --bs), 32..255; 0 = 255 */
} pcard_scp_host_params;

/*
 * Start a host session and build INITIALIZE UPDATE (80 50 KVN 00 Lc host-challenge 00).
 * keys and ks are borrowed until pcard_scp_clear.
 * @retval PCARD_E_INVALID_ARG challenge length not 8/16, AID over 16 bytes, bad scp02_i
 */
pcard_err pcard_scp_host_init_update(pcard_scp *s, pcard_keys *keys, const pcard_scp_keyset *ks,
    const pcard_scp_host_params *p, uint8_t *out, size_t out_cap, size_t *out_len);

/*
 * Process the INITIALIZE UPDATE response (data and SW, gp-facts 3.4 layouts): detect SCP, i
 * and S8/S16, derive the session keys, check the card cryptogram and, when i says the card
 * challenge is pseudo-random and an AID was given, the challenge.
 * @retval PCARD_E_CARD_STATUS SW not 9000 (pcard_scp_last_sw)
 * @retval PCARD_E_BAD_ENCODING length fits no layout, SCP other than asked, i inconsistent
 * @retval PCARD_E_KEY KVN differs from expect_kvn, static key of the wrong type
 * @retval PCARD_E_UNSUPPORTED SCP01 or an i this module does not implement
 * @retval PCARD_E_AUTH card cryptogram or pseudo-random challenge wrong (session dead; do
 *         not send EXTERNAL AUTHENTICATE)
 */
pcard_err pcard_scp_host_auth(pcard_scp *s, const uint8_t *rsp, size_t n);

/*
 * Build EXTERNAL AUTHENTICATE (84 82 level 00 Lc host-cryptogram C-MAC) for level.
 * @retval PCARD_E_SECURITY_LEVEL level not defined for the SCP, or needing R-MAC / R-ENC that
 *         i does not offer
 */
pcard_err pcard_scp_host_ext_auth(pcard_scp *s, uint8_t level, uint8_t *out, size_t out_cap,
    size_t *out_len);

/* Response to EXTERNAL AUTHENTICATE: 9000 opens the channel; anything else ends the session
 * with PCARD_E_CARD_STATUS. */
pcard_err pcard_scp_host_ext_auth_rsp(pcard_scp *s, const uint8_t *rsp, size_t n);

/*
 * Wrap a plain command APDU (CLA without the SM bit) for the current level: C-DEC then C-MAC
 * (SCP03) or C-MAC then C-DEC (SCP02); CLA gets the SM bit. At level 00 the command passes
 * unchanged. out needs at most PCARD_SCP_MAX_CMD bytes.
 * @retval PCARD_E_INVALID_ARG not a valid APDU, or CLA already has the SM bit
 * @retval PCARD_E_NOSPACE data too long for the level (see pcard_scp_max_data) or out_cap
 */
pcard_err pcard_scp_wrap_cmd(pcard_scp *s, const uint8_t *cmd, size_t n, uint8_t *out,
    size_t out_cap, size_t *out_len);

/*
 * Unwrap the response to the last wrapped command: check the R-MAC (SCP03: on 9000, 62xx,
 * 63xx only; SCP02: on every response), decrypt R-ENC. out receives plain data then SW1 SW2.
 * A status word that is not 9000 is data: the call still succeeds.
 * @retval PCARD_E_MAC R-MAC missing or wrong; PCARD_E_PADDING bad R-ENC padding (dead)
 */
pcard_err pcard_scp_unwrap_rsp(pcard_scp *s, const uint8_t *rsp, size_t n, uint8_t *out,
    size_t out_cap, size_t *out_len);

/*
 * Largest plaintext data field a wrapped command may carry at the current level
 * (gp-facts 3.9): max Lc minus the MAC, and with C-DEC the largest length whose padded form
 * still fits. 0 when no session is open.
 */
size_t pcard_scp_max_data(const pcard_scp *s);

/*
 * The key that encrypts key values for PUT KEY: SCP03 the static DEK with AES-CBC (ICV 0),
 * SCP02 the session DEK with 3DES-ECB. *key is borrowed, valid while the session is open.
 * @retval PCARD_E_STATE no open session
 */
pcard_err pcard_scp_dek(const pcard_scp *s, pcard_keyh *key, pcard_cipher_alg *alg);

/* SCP02 BEGIN R-MAC SESSION (80 7A 10 01 01 00) and END R-MAC SESSION (80 78 00 03 00), plain:
 * pass them to pcard_scp_wrap_cmd. Only with an i offering R-MAC and a level without it. */
pcard_err pcard_scp02_begin_rmac_cmd(uint8_t *out, size_t out_cap, size_t *out_len);
pcard_err pcard_scp02_end_rmac_cmd(uint8_t *out, size_t out_cap, size_t *out_len);

/*
 * Open a channel over t (scp_open.c): INITIALIZE UPDATE, card cryptogram check in the
 * provider, EXTERNAL AUTHENTICATE at level. When the card answers 6700 to an 8-byte challenge
 * drawn here (p->host_chal NULL), it retries once with 16 bytes (SCP03 S16), as GPPro does.
 * On any failure s is cleared (session keys released) and stays safe to reuse.
 * @retval PCARD_E_AUTH card cryptogram wrong: EXTERNAL AUTHENTICATE was not sent
 * @retval PCARD_E_CARD_STATUS the card refused a step (pcard_scp_last_sw before the clear is
 *         lost; *sw, when not NULL, receives it)
 */
pcard_err pcard_scp_open(pcard_transport *t, pcard_keys *keys, const pcard_scp_keyset *ks,
    const pcard_scp_host_params *p, uint8_t level, pcard_scp *s, uint16_t *sw);

/*
 * Wrap cmd, exchange it over t (ISO transport rules: 61xx, 6Cxx) and unwrap the response into
 * out (plain data then SW1 SW2). A status word other than 9000 is data; the call succeeds.
 */
pcard_err pcard_scp_transmit(pcard_transport *t, pcard_scp *s, const uint8_t *cmd, size_t n,
    uint8_t *out, size_t out_cap, size_t *out_len);

/* ------------------------------------------------------------------------------------------ */
/* Card side */

typedef struct pcard_scp_card_params {
	uint8_t scp;		/* 02 or 03 */
	uint8_t i;		/* SCP03: 00 10 20 30 60 70 (| 01 for S16); SCP02: 15 35 55 75 */
	uint8_t kvn;		/* the key set's version */
	const uint8_t *kdd;	/* PCARD_SCP_KDD_BYTES bytes of key diversification data */
	/* Sequence counter as read from persistent memory (SCP03 3 bytes, SCP02 2 bytes). */
	uint32_t seq;
	const uint8_t *aid;	/* the invoking SD's AID (pseudo-random challenge) */
	size_t aid_len;
	size_t max_lc;		/* 32..255; 0 means 255 */
	/* Tests only: a fixed random card challenge; NULL draws one from pcard_random. */
	const uint8_t *card_chal;
} pcard_scp_card_params;

/*
 * Process INITIALIZE UPDATE on the card (any earlier session ends). Writes the response data
 * and 9000 to out. *new_seq is the counter value to persist before the response leaves the
 * card: SCP03 uses and stores seq + 1; SCP02 uses seq and stores it unchanged (it moves on
 * when EXTERNAL AUTHENTICATE succeeds).
 * @retval PCARD_E_BAD_ENCODING not INITIALIZE UPDATE, or challenge length wrong for i (6700)
 * @retval PCARD_E_NOT_FOUND P1 names another KVN (6A88)
 * @retval PCARD_E_STATE sequence counter exhausted (6985)
 */
pcard_err pcard_scp_card_init_update(pcard_scp *s, pcard_keys *keys, const pcard_scp_keyset *ks,
    const pcard_scp_card_params *p, const uint8_t *cmd, size_t n, uint8_t *out, size_t out_cap,
    size_t *out_len, uint32_t *new_seq);

/*
 * Process EXTERNAL AUTHENTICATE: host cryptogram, C-MAC, level. On success the channel is
 * open and the card answers 9000 (no R-MAC). *new_seq: counter to persist (SCP02: seq + 1).
 * @retval PCARD_E_AUTH host cryptogram wrong: count a failed authentication (6300); dead
 * @retval PCARD_E_MAC C-MAC wrong (6982); dead
 * @retval PCARD_E_SECURITY_LEVEL level not allowed by the SCP and i (6982); session ended
 * @retval PCARD_E_STATE not preceded by INITIALIZE UPDATE (6985)
 */
pcard_err pcard_scp_card_ext_auth(pcard_scp *s, const uint8_t *cmd, size_t n,
    uint32_t *new_seq);

/*
 * Unwrap a command on the card: check the C-MAC, decrypt C-DEC; out receives the plain APDU
 * (CLA without the SM bit). Any failure kills the session.
 * @retval PCARD_E_MAC C-MAC wrong or missing; PCARD_E_PADDING C-DEC padding wrong
 * @retval PCARD_E_SECURITY_LEVEL / PCARD_E_STATE SCP02 BEGIN / END R-MAC SESSION not allowed
 *         now: out holds the plain command, the session stays open; answer
 *         pcard_scp_card_sw(err) through pcard_scp_wrap_rsp
 */
pcard_err pcard_scp_unwrap_cmd(pcard_scp *s, const uint8_t *cmd, size_t n, uint8_t *out,
    size_t out_cap, size_t *out_len);

/* Wrap the card's answer to the last unwrapped command (R-ENC, R-MAC as the level asks). */
pcard_err pcard_scp_wrap_rsp(pcard_scp *s, const uint8_t *data, size_t n, uint16_t sw,
    uint8_t *out, size_t out_cap, size_t *out_len);

/* The status word a card answers for an error of the card-side calls above. */
uint16_t pcard_scp_card_sw(pcard_err err);

/* ------------------------------------------------------------------------------------------ */
/* Accessors */

pcard_scp_state pcard_scp_state_of(const pcard_scp *s);
uint8_t pcard_scp_version(const pcard_scp *s);	/* 2 or 3; 0 before the INIT UPDATE response */
uint8_t pcard_scp_i(const pcard_scp *s);
uint8_t pcard_scp_level(const pcard_scp *s);
uint8_t pcard_scp_kvn(const pcard_scp *s);
uint32_t pcard_scp_seq(const pcard_scp *s);
/* KDD from INITIALIZE UPDATE (PCARD_SCP_KDD_BYTES; borrowed from s). */
const uint8_t *pcard_scp_kdd(const pcard_scp *s);
uint16_t pcard_scp_last_sw(const pcard_scp *s);
/* 1 when level is defined for scp and allowed by i, else 0. */
int pcard_scp_level_ok(uint8_t scp, uint8_t i, uint8_t level);

#endif
