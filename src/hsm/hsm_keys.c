/*
 * hsm_keys.c: the key provider operations (keys.h) over PKCS#11 objects, and master-key
 * creation. docs/keys.md explains every choice below; the short version:
 *
 *   derive DES3_ECB / DES3_CBC  C_DeriveKey CKM_DES3_{ECB,CBC}_ENCRYPT_DATA
 *   derive AES_KDF              SP 800-108 with CMAC, which SoftHSM cannot derive: for each
 *                               counter the host computes X_i, the last CBC-MAC input of
 *                               CMAC_i (from L = AES_K(0) and the CBC chain of the leading
 *                               blocks, both C_Encrypt under K), then one C_DeriveKey
 *                               CKM_AES_ECB_ENCRYPT_DATA over X_1 || X_2 .. gives
 *                               AES_K(X_1) || AES_K(X_2) .. = CMAC_1 || CMAC_2 .. as a key
 *   kdf_data, AES CMAC          C_Sign CKM_AES_CMAC per block
 *   3DES CBC-MAC                C_Encrypt CKM_DES3_CBC of the ISO-padded message, last block
 *   retail MAC, DES_ECB_K1      single DES: on host bytes of the key (a readable twin, below)
 *   wrap AES 16/32              C_WrapKey CKM_AES_CBC (ICV 0) of a wrappable twin
 *   wrap AES-192, 3DES          C_Encrypt under the KEK of host bytes (readable twin)
 *   kcv                         C_Encrypt of the constant block; 3DES keys that may not
 *                               encrypt (masters): CKA_CHECK_VALUE (same definition)
 *   sign                        CKM_SHAx_RSA_PKCS(_PSS); ECDSA: host hash, CKM_ECDSA
 *
 * A twin is the same derivation from the same base and data, with another template: a
 * wrappable twin (sensitive, extractable) only ever goes to C_WrapKey; a readable twin's
 * CKA_VALUE is copied to server memory. Twins carry the labels of hsm_int.h and are
 * destroyed before the call that made them returns. Only session keys this provider
 * derived have twins: a master key never leaves the HSM.
 */
#include <stdlib.h>
#include <string.h>

#include "hsm_int.h"
#include "../lib/keys_int.h"

static CK_BBOOL yes = CK_TRUE, no = CK_FALSE;

typedef enum twin {
	TWIN_NONE = 0,		/* normal derived key: sensitive, not extractable */
	TWIN_WRAP,		/* sensitive, extractable: for C_WrapKey */
	TWIN_READ,		/* not sensitive, extractable: value read to server memory */
} twin;

/* A secret-key template with its own storage for the attribute values. */
typedef struct ktmpl {
	CK_ATTRIBUTE a[24];
	CK_ULONG n;
	CK_OBJECT_CLASS cls;
	CK_KEY_TYPE kt;
	CK_ULONG vlen;
} ktmpl;

static void
add(ktmpl *t, CK_ATTRIBUTE_TYPE type, void *v, CK_ULONG len)
{
	t->a[t->n].type = type;
	t->a[t->n].pValue = v;
	t->a[t->n].ulValueLen = len;
	t->n++;
}

static void
add_bool(ktmpl *t, CK_ATTRIBUTE_TYPE type, int v)
{
	add(t, type, v ? &yes : &no, sizeof(CK_BBOOL));
}

/* CKA_CLASS, CKA_KEY_TYPE and (AES) CKA_VALUE_LEN of a secret key of type/len. */
static pcard_err
key_kind(ktmpl *t, pcard_keytype type, size_t len, int with_vlen)
{
	t->cls = CKO_SECRET_KEY;
	add(t, CKA_CLASS, &t->cls, sizeof t->cls);
	if (type == PCARD_KEY_AES && (len == 16 || len == 24 || len == 32)) {
		t->kt = CKK_AES;
		t->vlen = len;
		add(t, CKA_KEY_TYPE, &t->kt, sizeof t->kt);
		if (with_vlen)
			add(t, CKA_VALUE_LEN, &t->vlen, sizeof t->vlen);
		return PCARD_OK;
	}
	if (type == PCARD_KEY_DES3 && (len == 16 || len == 24)) {
		t->kt = len == 16 ? CKK_DES2 : CKK_DES3;
		add(t, CKA_KEY_TYPE, &t->kt, sizeof t->kt);
		return PCARD_OK;
	}
	return PCARD_E_KEY;
}

/* Template of a derived session key (docs/keys.md, "Templates"). */
static pcard_err
derived_template(ktmpl *t, pcard_keytype type, size_t len, twin tw)
{
	static char lab_derived[] = HSM_LABEL_DERIVED, lab_wrap[] = HSM_LABEL_TWIN_WRAP,
	    lab_read[] = HSM_LABEL_TWIN_READ;
	pcard_err err;

	memset(t, 0, sizeof *t);
	if ((err = key_kind(t, type, len, 1)) != PCARD_OK)
		return err;
	add_bool(t, CKA_TOKEN, 0);
	add_bool(t, CKA_PRIVATE, 1);
	add_bool(t, CKA_SENSITIVE, tw != TWIN_READ);
	add_bool(t, CKA_EXTRACTABLE, tw != TWIN_NONE);
	if (tw == TWIN_NONE) {
		add_bool(t, CKA_ENCRYPT, 1);
		add_bool(t, CKA_DECRYPT, 1);
		add_bool(t, CKA_SIGN, 1);
		add_bool(t, CKA_VERIFY, 1);
		add_bool(t, CKA_DERIVE, 1);
		add_bool(t, CKA_WRAP, 1);
		add(t, CKA_LABEL, lab_derived, sizeof lab_derived - 1);
	} else {
		/* a twin can do nothing but be wrapped or read */
		add_bool(t, CKA_ENCRYPT, 0);
		add_bool(t, CKA_DECRYPT, 0);
		add_bool(t, CKA_SIGN, 0);
		add_bool(t, CKA_VERIFY, 0);
		add_bool(t, CKA_DERIVE, 0);
		add_bool(t, CKA_WRAP, 0);
		if (tw == TWIN_WRAP)
			add(t, CKA_LABEL, lab_wrap, sizeof lab_wrap - 1);
		else
			add(t, CKA_LABEL, lab_read, sizeof lab_read - 1);
	}
	add_bool(t, CKA_UNWRAP, 0);
	return PCARD_OK;
}

