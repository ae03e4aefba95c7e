/*
 * test_hotp.c: HMAC-SHA-1 and HOTP (hotp.c) against the published vectors, and the hotp
 * native applet (applet_hotp.c) driven through the real card manager.
 *
 * Vectors: RFC 2202 section 3 (HMAC-SHA-1 test cases 1, 2, 6 and 7) and RFC 4226
 * Appendix D (secret "12345678901234567890", counts 0 to 9: the HMAC of count 0, the 31-bit
 * truncated values and the 6-digit codes; 7 and 8 digits are those values mod 10^7, 10^8).
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "applet_harness.h"
#include "cardfile.h"
#include "hotp.h"

static const char rfc_secret[] = "12345678901234567890";

/* RFC 4226 Appendix D: truncated decimal values and HOTP (6 digits) for counts 0..9. */
static const uint32_t rfc_trunc[10] = {
	1284755224u, 1094287082u, 137359152u, 1726969429u, 1640338314u,
	868254676u, 1918287922u, 82162583u, 673399871u, 645520489u,
};
static const uint32_t rfc_hotp6[10] = {
	755224, 287082, 359152, 969429, 338314, 254676, 287922, 162583, 399871, 520489,
};

static void
hexeq(const uint8_t *got, size_t n, const char *want_hex)
{
	uint8_t want[64];
	size_t wn;

	assert_int_equal(pcard_hex_decode(want_hex, want, sizeof want, &wn), PCARD_OK);
	assert_int_equal(n, wn);
	assert_memory_equal(got, want, n);
}

