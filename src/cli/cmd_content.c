/*
 * cmd_content.c: card content commands: load, install, delete, make-default, lock-app,
 * unlock-app, registry-update, move, domain.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_card.h"
#include "postcard/bytes.h"
#include "postcard/cap.h"
#include "postcard/crypto.h"
#include "postcard/dap.h"
#include "postcard/gp.h"

/* Options of the content commands (one set; each command accepts what its help lists). */
typedef struct content_opts {
	const char *package, *applet, *create, *privs, *params, *to, *hash, *dap_file;
	const char *dap_key, *dap_sd;
	int force, install_only, combined, related;
	uint8_t scp, i;
} content_opts;

enum {
	O_PACKAGE = 2000, O_APPLET, O_CREATE, O_PRIVS, O_PARAMS, O_TO, O_HASH, O_DAP,
	O_INSTALL_ONLY, O_COMBINED, O_SSD_SCP, O_SSD_I, O_DAP_KEY, O_DAP_SD,
};

static const struct option content_long[] = {
	{ "package", required_argument, NULL, O_PACKAGE },
	{ "pkg", required_argument, NULL, O_PACKAGE },
	{ "applet", required_argument, NULL, O_APPLET },
	{ "create", required_argument, NULL, O_CREATE },
	{ "privs", required_argument, NULL, O_PRIVS },
	{ "params", required_argument, NULL, O_PARAMS },
	{ "to", required_argument, NULL, O_TO },
	{ "hash", required_argument, NULL, O_HASH },
	{ "dap-file", required_argument, NULL, O_DAP },
	{ "dap-key", required_argument, NULL, O_DAP_KEY },
	{ "dap-sd", required_argument, NULL, O_DAP_SD },
	{ "install-only", no_argument, NULL, O_INSTALL_ONLY },
	{ "combined", no_argument, NULL, O_COMBINED },
	{ "ssd-scp", required_argument, NULL, O_SSD_SCP },
	{ "ssd-i", required_argument, NULL, O_SSD_I },
	{ "force", no_argument, NULL, 'f' },
	{ NULL, 0, NULL, 0 },
};

static int
content_opt(cli_ctx *ctx, void *p, int c, const char *arg)
{
	content_opts *o = p;

	switch (c) {
	case O_PACKAGE: o->package = arg; return 0;
	case O_APPLET: o->applet = arg; return 0;
	case O_CREATE: o->create = arg; return 0;
	case O_PRIVS: o->privs = arg; return 0;
	case O_PARAMS: o->params = arg; return 0;
	case O_TO: o->to = arg; return 0;
	case O_HASH: o->hash = arg; return 0;
	case O_DAP: o->dap_file = arg; return 0;
	case O_DAP_KEY: o->dap_key = arg; return 0;
	case O_DAP_SD: o->dap_sd = arg; return 0;
	case O_INSTALL_ONLY: o->install_only = 1; return 0;
	case O_COMBINED: o->combined = 1; return 0;
	case 'f': o->force = 1; return 0;
	case O_SSD_SCP:
	case O_SSD_I:
		if (cli_parse_hex_byte(arg, c == O_SSD_SCP ? &o->scp : &o->i) != PCARD_OK)
			return cli_usage(ctx, "--ssd-scp/--ssd-i take one hex byte");
		return 0;
	default:
		return cli_usage(ctx, "unknown option");
	}
}

/* Parse, connect and authenticate; returns 1 to go on, 0 with *rc set. */
static int
begin(cli_ctx *ctx, cli_card *cc, content_opts *o, int argc, char **argv, const char *help,
    int npos, int *rc)
{
	memset(o, 0, sizeof *o);
	cli_card_init(cc);
	if (!cli_card_parse(ctx, cc, argc, argv, help, content_long, "f", content_opt, o, rc))
		return 0;
	if (argc - optind != npos) {
		*rc = cli_usage(ctx, "%s: expected %d argument%s (see 'postcard help %s')",
		    argv[0], npos, npos == 1 ? "" : "s", argv[0]);
		return 0;
	}
	if ((*rc = cli_card_connect(ctx, cc)) != 0 || (*rc = cli_card_auth(ctx, cc)) != 0)
		return 0;
	return 1;
}

