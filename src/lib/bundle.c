/*
 * bundle.c: jobs to bundle steps (safe order, every command wrapped ahead of time), the
 * verification of the agent's responses and the per-job decision. Contract: bundle.h.
 *
 * Commands of each job (GP CS chapter 11; gp.h builders):
 *   install      [INSTALL for load, LOAD 0..n-1 (P1 80 on the last)] INSTALL for install
 *                and make selectable (P1 0C); load only (no instance): up to the last LOAD
 *   delete       DELETE 4F aid (P2 80 with related objects)
 *   data         INSTALL for personalization (aid), STORE DATA P1 91 (last, BER-TLV, case 4;
 *                | 60 encrypted) block 00: C1 04 version [C0 04 expected] items -> C1 04 version
 *   lock-app     SET STATUS 40 80 aid          unlock-app   SET STATUS 40 00 aid
 *   lock-card    SET STATUS 80 7F              unlock-card  SET STATUS 80 0F
 *   terminate    SET STATUS 80 FF
 *   rotate-keys  PUT KEY P1 old-kvn P2 81: new-kvn, ENC MAC DEK blocks under the DEK
 *                -> new-kvn KCV KCV KCV (checked)
 */
#include <string.h>

#include "postcard/apdu.h"
#include "postcard/bundle.h"
#include "postcard/bytes.h"
#include "postcard/crypto.h"
#include "postcard/sw.h"

static const char *const job_names[PCARD_BJOB__COUNT] = {
	NULL, "install", "delete", "data", "lock-app", "unlock-app", "lock-card", "unlock-card",
	"terminate", "rotate-keys",
};

const char *
pcard_bjob_type_name(int type)
{
	if (type <= 0 || type >= PCARD_BJOB__COUNT)
		return NULL;
	return job_names[type];
}

pcard_err
pcard_bjob_type_from_name(const char *name, int *type)
{
	if (name == NULL || type == NULL)
		return PCARD_E_INVALID_ARG;
	for (int t = 1; t < PCARD_BJOB__COUNT; t++) {
		if (strcmp(job_names[t], name) == 0) {
			*type = t;
			return PCARD_OK;
		}
	}
	return PCARD_E_NOT_FOUND;
}

int
pcard_bjob_rank(int type)
{
	switch (type) {
	case PCARD_BJOB_UNLOCK_CARD:
		return 0;	/* a locked card refuses everything else */
	case PCARD_BJOB_DELETE:
		return 1;	/* frees AIDs and memory an install may need */
	case PCARD_BJOB_INSTALL:
		return 2;
	case PCARD_BJOB_DATA:
		return 3;	/* personalises what was just installed */
	case PCARD_BJOB_LOCK_APP:
	case PCARD_BJOB_UNLOCK_APP:
		return 4;
	case PCARD_BJOB_ROTATE_KEYS:
		return 5;
	case PCARD_BJOB_LOCK_CARD:
		return 6;	/* after it the ISD refuses content management */
	case PCARD_BJOB_TERMINATE:
		return 7;	/* irreversible: nothing after it */
	default:
		return -1;
	}
}

const char *
pcard_bjob_state_name(int state)
{
	switch (state) {
	case PCARD_BJOB_DONE:
		return "done";
	case PCARD_BJOB_FAILED:
		return "failed";
	case PCARD_BJOB_NOT_DONE:
		return "not-done";
	default:
		return "unknown";
	}
}

void
pcard_bundle_init(pcard_bundle *b, pcard_bundle_step *steps, size_t cap)
{
	if (b == NULL)
		return;
	b->steps = steps;
	b->n = 0;
	b->cap = steps == NULL ? 0 : cap;
}

