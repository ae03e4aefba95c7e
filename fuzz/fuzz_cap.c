/*
 * fuzz_cap.c: the CAP reader on arbitrary bytes, twice: as a ZIP (pcard_cap_open_mem) and as
 * a raw concatenation of components (pcard_cap_open_lfdb), so inputs reach the component
 * parsers without having to get through the ZIP layer first. Whatever opens is then used
 * the way `postcard cap info` and LOAD use it.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "postcard/cap.h"
#include "postcard/crypto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
exercise(const pcard_cap *c)
{
	static uint8_t buf[PCARD_CAP_MAX_LFDB_BYTES + 8];
	const pcard_cap_info *ci = pcard_cap_get_info(c);
	uint8_t h[PCARD_MAX_HASH_BYTES];
	size_t n;

	if (ci->package.len < PCARD_CAP_AID_MIN || ci->package.len > PCARD_CAP_AID_MAX)
		abort();
	for (size_t i = 0; i < ci->napplets; i++)
		if (ci->applets[i].install_offset + 3u >= ci->comp_len[PCARD_CAP_METHOD])
			abort();
	if (pcard_cap_lfdb(c, PCARD_CAP_LFDB_DESCRIPTOR | PCARD_CAP_LFDB_DEBUG, buf, sizeof buf,
	    &n) != PCARD_OK)
		abort();
	if (pcard_cap_load_file(c, 0, buf, sizeof buf, &n) != PCARD_OK ||
	    n < pcard_cap_lfdb_len(c, 0))
		abort();
	(void)pcard_cap_lfdb_hash(c, 0, PCARD_HASH_SHA256, h, sizeof h, &n);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pcard_cap *c = NULL;

	if (pcard_cap_open_mem(data, size, &c) == PCARD_OK)
		exercise(c);
	pcard_cap_free(c);
	c = NULL;
	if (pcard_cap_open_lfdb(data, size, &c) == PCARD_OK)
		exercise(c);
	pcard_cap_free(c);
	return 0;
}
