/*
 * dap.h: Data Authentication Pattern blocks, the Load File Data Block hash rules, delegated
 * management tokens and receipts (GP CS 2.3.1 Appendix C, 11.1.6; gp-facts 3.17, 3.18).
 *
 * One signing key type serves DAP blocks and tokens (pcard_dapkey): asymmetric schemes go
 * through pcard_sign/pcard_verify with a pcard_pkey; symmetric ones (AES-CMAC, DES retail MAC)
 * through a key provider (pcard_keys_mac), so an HSM can hold those keys.
 * Verification answers PCARD_E_VERIFY for a signature or MAC that does not match, and MACs
 * are compared in constant time.
 */
#ifndef POSTCARD_DAP_H
#define POSTCARD_DAP_H

#include <stddef.h>
#include <stdint.h>

#include "postcard/bytes.h"
#include "postcard/crypto.h"
#include "postcard/err.h"
#include "postcard/keys.h"

typedef enum pcard_dap_alg {
	PCARD_DAP_RSA_SHA1 = 1,		/* Scheme 1: RSASSA-PKCS1-v1_5 with SHA-1, RSA <= 1024 bits */
	PCARD_DAP_RSA_PSS_SHA256,	/* Scheme 2: RSASSA-PSS, SHA-256, MGF1-SHA-256, salt 32 */
	PCARD_DAP_ECDSA,		/* r || s; SHA-256 below 384-bit orders, SHA-384 below 512,
					 * SHA-512 above (CS Table B-3) */
	PCARD_DAP_AES_CMAC,		/* 16-byte AES-CMAC (CS B.2.2) */
	PCARD_DAP_DES_RETAIL,		/* 8-byte ISO 9797-1 MAC alg. 3, ISO padding (CS B.1.2.2) */
} pcard_dap_alg;

#define PCARD_DAP_MAX_SIG 512		/* RSA 4096 */
#define PCARD_DAP_RSA_SCHEME1_MAX_BITS 1024

/* A DAP, token or receipt key. Borrowed pointers; the caller keeps them alive. */
typedef struct pcard_dapkey {
	pcard_dap_alg alg;
	const pcard_pkey *pkey;		/* RSA/ECDSA: private to sign, public enough to verify */
	pcard_keys *keys;		/* AES-CMAC / DES retail: the provider holding the key */
	pcard_keyh h;			/* ... and its handle (AES, or 16-byte DES3 for retail) */
} pcard_dapkey;

/* "rsa-sha1", "rsa-pss-sha256", "ecdsa", "aes-cmac", "des-retail"; NULL when unknown. */
const char *pcard_dap_alg_name(pcard_dap_alg alg);

/*
 * The LFDB hash (CS C.2, Table C-3). The LFDBH is the hash of the LFDB alone (the value of
 * C4). It must be at least as strong as the signature's hash: SHA-1 for scheme 1 and DES,
 * SHA-256 for scheme 2, ECDSA P-256 and AES-128, SHA-384 for P-384 and AES-192, SHA-512 for
 * P-521 and AES-256. key_bits is the RSA modulus, EC order or AES key size in bits.
 * @retval PCARD_E_INVALID_ARG unknown alg or a key size the algorithm does not have
 */
pcard_err pcard_lfdb_min_hash(pcard_dap_alg alg, unsigned key_bits, pcard_hash *min);
/* PCARD_OK when have is at least as strong as min; PCARD_E_UNSUPPORTED when weaker. */
pcard_err pcard_lfdb_hash_check(pcard_hash have, pcard_hash min);

/* Sign (MAC) msg: the DAP signature is over the LFDBH, a token over its token input. */
pcard_err pcard_dap_sign(const pcard_dapkey *k, const uint8_t *msg, size_t n, uint8_t *sig,
    size_t sig_cap, size_t *sig_len);
/* @retval PCARD_E_VERIFY the signature or MAC does not match */
pcard_err pcard_dap_verify(const pcard_dapkey *k, const uint8_t *msg, size_t n,
    const uint8_t *sig, size_t sig_len);

/*
 * DAP block, placed before C4 in the load file (CS 11.6.2.3):
 *   E2 L { 4F L SD-AID, C3 L signature }      (BER lengths)
 */
pcard_err pcard_dap_block_encode(const uint8_t *sd_aid, size_t aid_len, const uint8_t *sig,
    size_t sig_len, uint8_t *out, size_t out_cap, size_t *out_len);
/* Sign lfdbh with k and encode the block. */
pcard_err pcard_dap_block_make(const pcard_dapkey *k, const uint8_t *sd_aid, size_t aid_len,
    const uint8_t *lfdbh, size_t lfdbh_len, uint8_t *out, size_t out_cap, size_t *out_len);
/*
 * Read one DAP block from r (advanced past it); aid and sig borrow from r's bytes.
 * @retval PCARD_E_BAD_ENCODING not E2, or not exactly 4F then C3 inside
 * @retval PCARD_E_TRUNCATED input ends inside the block
 */
pcard_err pcard_dap_block_parse(pcard_rd *r, const uint8_t **aid, size_t *aid_len,
    const uint8_t **sig, size_t *sig_len);
/* Parse a whole block (block[0..n) and nothing else) and verify it over lfdbh. */
pcard_err pcard_dap_block_verify(const pcard_dapkey *k, const uint8_t *block, size_t n,
    const uint8_t *lfdbh, size_t lfdbh_len);

