/* test_keydiv.c: card-key diversification templates over the in-memory provider. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "postcard/bytes.h"
#include "postcard/keydiv.h"
#include "postcard/keys.h"
#include "testvec.h"

/* Derive ENC/MAC/DEK for one case of keydiv.txt with template tmpl and compare KCVs. */
static void
check_case(const tv_case *c, const char *tmpl)
{
	static const char *const kcv_fields[3] = { "KcvENC", "KcvMAC", "KcvDEK" };
	pcard_keys *k;
	pcard_keydiv t;
	pcard_keyh mk, masters[3], set[3];
	pcard_keytype type;
	uint8_t key[32], kdd[10], want[3], got[3];
	size_t kl, i, len;

	assert_int_equal(pcard_keydiv_parse(tmpl, &t), PCARD_OK);
	type = t.kind == PCARD_KEYDIV_AES_KDF ? PCARD_KEY_AES : PCARD_KEY_DES3;
	kl = tv_hex(c, "MK", key, sizeof key);
	assert_int_equal(tv_hex(c, "KDD", kdd, sizeof kdd), 10);
	assert_int_equal(pcard_keys_mem_new(5, &k), PCARD_OK);
	assert_int_equal(pcard_keys_mem_import(k, "mk", type, key, kl, &mk), PCARD_OK);
	masters[0] = masters[1] = masters[2] = mk;
	assert_int_equal(pcard_keydiv_derive_set(k, masters, &t, kdd, set), PCARD_OK);
	for (i = 0; i < 3; i++) {
		pcard_keytype ct;

		assert_int_not_equal(set[i], mk);
		assert_int_equal(tv_hex(c, kcv_fields[i], want, 3), 3);
		assert_int_equal(pcard_keys_kcv(k, set[i], got), PCARD_OK);
		assert_memory_equal(got, want, 3);
		assert_int_equal(pcard_keys_info(k, set[i], &ct, &len), PCARD_OK);
		assert_int_equal(ct, type);
		assert_int_equal(len, kl);	/* card keys as long as the master */
	}
	/* one key at a time gives the same keys */
	for (i = 0; i < 3; i++) {
		pcard_keyh h;

		assert_int_equal(pcard_keydiv_derive(k, mk, &t, kdd, (uint8_t)(i + 1), &h), PCARD_OK);
		assert_int_equal(pcard_keys_kcv(k, h, got), PCARD_OK);
		assert_int_equal(tv_hex(c, kcv_fields[i], want, 3), 3);
		assert_memory_equal(got, want, 3);
		pcard_keydiv_release(k, mk, h);
	}
	pcard_keydiv_release_set(k, masters, set);
	for (i = 0; i < 3; i++)
		assert_int_equal(set[i], PCARD_KEYH_NONE);
	pcard_keys_free(k);
	pcard_wipe(key, sizeof key);
}

/* Every case of keydiv.txt, by built-in name (the case name's prefix). */
static void
test_vectors(void **state)
{
	tv_file *f = tv_load("vectors/keydiv.txt");
	size_t i;

	(void)state;
	assert_int_equal(f->ncases, 5);
	for (i = 0; i < f->ncases; i++) {
		char name[32];
		const char *dash = strchr(f->cases[i].name, '-');

		assert_non_null(dash);
		assert_true((size_t)(dash - f->cases[i].name) < sizeof name);
		memcpy(name, f->cases[i].name, (size_t)(dash - f->cases[i].name));
		name[dash - f->cases[i].name] = '\0';
		check_case(&f->cases[i], name);
	}
	tv_free(f);
}

