/*
 * bench_link.c: the round trip of one APDU to an echo card, over each link postcard has.
 *
 * Main figure: the median round trip through pcscd + vpcd with the card setting TCP_QUICKACK
 * around every read, against the same link with quick-ACK off, measured in the same run. vpcd
 * writes each frame's length and payload in two writes without TCP_NODELAY, so without
 * quick-ACK the payload waits for the card's delayed ACK (platform-facts.md: about 44 ms).
 * Baselines: the in-process transport, and the simulator's own loopback TCP link
 * (cardlink server + client transport, no pcscd).
 *
 * The card runs in a thread of this program and connects to vpcd on 127.0.0.1:PORT. pcscd with
 * vpcd must be running: bench/run-link.sh starts the shared fixture and runs this.
 *
 * Usage: bench_link [--port N] [--reader NAME] [--iter N] [--iter-slow N]
 *        (defaults: $PCSC_VPCD_PORT or 35963, $PCSC_READER or "Virtual PCD 00 00", 2000, 40)
 *        bench_link --local-only      in-process and TCP link only, no pcscd needed
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "postcard/transport.h"

#include "cardlink.h"
#include "echo.h"

static const uint8_t bench_atr[] = { 0x3B, 0x8A, 0x80, 0x01, 0x50, 0x4F, 0x53, 0x54, 0x43,
	0x41, 0x52, 0x44, 0x2D, 0x31, 0x1B };

/* ---- the echo card (echo.h): SELECT -> 9000, anything else -> its data || 9000 ---- */

static pcard_err
echo_atr(void *ctx, uint8_t *out, size_t cap, size_t *len)
{
	(void)ctx;
	if (cap < sizeof bench_atr)
		return PCARD_E_NOSPACE;
	memcpy(out, bench_atr, sizeof bench_atr);
	*len = sizeof bench_atr;
	return PCARD_OK;
}

static const pcard_card_ops echo_ops = { echo_atr, NULL, NULL, NULL, pcard_echo_apdu };

/* ---- timing ---- */

static long long
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int
cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

typedef struct result {
	double median_us, p90_us, min_us;
	size_t n;
} result;

/* Time iter exchanges of cmd through t (after 3 warm-up ones); -1 on a transport error.
 * Answers are checked once per link by check_echo, not inside the timed loop. */
static int
measure(pcard_transport *t, const uint8_t *cmd, size_t n, size_t iter, result *r)
{
	static uint8_t resp[PCARD_CARDLINK_MAX_FRAME];
	long long *ns;
	size_t len;
	pcard_err err;

	if ((ns = calloc(iter, sizeof *ns)) == NULL)
		return -1;
	for (size_t i = 0; i < 3; i++)
		if ((err = pcard_transport_raw(t, cmd, n, resp, sizeof resp, &len)) != PCARD_OK)
			goto fail;
	for (size_t i = 0; i < iter; i++) {
		long long t0 = now_ns();

		if ((err = pcard_transport_raw(t, cmd, n, resp, sizeof resp, &len)) != PCARD_OK)
			goto fail;
		ns[i] = now_ns() - t0;
	}
	qsort(ns, iter, sizeof *ns, cmp_ll);
	r->median_us = (double)ns[iter / 2] / 1e3;
	r->p90_us = (double)ns[iter * 9 / 10] / 1e3;
	r->min_us = (double)ns[0] / 1e3;
	r->n = iter;
	free(ns);
	return 0;
fail:
	fprintf(stderr, "bench_link: exchange failed: %s\n", pcard_strerror(err));
	free(ns);
	return -1;
}

static void
print_row(const char *what, const result *r)
{
	printf("%-44s %10.2f %10.2f %10.2f %8zu\n", what, r->median_us, r->p90_us, r->min_us, r->n);
}

/* ---- the APDUs ---- */

static uint8_t apdu_small[14];		/* case 4 short, 8 data bytes */
static uint8_t apdu_big[7 + 1000 + 2];	/* case 4 extended, 1000 data bytes */

static void
make_apdus(void)
{
	memcpy(apdu_small, "\x80\xCA\x00\x66\x08", 5);
	for (size_t i = 0; i < 8; i++)
		apdu_small[5 + i] = (uint8_t)i;
	apdu_small[13] = 0x00;
	memcpy(apdu_big, "\x80\xE2\x00\x00\x00\x03\xE8", 7);
	for (size_t i = 0; i < 1000; i++)
		apdu_big[7 + i] = (uint8_t)(i * 31);
	apdu_big[1007] = 0x00;
	apdu_big[1008] = 0x00;
}

