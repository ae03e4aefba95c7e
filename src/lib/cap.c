/*
 * cap.c: CAP file reader (JCVM 2.2 ch. 6) and Load File Data Block construction (CS 11.6).
 *
 * The ZIP layer is libzip; every byte of a component goes through pcard_rd. Components the
 * reader parses:
 *
 * Header (tag 1):
 *   magic DECAFFED(4) | cap minor(1) | cap major(1) | flags(1) |
 *   pkg minor(1) | pkg major(1) | AID len(1) | AID | [CAP >= 2.2: name len(1) | name]
 * Directory (tag 2):
 *   component_sizes u2[11] (CAP 2.1) or u2[12] (CAP 2.2+, Debug included) |
 *   static_field_size_info: image_size(2) array_init_count(2) array_init_size(2) |
 *   import_count(1) | applet_count(1) | custom_count(1) |
 *   custom_count x { tag(1) | size(2) | AID len(1) | AID }
 * Applet (tag 3):
 *   count(1) | count x { AID len(1) | AID | install_method_offset(2) }
 * Import (tag 4):
 *   count(1) | count x { minor(1) | major(1) | AID len(1) | AID }
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zip.h>

#include "postcard/bytes.h"
#include "postcard/cap.h"
#include "postcard/file.h"
#include "postcard/crypto.h"
#include "postcard/err.h"

struct pcard_cap {
	pcard_cap_info info;
	uint8_t *comp[PCARD_CAP_COMP_MAX + 1];	/* owned; length in info.comp_len */
};

static const char *const comp_names[PCARD_CAP_COMP_MAX + 1] = {
	NULL, "Header", "Directory", "Applet", "Import", "ConstantPool", "Class", "Method",
	"StaticField", "RefLocation", "Export", "Descriptor", "Debug",
};

/* LFDB order (gp-facts 3.19); Descriptor and Debug are appended on request. */
static const pcard_cap_comp lfdb_order[] = {
	PCARD_CAP_HEADER, PCARD_CAP_DIRECTORY, PCARD_CAP_IMPORT, PCARD_CAP_APPLET,
	PCARD_CAP_CLASS, PCARD_CAP_METHOD, PCARD_CAP_STATIC_FIELD, PCARD_CAP_EXPORT,
	PCARD_CAP_CONSTANT_POOL, PCARD_CAP_REF_LOCATION, PCARD_CAP_DESCRIPTOR, PCARD_CAP_DEBUG,
};

/* The one place a corrupt CAP is reported (set a breakpoint here). */
static pcard_err
corrupt(void)
{
	return PCARD_E_BAD_FILE;
}

const char *
pcard_cap_comp_name(pcard_cap_comp tag)
{
	if ((unsigned)tag < 1 || (unsigned)tag > PCARD_CAP_COMP_MAX)
		return NULL;
	return comp_names[tag];
}

pcard_err
pcard_cap_parse_component(const uint8_t *p, size_t n, uint8_t *tag, pcard_rd *info)
{
	pcard_rd r;
	uint8_t t;
	uint16_t size;

	if (tag == NULL || info == NULL || (p == NULL && n != 0))
		return PCARD_E_INVALID_ARG;
	pcard_rd_init(&r, p, n);
	if (pcard_rd_u8(&r, &t) != PCARD_OK || pcard_rd_u16(&r, &size) != PCARD_OK ||
	    pcard_rd_left(&r) != size)
		return corrupt();
	*tag = t;
	*info = r;
	return PCARD_OK;
}

/* AID length(1) || AID, 5 to 16 bytes. */
static pcard_err
rd_aid(pcard_rd *r, pcard_cap_aid *aid)
{
	uint8_t len;

	if (pcard_rd_u8(r, &len) != PCARD_OK || len < PCARD_CAP_AID_MIN ||
	    len > PCARD_CAP_AID_MAX || pcard_rd_copy(r, len, aid->b) != PCARD_OK)
		return corrupt();
	aid->len = len;
	return PCARD_OK;
}

