/* test_gp.c: GlobalPlatform builders (byte for byte against layouts hand-computed from
 * CS chapter 11 / gp-facts 3.8-3.16) and parsers (valid and malformed inputs). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "postcard/bytes.h"
#include "postcard/gp.h"
#include "testvec.h"

static void
expect_apdu(const uint8_t *got, size_t n, const char *hex)
{
	uint8_t exp[1024];
	size_t e = tv_unhex(hex, exp, sizeof exp);

	if (n != e || memcmp(got, exp, e) != 0) {
		char g[2100];

		(void)pcard_hex_encode(got, n, g, sizeof g);
		fail_msg("got %s\nexp %s", g, hex);
	}
}

/* ---- INSTALL ---- */

static const uint8_t ELF[] = { 0x01, 0x02, 0x03, 0x04, 0x05 };
static const uint8_t MOD[] = { 0x01, 0x02, 0x03, 0x04, 0x05, 0x01 };
static const uint8_t SSD[] = { 0xA0, 0x00, 0x00, 0x01, 0x51, 0x53, 0x50, 0x41 };

static void
test_install_variants(void **state)
{
	uint8_t out[512], lp[32], params[8];
	size_t n, lpn;
	pcard_gp_install in;

	(void)state;
	/* install + make selectable, no privileges, empty params -> C9 00, no token */
	memset(&in, 0, sizeof in);
	in.p1 = PCARD_INSTALL_FOR_INSTALL | PCARD_INSTALL_FOR_MAKE_SELECTABLE;
	in.elf = ELF, in.elf_len = 5;
	in.module = MOD, in.module_len = 6;
	in.instance = MOD, in.instance_len = 6;
	assert_int_equal(pcard_gp_install_cmd(&in, out, sizeof out, &n), PCARD_OK);
	expect_apdu(out, n, "80E60C00 1A 050102030405 06010203040501 06010203040501 0100 02C900 00"
	    " 00");

	/* 3-byte privileges (SD | CardLock | TrustedPath), non-TLV params wrapped in C9 */
	in.privs = PCARD_PRIV_SECURITY_DOMAIN | PCARD_PRIV_CARD_LOCK | PCARD_PRIV_TRUSTED_PATH;
	in.params = (const uint8_t *)"\x01\x02\x03", in.params_len = 3;
	assert_int_equal(pcard_gp_install_cmd(&in, out, sizeof out, &n), PCARD_OK);
	expect_apdu(out, n, "80E60C00 1F 050102030405 06010203040501 06010203040501 03908000"
	    " 05C903010203 00 00");

	/* params already TLV holding C9: used as is */
	tv_unhex("C902AABBEF00", params, sizeof params);
	in.privs = PCARD_PRIV_CARD_RESET;
	in.params = params, in.params_len = 6;
	in.token = (const uint8_t *)"\x11\x22", in.token_len = 2;
	assert_int_equal(pcard_gp_install_cmd(&in, out, sizeof out, &n), PCARD_OK);
	expect_apdu(out, n, "80E60C00 20 050102030405 06010203040501 06010203040501 0104"
	    " 06C902AABBEF00 021122 00");

	/* TLV without C9: wrapped; raw mode: as given; forced 3-byte privileges */
	tv_unhex("EF02C800", params, sizeof params);
	in.params_len = 4;
	in.token = NULL, in.token_len = 0;
	in.privs_mode = PCARD_PRIVS_3;
	in.p1 = PCARD_INSTALL_FOR_INSTALL;
	assert_int_equal(pcard_gp_install_cmd(&in, out, sizeof out, &n), PCARD_OK);
	expect_apdu(out, n, "80E60400 20 050102030405 06010203040501 06010203040501 03040000"
	    " 06C904EF02C800 00 00");
	in.params_mode = PCARD_PARAMS_RAW;
	in.privs_mode = PCARD_PRIVS_1;
	assert_int_equal(pcard_gp_install_cmd(&in, out, sizeof out, &n), PCARD_OK);
	expect_apdu(out, n, "80E60400 1C 050102030405 06010203040501 06010203040501 0104"
	    " 04EF02C800 00 00");

	/* for load, current SD, no hash, load params EF{C6 1000, C8 0200} */
	assert_int_equal(pcard_gp_load_params(0x1000, 0, 0x200, lp, sizeof lp, &lpn), PCARD_OK);
	memset(&in, 0, sizeof in);
	in.p1 = PCARD_INSTALL_FOR_LOAD;
	in.elf = ELF, in.elf_len = 5;
	in.load_params = lp, in.load_params_len = lpn;
	assert_int_equal(pcard_gp_install_cmd(&in, out, sizeof out, &n), PCARD_OK);
	expect_apdu(out, n, "80E60200 14 050102030405 00 00 0AEF08C6021000C8020200 00 00");

	/* for load into an SSD with a 20-byte hash and a token */
	in.sd = SSD, in.sd_len = 8;
	in.hash = (const uint8_t *)"0123456789abcdefghij", in.hash_len = 20;
	in.load_params = NULL, in.load_params_len = 0;
	in.token = (const uint8_t *)"\x99", in.token_len = 1;
	assert_int_equal(pcard_gp_install_cmd(&in, out, sizeof out, &n), PCARD_OK);
	expect_apdu(out, n, "80E60200 27 050102030405 08A000000151535041"
	    " 14303132333435363738396162636465666768696A 00 0199 00");

	/* make selectable with CardReset */
	memset(&in, 0, sizeof in);
	in.p1 = PCARD_INSTALL_FOR_MAKE_SELECTABLE;
	in.instance = MOD, in.instance_len = 6;
	in.privs = PCARD_PRIV_CARD_RESET;
	assert_int_equal(pcard_gp_install_cmd(&in, out, sizeof out, &n), PCARD_OK);
	expect_apdu(out, n, "80E60800 0D 00 00 06010203040501 0104 00 00 00");

	/* extradition to an SSD */
	memset(&in, 0, sizeof in);
	in.p1 = PCARD_INSTALL_FOR_EXTRADITION;
	in.sd = SSD, in.sd_len = 8;
	in.instance = MOD, in.instance_len = 6;
	assert_int_equal(pcard_gp_install_cmd(&in, out, sizeof out, &n), PCARD_OK);
	expect_apdu(out, n, "80E61000 14 08A000000151535041 00 06010203040501 00 00 00 00");

	/* registry update, privileges unchanged */
	memset(&in, 0, sizeof in);
	in.p1 = PCARD_INSTALL_FOR_REGISTRY_UPDATE;
	in.instance = MOD, in.instance_len = 6;
	in.privs_mode = PCARD_PRIVS_NONE;
	assert_int_equal(pcard_gp_install_cmd(&in, out, sizeof out, &n), PCARD_OK);
	expect_apdu(out, n, "80E64000 0C 00 00 06010203040501 00 00 00 00");

	/* personalization */
	memset(&in, 0, sizeof in);
	in.p1 = PCARD_INSTALL_FOR_PERSONALIZATION;
	in.instance = MOD, in.instance_len = 6;
	assert_int_equal(pcard_gp_install_cmd(&in, out, sizeof out, &n), PCARD_OK);
	expect_apdu(out, n, "80E62000 0C 00 00 06010203040501 00 00 00 00");

	/* combined load + install + make selectable, beginning of the process */
	memset(&in, 0, sizeof in);
	in.p1 = PCARD_INSTALL_FOR_LOAD | PCARD_INSTALL_FOR_INSTALL |
	    PCARD_INSTALL_FOR_MAKE_SELECTABLE;
	in.p2 = PCARD_INSTALL_P2_COMBINED_BEGIN;
	in.elf = ELF, in.elf_len = 5;
	in.module = MOD, in.module_len = 6;
	in.instance = MOD, in.instance_len = 6;
	assert_int_equal(pcard_gp_install_cmd(&in, out, sizeof out, &n), PCARD_OK);
	expect_apdu(out, n, "80E60E01 1D 050102030405 00 00 00 06010203040501 06010203040501"
	    " 0100 02C900 00 00");

	/* "more" bit passes through */
	in.p1 |= PCARD_INSTALL_MORE;
	in.p2 = PCARD_INSTALL_P2_COMBINED_END;
	assert_int_equal(pcard_gp_install_cmd(&in, out, sizeof out, &n), PCARD_OK);
	assert_int_equal(out[2], 0x8E);
	assert_int_equal(out[3], 0x03);
}

