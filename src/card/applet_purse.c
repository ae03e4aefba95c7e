/*
 * applet_purse.c: the purse native applet, a stored-value purse that locks the card when it
 * sees a tampering pattern (docs/postcard-sim.md, "purse").
 *
 * Money comes in through STORE DATA from the security domain (credits carry a sequence
 * number, so a server's retry never credits twice) and goes out with DEBIT, authorised by an
 * 8-byte AES-CMAC under the debit key personalised through STORE DATA (encrypted).
 *
 * Tampering pattern: N consecutive DEBITs whose MAC does not verify (N = fail limit, default
 * 3). Each such DEBIT is answered 63Cx (x = attempts left) so that the count is committed
 * (an error status word would roll it back, applet.h "Transactions"); the Nth is answered
 * 63C0 and the purse then
 *   - asks the card manager to lock the card (pcard_applet_lock_card: SECURED ->
 *     CARD_LOCKED), granted only when the instance holds the Card Lock privilege, and
 *   - blocks itself in any case (flag "blocked": DEBIT answers 6983 until the issuer sends
 *     the unblock item). Without Card Lock only the purse is blocked.
 * A DEBIT with a valid MAC resets the count.
 *
 * Persistent data blob (the key last, hidden by `postcard-sim dump`):
 *   offset size
 *        0    1  format = 1
 *        1    1  flags: 01 blocked, 02 the card was locked by this purse
 *        2    1  consecutive failed debit authorisations
 *        3    1  fail limit N, 1..15
 *        4    4  balance
 *        8    4  largest single debit
 *       12    4  largest balance
 *       16    4  debit counter (debits done; in the MAC input)
 *       20    4  sequence number of the last credit applied
 *       24    1  key length, 0 or 16
 *       25   16  debit MAC key, AES-128                     (redacted by the dump)
 *
 * Commands (the instance selected; CLA 80):
 *   80 32 00 00 [Le]          BALANCE: balance (4) || debit counter (4) || failures (1) || flags (1)
 *   80 30 00 00 0C amount(4) mac(8) [Le]
 *                             DEBIT; mac = first 8 bytes of AES-CMAC(key, 44 || debit counter (4)
 *                             || amount (4) || instance AID). Response: balance (4) || debit
 *                             counter (4). 6983 blocked; 6985 no key yet, balance too low or
 *                             the debit counter at FFFFFFFF (it never wraps);
 *                             6A80 amount 0 or over the single-debit limit; 63Cx wrong MAC.
 * STORE DATA (through the SD; natives.h for the P1 coding), TLV objects applied in order:
 *   C3 10 key                 the debit key; only in an encrypted message (else 6982)
 *   C4 04 limit               largest single debit
 *   C5 04 max                 largest balance
 *   C6 01 n                   fail limit, 1..15
 *   C2 08 seq(4) amount(4)    CREDIT: applied when seq = last + 1; seq <= last is a credit
 *                             already applied (skipped, success); seq > last + 1 is 6985 (one
 *                             is missing); over the largest balance 6A80
 *   C7 00                     unblock: failures 0, blocked cleared
 *   Response (P1 b1): balance (4) || last credit sequence number (4).
 */
#include <string.h>

#include "natives.h"
#include "postcard/crypto.h"
#include "postcard/tlv.h"

#define PURSE_FORMAT 1
#define PURSE_KEY_BYTES 16
#define PURSE_MAC_BYTES 8
#define PURSE_FLAG_BLOCKED 0x01
#define PURSE_FLAG_LOCKED_CARD 0x02
#define PURSE_DEFAULT_FAILS 3
#define PURSE_MAX_FAILS 15

static const uint8_t purse_pkg[] = { PCARD_NATIVE_RID_PREFIX, 0x02 };
static const pcard_aid purse_modules[] = {
	{ PCARD_NATIVE_MODULE_LEN, { PCARD_NATIVE_RID_PREFIX, 0x02, 0x01 } },
};

typedef struct purse_state {
	uint8_t flags, fails, fail_limit;
	uint32_t balance, debit_limit, max_balance, counter, credit_seq;
	uint8_t key_len;
	uint8_t key[PURSE_KEY_BYTES];
} purse_state;

static void
defaults(purse_state *st)
{
	memset(st, 0, sizeof *st);
	st->fail_limit = PURSE_DEFAULT_FAILS;
	st->debit_limit = UINT32_MAX;
	st->max_balance = UINT32_MAX;
}

