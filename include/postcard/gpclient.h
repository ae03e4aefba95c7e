/*
 * gpclient.h: the host-side GlobalPlatform client every front end builds on (the postcard
 * command line now, the agent and the server later).
 *
 * A pcard_gpc is a caller-held context over a borrowed pcard_transport. It selects the
 * issuer security domain, reads what the card tells about itself, opens a secure channel
 * through a key provider, and runs the card-management operations of GP CS chapter 11 over
 * it. It allocates nothing; buffers it needs (a load file, registry entries) come from the
 * caller.
 *
 * Status words. Every operation that reaches the card keeps the status word of the last
 * command it sent and that command's INS (pcard_gpc_last_sw, pcard_gpc_last_ins): when the
 * card answers something other than what the operation needs, it returns
 * PCARD_E_CARD_STATUS and the caller explains the SW with pcard_sw_explain(sw, ins).
 *
 * Keys. The caller gives master keys (ENC, MAC, DEK handles in a provider; they may all be
 * the same handle) and a diversification template (keydiv.h; "none" = the masters are the
 * card keys). pcard_gpc_open sends INITIALIZE UPDATE, derives the card keys from the KDD it
 * answers, and checks the card cryptogram BEFORE EXTERNAL AUTHENTICATE. When it does not
 * match, the other templates (none, emv, visa2, visa, kdf3) are tried offline against the
 * same response (the card counts nothing) and the one that fits is reported; EXTERNAL
 * AUTHENTICATE is then not sent: keys that did not reproduce the cryptogram never reach the
 * card.
 *
 * Nothing here logs; traces come from the transport's hook (pcard_trace_redact).
 */
#ifndef POSTCARD_GPCLIENT_H
#define POSTCARD_GPCLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "postcard/crypto.h"
#include "postcard/err.h"
#include "postcard/gp.h"
#include "postcard/keydiv.h"
#include "postcard/keys.h"
#include "postcard/scp.h"
#include "postcard/transport.h"

/* Known ISD AIDs tried in this order when SELECT with an empty AID names none (GP, Visa). */
#define PCARD_GPC_N_KNOWN_ISD 3

/* SSD package and module (gp-facts section 0, "Create SSD"). */
#define PCARD_GPC_SSD_PACKAGE "A0000001515350"
#define PCARD_GPC_SSD_MODULE "A000000151535041"

/* Largest response data of one command (short APDUs, GET RESPONSE gathered). */
#define PCARD_GPC_MAX_RSP 1024

typedef void (*pcard_gpc_progress_fn)(void *ctx, size_t sent, size_t total);

typedef struct pcard_gpc {
	/* all private: use the functions below */
	pcard_transport *t;		/* borrowed */
	pcard_scp scp;
	int open;			/* secure channel open */
	pcard_gp_aid sd;		/* the selected SD */
	int selected;
	int card_locked;		/* SELECT answered 6283 */
	pcard_gp_fci fci;
	int has_fci;
	int has_crd;			/* card recognition data (FCI or GET DATA 66) */
	pcard_gp_crd crd;
	size_t bs;			/* --bs: cap on a command's data (0 = card's / 255) */
	uint16_t last_sw;
	uint8_t last_ins;
	pcard_keys *keys;		/* borrowed provider */
	pcard_keyh masters[3];		/* borrowed */
	pcard_keyh card[3];		/* derived for the session (pcard_keydiv_release_set) */
	pcard_keydiv div;
	size_t cmds;			/* commands sent (statistics) */
	size_t bytes;			/* command bytes sent (statistics) */
} pcard_gpc;

/* t is borrowed and must outlive g. */
void pcard_gpc_init(pcard_gpc *g, pcard_transport *t);
/* Ends the session (session and card keys released); NULL and repeated calls are fine. */
void pcard_gpc_clear(pcard_gpc *g);

uint16_t pcard_gpc_last_sw(const pcard_gpc *g);
uint8_t pcard_gpc_last_ins(const pcard_gpc *g);
/* Commands and command bytes sent through g since pcard_gpc_init. */
void pcard_gpc_stats(const pcard_gpc *g, size_t *cmds, size_t *bytes);
/* Cap every command's data field at bs bytes (--bs); 0 = the card's 9F65 or 255. */
void pcard_gpc_set_block_size(pcard_gpc *g, size_t bs);

