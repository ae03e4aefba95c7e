/*
 * test_putkey.c: PUT KEY key data fields built through the in-memory provider, checked against
 * blocks built here from the raw primitives; response check; card-side parser.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "postcard/bytes.h"
#include "postcard/crypto.h"
#include "postcard/keys.h"
#include "postcard/putkey.h"
#include "testvec.h"

static pcard_keyh
import(pcard_keys *k, pcard_keytype t, const uint8_t *key, size_t n)
{
	pcard_keyh h;

	assert_int_equal(pcard_keys_mem_import(k, NULL, t, key, n, &h), PCARD_OK);
	return h;
}

/* SCP02: DES key under the session DEK of the pysim vector: 80 10 <3DES-ECB> 03 <KCV>. */
static void
test_des_block(void **state)
{
	tv_file *f = tv_load("vectors/scp02.txt");
	const tv_case *c = tv_find(f, "pysim-scp02-c-mac");
	uint8_t sdek[16], key[16], want[22], out[64], kcv[3];
	pcard_keys *k;
	pcard_keyh dek, h;
	size_t len;

	(void)state;
	tv_hex(c, "SDek", sdek, 16);
	assert_int_equal(pcard_hex_decode_exact("404142434445464748494A4B4C4D4E4F", key, 16),
	    PCARD_OK);
	want[0] = 0x80;
	want[1] = 0x10;
	assert_int_equal(pcard_des3_ecb(1, sdek, 16, key, 16, want + 2), PCARD_OK);
	want[18] = 0x03;
	assert_int_equal(pcard_hex_decode_exact("8BAF47", want + 19, 3), PCARD_OK);

	assert_int_equal(pcard_keys_mem_new(4, &k), PCARD_OK);
	dek = import(k, PCARD_KEY_DES3, sdek, 16);
	h = import(k, PCARD_KEY_DES3, key, 16);
	assert_int_equal(pcard_putkey_sym_block(k, dek, h, out, sizeof out, &len, kcv), PCARD_OK);
	assert_int_equal(len, 22);
	assert_memory_equal(out, want, 22);
	assert_memory_equal(kcv, want + 19, 3);
	assert_int_equal(pcard_putkey_sym_block(k, dek, h, out, 21, &len, NULL), PCARD_E_NOSPACE);
	pcard_keys_free(k);
	tv_free(f);
}

/* SCP03: AES-128/192/256 keys under the static DEK: 88 <n+1> <len> <AES-CBC> 03 <KCV>. */
static void
test_aes_block(void **state)
{
	uint8_t dekb[16], key[32], padded[32], want[64], out[64], kcv[3];
	pcard_keys *k;
	pcard_keyh dek, h;
	size_t len, kl, i;

	(void)state;
	assert_int_equal(pcard_hex_decode_exact("0A02A6D687406DCFA09DC70B3EDB7E38", dekb, 16),
	    PCARD_OK);
	for (i = 0; i < sizeof key; i++)
		key[i] = (uint8_t)(0x40 + i);
	assert_int_equal(pcard_keys_mem_new(4, &k), PCARD_OK);
	dek = import(k, PCARD_KEY_AES, dekb, 16);
	for (kl = 16; kl <= 32; kl += 8) {
		size_t el = kl == 16 ? 16 : 32;

		memset(padded, 0, sizeof padded);
		memcpy(padded, key, kl);
		want[0] = 0x88;
		want[1] = (uint8_t)(el + 1);
		want[2] = (uint8_t)kl;
		assert_int_equal(pcard_aes_cbc(1, dekb, 16, NULL, padded, el, want + 3), PCARD_OK);
		want[3 + el] = 0x03;
		assert_int_equal(pcard_kcv_aes(key, kl, want + 4 + el), PCARD_OK);
		h = import(k, PCARD_KEY_AES, key, kl);
		assert_int_equal(pcard_putkey_sym_block(k, dek, h, out, sizeof out, &len, kcv),
		    PCARD_OK);
		assert_int_equal(len, 7 + el);
		assert_memory_equal(out, want, len);
		assert_memory_equal(kcv, want + 4 + el, 3);
		pcard_keys_release(k, h);
	}
	pcard_keys_free(k);
}

