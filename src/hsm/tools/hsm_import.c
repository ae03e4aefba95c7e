/*
 * pcard-hsm-import: create a master key on a PKCS#11 token through the HSM layer (the same
 * template as pcard_hsm_import_secret: sensitive, not extractable, derive only), for
 * scripts/softhsm-init and operators.
 *
 *   pcard-hsm-import --token LABEL --label KEYLABEL --type aes|des3 [--static]
 *                    [--generate LEN] [--module PATH] [--pin-file FILE]
 *
 * Without --generate the key value is read as hex from standard input (never from argv,
 * which every local user can see). The PIN comes from --pin-file or $PCARD_HSM_PIN.
 * An existing label is left alone (exit 0, "exists" on stderr), so scripts can rerun.
 * Exit: 0 done or exists, 2 usage, 1 anything else.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hsm.h"
#include "postcard/bytes.h"
#include "postcard/crypto.h"

static int
usage(void)
{
	fprintf(stderr, "usage: pcard-hsm-import --token LABEL --label KEYLABEL --type aes|des3 "
	    "[--static] [--generate LEN] [--module PATH] [--pin-file FILE]\n");
	return 2;
}

int
main(int argc, char **argv)
{
	pcard_hsm_params p;
	pcard_hsm *h = NULL;
	const char *label = NULL, *type = NULL;
	char line[200];
	uint8_t key[32];
	size_t klen = 0, gen = 0;
	unsigned usage_flags = PCARD_HSM_USE_MASTER;
	pcard_keytype kt;
	pcard_keyh k;
	pcard_err err;
	int i, rc = 1;

	memset(&p, 0, sizeof p);
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--static") == 0) {
			usage_flags = PCARD_HSM_USE_STATIC;
			continue;
		}
		if (v == NULL)
			return usage();
		if (strcmp(a, "--token") == 0)
			p.token_label = v;
		else if (strcmp(a, "--label") == 0)
			label = v;
		else if (strcmp(a, "--type") == 0)
			type = v;
		else if (strcmp(a, "--module") == 0)
			p.module = v;
		else if (strcmp(a, "--pin-file") == 0)
			p.pin_file = v;
		else if (strcmp(a, "--generate") == 0)
			gen = (size_t)strtoul(v, NULL, 10);
		else
			return usage();
		i++;
	}
	if (p.token_label == NULL || label == NULL || type == NULL)
		return usage();
	if (strcmp(type, "aes") == 0)
		kt = PCARD_KEY_AES;
	else if (strcmp(type, "des3") == 0)
		kt = PCARD_KEY_DES3;
	else
		return usage();
	if (gen == 0) {
		if (fgets(line, sizeof line, stdin) == NULL)
			return usage();
		line[strcspn(line, "\r\n")] = '\0';
		err = pcard_hex_decode(line, key, sizeof key, &klen);
		pcard_wipe(line, sizeof line);
		if (err != PCARD_OK) {
			fprintf(stderr, "pcard-hsm-import: key is not hex of at most 32 bytes\n");
			goto out;
		}
	}
	if ((err = pcard_hsm_open(&p, &h)) != PCARD_OK) {
		fprintf(stderr, "pcard-hsm-import: open: %s\n", pcard_strerror(err));
		goto out;
	}
	if (pcard_keys_find(pcard_hsm_keys(h), label, &k) == PCARD_OK) {
		fprintf(stderr, "pcard-hsm-import: %s exists\n", label);
		rc = 0;
		goto out;
	}
	err = gen != 0 ? pcard_hsm_generate_secret(h, label, kt, gen, usage_flags, &k) :
	    pcard_hsm_import_secret(h, label, kt, key, klen, usage_flags, &k);
	if (err != PCARD_OK) {
		fprintf(stderr, "pcard-hsm-import: %s: %s\n", label, pcard_strerror(err));
		goto out;
	}
	rc = 0;
out:
	pcard_wipe(key, sizeof key);
	pcard_hsm_close(h);
	return rc;
}