/* One echo exchange whose answer is checked: data || 9000. */
static int
check_echo(pcard_transport *t)
{
	uint8_t resp[64];
	size_t len = 0;

	if (pcard_transport_raw(t, apdu_small, sizeof apdu_small, resp, sizeof resp, &len) !=
	    PCARD_OK || len != 10 || memcmp(resp, apdu_small + 5, 8) != 0 || resp[8] != 0x90 ||
	    resp[9] != 0x00) {
		fprintf(stderr, "bench_link: the echo card answered wrongly\n");
		return -1;
	}
	return 0;
}

/* ---- in-process and TCP link ---- */

static pcard_err
inproc_fn(void *ctx, const uint8_t *cmd, size_t n, uint8_t *resp, size_t cap, size_t *len)
{
	return pcard_echo_apdu(ctx, cmd, n, resp, cap, len);
}

typedef struct srv_run {
	pcard_cardlink_server srv;
	volatile sig_atomic_t stop;
	pcard_err err;
} srv_run;

static void *
srv_thread(void *arg)
{
	srv_run *s = arg;
	pcard_cardlink_opts o;

	memset(&o, 0, sizeof o);
	o.stop = &s->stop;
	s->err = pcard_cardlink_serve(&s->srv, &echo_ops, NULL, 1, &o, NULL);
	return NULL;
}

static int
bench_local(size_t iter)
{
	pcard_transport *t = NULL;
	srv_run s;
	pthread_t th;
	result r;
	int rc = -1;

	if (pcard_inproc_open(inproc_fn, NULL, NULL, &t) != PCARD_OK || check_echo(t) != 0 ||
	    measure(t, apdu_small, sizeof apdu_small, iter * 50, &r) != 0)
		goto out;
	print_row("in-process transport, 8 B", &r);
	if (measure(t, apdu_big, sizeof apdu_big, iter * 50, &r) != 0)
		goto out;
	print_row("in-process transport, 1000 B", &r);
	pcard_transport_close(t);
	t = NULL;

	memset(&s, 0, sizeof s);
	if (pcard_cardlink_listen(0, &s.srv) != PCARD_OK ||
	    pthread_create(&th, NULL, srv_thread, &s) != 0)
		goto out;
	if (pcard_cardlink_client_open(NULL, s.srv.port, NULL, &t) == PCARD_OK &&
	    check_echo(t) == 0 &&
	    measure(t, apdu_small, sizeof apdu_small, iter * 5, &r) == 0) {
		print_row("loopback TCP link (no pcscd), 8 B", &r);
		if (measure(t, apdu_big, sizeof apdu_big, iter * 5, &r) == 0) {
			print_row("loopback TCP link (no pcscd), 1000 B", &r);
			rc = 0;
		}
	}
	pcard_transport_close(t);
	t = NULL;
	s.stop = 1;
	pthread_join(th, NULL);
	pcard_cardlink_server_close(&s.srv);
out:
	pcard_transport_close(t);
	return rc;
}

/* ---- through pcscd and vpcd ---- */

typedef struct card_run {
	uint16_t port;
	int no_quickack;
	volatile sig_atomic_t stop;
	pcard_cardlink_stats st;
	pcard_err err;
} card_run;