/*
 * Exchange one command: wrapped by the secure channel when one is open and secure is
 * non-zero, else plain (ISO transport rules: 61xx, 6Cxx). out receives data then SW1 SW2;
 * the last SW and INS are recorded. A status word is data here: the call succeeds.
 * @retval PCARD_E_STATE secure asked without an open channel
 */
pcard_err pcard_gpc_transmit(pcard_gpc *g, int secure, const uint8_t *cmd, size_t n,
    uint8_t *out, size_t out_cap, size_t *out_len);

/* ---- Selection ---- */

typedef struct pcard_gpc_select_result {
	pcard_gp_aid aid;		/* the SD selected */
	int card_locked;		/* 6283: the card is CARD_LOCKED (not fatal) */
	int has_fci;
	pcard_gp_fci fci;
} pcard_gpc_select_result;

/*
 * Select a security domain: aid NULL discovers the ISD (SELECT with an empty AID, its FCI
 * tag 84; else the known ISD AIDs A000000151000000, A000000003000000, A0000001510000 in
 * turn); a given aid is selected as is. 6283 selects too and sets card_locked.
 * res may be NULL.
 * @retval PCARD_E_NOT_FOUND discovery found no SD
 * @retval PCARD_E_CARD_STATUS the given aid was refused (last SW)
 */
pcard_err pcard_gpc_select(pcard_gpc *g, const pcard_gp_aid *aid, pcard_gpc_select_result *res);

/* ---- Card information (GET DATA; CLA 80, then 00 when 80 is refused) ---- */

#define PCARD_GPC_MAX_KEYINFO 32

typedef struct pcard_gpc_info {
	int has_cplc;
	pcard_gp_cplc cplc;
	size_t iin_len, cin_len, kdd_len, ssc_len;
	uint8_t iin[32], cin[32], kdd[32], ssc[8];
	int has_crd;
	pcard_gp_crd crd;		/* GET DATA 66, else the FCI's */
	int has_caps;
	pcard_gp_caps caps;
	size_t n_keys;			/* key information template E0 */
	pcard_gp_keyinfo keys[PCARD_GPC_MAX_KEYINFO];
	uint16_t sw[8];			/* SW of each object, in the order above: CPLC, IIN,
					 * CIN, KDD, SSC, CRD, caps, key info */
} pcard_gpc_info;

/*
 * Read CPLC (9F7F), IIN (42), CIN (45), KDD (CF), sequence counter (C1), card recognition
 * data (66), capabilities (67) and the key information template (E0). An object the card
 * does not give is left out (has_* 0 or length 0; its SW kept). Plain commands: call it
 * before pcard_gpc_open (or the channel stays untouched anyway).
 * @retval PCARD_E_BAD_ENCODING an object the card did give is malformed
 */
pcard_err pcard_gpc_info_read(pcard_gpc *g, pcard_gpc_info *info);

/*
 * The SCP and i the card announces in its card recognition data (the FCI's, else GET DATA
 * 66, read once). *scp 0 when the card announces none.
 */
pcard_err pcard_gpc_card_scp(pcard_gpc *g, uint8_t *scp, uint8_t *i);

/* ---- Secure channel ---- */

typedef struct pcard_gpc_auth {
	pcard_keys *keys;		/* provider; borrowed until pcard_gpc_clear */
	pcard_keyh master[3];		/* ENC, MAC, DEK (may be one handle thrice) */
	const char *kdf;		/* template name or string (keydiv.h); NULL = "none" */
	int no_guess;			/* 1: do not try other templates on a mismatch */
	uint8_t kvn;			/* INITIALIZE UPDATE P1 and the KVN the card must answer;
					 * 0 = the card's default key set, any KVN */
	uint8_t scp;			/* 0 = the card's (CRD); 2 or 3 to insist */
	uint8_t i;			/* SCP02 i; 0 = from CRD, else 55 (SCP03 reads the card's) */
	int level;			/* EXTERNAL AUTHENTICATE P1; -1 = default 03 (C-MAC+C-DEC) */
	int s16;			/* 1: start with 16-byte challenges (else only after 6700) */
} pcard_gpc_auth;

typedef struct pcard_gpc_auth_result {
	uint8_t scp, i, kvn, level;
	int s16;
	uint8_t kdd[10];
	uint32_t seq;
	char kdf_used[PCARD_KEYDIV_NAME_MAX];	/* the template that was asked for */
	/* On PCARD_E_AUTH: the template whose keys reproduce the card cryptogram, or "" when
	 * none of them does; "-" when guessing was off. */
	char kdf_fits[PCARD_KEYDIV_NAME_MAX];
	int ext_auth_sent;		/* 1 once EXTERNAL AUTHENTICATE went to the card */
} pcard_gpc_auth_result;

