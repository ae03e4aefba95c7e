/*
 * cardstate.c: the simulated card's persistent state: defaults, registry, deep compare,
 * checks, canonical binary body (docs/card-file.md) and the JSON view.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cardstate.h"
#include "postcard/bytes.h"
#include "postcard/crypto.h"

/* ------------------------------------------------------------------------------------- */
/* AIDs */

pcard_err
pcard_aid_set(pcard_aid *aid, const uint8_t *b, size_t n)
{
	if (aid == NULL || (n > 0 && b == NULL) || n < PCARD_AID_MIN || n > PCARD_AID_MAX)
		return PCARD_E_INVALID_ARG;
	memset(aid, 0, sizeof *aid);
	memcpy(aid->b, b, n);
	aid->len = (uint8_t)n;
	return PCARD_OK;
}

pcard_err
pcard_aid_from_hex(pcard_aid *aid, const char *hex)
{
	uint8_t b[PCARD_AID_MAX];
	size_t n;
	pcard_err err;

	if (hex == NULL)
		return PCARD_E_INVALID_ARG;
	if ((err = pcard_hex_decode(hex, b, sizeof b, &n)) != PCARD_OK)
		return err == PCARD_E_NOSPACE ? PCARD_E_INVALID_ARG : err;
	return pcard_aid_set(aid, b, n);
}

int
pcard_aid_eq(const pcard_aid *a, const pcard_aid *b)
{
	return a->len == b->len && memcmp(a->b, b->b, a->len) == 0;
}

/* An AID field that may be absent: length 0 or 5..16. */
static int
aid_ok_opt(const pcard_aid *a)
{
	return a->len == 0 || (a->len >= PCARD_AID_MIN && a->len <= PCARD_AID_MAX);
}

static int
aid_ok(const pcard_aid *a)
{
	return a->len >= PCARD_AID_MIN && a->len <= PCARD_AID_MAX;
}

/* ------------------------------------------------------------------------------------- */
/* Life cycle */

void
pcard_cardstate_init(pcard_cardstate *cs)
{
	memset(cs, 0, sizeof *cs);
}

static void
sd_clear(pcard_card_sd *sd)
{
	if (sd->keysets != NULL) {
		pcard_wipe(sd->keysets, sd->nkeysets * sizeof *sd->keysets);
		free(sd->keysets);
	}
	memset(sd, 0, sizeof *sd);
}

void
pcard_card_app_clear(pcard_card_app *app)
{
	if (app == NULL)
		return;
	if (app->data != NULL) {
		pcard_wipe(app->data, app->data_len);
		free(app->data);
	}
	sd_clear(&app->sd_info);
	memset(app, 0, sizeof *app);
}

void
pcard_cardstate_clear(pcard_cardstate *cs)
{
	if (cs == NULL)
		return;
	pcard_card_app_clear(&cs->isd);
	for (size_t i = 0; i < cs->napps; i++)
		pcard_card_app_clear(&cs->apps[i]);
	free(cs->apps);
	free(cs->elfs);
	memset(cs, 0, sizeof *cs);
}

pcard_err
pcard_card_app_set_data(pcard_card_app *app, const uint8_t *p, size_t n)
{
	uint8_t *d = NULL;

	if (app == NULL || n > PCARD_CS_DATA_MAX || (n > 0 && p == NULL))
		return PCARD_E_INVALID_ARG;
	if (n > 0) {
		if ((d = malloc(n)) == NULL)
			return PCARD_E_NOMEM;
		memcpy(d, p, n);
	}
	if (app->data != NULL) {
		pcard_wipe(app->data, app->data_len);
		free(app->data);
	}
	app->data = d;
	app->data_len = n;
	return PCARD_OK;
}

/* Deep copy of one application entry into dst (uninitialised memory is fine). */
static pcard_err
app_copy(pcard_card_app *dst, const pcard_card_app *src)
{
	*dst = *src;
	dst->data = NULL;
	dst->data_len = 0;
	dst->sd_info.keysets = NULL;
	dst->sd_info.nkeysets = 0;
	if (src->data_len > 0) {
		if ((dst->data = malloc(src->data_len)) == NULL)
			goto nomem;
		memcpy(dst->data, src->data, src->data_len);
		dst->data_len = src->data_len;
	}
	if (src->sd_info.nkeysets > 0) {
		size_t n = src->sd_info.nkeysets;

		if ((dst->sd_info.keysets = calloc(n, sizeof *src->sd_info.keysets)) == NULL)
			goto nomem;
		memcpy(dst->sd_info.keysets, src->sd_info.keysets, n * sizeof *src->sd_info.keysets);
		dst->sd_info.nkeysets = n;
	}
	return PCARD_OK;
nomem:
	pcard_card_app_clear(dst);
	return PCARD_E_NOMEM;
}

pcard_err
pcard_cardstate_copy(pcard_cardstate *dst, const pcard_cardstate *src)
{
	pcard_err err = PCARD_E_INTERNAL;

	pcard_cardstate_clear(dst);
	*dst = *src;
	dst->elfs = NULL;
	dst->apps = NULL;
	dst->nelfs = dst->napps = 0;
	memset(&dst->isd, 0, sizeof dst->isd);
	if ((err = app_copy(&dst->isd, &src->isd)) != PCARD_OK)
		goto out;
	if (src->nelfs > 0) {
		err = PCARD_E_NOMEM;
		if ((dst->elfs = calloc(src->nelfs, sizeof *dst->elfs)) == NULL)
			goto out;
		memcpy(dst->elfs, src->elfs, src->nelfs * sizeof *dst->elfs);
		dst->nelfs = src->nelfs;
	}
	if (src->napps > 0) {
		err = PCARD_E_NOMEM;
		if ((dst->apps = calloc(src->napps, sizeof *dst->apps)) == NULL)
			goto out;
		for (size_t i = 0; i < src->napps; i++) {
			if ((err = app_copy(&dst->apps[i], &src->apps[i])) != PCARD_OK)
				goto out;
			dst->napps = i + 1;
		}
	}
	err = PCARD_OK;
out:
	if (err != PCARD_OK)
		pcard_cardstate_clear(dst);
	return err;
}

/* ------------------------------------------------------------------------------------- */
/* Checks */

static int
key_len_ok(const pcard_card_key *k)
{
	switch (k->type) {
	case PCARD_KEYTYPE_DES3:
		return k->param_len == 0 && (k->len == 16 || k->len == 24);
	case PCARD_KEYTYPE_AES:
		return k->param_len == 0 && (k->len == 16 || k->len == 24 || k->len == 32);
	case PCARD_KEYTYPE_RSA_PUB:
		return k->len >= 64 && k->len <= PCARD_CS_KEY_MAX && k->param_len >= 1 &&
		    k->param_len <= PCARD_CS_KEYPARAM_MAX;
	case PCARD_KEYTYPE_EC_PUB:
		return (k->len == 65 || k->len == 97 || k->len == 133) && k->value[0] == 0x04 &&
		    k->param_len == 1 && k->param[0] <= 2;
	default:
		return 0;
	}
}

static pcard_err
keyset_check(const pcard_card_keyset *ks)
{
	if (ks->kvn == 0 || (ks->kvn > 0x7F && ks->kvn != 0xFF) || ks->seq > PCARD_CS_SEQ_MAX ||
	    ks->blocked > 1 || ks->nkeys > PCARD_CS_MAX_KEYS)
		return PCARD_E_BAD_FILE;
	for (size_t i = 0; i < ks->nkeys; i++) {
		const pcard_card_key *k = &ks->keys[i];

		if (k->id == 0 || k->id > 0x7F || !key_len_ok(k))
			return PCARD_E_BAD_FILE;
		for (size_t j = 0; j < i; j++)
			if (ks->keys[j].id == k->id)
				return PCARD_E_BAD_FILE;
	}
	return PCARD_OK;
}

