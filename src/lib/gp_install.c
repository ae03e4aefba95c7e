/*
 * gp_install.c: INSTALL (CS 11.5, gp-facts 3.8). The data field is a chain of
 * length-prefixed fields whose choice depends on the P1 role:
 *
 *   for load (02)            |ELF|SD|hash|load params|token|
 *   for install (04, 0C)     |ELF|module|instance|privs|install params|token|
 *   for make selectable (08) |00|00|instance|privs|params|token|
 *   load+install+MS (0E)     |ELF|SD|hash|load params|module|instance|privs|install params|token|
 *   for extradition (10)     |dest SD|00|app or ELF|00|params|token|
 *   for registry update (40) |SD|00|app|privs|params|token|
 *   for personalization (20) |00|00|app|00|00|00|
 *
 * Each |x| is length || x, the length one octet up to 7F, else 81 xx / 82 xx xx.
 */
#include <string.h>

#include "postcard/apdu.h"
#include "postcard/gp.h"
#include "postcard/tlv.h"
#include "gp_int.h"

#define INSTALL_DATA_MAX 4096	/* larger INSTALL data fields are refused (NOSPACE) */

static void
field(pcard_wr *w, const uint8_t *p, size_t n)
{
	pcard_wr_ber_len(w, n);
	pcard_wr_bytes(w, p, n);
}

/* 1 when params is a TLV sequence with a C9 object at its top level. */
static int
has_c9(const uint8_t *p, size_t n)
{
	pcard_rd r, v;

	pcard_rd_init(&r, p, n);
	return pcard_tlv_validate(&r) == PCARD_OK && pcard_tlv_find(&r, 0xC9, &v) == PCARD_OK;
}

static pcard_err
privs_field(pcard_wr *w, uint32_t privs, int mode)
{
	uint8_t b[3];
	size_t n = pcard_privs_encode(privs, b);

	if (privs > 0xFFFFFF)
		return PCARD_E_INVALID_ARG;
	switch (mode) {
	case PCARD_PRIVS_AUTO:
		break;
	case PCARD_PRIVS_1:
		if (n != 1)
			return PCARD_E_INVALID_ARG;
		break;
	case PCARD_PRIVS_3:
		n = 3;
		break;
	case PCARD_PRIVS_NONE:
		if (privs != 0)
			return PCARD_E_INVALID_ARG;
		n = 0;
		break;
	default:
		return PCARD_E_INVALID_ARG;
	}
	field(w, b, n);
	return PCARD_OK;
}

static pcard_err
install_params_field(pcard_wr *w, const pcard_gp_install *in)
{
	if (in->params_mode == PCARD_PARAMS_RAW) {
		field(w, in->params, in->params_len);
		return PCARD_OK;
	}
	if (in->params_mode != PCARD_PARAMS_WRAP)
		return PCARD_E_INVALID_ARG;
	if (in->params_len > 0 && has_c9(in->params, in->params_len)) {
		field(w, in->params, in->params_len);
		return PCARD_OK;
	}
	/* C9 L params; the field length is the whole C9 object's */
	{
		pcard_wr m;
		size_t c9len = 0;

		pcard_wr_init(&m, NULL, 0);
		pcard_tlv_put(&m, 0xC9, in->params, in->params_len);
		c9len = pcard_wr_len(&m);
		pcard_wr_ber_len(w, c9len);
		pcard_tlv_put(w, 0xC9, in->params, in->params_len);
	}
	return PCARD_OK;
}

static int
aid_ok(const uint8_t *p, size_t n)
{
	return n <= PCARD_GP_AID_MAX && (n == 0 || p != NULL);
}

