/*
 * scp_bundle.c: secure-channel sessions for a stateless server (export / import of the
 * non-secret state, session keys derived again through the provider) and for bundles
 * (commands wrapped ahead of time, responses verified later with a per-command context).
 * Blob layout: scp_bundle.h.
 */
#include <string.h>

#include "postcard/bytes.h"
#include "postcard/crypto.h"
#include "postcard/scp_bundle.h"
#include "scp_int.h"

#define F_S16 0x01
#define F_RMAC 0x02
#define F_KEYS 0x04
#define F_RSP 0x08

pcard_err
pcard_scpb_export(const pcard_scp *s, uint8_t *out, size_t out_cap, size_t *out_len)
{
	pcard_wr w;
	uint8_t flags = 0;

	if (s == NULL || out_len == NULL)
		return PCARD_E_INVALID_ARG;
	if (s->side != PCARD_SCP_HOST || (s->state != PCARD_SCP_INITIALIZED &&
	    s->state != PCARD_SCP_OPEN) || s->pend != SCP_PEND_NONE)
		return PCARD_E_STATE;
	if (s->s16)
		flags |= F_S16;
	if (s->rmac_on)
		flags |= F_RMAC;
	if (s->s_mac != PCARD_KEYH_NONE)
		flags |= F_KEYS;
	if (s->expect_rsp)
		flags |= F_RSP;
	pcard_wr_init(&w, out, out_cap);
	pcard_wr_u8(&w, PCARD_SCPB_FORMAT);
	pcard_wr_u8(&w, s->state);
	pcard_wr_u8(&w, s->scp);
	pcard_wr_u8(&w, s->i);
	pcard_wr_u8(&w, s->level);
	pcard_wr_u8(&w, s->kvn);
	pcard_wr_u8(&w, s->expect_kvn);
	pcard_wr_u8(&w, flags);
	pcard_wr_u16(&w, (uint16_t)s->max_lc);
	pcard_wr_u24(&w, s->seq);
	pcard_wr_u32(&w, s->enc_counter);
	pcard_wr_bytes(&w, s->kdd, PCARD_SCP_KDD_BYTES);
	pcard_wr_bytes(&w, s->chain, 16);
	pcard_wr_bytes(&w, s->rchain, 8);
	pcard_wr_u8(&w, (uint8_t)s->host_chal_len);
	pcard_wr_bytes(&w, s->host_chal, s->host_chal_len);
	pcard_wr_u8(&w, (uint8_t)s->card_chal_len);
	pcard_wr_bytes(&w, s->card_chal, s->card_chal_len);
	pcard_wr_u8(&w, (uint8_t)s->aid_len);
	pcard_wr_bytes(&w, s->aid, s->aid_len);
	pcard_wr_u16(&w, (uint16_t)s->last_cmd_len);
	pcard_wr_bytes(&w, s->last_cmd, s->last_cmd_len);
	return pcard_wr_finish(&w, out_len);
}

/* Read a one-byte length that must be one of the allowed values, then that many bytes. */
static pcard_err
rd_len_bytes(pcard_rd *r, size_t max, uint8_t *out, size_t *len)
{
	uint8_t n;
	pcard_err err;

	if ((err = pcard_rd_u8(r, &n)) != PCARD_OK)
		return err;
	if (n > max)
		return PCARD_E_BAD_ENCODING;
	*len = n;
	return pcard_rd_copy(r, n, out);
}

