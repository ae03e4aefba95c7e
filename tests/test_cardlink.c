/* test_cardlink.c: vpcd framing (split reads, oversized and bad frames, EOF, timeouts, stop),
 * the card side over socketpairs and loopback TCP (a fake vpcd), the loopback TCP server and
 * the client transport, with a trivial echo card. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "postcard/transport.h"

#include "cardlink.h"

/* ---- a trivial card ---- */

enum { ATR_OK, ATR_EMPTY, ATR_LONG };

typedef struct tcard {
	int ons, offs, resets, atrs;
	int fail;		/* apdu callback returns PCARD_E_IO */
	int atr_mode;
	int short_resp;		/* apdu callback returns 1 byte */
} tcard;

static const uint8_t test_atr[] = { 0x3B, 0x8A, 0x80, 0x01, 0x50, 0x4F, 0x53, 0x54, 0x43,
	0x41, 0x52, 0x44, 0x2D, 0x31, 0x1B };

static pcard_err
tc_atr(void *ctx, uint8_t *out, size_t cap, size_t *len)
{
	tcard *c = ctx;

	c->atrs++;
	if (c->atr_mode == ATR_EMPTY) {
		*len = 0;
		return PCARD_OK;
	}
	if (c->atr_mode == ATR_LONG)
		return PCARD_E_NOSPACE;	/* the card wants more than an ATR may hold */
	if (cap < sizeof test_atr)
		return PCARD_E_NOSPACE;
	memcpy(out, test_atr, sizeof test_atr);
	*len = sizeof test_atr;
	return PCARD_OK;
}

static void tc_on(void *ctx) { ((tcard *)ctx)->ons++; }
static void tc_off(void *ctx) { ((tcard *)ctx)->offs++; }
static void tc_reset(void *ctx) { ((tcard *)ctx)->resets++; }

/*
 * INS CA: answer P1P2 bytes (i & 0xFF) and 9000, to make large responses.
 * Otherwise: echo the whole command, then 9000.
 */
static pcard_err
tc_apdu(void *ctx, const uint8_t *cmd, size_t n, uint8_t *resp, size_t cap, size_t *len)
{
	tcard *c = ctx;
	size_t k;

	if (c->fail)
		return PCARD_E_IO;
	if (c->short_resp) {
		resp[0] = 0x90;
		*len = 1;
		return PCARD_OK;
	}
	if (n >= 4 && cmd[1] == 0xCA) {
		k = ((size_t)cmd[2] << 8) | cmd[3];
		if (k + 2 > cap)
			return PCARD_E_NOSPACE;
		for (size_t i = 0; i < k; i++)
			resp[i] = (uint8_t)i;
	} else {
		if (n + 2 > cap)
			return PCARD_E_NOSPACE;
		memcpy(resp, cmd, n);
		k = n;
	}
	resp[k] = 0x90;
	resp[k + 1] = 0x00;
	*len = k + 2;
	return PCARD_OK;
}

static const pcard_card_ops tc_ops = { tc_atr, tc_on, tc_off, tc_reset, tc_apdu };

/* ---- helpers ---- */

static void
write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n > 0) {
		ssize_t w = write(fd, b, n);

		assert_true(w > 0);
		b += w;
		n -= (size_t)w;
	}
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* A raw frame: 2-byte length then bytes. */
static void
put_frame(int fd, const uint8_t *p, size_t n)
{
	uint8_t hdr[2] = { (uint8_t)(n >> 8), (uint8_t)n };

	write_all(fd, hdr, 2);
	if (n > 0)
		write_all(fd, p, n);
}

static void
put_control(int fd, uint8_t c)
{
	put_frame(fd, &c, 1);
}

/* Read one frame from fd (as a peer of the card), asserting success. */
static size_t
get_frame(int fd, uint8_t *out, size_t cap)
{
	pcard_linkio io;
	size_t n = 0;

	pcard_linkio_init(&io, fd, 0);
	io.timeout_ms = 5000;
	assert_int_equal(pcard_linkio_recv(&io, out, cap, &n), PCARD_OK);
	return n;
}

/* Loopback TCP pair: *a connected to *b. */
static void
tcp_pair(int *a, int *b)
{
	pcard_cardlink_server srv;
	int e = 0;

	assert_int_equal(pcard_cardlink_listen(0, &srv), PCARD_OK);
	assert_int_equal(pcard_cardlink_tcp_connect(NULL, srv.port, 0, NULL, a, &e), PCARD_OK);
	*b = accept(srv.fd, NULL, NULL);
	assert_true(*b >= 0);
	pcard_cardlink_server_close(&srv);
}

/* A card served on one end of a socket, in a thread. */
typedef struct served {
	pthread_t th;
	int fd;
	tcard card;
	pcard_cardlink_opts opts;
	pcard_cardlink_stats st;
	pcard_err err;
} served;