static int
done(cli_ctx *ctx, cli_card *cc, const char *op, json_t *extra)
{
	size_t cmds = 0, bytes = 0;

	pcard_gpc_stats(&cc->g, &cmds, &bytes);
	if (ctx->json) {
		json_t *o = cli_card_json(cc);

		json_object_set_new(o, "operation", json_string(op));
		json_object_set_new(o, "ok", json_true());
		json_object_set_new(o, "apdus", json_integer((json_int_t)cmds));
		json_object_set_new(o, "bytes_sent", json_integer((json_int_t)bytes));
		if (extra != NULL)
			json_object_update(o, extra);
		cli_json_print(o);
	} else {
		cli_info(ctx, "%s: done (%zu APDUs, %zu bytes sent)\n", op, cmds, bytes);
	}
	json_decref(extra);
	return PCARD_EXIT_OK;
}

static int
bad_aid(cli_ctx *ctx, const char *what, const char *s)
{
	return cli_usage(ctx, "%s takes an AID of 5 to 16 bytes in hex, not '%s'", what, s);
}

/* ---- CAP handling shared by load and install ---- */

typedef struct capjob {
	pcard_cap *cap;
	uint8_t *lf;
	size_t lf_len;
	uint8_t *dap;
	size_t dap_len;
	uint8_t hash[PCARD_MAX_HASH_BYTES];
	size_t hash_len;
	pcard_gp_aid pkg;
	/* --dap-key: the signing key, used once the SD is known (capjob_sign) */
	pcard_dapkey dk;
	pcard_pkey *dk_pk;
	pcard_keys *dk_keys;
	int has_dk;
} capjob;

static void
capjob_free(capjob *j)
{
	pcard_cap_free(j->cap);
	free(j->lf);
	free(j->dap);
	pcard_pkey_free(j->dk_pk);
	pcard_keys_free(j->dk_keys);
	j->cap = NULL;
	j->lf = j->dap = NULL;
	j->dk_pk = NULL;
	j->dk_keys = NULL;
}

/* A DAP file holds DAP blocks (E2 ...) in binary, or as hex text ('postcard cap dap'). */
static pcard_err
dap_text_to_binary(uint8_t *p, size_t *n)
{
	size_t j = 0, k;

	for (k = 0; k < *n; k++) {
		if (p[k] == ' ' || p[k] == '\n' || p[k] == '\r' || p[k] == '\t')
			continue;
		if (pcard_hex_digit(p[k]) < 0)
			return PCARD_OK;	/* not hex text: binary as is */
		p[j++] = p[k];
	}
	if (j == 0 || j % 2 != 0)
		return PCARD_E_BAD_ENCODING;
	for (k = 0; k < j / 2; k++)
		p[k] = (uint8_t)(pcard_hex_digit(p[2 * k]) << 4 | pcard_hex_digit(p[2 * k + 1]));
	*n = j / 2;
	return PCARD_OK;
}