pcard_err
pcard_scpb_import(pcard_scp *s, pcard_keys *keys, const pcard_scp_keyset *ks,
    const uint8_t *blob, size_t n)
{
	pcard_rd r;
	uint8_t fmt, state, flags;
	uint16_t max_lc, cmd_len;
	pcard_err err = PCARD_E_INTERNAL;

	if (s == NULL || keys == NULL || ks == NULL || (blob == NULL && n > 0))
		return PCARD_E_INVALID_ARG;
	pcard_scp_clear(s);
	s->side = PCARD_SCP_HOST;
	pcard_rd_init(&r, blob, n);
	if ((err = pcard_rd_u8(&r, &fmt)) != PCARD_OK ||
	    (err = pcard_rd_u8(&r, &state)) != PCARD_OK ||
	    (err = pcard_rd_u8(&r, &s->scp)) != PCARD_OK ||
	    (err = pcard_rd_u8(&r, &s->i)) != PCARD_OK ||
	    (err = pcard_rd_u8(&r, &s->level)) != PCARD_OK ||
	    (err = pcard_rd_u8(&r, &s->kvn)) != PCARD_OK ||
	    (err = pcard_rd_u8(&r, &s->expect_kvn)) != PCARD_OK ||
	    (err = pcard_rd_u8(&r, &flags)) != PCARD_OK ||
	    (err = pcard_rd_u16(&r, &max_lc)) != PCARD_OK ||
	    (err = pcard_rd_u24(&r, &s->seq)) != PCARD_OK ||
	    (err = pcard_rd_u32(&r, &s->enc_counter)) != PCARD_OK ||
	    (err = pcard_rd_copy(&r, PCARD_SCP_KDD_BYTES, s->kdd)) != PCARD_OK ||
	    (err = pcard_rd_copy(&r, 16, s->chain)) != PCARD_OK ||
	    (err = pcard_rd_copy(&r, 8, s->rchain)) != PCARD_OK ||
	    (err = rd_len_bytes(&r, 16, s->host_chal, &s->host_chal_len)) != PCARD_OK ||
	    (err = rd_len_bytes(&r, 16, s->card_chal, &s->card_chal_len)) != PCARD_OK ||
	    (err = rd_len_bytes(&r, PCARD_SCP_MAX_AID, s->aid, &s->aid_len)) != PCARD_OK ||
	    (err = pcard_rd_u16(&r, &cmd_len)) != PCARD_OK)
		goto out;
	if (cmd_len > sizeof s->last_cmd || (cmd_len != 0 && cmd_len < 5)) {
		err = PCARD_E_BAD_ENCODING;
		goto out;
	}
	if ((err = pcard_rd_copy(&r, cmd_len, s->last_cmd)) != PCARD_OK ||
	    (err = pcard_rd_expect_end(&r)) != PCARD_OK)
		goto out;
	s->last_cmd_len = cmd_len;
	s->max_lc = max_lc;
	s->s16 = (flags & F_S16) ? 1 : 0;
	s->rmac_on = (flags & F_RMAC) ? 1 : 0;
	s->expect_rsp = (flags & F_RSP) ? 1 : 0;
	err = PCARD_E_BAD_ENCODING;
	if (fmt != PCARD_SCPB_FORMAT || (flags & 0xF0) != 0 ||
	    (state != PCARD_SCP_INITIALIZED && state != PCARD_SCP_OPEN) ||
	    max_lc < 32 || max_lc > 255 ||
	    (s->host_chal_len != 8 && s->host_chal_len != 16))
		goto out;
	if (s->card_chal_len == 0) {
		/* before the INITIALIZE UPDATE response: scp is the one asked for (0 = any) */
		if (state != PCARD_SCP_INITIALIZED || (flags & ~F_RSP) != 0 ||
		    (s->scp != 0 && s->scp != 2 && s->scp != 3))
			goto out;
	} else if (s->scp == 3) {
		if (s->card_chal_len != s->host_chal_len || s->host_chal_len != (s->s16 ? 16u : 8u))
			goto out;
	} else if (s->scp == 2) {
		if (s->card_chal_len != 6 || s->host_chal_len != 8 || s->s16)
			goto out;
	} else {
		goto out;
	}
	if (s->card_chal_len != 0 && !(flags & F_KEYS))
		goto out;
	if (state == PCARD_SCP_OPEN && (!pcard_scp_level_ok(s->scp, s->i, s->level) ||
	    (s->rmac_on && !(s->level & PCARD_SCP_RMAC))))
		goto out;
	if (state == PCARD_SCP_INITIALIZED && (s->level != 0 || s->rmac_on))
		goto out;
	s->keys = keys;
	s->st = *ks;
	s->state = state;
	if (flags & F_KEYS) {
		err = s->scp == 3 ? scp03_session_keys(s) : scp02_session_keys(s);
		if (err != PCARD_OK)
			goto out;
	}
	err = PCARD_OK;
out:
	if (err != PCARD_OK)
		pcard_scp_clear(s);
	return err;
}

pcard_err
pcard_scpb_ext_auth(pcard_scp *s, uint8_t level, uint8_t *out, size_t out_cap,
    size_t *out_len, pcard_scpb_ctx *ctx)
{
	pcard_err err;

	if (ctx == NULL)
		return PCARD_E_INVALID_ARG;
	if ((err = pcard_scp_host_ext_auth(s, level, out, out_cap, out_len)) != PCARD_OK)
		return err;
	memset(ctx, 0, sizeof *ctx);
	ctx->scp = s->scp;
	ctx->level = s->level;
	ctx->rmac = 0;		/* EXTERNAL AUTHENTICATE answers a bare status word */
	ctx->s16 = s->s16;
	memcpy(ctx->chain, s->chain, sizeof ctx->chain);
	ctx->enc_counter = 0;
	ctx->rchain_set = 1;	/* the chain after it starts from zero */
	return PCARD_OK;
}

static int
all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

