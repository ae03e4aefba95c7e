/*
 * agent_run.c: one session of the agent protocol (docs/agent-protocol.md): hello, then each
 * bundle played and its responses returned, until the server answers a result or an error.
 *
 * Retries: an exchange that failed on the way (connection refused or reset, timeout, a 502,
 * 503 or 504, an error message with "retry": true) is sent again with the very same bytes.
 * The server answers step n only once and gives its stored answer to a repeat of step n-1,
 * so a resend never makes anything happen twice, and the card never sees an APDU again: the
 * responses in a resent message are the ones the card gave the first time.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#include <jansson.h>

#include "agent.h"

#define JOBS_CAP 256

pcard_err
pcard_agent_err_from_name(const char *name)
{
	for (int e = 0; e < PCARD_E__COUNT; e++)
		if (strcmp(pcard_errname((pcard_err)e), name) == 0)
			return (pcard_err)e;
	return PCARD_E_INTERNAL;
}

/* Parse a decimal number of up to 9 digits at *p, advancing it. */
static int
num(const char **p, unsigned long *v)
{
	char *end;

	if (**p < '0' || **p > '9')
		return -1;
	errno = 0;
	*v = strtoul(*p, &end, 10);
	if (errno != 0 || end - *p > 9)
		return -1;
	*p = end;
	return 0;
}

pcard_err
pcard_agent_kill_parse(const char *spec, pcard_agent_kill *k)
{
	static const struct {
		const char *pfx;
		int kind;
		int args;	/* numbers after the prefix */
	} forms[] = {
		{ "send:", PCARD_AGENT_KILL_SEND, 1 },
		{ "sent:", PCARD_AGENT_KILL_SENT, 1 },
		{ "recv:", PCARD_AGENT_KILL_RECV, 1 },
		{ "apdu:", PCARD_AGENT_KILL_APDU, 2 },
		{ "cardoff:", PCARD_AGENT_KILL_CARDOFF, 2 },
		{ "sleep-apdu:", PCARD_AGENT_KILL_SLEEP_APDU, 3 },
	};
	unsigned long v[3] = { 0, 0, 0 };
	int peer = 0;

	memset(k, 0, sizeof *k);
	if (spec == NULL || spec[0] == '\0')
		return PCARD_OK;
	if (strncmp(spec, "peer-", 5) == 0) {
		spec += 5;
		peer = 1;
	}
	for (size_t f = 0; f < sizeof forms / sizeof forms[0]; f++) {
		const char *p = spec;
		size_t l = strlen(forms[f].pfx);

		if (strncmp(p, forms[f].pfx, l) != 0)
			continue;
		p += l;
		for (int a = 0; a < forms[f].args; a++) {
			if (a > 0 && *p++ != ':')
				return PCARD_E_USAGE;
			if (num(&p, &v[a]) != 0)
				return PCARD_E_USAGE;
		}
		if (*p != '\0' || v[0] == 0 || (forms[f].args > 1 && v[1] == 0))
			return PCARD_E_USAGE;
		if (peer && (forms[f].kind == PCARD_AGENT_KILL_CARDOFF ||
		    forms[f].kind == PCARD_AGENT_KILL_SLEEP_APDU))
			return PCARD_E_USAGE;
		k->kind = forms[f].kind;
		k->peer = peer;
		k->n = (uint32_t)v[0];
		k->k = (size_t)v[1];
		k->ms = (unsigned)v[2];
		return PCARD_OK;
	}
	return PCARD_E_USAGE;
}

static void
die_now(void)
{
	raise(SIGKILL);
	abort();	/* not reached */
}

void
pcard_agent_kill_fire(const pcard_agent_kill *k, int peer_pid, int *fired)
{
	if (!k->peer)
		die_now();
	if (*fired)
		return;
	*fired = 1;
	if (peer_pid > 0)
		(void)kill((pid_t)peer_pid, SIGKILL);
}

