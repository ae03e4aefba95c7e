/* cmd_info.c: `postcard readers`, `postcard info`, `postcard list`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_card.h"
#include "postcard/bytes.h"
#include "postcard/gp.h"

static const char readers_help[] =
    "usage: postcard readers [--json]\n"
    "\n"
    "List the PC/SC readers and whether each holds a card. The index shown is what\n"
    "-r/--reader N takes.\n"
    "\n"
    "JSON fields: readers[{index, name, card_present}].\n"
    "\n"
    "Examples:\n"
    "  postcard readers\n"
    "  postcard --json readers\n";

int
cmd_readers(cli_ctx *ctx, int argc, char **argv)
{
	pcard_reader_info r[16];
	size_t n = 0;
	pcard_err err;

	if (argc > 1 && cli_is_help(argv[1])) {
		fputs(readers_help, stdout);
		return PCARD_EXIT_OK;
	}
	if (argc > 1)
		return cli_usage(ctx, "readers: unexpected argument '%s'", argv[1]);
	err = pcard_pcsc_list_readers(r, 16, &n);
	if (err == PCARD_E_NO_READER)
		n = 0;
	else if (err != PCARD_OK)
		return cli_fail(ctx, err, "listing readers");
	if (n > 16)
		n = 16;
	if (ctx->json) {
		json_t *a = json_array();

		for (size_t k = 0; k < n; k++)
			json_array_append_new(a, json_pack("{s:i,s:s,s:b}", "index", (int)k, "name",
			    r[k].name, "card_present", r[k].card_present));
		return cli_json_print(json_pack("{s:o}", "readers", a)) == 0 ? 0 : 1;
	}
	if (n == 0)
		cli_info(ctx, "no PC/SC reader\n");
	for (size_t k = 0; k < n; k++)
		printf("%zu: %s%s\n", k, r[k].name, r[k].card_present ? "" : " (no card)");
	return PCARD_EXIT_OK;
}

/* ---- info ---- */

static const char info_help[] =
    "usage: postcard info [connection options] [--json]\n"
    "\n"
    "Select the issuer security domain and print what the card tells without\n"
    "authentication: the SD's AID, whether the card is locked, CPLC, IIN, CIN, key\n"
    "diversification data (KDD), sequence counter, card recognition data (GP version, SCP\n"
    "and i), card capabilities and the key information template. GET DATA is tried with\n"
    "CLA 80 and then 00.\n"
    "\n"
    "JSON fields: sd, card_locked, max_cmd_len, cplc{field: hex}, iin, cin, kdd,\n"
    "sequence_counter, card_recognition{gp, gp_version, scp, i, javacard, oids[]},\n"
    "capabilities{scp[{scp, i[]}], lfdb_hash_algs[]}, keys[{kvn, id, components[{type,\n"
    "length}]}] (absent objects are null).\n"
    "\n"
    "Examples:\n"
    "  postcard info\n"
    "  postcard --json info --tcp 127.0.0.1:35999\n";

static json_t *
hex_or_null(const uint8_t *p, size_t n)
{
	return n > 0 ? cli_json_hex(p, n) : json_null();
}

static char *
hexb(uint8_t v, char s[3])
{
	snprintf(s, 3, "%02X", v);
	return s;
}

static json_t *
cplc_json(const pcard_gpc_info *in)
{
	size_t nf = 0;
	const pcard_gp_cplc_field *f = pcard_gp_cplc_fields(&nf);
	json_t *o;

	if (!in->has_cplc)
		return json_null();
	o = json_object();
	for (size_t k = 0; k < nf; k++)
		json_object_set_new(o, f[k].name, cli_json_hex(in->cplc.raw + f[k].off, f[k].len));
	return o;
}

static json_t *
crd_json(const pcard_gpc_info *in)
{
	json_t *o, *oids;
	char b[3];

	if (!in->has_crd)
		return json_null();
	oids = json_array();
	for (size_t k = 0; k < in->crd.n_oids && k < PCARD_GP_CRD_MAX; k++)
		json_array_append_new(oids, json_string(in->crd.oids[k].oid));
	o = json_pack("{s:b,s:s,s:s,s:o}", "gp", in->crd.is_gp, "gp_version", in->crd.gp_version,
	    "javacard", in->crd.javacard, "oids", oids);
	json_object_set_new(o, "scp", in->crd.has_scp ? json_string(hexb(in->crd.scp, b)) :
	    json_null());
	json_object_set_new(o, "i", in->crd.has_scp ? json_string(hexb(in->crd.scp_i, b)) :
	    json_null());
	return o;
}