/* Mixing key kinds, unknown handles. */
static void
test_block_errors(void **state)
{
	uint8_t b[24] = { 1, 2, 3 }, out[64];
	pcard_keys *k;
	pcard_keyh adek, ddek, aes, des, des24;
	pcard_pkey *pk;
	pcard_keyh ph;
	size_t len;

	(void)state;
	assert_int_equal(pcard_keys_mem_new(8, &k), PCARD_OK);
	adek = import(k, PCARD_KEY_AES, b, 16);
	ddek = import(k, PCARD_KEY_DES3, b, 16);
	aes = import(k, PCARD_KEY_AES, b, 16);
	des = import(k, PCARD_KEY_DES3, b, 16);
	des24 = import(k, PCARD_KEY_DES3, b, 24);
	assert_int_equal(pcard_putkey_sym_block(k, adek, des, out, sizeof out, &len, NULL),
	    PCARD_E_UNSUPPORTED);
	assert_int_equal(pcard_putkey_sym_block(k, ddek, aes, out, sizeof out, &len, NULL),
	    PCARD_E_UNSUPPORTED);
	assert_int_equal(pcard_putkey_sym_block(k, ddek, des24, out, sizeof out, &len, NULL),
	    PCARD_E_UNSUPPORTED);
	assert_int_equal(pcard_putkey_sym_block(k, ddek, 0x4242u, out, sizeof out, &len, NULL),
	    PCARD_E_KEY);
	assert_int_equal(pcard_putkey_sym_block(k, PCARD_KEYH_NONE, des, out, sizeof out, &len,
	    NULL), PCARD_E_KEY);
	assert_int_equal(pcard_putkey_sym_block(NULL, ddek, des, out, sizeof out, &len, NULL),
	    PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_pkey_gen_ec("P-256", &pk), PCARD_OK);
	assert_int_equal(pcard_keys_mem_import_pkey(k, NULL, pk, &ph), PCARD_OK);
	assert_int_equal(pcard_putkey_sym_block(k, adek, ph, out, sizeof out, &len, NULL),
	    PCARD_E_KEY);
	pcard_keys_free(k);
}

/* A whole key set, its expected answer, and every way the answer can be wrong. */
static void
test_set_and_response(void **state)
{
	uint8_t dekb[16], kb[16], out[128], resp[16];
	pcard_keys *k;
	pcard_keyh dek, set[3];
	pcard_putkey_expect exp;
	size_t len, i, off;
	pcard_rd r;
	uint8_t kvn;

	(void)state;
	memset(dekb, 0x11, sizeof dekb);
	assert_int_equal(pcard_keys_mem_new(4, &k), PCARD_OK);
	dek = import(k, PCARD_KEY_AES, dekb, 16);
	for (i = 0; i < 3; i++) {
		memset(kb, (int)(0x20 + i), sizeof kb);
		set[i] = import(k, PCARD_KEY_AES, kb, 16);
	}
	assert_int_equal(pcard_putkey_set(k, dek, 0x31, set, out, sizeof out, &len, &exp),
	    PCARD_OK);
	assert_int_equal(len, 1 + 3 * 23);
	assert_int_equal(out[0], 0x31);
	assert_int_equal(exp.kvn, 0x31);
	assert_int_equal(exp.nkcv, 3);
	/* each block is the single-key block, and the KCVs are the provider's */
	off = 1;
	for (i = 0; i < 3; i++) {
		uint8_t blk[64], kcv[3];
		size_t bl;

		assert_int_equal(pcard_putkey_sym_block(k, dek, set[i], blk, sizeof blk, &bl, NULL),
		    PCARD_OK);
		assert_memory_equal(out + off, blk, bl);
		off += bl;
		assert_int_equal(pcard_keys_kcv(k, set[i], kcv), PCARD_OK);
		assert_memory_equal(exp.kcv[i], kcv, 3);
	}
	/* the card side reads it back */
	pcard_rd_init(&r, out, len);
	assert_int_equal(pcard_rd_u8(&r, &kvn), PCARD_OK);
	for (i = 0; i < 3; i++) {
		pcard_putkey_key pk;

		assert_int_equal(pcard_putkey_parse_key(&r, &pk), PCARD_OK);
		assert_int_equal(pk.ncomp, 1);
		assert_int_equal(pk.comp[0].type, 0x88);
		assert_int_equal(pk.comp[0].len, 17);
		assert_int_equal(pk.comp[0].val[0], 16);
		assert_int_equal(pk.kcv_len, 3);
		assert_memory_equal(pk.kcv, exp.kcv[i], 3);
	}
	assert_int_equal(pcard_rd_expect_end(&r), PCARD_OK);

	resp[0] = 0x31;
	for (i = 0; i < 3; i++)
		memcpy(resp + 1 + 3 * i, exp.kcv[i], 3);
	assert_int_equal(pcard_putkey_check_response(&exp, resp, 10), PCARD_OK);
	assert_int_equal(pcard_putkey_check_response(&exp, resp, 9), PCARD_E_TRUNCATED);
	assert_int_equal(pcard_putkey_check_response(&exp, resp, 11), PCARD_E_TRAILING_DATA);
	resp[9] ^= 1;
	assert_int_equal(pcard_putkey_check_response(&exp, resp, 10), PCARD_E_VERIFY);
	resp[9] ^= 1;
	resp[0] = 0x30;
	assert_int_equal(pcard_putkey_check_response(&exp, resp, 10), PCARD_E_VERIFY);
	assert_int_equal(pcard_putkey_check_response(NULL, resp, 10), PCARD_E_INVALID_ARG);

	/* single key */
	assert_int_equal(pcard_putkey_single(k, dek, 0x32, set[1], out, sizeof out, &len, &exp),
	    PCARD_OK);
	assert_int_equal(len, 24);
	assert_int_equal(exp.nkcv, 1);
	resp[0] = 0x32;
	memcpy(resp + 1, exp.kcv[0], 3);
	assert_int_equal(pcard_putkey_check_response(&exp, resp, 4), PCARD_OK);
	/* too small a buffer, at every size */
	for (i = 0; i < 70; i++)
		assert_int_equal(pcard_putkey_set(k, dek, 0x31, set, out, i, &len, &exp),
		    PCARD_E_NOSPACE);
	assert_int_equal(pcard_putkey_set(k, dek, 0x31, set, out, 70, &len, &exp), PCARD_OK);
	pcard_keys_free(k);
}

