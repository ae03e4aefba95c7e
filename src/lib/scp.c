/*
 * scp.c: the secure-channel state machine shared by SCP02 and SCP03, host and card: session
 * setup (INITIALIZE UPDATE, EXTERNAL AUTHENTICATE), security-level rules, the dead-session
 * rule, and dispatch of wrap/unwrap to scp03.c and scp02.c.
 *
 * INITIALIZE UPDATE response (gp-facts 3.4), common prefix parsed here:
 *
 *   KDD(10) KVN(1) SCP(1) | SCP02: seq(2) card-chal(6) cryptogram(8)
 *                         | SCP03: i(1) card-chal(8|16) cryptogram(8|16) [seq(3) if i & 10]
 *
 * EXTERNAL AUTHENTICATE: 84 82 level 00 Lc host-cryptogram(8|16) C-MAC(8|16), its C-MAC
 * computed from a zero chaining value / ICV.
 */
#include <string.h>

#include "postcard/apdu.h"
#include "postcard/bytes.h"
#include "postcard/crypto.h"
#include "postcard/scp.h"
#include "scp_int.h"

uint8_t
scp_cla_sm(uint8_t cla)
{
	return (cla & 0x40) ? 0x20 : 0x04;
}

uint8_t
scp_cla_chan(uint8_t cla)
{
	return (cla & 0x40) ? 0x0F : 0x03;
}

int
scp_sw_protected(uint16_t sw)
{
	return sw == 0x9000 || (sw >> 8) == 0x62 || (sw >> 8) == 0x63;
}

size_t
scp_mac_len(const pcard_scp *s)
{
	return (s->scp == 3 && s->s16) ? 16 : 8;
}

void
scp_release(pcard_scp *s)
{
	if (s->keys != NULL) {
		pcard_keys_release(s->keys, s->s_enc);
		pcard_keys_release(s->keys, s->s_mac);
		pcard_keys_release(s->keys, s->s_rmac);
		pcard_keys_release(s->keys, s->s_dek);
	}
	s->s_enc = s->s_mac = s->s_rmac = s->s_dek = PCARD_KEYH_NONE;
}

pcard_err
scp_kill(pcard_scp *s, pcard_err err)
{
	scp_release(s);
	s->state = PCARD_SCP_DEAD;
	s->level = 0;
	s->rmac_on = 0;
	s->pend = SCP_PEND_NONE;
	s->expect_rsp = 0;
	pcard_wipe(s->chain, sizeof s->chain);
	pcard_wipe(s->rchain, sizeof s->rchain);
	pcard_wipe(s->last_cmd, sizeof s->last_cmd);
	s->last_cmd_len = 0;
	return err;
}

void
scp_put_cmd(pcard_wr *w, uint8_t cla, const pcard_apdu *a, const uint8_t *d1, size_t n1,
    const uint8_t *d2, size_t n2)
{
	pcard_wr_u8(w, cla);
	pcard_wr_u8(w, a->ins);
	pcard_wr_u8(w, a->p1);
	pcard_wr_u8(w, a->p2);
	if (n1 + n2 > 0) {
		pcard_wr_u8(w, (uint8_t)(n1 + n2));
		pcard_wr_bytes(w, d1, n1);
		pcard_wr_bytes(w, d2, n2);
	}
	if (a->has_le)
		pcard_wr_u8(w, (uint8_t)(a->le & 0xFF));	/* 256 -> 00 */
}

void
scp_note_cmd(pcard_scp *s, const pcard_apdu *a, const uint8_t *data, size_t n)
{
	if (n > 255)
		n = 255;	/* callers check lengths; never overrun */
	s->last_cmd[0] = a->cla & (uint8_t)~(scp_cla_sm(a->cla) | scp_cla_chan(a->cla));
	s->last_cmd[1] = a->ins;
	s->last_cmd[2] = a->p1;
	s->last_cmd[3] = a->p2;
	s->last_cmd[4] = (uint8_t)n;
	if (n > 0)
		memcpy(s->last_cmd + 5, data, n);
	s->last_cmd_len = 5 + n;
}

void
pcard_scp_init(pcard_scp *s)
{
	if (s == NULL)
		return;
	memset(s, 0, sizeof *s);
}

