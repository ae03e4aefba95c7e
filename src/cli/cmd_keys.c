/* cmd_keys.c: `postcard put-key` and `postcard delete-key`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli_card.h"
#include "postcard/bytes.h"
#include "postcard/crypto.h"
#include "postcard/keydiv.h"

static const char putkey_help[] =
    "usage: postcard put-key --new-kvn KVN [--replace KVN] KEYS [--new-kdf T] [options]\n"
    "       postcard put-key --new-kvn KVN --id N (--pubkey PEM | --single KEYS) [options]\n"
    "\n"
    "Put a key set ENC/MAC/DEK (ids 1-3, one PUT KEY, P2 81) encrypted under the session's\n"
    "DEK, and check the key check values the card answers. Without --replace the set is\n"
    "added; --replace KVN replaces that set (key rotation). --id with --pubkey puts one RSA\n"
    "(up to 4096 bits; a data field over one command goes as a PUT KEY chain, P1 b8 on all\n"
    "but the last) or EC public key; with --single one secret key. KVN 70 / 71 / 73 with\n"
    "--id 1 are by GlobalPlatform convention the SD's token verification / receipt\n"
    "generation / DAP verification key.\n"
    "\n"
    "KEYS (new secret keys; AES on SCP03 cards, 3DES on SCP02):\n"
    "  --new-key HEX        ENC = MAC = DEK (visible on the command line: prefer the next two)\n"
    "  --new-key-file FILE  hex from FILE\n"
    "  --new-key-env VAR    hex from environment variable VAR\n"
    "  --new-enc/--new-mac/--new-dek HEX   separate keys\n"
    "  --new-kdf T          the given keys are masters: diversify them with template T and\n"
    "                       the card's KDD before putting them\n"
    "\n"
    "JSON fields: sd, card_locked, channel{...}, operation, ok, new_kvn, replaced_kvn,\n"
    "key_id, kcv_checked.\n"
    "\n"
    "Examples:\n"
    "  postcard put-key --new-kvn 30 --new-key-env NEWKEY\n"
    "  postcard put-key --new-kvn 30 --replace 30 --new-key-file k.hex --new-kdf kdf3\n"
    "  postcard put-key --new-kvn 70 --id 1 --pubkey token-public.pem\n"
    "  postcard put-key --sd D0D1D2D3D4D5AA --new-kvn 73 --id 1 --pubkey dap-rsa2048.pem\n";

enum { O_NEW_KVN = 3200, O_REPLACE, O_NEW_KEY, O_NEW_FILE, O_NEW_ENV, O_NEW_ENC, O_NEW_MAC,
	O_NEW_DEK, O_NEW_KDF, O_ID, O_PUBKEY, O_SINGLE };

typedef struct pk_opts {
	int new_kvn, replace, id, single;
	const char *key, *file, *env, *part[3], *kdf, *pubkey;
	int on_argv;
} pk_opts;

static int
pk_opt(cli_ctx *ctx, void *p, int c, const char *arg)
{
	pk_opts *o = p;
	uint8_t v = 0;

	switch (c) {
	case O_NEW_KVN:
	case O_REPLACE:
	case O_ID:
		if (cli_parse_hex_byte(arg, &v) != PCARD_OK || v == 0 || v > 0x7F)
			return cli_usage(ctx, "--new-kvn, --replace and --id take a hex byte 01..7F");
		*(c == O_NEW_KVN ? &o->new_kvn : c == O_REPLACE ? &o->replace : &o->id) = v;
		return 0;
	case O_NEW_KEY:
		if (strncasecmp(arg, "pkcs11:", 7) == 0)
			return cli_fail(ctx, PCARD_E_UNSUPPORTED, "--new-key pkcs11:...: PKCS#11 key "
			    "URIs are not supported yet (use --new-key-file or --new-key-env)");
		o->key = arg;
		o->on_argv = 1;
		return 0;
	case O_NEW_FILE: o->file = arg; return 0;
	case O_NEW_ENV: o->env = arg; return 0;
	case O_NEW_ENC: case O_NEW_MAC: case O_NEW_DEK:
		o->part[c - O_NEW_ENC] = arg;
		o->on_argv = 1;
		return 0;
	case O_NEW_KDF: o->kdf = arg; return 0;
	case O_PUBKEY: o->pubkey = arg; return 0;
	case O_SINGLE: o->single = 1; return 0;
	default:
		return cli_usage(ctx, "put-key: unknown option");
	}
}

/* Hex text with whitespace into a key. */
static pcard_err
key_text(const char *s, uint8_t *key, size_t *len)
{
	char buf[200];
	size_t j = 0;

	for (; *s != '\0'; s++) {
		if (*s == ' ' || *s == '\n' || *s == '\r' || *s == '\t')
			continue;
		if (j + 1 >= sizeof buf)
			return PCARD_E_KEY;
		buf[j++] = *s;
	}
	buf[j] = '\0';
	if (j == 0 || cli_parse_hex(buf, key, PCARD_MAX_SYMKEY_BYTES, len) != PCARD_OK)
		return PCARD_E_KEY;
	return PCARD_OK;
}

