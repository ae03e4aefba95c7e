/*
 * gp_data.c: SELECT and its FCI, GET DATA objects (card recognition data, CPLC, card
 * capabilities, key information template), INITIALIZE UPDATE framing and response layout.
 * All card bytes are read through pcard_rd / pcard_tlv_next.
 */
#include <stdio.h>
#include <string.h>

#include "postcard/apdu.h"
#include "postcard/gp.h"
#include "postcard/tlv.h"
#include "gp_int.h"

pcard_err
pcard_gp_select_cmd(const uint8_t *aid, size_t aid_len, uint8_t *out, size_t out_cap,
    size_t *out_len)
{
	if (aid_len > PCARD_GP_AID_MAX)
		return PCARD_E_INVALID_ARG;
	return gp_cmd(0x00, 0xA4, 0x04, 0x00, aid, aid_len, 1, out, out_cap, out_len);
}

pcard_err
pcard_gp_get_data_cmd(uint8_t cla, uint16_t tag, uint8_t *out, size_t out_cap, size_t *out_len)
{
	return gp_cmd(cla, 0xCA, (uint8_t)(tag >> 8), (uint8_t)tag, NULL, 0, 1, out, out_cap,
	    out_len);
}

pcard_err
pcard_gp_data_value(uint32_t tag, const uint8_t *p, size_t n, pcard_rd *val)
{
	pcard_rd r, v;
	uint32_t t;
	pcard_err err;

	if (val == NULL || (p == NULL && n > 0))
		return PCARD_E_INVALID_ARG;
	pcard_rd_init(&r, p, n);
	if ((err = pcard_tlv_next(&r, &t, &v)) != PCARD_OK)
		return err == PCARD_E_TRUNCATED ? PCARD_E_BAD_ENCODING : err;
	if (t != tag)
		return PCARD_E_BAD_ENCODING;
	if ((err = pcard_rd_expect_end(&r)) != PCARD_OK)
		return err;
	*val = v;
	return PCARD_OK;
}

/* ---- OIDs (X.690 8.19): first octet 40*a+b, then base-128 arcs ---- */

#define MAX_ARCS 16

static pcard_err
oid_decode(pcard_rd v, uint32_t *arcs, size_t *n)
{
	size_t k = 0;
	uint32_t x = 0;
	int in_arc = 0;
	uint8_t b;

	if (pcard_rd_left(&v) == 0)
		return PCARD_E_BAD_ENCODING;
	while (pcard_rd_u8(&v, &b) == PCARD_OK) {
		if (!in_arc && b == 0x80)
			return PCARD_E_BAD_ENCODING;	/* leading zero group */
		if (x > (UINT32_MAX >> 7))
			return PCARD_E_BAD_ENCODING;	/* arc over 32 bits */
		x = x << 7 | (b & 0x7F);
		in_arc = 1;
		if ((b & 0x80) != 0)
			continue;
		if (k == 0) {
			if (k + 2 > MAX_ARCS)
				return PCARD_E_BAD_ENCODING;
			arcs[k++] = x < 40 ? 0 : x < 80 ? 1 : 2;
			arcs[k++] = x < 80 ? x % 40 : x - 80;
		} else {
			if (k + 1 > MAX_ARCS)
				return PCARD_E_BAD_ENCODING;
			arcs[k++] = x;
		}
		x = 0;
		in_arc = 0;
	}
	if (in_arc)
		return PCARD_E_BAD_ENCODING;		/* last arc unterminated */
	*n = k;
	return PCARD_OK;
}

static void
arcs_to_string(const uint32_t *arcs, size_t n, char *out, size_t cap)
{
	size_t len = 0;
	int w;

	out[0] = '\0';
	for (size_t i = 0; i < n && len < cap; i++) {
		w = snprintf(out + len, cap - len, i == 0 ? "%u" : ".%u", (unsigned)arcs[i]);
		if (w < 0 || (size_t)w >= cap - len) {
			out[len] = '\0';	/* drop a partial arc */
			return;
		}
		len += (size_t)w;
	}
}

