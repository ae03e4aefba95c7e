/*
 * test_agent.c: postcard-agent's core (src/agent) against a scripted server and the
 * simulated card in process: the identity of the hello, bundles played with the stop rule,
 * responses returned in order, resends of a failed exchange with the same bytes and no APDU
 * sent again, refusals mapped to errors, replies naming the wrong session or step, the
 * power-cut hook, the kill-point parser and the HTTP client's refusals.
 * The end-to-end runs with postcardd are tests/cli_agent*.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"
#include "postcard/bytes.h"
#include "simcard.h"

#define MAX_X 16

/* A scripted server: reply[i] answers exchange i (built by the test from what came in). */
typedef struct fake {
	char *got[MAX_X];		/* bodies received, one per request */
	size_t got_len[MAX_X];
	char got_path[64];
	size_t nreq;
	size_t nx;			/* distinct exchanges answered */
	/* behaviour */
	int fail_first_try;		/* each exchange: first request "lost" (TRANSPORT) */
	int status_first_try;		/* each exchange: first request answered with this */
	int always_fail;
	const char *fixed_reply;	/* answer every request with this body... */
	long fixed_status;		/* ...and this status */
	int wrong_session, wrong_step;
	int with_bad_step;		/* bundle 2 holds a step whose SW the card will not give */
	int last_was_retry;
	pcard_bmsg last_in;		/* last message parsed */
	pcard_bmsg_rsp rsps[64];
	size_t card_apdus_at[MAX_X];	/* APDUs the card saw when request i arrived */
	size_t *card_apdus;
} fake;

static void
hex_apdu(pcard_bmsg_step *s, const char *hex, uint16_t sw1, uint16_t sw2)
{
	assert_int_equal(pcard_hex_decode(hex, s->apdu, sizeof s->apdu,
	    &s->apdu_len), PCARD_OK);
	s->expect[0] = sw1;
	s->n_expect = 1;
	if (sw2) {
		s->expect[1] = sw2;
		s->n_expect = 2;
	}
}

static size_t
encode(const pcard_bmsg *m, char *out, size_t cap)
{
	size_t n = 0;

	assert_int_equal(pcard_bmsg_encode(m, out, cap, &n), PCARD_OK);
	return n;
}

static pcard_err
fake_post(void *ctx, const char *path, const char *body, size_t n, char *resp, size_t cap,
    size_t *rlen, long *status, char *err, size_t err_cap)
{
	fake *F = ctx;
	pcard_bmsg_step steps[4];
	pcard_bmsg_job jobs[2];
	pcard_bmsg m;
	size_t r = F->nreq++;

	assert_true(r < MAX_X);
	F->got[r] = malloc(n + 1);
	assert_non_null(F->got[r]);
	memcpy(F->got[r], body, n);
	F->got[r][n] = '\0';
	F->got_len[r] = n;
	F->card_apdus_at[r] = F->card_apdus ? *F->card_apdus : 0;
	snprintf(F->got_path, sizeof F->got_path, "%s", path);
	pcard_bmsg_init(&F->last_in, NULL, 0, F->rsps, 64, NULL, 0);
	assert_int_equal(pcard_bmsg_parse(body, n, &F->last_in, NULL, 0), PCARD_OK);
	F->last_was_retry = r > 0 && F->got_len[r - 1] == n && memcmp(F->got[r - 1], body, n) == 0;
	if (F->always_fail) {
		snprintf(err, err_cap, "connection refused");
		return PCARD_E_TRANSPORT;
	}
	if (F->fixed_reply != NULL) {
		snprintf(resp, cap, "%s", F->fixed_reply);
		*rlen = strlen(resp);
		*status = F->fixed_status;
		return PCARD_OK;
	}
	if (!F->last_was_retry && F->fail_first_try) {
		snprintf(err, err_cap, "Recv failure: Connection reset by peer");
		return PCARD_E_TRANSPORT;	/* the server "processed" it, the answer is lost */
	}
	if (!F->last_was_retry && F->status_first_try) {
		snprintf(resp, cap, "{\"error\":{\"status\":%d,\"code\":\"busy\",\"message\":\"x\"}}",
		    F->status_first_try);
		*rlen = strlen(resp);
		*status = F->status_first_try;
		return PCARD_OK;
	}
	pcard_bmsg_init(&m, steps, 4, NULL, 0, jobs, 2);
	snprintf(m.session, sizeof m.session, "%s",
	    F->wrong_session && F->last_in.type != PCARD_BMSG_HELLO ? "other-1" : "sess-1");
	m.step = F->last_in.step + 1 + (F->wrong_step ? 1 : 0);
	if (F->last_in.type == PCARD_BMSG_HELLO) {
		m.type = PCARD_BMSG_BUNDLE;
		hex_apdu(&steps[0], "00A4040008A000000151000000", 0x9000, 0);
		hex_apdu(&steps[1], "80CA006600", 0x9000, 0x6A88);
		m.nsteps = 2;
	} else if (F->last_in.step == 1) {
		m.type = PCARD_BMSG_BUNDLE;
		hex_apdu(&steps[0], "80CA00CF00", 0x9000, 0);
		/* GET DATA of an object the card does not have: 6A88 unless the step lists it */
		hex_apdu(&steps[1], "80CA00FE00", F->with_bad_step ? 0x9000 : 0x6A88,
		    F->with_bad_step ? 0 : 0x9000);
		hex_apdu(&steps[2], "80CA00C100", 0x9000, 0);
		m.nsteps = 3;
	} else {
		m.type = PCARD_BMSG_RESULT;
		jobs[0].id = 100;
		jobs[0].state = PCARD_BJOB_DONE;
		jobs[0].sw = 0x9000;
		snprintf(jobs[0].why, sizeof jobs[0].why, "done: the card's R-MACed answer says so");
		jobs[1].id = 101;
		jobs[1].state = F->with_bad_step ? PCARD_BJOB_UNKNOWN : PCARD_BJOB_DONE;
		snprintf(jobs[1].why, sizeof jobs[1].why, "x");
		m.njobs = 2;
	}
	*rlen = encode(&m, resp, cap);
	*status = 200;
	F->nx++;
	return PCARD_OK;
}

