/*
 * sim_main_run.c: `postcard-sim run CARD-FILE`: the card of a card file on the vpcd link (the
 * reader pcscd's vpcd driver offers) or on a loopback TCP port (docs/tcp-link.md), until
 * SIGTERM/SIGINT (exit 0) or the link fails (exit 7, one line).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>

#include "card.h"
#include "cardlink.h"
#include "postcard/bytes.h"
#include "postcard/transport.h"
#include "sim_main_int.h"

#define CMD "run"

static volatile sig_atomic_t stop_flag;

static void
on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void
help(void)
{
	printf(
	    "usage: " SIM_PROG " run CARD-FILE [--vpcd HOST:PORT | --tcp PORT] [--wait-ms N]\n"
	    "           [--no-quickack] [--trace]\n"
	    "\n"
	    "Serve the card of CARD-FILE. Every state change is committed to CARD-FILE before\n"
	    "its response leaves the card.\n"
	    "\n"
	    "  --vpcd HOST:PORT  connect to pcscd's vpcd driver (default 127.0.0.1:35963, reader\n"
	    "                    'Virtual PCD 00 00'; port 35964 is 'Virtual PCD 00 01'); HOST is\n"
	    "                    a numeric address\n"
	    "  --tcp PORT        instead, listen on 127.0.0.1:PORT (0 = any free port, printed)\n"
	    "                    for tools without PC/SC, one client at a time\n"
	    "  --wait-ms N       keep retrying a refused vpcd connection for N ms (default 0)\n"
	    "  --no-quickack     do not set TCP_QUICKACK (only to measure the delayed-ACK stall)\n"
	    "  --trace           log every APDU on stderr; PUT KEY and encrypted STORE DATA\n"
	    "                    data are shown as '<n bytes redacted>'\n"
	    "\n"
	    "Runs until SIGTERM or SIGINT (exit 0). Exit 7 when vpcd cannot be reached or goes\n"
	    "away (pcscd stopped), 3 when CARD-FILE is corrupt.\n"
	    "\n"
	    "Examples:\n"
	    "  " SIM_PROG " run card.pcsim\n"
	    "  " SIM_PROG " run card.pcsim --vpcd 127.0.0.1:35964 --trace\n"
	    "  " SIM_PROG " run card.pcsim --tcp 9025\n");
}

typedef struct sim_run {
	pcard_card *card;
	int trace;
	int last_redacted;
} sim_run;

static void
trace_bytes(const char *dir, const uint8_t *p, size_t n, size_t show)
{
	char hex[2 * 64 + 1];
	size_t off = 0;

	fprintf(stderr, "%s ", dir);
	while (off < show) {
		size_t k = show - off > 64 ? 64 : show - off;

		(void)pcard_hex_encode(p + off, k, hex, sizeof hex);
		fputs(hex, stderr);
		off += k;
	}
	if (show < n)
		fprintf(stderr, " <%zu bytes redacted>", n - show);
	fputc('\n', stderr);
}

static pcard_err
run_atr(void *ctx, uint8_t *out, size_t out_cap, size_t *out_len)
{
	return pcard_card_link_ops.atr(((sim_run *)ctx)->card, out, out_cap, out_len);
}

static void
run_power_on(void *ctx)
{
	sim_run *r = ctx;

	if (r->trace)
		fprintf(stderr, "-- power on\n");
	pcard_card_link_ops.power_on(r->card);
}

static void
run_power_off(void *ctx)
{
	sim_run *r = ctx;

	if (r->trace)
		fprintf(stderr, "-- power off\n");
	pcard_card_link_ops.power_off(r->card);
}

static void
run_reset(void *ctx)
{
	sim_run *r = ctx;

	if (r->trace)
		fprintf(stderr, "-- reset\n");
	pcard_card_link_ops.reset(r->card);
}

static pcard_err
run_apdu(void *ctx, const uint8_t *cmd, size_t n, uint8_t *resp, size_t resp_cap,
    size_t *resp_len)
{
	sim_run *r = ctx;
	pcard_err err;

	if (r->trace) {
		/* the header and Lc stay visible; the data field of key-bearing commands does not */
		int redact = n >= 4 && pcard_trace_redact(cmd, n);

		trace_bytes(">>", cmd, n, redact && n > 5 ? 5 : n);
	}
	err = pcard_card_link_ops.apdu(r->card, cmd, n, resp, resp_cap, resp_len);
	if (r->trace) {
		if (err == PCARD_OK)
			trace_bytes("<<", resp, *resp_len, *resp_len);
		else
			fprintf(stderr, "<< card error: %s\n", pcard_strerror(err));
	}
	return err;
}

