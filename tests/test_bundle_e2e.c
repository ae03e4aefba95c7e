/*
 * test_bundle_e2e.c: the pipe of design.md flow 2 end to end without HTTP: an in-process
 * "server" (bundle.h + scp_bundle.h + the in-memory key provider; it keeps only the
 * exported session blob between exchanges, never a live session), an "agent" that plays
 * steps on the simulated card (src/card, as tests/util/simcard.h builds it) and stops at the
 * first unexpected status word, and the card.
 *
 * Cards: SCP03 i=70 at level 33 and SCP02 i=75 at level 13. Scenarios (each job type):
 *   A  install (a generated 30 KB CAP: LOAD + INSTALL), data (encrypted, version 1),
 *      delete, lock-app, rotate-keys (FF -> 30), lock-card
 *   B  unlock-card, unlock-app, data change (version 2)
 *   C  terminate
 * A clean session takes 3 exchanges whatever the load-file size. Then, for every k, the
 * agent dies after the card processed APDU k of the bundle (its responses are lost; the card
 * keeps what it committed; power is cycled), and a new session reconciles: every job must
 * end done exactly once (card state checked) with at most 1 extra exchange. Two negative
 * controls (reconciliation off: resend everything; or believe everything sent) must go
 * wrong in some cases. Counts are printed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "card.h"
#include "natives.h"
#include "postcard/bundle.h"
#include "postcard/cap.h"
#include "postcard/capbuild.h"
#include "postcard/crypto.h"
#include "postcard/scp_bundle.h"
#include "simcard.h"
#include "testvec.h"

#define MAX_STEPS 400
#define MAX_JOBS 8
#define NO_LIMIT ((size_t)-1)

static const uint8_t ISD[8] = { 0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00 };
static const uint8_t TEST_KEY[16] = {
	0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47,
	0x48, 0x49, 0x4A, 0x4B, 0x4C, 0x4D, 0x4E, 0x4F,
};
static const uint8_t GEN_PKG[6] = { 0xA0, 0x00, 0x00, 0x00, 0xEE, 0x01 };
static const uint8_t GEN_APPLET[7] = { 0xA0, 0x00, 0x00, 0x00, 0xEE, 0x01, 0x01 };

enum { J_PENDING = 0, J_SENT, J_DONE, J_FAILED };
enum { MODE_RECONCILE = 0, MODE_RESEND, MODE_BELIEVE };

typedef struct srv {
	pcard_keys *keys;
	pcard_scp_keyset old_ks, new_ks;
	uint8_t old_kvn, new_kvn;
	uint8_t scp, scp02_i, level;
	int mode;
	/* the store: the session blob and the bundle's step contexts, nothing secret */
	uint8_t blob[PCARD_SCPB_STATE_MAX];
	size_t blob_len;
	pcard_bundle_step *steps;
	pcard_bundle b;
	pcard_step_result *res;
	pcard_bjob jobs[MAX_JOBS];
	int jstate[MAX_JOBS];
	const char *jwhy[MAX_JOBS];
	size_t njobs;
	size_t exchanges;
} srv;

/* Load file bytes (C4 L LFDB) of a generated CAP. */
static uint8_t *
make_load_file(const uint8_t *pkg, size_t pkg_len, const uint8_t *applet, size_t applet_len,
    size_t code_size, size_t *n)
{
	pcard_capbuild_params p;
	pcard_cap_aid mod;
	pcard_cap *cap;
	uint8_t *capb, *lf;
	size_t capn;

	memset(&p, 0, sizeof p);
	p.package.len = pkg_len;
	memcpy(p.package.b, pkg, pkg_len);
	p.pkg_major = 1;
	mod.len = applet_len;
	memcpy(mod.b, applet, applet_len);
	p.napplets = 1;
	p.applets = &mod;
	p.nimports = PCARD_NATIVE_NIMPORTS;
	p.imports = pcard_native_imports;
	p.code_size = code_size;
	assert_int_equal(pcard_capbuild_mem(&p, NULL, 0, &capn), PCARD_E_NOSPACE);
	capb = malloc(capn);
	assert_non_null(capb);
	assert_int_equal(pcard_capbuild_mem(&p, capb, capn, &capn), PCARD_OK);
	assert_int_equal(pcard_cap_open_mem(capb, capn, &cap), PCARD_OK);
	*n = pcard_cap_load_file_len(cap, 0);
	lf = malloc(*n);
	assert_non_null(lf);
	assert_int_equal(pcard_cap_load_file(cap, 0, lf, *n, n), PCARD_OK);
	pcard_cap_free(cap);
	free(capb);
	return lf;
}

static void
import_set(pcard_keys *k, pcard_keytype t, const uint8_t *key, pcard_scp_keyset *ks)
{
	assert_int_equal(pcard_keys_mem_import(k, NULL, t, key, 16, &ks->enc), PCARD_OK);
	assert_int_equal(pcard_keys_mem_import(k, NULL, t, key, 16, &ks->mac), PCARD_OK);
	assert_int_equal(pcard_keys_mem_import(k, NULL, t, key, 16, &ks->dek), PCARD_OK);
}

