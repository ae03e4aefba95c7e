/*
 * gp_status.c: GET STATUS (CS 11.4) command and both response formats.
 *
 * Tag format (P2 b2 = 1), one template per registry entry:
 *   E3 L { 4F L AID, 9F70 L life-cycle(1-2), C5 L privileges(1/3), CF L implicit-sel*,
 *          C4 L ELF-AID, CC L SD-AID, CE L version, 84 L module-AID* }
 * Legacy format (P2 b2 = 0):
 *   { AID-len AID life-cycle(1) privileges(1) }*                     P1 80 / 40 / 20
 *   { AID-len AID life-cycle(1) privileges(1) count (len AID)^count }*  P1 10
 */
#include <string.h>

#include "postcard/apdu.h"
#include "postcard/gp.h"
#include "postcard/tlv.h"
#include "gp_int.h"

pcard_err
pcard_gp_get_status_cmd(uint8_t p1, uint8_t p2, uint8_t *out, size_t out_cap, size_t *out_len)
{
	static const uint8_t all[] = { 0x4F, 0x00 };

	if ((p1 != PCARD_GS_ISD && p1 != PCARD_GS_APPS && p1 != PCARD_GS_ELFS &&
	    p1 != PCARD_GS_ELFS_MODULES) || (p2 & ~(PCARD_GS_P2_TAGS | PCARD_GS_P2_NEXT)) != 0)
		return PCARD_E_INVALID_ARG;
	return gp_cmd(0x80, 0xF2, p1, p2, all, sizeof all, 1, out, out_cap, out_len);
}

pcard_err
pcard_gp_get_status_next(const uint8_t *prev, size_t prev_len, uint8_t *out, size_t out_cap,
    size_t *out_len)
{
	pcard_apdu a;

	if (pcard_apdu_parse(prev, prev_len, &a) != PCARD_OK || a.ins != 0xF2)
		return PCARD_E_BAD_ENCODING;
	a.p2 |= PCARD_GS_P2_NEXT;
	return pcard_apdu_encode(&a, out, out_cap, out_len);
}

static pcard_err
take_aid(pcard_rd v, pcard_gp_aid *aid)
{
	size_t n = pcard_rd_left(&v);

	if (n == 0 || n > PCARD_GP_AID_MAX)
		return PCARD_E_BAD_ENCODING;
	aid->len = n;
	return pcard_rd_copy(&v, n, aid->b);
}

static pcard_err
tag_entry(pcard_rd r, pcard_gp_status_entry *e)
{
	pcard_rd v;
	uint32_t tag;
	const uint8_t *b;
	size_t n;
	int have_aid = 0;
	pcard_err err;

	memset(e, 0, sizeof *e);
	while (pcard_rd_left(&r) > 0) {
		if ((err = pcard_tlv_next(&r, &tag, &v)) != PCARD_OK)
			return PCARD_E_BAD_ENCODING;
		n = pcard_rd_left(&v);
		switch (tag) {
		case 0x4F:
			if (have_aid || take_aid(v, &e->aid) != PCARD_OK)
				return PCARD_E_BAD_ENCODING;
			have_aid = 1;
			break;
		case 0x9F70:
			if (n < 1 || n > 2)
				return PCARD_E_BAD_ENCODING;
			(void)pcard_rd_u8(&v, &e->lifecycle);
			if (n == 2) {
				e->has_lifecycle2 = 1;
				(void)pcard_rd_u8(&v, &e->lifecycle2);
			}
			break;
		case 0xC5:
			(void)pcard_rd_view(&v, n, &b);
			if (n == 0)
				break;		/* some cards send C5 00 for ELFs */
			if (pcard_privs_decode(b, n, &e->privs) != PCARD_OK)
				return PCARD_E_BAD_ENCODING;
			e->has_privs = 1;
			break;
		case 0xC4:
			if (take_aid(v, &e->elf) != PCARD_OK)
				return PCARD_E_BAD_ENCODING;
			e->has_elf = 1;
			break;
		case 0xCC:
			if (take_aid(v, &e->sd) != PCARD_OK)
				return PCARD_E_BAD_ENCODING;
			e->has_sd = 1;
			break;
		case 0xCE:
			if (n > sizeof e->version)
				return PCARD_E_BAD_ENCODING;
			e->version_len = n;
			(void)pcard_rd_copy(&v, n, e->version);
			break;
		case 0xCF:
			if (n != 1)
				return PCARD_E_BAD_ENCODING;
			if (e->n_implicit >= PCARD_GS_MAX_IMPLICIT)
				return PCARD_E_UNSUPPORTED;	/* more than an entry holds */
			(void)pcard_rd_u8(&v, &e->implicit[e->n_implicit++]);
			break;
		case 0x84:
			if (e->n_modules >= PCARD_GS_MAX_MODULES)
				return PCARD_E_UNSUPPORTED;	/* more than an entry holds */
			if (take_aid(v, &e->modules[e->n_modules]) != PCARD_OK)
				return PCARD_E_BAD_ENCODING;
			e->n_modules++;
			break;
		default:
			break;		/* tags of later specifications */
		}
	}
	return have_aid ? PCARD_OK : PCARD_E_BAD_ENCODING;
}