static pcard_err
app_check(const pcard_card_app *a, int is_isd)
{
	if (!aid_ok(&a->aid) || !aid_ok_opt(&a->elf) || !aid_ok_opt(&a->module) ||
	    !aid_ok_opt(&a->sd) || a->nimplicit > PCARD_CS_IMPLICIT_MAX ||
	    a->default_selected > 1 || a->data_len > PCARD_CS_DATA_MAX ||
	    (a->data_len > 0 && a->data == NULL) || a->is_sd > 1 ||
	    a->is_sd != ((a->priv[0] & PCARD_PRIV1_SD) != 0) || (is_isd && !a->is_sd))
		return PCARD_E_BAD_FILE;
	if (!is_isd && (a->life_cycle & 0x03) != 0x03)
		return PCARD_E_BAD_FILE;	/* every installed entry has b2b1 = 11 */
	if (a->is_sd) {
		const pcard_card_sd *sd = &a->sd_info;

		if ((sd->scp != 0x02 && sd->scp != 0x03) || sd->nkeysets > PCARD_CS_MAX_KEYSETS ||
		    (sd->nkeysets > 0 && sd->keysets == NULL))
			return PCARD_E_BAD_FILE;
		for (size_t i = 0; i < sd->nkeysets; i++) {
			if (keyset_check(&sd->keysets[i]) != PCARD_OK)
				return PCARD_E_BAD_FILE;
			for (size_t j = 0; j < i; j++)
				if (sd->keysets[j].kvn == sd->keysets[i].kvn)
					return PCARD_E_BAD_FILE;
		}
	} else if (a->sd_info.nkeysets != 0) {
		return PCARD_E_BAD_FILE;
	}
	return PCARD_OK;
}

static pcard_err
elf_check(const pcard_card_elf *e)
{
	if (!aid_ok(&e->aid) || !aid_ok_opt(&e->sd) || e->rom > 1 ||
	    e->hash_len > PCARD_CS_HASH_MAX || e->nmodules > PCARD_CS_MAX_MODULES ||
	    e->nimports > PCARD_CS_MAX_IMPORTS)
		return PCARD_E_BAD_FILE;
	for (size_t i = 0; i < e->nmodules; i++) {
		if (!aid_ok(&e->modules[i]))
			return PCARD_E_BAD_FILE;
		for (size_t j = 0; j < i; j++)
			if (pcard_aid_eq(&e->modules[i], &e->modules[j]))
				return PCARD_E_BAD_FILE;
	}
	for (size_t i = 0; i < e->nimports; i++)
		if (!aid_ok(&e->imports[i].aid))
			return PCARD_E_BAD_FILE;
	return PCARD_OK;
}

static int
lc_card_ok(uint8_t lc)
{
	return lc == PCARD_CARD_OP_READY || lc == PCARD_CARD_INITIALIZED ||
	    lc == PCARD_CARD_SECURED || lc == PCARD_CARD_LOCKED || lc == PCARD_CARD_TERMINATED;
}

pcard_err
pcard_cardstate_check(const pcard_cardstate *cs)
{
	if (cs->atr_len < 2 || cs->atr_len > PCARD_CS_ATR_MAX || cs->iin_len > PCARD_CS_ID_MAX ||
	    cs->cin_len > PCARD_CS_ID_MAX || cs->kdd_len > PCARD_CS_ID_MAX ||
	    !lc_card_ok(cs->life_cycle) || cs->nvm_used > cs->nvm_size ||
	    cs->receipt_counter > 0xFFFF || cs->auth_limit == 0 ||
	    cs->nelfs > PCARD_CS_MAX_ELFS || cs->napps > PCARD_CS_MAX_APPS ||
	    (cs->nelfs > 0 && cs->elfs == NULL) || (cs->napps > 0 && cs->apps == NULL))
		return PCARD_E_BAD_FILE;
	if (app_check(&cs->isd, 1) != PCARD_OK)
		return PCARD_E_BAD_FILE;
	for (size_t i = 0; i < cs->nelfs; i++) {
		if (elf_check(&cs->elfs[i]) != PCARD_OK)
			return PCARD_E_BAD_FILE;
		for (size_t j = 0; j < i; j++)
			if (pcard_aid_eq(&cs->elfs[i].aid, &cs->elfs[j].aid))
				return PCARD_E_BAD_FILE;
	}
	for (size_t i = 0; i < cs->napps; i++) {
		if (app_check(&cs->apps[i], 0) != PCARD_OK ||
		    pcard_aid_eq(&cs->apps[i].aid, &cs->isd.aid))
			return PCARD_E_BAD_FILE;
		for (size_t j = 0; j < i; j++)
			if (pcard_aid_eq(&cs->apps[i].aid, &cs->apps[j].aid))
				return PCARD_E_BAD_FILE;
	}
	return PCARD_OK;
}

/* ------------------------------------------------------------------------------------- */
/* Registry */

pcard_card_elf *
pcard_cardstate_elf_find(pcard_cardstate *cs, const pcard_aid *aid)
{
	for (size_t i = 0; i < cs->nelfs; i++)
		if (pcard_aid_eq(&cs->elfs[i].aid, aid))
			return &cs->elfs[i];
	return NULL;
}

pcard_card_elf *
pcard_cardstate_module_find(pcard_cardstate *cs, const pcard_aid *module, size_t *index)
{
	for (size_t i = 0; i < cs->nelfs; i++)
		for (size_t j = 0; j < cs->elfs[i].nmodules; j++)
			if (pcard_aid_eq(&cs->elfs[i].modules[j], module)) {
				if (index != NULL)
					*index = j;
				return &cs->elfs[i];
			}
	return NULL;
}

pcard_err
pcard_cardstate_elf_add(pcard_cardstate *cs, const pcard_card_elf *elf)
{
	pcard_card_elf *n;

	if (cs == NULL || elf == NULL || elf_check(elf) != PCARD_OK ||
	    pcard_cardstate_elf_find(cs, &elf->aid) != NULL)
		return PCARD_E_INVALID_ARG;
	if (cs->nelfs >= PCARD_CS_MAX_ELFS)
		return PCARD_E_NOSPACE;
	if ((n = realloc(cs->elfs, (cs->nelfs + 1) * sizeof *n)) == NULL)
		return PCARD_E_NOMEM;
	cs->elfs = n;
	cs->elfs[cs->nelfs++] = *elf;
	return PCARD_OK;
}

pcard_err
pcard_cardstate_elf_remove(pcard_cardstate *cs, const pcard_aid *aid)
{
	pcard_card_elf *e = pcard_cardstate_elf_find(cs, aid);
	size_t i;

	if (e == NULL)
		return PCARD_E_NOT_FOUND;
	i = (size_t)(e - cs->elfs);
	memmove(&cs->elfs[i], &cs->elfs[i + 1], (cs->nelfs - i - 1) * sizeof *e);
	cs->nelfs--;
	return PCARD_OK;
}

pcard_card_app *
pcard_cardstate_app_find(pcard_cardstate *cs, const pcard_aid *aid)
{
	for (size_t i = 0; i < cs->napps; i++)
		if (pcard_aid_eq(&cs->apps[i].aid, aid))
			return &cs->apps[i];
	return NULL;
}

pcard_card_app *
pcard_cardstate_sd_find(pcard_cardstate *cs, const pcard_aid *aid)
{
	pcard_card_app *a;

	if (pcard_aid_eq(&cs->isd.aid, aid))
		return &cs->isd;
	a = pcard_cardstate_app_find(cs, aid);
	return a != NULL && a->is_sd ? a : NULL;
}

pcard_err
pcard_cardstate_app_add(pcard_cardstate *cs, const pcard_card_app *app)
{
	pcard_card_app *n;
	pcard_err err;

	if (cs == NULL || app == NULL || app_check(app, 0) != PCARD_OK ||
	    pcard_aid_eq(&app->aid, &cs->isd.aid) || pcard_cardstate_app_find(cs, &app->aid) != NULL)
		return PCARD_E_INVALID_ARG;
	if (cs->napps >= PCARD_CS_MAX_APPS)
		return PCARD_E_NOSPACE;
	if ((n = realloc(cs->apps, (cs->napps + 1) * sizeof *n)) == NULL)
		return PCARD_E_NOMEM;
	cs->apps = n;
	if ((err = app_copy(&cs->apps[cs->napps], app)) != PCARD_OK)
		return err;
	cs->napps++;
	return PCARD_OK;
}

pcard_err
pcard_cardstate_app_remove(pcard_cardstate *cs, const pcard_aid *aid)
{
	pcard_card_app *a = pcard_cardstate_app_find(cs, aid);
	size_t i;

	if (a == NULL)
		return PCARD_E_NOT_FOUND;
	i = (size_t)(a - cs->apps);
	pcard_card_app_clear(a);
	memmove(&cs->apps[i], &cs->apps[i + 1], (cs->napps - i - 1) * sizeof *a);
	cs->napps--;
	return PCARD_OK;
}

pcard_card_keyset *
pcard_card_sd_keyset_find(pcard_card_app *sd, uint8_t kvn)
{
	if (sd == NULL || !sd->is_sd)
		return NULL;
	for (size_t i = 0; i < sd->sd_info.nkeysets; i++)
		if (sd->sd_info.keysets[i].kvn == kvn)
			return &sd->sd_info.keysets[i];
	return NULL;
}