static void
test_hmac_rfc2202(void **state)
{
	uint8_t key[80], mac[PCARD_HMAC_SHA1_BYTES];
	static const char big1[] = "Test Using Larger Than Block-Size Key - Hash Key First";
	static const char big2[] =
	    "Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data";

	(void)state;
	memset(key, 0x0b, 20);
	assert_int_equal(pcard_hmac_sha1(key, 20, (const uint8_t *)"Hi There", 8, mac), PCARD_OK);
	hexeq(mac, sizeof mac, "b617318655057264e28bc0b6fb378c8ef146be00");
	assert_int_equal(pcard_hmac_sha1((const uint8_t *)"Jefe", 4,
	    (const uint8_t *)"what do ya want for nothing?", 28, mac), PCARD_OK);
	hexeq(mac, sizeof mac, "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
	memset(key, 0xaa, 80);
	assert_int_equal(pcard_hmac_sha1(key, 80, (const uint8_t *)big1, strlen(big1), mac),
	    PCARD_OK);
	hexeq(mac, sizeof mac, "aa4ae5e15272d00e95705637ce8a3b55ed402112");
	assert_int_equal(pcard_hmac_sha1(key, 80, (const uint8_t *)big2, strlen(big2), mac),
	    PCARD_OK);
	hexeq(mac, sizeof mac, "e8e99d0f45237d786d6bbaa7965c7808bbff1a91");
	/* RFC 4226 Appendix D, count 0 */
	assert_int_equal(pcard_hmac_sha1((const uint8_t *)rfc_secret, 20,
	    (const uint8_t[8]){ 0 }, 8, mac), PCARD_OK);
	hexeq(mac, sizeof mac, "cc93cf18508d94934c64b65d8ba7667fb7cde4b0");
	assert_int_equal(pcard_hmac_sha1(NULL, 1, (const uint8_t *)"x", 1, mac),
	    PCARD_E_INVALID_ARG);
}

static void
test_hotp_rfc4226(void **state)
{
	uint32_t code;

	(void)state;
	for (uint64_t c = 0; c < 10; c++) {
		assert_int_equal(pcard_hotp((const uint8_t *)rfc_secret, 20, c, 6, &code), PCARD_OK);
		assert_int_equal(code, rfc_hotp6[c]);
		assert_int_equal(pcard_hotp((const uint8_t *)rfc_secret, 20, c, 7, &code), PCARD_OK);
		assert_int_equal(code, rfc_trunc[c] % 10000000u);
		assert_int_equal(pcard_hotp((const uint8_t *)rfc_secret, 20, c, 8, &code), PCARD_OK);
		assert_int_equal(code, rfc_trunc[c] % 100000000u);
	}
	assert_int_equal(pcard_hotp((const uint8_t *)rfc_secret, 20, 0, 5, &code),
	    PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_hotp((const uint8_t *)rfc_secret, 20, 0, 9, &code),
	    PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_hotp((const uint8_t *)rfc_secret, 0, 0, 6, &code),
	    PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_hotp((const uint8_t *)rfc_secret, PCARD_HOTP_KEY_MAX + 1, 0, 6,
	    &code), PCARD_E_INVALID_ARG);
}

static const pcard_aid *
hotp_aid(void)
{
	return &pcard_applet_hotp.modules[0];
}

/* GENERATE; checks the counter echoed and returns the code as a number. */
static uint32_t
generate(hx *h, uint64_t want_counter, unsigned digits)
{
	uint64_t c = 0;
	uint32_t code = 0;

	assert_int_equal(hx_hex(h, "8010000000"), 0x9000);
	assert_int_equal(h->rlen, 8 + digits);
	for (int i = 0; i < 8; i++)
		c = c << 8 | h->rsp[i];
	assert_true(c == want_counter);
	for (unsigned i = 0; i < digits; i++) {
		assert_true(h->rsp[8 + i] >= '0' && h->rsp[8 + i] <= '9');
		code = code * 10 + (uint32_t)(h->rsp[8 + i] - '0');
	}
	return code;
}

/* The personalisation message: C1 secret [C2 digits]. */
static size_t
perso_msg(uint8_t *m, const uint8_t *secret, size_t n, unsigned digits)
{
	size_t len = 0;

	m[len++] = 0xC1;
	m[len++] = (uint8_t)n;
	memcpy(m + len, secret, n);
	len += n;
	if (digits != 0) {
		m[len++] = 0xC2;
		m[len++] = 1;
		m[len++] = (uint8_t)digits;
	}
	return len;
}

static void
personalise(hx *h, unsigned digits)
{
	uint8_t m[128];
	size_t n = perso_msg(m, (const uint8_t *)rfc_secret, 20, digits);

	assert_int_equal(hx_select_aid(h, hotp_aid()), 0x9000);
	hx_open_sc(h, PCARD_SCP_CMAC);
	assert_int_equal(hx_store(h, PCARD_SD_CASE4, m, n, 1), 0x9000);
	hexeq(h->rsp, h->rlen, "C3080000000000000000");
	/* back to the instance without a session: GENERATE needs none */
	assert_int_equal(hx_select_aid(h, hotp_aid()), 0x9000);
}

static void
run_rfc_sequence(uint8_t scp)
{
	hx h;
	const pcard_card_app *app;

	hx_init(&h, scp);
	hx_add_native(&h, &pcard_applet_hotp, 0, 0);
	hx_open(&h);
	assert_int_equal(hx_select_aid(&h, hotp_aid()), 0x9000);
	assert_int_equal(hx_hex(&h, "8010000000"), 0x6985);	/* no secret yet */
	personalise(&h, 0);
	for (uint64_t c = 0; c < 10; c++)
		assert_int_equal(generate(&h, c, 6), rfc_hotp6[c]);
	assert_int_equal(hx_hex(&h, "80CA00C300"), 0x9000);
	hexeq(h.rsp, h.rlen, "C308000000000000000A");
	assert_int_equal(hx_hex(&h, "00CA00C200"), 0x9000);
	hexeq(h.rsp, h.rlen, "C20106");
	/* the blob: public part first, the secret only after PCARD_HOTP_PUBLIC_BYTES */
	app = hx_app(&h, hotp_aid());
	assert_int_equal(app->data_len, PCARD_HOTP_PUBLIC_BYTES + 20);
	assert_int_equal(pcard_native_public_len(&app->elf, app->data, app->data_len),
	    PCARD_HOTP_PUBLIC_BYTES);
	assert_false(hx_contains(app->data, PCARD_HOTP_PUBLIC_BYTES, (const uint8_t *)"1234", 4));
	/* the dump's view: the secret is in the plain JSON view, not in the redacted one */
	{
		json_t *j = NULL, *a;
		char *txt;
		static const char secret_hex[] = "3132333435363738393031323334353637383930";

		assert_int_equal(pcard_cardstate_json(pcard_card_state(h.card), &j), PCARD_OK);
		txt = json_dumps(j, 0);
		assert_non_null(strstr(txt, secret_hex));	/* negative control */
		free(txt);
		assert_int_equal(pcard_native_json_redact(pcard_card_state(h.card), j), PCARD_OK);
		txt = json_dumps(j, 0);
		assert_null(strstr(txt, secret_hex));
		free(txt);
		a = json_array_get(json_object_get(j, "applications"), 0);
		assert_string_equal(json_string_value(json_object_get(a, "applet")), "hotp");
		assert_int_equal(json_integer_value(json_object_get(a, "data_redacted")), 20);
		assert_int_equal(strlen(json_string_value(json_object_get(a, "data"))),
		    2 * PCARD_HOTP_PUBLIC_BYTES);
		/* a view of another state is refused */
		json_array_remove(json_object_get(j, "applications"), 0);
		assert_int_equal(pcard_native_json_redact(pcard_card_state(h.card), j),
		    PCARD_E_INTERNAL);
		json_decref(j);
	}
	hx_free(&h);
}

static void
test_applet_rfc_scp03(void **state)
{
	(void)state;
	run_rfc_sequence(3);
}

static void
test_applet_rfc_scp02(void **state)
{
	(void)state;
	run_rfc_sequence(2);
}

static void
test_applet_digits_and_resync(void **state)
{
	hx h;
	uint8_t m[64];

	(void)state;
	hx_init(&h, 3);
	hx_add_native(&h, &pcard_applet_hotp, 0, 0);
	hx_open(&h);
	personalise(&h, 8);
	assert_int_equal(generate(&h, 0, 8), rfc_trunc[0] % 100000000u);
	/* resynchronise forward to 7 (plain: no secret in the message) */
	assert_int_equal(hx_select_aid(&h, hotp_aid()), 0x9000);
	hx_open_sc(&h, PCARD_SCP_CMAC);
	memcpy(m, (const uint8_t[]){ 0xC3, 8, 0, 0, 0, 0, 0, 0, 0, 7, 0xC2, 1, 7 }, 13);
	assert_int_equal(hx_store(&h, 0, m, 13, 0), 0x9000);
	/* backwards is refused: it would replay old codes */
	memcpy(m, (const uint8_t[]){ 0xC3, 8, 0, 0, 0, 0, 0, 0, 0, 6 }, 10);
	assert_int_equal(hx_store(&h, 0, m, 10, 0), 0x6A80);
	assert_int_equal(hx_select_aid(&h, hotp_aid()), 0x9000);
	assert_int_equal(generate(&h, 7, 7), rfc_trunc[7] % 10000000u);
	assert_int_equal(generate(&h, 8, 7), rfc_trunc[8] % 10000000u);
	hx_free(&h);
}

static void
test_applet_refusals(void **state)
{
	hx h;
	uint8_t m[128], big[PCARD_HOTP_KEY_MAX + 1];
	size_t n;

	(void)state;
	hx_init(&h, 3);
	hx_add_native(&h, &pcard_applet_hotp, 0, 0);
	hx_open(&h);
	assert_int_equal(hx_select_aid(&h, hotp_aid()), 0x9000);
	/* commands of the applet itself */
	assert_int_equal(hx_hex(&h, "0010000000"), 0x6E00);
	assert_int_equal(hx_hex(&h, "8010010000"), 0x6A86);
	assert_int_equal(hx_hex(&h, "801000000100"), 0x6700);
	assert_int_equal(hx_hex(&h, "80CA00C400"), 0x6A88);
	assert_int_equal(hx_hex(&h, "80AA000000"), 0x6D00);
	/* STORE DATA without a secure channel reaches process(): refused */
	assert_int_equal(hx_hex(&h, "80E2800003C20106"), 0x6982);
	hx_open_sc(&h, PCARD_SCP_CMAC);
	n = perso_msg(m, (const uint8_t *)rfc_secret, 20, 0);
	/* the secret in the clear */
	assert_int_equal(hx_store(&h, 0, m, n, 0), 0x6982);
	/* application-dependent encryption and DGI format are not used */
	assert_int_equal(hx_store(&h, PCARD_SD_ENC_APP, m, n, 0), 0x6A86);
	assert_int_equal(hx_store(&h, PCARD_SD_FMT_DGI, (const uint8_t *)"\xC2\x01\x06", 3, 0),
	    0x6A86);
	/* bad values */
	assert_int_equal(hx_store(&h, 0, (const uint8_t *)"\xC2\x01\x05", 3, 0), 0x6A80);
	assert_int_equal(hx_store(&h, 0, (const uint8_t *)"\xC2\x01\x09", 3, 0), 0x6A80);
	assert_int_equal(hx_store(&h, 0, (const uint8_t *)"\xC3\x01\x09", 3, 0), 0x6A80);
	assert_int_equal(hx_store(&h, 0, (const uint8_t *)"\xC5\x01\x09", 3, 0), 0x6A80);
	assert_int_equal(hx_store(&h, 0, (const uint8_t *)"\xC2\x05\x06", 3, 0), 0x6A80);
	memset(big, 0x31, sizeof big);
	n = perso_msg(m, big, sizeof big, 0);
	assert_int_equal(hx_store(&h, 0, m, n, 1), 0x6A80);
	/* two secrets in one message */
	n = perso_msg(m, (const uint8_t *)rfc_secret, 20, 0);
	memcpy(m + n, m, n);
	assert_int_equal(hx_store(&h, 0, m, 2 * n, 1), 0x6A80);
	/* an encrypted message without its padding: 16 bytes encrypted as they are */
	{
		uint8_t raw[16], cmd[64];
		size_t len;
		pcard_keyh dek;
		pcard_cipher_alg alg;

		memset(raw, 0, sizeof raw);
		assert_int_equal(pcard_scp_dek(&h.scp, &dek, &alg), PCARD_OK);
		assert_int_equal(pcard_keys_cipher(h.keys, dek, alg, 1, NULL, raw, 16, raw),
		    PCARD_OK);
		assert_int_equal(pcard_gp_store_data_cmd(0xE0, 0, raw, 16, cmd, sizeof cmd, &len),
		    PCARD_OK);
		assert_int_equal(hx_send(&h, cmd, len, 1), 0x6A80);
	}
	/* nothing was stored by any refusal */
	assert_int_equal(hx_select_aid(&h, hotp_aid()), 0x9000);
	assert_int_equal(hx_hex(&h, "8010000000"), 0x6985);
	assert_int_equal(hx_hex(&h, "80CA00C200"), 0x9000);
	hexeq(h.rsp, h.rlen, "C20106");
	hx_free(&h);
}

/* The counter reaches the card file before the code leaves the card. */
static void
test_applet_counter_persisted(void **state)
{
	char dir[] = "/tmp/test_hotp_XXXXXX", path[64];
	pcard_cardstate on_disk;
	hx h;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/card", dir);
	hx_init(&h, 3);
	hx_add_native(&h, &pcard_applet_hotp, 0, 0);
	/* hx_open with a file: the same as hx_open but persistent */
	{
		uint8_t atr[64];
		size_t n;

		assert_int_equal(pcard_card_open_state(&h.cs, path, NULL, &h.card), PCARD_OK);
		assert_int_equal(pcard_card_power_on(h.card, atr, sizeof atr, &n), PCARD_OK);
		assert_int_equal(pcard_inproc_open(hx_card_fn, NULL, h.card, &h.t), PCARD_OK);
		assert_int_equal(pcard_keys_mem_new(16, &h.keys), PCARD_OK);
		assert_int_equal(pcard_keys_mem_import(h.keys, NULL, PCARD_KEY_AES, hx_test_key,
		    16, &h.ks.enc), PCARD_OK);
		h.ks.mac = h.ks.dek = h.ks.enc;
	}
	personalise(&h, 0);
	for (uint64_t c = 0; c < 3; c++) {
		const uint8_t *d;

		assert_int_equal(generate(&h, c, 6), rfc_hotp6[c]);
		pcard_cardstate_init(&on_disk);
		assert_int_equal(pcard_cardfile_load(path, &on_disk), PCARD_OK);
		assert_int_equal(on_disk.napps, 1);
		d = on_disk.apps[0].data;
		assert_int_equal(d[9], c + 1);	/* low byte of the stored counter */
		pcard_cardstate_clear(&on_disk);
	}
	hx_free(&h);
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hmac_rfc2202),
		cmocka_unit_test(test_hotp_rfc4226),
		cmocka_unit_test(test_applet_rfc_scp03),
		cmocka_unit_test(test_applet_rfc_scp02),
		cmocka_unit_test(test_applet_digits_and_resync),
		cmocka_unit_test(test_applet_refusals),
		cmocka_unit_test(test_applet_counter_persisted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