static void
srv_init(srv *S, uint8_t scp, int mode)
{
	uint8_t nk[16];
	pcard_keytype t = scp == 3 ? PCARD_KEY_AES : PCARD_KEY_DES3;

	memset(S, 0, sizeof *S);
	S->scp = scp;
	S->scp02_i = 0x75;
	S->level = scp == 3 ? 0x33 : 0x13;
	S->mode = mode;
	S->old_kvn = 0xFF;
	S->new_kvn = 0x30;
	for (size_t i = 0; i < sizeof nk; i++)
		nk[i] = (uint8_t)(0xA0 + 3 * i);
	assert_int_equal(pcard_keys_mem_new(64, &S->keys), PCARD_OK);
	import_set(S->keys, t, TEST_KEY, &S->old_ks);
	import_set(S->keys, t, nk, &S->new_ks);
	S->steps = calloc(MAX_STEPS, sizeof *S->steps);
	S->res = calloc(MAX_STEPS, sizeof *S->res);
	assert_non_null(S->steps);
	assert_non_null(S->res);
}

static void
srv_free(srv *S)
{
	free(S->steps);
	free(S->res);
	pcard_keys_free(S->keys);
}

static void
srv_add_job(srv *S, const pcard_bjob *j)
{
	assert_true(S->njobs < MAX_JOBS);
	S->jobs[S->njobs] = *j;
	S->jobs[S->njobs].id = 100 + S->njobs;
	if (j->type == PCARD_BJOB_ROTATE_KEYS) {
		S->jobs[S->njobs].new_keys[0] = S->new_ks.enc;
		S->jobs[S->njobs].new_keys[1] = S->new_ks.mac;
		S->jobs[S->njobs].new_keys[2] = S->new_ks.dek;
	}
	S->jstate[S->njobs] = J_PENDING;
	S->njobs++;
}

/* ---- the agent ---- */

typedef struct agent_out {
	uint8_t rsp[MAX_STEPS][PCARD_SCP_MAX_RSP];
	pcard_bundle_rsp r[MAX_STEPS];
	size_t n;
	int died;
} agent_out;

/* Play b's steps on the card; stop at the first unexpected SW; die after *budget APDUs. */
static void
agent_play(pcard_card *card, const pcard_bundle *b, size_t *budget, agent_out *o)
{
	o->n = 0;
	o->died = 0;
	for (size_t k = 0; k < b->n; k++) {
		size_t rn = 0;
		uint16_t sw;
		int ok = 0;

		if (*budget == 0) {
			o->died = 1;
			return;
		}
		(*budget)--;
		assert_int_equal(pcard_card_apdu(card, b->steps[k].apdu, b->steps[k].apdu_len,
		    o->rsp[k], PCARD_SCP_MAX_RSP, &rn), PCARD_OK);
		o->r[k].p = o->rsp[k];
		o->r[k].n = rn;
		o->n = k + 1;
		sw = (uint16_t)(o->rsp[k][rn - 2] << 8 | o->rsp[k][rn - 1]);
		for (size_t e = 0; e < b->steps[k].n_expect; e++)
			ok |= b->steps[k].expect[e] == sw;
		if (!ok)
			return;
	}
	if (*budget == 0 && o->n == b->n)
		o->died = 1;	/* died before reporting, after the last APDU */
}

/* ---- the server's exchanges ---- */

static void
srv_apply(srv *S, const pcard_bjob_result *out, int reconcile)
{
	for (size_t i = 0; i < S->njobs; i++) {
		if (S->jstate[i] != J_SENT)
			continue;
		S->jwhy[i] = out[i].why;
		switch (out[i].state) {
		case PCARD_BJOB_DONE:
			S->jstate[i] = J_DONE;
			break;
		case PCARD_BJOB_FAILED:
			S->jstate[i] = J_FAILED;
			break;
		case PCARD_BJOB_NOT_DONE:
			S->jstate[i] = J_PENDING;
			if (S->jobs[i].type == PCARD_BJOB_INSTALL)
				S->jobs[i].skip_load = out[i].elf_present;
			break;
		default:
			/* refused with a SW that carried no R-MAC (SCP03): remembered, as
			 * postcardd does, for the reconciliation to fail the job if not done */
			if (!reconcile && out[i].err == PCARD_OK && !out[i].macd &&
			    out[i].sw != 0 && out[i].sw != 0x9000) {
				S->jobs[i].refused_sw = out[i].sw;
				S->jobs[i].refused_ins = out[i].ins;
			}
			break;
		}
	}
}

/* Build the next bundle of pending jobs onto session s (after EA or after a resume). */
static size_t
srv_queue_pending(srv *S, pcard_scp *s, pcard_bjob *sel, size_t *map)
{
	size_t n = 0;

	for (size_t i = 0; i < S->njobs; i++) {
		if (S->jstate[i] != J_PENDING)
			continue;
		sel[n] = S->jobs[i];
		map[n++] = i;
		S->jstate[i] = J_SENT;
	}
	assert_int_equal(pcard_bundle_add_jobs(&S->b, s, S->keys, sel, n), PCARD_OK);
	return n;
}

/*
 * One session. The agent dies after `limit` bundle APDUs (NO_LIMIT: never). Returns 1 when
 * the agent died. Between exchanges only S->blob and S->b (contexts) are kept.
 */