/* The info reader of the component with this tag (which must be present). */
static pcard_err
comp_info(const pcard_cap *c, pcard_cap_comp t, pcard_rd *info)
{
	uint8_t tag;
	pcard_err err;

	if ((err = pcard_cap_parse_component(c->comp[t], c->info.comp_len[t], &tag, info)) !=
	    PCARD_OK)
		return err;
	if (tag != (uint8_t)t)
		return corrupt();
	return PCARD_OK;
}

static pcard_err
parse_header(pcard_cap *c)
{
	pcard_cap_info *ci = &c->info;
	pcard_rd r, name;
	uint32_t magic;
	pcard_err err;

	if ((err = comp_info(c, PCARD_CAP_HEADER, &r)) != PCARD_OK)
		return err;
	if (pcard_rd_u32(&r, &magic) != PCARD_OK || magic != 0xDECAFFEDu ||
	    pcard_rd_u8(&r, &ci->cap_minor) != PCARD_OK ||
	    pcard_rd_u8(&r, &ci->cap_major) != PCARD_OK ||
	    pcard_rd_u8(&r, &ci->flags) != PCARD_OK ||
	    pcard_rd_u8(&r, &ci->pkg_minor) != PCARD_OK ||
	    pcard_rd_u8(&r, &ci->pkg_major) != PCARD_OK)
		return corrupt();
	if ((err = rd_aid(&r, &ci->package)) != PCARD_OK)
		return err;
	/* Extended CAP files (JC 3.1) use u4 sizes in some components: not handled here. */
	if (ci->cap_major != 2 || (ci->flags & PCARD_CAP_ACC_EXTENDED) != 0)
		return PCARD_E_UNSUPPORTED;
	/* CAP 2.2 added package_name_info after the AID. */
	if (ci->cap_minor >= 2 && pcard_rd_left(&r) > 0 && pcard_rd_lv(&r, &name) != PCARD_OK)
		return corrupt();
	if (pcard_rd_expect_end(&r) != PCARD_OK)
		return corrupt();
	return PCARD_OK;
}

static pcard_err
parse_import(pcard_cap *c)
{
	pcard_cap_info *ci = &c->info;
	pcard_rd r;
	uint8_t count;
	pcard_err err;

	if ((err = comp_info(c, PCARD_CAP_IMPORT, &r)) != PCARD_OK)
		return err;
	if (pcard_rd_u8(&r, &count) != PCARD_OK)
		return corrupt();
	for (size_t i = 0; i < count; i++) {
		pcard_cap_import *im = &ci->imports[i];

		if (pcard_rd_u8(&r, &im->minor) != PCARD_OK ||
		    pcard_rd_u8(&r, &im->major) != PCARD_OK)
			return corrupt();
		if ((err = rd_aid(&r, &im->aid)) != PCARD_OK)
			return err;
	}
	if (pcard_rd_expect_end(&r) != PCARD_OK)
		return corrupt();
	ci->nimports = count;
	return PCARD_OK;
}

static pcard_err
parse_applet(pcard_cap *c)
{
	pcard_cap_info *ci = &c->info;
	size_t method_info = ci->comp_len[PCARD_CAP_METHOD] >= 3 ?
	    ci->comp_len[PCARD_CAP_METHOD] - 3 : 0;
	pcard_rd r;
	uint8_t count;
	pcard_err err;

	if ((err = comp_info(c, PCARD_CAP_APPLET, &r)) != PCARD_OK)
		return err;
	if (pcard_rd_u8(&r, &count) != PCARD_OK)
		return corrupt();
	for (size_t i = 0; i < count; i++) {
		pcard_cap_applet *a = &ci->applets[i];

		if ((err = rd_aid(&r, &a->aid)) != PCARD_OK)
			return err;
		/* The install method must lie inside the Method component's info. */
		if (pcard_rd_u16(&r, &a->install_offset) != PCARD_OK ||
		    a->install_offset >= method_info)
			return corrupt();
	}
	if (pcard_rd_expect_end(&r) != PCARD_OK)
		return corrupt();
	ci->napplets = count;
	return PCARD_OK;
}

