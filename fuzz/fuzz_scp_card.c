/*
 * fuzz_scp_card.c: structure-aware fuzzing of the card side of SCP02/SCP03 (see scp_fuzz.h):
 * valid sessions over fuzzed plaintext, mutated commands before pcard_scp_unwrap_cmd, and raw
 * bytes as INITIALIZE UPDATE, EXTERNAL AUTHENTICATE and wrapped commands.
 */
#include <stddef.h>
#include <stdint.h>

#include "scp_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fz_run(FOCUS_CARD, data, size);
}
