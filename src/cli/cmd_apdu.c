/* cmd_apdu.c: `postcard apdu HEX... [--secure]`: raw or secured APDUs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_card.h"
#include "postcard/apdu.h"
#include "postcard/bytes.h"
#include "postcard/sw.h"

static const char apdu_help[] =
    "usage: postcard apdu HEX... [--secure] [--stop-on-error] [options]\n"
    "\n"
    "Send each APDU (hex, spaces allowed inside one argument) after selecting the security\n"
    "domain. With --secure a secure channel is opened first and every APDU is wrapped\n"
    "(give CLA 80; it becomes 84). The SW of each answer is printed with its meaning.\n"
    "Exit code 4 when any answer is not 9000, 61xx, 62xx or 63xx.\n"
    "\n"
    "JSON fields: sd, card_locked, channel{...} (with --secure), responses[{command, data,\n"
    "sw, meaning}].\n"
    "\n"
    "Examples:\n"
    "  postcard apdu 80CA9F7F00\n"
    "  postcard apdu --secure 80F28000024F0000 --json\n";

enum { O_SECURE = 3100, O_STOP };

typedef struct apdu_opts {
	int secure, stop;
} apdu_opts;

static int
apdu_opt(cli_ctx *ctx, void *p, int c, const char *arg)
{
	apdu_opts *o = p;

	(void)arg;
	if (c == O_SECURE || c == 's')
		o->secure = 1;
	else if (c == O_STOP)
		o->stop = 1;
	else
		return cli_usage(ctx, "apdu: unknown option");
	return 0;
}

static int
sw_ok(uint16_t sw)
{
	return pcard_sw_is_success(sw) || pcard_sw_is_warning(sw);
}

int
cmd_apdu(cli_ctx *ctx, int argc, char **argv)
{
	static const struct option extra[] = {
		{ "secure", no_argument, NULL, O_SECURE },
		{ "stop-on-error", no_argument, NULL, O_STOP }, { NULL, 0, NULL, 0 } };
	cli_card cc;
	apdu_opts o = { 0, 0 };
	json_t *arr = json_array();
	int rc = 0, refused = 0, first;
	pcard_err err;

	cli_card_init(&cc);
	if (!cli_card_parse(ctx, &cc, argc, argv, apdu_help, extra, "s", apdu_opt, &o, &rc))
		goto out;
	if (optind >= argc) {
		rc = cli_usage(ctx, "apdu: give at least one APDU in hex");
		goto out;
	}
	first = optind;
	for (int k = first; k < argc; k++) {
		uint8_t cmd[300];
		size_t n = 0;
		pcard_apdu a;

		if (cli_parse_hex(argv[k], cmd, sizeof cmd, &n) != PCARD_OK ||
		    pcard_apdu_parse(cmd, n, &a) != PCARD_OK) {
			rc = cli_usage(ctx, "apdu: '%s' is not an APDU in hex", argv[k]);
			goto out;
		}
	}
	if ((rc = cli_card_connect(ctx, &cc)) != 0 ||
	    (o.secure && (rc = cli_card_auth(ctx, &cc)) != 0))
		goto out;
	for (int k = first; k < argc; k++) {
		uint8_t cmd[300], rsp[PCARD_GPC_MAX_RSP];
		size_t n = 0, nr = 0;
		uint16_t sw;
		char *d;

		cli_parse_hex(argv[k], cmd, sizeof cmd, &n);
		if ((err = pcard_gpc_apdu(&cc.g, o.secure, cmd, n, rsp, sizeof rsp, &nr)) !=
		    PCARD_OK) {
			rc = cli_card_fail(ctx, &cc, err, "apdu");
			goto out;
		}
		sw = pcard_gpc_last_sw(&cc.g);
		d = cli_hex(rsp, nr - 2);
		if (ctx->json) {
			char s[5];

			snprintf(s, sizeof s, "%04X", sw);
			json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:s}", "command", argv[k],
			    "data", d != NULL ? d : "", "sw", s, "meaning",
			    pcard_sw_explain(sw, cmd[1])));
		} else {
			printf("%s%s%04X  %s\n", d != NULL ? d : "", nr > 2 ? " " : "", sw,
			    pcard_sw_explain(sw, cmd[1]));
		}
		free(d);
		if (!sw_ok(sw)) {
			refused = 1;
			if (o.stop)
				break;
		}
	}
	if (ctx->json) {
		json_t *obj = cli_card_json(&cc);

		json_object_set(obj, "responses", arr);
		cli_json_print(obj);
	}
	rc = refused ? PCARD_EXIT_CARD_REFUSED : 0;
out:
	json_decref(arr);
	cli_card_free(&cc);
	return rc;
}
