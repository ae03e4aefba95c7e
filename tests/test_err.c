/*
 * test_err.c: every pcard_err has a name, a string and an exit code, and docs/exit-codes.md
 * says the same as the code (both tables are parsed and compared).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "postcard/err.h"

static const struct {
	const char *name;
	int code;
} exits[] = {
	{ "OK", PCARD_EXIT_OK }, { "INTERNAL", PCARD_EXIT_INTERNAL },
	{ "USAGE", PCARD_EXIT_USAGE }, { "BAD_INPUT", PCARD_EXIT_BAD_INPUT },
	{ "CARD_REFUSED", PCARD_EXIT_CARD_REFUSED }, { "AUTH", PCARD_EXIT_AUTH },
	{ "SECURE_CHANNEL", PCARD_EXIT_SECURE_CHANNEL }, { "IO", PCARD_EXIT_IO },
	{ "UNSUPPORTED", PCARD_EXIT_UNSUPPORTED }, { "VERIFY", PCARD_EXIT_VERIFY },
};

static FILE *
open_doc(void)
{
	const char *src = getenv("PCARD_SOURCE_DIR");
	char path[4096];
	FILE *f;

	assert_non_null(src);
	snprintf(path, sizeof path, "%s/docs/exit-codes.md", src);
	f = fopen(path, "r");
	if (f == NULL)
		fail_msg("cannot open %s", path);
	return f;
}

/* "| 4 | CARD_REFUSED | ..." rows of the first table. */
static void
test_doc_exit_table(void **state)
{
	FILE *f = open_doc();
	char line[1024];
	size_t seen = 0;

	(void)state;
	while (fgets(line, sizeof line, f) != NULL) {
		int code;
		char name[64];

		if (sscanf(line, "| %d | %63[A-Z_] |", &code, name) != 2)
			continue;
		for (size_t i = 0; i < sizeof exits / sizeof exits[0]; i++) {
			if (strcmp(exits[i].name, name) == 0) {
				assert_int_equal(exits[i].code, code);
				seen++;
			}
		}
	}
	fclose(f);
	assert_int_equal(seen, sizeof exits / sizeof exits[0]);
}

/* "| PCARD_E_X, PCARD_E_Y | 3 |" rows of the second table: each value appears once, right. */
static void
test_doc_error_mapping(void **state)
{
	FILE *f = open_doc();
	char line[2048];
	int found[PCARD_E__COUNT] = { 0 };

	(void)state;
	while (fgets(line, sizeof line, f) != NULL) {
		char *bar, *names, *tok, *save = NULL;
		int code;

		if (strncmp(line, "| PCARD_", 8) != 0)
			continue;
		names = line + 2;
		bar = strchr(names, '|');
		assert_non_null(bar);
		*bar = '\0';
		code = atoi(bar + 1);
		for (tok = strtok_r(names, ", ", &save); tok != NULL; tok = strtok_r(NULL, ", ", &save)) {
			int matched = 0;

			for (int e = 0; e < PCARD_E__COUNT; e++) {
				if (strcmp(pcard_errname((pcard_err)e), tok) == 0) {
					if (pcard_exit_code((pcard_err)e) != code)
						fail_msg("%s: docs say %d, code says %d", tok, code,
						    pcard_exit_code((pcard_err)e));
					found[e]++;
					matched = 1;
				}
			}
			if (!matched)
				fail_msg("docs name unknown error %s", tok);
		}
	}
	fclose(f);
	for (int e = 0; e < PCARD_E__COUNT; e++)
		if (found[e] != 1)
			fail_msg("%s appears %d times in docs/exit-codes.md", pcard_errname((pcard_err)e),
			    found[e]);
}

/* pcard_errf formats into the caller's buffer (cut to fit) and passes the error through. */
static void
test_errf(void **state)
{
	char msg[8];

	(void)state;
	memset(msg, 'x', sizeof msg);
	assert_int_equal(pcard_errf(msg, sizeof msg, PCARD_E_BAD_ENCODING, "%s:%d", "key", 42),
	    PCARD_E_BAD_ENCODING);
	assert_string_equal(msg, "key:42");
	assert_int_equal(pcard_errf(msg, sizeof msg, PCARD_E_IO, "%s", "much too long"),
	    PCARD_E_IO);
	assert_string_equal(msg, "much to");
	/* no buffer: only the value comes back, nothing is written */
	memset(msg, 'x', sizeof msg);
	assert_int_equal(pcard_errf(msg, 0, PCARD_E_NOSPACE, "%s", "abc"), PCARD_E_NOSPACE);
	assert_int_equal(msg[0], 'x');
	assert_int_equal(pcard_errf(NULL, 16, PCARD_OK, "%s", "abc"), PCARD_OK);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_doc_exit_table),
		cmocka_unit_test(test_doc_error_mapping),
		cmocka_unit_test(test_errf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