pcard_err
pcard_card_sd_keyset_put(pcard_card_app *sd, const pcard_card_keyset *ks)
{
	pcard_card_keyset *cur, *n;

	if (sd == NULL || ks == NULL || !sd->is_sd || keyset_check(ks) != PCARD_OK)
		return PCARD_E_INVALID_ARG;
	if ((cur = pcard_card_sd_keyset_find(sd, ks->kvn)) != NULL) {
		pcard_wipe(cur, sizeof *cur);
		*cur = *ks;
		return PCARD_OK;
	}
	if (sd->sd_info.nkeysets >= PCARD_CS_MAX_KEYSETS)
		return PCARD_E_NOSPACE;
	/* a fresh array, so the old one can be wiped rather than left behind by realloc */
	if ((n = calloc(sd->sd_info.nkeysets + 1, sizeof *n)) == NULL)
		return PCARD_E_NOMEM;
	if (sd->sd_info.nkeysets > 0)
		memcpy(n, sd->sd_info.keysets, sd->sd_info.nkeysets * sizeof *n);
	n[sd->sd_info.nkeysets] = *ks;
	if (sd->sd_info.keysets != NULL) {
		pcard_wipe(sd->sd_info.keysets, sd->sd_info.nkeysets * sizeof *n);
		free(sd->sd_info.keysets);
	}
	sd->sd_info.keysets = n;
	sd->sd_info.nkeysets++;
	return PCARD_OK;
}

pcard_err
pcard_card_sd_keyset_remove(pcard_card_app *sd, uint8_t kvn)
{
	pcard_card_keyset *ks = pcard_card_sd_keyset_find(sd, kvn);
	size_t i, n;

	if (ks == NULL)
		return PCARD_E_NOT_FOUND;
	i = (size_t)(ks - sd->sd_info.keysets);
	n = sd->sd_info.nkeysets;
	memmove(&sd->sd_info.keysets[i], &sd->sd_info.keysets[i + 1], (n - i - 1) * sizeof *ks);
	pcard_wipe(&sd->sd_info.keysets[n - 1], sizeof *ks);
	sd->sd_info.nkeysets--;
	if (sd->sd_info.nkeysets == 0) {
		free(sd->sd_info.keysets);
		sd->sd_info.keysets = NULL;
	}
	return PCARD_OK;
}

pcard_card_key *
pcard_card_keyset_key_find(pcard_card_keyset *ks, uint8_t id)
{
	for (size_t i = 0; i < ks->nkeys; i++)
		if (ks->keys[i].id == id)
			return &ks->keys[i];
	return NULL;
}

pcard_err
pcard_card_keyset_put_key(pcard_card_keyset *ks, const pcard_card_key *key)
{
	pcard_card_key *cur;

	if (ks == NULL || key == NULL || key->id == 0 || key->id > 0x7F || !key_len_ok(key))
		return PCARD_E_INVALID_ARG;
	if ((cur = pcard_card_keyset_key_find(ks, key->id)) == NULL) {
		if (ks->nkeys >= PCARD_CS_MAX_KEYS)
			return PCARD_E_NOSPACE;
		cur = &ks->keys[ks->nkeys++];
	}
	pcard_wipe(cur, sizeof *cur);
	*cur = *key;
	return PCARD_OK;
}

/* ------------------------------------------------------------------------------------- */
/* Defaults */

static const uint8_t test_key[16] = {
	0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47,
	0x48, 0x49, 0x4A, 0x4B, 0x4C, 0x4D, 0x4E, 0x4F,
};

/*
 * The Java Card 3.0.5 (classic) API packages a new card carries in ROM, with the versions of
 * the 3.0.5 export files. Imports resolve when the major is equal and the minor is <= these.
 */
static const struct {
	const char *aid;
	uint8_t major, minor;
	const char *module;		/* its one executable module, or NULL */
} rom_packages[] = {
	{ "A0000000620001", 1, 0, NULL },		/* java.lang */
	{ "A0000000620002", 1, 0, NULL },		/* java.io */
	{ "A0000000620003", 1, 0, NULL },		/* java.rmi */
	{ "A0000000620101", 1, 6, NULL },		/* javacard.framework */
	{ "A000000062010101", 1, 0, NULL },		/* javacard.framework.service */
	{ "A0000000620102", 1, 6, NULL },		/* javacard.security */
	{ "A0000000620201", 1, 6, NULL },		/* javacardx.crypto */
	{ "A0000000620202", 1, 2, NULL },		/* javacardx.biometry */
	{ "A0000000620203", 1, 0, NULL },		/* javacardx.external */
	{ "A0000000620209", 1, 0, NULL },		/* javacardx.apdu */
	{ "A000000062020801", 1, 0, NULL },		/* javacardx.framework.util */
	{ "A000000062020802", 1, 0, NULL },		/* javacardx.framework.math */
	{ "A000000062020803", 1, 0, NULL },		/* javacardx.framework.tlv */
	/* the Security Domain package and its module: INSTALL of an SSD names these */
	{ "A0000001515350", 1, 0, "A000000151535041" },
};

/* ATR: TS 3B, T0 89 (TD1, 9 historical bytes), TD1 80 (TD2), TD2 01 (T=1), historical
 * 80 (category) 57 (issuer data, 7 bytes) "POSTCRD", TCK. */
static const uint8_t default_atr_body[] = {
	0x3B, 0x89, 0x80, 0x01, 0x80, 0x57, 'P', 'O', 'S', 'T', 'C', 'R', 'D',
};

pcard_err
pcard_cardstate_default(pcard_cardstate *cs, const pcard_cardstate_opts *opts)
{
	pcard_cardstate_opts o;
	pcard_card_keyset ks;
	pcard_card_elf elf;
	pcard_card_app *isd = &cs->isd;
	uint8_t tck = 0;
	pcard_err err = PCARD_E_INTERNAL;

	memset(&o, 0, sizeof o);
	memset(&ks, 0, sizeof ks);
	if (opts != NULL)
		o = *opts;
	if (o.scp == 0)
		o.scp = 0x03;
	if (o.scp != 0x02 && o.scp != 0x03)
		return PCARD_E_INVALID_ARG;
	if (o.i == 0)
		o.i = o.scp == 0x03 ? 0x70 : 0x55;
	if (o.key == NULL) {
		o.key = test_key;
		o.key_len = sizeof test_key;
	}
	if (o.life_cycle == 0)
		o.life_cycle = PCARD_CARD_SECURED;
	if (o.nvm_size == 0)
		o.nvm_size = 256 * 1024;
	if (o.auth_limit == 0)
		o.auth_limit = PCARD_CS_DEFAULT_AUTH_LIMIT;
	if (!lc_card_ok(o.life_cycle) ||
	    (o.scp == 0x02 && o.key_len != 16) ||
	    (o.scp == 0x03 && o.key_len != 16 && o.key_len != 24 && o.key_len != 32))
		return PCARD_E_INVALID_ARG;

	pcard_cardstate_clear(cs);
	memcpy(cs->atr, default_atr_body, sizeof default_atr_body);
	for (size_t i = 1; i < sizeof default_atr_body; i++)
		tck ^= default_atr_body[i];
	cs->atr[sizeof default_atr_body] = tck;
	cs->atr_len = sizeof default_atr_body + 1;
	/* CPLC (GP CS Table H-1 field order): fabricator 4090, type 5043, OS id 5043, dates
	 * 2025-001, serial 00000001, the rest zero. */
	{
		static const uint8_t cplc[PCARD_CS_CPLC_BYTES] = {
			0x40, 0x90, 0x50, 0x43, 0x50, 0x43, 0x50, 0x01, 0x00, 0x01,
			0x50, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01,
		};
		memcpy(cs->cplc, cplc, sizeof cplc);
	}
	{
		static const uint8_t iin[] = { 0x42, 0x00, 0x01 };
		static const uint8_t cin[] = { 0x45, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01 };
		static const uint8_t kdd[] = { 0x00, 0x00, 0x50, 0x43, 0x00, 0x00, 0x00, 0x01,
			0x00, 0x01 };
		memcpy(cs->iin, iin, sizeof iin);
		cs->iin_len = sizeof iin;
		memcpy(cs->cin, cin, sizeof cin);
		cs->cin_len = sizeof cin;
		memcpy(cs->kdd, kdd, sizeof kdd);
		cs->kdd_len = sizeof kdd;
	}
	cs->life_cycle = o.life_cycle;
	cs->flags = o.flags;
	cs->auth_limit = o.auth_limit;
	cs->max_cmd_len = 255;
	cs->nvm_size = o.nvm_size;

	if (o.isd_aid != NULL) {
		if (!aid_ok(o.isd_aid)) {
			err = PCARD_E_INVALID_ARG;
			goto out;
		}
		isd->aid = *o.isd_aid;
	} else if ((err = pcard_aid_from_hex(&isd->aid, "A000000151000000")) != PCARD_OK) {
		goto out;
	}
	/* SD, Card Lock, Card Terminate, Card Reset, CVM; Trusted Path, AM, Token, Global
	 * Delete/Lock/Registry; Receipt Generation. */
	isd->priv[0] = 0x9E;
	isd->priv[1] = 0xFC;
	isd->priv[2] = 0x80;
	isd->is_sd = 1;
	isd->sd_info.scp = o.scp;
	isd->sd_info.i = o.i;
	ks.kvn = 0xFF;
	for (uint8_t id = 1; id <= 3; id++) {
		pcard_card_key *k = &ks.keys[ks.nkeys++];

		k->id = id;
		k->type = o.scp == 0x03 ? PCARD_KEYTYPE_AES : PCARD_KEYTYPE_DES3;
		k->len = (uint16_t)o.key_len;
		memcpy(k->value, o.key, o.key_len);
	}
	if ((err = pcard_card_sd_keyset_put(isd, &ks)) != PCARD_OK)
		goto out;

	for (size_t i = 0; i < sizeof rom_packages / sizeof rom_packages[0]; i++) {
		memset(&elf, 0, sizeof elf);
		if ((err = pcard_aid_from_hex(&elf.aid, rom_packages[i].aid)) != PCARD_OK)
			goto out;
		elf.major = rom_packages[i].major;
		elf.minor = rom_packages[i].minor;
		elf.sd = isd->aid;
		elf.rom = 1;
		if (rom_packages[i].module != NULL) {
			if ((err = pcard_aid_from_hex(&elf.modules[0], rom_packages[i].module)) !=
			    PCARD_OK)
				goto out;
			elf.nmodules = 1;
		}
		if ((err = pcard_cardstate_elf_add(cs, &elf)) != PCARD_OK)
			goto out;
	}
	err = pcard_cardstate_check(cs);
out:
	pcard_wipe(&ks, sizeof ks);
	if (err != PCARD_OK)
		pcard_cardstate_clear(cs);
	return err;
}