static pcard_err
legacy_entry(pcard_rd *r, uint8_t p1, pcard_gp_status_entry *e)
{
	pcard_rd v;
	uint8_t privs, count;
	pcard_err err;

	memset(e, 0, sizeof *e);
	if ((err = pcard_rd_lv(r, &v)) != PCARD_OK)
		return err;
	if ((err = take_aid(v, &e->aid)) != PCARD_OK)
		return err;
	if ((err = pcard_rd_u8(r, &e->lifecycle)) != PCARD_OK ||
	    (err = pcard_rd_u8(r, &privs)) != PCARD_OK)
		return err;
	e->privs = (uint32_t)privs << 16;
	e->has_privs = 1;
	if (p1 != PCARD_GS_ELFS_MODULES)
		return PCARD_OK;
	if ((err = pcard_rd_u8(r, &count)) != PCARD_OK)
		return err;
	for (unsigned i = 0; i < count; i++) {
		if ((err = pcard_rd_lv(r, &v)) != PCARD_OK)
			return err;
		if (e->n_modules >= PCARD_GS_MAX_MODULES)
			return PCARD_E_UNSUPPORTED;	/* more than an entry holds */
		if ((err = take_aid(v, &e->modules[e->n_modules])) != PCARD_OK)
			return err;
		e->n_modules++;
	}
	return PCARD_OK;
}

pcard_err
pcard_gp_parse_status(uint8_t p1, uint8_t p2, const uint8_t *p, size_t n,
    pcard_gp_status_entry *out, size_t cap, size_t *count)
{
	pcard_gp_status_entry e;
	pcard_rd r, v;
	uint32_t tag;
	size_t found = 0;
	pcard_err err = PCARD_E_INTERNAL;

	if (count == NULL || (out == NULL && cap > 0) || (p == NULL && n > 0))
		return PCARD_E_INVALID_ARG;
	pcard_rd_init(&r, p, n);
	while (pcard_rd_left(&r) > 0) {
		if ((p2 & PCARD_GS_P2_TAGS) != 0) {
			if ((err = pcard_tlv_next(&r, &tag, &v)) != PCARD_OK || tag != 0xE3) {
				err = PCARD_E_BAD_ENCODING;
				goto out;
			}
			err = tag_entry(v, &e);
		} else {
			err = legacy_entry(&r, p1, &e);
		}
		if (err != PCARD_OK)
			goto out;
		if (found < cap)
			out[found] = e;
		found++;
	}
	*count = found;
	err = found > cap ? PCARD_E_NOSPACE : PCARD_OK;
out:
	return err;
}
