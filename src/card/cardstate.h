/*
 * cardstate.h: the persistent state of a simulated GlobalPlatform card (postcard-sim).
 *
 * Everything a real card keeps in non-volatile memory and nothing else: identity, life cycle,
 * memory accounting, the registry (executable load files, application instances and security
 * domains) and the security domains' key sets and counters. Volatile state (selection,
 * secure channels, logical channels, an unfinished LOAD) lives in the APDU layer, never here.
 *
 * Plain data: fixed-size arrays where the bound is small, bounded heap arrays for the
 * registry, key sets and applet data. A pcard_cardstate owns its heap arrays; release it with
 * pcard_cardstate_clear (wipes key values, safe to call twice).
 *
 * The card file (cardfile.h, docs/card-file.md) stores exactly this struct through
 * pcard_cardstate_encode/decode; `postcard-sim dump --json` prints pcard_cardstate_json.
 */
#ifndef PCARD_CARDSTATE_H
#define PCARD_CARDSTATE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "postcard/err.h"

#define PCARD_AID_MAX 16		/* ISO/IEC 7816-5: 5 to 16 bytes */
#define PCARD_AID_MIN 5
#define PCARD_CS_ATR_MAX 33
#define PCARD_CS_CPLC_BYTES 42
#define PCARD_CS_ID_MAX 16		/* IIN (tag 42), CIN (tag 45), KDD (tag CF) */
#define PCARD_CS_MAX_MODULES 32		/* executable modules per load file */
#define PCARD_CS_MAX_IMPORTS 32		/* imported packages per load file */
#define PCARD_CS_HASH_MAX 64		/* LFDB hash, up to SHA-512 */
#define PCARD_CS_PARAMS_MAX 255		/* install parameters (C9 and the rest of the field) */
#define PCARD_CS_IMPLICIT_MAX 4		/* implicit selection parameters (CF) */
#define PCARD_CS_DATA_MAX 65536		/* per-application data blob */
#define PCARD_CS_KEY_MAX 512		/* key value: up to an RSA-4096 modulus */
#define PCARD_CS_KEYPARAM_MAX 16	/* RSA public exponent, or the EC curve reference */
#define PCARD_CS_MAX_KEYS 8		/* keys per key set */
#define PCARD_CS_MAX_KEYSETS 16		/* key sets per security domain */
#define PCARD_CS_MAX_ELFS 256
#define PCARD_CS_MAX_APPS 256
#define PCARD_CS_SEQ_MAX 0xFFFFFFu	/* the sequence counter is 3 bytes */
#define PCARD_CS_DEFAULT_AUTH_LIMIT 10

/* Card life cycle (GP CS 11.1.1); the ISD's life cycle is the card's. */
enum {
	PCARD_CARD_OP_READY = 0x01,
	PCARD_CARD_INITIALIZED = 0x07,
	PCARD_CARD_SECURED = 0x0F,
	PCARD_CARD_LOCKED = 0x7F,
	PCARD_CARD_TERMINATED = 0xFF,
};

/* Application and security domain life cycle bits (GP CS 11.1.1). */
enum {
	PCARD_APP_INSTALLED = 0x03,
	PCARD_APP_SELECTABLE = 0x07,
	PCARD_SD_PERSONALIZED = 0x0F,
	PCARD_APP_LOCKED_BIT = 0x80,
	PCARD_ELF_LOADED = 0x01,
};

/* Privilege byte 1 bits (GP CS 11.1.2); bytes 2 and 3 are stored as received. */
enum {
	PCARD_PRIV1_SD = 0x80,
	PCARD_PRIV1_DAP = 0x40,
	PCARD_PRIV1_DM = 0x20,
	PCARD_PRIV1_CARD_LOCK = 0x10,
	PCARD_PRIV1_CARD_TERMINATE = 0x08,
	PCARD_PRIV1_CARD_RESET = 0x04,
	PCARD_PRIV1_CVM = 0x02,
	PCARD_PRIV1_MANDATED_DAP = 0x01,
	PCARD_PRIV2_TRUSTED_PATH = 0x80,
	PCARD_PRIV2_AM = 0x40,
	PCARD_PRIV2_TOKEN = 0x20,
	PCARD_PRIV2_GLOBAL_DELETE = 0x10,
	PCARD_PRIV2_GLOBAL_LOCK = 0x08,
	PCARD_PRIV2_GLOBAL_REGISTRY = 0x04,
	PCARD_PRIV2_FINAL_APP = 0x02,
	PCARD_PRIV2_GLOBAL_SERVICE = 0x01,
	PCARD_PRIV3_RECEIPT = 0x80,
	PCARD_PRIV3_CIPHERED_LFDB = 0x40,
};

