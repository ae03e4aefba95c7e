/* test_tlv.c: BER-TLV reader, finders, writer with back-patched lengths, pretty-printer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "postcard/bytes.h"
#include "postcard/tlv.h"
#include "testvec.h"

static const struct {
	const char *hex;
	pcard_err err;
	uint32_t tag;
	size_t vlen;		/* value length */
	size_t used;		/* bytes consumed */
} next_cases[] = {
	{ "4F05A000000003", PCARD_OK, 0x4F, 5, 7 },
	{ "9F700107", PCARD_OK, 0x9F70, 1, 4 },
	{ "BF0C00", PCARD_OK, 0xBF0C, 0, 3 },
	{ "5F2D026465", PCARD_OK, 0x5F2D, 2, 5 },
	{ "DF810101AA", PCARD_OK, 0xDF8101, 1, 5 },		/* 3-octet tag */
	{ "C48100", PCARD_OK, 0xC4, 0, 3 },			/* 81 00: non-minimal but BER */
	{ "C4820001AA", PCARD_OK, 0xC4, 1, 5 },
	{ "C483000001BB", PCARD_OK, 0xC4, 1, 6 },
	{ "4F01AA4F00", PCARD_OK, 0x4F, 1, 3 },			/* only the first object */
	{ "", PCARD_E_TRUNCATED, 0, 0, 0 },
	{ "9F", PCARD_E_TRUNCATED, 0, 0, 0 },			/* inside the tag */
	{ "DF81", PCARD_E_TRUNCATED, 0, 0, 0 },
	{ "4F", PCARD_E_TRUNCATED, 0, 0, 0 },			/* no length */
	{ "4F81", PCARD_E_TRUNCATED, 0, 0, 0 },			/* inside the length */
	{ "4F8201", PCARD_E_TRUNCATED, 0, 0, 0 },
	{ "4F830000", PCARD_E_TRUNCATED, 0, 0, 0 },
	{ "4F03AABB", PCARD_E_TRUNCATED, 0, 0, 0 },		/* inside the value */
	{ "C4820100AA", PCARD_E_TRUNCATED, 0, 0, 0 },
	{ "4F80AA0000", PCARD_E_BAD_ENCODING, 0, 0, 0 },	/* indefinite */
	{ "4F8400000001AA", PCARD_E_BAD_ENCODING, 0, 0, 0 },	/* 84: 4 length octets */
	{ "4F85", PCARD_E_BAD_ENCODING, 0, 0, 0 },
	{ "4FFF", PCARD_E_BAD_ENCODING, 0, 0, 0 },
	{ "DF818180", PCARD_E_BAD_ENCODING, 0, 0, 0 },		/* tag over 3 octets */
	{ "0001AA", PCARD_E_BAD_ENCODING, 0, 0, 0 },		/* padding is not a tag */
	{ "FF01AA", PCARD_E_BAD_ENCODING, 0, 0, 0 },
	{ "9F1E01AA", PCARD_OK, 0x9F1E, 1, 4 },			/* low second octets are used */
	{ "9F8001AA", PCARD_E_BAD_ENCODING, 0, 0, 0 },		/* second octet 80 */
};

static void
test_next(void **state)
{
	uint8_t in[64];
	size_t n;
	pcard_rd r, v, before;
	uint32_t tag;

	(void)state;
	for (size_t i = 0; i < sizeof next_cases / sizeof next_cases[0]; i++) {
		n = tv_unhex(next_cases[i].hex, in, sizeof in);
		pcard_rd_init(&r, in, n);
		before = r;
		if (pcard_tlv_next(&r, &tag, &v) != next_cases[i].err)
			fail_msg("case %s", next_cases[i].hex);
		r = before;
		assert_int_equal(pcard_tlv_next(&r, &tag, &v), next_cases[i].err);
		if (next_cases[i].err == PCARD_OK) {
			assert_int_equal(tag, next_cases[i].tag);
			assert_int_equal(pcard_rd_left(&v), next_cases[i].vlen);
			assert_int_equal(n - pcard_rd_left(&r), next_cases[i].used);
		} else {
			/* unchanged on failure */
			assert_ptr_equal(pcard_rd_ptr(&r), pcard_rd_ptr(&before));
			assert_int_equal(pcard_rd_left(&r), pcard_rd_left(&before));
		}
	}
	assert_int_equal(pcard_tlv_next(NULL, &tag, &v), PCARD_E_INVALID_ARG);
}

