/*
 * test_card_lc.c: the life-cycle / status-word table of docs/card-behaviour.md ("Life cycles:
 * card state x target x command"). The table is held here as a C array; one test parses the
 * doc's table and compares it with the array row by row, the other drives every cell against
 * the card (in-process, pcard_card_open_state) and checks the SW, and that a refused command,
 * and anything in TERMINATED, leaves the card state unchanged apart from counters.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "card_fixture.h"

enum { ST_OP_READY, ST_INITIALIZED, ST_SECURED, ST_LOCKED, ST_TERMINATED, ST__N };

static const uint8_t state_lc[ST__N] = {
	PCARD_CARD_OP_READY, PCARD_CARD_INITIALIZED, PCARD_CARD_SECURED, PCARD_CARD_LOCKED,
	PCARD_CARD_TERMINATED,
};
static const char *const state_names[ST__N] = {
	"OP_READY", "INITIALIZED", "SECURED", "CARD_LOCKED", "TERMINATED",
};

typedef enum lc_action {
	A_SEL_ISD, A_SEL_SSD, A_SEL_APP, A_SEL_FINAL, A_SEL_LOCKED, A_FINAL_CMD, A_GET_DATA,
	A_INIT_UPDATE, A_GET_STATUS, A_INST_LOAD, A_LOAD, A_INST_INSTALL, A_INST_SELECTABLE,
	A_INST_EXTRADITE, A_INST_REGISTRY, A_INST_PERSO, A_DELETE, A_PUT_KEY, A_STORE_DATA,
	A_SS_INITIALIZED, A_SS_SECURED, A_SS_LOCKED, A_SS_TERMINATED, A_SS_OTHER, A_SS_APP_LOCK,
	A_SS_APP_UNLOCK, A_SS_SSD_LOCK,
} lc_action;

typedef struct lc_row {
	const char *target, *command;
	uint16_t sw[ST__N];
	lc_action action;
} lc_row;

/* The table of docs/card-behaviour.md, in its order. */
static const lc_row lc_table[] = {
	{ "ISD", "SELECT", { 0x9000, 0x9000, 0x9000, 0x6283, 0x6283 }, A_SEL_ISD },
	{ "SSD", "SELECT", { 0x9000, 0x9000, 0x9000, 0x6A82, 0x6A82 }, A_SEL_SSD },
	{ "application", "SELECT", { 0x9000, 0x9000, 0x9000, 0x6A82, 0x6A82 }, A_SEL_APP },
	{ "application with Final Application", "SELECT",
	    { 0x9000, 0x9000, 0x9000, 0x9000, 0x6A82 }, A_SEL_FINAL },
	{ "locked application", "SELECT", { 0x6A82, 0x6A82, 0x6A82, 0x6A82, 0x6A82 },
	    A_SEL_LOCKED },
	{ "application with Final Application",
	    "a command of the applet (INS 01 to the generic applet)",
	    { 0x6D00, 0x6D00, 0x6D00, 0x6D00, 0x6985 }, A_FINAL_CMD },
	{ "ISD", "GET DATA", { 0x9000, 0x9000, 0x9000, 0x9000, 0x9000 }, A_GET_DATA },
	{ "ISD", "INITIALIZE UPDATE", { 0x9000, 0x9000, 0x9000, 0x9000, 0x6985 }, A_INIT_UPDATE },
	{ "ISD", "GET STATUS", { 0x9000, 0x9000, 0x9000, 0x9000, 0x6985 }, A_GET_STATUS },
	{ "ISD", "INSTALL [for load]", { 0x9000, 0x9000, 0x9000, 0x6985, 0x6985 }, A_INST_LOAD },
	{ "ISD", "LOAD", { 0x9000, 0x9000, 0x9000, 0x6985, 0x6985 }, A_LOAD },
	{ "ISD", "INSTALL [for install and make selectable]",
	    { 0x9000, 0x9000, 0x9000, 0x6985, 0x6985 }, A_INST_INSTALL },
	{ "ISD", "INSTALL [for make selectable]", { 0x9000, 0x9000, 0x9000, 0x6985, 0x6985 },
	    A_INST_SELECTABLE },
	{ "ISD", "INSTALL [for extradition]", { 0x9000, 0x9000, 0x9000, 0x6985, 0x6985 },
	    A_INST_EXTRADITE },
	{ "ISD", "INSTALL [for registry update]", { 0x9000, 0x9000, 0x9000, 0x6985, 0x6985 },
	    A_INST_REGISTRY },
	{ "ISD", "INSTALL [for personalization]", { 0x9000, 0x9000, 0x9000, 0x6985, 0x6985 },
	    A_INST_PERSO },
	{ "ISD", "DELETE", { 0x9000, 0x9000, 0x9000, 0x6985, 0x6985 }, A_DELETE },
	{ "ISD", "PUT KEY", { 0x9000, 0x9000, 0x9000, 0x6985, 0x6985 }, A_PUT_KEY },
	{ "ISD", "STORE DATA", { 0x9000, 0x9000, 0x9000, 0x6985, 0x6985 }, A_STORE_DATA },
	{ "card", "SET STATUS 80 -> 07 INITIALIZED", { 0x9000, 0x6985, 0x6985, 0x6985, 0x6985 },
	    A_SS_INITIALIZED },
	{ "card", "SET STATUS 80 -> 0F SECURED", { 0x6985, 0x9000, 0x6985, 0x9000, 0x6985 },
	    A_SS_SECURED },
	{ "card", "SET STATUS 80 -> 7F CARD_LOCKED", { 0x6985, 0x6985, 0x9000, 0x6985, 0x6985 },
	    A_SS_LOCKED },
	{ "card", "SET STATUS 80 -> FF TERMINATED", { 0x9000, 0x9000, 0x9000, 0x9000, 0x6985 },
	    A_SS_TERMINATED },
	{ "card", "SET STATUS 80 -> any other value (03)",
	    { 0x6A80, 0x6A80, 0x6A80, 0x6A80, 0x6985 }, A_SS_OTHER },
	{ "application", "SET STATUS 40 lock", { 0x9000, 0x9000, 0x9000, 0x6985, 0x6985 },
	    A_SS_APP_LOCK },
	{ "locked application", "SET STATUS 40 unlock", { 0x9000, 0x9000, 0x9000, 0x6985, 0x6985 },
	    A_SS_APP_UNLOCK },
	{ "SSD", "SET STATUS 60 lock with its applications",
	    { 0x9000, 0x9000, 0x9000, 0x6985, 0x6985 }, A_SS_SSD_LOCK },
};
#define LC_ROWS (sizeof lc_table / sizeof lc_table[0])

