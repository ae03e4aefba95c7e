/*
 * echo.h: the echo card, a trivial card for link tests and the link benchmark
 * (pcard-echo-card, bench_link): SELECT (INS A4) answers 9000, any other command its own data
 * field followed by 9000, and a command that does not parse as an APDU 6700.
 */
#ifndef PCARD_ECHO_H
#define PCARD_ECHO_H

#include <stddef.h>
#include <stdint.h>

#include "postcard/err.h"

/*
 * The echo card's answer to cmd, written into resp (a pcard_card_ops apdu callback; ctx is not
 * used).
 * @retval PCARD_E_NOSPACE resp_cap is too small for the answer
 */
pcard_err pcard_echo_apdu(void *ctx, const uint8_t *cmd, size_t n, uint8_t *resp,
    size_t resp_cap, size_t *resp_len);

#endif
