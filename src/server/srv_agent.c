/*
 * srv_agent.c: the agent endpoint (docs/agent-protocol.md), behind the client certificate
 * checked in srv_http.c.
 *
 *   POST /agent/v1/session   one message of a session: hello (step 0), responses (step n)
 *   POST /agent/v1/relay     the same; a hello here starts a per-APDU relay session
 *
 * Messages are parsed by pcard_bmsg_parse (bundle_json.c); refusals are protocol `error`
 * messages: {"v":1,"type":"error","session":..,"step":..,"error":{"code","message","retry"}}
 * with the HTTP status the protocol gives (400 malformed, 403 unknown card without an
 * enrolment profile, 409 a live session for the card or a step out of order).
 *
 * The hello is served: the card is identified from what it reports without authentication
 * (below), a session is created in the store (one live session per card: a second agent gets
 * 409), and the answer is the step-1 bundle [SELECT ISD, INITIALIZE UPDATE]. Card identity:
 *   - with a CPLC (GET DATA 9F7F, 42 bytes after an optional 9F7F 2A header): IC fabricator,
 *     IC type, IC serial number, IC batch identifier (CPLC bytes 0-3, 12-15, 16-17), 10 bytes;
 *   - else IIN || CIN (GET DATA 42 and 45, each without its tag and length when present).
 * Every later step (cryptogram check in the HSM, the bundle of the jobs, R-MAC verification,
 * results, enrolment at first contact) is srv_flow.c's.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "postcard/bundle.h"
#include "postcard/bytes.h"
#include "postcard/crypto.h"
#include "postcard/gp.h"
#include "server.h"

#define HOST_CHAL_BYTES 8
#define REPLY_MAX (64u * 1024u)

unsigned
pcard_srv_agent_error(json_t **out, unsigned status, const char *session, uint32_t step,
    pcard_err code, int retry, const char *fmt, ...)
{
	char msg[PCARD_BMSG_TEXT_MAX + 1];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	pcard_srv_text_clean(msg);
	json_decref(*out);
	*out = json_pack("{s:i,s:s,s:s,s:i,s:{s:s,s:s,s:b}}", "v", PCARD_BMSG_VERSION, "type",
	    "error", "session", session != NULL ? session : "", "step", (int)step, "error",
	    "code", pcard_errname(code), "message", msg, "retry", retry);
	return status;
}

#define agent_error pcard_srv_agent_error

pcard_err
pcard_srv_first_bundle(const char *sid, uint32_t step, const uint8_t chal[8],
    const uint8_t *aid, size_t aid_len, int relay, int iu_only, char **text, size_t *len)
{
	pcard_bmsg_step steps[2];
	pcard_bmsg reply;
	size_t n = 0;
	pcard_err e;

	*text = NULL;
	pcard_bmsg_init(&reply, steps, 2, NULL, 0, NULL, 0);
	reply.type = PCARD_BMSG_BUNDLE;
	snprintf(reply.session, sizeof reply.session, "%s", sid);
	reply.step = step;
	memset(steps, 0, sizeof steps);
	if (!iu_only) {
		/* SELECT the ISD by the AID its FCI gave in the hello (a locked card refuses the
		 * empty AID), else by the empty AID (the card's default selection) */
		if (aid_len > 16)
			return PCARD_E_INVALID_ARG;
		memcpy(steps[n].apdu, "\x00\xA4\x04\x00", 4);
		steps[n].apdu[4] = (uint8_t)aid_len;
		if (aid_len > 0)
			memcpy(steps[n].apdu + 5, aid, aid_len);
		steps[n].apdu_len = 5 + aid_len;
		/* 6283: a CARD_LOCKED card still selects its ISD (CS 11.9.2.3) */
		steps[n].expect[0] = 0x9000;
		steps[n].expect[1] = 0x6283;
		steps[n].n_expect = 2;
		n++;
	}
	if (!relay || iu_only) {
		/* INITIALIZE UPDATE P1 00: the card answers with the key set it has */
		memcpy(steps[n].apdu, "\x80\x50\x00\x00\x08", 5);
		memcpy(steps[n].apdu + 5, chal, HOST_CHAL_BYTES);
		steps[n].apdu[5 + HOST_CHAL_BYTES] = 0x00;
		steps[n].apdu_len = 5 + HOST_CHAL_BYTES + 1;
		steps[n].expect[0] = 0x9000;
		steps[n].n_expect = 1;
		n++;
	}
	reply.nsteps = n;
	if ((*text = malloc(REPLY_MAX)) == NULL)
		return PCARD_E_NOMEM;
	if ((e = pcard_bmsg_encode(&reply, *text, REPLY_MAX, len)) != PCARD_OK) {
		free(*text);
		*text = NULL;
	}
	return e;
}

