/*
 * test_hsm.c: the PKCS#11 key provider (src/hsm) on a private SoftHSMv2 token made in a
 * temporary directory (SOFTHSM2_CONF of our own, softhsm2-util --init-token): the known-answer
 * vectors of the in-memory provider (keydiv.txt KCVs, scp03.txt and scp02.txt sessions byte for
 * byte), in-process host (HSM) <-> card (memory) sessions, PUT KEY blocks equal to the memory
 * provider's, master keys that cannot be read or wrapped, signatures, every error, and every
 * template the layer sends, read back from OpenSC's pkcs11-spy log.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <p11-kit/pkcs11.h>

#include "hsm.h"
#include "postcard/bytes.h"
#include "postcard/crypto.h"
#include "postcard/keydiv.h"
#include "postcard/keys.h"
#include "postcard/putkey.h"
#include "postcard/scp.h"
#include "testvec.h"

#define SOFTHSM "/usr/lib/softhsm/libsofthsm2.so"
#define SPY "/usr/lib/x86_64-linux-gnu/pkcs11/pkcs11-spy.so"
#define TOKEN "postcard-test"
#define PIN "1234"		/* demo-only PIN of a throw-away token */
#define SO_PIN "12345678"

static char dir[256];		/* the private token directory */
static pcard_hsm *H;		/* opened directly on SoftHSM */

/* ------------------------------------------------------------------------------------------ */
/* Token setup */

static void
sh(const char *fmt, const char *arg)
{
	char cmd[1024];

	snprintf(cmd, sizeof cmd, fmt, arg, arg, arg);
	assert_int_equal(system(cmd), 0);
}

static int
group_setup(void **state)
{
	char path[600];
	FILE *f;
	pcard_hsm_params p;

	(void)state;
	snprintf(dir, sizeof dir, "/tmp/pcard-test-hsm.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof path, "%s/softhsm2.conf", dir);
	if ((f = fopen(path, "w")) == NULL)
		return -1;
	fprintf(f, "directories.tokendir = %s/tokens\nobjectstore.backend = file\n"
	    "log.level = ERROR\nslots.removable = false\n", dir);
	fclose(f);
	setenv("SOFTHSM2_CONF", path, 1);
	snprintf(path, sizeof path, "mkdir -p %s/tokens && softhsm2-util --init-token --free "
	    "--label " TOKEN " --so-pin " SO_PIN " --pin " PIN " >/dev/null", dir);
	if (system(path) != 0)
		return -1;
	memset(&p, 0, sizeof p);
	p.token_label = TOKEN;
	p.pin = PIN;
	return pcard_hsm_open(&p, &H) == PCARD_OK ? 0 : -1;
}

static int
group_teardown(void **state)
{
	(void)state;
	pcard_hsm_close(H);
	sh("rm -rf %s", dir);
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Helpers */

/* Import field of c as a master (token) key named label into H. */
static pcard_keyh
import_field(const tv_case *c, const char *field, const char *label, pcard_keytype t,
    unsigned usage)
{
	uint8_t key[32];
	size_t n = tv_hex(c, field, key, sizeof key);
	pcard_keyh h;

	assert_int_equal(pcard_hsm_import_secret(H, label, t, key, n, usage, &h), PCARD_OK);
	pcard_wipe(key, sizeof key);
	return h;
}

/* The KCV of the key behind handle k equals the KCV of the bytes in field of c. */
static void
assert_kcv_of(pcard_keys *k, pcard_keyh h, const tv_case *c, const char *field,
    pcard_keytype t)
{
	uint8_t key[32], a[3], b[3];
	size_t n = tv_hex(c, field, key, sizeof key);

	assert_int_equal(pcard_keys_kcv(k, h, a), PCARD_OK);
	if (t == PCARD_KEY_AES)
		assert_int_equal(pcard_kcv_aes(key, n, b), PCARD_OK);
	else
		assert_int_equal(pcard_kcv_des3(key, n, b), PCARD_OK);
	assert_memory_equal(a, b, 3);
}

/* ------------------------------------------------------------------------------------------ */
/* keydiv.txt through the HSM */

static void
test_keydiv_vectors(void **state)
{
	static const char *const kcv_fields[3] = { "KcvENC", "KcvMAC", "KcvDEK" };
	tv_file *f = tv_load("vectors/keydiv.txt");
	pcard_keys *k = pcard_hsm_keys(H);
	size_t i, j;

	(void)state;
	assert_int_equal(f->ncases, 5);
	for (i = 0; i < f->ncases; i++) {
		const tv_case *c = &f->cases[i];
		char name[32], label[200];
		const char *dash = strchr(c->name, '-');
		pcard_keydiv t;
		pcard_keyh mk, masters[3], set[3];
		pcard_keytype type, ct;
		uint8_t kdd[10], want[3], got[3];
		size_t len, ml;

		memcpy(name, c->name, (size_t)(dash - c->name));
		name[dash - c->name] = '\0';
		assert_int_equal(pcard_keydiv_parse(name, &t), PCARD_OK);
		type = t.kind == PCARD_KEYDIV_AES_KDF ? PCARD_KEY_AES : PCARD_KEY_DES3;
		snprintf(label, sizeof label, "kd-%s", c->name);
		mk = import_field(c, "MK", label, type, PCARD_HSM_USE_MASTER);
		assert_int_equal(pcard_keys_info(k, mk, &ct, &ml), PCARD_OK);
		assert_int_equal(ct, type);
		assert_int_equal(tv_hex(c, "KDD", kdd, sizeof kdd), 10);
		masters[0] = masters[1] = masters[2] = mk;
		assert_int_equal(pcard_keydiv_derive_set(k, masters, &t, kdd, set), PCARD_OK);
		for (j = 0; j < 3; j++) {
			assert_int_equal(tv_hex(c, kcv_fields[j], want, 3), 3);
			assert_int_equal(pcard_keys_kcv(k, set[j], got), PCARD_OK);
			assert_memory_equal(got, want, 3);
			assert_int_equal(pcard_keys_info(k, set[j], &ct, &len), PCARD_OK);
			assert_int_equal(ct, type);
			assert_int_equal(len, ml);
		}
		pcard_keydiv_release_set(k, masters, set);
		/* the master's own KCV: encrypt (AES) or CKA_CHECK_VALUE (3DES, derive only) */
		assert_kcv_of(k, mk, c, "MK", type);
		pcard_keys_release(k, mk);
	}
	tv_free(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keydiv_vectors),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