/*
 * Open a secure channel with the selected SD (pcard_gpc_select first). res may be NULL.
 * @retval PCARD_E_AUTH the card cryptogram does not match the keys: EXTERNAL AUTHENTICATE was
 *         not sent; res->kdf_fits names a template that does fit, if any
 * @retval PCARD_E_CARD_STATUS INITIALIZE UPDATE or EXTERNAL AUTHENTICATE refused (last SW)
 * @retval PCARD_E_KEY the card answered another KVN than asked, or a master of the wrong type
 * @retval PCARD_E_SECURITY_LEVEL the level is not allowed with the card's SCP and i
 * @retval PCARD_E_BAD_ENCODING the kdf template does not parse, or a malformed response
 * @retval PCARD_E_STATE nothing selected
 */
pcard_err pcard_gpc_open(pcard_gpc *g, const pcard_gpc_auth *a, pcard_gpc_auth_result *res);
/* The session (borrowed; valid while g is). NULL when no channel is open. */
const pcard_scp *pcard_gpc_session(const pcard_gpc *g);

/* ---- Registry (GET STATUS) ---- */

typedef struct pcard_gpc_entry {
	uint8_t kind;			/* PCARD_GS_ISD, _APPS, _ELFS or _ELFS_MODULES */
	pcard_gp_status_entry e;
} pcard_gpc_entry;

/*
 * List the registry: ISD (P1 80), applications and SSDs (40), load files with their modules
 * (10, falling back to 20 when the card refuses 10), each in the tag format, following 6310,
 * falling back to the legacy format when the card answers 6A86; 6A88 is an empty subset.
 * out[0..cap); *count = entries found.
 * @retval PCARD_E_NOSPACE more entries than cap (*count tells how many)
 * @retval PCARD_E_CARD_STATUS the card refused a subset otherwise (last SW)
 */
pcard_err pcard_gpc_list(pcard_gpc *g, pcard_gpc_entry *out, size_t cap, size_t *count);

/* ---- Content management ---- */

typedef struct pcard_gpc_load_opts {
	const pcard_gp_aid *elf;	/* load file (package) AID */
	const pcard_gp_aid *sd;		/* target SD; NULL = the current one */
	const uint8_t *hash;		/* LFDB hash for INSTALL [for load]; NULL = none */
	size_t hash_len;
	const uint8_t *load_params;	/* e.g. from pcard_gp_load_params; NULL = none */
	size_t load_params_len;
	const uint8_t *token;		/* delegated management token; NULL = none */
	size_t token_len;
	const uint8_t *dap;		/* DAP blocks (E2...) placed before the load file */
	size_t dap_len;
	const uint8_t *load_file;	/* C4 || len || LFDB (pcard_cap_load_file) */
	size_t load_file_len;
	int combined;			/* 1: INSTALL [for load] P2 01 (start of a combined
					 * load-install; finish with pcard_gpc_install's
					 * combined_end) */
	pcard_gpc_progress_fn progress;	/* called after each LOAD block; may be NULL */
	void *progress_ctx;
} pcard_gpc_load_opts;

/*
 * INSTALL [for load] then LOAD blocks of pcard_scp_max_data bytes (or --bs), P1 80 on the
 * last. Needs an open channel.
 * @retval PCARD_E_CARD_STATUS the card refused INSTALL or a LOAD block (last SW / INS)
 * @retval PCARD_E_INVALID_ARG more than 256 LOAD blocks at this block size
 */
pcard_err pcard_gpc_load(pcard_gpc *g, const pcard_gpc_load_opts *o);

enum pcard_gpc_install_role {
	PCARD_GPC_INSTALL_AND_SELECTABLE = 0,	/* P1 0C (default) */
	PCARD_GPC_INSTALL_ONLY,			/* P1 04 */
	PCARD_GPC_MAKE_SELECTABLE,		/* P1 08 */
};