/* ------------------------------------------------------------------------------------- */
/* Deep compare */

#define DIFF(...) do { if (why != NULL && why_cap > 0) snprintf(why, why_cap, __VA_ARGS__); \
	return 0; } while (0)

static int
bytes_eq(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
	return an == bn && (an == 0 || memcmp(a, b, an) == 0);
}

static int
key_eq(const pcard_card_key *a, const pcard_card_key *b)
{
	return a->id == b->id && a->type == b->type && a->usage == b->usage &&
	    a->access == b->access && bytes_eq(a->value, a->len, b->value, b->len) &&
	    bytes_eq(a->param, a->param_len, b->param, b->param_len);
}

static int
keyset_eq(const pcard_card_keyset *a, const pcard_card_keyset *b, const char *path, char *why,
    size_t why_cap)
{
	if (a->kvn != b->kvn)
		DIFF("%s.kvn", path);
	if (a->seq != b->seq)
		DIFF("%s.seq", path);
	if (a->fails != b->fails)
		DIFF("%s.fails", path);
	if (a->blocked != b->blocked)
		DIFF("%s.blocked", path);
	if (a->nkeys != b->nkeys)
		DIFF("%s.nkeys", path);
	for (size_t i = 0; i < a->nkeys; i++)
		if (!key_eq(&a->keys[i], &b->keys[i]))
			DIFF("%s.keys[%zu]", path, i);
	return 1;
}

static int
app_eq(const pcard_card_app *a, const pcard_card_app *b, const char *path, char *why,
    size_t why_cap)
{
	char sub[64];

	if (!pcard_aid_eq(&a->aid, &b->aid))
		DIFF("%s.aid", path);
	if (a->life_cycle != b->life_cycle)
		DIFF("%s.life_cycle", path);
	if (memcmp(a->priv, b->priv, 3) != 0)
		DIFF("%s.privileges", path);
	if (!pcard_aid_eq(&a->elf, &b->elf))
		DIFF("%s.load_file", path);
	if (!pcard_aid_eq(&a->module, &b->module))
		DIFF("%s.module", path);
	if (!pcard_aid_eq(&a->sd, &b->sd))
		DIFF("%s.sd", path);
	if (!bytes_eq(a->params, a->params_len, b->params, b->params_len))
		DIFF("%s.params", path);
	if (a->nv_quota != b->nv_quota || a->v_quota != b->v_quota)
		DIFF("%s.quotas", path);
	if (a->nv_used != b->nv_used)
		DIFF("%s.nv_used", path);
	if (!bytes_eq(a->implicit, a->nimplicit, b->implicit, b->nimplicit))
		DIFF("%s.implicit", path);
	if (a->default_selected != b->default_selected)
		DIFF("%s.default_selected", path);
	if (a->data_version != b->data_version)
		DIFF("%s.data_version", path);
	if (!bytes_eq(a->data, a->data_len, b->data, b->data_len))
		DIFF("%s.data", path);
	if (a->is_sd != b->is_sd)
		DIFF("%s.is_sd", path);
	if (a->is_sd) {
		const pcard_card_sd *x = &a->sd_info, *y = &b->sd_info;

		if (x->scp != y->scp || x->i != y->i)
			DIFF("%s.scp", path);
		if (x->min_level != y->min_level)
			DIFF("%s.min_level", path);
		if (memcmp(&x->dap, &y->dap, sizeof x->dap) != 0 ||
		    memcmp(&x->token, &y->token, sizeof x->token) != 0 ||
		    memcmp(&x->receipt, &y->receipt, sizeof x->receipt) != 0)
			DIFF("%s.key_refs", path);
		if (x->nkeysets != y->nkeysets)
			DIFF("%s.nkeysets", path);
		for (size_t i = 0; i < x->nkeysets; i++) {
			snprintf(sub, sizeof sub, "%s.keysets[%zu]", path, i);
			if (!keyset_eq(&x->keysets[i], &y->keysets[i], sub, why, why_cap))
				return 0;
		}
	}
	return 1;
}

static int
elf_eq(const pcard_card_elf *a, const pcard_card_elf *b)
{
	if (!pcard_aid_eq(&a->aid, &b->aid) || a->major != b->major || a->minor != b->minor ||
	    !pcard_aid_eq(&a->sd, &b->sd) || a->size != b->size || a->rom != b->rom ||
	    !bytes_eq(a->hash, a->hash_len, b->hash, b->hash_len) || a->nmodules != b->nmodules ||
	    a->nimports != b->nimports)
		return 0;
	for (size_t i = 0; i < a->nmodules; i++)
		if (!pcard_aid_eq(&a->modules[i], &b->modules[i]))
			return 0;
	for (size_t i = 0; i < a->nimports; i++)
		if (!pcard_aid_eq(&a->imports[i].aid, &b->imports[i].aid) ||
		    a->imports[i].major != b->imports[i].major ||
		    a->imports[i].minor != b->imports[i].minor)
			return 0;
	return 1;
}

int
pcard_cardstate_eq(const pcard_cardstate *a, const pcard_cardstate *b, char *why, size_t why_cap)
{
	char sub[32];

	if (why != NULL && why_cap > 0)
		why[0] = '\0';
	if (!bytes_eq(a->atr, a->atr_len, b->atr, b->atr_len))
		DIFF("atr");
	if (memcmp(a->cplc, b->cplc, sizeof a->cplc) != 0)
		DIFF("cplc");
	if (!bytes_eq(a->iin, a->iin_len, b->iin, b->iin_len))
		DIFF("iin");
	if (!bytes_eq(a->cin, a->cin_len, b->cin, b->cin_len))
		DIFF("cin");
	if (!bytes_eq(a->kdd, a->kdd_len, b->kdd, b->kdd_len))
		DIFF("kdd");
	if (a->life_cycle != b->life_cycle)
		DIFF("life_cycle");
	if (a->flags != b->flags)
		DIFF("flags");
	if (a->auth_limit != b->auth_limit)
		DIFF("auth_limit");
	if (a->max_cmd_len != b->max_cmd_len)
		DIFF("max_cmd_len");
	if (a->nvm_size != b->nvm_size || a->nvm_used != b->nvm_used)
		DIFF("memory");
	if (a->receipt_counter != b->receipt_counter)
		DIFF("receipt_counter");
	if (!app_eq(&a->isd, &b->isd, "isd", why, why_cap))
		return 0;
	if (a->nelfs != b->nelfs)
		DIFF("nelfs");
	for (size_t i = 0; i < a->nelfs; i++)
		if (!elf_eq(&a->elfs[i], &b->elfs[i]))
			DIFF("elfs[%zu]", i);
	if (a->napps != b->napps)
		DIFF("napps");
	for (size_t i = 0; i < a->napps; i++) {
		snprintf(sub, sizeof sub, "apps[%zu]", i);
		if (!app_eq(&a->apps[i], &b->apps[i], sub, why, why_cap))
			return 0;
	}
	return 1;
}

