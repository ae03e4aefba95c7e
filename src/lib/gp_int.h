/* gp_int.h: helpers shared by the gp_*.c files (not installed). */
#ifndef POSTCARD_GP_INT_H
#define POSTCARD_GP_INT_H

#include <stddef.h>
#include <stdint.h>

#include "postcard/err.h"

/*
 * Encode cla ins p1 p2 [data] [Le 00 when has_le] with pcard_apdu_encode (extended when data
 * is over 255 bytes; then Le is 0000).
 */
pcard_err gp_cmd(uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2, const uint8_t *data,
    size_t n, int has_le, uint8_t *out, size_t out_cap, size_t *out_len);

#endif