/* When arcs start with prefix, the rest as "a.b.c" in out and 1; else 0. */
static int
arcs_after(const uint32_t *arcs, size_t n, const uint32_t *prefix, size_t np, char *out,
    size_t cap)
{
	if (n <= np)
		return 0;
	for (size_t i = 0; i < np; i++)
		if (arcs[i] != prefix[i])
			return 0;
	arcs_to_string(arcs + np, n - np, out, cap);
	return 1;
}

static const uint32_t oid_gp[] = { 1, 2, 840, 114283 };
static const uint32_t oid_jc[] = { 1, 3, 6, 1, 4, 1, 42, 2, 110, 1 };

static pcard_err
crd_oid(pcard_gp_crd *crd, uint8_t holder, pcard_rd v)
{
	uint32_t arcs[MAX_ARCS];
	size_t n = 0;
	pcard_err err;

	if ((err = oid_decode(v, arcs, &n)) != PCARD_OK)
		return err;
	if (crd->n_oids < PCARD_GP_CRD_MAX) {
		crd->oids[crd->n_oids].tag = holder;
		arcs_to_string(arcs, n, crd->oids[crd->n_oids].oid,
		    sizeof crd->oids[crd->n_oids].oid);
	}
	crd->n_oids++;
	if (n == 5 && memcmp(arcs, oid_gp, sizeof oid_gp) == 0 && arcs[4] == 1)
		crd->is_gp = 1;
	if (holder == 0x60 && n > 5 && memcmp(arcs, oid_gp, sizeof oid_gp) == 0 && arcs[4] == 2)
		arcs_to_string(arcs + 5, n - 5, crd->gp_version, sizeof crd->gp_version);
	if (holder == 0x64 && n == 7 && memcmp(arcs, oid_gp, sizeof oid_gp) == 0 &&
	    arcs[4] == 4) {
		if (arcs[5] > 0xFF || arcs[6] > 0xFF)
			return PCARD_E_BAD_ENCODING;
		crd->has_scp = 1;
		crd->scp = (uint8_t)arcs[5];
		crd->scp_i = (uint8_t)arcs[6];
	}
	if (holder == 0x66)
		(void)arcs_after(arcs, n, oid_jc, sizeof oid_jc / sizeof oid_jc[0],
		    crd->javacard, sizeof crd->javacard);
	return PCARD_OK;
}

/* The objects inside 73: 06 OID, and templates 60-6F each holding 06 OIDs. */
static pcard_err
crd_body(pcard_gp_crd *crd, pcard_rd r)
{
	pcard_rd v, w;
	uint32_t tag, t2;
	pcard_err err;

	while (pcard_rd_left(&r) > 0) {
		if ((err = pcard_tlv_next(&r, &tag, &v)) != PCARD_OK)
			return err;
		if (tag == 0x06) {
			if ((err = crd_oid(crd, 0x06, v)) != PCARD_OK)
				return err;
		} else if (tag >= 0x60 && tag <= 0x6F) {
			while (pcard_rd_left(&v) > 0) {
				if ((err = pcard_tlv_next(&v, &t2, &w)) != PCARD_OK)
					return err;
				if (t2 == 0x06 && (err = crd_oid(crd, (uint8_t)tag, w)) != PCARD_OK)
					return err;
			}
		}
	}
	return PCARD_OK;
}

pcard_err
pcard_gp_parse_crd(const uint8_t *p, size_t n, pcard_gp_crd *crd)
{
	pcard_rd r, v, inner;
	uint32_t tag;
	pcard_err err;

	if (crd == NULL || (p == NULL && n > 0))
		return PCARD_E_INVALID_ARG;
	memset(crd, 0, sizeof *crd);
	pcard_rd_init(&r, p, n);
	v = r;
	inner = r;
	if (pcard_tlv_next(&inner, &tag, &v) == PCARD_OK && (tag == 0x66 || tag == 0x73) &&
	    pcard_rd_left(&inner) == 0) {
		if (tag == 0x66) {
			inner = v;
			if ((err = pcard_tlv_next(&inner, &tag, &v)) != PCARD_OK)
				return err == PCARD_E_TRUNCATED ? PCARD_E_BAD_ENCODING : err;
			if (tag != 0x73)
				return PCARD_E_BAD_ENCODING;
			if ((err = pcard_rd_expect_end(&inner)) != PCARD_OK)
				return err;
		}
	} else {
		v = r;			/* the value of 73 itself */
	}
	err = crd_body(crd, v);
	return err == PCARD_E_TRUNCATED ? PCARD_E_BAD_ENCODING : err;
}

