/*
 * applet_datastore.c: the datastore native applet, a tagged data/configuration store
 * written only through STORE DATA via its security domain and read by anyone with GET DATA
 * (docs/postcard-sim.md, "datastore").
 *
 * Versioned, exactly-once writes. The store has a version (the instance's data_version, 0
 * when new). A STORE DATA message (natives.h: one command, plain or encrypted with b7b6 = 11)
 * holds these BER-TLV objects, in any order:
 *
 *   C1 04 new-version     required: the version this write produces
 *   C0 04 expected        optional: apply only if the store is at this version now
 *                         (compare-and-set between concurrent writers)
 *   tag len value         items: 1- or 2-byte primitive tags other than C0, C1, 5C; value
 *                         0..250 bytes; an empty value deletes the item; a tag at most once
 *
 * Outcome, checked in this order:
 *   new == version, same message as the write that set it   9000, nothing changes (a retry)
 *   new == version, another message                         6985 (a different write owns it)
 *   new <  version                                           6985 (stale write)
 *   C0 given and C0 != version                               6985 (compare-and-set lost)
 *   otherwise                                                items applied, version = new,
 *                                                            9000 (6A84 when over 8 KiB)
 * "Same message" compares the first 8 bytes of SHA-256 over the plain TLV objects, kept in
 * the blob. With P1 b1 (case 4) the response is C1 04 version. Every refusal changes
 * nothing. All items are public: GET DATA answers anyone, so secrets do not belong here
 * (encryption protects an item only on its way to the card).
 *
 * GET DATA (00 or 80 CA P1 P2, the instance selected, no secure channel needed):
 *   P1P2 = 00C1    C1 04 version
 *   P1P2 = 005C    5C len tags: the tags of all items, each as on the wire, ascending
 *   P1P2 = tag     the item as tag len value (one-byte tags as 00 tag); 6A88 if absent
 * STORE DATA sent directly without a secure channel reaches process(): 6982.
 *
 * Persistent data blob:
 *   offset size
 *        0    1  format = 1
 *        1    8  digest of the last applied message (zeros at version 0)
 *        9       items, ascending by tag: tag (2, big-endian, 00 tt for one byte) len (1) value
 */
#include <string.h>

#include "natives.h"
#include "postcard/crypto.h"
#include "postcard/tlv.h"

#define DS_FORMAT 1
#define DS_DIGEST 8
#define DS_HDR (1 + DS_DIGEST)
#define DS_MAX 8192			/* blob limit: 6A84 beyond */
#define DS_VALUE_MAX 250
#define DS_MSG_ITEMS 64			/* items in one message (a 255-byte command holds fewer) */

static const uint8_t ds_pkg[] = { PCARD_NATIVE_RID_PREFIX, 0x01 };
static const pcard_aid ds_modules[] = {
	{ PCARD_NATIVE_MODULE_LEN, { PCARD_NATIVE_RID_PREFIX, 0x01, 0x01 } },
};

typedef struct ds_item {
	uint16_t tag;
	uint8_t len;
	const uint8_t *v;
} ds_item;

/* Check the blob's shape; 0 when good. An empty blob (before install) counts as empty store. */
static int
blob_check(const uint8_t *p, size_t n)
{
	pcard_rd r;
	uint16_t tag, prev = 0;
	uint8_t len;
	int first = 1;

	if (n == 0)
		return 0;
	if (n < DS_HDR || p[0] != DS_FORMAT)
		return -1;
	pcard_rd_init(&r, p + DS_HDR, n - DS_HDR);
	while (pcard_rd_left(&r) > 0) {
		if (pcard_rd_u16(&r, &tag) != PCARD_OK || pcard_rd_u8(&r, &len) != PCARD_OK ||
		    pcard_rd_skip(&r, len) != PCARD_OK || (!first && tag <= prev))
			return -1;
		prev = tag;
		first = 0;
	}
	return 0;
}

/* Find tag in the blob; 1 and *item when present. */
static int
blob_find(const uint8_t *p, size_t n, uint16_t want, ds_item *item)
{
	pcard_rd r;
	uint16_t tag;
	uint8_t len;
	const uint8_t *v;

	if (n < DS_HDR)
		return 0;
	pcard_rd_init(&r, p + DS_HDR, n - DS_HDR);
	while (pcard_rd_u16(&r, &tag) == PCARD_OK && pcard_rd_u8(&r, &len) == PCARD_OK &&
	    pcard_rd_view(&r, len, &v) == PCARD_OK) {
		if (tag == want) {
			item->tag = tag;
			item->len = len;
			item->v = v;
			return 1;
		}
	}
	return 0;
}

static void
put_tag(pcard_wr *w, uint16_t tag)
{
	if (tag > 0xFF)
		pcard_wr_u16(w, tag);
	else
		pcard_wr_u8(w, (uint8_t)tag);
}

