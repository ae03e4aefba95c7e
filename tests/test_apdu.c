/* test_apdu.c: command/response APDU parse and encode, SW classes, command chaining. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "postcard/apdu.h"
#include "postcard/apdu_chain.h"
#include "postcard/bytes.h"
#include "testvec.h"

/* Valid encodings: each parses to the fields given and re-encodes to itself. */
static const struct {
	const char *hex;
	size_t lc, le;
	int has_le, ext;
} good[] = {
	{ "00A40400", 0, 0, 0, 0 },				/* case 1 */
	{ "80CA9F7F00", 0, 256, 1, 0 },				/* case 2S, Le 00 = 256 */
	{ "80CA006610", 0, 16, 1, 0 },
	{ "00A4040005A000000003", 5, 0, 0, 0 },			/* case 3S */
	{ "00A4040005A00000000300", 5, 256, 1, 0 },		/* case 4S */
	{ "00A4040001AA7F", 1, 127, 1, 0 },
	{ "80CA0000000000", 0, 65536, 1, 1 },			/* case 2E, Le 0000 */
	{ "80CA0000000100", 0, 256, 1, 1 },
	{ "80E20000000003010203", 3, 0, 0, 1 },			/* case 3E */
	{ "80E2000000000301020300FF", 3, 255, 1, 1 },		/* case 4E */
};

static void
test_parse_good(void **state)
{
	uint8_t in[64], out[64];
	size_t n, m;
	pcard_apdu a;

	(void)state;
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		n = tv_unhex(good[i].hex, in, sizeof in);
		assert_int_equal(pcard_apdu_parse(in, n, &a), PCARD_OK);
		assert_int_equal(a.cla, in[0]);
		assert_int_equal(a.ins, in[1]);
		assert_int_equal(a.p1, in[2]);
		assert_int_equal(a.p2, in[3]);
		assert_int_equal(a.lc, good[i].lc);
		assert_int_equal(a.has_le, good[i].has_le);
		assert_int_equal(a.le, good[i].le);
		assert_int_equal(a.extended, good[i].ext);
		if (a.lc == 0)
			assert_null(a.data);
		else
			assert_ptr_equal(a.data, in + (good[i].ext ? 7 : 5));
		assert_int_equal(pcard_apdu_encode(&a, out, sizeof out, &m), PCARD_OK);
		assert_int_equal(m, n);
		assert_memory_equal(out, in, n);
	}
}

/* Malformed encodings and the error each must give. */
static const struct {
	const char *hex;
	pcard_err err;
} bad[] = {
	{ "", PCARD_E_TRUNCATED },
	{ "00A404", PCARD_E_TRUNCATED },
	{ "00A4040005A0000000", PCARD_E_TRUNCATED },		/* Lc 5, 4 bytes follow */
	{ "00A4040002AABBCCDD", PCARD_E_BAD_ENCODING },		/* 2 bytes after data */
	{ "00A404000001", PCARD_E_BAD_ENCODING },		/* short Lc 00 followed by a byte */
	{ "80E20000000000AA", PCARD_E_BAD_ENCODING },		/* extended Lc 0000 then data */
	{ "80E2000000000301020300", PCARD_E_BAD_ENCODING },	/* extended Lc, 1-byte Le */
	{ "80E20000000005010203", PCARD_E_TRUNCATED },		/* extended Lc 5, 3 bytes */
	{ "80E2000000000301020300000000", PCARD_E_BAD_ENCODING },	/* junk after Le(2) */
};

static void
test_parse_bad(void **state)
{
	uint8_t in[64];
	size_t n;
	pcard_apdu a;

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		n = tv_unhex(bad[i].hex, in, sizeof in);
		assert_int_equal(pcard_apdu_parse(in, n, &a), bad[i].err);
	}
	assert_int_equal(pcard_apdu_parse(NULL, 4, &a), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_apdu_parse(in, 4, NULL), PCARD_E_INVALID_ARG);
}