static void *
serve_thread(void *arg)
{
	served *s = arg;

	s->err = pcard_cardlink_serve_fd(s->fd, &tc_ops, &s->card, &s->opts, &s->st);
	return NULL;
}

static void
serve_start(served *s, int fd)
{
	s->fd = fd;
	assert_int_equal(pthread_create(&s->th, NULL, serve_thread, s), 0);
}

static void
serve_join(served *s)
{
	assert_int_equal(pthread_join(s->th, NULL), 0);
	close(s->fd);
}

/* ---- framing ---- */

static void
test_frame_roundtrip(void **state)
{
	int sv[2];
	pcard_linkio a, b;
	uint8_t big[PCARD_CARDLINK_MAX_FRAME], got[PCARD_CARDLINK_MAX_FRAME];
	const uint8_t one = 0x04;
	size_t n = 99;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	pcard_linkio_init(&a, sv[0], 1);
	pcard_linkio_init(&b, sv[1], 1);
	assert_int_equal(a.quickack, 0);	/* not TCP: the option is not tried */
	for (size_t i = 0; i < sizeof big; i++)
		big[i] = (uint8_t)(i * 7);
	/* an empty frame, a one-byte frame, and a length the field cannot carry */
	assert_int_equal(pcard_linkio_send(&a, NULL, 0), PCARD_OK);
	assert_int_equal(pcard_linkio_recv(&b, got, sizeof got, &n), PCARD_OK);
	assert_int_equal(n, 0);
	assert_int_equal(pcard_linkio_send(&a, &one, 1), PCARD_OK);
	assert_int_equal(pcard_linkio_recv(&b, got, sizeof got, &n), PCARD_OK);
	assert_int_equal(n, 1);
	assert_int_equal(got[0], 0x04);
	assert_int_equal(pcard_linkio_send(&a, big, sizeof big + 1), PCARD_E_INVALID_ARG);
	close(sv[0]);
	close(sv[1]);

	/* 65535 bytes through loopback TCP, where the reader sees it in pieces */
	{
		int x, y;
		pid_t pid;

		tcp_pair(&x, &y);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			pcard_linkio w;

			pcard_linkio_init(&w, x, 0);
			_exit(pcard_linkio_send(&w, big, sizeof big) == PCARD_OK ? 0 : 1);
		}
		pcard_linkio_init(&b, y, 1);
		assert_int_equal(b.quickack, 1);
		assert_int_equal(pcard_linkio_recv(&b, got, sizeof got, &n), PCARD_OK);
		assert_int_equal(n, sizeof big);
		assert_memory_equal(got, big, sizeof big);
		close(x);
		close(y);
	}
}

/* Writer thread: one frame, byte by byte with pauses (a peer whose frames arrive split). */
typedef struct dribble {
	int fd;
	const uint8_t *p;
	size_t n;
} dribble;

static void *
dribble_thread(void *arg)
{
	dribble *d = arg;

	for (size_t i = 0; i < d->n; i++) {
		if (write(d->fd, d->p + i, 1) != 1)
			break;
		if (i < 4 || i % 50 == 0)
			sleep_ms(2);
	}
	return NULL;
}

static void
test_frame_split(void **state)
{
	int sv[2];
	pcard_linkio io;
	uint8_t raw[2 + 300], got[400];
	size_t n = 0;
	pthread_t th;
	dribble d;

	(void)state;
	raw[0] = 0x01;
	raw[1] = 0x2C;	/* 300 */
	for (size_t i = 0; i < 300; i++)
		raw[2 + i] = (uint8_t)(0xA0 ^ i);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	d.fd = sv[0];
	d.p = raw;
	d.n = sizeof raw;
	assert_int_equal(pthread_create(&th, NULL, dribble_thread, &d), 0);
	pcard_linkio_init(&io, sv[1], 1);
	assert_int_equal(pcard_linkio_recv(&io, got, sizeof got, &n), PCARD_OK);
	assert_int_equal(n, 300);
	assert_memory_equal(got, raw + 2, 300);
	pthread_join(th, NULL);
	close(sv[0]);
	close(sv[1]);
}

static void
test_frame_oversized_keeps_step(void **state)
{
	int sv[2];
	pcard_linkio a, b;
	uint8_t p[2000], got[100];
	size_t n = 0;

	(void)state;
	memset(p, 0x55, sizeof p);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	pcard_linkio_init(&a, sv[0], 0);
	pcard_linkio_init(&b, sv[1], 0);
	assert_int_equal(pcard_linkio_send(&a, p, sizeof p), PCARD_OK);
	assert_int_equal(pcard_linkio_send(&a, (const uint8_t *)"\x90\x00", 2), PCARD_OK);
	assert_int_equal(pcard_linkio_recv(&b, got, sizeof got, &n), PCARD_E_NOSPACE);
	assert_int_equal(n, sizeof p);
	assert_int_equal(pcard_linkio_recv(&b, got, sizeof got, &n), PCARD_OK);
	assert_int_equal(n, 2);
	assert_int_equal(got[0], 0x90);
	close(sv[0]);
	close(sv[1]);
}

