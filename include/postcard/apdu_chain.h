/*
 * apdu_chain.h: ISO/IEC 7816-4 5.1.1 command chaining.
 *
 * A command whose data field is longer than one short APDU can carry is sent as a chain of
 * short APDUs over consecutive slices of the data: every piece but the last has CLA b5 (0x10)
 * set; the last piece carries the original CLA and the Le (if any). Pieces are numbered from 0.
 *
 *   piece i < n-1:  CLA|10 INS P1 P2 Lc data[i*block .. (i+1)*block)
 *   piece n-1:      CLA    INS P1 P2 Lc data[(n-1)*block ..]  [Le]
 *
 * GP's own segmentation (P1 b8 "more" for LOAD, INSTALL, STORE DATA, PUT KEY, DELETE) is a
 * different mechanism, built by the gp.h builders.
 */
#ifndef POSTCARD_APDU_CHAIN_H
#define POSTCARD_APDU_CHAIN_H

#include <stddef.h>
#include <stdint.h>

#include "postcard/apdu.h"
#include "postcard/err.h"

#define PCARD_APDU_CLA_CHAIN 0x10	/* CLA b5: command chaining, not the last command */

/*
 * Number of pieces a->lc bytes make in blocks of block bytes (1 when lc is 0).
 * @retval PCARD_E_INVALID_ARG block is 0 or over 255
 */
pcard_err pcard_apdu_chain_count(const pcard_apdu *a, size_t block, size_t *count);

/*
 * Encode piece index (0-based) of the chain of a as a short APDU into out.
 * @retval PCARD_E_INVALID_ARG block 0 or over 255, index past the last piece, CLA already has
 *         b5 set, lc over 65535, has_le with le 0 or over 256 (the last piece is short)
 * @retval PCARD_E_NOSPACE out_cap too small
 */
pcard_err pcard_apdu_chain_piece(const pcard_apdu *a, size_t block, size_t index, uint8_t *out,
    size_t out_cap, size_t *out_len);

#endif