/* The Directory must list the real size of every component it describes. */
static pcard_err
check_directory(pcard_cap *c)
{
	pcard_cap_info *ci = &c->info;
	size_t nsizes = ci->cap_minor >= 2 ? 12 : 11;
	pcard_rd r, aid;
	uint8_t imports, applets, custom;
	uint16_t v;
	pcard_err err;

	if ((err = comp_info(c, PCARD_CAP_DIRECTORY, &r)) != PCARD_OK)
		return err;
	for (size_t t = 1; t <= nsizes; t++) {
		size_t want = ci->comp_len[t] >= 3 ? ci->comp_len[t] - 3 : 0;

		if (pcard_rd_u16(&r, &v) != PCARD_OK)
			return corrupt();
		/*
		 * A present component must be listed with its own size, an absent one with 0;
		 * except Descriptor and Debug, which a load file may leave out.
		 */
		if (ci->comp_len[t] == 0 &&
		    (t == PCARD_CAP_DESCRIPTOR || t == PCARD_CAP_DEBUG))
			continue;
		if (v != want)
			return corrupt();
	}
	if (pcard_rd_skip(&r, 6) != PCARD_OK ||	/* static_field_size_info */
	    pcard_rd_u8(&r, &imports) != PCARD_OK || pcard_rd_u8(&r, &applets) != PCARD_OK ||
	    pcard_rd_u8(&r, &custom) != PCARD_OK)
		return corrupt();
	if (imports != ci->nimports || applets != ci->napplets)
		return corrupt();
	for (size_t i = 0; i < custom; i++) {
		uint8_t tag;

		if (pcard_rd_u8(&r, &tag) != PCARD_OK || tag < 128 ||
		    pcard_rd_u16(&r, &v) != PCARD_OK || pcard_rd_lv(&r, &aid) != PCARD_OK)
			return corrupt();
	}
	if (pcard_rd_expect_end(&r) != PCARD_OK)
		return corrupt();
	return PCARD_OK;
}

/* After the components are collected: check every header, then parse what we report. */
static pcard_err
parse_components(pcard_cap *c)
{
	pcard_err err;

	if (c->comp[PCARD_CAP_HEADER] == NULL || c->comp[PCARD_CAP_DIRECTORY] == NULL)
		return corrupt();
	for (unsigned t = 1; t <= PCARD_CAP_COMP_MAX; t++) {
		pcard_rd info;

		if (c->comp[t] != NULL && (err = comp_info(c, (pcard_cap_comp)t, &info)) != PCARD_OK)
			return err;
	}
	if ((err = parse_header(c)) != PCARD_OK)
		return err;
	if (c->comp[PCARD_CAP_IMPORT] != NULL && (err = parse_import(c)) != PCARD_OK)
		return err;
	if (c->comp[PCARD_CAP_APPLET] != NULL && (err = parse_applet(c)) != PCARD_OK)
		return err;
	return check_directory(c);
}

static pcard_err
cap_new(pcard_cap **out)
{
	pcard_cap *c = calloc(1, sizeof *c);

	if (c == NULL)
		return PCARD_E_NOMEM;
	*out = c;
	return PCARD_OK;
}

void
pcard_cap_free(pcard_cap *c)
{
	if (c == NULL)
		return;
	for (unsigned t = 0; t <= PCARD_CAP_COMP_MAX; t++)
		free(c->comp[t]);
	free(c);
}

/* Store a copy of component bytes under tag t; a second copy of one tag is corruption. */
static pcard_err
put_comp(pcard_cap *c, unsigned t, const uint8_t *p, size_t n)
{
	if (t < 1 || t > PCARD_CAP_COMP_MAX || c->comp[t] != NULL)
		return corrupt();
	if ((c->comp[t] = malloc(n > 0 ? n : 1)) == NULL)
		return PCARD_E_NOMEM;
	if (n > 0)
		memcpy(c->comp[t], p, n);
	c->info.comp_len[t] = n;
	return PCARD_OK;
}