/* The same vectors through user-written templates equal to the built-ins. */
static void
test_custom_templates(void **state)
{
	tv_file *f = tv_load("vectors/keydiv.txt");
	pcard_keydiv t;

	(void)state;
	check_case(tv_find(f, "emv-3des"), "$4$5$6$7$8$9F0$k$4$5$6$7$8$90F$k");
	check_case(tv_find(f, "visa2-3des"), "$0 $1 $4 $5 $6 $7 f0 $K $0 $1 $4 $5 $6 $7 0f $k");
	check_case(tv_find(f, "kdf3-aes192"), "$_000000$k00$0$1$2$3$4$5$6$7$8$9");
	assert_int_equal(pcard_keydiv_parse("$_000000$k00$0$1$2$3$4$5$6$7$8$9", &t), PCARD_OK);
	assert_string_equal(t.name, "custom");
	assert_int_equal(t.kind, PCARD_KEYDIV_AES_KDF);
	assert_int_equal(t.counter_pos, 0);
	assert_int_equal(t.len, 16);
	assert_int_equal(pcard_keydiv_parse("EMV", &t), PCARD_OK);
	assert_string_equal(t.name, "emv");
	tv_free(f);
}

/* Derivation data layouts of gp-facts 3.3b, visa included (no KCV vector for it). */
static void
test_data_layouts(void **state)
{
	static const struct { const char *name, *want; } tab[] = {
		{ "emv", "040506070809F002040506070809 0F02" },
		{ "visa2", "000104050607F002000104050607 0F02" },
		{ "visa", "000102030809F002000102030809 0F02" },
		{ "kdf3", "00000000020000010203040506070809" },
	};
	uint8_t kdd[10], out[64], want[64];
	pcard_keydiv t;
	size_t i, len, wl;

	(void)state;
	for (i = 0; i < 10; i++)
		kdd[i] = (uint8_t)i;
	for (i = 0; i < sizeof tab / sizeof tab[0]; i++) {
		assert_int_equal(pcard_keydiv_parse(tab[i].name, &t), PCARD_OK);
		assert_int_equal(pcard_keydiv_data(&t, kdd, 2, out, sizeof out, &len), PCARD_OK);
		assert_int_equal(pcard_hex_decode(tab[i].want, want, sizeof want, &wl), PCARD_OK);
		assert_int_equal(len, wl);
		assert_memory_equal(out, want, wl);
	}
	assert_int_equal(pcard_keydiv_data(&t, kdd, 0, out, sizeof out, &len), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_keydiv_data(&t, kdd, 4, out, sizeof out, &len), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_keydiv_data(&t, kdd, 1, out, 15, &len), PCARD_E_NOSPACE);
	/* a 24-byte 3DES template */
	assert_int_equal(pcard_keydiv_parse("$0$1$2$3$4$5$6$7 $8$9$k 0000000000 $0$1$2$3$4$5$6$7",
	    &t), PCARD_OK);
	assert_int_equal(t.kind, PCARD_KEYDIV_DES3_ECB);
	assert_int_equal(t.len, 24);
}

static void
test_parse_errors(void **state)
{
	pcard_keydiv t;
	char big[200];

	(void)state;
	assert_int_equal(pcard_keydiv_parse("emv2", &t), PCARD_E_BAD_ENCODING);
	assert_int_equal(pcard_keydiv_parse("", &t), PCARD_E_BAD_ENCODING);
	assert_int_equal(pcard_keydiv_parse("   ", &t), PCARD_E_BAD_ENCODING);
	assert_int_equal(pcard_keydiv_parse("$4$5$6$7$8$9F0$k$4$5$6$7$8$90F", &t),
	    PCARD_E_BAD_ENCODING);	/* 15 bytes */
	assert_int_equal(pcard_keydiv_parse("$4$5$6$7$8$9F0$k$4$5$6$7$8$90F$k0", &t),
	    PCARD_E_BAD_ENCODING);	/* odd hex */
	assert_int_equal(pcard_keydiv_parse("$_$_00", &t), PCARD_E_BAD_ENCODING);
	assert_int_equal(pcard_keydiv_parse("$x", &t), PCARD_E_BAD_ENCODING);
	assert_int_equal(pcard_keydiv_parse("$", &t), PCARD_E_BAD_ENCODING);
	assert_int_equal(pcard_keydiv_parse("GG", &t), PCARD_E_BAD_ENCODING);
	memset(big, '0', sizeof big - 1);
	big[0] = '$';
	big[1] = '_';
	big[sizeof big - 1] = '\0';
	assert_int_equal(pcard_keydiv_parse(big, &t), PCARD_E_BAD_ENCODING);	/* > 64 bytes */
	assert_int_equal(pcard_keydiv_parse(NULL, &t), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_keydiv_parse("emv", NULL), PCARD_E_INVALID_ARG);
}

