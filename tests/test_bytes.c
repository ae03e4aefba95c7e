/* test_bytes.c: bounded reader, writer, hex, and the error table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "postcard/bytes.h"
#include "postcard/err.h"

static void
test_reader(void **state)
{
	const uint8_t in[] = { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09 };
	pcard_rd r, sub;
	uint8_t b;
	uint16_t w;
	uint32_t d;
	const uint8_t *v;

	(void)state;
	pcard_rd_init(&r, in, sizeof in);
	assert_int_equal(pcard_rd_u8(&r, &b), PCARD_OK);
	assert_int_equal(b, 1);
	assert_int_equal(pcard_rd_u16(&r, &w), PCARD_OK);
	assert_int_equal(w, 0x0203);
	assert_int_equal(pcard_rd_u24(&r, &d), PCARD_OK);
	assert_int_equal(d, 0x040506);
	/* A failed read leaves the reader unchanged. */
	assert_int_equal(pcard_rd_u32(&r, &d), PCARD_E_TRUNCATED);
	assert_int_equal(pcard_rd_left(&r), 3);
	assert_int_equal(pcard_rd_sub(&r, 2, &sub), PCARD_OK);
	assert_int_equal(pcard_rd_view(&sub, 2, &v), PCARD_OK);
	assert_memory_equal(v, in + 6, 2);
	assert_int_equal(pcard_rd_expect_end(&sub), PCARD_OK);
	assert_int_equal(pcard_rd_expect_end(&r), PCARD_E_TRAILING_DATA);
	assert_int_equal(pcard_rd_view(&r, SIZE_MAX, &v), PCARD_E_TRUNCATED);
	assert_int_equal(pcard_rd_u16le(&r, &w), PCARD_E_TRUNCATED);
	assert_int_equal(pcard_rd_u8(&r, &b), PCARD_OK);
	assert_int_equal(pcard_rd_u8(&r, &b), PCARD_E_TRUNCATED);
}

static void
test_reader_lv(void **state)
{
	const uint8_t ok[] = { 0x02, 0xAA, 0xBB, 0x00 };
	const uint8_t bad[] = { 0x05, 0xAA };
	pcard_rd r, v;

	(void)state;
	pcard_rd_init(&r, ok, sizeof ok);
	assert_int_equal(pcard_rd_lv(&r, &v), PCARD_OK);
	assert_int_equal(pcard_rd_left(&v), 2);
	assert_int_equal(pcard_rd_lv(&r, &v), PCARD_OK);
	assert_int_equal(pcard_rd_left(&v), 0);
	assert_int_equal(pcard_rd_expect_end(&r), PCARD_OK);
	pcard_rd_init(&r, bad, sizeof bad);
	assert_int_equal(pcard_rd_lv(&r, &v), PCARD_E_TRUNCATED);
	assert_int_equal(pcard_rd_left(&r), 2);
}

static void
test_writer(void **state)
{
	uint8_t buf[8];
	pcard_wr w;
	size_t n = 0;

	(void)state;
	pcard_wr_init(&w, buf, sizeof buf);
	pcard_wr_u8(&w, 0x11);
	pcard_wr_u16(&w, 0x2233);
	pcard_wr_lv(&w, "\x44\x55", 2);
	assert_int_equal(pcard_wr_finish(&w, &n), PCARD_OK);
	assert_int_equal(n, 6);
	assert_memory_equal(buf, "\x11\x22\x33\x02\x44\x55", 6);
	pcard_wr_u32(&w, 0);	/* 10 > 8: overflow, recorded once */
	pcard_wr_u8(&w, 0);
	assert_int_equal(pcard_wr_finish(&w, &n), PCARD_E_NOSPACE);
	assert_int_equal(pcard_wr_len(&w), 11);

	/* Measuring mode. */
	pcard_wr_init(&w, NULL, 0);
	pcard_wr_fill(&w, 0, 300);
	assert_int_equal(pcard_wr_len(&w), 300);
	assert_int_equal(pcard_wr_finish(&w, &n), PCARD_E_NOSPACE);
}

