/*
 * hsm.c: the PKCS#11 module, the session and the key table of the HSM provider (hsm.h).
 *
 * Modules are loaded with dlopen. C_Initialize is called once per module per process (with
 * CKF_OS_LOCKING_OK) and C_Finalize when the last pcard_hsm using that module closes: a small
 * reference-counted registry under a process-wide mutex keeps several pcard_hsm on one module
 * from finalising each other. A module already initialised by someone else in the process
 * (CKR_CRYPTOKI_ALREADY_INITIALIZED) is used but never finalised here.
 *
 * Key handles are (generation << 16) | (slot index + 1), as in keys_mem.c: a stale handle no
 * longer matches its slot's generation and is refused.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hsm_int.h"

#define MAX_MODULES 8

typedef struct module_ref {
	CK_FUNCTION_LIST_PTR fl;
	unsigned refs;
	uint8_t owned;		/* we called C_Initialize successfully: we finalise */
} module_ref;

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static module_ref reg[MAX_MODULES];

pcard_err
pcard_hsm_rv(CK_RV rv)
{
	switch (rv) {
	case CKR_OK:
		return PCARD_OK;
	case CKR_HOST_MEMORY:
		return PCARD_E_NOMEM;
	case CKR_BUFFER_TOO_SMALL:
		return PCARD_E_NOSPACE;
	case CKR_PIN_INCORRECT:
	case CKR_PIN_LOCKED:
	case CKR_PIN_INVALID:
	case CKR_PIN_LEN_RANGE:
		return PCARD_E_AUTH;
	case CKR_MECHANISM_INVALID:
	case CKR_MECHANISM_PARAM_INVALID:
		return PCARD_E_UNSUPPORTED;
	case CKR_KEY_HANDLE_INVALID:
	case CKR_KEY_SIZE_RANGE:
	case CKR_KEY_TYPE_INCONSISTENT:
	case CKR_KEY_FUNCTION_NOT_PERMITTED:
	case CKR_KEY_NOT_WRAPPABLE:
	case CKR_KEY_UNEXTRACTABLE:
	case CKR_ATTRIBUTE_SENSITIVE:
	case CKR_ATTRIBUTE_TYPE_INVALID:	/* e.g. CKA_KEY_TYPE of a data object */
	case CKR_OBJECT_HANDLE_INVALID:
	case CKR_WRAPPING_KEY_HANDLE_INVALID:
	case CKR_WRAPPING_KEY_TYPE_INCONSISTENT:
		return PCARD_E_KEY;
	case CKR_DATA_LEN_RANGE:
	case CKR_ARGUMENTS_BAD:
		return PCARD_E_INVALID_ARG;
	default:
		return PCARD_E_CRYPTO;
	}
}

/* Initialise fl once for the process; count the user. */
static pcard_err
module_acquire(CK_FUNCTION_LIST_PTR fl)
{
	CK_C_INITIALIZE_ARGS args;
	size_t i, free_ix = MAX_MODULES;
	CK_RV rv;
	pcard_err err = PCARD_E_INTERNAL;

	pthread_mutex_lock(&reg_mu);
	for (i = 0; i < MAX_MODULES; i++) {
		if (reg[i].refs > 0 && reg[i].fl == fl) {
			reg[i].refs++;
			err = PCARD_OK;
			goto out;
		}
		if (reg[i].refs == 0 && free_ix == MAX_MODULES)
			free_ix = i;
	}
	if (free_ix == MAX_MODULES) {
		err = PCARD_E_NOSPACE;
		goto out;
	}
	memset(&args, 0, sizeof args);
	args.flags = CKF_OS_LOCKING_OK;
	rv = fl->C_Initialize(&args);
	if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		err = pcard_hsm_rv(rv);
		goto out;
	}
	reg[free_ix].fl = fl;
	reg[free_ix].refs = 1;
	reg[free_ix].owned = rv == CKR_OK;
	err = PCARD_OK;
out:
	pthread_mutex_unlock(&reg_mu);
	return err;
}

static void
module_release(CK_FUNCTION_LIST_PTR fl)
{
	size_t i;

	pthread_mutex_lock(&reg_mu);
	for (i = 0; i < MAX_MODULES; i++) {
		if (reg[i].refs > 0 && reg[i].fl == fl) {
			if (--reg[i].refs == 0 && reg[i].owned)
				fl->C_Finalize(NULL);
			break;
		}
	}
	pthread_mutex_unlock(&reg_mu);
}

