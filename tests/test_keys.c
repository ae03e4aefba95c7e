/*
 * test_keys.c: the in-memory key provider and the checked wrappers.
 *
 * The provider never exports key bytes, so a derived key is compared with the expected value
 * by importing the expected bytes as a second key and comparing KCVs and a two-block ECB
 * encryption under both.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "postcard/bytes.h"
#include "postcard/crypto.h"
#include "postcard/keys.h"
#include "testvec.h"

static pcard_keyh
import(pcard_keys *k, const char *label, pcard_keytype t, const char *hexkey)
{
	uint8_t key[32];
	size_t n;
	pcard_keyh h;

	assert_int_equal(pcard_hex_decode(hexkey, key, sizeof key, &n), PCARD_OK);
	assert_int_equal(pcard_keys_mem_import(k, label, t, key, n, &h), PCARD_OK);
	assert_int_not_equal(h, PCARD_KEYH_NONE);
	pcard_wipe(key, sizeof key);
	return h;
}

/* Assert that handle h holds the key whose bytes are want (same type, length, value). */
static void
assert_same_key(pcard_keys *k, pcard_keyh h, pcard_keytype t, const uint8_t *want, size_t n)
{
	uint8_t blocks[32], a[32], b[32], kcv_a[3], kcv_b[3];
	pcard_keytype ht;
	size_t hl, i;
	pcard_keyh ref;
	pcard_cipher_alg ecb = t == PCARD_KEY_AES ? PCARD_CIPHER_AES_ECB : PCARD_CIPHER_DES3_ECB;

	assert_int_equal(pcard_keys_info(k, h, &ht, &hl), PCARD_OK);
	assert_int_equal(ht, t);
	assert_int_equal(hl, n);
	assert_int_equal(pcard_keys_mem_import(k, NULL, t, want, n, &ref), PCARD_OK);
	for (i = 0; i < sizeof blocks; i++)
		blocks[i] = (uint8_t)(i * 31 + 7);
	assert_int_equal(pcard_keys_cipher(k, h, ecb, 1, NULL, blocks, 32, a), PCARD_OK);
	assert_int_equal(pcard_keys_cipher(k, ref, ecb, 1, NULL, blocks, 32, b), PCARD_OK);
	assert_memory_equal(a, b, 32);
	assert_int_equal(pcard_keys_kcv(k, h, kcv_a), PCARD_OK);
	assert_int_equal(pcard_keys_kcv(k, ref, kcv_b), PCARD_OK);
	assert_memory_equal(kcv_a, kcv_b, 3);
	pcard_keys_release(k, ref);
}

static void
assert_same_key_hex(pcard_keys *k, pcard_keyh h, pcard_keytype t, const tv_case *c,
    const char *field)
{
	uint8_t want[32];
	size_t n = tv_hex(c, field, want, sizeof want);

	assert_same_key(k, h, t, want, n);
}