static void
test_frame_eof_and_timeout(void **state)
{
	int sv[2];
	pcard_linkio io;
	uint8_t got[100];
	size_t n = 0;
	volatile sig_atomic_t stop = 0;

	(void)state;
	/* EOF between frames */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	close(sv[0]);
	pcard_linkio_init(&io, sv[1], 0);
	assert_int_equal(pcard_linkio_recv(&io, got, sizeof got, &n), PCARD_E_TRANSPORT);
	assert_int_equal(io.peer_closed, 1);
	close(sv[1]);

	/* EOF inside the length field, and inside the payload */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	write_all(sv[0], "\x00", 1);
	close(sv[0]);
	pcard_linkio_init(&io, sv[1], 0);
	assert_int_equal(pcard_linkio_recv(&io, got, sizeof got, &n), PCARD_E_TRUNCATED);
	assert_int_equal(io.peer_closed, 1);
	close(sv[1]);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	write_all(sv[0], "\x00\x05\x01\x02", 4);
	close(sv[0]);
	pcard_linkio_init(&io, sv[1], 0);
	assert_int_equal(pcard_linkio_recv(&io, got, sizeof got, &n), PCARD_E_TRUNCATED);
	close(sv[1]);

	/* a peer that says nothing: timeout, then a stop request */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	pcard_linkio_init(&io, sv[1], 0);
	io.timeout_ms = 150;
	assert_int_equal(pcard_linkio_recv(&io, got, sizeof got, &n), PCARD_E_TRANSPORT);
	assert_int_equal(io.sys_errno, ETIMEDOUT);
	assert_int_equal(io.peer_closed, 0);
	/* timeout mid-payload too */
	write_all(sv[0], "\x00\x05\x01", 3);
	pcard_linkio_init(&io, sv[1], 0);
	io.timeout_ms = 150;
	assert_int_equal(pcard_linkio_recv(&io, got, sizeof got, &n), PCARD_E_TRANSPORT);
	assert_int_equal(io.sys_errno, ETIMEDOUT);
	pcard_linkio_init(&io, sv[1], 0);
	stop = 1;
	io.stop = &stop;
	assert_int_equal(pcard_linkio_recv(&io, got, sizeof got, &n), PCARD_E_TRANSPORT);
	assert_int_equal(io.stopped, 1);
	close(sv[0]);
	close(sv[1]);

	/* sending to a peer that left */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	close(sv[1]);
	pcard_linkio_init(&io, sv[0], 0);
	assert_int_equal(pcard_linkio_send(&io, got, 10), PCARD_E_TRANSPORT);
	assert_int_equal(io.sys_errno, EPIPE);
	assert_int_equal(io.peer_closed, 1);
	close(sv[0]);
}

/* ---- the card side, driven by a fake vpcd ---- */

