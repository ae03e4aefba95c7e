/*
 * gp.h: GlobalPlatform command builders and response parsers (GP Card Specification 2.3.1,
 * chapter 11; see ../shared/gp-facts.md for the layouts used here).
 *
 * Builders write one complete command APDU (via pcard_apdu_encode) into a caller buffer
 * (out, out_cap, &out_len) with CLA 80 (SELECT: 00); the secure channel turns 80 into 84 when
 * it wraps. Data fields over 255 bytes make an extended APDU. Parsers read card responses
 * (data only, without SW) through pcard_rd; they fill caller structs that hold copies, so
 * nothing they return borrows from the input unless stated.
 *
 * Every struct here is plain data a CLI can print as JSON: AIDs as pcard_gp_aid, flags as
 * integers, names from pcard_gp_*_name().
 */
#ifndef POSTCARD_GP_H
#define POSTCARD_GP_H

#include <stddef.h>
#include <stdint.h>

#include "postcard/bytes.h"
#include "postcard/err.h"

/* ---- AIDs ---- */

#define PCARD_GP_AID_MAX 16

typedef struct pcard_gp_aid {
	size_t len;			/* 0 to 16 */
	uint8_t b[PCARD_GP_AID_MAX];
} pcard_gp_aid;

/* @retval PCARD_E_INVALID_ARG n over 16 */
pcard_err pcard_gp_aid_set(pcard_gp_aid *a, const uint8_t *p, size_t n);
/* Hex to AID of 1 to 16 bytes. @retval PCARD_E_BAD_ENCODING not hex, empty or over 16 bytes */
pcard_err pcard_gp_aid_from_hex(pcard_gp_aid *a, const char *hex);
/* Upper-case hex, NUL-terminated (out_cap >= 2*len+1, 33 always suffices). */
pcard_err pcard_gp_aid_to_hex(const pcard_gp_aid *a, char *out, size_t out_cap);
int pcard_gp_aid_eq(const pcard_gp_aid *a, const pcard_gp_aid *b);

/* ---- Privileges (CS 11.1.2): byte 1 << 16 | byte 2 << 8 | byte 3 ---- */

#define PCARD_PRIV_SECURITY_DOMAIN		0x800000u
#define PCARD_PRIV_DAP_VERIFICATION		0xC00000u	/* includes Security Domain */
#define PCARD_PRIV_DELEGATED_MANAGEMENT		0xA00000u	/* includes Security Domain */
#define PCARD_PRIV_CARD_LOCK			0x100000u
#define PCARD_PRIV_CARD_TERMINATE		0x080000u
#define PCARD_PRIV_CARD_RESET			0x040000u	/* default selected */
#define PCARD_PRIV_CVM_MANAGEMENT		0x020000u
#define PCARD_PRIV_MANDATED_DAP_VERIFICATION	0xC10000u	/* includes SD and DAP */
#define PCARD_PRIV_TRUSTED_PATH			0x008000u
#define PCARD_PRIV_AUTHORIZED_MANAGEMENT	0x004000u
#define PCARD_PRIV_TOKEN_VERIFICATION		0x002000u
#define PCARD_PRIV_GLOBAL_DELETE		0x001000u
#define PCARD_PRIV_GLOBAL_LOCK			0x000800u
#define PCARD_PRIV_GLOBAL_REGISTRY		0x000400u
#define PCARD_PRIV_FINAL_APPLICATION		0x000200u
#define PCARD_PRIV_GLOBAL_SERVICE		0x000100u
#define PCARD_PRIV_RECEIPT_GENERATION		0x000080u
#define PCARD_PRIV_CIPHERED_LOAD_FILE_DATA_BLOCK 0x000040u
#define PCARD_PRIV_CONTACTLESS_ACTIVATION	0x000020u
#define PCARD_PRIV_CONTACTLESS_SELF_ACTIVATION	0x000010u
#define PCARD_PRIV_PRIVACY_TRUSTED		0x000008u	/* GlobalPlatformPro's name */