static void
test_padding_and_flags(void **state)
{
	uint8_t in[32];
	size_t n = tv_unhex("00FF00 4F01AA FFFF", in, sizeof in);
	pcard_rd r, v;
	uint32_t tag;

	(void)state;
	pcard_rd_init(&r, in, n);
	assert_int_equal(pcard_tlv_next(&r, &tag, &v), PCARD_E_BAD_ENCODING);
	pcard_tlv_skip_padding(&r);
	assert_int_equal(pcard_tlv_next(&r, &tag, &v), PCARD_OK);
	assert_int_equal(tag, 0x4F);
	pcard_tlv_skip_padding(&r);
	assert_int_equal(pcard_rd_left(&r), 0);
	pcard_tlv_skip_padding(&r);	/* on empty: no-op */

	assert_true(pcard_tlv_is_constructed(0x6F));
	assert_true(pcard_tlv_is_constructed(0xE3));
	assert_true(pcard_tlv_is_constructed(0xBF0C));
	assert_true(pcard_tlv_is_constructed(0x7F49));
	assert_false(pcard_tlv_is_constructed(0x4F));
	assert_false(pcard_tlv_is_constructed(0x9F70));
	assert_false(pcard_tlv_is_constructed(0));
	assert_int_equal(pcard_tlv_tag_len(0x4F), 1);
	assert_int_equal(pcard_tlv_tag_len(0x9F70), 2);
	assert_int_equal(pcard_tlv_tag_len(0xDF8181), 3);
	assert_int_equal(pcard_tlv_tag_len(0), 0);
	assert_int_equal(pcard_tlv_tag_len(0x1000000), 0);
}

static void
test_find(void **state)
{
	uint8_t in[64];
	/* 6F { 84 A0000001510000, A5 { 73 00, 9F65 01 FF } } 90 00 (trailing SW, not TLV) */
	size_t n = tv_unhex("6F11 8407A0000001510000 A506 7300 9F6501FF", in, sizeof in);
	uint8_t bad[8];
	size_t nb = tv_unhex("4F01AA C405", bad, sizeof bad);
	const uint32_t path[] = { 0x6F, 0xA5, 0x9F65 }, miss[] = { 0x6F, 0xA5, 0x9F6E };
	const uint8_t *p;
	pcard_rd r, v;
	uint8_t b;

	(void)state;
	pcard_rd_init(&r, in, n);
	assert_int_equal(pcard_tlv_find_path(&r, path, 3, &v), PCARD_OK);
	assert_int_equal(pcard_rd_left(&v), 1);
	assert_int_equal(pcard_rd_u8(&v, &b), PCARD_OK);
	assert_int_equal(b, 0xFF);
	assert_int_equal(pcard_rd_left(&r), n);	/* r unmoved */
	assert_int_equal(pcard_tlv_find_path(&r, miss, 3, &v), PCARD_E_NOT_FOUND);
	assert_int_equal(pcard_tlv_find_path(&r, path, 0, &v), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_tlv_find(&r, 0x84, &v), PCARD_E_NOT_FOUND);	/* not a sibling */
	assert_int_equal(pcard_tlv_find(&r, 0x6F, &v), PCARD_OK);
	assert_int_equal(pcard_tlv_find(&v, 0x84, &v), PCARD_OK);
	assert_int_equal(pcard_rd_view(&v, 7, &p), PCARD_OK);
	assert_memory_equal(p, "\xA0\x00\x00\x01\x51\x00\x00", 7);
	/* malformed before the tag sought */
	pcard_rd_init(&r, bad, nb);
	assert_int_equal(pcard_tlv_find(&r, 0x4F, &v), PCARD_OK);
	assert_int_equal(pcard_tlv_find(&r, 0x9F, &v), PCARD_E_TRUNCATED);
	assert_int_equal(pcard_tlv_find(NULL, 0x4F, &v), PCARD_E_INVALID_ARG);
}