/* ------------------------------------------------------------------------------------- */
/* The doc says the same */

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\n' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/* Split "| a | b | ... |" into at most cap cells; returns the count. */
static size_t
split_row(char *line, char **cells, size_t cap)
{
	size_t n = 0;
	char *p = strchr(line, '|'), *q;

	while (p != NULL && n < cap) {
		q = strchr(p + 1, '|');
		if (q == NULL)
			break;
		*q = '\0';
		cells[n++] = trim(p + 1);
		p = q;
	}
	return n;
}

static void
test_doc_table(void **state)
{
	const char *src = getenv("PCARD_SOURCE_DIR");
	char path[4096], line[1024], *cells[10];
	FILE *f;
	int in_section = 0, header = 0;
	size_t row = 0;

	(void)state;
	assert_non_null(src);
	snprintf(path, sizeof path, "%s/docs/card-behaviour.md", src);
	f = fopen(path, "r");
	if (f == NULL)
		fail_msg("cannot open %s", path);
	while (fgets(line, sizeof line, f) != NULL) {
		size_t n;

		if (strncmp(line, "## ", 3) == 0) {
			in_section = strncmp(line, "## Life cycles", 14) == 0;
			continue;
		}
		if (!in_section || line[0] != '|')
			continue;
		n = split_row(line, cells, 10);
		assert_int_equal(n, 2 + ST__N);
		if (strcmp(cells[0], "Target") == 0) {
			for (size_t s = 0; s < ST__N; s++)
				assert_string_equal(cells[2 + s], state_names[s]);
			header = 1;
			continue;
		}
		if (strncmp(cells[0], "---", 3) == 0)
			continue;
		if (row >= LC_ROWS)
			fail_msg("doc row %zu (%s | %s) is not in the C table", row, cells[0], cells[1]);
		assert_string_equal(cells[0], lc_table[row].target);
		assert_string_equal(cells[1], lc_table[row].command);
		for (size_t s = 0; s < ST__N; s++) {
			char want[8];

			snprintf(want, sizeof want, "%04X", lc_table[row].sw[s]);
			if (strcmp(cells[2 + s], want) != 0)
				fail_msg("%s | %s | %s: doc %s, C table %s", cells[0], cells[1],
				    state_names[s], cells[2 + s], want);
		}
		row++;
	}
	fclose(f);
	assert_true(header);
	assert_int_equal(row, LC_ROWS);
}