void
pcard_scp_clear(pcard_scp *s)
{
	if (s == NULL)
		return;
	scp_release(s);
	pcard_wipe(s, sizeof *s);
	memset(s, 0, sizeof *s);
}

int
pcard_scp_level_ok(uint8_t scp, uint8_t i, uint8_t level)
{
	if (scp == 3) {
		if (level != 0x00 && level != 0x01 && level != 0x03 && level != 0x11 &&
		    level != 0x13 && level != 0x33)
			return 0;
		if ((level & PCARD_SCP_RMAC) && !(i & PCARD_SCP03_I_RMAC))
			return 0;
		if ((level & PCARD_SCP_RENC) && !(i & PCARD_SCP03_I_RENC))
			return 0;
		return 1;
	}
	if (scp == 2) {
		if (level != 0x00 && level != 0x01 && level != 0x03 && level != 0x10 &&
		    level != 0x11 && level != 0x13)
			return 0;
		if ((level & PCARD_SCP_RMAC) && !(i & PCARD_SCP02_I_RMAC))
			return 0;
		return 1;
	}
	return 0;
}

static int
scp02_i_ok(uint8_t i)
{
	return i == 0x15 || i == 0x35 || i == 0x55 || i == 0x75;
}

static int
scp03_i_ok(uint8_t i)
{
	uint8_t base = i & (uint8_t)~PCARD_SCP03_I_S16;

	return base == 0x00 || base == 0x10 || base == 0x20 || base == 0x30 || base == 0x60 ||
	    base == 0x70;
}

/* Session fields reset for a new INITIALIZE UPDATE; static handles and provider are set by
 * the caller afterwards. */
static void
reset_session(pcard_scp *s, uint8_t side)
{
	pcard_scp_clear(s);
	s->side = side;
	s->state = PCARD_SCP_NONE;
}

/*
 * The checks every entry point makes first, in this order: a call for the other side is
 * PCARD_E_STATE, a killed session PCARD_E_SESSION_DEAD (until a new INITIALIZE UPDATE), any
 * state but the one the call needs PCARD_E_STATE.
 */
static pcard_err
session_ready(const pcard_scp *s, pcard_scp_side side, pcard_scp_state state)
{
	if (s->side != side)
		return PCARD_E_STATE;
	if (s->state == PCARD_SCP_DEAD)
		return PCARD_E_SESSION_DEAD;
	return s->state == state ? PCARD_OK : PCARD_E_STATE;
}

/* ------------------------------------------------------------------------------------------ */
/* Host */

pcard_err
pcard_scp_host_init_update(pcard_scp *s, pcard_keys *keys, const pcard_scp_keyset *ks,
    const pcard_scp_host_params *p, uint8_t *out, size_t out_cap, size_t *out_len)
{
	pcard_wr w;
	size_t clen;
	pcard_err err = PCARD_E_INTERNAL;

	if (s == NULL || keys == NULL || ks == NULL || p == NULL || out_len == NULL)
		return PCARD_E_INVALID_ARG;
	reset_session(s, PCARD_SCP_HOST);
	clen = p->host_chal_len == 0 ? 8 : p->host_chal_len;
	if ((clen != 8 && clen != 16) || (p->aid == NULL && p->aid_len != 0) ||
	    p->aid_len > PCARD_SCP_MAX_AID || (p->scp != 0 && p->scp != 2 && p->scp != 3) ||
	    (p->scp02_i != 0 && !scp02_i_ok(p->scp02_i)) || (p->scp == 2 && clen != 8) ||
	    p->max_lc > 255 || (p->max_lc != 0 && p->max_lc < 32)) {
		err = PCARD_E_INVALID_ARG;
		goto out;
	}
	s->keys = keys;
	s->st = *ks;
	s->kvn = p->kvn;
	s->scp = p->scp;	/* expected SCP until the response tells */
	s->i = p->scp02_i == 0 ? 0x55 : p->scp02_i;	/* SCP02 only; SCP03 reads it */
	s->max_lc = p->max_lc == 0 ? 255 : p->max_lc;
	s->host_chal_len = clen;
	if (p->aid_len > 0)
		memcpy(s->aid, p->aid, p->aid_len);
	s->aid_len = p->aid_len;
	s->expect_kvn = p->expect_kvn;
	if (p->host_chal != NULL)
		memcpy(s->host_chal, p->host_chal, clen);
	else if ((err = pcard_random(s->host_chal, clen)) != PCARD_OK)
		goto out;
	pcard_wr_init(&w, out, out_cap);
	pcard_wr_u8(&w, 0x80);
	pcard_wr_u8(&w, SCP_INS_INIT_UPDATE);
	pcard_wr_u8(&w, p->kvn);
	pcard_wr_u8(&w, 0x00);
	pcard_wr_u8(&w, (uint8_t)clen);
	pcard_wr_bytes(&w, s->host_chal, clen);
	pcard_wr_u8(&w, 0x00);
	if ((err = pcard_wr_finish(&w, out_len)) != PCARD_OK)
		goto out;
	s->state = PCARD_SCP_INITIALIZED;
	err = PCARD_OK;
out:
	if (err != PCARD_OK)
		reset_session(s, PCARD_SCP_HOST);
	return err;
}

