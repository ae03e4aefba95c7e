/*
 * test_applet_purse.c: the purse native applet (applet_purse.c) through the real card
 * manager: personalisation, exactly-once credits, MACed debits, and the tampering pattern
 * (N consecutive bad MACs) locking the card with the Card Lock privilege, or blocking only
 * the purse without it; unblock; every refusal.
 */
#include <stdlib.h>

#include "applet_harness.h"

static const uint8_t debit_key[16] = {
	0x10, 0x21, 0x32, 0x43, 0x54, 0x65, 0x76, 0x87,
	0x98, 0xA9, 0xBA, 0xCB, 0xDC, 0xED, 0xFE, 0x0F,
};

static const pcard_aid *
purse_aid(void)
{
	return &pcard_applet_purse.modules[0];
}

static uint16_t
store_hex(hx *h, uint8_t p1, const char *hex, int encrypt)
{
	uint8_t m[256];
	size_t n;

	assert_int_equal(pcard_hex_decode(hex, m, sizeof m, &n), PCARD_OK);
	return hx_store(h, p1, m, n, encrypt);
}

/* Select the purse and open a secure channel with its SD. */
static void
sd_session(hx *h)
{
	assert_int_equal(hx_select_aid(h, purse_aid()), 0x9000);
	hx_open_sc(h, PCARD_SCP_CMAC);
}

/* Key, single-debit limit 1000, balance limit 100000, fail limit 3. */
static void
personalise(hx *h)
{
	uint8_t m[64];

	sd_session(h);
	m[0] = 0xC3;
	m[1] = 16;
	memcpy(m + 2, debit_key, 16);
	memcpy(m + 18, (const uint8_t[]){ 0xC4, 4, 0, 0, 0x03, 0xE8, 0xC5, 4, 0, 1, 0x86, 0xA0,
	    0xC6, 1, 3 }, 15);
	assert_int_equal(hx_store(h, 0, m, 33, 0), 0x6982);	/* the key in the clear */
	assert_int_equal(hx_store(h, 0, m, 33, 1), 0x9000);
}

static void
balance(hx *h, uint32_t *bal, uint32_t *ctr, uint8_t *fails, uint8_t *flags)
{
	assert_int_equal(hx_hex(h, "8032000000"), 0x9000);
	assert_int_equal(h->rlen, 10);
	*bal = pcard_native_get32(h->rsp);
	*ctr = pcard_native_get32(h->rsp + 4);
	*fails = h->rsp[8];
	*flags = h->rsp[9];
}

/* DEBIT of amount at counter ctr; good = 0 corrupts the MAC. */
static uint16_t
debit(hx *h, uint32_t amount, uint32_t ctr, int good)
{
	uint8_t msg[32], mac[16], cmd[32];
	size_t n = 0;

	msg[n++] = 0x44;
	pcard_native_put32(msg + n, ctr);
	n += 4;
	pcard_native_put32(msg + n, amount);
	n += 4;
	memcpy(msg + n, purse_aid()->b, purse_aid()->len);
	n += purse_aid()->len;
	assert_int_equal(pcard_aes_cmac(debit_key, 16, msg, n, mac), PCARD_OK);
	if (!good)
		mac[0] ^= 1;
	memcpy(cmd, (const uint8_t[]){ 0x80, 0x30, 0x00, 0x00, 0x0C }, 5);
	pcard_native_put32(cmd + 5, amount);
	memcpy(cmd + 9, mac, 8);
	cmd[17] = 0x00;
	return hx_send(h, cmd, 18, 0);
}

