/* test_dap.c: DAP signatures and blocks, LFDB hash rules, DM tokens and receipts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "postcard/bytes.h"
#include "postcard/crypto.h"
#include "postcard/dap.h"
#include "postcard/err.h"
#include "postcard/keys.h"

static pcard_pkey *rsa1024, *rsa2048, *ec256, *ec384;
static pcard_keys *prov;
static pcard_keyh aes128, des16;

/* RFC 4493 example 2: AES-128 key, one-block message and its CMAC. */
static const char cmac_key[] = "2b7e151628aed2a6abf7158809cf4f3c";
static const char cmac_msg[] = "6bc1bee22e409f96e93d7e117393172a";
static const char cmac_tag[] = "070a16b46b4d4144f79bdd9dd04a287c";

static int
setup(void **state)
{
	uint8_t k[16];

	(void)state;
	if (pcard_pkey_gen_rsa(1024, &rsa1024) != PCARD_OK ||
	    pcard_pkey_gen_rsa(2048, &rsa2048) != PCARD_OK ||
	    pcard_pkey_gen_ec("P-256", &ec256) != PCARD_OK ||
	    pcard_pkey_gen_ec("P-384", &ec384) != PCARD_OK ||
	    pcard_keys_mem_new(8, &prov) != PCARD_OK)
		return -1;
	if (pcard_hex_decode_exact(cmac_key, k, 16) != PCARD_OK ||
	    pcard_keys_mem_import(prov, "receipt", PCARD_KEY_AES, k, 16, &aes128) != PCARD_OK)
		return -1;
	memcpy(k, "\x40\x41\x42\x43\x44\x45\x46\x47\x48\x49\x4a\x4b\x4c\x4d\x4e\x4f", 16);
	if (pcard_keys_mem_import(prov, "des", PCARD_KEY_DES3, k, 16, &des16) != PCARD_OK)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	pcard_pkey_free(rsa1024);
	pcard_pkey_free(rsa2048);
	pcard_pkey_free(ec256);
	pcard_pkey_free(ec384);
	pcard_keys_free(prov);
	return 0;
}

static pcard_dapkey
key_for(pcard_dap_alg alg)
{
	pcard_dapkey k;

	memset(&k, 0, sizeof k);
	k.alg = alg;
	switch (alg) {
	case PCARD_DAP_RSA_SHA1:
		k.pkey = rsa1024;
		break;
	case PCARD_DAP_RSA_PSS_SHA256:
		k.pkey = rsa2048;
		break;
	case PCARD_DAP_ECDSA:
		k.pkey = ec256;
		break;
	case PCARD_DAP_AES_CMAC:
		k.keys = prov;
		k.h = aes128;
		break;
	case PCARD_DAP_DES_RETAIL:
		k.keys = prov;
		k.h = des16;
		break;
	}
	return k;
}

static const pcard_dap_alg all_algs[] = {
	PCARD_DAP_RSA_SHA1, PCARD_DAP_RSA_PSS_SHA256, PCARD_DAP_ECDSA, PCARD_DAP_AES_CMAC,
	PCARD_DAP_DES_RETAIL,
};
static const size_t sig_lens[] = { 128, 256, 64, 16, 8 };

static void
test_sign_verify_all(void **state)
{
	uint8_t h[32], sig[PCARD_DAP_MAX_SIG];
	size_t sl;

	(void)state;
	memset(h, 0xA5, sizeof h);
	for (size_t i = 0; i < sizeof all_algs / sizeof all_algs[0]; i++) {
		pcard_dapkey k = key_for(all_algs[i]);

		assert_non_null(pcard_dap_alg_name(all_algs[i]));
		assert_int_equal(pcard_dap_sign(&k, h, sizeof h, sig, sizeof sig, &sl), PCARD_OK);
		assert_int_equal(sl, sig_lens[i]);
		assert_int_equal(pcard_dap_verify(&k, h, sizeof h, sig, sl), PCARD_OK);
		/* Tampered message, tampered signature, shortened signature. */
		h[5] ^= 1;
		assert_int_equal(pcard_dap_verify(&k, h, sizeof h, sig, sl), PCARD_E_VERIFY);
		h[5] ^= 1;
		sig[sl - 1] ^= 0x80;
		assert_int_equal(pcard_dap_verify(&k, h, sizeof h, sig, sl), PCARD_E_VERIFY);
		sig[sl - 1] ^= 0x80;
		assert_int_equal(pcard_dap_verify(&k, h, sizeof h, sig, sl - 1), PCARD_E_VERIFY);
	}
	/* ECDSA on P-384: 96-byte r || s, SHA-384. */
	{
		pcard_dapkey k = { PCARD_DAP_ECDSA, ec384, NULL, PCARD_KEYH_NONE };

		assert_int_equal(pcard_dap_sign(&k, h, sizeof h, sig, sizeof sig, &sl), PCARD_OK);
		assert_int_equal(sl, 96);
		assert_int_equal(pcard_dap_verify(&k, h, sizeof h, sig, sl), PCARD_OK);
	}
	assert_null(pcard_dap_alg_name((pcard_dap_alg)99));
}

