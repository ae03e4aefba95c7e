/*
 * card_host.h: a host driver for in-process card tests and the card fuzz seeds (header-only,
 * static functions): send APDUs to a pcard_card, open an SCP03/SCP02 session through
 * libpostcard's host side, send wrapped commands.
 */
#ifndef PCARD_CARD_HOST_H
#define PCARD_CARD_HOST_H

#include <stdint.h>
#include <string.h>

#include "card.h"
#include "postcard/gp.h"
#include "postcard/keys.h"
#include "postcard/scp.h"

typedef struct ch_host {
	pcard_card *card;
	pcard_keys *keys;
	pcard_scp_keyset ks;
	pcard_scp scp;
	int open;
	uint8_t rsp[PCARD_CARD_RSP_MAX];
	size_t rlen;
	uint16_t sw;
	/* optional recorder of every command sent (fuzz seeds) */
	void (*record)(void *ctx, const uint8_t *cmd, size_t n);
	void *record_ctx;
} ch_host;

static const uint8_t ch_test_key[16] = {
	0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47,
	0x48, 0x49, 0x4A, 0x4B, 0x4C, 0x4D, 0x4E, 0x4F,
};

static inline int
ch_keys(ch_host *h, pcard_keytype t, const uint8_t *key, size_t n)
{
	pcard_scp_clear(&h->scp);	/* the session holds handles of the old provider */
	pcard_scp_init(&h->scp);
	h->open = 0;
	if (h->keys != NULL)
		pcard_keys_free(h->keys);
	h->keys = NULL;
	if (pcard_keys_mem_new(32, &h->keys) != PCARD_OK ||
	    pcard_keys_mem_import(h->keys, "enc", t, key, n, &h->ks.enc) != PCARD_OK ||
	    pcard_keys_mem_import(h->keys, "mac", t, key, n, &h->ks.mac) != PCARD_OK ||
	    pcard_keys_mem_import(h->keys, "dek", t, key, n, &h->ks.dek) != PCARD_OK)
		return -1;
	return 0;
}

/* Raw exchange: response in h->rsp (data then SW), h->sw. */
static inline uint16_t
ch_raw(ch_host *h, const uint8_t *cmd, size_t n)
{
	if (h->record != NULL)
		h->record(h->record_ctx, cmd, n);
	h->rlen = 0;
	if (pcard_card_apdu(h->card, cmd, n, h->rsp, sizeof h->rsp, &h->rlen) != PCARD_OK ||
	    h->rlen < 2)
		return h->sw = 0;
	h->sw = (uint16_t)(h->rsp[h->rlen - 2] << 8 | h->rsp[h->rlen - 1]);
	return h->sw;
}

/* Decode hex (at most 300 bytes) and exchange it through send; 0 when the hex is bad. */
static inline uint16_t
ch_send_hex(ch_host *h, const char *hex, uint16_t (*send)(ch_host *, const uint8_t *, size_t))
{
	uint8_t b[300];
	size_t n;

	if (pcard_hex_decode(hex, b, sizeof b, &n) != PCARD_OK)
		return 0;
	return send(h, b, n);
}

static inline uint16_t
ch_hex(ch_host *h, const char *hex)
{
	return ch_send_hex(h, hex, ch_raw);
}

/* Open a session with kvn (0 = default) at level. Returns the SW of the failing step. */
static inline uint16_t
ch_open(ch_host *h, uint8_t kvn, uint8_t level, uint8_t scp02_i)
{
	pcard_scp_host_params hp;
	uint8_t cmd[64];
	size_t nc;
	uint16_t sw;

	memset(&hp, 0, sizeof hp);
	hp.kvn = kvn;
	hp.scp02_i = scp02_i;
	pcard_scp_clear(&h->scp);
	pcard_scp_init(&h->scp);
	h->open = 0;
	if (pcard_scp_host_init_update(&h->scp, h->keys, &h->ks, &hp, cmd, sizeof cmd, &nc) !=
	    PCARD_OK)
		return 1;
	if ((sw = ch_raw(h, cmd, nc)) != 0x9000)
		return sw;
	if (pcard_scp_host_auth(&h->scp, h->rsp, h->rlen) != PCARD_OK)
		return 2;
	if (pcard_scp_host_ext_auth(&h->scp, level, cmd, sizeof cmd, &nc) != PCARD_OK)
		return 3;
	if ((sw = ch_raw(h, cmd, nc)) != 0x9000)
		return sw;
	if (pcard_scp_host_ext_auth_rsp(&h->scp, h->rsp, h->rlen) != PCARD_OK)
		return 4;
	h->open = 1;
	return 0x9000;
}

/* Wrapped exchange of a plain command: response data unwrapped into h->rsp. */
static inline uint16_t
ch_sec(ch_host *h, const uint8_t *cmd, size_t n)
{
	uint8_t w[PCARD_SCP_MAX_CMD], raw[PCARD_CARD_RSP_MAX];
	size_t nw, nr;

	if (pcard_scp_wrap_cmd(&h->scp, cmd, n, w, sizeof w, &nw) != PCARD_OK)
		return 1;
	if (h->record != NULL)
		h->record(h->record_ctx, w, nw);
	if (pcard_card_apdu(h->card, w, nw, raw, sizeof raw, &nr) != PCARD_OK)
		return 2;
	if (pcard_scp_unwrap_rsp(&h->scp, raw, nr, h->rsp, sizeof h->rsp, &h->rlen) != PCARD_OK) {
		h->rlen = nr;
		memcpy(h->rsp, raw, nr);
		h->sw = (uint16_t)(raw[nr - 2] << 8 | raw[nr - 1]);
		return h->sw;
	}
	h->sw = (uint16_t)(h->rsp[h->rlen - 2] << 8 | h->rsp[h->rlen - 1]);
	return h->sw;
}

static inline uint16_t
ch_sec_hex(ch_host *h, const char *hex)
{
	return ch_send_hex(h, hex, ch_sec);
}

static inline void
ch_clear(ch_host *h)
{
	pcard_scp_clear(&h->scp);
	pcard_keys_free(h->keys);
	h->keys = NULL;
}

#endif
