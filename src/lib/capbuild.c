/*
 * capbuild.c: writes structurally valid CAP files (format 2.1, JCVM 2.2 ch. 6) with libzip.
 *
 * Components generated (info bytes after tag || size(2)):
 *   Header       DECAFFED | 01 02 (CAP 2.1) | flags (04 when applets) | pkg minor | pkg major |
 *                AID len | AID
 *   Directory    11 x u2 sizes (tags 1..11) | 00 00 00 00 00 00 (static field sizes) |
 *                import count | applet count | 00 (no custom components)
 *   Applet       count | count x { AID len | AID | install method offset(2) }
 *   Import       count | count x { minor | major | AID len | AID }
 *   ConstantPool 00 00 (no entries)
 *   Class        filler (only when Method is full)
 *   Method       00 (no handlers) | per applet: 02 30 7A (header: max_stack 2, nargs 3; return)
 *                | filler method 01 00 00..00 7A (or 1-2 nop bytes)
 *   StaticField  10 x 00 (no static fields)
 *   RefLocation  00 00 00 00 (no references)
 *   Descriptor   00 00 00 (no classes, no constant pool types)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zip.h>

#include "postcard/bytes.h"
#include "postcard/cap.h"
#include "postcard/capbuild.h"
#include "postcard/err.h"

#define DIR_INFO_LEN 31u	/* 11 sizes, static field sizes, three counts */
#define SF_INFO_LEN 10u
#define RL_INFO_LEN 4u
#define DESC_INFO_LEN 3u
#define CP_INFO_LEN 2u
#define INSTALL_METHOD_LEN 3u
#define MANIFEST_CAP 65536u
#define FIXED_MTIME 1704067200	/* 2024-01-01: the same input always gives the same bytes */

/* Info lengths of every component, by tag (0 = absent). */
typedef struct layout {
	size_t info[PCARD_CAP_COMP_MAX + 1];
	int present[PCARD_CAP_COMP_MAX + 1];
	size_t class_fill, method_fill;
} layout;

static int
aid_ok(const pcard_cap_aid *a)
{
	return a->len >= PCARD_CAP_AID_MIN && a->len <= PCARD_CAP_AID_MAX;
}

size_t
pcard_capbuild_min_code(const pcard_capbuild_params *p)
{
	size_t napplets = p != NULL ? p->napplets : 0;

	return 3u + 3u + 1u + INSTALL_METHOD_LEN * napplets;
}

static int
path_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= PCARD_CAP_MAX_PATH || s[0] == '/' || s[n - 1] == '/' ||
	    strstr(s, "//") != NULL || strstr(s, "..") != NULL)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7F || s[i] == '\\' || s[i] == ':')
			return 0;
	return 1;
}

static const char *
pkg_path(const pcard_capbuild_params *p)
{
	return p->package_path != NULL ? p->package_path : "postcard/gen";
}