/* Template of a master (token) key; label must outlive the template. */
static pcard_err
master_template(ktmpl *t, const char *label, pcard_keytype type, size_t len, unsigned usage,
    int with_vlen)
{
	int aes = type == PCARD_KEY_AES, stat = (usage & PCARD_HSM_USE_STATIC) != 0;
	pcard_err err;

	memset(t, 0, sizeof *t);
	if ((err = key_kind(t, type, len, with_vlen)) != PCARD_OK)
		return err;
	add_bool(t, CKA_TOKEN, 1);
	add_bool(t, CKA_PRIVATE, 1);
	add_bool(t, CKA_SENSITIVE, 1);
	add_bool(t, CKA_EXTRACTABLE, 0);
	add_bool(t, CKA_MODIFIABLE, 0);
	add_bool(t, CKA_DERIVE, 1);
	/* AES: the CMAC KDF needs AES_K(0) and the CBC chain (C_Encrypt), and the KCV */
	add_bool(t, CKA_ENCRYPT, aes || stat);
	add_bool(t, CKA_DECRYPT, 0);
	add_bool(t, CKA_SIGN, stat);
	add_bool(t, CKA_VERIFY, 0);
	add_bool(t, CKA_WRAP, stat);
	add_bool(t, CKA_UNWRAP, 0);
	add(t, CKA_LABEL, (void *)label, strlen(label));
	return PCARD_OK;
}

/* One-shot symmetric encryption or decryption with obj; in and out may be the same. */
static pcard_err
crypt(pcard_hsm *h, CK_OBJECT_HANDLE obj, CK_MECHANISM_TYPE mt, const uint8_t *iv,
    size_t iv_len, int encrypt, const uint8_t *in, size_t n, uint8_t *out)
{
	uint8_t ivb[16];
	CK_MECHANISM m = { mt, NULL, 0 };
	CK_ULONG ol = n;
	uint8_t *tmp = NULL;
	const uint8_t *src = in;
	CK_RV rv;
	pcard_err err = PCARD_E_INTERNAL;

	if (iv_len > 0) {
		if (iv != NULL)
			memcpy(ivb, iv, iv_len);
		else
			memset(ivb, 0, iv_len);
		m.pParameter = ivb;
		m.ulParameterLen = iv_len;
	}
	if (n == 0) {
		err = PCARD_OK;
		goto out;
	}
	if (in == out) {
		if ((tmp = malloc(n)) == NULL) {
			err = PCARD_E_NOMEM;
			goto out;
		}
		memcpy(tmp, in, n);
		src = tmp;
	}
	if (encrypt) {
		if ((rv = P11(h, crypt, C_EncryptInit(h->sess, &m, obj))) != CKR_OK ||
		    (rv = P11(h, crypt, C_Encrypt(h->sess, (CK_BYTE_PTR)src, n, out, &ol))) !=
		    CKR_OK) {
			err = pcard_hsm_rv(rv);
			goto out;
		}
	} else {
		if ((rv = P11(h, crypt, C_DecryptInit(h->sess, &m, obj))) != CKR_OK ||
		    (rv = P11(h, crypt, C_Decrypt(h->sess, (CK_BYTE_PTR)src, n, out, &ol))) !=
		    CKR_OK) {
			err = pcard_hsm_rv(rv);
			goto out;
		}
	}
	err = ol == n ? PCARD_OK : PCARD_E_CRYPTO;
out:
	if (tmp != NULL) {
		pcard_wipe(tmp, n);
		free(tmp);
	}
	return err;
}

/* AES-CMAC (C_Sign) of msg under obj. */
static pcard_err
cmac(pcard_hsm *h, CK_OBJECT_HANDLE obj, const uint8_t *msg, size_t n, uint8_t out[16])
{
	CK_MECHANISM m = { CKM_AES_CMAC, NULL, 0 };
	CK_ULONG ol = 16;
	CK_RV rv;

	if ((rv = P11(h, sign, C_SignInit(h->sess, &m, obj))) != CKR_OK ||
	    (rv = P11(h, sign, C_Sign(h->sess, (CK_BYTE_PTR)msg, n, out, &ol))) != CKR_OK)
		return pcard_hsm_rv(rv);
	return ol == 16 ? PCARD_OK : PCARD_E_CRYPTO;
}

/* CMAC subkey doubling (SP 800-38B 6.1). */
static void
dbl(const uint8_t in[16], uint8_t out[16])
{
	uint8_t carry = (uint8_t)(in[0] >> 7);
	size_t i;

	for (i = 0; i < 15; i++)
		out[i] = (uint8_t)(in[i] << 1 | in[i + 1] >> 7);
	out[15] = (uint8_t)(in[15] << 1);
	out[15] ^= (uint8_t)(0x87 & -carry);
}

/* L = AES_K(0^16) of an AES slot, computed once and cached in the slot. */
static pcard_err
cmac_l(pcard_hsm *h, hslot *s)
{
	static const uint8_t zero[16];
	pcard_err err;

	if (s->has_l)
		return PCARD_OK;
	if ((err = crypt(h, s->obj, CKM_AES_ECB, NULL, 0, 1, zero, 16, s->l)) != PCARD_OK)
		return err;
	s->has_l = 1;
	return PCARD_OK;
}

/*
 * For counters 1..nblk, X_i with CMAC_K(data with counter i at ctr_pos) = AES_K(X_i)
 * (SP 800-38B: the last block of the CBC-MAC input is chain xor M_last xor K1, or
 * chain xor pad(M_last) xor K2). x holds nblk * 16 bytes.
 */