static void
test_known_answers(void **state)
{
	uint8_t m[16], want[16], sig[16], k16[16], want8[8];
	size_t sl;
	pcard_dapkey k = key_for(PCARD_DAP_AES_CMAC);
	pcard_dapkey d = key_for(PCARD_DAP_DES_RETAIL);

	(void)state;
	/* AES-CMAC DAP over an LFDBH = the RFC 4493 example. */
	assert_int_equal(pcard_hex_decode_exact(cmac_msg, m, 16), PCARD_OK);
	assert_int_equal(pcard_hex_decode_exact(cmac_tag, want, 16), PCARD_OK);
	assert_int_equal(pcard_dap_sign(&k, m, 16, sig, sizeof sig, &sl), PCARD_OK);
	assert_int_equal(sl, 16);
	assert_memory_equal(sig, want, 16);
	/* DES DAP is the retail MAC with ISO padding and zero ICV. */
	memcpy(k16, "\x40\x41\x42\x43\x44\x45\x46\x47\x48\x49\x4a\x4b\x4c\x4d\x4e\x4f", 16);
	assert_int_equal(pcard_des_retail_mac(k16, NULL, m, 16, want8), PCARD_OK);
	assert_int_equal(pcard_dap_sign(&d, m, 16, sig, sizeof sig, &sl), PCARD_OK);
	assert_int_equal(sl, 8);
	assert_memory_equal(sig, want8, 8);
}

static void
test_key_errors(void **state)
{
	uint8_t h[20] = { 0 }, sig[PCARD_DAP_MAX_SIG];
	size_t sl;
	pcard_dapkey k;

	(void)state;
	/* Scheme 1 is for RSA up to 1024 bits. */
	k = key_for(PCARD_DAP_RSA_SHA1);
	k.pkey = rsa2048;
	assert_int_equal(pcard_dap_sign(&k, h, sizeof h, sig, sizeof sig, &sl), PCARD_E_KEY);
	assert_int_equal(pcard_dap_verify(&k, h, sizeof h, sig, 256), PCARD_E_KEY);
	/* Key of the wrong type, or none. */
	k = key_for(PCARD_DAP_ECDSA);
	k.pkey = rsa1024;
	assert_int_equal(pcard_dap_sign(&k, h, sizeof h, sig, sizeof sig, &sl), PCARD_E_KEY);
	k = key_for(PCARD_DAP_RSA_PSS_SHA256);
	k.pkey = ec256;
	assert_int_equal(pcard_dap_sign(&k, h, sizeof h, sig, sizeof sig, &sl), PCARD_E_KEY);
	k.pkey = NULL;
	assert_int_equal(pcard_dap_sign(&k, h, sizeof h, sig, sizeof sig, &sl), PCARD_E_KEY);
	k = key_for(PCARD_DAP_AES_CMAC);
	k.keys = NULL;
	assert_int_equal(pcard_dap_sign(&k, h, sizeof h, sig, sizeof sig, &sl), PCARD_E_KEY);
	/* The provider refuses a DES key for CMAC. */
	k = key_for(PCARD_DAP_AES_CMAC);
	k.h = des16;
	assert_int_equal(pcard_dap_sign(&k, h, sizeof h, sig, sizeof sig, &sl), PCARD_E_KEY);
	k.alg = (pcard_dap_alg)42;
	assert_int_equal(pcard_dap_sign(&k, h, sizeof h, sig, sizeof sig, &sl),
	    PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_dap_sign(NULL, h, sizeof h, sig, sizeof sig, &sl),
	    PCARD_E_INVALID_ARG);
}