static int
load(pcard_applet_env *env, purse_state *st)
{
	const uint8_t *p;
	size_t n;

	defaults(st);
	pcard_applet_data(env, &p, &n);
	if (n == 0)
		return 0;	/* created without install(): defaults */
	if (n < PCARD_PURSE_PUBLIC_BYTES || p[0] != PURSE_FORMAT)
		return -1;
	st->flags = p[1];
	st->fails = p[2];
	st->fail_limit = p[3];
	st->balance = pcard_native_get32(p + 4);
	st->debit_limit = pcard_native_get32(p + 8);
	st->max_balance = pcard_native_get32(p + 12);
	st->counter = pcard_native_get32(p + 16);
	st->credit_seq = pcard_native_get32(p + 20);
	st->key_len = p[24];
	if ((st->key_len != 0 && st->key_len != PURSE_KEY_BYTES) ||
	    n != PCARD_PURSE_PUBLIC_BYTES + (size_t)st->key_len || st->fail_limit == 0 ||
	    st->fail_limit > PURSE_MAX_FAILS)
		return -1;
	memcpy(st->key, p + PCARD_PURSE_PUBLIC_BYTES, st->key_len);
	return 0;
}

static uint16_t
save(pcard_applet_env *env, const purse_state *st)
{
	uint8_t b[PCARD_PURSE_PUBLIC_BYTES + PURSE_KEY_BYTES];
	uint16_t sw;

	b[0] = PURSE_FORMAT;
	b[1] = st->flags;
	b[2] = st->fails;
	b[3] = st->fail_limit;
	pcard_native_put32(b + 4, st->balance);
	pcard_native_put32(b + 8, st->debit_limit);
	pcard_native_put32(b + 12, st->max_balance);
	pcard_native_put32(b + 16, st->counter);
	pcard_native_put32(b + 20, st->credit_seq);
	b[24] = st->key_len;
	memcpy(b + PCARD_PURSE_PUBLIC_BYTES, st->key, st->key_len);
	sw = pcard_native_set_data(env, b, PCARD_PURSE_PUBLIC_BYTES + (size_t)st->key_len);
	pcard_wipe(b, sizeof b);
	return sw;
}

static uint16_t
purse_install(pcard_applet_env *env, const uint8_t *params, size_t n)
{
	purse_state st;

	(void)params;
	(void)n;
	defaults(&st);
	return save(env, &st);
}

/* 1 when mac is the debit MAC of amount at the current counter. */
static int
mac_ok(pcard_applet_env *env, const purse_state *st, const uint8_t *amount, const uint8_t *mac)
{
	const pcard_aid *aid = pcard_applet_aid(env);
	uint8_t msg[1 + 4 + 4 + PCARD_AID_MAX], full[16];
	size_t n = 0;
	int ok;

	msg[n++] = 0x44;
	pcard_native_put32(msg + n, st->counter);
	n += 4;
	memcpy(msg + n, amount, 4);
	n += 4;
	memcpy(msg + n, aid->b, aid->len);
	n += aid->len;
	ok = pcard_aes_cmac(st->key, st->key_len, msg, n, full) == PCARD_OK &&
	    pcard_ct_eq(full, mac, PURSE_MAC_BYTES);
	pcard_wipe(full, sizeof full);
	return ok;
}

static uint16_t
debit(pcard_applet_env *env, const pcard_apdu *cmd, purse_state *st, uint8_t *out,
    size_t out_cap, size_t *out_len)
{
	uint32_t amount;
	uint16_t sw;

	if (st->flags & PURSE_FLAG_BLOCKED)
		return PCARD_NSW_BLOCKED;
	/* the counter is in every MAC: wrapping to 0 would make old MACs verify again */
	if (st->key_len == 0 || st->counter == UINT32_MAX)
		return PCARD_NSW_CONDITIONS;
	if (cmd->lc != 4 + PURSE_MAC_BYTES || out_cap < 8)
		return PCARD_NSW_WRONG_LENGTH;
	if (!mac_ok(env, st, cmd->data, cmd->data + 4)) {
		if (st->fails < UINT8_MAX)
			st->fails++;
		if (st->fails >= st->fail_limit) {
			/* the tampering pattern: lock the card if allowed, block the purse always */
			if (pcard_applet_lock_card(env) == PCARD_NSW_OK)
				st->flags |= PURSE_FLAG_LOCKED_CARD;
			st->flags |= PURSE_FLAG_BLOCKED;
		}
		if ((sw = save(env, st)) != PCARD_NSW_OK)
			return sw;
		/* a warning, so that the count (and a lock) is committed */
		return (uint16_t)(0x63C0 | (st->fail_limit > st->fails ?
		    st->fail_limit - st->fails : 0));
	}
	amount = pcard_native_get32(cmd->data);
	if (amount == 0 || amount > st->debit_limit)
		return PCARD_NSW_WRONG_DATA;
	if (amount > st->balance)
		return PCARD_NSW_CONDITIONS;
	st->balance -= amount;
	st->counter++;
	st->fails = 0;
	if ((sw = save(env, st)) != PCARD_NSW_OK)
		return sw;
	pcard_native_put32(out, st->balance);
	pcard_native_put32(out + 4, st->counter);
	*out_len = 8;
	return PCARD_NSW_OK;
}

