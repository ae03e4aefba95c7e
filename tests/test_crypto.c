/* test_crypto.c: symmetric primitives, padding, KCVs, digests and the asymmetric keys. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "postcard/bytes.h"
#include "postcard/crypto.h"
#include "testvec.h"

static void
hex(const char *s, uint8_t *out, size_t n)
{
	assert_int_equal(pcard_hex_decode_exact(s, out, n), PCARD_OK);
}

/* RFC 4493 section 4: every case of aes_cmac.txt. */
static void
test_cmac_vectors(void **state)
{
	tv_file *f = tv_load("vectors/aes_cmac.txt");
	size_t i;

	(void)state;
	assert_int_equal(f->ncases, 4);
	for (i = 0; i < f->ncases; i++) {
		const tv_case *c = &f->cases[i];
		uint8_t k[32], m[128], t[16], out[16];
		size_t kl = tv_hex(c, "K", k, sizeof k);
		size_t ml = tv_hex(c, "M", m, sizeof m);

		assert_int_equal(tv_hex(c, "T", t, sizeof t), 16);
		assert_int_equal(pcard_aes_cmac(k, kl, ml ? m : NULL, ml, out), PCARD_OK);
		assert_memory_equal(out, t, 16);
		/* the second call on the same thread reuses the context: same answer */
		assert_int_equal(pcard_aes_cmac(k, kl, m, ml, out), PCARD_OK);
		assert_memory_equal(out, t, 16);
	}
	tv_free(f);
}

/* NIST SP 800-108 counter mode, counter before the fixed data, 8- and 32-bit counters. */
static void
test_kdf_vectors(void **state)
{
	tv_file *f = tv_load("vectors/kdf_sp800_108_cmac.txt");
	size_t i, seen8 = 0, seen32 = 0;

	(void)state;
	for (i = 0; i < f->ncases; i++) {
		const tv_case *c = &f->cases[i];
		uint8_t rlen, ki[32], fixed[128], ko[64], out[64];
		size_t kil, fl, kol;

		assert_int_equal(tv_hex(c, "RLEN", &rlen, 1), 1);
		kil = tv_hex(c, "KI", ki, sizeof ki);
		fl = tv_hex(c, "FixedInputData", fixed, sizeof fixed);
		kol = tv_hex(c, "KO", ko, sizeof ko);
		assert_int_equal(pcard_kdf_ctr_cmac(ki, kil, rlen / 8, fixed, fl, out, kol), PCARD_OK);
		assert_memory_equal(out, ko, kol);
		seen8 += rlen == 8;
		seen32 += rlen == 32;
	}
	assert_int_equal(seen8, 1);
	assert_int_equal(seen32, 1);
	tv_free(f);
}

static void
test_kdf_errors(void **state)
{
	static uint8_t big[256 * 16];
	uint8_t k[16] = { 0 }, out[32];

	(void)state;
	assert_int_equal(pcard_kdf_ctr_cmac(k, 16, 0, NULL, 0, out, 16), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_kdf_ctr_cmac(k, 16, 5, NULL, 0, out, 16), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_kdf_ctr_cmac(k, 15, 1, NULL, 0, out, 16), PCARD_E_KEY);
	/* an 8-bit counter covers 255 blocks, not 256 */
	assert_int_equal(pcard_kdf_ctr_cmac(k, 16, 1, NULL, 0, big, 256 * 16), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_kdf_ctr_cmac(k, 16, 1, NULL, 0, big, 255 * 16), PCARD_OK);
	/* two blocks: the second is CMAC(02 || fixed) */
	{
		uint8_t in[2] = { 0x02, 0xAB }, blk[16];

		assert_int_equal(pcard_kdf_ctr_cmac(k, 16, 1, in + 1, 1, out, 32), PCARD_OK);
		assert_int_equal(pcard_aes_cmac(k, 16, in, 2, blk), PCARD_OK);
		assert_memory_equal(out + 16, blk, 16);
	}
}

