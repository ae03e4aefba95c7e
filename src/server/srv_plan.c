/*
 * srv_plan.c: what postcardd keeps of a bundle between two exchanges (docs/server.md,
 * "What a session stores"): per step, how to check its answer. The APDUs themselves are not
 * kept here (the stored reply has them); the key values never exist outside the HSM.
 *
 * One step record (all integers big-endian):
 *
 *   purpose probe ins last | job (2, FFFF none) | n_expect, expect[n] (2 each)
 *   has_putkey [kvn nkcv kcv[nkcv][3]]
 *   ctx: scp level rmac rchain_set rchain(8) s16 chain(16) enc_counter(4)
 *        last_cmd_len(2) last_cmd(len)
 *
 * The SCP02 context holds the command as the card reads it after C-DEC (so a STORE DATA
 * encrypted under the DEK stays encrypted here, and PUT KEY carries key blocks under the
 * DEK, never a key): nothing in a record is secret.
 */
#include <stdlib.h>
#include <string.h>

#include "postcard/bundle.h"
#include "postcard/bytes.h"
#include "server.h"

#define REC_MAX (4 + 2 + 1 + 2 * PCARD_BUNDLE_MAX_EXPECT + 1 + 2 + 3 * PCARD_PUTKEY_MAX_KEYS + \
    4 + 8 + 1 + 16 + 4 + 2 + sizeof(((pcard_scpb_ctx *)0)->last_cmd))

pcard_err
pcard_srv_plan_encode(const pcard_bundle *b, char **hex)
{
	uint8_t *buf = NULL;
	size_t cap, len = 0;
	pcard_wr w;
	pcard_err e = PCARD_E_INTERNAL;

	*hex = NULL;
	cap = 2 + b->n * REC_MAX;
	if ((buf = malloc(cap)) == NULL)
		return PCARD_E_NOMEM;
	pcard_wr_init(&w, buf, cap);
	pcard_wr_u16(&w, (uint16_t)b->n);
	for (size_t k = 0; k < b->n; k++) {
		const pcard_bundle_step *st = &b->steps[k];
		const pcard_scpb_ctx *c = &st->ctx;

		pcard_wr_u8(&w, st->purpose);
		pcard_wr_u8(&w, st->probe);
		pcard_wr_u8(&w, st->ins);
		pcard_wr_u8(&w, st->last);
		pcard_wr_u16(&w, st->job == PCARD_BUNDLE_NO_JOB ? 0xFFFF : (uint16_t)st->job);
		pcard_wr_u8(&w, (uint8_t)st->n_expect);
		for (size_t i = 0; i < st->n_expect; i++)
			pcard_wr_u16(&w, st->expect[i]);
		pcard_wr_u8(&w, (uint8_t)(st->has_putkey != 0));
		if (st->has_putkey) {
			pcard_wr_u8(&w, st->putkey.kvn);
			pcard_wr_u8(&w, (uint8_t)st->putkey.nkcv);
			for (size_t i = 0; i < st->putkey.nkcv && i < PCARD_PUTKEY_MAX_KEYS; i++)
				pcard_wr_bytes(&w, st->putkey.kcv[i], PCARD_KCV_BYTES);
		}
		pcard_wr_u8(&w, c->scp);
		pcard_wr_u8(&w, c->level);
		pcard_wr_u8(&w, c->rmac);
		pcard_wr_u8(&w, c->rchain_set);
		pcard_wr_bytes(&w, c->rchain, sizeof c->rchain);
		pcard_wr_u8(&w, c->s16);
		pcard_wr_bytes(&w, c->chain, sizeof c->chain);
		pcard_wr_u32(&w, c->enc_counter);
		pcard_wr_u16(&w, (uint16_t)c->last_cmd_len);
		pcard_wr_bytes(&w, c->last_cmd, c->last_cmd_len);
	}
	if ((e = pcard_wr_finish(&w, &len)) != PCARD_OK)
		goto out;
	if ((*hex = malloc(2 * len + 1)) == NULL) {
		e = PCARD_E_NOMEM;
		goto out;
	}
	e = pcard_hex_encode(buf, len, *hex, 2 * len + 1);
out:
	if (e != PCARD_OK) {
		free(*hex);
		*hex = NULL;
	}
	free(buf);
	return e;
}