static void
test_install_long_and_errors(void **state)
{
	uint8_t out[600], params[200], big[5000];
	size_t n;
	pcard_gp_install in;

	(void)state;
	memset(params, 0x5A, sizeof params);	/* 5A C8 ... is not valid TLV: wrapped */
	memset(&in, 0, sizeof in);
	in.p1 = PCARD_INSTALL_FOR_INSTALL;
	in.elf = ELF, in.elf_len = 5;
	in.module = MOD, in.module_len = 6;
	in.instance = MOD, in.instance_len = 6;
	in.params = params, in.params_len = sizeof params;
	assert_int_equal(pcard_gp_install_cmd(&in, out, sizeof out, &n), PCARD_OK);
	/* field: 81 CB, C9 81 C8, 200 bytes; Lc = 6+7+7+2+2+3+200+1 = 228 */
	assert_int_equal(out[4], 228);
	assert_memory_equal(out + 5 + 6 + 7 + 7 + 2, "\x81\xCB\xC9\x81\xC8\x5A", 6);
	assert_int_equal(n, 5 + 228 + 1);
	/* data field alone */
	assert_int_equal(pcard_gp_install_data(&in, out, sizeof out, &n), PCARD_OK);
	assert_int_equal(n, 228);
	assert_int_equal(pcard_gp_install_data(&in, out, 100, &n), PCARD_E_NOSPACE);
	assert_int_equal(pcard_gp_install_cmd(&in, out, 100, &n), PCARD_E_NOSPACE);

	/* errors */
	in.p1 = 0x03;
	assert_int_equal(pcard_gp_install_cmd(&in, out, sizeof out, &n), PCARD_E_INVALID_ARG);
	in.p1 = PCARD_INSTALL_FOR_INSTALL;
	in.p2 = 0x02;
	assert_int_equal(pcard_gp_install_cmd(&in, out, sizeof out, &n), PCARD_E_INVALID_ARG);
	in.p2 = 0;
	in.privs = PCARD_PRIV_TRUSTED_PATH;
	in.privs_mode = PCARD_PRIVS_1;
	assert_int_equal(pcard_gp_install_cmd(&in, out, sizeof out, &n), PCARD_E_INVALID_ARG);
	in.privs_mode = PCARD_PRIVS_NONE;
	assert_int_equal(pcard_gp_install_cmd(&in, out, sizeof out, &n), PCARD_E_INVALID_ARG);
	in.privs_mode = 9;
	assert_int_equal(pcard_gp_install_cmd(&in, out, sizeof out, &n), PCARD_E_INVALID_ARG);
	in.privs_mode = PCARD_PRIVS_AUTO;
	in.privs = 0x1000000;
	assert_int_equal(pcard_gp_install_cmd(&in, out, sizeof out, &n), PCARD_E_INVALID_ARG);
	in.privs = 0;
	in.params_mode = 7;
	assert_int_equal(pcard_gp_install_cmd(&in, out, sizeof out, &n), PCARD_E_INVALID_ARG);
	in.params_mode = PCARD_PARAMS_WRAP;
	in.instance_len = 17;
	assert_int_equal(pcard_gp_install_cmd(&in, out, sizeof out, &n), PCARD_E_INVALID_ARG);
	in.instance_len = 6;
	in.token = NULL, in.token_len = 3;
	assert_int_equal(pcard_gp_install_cmd(&in, out, sizeof out, &n), PCARD_E_INVALID_ARG);
	in.token = big, in.token_len = sizeof big;	/* data over 4096 bytes */
	assert_int_equal(pcard_gp_install_cmd(&in, out, sizeof out, &n), PCARD_E_NOSPACE);
	assert_int_equal(pcard_gp_install_cmd(NULL, out, sizeof out, &n), PCARD_E_INVALID_ARG);
	/* load params: all zero -> empty; big sizes -> 4 bytes */
	assert_int_equal(pcard_gp_load_params(0, 0, 0, out, sizeof out, &n), PCARD_OK);
	assert_int_equal(n, 0);
	assert_int_equal(pcard_gp_load_params(0, 0x10000, 0, out, sizeof out, &n), PCARD_OK);
	expect_apdu(out, n, "EF06C70400010000");
	assert_int_equal(pcard_gp_load_params(1, 1, 1, out, 4, &n), PCARD_E_NOSPACE);
}

/* ---- LOAD, DELETE, SET STATUS, PUT KEY, STORE DATA, GET DATA, GET STATUS, SELECT ---- */

