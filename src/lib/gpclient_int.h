/* gpclient_int.h: internals shared by the gpclient*.c files. */
#ifndef POSTCARD_GPCLIENT_INT_H
#define POSTCARD_GPCLIENT_INT_H

#include "postcard/apdu.h"
#include "postcard/bytes.h"
#include "postcard/gpclient.h"

/* Drop the secure channel and the derived card keys. */
void gpc_end_session(pcard_gpc *g);
/* Record statistics and the last INS / SW of an exchange done outside pcard_gpc_transmit. */
void gpc_note(pcard_gpc *g, const uint8_t *cmd, size_t n, const uint8_t *rsp, size_t rn);
/* Exchange through the channel when open, else plain. */
pcard_err gpc_cmd(pcard_gpc *g, const uint8_t *cmd, size_t n, uint8_t *out, size_t out_cap,
    size_t *out_len);
/* gpc_cmd that wants 9000: PCARD_E_CARD_STATUS otherwise. */
pcard_err gpc_cmd_ok(pcard_gpc *g, const uint8_t *cmd, size_t n);
/* Largest plain data field of one command now (channel, 9F65, --bs). */
size_t gpc_max_data(const pcard_gpc *g);
/* Largest Lc the card takes (9F65, --bs), for the channel's max_lc. */
size_t gpc_max_lc(const pcard_gpc *g);

#endif