static pcard_err
kdf_inputs(pcard_hsm *h, hslot *s, const uint8_t *data, size_t n, size_t ctr_pos,
    size_t nblk, uint8_t *x)
{
	uint8_t buf[HSM_RECIPE_MAX + 16], k1[16], k2[16], chain[16], *pre = NULL;
	size_t nb, last, i, j;
	int full, ctr_in_prefix;
	pcard_err err = PCARD_E_INTERNAL;

	if (n == 0 || n > HSM_RECIPE_MAX || ctr_pos >= n) {
		err = PCARD_E_INVALID_ARG;
		goto out;
	}
	if ((err = cmac_l(h, s)) != PCARD_OK)
		goto out;
	dbl(s->l, k1);
	dbl(k1, k2);
	nb = (n + 15) / 16;
	last = (nb - 1) * 16;
	full = n % 16 == 0;
	ctr_in_prefix = ctr_pos < last;
	memset(chain, 0, sizeof chain);
	for (i = 1; i <= nblk; i++) {
		uint8_t *xi = x + (i - 1) * 16;

		memset(buf, 0, sizeof buf);
		memcpy(buf, data, n);
		buf[ctr_pos] = (uint8_t)i;
		if (last > 0 && (i == 1 || ctr_in_prefix)) {
			if ((pre = malloc(last)) == NULL) {
				err = PCARD_E_NOMEM;
				goto out;
			}
			err = crypt(h, s->obj, CKM_AES_CBC, NULL, 16, 1, buf, last, pre);
			if (err == PCARD_OK)
				memcpy(chain, pre + last - 16, 16);
			pcard_wipe(pre, last);
			free(pre);
			pre = NULL;
			if (err != PCARD_OK)
				goto out;
		}
		if (!full)
			buf[n] = 0x80;
		for (j = 0; j < 16; j++)
			xi[j] = (uint8_t)(chain[j] ^ buf[last + j] ^ (full ? k1[j] : k2[j]));
	}
	err = PCARD_OK;
out:
	pcard_wipe(buf, sizeof buf);
	pcard_wipe(k1, sizeof k1);
	pcard_wipe(k2, sizeof k2);
	pcard_wipe(chain, sizeof chain);
	return err;
}

/* The derivation itself (a new session object in *obj), for derive and for twins. */
static pcard_err
derive_obj(pcard_hsm *h, hslot *b, pcard_derive_mech mech, const uint8_t *data, size_t n,
    size_t ctr_pos, pcard_keytype out_type, size_t out_len, twin tw, CK_OBJECT_HANDLE *obj)
{
	ktmpl t;
	CK_MECHANISM m;
	CK_KEY_DERIVATION_STRING_DATA sd;
	CK_DES_CBC_ENCRYPT_DATA_PARAMS cbc;
	uint8_t x[32];
	CK_RV rv;
	pcard_err err = PCARD_E_INTERNAL;

	memset(&m, 0, sizeof m);
	switch (mech) {
	case PCARD_DERIVE_DES3_ECB:
	case PCARD_DERIVE_DES3_CBC:
		if (b->type != PCARD_KEY_DES3) {
			err = PCARD_E_KEY;
			goto out;
		}
		if (out_type != PCARD_KEY_DES3 || out_len != n ||
		    (mech == PCARD_DERIVE_DES3_ECB ? n != 16 && n != 24 : n != 16)) {
			err = PCARD_E_INVALID_ARG;
			goto out;
		}
		if (mech == PCARD_DERIVE_DES3_ECB) {
			sd.pData = (CK_BYTE_PTR)data;
			sd.ulLen = n;
			m.mechanism = CKM_DES3_ECB_ENCRYPT_DATA;
			m.pParameter = &sd;
			m.ulParameterLen = sizeof sd;
		} else {
			memset(cbc.iv, 0, sizeof cbc.iv);
			cbc.pData = (CK_BYTE_PTR)data;
			cbc.length = n;
			m.mechanism = CKM_DES3_CBC_ENCRYPT_DATA;
			m.pParameter = &cbc;
			m.ulParameterLen = sizeof cbc;
		}
		break;
	case PCARD_DERIVE_AES_KDF:
		if (b->type != PCARD_KEY_AES) {
			err = PCARD_E_KEY;
			goto out;
		}
		if (out_type != PCARD_KEY_AES ||
		    (out_len != 16 && out_len != 24 && out_len != 32)) {
			err = PCARD_E_INVALID_ARG;
			goto out;
		}
		if ((err = kdf_inputs(h, b, data, n, ctr_pos, (out_len + 15) / 16, x)) !=
		    PCARD_OK)
			goto out;
		sd.pData = x;
		sd.ulLen = (out_len + 15) / 16 * 16;
		m.mechanism = CKM_AES_ECB_ENCRYPT_DATA;
		m.pParameter = &sd;
		m.ulParameterLen = sizeof sd;
		break;
	default:
		err = PCARD_E_UNSUPPORTED;
		goto out;
	}
	if ((err = derived_template(&t, out_type, out_len, tw)) != PCARD_OK)
		goto out;
	if ((rv = P11(h, derive, C_DeriveKey(h->sess, &m, b->obj, t.a, t.n, obj))) != CKR_OK) {
		err = pcard_hsm_rv(rv);
		goto out;
	}
	err = PCARD_OK;
out:
	pcard_wipe(x, sizeof x);
	return err;
}

/* A twin of derived key s (same base, same data); PCARD_E_KEY if s has no recipe. */
static pcard_err
make_twin(pcard_hsm *h, hslot *s, twin tw, CK_OBJECT_HANDLE *obj)
{
	hslot *b;

	if (!s->has_recipe || (b = pcard_hsm_lookup(h, s->base)) == NULL)
		return PCARD_E_KEY;
	return derive_obj(h, b, s->mech, s->data, s->n, s->ctr_pos, s->type, s->len, tw, obj);
}

