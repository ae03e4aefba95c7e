/*
 * applets.c: the table of native applets compiled into postcard-sim (applet.h), and the
 * generic applet that every package without a native binding runs.
 *
 * To add an applet: declare its ops below and list it in pcard_applets[] (keep the NULL
 * terminator last). Package AIDs must be unique; test_card_applets checks that.
 */
#include <string.h>

#include "applet.h"
#include "natives.h"

static uint16_t
generic_select(pcard_applet_env *env, uint8_t *out, size_t out_cap, size_t *out_len)
{
	(void)env;
	(void)out;
	(void)out_cap;
	*out_len = 0;
	return 0x9000;
}

static uint16_t
generic_process(pcard_applet_env *env, const pcard_apdu *cmd, uint8_t *out, size_t out_cap,
    size_t *out_len)
{
	(void)env;
	(void)cmd;
	(void)out;
	(void)out_cap;
	*out_len = 0;
	return 0x6D00;
}

const pcard_applet_ops pcard_applet_generic = {
	.name = "generic",
	.select = generic_select,
	.process = generic_process,
};

/* Native applets: add `extern const pcard_applet_ops pcard_applet_<name>;` (postcard-sim's own
 * are declared in natives.h) and an entry. */

const pcard_applet_ops *const pcard_applets[] = {
	&pcard_applet_datastore,
	&pcard_applet_purse,
	&pcard_applet_hotp,
	NULL,
};

const pcard_applet_ops *
pcard_applet_find(const uint8_t *package, size_t package_len)
{
	if (package == NULL || package_len == 0)
		return &pcard_applet_generic;
	for (size_t i = 0; pcard_applets[i] != NULL; i++) {
		const pcard_applet_ops *a = pcard_applets[i];

		if (a->package_len == package_len && memcmp(a->package, package, package_len) == 0)
			return a;
	}
	return &pcard_applet_generic;
}
