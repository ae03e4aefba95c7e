/* cli_card.c: connection, keys, secure channel, trace and card errors for card commands. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cardlink.h"
#include "cli_card.h"
#include "postcard/bytes.h"
#include "postcard/crypto.h"
#include "postcard/sw.h"

static const uint8_t test_key[16] = {
	0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47,
	0x48, 0x49, 0x4A, 0x4B, 0x4C, 0x4D, 0x4E, 0x4F,
};

void
cli_card_init(cli_card *cc)
{
	memset(cc, 0, sizeof *cc);
	cc->key_ver = -1;
	cc->i = -1;
	cc->level = -1;
	cc->step = "connecting";
}

void
cli_card_free(cli_card *cc)
{
	if (cc == NULL)
		return;
	pcard_gpc_clear(&cc->g);
	pcard_transport_close(cc->t);
	cc->t = NULL;
	pcard_keys_free(cc->keys);
	cc->keys = NULL;
	cli_card_p11_close(cc);
}

pcard_err
cli_parse_hex_byte(const char *s, uint8_t *v)
{
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	if (strlen(s) == 1) {
		int d = pcard_hex_digit((unsigned char)s[0]);

		if (d < 0)
			return PCARD_E_BAD_ENCODING;
		*v = (uint8_t)d;
		return PCARD_OK;
	}
	return pcard_hex_decode_exact(s, v, 1);
}

pcard_err
cli_parse_hex(const char *s, uint8_t *out, size_t cap, size_t *len)
{
	pcard_err err = pcard_hex_decode(s, out, cap, len);

	return err == PCARD_E_NOSPACE ? PCARD_E_BAD_ENCODING : err;
}

pcard_err
cli_parse_gp_aid(const char *s, pcard_gp_aid *aid)
{
	uint8_t b[16];
	size_t n = 0;
	pcard_err err;

	if ((err = cli_parse_aid(s, b, &n)) != PCARD_OK)
		return err;
	return pcard_gp_aid_set(aid, b, n);
}

/* GlobalPlatformPro's --mode names to level bits (RENC implies ENC and RMAC; ENC, RMAC
 * imply MAC). */
static int
mode_bits(const char *m)
{
	if (strcasecmp(m, "clr") == 0)
		return 0x00;
	if (strcasecmp(m, "mac") == 0)
		return 0x01;
	if (strcasecmp(m, "enc") == 0)
		return 0x03;
	if (strcasecmp(m, "rmac") == 0)
		return 0x11;
	if (strcasecmp(m, "renc") == 0)
		return 0x33;
	return -1;
}

static int
opt_byte(cli_ctx *ctx, const char *name, const char *arg, int *dst, int *rc)
{
	uint8_t v = 0;

	if (cli_parse_hex_byte(arg, &v) != PCARD_OK) {
		*rc = cli_usage(ctx, "%s takes one hex byte, not '%s'", name, arg);
		return -1;
	}
	*dst = v;
	return 1;
}

