/*
 * sim_main_echo.c: pcard-echo-card, a trivial card for link tests and the link benchmark.
 *
 * It answers the ATR given on the command line, SELECT (INS A4) with 9000, and any other
 * command with its own data field followed by 9000 (6700 when the APDU does not parse). It
 * reaches the host through vpcd (default) or as a loopback TCP server (--listen).
 *
 *   pcard-echo-card [--atr HEX] [--host ADDR] [--port N] [--wait-ms N] [--no-quickack]
 *   pcard-echo-card --listen PORT [--atr HEX]
 *
 * Exit: 0 after SIGTERM/SIGINT, 7 when vpcd is unreachable or goes away (pcscd stopped),
 * 2 on a bad command line. Not part of libpostcard-card (sim_main*.c are programs).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "postcard/bytes.h"

#include "cardlink.h"
#include "echo.h"

#define PROG "pcard-echo-card"
#define DEFAULT_ATR "3B8A8001504F5354434152442D311B"	/* T=1, historicals "POSTCARD-1", TCK */

typedef struct echo_card {
	uint8_t atr[PCARD_CARDLINK_ATR_MAX];
	size_t atr_len;
} echo_card;

static volatile sig_atomic_t stop_flag;

static void
on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static pcard_err
echo_atr(void *ctx, uint8_t *out, size_t cap, size_t *len)
{
	echo_card *c = ctx;

	if (c->atr_len > cap)
		return PCARD_E_NOSPACE;
	memcpy(out, c->atr, c->atr_len);
	*len = c->atr_len;
	return PCARD_OK;
}

static int
usage(void)
{
	fprintf(stderr, "usage: " PROG " [--atr HEX] [--host ADDR] [--port N] [--wait-ms N] "
	    "[--no-quickack]\n       " PROG " --listen PORT [--atr HEX]\n");
	return 2;
}

static int
parse_port(const char *s, uint16_t *port)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || end == s || v == 0 || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

int
main(int argc, char **argv)
{
	static const pcard_card_ops ops = { echo_atr, NULL, NULL, NULL, pcard_echo_apdu };
	echo_card card;
	pcard_cardlink_opts opts;
	pcard_cardlink_stats st;
	pcard_cardlink_server srv = { -1, 0 };
	const char *host = NULL, *atr_hex = DEFAULT_ATR;
	uint16_t port = PCARD_CARDLINK_VPCD_PORT, listen_port = 0;
	struct sigaction sa;
	pcard_err err;

	memset(&card, 0, sizeof card);
	memset(&opts, 0, sizeof opts);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--no-quickack") == 0) {
			opts.no_quickack = 1;
			continue;
		}
		if (v == NULL)
			return usage();
		i++;
		if (strcmp(a, "--atr") == 0)
			atr_hex = v;
		else if (strcmp(a, "--host") == 0)
			host = v;
		else if (strcmp(a, "--port") == 0) {
			if (parse_port(v, &port) != 0)
				return usage();
		} else if (strcmp(a, "--listen") == 0) {
			if (parse_port(v, &listen_port) != 0)
				return usage();
		} else if (strcmp(a, "--wait-ms") == 0)
			opts.connect_wait_ms = (unsigned)strtoul(v, NULL, 10);
		else
			return usage();
	}
	if (pcard_hex_decode(atr_hex, card.atr, sizeof card.atr, &card.atr_len) != PCARD_OK ||
	    card.atr_len < 2) {
		fprintf(stderr, PROG ": --atr: 2 to %d bytes of hex\n", PCARD_CARDLINK_ATR_MAX);
		return 2;
	}

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;	/* no SA_RESTART: a blocked wait returns and sees stop */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	opts.stop = &stop_flag;

	if (listen_port != 0) {
		if ((err = pcard_cardlink_listen(listen_port, &srv)) != PCARD_OK) {
			fprintf(stderr, PROG ": listen on 127.0.0.1:%u: %s\n", listen_port,
			    strerror(errno));
			return pcard_exit_code(err);
		}
		fprintf(stderr, PROG ": listening on 127.0.0.1:%u\n", srv.port);
		err = pcard_cardlink_serve(&srv, &ops, &card, 0, &opts, &st);
		pcard_cardlink_server_close(&srv);
	} else {
		err = pcard_cardlink_vpcd_run(host, port, &ops, &card, &opts, &st);
	}
	if (err == PCARD_OK) {
		fprintf(stderr, PROG ": stopped after %llu APDUs\n", st.apdus);
		return 0;
	}
	if (st.peer_closed)
		fprintf(stderr, PROG ": vpcd closed the connection after %llu APDUs "
		    "(pcscd stopped?)\n", st.apdus);
	else if (st.sys_errno != 0)
		fprintf(stderr, PROG ": vpcd at %s:%u: %s\n", host != NULL ? host : "127.0.0.1",
		    port, strerror(st.sys_errno));
	else
		fprintf(stderr, PROG ": %s\n", pcard_strerror(err));
	return pcard_exit_code(err);
}