static void
test_lfdb_hash_rules(void **state)
{
	pcard_hash h;

	(void)state;
	assert_int_equal(pcard_lfdb_min_hash(PCARD_DAP_RSA_SHA1, 1024, &h), PCARD_OK);
	assert_int_equal(h, PCARD_HASH_SHA1);
	assert_int_equal(pcard_lfdb_min_hash(PCARD_DAP_DES_RETAIL, 128, &h), PCARD_OK);
	assert_int_equal(h, PCARD_HASH_SHA1);
	assert_int_equal(pcard_lfdb_min_hash(PCARD_DAP_RSA_PSS_SHA256, 2048, &h), PCARD_OK);
	assert_int_equal(h, PCARD_HASH_SHA256);
	assert_int_equal(pcard_lfdb_min_hash(PCARD_DAP_ECDSA, 256, &h), PCARD_OK);
	assert_int_equal(h, PCARD_HASH_SHA256);
	assert_int_equal(pcard_lfdb_min_hash(PCARD_DAP_ECDSA, 384, &h), PCARD_OK);
	assert_int_equal(h, PCARD_HASH_SHA384);
	assert_int_equal(pcard_lfdb_min_hash(PCARD_DAP_ECDSA, 521, &h), PCARD_OK);
	assert_int_equal(h, PCARD_HASH_SHA512);
	assert_int_equal(pcard_lfdb_min_hash(PCARD_DAP_AES_CMAC, 128, &h), PCARD_OK);
	assert_int_equal(h, PCARD_HASH_SHA256);
	assert_int_equal(pcard_lfdb_min_hash(PCARD_DAP_AES_CMAC, 192, &h), PCARD_OK);
	assert_int_equal(h, PCARD_HASH_SHA384);
	assert_int_equal(pcard_lfdb_min_hash(PCARD_DAP_AES_CMAC, 256, &h), PCARD_OK);
	assert_int_equal(h, PCARD_HASH_SHA512);
	assert_int_equal(pcard_lfdb_min_hash(PCARD_DAP_AES_CMAC, 100, &h), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_lfdb_min_hash(PCARD_DAP_ECDSA, 128, &h), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_lfdb_min_hash((pcard_dap_alg)0, 0, &h), PCARD_E_INVALID_ARG);

	assert_int_equal(pcard_lfdb_hash_check(PCARD_HASH_SHA256, PCARD_HASH_SHA1), PCARD_OK);
	assert_int_equal(pcard_lfdb_hash_check(PCARD_HASH_SHA256, PCARD_HASH_SHA256), PCARD_OK);
	assert_int_equal(pcard_lfdb_hash_check(PCARD_HASH_SHA1, PCARD_HASH_SHA256),
	    PCARD_E_UNSUPPORTED);
	assert_int_equal(pcard_lfdb_hash_check(PCARD_HASH_SHA384, PCARD_HASH_SHA512),
	    PCARD_E_UNSUPPORTED);
	assert_int_equal(pcard_lfdb_hash_check(PCARD_HASH_NONE, PCARD_HASH_SHA1),
	    PCARD_E_INVALID_ARG);
}