/*
 * The value of derived key s in server memory (docs/keys.md, "Key bytes in server memory"):
 * from a readable twin, destroyed at once. out holds s->len bytes; the caller wipes it.
 */
static pcard_err
read_twin(pcard_hsm *h, hslot *s, uint8_t out[PCARD_MAX_SYMKEY_BYTES])
{
	CK_OBJECT_HANDLE tw = CK_INVALID_HANDLE;
	CK_ATTRIBUTE a = { CKA_VALUE, out, PCARD_MAX_SYMKEY_BYTES };
	CK_RV rv;
	pcard_err err = PCARD_E_INTERNAL;

	if ((err = make_twin(h, s, TWIN_READ, &tw)) != PCARD_OK)
		goto out;
	if ((rv = P11(h, other, C_GetAttributeValue(h->sess, tw, &a, 1))) != CKR_OK) {
		err = pcard_hsm_rv(rv);
		goto out;
	}
	if (a.ulValueLen != s->len) {
		err = PCARD_E_CRYPTO;
		goto out;
	}
	h->st.host_key_reads++;
	err = PCARD_OK;
out:
	if (tw != CK_INVALID_HANDLE)
		P11(h, destroy, C_DestroyObject(h->sess, tw));
	if (err != PCARD_OK)
		pcard_wipe(out, PCARD_MAX_SYMKEY_BYTES);
	return err;
}

/* Host bytes of an SCP02 session key for single-DES steps, kept until release. */
static pcard_err
host_bytes(pcard_hsm *h, hslot *s)
{
	pcard_err err;

	if (s->has_host)
		return PCARD_OK;
	if ((err = read_twin(h, s, s->host)) != PCARD_OK)
		return err;
	s->has_host = 1;
	return PCARD_OK;
}

static hslot *
lookup_sym(pcard_hsm *h, pcard_keyh k, pcard_keytype type)
{
	hslot *s = pcard_hsm_lookup(h, k);

	return s != NULL && s->type == type ? s : NULL;
}

/* ------------------------------------------------------------------------------------------ */

static pcard_err
hsm_find(void *ctx, const char *label, pcard_keyh *out)
{
	pcard_hsm *h = ctx;
	CK_OBJECT_HANDLE objs[2];
	CK_ULONG nobj = 0;
	CK_BBOOL tok = CK_TRUE;
	CK_ATTRIBUTE a[2] = {
		{ CKA_LABEL, (void *)label, strlen(label) },
		{ CKA_TOKEN, &tok, sizeof tok },
	};
	hslot *s = NULL;
	size_t i;
	CK_RV rv;
	pcard_err err = PCARD_E_INTERNAL;

	if (label[0] == '\0' || strlen(label) >= PCARD_HSM_LABEL_MAX)
		return PCARD_E_INVALID_ARG;
	pthread_mutex_lock(&h->mu);
	for (i = 0; i < h->nslots; i++) {
		hslot *t = &h->slots[i];

		if (t->used && t->kind == HSLOT_TOKEN && strcmp(t->label, label) == 0) {
			*out = ((pcard_keyh)t->gen << 16) | (pcard_keyh)(i + 1);
			err = PCARD_OK;
			goto out;
		}
	}
	if ((rv = P11(h, other, C_FindObjectsInit(h->sess, a, 2))) != CKR_OK) {
		err = pcard_hsm_rv(rv);
		goto out;
	}
	rv = P11(h, other, C_FindObjects(h->sess, objs, 2, &nobj));
	P11(h, other, C_FindObjectsFinal(h->sess));
	if (rv != CKR_OK) {
		err = pcard_hsm_rv(rv);
		goto out;
	}
	if (nobj == 0) {
		err = PCARD_E_NOT_FOUND;
		goto out;
	}
	if (nobj > 1) {		/* labels name one key; two are a configuration error */
		err = PCARD_E_KEY;
		goto out;
	}
	if ((err = pcard_hsm_alloc(h, &s, out)) != PCARD_OK)
		goto out;
	if ((err = pcard_hsm_describe(h, objs[0], s)) != PCARD_OK)
		goto out;
	memcpy(s->label, label, strlen(label) + 1);
	err = PCARD_OK;
out:
	if (err != PCARD_OK && s != NULL) {
		s->kind = HSLOT_TOKEN;
		pcard_hsm_drop(h, s);
		*out = PCARD_KEYH_NONE;
	}
	pthread_mutex_unlock(&h->mu);
	return err;
}

static pcard_err
hsm_info(void *ctx, pcard_keyh k, pcard_keytype *type, size_t *len)
{
	pcard_hsm *h = ctx;
	hslot *s;
	pcard_err err = PCARD_E_KEY;

	pthread_mutex_lock(&h->mu);
	if ((s = pcard_hsm_lookup(h, k)) != NULL) {
		*type = s->type;
		*len = s->len;
		err = PCARD_OK;
	}
	pthread_mutex_unlock(&h->mu);
	return err;
}