/* Key types, coded as in PUT KEY (GP CS 11.8.2.3). */
enum {
	PCARD_KEYTYPE_DES3 = 0x80,	/* 16 or 24 bytes */
	PCARD_KEYTYPE_AES = 0x88,	/* 16, 24 or 32 bytes */
	PCARD_KEYTYPE_RSA_PUB = 0xA1,	/* value = modulus, param = public exponent */
	PCARD_KEYTYPE_EC_PUB = 0xB0,	/* value = 04||X||Y, param = 1 byte curve ref (00/01/02) */
};

/* Card configuration flags (pcard_cardstate.flags). */
enum {
	/* The first PUT KEY that adds a key set deletes the initial key set FF (some real
	 * cards); without it FF stays until explicitly replaced or deleted. */
	PCARD_CS_FLAG_PUTKEY_REPLACES_FF = 0x01,
};

typedef struct pcard_aid {
	uint8_t len;			/* 0 = none, else 5..16 */
	uint8_t b[PCARD_AID_MAX];
} pcard_aid;

typedef struct pcard_card_import {
	pcard_aid aid;
	uint8_t major, minor;
} pcard_card_import;

/* An executable load file (a package): GET STATUS P1=20/10. */
typedef struct pcard_card_elf {
	pcard_aid aid;
	uint8_t major, minor;		/* package version */
	pcard_aid sd;			/* associated security domain */
	uint32_t size;			/* bytes of non-volatile memory it occupies */
	uint8_t rom;			/* 1: present from manufacture (cannot be deleted) */
	uint8_t hash_len;		/* LFDB hash as given at INSTALL [for load], 0 = none */
	uint8_t hash[PCARD_CS_HASH_MAX];
	uint8_t nmodules;
	pcard_aid modules[PCARD_CS_MAX_MODULES];
	uint8_t nimports;
	pcard_card_import imports[PCARD_CS_MAX_IMPORTS];
} pcard_card_elf;

typedef struct pcard_card_key {
	uint8_t id;			/* key identifier, 01..7F */
	uint8_t type;			/* PCARD_KEYTYPE_* */
	uint16_t len;			/* bytes of value */
	uint8_t value[PCARD_CS_KEY_MAX];
	uint8_t param_len;
	uint8_t param[PCARD_CS_KEYPARAM_MAX];
	uint8_t usage;			/* extended key format usage byte, 0 = not given */
	uint8_t access;			/* extended key format access byte, 0 = not given */
} pcard_card_key;

typedef struct pcard_card_keyset {
	uint8_t kvn;			/* key version number, 01..7F or FF (initial set) */
	uint32_t seq;			/* SCP sequence counter, 3 bytes */
	uint16_t fails;			/* consecutive failed authentications */
	uint8_t blocked;		/* 1 after fails reached the card's limit (6983) */
	uint8_t nkeys;
	pcard_card_key keys[PCARD_CS_MAX_KEYS];
} pcard_card_keyset;

/* A key reference inside the same security domain; kvn 0 = none. */
typedef struct pcard_card_keyref {
	uint8_t kvn, id;
} pcard_card_keyref;

/* What an application entry holds when it is a security domain. */
typedef struct pcard_card_sd {
	uint8_t scp;			/* 0x02 or 0x03 */
	uint8_t i;			/* SCP option i (70 for SCP03, 15/35/55/75 for SCP02) */
	uint8_t min_level;		/* minimum EXTERNAL AUTHENTICATE security level */
	pcard_card_keyref dap, token, receipt;
	size_t nkeysets;
	pcard_card_keyset *keysets;	/* owned, nkeysets entries */
} pcard_card_sd;