static int
session(srv *S, pcard_card *card, size_t limit)
{
	pcard_scp s;
	pcard_scp_host_params hp;
	uint8_t cmd[64], rsp[PCARD_SCP_MAX_RSP], sel_cmd[32], kvn = 0;
	size_t nc, nr, ns, budget = limit;
	static agent_out ao;
	pcard_bjob sel[MAX_JOBS];
	size_t map[MAX_JOBS], nsel = 0;
	pcard_bjob_result out[MAX_JOBS], mapped[MAX_JOBS];
	const pcard_scp_keyset *ks;
	int reconcile_phase = 0;

	/* exchange 1: hello -> SELECT ISD, INITIALIZE UPDATE */
	S->exchanges++;
	pcard_scp_init(&s);
	memset(&hp, 0, sizeof hp);
	hp.scp = S->scp;
	hp.scp02_i = S->scp == 2 ? S->scp02_i : 0;
	hp.aid = ISD;
	hp.aid_len = sizeof ISD;
	assert_int_equal(pcard_gp_select_cmd(ISD, sizeof ISD, sel_cmd, sizeof sel_cmd, &ns),
	    PCARD_OK);
	assert_int_equal(pcard_scp_host_init_update(&s, S->keys, &S->old_ks, &hp, cmd,
	    sizeof cmd, &nc), PCARD_OK);
	assert_int_equal(pcard_scpb_export(&s, S->blob, sizeof S->blob, &S->blob_len), PCARD_OK);
	pcard_scp_clear(&s);
	/* the agent plays them plainly */
	assert_int_equal(pcard_card_apdu(card, sel_cmd, ns, rsp, sizeof rsp, &nr), PCARD_OK);
	assert_int_equal(pcard_card_apdu(card, cmd, nc, rsp, sizeof rsp, &nr), PCARD_OK);

	/* exchange 2: card cryptogram checked, the bundle */
	S->exchanges++;
	if (pcard_bundle_iu_kvn(rsp, nr, &kvn) != PCARD_OK)
		return 2;	/* e.g. a terminated card: 6985 */
	ks = kvn == S->new_kvn ? &S->new_ks : &S->old_ks;
	assert_int_equal(pcard_scpb_import(&s, S->keys, ks, S->blob, S->blob_len), PCARD_OK);
	assert_int_equal(pcard_scp_host_auth(&s, rsp, nr), PCARD_OK);
	pcard_bundle_init(&S->b, S->steps, MAX_STEPS);
	assert_int_equal(pcard_bundle_add_ext_auth(&S->b, &s, S->level), PCARD_OK);
	nsel = 0;
	for (size_t i = 0; i < S->njobs; i++) {
		if (S->jstate[i] != J_SENT)
			continue;
		if (S->mode == MODE_RESEND)
			S->jstate[i] = J_PENDING;
		else if (S->mode == MODE_BELIEVE)
			S->jstate[i] = J_DONE;
		else {
			sel[nsel] = S->jobs[i];
			map[nsel++] = i;
		}
	}
	if (nsel > 0) {
		reconcile_phase = 1;
		assert_int_equal(pcard_bundle_add_reconcile(&S->b, &s, S->keys, sel, nsel),
		    PCARD_OK);
	} else {
		nsel = srv_queue_pending(S, &s, sel, map);
	}
	assert_int_equal(pcard_scpb_export(&s, S->blob, sizeof S->blob, &S->blob_len), PCARD_OK);
	pcard_scp_clear(&s);

	for (;;) {
		agent_play(card, &S->b, &budget, &ao);
		if (ao.died)
			return 1;
		/* exchange: the responses -> verify, record, maybe one more bundle */
		S->exchanges++;
		assert_int_equal(pcard_scpb_import(&s, S->keys, ks, S->blob, S->blob_len),
		    PCARD_OK);
		assert_int_equal(pcard_bundle_verify(&s, &S->b, ao.r, ao.n, S->res), PCARD_OK);
		if (reconcile_phase) {
			assert_int_equal(pcard_bundle_reconcile_decide(&S->b, S->res, sel, nsel,
			    out), PCARD_OK);
		} else {
			assert_int_equal(pcard_bundle_outcomes(&S->b, S->res, sel, nsel, out),
			    PCARD_OK);
		}
		memset(mapped, 0, sizeof mapped);
		for (size_t i = 0; i < nsel; i++)
			mapped[map[i]] = out[i];
		srv_apply(S, mapped, reconcile_phase);
		if (!reconcile_phase)
			break;
		/* after the reconciliation: the rest in the same session, if any */
		reconcile_phase = 0;
		{
			size_t any = 0;

			for (size_t i = 0; i < S->njobs; i++)
				any += S->jstate[i] == J_PENDING;
			if (any == 0)
				break;
		}
		assert_int_equal(pcard_bundle_resume(&s, &S->b, S->res, ao.r, ao.n), PCARD_OK);
		pcard_bundle_init(&S->b, S->steps, MAX_STEPS);
		nsel = srv_queue_pending(S, &s, sel, map);
		assert_int_equal(pcard_scpb_export(&s, S->blob, sizeof S->blob, &S->blob_len),
		    PCARD_OK);
		pcard_scp_clear(&s);
	}
	pcard_scp_clear(&s);
	return 0;
}

/* ---- cards and scenarios ---- */

static uint8_t *g_ds_lf, *g_gen_lf;
static size_t g_ds_n, g_gen_n;