#undef DIFF

/* ------------------------------------------------------------------------------------- */
/* Binary body (docs/card-file.md, "Body"). Every record that has children is preceded by
 * its length, so the reader hands each one a sub-reader over exactly its bytes. */

static void
wr_aid(pcard_wr *w, const pcard_aid *a)
{
	pcard_wr_lv(w, a->b, a->len);
}

static void
wr_keyset(pcard_wr *w, const pcard_card_keyset *ks)
{
	pcard_wr_u8(w, ks->kvn);
	pcard_wr_u24(w, ks->seq);
	pcard_wr_u16(w, ks->fails);
	pcard_wr_u8(w, ks->blocked);
	pcard_wr_u8(w, ks->nkeys);
	for (size_t i = 0; i < ks->nkeys; i++) {
		const pcard_card_key *k = &ks->keys[i];

		pcard_wr_u8(w, k->id);
		pcard_wr_u8(w, k->type);
		pcard_wr_u16(w, k->len);
		pcard_wr_bytes(w, k->value, k->len);
		pcard_wr_lv(w, k->param, k->param_len);
		pcard_wr_u8(w, k->usage);
		pcard_wr_u8(w, k->access);
	}
}

/* Writes a u16/u32 length placeholder, returns its offset; patch_len fills it in. */
static size_t
len_begin(pcard_wr *w, size_t width)
{
	size_t off = pcard_wr_len(w);

	pcard_wr_fill(w, 0, width);
	return off;
}

static void
len_end(pcard_wr *w, size_t off, size_t width)
{
	size_t n = pcard_wr_len(w) - off - width;
	uint8_t *p = pcard_wr_at(w, off);

	/* NULL after an overflow: the size is still counted, pcard_wr_finish reports it */
	if (p == NULL || pcard_wr_at(w, off + width - 1) == NULL)
		return;
	for (size_t i = 0; i < width; i++)
		p[i] = (uint8_t)(n >> (8 * (width - 1 - i)));
}

static void
wr_app(pcard_wr *w, const pcard_card_app *a)
{
	wr_aid(w, &a->aid);
	pcard_wr_u8(w, a->life_cycle);
	pcard_wr_bytes(w, a->priv, 3);
	wr_aid(w, &a->elf);
	wr_aid(w, &a->module);
	wr_aid(w, &a->sd);
	pcard_wr_lv(w, a->params, a->params_len);
	pcard_wr_u32(w, a->nv_quota);
	pcard_wr_u32(w, a->v_quota);
	pcard_wr_u32(w, a->nv_used);
	pcard_wr_lv(w, a->implicit, a->nimplicit);
	pcard_wr_u8(w, a->default_selected);
	pcard_wr_u32(w, a->data_version);
	pcard_wr_u32(w, (uint32_t)a->data_len);
	pcard_wr_bytes(w, a->data, a->data_len);
	pcard_wr_u8(w, a->is_sd);
	if (a->is_sd) {
		const pcard_card_sd *sd = &a->sd_info;

		pcard_wr_u8(w, sd->scp);
		pcard_wr_u8(w, sd->i);
		pcard_wr_u8(w, sd->min_level);
		pcard_wr_u8(w, sd->dap.kvn);
		pcard_wr_u8(w, sd->dap.id);
		pcard_wr_u8(w, sd->token.kvn);
		pcard_wr_u8(w, sd->token.id);
		pcard_wr_u8(w, sd->receipt.kvn);
		pcard_wr_u8(w, sd->receipt.id);
		pcard_wr_u8(w, (uint8_t)sd->nkeysets);
		for (size_t i = 0; i < sd->nkeysets; i++) {
			size_t off = len_begin(w, 2);

			wr_keyset(w, &sd->keysets[i]);
			len_end(w, off, 2);
		}
	}
}

static void
wr_elf(pcard_wr *w, const pcard_card_elf *e)
{
	wr_aid(w, &e->aid);
	pcard_wr_u8(w, e->major);
	pcard_wr_u8(w, e->minor);
	wr_aid(w, &e->sd);
	pcard_wr_u32(w, e->size);
	pcard_wr_u8(w, e->rom);
	pcard_wr_lv(w, e->hash, e->hash_len);
	pcard_wr_u8(w, e->nmodules);
	for (size_t i = 0; i < e->nmodules; i++)
		wr_aid(w, &e->modules[i]);
	pcard_wr_u8(w, e->nimports);
	for (size_t i = 0; i < e->nimports; i++) {
		wr_aid(w, &e->imports[i].aid);
		pcard_wr_u8(w, e->imports[i].major);
		pcard_wr_u8(w, e->imports[i].minor);
	}
}

pcard_err
pcard_cardstate_encode(const pcard_cardstate *cs, uint8_t *out, size_t out_cap, size_t *out_len)
{
	pcard_wr w;
	size_t off, n;
	pcard_err err;

	if (cs == NULL || out_len == NULL || (out == NULL && out_cap != 0))
		return PCARD_E_INVALID_ARG;
	/* the checks also guarantee every LV below fits in one length byte */
	if ((err = pcard_cardstate_check(cs)) != PCARD_OK)
		return PCARD_E_INVALID_ARG;
	pcard_wr_init(&w, out, out_cap);
	pcard_wr_lv(&w, cs->atr, cs->atr_len);
	pcard_wr_bytes(&w, cs->cplc, sizeof cs->cplc);
	pcard_wr_lv(&w, cs->iin, cs->iin_len);
	pcard_wr_lv(&w, cs->cin, cs->cin_len);
	pcard_wr_lv(&w, cs->kdd, cs->kdd_len);
	pcard_wr_u8(&w, cs->life_cycle);
	pcard_wr_u8(&w, cs->flags);
	pcard_wr_u8(&w, cs->auth_limit);
	pcard_wr_u16(&w, cs->max_cmd_len);
	pcard_wr_u32(&w, cs->nvm_size);
	pcard_wr_u32(&w, cs->nvm_used);
	pcard_wr_u16(&w, (uint16_t)cs->receipt_counter);
	off = len_begin(&w, 4);
	wr_app(&w, &cs->isd);
	len_end(&w, off, 4);
	pcard_wr_u16(&w, (uint16_t)cs->nelfs);
	for (size_t i = 0; i < cs->nelfs; i++) {
		off = len_begin(&w, 4);
		wr_elf(&w, &cs->elfs[i]);
		len_end(&w, off, 4);
	}
	pcard_wr_u16(&w, (uint16_t)cs->napps);
	for (size_t i = 0; i < cs->napps; i++) {
		off = len_begin(&w, 4);
		wr_app(&w, &cs->apps[i]);
		len_end(&w, off, 4);
	}
	err = pcard_wr_finish(&w, &n);
	*out_len = pcard_wr_len(&w);
	if (err == PCARD_E_NOSPACE && out == NULL)
		err = PCARD_OK;		/* measuring */
	return err;
}

/* Maps a reader failure inside the body to the documented errors. */
static pcard_err
rd_err(pcard_err e)
{
	return e == PCARD_E_TRAILING_DATA ? e : e == PCARD_OK ? e : PCARD_E_TRUNCATED;
}

static pcard_err
rd_lv_into(pcard_rd *r, uint8_t *dst, size_t cap, uint8_t *len)
{
	pcard_rd v;
	size_t n;
	pcard_err err;

	if ((err = pcard_rd_lv(r, &v)) != PCARD_OK)
		return rd_err(err);
	n = pcard_rd_left(&v);
	if (n > cap)
		return PCARD_E_BAD_FILE;
	*len = (uint8_t)n;
	return pcard_rd_copy(&v, n, dst);
}