/* "none" hands back the master, which release leaves alone; type mismatches; cleanup. */
static void
test_none_and_errors(void **state)
{
	static const uint8_t des[16] = { 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48,
		0x49, 0x4A, 0x4B, 0x4C, 0x4D, 0x4E, 0x4F };
	pcard_keys *k;
	pcard_keydiv none, emv, kdf3;
	pcard_keyh mk, aes, h, masters[3], set[3];
	uint8_t kdd[10] = { 0 }, kcv[3];

	(void)state;
	assert_int_equal(pcard_keydiv_parse("none", &none), PCARD_OK);
	assert_int_equal(none.kind, PCARD_KEYDIV_NONE);
	assert_int_equal(pcard_keydiv_parse("emv", &emv), PCARD_OK);
	assert_int_equal(pcard_keydiv_parse("kdf3", &kdf3), PCARD_OK);
	assert_int_equal(pcard_keys_mem_new(4, &k), PCARD_OK);
	assert_int_equal(pcard_keys_mem_import(k, NULL, PCARD_KEY_DES3, des, 16, &mk), PCARD_OK);
	assert_int_equal(pcard_keys_mem_import(k, NULL, PCARD_KEY_AES, des, 16, &aes), PCARD_OK);

	assert_int_equal(pcard_keydiv_derive(k, mk, &none, kdd, 1, &h), PCARD_OK);
	assert_int_equal(h, mk);
	pcard_keydiv_release(k, mk, h);
	assert_int_equal(pcard_keys_kcv(k, mk, kcv), PCARD_OK);	/* still alive */
	masters[0] = masters[1] = masters[2] = mk;
	assert_int_equal(pcard_keydiv_derive_set(k, masters, &none, kdd, set), PCARD_OK);
	pcard_keydiv_release_set(k, masters, set);
	assert_int_equal(pcard_keys_kcv(k, mk, kcv), PCARD_OK);

	/* wrong master type, key number, unknown master */
	assert_int_equal(pcard_keydiv_derive(k, aes, &emv, kdd, 1, &h), PCARD_E_KEY);
	assert_int_equal(h, PCARD_KEYH_NONE);
	assert_int_equal(pcard_keydiv_derive(k, mk, &kdf3, kdd, 1, &h), PCARD_E_KEY);
	assert_int_equal(pcard_keydiv_derive(k, mk, &emv, kdd, 0, &h), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_keydiv_derive(k, mk, &emv, kdd, 4, &h), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_keydiv_derive(k, 0x999u, &emv, kdd, 1, &h), PCARD_E_KEY);
	assert_int_equal(pcard_keydiv_derive(NULL, mk, &emv, kdd, 1, &h), PCARD_E_INVALID_ARG);

	/* a set that fails on its third key leaves nothing behind: 2 free slots, 3 keys */
	assert_int_equal(pcard_keydiv_derive_set(k, masters, &emv, kdd, set), PCARD_E_NOSPACE);
	assert_int_equal(set[0], PCARD_KEYH_NONE);
	assert_int_equal(pcard_keydiv_derive(k, mk, &emv, kdd, 1, &set[0]), PCARD_OK);
	assert_int_equal(pcard_keydiv_derive(k, mk, &emv, kdd, 2, &set[1]), PCARD_OK);
	pcard_keys_free(k);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_custom_templates),
		cmocka_unit_test(test_data_layouts),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_none_and_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