static void
test_load(void **state)
{
	uint8_t file[600], out[300];
	size_t n, count;

	(void)state;
	for (size_t i = 0; i < sizeof file; i++)
		file[i] = (uint8_t)i;
	assert_int_equal(pcard_gp_load_count(sizeof file, 250, &count), PCARD_OK);
	assert_int_equal(count, 3);
	assert_int_equal(pcard_gp_load_cmd(file, sizeof file, 250, 0, out, sizeof out, &n),
	    PCARD_OK);
	assert_int_equal(n, 5 + 250 + 1);
	assert_memory_equal(out, "\x80\xE8\x00\x00\xFA\x00\x01", 7);
	assert_int_equal(pcard_gp_load_cmd(file, sizeof file, 250, 2, out, sizeof out, &n),
	    PCARD_OK);
	assert_int_equal(n, 5 + 100 + 1);
	assert_memory_equal(out, "\x80\xE8\x80\x02\x64\xF4", 6);
	assert_int_equal(out[n - 1], 0x00);
	/* exactly 256 blocks is fine, 257 is refused rather than wrapping P2 */
	assert_int_equal(pcard_gp_load_count(256 * 2, 2, &count), PCARD_OK);
	assert_int_equal(count, 256);
	assert_int_equal(pcard_gp_load_cmd(file, 512, 2, 255, out, sizeof out, &n), PCARD_OK);
	expect_apdu(out, n, "80E880FF 02 FEFF 00");
	assert_int_equal(pcard_gp_load_count(256 * 2 + 1, 2, &count), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_gp_load_count(0, 2, &count), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_gp_load_count(10, 0, &count), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_gp_load_cmd(file, sizeof file, 250, 3, out, sizeof out, &n),
	    PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_gp_load_cmd(NULL, 10, 250, 0, out, sizeof out, &n),
	    PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_gp_load_cmd(file, sizeof file, 250, 0, out, 10, &n),
	    PCARD_E_NOSPACE);
}

static void
test_small_commands(void **state)
{
	uint8_t out[300], chal[16] = { 0 };
	size_t n;

	(void)state;
	assert_int_equal(pcard_gp_delete_cmd(ELF, 5, 1, NULL, 0, out, sizeof out, &n), PCARD_OK);
	expect_apdu(out, n, "80E40080 07 4F050102030405 00");
	assert_int_equal(pcard_gp_delete_cmd(MOD, 6, 0, (const uint8_t *)"\xAB\xCD", 2, out,
	    sizeof out, &n), PCARD_OK);
	expect_apdu(out, n, "80E40000 0C 4F06010203040501 9E02ABCD 00");
	assert_int_equal(pcard_gp_delete_cmd(ELF, 0, 0, NULL, 0, out, sizeof out, &n),
	    PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_gp_delete_cmd(ELF, 17, 0, NULL, 0, out, sizeof out, &n),
	    PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_gp_delete_key_cmd(-1, 0x30, out, sizeof out, &n), PCARD_OK);
	expect_apdu(out, n, "80E40000 03 D20130 00");
	assert_int_equal(pcard_gp_delete_key_cmd(0x01, 0x30, out, sizeof out, &n), PCARD_OK);
	expect_apdu(out, n, "80E40000 06 D00101D20130 00");
	assert_int_equal(pcard_gp_delete_key_cmd(-1, -1, out, sizeof out, &n),
	    PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_gp_delete_key_cmd(256, -1, out, sizeof out, &n),
	    PCARD_E_INVALID_ARG);

	assert_int_equal(pcard_gp_set_status_cmd(PCARD_SS_APP, 0x80, MOD, 6, out, sizeof out, &n),
	    PCARD_OK);
	expect_apdu(out, n, "80F04080 06 010203040501");
	assert_int_equal(pcard_gp_set_status_cmd(PCARD_SS_CARD, PCARD_LC_CARD_LOCKED, NULL, 0, out,
	    sizeof out, &n), PCARD_OK);
	expect_apdu(out, n, "80F0807F");
	assert_int_equal(pcard_gp_set_status_cmd(PCARD_SS_APP, 0x80, NULL, 0, out, sizeof out, &n),
	    PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_gp_set_status_cmd(0x20, 0x80, MOD, 6, out, sizeof out, &n),
	    PCARD_E_INVALID_ARG);

	assert_int_equal(pcard_gp_put_key_cmd(0x30, 0x01, 1, 0, (const uint8_t *)"\x31\x88", 2,
	    out, sizeof out, &n), PCARD_OK);
	expect_apdu(out, n, "80D83081 02 3188 00");
	assert_int_equal(pcard_gp_put_key_cmd(0x00, 0x01, 0, 1, (const uint8_t *)"\x31", 1, out,
	    sizeof out, &n), PCARD_OK);
	expect_apdu(out, n, "80D88001 01 31 00");
	assert_int_equal(pcard_gp_put_key_cmd(0x80, 0x01, 0, 0, (const uint8_t *)"\x31", 1, out,
	    sizeof out, &n), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_gp_put_key_cmd(0x01, 0x01, 0, 0, NULL, 0, out, sizeof out, &n),
	    PCARD_E_INVALID_ARG);

	assert_int_equal(pcard_gp_get_data_cmd(0x80, PCARD_GP_TAG_CPLC, out, sizeof out, &n),
	    PCARD_OK);
	expect_apdu(out, n, "80CA9F7F00");
	assert_int_equal(pcard_gp_get_data_cmd(0x00, PCARD_GP_TAG_KEYINFO, out, sizeof out, &n),
	    PCARD_OK);
	expect_apdu(out, n, "00CA00E000");

	assert_int_equal(pcard_gp_select_cmd(NULL, 0, out, sizeof out, &n), PCARD_OK);
	expect_apdu(out, n, "00A4040000");
	assert_int_equal(pcard_gp_select_cmd(SSD, 8, out, sizeof out, &n), PCARD_OK);
	expect_apdu(out, n, "00A40400 08 A000000151535041 00");
	assert_int_equal(pcard_gp_select_cmd(SSD, 17, out, sizeof out, &n), PCARD_E_INVALID_ARG);

	assert_int_equal(pcard_gp_init_update_cmd(0x30, 0, chal, 8, out, sizeof out, &n),
	    PCARD_OK);
	expect_apdu(out, n, "80503000 08 0000000000000000 00");
	assert_int_equal(pcard_gp_init_update_cmd(0, 0, chal, 16, out, sizeof out, &n), PCARD_OK);
	assert_int_equal(n, 5 + 16 + 1);
	assert_int_equal(pcard_gp_init_update_cmd(0, 0, chal, 9, out, sizeof out, &n),
	    PCARD_E_INVALID_ARG);
}