/* FIPS-197 appendix C, and CBC built from ECB by hand. */
static void
test_aes(void **state)
{
	uint8_t k[32], pt[16], ct[16], out[48], iv[16], buf[48], ref[48];
	size_t i, j;

	(void)state;
	hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", k, 32);
	hex("00112233445566778899aabbccddeeff", pt, 16);
	hex("69c4e0d86a7b0430d8cdb78070b4c55a", ct, 16);
	assert_int_equal(pcard_aes_ecb(1, k, 16, pt, 16, out), PCARD_OK);
	assert_memory_equal(out, ct, 16);
	assert_int_equal(pcard_aes_ecb(0, k, 16, out, 16, out), PCARD_OK);	/* in place */
	assert_memory_equal(out, pt, 16);
	hex("dda97ca4864cdfe06eaf70a0ec0d7191", ct, 16);
	assert_int_equal(pcard_aes_ecb(1, k, 24, pt, 16, out), PCARD_OK);
	assert_memory_equal(out, ct, 16);
	hex("8ea2b7ca516745bfeafc49904b496089", ct, 16);
	assert_int_equal(pcard_aes_ecb(1, k, 32, pt, 16, out), PCARD_OK);
	assert_memory_equal(out, ct, 16);

	for (i = 0; i < sizeof buf; i++)
		buf[i] = (uint8_t)(i * 7 + 3);
	for (i = 0; i < 16; i++)
		iv[i] = (uint8_t)(0xA0 + i);
	/* CBC by hand: c_i = E(p_i ^ c_{i-1}), c_0 = iv */
	for (i = 0; i < 3; i++) {
		uint8_t x[16];

		for (j = 0; j < 16; j++)
			x[j] = buf[16 * i + j] ^ (i == 0 ? iv[j] : ref[16 * (i - 1) + j]);
		assert_int_equal(pcard_aes_ecb(1, k, 32, x, 16, ref + 16 * i), PCARD_OK);
	}
	assert_int_equal(pcard_aes_cbc(1, k, 32, iv, buf, 48, out), PCARD_OK);
	assert_memory_equal(out, ref, 48);
	assert_int_equal(pcard_aes_cbc(0, k, 32, iv, out, 48, out), PCARD_OK);
	assert_memory_equal(out, buf, 48);
	/* NULL iv is zero */
	memset(iv, 0, 16);
	assert_int_equal(pcard_aes_cbc(1, k, 16, iv, buf, 32, ref), PCARD_OK);
	assert_int_equal(pcard_aes_cbc(1, k, 16, NULL, buf, 32, out), PCARD_OK);
	assert_memory_equal(out, ref, 32);

	/* errors */
	assert_int_equal(pcard_aes_ecb(1, k, 15, buf, 16, out), PCARD_E_KEY);
	assert_int_equal(pcard_aes_cbc(1, k, 8, NULL, buf, 16, out), PCARD_E_KEY);
	assert_int_equal(pcard_aes_ecb(1, k, 16, buf, 15, out), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_aes_cbc(1, k, 16, NULL, buf, 17, out), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_aes_ecb(1, NULL, 16, buf, 16, out), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_aes_cmac(k, 20, buf, 16, out), PCARD_E_KEY);
	assert_int_equal(pcard_aes_cmac(k, 16, NULL, 16, out), PCARD_E_INVALID_ARG);
	/* zero length is fine */
	assert_int_equal(pcard_aes_ecb(1, k, 16, NULL, 0, NULL), PCARD_OK);
}

