/* test_json.c: pcard_json_unknown_member. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "postcard/json.h"

static void
unknown_member(void **state)
{
	static const char *const allowed[] = { "a", "b", NULL };
	static const char *const none[] = { NULL };
	json_t *o = json_pack("{s:i,s:i}", "a", 1, "b", 2);
	json_t *arr = json_array();

	(void)state;
	assert_non_null(o);
	assert_null(pcard_json_unknown_member(o, allowed));
	assert_string_equal(pcard_json_unknown_member(o, none), "a");
	assert_int_equal(json_object_set_new(o, "c", json_true()), 0);
	assert_string_equal(pcard_json_unknown_member(o, allowed), "c");
	/* not an object: nothing to refuse */
	assert_null(pcard_json_unknown_member(arr, none));
	assert_null(pcard_json_unknown_member(NULL, none));
	json_decref(o);
	json_decref(arr);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(unknown_member),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