pcard_err
pcard_scp_host_auth(pcard_scp *s, const uint8_t *rsp, size_t n)
{
	pcard_rd r;
	uint8_t kvn, scp;
	pcard_err err = PCARD_E_INTERNAL;

	if (s == NULL || (rsp == NULL && n > 0))
		return PCARD_E_INVALID_ARG;
	if ((err = session_ready(s, PCARD_SCP_HOST, PCARD_SCP_INITIALIZED)) != PCARD_OK)
		return err;
	if (s->s_mac != PCARD_KEYH_NONE)
		return PCARD_E_STATE;
	if (n < 2) {
		err = PCARD_E_TRUNCATED;
		goto out;
	}
	s->last_sw = (uint16_t)(rsp[n - 2] << 8 | rsp[n - 1]);
	if (s->last_sw != 0x9000) {
		err = PCARD_E_CARD_STATUS;
		goto out;
	}
	pcard_rd_init(&r, rsp, n - 2);
	if ((err = pcard_rd_copy(&r, PCARD_SCP_KDD_BYTES, s->kdd)) != PCARD_OK ||
	    (err = pcard_rd_u8(&r, &kvn)) != PCARD_OK ||
	    (err = pcard_rd_u8(&r, &scp)) != PCARD_OK)
		goto out;
	if (s->scp != 0 && scp != s->scp) {
		err = PCARD_E_BAD_ENCODING;
		goto out;
	}
	if (s->expect_kvn != 0 && kvn != s->expect_kvn) {
		err = PCARD_E_KEY;
		goto out;
	}
	s->kvn = kvn;
	s->scp = scp;
	if (scp == 3)
		err = scp03_host_auth(s, &r);
	else if (scp == 2)
		err = scp02_host_auth(s, &r);
	else
		err = PCARD_E_UNSUPPORTED;
out:
	if (err == PCARD_E_AUTH)
		return scp_kill(s, err);
	if (err != PCARD_OK) {
		/* nothing verified yet: the session simply ends */
		scp_release(s);
		s->state = PCARD_SCP_NONE;
	}
	return err;
}