/* SCP02 session keys: 3DES-CBC over constant || seq || 00 x 12 (gp-facts 3.3). */
static void
test_scp02_session_keys(void **state)
{
	static const struct { uint8_t c0, c1; const char *stat, *field; } tab[] = {
		{ 0x01, 0x82, "KeyENC", "SEnc" },
		{ 0x01, 0x01, "KeyMAC", "SMac" },
		{ 0x01, 0x02, "KeyMAC", "SRmac" },
		{ 0x01, 0x81, "KeyDEK", "SDek" },
	};
	tv_file *f = tv_load("vectors/scp02.txt");
	const tv_case *c = tv_find(f, "pysim-scp02-c-mac");
	pcard_keys *k;
	pcard_keyh st[3], sess[4];
	uint8_t resp[28], ext[21], hc[8], host[8], msg[16], out[16], icv[8], w1[13];
	size_t i, len;

	(void)state;
	assert_int_equal(pcard_keys_mem_new(16, &k), PCARD_OK);
	st[0] = import(k, "enc", PCARD_KEY_DES3, tv_str(c, "KeyENC"));
	st[1] = import(k, "mac", PCARD_KEY_DES3, tv_str(c, "KeyMAC"));
	st[2] = import(k, "dek", PCARD_KEY_DES3, tv_str(c, "KeyDEK"));
	tv_hex(c, "InitUpdateResp", resp, sizeof resp);
	for (i = 0; i < 4; i++) {
		uint8_t d[16] = { 0 };
		pcard_keyh base = strcmp(tab[i].stat, "KeyENC") == 0 ? st[0] :
		    strcmp(tab[i].stat, "KeyMAC") == 0 ? st[1] : st[2];

		d[0] = tab[i].c0;
		d[1] = tab[i].c1;
		memcpy(d + 2, resp + 12, 2);
		assert_int_equal(pcard_keys_derive(k, base, PCARD_DERIVE_DES3_CBC, d, 16, 0,
		    PCARD_KEY_DES3, 16, &sess[i]), PCARD_OK);
		assert_same_key_hex(k, sess[i], PCARD_KEY_DES3, c, tab[i].field);
	}

	/* host cryptogram: full 3DES MAC with S-ENC over seq || card challenge || host challenge */
	tv_hex(c, "HostChallenge", host, 8);
	tv_hex(c, "HostCryptogram", hc, 8);
	memcpy(msg, resp + 12, 8);
	memcpy(msg + 8, host, 8);
	assert_int_equal(pcard_keys_mac(k, sess[0], PCARD_MAC_DES3_CBC, NULL, msg, 16, out,
	    sizeof out, &len), PCARD_OK);
	assert_int_equal(len, 8);
	assert_memory_equal(out, hc, 8);

	/* EXTERNAL AUTHENTICATE C-MAC: retail MAC with S-MAC, ICV zero */
	tv_hex(c, "ExtAuthCmd", ext, sizeof ext);
	assert_int_equal(pcard_keys_mac(k, sess[1], PCARD_MAC_DES_RETAIL, NULL, ext, 13, out,
	    sizeof out, &len), PCARD_OK);
	assert_int_equal(len, 8);
	assert_memory_equal(out, ext + 13, 8);

	/* next command: ICV = DES-ECB(S-MAC K1, previous C-MAC) (gp-facts 3.7) */
	assert_int_equal(pcard_keys_cipher(k, sess[1], PCARD_CIPHER_DES_ECB_K1, 1, NULL, ext + 13,
	    8, icv), PCARD_OK);
	tv_hex(c, "WrappedCmd1", w1, sizeof w1);
	assert_int_equal(pcard_keys_mac(k, sess[1], PCARD_MAC_DES_RETAIL, icv, w1, 5, out,
	    sizeof out, &len), PCARD_OK);
	assert_memory_equal(out, w1 + 5, 8);

	/* retail MAC needs a two-key 3DES key */
	{
		pcard_keyh k24 = import(k, NULL, PCARD_KEY_DES3,
		    "000102030405060708090A0B0C0D0E0F1011121314151617");

		assert_int_equal(pcard_keys_mac(k, k24, PCARD_MAC_DES_RETAIL, NULL, ext, 13, out,
		    sizeof out, &len), PCARD_E_KEY);
		assert_int_equal(pcard_keys_mac(k, k24, PCARD_MAC_DES3_CBC, NULL, ext, 13, out,
		    sizeof out, &len), PCARD_OK);
		pcard_keys_release(k, k24);
	}
	assert_int_equal(pcard_keys_mac(k, sess[1], PCARD_MAC_DES_RETAIL, NULL, ext, 13, out, 7,
	    &len), PCARD_E_NOSPACE);
	for (i = 0; i < 4; i++)
		pcard_keys_release(k, sess[i]);
	pcard_keys_free(k);
	tv_free(f);
}

/*
 * SCP03 session keys, card challenge and card cryptogram through the provider's KDF with the
 * counter at byte 15 (gp-facts 3.2), for every case of scp03.txt.
 */
static void
fill_scp03(uint8_t d[32], uint8_t constant, uint16_t bits, const uint8_t *ctx, size_t ctx_len)
{
	memset(d, 0, 16);
	d[11] = constant;
	d[13] = (uint8_t)(bits >> 8);
	d[14] = (uint8_t)bits;
	memcpy(d + 16, ctx, ctx_len);
}

