/*
 * scp_fuzz.h: the structure-aware driver shared by fuzz_scp_host.c and fuzz_scp_card.c.
 * Each input drives one host<->card session with fixed keys:
 *
 *   byte 0  mode: 0 = valid traffic (MACs computed over fuzzed plaintext, so the fuzzer gets
 *           past the MAC checks; every exchange must round-trip exactly), 1 = the same with
 *           the wrapped bytes mutated before they are unwrapped, 2 = raw bytes fed to the
 *           unwrap / authentication functions of the focused side
 *   byte 1  SCP and i (index into a table), byte 2 level, byte 3 key length
 *   then    records: len(1) bytes[len]; each record is one command (INS P1 P2 data...) and
 *           its response (SW selector, response length), or in mode 1 a mutation
 *           (offset, xor), or in mode 2 the raw bytes
 *
 * Invariant violations abort(): a valid exchange that fails or changes the bytes, a mutated
 * command or response accepted with different contents, a session that does not stay dead.
 */
#ifndef PCARD_SCP_FUZZ_H
#define PCARD_SCP_FUZZ_H

#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "postcard/bytes.h"
#include "postcard/keys.h"
#include "postcard/scp.h"

enum { FOCUS_HOST = 0, FOCUS_CARD = 1 };

static const uint8_t fz_aid[] = { 0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00 };
static const uint8_t fz_kdd[10] = { 0 };
static const struct { uint8_t scp, i; } fz_modes[] = {
	{ 3, 0x00 }, { 3, 0x10 }, { 3, 0x20 }, { 3, 0x30 }, { 3, 0x60 }, { 3, 0x70 },
	{ 3, 0x01 }, { 3, 0x11 }, { 3, 0x21 }, { 3, 0x31 }, { 3, 0x61 }, { 3, 0x71 },
	{ 2, 0x15 }, { 2, 0x35 }, { 2, 0x55 }, { 2, 0x75 },
};
static const uint8_t fz_levels[] = { 0x00, 0x01, 0x03, 0x10, 0x11, 0x13, 0x33 };

typedef struct fz {
	pcard_keys *hk, *ck;
	pcard_scp_keyset hks, cks;
	pcard_scp h, c;
	uint8_t scp, i, level;
	/* an altered command was accepted (no C-MAC at this level): the two ends may now
	 * disagree, e.g. on an R-MAC session, until the next INITIALIZE UPDATE */
	int tainted;
} fz;

#define FZ_CHECK(x) do { if (!(x)) { fprintf(stderr, "FZ_CHECK failed at %s:%d: %s\n", __FILE__, __LINE__, #x); abort(); } } while (0)

static int
fz_keys(pcard_keys **k, pcard_scp_keyset *ks, uint8_t scp, size_t klen)
{
	uint8_t key[32 + 2];	/* three overlapping keys: key, key + 1, key + 2 */
	size_t j;
	pcard_keytype t = scp == 3 ? PCARD_KEY_AES : PCARD_KEY_DES3;

	for (j = 0; j < sizeof key; j++)
		key[j] = (uint8_t)(0x40 + j);
	if (pcard_keys_mem_new(16, k) != PCARD_OK)
		return -1;
	if (pcard_keys_mem_import(*k, NULL, t, key, klen, &ks->enc) != PCARD_OK ||
	    pcard_keys_mem_import(*k, NULL, t, key + 1, klen, &ks->mac) != PCARD_OK ||
	    pcard_keys_mem_import(*k, NULL, t, key + 2, klen, &ks->dek) != PCARD_OK)
		return -1;
	return 0;
}