/* Wrap plain command cmd into the next step of b. */
static pcard_err
push(pcard_bundle *b, pcard_scp *s, const uint8_t *cmd, size_t n, size_t job, uint8_t purpose,
    uint8_t probe, const uint16_t *expect, size_t n_expect, pcard_bundle_step **out)
{
	pcard_bundle_step *st;
	pcard_err err;

	if (b->n >= b->cap)
		return PCARD_E_NOSPACE;
	if (n < 4 || n_expect == 0 || n_expect > PCARD_BUNDLE_MAX_EXPECT)
		return PCARD_E_INTERNAL;
	st = &b->steps[b->n];
	memset(st, 0, sizeof *st);
	if ((err = pcard_scpb_wrap(s, cmd, n, st->apdu, sizeof st->apdu, &st->apdu_len,
	    &st->ctx)) != PCARD_OK)
		return err;
	memcpy(st->expect, expect, n_expect * sizeof *expect);
	st->n_expect = n_expect;
	st->job = job;
	st->purpose = purpose;
	st->probe = probe;
	st->ins = cmd[1];
	b->n++;
	if (out != NULL)
		*out = st;
	return PCARD_OK;
}

pcard_err
pcard_bundle_add_ext_auth(pcard_bundle *b, pcard_scp *s, uint8_t level)
{
	pcard_bundle_step *st;
	pcard_err err;

	if (b == NULL || s == NULL)
		return PCARD_E_INVALID_ARG;
	if (b->n >= b->cap)
		return PCARD_E_NOSPACE;
	st = &b->steps[b->n];
	memset(st, 0, sizeof *st);
	if ((err = pcard_scpb_ext_auth(s, level, st->apdu, sizeof st->apdu, &st->apdu_len,
	    &st->ctx)) != PCARD_OK)
		return err;
	st->expect[0] = 0x9000;
	st->n_expect = 1;
	st->job = PCARD_BUNDLE_NO_JOB;
	st->purpose = PCARD_STEP_AUTH;
	st->ins = 0x82;
	b->n++;
	return PCARD_OK;
}

static const uint16_t EXP_OK[] = { 0x9000 };

/* The datastore message: C1 04 version [C0 04 expected] items. */
static pcard_err
data_message(const pcard_bjob *j, uint8_t *out, size_t out_cap, size_t *out_len)
{
	pcard_wr w;

	pcard_wr_init(&w, out, out_cap);
	pcard_wr_u8(&w, 0xC1);
	pcard_wr_u8(&w, 4);
	pcard_wr_u32(&w, j->version);
	if (j->has_expected) {
		pcard_wr_u8(&w, 0xC0);
		pcard_wr_u8(&w, 4);
		pcard_wr_u32(&w, j->expected);
	}
	pcard_wr_bytes(&w, j->items, j->items_len);
	return pcard_wr_finish(&w, out_len);
}

/* INSTALL [for personalization] then the versioned STORE DATA (case 4). */
static pcard_err
add_data(pcard_bundle *b, pcard_scp *s, pcard_keys *keys, const pcard_bjob *j, size_t idx,
    uint8_t purpose, const uint16_t *exp2, size_t nexp2)
{
	uint8_t msg[256 + 16], cmd[PCARD_SCP_MAX_CMD];
	size_t mlen, nc, blk;
	uint8_t p1 = PCARD_SD_LAST | PCARD_SD_FMT_BER | PCARD_SD_CASE4;
	uint8_t probe = purpose == PCARD_STEP_RECONCILE ? PCARD_PROBE_DATA : PCARD_PROBE_NONE;
	pcard_gp_install in;
	pcard_keyh dek;
	pcard_cipher_alg alg;
	pcard_bundle_step *st;
	pcard_err err = PCARD_E_INTERNAL;

	if (j->aid.len == 0 || j->items_len > sizeof j->items)
		return PCARD_E_INVALID_ARG;
	memset(&in, 0, sizeof in);
	in.p1 = PCARD_INSTALL_FOR_PERSONALIZATION;
	in.instance = j->aid.b;
	in.instance_len = j->aid.len;
	if ((err = pcard_gp_install_cmd(&in, cmd, sizeof cmd, &nc)) != PCARD_OK ||
	    (err = push(b, s, cmd, nc, idx, purpose, probe, exp2, nexp2, NULL)) != PCARD_OK)
		goto out;
	if ((err = data_message(j, msg, 256, &mlen)) != PCARD_OK)
		goto out;
	if (j->encrypt) {
		if ((err = pcard_scp_dek(s, &dek, &alg)) != PCARD_OK)
			goto out;
		blk = alg == PCARD_CIPHER_AES_CBC ? 16 : 8;
		if ((err = pcard_pad_iso(msg, mlen, blk, msg, sizeof msg, &mlen)) != PCARD_OK ||
		    (err = pcard_keys_cipher(keys, dek, alg, 1, NULL, msg, mlen, msg)) != PCARD_OK)
			goto out;
		p1 |= PCARD_SD_ENC_ALL;
	}
	if (mlen > pcard_scp_max_data(s)) {
		err = PCARD_E_INVALID_ARG;
		goto out;
	}
	if ((err = pcard_gp_store_data_cmd(p1, 0, msg, mlen, cmd, sizeof cmd, &nc)) != PCARD_OK ||
	    (err = push(b, s, cmd, nc, idx, purpose, probe, exp2, nexp2, &st)) != PCARD_OK)
		goto out;
	st->last = 1;
	err = PCARD_OK;
out:
	pcard_wipe(msg, sizeof msg);
	pcard_wipe(cmd, sizeof cmd);
	return err;
}