static void
test_scp03_session_keys(void **state)
{
	tv_file *f = tv_load("vectors/scp03.txt");
	size_t ci;

	(void)state;
	assert_int_equal(f->ncases, 3);
	for (ci = 0; ci < f->ncases; ci++) {
		const tv_case *c = &f->cases[ci];
		pcard_keys *k;
		pcard_keyh enc, mac, senc, smac, srmac;
		uint8_t cmd[14], resp[32], chal[32], d[64], out[16], aid[16];
		size_t resp_len, aid_len;

		assert_int_equal(pcard_keys_mem_new(8, &k), PCARD_OK);
		enc = import(k, "enc", PCARD_KEY_AES, tv_str(c, "KeyENC"));
		mac = import(k, "mac", PCARD_KEY_AES, tv_str(c, "KeyMAC"));
		assert_int_equal(tv_hex(c, "InitUpdateCmd", cmd, sizeof cmd), 14);
		resp_len = tv_hex(c, "InitUpdateResp", resp, sizeof resp);
		assert_int_equal(resp_len, 32);
		memcpy(chal, cmd + 5, 8);		/* host challenge */
		memcpy(chal + 8, resp + 13, 8);		/* card challenge */

		fill_scp03(d, 0x04, 0x0080, chal, 16);
		assert_int_equal(pcard_keys_derive(k, enc, PCARD_DERIVE_AES_KDF, d, 32, 15,
		    PCARD_KEY_AES, 16, &senc), PCARD_OK);
		assert_same_key_hex(k, senc, PCARD_KEY_AES, c, "SEnc");
		fill_scp03(d, 0x06, 0x0080, chal, 16);
		assert_int_equal(pcard_keys_derive(k, mac, PCARD_DERIVE_AES_KDF, d, 32, 15,
		    PCARD_KEY_AES, 16, &smac), PCARD_OK);
		assert_same_key_hex(k, smac, PCARD_KEY_AES, c, "SMac");
		fill_scp03(d, 0x07, 0x0080, chal, 16);
		assert_int_equal(pcard_keys_derive(k, mac, PCARD_DERIVE_AES_KDF, d, 32, 15,
		    PCARD_KEY_AES, 16, &srmac), PCARD_OK);
		assert_same_key_hex(k, srmac, PCARD_KEY_AES, c, "SRmac");

		/* card cryptogram: KDF data under S-MAC, constant 00, L = 64 bits */
		fill_scp03(d, 0x00, 0x0040, chal, 16);
		assert_int_equal(pcard_keys_kdf_data(k, smac, d, 32, 15, out, 8), PCARD_OK);
		assert_memory_equal(out, resp + 21, 8);

		/* pseudo-random card challenge: constant 02 under Key-ENC, seq || AID */
		aid_len = tv_hex(c, "InvokingAID", aid, sizeof aid);
		memcpy(chal, resp + 29, 3);
		memcpy(chal + 3, aid, aid_len);
		fill_scp03(d, 0x02, 0x0040, chal, 3 + aid_len);
		assert_int_equal(pcard_keys_kdf_data(k, enc, d, 16 + 3 + aid_len, 15, out, 8),
		    PCARD_OK);
		assert_memory_equal(out, resp + 13, 8);

		/* the session MAC of EXTERNAL AUTHENTICATE when the vector gives it (S8) */
		if (tv_get(c, "ExtAuthCmd") != NULL) {
			uint8_t ext[21], mc[16 + 13];
			size_t len;

			assert_int_equal(tv_hex(c, "ExtAuthCmd", ext, sizeof ext), 21);
			memset(mc, 0, 16);
			memcpy(mc + 16, ext, 13);
			assert_int_equal(pcard_keys_mac(k, smac, PCARD_MAC_AES_CMAC, NULL, mc,
			    sizeof mc, out, sizeof out, &len), PCARD_OK);
			assert_int_equal(len, 16);
			assert_memory_equal(out, ext + 13, 8);
		}
		pcard_keys_release(k, senc);
		pcard_keys_release(k, smac);
		pcard_keys_release(k, srmac);
		pcard_keys_free(k);
	}
	tv_free(f);
}