pcard_err
pcard_cap_open_lfdb(const uint8_t *buf, size_t n, pcard_cap **out)
{
	pcard_cap *c = NULL;
	pcard_rd r;
	pcard_err err = PCARD_E_INTERNAL;

	if (out == NULL || (buf == NULL && n != 0))
		return PCARD_E_INVALID_ARG;
	*out = NULL;
	if ((err = cap_new(&c)) != PCARD_OK)
		goto out;
	pcard_rd_init(&r, buf, n);
	while (pcard_rd_left(&r) > 0) {
		const uint8_t *start = pcard_rd_ptr(&r);
		uint8_t tag;
		uint16_t size;

		if (pcard_rd_u8(&r, &tag) != PCARD_OK || pcard_rd_u16(&r, &size) != PCARD_OK ||
		    pcard_rd_skip(&r, size) != PCARD_OK) {
			err = corrupt();
			goto out;
		}
		if ((err = put_comp(c, tag, start, 3u + size)) != PCARD_OK)
			goto out;
	}
	if ((err = parse_components(c)) != PCARD_OK)
		goto out;
	*out = c;
	c = NULL;
	err = PCARD_OK;
out:
	pcard_cap_free(c);
	return err;
}

/*
 * If name is "<path>/javacard/<Base>.cap" (or "javacard/<Base>.cap"), return 1 and set the
 * package path (path) and the component tag (0 for a custom component name).
 */
static int
component_entry(const char *name, char *path, size_t path_cap, unsigned *tag)
{
	const char *slash = strrchr(name, '/');
	size_t dirlen, baselen;
	const char *base;

	if (slash == NULL)
		return 0;
	base = slash + 1;
	baselen = strlen(base);
	dirlen = (size_t)(slash - name);
	if (baselen < 5 || strcmp(base + baselen - 4, ".cap") != 0)
		return 0;
	if (dirlen == 8 && memcmp(name, "javacard", 8) == 0) {
		path[0] = '\0';
	} else if (dirlen > 9 && memcmp(slash - 9, "/javacard", 9) == 0) {
		if (dirlen - 9 >= path_cap)
			path[0] = '\1';		/* too long: caller rejects */
		else {
			memcpy(path, name, dirlen - 9);
			path[dirlen - 9] = '\0';
		}
	} else {
		return 0;
	}
	*tag = 0;
	for (unsigned t = 1; t <= PCARD_CAP_COMP_MAX; t++)
		if (strlen(comp_names[t]) == baselen - 4 &&
		    memcmp(comp_names[t], base, baselen - 4) == 0)
			*tag = t;
	return 1;
}

/* Read one whole entry, refusing anything longer than a component can be. */
static pcard_err
read_entry(zip_t *za, zip_uint64_t i, uint8_t **buf, size_t *len)
{
	zip_stat_t st;
	zip_file_t *zf = NULL;
	uint8_t *p = NULL, extra;
	zip_int64_t got;
	pcard_err err = PCARD_E_INTERNAL;

	zip_stat_init(&st);
	if (zip_stat_index(za, i, 0, &st) != 0 || (st.valid & ZIP_STAT_SIZE) == 0 ||
	    st.size > PCARD_CAP_MAX_COMPONENT_BYTES) {
		err = corrupt();
		goto out;
	}
	if ((p = malloc(st.size > 0 ? (size_t)st.size : 1)) == NULL) {
		err = PCARD_E_NOMEM;
		goto out;
	}
	if ((zf = zip_fopen_index(za, i, 0)) == NULL) {
		err = corrupt();
		goto out;
	}
	/* The declared size is untrusted: read exactly it, then make sure nothing follows. */
	got = st.size > 0 ? zip_fread(zf, p, st.size) : 0;
	if (got < 0 || (zip_uint64_t)got != st.size || zip_fread(zf, &extra, 1) != 0) {
		err = corrupt();
		goto out;
	}
	*buf = p;
	*len = (size_t)st.size;
	p = NULL;
	err = PCARD_OK;
out:
	if (zf != NULL && zip_fclose(zf) != 0 && err == PCARD_OK) {
		free(*buf);
		*buf = NULL;
		err = corrupt();
	}
	free(p);
	return err;
}

