/*
 * cli_card.h: what every postcard command that talks to a card shares: the connection and key
 * options, connecting (PC/SC reader or the simulator's TCP link), selecting the security
 * domain, opening the secure channel, the APDU trace, and reporting card refusals.
 *
 * A command adds CLI_CARD_OPTIONS to its getopt_long table, passes every option it does not
 * know to cli_card_option(), then calls cli_card_connect() and, when it needs the channel,
 * cli_card_auth(). Its help text includes CLI_CARD_HELP.
 */
#ifndef POSTCARD_CLI_CARD_H
#define POSTCARD_CLI_CARD_H

#include <stddef.h>
#include <stdint.h>

#include "cli.h"
#include "postcard/gpclient.h"
#include "postcard/keys.h"
#include "postcard/transport.h"

/* getopt codes of the shared options (above any short option's char). */
enum {
	CLI_OPT_READER = 1000, CLI_OPT_TCP, CLI_OPT_KEY, CLI_OPT_KEY_FILE, CLI_OPT_KEY_ENV,
	CLI_OPT_KEY_ENC, CLI_OPT_KEY_MAC, CLI_OPT_KEY_DEK, CLI_OPT_KDF, CLI_OPT_KEY_VER,
	CLI_OPT_SCP, CLI_OPT_I, CLI_OPT_MODE, CLI_OPT_LEVEL, CLI_OPT_S16, CLI_OPT_BS,
	CLI_OPT_TRACE, CLI_OPT_SD, CLI_OPT_NO_GUESS,
};

#define CLI_CARD_OPTIONS \
	{ "reader", required_argument, NULL, CLI_OPT_READER }, \
	{ "tcp", required_argument, NULL, CLI_OPT_TCP }, \
	{ "key", required_argument, NULL, CLI_OPT_KEY }, \
	{ "key-file", required_argument, NULL, CLI_OPT_KEY_FILE }, \
	{ "key-env", required_argument, NULL, CLI_OPT_KEY_ENV }, \
	{ "key-enc", required_argument, NULL, CLI_OPT_KEY_ENC }, \
	{ "key-mac", required_argument, NULL, CLI_OPT_KEY_MAC }, \
	{ "key-dek", required_argument, NULL, CLI_OPT_KEY_DEK }, \
	{ "kdf", required_argument, NULL, CLI_OPT_KDF }, \
	{ "key-kdf", required_argument, NULL, CLI_OPT_KDF }, \
	{ "key-ver", required_argument, NULL, CLI_OPT_KEY_VER }, \
	{ "scp", required_argument, NULL, CLI_OPT_SCP }, \
	{ "i", required_argument, NULL, CLI_OPT_I }, \
	{ "mode", required_argument, NULL, CLI_OPT_MODE }, \
	{ "level", required_argument, NULL, CLI_OPT_LEVEL }, \
	{ "s16", no_argument, NULL, CLI_OPT_S16 }, \
	{ "bs", required_argument, NULL, CLI_OPT_BS }, \
	{ "trace", no_argument, NULL, CLI_OPT_TRACE }, \
	{ "sd", required_argument, NULL, CLI_OPT_SD }, \
	{ "connect", required_argument, NULL, CLI_OPT_SD }, \
	{ "no-guess", no_argument, NULL, CLI_OPT_NO_GUESS }

/* The short option of --reader, for the optstring: "r:". */
#define CLI_CARD_SHORT "r:"

#define CLI_CARD_HELP \
    "Connection (every card command):\n" \
    "  -r, --reader NAME|N  PC/SC reader by name, unique substring or index (env PCARD_READER;\n" \
    "                       default: the first reader holding a card)\n" \
    "  --tcp HOST:PORT      the simulator's TCP link instead of PC/SC (postcard-sim run --tcp)\n" \
    "  --sd AID             select this security domain instead of discovering the ISD\n" \
    "  --trace              print every APDU on stderr (key-bearing data redacted)\n" \
    "Keys and secure channel:\n" \
    "  --key HEX|default    ENC = MAC = DEK master key (visible to other users: prefer the\n" \
    "                       next two); none given = the GP test key 4041..4F, with a warning\n" \
    "  --key pkcs11:token=LABEL;object=KEYLABEL[?module-path=LIB&pin-source=file:PATH|env:VAR]\n" \
    "                       a key object on a PKCS#11 token (RFC 7512 subset): the master with\n" \
    "                       --kdf, else ENC = MAC = DEK; module default: SoftHSMv2's;\n" \
    "                       PIN default: $PCARD_HSM_PIN; pin-value is refused (argv is public)\n" \
    "  --key-file FILE      read the key as hex from FILE\n" \
    "  --key-env VAR        read the key as hex from environment variable VAR\n" \
    "  --key-enc/--key-mac/--key-dek HEX   separate keys\n" \
    "  --kdf NAME|TEMPLATE  diversification: none (default), emv, visa2, visa, kdf3 or a\n" \
    "                       template string; a mismatch is diagnosed offline (--no-guess: not)\n" \
    "  --key-ver KVN        key set version to use (hex; default: the card's)\n" \
    "  --scp 02|03          insist on this SCP (default: what the card announces)\n" \
    "  --i HEX              SCP02 i parameter (default: the card's, else 55)\n" \
    "  --mode clr|mac|enc|rmac|renc   security level, repeatable (default mac+enc = 03)\n" \
    "  --level HEX          security level as the EXTERNAL AUTHENTICATE P1 byte\n" \
    "  --s16                start SCP03 with 16-byte challenges (else only after 6700)\n" \
    "  --bs N               largest command data field, 32..255\n"

