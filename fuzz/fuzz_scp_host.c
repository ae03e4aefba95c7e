/*
 * fuzz_scp_host.c: structure-aware fuzzing of the host side of SCP02/SCP03 (see scp_fuzz.h):
 * valid sessions over fuzzed plaintext, mutated responses before pcard_scp_unwrap_rsp, and
 * raw bytes as INITIALIZE UPDATE responses and wrapped responses.
 */
#include <stddef.h>
#include <stdint.h>

#include "scp_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fz_run(FOCUS_HOST, data, size);
}
