/*
 * applet.h: native applets of postcard-sim, and what the card manager offers them.
 *
 * A CAP file carries Java Card bytecode, which the simulator does not interpret. Instead a
 * package AID is bound to a native applet compiled into the simulator: a load file whose
 * package AID equals an entry's `package` loads normally (LOAD parses it, checks imports and
 * memory, registers the ELF with the modules of its Applet component) and every instance
 * installed from it runs that entry's C code. A package no entry names runs the generic
 * applet (pcard_applet_generic): SELECT 9000, every other command 6D00.
 *
 * Adding a native applet: write src/card/applet_<name>.c defining a
 * `const pcard_applet_ops pcard_applet_<name>` and add `&pcard_applet_<name>` to the table
 * in src/card/applets.c (the only edit outside your file). docs/card-behaviour.md lists the
 * package and applet AIDs; `postcard cap build` makes a CAP with them.
 *
 * Threading: none. Every callback runs inside one pcard_card_apdu call.
 *
 * Transactions: every persistent change an applet makes (pcard_applet_set_data,
 * pcard_applet_set_data_version, pcard_applet_lock_card) is staged and committed by the card
 * manager together with the rest of the command, in ONE card-file commit before the response
 * leaves the card, and only when the callback returns a success or warning status word
 * (9000, 61xx, 62xx, 63xx). Any other status word discards the staged changes (as a Java Card
 * transaction aborted by an exception). When the commit itself fails the card answers 6581
 * and the in-memory state goes back to before the command.
 *
 * Secure messaging: the card manager owns it. On a logical channel where an application is
 * selected, INITIALIZE UPDATE and EXTERNAL AUTHENTICATE are processed by the card manager
 * with the key sets of the application's associated security domain (the role of GP's
 * SecureChannel interface); later commands with the SM bit in CLA are unwrapped before they
 * reach the applet, and its answer is wrapped (R-MAC / R-ENC) after. A MAC failure never
 * reaches the applet (6982, session dead). The applet sees the level the command came
 * through (pcard_applet_security_level) and decides what it requires.
 *
 * STORE DATA (CS 11.11) reaches store_data() in two ways:
 *   - through the security domain: after INSTALL [for personalization] names the
 *     application, STORE DATA sent to the SD (selected on that channel, under its secure
 *     channel) is delivered to the named application;
 *   - directly: STORE DATA (INS E2) while the application itself is selected, under a
 *     secure channel of its associated SD, is delivered to store_data() rather than
 *     process(); without a secure channel (level 00) it goes to process() like any command.
 * In both cases the card manager has already checked the block number (P2 in sequence from
 * 00, 6A86 otherwise; reset by a new session, a new selection and after the last block) and,
 * when P1 b7b6 = 11 ("all data encrypted"), decrypted the data with the SD's DEK of the open
 * session (SCP03: AES-CBC, ICV zero, under the static DEK; SCP02: 3DES-ECB under the session
 * DEK); the ciphertext length must be a multiple of the block size (6A80 otherwise). The data
 * is delivered without padding removal (GP leaves the padding to the application's format).
 * With b7b6 = 01 ("application-dependent encryption") the data arrives as sent and the
 * applet may call pcard_applet_sd_decrypt on the parts it knows to be encrypted.
 */
#ifndef PCARD_APPLET_H
#define PCARD_APPLET_H

#include <stddef.h>
#include <stdint.h>

#include "cardstate.h"
#include "postcard/apdu.h"
#include "postcard/err.h"

/* The card manager's context for one callback; opaque, valid only during that callback. */
typedef struct pcard_applet_env pcard_applet_env;

/* Response data an applet may write (out_cap is at least this). Longer answers are cut
 * into 61xx / GET RESPONSE pieces by the card manager when no R-MAC/R-ENC is active. */
#define PCARD_APPLET_RSP_MIN 256
/* Volatile scratch memory per selected instance (Java Card CLEAR_ON_DESELECT transient
 * memory): zeroed at each SELECT of the instance, at power off and at reset. */
#define PCARD_APPLET_VOLATILE_BYTES 256

