/*
 * bench_hsm.c: the host side of secure-channel sessions on the PKCS#11 provider (SoftHSMv2,
 * private token made in a temporary directory) against the in-memory provider, in the same
 * run: PKCS#11 calls and time per session setup (card keys diversified from the master, INIT
 * UPDATE, card cryptogram, EXTERNAL AUTHENTICATE, keys released) and per wrapped command
 * (wrap + unwrap of the response), for SCP03 (AES-128 KDF3, i=70, level 33) and SCP02 (3DES
 * EMV, i=55 level 03 and i=75 level 13). The card side always runs on the memory provider and
 * is not timed. Calls are counted by the provider (pcard_hsm_get_stats).
 *
 * Usage: bench_hsm [sessions]   (needs softhsm2-util and /usr/lib/softhsm/libsofthsm2.so)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hsm.h"
#include "postcard/crypto.h"
#include "postcard/keydiv.h"
#include "postcard/keys.h"
#include "postcard/scp.h"

static const uint8_t KDD[10] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };
static const uint8_t AID[8] = { 0xA0, 0, 0, 1, 0x51, 0, 0, 0 };

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct side {
	pcard_keys *k;
	pcard_keyh master;
} side;

typedef struct cfg {
	const char *name;
	uint8_t scp, i, level;
	const char *tmpl;
} cfg;

/* One session: host on h (timed into *t), card on c; n wrapped commands timed into *tw. */
static int
session(const cfg *g, side *h, side *c, pcard_keyh cset[3], uint32_t *seq, size_t n,
    double *t, double *tw)
{
	pcard_keydiv kd;
	pcard_keyh hm[3] = { h->master, h->master, h->master }, hset[3];
	pcard_scp hs, cs;
	pcard_scp_host_params hp;
	pcard_scp_card_params cp;
	pcard_scp_keyset hks, cks = { cset[0], cset[1], cset[2] };
	uint8_t cmd[PCARD_SCP_MAX_CMD], rsp[PCARD_SCP_MAX_RSP], plain[210], back[PCARD_SCP_MAX_RSP];
	size_t nc, nr, nb, j;
	uint32_t ns = 0;
	double t0;
	int rc = -1;

	memset(&hp, 0, sizeof hp);
	hp.scp = g->scp;
	hp.scp02_i = g->scp == 2 ? g->i : 0;
	hp.aid = AID;
	hp.aid_len = sizeof AID;
	memset(&cp, 0, sizeof cp);
	cp.scp = g->scp;
	cp.i = g->i;
	cp.kvn = 0x30;
	cp.kdd = KDD;
	cp.seq = *seq;
	cp.aid = AID;
	cp.aid_len = sizeof AID;
	pcard_scp_init(&hs);
	pcard_scp_init(&cs);
	if (pcard_keydiv_parse(g->tmpl, &kd) != PCARD_OK)
		return -1;
	t0 = now();
	if (pcard_keydiv_derive_set(h->k, hm, &kd, KDD, hset) != PCARD_OK)
		return -1;
	hks.enc = hset[0], hks.mac = hset[1], hks.dek = hset[2];
	if (pcard_scp_host_init_update(&hs, h->k, &hks, &hp, cmd, sizeof cmd, &nc) != PCARD_OK)
		goto out;
	*t += now() - t0;
	if (pcard_scp_card_init_update(&cs, c->k, &cks, &cp, cmd, nc, rsp, sizeof rsp, &nr,
	    &ns) != PCARD_OK)
		goto out;
	*seq = ns;
	t0 = now();
	if (pcard_scp_host_auth(&hs, rsp, nr) != PCARD_OK ||
	    pcard_scp_host_ext_auth(&hs, g->level, cmd, sizeof cmd, &nc) != PCARD_OK)
		goto out;
	*t += now() - t0;
	if (pcard_scp_card_ext_auth(&cs, cmd, nc, &ns) != PCARD_OK)
		goto out;
	*seq = ns;
	t0 = now();
	if (pcard_scp_host_ext_auth_rsp(&hs, (const uint8_t *)"\x90\x00", 2) != PCARD_OK)
		goto out;
	*t += now() - t0;
	/* wrapped commands: 200 data bytes, 32 bytes of response data */
	memset(plain, 0x5A, sizeof plain);
	plain[0] = 0x80, plain[1] = 0xE2, plain[2] = 0x00, plain[3] = 0x00, plain[4] = 200;
	for (j = 0; j < n; j++) {
		size_t pl = pcard_scp_max_data(&hs) < 200 ? pcard_scp_max_data(&hs) : 200;

		plain[4] = (uint8_t)pl;
		t0 = now();
		if (pcard_scp_wrap_cmd(&hs, plain, 5 + pl, cmd, sizeof cmd, &nc) != PCARD_OK)
			goto out;
		*tw += now() - t0;
		if (pcard_scp_unwrap_cmd(&cs, cmd, nc, back, sizeof back, &nb) != PCARD_OK ||
		    pcard_scp_wrap_rsp(&cs, plain, 32, 0x9000, rsp, sizeof rsp, &nr) != PCARD_OK)
			goto out;
		t0 = now();
		if (pcard_scp_unwrap_rsp(&hs, rsp, nr, back, sizeof back, &nb) != PCARD_OK)
			goto out;
		*tw += now() - t0;
	}
	rc = 0;
out:
	t0 = now();
	pcard_scp_clear(&hs);
	pcard_keydiv_release_set(h->k, hm, hset);
	*t += now() - t0;
	pcard_scp_clear(&cs);
	return rc;
}