static pcard_err
rd_aid(pcard_rd *r, pcard_aid *a, int optional)
{
	pcard_err err;

	memset(a, 0, sizeof *a);
	if ((err = rd_lv_into(r, a->b, sizeof a->b, &a->len)) != PCARD_OK)
		return err;
	if (optional ? !aid_ok_opt(a) : !aid_ok(a))
		return PCARD_E_BAD_FILE;
	return PCARD_OK;
}

/* Reads a length of width bytes and gives a sub-reader over that many bytes. */
static pcard_err
rd_record(pcard_rd *r, size_t width, pcard_rd *sub)
{
	uint32_t n = 0;
	uint16_t n16;
	pcard_err err;

	if (width == 2) {
		if ((err = pcard_rd_u16(r, &n16)) != PCARD_OK)
			return rd_err(err);
		n = n16;
	} else if ((err = pcard_rd_u32(r, &n)) != PCARD_OK) {
		return rd_err(err);
	}
	return rd_err(pcard_rd_sub(r, n, sub));
}

static pcard_err
rd_keyset(pcard_rd *r, pcard_card_keyset *ks)
{
	pcard_err err;

	memset(ks, 0, sizeof *ks);
	if ((err = pcard_rd_u8(r, &ks->kvn)) != PCARD_OK ||
	    (err = pcard_rd_u24(r, &ks->seq)) != PCARD_OK ||
	    (err = pcard_rd_u16(r, &ks->fails)) != PCARD_OK ||
	    (err = pcard_rd_u8(r, &ks->blocked)) != PCARD_OK ||
	    (err = pcard_rd_u8(r, &ks->nkeys)) != PCARD_OK)
		return rd_err(err);
	if (ks->nkeys > PCARD_CS_MAX_KEYS)
		return PCARD_E_BAD_FILE;
	for (size_t i = 0; i < ks->nkeys; i++) {
		pcard_card_key *k = &ks->keys[i];

		if ((err = pcard_rd_u8(r, &k->id)) != PCARD_OK ||
		    (err = pcard_rd_u8(r, &k->type)) != PCARD_OK ||
		    (err = pcard_rd_u16(r, &k->len)) != PCARD_OK)
			return rd_err(err);
		if (k->len > PCARD_CS_KEY_MAX)
			return PCARD_E_BAD_FILE;
		if ((err = pcard_rd_copy(r, k->len, k->value)) != PCARD_OK)
			return rd_err(err);
		if ((err = rd_lv_into(r, k->param, sizeof k->param, &k->param_len)) != PCARD_OK)
			return err;
		if ((err = pcard_rd_u8(r, &k->usage)) != PCARD_OK ||
		    (err = pcard_rd_u8(r, &k->access)) != PCARD_OK)
			return rd_err(err);
	}
	return rd_err(pcard_rd_expect_end(r));
}

/* Reads one application record into a (zeroed by the caller); on error a may hold heap
 * data, which the caller releases with pcard_card_app_clear. */
static pcard_err
rd_app(pcard_rd *r, pcard_card_app *a)
{
	uint32_t dlen;
	const uint8_t *d;
	pcard_err err;

	if ((err = rd_aid(r, &a->aid, 0)) != PCARD_OK)
		return err;
	if ((err = pcard_rd_u8(r, &a->life_cycle)) != PCARD_OK ||
	    (err = pcard_rd_copy(r, 3, a->priv)) != PCARD_OK)
		return rd_err(err);
	if ((err = rd_aid(r, &a->elf, 1)) != PCARD_OK ||
	    (err = rd_aid(r, &a->module, 1)) != PCARD_OK ||
	    (err = rd_aid(r, &a->sd, 1)) != PCARD_OK ||
	    (err = rd_lv_into(r, a->params, sizeof a->params, &a->params_len)) != PCARD_OK)
		return err;
	if ((err = pcard_rd_u32(r, &a->nv_quota)) != PCARD_OK ||
	    (err = pcard_rd_u32(r, &a->v_quota)) != PCARD_OK ||
	    (err = pcard_rd_u32(r, &a->nv_used)) != PCARD_OK)
		return rd_err(err);
	if ((err = rd_lv_into(r, a->implicit, sizeof a->implicit, &a->nimplicit)) != PCARD_OK)
		return err;
	if ((err = pcard_rd_u8(r, &a->default_selected)) != PCARD_OK ||
	    (err = pcard_rd_u32(r, &a->data_version)) != PCARD_OK ||
	    (err = pcard_rd_u32(r, &dlen)) != PCARD_OK)
		return rd_err(err);
	if (dlen > PCARD_CS_DATA_MAX)
		return PCARD_E_BAD_FILE;
	if ((err = pcard_rd_view(r, dlen, &d)) != PCARD_OK)
		return rd_err(err);
	if ((err = pcard_card_app_set_data(a, d, dlen)) != PCARD_OK)
		return err;
	if ((err = pcard_rd_u8(r, &a->is_sd)) != PCARD_OK)
		return rd_err(err);
	if (a->is_sd > 1)
		return PCARD_E_BAD_FILE;
	if (a->is_sd) {
		pcard_card_sd *sd = &a->sd_info;
		uint8_t nks;

		if ((err = pcard_rd_u8(r, &sd->scp)) != PCARD_OK ||
		    (err = pcard_rd_u8(r, &sd->i)) != PCARD_OK ||
		    (err = pcard_rd_u8(r, &sd->min_level)) != PCARD_OK ||
		    (err = pcard_rd_u8(r, &sd->dap.kvn)) != PCARD_OK ||
		    (err = pcard_rd_u8(r, &sd->dap.id)) != PCARD_OK ||
		    (err = pcard_rd_u8(r, &sd->token.kvn)) != PCARD_OK ||
		    (err = pcard_rd_u8(r, &sd->token.id)) != PCARD_OK ||
		    (err = pcard_rd_u8(r, &sd->receipt.kvn)) != PCARD_OK ||
		    (err = pcard_rd_u8(r, &sd->receipt.id)) != PCARD_OK ||
		    (err = pcard_rd_u8(r, &nks)) != PCARD_OK)
			return rd_err(err);
		if (nks > PCARD_CS_MAX_KEYSETS)
			return PCARD_E_BAD_FILE;
		if (nks > 0 && (sd->keysets = calloc(nks, sizeof *sd->keysets)) == NULL)
			return PCARD_E_NOMEM;
		for (size_t i = 0; i < nks; i++) {
			pcard_rd sub;

			if ((err = rd_record(r, 2, &sub)) != PCARD_OK)
				return err;
			sd->nkeysets = i + 1;	/* counted before filling, so clear wipes it */
			if ((err = rd_keyset(&sub, &sd->keysets[i])) != PCARD_OK)
				return err;
		}
	}
	return rd_err(pcard_rd_expect_end(r));
}

static pcard_err
rd_elf(pcard_rd *r, pcard_card_elf *e)
{
	pcard_err err;

	memset(e, 0, sizeof *e);
	if ((err = rd_aid(r, &e->aid, 0)) != PCARD_OK)
		return err;
	if ((err = pcard_rd_u8(r, &e->major)) != PCARD_OK ||
	    (err = pcard_rd_u8(r, &e->minor)) != PCARD_OK)
		return rd_err(err);
	if ((err = rd_aid(r, &e->sd, 1)) != PCARD_OK)
		return err;
	if ((err = pcard_rd_u32(r, &e->size)) != PCARD_OK ||
	    (err = pcard_rd_u8(r, &e->rom)) != PCARD_OK)
		return rd_err(err);
	if ((err = rd_lv_into(r, e->hash, sizeof e->hash, &e->hash_len)) != PCARD_OK)
		return err;
	if ((err = pcard_rd_u8(r, &e->nmodules)) != PCARD_OK)
		return rd_err(err);
	if (e->nmodules > PCARD_CS_MAX_MODULES)
		return PCARD_E_BAD_FILE;
	for (size_t i = 0; i < e->nmodules; i++)
		if ((err = rd_aid(r, &e->modules[i], 0)) != PCARD_OK)
			return err;
	if ((err = pcard_rd_u8(r, &e->nimports)) != PCARD_OK)
		return rd_err(err);
	if (e->nimports > PCARD_CS_MAX_IMPORTS)
		return PCARD_E_BAD_FILE;
	for (size_t i = 0; i < e->nimports; i++) {
		if ((err = rd_aid(r, &e->imports[i].aid, 0)) != PCARD_OK)
			return err;
		if ((err = pcard_rd_u8(r, &e->imports[i].major)) != PCARD_OK ||
		    (err = pcard_rd_u8(r, &e->imports[i].minor)) != PCARD_OK)
			return rd_err(err);
	}
	return rd_err(pcard_rd_expect_end(r));
}