static pcard_card *
card_from(const pcard_cardstate *cs)
{
	pcard_cardstate copy;
	pcard_card *c = NULL;
	uint8_t atr[64];
	size_t n;

	pcard_cardstate_init(&copy);
	assert_int_equal(pcard_cardstate_copy(&copy, cs), PCARD_OK);
	assert_int_equal(pcard_card_open_state(&copy, NULL, NULL, &c), PCARD_OK);
	pcard_cardstate_clear(&copy);
	assert_int_equal(pcard_card_power_on(c, atr, sizeof atr, &n), PCARD_OK);
	return c;
}

static void
aid_of(pcard_gp_aid *a, const uint8_t *b, size_t n, uint8_t last)
{
	assert_int_equal(pcard_gp_aid_set(a, b, n), PCARD_OK);
	if (last != 0) {
		a->b[a->len] = last;
		a->len++;
	}
}

static pcard_card_app *
app_find(pcard_card *c, const pcard_gp_aid *a)
{
	pcard_aid x;

	assert_int_equal(pcard_aid_set(&x, a->b, a->len), PCARD_OK);
	return pcard_cardstate_app_find((pcard_cardstate *)pcard_card_state(c), &x);
}

static const uint8_t DS_ITEMS_V1[] = { 0x5F, 0x20, 0x03, 'a', 'b', 'c', 0xDF, 0x01, 0x01, 0x07 };
static const uint8_t DS_ITEMS_V2[] = { 0xDF, 0x01, 0x01, 0x08 };

static void
jobs_a(srv *S)
{
	pcard_bjob j;

	memset(&j, 0, sizeof j);
	j.type = PCARD_BJOB_INSTALL;
	j.load_file = g_ds_lf;
	j.load_file_len = g_ds_n;
	aid_of(&j.elf, pcard_applet_datastore.package, pcard_applet_datastore.package_len, 0);
	aid_of(&j.module, pcard_applet_datastore.modules[0].b,
	    pcard_applet_datastore.modules[0].len, 0);
	aid_of(&j.instance, pcard_applet_datastore.modules[0].b,
	    pcard_applet_datastore.modules[0].len, 0);
	srv_add_job(S, &j);
	memset(&j, 0, sizeof j);
	j.type = PCARD_BJOB_DATA;
	j.aid = S->jobs[0].instance;
	j.version = 1;
	j.encrypt = 1;
	memcpy(j.items, DS_ITEMS_V1, sizeof DS_ITEMS_V1);
	j.items_len = sizeof DS_ITEMS_V1;
	srv_add_job(S, &j);
	memset(&j, 0, sizeof j);
	j.type = PCARD_BJOB_DELETE;
	aid_of(&j.aid, GEN_APPLET, sizeof GEN_APPLET, 'X');
	srv_add_job(S, &j);
	memset(&j, 0, sizeof j);
	j.type = PCARD_BJOB_LOCK_APP;
	aid_of(&j.aid, GEN_APPLET, sizeof GEN_APPLET, 'Y');
	srv_add_job(S, &j);
	memset(&j, 0, sizeof j);
	j.type = PCARD_BJOB_ROTATE_KEYS;
	j.old_kvn = S->old_kvn;
	j.new_kvn = S->new_kvn;
	srv_add_job(S, &j);
	memset(&j, 0, sizeof j);
	j.type = PCARD_BJOB_LOCK_CARD;
	srv_add_job(S, &j);
}

static void
jobs_b(srv *S)
{
	pcard_bjob j;

	memset(&j, 0, sizeof j);
	j.type = PCARD_BJOB_UNLOCK_CARD;
	srv_add_job(S, &j);
	memset(&j, 0, sizeof j);
	j.type = PCARD_BJOB_UNLOCK_APP;
	aid_of(&j.aid, GEN_APPLET, sizeof GEN_APPLET, 'Y');
	srv_add_job(S, &j);
	memset(&j, 0, sizeof j);
	j.type = PCARD_BJOB_DATA;
	aid_of(&j.aid, pcard_applet_datastore.modules[0].b,
	    pcard_applet_datastore.modules[0].len, 0);
	j.version = 2;
	j.has_expected = 1;
	j.expected = 1;
	memcpy(j.items, DS_ITEMS_V2, sizeof DS_ITEMS_V2);
	j.items_len = sizeof DS_ITEMS_V2;
	srv_add_job(S, &j);
}

static void
jobs_c(srv *S)
{
	pcard_bjob j;

	memset(&j, 0, sizeof j);
	j.type = PCARD_BJOB_TERMINATE;
	srv_add_job(S, &j);
}