/*
 * Names of the privileges set in privs, in table order ("SecurityDomain", "CardLock",
 * "DelegatedManagement", ...): a privilege is named when all its bits are set, so C00000
 * gives SecurityDomain and DAPVerification. Static strings. *n is the number of names (may
 * exceed cap; only cap are stored). Bits no name covers are returned in *unknown (may be NULL).
 */
void pcard_privs_names(uint32_t privs, const char **names, size_t cap, size_t *n,
    uint32_t *unknown);
/* "SecurityDomain,CardLock" (comma-separated, no spaces); NOSPACE if it does not fit. */
pcard_err pcard_privs_to_string(uint32_t privs, char *out, size_t out_cap);
/*
 * Parse names separated by commas, '|' or spaces, case-insensitive ("securitydomain,
 * CardReset"); a hex value like "0x800000" or "800000" is taken as is. Empty = 0.
 * @retval PCARD_E_NOT_FOUND an unknown name
 */
pcard_err pcard_privs_from_string(const char *s, uint32_t *privs);
/* The privilege with this exact (case-insensitive) name. @retval PCARD_E_NOT_FOUND */
pcard_err pcard_priv_from_name(const char *name, uint32_t *bits);
/* Decode 1 or 3 privilege bytes. @retval PCARD_E_BAD_ENCODING other lengths */
pcard_err pcard_privs_decode(const uint8_t *p, size_t n, uint32_t *privs);
/* Minimal encoding: 1 byte when bytes 2 and 3 are zero, else 3. Returns the length (1/3). */
size_t pcard_privs_encode(uint32_t privs, uint8_t out[3]);

/* ---- Life cycles (CS 11.1.1) ---- */

enum pcard_gp_kind {
	PCARD_GP_KIND_CARD = 0,		/* the ISD = card life cycle */
	PCARD_GP_KIND_APP,		/* application */
	PCARD_GP_KIND_SD,		/* supplementary security domain */
	PCARD_GP_KIND_ELF,		/* executable load file */
};

#define PCARD_LC_OP_READY	0x01
#define PCARD_LC_INITIALIZED	0x07
#define PCARD_LC_SECURED	0x0F
#define PCARD_LC_CARD_LOCKED	0x7F
#define PCARD_LC_TERMINATED	0xFF
#define PCARD_LC_LOADED		0x01
#define PCARD_LC_INSTALLED	0x03
#define PCARD_LC_SELECTABLE	0x07
#define PCARD_LC_PERSONALIZED	0x0F	/* SD */
#define PCARD_LC_LOCKED		0x80	/* b8 on applications and SDs */

/*
 * "OP_READY", "INITIALIZED", "SECURED", "CARD_LOCKED", "TERMINATED" (card), "LOADED" (ELF),
 * "INSTALLED", "SELECTABLE", "PERSONALIZED" (SD), "LOCKED" (app/SD with b8); app-specific
 * bits b7-b4 over SELECTABLE still give "SELECTABLE". "UNKNOWN" otherwise. Static strings.
 */
const char *pcard_lifecycle_name(int kind, uint8_t state);
/* Name (case-insensitive) to the state byte for that kind. @retval PCARD_E_NOT_FOUND */
pcard_err pcard_lifecycle_from_name(int kind, const char *name, uint8_t *state);

/* ---- SELECT (ISO 7816-4; CS 11.9) ---- */

/* 00 A4 04 00 [Lc AID] 00; an empty AID selects the default application (the ISD). */
pcard_err pcard_gp_select_cmd(const uint8_t *aid, size_t aid_len, uint8_t *out, size_t out_cap,
    size_t *out_len);

#define PCARD_GP_CRD_MAX 8	/* OIDs kept from card recognition data */

/*
 * Card recognition data (CS Appendix H; tag 66 via GET DATA, or 73 inside the FCI):
 *   66 { 73 { 06 1.2.840.114283.1, 60 { 06 GP version OID }, 63 { 06 card id scheme },
 *             64 { 06 1.2.840.114283.4.<scp>.<i> }, 65 {...}, 66 { 06 JavaCard OID }, ... } }
 */