static void
fake_free(fake *F)
{
	for (size_t i = 0; i < F->nreq; i++)
		free(F->got[i]);
}

typedef struct tcount {
	size_t cmds;
} tcount;

static void
count_trace(void *ctx, int dir, const uint8_t *p, size_t n)
{
	(void)p;
	(void)n;
	if (dir == PCARD_TRACE_CMD)
		((tcount *)ctx)->cmds++;
}

/* The simulated card behind a transport that also answers the ATR (the in-process one
 * does not): commands and resets go to the simulator's transport. */
typedef struct atr_tp {
	pcard_transport base;
	pcard_transport *inner;
} atr_tp;

static const uint8_t ATR[] = { 0x3B, 0x8F, 0x80, 0x01, 0x80, 0x4F, 0x0C, 0xA0, 0x00, 0x00,
	0x03, 0x06, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x6A };

static pcard_err
atr_tp_transmit(pcard_transport *t, const uint8_t *cmd, size_t n, uint8_t *resp, size_t cap,
    size_t *rlen)
{
	return ((atr_tp *)t)->inner->ops->transmit(((atr_tp *)t)->inner, cmd, n, resp, cap, rlen);
}

static pcard_err
atr_tp_reset(pcard_transport *t, int cold)
{
	return pcard_transport_reset(((atr_tp *)t)->inner, cold);
}

static pcard_err
atr_tp_atr(pcard_transport *t, uint8_t *out, size_t cap, size_t *n)
{
	(void)t;
	if (cap < sizeof ATR)
		return PCARD_E_NOSPACE;
	memcpy(out, ATR, sizeof ATR);
	*n = sizeof ATR;
	return PCARD_OK;
}

static void
atr_tp_close(pcard_transport *t)
{
	(void)t;
}

static const pcard_transport_ops atr_tp_ops = {
	.name = "test",
	.transmit = atr_tp_transmit,
	.reset = atr_tp_reset,
	.atr = atr_tp_atr,
	.close = atr_tp_close,
};

typedef struct env {
	atr_tp tp;
	simcard *sc;
	pcard_transport *t;
	tcount tc;
	fake F;
	pcard_agent_cfg cfg;
	pcard_agent_summary sum;
} env;