static pcard_err
collect_zip(zip_t *za, pcard_cap *c)
{
	zip_int64_t n = zip_get_num_entries(za, 0);
	size_t seen = 0;
	int have_path = 0;
	pcard_err err;

	if (n < 0 || n > (zip_int64_t)PCARD_CAP_MAX_ZIP_ENTRIES)
		return corrupt();
	for (zip_int64_t i = 0; i < n; i++) {
		const char *name = zip_get_name(za, (zip_uint64_t)i, ZIP_FL_ENC_RAW);
		char path[PCARD_CAP_MAX_PATH];
		unsigned tag;
		uint8_t *buf = NULL;
		size_t len = 0;

		if (name == NULL)
			return corrupt();
		if (!component_entry(name, path, sizeof path, &tag))
			continue;
		if (++seen > PCARD_CAP_MAX_COMPONENT_FILES || path[0] == '\1')
			return corrupt();
		if (tag == 0)
			continue;	/* custom component: not part of the LFDB */
		/* One package per CAP: every component in the same directory. */
		if (!have_path) {
			memcpy(c->info.package_path, path, strlen(path) + 1);
			have_path = 1;
		} else if (strcmp(path, c->info.package_path) != 0) {
			return corrupt();
		}
		if (c->comp[tag] != NULL)
			return corrupt();
		if ((err = read_entry(za, (zip_uint64_t)i, &buf, &len)) != PCARD_OK)
			return err;
		c->comp[tag] = buf;
		c->info.comp_len[tag] = len;
	}
	return PCARD_OK;
}

pcard_err
pcard_cap_open_mem(const uint8_t *buf, size_t n, pcard_cap **out)
{
	zip_source_t *src = NULL;
	zip_t *za = NULL;
	zip_error_t ze;
	pcard_cap *c = NULL;
	pcard_err err = PCARD_E_INTERNAL;

	if (out == NULL || (buf == NULL && n != 0))
		return PCARD_E_INVALID_ARG;
	*out = NULL;
	zip_error_init(&ze);
	if ((err = cap_new(&c)) != PCARD_OK)
		goto out;
	/* libzip does not accept a NULL buffer even when empty. */
	if ((src = zip_source_buffer_create(n > 0 ? buf : (const void *)"", n, 0, &ze)) == NULL) {
		err = PCARD_E_NOMEM;
		goto out;
	}
	if ((za = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &ze)) == NULL) {
		zip_source_free(src);
		err = zip_error_code_zip(&ze) == ZIP_ER_MEMORY ? PCARD_E_NOMEM : corrupt();
		goto out;
	}
	if ((err = collect_zip(za, c)) != PCARD_OK || (err = parse_components(c)) != PCARD_OK)
		goto out;
	*out = c;
	c = NULL;
	err = PCARD_OK;
out:
	if (za != NULL)
		zip_discard(za);
	zip_error_fini(&ze);
	pcard_cap_free(c);
	return err;
}

pcard_err
pcard_cap_open_file(const char *path, pcard_cap **out)
{
	uint8_t *buf = NULL;
	size_t n = 0;
	pcard_err err;

	if (path == NULL || out == NULL)
		return PCARD_E_INVALID_ARG;
	*out = NULL;
	/* A file over the limit is PCARD_E_BAD_FILE there too, as a corrupt CAP is. */
	if ((err = pcard_file_read(path, PCARD_CAP_MAX_FILE_BYTES, &buf, &n)) != PCARD_OK)
		return err;
	err = pcard_cap_open_mem(buf, n, out);
	free(buf);
	return err;
}

const pcard_cap_info *
pcard_cap_get_info(const pcard_cap *c)
{
	return c != NULL ? &c->info : NULL;
}