static pcard_err
read_size(pcard_rd v, size_t *out)
{
	size_t n = pcard_rd_left(&v), x = 0;
	uint8_t b;

	if (n == 0 || n > 4)
		return PCARD_E_BAD_ENCODING;
	while (pcard_rd_u8(&v, &b) == PCARD_OK)
		x = x << 8 | b;
	*out = x;
	return PCARD_OK;
}

pcard_err
pcard_gp_parse_fci(const uint8_t *p, size_t n, pcard_gp_fci *fci)
{
	pcard_rd r, v, a5, w;
	uint32_t tag;
	pcard_err err = PCARD_E_INTERNAL;

	if (fci == NULL || (p == NULL && n > 0))
		return PCARD_E_INVALID_ARG;
	memset(fci, 0, sizeof *fci);
	pcard_rd_init(&r, p, n);
	if ((err = pcard_tlv_next(&r, &tag, &v)) != PCARD_OK || tag != 0x6F) {
		err = err == PCARD_OK || err == PCARD_E_TRUNCATED ? PCARD_E_BAD_ENCODING : err;
		goto out;
	}
	if ((err = pcard_rd_expect_end(&r)) != PCARD_OK)
		goto out;
	while (pcard_rd_left(&v) > 0) {
		if ((err = pcard_tlv_next(&v, &tag, &w)) != PCARD_OK)
			goto bad;
		if (tag == 0x84) {
			if (pcard_rd_left(&w) > PCARD_GP_AID_MAX)
				goto bad;
			fci->aid.len = pcard_rd_left(&w);
			(void)pcard_rd_copy(&w, fci->aid.len, fci->aid.b);
		} else if (tag == 0xA5) {
			a5 = w;
			while (pcard_rd_left(&a5) > 0) {
				if ((err = pcard_tlv_next(&a5, &tag, &w)) != PCARD_OK)
					goto bad;
				if (tag == 0x73) {
					if ((err = crd_body(&fci->crd, w)) != PCARD_OK)
						goto bad;
					fci->has_crd = 1;
				} else if (tag == 0x9F6E) {
					if (pcard_rd_left(&w) > sizeof fci->lifecycle)
						goto bad;
					fci->lifecycle_len = pcard_rd_left(&w);
					(void)pcard_rd_copy(&w, fci->lifecycle_len, fci->lifecycle);
				} else if (tag == 0x9F65) {
					if (read_size(w, &fci->max_cmd_len) != PCARD_OK)
						goto bad;
				}
			}
		}
	}
	err = PCARD_OK;
	goto out;
bad:
	err = PCARD_E_BAD_ENCODING;
out:
	if (err != PCARD_OK)
		memset(fci, 0, sizeof *fci);
	return err;
}

/* ---- CPLC (GP CS Table H-? / ISO 7816-6 style fields) ---- */

static const pcard_gp_cplc_field cplc_fields[] = {
	{ "ic_fabricator", 0, 2, 0 },
	{ "ic_type", 2, 2, 0 },
	{ "os_id", 4, 2, 0 },
	{ "os_release_date", 6, 2, 1 },
	{ "os_release_level", 8, 2, 0 },
	{ "ic_fabrication_date", 10, 2, 1 },
	{ "ic_serial_number", 12, 4, 0 },
	{ "ic_batch_identifier", 16, 2, 0 },
	{ "ic_module_fabricator", 18, 2, 0 },
	{ "ic_module_packaging_date", 20, 2, 1 },
	{ "icc_manufacturer", 22, 2, 0 },
	{ "ic_embedding_date", 24, 2, 1 },
	{ "ic_prepersonalizer", 26, 2, 0 },
	{ "ic_prepersonalization_date", 28, 2, 1 },
	{ "ic_prepersonalization_equipment_id", 30, 4, 0 },
	{ "ic_personalizer", 34, 2, 0 },
	{ "ic_personalization_date", 36, 2, 1 },
	{ "ic_personalization_equipment_id", 38, 4, 0 },
};