static pcard_err
hsm_derive(void *ctx, pcard_keyh base, pcard_derive_mech mech, const uint8_t *data, size_t n,
    size_t counter_pos, pcard_keytype out_type, size_t out_len, pcard_keyh *out)
{
	pcard_hsm *h = ctx;
	CK_OBJECT_HANDLE obj = CK_INVALID_HANDLE;
	hslot *b, *s;
	pcard_err err = PCARD_E_INTERNAL;

	pthread_mutex_lock(&h->mu);
	if ((b = pcard_hsm_lookup(h, base)) == NULL) {
		err = PCARD_E_KEY;
		goto out;
	}
	if (n > HSM_RECIPE_MAX) {
		err = PCARD_E_INVALID_ARG;
		goto out;
	}
	if ((err = derive_obj(h, b, mech, data, n, counter_pos, out_type, out_len, TWIN_NONE,
	    &obj)) != PCARD_OK)
		goto out;
	if ((err = pcard_hsm_alloc(h, &s, out)) != PCARD_OK)
		goto out;
	s->kind = HSLOT_SESSION;
	s->obj = obj;
	obj = CK_INVALID_HANDLE;
	s->type = out_type;
	s->len = out_len;
	s->ckk = out_type == PCARD_KEY_AES ? CKK_AES : out_len == 16 ? CKK_DES2 : CKK_DES3;
	s->has_recipe = 1;
	s->base = base;
	s->mech = mech;
	memcpy(s->data, data, n);
	s->n = n;
	s->ctr_pos = counter_pos;
	err = PCARD_OK;
out:
	if (obj != CK_INVALID_HANDLE)
		P11(h, destroy, C_DestroyObject(h->sess, obj));
	pthread_mutex_unlock(&h->mu);
	return err;
}

/* The key behind the PRF of hsm_kdf_data. */
typedef struct kdf_key {
	pcard_hsm *h;
	CK_OBJECT_HANDLE obj;
} kdf_key;

/* The PRF of the counter-position KDF (pcard_keys_kdf_ctr): C_Sign CKM_AES_CMAC. */
static pcard_err
kdf_cmac(void *ctx, const uint8_t *msg, size_t n, uint8_t out[16])
{
	kdf_key *k = ctx;

	return cmac(k->h, k->obj, msg, n, out);
}

static pcard_err
hsm_kdf_data(void *ctx, pcard_keyh base, const uint8_t *data, size_t n, size_t counter_pos,
    uint8_t *out, size_t out_len)
{
	pcard_hsm *h = ctx;
	kdf_key k;
	hslot *s;
	pcard_err err = PCARD_E_INTERNAL;

	if (!pcard_keys_kdf_args_ok(n, counter_pos, out_len))
		return PCARD_E_INVALID_ARG;
	pthread_mutex_lock(&h->mu);
	if ((s = lookup_sym(h, base, PCARD_KEY_AES)) == NULL) {
		err = PCARD_E_KEY;
		pcard_wipe(out, out_len);
		goto out;
	}
	k.h = h;
	k.obj = s->obj;
	err = pcard_keys_kdf_ctr(kdf_cmac, &k, data, n, counter_pos, out, out_len);
out:
	pthread_mutex_unlock(&h->mu);
	return err;
}

/* Full 3DES CBC-MAC of the ISO-padded message: C_Encrypt CKM_DES3_CBC, last block. */
static pcard_err
des3_cbc_mac(pcard_hsm *h, hslot *s, const uint8_t *icv, const uint8_t *msg, size_t n,
    uint8_t out[8])
{
	uint8_t *pad = NULL;
	size_t pl = 0;
	pcard_err err = PCARD_E_INTERNAL;

	if ((pad = malloc(n + 8)) == NULL)
		return PCARD_E_NOMEM;
	if ((err = pcard_pad_iso(msg, n, 8, pad, n + 8, &pl)) != PCARD_OK ||
	    (err = crypt(h, s->obj, CKM_DES3_CBC, icv, 8, 1, pad, pl, pad)) != PCARD_OK)
		goto out;
	memcpy(out, pad + pl - 8, 8);
	err = PCARD_OK;
out:
	pcard_wipe(pad, n + 8);
	free(pad);
	return err;
}

static pcard_err
hsm_mac(void *ctx, pcard_keyh k, pcard_mac_alg alg, const uint8_t *icv, const uint8_t *msg,
    size_t n, uint8_t *out, size_t out_cap, size_t *out_len)
{
	pcard_hsm *h = ctx;
	hslot *s;
	size_t len;
	pcard_err err = PCARD_E_INTERNAL;

	pthread_mutex_lock(&h->mu);
	s = pcard_hsm_lookup(h, k);
	if ((err = pcard_keys_mac_check(alg, s != NULL ? s->type : PCARD_KEY_NONE,
	    s != NULL ? s->len : 0, icv, out_cap, &len)) != PCARD_OK)
		goto out;
	if (alg == PCARD_MAC_AES_CMAC) {
		err = cmac(h, s->obj, msg, n, out);
	} else if (alg == PCARD_MAC_DES3_CBC) {
		err = des3_cbc_mac(h, s, icv, msg, n, out);
	} else {
		/* single DES inside: SoftHSM refuses CKM_DES_*, so on host bytes */
		if ((err = host_bytes(h, s)) != PCARD_OK)
			goto out;
		err = pcard_des_retail_mac(s->host, icv, msg, n, out);
	}
	if (err != PCARD_OK)
		goto out;
	*out_len = len;
	err = PCARD_OK;
out:
	pthread_mutex_unlock(&h->mu);
	return err;
}

static pcard_err
hsm_cipher(void *ctx, pcard_keyh k, pcard_cipher_alg alg, int encrypt, const uint8_t *iv,
    const uint8_t *in, size_t n, uint8_t *out)
{
	pcard_hsm *h = ctx;
	pcard_keytype want;
	CK_MECHANISM_TYPE mt;
	size_t blk, ivl = 0;
	hslot *s;
	pcard_err err = PCARD_E_INTERNAL;

	switch (alg) {
	case PCARD_CIPHER_AES_ECB:
		want = PCARD_KEY_AES, mt = CKM_AES_ECB, blk = 16;
		break;
	case PCARD_CIPHER_AES_CBC:
		want = PCARD_KEY_AES, mt = CKM_AES_CBC, blk = 16, ivl = 16;
		break;
	case PCARD_CIPHER_DES3_ECB:
		want = PCARD_KEY_DES3, mt = CKM_DES3_ECB, blk = 8;
		break;
	case PCARD_CIPHER_DES3_CBC:
		want = PCARD_KEY_DES3, mt = CKM_DES3_CBC, blk = 8, ivl = 8;
		break;
	case PCARD_CIPHER_DES_ECB_K1:
		want = PCARD_KEY_DES3, mt = CKM_DES_ECB, blk = 8;
		break;
	default:
		return PCARD_E_UNSUPPORTED;
	}
	if (n % blk != 0 || (n > 0 && (in == NULL || out == NULL)))
		return PCARD_E_INVALID_ARG;
	pthread_mutex_lock(&h->mu);
	if ((s = lookup_sym(h, k, want)) == NULL) {
		err = PCARD_E_KEY;
		goto out;
	}
	if (alg == PCARD_CIPHER_DES_ECB_K1) {
		/* SoftHSM refuses single DES (CKM_DES_ECB): on host bytes, like retail MAC */
		if ((err = host_bytes(h, s)) != PCARD_OK)
			goto out;
		err = pcard_des_ecb(encrypt, s->host, in, n, out);
		goto out;
	}
	err = crypt(h, s->obj, mt, iv, ivl, encrypt, in, n, out);
out:
	pthread_mutex_unlock(&h->mu);
	(void)mt;
	return err;
}

