/*
 * scp_open.c: the secure channel over a transport (host side): open a session in three
 * exchanges' worth of steps and exchange wrapped commands. The key provider does every
 * cryptographic step; this file only moves bytes.
 */
#include <string.h>

#include "postcard/crypto.h"
#include "postcard/scp.h"
#include "postcard/transport.h"

static pcard_err
initialize_update(pcard_transport *t, pcard_keys *keys, const pcard_scp_keyset *ks,
    const pcard_scp_host_params *p, pcard_scp *s, uint16_t *sw)
{
	uint8_t cmd[32], rsp[PCARD_SCP_MAX_RSP];
	size_t nc, nr;
	pcard_scp_host_params p16;
	pcard_err err = PCARD_E_INTERNAL;

	if ((err = pcard_scp_host_init_update(s, keys, ks, p, cmd, sizeof cmd, &nc)) !=
	    PCARD_OK ||
	    (err = pcard_transport_transmit(t, cmd, nc, rsp, sizeof rsp, &nr)) != PCARD_OK)
		goto out;
	if (nr == 2 && rsp[0] == 0x67 && rsp[1] == 0x00 && p->host_chal == NULL &&
	    (p->host_chal_len == 0 || p->host_chal_len == 8) && p->scp != 2) {
		/* the card wants S16 challenges */
		p16 = *p;
		p16.host_chal_len = 16;
		if ((err = pcard_scp_host_init_update(s, keys, ks, &p16, cmd, sizeof cmd, &nc)) !=
		    PCARD_OK ||
		    (err = pcard_transport_transmit(t, cmd, nc, rsp, sizeof rsp, &nr)) != PCARD_OK)
			goto out;
	}
	err = pcard_scp_host_auth(s, rsp, nr);
	*sw = pcard_scp_last_sw(s);
out:
	pcard_wipe(cmd, sizeof cmd);
	return err;
}

static pcard_err
external_authenticate(pcard_transport *t, pcard_scp *s, uint8_t level, uint16_t *sw)
{
	uint8_t cmd[64], rsp[PCARD_SCP_MAX_RSP];
	size_t nc, nr;
	pcard_err err = PCARD_E_INTERNAL;

	if ((err = pcard_scp_host_ext_auth(s, level, cmd, sizeof cmd, &nc)) != PCARD_OK ||
	    (err = pcard_transport_transmit(t, cmd, nc, rsp, sizeof rsp, &nr)) != PCARD_OK)
		goto out;
	if (nr >= 2)
		*sw = (uint16_t)(rsp[nr - 2] << 8 | rsp[nr - 1]);
	err = pcard_scp_host_ext_auth_rsp(s, rsp, nr);
out:
	pcard_wipe(cmd, sizeof cmd);
	return err;
}

pcard_err
pcard_scp_open(pcard_transport *t, pcard_keys *keys, const pcard_scp_keyset *ks,
    const pcard_scp_host_params *p, uint8_t level, pcard_scp *s, uint16_t *sw)
{
	uint16_t last = 0;
	pcard_err err = PCARD_E_INTERNAL;

	if (t == NULL || keys == NULL || ks == NULL || p == NULL || s == NULL)
		return PCARD_E_INVALID_ARG;
	/* keys is the key provider: it derives and MACs; this code never sees key bytes */
	if ((err = initialize_update(t, keys, ks, p, s, &last)) != PCARD_OK ||
	    (err = external_authenticate(t, s, level, &last)) != PCARD_OK)
		goto out;
	err = PCARD_OK;
out:
	if (sw != NULL)
		*sw = last;
	if (err != PCARD_OK)
		pcard_scp_clear(s);	/* releases session keys; s stays safe to reuse */
	return err;
}

pcard_err
pcard_scp_transmit(pcard_transport *t, pcard_scp *s, const uint8_t *cmd, size_t n,
    uint8_t *out, size_t out_cap, size_t *out_len)
{
	uint8_t w[PCARD_SCP_MAX_CMD], rsp[PCARD_SCP_MAX_RSP];
	size_t nw, nr;
	pcard_err err = PCARD_E_INTERNAL;

	if (t == NULL || s == NULL)
		return PCARD_E_INVALID_ARG;
	if ((err = pcard_scp_wrap_cmd(s, cmd, n, w, sizeof w, &nw)) != PCARD_OK ||
	    (err = pcard_transport_transmit(t, w, nw, rsp, sizeof rsp, &nr)) != PCARD_OK ||
	    (err = pcard_scp_unwrap_rsp(s, rsp, nr, out, out_cap, out_len)) != PCARD_OK)
		goto out;
	err = PCARD_OK;
out:
	pcard_wipe(w, sizeof w);
	pcard_wipe(rsp, sizeof rsp);
	return err;
}