static void
test_find_info_release(void **state)
{
	pcard_keys *k;
	pcard_keyh a, b, c, found;
	pcard_keytype t;
	size_t len;
	uint8_t kcv[3], key[16] = { 1 };

	(void)state;
	assert_int_equal(pcard_keys_mem_new(2, &k), PCARD_OK);
	a = import(k, "isd-enc", PCARD_KEY_AES, "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F");
	b = import(k, "isd-mac", PCARD_KEY_DES3, "404142434445464748494A4B4C4D4E4F");
	assert_int_equal(pcard_keys_find(k, "isd-mac", &found), PCARD_OK);
	assert_int_equal(found, b);
	assert_int_equal(pcard_keys_find(k, "isd-enc", &found), PCARD_OK);
	assert_int_equal(found, a);
	assert_int_equal(pcard_keys_find(k, "nope", &found), PCARD_E_NOT_FOUND);
	assert_int_equal(found, PCARD_KEYH_NONE);
	assert_int_equal(pcard_keys_info(k, a, &t, &len), PCARD_OK);
	assert_int_equal(t, PCARD_KEY_AES);
	assert_int_equal(len, 32);
	assert_int_equal(pcard_keys_kcv(k, b, kcv), PCARD_OK);
	assert_int_equal(kcv[0], 0x8B);

	/* table full */
	assert_int_equal(pcard_keys_mem_import(k, NULL, PCARD_KEY_AES, key, 16, &c),
	    PCARD_E_NOSPACE);
	assert_int_equal(c, PCARD_KEYH_NONE);
	/* release wipes and forgets; the old handle stays dead after the slot is reused */
	pcard_keys_release(k, b);
	assert_int_equal(pcard_keys_kcv(k, b, kcv), PCARD_E_KEY);
	assert_int_equal(pcard_keys_info(k, b, &t, &len), PCARD_E_KEY);
	assert_int_equal(pcard_keys_find(k, "isd-mac", &found), PCARD_E_NOT_FOUND);
	assert_int_equal(pcard_keys_mem_import(k, "isd-mac", PCARD_KEY_AES, key, 16, &c),
	    PCARD_OK);
	assert_int_not_equal(c, b);
	assert_int_equal(pcard_keys_kcv(k, b, kcv), PCARD_E_KEY);
	assert_int_equal(pcard_keys_kcv(k, c, kcv), PCARD_OK);
	pcard_keys_release(k, b);	/* stale: ignored, c survives */
	assert_int_equal(pcard_keys_kcv(k, c, kcv), PCARD_OK);
	pcard_keys_release(k, PCARD_KEYH_NONE);

	/* unknown handles */
	assert_int_equal(pcard_keys_kcv(k, 0x7777u, kcv), PCARD_E_KEY);
	assert_int_equal(pcard_keys_kcv(k, PCARD_KEYH_NONE, kcv), PCARD_E_KEY);
	assert_int_equal(pcard_keys_info(k, 0x10003u, &t, &len), PCARD_E_KEY);
	pcard_keys_free(k);
	pcard_keys_free(NULL);
}

static void
test_import_errors(void **state)
{
	pcard_keys *k;
	pcard_keyh h;
	uint8_t key[33] = { 0 };
	char label[80];

	(void)state;
	assert_int_equal(pcard_keys_mem_new(0, &k), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_keys_mem_new(0x10000, &k), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_keys_mem_new(4, NULL), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_keys_mem_new(4, &k), PCARD_OK);
	assert_int_equal(pcard_keys_mem_import(k, NULL, PCARD_KEY_AES, key, 15, &h), PCARD_E_KEY);
	assert_int_equal(pcard_keys_mem_import(k, NULL, PCARD_KEY_AES, key, 33, &h), PCARD_E_KEY);
	assert_int_equal(pcard_keys_mem_import(k, NULL, PCARD_KEY_DES3, key, 8, &h), PCARD_E_KEY);
	assert_int_equal(pcard_keys_mem_import(k, NULL, PCARD_KEY_DES3, key, 32, &h), PCARD_E_KEY);
	assert_int_equal(pcard_keys_mem_import(k, NULL, PCARD_KEY_PKEY, key, 16, &h), PCARD_E_KEY);
	assert_int_equal(pcard_keys_mem_import(k, NULL, PCARD_KEY_AES, NULL, 16, &h),
	    PCARD_E_INVALID_ARG);
	memset(label, 'x', sizeof label - 1);
	label[sizeof label - 1] = '\0';
	assert_int_equal(pcard_keys_mem_import(k, label, PCARD_KEY_AES, key, 16, &h),
	    PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_keys_mem_import(k, "", PCARD_KEY_AES, key, 16, &h),
	    PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_keys_mem_import(k, "a", PCARD_KEY_AES, key, 16, &h), PCARD_OK);
	assert_int_equal(pcard_keys_mem_import(k, "a", PCARD_KEY_AES, key, 16, &h),
	    PCARD_E_INVALID_ARG);	/* duplicate label */
	assert_int_equal(pcard_keys_mem_import_pkey(k, "p", NULL, &h), PCARD_E_INVALID_ARG);
	pcard_keys_free(k);
}