pcard_err
pcard_scp_host_ext_auth(pcard_scp *s, uint8_t level, uint8_t *out, size_t out_cap,
    size_t *out_len)
{
	uint8_t hdr[4] = { 0x84, SCP_INS_EXT_AUTH, 0, 0x00 };
	uint8_t crypt[16], mac[16];
	size_t clen;
	pcard_wr w;
	pcard_err err = PCARD_E_INTERNAL;

	if (s == NULL || out_len == NULL)
		return PCARD_E_INVALID_ARG;
	if ((err = session_ready(s, PCARD_SCP_HOST, PCARD_SCP_INITIALIZED)) != PCARD_OK)
		return err;
	if (s->s_mac == PCARD_KEYH_NONE)
		return PCARD_E_STATE;
	if (!pcard_scp_level_ok(s->scp, s->i, level))
		return PCARD_E_SECURITY_LEVEL;
	hdr[2] = level;
	clen = scp_mac_len(s);
	if (s->scp == 3) {
		if ((err = scp03_cryptogram(s, 0x01, crypt)) != PCARD_OK ||
		    (err = scp03_ext_auth_mac(s, hdr, crypt, mac)) != PCARD_OK)
			goto out;
	} else {
		if ((err = scp02_cryptogram(s, 0, crypt)) != PCARD_OK ||
		    (err = scp02_ext_auth_mac(s, hdr, crypt, mac)) != PCARD_OK)
			goto out;
	}
	pcard_wr_init(&w, out, out_cap);
	pcard_wr_bytes(&w, hdr, 4);
	pcard_wr_u8(&w, (uint8_t)(2 * clen));
	pcard_wr_bytes(&w, crypt, clen);
	pcard_wr_bytes(&w, mac, clen);
	if ((err = pcard_wr_finish(&w, out_len)) != PCARD_OK)
		goto out;
	/* the chaining value now follows the EXTERNAL AUTHENTICATE C-MAC */
	s->level = level;
	s->enc_counter = 0;
	s->rmac_on = (level & PCARD_SCP_RMAC) ? 1 : 0;
	memset(s->rchain, 0, sizeof s->rchain);
	s->state = PCARD_SCP_OPEN;
	s->expect_rsp = 0;
	err = PCARD_OK;
out:
	pcard_wipe(crypt, sizeof crypt);
	pcard_wipe(mac, sizeof mac);
	if (err != PCARD_OK && err != PCARD_E_NOSPACE)
		return scp_kill(s, err);
	return err;
}

pcard_err
pcard_scp_host_ext_auth_rsp(pcard_scp *s, const uint8_t *rsp, size_t n)
{
	pcard_err err;

	if (s == NULL || (rsp == NULL && n > 0))
		return PCARD_E_INVALID_ARG;
	if ((err = session_ready(s, PCARD_SCP_HOST, PCARD_SCP_OPEN)) != PCARD_OK)
		return err;
	if (n != 2) {
		/* EXTERNAL AUTHENTICATE answers a bare status word */
		return scp_kill(s, n < 2 ? PCARD_E_TRUNCATED : PCARD_E_TRAILING_DATA);
	}
	s->last_sw = (uint16_t)(rsp[0] << 8 | rsp[1]);
	if (s->last_sw != 0x9000)
		return scp_kill(s, PCARD_E_CARD_STATUS);
	return PCARD_OK;
}

pcard_err
pcard_scp_wrap_cmd(pcard_scp *s, const uint8_t *cmd, size_t n, uint8_t *out, size_t out_cap,
    size_t *out_len)
{
	pcard_apdu a;
	pcard_err err = PCARD_E_INTERNAL;

	if (s == NULL || out_len == NULL || (cmd == NULL && n > 0))
		return PCARD_E_INVALID_ARG;
	if ((err = session_ready(s, PCARD_SCP_HOST, PCARD_SCP_OPEN)) != PCARD_OK)
		return err;
	if ((err = pcard_apdu_parse(cmd, n, &a)) != PCARD_OK)
		return PCARD_E_INVALID_ARG;
	if (a.extended || a.lc > 255)
		return PCARD_E_UNSUPPORTED;
	if (a.cla & scp_cla_sm(a.cla))
		return PCARD_E_INVALID_ARG;
	if (a.lc > pcard_scp_max_data(s))
		return PCARD_E_NOSPACE;
	if (s->scp == 2 && (a.cla & 0x80) && (a.ins == SCP_INS_BEGIN_RMAC ||
	    a.ins == SCP_INS_END_RMAC)) {
		if (!(s->i & PCARD_SCP02_I_RMAC))
			return PCARD_E_SECURITY_LEVEL;
		if (a.ins == SCP_INS_BEGIN_RMAC ? s->rmac_on != 0 :
		    (s->rmac_on == 0 || (s->level & PCARD_SCP_RMAC)))
			return PCARD_E_STATE;
	}
	if (s->scp == 3)
		err = scp03_wrap_cmd(s, &a, out, out_cap, out_len);
	else
		err = scp02_wrap_cmd(s, &a, out, out_cap, out_len);
	if (err != PCARD_OK)
		return err;	/* NOSPACE etc.: nothing was chained */
	s->pend = SCP_PEND_NONE;
	if (s->scp == 2 && (a.cla & 0x80) && a.ins == SCP_INS_BEGIN_RMAC)
		s->pend = SCP_PEND_BEGIN;
	if (s->scp == 2 && (a.cla & 0x80) && a.ins == SCP_INS_END_RMAC)
		s->pend = SCP_PEND_END;
	s->expect_rsp = 1;
	return PCARD_OK;
}