static int
capjob_open(cli_ctx *ctx, const content_opts *o, const char *path, capjob *j)
{
	const pcard_cap_info *ci;
	pcard_hash h = PCARD_HASH_NONE;
	pcard_err err;

	memset(j, 0, sizeof *j);
	if ((err = pcard_cap_open_file(path, &j->cap)) != PCARD_OK)
		return cli_fail(ctx, err, "%s", path);
	ci = pcard_cap_get_info(j->cap);
	if ((err = pcard_gp_aid_set(&j->pkg, ci->package.b, ci->package.len)) != PCARD_OK)
		return cli_fail(ctx, err, "%s: package AID", path);
	j->lf_len = pcard_cap_load_file_len(j->cap, 0);
	if ((j->lf = malloc(j->lf_len)) == NULL)
		return cli_fail(ctx, PCARD_E_NOMEM, "%s", path);
	if ((err = pcard_cap_load_file(j->cap, 0, j->lf, j->lf_len, &j->lf_len)) != PCARD_OK)
		return cli_fail(ctx, err, "%s: load file", path);
	if (o->hash != NULL && (pcard_hash_from_name(o->hash, &h) != PCARD_OK ||
	    h == PCARD_HASH_NONE))
		return cli_usage(ctx, "--hash takes sha1, sha256, sha384 or sha512");
	if (o->dap_key != NULL) {
		pcard_hash min = PCARD_HASH_NONE;
		unsigned bits = 0;

		if (o->dap_file != NULL)
			return cli_usage(ctx, "give --dap-key or --dap-file, not both");
		if ((err = cli_dap_key(o->dap_key, NULL, NULL, &j->dk, &j->dk_pk, &j->dk_keys,
		    &bits)) != PCARD_OK)
			return cli_fail(ctx, err, "--dap-key %s", o->dap_key);
		if (pcard_lfdb_min_hash(j->dk.alg, bits, &min) != PCARD_OK)
			return cli_fail(ctx, PCARD_E_KEY, "--dap-key %s: %u-bit %s key", o->dap_key,
			    bits, pcard_dap_alg_name(j->dk.alg));
		if (h == PCARD_HASH_NONE)
			h = min;
		if (pcard_lfdb_hash_check(h, min) != PCARD_OK)
			return cli_usage(ctx, "--hash %s is weaker than the %s this DAP key needs",
			    pcard_hash_name(h), pcard_hash_name(min));
		j->has_dk = 1;
	}
	if (o->dap_file != NULL && h == PCARD_HASH_NONE)
		h = PCARD_HASH_SHA256;	/* a DAP needs the LFDB hash in INSTALL [for load] */
	if (h != PCARD_HASH_NONE && (err = pcard_cap_lfdb_hash(j->cap, 0, h, j->hash,
	    sizeof j->hash, &j->hash_len)) != PCARD_OK)
		return cli_fail(ctx, err, "%s: LFDB hash", path);
	if (o->dap_file != NULL && ((err = pcard_file_read(o->dap_file, 4096, &j->dap,
	    &j->dap_len)) != PCARD_OK || (err = dap_text_to_binary(j->dap, &j->dap_len)) !=
	    PCARD_OK))
		return cli_fail(ctx, err, "--dap-file %s", o->dap_file);
	return 0;
}

/* Sign the LFDB hash for --dap-sd, else --to, else the selected SD (after connecting). */
static int
capjob_sign(cli_ctx *ctx, const content_opts *o, capjob *j, const cli_card *cc)
{
	pcard_gp_aid sd = cc->sel.aid;
	size_t n = 0;
	pcard_err err;

	if (!j->has_dk)
		return 0;
	if ((o->dap_sd != NULL && cli_parse_gp_aid(o->dap_sd, &sd) != PCARD_OK) ||
	    (o->dap_sd == NULL && o->to != NULL && cli_parse_gp_aid(o->to, &sd) != PCARD_OK))
		return cli_usage(ctx, "--dap-sd/--to take an AID of 5 to 16 bytes in hex");
	if ((j->dap = malloc(PCARD_DAP_MAX_SIG + 64)) == NULL)
		return cli_fail(ctx, PCARD_E_NOMEM, "DAP block");
	if ((err = pcard_dap_block_make(&j->dk, sd.b, sd.len, j->hash, j->hash_len, j->dap,
	    PCARD_DAP_MAX_SIG + 64, &n)) != PCARD_OK)
		return cli_fail(ctx, err, "signing the DAP block with %s", o->dap_key);
	j->dap_len = n;
	return 0;
}

/* A progress bar on stderr when it is a terminal. */
static void
progress(void *p, size_t sent, size_t total)
{
	int width = 40, fill = total > 0 ? (int)(sent * (size_t)width / total) : width;

	(void)p;
	fprintf(stderr, "\rloading [%.*s%*s] %3zu%% %zu/%zu bytes", fill,
	    "########################################", width - fill, "",
	    total > 0 ? sent * 100 / total : 100, sent, total);
	if (sent >= total)
		fputc('\n', stderr);
}

