/* cmd_perso.c: `postcard personalize` and `postcard store-data`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_card.h"
#include "postcard/bytes.h"
#include "postcard/crypto.h"
#include "postcard/gp.h"

static const char perso_help[] =
    "usage: postcard personalize AID (--dgi-file F | --data HEX) [--encrypt] [--pad]\n"
    "                            [options]\n"
    "       postcard store-data (--dgi-file F | --data HEX) [--encrypt] [--pad] [options]\n"
    "\n"
    "personalize sends INSTALL [for personalization] for the application AID, then its\n"
    "data with STORE DATA; store-data sends STORE DATA to the selected security domain.\n"
    "\n"
    "Data:\n"
    "  --dgi-file F   DGIs, binary: tag (2 bytes), length (1 byte, or FF and 2 bytes), value;\n"
    "                 one STORE DATA per DGI, P1 08 (DGI format), 80 on the last\n"
    "  --encrypt      encrypt each DGI value with the DEK (SCP03 AES-CBC static DEK, SCP02\n"
    "                 3DES-ECB session DEK) and set P1 b7b6 (68 / E8); redacted in --trace\n"
    "  --pad          ISO 7816-4 pad values before encryption (else whole blocks needed)\n"
    "  --data HEX     a raw blob, split into STORE DATA blocks (P1 00, 80 on the last)\n"
    "\n"
    "JSON fields: sd, card_locked, channel{...}, operation, ok, aid, bytes, apdus, bytes_sent.\n"
    "\n"
    "Examples:\n"
    "  postcard personalize D0D1D2D3D4D50101 --dgi-file perso.dgi --encrypt --pad\n"
    "  postcard store-data --data 9F6701AA\n";

enum { O_DGI = 3400, O_DATA, O_ENC, O_PAD };

typedef struct perso_opts {
	const char *dgi, *data;
	int enc, pad;
} perso_opts;

static int
perso_opt(cli_ctx *ctx, void *p, int c, const char *arg)
{
	perso_opts *o = p;

	switch (c) {
	case O_DGI: o->dgi = arg; return 0;
	case O_DATA: o->data = arg; return 0;
	case O_ENC: o->enc = 1; return 0;
	case O_PAD: o->pad = 1; return 0;
	default: return cli_usage(ctx, "unknown option");
	}
}

static int
run(cli_ctx *ctx, int argc, char **argv, int with_aid)
{
	static const struct option extra[] = {
		{ "dgi-file", required_argument, NULL, O_DGI },
		{ "store-dgi-file", required_argument, NULL, O_DGI },
		{ "data", required_argument, NULL, O_DATA },
		{ "encrypt", no_argument, NULL, O_ENC },
		{ "pad", no_argument, NULL, O_PAD },
		{ "dgi-padded", no_argument, NULL, O_PAD },
		{ NULL, 0, NULL, 0 },
	};
	const char *op = with_aid ? "personalize" : "store-data";
	cli_card cc;
	perso_opts o;
	pcard_gp_aid aid;
	uint8_t *buf = NULL;
	size_t n = 0, cmds = 0, bytes = 0;
	int rc = 0;
	pcard_err err;

	memset(&o, 0, sizeof o);
	cli_card_init(&cc);
	if (!cli_card_parse(ctx, &cc, argc, argv, perso_help, extra, NULL, perso_opt, &o, &rc))
		goto out;
	if (argc - optind != with_aid || (o.dgi == NULL) == (o.data == NULL) ||
	    (o.data != NULL && o.enc)) {
		rc = cli_usage(ctx, "%s: give %s--dgi-file or --data (--encrypt only with DGIs)",
		    op, with_aid ? "AID and " : "");
		goto out;
	}
	if (with_aid && cli_parse_gp_aid(argv[optind], &aid) != PCARD_OK) {
		rc = cli_usage(ctx, "%s: '%s' is not an AID", op, argv[optind]);
		goto out;
	}
	if (o.dgi != NULL && (err = cli_read_file(o.dgi, 65536, &buf, &n)) != PCARD_OK) {
		rc = cli_fail(ctx, err, "--dgi-file %s", o.dgi);
		goto out;
	}
	if (o.data != NULL) {
		size_t cap = strlen(o.data) / 2 + 1;

		if ((buf = malloc(cap)) == NULL || cli_parse_hex(o.data, buf, cap, &n) != PCARD_OK) {
			rc = cli_usage(ctx, "%s: --data takes hex", op);
			goto out;
		}
	}
	if ((rc = cli_card_connect(ctx, &cc)) != 0 || (rc = cli_card_auth(ctx, &cc)) != 0)
		goto out;
	err = with_aid ? pcard_gpc_personalize(&cc.g, &aid) : PCARD_OK;
	if (err == PCARD_OK)
		err = o.dgi != NULL ? pcard_gpc_store_dgis(&cc.g, buf, n, o.enc, o.pad) :
		    pcard_gpc_store_data(&cc.g, 0x00, buf, n);
	if (err != PCARD_OK) {
		rc = err == PCARD_E_BAD_ENCODING ? cli_fail(ctx, err, "%s: DGI file", op) :
		    cli_card_fail(ctx, &cc, err, op);
		goto out;
	}
	pcard_gpc_stats(&cc.g, &cmds, &bytes);
	if (ctx->json) {
		json_t *j = cli_card_json(&cc);

		json_object_set_new(j, "operation", json_string(op));
		json_object_set_new(j, "ok", json_true());
		json_object_set_new(j, "aid", with_aid ? cli_json_hex(aid.b, aid.len) : json_null());
		json_object_set_new(j, "bytes", json_integer((json_int_t)n));
		json_object_set_new(j, "apdus", json_integer((json_int_t)cmds));
		json_object_set_new(j, "bytes_sent", json_integer((json_int_t)bytes));
		cli_json_print(j);
	} else {
		cli_info(ctx, "%s: %zu bytes stored\n", op, n);
	}
	rc = 0;
out:
	if (buf != NULL)
		pcard_wipe(buf, n);
	free(buf);
	cli_card_free(&cc);
	return rc;
}

int
cmd_personalize(cli_ctx *ctx, int argc, char **argv)
{
	return run(ctx, argc, argv, 1);
}

int
cmd_store_data(cli_ctx *ctx, int argc, char **argv)
{
	return run(ctx, argc, argv, 0);
}