/* C_WrapKey CKM_AES_CBC (ICV 0) of a wrappable twin of s (or of s, if it has no recipe). */
static pcard_err
wrap_aes(pcard_hsm *h, hslot *kek, hslot *s, uint8_t *out, size_t out_cap, size_t *out_len)
{
	uint8_t iv[16];
	CK_MECHANISM m = { CKM_AES_CBC, iv, sizeof iv };
	CK_OBJECT_HANDLE tw = CK_INVALID_HANDLE;
	CK_ULONG ol = out_cap;
	CK_RV rv;
	pcard_err err = PCARD_E_INTERNAL;

	memset(iv, 0, sizeof iv);
	if (s->has_recipe && (err = make_twin(h, s, TWIN_WRAP, &tw)) != PCARD_OK)
		goto out;
	rv = P11(h, other, C_WrapKey(h->sess, &m, kek->obj, s->has_recipe ? tw : s->obj, out,
	    &ol));
	if (rv != CKR_OK) {
		err = pcard_hsm_rv(rv);
		goto out;
	}
	if (ol != s->len) {
		err = PCARD_E_CRYPTO;
		goto out;
	}
	*out_len = ol;
	err = PCARD_OK;
out:
	if (tw != CK_INVALID_HANDLE)
		P11(h, destroy, C_DestroyObject(h->sess, tw));
	return err;
}

/*
 * PUT KEY key data (CS 11.8, AmdD 7.2): AES-CBC ICV 0 under an AES KEK (AES-192 padded to 32
 * bytes), 3DES-ECB under a 3DES KEK. See the file comment for where the bytes go.
 */
static pcard_err
hsm_wrap(void *ctx, pcard_keyh kek, pcard_cipher_alg alg, pcard_keyh key, uint8_t *out,
    size_t out_cap, size_t *out_len)
{
	pcard_hsm *h = ctx;
	uint8_t buf[PCARD_MAX_SYMKEY_BYTES];
	int aes = alg == PCARD_CIPHER_AES_CBC;
	hslot *ks, *s;
	size_t len;
	pcard_err err = PCARD_E_INTERNAL;

	memset(buf, 0, sizeof buf);
	pthread_mutex_lock(&h->mu);
	ks = pcard_hsm_lookup(h, kek);
	s = pcard_hsm_lookup(h, key);
	if ((err = pcard_keys_wrap_check(alg, ks != NULL ? ks->type : PCARD_KEY_NONE,
	    s != NULL ? s->type : PCARD_KEY_NONE, s != NULL ? s->len : 0, out_cap, &len)) !=
	    PCARD_OK)
		goto out;
	if (aes && s->len != 24) {
		err = wrap_aes(h, ks, s, out, out_cap, out_len);
		goto out;
	}
	/* SoftHSM wraps neither with 3DES nor a 24-byte key with AES-CBC: host bytes */
	if ((err = read_twin(h, s, buf)) != PCARD_OK)
		goto out;
	err = crypt(h, ks->obj, aes ? CKM_AES_CBC : CKM_DES3_ECB, NULL, aes ? 16 : 0, 1, buf, len,
	    out);
	if (err != PCARD_OK)
		goto out;
	*out_len = len;
	err = PCARD_OK;
out:
	pthread_mutex_unlock(&h->mu);
	pcard_wipe(buf, sizeof buf);
	return err;
}

static pcard_err
hsm_kcv(void *ctx, pcard_keyh k, uint8_t out[PCARD_KCV_BYTES])
{
	static const uint8_t ones[16] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 };
	static const uint8_t zero[8];
	pcard_hsm *h = ctx;
	uint8_t blk[16];
	hslot *s;
	pcard_err err = PCARD_E_KEY;

	pthread_mutex_lock(&h->mu);
	if ((s = pcard_hsm_lookup(h, k)) == NULL)
		goto out;
	if (s->type == PCARD_KEY_AES) {
		err = crypt(h, s->obj, CKM_AES_ECB, NULL, 0, 1, ones, 16, blk);
	} else if (s->type == PCARD_KEY_DES3) {
		err = crypt(h, s->obj, CKM_DES3_ECB, NULL, 0, 1, zero, 8, blk);
		if (err == PCARD_E_KEY) {
			/* a master that may not encrypt: PKCS#11 defines its check value as
			 * the first 3 bytes of 3DES(key, 00 x 8), the GP KCV */
			CK_ATTRIBUTE a = { CKA_CHECK_VALUE, blk, sizeof blk };
			CK_RV rv = P11(h, other, C_GetAttributeValue(h->sess, s->obj, &a, 1));

			err = rv != CKR_OK ? pcard_hsm_rv(rv) :
			    a.ulValueLen == PCARD_KCV_BYTES ? PCARD_OK : PCARD_E_KEY;
		}
	}
	if (err == PCARD_OK)
		memcpy(out, blk, PCARD_KCV_BYTES);
