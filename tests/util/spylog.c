/*
 * spylog.c: the pkcs11-spy log checker of spylog.h (tests only).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "postcard/bytes.h"
#include "spylog.h"

#define SPY_MAX_HANDLES 8192

/* A set of object handles (live twins, masters). Handles are reused after C_DestroyObject,
 * so twins leave their set when destroyed. */
typedef struct handle_set {
	unsigned long h[SPY_MAX_HANDLES];
	size_t n;
} handle_set;

typedef struct spy_state {
	handle_set readable, wrappable, masters;
	int find_by_label;	/* the current C_FindObjectsInit searched a (master) label */
} spy_state;

static int
set_has(const handle_set *s, unsigned long h)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->h[i] == h)
			return 1;
	return 0;
}

static void
set_add(handle_set *s, unsigned long h)
{
	if (h == 0 || set_has(s, h))
		return;
	assert_true(s->n < SPY_MAX_HANDLES);
	s->h[s->n++] = h;
}

/* A master (token object) handle; counted once. */
static void
master_add(spy_state *st, spy_report *r, unsigned long h)
{
	if (h == 0 || set_has(&st->masters, h))
		return;
	set_add(&st->masters, h);
	r->masters++;
}

static void
set_del(handle_set *s, unsigned long h)
{
	for (size_t i = 0; i < s->n; i++) {
		if (s->h[i] == h) {
			s->h[i] = s->h[--s->n];
			return;
		}
	}
}

/* The label of an attribute dump: the line after "CKA_LABEL", hex in groups of four bytes
 * ("70636172 642D6465 ..."). */
static void
spy_label(const char *line, char *out, size_t cap)
{
	size_t k = 0;
	const char *p = line;

	for (;;) {
		while (*p == ' ')
			p++;
		if (p[0] == '\0' || p[1] == '\0' || k + 1 >= cap || pcard_hex_digit(p[0]) < 0 ||
		    pcard_hex_digit(p[1]) < 0)
			break;
		out[k++] = (char)(pcard_hex_digit(p[0]) << 4 | pcard_hex_digit(p[1]));
		p += 2;
	}
	out[k] = '\0';
}

static int
starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* The handle a call created: "[out] hKey = 0x3", "[out] *phObject = 0x2" and variants. */
static int
out_handle(const char *l, unsigned long *h)
{
	static const char *const forms[] = { "[out] hKey = ", "[out] phKey = ", "[out] *phKey = ",
		"[out] hObject = ", "[out] phObject = ", "[out] *phObject = " };

	for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
		if (starts(l, forms[i])) {
			*h = strtoul(l + strlen(forms[i]), NULL, 16);
			return 1;
		}
	}
	return 0;
}