/* The card state each scenario must end in; returns a reason or NULL. */
static const char *
check_card(srv *S, pcard_card *c, char scen)
{
	const pcard_cardstate *cs = pcard_card_state(c);
	pcard_gp_aid x, y, d;
	pcard_card_app *a;
	pcard_aid pk;
	pcard_card_app *isd = (pcard_card_app *)&cs->isd;

	aid_of(&x, GEN_APPLET, sizeof GEN_APPLET, 'X');
	aid_of(&y, GEN_APPLET, sizeof GEN_APPLET, 'Y');
	aid_of(&d, pcard_applet_datastore.modules[0].b, pcard_applet_datastore.modules[0].len, 0);
	if (scen == 'C')
		return cs->life_cycle == PCARD_CARD_TERMINATED ? NULL : "not terminated";
	if (app_find(c, &x) != NULL)
		return "X still there";
	if ((a = app_find(c, &d)) == NULL)
		return "datastore instance missing";
	if (a->data_version != (scen == 'A' ? 1u : 2u))
		return "datastore version";
	assert_int_equal(pcard_aid_set(&pk, pcard_applet_datastore.package,
	    pcard_applet_datastore.package_len), PCARD_OK);
	if (pcard_cardstate_elf_find((pcard_cardstate *)cs, &pk) == NULL)
		return "datastore package missing";
	if ((a = app_find(c, &y)) == NULL)
		return "Y missing";
	if (((a->life_cycle & 0x80) != 0) != (scen == 'A'))
		return "Y life cycle";
	if (pcard_card_sd_keyset_find(isd, S->new_kvn) == NULL ||
	    pcard_card_sd_keyset_find(isd, S->old_kvn) != NULL)
		return "key sets";
	if (cs->life_cycle != (scen == 'A' ? PCARD_CARD_LOCKED : PCARD_CARD_SECURED))
		return "card life cycle";
	return NULL;
}

/* A card with the generic package loaded and instances X and Y (set up through bundles). */
static void
base_card(uint8_t scp, pcard_cardstate *out)
{
	simcard *sc;
	simcard_opts o;
	srv S;
	pcard_bjob j;
	pcard_card *c;

	memset(&o, 0, sizeof o);
	o.scp = scp;
	o.i = scp == 3 ? 0x70 : 0x75;
	assert_int_equal(simcard_new(&o, &sc), PCARD_OK);
	c = simcard_card(sc);
	srv_init(&S, scp, MODE_RECONCILE);
	memset(&j, 0, sizeof j);
	j.type = PCARD_BJOB_INSTALL;
	j.load_file = g_gen_lf;
	j.load_file_len = g_gen_n;
	aid_of(&j.elf, GEN_PKG, sizeof GEN_PKG, 0);
	aid_of(&j.module, GEN_APPLET, sizeof GEN_APPLET, 0);
	aid_of(&j.instance, GEN_APPLET, sizeof GEN_APPLET, 'X');
	srv_add_job(&S, &j);
	j.skip_load = 1;
	aid_of(&j.instance, GEN_APPLET, sizeof GEN_APPLET, 'Y');
	srv_add_job(&S, &j);
	/* two installs of one package: the second skips the LOAD */
	assert_int_equal(session(&S, c, NO_LIMIT), 0);
	assert_int_equal(S.jstate[0], J_DONE);
	assert_int_equal(S.jstate[1], J_DONE);
	assert_int_equal(S.exchanges, 3);
	pcard_cardstate_init(out);
	assert_int_equal(pcard_cardstate_copy(out, pcard_card_state(c)), PCARD_OK);
	srv_free(&S);
	simcard_free(sc);
}

typedef void (*jobs_fn)(srv *);

static char g_why[256];
static size_t g_deferred;

typedef struct tally {
	size_t cases, failures, extra_max;
} tally;

/* Run scenario from state `from`; interrupt after k APDUs (NO_LIMIT: clean). The final
 * state goes to `after` when not NULL. Returns 0 when every job ended done exactly once. */
static int
run_case(uint8_t scp, const pcard_cardstate *from, jobs_fn fn, char scen, int mode, size_t k,
    size_t *bundle_len, size_t *exch2, pcard_cardstate *after, const char **why)
{
	srv S;
	pcard_card *c = card_from(from);
	int died, bad = 0;
	uint8_t atr[64];
	size_t n;

	srv_init(&S, scp, mode);
	fn(&S);
	died = session(&S, c, k);
	if (bundle_len != NULL)
		*bundle_len = S.b.n;
	*why = NULL;
	if (died == 1) {
		/* the agent died: the card is powered off and on; a new session */
		pcard_card_power_off(c);
		assert_int_equal(pcard_card_power_on(c, atr, sizeof atr, &n), PCARD_OK);
		S.exchanges = 0;
		died = session(&S, c, NO_LIMIT);
		if (exch2 != NULL)
			*exch2 = S.exchanges;
	}
	for (size_t i = 0; i < S.njobs; i++) {
		if (S.jstate[i] == J_DONE)
			continue;
		/* terminate whose answer was lost: the card refuses INITIALIZE UPDATE with 6985
		 * afterwards; no MACed proof can exist any more (docs/agent-protocol.md) */
		if (scen == 'C' && died == 2 && S.jstate[i] == J_SENT)
			continue;
		/* data job whose answer was lost before lock-card went through: the locked card
		 * refuses the replay; it stays unknown until unlock-card (counted, printed) */
		if (S.jobs[i].type == PCARD_BJOB_DATA && S.jstate[i] == J_SENT &&
		    pcard_card_state(c)->life_cycle == PCARD_CARD_LOCKED) {
			g_deferred += mode == MODE_RECONCILE;
			continue;
		}
		snprintf(g_why, sizeof g_why, "job %s %s: %s", pcard_bjob_type_name(S.jobs[i].type),
		    S.jstate[i] == J_FAILED ? "failed" : "not done",
		    S.jwhy[i] == NULL ? "-" : S.jwhy[i]);
		*why = g_why;
		bad = 1;
	}
	if (!bad && (*why = check_card(&S, c, scen)) != NULL)
		bad = 1;
	if (after != NULL) {
		pcard_cardstate_init(after);
		assert_int_equal(pcard_cardstate_copy(after, pcard_card_state(c)), PCARD_OK);
	}
	srv_free(&S);
	pcard_card_free(c);
	return bad;
}