static void
test_credit_debit(void **state)
{
	hx h;
	uint32_t bal, ctr;
	uint8_t fails, flags;

	(void)state;
	hx_init(&h, 3);
	hx_add_native(&h, &pcard_applet_purse, 0, 0);
	hx_open(&h);
	assert_int_equal(hx_select_aid(&h, purse_aid()), 0x9000);
	assert_int_equal(debit(&h, 1, 0, 1), 0x6985);	/* no key yet */
	personalise(&h);
	/* credits: 1 applies, its retry does nothing, 3 skips one, 2 applies */
	assert_int_equal(store_hex(&h, PCARD_SD_CASE4, "C2080000000100000200", 0), 0x9000);
	assert_int_equal(h.rlen, 8);
	assert_int_equal(pcard_native_get32(h.rsp), 0x200);
	assert_int_equal(store_hex(&h, 0, "C2080000000100000200", 0), 0x9000);
	assert_int_equal(store_hex(&h, 0, "C2080000000300000100", 0), 0x6985);
	assert_int_equal(store_hex(&h, PCARD_SD_CASE4, "C2080000000200000100", 1), 0x9000);
	assert_int_equal(pcard_native_get32(h.rsp), 0x300);
	assert_int_equal(pcard_native_get32(h.rsp + 4), 2);
	/* over the largest balance (100000) */
	assert_int_equal(store_hex(&h, 0, "C20800000003000186A0", 0), 0x6A80);
	/* debits (plain, no session needed) */
	assert_int_equal(hx_select_aid(&h, purse_aid()), 0x9000);
	balance(&h, &bal, &ctr, &fails, &flags);
	assert_int_equal(bal, 0x300);
	assert_int_equal(ctr, 0);
	assert_int_equal(debit(&h, 0x100, 0, 1), 0x9000);
	assert_int_equal(pcard_native_get32(h.rsp), 0x200);
	assert_int_equal(pcard_native_get32(h.rsp + 4), 1);
	/* the same debit again: its MAC was for counter 0, so it fails authorisation */
	assert_int_equal(debit(&h, 0x100, 0, 1), 0x63C2);
	assert_int_equal(debit(&h, 1001, 1, 1), 0x6A80);	/* over the single-debit limit */
	assert_int_equal(debit(&h, 0, 1, 1), 0x6A80);
	assert_int_equal(debit(&h, 0x201, 1, 1), 0x6985);	/* more than the balance */
	assert_int_equal(debit(&h, 0x200, 1, 1), 0x9000);	/* resets the failures */
	balance(&h, &bal, &ctr, &fails, &flags);
	assert_int_equal(bal, 0);
	assert_int_equal(ctr, 2);
	assert_int_equal(fails, 0);
	assert_int_equal(flags, 0);
	/* the blob keeps the key after the public part only */
	{
		const pcard_card_app *a = hx_app(&h, purse_aid());

		assert_int_equal(a->data_len, PCARD_PURSE_PUBLIC_BYTES + 16);
		assert_int_equal(pcard_native_public_len(&a->elf, a->data, a->data_len),
		    PCARD_PURSE_PUBLIC_BYTES);
		assert_memory_equal(a->data + PCARD_PURSE_PUBLIC_BYTES, debit_key, 16);
	}
	/* refusals of the command layer */
	assert_int_equal(hx_hex(&h, "0032000000"), 0x6E00);
	assert_int_equal(hx_hex(&h, "8032010000"), 0x6A86);
	assert_int_equal(hx_hex(&h, "803200000100"), 0x6700);
	assert_int_equal(hx_hex(&h, "8030000001AA00"), 0x6700);
	assert_int_equal(hx_hex(&h, "8034000000"), 0x6D00);
	assert_int_equal(hx_hex(&h, "80E2800003C70000"), 0x6982);
	sd_session(&h);
	assert_int_equal(store_hex(&h, 0, "C30401020304", 1), 0x6A80);
	assert_int_equal(store_hex(&h, 0, "C60100", 0), 0x6A80);
	assert_int_equal(store_hex(&h, 0, "C60110", 0), 0x6A80);
	assert_int_equal(store_hex(&h, 0, "C40100", 0), 0x6A80);
	assert_int_equal(store_hex(&h, 0, "C70101", 0), 0x6A80);
	assert_int_equal(store_hex(&h, 0, "C20400000001", 0), 0x6A80);
	assert_int_equal(store_hex(&h, 0, "C900", 0), 0x6A80);
	assert_int_equal(store_hex(&h, 0, "C2", 0), 0x6A80);
	hx_free(&h);
}

/* N bad MACs with the Card Lock privilege: the card goes to CARD_LOCKED. */
static void
test_tamper_locks_card(void **state)
{
	hx h;
	const pcard_card_app *a;

	(void)state;
	hx_init(&h, 3);
	hx_add_native(&h, &pcard_applet_purse, PCARD_PRIV1_CARD_LOCK, 0);
	hx_open(&h);
	personalise(&h);
	assert_int_equal(hx_select_aid(&h, purse_aid()), 0x9000);
	assert_int_equal(debit(&h, 5, 0, 0), 0x63C2);
	assert_int_equal(debit(&h, 5, 0, 0), 0x63C1);
	assert_int_equal(pcard_card_state(h.card)->life_cycle, PCARD_CARD_SECURED);
	assert_int_equal(debit(&h, 5, 0, 0), 0x63C0);
	assert_int_equal(pcard_card_state(h.card)->life_cycle, PCARD_CARD_LOCKED);
	a = hx_app(&h, purse_aid());
	assert_int_equal(a->data[1], 0x03);	/* blocked, card locked by the purse */
	assert_int_equal(a->data[2], 3);
	/* the purse is no longer selectable on a locked card */
	assert_int_equal(hx_select_aid(&h, purse_aid()), 0x6A82);
	hx_free(&h);
}

/* Without Card Lock the lock is refused and the purse blocks itself; the SD unblocks it. */
static void
test_tamper_blocks_purse(void **state)
{
	hx h;
	uint32_t bal, ctr;
	uint8_t fails, flags;

	(void)state;
	hx_init(&h, 2);
	hx_add_native(&h, &pcard_applet_purse, 0, 0);
	hx_open(&h);
	personalise(&h);
	assert_int_equal(store_hex(&h, 0, "C2080000000100000050 C60102", 0), 0x9000);
	assert_int_equal(hx_select_aid(&h, purse_aid()), 0x9000);
	/* failures are consecutive only: a good debit in between resets them */
	assert_int_equal(debit(&h, 5, 0, 0), 0x63C1);
	assert_int_equal(debit(&h, 5, 0, 1), 0x9000);
	assert_int_equal(debit(&h, 5, 1, 0), 0x63C1);
	assert_int_equal(debit(&h, 5, 1, 0), 0x63C0);
	assert_int_equal(pcard_card_state(h.card)->life_cycle, PCARD_CARD_SECURED);
	balance(&h, &bal, &ctr, &fails, &flags);
	assert_int_equal(flags, 0x01);
	assert_int_equal(fails, 2);
	assert_int_equal(bal, 0x4B);
	assert_int_equal(debit(&h, 5, 1, 1), 0x6983);	/* blocked, even with a good MAC */
	/* the issuer unblocks */
	sd_session(&h);
	assert_int_equal(store_hex(&h, 0, "C700", 0), 0x9000);
	assert_int_equal(hx_select_aid(&h, purse_aid()), 0x9000);
	assert_int_equal(debit(&h, 5, 1, 1), 0x9000);
	balance(&h, &bal, &ctr, &fails, &flags);
	assert_int_equal(bal, 0x46);
	assert_int_equal(flags, 0);
	hx_free(&h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_credit_debit),
		cmocka_unit_test(test_tamper_locks_card),
		cmocka_unit_test(test_tamper_blocks_purse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