static uint16_t
purse_process(pcard_applet_env *env, const pcard_apdu *cmd, uint8_t *out, size_t out_cap,
    size_t *out_len)
{
	purse_state st;
	uint16_t sw;

	*out_len = 0;
	if (cmd->ins == 0xE2)
		return PCARD_NSW_SECURITY;	/* STORE DATA without the SD's secure channel */
	if (cmd->ins != 0x30 && cmd->ins != 0x32)
		return PCARD_NSW_INS;
	if (!(cmd->cla & 0x80))
		return PCARD_NSW_CLA;
	if (cmd->p1 != 0 || cmd->p2 != 0)
		return PCARD_NSW_WRONG_P1P2;
	if (load(env, &st) != 0)
		return PCARD_NSW_INTERNAL;
	if (cmd->ins == 0x30) {
		sw = debit(env, cmd, &st, out, out_cap, out_len);
	} else if (cmd->lc != 0 || out_cap < 10) {
		sw = PCARD_NSW_WRONG_LENGTH;
	} else {
		pcard_native_put32(out, st.balance);
		pcard_native_put32(out + 4, st.counter);
		out[8] = st.fails;
		out[9] = st.flags;
		*out_len = 10;
		sw = PCARD_NSW_OK;
	}
	pcard_wipe(&st, sizeof st);
	return sw;
}

/* One STORE DATA object; the SW. */
static uint16_t
store_item(purse_state *st, uint32_t tag, const uint8_t *v, size_t vn, int encrypted)
{
	uint32_t seq, amount;

	switch (tag) {
	case 0xC3:
		if (!encrypted)
			return PCARD_NSW_SECURITY;
		if (vn != PURSE_KEY_BYTES)
			return PCARD_NSW_WRONG_DATA;
		memcpy(st->key, v, vn);
		st->key_len = PURSE_KEY_BYTES;
		return PCARD_NSW_OK;
	case 0xC4:
	case 0xC5:
		if (vn != 4)
			return PCARD_NSW_WRONG_DATA;
		*(tag == 0xC4 ? &st->debit_limit : &st->max_balance) = pcard_native_get32(v);
		return PCARD_NSW_OK;
	case 0xC6:
		if (vn != 1 || v[0] == 0 || v[0] > PURSE_MAX_FAILS)
			return PCARD_NSW_WRONG_DATA;
		st->fail_limit = v[0];
		return PCARD_NSW_OK;
	case 0xC7:
		if (vn != 0)
			return PCARD_NSW_WRONG_DATA;
		st->fails = 0;
		st->flags = 0;
		return PCARD_NSW_OK;
	case 0xC2:
		if (vn != 8)
			return PCARD_NSW_WRONG_DATA;
		seq = pcard_native_get32(v);
		amount = pcard_native_get32(v + 4);
		if (seq <= st->credit_seq)
			return PCARD_NSW_OK;	/* applied before: exactly once */
		if (seq != st->credit_seq + 1)
			return PCARD_NSW_CONDITIONS;
		if (amount > st->max_balance || st->balance > st->max_balance - amount)
			return PCARD_NSW_WRONG_DATA;
		st->balance += amount;
		st->credit_seq = seq;
		return PCARD_NSW_OK;
	default:
		return PCARD_NSW_WRONG_DATA;
	}
}

static uint16_t
purse_store_data(pcard_applet_env *env, uint8_t p1, uint8_t p2, const uint8_t *data, size_t n,
    uint8_t *out, size_t out_cap, size_t *out_len)
{
	purse_state st;
	pcard_rd msg;
	uint32_t tag;
	int encrypted;
	uint16_t sw;

	(void)p2;
	*out_len = 0;
	if ((sw = pcard_native_store_msg(p1, data, n, &msg, &encrypted)) != PCARD_NSW_OK)
		return sw;
	if (load(env, &st) != 0)
		return PCARD_NSW_INTERNAL;
	while (pcard_rd_left(&msg) > 0) {
		const uint8_t *v;
		size_t vn;

		if ((sw = pcard_native_next_item(&msg, &tag, &v, &vn)) != PCARD_NSW_OK)
			goto out;
		if ((sw = store_item(&st, tag, v, vn, encrypted)) != PCARD_NSW_OK)
			goto out;
	}
	if ((sw = save(env, &st)) != PCARD_NSW_OK)
		goto out;
	if (out_cap >= 8) {
		pcard_native_put32(out, st.balance);
		pcard_native_put32(out + 4, st.credit_seq);
		*out_len = 8;
	}
out:
	pcard_wipe(&st, sizeof st);
	return sw;
}

const pcard_applet_ops pcard_applet_purse = {
	.name = "purse",
	.package = purse_pkg,
	.package_len = sizeof purse_pkg,
	.pkg_major = 1,
	.pkg_minor = 0,
	.nmodules = sizeof purse_modules / sizeof purse_modules[0],
	.modules = purse_modules,
	.install = purse_install,
	.process = purse_process,
	.store_data = purse_store_data,
};
