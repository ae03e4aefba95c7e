/*
 * cardlink.c: vpcd framing on a stream socket; the card side (vpcd client, loopback TCP
 * server). The frame layout is drawn in cardlink.h and docs/tcp-link.md.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "postcard/bytes.h"

#include "cardlink.h"

#define STOP_POLL_MS 100	/* how often a wait looks at *stop */

/* ---- framing ---- */

static int
is_tcp(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;

	if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
		return 0;
	return ss.ss_family == AF_INET || ss.ss_family == AF_INET6;
}

void
pcard_linkio_init(pcard_linkio *io, int fd, int quickack)
{
	int one = 1;

	memset(io, 0, sizeof *io);
	io->fd = fd;
	if (fd >= 0 && is_tcp(fd)) {
		io->quickack = quickack != 0;
		/* frames go out in one call anyway; NODELAY also covers a partial send */
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	}
}

static void
quickack(const pcard_linkio *io)
{
	int one = 1;

	if (io->quickack)
		(void)setsockopt(io->fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
}

pcard_err
pcard_linkio_send(pcard_linkio *io, const uint8_t *p, size_t n)
{
	uint8_t hdr[2];
	struct iovec iov[2];
	struct msghdr mh;
	size_t total, done = 0;
	ssize_t w;

	if (n > PCARD_CARDLINK_MAX_FRAME)
		return PCARD_E_INVALID_ARG;
	hdr[0] = (uint8_t)(n >> 8);
	hdr[1] = (uint8_t)n;
	total = n + 2;
	while (done < total) {
		/* length and payload in one call: the peer sees one segment, not two */
		int k = 0;

		memset(&mh, 0, sizeof mh);
		if (done < 2) {
			iov[k].iov_base = hdr + done;
			iov[k].iov_len = 2 - done;
			k++;
		}
		if (n > 0) {
			size_t off = done < 2 ? 0 : done - 2;

			iov[k].iov_base = (void *)(uintptr_t)(p + off);
			iov[k].iov_len = n - off;
			k++;
		}
		mh.msg_iov = iov;
		mh.msg_iovlen = (size_t)k;
		w = sendmsg(io->fd, &mh, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			io->sys_errno = errno;
			if (errno == EPIPE || errno == ECONNRESET)
				io->peer_closed = 1;
			return PCARD_E_TRANSPORT;
		}
		done += (size_t)w;
	}
	return PCARD_OK;
}

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until fd is readable, honouring io->stop and io->timeout_ms. */
static pcard_err
wait_readable(pcard_linkio *io, long long deadline)
{
	struct pollfd pfd;
	int slice, r;

	if (io->stop == NULL && io->timeout_ms <= 0)
		return PCARD_OK;	/* recv blocks */
	for (;;) {
		if (io->stop != NULL && *io->stop) {
			io->stopped = 1;
			return PCARD_E_TRANSPORT;
		}
		slice = io->stop != NULL ? STOP_POLL_MS : -1;
		if (io->timeout_ms > 0) {
			long long left = deadline - now_ms();

			if (left <= 0) {
				io->sys_errno = ETIMEDOUT;
				return PCARD_E_TRANSPORT;
			}
			if (slice < 0 || left < slice)
				slice = (int)left;
		}
		pfd.fd = io->fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		r = poll(&pfd, 1, slice);
		if (r > 0)
			return PCARD_OK;	/* readable, hung up or in error: recv tells which */
		if (r < 0 && errno != EINTR) {
			io->sys_errno = errno;
			return PCARD_E_TRANSPORT;
		}
	}
}

/*
 * Read exactly n bytes. in_frame: bytes of the frame were already read, so EOF is a
 * truncation rather than a hang-up between frames.
 */
static pcard_err
read_exact(pcard_linkio *io, uint8_t *p, size_t n, int in_frame, long long deadline)
{
	size_t got = 0;
	ssize_t r;
	pcard_err err;

	while (got < n) {
		if ((err = wait_readable(io, deadline)) != PCARD_OK)
			return err;
		quickack(io);
		r = recv(io->fd, p + got, n - got, 0);
		quickack(io);
		if (r == 0) {
			io->peer_closed = 1;
			return in_frame || got > 0 ? PCARD_E_TRUNCATED : PCARD_E_TRANSPORT;
		}
		if (r < 0) {
			if (errno == EINTR)
				continue;	/* a signal: wait_readable looks at *stop */
			io->sys_errno = errno;
			if (errno == ECONNRESET)
				io->peer_closed = 1;
			return PCARD_E_TRANSPORT;
		}
		got += (size_t)r;
	}
	return PCARD_OK;
}

pcard_err
pcard_linkio_recv(pcard_linkio *io, uint8_t *out, size_t out_cap, size_t *len)
{
	uint8_t hdr[2], sink[512];
	size_t n, left;
	long long deadline = io->timeout_ms > 0 ? now_ms() + io->timeout_ms : 0;
	pcard_rd r;
	uint16_t v;
	pcard_err err;

	if ((err = read_exact(io, hdr, sizeof hdr, 0, deadline)) != PCARD_OK)
		return err;
	pcard_rd_init(&r, hdr, sizeof hdr);
	if ((err = pcard_rd_u16(&r, &v)) != PCARD_OK)
		return err;
	n = v;
	*len = n;
	if (n <= out_cap)
		return read_exact(io, out, n, 1, deadline);
	/* too long for the caller: consume it so the next frame starts where it should */
	for (left = n; left > 0;) {
		size_t k = left < sizeof sink ? left : sizeof sink;

		if ((err = read_exact(io, sink, k, 1, deadline)) != PCARD_OK)
			return err;
		left -= k;
	}
	return PCARD_E_NOSPACE;
}

/* ---- card side ---- */

typedef struct conn {
	pcard_linkio io;
	const pcard_card_ops *ops;
	void *ctx;
	pcard_cardlink_stats *st;
	size_t max_frame;
	int powered;
	uint8_t *in;		/* max_frame bytes */
	uint8_t *out;		/* PCARD_CARDLINK_MAX_FRAME bytes */
} conn;

static pcard_err
on_control(conn *l, uint8_t c)
{
	size_t n = 0;
	pcard_err err;

	switch (c) {
	case PCARD_CARDLINK_POWER_OFF:
		if (l->ops->power_off != NULL)
			l->ops->power_off(l->ctx);
		l->powered = 0;
		return PCARD_OK;
	case PCARD_CARDLINK_POWER_ON:
		if (l->ops->power_on != NULL)
			l->ops->power_on(l->ctx);
		l->powered = 1;
		return PCARD_OK;
	case PCARD_CARDLINK_RESET:
		if (l->ops->reset != NULL)
			l->ops->reset(l->ctx);
		l->powered = 1;	/* a warm reset leaves the card powered (and powers it in vpcd) */
		return PCARD_OK;
	case PCARD_CARDLINK_GET_ATR:
		if ((err = l->ops->atr(l->ctx, l->out, PCARD_CARDLINK_ATR_MAX, &n)) != PCARD_OK)
			return err == PCARD_E_NOSPACE ? PCARD_E_BAD_ENCODING : err;
		if (n == 0 || n > PCARD_CARDLINK_ATR_MAX)
			return PCARD_E_BAD_ENCODING;
		return pcard_linkio_send(&l->io, l->out, n);
	default:
		return PCARD_E_BAD_ENCODING;
	}
}

static pcard_err
on_apdu(conn *l, size_t n)
{
	static const uint8_t sw_fault[2] = { 0x6F, 0x00 };	/* no precise diagnosis */
	size_t rlen = 0;
	pcard_err err;

	if (!l->powered)
		return pcard_linkio_send(&l->io, NULL, 0);	/* mute, like an unpowered card */
	err = l->ops->apdu(l->ctx, l->in, n, l->out, PCARD_CARDLINK_MAX_FRAME, &rlen);
	if (err == PCARD_OK && (rlen < 2 || rlen > PCARD_CARDLINK_MAX_FRAME))
		err = PCARD_E_INTERNAL;	/* the card broke its contract */
	l->st->apdus++;
	if (err != PCARD_OK) {
		if (l->st->card_err == PCARD_OK)
			l->st->card_err = err;
		return pcard_linkio_send(&l->io, sw_fault, sizeof sw_fault);
	}
	return pcard_linkio_send(&l->io, l->out, rlen);
}

static pcard_err
serve_link(conn *l)
{
	size_t n;
	pcard_err err;

	for (;;) {
		err = pcard_linkio_recv(&l->io, l->in, l->max_frame, &n);
		if (err == PCARD_E_NOSPACE || (err == PCARD_OK && n == 0))
			return PCARD_E_BAD_ENCODING;
		if (err != PCARD_OK)
			return l->io.stopped ? PCARD_OK : err;
		if (n == 1) {
			l->st->controls++;
			err = on_control(l, l->in[0]);
		} else {
			err = on_apdu(l, n);
		}
		if (err != PCARD_OK)
			return err;
	}
}

static int
valid_ops(const pcard_card_ops *ops)
{
	return ops != NULL && ops->atr != NULL && ops->apdu != NULL;
}

pcard_err
pcard_cardlink_serve_fd(int fd, const pcard_card_ops *ops, void *ctx,
    const pcard_cardlink_opts *opts, pcard_cardlink_stats *stats)
{
	static const pcard_cardlink_opts defaults;
	pcard_cardlink_stats scratch;
	conn l;
	pcard_err err = PCARD_E_INTERNAL;

	memset(&l, 0, sizeof l);
	if (stats == NULL)
		stats = &scratch;
	memset(stats, 0, sizeof *stats);
	if (opts == NULL)
		opts = &defaults;
	if (fd < 0 || !valid_ops(ops) || opts->max_frame > PCARD_CARDLINK_MAX_FRAME) {
		err = PCARD_E_INVALID_ARG;
		goto out;
	}
	pcard_linkio_init(&l.io, fd, !opts->no_quickack);
	l.io.stop = opts->stop;
	l.ops = ops;
	l.ctx = ctx;
	l.st = stats;
	l.max_frame = opts->max_frame != 0 ? opts->max_frame : PCARD_CARDLINK_MAX_FRAME;
	if ((l.in = malloc(l.max_frame)) == NULL ||
	    (l.out = malloc(PCARD_CARDLINK_MAX_FRAME)) == NULL) {
		err = PCARD_E_NOMEM;
		goto out;
	}
	err = serve_link(&l);
	stats->peer_closed = l.io.peer_closed;
	stats->stopped = l.io.stopped;
	stats->sys_errno = l.io.sys_errno;
out:
	if (l.powered && ops->power_off != NULL)
		ops->power_off(ctx);	/* the card leaves the reader */
	free(l.in);
	free(l.out);
	return err;
}

/* Numeric address only: a card never resolves names. */
static pcard_err
parse_addr(const char *host, uint16_t port, struct sockaddr_storage *ss, socklen_t *sl)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof *ss);
	if (host == NULL)
		host = PCARD_CARDLINK_VPCD_HOST;
	if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(port);
		*sl = sizeof *a4;
		return PCARD_OK;
	}
	if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(port);
		*sl = sizeof *a6;
		return PCARD_OK;
	}
	return PCARD_E_INVALID_ARG;
}

