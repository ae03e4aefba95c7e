/*
 * transport_pcsc.c: the PC/SC transport on pcsc-lite (winscard API).
 *
 * One context and one card handle per transport. With opts->transaction the handle holds
 * SCardBeginTransaction from open to close, so no other client can interleave APDUs (and
 * break a secure channel) between our commands. Extended APDUs are passed through unchanged;
 * whether they work is up to the reader and card.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <winscard.h>

#include "postcard/apdu.h"
#include "postcard/transport.h"

typedef struct pcsc {
	pcard_transport base;	/* first member: the pcard_transport * is a pcsc * */
	SCARDCONTEXT ctx;
	SCARDHANDLE card;
	DWORD share;
	DWORD protocols;	/* allowed at connect/reconnect */
	DWORD proto;		/* active: SCARD_PROTOCOL_T0 or T1 */
	int have_ctx, have_card, in_tx, want_tx;
	int disposition;
	char reader[PCARD_READER_NAME_MAX];
} pcsc;

static const pcard_transport_ops pcsc_ops;

/* One place that turns a winscard result into a pcard_err. */
static pcard_err
map_rv(LONG rv)
{
	switch (rv) {
	case SCARD_S_SUCCESS:
		return PCARD_OK;
	case SCARD_E_NO_READERS_AVAILABLE:
	case SCARD_E_UNKNOWN_READER:
	case SCARD_E_READER_UNAVAILABLE:
		return PCARD_E_NO_READER;
	case SCARD_E_NO_SMARTCARD:
	case SCARD_W_REMOVED_CARD:
	case SCARD_W_UNRESPONSIVE_CARD:
	case SCARD_W_UNPOWERED_CARD:
	case SCARD_W_UNSUPPORTED_CARD:
		return PCARD_E_NO_CARD;
	case SCARD_E_INSUFFICIENT_BUFFER:
		return PCARD_E_NOSPACE;
	case SCARD_E_NO_MEMORY:
		return PCARD_E_NOMEM;
	default:	/* SCARD_E_NO_SERVICE, SERVICE_STOPPED, SHARING_VIOLATION, W_RESET_CARD... */
		return PCARD_E_TRANSPORT;
	}
}

/* All reader names as a multi-string (NUL-separated, double NUL at the end); caller frees. */
static pcard_err
list_names(SCARDCONTEXT ctx, char **names)
{
	DWORD len = 0;
	char *buf = NULL;
	LONG rv;
	pcard_err err = PCARD_E_INTERNAL;

	*names = NULL;
	if ((rv = SCardListReaders(ctx, NULL, NULL, &len)) != SCARD_S_SUCCESS) {
		err = map_rv(rv);
		goto out;
	}
	if (len == 0) {
		err = PCARD_E_NO_READER;
		goto out;
	}
	if ((buf = calloc(1, (size_t)len + 2)) == NULL) {
		err = PCARD_E_NOMEM;
		goto out;
	}
	if ((rv = SCardListReaders(ctx, NULL, buf, &len)) != SCARD_S_SUCCESS) {
		err = map_rv(rv);
		goto out;
	}
	if (buf[0] == '\0') {
		err = PCARD_E_NO_READER;
		goto out;
	}
	*names = buf;
	buf = NULL;
	err = PCARD_OK;
out:
	free(buf);
	return err;
}

static int
card_present(SCARDCONTEXT ctx, const char *name)
{
	SCARD_READERSTATE st;

	memset(&st, 0, sizeof st);
	st.szReader = name;
	st.dwCurrentState = SCARD_STATE_UNAWARE;
	if (SCardGetStatusChange(ctx, 0, &st, 1) != SCARD_S_SUCCESS)
		return 0;
	return (st.dwEventState & SCARD_STATE_PRESENT) != 0;
}

pcard_err
pcard_pcsc_list_readers(pcard_reader_info *out, size_t cap, size_t *count)
{
	SCARDCONTEXT ctx = 0;
	int have_ctx = 0;
	char *names = NULL;
	size_t n = 0;
	LONG rv;
	pcard_err err = PCARD_E_INTERNAL;

	if (count == NULL || (out == NULL && cap > 0)) {
		err = PCARD_E_INVALID_ARG;
		goto out;
	}
	if ((rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx)) != SCARD_S_SUCCESS) {
		err = map_rv(rv) == PCARD_E_NO_READER ? PCARD_E_NO_READER : PCARD_E_TRANSPORT;
		goto out;
	}
	have_ctx = 1;
	if ((err = list_names(ctx, &names)) != PCARD_OK)
		goto out;
	for (const char *s = names; *s != '\0'; s += strlen(s) + 1, n++) {
		if (n >= cap)
			continue;
		memset(&out[n], 0, sizeof out[n]);
		strncpy(out[n].name, s, sizeof out[n].name - 1);
		out[n].card_present = card_present(ctx, s);
	}
	*count = n;
	err = PCARD_OK;
