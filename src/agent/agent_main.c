/*
 * agent_main.c: the postcard-agent program (docs/agent.md).
 *
 *   postcard-agent --server URL [--reader NAME|INDEX | --tcp HOST:PORT] --cert F --key F
 *                  --cacert F [--relay] [--once] [--json] [--retries N] [--timeout S] ...
 *
 * It opens ONE connection to the card for the whole run (PC/SC: shared, transaction held,
 * left with SCARD_LEAVE_CARD so pcscd neither resets the card between exchanges nor at the
 * end), runs sessions with the server and reports. It holds no key.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "agent.h"
#include "cardlink.h"
#include "postcard/bytes.h"

#define MAX_SESSIONS 3

static const char USAGE[] =
"usage: postcard-agent --server URL [--reader NAME|INDEX | --tcp HOST:PORT]\n"
"                      --cert FILE --key FILE --cacert FILE [options]\n"
"\n"
"Relays one card to a postcardd server: reads the card's identity without authentication,\n"
"plays the bundles of commands the server sends and returns every answer. Holds no key.\n"
"\n"
"  --server URL       https://HOST:PORT of postcardd\n"
"  --reader R         PC/SC reader: exact name, unique substring or index (default:\n"
"                     $PCARD_READER, else the first reader holding a card)\n"
"  --tcp HOST:PORT    postcard-sim's TCP link instead of PC/SC (numeric HOST)\n"
"  --cert F, --key F  the agent's client certificate and private key (PEM)\n"
"  --cacert F         the CA the server's certificate must chain to (only this one)\n"
"  --pin SHA256       also pin the server's public key (\"sha256//BASE64\")\n"
"  --agent-id ID      name sent in the hello (the server knows the agent by certificate)\n"
"  --relay            per-APDU relay mode (one APDU per HTTP exchange, for comparison)\n"
"  --once             one session only (default: up to 3 while jobs stay unknown)\n"
"  --json             print a JSON summary on stdout\n"
"  --retries N        resend a failed exchange up to N times (default 5)\n"
"  --timeout S        seconds per HTTP exchange (default 30)\n"
"  --trace            log every APDU on stderr (key-bearing data redacted)\n"
"\n"
"Exit status: 0 every job the server reported is done (or there was none); 4 a job failed\n"
"or stayed unknown; 7 the card, reader or network failed; 5 the server refused the card or\n"
"the agent; 2 usage; others as docs/exit-codes.md.\n"
"Test hook: PCARD_AGENT_KILL_AT=[peer-]send:N|sent:N|recv:N|apdu:S:K, cardoff:S:K\n"
"(docs/agent.md).\n"
"\n"
"examples:\n"
"  postcard-agent --server https://127.0.0.1:8443 --reader 'Virtual PCD 00 00' \\\n"
"      --cert agent.pem --key agent.key --cacert ca.pem\n"
"  postcard-agent --server https://127.0.0.1:8443 --tcp 127.0.0.1:9025 \\\n"
"      --cert agent.pem --key agent.key --cacert ca.pem --once --json\n";

typedef struct opts {
	const char *server, *reader, *tcp, *cert, *key, *cacert, *pin, *agent_id;
	int relay, once, json, trace;
	unsigned retries, timeout;
} opts;

typedef struct http_ctx {
	pcard_agent_http *h;
	pcard_agent_kill kill;
	uint32_t exchange_now;
	int peer_pid;
	int fired;
} http_ctx;

typedef struct trace_ctx {
	size_t wire;		/* commands sent to the card (GET RESPONSE and resends included) */
	int print;
} trace_ctx;

static int
usage_err(const char *fmt, const char *arg)
{
	fprintf(stderr, "postcard-agent: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (see --help)\n");
	return PCARD_EXIT_USAGE;
}

static int
parse_uint(const char *s, unsigned max, unsigned *v)
{
	char *end;
	unsigned long x;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	x = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || x > max)
		return -1;
	*v = (unsigned)x;
	return 0;
}

static pcard_err
post_http(void *ctx, const char *path, const char *body, size_t n, char *resp, size_t cap,
    size_t *rlen, long *status, char *err, size_t err_cap)
{
	http_ctx *H = ctx;

	return pcard_agent_http_post(H->h, path, body, n, resp, cap, rlen, status, err, err_cap);
}