pcard_err
pcard_scpb_wrap(pcard_scp *s, const uint8_t *cmd, size_t n, uint8_t *out, size_t out_cap,
    size_t *out_len, pcard_scpb_ctx *ctx)
{
	int first;
	pcard_err err;

	if (s == NULL || ctx == NULL || (cmd == NULL && n > 0))
		return PCARD_E_INVALID_ARG;
	if (s->scp == 2 && n >= 2 && (cmd[0] & 0x80) &&
	    (cmd[1] == SCP_INS_BEGIN_RMAC || cmd[1] == SCP_INS_END_RMAC))
		return PCARD_E_UNSUPPORTED;
	/* SCP02: the card chains its R-MAC from zero, or from the value a resume put there,
	 * for the first command after EXTERNAL AUTHENTICATE or the resume */
	first = !s->expect_rsp;
	if ((err = pcard_scp_wrap_cmd(s, cmd, n, out, out_cap, out_len)) != PCARD_OK)
		return err;
	memset(ctx, 0, sizeof *ctx);
	ctx->scp = s->scp;
	ctx->level = s->level;
	ctx->rmac = s->rmac_on;
	ctx->s16 = s->s16;
	memcpy(ctx->chain, s->chain, sizeof ctx->chain);
	ctx->enc_counter = s->enc_counter;
	if (s->scp == 2) {
		memcpy(ctx->last_cmd, s->last_cmd, s->last_cmd_len);
		ctx->last_cmd_len = s->last_cmd_len;
		if (first) {
			ctx->rchain_set = 1;
			memcpy(ctx->rchain, s->rchain, sizeof ctx->rchain);
		}
	}
	return PCARD_OK;
}

pcard_err
pcard_scpb_verify(const pcard_scp *s, const pcard_scpb_ctx *ctx, const uint8_t *prev,
    size_t prev_n, const uint8_t *rsp, size_t n, uint8_t *out, size_t out_cap, size_t *out_len,
    int *macd)
{
	pcard_scp tmp;
	pcard_wr w;
	uint16_t sw;
	pcard_err err = PCARD_E_INTERNAL;

	if (s == NULL || ctx == NULL || out_len == NULL || macd == NULL ||
	    (rsp == NULL && n > 0) || (prev == NULL && prev_n > 0))
		return PCARD_E_INVALID_ARG;
	*macd = 0;
	if (s->side != PCARD_SCP_HOST || s->state != PCARD_SCP_OPEN ||
	    s->s_mac == PCARD_KEYH_NONE || ctx->scp != s->scp)
		return PCARD_E_STATE;
	if (n < 2)
		return PCARD_E_TRUNCATED;
	sw = (uint16_t)(rsp[n - 2] << 8 | rsp[n - 1]);
	if (!ctx->rmac) {
		pcard_wr_init(&w, out, out_cap);
		pcard_wr_bytes(&w, rsp, n);
		return pcard_wr_finish(&w, out_len);
	}
	if (ctx->scp == 2 && !ctx->rchain_set && (prev == NULL || prev_n < 10))
		return PCARD_E_INVALID_ARG;
	if (ctx->last_cmd_len > sizeof tmp.last_cmd)
		return PCARD_E_INVALID_ARG;
	memcpy(&tmp, s, sizeof tmp);
	tmp.level = ctx->level;
	tmp.rmac_on = 1;
	tmp.s16 = ctx->s16;
	memcpy(tmp.chain, ctx->chain, sizeof tmp.chain);
	tmp.enc_counter = ctx->enc_counter;
	if (ctx->scp == 3) {
		err = scp03_unwrap_rsp(&tmp, rsp, n, out, out_cap, out_len);
		if (err == PCARD_OK)
			*macd = scp_sw_protected(sw);
	} else {
		memcpy(tmp.last_cmd, ctx->last_cmd, ctx->last_cmd_len);
		tmp.last_cmd_len = ctx->last_cmd_len;
		if (ctx->rchain_set)
			memcpy(tmp.rchain, ctx->rchain, 8);
		else
			memcpy(tmp.rchain, prev + prev_n - 10, 8);
		err = scp02_unwrap_rsp(&tmp, rsp, n, out, out_cap, out_len);
		if (err == PCARD_OK)
			*macd = 1;
	}
	pcard_wipe(&tmp, sizeof tmp);	/* a copy: the handles stay owned by s */
	return err;
}

pcard_err
pcard_scpb_resume_after(pcard_scp *s, const pcard_scpb_ctx *ctx, const uint8_t *rsp, size_t n)
{
	if (s == NULL || ctx == NULL || (rsp == NULL && n > 0))
		return PCARD_E_INVALID_ARG;
	if (s->side != PCARD_SCP_HOST || s->state != PCARD_SCP_OPEN)
		return PCARD_E_STATE;
	if (ctx->scp != s->scp || ctx->last_cmd_len > sizeof s->last_cmd)
		return PCARD_E_INVALID_ARG;
	memcpy(s->chain, ctx->chain, sizeof s->chain);
	s->enc_counter = ctx->enc_counter;
	if (s->scp == 2) {
		memcpy(s->last_cmd, ctx->last_cmd, ctx->last_cmd_len);
		s->last_cmd_len = ctx->last_cmd_len;
		if (ctx->rmac) {
			if (n < 10)
				return PCARD_E_INVALID_ARG;
			memcpy(s->rchain, rsp + n - 10, 8);
		} else if (ctx->rchain_set && !all_zero(ctx->rchain, 8)) {
			memcpy(s->rchain, ctx->rchain, 8);
		} else {
			memset(s->rchain, 0, sizeof s->rchain);
		}
	}
	s->expect_rsp = 0;
	s->pend = SCP_PEND_NONE;
	return PCARD_OK;
}
