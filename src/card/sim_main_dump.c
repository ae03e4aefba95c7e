/*
 * sim_main_dump.c: `postcard-sim dump CARD-FILE [--json]`: the card file read directly
 * (cardfile.h) and shown through pcard_cardstate_json (docs/card-file.md, "JSON dump"), with
 * two additions for applications: "applet" (the native applet the instance runs, or
 * "generic") and, for the hotp and purse applets, the secret at the end of their data hidden:
 * "data" holds only the public part and "data_redacted" the number of bytes left out
 * (natives.h, pcard_native_json_redact). "data_sha256" stays the digest of the whole blob, so
 * a change is still visible. Key values never appear: key sets show KCVs.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "applet.h"
#include "cardfile.h"
#include "cardstate.h"
#include "natives.h"
#include "postcard/bytes.h"
#include "sim_main_int.h"

#define CMD "dump"

static void
help(void)
{
	printf(
	    "usage: " SIM_PROG " dump CARD-FILE [--json]\n"
	    "\n"
	    "Print the state held in CARD-FILE without running the card: identity, life cycle,\n"
	    "memory, the ISD and every security domain with their key sets (KCVs, never key\n"
	    "values), sequence and failed-authentication counters, load files, applications\n"
	    "with privileges, life cycles and applet data. The secrets of the hotp and purse\n"
	    "applets are shown as '<n bytes redacted>'.\n"
	    "\n"
	    "  --json   one JSON object (the format of docs/card-file.md plus \"applet\" and\n"
	    "           \"data_redacted\"), keys sorted, for scripts and tests\n"
	    "\n"
	    "Exit 3 (one line on stderr) when CARD-FILE is missing or corrupt, 7 when it cannot\n"
	    "be read.\n"
	    "\n"
	    "Examples:\n"
	    "  " SIM_PROG " dump card.pcsim\n"
	    "  " SIM_PROG " dump card.pcsim --json | jq '.isd.sd.key_sets[0].keys[].kcv'\n");
}

static const char *
s(json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));

	return v != NULL ? v : "-";
}

static long long
n(json_t *o, const char *k)
{
	return (long long)json_integer_value(json_object_get(o, k));
}

static void
print_sd(json_t *sd)
{
	size_t i, j;
	json_t *ks, *k;

	printf("    SCP%s i=%s, minimum security level %s\n", s(sd, "scp"), s(sd, "i"),
	    s(sd, "min_security_level"));
	json_array_foreach(json_object_get(sd, "key_sets"), i, ks) {
		printf("    key set %s: sequence counter %lld, failed authentications %lld/%lld%s\n",
		    s(ks, "kvn"), n(ks, "sequence_counter"), n(ks, "failed_authentications"),
		    n(ks, "failure_limit"), json_is_true(json_object_get(ks, "blocked")) ?
		    ", BLOCKED" : "");
		json_array_foreach(json_object_get(ks, "keys"), j, k) {
			json_t *kcv = json_object_get(k, "kcv");

			printf("      key %s %-10s %3lld bytes  %s %s\n", s(k, "id"), s(k, "type"),
			    n(k, "length"), kcv != NULL ? "KCV" : "fingerprint",
			    kcv != NULL ? s(k, "kcv") : s(k, "fingerprint"));
		}
	}
}

static void
print_app(json_t *a, int isd)
{
	json_t *sd = json_object_get(a, "sd");
	json_t *red = json_object_get(a, "data_redacted");

	if (isd)
		printf("ISD %s  privileges %s\n", s(a, "aid"), s(a, "privileges"));
	else
		printf("  %s  %s (%s)  privileges %s\n", s(a, "aid"), s(a, "life_cycle_name"),
		    s(a, "life_cycle"), s(a, "privileges"));
	if (!isd) {
		printf("    from %s module %s, security domain %s\n", s(a, "load_file"),
		    s(a, "module"), s(a, "security_domain"));
		if (sd == NULL)
			printf("    applet %s\n", s(a, "applet"));
	}
	if (sd != NULL)
		print_sd(sd);
	if (json_integer_value(json_object_get(a, "non_volatile_used")) > 0 ||
	    json_string_length(json_object_get(a, "data")) > 0 || red != NULL) {
		printf("    data version %lld: %s", n(a, "data_version"), s(a, "data"));
		if (red != NULL)
			printf(" <%lld bytes redacted>", (long long)json_integer_value(red));
		printf("\n");
	}
}

static void
print_human(const char *path, json_t *j)
{
	json_t *id = json_object_get(j, "identity"), *mem = json_object_get(j, "memory");
	json_t *cfg = json_object_get(j, "config"), *e, *a;
	size_t i;

	printf("card file   %s\n", path);
	printf("ATR         %s\n", s(id, "atr"));
	printf("IIN / CIN   %s / %s   KDD %s\n", s(id, "iin"), s(id, "cin"), s(id, "kdd"));
	printf("CPLC        %s\n", s(id, "cplc"));
	printf("life cycle  %s (%s)\n", s(j, "life_cycle_name"), s(j, "life_cycle"));
	printf("memory      %lld of %lld bytes used\n", n(mem, "used"), n(mem, "size"));
	printf("config      failure limit %lld, max command data %lld, PUT KEY replaces FF: %s\n",
	    n(cfg, "failure_limit"), n(cfg, "max_command_length"),
	    json_is_true(json_object_get(cfg, "put_key_replaces_ff")) ? "yes" : "no");
	printf("receipts    confirmation counter %lld\n", n(j, "receipt_counter"));
	print_app(json_object_get(j, "isd"), 1);
	printf("load files\n");
	json_array_foreach(json_object_get(j, "load_files"), i, e) {
		json_t *m;
		size_t k;

		printf("  %-32s %-4s %s, security domain %s\n", s(e, "aid"), s(e, "version"),
		    json_is_true(json_object_get(e, "rom")) ? "ROM" : "loaded",
		    s(e, "security_domain"));
		json_array_foreach(json_object_get(e, "modules"), k, m)
			printf("    module %s\n", json_string_value(m));
	}
	printf("applications\n");
	if (json_array_size(json_object_get(j, "applications")) == 0)
		printf("  (none)\n");
	json_array_foreach(json_object_get(j, "applications"), i, a)
		print_app(a, 0);
}

int
sim_cmd_dump(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	pcard_cardstate cs;
	json_t *j = NULL;
	const char *path;
	int c, as_json = 0, rc;
	pcard_err err;

	sim_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			help();
			return 0;
		case 'j':
			as_json = 1;
			break;
		default:
			return sim_bad_option(CMD, c, argv);
		}
	}
	if (optind != argc - 1)
		return sim_usage(CMD, optind >= argc ? "CARD-FILE missing" : "too many arguments");
	path = argv[optind];
	pcard_cardstate_init(&cs);
	if ((err = pcard_cardfile_load(path, &cs)) != PCARD_OK) {
		rc = sim_fail(err, "read card file %s", path);
		goto out;
	}
	if ((err = pcard_cardstate_json(&cs, &j)) != PCARD_OK ||
	    (err = pcard_native_json_redact(&cs, j)) != PCARD_OK) {
		rc = sim_fail(err, "dump %s", path);
		goto out;
	}
	if (as_json) {
		if (json_dumpf(j, stdout, JSON_SORT_KEYS | JSON_INDENT(2)) != 0) {
			rc = sim_fail(PCARD_E_IO, "write JSON");
			goto out;
		}
		putchar('\n');
	} else {
		print_human(path, j);
	}
	rc = fflush(stdout) == 0 ? 0 : sim_fail(PCARD_E_IO, "write to standard output");
out:
	json_decref(j);
	pcard_cardstate_clear(&cs);
	return rc;
}