static void
http_hook(void *ctx, int point)
{
	http_ctx *H = ctx;

	if (point == PCARD_AGENT_HTTP_SENT && H->kill.kind == PCARD_AGENT_KILL_SENT &&
	    H->kill.n == H->exchange_now)
		pcard_agent_kill_fire(&H->kill, H->peer_pid, &H->fired);
}

static void
on_trace(void *ctx, int dir, const uint8_t *p, size_t n)
{
	trace_ctx *T = ctx;
	char hex[2 * 600 + 1];
	size_t show = n;

	if (dir == PCARD_TRACE_CMD)
		T->wire++;
	if (!T->print)
		return;
	if (dir == PCARD_TRACE_CMD && n > 5 && pcard_trace_redact(p, n))
		show = 5;
	if (show > 600)
		show = 600;
	for (size_t i = 0; i < show; i++)
		snprintf(hex + 2 * i, 3, "%02X", p[i]);
	hex[2 * show] = '\0';
	if (show < n && dir == PCARD_TRACE_CMD)
		fprintf(stderr, ">> %s <%zu bytes redacted>\n", hex, n - show);
	else
		fprintf(stderr, "%s %s\n", dir == PCARD_TRACE_CMD ? ">>" : "<<", hex);
}

static const char *
type_name(int t)
{
	static const char *const names[] = { "none", "hello", "bundle", "responses", "result",
		"error" };

	return t >= 0 && t <= PCARD_BMSG_ERROR ? names[t] : "?";
}

static const char *
stop_name(int s)
{
	switch (s) {
	case PCARD_BMSG_STOP_COMPLETE:
		return "complete";
	case PCARD_BMSG_STOP_UNEXPECTED_SW:
		return "unexpected_sw";
	case PCARD_BMSG_STOP_CARD_ERROR:
		return "card_error";
	default:
		return NULL;
	}
}

static pcard_err
open_card(const opts *o, pcard_transport **t, char *msg, size_t cap)
{
	pcard_err err;

	if (o->tcp != NULL) {
		char host[64];
		const char *colon = strrchr(o->tcp, ':');
		unsigned port = 0;

		if (colon == NULL || (size_t)(colon - o->tcp) >= sizeof host ||
		    parse_uint(colon + 1, 65535, &port) != 0 || port == 0) {
			snprintf(msg, cap, "--tcp %s: not HOST:PORT", o->tcp);
			return PCARD_E_USAGE;
		}
		memcpy(host, o->tcp, (size_t)(colon - o->tcp));
		host[colon - o->tcp] = '\0';
		err = pcard_cardlink_client_open(host[0] ? host : NULL, (uint16_t)port, NULL, t);
		if (err != PCARD_OK)
			snprintf(msg, cap, "card at %s: %s", o->tcp, pcard_strerror(err));
		return err;
	} else {
		pcard_pcsc_opts po;

		memset(&po, 0, sizeof po);
		po.reader = o->reader != NULL ? o->reader : getenv("PCARD_READER");
		po.transaction = 1;			/* held for the whole run */
		po.disposition = PCARD_PCSC_LEAVE;	/* no reset between or after exchanges */
		po.protocol = PCARD_PCSC_TANY;
		err = pcard_pcsc_open(&po, t);
		if (err != PCARD_OK)
			snprintf(msg, cap, "reader %s: %s", po.reader && po.reader[0] ? po.reader :
			    "(first with a card)", pcard_strerror(err));
		return err;
	}
}