static void
test_validate(void **state)
{
	static const struct {
		const char *hex;
		pcard_err err;
	} t[] = {
		{ "", PCARD_OK },
		{ "E30A 4F05A000000003 9F7000", PCARD_OK },
		{ "E306 4F05A000000003 9F7000", PCARD_E_TRUNCATED },	/* inner overruns */
		{ "E308 4F05A000000003 9F", PCARD_E_TRUNCATED },
		{ "4F00 00", PCARD_E_BAD_ENCODING },			/* trailing padding */
		{ "E104 E102 8080", PCARD_E_BAD_ENCODING },
	};
	uint8_t in[64], deep[64];
	size_t n;
	pcard_rd r;

	(void)state;
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		n = tv_unhex(t[i].hex, in, sizeof in);
		pcard_rd_init(&r, in, n);
		assert_int_equal(pcard_tlv_validate(&r), t[i].err);
	}
	/* nesting deeper than PCARD_TLV_MAX_DEPTH: E1 1E E1 1C ... */
	for (size_t i = 0; i < 20; i++) {
		deep[2 * i] = 0xE1;
		deep[2 * i + 1] = (uint8_t)(2 * (20 - i - 1));
	}
	pcard_rd_init(&r, deep, 40);
	assert_int_equal(pcard_tlv_validate(&r), PCARD_E_BAD_ENCODING);
	pcard_rd_init(&r, deep + 2 * (20 - PCARD_TLV_MAX_DEPTH), 2 * PCARD_TLV_MAX_DEPTH);
	assert_int_equal(pcard_tlv_validate(&r), PCARD_OK);
	pcard_rd_init(&r, deep + 2 * (20 - PCARD_TLV_MAX_DEPTH - 1), 2 * (PCARD_TLV_MAX_DEPTH + 1));
	assert_int_equal(pcard_tlv_validate(&r), PCARD_E_BAD_ENCODING);
	pcard_rd_init(&r, deep + 2 * (20 - PCARD_TLV_MAX_DEPTH), 2 * PCARD_TLV_MAX_DEPTH);
	assert_int_equal(pcard_tlv_validate(&r), PCARD_OK);
	assert_int_equal(pcard_tlv_validate(NULL), PCARD_E_INVALID_ARG);
}