typedef struct pcard_gpc_install_opts {
	int role;			/* enum pcard_gpc_install_role */
	const pcard_gp_aid *elf;	/* package (not for make selectable) */
	const pcard_gp_aid *module;	/* applet class (module); NULL = same as instance */
	const pcard_gp_aid *instance;	/* instance AID; NULL = module AID */
	uint32_t privs;
	const uint8_t *params;		/* install parameters, wrapped in C9 unless already
					 * TLV holding C9 (empty -> C9 00, as GlobalPlatformPro) */
	size_t params_len;
	const uint8_t *token;
	size_t token_len;
	int combined_end;		/* 1: P2 03, end of a combined load-install */
} pcard_gpc_install_opts;

/* @retval PCARD_E_INVALID_ARG AIDs missing for the role */
pcard_err pcard_gpc_install(pcard_gpc *g, const pcard_gpc_install_opts *o);

/*
 * Load then install in one call: pcard_gpc_load (combined as lo->combined says) then
 * pcard_gpc_install with combined_end = lo->combined.
 */
pcard_err pcard_gpc_load_install(pcard_gpc *g, const pcard_gpc_load_opts *lo,
    const pcard_gpc_install_opts *io);

/* DELETE 4F aid, with related objects (P2 80) when related; token may be NULL. */
pcard_err pcard_gpc_delete(pcard_gpc *g, const pcard_gp_aid *aid, int related,
    const uint8_t *token, size_t token_len);

/* INSTALL [for make selectable] with the Card Reset privilege (default selected). */
pcard_err pcard_gpc_make_default(pcard_gpc *g, const pcard_gp_aid *aid);

/* SET STATUS P1 40: lock (P2 80) or unlock (P2 00) an application or SSD. */
pcard_err pcard_gpc_app_lock(pcard_gpc *g, const pcard_gp_aid *aid, int lock);

/*
 * SET STATUS P1 80 to a card life cycle: PCARD_LC_INITIALIZED, _SECURED, _CARD_LOCKED,
 * _TERMINATED; unlock = SECURED from CARD_LOCKED.
 * @retval PCARD_E_INVALID_ARG another state (OP_READY cannot be reached)
 */
pcard_err pcard_gpc_card_state(pcard_gpc *g, uint8_t state);

/* INSTALL [for registry update] (P1 40): new privileges (privs_mode as gp.h), params, and
 * optionally a new associated SD (sd NULL = unchanged). */
pcard_err pcard_gpc_registry_update(pcard_gpc *g, const pcard_gp_aid *aid,
    const pcard_gp_aid *sd, uint32_t privs, int privs_mode, const uint8_t *params,
    size_t params_len);

/* INSTALL [for extradition] (P1 10): move aid (application or load file) to SD to. */
pcard_err pcard_gpc_extradite(pcard_gpc *g, const pcard_gp_aid *aid, const pcard_gp_aid *to);

typedef struct pcard_gpc_ssd_opts {
	const pcard_gp_aid *aid;	/* the new SD's AID */
	uint32_t privs;			/* Security Domain is always added */
	uint8_t scp, i;			/* SCP of the new SD; 0 = the current session's */
	const uint8_t *params;		/* extra TLVs inside C9 (after 81, 82, 87); may be NULL */
	size_t params_len;
	const pcard_gp_aid *package;	/* NULL = A0000001515350 */
	const pcard_gp_aid *module;	/* NULL = A000000151535041 */
} pcard_gpc_ssd_opts;

/*
 * Create a supplementary security domain: INSTALL [for install and make selectable] from the
 * SSD package with C9 { 81 02 scp i, 82 02 20 20, 87 02 20 20, params } (GlobalPlatformPro's
 * parameters: SCP, accept extradition to and from).
 */
pcard_err pcard_gpc_create_ssd(pcard_gpc *g, const pcard_gpc_ssd_opts *o);

/* ---- Keys ---- */

/*
 * PUT KEY a key set ENC, MAC, DEK (ids 1-3, P2 81) encrypted under the session's DEK, and
 * check the KVN and KCVs the card answers. replace_kvn 0 adds a key set, else replaces
 * that one. set[] are handles in the session's provider.
 * @retval PCARD_E_VERIFY the card's KCVs differ from the keys sent
 */
pcard_err pcard_gpc_put_keyset(pcard_gpc *g, uint8_t new_kvn, uint8_t replace_kvn,
    const pcard_keyh set[3]);
/* One secret key (id key_id) into key set new_kvn. */
pcard_err pcard_gpc_put_key(pcard_gpc *g, uint8_t new_kvn, uint8_t replace_kvn,
    uint8_t key_id, pcard_keyh key);