static void *
card_thread(void *arg)
{
	card_run *c = arg;
	pcard_cardlink_opts o;

	memset(&o, 0, sizeof o);
	o.no_quickack = c->no_quickack;
	o.stop = &c->stop;
	o.connect_wait_ms = 5000;
	c->err = pcard_cardlink_vpcd_run(NULL, c->port, &echo_ops, NULL, &o, &c->st);
	return NULL;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Open the reader once pcscd has noticed the card (it polls about every 400 ms). */
static pcard_transport *
open_when_present(const char *reader)
{
	pcard_pcsc_opts o = { NULL, 0, 1, PCARD_PCSC_LEAVE, PCARD_PCSC_TANY };
	pcard_transport *t = NULL;

	o.reader = reader;
	for (int i = 0; i < 100; i++) {
		if (pcard_pcsc_open(&o, &t) == PCARD_OK)
			return t;
		sleep_ms(100);
	}
	fprintf(stderr, "bench_link: no card in '%s' after 10 s (is pcscd with vpcd running?)\n",
	    reader);
	return NULL;
}

/* Wait until pcscd no longer sees a card, so the next run starts from an empty reader. */
static void
wait_absent(const char *reader)
{
	pcard_pcsc_opts o = { NULL, 0, 0, PCARD_PCSC_LEAVE, PCARD_PCSC_TANY };
	pcard_transport *t = NULL;

	o.reader = reader;
	for (int i = 0; i < 100; i++) {
		if (pcard_pcsc_open(&o, &t) != PCARD_OK)
			return;
		pcard_transport_close(t);
		t = NULL;
		sleep_ms(100);
	}
}

/* One card session on vpcd; measures 8 B (and 1000 B when big_iter) round trips. */
static int
bench_vpcd(uint16_t port, const char *reader, int no_quickack, size_t iter, size_t big_iter,
    result *small, result *big)
{
	card_run c;
	pthread_t th;
	pcard_transport *t = NULL;
	int rc = -1;

	memset(&c, 0, sizeof c);
	c.port = port;
	c.no_quickack = no_quickack;
	if (pthread_create(&th, NULL, card_thread, &c) != 0)
		return -1;
	if ((t = open_when_present(reader)) == NULL || check_echo(t) != 0 ||
	    measure(t, apdu_small, sizeof apdu_small, iter, small) != 0)
		goto out;
	if (big_iter > 0 && measure(t, apdu_big, sizeof apdu_big, big_iter, big) != 0)
		goto out;
	rc = 0;
out:
	pcard_transport_close(t);
	c.stop = 1;
	pthread_join(th, NULL);
	if (c.err != PCARD_OK) {
		fprintf(stderr, "bench_link: card link on port %u: %s (errno %d)\n", port,
		    pcard_strerror(c.err), c.st.sys_errno);
		rc = -1;
	}
	wait_absent(reader);
	return rc;
}

int
main(int argc, char **argv)
{
	const char *reader = getenv("PCSC_READER");
	const char *env_port = getenv("PCSC_VPCD_PORT");
	unsigned long port = env_port != NULL ? strtoul(env_port, NULL, 10) :
	    PCARD_CARDLINK_VPCD_PORT;
	size_t iter = 2000, iter_slow = 40;
	int local_only = 0;
	result on, off, on_big, dummy;

	if (reader == NULL)
		reader = "Virtual PCD 00 00";
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--local-only") == 0)
			local_only = 1;
		else if (i + 1 < argc && strcmp(argv[i], "--port") == 0)
			port = strtoul(argv[++i], NULL, 10);
		else if (i + 1 < argc && strcmp(argv[i], "--reader") == 0)
			reader = argv[++i];
		else if (i + 1 < argc && strcmp(argv[i], "--iter") == 0)
			iter = strtoul(argv[++i], NULL, 10);
		else if (i + 1 < argc && strcmp(argv[i], "--iter-slow") == 0)
			iter_slow = strtoul(argv[++i], NULL, 10);
		else {
			fprintf(stderr, "usage: bench_link [--port N] [--reader NAME] [--iter N] "
			    "[--iter-slow N] [--local-only]\n");
			return 2;
		}
	}
	if (port == 0 || port > 65535 || iter < 10 || iter_slow < 10) {
		fprintf(stderr, "bench_link: port 1-65535, iterations at least 10\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	make_apdus();
	printf("# round trip of one APDU to an echo card, microseconds\n");
	printf("%-44s %10s %10s %10s %8s\n", "link", "median", "p90", "min", "n");
	if (bench_local(iter) != 0)
		return 1;
	if (local_only)
		return 0;
	if (bench_vpcd((uint16_t)port, reader, 0, iter, iter, &on, &on_big) != 0)
		return 1;
	print_row("pcscd+vpcd, TCP_QUICKACK on, 8 B", &on);
	print_row("pcscd+vpcd, TCP_QUICKACK on, 1000 B", &on_big);
	if (bench_vpcd((uint16_t)port, reader, 1, iter_slow, 0, &off, &dummy) != 0)
		return 1;
	print_row("pcscd+vpcd, TCP_QUICKACK off, 8 B", &off);
	printf("# quick-ACK off / on (median, 8 B): %.0fx\n", off.median_us / on.median_us);
	return 0;
}
