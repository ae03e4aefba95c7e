/* cmd_cap.c: `postcard cap info|build|dap`: CAP files without a card. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "postcard/bytes.h"
#include "postcard/cap.h"
#include "postcard/capbuild.h"
#include "postcard/crypto.h"
#include "postcard/dap.h"
#include "postcard/keys.h"

static const char cap_help[] =
    "usage: postcard cap <subcommand> [options]\n"
    "\n"
    "Subcommands:\n"
    "  info FILE.cap   package, applets, imports, component sizes, load file and its hashes\n"
    "  build ...       write a structurally valid CAP file (for tests and simulators)\n"
    "  dap ...         sign a CAP's Load File Data Block hash and print the DAP block\n"
    "\n"
    "Run 'postcard cap <subcommand> --help' for the options of each.\n"
    "\n"
    "Examples:\n"
    "  postcard cap info applet.cap\n"
    "  postcard --json cap info applet.cap --hash sha384\n"
    "  postcard cap build --package A000000151000099 --applet A00000015100009901 \\\n"
    "      --import A0000000620101:1.3 --size 30000 -o test.cap\n"
    "  postcard cap dap --aes-key 404142434445464748494A4B4C4D4E4F --sd A000000151000000 applet.cap\n";

static const char info_help[] =
    "usage: postcard cap info FILE.cap [--hash ALG] [--descriptor] [--json]\n"
    "\n"
    "Print the package AID and version, CAP format version, applet AIDs, imported packages\n"
    "with their versions, the size of every component, and the Load File Data Block (LFDB:\n"
    "Header, Directory, Import, Applet, Class, Method, StaticField, Export, ConstantPool,\n"
    "RefLocation) length with its SHA-1 and SHA-256. No card is needed.\n"
    "\n"
    "Options:\n"
    "  --hash ALG      also print the LFDB hash with ALG (sha1, sha256, sha384, sha512)\n"
    "  --descriptor    include the Descriptor component in the LFDB\n"
    "\n"
    "JSON fields: file, package_aid, package_version, package_path, cap_version, flags,\n"
    "applets[{aid, install_offset}], imports[{aid, version}], components{Name: bytes},\n"
    "lfdb_length, load_file_length, lfdb_sha1, lfdb_sha256, lfdb_hash{alg, value}.\n"
    "\n"
    "Examples:\n"
    "  postcard cap info gppro-empty-2.2.1.cap\n"
    "  postcard cap info applet.cap --json --hash sha512\n";

static const char build_help[] =
    "usage: postcard cap build --package AID [--version M.m] [--applet AID]...\n"
    "                          [--import AID:M.m]... [--size BYTES] [--package-path DIR]\n"
    "                          -o OUT.cap\n"
    "\n"
    "Write a CAP file (format 2.1) whose components are consistent with each other: the\n"
    "Directory lists their real sizes, every applet's install method lies in Method. The\n"
    "code is not meant to run; use it to exercise loaders, card simulators and size limits.\n"
    "\n"
    "Options:\n"
    "  --package AID       package AID (5 to 16 bytes, hex)\n"
    "  --version M.m       package version (default 1.0)\n"
    "  --applet AID        an applet AID (repeatable; none makes a library)\n"
    "  --import AID:M.m    an imported package and its version (repeatable)\n"
    "  --size BYTES        total size of the Class and Method components (default: smallest;\n"
    "                      suffix k for KiB)\n"
    "  --package-path DIR  directory of the components in the ZIP (default postcard/gen)\n"
    "  -o, --output FILE   where to write the CAP file\n"
    "\n"
    "Examples:\n"
    "  postcard cap build --package A000000151000099 --applet A00000015100009901 -o a.cap\n"
    "  postcard cap build --package D0D1D2D3D4D501 --version 1.2 \\\n"
    "      --import A0000000620101:1.3 --import A0000000620001:1.0 --size 30k -o big.cap\n";

static const char dap_help[] =
    "usage: postcard cap dap FILE.cap --sd AID (--key PEM | --aes-key HEX | --des-key HEX)\n"
    "                        [--hash ALG] [--json]\n"
    "\n"
    "Compute the Load File Data Block hash and sign it for the security domain AID, then\n"
    "print the DAP block E2 { 4F AID, C3 signature } that goes before C4 in the load file.\n"
    "RSA keys up to 1024 bits use scheme 1 (PKCS#1 v1.5, SHA-1), larger ones scheme 2\n"
    "(PSS, SHA-256); EC keys use ECDSA; --aes-key an AES-CMAC, --des-key a DES retail MAC.\n"
    "The hash defaults to the weakest one the algorithm allows (CS Table C-3); a weaker\n"
    "--hash is refused.\n"
    "\n"
    "Examples:\n"
    "  postcard cap dap applet.cap --sd A000000151000000 --key dap.pem\n"
    "  postcard cap dap applet.cap --sd A000000151000000 --aes-key 404142434445464748494A4B4C4D4E4F\n";

/* The LFDB hash as a hex string (heap; NULL on failure, err set). */
static char *
lfdb_hash_hex(const pcard_cap *c, unsigned flags, pcard_hash h, pcard_err *err)
{
	uint8_t d[PCARD_MAX_HASH_BYTES];
	size_t n = 0;

	if ((*err = pcard_cap_lfdb_hash(c, flags, h, d, sizeof d, &n)) != PCARD_OK)
		return NULL;
	return cli_hex(d, n);
}

