/*
 * cardlink.h: the card side of the wire, and the framing both sides share.
 *
 * A simulated card is a table of callbacks (pcard_card_ops) and a context. This module moves
 * bytes between such a card and a peer over a stream socket, in the vsmartcard vpcd framing
 * (drawn in docs/tcp-link.md):
 *
 *   +--------+--------+----------------------+
 *   | len hi | len lo | len bytes of payload |   len: 16-bit big-endian, 1 to 65535
 *   +--------+--------+----------------------+
 *
 *   payload of 1 byte   control, peer -> card: 00 power off, 01 power on, 02 reset (no reply),
 *                       04 get ATR (the card replies with one frame holding its ATR)
 *   payload of 2+ bytes a command APDU; the card replies with one frame holding the response
 *                       APDU (data || SW1 SW2), or with a frame of length 0 when it is not
 *                       powered (a mute card)
 *
 * Three ways to use it:
 *   pcard_cardlink_vpcd_run()   the card connects to pcscd's vpcd driver (vpcd is the server);
 *   pcard_cardlink_listen()/_serve()   the card is a TCP server on 127.0.0.1 for tools without
 *                               PC/SC, one client at a time;
 *   pcard_cardlink_client_open()   host side of that TCP server as a pcard_transport
 *                               (cardlink_client.c).
 *
 * Latency: vpcd writes the length and the payload in two writes without TCP_NODELAY, so the
 * payload waits for the card's delayed ACK (about 40 ms per APDU, platform-facts.md). The card
 * side therefore sets TCP_QUICKACK before and after every read (Linux clears it again on its
 * own), and every frame is sent with one sendmsg() on a TCP_NODELAY socket.
 */
#ifndef PCARD_CARDLINK_H
#define PCARD_CARDLINK_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "postcard/err.h"
#include "postcard/transport.h"

#define PCARD_CARDLINK_VPCD_HOST "127.0.0.1"
#define PCARD_CARDLINK_VPCD_PORT 35963	/* vpcd's default: reader "Virtual PCD 00 00" */
#define PCARD_CARDLINK_MAX_FRAME 65535	/* the 16-bit length field's limit */
#define PCARD_CARDLINK_ATR_MAX 33	/* ISO/IEC 7816-3: TS plus at most 32 bytes */

/* Control payloads (one byte). */
enum {
	PCARD_CARDLINK_POWER_OFF = 0x00,
	PCARD_CARDLINK_POWER_ON = 0x01,
	PCARD_CARDLINK_RESET = 0x02,
	PCARD_CARDLINK_GET_ATR = 0x04,
};

/*
 * A card, as the link sees it. ctx is the card's; the link never looks inside.
 * atr is asked for at any time, powered or not: vpcd polls card presence with get-ATR about
 * every 400 ms and asks it before powering on. power_on, power_off and reset may be NULL; they
 * are where a card drops its volatile state (selection, secure channels, logical channels).
 * apdu writes data || SW into resp (resp_cap is at most PCARD_CARDLINK_MAX_FRAME); an error
 * from it is a card fault: the link answers 6F00 and keeps serving (the first such error is in
 * pcard_cardlink_stats.card_err).
 */
typedef struct pcard_card_ops {
	pcard_err (*atr)(void *ctx, uint8_t *out, size_t out_cap, size_t *out_len);
	void (*power_on)(void *ctx);
	void (*power_off)(void *ctx);
	void (*reset)(void *ctx);
	pcard_err (*apdu)(void *ctx, const uint8_t *cmd, size_t n, uint8_t *resp, size_t resp_cap,
	    size_t *resp_len);
} pcard_card_ops;

typedef struct pcard_cardlink_opts {
	/* 1: never set TCP_QUICKACK (only to measure the delayed-ACK stall in a benchmark). */
	int no_quickack;
	/*
	 * When non-NULL, every wait checks *stop at least every 100 ms (and after a signal
	 * interrupts it); once it is non-zero the serving call returns PCARD_OK with
	 * stats.stopped set. Set it from a signal handler or another thread.
	 */
	const volatile sig_atomic_t *stop;
	/* Largest frame accepted from the peer, 1 to 65535; 0 = PCARD_CARDLINK_MAX_FRAME. */
	size_t max_frame;
	/* vpcd_run: keep retrying a refused connection for this long (vpcd not up yet); 0 = once. */
	unsigned connect_wait_ms;
} pcard_cardlink_opts;