static pcard_err
add_install(pcard_bundle *b, pcard_scp *s, const pcard_bjob *j, size_t idx)
{
	uint8_t cmd[PCARD_SCP_MAX_CMD];
	size_t nc, blk, count;
	pcard_gp_install in;
	pcard_bundle_step *st;
	pcard_err err;

	if (j->elf.len == 0 || (j->instance.len == 0 && j->skip_load))
		return PCARD_E_INVALID_ARG;
	if (!j->skip_load) {
		if (j->load_file == NULL || j->load_file_len == 0)
			return PCARD_E_INVALID_ARG;
		blk = pcard_scp_max_data(s);
		if ((err = pcard_gp_load_count(j->load_file_len, blk, &count)) != PCARD_OK)
			return PCARD_E_INVALID_ARG;
		memset(&in, 0, sizeof in);
		in.p1 = PCARD_INSTALL_FOR_LOAD;
		in.elf = j->elf.b;
		in.elf_len = j->elf.len;
		if ((err = pcard_gp_install_cmd(&in, cmd, sizeof cmd, &nc)) != PCARD_OK ||
		    (err = push(b, s, cmd, nc, idx, PCARD_STEP_JOB, 0, EXP_OK, 1, NULL)) != PCARD_OK)
			return err;
		for (size_t i = 0; i < count; i++) {
			if ((err = pcard_gp_load_cmd(j->load_file, j->load_file_len, blk, i, cmd,
			    sizeof cmd, &nc)) != PCARD_OK ||
			    (err = push(b, s, cmd, nc, idx, PCARD_STEP_JOB, 0, EXP_OK, 1, &st)) !=
			    PCARD_OK)
				return err;
		}
		if (j->instance.len == 0) {
			st->last = 1;	/* load only: the last LOAD's answer decides */
			return PCARD_OK;
		}
	}
	memset(&in, 0, sizeof in);
	in.p1 = PCARD_INSTALL_FOR_INSTALL | PCARD_INSTALL_FOR_MAKE_SELECTABLE;
	in.elf = j->elf.b;
	in.elf_len = j->elf.len;
	in.module = j->module.len > 0 ? j->module.b : j->instance.b;
	in.module_len = j->module.len > 0 ? j->module.len : j->instance.len;
	in.instance = j->instance.b;
	in.instance_len = j->instance.len;
	in.privs = j->privs;
	in.privs_mode = PCARD_PRIVS_AUTO;
	in.params = j->params_len > 0 ? j->params : NULL;
	in.params_len = j->params_len;
	in.params_mode = PCARD_PARAMS_WRAP;
	if (j->params_len > sizeof j->params)
		return PCARD_E_INVALID_ARG;
	if ((err = pcard_gp_install_cmd(&in, cmd, sizeof cmd, &nc)) != PCARD_OK)
		return err == PCARD_E_NOSPACE ? PCARD_E_INVALID_ARG : err;
	if ((err = push(b, s, cmd, nc, idx, PCARD_STEP_JOB, 0, EXP_OK, 1, &st)) != PCARD_OK)
		return err;
	st->last = 1;
	return PCARD_OK;
}