static pcard_err
new_main_key(const pk_opts *o, uint8_t *key, size_t *len)
{
	uint8_t *buf = NULL;
	size_t n = 0;
	pcard_err err;

	if (o->file != NULL) {
		if ((err = pcard_file_read(o->file, 1024, &buf, &n)) != PCARD_OK)
			return err;
		buf[n] = '\0';
		err = key_text((const char *)buf, key, len);
		pcard_wipe(buf, n);
		free(buf);
		return err;
	}
	if (o->env != NULL)
		return getenv(o->env) != NULL ? key_text(getenv(o->env), key, len) : PCARD_E_KEY;
	if (o->key != NULL)
		return key_text(o->key, key, len);
	*len = 0;
	return PCARD_OK;
}

/* Import the three new keys (diversified when --new-kdf) into the session's provider. */
static pcard_err
new_keys(cli_card *cc, const pk_opts *o, pcard_keyh out[3], pcard_keyh masters[3])
{
	uint8_t key[PCARD_MAX_SYMKEY_BYTES], part[PCARD_MAX_SYMKEY_BYTES];
	size_t len = 0, plen = 0;
	pcard_keytype t = cc->auth.scp == 2 ? PCARD_KEY_DES3 : PCARD_KEY_AES;
	pcard_keydiv div;
	pcard_err err;

	if ((err = new_main_key(o, key, &len)) != PCARD_OK)
		goto out;
	for (int k = 0; k < 3; k++) {
		const uint8_t *use = key;
		size_t ulen = len;

		if (o->part[k] != NULL) {
			if ((err = key_text(o->part[k], part, &plen)) != PCARD_OK)
				goto out;
			use = part;
			ulen = plen;
		}
		if (ulen == 0) {
			err = PCARD_E_KEY;
			goto out;
		}
		if ((err = pcard_keys_mem_import(cc->keys, NULL, t, use, ulen, &masters[k])) !=
		    PCARD_OK)
			goto out;
	}
	if (o->kdf == NULL) {
		memcpy(out, masters, 3 * sizeof *out);
	} else if ((err = pcard_keydiv_parse(o->kdf, &div)) != PCARD_OK ||
	    (err = pcard_keydiv_derive_set(cc->keys, masters, &div, cc->auth.kdd, out)) !=
	    PCARD_OK) {
		goto out;
	}
	err = PCARD_OK;
out:
	pcard_wipe(key, sizeof key);
	pcard_wipe(part, sizeof part);
	return err;
}