static pcard_err
plan(const pcard_capbuild_params *p, layout *l)
{
	size_t code, min, rest;

	if (p == NULL || !aid_ok(&p->package) || p->napplets > PCARD_CAP_MAX_APPLETS ||
	    p->nimports > PCARD_CAP_MAX_IMPORTS || (p->napplets > 0 && p->applets == NULL) ||
	    (p->nimports > 0 && p->imports == NULL) || !path_ok(pkg_path(p)))
		return PCARD_E_INVALID_ARG;
	for (size_t i = 0; i < p->napplets; i++)
		if (!aid_ok(&p->applets[i]))
			return PCARD_E_INVALID_ARG;
	for (size_t i = 0; i < p->nimports; i++)
		if (!aid_ok(&p->imports[i].aid))
			return PCARD_E_INVALID_ARG;
	min = pcard_capbuild_min_code(p);
	code = p->code_size == 0 ? min : p->code_size;
	if (code < min || code > PCARD_CAPBUILD_MAX_CODE)
		return PCARD_E_INVALID_ARG;

	memset(l, 0, sizeof *l);
	l->info[PCARD_CAP_HEADER] = 10u + p->package.len;
	l->info[PCARD_CAP_DIRECTORY] = DIR_INFO_LEN;
	if (p->napplets > 0) {
		l->info[PCARD_CAP_APPLET] = 1;
		for (size_t i = 0; i < p->napplets; i++)
			l->info[PCARD_CAP_APPLET] += 1u + p->applets[i].len + 2u;
		l->present[PCARD_CAP_APPLET] = 1;
	}
	l->info[PCARD_CAP_IMPORT] = 1;
	for (size_t i = 0; i < p->nimports; i++)
		l->info[PCARD_CAP_IMPORT] += 3u + p->imports[i].aid.len;
	l->info[PCARD_CAP_CONSTANT_POOL] = CP_INFO_LEN;
	/* Method takes the code up to its u2 limit, Class the rest. */
	rest = code - 6u;
	l->info[PCARD_CAP_METHOD] = rest > 65535u ? 65535u : rest;
	l->info[PCARD_CAP_CLASS] = rest - l->info[PCARD_CAP_METHOD];
	l->class_fill = l->info[PCARD_CAP_CLASS];
	l->method_fill = l->info[PCARD_CAP_METHOD] - 1u - INSTALL_METHOD_LEN * p->napplets;
	l->info[PCARD_CAP_STATIC_FIELD] = SF_INFO_LEN;
	l->info[PCARD_CAP_REF_LOCATION] = RL_INFO_LEN;
	l->info[PCARD_CAP_DESCRIPTOR] = DESC_INFO_LEN;
	l->present[PCARD_CAP_HEADER] = l->present[PCARD_CAP_DIRECTORY] = 1;
	l->present[PCARD_CAP_IMPORT] = l->present[PCARD_CAP_CONSTANT_POOL] = 1;
	l->present[PCARD_CAP_CLASS] = l->present[PCARD_CAP_METHOD] = 1;
	l->present[PCARD_CAP_STATIC_FIELD] = l->present[PCARD_CAP_REF_LOCATION] = 1;
	l->present[PCARD_CAP_DESCRIPTOR] = 1;
	return PCARD_OK;
}

/* One whole component: tag || size || info. */
static void
wr_comp(pcard_wr *w, const pcard_capbuild_params *p, const layout *l, pcard_cap_comp t)
{
	pcard_wr_u8(w, (uint8_t)t);
	pcard_wr_u16(w, (uint16_t)l->info[t]);
	switch (t) {
	case PCARD_CAP_HEADER:
		pcard_wr_u32(w, 0xDECAFFEDu);
		pcard_wr_u8(w, 1);	/* CAP minor */
		pcard_wr_u8(w, 2);	/* CAP major */
		pcard_wr_u8(w, p->napplets > 0 ? PCARD_CAP_ACC_APPLET : 0);
		pcard_wr_u8(w, p->pkg_minor);
		pcard_wr_u8(w, p->pkg_major);
		pcard_wr_lv(w, p->package.b, p->package.len);
		break;
	case PCARD_CAP_DIRECTORY:
		for (unsigned i = 1; i <= 11; i++)
			pcard_wr_u16(w, (uint16_t)(l->present[i] ? l->info[i] : 0));
		pcard_wr_fill(w, 0, 6);
		pcard_wr_u8(w, (uint8_t)p->nimports);
		pcard_wr_u8(w, (uint8_t)p->napplets);
		pcard_wr_u8(w, 0);
		break;
	case PCARD_CAP_APPLET:
		pcard_wr_u8(w, (uint8_t)p->napplets);
		for (size_t i = 0; i < p->napplets; i++) {
			pcard_wr_lv(w, p->applets[i].b, p->applets[i].len);
			/* Install methods follow the handler count byte, one per applet. */
			pcard_wr_u16(w, (uint16_t)(1u + INSTALL_METHOD_LEN * i));
		}
		break;
	case PCARD_CAP_IMPORT:
		pcard_wr_u8(w, (uint8_t)p->nimports);
		for (size_t i = 0; i < p->nimports; i++) {
			pcard_wr_u8(w, p->imports[i].minor);
			pcard_wr_u8(w, p->imports[i].major);
			pcard_wr_lv(w, p->imports[i].aid.b, p->imports[i].aid.len);
		}
		break;
	case PCARD_CAP_CLASS:
		for (size_t i = 0; i < l->class_fill; i++)
			pcard_wr_u8(w, (uint8_t)(0x5A ^ (i & 0xFF)));
		break;
	case PCARD_CAP_METHOD:
		pcard_wr_u8(w, 0);	/* handler_count */
		for (size_t i = 0; i < p->napplets; i++) {
			pcard_wr_u8(w, 0x02);	/* flags 0, max_stack 2 */
			pcard_wr_u8(w, 0x30);	/* nargs 3, max_locals 0 */
			pcard_wr_u8(w, 0x7A);	/* return */
		}
		if (l->method_fill >= 3) {
			pcard_wr_u8(w, 0x01);
			pcard_wr_u8(w, 0x00);
			pcard_wr_fill(w, 0x00, l->method_fill - 3);	/* nop */
			pcard_wr_u8(w, 0x7A);
		} else {
			pcard_wr_fill(w, 0x00, l->method_fill);
		}
		break;
	default:
		/* ConstantPool, StaticField, RefLocation, Descriptor: empty tables, all zero. */
		pcard_wr_fill(w, 0, l->info[t]);
		break;
	}
}