static void
test_card_session(void **state)
{
	int sv[2];
	served s;
	uint8_t got[400], apdu[] = { 0x00, 0xA4, 0x04, 0x00, 0x02, 0xA0, 0x00 };
	size_t n;

	(void)state;
	memset(&s, 0, sizeof s);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	serve_start(&s, sv[1]);

	/* presence poll before power on: the ATR */
	put_control(sv[0], PCARD_CARDLINK_GET_ATR);
	n = get_frame(sv[0], got, sizeof got);
	assert_int_equal(n, sizeof test_atr);
	assert_memory_equal(got, test_atr, n);
	/* an APDU to an unpowered card: mute (empty frame), the card is not called */
	put_frame(sv[0], apdu, sizeof apdu);
	assert_int_equal(get_frame(sv[0], got, sizeof got), 0);
	/* power on, then APDUs are echoed; one arrives split in three writes */
	put_control(sv[0], PCARD_CARDLINK_POWER_ON);
	put_frame(sv[0], apdu, sizeof apdu);
	n = get_frame(sv[0], got, sizeof got);
	assert_int_equal(n, sizeof apdu + 2);
	assert_memory_equal(got, apdu, sizeof apdu);
	assert_int_equal(got[n - 2], 0x90);
	write_all(sv[0], "\x00", 1);
	sleep_ms(20);
	write_all(sv[0], "\x07\x00\xA4", 3);
	sleep_ms(20);
	write_all(sv[0], apdu + 2, sizeof apdu - 2);
	n = get_frame(sv[0], got, sizeof got);
	assert_int_equal(n, sizeof apdu + 2);
	/* a 2-byte frame is not a valid APDU, but it is the card's to judge (echoed here) */
	put_frame(sv[0], apdu, 2);
	assert_int_equal(get_frame(sv[0], got, sizeof got), 4);
	/* reset and power off reach the card; they have no reply, so sync with get-ATR */
	put_control(sv[0], PCARD_CARDLINK_RESET);
	put_control(sv[0], PCARD_CARDLINK_POWER_OFF);
	put_control(sv[0], PCARD_CARDLINK_GET_ATR);
	assert_int_equal(get_frame(sv[0], got, sizeof got), sizeof test_atr);
	assert_int_equal(s.card.resets, 1);
	assert_int_equal(s.card.offs, 1);
	/* a card fault: 6F00, and the link goes on */
	put_control(sv[0], PCARD_CARDLINK_POWER_ON);
	s.card.fail = 1;
	put_frame(sv[0], apdu, sizeof apdu);
	assert_int_equal(get_frame(sv[0], got, sizeof got), 2);
	assert_int_equal(got[0], 0x6F);
	assert_int_equal(got[1], 0x00);
	s.card.fail = 0;
	s.card.short_resp = 1;	/* a card breaking its contract: also 6F00 */
	put_frame(sv[0], apdu, sizeof apdu);
	assert_int_equal(get_frame(sv[0], got, sizeof got), 2);
	assert_int_equal(got[0], 0x6F);
	s.card.short_resp = 0;
	put_frame(sv[0], apdu, sizeof apdu);
	assert_int_equal(get_frame(sv[0], got, sizeof got), sizeof apdu + 2);
	/* vpcd goes away while the card is powered: clear error, card powered off */
	close(sv[0]);
	serve_join(&s);
	assert_int_equal(s.err, PCARD_E_TRANSPORT);
	assert_int_equal(s.st.peer_closed, 1);
	assert_int_equal(s.st.stopped, 0);
	assert_int_equal(s.st.apdus, 6);	/* the mute one is not counted */
	assert_int_equal(s.st.controls, 6);
	assert_int_equal(s.st.card_err, PCARD_E_IO);
	assert_int_equal(s.card.ons, 2);
	assert_int_equal(s.card.offs, 2);
	assert_int_equal(s.card.atrs, 2);
}

/* One bad input per case: the card side returns an error, never crashes or hangs. */
static void
test_card_bad_frames(void **state)
{
	static const struct {
		const char *raw;
		size_t n;
		int close_after;
		int atr_mode;
		size_t max_frame;
		pcard_err want;
	} cases[] = {
		{ "\x00\x00", 2, 0, ATR_OK, 0, PCARD_E_BAD_ENCODING },		/* empty frame */
		{ "\x00\x01\x03", 3, 0, ATR_OK, 0, PCARD_E_BAD_ENCODING },	/* unknown control */
		{ "\x00\x01\xFF", 3, 0, ATR_OK, 0, PCARD_E_BAD_ENCODING },
		{ "\x00\x11" "0123456789abcdefg", 19, 0, ATR_OK, 16, PCARD_E_BAD_ENCODING },
		{ "\xFF\xFF\x00\xA4", 4, 1, ATR_OK, 0, PCARD_E_TRUNCATED },	/* EOF in frame */
		{ "\x00", 1, 1, ATR_OK, 0, PCARD_E_TRUNCATED },			/* EOF in length */
		{ "\x00\x01\x04", 3, 0, ATR_EMPTY, 0, PCARD_E_BAD_ENCODING },	/* no ATR */
		{ "\x00\x01\x04", 3, 0, ATR_LONG, 0, PCARD_E_BAD_ENCODING },	/* ATR > 33 */
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int sv[2];
		served s;

		memset(&s, 0, sizeof s);
		s.card.atr_mode = cases[i].atr_mode;
		s.opts.max_frame = cases[i].max_frame;
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
		serve_start(&s, sv[1]);
		write_all(sv[0], cases[i].raw, cases[i].n);
		if (cases[i].close_after)
			shutdown(sv[0], SHUT_WR);
		serve_join(&s);
		close(sv[0]);
		assert_int_equal(s.err, cases[i].want);
	}
}