/* The PIN from p (given, file, environment) into pin, NUL-terminated. */
static pcard_err
get_pin(const pcard_hsm_params *p, char pin[PCARD_HSM_PIN_MAX + 1])
{
	const char *src = p->pin;
	char buf[PCARD_HSM_PIN_MAX + 2];
	FILE *f = NULL;
	size_t n;
	pcard_err err = PCARD_E_INTERNAL;

	if (src == NULL && p->pin_file != NULL) {
		if ((f = fopen(p->pin_file, "r")) == NULL) {
			err = PCARD_E_INVALID_ARG;
			goto out;
		}
		if (fgets(buf, sizeof buf, f) == NULL) {
			err = PCARD_E_INVALID_ARG;
			goto out;
		}
		buf[strcspn(buf, "\r\n")] = '\0';
		src = buf;
	}
	if (src == NULL)
		src = getenv(p->pin_env != NULL ? p->pin_env : PCARD_HSM_PIN_ENV);
	if (src == NULL || (n = strlen(src)) == 0 || n > PCARD_HSM_PIN_MAX) {
		err = PCARD_E_INVALID_ARG;
		goto out;
	}
	memcpy(pin, src, n + 1);
	err = PCARD_OK;
out:
	if (f != NULL)
		fclose(f);
	pcard_wipe(buf, sizeof buf);
	return err;
}

/* The slot holding the token labelled label (padded with spaces to 32 bytes). */
static pcard_err
find_slot(pcard_hsm *h, const char *label, CK_SLOT_ID *out)
{
	CK_SLOT_ID ids[64];
	CK_ULONG n = 64, i;
	CK_TOKEN_INFO ti;
	unsigned char want[32];
	size_t ll = strlen(label);
	CK_RV rv;

	if (ll > sizeof want)
		return PCARD_E_NOT_FOUND;
	memset(want, ' ', sizeof want);
	memcpy(want, label, ll);
	if ((rv = P11(h, other, C_GetSlotList(CK_TRUE, ids, &n))) != CKR_OK)
		return pcard_hsm_rv(rv);
	for (i = 0; i < n; i++) {
		if (P11(h, other, C_GetTokenInfo(ids[i], &ti)) != CKR_OK)
			continue;
		if (memcmp(ti.label, want, sizeof want) == 0) {
			*out = ids[i];
			return PCARD_OK;
		}
	}
	return PCARD_E_NOT_FOUND;
}

/* PCARD_OK when id is a slot with a token. */
static pcard_err
check_slot(pcard_hsm *h, CK_SLOT_ID id)
{
	CK_SLOT_ID ids[64];
	CK_ULONG n = 64, i;
	CK_RV rv;

	if ((rv = P11(h, other, C_GetSlotList(CK_TRUE, ids, &n))) != CKR_OK)
		return pcard_hsm_rv(rv);
	for (i = 0; i < n; i++)
		if (ids[i] == id)
			return PCARD_OK;
	return PCARD_E_NOT_FOUND;
}

