/*
 * natives.c: helpers shared by postcard-sim's native applets (natives.h).
 */
#include <stdlib.h>
#include <string.h>

#include "natives.h"
#include "postcard/crypto.h"
#include "postcard/gp.h"
#include "postcard/tlv.h"

const pcard_cap_import pcard_native_imports[PCARD_NATIVE_NIMPORTS] = {
	{ { 7, { 0xA0, 0x00, 0x00, 0x00, 0x62, 0x00, 0x01 } }, 1, 0 },	/* java.lang */
	{ { 7, { 0xA0, 0x00, 0x00, 0x00, 0x62, 0x01, 0x01 } }, 1, 3 },	/* javacard.framework */
};

const pcard_applet_ops *
pcard_native_find(const char *name)
{
	if (name == NULL)
		return NULL;
	for (size_t i = 0; pcard_applets[i] != NULL; i++)
		if (strcmp(pcard_applets[i]->name, name) == 0)
			return pcard_applets[i];
	return NULL;
}

uint32_t
pcard_native_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void
pcard_native_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

uint16_t
pcard_native_store_msg(uint8_t p1, const uint8_t *data, size_t n, pcard_rd *msg, int *encrypted)
{
	uint8_t enc = p1 & 0x60, fmt = p1 & 0x18;
	size_t len = n;

	*encrypted = 0;
	if ((enc != PCARD_SD_ENC_NONE && enc != PCARD_SD_ENC_ALL) ||
	    (fmt != PCARD_SD_FMT_NONE && fmt != PCARD_SD_FMT_BER))
		return PCARD_NSW_WRONG_P1P2;
	if (enc == PCARD_SD_ENC_ALL) {
		if (n == 0 || pcard_unpad_iso(data, n, &len) != PCARD_OK)
			return PCARD_NSW_WRONG_DATA;
		*encrypted = 1;
	}
	if (len == 0)
		return PCARD_NSW_WRONG_DATA;
	pcard_rd_init(msg, data, len);
	return PCARD_NSW_OK;
}

pcard_err
pcard_native_cap_params(const pcard_applet_ops *a, pcard_cap_aid *mods, size_t mods_cap,
    pcard_capbuild_params *p)
{
	if (a->nmodules > mods_cap)
		return PCARD_E_NOSPACE;
	memset(p, 0, sizeof *p);
	p->package.len = a->package_len;
	memcpy(p->package.b, a->package, a->package_len);
	p->pkg_major = a->pkg_major;
	p->pkg_minor = a->pkg_minor;
	for (size_t i = 0; i < a->nmodules; i++) {
		mods[i].len = a->modules[i].len;
		memcpy(mods[i].b, a->modules[i].b, a->modules[i].len);
	}
	p->napplets = a->nmodules;
	p->applets = mods;
	p->nimports = PCARD_NATIVE_NIMPORTS;
	p->imports = pcard_native_imports;
	return PCARD_OK;
}

uint16_t
pcard_native_next_item(pcard_rd *msg, uint32_t *tag, const uint8_t **v, size_t *vn)
{
	pcard_rd val;

	if (pcard_tlv_next(msg, tag, &val) != PCARD_OK)
		return PCARD_NSW_WRONG_DATA;
	*vn = pcard_rd_left(&val);
	(void)pcard_rd_view(&val, *vn, v);
	return PCARD_NSW_OK;
}

uint16_t
pcard_native_set_data(pcard_applet_env *env, const uint8_t *blob, size_t n)
{
	pcard_err err = pcard_applet_set_data(env, blob, n);

	if (err == PCARD_E_NOSPACE)
		return PCARD_NSW_NO_MEMORY;
	return err == PCARD_OK ? PCARD_NSW_OK : PCARD_NSW_INTERNAL;
}

size_t
pcard_native_public_len(const pcard_aid *elf, const uint8_t *data, size_t n)
{
	const pcard_applet_ops *a;

	if (elf == NULL || data == NULL)
		return n;
	a = pcard_applet_find(elf->b, elf->len);
	if (a == &pcard_applet_hotp)
		return n < PCARD_HOTP_PUBLIC_BYTES ? n : PCARD_HOTP_PUBLIC_BYTES;
	if (a == &pcard_applet_purse)
		return n < PCARD_PURSE_PUBLIC_BYTES ? n : PCARD_PURSE_PUBLIC_BYTES;
	return n;
}

pcard_err
pcard_native_json_redact(const pcard_cardstate *cs, json_t *root)
{
	json_t *apps = json_object_get(root, "applications");

	if (!json_is_array(apps) || json_array_size(apps) != cs->napps)
		return PCARD_E_INTERNAL;
	for (size_t i = 0; i < cs->napps; i++) {
		const pcard_card_app *a = &cs->apps[i];
		json_t *o = json_array_get(apps, i);
		const pcard_applet_ops *ops;
		size_t pub;
		char *hex;

		if (a->is_sd) {
			if (json_object_set_new(o, "applet", json_null()) != 0)
				return PCARD_E_NOMEM;
			continue;
		}
		ops = pcard_applet_find(a->elf.b, a->elf.len);
		if (json_object_set_new(o, "applet", json_string(ops->name)) != 0)
			return PCARD_E_NOMEM;
		pub = pcard_native_public_len(&a->elf, a->data, a->data_len);
		if (pub >= a->data_len)
			continue;
		if ((hex = malloc(2 * pub + 1)) == NULL)
			return PCARD_E_NOMEM;
		(void)pcard_hex_encode(a->data, pub, hex, 2 * pub + 1);
		if (json_object_set_new(o, "data", json_string(hex)) != 0 ||
		    json_object_set_new(o, "data_redacted",
		    json_integer((json_int_t)(a->data_len - pub))) != 0) {
			free(hex);
			return PCARD_E_NOMEM;
		}
		free(hex);
	}
	return PCARD_OK;
}