static void
test_dap_block(void **state)
{
	const uint8_t sd[] = { 0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00 };
	uint8_t m[16], blk[600], want[64];
	size_t n, wl, aid_len, sig_len;
	const uint8_t *aid, *sig;
	pcard_rd r;
	pcard_dapkey k = key_for(PCARD_DAP_AES_CMAC);
	pcard_dapkey rk = key_for(PCARD_DAP_RSA_PSS_SHA256);
	const uint8_t bad_tag[] = { 0xE3, 0x04, 0x4F, 0x00, 0xC3, 0x00 };
	const uint8_t no_sig[] = { 0xE2, 0x02, 0x4F, 0x00 };
	const uint8_t swapped[] = { 0xE2, 0x04, 0xC3, 0x00, 0x4F, 0x00 };
	const uint8_t extra[] = { 0xE2, 0x06, 0x4F, 0x00, 0xC3, 0x00, 0xC4, 0x00 };

	(void)state;
	assert_int_equal(pcard_hex_decode_exact(cmac_msg, m, 16), PCARD_OK);
	assert_int_equal(pcard_dap_block_make(&k, sd, sizeof sd, m, 16, blk, sizeof blk, &n),
	    PCARD_OK);
	/* E2 1C | 4F 08 SD | C3 10 CMAC */
	assert_int_equal(pcard_hex_decode("E21C4F08A000000151000000C310", want, sizeof want,
	    &wl), PCARD_OK);
	assert_int_equal(pcard_hex_decode(cmac_tag, want + wl, sizeof want - wl, &n), PCARD_OK);
	wl += n;
	assert_int_equal(pcard_dap_block_make(&k, sd, sizeof sd, m, 16, blk, sizeof blk, &n),
	    PCARD_OK);
	assert_int_equal(n, wl);
	assert_memory_equal(blk, want, wl);
	assert_int_equal(pcard_dap_block_verify(&k, blk, n, m, 16), PCARD_OK);
	m[0] ^= 1;
	assert_int_equal(pcard_dap_block_verify(&k, blk, n, m, 16), PCARD_E_VERIFY);
	m[0] ^= 1;
	assert_int_equal(pcard_dap_block_verify(&k, blk, n - 1, m, 16), PCARD_E_TRUNCATED);

	/* RSA-2048: 256-byte signature, two-byte BER lengths. */
	assert_int_equal(pcard_dap_block_make(&rk, sd, sizeof sd, m, 16, blk, sizeof blk, &n),
	    PCARD_OK);
	assert_int_equal(n, 4 + 10 + 4 + 256);
	assert_memory_equal(blk, "\xE2\x82\x01\x0E\x4F\x08", 6);
	pcard_rd_init(&r, blk, n);
	assert_int_equal(pcard_dap_block_parse(&r, &aid, &aid_len, &sig, &sig_len), PCARD_OK);
	assert_int_equal(aid_len, 8);
	assert_memory_equal(aid, sd, 8);
	assert_int_equal(sig_len, 256);
	assert_int_equal(pcard_rd_left(&r), 0);
	assert_int_equal(pcard_dap_block_verify(&rk, blk, n, m, 16), PCARD_OK);
	/* The block verified with another key fails. */
	assert_int_equal(pcard_dap_block_verify(&k, blk, n, m, 16), PCARD_E_VERIFY);

	/* Malformed blocks. */
	pcard_rd_init(&r, bad_tag, sizeof bad_tag);
	assert_int_equal(pcard_dap_block_parse(&r, &aid, &aid_len, &sig, &sig_len),
	    PCARD_E_BAD_ENCODING);
	assert_int_equal(pcard_rd_left(&r), sizeof bad_tag);
	pcard_rd_init(&r, no_sig, sizeof no_sig);
	assert_int_equal(pcard_dap_block_parse(&r, &aid, &aid_len, &sig, &sig_len),
	    PCARD_E_TRUNCATED);
	pcard_rd_init(&r, swapped, sizeof swapped);
	assert_int_equal(pcard_dap_block_parse(&r, &aid, &aid_len, &sig, &sig_len),
	    PCARD_E_BAD_ENCODING);
	pcard_rd_init(&r, extra, sizeof extra);
	assert_int_equal(pcard_dap_block_parse(&r, &aid, &aid_len, &sig, &sig_len),
	    PCARD_E_BAD_ENCODING);
	assert_int_equal(pcard_dap_block_make(&k, sd, sizeof sd, m, 16, blk, 20, &n),
	    PCARD_E_NOSPACE);
	assert_int_equal(pcard_dap_block_encode(sd, 4, m, 16, blk, sizeof blk, &n),
	    PCARD_E_INVALID_ARG);
	/* A valid block followed by more bytes. */
	assert_int_equal(pcard_dap_block_make(&k, sd, sizeof sd, m, 16, blk, sizeof blk, &n),
	    PCARD_OK);
	blk[n] = 0xC4;
	assert_int_equal(pcard_dap_block_verify(&k, blk, n + 1, m, 16), PCARD_E_TRAILING_DATA);
}

/* INSTALL [for load] data without token: ELF AID, SD AID (empty), LFDB hash, params. */
static size_t
install_for_load_data(uint8_t *d, size_t params_len)
{
	pcard_wr w;
	size_t n;
	uint8_t hash[20];

	memset(hash, 0x11, sizeof hash);
	pcard_wr_init(&w, d, 1024);
	pcard_wr_lv(&w, "\xA0\x00\x00\x00\x01\x02", 6);
	pcard_wr_u8(&w, 0);
	pcard_wr_lv(&w, hash, sizeof hash);
	pcard_wr_ber_len(&w, params_len);
	pcard_wr_fill(&w, 0xEF, params_len);
	assert_int_equal(pcard_wr_finish(&w, &n), PCARD_OK);
	return n;
}