pcard_err
pcard_srv_plan_decode(const char *hex, pcard_bundle *b)
{
	uint8_t *buf = NULL;
	size_t n = 0, hl;
	uint16_t count, job;
	uint8_t u;
	pcard_rd r;
	pcard_err e = PCARD_E_INTERNAL;

	if (hex == NULL)
		return PCARD_E_BAD_FILE;
	hl = strlen(hex);
	if ((buf = malloc(hl / 2 + 1)) == NULL)
		return PCARD_E_NOMEM;
	if ((e = pcard_hex_decode(hex, buf, hl / 2 + 1, &n)) != PCARD_OK)
		goto bad;
	pcard_rd_init(&r, buf, n);
	if (pcard_rd_u16(&r, &count) != PCARD_OK || count > b->cap)
		goto bad;
	b->n = 0;
	for (size_t k = 0; k < count; k++) {
		pcard_bundle_step *st = &b->steps[k];
		pcard_scpb_ctx *c = &st->ctx;
		uint16_t cl;

		memset(st, 0, sizeof *st);
		if (pcard_rd_u8(&r, &st->purpose) != PCARD_OK ||
		    pcard_rd_u8(&r, &st->probe) != PCARD_OK ||
		    pcard_rd_u8(&r, &st->ins) != PCARD_OK ||
		    pcard_rd_u8(&r, &st->last) != PCARD_OK ||
		    pcard_rd_u16(&r, &job) != PCARD_OK || pcard_rd_u8(&r, &u) != PCARD_OK ||
		    u == 0 || u > PCARD_BUNDLE_MAX_EXPECT)
			goto bad;
		st->job = job == 0xFFFF ? PCARD_BUNDLE_NO_JOB : job;
		st->n_expect = u;
		for (size_t i = 0; i < st->n_expect; i++)
			if (pcard_rd_u16(&r, &st->expect[i]) != PCARD_OK)
				goto bad;
		if (pcard_rd_u8(&r, &u) != PCARD_OK)
			goto bad;
		st->has_putkey = u != 0;
		if (st->has_putkey) {
			if (pcard_rd_u8(&r, &st->putkey.kvn) != PCARD_OK ||
			    pcard_rd_u8(&r, &u) != PCARD_OK || u > PCARD_PUTKEY_MAX_KEYS)
				goto bad;
			st->putkey.nkcv = u;
			for (size_t i = 0; i < u; i++)
				if (pcard_rd_copy(&r, PCARD_KCV_BYTES, st->putkey.kcv[i]) != PCARD_OK)
					goto bad;
		}
		if (pcard_rd_u8(&r, &c->scp) != PCARD_OK || pcard_rd_u8(&r, &c->level) != PCARD_OK ||
		    pcard_rd_u8(&r, &c->rmac) != PCARD_OK ||
		    pcard_rd_u8(&r, &c->rchain_set) != PCARD_OK ||
		    pcard_rd_copy(&r, sizeof c->rchain, c->rchain) != PCARD_OK ||
		    pcard_rd_u8(&r, &c->s16) != PCARD_OK ||
		    pcard_rd_copy(&r, sizeof c->chain, c->chain) != PCARD_OK ||
		    pcard_rd_u32(&r, &c->enc_counter) != PCARD_OK ||
		    pcard_rd_u16(&r, &cl) != PCARD_OK || cl > sizeof c->last_cmd ||
		    pcard_rd_copy(&r, cl, c->last_cmd) != PCARD_OK)
			goto bad;
		c->last_cmd_len = cl;
		b->n++;
	}
	if (pcard_rd_expect_end(&r) != PCARD_OK)
		goto bad;
	e = PCARD_OK;
	goto out;
bad:
	e = PCARD_E_BAD_FILE;
	b->n = 0;
out:
	free(buf);
	return e;
}
