/*
 * applet_hotp.c: the hotp native applet, an RFC 4226 HOTP token whose secret is
 * personalised after issuance through STORE DATA (docs/postcard-sim.md, "hotp").
 *
 * Persistent data blob (the secret last, so that `postcard-sim dump` can hide it:
 * pcard_native_public_len shows only the first PCARD_HOTP_PUBLIC_BYTES):
 *
 *   offset size
 *        0    1  format = 1
 *        1    1  digits, 6..8
 *        2    8  counter: the value the next GENERATE uses (big-endian)
 *       10    1  key length k, 0 = not personalised
 *       11    k  HMAC-SHA-1 secret                          (redacted by the dump)
 *
 * Commands (the instance selected):
 *   80 10 00 00 [Le]     GENERATE: the code for the stored counter, counter + 1 persisted
 *                        (staged and committed by the card manager before the answer leaves
 *                        the card). Response: counter used (8) || code as ASCII digits.
 *                        6985 before a secret is stored, or when the counter is exhausted.
 *   00|80 CA 00 C2 [Le]  GET DATA digits: C2 01 dd
 *   00|80 CA 00 C3 [Le]  GET DATA counter: C3 08 counter (the next one)
 * STORE DATA (through the SD; natives.h for the P1 coding), TLV objects:
 *   C1 len secret        1..64 bytes; only in an encrypted message (b7b6 = 11), else 6982.
 *                        A new secret sets the counter to 0 unless C3 is given too.
 *   C2 01 digits         6, 7 or 8
 *   C3 08 counter        resynchronisation: with a new secret any value; otherwise only
 *                        forward (an earlier counter would replay old codes: 6A80)
 *   Response (P1 b1): C3 08 counter.
 */
#include <string.h>

#include "hotp.h"
#include "natives.h"
#include "postcard/crypto.h"
#include "postcard/tlv.h"

#define HOTP_FORMAT 1
#define HOTP_OFF_DIGITS 1
#define HOTP_OFF_COUNTER 2
#define HOTP_OFF_KLEN 10
#define HOTP_BLOB_MAX (PCARD_HOTP_PUBLIC_BYTES + PCARD_HOTP_KEY_MAX)

static const uint8_t hotp_pkg[] = { PCARD_NATIVE_RID_PREFIX, 0x03 };
static const pcard_aid hotp_modules[] = {
	{ PCARD_NATIVE_MODULE_LEN, { PCARD_NATIVE_RID_PREFIX, 0x03, 0x01 } },
};

typedef struct hotp_state {
	uint8_t digits;
	uint64_t counter;
	size_t key_len;
	uint8_t key[PCARD_HOTP_KEY_MAX];
} hotp_state;

static uint64_t
get64(const uint8_t *p)
{
	return (uint64_t)pcard_native_get32(p) << 32 | pcard_native_get32(p + 4);
}

static void
put64(uint8_t *p, uint64_t v)
{
	pcard_native_put32(p, (uint32_t)(v >> 32));
	pcard_native_put32(p + 4, (uint32_t)v);
}

/* Read the blob; 0 on success, -1 when it is not a blob this code wrote. */
static int
load(pcard_applet_env *env, hotp_state *st)
{
	const uint8_t *p;
	size_t n;

	memset(st, 0, sizeof *st);
	pcard_applet_data(env, &p, &n);
	st->digits = PCARD_HOTP_DIGITS_MIN;
	if (n == 0)
		return 0;	/* created without install() (e.g. masked): not personalised */
	if (n < PCARD_HOTP_PUBLIC_BYTES || p[0] != HOTP_FORMAT)
		return -1;
	st->digits = p[HOTP_OFF_DIGITS];
	st->counter = get64(p + HOTP_OFF_COUNTER);
	st->key_len = p[HOTP_OFF_KLEN];
	if (st->key_len > PCARD_HOTP_KEY_MAX || n != PCARD_HOTP_PUBLIC_BYTES + st->key_len ||
	    st->digits < PCARD_HOTP_DIGITS_MIN || st->digits > PCARD_HOTP_DIGITS_MAX)
		return -1;
	memcpy(st->key, p + PCARD_HOTP_PUBLIC_BYTES, st->key_len);
	return 0;
}

/* Stage the blob; the SW to answer. */
static uint16_t
save(pcard_applet_env *env, const hotp_state *st)
{
	uint8_t b[HOTP_BLOB_MAX];
	size_t n = PCARD_HOTP_PUBLIC_BYTES + st->key_len;
	uint16_t sw;

	b[0] = HOTP_FORMAT;
	b[HOTP_OFF_DIGITS] = st->digits;
	put64(b + HOTP_OFF_COUNTER, st->counter);
	b[HOTP_OFF_KLEN] = (uint8_t)st->key_len;
	memcpy(b + PCARD_HOTP_PUBLIC_BYTES, st->key, st->key_len);
	sw = pcard_native_set_data(env, b, n);
	pcard_wipe(b, sizeof b);
	return sw;
}

static uint16_t
hotp_install(pcard_applet_env *env, const uint8_t *params, size_t n)
{
	hotp_state st;

	(void)params;
	(void)n;
	memset(&st, 0, sizeof st);
	st.digits = PCARD_HOTP_DIGITS_MIN;
	return save(env, &st);
}

