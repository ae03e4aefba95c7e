/*
 * test_scp_session.c: host and card pcard_scp talking to each other in process, for SCP03
 * (every i, S8/S16, AES-128/192/256, every level) and SCP02 (every i, every level): wrapped
 * commands of every case and length, responses with data, R-MAC / R-ENC, refused levels,
 * tampering (every flipped bit is caught, and the session stays dead), replay and reorder,
 * and every error the module returns.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "postcard/bytes.h"
#include "postcard/crypto.h"
#include "postcard/keys.h"
#include "postcard/scp.h"
#include "postcard/transport.h"

static const uint8_t AID[] = { 0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00 };
static const uint8_t KDD[10] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };

typedef struct pair {
	pcard_keys *hk, *ck;
	pcard_scp_keyset hks, cks;
	pcard_scp h, c;
	uint8_t scp, i, level;
	uint32_t seq;		/* card's persistent counter */
} pair;

static void
make_keys(pcard_keys **k, pcard_scp_keyset *ks, uint8_t scp, size_t klen, uint8_t salt)
{
	uint8_t key[32];
	size_t j;
	pcard_keytype t = scp == 3 ? PCARD_KEY_AES : PCARD_KEY_DES3;

	assert_int_equal(pcard_keys_mem_new(32, k), PCARD_OK);
	for (j = 0; j < sizeof key; j++)
		key[j] = (uint8_t)(0x40 + j + salt);
	assert_int_equal(pcard_keys_mem_import(*k, "enc", t, key, klen, &ks->enc), PCARD_OK);
	key[0] ^= 0x11;
	assert_int_equal(pcard_keys_mem_import(*k, "mac", t, key, klen, &ks->mac), PCARD_OK);
	key[0] ^= 0x22;
	assert_int_equal(pcard_keys_mem_import(*k, "dek", t, key, klen, &ks->dek), PCARD_OK);
}

static void
pair_new(pair *p, uint8_t scp, uint8_t i, size_t klen)
{
	memset(p, 0, sizeof *p);
	p->scp = scp;
	p->i = i;
	p->seq = 0x41;
	make_keys(&p->hk, &p->hks, scp, klen, 0);
	make_keys(&p->ck, &p->cks, scp, klen, 0);
	pcard_scp_init(&p->h);
	pcard_scp_init(&p->c);
}

static void
pair_free(pair *p)
{
	pcard_scp_clear(&p->h);
	pcard_scp_clear(&p->c);
	pcard_keys_free(p->hk);
	pcard_keys_free(p->ck);
}

/* INITIALIZE UPDATE both ways; returns the host's verdict on the card's response. */
static pcard_err
pair_iu(pair *p)
{
	uint8_t cmd[64], rsp[64];
	size_t nc, nr;
	uint32_t ns = 0;
	pcard_scp_host_params hp;
	pcard_scp_card_params cp;

	memset(&hp, 0, sizeof hp);
	hp.scp = p->scp;
	hp.scp02_i = p->scp == 2 ? p->i : 0;
	hp.host_chal_len = (p->scp == 3 && (p->i & 1)) ? 16 : 8;
	hp.aid = AID;
	hp.aid_len = sizeof AID;
	memset(&cp, 0, sizeof cp);
	cp.scp = p->scp;
	cp.i = p->i;
	cp.kvn = 0x30;
	cp.kdd = KDD;
	cp.seq = p->seq;
	cp.aid = AID;
	cp.aid_len = sizeof AID;
	assert_int_equal(pcard_scp_host_init_update(&p->h, p->hk, &p->hks, &hp, cmd, sizeof cmd,
	    &nc), PCARD_OK);
	assert_int_equal(pcard_scp_card_init_update(&p->c, p->ck, &p->cks, &cp, cmd, nc, rsp,
	    sizeof rsp, &nr, &ns), PCARD_OK);
	p->seq = ns;
	return pcard_scp_host_auth(&p->h, rsp, nr);
}

static void
pair_open(pair *p, uint8_t level)
{
	uint8_t cmd[64];
	size_t nc;
	uint32_t ns = 0;

	assert_int_equal(pair_iu(p), PCARD_OK);
	assert_int_equal(pcard_scp_host_ext_auth(&p->h, level, cmd, sizeof cmd, &nc), PCARD_OK);
	assert_int_equal(pcard_scp_card_ext_auth(&p->c, cmd, nc, &ns), PCARD_OK);
	p->seq = ns;
	assert_int_equal(pcard_scp_host_ext_auth_rsp(&p->h, (const uint8_t *)"\x90\x00", 2),
	    PCARD_OK);
	assert_int_equal(pcard_scp_level(&p->c), level);
	p->level = level;
}

/* A plain command: CLA 80, INS, data of len bytes, optional Le. */
static size_t
plain_cmd(uint8_t *out, uint8_t ins, size_t len, int le, uint8_t seed)
{
	size_t n = 0, j;

	out[n++] = 0x80;
	out[n++] = ins;
	out[n++] = 0x00;
	out[n++] = seed;
	if (len > 0) {
		out[n++] = (uint8_t)len;
		for (j = 0; j < len; j++)
			out[n++] = (uint8_t)(seed + j * 7);
	}
	if (le)
		out[n++] = 0x00;
	return n;
}

/* One full exchange; checks both directions arrive intact. */
static void
exchange(pair *p, const uint8_t *cmd, size_t n, size_t rlen, uint16_t sw)
{
	uint8_t w[PCARD_SCP_MAX_CMD], u[PCARD_SCP_MAX_CMD], data[256], r[PCARD_SCP_MAX_RSP],
	    pr[PCARD_SCP_MAX_RSP];
	size_t nw, nu, nr, npr, j, want;

	assert_int_equal(pcard_scp_wrap_cmd(&p->h, cmd, n, w, sizeof w, &nw), PCARD_OK);
	assert_int_equal(pcard_scp_unwrap_cmd(&p->c, w, nw, u, sizeof u, &nu), PCARD_OK);
	assert_int_equal(nu, n);
	assert_memory_equal(u, cmd, n);
	for (j = 0; j < rlen; j++)
		data[j] = (uint8_t)(j * 13 + 5);
	assert_int_equal(pcard_scp_wrap_rsp(&p->c, data, rlen, sw, r, sizeof r, &nr), PCARD_OK);
	assert_int_equal(pcard_scp_unwrap_rsp(&p->h, r, nr, pr, sizeof pr, &npr), PCARD_OK);
	/* SCP03 under R-MAC sends an error status word alone */
	want = (p->scp == 3 && (p->level & PCARD_SCP_RMAC) && sw != 0x9000 &&
	    (sw >> 8) != 0x62 && (sw >> 8) != 0x63) ? 0 : rlen;
	assert_int_equal(npr, want + 2);
	if (want > 0)
		assert_memory_equal(pr, data, want);
	assert_int_equal(pr[want] << 8 | pr[want + 1], sw);
	assert_int_equal(pcard_scp_last_sw(&p->h), sw);
}