static void
test_store_data(void **state)
{
	uint8_t data[300], out[300];
	size_t n, count;

	(void)state;
	memset(data, 0x42, sizeof data);
	assert_int_equal(pcard_gp_store_data_cmd(0x90, 0, (const uint8_t *)"\x4F\x01\xAA", 3, out,
	    sizeof out, &n), PCARD_OK);
	expect_apdu(out, n, "80E29000 03 4F01AA");
	assert_int_equal(pcard_gp_store_data_cmd(0x81, 5, data, 1, out, sizeof out, &n), PCARD_OK);
	expect_apdu(out, n, "80E28105 01 42 00");	/* case 4 when b1 set */
	assert_int_equal(pcard_gp_store_data_count(sizeof data, 128, &count), PCARD_OK);
	assert_int_equal(count, 3);
	for (size_t i = 0; i < count; i++) {
		assert_int_equal(pcard_gp_store_data_piece(PCARD_SD_FMT_DGI | PCARD_SD_ENC_ALL, 2,
		    data, sizeof data, 128, i, out, sizeof out, &n), PCARD_OK);
		assert_int_equal(out[2], i + 1 == count ? 0xE8 : 0x68);
		assert_int_equal(out[3], 2 + i);
		assert_int_equal(out[4], i + 1 == count ? 44 : 128);
	}
	assert_int_equal(pcard_gp_store_data_piece(0x08, 0, NULL, 0, 128, 0, out, sizeof out, &n),
	    PCARD_OK);
	expect_apdu(out, n, "80E28800");
	assert_int_equal(pcard_gp_store_data_piece(0x88, 0, data, 10, 128, 0, out, sizeof out,
	    &n), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_gp_store_data_piece(0x08, 0xFF, data, 300, 128, 1, out, sizeof out,
	    &n), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_gp_store_data_piece(0x08, 0, data, 300, 128, 3, out, sizeof out,
	    &n), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_gp_store_data_count(257, 1, &count), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_gp_store_data_count(10, 0, &count), PCARD_E_INVALID_ARG);
}

static void
test_get_status_cmd(void **state)
{
	uint8_t out[64], next[64];
	size_t n, m;

	(void)state;
	assert_int_equal(pcard_gp_get_status_cmd(PCARD_GS_APPS, PCARD_GS_P2_TAGS, out, sizeof out,
	    &n), PCARD_OK);
	expect_apdu(out, n, "80F24002 02 4F00 00");
	assert_int_equal(pcard_gp_get_status_next(out, n, next, sizeof next, &m), PCARD_OK);
	expect_apdu(next, m, "80F24003 02 4F00 00");
	assert_int_equal(pcard_gp_get_status_cmd(PCARD_GS_ISD, 0, out, sizeof out, &n), PCARD_OK);
	expect_apdu(out, n, "80F28000 02 4F00 00");
	assert_int_equal(pcard_gp_get_status_cmd(0x30, 0, out, sizeof out, &n),
	    PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_gp_get_status_cmd(0x40, 0x04, out, sizeof out, &n),
	    PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_gp_get_status_next((const uint8_t *)"\x80\xE6\x00\x00", 4, next,
	    sizeof next, &m), PCARD_E_BAD_ENCODING);
	assert_int_equal(pcard_gp_get_status_next((const uint8_t *)"\x80", 1, next, sizeof next,
	    &m), PCARD_E_BAD_ENCODING);
}

static void
test_get_status_tags(void **state)
{
	uint8_t resp[512];
	size_t n, count;
	pcard_gp_status_entry e[4];

	(void)state;
	/* ISD (lc 0F, privs 9EFE80), then an ELF with version, SD and two modules */
	n = tv_unhex("E3124F07A00000015100009F70010FC5039EFE80"
	    "E3344F050102030405 9F700101 CC08A000000151000000 CE020100"
	    " 8406010203040501 8406010203040502 C4050102030405 DF7001AA",
	    resp, sizeof resp);
	assert_int_equal(pcard_gp_parse_status(PCARD_GS_ELFS_MODULES, PCARD_GS_P2_TAGS, resp, n, e,
	    4, &count), PCARD_OK);
	assert_int_equal(count, 2);
	assert_int_equal(e[0].aid.len, 7);
	assert_memory_equal(e[0].aid.b, "\xA0\x00\x00\x01\x51\x00\x00", 7);
	assert_int_equal(e[0].lifecycle, 0x0F);
	assert_true(e[0].has_privs);
	assert_int_equal(e[0].privs, 0x9EFE80);
	assert_false(e[0].has_sd);
	assert_int_equal(e[1].lifecycle, 0x01);
	assert_true(e[1].has_sd);
	assert_int_equal(e[1].sd.len, 8);
	assert_int_equal(e[1].version_len, 2);
	assert_int_equal(e[1].n_modules, 2);
	assert_int_equal(e[1].modules[1].b[5], 0x02);
	assert_true(e[1].has_elf);
	assert_false(e[1].has_privs);
	/* two-byte life cycle, one-byte privileges, implicit selection */
	n = tv_unhex("E30E 4F0101 9F70020701 C50104 CF0181", resp, sizeof resp);
	assert_int_equal(pcard_gp_parse_status(PCARD_GS_APPS, PCARD_GS_P2_TAGS, resp, n, e, 4,
	    &count), PCARD_OK);
	assert_true(e[0].has_lifecycle2);
	assert_int_equal(e[0].lifecycle2, 0x01);
	assert_int_equal(e[0].privs, PCARD_PRIV_CARD_RESET);
	assert_int_equal(e[0].n_implicit, 1);
	/* empty response: no entries */
	assert_int_equal(pcard_gp_parse_status(PCARD_GS_APPS, PCARD_GS_P2_TAGS, resp, 0, e, 4,
	    &count), PCARD_OK);
	assert_int_equal(count, 0);
}

static void
test_get_status_legacy(void **state)
{
	uint8_t resp[512];
	size_t n, count;
	pcard_gp_status_entry e[4];

	(void)state;
	n = tv_unhex("07A0000001510000 0F 9E 050102030405 07 00", resp, sizeof resp);
	assert_int_equal(pcard_gp_parse_status(PCARD_GS_APPS, 0, resp, n, e, 4, &count), PCARD_OK);
	assert_int_equal(count, 2);
	assert_int_equal(e[0].privs, 0x9E0000);
	assert_int_equal(e[1].lifecycle, 0x07);
	assert_int_equal(e[1].aid.len, 5);
	/* P1 10: with module lists */
	n = tv_unhex("050102030405 01 00 02 06010203040501 06010203040502"
	    "050506070809 01 00 00", resp, sizeof resp);
	assert_int_equal(pcard_gp_parse_status(PCARD_GS_ELFS_MODULES, 0, resp, n, e, 4, &count),
	    PCARD_OK);
	assert_int_equal(count, 2);
	assert_int_equal(e[0].n_modules, 2);
	assert_int_equal(e[1].n_modules, 0);
	/* the same bytes read as P1 20 (no module lists) are malformed */
	assert_int_not_equal(pcard_gp_parse_status(PCARD_GS_ELFS, 0, resp, n, e, 4, &count),
	    PCARD_OK);
}