static int
run(const cfg *g, pcard_hsm *hsm, side *hh, side *mh, side *card, size_t sessions)
{
	pcard_keydiv kd;
	pcard_keyh cm[3] = { card->master, card->master, card->master }, cset[3];
	pcard_hsm_stats s0, s1, s2;
	double th = 0, twh = 0, tm = 0, twm = 0, dummy = 0;
	uint32_t seq = 1;
	size_t i, cmds = 20;

	if (pcard_keydiv_parse(g->tmpl, &kd) != PCARD_OK ||
	    pcard_keydiv_derive_set(card->k, cm, &kd, KDD, cset) != PCARD_OK)
		return -1;
	/* warm up (the master's CMAC subkey source is cached after the first use) */
	if (session(g, hh, card, cset, &seq, 0, &dummy, &dummy) != 0)
		return -1;
	pcard_hsm_get_stats(hsm, &s0);
	if (session(g, hh, card, cset, &seq, 0, &dummy, &dummy) != 0)
		return -1;
	pcard_hsm_get_stats(hsm, &s1);
	if (session(g, hh, card, cset, &seq, cmds, &dummy, &dummy) != 0)
		return -1;
	pcard_hsm_get_stats(hsm, &s2);
	for (i = 0; i < sessions; i++)
		if (session(g, hh, card, cset, &seq, cmds, &th, &twh) != 0 ||
		    session(g, mh, card, cset, &seq, cmds, &tm, &twm) != 0)
			return -1;
	printf("%s\n", g->name);
	printf("  session setup: %llu PKCS#11 calls (derive %llu, sign %llu, encrypt/decrypt "
	    "%llu, destroy %llu, other %llu), key reads %llu\n",
	    (unsigned long long)(s1.calls - s0.calls), (unsigned long long)(s1.derive - s0.derive),
	    (unsigned long long)(s1.sign - s0.sign), (unsigned long long)(s1.crypt - s0.crypt),
	    (unsigned long long)(s1.destroy - s0.destroy),
	    (unsigned long long)(s1.other - s0.other),
	    (unsigned long long)(s1.host_key_reads - s0.host_key_reads));
	printf("  wrapped command + response: %.1f PKCS#11 calls\n",
	    (double)((s2.calls - s1.calls) - (s1.calls - s0.calls)) / (double)cmds);
	printf("  host setup: HSM %.1f us, memory %.1f us, ratio %.1f\n",
	    th / (double)sessions * 1e6, tm / (double)sessions * 1e6, th / tm);
	printf("  host wrapped command + response: HSM %.1f us, memory %.1f us, ratio %.1f\n",
	    twh / (double)(sessions * cmds) * 1e6, twm / (double)(sessions * cmds) * 1e6,
	    twh / twm);
	pcard_keydiv_release_set(card->k, cm, cset);
	return 0;
}