/* What a serving call saw (all fields zeroed at its start). */
typedef struct pcard_cardlink_stats {
	unsigned long long apdus;	/* command APDUs answered */
	unsigned long long controls;	/* control frames handled */
	unsigned long long clients;	/* connections served (TCP server) */
	int peer_closed;	/* the peer closed its end (vpcd or pcscd went away) */
	int stopped;		/* returned because *opts->stop became non-zero */
	int sys_errno;		/* errno of the failing system call, 0 if none */
	pcard_err card_err;	/* the first error an apdu callback returned, PCARD_OK if none */
} pcard_cardlink_stats;

/*
 * Serve one connected stream socket (TCP or AF_UNIX; fd stays the caller's, not closed) until
 * the peer closes it, a protocol error, or a stop request. At the end the card is powered off
 * (power_off is called) if it was powered. ops->atr and ops->apdu must be set. opts and stats
 * may be NULL.
 * @retval PCARD_OK stopped on request (stats->stopped)
 * @retval PCARD_E_TRANSPORT the peer closed the connection between frames (stats->peer_closed)
 *         or a socket call failed (stats->sys_errno)
 * @retval PCARD_E_TRUNCATED the peer closed the connection inside a frame
 * @retval PCARD_E_BAD_ENCODING a frame of length 0, an unknown control byte, a frame over
 *         opts->max_frame, or an ATR the card gave that is empty or over 33 bytes
 * @retval PCARD_E_INVALID_ARG fd negative, ops NULL or missing atr/apdu, bad max_frame
 * @retval PCARD_E_NOMEM
 */
pcard_err pcard_cardlink_serve_fd(int fd, const pcard_card_ops *ops, void *ctx,
    const pcard_cardlink_opts *opts, pcard_cardlink_stats *stats);

/*
 * Connect the card to vpcd at host:port (host a numeric IPv4 or IPv6 address, no name lookup;
 * NULL = 127.0.0.1; port 0 = 35963) and serve it until vpcd goes away. Reconnecting is the
 * caller's decision: call again.
 * @retval PCARD_E_TRANSPORT could not connect (stats->sys_errno, e.g. ECONNREFUSED: pcscd with
 *         vpcd is not running on that port), or vpcd closed the connection (stats->peer_closed:
 *         pcscd stopped)
 * @retval PCARD_E_INVALID_ARG host is not a numeric address
 * Other values as pcard_cardlink_serve_fd.
 */
pcard_err pcard_cardlink_vpcd_run(const char *host, uint16_t port, const pcard_card_ops *ops,
    void *ctx, const pcard_cardlink_opts *opts, pcard_cardlink_stats *stats);

/* ---- TCP server on the loopback interface ---- */

typedef struct pcard_cardlink_server {
	int fd;		/* listening socket, -1 when closed */
	uint16_t port;	/* the port bound (useful after asking for port 0) */
} pcard_cardlink_server;

/*
 * Listen on 127.0.0.1:port (0 = any free port; srv->port tells which). Never listens on
 * another address. SO_REUSEADDR is set so that a restarted simulator gets its port back.
 * @retval PCARD_E_TRANSPORT bind or listen failed (e.g. the port is taken)
 */
pcard_err pcard_cardlink_listen(uint16_t port, pcard_cardlink_server *srv);

/*
 * Accept clients one at a time and serve each with pcard_cardlink_serve_fd; a client that
 * connects while another is served waits in the listen queue. A client that leaves, hangs up
 * mid-frame or breaks the framing ends only its own connection (the card is powered off, as
 * a card taken out of a reader). Returns after max_clients connections (0 = no limit), on a
 * stop request, or when accept fails.
 * @retval PCARD_OK max_clients served, or stopped (stats->stopped)
 * @retval PCARD_E_TRANSPORT accept failed (stats->sys_errno)
 */