pcard_err
pcard_hsm_open(const pcard_hsm_params *p, pcard_hsm **out)
{
	pcard_hsm *h = NULL;
	CK_C_GetFunctionList getfl;
	CK_SLOT_ID slot = 0;
	char pin[PCARD_HSM_PIN_MAX + 1];
	uint8_t acquired = 0, mu = 0;
	CK_RV rv;
	pcard_err err = PCARD_E_INTERNAL;

	if (out != NULL)
		*out = NULL;
	if (p == NULL || out == NULL || p->max_keys > HSM_MAX_SLOTS)
		return PCARD_E_INVALID_ARG;
	if ((err = get_pin(p, pin)) != PCARD_OK)
		goto out;
	if ((h = calloc(1, sizeof *h)) == NULL) {
		err = PCARD_E_NOMEM;
		goto out;
	}
	h->nslots = p->max_keys != 0 ? p->max_keys : PCARD_HSM_DEFAULT_MAX_KEYS;
	if ((h->slots = calloc(h->nslots, sizeof *h->slots)) == NULL) {
		err = PCARD_E_NOMEM;
		goto out;
	}
	if (pthread_mutex_init(&h->mu, NULL) != 0)
		goto out;
	mu = 1;
	/* never unmapped: modules keep threads and atexit handlers, and may be reopened */
	h->dl = dlopen(p->module != NULL ? p->module : PCARD_HSM_DEFAULT_MODULE,
	    RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
	if (h->dl == NULL) {
		err = PCARD_E_IO;
		goto out;
	}
	*(void **)&getfl = dlsym(h->dl, "C_GetFunctionList");
	if (getfl == NULL || getfl(&h->fl) != CKR_OK || h->fl == NULL) {
		err = PCARD_E_IO;
		goto out;
	}
	if ((err = module_acquire(h->fl)) != PCARD_OK)
		goto out;
	acquired = 1;
	if (p->token_label != NULL) {
		if ((err = find_slot(h, p->token_label, &slot)) != PCARD_OK)
			goto out;
	} else {
		/* checked here: some modules throw (C++) inside C_OpenSession on unknown ids */
		if ((err = check_slot(h, p->slot_id)) != PCARD_OK)
			goto out;
		slot = p->slot_id;
	}
	rv = P11(h, other, C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL,
	    &h->sess));
	if (rv != CKR_OK) {
		err = rv == CKR_SLOT_ID_INVALID || rv == CKR_TOKEN_NOT_PRESENT ?
		    PCARD_E_NOT_FOUND : pcard_hsm_rv(rv);
		goto out;
	}
	h->have_sess = 1;
	rv = P11(h, other, C_Login(h->sess, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin)));
	if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
		err = pcard_hsm_rv(rv);
		if (err == PCARD_E_CRYPTO && rv == CKR_USER_PIN_NOT_INITIALIZED)
			err = PCARD_E_AUTH;
		goto out;
	}
	h->pub.ops = &pcard_hsm_keys_ops;
	h->pub.ctx = h;
	*out = h;
	h = NULL;
	err = PCARD_OK;
out:
	pcard_wipe(pin, sizeof pin);
	if (h != NULL) {
		if (h->have_sess)
			h->fl->C_CloseSession(h->sess);
		if (acquired)
			module_release(h->fl);
		if (h->dl != NULL)
			dlclose(h->dl);
		if (mu)
			pthread_mutex_destroy(&h->mu);
		free(h->slots);
		free(h);
	}
	return err;
}

hslot *
pcard_hsm_lookup(pcard_hsm *h, pcard_keyh k)
{
	size_t ix = k & 0xFFFFu;
	hslot *s;

	if (ix == 0 || ix > h->nslots)
		return NULL;
	s = &h->slots[ix - 1];
	if (!s->used || s->gen != (uint16_t)(k >> 16))
		return NULL;
	return s;
}

pcard_err
pcard_hsm_alloc(pcard_hsm *h, hslot **out, pcard_keyh *k)
{
	size_t i;

	for (i = 0; i < h->nslots; i++) {
		hslot *s = &h->slots[i];
		uint16_t gen;

		if (s->used)
			continue;
		gen = s->gen != 0 ? s->gen : 1;
		memset(s, 0, sizeof *s);
		s->gen = gen;
		s->used = 1;
		*out = s;
		*k = ((pcard_keyh)gen << 16) | (pcard_keyh)(i + 1);
		return PCARD_OK;
	}
	return PCARD_E_NOSPACE;
}

void
pcard_hsm_drop(pcard_hsm *h, hslot *s)
{
	uint16_t gen = s->gen;

	if (s->kind == HSLOT_SESSION && s->obj != CK_INVALID_HANDLE)
		P11(h, destroy, C_DestroyObject(h->sess, s->obj));
	pcard_wipe(s, sizeof *s);
	s->gen = (uint16_t)(gen + 1 != 0 ? gen + 1 : 1);
}

/* Bytes of the order of the curve named by DER OID params (P-256, P-384, P-521), or 0. */
static size_t
ec_order_bytes(const uint8_t *der, size_t n)
{
	static const uint8_t p256[] = { 0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01,
		0x07 };
	static const uint8_t p384[] = { 0x06, 0x05, 0x2B, 0x81, 0x04, 0x00, 0x22 };
	static const uint8_t p521[] = { 0x06, 0x05, 0x2B, 0x81, 0x04, 0x00, 0x23 };

	if (n == sizeof p256 && memcmp(der, p256, n) == 0)
		return 32;
	if (n == sizeof p384 && memcmp(der, p384, n) == 0)
		return 48;
	if (n == sizeof p521 && memcmp(der, p521, n) == 0)
		return 66;
	return 0;
}