static json_t *
caps_json(const pcard_gpc_info *in)
{
	json_t *scps, *lf;
	char b[3];

	if (!in->has_caps)
		return json_null();
	scps = json_array();
	for (size_t k = 0; k < in->caps.n_scp && k < PCARD_GP_CAPS_MAX_SCP; k++) {
		json_t *is = json_array();

		for (size_t j = 0; j < in->caps.scp[k].n_i && j < 8; j++)
			json_array_append_new(is, json_string(hexb(in->caps.scp[k].i[j], b)));
		json_array_append_new(scps, json_pack("{s:s,s:o}", "scp",
		    hexb(in->caps.scp[k].scp, b), "i", is));
	}
	lf = json_array();
	for (size_t k = 0; k < in->caps.n_lfdbh && k < 8; k++)
		json_array_append_new(lf, json_string(hexb(in->caps.lfdbh[k], b)));
	return json_pack("{s:o,s:o}", "scp", scps, "lfdb_hash_algs", lf);
}

static json_t *
keys_json(const pcard_gpc_info *in)
{
	json_t *a = json_array();
	char b[3];

	for (size_t k = 0; k < in->n_keys && k < PCARD_GPC_MAX_KEYINFO; k++) {
		json_t *comps = json_array();
		char t[5];

		for (size_t j = 0; j < in->keys[k].n_comp; j++) {
			snprintf(t, sizeof t, "%02X", in->keys[k].comp[j].type);
			json_array_append_new(comps, json_pack("{s:s,s:i}", "type", t, "length",
			    (int)in->keys[k].comp[j].len));
		}
		json_array_append_new(a, json_pack("{s:s,s:i,s:o}", "kvn", hexb(in->keys[k].kvn, b),
		    "id", (int)in->keys[k].id, "components", comps));
	}
	return a;
}

static void
info_text(const cli_card *cc, const pcard_gpc_info *in)
{
	char *s;

	s = cli_hex(cc->sel.aid.b, cc->sel.aid.len);
	printf("Security domain: %s%s\n", s != NULL ? s : "", cc->sel.card_locked ?
	    " (card LOCKED)" : "");
	free(s);
	if (in->has_cplc) {
		size_t nf = 0;
		const pcard_gp_cplc_field *f = pcard_gp_cplc_fields(&nf);

		printf("CPLC:\n");
		for (size_t k = 0; k < nf; k++) {
			s = cli_hex(in->cplc.raw + f[k].off, f[k].len);
			printf("  %-34s %s\n", f[k].name, s != NULL ? s : "");
			free(s);
		}
	}
#define ID(label, p, n) do { if ((n) > 0) { s = cli_hex(p, n); \
	printf("%-17s%s\n", label, s != NULL ? s : ""); free(s); } } while (0)
	ID("IIN:", in->iin, in->iin_len);
	ID("CIN:", in->cin, in->cin_len);
	ID("KDD:", in->kdd, in->kdd_len);
	ID("Seq. counter:", in->ssc, in->ssc_len);
#undef ID
	if (in->has_crd)
		printf("Card recognition: GP %s%s, SCP%02X i=%02X%s%s\n", in->crd.gp_version,
		    in->crd.is_gp ? "" : " (not GP)", in->crd.scp, in->crd.scp_i,
		    in->crd.javacard[0] ? ", Java Card " : "", in->crd.javacard);
	for (size_t k = 0; in->has_caps && k < in->caps.n_scp && k < PCARD_GP_CAPS_MAX_SCP; k++) {
		printf("Supports SCP%02X with i =", in->caps.scp[k].scp);
		for (size_t j = 0; j < in->caps.scp[k].n_i && j < 8; j++)
			printf(" %02X", in->caps.scp[k].i[j]);
		printf("\n");
	}
	for (size_t k = 0; k < in->n_keys && k < PCARD_GPC_MAX_KEYINFO; k++) {
		printf("Key KVN %02X id %02X:", in->keys[k].kvn, in->keys[k].id);
		for (size_t j = 0; j < in->keys[k].n_comp; j++)
			printf(" type %02X (%u bytes)", in->keys[k].comp[j].type,
			    in->keys[k].comp[j].len);
		printf("\n");
	}
}