static const pcard_cap_comp lfdb_order[] = {
	PCARD_CAP_HEADER, PCARD_CAP_DIRECTORY, PCARD_CAP_IMPORT, PCARD_CAP_APPLET,
	PCARD_CAP_CLASS, PCARD_CAP_METHOD, PCARD_CAP_STATIC_FIELD, PCARD_CAP_EXPORT,
	PCARD_CAP_CONSTANT_POOL, PCARD_CAP_REF_LOCATION,
};

pcard_err
pcard_capbuild_lfdb(const pcard_capbuild_params *p, uint8_t *out, size_t out_cap,
    size_t *out_len)
{
	layout l;
	pcard_wr w;
	pcard_err err;

	if (out_len == NULL || (out == NULL && out_cap != 0))
		return PCARD_E_INVALID_ARG;
	if ((err = plan(p, &l)) != PCARD_OK)
		return err;
	pcard_wr_init(&w, out, out_cap);
	for (size_t i = 0; i < sizeof lfdb_order / sizeof lfdb_order[0]; i++)
		if (l.present[lfdb_order[i]])
			wr_comp(&w, p, &l, lfdb_order[i]);
	return pcard_wr_finish(&w, out_len);
}

/* Append "name: value" to the manifest, folded at 72 bytes as the JAR format requires. */
static void
mf_line(pcard_wr *w, const char *name, const char *value)
{
	char line[512];
	int n = snprintf(line, sizeof line, "%s: %s", name, value);
	size_t len = n < 0 ? 0 : (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
	size_t col = 0;

	for (size_t i = 0; i < len; i++) {
		if (col == 72) {
			pcard_wr_bytes(w, "\r\n ", 3);
			col = 1;
		}
		pcard_wr_u8(w, (uint8_t)line[i]);
		col++;
	}
	pcard_wr_bytes(w, "\r\n", 2);
}

static void
aid_text(const pcard_cap_aid *a, char *out)
{
	static const char hex[] = "0123456789abcdef";
	char *q = out;

	for (size_t i = 0; i < a->len; i++) {
		if (i > 0)
			*q++ = ':';
		*q++ = '0';
		*q++ = 'x';
		*q++ = hex[a->b[i] >> 4];
		*q++ = hex[a->b[i] & 15];
	}
	*q = '\0';
}

static pcard_err
manifest(const pcard_capbuild_params *p, uint8_t *out, size_t cap, size_t *len)
{
	char v[PCARD_CAP_MAX_PATH], k[64];
	pcard_wr w;

	pcard_wr_init(&w, out, cap);
	mf_line(&w, "Manifest-Version", "1.0");
	mf_line(&w, "Created-By", "postcard capbuild");
	pcard_wr_bytes(&w, "\r\n", 2);
	mf_line(&w, "Name", pkg_path(p));
	mf_line(&w, "Java-Card-CAP-File-Version", "2.1");
	aid_text(&p->package, v);
	mf_line(&w, "Java-Card-Package-AID", v);
	snprintf(v, sizeof v, "%u.%u", p->pkg_major, p->pkg_minor);
	mf_line(&w, "Java-Card-Package-Version", v);
	snprintf(v, sizeof v, "%s", pkg_path(p));
	for (char *c = v; *c != '\0'; c++)
		if (*c == '/')
			*c = '.';
	mf_line(&w, "Java-Card-Package-Name", v);
	for (size_t i = 0; i < p->nimports; i++) {
		snprintf(k, sizeof k, "Java-Card-Imported-Package-%zu-AID", i + 1);
		aid_text(&p->imports[i].aid, v);
		mf_line(&w, k, v);
		snprintf(k, sizeof k, "Java-Card-Imported-Package-%zu-Version", i + 1);
		snprintf(v, sizeof v, "%u.%u", p->imports[i].major, p->imports[i].minor);
		mf_line(&w, k, v);
	}
	for (size_t i = 0; i < p->napplets; i++) {
		snprintf(k, sizeof k, "Java-Card-Applet-%zu-AID", i + 1);
		aid_text(&p->applets[i], v);
		mf_line(&w, k, v);
		snprintf(k, sizeof k, "Java-Card-Applet-%zu-Name", i + 1);
		snprintf(v, sizeof v, "Applet%zu", i + 1);
		mf_line(&w, k, v);
	}
	pcard_wr_bytes(&w, "\r\n", 2);
	return pcard_wr_finish(&w, len);
}

/* Add one in-memory file to the archive; data must live until zip_close. */
static pcard_err
add_file(zip_t *za, const char *name, const uint8_t *data, size_t n)
{
	zip_source_t *s = zip_source_buffer(za, data, n, 0);
	zip_int64_t idx;

	if (s == NULL)
		return PCARD_E_NOMEM;
	if ((idx = zip_file_add(za, name, s, ZIP_FL_ENC_UTF_8 | ZIP_FL_OVERWRITE)) < 0) {
		zip_source_free(s);
		return PCARD_E_INTERNAL;
	}
	if (zip_file_set_mtime(za, (zip_uint64_t)idx, FIXED_MTIME, 0) != 0)
		return PCARD_E_INTERNAL;
	return PCARD_OK;
}

/* The whole CAP file in a heap buffer the caller frees. */
static pcard_err
build_zip(const pcard_capbuild_params *p, uint8_t **zbuf, size_t *zlen)
{
	layout l;
	uint8_t *comps = NULL, *mf = NULL, *z = NULL;
	size_t off[PCARD_CAP_COMP_MAX + 1] = { 0 }, total = 0, mflen = 0;
	zip_source_t *src = NULL;
	zip_t *za = NULL;
	zip_error_t ze;
	zip_stat_t st;
	int src_open = 0;
	pcard_err err = PCARD_E_INTERNAL;

	zip_error_init(&ze);
	if ((err = plan(p, &l)) != PCARD_OK)
		goto out;
	for (unsigned t = 1; t <= PCARD_CAP_COMP_MAX; t++)
		if (l.present[t])
			total += 3u + l.info[t];
	if ((comps = malloc(total)) == NULL || (mf = malloc(MANIFEST_CAP)) == NULL) {
		err = PCARD_E_NOMEM;
		goto out;
	}
	total = 0;
	for (unsigned t = 1; t <= PCARD_CAP_COMP_MAX; t++) {
		pcard_wr w;
		size_t n;

		if (!l.present[t])
			continue;
		pcard_wr_init(&w, comps + total, 3u + l.info[t]);
		wr_comp(&w, p, &l, (pcard_cap_comp)t);
		if ((err = pcard_wr_finish(&w, &n)) != PCARD_OK || n != 3u + l.info[t]) {
			err = PCARD_E_INTERNAL;
			goto out;
		}
		off[t] = total;
		total += n;
	}
	if ((err = manifest(p, mf, MANIFEST_CAP, &mflen)) != PCARD_OK)
		goto out;

	if ((src = zip_source_buffer_create(NULL, 0, 0, &ze)) == NULL) {
		err = PCARD_E_NOMEM;
		goto out;
	}
	zip_source_keep(src);	/* survives zip_close, which writes the archive into it */
	if ((za = zip_open_from_source(src, ZIP_TRUNCATE, &ze)) == NULL) {
		zip_source_free(src);	/* drops the reference zip_open_from_source did not take */
		err = PCARD_E_INTERNAL;
		goto out;
	}
	if ((err = add_file(za, "META-INF/MANIFEST.MF", mf, mflen)) != PCARD_OK)
		goto out;
	for (unsigned t = 1; t <= PCARD_CAP_COMP_MAX; t++) {
		char name[PCARD_CAP_MAX_PATH + 64];

		if (!l.present[t])
			continue;
		snprintf(name, sizeof name, "%s/javacard/%s.cap", pkg_path(p),
		    pcard_cap_comp_name((pcard_cap_comp)t));
		if ((err = add_file(za, name, comps + off[t], 3u + l.info[t])) != PCARD_OK)
			goto out;
	}
	if (zip_close(za) != 0) {
		err = PCARD_E_INTERNAL;
		goto out;
	}
	za = NULL;
	zip_stat_init(&st);
	if (zip_source_open(src) != 0) {
		err = PCARD_E_INTERNAL;
		goto out;
	}
	src_open = 1;
	if (zip_source_stat(src, &st) != 0 || (st.valid & ZIP_STAT_SIZE) == 0) {
		err = PCARD_E_INTERNAL;
		goto out;
	}
	if ((z = malloc(st.size > 0 ? (size_t)st.size : 1)) == NULL) {
		err = PCARD_E_NOMEM;
		goto out;
	}
	if (zip_source_read(src, z, st.size) != (zip_int64_t)st.size) {
		err = PCARD_E_INTERNAL;
		goto out;
	}
	*zbuf = z;
	*zlen = (size_t)st.size;
	z = NULL;
	err = PCARD_OK;
out:
	if (za != NULL)
		zip_discard(za);
	if (src != NULL) {
		if (src_open)
			zip_source_close(src);
		zip_source_free(src);
	}
	zip_error_fini(&ze);
	free(z);
	free(mf);
	free(comps);
	return err;
}

pcard_err
pcard_capbuild_mem(const pcard_capbuild_params *p, uint8_t *out, size_t out_cap,
    size_t *out_len)
{
	uint8_t *z = NULL;
	size_t n = 0;
	pcard_err err = PCARD_E_INTERNAL;

	if (out_len == NULL || (out == NULL && out_cap != 0))
		return PCARD_E_INVALID_ARG;
	if ((err = build_zip(p, &z, &n)) != PCARD_OK)
		goto out;
	*out_len = n;
	if (n > out_cap) {
		err = PCARD_E_NOSPACE;
		goto out;
	}
	memcpy(out, z, n);
	err = PCARD_OK;
out:
	free(z);
	return err;
}

pcard_err
pcard_capbuild_file(const pcard_capbuild_params *p, const char *path)
{
	uint8_t *z = NULL;
	size_t n = 0;
	FILE *f = NULL;
	pcard_err err = PCARD_E_INTERNAL;

	if (path == NULL)
		return PCARD_E_INVALID_ARG;
	if ((err = build_zip(p, &z, &n)) != PCARD_OK)
		goto out;
	if ((f = fopen(path, "wb")) == NULL || fwrite(z, 1, n, f) != n) {
		err = PCARD_E_IO;
		goto out;
	}
	err = fclose(f) == 0 ? PCARD_OK : PCARD_E_IO;
	f = NULL;
out:
	if (f != NULL)
		fclose(f);
	free(z);
	return err;
}
