/*
 * fuzz_bundle.c: the agent <-> server message parser (pcard_bmsg_parse, bundle_json.c) on
 * arbitrary bytes. Consistency checked (abort on violation):
 *  - a failed parse leaves the counts at zero;
 *  - a parsed message encodes, and the encoding parses back to the same fields;
 *  - every parsed APDU and response respects its bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "postcard/bundle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CAP 64

static pcard_bmsg_step steps[2][CAP];
static pcard_bmsg_rsp rsps[2][CAP];
static pcard_bmsg_job jobs[2][CAP];
static char enc[1 << 20];

static void
same(const pcard_bmsg *a, const pcard_bmsg *b)
{
	if (a->type != b->type || strcmp(a->session, b->session) != 0 || a->step != b->step ||
	    a->nsteps != b->nsteps || a->nrsps != b->nrsps || a->njobs != b->njobs ||
	    a->stop != b->stop || a->relay != b->relay || a->retry != b->retry ||
	    strcmp(a->code, b->code) != 0 || strcmp(a->message, b->message) != 0 ||
	    a->atr.len != b->atr.len || memcmp(a->atr.b, b->atr.b, a->atr.len) != 0)
		abort();
	for (size_t i = 0; i < a->nsteps; i++)
		if (a->steps[i].apdu_len != b->steps[i].apdu_len || a->steps[i].apdu_len < 4 ||
		    a->steps[i].apdu_len > PCARD_SCP_MAX_CMD ||
		    memcmp(a->steps[i].apdu, b->steps[i].apdu, a->steps[i].apdu_len) != 0 ||
		    a->steps[i].n_expect != b->steps[i].n_expect ||
		    memcmp(a->steps[i].expect, b->steps[i].expect,
		    a->steps[i].n_expect * sizeof a->steps[i].expect[0]) != 0)
			abort();
	for (size_t i = 0; i < a->nrsps; i++)
		if (a->rsps[i].len != b->rsps[i].len || a->rsps[i].len < 2 ||
		    memcmp(a->rsps[i].b, b->rsps[i].b, a->rsps[i].len) != 0)
			abort();
	for (size_t i = 0; i < a->njobs; i++)
		if (a->jobs[i].id != b->jobs[i].id || a->jobs[i].state != b->jobs[i].state ||
		    a->jobs[i].sw != b->jobs[i].sw || strcmp(a->jobs[i].why, b->jobs[i].why) != 0)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pcard_bmsg m, m2;
	char err[128];
	size_t n;

	pcard_bmsg_init(&m, steps[0], CAP, rsps[0], CAP, jobs[0], CAP);
	if (pcard_bmsg_parse((const char *)data, size, &m, err, sizeof err) != PCARD_OK) {
		if (m.nsteps != 0 || m.nrsps != 0 || m.njobs != 0 || err[0] == '\0')
			abort();
		return 0;
	}
	if (pcard_bmsg_encode(&m, enc, sizeof enc, &n) != PCARD_OK)
		abort();
	pcard_bmsg_init(&m2, steps[1], CAP, rsps[1], CAP, jobs[1], CAP);
	if (pcard_bmsg_parse(enc, n, &m2, err, sizeof err) != PCARD_OK)
		abort();
	same(&m, &m2);
	return 0;
}