static json_t *
session_json(const pcard_agent_summary *s)
{
	json_t *o = json_object(), *http = json_array(), *res = json_array();
	const char *stop = stop_name(s->last_stop);

	json_object_set_new(o, "session", json_string(s->session));
	json_object_set_new(o, "exchanges", json_integer((json_int_t)s->exchanges));
	json_object_set_new(o, "requests", json_integer((json_int_t)s->requests));
	json_object_set_new(o, "retries", json_integer((json_int_t)s->retries));
	json_object_set_new(o, "apdus", json_integer((json_int_t)s->apdus));
	json_object_set_new(o, "identity_apdus", json_integer((json_int_t)s->id_apdus));
	json_object_set_new(o, "bundles", json_integer((json_int_t)s->bundles));
	json_object_set_new(o, "stop", stop ? json_string(stop) : json_null());
	for (size_t i = 0; i < s->nx; i++) {
		const pcard_agent_xchg *x = &s->x[i];
		json_t *e = json_object();

		json_object_set_new(e, "n", json_integer((json_int_t)i + 1));
		json_object_set_new(e, "step", json_integer(x->step));
		json_object_set_new(e, "sent", json_string(type_name(x->sent)));
		json_object_set_new(e, "got", x->got ? json_string(type_name(x->got)) :
		    json_null());
		json_object_set_new(e, "http", json_integer(x->http));
		json_object_set_new(e, "tries", json_integer(x->tries));
		json_object_set_new(e, "responses", json_integer((json_int_t)x->rsps));
		json_object_set_new(e, "steps", json_integer((json_int_t)x->steps));
		json_object_set_new(e, "up", json_integer((json_int_t)x->up));
		json_object_set_new(e, "down", json_integer((json_int_t)x->down));
		json_object_set_new(e, "ms", json_real(x->ms));
		json_array_append_new(http, e);
	}
	json_object_set_new(o, "http", http);
	for (size_t j = 0; j < s->njobs; j++) {
		const pcard_bmsg_job *jb = &s->jobs[j];
		json_t *e = json_object();
		char sw[5];

		snprintf(sw, sizeof sw, "%04X", jb->sw);
		json_object_set_new(e, "id", json_integer((json_int_t)jb->id));
		json_object_set_new(e, "state", json_string(pcard_bjob_state_name(jb->state)));
		json_object_set_new(e, "sw", jb->sw ? json_string(sw) : json_null());
		json_object_set_new(e, "why", json_string(jb->why));
		json_array_append_new(res, e);
	}
	json_object_set_new(o, "results", res);
	json_object_set_new(o, "jobs", json_pack("{s:I,s:I,s:I,s:I}", "done",
	    (json_int_t)s->done, "failed", (json_int_t)s->failed, "unknown",
	    (json_int_t)s->unknown, "not_done", (json_int_t)s->not_done));
	if (s->err != PCARD_OK)
		json_object_set_new(o, "error", json_pack("{s:s,s:s}", "code",
		    pcard_errname(s->err), "message", s->msg));
	else
		json_object_set_new(o, "error", json_null());
	return o;
}

static void
session_text(const pcard_agent_summary *s, size_t idx)
{
	printf("session %zu%s%s: %zu exchanges (%zu HTTP requests, %zu retries), %zu APDUs in "
	    "%zu bundles, %zu identity APDUs\n", idx, s->session[0] ? " " : "", s->session,
	    s->exchanges, s->requests, s->retries, s->apdus, s->bundles, s->id_apdus);
	for (size_t i = 0; i < s->nx; i++) {
		const pcard_agent_xchg *x = &s->x[i];

		printf("  exchange %zu: %s step %u", i + 1, type_name(x->sent), (unsigned)x->step);
		if (x->sent == PCARD_BMSG_RESPONSES)
			printf(" (%zu responses)", x->rsps);
		printf(" -> HTTP %ld %s", x->http, x->got ? type_name(x->got) : "(none)");
		if (x->got == PCARD_BMSG_BUNDLE)
			printf(" (%zu APDUs)", x->steps);
		printf(", %zu B up, %zu B down, %.1f ms%s\n", x->up, x->down, x->ms,
		    x->tries > 1 ? ", resent" : "");
	}
	if (s->exchanges > s->nx && s->nx == PCARD_AGENT_XLOG_MAX)
		printf("  ... %zu more exchanges\n", s->exchanges - s->nx);
	for (size_t j = 0; j < s->njobs; j++)
		printf("  job %llu: %s%s%.4X %s\n", (unsigned long long)s->jobs[j].id,
		    pcard_bjob_state_name(s->jobs[j].state), s->jobs[j].sw ? " SW " : "",
		    s->jobs[j].sw, s->jobs[j].why);
	if (s->err == PCARD_OK)
		printf("  jobs: %zu done, %zu failed, %zu unknown, %zu not done\n", s->done,
		    s->failed, s->unknown, s->not_done);
}