static void
test_writer(void **state)
{
	uint8_t out[400], exp[400], big[300];
	size_t n, e;
	pcard_wr w;
	pcard_tlv_mark m1, m2;

	(void)state;
	memset(big, 0xAB, sizeof big);
	/* E3 { 4F 05 A000000003, 9F70 01 07, C5 03 800000 } */
	pcard_wr_init(&w, out, sizeof out);
	pcard_tlv_begin(&w, 0xE3, &m1);
	pcard_tlv_put(&w, 0x4F, "\xA0\x00\x00\x00\x03", 5);
	pcard_tlv_put_u8(&w, 0x9F70, 0x07);
	pcard_tlv_put(&w, 0xC5, "\x80\x00\x00", 3);
	pcard_tlv_end(&w, &m1);
	assert_int_equal(pcard_wr_finish(&w, &n), PCARD_OK);
	e = tv_unhex("E310 4F05A000000003 9F700107 C503800000", exp, sizeof exp);
	assert_int_equal(n, e);
	assert_memory_equal(out, exp, e);

	/* nested, inner over 127 (81 xx) and outer over 255 (82 xx xx): contents move */
	pcard_wr_init(&w, out, sizeof out);
	pcard_tlv_begin(&w, 0xEF, &m1);
	pcard_tlv_begin(&w, 0xA0, &m2);
	pcard_tlv_put(&w, 0xC4, big, 200);
	pcard_tlv_end(&w, &m2);
	pcard_tlv_put(&w, 0xC6, big, 60);
	pcard_tlv_end(&w, &m1);
	assert_int_equal(pcard_wr_finish(&w, &n), PCARD_OK);
	/* C4 81 C8 + 200 = 203; A0 81 CB + 203 = 206; C6 3C + 60 = 62; EF 82 010C + 268 */
	assert_int_equal(n, 4 + 206 + 62);
	assert_memory_equal(out, "\xEF\x82\x01\x0C\xA0\x81\xCB\xC4\x81\xC8\xAB", 11);
	assert_memory_equal(out + 4 + 206, "\xC6\x3C\xAB", 3);
	{
		pcard_rd r, v, v2;
		uint32_t tag;

		pcard_rd_init(&r, out, n);
		assert_int_equal(pcard_tlv_validate(&r), PCARD_OK);
		assert_int_equal(pcard_tlv_next(&r, &tag, &v), PCARD_OK);
		assert_int_equal(pcard_tlv_find(&v, 0xC6, &v2), PCARD_OK);
		assert_int_equal(pcard_rd_left(&v2), 60);
	}
	/* measuring mode gives the same size */
	pcard_wr_init(&w, NULL, 0);
	pcard_tlv_begin(&w, 0xEF, &m1);
	pcard_tlv_put(&w, 0xC4, big, 200);
	pcard_tlv_end(&w, &m1);
	assert_int_equal(pcard_wr_finish(&w, &n), PCARD_E_NOSPACE);
	assert_int_equal(pcard_wr_len(&w), 3 + 3 + 200);
	/* too small a buffer: NOSPACE, never an overrun */
	for (size_t cap = 0; cap < 206; cap++) {
		uint8_t *small = malloc(cap > 0 ? cap : 1);

		pcard_wr_init(&w, small, cap);
		pcard_tlv_begin(&w, 0xEF, &m1);
		pcard_tlv_put(&w, 0xC4, big, 200);
		pcard_tlv_end(&w, &m1);
		assert_int_equal(pcard_wr_finish(&w, &n), PCARD_E_NOSPACE);
		free(small);
	}
	/* 3-octet tag, empty value, long value */
	pcard_wr_init(&w, out, sizeof out);
	pcard_tlv_put(&w, 0xDF8101, NULL, 0);
	pcard_tlv_put(&w, 0x4F, big, 256);
	assert_int_equal(pcard_wr_finish(&w, &n), PCARD_OK);
	assert_int_equal(n, 4 + 4 + 256);
	assert_memory_equal(out, "\xDF\x81\x01\x00\x4F\x82\x01\x00", 8);
	/* invalid tags */
	pcard_wr_init(&w, out, sizeof out);
	pcard_tlv_put(&w, 0, "x", 1);
	assert_int_equal(pcard_wr_finish(&w, &n), PCARD_E_INVALID_ARG);
	pcard_wr_init(&w, out, sizeof out);
	pcard_tlv_put_tag(&w, 0x01000000);
	assert_int_equal(pcard_wr_finish(&w, &n), PCARD_E_INVALID_ARG);
	/* a mark past the writer's end */
	pcard_wr_init(&w, out, sizeof out);
	m1.len_off = 10;
	pcard_tlv_end(&w, &m1);
	assert_int_equal(pcard_wr_finish(&w, &n), PCARD_E_INVALID_ARG);
}

static void
test_print(void **state)
{
	uint8_t in[64];
	size_t n = tv_unhex("6F10 8407A0000001510000 A505 9F6501FF 00 4F00", in, sizeof in);
	char out[256];
	size_t len;
	const char *exp = "6F 10\n"
	    "  84 07 A0000001510000\n"
	    "  A5 05\n"
	    "    9F65 01 FF\n"
	    "4F 00\n";

	(void)state;
	assert_int_equal(pcard_tlv_print(in, n, 0, out, sizeof out, &len), PCARD_OK);
	assert_string_equal(out, exp);
	assert_int_equal(len, strlen(exp));
	/* too small: NOSPACE, still NUL-terminated */
	assert_int_equal(pcard_tlv_print(in, n, 0, out, 10, &len), PCARD_E_NOSPACE);
	assert_int_equal(strlen(out), 9);
	assert_int_equal(len, strlen(exp));
	/* malformed: what parsed, then ?? and the rest, and the error */
	n = tv_unhex("A506 4F01AA 9F8001 4F", in, sizeof in);
	assert_int_equal(pcard_tlv_print(in, n, 2, out, sizeof out, &len), PCARD_E_BAD_ENCODING);
	assert_string_equal(out, "  A5 06\n    4F 01 AA\n    ?? 9F8001\n  ?? 4F\n");
	assert_int_equal(pcard_tlv_print(NULL, 3, 0, out, sizeof out, &len), PCARD_E_INVALID_ARG);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_next),
		cmocka_unit_test(test_padding_and_flags),
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_validate),
		cmocka_unit_test(test_writer),
		cmocka_unit_test(test_print),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
