/*
 * simcard.h: tests only: the card simulator's card manager (src/card/card.h) behind an
 * in-process pcard_transport, so host-side code talks to a real simulated card without a
 * reader or a socket.
 */
#ifndef PCARD_TEST_SIMCARD_H
#define PCARD_TEST_SIMCARD_H

#include <stddef.h>
#include <stdint.h>

#include "postcard/err.h"
#include "postcard/transport.h"

typedef struct simcard simcard;

typedef struct simcard_opts {
	uint8_t scp;		/* 0x03 (default) or 0x02 */
	uint8_t i;		/* 0 = the simulator's default */
	const uint8_t *key;	/* ENC = MAC = DEK; NULL = the GP test key */
	size_t key_len;
	uint8_t life_cycle;	/* 0 = SECURED */
} simcard_opts;

/*
 * A powered card with the simulator's default state (opts may be NULL) and a transport onto
 * it. Free with simcard_free (closes the transport too).
 */
pcard_err simcard_new(const simcard_opts *opts, simcard **out);
void simcard_free(simcard *s);
/* The transport (borrowed; valid until simcard_free). */
pcard_transport *simcard_transport(simcard *s);
/* The card (borrowed): a pcard_card * for card.h calls (declared void to keep this header
 * free of src/card includes). */
void *simcard_card(simcard *s);

#endif