int
main(int argc, char **argv)
{
	static const cfg cfgs[] = {
		{ "SCP03 AES-128 kdf3, i=70, level 33", 3, 0x70, 0x33, "kdf3" },
		{ "SCP02 3DES emv, i=55, level 03", 2, 0x55, 0x03, "emv" },
		{ "SCP02 3DES emv, i=75, level 13 (R-MAC)", 2, 0x75, 0x13, "emv" },
	};
	char dir[] = "/tmp/pcard-bench-hsm.XXXXXX", buf[600];
	size_t sessions = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 300, i;
	uint8_t aes[16], des[16];
	pcard_hsm_params p;
	pcard_hsm *hsm = NULL;
	side hh[2], mh[2], card[2];
	FILE *f;
	int rc = 1;

	if (sessions == 0 || mkdtemp(dir) == NULL)
		return 2;
	snprintf(buf, sizeof buf, "%s/softhsm2.conf", dir);
	if ((f = fopen(buf, "w")) == NULL)
		return 1;
	fprintf(f, "directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n",
	    dir);
	fclose(f);
	setenv("SOFTHSM2_CONF", buf, 1);
	snprintf(buf, sizeof buf, "softhsm2-util --init-token --free --label bench --so-pin "
	    "12345678 --pin 1234 >/dev/null");
	if (system(buf) != 0)
		goto out;
	memset(&p, 0, sizeof p);
	p.token_label = "bench";
	p.pin = "1234";		/* demo-only PIN of a throw-away token */
	if (pcard_hsm_open(&p, &hsm) != PCARD_OK)
		goto out;
	for (i = 0; i < 16; i++)
		aes[i] = (uint8_t)(0x40 + i), des[i] = (uint8_t)(0x60 + i);
	hh[0].k = hh[1].k = pcard_hsm_keys(hsm);
	if (pcard_hsm_import_secret(hsm, "bench-aes", PCARD_KEY_AES, aes, 16,
	    PCARD_HSM_USE_MASTER, &hh[0].master) != PCARD_OK ||
	    pcard_hsm_import_secret(hsm, "bench-des", PCARD_KEY_DES3, des, 16,
	    PCARD_HSM_USE_MASTER, &hh[1].master) != PCARD_OK ||
	    pcard_keys_mem_new(64, &mh[0].k) != PCARD_OK ||
	    pcard_keys_mem_new(64, &card[0].k) != PCARD_OK)
		goto out;
	mh[1].k = mh[0].k;
	card[1].k = card[0].k;
	if (pcard_keys_mem_import(mh[0].k, NULL, PCARD_KEY_AES, aes, 16, &mh[0].master) ||
	    pcard_keys_mem_import(mh[0].k, NULL, PCARD_KEY_DES3, des, 16, &mh[1].master) ||
	    pcard_keys_mem_import(card[0].k, NULL, PCARD_KEY_AES, aes, 16, &card[0].master) ||
	    pcard_keys_mem_import(card[0].k, NULL, PCARD_KEY_DES3, des, 16, &card[1].master))
		goto out;
	printf("bench_hsm: %zu sessions per configuration, 20 wrapped commands each "
	    "(200 B data, 32 B response)\n", sessions);
	for (i = 0; i < sizeof cfgs / sizeof cfgs[0]; i++)
		if (run(&cfgs[i], hsm, &hh[cfgs[i].scp == 3 ? 0 : 1],
		    &mh[cfgs[i].scp == 3 ? 0 : 1], &card[cfgs[i].scp == 3 ? 0 : 1], sessions) != 0) {
			fprintf(stderr, "bench_hsm: %s failed\n", cfgs[i].name);
			goto out;
		}
	rc = 0;
out:
	pcard_wipe(aes, sizeof aes);
	pcard_wipe(des, sizeof des);
	pcard_hsm_close(hsm);
	pcard_keys_free(mh[0].k);
	pcard_keys_free(card[0].k);
	snprintf(buf, sizeof buf, "rm -rf %s", dir);
	if (system(buf) != 0)
		rc = 1;
	return rc;
}