static void
test_get_status_malformed(void **state)
{
	static const struct {
		uint8_t p1, p2;
		const char *hex;
		pcard_err err;
	} t[] = {
		{ 0x40, 0x02, "E2034F0101", PCARD_E_BAD_ENCODING },		/* not E3 */
		{ 0x40, 0x02, "E3039F7001", PCARD_E_BAD_ENCODING },		/* inner truncated */
		{ 0x40, 0x02, "E3049F700107", PCARD_E_BAD_ENCODING },		/* no AID */
		{ 0x40, 0x02, "E3064F0101 4F0102", PCARD_E_BAD_ENCODING },	/* two AIDs */
		{ 0x40, 0x02, "E3024F00", PCARD_E_BAD_ENCODING },		/* empty AID */
		{ 0x40, 0x02, "E313 4F11 0102030405060708090A0B0C0D0E0F1011", PCARD_E_BAD_ENCODING },
		{ 0x40, 0x02, "E3084F01019F7003010203", PCARD_E_BAD_ENCODING },	/* lc 3 bytes */
		{ 0x40, 0x02, "E3074F0101C5020102", PCARD_E_BAD_ENCODING },	/* privs 2 bytes */
		{ 0x40, 0x02, "E3074F0101CF020102", PCARD_E_BAD_ENCODING },	/* CF 2 bytes */
		{ 0x40, 0x02, "E30F4F0101CF0101CF0102CF0103CF0104", PCARD_OK },
		{ 0x40, 0x02, "E3124F0101CF0101CF0102CF0103CF0104CF0105", PCARD_E_UNSUPPORTED },
		{ 0x40, 0x02, "E3084F0101CE03010203", PCARD_OK },		/* 3-byte version */
		{ 0x40, 0x02, "E30A4F0101CE0501020304 05", PCARD_E_BAD_ENCODING },
		{ 0x40, 0x02, "E3054F0101C400", PCARD_E_BAD_ENCODING },		/* empty ELF AID */
		{ 0x40, 0x02, "E3034F0101 00", PCARD_E_BAD_ENCODING },		/* trailing byte */
		{ 0x40, 0x00, "05010203", PCARD_E_TRUNCATED },
		{ 0x40, 0x00, "0501020304050F", PCARD_E_TRUNCATED },		/* no privileges */
		{ 0x40, 0x00, "00 07 00", PCARD_E_BAD_ENCODING },		/* empty AID */
		{ 0x10, 0x00, "0101 01 00 02 0101", PCARD_E_TRUNCATED },	/* 2 modules, 1 given */
		{ 0x10, 0x00, "0101 01 00", PCARD_E_TRUNCATED },		/* no count */
	};
	uint8_t resp[128];
	size_t n, count;
	pcard_gp_status_entry e[2];

	(void)state;
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		n = tv_unhex(t[i].hex, resp, sizeof resp);
		if (pcard_gp_parse_status(t[i].p1, t[i].p2, resp, n, e, 2, &count) != t[i].err)
			fail_msg("case %zu (%s)", i, t[i].hex);
	}
	assert_int_equal(pcard_gp_parse_status(0x40, 0, resp, 1, NULL, 2, &count),
	    PCARD_E_INVALID_ARG);
}

static void
test_get_status_limits(void **state)
{
	uint8_t resp[2048];
	size_t n = 0, count;
	pcard_gp_status_entry e[2], *many;
	pcard_wr w;

	(void)state;
	/* three entries into room for two: NOSPACE, count says 3, two stored */
	n = tv_unhex("E3034F0101 E3034F0102 E3034F0103", resp, sizeof resp);
	assert_int_equal(pcard_gp_parse_status(0x40, 0x02, resp, n, e, 2, &count),
	    PCARD_E_NOSPACE);
	assert_int_equal(count, 3);
	assert_int_equal(e[1].aid.b[0], 0x02);
	/* count only */
	assert_int_equal(pcard_gp_parse_status(0x40, 0x02, resp, n, NULL, 0, &count),
	    PCARD_E_NOSPACE);
	assert_int_equal(count, 3);
	/* more modules than an entry holds */
	pcard_wr_init(&w, resp, sizeof resp);
	pcard_wr_u8(&w, 0xE3);
	pcard_wr_ber_len(&w, 3 + (PCARD_GS_MAX_MODULES + 1) * 3);
	pcard_wr_bytes(&w, "\x4F\x01\x01", 3);
	for (int i = 0; i <= PCARD_GS_MAX_MODULES; i++)
		pcard_wr_bytes(&w, "\x84\x01\x07", 3);
	assert_int_equal(pcard_wr_finish(&w, &n), PCARD_OK);
	many = calloc(1, sizeof *many);
	assert_non_null(many);
	assert_int_equal(pcard_gp_parse_status(0x10, 0x02, resp, n, many, 1, &count),
	    PCARD_E_UNSUPPORTED);
	free(many);
}

/* ---- SELECT FCI, CRD, CPLC, caps, key info, INITIALIZE UPDATE response ---- */

#define CRD73 "734906072A864886FC6B01600C060A2A864886FC6B02020101630906072A864886FC6B03" \
	"640B06092A864886FC6B040255650A06082A864886FC6B0103660C060A2B060104012A026E0103"

static void
check_crd(const pcard_gp_crd *c)
{
	assert_true(c->is_gp);
	assert_string_equal(c->gp_version, "2.1.1");
	assert_true(c->has_scp);
	assert_int_equal(c->scp, 2);
	assert_int_equal(c->scp_i, 0x55);
	assert_string_equal(c->javacard, "3");
	assert_int_equal(c->n_oids, 6);
	assert_string_equal(c->oids[0].oid, "1.2.840.114283.1");
	assert_int_equal(c->oids[3].tag, 0x64);
	assert_string_equal(c->oids[3].oid, "1.2.840.114283.4.2.85");
	assert_string_equal(c->oids[5].oid, "1.3.6.1.4.1.42.2.110.1.3");
}

static void
test_fci_crd(void **state)
{
	uint8_t in[256];
	size_t n;
	pcard_gp_fci f;
	pcard_gp_crd c;

	(void)state;
	n = tv_unhex("6F648408A000000151000000A558" CRD73 "9F6E064791007833009F6501FF", in,
	    sizeof in);
	assert_int_equal(pcard_gp_parse_fci(in, n, &f), PCARD_OK);
	assert_int_equal(f.aid.len, 8);
	assert_memory_equal(f.aid.b, "\xA0\x00\x00\x01\x51\x00\x00\x00", 8);
	assert_true(f.has_crd);
	check_crd(&f.crd);
	assert_int_equal(f.lifecycle_len, 6);
	assert_int_equal(f.max_cmd_len, 255);
	/* minimal FCI */
	n = tv_unhex("6F0A8408A000000003000000", in, sizeof in);
	assert_int_equal(pcard_gp_parse_fci(in, n, &f), PCARD_OK);
	assert_false(f.has_crd);
	assert_int_equal(f.max_cmd_len, 0);
	/* card recognition data in its three shapes */
	n = tv_unhex("664B" CRD73, in, sizeof in);
	assert_int_equal(pcard_gp_parse_crd(in, n, &c), PCARD_OK);
	check_crd(&c);
	assert_int_equal(pcard_gp_parse_crd(in + 2, n - 2, &c), PCARD_OK);
	check_crd(&c);
	assert_int_equal(pcard_gp_parse_crd(in + 4, n - 4, &c), PCARD_OK);
	check_crd(&c);
}