/* After a response was produced or checked: the effect of BEGIN / END R-MAC SESSION. */
static void
apply_pending(pcard_scp *s, uint16_t sw)
{
	if (sw == 0x9000 && s->pend == SCP_PEND_BEGIN) {
		s->rmac_on = 1;
		memset(s->rchain, 0, sizeof s->rchain);
	} else if (sw == 0x9000 && s->pend == SCP_PEND_END) {
		s->rmac_on = 0;
	}
	s->pend = SCP_PEND_NONE;
	s->expect_rsp = 0;
}

pcard_err
pcard_scp_unwrap_rsp(pcard_scp *s, const uint8_t *rsp, size_t n, uint8_t *out, size_t out_cap,
    size_t *out_len)
{
	pcard_err err = PCARD_E_INTERNAL;

	if (s == NULL || out_len == NULL || (rsp == NULL && n > 0))
		return PCARD_E_INVALID_ARG;
	if ((err = session_ready(s, PCARD_SCP_HOST, PCARD_SCP_OPEN)) != PCARD_OK)
		return err;
	if (!s->expect_rsp)
		return PCARD_E_STATE;
	if (n < 2)
		return scp_kill(s, PCARD_E_TRUNCATED);
	if (s->scp == 3)
		err = scp03_unwrap_rsp(s, rsp, n, out, out_cap, out_len);
	else
		err = scp02_unwrap_rsp(s, rsp, n, out, out_cap, out_len);
	if (err == PCARD_E_NOSPACE)
		return err;
	if (err != PCARD_OK)
		return scp_kill(s, err);
	s->last_sw = (uint16_t)(rsp[n - 2] << 8 | rsp[n - 1]);
	/*
	 * The answer to BEGIN R-MAC SESSION carries no R-MAC (CS E.5.3), so its status word is
	 * not authenticated. Anything but 9000 leaves the host unable to know whether the card
	 * now MACs its responses: going on would let whoever altered it strip the R-MACs that
	 * follow. Fail closed: the session ends. (A forged 9000 is caught by the next R-MAC.)
	 */
	if (s->pend == SCP_PEND_BEGIN && s->last_sw != 0x9000)
		return scp_kill(s, PCARD_E_MAC);
	apply_pending(s, s->last_sw);
	return PCARD_OK;
}

size_t
pcard_scp_max_data(const pcard_scp *s)
{
	size_t avail, blk;

	if (s == NULL || s->state != PCARD_SCP_OPEN)
		return 0;
	avail = s->max_lc;
	if (!(s->level & PCARD_SCP_CMAC))
		return avail;
	avail -= scp_mac_len(s);
	if (!(s->level & PCARD_SCP_CDEC))
		return avail;
	blk = s->scp == 3 ? 16 : 8;
	if (avail < blk)
		return 0;
	return avail / blk * blk - 1;	/* the padding adds at least one byte */
}

pcard_err
pcard_scp_dek(const pcard_scp *s, pcard_keyh *key, pcard_cipher_alg *alg)
{
	if (s == NULL || key == NULL || alg == NULL)
		return PCARD_E_INVALID_ARG;
	if (s->state == PCARD_SCP_DEAD)
		return PCARD_E_SESSION_DEAD;
	if (s->state != PCARD_SCP_OPEN)
		return PCARD_E_STATE;
	if (s->scp == 3) {
		*key = s->st.dek;
		*alg = PCARD_CIPHER_AES_CBC;
	} else {
		*key = s->s_dek;
		*alg = PCARD_CIPHER_DES3_ECB;
	}
	return *key == PCARD_KEYH_NONE ? PCARD_E_KEY : PCARD_OK;
}

pcard_err
pcard_scp02_begin_rmac_cmd(uint8_t *out, size_t out_cap, size_t *out_len)
{
	static const uint8_t cmd[] = { 0x80, SCP_INS_BEGIN_RMAC, 0x10, 0x01, 0x01, 0x00 };
	pcard_wr w;

	if (out_len == NULL)
		return PCARD_E_INVALID_ARG;
	pcard_wr_init(&w, out, out_cap);
	pcard_wr_bytes(&w, cmd, sizeof cmd);
	return pcard_wr_finish(&w, out_len);
}