int
cli_card_option(cli_ctx *ctx, cli_card *cc, int c, const char *arg, int *rc)
{
	switch (c) {
	case 'r':
	case CLI_OPT_READER:
		cc->reader = arg;
		return 1;
	case CLI_OPT_TCP:
		cc->tcp = arg;
		return 1;
	case CLI_OPT_KEY:
		if (strncasecmp(arg, "pkcs11:", 7) == 0) {
			/* the URI may carry a PIN (pin-value, refused): never echoed */
			cc->key_uri = arg;
			return 1;
		}
		cc->key_hex = arg;
		cc->key_on_argv = strcasecmp(arg, "default") != 0;
		return 1;
	case CLI_OPT_KEY_FILE:
		cc->key_file = arg;
		return 1;
	case CLI_OPT_KEY_ENV:
		cc->key_env = arg;
		return 1;
	case CLI_OPT_KEY_ENC:
	case CLI_OPT_KEY_MAC:
	case CLI_OPT_KEY_DEK:
		cc->key_part[c - CLI_OPT_KEY_ENC] = arg;
		cc->key_on_argv = 1;
		return 1;
	case CLI_OPT_KDF:
		cc->kdf = arg;
		return 1;
	case CLI_OPT_KEY_VER:
		return opt_byte(ctx, "--key-ver", arg, &cc->key_ver, rc);
	case CLI_OPT_SCP:
		if (strcmp(arg, "02") != 0 && strcmp(arg, "2") != 0 && strcmp(arg, "03") != 0 &&
		    strcmp(arg, "3") != 0) {
			*rc = cli_usage(ctx, "--scp takes 02 or 03, not '%s'", arg);
			return -1;
		}
		cc->scp = arg[strlen(arg) - 1] - '0';
		return 1;
	case CLI_OPT_I:
		return opt_byte(ctx, "--i", arg, &cc->i, rc);
	case CLI_OPT_LEVEL:
		return opt_byte(ctx, "--level", arg, &cc->level, rc);
	case CLI_OPT_MODE: {
		int b = mode_bits(arg);

		if (b < 0) {
			*rc = cli_usage(ctx, "--mode takes clr, mac, enc, rmac or renc, not '%s'",
			    arg);
			return -1;
		}
		cc->level = (cc->level < 0 ? 0 : cc->level) | b;
		return 1;
	}
	case CLI_OPT_S16:
		cc->s16 = 1;
		return 1;
	case CLI_OPT_BS:
		if (cli_parse_size(arg, &cc->bs) != PCARD_OK || cc->bs < 32 || cc->bs > 255) {
			*rc = cli_usage(ctx, "--bs takes a number from 32 to 255, not '%s'", arg);
			return -1;
		}
		return 1;
	case CLI_OPT_TRACE:
		cc->trace = 1;
		return 1;
	case CLI_OPT_SD:
		cc->sd_hex = arg;
		return 1;
	case CLI_OPT_NO_GUESS:
		cc->no_guess = 1;
		return 1;
	default:
		return 0;
	}
}

/* ---- trace ---- */

/* Every exchange passes here: wire statistics always, the trace with --trace. */
static void
trace(void *ctx, int dir, const uint8_t *p, size_t n)
{
	cli_card *cc = ctx;

	if (dir == PCARD_TRACE_CMD) {
		cc->wire_cmds++;
		cc->wire_bytes += n;
	}
	if (cc->trace)
		cli_trace_apdu(dir, p, n);
}

/* ---- errors ---- */

static void
json_card_error(cli_card *cc, pcard_err err, const char *what, const char *msg)
{
	json_t *e = json_pack("{s:s,s:s,s:s,s:i}", "code", pcard_errname(err), "message", msg,
	    "what", what, "exit", pcard_exit_code(err));
	char hx[8];

	if (e == NULL)
		return;
	if (err == PCARD_E_CARD_STATUS) {
		snprintf(hx, sizeof hx, "%04X", pcard_gpc_last_sw(&cc->g));
		json_object_set_new(e, "sw", json_string(hx));
		snprintf(hx, sizeof hx, "%02X", pcard_gpc_last_ins(&cc->g));
		json_object_set_new(e, "ins", json_string(hx));
	}
	if (err == PCARD_E_AUTH && cc->auth.kdf_fits[0] != '-')
		json_object_set_new(e, "kdf_fits", cc->auth.kdf_fits[0] != '\0' ?
		    json_string(cc->auth.kdf_fits) : json_null());
	cli_json_print(json_pack("{s:o}", "error", e));
}

int
cli_card_fail(cli_ctx *ctx, cli_card *cc, pcard_err err, const char *what)
{
	char msg[512];

	if (err == PCARD_E_CARD_STATUS) {
		snprintf(msg, sizeof msg, "the card refused: %s%s",
		    pcard_sw_explain(pcard_gpc_last_sw(&cc->g), pcard_gpc_last_ins(&cc->g)),
		    cc->sel.card_locked ? " (the card is CARD_LOCKED: SELECT answered 6283; "
		    "'postcard card unlock' first)" : "");
	} else if (err == PCARD_E_AUTH && cc->auth.kdf_fits[0] != '\0' &&
	    cc->auth.kdf_fits[0] != '-') {
		snprintf(msg, sizeof msg, "the card cryptogram does not match with --kdf %s but "
		    "does with --kdf %s (EXTERNAL AUTHENTICATE not sent)", cc->auth.kdf_used,
		    cc->auth.kdf_fits);
	} else if (err == PCARD_E_AUTH && cc->auth.kdf_fits[0] == '\0') {
		snprintf(msg, sizeof msg, "the card cryptogram does not match these keys with any "
		    "diversification (none, emv, visa2, visa, kdf3): wrong key? (EXTERNAL "
		    "AUTHENTICATE not sent)");
	} else {
		snprintf(msg, sizeof msg, "%s", pcard_strerror(err));
	}
	fprintf(stderr, "postcard: %s: %s\n", what, msg);
	if (ctx->json)
		json_card_error(cc, err, what, msg);
	return pcard_exit_code(err);
}