static pcard_err
write_data(const pcard_gp_install *in, pcard_wr *w)
{
	uint8_t role = in->p1 & 0x7F;
	pcard_err err;

	if (!aid_ok(in->elf, in->elf_len) || !aid_ok(in->sd, in->sd_len) ||
	    !aid_ok(in->module, in->module_len) || !aid_ok(in->instance, in->instance_len) ||
	    (in->hash_len > 0 && in->hash == NULL) ||
	    (in->load_params_len > 0 && in->load_params == NULL) ||
	    (in->params_len > 0 && in->params == NULL) ||
	    (in->token_len > 0 && in->token == NULL) ||
	    in->hash_len > 0xFFFF || in->load_params_len > 0xFFFF || in->params_len > 0xFFFF ||
	    in->token_len > 0xFFFF)
		return PCARD_E_INVALID_ARG;
	if (in->p2 != PCARD_INSTALL_P2_NONE && in->p2 != PCARD_INSTALL_P2_COMBINED_BEGIN &&
	    in->p2 != PCARD_INSTALL_P2_COMBINED_END)
		return PCARD_E_INVALID_ARG;
	switch (role) {
	case PCARD_INSTALL_FOR_LOAD:
		field(w, in->elf, in->elf_len);
		field(w, in->sd, in->sd_len);
		field(w, in->hash, in->hash_len);
		field(w, in->load_params, in->load_params_len);
		break;
	case PCARD_INSTALL_FOR_INSTALL:
	case PCARD_INSTALL_FOR_INSTALL | PCARD_INSTALL_FOR_MAKE_SELECTABLE:
	case PCARD_INSTALL_FOR_LOAD | PCARD_INSTALL_FOR_INSTALL |
	    PCARD_INSTALL_FOR_MAKE_SELECTABLE:
		if ((role & PCARD_INSTALL_FOR_LOAD) != 0) {
			field(w, in->elf, in->elf_len);
			field(w, in->sd, in->sd_len);
			field(w, in->hash, in->hash_len);
			field(w, in->load_params, in->load_params_len);
			field(w, in->module, in->module_len);
		} else {
			field(w, in->elf, in->elf_len);
			field(w, in->module, in->module_len);
		}
		field(w, in->instance, in->instance_len);
		if ((err = privs_field(w, in->privs, in->privs_mode)) != PCARD_OK ||
		    (err = install_params_field(w, in)) != PCARD_OK)
			return err;
		break;
	case PCARD_INSTALL_FOR_MAKE_SELECTABLE:
		field(w, NULL, 0);
		field(w, NULL, 0);
		field(w, in->instance, in->instance_len);
		if ((err = privs_field(w, in->privs, in->privs_mode)) != PCARD_OK)
			return err;
		field(w, in->params, in->params_len);
		break;
	case PCARD_INSTALL_FOR_EXTRADITION:
		field(w, in->sd, in->sd_len);
		field(w, NULL, 0);
		field(w, in->instance, in->instance_len);
		field(w, NULL, 0);
		field(w, in->params, in->params_len);
		break;
	case PCARD_INSTALL_FOR_REGISTRY_UPDATE:
		field(w, in->sd, in->sd_len);
		field(w, NULL, 0);
		field(w, in->instance, in->instance_len);
		if ((err = privs_field(w, in->privs, in->privs_mode)) != PCARD_OK)
			return err;
		field(w, in->params, in->params_len);
		break;
	case PCARD_INSTALL_FOR_PERSONALIZATION:
		field(w, NULL, 0);
		field(w, NULL, 0);
		field(w, in->instance, in->instance_len);
		field(w, NULL, 0);
		field(w, NULL, 0);
		field(w, NULL, 0);
		return PCARD_OK;	/* no token field of its own: the last 00 is it */
	default:
		return PCARD_E_INVALID_ARG;
	}
	field(w, in->token, in->token_len);
	return PCARD_OK;
}

pcard_err
pcard_gp_install_data(const pcard_gp_install *in, uint8_t *out, size_t out_cap,
    size_t *out_len)
{
	pcard_wr w;
	pcard_err err;

	if (in == NULL || out_len == NULL)
		return PCARD_E_INVALID_ARG;
	pcard_wr_init(&w, out, out_cap);
	if ((err = write_data(in, &w)) != PCARD_OK)
		return err;
	return pcard_wr_finish(&w, out_len);
}

pcard_err
pcard_gp_install_cmd(const pcard_gp_install *in, uint8_t *out, size_t out_cap, size_t *out_len)
{
	uint8_t data[INSTALL_DATA_MAX];
	size_t n = 0;
	pcard_err err = PCARD_E_INTERNAL;

	if ((err = pcard_gp_install_data(in, data, sizeof data, &n)) != PCARD_OK)
		goto out;
	err = gp_cmd(0x80, 0xE6, in->p1, in->p2, data, n, 1, out, out_cap, out_len);
out:
	return err;
}

static void
size_obj(pcard_wr *w, uint32_t tag, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };

	if (v == 0)
		return;
	if (v <= 0xFFFF)
		pcard_tlv_put(w, tag, b + 2, 2);
	else
		pcard_tlv_put(w, tag, b, 4);
}

pcard_err
pcard_gp_load_params(uint32_t nv_code, uint32_t volatile_data, uint32_t nv_data, uint8_t *out,
    size_t out_cap, size_t *out_len)
{
	pcard_wr w;
	pcard_tlv_mark m;

	if (out_len == NULL)
		return PCARD_E_INVALID_ARG;
	pcard_wr_init(&w, out, out_cap);
	if (nv_code != 0 || volatile_data != 0 || nv_data != 0) {
		pcard_tlv_begin(&w, 0xEF, &m);
		size_obj(&w, 0xC6, nv_code);
		size_obj(&w, 0xC7, volatile_data);
		size_obj(&w, 0xC8, nv_data);
		pcard_tlv_end(&w, &m);
	}
	return pcard_wr_finish(&w, out_len);
}