static void
run_traffic(pair *p)
{
	uint8_t cmd[PCARD_SCP_MAX_CMD];
	size_t n, maxd = pcard_scp_max_data(&p->h);
	size_t lens[] = { 1, 15, 16, 17, 100, 0 };
	size_t j;

	assert_true(maxd > 0);
	lens[5] = maxd;
	n = plain_cmd(cmd, 0xF2, 0, 0, 1);	/* case 1 */
	exchange(p, cmd, n, 0, 0x9000);
	n = plain_cmd(cmd, 0xCA, 0, 1, 2);	/* case 2 */
	exchange(p, cmd, n, 200, 0x9000);
	for (j = 0; j < sizeof lens / sizeof lens[0]; j++) {
		n = plain_cmd(cmd, 0xE2, lens[j], (int)(j & 1), (uint8_t)(3 + j));
		exchange(p, cmd, n, j * 40, j == 2 ? 0x6310 : 0x9000);
	}
	n = plain_cmd(cmd, 0xE4, 10, 1, 9);
	exchange(p, cmd, n, 0, 0x6A88);		/* error SW: the chain goes on */
	n = plain_cmd(cmd, 0xE6, 20, 0, 10);
	exchange(p, cmd, n, 239, 0x9000);
	/* one byte over the limit is refused before anything is chained */
	if (maxd < 255) {
		uint8_t w[PCARD_SCP_MAX_CMD];
		size_t nw;

		n = plain_cmd(cmd, 0xE8, maxd + 1, 0, 11);
		assert_int_equal(pcard_scp_wrap_cmd(&p->h, cmd, n, w, sizeof w, &nw),
		    PCARD_E_NOSPACE);
		n = plain_cmd(cmd, 0xE8, 3, 0, 12);
		exchange(p, cmd, n, 1, 0x9000);
	}
}

/* Every way the wrapped command can be altered is caught by the card, which stays dead. */
static void
tamper_cmd(uint8_t scp, uint8_t i, size_t klen, uint8_t level, size_t pos_sel)
{
	pair p;
	uint8_t cmd[64], w[PCARD_SCP_MAX_CMD], u[PCARD_SCP_MAX_CMD];
	size_t n, nw, nu, pos;
	pcard_err err;

	pair_new(&p, scp, i, klen);
	pair_open(&p, level);
	n = plain_cmd(cmd, 0xE2, 20, 1, 7);
	assert_int_equal(pcard_scp_wrap_cmd(&p.h, cmd, n, w, sizeof w, &nw), PCARD_OK);
	/* positions: header byte, first data byte, last data byte (MAC), Lc */
	pos = pos_sel == 0 ? 2 : pos_sel == 1 ? 5 : pos_sel == 2 ? nw - 2 : 4;
	w[pos] ^= 0x04;
	err = pcard_scp_unwrap_cmd(&p.c, w, nw, u, sizeof u, &nu);
	assert_true(err == PCARD_E_MAC || err == PCARD_E_PADDING);
	assert_int_equal(pcard_scp_state_of(&p.c), PCARD_SCP_DEAD);
	assert_int_equal(pcard_scp_card_sw(err), 0x6982);
	/* the next, valid command is refused too */
	w[pos] ^= 0x04;
	assert_int_equal(pcard_scp_unwrap_cmd(&p.c, w, nw, u, sizeof u, &nu),
	    PCARD_E_SESSION_DEAD);
	assert_int_equal(pcard_scp_wrap_rsp(&p.c, NULL, 0, 0x9000, u, sizeof u, &nu),
	    PCARD_E_SESSION_DEAD);
	/* a new session works again */
	pair_open(&p, level);
	exchange(&p, cmd, n, 4, 0x9000);
	pair_free(&p);
}