/* The DES worked example (key 133457799BBCDFF1), 3DES with K1=K2=K3, and 3DES CBC by hand. */
static void
test_des(void **state)
{
	uint8_t k[24], pt[8], ct[8], out[24], buf[24], ref[24];
	size_t i, j;

	(void)state;
	hex("133457799BBCDFF1133457799BBCDFF1133457799BBCDFF1", k, 24);
	hex("0123456789ABCDEF", pt, 8);
	hex("85E813540F0AB405", ct, 8);
	assert_int_equal(pcard_des_ecb(1, k, pt, 8, out), PCARD_OK);
	assert_memory_equal(out, ct, 8);
	assert_int_equal(pcard_des_ecb(0, k, out, 8, out), PCARD_OK);
	assert_memory_equal(out, pt, 8);
	assert_int_equal(pcard_des3_ecb(1, k, 24, pt, 8, out), PCARD_OK);
	assert_memory_equal(out, ct, 8);
	assert_int_equal(pcard_des3_ecb(1, k, 16, pt, 8, out), PCARD_OK);
	assert_memory_equal(out, ct, 8);

	/* two-key 3DES = E_K1(D_K2(E_K1(x))) built from single DES */
	hex("0123456789ABCDEFFEDCBA9876543210", k, 16);
	assert_int_equal(pcard_des_ecb(1, k, pt, 8, ref), PCARD_OK);
	assert_int_equal(pcard_des_ecb(0, k + 8, ref, 8, ref), PCARD_OK);
	assert_int_equal(pcard_des_ecb(1, k, ref, 8, ref), PCARD_OK);
	assert_int_equal(pcard_des3_ecb(1, k, 16, pt, 8, out), PCARD_OK);
	assert_memory_equal(out, ref, 8);

	for (i = 0; i < sizeof buf; i++)
		buf[i] = (uint8_t)(i * 13 + 1);
	for (i = 0; i < 3; i++) {
		uint8_t x[8];

		for (j = 0; j < 8; j++)
			x[j] = buf[8 * i + j] ^ (i == 0 ? 0x5A : ref[8 * (i - 1) + j]);
		assert_int_equal(pcard_des3_ecb(1, k, 16, x, 8, ref + 8 * i), PCARD_OK);
	}
	memset(pt, 0x5A, 8);
	assert_int_equal(pcard_des3_cbc(1, k, 16, pt, buf, 24, out), PCARD_OK);
	assert_memory_equal(out, ref, 24);
	assert_int_equal(pcard_des3_cbc(0, k, 16, pt, out, 24, out), PCARD_OK);
	assert_memory_equal(out, buf, 24);

	assert_int_equal(pcard_des3_ecb(1, k, 8, buf, 8, out), PCARD_E_KEY);
	assert_int_equal(pcard_des3_cbc(1, k, 32, NULL, buf, 8, out), PCARD_E_KEY);
	assert_int_equal(pcard_des3_ecb(1, k, 16, buf, 12, out), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_des3_cbc(1, k, 16, NULL, buf, 7, out), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_des_ecb(1, k, buf, 9, out), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_des_ecb(1, NULL, buf, 8, out), PCARD_E_INVALID_ARG);
}

/* Retail MAC built by hand from single DES and 3DES, for lengths around the block size. */
static void
retail_by_hand(const uint8_t key[16], const uint8_t *icv, const uint8_t *msg, size_t n,
    uint8_t out[8])
{
	uint8_t padded[64], h[8];
	size_t len, i, j;

	assert_int_equal(pcard_pad_iso(msg, n, 8, padded, sizeof padded, &len), PCARD_OK);
	memcpy(h, icv, 8);
	for (i = 0; i < len; i += 8) {
		for (j = 0; j < 8; j++)
			h[j] ^= padded[i + j];
		if (i + 8 < len)
			assert_int_equal(pcard_des_ecb(1, key, h, 8, h), PCARD_OK);
		else
			assert_int_equal(pcard_des3_ecb(1, key, 16, h, 8, h), PCARD_OK);
	}
	memcpy(out, h, 8);
}