pcard_err
pcard_cardlink_tcp_connect(const char *host, uint16_t port, unsigned wait_ms,
    const volatile sig_atomic_t *stop, int *fd_out, int *sys_errno)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	long long deadline = now_ms() + wait_ms;
	int fd = -1;
	pcard_err err = PCARD_E_INTERNAL;

	*fd_out = -1;
	if ((err = parse_addr(host, port, &ss, &sl)) != PCARD_OK)
		goto out;
	for (;;) {
		if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
			*sys_errno = errno;
			err = PCARD_E_TRANSPORT;
			goto out;
		}
		if (connect(fd, (struct sockaddr *)&ss, sl) == 0)
			break;
		*sys_errno = errno;
		close(fd);
		fd = -1;
		if (*sys_errno != ECONNREFUSED || now_ms() >= deadline ||
		    (stop != NULL && *stop)) {
			err = PCARD_E_TRANSPORT;
			goto out;
		}
		{
			struct timespec ts = { 0, 50 * 1000000L };

			nanosleep(&ts, NULL);
		}
	}
	*sys_errno = 0;
	*fd_out = fd;
	fd = -1;
	err = PCARD_OK;
out:
	if (fd >= 0)
		close(fd);
	return err;
}

pcard_err
pcard_cardlink_vpcd_run(const char *host, uint16_t port, const pcard_card_ops *ops, void *ctx,
    const pcard_cardlink_opts *opts, pcard_cardlink_stats *stats)
{
	pcard_cardlink_stats scratch;
	int fd = -1, e = 0;
	pcard_err err = PCARD_E_INTERNAL;

	if (stats == NULL)
		stats = &scratch;
	memset(stats, 0, sizeof *stats);
	if (!valid_ops(ops)) {
		err = PCARD_E_INVALID_ARG;
		goto out;
	}
	if (port == 0)
		port = PCARD_CARDLINK_VPCD_PORT;
	if ((err = pcard_cardlink_tcp_connect(host, port, opts != NULL ? opts->connect_wait_ms : 0,
	    opts != NULL ? opts->stop : NULL, &fd, &e)) != PCARD_OK) {
		stats->sys_errno = e;
		goto out;
	}
	err = pcard_cardlink_serve_fd(fd, ops, ctx, opts, stats);
out:
	if (fd >= 0)
		close(fd);
	return err;
}