/* An application instance or a security domain: GET STATUS P1=80/40. */
typedef struct pcard_card_app {
	pcard_aid aid;
	uint8_t life_cycle;		/* unused for the ISD: the card's life cycle rules it */
	uint8_t priv[3];
	pcard_aid elf;			/* executable load file it was installed from */
	pcard_aid module;		/* executable module (class) */
	pcard_aid sd;			/* associated security domain */
	uint8_t params_len;
	uint8_t params[PCARD_CS_PARAMS_MAX];
	uint32_t nv_quota;		/* C8 (0 = none) */
	uint32_t v_quota;		/* C7 (0 = none) */
	uint32_t nv_used;		/* bytes charged to this instance */
	uint8_t nimplicit;
	uint8_t implicit[PCARD_CS_IMPLICIT_MAX];	/* CF values */
	uint8_t default_selected;
	uint32_t data_version;		/* native applets: version of data (e.g. data store) */
	size_t data_len;
	uint8_t *data;			/* owned, data_len bytes (NULL when 0) */
	uint8_t is_sd;			/* 1 iff priv[0] has PCARD_PRIV1_SD; then sd is valid */
	pcard_card_sd sd_info;
} pcard_card_app;

typedef struct pcard_cardstate {
	/* identity */
	uint8_t atr_len;
	uint8_t atr[PCARD_CS_ATR_MAX];
	uint8_t cplc[PCARD_CS_CPLC_BYTES];
	uint8_t iin_len, cin_len, kdd_len;
	uint8_t iin[PCARD_CS_ID_MAX], cin[PCARD_CS_ID_MAX], kdd[PCARD_CS_ID_MAX];
	/* configuration and counters */
	uint8_t life_cycle;		/* PCARD_CARD_* */
	uint8_t flags;			/* PCARD_CS_FLAG_* */
	uint8_t auth_limit;		/* failed authentications before a key set blocks */
	uint16_t max_cmd_len;		/* stated in the FCI (9F65) */
	uint32_t nvm_size, nvm_used;
	uint32_t receipt_counter;	/* confirmation counter, 2 bytes on the wire */
	/* registry */
	pcard_card_app isd;		/* is_sd = 1 always */
	size_t nelfs;
	pcard_card_elf *elfs;		/* owned */
	size_t napps;
	pcard_card_app *apps;		/* owned: instances and supplementary SDs */
} pcard_cardstate;

/* Options of a new card (pcard_cardstate_default). Zero fields take the defaults. */
typedef struct pcard_cardstate_opts {
	uint8_t scp;			/* 0x03 (default) or 0x02 */
	uint8_t i;			/* default 0x70 for SCP03, 0x55 for SCP02 */
	const uint8_t *key;		/* ENC = MAC = DEK; default the GP test key 4041..4F */
	size_t key_len;
	const pcard_aid *isd_aid;	/* default A000000151000000 */
	uint8_t life_cycle;		/* default SECURED */
	uint32_t nvm_size;		/* default 256 KiB */
	uint8_t auth_limit;		/* default 10 */
	uint8_t flags;
} pcard_cardstate_opts;

/* An empty state (no heap), ready for _default or _decode. */
void pcard_cardstate_init(pcard_cardstate *cs);
/* Frees the heap arrays, wipes every key value; leaves cs as after _init. NULL is fine. */
void pcard_cardstate_clear(pcard_cardstate *cs);

/*
 * A new card as design.md "Defaults" describes it: ISD with key set FF (ENC 01, MAC 02,
 * DEK 03), SCP03 i=70 (or the options'), Java Card 3.0.5 API packages in ROM, identity
 * bytes (ATR, CPLC, IIN, CIN, KDD) fixed and documented in docs/card-file.md.
 * cs is cleared first.
 */
pcard_err pcard_cardstate_default(pcard_cardstate *cs, const pcard_cardstate_opts *opts);

/* Deep copy; dst is cleared first. */
pcard_err pcard_cardstate_copy(pcard_cardstate *dst, const pcard_cardstate *src);

/*
 * 1 when a and b hold the same state, else 0. When they differ and why is not NULL, a short
 * path of the first difference ("apps[2].data") is written there (NUL-terminated).
 */
int pcard_cardstate_eq(const pcard_cardstate *a, const pcard_cardstate *b, char *why,
    size_t why_cap);

/* Semantic checks the decoder applies (and the APDU layer may rely on): AID lengths, unique
 * AIDs, KVNs and key ids, key lengths by type, life cycle values, bounds. */
