/*
 * fuzz_card.c: the simulated card driven by a sequence of APDUs (stateful, structure-aware).
 *
 * Input: mode(1) then records len(1) || APDU bytes (len 0 ends). Mode bit 0: first open an
 * SCP03 session (C-MAC + C-DEC) with the default test keys through libpostcard's host side
 * and wrap each record as a plain command, so the fuzzer reaches INSTALL, LOAD, DELETE, PUT
 * KEY and the rest behind the security checks; a record the host cannot wrap is sent raw.
 * Mode bit 1: the card is SCP02 (i=55). Mode bit 2: reset the card before each record whose
 * first byte is FF (then the record is skipped). Persistence is off.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../tests/card_host.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Test hook (tests/test_card_seeds.c includes this file): when set, called with the status
 * word the card answered to each record, so a test can check what a seed reaches. */
void (*fuzz_card_observe_sw)(uint16_t sw);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t host_chal[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	pcard_cardstate cs;
	pcard_cardstate_opts o;
	pcard_card *c = NULL;
	ch_host h;
	uint8_t mode, atr[40];
	size_t n, off = 1;

	if (size < 1)
		return 0;
	mode = data[0];
	memset(&o, 0, sizeof o);
	o.scp = (mode & 2) ? 2 : 3;
	pcard_cardstate_init(&cs);
	if (pcard_cardstate_default(&cs, &o) != PCARD_OK)
		return 0;
	if (pcard_card_open_state(&cs, NULL, NULL, &c) != PCARD_OK)
		goto out;
	(void)pcard_card_power_on(c, atr, sizeof atr, &n);
	memset(&h, 0, sizeof h);
	pcard_scp_init(&h.scp);
	h.card = c;
	if (ch_keys(&h, o.scp == 3 ? PCARD_KEY_AES : PCARD_KEY_DES3, ch_test_key, 16) != 0)
		goto out;
	if (mode & 1) {
		pcard_scp_host_params hp;
		uint8_t cmd[64];
		size_t nc;

		memset(&hp, 0, sizeof hp);
		hp.host_chal = host_chal;
		hp.host_chal_len = 8;
		hp.scp02_i = 0x55;
		if (pcard_scp_host_init_update(&h.scp, h.keys, &h.ks, &hp, cmd, sizeof cmd, &nc) ==
		    PCARD_OK && ch_raw(&h, cmd, nc) == 0x9000 &&
		    pcard_scp_host_auth(&h.scp, h.rsp, h.rlen) == PCARD_OK &&
		    pcard_scp_host_ext_auth(&h.scp, 0x03, cmd, sizeof cmd, &nc) == PCARD_OK &&
		    ch_raw(&h, cmd, nc) == 0x9000 &&
		    pcard_scp_host_ext_auth_rsp(&h.scp, h.rsp, h.rlen) == PCARD_OK)
			h.open = 1;
	}
	while (off < size) {
		size_t len = data[off++];

		if (len == 0 || len > size - off)
			break;
		if ((mode & 4) && data[off] == 0xFF) {
			pcard_card_reset(c);
			h.open = 0;
		} else if (h.open && pcard_scp_state_of(&h.scp) == PCARD_SCP_OPEN) {
			if (ch_sec(&h, data + off, len) == 1)
				(void)ch_raw(&h, data + off, len);
			if (fuzz_card_observe_sw != NULL)
				fuzz_card_observe_sw(h.sw);
		} else {
			(void)ch_raw(&h, data + off, len);
			if (fuzz_card_observe_sw != NULL)
				fuzz_card_observe_sw(h.sw);
		}
		off += len;
	}
out:
	ch_clear(&h);
	pcard_card_free(c);
	pcard_cardstate_clear(&cs);
	return 0;
}
