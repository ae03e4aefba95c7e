/* cmd_perso.c: `postcard personalize` and `postcard store-data`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_card.h"
#include "postcard/bytes.h"
#include "postcard/crypto.h"
#include "postcard/gp.h"

static const char perso_help[] =
    "usage: postcard personalize AID (--perso-file F | --dgi-file F | --data HEX)\n"
    "                            [--encrypt] [--pad] [--format raw|tlv|dgi] [options]\n"
    "       postcard store-data (--perso-file F | --dgi-file F | --data HEX) [--encrypt]\n"
    "                            [--pad] [--format raw|tlv|dgi] [options]\n"
    "\n"
    "personalize sends INSTALL [for personalization] for the application AID through the\n"
    "selected security domain (the ISD unless --sd), then its data with STORE DATA;\n"
    "store-data sends STORE DATA to the security domain itself.\n"
    "\n"
    "Data:\n"
    "  --perso-file F  postcard perso file: text, one STORE DATA command per line,\n"
    "                  'KIND [enc] HEX...' with KIND tlv (BER-TLV, P1 b5b4 10), dgi (first 2\n"
    "                  bytes the DGI tag, the length is inserted; P1 b5b4 01) or raw (P1 b5b4\n"
    "                  00); 'enc' pads (80 00..) and encrypts under the DEK the whole data\n"
    "                  field (tlv, raw) or the DGI value alone (dgi: tag and length stay in\n"
    "                  clear, as EMV CPS), P1 b7b6 11; '#' starts a comment. P2 counts from\n"
    "                  00, P1 b8 on the last line\n"
    "  --dgi-file F    DGIs, binary (GlobalPlatformPro's --store-dgi-file): tag (2 bytes),\n"
    "                  length (1 byte, or FF and 2 bytes), value; one STORE DATA per DGI, P1 08,\n"
    "                  88 on the last\n"
    "  --encrypt       perso file: every line as 'enc'; DGI file: each DGI value encrypted\n"
    "                  with the DEK (SCP03 AES-CBC static DEK, SCP02 3DES-ECB session DEK), P1\n"
    "                  b7b6 11; --data: one encrypted command. Redacted in --trace\n"
    "  --pad           DGI file: ISO 7816-4 pad values before encryption (else whole blocks)\n"
    "  --data HEX      a blob, split into STORE DATA blocks (P1 b8 on the last)\n"
    "  --format F      P1 data format of --data: raw (default), tlv or dgi\n"
    "\n"
    "JSON fields: sd, card_locked, channel{...}, operation, ok, aid, bytes, records, apdus,\n"
    "bytes_sent.\n"
    "\n"
    "Examples:\n"
    "  printf 'tlv enc C1 04 00000001 5F20 03 414243\\n' > ds.perso\n"
    "  postcard personalize F0706F7374636172640101 --perso-file ds.perso\n"
    "  postcard personalize D0D1D2D3D4D50101 --dgi-file perso.dgi --encrypt --pad\n"
    "  postcard store-data --data 4F08A000000151000001 --format tlv    # rename the ISD\n";

enum { O_DGI = 3400, O_DATA, O_ENC, O_PAD, O_PERSO, O_FORMAT };

/* Perso file limits: 64 KiB of text, 256 records (one P2 byte). */
#define PERSO_TEXT_MAX 65536
#define PERSO_RECORDS_MAX 256

typedef struct perso_opts {
	const char *dgi, *data, *perso;
	int enc, pad;
	uint8_t fmt;
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
	case O_PERSO: o->perso = arg; return 0;
	case O_FORMAT:
		if (strcmp(arg, "raw") == 0)
			o->fmt = PCARD_SD_FMT_NONE;
		else if (strcmp(arg, "tlv") == 0)
			o->fmt = PCARD_SD_FMT_BER;
		else if (strcmp(arg, "dgi") == 0)
			o->fmt = PCARD_SD_FMT_DGI;
		else
			return cli_usage(ctx, "--format takes raw, tlv or dgi, not '%s'", arg);
		return 0;
	default: return cli_usage(ctx, "unknown option");
	}
}

/* The records to send: a perso file, --data (one encrypted record), or NULL (blocks). */
static int
load_records(cli_ctx *ctx, const perso_opts *o, const char *op, uint8_t *text, size_t tlen,
    uint8_t *buf, size_t cap, pcard_gpc_sd_record *recs, size_t *count)
{
	size_t line = 0;
	pcard_err err;

	*count = 0;
	if (o->perso != NULL) {
		err = pcard_gpc_perso_parse(text, tlen, buf, cap, recs, PERSO_RECORDS_MAX, count,
		    &line);
		if (err != PCARD_OK)
			return cli_fail(ctx, err == PCARD_E_NOSPACE ? PCARD_E_BAD_FILE : err,
			    "%s: --perso-file %s line %zu (want 'tlv|dgi|raw [enc] HEX...')", op,
			    o->perso, line);
		for (size_t k = 0; k < *count; k++)
			recs[k].encrypt |= o->enc;
	}
	return 0;
}

