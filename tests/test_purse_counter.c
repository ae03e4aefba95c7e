/*
 * test_purse_counter.c: the purse's debit counter never wraps. The counter is part of every
 * debit MAC and makes each MAC single-use; if it went from FFFFFFFF back to 0 the MACs of
 * the first debits would verify again. A purse whose blob holds counter FFFFFFFE accepts one
 * more debit (counter FFFFFFFF) and then answers 6985 to a DEBIT with a valid MAC, with the
 * blob unchanged.
 */
#include <stdlib.h>

#include "applet_harness.h"

static const uint8_t key[16] = {
	0x10, 0x21, 0x32, 0x43, 0x54, 0x65, 0x76, 0x87,
	0x98, 0xA9, 0xBA, 0xCB, 0xDC, 0xED, 0xFE, 0x0F,
};

/* A purse blob (applet_purse.c layout): balance 1000, limits open, counter ctr, key. */
static void
blob(uint8_t b[41], uint32_t ctr)
{
	memset(b, 0, 41);
	b[0] = 1;				/* format */
	b[3] = 3;				/* fail limit */
	pcard_native_put32(b + 4, 1000);	/* balance */
	pcard_native_put32(b + 8, UINT32_MAX);	/* largest debit */
	pcard_native_put32(b + 12, UINT32_MAX);	/* largest balance */
	pcard_native_put32(b + 16, ctr);	/* debit counter */
	b[24] = 16;
	memcpy(b + 25, key, 16);
}

/* DEBIT of amount with the MAC at counter ctr; returns the SW. */
static uint16_t
debit(hx *h, uint32_t amount, uint32_t ctr)
{
	const pcard_aid *aid = &pcard_applet_purse.modules[0];
	uint8_t msg[32], mac[16], cmd[18];
	size_t n = 0;

	msg[n++] = 0x44;
	pcard_native_put32(msg + n, ctr);
	n += 4;
	pcard_native_put32(msg + n, amount);
	n += 4;
	memcpy(msg + n, aid->b, aid->len);
	n += aid->len;
	assert_int_equal(pcard_aes_cmac(key, sizeof key, msg, n, mac), PCARD_OK);
	memcpy(cmd, "\x80\x30\x00\x00\x0C", 5);
	pcard_native_put32(cmd + 5, amount);
	memcpy(cmd + 9, mac, 8);
	cmd[17] = 0x00;
	return hx_send(h, cmd, sizeof cmd, 0);
}

static void
test_counter_stops_at_max(void **state)
{
	const pcard_aid *aid = &pcard_applet_purse.modules[0];
	uint8_t b[41], before[41];
	const pcard_card_app *app;
	hx h;

	(void)state;
	hx_init(&h, 3);
	hx_add_native(&h, &pcard_applet_purse, 0, 0);
	blob(b, UINT32_MAX - 1);
	assert_int_equal(pcard_card_app_set_data(&h.cs.apps[h.cs.napps - 1], b, sizeof b),
	    PCARD_OK);
	hx_open(&h);
	assert_int_equal(hx_select_aid(&h, aid), 0x9000);
	/* the last debit the counter allows */
	assert_int_equal(debit(&h, 10, UINT32_MAX - 1), 0x9000);
	assert_int_equal(h.rlen, 8);
	assert_int_equal(pcard_native_get32(h.rsp), 990);
	assert_int_equal(pcard_native_get32(h.rsp + 4), UINT32_MAX);
	app = hx_app(&h, aid);
	assert_int_equal(app->data_len, sizeof before);
	memcpy(before, app->data, sizeof before);
	/* a valid MAC at FFFFFFFF: refused, nothing changes (no wrap to 0) */
	assert_int_equal(debit(&h, 10, UINT32_MAX), 0x6985);
	app = hx_app(&h, aid);
	assert_int_equal(app->data_len, sizeof before);
	assert_memory_equal(app->data, before, sizeof before);
	/* nor does a MAC made for counter 0 verify */
	assert_int_equal(debit(&h, 10, 0), 0x6985);
	hx_free(&h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counter_stops_at_max),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