static void
test_derive_errors(void **state)
{
	pcard_keys *k;
	pcard_keyh aes, des, h;
	uint8_t d[32] = { 0 }, out[16];

	(void)state;
	assert_int_equal(pcard_keys_mem_new(4, &k), PCARD_OK);
	aes = import(k, NULL, PCARD_KEY_AES, "000102030405060708090A0B0C0D0E0F");
	des = import(k, NULL, PCARD_KEY_DES3, "404142434445464748494A4B4C4D4E4F");
	/* wrong base type */
	assert_int_equal(pcard_keys_derive(k, aes, PCARD_DERIVE_DES3_ECB, d, 16, 0, PCARD_KEY_DES3,
	    16, &h), PCARD_E_KEY);
	assert_int_equal(h, PCARD_KEYH_NONE);
	assert_int_equal(pcard_keys_derive(k, des, PCARD_DERIVE_AES_KDF, d, 32, 15, PCARD_KEY_AES,
	    16, &h), PCARD_E_KEY);
	assert_int_equal(pcard_keys_kdf_data(k, des, d, 32, 15, out, 8), PCARD_E_KEY);
	/* bad lengths and positions */
	assert_int_equal(pcard_keys_derive(k, des, PCARD_DERIVE_DES3_ECB, d, 8, 0, PCARD_KEY_DES3,
	    8, &h), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_keys_derive(k, des, PCARD_DERIVE_DES3_CBC, d, 24, 0, PCARD_KEY_DES3,
	    24, &h), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_keys_derive(k, des, PCARD_DERIVE_DES3_ECB, d, 16, 0, PCARD_KEY_AES,
	    16, &h), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_keys_derive(k, aes, PCARD_DERIVE_AES_KDF, d, 32, 32, PCARD_KEY_AES,
	    16, &h), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_keys_derive(k, aes, PCARD_DERIVE_AES_KDF, d, 32, 15, PCARD_KEY_AES,
	    20, &h), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_keys_kdf_data(k, aes, d, 0, 0, out, 8), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_keys_derive(k, aes, (pcard_derive_mech)99, d, 32, 15, PCARD_KEY_AES,
	    16, &h), PCARD_E_UNSUPPORTED);
	/* 24-byte DES3 ECB derivation works and fills the table */
	assert_int_equal(pcard_keys_derive(k, des, PCARD_DERIVE_DES3_ECB, d, 24, 0, PCARD_KEY_DES3,
	    24, &h), PCARD_OK);
	assert_int_equal(pcard_keys_derive(k, aes, PCARD_DERIVE_AES_KDF, d, 32, 15, PCARD_KEY_AES,
	    32, &h), PCARD_OK);
	assert_int_equal(pcard_keys_derive(k, aes, PCARD_DERIVE_AES_KDF, d, 32, 15, PCARD_KEY_AES,
	    16, &h), PCARD_E_NOSPACE);
	pcard_keys_free(k);
}

