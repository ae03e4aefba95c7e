/*
 * bundle_reconcile.c: what the reconciliation prefix's answers say about each job
 * (bundle.h). Only R-MACed answers are believed; absence only from a complete listing.
 *
 * GET STATUS answer in the tag format (CS 11.4.3.2), read here for 4F and 9F70 only:
 *
 *   E3 L { 4F L aid, 9F70 L life-cycle [privileges], C5 .., C4 .., CC .., CE .., 84 .. } *
 */
#include <string.h>

#include "postcard/bundle.h"
#include "postcard/bytes.h"
#include "postcard/sw.h"
#include "postcard/tlv.h"

enum { LOOK_UNSURE = 0, LOOK_FOUND, LOOK_ABSENT };

/* Search one page of E3 entries for aid; 1 found (lc set), 0 not, -1 malformed. */
static int
page_find(const uint8_t *p, size_t n, const pcard_gp_aid *aid, uint8_t *lc)
{
	pcard_rd r, e, v;
	uint32_t tag;

	pcard_rd_init(&r, p, n);
	while (pcard_rd_left(&r) > 0) {
		int match = 0, have_lc = 0;
		uint8_t l = 0;

		if (pcard_tlv_next(&r, &tag, &e) != PCARD_OK || tag != 0xE3)
			return -1;
		while (pcard_rd_left(&e) > 0) {
			if (pcard_tlv_next(&e, &tag, &v) != PCARD_OK)
				return -1;
			if (tag == 0x4F)
				match = pcard_rd_left(&v) == aid->len &&
				    memcmp(pcard_rd_ptr(&v), aid->b, aid->len) == 0;
			else if (tag == 0x9F70 && pcard_rd_u8(&v, &l) == PCARD_OK)
				have_lc = 1;
		}
		if (match) {
			if (!have_lc)
				return -1;
			*lc = l;
			return 1;
		}
	}
	return 0;
}

/* Look aid up in the listing the probe's steps (first page, next pages) returned. */
static int
listing_find(const pcard_bundle *b, const pcard_step_result *res, uint8_t probe,
    const pcard_gp_aid *aid, uint8_t *lc)
{
	int first = 1, complete = 0, f;

	for (size_t k = 0; k < b->n; k++) {
		const pcard_step_result *r = &res[k];

		if (b->steps[k].purpose != PCARD_STEP_RECONCILE || b->steps[k].probe != probe)
			continue;
		/* SCP03 sends 6A88 bare: "nothing at all" is then not proven */
		if (r->status != PCARD_STEP_OK || !r->macd)
			break;
		if (r->sw == 0x6A88 || r->sw == 0x6985) {
			/* SCP02 MACs 6A88 too: a MACed "nothing at all" on the first page */
			complete = first && r->sw == 0x6A88;
			break;
		}
		if ((f = page_find(r->data, r->len, aid, lc)) < 0)
			return LOOK_UNSURE;
		if (f == 1)
			return LOOK_FOUND;
		if (r->sw == 0x9000) {
			complete = 1;
			break;
		}
		first = 0;	/* 6310: the next page follows */
	}
	return complete ? LOOK_ABSENT : LOOK_UNSURE;
}

/* Card life cycle from the MACed GET STATUS P1 80 answer; 0 when unknown. */
static int
isd_lifecycle(const pcard_bundle *b, const pcard_step_result *res, uint8_t *lc)
{
	for (size_t k = 0; k < b->n; k++) {
		const pcard_step_result *r = &res[k];
		pcard_rd rd, e, v;
		uint32_t tag;

		if (b->steps[k].purpose != PCARD_STEP_RECONCILE ||
		    b->steps[k].probe != PCARD_PROBE_ISD)
			continue;
		if (r->status != PCARD_STEP_OK || !r->macd || r->sw != 0x9000)
			return 0;
		pcard_rd_init(&rd, r->data, r->len);
		if (pcard_tlv_next(&rd, &tag, &e) != PCARD_OK || tag != 0xE3)
			return 0;
		while (pcard_rd_left(&e) > 0) {
			if (pcard_tlv_next(&e, &tag, &v) != PCARD_OK)
				return 0;
			if (tag == 0x9F70 && pcard_rd_u8(&v, lc) == PCARD_OK)
				return 1;
		}
		return 0;
	}
	return 0;
}

/* Which of the two KVNs the MACed key information template lists; 0 when unknown. */
static int
keys_have(const pcard_bundle *b, const pcard_step_result *res, uint8_t kvn_a, uint8_t kvn_b,
    int *has_a, int *has_b)
{
	pcard_gp_keyinfo ki[32];
	size_t count = 0;

	for (size_t k = 0; k < b->n; k++) {
		const pcard_step_result *r = &res[k];

		if (b->steps[k].purpose != PCARD_STEP_RECONCILE ||
		    b->steps[k].probe != PCARD_PROBE_KEYS)
			continue;
		if (r->status != PCARD_STEP_OK || !r->macd || r->sw != 0x9000 ||
		    pcard_gp_parse_keyinfo(r->data, r->len, ki, 32, &count) != PCARD_OK)
			return 0;
		*has_a = *has_b = 0;
		for (size_t i = 0; i < count; i++) {
			if (ki[i].kvn == kvn_a)
				*has_a = 1;
			if (ki[i].kvn == kvn_b)
				*has_b = 1;
		}
		return 1;
	}
	return 0;
}

