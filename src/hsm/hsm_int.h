/*
 * hsm_int.h: internals shared by hsm.c (module, session, key table) and hsm_keys.c (the
 * provider operations). Not for other modules.
 */
#ifndef POSTCARD_HSM_INT_H
#define POSTCARD_HSM_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <p11-kit/pkcs11.h>

#include "hsm.h"
#include "postcard/crypto.h"

#define HSM_RECIPE_MAX 64	/* longest derivation data remembered for a twin */
#define HSM_MAX_SLOTS 0xFFFFu

/* Labels of the session objects this layer creates (docs/keys.md lists them). */
#define HSM_LABEL_DERIVED "pcard-derived"
#define HSM_LABEL_TWIN_WRAP "pcard-twin-wrap"	/* sensitive, extractable: C_WrapKey only */
#define HSM_LABEL_TWIN_READ "pcard-twin-read"	/* readable: value copied to server memory */

typedef enum hslot_kind {
	HSLOT_TOKEN = 1,	/* a token object (master key): forgotten on release, never destroyed */
	HSLOT_SESSION,		/* a session object this provider derived: destroyed on release */
} hslot_kind;

typedef struct hslot {
	uint16_t gen;		/* bumped on release; part of the handle */
	uint8_t used;
	uint8_t kind;		/* hslot_kind */
	pcard_keytype type;
	size_t len;		/* key bytes; PKEY: signature component size (RSA modulus, EC order) */
	CK_OBJECT_HANDLE obj;
	CK_KEY_TYPE ckk;
	/* How a session key was derived, to derive its twin (docs/keys.md). */
	uint8_t has_recipe;
	pcard_keyh base;
	pcard_derive_mech mech;
	uint8_t data[HSM_RECIPE_MAX];
	size_t n, ctr_pos;
	/* CMAC subkey source L = AES_K(0^16) of an AES key, once computed; wiped on release. */
	uint8_t has_l;
	uint8_t l[16];
	/* Key bytes in server memory (SCP02 retail-MAC keys only); wiped on release. */
	uint8_t has_host;
	uint8_t host[PCARD_MAX_SYMKEY_BYTES];
	char label[PCARD_HSM_LABEL_MAX];
} hslot;

struct pcard_hsm {
	pcard_keys pub;		/* the provider; ctx points back here */
	pthread_mutex_t mu;
	void *dl;
	CK_FUNCTION_LIST_PTR fl;
	CK_SESSION_HANDLE sess;
	uint8_t have_sess;
	pcard_hsm_stats st;
	size_t nslots;
	hslot *slots;
};

/* Count one PKCS#11 call in category cat of h->st and make it. */
#define P11(h, cat, call) ((h)->st.calls++, (h)->st.cat++, (h)->fl->call)

extern const pcard_keys_ops pcard_hsm_keys_ops;

/* A PKCS#11 return value as a pcard_err. */
pcard_err pcard_hsm_rv(CK_RV rv);
/* The live slot behind handle k, or NULL. Caller holds the mutex. */
hslot *pcard_hsm_lookup(pcard_hsm *h, pcard_keyh k);
/* Claim a free slot (fields zeroed, used set); PCARD_E_NOSPACE when the table is full. */
pcard_err pcard_hsm_alloc(pcard_hsm *h, hslot **s, pcard_keyh *k);
/* Forget a slot: destroy its object if it is a session object, wipe it. */
void pcard_hsm_drop(pcard_hsm *h, hslot *s);
/* ops->free: release every key, keep h open (hsm.h). */
void pcard_hsm_free_keys(void *ctx);
/* Fill s (kind, type, len, ckk) from the attributes of a token object. */
pcard_err pcard_hsm_describe(pcard_hsm *h, CK_OBJECT_HANDLE obj, hslot *s);

#endif