pcard_err
pcard_cardstate_decode(const uint8_t *body, size_t n, pcard_cardstate *cs)
{
	pcard_rd r, sub;
	uint16_t cnt, rc;
	pcard_err err = PCARD_E_INTERNAL;

	if (cs == NULL || (body == NULL && n > 0))
		return PCARD_E_INVALID_ARG;
	pcard_cardstate_clear(cs);
	pcard_rd_init(&r, body, n);
	if ((err = rd_lv_into(&r, cs->atr, sizeof cs->atr, &cs->atr_len)) != PCARD_OK)
		goto out;
	if ((err = rd_err(pcard_rd_copy(&r, sizeof cs->cplc, cs->cplc))) != PCARD_OK)
		goto out;
	if ((err = rd_lv_into(&r, cs->iin, sizeof cs->iin, &cs->iin_len)) != PCARD_OK ||
	    (err = rd_lv_into(&r, cs->cin, sizeof cs->cin, &cs->cin_len)) != PCARD_OK ||
	    (err = rd_lv_into(&r, cs->kdd, sizeof cs->kdd, &cs->kdd_len)) != PCARD_OK)
		goto out;
	if ((err = rd_err(pcard_rd_u8(&r, &cs->life_cycle))) != PCARD_OK ||
	    (err = rd_err(pcard_rd_u8(&r, &cs->flags))) != PCARD_OK ||
	    (err = rd_err(pcard_rd_u8(&r, &cs->auth_limit))) != PCARD_OK ||
	    (err = rd_err(pcard_rd_u16(&r, &cs->max_cmd_len))) != PCARD_OK ||
	    (err = rd_err(pcard_rd_u32(&r, &cs->nvm_size))) != PCARD_OK ||
	    (err = rd_err(pcard_rd_u32(&r, &cs->nvm_used))) != PCARD_OK ||
	    (err = rd_err(pcard_rd_u16(&r, &rc))) != PCARD_OK)
		goto out;
	cs->receipt_counter = rc;
	if ((err = rd_record(&r, 4, &sub)) != PCARD_OK || (err = rd_app(&sub, &cs->isd)) != PCARD_OK)
		goto out;

	if ((err = rd_err(pcard_rd_u16(&r, &cnt))) != PCARD_OK)
		goto out;
	err = PCARD_E_BAD_FILE;
	if (cnt > PCARD_CS_MAX_ELFS)
		goto out;
	err = PCARD_E_NOMEM;
	if (cnt > 0 && (cs->elfs = calloc(cnt, sizeof *cs->elfs)) == NULL)
		goto out;
	for (size_t i = 0; i < cnt; i++) {
		if ((err = rd_record(&r, 4, &sub)) != PCARD_OK ||
		    (err = rd_elf(&sub, &cs->elfs[i])) != PCARD_OK)
			goto out;
		cs->nelfs = i + 1;
	}

	if ((err = rd_err(pcard_rd_u16(&r, &cnt))) != PCARD_OK)
		goto out;
	err = PCARD_E_BAD_FILE;
	if (cnt > PCARD_CS_MAX_APPS)
		goto out;
	err = PCARD_E_NOMEM;
	if (cnt > 0 && (cs->apps = calloc(cnt, sizeof *cs->apps)) == NULL)
		goto out;
	for (size_t i = 0; i < cnt; i++) {
		cs->napps = i + 1;	/* before filling: clear releases a half-read entry */
		if ((err = rd_record(&r, 4, &sub)) != PCARD_OK ||
		    (err = rd_app(&sub, &cs->apps[i])) != PCARD_OK)
			goto out;
	}
	if ((err = pcard_rd_expect_end(&r)) != PCARD_OK)
		goto out;
	err = pcard_cardstate_check(cs);
out:
	if (err != PCARD_OK)
		pcard_cardstate_clear(cs);
	return err;
}

/* ------------------------------------------------------------------------------------- */
/* JSON view (docs/card-file.md, "JSON dump") */

const char *
pcard_card_lc_name(uint8_t lc)
{
	switch (lc) {
	case PCARD_CARD_OP_READY: return "OP_READY";
	case PCARD_CARD_INITIALIZED: return "INITIALIZED";
	case PCARD_CARD_SECURED: return "SECURED";
	case PCARD_CARD_LOCKED: return "CARD_LOCKED";
	case PCARD_CARD_TERMINATED: return "TERMINATED";
	default: return "UNKNOWN";
	}
}

static const char *
app_lc_name(uint8_t lc, int is_sd)
{
	if (lc & PCARD_APP_LOCKED_BIT)
		return "LOCKED";
	if (lc == PCARD_APP_INSTALLED)
		return "INSTALLED";
	if (lc == PCARD_APP_SELECTABLE)
		return "SELECTABLE";
	if (is_sd && lc == PCARD_SD_PERSONALIZED)
		return "PERSONALIZED";
	return "APPLICATION_SPECIFIC";
}

static const char *
keytype_name(uint8_t t)
{
	switch (t) {
	case PCARD_KEYTYPE_DES3: return "DES3";
	case PCARD_KEYTYPE_AES: return "AES";
	case PCARD_KEYTYPE_RSA_PUB: return "RSA_PUBLIC";
	case PCARD_KEYTYPE_EC_PUB: return "EC_PUBLIC";
	default: return "UNKNOWN";
	}
}

/* A new JSON string of the bytes in upper-case hex (NULL on failure). */
static json_t *
jhex(const uint8_t *p, size_t n)
{
	char stack[2 * 64 + 1], *buf = stack;
	json_t *j = NULL;

	if (2 * n + 1 > sizeof stack && (buf = malloc(2 * n + 1)) == NULL)
		return NULL;
	if (pcard_hex_encode(p, n, buf, 2 * n + 1) == PCARD_OK)
		j = json_string(buf);
	if (buf != stack)
		free(buf);
	return j;
}

static json_t *
jaid(const pcard_aid *a)
{
	return a->len == 0 ? json_null() : jhex(a->b, a->len);
}

static json_t *
jbyte(uint8_t b)
{
	return jhex(&b, 1);
}

/* Sets o[k] = v, taking v's reference; a NULL v (allocation failure) marks *bad. */
static void
jset(json_t *o, const char *k, json_t *v, int *bad)
{
	if (v == NULL || json_object_set_new(o, k, v) != 0)
		*bad = 1;
}

static void
jpush(json_t *a, json_t *v, int *bad)
{
	if (v == NULL || json_array_append_new(a, v) != 0)
		*bad = 1;
}

static json_t *
jkeyref(const pcard_card_keyref *r, int *bad)
{
	json_t *o;

	if (r->kvn == 0)
		return json_null();
	if ((o = json_object()) == NULL)
		return NULL;
	jset(o, "kvn", jbyte(r->kvn), bad);
	jset(o, "id", jbyte(r->id), bad);
	return o;
}

static json_t *
jkey(const pcard_card_key *k, int *bad)
{
	uint8_t kcv[PCARD_KCV_BYTES], fp[32];
	size_t fpn;
	json_t *o = json_object();

	if (o == NULL)
		return NULL;
	jset(o, "id", jbyte(k->id), bad);
	jset(o, "type", json_string(keytype_name(k->type)), bad);
	jset(o, "length", json_integer(k->len), bad);
	jset(o, "usage", jbyte(k->usage), bad);
	jset(o, "access", jbyte(k->access), bad);
	if (k->type == PCARD_KEYTYPE_AES || k->type == PCARD_KEYTYPE_DES3) {
		pcard_err e = k->type == PCARD_KEYTYPE_AES ? pcard_kcv_aes(k->value, k->len, kcv) :
		    pcard_kcv_des3(k->value, k->len, kcv);

		jset(o, "kcv", e == PCARD_OK ? jhex(kcv, sizeof kcv) : NULL, bad);
	} else {
		/* public keys: a fingerprint, SHA-256 over value || param, first 8 bytes */
		uint8_t buf[PCARD_CS_KEY_MAX + PCARD_CS_KEYPARAM_MAX];

		memcpy(buf, k->value, k->len);
		memcpy(buf + k->len, k->param, k->param_len);
		if (pcard_digest(PCARD_HASH_SHA256, buf, (size_t)k->len + k->param_len, fp,
		    sizeof fp, &fpn) != PCARD_OK)
			*bad = 1;
		else
			jset(o, "fingerprint", jhex(fp, 8), bad);
		if (k->type == PCARD_KEYTYPE_RSA_PUB)
			jset(o, "exponent", jhex(k->param, k->param_len), bad);
		else if (k->param_len == 1)
			jset(o, "curve", json_string(k->param[0] == 0 ? "P-256" :
			    k->param[0] == 1 ? "P-384" : "P-521"), bad);
	}
	pcard_wipe(kcv, sizeof kcv);
	return o;
}