pcard_err
pcard_scp02_end_rmac_cmd(uint8_t *out, size_t out_cap, size_t *out_len)
{
	static const uint8_t cmd[] = { 0x80, SCP_INS_END_RMAC, 0x00, 0x03, 0x00 };
	pcard_wr w;

	if (out_len == NULL)
		return PCARD_E_INVALID_ARG;
	pcard_wr_init(&w, out, out_cap);
	pcard_wr_bytes(&w, cmd, sizeof cmd);
	return pcard_wr_finish(&w, out_len);
}

/* ------------------------------------------------------------------------------------------ */
/* Card */

pcard_err
pcard_scp_card_init_update(pcard_scp *s, pcard_keys *keys, const pcard_scp_keyset *ks,
    const pcard_scp_card_params *p, const uint8_t *cmd, size_t n, uint8_t *out, size_t out_cap,
    size_t *out_len, uint32_t *new_seq)
{
	pcard_apdu a;
	pcard_wr w;
	pcard_err err = PCARD_E_INTERNAL;

	if (s == NULL || keys == NULL || ks == NULL || p == NULL || p->kdd == NULL ||
	    out_len == NULL || new_seq == NULL || (cmd == NULL && n > 0) ||
	    (p->aid == NULL && p->aid_len != 0) || p->aid_len > PCARD_SCP_MAX_AID ||
	    p->max_lc > 255 || (p->max_lc != 0 && p->max_lc < 32))
		return PCARD_E_INVALID_ARG;
	reset_session(s, PCARD_SCP_CARD);
	if ((p->scp == 3 && !scp03_i_ok(p->i)) || (p->scp == 2 && !scp02_i_ok(p->i)) ||
	    (p->scp != 2 && p->scp != 3)) {
		err = PCARD_E_UNSUPPORTED;
		goto out;
	}
	if ((err = pcard_apdu_parse(cmd, n, &a)) != PCARD_OK)
		goto out;
	if ((a.cla & (uint8_t)~scp_cla_chan(a.cla)) != 0x80 || a.ins != SCP_INS_INIT_UPDATE ||
	    a.p2 != 0x00 || a.extended) {
		err = PCARD_E_BAD_ENCODING;
		goto out;
	}
	if (a.p1 != 0x00 && a.p1 != p->kvn) {
		err = PCARD_E_NOT_FOUND;
		goto out;
	}
	s->scp = p->scp;
	s->i = p->i;
	s->s16 = (p->scp == 3 && (p->i & PCARD_SCP03_I_S16)) ? 1 : 0;
	s->host_chal_len = s->s16 ? 16 : 8;
	if (a.lc != s->host_chal_len) {
		err = PCARD_E_BAD_ENCODING;
		goto out;
	}
	if ((p->scp == 3 && p->seq >= 0xFFFFFFu) || (p->scp == 2 && p->seq >= 0xFFFFu)) {
		err = PCARD_E_STATE;
		goto out;
	}
	s->keys = keys;
	s->st = *ks;
	s->kvn = p->kvn;
	s->max_lc = p->max_lc == 0 ? 255 : p->max_lc;
	memcpy(s->kdd, p->kdd, PCARD_SCP_KDD_BYTES);
	memcpy(s->host_chal, a.data, a.lc);
	if (p->aid_len > 0)
		memcpy(s->aid, p->aid, p->aid_len);
	s->aid_len = p->aid_len;
	/* SCP03 counts the session at INITIALIZE UPDATE, SCP02 after the first good C-MAC */
	s->seq = p->scp == 3 ? p->seq + 1 : p->seq;
	pcard_wr_init(&w, out, out_cap);
	pcard_wr_bytes(&w, s->kdd, PCARD_SCP_KDD_BYTES);
	pcard_wr_u8(&w, s->kvn);
	pcard_wr_u8(&w, s->scp);
	if (p->scp == 3)
		err = scp03_card_iu(s, p, &w);
	else
		err = scp02_card_iu(s, p, &w);
	if (err != PCARD_OK)
		goto out;
	pcard_wr_u16(&w, 0x9000);
	if ((err = pcard_wr_finish(&w, out_len)) != PCARD_OK)
		goto out;
	*new_seq = s->seq;
	s->state = PCARD_SCP_INITIALIZED;
	err = PCARD_OK;
out:
	if (err != PCARD_OK)
		reset_session(s, PCARD_SCP_CARD);
	return err;
}

