/*
 * fuzz_p11uri.c: the PKCS#11 URI parser of postcard --key (src/cli/cli_pkcs11.c, compiled in
 * here: the CLI is not in libpostcard) on arbitrary text. Invariants (abort on violation):
 *  - success means object is set and every field is NUL-terminated within its array;
 *  - failure leaves *u zeroed and a one-line reason;
 *  - parsing is deterministic (a second parse gives the same result).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/cli/cli_pkcs11.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
terminated(const char *s, size_t cap)
{
	return memchr(s, '\0', cap) != NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const cli_p11uri zero;
	cli_p11uri u, u2;
	char why[256], why2[256];
	char *s;
	pcard_err err, err2;

	if (size > 8192)
		return 0;
	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	err = cli_p11uri_parse(s, &u, why, sizeof why);
	err2 = cli_p11uri_parse(s, &u2, why2, sizeof why2);
	if (err != err2 || memcmp(&u, &u2, sizeof u) != 0 || strcmp(why, why2) != 0)
		abort();
	if (err == PCARD_OK) {
		if (u.object[0] == '\0' || !terminated(u.token, sizeof u.token) ||
		    !terminated(u.object, sizeof u.object) ||
		    !terminated(u.module, sizeof u.module) ||
		    !terminated(u.pin_file, sizeof u.pin_file) ||
		    !terminated(u.pin_env, sizeof u.pin_env) || why[0] != '\0')
			abort();
		if (u.pin_file[0] != '\0' && u.pin_env[0] != '\0')
			abort();
	} else {
		if (memcmp(&u, &zero, sizeof u) != 0 || why[0] == '\0' ||
		    strchr(why, '\n') != NULL)
			abort();
	}
	free(s);
	return 0;
}