typedef struct cli_card {
	/* options */
	const char *reader, *tcp, *kdf;
	const char *key_hex, *key_file, *key_env, *key_part[3];
	const char *sd_hex;
	int key_ver, scp, i, level, s16, trace, no_guess;
	size_t bs;
	int key_on_argv;
	const char *key_uri;	/* --key pkcs11:... (cli_card_p11.c) */
	/* state */
	struct pcard_hsm *hsm;	/* open while key_uri's token is in use */
	pcard_transport *t;
	pcard_gpc g;
	pcard_keys *keys;
	pcard_gpc_select_result sel;
	pcard_gpc_auth_result auth;
	int auth_done;
	const char *step;	/* what was being done, for error messages */
	size_t wire_cmds, wire_bytes;	/* commands and command bytes as sent (wrapped) */
} cli_card;

void cli_card_init(cli_card *cc);
/* Close the link, free the keys; safe twice. */
void cli_card_free(cli_card *cc);

/* --key pkcs11:URI (cli_card_p11.c): open the token, find the object, set a->master[0..2] to
 * it and cc->keys to the token's provider. Returns 0 or the exit code after reporting. */
int cli_card_p11_keys(cli_ctx *ctx, cli_card *cc, pcard_keytype type, pcard_gpc_auth *a);
/* Close the token (after cc->keys was freed); safe twice. */
void cli_card_p11_close(cli_card *cc);

/*
 * Handle one shared option (getopt code c). Returns 1 when handled, 0 when c is not a
 * shared option, -1 after reporting a bad value (the command returns *rc).
 */
int cli_card_option(cli_ctx *ctx, cli_card *cc, int c, const char *arg, int *rc);

/* Connect and select the SD. Returns 0 or the exit code after reporting. */
int cli_card_connect(cli_ctx *ctx, cli_card *cc);
/* Load the keys and open the secure channel. Returns 0 or the exit code after reporting. */
int cli_card_auth(cli_ctx *ctx, cli_card *cc);

/*
 * Report err of the step `what` in one line; a card refusal names the SW and its
 * explanation for the command that got it, a cryptogram mismatch names the fitting template.
 * Returns the exit code.
 */
int cli_card_fail(cli_ctx *ctx, cli_card *cc, pcard_err err, const char *what);

/*
 * Parse argv for a card command: the shared options, -h/--help (prints help then
 * CLI_CARD_HELP), and the command's own options (extra, extra_short) passed to fn, which
 * returns 0 or an exit code after reporting. Returns 1 to go on (positional arguments from
 * optind), 0 when the command is finished with exit code *rc.
 */
typedef int (*cli_card_optfn)(cli_ctx *ctx, void *cmd, int c, const char *arg);
int cli_card_parse(cli_ctx *ctx, cli_card *cc, int argc, char **argv, const char *help,
    const struct option *extra, const char *extra_short, cli_card_optfn fn, void *cmd,
    int *rc);

/* JSON object describing the connection and channel (sd, card_locked, wire_apdus,
 * wire_bytes, channel{scp, i, level, kvn, s16, kdf}). wire_* count the commands as they went
 * to the reader (wrapped, GET RESPONSE included), up to the moment of the call. */
json_t *cli_card_json(const cli_card *cc);

/* Parse a hex byte ("7F", "0x7F"). PCARD_E_BAD_ENCODING otherwise. */
pcard_err cli_parse_hex_byte(const char *s, uint8_t *v);
/* Hex of at most cap bytes into out. PCARD_E_BAD_ENCODING when malformed or too long. */
pcard_err cli_parse_hex(const char *s, uint8_t *out, size_t cap, size_t *len);
/* AID of 5..16 bytes into a pcard_gp_aid. */
pcard_err cli_parse_gp_aid(const char *s, pcard_gp_aid *aid);

#endif
