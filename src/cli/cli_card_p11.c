/*
 * cli_card_p11.c: --key pkcs11:URI for card commands: the secure channel's master (or
 * static) key is a token object found by label through the PKCS#11 key provider of
 * src/hsm; its value never enters postcard's memory.
 */
#include <stdio.h>
#include <string.h>

#include "cli_card.h"
#include "cli_pkcs11.h"
#include "hsm.h"

void
cli_card_p11_close(cli_card *cc)
{
	pcard_hsm_close(cc->hsm);
	cc->hsm = NULL;
}

int
cli_card_p11_keys(cli_ctx *ctx, cli_card *cc, pcard_keytype type, pcard_gpc_auth *a)
{
	cli_p11uri u;
	pcard_hsm_params p;
	pcard_keytype kt;
	pcard_keyh h = PCARD_KEYH_NONE;
	size_t klen = 0;
	char why[256];
	pcard_err err;

	if (cc->key_file != NULL || cc->key_env != NULL || cc->key_part[0] != NULL ||
	    cc->key_part[1] != NULL || cc->key_part[2] != NULL)
		return cli_usage(ctx, "--key pkcs11:... cannot be combined with --key-file, "
		    "--key-env or --key-enc/--key-mac/--key-dek");
	if ((err = cli_p11uri_parse(cc->key_uri, &u, why, sizeof why)) != PCARD_OK) {
		if (err == PCARD_E_USAGE)
			return cli_usage(ctx, "--key %s", why);
		return cli_fail(ctx, err, "--key %s", why);
	}
	if (u.token[0] == '\0')	/* SoftHSM's slot numbers are random: name the token */
		return cli_usage(ctx, "--key pkcs11: URI needs token=LABEL");
	memset(&p, 0, sizeof p);
	p.module = u.module[0] != '\0' ? u.module : PCARD_HSM_DEFAULT_MODULE;
	p.token_label = u.token;
	p.pin_file = u.pin_file[0] != '\0' ? u.pin_file : NULL;
	p.pin_env = u.pin_env[0] != '\0' ? u.pin_env : NULL;
	p.max_keys = 64;
	err = pcard_hsm_open(&p, &cc->hsm);
	switch (err) {
	case PCARD_OK:
		break;
	case PCARD_E_IO:
		return cli_fail(ctx, err, "--key pkcs11: cannot load the PKCS#11 module %s",
		    p.module);
	case PCARD_E_NOT_FOUND:
		return cli_fail(ctx, err, "--key pkcs11: no token labelled '%s' in %s", u.token,
		    p.module);
	case PCARD_E_INVALID_ARG:
		return cli_fail(ctx, PCARD_E_KEY, "--key pkcs11: no usable PIN (pin-source "
		    "file unreadable or empty, or $%s not set)",
		    p.pin_env != NULL ? p.pin_env : PCARD_HSM_PIN_ENV);
	default:
		return cli_fail(ctx, err, "--key pkcs11: opening token '%s'", u.token);
	}
	cc->keys = pcard_hsm_keys(cc->hsm);
	if ((err = pcard_keys_find(cc->keys, u.object, &h)) != PCARD_OK)
		return cli_fail(ctx, err, "--key pkcs11: no key object labelled '%s' on the "
		    "token", u.object);
	if ((err = pcard_keys_info(cc->keys, h, &kt, &klen)) != PCARD_OK)
		return cli_fail(ctx, err, "--key pkcs11: key object '%s'", u.object);
	if (kt != type)
		return cli_fail(ctx, PCARD_E_KEY, "--key pkcs11: key object '%s' is %s, the "
		    "channel needs %s", u.object, kt == PCARD_KEY_AES ? "AES" :
		    kt == PCARD_KEY_DES3 ? "3DES" : "not a secret key",
		    type == PCARD_KEY_DES3 ? "3DES (SCP02)" : "AES (SCP03)");
	a->master[0] = a->master[1] = a->master[2] = h;
	return 0;
}