static void
load_opts(cli_ctx *ctx, const content_opts *o, const capjob *j, const pcard_gp_aid *to,
    pcard_gpc_load_opts *lo)
{
	memset(lo, 0, sizeof *lo);
	lo->elf = &j->pkg;
	lo->sd = to;
	lo->hash = j->hash_len > 0 ? j->hash : NULL;
	lo->hash_len = j->hash_len;
	lo->dap = j->dap;
	lo->dap_len = j->dap_len;
	lo->load_file = j->lf;
	lo->load_file_len = j->lf_len;
	lo->combined = o->combined;
	if (!ctx->json && !ctx->quiet && isatty(STDERR_FILENO))
		lo->progress = progress;
}

static json_t *
load_json(const capjob *j)
{
	return json_pack("{s:o,s:i}", "package", cli_json_hex(j->pkg.b, j->pkg.len),
	    "load_file_length", (int)j->lf_len);
}

/* ---- load ---- */

static const char load_help[] =
    "usage: postcard load FILE.cap [--to SD] [--hash ALG] [--dap-file F | --dap-key PEM\n"
    "                     [--dap-sd AID]] [-f] [options]\n"
    "\n"
    "Load a CAP file's package: INSTALL [for load] then LOAD blocks of the largest data\n"
    "field the channel allows. A progress bar is shown when stderr is a terminal.\n"
    "\n"
    "Options:\n"
    "  --to SD         load into this security domain (default: the current one)\n"
    "  --hash ALG      send the LFDB hash (sha1, sha256, sha384, sha512) in INSTALL\n"
    "  --dap-file F    DAP blocks sent before C4: binary E2..., or the hex that 'postcard cap\n"
    "                  dap' prints\n"
    "  --dap-key PEM   sign the LFDB hash now (RSA or EC private key; hash: the key's minimum\n"
    "                  unless --hash) for --dap-sd AID, else --to SD, else the current SD\n"
    "  -f, --force     delete the package (and its instances) first if present\n"
    "\n"
    "JSON fields: sd, card_locked, channel{...}, operation, ok, package, load_file_length,\n"
    "apdus, bytes_sent.\n"
    "\n"
    "Examples:\n"
    "  postcard load applet.cap\n"
    "  postcard load applet.cap --to A000000151535041 --hash sha256 --json\n"
    "  postcard load applet.cap --to D0D1D2D3D4D5AA --dap-key dap.pem\n"
    "  postcard cap dap applet.cap --sd D0D1D2D3D4D5AA --key dap.pem > dap.hex\n"
    "  postcard load applet.cap --to D0D1D2D3D4D5AA --dap-file dap.hex --hash sha256\n";

int
cmd_load(cli_ctx *ctx, int argc, char **argv)
{
	cli_card cc;
	content_opts o;
	capjob j;
	pcard_gpc_load_opts lo;
	pcard_gp_aid to;
	int rc = 0;
	pcard_err err;

	memset(&j, 0, sizeof j);
	if (!begin(ctx, &cc, &o, argc, argv, load_help, 1, &rc))
		goto out;
	if (o.to != NULL && cli_parse_gp_aid(o.to, &to) != PCARD_OK) {
		rc = bad_aid(ctx, "--to", o.to);
		goto out;
	}
	if ((rc = capjob_open(ctx, &o, argv[optind], &j)) != 0 ||
	    (rc = capjob_sign(ctx, &o, &j, &cc)) != 0)
		goto out;
	if (o.force && (err = pcard_gpc_delete(&cc.g, &j.pkg, 1, NULL, 0)) != PCARD_OK &&
	    !(err == PCARD_E_CARD_STATUS && pcard_gpc_last_sw(&cc.g) == 0x6A88)) {
		rc = cli_card_fail(ctx, &cc, err, "deleting the old package");
		goto out;
	}
	load_opts(ctx, &o, &j, o.to != NULL ? &to : NULL, &lo);
	if ((err = pcard_gpc_load(&cc.g, &lo)) != PCARD_OK) {
		rc = cli_card_fail(ctx, &cc, err, "load");
		goto out;
	}
	rc = done(ctx, &cc, "load", load_json(&j));
out:
	capjob_free(&j);
	cli_card_free(&cc);
	return rc;
}

/* ---- install ---- */