/* ------------------------------------------------------------------------------------- */
/* Every cell against the card */

static uint16_t
send_hex(ch_host *h, const char *hex)
{
	return fx_send_hex(h, hex);
}

static uint16_t
session(ch_host *h)
{
	uint16_t sw = ch_open(h, 0, 0x03, 0);

	h->open = sw == 0x9000;
	return sw;
}

static uint16_t
set_status(ch_host *h, uint8_t p1, uint8_t st, const char *aid_hex)
{
	uint8_t cmd[40];
	size_t nc;
	pcard_aid a;

	memset(&a, 0, sizeof a);
	if (aid_hex != NULL)
		a = fx_aid(aid_hex);
	if (pcard_gp_set_status_cmd(p1, st, a.b, a.len, cmd, sizeof cmd, &nc) != PCARD_OK)
		return 0;
	return fx_send(h, cmd, nc);
}

#define INST_04_NEW "80E60C001E06A0000000FF0107A0000000FF010208A0000000FF010104010002C90000"

static uint16_t
run_action(ch_host *h, lc_action a)
{
	switch (a) {
	case A_SEL_ISD:
		return fx_select(h, FX_ISD);
	case A_SEL_SSD:
		return fx_select(h, FX_SSD);
	case A_SEL_APP:
		return fx_select(h, FX_APP);
	case A_SEL_FINAL:
		return fx_select(h, FX_FINAL);
	case A_SEL_LOCKED:
		return fx_select(h, FX_LOCKED);
	case A_FINAL_CMD:
		(void)fx_select(h, FX_FINAL);
		return ch_hex(h, "0001000000");
	case A_GET_DATA:
		return ch_hex(h, "80CA004200");
	case A_INIT_UPDATE:
		return session(h);
	default:
		break;
	}
	(void)session(h);
	switch (a) {
	case A_GET_STATUS:
		return send_hex(h, "80F24002024F0000");
	case A_INST_LOAD:
		return send_hex(h, "80E602000C07A0000000FF02010000000000");
	case A_LOAD:
		return fx_load_cap(h, "cap/gppro-empty-2.2.1.cap", NULL);
	case A_INST_INSTALL:
		return send_hex(h, INST_04_NEW);
	case A_INST_SELECTABLE:
		(void)send_hex(h, "80E604001E06A0000000FF0107A0000000FF010208A0000000FF0101040100"
		    "02C90000");
		return send_hex(h, "80E608000F000008A0000000FF0101040100000000");
	case A_INST_EXTRADITE:
		return send_hex(h, "80E610001507A0000000FF53440008A0000000FF01010100000000");
	case A_INST_REGISTRY:
		return send_hex(h, "80E640000F000008A0000000FF0101010104000000");
	case A_INST_PERSO:
		return send_hex(h, "80E620000E000008A0000000FF01010100000000");
	case A_DELETE:
		return send_hex(h, "80E400000A4F08A0000000FF01010100");
	case A_PUT_KEY:
		return fx_put_key_aes(h, 0, 0x30, 0x5A);
	case A_STORE_DATA:
		return send_hex(h, "80E2800002AABB");
	case A_SS_INITIALIZED:
		return set_status(h, 0x80, 0x07, NULL);
	case A_SS_SECURED:
		return set_status(h, 0x80, 0x0F, NULL);
	case A_SS_LOCKED:
		return set_status(h, 0x80, 0x7F, NULL);
	case A_SS_TERMINATED:
		return set_status(h, 0x80, 0xFF, NULL);
	case A_SS_OTHER:
		return set_status(h, 0x80, 0x03, NULL);
	case A_SS_APP_LOCK:
		return set_status(h, 0x40, 0x80, FX_APP);
	case A_SS_APP_UNLOCK:
		return set_status(h, 0x40, 0x00, FX_LOCKED);
	case A_SS_SSD_LOCK:
		return set_status(h, 0x60, 0x80, FX_SSD);
	default:
		fail_msg("action %d", (int)a);
		return 0;
	}
}

/* The entry with this AID (it must exist). */
static pcard_card_app *
app_of(const pcard_cardstate *cs, const char *hex)
{
	pcard_aid x = fx_aid(hex);
	pcard_card_app *a = pcard_cardstate_app_find((pcard_cardstate *)cs, &x);

	assert_non_null(a);
	return a;
}