/* INITIALIZE UPDATE and EXTERNAL AUTHENTICATE; 0 when the channel is open. */
static int
fz_open(fz *f)
{
	uint8_t cmd[64], rsp[64];
	size_t nc, nr;
	uint32_t ns;
	pcard_scp_host_params hp;
	pcard_scp_card_params cp;

	memset(&hp, 0, sizeof hp);
	hp.scp02_i = f->scp == 2 ? f->i : 0;
	hp.host_chal_len = (f->scp == 3 && (f->i & 1)) ? 16 : 8;
	hp.aid = fz_aid;
	hp.aid_len = sizeof fz_aid;
	memset(&cp, 0, sizeof cp);
	cp.scp = f->scp;
	cp.i = f->i;
	cp.kvn = 0x30;
	cp.kdd = fz_kdd;
	cp.seq = 5;
	cp.aid = fz_aid;
	cp.aid_len = sizeof fz_aid;
	FZ_CHECK(pcard_scp_host_init_update(&f->h, f->hk, &f->hks, &hp, cmd, sizeof cmd, &nc) ==
	    PCARD_OK);
	FZ_CHECK(pcard_scp_card_init_update(&f->c, f->ck, &f->cks, &cp, cmd, nc, rsp, sizeof rsp,
	    &nr, &ns) == PCARD_OK);
	FZ_CHECK(pcard_scp_host_auth(&f->h, rsp, nr) == PCARD_OK);
	if (!pcard_scp_level_ok(f->scp, f->i, f->level)) {
		FZ_CHECK(pcard_scp_host_ext_auth(&f->h, f->level, cmd, sizeof cmd, &nc) ==
		    PCARD_E_SECURITY_LEVEL);
		return -1;
	}
	FZ_CHECK(pcard_scp_host_ext_auth(&f->h, f->level, cmd, sizeof cmd, &nc) == PCARD_OK);
	FZ_CHECK(pcard_scp_card_ext_auth(&f->c, cmd, nc, &ns) == PCARD_OK);
	FZ_CHECK(pcard_scp_host_ext_auth_rsp(&f->h, (const uint8_t *)"\x90\x00", 2) == PCARD_OK);
	f->tainted = 0;
	return 0;
}

/* Build a plain command from a record: INS P1 P2 [Le flag] data; data clipped to the limit. */
static size_t
fz_plain(const fz *f, const uint8_t *r, size_t n, uint8_t *out)
{
	size_t len = 0, max = pcard_scp_max_data(&f->h), dn;

	out[len++] = 0x80;
	out[len++] = n > 0 ? r[0] : 0xCA;
	out[len++] = n > 1 ? r[1] : 0;
	out[len++] = n > 2 ? r[2] : 0;
	dn = n > 4 ? n - 4 : 0;
	if (dn > max)
		dn = max;
	if (dn > 0) {
		out[len++] = (uint8_t)dn;
		memcpy(out + len, r + 4, dn);
		len += dn;
	}
	if (n > 3 && (r[3] & 1))
		out[len++] = r[3];
	return len;
}

static const uint16_t fz_sws[] = { 0x9000, 0x6310, 0x6283, 0x6A88, 0x6982, 0x6700 };