/* ---- loopback TCP server ---- */

pcard_err
pcard_cardlink_listen(uint16_t port, pcard_cardlink_server *srv)
{
	struct sockaddr_in a;
	socklen_t sl = sizeof a;
	int fd = -1, one = 1;
	pcard_err err = PCARD_E_INTERNAL;

	if (srv == NULL)
		return PCARD_E_INVALID_ARG;
	srv->fd = -1;
	srv->port = 0;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_port = htons(port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);	/* loopback only, by design */
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
	    bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
	    listen(fd, 4) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &sl) != 0) {
		err = PCARD_E_TRANSPORT;
		goto out;
	}
	srv->fd = fd;
	srv->port = ntohs(a.sin_port);
	fd = -1;
	err = PCARD_OK;
out:
	if (fd >= 0)
		close(fd);
	return err;
}

pcard_err
pcard_cardlink_serve(pcard_cardlink_server *srv, const pcard_card_ops *ops, void *ctx,
    unsigned long long max_clients, const pcard_cardlink_opts *opts,
    pcard_cardlink_stats *stats)
{
	pcard_cardlink_stats scratch, one;
	pcard_linkio lio;
	int cfd;
	pcard_err err = PCARD_E_INTERNAL;

	if (stats == NULL)
		stats = &scratch;
	memset(stats, 0, sizeof *stats);
	if (srv == NULL || srv->fd < 0 || !valid_ops(ops))
		return PCARD_E_INVALID_ARG;
	pcard_linkio_init(&lio, srv->fd, 0);
	lio.stop = opts != NULL ? opts->stop : NULL;
	while (max_clients == 0 || stats->clients < max_clients) {
		if (wait_readable(&lio, 0) != PCARD_OK) {
			if (lio.stopped) {
				stats->stopped = 1;
				return PCARD_OK;
			}
			stats->sys_errno = lio.sys_errno;
			return PCARD_E_TRANSPORT;
		}
		if ((cfd = accept4(srv->fd, NULL, NULL, SOCK_CLOEXEC)) < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			stats->sys_errno = errno;
			return PCARD_E_TRANSPORT;
		}
		stats->clients++;
		/* one client's end, clean or not, is not the server's end */
		err = pcard_cardlink_serve_fd(cfd, ops, ctx, opts, &one);
		close(cfd);
		stats->apdus += one.apdus;
		stats->controls += one.controls;
		if (stats->card_err == PCARD_OK)
			stats->card_err = one.card_err;
		if (err == PCARD_E_NOMEM || err == PCARD_E_INVALID_ARG)
			return err;
		if (one.stopped) {
			stats->stopped = 1;
			return PCARD_OK;
		}
	}
	return PCARD_OK;
}

void
pcard_cardlink_server_close(pcard_cardlink_server *srv)
{
	if (srv == NULL)
		return;
	if (srv->fd >= 0)
		close(srv->fd);
	srv->fd = -1;
}