typedef struct pcard_gp_crd {
	int is_gp;			/* 06 = 1.2.840.114283.1 present */
	char gp_version[24];		/* from 60: arcs after 1.2.840.114283.2, e.g. "2.3.1" */
	int has_scp;
	uint8_t scp, scp_i;		/* from 64: 1.2.840.114283.4.<scp>.<i> */
	char javacard[24];		/* from 66: arcs after 1.3.6.1.4.1.42.2.110.1, e.g. "3" */
	size_t n_oids;			/* every OID seen (max PCARD_GP_CRD_MAX kept) */
	struct {
		uint8_t tag;		/* tag of the template holding it (06 at top level) */
		char oid[64];		/* dotted */
	} oids[PCARD_GP_CRD_MAX];
} pcard_gp_crd;

/*
 * Parse card recognition data given as the GET DATA 66 response (66 {73 {...}}), or the
 * 73 object alone, or the value of 73.
 * @retval PCARD_E_BAD_ENCODING malformed TLV or OID
 */
pcard_err pcard_gp_parse_crd(const uint8_t *p, size_t n, pcard_gp_crd *crd);

/* SELECT response FCI: 6F { 84 AID, A5 { 73 {CRD}, 9F6E ..., 9F65 max cmd data len } } */
typedef struct pcard_gp_fci {
	pcard_gp_aid aid;			/* 84; len 0 when absent */
	int has_crd;
	pcard_gp_crd crd;		/* from A5/73 */
	size_t lifecycle_len;		/* 9F6E application production life cycle data */
	uint8_t lifecycle[48];
	size_t max_cmd_len;		/* 9F65; 0 when absent */
} pcard_gp_fci;

/*
 * Parse a SELECT response's data (without SW). Unknown tags are skipped.
 * @retval PCARD_E_BAD_ENCODING not a 6F template, AID over 16 bytes, 9F65 over 4 bytes,
 *         9F6E over 48 bytes, malformed TLV
 * @retval PCARD_E_TRAILING_DATA bytes after the 6F template
 */
pcard_err pcard_gp_parse_fci(const uint8_t *p, size_t n, pcard_gp_fci *fci);

/* ---- GET DATA (CS 11.3) ---- */

#define PCARD_GP_TAG_CPLC	0x9F7F
#define PCARD_GP_TAG_IIN	0x0042
#define PCARD_GP_TAG_CIN	0x0045
#define PCARD_GP_TAG_KDD	0x00CF
#define PCARD_GP_TAG_SSC	0x00C1
#define PCARD_GP_TAG_CRD	0x0066
#define PCARD_GP_TAG_CAPS	0x0067
#define PCARD_GP_TAG_KEYINFO	0x00E0

/* cla CA tagHi tagLo 00 (cla 80, or 00 for cards that want it). */
pcard_err pcard_gp_get_data_cmd(uint8_t cla, uint16_t tag, uint8_t *out, size_t out_cap,
    size_t *out_len);

/*
 * The value of a GET DATA response that is exactly one TLV object with tag (IIN 42, CIN 45,
 * KDD CF, SSC C1, ...). val borrows from p.
 * @retval PCARD_E_BAD_ENCODING another tag or malformed; PCARD_E_TRAILING_DATA bytes after it
 */
pcard_err pcard_gp_data_value(uint32_t tag, const uint8_t *p, size_t n, pcard_rd *val);

/* CPLC (GET DATA 9F7F): 42 bytes of fixed fields. */
#define PCARD_GP_CPLC_LEN 42
typedef struct pcard_gp_cplc {
	uint8_t raw[PCARD_GP_CPLC_LEN];
} pcard_gp_cplc;

typedef struct pcard_gp_cplc_field {
	const char *name;	/* JSON-friendly: "ic_fabricator", "ic_serial_number", ... */
	uint8_t off, len;
	int is_date;		/* YDDD: last digit of the year, day of the year */
} pcard_gp_cplc_field;

/* The 18 fields in order; *n receives their count. */
const pcard_gp_cplc_field *pcard_gp_cplc_fields(size_t *n);
/* Value of field i (big-endian) or 0 when i is out of range. */
uint32_t pcard_gp_cplc_get(const pcard_gp_cplc *c, size_t i);
/*
 * Accepts 9F7F 2A <42 bytes> or the bare 42 bytes.
 * @retval PCARD_E_BAD_ENCODING any other shape
 */
