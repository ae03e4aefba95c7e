/*
 * sim_main_cap.c: `postcard-sim cap NAME -o FILE` writes a loadable CAP file for a native
 * applet (capbuild.h: its package AID and version, its applet AIDs, imports of java.lang 1.0
 * and javacard.framework 1.3); `postcard-sim applets` lists the native applets.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "applet.h"
#include "natives.h"
#include "postcard/bytes.h"
#include "postcard/capbuild.h"
#include "sim_main_int.h"

static void
cap_help(void)
{
	printf(
	    "usage: " SIM_PROG " cap NAME -o FILE.cap\n"
	    "\n"
	    "Write the CAP file of the native applet NAME (see '" SIM_PROG " applets'). Loading\n"
	    "it onto a postcard-sim card binds its package to the applet's C code; the CAP's\n"
	    "bytecode is a placeholder and never runs. The CAP imports java.lang 1.0 and\n"
	    "javacard.framework 1.3, which every postcard-sim card holds in ROM.\n"
	    "\n"
	    "  -o, --output FILE   where to write the CAP (replaced if it exists)\n"
	    "\n"
	    "Examples:\n"
	    "  " SIM_PROG " cap datastore -o datastore.cap\n"
	    "  " SIM_PROG " cap hotp -o hotp.cap && postcard cap info hotp.cap\n");
}

static void
applets_help(void)
{
	printf(
	    "usage: " SIM_PROG " applets [--json]\n"
	    "\n"
	    "List the native applets compiled into postcard-sim: name, package AID and version,\n"
	    "applet (module) AIDs. A package that no native applet names still loads and\n"
	    "installs; its instances answer SELECT with 9000 and every other command with 6D00.\n"
	    "\n"
	    "Examples:\n"
	    "  " SIM_PROG " applets\n"
	    "  " SIM_PROG " applets --json | jq -r '.applets[].package'\n");
}

static void
hex(const uint8_t *p, size_t n, char *out, size_t cap)
{
	if (pcard_hex_encode(p, n, out, cap) != PCARD_OK && cap > 0)
		out[0] = '\0';
}

int
sim_cmd_cap(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	pcard_capbuild_params p;
	pcard_cap_aid mods[PCARD_CS_MAX_MODULES];
	const pcard_applet_ops *a;
	const char *out = NULL;
	char path[64];
	int c;
	pcard_err err;

	sim_getopt_reset();
	while ((c = getopt_long(argc, argv, ":ho:", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			cap_help();
			return 0;
		case 'o':
			out = optarg;
			break;
		default:
			return sim_bad_option("cap", c, argv);
		}
	}
	if (optind != argc - 1)
		return sim_usage("cap", optind >= argc ? "NAME missing" : "too many arguments");
	if (out == NULL)
		return sim_usage("cap", "-o FILE missing");
	if ((a = pcard_native_find(argv[optind])) == NULL)
		return sim_usage("cap", "no native applet '%s' (see '" SIM_PROG " applets')",
		    argv[optind]);
	if (pcard_native_cap_params(a, mods, PCARD_CS_MAX_MODULES, &p) != PCARD_OK)
		return sim_fail(PCARD_E_INTERNAL, "applet %s", a->name);
	snprintf(path, sizeof path, "postcard/%s", a->name);
	p.package_path = path;
	if ((err = pcard_capbuild_file(&p, out)) != PCARD_OK)
		return sim_fail(err, "write %s", out);
	return 0;
}

int
sim_cmd_applets(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char h[2 * PCARD_AID_MAX + 1], ver[8];
	json_t *root = NULL, *arr = NULL;
	int c, as_json = 0;

	sim_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			applets_help();
			return 0;
		case 'j':
			as_json = 1;
			break;
		default:
			return sim_bad_option("applets", c, argv);
		}
	}
	if (optind != argc)
		return sim_usage("applets", "too many arguments");
	if (as_json && ((root = json_object()) == NULL || (arr = json_array()) == NULL ||
	    json_object_set_new(root, "applets", arr) != 0)) {
		json_decref(root);
		return sim_fail(PCARD_E_NOMEM, "list");
	}
	for (size_t i = 0; pcard_applets[i] != NULL; i++) {
		const pcard_applet_ops *a = pcard_applets[i];
		json_t *o = NULL, *mods = NULL;

		snprintf(ver, sizeof ver, "%u.%u", a->pkg_major, a->pkg_minor);
		hex(a->package, a->package_len, h, sizeof h);
		if (!as_json) {
			printf("%-10s package %s %s  applet", a->name, h, ver);
			for (size_t k = 0; k < a->nmodules; k++) {
				hex(a->modules[k].b, a->modules[k].len, h, sizeof h);
				printf(" %s", h);
			}
			printf("\n");
			continue;
		}
		if ((o = json_object()) == NULL || (mods = json_array()) == NULL ||
		    json_array_append_new(arr, o) != 0) {
			json_decref(o);
			json_decref(mods);
			json_decref(root);
			return sim_fail(PCARD_E_NOMEM, "list");
		}
		json_object_set_new(o, "name", json_string(a->name));
		json_object_set_new(o, "package", json_string(h));
		json_object_set_new(o, "version", json_string(ver));
		for (size_t k = 0; k < a->nmodules; k++) {
			hex(a->modules[k].b, a->modules[k].len, h, sizeof h);
			json_array_append_new(mods, json_string(h));
		}
		json_object_set_new(o, "applets", mods);
	}
	if (as_json) {
		json_dumpf(root, stdout, JSON_SORT_KEYS | JSON_INDENT(2));
		putchar('\n');
		json_decref(root);
	}
	return fflush(stdout) == 0 ? 0 : sim_fail(PCARD_E_IO, "write to standard output");
}
