/*
 * sim_main_int.h: the frame of the postcard-sim program (sim_main*.c; not in the library).
 *
 * Each subcommand is `int sim_cmd_<name>(int argc, char **argv)` (argv[0] is the subcommand)
 * in sim_main_<name>.c, listed in the table of sim_main.c. Conventions, as for `postcard`:
 * errors are one line on stderr, "postcard-sim: <what>: <why>", and the exit code of
 * docs/exit-codes.md (pcard_exit_code); a bad command line is exit 2; -h/--help prints the
 * subcommand's help with examples and exits 0.
 */
#ifndef PCARD_SIM_MAIN_INT_H
#define PCARD_SIM_MAIN_INT_H

#include <stddef.h>
#include <stdint.h>

#include "postcard/err.h"

#define SIM_PROG "postcard-sim"

int sim_cmd_init(int argc, char **argv);
int sim_cmd_run(int argc, char **argv);
int sim_cmd_dump(int argc, char **argv);
int sim_cmd_cap(int argc, char **argv);
int sim_cmd_applets(int argc, char **argv);

/* "postcard-sim: <what>: <pcard_strerror(err)>" on stderr; returns pcard_exit_code(err). */
int sim_fail(pcard_err err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "postcard-sim: <message> (see 'postcard-sim CMD --help')" on stderr; returns 2. */
int sim_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* After getopt_long returned '?' or ':' (argv as given to it); returns 2. */
int sim_bad_option(const char *cmd, int c, char **argv);
/* 1 when arg is -h or --help. */
int sim_is_help(const char *arg);
/* Prepare getopt_long for a subcommand's argv. */
void sim_getopt_reset(void);
/* Decimal unsigned value in [min, max]; -1 when malformed or out of range. */
int sim_parse_ulong(const char *s, unsigned long min, unsigned long max, unsigned long *v);

#endif
