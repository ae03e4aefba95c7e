/*
 * fuzz_cardlink.c: the card side of the vpcd framing fed with arbitrary bytes from the host.
 *
 * The input is what a peer (vpcd, or a client of the loopback TCP server) writes: it goes into
 * one end of a socketpair, which is then shut for writing; pcard_cardlink_serve_fd serves an
 * echo card on the other end until EOF or a protocol error. A thread reads the card's replies
 * meanwhile (many small frames would fill the socket buffer) with pcard_linkio_recv; each must
 * be a well-formed frame: the ATR, an empty frame (mute card) or a response ending in 9000 or
 * 6F00. Inputs are capped at 32 KB so that the input itself fits the socket buffer.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/socket.h>

#include "cardlink.h"

#define MAX_INPUT 32768

typedef struct fcard {
	int powered;
} fcard;

static pcard_err
f_atr(void *ctx, uint8_t *out, size_t cap, size_t *len)
{
	static const uint8_t atr[] = { 0x3B, 0x02, 0x14, 0x02 };

	(void)ctx;
	if (cap < sizeof atr)
		return PCARD_E_NOSPACE;
	memcpy(out, atr, sizeof atr);
	*len = sizeof atr;
	return PCARD_OK;
}

static void f_on(void *ctx) { ((fcard *)ctx)->powered = 1; }
static void f_off(void *ctx) { ((fcard *)ctx)->powered = 0; }

/* Echo, except that an INS of FF makes the card fail (the link must answer 6F00). */
static pcard_err
f_apdu(void *ctx, const uint8_t *cmd, size_t n, uint8_t *resp, size_t cap, size_t *len)
{
	fcard *c = ctx;

	if (!c->powered)
		abort();	/* the link must never pass an APDU to an unpowered card */
	if (n >= 2 && cmd[1] == 0xFF)
		return PCARD_E_INTERNAL;
	if (n + 2 > cap)
		return PCARD_E_NOSPACE;
	memcpy(resp, cmd, n);
	resp[n] = 0x90;
	resp[n + 1] = 0x00;
	*len = n + 2;
	return PCARD_OK;
}

/* Read and check every reply until the card side closes its end. */
static void *
drain(void *arg)
{
	static uint8_t frame[PCARD_CARDLINK_MAX_FRAME];
	int fd = *(int *)arg;
	pcard_linkio io;
	size_t n;

	pcard_linkio_init(&io, fd, 0);
	while (pcard_linkio_recv(&io, frame, sizeof frame, &n) == PCARD_OK) {
		if (n == 1)
			abort();	/* the card never sends a 1-byte frame */
		if (n >= 2 && n <= 4 && frame[0] == 0x3B)
			continue;	/* the ATR (or an echo that looks like it) */
		if (n >= 2 && !(frame[n - 2] == 0x90 && frame[n - 1] == 0x00) &&
		    !(frame[n - 2] == 0x6F && frame[n - 1] == 0x00))
			abort();
	}
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const pcard_card_ops ops = { f_atr, f_on, f_off, f_on, f_apdu };
	pcard_cardlink_opts o;
	pthread_t th;
	fcard card;
	int sv[2];
	size_t off = 0;

	if (size > MAX_INPUT)
		return 0;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		return 0;
	while (off < size) {
		ssize_t w = write(sv[0], data + off, size - off);

		if (w <= 0)
			abort();
		off += (size_t)w;
	}
	shutdown(sv[0], SHUT_WR);
	if (pthread_create(&th, NULL, drain, &sv[0]) != 0)
		abort();
	memset(&card, 0, sizeof card);
	memset(&o, 0, sizeof o);
	o.max_frame = size > 0 && (data[0] & 1) ? 300 : 0;	/* sometimes a small limit */
	(void)pcard_cardlink_serve_fd(sv[1], &ops, &card, &o, NULL);
	if (card.powered)
		abort();	/* the link powers the card off when the peer leaves */
	close(sv[1]);	/* the drain thread sees EOF */
	pthread_join(th, NULL);
	close(sv[0]);
	return 0;
}
