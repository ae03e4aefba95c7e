/*
 * hsm.h: the key provider of keys.h over a PKCS#11 module (SoftHSMv2 by default), for
 * postcardd. docs/keys.md is the companion: key hierarchy, labels, the templates this layer
 * sends, and every case where key bytes pass through server memory.
 *
 * The module is loaded with dlopen and C_GetFunctionList; nothing links a PKCS#11 library.
 * One pcard_hsm holds one logged-in session on one token, its key table and a mutex: every
 * call (provider operations included) takes the mutex, so one pcard_hsm may be shared by
 * threads, which then take turns. SoftHSM's symmetric operations do not get faster with more
 * threads (platform-facts.md); open one pcard_hsm per worker thread if a module does.
 *
 * Keys:
 *  - master keys are token objects (CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE, not
 *    CKA_EXTRACTABLE) created by pcard_hsm_import_secret or pcard_hsm_generate_secret, or
 *    made by other tools; the provider finds them by CKA_LABEL (pcard_keys_find);
 *  - every key the provider derives (card keys, session keys) is a session object created
 *    with CKA_TOKEN FALSE, CKA_SENSITIVE TRUE, CKA_EXTRACTABLE FALSE, destroyed by
 *    pcard_keys_release; the documented exceptions (docs/keys.md) carry a label starting
 *    with "pcard-twin-" and live inside one provider call.
 *
 * The PIN is never logged nor kept after C_Login (wiped).
 */
#ifndef POSTCARD_HSM_H
#define POSTCARD_HSM_H

#include <stddef.h>
#include <stdint.h>

#include "postcard/err.h"
#include "postcard/keys.h"

#define PCARD_HSM_DEFAULT_MODULE "/usr/lib/softhsm/libsofthsm2.so"
#define PCARD_HSM_PIN_ENV "PCARD_HSM_PIN"	/* default environment variable of the PIN */
#define PCARD_HSM_PIN_MAX 128
#define PCARD_HSM_LABEL_MAX 64		/* including the NUL */
#define PCARD_HSM_DEFAULT_MAX_KEYS 256

typedef struct pcard_hsm pcard_hsm;

typedef struct pcard_hsm_params {
	const char *module;		/* path of the PKCS#11 module; NULL: the default above */
	const char *token_label;	/* token to use by label; NULL: use slot_id */
	unsigned long slot_id;		/* used when token_label is NULL */
	/*
	 * The user PIN, first found of: pin, the first line of pin_file, the environment
	 * variable pin_env (NULL: PCARD_HSM_PIN). Prefer a file or the environment: argv is
	 * visible to every local user.
	 */
	const char *pin;
	const char *pin_file;
	const char *pin_env;
	size_t max_keys;		/* key table size; 0: PCARD_HSM_DEFAULT_MAX_KEYS */
} pcard_hsm_params;

/*
 * Load the module, initialise it (shared with other pcard_hsm of the same module in the
 * process), find the token, open a read-write session and log in as user.
 * @retval PCARD_E_IO the module cannot be loaded or lacks C_GetFunctionList
 * @retval PCARD_E_NOT_FOUND no token with that label, or no such slot
 * @retval PCARD_E_AUTH the PIN is wrong (or locked)
 * @retval PCARD_E_INVALID_ARG no PIN anywhere, PIN file unreadable, PIN over
 *         PCARD_HSM_PIN_MAX, max_keys out of range
 * @retval PCARD_E_CRYPTO any other PKCS#11 failure
 */
pcard_err pcard_hsm_open(const pcard_hsm_params *p, pcard_hsm **out);

/* Destroy every session object, close the session, finalise the module when this was its
 * last user, unload it, wipe and free. NULL is fine. */
void pcard_hsm_close(pcard_hsm *h);

/*
 * The key provider over this HSM, owned by h (valid until pcard_hsm_close). Calling
 * pcard_keys_free on it releases every key it holds (session objects destroyed, token
 * objects forgotten) but leaves h open.
 */
pcard_keys *pcard_hsm_keys(pcard_hsm *h);

/* What a master key may be used for, on top of CKA_DERIVE (always set). */
#define PCARD_HSM_USE_MASTER 0u	/* derive only (3DES); derive, encrypt, sign (AES: the CMAC
				 * KDF needs AES_K(0), see docs/keys.md) */
#define PCARD_HSM_USE_STATIC 1u	/* also a card's static key used as is (template "none"):
				 * adds CKA_ENCRYPT, CKA_SIGN and CKA_WRAP (the DEK) */

/*
 * Create a token secret key from bytes (copied into the HSM; the caller wipes its copy):
 * CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE TRUE, CKA_EXTRACTABLE FALSE, usage as above.
 * type PCARD_KEY_AES (16, 24, 32 bytes) or PCARD_KEY_DES3 (16, 24). *out (may be NULL) is
 * its handle in pcard_hsm_keys(h).
 * @retval PCARD_E_INVALID_ARG label empty, too long, or already on the token
 * @retval PCARD_E_KEY type or length not allowed
 */
pcard_err pcard_hsm_import_secret(pcard_hsm *h, const char *label, pcard_keytype type,
    const uint8_t *key, size_t len, unsigned usage, pcard_keyh *out);

/* Same as pcard_hsm_import_secret, the value generated inside the HSM. */
pcard_err pcard_hsm_generate_secret(pcard_hsm *h, const char *label, pcard_keytype type,
    size_t len, unsigned usage, pcard_keyh *out);

/* Destroy the token object(s) with this label (tests, demo reset). PCARD_E_NOT_FOUND if none. */
pcard_err pcard_hsm_destroy_token_key(pcard_hsm *h, const char *label);

/* PKCS#11 calls made by this pcard_hsm since open or the last reset (bench, tests). */
typedef struct pcard_hsm_stats {
	uint64_t calls;		/* every C_* call */
	uint64_t derive;	/* C_DeriveKey */
	uint64_t sign;		/* C_SignInit + C_Sign */
	uint64_t crypt;		/* C_EncryptInit, C_Encrypt, C_DecryptInit, C_Decrypt */
	uint64_t destroy;	/* C_DestroyObject */
	uint64_t other;		/* find, attributes, wrap, create, generate */
	uint64_t host_key_reads; /* times key bytes were read into server memory (docs/keys.md) */
} pcard_hsm_stats;

void pcard_hsm_get_stats(pcard_hsm *h, pcard_hsm_stats *out);
void pcard_hsm_reset_stats(pcard_hsm *h);

/*
 * For tests and diagnostics: the module's CK_FUNCTION_LIST (as void *), the session handle
 * and the PKCS#11 object behind key handle k (0 when unknown). Calls made through these are
 * not counted and do not take the mutex.
 */
void *pcard_hsm_p11(pcard_hsm *h, unsigned long *session);
unsigned long pcard_hsm_object(pcard_hsm *h, pcard_keyh k);

#endif