/* Strip a leading tag (1 or 2 octets) and one-octet length when they frame the rest. */
static void
strip_tag(const pcard_bmsg_bytes *f, uint32_t tag, const uint8_t **p, size_t *n)
{
	size_t tl = tag > 0xFF ? 2 : 1;

	*p = f->b;
	*n = f->len;
	if (f->len >= tl + 1 && (tl == 1 ? f->b[0] == tag :
	    (f->b[0] == (tag >> 8) && f->b[1] == (tag & 0xFF))) && f->b[tl] == f->len - tl - 1) {
		*p = f->b + tl + 1;
		*n = f->len - tl - 1;
	}
}

/* The card id from the hello (comment above); 0 when the hello has none. */
static int
card_identity(const pcard_bmsg *m, char *id, size_t cap)
{
	uint8_t b[PCARD_BMSG_CARD_FIELD_MAX * 2];
	const uint8_t *p, *q;
	size_t n, k;

	if (m->cplc.present) {
		strip_tag(&m->cplc, 0x9F7F, &p, &n);
		if (n >= 18) {
			memcpy(b, p, 4);
			memcpy(b + 4, p + 12, 6);
			return pcard_hex_encode(b, 10, id, cap) == PCARD_OK;
		}
	}
	if (m->iin.present && m->cin.present) {
		strip_tag(&m->iin, 0x42, &p, &n);
		strip_tag(&m->cin, 0x45, &q, &k);
		if (n + k == 0 || 2 * (n + k) + 1 > cap)
			return 0;
		memcpy(b, p, n);
		memcpy(b + n, q, k);
		return pcard_hex_encode(b, n + k, id, cap) == PCARD_OK;
	}
	return 0;
}