static void
test_token_input(void **state)
{
	uint8_t data[300], in[400];
	size_t n;

	(void)state;
	memset(data, 0x33, sizeof data);
	assert_int_equal(pcard_token_input(0x02, 0x00, data, 10, in, sizeof in, &n), PCARD_OK);
	assert_int_equal(n, 13);
	assert_memory_equal(in, "\x02\x00\x0A", 3);
	assert_memory_equal(in + 3, data, 10);
	assert_int_equal(pcard_token_input(0x0C, 0x00, data, 300, in, sizeof in, &n), PCARD_OK);
	assert_int_equal(n, 305);
	assert_memory_equal(in, "\x0C\x00\x00\x01\x2C", 5);
	assert_int_equal(pcard_token_input(0x0C, 0x00, data, 300, in, 100, &n), PCARD_E_NOSPACE);
	assert_int_equal(pcard_token_input(0x0C, 0x00, NULL, 65536, in, sizeof in, &n),
	    PCARD_E_INVALID_ARG);
}

static void
test_tokens(void **state)
{
	uint8_t d[1024], out[1600], in[1100], sig[PCARD_DAP_MAX_SIG];
	size_t n, on, signed_len, tl, in_len, sl;
	const uint8_t *tok;

	(void)state;
	for (size_t i = 0; i < sizeof all_algs / sizeof all_algs[0]; i++) {
		pcard_dapkey k = key_for(all_algs[i]);

		/* INSTALL [for load], short and with 200 bytes of params (BER 81 C8). */
		for (size_t pl = 0; pl <= 200; pl += 200) {
			n = install_for_load_data(d, pl);
			assert_int_equal(pcard_token_append(&k, PCARD_INS_INSTALL, 0x02, 0x00, d, n,
			    out, sizeof out, &on), PCARD_OK);
			assert_memory_equal(out, d, n);
			assert_int_equal(pcard_token_split(PCARD_INS_INSTALL, 0x02, out, on,
			    &signed_len, &tok, &tl), PCARD_OK);
			assert_int_equal(signed_len, n);
			assert_int_equal(tl, sig_lens[i]);
			assert_int_equal(pcard_token_verify(&k, PCARD_INS_INSTALL, 0x02, 0x00, out,
			    on), PCARD_OK);
			/* The token covers P1, P2 and every data byte. */
			assert_int_equal(pcard_token_verify(&k, PCARD_INS_INSTALL, 0x82, 0x00, out,
			    on), PCARD_E_VERIFY);
			assert_int_equal(pcard_token_verify(&k, PCARD_INS_INSTALL, 0x02, 0x01, out,
			    on), PCARD_E_VERIFY);
			out[9] ^= 0x01;
			assert_int_equal(pcard_token_verify(&k, PCARD_INS_INSTALL, 0x02, 0x00, out,
			    on), PCARD_E_VERIFY);
			out[9] ^= 0x01;
			out[on - 1] ^= 0x01;
			assert_int_equal(pcard_token_verify(&k, PCARD_INS_INSTALL, 0x02, 0x00, out,
			    on), PCARD_E_VERIFY);
		}
		/* DELETE: 4F AID then 9E token. */
		memcpy(d, "\x4F\x07\xA0\x00\x00\x00\x01\x02\x03", 9);
		assert_int_equal(pcard_token_append(&k, PCARD_INS_DELETE, 0x00, 0x80, d, 9, out,
		    sizeof out, &on), PCARD_OK);
		assert_int_equal(out[9], 0x9E);
		assert_int_equal(pcard_token_verify(&k, PCARD_INS_DELETE, 0x00, 0x80, out, on),
		    PCARD_OK);
		assert_int_equal(pcard_token_verify(&k, PCARD_INS_DELETE, 0x00, 0x00, out, on),
		    PCARD_E_VERIFY);
		out[4] ^= 0x40;
		assert_int_equal(pcard_token_verify(&k, PCARD_INS_DELETE, 0x00, 0x80, out, on),
		    PCARD_E_VERIFY);
	}

	/* The token is exactly the signature over the documented input. */
	{
		pcard_dapkey k = key_for(PCARD_DAP_AES_CMAC);

		n = install_for_load_data(d, 4);
		assert_int_equal(pcard_token_append(&k, PCARD_INS_INSTALL, 0x02, 0x00, d, n, out,
		    sizeof out, &on), PCARD_OK);
		assert_int_equal(pcard_token_input(0x02, 0x00, d, n, in, sizeof in, &in_len),
		    PCARD_OK);
		assert_int_equal(pcard_dap_sign(&k, in, in_len, sig, sizeof sig, &sl), PCARD_OK);
		assert_int_equal(on, n + 1 + 16);
		assert_int_equal(out[n], 16);
		assert_memory_equal(out + n + 1, sig, 16);
		/* Output too small. */
		assert_int_equal(pcard_token_append(&k, PCARD_INS_INSTALL, 0x02, 0x00, d, n, out,
		    n + 10, &on), PCARD_E_NOSPACE);
		assert_int_equal(pcard_token_append(&k, 0xE8, 0x02, 0x00, d, n, out, sizeof out,
		    &on), PCARD_E_INVALID_ARG);
	}
	/* RSA-2048 PSS token: 256 bytes, length 82 01 00 in an INSTALL [for install]. */
	{
		pcard_dapkey k = key_for(PCARD_DAP_RSA_PSS_SHA256);
		pcard_wr w;

		pcard_wr_init(&w, d, sizeof d);
		pcard_wr_lv(&w, "\xA0\x00\x00\x00\x01\x02", 6);
		pcard_wr_lv(&w, "\xA0\x00\x00\x00\x01\x02\x01", 7);
		pcard_wr_lv(&w, "\xA0\x00\x00\x00\x01\x02\x01", 7);
		pcard_wr_lv(&w, "\x00", 1);
		pcard_wr_lv(&w, "\xC9\x00", 2);
		assert_int_equal(pcard_wr_finish(&w, &n), PCARD_OK);
		assert_int_equal(pcard_token_append(&k, PCARD_INS_INSTALL, 0x0C, 0x00, d, n, out,
		    sizeof out, &on), PCARD_OK);
		assert_memory_equal(out + n, "\x82\x01\x00", 3);
		assert_int_equal(pcard_token_verify(&k, PCARD_INS_INSTALL, 0x0C, 0x00, out, on),
		    PCARD_OK);
		/* Verified as an INSTALL [for load] the structure does not fit. */
		assert_int_equal(pcard_token_verify(&k, PCARD_INS_INSTALL, 0x02, 0x00, out, on),
		    PCARD_E_BAD_ENCODING);
	}
}