static void
test_card_args_and_stop(void **state)
{
	int sv[2];
	served s;
	pcard_card_ops no_atr = tc_ops;
	pcard_cardlink_opts o;
	volatile sig_atomic_t stop = 0;

	(void)state;
	no_atr.atr = NULL;
	memset(&o, 0, sizeof o);
	assert_int_equal(pcard_cardlink_serve_fd(-1, &tc_ops, NULL, NULL, NULL),
	    PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_cardlink_serve_fd(0, NULL, NULL, NULL, NULL), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_cardlink_serve_fd(0, &no_atr, NULL, NULL, NULL),
	    PCARD_E_INVALID_ARG);
	o.max_frame = PCARD_CARDLINK_MAX_FRAME + 1;
	assert_int_equal(pcard_cardlink_serve_fd(0, &tc_ops, NULL, &o, NULL), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_cardlink_vpcd_run(NULL, 1, &no_atr, NULL, NULL, NULL),
	    PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_cardlink_vpcd_run("localhost", 1, &tc_ops, NULL, NULL, NULL),
	    PCARD_E_INVALID_ARG);	/* names are not looked up */

	/* a stop request ends a quiet link with PCARD_OK, powering the card off */
	memset(&s, 0, sizeof s);
	s.opts.stop = &stop;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	serve_start(&s, sv[1]);
	put_control(sv[0], PCARD_CARDLINK_POWER_ON);
	sleep_ms(150);
	stop = 1;
	serve_join(&s);
	close(sv[0]);
	assert_int_equal(s.err, PCARD_OK);
	assert_int_equal(s.st.stopped, 1);
	assert_int_equal(s.card.ons, 1);
	assert_int_equal(s.card.offs, 1);
}

/* vpcd_run against a fake vpcd listening on loopback. */
typedef struct vrun {
	pthread_t th;
	uint16_t port;
	tcard card;
	pcard_cardlink_opts opts;
	pcard_cardlink_stats st;
	pcard_err err;
} vrun;

static void *
vrun_thread(void *arg)
{
	vrun *v = arg;

	v->err = pcard_cardlink_vpcd_run("127.0.0.1", v->port, &tc_ops, &v->card, &v->opts,
	    &v->st);
	return NULL;
}

/* A port with nothing listening on it (bound, then released). */
static uint16_t
free_port(void)
{
	pcard_cardlink_server srv;
	uint16_t p;

	assert_int_equal(pcard_cardlink_listen(0, &srv), PCARD_OK);
	p = srv.port;
	pcard_cardlink_server_close(&srv);
	return p;
}

static void
test_vpcd_run(void **state)
{
	pcard_cardlink_server fake;
	vrun v;
	int fd;
	uint8_t got[100], apdu[] = { 0x80, 0x50, 0x00, 0x00, 0x08, 1, 2, 3, 4, 5, 6, 7, 8 };

	(void)state;
	/* nothing listening: a clear error */
	memset(&v, 0, sizeof v);
	v.port = free_port();
	vrun_thread(&v);
	assert_int_equal(v.err, PCARD_E_TRANSPORT);
	assert_int_equal(v.st.sys_errno, ECONNREFUSED);
	assert_int_equal(v.st.peer_closed, 0);

	/* vpcd appears while the card waits for it (connect_wait_ms) */
	memset(&v, 0, sizeof v);
	v.port = free_port();
	v.opts.connect_wait_ms = 5000;
	assert_int_equal(pthread_create(&v.th, NULL, vrun_thread, &v), 0);
	sleep_ms(200);
	assert_int_equal(pcard_cardlink_listen(v.port, &fake), PCARD_OK);
	fd = accept(fake.fd, NULL, NULL);
	assert_true(fd >= 0);
	put_control(fd, PCARD_CARDLINK_GET_ATR);
	assert_int_equal(get_frame(fd, got, sizeof got), sizeof test_atr);
	put_control(fd, PCARD_CARDLINK_POWER_ON);
	/* vpcd's way: length and payload in two writes */
	write_all(fd, "\x00\x0D", 2);
	write_all(fd, apdu, sizeof apdu);
	assert_int_equal(get_frame(fd, got, sizeof got), sizeof apdu + 2);
	assert_memory_equal(got, apdu, sizeof apdu);
	close(fd);	/* pcscd stops */
	pthread_join(v.th, NULL);
	pcard_cardlink_server_close(&fake);
	assert_int_equal(v.err, PCARD_E_TRANSPORT);
	assert_int_equal(v.st.peer_closed, 1);
	assert_int_equal(v.st.apdus, 1);
	assert_int_equal(v.card.offs, 1);
}

/* ---- loopback server and client transport ---- */

typedef struct srvrun {
	pthread_t th;
	pcard_cardlink_server srv;
	unsigned long long max;
	tcard card;
	pcard_cardlink_opts opts;
	pcard_cardlink_stats st;
	pcard_err err;
} srvrun;

static void *
srv_thread(void *arg)
{
	srvrun *r = arg;

	r->err = pcard_cardlink_serve(&r->srv, &tc_ops, &r->card, r->max, &r->opts, &r->st);
	return NULL;
}

static void
srv_start(srvrun *r, unsigned long long max, const volatile sig_atomic_t *stop)
{
	memset(r, 0, sizeof *r);
	r->max = max;
	r->opts.stop = stop;
	assert_int_equal(pcard_cardlink_listen(0, &r->srv), PCARD_OK);
	assert_true(r->srv.port != 0);
	assert_int_equal(pthread_create(&r->th, NULL, srv_thread, r), 0);
}

