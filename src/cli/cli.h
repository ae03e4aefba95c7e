/*
 * cli.h: the frame of the `postcard` command-line tool, shared by every cmd_<name>.c.
 *
 * Adding a command: write cmd_<name>.c with `int cmd_<name>(cli_ctx *ctx, int argc,
 * char **argv)` (argv[0] is the command name; handle -h/--help yourself, with examples),
 * declare it below and add one row to the commands[] table in main.c.
 *
 * Conventions every command follows:
 * - errors: exactly one line on stderr, "postcard: <what>: <pcard_strerror>", via cli_fail(),
 *   and the exit code pcard_exit_code(err); bad command lines via cli_usage() (exit 2);
 * - with --json (ctx->json) the result is one JSON object on stdout (cli_json_print) with
 *   stable snake_case field names, binary values as upper-case hex strings; a failure then
 *   also prints {"error": {"code", "message", "what", "exit"}} on stdout;
 * - -q suppresses informational output, -v (repeatable) adds detail.
 */
#ifndef POSTCARD_CLI_H
#define POSTCARD_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <getopt.h>
#include <jansson.h>

#include "postcard/err.h"
#include "postcard/file.h"

#ifndef POSTCARD_VERSION
#define POSTCARD_VERSION "0.1.0"
#endif

typedef struct cli_ctx {
	int json;		/* --json */
	int verbose;		/* -v count */
	int quiet;		/* -q */
} cli_ctx;

typedef int (*cli_handler)(cli_ctx *ctx, int argc, char **argv);

typedef struct cli_cmd {
	const char *name;
	const char *summary;	/* one line for `postcard --help` */
	cli_handler run;
} cli_cmd;

/* ---- Command handlers (one per cmd_<name>.c) ---- */
int cmd_cap(cli_ctx *ctx, int argc, char **argv);
int cmd_selftest(cli_ctx *ctx, int argc, char **argv);
/* card commands (cmd_info.c, cmd_content.c, cmd_cardlc.c, cmd_keys.c, cmd_perso.c,
 * cmd_apdu.c; shared options in cli_card.c) */
int cmd_readers(cli_ctx *ctx, int argc, char **argv);
int cmd_info(cli_ctx *ctx, int argc, char **argv);
int cmd_list(cli_ctx *ctx, int argc, char **argv);
int cmd_load(cli_ctx *ctx, int argc, char **argv);
int cmd_install(cli_ctx *ctx, int argc, char **argv);
int cmd_delete(cli_ctx *ctx, int argc, char **argv);
int cmd_make_default(cli_ctx *ctx, int argc, char **argv);
int cmd_lock_app(cli_ctx *ctx, int argc, char **argv);
int cmd_unlock_app(cli_ctx *ctx, int argc, char **argv);
int cmd_registry_update(cli_ctx *ctx, int argc, char **argv);
int cmd_move(cli_ctx *ctx, int argc, char **argv);
int cmd_domain(cli_ctx *ctx, int argc, char **argv);
int cmd_card(cli_ctx *ctx, int argc, char **argv);
int cmd_put_key(cli_ctx *ctx, int argc, char **argv);
int cmd_delete_key(cli_ctx *ctx, int argc, char **argv);
int cmd_personalize(cli_ctx *ctx, int argc, char **argv);
int cmd_store_data(cli_ctx *ctx, int argc, char **argv);
int cmd_apdu(cli_ctx *ctx, int argc, char **argv);
/* postcardd admin API client (cmd_admin.c, libcurl) */
int cmd_admin(cli_ctx *ctx, int argc, char **argv);

/* ---- Shared helpers (cli.c) ---- */

/* Report err about <what> (printf format) on stderr; returns pcard_exit_code(err). */
int cli_fail(cli_ctx *ctx, pcard_err err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Report a command-line error on stderr (one line); returns PCARD_EXIT_USAGE. */
int cli_usage(cli_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* After getopt_long returned '?' or ':': report the offending option; returns 2. */
int cli_bad_option(cli_ctx *ctx, const char *cmd, int c, char **argv);
/* Informational message on stderr unless -q. */
void cli_info(cli_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* 1 when arg is -h or --help. */
int cli_is_help(const char *arg);
/* Reset getopt before a command parses its options. */
void cli_getopt_reset(void);

/*
 * --trace output on stderr: ">> " (PCARD_TRACE_CMD) or "<< " then the hex of at most 300 bytes
 * ("..." after a cut); a command carrying keys (pcard_trace_redact) shows its header only.
 */
void cli_trace_apdu(int dir, const uint8_t *p, size_t n);
/* Upper-case hex of p[0..n) in a heap string the caller frees (NULL on allocation failure). */
char *cli_hex(const uint8_t *p, size_t n);
/* A JSON string holding the hex of p[0..n) (new reference). */
json_t *cli_json_hex(const uint8_t *p, size_t n);
/* Print obj (reference stolen) on stdout, indented, with a final newline. */
int cli_json_print(json_t *obj);

/* Parsers for option values; PCARD_E_BAD_ENCODING (or INVALID_ARG) when malformed. */
pcard_err cli_parse_aid(const char *s, uint8_t aid[16], size_t *len);	/* 5..16 bytes hex */
pcard_err cli_parse_version(const char *s, uint8_t *major, uint8_t *minor);	/* "M.m" */
pcard_err cli_parse_size(const char *s, size_t *v);	/* decimal, optional k/K suffix */

/* A DAP signing key (cmd_cap.c): pem (private key file) or aes/des hex; *pk and *keys are
 * owned by the caller (pcard_pkey_free, pcard_keys_free) whatever the result. */
struct pcard_dapkey;
struct pcard_pkey;
struct pcard_keys;
pcard_err cli_dap_key(const char *pem, const char *aes, const char *des,
    struct pcard_dapkey *k, struct pcard_pkey **pk, struct pcard_keys **keys, unsigned *bits);

#endif