/*
 * 80 D8 old-kvn 81 Lc data 00. Built here rather than with pcard_gp_put_key_cmd because P1 FF
 * (replace the initial key set FF, CS 11.8.2.1) is a KVN the builder keeps for "more".
 */
static pcard_err
put_key_cmd(uint8_t old_kvn, const uint8_t *data, size_t n, uint8_t *out, size_t out_cap,
    size_t *out_len)
{
	pcard_apdu a;

	memset(&a, 0, sizeof a);
	a.cla = 0x80;
	a.ins = 0xD8;
	a.p1 = old_kvn;
	a.p2 = 0x81;
	a.data = data;
	a.lc = n;
	a.has_le = 1;
	a.le = 256;
	return pcard_apdu_encode(&a, out, out_cap, out_len);
}

static pcard_err
add_rotate(pcard_bundle *b, pcard_scp *s, pcard_keys *keys, const pcard_bjob *j, size_t idx)
{
	uint8_t data[1 + 3 * PCARD_PUTKEY_SYM_BLOCK_MAX], cmd[PCARD_SCP_MAX_CMD];
	size_t dlen, nc;
	pcard_keyh dek;
	pcard_cipher_alg alg;
	pcard_putkey_expect exp;
	pcard_bundle_step *st;
	pcard_err err = PCARD_E_INTERNAL;

	if (!(pcard_scp_level(s) & PCARD_SCP_CMAC))
		return PCARD_E_UNSUPPORTED;
	if (j->new_kvn == 0 || j->new_kvn > 0x7F || j->old_kvn == 0)
		return PCARD_E_INVALID_ARG;
	if ((err = pcard_scp_dek(s, &dek, &alg)) != PCARD_OK ||
	    (err = pcard_putkey_set(keys, dek, j->new_kvn, j->new_keys, data, sizeof data, &dlen,
	    &exp)) != PCARD_OK ||
	    (err = put_key_cmd(j->old_kvn, data, dlen, cmd, sizeof cmd, &nc)) != PCARD_OK ||
	    (err = push(b, s, cmd, nc, idx, PCARD_STEP_JOB, 0, EXP_OK, 1, &st)) != PCARD_OK)
		goto out;
	st->last = 1;
	st->has_putkey = 1;
	st->putkey = exp;
	err = PCARD_OK;
out:
	pcard_wipe(data, sizeof data);
	pcard_wipe(cmd, sizeof cmd);
	return err;
}

static pcard_err
add_set_status(pcard_bundle *b, pcard_scp *s, uint8_t p1, uint8_t state,
    const pcard_gp_aid *aid, size_t idx)
{
	uint8_t cmd[64];
	size_t nc;
	pcard_bundle_step *st;
	pcard_err err;

	if (aid != NULL && aid->len == 0)
		return PCARD_E_INVALID_ARG;
	if ((err = pcard_gp_set_status_cmd(p1, state, aid == NULL ? NULL : aid->b,
	    aid == NULL ? 0 : aid->len, cmd, sizeof cmd, &nc)) != PCARD_OK ||
	    (err = push(b, s, cmd, nc, idx, PCARD_STEP_JOB, 0, EXP_OK, 1, &st)) != PCARD_OK)
		return err;
	st->last = 1;
	return PCARD_OK;
}

static int
aid_eq(const pcard_gp_aid *a, const pcard_gp_aid *b)
{
	return a->len == b->len && a->len > 0 && memcmp(a->b, b->b, a->len) == 0;
}

/* Install job a must wait for install job b: b LOADs a package a imports, or the package a
 * installs from without loading it. */
static int
install_needs(const pcard_bjob *a, const pcard_bjob *b)
{
	if (b->skip_load || b->load_file == NULL)
		return 0;
	if (a->skip_load && aid_eq(&a->elf, &b->elf))
		return 1;
	for (size_t i = 0; i < a->nimports && i < PCARD_BJOB_IMPORTS_MAX; i++)
		if (aid_eq(&a->imports[i], &b->elf))
			return 1;
	return 0;
}