pcard_err pcard_cardstate_check(const pcard_cardstate *cs);

/* AIDs */
pcard_err pcard_aid_set(pcard_aid *aid, const uint8_t *b, size_t n);	/* n 5..16 */
pcard_err pcard_aid_from_hex(pcard_aid *aid, const char *hex);
int pcard_aid_eq(const pcard_aid *a, const pcard_aid *b);

/*
 * Registry. Pointers returned are borrowed: valid until the next add/remove on the same
 * array or _clear. Adds copy the entry (deep for data and key sets) and fail with
 * PCARD_E_INVALID_ARG when the AID is already registered or the entry fails the checks,
 * PCARD_E_NOSPACE when the array is at its maximum.
 */
pcard_card_elf *pcard_cardstate_elf_find(pcard_cardstate *cs, const pcard_aid *aid);
pcard_err pcard_cardstate_elf_add(pcard_cardstate *cs, const pcard_card_elf *elf);
pcard_err pcard_cardstate_elf_remove(pcard_cardstate *cs, const pcard_aid *aid);
/* The load file that holds module aid (and the module's index in it), or NULL. */
pcard_card_elf *pcard_cardstate_module_find(pcard_cardstate *cs, const pcard_aid *module,
    size_t *index);

/* Instances and supplementary SDs (not the ISD). */
pcard_card_app *pcard_cardstate_app_find(pcard_cardstate *cs, const pcard_aid *aid);
pcard_err pcard_cardstate_app_add(pcard_cardstate *cs, const pcard_card_app *app);
pcard_err pcard_cardstate_app_remove(pcard_cardstate *cs, const pcard_aid *aid);
/* The ISD or a supplementary SD with this AID, or NULL. */
pcard_card_app *pcard_cardstate_sd_find(pcard_cardstate *cs, const pcard_aid *aid);

/* Application entries: data blob (copied; n <= PCARD_CS_DATA_MAX) and release. */
pcard_err pcard_card_app_set_data(pcard_card_app *app, const uint8_t *p, size_t n);
void pcard_card_app_clear(pcard_card_app *app);

/* Key sets of a security domain (app->is_sd must be 1). */
pcard_card_keyset *pcard_card_sd_keyset_find(pcard_card_app *sd, uint8_t kvn);
/* Adds ks, or replaces the set with the same KVN (its counters are taken from ks). */
pcard_err pcard_card_sd_keyset_put(pcard_card_app *sd, const pcard_card_keyset *ks);
pcard_err pcard_card_sd_keyset_remove(pcard_card_app *sd, uint8_t kvn);
pcard_card_key *pcard_card_keyset_key_find(pcard_card_keyset *ks, uint8_t id);
/* Sets a symmetric key (type DES3 or AES) or a public key into ks, replacing the same id. */
pcard_err pcard_card_keyset_put_key(pcard_card_keyset *ks, const pcard_card_key *key);

/*
 * Serialization (docs/card-file.md, "Body"). encode writes the canonical body: the same state
 * always gives the same bytes. With out NULL and out_cap 0 it only measures (*out_len).
 * decode reads the body through pcard_rd, builds a new state into cs (cleared first; left
 * empty on error) and applies pcard_cardstate_check.
 * @retval PCARD_E_TRUNCATED body ends inside a field
 * @retval PCARD_E_TRAILING_DATA bytes after the last field or inside a record
 * @retval PCARD_E_BAD_FILE a field out of its range, a duplicate, or a failed check
 */
pcard_err pcard_cardstate_encode(const pcard_cardstate *cs, uint8_t *out, size_t out_cap,
    size_t *out_len);
pcard_err pcard_cardstate_decode(const uint8_t *body, size_t n, pcard_cardstate *cs);

/*
 * The canonical JSON view (docs/card-file.md, "JSON dump"): stable field names, hex strings
 * in upper case, symmetric keys as KCVs and public keys as SHA-256 fingerprints, never key
 * values. *out is owned: json_decref it. Print with JSON_SORT_KEYS for byte-stable output.
 */
pcard_err pcard_cardstate_json(const pcard_cardstate *cs, json_t **out);

/* Names for dumps: "SECURED", "LOCKED"...; never NULL. */
const char *pcard_card_lc_name(uint8_t lc);

#endif
