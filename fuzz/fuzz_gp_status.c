/*
 * fuzz_gp_status.c: GET STATUS responses in both formats. The first input byte picks P1
 * (80/40/20/10) and the format (tags or legacy); the rest is the response data.
 * Consistency checked: counting with no room gives the same count (and result class) as
 * parsing into room; every stored entry has a 1-16 byte AID and bounded lists.
 */
#include <stdint.h>
#include <stdlib.h>

#include "postcard/gp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t p1s[] = { 0x80, 0x40, 0x20, 0x10 };
	static pcard_gp_status_entry e[8];
	size_t count = 0, count0 = 0;
	uint8_t p1, p2;
	pcard_err err, err0;

	if (size < 1)
		return 0;
	p1 = p1s[data[0] & 3];
	p2 = (data[0] & 4) ? PCARD_GS_P2_TAGS : 0;
	err = pcard_gp_parse_status(p1, p2, data + 1, size - 1, e, 8, &count);
	err0 = pcard_gp_parse_status(p1, p2, data + 1, size - 1, NULL, 0, &count0);
	if (err == PCARD_OK || err == PCARD_E_NOSPACE) {
		if (err0 != (count0 > 0 ? PCARD_E_NOSPACE : PCARD_OK) || count0 != count)
			abort();
		if ((err == PCARD_E_NOSPACE) != (count > 8))
			abort();
		for (size_t i = 0; i < count && i < 8; i++) {
			if (e[i].aid.len < 1 || e[i].aid.len > PCARD_GP_AID_MAX ||
			    e[i].n_modules > PCARD_GS_MAX_MODULES ||
			    e[i].n_implicit > PCARD_GS_MAX_IMPLICIT || e[i].version_len > 4)
				abort();
			(void)pcard_lifecycle_name(PCARD_GP_KIND_APP, e[i].lifecycle);
		}
	} else if (err0 != err) {
		abort();
	}
	return 0;
}