pcard_err
pcard_scp_card_ext_auth(pcard_scp *s, const uint8_t *cmd, size_t n, uint32_t *new_seq)
{
	pcard_apdu a;
	uint8_t crypt[16], mac[16], hdr[4];
	size_t clen;
	pcard_err err = PCARD_E_INTERNAL;

	if (s == NULL || new_seq == NULL || (cmd == NULL && n > 0))
		return PCARD_E_INVALID_ARG;
	if ((err = session_ready(s, PCARD_SCP_CARD, PCARD_SCP_INITIALIZED)) != PCARD_OK)
		return err;
	clen = scp_mac_len(s);
	if ((err = pcard_apdu_parse(cmd, n, &a)) != PCARD_OK)
		goto out;
	if ((a.cla & (uint8_t)~scp_cla_chan(a.cla)) != 0x84 || a.ins != SCP_INS_EXT_AUTH ||
	    a.p2 != 0x00 || a.extended || a.lc != 2 * clen) {
		err = PCARD_E_BAD_ENCODING;
		goto out;
	}
	if (s->scp == 3)
		err = scp03_cryptogram(s, 0x01, crypt);
	else
		err = scp02_cryptogram(s, 0, crypt);
	if (err != PCARD_OK)
		goto out;
	if (!pcard_ct_eq(crypt, a.data, clen)) {
		err = PCARD_E_AUTH;
		goto out;
	}
	hdr[0] = a.cla & (uint8_t)~scp_cla_chan(a.cla);
	hdr[1] = a.ins;
	hdr[2] = a.p1;
	hdr[3] = a.p2;
	if (s->scp == 3)
		err = scp03_ext_auth_mac(s, hdr, a.data, mac);
	else
		err = scp02_ext_auth_mac(s, hdr, a.data, mac);
	if (err != PCARD_OK)
		goto out;
	if (!pcard_ct_eq(mac, a.data + clen, clen)) {
		err = PCARD_E_MAC;
		goto out;
	}
	if (!pcard_scp_level_ok(s->scp, s->i, a.p1)) {
		err = PCARD_E_SECURITY_LEVEL;
		goto out;
	}
	s->level = a.p1;
	s->enc_counter = 0;
	s->rmac_on = (a.p1 & PCARD_SCP_RMAC) ? 1 : 0;
	memset(s->rchain, 0, sizeof s->rchain);
	s->state = PCARD_SCP_OPEN;
	s->expect_rsp = 0;
	if (s->scp == 2)
		s->seq++;
	*new_seq = s->seq;
	err = PCARD_OK;
out:
	pcard_wipe(crypt, sizeof crypt);
	pcard_wipe(mac, sizeof mac);
	if (err == PCARD_E_BAD_ENCODING || err == PCARD_E_TRUNCATED)
		return err;	/* malformed: the card answers 6700 and keeps waiting */
	if (err != PCARD_OK)
		return scp_kill(s, err);
	return PCARD_OK;
}