static void
test_retail_mac(void **state)
{
	uint8_t key[16], icv[8], msg[40], a[8], b[8], zero[8] = { 0 };
	size_t n;

	(void)state;
	hex("29A69328E60494982632039DDD47A2F1", key, 16);
	hex("0011223344556677", icv, 8);
	for (n = 0; n < sizeof msg; n++)
		msg[n] = (uint8_t)(0xF0 - n);
	for (n = 0; n <= sizeof msg; n++) {
		retail_by_hand(key, icv, msg, n, a);
		assert_int_equal(pcard_des_retail_mac(key, icv, msg, n, b), PCARD_OK);
		assert_memory_equal(a, b, 8);
		retail_by_hand(key, zero, msg, n, a);
		assert_int_equal(pcard_des_retail_mac(key, NULL, msg, n, b), PCARD_OK);
		assert_memory_equal(a, b, 8);
	}
	assert_int_equal(pcard_des_retail_mac(NULL, NULL, msg, 8, b), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_des_retail_mac(key, NULL, NULL, 8, b), PCARD_E_INVALID_ARG);
}

/*
 * SCP02 vector (pysim): session keys by 3DES-CBC, host cryptogram by the full 3DES MAC, and
 * the C-MAC of EXTERNAL AUTHENTICATE by the retail MAC.
 */
static void
test_scp02_primitives(void **state)
{
	tv_file *f = tv_load("vectors/scp02.txt");
	const tv_case *c = tv_find(f, "pysim-scp02-c-mac");
	uint8_t kenc[16], kmac[16], resp[28], host[8], senc[16], smac[16], hc[8], ext[21];
	uint8_t d[16], out[16], msg[16];

	(void)state;
	tv_hex(c, "KeyENC", kenc, 16);
	tv_hex(c, "KeyMAC", kmac, 16);
	assert_int_equal(tv_hex(c, "InitUpdateResp", resp, sizeof resp), 28);
	tv_hex(c, "HostChallenge", host, 8);
	tv_hex(c, "SEnc", senc, 16);
	tv_hex(c, "SMac", smac, 16);
	tv_hex(c, "HostCryptogram", hc, 8);
	assert_int_equal(tv_hex(c, "ExtAuthCmd", ext, sizeof ext), 21);

	memset(d, 0, 16);
	d[0] = 0x01;
	d[1] = 0x82;
	memcpy(d + 2, resp + 12, 2);
	assert_int_equal(pcard_des3_cbc(1, kenc, 16, NULL, d, 16, out), PCARD_OK);
	assert_memory_equal(out, senc, 16);
	d[1] = 0x01;
	assert_int_equal(pcard_des3_cbc(1, kmac, 16, NULL, d, 16, out), PCARD_OK);
	assert_memory_equal(out, smac, 16);

	/* host cryptogram over seq(2) || card challenge(6) || host challenge(8) */
	memcpy(msg, resp + 12, 8);
	memcpy(msg + 8, host, 8);
	assert_int_equal(pcard_des3_cbc_mac(senc, 16, NULL, msg, 16, out), PCARD_OK);
	assert_memory_equal(out, hc, 8);

	/* C-MAC of EXTERNAL AUTHENTICATE: over its first 13 bytes, ICV zero */
	assert_int_equal(pcard_des_retail_mac(smac, NULL, ext, 13, out), PCARD_OK);
	assert_memory_equal(out, ext + 13, 8);
	assert_int_equal(pcard_des3_cbc_mac(senc, 15, NULL, msg, 16, out), PCARD_E_KEY);
	tv_free(f);
}