static void
test_cipher_mac_errors(void **state)
{
	pcard_keys *k;
	pcard_keyh aes, des;
	uint8_t in[32] = { 0 }, out[32], icv[16] = { 0 };
	size_t len;

	(void)state;
	assert_int_equal(pcard_keys_mem_new(4, &k), PCARD_OK);
	aes = import(k, NULL, PCARD_KEY_AES, "000102030405060708090A0B0C0D0E0F");
	des = import(k, NULL, PCARD_KEY_DES3, "404142434445464748494A4B4C4D4E4F");
	assert_int_equal(pcard_keys_cipher(k, aes, PCARD_CIPHER_DES3_ECB, 1, NULL, in, 8, out),
	    PCARD_E_KEY);
	assert_int_equal(pcard_keys_cipher(k, des, PCARD_CIPHER_AES_CBC, 1, NULL, in, 16, out),
	    PCARD_E_KEY);
	assert_int_equal(pcard_keys_cipher(k, aes, PCARD_CIPHER_AES_CBC, 1, NULL, in, 15, out),
	    PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_keys_cipher(k, des, PCARD_CIPHER_DES3_CBC, 1, NULL, in, 12, out),
	    PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_keys_cipher(k, des, (pcard_cipher_alg)42, 1, NULL, in, 8, out),
	    PCARD_E_UNSUPPORTED);
	/* AES ECB through the provider equals the raw primitive */
	{
		uint8_t key[16], ref[32];

		assert_int_equal(pcard_hex_decode_exact("000102030405060708090A0B0C0D0E0F", key, 16),
		    PCARD_OK);
		assert_int_equal(pcard_aes_cbc(1, key, 16, NULL, in, 32, ref), PCARD_OK);
		assert_int_equal(pcard_keys_cipher(k, aes, PCARD_CIPHER_AES_CBC, 1, NULL, in, 32,
		    out), PCARD_OK);
		assert_memory_equal(out, ref, 32);
		assert_int_equal(pcard_keys_cipher(k, aes, PCARD_CIPHER_AES_CBC, 0, NULL, out, 32,
		    out), PCARD_OK);
		assert_memory_equal(out, in, 32);
	}
	assert_int_equal(pcard_keys_mac(k, aes, PCARD_MAC_AES_CMAC, icv, in, 16, out, 16, &len),
	    PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_keys_mac(k, aes, PCARD_MAC_AES_CMAC, NULL, in, 16, out, 15, &len),
	    PCARD_E_NOSPACE);
	assert_int_equal(pcard_keys_mac(k, des, PCARD_MAC_AES_CMAC, NULL, in, 16, out, 16, &len),
	    PCARD_E_KEY);
	assert_int_equal(pcard_keys_mac(k, aes, PCARD_MAC_DES3_CBC, NULL, in, 16, out, 16, &len),
	    PCARD_E_KEY);
	assert_int_equal(pcard_keys_mac(k, aes, (pcard_mac_alg)9, NULL, in, 16, out, 16, &len),
	    PCARD_E_UNSUPPORTED);
	assert_int_equal(pcard_keys_sign(k, aes, PCARD_SIG_ECDSA, PCARD_HASH_SHA256, in, 16, out,
	    sizeof out, &len), PCARD_E_KEY);
	pcard_keys_free(k);
}

/* PUT KEY wrapping: AES-CBC ICV 0 (AES-192 padded with zeros to 32) and 3DES-ECB. */
static void
test_wrap(void **state)
{
	static const char *const aes_keys[] = {
		"00112233445566778899AABBCCDDEEFF",
		"00112233445566778899AABBCCDDEEFF0011223344556677",
		"00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF",
	};
	pcard_keys *k;
	pcard_keyh kek, dkek, h;
	uint8_t kekb[16], raw[32], ref[32], out[32];
	size_t i, n, len;

	(void)state;
	assert_int_equal(pcard_keys_mem_new(8, &k), PCARD_OK);
	assert_int_equal(pcard_hex_decode_exact("0A02A6D687406DCFA09DC70B3EDB7E38", kekb, 16),
	    PCARD_OK);
	kek = import(k, NULL, PCARD_KEY_AES, "0A02A6D687406DCFA09DC70B3EDB7E38");
	for (i = 0; i < 3; i++) {
		memset(raw, 0, sizeof raw);
		assert_int_equal(pcard_hex_decode(aes_keys[i], raw, sizeof raw, &n), PCARD_OK);
		h = import(k, NULL, PCARD_KEY_AES, aes_keys[i]);
		assert_int_equal(pcard_aes_cbc(1, kekb, 16, NULL, raw, n == 24 ? 32 : n, ref),
		    PCARD_OK);
		assert_int_equal(pcard_keys_wrap(k, kek, PCARD_CIPHER_AES_CBC, h, out, sizeof out,
		    &len), PCARD_OK);
		assert_int_equal(len, n == 24 ? 32 : n);
		assert_memory_equal(out, ref, len);
		assert_int_equal(pcard_keys_wrap(k, kek, PCARD_CIPHER_AES_CBC, h, out, len - 1,
		    &len), PCARD_E_NOSPACE);
		pcard_keys_release(k, h);
	}
	dkek = import(k, NULL, PCARD_KEY_DES3, "511DB767812597722109C867F9D7257A");
	h = import(k, NULL, PCARD_KEY_DES3, "404142434445464748494A4B4C4D4E4F");
	assert_int_equal(pcard_hex_decode_exact("511DB767812597722109C867F9D7257A", kekb, 16),
	    PCARD_OK);
	assert_int_equal(pcard_hex_decode_exact("404142434445464748494A4B4C4D4E4F", raw, 16),
	    PCARD_OK);
	assert_int_equal(pcard_des3_ecb(1, kekb, 16, raw, 16, ref), PCARD_OK);
	assert_int_equal(pcard_keys_wrap(k, dkek, PCARD_CIPHER_DES3_ECB, h, out, sizeof out, &len),
	    PCARD_OK);
	assert_int_equal(len, 16);
	assert_memory_equal(out, ref, 16);
	/* mixed types, unknown algorithms */
	assert_int_equal(pcard_keys_wrap(k, kek, PCARD_CIPHER_AES_CBC, h, out, sizeof out, &len),
	    PCARD_E_KEY);
	assert_int_equal(pcard_keys_wrap(k, dkek, PCARD_CIPHER_AES_CBC, h, out, sizeof out, &len),
	    PCARD_E_KEY);
	assert_int_equal(pcard_keys_wrap(k, kek, PCARD_CIPHER_AES_ECB, kek, out, sizeof out, &len),
	    PCARD_E_UNSUPPORTED);
	pcard_keys_free(k);
}

