/*
 * transport.c: the generic transport layer: tracing, and the ISO/IEC 7816-4 transport rules
 * (61xx GET RESPONSE chaining, 6Cxx resend with the right Le) over any pcard_transport.
 */
#include <string.h>

#include "postcard/apdu.h"
#include "postcard/bytes.h"
#include "postcard/transport.h"

void
pcard_transport_set_trace(pcard_transport *t, pcard_trace_fn fn, void *ctx)
{
	if (t == NULL)
		return;
	t->trace = fn;
	t->trace_ctx = ctx;
}

pcard_err
pcard_transport_raw(pcard_transport *t, const uint8_t *cmd, size_t n, uint8_t *resp,
    size_t resp_cap, size_t *resp_len)
{
	size_t len = 0;
	pcard_err err = PCARD_E_INTERNAL;

	if (t == NULL || t->ops == NULL || t->ops->transmit == NULL || cmd == NULL || n < 4 ||
	    resp == NULL || resp_len == NULL) {
		err = PCARD_E_INVALID_ARG;
		goto out;
	}
	if (t->trace != NULL)
		t->trace(t->trace_ctx, PCARD_TRACE_CMD, cmd, n);
	if ((err = t->ops->transmit(t, cmd, n, resp, resp_cap, &len)) != PCARD_OK)
		goto out;
	if (len < 2 || len > resp_cap) {
		err = PCARD_E_TRANSPORT;
		goto out;
	}
	if (t->trace != NULL)
		t->trace(t->trace_ctx, PCARD_TRACE_RESP, resp, len);
	*resp_len = len;
	err = PCARD_OK;
out:
	return err;
}

/* CLA of a GET RESPONSE on the logical channel of cla (CS Table 11-11/11-12). */
static uint8_t
get_response_cla(uint8_t cla)
{
	if ((cla & 0x40) == 0)
		return cla & 0x03;		/* channels 0-3 */
	return 0x40 | (cla & 0x0F);		/* further interindustry: channels 4-19 */
}

pcard_err
pcard_transport_transmit(pcard_transport *t, const uint8_t *cmd, size_t n, uint8_t *resp,
    size_t resp_cap, size_t *resp_len)
{
	uint8_t again[4 + 1 + 255 + 1];	/* a short case 4 command */
	uint8_t getresp[5];
	size_t len = 0, acc, again_len;
	uint16_t sw;
	pcard_apdu a;
	pcard_err err = PCARD_E_INTERNAL;

	if (cmd == NULL || n < 4 || resp == NULL || resp_len == NULL) {
		err = PCARD_E_INVALID_ARG;
		goto out;
	}
	if ((err = pcard_transport_raw(t, cmd, n, resp, resp_cap, &len)) != PCARD_OK)
		goto out;
	sw = (uint16_t)(resp[len - 2] << 8 | resp[len - 1]);
	if ((sw & 0xFF00) == 0x6C00 && pcard_apdu_parse(cmd, n, &a) == PCARD_OK) {
		/* Wrong Le: resend once with the length the card named (ISO 7816-4 5.1.3). */
		a.has_le = 1;
		a.le = (sw & 0xFF) == 0 ? 256 : (sw & 0xFF);
		if (a.extended) {
			err = PCARD_E_UNSUPPORTED;	/* a card answering 6Cxx to extended APDUs */
			goto out;
		}
		if ((err = pcard_apdu_encode(&a, again, sizeof again, &again_len)) != PCARD_OK ||
		    (err = pcard_transport_raw(t, again, again_len, resp, resp_cap, &len)) != PCARD_OK)
			goto out;
		sw = (uint16_t)(resp[len - 2] << 8 | resp[len - 1]);
	}
	acc = len - 2;		/* data gathered so far; the SW sits after it */
	for (unsigned round = 0; (sw & 0xFF00) == 0x6100; round++) {
		if (round >= PCARD_TRANSPORT_MAX_GET_RESPONSE) {
			err = PCARD_E_TRANSPORT;
			goto out;
		}
		getresp[0] = get_response_cla(cmd[0]);
		getresp[1] = 0xC0;
		getresp[2] = 0x00;
		getresp[3] = 0x00;
		getresp[4] = (uint8_t)(sw & 0xFF);
		if (resp_cap - acc < 2) {
			err = PCARD_E_NOSPACE;
			goto out;
		}
		/* The next piece lands right after the data gathered, over the previous SW. */
		if ((err = pcard_transport_raw(t, getresp, sizeof getresp, resp + acc,
		    resp_cap - acc, &len)) != PCARD_OK)
			goto out;
		acc += len - 2;
		sw = (uint16_t)(resp[acc] << 8 | resp[acc + 1]);
	}
	*resp_len = acc + 2;
	err = PCARD_OK;
out:
	return err;
}

pcard_err
pcard_transport_reset(pcard_transport *t, int cold)
{
	if (t == NULL || t->ops == NULL)
		return PCARD_E_INVALID_ARG;
	if (t->ops->reset == NULL)
		return PCARD_E_UNSUPPORTED;
	return t->ops->reset(t, cold);
}

pcard_err
pcard_transport_atr(pcard_transport *t, uint8_t *out, size_t out_cap, size_t *out_len)
{
	if (t == NULL || t->ops == NULL || out_len == NULL)
		return PCARD_E_INVALID_ARG;
	if (t->ops->atr == NULL)
		return PCARD_E_UNSUPPORTED;
	return t->ops->atr(t, out, out_cap, out_len);
}

void
pcard_transport_close(pcard_transport *t)
{
	if (t != NULL && t->ops != NULL && t->ops->close != NULL)
		t->ops->close(t);
}

int
pcard_trace_redact(const uint8_t *cmd, size_t n)
{
	if (cmd == NULL || n < 4)
		return 0;
	if (cmd[1] == 0xD8)				/* PUT KEY */
		return 1;
	if (cmd[1] == 0xE2 && (cmd[2] & 0x60) != 0)	/* STORE DATA with encryption bits */
		return 1;
	return 0;
}