static void
test_padding(void **state)
{
	uint8_t in[32], out[48];
	size_t len, i;

	(void)state;
	for (i = 0; i < sizeof in; i++)
		in[i] = (uint8_t)(i + 1);
	/* empty input: one whole block of padding */
	assert_int_equal(pcard_pad_iso(NULL, 0, 16, out, sizeof out, &len), PCARD_OK);
	assert_int_equal(len, 16);
	assert_int_equal(out[0], 0x80);
	for (i = 1; i < 16; i++)
		assert_int_equal(out[i], 0);
	assert_int_equal(pcard_unpad_iso(out, len, &len), PCARD_OK);
	assert_int_equal(len, 0);
	/* block-aligned input gets a whole extra block */
	assert_int_equal(pcard_pad_iso(in, 16, 16, out, sizeof out, &len), PCARD_OK);
	assert_int_equal(len, 32);
	assert_memory_equal(out, in, 16);
	assert_int_equal(out[16], 0x80);
	assert_int_equal(pcard_unpad_iso(out, len, &len), PCARD_OK);
	assert_int_equal(len, 16);
	/* 7 bytes in 8-byte blocks: one byte of padding */
	assert_int_equal(pcard_pad_iso(in, 7, 8, out, 8, &len), PCARD_OK);
	assert_int_equal(len, 8);
	assert_int_equal(out[7], 0x80);
	assert_int_equal(pcard_unpad_iso(out, len, &len), PCARD_OK);
	assert_int_equal(len, 7);
	/* in place */
	memcpy(out, in, 5);
	assert_int_equal(pcard_pad_iso(out, 5, 8, out, sizeof out, &len), PCARD_OK);
	assert_memory_equal(out, in, 5);
	assert_int_equal(out[5], 0x80);
	assert_int_equal(pcard_pad_iso(in, 8, 8, out, 15, &len), PCARD_E_NOSPACE);
	assert_int_equal(pcard_pad_iso(in, 8, 0, out, 15, &len), PCARD_E_INVALID_ARG);

	/* bad padding */
	assert_int_equal(pcard_unpad_iso(NULL, 0, &len), PCARD_E_PADDING);
	memset(out, 0, 16);
	assert_int_equal(pcard_unpad_iso(out, 16, &len), PCARD_E_PADDING);	/* no marker */
	out[10] = 0x81;
	assert_int_equal(pcard_unpad_iso(out, 16, &len), PCARD_E_PADDING);	/* wrong marker */
	out[10] = 0x80;
	out[15] = 0x01;
	assert_int_equal(pcard_unpad_iso(out, 16, &len), PCARD_E_PADDING);	/* data after it */
	out[15] = 0x80;
	assert_int_equal(pcard_unpad_iso(out, 16, &len), PCARD_OK);		/* last 80 wins */
	assert_int_equal(len, 15);
	out[0] = 0x80;
	memset(out + 1, 0, 15);
	assert_int_equal(pcard_unpad_iso(out, 16, &len), PCARD_OK);
	assert_int_equal(len, 0);
	assert_int_equal(pcard_unpad_iso(out, 16, NULL), PCARD_E_INVALID_ARG);
}

/* KCVs: 3DES of the GP test key 40..4F is 8BAF47; AES is AES(key, 01 x 16). */
static void
test_kcv(void **state)
{
	uint8_t k[32], kcv[3], want[3], blk[16];

	(void)state;
	hex("404142434445464748494A4B4C4D4E4F", k, 16);
	hex("8BAF47", want, 3);
	assert_int_equal(pcard_kcv_des3(k, 16, kcv), PCARD_OK);
	assert_memory_equal(kcv, want, 3);
	memset(blk, 0x01, 16);
	assert_int_equal(pcard_aes_ecb(1, k, 16, blk, 16, blk), PCARD_OK);
	assert_int_equal(pcard_kcv_aes(k, 16, kcv), PCARD_OK);
	assert_memory_equal(kcv, blk, 3);
	assert_int_equal(pcard_kcv_aes(k, 17, kcv), PCARD_E_KEY);
	assert_int_equal(pcard_kcv_des3(k, 32, kcv), PCARD_E_KEY);
	assert_int_equal(pcard_kcv_des3(k, 16, NULL), PCARD_E_INVALID_ARG);
}