static int
parse_hostport(const char *s, char *host, size_t host_cap, uint16_t *port)
{
	const char *colon = strrchr(s, ':');
	unsigned char a[sizeof(struct in6_addr)];
	unsigned long v;
	size_t hl;

	if (colon == NULL)
		return -1;
	hl = (size_t)(colon - s);
	/* [v6]:port */
	if (hl >= 2 && s[0] == '[' && s[hl - 1] == ']') {
		s++;
		hl -= 2;
	}
	if (hl == 0 || hl >= host_cap || sim_parse_ulong(colon + 1, 1, 65535, &v) != 0)
		return -1;
	memcpy(host, s, hl);
	host[hl] = '\0';
	/* numeric only: the card never resolves names (docs/tcp-link.md) */
	if (inet_pton(AF_INET, host, a) != 1 && inet_pton(AF_INET6, host, a) != 1)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

int
sim_cmd_run(int argc, char **argv)
{
	enum { O_VPCD = 256, O_TCP, O_WAIT, O_NOQA, O_TRACE };
	static const struct option opts[] = {
		{ "vpcd", required_argument, NULL, O_VPCD },
		{ "tcp", required_argument, NULL, O_TCP },
		{ "wait-ms", required_argument, NULL, O_WAIT },
		{ "no-quickack", no_argument, NULL, O_NOQA },
		{ "trace", no_argument, NULL, O_TRACE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const pcard_card_ops ops = {
		run_atr, run_power_on, run_power_off, run_reset, run_apdu,
	};
	char host[64] = PCARD_CARDLINK_VPCD_HOST;
	uint16_t port = PCARD_CARDLINK_VPCD_PORT, tcp_port = 0;
	int use_tcp = 0, have_vpcd = 0, c;
	unsigned long v;
	pcard_cardlink_opts lo;
	pcard_cardlink_stats st;
	pcard_cardlink_server srv = { -1, 0 };
	struct sigaction sa;
	sim_run r;
	const char *path;
	pcard_err err;

	memset(&lo, 0, sizeof lo);
	memset(&r, 0, sizeof r);
	memset(&st, 0, sizeof st);
	sim_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			help();
			return 0;
		case O_VPCD:
			if (parse_hostport(optarg, host, sizeof host, &port) != 0)
				return sim_usage(CMD, "--vpcd: HOST:PORT with a numeric address, not "
				    "'%s'", optarg);
			have_vpcd = 1;
			break;
		case O_TCP:
			if (sim_parse_ulong(optarg, 0, 65535, &v) != 0)
				return sim_usage(CMD, "--tcp: a port 0..65535, not '%s'", optarg);
			tcp_port = (uint16_t)v;
			use_tcp = 1;
			break;
		case O_WAIT:
			if (sim_parse_ulong(optarg, 0, 3600000, &v) != 0)
				return sim_usage(CMD, "--wait-ms: 0 to 3600000, not '%s'", optarg);
			lo.connect_wait_ms = (unsigned)v;
			break;
		case O_NOQA:
			lo.no_quickack = 1;
			break;
		case O_TRACE:
			r.trace = 1;
			break;
		default:
			return sim_bad_option(CMD, c, argv);
		}
	}
	if (optind != argc - 1)
		return sim_usage(CMD, optind >= argc ? "CARD-FILE missing" : "too many arguments");
	if (use_tcp && have_vpcd)
		return sim_usage(CMD, "--vpcd and --tcp exclude each other");
	path = argv[optind];
	if ((err = pcard_card_open_file(path, NULL, &r.card)) != PCARD_OK)
		return sim_fail(err, "open card file %s", path);

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;	/* no SA_RESTART: a blocked wait returns and sees stop */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	lo.stop = &stop_flag;

	if (use_tcp) {
		if ((err = pcard_cardlink_listen(tcp_port, &srv)) != PCARD_OK) {
			fprintf(stderr, SIM_PROG ": listen on 127.0.0.1:%u: %s\n", tcp_port,
			    strerror(errno));
			pcard_card_free(r.card);
			return pcard_exit_code(err);
		}
		fprintf(stderr, SIM_PROG ": %s: listening on 127.0.0.1:%u\n", path, srv.port);
		err = pcard_cardlink_serve(&srv, &ops, &r, 0, &lo, &st);
		pcard_cardlink_server_close(&srv);
	} else {
		fprintf(stderr, SIM_PROG ": %s: connecting to vpcd at %s:%u\n", path, host, port);
		err = pcard_cardlink_vpcd_run(host, port, &ops, &r, &lo, &st);
	}
	pcard_card_free(r.card);
	if (err == PCARD_OK) {
		fprintf(stderr, SIM_PROG ": stopped after %llu APDUs\n", st.apdus);
		return 0;
	}
	if (use_tcp)
		fprintf(stderr, SIM_PROG ": TCP link on 127.0.0.1:%u failed: %s\n", srv.port,
		    st.sys_errno != 0 ? strerror(st.sys_errno) : pcard_strerror(err));
	else if (st.peer_closed)
		fprintf(stderr, SIM_PROG ": vpcd closed the connection after %llu APDUs "
		    "(pcscd stopped?)\n", st.apdus);
	else if (st.sys_errno != 0)
		fprintf(stderr, SIM_PROG ": vpcd at %s:%u: %s\n", host, port,
		    strerror(st.sys_errno));
	else
		fprintf(stderr, SIM_PROG ": vpcd link: %s\n", pcard_strerror(err));
	/* a link that fails for any reason of the peer's (protocol included) is an I/O failure */
	return err == PCARD_E_NOMEM || err == PCARD_E_INVALID_ARG ? pcard_exit_code(err) :
	    PCARD_EXIT_IO;
}
