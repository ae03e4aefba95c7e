/*
 * json.c: shared checks on jansson values (json.h).
 */
#include <string.h>

#include "postcard/json.h"

const char *
pcard_json_unknown_member(const json_t *o, const char *const *allowed)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)o, key, v) {
		size_t i;

		(void)v;
		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(allowed[i], key) == 0)
				break;
		if (allowed[i] == NULL)
			return key;
	}
	return NULL;
}