typedef struct pcard_applet_ops {
	const char *name;		/* short, for traces and dumps: "datastore" */
	/* Package AID the applet is bound to; NULL/0 only in pcard_applet_generic. */
	const uint8_t *package;
	size_t package_len;
	uint8_t pkg_major, pkg_minor;	/* version of the package `postcard cap build` makes */
	/*
	 * Executable module (applet class) AIDs the package offers, for `postcard cap build`
	 * and docs. At LOAD the card takes the modules from the CAP's Applet component; an
	 * instance of any of them runs this table (pcard_applet_module tells which).
	 */
	size_t nmodules;
	const pcard_aid *modules;

	/*
	 * INSTALL [for install]: a new instance. params/n is the value of tag C9 of the install
	 * parameters (n may be 0). The instance's data blob starts empty, data_version 0; set
	 * them here to personalise defaults. Return 9000 to accept; any other SW refuses the
	 * INSTALL with that SW (6A80 for bad parameters is usual) and nothing is registered.
	 * May be NULL: accept always.
	 */
	uint16_t (*install)(pcard_applet_env *env, const uint8_t *params, size_t n);
	/*
	 * SELECT of the instance (by AID or as default). Write optional FCI/response data to
	 * out and return the SW: 9000 selects it; anything else refuses and the previous
	 * selection on the channel is gone (ISO 7816-4). May be NULL: 9000, no data.
	 */
	uint16_t (*select)(pcard_applet_env *env, uint8_t *out, size_t out_cap, size_t *out_len);
	/* The instance stops being selected on a channel (SELECT of another, MANAGE CHANNEL
	 * close). Not called at power off or reset. May be NULL. */
	void (*deselect)(pcard_applet_env *env);
	/*
	 * A command for the selected instance: plain (already unwrapped), CLA with the SM bit
	 * cleared and the logical channel bits as sent. Write response data to out (at most
	 * out_cap bytes) and return the SW. Must not be NULL.
	 */
	uint16_t (*process)(pcard_applet_env *env, const pcard_apdu *cmd, uint8_t *out,
	    size_t out_cap, size_t *out_len);
	/*
	 * STORE DATA for the instance (see the header comment): p1 and p2 as sent, data already
	 * decrypted when P1 b7b6 = 11. Return the SW; response data only when P1 b1 (case 4).
	 * May be NULL: STORE DATA is then answered 6A81 (function not supported).
	 */
	uint16_t (*store_data)(pcard_applet_env *env, uint8_t p1, uint8_t p2, const uint8_t *data,
	    size_t n, uint8_t *out, size_t out_cap, size_t *out_len);
} pcard_applet_ops;

/* ---- The table of native applets (src/card/applets.c) ---- */

/* Bound applets, NULL-terminated; the generic applet is not in it. */
extern const pcard_applet_ops *const pcard_applets[];
/* SELECT 9000 (no data), everything else 6D00; no store_data. */
extern const pcard_applet_ops pcard_applet_generic;
/* The entry bound to this package AID, or &pcard_applet_generic. Never NULL. */
const pcard_applet_ops *pcard_applet_find(const uint8_t *package, size_t package_len);

/* ---- What an applet may ask of the card manager (env valid during the callback) ---- */

/* The instance's AID and the executable module it was installed from; borrowed. */
const pcard_aid *pcard_applet_aid(const pcard_applet_env *env);
const pcard_aid *pcard_applet_module(const pcard_applet_env *env);
/* The instance's three privilege bytes (CS 11.1.2). */
void pcard_applet_privileges(const pcard_applet_env *env, uint8_t priv[3]);
/* The card's life cycle (PCARD_CARD_*). */
uint8_t pcard_applet_card_life_cycle(const pcard_applet_env *env);
/* Logical channel of the command (0..3). */
uint8_t pcard_applet_channel(const pcard_applet_env *env);

/*
 * Security level the current command came through: PCARD_SCP_CMAC / CDEC / RMAC / RENC bits
 * (scp.h) of the open session on this channel when the command was wrapped (CLA SM bit),
 * else 0. During install() it is the level of the INSTALL command (through the SD).
 */
uint8_t pcard_applet_security_level(const pcard_applet_env *env);

/*
 * The persistent data blob: current content, staged changes included; *p borrowed until the
 * next set_data or the end of the callback. Empty: *p NULL, *n 0.
 */
void pcard_applet_data(const pcard_applet_env *env, const uint8_t **p, size_t *n);
/*
 * Replace the data blob (copied; n up to PCARD_CS_DATA_MAX), staged until the command ends.
 * Growth is charged to the instance's non-volatile quota (C8 at INSTALL) and the card's
 * memory.
 * @retval PCARD_E_NOSPACE over PCARD_CS_DATA_MAX, the quota or free memory (answer 6A84)
 * @retval PCARD_E_NOMEM
 */
pcard_err pcard_applet_set_data(pcard_applet_env *env, const uint8_t *p, size_t n);
uint32_t pcard_applet_data_version(const pcard_applet_env *env);
void pcard_applet_set_data_version(pcard_applet_env *env, uint32_t v);

/* Volatile scratch: PCARD_APPLET_VOLATILE_BYTES bytes, zeroed at SELECT; borrowed. */
uint8_t *pcard_applet_volatile(pcard_applet_env *env);

/*
 * Lock the card (CS 6.6: SECURED -> CARD_LOCKED), staged and committed with the command.
 * After the command every channel where an application without the Final Application
 * privilege is selected loses its selection.
 * @return 9000 done (or the card already CARD_LOCKED); 6985 the instance lacks the Card Lock
 *         privilege or the card is not SECURED (then nothing changes)
 */
uint16_t pcard_applet_lock_card(pcard_applet_env *env);

/*
 * Decrypt n bytes (a multiple of the cipher block) with the DEK of the secure channel the
 * command came through (SCP03: AES-CBC ICV 0 under the static DEK; SCP02: 3DES-ECB under the
 * session DEK); for STORE DATA with application-dependent encryption. out may equal in.
 * @retval PCARD_E_STATE no open secure channel on the command's channel
 * @retval PCARD_E_INVALID_ARG n not a multiple of the block, or over out_cap
 */
pcard_err pcard_applet_sd_decrypt(pcard_applet_env *env, const uint8_t *in, size_t n,
    uint8_t *out, size_t out_cap);

#endif