static void
test_public_blocks(void **state)
{
	static uint8_t out[1200];
	uint8_t n[512], e[8], pt[140], resp[1] = { 0x71 };
	size_t nl, el, ptl, len;
	pcard_pkey *rsa, *ec;
	pcard_putkey_expect exp;
	pcard_putkey_key key;
	pcard_rd r;
	const char *curve;

	(void)state;
	assert_int_equal(pcard_pkey_gen_rsa(2048, &rsa), PCARD_OK);
	assert_int_equal(pcard_pkey_rsa_parts(rsa, n, sizeof n, &nl, e, sizeof e, &el), PCARD_OK);
	assert_int_equal(pcard_putkey_public(0x71, rsa, out, sizeof out, &len, &exp), PCARD_OK);
	assert_int_equal(len, 1 + 4 + 256 + 2 + 3 + 1);
	assert_memory_equal(out, "\x71\xA1\x82\x01\x00", 5);
	assert_memory_equal(out + 5, n, 256);
	assert_memory_equal(out + 261, "\xA0\x03\x01\x00\x01\x00", 6);
	assert_int_equal(exp.nkcv, 0);
	assert_int_equal(pcard_putkey_check_response(&exp, resp, 1), PCARD_OK);
	pcard_rd_init(&r, out + 1, len - 1);
	assert_int_equal(pcard_putkey_parse_key(&r, &key), PCARD_OK);
	assert_int_equal(key.ncomp, 2);
	assert_int_equal(key.comp[0].type, 0xA1);
	assert_int_equal(key.comp[0].len, 256);
	assert_int_equal(key.comp[1].type, 0xA0);
	assert_int_equal(key.kcv_len, 0);
	assert_null(key.kcv);
	assert_int_equal(pcard_rd_expect_end(&r), PCARD_OK);
	/* leading zeros are stripped; 128-byte components take 81 80 */
	memset(n, 0, 3);
	memset(n + 3, 0xC5, 128);
	assert_int_equal(pcard_putkey_rsa_block(n, 131, e, el, out, sizeof out, &len), PCARD_OK);
	assert_memory_equal(out, "\xA1\x81\x80\xC5", 4);
	assert_int_equal(len, 3 + 128 + 2 + 3 + 1);
	assert_int_equal(pcard_putkey_rsa_block(n, 131, e, el, out, 10, &len), PCARD_E_NOSPACE);
	assert_int_equal(pcard_putkey_rsa_block(n, 0, e, el, out, sizeof out, &len),
	    PCARD_E_INVALID_ARG);

	assert_int_equal(pcard_pkey_gen_ec("P-256", &ec), PCARD_OK);
	assert_int_equal(pcard_pkey_ec_point(ec, pt, sizeof pt, &ptl, &curve), PCARD_OK);
	assert_int_equal(pcard_putkey_public(0x72, ec, out, sizeof out, &len, &exp), PCARD_OK);
	assert_int_equal(len, 1 + 2 + 65 + 3 + 1);
	assert_memory_equal(out, "\x72\xB0\x41", 3);
	assert_memory_equal(out + 3, pt, 65);
	assert_memory_equal(out + 68, "\xF0\x01\x00\x00", 4);
	pcard_rd_init(&r, out + 1, len - 1);
	assert_int_equal(pcard_putkey_parse_key(&r, &key), PCARD_OK);
	assert_int_equal(key.ncomp, 2);
	assert_int_equal(key.comp[1].type, 0xF0);
	assert_int_equal(key.comp[1].val[0], 0x00);
	pcard_pkey_free(ec);
	assert_int_equal(pcard_pkey_gen_ec("P-384", &ec), PCARD_OK);
	assert_int_equal(pcard_pkey_ec_point(ec, pt, sizeof pt, &ptl, &curve), PCARD_OK);
	assert_int_equal(pcard_putkey_ec_block(curve, pt, ptl, out, sizeof out, &len), PCARD_OK);
	assert_memory_equal(out, "\xB0\x61\x04", 3);
	assert_memory_equal(out + 99, "\xF0\x01\x01\x00", 4);
	assert_int_equal(pcard_putkey_ec_block("P-256", pt, ptl, out, sizeof out, &len),
	    PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_putkey_ec_block("P-224", pt, ptl, out, sizeof out, &len),
	    PCARD_E_UNSUPPORTED);
	pcard_pkey_free(ec);
	pcard_pkey_free(rsa);
}

