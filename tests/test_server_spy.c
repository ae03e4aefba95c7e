/*
 * test_server_spy.c: the keys acceptance of issue 5 for postcardd itself. The server runs with
 * its HSM module set to OpenSC's pkcs11-spy in front of SoftHSM while postcard-agent sessions
 * run every job type on an SCP03 i=70 and an SCP02 i=75 card (tests/server-spy-session.sh:
 * enrolment under static masters, a rotation to diversified masters, an interrupted session
 * reconciled, the per-APDU relay, terminate). Then:
 *
 *  - every template postcardd sent for a created or derived key is CKA_SENSITIVE TRUE and
 *    CKA_EXTRACTABLE FALSE, apart from the twins docs/keys.md lists (spylog.h);
 *  - no call returned a CKA_VALUE other than a live readable twin's, none a master's, and
 *    nothing but a wrappable twin was wrapped;
 *  - directly on the token through SoftHSM, every master of the run refuses
 *    C_GetAttributeValue(CKA_VALUE) and C_WrapKey (AES-CBC and AES-KW under a session
 *    wrapping key the test generates, which wraps an extractable control key), shows CKA_SENSITIVE TRUE / CKA_EXTRACTABLE FALSE, and the key
 *    provider refuses to wrap it (PCARD_E_KEY).
 *
 * Needs the built programs in $PCARD_BUILD_DIR (ctest sets it) and the packages of
 * scripts/bootstrap (softhsm2, opensc-pkcs11, jq): a missing one fails the test.
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
#include "postcard/keydiv.h"
#include "postcard/keys.h"
#include "spylog.h"

/* OpenSC's pkcs11-spy never frees its copy of the function lists: not ours to fix. */
const char *__lsan_default_suppressions(void);
const char *
__lsan_default_suppressions(void)
{
	return "leak:pkcs11-spy.so\n";
}

static char dir[256];

/* The masters of the run: the template-none profiles' and the diversified demo profiles'. */
static const char *const masters[] = { "sim-aes", "sim-des3", "demo-scp03-master",
	"demo-scp02-master" };

