/*
 * tvkeys.h: keys of the known-answer vector files (testvec.h) in the in-memory key provider,
 * for the tests that replay secure-channel sessions. Every failure fails the calling cmocka
 * test.
 */
#ifndef PCARD_TVKEYS_H
#define PCARD_TVKEYS_H

#include <stddef.h>

#include "postcard/keys.h"
#include "testvec.h"

/* Import the hex key in field of case c into k (pcard_keys_mem_import, no label) as a key of
 * type t; *h gets its handle. Returns the key's length in bytes. */
size_t tv_import_key(pcard_keys *k, pcard_keytype t, const tv_case *c, const char *field,
    pcard_keyh *h);

/* Assert that the key behind h has the value of field, a key of type t: same type and length,
 * same KCV. */
void tv_assert_key_is(pcard_keys *k, pcard_keyh h, pcard_keytype t, const tv_case *c,
    const char *field);

#endif