static void
test_fci_malformed(void **state)
{
	static const struct {
		const char *hex;
		pcard_err err;
	} t[] = {
		{ "", PCARD_E_BAD_ENCODING },
		{ "6F", PCARD_E_BAD_ENCODING },
		{ "6E00", PCARD_E_BAD_ENCODING },
		{ "6F00 00", PCARD_E_TRAILING_DATA },
		{ "6F03 8405AA", PCARD_E_BAD_ENCODING },
		{ "6F13 8411 0102030405060708090A0B0C0D0E0F1011", PCARD_E_BAD_ENCODING },
		{ "6F0A A508 9F65050001020304", PCARD_E_BAD_ENCODING },	/* 9F65 of 5 bytes */
		{ "6F05 A503 9F6500", PCARD_E_BAD_ENCODING },		/* 9F65 empty */
		{ "6F06 A504 73020600", PCARD_E_BAD_ENCODING },		/* empty OID bytes */
		{ "6F07 A505 7303060188", PCARD_E_BAD_ENCODING },	/* unterminated arc */
		{ "6F07 A505 9F6502 0100", PCARD_OK },			/* 2-byte 9F65 */
	};
	uint8_t in[64];
	size_t n;
	pcard_gp_fci f;

	(void)state;
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		n = tv_unhex(t[i].hex, in, sizeof in);
		if (pcard_gp_parse_fci(in, n, &f) != t[i].err)
			fail_msg("case %zu (%s)", i, t[i].hex);
	}
	n = tv_unhex("6F07 A505 9F6502 0100", in, sizeof in);
	assert_int_equal(pcard_gp_parse_fci(in, n, &f), PCARD_OK);
	assert_int_equal(f.max_cmd_len, 256);
	assert_int_equal(pcard_gp_parse_fci(in, n, NULL), PCARD_E_INVALID_ARG);
	/* CRD: bad OID, SCP arc over a byte, wrong wrapper */
	n = tv_unhex("7303 0601 80", in, sizeof in);
	assert_int_equal(pcard_gp_parse_crd(in, n, NULL), PCARD_E_INVALID_ARG);
	{
		pcard_gp_crd c;

		n = tv_unhex("640C060A2A864886FC6B04820002", in, sizeof in);	/* scp 256 */
		assert_int_equal(pcard_gp_parse_crd(in, n, &c), PCARD_E_BAD_ENCODING);
		n = tv_unhex("6603 7401 00", in, sizeof in);
		assert_int_equal(pcard_gp_parse_crd(in, n, &c), PCARD_E_BAD_ENCODING);
		n = tv_unhex("0605 2A864886", in, sizeof in);		/* truncated */
		assert_int_equal(pcard_gp_parse_crd(in, n, &c), PCARD_E_BAD_ENCODING);
	}
}

static void
test_cplc(void **state)
{
	uint8_t in[64];
	size_t n, nf;
	pcard_gp_cplc c;
	const pcard_gp_cplc_field *f = pcard_gp_cplc_fields(&nf);
	size_t total = 0;

	(void)state;
	assert_int_equal(nf, 18);
	for (size_t i = 0; i < nf; i++) {
		assert_int_equal(f[i].off, total);
		total += f[i].len;
	}
	assert_int_equal(total, PCARD_GP_CPLC_LEN);
	n = tv_unhex("9F7F2A 4790 5167 4791 8071 0100 8346 0B20D3F1 4804 4812 0000 0000 0000 0000"
	    " 0000 00000000 0000 0000 00000000", in, sizeof in);
	assert_int_equal(n, 45);
	assert_int_equal(pcard_gp_parse_cplc(in, n, &c), PCARD_OK);
	assert_int_equal(pcard_gp_cplc_get(&c, 0), 0x4790);
	assert_string_equal(f[6].name, "ic_serial_number");
	assert_int_equal(pcard_gp_cplc_get(&c, 6), 0x0B20D3F1);
	assert_int_equal(pcard_gp_cplc_get(&c, 99), 0);
	assert_int_equal(pcard_gp_parse_cplc(in + 3, 42, &c), PCARD_OK);
	assert_int_equal(pcard_gp_cplc_get(&c, 1), 0x5167);
	assert_int_equal(pcard_gp_parse_cplc(in, 44, &c), PCARD_E_BAD_ENCODING);
	assert_int_equal(pcard_gp_parse_cplc(in + 3, 41, &c), PCARD_E_BAD_ENCODING);
	in[1] = 0x7E;
	assert_int_equal(pcard_gp_parse_cplc(in, 45, &c), PCARD_E_BAD_ENCODING);
}

static void
test_data_value(void **state)
{
	uint8_t in[32];
	size_t n = tv_unhex("420301020A", in, sizeof in);
	pcard_rd v;

	(void)state;
	assert_int_equal(pcard_gp_data_value(0x42, in, 5, &v), PCARD_OK);
	assert_int_equal(pcard_rd_left(&v), 3);
	assert_int_equal(pcard_gp_data_value(0x45, in, 5, &v), PCARD_E_BAD_ENCODING);
	assert_int_equal(pcard_gp_data_value(0x42, in, 4, &v), PCARD_E_BAD_ENCODING);
	n = tv_unhex("C10200019000", in, sizeof in);
	assert_int_equal(pcard_gp_data_value(0xC1, in, n, &v), PCARD_E_TRAILING_DATA);
}