/* The wrappers on a provider without operations, and argument checks. */
static void
test_wrappers(void **state)
{
	static const pcard_keys_ops empty = { .name = "empty" };
	pcard_keys none = { &empty, NULL }, nul = { NULL, NULL }, *k;
	pcard_keyh h;
	pcard_keytype t;
	size_t len;
	uint8_t buf[16];

	(void)state;
	assert_int_equal(pcard_keys_find(&none, "x", &h), PCARD_E_UNSUPPORTED);
	assert_int_equal(pcard_keys_find(&nul, "x", &h), PCARD_E_UNSUPPORTED);
	assert_int_equal(pcard_keys_find(NULL, "x", &h), PCARD_E_UNSUPPORTED);
	assert_int_equal(pcard_keys_info(&none, 1, &t, &len), PCARD_E_UNSUPPORTED);
	assert_int_equal(pcard_keys_derive(&none, 1, PCARD_DERIVE_DES3_ECB, buf, 16, 0,
	    PCARD_KEY_DES3, 16, &h), PCARD_E_UNSUPPORTED);
	assert_int_equal(pcard_keys_kdf_data(&none, 1, buf, 16, 0, buf, 8), PCARD_E_UNSUPPORTED);
	assert_int_equal(pcard_keys_mac(&none, 1, PCARD_MAC_AES_CMAC, NULL, buf, 16, buf, 16, &len),
	    PCARD_E_UNSUPPORTED);
	assert_int_equal(pcard_keys_cipher(&none, 1, PCARD_CIPHER_AES_ECB, 1, NULL, buf, 16, buf),
	    PCARD_E_UNSUPPORTED);
	assert_int_equal(pcard_keys_wrap(&none, 1, PCARD_CIPHER_AES_CBC, 2, buf, 16, &len),
	    PCARD_E_UNSUPPORTED);
	assert_int_equal(pcard_keys_kcv(&none, 1, buf), PCARD_E_UNSUPPORTED);
	assert_int_equal(pcard_keys_sign(&none, 1, PCARD_SIG_ECDSA, PCARD_HASH_SHA256, buf, 16, buf,
	    16, &len), PCARD_E_UNSUPPORTED);
	pcard_keys_release(&none, 1);
	pcard_keys_free(&none);

	assert_int_equal(pcard_keys_mem_new(2, &k), PCARD_OK);
	assert_int_equal(pcard_keys_find(k, NULL, &h), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_keys_find(k, "x", NULL), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_keys_info(k, 1, NULL, &len), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_keys_derive(k, 1, PCARD_DERIVE_DES3_ECB, NULL, 16, 0,
	    PCARD_KEY_DES3, 16, &h), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_keys_derive(k, PCARD_KEYH_NONE, PCARD_DERIVE_DES3_ECB, buf, 16, 0,
	    PCARD_KEY_DES3, 16, &h), PCARD_E_KEY);
	assert_int_equal(pcard_keys_mac(k, 1, PCARD_MAC_AES_CMAC, NULL, buf, 16, NULL, 16, &len),
	    PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_keys_cipher(k, 1, PCARD_CIPHER_AES_ECB, 1, NULL, NULL, 16, buf),
	    PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_keys_wrap(k, 1, PCARD_CIPHER_AES_CBC, 2, buf, 16, NULL),
	    PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_keys_wrap(k, PCARD_KEYH_NONE, PCARD_CIPHER_AES_CBC, 2, buf, 16,
	    &len), PCARD_E_KEY);
	assert_int_equal(pcard_keys_kcv(k, 1, NULL), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_keys_sign(k, 1, PCARD_SIG_ECDSA, PCARD_HASH_SHA256, buf, 16, NULL,
	    16, &len), PCARD_E_INVALID_ARG);
	/* import into something that is not the memory provider */
	assert_int_equal(pcard_keys_mem_import(&none, NULL, PCARD_KEY_AES, buf, 16, &h),
	    PCARD_E_INVALID_ARG);
	pcard_keys_free(k);
}