/* Whether a successful cell made the change it stands for (and only commands that change
 * persistent state changed it). */
static int
changed_as_expected(const pcard_cardstate *cs, const pcard_cardstate *before, lc_action a)
{
	pcard_aid x;
	pcard_aid ssd = fx_aid(FX_SSD);

	switch (a) {
	case A_LOAD:
		return cs->nelfs == before->nelfs + 1 && cs->nvm_used > before->nvm_used;
	case A_INST_INSTALL:
	case A_INST_SELECTABLE:
		return app_of(cs, FX_NEW)->life_cycle == PCARD_APP_SELECTABLE;
	case A_INST_EXTRADITE:
		return pcard_aid_eq(&app_of(cs, FX_APP)->sd, &ssd);
	case A_INST_REGISTRY:
		return app_of(cs, FX_APP)->priv[0] == PCARD_PRIV1_CARD_RESET &&
		    app_of(cs, FX_APP)->default_selected;
	case A_DELETE:
		x = fx_aid(FX_APP);
		return pcard_cardstate_app_find((pcard_cardstate *)cs, &x) == NULL;
	case A_PUT_KEY:
		return pcard_card_sd_keyset_find((pcard_card_app *)&cs->isd, 0x30) != NULL;
	case A_SS_INITIALIZED:
		return cs->life_cycle == PCARD_CARD_INITIALIZED;
	case A_SS_SECURED:
		return cs->life_cycle == PCARD_CARD_SECURED;
	case A_SS_LOCKED:
		return cs->life_cycle == PCARD_CARD_LOCKED;
	case A_SS_TERMINATED:
		return cs->life_cycle == PCARD_CARD_TERMINATED;
	case A_SS_APP_LOCK:
		return app_of(cs, FX_APP)->life_cycle == 0x87;
	case A_SS_APP_UNLOCK:
		return app_of(cs, FX_LOCKED)->life_cycle == 0x07;
	case A_SS_SSD_LOCK:
		return app_of(cs, FX_SSD)->life_cycle == 0x8F &&
		    app_of(cs, FX_SSD_APP)->life_cycle == 0x87;
	default:
		/* selection, GET DATA/STATUS, INSTALL [for load/personalization], STORE DATA
		 * to the ISD itself: nothing persistent */
		return fx_eq_but_counters(cs, before, NULL, 0);
	}
}

static void
test_every_cell(void **state)
{
	static const uint8_t no_priv[3] = { 0 };
	unsigned cells = 0;

	(void)state;
	for (size_t r = 0; r < LC_ROWS; r++) {
		for (size_t s = 0; s < ST__N; s++) {
			pcard_cardstate cs;
			pcard_card *c;
			ch_host h;
			uint16_t sw;
			char why[128] = "";
			int unchanged;

			pcard_cardstate_init(&cs);
			assert_int_equal(fx_state(&cs, 3, state_lc[s], no_priv), 0);
			assert_non_null(c = fx_card(&cs, NULL, NULL));
			assert_int_equal(fx_host(&h, c, 3), 0);
			sw = run_action(&h, lc_table[r].action);
			if (sw != lc_table[r].sw[s])
				fail_msg("%s | %s | %s: card %04X, table %04X", lc_table[r].target,
				    lc_table[r].command, state_names[s], sw, lc_table[r].sw[s]);
			unchanged = fx_eq_but_counters(pcard_card_state(c), &cs, why, sizeof why);
			if ((s == ST_TERMINATED || sw != 0x9000) && !unchanged &&
			    sw != 0x6283 && sw != 0x6D00)
				fail_msg("%s | %s | %s: %04X changed the card (%s)",
				    lc_table[r].target, lc_table[r].command, state_names[s], sw, why);
			if (s == ST_TERMINATED)
				assert_true(unchanged);
			if (sw == 0x9000 && !changed_as_expected(pcard_card_state(c), &cs,
			    lc_table[r].action))
				fail_msg("%s | %s | %s: 9000 but not the expected change",
				    lc_table[r].target, lc_table[r].command, state_names[s]);
			cells++;
			ch_clear(&h);
			pcard_card_free(c);
			pcard_cardstate_clear(&cs);
		}
	}
	printf("life-cycle table: %u cells driven, all as documented\n", cells);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_doc_table),
		cmocka_unit_test(test_every_cell),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
