/*
 * natives.h: what postcard-sim's own native applets (datastore, purse, hotp) share: their
 * AIDs, the CAP imports `postcard-sim cap` writes for them, the STORE DATA message reader they
 * all use, and the rule by which `postcard-sim dump` hides the secret part of their data.
 *
 * AIDs (docs/postcard-sim.md): the proprietary RID prefix F0 followed by "postcard" in ASCII,
 *
 *     F0 70 6F 73 74 63 61 72 64 | nn        package (10 bytes), nn = 01 datastore,
 *                                               02 purse, 03 hotp; version 1.0
 *     F0 70 6F 73 74 63 61 72 64 | nn 01     the applet class (module, 11 bytes); the
 *                                               instance AID defaults to it
 *
 * A first byte F marks a proprietary (unregistered) RID (ISO/IEC 7816-5), so these AIDs
 * cannot collide with a registered provider's (GlobalPlatform's A000000151 included).
 *
 * STORE DATA messages (all three applets): one command carries one complete message of
 * BER-TLV objects; the applets do not reassemble blocks (each block is applied on its own,
 * so a message is at most one command: 255 bytes plain, 239 encrypted under SCP03).
 *
 *   P1 b7b6 = 00  the data field is the TLV objects, nothing else
 *   P1 b7b6 = 11  the card manager has decrypted the field with the SD's DEK; the plain text is
 *                 the TLV objects followed by ISO/IEC 7816-4 padding (80 00.., always present,
 *                 so a multiple of the block size); wrong padding is 6A80
 *   P1 b7b6 = 01  (application-dependent encryption) is not used by these applets: 6A86
 *   P1 b5b4       00 or 10 (BER-TLV); 01 (DGI) and 11 are 6A86
 */
#ifndef PCARD_NATIVES_H
#define PCARD_NATIVES_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "applet.h"
#include "cardstate.h"
#include "postcard/bytes.h"
#include "postcard/cap.h"
#include "postcard/capbuild.h"

#define PCARD_NATIVE_RID_PREFIX 0xF0, 0x70, 0x6F, 0x73, 0x74, 0x63, 0x61, 0x72, 0x64
#define PCARD_NATIVE_PREFIX_LEN 9
#define PCARD_NATIVE_PKG_LEN 10
#define PCARD_NATIVE_MODULE_LEN 11

/* Status words the native applets answer (ISO/IEC 7816-4, GP CS 11.1.3). */
enum {
	PCARD_NSW_OK = 0x9000,
	PCARD_NSW_WRONG_LENGTH = 0x6700,
	PCARD_NSW_SECURITY = 0x6982,
	PCARD_NSW_BLOCKED = 0x6983,
	PCARD_NSW_CONDITIONS = 0x6985,
	PCARD_NSW_WRONG_DATA = 0x6A80,
	PCARD_NSW_NO_MEMORY = 0x6A84,
	PCARD_NSW_WRONG_P1P2 = 0x6A86,
	PCARD_NSW_NOT_FOUND = 0x6A88,
	PCARD_NSW_INS = 0x6D00,
	PCARD_NSW_CLA = 0x6E00,
	PCARD_NSW_INTERNAL = 0x6F00,
};

extern const pcard_applet_ops pcard_applet_datastore;
extern const pcard_applet_ops pcard_applet_purse;
extern const pcard_applet_ops pcard_applet_hotp;

/* The packages every native CAP imports: java.lang 1.0 and javacard.framework 1.3. */
#define PCARD_NATIVE_NIMPORTS 2
extern const pcard_cap_import pcard_native_imports[PCARD_NATIVE_NIMPORTS];

/* The native applet named name ("datastore", "purse", "hotp"), or NULL. */
const pcard_applet_ops *pcard_native_find(const char *name);

/*
 * The capbuild parameters of the CAP of native applet a (what `postcard-sim cap` writes): its
 * package AID and version, its modules as the CAP's applets (copied into mods, which holds
 * mods_cap entries; p->applets points there), the native imports. p is cleared first, so
 * package_path and code_size are left for the caller.
 * @retval PCARD_E_NOSPACE a has more than mods_cap modules
 */
pcard_err pcard_native_cap_params(const pcard_applet_ops *a, pcard_cap_aid *mods,
    size_t mods_cap, pcard_capbuild_params *p);

/*
 * The TLV objects of a STORE DATA message (see the header comment): checks P1, removes the
 * padding of an encrypted message (constant time) and sets *msg to a reader over exactly the
 * objects (borrowed from data). *encrypted is 1 when P1 b7b6 = 11.
 * @return 9000, or the SW to answer: 6A86 (P1 coding not used), 6A80 (bad padding, or an
 *         empty message)
 */
uint16_t pcard_native_store_msg(uint8_t p1, const uint8_t *data, size_t n, pcard_rd *msg,
    int *encrypted);

/*
 * The next TLV object of a message from pcard_native_store_msg: msg advances past it, *tag is
 * its tag and *v, *vn its value (borrowed from msg's bytes).
 * @return 9000, or 6A80 when msg does not start with a whole BER-TLV object
 */
uint16_t pcard_native_next_item(pcard_rd *msg, uint32_t *tag, const uint8_t **v, size_t *vn);

/*
 * Replace the instance's data blob (pcard_applet_set_data) and give the SW to answer: 9000,
 * 6A84 when the card's memory cannot hold it, 6F00 for any other failure.
 */
uint16_t pcard_native_set_data(pcard_applet_env *env, const uint8_t *blob, size_t n);

/*
 * How many leading bytes of an instance's data blob `postcard-sim dump` may print: the hotp
 * and purse blobs end with a secret (the HMAC key, the debit MAC key) that the dump shows as
 * "<n bytes redacted>"; every other blob (datastore, foreign packages) is shown whole.
 * elf is the instance's load file (package) AID.
 */
size_t pcard_native_public_len(const pcard_aid *elf, const uint8_t *data, size_t n);

/* Bytes of the hotp and purse blobs before their secret (the layouts are drawn in
 * applet_hotp.c and applet_purse.c). */
#define PCARD_HOTP_PUBLIC_BYTES 11
#define PCARD_PURSE_PUBLIC_BYTES 25

/*
 * Adapt root, the pcard_cardstate_json view of cs, for `postcard-sim dump`: each application
 * gets "applet" (the native applet's name, "generic", or null for a security domain), and
 * when pcard_native_public_len is below the data length, "data" keeps only the public part
 * and "data_redacted" counts the bytes left out ("data_sha256" still covers the whole blob).
 * @retval PCARD_E_INTERNAL root is not the view of cs
 * @retval PCARD_E_NOMEM
 */
pcard_err pcard_native_json_redact(const pcard_cardstate *cs, json_t *root);

/* Big-endian helpers for the blobs (no bounds: callers check the lengths). */
uint32_t pcard_native_get32(const uint8_t *p);
void pcard_native_put32(uint8_t *p, uint32_t v);

#endif