static void
scenario_all(uint8_t scp)
{
	pcard_cardstate base, after_a, after_b, tmp;
	size_t blen = 0, ex2 = 0;
	const char *why;
	struct {
		char scen;
		jobs_fn fn;
		const pcard_cardstate *from;
	} sc[3];
	size_t neg_bad[3] = { 0 }, neg_cases = 0;

	base_card(scp, &base);
	/* clean runs: 3 exchanges whatever the load-file size */
	{
		srv S;
		pcard_card *c = card_from(&base);

		srv_init(&S, scp, MODE_RECONCILE);
		jobs_a(&S);
		assert_int_equal(session(&S, c, NO_LIMIT), 0);
		assert_int_equal(S.exchanges, 3);
		for (size_t i = 0; i < S.njobs; i++)
			assert_int_equal(S.jstate[i], J_DONE);
		assert_null(check_card(&S, c, 'A'));
		printf("SCP%02X: scenario A clean: %zu bundle steps for a %zu-byte load file, %zu "
		    "exchanges (per-APDU relay: %zu)\n", scp, S.b.n, g_ds_n, S.exchanges,
		    2 + S.b.n + 1);
		srv_free(&S);
		pcard_card_free(c);
	}
	assert_int_equal(run_case(scp, &base, jobs_a, 'A', MODE_RECONCILE, NO_LIMIT, NULL, NULL,
	    &after_a, &why), 0);
	assert_int_equal(run_case(scp, &after_a, jobs_b, 'B', MODE_RECONCILE, NO_LIMIT, NULL,
	    NULL, &after_b, &why), 0);
	pcard_cardstate_clear(&after_b);
	sc[0].scen = 'A'; sc[0].fn = jobs_a; sc[0].from = &base;
	sc[1].scen = 'B'; sc[1].fn = jobs_b; sc[1].from = &after_a;
	sc[2].scen = 'C'; sc[2].fn = jobs_c; sc[2].from = &after_a;
	for (size_t s = 0; s < 3; s++) {
		tally t = { 0, 0, 0 };

		assert_int_equal(run_case(scp, sc[s].from, sc[s].fn, sc[s].scen, MODE_RECONCILE,
		    NO_LIMIT, &blen, NULL, NULL, &why), 0);
		for (size_t k = 0; k <= blen; k++) {
			ex2 = 0;
			t.cases++;
			if (run_case(scp, sc[s].from, sc[s].fn, sc[s].scen, MODE_RECONCILE, k, NULL,
			    &ex2, NULL, &why) != 0) {
				t.failures++;
				printf("  SCP%02X %c k=%zu: %s\n", scp, sc[s].scen, k, why);
			}
			if (ex2 > t.extra_max)
				t.extra_max = ex2;
			for (int m = MODE_RESEND; m <= MODE_BELIEVE; m++) {
				neg_cases += m == MODE_RESEND;
				if (run_case(scp, sc[s].from, sc[s].fn, sc[s].scen, m, k, NULL, NULL,
				    NULL, &why) != 0)
					neg_bad[m]++;
			}
		}
		printf("SCP%02X scenario %c: %zu interruption cases, %zu failures, resumed session "
		    "took at most %zu exchanges; data writes left unknown on a locked card: %zu\n",
		    scp, sc[s].scen, t.cases, t.failures, t.extra_max, g_deferred);
		g_deferred = 0;
		assert_int_equal(t.failures, 0);
		assert_true(t.extra_max <= 4);
	}
	printf("SCP%02X negative controls over %zu cases: reconciliation off and resend: %zu "
	    "wrong; believe what was sent: %zu wrong\n", scp, neg_cases, neg_bad[MODE_RESEND],
	    neg_bad[MODE_BELIEVE]);
	assert_true(neg_bad[MODE_RESEND] > 0);
	assert_true(neg_bad[MODE_BELIEVE] > 0);
	(void)tmp;
	pcard_cardstate_clear(&after_a);
	pcard_cardstate_clear(&base);
}

/* ---- load-only installs: the openjavacard libraries and the demo applet importing them ---- */

enum { OJC_DEMO = 0, OJC_BER, OJC_DEBUG, OJC_FORTUNA, OJC_N };
static const char *const ojc_files[OJC_N] = { "cap/openjavacard-app-demo.cap",
	"cap/openjavacard-lib-ber.cap", "cap/openjavacard-lib-debug.cap",
	"cap/openjavacard-lib-fortuna.cap" };
static uint8_t *ojc_lf[OJC_N];
static size_t ojc_n[OJC_N];
static pcard_bjob ojc_job[OJC_N];	/* install jobs: the demo with its instance, libraries
					 * load only; imports from the CAP's Import component */

