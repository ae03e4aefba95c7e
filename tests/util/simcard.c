/* simcard.c: the simulated card behind an in-process transport (tests only). */
#include <stdlib.h>
#include <string.h>

#include "simcard.h"
#include "../../src/card/card.h"

struct simcard {
	pcard_card *card;
	pcard_transport *t;
};

static pcard_err
sim_apdu(void *ctx, const uint8_t *cmd, size_t n, uint8_t *resp, size_t cap, size_t *len)
{
	simcard *s = ctx;

	return pcard_card_apdu(s->card, cmd, n, resp, cap, len);
}

static pcard_err
sim_reset(void *ctx, int cold)
{
	simcard *s = ctx;
	uint8_t atr[PCARD_CS_ATR_MAX];
	size_t n = 0;

	if (!cold) {
		pcard_card_reset(s->card);
		return PCARD_OK;
	}
	pcard_card_power_off(s->card);
	return pcard_card_power_on(s->card, atr, sizeof atr, &n);
}

pcard_err
simcard_new(const simcard_opts *opts, simcard **out)
{
	pcard_cardstate cs;
	pcard_cardstate_opts o;
	uint8_t atr[PCARD_CS_ATR_MAX];
	size_t n = 0;
	simcard *s = NULL;
	pcard_err err = PCARD_E_INTERNAL;

	pcard_cardstate_init(&cs);
	memset(&o, 0, sizeof o);
	if (opts != NULL) {
		o.scp = opts->scp;
		o.i = opts->i;
		o.key = opts->key;
		o.key_len = opts->key_len;
		o.life_cycle = opts->life_cycle;
	}
	if ((s = calloc(1, sizeof *s)) == NULL) {
		err = PCARD_E_NOMEM;
		goto out;
	}
	if ((err = pcard_cardstate_default(&cs, &o)) != PCARD_OK ||
	    (err = pcard_card_open_state(&cs, NULL, NULL, &s->card)) != PCARD_OK ||
	    (err = pcard_card_power_on(s->card, atr, sizeof atr, &n)) != PCARD_OK ||
	    (err = pcard_inproc_open(sim_apdu, sim_reset, s, &s->t)) != PCARD_OK)
		goto out;
	*out = s;
	s = NULL;
	err = PCARD_OK;
out:
	pcard_cardstate_clear(&cs);
	simcard_free(s);
	return err;
}

void
simcard_free(simcard *s)
{
	if (s == NULL)
		return;
	pcard_transport_close(s->t);
	pcard_card_free(s->card);
	free(s);
}

pcard_transport *
simcard_transport(simcard *s)
{
	return s->t;
}

void *
simcard_card(simcard *s)
{
	return s->card;
}