static void
test_digest(void **state)
{
	uint8_t out[64], want[64];
	size_t len;
	pcard_hash h;

	(void)state;
	assert_int_equal(pcard_digest(PCARD_HASH_SHA256, (const uint8_t *)"abc", 3, out, sizeof out,
	    &len), PCARD_OK);
	assert_int_equal(len, 32);
	hex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", want, 32);
	assert_memory_equal(out, want, 32);
	assert_int_equal(pcard_digest(PCARD_HASH_SHA1, (const uint8_t *)"abc", 3, out, 20, &len),
	    PCARD_OK);
	hex("a9993e364706816aba3e25717850c26c9cd0d89d", want, 20);
	assert_memory_equal(out, want, 20);
	assert_int_equal(pcard_digest(PCARD_HASH_SHA512, NULL, 0, out, sizeof out, &len), PCARD_OK);
	assert_int_equal(len, 64);
	hex("cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
	    "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e", want, 64);
	assert_memory_equal(out, want, 64);
	assert_int_equal(pcard_digest(PCARD_HASH_SHA384, NULL, 0, out, 47, &len), PCARD_E_NOSPACE);
	assert_int_equal(pcard_digest(PCARD_HASH_NONE, NULL, 0, out, 64, &len), PCARD_E_UNSUPPORTED);

	assert_int_equal(pcard_hash_len(PCARD_HASH_SHA384), 48);
	assert_int_equal(pcard_hash_len(PCARD_HASH_NONE), 0);
	assert_string_equal(pcard_hash_name(PCARD_HASH_SHA256), "sha256");
	assert_null(pcard_hash_name(PCARD_HASH_NONE));
	assert_int_equal(pcard_hash_from_name("SHA-384", &h), PCARD_OK);
	assert_int_equal(h, PCARD_HASH_SHA384);
	assert_int_equal(pcard_hash_from_name("sha1", &h), PCARD_OK);
	assert_int_equal(h, PCARD_HASH_SHA1);
	assert_int_equal(pcard_hash_from_name("md5", &h), PCARD_E_UNSUPPORTED);
	assert_int_equal(pcard_hash_from_name(NULL, &h), PCARD_E_INVALID_ARG);
}

static void
test_misc(void **state)
{
	uint8_t a[32], b[32];

	(void)state;
	assert_int_equal(pcard_crypto_init(), PCARD_OK);
	assert_int_equal(pcard_random(a, sizeof a), PCARD_OK);
	assert_int_equal(pcard_random(b, sizeof b), PCARD_OK);
	assert_false(pcard_ct_eq(a, b, sizeof a));
	memcpy(b, a, sizeof a);
	assert_true(pcard_ct_eq(a, b, sizeof a));
	b[31] ^= 1;
	assert_false(pcard_ct_eq(a, b, sizeof a));
	assert_true(pcard_ct_eq(a, b, 0));
	pcard_wipe(a, sizeof a);
	memset(b, 0, sizeof b);
	assert_memory_equal(a, b, sizeof a);
	pcard_wipe(NULL, 5);
	assert_int_equal(pcard_random(NULL, 1), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_random(NULL, 0), PCARD_OK);
}

/* Per-thread contexts: several threads computing CMACs at once agree with the vector. */
static void *
cmac_thread(void *arg)
{
	static const uint8_t k[16] = { 0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6, 0xab, 0xf7,
		0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c };
	static const uint8_t t[16] = { 0xbb, 0x1d, 0x69, 0x29, 0xe9, 0x59, 0x37, 0x28, 0x7f, 0xa3,
		0x7d, 0x12, 0x9b, 0x75, 0x67, 0x46 };
	uint8_t out[16];
	int i, *ok = arg;

	*ok = 1;
	for (i = 0; i < 200; i++)
		if (pcard_aes_cmac(k, 16, NULL, 0, out) != PCARD_OK || memcmp(out, t, 16) != 0)
			*ok = 0;
	return NULL;
}

static void
test_threads(void **state)
{
	pthread_t th[4];
	int ok[4], i;

	(void)state;
	for (i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&th[i], NULL, cmac_thread, &ok[i]), 0);
	for (i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_true(ok[i]);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cmac_vectors),
		cmocka_unit_test(test_kdf_vectors),
		cmocka_unit_test(test_kdf_errors),
		cmocka_unit_test(test_aes),
		cmocka_unit_test(test_des),
		cmocka_unit_test(test_retail_mac),
		cmocka_unit_test(test_scp02_primitives),
		cmocka_unit_test(test_padding),
		cmocka_unit_test(test_kcv),
		cmocka_unit_test(test_digest),
		cmocka_unit_test(test_misc),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
