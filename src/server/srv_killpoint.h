/*
 * srv_killpoint.h: a test hook of postcardd (tests/cli_agent_kill.sh). With
 * PCARD_SRV_KILL_AT=commit:N in its environment, postcardd kills itself (SIGKILL) once it has
 * committed the store transaction of agent exchange N (1 = the hello's answer, 2 = the answer
 * to the step-1 responses, ...) and before the reply leaves: the kill point "between the
 * store's commit and the reply" of issue 5, hit deterministically. Without the variable the
 * hook does nothing.
 */
#ifndef POSTCARD_SRV_KILLPOINT_H
#define POSTCARD_SRV_KILLPOINT_H

#include <jansson.h>

#include "server.h"

/* Before an agent request is handled: notes the store's transaction count. */
void pcard_srv_killpoint_mark(const pcard_srv *srv);

/*
 * After it was handled, before the reply is sent: SIGKILL when PCARD_SRV_KILL_AT names
 * commit:N, the reply (status 200, out borrowed) carries step N, and a store transaction ran
 * since pcard_srv_killpoint_mark (a repeat answered from the stored reply commits nothing).
 */
void pcard_srv_killpoint_reply(const pcard_srv *srv, unsigned status, const json_t *out);

#endif