pcard_err pcard_gp_parse_cplc(const uint8_t *p, size_t n, pcard_gp_cplc *c);

/* Card capabilities (GET DATA 67). */
#define PCARD_GP_CAPS_MAX_SCP 4
typedef struct pcard_gp_caps {
	size_t n_scp;
	struct {
		uint8_t scp;		/* 80 */
		size_t n_i;
		uint8_t i[8];		/* 81 */
		int has_key_lens;
		uint8_t key_lens;	/* 82: AES key lengths bitmap (01 128, 02 192, 04 256) */
	} scp[PCARD_GP_CAPS_MAX_SCP];
	int has_ssd_privs, has_app_privs;
	uint32_t ssd_privs, app_privs;	/* 81, 82 */
	size_t n_lfdbh;
	uint8_t lfdbh[8];		/* 83: LFDB hash algorithms */
	size_t n_token, n_receipt, n_dap;
	uint8_t token[8], receipt[8], dap[8];	/* 85, 86, 87 cipher suites (raw) */
} pcard_gp_caps;

/* Accepts 67 {...} or its value. Unknown tags skipped; over-long lists PCARD_E_BAD_ENCODING. */
pcard_err pcard_gp_parse_caps(const uint8_t *p, size_t n, pcard_gp_caps *caps);

/* Key information template (GET DATA E0): E0 { C0 {...} * } */
#define PCARD_GP_KEY_MAX_COMP 4
typedef struct pcard_gp_keyinfo {
	uint8_t id, kvn;
	int extended;			/* extended format (CS 11.3.3.1, types FF xx) */
	size_t n_comp;
	struct {
		uint16_t type;		/* 80 DES, 88 AES, A1/A0 RSA, B0 EC, ...; FFxx extended */
		uint16_t len;		/* bytes */
	} comp[PCARD_GP_KEY_MAX_COMP];
	size_t usage_len;		/* extended: key usage (0-2 bytes) */
	uint8_t usage[2];
	int has_access;
	uint8_t access;			/* extended: key access */
} pcard_gp_keyinfo;

/*
 * Parse E0 {C0 ...} (or a bare run of C0 objects) into out[0..cap); *count = keys found
 * (all are validated; only cap are stored).
 * @retval PCARD_E_NOSPACE more keys than cap
 * @retval PCARD_E_BAD_ENCODING malformed entry, more than PCARD_GP_KEY_MAX_COMP components
 */
pcard_err pcard_gp_parse_keyinfo(const uint8_t *p, size_t n, pcard_gp_keyinfo *out, size_t cap,
    size_t *count);

/* ---- INITIALIZE UPDATE (CS 11.7; layouts gp-facts 3.4) ---- */

/* 80 50 kvn key_id Lc challenge 00; challenge 8 or 16 bytes. */
pcard_err pcard_gp_init_update_cmd(uint8_t kvn, uint8_t key_id, const uint8_t *challenge,
    size_t challenge_len, uint8_t *out, size_t out_cap, size_t *out_len);

typedef struct pcard_gp_init_update_resp {
	uint8_t kdd[10];
	uint8_t kvn, scp, i;		/* i: SCP03 only (0 otherwise) */
	size_t seq_len;			/* 2 (SCP02), 3 (SCP03 with i b5), else 0 */
	uint8_t seq[3];
	size_t challenge_len;		/* 8 (SCP01/03), 6 (SCP02), 16 (SCP03 S16) */
	uint8_t challenge[16];
	size_t cryptogram_len;		/* 8, or 16 in S16 */
	uint8_t cryptogram[16];
} pcard_gp_init_update_resp;

/*
 * Split an INITIALIZE UPDATE response (data without SW) by the layouts of gp-facts 3.4:
 *   01: KDD10 KVN SCP chal8 crypt8 (28)      02: KDD10 KVN SCP seq2 chal6 crypt8 (28)
 *   03: KDD10 KVN SCP i chal8 crypt8 [seq3] (29/32), S16: chal16 crypt16 (45/48)
 * The sequence counter is present for SCP03 when i has b5 (10) set.
 * @retval PCARD_E_UNSUPPORTED SCP byte not 01/02/03
 * @retval PCARD_E_BAD_ENCODING length does not fit the layout
 */