/* A flipped bit anywhere in a protected response is caught by the host, which stays dead. */
static void
tamper_rsp(uint8_t scp, uint8_t i, size_t klen, uint8_t level)
{
	pair p;
	uint8_t cmd[64], w[PCARD_SCP_MAX_CMD], u[PCARD_SCP_MAX_CMD], data[40],
	    r[PCARD_SCP_MAX_RSP], o[PCARD_SCP_MAX_RSP];
	size_t n, nw, nu, nr, no, bit;

	memset(data, 0x5A, sizeof data);
	pair_new(&p, scp, i, klen);
	pair_open(&p, level);
	n = plain_cmd(cmd, 0xCA, 0, 1, 7);
	assert_int_equal(pcard_scp_wrap_cmd(&p.h, cmd, n, w, sizeof w, &nw), PCARD_OK);
	assert_int_equal(pcard_scp_unwrap_cmd(&p.c, w, nw, u, sizeof u, &nu), PCARD_OK);
	assert_int_equal(pcard_scp_wrap_rsp(&p.c, data, sizeof data, 0x9000, r, sizeof r, &nr),
	    PCARD_OK);
	/* every bit of the protected response, on a fresh session each time */
	for (bit = 0; bit < nr * 8; bit += 7) {
		r[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_int_not_equal(pcard_scp_unwrap_rsp(&p.h, r, nr, o, sizeof o, &no), PCARD_OK);
		assert_int_equal(pcard_scp_state_of(&p.h), PCARD_SCP_DEAD);
		pair_open(&p, level);
		assert_int_equal(pcard_scp_wrap_cmd(&p.h, cmd, n, w, sizeof w, &nw), PCARD_OK);
		assert_int_equal(pcard_scp_unwrap_cmd(&p.c, w, nw, u, sizeof u, &nu), PCARD_OK);
		assert_int_equal(pcard_scp_wrap_rsp(&p.c, data, sizeof data, 0x9000, r, sizeof r,
		    &nr), PCARD_OK);
	}
	assert_int_equal(pcard_scp_unwrap_rsp(&p.h, r, nr, o, sizeof o, &no), PCARD_OK);
	assert_int_equal(no, sizeof data + 2);
	pair_open(&p, level);
	assert_int_equal(pcard_scp_wrap_cmd(&p.h, cmd, n, w, sizeof w, &nw), PCARD_OK);
	assert_int_equal(pcard_scp_unwrap_cmd(&p.c, w, nw, u, sizeof u, &nu), PCARD_OK);
	assert_int_equal(pcard_scp_wrap_rsp(&p.c, data, sizeof data, 0x9000, r, sizeof r, &nr),
	    PCARD_OK);
	r[nr - 3] ^= 0x40;	/* inside the R-MAC */
	assert_int_equal(pcard_scp_unwrap_rsp(&p.h, r, nr, o, sizeof o, &no), PCARD_E_MAC);
	assert_int_equal(pcard_scp_wrap_cmd(&p.h, cmd, n, w, sizeof w, &nw),
	    PCARD_E_SESSION_DEAD);
	assert_int_equal(pcard_scp_unwrap_rsp(&p.h, r, nr, o, sizeof o, &no),
	    PCARD_E_SESSION_DEAD);
	/* ciphertext / data byte */
	pair_open(&p, level);
	assert_int_equal(pcard_scp_wrap_cmd(&p.h, cmd, n, w, sizeof w, &nw), PCARD_OK);
	assert_int_equal(pcard_scp_unwrap_cmd(&p.c, w, nw, u, sizeof u, &nu), PCARD_OK);
	assert_int_equal(pcard_scp_wrap_rsp(&p.c, data, sizeof data, 0x9000, r, sizeof r, &nr),
	    PCARD_OK);
	r[0] ^= 0x01;
	assert_int_equal(pcard_scp_unwrap_rsp(&p.h, r, nr, o, sizeof o, &no), PCARD_E_MAC);
	/* a response stripped to its SW */
	pair_open(&p, level);
	assert_int_equal(pcard_scp_wrap_cmd(&p.h, cmd, n, w, sizeof w, &nw), PCARD_OK);
	assert_int_equal(pcard_scp_unwrap_rsp(&p.h, (const uint8_t *)"\x90\x00", 2, o, sizeof o,
	    &no), PCARD_E_MAC);
	pair_free(&p);
}

/* Replayed and reordered commands are refused. */
static void
replay_reorder(uint8_t scp, uint8_t i, size_t klen, uint8_t level)
{
	pair p;
	uint8_t c1[64], c2[64], w1[PCARD_SCP_MAX_CMD], w2[PCARD_SCP_MAX_CMD],
	    u[PCARD_SCP_MAX_CMD], r[PCARD_SCP_MAX_RSP];
	size_t n1, n2, nw1, nw2, nu, nr;

	pair_new(&p, scp, i, klen);
	pair_open(&p, level);
	n1 = plain_cmd(c1, 0xE2, 8, 0, 1);
	n2 = plain_cmd(c2, 0xE2, 8, 0, 2);
	assert_int_equal(pcard_scp_wrap_cmd(&p.h, c1, n1, w1, sizeof w1, &nw1), PCARD_OK);
	assert_int_equal(pcard_scp_unwrap_cmd(&p.c, w1, nw1, u, sizeof u, &nu), PCARD_OK);
	assert_int_equal(pcard_scp_wrap_rsp(&p.c, NULL, 0, 0x9000, r, sizeof r, &nr), PCARD_OK);
	assert_int_equal(pcard_scp_unwrap_cmd(&p.c, w1, nw1, u, sizeof u, &nu), PCARD_E_MAC);
	pair_open(&p, level);
	assert_int_equal(pcard_scp_wrap_cmd(&p.h, c1, n1, w1, sizeof w1, &nw1), PCARD_OK);
	assert_int_equal(pcard_scp_wrap_cmd(&p.h, c2, n2, w2, sizeof w2, &nw2), PCARD_OK);
	assert_int_not_equal(pcard_scp_unwrap_cmd(&p.c, w2, nw2, u, sizeof u, &nu), PCARD_OK);
	assert_int_equal(pcard_scp_unwrap_cmd(&p.c, w1, nw1, u, sizeof u, &nu),
	    PCARD_E_SESSION_DEAD);
	pair_free(&p);
}

static const uint8_t scp03_levels[] = { 0x00, 0x01, 0x03, 0x11, 0x13, 0x33 };
static const uint8_t scp03_is[] = { 0x00, 0x10, 0x20, 0x30, 0x60, 0x70 };
static const uint8_t scp02_levels[] = { 0x00, 0x01, 0x03, 0x10, 0x11, 0x13 };
static const uint8_t scp02_is[] = { 0x15, 0x35, 0x55, 0x75 };

/* A level the i does not allow: the host will not build it, the card refuses it. */
static void
refused_level(uint8_t scp, uint8_t i, size_t klen, uint8_t level)
{
	pair p;
	uint8_t cmd[64];
	size_t nc;
	uint32_t ns = 0;

	pair_new(&p, scp, i, klen);
	assert_int_equal(pair_iu(&p), PCARD_OK);
	assert_int_equal(pcard_scp_host_ext_auth(&p.h, level, cmd, sizeof cmd, &nc),
	    PCARD_E_SECURITY_LEVEL);
	/* a host that claims more options than the card has */
	p.h.i |= 0x60;
	assert_int_equal(pcard_scp_host_ext_auth(&p.h, level, cmd, sizeof cmd, &nc), PCARD_OK);
	assert_int_equal(pcard_scp_card_ext_auth(&p.c, cmd, nc, &ns), PCARD_E_SECURITY_LEVEL);
	assert_int_equal(pcard_scp_card_sw(PCARD_E_SECURITY_LEVEL), 0x6982);
	assert_int_not_equal(pcard_scp_state_of(&p.c), PCARD_SCP_OPEN);
	pair_free(&p);
}

static void
test_scp03_matrix(void **state)
{
	static const size_t klens[] = { 16, 24, 32 };
	size_t a, b, k, l, opened = 0, refused = 0;

	(void)state;
	for (a = 0; a < sizeof scp03_is; a++)
		for (b = 0; b < 2; b++)
			for (k = 0; k < 3; k++)
				for (l = 0; l < sizeof scp03_levels; l++) {
					uint8_t i = (uint8_t)(scp03_is[a] | b);
					uint8_t lv = scp03_levels[l];
					pair p;

					if (!pcard_scp_level_ok(3, i, lv)) {
						refused_level(3, i, klens[k], lv);
						refused++;
						continue;
					}
					pair_new(&p, 3, i, klens[k]);
					pair_open(&p, lv);
					assert_int_equal(pcard_scp_i(&p.h), i);
					run_traffic(&p);
					pair_free(&p);
					opened++;
				}
	assert_int_equal(opened, 168);
	assert_int_equal(refused, 48);
}

static void
test_scp02_matrix(void **state)
{
	size_t a, l, opened = 0;

	(void)state;
	for (a = 0; a < sizeof scp02_is; a++)
		for (l = 0; l < sizeof scp02_levels; l++) {
			uint8_t i = scp02_is[a], lv = scp02_levels[l];
			pair p;

			if (!pcard_scp_level_ok(2, i, lv)) {
				refused_level(2, i, 16, lv);
				continue;
			}
			pair_new(&p, 2, i, 16);
			pair_open(&p, lv);
			run_traffic(&p);
			pair_free(&p);
			opened++;
		}
	assert_int_equal(opened, 18);
}

static void
test_tamper(void **state)
{
	size_t a, l, pos;

	(void)state;
	for (a = 0; a < sizeof scp03_is; a++)
		for (l = 1; l < sizeof scp03_levels; l++) {
			uint8_t i = (uint8_t)(scp03_is[a] | (a & 1)), lv = scp03_levels[l];

			if (!pcard_scp_level_ok(3, i, lv))
				continue;
			for (pos = 0; pos < 4; pos++)
				tamper_cmd(3, i, 16 + 8 * (a % 3), lv, pos);
			replay_reorder(3, i, 16, lv);
			if (lv & PCARD_SCP_RMAC)
				tamper_rsp(3, i, 32, lv);
		}
	for (a = 0; a < sizeof scp02_is; a++)
		for (l = 1; l < sizeof scp02_levels; l++) {
			uint8_t i = scp02_is[a], lv = scp02_levels[l];

			if (!pcard_scp_level_ok(2, i, lv))
				continue;
			if (lv & PCARD_SCP_CMAC) {
				for (pos = 0; pos < 4; pos++)
					tamper_cmd(2, i, 16, lv, pos);
				replay_reorder(2, i, 16, lv);
			}
			if (lv & PCARD_SCP_RMAC)
				tamper_rsp(2, i, 16, lv);
		}
}

/* Cryptograms: a flipped card cryptogram, host cryptogram or EXT AUTH C-MAC is caught. */
static void
test_cryptogram_flips(void **state)
{
	static const struct { uint8_t scp, i; } v[] = {
		{ 3, 0x70 }, { 3, 0x71 }, { 3, 0x00 }, { 2, 0x55 }, { 2, 0x15 },
	};
	static const uint8_t fixed_chal[16] = { 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6 };
	size_t j, bit;

	(void)state;
	for (j = 0; j < sizeof v / sizeof v[0]; j++) {
		pair p;
		uint8_t cmd[64], rsp[64], ea[64];
		size_t nc, nr, ne;
		uint32_t ns = 0;
		pcard_scp_host_params hp;
		pcard_scp_card_params cp;

		pair_new(&p, v[j].scp, v[j].i, 16);
		memset(&hp, 0, sizeof hp);
		hp.scp02_i = v[j].scp == 2 ? v[j].i : 0;
		hp.host_chal_len = (v[j].scp == 3 && (v[j].i & 1)) ? 16 : 8;
		hp.aid = AID;
		hp.aid_len = sizeof AID;
		memset(&cp, 0, sizeof cp);
		cp.scp = v[j].scp;
		cp.i = v[j].i;
		cp.kvn = 0x30;
		cp.kdd = KDD;
		cp.seq = 7;
		cp.aid = AID;
		cp.aid_len = sizeof AID;
		cp.card_chal = fixed_chal;	/* for the i without a pseudo-random one */
		assert_int_equal(pcard_scp_host_init_update(&p.h, p.hk, &p.hks, &hp, cmd,
		    sizeof cmd, &nc), PCARD_OK);
		assert_int_equal(pcard_scp_card_init_update(&p.c, p.ck, &p.cks, &cp, cmd, nc, rsp,
		    sizeof rsp, &nr, &ns), PCARD_OK);
		/* every bit of challenge, cryptogram (and counter) after the KDD/KVN/SCP/i */
		for (bit = (v[j].scp == 3 ? 13 : 12) * 8; bit < (nr - 2) * 8; bit++) {
			pcard_scp h2;

			pcard_scp_init(&h2);
			assert_int_equal(pcard_scp_host_init_update(&h2, p.hk, &p.hks, &hp, cmd,
			    sizeof cmd, &nc), PCARD_OK);
			memcpy(h2.host_chal, p.h.host_chal, sizeof h2.host_chal);
			rsp[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			assert_int_not_equal(pcard_scp_host_auth(&h2, rsp, nr), PCARD_OK);
			rsp[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			assert_int_equal(pcard_scp_host_ext_auth(&h2, 0x01, ea, sizeof ea, &ne),
			    pcard_scp_state_of(&h2) == PCARD_SCP_DEAD ? PCARD_E_SESSION_DEAD :
			    PCARD_E_STATE);
			pcard_scp_clear(&h2);
		}
		assert_int_equal(pcard_scp_host_auth(&p.h, rsp, nr), PCARD_OK);
		assert_int_equal(pcard_scp_host_ext_auth(&p.h, 0x01, ea, sizeof ea, &ne), PCARD_OK);
		for (bit = 5 * 8; bit < ne * 8; bit += 3) {
			pcard_scp c2 = p.c;	/* copy of the card state before EXT AUTH */
			pcard_err err;

			ea[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			err = pcard_scp_card_ext_auth(&c2, ea, ne, &ns);
			ea[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			assert_true(err == PCARD_E_AUTH || err == PCARD_E_MAC);
			assert_int_equal(pcard_scp_state_of(&c2), PCARD_SCP_DEAD);
			/* c2 released the shared session keys: redo the card's INIT UPDATE */
			assert_int_equal(pcard_scp_card_init_update(&p.c, p.ck, &p.cks, &cp, cmd, nc,
			    rsp, sizeof rsp, &nr, &ns), PCARD_OK);
		}
		pair_free(&p);
	}
}

/* SCP02 BEGIN / END R-MAC SESSION on both sides. */
static void
test_scp02_rmac_session(void **state)
{
	pair p;
	uint8_t cmd[16], w[PCARD_SCP_MAX_CMD], u[PCARD_SCP_MAX_CMD], r[PCARD_SCP_MAX_RSP],
	    o[PCARD_SCP_MAX_RSP], data[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	size_t n, nw, nu, nr, no;

	(void)state;
	pair_new(&p, 2, 0x75, 16);
	pair_open(&p, 0x03);
	/* END without BEGIN */
	assert_int_equal(pcard_scp02_end_rmac_cmd(cmd, sizeof cmd, &n), PCARD_OK);
	assert_int_equal(pcard_scp_wrap_cmd(&p.h, cmd, n, w, sizeof w, &nw), PCARD_E_STATE);
	assert_int_equal(pcard_scp02_begin_rmac_cmd(cmd, sizeof cmd, &n), PCARD_OK);
	exchange(&p, cmd, n, 0, 0x9000);
	/* responses now carry an R-MAC */
	n = plain_cmd(cmd, 0xCA, 0, 1, 1);
	assert_int_equal(pcard_scp_wrap_cmd(&p.h, cmd, n, w, sizeof w, &nw), PCARD_OK);
	assert_int_equal(pcard_scp_unwrap_cmd(&p.c, w, nw, u, sizeof u, &nu), PCARD_OK);
	assert_int_equal(pcard_scp_wrap_rsp(&p.c, data, sizeof data, 0x9000, r, sizeof r, &nr),
	    PCARD_OK);
	assert_int_equal(nr, sizeof data + 8 + 2);
	assert_int_equal(pcard_scp_unwrap_rsp(&p.h, r, nr, o, sizeof o, &no), PCARD_OK);
	assert_int_equal(no, sizeof data + 2);
	/* a second BEGIN is refused on both sides (the card keeps the session) */
	assert_int_equal(pcard_scp02_begin_rmac_cmd(cmd, sizeof cmd, &n), PCARD_OK);
	assert_int_equal(pcard_scp_wrap_cmd(&p.h, cmd, n, w, sizeof w, &nw), PCARD_E_STATE);
	assert_int_equal(pcard_scp02_end_rmac_cmd(cmd, sizeof cmd, &n), PCARD_OK);
	exchange(&p, cmd, n, 0, 0x9000);
	n = plain_cmd(cmd, 0xCA, 0, 1, 2);
	assert_int_equal(pcard_scp_wrap_cmd(&p.h, cmd, n, w, sizeof w, &nw), PCARD_OK);
	assert_int_equal(pcard_scp_unwrap_cmd(&p.c, w, nw, u, sizeof u, &nu), PCARD_OK);
	assert_int_equal(pcard_scp_wrap_rsp(&p.c, data, sizeof data, 0x9000, r, sizeof r, &nr),
	    PCARD_OK);
	assert_int_equal(nr, sizeof data + 2);	/* no R-MAC after END */
	assert_int_equal(pcard_scp_unwrap_rsp(&p.h, r, nr, o, sizeof o, &no), PCARD_OK);
	/* the card refuses END now, without killing the session */
	p.h.rmac_on = 1;	/* a host that believes otherwise */
	assert_int_equal(pcard_scp02_end_rmac_cmd(cmd, sizeof cmd, &n), PCARD_OK);
	assert_int_equal(pcard_scp_wrap_cmd(&p.h, cmd, n, w, sizeof w, &nw), PCARD_OK);
	assert_int_equal(pcard_scp_unwrap_cmd(&p.c, w, nw, u, sizeof u, &nu), PCARD_E_STATE);
	assert_int_equal(pcard_scp_state_of(&p.c), PCARD_SCP_OPEN);
	assert_int_equal(pcard_scp_wrap_rsp(&p.c, NULL, 0, pcard_scp_card_sw(PCARD_E_STATE), r,
	    sizeof r, &nr), PCARD_OK);
	assert_int_equal(r[0] << 8 | r[1], 0x6985);
	pair_free(&p);

	/* i = 55 has no R-MAC: BEGIN is refused on both sides */
	pair_new(&p, 2, 0x55, 16);
	pair_open(&p, 0x01);
	assert_int_equal(pcard_scp02_begin_rmac_cmd(cmd, sizeof cmd, &n), PCARD_OK);
	assert_int_equal(pcard_scp_wrap_cmd(&p.h, cmd, n, w, sizeof w, &nw),
	    PCARD_E_SECURITY_LEVEL);
	p.h.i = 0x75;
	assert_int_equal(pcard_scp_wrap_cmd(&p.h, cmd, n, w, sizeof w, &nw), PCARD_OK);
	assert_int_equal(pcard_scp_unwrap_cmd(&p.c, w, nw, u, sizeof u, &nu),
	    PCARD_E_SECURITY_LEVEL);
	pair_free(&p);
}

/*
 * The answer to SCP02 BEGIN R-MAC SESSION carries no R-MAC. A status word altered on the way
 * from 9000 to anything else would leave the host believing R-MAC is off while the card MACs
 * (the R-MACs would then pass as data): the host ends the session instead. Found by
 * fuzz_scp_host (regression seed fuzz/corpus/scp_host/regress-begin-rmac-sw).
 */
static void
test_scp02_begin_rmac_altered_sw(void **state)
{
	pair p;
	uint8_t cmd[16], w[PCARD_SCP_MAX_CMD], u[PCARD_SCP_MAX_CMD], r[PCARD_SCP_MAX_RSP],
	    o[PCARD_SCP_MAX_RSP];
	size_t n, nw, nu, nr, no;

	(void)state;
	pair_new(&p, 2, 0x75, 16);
	pair_open(&p, 0x03);
	assert_int_equal(pcard_scp02_begin_rmac_cmd(cmd, sizeof cmd, &n), PCARD_OK);
	assert_int_equal(pcard_scp_wrap_cmd(&p.h, cmd, n, w, sizeof w, &nw), PCARD_OK);
	assert_int_equal(pcard_scp_unwrap_cmd(&p.c, w, nw, u, sizeof u, &nu), PCARD_OK);
	assert_int_equal(pcard_scp_wrap_rsp(&p.c, NULL, 0, 0x9000, r, sizeof r, &nr), PCARD_OK);
	assert_int_equal(nr, 2);
	r[1] ^= 0x40;	/* 9000 -> 9040 on the way */
	assert_int_equal(pcard_scp_unwrap_rsp(&p.h, r, nr, o, sizeof o, &no), PCARD_E_MAC);
	assert_int_equal(pcard_scp_state_of(&p.h), PCARD_SCP_DEAD);
	n = plain_cmd(cmd, 0xCA, 0, 1, 1);
	assert_int_equal(pcard_scp_wrap_cmd(&p.h, cmd, n, w, sizeof w, &nw),
	    PCARD_E_SESSION_DEAD);
	pair_free(&p);

	/* A forged 9000 for a BEGIN the card refused is caught by the next (missing) R-MAC. */
	pair_new(&p, 2, 0x75, 16);
	pair_open(&p, 0x03);
	assert_int_equal(pcard_scp02_begin_rmac_cmd(cmd, sizeof cmd, &n), PCARD_OK);
	assert_int_equal(pcard_scp_wrap_cmd(&p.h, cmd, n, w, sizeof w, &nw), PCARD_OK);
	assert_int_equal(pcard_scp_unwrap_cmd(&p.c, w, nw, u, sizeof u, &nu), PCARD_OK);
	assert_int_equal(pcard_scp_wrap_rsp(&p.c, NULL, 0, 0x6985, r, sizeof r, &nr), PCARD_OK);
	r[0] = 0x90;
	r[1] = 0x00;
	assert_int_equal(pcard_scp_unwrap_rsp(&p.h, r, nr, o, sizeof o, &no), PCARD_OK);
	n = plain_cmd(cmd, 0xCA, 0, 1, 1);
	assert_int_equal(pcard_scp_wrap_cmd(&p.h, cmd, n, w, sizeof w, &nw), PCARD_OK);
	assert_int_equal(pcard_scp_unwrap_cmd(&p.c, w, nw, u, sizeof u, &nu), PCARD_OK);
	assert_int_equal(pcard_scp_wrap_rsp(&p.c, NULL, 0, 0x9000, r, sizeof r, &nr), PCARD_OK);
	assert_int_equal(pcard_scp_unwrap_rsp(&p.h, r, nr, o, sizeof o, &no), PCARD_E_MAC);
	pair_free(&p);
}

/* Calls out of order, bad arguments, wrong sides, and other errors the module returns. */
static void
test_errors(void **state)
{
	pair p;
	uint8_t cmd[300], out[300], rsp[64];
	size_t n, no, nr;
	uint32_t ns = 0;
	pcard_scp_host_params hp;
	pcard_scp_card_params cp;
	pcard_keyh kh;
	pcard_cipher_alg alg;

	(void)state;
	pair_new(&p, 3, 0x70, 16);
	n = plain_cmd(cmd, 0xCA, 0, 1, 0);
	/* before any session */
	assert_int_equal(pcard_scp_wrap_cmd(&p.h, cmd, n, out, sizeof out, &no), PCARD_E_STATE);
	assert_int_equal(pcard_scp_host_auth(&p.h, (const uint8_t *)"\x90\x00", 2),
	    PCARD_E_STATE);
	assert_int_equal(pcard_scp_max_data(&p.h), 0);
	assert_int_equal(pcard_scp_dek(&p.h, &kh, &alg), PCARD_E_STATE);
	assert_int_equal(pcard_scp_card_ext_auth(&p.c, cmd, n, &ns), PCARD_E_STATE);
	assert_int_equal(pcard_scp_unwrap_cmd(&p.c, cmd, n, out, sizeof out, &no), PCARD_E_STATE);
	assert_int_equal(pcard_scp_wrap_rsp(&p.c, NULL, 0, 0x9000, out, sizeof out, &no),
	    PCARD_E_STATE);
	assert_int_equal(pcard_scp_wrap_cmd(NULL, cmd, n, out, sizeof out, &no),
	    PCARD_E_INVALID_ARG);
	/* bad host parameters */
	memset(&hp, 0, sizeof hp);
	hp.host_chal_len = 12;
	assert_int_equal(pcard_scp_host_init_update(&p.h, p.hk, &p.hks, &hp, out, sizeof out,
	    &no), PCARD_E_INVALID_ARG);
	hp.host_chal_len = 8;
	hp.scp02_i = 0x1A;
	assert_int_equal(pcard_scp_host_init_update(&p.h, p.hk, &p.hks, &hp, out, sizeof out,
	    &no), PCARD_E_INVALID_ARG);
	hp.scp02_i = 0;
	assert_int_equal(pcard_scp_host_init_update(&p.h, p.hk, &p.hks, &hp, out, 5, &no),
	    PCARD_E_NOSPACE);
	/* the card answers an error SW to INITIALIZE UPDATE */
	assert_int_equal(pcard_scp_host_init_update(&p.h, p.hk, &p.hks, &hp, out, sizeof out,
	    &no), PCARD_OK);
	assert_int_equal(pcard_scp_host_auth(&p.h, (const uint8_t *)"\x6A\x88", 2),
	    PCARD_E_CARD_STATUS);
	assert_int_equal(pcard_scp_last_sw(&p.h), 0x6A88);
	/* responses of the wrong length, SCP01, unknown i */
	assert_int_equal(pcard_scp_host_init_update(&p.h, p.hk, &p.hks, &hp, cmd, sizeof cmd,
	    &n), PCARD_OK);
	memset(&cp, 0, sizeof cp);
	cp.scp = 3;
	cp.i = 0x70;
	cp.kvn = 0x30;
	cp.kdd = KDD;
	cp.seq = 1;
	cp.aid = AID;
	cp.aid_len = sizeof AID;
	assert_int_equal(pcard_scp_card_init_update(&p.c, p.ck, &p.cks, &cp, cmd, n, rsp,
	    sizeof rsp, &nr, &ns), PCARD_OK);
	assert_int_equal(ns, 2);
	memcpy(out, rsp, nr);
	out[nr - 3] = 0x90;	/* drop one byte */
	out[nr - 2] = 0x00;
	assert_int_equal(pcard_scp_host_auth(&p.h, out, nr - 1), PCARD_E_BAD_ENCODING);
	assert_int_equal(pcard_scp_host_init_update(&p.h, p.hk, &p.hks, &hp, cmd, sizeof cmd,
	    &n), PCARD_OK);
	memcpy(out, rsp, nr);
	out[11] = 0x01;
	assert_int_equal(pcard_scp_host_auth(&p.h, out, nr), PCARD_E_UNSUPPORTED);
	assert_int_equal(pcard_scp_host_init_update(&p.h, p.hk, &p.hks, &hp, cmd, sizeof cmd,
	    &n), PCARD_OK);
	memcpy(out, rsp, nr);
	out[12] = 0x80;
	assert_int_equal(pcard_scp_host_auth(&p.h, out, nr), PCARD_E_UNSUPPORTED);
	assert_int_equal(pcard_scp_host_init_update(&p.h, p.hk, &p.hks, &hp, cmd, sizeof cmd,
	    &n), PCARD_OK);
	assert_int_equal(pcard_scp_host_auth(&p.h, out, 1), PCARD_E_TRUNCATED);
	/* a host insisting on SCP02 gets an SCP03 answer */
	hp.scp = 2;
	assert_int_equal(pcard_scp_host_init_update(&p.h, p.hk, &p.hks, &hp, cmd, sizeof cmd,
	    &n), PCARD_OK);
	assert_int_equal(pcard_scp_host_auth(&p.h, rsp, nr), PCARD_E_BAD_ENCODING);
	hp.scp = 0;
	/* pseudo-random challenge that does not match the AID the host expects */
	hp.aid = KDD;
	hp.aid_len = 8;
	assert_int_equal(pcard_scp_host_init_update(&p.h, p.hk, &p.hks, &hp, cmd, sizeof cmd,
	    &n), PCARD_OK);
	assert_int_equal(pcard_scp_card_init_update(&p.c, p.ck, &p.cks, &cp, cmd, n, rsp,
	    sizeof rsp, &nr, &ns), PCARD_OK);
	assert_int_equal(pcard_scp_host_auth(&p.h, rsp, nr), PCARD_E_AUTH);
	/* card: wrong command, challenge length, exhausted counter, unsupported i */
	assert_int_equal(pcard_scp_card_init_update(&p.c, p.ck, &p.cks, &cp, cmd, 4, rsp,
	    sizeof rsp, &nr, &ns), PCARD_E_BAD_ENCODING);
	assert_int_equal(pcard_scp_card_sw(PCARD_E_BAD_ENCODING), 0x6700);
	cp.i = 0x71;
	assert_int_equal(pcard_scp_card_init_update(&p.c, p.ck, &p.cks, &cp, cmd, n, rsp,
	    sizeof rsp, &nr, &ns), PCARD_E_BAD_ENCODING);
	cp.i = 0x70;
	cp.seq = 0xFFFFFF;
	assert_int_equal(pcard_scp_card_init_update(&p.c, p.ck, &p.cks, &cp, cmd, n, rsp,
	    sizeof rsp, &nr, &ns), PCARD_E_STATE);
	assert_int_equal(pcard_scp_card_sw(PCARD_E_STATE), 0x6985);
	cp.seq = 1;
	cp.i = 0x40;
	assert_int_equal(pcard_scp_card_init_update(&p.c, p.ck, &p.cks, &cp, cmd, n, rsp,
	    sizeof rsp, &nr, &ns), PCARD_E_UNSUPPORTED);
	cp.i = 0x70;
	/* host: EXT AUTH answered with an error SW */
	p.i = 0x70;
	assert_int_equal(pair_iu(&p), PCARD_OK);
	assert_int_equal(pcard_scp_host_ext_auth(&p.h, 0x01, out, sizeof out, &no), PCARD_OK);
	assert_int_equal(pcard_scp_host_ext_auth_rsp(&p.h, (const uint8_t *)"\x63\x00", 2),
	    PCARD_E_CARD_STATUS);
	/* card: malformed EXT AUTH is answered 6700 and the card keeps waiting */
	assert_int_equal(pcard_scp_card_ext_auth(&p.c, out, 4, &ns), PCARD_E_BAD_ENCODING);
	assert_int_equal(pcard_scp_card_ext_auth(&p.c, out, no, &ns), PCARD_OK);
	/* sides are not interchangeable */
	assert_int_equal(pcard_scp_unwrap_cmd(&p.h, cmd, 4, out, sizeof out, &no), PCARD_E_STATE);
	assert_int_equal(pcard_scp_wrap_cmd(&p.c, cmd, 4, out, sizeof out, &no), PCARD_E_STATE);
	pair_free(&p);

	/* wrap: SM bit already set, extended APDU, not an APDU, too small a buffer */
	pair_new(&p, 3, 0x70, 16);
	pair_open(&p, 0x03);
	cmd[0] = 0x84;
	cmd[1] = 0xCA;
	cmd[2] = cmd[3] = 0;
	assert_int_equal(pcard_scp_wrap_cmd(&p.h, cmd, 4, out, sizeof out, &no),
	    PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_scp_wrap_cmd(&p.h, cmd, 3, out, sizeof out, &no),
	    PCARD_E_INVALID_ARG);
	cmd[0] = 0x80;
	cmd[4] = 0x00;
	cmd[5] = 0x00;
	cmd[6] = 0x02;
	cmd[7] = cmd[8] = 0x11;
	assert_int_equal(pcard_scp_wrap_cmd(&p.h, cmd, 9, out, sizeof out, &no),
	    PCARD_E_UNSUPPORTED);
	n = plain_cmd(cmd, 0xE2, 40, 0, 1);
	assert_int_equal(pcard_scp_wrap_cmd(&p.h, cmd, n, out, 20, &no), PCARD_E_NOSPACE);
	assert_int_equal(pcard_scp_max_data(&p.h), 239);	/* (255 - 8) / 16 * 16 - 1 */
	exchange(&p, cmd, n, 3, 0x9000);	/* nothing was chained by the failures */
	/* unwrap_rsp without a command */
	assert_int_equal(pcard_scp_unwrap_rsp(&p.h, (const uint8_t *)"\x90\x00", 2, out,
	    sizeof out, &no), PCARD_E_STATE);
	/* a command without the SM bit during a C-MAC session kills the card's session */
	n = plain_cmd(cmd, 0xCA, 0, 1, 1);
	assert_int_equal(pcard_scp_unwrap_cmd(&p.c, cmd, n, out, sizeof out, &no), PCARD_E_MAC);
	assert_int_equal(pcard_scp_dek(&p.h, &kh, &alg), PCARD_OK);
	assert_int_equal(kh, p.hks.dek);
	assert_int_equal(alg, PCARD_CIPHER_AES_CBC);
	pair_free(&p);

	/* keys of the wrong type */
	pair_new(&p, 3, 0x00, 16);
	pcard_keys_free(p.hk);
	make_keys(&p.hk, &p.hks, 2, 16, 0);
	assert_int_equal(pair_iu(&p), PCARD_E_KEY);
	pair_free(&p);
}

/* S16 and max Lc: the plaintext limit follows gp-facts 3.9. */
static void
test_max_data(void **state)
{
	pair p;

	(void)state;
	pair_new(&p, 3, 0x71, 16);
	pair_open(&p, 0x03);
	assert_int_equal(pcard_scp_max_data(&p.h), 223);	/* (255 - 16) / 16 * 16 - 1 */
	pair_free(&p);
	pair_new(&p, 3, 0x71, 16);
	pair_open(&p, 0x01);
	assert_int_equal(pcard_scp_max_data(&p.h), 239);
	pair_free(&p);
	pair_new(&p, 2, 0x55, 16);
	pair_open(&p, 0x03);
	assert_int_equal(pcard_scp_max_data(&p.h), 239);	/* (255 - 8) / 8 * 8 - 1 */
	pair_free(&p);
	pair_new(&p, 2, 0x55, 16);
	pair_open(&p, 0x00);
	assert_int_equal(pcard_scp_max_data(&p.h), 255);
	pair_free(&p);
}

/* A card behind the in-process transport, using the card side of the same module. */
typedef struct fake_card {
	pcard_keys *keys;
	pcard_scp_keyset ks;
	pcard_scp s;
	uint8_t i;
	uint32_t seq;
	unsigned ext_auths, commands;
} fake_card;

static pcard_err
fake_card_fn(void *ctx, const uint8_t *cmd, size_t n, uint8_t *resp, size_t cap,
    size_t *resp_len)
{
	fake_card *fc = ctx;
	uint8_t plain[PCARD_SCP_MAX_CMD];
	size_t np;
	uint32_t ns = 0;
	pcard_err err;
	pcard_scp_card_params cp;
	static const uint8_t hello[] = { 'h', 'e', 'l', 'l', 'o' };

	if (n >= 2 && cmd[1] == 0x50) {
		memset(&cp, 0, sizeof cp);
		cp.scp = 3;
		cp.i = fc->i;
		cp.kvn = 0x30;
		cp.kdd = KDD;
		cp.seq = fc->seq;
		cp.aid = AID;
		cp.aid_len = sizeof AID;
		err = pcard_scp_card_init_update(&fc->s, fc->keys, &fc->ks, &cp, cmd, n, resp, cap,
		    resp_len, &ns);
		if (err == PCARD_OK) {
			fc->seq = ns;
			return PCARD_OK;
		}
	} else if (n >= 2 && cmd[1] == 0x82) {
		fc->ext_auths++;
		err = pcard_scp_card_ext_auth(&fc->s, cmd, n, &ns);
	} else {
		fc->commands++;
		err = pcard_scp_unwrap_cmd(&fc->s, cmd, n, plain, sizeof plain, &np);
		if (err == PCARD_OK)
			return pcard_scp_wrap_rsp(&fc->s, hello, sizeof hello, 0x9000, resp, cap,
			    resp_len);
	}
	if (cap < 2)
		return PCARD_E_NOSPACE;
	resp[0] = (uint8_t)(pcard_scp_card_sw(err) >> 8);
	resp[1] = (uint8_t)pcard_scp_card_sw(err);
	*resp_len = 2;
	return PCARD_OK;
}

static void
test_open_transport(void **state)
{
	fake_card fc;
	pcard_transport *t = NULL;
	pcard_keys *hk = NULL;
	pcard_scp_keyset hks;
	pcard_scp_host_params hp;
	pcard_scp s;
	uint8_t cmd[16], out[64];
	size_t n, no;
	uint16_t sw = 0;

	(void)state;
	memset(&fc, 0, sizeof fc);
	fc.i = 0x71;		/* S16: the host's first 8-byte challenge gets 6700 */
	fc.seq = 3;
	make_keys(&fc.keys, &fc.ks, 3, 32, 0);
	make_keys(&hk, &hks, 3, 32, 0);
	pcard_scp_init(&fc.s);
	pcard_scp_init(&s);
	assert_int_equal(pcard_inproc_open(fake_card_fn, NULL, &fc, &t), PCARD_OK);
	memset(&hp, 0, sizeof hp);
	hp.aid = AID;
	hp.aid_len = sizeof AID;
	assert_int_equal(pcard_scp_open(t, hk, &hks, &hp, 0x33, &s, &sw), PCARD_OK);
	assert_int_equal(sw, 0x9000);
	assert_int_equal(pcard_scp_i(&s), 0x71);
	assert_int_equal(fc.seq, 4);
	n = plain_cmd(cmd, 0xCA, 3, 1, 1);
	assert_int_equal(pcard_scp_transmit(t, &s, cmd, n, out, sizeof out, &no), PCARD_OK);
	assert_int_equal(no, 7);
	assert_memory_equal(out, "hello\x90\x00", 7);
	/* the card refuses a level its i lacks: s is cleared */
	fc.i = 0x10;
	assert_int_equal(pcard_scp_open(t, hk, &hks, &hp, 0x33, &s, &sw),
	    PCARD_E_SECURITY_LEVEL);
	assert_int_equal(pcard_scp_state_of(&s), PCARD_SCP_NONE);
	/* wrong keys: the card cryptogram fails and EXTERNAL AUTHENTICATE is never sent */
	pcard_keys_free(hk);
	make_keys(&hk, &hks, 3, 32, 1);
	fc.i = 0x70;
	fc.ext_auths = 0;
	assert_int_equal(pcard_scp_open(t, hk, &hks, &hp, 0x03, &s, &sw), PCARD_E_AUTH);
	assert_int_equal(fc.ext_auths, 0);
	assert_int_equal(pcard_scp_state_of(&s), PCARD_SCP_NONE);
	assert_int_equal(pcard_scp_transmit(t, &s, cmd, n, out, sizeof out, &no), PCARD_E_STATE);
	/* matching keys again: the same s opens a new session */
	pcard_keys_free(hk);
	make_keys(&hk, &hks, 3, 32, 0);
	assert_int_equal(pcard_scp_open(t, hk, &hks, &hp, 0x03, &s, &sw), PCARD_OK);
	assert_int_equal(pcard_scp_open(NULL, hk, &hks, &hp, 0x03, &s, &sw), PCARD_E_INVALID_ARG);
	pcard_scp_clear(&s);
	pcard_scp_clear(&fc.s);
	pcard_transport_close(t);
	pcard_keys_free(hk);
	pcard_keys_free(fc.keys);
}

/* EXT AUTH answered with an error SW over the transport. */
static pcard_err
refuse_ext_auth_fn(void *ctx, const uint8_t *cmd, size_t n, uint8_t *resp, size_t cap,
    size_t *resp_len)
{
	if (n >= 2 && cmd[1] == 0x82) {
		resp[0] = 0x63;
		resp[1] = 0x00;
		*resp_len = 2;
		return PCARD_OK;
	}
	return fake_card_fn(ctx, cmd, n, resp, cap, resp_len);
}

static void
test_open_refused(void **state)
{
	fake_card fc;
	pcard_transport *t = NULL;
	pcard_keys *hk = NULL;
	pcard_scp_keyset hks;
	pcard_scp_host_params hp;
	pcard_scp s;
	uint16_t sw = 0;

	(void)state;
	memset(&fc, 0, sizeof fc);
	fc.i = 0x70;
	make_keys(&fc.keys, &fc.ks, 3, 16, 0);
	make_keys(&hk, &hks, 3, 16, 0);
	pcard_scp_init(&fc.s);
	pcard_scp_init(&s);
	assert_int_equal(pcard_inproc_open(refuse_ext_auth_fn, NULL, &fc, &t), PCARD_OK);
	memset(&hp, 0, sizeof hp);
	assert_int_equal(pcard_scp_open(t, hk, &hks, &hp, 0x01, &s, &sw), PCARD_E_CARD_STATUS);
	assert_int_equal(sw, 0x6300);
	pcard_scp_clear(&fc.s);
	pcard_transport_close(t);
	pcard_keys_free(hk);
	pcard_keys_free(fc.keys);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scp03_matrix),
		cmocka_unit_test(test_scp02_matrix),
		cmocka_unit_test(test_tamper),
		cmocka_unit_test(test_cryptogram_flips),
		cmocka_unit_test(test_scp02_rmac_session),
		cmocka_unit_test(test_scp02_begin_rmac_altered_sw),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_max_data),
		cmocka_unit_test(test_open_transport),
		cmocka_unit_test(test_open_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