static void
env_init(env *E)
{
	memset(E, 0, sizeof *E);
	assert_int_equal(simcard_new(NULL, &E->sc), PCARD_OK);
	E->tp.base.ops = &atr_tp_ops;
	E->tp.inner = simcard_transport(E->sc);
	E->t = &E->tp.base;
	pcard_transport_set_trace(E->t, count_trace, &E->tc);
	E->F.card_apdus = &E->tc.cmds;
	E->cfg.post = fake_post;
	E->cfg.post_ctx = &E->F;
	E->cfg.retries = 3;
	E->cfg.retry_delay_ms = 1;
}

static void
env_free(env *E)
{
	fake_free(&E->F);
	pcard_agent_summary_clear(&E->sum);
	simcard_free(E->sc);
}

/* A clean session: hello with the identity, two bundles, a result. */
static void
test_session_clean(void **state)
{
	env E;
	pcard_bmsg_rsp rs[8];
	pcard_bmsg hello;

	(void)state;
	env_init(&E);
	E.cfg.agent_id = "agent-7";
	assert_int_equal(pcard_agent_session(&E.cfg, E.t, &E.sum), PCARD_OK);
	assert_string_equal(E.sum.session, "sess-1");
	assert_int_equal(E.sum.exchanges, 3);
	assert_int_equal(E.sum.requests, 3);
	assert_int_equal(E.sum.retries, 0);
	assert_int_equal(E.sum.apdus, 5);
	assert_int_equal(E.sum.bundles, 2);
	assert_int_equal(E.sum.done, 2);
	assert_int_equal(E.sum.njobs, 2);
	assert_int_equal(E.sum.jobs[0].id, 100);
	assert_int_equal(E.sum.last_stop, PCARD_BMSG_STOP_COMPLETE);
	assert_string_equal(E.F.got_path, "/agent/v1/session");
	assert_int_equal(E.sum.nx, 3);
	assert_int_equal(E.sum.x[0].sent, PCARD_BMSG_HELLO);
	assert_int_equal(E.sum.x[0].got, PCARD_BMSG_BUNDLE);
	assert_int_equal(E.sum.x[1].rsps, 2);
	assert_int_equal(E.sum.x[2].rsps, 3);
	assert_int_equal(E.sum.x[2].got, PCARD_BMSG_RESULT);

	/* the hello: step 0, no session, the identity read without authentication */
	pcard_bmsg_init(&hello, NULL, 0, rs, 8, NULL, 0);
	assert_int_equal(pcard_bmsg_parse(E.F.got[0], E.F.got_len[0], &hello, NULL, 0), PCARD_OK);
	assert_int_equal(hello.type, PCARD_BMSG_HELLO);
	assert_string_equal(hello.agent, "agent-7");
	assert_int_equal(hello.relay, 0);
	assert_true(hello.atr.present && hello.atr.len >= 2);
	assert_true(hello.fci.present && hello.fci.b[0] == 0x6F);
	assert_true(hello.kdd.present);
	assert_true(hello.seq.present);
	assert_true(hello.cplc.present);
	assert_int_equal(E.sum.id_apdus, E.F.card_apdus_at[0]);

	/* the responses of step 2: three, the last GET DATA C1 */
	assert_int_equal(E.F.last_in.type, PCARD_BMSG_RESPONSES);
	assert_int_equal(E.F.last_in.step, 2);
	assert_string_equal(E.F.last_in.session, "sess-1");
	assert_int_equal(E.F.last_in.nrsps, 3);
	assert_int_equal(E.F.last_in.stop, PCARD_BMSG_STOP_COMPLETE);
	{
		const pcard_bmsg_rsp *r = &E.F.last_in.rsps[1];

		assert_int_equal(r->len, 2);	/* 6A88: the step listed it, play went on */
		assert_int_equal(r->b[0], 0x6A);
		assert_int_equal(r->b[1], 0x88);
	}
	env_free(&E);
}

/* A step whose SW is not listed stops the bundle: later steps are not played. */
static void
test_session_stop(void **state)
{
	env E;

	(void)state;
	env_init(&E);
	E.F.with_bad_step = 1;
	assert_int_equal(pcard_agent_session(&E.cfg, E.t, &E.sum), PCARD_OK);
	assert_int_equal(E.F.last_in.nrsps, 2);
	assert_int_equal(E.F.last_in.stop, PCARD_BMSG_STOP_UNEXPECTED_SW);
	assert_int_equal(E.sum.apdus, 4);
	assert_int_equal(E.sum.last_stop, PCARD_BMSG_STOP_UNEXPECTED_SW);
	assert_int_equal(E.sum.unknown, 1);
	assert_int_equal(E.sum.done, 1);
	env_free(&E);
}