static const char install_help[] =
    "usage: postcard install FILE.cap|--package AID [--applet AID] [--create AID]\n"
    "                        [--privs LIST] [--params HEX] [--install-only] [--to SD]\n"
    "                        [--combined] [-f] [options]\n"
    "\n"
    "With FILE.cap: load it (as 'postcard load') and install an applet in one go. With\n"
    "--package: install from a package already on the card. The applet defaults to the\n"
    "CAP's first one; the instance AID to the applet's.\n"
    "\n"
    "Options:\n"
    "  --package AID   package (load file) on the card\n"
    "  --applet AID    applet class (module) to instantiate\n"
    "  --create AID    instance AID (default: the applet's)\n"
    "  --privs LIST    privileges: names (CardReset,CardLock,...) or hex\n"
    "  --params HEX    install parameters; wrapped in C9 unless already C9 TLV (empty:\n"
    "                  C9 00)\n"
    "  --install-only  INSTALL [for install] without make selectable\n"
    "  --combined      mark INSTALL [for load] P2 01 and [for install] P2 03 (combined)\n"
    "  --to SD, --hash ALG, --dap-file F, --dap-key PEM, --dap-sd AID, -f   as 'postcard load'\n"
    "\n"
    "JSON fields: sd, card_locked, channel{...}, operation, ok, package, applet, instance,\n"
    "privileges, load_file_length (when loaded), apdus, bytes_sent.\n"
    "\n"
    "Examples:\n"
    "  postcard install applet.cap\n"
    "  postcard install --package D0D1D2D3D4D501 --applet D0D1D2D3D4D50101 \\\n"
    "      --create D0D1D2D3D4D50102 --privs CardReset --params 0102\n";

typedef struct install_job {
	pcard_gp_aid pkg, applet, inst, to;
	uint8_t params[255];
	size_t params_len;
	uint32_t privs;
} install_job;

static int
install_args(cli_ctx *ctx, const content_opts *o, const capjob *j, install_job *ij)
{
	if (o->privs != NULL && pcard_privs_from_string(o->privs, &ij->privs) != PCARD_OK)
		return cli_usage(ctx, "--privs: unknown privilege in '%s'", o->privs);
	if (o->params != NULL && cli_parse_hex(o->params, ij->params, sizeof ij->params,
	    &ij->params_len) != PCARD_OK)
		return cli_usage(ctx, "--params takes hex (at most 255 bytes)");
	if (o->package != NULL && cli_parse_gp_aid(o->package, &ij->pkg) != PCARD_OK)
		return bad_aid(ctx, "--package", o->package);
	if (j != NULL && j->cap != NULL)
		ij->pkg = j->pkg;
	if (o->applet != NULL) {
		if (cli_parse_gp_aid(o->applet, &ij->applet) != PCARD_OK)
			return bad_aid(ctx, "--applet", o->applet);
	} else if (j != NULL && j->cap != NULL && pcard_cap_get_info(j->cap)->napplets > 0) {
		const pcard_cap_aid *a = &pcard_cap_get_info(j->cap)->applets[0].aid;

		pcard_gp_aid_set(&ij->applet, a->b, a->len);	/* DWIM: the first applet */
	} else {
		return cli_usage(ctx, "install: which applet? (--applet AID)");
	}
	ij->inst = ij->applet;
	if (o->create != NULL && cli_parse_gp_aid(o->create, &ij->inst) != PCARD_OK)
		return bad_aid(ctx, "--create", o->create);
	if (o->to != NULL && cli_parse_gp_aid(o->to, &ij->to) != PCARD_OK)
		return bad_aid(ctx, "--to", o->to);
	return 0;
}

