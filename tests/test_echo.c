/*
 * test_echo.c: the echo card's answers (src/card/echo.h): SELECT, echoed data fields of short
 * and extended APDUs, 6700 for what does not parse, PCARD_E_NOSPACE for a small buffer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "echo.h"

static const struct {
	const char *name;
	uint8_t cmd[16];
	size_t n;
	uint8_t want[8];
	size_t want_n;
} cases[] = {
	{ "select answers 9000 only", { 0x00, 0xA4, 0x04, 0x00, 0x02, 0xA0, 0x00 }, 7,
	    { 0x90, 0x00 }, 2 },
	{ "case 1 answers 9000", { 0x80, 0xCA, 0x00, 0x66 }, 4, { 0x90, 0x00 }, 2 },
	{ "case 3 echoes its data", { 0x80, 0x10, 0x00, 0x00, 0x03, 0x01, 0x02, 0x03 }, 8,
	    { 0x01, 0x02, 0x03, 0x90, 0x00 }, 5 },
	{ "case 4 echoes its data", { 0x80, 0x10, 0x00, 0x00, 0x02, 0xAA, 0xBB, 0x00 }, 8,
	    { 0xAA, 0xBB, 0x90, 0x00 }, 4 },
	{ "extended case 3 echoes its data", { 0x80, 0x10, 0x00, 0x00, 0x00, 0x00, 0x01, 0x5A },
	    8, { 0x5A, 0x90, 0x00 }, 3 },
	{ "too short is 6700", { 0x80, 0x10, 0x00 }, 3, { 0x67, 0x00 }, 2 },
	{ "Lc beyond the data is 6700", { 0x80, 0x10, 0x00, 0x00, 0x05, 0x01 }, 6,
	    { 0x67, 0x00 }, 2 },
};

static void
test_answers(void **state)
{
	uint8_t resp[64];
	size_t len;

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		len = 0;
		memset(resp, 0xEE, sizeof resp);
		if (pcard_echo_apdu(NULL, cases[i].cmd, cases[i].n, resp, sizeof resp, &len) !=
		    PCARD_OK || len != cases[i].want_n ||
		    memcmp(resp, cases[i].want, len) != 0)
			fail_msg("case '%s'", cases[i].name);
	}
}

static void
test_nospace(void **state)
{
	static const uint8_t cmd[] = { 0x80, 0x10, 0x00, 0x00, 0x03, 0x01, 0x02, 0x03 };
	uint8_t resp[5];
	size_t len = 0;

	(void)state;
	assert_int_equal(pcard_echo_apdu(NULL, cmd, sizeof cmd, resp, 4, &len), PCARD_E_NOSPACE);
	assert_int_equal(pcard_echo_apdu(NULL, cmd, sizeof cmd, resp, 1, &len), PCARD_E_NOSPACE);
	assert_int_equal(pcard_echo_apdu(NULL, cmd, sizeof cmd, resp, sizeof resp, &len),
	    PCARD_OK);
	assert_int_equal(len, 5);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_answers),
		cmocka_unit_test(test_nospace),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