/* One exchange. mutate: 0 none, 1 the wrapped command, 2 the wrapped response. */
static void
fz_exchange(fz *f, const uint8_t *r, size_t n, int mutate, size_t off, uint8_t x)
{
	uint8_t cmd[PCARD_SCP_MAX_CMD], w[PCARD_SCP_MAX_CMD], u[PCARD_SCP_MAX_CMD],
	    rsp[PCARD_SCP_MAX_RSP], pr[PCARD_SCP_MAX_RSP], data[256];
	size_t nc, nw, nu, nr, npr, dl;
	uint16_t sw;
	pcard_err err;

	nc = fz_plain(f, r, n, cmd);
	if (pcard_scp_wrap_cmd(&f->h, cmd, nc, w, sizeof w, &nw) != PCARD_OK)
		return;	/* e.g. a plain BEGIN R-MAC SESSION the state refuses */
	if (mutate == 1 && nw > 0)
		w[off % nw] ^= x;
	err = pcard_scp_unwrap_cmd(&f->c, w, nw, u, sizeof u, &nu);
	if (err == PCARD_E_SECURITY_LEVEL || err == PCARD_E_STATE) {
		/* BEGIN/END R-MAC refused by the card; still answered */
		FZ_CHECK(pcard_scp_state_of(&f->c) == PCARD_SCP_OPEN);
	} else if (err != PCARD_OK) {
		FZ_CHECK((mutate == 1 && x != 0) || f->tainted);
		FZ_CHECK(pcard_scp_state_of(&f->c) == PCARD_SCP_DEAD);
		FZ_CHECK(pcard_scp_unwrap_cmd(&f->c, w, nw, u, sizeof u, &nu) ==
		    PCARD_E_SESSION_DEAD);
		return;
	} else if (mutate == 1 && x != 0 && !(f->level & PCARD_SCP_CMAC)) {
		f->tainted = 1;	/* nothing protects this command: it went through altered */
	} else {
		/* accepted: must be exactly the plain command (a MACed one cannot change, but
		 * for its Le and the logical channel bits, which no SCP MACs) */
		size_t le = (n > 3 && (r[3] & 1)) ? 1 : 0;
		uint8_t chan = (u[0] & 0x40) ? 0x0F : 0x03;

		FZ_CHECK(nu == nc && (u[0] & (uint8_t)~chan) == cmd[0] &&
		    memcmp(u + 1, cmd + 1, nc - 1 - le) == 0);
	}
	sw = fz_sws[(n > 3 ? r[3] >> 1 : 0) % (sizeof fz_sws / sizeof fz_sws[0])];
	if (err != PCARD_OK)
		sw = pcard_scp_card_sw(err);
	dl = n > 4 ? (r[4] * 7u) % 200 : 0;
	memset(data, 0xA5, dl);
	if (n > 5)
		memcpy(data, r + 5, n - 5 < dl ? n - 5 : dl);
	FZ_CHECK(pcard_scp_wrap_rsp(&f->c, data, dl, sw, rsp, sizeof rsp, &nr) == PCARD_OK);
	if (mutate == 2 && nr > 0)
		rsp[off % nr] ^= x;
	err = pcard_scp_unwrap_rsp(&f->h, rsp, nr, pr, sizeof pr, &npr);
	if (err != PCARD_OK) {
		/* a response fails only when something was altered: the response itself, or a
		 * command the card took unMACed (levels without C-MAC; SCP02 R-MAC covers it);
		 * or when BEGIN R-MAC SESSION got anything but 9000 (its SW is not MACed, so the
		 * host ends the session rather than guess whether R-MAC is on) */
		FZ_CHECK((mutate != 0 && x != 0) || f->tainted ||
		    (f->scp == 2 && nc >= 2 && cmd[1] == 0x7A));
		FZ_CHECK(pcard_scp_state_of(&f->h) == PCARD_SCP_DEAD);
		FZ_CHECK(pcard_scp_wrap_cmd(&f->h, cmd, nc, w, sizeof w, &nw) ==
		    PCARD_E_SESSION_DEAD);
		return;
	}
	if ((mutate == 0 || x == 0) && !f->tainted) {
		size_t want = dl;

		if (f->scp == 3 && (f->level & PCARD_SCP_RMAC) && sw != 0x9000 &&
		    (sw >> 8) != 0x62 && (sw >> 8) != 0x63)
			want = 0;
		FZ_CHECK(npr == want + 2 && memcmp(pr, data, want) == 0);
		FZ_CHECK((pr[want] << 8 | pr[want + 1]) == sw);
	}
}

static void
fz_raw(fz *f, int focus, const uint8_t *r, size_t n)
{
	uint8_t out[PCARD_SCP_MAX_RSP + 64], cmd[16];
	size_t no, nc;
	uint32_t ns;

	if (focus == FOCUS_CARD) {
		(void)pcard_scp_unwrap_cmd(&f->c, r, n, out, sizeof out, &no);
		if (pcard_scp_state_of(&f->c) == PCARD_SCP_OPEN)
			(void)pcard_scp_wrap_rsp(&f->c, r, n > 256 ? 256 : n, 0x9000, out,
			    sizeof out, &no);
	} else {
		nc = fz_plain(f, r, n > 8 ? 8 : n, cmd);
		if (pcard_scp_wrap_cmd(&f->h, cmd, nc, out, sizeof out, &no) == PCARD_OK)
			(void)pcard_scp_unwrap_rsp(&f->h, r, n, out, sizeof out, &no);
	}
	(void)ns;
}