static int
info_print(cli_ctx *ctx, const char *path, const pcard_cap *c, unsigned flags, pcard_hash extra)
{
	const pcard_cap_info *ci = pcard_cap_get_info(c);
	size_t lfdb_len = pcard_cap_lfdb_len(c, flags);
	size_t lf_len = pcard_cap_load_file_len(c, flags);
	char *sha1 = NULL, *sha256 = NULL, *xh = NULL, *s;
	pcard_err err = PCARD_OK;
	int rc = PCARD_EXIT_INTERNAL;

	if ((sha1 = lfdb_hash_hex(c, flags, PCARD_HASH_SHA1, &err)) == NULL ||
	    (sha256 = lfdb_hash_hex(c, flags, PCARD_HASH_SHA256, &err)) == NULL ||
	    (extra != PCARD_HASH_NONE && (xh = lfdb_hash_hex(c, flags, extra, &err)) == NULL)) {
		rc = cli_fail(ctx, err != PCARD_OK ? err : PCARD_E_NOMEM, "%s: LFDB hash", path);
		goto out;
	}
	if (ctx->json) {
		json_t *o = json_object(), *apps = json_array(), *imps = json_array();
		json_t *comps = json_object();
		char v[16];

		json_object_set_new(o, "file", json_string(path));
		json_object_set_new(o, "package_aid", cli_json_hex(ci->package.b, ci->package.len));
		snprintf(v, sizeof v, "%u.%u", ci->pkg_major, ci->pkg_minor);
		json_object_set_new(o, "package_version", json_string(v));
		json_object_set_new(o, "package_path", json_string(ci->package_path));
		snprintf(v, sizeof v, "%u.%u", ci->cap_major, ci->cap_minor);
		json_object_set_new(o, "cap_version", json_string(v));
		json_object_set_new(o, "flags", json_integer(ci->flags));
		for (size_t i = 0; i < ci->napplets; i++)
			json_array_append_new(apps, json_pack("{s:o,s:i}", "aid",
			    cli_json_hex(ci->applets[i].aid.b, ci->applets[i].aid.len),
			    "install_offset", (int)ci->applets[i].install_offset));
		json_object_set_new(o, "applets", apps);
		for (size_t i = 0; i < ci->nimports; i++) {
			snprintf(v, sizeof v, "%u.%u", ci->imports[i].major, ci->imports[i].minor);
			json_array_append_new(imps, json_pack("{s:o,s:s}", "aid",
			    cli_json_hex(ci->imports[i].aid.b, ci->imports[i].aid.len),
			    "version", v));
		}
		json_object_set_new(o, "imports", imps);
		for (unsigned t = 1; t <= PCARD_CAP_COMP_MAX; t++)
			if (ci->comp_len[t] > 0)
				json_object_set_new(comps, pcard_cap_comp_name((pcard_cap_comp)t),
				    json_integer((json_int_t)ci->comp_len[t]));
		json_object_set_new(o, "components", comps);
		json_object_set_new(o, "lfdb_length", json_integer((json_int_t)lfdb_len));
		json_object_set_new(o, "load_file_length", json_integer((json_int_t)lf_len));
		json_object_set_new(o, "lfdb_sha1", json_string(sha1));
		json_object_set_new(o, "lfdb_sha256", json_string(sha256));
		if (xh != NULL)
			json_object_set_new(o, "lfdb_hash", json_pack("{s:s,s:s}", "alg",
			    pcard_hash_name(extra), "value", xh));
		cli_json_print(o);
		rc = PCARD_EXIT_OK;
		goto out;
	}
	printf("File:          %s\n", path);
	s = cli_hex(ci->package.b, ci->package.len);
	printf("Package:       %s v%u.%u (%s)\n", s != NULL ? s : "", ci->pkg_major, ci->pkg_minor,
	    ci->package_path[0] != '\0' ? ci->package_path : "-");
	free(s);
	printf("CAP format:    %u.%u, flags %02X%s%s%s\n", ci->cap_major, ci->cap_minor, ci->flags,
	    (ci->flags & PCARD_CAP_ACC_INT) ? " int" : "",
	    (ci->flags & PCARD_CAP_ACC_EXPORT) ? " export" : "",
	    (ci->flags & PCARD_CAP_ACC_APPLET) ? " applet" : "");
	if (ci->napplets == 0)
		printf("Applets:       none (library)\n");
	for (size_t i = 0; i < ci->napplets; i++) {
		s = cli_hex(ci->applets[i].aid.b, ci->applets[i].aid.len);
		printf("%s%s", i == 0 ? "Applets:       " : "               ", s != NULL ? s : "");
		if (ctx->verbose)
			printf(" (install method at %u)", ci->applets[i].install_offset);
		printf("\n");
		free(s);
	}
	if (ci->nimports == 0)
		printf("Imports:       none\n");
	for (size_t i = 0; i < ci->nimports; i++) {
		s = cli_hex(ci->imports[i].aid.b, ci->imports[i].aid.len);
		printf("%s%s v%u.%u\n", i == 0 ? "Imports:       " : "               ",
		    s != NULL ? s : "", ci->imports[i].major, ci->imports[i].minor);
		free(s);
	}
	printf("Components:   ");
	for (unsigned t = 1; t <= PCARD_CAP_COMP_MAX; t++)
		if (ci->comp_len[t] > 0)
			printf(" %s %zu", pcard_cap_comp_name((pcard_cap_comp)t), ci->comp_len[t]);
	printf("\n");
	printf("LFDB:          %zu bytes (load file C4: %zu bytes)\n", lfdb_len, lf_len);
	printf("LFDB SHA-1:    %s\n", sha1);
	printf("LFDB SHA-256:  %s\n", sha256);
	if (xh != NULL)
		printf("LFDB %-9s %s\n", pcard_hash_name(extra), xh);
	rc = PCARD_EXIT_OK;
out:
	free(sha1);
	free(sha256);
	free(xh);
	return rc;
}