out:
	free(names);
	if (have_ctx)
		SCardReleaseContext(ctx);
	return err;
}

/* Pick a reader per pcard_pcsc_opts.reader; copies its name into p->reader. */
static pcard_err
pick_reader(pcsc *p, const char *want)
{
	char *names = NULL;
	const char *hit = NULL;
	size_t nhits = 0, idx = 0, n = 0;
	int is_index = 0;
	pcard_err err = PCARD_E_INTERNAL;

	if ((err = list_names(p->ctx, &names)) != PCARD_OK)
		goto out;
	if (want == NULL || want[0] == '\0') {
		for (const char *s = names; *s != '\0' && hit == NULL; s += strlen(s) + 1)
			if (card_present(p->ctx, s))
				hit = s;
		if (hit == NULL) {
			err = PCARD_E_NO_CARD;
			goto out;
		}
		goto found;
	}
	for (const char *s = names; *s != '\0'; s += strlen(s) + 1)
		if (strcmp(s, want) == 0) {
			hit = s;
			goto found;
		}
	for (const char *s = names; *s != '\0'; s += strlen(s) + 1)
		if (strcasestr(s, want) != NULL) {
			hit = s;
			nhits++;
		}
	if (nhits == 1)
		goto found;
	hit = NULL;
	if (nhits == 0) {
		is_index = 1;
		for (const char *c = want; *c != '\0'; c++) {
			if (*c < '0' || *c > '9' || idx > 1000) {
				is_index = 0;
				break;
			}
			idx = idx * 10 + (size_t)(*c - '0');
		}
		if (is_index)
			for (const char *s = names; *s != '\0'; s += strlen(s) + 1, n++)
				if (n == idx) {
					hit = s;
					goto found;
				}
	}
	err = PCARD_E_NO_READER;	/* none, or an ambiguous substring */
	goto out;
found:
	if (strlen(hit) >= sizeof p->reader) {
		err = PCARD_E_NO_READER;
		goto out;
	}
	memcpy(p->reader, hit, strlen(hit) + 1);
	err = PCARD_OK;
out:
	free(names);
	return err;
}

pcard_err
pcard_pcsc_open(const pcard_pcsc_opts *opts, pcard_transport **out)
{
	pcard_pcsc_opts def = { NULL, 0, 1, PCARD_PCSC_LEAVE, PCARD_PCSC_TANY };
	pcsc *p = NULL;
	LONG rv;
	pcard_err err = PCARD_E_INTERNAL;

	if (out == NULL) {
		err = PCARD_E_INVALID_ARG;
		goto out;
	}
	*out = NULL;
	if (opts == NULL)
		opts = &def;
	if (opts->disposition < PCARD_PCSC_LEAVE || opts->disposition > PCARD_PCSC_UNPOWER ||
	    opts->protocol < PCARD_PCSC_TANY || opts->protocol > PCARD_PCSC_T0) {
		err = PCARD_E_INVALID_ARG;
		goto out;
	}
	if ((p = calloc(1, sizeof *p)) == NULL) {
		err = PCARD_E_NOMEM;
		goto out;
	}
	p->base.ops = &pcsc_ops;
	p->share = opts->exclusive ? SCARD_SHARE_EXCLUSIVE : SCARD_SHARE_SHARED;
	p->protocols = opts->protocol == PCARD_PCSC_T1 ? SCARD_PROTOCOL_T1 :
	    opts->protocol == PCARD_PCSC_T0 ? SCARD_PROTOCOL_T0 :
	    SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1;
	p->disposition = opts->disposition;
	if ((rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &p->ctx)) !=
	    SCARD_S_SUCCESS) {
		err = PCARD_E_TRANSPORT;	/* typically SCARD_E_NO_SERVICE: pcscd not running */
		goto out;
	}
	p->have_ctx = 1;
	if ((err = pick_reader(p, opts->reader)) != PCARD_OK)
		goto out;
	if ((rv = SCardConnect(p->ctx, p->reader, p->share, p->protocols, &p->card,
	    &p->proto)) != SCARD_S_SUCCESS) {
		err = map_rv(rv);
		goto out;
	}
	p->have_card = 1;
	if (opts->transaction) {
		p->want_tx = 1;
		if ((rv = SCardBeginTransaction(p->card)) != SCARD_S_SUCCESS) {
			err = map_rv(rv);
			goto out;
		}
		p->in_tx = 1;
	}
	*out = &p->base;
	p = NULL;
	err = PCARD_OK;