/* ---- connecting ---- */

static int
connect_tcp(cli_ctx *ctx, cli_card *cc)
{
	char host[64];
	const char *colon = strrchr(cc->tcp, ':');
	unsigned long port;
	char *end = NULL;
	pcard_err err;

	if (colon == NULL || (size_t)(colon - cc->tcp) >= sizeof host)
		return cli_usage(ctx, "--tcp takes HOST:PORT, not '%s'", cc->tcp);
	memcpy(host, cc->tcp, (size_t)(colon - cc->tcp));
	host[colon - cc->tcp] = '\0';
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (*end != '\0' || port == 0 || port > 65535 || errno != 0)
		return cli_usage(ctx, "--tcp takes HOST:PORT, not '%s'", cc->tcp);
	if ((err = pcard_cardlink_client_open(host[0] != '\0' ? host : NULL, (uint16_t)port, NULL,
	    &cc->t)) != PCARD_OK)
		return cli_card_fail(ctx, cc, err, "connecting to the simulator");
	return 0;
}

/* -r N: the N-th reader of 'postcard readers' (a name made of digits only is taken as an
 * index). *name is set to a copy in buf. */
static pcard_err
reader_by_index(const char *arg, char *buf, size_t cap, const char **name)
{
	pcard_reader_info r[16];
	size_t n = 0;
	unsigned long idx;
	char *end = NULL;
	pcard_err err;

	*name = arg;
	if (arg == NULL || arg[0] == '\0' || strspn(arg, "0123456789") != strlen(arg))
		return PCARD_OK;
	idx = strtoul(arg, &end, 10);
	if ((err = pcard_pcsc_list_readers(r, 16, &n)) != PCARD_OK)
		return err;
	if (n > 16)
		n = 16;
	if (idx >= n)
		return PCARD_E_NO_READER;
	snprintf(buf, cap, "%s", r[idx].name);
	*name = buf;
	return PCARD_OK;
}

static int
connect_pcsc(cli_ctx *ctx, cli_card *cc)
{
	pcard_pcsc_opts o;
	char byidx[256];
	pcard_err err;

	memset(&o, 0, sizeof o);
	if ((err = reader_by_index(cc->reader != NULL ? cc->reader : getenv("PCARD_READER"),
	    byidx, sizeof byidx, &o.reader)) != PCARD_OK)
		return cli_card_fail(ctx, cc, err, "finding the reader");
	o.transaction = 1;
	o.disposition = PCARD_PCSC_RESET;
	if ((err = pcard_pcsc_open(&o, &cc->t)) != PCARD_OK)
		return cli_card_fail(ctx, cc, err, "connecting to the card");
	return 0;
}

int
cli_card_connect(cli_ctx *ctx, cli_card *cc)
{
	pcard_gp_aid sd;
	int rc;
	pcard_err err;

	if (cc->sd_hex != NULL && cli_parse_gp_aid(cc->sd_hex, &sd) != PCARD_OK)
		return cli_usage(ctx, "--sd takes an AID of 5 to 16 bytes in hex, not '%s'",
		    cc->sd_hex);
	if ((rc = cc->tcp != NULL ? connect_tcp(ctx, cc) : connect_pcsc(ctx, cc)) != 0)
		return rc;
	pcard_transport_set_trace(cc->t, trace, cc);
	pcard_gpc_init(&cc->g, cc->t);
	pcard_gpc_set_block_size(&cc->g, cc->bs);
	cc->step = "selecting the security domain";
	if ((err = pcard_gpc_select(&cc->g, cc->sd_hex != NULL ? &sd : NULL, &cc->sel)) !=
	    PCARD_OK)
		return cli_card_fail(ctx, cc, err, cc->step);
	if (cc->sel.card_locked)
		cli_info(ctx, "warning: the card is locked (SELECT answered 6283)\n");
	return 0;
}

/* ---- keys ---- */

