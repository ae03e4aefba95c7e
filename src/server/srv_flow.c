/*
 * srv_flow.c: an agent session after its hello (docs/agent-protocol.md, docs/server.md).
 *
 *   step 1 answers [FCI, IU response]  -> KVN picks the key set, card keys derived in the HSM,
 *                                         card cryptogram checked; enrolment of an unknown
 *                                         card; bundle [EXTERNAL AUTHENTICATE, reconciliation
 *                                         reads | every pending job's commands]
 *   step n answers [...]               -> every R-MAC verified, jobs decided and recorded,
 *                                         then the result (or, after reconciliation, one more
 *                                         bundle of the jobs still to do)
 *
 * Nothing lives in memory between exchanges except enrolments (server.h): the session row
 * keeps the exported secure-channel blob, the per-step verification records (srv_plan.c),
 * the job ids of the bundle and the reply given, so a repeated message gets the same reply
 * and nothing happens twice. Each exchange is one store transaction: the session's step
 * moves by compare-and-set together with the job transitions, the card's view and the
 * audit records.
 *
 * Relay mode: the same bundles, handed out one step per exchange; the answers are collected
 * in the session until the bundle ends, then judged exactly as a whole bundle.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hsm.h"
#include "postcard/bundle.h"
#include "postcard/bytes.h"
#include "postcard/cap.h"
#include "postcard/crypto.h"
#include "postcard/keydiv.h"
#include "postcard/sw.h"
#include "postcard/tlv.h"
#include "server.h"
#include "store.h"

#define MAX_JOBS 64
#define MAX_STEPS PCARD_BMSG_MAX_STEPS
#define REPLY_MAX (4u * 1024u * 1024u)
#define KDD_BYTES PCARD_KEYDIV_KDD_BYTES


/* A card key set derived for this exchange, released at the end of it. */
typedef struct cardkeys {
	pcard_keyh masters[3];
	pcard_keyh set[3];
	int have;
} cardkeys;

typedef struct flow {
	pcard_srv *srv;
	pcard_keys *keys;
	const pcard_bmsg *m;
	const char *agent;
	char actor[PCARD_STORE_NAME_MAX + 1];
	/* the session (a stored one, or an enrolment becoming one) */
	pcard_store_session s;
	pcard_srv_enrol *pend;
	json_t *plan;			/* owned; written back at commit */
	pcard_store_card card;
	int have_card;
	/* the secure channel and its keys */
	pcard_scp scp;
	cardkeys ck;
	char keyprof[PCARD_STORE_NAME_MAX + 1];
	uint8_t kvn;
	uint8_t kdd[KDD_BYTES];
	/* the jobs of the bundle, index = pcard_bundle_step.job */
	pcard_bjob bj[MAX_JOBS];
	int64_t ids[MAX_JOBS];
	int types[MAX_JOBS];		/* pcard_job_type */
	pcard_job_state from[MAX_JOBS];	/* their state when loaded */
	size_t nb;
	pcard_store_loadfile lf[MAX_JOBS];
	cardkeys newk[MAX_JOBS];
	pcard_bundle_step *steps;
	pcard_bundle b;
	pcard_step_result *res;
	/* the reply */
	char *text;
	size_t text_len;
	unsigned status;
	/* measures of this exchange */
	uint64_t hsm0, tx0;
} flow;

/* ------------------------------------------------------------------------------------------ */
/* Keys */

static void
keys_release(flow *f, cardkeys *k)
{
	if (k->have)
		pcard_keydiv_release_set(f->keys, k->masters, k->set);
	memset(k, 0, sizeof *k);
}

/* The card keys of profile name for this card's KDD (derived in the HSM). */
static pcard_err
keys_of_profile(flow *f, const char *name, cardkeys *k)
{
	pcard_store_profile p;
	pcard_keydiv kd;
	pcard_err e;

	memset(k, 0, sizeof *k);
	if ((e = pcard_store_profile_get(f->srv->st, name, &p)) != PCARD_OK)
		return e;
	if ((e = pcard_keydiv_parse(p.template, &kd)) != PCARD_OK)
		return PCARD_E_KEY;
	for (size_t i = 0; i < 3; i++)
		if ((e = pcard_keys_find(f->keys, p.labels[p.n_labels == 3 ? i : 0],
		    &k->masters[i])) != PCARD_OK)
			return e == PCARD_E_NOT_FOUND ? PCARD_E_KEY : e;
	if ((e = pcard_keydiv_derive_set(f->keys, k->masters, &kd, f->kdd, k->set)) != PCARD_OK)
		return e;
	k->have = 1;
	return PCARD_OK;
}

/* The level of the session for this SCP and i: the configured one where the SCP has it;
 * SCP02 has no R-ENC (0x13 at most), and no R-MAC without it in i. */
static uint8_t
session_level(const pcard_srv *srv, uint8_t scp, uint8_t i)
{
	uint8_t l = srv->cfg.level;

	if (scp == 2)
		l &= 0x13;
	if (!pcard_scp_level_ok(scp, i, l) && pcard_scp_level_ok(scp, i, (uint8_t)(l & 0x03)))
		l &= 0x03;
	return l;
}

/* ------------------------------------------------------------------------------------------ */
/* Replies */

