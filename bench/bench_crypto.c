/*
 * bench_crypto.c: the cost of the crypto module's hot paths.
 *
 * Main figure: AES-CMAC over 256 bytes through pcard_aes_cmac (algorithms fetched once,
 * per-thread contexts reused) against a baseline measured in the same run that does what a
 * naive caller does: fetch EVP_MAC "CMAC", create a context, init with the cipher name as a
 * parameter, update, final, free, on every call. The baseline is the only reason this file
 * includes OpenSSL; the library itself keeps OpenSSL inside src/lib/crypto*.c.
 * Also printed: a few other per-call costs (AES-CBC, retail MAC, the provider's SCP03 KDF).
 *
 * Usage: bench_crypto [iterations]   (default 200000; best of 5 rounds is reported)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "postcard/crypto.h"
#include "postcard/keys.h"

static const uint8_t key[16] = { 0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6, 0xab, 0xf7,
	0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c };
static uint8_t msg[256];
static volatile uint8_t sink;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
baseline_cmac(const uint8_t *k, const uint8_t *m, size_t n, uint8_t out[16])
{
	EVP_MAC *mac;
	EVP_MAC_CTX *ctx = NULL;
	OSSL_PARAM params[2];
	size_t outl = 0;
	int ok = 0;

	if ((mac = EVP_MAC_fetch(NULL, "CMAC", NULL)) == NULL)
		return 0;
	if ((ctx = EVP_MAC_CTX_new(mac)) == NULL)
		goto out;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, (char *)"AES-128-CBC",
	    0);
	params[1] = OSSL_PARAM_construct_end();
	ok = EVP_MAC_init(ctx, k, 16, params) && EVP_MAC_update(ctx, m, n) &&
	    EVP_MAC_final(ctx, out, &outl, 16) && outl == 16;
out:
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return ok;
}

typedef int (*bench_fn)(void *arg);

/* Best-of-5 microseconds per call of fn over iters calls. */
static double
measure(bench_fn fn, void *arg, long iters)
{
	double best = 1e9;
	int round;
	long i;

	for (round = 0; round < 5; round++) {
		double t0 = now(), us;

		for (i = 0; i < iters; i++)
			if (!fn(arg)) {
				fprintf(stderr, "bench_crypto: operation failed\n");
				exit(1);
			}
		us = (now() - t0) * 1e6 / (double)iters;
		if (us < best)
			best = us;
	}
	return best;
}

static int
run_fast_cmac(void *arg)
{
	uint8_t out[16];

	(void)arg;
	if (pcard_aes_cmac(key, 16, msg, sizeof msg, out) != PCARD_OK)
		return 0;
	sink ^= out[0];
	return 1;
}

static int
run_baseline_cmac(void *arg)
{
	uint8_t out[16];

	(void)arg;
	if (!baseline_cmac(key, msg, sizeof msg, out))
		return 0;
	sink ^= out[0];
	return 1;
}

static int
run_aes_cbc(void *arg)
{
	uint8_t out[256];

	(void)arg;
	if (pcard_aes_cbc(1, key, 16, NULL, msg, sizeof msg, out) != PCARD_OK)
		return 0;
	sink ^= out[0];
	return 1;
}

static int
run_retail(void *arg)
{
	uint8_t out[8];

	(void)arg;
	if (pcard_des_retail_mac(key, NULL, msg, 64, out) != PCARD_OK)
		return 0;
	sink ^= out[0];
	return 1;
}

struct kdf_arg {
	pcard_keys *keys;
	pcard_keyh base;
};

static int
run_provider_kdf(void *arg)
{
	struct kdf_arg *a = arg;
	uint8_t d[32] = { 0 }, out[16];

	d[11] = 0x04;
	d[14] = 0x80;
	if (pcard_keys_kdf_data(a->keys, a->base, d, sizeof d, 15, out, 16) != PCARD_OK)
		return 0;
	sink ^= out[0];
	return 1;
}

int
main(int argc, char **argv)
{
	long iters = argc > 1 ? strtol(argv[1], NULL, 10) : 200000;
	uint8_t a[16], b[16];
	struct kdf_arg ka;
	double fast, base;
	size_t i;

	if (iters <= 0)
		iters = 200000;
	for (i = 0; i < sizeof msg; i++)
		msg[i] = (uint8_t)i;
	/* both paths compute the same MAC */
	if (pcard_aes_cmac(key, 16, msg, sizeof msg, a) != PCARD_OK ||
	    !baseline_cmac(key, msg, sizeof msg, b) || memcmp(a, b, 16) != 0) {
		fprintf(stderr, "bench_crypto: CMAC paths disagree\n");
		return 1;
	}
	fast = measure(run_fast_cmac, NULL, iters);
	base = measure(run_baseline_cmac, NULL, iters / 4 > 0 ? iters / 4 : 1);
	printf("AES-CMAC 256 B, fetched once, contexts reused:  %.3f us/call\n", fast);
	printf("AES-CMAC 256 B, fetch + new ctx every call:     %.3f us/call\n", base);
	printf("ratio baseline / fetched-once:                  %.2fx\n", base / fast);

	printf("AES-128-CBC 256 B:                              %.3f us/call\n",
	    measure(run_aes_cbc, NULL, iters));
	printf("retail MAC (ISO 9797-1 alg 3) 64 B:             %.3f us/call\n",
	    measure(run_retail, NULL, iters / 4 > 0 ? iters / 4 : 1));
	if (pcard_keys_mem_new(4, &ka.keys) != PCARD_OK ||
	    pcard_keys_mem_import(ka.keys, NULL, PCARD_KEY_AES, key, 16, &ka.base) != PCARD_OK)
		return 1;
	printf("provider SCP03 KDF (16 B out):                  %.3f us/call\n",
	    measure(run_provider_kdf, &ka, iters));
	pcard_keys_free(ka.keys);
	return 0;
}
