/*
 * test_applet_datastore.c: the datastore native applet (applet_datastore.c) through the real
 * card manager: versioned writes (apply, retry = no-op, conflict, stale, compare-and-set),
 * item update and delete, encrypted messages, GET DATA of items, version and tag list, the
 * size limit, and every refusal leaving the store unchanged.
 */
#include <stdlib.h>

#include "applet_harness.h"

static const pcard_aid *
ds_aid(void)
{
	return &pcard_applet_datastore.modules[0];
}

static void
hexeq(hx *h, const char *want_hex)
{
	uint8_t want[300];
	size_t wn;

	assert_int_equal(pcard_hex_decode(want_hex, want, sizeof want, &wn), PCARD_OK);
	assert_int_equal(h->rlen, wn);
	assert_memory_equal(h->rsp, want, wn);
}

/* STORE DATA of a message given in hex. */
static uint16_t
store_hex(hx *h, uint8_t p1, const char *hex, int encrypt)
{
	uint8_t m[256];
	size_t n;

	assert_int_equal(pcard_hex_decode(hex, m, sizeof m, &n), PCARD_OK);
	return hx_store(h, p1, m, n, encrypt);
}

/* The blob and version now, to check that a refusal changed nothing. */
typedef struct snap {
	uint8_t data[9000];
	size_t n;
	uint32_t version;
} snap;

static void
take(hx *h, snap *s)
{
	const pcard_card_app *a = hx_app(h, ds_aid());

	assert_true(a->data_len <= sizeof s->data);
	memcpy(s->data, a->data, a->data_len);
	s->n = a->data_len;
	s->version = a->data_version;
}

static void
same(hx *h, const snap *s)
{
	const pcard_card_app *a = hx_app(h, ds_aid());

	assert_int_equal(a->data_len, s->n);
	assert_memory_equal(a->data, s->data, s->n);
	assert_int_equal(a->data_version, s->version);
}

static void
setup(hx *h)
{
	hx_init(h, 3);
	hx_add_native(h, &pcard_applet_datastore, 0, 0);
	hx_open(h);
	assert_int_equal(hx_select_aid(h, ds_aid()), 0x9000);
}

static void
test_versions(void **state)
{
	hx h;
	snap s;

	(void)state;
	setup(&h);
	/* a new store: version 0, no items; GET DATA needs no secure channel */
	assert_int_equal(hx_hex(&h, "00CA00C100"), 0x9000);
	hexeq(&h, "C10400000000");
	assert_int_equal(hx_hex(&h, "80CA005C00"), 0x9000);
	hexeq(&h, "5C00");
	hx_open_sc(&h, PCARD_SCP_CMAC);
	/* version 1: two items */
	assert_int_equal(store_hex(&h, PCARD_SD_CASE4, "C10400000001 010568656C6C6F DF0103616263",
	    0), 0x9000);
	hexeq(&h, "C10400000001");
	assert_int_equal(hx_app(&h, ds_aid())->data_version, 1);
	take(&h, &s);
	/* the same message again (a server's retry): success, nothing changes */
	assert_int_equal(store_hex(&h, PCARD_SD_CASE4, "C10400000001 010568656C6C6F DF0103616263",
	    0), 0x9000);
	hexeq(&h, "C10400000001");
	same(&h, &s);
	/* the same version with other content: another write owns it */
	assert_int_equal(store_hex(&h, 0, "C10400000001 010178", 0), 0x6985);
	same(&h, &s);
	/* version 0 is not a write that was applied */
	assert_int_equal(store_hex(&h, 0, "C10400000000 010178", 0), 0x6985);
	/* compare-and-set: expected 0 loses, expected 1 wins */
	assert_int_equal(store_hex(&h, 0, "C00400000000 C10400000005 010178", 0), 0x6985);
	same(&h, &s);
	assert_int_equal(store_hex(&h, 0, "C00400000001 C10400000005 010178", 0), 0x9000);
	/* stale: below the current version */
	take(&h, &s);
	assert_int_equal(store_hex(&h, 0, "C10400000004 010179", 0), 0x6985);
	same(&h, &s);
	/* reads */
	assert_int_equal(hx_select_aid(&h, ds_aid()), 0x9000);
	assert_int_equal(hx_hex(&h, "00CA000100"), 0x9000);
	hexeq(&h, "010178");
	assert_int_equal(hx_hex(&h, "00CA DF01 00"), 0x9000);
	hexeq(&h, "DF0103616263");
	assert_int_equal(hx_hex(&h, "00CA00C100"), 0x9000);
	hexeq(&h, "C10400000005");
	assert_int_equal(hx_hex(&h, "00CA005C00"), 0x9000);
	hexeq(&h, "5C0301DF01");
	assert_int_equal(hx_hex(&h, "00CA000200"), 0x6A88);
	hx_free(&h);
}

