/* test_file.c: pcard_file_read: whole file, exact limit, one byte over, missing file, bad args. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "postcard/file.h"

static void
write_tmp(char *path, size_t cap, const char *text)
{
	FILE *f;

	snprintf(path, cap, "/tmp/pcard_test_file_%ld", (long)getpid());
	assert_non_null(f = fopen(path, "wb"));
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	assert_int_equal(fclose(f), 0);
}

static void
reads_whole_file_nul_terminated(void **state)
{
	char path[64];
	uint8_t *p = NULL;
	size_t n = 0;

	(void)state;
	write_tmp(path, sizeof path, "abcde");
	/* exactly the limit is accepted */
	assert_int_equal(pcard_file_read(path, 5, &p, &n), PCARD_OK);
	assert_int_equal(n, 5);
	assert_memory_equal(p, "abcde", 6);
	free(p);
	p = NULL;
	/* one byte over is refused and leaves the outputs alone */
	n = 99;
	assert_int_equal(pcard_file_read(path, 4, &p, &n), PCARD_E_BAD_FILE);
	assert_null(p);
	assert_int_equal(n, 99);
	unlink(path);
}

static void
empty_file(void **state)
{
	char path[64];
	uint8_t *p = NULL;
	size_t n = 99;

	(void)state;
	write_tmp(path, sizeof path, "");
	assert_int_equal(pcard_file_read(path, 0, &p, &n), PCARD_OK);
	assert_int_equal(n, 0);
	assert_int_equal(p[0], 0);
	free(p);
	unlink(path);
}

static void
errors(void **state)
{
	uint8_t *p = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(pcard_file_read("/nonexistent/pcard/file", 10, &p, &n), PCARD_E_IO);
	assert_null(p);
	/* a directory opens but cannot be read */
	assert_int_equal(pcard_file_read("/", 10, &p, &n), PCARD_E_IO);
	assert_null(p);
	assert_int_equal(pcard_file_read(NULL, 10, &p, &n), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_file_read("/", 10, NULL, &n), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_file_read("/", 10, &p, NULL), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_file_read("/", SIZE_MAX, &p, &n), PCARD_E_INVALID_ARG);
	assert_null(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reads_whole_file_nul_terminated),
		cmocka_unit_test(empty_file),
		cmocka_unit_test(errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