static int
cap_info(cli_ctx *ctx, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "hash", required_argument, NULL, 'H' },
		{ "descriptor", no_argument, NULL, 'D' },
		{ NULL, 0, NULL, 0 },
	};
	pcard_hash extra = PCARD_HASH_NONE;
	unsigned flags = 0;
	pcard_cap *c = NULL;
	pcard_err err;
	int ch, rc;

	cli_getopt_reset();
	while ((ch = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
		switch (ch) {
		case 'h':
			fputs(info_help, stdout);
			return PCARD_EXIT_OK;
		case 'H':
			if (pcard_hash_from_name(optarg, &extra) != PCARD_OK ||
			    extra == PCARD_HASH_NONE)
				return cli_usage(ctx, "cap info: unknown hash '%s' (sha1, sha256, "
				    "sha384, sha512)", optarg);
			break;
		case 'D':
			flags |= PCARD_CAP_LFDB_DESCRIPTOR;
			break;
		default:
			return cli_bad_option(ctx, "cap info", ch, argv);
		}
	}
	if (argc - optind != 1)
		return cli_usage(ctx, "cap info: expected one CAP file (see 'postcard cap info "
		    "--help')");
	if ((err = pcard_cap_open_file(argv[optind], &c)) != PCARD_OK)
		return cli_fail(ctx, err, "%s", argv[optind]);
	rc = info_print(ctx, argv[optind], c, flags, extra);
	pcard_cap_free(c);
	return rc;
}

