/*
 * echo.c: the echo card's answers (echo.h).
 */
#include "echo.h"
#include "postcard/apdu.h"
#include "postcard/bytes.h"

pcard_err
pcard_echo_apdu(void *ctx, const uint8_t *cmd, size_t n, uint8_t *resp, size_t resp_cap,
    size_t *resp_len)
{
	pcard_apdu a;
	pcard_wr w;

	(void)ctx;
	pcard_wr_init(&w, resp, resp_cap);
	if (pcard_apdu_parse(cmd, n, &a) != PCARD_OK) {
		pcard_wr_u16(&w, 0x6700);
	} else {
		if (a.ins != 0xA4)
			pcard_wr_bytes(&w, a.data, a.lc);
		pcard_wr_u16(&w, 0x9000);
	}
	return pcard_wr_finish(&w, resp_len);
}