int
cmd_info(cli_ctx *ctx, int argc, char **argv)
{
	cli_card cc;
	pcard_gpc_info in;
	int rc = 0;
	pcard_err err;

	cli_card_init(&cc);
	if (!cli_card_parse(ctx, &cc, argc, argv, info_help, NULL, NULL, NULL, NULL, &rc))
		goto out;
	if (optind != argc) {
		rc = cli_usage(ctx, "info: unexpected argument '%s'", argv[optind]);
		goto out;
	}
	if ((rc = cli_card_connect(ctx, &cc)) != 0)
		goto out;
	if ((err = pcard_gpc_info_read(&cc.g, &in)) != PCARD_OK) {
		rc = cli_card_fail(ctx, &cc, err, "reading card data");
		goto out;
	}
	if (ctx->json) {
		json_t *o = cli_card_json(&cc);

		json_object_set_new(o, "max_cmd_len", json_integer((json_int_t)cc.sel.fci.max_cmd_len));
		json_object_set_new(o, "cplc", cplc_json(&in));
		json_object_set_new(o, "iin", hex_or_null(in.iin, in.iin_len));
		json_object_set_new(o, "cin", hex_or_null(in.cin, in.cin_len));
		json_object_set_new(o, "kdd", hex_or_null(in.kdd, in.kdd_len));
		json_object_set_new(o, "sequence_counter", hex_or_null(in.ssc, in.ssc_len));
		json_object_set_new(o, "card_recognition", crd_json(&in));
		json_object_set_new(o, "capabilities", caps_json(&in));
		json_object_set_new(o, "keys", keys_json(&in));
		cli_json_print(o);
	} else {
		info_text(&cc, &in);
	}
	rc = 0;
out:
	cli_card_free(&cc);
	return rc;
}

/* ---- list ---- */

static const char list_help[] =
    "usage: postcard list [connection and key options] [--json]\n"
    "\n"
    "Open a secure channel and list the registry: the ISD (GET STATUS P1 80), applications\n"
    "and security domains (40), load files with their modules (10, or 20 when the card\n"
    "refuses 10). The tag format is asked first, the legacy format when the card answers\n"
    "6A86; 6310 (more data) is followed.\n"
    "\n"
    "JSON fields: sd, card_locked, channel{scp, i, level, kvn, s16, kdf},\n"
    "entries[{kind: isd|app|sd|elf, aid, lifecycle, lifecycle_name, privileges,\n"
    "privilege_names[], elf, associated_sd, version, modules[]}] (absent values null).\n"
    "\n"
    "Examples:\n"
    "  postcard list\n"
    "  postcard list --key-file keys.hex --kdf emv --json\n";

static const char *
kind_name(const pcard_gpc_entry *e)
{
	switch (e->kind) {
	case PCARD_GS_ISD:
		return "isd";
	case PCARD_GS_APPS:
		return (e->e.has_privs && (e->e.privs & PCARD_PRIV_SECURITY_DOMAIN)) ? "sd" : "app";
	default:
		return "elf";
	}
}

static int
lc_kind(const pcard_gpc_entry *e)
{
	if (e->kind == PCARD_GS_ISD)
		return PCARD_GP_KIND_CARD;
	if (e->kind == PCARD_GS_APPS)
		return strcmp(kind_name(e), "sd") == 0 ? PCARD_GP_KIND_SD : PCARD_GP_KIND_APP;
	return PCARD_GP_KIND_ELF;
}