static void
test_encode(void **state)
{
	uint8_t data[300], out[400], exp[400];
	size_t n, e;
	pcard_apdu a;

	(void)state;
	for (size_t i = 0; i < sizeof data; i++)
		data[i] = (uint8_t)i;
	memset(&a, 0, sizeof a);
	a.cla = 0x80;
	a.ins = 0xE8;
	/* lc over 255 switches to extended without being asked */
	a.data = data;
	a.lc = 300;
	assert_int_equal(pcard_apdu_encode(&a, out, sizeof out, &n), PCARD_OK);
	assert_int_equal(n, 7 + 300);
	assert_memory_equal(out, "\x80\xE8\x00\x00\x00\x01\x2C", 7);
	/* le over 256 too */
	a.lc = 2;
	a.has_le = 1;
	a.le = 257;
	assert_int_equal(pcard_apdu_encode(&a, out, sizeof out, &n), PCARD_OK);
	e = tv_unhex("80E800000000020001 0101", exp, sizeof exp);
	assert_int_equal(n, e);
	assert_memory_equal(out, exp, e);
	/* le 65536 -> 0000, case 2E */
	a.lc = 0;
	a.data = NULL;
	a.le = 65536;
	assert_int_equal(pcard_apdu_encode(&a, out, sizeof out, &n), PCARD_OK);
	e = tv_unhex("80E80000000000", exp, sizeof exp);
	assert_int_equal(n, e);
	assert_memory_equal(out, exp, e);
	/* extended flag on a case 1 command leaves it 4 bytes */
	a.has_le = 0;
	a.extended = 1;
	assert_int_equal(pcard_apdu_encode(&a, out, sizeof out, &n), PCARD_OK);
	assert_int_equal(n, 4);
	/* measuring with a NULL buffer gives NOSPACE */
	a.has_le = 1;
	a.le = 1;
	assert_int_equal(pcard_apdu_encode(&a, NULL, 0, &n), PCARD_E_NOSPACE);
	assert_int_equal(pcard_apdu_encode(&a, out, 6, &n), PCARD_E_NOSPACE);
	assert_int_equal(pcard_apdu_encode(&a, out, 7, &n), PCARD_OK);
	/* invalid arguments */
	a.le = 0;
	assert_int_equal(pcard_apdu_encode(&a, out, sizeof out, &n), PCARD_E_INVALID_ARG);
	a.le = 65537;
	assert_int_equal(pcard_apdu_encode(&a, out, sizeof out, &n), PCARD_E_INVALID_ARG);
	a.has_le = 0;
	a.lc = 65536;
	a.data = data;
	assert_int_equal(pcard_apdu_encode(&a, out, sizeof out, &n), PCARD_E_INVALID_ARG);
	a.lc = 3;
	a.data = NULL;
	assert_int_equal(pcard_apdu_encode(&a, out, sizeof out, &n), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_apdu_encode(NULL, out, sizeof out, &n), PCARD_E_INVALID_ARG);
}

static void
test_encode_max(void **state)
{
	uint8_t *data = calloc(1, 65535), *out = malloc(PCARD_APDU_MAX_BYTES);
	size_t n;
	pcard_apdu a, b;

	(void)state;
	assert_non_null(data);
	assert_non_null(out);
	memset(&a, 0, sizeof a);
	a.data = data;
	a.lc = 65535;
	a.has_le = 1;
	a.le = 65536;
	assert_int_equal(pcard_apdu_encode(&a, out, PCARD_APDU_MAX_BYTES, &n), PCARD_OK);
	assert_int_equal(n, 4 + 3 + 65535 + 2);	/* PCARD_APDU_MAX_BYTES has one spare byte */
	assert_int_equal(pcard_apdu_parse(out, n, &b), PCARD_OK);
	assert_int_equal(b.lc, 65535);
	assert_int_equal(b.le, 65536);
	free(data);
	free(out);
}

static void
test_rapdu(void **state)
{
	const uint8_t r1[] = { 0x01, 0x02, 0x90, 0x00 }, r2[] = { 0x6A, 0x82 }, r3[] = { 0x90 };
	pcard_rapdu r;

	(void)state;
	assert_int_equal(pcard_rapdu_parse(r1, sizeof r1, &r), PCARD_OK);
	assert_int_equal(r.len, 2);
	assert_ptr_equal(r.data, r1);
	assert_int_equal(r.sw, 0x9000);
	assert_int_equal(pcard_rapdu_parse(r2, sizeof r2, &r), PCARD_OK);
	assert_int_equal(r.len, 0);
	assert_null(r.data);
	assert_int_equal(r.sw, 0x6A82);
	assert_int_equal(pcard_rapdu_parse(r3, sizeof r3, &r), PCARD_E_TRUNCATED);
	assert_int_equal(pcard_rapdu_parse(r3, 0, &r), PCARD_E_TRUNCATED);
	assert_int_equal(pcard_rapdu_parse(r1, sizeof r1, NULL), PCARD_E_INVALID_ARG);
}