const pcard_gp_cplc_field *
pcard_gp_cplc_fields(size_t *n)
{
	if (n != NULL)
		*n = sizeof cplc_fields / sizeof cplc_fields[0];
	return cplc_fields;
}

uint32_t
pcard_gp_cplc_get(const pcard_gp_cplc *c, size_t i)
{
	uint32_t x = 0;

	if (c == NULL || i >= sizeof cplc_fields / sizeof cplc_fields[0])
		return 0;
	for (size_t k = 0; k < cplc_fields[i].len; k++)
		x = x << 8 | c->raw[cplc_fields[i].off + k];
	return x;
}

pcard_err
pcard_gp_parse_cplc(const uint8_t *p, size_t n, pcard_gp_cplc *c)
{
	pcard_rd r, v;
	uint32_t tag;

	if (c == NULL || (p == NULL && n > 0))
		return PCARD_E_INVALID_ARG;
	pcard_rd_init(&r, p, n);
	if (n == 3 + PCARD_GP_CPLC_LEN) {
		if (pcard_tlv_next(&r, &tag, &v) != PCARD_OK || tag != PCARD_GP_TAG_CPLC ||
		    pcard_rd_left(&r) != 0)
			return PCARD_E_BAD_ENCODING;
		r = v;
	}
	if (pcard_rd_left(&r) != PCARD_GP_CPLC_LEN)
		return PCARD_E_BAD_ENCODING;
	return pcard_rd_copy(&r, PCARD_GP_CPLC_LEN, c->raw);
}

/* ---- Card capabilities (GET DATA 67) ---- */

static pcard_err
copy_list(pcard_rd v, uint8_t *out, size_t cap, size_t *n)
{
	size_t k = pcard_rd_left(&v);

	if (k > cap)
		return PCARD_E_BAD_ENCODING;
	*n = k;
	return pcard_rd_copy(&v, k, out);
}

pcard_err
pcard_gp_parse_caps(const uint8_t *p, size_t n, pcard_gp_caps *caps)
{
	pcard_rd r, v, w, x;
	uint32_t tag, t2;
	const uint8_t *b;
	size_t k;
	pcard_err err = PCARD_E_INTERNAL;

	if (caps == NULL || (p == NULL && n > 0))
		return PCARD_E_INVALID_ARG;
	memset(caps, 0, sizeof *caps);
	pcard_rd_init(&r, p, n);
	v = r;
	if (pcard_tlv_next(&v, &tag, &w) == PCARD_OK && tag == 0x67 && pcard_rd_left(&v) == 0)
		r = w;
	while (pcard_rd_left(&r) > 0) {
		if ((err = pcard_tlv_next(&r, &tag, &v)) != PCARD_OK)
			goto bad;
		switch (tag) {
		case 0xA0:
			if (caps->n_scp >= PCARD_GP_CAPS_MAX_SCP)
				goto bad;
			while (pcard_rd_left(&v) > 0) {
				if (pcard_tlv_next(&v, &t2, &x) != PCARD_OK)
					goto bad;
				if (t2 == 0x80) {
					if (pcard_rd_left(&x) != 1)
						goto bad;
					(void)pcard_rd_u8(&x, &caps->scp[caps->n_scp].scp);
				} else if (t2 == 0x81) {
					if (copy_list(x, caps->scp[caps->n_scp].i,
					    sizeof caps->scp[0].i, &caps->scp[caps->n_scp].n_i) !=
					    PCARD_OK)
						goto bad;
				} else if (t2 == 0x82) {
					if (pcard_rd_left(&x) != 1)
						goto bad;
					caps->scp[caps->n_scp].has_key_lens = 1;
					(void)pcard_rd_u8(&x, &caps->scp[caps->n_scp].key_lens);
				}
			}
			caps->n_scp++;
			break;
		case 0x81:
		case 0x82:
			k = pcard_rd_left(&v);
			(void)pcard_rd_view(&v, k, &b);
			if (pcard_privs_decode(b, k,
			    tag == 0x81 ? &caps->ssd_privs : &caps->app_privs) != PCARD_OK)
				goto bad;
			if (tag == 0x81)
				caps->has_ssd_privs = 1;
			else
				caps->has_app_privs = 1;
			break;
		case 0x83:
			if (copy_list(v, caps->lfdbh, sizeof caps->lfdbh, &caps->n_lfdbh) !=
			    PCARD_OK)
				goto bad;
			break;
		case 0x85:
			if (copy_list(v, caps->token, sizeof caps->token, &caps->n_token) != PCARD_OK)
				goto bad;
			break;
		case 0x86:
			if (copy_list(v, caps->receipt, sizeof caps->receipt, &caps->n_receipt) !=
			    PCARD_OK)
				goto bad;
			break;
		case 0x87:
			if (copy_list(v, caps->dap, sizeof caps->dap, &caps->n_dap) != PCARD_OK)
				goto bad;
			break;
		default:
			break;
		}
	}
	return PCARD_OK;
bad:
	memset(caps, 0, sizeof *caps);
	return PCARD_E_BAD_ENCODING;
}