int
cmd_install(cli_ctx *ctx, int argc, char **argv)
{
	cli_card cc;
	content_opts o;
	capjob j;
	install_job ij;
	pcard_gpc_install_opts io;
	pcard_gpc_load_opts lo;
	int rc = 0, with_cap;
	pcard_err err;
	char pv[12];

	memset(&j, 0, sizeof j);
	memset(&ij, 0, sizeof ij);
	memset(&o, 0, sizeof o);
	cli_card_init(&cc);
	if (!cli_card_parse(ctx, &cc, argc, argv, install_help, content_long, "f", content_opt,
	    &o, &rc))
		goto out;
	with_cap = argc - optind == 1;
	if ((with_cap && o.package != NULL) || (!with_cap && (argc != optind || o.package == NULL))) {
		rc = cli_usage(ctx, "install: give FILE.cap or --package AID (see 'postcard help "
		    "install')");
		goto out;
	}
	if ((with_cap && (rc = capjob_open(ctx, &o, argv[optind], &j)) != 0) ||
	    (rc = install_args(ctx, &o, with_cap ? &j : NULL, &ij)) != 0 ||
	    (rc = cli_card_connect(ctx, &cc)) != 0 || (rc = cli_card_auth(ctx, &cc)) != 0 ||
	    (with_cap && (rc = capjob_sign(ctx, &o, &j, &cc)) != 0))
		goto out;
	memset(&io, 0, sizeof io);
	io.role = o.install_only ? PCARD_GPC_INSTALL_ONLY : PCARD_GPC_INSTALL_AND_SELECTABLE;
	io.elf = &ij.pkg;
	io.module = &ij.applet;
	io.instance = &ij.inst;
	io.privs = ij.privs;
	io.params = ij.params;
	io.params_len = ij.params_len;
	if (with_cap && o.force && (err = pcard_gpc_delete(&cc.g, &j.pkg, 1, NULL, 0)) !=
	    PCARD_OK && !(err == PCARD_E_CARD_STATUS && pcard_gpc_last_sw(&cc.g) == 0x6A88)) {
		rc = cli_card_fail(ctx, &cc, err, "deleting the old package");
		goto out;
	}
	if (with_cap) {
		load_opts(ctx, &o, &j, o.to != NULL ? &ij.to : NULL, &lo);
		err = pcard_gpc_load_install(&cc.g, &lo, &io);
	} else {
		err = pcard_gpc_install(&cc.g, &io);
	}
	if (err != PCARD_OK) {
		rc = cli_card_fail(ctx, &cc, err, "install");
		goto out;
	}
	snprintf(pv, sizeof pv, "%06X", (unsigned)ij.privs);
	{
		json_t *x = with_cap ? load_json(&j) : json_object();

		json_object_set_new(x, "package", cli_json_hex(ij.pkg.b, ij.pkg.len));
		json_object_set_new(x, "applet", cli_json_hex(ij.applet.b, ij.applet.len));
		json_object_set_new(x, "instance", cli_json_hex(ij.inst.b, ij.inst.len));
		json_object_set_new(x, "privileges", json_string(pv));
		rc = done(ctx, &cc, "install", x);
	}
out:
	capjob_free(&j);
	cli_card_free(&cc);
	return rc;
}

/* ---- one-AID commands ---- */

static const char delete_help[] =
    "usage: postcard delete AID [-f|--force] [options]\n"
    "\n"
    "DELETE an application, security domain or package. -f also deletes related objects\n"
    "(a package with its instances: P2 80). 6A88 means not found; 6985 that the object is\n"
    "still in use (delete its instances first, or use -f).\n"
    "\n"
    "JSON fields: sd, card_locked, channel{...}, operation, ok, aid, related, apdus, bytes_sent.\n"
    "\n"
    "Examples:\n"
    "  postcard delete D0D1D2D3D4D501\n"
    "  postcard delete D0D1D2D3D4D5 -f --json\n";

static const char make_default_help[] =
    "usage: postcard make-default AID [options]\n"
    "\n"
    "Make the application the card's default selected one: INSTALL [for make selectable]\n"
    "with the Card Reset privilege.\n"
    "\n"
    "JSON fields: sd, card_locked, channel{...}, operation, ok, aid, apdus, bytes_sent.\n"
    "\n"
    "Examples:\n"
    "  postcard make-default D0D1D2D3D4D50101\n";

static const char lock_help[] =
    "usage: postcard lock-app AID [options]\n"
    "       postcard unlock-app AID [options]\n"
    "\n"
    "Lock or unlock an application or security domain: SET STATUS P1 40, P2 80 (lock) or\n"
    "00 (back to its previous state).\n"
    "\n"
    "JSON fields: sd, card_locked, channel{...}, operation, ok, aid, apdus, bytes_sent.\n"
    "\n"
    "Examples:\n"
    "  postcard lock-app D0D1D2D3D4D50101\n"
    "  postcard unlock-app D0D1D2D3D4D50101 --json\n";