/* The data job's write again: its STORE DATA answer decides. */
static void
decide_data(const pcard_bundle *b, const pcard_step_result *res, const pcard_bjob *j, size_t idx,
    pcard_bjob_result *o)
{
	uint8_t want[6] = { 0xC1, 0x04 };

	want[2] = (uint8_t)(j->version >> 24);
	want[3] = (uint8_t)(j->version >> 16);
	want[4] = (uint8_t)(j->version >> 8);
	want[5] = (uint8_t)j->version;
	o->why = "the write was not replayed";
	for (size_t k = 0; k < b->n; k++) {
		const pcard_bundle_step *st = &b->steps[k];
		const pcard_step_result *r = &res[k];

		if (st->purpose != PCARD_STEP_RECONCILE || st->probe != PCARD_PROBE_DATA ||
		    st->job != idx)
			continue;
		o->sw = r->sw;
		o->ins = st->ins;
		o->macd = r->macd;
		if (r->status != PCARD_STEP_OK || !r->macd) {
			o->state = PCARD_BJOB_UNKNOWN;
			o->why = r->status == PCARD_STEP_OK ? "the card answered without R-MAC" :
			    "the replayed write got no verified answer";
			return;
		}
		if (r->sw != 0x9000 && !st->last) {
			/* INSTALL [for personalization] refused (a locked card answers 6985):
			 * the write could not be replayed, nothing is learnt */
			o->state = PCARD_BJOB_UNKNOWN;
			o->why = r->sw == 0x6985 ? "the write cannot be replayed now (card locked?): "
			    "confirm after unlock-card" : pcard_sw_explain(r->sw, st->ins);
			return;
		}
		if (r->sw != 0x9000) {
			o->state = PCARD_BJOB_FAILED;
			o->why = r->sw == 0x6985 ? "another write owns this version, or the store "
			    "is newer" : pcard_sw_explain(r->sw, st->ins);
			return;
		}
		if (!st->last)
			continue;
		if (r->len == sizeof want && memcmp(r->data, want, sizeof want) == 0) {
			o->state = PCARD_BJOB_DONE;
			o->why = "done: the datastore's R-MACed answer holds the version";
		} else {
			o->state = PCARD_BJOB_FAILED;
			o->err = PCARD_E_VERIFY;
			o->why = "the datastore answered another version";
		}
		return;
	}
}