static uint16_t
generate(pcard_applet_env *env, uint8_t *out, size_t out_cap, size_t *out_len)
{
	hotp_state st;
	uint32_t code;
	uint16_t sw;

	if (load(env, &st) != 0) {
		sw = PCARD_NSW_INTERNAL;
		goto out;
	}
	if (st.key_len == 0 || st.counter == UINT64_MAX) {
		sw = PCARD_NSW_CONDITIONS;
		goto out;
	}
	if (out_cap < 8 + PCARD_HOTP_DIGITS_MAX) {
		sw = PCARD_NSW_WRONG_LENGTH;
		goto out;
	}
	if (pcard_hotp(st.key, st.key_len, st.counter, st.digits, &code) != PCARD_OK) {
		sw = PCARD_NSW_INTERNAL;
		goto out;
	}
	put64(out, st.counter);
	for (unsigned i = st.digits; i > 0; i--) {
		out[8 + i - 1] = (uint8_t)('0' + code % 10);
		code /= 10;
	}
	/* the next counter is staged now and committed before this answer leaves the card */
	st.counter++;
	if ((sw = save(env, &st)) != PCARD_NSW_OK)
		goto out;
	*out_len = 8 + (size_t)st.digits;
out:
	pcard_wipe(&st, sizeof st);
	return sw;
}

static uint16_t
get_data(pcard_applet_env *env, const pcard_apdu *cmd, uint8_t *out, size_t out_cap,
    size_t *out_len)
{
	hotp_state st;
	uint16_t sw = PCARD_NSW_OK;

	if (load(env, &st) != 0) {
		sw = PCARD_NSW_INTERNAL;
		goto out;
	}
	if (cmd->p1 != 0x00 || (cmd->p2 != 0xC2 && cmd->p2 != 0xC3)) {
		sw = PCARD_NSW_NOT_FOUND;
		goto out;
	}
	if (out_cap < 10) {
		sw = PCARD_NSW_WRONG_LENGTH;
		goto out;
	}
	out[0] = cmd->p2;
	if (cmd->p2 == 0xC2) {
		out[1] = 1;
		out[2] = st.digits;
		*out_len = 3;
	} else {
		out[1] = 8;
		put64(out + 2, st.counter);
		*out_len = 10;
	}
out:
	pcard_wipe(&st, sizeof st);
	return sw;
}

static uint16_t
hotp_process(pcard_applet_env *env, const pcard_apdu *cmd, uint8_t *out, size_t out_cap,
    size_t *out_len)
{
	*out_len = 0;
	switch (cmd->ins) {
	case 0xCA:
		return get_data(env, cmd, out, out_cap, out_len);
	case 0x10:
		if (!(cmd->cla & 0x80))
			return PCARD_NSW_CLA;
		if (cmd->p1 != 0 || cmd->p2 != 0)
			return PCARD_NSW_WRONG_P1P2;
		if (cmd->lc != 0)
			return PCARD_NSW_WRONG_LENGTH;
		return generate(env, out, out_cap, out_len);
	case 0xE2:
		/* STORE DATA without a secure channel of the SD */
		return PCARD_NSW_SECURITY;
	default:
		return PCARD_NSW_INS;
	}
}

static uint16_t
hotp_store_data(pcard_applet_env *env, uint8_t p1, uint8_t p2, const uint8_t *data, size_t n,
    uint8_t *out, size_t out_cap, size_t *out_len)
{
	hotp_state st;
	pcard_rd msg;
	uint32_t tag;
	uint64_t ctr = 0;
	int encrypted, new_key = 0, have_ctr = 0;
	uint16_t sw;

	(void)p2;
	*out_len = 0;
	if ((sw = pcard_native_store_msg(p1, data, n, &msg, &encrypted)) != PCARD_NSW_OK)
		return sw;
	if (load(env, &st) != 0) {
		sw = PCARD_NSW_INTERNAL;
		goto out;
	}
	while (pcard_rd_left(&msg) > 0) {
		const uint8_t *v;
		size_t vn;

		if ((sw = pcard_native_next_item(&msg, &tag, &v, &vn)) != PCARD_NSW_OK)
			goto out;
		switch (tag) {
		case 0xC1:
			if (!encrypted) {
				sw = PCARD_NSW_SECURITY;
				goto out;
			}
			if (vn == 0 || vn > PCARD_HOTP_KEY_MAX || new_key) {
				sw = PCARD_NSW_WRONG_DATA;
				goto out;
			}
			memcpy(st.key, v, vn);
			st.key_len = vn;
			new_key = 1;
			break;
		case 0xC2:
			if (vn != 1 || v[0] < PCARD_HOTP_DIGITS_MIN || v[0] > PCARD_HOTP_DIGITS_MAX) {
				sw = PCARD_NSW_WRONG_DATA;
				goto out;
			}
			st.digits = v[0];
			break;
		case 0xC3:
			if (vn != 8 || have_ctr) {
				sw = PCARD_NSW_WRONG_DATA;
				goto out;
			}
			ctr = get64(v);
			have_ctr = 1;
			break;
		default:
			sw = PCARD_NSW_WRONG_DATA;
			goto out;
		}
	}
	if (new_key)
		st.counter = have_ctr ? ctr : 0;
	else if (have_ctr) {
		if (ctr < st.counter) {
			sw = PCARD_NSW_WRONG_DATA;
			goto out;
		}
		st.counter = ctr;
	}
	if ((sw = save(env, &st)) != PCARD_NSW_OK)
		goto out;
	if (out_cap >= 10) {
		out[0] = 0xC3;
		out[1] = 8;
		put64(out + 2, st.counter);
		*out_len = 10;
	}
out:
	pcard_wipe(&st, sizeof st);
	return sw;
}

const pcard_applet_ops pcard_applet_hotp = {
	.name = "hotp",
	.package = hotp_pkg,
	.package_len = sizeof hotp_pkg,
	.pkg_major = 1,
	.pkg_minor = 0,
	.nmodules = sizeof hotp_modules / sizeof hotp_modules[0],
	.modules = hotp_modules,
	.install = hotp_install,
	.process = hotp_process,
	.store_data = hotp_store_data,
};