static json_t *
entry_json(const pcard_gpc_entry *e)
{
	json_t *o = json_object(), *mods = json_array(), *names = json_array();
	const char *pn[32];
	size_t np = 0;
	char b[8];

	json_object_set_new(o, "kind", json_string(kind_name(e)));
	json_object_set_new(o, "aid", cli_json_hex(e->e.aid.b, e->e.aid.len));
	snprintf(b, sizeof b, "%02X", e->e.lifecycle);
	json_object_set_new(o, "lifecycle", json_string(b));
	json_object_set_new(o, "lifecycle_name", json_string(pcard_lifecycle_name(lc_kind(e),
	    e->e.lifecycle)));
	snprintf(b, sizeof b, "%06X", (unsigned)e->e.privs);
	json_object_set_new(o, "privileges", e->e.has_privs ? json_string(b) : json_null());
	pcard_privs_names(e->e.privs, pn, 32, &np, NULL);
	for (size_t k = 0; e->e.has_privs && k < np && k < 32; k++)
		json_array_append_new(names, json_string(pn[k]));
	json_object_set_new(o, "privilege_names", names);
	json_object_set_new(o, "elf", e->e.has_elf ? cli_json_hex(e->e.elf.b, e->e.elf.len) :
	    json_null());
	json_object_set_new(o, "associated_sd", e->e.has_sd ? cli_json_hex(e->e.sd.b,
	    e->e.sd.len) : json_null());
	if (e->e.version_len == 2) {
		snprintf(b, sizeof b, "%u.%u", e->e.version[0], e->e.version[1]);
		json_object_set_new(o, "version", json_string(b));
	} else {
		json_object_set_new(o, "version", json_null());
	}
	for (size_t k = 0; k < e->e.n_modules && k < PCARD_GS_MAX_MODULES; k++)
		json_array_append_new(mods, cli_json_hex(e->e.modules[k].b, e->e.modules[k].len));
	json_object_set_new(o, "modules", mods);
	return o;
}

static void
entry_text(const pcard_gpc_entry *e)
{
	char aid[33], privs[256];

	pcard_gp_aid_to_hex(&e->e.aid, aid, sizeof aid);
	if (pcard_privs_to_string(e->e.privs, privs, sizeof privs) != PCARD_OK)
		privs[0] = '\0';
	printf("%-4s %-32s %-12s", kind_name(e), aid, pcard_lifecycle_name(lc_kind(e),
	    e->e.lifecycle));
	if (e->e.version_len == 2)
		printf(" v%u.%u", e->e.version[0], e->e.version[1]);
	if (e->e.has_privs && e->e.privs != 0)
		printf(" %s", privs);
	printf("\n");
	for (size_t k = 0; k < e->e.n_modules && k < PCARD_GS_MAX_MODULES; k++) {
		pcard_gp_aid_to_hex(&e->e.modules[k], aid, sizeof aid);
		printf("       module %s\n", aid);
	}
}

int
cmd_list(cli_ctx *ctx, int argc, char **argv)
{
	cli_card cc;
	pcard_gpc_entry *e = NULL;
	size_t n = 0, cap = 512;
	int rc = 0;
	pcard_err err;

	cli_card_init(&cc);
	if (!cli_card_parse(ctx, &cc, argc, argv, list_help, NULL, NULL, NULL, NULL, &rc))
		goto out;
	if (optind != argc) {
		rc = cli_usage(ctx, "list: unexpected argument '%s'", argv[optind]);
		goto out;
	}
	if ((rc = cli_card_connect(ctx, &cc)) != 0 || (rc = cli_card_auth(ctx, &cc)) != 0)
		goto out;
	if ((e = calloc(cap, sizeof *e)) == NULL) {
		rc = cli_fail(ctx, PCARD_E_NOMEM, "list");
		goto out;
	}
	if ((err = pcard_gpc_list(&cc.g, e, cap, &n)) != PCARD_OK) {
		rc = cli_card_fail(ctx, &cc, err, "listing the registry");
		goto out;
	}
	if (ctx->json) {
		json_t *o = cli_card_json(&cc), *a = json_array();

		for (size_t k = 0; k < n; k++)
			json_array_append_new(a, entry_json(&e[k]));
		json_object_set_new(o, "entries", a);
		cli_json_print(o);
	} else {
		for (size_t k = 0; k < n; k++)
			entry_text(&e[k]);
	}
	rc = 0;
out:
	free(e);
	cli_card_free(&cc);
	return rc;
}