pcard_err pcard_gp_parse_init_update_resp(const uint8_t *p, size_t n,
    pcard_gp_init_update_resp *r);

/* ---- GET STATUS (CS 11.4) ---- */

#define PCARD_GS_ISD		0x80
#define PCARD_GS_APPS		0x40	/* applications and SSDs */
#define PCARD_GS_ELFS		0x20
#define PCARD_GS_ELFS_MODULES	0x10

#define PCARD_GS_P2_TAGS	0x02	/* P2 b2: tag format (E3) */
#define PCARD_GS_P2_NEXT	0x01	/* P2 b1: next occurrence */

/* 80 F2 p1 p2 02 4F 00 00 (all entries of the subset); p2 from PCARD_GS_P2_*. */
pcard_err pcard_gp_get_status_cmd(uint8_t p1, uint8_t p2, uint8_t *out, size_t out_cap,
    size_t *out_len);
/*
 * After SW 6310: the same command with P2 b1 (next occurrence) set.
 * @retval PCARD_E_BAD_ENCODING prev is not a GET STATUS APDU
 */
pcard_err pcard_gp_get_status_next(const uint8_t *prev, size_t prev_len, uint8_t *out,
    size_t out_cap, size_t *out_len);

#define PCARD_GS_MAX_MODULES 32
#define PCARD_GS_MAX_IMPLICIT 4

typedef struct pcard_gp_status_entry {
	pcard_gp_aid aid;			/* 4F */
	uint8_t lifecycle;		/* 9F70 first byte (legacy: the life cycle byte) */
	int has_lifecycle2;
	uint8_t lifecycle2;		/* 9F70 second byte when present */
	int has_privs;
	uint32_t privs;			/* C5 (or legacy byte), as pcard_privs_decode */
	int has_elf;
	pcard_gp_aid elf;			/* C4 ELF AID */
	int has_sd;
	pcard_gp_aid sd;			/* CC associated SD */
	size_t version_len;
	uint8_t version[4];		/* CE: ELF version, 2 bytes = major.minor */
	size_t n_implicit;
	uint8_t implicit[PCARD_GS_MAX_IMPLICIT];	/* CF implicit selection parameters */
	size_t n_modules;
	pcard_gp_aid modules[PCARD_GS_MAX_MODULES];	/* 84 (tags) / legacy P1=10 list */
} pcard_gp_status_entry;

/*
 * Parse one GET STATUS response (data without SW).
 *  tag format (p2 & 02):  E3 { 4F AID, 9F70 lc(1-2), C5 privs(1/3), CF*, C4, CC, CE, 84* } *
 *  legacy (p2 & 02 == 0): { len AID, lc(1), privs(1) [, P1 10: count, (len AID)*] } *
 * Entries go to out[0..cap); *count = entries in the response (all validated).
 * Unknown tags inside E3 are skipped.
 * @retval PCARD_E_NOSPACE more entries than cap (*count tells how many are needed)
 * @retval PCARD_E_UNSUPPORTED an entry lists more than PCARD_GS_MAX_MODULES modules or
 *         PCARD_GS_MAX_IMPLICIT implicit selection parameters
 * @retval PCARD_E_BAD_ENCODING malformed (not E3, AID missing or over 16, bad lengths)
 * @retval PCARD_E_TRUNCATED a legacy entry cut short
 */
pcard_err pcard_gp_parse_status(uint8_t p1, uint8_t p2, const uint8_t *p, size_t n,
    pcard_gp_status_entry *out, size_t cap, size_t *count);

/* ---- INSTALL (CS 11.5; gp-facts 3.8) ---- */

#define PCARD_INSTALL_MORE		0x80
#define PCARD_INSTALL_FOR_REGISTRY_UPDATE 0x40
#define PCARD_INSTALL_FOR_PERSONALIZATION 0x20
#define PCARD_INSTALL_FOR_EXTRADITION	0x10
#define PCARD_INSTALL_FOR_MAKE_SELECTABLE 0x08
#define PCARD_INSTALL_FOR_INSTALL	0x04
#define PCARD_INSTALL_FOR_LOAD		0x02