/* Lost answers: every exchange is resent with the same bytes; the card sees nothing again. */
static void
test_session_retry_same_bytes(void **state)
{
	env E;
	size_t apdus_clean;

	(void)state;
	env_init(&E);
	assert_int_equal(pcard_agent_session(&E.cfg, E.t, &E.sum), PCARD_OK);
	apdus_clean = E.tc.cmds;
	env_free(&E);

	env_init(&E);
	E.F.fail_first_try = 1;
	assert_int_equal(pcard_agent_session(&E.cfg, E.t, &E.sum), PCARD_OK);
	assert_int_equal(E.F.nreq, 6);
	assert_int_equal(E.sum.requests, 6);
	assert_int_equal(E.sum.retries, 3);
	assert_int_equal(E.sum.exchanges, 3);
	for (size_t i = 0; i < 6; i += 2) {
		assert_int_equal(E.F.got_len[i], E.F.got_len[i + 1]);
		assert_memory_equal(E.F.got[i], E.F.got[i + 1], E.F.got_len[i]);
		/* no APDU between a request and its resend */
		assert_int_equal(E.F.card_apdus_at[i], E.F.card_apdus_at[i + 1]);
	}
	assert_int_equal(E.tc.cmds, apdus_clean);
	assert_int_equal(E.sum.x[1].tries, 2);
	env_free(&E);

	/* 503 then the answer */
	env_init(&E);
	E.F.status_first_try = 503;
	assert_int_equal(pcard_agent_session(&E.cfg, E.t, &E.sum), PCARD_OK);
	assert_int_equal(E.sum.retries, 3);
	assert_int_equal(E.tc.cmds, apdus_clean);
	env_free(&E);

	/* a 500 is not retried */
	env_init(&E);
	E.F.status_first_try = 500;
	assert_int_equal(pcard_agent_session(&E.cfg, E.t, &E.sum), PCARD_E_TRANSPORT);
	assert_int_equal(E.sum.requests, 1);
	assert_non_null(strstr(E.sum.msg, "HTTP 500"));
	env_free(&E);
}

static void
test_session_retries_exhausted(void **state)
{
	env E;

	(void)state;
	env_init(&E);
	E.F.always_fail = 1;
	E.cfg.retries = 2;
	assert_int_equal(pcard_agent_session(&E.cfg, E.t, &E.sum), PCARD_E_TRANSPORT);
	assert_int_equal(E.F.nreq, 3);
	assert_int_equal(E.sum.exchanges, 0);
	assert_non_null(strstr(E.sum.msg, "failed 3 times"));
	assert_non_null(strstr(E.sum.msg, "connection refused"));
	assert_int_equal(E.sum.err, PCARD_E_TRANSPORT);
	env_free(&E);
}