static void
sleep_ms(unsigned ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

void
pcard_agent_summary_clear(pcard_agent_summary *s)
{
	if (s == NULL)
		return;
	free(s->jobs);
	memset(s, 0, sizeof *s);
}

/* Session state shared with the card hook. */
typedef struct run {
	const pcard_agent_cfg *cfg;
	pcard_transport *t;
	int card_off;		/* cardoff hook fired: the card is powered off */
	int fired;		/* a peer kill point fired */
} run;

static int
step_hook(void *ctx, uint32_t msg_step, size_t k)
{
	run *R = ctx;
	const pcard_agent_kill *kl = &R->cfg->kill;

	if (kl->n != msg_step || kl->k != k)
		return 0;
	switch (kl->kind) {
	case PCARD_AGENT_KILL_APDU:
		pcard_agent_kill_fire(kl, R->cfg->peer_pid, &R->fired);
		return 0;
	case PCARD_AGENT_KILL_SLEEP_APDU:
		sleep_ms(kl->ms);
		return 0;
	case PCARD_AGENT_KILL_CARDOFF:
		/* a power cut: the card loses its session; the bundle's next step is not sent */
		(void)pcard_transport_reset(R->t, 1);
		R->card_off = 1;
		return 1;
	default:
		return 0;
	}
}

static pcard_err
fail(pcard_agent_summary *sum, pcard_err err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static pcard_err
fail(pcard_agent_summary *sum, pcard_err err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sum->msg, sizeof sum->msg, fmt, ap);
	va_end(ap);
	sum->err = err;
	return err;
}

/* The error a non-protocol HTTP answer stands for (srv_json.c's {"error": {...}} bodies). */
static pcard_err
err_of_status(long st)
{
	switch (st) {
	case 400:
	case 413:
	case 415:
		return PCARD_E_BAD_ENCODING;
	case 401:
	case 403:
		return PCARD_E_AUTH;
	case 404:
		return PCARD_E_NOT_FOUND;
	case 409:
		return PCARD_E_CONFLICT;
	case 422:
		return PCARD_E_MAC;
	default:
		return PCARD_E_TRANSPORT;
	}
}

static int
status_retryable(long st)
{
	return st == 502 || st == 503 || st == 504;
}

/* "code: message" of a plain {"error": {"code", "message"}} body, best effort. */
static void
plain_error(const char *body, size_t n, char *out, size_t cap)
{
	json_t *root, *e, *c, *m;

	out[0] = '\0';
	root = json_loadb(body, n, 0, NULL);
	if (root == NULL)
		return;
	e = json_object_get(root, "error");
	c = json_object_get(e, "code");
	m = json_object_get(e, "message");
	if (json_is_string(c) && json_is_string(m))
		snprintf(out, cap, "%.40s: %.180s", json_string_value(c), json_string_value(m));
	json_decref(root);
}

pcard_err
pcard_agent_session(const pcard_agent_cfg *cfg, pcard_transport *t, pcard_agent_summary *sum)
{
	const char *path = cfg->relay ? "/agent/v1/relay" : "/agent/v1/session";
	pcard_bmsg_step *steps = NULL;
	pcard_bmsg_rsp *rsps = NULL;
	pcard_bmsg_job *jobs = NULL;
	pcard_bmsg *in = NULL, *out = NULL;
	char *body = NULL, *reply = NULL;
	char why[PCARD_AGENT_MSG_MAX];
	size_t body_len = 0;
	uint32_t xno = 0;
	run R;
	pcard_err err = PCARD_E_INTERNAL;

	memset(sum, 0, sizeof *sum);
	memset(&R, 0, sizeof R);
	R.cfg = cfg;
	R.t = t;
	steps = calloc(PCARD_BMSG_MAX_STEPS, sizeof *steps);
	rsps = calloc(PCARD_BMSG_MAX_STEPS, sizeof *rsps);
	jobs = calloc(JOBS_CAP, sizeof *jobs);
	in = calloc(1, sizeof *in);
	out = calloc(1, sizeof *out);
	body = malloc(PCARD_BMSG_MAX_BYTES + 1);
	reply = malloc(PCARD_AGENT_RESP_MAX);
	if (steps == NULL || rsps == NULL || jobs == NULL || in == NULL || out == NULL ||
	    body == NULL || reply == NULL) {
		err = fail(sum, PCARD_E_NOMEM, "out of memory");
		goto out;
	}
	pcard_bmsg_init(in, steps, PCARD_BMSG_MAX_STEPS, NULL, 0, jobs, JOBS_CAP);
	pcard_bmsg_init(out, NULL, 0, rsps, PCARD_BMSG_MAX_STEPS, NULL, 0);

	/* the hello: the card's identity, read without authentication */
	out->type = PCARD_BMSG_HELLO;
	out->relay = cfg->relay != 0;
	if (cfg->agent_id != NULL)
		snprintf(out->agent, sizeof out->agent, "%s", cfg->agent_id);
	if ((err = pcard_agent_identity(t, out, &sum->id_apdus)) != PCARD_OK) {
		fail(sum, err, "reading the card's identity: %s", pcard_strerror(err));
		goto out;
	}

	for (;;) {
		pcard_agent_xchg *x = NULL, xdummy;
		unsigned delay = cfg->retry_delay_ms ? cfg->retry_delay_ms : 100;
		double t0;
		long st = 0;
		size_t rn = 0;
		int sent_type = out->type;

		if (++xno > PCARD_AGENT_MAX_EXCHANGES) {
			err = fail(sum, PCARD_E_STATE, "more than %d exchanges in one session",
			    PCARD_AGENT_MAX_EXCHANGES);
			goto out;
		}
		if (cfg->exchange_now != NULL)
			*cfg->exchange_now = xno;	/* for the "sent:N" hook inside the post */
		if ((err = pcard_bmsg_encode(out, body, PCARD_BMSG_MAX_BYTES + 1, &body_len)) !=
		    PCARD_OK) {
			fail(sum, err, "encoding the %s message: %s",
			    sent_type == PCARD_BMSG_HELLO ? "hello" : "responses", pcard_strerror(err));
			goto out;
		}
		x = sum->nx < PCARD_AGENT_XLOG_MAX ? &sum->x[sum->nx++] : &xdummy;
		memset(x, 0, sizeof *x);
		x->step = out->step;
		x->sent = sent_type;
		x->rsps = sent_type == PCARD_BMSG_RESPONSES ? out->nrsps : 0;
		if (cfg->kill.kind == PCARD_AGENT_KILL_SEND && cfg->kill.n == xno)
			pcard_agent_kill_fire(&cfg->kill, cfg->peer_pid, &R.fired);
		t0 = now_ms();
		for (;;) {
			char cerr[PCARD_AGENT_MSG_MAX] = "";
			int again = 0;

			x->tries++;
			sum->requests++;
			x->up = body_len;
			err = cfg->post(cfg->post_ctx, path, body, body_len, reply,
			    PCARD_AGENT_RESP_MAX, &rn, &st, cerr, sizeof cerr);
			x->http = st;
			x->down = rn;
			x->ms = now_ms() - t0;
			if (err == PCARD_E_TRANSPORT)
				again = 1;
			else if (err != PCARD_OK) {
				fail(sum, err, "exchange %u with the server: %s", (unsigned)xno,
				    cerr[0] ? cerr : pcard_strerror(err));
				goto out;
			} else if (status_retryable(st)) {
				again = 1;
				snprintf(cerr, sizeof cerr, "HTTP %ld", st);
				/* an error message saying not to retry wins */
				if (pcard_bmsg_parse(reply, rn, in, NULL, 0) == PCARD_OK &&
				    in->type == PCARD_BMSG_ERROR && !in->retry)
					again = 0;
			} else if (pcard_bmsg_parse(reply, rn, in, NULL, 0) == PCARD_OK &&
			    in->type == PCARD_BMSG_ERROR && in->retry) {
				again = 1;
				snprintf(cerr, sizeof cerr, "%s: %s", in->code, in->message);
			}
			if (!again)
				break;
			if (x->tries > cfg->retries) {
				err = fail(sum, PCARD_E_TRANSPORT, "exchange %u with the server failed "
				    "%u times, last: %s", (unsigned)xno, x->tries, cerr);
				sum->http_status = st;
				goto out;
			}
			sum->retries++;
			sleep_ms(delay);
			delay = delay * 2 > 2000 ? 2000 : delay * 2;
		}
		if (cfg->kill.kind == PCARD_AGENT_KILL_RECV && cfg->kill.n == xno)
			pcard_agent_kill_fire(&cfg->kill, cfg->peer_pid, &R.fired);

		/* the answer */
		why[0] = '\0';
		if ((err = pcard_bmsg_parse(reply, rn, in, why, sizeof why)) != PCARD_OK) {
			char pe[PCARD_AGENT_MSG_MAX];

			sum->http_status = st;
			plain_error(reply, rn, pe, sizeof pe);
			if (st >= 400 && pe[0] != '\0') {
				err = fail(sum, err_of_status(st), "server refused exchange %u: HTTP "
				    "%ld %s", (unsigned)xno, st, pe);
			} else {
				err = fail(sum, PCARD_E_BAD_ENCODING, "server's answer to exchange %u "
				    "(HTTP %ld) is not a protocol message: %s", (unsigned)xno, st, why);
			}
			goto out;
		}
		x->got = in->type;
		if (in->type == PCARD_BMSG_ERROR) {
			pcard_err e = pcard_agent_err_from_name(in->code);

			sum->http_status = st;
			if (e == PCARD_OK || e == PCARD_E_INTERNAL)
				e = st >= 400 ? err_of_status(st) : PCARD_E_INTERNAL;
			err = fail(sum, e, "server refused exchange %u (HTTP %ld): %s: %s",
			    (unsigned)xno, st, in->code, in->message);
			goto out;
		}
		if (st != 200) {
			err = fail(sum, PCARD_E_BAD_ENCODING, "server answered HTTP %ld with a %s "
			    "message", st, in->type == PCARD_BMSG_BUNDLE ? "bundle" : "result");
			goto out;
		}
		if (sent_type == PCARD_BMSG_HELLO)
			memcpy(sum->session, in->session, sizeof sum->session);
		if (in->session[0] == '\0' || strcmp(in->session, sum->session) != 0 ||
		    in->step != out->step + 1) {
			err = fail(sum, PCARD_E_BAD_ENCODING, "server's answer to exchange %u names "
			    "session '%s' step %u, expected '%s' step %u", (unsigned)xno,
			    in->session, (unsigned)in->step, sum->session, (unsigned)out->step + 1);
			goto out;
		}
		sum->exchanges++;
		if (in->type == PCARD_BMSG_RESULT) {
			sum->jobs = jobs;
			jobs = NULL;
			sum->njobs = in->njobs;
			for (size_t j = 0; j < in->njobs; j++) {
				switch (sum->jobs[j].state) {
				case PCARD_BJOB_DONE:
					sum->done++;
					break;
				case PCARD_BJOB_FAILED:
					sum->failed++;
					break;
				case PCARD_BJOB_NOT_DONE:
					sum->not_done++;
					break;
				default:
					sum->unknown++;
					break;
				}
			}
			err = PCARD_OK;
			goto out;
		}
		if (in->type != PCARD_BMSG_BUNDLE) {
			err = fail(sum, PCARD_E_BAD_ENCODING, "server answered exchange %u with a "
			    "message of type %d", (unsigned)xno, in->type);
			goto out;
		}
		/* play it: after a power cut every later bundle fails at once */
		{
			pcard_agent_play_stats ps;

			x->steps = in->nsteps;
			sum->bundles++;
			if (R.card_off) {
				pcard_bmsg_init(out, NULL, 0, rsps, PCARD_BMSG_MAX_STEPS, NULL, 0);
				out->type = PCARD_BMSG_RESPONSES;
				memcpy(out->session, in->session, sizeof out->session);
				out->step = in->step;
				out->stop = PCARD_BMSG_STOP_CARD_ERROR;
				sum->last_stop = out->stop;
				continue;
			}
			if ((err = pcard_agent_play(t, in, out, step_hook, &R, &ps)) != PCARD_OK) {
				fail(sum, err, "playing bundle step %u: %s", (unsigned)in->step,
				    pcard_strerror(err));
				goto out;
			}
			sum->apdus += ps.played;
			sum->last_stop = ps.stop;
			if (ps.stop == PCARD_BMSG_STOP_CARD_ERROR)
				R.card_off = 1;	/* the card is gone for this session */
		}
	}
out:
	if (err != PCARD_OK && sum->err == PCARD_OK)
		sum->err = err;
	free(steps);
	free(rsps);
	free(jobs);
	free(in);
	free(out);
	free(body);
	free(reply);
	return err;
}