static uint16_t
ds_install(pcard_applet_env *env, const uint8_t *params, size_t n)
{
	uint8_t b[DS_HDR];

	(void)params;
	(void)n;
	memset(b, 0, sizeof b);
	b[0] = DS_FORMAT;
	if (pcard_applet_set_data(env, b, sizeof b) != PCARD_OK)
		return PCARD_NSW_NO_MEMORY;
	pcard_applet_set_data_version(env, 0);
	return PCARD_NSW_OK;
}

static uint16_t
get_data(pcard_applet_env *env, const pcard_apdu *cmd, uint8_t *out, size_t out_cap,
    size_t *out_len)
{
	const uint8_t *p;
	size_t n;
	uint16_t want = (uint16_t)(cmd->p1 << 8 | cmd->p2);
	pcard_wr w;
	ds_item it;

	pcard_applet_data(env, &p, &n);
	if (blob_check(p, n) != 0)
		return PCARD_NSW_INTERNAL;
	pcard_wr_init(&w, out, out_cap);
	if (want == 0x00C1) {
		uint8_t v[4];

		pcard_native_put32(v, pcard_applet_data_version(env));
		pcard_tlv_put(&w, 0xC1, v, sizeof v);
	} else if (want == 0x005C) {
		pcard_rd r;
		uint16_t tag;
		uint8_t len;
		pcard_tlv_mark m;

		pcard_tlv_begin(&w, 0x5C, &m);
		pcard_rd_init(&r, n >= DS_HDR ? p + DS_HDR : NULL, n >= DS_HDR ? n - DS_HDR : 0);
		while (pcard_rd_u16(&r, &tag) == PCARD_OK && pcard_rd_u8(&r, &len) == PCARD_OK &&
		    pcard_rd_skip(&r, len) == PCARD_OK)
			put_tag(&w, tag);
		pcard_tlv_end(&w, &m);
	} else if (blob_find(p, n, want, &it)) {
		put_tag(&w, it.tag);
		pcard_wr_ber_len(&w, it.len);
		pcard_wr_bytes(&w, it.v, it.len);
	} else {
		return PCARD_NSW_NOT_FOUND;
	}
	if (pcard_wr_finish(&w, out_len) != PCARD_OK) {
		*out_len = 0;
		return PCARD_NSW_WRONG_LENGTH;
	}
	return PCARD_NSW_OK;
}

static uint16_t
ds_process(pcard_applet_env *env, const pcard_apdu *cmd, uint8_t *out, size_t out_cap,
    size_t *out_len)
{
	*out_len = 0;
	switch (cmd->ins) {
	case 0xCA:
		return get_data(env, cmd, out, out_cap, out_len);
	case 0xE2:
		return PCARD_NSW_SECURITY;
	default:
		return PCARD_NSW_INS;
	}
}

/* Parse a message into *items; the SW (6A80 for anything malformed). */
static uint16_t
parse_msg(pcard_rd msg, ds_item *items, size_t *nitems, uint32_t *newv, int *have_new,
    uint32_t *expv, int *have_exp)
{
	uint32_t tag;

	*nitems = 0;
	*have_new = *have_exp = 0;
	while (pcard_rd_left(&msg) > 0) {
		const uint8_t *v;
		size_t vn;

		if (pcard_native_next_item(&msg, &tag, &v, &vn) != PCARD_NSW_OK)
			return PCARD_NSW_WRONG_DATA;
		if (tag == 0xC0 || tag == 0xC1) {
			int *have = tag == 0xC0 ? have_exp : have_new;

			if (vn != 4 || *have)
				return PCARD_NSW_WRONG_DATA;
			*(tag == 0xC0 ? expv : newv) = pcard_native_get32(v);
			*have = 1;
			continue;
		}
		if (tag == 0x5C || tag > 0xFFFF || pcard_tlv_is_constructed(tag) ||
		    vn > DS_VALUE_MAX || *nitems == DS_MSG_ITEMS)
			return PCARD_NSW_WRONG_DATA;
		for (size_t i = 0; i < *nitems; i++)
			if (items[i].tag == tag)
				return PCARD_NSW_WRONG_DATA;
		items[*nitems].tag = (uint16_t)tag;
		items[*nitems].len = (uint8_t)vn;
		items[*nitems].v = v;
		(*nitems)++;
	}
	return *have_new ? PCARD_NSW_OK : PCARD_NSW_WRONG_DATA;
}