static void
test_token_split_errors(void **state)
{
	pcard_dapkey k = key_for(PCARD_DAP_AES_CMAC);
	size_t sl, tl;
	const uint8_t *tok;
	/* INSTALL [for install] with an empty token: 6 LVs, last 00. */
	const uint8_t no_tok[] = { 0x05, 1, 2, 3, 4, 5, 0x05, 1, 2, 3, 4, 5, 0x05, 1, 2, 3, 4, 5,
		0x01, 0x00, 0x02, 0xC9, 0x00, 0x00 };
	const uint8_t short_chain[] = { 0x05, 1, 2, 3, 4, 5, 0x00 };
	const uint8_t bad_len[] = { 0x05, 1, 2, 3, 4, 5, 0x00, 0x00, 0x00, 0x84, 0, 0, 0, 1 };
	const uint8_t del_no_tok[] = { 0x4F, 0x05, 1, 2, 3, 4, 5 };
	const uint8_t del_tok_not_last[] = { 0x9E, 0x01, 0xAA, 0x4F, 0x05, 1, 2, 3, 4, 5 };
	const uint8_t del_bad_tlv[] = { 0x4F, 0x09, 1, 2 };

	(void)state;
	assert_int_equal(pcard_token_split(PCARD_INS_INSTALL, 0x0C, no_tok, sizeof no_tok, &sl,
	    &tok, &tl), PCARD_OK);
	assert_int_equal(sl, sizeof no_tok - 1);
	assert_null(tok);
	assert_int_equal(tl, 0);
	assert_int_equal(pcard_token_verify(&k, PCARD_INS_INSTALL, 0x0C, 0x00, no_tok,
	    sizeof no_tok), PCARD_E_VERIFY);
	assert_int_equal(pcard_token_verify(&k, PCARD_INS_INSTALL, 0x0C, 0x00, short_chain,
	    sizeof short_chain), PCARD_E_BAD_ENCODING);
	assert_int_equal(pcard_token_verify(&k, PCARD_INS_INSTALL, 0x02, 0x00, bad_len,
	    sizeof bad_len), PCARD_E_BAD_ENCODING);
	/* Trailing byte after the token. */
	assert_int_equal(pcard_token_split(PCARD_INS_INSTALL, 0x04, no_tok, sizeof no_tok - 1,
	    &sl, &tok, &tl), PCARD_E_BAD_ENCODING);
	/* Combined load + install is not a single-variant token. */
	assert_int_equal(pcard_token_split(PCARD_INS_INSTALL, 0x0E, no_tok, sizeof no_tok, &sl,
	    &tok, &tl), PCARD_E_UNSUPPORTED);
	assert_int_equal(pcard_token_split(0xE8, 0x00, no_tok, sizeof no_tok, &sl, &tok, &tl),
	    PCARD_E_INVALID_ARG);
	/* DELETE without token, token not last, broken TLV. */
	assert_int_equal(pcard_token_split(PCARD_INS_DELETE, 0x00, del_no_tok,
	    sizeof del_no_tok, &sl, &tok, &tl), PCARD_OK);
	assert_int_equal(sl, sizeof del_no_tok);
	assert_int_equal(tl, 0);
	assert_int_equal(pcard_token_verify(&k, PCARD_INS_DELETE, 0x00, 0x00, del_no_tok,
	    sizeof del_no_tok), PCARD_E_VERIFY);
	assert_int_equal(pcard_token_split(PCARD_INS_DELETE, 0x00, del_tok_not_last,
	    sizeof del_tok_not_last, &sl, &tok, &tl), PCARD_E_BAD_ENCODING);
	assert_int_equal(pcard_token_split(PCARD_INS_DELETE, 0x00, del_bad_tlv,
	    sizeof del_bad_tlv, &sl, &tok, &tl), PCARD_E_BAD_ENCODING);
}