out:
	if (p != NULL)
		p->base.ops->close(&p->base);
	return err;
}

static pcard_err
pcsc_transmit(pcard_transport *t, const uint8_t *cmd, size_t n, uint8_t *resp,
    size_t resp_cap, size_t *resp_len)
{
	pcsc *p = (pcsc *)t;
	const SCARD_IO_REQUEST *pci;
	DWORD rlen;
	LONG rv;

	if (!p->have_card)
		return PCARD_E_NO_CARD;
	if (n > PCARD_APDU_MAX_BYTES)
		return PCARD_E_INVALID_ARG;
	if (resp_cap > 65536 + 2)
		resp_cap = 65536 + 2;		/* the largest response APDU */
	pci = p->proto == SCARD_PROTOCOL_T0 ? SCARD_PCI_T0 : SCARD_PCI_T1;
	rlen = (DWORD)resp_cap;
	if ((rv = SCardTransmit(p->card, pci, cmd, (DWORD)n, NULL, resp, &rlen)) !=
	    SCARD_S_SUCCESS)
		return map_rv(rv);
	if ((size_t)rlen > resp_cap)
		return PCARD_E_TRANSPORT;
	*resp_len = (size_t)rlen;
	return PCARD_OK;
}

static pcard_err
pcsc_reset(pcard_transport *t, int cold)
{
	pcsc *p = (pcsc *)t;
	LONG rv;

	if (!p->have_card)
		return PCARD_E_NO_CARD;
	if (p->in_tx) {
		SCardEndTransaction(p->card, SCARD_LEAVE_CARD);
		p->in_tx = 0;
	}
	if ((rv = SCardReconnect(p->card, p->share, p->protocols,
	    cold ? SCARD_UNPOWER_CARD : SCARD_RESET_CARD, &p->proto)) != SCARD_S_SUCCESS)
		return map_rv(rv);
	if (p->want_tx) {
		if ((rv = SCardBeginTransaction(p->card)) != SCARD_S_SUCCESS)
			return map_rv(rv);
		p->in_tx = 1;
	}
	return PCARD_OK;
}

static pcard_err
pcsc_atr(pcard_transport *t, uint8_t *out, size_t out_cap, size_t *out_len)
{
	pcsc *p = (pcsc *)t;
	BYTE atr[MAX_ATR_SIZE];
	DWORD atr_len = sizeof atr, state = 0, proto = 0, rlen = 0;
	LONG rv;

	if (!p->have_card)
		return PCARD_E_NO_CARD;
	if ((rv = SCardStatus(p->card, NULL, &rlen, &state, &proto, atr, &atr_len)) !=
	    SCARD_S_SUCCESS)
		return map_rv(rv);
	if ((size_t)atr_len > sizeof atr)
		return PCARD_E_TRANSPORT;
	if ((size_t)atr_len > out_cap)
		return PCARD_E_NOSPACE;
	memcpy(out, atr, atr_len);
	*out_len = (size_t)atr_len;
	return PCARD_OK;
}

static void
pcsc_close(pcard_transport *t)
{
	pcsc *p = (pcsc *)t;
	static const DWORD disp[] = { SCARD_LEAVE_CARD, SCARD_RESET_CARD, SCARD_UNPOWER_CARD };

	if (p->in_tx)
		SCardEndTransaction(p->card, SCARD_LEAVE_CARD);
	if (p->have_card)
		SCardDisconnect(p->card, disp[p->disposition]);
	if (p->have_ctx)
		SCardReleaseContext(p->ctx);
	free(p);
}

static const pcard_transport_ops pcsc_ops = {
	.name = "pcsc",
	.transmit = pcsc_transmit,
	.reset = pcsc_reset,
	.atr = pcsc_atr,
	.close = pcsc_close,
};

const char *
pcard_pcsc_reader_name(const pcard_transport *t)
{
	if (t == NULL || t->ops != &pcsc_ops)
		return NULL;
	return ((const pcsc *)t)->reader;
}