/* Merge the old blob's items with the message's into out (both ascending; the message wins). */
static uint16_t
merge(const uint8_t *p, size_t n, ds_item *items, size_t nitems, const uint8_t digest[DS_DIGEST],
    uint8_t *out, size_t out_cap, size_t *out_len)
{
	pcard_wr w;
	pcard_rd r;
	uint16_t tag;
	uint8_t len;
	const uint8_t *v;
	size_t j = 0;

	/* sort the message's items by tag (few: insertion sort) */
	for (size_t i = 1; i < nitems; i++)
		for (size_t k = i; k > 0 && items[k - 1].tag > items[k].tag; k--) {
			ds_item t = items[k];

			items[k] = items[k - 1];
			items[k - 1] = t;
		}
	pcard_wr_init(&w, out, out_cap);
	pcard_wr_u8(&w, DS_FORMAT);
	pcard_wr_bytes(&w, digest, DS_DIGEST);
	pcard_rd_init(&r, n >= DS_HDR ? p + DS_HDR : NULL, n >= DS_HDR ? n - DS_HDR : 0);
	for (;;) {
		int have_old = pcard_rd_u16(&r, &tag) == PCARD_OK &&
		    pcard_rd_u8(&r, &len) == PCARD_OK && pcard_rd_view(&r, len, &v) == PCARD_OK;

		/* message items below the old tag (or all remaining when the old ones ended) */
		while (j < nitems && (!have_old || items[j].tag <= tag)) {
			if (items[j].len > 0) {
				pcard_wr_u16(&w, items[j].tag);
				pcard_wr_u8(&w, items[j].len);
				pcard_wr_bytes(&w, items[j].v, items[j].len);
			}
			if (have_old && items[j].tag == tag)
				have_old = 2;	/* replaced or deleted */
			j++;
		}
		if (!have_old)
			break;
		if (have_old == 1) {
			pcard_wr_u16(&w, tag);
			pcard_wr_u8(&w, len);
			pcard_wr_bytes(&w, v, len);
		}
	}
	return pcard_wr_finish(&w, out_len) == PCARD_OK ? PCARD_NSW_OK : PCARD_NSW_NO_MEMORY;
}

static uint16_t
ds_store_data(pcard_applet_env *env, uint8_t p1, uint8_t p2, const uint8_t *data, size_t n,
    uint8_t *out, size_t out_cap, size_t *out_len)
{
	uint8_t blob[DS_MAX];
	ds_item items[DS_MSG_ITEMS];
	uint8_t h[PCARD_MAX_HASH_BYTES];
	const uint8_t *p;
	size_t pn, nitems, hn, blen;
	pcard_rd msg;
	uint32_t newv = 0, expv = 0, cur = pcard_applet_data_version(env);
	int enc, have_new, have_exp;
	uint16_t sw;

	(void)p2;
	*out_len = 0;
	if ((sw = pcard_native_store_msg(p1, data, n, &msg, &enc)) != PCARD_NSW_OK)
		return sw;
	pcard_applet_data(env, &p, &pn);
	if (blob_check(p, pn) != 0)
		return PCARD_NSW_INTERNAL;
	if ((sw = parse_msg(msg, items, &nitems, &newv, &have_new, &expv, &have_exp)) !=
	    PCARD_NSW_OK)
		return sw;
	if (pcard_digest(PCARD_HASH_SHA256, pcard_rd_ptr(&msg), pcard_rd_left(&msg), h, sizeof h,
	    &hn) != PCARD_OK)
		return PCARD_NSW_INTERNAL;
	if (newv == cur) {
		/* a retry of the write that set this version is a success that changes nothing */
		if (cur == 0 || pn < DS_HDR || !pcard_ct_eq(p + 1, h, DS_DIGEST))
			return PCARD_NSW_CONDITIONS;
		goto answer;
	}
	if (newv < cur || (have_exp && expv != cur))
		return PCARD_NSW_CONDITIONS;
	if ((sw = merge(p, pn, items, nitems, h, blob, sizeof blob, &blen)) != PCARD_NSW_OK)
		goto wipe;
	if ((sw = pcard_native_set_data(env, blob, blen)) != PCARD_NSW_OK)
		goto wipe;
	pcard_applet_set_data_version(env, newv);
	pcard_wipe(blob, blen);
answer:
	if (out_cap >= 6) {
		out[0] = 0xC1;
		out[1] = 4;
		pcard_native_put32(out + 2, pcard_applet_data_version(env));
		*out_len = 6;
	}
	return PCARD_NSW_OK;
wipe:
	pcard_wipe(blob, sizeof blob);
	return sw;
}

const pcard_applet_ops pcard_applet_datastore = {
	.name = "datastore",
	.package = ds_pkg,
	.package_len = sizeof ds_pkg,
	.pkg_major = 1,
	.pkg_minor = 0,
	.nmodules = sizeof ds_modules / sizeof ds_modules[0],
	.modules = ds_modules,
	.install = ds_install,
	.process = ds_process,
	.store_data = ds_store_data,
};