static void
test_session_refusals(void **state)
{
	static const struct {
		const char *body;
		long status;
		pcard_err want;
		const char *msg;
		size_t reqs;
	} cases[] = {
		{ "{\"v\":1,\"type\":\"error\",\"session\":\"s-1\",\"step\":1,\"error\":{\"code\":"
		  "\"PCARD_E_CONFLICT\",\"message\":\"a session is live for this card\","
		  "\"retry\":false}}", 409, PCARD_E_CONFLICT, "a session is live", 1 },
		{ "{\"v\":1,\"type\":\"error\",\"session\":\"s-1\",\"step\":1,\"error\":{\"code\":"
		  "\"PCARD_E_AUTH\",\"message\":\"card cryptogram wrong\",\"retry\":false}}", 403,
		  PCARD_E_AUTH, "card cryptogram wrong", 1 },
		/* retry: true is resent, up to the limit */
		{ "{\"v\":1,\"type\":\"error\",\"session\":\"s-1\",\"step\":1,\"error\":{\"code\":"
		  "\"PCARD_E_BUSY\",\"message\":\"store busy\",\"retry\":true}}", 409,
		  PCARD_E_TRANSPORT, "store busy", 4 },
		/* 503 with retry false: not resent */
		{ "{\"v\":1,\"type\":\"error\",\"session\":\"s-1\",\"step\":1,\"error\":{\"code\":"
		  "\"PCARD_E_STATE\",\"message\":\"draining\",\"retry\":false}}", 503,
		  PCARD_E_STATE, "draining", 1 },
		{ "{\"error\":{\"status\":403,\"code\":\"unknown_agent\",\"message\":\"certificate "
		  "not registered\"}}", 403, PCARD_E_AUTH, "unknown_agent: certificate", 1 },
		{ "{\"error\":{\"status\":400,\"code\":\"bad_json\",\"message\":\"x\"}}", 400,
		  PCARD_E_BAD_ENCODING, "HTTP 400 bad_json", 1 },
		{ "<html>oops</html>", 200, PCARD_E_BAD_ENCODING, "not a protocol message", 1 },
		{ "{\"v\":2,\"type\":\"result\",\"session\":\"s\",\"step\":1,\"jobs\":[]}", 200,
		  PCARD_E_BAD_ENCODING, "version", 1 },
		/* a result with a non-200 status */
		{ "{\"v\":1,\"type\":\"result\",\"session\":\"s\",\"step\":1,\"jobs\":[]}", 202,
		  PCARD_E_BAD_ENCODING, "HTTP 202", 1 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		env E;

		env_init(&E);
		E.F.fixed_reply = cases[i].body;
		E.F.fixed_status = cases[i].status;
		assert_int_equal(pcard_agent_session(&E.cfg, E.t, &E.sum), cases[i].want);
		if (strstr(E.sum.msg, cases[i].msg) == NULL)
			fail_msg("case %zu: '%s' lacks '%s'", i, E.sum.msg, cases[i].msg);
		assert_int_equal(E.F.nreq, cases[i].reqs);
		assert_int_equal(E.sum.exchanges, 0);
		env_free(&E);
	}
}

/* An answer naming another session or skipping a step is refused before anything is played. */
static void
test_session_wrong_ids(void **state)
{
	env E;
	size_t before;

	(void)state;
	env_init(&E);
	E.F.wrong_step = 1;
	assert_int_equal(pcard_agent_session(&E.cfg, E.t, &E.sum), PCARD_E_BAD_ENCODING);
	assert_non_null(strstr(E.sum.msg, "step 2, expected 'sess-1' step 1"));
	env_free(&E);

	env_init(&E);
	E.F.wrong_session = 1;
	/* the hello's answer sets the session; the next answer must keep it */
	assert_int_equal(pcard_agent_session(&E.cfg, E.t, &E.sum), PCARD_E_BAD_ENCODING);
	assert_non_null(strstr(E.sum.msg, "names session 'other-1' step 2, expected 'sess-1'"));
	assert_int_equal(E.sum.apdus, 2);
	env_free(&E);

	env_init(&E);
	before = E.tc.cmds;
	E.cfg.retries = 0;
	E.F.fixed_reply = "{\"v\":1,\"type\":\"bundle\",\"session\":\"\",\"step\":1,\"steps\":[]}";
	E.F.fixed_status = 200;
	assert_int_equal(pcard_agent_session(&E.cfg, E.t, &E.sum), PCARD_E_BAD_ENCODING);
	assert_int_equal(E.sum.apdus, 0);
	assert_true(E.tc.cmds - before == E.sum.id_apdus);
	env_free(&E);
}

/* The power-cut hook: after APDU k of bundle 2 the card is reset; the rest is not sent. */
static void
test_session_cardoff(void **state)
{
	for (size_t k = 1; k <= 3; k++) {
		env E;

		(void)state;
		env_init(&E);
		E.cfg.kill.kind = PCARD_AGENT_KILL_CARDOFF;
		E.cfg.kill.n = 2;
		E.cfg.kill.k = k;
		assert_int_equal(pcard_agent_session(&E.cfg, E.t, &E.sum), PCARD_OK);
		assert_int_equal(E.F.last_in.nrsps, k);
		assert_int_equal(E.F.last_in.stop, k < 3 ? PCARD_BMSG_STOP_CARD_ERROR :
		    PCARD_BMSG_STOP_COMPLETE);
		assert_int_equal(E.sum.apdus, 2 + k);
		env_free(&E);
	}
}

/* peer- kill points kill another process once, and the session goes on. */
static void
test_session_peer_kill(void **state)
{
	env E;
	pid_t child;
	int wst = 0;

	(void)state;
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		pause();
		_exit(0);
	}
	env_init(&E);
	E.F.fail_first_try = 1;		/* the resend must not kill again */
	assert_int_equal(pcard_agent_kill_parse("peer-send:2", &E.cfg.kill), PCARD_OK);
	E.cfg.peer_pid = (int)child;
	assert_int_equal(pcard_agent_session(&E.cfg, E.t, &E.sum), PCARD_OK);
	assert_int_equal(E.sum.exchanges, 3);
	assert_int_equal(waitpid(child, &wst, 0), child);
	assert_true(WIFSIGNALED(wst) && WTERMSIG(wst) == SIGKILL);
	env_free(&E);
}

