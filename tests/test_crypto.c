/* test_crypto.c: symmetric primitives, padding, KCVs, digests and the asymmetric keys. */
#include <pthread.h>
#include <stdio.h>
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
	static uint8_t padded[1024];
	uint8_t h[8];
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
	static const size_t lens[] = { 0, 1, 7, 8, 9, 15, 16, 17, 40, 255, 256, 257, 263, 264,
		511, 512, 600 };
	static uint8_t msg[600], padded[608], cbc[608];
	uint8_t key[16], icv[8], a[8], b[8], zero[8] = { 0 };
	size_t i, n, pl;

	(void)state;
	hex("29A69328E60494982632039DDD47A2F1", key, 16);
	hex("0011223344556677", icv, 8);
	for (n = 0; n < sizeof msg; n++)
		msg[n] = (uint8_t)(0xF0 - n);
	for (i = 0; i < sizeof lens / sizeof lens[0]; i++) {
		n = lens[i];
		retail_by_hand(key, icv, msg, n, a);
		assert_int_equal(pcard_des_retail_mac(key, icv, msg, n, b), PCARD_OK);
		assert_memory_equal(a, b, 8);
		retail_by_hand(key, zero, msg, n, a);
		assert_int_equal(pcard_des_retail_mac(key, NULL, msg, n, b), PCARD_OK);
		assert_memory_equal(a, b, 8);
		/* full 3DES MAC = last block of 3DES-CBC over the padded message */
		assert_int_equal(pcard_pad_iso(msg, n, 8, padded, sizeof padded, &pl), PCARD_OK);
		assert_int_equal(pcard_des3_cbc(1, key, 16, icv, padded, pl, cbc), PCARD_OK);
		assert_int_equal(pcard_des3_cbc_mac(key, 16, icv, msg, n, b), PCARD_OK);
		assert_memory_equal(cbc + pl - 8, b, 8);
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

/* ---- asymmetric keys ---- */

static pcard_pkey *g_rsa, *g_ec;

static int
pkey_setup(void **state)
{
	(void)state;
	if (pcard_pkey_gen_rsa(2048, &g_rsa) != PCARD_OK || pcard_pkey_gen_ec("P-256", &g_ec) != PCARD_OK)
		return -1;
	return 0;
}

static int
pkey_teardown(void **state)
{
	(void)state;
	pcard_pkey_free(g_rsa);
	pcard_pkey_free(g_ec);
	return 0;
}

static void
sign_verify_tamper(const pcard_pkey *priv, const pcard_pkey *pub, pcard_sig_scheme s,
    pcard_hash h, size_t want_len)
{
	uint8_t msg[100], sig[600];
	size_t len, i;

	for (i = 0; i < sizeof msg; i++)
		msg[i] = (uint8_t)i;
	assert_int_equal(pcard_sign(priv, s, h, msg, sizeof msg, sig, sizeof sig, &len), PCARD_OK);
	if (want_len != 0)
		assert_int_equal(len, want_len);
	assert_int_equal(pcard_verify(pub, s, h, msg, sizeof msg, sig, len), PCARD_OK);
	assert_int_equal(pcard_verify(priv, s, h, msg, sizeof msg, sig, len), PCARD_OK);
	msg[3] ^= 0x01;
	assert_int_equal(pcard_verify(pub, s, h, msg, sizeof msg, sig, len), PCARD_E_VERIFY);
	msg[3] ^= 0x01;
	sig[len - 1] ^= 0x40;
	assert_int_equal(pcard_verify(pub, s, h, msg, sizeof msg, sig, len), PCARD_E_VERIFY);
	sig[len - 1] ^= 0x40;
	assert_int_equal(pcard_verify(pub, s, h, msg, sizeof msg, sig, len - 1), PCARD_E_VERIFY);
	/* another hash does not verify */
	assert_int_equal(pcard_verify(pub, s, h == PCARD_HASH_SHA256 ? PCARD_HASH_SHA384 :
	    PCARD_HASH_SHA256, msg, sizeof msg, sig, len), PCARD_E_VERIFY);
	assert_int_equal(pcard_sign(priv, s, h, msg, sizeof msg, sig, len - 1, &len),
	    PCARD_E_NOSPACE);
}

static void
test_rsa_sign(void **state)
{
	uint8_t msg[4] = { 1, 2, 3, 4 }, sig[256];
	size_t len;

	(void)state;
	assert_true(pcard_pkey_is_rsa(g_rsa));
	assert_false(pcard_pkey_is_ec(g_rsa));
	assert_int_equal(pcard_pkey_bits(g_rsa), 2048);
	sign_verify_tamper(g_rsa, g_rsa, PCARD_SIG_RSA_PKCS1, PCARD_HASH_SHA256, 256);
	sign_verify_tamper(g_rsa, g_rsa, PCARD_SIG_RSA_PKCS1, PCARD_HASH_SHA1, 256);
	sign_verify_tamper(g_rsa, g_rsa, PCARD_SIG_RSA_PSS, PCARD_HASH_SHA256, 256);
	sign_verify_tamper(g_rsa, g_rsa, PCARD_SIG_RSA_PSS, PCARD_HASH_SHA512, 256);
	/* a PSS signature is not a PKCS#1 v1.5 one */
	assert_int_equal(pcard_sign(g_rsa, PCARD_SIG_RSA_PSS, PCARD_HASH_SHA256, msg, 4, sig,
	    sizeof sig, &len), PCARD_OK);
	assert_int_equal(pcard_verify(g_rsa, PCARD_SIG_RSA_PKCS1, PCARD_HASH_SHA256, msg, 4, sig,
	    len), PCARD_E_VERIFY);
	/* wrong key kind, no hash, unknown scheme */
	assert_int_equal(pcard_sign(g_rsa, PCARD_SIG_ECDSA, PCARD_HASH_SHA256, msg, 4, sig,
	    sizeof sig, &len), PCARD_E_KEY);
	assert_int_equal(pcard_sign(g_rsa, PCARD_SIG_RSA_PSS, PCARD_HASH_NONE, msg, 4, sig,
	    sizeof sig, &len), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_verify(g_rsa, (pcard_sig_scheme)7, PCARD_HASH_SHA256, msg, 4, sig,
	    len), PCARD_E_UNSUPPORTED);
}

static void
test_ecdsa_sign(void **state)
{
	pcard_pkey *p384;
	uint8_t msg[4] = { 1, 2, 3, 4 }, sig[132];
	size_t len;

	(void)state;
	assert_true(pcard_pkey_is_ec(g_ec));
	assert_int_equal(pcard_pkey_bits(g_ec), 256);
	sign_verify_tamper(g_ec, g_ec, PCARD_SIG_ECDSA, PCARD_HASH_SHA256, 64);
	assert_int_equal(pcard_pkey_gen_ec("P-384", &p384), PCARD_OK);
	sign_verify_tamper(p384, p384, PCARD_SIG_ECDSA, PCARD_HASH_SHA384, 96);
	pcard_pkey_free(p384);
	assert_int_equal(pcard_pkey_gen_ec("P-521", &p384), PCARD_OK);
	sign_verify_tamper(p384, p384, PCARD_SIG_ECDSA, PCARD_HASH_SHA512, 132);
	pcard_pkey_free(p384);
	assert_int_equal(pcard_sign(g_ec, PCARD_SIG_RSA_PKCS1, PCARD_HASH_SHA256, msg, 4, sig,
	    sizeof sig, &len), PCARD_E_KEY);
	/* r = 0 or s = 0 never verifies */
	memset(sig, 0, 64);
	assert_int_equal(pcard_verify(g_ec, PCARD_SIG_ECDSA, PCARD_HASH_SHA256, msg, 4, sig, 64),
	    PCARD_E_VERIFY);
	assert_int_equal(pcard_pkey_gen_ec("P-192", &p384), PCARD_E_UNSUPPORTED);
	assert_null(p384);
	assert_int_equal(pcard_pkey_gen_rsa(512, &p384), PCARD_E_INVALID_ARG);
}

/* RFC 6979 A.2.5: P-256, SHA-256, message "sample", deterministic signature. */
static void
test_ecdsa_known_answer(void **state)
{
	uint8_t pt[65], sig[64];
	pcard_pkey *pub;

	(void)state;
	pt[0] = 0x04;
	hex("60FED4BA255A9D31C961EB74C6356D68C049B8923B61FA6CE669622E60F29FB6"
	    "7903FE1008B8BC99A41AE9E95628BC64F2F1B20C2D7E9F5177A3C294D4462299", pt + 1, 64);
	hex("EFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716"
	    "F7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8", sig, 64);
	assert_int_equal(pcard_pkey_ec_from_point("P-256", pt, 65, &pub), PCARD_OK);
	assert_int_equal(pcard_verify(pub, PCARD_SIG_ECDSA, PCARD_HASH_SHA256,
	    (const uint8_t *)"sample", 6, sig, 64), PCARD_OK);
	assert_int_equal(pcard_verify(pub, PCARD_SIG_ECDSA, PCARD_HASH_SHA256,
	    (const uint8_t *)"sampl3", 6, sig, 64), PCARD_E_VERIFY);
	/* a public key cannot sign */
	assert_int_equal(pcard_sign(pub, PCARD_SIG_ECDSA, PCARD_HASH_SHA256, sig, 4, sig, 64,
	    &(size_t){ 0 }), PCARD_E_KEY);
	pcard_pkey_free(pub);
}

static void
test_oaep(void **state)
{
	uint8_t in[190], ct[256], pt[256];
	size_t len, ptl, i;

	(void)state;
	for (i = 0; i < sizeof in; i++)
		in[i] = (uint8_t)(i ^ 0x5C);
	assert_int_equal(pcard_rsa_oaep_encrypt(g_rsa, PCARD_HASH_SHA1, in, 16, ct, sizeof ct,
	    &len), PCARD_OK);
	assert_int_equal(len, 256);
	assert_int_equal(pcard_rsa_oaep_decrypt(g_rsa, PCARD_HASH_SHA1, ct, len, pt, sizeof pt,
	    &ptl), PCARD_OK);
	assert_int_equal(ptl, 16);
	assert_memory_equal(pt, in, 16);
	/* wrong hash, tampered ciphertext */
	assert_int_equal(pcard_rsa_oaep_decrypt(g_rsa, PCARD_HASH_SHA256, ct, len, pt, sizeof pt,
	    &ptl), PCARD_E_CRYPTO);
	ct[100] ^= 1;
	assert_int_equal(pcard_rsa_oaep_decrypt(g_rsa, PCARD_HASH_SHA1, ct, len, pt, sizeof pt,
	    &ptl), PCARD_E_CRYPTO);
	/* SHA-256 carries at most 256 - 66 = 190 bytes */
	assert_int_equal(pcard_rsa_oaep_encrypt(g_rsa, PCARD_HASH_SHA256, in, 190, ct, sizeof ct,
	    &len), PCARD_OK);
	assert_int_equal(pcard_rsa_oaep_decrypt(g_rsa, PCARD_HASH_SHA256, ct, len, pt, 189, &ptl),
	    PCARD_E_NOSPACE);
	assert_int_equal(pcard_rsa_oaep_decrypt(g_rsa, PCARD_HASH_SHA256, ct, len, pt, sizeof pt,
	    &ptl), PCARD_OK);
	assert_int_equal(ptl, 190);
	assert_memory_equal(pt, in, 190);
	assert_int_equal(pcard_rsa_oaep_encrypt(g_rsa, PCARD_HASH_SHA256, in, 191, ct, sizeof ct,
	    &len), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_rsa_oaep_encrypt(g_rsa, PCARD_HASH_SHA1, in, 16, ct, 255, &len),
	    PCARD_E_NOSPACE);
	assert_int_equal(pcard_rsa_oaep_encrypt(g_ec, PCARD_HASH_SHA1, in, 16, ct, sizeof ct,
	    &len), PCARD_E_KEY);
}

/* Public parts out and back in: the rebuilt public key verifies the private key's signature. */
static void
test_parts(void **state)
{
	uint8_t n[600], e[8], pt[200], msg[3] = { 9, 8, 7 }, sig[256];
	size_t nl, el, ptl, sl;
	const char *curve = NULL;
	pcard_pkey *pub;

	(void)state;
	assert_int_equal(pcard_pkey_rsa_parts(g_rsa, n, sizeof n, &nl, e, sizeof e, &el), PCARD_OK);
	assert_int_equal(nl, 256);
	assert_int_equal(el, 3);
	assert_memory_equal(e, "\x01\x00\x01", 3);
	assert_int_equal(pcard_pkey_rsa_parts(g_rsa, n, 255, &nl, e, sizeof e, &el),
	    PCARD_E_NOSPACE);
	assert_int_equal(pcard_pkey_rsa_parts(g_ec, n, sizeof n, &nl, e, sizeof e, &el),
	    PCARD_E_KEY);
	assert_int_equal(pcard_pkey_rsa_parts(g_rsa, n, sizeof n, &nl, e, sizeof e, &el), PCARD_OK);
	assert_int_equal(pcard_pkey_rsa_from_parts(n, nl, e, el, &pub), PCARD_OK);
	assert_int_equal(pcard_pkey_bits(pub), 2048);
	assert_int_equal(pcard_sign(g_rsa, PCARD_SIG_RSA_PKCS1, PCARD_HASH_SHA256, msg, 3, sig,
	    sizeof sig, &sl), PCARD_OK);
	assert_int_equal(pcard_verify(pub, PCARD_SIG_RSA_PKCS1, PCARD_HASH_SHA256, msg, 3, sig,
	    sl), PCARD_OK);
	assert_int_equal(pcard_sign(pub, PCARD_SIG_RSA_PKCS1, PCARD_HASH_SHA256, msg, 3, sig,
	    sizeof sig, &sl), PCARD_E_KEY);
	pcard_pkey_free(pub);
	e[2] = 0x00;	/* even exponent */
	assert_int_equal(pcard_pkey_rsa_from_parts(n, nl, e, el, &pub), PCARD_E_BAD_ENCODING);
	assert_int_equal(pcard_pkey_rsa_from_parts(n, 0, e, el, &pub), PCARD_E_INVALID_ARG);

	assert_int_equal(pcard_pkey_ec_point(g_ec, pt, sizeof pt, &ptl, &curve), PCARD_OK);
	assert_int_equal(ptl, 65);
	assert_int_equal(pt[0], 0x04);
	assert_string_equal(curve, "P-256");
	assert_int_equal(pcard_pkey_ec_point(g_ec, pt, 64, &ptl, &curve), PCARD_E_NOSPACE);
	assert_int_equal(pcard_pkey_ec_point(g_rsa, pt, sizeof pt, &ptl, &curve), PCARD_E_KEY);
	assert_int_equal(pcard_pkey_ec_point(g_ec, pt, sizeof pt, &ptl, NULL), PCARD_OK);
	assert_int_equal(pcard_pkey_ec_from_point("P-256", pt, ptl, &pub), PCARD_OK);
	assert_int_equal(pcard_sign(g_ec, PCARD_SIG_ECDSA, PCARD_HASH_SHA256, msg, 3, sig,
	    sizeof sig, &sl), PCARD_OK);
	assert_int_equal(pcard_verify(pub, PCARD_SIG_ECDSA, PCARD_HASH_SHA256, msg, 3, sig, sl),
	    PCARD_OK);
	pcard_pkey_free(pub);
	/* a point off the curve, a compressed point, the wrong curve, an unknown curve */
	pt[64] ^= 1;
	assert_int_equal(pcard_pkey_ec_from_point("P-256", pt, ptl, &pub), PCARD_E_BAD_ENCODING);
	assert_null(pub);
	pt[64] ^= 1;
	pt[0] = 0x02;
	assert_int_equal(pcard_pkey_ec_from_point("P-256", pt, 33, &pub), PCARD_E_BAD_ENCODING);
	pt[0] = 0x04;
	assert_int_equal(pcard_pkey_ec_from_point("P-384", pt, ptl, &pub), PCARD_E_BAD_ENCODING);
	assert_int_equal(pcard_pkey_ec_from_point("brainpool", pt, ptl, &pub), PCARD_E_UNSUPPORTED);
}

/* Decode base64 (the body of a PEM block), skipping line breaks; returns the length. */
static size_t
b64(const char *s, uint8_t *out, size_t cap)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint32_t acc = 0;
	int bits = 0;
	size_t n = 0;

	for (; *s != '\0' && *s != '='; s++) {
		const char *p = strchr(tab, *s);

		if (*s == '\n' || *s == '\r')
			continue;
		assert_non_null(p);
		acc = (acc << 6) | (uint32_t)(p - tab);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			assert_true(n < cap);
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	return n;
}

/* PEM and DER out and back in, from memory and from a file. */
static void
test_pem_der(void **state)
{
	static char pem[4096];
	static uint8_t der[4096];
	pcard_pkey *k, *pub;
	size_t len, dl;
	char path[] = "/tmp/pcard-test-keyXXXXXX";
	const char *body;
	uint8_t msg[1] = { 0x42 }, sig[64];
	size_t sl;
	int fd;
	FILE *f;

	(void)state;
	assert_int_equal(pcard_pkey_pem(g_ec, 1, pem, sizeof pem, &len), PCARD_OK);
	assert_int_equal(strlen(pem), len);
	assert_non_null(strstr(pem, "PRIVATE KEY"));
	assert_int_equal(pcard_pkey_pem(g_ec, 1, pem, len, &len), PCARD_E_NOSPACE);
	assert_int_equal(pcard_pkey_pem(g_ec, 1, pem, sizeof pem, &len), PCARD_OK);
	assert_int_equal(pcard_pkey_load((const uint8_t *)pem, len, &k), PCARD_OK);
	assert_int_equal(pcard_sign(k, PCARD_SIG_ECDSA, PCARD_HASH_SHA256, msg, 1, sig,
	    sizeof sig, &sl), PCARD_OK);
	assert_int_equal(pcard_verify(g_ec, PCARD_SIG_ECDSA, PCARD_HASH_SHA256, msg, 1, sig, sl),
	    PCARD_OK);
	pcard_pkey_free(k);

	/* public PEM: loads as a verify-only key, and has no private part to export */
	assert_int_equal(pcard_pkey_pem(g_ec, 0, pem, sizeof pem, &len), PCARD_OK);
	assert_non_null(strstr(pem, "BEGIN PUBLIC KEY"));
	assert_int_equal(pcard_pkey_load((const uint8_t *)pem, len, &pub), PCARD_OK);
	assert_int_equal(pcard_verify(pub, PCARD_SIG_ECDSA, PCARD_HASH_SHA256, msg, 1, sig, sl),
	    PCARD_OK);
	assert_int_equal(pcard_pkey_pem(pub, 1, pem, sizeof pem, &len), PCARD_E_KEY);
	pcard_pkey_free(pub);

	/* DER (the PEM body decoded), private then public */
	assert_int_equal(pcard_pkey_pem(g_rsa, 1, pem, sizeof pem, &len), PCARD_OK);
	body = strchr(pem, '\n') + 1;
	*strstr(pem, "-----END") = '\0';
	dl = b64(body, der, sizeof der);
	assert_int_equal(pcard_pkey_load(der, dl, &k), PCARD_OK);
	assert_true(pcard_pkey_is_rsa(k));
	assert_int_equal(pcard_pkey_bits(k), 2048);
	pcard_pkey_free(k);
	assert_int_equal(pcard_pkey_load(der, dl - 1, &k), PCARD_E_BAD_ENCODING);
	assert_null(k);
	assert_int_equal(pcard_pkey_pem(g_rsa, 0, pem, sizeof pem, &len), PCARD_OK);
	body = strchr(pem, '\n') + 1;
	*strstr(pem, "-----END") = '\0';
	dl = b64(body, der, sizeof der);
	assert_int_equal(pcard_pkey_load(der, dl, &k), PCARD_OK);
	assert_int_equal(pcard_pkey_bits(k), 2048);
	pcard_pkey_free(k);

	/* from a file */
	assert_int_equal(pcard_pkey_pem(g_rsa, 1, pem, sizeof pem, &len), PCARD_OK);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(pem, 1, len, f), len);
	fclose(f);
	assert_int_equal(pcard_pkey_load_file(path, &k), PCARD_OK);
	assert_true(pcard_pkey_is_rsa(k));
	pcard_pkey_free(k);
	f = fopen(path, "wb");
	assert_non_null(f);
	fputs("not a key\n", f);
	fclose(f);
	assert_int_equal(pcard_pkey_load_file(path, &k), PCARD_E_BAD_FILE);
	remove(path);
	assert_int_equal(pcard_pkey_load_file(path, &k), PCARD_E_IO);

	/* garbage */
	assert_int_equal(pcard_pkey_load((const uint8_t *)"hello", 5, &k), PCARD_E_BAD_ENCODING);
	assert_int_equal(pcard_pkey_load(NULL, 5, &k), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_pkey_load((const uint8_t *)"x", 0, &k), PCARD_E_INVALID_ARG);
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

	const struct CMUnitTest pkey_tests[] = {
		cmocka_unit_test(test_rsa_sign),
		cmocka_unit_test(test_ecdsa_sign),
		cmocka_unit_test(test_ecdsa_known_answer),
		cmocka_unit_test(test_oaep),
		cmocka_unit_test(test_parts),
		cmocka_unit_test(test_pem_der),
	};
	int failed;

	failed = cmocka_run_group_tests(tests, NULL, NULL);
	failed += cmocka_run_group_tests(pkey_tests, pkey_setup, pkey_teardown);
	return failed;
}