static void
srv_join(srvrun *r)
{
	pthread_join(r->th, NULL);
	pcard_cardlink_server_close(&r->srv);
	pcard_cardlink_server_close(&r->srv);	/* twice is fine */
}

static void
test_server_client_roundtrip(void **state)
{
	srvrun r;
	pcard_transport *t = NULL;
	uint8_t atr[40], resp[5000], cmd[4100];
	size_t n = 0;
	const uint8_t sel[] = { 0x00, 0xA4, 0x04, 0x00, 0x00 };

	(void)state;
	srv_start(&r, 2, NULL);
	assert_int_equal(pcard_cardlink_client_open(NULL, r.srv.port, NULL, &t), PCARD_OK);
	assert_string_equal(t->ops->name, "cardlink");
	assert_int_equal(pcard_transport_atr(t, atr, sizeof atr, &n), PCARD_OK);
	assert_int_equal(n, sizeof test_atr);
	assert_memory_equal(atr, test_atr, n);
	assert_int_equal(pcard_transport_atr(t, atr, 3, &n), PCARD_E_NOSPACE);
	/* echo, short and extended */
	assert_int_equal(pcard_transport_transmit(t, sel, sizeof sel, resp, sizeof resp, &n),
	    PCARD_OK);
	assert_int_equal(n, sizeof sel + 2);
	assert_memory_equal(resp, sel, sizeof sel);
	cmd[0] = 0x80;
	cmd[1] = 0xE2;
	cmd[2] = 0x00;
	cmd[3] = 0x00;
	cmd[4] = 0x00;
	cmd[5] = 0x0F;
	cmd[6] = 0xFA;	/* Lc 4090 */
	for (size_t i = 7; i < 4097; i++)
		cmd[i] = (uint8_t)i;
	assert_int_equal(pcard_transport_raw(t, cmd, 4097, resp, sizeof resp, &n), PCARD_OK);
	assert_int_equal(n, 4099);
	assert_memory_equal(resp, cmd, 4097);
	/* a response larger than the caller's buffer: NOSPACE, and the next exchange works */
	{
		const uint8_t big[] = { 0x80, 0xCA, 0x03, 0x00 };	/* 768 bytes */

		assert_int_equal(pcard_transport_raw(t, big, sizeof big, resp, 100, &n),
		    PCARD_E_NOSPACE);
		assert_int_equal(pcard_transport_raw(t, big, sizeof big, resp, sizeof resp, &n),
		    PCARD_OK);
		assert_int_equal(n, 770);
		assert_int_equal(resp[767], 0xFF);
	}
	assert_int_equal(pcard_transport_raw(t, sel, 1, resp, sizeof resp, &n),
	    PCARD_E_INVALID_ARG);	/* would read as a control byte */
	/* warm and cold reset reach the card */
	assert_int_equal(pcard_transport_reset(t, 0), PCARD_OK);
	assert_int_equal(pcard_transport_reset(t, 1), PCARD_OK);
	assert_int_equal(pcard_transport_atr(t, atr, sizeof atr, &n), PCARD_OK);
	assert_int_equal(r.card.resets, 1);
	assert_int_equal(r.card.ons, 2);
	assert_int_equal(r.card.offs, 1);
	pcard_transport_close(t);

	/* the next client finds a card powered off at the last one's departure, and powers it */
	assert_int_equal(pcard_cardlink_client_open("127.0.0.1", r.srv.port, NULL, &t), PCARD_OK);
	assert_int_equal(pcard_transport_transmit(t, sel, sizeof sel, resp, sizeof resp, &n),
	    PCARD_OK);
	assert_int_equal(r.card.offs, 2);
	assert_int_equal(r.card.ons, 3);
	/* a card fault reaches the host as 6F00 */
	r.card.fail = 1;
	assert_int_equal(pcard_transport_raw(t, sel, sizeof sel, resp, sizeof resp, &n), PCARD_OK);
	assert_int_equal(n, 2);
	assert_int_equal(resp[0], 0x6F);
	r.card.fail = 0;
	pcard_transport_close(t);
	srv_join(&r);
	assert_int_equal(r.err, PCARD_OK);
	assert_int_equal(r.st.clients, 2);
	assert_int_equal(r.st.card_err, PCARD_E_IO);
	assert_int_equal(r.card.offs, 3);
}