static pcard_err add_job(pcard_bundle *b, pcard_scp *s, pcard_keys *keys, const pcard_bjob *j,
    size_t idx);

/*
 * The install jobs (rank 2) in dependency order: repeatedly the first job, in the order
 * given, that waits for no job not yet added; on a cycle the first job left. Over
 * PCARD_BUNDLE_ORDER_MAX jobs: the order given.
 */
static pcard_err
add_installs(pcard_bundle *b, pcard_scp *s, pcard_keys *keys, const pcard_bjob *jobs,
    size_t njobs)
{
	uint8_t added[PCARD_BUNDLE_ORDER_MAX];
	size_t left = 0, i, k, pick;
	pcard_err err;

	for (i = 0; i < njobs; i++)
		if (jobs[i].type == PCARD_BJOB_INSTALL)
			left++;
	if (njobs > PCARD_BUNDLE_ORDER_MAX) {
		for (i = 0; i < njobs; i++)
			if (jobs[i].type == PCARD_BJOB_INSTALL &&
			    (err = add_job(b, s, keys, &jobs[i], i)) != PCARD_OK)
				return err;
		return PCARD_OK;
	}
	memset(added, 0, sizeof added);
	while (left > 0) {
		pick = njobs;
		for (i = 0; i < njobs && pick == njobs; i++) {
			int waits = 0;

			if (jobs[i].type != PCARD_BJOB_INSTALL || added[i])
				continue;
			for (k = 0; k < njobs && !waits; k++)
				waits = k != i && jobs[k].type == PCARD_BJOB_INSTALL && !added[k] &&
				    install_needs(&jobs[i], &jobs[k]);
			if (!waits)
				pick = i;
		}
		for (i = 0; i < njobs && pick == njobs; i++)	/* a cycle */
			if (jobs[i].type == PCARD_BJOB_INSTALL && !added[i])
				pick = i;
		if ((err = add_job(b, s, keys, &jobs[pick], pick)) != PCARD_OK)
			return err;
		added[pick] = 1;
		left--;
	}
	return PCARD_OK;
}

static pcard_err
add_job(pcard_bundle *b, pcard_scp *s, pcard_keys *keys, const pcard_bjob *j, size_t idx)
{
	uint8_t cmd[64];
	size_t nc;
	pcard_bundle_step *st;
	pcard_err err;

	switch (j->type) {
	case PCARD_BJOB_INSTALL:
		return add_install(b, s, j, idx);
	case PCARD_BJOB_DELETE:
		if (j->aid.len == 0)
			return PCARD_E_INVALID_ARG;
		if ((err = pcard_gp_delete_cmd(j->aid.b, j->aid.len, j->related, NULL, 0, cmd,
		    sizeof cmd, &nc)) != PCARD_OK ||
		    (err = push(b, s, cmd, nc, idx, PCARD_STEP_JOB, 0, EXP_OK, 1, &st)) != PCARD_OK)
			return err;
		st->last = 1;
		return PCARD_OK;
	case PCARD_BJOB_DATA:
		return add_data(b, s, keys, j, idx, PCARD_STEP_JOB, EXP_OK, 1);
	case PCARD_BJOB_LOCK_APP:
		return add_set_status(b, s, PCARD_SS_APP, PCARD_LC_LOCKED, &j->aid, idx);
	case PCARD_BJOB_UNLOCK_APP:
		return add_set_status(b, s, PCARD_SS_APP, 0x00, &j->aid, idx);
	case PCARD_BJOB_LOCK_CARD:
		return add_set_status(b, s, PCARD_SS_CARD, PCARD_LC_CARD_LOCKED, NULL, idx);
	case PCARD_BJOB_UNLOCK_CARD:
		return add_set_status(b, s, PCARD_SS_CARD, PCARD_LC_SECURED, NULL, idx);
	case PCARD_BJOB_TERMINATE:
		return add_set_status(b, s, PCARD_SS_CARD, PCARD_LC_TERMINATED, NULL, idx);
	case PCARD_BJOB_ROTATE_KEYS:
		return add_rotate(b, s, keys, j, idx);
	default:
		return PCARD_E_INVALID_ARG;
	}
}

