/*
 * card_int.h: internals of the card manager (card*.c). Not for other modules.
 */
#ifndef PCARD_CARD_INT_H
#define PCARD_CARD_INT_H

#include <stddef.h>
#include <stdint.h>

#include "applet.h"
#include "card.h"
#include "cardfile.h"
#include "cardstate.h"
#include "postcard/apdu.h"
#include "postcard/bytes.h"
#include "postcard/keys.h"
#include "postcard/scp.h"

/* Status words (CS 11.1.3; docs/card-behaviour.md). */
enum {
	SW_OK = 0x9000,
	SW_LOCKED_WARN = 0x6283,
	SW_MORE = 0x6310,
	SW_IMPORT_MISSING = 0x6438,
	SW_MEMORY_FAIL = 0x6581,
	SW_WRONG_LENGTH = 0x6700,
	SW_CHANNEL_NOT_SUPPORTED = 0x6881,
	SW_SM_NOT_SUPPORTED = 0x6882,
	SW_CHAINING = 0x6884,
	SW_SECURITY = 0x6982,
	SW_BLOCKED = 0x6983,
	SW_CONDITIONS = 0x6985,
	SW_WRONG_DATA = 0x6A80,
	SW_FUNC_NOT_SUPPORTED = 0x6A81,
	SW_NOT_FOUND = 0x6A82,
	SW_NO_MEMORY = 0x6A84,
	SW_WRONG_P1P2 = 0x6A86,
	SW_REF_NOT_FOUND = 0x6A88,
	SW_INS = 0x6D00,
	SW_CLA = 0x6E00,
	SW_UNKNOWN = 0x6F00,
	SW_AUTH_FAILED = 0x6300,
};

#define CARD_RSP_DATA_MAX 256	/* data bytes in one response APDU */
#define CARD_PENDING_MAX 4096	/* response data kept for GET RESPONSE */
#define CARD_PUTKEY_CHAIN_MAX 1024	/* a chained PUT KEY data field (RSA-4096 fits) */

/* What is selected on a logical channel. */
typedef struct card_sel {
	int valid;
	pcard_aid aid;		/* the ISD's AID when is_isd */
	int is_isd;
} card_sel;

typedef struct card_chan {
	int open;
	card_sel sel;
	/* secure channel (one per channel, with the key sets of sc_sd) */
	pcard_scp scp;
	pcard_keys *keys;	/* session key provider, NULL when no session */
	pcard_scp_keyset ks;
	pcard_aid sc_sd;	/* SD whose key set serves the session */
	uint8_t sc_kvn;
	/* STORE DATA */
	uint16_t sd_next;	/* next expected block number (0..256) */
	int perso;		/* INSTALL [for personalization] named perso_aid */
	pcard_aid perso_aid;
	/* LOAD in progress (after INSTALL [for load]) */
	int load_active;
	uint16_t load_next;	/* next block number */
	uint8_t *load_buf;
	size_t load_len, load_cap;
	pcard_card_elf load_elf;	/* AID, SD, hash from INSTALL [for load] */
	uint32_t load_nv_code;		/* C6 (0 = none) */
	/* PUT KEY chain (P1 b8 "more PUT KEY commands"): the data fields so far */
	int pk_active;
	uint8_t pk_p1, pk_p2;	/* P1 without b8, P2 of the first command */
	size_t pk_len;
	uint8_t pk_buf[CARD_PUTKEY_CHAIN_MAX];
	/* GET STATUS continuation */
	int gs_active;
	uint8_t gs_p1, gs_p2;
	size_t gs_next;
	pcard_aid gs_aid;	/* search criterion (len 0 = all) */
	/* GET RESPONSE */
	uint8_t pending[CARD_PENDING_MAX];
	size_t pending_len, pending_off;
	uint16_t pending_sw;
	/* applet scratch */
	uint8_t vol[PCARD_APPLET_VOLATILE_BYTES];
} card_chan;


/* The command being processed, after secure-messaging unwrap. */
typedef struct card_cmd {
	pcard_apdu a;		/* plain; CLA without the SM bit */
	uint8_t chan;
	int wrapped;		/* came with the SM bit and was unwrapped */
	uint8_t level;		/* session level when wrapped, else 0 */
	uint8_t buf[PCARD_SCP_MAX_CMD];
} card_cmd;

/* A response under construction: data and SW. */
typedef struct card_rsp {
	uint8_t data[CARD_PENDING_MAX];
	size_t len;
	uint16_t sw;
} card_rsp;

struct pcard_card {
	pcard_cardstate cs;
	pcard_cardstate undo;	/* state before the current command (transactions) */
	int in_txn;
	pcard_cardfile file;
	int persist;
	pcard_cardio *io;
	int powered;
	card_chan ch[PCARD_CARD_CHANNELS];
	int lock_requested;	/* an applet locked the card in this command */
	card_cmd cmd;		/* scratch of pcard_card_apdu */
	card_rsp rsp;
};

