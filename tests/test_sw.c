/* test_sw.c: status-word explanations and INS names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "postcard/apdu.h"
#include "postcard/sw.h"

static const struct {
	uint16_t sw;
	uint8_t ins;
	const char *expect;	/* exact text */
} exact[] = {
	{ 0x6A80, PCARD_INS_INSTALL, "6A80 on INSTALL: wrong data - bad install parameters, or "
	    "DAP/token verification failed" },
	{ 0x6A80, PCARD_SW_ANY_INS, "6A80: wrong data - incorrect parameters in the data field" },
	{ 0x6A80, 0x12, "6A80: wrong data - incorrect parameters in the data field" },
	{ 0x6A82, PCARD_INS_INSTALL, "6A82: application or file not found" },
	{ 0x6102, PCARD_INS_SELECT, "61xx: more response data available (GET RESPONSE with "
	    "Le = xx)" },
	{ 0x63C2, PCARD_INS_EXTERNAL_AUTHENTICATE, "63xx: warning - state changed (63Cx: x "
	    "retries left)" },
	{ 0x1234, PCARD_INS_INSTALL, "unknown status word" },
	{ 0x9000, PCARD_INS_LOAD, "9000: success" },
};

/* Per-command meanings from gp-facts 3.20: the text must name both the SW and the command
 * and contain the key phrase. */
static const struct {
	uint16_t sw;
	uint8_t ins;
	const char *phrase;
} per_cmd[] = {
	{ 0x6283, PCARD_INS_SELECT, "locked" },
	{ 0x6A82, PCARD_INS_SELECT, "not found" },
	{ 0x6A88, PCARD_INS_INITIALIZE_UPDATE, "key set" },
	{ 0x6983, PCARD_INS_INITIALIZE_UPDATE, "blocked" },
	{ 0x6985, PCARD_INS_INITIALIZE_UPDATE, "counter" },
	{ 0x6300, PCARD_INS_EXTERNAL_AUTHENTICATE, "host cryptogram" },
	{ 0x6985, PCARD_INS_EXTERNAL_AUTHENTICATE, "INITIALIZE UPDATE" },
	{ 0x6A88, PCARD_INS_DELETE, "not found" },
	{ 0x6985, PCARD_INS_DELETE, "referenced" },
	{ 0x6A84, PCARD_INS_INSTALL, "memory" },
	{ 0x6A84, PCARD_INS_LOAD, "memory" },
	{ 0x6A80, PCARD_INS_LOAD, "DAP" },
	{ 0x6438, PCARD_INS_LOAD, "import" },
	{ 0x6A88, PCARD_INS_PUT_KEY, "key version" },
	{ 0x6A80, PCARD_INS_PUT_KEY, "KCV" },
	{ 0x6310, PCARD_INS_GET_STATUS, "more" },
	{ 0x6A88, PCARD_INS_GET_DATA, "data object" },
	{ 0x6A88, PCARD_INS_GET_DATA_ODD, "data object" },
	{ 0x6985, PCARD_INS_SET_STATUS, "transition" },
	{ 0x6985, PCARD_INS_STORE_DATA, "personalization" },
};

static void
test_exact(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++)
		assert_string_equal(pcard_sw_explain(exact[i].sw, exact[i].ins), exact[i].expect);
}

static void
test_per_command(void **state)
{
	char prefix[64];

	(void)state;
	for (size_t i = 0; i < sizeof per_cmd / sizeof per_cmd[0]; i++) {
		const char *s = pcard_sw_explain(per_cmd[i].sw, per_cmd[i].ins);

		snprintf(prefix, sizeof prefix, "%04X on %s: ", per_cmd[i].sw,
		    pcard_ins_name(per_cmd[i].ins));
		assert_true(strncmp(s, prefix, strlen(prefix)) == 0);
		assert_non_null(strstr(s, per_cmd[i].phrase));
	}
}

/* Every answer, for every SW and known INS, is consistent: a leading SW is the SW asked
 * about (or its class), and a named command is the one asked about. */
static void
test_all_consistent(void **state)
{
	static const uint8_t ins[] = { 0x00, 0xA4, 0xC0, 0x70, 0x50, 0x82, 0x7A, 0x78, 0xE4,
		0xCA, 0xCB, 0xF2, 0xE6, 0xE8, 0xD8, 0xF0, 0xE2, 0x99 };
	char hex[8], cls[8], on[64];
	unsigned specific = 0;

	(void)state;
	for (size_t k = 0; k < sizeof ins; k++) {
		for (uint32_t sw = 0; sw <= 0xFFFF; sw++) {
			const char *s = pcard_sw_explain((uint16_t)sw, ins[k]);
			const char *name = pcard_ins_name(ins[k]);

			assert_non_null(s);
			snprintf(hex, sizeof hex, "%04X", sw);
			snprintf(cls, sizeof cls, "%02Xxx", sw >> 8);
			if (strcmp(s, "unknown status word") == 0)
				continue;
			assert_true(strncmp(s, hex, 4) == 0 || strncmp(s, cls, 4) == 0);
			if (strstr(s, " on ") == s + 4) {
				assert_non_null(name);
				snprintf(on, sizeof on, "%04X on %s: ", sw, name);
				assert_true(strncmp(s, on, strlen(on)) == 0);
				specific++;
			}
		}
	}
	assert_true(specific >= 50);
}

static void
test_ins_names(void **state)
{
	(void)state;
	assert_string_equal(pcard_ins_name(0xE6), "INSTALL");
	assert_string_equal(pcard_ins_name(0xF2), "GET STATUS");
	assert_string_equal(pcard_ins_name(0x50), "INITIALIZE UPDATE");
	assert_string_equal(pcard_ins_name(0xCB), "GET DATA");
	assert_null(pcard_ins_name(0x00));
	assert_null(pcard_ins_name(0x99));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact),
		cmocka_unit_test(test_per_command),
		cmocka_unit_test(test_all_consistent),
		cmocka_unit_test(test_ins_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