static int
cap_build(cli_ctx *ctx, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "package", required_argument, NULL, 'p' },
		{ "version", required_argument, NULL, 'V' },
		{ "applet", required_argument, NULL, 'a' },
		{ "import", required_argument, NULL, 'i' },
		{ "size", required_argument, NULL, 's' },
		{ "package-path", required_argument, NULL, 'P' },
		{ "output", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	static pcard_cap_aid applets[PCARD_CAP_MAX_APPLETS];
	static pcard_cap_import imports[PCARD_CAP_MAX_IMPORTS];
	pcard_capbuild_params p;
	const char *out = NULL;
	int have_pkg = 0, ch;
	pcard_cap *c = NULL;
	pcard_err err;

	memset(&p, 0, sizeof p);
	p.pkg_major = 1;
	p.applets = applets;
	p.imports = imports;
	cli_getopt_reset();
	while ((ch = getopt_long(argc, argv, ":ho:", lo, NULL)) != -1) {
		switch (ch) {
		case 'h':
			fputs(build_help, stdout);
			return PCARD_EXIT_OK;
		case 'p':
			if (cli_parse_aid(optarg, p.package.b, &p.package.len) != PCARD_OK)
				return cli_usage(ctx, "cap build: --package: '%s' is not an AID "
				    "(5 to 16 bytes of hex)", optarg);
			have_pkg = 1;
			break;
		case 'V':
			if (cli_parse_version(optarg, &p.pkg_major, &p.pkg_minor) != PCARD_OK)
				return cli_usage(ctx, "cap build: --version: '%s' is not M.m", optarg);
			break;
		case 'a':
			if (p.napplets == PCARD_CAP_MAX_APPLETS)
				return cli_usage(ctx, "cap build: more than %u applets",
				    PCARD_CAP_MAX_APPLETS);
			if (cli_parse_aid(optarg, applets[p.napplets].b,
			    &applets[p.napplets].len) != PCARD_OK)
				return cli_usage(ctx, "cap build: --applet: '%s' is not an AID",
				    optarg);
			p.napplets++;
			break;
		case 'i': {
			char aid[64];
			const char *colon = strchr(optarg, ':');
			pcard_cap_import *im = &imports[p.nimports];

			if (p.nimports == PCARD_CAP_MAX_IMPORTS)
				return cli_usage(ctx, "cap build: more than %u imports",
				    PCARD_CAP_MAX_IMPORTS);
			if (colon == NULL || (size_t)(colon - optarg) >= sizeof aid)
				return cli_usage(ctx, "cap build: --import: '%s' is not AID:M.m",
				    optarg);
			memcpy(aid, optarg, (size_t)(colon - optarg));
			aid[colon - optarg] = '\0';
			if (cli_parse_aid(aid, im->aid.b, &im->aid.len) != PCARD_OK ||
			    cli_parse_version(colon + 1, &im->major, &im->minor) != PCARD_OK)
				return cli_usage(ctx, "cap build: --import: '%s' is not AID:M.m",
				    optarg);
			p.nimports++;
			break;
		}
		case 's':
			if (cli_parse_size(optarg, &p.code_size) != PCARD_OK)
				return cli_usage(ctx, "cap build: --size: '%s' is not a size", optarg);
			break;
		case 'P':
			p.package_path = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		default:
			return cli_bad_option(ctx, "cap build", ch, argv);
		}
	}
	if (optind != argc)
		return cli_usage(ctx, "cap build: unexpected argument '%s'", argv[optind]);
	if (!have_pkg || out == NULL)
		return cli_usage(ctx, "cap build: --package and -o are required (see 'postcard "
		    "cap build --help')");
	if (p.code_size != 0 && (p.code_size < pcard_capbuild_min_code(&p) ||
	    p.code_size > PCARD_CAPBUILD_MAX_CODE))
		return cli_usage(ctx, "cap build: --size must be between %zu and %u here",
		    pcard_capbuild_min_code(&p), PCARD_CAPBUILD_MAX_CODE);
	if ((err = pcard_capbuild_file(&p, out)) != PCARD_OK)
		return cli_fail(ctx, err, "cap build: %s", out);
	/* Read it back: what we report is what a reader sees. */
	if ((err = pcard_cap_open_file(out, &c)) != PCARD_OK)
		return cli_fail(ctx, err, "cap build: reading back %s", out);
	if (ctx->json) {
		const pcard_cap_info *ci = pcard_cap_get_info(c);

		cli_json_print(json_pack("{s:s,s:o,s:i,s:i,s:I}", "file", out, "package_aid",
		    cli_json_hex(ci->package.b, ci->package.len), "applets", (int)ci->napplets,
		    "imports", (int)ci->nimports, "lfdb_length",
		    (json_int_t)pcard_cap_lfdb_len(c, 0)));
	} else {
		cli_info(ctx, "postcard: wrote %s: %zu applet(s), %zu import(s), LFDB %zu bytes\n",
		    out, p.napplets, p.nimports, pcard_cap_lfdb_len(c, 0));
	}
	pcard_cap_free(c);
	return PCARD_EXIT_OK;
}

