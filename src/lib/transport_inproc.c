/*
 * transport_inproc.c: a transport that hands each command to a function in the same process
 * (the card simulator, or a test's fake card).
 */
#include <stdlib.h>

#include "postcard/transport.h"

typedef struct inproc {
	pcard_transport base;	/* first member: the pcard_transport * is an inproc * */
	pcard_inproc_fn fn;
	pcard_inproc_reset_fn reset;
	void *ctx;
} inproc;

static pcard_err
inproc_transmit(pcard_transport *t, const uint8_t *cmd, size_t n, uint8_t *resp,
    size_t resp_cap, size_t *resp_len)
{
	inproc *ip = (inproc *)t;

	return ip->fn(ip->ctx, cmd, n, resp, resp_cap, resp_len);
}

static pcard_err
inproc_reset(pcard_transport *t, int cold)
{
	inproc *ip = (inproc *)t;

	if (ip->reset == NULL)
		return PCARD_E_UNSUPPORTED;
	return ip->reset(ip->ctx, cold);
}

static void
inproc_close(pcard_transport *t)
{
	free(t);
}

static const pcard_transport_ops inproc_ops = {
	.name = "inproc",
	.transmit = inproc_transmit,
	.reset = inproc_reset,
	.atr = NULL,
	.close = inproc_close,
};

pcard_err
pcard_inproc_open(pcard_inproc_fn fn, pcard_inproc_reset_fn reset, void *ctx,
    pcard_transport **out)
{
	inproc *ip;

	if (fn == NULL || out == NULL)
		return PCARD_E_INVALID_ARG;
	if ((ip = calloc(1, sizeof *ip)) == NULL)
		return PCARD_E_NOMEM;
	ip->base.ops = &inproc_ops;
	ip->fn = fn;
	ip->reset = reset;
	ip->ctx = ctx;
	*out = &ip->base;
	return PCARD_OK;
}