static const char regupd_help[] =
    "usage: postcard registry-update AID [--privs LIST] [--params HEX] [--to SD] [options]\n"
    "\n"
    "INSTALL [for registry update] (P1 40): change an application's privileges (--privs;\n"
    "without it they are left unchanged), its parameters, or its associated SD (--to).\n"
    "\n"
    "JSON fields: sd, card_locked, channel{...}, operation, ok, aid, apdus, bytes_sent.\n"
    "\n"
    "Examples:\n"
    "  postcard registry-update D0D1D2D3D4D50101 --privs CardReset\n";

static const char move_help[] =
    "usage: postcard move AID --to SD [options]\n"
    "\n"
    "INSTALL [for extradition] (P1 10): associate an application or load file with\n"
    "another security domain.\n"
    "\n"
    "JSON fields: sd, card_locked, channel{...}, operation, ok, aid, to, apdus, bytes_sent.\n"
    "\n"
    "Examples:\n"
    "  postcard move D0D1D2D3D4D50101 --to A000000151535041\n";

static const char domain_help[] =
    "usage: postcard domain create AID [--privs LIST] [--params HEX] [--ssd-scp 02|03]\n"
    "                              [--ssd-i HEX] [options]\n"
    "\n"
    "Create a supplementary security domain: INSTALL [for install and make selectable]\n"
    "from the SSD package A0000001515350, module A000000151535041, with install parameters\n"
    "C9 { 81 02 <scp> <i>, 82 02 20 20, 87 02 20 20, --params }. The SCP defaults to the\n"
    "current channel's. Security Domain is always among the privileges.\n"
    "\n"
    "JSON fields: sd, card_locked, channel{...}, operation, ok, aid, privileges, apdus,\n"
    "bytes_sent.\n"
    "\n"
    "Examples:\n"
    "  postcard domain create D0D1D2D3D4D5AA --privs AuthorizedManagement\n";

static int
one_aid(cli_ctx *ctx, int argc, char **argv, const char *help, const char *op)
{
	cli_card cc;
	content_opts o;
	pcard_gp_aid aid, to;
	uint8_t params[255];
	size_t plen = 0;
	uint32_t privs = 0;
	int rc = 0, privs_mode = PCARD_PRIVS_NONE;
	json_t *x;
	pcard_err err = PCARD_E_INTERNAL;

	if (!begin(ctx, &cc, &o, argc, argv, help, 1, &rc))
		goto out;
	if (cli_parse_gp_aid(argv[optind], &aid) != PCARD_OK) {
		rc = bad_aid(ctx, op, argv[optind]);
		goto out;
	}
	if ((o.to != NULL && cli_parse_gp_aid(o.to, &to) != PCARD_OK) ||
	    (strcmp(op, "move") == 0 && o.to == NULL)) {
		rc = o.to == NULL ? cli_usage(ctx, "move: --to SD is required") :
		    bad_aid(ctx, "--to", o.to);
		goto out;
	}
	if (o.privs != NULL) {
		if (pcard_privs_from_string(o.privs, &privs) != PCARD_OK) {
			rc = cli_usage(ctx, "--privs: unknown privilege in '%s'", o.privs);
			goto out;
		}
		privs_mode = PCARD_PRIVS_AUTO;
	}
	if (o.params != NULL && cli_parse_hex(o.params, params, sizeof params, &plen) !=
	    PCARD_OK) {
		rc = cli_usage(ctx, "--params takes hex (at most 255 bytes)");
		goto out;
	}
	if (strcmp(op, "delete") == 0)
		err = pcard_gpc_delete(&cc.g, &aid, o.force, NULL, 0);
	else if (strcmp(op, "make-default") == 0)
		err = pcard_gpc_make_default(&cc.g, &aid);
	else if (strcmp(op, "lock-app") == 0 || strcmp(op, "unlock-app") == 0)
		err = pcard_gpc_app_lock(&cc.g, &aid, op[0] == 'l');
	else if (strcmp(op, "registry-update") == 0)
		err = pcard_gpc_registry_update(&cc.g, &aid, o.to != NULL ? &to : NULL, privs,
		    privs_mode, params, plen);
	else if (strcmp(op, "move") == 0)
		err = pcard_gpc_extradite(&cc.g, &aid, &to);
	if (err != PCARD_OK) {
		rc = cli_card_fail(ctx, &cc, err, op);
		goto out;
	}
	x = json_pack("{s:o}", "aid", cli_json_hex(aid.b, aid.len));
	if (strcmp(op, "delete") == 0)
		json_object_set_new(x, "related", json_boolean(o.force));
	if (strcmp(op, "move") == 0)
		json_object_set_new(x, "to", cli_json_hex(to.b, to.len));
	rc = done(ctx, &cc, op, x);
out:
	cli_card_free(&cc);
	return rc;
}