/* Key for `cap dap` and `load --dap-key`: a PEM file, or symmetric bytes held by an
 * in-memory provider. */
pcard_err
cli_dap_key(const char *pem, const char *aes, const char *des, pcard_dapkey *k, pcard_pkey **pk,
    pcard_keys **keys, unsigned *bits)
{
	uint8_t raw[32];
	size_t n = 0;
	pcard_err err = PCARD_E_INTERNAL;

	memset(k, 0, sizeof *k);
	if (pem != NULL) {
		if ((err = pcard_pkey_load_file(pem, pk)) != PCARD_OK)
			goto out;
		k->pkey = *pk;
		*bits = pcard_pkey_bits(*pk);
		if (pcard_pkey_is_ec(*pk))
			k->alg = PCARD_DAP_ECDSA;
		else
			k->alg = *bits <= PCARD_DAP_RSA_SCHEME1_MAX_BITS ? PCARD_DAP_RSA_SHA1 :
			    PCARD_DAP_RSA_PSS_SHA256;
		err = PCARD_OK;
		goto out;
	}
	if ((err = pcard_hex_decode(aes != NULL ? aes : des, raw, sizeof raw, &n)) != PCARD_OK ||
	    (aes != NULL && n != 16 && n != 24 && n != 32) || (des != NULL && n != 16)) {
		err = PCARD_E_KEY;
		goto out;
	}
	if ((err = pcard_keys_mem_new(2, keys)) != PCARD_OK ||
	    (err = pcard_keys_mem_import(*keys, "dap", aes != NULL ? PCARD_KEY_AES :
	    PCARD_KEY_DES3, raw, n, &k->h)) != PCARD_OK)
		goto out;
	k->keys = *keys;
	k->alg = aes != NULL ? PCARD_DAP_AES_CMAC : PCARD_DAP_DES_RETAIL;
	*bits = (unsigned)(n * 8);
	err = PCARD_OK;
out:
	pcard_wipe(raw, sizeof raw);
	return err;
}