pcard_err
pcard_cap_component(const pcard_cap *c, pcard_cap_comp tag, const uint8_t **p, size_t *n)
{
	if (c == NULL || p == NULL || n == NULL || (unsigned)tag < 1 ||
	    (unsigned)tag > PCARD_CAP_COMP_MAX)
		return PCARD_E_INVALID_ARG;
	if (c->comp[tag] == NULL)
		return PCARD_E_NOT_FOUND;
	*p = c->comp[tag];
	*n = c->info.comp_len[tag];
	return PCARD_OK;
}

/* Whether tag belongs to the LFDB under flags. */
static int
in_lfdb(pcard_cap_comp t, unsigned flags)
{
	if (t == PCARD_CAP_DESCRIPTOR)
		return (flags & PCARD_CAP_LFDB_DESCRIPTOR) != 0;
	if (t == PCARD_CAP_DEBUG)
		return (flags & PCARD_CAP_LFDB_DEBUG) != 0;
	return 1;
}

size_t
pcard_cap_lfdb_len(const pcard_cap *c, unsigned flags)
{
	size_t n = 0;

	if (c == NULL)
		return 0;
	for (size_t i = 0; i < sizeof lfdb_order / sizeof lfdb_order[0]; i++)
		if (in_lfdb(lfdb_order[i], flags))
			n += c->info.comp_len[lfdb_order[i]];
	return n;
}

static void
wr_lfdb(const pcard_cap *c, unsigned flags, pcard_wr *w)
{
	for (size_t i = 0; i < sizeof lfdb_order / sizeof lfdb_order[0]; i++) {
		pcard_cap_comp t = lfdb_order[i];

		if (in_lfdb(t, flags) && c->comp[t] != NULL)
			pcard_wr_bytes(w, c->comp[t], c->info.comp_len[t]);
	}
}

pcard_err
pcard_cap_lfdb(const pcard_cap *c, unsigned flags, uint8_t *out, size_t out_cap,
    size_t *out_len)
{
	pcard_wr w;

	if (c == NULL || out_len == NULL || (out == NULL && out_cap != 0))
		return PCARD_E_INVALID_ARG;
	pcard_wr_init(&w, out, out_cap);
	wr_lfdb(c, flags, &w);
	return pcard_wr_finish(&w, out_len);
}

size_t
pcard_cap_load_file_len(const pcard_cap *c, unsigned flags)
{
	pcard_wr w;

	pcard_wr_init(&w, NULL, 0);	/* measuring mode */
	pcard_wr_u8(&w, 0xC4);
	pcard_wr_ber_len(&w, pcard_cap_lfdb_len(c, flags));
	return pcard_wr_len(&w) + pcard_cap_lfdb_len(c, flags);
}

pcard_err
pcard_cap_load_file(const pcard_cap *c, unsigned flags, uint8_t *out, size_t out_cap,
    size_t *out_len)
{
	pcard_wr w;

	if (c == NULL || out_len == NULL || (out == NULL && out_cap != 0))
		return PCARD_E_INVALID_ARG;
	pcard_wr_init(&w, out, out_cap);
	pcard_wr_u8(&w, 0xC4);
	pcard_wr_ber_len(&w, pcard_cap_lfdb_len(c, flags));
	wr_lfdb(c, flags, &w);
	return pcard_wr_finish(&w, out_len);
}

pcard_err
pcard_cap_lfdb_hash(const pcard_cap *c, unsigned flags, pcard_hash h, uint8_t *out,
    size_t out_cap, size_t *out_len)
{
	uint8_t *lfdb = NULL;
	size_t n, len = 0;
	pcard_err err = PCARD_E_INTERNAL;

	if (c == NULL || out == NULL || out_len == NULL)
		return PCARD_E_INVALID_ARG;
	n = pcard_cap_lfdb_len(c, flags);
	if ((lfdb = malloc(n > 0 ? n : 1)) == NULL) {
		err = PCARD_E_NOMEM;
		goto out;
	}
	if ((err = pcard_cap_lfdb(c, flags, lfdb, n, &len)) != PCARD_OK ||
	    (err = pcard_digest(h, lfdb, len, out, out_cap, out_len)) != PCARD_OK)
		goto out;
	err = PCARD_OK;
out:
	free(lfdb);
	return err;
}