static void
test_receipts(void **state)
{
	const uint8_t sd_unique[] = { 0x11, 0x22, 0x33, 0x44, 0x01 };
	const uint8_t tok_id[] = { 0x01, 0x02 };
	const uint8_t digest[20] = { 0x5A };
	const uint8_t elf[] = { 0xA0, 0x00, 0x00, 0x00, 0x01, 0x02 };
	const uint8_t sd[] = { 0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00 };
	const uint8_t inst[] = { 0xA0, 0x00, 0x00, 0x00, 0x01, 0x02, 0x01 };
	uint8_t conf[300], ctx[64], ctx2[64], resp[400], msg[400], key[16], want[16];
	size_t cl, xl, xl2, rl;
	pcard_confirm c, got;

	(void)state;
	memset(&c, 0, sizeof c);
	c.counter = 0x0102;
	c.sd_unique = sd_unique;
	c.sd_unique_len = sizeof sd_unique;
	assert_int_equal(pcard_confirm_encode(&c, conf, sizeof conf, &cl), PCARD_OK);
	assert_int_equal(cl, 4 + sizeof sd_unique);
	assert_memory_equal(conf, "\x02\x01\x02\x05\x11\x22\x33\x44\x01", cl);
	assert_int_equal(pcard_confirm_parse(conf, cl, &got), PCARD_OK);
	assert_int_equal(got.counter, 0x0102);
	assert_int_equal(got.has_token_id, 0);
	/* With a token digest but no id, the id is written empty. */
	c.has_token_digest = 1;
	c.token_digest = digest;
	c.token_digest_len = sizeof digest;
	assert_int_equal(pcard_confirm_encode(&c, conf, sizeof conf, &cl), PCARD_OK);
	assert_int_equal(conf[9], 0x00);
	assert_int_equal(conf[10], 20);
	c.has_token_id = 1;
	c.token_id = tok_id;
	c.token_id_len = sizeof tok_id;
	assert_int_equal(pcard_confirm_encode(&c, conf, sizeof conf, &cl), PCARD_OK);
	assert_int_equal(pcard_confirm_parse(conf, cl, &got), PCARD_OK);
	assert_int_equal(got.has_token_id, 1);
	assert_int_equal(got.token_id_len, 2);
	assert_int_equal(got.has_token_digest, 1);
	assert_memory_equal(got.token_digest, digest, 20);
	assert_int_equal(pcard_confirm_parse(conf, cl - 1, &got), PCARD_E_BAD_ENCODING);
	conf[0] = 3;
	assert_int_equal(pcard_confirm_parse(conf, cl, &got), PCARD_E_BAD_ENCODING);

	/* Contexts. */
	assert_int_equal(pcard_receipt_context(PCARD_RECEIPT_LOAD, elf, sizeof elf, sd, sizeof sd,
	    NULL, 0, ctx, sizeof ctx, &xl), PCARD_OK);
	assert_int_equal(xl, 2 + sizeof elf + sizeof sd);
	assert_int_equal(ctx[0], 6);
	assert_int_equal(ctx[7], 8);
	assert_int_equal(pcard_receipt_context(PCARD_RECEIPT_DELETE, elf, sizeof elf, NULL, 0,
	    NULL, 0, ctx2, sizeof ctx2, &xl2), PCARD_OK);
	assert_int_equal(xl2, 7);
	assert_int_equal(pcard_receipt_context(PCARD_RECEIPT_EXTRADITION, sd, sizeof sd, inst,
	    sizeof inst, sd, sizeof sd, ctx2, sizeof ctx2, &xl2), PCARD_OK);
	assert_int_equal(xl2, 3 + 8 + 7 + 8);
	assert_int_equal(pcard_receipt_context(PCARD_RECEIPT_DELETE, elf, sizeof elf, sd,
	    sizeof sd, NULL, 0, ctx2, sizeof ctx2, &xl2), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_receipt_context(PCARD_RECEIPT_INSTALL, elf, sizeof elf, NULL, 0,
	    NULL, 0, ctx2, sizeof ctx2, &xl2), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_receipt_context((pcard_receipt_op)9, elf, sizeof elf, NULL, 0,
	    NULL, 0, ctx2, sizeof ctx2, &xl2), PCARD_E_INVALID_ARG);

	/* Card builds, host verifies; the receipt is AES-CMAC(confirmation || context). */
	assert_int_equal(pcard_receipt_response(prov, aes128, &c, ctx, xl, resp, sizeof resp,
	    &rl), PCARD_OK);
	assert_int_equal(resp[0], 16);
	assert_int_equal(rl, 17 + cl);
	memcpy(msg, resp + 17, cl);
	memcpy(msg + cl, ctx, xl);
	assert_int_equal(pcard_hex_decode_exact(cmac_key, key, 16), PCARD_OK);
	assert_int_equal(pcard_aes_cmac(key, 16, msg, cl + xl, want), PCARD_OK);
	assert_memory_equal(resp + 1, want, 16);
	memset(&got, 0, sizeof got);
	assert_int_equal(pcard_receipt_verify(prov, aes128, resp, rl, ctx, xl, &got), PCARD_OK);
	assert_int_equal(got.counter, 0x0102);
	assert_memory_equal(got.sd_unique, sd_unique, sizeof sd_unique);

	/* Tampering anywhere, or another context, fails. */
	for (size_t i = 0; i < rl; i++) {
		pcard_err err;

		resp[i] ^= 0x01;
		err = pcard_receipt_verify(prov, aes128, resp, rl, ctx, xl, NULL);
		assert_true(err == PCARD_E_VERIFY || err == PCARD_E_BAD_ENCODING);
		resp[i] ^= 0x01;
	}
	ctx[3] ^= 1;
	assert_int_equal(pcard_receipt_verify(prov, aes128, resp, rl, ctx, xl, NULL),
	    PCARD_E_VERIFY);
	ctx[3] ^= 1;
	assert_int_equal(pcard_receipt_verify(prov, aes128, resp, rl, ctx2, xl2, NULL),
	    PCARD_E_VERIFY);
	/* No receipt at all, a truncated one, a confirmation that does not parse. */
	assert_int_equal(pcard_receipt_verify(prov, aes128, (const uint8_t *)"\x00", 1, ctx, xl,
	    NULL), PCARD_E_VERIFY);
	assert_int_equal(pcard_receipt_verify(prov, aes128, resp, 10, ctx, xl, NULL),
	    PCARD_E_BAD_ENCODING);
	assert_int_equal(pcard_receipt_verify(prov, aes128, resp, rl - 1, ctx, xl, NULL),
	    PCARD_E_BAD_ENCODING);
	/* A DES key cannot make AES receipts. */
	assert_int_equal(pcard_receipt_response(prov, des16, &c, ctx, xl, resp, sizeof resp,
	    &rl), PCARD_E_KEY);
	assert_int_equal(pcard_receipt_response(prov, aes128, &c, ctx, xl, resp, 20, &rl),
	    PCARD_E_NOSPACE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sign_verify_all),
		cmocka_unit_test(test_known_answers),
		cmocka_unit_test(test_key_errors),
		cmocka_unit_test(test_lfdb_hash_rules),
		cmocka_unit_test(test_dap_block),
		cmocka_unit_test(test_token_input),
		cmocka_unit_test(test_tokens),
		cmocka_unit_test(test_token_split_errors),
		cmocka_unit_test(test_receipts),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
