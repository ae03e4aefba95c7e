/*
 * srv_agent.c: the agent endpoints (docs/agent-protocol.md), behind the client certificate
 * checked in srv_http.c.
 *
 *   POST /agent/v1/session   one exchange of a session (hello, responses), JSON message
 *   POST /agent/v1/relay     the per-APDU relay mode, one APDU per exchange
 *
 * Not wired yet: the message codec and bundle builder (bundle.h, bundle_json.c) are being
 * written; until they land every agent message is answered 503 "not_ready" after the
 * certificate checks, and nothing is stored.
 */
#include <string.h>

#include "server.h"

unsigned
pcard_srv_agent(pcard_srv *srv, const pcard_srv_req *rq, json_t **out)
{
	json_t *msg = NULL;
	unsigned st;

	if (strcmp(rq->method, "POST") != 0)
		return pcard_srv_error(out, 405, "method_not_allowed", "POST only");
	if (strcmp(rq->path, "/agent/v1/session") != 0 && strcmp(rq->path, "/agent/v1/relay") != 0)
		return pcard_srv_error(out, 404, "not_found", "no such endpoint");
	if ((st = pcard_srv_parse_object(rq, &msg, out)) != 0)
		return st;
	json_decref(msg);
	if (srv->keys == NULL)
		return pcard_srv_error(out, 503, "no_key_provider",
		    "this server has no key provider (configure \"hsm\")");
	return pcard_srv_error(out, 503, "not_ready", "agent sessions are not served yet");
}