/* The server outlives clients that break the framing or hang up mid-frame. */
static void
test_server_survives_bad_clients(void **state)
{
	srvrun r;
	pcard_transport *t = NULL;
	int fd, e = 0;
	uint8_t resp[100];
	size_t n = 0;
	const uint8_t sel[] = { 0x00, 0xA4, 0x04, 0x00, 0x00 };
	volatile sig_atomic_t stop = 0;

	(void)state;
	srv_start(&r, 0, &stop);
	assert_int_equal(pcard_cardlink_tcp_connect(NULL, r.srv.port, 0, NULL, &fd, &e), PCARD_OK);
	write_all(fd, "\x00\x00", 2);	/* empty frame: the server drops this client */
	assert_int_equal(read(fd, resp, sizeof resp), 0);
	close(fd);
	assert_int_equal(pcard_cardlink_tcp_connect(NULL, r.srv.port, 0, NULL, &fd, &e), PCARD_OK);
	write_all(fd, "\x00\x10\x00\xA4", 4);	/* hangs up inside a frame */
	close(fd);
	/* a client with an APDU but no power-on gets a mute reply */
	assert_int_equal(pcard_cardlink_tcp_connect(NULL, r.srv.port, 0, NULL, &fd, &e), PCARD_OK);
	put_frame(fd, sel, sizeof sel);
	assert_int_equal(get_frame(fd, resp, sizeof resp), 0);
	close(fd);
	assert_int_equal(pcard_cardlink_client_open(NULL, r.srv.port, NULL, &t), PCARD_OK);
	assert_int_equal(pcard_transport_transmit(t, sel, sizeof sel, resp, sizeof resp, &n),
	    PCARD_OK);
	pcard_transport_close(t);
	stop = 1;
	srv_join(&r);
	assert_int_equal(r.err, PCARD_OK);
	assert_int_equal(r.st.stopped, 1);
	assert_int_equal(r.st.clients, 4);
	assert_int_equal(r.st.apdus, 1);
}

/* A fake server that scripts its replies, for the client transport's error paths. */
enum { FS_EMPTY_ATR, FS_MUTE, FS_ONE_BYTE, FS_HANGUP, FS_SILENT, FS_LONG_ATR };

typedef struct fsrv {
	pthread_t th;
	pcard_cardlink_server srv;
	int mode;
} fsrv;

static void *
fsrv_thread(void *arg)
{
	fsrv *f = arg;
	uint8_t buf[100];
	size_t n;
	int fd = accept(f->srv.fd, NULL, NULL);
	pcard_linkio io;

	if (fd < 0)
		return NULL;
	pcard_linkio_init(&io, fd, 1);
	io.timeout_ms = 5000;
	/* power on, get ATR */
	if (pcard_linkio_recv(&io, buf, sizeof buf, &n) != PCARD_OK ||
	    pcard_linkio_recv(&io, buf, sizeof buf, &n) != PCARD_OK)
		goto out;
	if (f->mode == FS_EMPTY_ATR) {
		pcard_linkio_send(&io, NULL, 0);
		goto out;
	}
	if (f->mode == FS_LONG_ATR) {
		memset(buf, 0x3B, 40);
		pcard_linkio_send(&io, buf, 40);
		goto out;
	}
	pcard_linkio_send(&io, test_atr, sizeof test_atr);
	if (pcard_linkio_recv(&io, buf, sizeof buf, &n) != PCARD_OK)
		goto out;
	switch (f->mode) {
	case FS_MUTE:
		pcard_linkio_send(&io, NULL, 0);
		break;
	case FS_ONE_BYTE:
		pcard_linkio_send(&io, buf, 1);
		break;
	case FS_SILENT:
		sleep_ms(600);
		break;
	default:
		break;
	}
out:
	close(fd);
	return NULL;
}

static void
test_client_errors(void **state)
{
	static const struct {
		int mode;
		pcard_err open_err, tx_err;
	} cases[] = {
		{ FS_EMPTY_ATR, PCARD_E_NO_CARD, PCARD_OK },
		{ FS_LONG_ATR, PCARD_E_TRANSPORT, PCARD_OK },
		{ FS_MUTE, PCARD_OK, PCARD_E_NO_CARD },
		{ FS_ONE_BYTE, PCARD_OK, PCARD_E_TRANSPORT },
		{ FS_HANGUP, PCARD_OK, PCARD_E_TRANSPORT },
		{ FS_SILENT, PCARD_OK, PCARD_E_TRANSPORT },
	};
	const uint8_t sel[] = { 0x00, 0xA4, 0x04, 0x00, 0x00 };
	uint8_t resp[100];
	size_t n = 0;
	pcard_transport *t = NULL;
	pcard_cardlink_client_opts o = { 300 };

	(void)state;
	assert_int_equal(pcard_cardlink_client_open(NULL, 0, NULL, &t), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_cardlink_client_open(NULL, 1, NULL, NULL), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_cardlink_client_open("localhost", 1, NULL, &t),
	    PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_cardlink_client_open("::1", free_port(), NULL, &t),
	    PCARD_E_TRANSPORT);
	assert_int_equal(pcard_cardlink_client_open(NULL, free_port(), NULL, &t),
	    PCARD_E_TRANSPORT);
	assert_null(t);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		fsrv f;

		memset(&f, 0, sizeof f);
		f.mode = cases[i].mode;
		assert_int_equal(pcard_cardlink_listen(0, &f.srv), PCARD_OK);
		assert_int_equal(pthread_create(&f.th, NULL, fsrv_thread, &f), 0);
		t = NULL;
		assert_int_equal(pcard_cardlink_client_open(NULL, f.srv.port, &o, &t),
		    cases[i].open_err);
		if (t != NULL) {
			assert_int_equal(pcard_transport_raw(t, sel, sizeof sel, resp, sizeof resp,
			    &n), cases[i].tx_err);
			if (cases[i].tx_err == PCARD_E_TRANSPORT) {
				/* a broken link stays broken */
				assert_int_equal(pcard_transport_raw(t, sel, sizeof sel, resp,
				    sizeof resp, &n), PCARD_E_TRANSPORT);
				assert_int_equal(pcard_transport_reset(t, 1), PCARD_E_TRANSPORT);
				assert_int_equal(pcard_transport_atr(t, resp, sizeof resp, &n),
				    PCARD_E_TRANSPORT);
			}
			pcard_transport_close(t);
		}
		pthread_join(f.th, NULL);
		pcard_cardlink_server_close(&f.srv);
	}
}