out:
	pthread_mutex_unlock(&h->mu);
	pcard_wipe(blk, sizeof blk);
	return err;
}

static pcard_err
hash_mechs(pcard_hash hash, CK_MECHANISM_TYPE *pkcs1, CK_MECHANISM_TYPE *pss,
    CK_MECHANISM_TYPE *hmech, CK_RSA_PKCS_MGF_TYPE *mgf)
{
	switch (hash) {
	case PCARD_HASH_SHA1:
		*pkcs1 = CKM_SHA1_RSA_PKCS, *pss = CKM_SHA1_RSA_PKCS_PSS, *hmech = CKM_SHA_1;
		*mgf = CKG_MGF1_SHA1;
		return PCARD_OK;
	case PCARD_HASH_SHA256:
		*pkcs1 = CKM_SHA256_RSA_PKCS, *pss = CKM_SHA256_RSA_PKCS_PSS, *hmech = CKM_SHA256;
		*mgf = CKG_MGF1_SHA256;
		return PCARD_OK;
	case PCARD_HASH_SHA384:
		*pkcs1 = CKM_SHA384_RSA_PKCS, *pss = CKM_SHA384_RSA_PKCS_PSS, *hmech = CKM_SHA384;
		*mgf = CKG_MGF1_SHA384;
		return PCARD_OK;
	case PCARD_HASH_SHA512:
		*pkcs1 = CKM_SHA512_RSA_PKCS, *pss = CKM_SHA512_RSA_PKCS_PSS, *hmech = CKM_SHA512;
		*mgf = CKG_MGF1_SHA512;
		return PCARD_OK;
	default:
		return PCARD_E_UNSUPPORTED;
	}
}

static pcard_err
hsm_sign(void *ctx, pcard_keyh k, pcard_sig_scheme sch, pcard_hash hash, const uint8_t *msg,
    size_t n, uint8_t *sig, size_t sig_cap, size_t *sig_len)
{
	pcard_hsm *h = ctx;
	CK_MECHANISM_TYPE pkcs1, pss, hmech;
	CK_RSA_PKCS_MGF_TYPE mgf;
	CK_RSA_PKCS_PSS_PARAMS pp;
	CK_MECHANISM m;
	uint8_t dg[PCARD_MAX_HASH_BYTES];
	const uint8_t *in = msg;
	size_t in_len = n, dl;
	CK_ULONG ol;
	hslot *s;
	CK_RV rv;
	pcard_err err = PCARD_E_INTERNAL;

	if ((err = hash_mechs(hash, &pkcs1, &pss, &hmech, &mgf)) != PCARD_OK)
		return err;
	memset(&m, 0, sizeof m);
	pthread_mutex_lock(&h->mu);
	if ((s = pcard_hsm_lookup(h, k)) == NULL || s->type != PCARD_KEY_PKEY) {
		err = PCARD_E_KEY;
		goto out;
	}
	switch (sch) {
	case PCARD_SIG_RSA_PKCS1:
	case PCARD_SIG_RSA_PSS:
		if (s->ckk != CKK_RSA) {
			err = PCARD_E_KEY;
			goto out;
		}
		m.mechanism = sch == PCARD_SIG_RSA_PKCS1 ? pkcs1 : pss;
		if (sch == PCARD_SIG_RSA_PSS) {
			pp.hashAlg = hmech;
			pp.mgf = mgf;
			pp.sLen = pcard_hash_len(hash);
			m.pParameter = &pp;
			m.ulParameterLen = sizeof pp;
		}
		break;
	case PCARD_SIG_ECDSA:
		if (s->ckk != CKK_EC) {
			err = PCARD_E_KEY;
			goto out;
		}
		/* SoftHSM has only raw CKM_ECDSA: the hash is computed here; it is public */
		if ((err = pcard_digest(hash, msg, n, dg, sizeof dg, &dl)) != PCARD_OK)
			goto out;
		m.mechanism = CKM_ECDSA;
		in = dg;
		in_len = dl;
		break;
	default:
		err = PCARD_E_UNSUPPORTED;
		goto out;
	}
	if (sig_cap < (sch == PCARD_SIG_ECDSA ? 2 * s->len : s->len)) {
		err = PCARD_E_NOSPACE;
		goto out;
	}
	ol = sig_cap;
	if ((rv = P11(h, sign, C_SignInit(h->sess, &m, s->obj))) != CKR_OK ||
	    (rv = P11(h, sign, C_Sign(h->sess, (CK_BYTE_PTR)in, in_len, sig, &ol))) != CKR_OK) {
		err = pcard_hsm_rv(rv);
		goto out;
	}
	*sig_len = ol;		/* PKCS#11 ECDSA signatures are r || s already */
	err = PCARD_OK;
out:
	pthread_mutex_unlock(&h->mu);
	return err;
}

static void
hsm_release(void *ctx, pcard_keyh k)
{
	pcard_hsm *h = ctx;
	hslot *s;

	pthread_mutex_lock(&h->mu);
	if ((s = pcard_hsm_lookup(h, k)) != NULL)
		pcard_hsm_drop(h, s);
	pthread_mutex_unlock(&h->mu);
}

const pcard_keys_ops pcard_hsm_keys_ops = {
	.name = "pkcs11",
	.find = hsm_find,
	.info = hsm_info,
	.derive = hsm_derive,
	.kdf_data = hsm_kdf_data,
	.mac = hsm_mac,
	.cipher = hsm_cipher,
	.wrap = hsm_wrap,
	.kcv = hsm_kcv,
	.sign = hsm_sign,
	.release = hsm_release,
	.free = pcard_hsm_free_keys,
};

/* ------------------------------------------------------------------------------------------ */
/* Master keys */

static int
label_ok(const char *label)
{
	return label != NULL && label[0] != '\0' && strlen(label) < PCARD_HSM_LABEL_MAX;
}