/* Hex key from a file or the environment, whitespace allowed. */
static pcard_err
read_key_text(const char *text, uint8_t *key, size_t *len)
{
	char buf[200];
	size_t j = 0;

	for (const char *p = text; *p != '\0'; p++) {
		if (isspace((unsigned char)*p))
			continue;
		if (j + 1 >= sizeof buf)
			return PCARD_E_BAD_ENCODING;
		buf[j++] = *p;
	}
	buf[j] = '\0';
	if (j == 0)
		return PCARD_E_BAD_ENCODING;
	return cli_parse_hex(buf, key, PCARD_MAX_SYMKEY_BYTES, len);
}

/* The main key's bytes from --key, --key-file or --key-env; the test key when none. */
static int
main_key(cli_ctx *ctx, cli_card *cc, uint8_t *key, size_t *len)
{
	uint8_t *buf = NULL;
	size_t n = 0;
	pcard_err err = PCARD_OK;

	if (cc->key_file != NULL) {
		if ((err = pcard_file_read(cc->key_file, 1024, &buf, &n)) == PCARD_OK) {
			buf[n] = '\0';
			err = read_key_text((const char *)buf, key, len);
			pcard_wipe(buf, n);
			free(buf);
		}
		if (err != PCARD_OK)
			return cli_fail(ctx, err == PCARD_E_IO ? err : PCARD_E_KEY, "--key-file %s",
			    cc->key_file);
		return 0;
	}
	if (cc->key_env != NULL) {
		const char *v = getenv(cc->key_env);

		if (v == NULL || read_key_text(v, key, len) != PCARD_OK)
			return cli_fail(ctx, PCARD_E_KEY, "--key-env %s: not set or not hex",
			    cc->key_env);
		return 0;
	}
	if (cc->key_hex != NULL && strcasecmp(cc->key_hex, "default") != 0) {
		if (read_key_text(cc->key_hex, key, len) != PCARD_OK)
			return cli_usage(ctx, "--key takes 16, 24 or 32 bytes of hex");
		return 0;
	}
	memcpy(key, test_key, sizeof test_key);
	*len = sizeof test_key;
	return 0;
}

static int
key_len_ok(pcard_keytype t, size_t n)
{
	if (t == PCARD_KEY_DES3)
		return n == 16 || n == 24;
	return n == 16 || n == 24 || n == 32;
}

static int
import_keys(cli_ctx *ctx, cli_card *cc, pcard_keytype type, pcard_gpc_auth *a)
{
	static const char *const names[3] = { "--key-enc", "--key-mac", "--key-dek" };
	uint8_t key[PCARD_MAX_SYMKEY_BYTES];
	size_t len = 0;
	int rc = 0, is_test = 0;
	pcard_err err;

	if (cc->key_uri != NULL)
		return cli_card_p11_keys(ctx, cc, type, a);
	if ((err = pcard_keys_mem_new(32, &cc->keys)) != PCARD_OK)
		return cli_fail(ctx, err, "key store");
	if ((rc = main_key(ctx, cc, key, &len)) != 0)
		goto out;
	for (int k = 0; k < 3; k++) {
		uint8_t part[PCARD_MAX_SYMKEY_BYTES];
		size_t plen = 0;
		const uint8_t *use = key;
		size_t ulen = len;

		if (cc->key_part[k] != NULL) {
			if (read_key_text(cc->key_part[k], part, &plen) != PCARD_OK) {
				rc = cli_usage(ctx, "%s takes a key in hex", names[k]);
				goto out;
			}
			use = part;
			ulen = plen;
		}
		is_test |= ulen == sizeof test_key && pcard_ct_eq(use, test_key, ulen);
		if (!key_len_ok(type, ulen)) {
			rc = cli_fail(ctx, PCARD_E_KEY, "%s key of %zu bytes",
			    type == PCARD_KEY_DES3 ? "SCP02 (3DES)" : "SCP03 (AES)", ulen);
			pcard_wipe(part, sizeof part);
			goto out;
		}
		err = pcard_keys_mem_import(cc->keys, NULL, type, use, ulen, &a->master[k]);
		pcard_wipe(part, sizeof part);
		if (err != PCARD_OK) {
			rc = cli_fail(ctx, err, "importing the key");
			goto out;
		}
	}
	if (is_test)
		cli_info(ctx, "warning: the well-known GlobalPlatform test key 404142...4F is "
		    "in use\n");
	if (cc->key_on_argv)
		cli_info(ctx, "warning: a key on the command line is visible to other users of "
		    "this machine; use --key-file or --key-env\n");
out:
	pcard_wipe(key, sizeof key);
	return rc;
}