pcard_err
pcard_scp_unwrap_cmd(pcard_scp *s, const uint8_t *cmd, size_t n, uint8_t *out, size_t out_cap,
    size_t *out_len)
{
	pcard_apdu a;
	pcard_err err = PCARD_E_INTERNAL;
	int special;

	if (s == NULL || out_len == NULL || (cmd == NULL && n > 0))
		return PCARD_E_INVALID_ARG;
	if ((err = session_ready(s, PCARD_SCP_CARD, PCARD_SCP_OPEN)) != PCARD_OK)
		return err;
	s->expect_rsp = 0;
	s->pend = SCP_PEND_NONE;
	if ((err = pcard_apdu_parse(cmd, n, &a)) != PCARD_OK)
		return scp_kill(s, PCARD_E_MAC);
	if (a.extended || a.lc > 255)
		return scp_kill(s, PCARD_E_MAC);
	if (s->scp == 3)
		err = scp03_unwrap_cmd(s, &a, out, out_cap, out_len);
	else
		err = scp02_unwrap_cmd(s, &a, out, out_cap, out_len);
	if (err != PCARD_OK)
		return scp_kill(s, err == PCARD_E_NOSPACE ? PCARD_E_NOSPACE : err);
	s->expect_rsp = 1;
	special = s->scp == 2 && (a.cla & 0x80) &&
	    (a.ins == SCP_INS_BEGIN_RMAC || a.ins == SCP_INS_END_RMAC);
	if (special) {
		if (!(s->i & PCARD_SCP02_I_RMAC))
			return PCARD_E_SECURITY_LEVEL;
		if (a.ins == SCP_INS_BEGIN_RMAC ? s->rmac_on != 0 :
		    (s->rmac_on == 0 || (s->level & PCARD_SCP_RMAC)))
			return PCARD_E_STATE;
		s->pend = a.ins == SCP_INS_BEGIN_RMAC ? SCP_PEND_BEGIN : SCP_PEND_END;
	}
	return PCARD_OK;
}

pcard_err
pcard_scp_wrap_rsp(pcard_scp *s, const uint8_t *data, size_t n, uint16_t sw, uint8_t *out,
    size_t out_cap, size_t *out_len)
{
	pcard_err err = PCARD_E_INTERNAL;

	if (s == NULL || out_len == NULL || (data == NULL && n > 0) || n > 256)
		return PCARD_E_INVALID_ARG;
	if ((err = session_ready(s, PCARD_SCP_CARD, PCARD_SCP_OPEN)) != PCARD_OK)
		return err;
	if (!s->expect_rsp)
		return PCARD_E_STATE;
	if (s->scp == 3)
		err = scp03_wrap_rsp(s, data, n, sw, out, out_cap, out_len);
	else
		err = scp02_wrap_rsp(s, data, n, sw, out, out_cap, out_len);
	if (err == PCARD_E_NOSPACE)
		return err;
	if (err != PCARD_OK)
		return scp_kill(s, err);
	s->last_sw = sw;
	apply_pending(s, sw);
	return PCARD_OK;
}

uint16_t
pcard_scp_card_sw(pcard_err err)
{
	switch (err) {
	case PCARD_OK:
		return 0x9000;
	case PCARD_E_BAD_ENCODING:
	case PCARD_E_TRUNCATED:
	case PCARD_E_TRAILING_DATA:
		return 0x6700;
	case PCARD_E_NOT_FOUND:
		return 0x6A88;
	case PCARD_E_STATE:
		return 0x6985;
	case PCARD_E_AUTH:
		return 0x6300;
	case PCARD_E_UNSUPPORTED:
		return 0x6A86;
	case PCARD_E_MAC:
	case PCARD_E_PADDING:
	case PCARD_E_SESSION_DEAD:
	case PCARD_E_SECURITY_LEVEL:
		return 0x6982;
	default:
		return 0x6F00;
	}
}

/* ------------------------------------------------------------------------------------------ */

pcard_scp_state
pcard_scp_state_of(const pcard_scp *s)
{
	return s == NULL ? PCARD_SCP_NONE : (pcard_scp_state)s->state;
}

uint8_t
pcard_scp_version(const pcard_scp *s)
{
	return s == NULL ? 0 : s->scp;
}

uint8_t
pcard_scp_i(const pcard_scp *s)
{
	return s == NULL ? 0 : s->i;
}

uint8_t
pcard_scp_level(const pcard_scp *s)
{
	return (s == NULL || s->state != PCARD_SCP_OPEN) ? 0 : s->level;
}

uint8_t
pcard_scp_kvn(const pcard_scp *s)
{
	return s == NULL ? 0 : s->kvn;
}

uint32_t
pcard_scp_seq(const pcard_scp *s)
{
	return s == NULL ? 0 : s->seq;
}

const uint8_t *
pcard_scp_kdd(const pcard_scp *s)
{
	return s == NULL ? NULL : s->kdd;
}

uint16_t
pcard_scp_last_sw(const pcard_scp *s)
{
	return s == NULL ? 0 : s->last_sw;
}