static void
test_relay_path(void **state)
{
	env E;
	pcard_bmsg_rsp rs[4];
	pcard_bmsg hello;

	(void)state;
	env_init(&E);
	E.cfg.relay = 1;
	assert_int_equal(pcard_agent_session(&E.cfg, E.t, &E.sum), PCARD_OK);
	assert_string_equal(E.F.got_path, "/agent/v1/relay");
	pcard_bmsg_init(&hello, NULL, 0, rs, 4, NULL, 0);
	assert_int_equal(pcard_bmsg_parse(E.F.got[0], E.F.got_len[0], &hello, NULL, 0), PCARD_OK);
	assert_int_equal(hello.relay, 1);
	env_free(&E);
}

static void
test_play_nospace(void **state)
{
	simcard *sc;
	pcard_bmsg_step steps[2];
	pcard_bmsg_rsp rs[1];
	pcard_bmsg b, r;
	pcard_agent_play_stats st;

	(void)state;
	assert_int_equal(simcard_new(NULL, &sc), PCARD_OK);
	pcard_bmsg_init(&b, steps, 2, NULL, 0, NULL, 0);
	pcard_bmsg_init(&r, NULL, 0, rs, 1, NULL, 0);
	hex_apdu(&steps[0], "80CA00CF00", 0x9000, 0);
	hex_apdu(&steps[1], "80CA00CF00", 0x9000, 0);
	b.nsteps = 2;
	assert_int_equal(pcard_agent_play(simcard_transport(sc), &b, &r, NULL, NULL, &st),
	    PCARD_E_NOSPACE);
	b.nsteps = 1;
	assert_int_equal(pcard_agent_play(simcard_transport(sc), &b, &r, NULL, NULL, &st),
	    PCARD_OK);
	assert_int_equal(st.played, 1);
	assert_int_equal(st.last_sw, 0x9000);
	simcard_free(sc);
}

static void
test_kill_parse(void **state)
{
	static const struct {
		const char *s;
		int kind;
		uint32_t n;
		size_t k;
		unsigned ms;
	} ok[] = {
		{ "", PCARD_AGENT_KILL_NONE, 0, 0, 0 },
		{ "send:1", PCARD_AGENT_KILL_SEND, 1, 0, 0 },
		{ "sent:3", PCARD_AGENT_KILL_SENT, 3, 0, 0 },
		{ "recv:2", PCARD_AGENT_KILL_RECV, 2, 0, 0 },
		{ "apdu:2:137", PCARD_AGENT_KILL_APDU, 2, 137, 0 },
		{ "cardoff:2:1", PCARD_AGENT_KILL_CARDOFF, 2, 1, 0 },
		{ "sleep-apdu:2:5:300", PCARD_AGENT_KILL_SLEEP_APDU, 2, 5, 300 },
		{ "peer-sent:2", PCARD_AGENT_KILL_SENT, 2, 0, 0 },
		{ "peer-apdu:2:4", PCARD_AGENT_KILL_APDU, 2, 4, 0 },
	};
	static const char *const bad[] = { "send", "send:", "send:0", "send:1x", "apdu:2",
		"apdu:2:0", "apdu:0:1", "kill:1", "sent:1:2", "recv:-1", "apdu:2:3:", "send:9999999999",
		"peer-cardoff:2:1", "peer-sleep-apdu:2:1:5", "peer-", "peer-peer-send:1" };
	pcard_agent_kill k;

	(void)state;
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		assert_int_equal(pcard_agent_kill_parse(ok[i].s, &k), PCARD_OK);
		assert_int_equal(k.kind, ok[i].kind);
		assert_int_equal(k.n, ok[i].n);
		assert_int_equal(k.k, ok[i].k);
		assert_int_equal(k.ms, ok[i].ms);
		assert_int_equal(k.peer, strncmp(ok[i].s, "peer-", 5) == 0);
	}
	assert_int_equal(pcard_agent_kill_parse(NULL, &k), PCARD_OK);
	assert_int_equal(k.kind, PCARD_AGENT_KILL_NONE);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (pcard_agent_kill_parse(bad[i], &k) != PCARD_E_USAGE)
			fail_msg("'%s' accepted", bad[i]);
}

