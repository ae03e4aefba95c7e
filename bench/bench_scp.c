/*
 * bench_scp.c: wrapped commands per second (host wrap, and the full host wrap + card unwrap
 * + card wrap_rsp + host unwrap round trip) for SCP03 and SCP02, against a baseline measured
 * in the same run: raw AES-CMAC / retail-MAC calls over the same bytes with the key in memory.
 * The difference is the cost of the provider indirection, padding and encryption.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "postcard/crypto.h"
#include "postcard/keys.h"
#include "postcard/scp.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const uint8_t KDD[10], AID[8] = { 0xA0, 0, 0, 1, 0x51, 0, 0, 0 };

static int
open_pair(uint8_t scp, uint8_t i, uint8_t level, pcard_keys *k, pcard_scp_keyset *ks,
    pcard_scp *h, pcard_scp *c)
{
	uint8_t cmd[64], rsp[64];
	size_t nc, nr;
	uint32_t ns;
	pcard_scp_host_params hp;
	pcard_scp_card_params cp;

	memset(&hp, 0, sizeof hp);
	hp.scp02_i = scp == 2 ? i : 0;
	memset(&cp, 0, sizeof cp);
	cp.scp = scp;
	cp.i = i;
	cp.kdd = KDD;
	cp.seq = 1;
	cp.aid = AID;
	cp.aid_len = sizeof AID;
	pcard_scp_init(h);
	pcard_scp_init(c);
	if (pcard_scp_host_init_update(h, k, ks, &hp, cmd, sizeof cmd, &nc) != PCARD_OK ||
	    pcard_scp_card_init_update(c, k, ks, &cp, cmd, nc, rsp, sizeof rsp, &nr, &ns) !=
	    PCARD_OK || pcard_scp_host_auth(h, rsp, nr) != PCARD_OK ||
	    pcard_scp_host_ext_auth(h, level, cmd, sizeof cmd, &nc) != PCARD_OK ||
	    pcard_scp_card_ext_auth(c, cmd, nc, &ns) != PCARD_OK ||
	    pcard_scp_host_ext_auth_rsp(h, (const uint8_t *)"\x90\x00", 2) != PCARD_OK)
		return -1;
	return 0;
}

static void
run(const char *name, uint8_t scp, uint8_t i, uint8_t level, size_t dlen)
{
	uint8_t key[16] = { 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4A,
	    0x4B, 0x4C, 0x4D, 0x4E, 0x4F };
	uint8_t cmd[PCARD_SCP_MAX_CMD], w[PCARD_SCP_MAX_CMD], u[PCARD_SCP_MAX_CMD],
	    r[PCARD_SCP_MAX_RSP], o[PCARD_SCP_MAX_RSP], mac[16];
	pcard_keys *k = NULL;
	pcard_scp_keyset ks;
	pcard_scp h, c;
	size_t nw, nu, nr, no, n, j, iters = 20000;
	double t0, t_base, t_wrap, t_rt;

	if (pcard_keys_mem_new(16, &k) != PCARD_OK)
		return;
	pcard_keys_mem_import(k, NULL, scp == 3 ? PCARD_KEY_AES : PCARD_KEY_DES3, key, 16,
	    &ks.enc);
	ks.mac = ks.dek = ks.enc;
	if (open_pair(scp, i, level, k, &ks, &h, &c) != 0) {
		printf("%s: open failed\n", name);
		goto out;
	}
	memset(cmd, 0x5A, sizeof cmd);
	cmd[0] = 0x80;
	cmd[1] = 0xE2;
	cmd[2] = cmd[3] = 0;
	cmd[4] = (uint8_t)dlen;
	n = 5 + dlen;
	t0 = now();
	for (j = 0; j < iters; j++) {
		if (scp == 3)
			pcard_aes_cmac(key, 16, cmd, n + 16, mac);
		else
			pcard_des_retail_mac(key, mac, cmd, n, mac);
	}
	t_base = now() - t0;
	t0 = now();
	for (j = 0; j < iters; j++)
		if (pcard_scp_wrap_cmd(&h, cmd, n, w, sizeof w, &nw) != PCARD_OK)
			goto fail;
	t_wrap = now() - t0;
	/* the card never saw those commands: a new session for the round trips */
	pcard_scp_clear(&h);
	pcard_scp_clear(&c);
	if (open_pair(scp, i, level, k, &ks, &h, &c) != 0)
		goto fail;
	t0 = now();
	for (j = 0; j < iters; j++) {
		if (pcard_scp_wrap_cmd(&h, cmd, n, w, sizeof w, &nw) != PCARD_OK ||
		    pcard_scp_unwrap_cmd(&c, w, nw, u, sizeof u, &nu) != PCARD_OK ||
		    pcard_scp_wrap_rsp(&c, cmd, 32, 0x9000, r, sizeof r, &nr) != PCARD_OK ||
		    pcard_scp_unwrap_rsp(&h, r, nr, o, sizeof o, &no) != PCARD_OK)
			goto fail;
	}
	t_rt = now() - t0;
	printf("%-28s data %3zu: raw MAC %9.0f/s  wrap %9.0f/s (%.1fx raw)  round trip %8.0f/s\n",
	    name, dlen, iters / t_base, iters / t_wrap, t_wrap / t_base, iters / t_rt);
	goto out;
fail:
	printf("%s: failed\n", name);
out:
	pcard_scp_clear(&h);
	pcard_scp_clear(&c);
	pcard_keys_free(k);
}

int
main(void)
{
	run("SCP03 i=70 level 01", 3, 0x70, 0x01, 200);
	run("SCP03 i=70 level 03", 3, 0x70, 0x03, 200);
	run("SCP03 i=70 level 33", 3, 0x70, 0x33, 200);
	run("SCP03 i=70 level 33", 3, 0x70, 0x33, 16);
	run("SCP02 i=55 level 01", 2, 0x55, 0x01, 200);
	run("SCP02 i=75 level 13", 2, 0x75, 0x13, 200);
	return 0;
}