#define PCARD_INSTALL_P2_NONE		0x00
#define PCARD_INSTALL_P2_COMBINED_BEGIN	0x01
#define PCARD_INSTALL_P2_COMBINED_END	0x03

enum pcard_privs_mode {
	PCARD_PRIVS_AUTO = 0,	/* 1 byte when bytes 2-3 are zero, else 3 (as GlobalPlatformPro) */
	PCARD_PRIVS_1,		/* exactly 1 byte; bits in bytes 2-3 are an error */
	PCARD_PRIVS_3,		/* always 3 bytes */
	PCARD_PRIVS_NONE,	/* length 00 (registry update: leave unchanged) */
};

enum pcard_params_mode {
	PCARD_PARAMS_WRAP = 0,	/* install: used as is when it is TLV holding a top-level C9,
				 * else wrapped as C9 L params; empty -> C9 00 */
	PCARD_PARAMS_RAW,	/* exactly the bytes given (may be empty) */
};

/*
 * One INSTALL command. Which fields go into the data field depends on p1 (each field is
 * len || value, the length in BER form 81 xx / 82 xx xx when over 127):
 *  02 for load:         elf, sd (0 = current), hash, load_params, token
 *  04/0C install(+MS):  elf, module, instance, privs, params, token
 *  08 make selectable:  00, 00, instance, privs, params, token
 *  0E load+install+MS:  elf, sd, hash, load_params, module, instance, privs, params, token
 *                       (p2 01 at the beginning of the combined process, 03 at its end)
 *  10 extradition:      sd (destination), 00, instance (app or ELF), 00, params, token
 *  40 registry update:  sd, 00, instance, privs (see privs_mode), params, token
 *  20 personalization:  00, 00, instance, 00, 00, 00
 * p1 may carry PCARD_INSTALL_MORE. params follow params_mode for 04/0C/0E; for the other
 * roles they are sent as given. AIDs are 0-16 bytes; a NULL pointer means empty.
 */
typedef struct pcard_gp_install {
	uint8_t p1, p2;
	const uint8_t *elf;		size_t elf_len;
	const uint8_t *sd;		size_t sd_len;
	const uint8_t *hash;		size_t hash_len;
	const uint8_t *load_params;	size_t load_params_len;
	const uint8_t *module;		size_t module_len;
	const uint8_t *instance;	size_t instance_len;
	uint32_t privs;
	int privs_mode;			/* enum pcard_privs_mode */
	const uint8_t *params;		size_t params_len;
	int params_mode;		/* enum pcard_params_mode */
	const uint8_t *token;		size_t token_len;
} pcard_gp_install;

/*
 * Build 80 E6 P1 P2 Lc data 00.
 * @retval PCARD_E_INVALID_ARG unknown P1 role combination, P2 not 00/01/03, AID over 16,
 *         privileges not fitting privs_mode, a field over 65535
 */
pcard_err pcard_gp_install_cmd(const pcard_gp_install *in, uint8_t *out, size_t out_cap,
    size_t *out_len);

/*
 * The data field alone (for token signing: the token covers P1 P2 Lc and the data up to the
 * token length byte; see gp-facts 3.18). With in->token NULL the final token length byte 00
 * is still written.
 */
pcard_err pcard_gp_install_data(const pcard_gp_install *in, uint8_t *out, size_t out_cap,
    size_t *out_len);

/*
 * Load parameters EF { C6 NV code, C7 volatile, C8 NV data } with each size as 2 bytes (4
 * when over FFFF); a size of 0 is left out; all 0 gives an empty field (length 0).
 */
pcard_err pcard_gp_load_params(uint32_t nv_code, uint32_t volatile_data, uint32_t nv_data,
    uint8_t *out, size_t out_cap, size_t *out_len);

/* ---- LOAD (CS 11.6) ---- */

/*
 * Blocks of block bytes that n bytes of load file make.
 * @retval PCARD_E_INVALID_ARG block 0 or over 65535, n 0, or more than 256 blocks (P2 is one
 *         byte; postcard refuses to wrap it: use bigger blocks)
 */