pcard_err
pcard_bundle_add_jobs(pcard_bundle *b, pcard_scp *s, pcard_keys *keys, const pcard_bjob *jobs,
    size_t njobs)
{
	size_t start;
	pcard_err err = PCARD_E_INTERNAL;

	if (b == NULL || s == NULL || keys == NULL || (jobs == NULL && njobs > 0))
		return PCARD_E_INVALID_ARG;
	start = b->n;
	for (size_t i = 0; i < njobs; i++) {
		if (pcard_bjob_rank(jobs[i].type) < 0) {
			err = PCARD_E_INVALID_ARG;
			goto out;
		}
	}
	for (int rank = 0; rank <= 7; rank++) {
		if (rank == pcard_bjob_rank(PCARD_BJOB_INSTALL)) {
			if ((err = add_installs(b, s, keys, jobs, njobs)) != PCARD_OK)
				goto out;
			continue;
		}
		for (size_t i = 0; i < njobs; i++) {
			if (pcard_bjob_rank(jobs[i].type) != rank)
				continue;
			if ((err = add_job(b, s, keys, &jobs[i], i)) != PCARD_OK)
				goto out;
		}
	}
	err = PCARD_OK;
out:
	if (err != PCARD_OK) {
		for (size_t k = start; k < b->n; k++)
			pcard_wipe(&b->steps[k], sizeof b->steps[k]);
		b->n = start;
	}
	return err;
}

/* GET STATUS p1 P2 02 with 4F 00 (everything of the subset). */
static pcard_err
add_listing(pcard_bundle *b, pcard_scp *s, uint8_t p1, uint8_t probe, size_t next_pages)
{
	static const uint16_t first[] = { 0x9000, 0x6310, 0x6A88 };
	static const uint16_t next[] = { 0x9000, 0x6310, 0x6985, 0x6A88 };
	uint8_t cmd[16], nxt[16];
	size_t nc, nn;
	pcard_err err;

	if ((err = pcard_gp_get_status_cmd(p1, PCARD_GS_P2_TAGS, cmd, sizeof cmd, &nc)) !=
	    PCARD_OK ||
	    (err = push(b, s, cmd, nc, PCARD_BUNDLE_NO_JOB, PCARD_STEP_RECONCILE, probe, first, 3,
	    NULL)) != PCARD_OK)
		return err;
	if (next_pages == 0)
		return PCARD_OK;
	if ((err = pcard_gp_get_status_next(cmd, nc, nxt, sizeof nxt, &nn)) != PCARD_OK)
		return err;
	for (size_t i = 0; i < next_pages; i++) {
		if ((err = push(b, s, nxt, nn, PCARD_BUNDLE_NO_JOB, PCARD_STEP_RECONCILE, probe,
		    next, 4, NULL)) != PCARD_OK)
			return err;
	}
	return PCARD_OK;
}

pcard_err
pcard_bundle_add_reconcile(pcard_bundle *b, pcard_scp *s, pcard_keys *keys,
    const pcard_bjob *jobs, size_t njobs)
{
	static const uint16_t exp_data[] = { 0x9000, 0x6985, 0x6A88 };
	uint8_t cmd[16];
	size_t nc, start;
	pcard_err err = PCARD_E_INTERNAL;

	if (b == NULL || s == NULL || keys == NULL || (jobs == NULL && njobs > 0))
		return PCARD_E_INVALID_ARG;
	start = b->n;
	if ((err = add_listing(b, s, PCARD_GS_ISD, PCARD_PROBE_ISD, 0)) != PCARD_OK ||
	    (err = add_listing(b, s, PCARD_GS_APPS, PCARD_PROBE_APPS, 3)) != PCARD_OK ||
	    (err = add_listing(b, s, PCARD_GS_ELFS, PCARD_PROBE_ELFS, 3)) != PCARD_OK ||
	    (err = pcard_gp_get_data_cmd(0x80, PCARD_GP_TAG_KEYINFO, cmd, sizeof cmd, &nc)) !=
	    PCARD_OK ||
	    (err = push(b, s, cmd, nc, PCARD_BUNDLE_NO_JOB, PCARD_STEP_RECONCILE,
	    PCARD_PROBE_KEYS, EXP_OK, 1, NULL)) != PCARD_OK)
		goto out;
	for (size_t i = 0; i < njobs; i++) {
		if (jobs[i].type != PCARD_BJOB_DATA)
			continue;
		if ((err = add_data(b, s, keys, &jobs[i], i, PCARD_STEP_RECONCILE, exp_data, 3)) !=
		    PCARD_OK)
			goto out;
	}
	err = PCARD_OK;
out:
	if (err != PCARD_OK)
		b->n = start;
	return err;
}

