/* testvec.c: see testvec.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "postcard/bytes.h"
#include "testvec.h"

#ifndef POSTCARD_TESTDATA
#define POSTCARD_TESTDATA "../shared/testdata"
#endif

const char *
tv_datadir(void)
{
	const char *d = getenv("PCARD_TESTDATA");

	return d != NULL && *d != '\0' ? d : POSTCARD_TESTDATA;
}

const char *
tv_path(const char *relpath)
{
	static char path[4096];

	snprintf(path, sizeof path, "%s/%s", tv_datadir(), relpath);
	return path;
}

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		*--e = '\0';
	return s;
}

tv_file *
tv_load(const char *relpath)
{
	const char *path = tv_path(relpath);
	FILE *fp = fopen(path, "r");
	tv_file *f;
	char line[8192];
	tv_case *cur = NULL;

	if (fp == NULL)
		fail_msg("vector file %s is missing", path);
	f = calloc(1, sizeof *f);
	assert_non_null(f);
	while (fgets(line, sizeof line, fp) != NULL) {
		char *s = trim(line), *eq;

		if (*s == '\0' || *s == '#')
			continue;
		if (*s == '[') {
			char *end = strchr(s, ']');

			assert_non_null(end);
			*end = '\0';
			f->cases = realloc(f->cases, (f->ncases + 1) * sizeof *f->cases);
			assert_non_null(f->cases);
			cur = &f->cases[f->ncases++];
			memset(cur, 0, sizeof *cur);
			snprintf(cur->name, sizeof cur->name, "%s", s + 1);
			continue;
		}
		if ((eq = strchr(s, '=')) == NULL || cur == NULL)
			fail_msg("%s: unparsable line '%s'", path, s);
		*eq = '\0';
		assert_true(cur->nfields < TV_MAX_FIELDS);
		snprintf(cur->f[cur->nfields].key, sizeof cur->f[0].key, "%s", trim(s));
		cur->f[cur->nfields].val = strdup(trim(eq + 1));
		assert_non_null(cur->f[cur->nfields].val);
		cur->nfields++;
	}
	fclose(fp);
	if (f->ncases == 0)
		fail_msg("vector file %s has no cases", path);
	return f;
}

void
tv_free(tv_file *f)
{
	if (f == NULL)
		return;
	for (size_t i = 0; i < f->ncases; i++)
		for (size_t j = 0; j < f->cases[i].nfields; j++)
			free(f->cases[i].f[j].val);
	free(f->cases);
	free(f);
}

const tv_case *
tv_find(const tv_file *f, const char *name)
{
	for (size_t i = 0; i < f->ncases; i++)
		if (strcmp(f->cases[i].name, name) == 0)
			return &f->cases[i];
	fail_msg("vector case [%s] is missing", name);
	return NULL;
}

const char *
tv_get(const tv_case *c, const char *key)
{
	const char *v = NULL;

	/* The last occurrence wins (a few vector files repeat a field name in one case). */
	for (size_t i = 0; i < c->nfields; i++)
		if (strcmp(c->f[i].key, key) == 0)
			v = c->f[i].val;
	return v;
}

const char *
tv_str(const tv_case *c, const char *key)
{
	const char *v = tv_get(c, key);

	if (v == NULL)
		fail_msg("vector case [%s] lacks field %s", c->name, key);
	return v;
}

size_t
tv_hex(const tv_case *c, const char *key, uint8_t *out, size_t cap)
{
	size_t n = 0;

	if (pcard_hex_decode(tv_str(c, key), out, cap, &n) != PCARD_OK)
		fail_msg("vector case [%s] field %s is not hex (or too long)", c->name, key);
	return n;
}

size_t
tv_unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;

	if (pcard_hex_decode(s, out, cap, &n) != PCARD_OK)
		fail_msg("'%s' is not hex (or longer than %zu bytes)", s, cap);
	return n;
}