static void
ojc_load(void)
{
	for (size_t c = 0; c < OJC_N; c++) {
		pcard_cap *cap;
		const pcard_cap_info *ci;
		pcard_bjob *j = &ojc_job[c];

		assert_int_equal(pcard_cap_open_file(tv_path(ojc_files[c]), &cap), PCARD_OK);
		ci = pcard_cap_get_info(cap);
		ojc_n[c] = pcard_cap_load_file_len(cap, 0);
		assert_non_null(ojc_lf[c] = malloc(ojc_n[c]));
		assert_int_equal(pcard_cap_load_file(cap, 0, ojc_lf[c], ojc_n[c], &ojc_n[c]),
		    PCARD_OK);
		memset(j, 0, sizeof *j);
		j->type = PCARD_BJOB_INSTALL;
		j->load_file = ojc_lf[c];
		j->load_file_len = ojc_n[c];
		aid_of(&j->elf, ci->package.b, ci->package.len, 0);
		assert_true(ci->nimports <= PCARD_BJOB_IMPORTS_MAX);
		for (size_t i = 0; i < ci->nimports; i++)
			aid_of(&j->imports[j->nimports++], ci->imports[i].aid.b,
			    ci->imports[i].aid.len, 0);
		assert_int_equal(ci->napplets, c == OJC_DEMO ? 1 : 0);
		if (ci->napplets > 0) {
			aid_of(&j->module, ci->applets[0].aid.b, ci->applets[0].aid.len, 0);
			j->instance = j->module;
		}
		pcard_cap_free(cap);
	}
}

static int
card_has_elf(pcard_card *c, const pcard_gp_aid *a)
{
	pcard_aid x;

	assert_int_equal(pcard_aid_set(&x, a->b, a->len), PCARD_OK);
	return pcard_cardstate_elf_find((pcard_cardstate *)pcard_card_state(c), &x) != NULL;
}

/* The demo queued first, then the three libraries (load only): the bundle loads the
 * libraries first; all done in 3 exchanges; every interruption reconciled. */
static void
jobs_ojc(srv *S)
{
	for (size_t c = 0; c < OJC_N; c++)
		srv_add_job(S, &ojc_job[c]);
}

static const char *
check_ojc(pcard_card *c)
{
	for (size_t k = 0; k < OJC_N; k++)
		if (!card_has_elf(c, &ojc_job[k].elf))
			return "a load file is missing";
	if (app_find(c, &ojc_job[OJC_DEMO].instance) == NULL)
		return "the demo instance is missing";
	return NULL;
}