/* Largest PUT KEY data field the client sends (chained when over one command). */
#define PCARD_GPC_PUTKEY_MAX 1024
/*
 * One public key (RSA or EC; DAP or token verification) into key set new_kvn. A data field
 * over one command (RSA above 1024 bits) goes as a PUT KEY chain, P1 b8 "more commands"
 * (CS 11.8.2.1).
 * @retval PCARD_E_UNSUPPORTED a key whose data field exceeds PCARD_GPC_PUTKEY_MAX
 */
pcard_err pcard_gpc_put_pubkey(pcard_gpc *g, uint8_t new_kvn, uint8_t replace_kvn,
    uint8_t key_id, const pcard_pkey *pk);
/* DELETE a key: kvn and/or key_id (-1 leaves one out). */
pcard_err pcard_gpc_delete_key(pcard_gpc *g, int kvn, int key_id);

/* ---- Personalisation ---- */

/* INSTALL [for personalization]: following STORE DATA goes to aid. */
pcard_err pcard_gpc_personalize(pcard_gpc *g, const pcard_gp_aid *aid);

/*
 * STORE DATA data in pieces of the largest data field (P2 counting from 0), P1 = flags
 * (PCARD_SD_* without PCARD_SD_LAST) plus PCARD_SD_LAST on the last piece.
 */
pcard_err pcard_gpc_store_data(pcard_gpc *g, uint8_t flags, const uint8_t *data, size_t n);

/*
 * STORE DATA of DGIs (tag 2 bytes, length 1 byte or FF xx xx, value), one command per DGI
 * (format bits 08; P1 80 on the last). With encrypt, each value is encrypted with the DEK
 * (SCP03: AES-CBC, static DEK; SCP02: 3DES-ECB, session DEK) and P1 gets 60; pad adds
 * ISO 7816-4 padding first, else values must be whole blocks.
 * @retval PCARD_E_BAD_ENCODING the DGI stream is malformed
 * @retval PCARD_E_INVALID_ARG a value not a whole block without pad, or too long to send
 */
pcard_err pcard_gpc_store_dgis(pcard_gpc *g, const uint8_t *dgis, size_t n, int encrypt,
    int pad);

/*
 * One STORE DATA command's worth of personalisation data (the postcard perso file,
 * docs/postcard.1 and gpclient_perso.c): fmt is PCARD_SD_FMT_NONE, _DGI or _BER (P1 b5b4);
 * encrypt sets P1 b7b6 = 11 and pads (ISO 7816-4) and encrypts under the DEK the whole data
 * field, or with _DGI each DGI's value alone (tag and length in clear, EMV CPS). data is
 * borrowed.
 */
typedef struct pcard_gpc_sd_record {
	uint8_t fmt;
	int encrypt;
	const uint8_t *data;
	size_t len;
} pcard_gpc_sd_record;

/*
 * Parse a perso file (text: lines "tlv|dgi|raw [enc] HEX...", '#' comments) into records
 * whose data are written to buf[0..cap) (DGI lengths inserted); recs[0..rcap), *count found.
 * The records borrow buf. On failure *bad_line (may be NULL) is the 1-based line.
 * @retval PCARD_E_BAD_ENCODING unknown kind, odd or non-hex token, empty record, a tlv record
 *         that is not BER-TLV, a dgi record under 2 bytes, a file without records
 * @retval PCARD_E_NOSPACE buf or recs too small
 */
pcard_err pcard_gpc_perso_parse(const uint8_t *text, size_t n, uint8_t *buf, size_t cap,
    pcard_gpc_sd_record *recs, size_t rcap, size_t *count, size_t *bad_line);

/*
 * STORE DATA each record as one command, P2 = its index, P1 b8 on the last; records with
 * encrypt need an open channel (its DEK).
 * @retval PCARD_E_BAD_ENCODING a record (after padding and encryption) over the largest data
 *         field of the channel, or empty
 * @retval PCARD_E_CARD_STATUS the card refused a record (last SW)
 * @retval PCARD_E_STATE encryption asked without a channel
 */
pcard_err pcard_gpc_store_records(pcard_gpc *g, const pcard_gpc_sd_record *recs, size_t n);

/* ---- Raw ---- */

/* Send an APDU as given (secure = wrapped); out as pcard_gpc_transmit. */
pcard_err pcard_gpc_apdu(pcard_gpc *g, int secure, const uint8_t *cmd, size_t n, uint8_t *out,
    size_t out_cap, size_t *out_len);

#endif