static int
group_setup(void **state)
{
	char cmd[1024], path[1200];
	const char *src = getenv("PCARD_SOURCE_DIR"), *bld = getenv("PCARD_BUILD_DIR");

	(void)state;
	if (src == NULL || bld == NULL) {
		fprintf(stderr, "test_server_spy: PCARD_SOURCE_DIR and PCARD_BUILD_DIR needed\n");
		return -1;
	}
	snprintf(dir, sizeof dir, "/tmp/pcard-test-srvspy.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof path, "%s:%s", bld, getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
	setenv("PATH", path, 1);
	snprintf(cmd, sizeof cmd, "bash %s/tests/server-spy-session.sh %s", src, dir);
	if (system(cmd) != 0) {
		fprintf(stderr, "test_server_spy: the agent sessions failed (above)\n");
		return -1;
	}
	snprintf(path, sizeof path, "%s/hsm/softhsm2.conf", dir);
	setenv("SOFTHSM2_CONF", path, 1);
	return 0;
}

static int
group_teardown(void **state)
{
	char cmd[400];

	(void)state;
	if (getenv("PCARD_TEST_KEEP") == NULL && dir[0] != '\0') {	/* keep the logs to debug */
		snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
		if (system(cmd) != 0)
			return -1;
	}
	return 0;
}

static void
check_log(const char *name, int scp)
{
	char path[400];
	spy_report r;

	snprintf(path, sizeof path, "%s/spy-%s.log", dir, name);
	spy_parse(path, &r);
	print_message("%s: %zu calls; %zu key templates checked (%zu C_DeriveKey, %zu "
	    "C_CreateObject, %zu C_GenerateKey, %zu C_UnwrapKey); exceptions: %zu pcard-twin-wrap, "
	    "%zu pcard-twin-read; %zu templates breaking the rule\n", name, r.calls, r.templates,
	    r.derive, r.create, r.generate, r.unwrap, r.twin_wrap, r.twin_read, r.bad);
	print_message("%s: %zu master handles, %zu derivations from a master; CKA_VALUE returned "
	    "%zu times (%zu not a readable twin, %zu of a master), refused %zu; %zu wraps (%zu not a "
	    "wrappable twin, %zu of a master)\n", name, r.masters, r.master_derives, r.value_reads,
	    r.bad_reads, r.master_value_reads, r.refused_reads, r.wraps, r.bad_wraps,
	    r.master_wraps);
	assert_true(r.templates > 20);
	assert_int_equal(r.bad, 0);
	assert_int_equal(r.create + r.generate + r.unwrap, 0);	/* postcardd only derives */
	assert_int_equal(r.token_templates, 0);
	assert_int_equal(r.bad_reads, 0);
	assert_int_equal(r.master_value_reads, 0);
	assert_int_equal(r.bad_wraps, 0);
	assert_int_equal(r.master_wraps, 0);
	assert_int_equal(r.value_reads, r.twin_read);	/* each readable twin read once */
	assert_true(r.masters >= 2 && r.master_derives > 0);	/* static and diversified masters */
	if (scp == 3) {
		/* the rotation's AES-128 PUT KEY blocks: C_WrapKey of wrappable twins; SCP03 never
		 * needs key bytes in server memory */
		assert_true(r.twin_wrap >= 3 && r.wraps == r.twin_wrap);
		assert_int_equal(r.twin_read, 0);
	} else {
		/* SCP02: readable twins for S-MAC / S-RMAC (retail MAC) and the 3DES PUT KEY
		 * blocks (docs/keys.md cases 1 and 2); no C_WrapKey */
		assert_true(r.twin_read >= 3 + 2);
		assert_int_equal(r.twin_wrap, 0);
	}
}

static void
test_templates_scp03(void **state)
{
	(void)state;
	check_log("scp03", 3);
}

static void
test_templates_scp02(void **state)
{
	(void)state;
	check_log("scp02", 2);
}

/* The checker itself finds what it must: a synthetic log with one of each violation. */
static void
test_spylog_catches(void **state)
{
	static const char log[] =
	    "1: C_FindObjectsInit\n[in] pTemplate[1]: \n    CKA_LABEL             00 / 1\n"
	    "    6D\nReturned:  0 CKR_OK\n\n"
	    "2: C_FindObjects\n[out] ulObjectCount = 0x1\nObject 0x5 matches\nReturned:  0 CKR_OK\n\n"
	    /* a derived key left extractable */
	    "3: C_DeriveKey\n[in] hBaseKey = 0x5\n[in] pTemplate[3]: \n"
	    "    CKA_TOKEN             False\n    CKA_SENSITIVE         True\n"
	    "    CKA_EXTRACTABLE       True\n[out] hKey = 0x6\nReturned:  0 CKR_OK\n\n"
	    /* a readable twin, read: allowed */
	    "4: C_DeriveKey\n[in] hBaseKey = 0x5\n[in] pTemplate[3]: \n"
	    "    CKA_SENSITIVE         False\n    CKA_EXTRACTABLE       True\n"
	    "    CKA_LABEL             00 / 15\n    70636172 642D7477 696E2D72 656164\n"
	    "[out] hKey = 0x7\nReturned:  0 CKR_OK\n\n"
	    "5: C_GetAttributeValue\n[in] hObject = 0x7\n[in] pTemplate[1]: \n"
	    "    CKA_VALUE             00 / 16\n[out] pTemplate[1]: \n"
	    "    CKA_VALUE             00 / 16\nReturned:  0 CKR_OK\n\n"
	    /* the twin destroyed, its handle reused by a derived key, then read: not allowed */
	    "6: C_DestroyObject\n[in] hObject = 0x7\nReturned:  0 CKR_OK\n\n"
	    "7: C_GetAttributeValue\n[in] hObject = 0x7\n[in] pTemplate[1]: \n"
	    "    CKA_VALUE             00 / 16\n[out] pTemplate[1]: \n"
	    "    CKA_VALUE             00 / 16\nReturned:  0 CKR_OK\n\n"
	    /* the master's value returned, the master wrapped */
	    "8: C_GetAttributeValue\n[in] hObject = 0x5\n[in] pTemplate[1]: \n"
	    "    CKA_VALUE             00 / 16\n[out] pTemplate[1]: \n"
	    "    CKA_VALUE             00 / 16\nReturned:  0 CKR_OK\n\n"
	    "9: C_WrapKey\n[in] hWrappingKey = 0x6\n[in] hKey = 0x5\nReturned:  0 CKR_OK\n\n"
	    /* refused read */
	    "10: C_GetAttributeValue\n[in] hObject = 0x5\n[in] pTemplate[1]: \n"
	    "    CKA_VALUE             00 / 16\nReturned:  17 CKR_ATTRIBUTE_SENSITIVE\n";
	char path[400];
	FILE *fp;
	spy_report r;

	(void)state;
	snprintf(path, sizeof path, "%s/synthetic.log", dir);
	assert_non_null(fp = fopen(path, "w"));
	assert_int_equal(fwrite(log, 1, sizeof log - 1, fp), sizeof log - 1);
	assert_int_equal(fclose(fp), 0);
	spy_parse(path, &r);
	assert_int_equal(r.calls, 10);
	assert_int_equal(r.templates, 2);
	assert_int_equal(r.bad, 1);
	assert_int_equal(r.twin_read, 1);
	assert_int_equal(r.masters, 1);
	assert_int_equal(r.master_derives, 2);
	assert_int_equal(r.value_reads, 3);
	assert_int_equal(r.bad_reads, 2);
	assert_int_equal(r.master_value_reads, 1);
	assert_int_equal(r.refused_reads, 1);
	assert_int_equal(r.wraps, 1);
	assert_int_equal(r.bad_wraps, 1);
	assert_int_equal(r.master_wraps, 1);
}

static CK_BBOOL
bool_attr(CK_FUNCTION_LIST_PTR fl, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE t)
{
	CK_BBOOL v = 2;
	CK_ATTRIBUTE a = { t, &v, sizeof v };

	assert_int_equal(fl->C_GetAttributeValue(s, o, &a, 1), CKR_OK);
	return v;
}

/* The masters on the token the server used: no value, no wrap, by PKCS#11 or the provider. */
static void
test_masters_stay_in(void **state)
{
	char pin[300];
	pcard_hsm_params p;
	pcard_hsm *h = NULL;
	pcard_keys *k;
	CK_FUNCTION_LIST_PTR fl;
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE wk;
	CK_BBOOL t = CK_TRUE, f = CK_FALSE;
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_KEY_TYPE kt = CKK_AES;
	CK_ULONG vlen = 16, ol;
	CK_ATTRIBUTE wt[] = { { CKA_CLASS, &cls, sizeof cls }, { CKA_KEY_TYPE, &kt, sizeof kt },
		{ CKA_TOKEN, &f, sizeof f }, { CKA_SENSITIVE, &t, sizeof t },
		{ CKA_EXTRACTABLE, &f, sizeof f }, { CKA_WRAP, &t, sizeof t },
		{ CKA_VALUE_LEN, &vlen, sizeof vlen } };
	CK_MECHANISM gen = { CKM_AES_KEY_GEN, NULL, 0 };
	uint8_t iv[16] = { 0 }, buf[64], kdd[10] = { 0 };
	CK_MECHANISM wraps[] = { { CKM_AES_CBC, iv, sizeof iv }, { CKM_AES_KEY_WRAP, NULL, 0 } };
	CK_ATTRIBUTE ct[] = { { CKA_CLASS, &cls, sizeof cls }, { CKA_KEY_TYPE, &kt, sizeof kt },
		{ CKA_TOKEN, &f, sizeof f }, { CKA_SENSITIVE, &t, sizeof t },
		{ CKA_EXTRACTABLE, &t, sizeof t }, { CKA_VALUE_LEN, &vlen, sizeof vlen } };
	CK_OBJECT_HANDLE ctl;
	CK_ATTRIBUTE val = { CKA_VALUE, buf, sizeof buf };
	pcard_keyh mh, kek;
	pcard_keydiv kdf3;
	unsigned long sh;
	size_t i, j, n, refused = 0;
	CK_RV rv;

	(void)state;
	snprintf(pin, sizeof pin, "%s/hsm/user.pin", dir);
	memset(&p, 0, sizeof p);
	p.token_label = "postcard";
	p.pin_file = pin;
	assert_int_equal(pcard_hsm_open(&p, &h), PCARD_OK);
	k = pcard_hsm_keys(h);
	fl = pcard_hsm_p11(h, &sh);
	s = sh;
	assert_int_equal(fl->C_GenerateKey(s, &gen, wt, sizeof wt / sizeof wt[0], &wk), CKR_OK);
	/* control: an extractable key is wrapped by the same key and mechanisms */
	assert_int_equal(fl->C_GenerateKey(s, &gen, ct, sizeof ct / sizeof ct[0], &ctl), CKR_OK);
	for (j = 0; j < sizeof wraps / sizeof wraps[0]; j++) {
		ol = sizeof buf;
		assert_int_equal(fl->C_WrapKey(s, &wraps[j], wk, ctl, buf, &ol), CKR_OK);
	}
	/* a wrapping key as a provider handle: a card key derived from an AES master */
	assert_int_equal(pcard_keydiv_parse("kdf3", &kdf3), PCARD_OK);
	assert_int_equal(pcard_keys_find(k, "demo-scp03-master", &mh), PCARD_OK);
	assert_int_equal(pcard_keydiv_derive(k, mh, &kdf3, kdd, 3, &kek), PCARD_OK);
	for (i = 0; i < sizeof masters / sizeof masters[0]; i++) {
		CK_OBJECT_HANDLE o;

		assert_int_equal(pcard_keys_find(k, masters[i], &mh), PCARD_OK);
		o = pcard_hsm_object(h, mh);
		assert_true(o != 0);
		val.ulValueLen = sizeof buf;
		rv = fl->C_GetAttributeValue(s, o, &val, 1);
		assert_int_equal(rv, CKR_ATTRIBUTE_SENSITIVE);
		refused++;
		for (j = 0; j < sizeof wraps / sizeof wraps[0]; j++) {
			ol = sizeof buf;
			rv = fl->C_WrapKey(s, &wraps[j], wk, o, buf, &ol);
			assert_int_equal(rv, CKR_KEY_UNEXTRACTABLE);
			refused++;
		}
		assert_int_equal(bool_attr(fl, s, o, CKA_SENSITIVE), CK_TRUE);
		assert_int_equal(bool_attr(fl, s, o, CKA_EXTRACTABLE), CK_FALSE);
		assert_int_equal(bool_attr(fl, s, o, CKA_TOKEN), CK_TRUE);
		assert_int_equal(pcard_keys_wrap(k, kek, PCARD_CIPHER_AES_CBC, mh, buf, sizeof buf,
		    &n), PCARD_E_KEY);
		refused++;
		print_message("%s: CKA_VALUE refused (CKR_ATTRIBUTE_SENSITIVE), C_WrapKey AES-CBC and "
		    "AES-KW refused (CKR_KEY_UNEXTRACTABLE), sensitive, not extractable; provider "
		    "wrap refused (PCARD_E_KEY)\n", masters[i]);
	}
	print_message("masters: %zu read or wrap attempts, every one refused\n", refused);
	assert_int_equal(fl->C_DestroyObject(s, wk), CKR_OK);
	assert_int_equal(fl->C_DestroyObject(s, ctl), CKR_OK);
	pcard_keys_release(k, kek);
	pcard_hsm_close(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spylog_catches),
		cmocka_unit_test(test_templates_scp03),
		cmocka_unit_test(test_templates_scp02),
		cmocka_unit_test(test_masters_stay_in),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
