/*
 * fuzz_cardfile.c: the card-file parser (pcard_cardfile_parse) and the body decoder
 * (pcard_cardstate_decode) on arbitrary bytes. The first input byte picks the target:
 *   even: the rest is a whole card file image (header, body, SHA-256);
 *   odd:  the rest is a body alone, so mutations reach the decoder past the checksum.
 * Consistency checked (abort on violation):
 *  - whatever is accepted re-encodes to exactly the input bytes (the encoding is canonical,
 *    so the decoder accepts nothing the encoder would not write);
 *  - an accepted state passes pcard_cardstate_check, copies to an equal state and has a
 *    JSON view; a rejected one leaves the state empty.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cardfile.h"
#include "cardstate.h"

static void
check_state(const pcard_cardstate *cs)
{
	pcard_cardstate copy;
	json_t *j = NULL;

	if (pcard_cardstate_check(cs) != PCARD_OK)
		abort();
	pcard_cardstate_init(&copy);
	if (pcard_cardstate_copy(&copy, cs) != PCARD_OK || !pcard_cardstate_eq(cs, &copy, NULL, 0))
		abort();
	pcard_cardstate_clear(&copy);
	if (pcard_cardstate_json(cs, &j) != PCARD_OK)
		abort();
	json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pcard_cardstate cs;
	uint8_t *out = NULL;
	size_t n = 0;
	uint64_t gen = 0;

	if (size < 1)
		return 0;
	pcard_cardstate_init(&cs);
	if ((data[0] & 1) == 0) {
		if (pcard_cardfile_parse(data + 1, size - 1, &cs, &gen) != PCARD_OK) {
			if (cs.napps != 0 || cs.nelfs != 0 || cs.isd.data != NULL)
				abort();
			return 0;
		}
		check_state(&cs);
		if (pcard_cardfile_image(&cs, gen, &out, &n) != PCARD_OK || n != size - 1 ||
		    memcmp(out, data + 1, n) != 0)
			abort();
		pcard_cardfile_image_free(out, n);
	} else {
		if (pcard_cardstate_decode(data + 1, size - 1, &cs) != PCARD_OK) {
			if (cs.napps != 0 || cs.nelfs != 0 || cs.isd.data != NULL)
				abort();
			return 0;
		}
		check_state(&cs);
		if (pcard_cardstate_encode(&cs, NULL, 0, &n) != PCARD_OK || n != size - 1 ||
		    (out = malloc(n > 0 ? n : 1)) == NULL ||
		    pcard_cardstate_encode(&cs, out, n, &n) != PCARD_OK ||
		    memcmp(out, data + 1, n) != 0)
			abort();
		free(out);
	}
	pcard_cardstate_clear(&cs);
	return 0;
}