static int
cap_dap(cli_ctx *ctx, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "sd", required_argument, NULL, 's' },
		{ "key", required_argument, NULL, 'k' },
		{ "aes-key", required_argument, NULL, 'A' },
		{ "des-key", required_argument, NULL, 'D' },
		{ "hash", required_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	const char *pem = NULL, *aes = NULL, *des = NULL;
	uint8_t sd[16], h[PCARD_MAX_HASH_BYTES], blk[PCARD_DAP_MAX_SIG + 64];
	size_t sd_len = 0, hl = 0, bl = 0;
	pcard_hash hash = PCARD_HASH_NONE, min = PCARD_HASH_NONE;
	pcard_dapkey k;
	pcard_pkey *pk = NULL;
	pcard_keys *keys = NULL;
	pcard_cap *c = NULL;
	unsigned bits = 0;
	char *s1 = NULL, *s2 = NULL;
	pcard_err err;
	int ch, rc = PCARD_EXIT_INTERNAL;

	cli_getopt_reset();
	while ((ch = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
		switch (ch) {
		case 'h':
			fputs(dap_help, stdout);
			return PCARD_EXIT_OK;
		case 's':
			if (cli_parse_aid(optarg, sd, &sd_len) != PCARD_OK)
				return cli_usage(ctx, "cap dap: --sd: '%s' is not an AID", optarg);
			break;
		case 'k':
			pem = optarg;
			break;
		case 'A':
			aes = optarg;
			break;
		case 'D':
			des = optarg;
			break;
		case 'H':
			if (pcard_hash_from_name(optarg, &hash) != PCARD_OK ||
			    hash == PCARD_HASH_NONE)
				return cli_usage(ctx, "cap dap: unknown hash '%s'", optarg);
			break;
		default:
			return cli_bad_option(ctx, "cap dap", ch, argv);
		}
	}
	if (argc - optind != 1 || sd_len == 0 || (pem != NULL) + (aes != NULL) + (des != NULL) != 1)
		return cli_usage(ctx, "cap dap: needs FILE.cap, --sd and one of --key, --aes-key, "
		    "--des-key (see 'postcard cap dap --help')");
	if ((err = cli_dap_key(pem, aes, des, &k, &pk, &keys, &bits)) != PCARD_OK) {
		rc = cli_fail(ctx, err, "cap dap: key");
		goto out;
	}
	if ((err = pcard_lfdb_min_hash(k.alg, bits, &min)) != PCARD_OK) {
		rc = cli_fail(ctx, PCARD_E_KEY, "cap dap: %u-bit %s key", bits,
		    pcard_dap_alg_name(k.alg));
		goto out;
	}
	if (hash == PCARD_HASH_NONE)
		hash = min;
	if ((err = pcard_lfdb_hash_check(hash, min)) != PCARD_OK) {
		rc = cli_fail(ctx, err, "cap dap: %s is weaker than the %s this key needs",
		    pcard_hash_name(hash), pcard_hash_name(min));
		goto out;
	}
	if ((err = pcard_cap_open_file(argv[optind], &c)) != PCARD_OK) {
		rc = cli_fail(ctx, err, "%s", argv[optind]);
		goto out;
	}
	if ((err = pcard_cap_lfdb_hash(c, 0, hash, h, sizeof h, &hl)) != PCARD_OK ||
	    (err = pcard_dap_block_make(&k, sd, sd_len, h, hl, blk, sizeof blk, &bl)) !=
	    PCARD_OK) {
		rc = cli_fail(ctx, err, "cap dap: %s", argv[optind]);
		goto out;
	}
	if ((s1 = cli_hex(h, hl)) == NULL || (s2 = cli_hex(blk, bl)) == NULL) {
		rc = cli_fail(ctx, PCARD_E_NOMEM, "cap dap");
		goto out;
	}
	if (ctx->json)
		cli_json_print(json_pack("{s:s,s:o,s:s,s:s,s:s,s:s}", "file", argv[optind],
		    "sd_aid", cli_json_hex(sd, sd_len), "alg", pcard_dap_alg_name(k.alg),
		    "lfdb_hash_alg", pcard_hash_name(hash), "lfdb_hash", s1, "dap_block", s2));
	else
		printf("%s\n", s2);
	rc = PCARD_EXIT_OK;
out:
	free(s1);
	free(s2);
	pcard_cap_free(c);
	pcard_pkey_free(pk);
	pcard_keys_free(keys);
	return rc;
}

int
cmd_cap(cli_ctx *ctx, int argc, char **argv)
{
	if (argc < 2)
		return cli_usage(ctx, "cap: missing subcommand (see 'postcard help cap')");
	if (cli_is_help(argv[1]) || strcmp(argv[1], "help") == 0) {
		fputs(cap_help, stdout);
		return PCARD_EXIT_OK;
	}
	if (strcmp(argv[1], "info") == 0)
		return cap_info(ctx, argc - 1, argv + 1);
	if (strcmp(argv[1], "build") == 0)
		return cap_build(ctx, argc - 1, argv + 1);
	if (strcmp(argv[1], "dap") == 0)
		return cap_dap(ctx, argc - 1, argv + 1);
	return cli_usage(ctx, "cap: unknown subcommand '%s' (see 'postcard help cap')", argv[1]);
}
