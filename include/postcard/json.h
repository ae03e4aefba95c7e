/*
 * json.h: small checks on jansson values shared by every JSON reader (bundle messages, the
 * server's configuration and API bodies).
 */
#ifndef POSTCARD_JSON_H
#define POSTCARD_JSON_H

#include <jansson.h>

/*
 * The first member of o whose name is not in allowed (a NULL-terminated list), or NULL when
 * every member is allowed or o is not an object. The name is borrowed from o.
 */
const char *pcard_json_unknown_member(const json_t *o, const char *const *allowed);

#endif