pcard_err pcard_cardlink_serve(pcard_cardlink_server *srv, const pcard_card_ops *ops, void *ctx,
    unsigned long long max_clients, const pcard_cardlink_opts *opts,
    pcard_cardlink_stats *stats);

/* Close the listening socket; safe to call twice. */
void pcard_cardlink_server_close(pcard_cardlink_server *srv);

/* ---- Host side of the TCP server: a pcard_transport (cardlink_client.c) ---- */

typedef struct pcard_cardlink_client_opts {
	/* Give up on a response after this long (0 = 30000 ms; the card may be slow, not dead). */
	unsigned timeout_ms;
} pcard_cardlink_client_opts;

/*
 * Connect to a card served by pcard_cardlink_serve at host:port (numeric address; NULL =
 * 127.0.0.1), power it on and read its ATR. The transport's reset sends 02 (warm) or 00 then
 * 01 (cold); atr asks 04; close just closes the socket (the server powers the card off).
 * opts may be NULL.
 * @retval PCARD_E_TRANSPORT connect failed, the peer closed, or timed out
 * @retval PCARD_E_NO_CARD the server answered get-ATR with an empty frame
 * @retval PCARD_E_INVALID_ARG host not numeric, port 0, out NULL
 * @retval PCARD_E_NOMEM
 * Its transmit returns PCARD_E_NO_CARD for a mute (length 0) reply, PCARD_E_NOSPACE when the
 * response exceeds resp_cap (the frame is consumed, the link stays usable), and
 * PCARD_E_TRANSPORT for a reply of 1 byte or a broken connection.
 */
pcard_err pcard_cardlink_client_open(const char *host, uint16_t port,
    const pcard_cardlink_client_opts *opts, pcard_transport **out);

/* ---- Framing, shared by both ends (exposed for the client and the tests) ---- */

typedef struct pcard_linkio {
	int fd;
	int quickack;		/* set TCP_QUICKACK around every read (TCP sockets only) */
	int timeout_ms;		/* 0: wait forever (unless stop) */
	const volatile sig_atomic_t *stop;
	int peer_closed;	/* out: EOF seen */
	int stopped;		/* out: *stop was seen non-zero */
	int sys_errno;		/* out: errno of the failing call */
} pcard_linkio;

/*
 * Connect a TCP socket to host:port (numeric address, NULL = 127.0.0.1), retrying a refused
 * connection every 50 ms until wait_ms has passed or *stop (when stop is non-NULL) is set.
 * *fd_out is the caller's to close. *sys_errno gets the errno of the last failure.
 * @retval PCARD_E_INVALID_ARG host is not a numeric IPv4 or IPv6 address
 * @retval PCARD_E_TRANSPORT socket or connect failed
 */
pcard_err pcard_cardlink_tcp_connect(const char *host, uint16_t port, unsigned wait_ms,
    const volatile sig_atomic_t *stop, int *fd_out, int *sys_errno);

/* Init io over fd: quickack on when fd is a TCP socket and quickack is non-zero. */
void pcard_linkio_init(pcard_linkio *io, int fd, int quickack);

/*
 * Send one frame (length then payload) in one sendmsg() call, looping only if the kernel takes
 * part of it. n from 0 to 65535.
 * @retval PCARD_E_INVALID_ARG n over 65535
 * @retval PCARD_E_TRANSPORT send failed (io->sys_errno; EPIPE when the peer left)
 */
pcard_err pcard_linkio_send(pcard_linkio *io, const uint8_t *p, size_t n);

/*
 * Receive one frame into out; reads until the whole announced length has arrived. *len gets
 * the announced length, also when it exceeds out_cap: then the payload is read and dropped so
 * the stream stays in step, and the result is PCARD_E_NOSPACE.
 * @retval PCARD_E_TRANSPORT EOF before the frame started (io->peer_closed), timeout
 *         (io->sys_errno ETIMEDOUT), stop request (io->stopped), or recv failed
 * @retval PCARD_E_TRUNCATED EOF inside the frame (io->peer_closed)
 */
pcard_err pcard_linkio_recv(pcard_linkio *io, uint8_t *out, size_t out_cap, size_t *len);

#endif