/* One call of the log: lines[0] is "N: C_Name". */
static void
spy_call(char **lines, size_t n, spy_report *r, spy_state *st)
{
	const char *name = strstr(lines[0], "C_");
	int derive = strcmp(name, "C_DeriveKey") == 0, create = strcmp(name, "C_CreateObject") == 0,
	    generate = strcmp(name, "C_GenerateKey") == 0, unwrap = strcmp(name, "C_UnwrapKey") == 0;
	int tmpl_call = derive || create || generate || unwrap;
	int sens = -1, extr = -1, token = 0, in_out = 0, ok = 0, value_out = 0, value_in = 0;
	int has_label = 0;
	char label[80] = "";
	unsigned long obj = 0, key = 0, base = 0, newkey = 0, h;
	size_t i;

	r->calls++;
	for (i = 1; i < n; i++) {
		const char *l = lines[i];

		if (starts(l, "[out]"))
			in_out = 1;
		if (starts(l, "[in] hObject = "))
			obj = strtoul(l + 15, NULL, 16);
		if (starts(l, "[in] hKey = "))
			key = strtoul(l + 12, NULL, 16);
		if (starts(l, "[in] hBaseKey = "))
			base = strtoul(l + 16, NULL, 16);
		if (out_handle(l, &h))
			newkey = h;
		if (starts(l, "Object 0x") && strstr(l, " matches") != NULL && st->find_by_label)
			master_add(st, r, strtoul(l + 7, NULL, 16));
		if (starts(l, "Returned:"))
			ok = strstr(l, " CKR_OK") != NULL;
		if (starts(l, "    CKA_SENSITIVE ") && !in_out)
			sens = strstr(l, "True") != NULL;
		if (starts(l, "    CKA_EXTRACTABLE ") && !in_out)
			extr = strstr(l, "True") != NULL;
		if (starts(l, "    CKA_TOKEN ") && !in_out)
			token = strstr(l, "True") != NULL;
		if (starts(l, "    CKA_LABEL ") && !in_out && i + 1 < n) {
			has_label = 1;
			spy_label(lines[i + 1], label, sizeof label);
		}
		if (starts(l, "    CKA_VALUE "))
			(in_out ? &value_out : &value_in)[0] = 1;
	}
	if (strcmp(name, "C_FindObjectsInit") == 0)
		st->find_by_label = has_label && !starts(label, "pcard-");
	if (tmpl_call) {
		r->templates++;
		r->derive += derive;
		r->create += create;
		r->generate += generate;
		r->unwrap += unwrap;
		if (strcmp(label, "pcard-twin-wrap") == 0 && sens == 1 && extr == 1 && !token) {
			r->twin_wrap++;
			if (ok)
				set_add(&st->wrappable, newkey);
		} else if (strcmp(label, "pcard-twin-read") == 0 && sens == 0 && extr == 1 &&
		    !token && derive) {
			r->twin_read++;
			if (ok)
				set_add(&st->readable, newkey);
		} else if (sens != 1 || extr != 0) {
			r->bad++;
			print_message("spylog: template breaking the rule: %s label '%s' sensitive %d "
			    "extractable %d\n", lines[0], label, sens, extr);
		}
		if (token) {
			r->token_templates++;
			if (ok)
				master_add(st, r, newkey);
		}
		if (derive && set_has(&st->masters, base))
			r->master_derives++;
	}
	if (strcmp(name, "C_DestroyObject") == 0 && ok) {
		set_del(&st->readable, obj);
		set_del(&st->wrappable, obj);
		set_del(&st->masters, obj);
	}
	if (strcmp(name, "C_GetAttributeValue") == 0 && value_in) {
		if (ok && value_out) {
			r->value_reads++;
			if (set_has(&st->masters, obj)) {
				r->master_value_reads++;
				print_message("spylog: CKA_VALUE of master %lx returned: %s\n", obj,
				    lines[0]);
			}
			if (!set_has(&st->readable, obj)) {
				r->bad_reads++;
				print_message("spylog: CKA_VALUE of object %lx returned: %s\n", obj,
				    lines[0]);
			}
		} else if (!ok) {
			r->refused_reads++;
		}
	}
	if (strcmp(name, "C_WrapKey") == 0 && ok) {
		r->wraps++;
		if (set_has(&st->masters, key)) {
			r->master_wraps++;
			print_message("spylog: master %lx wrapped: %s\n", key, lines[0]);
		}
		if (!set_has(&st->wrappable, key)) {
			r->bad_wraps++;
			print_message("spylog: object %lx wrapped: %s\n", key, lines[0]);
		}
	}
}

void
spy_parse(const char *path, spy_report *r)
{
	FILE *f = fopen(path, "r");
	char **lines = NULL, buf[4096];
	size_t n = 0, cap = 0, start = 0, i;
	spy_state *st = calloc(1, sizeof *st);

	if (f == NULL)
		print_message("spylog: cannot read %s\n", path);
	assert_non_null(f);
	assert_non_null(st);
	memset(r, 0, sizeof *r);
	while (fgets(buf, sizeof buf, f) != NULL) {
		buf[strcspn(buf, "\r\n")] = '\0';
		if (n == cap) {
			cap = cap ? cap * 2 : 4096;
			lines = realloc(lines, cap * sizeof *lines);
			assert_non_null(lines);
		}
		lines[n] = strdup(buf);
		assert_non_null(lines[n]);
		n++;
	}
	fclose(f);
	for (i = 0; i <= n; i++) {
		int head = i < n && lines[i][0] >= '0' && lines[i][0] <= '9' &&
		    strstr(lines[i], ": C_") != NULL;

		if (i == n || head) {
			if (i > start && strstr(lines[start], ": C_") != NULL)
				spy_call(lines + start, i - start, r, st);
			start = i;
		}
	}
	for (i = 0; i < n; i++)
		free(lines[i]);
	free(lines);
	free(st);
}
