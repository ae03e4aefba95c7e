/*
 * cardlink_client.c: the host side of the card simulator's loopback TCP link, as a
 * pcard_transport (framing in cardlink.h and docs/tcp-link.md). Lets the agent and the tests
 * reach a simulated card without pcscd.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cardlink.h"

#define DEFAULT_TIMEOUT_MS 30000
#define MAX_TIMEOUT_MS 86400000	/* a day; keeps the value inside an int */

typedef struct client {
	pcard_transport base;	/* first member: the pcard_transport * is a client * */
	pcard_linkio io;
	int broken;		/* the stream lost step or the peer left: every call fails */
} client;

static const pcard_transport_ops client_ops;

static pcard_err
send_control(client *c, uint8_t b)
{
	pcard_err err;

	if (c->broken)
		return PCARD_E_TRANSPORT;
	if ((err = pcard_linkio_send(&c->io, &b, 1)) != PCARD_OK)
		c->broken = 1;
	return err;
}

/* One request frame, one reply frame. A NOSPACE reply was consumed: the link stays usable. */
static pcard_err
exchange(client *c, const uint8_t *p, size_t n, uint8_t *out, size_t out_cap, size_t *out_len)
{
	pcard_err err;

	if (c->broken)
		return PCARD_E_TRANSPORT;
	if ((err = pcard_linkio_send(&c->io, p, n)) != PCARD_OK ||
	    ((err = pcard_linkio_recv(&c->io, out, out_cap, out_len)) != PCARD_OK &&
	    err != PCARD_E_NOSPACE)) {
		c->broken = 1;
		return err == PCARD_E_TRUNCATED ? PCARD_E_TRANSPORT : err;
	}
	return err;
}

static pcard_err
client_transmit(pcard_transport *t, const uint8_t *cmd, size_t n, uint8_t *resp,
    size_t resp_cap, size_t *resp_len)
{
	client *c = (client *)t;
	size_t len = 0;
	pcard_err err;

	/* a 1-byte frame would be read as a control byte, and a 0-byte one is not allowed */
	if (n < 2 || n > PCARD_CARDLINK_MAX_FRAME)
		return PCARD_E_INVALID_ARG;
	if ((err = exchange(c, cmd, n, resp, resp_cap, &len)) != PCARD_OK)
		return err;
	if (len == 0)
		return PCARD_E_NO_CARD;	/* the card is mute: not powered */
	if (len < 2)
		return PCARD_E_TRANSPORT;
	*resp_len = len;
	return PCARD_OK;
}

static pcard_err
client_reset(pcard_transport *t, int cold)
{
	client *c = (client *)t;
	pcard_err err;

	if (cold) {
		if ((err = send_control(c, PCARD_CARDLINK_POWER_OFF)) != PCARD_OK)
			return err;
		return send_control(c, PCARD_CARDLINK_POWER_ON);
	}
	return send_control(c, PCARD_CARDLINK_RESET);
}

static pcard_err
client_atr(pcard_transport *t, uint8_t *out, size_t out_cap, size_t *out_len)
{
	client *c = (client *)t;
	uint8_t atr[PCARD_CARDLINK_ATR_MAX];
	const uint8_t q = PCARD_CARDLINK_GET_ATR;
	size_t n = 0;
	pcard_err err;

	if ((err = exchange(c, &q, 1, atr, sizeof atr, &n)) != PCARD_OK)
		return err == PCARD_E_NOSPACE ? PCARD_E_TRANSPORT : err;	/* no ATR is that long */
	if (n == 0)
		return PCARD_E_NO_CARD;
	if (n > out_cap)
		return PCARD_E_NOSPACE;
	memcpy(out, atr, n);
	*out_len = n;
	return PCARD_OK;
}

static void
client_close(pcard_transport *t)
{
	client *c = (client *)t;

	if (c->io.fd >= 0)
		close(c->io.fd);
	free(c);
}

static const pcard_transport_ops client_ops = {
	.name = "cardlink",
	.transmit = client_transmit,
	.reset = client_reset,
	.atr = client_atr,
	.close = client_close,
};

pcard_err
pcard_cardlink_client_open(const char *host, uint16_t port,
    const pcard_cardlink_client_opts *opts, pcard_transport **out)
{
	uint8_t atr[PCARD_CARDLINK_ATR_MAX];
	size_t atr_len = 0;
	client *c = NULL;
	int fd = -1, e = 0;
	pcard_err err = PCARD_E_INTERNAL;

	if (out == NULL || port == 0) {
		err = PCARD_E_INVALID_ARG;
		goto out;
	}
	*out = NULL;
	if ((err = pcard_cardlink_tcp_connect(host, port, 0, NULL, &fd, &e)) != PCARD_OK)
		goto out;
	if ((c = calloc(1, sizeof *c)) == NULL) {
		err = PCARD_E_NOMEM;
		goto out;
	}
	c->base.ops = &client_ops;
	/* our server sends each frame in one write: no delayed-ACK trap on this side */
	pcard_linkio_init(&c->io, fd, 0);
	fd = -1;
	c->io.timeout_ms = DEFAULT_TIMEOUT_MS;
	if (opts != NULL && opts->timeout_ms != 0)
		c->io.timeout_ms = opts->timeout_ms > MAX_TIMEOUT_MS ? MAX_TIMEOUT_MS :
		    (int)opts->timeout_ms;
	if ((err = send_control(c, PCARD_CARDLINK_POWER_ON)) != PCARD_OK ||
	    (err = client_atr(&c->base, atr, sizeof atr, &atr_len)) != PCARD_OK)
		goto out;
	*out = &c->base;
	c = NULL;
	err = PCARD_OK;
out:
	if (fd >= 0)
		close(fd);
	if (c != NULL)
		client_close(&c->base);
	return err;
}
