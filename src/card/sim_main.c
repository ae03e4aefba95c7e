/*
 * sim_main.c: postcard-sim, a GlobalPlatform card you can reach over PC/SC (through vpcd) or
 * a plain TCP socket. The command table, help, and the helpers of sim_main_int.h.
 * docs/postcard-sim.md is the user's guide.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_main_int.h"

typedef struct sim_cmd {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv);
} sim_cmd;

static const sim_cmd commands[] = {
	{ "init", "create a card file (keys, SCP, identifiers, life cycle, memory)", sim_cmd_init },
	{ "run", "serve a card file through vpcd (PC/SC) or on a loopback TCP port", sim_cmd_run },
	{ "dump", "print a card file's state (registry, key sets as KCVs, counters, data)",
	    sim_cmd_dump },
	{ "cap", "write the CAP file of a native applet", sim_cmd_cap },
	{ "applets", "list the native applets with their package and applet AIDs",
	    sim_cmd_applets },
};

static void
main_help(FILE *f)
{
	fprintf(f,
	    "usage: " SIM_PROG " COMMAND [ARGS]\n"
	    "\n"
	    "A simulated GlobalPlatform card whose whole state lives in one card file.\n"
	    "\n"
	    "Commands:\n");
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
	fprintf(f,
	    "\n"
	    "'" SIM_PROG " COMMAND --help' explains a command, with examples.\n"
	    "\n"
	    "Example (with pcscd and vsmartcard-vpcd installed):\n"
	    "  " SIM_PROG " init card.pcsim\n"
	    "  " SIM_PROG " run card.pcsim &      # the card appears in reader 'Virtual PCD 00 00'\n"
	    "  opensc-tool -r 'Virtual PCD 00 00' -a\n"
	    "  " SIM_PROG " dump card.pcsim --json\n"
	    "\n"
	    "Exit codes: 0 ok, 1 internal, 2 usage, 3 bad card file or input, 7 I/O (vpcd or\n"
	    "file), as listed in docs/exit-codes.md.\n");
}

int
sim_fail(pcard_err err, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, SIM_PROG ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", pcard_strerror(err));
	return pcard_exit_code(err);
}

int
sim_usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, SIM_PROG ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (cmd != NULL)
		fprintf(stderr, " (see '" SIM_PROG " %s --help')\n", cmd);
	else
		fprintf(stderr, " (see '" SIM_PROG " --help')\n");
	return PCARD_EXIT_USAGE;
}

int
sim_bad_option(const char *cmd, int c, char **argv)
{
	const char *opt = optind > 0 ? argv[optind - 1] : "?";

	if (c == ':')
		return sim_usage(cmd, "option %s needs a value", opt);
	return sim_usage(cmd, "unknown option %s", opt);
}

int
sim_is_help(const char *arg)
{
	return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}

void
sim_getopt_reset(void)
{
	optind = 0;	/* glibc: 0 re-initialises getopt completely */
	opterr = 0;
}

int
sim_parse_ulong(const char *s, unsigned long min, unsigned long max, unsigned long *v)
{
	char *end;
	unsigned long x;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	x = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || x < min || x > max)
		return -1;
	*v = x;
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		main_help(stderr);
		return PCARD_EXIT_USAGE;
	}
	if (sim_is_help(argv[1]) || strcmp(argv[1], "help") == 0) {
		if (argc > 2 && strcmp(argv[1], "help") == 0) {
			char *h[] = { argv[2], (char *)"--help", NULL };

			for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
				if (strcmp(commands[i].name, argv[2]) == 0)
					return commands[i].run(2, h);
			return sim_usage(NULL, "unknown command '%s'", argv[2]);
		}
		main_help(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf(SIM_PROG " 0.1.0\n");
		return 0;
	}
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(commands[i].name, argv[1]) == 0)
			return commands[i].run(argc - 1, argv + 1);
	return sim_usage(NULL, "unknown command '%s'", argv[1]);
}
