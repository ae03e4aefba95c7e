/*
 * tvkeys.c: vector keys in the in-memory provider (tvkeys.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "postcard/crypto.h"
#include "tvkeys.h"

size_t
tv_import_key(pcard_keys *k, pcard_keytype t, const tv_case *c, const char *field,
    pcard_keyh *h)
{
	uint8_t key[PCARD_MAX_SYMKEY_BYTES];
	size_t n = tv_hex(c, field, key, sizeof key);

	assert_int_equal(pcard_keys_mem_import(k, NULL, t, key, n, h), PCARD_OK);
	pcard_wipe(key, sizeof key);
	return n;
}

void
tv_assert_key_is(pcard_keys *k, pcard_keyh h, pcard_keytype t, const tv_case *c,
    const char *field)
{
	uint8_t a[PCARD_KCV_BYTES], b[PCARD_KCV_BYTES];
	pcard_keytype ht;
	size_t hn, n;
	pcard_keyh ref;

	n = tv_import_key(k, t, c, field, &ref);
	assert_int_equal(pcard_keys_info(k, h, &ht, &hn), PCARD_OK);
	assert_int_equal(ht, t);
	assert_int_equal(hn, n);
	assert_int_equal(pcard_keys_kcv(k, h, a), PCARD_OK);
	assert_int_equal(pcard_keys_kcv(k, ref, b), PCARD_OK);
	assert_memory_equal(a, b, sizeof a);
	pcard_keys_release(k, ref);
}