struct pcard_applet_env {
	pcard_card *card;
	pcard_card_app *app;
	uint8_t chan;
	uint8_t level;
};

/* ---- card.c ---- */
/* Transactions: begin copies the state; end commits it (success/warning SW) or restores it.
 * Returns the SW to answer (6581 when the commit failed). */
pcard_err card_txn_begin(pcard_card *c);
uint16_t card_txn_end(pcard_card *c, uint16_t sw);
/* Commit the current state now (counters). */
pcard_err card_commit(pcard_card *c);
int card_sw_ok(uint16_t sw);
/* The SD selected on the channel (ISD or SSD), or NULL. */
pcard_card_app *card_selected_sd(pcard_card *c, uint8_t chan);
/* The registry entry selected (ISD included) or NULL. */
pcard_card_app *card_selected_app(pcard_card *c, uint8_t chan);
/* Drop every selection of aid (after DELETE or LOCK); falls back to the ISD. */
void card_deselect_all(pcard_card *c, const pcard_aid *aid);
/* Apply the card-locked rule: drop selections of apps not allowed in CARD_LOCKED. */
void card_apply_card_locked(pcard_card *c);
/* Whether an application may be selected in the current card state. */
int card_app_selectable(const pcard_cardstate *cs, const pcard_card_app *app);
const pcard_applet_ops *card_applet_of(pcard_card *c, const pcard_card_app *app);

/* ---- card_sc.c ---- */
void card_sc_end(card_chan *ch);
void card_sc_init_update(pcard_card *c, card_chan *ch, pcard_card_app *sd, const uint8_t *raw,
    size_t n, card_rsp *r);
void card_sc_ext_auth(pcard_card *c, card_chan *ch, const uint8_t *raw, size_t n,
    card_rsp *r);
/* 1 when the channel has an open session with sd's keys. */
int card_sc_open_for(const card_chan *ch, const pcard_card_app *sd);
/*
 * Security check for a card-management command on the selected SD: the channel needs an
 * open session with that SD, the command must be wrapped when the session level has C-MAC,
 * and its level must hold the SD's minimum. Returns SW_OK or the SW to answer.
 */
uint16_t card_sc_require(pcard_card *c, const card_cmd *cmd, const pcard_card_app *sd);
/* Decrypt with the session DEK (STORE DATA, PUT KEY helpers). */
pcard_err card_sc_dek_decrypt(card_chan *ch, const uint8_t *in, size_t n, uint8_t *out);

/* ---- card_status.c ---- */
void card_get_data(pcard_card *c, const card_cmd *cmd, card_rsp *r);
void card_get_status(pcard_card *c, const card_cmd *cmd, pcard_card_app *sd, card_rsp *r);
void card_set_status(pcard_card *c, const card_cmd *cmd, pcard_card_app *sd, card_rsp *r);
void card_store_data(pcard_card *c, const card_cmd *cmd, pcard_card_app *sd, card_rsp *r);
/* The plain field of an encrypted STORE DATA (P1 b7b6 = 11): per DGI value in DGI format,
 * else the whole field (card_status.c has the layout). SW_OK or SW_WRONG_DATA. */
uint16_t card_store_decrypt(card_chan *ch, uint8_t p1, const uint8_t *in, size_t n,
    uint8_t *out, size_t out_cap);
/* The card recognition data object 66 (or 73 inside the FCI when inner is 1). */
void card_put_crd(pcard_card *c, pcard_wr *w, int as73);

/* ---- card_content.c ---- */
void card_install(pcard_card *c, const card_cmd *cmd, pcard_card_app *sd, card_rsp *r);
void card_load(pcard_card *c, const card_cmd *cmd, pcard_card_app *sd, card_rsp *r);
void card_delete(pcard_card *c, const card_cmd *cmd, pcard_card_app *sd, card_rsp *r);
void card_load_drop(card_chan *ch);
/* 1 when sd may manage an object associated with owner (itself, a descendant SD, or ISD). */
int card_sd_owns(pcard_card *c, const pcard_card_app *sd, const pcard_aid *owner);

/* ---- card_keys.c ---- */
void card_put_key(pcard_card *c, const card_cmd *cmd, pcard_card_app *sd, card_rsp *r);
/* Abandon an unfinished PUT KEY chain on the channel (wipes what it collected). */
void card_putkey_drop(card_chan *ch);
/*
 * The SD's key references after a key change: a set put_kvn of 70, 71 or 73 holding key 01
 * becomes the token, receipt or DAP key (GP conventions); a reference whose key is gone is
 * cleared. put_kvn 0: only the clearing (DELETE of keys).
 */
void card_sd_keyrefs(pcard_card_app *sd, uint8_t put_kvn);

/* ---- card_applet.c ---- */
void card_env_init(pcard_applet_env *env, pcard_card *c, pcard_card_app *app, uint8_t chan,
    uint8_t level);

#endif