/*
 * Delegated management tokens (CS C.4). The token signs
 *   P1 || P2 || Lc || data
 * where data is the command data field up to, not including, the token length (INSTALL: the
 * LV chain before the token LV; DELETE: the TLVs before 9E) and Lc is its length, one byte
 * when below 256, else 00 || two bytes. For chained commands pass the unsegmented data and the
 * P1/P2 of the last command.
 */
#define PCARD_INS_INSTALL 0xE6
#define PCARD_INS_DELETE 0xE4

/* The bytes a token signs. */
pcard_err pcard_token_input(uint8_t p1, uint8_t p2, const uint8_t *data, size_t n,
    uint8_t *out, size_t out_cap, size_t *out_len);
/*
 * Sign a token over data and write the tokened data field: INSTALL: data || len || token
 * (BER length when over 127 bytes); DELETE: data || 9E len token. out must not overlap data.
 * ins is PCARD_INS_INSTALL or PCARD_INS_DELETE.
 */
pcard_err pcard_token_append(const pcard_dapkey *k, uint8_t ins, uint8_t p1, uint8_t p2,
    const uint8_t *data, size_t n, uint8_t *out, size_t out_cap, size_t *out_len);
/*
 * Find the token in a command data field: for INSTALL (P1 02 for load; 04, 08, 0C, 10, 20, 40)
 * the last element of the LV chain, for DELETE the 9E TLV, which must come last.
 * *signed_len is the length of the data the token covers; *tok borrows from data (NULL and 0
 * when the token is empty).
 * @retval PCARD_E_BAD_ENCODING the data field does not have the structure of its variant
 * @retval PCARD_E_UNSUPPORTED an INSTALL P1 combination not listed above
 */
pcard_err pcard_token_split(uint8_t ins, uint8_t p1, const uint8_t *data, size_t n,
    size_t *signed_len, const uint8_t **tok, size_t *tok_len);
/* Split the data field and verify its token. @retval PCARD_E_VERIFY missing or wrong token */
pcard_err pcard_token_verify(const pcard_dapkey *k, uint8_t ins, uint8_t p1, uint8_t p2,
    const uint8_t *data, size_t n);

/*
 * Receipts (CS C.5, 11.1.6). A response under delegated management is
 *   len || receipt || confirmation data
 * with confirmation data
 *   02 || counter(2) || len || SD unique data || [len || token id] || [len || token digest]
 * (SD unique data = the values of the SD's tags 42 and 45). The receipt is the AES-CMAC
 * (16 bytes) over confirmation data || operation context, the context being LV AIDs:
 *   load: ELF, SD; install / make selectable: ELF, instance; delete: AID;
 *   extradition: from-SD, AID, to-SD.
 */
typedef struct pcard_confirm {
	uint16_t counter;
	const uint8_t *sd_unique;	/* borrowed */
	size_t sd_unique_len;
	int has_token_id;		/* token id and digest are optional; a digest needs an id */
	const uint8_t *token_id;
	size_t token_id_len;
	int has_token_digest;
	const uint8_t *token_digest;
	size_t token_digest_len;
} pcard_confirm;

typedef enum pcard_receipt_op {
	PCARD_RECEIPT_LOAD = 1,		/* a = ELF AID, b = SD AID */
	PCARD_RECEIPT_INSTALL,		/* a = ELF AID, b = instance AID (also make selectable) */
	PCARD_RECEIPT_DELETE,		/* a = deleted AID */
	PCARD_RECEIPT_EXTRADITION,	/* a = from SD, b = AID, c = to SD */
} pcard_receipt_op;

#define PCARD_RECEIPT_BYTES 16
#define PCARD_RECEIPT_MAX_MSG 1024	/* confirmation data + context, bounded by the LVs */

pcard_err pcard_confirm_encode(const pcard_confirm *c, uint8_t *out, size_t out_cap,
    size_t *out_len);
/* Parse confirmation data (all of p[0..n)); pointers in c borrow from p. */
pcard_err pcard_confirm_parse(const uint8_t *p, size_t n, pcard_confirm *c);
/* The operation context; unused AIDs (by op) must be NULL with length 0. */
pcard_err pcard_receipt_context(pcard_receipt_op op, const uint8_t *a, size_t a_len,
    const uint8_t *b, size_t b_len, const uint8_t *c, size_t c_len, uint8_t *out,
    size_t out_cap, size_t *out_len);
/* The card's side: response data len || receipt || confirmation, the receipt made by k. */
pcard_err pcard_receipt_response(pcard_keys *keys, pcard_keyh h, const pcard_confirm *c,
    const uint8_t *ctx, size_t ctx_len, uint8_t *out, size_t out_cap, size_t *out_len);
/*
 * The host's side: parse a response data field and check its receipt against ctx. c (may
 * be NULL) receives the confirmation data, borrowed from resp.
 * @retval PCARD_E_VERIFY no receipt (response 00) or a receipt that does not match
 * @retval PCARD_E_BAD_ENCODING the response does not have the layout above
 */
pcard_err pcard_receipt_verify(pcard_keys *keys, pcard_keyh h, const uint8_t *resp, size_t n,
    const uint8_t *ctx, size_t ctx_len, pcard_confirm *c);

#endif