static void
load_only_all(uint8_t scp)
{
	srv S;
	pcard_card *c;
	pcard_cardstate fresh, loaded;
	size_t blen, k, cases = 0, failures = 0, extra_max = 0;
	uint8_t atr[64];
	size_t n;

	/* a card with a package and two instances: SCP03 proves absence only from a complete
	 * R-MACed listing (9000), and an empty registry answers 6A88 bare */
	base_card(scp, &fresh);

	/* the demo alone: the card refuses its last LOAD with 6438 (missing import) */
	c = card_from(&fresh);
	srv_init(&S, scp, MODE_RECONCILE);
	srv_add_job(&S, &ojc_job[OJC_DEMO]);
	assert_int_equal(session(&S, c, NO_LIMIT), 0);
	if (scp == 2) {
		/* SCP02 R-MACs the refusal: failed at once, the SW explained */
		assert_int_equal(S.jstate[0], J_FAILED);
	} else {
		/* SCP03 sends it bare: unknown; the next session's R-MACed listing shows the
		 * load file absent, and the job fails with the SW of its last attempt */
		assert_int_equal(S.jstate[0], J_SENT);
		assert_int_equal(S.jobs[0].refused_sw, 0x6438);
		S.exchanges = 0;
		assert_int_equal(session(&S, c, NO_LIMIT), 0);
		assert_int_equal(S.jstate[0], J_FAILED);
		assert_int_equal(S.exchanges, 3);
	}
	assert_non_null(strstr(S.jwhy[0], "imported package"));
	assert_false(card_has_elf(c, &ojc_job[OJC_DEMO].elf));
	printf("SCP%02X: the demo applet before its libraries: failed, \"%s\"\n", scp,
	    S.jwhy[0]);
	srv_free(&S);
	pcard_card_free(c);

	/* queued demo first, libraries after: one bundle loads them in dependency order */
	c = card_from(&fresh);
	srv_init(&S, scp, MODE_RECONCILE);
	jobs_ojc(&S);
	assert_int_equal(session(&S, c, NO_LIMIT), 0);
	for (size_t i = 0; i < S.njobs; i++)
		assert_int_equal(S.jstate[i], J_DONE);
	assert_int_equal(S.exchanges, 3);
	assert_null(check_ojc(c));
	{
		/* the demo's LOAD steps come after every library's */
		size_t first_demo = S.b.n, last_lib = 0;

		for (size_t st = 0; st < S.b.n; st++) {
			if (S.b.steps[st].purpose != PCARD_STEP_JOB)
				continue;
			if (S.b.steps[st].job == OJC_DEMO && st < first_demo)
				first_demo = st;
			if (S.b.steps[st].job != OJC_DEMO)
				last_lib = st;
		}
		assert_true(last_lib < first_demo);
	}
	blen = S.b.n;
	printf("SCP%02X: demo queued before its 3 libraries (load only): %zu bundle steps, "
	    "libraries loaded first, %zu exchanges\n", scp, blen, S.exchanges);
	pcard_cardstate_init(&loaded);
	assert_int_equal(pcard_cardstate_copy(&loaded, pcard_card_state(c)), PCARD_OK);
	srv_free(&S);
	pcard_card_free(c);

	/* interrupted after every APDU k, then reconciled: each job done exactly once */
	for (k = 0; k <= blen; k++) {
		const char *why = NULL;
		int died;

		cases++;
		c = card_from(&fresh);
		srv_init(&S, scp, MODE_RECONCILE);
		jobs_ojc(&S);
		died = session(&S, c, k);
		if (died == 1) {
			pcard_card_power_off(c);
			assert_int_equal(pcard_card_power_on(c, atr, sizeof atr, &n), PCARD_OK);
			S.exchanges = 0;
			assert_int_equal(session(&S, c, NO_LIMIT), 0);
			if (S.exchanges > extra_max)
				extra_max = S.exchanges;
		}
		for (size_t i = 0; i < S.njobs && why == NULL; i++)
			if (S.jstate[i] != J_DONE)
				why = S.jwhy[i] != NULL ? S.jwhy[i] : "not done";
		if (why == NULL)
			why = check_ojc(c);
		if (why != NULL) {
			failures++;
			printf("  SCP%02X load-only k=%zu: %s\n", scp, k, why);
		}
		srv_free(&S);
		pcard_card_free(c);
	}
	printf("SCP%02X load-only: %zu interruption cases, %zu failures, resumed session took at "
	    "most %zu exchanges\n", scp, cases, failures, extra_max);
	assert_int_equal(failures, 0);
	assert_true(extra_max <= 4);

	/* delete of load files: a library the demo imports is refused (6985); the demo's load
	 * file with related objects, then the library: done, and reconciled as done */
	c = card_from(&loaded);
	srv_init(&S, scp, MODE_RECONCILE);
	{
		pcard_bjob j;

		memset(&j, 0, sizeof j);
		j.type = PCARD_BJOB_DELETE;
		j.aid = ojc_job[OJC_FORTUNA].elf;
		srv_add_job(&S, &j);
	}
	assert_int_equal(session(&S, c, NO_LIMIT), 0);
	if (scp == 3) {
		assert_int_equal(S.jstate[0], J_SENT);	/* bare 6985, then proven still there */
		assert_int_equal(session(&S, c, NO_LIMIT), 0);
	}
	assert_int_equal(S.jstate[0], J_FAILED);
	assert_true(card_has_elf(c, &ojc_job[OJC_FORTUNA].elf));
	srv_free(&S);
	srv_init(&S, scp, MODE_RECONCILE);
	{
		pcard_bjob j;

		memset(&j, 0, sizeof j);
		j.type = PCARD_BJOB_DELETE;
		j.aid = ojc_job[OJC_FORTUNA].elf;
		srv_add_job(&S, &j);
		j.aid = ojc_job[OJC_DEMO].elf;
		j.related = 1;
		srv_add_job(&S, &j);	/* same rank: queued after, so refused ... */
	}
	/* ... unless the queue puts the importer first: swap them */
	{
		pcard_bjob t = S.jobs[0];

		S.jobs[0] = S.jobs[1];
		S.jobs[1] = t;
	}
	assert_int_equal(session(&S, c, 3), 1);	/* died after the two DELETEs */
	S.exchanges = 0;
	assert_int_equal(session(&S, c, NO_LIMIT), 0);
	assert_int_equal(S.jstate[0], J_DONE);
	assert_int_equal(S.jstate[1], J_DONE);
	assert_false(card_has_elf(c, &ojc_job[OJC_FORTUNA].elf));
	assert_false(card_has_elf(c, &ojc_job[OJC_DEMO].elf));
	assert_null(app_find(c, &ojc_job[OJC_DEMO].instance));
	printf("SCP%02X: delete of load files: an imported library refused (6985), the demo's "
	    "with related objects then the library: done, reconciled in %zu exchanges\n", scp,
	    S.exchanges);
	srv_free(&S);
	pcard_card_free(c);
	pcard_cardstate_clear(&loaded);
	pcard_cardstate_clear(&fresh);
}

static void
test_load_only_scp03(void **state)
{
	(void)state;
	load_only_all(3);
}

static void
test_load_only_scp02(void **state)
{
	(void)state;
	load_only_all(2);
}

static void
test_scp03(void **state)
{
	(void)state;
	scenario_all(3);
}

static void
test_scp02(void **state)
{
	(void)state;
	scenario_all(2);
}

static int
setup(void **state)
{
	(void)state;
	g_ds_lf = make_load_file(pcard_applet_datastore.package,
	    pcard_applet_datastore.package_len, pcard_applet_datastore.modules[0].b,
	    pcard_applet_datastore.modules[0].len, 30000, &g_ds_n);
	g_gen_lf = make_load_file(GEN_PKG, sizeof GEN_PKG, GEN_APPLET, sizeof GEN_APPLET, 0,
	    &g_gen_n);
	ojc_load();
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	free(g_ds_lf);
	free(g_gen_lf);
	for (size_t c = 0; c < OJC_N; c++)
		free(ojc_lf[c]);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_only_scp03),
		cmocka_unit_test(test_load_only_scp02),
		cmocka_unit_test(test_scp03),
		cmocka_unit_test(test_scp02),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