/* An asymmetric key in the provider: sign through it, verify outside; no KCV, no wrap. */
static void
test_pkey_slot(void **state)
{
	pcard_keys *k;
	pcard_pkey *pk, *pub;
	pcard_keyh h, found;
	pcard_keytype t;
	uint8_t msg[5] = { 1, 2, 3, 4, 5 }, sig[64], pt[65], kcv[3];
	size_t len, ptl;

	(void)state;
	assert_int_equal(pcard_pkey_gen_ec("P-256", &pk), PCARD_OK);
	assert_int_equal(pcard_pkey_ec_point(pk, pt, sizeof pt, &ptl, NULL), PCARD_OK);
	assert_int_equal(pcard_pkey_ec_from_point("P-256", pt, ptl, &pub), PCARD_OK);
	assert_int_equal(pcard_keys_mem_new(2, &k), PCARD_OK);
	assert_int_equal(pcard_keys_mem_import_pkey(k, "token", pk, &h), PCARD_OK);
	assert_int_equal(pcard_keys_find(k, "token", &found), PCARD_OK);
	assert_int_equal(found, h);
	assert_int_equal(pcard_keys_info(k, h, &t, &len), PCARD_OK);
	assert_int_equal(t, PCARD_KEY_PKEY);
	assert_int_equal(len, 32);
	assert_int_equal(pcard_keys_sign(k, h, PCARD_SIG_ECDSA, PCARD_HASH_SHA256, msg, 5, sig,
	    sizeof sig, &len), PCARD_OK);
	assert_int_equal(len, 64);
	assert_int_equal(pcard_verify(pub, PCARD_SIG_ECDSA, PCARD_HASH_SHA256, msg, 5, sig, len),
	    PCARD_OK);
	assert_int_equal(pcard_keys_kcv(k, h, kcv), PCARD_E_KEY);
	assert_int_equal(pcard_keys_wrap(k, h, PCARD_CIPHER_AES_CBC, h, sig, sizeof sig, &len),
	    PCARD_E_KEY);
	assert_int_equal(pcard_keys_cipher(k, h, PCARD_CIPHER_AES_ECB, 1, NULL, sig, 16, sig),
	    PCARD_E_KEY);
	pcard_keys_release(k, h);	/* frees pk */
	assert_int_equal(pcard_keys_sign(k, h, PCARD_SIG_ECDSA, PCARD_HASH_SHA256, msg, 5, sig,
	    sizeof sig, &len), PCARD_E_KEY);
	/* the provider frees a key still held at pcard_keys_free */
	assert_int_equal(pcard_pkey_gen_ec("P-256", &pk), PCARD_OK);
	assert_int_equal(pcard_keys_mem_import_pkey(k, NULL, pk, &h), PCARD_OK);
	pcard_keys_free(k);
	pcard_pkey_free(pub);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scp02_session_keys),
		cmocka_unit_test(test_scp03_session_keys),
		cmocka_unit_test(test_find_info_release),
		cmocka_unit_test(test_import_errors),
		cmocka_unit_test(test_derive_errors),
		cmocka_unit_test(test_cipher_mac_errors),
		cmocka_unit_test(test_wrap),
		cmocka_unit_test(test_wrappers),
		cmocka_unit_test(test_pkey_slot),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