pcard_err
pcard_bundle_verify(const pcard_scp *s, const pcard_bundle *b, const pcard_bundle_rsp *rsp,
    size_t nrsp, pcard_step_result *res)
{
	pcard_err err;

	if (s == NULL || b == NULL || res == NULL || (rsp == NULL && nrsp > 0))
		return PCARD_E_INVALID_ARG;
	for (size_t k = 0; k < b->n; k++)
		memset(&res[k], 0, sizeof res[k]);
	if (nrsp > b->n)
		return PCARD_E_BAD_ENCODING;
	for (size_t k = 0; k < nrsp; k++)
		if (rsp[k].n < 2 || rsp[k].n > PCARD_SCP_MAX_RSP || rsp[k].p == NULL)
			return PCARD_E_BAD_ENCODING;
	for (size_t k = 0; k < nrsp; k++) {
		const pcard_bundle_step *st = &b->steps[k];
		pcard_step_result *r = &res[k];
		const uint8_t *prev = k > 0 ? rsp[k - 1].p : NULL;
		size_t prev_n = k > 0 ? rsp[k - 1].n : 0;
		uint8_t out[PCARD_SCP_MAX_RSP];
		size_t olen = 0;

		err = pcard_scpb_verify(s, &st->ctx, prev, prev_n, rsp[k].p, rsp[k].n, out,
		    sizeof out, &olen, &r->macd);
		if (err == PCARD_E_MAC || err == PCARD_E_PADDING || err == PCARD_E_INVALID_ARG ||
		    err == PCARD_E_NOSPACE) {
			r->status = PCARD_STEP_BAD_MAC;
			r->sw = (uint16_t)(rsp[k].p[rsp[k].n - 2] << 8 | rsp[k].p[rsp[k].n - 1]);
			r->macd = 0;
			continue;
		}
		if (err != PCARD_OK)
			return err;
		r->sw = (uint16_t)(out[olen - 2] << 8 | out[olen - 1]);
		r->len = olen - 2;
		if (r->len > sizeof r->data) {
			r->status = PCARD_STEP_BAD_MAC;
			r->len = 0;
			continue;
		}
		memcpy(r->data, out, r->len);
		pcard_wipe(out, sizeof out);
		r->status = PCARD_STEP_UNEXPECTED;
		for (size_t e = 0; e < st->n_expect; e++)
			if (st->expect[e] == r->sw)
				r->status = PCARD_STEP_OK;
	}
	return PCARD_OK;
}

/* Check the data the job's last command answered: KCVs, the datastore version. */
static pcard_err
check_last(const pcard_bjob *j, const pcard_bundle_step *st, const pcard_step_result *r)
{
	uint8_t want[6] = { 0xC1, 0x04 };

	if (st->has_putkey)
		return pcard_putkey_check_response(&st->putkey, r->data, r->len);
	if (j->type == PCARD_BJOB_DATA) {
		want[2] = (uint8_t)(j->version >> 24);
		want[3] = (uint8_t)(j->version >> 16);
		want[4] = (uint8_t)(j->version >> 8);
		want[5] = (uint8_t)j->version;
		if (r->len != sizeof want || memcmp(r->data, want, sizeof want) != 0)
			return PCARD_E_VERIFY;
	}
	return PCARD_OK;
}