pcard_err
pcard_hsm_describe(pcard_hsm *h, CK_OBJECT_HANDLE obj, hslot *s)
{
	CK_OBJECT_CLASS cls;
	CK_KEY_TYPE kt;
	CK_ULONG vlen = 0;
	uint8_t big[1024];
	CK_ATTRIBUTE a[2] = {
		{ CKA_CLASS, &cls, sizeof cls },
		{ CKA_KEY_TYPE, &kt, sizeof kt },
	};
	CK_ATTRIBUTE b = { 0, big, sizeof big };
	CK_RV rv;

	if ((rv = P11(h, other, C_GetAttributeValue(h->sess, obj, a, 2))) != CKR_OK)
		return pcard_hsm_rv(rv);
	s->obj = obj;
	s->ckk = kt;
	s->kind = HSLOT_TOKEN;
	if (cls == CKO_SECRET_KEY) {
		if (kt == CKK_AES) {
			CK_ATTRIBUTE l = { CKA_VALUE_LEN, &vlen, sizeof vlen };

			if ((rv = P11(h, other, C_GetAttributeValue(h->sess, obj, &l, 1))) !=
			    CKR_OK)
				return pcard_hsm_rv(rv);
			s->type = PCARD_KEY_AES;
			s->len = vlen;
		} else if (kt == CKK_DES2 || kt == CKK_DES3) {
			s->type = PCARD_KEY_DES3;
			s->len = kt == CKK_DES2 ? 16 : 24;
		} else {
			return PCARD_E_KEY;
		}
		return PCARD_OK;
	}
	if (cls != CKO_PRIVATE_KEY)
		return PCARD_E_KEY;
	s->type = PCARD_KEY_PKEY;
	if (kt == CKK_RSA) {
		b.type = CKA_MODULUS;
		if ((rv = P11(h, other, C_GetAttributeValue(h->sess, obj, &b, 1))) != CKR_OK)
			return pcard_hsm_rv(rv);
		s->len = b.ulValueLen;
		return PCARD_OK;
	}
	if (kt == CKK_EC) {
		b.type = CKA_EC_PARAMS;
		if ((rv = P11(h, other, C_GetAttributeValue(h->sess, obj, &b, 1))) != CKR_OK)
			return pcard_hsm_rv(rv);
		if ((s->len = ec_order_bytes(big, b.ulValueLen)) == 0)
			return PCARD_E_UNSUPPORTED;
		return PCARD_OK;
	}
	return PCARD_E_UNSUPPORTED;
}

/* Destroy every session object and forget every key. Caller holds the mutex. */
static void
drop_all(pcard_hsm *h)
{
	size_t i;

	for (i = 0; i < h->nslots; i++)
		if (h->slots[i].used)
			pcard_hsm_drop(h, &h->slots[i]);
}

void
pcard_hsm_close(pcard_hsm *h)
{
	if (h == NULL)
		return;
	pthread_mutex_lock(&h->mu);
	drop_all(h);
	if (h->have_sess)
		h->fl->C_CloseSession(h->sess);
	pthread_mutex_unlock(&h->mu);
	module_release(h->fl);
	dlclose(h->dl);
	pthread_mutex_destroy(&h->mu);
	pcard_wipe(h->slots, h->nslots * sizeof *h->slots);
	free(h->slots);
	pcard_wipe(h, sizeof *h);
	free(h);
}

pcard_keys *
pcard_hsm_keys(pcard_hsm *h)
{
	return h != NULL ? &h->pub : NULL;
}

void
pcard_hsm_free_keys(void *ctx)
{
	pcard_hsm *h = ctx;

	pthread_mutex_lock(&h->mu);
	drop_all(h);
	pthread_mutex_unlock(&h->mu);
}

void
pcard_hsm_get_stats(pcard_hsm *h, pcard_hsm_stats *out)
{
	pthread_mutex_lock(&h->mu);
	*out = h->st;
	pthread_mutex_unlock(&h->mu);
}

void
pcard_hsm_reset_stats(pcard_hsm *h)
{
	pthread_mutex_lock(&h->mu);
	memset(&h->st, 0, sizeof h->st);
	pthread_mutex_unlock(&h->mu);
}

void *
pcard_hsm_p11(pcard_hsm *h, unsigned long *session)
{
	if (session != NULL)
		*session = h->sess;
	return h->fl;
}

unsigned long
pcard_hsm_object(pcard_hsm *h, pcard_keyh k)
{
	hslot *s;
	unsigned long obj = 0;

	pthread_mutex_lock(&h->mu);
	if ((s = pcard_hsm_lookup(h, k)) != NULL)
		obj = s->obj;
	pthread_mutex_unlock(&h->mu);
	return obj;
}