static unsigned
set_error(flow *f, unsigned status, pcard_err code, int retry, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static unsigned
set_error(flow *f, unsigned status, pcard_err code, int retry, const char *fmt, ...)
{
	char msg[PCARD_BMSG_TEXT_MAX + 1];
	json_t *j = NULL;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	pcard_srv_agent_error(&j, status, f->s.id, f->m->step + 1, code, retry, "%s", msg);
	free(f->text);
	f->text = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
	f->text_len = f->text != NULL ? strlen(f->text) : 0;
	json_decref(j);
	f->status = status;
	return status;
}

static pcard_err
set_text_bmsg(flow *f, const pcard_bmsg *r)
{
	pcard_err e;

	free(f->text);
	f->text = NULL;
	if ((f->text = malloc(REPLY_MAX)) == NULL)
		return PCARD_E_NOMEM;
	if ((e = pcard_bmsg_encode(r, f->text, REPLY_MAX, &f->text_len)) != PCARD_OK)
		return e;
	f->status = 200;
	return PCARD_OK;
}

/* The bundle b as step `step` of the session; relay mode: only its first step (the whole
 * bundle text is kept in the plan as "full"). */
static pcard_err
reply_bundle(flow *f, uint32_t step)
{
	pcard_bmsg *r = NULL;
	pcard_bmsg_step *st = NULL;
	int relay = json_is_true(json_object_get(f->plan, "relay"));
	pcard_err e = PCARD_E_NOMEM;

	if ((r = calloc(1, sizeof *r)) == NULL ||
	    (st = calloc(f->b.n, sizeof *st)) == NULL)
		goto out;
	pcard_bmsg_init(r, st, f->b.n, NULL, 0, NULL, 0);
	r->type = PCARD_BMSG_BUNDLE;
	snprintf(r->session, sizeof r->session, "%s", f->s.id);
	r->step = step;
	if ((e = pcard_bmsg_from_bundle(r, &f->b)) != PCARD_OK ||
	    (e = set_text_bmsg(f, r)) != PCARD_OK)
		goto out;
	if (relay) {
		json_object_set_new(f->plan, "full", json_stringn(f->text, f->text_len));
		json_object_set_new(f->plan, "pos", json_integer(0));
		json_object_set_new(f->plan, "acc", json_array());
		r->nsteps = 1;
		e = set_text_bmsg(f, r);
	}
out:
	free(st);
	free(r);
	return e;
}

/* ------------------------------------------------------------------------------------------ */
/* Jobs: from the store to the bundle layer */

static const int bjob_of[] = {
	[PCARD_JOB_INSTALL] = PCARD_BJOB_INSTALL,
	[PCARD_JOB_DELETE] = PCARD_BJOB_DELETE,
	[PCARD_JOB_PERSONALISE] = PCARD_BJOB_DATA,
	[PCARD_JOB_DATA_CHANGE] = PCARD_BJOB_DATA,
	[PCARD_JOB_LOCK_APP] = PCARD_BJOB_LOCK_APP,
	[PCARD_JOB_UNLOCK_APP] = PCARD_BJOB_UNLOCK_APP,
	[PCARD_JOB_LOCK_CARD] = PCARD_BJOB_LOCK_CARD,
	[PCARD_JOB_UNLOCK_CARD] = PCARD_BJOB_UNLOCK_CARD,
	[PCARD_JOB_TERMINATE] = PCARD_BJOB_TERMINATE,
	[PCARD_JOB_ROTATE_KEYS] = PCARD_BJOB_ROTATE_KEYS,
};

static int
hex_aid(const json_t *o, const char *name, pcard_gp_aid *a)
{
	const char *h = json_string_value(json_object_get(o, name));

	a->len = 0;
	return h != NULL && pcard_hex_decode(h, a->b, sizeof a->b, &a->len) == PCARD_OK &&
	    a->len >= 5;
}

/*
 * The packages load file lf imports (its CAP Import component), for the bundle's install
 * order (a library's LOAD before the applets that import it). A load file that does not
 * parse as a CAP leaves none: the card judges it.
 */
static void
load_file_imports(const pcard_store_loadfile *lf, pcard_bjob *b)
{
	pcard_rd r, lfdb;
	pcard_cap *cap = NULL;
	const pcard_cap_info *ci;
	uint32_t tag;

	b->nimports = 0;
	if (lf->data == NULL)
		return;
	pcard_rd_init(&r, lf->data, lf->size);
	if (pcard_tlv_next(&r, &tag, &lfdb) != PCARD_OK || tag != 0xC4 ||
	    pcard_cap_open_lfdb(pcard_rd_ptr(&lfdb), pcard_rd_left(&lfdb), &cap) != PCARD_OK)
		return;
	ci = pcard_cap_get_info(cap);
	for (size_t i = 0; i < ci->nimports && b->nimports < PCARD_BJOB_IMPORTS_MAX; i++)
		if (pcard_gp_aid_set(&b->imports[b->nimports], ci->imports[i].aid.b,
		    ci->imports[i].aid.len) == PCARD_OK)
			b->nimports++;
	pcard_cap_free(cap);
}

/*
 * Add store job j as f->bj[f->nb]. build: the bundle will carry its commands (load file
 * bytes read, new keys derived); else only what judging the answers needs. why receives the
 * reason when the job cannot be sent (PCARD_E_INVALID_ARG: fail it).
 */
static pcard_err
add_job(flow *f, const pcard_store_job *j, int build, const char **why)
{
	pcard_bjob *b;
	const json_t *p = j->params;
	json_int_t v;
	size_t n = 0;
	const char *h;
	pcard_err e;

	*why = NULL;
	if (f->nb >= MAX_JOBS) {
		*why = "too many jobs for one session (left for the next)";
		return PCARD_E_NOSPACE;
	}
	b = &f->bj[f->nb];
	memset(b, 0, sizeof *b);
	b->id = (uint64_t)j->id;
	if ((unsigned)j->type >= sizeof bjob_of / sizeof bjob_of[0] || bjob_of[j->type] == 0) {
		*why = "unknown job type";
		return PCARD_E_INVALID_ARG;
	}
	b->type = bjob_of[j->type];
	switch (j->type) {
	case PCARD_JOB_INSTALL: {
		json_int_t lfid = json_integer_value(json_object_get(p, "loadfile"));
		pcard_store_loadfile *lf = &f->lf[f->nb];

		/* no instance: a library (no applet), load only */
		hex_aid(p, "instance", &b->instance);
		hex_aid(p, "module", &b->module);
		if ((e = pcard_store_loadfile_get(f->srv->st, lfid, build, lf)) != PCARD_OK) {
			*why = "its load file is no longer in the catalogue";
			return e == PCARD_E_NOT_FOUND ? PCARD_E_INVALID_ARG : e;
		}
		memcpy(b->elf.b, lf->aid, lf->aid_len);
		b->elf.len = lf->aid_len;
		b->load_file = lf->data;
		b->load_file_len = build ? lf->size : 0;
		if (build)
			load_file_imports(lf, b);
		b->privs = (uint32_t)json_integer_value(json_object_get(p, "privileges"));
		h = json_string_value(json_object_get(p, "params"));
		if (h != NULL && pcard_hex_decode(h, b->params, sizeof b->params,
		    &b->params_len) != PCARD_OK) {
			*why = "install parameters unreadable";
			return PCARD_E_INVALID_ARG;
		}
		b->skip_load = json_is_true(json_object_get(j->result, "elf_present"));
		break;
	}
	case PCARD_JOB_DELETE:
	case PCARD_JOB_LOCK_APP:
	case PCARD_JOB_UNLOCK_APP:
		if (!hex_aid(p, "aid", &b->aid)) {
			*why = "no AID";
			return PCARD_E_INVALID_ARG;
		}
		b->related = json_is_true(json_object_get(p, "related"));
		break;
	case PCARD_JOB_PERSONALISE:
	case PCARD_JOB_DATA_CHANGE:
		if (!hex_aid(p, "aid", &b->aid)) {
			*why = "no AID";
			return PCARD_E_INVALID_ARG;
		}
		b->version = (uint32_t)json_integer_value(json_object_get(p, "version"));
		if (json_is_integer(json_object_get(p, "expected"))) {
			b->has_expected = 1;
			b->expected = (uint32_t)json_integer_value(json_object_get(p, "expected"));
		}
		h = json_string_value(json_object_get(p, "items"));
		if (h == NULL || pcard_hex_decode(h, b->items, sizeof b->items, &n) != PCARD_OK) {
			*why = "data items unreadable";
			return PCARD_E_INVALID_ARG;
		}
		b->items_len = n;
		b->encrypt = json_is_true(json_object_get(p, "encrypt"));
		break;
	case PCARD_JOB_ROTATE_KEYS:
		v = json_integer_value(json_object_get(p, "new_kvn"));
		b->new_kvn = (uint8_t)v;
		/* the KVN it replaces: the card's when it is sent, kept in its result after */
		v = json_integer_value(json_object_get(j->result, "old_kvn"));
		b->old_kvn = build || v == 0 ? f->kvn : (uint8_t)v;
		if (build) {
			h = json_string_value(json_object_get(p, "profile"));
			if (h == NULL || (e = keys_of_profile(f, h, &f->newk[f->nb])) != PCARD_OK) {
				*why = "the new keys cannot be derived from its profile's master keys";
				return PCARD_E_INVALID_ARG;
			}
			if (f->newk[f->nb].set[0] == f->newk[f->nb].masters[0]) {
				/* template none: the new keys would be the masters, which the
				 * HSM never wraps (docs/keys.md) */
				*why = "its profile has template none: a rotation needs a diversified "
				    "profile (the HSM never wraps a master key)";
				return PCARD_E_INVALID_ARG;
			}
			memcpy(b->new_keys, f->newk[f->nb].set, sizeof b->new_keys);
		}
		break;
	default:
		break;
	}
	if (!build && json_is_true(json_object_get(j->result, "refused_bare"))) {
		/* the last attempt was refused with a SW that carried no R-MAC (record) */
		unsigned sw = 0, ins = 0;
		const char *swh = json_string_value(json_object_get(j->result, "sw"));

		if (swh != NULL && sscanf(swh, "%4x", &sw) == 1 && sw != 0 && sw != 0x9000) {
			ins = (unsigned)json_integer_value(json_object_get(j->result, "ins"));
			b->refused_sw = (uint16_t)sw;
			b->refused_ins = (uint8_t)ins;
		}
	}
	f->ids[f->nb] = j->id;
	f->types[f->nb] = j->type;
	f->from[f->nb] = j->state;
	f->nb++;
	return PCARD_OK;
}

static void
jobs_release(flow *f)
{
	for (size_t i = 0; i < MAX_JOBS; i++) {
		keys_release(f, &f->newk[i]);
		pcard_store_loadfile_clear(&f->lf[i]);
	}
	f->nb = 0;
}

/* ------------------------------------------------------------------------------------------ */
/* The card's view */

static json_t *
obj_member(json_t *o, const char *name)
{
	json_t *v = json_object_get(o, name);

	if (!json_is_object(v)) {
		v = json_object();
		json_object_set_new(o, name, v);
	}
	return v;
}

static void
aid_hex(const pcard_gp_aid *a, char out[33])
{
	if (pcard_hex_encode(a->b, a->len, out, 33) != PCARD_OK)
		out[0] = '\0';
}

/* What a done job changed on the card, in its contents document (docs/server.md). */
static void
view_apply(flow *f, json_t *doc, size_t i)
{
	const pcard_bjob *b = &f->bj[i];
	json_t *apps = obj_member(doc, "applications"), *elfs = obj_member(doc, "load_files");
	char a[33], e[33];

	switch (b->type) {
	case PCARD_BJOB_INSTALL:
		aid_hex(&b->elf, e);
		json_object_set_new(elfs, e, json_pack("{s:s}", "state", "loaded"));
		if (b->instance.len == 0)
			break;	/* load only */
		aid_hex(&b->instance, a);
		json_object_set_new(apps, a, json_pack("{s:s,s:s}", "load_file", e, "state",
		    "selectable"));
		break;
	case PCARD_BJOB_DELETE: {
		const char *k;
		json_t *v, *tmp;

		aid_hex(&b->aid, a);
		json_object_del(apps, a);
		if (json_object_get(elfs, a) != NULL && b->related) {
			/* an ELF with related objects: its instances went with it */
			json_object_foreach_safe(apps, tmp, k, v) {
				const char *lfa = json_string_value(json_object_get(v, "load_file"));

				if (lfa != NULL && strcmp(lfa, a) == 0)
					json_object_del(apps, k);
			}
		}
		json_object_del(elfs, a);
		break;
	}
	case PCARD_BJOB_LOCK_APP:
	case PCARD_BJOB_UNLOCK_APP:
		aid_hex(&b->aid, a);
		if (json_is_object(json_object_get(apps, a)))
			json_object_set_new(json_object_get(apps, a), "state",
			    json_string(b->type == PCARD_BJOB_LOCK_APP ? "locked" : "selectable"));
		break;
	case PCARD_BJOB_DATA:
		aid_hex(&b->aid, a);
		json_object_set_new(obj_member(doc, "data_versions"), a,
		    json_integer(b->version));
		break;
	case PCARD_BJOB_LOCK_CARD:
		json_object_set_new(doc, "life_cycle", json_string("CARD_LOCKED"));
		f->card.life_cycle = 0x7F;
		break;
	case PCARD_BJOB_UNLOCK_CARD:
		json_object_set_new(doc, "life_cycle", json_string("SECURED"));
		f->card.life_cycle = 0x0F;
		break;
	case PCARD_BJOB_TERMINATE:
		json_object_set_new(doc, "life_cycle", json_string("TERMINATED"));
		f->card.life_cycle = 0xFF;
		break;
	case PCARD_BJOB_ROTATE_KEYS: {
		pcard_store_job sj;

		/* the card now answers the new KVN with the new profile's keys */
		f->card.kvn[0] = b->new_kvn;
		f->card.n_kvn = 1;
		if (pcard_store_job_get(f->srv->st, f->ids[i], &sj) == PCARD_OK) {
			const char *pn = json_string_value(json_object_get(sj.params, "profile"));

			if (pn != NULL)
				snprintf(f->card.profile, sizeof f->card.profile, "%s", pn);
			pcard_store_job_clear(&sj);
		}
		json_object_set_new(doc, "key_versions", json_pack("[i]", b->new_kvn));
		break;
	}
	default:
		break;
	}
}

/* ------------------------------------------------------------------------------------------ */
/* Commit */

static json_t *
metrics_of(flow *f)
{
	json_t *m = json_object_get(f->plan, "metrics");

	if (!json_is_object(m)) {
		m = json_pack("{s:i,s:i,s:i}", "exchanges", 0, "hsm_calls", 0, "store_tx", 0);
		json_object_set_new(f->plan, "metrics", m);
	}
	return m;
}

static uint64_t
hsm_calls(flow *f)
{
	pcard_hsm_stats hs;

	if (f->srv->hsm == NULL)
		return 0;
	pcard_hsm_get_stats(f->srv->hsm, &hs);
	return hs.calls;
}

/* Account this exchange in the plan's metrics (the commit about to run counted). */
static void
metrics_add(flow *f)
{
	json_t *m = metrics_of(f);

	json_object_set_new(m, "exchanges",
	    json_integer(json_integer_value(json_object_get(m, "exchanges")) + 1));
	json_object_set_new(m, "hsm_calls", json_integer(json_integer_value(json_object_get(m,
	    "hsm_calls")) + (json_int_t)(hsm_calls(f) - f->hsm0)));
	json_object_set_new(m, "store_tx", json_integer(json_integer_value(json_object_get(m,
	    "store_tx")) + (json_int_t)(pcard_store_tx_count(f->srv->st) - f->tx0 + 1)));
}

/* Write the reply into the plan, move the session to step+1 (compare-and-set) with state,
 * inside the caller's open transaction. */
static pcard_err
session_advance(flow *f, pcard_session_state state)
{
	uint32_t expected = f->s.step;

	json_object_set_new(f->plan, "reply", json_stringn(f->text, f->text_len));
	json_object_set_new(f->plan, "status", json_integer(f->status));
	metrics_add(f);
	f->s.plan = f->plan;
	f->s.step = f->m->step + 1;
	f->s.state = state;
	f->s.expires = pcard_store_now(f->srv->st) + (int64_t)f->srv->cfg.session_expiry * 1000;
	return pcard_store_session_update(f->srv->st, &f->s, expected);
}

static pcard_err
audit(flow *f, const char *action, json_t *det)
{
	pcard_err e = pcard_store_audit_append(f->srv->st, f->actor, action, f->s.card, det, NULL);

	json_decref(det);
	return e;
}

static pcard_err
transition(flow *f, size_t i, pcard_job_state to, const json_t *result, const char *reason)
{
	pcard_err e = pcard_store_job_transition(f->srv->st, f->ids[i], f->from[i], to, f->s.id,
	    result, reason);

	if (e == PCARD_OK)
		f->from[i] = to;
	return e;
}

/* ------------------------------------------------------------------------------------------ */
/* Building bundles */

/* Jobs of the card in the states of mask, oldest first, as store jobs (owned). */
static pcard_err
card_jobs(flow *f, unsigned mask, pcard_store_job **jobs, size_t *n)
{
	return pcard_store_job_list(f->srv->st, f->s.card, mask, jobs, n);
}


/* A job to send again in this session (reconciliation found it did not happen). */
typedef struct again {
	int64_t id;
	int elf_present;
} again;

/*
 * Start a new job list (f->nb must be 0) with the card's queued jobs and those of `ag`, append
 * their commands to f->b and mark them sent (a rotation keeps the KVN it replaces in its
 * result). Jobs that cannot be sent are failed with their reason. In the open transaction.
 */
static pcard_err
build_jobs(flow *f, const again *ag, size_t nag, int *any)
{
	pcard_store_job *q = NULL;
	size_t nq = 0;
	const char *why;
	pcard_err e;

	*any = 0;
	if ((e = card_jobs(f, PCARD_JOB_STATE_BIT(PCARD_JOB_QUEUED) |
	    PCARD_JOB_STATE_BIT(PCARD_JOB_NEEDS_RECONCILE) | PCARD_JOB_STATE_BIT(PCARD_JOB_SENT),
	    &q, &nq)) != PCARD_OK)
		return e;
	for (size_t k = 0; k < nq; k++) {
		int want = q[k].state == PCARD_JOB_QUEUED, elf = 0;

		for (size_t a = 0; a < nag && !want; a++)
			if (ag[a].id == q[k].id) {
				want = 1;
				elf = ag[a].elf_present;
			}
		if (!want)
			continue;
		e = add_job(f, &q[k], 1, &why);
		if (e == PCARD_E_NOSPACE)
			break;
		if (e == PCARD_E_INVALID_ARG && q[k].state == PCARD_JOB_QUEUED) {
			if ((e = pcard_store_job_transition(f->srv->st, q[k].id, PCARD_JOB_QUEUED,
			    PCARD_JOB_FAILED, f->s.id, NULL, why)) != PCARD_OK)
				goto out;
			continue;
		}
		if (e != PCARD_OK)
			goto out;
		if (elf)
			f->bj[f->nb - 1].skip_load = 1;
	}
	if (f->nb > 0 && (e = pcard_bundle_add_jobs(&f->b, &f->scp, f->keys, f->bj, f->nb)) !=
	    PCARD_OK)
		goto out;
	for (size_t i = 0; i < f->nb; i++) {
		json_t *r = json_object();

		if (f->bj[i].type == PCARD_BJOB_ROTATE_KEYS)
			json_object_set_new(r, "old_kvn", json_integer(f->bj[i].old_kvn));
		if (f->bj[i].skip_load)
			json_object_set_new(r, "elf_present", json_true());
		e = PCARD_OK;
		if (f->from[i] == PCARD_JOB_SENT)
			e = transition(f, i, PCARD_JOB_NEEDS_RECONCILE, NULL, NULL);
		if (e == PCARD_OK)
			e = transition(f, i, PCARD_JOB_IN_SESSION, r, NULL);
		if (e == PCARD_OK)
			e = transition(f, i, PCARD_JOB_SENT, r, NULL);
		json_decref(r);
		if (e != PCARD_OK)
			goto out;
	}
	*any = f->nb > 0;
	e = PCARD_OK;
out:
	pcard_store_jobs_free(q, nq);
	return e;
}

static void
plan_jobs(flow *f)
{
	json_t *a = json_array();

	for (size_t i = 0; i < f->nb; i++)
		json_array_append_new(a, json_integer(f->ids[i]));
	json_object_set_new(f->plan, "jobs", a);
}

/* Export the channel (no key: scp_bundle.h) and the steps' records into the plan. */
static pcard_err
plan_save(flow *f, const char *phase)
{
	uint8_t blob[PCARD_SCPB_STATE_MAX];
	char bhex[2 * PCARD_SCPB_STATE_MAX + 1], *shex = NULL;
	size_t bn = 0;
	pcard_err e;

	if ((e = pcard_scpb_export(&f->scp, blob, sizeof blob, &bn)) != PCARD_OK ||
	    (e = pcard_hex_encode(blob, bn, bhex, sizeof bhex)) != PCARD_OK ||
	    (e = pcard_srv_plan_encode(&f->b, &shex)) != PCARD_OK)
		return e;
	json_object_set_new(f->plan, "phase", json_string(phase));
	json_object_set_new(f->plan, "blob", json_string(bhex));
	json_object_set_new(f->plan, "steps", json_string(shex));
	free(shex);
	plan_jobs(f);
	return PCARD_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* Outcomes */

/*
 * Record the outcome o of job i in the store (in the open transaction) and in the plan's
 * "decided" list that the result message reports. NOT_DONE and UNKNOWN leave the job in
 * needs_reconcile (a NOT_DONE job is sent again by the caller when the channel allows).
 */
static pcard_err
record(flow *f, size_t i, const pcard_bjob_result *o, json_t *doc)
{
	char why[PCARD_STORE_REASON_MAX + 1], sw[5];
	json_t *r, *dec = json_object_get(f->plan, "decided");
	pcard_err e = PCARD_OK;

	if (!json_is_array(dec)) {
		dec = json_array();
		json_object_set_new(f->plan, "decided", dec);
	}
	snprintf(sw, sizeof sw, "%04X", o->sw);
	snprintf(why, sizeof why, "%s", o->why != NULL ? o->why : "");
	if (o->state == PCARD_BJOB_FAILED && o->sw != 0 && o->sw != 0x9000 &&
	    (o->why == NULL || strncmp(o->why, sw, 4) != 0))	/* explanations name the SW */
		snprintf(why, sizeof why, "%04X on %s: %s", o->sw,
		    pcard_bjob_type_name(f->bj[i].type), o->why != NULL ? o->why : "");
	r = json_pack("{s:s,s:b,s:s,s:s}", "sw", sw, "rmac", o->macd, "why", why, "session",
	    f->s.id);
	if (o->state == PCARD_BJOB_UNKNOWN && o->err == PCARD_OK && !o->macd && o->sw != 0 &&
	    o->sw != 0x9000) {
		/* refused with a SW that travelled bare (SCP03): if the next session's R-MACed
		 * reads show the job did not happen, it fails with this SW (add_job) */
		json_object_set_new(r, "refused_bare", json_true());
		json_object_set_new(r, "ins", json_integer(o->ins));
	}
	if (f->bj[i].type == PCARD_BJOB_ROTATE_KEYS)
		json_object_set_new(r, "old_kvn", json_integer(f->bj[i].old_kvn));
	switch (o->state) {
	case PCARD_BJOB_DONE:
		e = transition(f, i, PCARD_JOB_DONE, r, NULL);
		view_apply(f, doc, i);
		f->srv->m.jobs_done++;
		break;
	case PCARD_BJOB_FAILED:
		e = transition(f, i, PCARD_JOB_FAILED, r, why);
		f->srv->m.jobs_failed++;
		break;
	default:
		if (f->from[i] != PCARD_JOB_NEEDS_RECONCILE)
			e = transition(f, i, PCARD_JOB_NEEDS_RECONCILE, r, NULL);
		if (o->state == PCARD_BJOB_UNKNOWN)
			f->srv->m.jobs_unknown++;
		break;
	}
	json_decref(r);
	json_array_append_new(dec, json_pack("{s:I,s:i,s:s,s:s}", "id", (json_int_t)f->ids[i],
	    "state", o->state, "sw", sw, "why", why));
	return e;
}

/* The result message from the plan's "decided" list (the last word on each job). */
static pcard_err
reply_result(flow *f)
{
	json_t *dec = json_object_get(f->plan, "decided"), *d;
	pcard_bmsg_job *jobs = NULL;
	pcard_bmsg *r = NULL;
	size_t n = json_array_size(dec), k, nj = 0;
	pcard_err e = PCARD_E_NOMEM;

	if ((r = calloc(1, sizeof *r)) == NULL || (jobs = calloc(n + 1, sizeof *jobs)) == NULL)
		goto out;
	json_array_foreach(dec, k, d) {
		uint64_t id = (uint64_t)json_integer_value(json_object_get(d, "id"));
		size_t at = nj;
		const char *sw = json_string_value(json_object_get(d, "sw"));
		unsigned v = 0;

		for (size_t x = 0; x < nj; x++)
			if (jobs[x].id == id)
				at = x;	/* a later decision replaces an earlier one */
		if (at == nj)
			nj++;
		jobs[at].id = id;
		jobs[at].state = (int)json_integer_value(json_object_get(d, "state"));
		if (sw != NULL && sscanf(sw, "%4x", &v) == 1)
			jobs[at].sw = (uint16_t)v;
		snprintf(jobs[at].why, sizeof jobs[at].why, "%s",
		    json_string_value(json_object_get(d, "why")) != NULL ?
		    json_string_value(json_object_get(d, "why")) : "");
	}
	pcard_bmsg_init(r, NULL, 0, NULL, 0, jobs, n + 1);
	r->type = PCARD_BMSG_RESULT;
	snprintf(r->session, sizeof r->session, "%s", f->s.id);
	r->step = f->m->step + 1;
	r->njobs = nj;
	e = set_text_bmsg(f, r);
out:
	free(jobs);
	free(r);
	return e;
}

/* ------------------------------------------------------------------------------------------ */
/* Closing */

/* End the session in the open transaction: card row and view written, session closed with
 * the reply, audit record with the session's measures. */
static pcard_err
close_session(flow *f, json_t *doc, const char *action, json_t *det)
{
	pcard_err e;

	if (f->have_card) {
		f->card.last_seen = pcard_store_now(f->srv->st);
		if ((e = pcard_store_card_put(f->srv->st, &f->card)) != PCARD_OK)
			return e;
		if (doc != NULL && (e = pcard_store_contents_put(f->srv->st, f->s.card, doc)) !=
		    PCARD_OK)
			return e;
	}
	json_object_set_new(f->plan, "phase", json_string("closed"));
	json_object_del(f->plan, "blob");
	json_object_del(f->plan, "steps");
	json_object_del(f->plan, "full");
	json_object_del(f->plan, "acc");
	if ((e = session_advance(f, PCARD_SESSION_CLOSED)) != PCARD_OK)
		return e;
	if (det == NULL)
		det = json_object();
	json_object_set_new(det, "session", json_string(f->s.id));
	json_object_set(det, "metrics", metrics_of(f));
	f->srv->m.sessions_closed++;
	return audit(f, action, det);
}

/* Fail the session before any bundle: the reply (already set) is kept, nothing else. */
static unsigned
fail_early(flow *f, const char *action, json_t *det)
{
	unsigned st = f->status;
	pcard_err e;

	if (f->pend != NULL) {
		json_decref(det);
		memset(f->pend, 0, sizeof *f->pend);
		return st;
	}
	if ((e = pcard_store_begin(f->srv->st)) != PCARD_OK) {
		json_decref(det);
		return set_error(f, 503, e, 1, "store: %s", pcard_strerror(e));
	}
	if ((e = close_session(f, NULL, action, det)) != PCARD_OK ||
	    (e = pcard_store_commit(f->srv->st)) != PCARD_OK) {
		pcard_store_rollback(f->srv->st);
		return set_error(f, e == PCARD_E_CONFLICT ? 409 : 500, e, 0, "store: %s",
		    pcard_strerror(e));
	}
	return st;
}

/* ------------------------------------------------------------------------------------------ */
/* Step: INITIALIZE UPDATE answered */

/* Names of the key profiles to try for this card and KVN, best first. */
static size_t
candidates(flow *f, uint8_t scp, char names[][PCARD_STORE_NAME_MAX + 1], size_t cap)
{
	size_t n = 0, i;
	json_t *p;

	if (f->pend != NULL) {
		json_array_foreach(f->srv->cfg.profiles, i, p) {
			json_int_t ps = json_integer_value(json_object_get(p, "scp"));

			if (n < cap && json_is_true(json_object_get(p, "enrol")) && ps == scp)
				snprintf(names[n++], PCARD_STORE_NAME_MAX + 1, "%s",
				    json_string_value(json_object_get(p, "name")));
		}
		return n;
	}
	{
		/* a rotation not yet confirmed whose new KVN the card answers: its keys */
		pcard_store_job *r = NULL;
		size_t nr = 0;

		if (card_jobs(f, PCARD_JOB_STATE_BIT(PCARD_JOB_SENT) |
		    PCARD_JOB_STATE_BIT(PCARD_JOB_NEEDS_RECONCILE) |
		    PCARD_JOB_STATE_BIT(PCARD_JOB_IN_SESSION), &r, &nr) == PCARD_OK) {
			for (i = 0; i < nr; i++) {
				const char *pn = json_string_value(json_object_get(r[i].params,
				    "profile"));

				if (r[i].type == PCARD_JOB_ROTATE_KEYS && pn != NULL && n < cap &&
				    json_integer_value(json_object_get(r[i].params, "new_kvn")) ==
				    f->kvn)
					snprintf(names[n++], PCARD_STORE_NAME_MAX + 1, "%s", pn);
			}
			pcard_store_jobs_free(r, nr);
		}
	}
	if (n < cap && f->card.profile[0] != '\0')
		snprintf(names[n++], PCARD_STORE_NAME_MAX + 1, "%s", f->card.profile);
	return n;
}

/* Try the card cryptogram with profile name's keys: PCARD_OK leaves f->scp authenticated. */
static pcard_err
try_profile(flow *f, const char *name, const uint8_t *iu, size_t n)
{
	pcard_store_profile p;
	pcard_scp_host_params hp;
	pcard_scp_keyset ks;
	uint8_t cmd[64];
	size_t nc;
	pcard_err e;

	pcard_scp_clear(&f->scp);
	keys_release(f, &f->ck);
	if ((e = pcard_store_profile_get(f->srv->st, name, &p)) != PCARD_OK ||
	    (e = keys_of_profile(f, name, &f->ck)) != PCARD_OK)
		return e;
	ks.enc = f->ck.set[0];
	ks.mac = f->ck.set[1];
	ks.dek = f->ck.set[2];
	memset(&hp, 0, sizeof hp);
	hp.scp = iu[11];
	if (hp.scp == 2)
		hp.scp02_i = f->have_card && f->card.scp == 2 && f->card.i != 0 ? f->card.i : p.i;
	hp.host_chal = f->s.host_challenge;
	hp.host_chal_len = f->s.host_challenge_len;
	pcard_scp_init(&f->scp);
	if ((e = pcard_scp_host_init_update(&f->scp, f->keys, &ks, &hp, cmd, sizeof cmd, &nc)) !=
	    PCARD_OK)
		return e;
	if ((e = pcard_scp_host_auth(&f->scp, iu, n)) != PCARD_OK)
		return e;
	snprintf(f->keyprof, sizeof f->keyprof, "%s", name);
	return PCARD_OK;
}

static unsigned
on_iu(flow *f)
{
	const pcard_bmsg *m = f->m;
	int relay = json_is_true(json_object_get(f->plan, "relay"));
	const pcard_bmsg_rsp *iu;
	char names[8][PCARD_STORE_NAME_MAX + 1], kdd_hex[2 * KDD_BYTES + 1];
	size_t nn, want = relay ? 1 : 2;
	pcard_err e = PCARD_E_INTERNAL;
	uint8_t scp;
	int any = 0, rec = 0;
	const char *phase;
	pcard_session_state state;
	json_t *det;

	if (m->nrsps != want || m->stop != PCARD_BMSG_STOP_COMPLETE) {
		set_error(f, 400, PCARD_E_BAD_ENCODING, 0, "step %u: expected %zu answer(s) "
		    "ending with the INITIALIZE UPDATE response, got %zu (stop %d)",
		    (unsigned)m->step, want, m->nrsps, m->stop);
		return fail_early(f, "session.failed", json_pack("{s:s}", "why", "no IU answer"));
	}
	iu = &m->rsps[want - 1];
	if ((e = pcard_bundle_iu_kvn(iu->b, iu->len, &f->kvn)) != PCARD_OK) {
		uint16_t sw = (uint16_t)(iu->b[iu->len - 2] << 8 | iu->b[iu->len - 1]);

		set_error(f, 403, e, 0, "the card refused INITIALIZE UPDATE: %04X (%s)", sw,
		    pcard_sw_explain(sw, 0x50));
		return fail_early(f, "session.failed", json_pack("{s:s,s:i}", "why",
		    "INITIALIZE UPDATE refused", "sw", sw));
	}
	if (iu->len < 12 + 2) {
		set_error(f, 400, PCARD_E_TRUNCATED, 0, "INITIALIZE UPDATE response too short");
		return fail_early(f, "session.failed", NULL);
	}
	memcpy(f->kdd, iu->b, KDD_BYTES);
	scp = iu->b[11];
	nn = candidates(f, scp, names, 8);
	e = PCARD_E_AUTH;
	for (size_t k = 0; k < nn; k++) {
		e = try_profile(f, names[k], iu->b, iu->len);
		if (e == PCARD_OK || (e != PCARD_E_AUTH && e != PCARD_E_KEY &&
		    e != PCARD_E_UNSUPPORTED && e != PCARD_E_BAD_ENCODING))
			break;
	}
	if (e != PCARD_OK) {
		f->srv->m.auth_failures++;
		if (nn == 0)
			set_error(f, 403, PCARD_E_AUTH, 0, "no key profile for this card (SCP%02X)",
			    scp);
		else
			set_error(f, 403, PCARD_E_AUTH, 0, "the card cryptogram does not verify "
			    "with the keys of profile %s (KVN %02X): %s; nothing was sent to the "
			    "card", names[0], f->kvn, pcard_strerror(e));
		return fail_early(f, "session.auth_failed", json_pack("{s:s,s:i,s:s}",
		    "profile", nn > 0 ? names[0] : "", "kvn", f->kvn, "error", pcard_errname(e)));
	}

	/* authenticated: one transaction from here */
	if ((e = pcard_store_begin(f->srv->st)) != PCARD_OK)
		return set_error(f, 503, e, 1, "store: %s", pcard_strerror(e));
	if (f->pend != NULL) {
		pcard_store_profile p;

		memset(&f->card, 0, sizeof f->card);
		snprintf(f->card.id, sizeof f->card.id, "%s", f->s.card);
		memcpy(f->card.kdd, f->kdd, KDD_BYTES);
		f->card.kdd_len = KDD_BYTES;
		snprintf(f->card.profile, sizeof f->card.profile, "%s", f->keyprof);
		f->card.kvn[0] = f->kvn;
		f->card.n_kvn = 1;
		f->card.scp = scp;
		if ((e = pcard_store_profile_get(f->srv->st, f->keyprof, &p)) != PCARD_OK)
			goto fail;
		f->card.i = scp == 2 ? p.i : pcard_scp_i(&f->scp);
		f->card.last_seen = pcard_store_now(f->srv->st);
		f->s.scp = f->card.scp;
		f->s.i = f->card.i;
		f->s.expires = pcard_store_now(f->srv->st) +
		    (int64_t)f->srv->cfg.session_expiry * 1000;
		f->s.plan = f->plan;
		if ((e = pcard_store_card_enrol(f->srv->st, &f->card)) != PCARD_OK ||
		    (e = pcard_store_session_create(f->srv->st, &f->s)) != PCARD_OK ||
		    (e = audit(f, "card.enrol", json_pack("{s:s,s:s,s:i,s:i,s:s}", "profile",
		    f->keyprof, "session", f->s.id, "kvn", f->kvn, "scp", scp, "agent",
		    f->agent))) != PCARD_OK)
			goto fail;
		f->have_card = 1;
		f->srv->m.enrolled++;
		f->srv->m.sessions_opened++;
	}
	if (f->card.kdd_len == 0) {
		memcpy(f->card.kdd, f->kdd, KDD_BYTES);
		f->card.kdd_len = KDD_BYTES;
	}
	f->card.last_seen = pcard_store_now(f->srv->st);
	if ((e = pcard_store_card_put(f->srv->st, &f->card)) != PCARD_OK)
		goto fail;
	if ((e = pcard_bundle_add_ext_auth(&f->b, &f->scp, session_level(f->srv, scp,
	    pcard_scp_i(&f->scp)))) != PCARD_OK)
		goto fail;
	{
		pcard_store_job *r = NULL;
		size_t nr = 0;
		again ag[MAX_JOBS];
		size_t nag = 0;
		const char *why;

		if ((e = card_jobs(f, PCARD_JOB_STATE_BIT(PCARD_JOB_SENT) |
		    PCARD_JOB_STATE_BIT(PCARD_JOB_NEEDS_RECONCILE), &r, &nr)) != PCARD_OK)
			goto fail;
		if (nr > 0 && f->srv->cfg.reconcile) {
			for (size_t k = 0; k < nr && e == PCARD_OK; k++)
				if ((e = add_job(f, &r[k], 0, &why)) == PCARD_E_NOSPACE)
					e = PCARD_OK;
			for (size_t i = 0; i < f->nb && e == PCARD_OK; i++)
				if (f->from[i] == PCARD_JOB_SENT)
					e = transition(f, i, PCARD_JOB_NEEDS_RECONCILE, NULL, NULL);
			if (e == PCARD_OK)
				e = pcard_bundle_add_reconcile(&f->b, &f->scp, f->keys, f->bj,
				    f->nb);
			rec = 1;
			any = 1;
		} else {
			/* reconciliation off (a negative control): send them again blindly */
			for (size_t k = 0; k < nr && nag < MAX_JOBS; k++)
				ag[nag++].id = r[k].id;
			for (size_t k = 0; k < nag; k++)
				ag[k].elf_present = 0;
			e = build_jobs(f, ag, nag, &any);
		}
		pcard_store_jobs_free(r, nr);
		if (e != PCARD_OK)
			goto fail;
	}
	json_object_set_new(f->plan, "keyprof", json_string(f->keyprof));
	json_object_set_new(f->plan, "kvn", json_integer(f->kvn));
	if ((e = pcard_hex_encode(f->kdd, KDD_BYTES, kdd_hex, sizeof kdd_hex)) != PCARD_OK)
		goto fail;
	json_object_set_new(f->plan, "kdd", json_string(kdd_hex));
	det = json_pack("{s:s,s:s,s:i,s:i,s:i,s:b}", "session", f->s.id, "profile", f->keyprof,
	    "kvn", f->kvn, "level", pcard_scp_level(&f->scp), "steps", (int)f->b.n,
	    "reconcile", rec);
	if (!any) {
		/* nothing to do: the card is known to be genuine, the session ends here */
		json_decref(det);
		if ((e = reply_result(f)) != PCARD_OK ||
		    (e = close_session(f, NULL, "session.close", json_pack("{s:s}", "why",
		    "no job for the card"))) != PCARD_OK)
			goto fail;
	} else {
		phase = rec ? "reconcile" : "bundle";
		state = rec ? PCARD_SESSION_RECONCILING : PCARD_SESSION_AUTHENTICATED;
		if ((e = plan_save(f, phase)) != PCARD_OK ||
		    (e = reply_bundle(f, m->step + 1)) != PCARD_OK ||
		    (e = session_advance(f, state)) != PCARD_OK ||
		    (e = audit(f, "session.auth", det)) != PCARD_OK)
			goto fail;
	}
	if ((e = pcard_store_commit(f->srv->st)) != PCARD_OK)
		goto fail;
	if (f->pend != NULL)
		memset(f->pend, 0, sizeof *f->pend);
	f->srv->m.exchanges++;
	return f->status;
fail:
	pcard_store_rollback(f->srv->st);
	if (e == PCARD_E_EXISTS)
		return set_error(f, 409, PCARD_E_CONFLICT, 0, "card %s was registered or enrolled "
		    "meanwhile; start again", f->s.card);
	if (e == PCARD_E_CONFLICT)
		return set_error(f, 409, e, 0, "step %u was answered meanwhile", (unsigned)m->step);
	return set_error(f, e == PCARD_E_BUSY ? 503 : 500, e, e == PCARD_E_BUSY,
	    "building the bundle: %s", pcard_strerror(e));
}

/* ------------------------------------------------------------------------------------------ */
/* Step: a bundle answered */

static unsigned
on_answers(flow *f, const pcard_bundle_rsp *rsp, size_t nrsp)
{
	const char *phase = json_string_value(json_object_get(f->plan, "phase"));
	const char *bhex = json_string_value(json_object_get(f->plan, "blob"));
	const char *kdd = json_string_value(json_object_get(f->plan, "kdd"));
	json_t *ids = json_object_get(f->plan, "jobs"), *v, *doc = NULL;
	uint8_t blob[PCARD_SCPB_STATE_MAX];
	pcard_bjob_result out[MAX_JOBS];
	pcard_scp_keyset ks;
	size_t bn = 0, k, bad_step = (size_t)-1, nbad = 0;
	int rec = phase != NULL && strcmp(phase, "reconcile") == 0, any = 0;
	pcard_err e;
	const char *why;

	snprintf(f->keyprof, sizeof f->keyprof, "%s",
	    json_string_value(json_object_get(f->plan, "keyprof")) != NULL ?
	    json_string_value(json_object_get(f->plan, "keyprof")) : "");
	f->kvn = (uint8_t)json_integer_value(json_object_get(f->plan, "kvn"));
	if (bhex == NULL || kdd == NULL ||
	    pcard_hex_decode_exact(kdd, f->kdd, KDD_BYTES) != PCARD_OK ||
	    pcard_hex_decode(bhex, blob, sizeof blob, &bn) != PCARD_OK ||
	    pcard_srv_plan_decode(json_string_value(json_object_get(f->plan, "steps")), &f->b) !=
	    PCARD_OK)
		return set_error(f, 500, PCARD_E_BAD_FILE, 0, "the stored session is unreadable");
	if ((e = keys_of_profile(f, f->keyprof, &f->ck)) != PCARD_OK)
		return set_error(f, 500, e, 1, "card keys: %s", pcard_strerror(e));
	ks.enc = f->ck.set[0];
	ks.mac = f->ck.set[1];
	ks.dek = f->ck.set[2];
	if ((e = pcard_scpb_import(&f->scp, f->keys, &ks, blob, bn)) != PCARD_OK)
		return set_error(f, 500, e, 1, "session import: %s", pcard_strerror(e));
	/* the bundle's jobs, in the order their steps name them */
	json_array_foreach(ids, k, v) {
		pcard_store_job j;

		if ((e = pcard_store_job_get(f->srv->st, json_integer_value(v), &j)) != PCARD_OK)
			return set_error(f, 500, e, 1, "job %lld: %s",
			    (long long)json_integer_value(v), pcard_strerror(e));
		e = add_job(f, &j, 0, &why);
		pcard_store_job_clear(&j);
		if (e != PCARD_OK)
			return set_error(f, 500, e, 0, "job: %s", why != NULL ? why : "?");
	}
	if ((e = pcard_bundle_verify(&f->scp, &f->b, rsp, nrsp, f->res)) != PCARD_OK)
		return set_error(f, 400, e, 0, "%zu answers for a bundle of %zu steps, or an "
		    "answer under 2 bytes: refused, nothing recorded", nrsp, f->b.n);
	for (k = 0; k < nrsp; k++)
		if (f->res[k].status == PCARD_STEP_BAD_MAC) {
			nbad++;
			if (bad_step == (size_t)-1)
				bad_step = k;
		}
	e = rec ? pcard_bundle_reconcile_decide(&f->b, f->res, f->bj, f->nb, out) :
	    pcard_bundle_outcomes(&f->b, f->res, f->bj, f->nb, out);
	if (e != PCARD_OK)
		return set_error(f, 500, e, 0, "deciding: %s", pcard_strerror(e));

	if ((e = pcard_store_begin(f->srv->st)) != PCARD_OK)
		return set_error(f, 503, e, 1, "store: %s", pcard_strerror(e));
	if ((e = pcard_store_contents_get(f->srv->st, f->s.card, &doc, NULL)) == PCARD_E_NOT_FOUND)
		doc = json_object();
	else if (e != PCARD_OK)
		goto fail;
	{
		again ag[MAX_JOBS];
		size_t nag = 0;

		for (size_t i = 0; i < f->nb; i++) {
			if ((e = record(f, i, &out[i], doc)) != PCARD_OK)
				goto fail;
			if (out[i].state == PCARD_BJOB_NOT_DONE) {
				ag[nag].id = f->ids[i];
				ag[nag++].elf_present = out[i].elf_present;
			}
		}
		if (rec) {
			pcard_store_job *q = NULL;
			size_t nq = 0;

			/* the rest in the same channel when the last answer verified */
			if ((e = card_jobs(f, PCARD_JOB_STATE_BIT(PCARD_JOB_QUEUED), &q, &nq)) !=
			    PCARD_OK)
				goto fail;
			pcard_store_jobs_free(q, nq);
			if ((nag > 0 || nq > 0) &&
			    pcard_bundle_resume(&f->scp, &f->b, f->res, rsp, nrsp) == PCARD_OK) {
				jobs_release(f);
				pcard_bundle_init(&f->b, f->steps, MAX_STEPS);
				if ((e = build_jobs(f, ag, nag, &any)) != PCARD_OK)
					goto fail;
			}
		}
	}
	if (any) {
		if ((e = pcard_store_contents_put(f->srv->st, f->s.card, doc)) != PCARD_OK ||
		    (e = pcard_store_card_put(f->srv->st, &f->card)) != PCARD_OK ||
		    (e = plan_save(f, "bundle")) != PCARD_OK ||
		    (e = reply_bundle(f, f->m->step + 1)) != PCARD_OK ||
		    (e = session_advance(f, PCARD_SESSION_AUTHENTICATED)) != PCARD_OK ||
		    (e = audit(f, "session.reconciled", json_pack("{s:s,s:O,s:i}", "session",
		    f->s.id, "decided", json_object_get(f->plan, "decided"), "steps",
		    (int)f->b.n))) != PCARD_OK)
			goto fail;
	} else {
		if (nbad > 0) {
			set_error(f, 422, PCARD_E_MAC, 0, "the answer to bundle step %zu (INS %02X) "
			    "does not verify (R-MAC): replayed or altered; the jobs it concerns "
			    "stay unknown and are reconciled next session, nothing recorded as done "
			    "from it", bad_step + 1, f->b.steps[bad_step].ins);
		} else if ((e = reply_result(f)) != PCARD_OK)
			goto fail;
		if ((e = close_session(f, doc, "session.close", json_pack("{s:O,s:i}", "decided",
		    json_object_get(f->plan, "decided"), "bad_rmac", (int)nbad))) != PCARD_OK)
			goto fail;
	}
	if ((e = pcard_store_commit(f->srv->st)) != PCARD_OK)
		goto fail;
	json_decref(doc);
	f->srv->m.exchanges++;
	return f->status;
fail:
	json_decref(doc);
	pcard_store_rollback(f->srv->st);
	if (e == PCARD_E_CONFLICT)
		return set_error(f, 409, e, 0, "step %u was answered meanwhile",
		    (unsigned)f->m->step);
	return set_error(f, e == PCARD_E_BUSY ? 503 : 500, e, e == PCARD_E_BUSY,
	    "recording the results: %s", pcard_strerror(e));
}

/* ------------------------------------------------------------------------------------------ */
/* The relay: one step per exchange */

/*
 * Collect the one answer of this exchange. *done = 0 with the reply set when the next step
 * goes out; *done = 1 with rsp[0..*n) every answer of the bundle when it has ended.
 */
static unsigned
relay_collect(flow *f, pcard_bmsg_rsp *acc, pcard_bundle_rsp *rsp, size_t *n, int *done)
{
	const pcard_bmsg *m = f->m;
	const char *full = json_string_value(json_object_get(f->plan, "full"));
	json_t *a = json_object_get(f->plan, "acc"), *v;
	size_t pos = (size_t)json_integer_value(json_object_get(f->plan, "pos")), k;
	pcard_bmsg *b = NULL;
	pcard_bmsg_step *steps = NULL;
	char hex[2 * PCARD_SCP_MAX_RSP + 1];
	unsigned st = 0;
	pcard_err e;
	int ok = 0;

	*done = 0;
	if (m->nrsps > 1)
		return set_error(f, 400, PCARD_E_BAD_ENCODING, 0, "relay mode: one answer per "
		    "exchange, got %zu", m->nrsps);
	if ((b = calloc(1, sizeof *b)) == NULL ||
	    (steps = calloc(PCARD_BMSG_MAX_STEPS, sizeof *steps)) == NULL) {
		st = set_error(f, 500, PCARD_E_NOMEM, 1, "out of memory");
		goto out;
	}
	pcard_bmsg_init(b, steps, PCARD_BMSG_MAX_STEPS, NULL, 0, NULL, 0);
	if (full == NULL || !json_is_array(a) ||
	    pcard_bmsg_parse(full, strlen(full), b, NULL, 0) != PCARD_OK || pos >= b->nsteps) {
		st = set_error(f, 500, PCARD_E_BAD_FILE, 0, "the stored relay bundle is unreadable");
		goto out;
	}
	if (m->nrsps == 1) {
		uint16_t sw = (uint16_t)(m->rsps[0].b[m->rsps[0].len - 2] << 8 |
		    m->rsps[0].b[m->rsps[0].len - 1]);

		if ((e = pcard_hex_encode(m->rsps[0].b, m->rsps[0].len, hex, sizeof hex)) !=
		    PCARD_OK) {
			st = set_error(f, 400, e, 0, "answer too long");
			goto out;
		}
		json_array_append_new(a, json_string(hex));
		for (k = 0; k < steps[pos].n_expect; k++)
			ok |= steps[pos].expect[k] == sw;
		ok = ok && m->stop == PCARD_BMSG_STOP_COMPLETE;
	}
	if (ok && pos + 1 < b->nsteps) {
		/* the next step alone */
		json_object_set_new(f->plan, "pos", json_integer((json_int_t)pos + 1));
		memmove(&steps[0], &steps[pos + 1], sizeof steps[0]);
		b->nsteps = 1;
		b->step = m->step + 1;
		if ((e = set_text_bmsg(f, b)) != PCARD_OK) {
			st = set_error(f, 500, e, 0, "encode: %s", pcard_strerror(e));
			goto out;
		}
		goto out;
	}
	*n = 0;
	json_array_foreach(a, k, v) {
		const char *h = json_string_value(v);

		if (h == NULL || k >= PCARD_BMSG_MAX_STEPS ||
		    pcard_hex_decode(h, acc[k].b, sizeof acc[k].b, &acc[k].len) != PCARD_OK) {
			st = set_error(f, 500, PCARD_E_BAD_FILE, 0, "stored relay answers unreadable");
			goto out;
		}
		rsp[k].p = acc[k].b;
		rsp[k].n = acc[k].len;
		*n = k + 1;
	}
	*done = 1;
out:
	free(steps);
	free(b);
	return st;
}

/* ------------------------------------------------------------------------------------------ */
/* Loading the session */

static pcard_srv_enrol *
enrol_find(pcard_srv *srv, const char *sid)
{
	int64_t now = pcard_store_now(srv->st);

	for (size_t i = 0; i < PCARD_SRV_ENROL_MAX; i++)
		if (srv->enrol[i].used && strcmp(srv->enrol[i].sid, sid) == 0 &&
		    srv->enrol[i].expires > now)
			return &srv->enrol[i];
	return NULL;
}

pcard_srv_enrol *
pcard_srv_enrol_new(pcard_srv *srv)
{
	pcard_srv_enrol_sweep(srv, NULL);
	for (size_t i = 0; i < PCARD_SRV_ENROL_MAX; i++)
		if (!srv->enrol[i].used) {
			memset(&srv->enrol[i], 0, sizeof srv->enrol[i]);
			srv->enrol[i].used = 1;
			srv->enrol[i].expires = pcard_store_now(srv->st) +
			    (int64_t)srv->cfg.session_expiry * 1000;
			return &srv->enrol[i];
		}
	return NULL;
}

void
pcard_srv_enrol_sweep(pcard_srv *srv, const char *card)
{
	int64_t now = pcard_store_now(srv->st);

	for (size_t i = 0; i < PCARD_SRV_ENROL_MAX; i++)
		if (srv->enrol[i].used && (srv->enrol[i].expires <= now ||
		    (card != NULL && strcmp(srv->enrol[i].card, card) == 0))) {
			pcard_wipe(&srv->enrol[i], sizeof srv->enrol[i]);
			srv->enrol[i].used = 0;
		}
}

/* The reply stored for the previous message, as *out. */
static unsigned
stored_reply(flow *f)
{
	const char *t = json_string_value(json_object_get(f->plan, "reply"));

	if (t == NULL)
		return set_error(f, 409, PCARD_E_CONFLICT, 0, "step %u is not the session's",
		    (unsigned)f->m->step);
	free(f->text);
	f->text = strdup(t);
	f->text_len = f->text != NULL ? strlen(f->text) : 0;
	f->status = (unsigned)json_integer_value(json_object_get(f->plan, "status"));
	if (f->status == 0)
		f->status = 200;
	f->srv->m.retries++;
	return f->status;
}

/* 0 to go on with f->s and f->plan loaded; else the reply is set. */
static unsigned
load(flow *f)
{
	const pcard_bmsg *m = f->m;
	pcard_err e;

	if ((f->pend = enrol_find(f->srv, m->session)) != NULL) {
		pcard_srv_enrol *p = f->pend;

		snprintf(f->s.id, sizeof f->s.id, "%s", p->sid);
		snprintf(f->s.card, sizeof f->s.card, "%s", p->card);
		snprintf(f->s.agent, sizeof f->s.agent, "%s", p->agent);
		f->s.step = p->step;
		f->s.state = PCARD_SESSION_HELLO;
		memcpy(f->s.host_challenge, p->chal, sizeof p->chal);
		f->s.host_challenge_len = sizeof p->chal;
		f->s.security_level = f->srv->cfg.level;
		f->plan = json_pack("{s:s,s:b}", "phase", p->relay && p->step == 1 ? "select" :
		    "iu", "relay", p->relay);
		if (strcmp(p->agent, f->agent) != 0)
			return set_error(f, 403, PCARD_E_AUTH, 0, "session %s belongs to another "
			    "agent", m->session);
		if (m->step + 1 == p->step) {
			/* a repeat: the same first bundle again */
			free(f->text);
			f->text = NULL;
			if ((e = pcard_srv_first_bundle(p->sid, p->step, p->chal, p->aid,
			    p->aid_len, p->relay, p->relay && p->step == 2, &f->text,
			    &f->text_len)) != PCARD_OK)
				return set_error(f, 500, e, 0, "encode");
			f->status = 200;
			f->srv->m.retries++;
			return 200;
		}
		if (m->step != p->step)
			return set_error(f, 409, PCARD_E_CONFLICT, 0, "step %u out of order (the "
			    "session is at step %u)", (unsigned)m->step, (unsigned)p->step);
		return 0;
	}
	if ((e = pcard_store_session_get(f->srv->st, m->session, &f->s)) != PCARD_OK) {
		if (e == PCARD_E_NOT_FOUND)
			return set_error(f, 404, PCARD_E_NOT_FOUND, 0, "no session %s (expired, or "
			    "the server restarted during an enrolment): start again with a hello",
			    m->session);
		return set_error(f, 503, e, 1, "store: %s", pcard_strerror(e));
	}
	f->plan = f->s.plan != NULL ? f->s.plan : json_object();
	f->s.plan = NULL;
	if (strcmp(f->s.agent, f->agent) != 0)
		return set_error(f, 403, PCARD_E_AUTH, 0, "session %s belongs to another agent",
		    m->session);
	if (m->step + 1 == f->s.step)
		return stored_reply(f);
	if (f->s.state == PCARD_SESSION_CLOSED)
		return set_error(f, 409, PCARD_E_CONFLICT, 0, "session %s is closed", m->session);
	if (m->step != f->s.step)
		return set_error(f, 409, PCARD_E_CONFLICT, 0, "step %u out of order (the session "
		    "is at step %u)", (unsigned)m->step, (unsigned)f->s.step);
	if (f->s.expires <= pcard_store_now(f->srv->st))
		return set_error(f, 409, PCARD_E_CONFLICT, 0, "session %s has expired: start "
		    "again with a hello", m->session);
	if ((e = pcard_store_card_get(f->srv->st, f->s.card, &f->card)) != PCARD_OK)
		return set_error(f, 500, e, 0, "card %s: %s", f->s.card, pcard_strerror(e));
	f->have_card = 1;
	return 0;
}

/* Relay: SELECT answered, INITIALIZE UPDATE next. */
static unsigned
on_select(flow *f)
{
	pcard_err e;

	free(f->text);
	f->text = NULL;
	if ((e = pcard_srv_first_bundle(f->s.id, f->m->step + 1, f->s.host_challenge, NULL, 0,
	    1, 1, &f->text, &f->text_len)) != PCARD_OK)
		return set_error(f, 500, e, 0, "encode");
	f->status = 200;
	if (f->pend != NULL) {
		f->pend->step = f->m->step + 1;
		return 200;
	}
	json_object_set_new(f->plan, "phase", json_string("iu"));
	if ((e = pcard_store_begin(f->srv->st)) != PCARD_OK)
		return set_error(f, 503, e, 1, "store: %s", pcard_strerror(e));
	if ((e = session_advance(f, PCARD_SESSION_HELLO)) != PCARD_OK ||
	    (e = pcard_store_commit(f->srv->st)) != PCARD_OK) {
		pcard_store_rollback(f->srv->st);
		return set_error(f, e == PCARD_E_CONFLICT ? 409 : 500, e, 0, "store: %s",
		    pcard_strerror(e));
	}
	f->srv->m.exchanges++;
	return 200;
}

unsigned
pcard_srv_flow(pcard_srv *srv, const pcard_srv_req *rq, const pcard_bmsg *m, json_t **out)
{
	flow *f = NULL;
	pcard_bmsg_rsp *acc = NULL;
	pcard_bundle_rsp *rsp = NULL;
	json_error_t je;
	const char *phase;
	unsigned st;

	if (srv->keys == NULL)
		return pcard_srv_agent_error(out, 503, m->session, m->step + 1,
		    PCARD_E_UNSUPPORTED, 1, "this server has no key provider");
	if ((f = calloc(1, sizeof *f)) == NULL ||
	    (f->steps = calloc(MAX_STEPS, sizeof *f->steps)) == NULL ||
	    (f->res = calloc(MAX_STEPS, sizeof *f->res)) == NULL ||
	    (rsp = calloc(MAX_STEPS, sizeof *rsp)) == NULL) {
		st = pcard_srv_agent_error(out, 500, m->session, m->step + 1, PCARD_E_NOMEM, 1,
		    "out of memory");
		goto out;
	}
	f->srv = srv;
	f->keys = srv->keys;
	f->m = m;
	f->agent = rq->agent_id;
	snprintf(f->actor, sizeof f->actor, "agent:%s", rq->agent_id);
	f->hsm0 = hsm_calls(f);
	f->tx0 = pcard_store_tx_count(srv->st);
	pcard_scp_init(&f->scp);
	pcard_bundle_init(&f->b, f->steps, MAX_STEPS);
	snprintf(f->s.id, sizeof f->s.id, "%s", m->session);

	if ((st = load(f)) != 0)
		goto reply;
	phase = json_string_value(json_object_get(f->plan, "phase"));
	if (phase == NULL)
		phase = "";
	if (strcmp(phase, "select") == 0)
		st = on_select(f);
	else if (strcmp(phase, "iu") == 0 || strcmp(phase, "initialize-update") == 0)
		st = on_iu(f);
	else if (strcmp(phase, "bundle") == 0 || strcmp(phase, "reconcile") == 0) {
		size_t n = 0;
		int done = 1;

		if (json_is_true(json_object_get(f->plan, "relay"))) {
			if ((acc = calloc(MAX_STEPS, sizeof *acc)) == NULL) {
				st = set_error(f, 500, PCARD_E_NOMEM, 1, "out of memory");
				goto reply;
			}
			if ((st = relay_collect(f, acc, rsp, &n, &done)) != 0)
				goto reply;
			if (!done) {
				pcard_err e;

				if ((e = pcard_store_begin(srv->st)) != PCARD_OK) {
					st = set_error(f, 503, e, 1, "store: %s", pcard_strerror(e));
					goto reply;
				}
				if ((e = session_advance(f, f->s.state)) != PCARD_OK ||
				    (e = pcard_store_commit(srv->st)) != PCARD_OK) {
					pcard_store_rollback(srv->st);
					st = set_error(f, e == PCARD_E_CONFLICT ? 409 : 500, e, 0,
					    "store: %s", pcard_strerror(e));
					goto reply;
				}
				srv->m.exchanges++;
				st = f->status;
				goto reply;
			}
		} else {
			for (size_t k = 0; k < m->nrsps; k++) {
				rsp[k].p = m->rsps[k].b;
				rsp[k].n = m->rsps[k].len;
			}
			n = m->nrsps;
		}
		st = on_answers(f, rsp, n);
	} else
		st = set_error(f, 409, PCARD_E_CONFLICT, 0, "session %s has nothing to answer "
		    "(phase '%s')", m->session, phase);
reply:
	json_decref(*out);
	*out = f->text != NULL ? json_loadb(f->text, f->text_len, 0, &je) : NULL;
	if (*out == NULL)
		st = pcard_srv_agent_error(out, 500, m->session, m->step + 1, PCARD_E_INTERNAL, 1,
		    "no reply");
out:
	if (f != NULL) {
		jobs_release(f);
		pcard_scp_clear(&f->scp);
		keys_release(f, &f->ck);
		json_decref(f->plan);
		f->s.plan = NULL;
		pcard_store_session_clear(&f->s);
		free(f->text);
		free(f->steps);
		free(f->res);
		pcard_wipe(f, sizeof *f);
	}
	free(f);
	free(acc);
	free(rsp);
	return st;
}