int
cli_card_auth(cli_ctx *ctx, cli_card *cc)
{
	pcard_gpc_auth a;
	uint8_t scp = 0, i = 0;
	int rc;
	pcard_err err;

	memset(&a, 0, sizeof a);
	cc->step = "opening the secure channel";
	if (cc->scp == 0 && (err = pcard_gpc_card_scp(&cc->g, &scp, &i)) != PCARD_OK)
		return cli_card_fail(ctx, cc, err, "reading the card recognition data");
	if (cc->scp != 0)
		scp = (uint8_t)cc->scp;
	if ((rc = import_keys(ctx, cc, scp == 2 ? PCARD_KEY_DES3 : PCARD_KEY_AES, &a)) != 0)
		return rc;
	a.keys = cc->keys;
	a.kdf = cc->kdf;
	a.no_guess = cc->no_guess;
	a.kvn = cc->key_ver < 0 ? 0 : (uint8_t)cc->key_ver;
	a.scp = (uint8_t)cc->scp;
	a.i = cc->i < 0 ? 0 : (uint8_t)cc->i;
	a.level = cc->level;
	a.s16 = cc->s16;
	err = pcard_gpc_open(&cc->g, &a, &cc->auth);
	if (err != PCARD_OK)
		return cli_card_fail(ctx, cc, err, cc->step);
	cc->auth_done = 1;
	return 0;
}

static json_t *
hex_byte(unsigned v)
{
	char s[3];

	snprintf(s, sizeof s, "%02X", v & 0xFF);
	return json_string(s);
}

json_t *
cli_card_json(const cli_card *cc)
{
	json_t *o = json_object();

	json_object_set_new(o, "sd", cli_json_hex(cc->sel.aid.b, cc->sel.aid.len));
	json_object_set_new(o, "card_locked", json_boolean(cc->sel.card_locked));
	json_object_set_new(o, "wire_apdus", json_integer((json_int_t)cc->wire_cmds));
	json_object_set_new(o, "wire_bytes", json_integer((json_int_t)cc->wire_bytes));
	if (cc->auth_done) {
		json_t *ch = json_object();

		json_object_set_new(ch, "scp", hex_byte(cc->auth.scp));
		json_object_set_new(ch, "i", hex_byte(cc->auth.i));
		json_object_set_new(ch, "level", hex_byte(cc->auth.level));
		json_object_set_new(ch, "kvn", hex_byte(cc->auth.kvn));
		json_object_set_new(ch, "s16", json_boolean(cc->auth.s16));
		json_object_set_new(ch, "kdf", json_string(cc->auth.kdf_used));
		json_object_set_new(o, "channel", ch);
	}
	return o;
}

/* ---- option parsing for card commands ---- */

int
cli_card_parse(cli_ctx *ctx, cli_card *cc, int argc, char **argv, const char *help,
    const struct option *extra, const char *extra_short, cli_card_optfn fn, void *cmd,
    int *rc)
{
	static const struct option shared[] = { CLI_CARD_OPTIONS,
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } };
	struct option all[64];
	char shortopts[64];
	size_t n = 0;
	int c;

	for (size_t k = 0; extra != NULL && extra[k].name != NULL && n < 40; k++)
		all[n++] = extra[k];
	for (size_t k = 0; k < sizeof shared / sizeof shared[0] && n < 64; k++)
		all[n++] = shared[k];
	snprintf(shortopts, sizeof shortopts, ":h" CLI_CARD_SHORT "%s",
	    extra_short != NULL ? extra_short : "");
	*rc = 0;
	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, shortopts, all, NULL)) != -1) {
		int h;

		if (c == 'h') {
			fputs(help, stdout);
			fputs("\n" CLI_CARD_HELP, stdout);
			*rc = PCARD_EXIT_OK;
			return 0;
		}
		if (c == '?' || c == ':') {
			*rc = cli_bad_option(ctx, argv[0], c, argv);
			return 0;
		}
		if ((h = cli_card_option(ctx, cc, c, optarg, rc)) < 0)
			return 0;
		if (h == 1)
			continue;
		if (fn == NULL || (*rc = fn(ctx, cmd, c, optarg)) != 0)
			return 0;
	}
	return 1;
}