int
main(int argc, char **argv)
{
	opts o;
	http_ctx H;
	trace_ctx T;
	pcard_agent_http_opts ho;
	pcard_agent_cfg cfg;
	pcard_agent_summary sums[MAX_SESSIONS];
	pcard_transport *t = NULL;
	char msg[PCARD_AGENT_MSG_MAX] = "";
	size_t nsum = 0;
	int rc = PCARD_EXIT_INTERNAL;
	pcard_err err = PCARD_E_INTERNAL;

	memset(&o, 0, sizeof o);
	memset(&H, 0, sizeof H);
	memset(&T, 0, sizeof T);
	memset(sums, 0, sizeof sums);
	o.retries = 5;
	o.timeout = 30;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char **sv = NULL;

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			fputs(USAGE, stdout);
			return PCARD_EXIT_OK;
		} else if (strcmp(a, "--relay") == 0) {
			o.relay = 1;
		} else if (strcmp(a, "--once") == 0) {
			o.once = 1;
		} else if (strcmp(a, "--json") == 0) {
			o.json = 1;
		} else if (strcmp(a, "--trace") == 0) {
			o.trace = 1;
		} else if (strcmp(a, "--server") == 0) {
			sv = &o.server;
		} else if (strcmp(a, "--reader") == 0 || strcmp(a, "-r") == 0) {
			sv = &o.reader;
		} else if (strcmp(a, "--tcp") == 0) {
			sv = &o.tcp;
		} else if (strcmp(a, "--cert") == 0) {
			sv = &o.cert;
		} else if (strcmp(a, "--key") == 0) {
			sv = &o.key;
		} else if (strcmp(a, "--cacert") == 0) {
			sv = &o.cacert;
		} else if (strcmp(a, "--pin") == 0) {
			sv = &o.pin;
		} else if (strcmp(a, "--agent-id") == 0) {
			sv = &o.agent_id;
		} else if (strcmp(a, "--retries") == 0 || strcmp(a, "--timeout") == 0) {
			unsigned *uv = a[2] == 'r' ? &o.retries : &o.timeout;

			if (i + 1 >= argc || parse_uint(argv[i + 1], a[2] == 'r' ? 100 : 3600, uv)
			    != 0 || (a[2] == 't' && *uv == 0))
				return usage_err("%s needs a number (retries 0..100, timeout 1..3600)",
				    a);
			i++;
		} else {
			return usage_err("unknown option or argument '%s'", a);
		}
		if (sv != NULL) {
			if (i + 1 >= argc)
				return usage_err("%s needs a value", a);
			*sv = argv[++i];
		}
	}
	if (o.server == NULL)
		return usage_err("%s", "--server URL is required");
	if (o.cert == NULL || o.key == NULL || o.cacert == NULL)
		return usage_err("%s", "--cert, --key and --cacert are required (mutual TLS)");
	if (o.tcp != NULL && o.reader != NULL)
		return usage_err("%s", "--reader and --tcp do not go together");
	if (strncmp(o.server, "https://", 8) != 0)
		return usage_err("--server %s: not an https:// URL", o.server);
	if (o.agent_id != NULL && (o.agent_id[0] == '\0' || strlen(o.agent_id) >
	    PCARD_BMSG_ID_MAX || strspn(o.agent_id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
	    "qrstuvwxyz0123456789_-") != strlen(o.agent_id)))
		return usage_err("--agent-id %s: 1..64 of [A-Za-z0-9_-]", o.agent_id);
	if (pcard_agent_kill_parse(getenv("PCARD_AGENT_KILL_AT"), &H.kill) != PCARD_OK)
		return usage_err("PCARD_AGENT_KILL_AT=%s: not a kill point",
		    getenv("PCARD_AGENT_KILL_AT"));
	if (H.kill.peer) {
		unsigned pid = 0;

		if (parse_uint(getenv("PCARD_AGENT_KILL_PID"), INT_MAX, &pid) != 0 || pid == 0)
			return usage_err("%s", "a peer- kill point needs PCARD_AGENT_KILL_PID");
		H.peer_pid = (int)pid;
	}
	signal(SIGPIPE, SIG_IGN);

	memset(&ho, 0, sizeof ho);
	ho.base_url = o.server;
	ho.cert = o.cert;
	ho.key = o.key;
	ho.cacert = o.cacert;
	ho.pin = o.pin;
	ho.timeout_s = o.timeout;
	{
		const char *files[3] = { o.cert, o.key, o.cacert };

		for (size_t i = 0; i < 3; i++) {
			FILE *fh = fopen(files[i], "r");

			if (fh == NULL) {
				snprintf(msg, sizeof msg, "%s: %s", files[i], strerror(errno));
				err = PCARD_E_IO;
				goto out;
			}
			fclose(fh);
		}
	}
	if ((err = pcard_agent_http_new(&ho, &H.h)) != PCARD_OK) {
		snprintf(msg, sizeof msg, "HTTP client: %s", pcard_strerror(err));
		goto out;
	}
	pcard_agent_http_set_hook(H.h, http_hook, &H);
	if ((err = open_card(&o, &t, msg, sizeof msg)) != PCARD_OK)
		goto out;
	T.print = o.trace;
	pcard_transport_set_trace(t, on_trace, &T);

	memset(&cfg, 0, sizeof cfg);
	cfg.agent_id = o.agent_id;
	cfg.relay = o.relay;
	cfg.retries = o.retries;
	cfg.kill = H.kill;
	cfg.post = post_http;
	cfg.post_ctx = &H;
	cfg.exchange_now = &H.exchange_now;
	cfg.peer_pid = H.peer_pid;
	for (;;) {
		pcard_agent_summary *s = &sums[nsum++];

		err = pcard_agent_session(&cfg, t, s);
		if (err != PCARD_OK) {
			snprintf(msg, sizeof msg, "%s", s->msg);
			break;
		}
		/* another session only to settle what stayed unknown while the card is there */
		if (o.once || nsum == MAX_SESSIONS || (s->unknown == 0 && s->not_done == 0) ||
		    s->last_stop == PCARD_BMSG_STOP_CARD_ERROR)
			break;
		cfg.kill.kind = PCARD_AGENT_KILL_NONE;
	}