static int
run(cli_ctx *ctx, int argc, char **argv, int with_aid)
{
	static const struct option extra[] = {
		{ "dgi-file", required_argument, NULL, O_DGI },
		{ "store-dgi-file", required_argument, NULL, O_DGI },
		{ "perso-file", required_argument, NULL, O_PERSO },
		{ "data", required_argument, NULL, O_DATA },
		{ "encrypt", no_argument, NULL, O_ENC },
		{ "pad", no_argument, NULL, O_PAD },
		{ "dgi-padded", no_argument, NULL, O_PAD },
		{ "format", required_argument, NULL, O_FORMAT },
		{ NULL, 0, NULL, 0 },
	};
	const char *op = with_aid ? "personalize" : "store-data";
	cli_card cc;
	perso_opts o;
	pcard_gp_aid aid;
	pcard_gpc_sd_record *recs = NULL;
	uint8_t *buf = NULL, *pbuf = NULL;
	size_t n = 0, cmds = 0, bytes = 0, nrec = 0, pcap = 0;
	int rc = 0;
	pcard_err err;

	memset(&o, 0, sizeof o);
	cli_card_init(&cc);
	if (!cli_card_parse(ctx, &cc, argc, argv, perso_help, extra, NULL, perso_opt, &o, &rc))
		goto out;
	if (argc - optind != with_aid ||
	    (o.dgi != NULL) + (o.data != NULL) + (o.perso != NULL) != 1) {
		rc = cli_usage(ctx, "%s: give %sone of --perso-file, --dgi-file or --data (see "
		    "'postcard help %s')", op, with_aid ? "the AID and " : "", op);
		goto out;
	}
	if (with_aid && cli_parse_gp_aid(argv[optind], &aid) != PCARD_OK) {
		rc = cli_usage(ctx, "%s: '%s' is not an AID of 5 to 16 bytes in hex", op,
		    argv[optind]);
		goto out;
	}
	if (o.dgi != NULL && (err = pcard_file_read(o.dgi, 65536, &buf, &n)) != PCARD_OK) {
		rc = cli_fail(ctx, err, "--dgi-file %s", o.dgi);
		goto out;
	}
	if (o.perso != NULL && (err = pcard_file_read(o.perso, PERSO_TEXT_MAX, &buf, &n)) !=
	    PCARD_OK) {
		rc = cli_fail(ctx, err, "--perso-file %s", o.perso);
		goto out;
	}
	if (o.data != NULL) {
		size_t cap = strlen(o.data) / 2 + 1;

		if ((buf = malloc(cap)) == NULL || cli_parse_hex(o.data, buf, cap, &n) != PCARD_OK ||
		    n == 0) {
			rc = cli_usage(ctx, "%s: --data takes hex", op);
			goto out;
		}
	}
	if ((recs = calloc(PERSO_RECORDS_MAX, sizeof *recs)) == NULL ||
	    (pbuf = malloc(pcap = n + 3 * PERSO_RECORDS_MAX + 1)) == NULL) {
		rc = cli_fail(ctx, PCARD_E_NOMEM, "%s", op);
		goto out;
	}
	if ((rc = load_records(ctx, &o, op, buf, n, pbuf, pcap, recs, &nrec)) != 0)
		goto out;
	if (o.data != NULL && o.enc) {
		recs[0].fmt = o.fmt;
		recs[0].encrypt = 1;
		recs[0].data = buf;
		recs[0].len = n;
		nrec = 1;
	}
	if ((rc = cli_card_connect(ctx, &cc)) != 0 || (rc = cli_card_auth(ctx, &cc)) != 0)
		goto out;
	cc.step = op;
	err = with_aid ? pcard_gpc_personalize(&cc.g, &aid) : PCARD_OK;
	if (err == PCARD_OK) {
		if (nrec > 0)
			err = pcard_gpc_store_records(&cc.g, recs, nrec);
		else if (o.dgi != NULL)
			err = pcard_gpc_store_dgis(&cc.g, buf, n, o.enc, o.pad);
		else
			err = pcard_gpc_store_data(&cc.g, o.fmt, buf, n);
	}
	if (err != PCARD_OK) {
		if (err == PCARD_E_BAD_ENCODING || err == PCARD_E_INVALID_ARG)
			rc = cli_fail(ctx, PCARD_E_BAD_ENCODING, "%s: %s", op, o.dgi != NULL ?
			    "DGI file malformed, or a DGI too long for one command (or not whole "
			    "blocks without --pad)" : "a record too long for one command at this "
			    "security level");
		else
			rc = cli_card_fail(ctx, &cc, err, op);
		goto out;
	}
	pcard_gpc_stats(&cc.g, &cmds, &bytes);
	if (ctx->json) {
		json_t *j = cli_card_json(&cc);

		json_object_set_new(j, "operation", json_string(op));
		json_object_set_new(j, "ok", json_true());
		json_object_set_new(j, "aid", with_aid ? cli_json_hex(aid.b, aid.len) : json_null());
		json_object_set_new(j, "bytes", json_integer((json_int_t)n));
		json_object_set_new(j, "records", nrec > 0 ? json_integer((json_int_t)nrec) :
		    json_null());
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
	if (pbuf != NULL)
		pcard_wipe(pbuf, pcap);
	free(buf);
	free(pbuf);
	free(recs);
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