int
cmd_delete(cli_ctx *ctx, int argc, char **argv)
{
	return one_aid(ctx, argc, argv, delete_help, "delete");
}

int
cmd_make_default(cli_ctx *ctx, int argc, char **argv)
{
	return one_aid(ctx, argc, argv, make_default_help, "make-default");
}

int
cmd_lock_app(cli_ctx *ctx, int argc, char **argv)
{
	return one_aid(ctx, argc, argv, lock_help, "lock-app");
}

int
cmd_unlock_app(cli_ctx *ctx, int argc, char **argv)
{
	return one_aid(ctx, argc, argv, lock_help, "unlock-app");
}

int
cmd_registry_update(cli_ctx *ctx, int argc, char **argv)
{
	return one_aid(ctx, argc, argv, regupd_help, "registry-update");
}

int
cmd_move(cli_ctx *ctx, int argc, char **argv)
{
	return one_aid(ctx, argc, argv, move_help, "move");
}

int
cmd_domain(cli_ctx *ctx, int argc, char **argv)
{
	cli_card cc;
	content_opts o;
	pcard_gpc_ssd_opts so;
	pcard_gp_aid aid;
	uint8_t params[200];
	size_t plen = 0;
	uint32_t privs = 0;
	int rc = 0;
	char pv[12];
	pcard_err err;

	if (argc >= 2 && cli_is_help(argv[1])) {
		fputs(domain_help, stdout);
		fputs("\n" CLI_CARD_HELP, stdout);
		return PCARD_EXIT_OK;
	}
	if (argc < 2 || strcmp(argv[1], "create") != 0)
		return cli_usage(ctx, "domain: the subcommand is 'create' (see 'postcard help "
		    "domain')");
	if (!begin(ctx, &cc, &o, argc - 1, argv + 1, domain_help, 1, &rc))
		goto out;
	optind++;	/* argv was shifted by one */
	if (cli_parse_gp_aid(argv[optind], &aid) != PCARD_OK) {
		rc = bad_aid(ctx, "domain create", argv[optind]);
		goto out;
	}
	if ((o.privs != NULL && pcard_privs_from_string(o.privs, &privs) != PCARD_OK) ||
	    (o.params != NULL && cli_parse_hex(o.params, params, sizeof params, &plen) !=
	    PCARD_OK)) {
		rc = cli_usage(ctx, "domain create: bad --privs or --params");
		goto out;
	}
	memset(&so, 0, sizeof so);
	so.aid = &aid;
	so.privs = privs;
	so.scp = o.scp;
	so.i = o.i;
	so.params = plen > 0 ? params : NULL;
	so.params_len = plen;
	if ((err = pcard_gpc_create_ssd(&cc.g, &so)) != PCARD_OK) {
		rc = cli_card_fail(ctx, &cc, err, "domain create");
		goto out;
	}
	snprintf(pv, sizeof pv, "%06X", (unsigned)(privs | PCARD_PRIV_SECURITY_DOMAIN));
	rc = done(ctx, &cc, "domain create", json_pack("{s:o,s:s}", "aid",
	    cli_json_hex(aid.b, aid.len), "privileges", pv));
out:
	cli_card_free(&cc);
	return rc;
}