int
cmd_put_key(cli_ctx *ctx, int argc, char **argv)
{
	static const struct option extra[] = {
		{ "new-kvn", required_argument, NULL, O_NEW_KVN },
		{ "new-keyver", required_argument, NULL, O_NEW_KVN },
		{ "replace", required_argument, NULL, O_REPLACE },
		{ "new-key", required_argument, NULL, O_NEW_KEY },
		{ "new-key-file", required_argument, NULL, O_NEW_FILE },
		{ "new-key-env", required_argument, NULL, O_NEW_ENV },
		{ "new-enc", required_argument, NULL, O_NEW_ENC },
		{ "new-mac", required_argument, NULL, O_NEW_MAC },
		{ "new-dek", required_argument, NULL, O_NEW_DEK },
		{ "new-kdf", required_argument, NULL, O_NEW_KDF },
		{ "id", required_argument, NULL, O_ID },
		{ "pubkey", required_argument, NULL, O_PUBKEY },
		{ "single", no_argument, NULL, O_SINGLE },
		{ NULL, 0, NULL, 0 },
	};
	cli_card cc;
	pk_opts o;
	pcard_keyh set[3] = { 0, 0, 0 }, masters[3] = { 0, 0, 0 };
	pcard_pkey *pk = NULL;
	int rc = 0;
	pcard_err err;

	memset(&o, 0, sizeof o);
	cli_card_init(&cc);
	if (!cli_card_parse(ctx, &cc, argc, argv, putkey_help, extra, NULL, pk_opt, &o, &rc))
		goto out;
	if (optind != argc || o.new_kvn == 0 || ((o.pubkey != NULL || o.single) && o.id == 0)) {
		rc = cli_usage(ctx, "put-key: --new-kvn is required (and --id with --pubkey or "
		    "--single); see 'postcard help put-key'");
		goto out;
	}
	if (o.pubkey != NULL && (err = pcard_pkey_load_file(o.pubkey, &pk)) != PCARD_OK) {
		rc = cli_fail(ctx, err, "--pubkey %s", o.pubkey);
		goto out;
	}
	if ((rc = cli_card_connect(ctx, &cc)) != 0 || (rc = cli_card_auth(ctx, &cc)) != 0)
		goto out;
	if (o.on_argv)
		cli_info(ctx, "warning: a key on the command line is visible to other users of "
		    "this machine; use --new-key-file or --new-key-env\n");
	cc.step = "put-key";
	if (pk != NULL) {
		err = pcard_gpc_put_pubkey(&cc.g, (uint8_t)o.new_kvn, (uint8_t)o.replace,
		    (uint8_t)o.id, pk);
	} else if ((err = new_keys(&cc, &o, set, masters)) == PCARD_OK) {
		err = o.single ? pcard_gpc_put_key(&cc.g, (uint8_t)o.new_kvn, (uint8_t)o.replace,
		    (uint8_t)o.id, set[0]) :
		    pcard_gpc_put_keyset(&cc.g, (uint8_t)o.new_kvn, (uint8_t)o.replace, set);
	}
	if (err != PCARD_OK) {
		rc = err == PCARD_E_KEY ? cli_fail(ctx, err, "put-key: the new keys (give "
		    "--new-key, --new-key-file or --new-key-env; AES 16/24/32 or 3DES 16 bytes)") :
		    cli_card_fail(ctx, &cc, err, "put-key");
		goto out;
	}
	if (ctx->json) {
		json_t *j = cli_card_json(&cc);

		json_object_set_new(j, "operation", json_string("put-key"));
		json_object_set_new(j, "ok", json_true());
		json_object_set_new(j, "new_kvn", json_integer(o.new_kvn));
		json_object_set_new(j, "replaced_kvn", o.replace ? json_integer(o.replace) :
		    json_null());
		json_object_set_new(j, "key_id", o.id ? json_integer(o.id) : json_null());
		json_object_set_new(j, "kcv_checked", json_boolean(pk == NULL));
		cli_json_print(j);
	} else {
		cli_info(ctx, "key%s put as version %02X%s\n", pk != NULL || o.single ? "" : " set",
		    o.new_kvn, pk == NULL ? ", key check values confirmed by the card" : "");
	}
	rc = 0;
out:
	pcard_pkey_free(pk);
	cli_card_free(&cc);
	return rc;
}

/* ---- delete-key ---- */

static const char delkey_help[] =
    "usage: postcard delete-key KVN [--id N] [options]\n"
    "\n"
    "DELETE a key set (D2 01 KVN) or, with --id, one key of it (D0 01 id, D2 01 KVN).\n"
    "\n"
    "JSON fields: sd, card_locked, channel{...}, operation, ok, kvn, key_id.\n"
    "\n"
    "Examples:\n"
    "  postcard delete-key 30\n"
    "  postcard delete-key 70 --id 1 --json\n";

enum { O_DID = 3300 };

static int
dk_opt(cli_ctx *ctx, void *p, int c, const char *arg)
{
	uint8_t v = 0;

	if (c != O_DID || cli_parse_hex_byte(arg, &v) != PCARD_OK || v == 0 || v > 0x7F)
		return cli_usage(ctx, "delete-key: --id takes a hex byte 01..7F");
	*(int *)p = v;
	return 0;
}

int
cmd_delete_key(cli_ctx *ctx, int argc, char **argv)
{
	static const struct option extra[] = {
		{ "id", required_argument, NULL, O_DID }, { NULL, 0, NULL, 0 } };
	cli_card cc;
	int rc = 0, id = -1;
	uint8_t kvn = 0;
	pcard_err err;

	cli_card_init(&cc);
	if (!cli_card_parse(ctx, &cc, argc, argv, delkey_help, extra, NULL, dk_opt, &id, &rc))
		goto out;
	if (argc - optind != 1 || cli_parse_hex_byte(argv[optind], &kvn) != PCARD_OK) {
		rc = cli_usage(ctx, "delete-key: give the key version (hex byte)");
		goto out;
	}
	if ((rc = cli_card_connect(ctx, &cc)) != 0 || (rc = cli_card_auth(ctx, &cc)) != 0)
		goto out;
	if ((err = pcard_gpc_delete_key(&cc.g, kvn, id)) != PCARD_OK) {
		rc = cli_card_fail(ctx, &cc, err, "delete-key");
		goto out;
	}
	if (ctx->json) {
		json_t *j = cli_card_json(&cc);

		json_object_set_new(j, "operation", json_string("delete-key"));
		json_object_set_new(j, "ok", json_true());
		json_object_set_new(j, "kvn", json_integer(kvn));
		json_object_set_new(j, "key_id", id > 0 ? json_integer(id) : json_null());
		cli_json_print(j);
	} else {
		cli_info(ctx, "key%s deleted\n", id > 0 ? "" : " set");
	}
	rc = 0;
out:
	cli_card_free(&cc);
	return rc;
}