/* Raw bytes as INITIALIZE UPDATE (card), its response (host), EXTERNAL AUTHENTICATE (card). */
static void
fz_raw_auth(fz *f, int focus, const uint8_t *r, size_t n)
{
	uint8_t out[128], cmd[64];
	size_t no, nc;
	uint32_t ns;
	pcard_scp_host_params hp;
	pcard_scp_card_params cp;

	memset(&cp, 0, sizeof cp);
	cp.scp = f->scp;
	cp.i = f->i;
	cp.kvn = 0x30;
	cp.kdd = fz_kdd;
	cp.seq = 5;
	cp.aid = fz_aid;
	cp.aid_len = sizeof fz_aid;
	if (focus == FOCUS_CARD) {
		(void)pcard_scp_card_init_update(&f->c, f->ck, &f->cks, &cp, r, n, out, sizeof out,
		    &no, &ns);
		(void)pcard_scp_card_ext_auth(&f->c, r, n, &ns);
		return;
	}
	memset(&hp, 0, sizeof hp);
	hp.scp02_i = f->scp == 2 ? f->i : 0;
	hp.host_chal_len = n > 0 && (r[0] & 1) ? 16 : 8;
	hp.aid = fz_aid;
	hp.aid_len = sizeof fz_aid;
	if (pcard_scp_host_init_update(&f->h, f->hk, &f->hks, &hp, cmd, sizeof cmd, &nc) !=
	    PCARD_OK)
		return;
	if (pcard_scp_host_auth(&f->h, r, n) == PCARD_OK)
		(void)pcard_scp_host_ext_auth(&f->h, n > 0 ? r[0] : 0, out, sizeof out, &no);
}

static int
fz_run(int focus, const uint8_t *data, size_t size)
{
	pcard_rd rd;
	uint8_t mode, sel, lsel, ksel, len;
	const uint8_t *rec;
	fz f;

	if (size < 4)
		return 0;
	memset(&f, 0, sizeof f);
	mode = data[0] % 3;
	sel = data[1];
	lsel = data[2];
	ksel = data[3];
	f.scp = fz_modes[sel % (sizeof fz_modes / sizeof fz_modes[0])].scp;
	f.i = fz_modes[sel % (sizeof fz_modes / sizeof fz_modes[0])].i;
	f.level = fz_levels[lsel % sizeof fz_levels];
	pcard_scp_init(&f.h);
	pcard_scp_init(&f.c);
	if (fz_keys(&f.hk, &f.hks, f.scp, f.scp == 3 ? 16 + 8 * (ksel % 3) : 16) != 0 ||
	    fz_keys(&f.ck, &f.cks, f.scp, f.scp == 3 ? 16 + 8 * (ksel % 3) : 16) != 0)
		goto out;
	pcard_rd_init(&rd, data + 4, size - 4);
	if (mode == 2 && (ksel & 0x80)) {
		/* raw bytes against session setup */
		while (pcard_rd_u8(&rd, &len) == PCARD_OK &&
		    pcard_rd_view(&rd, len, &rec) == PCARD_OK)
			fz_raw_auth(&f, focus, rec, len);
		goto out;
	}
	if (fz_open(&f) != 0)
		goto out;
	while (pcard_rd_u8(&rd, &len) == PCARD_OK && pcard_rd_view(&rd, len, &rec) == PCARD_OK) {
		if (mode == 0) {
			fz_exchange(&f, rec, len, 0, 0, 0);
		} else if (mode == 1) {
			/* first two bytes: where and what to flip; the rest is the command */
			if (len < 2)
				continue;
			fz_exchange(&f, rec + 2, len - 2U, focus == FOCUS_CARD ? 1 : 2, rec[0],
			    rec[1]);
		} else {
			fz_raw(&f, focus, rec, len);
		}
		if (pcard_scp_state_of(&f.h) != PCARD_SCP_OPEN ||
		    pcard_scp_state_of(&f.c) != PCARD_SCP_OPEN) {
			if (fz_open(&f) != 0)
				goto out;
		}
	}
out:
	pcard_scp_clear(&f.h);
	pcard_scp_clear(&f.c);
	pcard_keys_free(f.hk);
	pcard_keys_free(f.ck);
	return 0;
}

#endif