static void
test_err_from_name(void **state)
{
	(void)state;
	assert_int_equal(pcard_agent_err_from_name("PCARD_E_MAC"), PCARD_E_MAC);
	assert_int_equal(pcard_agent_err_from_name("PCARD_E_BUSY"), PCARD_E_BUSY);
	assert_int_equal(pcard_agent_err_from_name("nonsense"), PCARD_E_INTERNAL);
}

static void
test_http_client(void **state)
{
	pcard_agent_http_opts o;
	pcard_agent_http *h = NULL;
	char resp[64], err[256];
	size_t rn;
	long st;

	(void)state;
	memset(&o, 0, sizeof o);
	o.base_url = "http://127.0.0.1:1";
	o.cert = "c.pem";
	o.key = "k.pem";
	o.cacert = "ca.pem";
	assert_int_equal(pcard_agent_http_new(&o, &h), PCARD_E_USAGE);	/* not https */
	assert_null(h);
	o.base_url = "https://127.0.0.1:1";
	o.cacert = NULL;
	assert_int_equal(pcard_agent_http_new(&o, &h), PCARD_E_USAGE);	/* no CA */
	o.base_url = NULL;
	assert_int_equal(pcard_agent_http_new(&o, &h), PCARD_E_USAGE);

	/* plain http (tests only) to a closed port: a transport failure, safe to resend */
	memset(&o, 0, sizeof o);
	o.base_url = "http://127.0.0.1:1/";
	o.insecure_http = 1;
	o.timeout_s = 5;
	assert_int_equal(pcard_agent_http_new(&o, &h), PCARD_OK);
	assert_int_equal(pcard_agent_http_post(h, "/agent/v1/session", "{}", 2, resp, sizeof resp,
	    &rn, &st, err, sizeof err), PCARD_E_TRANSPORT);
	assert_int_equal(st, 0);
	assert_true(strlen(err) > 0);
	pcard_agent_http_free(h);

	/* a certificate file that does not exist: refused before any byte is sent */
	memset(&o, 0, sizeof o);
	o.base_url = "https://127.0.0.1:1";
	o.cert = "/nonexistent/agent.pem";
	o.key = "/nonexistent/agent.key";
	o.cacert = "/nonexistent/ca.pem";
	assert_int_equal(pcard_agent_http_new(&o, &h), PCARD_OK);
	{
		pcard_err e = pcard_agent_http_post(h, "/x", "{}", 2, resp, sizeof resp, &rn, &st,
		    err, sizeof err);

		/* curl checks the files at the handshake; a closed port may come first */
		assert_true(e == PCARD_E_TRANSPORT || e == PCARD_E_VERIFY || e == PCARD_E_BAD_FILE);
	}
	pcard_agent_http_free(h);
	pcard_agent_http_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_session_clean),
		cmocka_unit_test(test_session_stop),
		cmocka_unit_test(test_session_retry_same_bytes),
		cmocka_unit_test(test_session_retries_exhausted),
		cmocka_unit_test(test_session_refusals),
		cmocka_unit_test(test_session_wrong_ids),
		cmocka_unit_test(test_session_cardoff),
		cmocka_unit_test(test_session_peer_kill),
		cmocka_unit_test(test_relay_path),
		cmocka_unit_test(test_play_nospace),
		cmocka_unit_test(test_kill_parse),
		cmocka_unit_test(test_err_from_name),
		cmocka_unit_test(test_http_client),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
