/*
 * agent_card.c: what the agent does with the card: read its identity without authentication
 * and play a bundle's steps (docs/agent-protocol.md, "hello" and "bundle").
 */
#include <string.h>

#include "agent.h"
#include "postcard/apdu.h"

static const uint8_t ISD_AID[8] = { 0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00 };

/* SW of a response of at least 2 bytes. */
static uint16_t
rsp_sw(const uint8_t *r, size_t n)
{
	return (uint16_t)(r[n - 2] << 8 | r[n - 1]);
}

/*
 * Send cmd; on 9000 copy the data into f (present when it fits the field).
 * @retval PCARD_OK answered (whatever the SW: *sw); transport errors as they come
 */
static pcard_err
ask(pcard_transport *t, const uint8_t *cmd, size_t n, pcard_bmsg_bytes *f, uint16_t *sw,
    size_t *napdus)
{
	uint8_t rsp[PCARD_SCP_MAX_RSP + 256];
	size_t rn = 0;
	pcard_err err;

	(*napdus)++;
	err = pcard_transport_transmit(t, cmd, n, rsp, sizeof rsp, &rn);
	if (err == PCARD_E_NOSPACE) {	/* more than any field holds: not this field */
		*sw = 0;
		return PCARD_OK;
	}
	if (err != PCARD_OK)
		return err;
	*sw = rsp_sw(rsp, rn);
	if (*sw == 0x9000 && rn - 2 <= sizeof f->b && rn > 2) {
		memcpy(f->b, rsp, rn - 2);
		f->len = rn - 2;
		f->present = 1;
	}
	return PCARD_OK;
}

pcard_err
pcard_agent_identity(pcard_transport *t, pcard_bmsg *m, size_t *napdus)
{
	static const struct {
		uint8_t p1, p2;
		size_t off;
	} gd[] = {
		{ 0x9F, 0x7F, offsetof(pcard_bmsg, cplc) },
		{ 0x00, 0x42, offsetof(pcard_bmsg, iin) },
		{ 0x00, 0x45, offsetof(pcard_bmsg, cin) },
		{ 0x00, 0xCF, offsetof(pcard_bmsg, kdd) },
		{ 0x00, 0xC1, offsetof(pcard_bmsg, seq) },
	};
	uint8_t cmd[5 + sizeof ISD_AID];
	size_t n = 0, dummy = 0;
	uint16_t sw = 0;
	pcard_err err = PCARD_E_INTERNAL;

	if (napdus == NULL)
		napdus = &dummy;
	err = pcard_transport_atr(t, m->atr.b, sizeof m->atr.b, &n);
	if (err == PCARD_E_NOSPACE || (err == PCARD_OK && (n < 2 || n > 33)))
		err = PCARD_E_UNSUPPORTED;
	if (err != PCARD_OK)
		goto out;
	m->atr.len = n;
	m->atr.present = 1;

	/* SELECT the ISD: by default selection (empty AID), then by its usual AID */
	memcpy(cmd, (const uint8_t[]){ 0x00, 0xA4, 0x04, 0x00, 0x00 }, 5);
	if ((err = ask(t, cmd, 5, &m->fci, &sw, napdus)) != PCARD_OK)
		goto out;
	if (!m->fci.present) {
		cmd[4] = sizeof ISD_AID;
		memcpy(cmd + 5, ISD_AID, sizeof ISD_AID);
		if ((err = ask(t, cmd, 5 + sizeof ISD_AID, &m->fci, &sw, napdus)) != PCARD_OK)
			goto out;
	}
	for (size_t i = 0; i < sizeof gd / sizeof gd[0]; i++) {
		pcard_bmsg_bytes *f = (pcard_bmsg_bytes *)((uint8_t *)m + gd[i].off);
		uint8_t gcmd[5] = { 0x80, 0xCA, gd[i].p1, gd[i].p2, 0x00 };

		if ((err = ask(t, gcmd, 5, f, &sw, napdus)) != PCARD_OK)
			goto out;
		/* class not supported (6E00) or instruction unknown under it: try CLA 00 */
		if (!f->present && (sw == 0x6E00 || sw == 0x6D00)) {
			gcmd[0] = 0x00;
			if ((err = ask(t, gcmd, 5, f, &sw, napdus)) != PCARD_OK)
				goto out;
		}
	}
	err = PCARD_OK;
out:
	return err;
}

pcard_err
pcard_agent_play(pcard_transport *t, const pcard_bmsg *bundle, pcard_bmsg *out,
    pcard_agent_step_hook hook, void *hook_ctx, pcard_agent_play_stats *st)
{
	memset(st, 0, sizeof *st);
	if (out->rsps_cap < bundle->nsteps)
		return PCARD_E_NOSPACE;
	out->type = PCARD_BMSG_RESPONSES;
	memcpy(out->session, bundle->session, sizeof out->session);
	out->step = bundle->step;
	out->nrsps = 0;
	st->stop = PCARD_BMSG_STOP_COMPLETE;
	for (size_t k = 0; k < bundle->nsteps; k++) {
		const pcard_bmsg_step *s = &bundle->steps[k];
		pcard_bmsg_rsp *r = &out->rsps[k];
		size_t rn = 0;
		uint16_t sw;
		int expected = 0;
		pcard_err err;

		err = pcard_transport_transmit(t, s->apdu, s->apdu_len, r->b, sizeof r->b, &rn);
		if (err != PCARD_OK) {
			/* the reader or card failed (or answered more than a response may hold):
			 * this step has no answer */
			st->stop = PCARD_BMSG_STOP_CARD_ERROR;
			st->card_err = err;
			break;
		}
		r->len = rn;
		out->nrsps = k + 1;
		st->played = k + 1;
		sw = rsp_sw(r->b, rn);
		st->last_sw = sw;
		for (size_t e = 0; e < s->n_expect; e++)
			expected |= s->expect[e] == sw;
		if (hook != NULL && hook(hook_ctx, bundle->step, k + 1) != 0) {
			/* power cut after this answer: the next step never reaches the card */
			if (k + 1 < bundle->nsteps || !expected) {
				st->stop = expected ? PCARD_BMSG_STOP_CARD_ERROR :
				    PCARD_BMSG_STOP_UNEXPECTED_SW;
				st->card_err = expected ? PCARD_E_NO_CARD : PCARD_OK;
				break;
			}
		}
		if (!expected) {
			st->stop = PCARD_BMSG_STOP_UNEXPECTED_SW;
			break;
		}
	}
	out->stop = st->stop;
	return PCARD_OK;
}