out:
	if (err == PCARD_OK) {
		const pcard_agent_summary *last = &sums[nsum - 1];

		rc = PCARD_EXIT_OK;
		if (last->failed + last->unknown + last->not_done > 0)
			rc = last->last_stop == PCARD_BMSG_STOP_CARD_ERROR ? PCARD_EXIT_IO :
			    PCARD_EXIT_CARD_REFUSED;
	} else {
		rc = pcard_exit_code(err);
	}
	if (o.json) {
		json_t *root = json_object(), *arr = json_array();
		size_t ex = 0, ap = 0, rq = 0;
		char *text;

		for (size_t i = 0; i < nsum; i++) {
			json_array_append_new(arr, session_json(&sums[i]));
			ex += sums[i].exchanges;
			ap += sums[i].apdus;
			rq += sums[i].requests;
		}
		json_object_set_new(root, "ok", json_boolean(rc == PCARD_EXIT_OK));
		json_object_set_new(root, "exit", json_integer(rc));
		json_object_set_new(root, "relay", json_boolean(o.relay));
		json_object_set_new(root, "transport", json_string(o.tcp ? "tcp" : "pcsc"));
		json_object_set_new(root, "exchanges", json_integer((json_int_t)ex));
		json_object_set_new(root, "requests", json_integer((json_int_t)rq));
		json_object_set_new(root, "apdus", json_integer((json_int_t)ap));
		json_object_set_new(root, "wire_apdus", json_integer((json_int_t)T.wire));
		if (nsum > 0) {
			const pcard_agent_summary *l = &sums[nsum - 1];

			json_object_set_new(root, "jobs", json_pack("{s:I,s:I,s:I,s:I}", "done",
			    (json_int_t)l->done, "failed", (json_int_t)l->failed, "unknown",
			    (json_int_t)l->unknown, "not_done", (json_int_t)l->not_done));
		}
		json_object_set_new(root, "sessions", arr);
		json_object_set_new(root, "error", err == PCARD_OK ? json_null() :
		    json_pack("{s:s,s:s}", "code", pcard_errname(err), "message", msg));
		text = json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
		if (text != NULL)
			puts(text);
		free(text);
		json_decref(root);
	} else {
		for (size_t i = 0; i < nsum; i++)
			session_text(&sums[i], i + 1);
	}
	if (err != PCARD_OK)
		fprintf(stderr, "postcard-agent: %s\n", msg[0] ? msg : pcard_strerror(err));
	for (size_t i = 0; i < nsum; i++)
		pcard_agent_summary_clear(&sums[i]);
	pcard_transport_close(t);
	pcard_agent_http_free(H.h);
	return rc;
}