static void
test_caps_keyinfo(void **state)
{
	uint8_t in[128];
	size_t n, count;
	pcard_gp_caps caps;
	pcard_gp_keyinfo k[4];

	(void)state;
	n = tv_unhex("671D A00A 800103 8102 0010 820107  A006 800102 810155  8103FFFE80 83020102",
	    in, sizeof in);
	assert_int_equal(pcard_gp_parse_caps(in, n, &caps), PCARD_OK);
	assert_int_equal(caps.n_scp, 2);
	assert_int_equal(caps.scp[0].scp, 3);
	assert_int_equal(caps.scp[0].n_i, 2);
	assert_int_equal(caps.scp[0].i[1], 0x10);
	assert_true(caps.scp[0].has_key_lens);
	assert_int_equal(caps.scp[0].key_lens, 7);
	assert_int_equal(caps.scp[1].i[0], 0x55);
	assert_true(caps.has_ssd_privs);
	assert_int_equal(caps.ssd_privs, 0xFFFE80);
	assert_int_equal(caps.n_lfdbh, 2);
	n = tv_unhex("8102FFFE", in, sizeof in);
	assert_int_equal(pcard_gp_parse_caps(in, n, &caps), PCARD_E_BAD_ENCODING);
	n = tv_unhex("A003800203", in, sizeof in);
	assert_int_equal(pcard_gp_parse_caps(in, n, &caps), PCARD_E_BAD_ENCODING);

	n = tv_unhex("E012 C00401FF8010 C00402FF8010 C00403FF8010", in, sizeof in);
	assert_int_equal(pcard_gp_parse_keyinfo(in, n, k, 4, &count), PCARD_OK);
	assert_int_equal(count, 3);
	assert_int_equal(k[2].id, 3);
	assert_int_equal(k[2].kvn, 0xFF);
	assert_int_equal(k[2].n_comp, 1);
	assert_int_equal(k[2].comp[0].type, 0x80);
	assert_int_equal(k[2].comp[0].len, 16);
	assert_false(k[2].extended);
	/* RSA two components; extended AES with usage and access */
	n = tv_unhex("E014 C0060171A180A003 C00A0130FF8800100180 0101", in, sizeof in);
	assert_int_equal(pcard_gp_parse_keyinfo(in, n, k, 4, &count), PCARD_OK);
	assert_int_equal(count, 2);
	assert_int_equal(k[0].n_comp, 2);
	assert_int_equal(k[0].comp[1].type, 0xA0);
	assert_true(k[1].extended);
	assert_int_equal(k[1].comp[0].type, 0xFF88);
	assert_int_equal(k[1].comp[0].len, 16);
	assert_int_equal(k[1].usage_len, 1);
	assert_int_equal(k[1].usage[0], 0x80);
	assert_true(k[1].has_access);
	assert_int_equal(k[1].access, 1);
	/* limits and malformed */
	n = tv_unhex("E012 C00401FF8010 C00402FF8010 C00403FF8010", in, sizeof in);
	assert_int_equal(pcard_gp_parse_keyinfo(in, n, k, 2, &count), PCARD_E_NOSPACE);
	assert_int_equal(count, 3);
	n = tv_unhex("C00301FF80", in, sizeof in);			/* odd component */
	assert_int_equal(pcard_gp_parse_keyinfo(in, n, k, 4, &count), PCARD_E_BAD_ENCODING);
	n = tv_unhex("C00101", in, sizeof in);
	assert_int_equal(pcard_gp_parse_keyinfo(in, n, k, 4, &count), PCARD_E_BAD_ENCODING);
	n = tv_unhex("C10401FF8010", in, sizeof in);
	assert_int_equal(pcard_gp_parse_keyinfo(in, n, k, 4, &count), PCARD_E_BAD_ENCODING);
	n = tv_unhex("C00A0130FF880010 0380", in, sizeof in);		/* usage 3 bytes */
	assert_int_equal(pcard_gp_parse_keyinfo(in, n, k, 4, &count), PCARD_E_BAD_ENCODING);
	n = tv_unhex("E000 00", in, sizeof in);
	assert_int_equal(pcard_gp_parse_keyinfo(in, n, k, 4, &count), PCARD_E_TRAILING_DATA);
	n = tv_unhex("C00C0130 8010 8010 8010 8010 8010", in, sizeof in);	/* 5 components */
	assert_int_equal(pcard_gp_parse_keyinfo(in, n, k, 4, &count), PCARD_E_BAD_ENCODING);
}

static void
test_init_update_resp(void **state)
{
	uint8_t in[64];
	size_t n;
	pcard_gp_init_update_resp u;

	(void)state;
	/* SCP02: KDD, KVN 20, 02, seq 0001, challenge 6, cryptogram 8 */
	n = tv_unhex("00000000000000000000 20 02 0001 AABBCCDDEEFF 1122334455667788", in,
	    sizeof in);
	assert_int_equal(pcard_gp_parse_init_update_resp(in, n, &u), PCARD_OK);
	assert_int_equal(u.kvn, 0x20);
	assert_int_equal(u.seq_len, 2);
	assert_int_equal(u.seq[1], 1);
	assert_int_equal(u.challenge_len, 6);
	assert_int_equal(u.cryptogram[7], 0x88);
	/* SCP03 i=70 (pseudo-random: counter follows) */
	n = tv_unhex("0102030405060708090A 30 03 70 1111111111111111 2222222222222222 00002A",
	    in, sizeof in);
	assert_int_equal(pcard_gp_parse_init_update_resp(in, n, &u), PCARD_OK);
	assert_int_equal(u.i, 0x70);
	assert_int_equal(u.seq_len, 3);
	assert_int_equal(u.seq[2], 0x2A);
	assert_int_equal(u.kdd[9], 0x0A);
	/* SCP03 S16 i=60, no counter */
	n = tv_unhex("0102030405060708090A 30 03 60 11111111111111111111111111111111"
	    " 22222222222222222222222222222222", in, sizeof in);
	assert_int_equal(pcard_gp_parse_init_update_resp(in, n, &u), PCARD_OK);
	assert_int_equal(u.challenge_len, 16);
	assert_int_equal(u.cryptogram_len, 16);
	assert_int_equal(u.seq_len, 0);
	/* SCP01 */
	n = tv_unhex("0102030405060708090A 01 01 1111111111111111 2222222222222222", in, sizeof in);
	assert_int_equal(pcard_gp_parse_init_update_resp(in, n, &u), PCARD_OK);
	assert_int_equal(u.scp, 1);
	/* errors: counter present but i says not, wrong lengths, unknown SCP, short */
	n = tv_unhex("0102030405060708090A 30 03 60 1111111111111111 2222222222222222 00002A",
	    in, sizeof in);
	assert_int_equal(pcard_gp_parse_init_update_resp(in, n, &u), PCARD_E_BAD_ENCODING);
	assert_int_equal(pcard_gp_parse_init_update_resp(in, 30, &u), PCARD_E_BAD_ENCODING);
	n = tv_unhex("0102030405060708090A 01 02 0001 AABBCCDDEEFF 11223344556677", in, sizeof in);
	assert_int_equal(pcard_gp_parse_init_update_resp(in, n, &u), PCARD_E_BAD_ENCODING);
	n = tv_unhex("0102030405060708090A 01 04 0001 AABBCCDDEEFF 1122334455667788", in,
	    sizeof in);
	assert_int_equal(pcard_gp_parse_init_update_resp(in, n, &u), PCARD_E_UNSUPPORTED);
	assert_int_equal(pcard_gp_parse_init_update_resp(in, 11, &u), PCARD_E_BAD_ENCODING);
}