static void
test_items(void **state)
{
	hx h;

	(void)state;
	setup(&h);
	hx_open_sc(&h, PCARD_SCP_CMAC);
	assert_int_equal(store_hex(&h, 0, "C10400000001 0101AA 0201BB 5F2001CC", 0), 0x9000);
	/* an encrypted message: update 02, delete 01, add 03; format bits BER-TLV */
	assert_int_equal(store_hex(&h, PCARD_SD_FMT_BER, "C10400000002 0202BBBB 0100 0301DD", 1),
	    0x9000);
	/* a plain retry of the encrypted write is the same message */
	assert_int_equal(store_hex(&h, 0, "C10400000002 0202BBBB 0100 0301DD", 0), 0x9000);
	assert_int_equal(hx_select_aid(&h, ds_aid()), 0x9000);
	assert_int_equal(hx_hex(&h, "00CA005C00"), 0x9000);
	hexeq(&h, "5C0402035F20");
	assert_int_equal(hx_hex(&h, "00CA000100"), 0x6A88);
	assert_int_equal(hx_hex(&h, "00CA000200"), 0x9000);
	hexeq(&h, "0202BBBB");
	assert_int_equal(hx_hex(&h, "00CA5F2000"), 0x9000);
	hexeq(&h, "5F2001CC");
	hx_free(&h);
}

static void
test_refusals(void **state)
{
	hx h;
	snap s;

	(void)state;
	setup(&h);
	assert_int_equal(hx_hex(&h, "80E2800008C10400000001010100"), 0x6982);	/* no session */
	assert_int_equal(hx_hex(&h, "8012000000"), 0x6D00);
	hx_open_sc(&h, PCARD_SCP_CMAC);
	assert_int_equal(store_hex(&h, 0, "C10400000001 0101AA", 0), 0x9000);
	take(&h, &s);
	assert_int_equal(store_hex(&h, 0, "0101AA", 0), 0x6A80);			/* no C1 */
	assert_int_equal(store_hex(&h, 0, "C103000002 0101AA", 0), 0x6A80);	/* C1 of 3 */
	assert_int_equal(store_hex(&h, 0, "C10400000002 C10400000003", 0), 0x6A80);
	assert_int_equal(store_hex(&h, 0, "C10400000002 0101AA 0101BB", 0), 0x6A80);
	assert_int_equal(store_hex(&h, 0, "C10400000002 E10101", 0), 0x6A80);	/* constructed */
	assert_int_equal(store_hex(&h, 0, "C10400000002 5C0101", 0), 0x6A80);	/* reserved */
	assert_int_equal(store_hex(&h, 0, "C10400000002 DF810101", 0), 0x6A80);	/* 3-byte tag */
	assert_int_equal(store_hex(&h, 0, "C10400000002 0105AA", 0), 0x6A80);	/* truncated */
	assert_int_equal(store_hex(&h, PCARD_SD_ENC_APP, "C10400000002", 0), 0x6A86);
	assert_int_equal(store_hex(&h, PCARD_SD_FMT_DGI, "C10400000002", 0), 0x6A86);
	same(&h, &s);
	hx_free(&h);
}

/* The store refuses to grow past 8 KiB (6A84) and keeps what it had. */
static void
test_full(void **state)
{
	hx h;
	snap s;
	uint8_t m[256];
	uint16_t sw = 0x9000;
	uint32_t v = 0;

	(void)state;
	setup(&h);
	hx_open_sc(&h, PCARD_SCP_CMAC);
	while (sw == 0x9000 && v < 100) {
		v++;
		m[0] = 0xC1;
		m[1] = 4;
		pcard_native_put32(m + 2, v);
		m[6] = 0xDF;
		m[7] = (uint8_t)v;	/* DF01, DF02, ... */
		m[8] = 0x81;	/* BER long form: 230 */
		m[9] = 230;
		memset(m + 10, (int)v, 230);
		if (v > 1)
			take(&h, &s);
		sw = hx_store(&h, 0, m, 10 + 230, 0);
	}
	assert_int_equal(sw, 0x6A84);
	/* 9 header bytes + n * 233 <= 8192: 35 items fit, the 36th does not */
	assert_int_equal(v, 36);
	same(&h, &s);
	hx_free(&h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_versions),
		cmocka_unit_test(test_items),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_full),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