/* ---- Key information template (CS 11.3.3.1) ----
 * basic:    C0 L { id, kvn, (type, len)+ }
 * extended: C0 L { id, kvn, (FF type, len(2))+, usage_len, usage[usage_len],
 *                  access_len, access[access_len] }
 */
static pcard_err
keyinfo_entry(pcard_rd v, pcard_gp_keyinfo *k)
{
	uint8_t b, ulen, alen;
	uint16_t w;

	memset(k, 0, sizeof *k);
	if (pcard_rd_u8(&v, &k->id) != PCARD_OK || pcard_rd_u8(&v, &k->kvn) != PCARD_OK ||
	    pcard_rd_left(&v) == 0)
		return PCARD_E_BAD_ENCODING;
	k->extended = pcard_rd_ptr(&v)[0] == 0xFF;
	if (!k->extended) {
		while (pcard_rd_left(&v) > 0) {
			if (k->n_comp >= PCARD_GP_KEY_MAX_COMP ||
			    pcard_rd_u8(&v, &b) != PCARD_OK)
				return PCARD_E_BAD_ENCODING;
			k->comp[k->n_comp].type = b;
			if (pcard_rd_u8(&v, &b) != PCARD_OK)
				return PCARD_E_BAD_ENCODING;
			k->comp[k->n_comp++].len = b;
		}
		return PCARD_OK;
	}
	while (pcard_rd_left(&v) > 0 && pcard_rd_ptr(&v)[0] == 0xFF) {
		if (k->n_comp >= PCARD_GP_KEY_MAX_COMP || pcard_rd_u16(&v, &w) != PCARD_OK)
			return PCARD_E_BAD_ENCODING;
		k->comp[k->n_comp].type = w;
		if (pcard_rd_u16(&v, &w) != PCARD_OK)
			return PCARD_E_BAD_ENCODING;
		k->comp[k->n_comp++].len = w;
	}
	if (pcard_rd_u8(&v, &ulen) != PCARD_OK || ulen > sizeof k->usage ||
	    pcard_rd_copy(&v, ulen, k->usage) != PCARD_OK)
		return PCARD_E_BAD_ENCODING;
	k->usage_len = ulen;
	if (pcard_rd_u8(&v, &alen) != PCARD_OK || alen > 1)
		return PCARD_E_BAD_ENCODING;
	if (alen == 1) {
		if (pcard_rd_u8(&v, &k->access) != PCARD_OK)
			return PCARD_E_BAD_ENCODING;
		k->has_access = 1;
	}
	return pcard_rd_left(&v) == 0 ? PCARD_OK : PCARD_E_BAD_ENCODING;
}