/* Card-side parser: malformed fields, and the reader stays put on failure. */
static void
test_parse_errors(void **state)
{
	static const struct { const char *hex; pcard_err err; } tab[] = {
		{ "", PCARD_E_TRUNCATED },
		{ "03112233", PCARD_E_BAD_ENCODING },			/* KCV without component */
		{ "8010", PCARD_E_TRUNCATED },
		{ "800F000102030405060708090A0B0C0D0E03112233", PCARD_E_BAD_ENCODING },
		{ "801000010203040506070809 0A0B0C0D0E0F02 1122", PCARD_E_BAD_ENCODING },
		{ "801000010203040506070809 0A0B0C0D0E0F03 1122", PCARD_E_TRUNCATED },
		{ "88111100010203040506070809 0A0B0C0D0E0F03112233", PCARD_E_BAD_ENCODING },
		{ "88111800010203040506070809 0A0B0C0D0E0F03112233", PCARD_E_BAD_ENCODING },
		{ "8810100001020304050607080900 0A0B0C0D0E03112233", PCARD_E_BAD_ENCODING },
		{ "A1817F00", PCARD_E_BAD_ENCODING },		/* non-minimal 81 */
		{ "A18200FF00", PCARD_E_BAD_ENCODING },		/* non-minimal 82 */
		{ "A183000001", PCARD_E_BAD_ENCODING },
		{ "A180", PCARD_E_BAD_ENCODING },
		{ "A10101A00101A00101A00101A0010100", PCARD_E_BAD_ENCODING },	/* 5 components */
		{ "A10101", PCARD_E_TRUNCATED },
	};
	uint8_t buf[64];
	size_t i, n;
	pcard_putkey_key key;
	pcard_rd r;

	(void)state;
	for (i = 0; i < sizeof tab / sizeof tab[0]; i++) {
		assert_int_equal(pcard_hex_decode(tab[i].hex, buf, sizeof buf, &n), PCARD_OK);
		pcard_rd_init(&r, buf, n);
		assert_int_equal(pcard_putkey_parse_key(&r, &key), tab[i].err);
		assert_int_equal(pcard_rd_left(&r), n);
	}
	/* four components are fine, and what follows the field stays in the reader */
	assert_int_equal(pcard_hex_decode("A10101A00101A00101A0010100 FF", buf, sizeof buf, &n),
	    PCARD_OK);
	pcard_rd_init(&r, buf, n);
	assert_int_equal(pcard_putkey_parse_key(&r, &key), PCARD_OK);
	assert_int_equal(key.ncomp, 4);
	assert_int_equal(pcard_rd_left(&r), 1);
	assert_int_equal(pcard_putkey_parse_key(NULL, &key), PCARD_E_INVALID_ARG);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_des_block),
		cmocka_unit_test(test_aes_block),
		cmocka_unit_test(test_block_errors),
		cmocka_unit_test(test_set_and_response),
		cmocka_unit_test(test_public_blocks),
		cmocka_unit_test(test_parse_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