static void
test_ber_len(void **state)
{
	static const struct {
		size_t n;
		const char *enc;
		size_t len;
	} t[] = {
		{ 0, "\x00", 1 }, { 0x7F, "\x7F", 1 }, { 0x80, "\x81\x80", 2 },
		{ 0xFF, "\x81\xFF", 2 }, { 0x100, "\x82\x01\x00", 3 },
		{ 0xFFFF, "\x82\xFF\xFF", 3 }, { 0x10000, "\x83\x01\x00\x00", 4 },
	};
	uint8_t buf[8];
	pcard_wr w;
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		pcard_wr_init(&w, buf, sizeof buf);
		pcard_wr_ber_len(&w, t[i].n);
		assert_int_equal(pcard_wr_finish(&w, &n), PCARD_OK);
		assert_int_equal(n, t[i].len);
		assert_memory_equal(buf, t[i].enc, n);
	}
	pcard_wr_init(&w, buf, sizeof buf);
	pcard_wr_ber_len(&w, 0x1000000);
	assert_int_equal(pcard_wr_finish(&w, &n), PCARD_E_INVALID_ARG);
	pcard_wr_init(&w, buf, sizeof buf);
	pcard_wr_lv(&w, buf, 256);
	assert_int_equal(pcard_wr_finish(&w, &n), PCARD_E_INVALID_ARG);
}

static void
test_hex(void **state)
{
	uint8_t out[4];
	char s[16];
	size_t n;

	(void)state;
	assert_int_equal(pcard_hex_decode("0a:Bc 12\n", out, sizeof out, &n), PCARD_OK);
	assert_int_equal(n, 3);
	assert_memory_equal(out, "\x0a\xbc\x12", 3);
	assert_int_equal(pcard_hex_decode("0a1", out, sizeof out, &n), PCARD_E_BAD_ENCODING);
	assert_int_equal(pcard_hex_decode("0g", out, sizeof out, &n), PCARD_E_BAD_ENCODING);
	assert_int_equal(pcard_hex_decode("0102030405", out, sizeof out, &n), PCARD_E_NOSPACE);
	assert_int_equal(pcard_hex_decode_exact("0102", out, 3), PCARD_E_BAD_ENCODING);
	assert_int_equal(pcard_hex_decode_exact("010203", out, 3), PCARD_OK);
	assert_int_equal(pcard_hex_encode(out, 3, s, sizeof s), PCARD_OK);
	assert_string_equal(s, "010203");
	assert_int_equal(pcard_hex_encode(out, 3, s, 6), PCARD_E_NOSPACE);
}

static void
test_errors_have_strings(void **state)
{
	(void)state;
	for (int e = 0; e < PCARD_E__COUNT; e++) {
		assert_string_not_equal(pcard_strerror((pcard_err)e), "unknown error");
		assert_string_not_equal(pcard_errname((pcard_err)e), "PCARD_E_UNKNOWN");
	}
	assert_string_equal(pcard_strerror(PCARD_E__COUNT), "unknown error");
	assert_int_equal(pcard_exit_code(PCARD_OK), 0);
	assert_int_equal(pcard_exit_code(PCARD_E_USAGE), PCARD_EXIT_USAGE);
	assert_int_equal(pcard_exit_code(PCARD_E_BAD_FILE), PCARD_EXIT_BAD_INPUT);
	assert_int_equal(pcard_exit_code(PCARD_E_AUTH), PCARD_EXIT_AUTH);
	assert_int_equal(pcard_exit_code(PCARD_E_CARD_STATUS), PCARD_EXIT_CARD_REFUSED);
	assert_int_equal(pcard_exit_code(PCARD_E_MAC), PCARD_EXIT_SECURE_CHANNEL);
	assert_int_equal(pcard_exit_code(PCARD_E_TRANSPORT), PCARD_EXIT_IO);
	assert_int_equal(pcard_exit_code((pcard_err)999), PCARD_EXIT_INTERNAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reader),
		cmocka_unit_test(test_reader_lv),
		cmocka_unit_test(test_writer),
		cmocka_unit_test(test_ber_len),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_errors_have_strings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
