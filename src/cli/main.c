/*
 * main.c: `postcard <command> [subcommand] [options]`, the way git does it.
 *
 * Global options (--json, -v/--verbose, -q/--quiet) are accepted anywhere before a "--" and
 * taken out of argv here, so commands never see them. To add a command, add a row to
 * commands[] and declare its handler in cli.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const cli_cmd commands[] = {
	{ "cap", "inspect and generate CAP files, compute load files and DAP blocks", cmd_cap },
	{ "selftest", "open a secure channel with an in-process card and check it", cmd_selftest },
	{ "readers", "list PC/SC readers", cmd_readers },
	{ "info", "card data without authentication: CPLC, IIN, CIN, KDD, SCP, keys", cmd_info },
	{ "list", "list the registry: ISD, applications, security domains, load files", cmd_list },
	{ "load", "load a CAP file's package", cmd_load },
	{ "install", "install an applet (from a CAP file: load and install in one go)", cmd_install },
	{ "delete", "delete an application, security domain or package (-f: related)", cmd_delete },
	{ "make-default", "make an application the default selected one", cmd_make_default },
	{ "lock-app", "lock an application or security domain", cmd_lock_app },
	{ "unlock-app", "unlock an application or security domain", cmd_unlock_app },
	{ "card", "card life cycle: initialize, secure, lock, unlock, terminate", cmd_card },
	{ "put-key", "put, add or replace keys (key sets, single and public keys)", cmd_put_key },
	{ "delete-key", "delete a key set or key", cmd_delete_key },
	{ "personalize", "INSTALL [for personalization] and STORE DATA (DGIs)", cmd_personalize },
	{ "store-data", "STORE DATA to the security domain", cmd_store_data },
	{ "registry-update", "INSTALL [for registry update]: privileges, parameters, SD",
	  cmd_registry_update },
	{ "move", "extradite an application or package to another SD", cmd_move },
	{ "domain", "create a supplementary security domain", cmd_domain },
	{ "apdu", "send raw or secured APDUs", cmd_apdu },
	{ "admin", "postcardd admin API: load files, cards, jobs, audit (docs/api.md)", cmd_admin },
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void
print_help(FILE *f)
{
	fprintf(f,
	    "usage: postcard [--json] [-v|--verbose] [-q|--quiet] <command> [<args>]\n"
	    "       postcard help <command>\n"
	    "       postcard --version\n"
	    "\n"
	    "postcard manages GlobalPlatform smart cards.\n"
	    "\n"
	    "Commands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-16s %s\n", commands[i].name, commands[i].summary);
	fprintf(f,
	    "\n"
	    "Global options (anywhere on the line):\n"
	    "  --json         print the result as one JSON object on stdout\n"
	    "  -v, --verbose  more detail (repeat for more)\n"
	    "  -q, --quiet    only results and errors\n"
	    "\n"
	    "Examples:\n"
	    "  postcard cap info applet.cap\n"
	    "  postcard help cap\n"
	    "\n"
	    "Exit codes: 0 ok, 1 internal, 2 usage, 3 bad input, 4 card refused, 5 authentication,\n"
	    "6 secure channel, 7 I/O, 8 unsupported, 9 verification failed.\n");
}

static const cli_cmd *
find_command(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

/* Take the global options out of argv (up to a "--"); returns the new argc. */
static int
strip_globals(cli_ctx *ctx, int argc, char **argv)
{
	int out = 1, i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--") == 0)
			break;
		if (strcmp(a, "--json") == 0)
			ctx->json = 1;
		else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0)
			ctx->verbose++;
		else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0)
			ctx->quiet = 1;
		else
			argv[out++] = argv[i];
	}
	for (; i < argc; i++)
		argv[out++] = argv[i];
	argv[out] = NULL;
	return out;
}

int
main(int argc, char **argv)
{
	cli_ctx ctx = { 0, 0, 0 };
	const cli_cmd *cmd;

	argc = strip_globals(&ctx, argc, argv);
	if (argc < 2) {
		print_help(stderr);
		return PCARD_EXIT_USAGE;
	}
	if (cli_is_help(argv[1]) || (strcmp(argv[1], "help") == 0 && argc == 2)) {
		print_help(stdout);
		return PCARD_EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		if (ctx.json)
			cli_json_print(json_pack("{s:s}", "version", POSTCARD_VERSION));
		else
			printf("postcard %s\n", POSTCARD_VERSION);
		return PCARD_EXIT_OK;
	}
	if (strcmp(argv[1], "help") == 0) {
		char help[] = "--help";
		char *hargv[3];

		if ((cmd = find_command(argv[2])) == NULL)
			return cli_usage(&ctx, "'%s' is not a postcard command (see 'postcard --help')",
			    argv[2]);
		hargv[0] = argv[2];
		hargv[1] = help;
		hargv[2] = NULL;
		return cmd->run(&ctx, 2, hargv);
	}
	if (argv[1][0] == '-')
		return cli_usage(&ctx, "unknown option '%s' (see 'postcard --help')", argv[1]);
	if ((cmd = find_command(argv[1])) == NULL)
		return cli_usage(&ctx, "'%s' is not a postcard command (see 'postcard --help')",
		    argv[1]);
	return cmd->run(&ctx, argc - 1, argv + 1);
}
