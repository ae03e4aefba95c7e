/* cmd_cardlc.c: `postcard card initialize|secure|lock|unlock|terminate`: card life cycle. */
#include <stdio.h>
#include <string.h>

#include "cli_card.h"
#include "postcard/gp.h"

static const char card_help[] =
    "usage: postcard card initialize|secure|lock|unlock|terminate [--really-terminate]\n"
    "                     [options]\n"
    "\n"
    "Change the card's life cycle with SET STATUS P1 80 (GP CS 5.1.1):\n"
    "  initialize   OP_READY -> INITIALIZED (P2 07)\n"
    "  secure       INITIALIZED -> SECURED (P2 0F)\n"
    "  lock         SECURED -> CARD_LOCKED (P2 7F)\n"
    "  unlock       CARD_LOCKED -> SECURED (P2 0F)\n"
    "  terminate    any -> TERMINATED (P2 FF), irreversible: needs --really-terminate\n"
    "               (there is never a prompt)\n"
    "\n"
    "JSON fields: sd, card_locked, channel{...}, operation, ok, lifecycle, lifecycle_name.\n"
    "\n"
    "Examples:\n"
    "  postcard card lock\n"
    "  postcard card unlock --json\n"
    "  postcard card terminate --really-terminate\n";

enum { O_REALLY = 3000 };

static int
card_opt(cli_ctx *ctx, void *p, int c, const char *arg)
{
	(void)arg;
	if (c == O_REALLY) {
		*(int *)p = 1;
		return 0;
	}
	return cli_usage(ctx, "card: unknown option");
}

static int
target_state(const char *verb, uint8_t *st)
{
	static const struct { const char *name; uint8_t st; } t[] = {
		{ "initialize", PCARD_LC_INITIALIZED }, { "secure", PCARD_LC_SECURED },
		{ "lock", PCARD_LC_CARD_LOCKED }, { "unlock", PCARD_LC_SECURED },
		{ "terminate", PCARD_LC_TERMINATED },
	};

	for (size_t k = 0; k < sizeof t / sizeof t[0]; k++)
		if (strcmp(verb, t[k].name) == 0) {
			*st = t[k].st;
			return 1;
		}
	return 0;
}

int
cmd_card(cli_ctx *ctx, int argc, char **argv)
{
	static const struct option extra[] = {
		{ "really-terminate", no_argument, NULL, O_REALLY }, { NULL, 0, NULL, 0 } };
	cli_card cc;
	int rc = 0, really = 0;
	uint8_t st = 0;
	pcard_err err;

	cli_card_init(&cc);
	if (!cli_card_parse(ctx, &cc, argc, argv, card_help, extra, NULL, card_opt, &really, &rc))
		goto out;
	if (argc - optind != 1 || !target_state(argv[optind], &st)) {
		rc = cli_usage(ctx, "card: say initialize, secure, lock, unlock or terminate");
		goto out;
	}
	if (st == PCARD_LC_TERMINATED && !really) {
		rc = cli_usage(ctx, "card terminate is irreversible: add --really-terminate");
		goto out;
	}
	if ((rc = cli_card_connect(ctx, &cc)) != 0 || (rc = cli_card_auth(ctx, &cc)) != 0)
		goto out;
	if ((err = pcard_gpc_card_state(&cc.g, st)) != PCARD_OK) {
		rc = cli_card_fail(ctx, &cc, err, argv[optind]);
		goto out;
	}
	if (ctx->json) {
		json_t *o = cli_card_json(&cc);
		char b[3];

		snprintf(b, sizeof b, "%02X", st);
		json_object_set_new(o, "operation", json_string(argv[optind]));
		json_object_set_new(o, "ok", json_true());
		json_object_set_new(o, "lifecycle", json_string(b));
		json_object_set_new(o, "lifecycle_name", json_string(pcard_lifecycle_name(
		    PCARD_GP_KIND_CARD, st)));
		cli_json_print(o);
	} else {
		cli_info(ctx, "card is now %s\n", pcard_lifecycle_name(PCARD_GP_KIND_CARD, st));
	}
	rc = 0;
out:
	cli_card_free(&cc);
	return rc;
}