pcard_err pcard_gp_load_count(size_t n, size_t block, size_t *count);
/* 80 E8 P1 P2 Lc block 00 for block index: P1 80 on the last block else 00, P2 = index. */
pcard_err pcard_gp_load_cmd(const uint8_t *file, size_t n, size_t block, size_t index,
    uint8_t *out, size_t out_cap, size_t *out_len);

/* ---- DELETE (CS 11.2) ---- */

/* 80 E4 00 P2 Lc 4F len AID [9E len token] 00; P2 80 with related objects. */
pcard_err pcard_gp_delete_cmd(const uint8_t *aid, size_t aid_len, int related,
    const uint8_t *token, size_t token_len, uint8_t *out, size_t out_cap, size_t *out_len);
/*
 * Delete a key: data D0 01 key_id and/or D2 01 kvn (pass -1 to leave one out).
 * @retval PCARD_E_INVALID_ARG both -1 or a value over 255
 */
pcard_err pcard_gp_delete_key_cmd(int key_id, int kvn, uint8_t *out, size_t out_cap,
    size_t *out_len);

/* ---- SET STATUS (CS 11.10) ---- */

#define PCARD_SS_CARD		0x80	/* ISD / card life cycle */
#define PCARD_SS_APP		0x40	/* application or SSD */
#define PCARD_SS_SD_AND_APPS	0x60	/* SD and its associated applications */

/* 80 F0 p1 state [Lc AID] (no data when aid_len is 0). */
pcard_err pcard_gp_set_status_cmd(uint8_t p1, uint8_t state, const uint8_t *aid,
    size_t aid_len, uint8_t *out, size_t out_cap, size_t *out_len);

/* ---- PUT KEY (CS 11.8) ---- */

/*
 * 80 D8 P1 P2 Lc data 00 with P1 = old_kvn (00 = add a key set) | 80 when more commands
 * follow, P2 = key_id | 80 when data holds several keys. data (new KVN || key data fields)
 * is built elsewhere (putkey.c).
 * @retval PCARD_E_INVALID_ARG old_kvn or key_id over 7F, data empty
 */
pcard_err pcard_gp_put_key_cmd(uint8_t old_kvn, uint8_t key_id, int multiple, int more,
    const uint8_t *data, size_t data_len, uint8_t *out, size_t out_cap, size_t *out_len);

/* ---- STORE DATA (CS 11.11) ---- */

#define PCARD_SD_LAST		0x80	/* P1 b8: last block */
#define PCARD_SD_ENC_NONE	0x00	/* b7b6 00 */
#define PCARD_SD_ENC_APP	0x20	/* b7b6 01: application-dependent encryption */
#define PCARD_SD_ENC_ALL	0x60	/* b7b6 11: all data encrypted */
#define PCARD_SD_FMT_NONE	0x00	/* b5b4 00 */
#define PCARD_SD_FMT_DGI	0x08	/* b5b4 01 */
#define PCARD_SD_FMT_BER	0x10	/* b5b4 10 */
#define PCARD_SD_CASE4		0x01	/* b1: response data expected */

/* 80 E2 p1 block Lc data [00 when p1 has PCARD_SD_CASE4]. */
pcard_err pcard_gp_store_data_cmd(uint8_t p1, uint8_t block, const uint8_t *data,
    size_t data_len, uint8_t *out, size_t out_cap, size_t *out_len);
/* Pieces of block bytes n bytes make (1 when n is 0). @retval INVALID_ARG over 256 pieces */
pcard_err pcard_gp_store_data_count(size_t n, size_t block, size_t *count);
/*
 * Piece index of data split into block-byte pieces: P1 = flags, plus PCARD_SD_LAST on the
 * last piece (flags must not have it); P2 = first_block + index.
 * @retval PCARD_E_INVALID_ARG index past the end, block number over FF, flags with b8
 */
pcard_err pcard_gp_store_data_piece(uint8_t flags, uint8_t first_block, const uint8_t *data,
    size_t n, size_t block, size_t index, uint8_t *out, size_t out_cap, size_t *out_len);

#endif