static json_t *
jsd(const pcard_card_sd *sd, uint8_t auth_limit, int *bad)
{
	json_t *o = json_object(), *arr = json_array();

	if (o == NULL || arr == NULL) {
		json_decref(o);
		json_decref(arr);
		return NULL;
	}
	jset(o, "scp", jbyte(sd->scp), bad);
	jset(o, "i", jbyte(sd->i), bad);
	jset(o, "min_security_level", jbyte(sd->min_level), bad);
	jset(o, "dap_key", jkeyref(&sd->dap, bad), bad);
	jset(o, "token_key", jkeyref(&sd->token, bad), bad);
	jset(o, "receipt_key", jkeyref(&sd->receipt, bad), bad);
	for (size_t i = 0; i < sd->nkeysets; i++) {
		const pcard_card_keyset *ks = &sd->keysets[i];
		json_t *k = json_object(), *keys = json_array();

		if (k == NULL || keys == NULL) {
			json_decref(k);
			json_decref(keys);
			*bad = 1;
			break;
		}
		jset(k, "kvn", jbyte(ks->kvn), bad);
		jset(k, "sequence_counter", json_integer(ks->seq), bad);
		jset(k, "failed_authentications", json_integer(ks->fails), bad);
		jset(k, "failure_limit", json_integer(auth_limit), bad);
		jset(k, "blocked", json_boolean(ks->blocked), bad);
		for (size_t j = 0; j < ks->nkeys; j++)
			jpush(keys, jkey(&ks->keys[j], bad), bad);
		jset(k, "keys", keys, bad);
		jpush(arr, k, bad);
	}
	jset(o, "key_sets", arr, bad);
	return o;
}

static json_t *
japp(const pcard_card_app *a, uint8_t auth_limit, int is_isd, int *bad)
{
	json_t *o = json_object(), *imp = json_array(), *q = json_object();
	uint8_t dig[32];
	size_t dn;

	if (o == NULL || imp == NULL || q == NULL) {
		json_decref(o);
		json_decref(imp);
		json_decref(q);
		return NULL;
	}
	jset(o, "aid", jaid(&a->aid), bad);
	if (!is_isd) {
		jset(o, "life_cycle", jbyte(a->life_cycle), bad);
		jset(o, "life_cycle_name", json_string(app_lc_name(a->life_cycle, a->is_sd)), bad);
	}
	jset(o, "privileges", jhex(a->priv, 3), bad);
	jset(o, "load_file", jaid(&a->elf), bad);
	jset(o, "module", jaid(&a->module), bad);
	jset(o, "security_domain", jaid(&a->sd), bad);
	jset(o, "install_parameters", jhex(a->params, a->params_len), bad);
	jset(q, "non_volatile", json_integer(a->nv_quota), bad);
	jset(q, "volatile", json_integer(a->v_quota), bad);
	jset(o, "quotas", q, bad);
	jset(o, "non_volatile_used", json_integer(a->nv_used), bad);
	for (size_t i = 0; i < a->nimplicit; i++)
		jpush(imp, jbyte(a->implicit[i]), bad);
	jset(o, "implicit_selection", imp, bad);
	jset(o, "default_selected", json_boolean(a->default_selected), bad);
	jset(o, "data_version", json_integer(a->data_version), bad);
	jset(o, "data", jhex(a->data, a->data_len), bad);
	if (pcard_digest(PCARD_HASH_SHA256, a->data, a->data_len, dig, sizeof dig, &dn) != PCARD_OK)
		*bad = 1;
	else
		jset(o, "data_sha256", jhex(dig, dn), bad);
	if (a->is_sd)
		jset(o, "sd", jsd(&a->sd_info, auth_limit, bad), bad);
	return o;
}

static json_t *
jelf(const pcard_card_elf *e, int *bad)
{
	json_t *o = json_object(), *mods = json_array(), *imps = json_array();
	char ver[8];

	if (o == NULL || mods == NULL || imps == NULL) {
		json_decref(o);
		json_decref(mods);
		json_decref(imps);
		return NULL;
	}
	jset(o, "aid", jaid(&e->aid), bad);
	snprintf(ver, sizeof ver, "%u.%u", e->major, e->minor);
	jset(o, "version", json_string(ver), bad);
	jset(o, "security_domain", jaid(&e->sd), bad);
	jset(o, "size", json_integer(e->size), bad);
	jset(o, "rom", json_boolean(e->rom), bad);
	jset(o, "lfdb_hash", e->hash_len ? jhex(e->hash, e->hash_len) : json_null(), bad);
	for (size_t i = 0; i < e->nmodules; i++)
		jpush(mods, jaid(&e->modules[i]), bad);
	jset(o, "modules", mods, bad);
	for (size_t i = 0; i < e->nimports; i++) {
		json_t *im = json_object();

		if (im == NULL) {
			*bad = 1;
			break;
		}
		snprintf(ver, sizeof ver, "%u.%u", e->imports[i].major, e->imports[i].minor);
		jset(im, "aid", jaid(&e->imports[i].aid), bad);
		jset(im, "version", json_string(ver), bad);
		jpush(imps, im, bad);
	}
	jset(o, "imports", imps, bad);
	return o;
}

pcard_err
pcard_cardstate_json(const pcard_cardstate *cs, json_t **out)
{
	json_t *o = NULL, *id = NULL, *mem = NULL, *cfg = NULL, *elfs = NULL, *apps = NULL;
	int bad = 0;
	pcard_err err = PCARD_E_NOMEM;

	if (cs == NULL || out == NULL)
		return PCARD_E_INVALID_ARG;
	*out = NULL;
	if ((o = json_object()) == NULL || (id = json_object()) == NULL ||
	    (mem = json_object()) == NULL || (cfg = json_object()) == NULL ||
	    (elfs = json_array()) == NULL || (apps = json_array()) == NULL)
		goto out;
	jset(o, "format", json_integer(1), &bad);
	jset(id, "atr", jhex(cs->atr, cs->atr_len), &bad);
	jset(id, "cplc", jhex(cs->cplc, sizeof cs->cplc), &bad);
	jset(id, "iin", jhex(cs->iin, cs->iin_len), &bad);
	jset(id, "cin", jhex(cs->cin, cs->cin_len), &bad);
	jset(id, "kdd", jhex(cs->kdd, cs->kdd_len), &bad);
	jset(o, "identity", id, &bad);
	id = NULL;
	jset(o, "life_cycle", jbyte(cs->life_cycle), &bad);
	jset(o, "life_cycle_name", json_string(pcard_card_lc_name(cs->life_cycle)), &bad);
	jset(mem, "size", json_integer(cs->nvm_size), &bad);
	jset(mem, "used", json_integer(cs->nvm_used), &bad);
	jset(o, "memory", mem, &bad);
	mem = NULL;
	jset(cfg, "failure_limit", json_integer(cs->auth_limit), &bad);
	jset(cfg, "max_command_length", json_integer(cs->max_cmd_len), &bad);
	jset(cfg, "put_key_replaces_ff",
	    json_boolean(cs->flags & PCARD_CS_FLAG_PUTKEY_REPLACES_FF), &bad);
	jset(o, "config", cfg, &bad);
	cfg = NULL;
	jset(o, "receipt_counter", json_integer(cs->receipt_counter), &bad);
	jset(o, "isd", japp(&cs->isd, cs->auth_limit, 1, &bad), &bad);
	for (size_t i = 0; i < cs->nelfs; i++)
		jpush(elfs, jelf(&cs->elfs[i], &bad), &bad);
	jset(o, "load_files", elfs, &bad);
	elfs = NULL;
	for (size_t i = 0; i < cs->napps; i++)
		jpush(apps, japp(&cs->apps[i], cs->auth_limit, 0, &bad), &bad);
	jset(o, "applications", apps, &bad);
	apps = NULL;
	if (bad)
		goto out;
	*out = o;
	o = NULL;
	err = PCARD_OK;
out:
	json_decref(o);
	json_decref(id);
	json_decref(mem);
	json_decref(cfg);
	json_decref(elfs);
	json_decref(apps);
	return err;
}
