/*
 * fuzz_gp_fci.c: the SELECT FCI, card recognition data, CPLC, card capabilities, key
 * information template, GET DATA values and INITIALIZE UPDATE response parsers. The first
 * byte picks the parser; the rest is the input. Checked: strings stay NUL-terminated inside
 * their arrays, counts stay within their arrays, failed parses leave zeroed structs.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "postcard/gp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_crd(const pcard_gp_crd *c)
{
	if (memchr(c->gp_version, 0, sizeof c->gp_version) == NULL ||
	    memchr(c->javacard, 0, sizeof c->javacard) == NULL)
		abort();
	for (size_t i = 0; i < c->n_oids && i < PCARD_GP_CRD_MAX; i++)
		if (memchr(c->oids[i].oid, 0, sizeof c->oids[i].oid) == NULL)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const pcard_gp_fci zero_fci;
	pcard_gp_fci fci;
	pcard_gp_crd crd;
	pcard_gp_cplc cplc;
	pcard_gp_caps caps;
	pcard_gp_keyinfo k[4];
	pcard_gp_init_update_resp u;
	pcard_rd v;
	size_t count = 0;
	const uint8_t *p = data + 1;
	size_t n = size - 1;
	pcard_err err;

	if (size < 1)
		return 0;
	switch (data[0] % 7) {
	case 0:
		err = pcard_gp_parse_fci(p, n, &fci);
		if (err == PCARD_OK) {
			if (fci.aid.len > PCARD_GP_AID_MAX || fci.lifecycle_len > sizeof fci.lifecycle)
				abort();
			check_crd(&fci.crd);
		} else if (memcmp(&fci, &zero_fci, sizeof fci) != 0) {
			abort();
		}
		break;
	case 1:
		if (pcard_gp_parse_crd(p, n, &crd) == PCARD_OK)
			check_crd(&crd);
		break;
	case 2:
		if (pcard_gp_parse_cplc(p, n, &cplc) == PCARD_OK) {
			size_t nf;

			(void)pcard_gp_cplc_fields(&nf);
			for (size_t i = 0; i < nf; i++)
				(void)pcard_gp_cplc_get(&cplc, i);
			if (n != 42 && n != 45)
				abort();
		}
		break;
	case 3:
		if (pcard_gp_parse_caps(p, n, &caps) == PCARD_OK) {
			if (caps.n_scp > PCARD_GP_CAPS_MAX_SCP || caps.n_lfdbh > 8 ||
			    caps.n_token > 8 || caps.n_receipt > 8 || caps.n_dap > 8)
				abort();
			for (size_t i = 0; i < caps.n_scp; i++)
				if (caps.scp[i].n_i > 8)
					abort();
		}
		break;
	case 4:
		err = pcard_gp_parse_keyinfo(p, n, k, 4, &count);
		if (err == PCARD_OK || err == PCARD_E_NOSPACE) {
			if ((err == PCARD_E_NOSPACE) != (count > 4))
				abort();
			for (size_t i = 0; i < count && i < 4; i++)
				if (k[i].n_comp > PCARD_GP_KEY_MAX_COMP || k[i].usage_len > 2)
					abort();
		}
		break;
	case 5:
		if (pcard_gp_parse_init_update_resp(p, n, &u) == PCARD_OK) {
			if ((u.scp == 1 || u.scp == 2) ? n != 28 :
			    (n != 29 && n != 32 && n != 45 && n != 48))
				abort();
			if (u.challenge_len > 16 || u.cryptogram_len > 16 || u.seq_len > 3)
				abort();
		}
		break;
	default:
		if (n > 0 && pcard_gp_data_value(p[0], p, n, &v) == PCARD_OK &&
		    pcard_rd_left(&v) > n)
			abort();
		break;
	}
	return 0;
}