/* One client at a time: a second one waits until the first leaves, then is served. */
static void
test_server_one_client_at_a_time(void **state)
{
	srvrun r;
	pcard_transport *t = NULL;
	pcard_linkio io;
	int fd, e = 0;
	uint8_t got[64];
	size_t n = 0;

	(void)state;
	srv_start(&r, 2, NULL);
	assert_int_equal(pcard_cardlink_client_open(NULL, r.srv.port, NULL, &t), PCARD_OK);
	assert_int_equal(pcard_cardlink_tcp_connect(NULL, r.srv.port, 0, NULL, &fd, &e), PCARD_OK);
	put_control(fd, PCARD_CARDLINK_GET_ATR);
	pcard_linkio_init(&io, fd, 0);
	io.timeout_ms = 300;
	assert_int_equal(pcard_linkio_recv(&io, got, sizeof got, &n), PCARD_E_TRANSPORT);
	assert_int_equal(io.sys_errno, ETIMEDOUT);	/* queued, not served */
	pcard_transport_close(t);
	pcard_linkio_init(&io, fd, 0);
	io.timeout_ms = 5000;
	assert_int_equal(pcard_linkio_recv(&io, got, sizeof got, &n), PCARD_OK);
	assert_int_equal(n, sizeof test_atr);
	close(fd);
	srv_join(&r);
	assert_int_equal(r.err, PCARD_OK);
	assert_int_equal(r.st.clients, 2);
}

static void
test_listen_errors(void **state)
{
	pcard_cardlink_server a, b;
	struct sockaddr_in sa;
	socklen_t sl = sizeof sa;

	(void)state;
	assert_int_equal(pcard_cardlink_listen(0, NULL), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_cardlink_listen(0, &a), PCARD_OK);
	/* bound to loopback only */
	assert_int_equal(getsockname(a.fd, (struct sockaddr *)&sa, &sl), 0);
	assert_int_equal(ntohl(sa.sin_addr.s_addr), INADDR_LOOPBACK);
	/* the port is taken */
	assert_int_equal(pcard_cardlink_listen(a.port, &b), PCARD_E_TRANSPORT);
	assert_int_equal(b.fd, -1);
	pcard_cardlink_server_close(&a);
	assert_int_equal(pcard_cardlink_serve(&a, &tc_ops, NULL, 1, NULL, NULL),
	    PCARD_E_INVALID_ARG);
	pcard_cardlink_server_close(NULL);

	/* accept failing (here: the socket is not listening) ends serve with the errno */
	{
		pcard_cardlink_server bad;
		pcard_cardlink_stats st;
		int sv[2];

		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
		bad.fd = sv[0];
		bad.port = 1;
		assert_int_equal(pcard_cardlink_serve(&bad, &tc_ops, NULL, 1, NULL, &st),
		    PCARD_E_TRANSPORT);
		assert_true(st.sys_errno != 0);
		close(sv[0]);
		close(sv[1]);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame_roundtrip),
		cmocka_unit_test(test_frame_split),
		cmocka_unit_test(test_frame_oversized_keeps_step),
		cmocka_unit_test(test_frame_eof_and_timeout),
		cmocka_unit_test(test_card_session),
		cmocka_unit_test(test_card_bad_frames),
		cmocka_unit_test(test_card_args_and_stop),
		cmocka_unit_test(test_vpcd_run),
		cmocka_unit_test(test_server_client_roundtrip),
		cmocka_unit_test(test_server_survives_bad_clients),
		cmocka_unit_test(test_server_one_client_at_a_time),
		cmocka_unit_test(test_client_errors),
		cmocka_unit_test(test_listen_errors),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