/* ---- names ---- */

static void
test_names(void **state)
{
	const char *names[8];
	char buf[256];
	size_t n;
	uint32_t p, unknown;
	uint8_t s, b[3];
	pcard_gp_aid a, c;

	(void)state;
	pcard_privs_names(0xC00000, names, 8, &n, &unknown);
	assert_int_equal(n, 2);
	assert_string_equal(names[0], "SecurityDomain");
	assert_string_equal(names[1], "DAPVerification");
	assert_int_equal(unknown, 0);
	pcard_privs_names(0x000004, names, 8, &n, &unknown);
	assert_int_equal(n, 0);
	assert_int_equal(unknown, 4);
	assert_int_equal(pcard_privs_to_string(0x9E0000, buf, sizeof buf), PCARD_OK);
	assert_string_equal(buf, "SecurityDomain,CardLock,CardTerminate,CardReset,CVMManagement");
	assert_int_equal(pcard_privs_from_string(buf, &p), PCARD_OK);
	assert_int_equal(p, 0x9E0000);
	assert_int_equal(pcard_privs_to_string(0x800004, buf, sizeof buf), PCARD_OK);
	assert_string_equal(buf, "SecurityDomain,0x000004");
	assert_int_equal(pcard_privs_to_string(0x9E0000, buf, 10), PCARD_E_NOSPACE);
	assert_int_equal(pcard_privs_from_string("securitydomain | delegatedmanagement cardreset",
	    &p), PCARD_OK);
	assert_int_equal(p, 0xA40000);
	assert_int_equal(pcard_privs_from_string("0x000080,FinalApplication", &p), PCARD_OK);
	assert_int_equal(p, 0x000280);
	assert_int_equal(pcard_privs_from_string("", &p), PCARD_OK);
	assert_int_equal(p, 0);
	assert_int_equal(pcard_privs_from_string("CardLock,Nonsense", &p), PCARD_E_NOT_FOUND);
	assert_int_equal(pcard_priv_from_name("GlobalDelete", &p), PCARD_OK);
	assert_int_equal(p, PCARD_PRIV_GLOBAL_DELETE);
	assert_int_equal(pcard_priv_from_name("x", &p), PCARD_E_NOT_FOUND);
	assert_int_equal(pcard_privs_decode((const uint8_t *)"\x80\x00", 2, &p),
	    PCARD_E_BAD_ENCODING);
	assert_int_equal(pcard_privs_encode(0x800000, b), 1);
	assert_int_equal(pcard_privs_encode(0x800001, b), 3);
	assert_int_equal(b[2], 1);

	assert_string_equal(pcard_lifecycle_name(PCARD_GP_KIND_CARD, 0x0F), "SECURED");
	assert_string_equal(pcard_lifecycle_name(PCARD_GP_KIND_CARD, 0x7F), "CARD_LOCKED");
	assert_string_equal(pcard_lifecycle_name(PCARD_GP_KIND_CARD, 0xFF), "TERMINATED");
	assert_string_equal(pcard_lifecycle_name(PCARD_GP_KIND_CARD, 0x03), "UNKNOWN");
	assert_string_equal(pcard_lifecycle_name(PCARD_GP_KIND_ELF, 0x01), "LOADED");
	assert_string_equal(pcard_lifecycle_name(PCARD_GP_KIND_APP, 0x07), "SELECTABLE");
	assert_string_equal(pcard_lifecycle_name(PCARD_GP_KIND_APP, 0x0F), "SELECTABLE");
	assert_string_equal(pcard_lifecycle_name(PCARD_GP_KIND_APP, 0x83), "LOCKED");
	assert_string_equal(pcard_lifecycle_name(PCARD_GP_KIND_APP, 0x03), "INSTALLED");
	assert_string_equal(pcard_lifecycle_name(PCARD_GP_KIND_SD, 0x0F), "PERSONALIZED");
	assert_string_equal(pcard_lifecycle_name(PCARD_GP_KIND_SD, 0x8F), "LOCKED");
	assert_string_equal(pcard_lifecycle_name(9, 0x0F), "UNKNOWN");
	assert_int_equal(pcard_lifecycle_from_name(PCARD_GP_KIND_CARD, "op_ready", &s), PCARD_OK);
	assert_int_equal(s, 0x01);
	assert_int_equal(pcard_lifecycle_from_name(PCARD_GP_KIND_APP, "LOCKED", &s), PCARD_OK);
	assert_int_equal(s, 0x87);
	assert_int_equal(pcard_lifecycle_from_name(PCARD_GP_KIND_ELF, "SECURED", &s),
	    PCARD_E_NOT_FOUND);

	assert_int_equal(pcard_gp_aid_from_hex(&a, "A0 00 00 01 51 00 00 00"), PCARD_OK);
	assert_int_equal(a.len, 8);
	assert_int_equal(pcard_gp_aid_to_hex(&a, buf, sizeof buf), PCARD_OK);
	assert_string_equal(buf, "A000000151000000");
	assert_int_equal(pcard_gp_aid_set(&c, a.b, a.len), PCARD_OK);
	assert_true(pcard_gp_aid_eq(&a, &c));
	c.b[0] = 0;
	assert_false(pcard_gp_aid_eq(&a, &c));
	assert_int_equal(pcard_gp_aid_from_hex(&a, ""), PCARD_E_BAD_ENCODING);
	assert_int_equal(pcard_gp_aid_from_hex(&a, "0102030405060708090A0B0C0D0E0F1011"),
	    PCARD_E_BAD_ENCODING);
	assert_int_equal(pcard_gp_aid_from_hex(&a, "zz"), PCARD_E_BAD_ENCODING);
	assert_int_equal(pcard_gp_aid_set(&a, b, 17), PCARD_E_INVALID_ARG);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_install_variants),
		cmocka_unit_test(test_install_long_and_errors),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_small_commands),
		cmocka_unit_test(test_store_data),
		cmocka_unit_test(test_get_status_cmd),
		cmocka_unit_test(test_get_status_tags),
		cmocka_unit_test(test_get_status_legacy),
		cmocka_unit_test(test_get_status_malformed),
		cmocka_unit_test(test_get_status_limits),
		cmocka_unit_test(test_fci_crd),
		cmocka_unit_test(test_fci_malformed),
		cmocka_unit_test(test_cplc),
		cmocka_unit_test(test_data_value),
		cmocka_unit_test(test_caps_keyinfo),
		cmocka_unit_test(test_init_update_resp),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