pcard_err
pcard_gp_parse_keyinfo(const uint8_t *p, size_t n, pcard_gp_keyinfo *out, size_t cap,
    size_t *count)
{
	pcard_rd r, v, w;
	uint32_t tag;
	pcard_gp_keyinfo k;
	size_t found = 0;
	pcard_err err;

	if (count == NULL || (out == NULL && cap > 0) || (p == NULL && n > 0))
		return PCARD_E_INVALID_ARG;
	pcard_rd_init(&r, p, n);
	v = r;
	if (pcard_tlv_next(&v, &tag, &w) == PCARD_OK && tag == 0xE0) {
		if (pcard_rd_left(&v) != 0)
			return PCARD_E_TRAILING_DATA;
		r = w;
	}
	while (pcard_rd_left(&r) > 0) {
		if ((err = pcard_tlv_next(&r, &tag, &v)) != PCARD_OK)
			return PCARD_E_BAD_ENCODING;
		if (tag != 0xC0)
			return PCARD_E_BAD_ENCODING;
		if ((err = keyinfo_entry(v, &k)) != PCARD_OK)
			return err;
		if (found < cap)
			out[found] = k;
		found++;
	}
	*count = found;
	return found > cap ? PCARD_E_NOSPACE : PCARD_OK;
}

/* ---- INITIALIZE UPDATE ---- */

pcard_err
pcard_gp_init_update_cmd(uint8_t kvn, uint8_t key_id, const uint8_t *challenge,
    size_t challenge_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	if (challenge == NULL || (challenge_len != 8 && challenge_len != 16))
		return PCARD_E_INVALID_ARG;
	return gp_cmd(0x80, 0x50, kvn, key_id, challenge, challenge_len, 1, out, out_cap,
	    out_len);
}

pcard_err
pcard_gp_parse_init_update_resp(const uint8_t *p, size_t n, pcard_gp_init_update_resp *u)
{
	pcard_rd r;
	size_t chal = 8, mac = 8;
	pcard_err err = PCARD_E_INTERNAL;

	if (u == NULL || (p == NULL && n > 0))
		return PCARD_E_INVALID_ARG;
	memset(u, 0, sizeof *u);
	pcard_rd_init(&r, p, n);
	if (pcard_rd_copy(&r, 10, u->kdd) != PCARD_OK || pcard_rd_u8(&r, &u->kvn) != PCARD_OK ||
	    pcard_rd_u8(&r, &u->scp) != PCARD_OK) {
		err = PCARD_E_BAD_ENCODING;
		goto out;
	}
	switch (u->scp) {
	case 0x01:
		if (n != 28)
			goto bad;
		break;
	case 0x02:
		if (n != 28)
			goto bad;
		u->seq_len = 2;
		chal = 6;
		break;
	case 0x03:
		if (pcard_rd_u8(&r, &u->i) != PCARD_OK)
			goto bad;
		if (n == 45 || n == 48) {
			chal = 16;
			mac = 16;
		} else if (n != 29 && n != 32) {
			goto bad;
		}
		if ((n == 32 || n == 48) != ((u->i & 0x10) != 0))
			goto bad;	/* counter present exactly when i says pseudo-random */
		break;
	default:
		err = PCARD_E_UNSUPPORTED;
		goto out;
	}
	if (u->scp == 0x02 && pcard_rd_copy(&r, 2, u->seq) != PCARD_OK)
		goto bad;
	u->challenge_len = chal;
	u->cryptogram_len = mac;
	if (pcard_rd_copy(&r, chal, u->challenge) != PCARD_OK ||
	    pcard_rd_copy(&r, mac, u->cryptogram) != PCARD_OK)
		goto bad;
	if (u->scp == 0x03 && (u->i & 0x10) != 0) {
		u->seq_len = 3;
		if (pcard_rd_copy(&r, 3, u->seq) != PCARD_OK)
			goto bad;
	}
	if (pcard_rd_expect_end(&r) != PCARD_OK)
		goto bad;
	err = PCARD_OK;
	goto out;
bad:
	err = PCARD_E_BAD_ENCODING;
out:
	if (err != PCARD_OK)
		memset(u, 0, sizeof *u);
	return err;
}