pcard_err
pcard_bundle_outcomes(const pcard_bundle *b, const pcard_step_result *res,
    const pcard_bjob *jobs, size_t njobs, pcard_bjob_result *out)
{
	if (b == NULL || res == NULL || out == NULL || (jobs == NULL && njobs > 0))
		return PCARD_E_INVALID_ARG;
	for (size_t i = 0; i < njobs; i++) {
		pcard_bjob_result *o = &out[i];
		int seen = 0;

		memset(o, 0, sizeof *o);
		o->id = jobs[i].id;
		o->state = PCARD_BJOB_UNKNOWN;
		o->why = "not in this bundle";
		for (size_t k = 0; k < b->n; k++) {
			const pcard_bundle_step *st = &b->steps[k];
			const pcard_step_result *r = &res[k];

			if (st->job != i || st->purpose != PCARD_STEP_JOB)
				continue;
			seen = 1;
			o->ins = st->ins;
			o->sw = r->sw;
			o->macd = r->macd;
			if (r->status == PCARD_STEP_NOT_REACHED) {
				o->state = PCARD_BJOB_UNKNOWN;
				o->why = "not reached: the card's answer never came back";
				break;
			}
			if (r->status == PCARD_STEP_BAD_MAC) {
				o->state = PCARD_BJOB_UNKNOWN;
				o->err = PCARD_E_MAC;
				o->why = "the card's answer did not verify (R-MAC)";
				break;
			}
			if (r->status == PCARD_STEP_UNEXPECTED) {
				if (r->macd) {
					o->state = PCARD_BJOB_FAILED;
					o->why = pcard_sw_explain(r->sw, st->ins);
				} else {
					o->state = PCARD_BJOB_UNKNOWN;
					o->why = "the card refused with a status word that carries no "
					    "R-MAC: not proven, reconcile";
				}
				break;
			}
			if (!st->last)
				continue;
			if (!r->macd) {
				o->state = PCARD_BJOB_UNKNOWN;
				o->why = "answered without R-MAC: result unverified";
				break;
			}
			if ((o->err = check_last(&jobs[i], st, r)) != PCARD_OK) {
				o->state = PCARD_BJOB_FAILED;
				o->why = st->has_putkey ? "the card's KVN or KCVs differ from the "
				    "keys sent" : "the datastore answered another version";
				break;
			}
			o->state = PCARD_BJOB_DONE;
			o->why = "done: the card's R-MACed answer says so";
			break;
		}
		if (!seen)
			o->why = "not in this bundle";
	}
	return PCARD_OK;
}

pcard_err
pcard_bundle_resume(pcard_scp *s, const pcard_bundle *b, const pcard_step_result *res,
    const pcard_bundle_rsp *rsp, size_t nrsp)
{
	size_t last;

	if (s == NULL || b == NULL || res == NULL || (rsp == NULL && nrsp > 0))
		return PCARD_E_INVALID_ARG;
	if (nrsp == 0 || nrsp > b->n)
		return PCARD_E_STATE;
	last = nrsp - 1;
	if (res[last].status == PCARD_STEP_BAD_MAC || res[last].status == PCARD_STEP_NOT_REACHED)
		return PCARD_E_MAC;
	return pcard_scpb_resume_after(s, &b->steps[last].ctx, rsp[last].p, rsp[last].n);
}

pcard_err
pcard_bundle_iu_kvn(const uint8_t *rsp, size_t n, uint8_t *kvn)
{
	if ((rsp == NULL && n > 0) || kvn == NULL)
		return PCARD_E_INVALID_ARG;
	if (n < 2)
		return PCARD_E_TRUNCATED;
	if (rsp[n - 2] != 0x90 || rsp[n - 1] != 0x00)
		return PCARD_E_CARD_STATUS;
	if (n < 2 + PCARD_SCP_KDD_BYTES + 2)
		return PCARD_E_TRUNCATED;
	*kvn = rsp[PCARD_SCP_KDD_BYTES];
	return PCARD_OK;
}