static unsigned
hello(pcard_srv *srv, const pcard_srv_req *rq, const pcard_bmsg *m, int relay, json_t **out)
{
	uint8_t chal[HOST_CHAL_BYTES], sid_b[16];
	char sid[2 * sizeof sid_b + 1], card[65], *text = NULL;
	pcard_gp_fci fci;
	json_error_t je;
	size_t len = 0;
	int known = 0;
	unsigned st;
	pcard_err e;

	if (m->agent[0] != '\0' && strcmp(m->agent, rq->agent_id) != 0)
		return agent_error(out, 403, "", 0, PCARD_E_AUTH, 0,
		    "agent '%.64s' does not match the certificate's agent", m->agent);
	if (!card_identity(m, card, sizeof card))
		return agent_error(out, 400, "", 0, PCARD_E_BAD_ENCODING, 0,
		    "card: the hello needs cplc, or iin and cin, to identify the card");
	if ((e = pcard_srv_sess_card(srv, card, &known)) != PCARD_OK)
		return agent_error(out, 503, "", 0, e, 1, "store: %s", pcard_strerror(e));
	if (!known && !pcard_srv_sess_enrol_profile(srv))
		return agent_error(out, 403, "", 0, PCARD_E_AUTH, 0,
		    "card %s is unknown and no key profile allows enrolment", card);
	if (srv->keys == NULL)
		return agent_error(out, 503, "", 0, PCARD_E_UNSUPPORTED, 1,
		    "this server has no key provider (configure \"hsm\")");
	if ((e = pcard_random(chal, sizeof chal)) != PCARD_OK ||
	    (e = pcard_random(sid_b, sizeof sid_b)) != PCARD_OK ||
	    (e = pcard_hex_encode(sid_b, sizeof sid_b, sid, sizeof sid)) != PCARD_OK)
		return agent_error(out, 500, "", 0, e, 1, "random: %s", pcard_strerror(e));

	/* step 1: SELECT the ISD, INITIALIZE UPDATE P1 00 (relay: SELECT alone) */
	memset(&fci, 0, sizeof fci);
	if (m->fci.present && pcard_gp_parse_fci(m->fci.b, m->fci.len, &fci) != PCARD_OK)
		fci.aid.len = 0;
	if ((e = pcard_srv_first_bundle(sid, 1, chal, fci.aid.b, fci.aid.len, relay, 0, &text,
	    &len)) != PCARD_OK) {
		st = agent_error(out, 500, "", 0, e, 0, "encode: %s", pcard_strerror(e));
		goto out;
	}
	if (!known) {
		/* enrolment: nothing stored until the card cryptogram verifies (srv_flow.c) */
		pcard_srv_enrol *p;

		pcard_srv_enrol_sweep(srv, card);
		if ((p = pcard_srv_enrol_new(srv)) == NULL) {
			st = agent_error(out, 503, "", 0, PCARD_E_BUSY, 1,
			    "too many enrolments in progress; retry");
			goto out;
		}
		snprintf(p->sid, sizeof p->sid, "%s", sid);
		snprintf(p->card, sizeof p->card, "%s", card);
		snprintf(p->agent, sizeof p->agent, "%s", rq->agent_id);
		memcpy(p->chal, chal, sizeof chal);
		memcpy(p->aid, fci.aid.b, fci.aid.len);
		p->aid_len = fci.aid.len;
		p->relay = relay;
		p->step = 1;
	} else {
		e = pcard_srv_sess_open(srv, sid, card, rq->agent_id, chal, sizeof chal,
		    srv->cfg.level, relay, text);
		if (e == PCARD_E_EXISTS) {
			st = agent_error(out, 409, "", 0, PCARD_E_CONFLICT, 1,
			    "card %s is in a session with another agent; retry after it ends or "
			    "expires", card);
			goto out;
		}
		if (e != PCARD_OK) {
			st = agent_error(out, e == PCARD_E_BUSY ? 503 : 500, "", 0, e,
			    e == PCARD_E_BUSY, "store: %s", pcard_strerror(e));
			goto out;
		}
		srv->m.sessions_opened++;
	}
	srv->m.exchanges++;
	json_decref(*out);
	if ((*out = json_loadb(text, len, 0, &je)) == NULL) {
		st = agent_error(out, 500, sid, 1, PCARD_E_INTERNAL, 0, "reply");
		goto out;
	}
	st = 200;
out:
	pcard_wipe(chal, sizeof chal);
	free(text);
	return st;
}

unsigned
pcard_srv_agent(pcard_srv *srv, const pcard_srv_req *rq, json_t **out)
{
	pcard_bmsg_rsp *rsps = NULL;
	pcard_bmsg *m = NULL;
	char err[256] = "";
	unsigned st;
	pcard_err e;

	if (strcmp(rq->method, "POST") != 0)
		return pcard_srv_error(out, 405, "method_not_allowed", "POST only");
	if (strcmp(rq->path, "/agent/v1/session") != 0 && strcmp(rq->path, "/agent/v1/relay") != 0)
		return pcard_srv_error(out, 404, "not_found", "no such endpoint");
	srv->m.agent_requests++;
	if ((m = malloc(sizeof *m)) == NULL ||
	    (rsps = calloc(PCARD_BMSG_MAX_STEPS, sizeof *rsps)) == NULL) {
		st = agent_error(out, 500, "", 0, PCARD_E_NOMEM, 1, "out of memory");
		goto out;
	}
	pcard_bmsg_init(m, NULL, 0, rsps, PCARD_BMSG_MAX_STEPS, NULL, 0);
	if ((e = pcard_bmsg_parse((const char *)rq->body, rq->body_len, m, err, sizeof err)) !=
	    PCARD_OK) {
		st = agent_error(out, 400, "", 0, e, 0, "%s", err[0] != '\0' ? err :
		    pcard_strerror(e));
		goto out;
	}
	if (m->type == PCARD_BMSG_HELLO) {
		st = hello(srv, rq, m, m->relay || strcmp(rq->path, "/agent/v1/relay") == 0, out);
		goto out;
	}
	if (m->type != PCARD_BMSG_RESPONSES) {
		st = agent_error(out, 400, m->session, m->step, PCARD_E_BAD_ENCODING, 0,
		    "an agent sends hello or responses");
		goto out;
	}
	st = pcard_srv_flow(srv, rq, m, out);
out:
	free(rsps);
	free(m);
	return st;
}