pcard_err
pcard_bundle_reconcile_decide(const pcard_bundle *b, const pcard_step_result *res,
    const pcard_bjob *jobs, size_t njobs, pcard_bjob_result *out)
{
	if (b == NULL || res == NULL || out == NULL || (jobs == NULL && njobs > 0))
		return PCARD_E_INVALID_ARG;
	for (size_t i = 0; i < njobs; i++) {
		const pcard_bjob *j = &jobs[i];
		pcard_bjob_result *o = &out[i];
		uint8_t lc = 0, lc2 = 0;
		int a, e, has_new = 0, has_old = 0;

		memset(o, 0, sizeof *o);
		o->id = j->id;
		o->state = PCARD_BJOB_UNKNOWN;
		o->why = "the card's state could not be read with R-MAC";
		switch (j->type) {
		case PCARD_BJOB_INSTALL:
			if (j->instance.len == 0) {
				/* load only: the load file listing decides */
				e = listing_find(b, res, PCARD_PROBE_ELFS, &j->elf, &lc2);
				if (e == LOOK_FOUND) {
					o->state = PCARD_BJOB_DONE;
					o->why = "done: the registry lists the load file";
				} else if (e == LOOK_ABSENT) {
					o->state = PCARD_BJOB_NOT_DONE;
					o->why = "not loaded";
				}
				break;
			}
			a = listing_find(b, res, PCARD_PROBE_APPS, &j->instance, &lc);
			if (a == LOOK_FOUND) {
				o->state = PCARD_BJOB_DONE;
				o->why = "done: the registry lists the instance";
			} else if (a == LOOK_ABSENT) {
				e = listing_find(b, res, PCARD_PROBE_ELFS, &j->elf, &lc2);
				if (e != LOOK_UNSURE) {
					o->state = PCARD_BJOB_NOT_DONE;
					o->elf_present = e == LOOK_FOUND;
					o->why = o->elf_present ? "not installed; the load file is "
					    "on the card" : "neither loaded nor installed";
				}
			}
			break;
		case PCARD_BJOB_DELETE:
			a = listing_find(b, res, PCARD_PROBE_APPS, &j->aid, &lc);
			e = listing_find(b, res, PCARD_PROBE_ELFS, &j->aid, &lc2);
			if (a == LOOK_FOUND || e == LOOK_FOUND) {
				o->state = PCARD_BJOB_NOT_DONE;
				o->why = "the registry still lists it";
			} else if (a == LOOK_ABSENT && e == LOOK_ABSENT) {
				o->state = PCARD_BJOB_DONE;
				o->why = "done: the complete registry listing no longer has it";
			}
			break;
		case PCARD_BJOB_LOCK_APP:
		case PCARD_BJOB_UNLOCK_APP:
			a = listing_find(b, res, PCARD_PROBE_APPS, &j->aid, &lc);
			if (a == LOOK_FOUND) {
				int locked = (lc & PCARD_LC_LOCKED) != 0;
				int want = j->type == PCARD_BJOB_LOCK_APP;

				o->state = locked == want ? PCARD_BJOB_DONE : PCARD_BJOB_NOT_DONE;
				o->why = locked == want ? "done: the registry shows the life cycle" :
				    "the registry shows the life cycle unchanged";
			} else if (a == LOOK_ABSENT) {
				o->state = PCARD_BJOB_FAILED;
				o->why = "the application is not on the card";
			}
			break;
		case PCARD_BJOB_LOCK_CARD:
		case PCARD_BJOB_UNLOCK_CARD:
		case PCARD_BJOB_TERMINATE:
			if (isd_lifecycle(b, res, &lc)) {
				int done = j->type == PCARD_BJOB_LOCK_CARD ? lc == PCARD_LC_CARD_LOCKED :
				    j->type == PCARD_BJOB_UNLOCK_CARD ? lc != PCARD_LC_CARD_LOCKED :
				    lc == PCARD_LC_TERMINATED;

				o->state = done ? PCARD_BJOB_DONE : PCARD_BJOB_NOT_DONE;
				o->why = done ? "done: the card life cycle shows it" :
				    "the card life cycle is unchanged";
			}
			break;
		case PCARD_BJOB_ROTATE_KEYS:
			if (keys_have(b, res, j->new_kvn, j->old_kvn, &has_new, &has_old)) {
				if (has_new && (j->old_kvn == j->new_kvn || !has_old)) {
					o->state = PCARD_BJOB_DONE;
					o->why = "done: the key information lists the new key set "
					    "and not the old one";
				} else if (has_old && !has_new) {
					o->state = PCARD_BJOB_NOT_DONE;
					o->why = "the old key set is still on the card";
				} else {
					o->state = PCARD_BJOB_FAILED;
					o->why = "the key sets on the card are neither the old nor the "
					    "new ones alone";
				}
			}
			break;
		case PCARD_BJOB_DATA:
			/* an instance the complete listing does not have was never written */
			if (listing_find(b, res, PCARD_PROBE_APPS, &j->aid, &lc) == LOOK_ABSENT) {
				o->state = PCARD_BJOB_NOT_DONE;
				o->why = "the instance is not on the card yet";
				break;
			}
			decide_data(b, res, j, i, o);
			break;
		default:
			return PCARD_E_INVALID_ARG;
		}
	}
	/*
	 * A locked card refuses the replay of a data write (INSTALL [for personalization]
	 * 6985). When an unlock-card of these jobs is NOT_DONE (it goes first in the next
	 * bundle), the write can simply follow it: a versioned write applies at most once.
	 */
	{
		uint8_t lc = 0;
		int unlock_next = 0;

		for (size_t i = 0; i < njobs; i++)
			if (jobs[i].type == PCARD_BJOB_UNLOCK_CARD &&
			    out[i].state == PCARD_BJOB_NOT_DONE)
				unlock_next = 1;
		if (unlock_next && isd_lifecycle(b, res, &lc) && lc == PCARD_LC_CARD_LOCKED) {
			for (size_t i = 0; i < njobs; i++) {
				if (jobs[i].type != PCARD_BJOB_DATA ||
				    out[i].state != PCARD_BJOB_UNKNOWN || out[i].sw != 0x6985 ||
				    out[i].ins != 0xE6)
					continue;
				out[i].state = PCARD_BJOB_NOT_DONE;
				out[i].why = "the locked card refused the replay; the write follows "
				    "unlock-card (it applies at most once)";
			}
		}
	}
	/*
	 * A job refused last time with a SW that carried no R-MAC (SCP03) and not shown done
	 * now is failed with that SW: sending the same bytes again would be refused the same
	 * way. NOT_DONE is proven by R-MACed reads; UNKNOWN is not (e.g. SCP03's bare 6A88
	 * for an empty listing), but retrying forever would never end either.
	 */
	for (size_t i = 0; i < njobs; i++) {
		pcard_bjob_result *o = &out[i];

		if (jobs[i].refused_sw == 0 || (o->state != PCARD_BJOB_NOT_DONE &&
		    o->state != PCARD_BJOB_UNKNOWN))
			continue;
		o->state = PCARD_BJOB_FAILED;
		o->sw = jobs[i].refused_sw;
		o->ins = jobs[i].refused_ins;
		o->macd = 0;
		o->elf_present = 0;
		o->why = pcard_sw_explain(jobs[i].refused_sw, jobs[i].refused_ins);
	}
	return PCARD_OK;
}
