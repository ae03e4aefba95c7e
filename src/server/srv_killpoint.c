/*
 * srv_killpoint.c: the kill point "between the store's commit and the reply" for the kill
 * tests (srv_killpoint.h). Read once from PCARD_SRV_KILL_AT; "commit:N" with N in 1..2^31.
 * Anything else in the variable is ignored with one line on stderr.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "srv_killpoint.h"
#include "store.h"

static int kp_read;		/* the variable was read */
static long kp_step;		/* 0: no kill point */
static uint64_t kp_tx0;		/* transactions before the request */

static void
read_env(void)
{
	const char *v = getenv("PCARD_SRV_KILL_AT");
	char *end = NULL;
	long n;

	kp_read = 1;
	if (v == NULL || v[0] == '\0')
		return;
	if (strncmp(v, "commit:", 7) == 0) {
		n = strtol(v + 7, &end, 10);
		if (end != v + 7 && *end == '\0' && n >= 1 && n <= INT32_MAX) {
			kp_step = n;
			return;
		}
	}
	fprintf(stderr, "postcardd: PCARD_SRV_KILL_AT: '%.40s' is not commit:N; ignored\n", v);
}

void
pcard_srv_killpoint_mark(const pcard_srv *srv)
{
	if (!kp_read)
		read_env();
	if (kp_step != 0)
		kp_tx0 = pcard_store_tx_count(srv->st);
}

void
pcard_srv_killpoint_reply(const pcard_srv *srv, unsigned status, const json_t *out)
{
	json_t *step;

	if (!kp_read)
		read_env();
	if (kp_step == 0 || status != 200 || pcard_store_tx_count(srv->st) == kp_tx0)
		return;
	step = json_object_get(out, "step");
	if (!json_is_integer(step) || json_integer_value(step) != kp_step)
		return;
	fprintf(stderr, "postcardd: PCARD_SRV_KILL_AT=commit:%ld: exchange %ld committed, "
	    "killed before the reply\n", kp_step, kp_step);
	raise(SIGKILL);
}