static void
test_sw_class(void **state)
{
	static const struct {
		uint16_t sw;
		int ok, warn;
	} t[] = {
		{ 0x9000, 1, 0 }, { 0x6100, 1, 0 }, { 0x61FF, 1, 0 }, { 0x6283, 0, 1 },
		{ 0x6310, 0, 1 }, { 0x6300, 0, 1 }, { 0x6A82, 0, 0 }, { 0x9001, 0, 0 },
		{ 0x6400, 0, 0 }, { 0x6C10, 0, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		assert_int_equal(pcard_sw_is_success(t[i].sw), t[i].ok);
		assert_int_equal(pcard_sw_is_warning(t[i].sw), t[i].warn);
	}
}

static void
test_chain(void **state)
{
	uint8_t data[600], out[300], exp[300];
	size_t n, count, e, total = 0;
	pcard_apdu a, p;

	(void)state;
	for (size_t i = 0; i < sizeof data; i++)
		data[i] = (uint8_t)(i * 7);
	memset(&a, 0, sizeof a);
	a.cla = 0x00;
	a.ins = 0xDB;
	a.p1 = 0x3F;
	a.p2 = 0xFF;
	a.data = data;
	a.lc = 600;
	a.has_le = 1;
	a.le = 256;
	assert_int_equal(pcard_apdu_chain_count(&a, 255, &count), PCARD_OK);
	assert_int_equal(count, 3);
	for (size_t i = 0; i < count; i++) {
		assert_int_equal(pcard_apdu_chain_piece(&a, 255, i, out, sizeof out, &n), PCARD_OK);
		assert_int_equal(pcard_apdu_parse(out, n, &p), PCARD_OK);
		assert_int_equal(p.cla, i + 1 < count ? 0x10 : 0x00);
		assert_int_equal(p.ins, 0xDB);
		assert_int_equal(p.p1, 0x3F);
		assert_int_equal(p.p2, 0xFF);
		assert_int_equal(p.extended, 0);
		assert_int_equal(p.has_le, i + 1 == count);
		assert_memory_equal(p.data, data + total, p.lc);
		total += p.lc;
	}
	assert_int_equal(total, 600);
	/* Exact bytes of a small chain: 5 bytes in blocks of 2 */
	a.cla = 0x84;
	a.lc = 5;
	a.has_le = 0;
	assert_int_equal(pcard_apdu_chain_count(&a, 2, &count), PCARD_OK);
	assert_int_equal(count, 3);
	assert_int_equal(pcard_apdu_chain_piece(&a, 2, 0, out, sizeof out, &n), PCARD_OK);
	e = tv_unhex("94DB3FFF02 0007", exp, sizeof exp);
	assert_int_equal(n, e);
	assert_memory_equal(out, exp, e);
	assert_int_equal(pcard_apdu_chain_piece(&a, 2, 2, out, sizeof out, &n), PCARD_OK);
	e = tv_unhex("84DB3FFF01 1C", exp, sizeof exp);
	assert_int_equal(n, e);
	assert_memory_equal(out, exp, e);
	/* no data: one piece, the command itself */
	a.lc = 0;
	a.data = NULL;
	assert_int_equal(pcard_apdu_chain_count(&a, 2, &count), PCARD_OK);
	assert_int_equal(count, 1);
	assert_int_equal(pcard_apdu_chain_piece(&a, 2, 0, out, sizeof out, &n), PCARD_OK);
	assert_int_equal(n, 4);
	/* errors */
	a.lc = 5;
	a.data = data;
	assert_int_equal(pcard_apdu_chain_count(&a, 0, &count), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_apdu_chain_count(&a, 256, &count), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_apdu_chain_piece(&a, 2, 3, out, sizeof out, &n), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_apdu_chain_piece(&a, 2, 0, out, 4, &n), PCARD_E_NOSPACE);
	a.cla = 0x10;
	assert_int_equal(pcard_apdu_chain_piece(&a, 2, 0, out, sizeof out, &n), PCARD_E_INVALID_ARG);
	a.cla = 0x00;
	a.has_le = 1;
	a.le = 257;
	assert_int_equal(pcard_apdu_chain_piece(&a, 2, 0, out, sizeof out, &n), PCARD_E_INVALID_ARG);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_encode),
		cmocka_unit_test(test_encode_max),
		cmocka_unit_test(test_rapdu),
		cmocka_unit_test(test_sw_class),
		cmocka_unit_test(test_chain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