/* 1 when an object with this label exists. Caller holds the mutex. */
static pcard_err
label_exists(pcard_hsm *h, const char *label, int *exists)
{
	CK_ATTRIBUTE a = { CKA_LABEL, (void *)label, strlen(label) };
	CK_OBJECT_HANDLE o;
	CK_ULONG n = 0;
	CK_RV rv;

	if ((rv = P11(h, other, C_FindObjectsInit(h->sess, &a, 1))) != CKR_OK)
		return pcard_hsm_rv(rv);
	rv = P11(h, other, C_FindObjects(h->sess, &o, 1, &n));
	P11(h, other, C_FindObjectsFinal(h->sess));
	if (rv != CKR_OK)
		return pcard_hsm_rv(rv);
	*exists = n > 0;
	return PCARD_OK;
}

/* Common tail of import and generate: a slot for the new token object. */
static pcard_err
adopt(pcard_hsm *h, CK_OBJECT_HANDLE obj, const char *label, pcard_keyh *out)
{
	hslot *s;
	pcard_keyh k;
	pcard_err err;

	if ((err = pcard_hsm_alloc(h, &s, &k)) != PCARD_OK)
		return err;
	if ((err = pcard_hsm_describe(h, obj, s)) != PCARD_OK) {
		s->kind = HSLOT_TOKEN;
		pcard_hsm_drop(h, s);
		return err;
	}
	memcpy(s->label, label, strlen(label) + 1);
	if (out != NULL)
		*out = k;
	return PCARD_OK;
}

static pcard_err
create_master(pcard_hsm *h, const char *label, pcard_keytype type, const uint8_t *key,
    size_t len, unsigned usage, pcard_keyh *out)
{
	ktmpl t;
	CK_MECHANISM m = { 0, NULL, 0 };
	CK_OBJECT_HANDLE obj;
	int exists = 0;
	CK_RV rv;
	pcard_err err = PCARD_E_INTERNAL;

	if (out != NULL)
		*out = PCARD_KEYH_NONE;
	if (h == NULL || !label_ok(label) || usage > PCARD_HSM_USE_STATIC)
		return PCARD_E_INVALID_ARG;
	/* generation of AES keys needs CKA_VALUE_LEN; an import must not carry it */
	if ((err = master_template(&t, label, type, len, usage, key == NULL)) != PCARD_OK)
		return err;
	if (key != NULL)
		add(&t, CKA_VALUE, (void *)key, len);
	pthread_mutex_lock(&h->mu);
	if ((err = label_exists(h, label, &exists)) != PCARD_OK)
		goto out;
	if (exists) {
		err = PCARD_E_INVALID_ARG;
		goto out;
	}
	if (key != NULL) {
		rv = P11(h, other, C_CreateObject(h->sess, t.a, t.n, &obj));
	} else {
		m.mechanism = type == PCARD_KEY_AES ? CKM_AES_KEY_GEN :
		    len == 16 ? CKM_DES2_KEY_GEN : CKM_DES3_KEY_GEN;
		rv = P11(h, other, C_GenerateKey(h->sess, &m, t.a, t.n, &obj));
	}
	if (rv != CKR_OK) {
		err = pcard_hsm_rv(rv);
		goto out;
	}
	err = adopt(h, obj, label, out);
out:
	pthread_mutex_unlock(&h->mu);
	return err;
}

pcard_err
pcard_hsm_import_secret(pcard_hsm *h, const char *label, pcard_keytype type,
    const uint8_t *key, size_t len, unsigned usage, pcard_keyh *out)
{
	if (key == NULL) {
		if (out != NULL)
			*out = PCARD_KEYH_NONE;
		return PCARD_E_INVALID_ARG;
	}
	return create_master(h, label, type, key, len, usage, out);
}

pcard_err
pcard_hsm_generate_secret(pcard_hsm *h, const char *label, pcard_keytype type, size_t len,
    unsigned usage, pcard_keyh *out)
{
	return create_master(h, label, type, NULL, len, usage, out);
}

pcard_err
pcard_hsm_destroy_token_key(pcard_hsm *h, const char *label)
{
	CK_ATTRIBUTE a[2];
	CK_BBOOL tok = CK_TRUE;
	CK_OBJECT_HANDLE objs[16];
	CK_ULONG n = 0, i;
	size_t j;
	CK_RV rv;
	pcard_err err = PCARD_E_INTERNAL;

	if (h == NULL || !label_ok(label))
		return PCARD_E_INVALID_ARG;
	a[0].type = CKA_LABEL, a[0].pValue = (void *)label, a[0].ulValueLen = strlen(label);
	a[1].type = CKA_TOKEN, a[1].pValue = &tok, a[1].ulValueLen = sizeof tok;
	pthread_mutex_lock(&h->mu);
	/* forget table entries first: their handles must not outlive the object */
	for (j = 0; j < h->nslots; j++)
		if (h->slots[j].used && h->slots[j].kind == HSLOT_TOKEN &&
		    strcmp(h->slots[j].label, label) == 0)
			pcard_hsm_drop(h, &h->slots[j]);
	if ((rv = P11(h, other, C_FindObjectsInit(h->sess, a, 2))) != CKR_OK) {
		err = pcard_hsm_rv(rv);
		goto out;
	}
	rv = P11(h, other, C_FindObjects(h->sess, objs, 16, &n));
	P11(h, other, C_FindObjectsFinal(h->sess));
	if (rv != CKR_OK) {
		err = pcard_hsm_rv(rv);
		goto out;
	}
	if (n == 0) {
		err = PCARD_E_NOT_FOUND;
		goto out;
	}
	for (i = 0; i < n; i++)
		if ((rv = P11(h, destroy, C_DestroyObject(h->sess, objs[i]))) != CKR_OK) {
			err = pcard_hsm_rv(rv);
			goto out;
		}
	err = PCARD_OK;
out:
	pthread_mutex_unlock(&h->mu);
	return err;
}
