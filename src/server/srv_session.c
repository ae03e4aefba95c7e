/*
 * srv_session.c: the store side of agent sessions, for srv_agent.c (which includes bundle.h
 * and so cannot see store.h; see server.h). Each call is one store transaction; every change
 * carries its audit record (actor "agent:<id>").
 */
#include <stdio.h>
#include <string.h>

#include "server.h"
#include "store.h"

pcard_err
pcard_srv_sess_card(pcard_srv *srv, const char *card_id, int *known)
{
	pcard_store_card c;
	pcard_err e = pcard_store_card_get(srv->st, card_id, &c);

	*known = e == PCARD_OK;
	return e == PCARD_E_NOT_FOUND ? PCARD_OK : e;
}

int
pcard_srv_sess_enrol_profile(const pcard_srv *srv)
{
	size_t i;
	json_t *p;

	json_array_foreach(srv->cfg.profiles, i, p)
		if (json_is_true(json_object_get(p, "enrol")))
			return 1;
	return 0;
}

/*
 * The card's live session belongs to agent_id: close it (inside the open transaction). Its
 * jobs still in_session go back to queued; those sent are reconciled by the next session.
 * PCARD_E_EXISTS when another agent holds it (and it has not expired).
 */
static pcard_err
supersede(pcard_srv *srv, const char *card_id, const char *agent_id, const char *actor)
{
	pcard_store_session old;
	pcard_store_job *jobs = NULL;
	size_t n = 0;
	json_t *det;
	pcard_err e;

	if ((e = pcard_store_session_live(srv->st, card_id, &old)) != PCARD_OK)
		return e == PCARD_E_NOT_FOUND ? PCARD_OK : e;
	if (strcmp(old.agent, agent_id) != 0 && old.expires > pcard_store_now(srv->st)) {
		pcard_store_session_clear(&old);
		return PCARD_E_EXISTS;
	}
	if ((e = pcard_store_session_close(srv->st, old.id)) != PCARD_OK ||
	    (e = pcard_store_job_list(srv->st, card_id,
	    PCARD_JOB_STATE_BIT(PCARD_JOB_IN_SESSION), &jobs, &n)) != PCARD_OK)
		goto out;
	for (size_t i = 0; i < n && e == PCARD_OK; i++)
		e = pcard_store_job_transition(srv->st, jobs[i].id, PCARD_JOB_IN_SESSION,
		    PCARD_JOB_QUEUED, NULL, NULL, NULL);
	if (e != PCARD_OK)
		goto out;
	det = json_pack("{s:s,s:s,s:i}", "session", old.id, "agent", old.agent, "step",
	    (int)old.step);
	e = pcard_store_audit_append(srv->st, actor, "session.superseded", card_id, det, NULL);
	json_decref(det);
	srv->m.sessions_closed++;
out:
	pcard_store_jobs_free(jobs, n);
	pcard_store_session_clear(&old);
	return e;
}

pcard_err
pcard_srv_sess_open(pcard_srv *srv, const char *sid, const char *card_id, const char *agent_id,
    const uint8_t *host_chal, size_t host_chal_len, uint8_t level, int relay,
    const char *reply_text)
{
	pcard_store_session s;
	pcard_store_card c;
	char actor[PCARD_STORE_NAME_MAX + 1];
	json_t *plan = NULL, *det = NULL;
	pcard_err e;

	memset(&s, 0, sizeof s);
	if (host_chal_len > sizeof s.host_challenge)
		return PCARD_E_INVALID_ARG;
	snprintf(s.id, sizeof s.id, "%s", sid);
	snprintf(s.card, sizeof s.card, "%s", card_id);
	snprintf(s.agent, sizeof s.agent, "%s", agent_id);
	snprintf(actor, sizeof actor, "agent:%s", agent_id);
	s.step = 1;
	s.state = PCARD_SESSION_HELLO;
	memcpy(s.host_challenge, host_chal, host_chal_len);
	s.host_challenge_len = host_chal_len;
	s.security_level = level;
	/* the step-1 answer, kept to answer a repeated message identically (nothing secret:
	 * SELECT and INITIALIZE UPDATE in the clear); phase: what the next message answers */
	plan = json_pack("{s:s,s:b,s:s,s:i}", "phase", relay ? "select" : "iu", "relay", relay,
	    "reply", reply_text, "status", 200);
	if (plan == NULL)
		return PCARD_E_NOMEM;
	s.plan = plan;
	if ((e = pcard_store_begin(srv->st)) != PCARD_OK)
		goto out;
	if ((e = pcard_store_card_get(srv->st, card_id, &c)) != PCARD_OK ||
	    (e = supersede(srv, card_id, agent_id, actor)) != PCARD_OK)
		goto fail;
	s.scp = c.scp;
	s.i = c.i;
	s.expires = pcard_store_now(srv->st) + (int64_t)srv->cfg.session_expiry * 1000;
	det = json_pack("{s:s,s:s,s:b}", "session", sid, "agent", agent_id, "relay", relay);
	if ((e = pcard_store_session_create(srv->st, &s)) != PCARD_OK ||
	    (e = pcard_store_audit_append(srv->st, actor, "session.open", card_id, det, NULL)) !=
	    PCARD_OK || (e = pcard_store_commit(srv->st)) != PCARD_OK)
		goto fail;
	e = PCARD_OK;
	goto out;
fail:
	pcard_store_rollback(srv->st);
out:
	json_decref(det);
	json_decref(plan);
	return e;
}
