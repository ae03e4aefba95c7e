/* test_cap.c: CAP reader against ../shared/testdata/vectors/cap.txt, corruption, capbuild. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <zip.h>

#include "postcard/bytes.h"
#include "postcard/cap.h"
#include "postcard/capbuild.h"
#include "postcard/crypto.h"
#include "postcard/err.h"
#include "testvec.h"

#define BIG (PCARD_CAP_MAX_LFDB_BYTES + 16)

static uint8_t *
read_all(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = malloc(1 << 20);

	assert_non_null(f);
	assert_non_null(buf);
	*n = fread(buf, 1, 1 << 20, f);
	assert_true(*n > 0 && *n < (1 << 20));
	fclose(f);
	return buf;
}

static void
aid_from_hex(const char *s, pcard_cap_aid *a)
{
	assert_int_equal(pcard_hex_decode(s, a->b, sizeof a->b, &a->len), PCARD_OK);
}

static void
assert_aid(const pcard_cap_aid *got, const char *hex)
{
	pcard_cap_aid want;

	aid_from_hex(hex, &want);
	assert_int_equal(got->len, want.len);
	assert_memory_equal(got->b, want.b, want.len);
}

/* "AID1, AID2" -> checks the applets in order. */
static void
check_applets(const pcard_cap_info *ci, const char *list)
{
	char buf[1024], *save = NULL, *tok;
	size_t i = 0;

	snprintf(buf, sizeof buf, "%s", list);
	for (tok = strtok_r(buf, ", ", &save); tok != NULL; tok = strtok_r(NULL, ", ", &save)) {
		assert_true(i < ci->napplets);
		assert_aid(&ci->applets[i].aid, tok);
		i++;
	}
	assert_int_equal(i, ci->napplets);
}

/* "AID vM.m, AID vM.m" -> checks the imports in order with their versions. */
static void
check_imports(const pcard_cap_info *ci, const char *list)
{
	char buf[1024], *save = NULL, *item;
	size_t i = 0;

	snprintf(buf, sizeof buf, "%s", list);
	for (item = strtok_r(buf, ",", &save); item != NULL; item = strtok_r(NULL, ",", &save)) {
		char aid[64];
		unsigned maj, min;

		assert_int_equal(sscanf(item, " %63s v%u.%u", aid, &maj, &min), 3);
		assert_true(i < ci->nimports);
		assert_aid(&ci->imports[i].aid, aid);
		assert_int_equal(ci->imports[i].major, maj);
		assert_int_equal(ci->imports[i].minor, min);
		i++;
	}
	assert_int_equal(i, ci->nimports);
}

static void
check_case(const tv_case *tc, const pcard_cap *c)
{
	const pcard_cap_info *ci = pcard_cap_get_info(c);
	uint8_t *lfdb = malloc(BIG), *lf = malloc(BIG), want[64], h[64];
	size_t len, lflen, wl, hl;
	const char *s;

	assert_non_null(lfdb);
	assert_non_null(lf);
	assert_aid(&ci->package, tv_str(tc, "PackageAID"));
	check_applets(ci, tv_str(tc, "AppletAIDs"));
	check_imports(ci, tv_str(tc, "Imports"));
	assert_int_equal(ci->cap_major, 2);

	assert_int_equal(pcard_cap_lfdb(c, 0, lfdb, BIG, &len), PCARD_OK);
	assert_int_equal(len, strtoul(tv_str(tc, "LFDBLength"), NULL, 10));
	assert_int_equal(pcard_cap_lfdb_len(c, 0), len);
	if ((s = tv_get(tc, "LFDBPrefix")) != NULL) {
		wl = tv_hex(tc, "LFDBPrefix", lf, BIG);
		assert_memory_equal(lfdb, lf, wl);
	}
	wl = tv_hex(tc, "LFDBSHA256", want, sizeof want);
	assert_int_equal(pcard_cap_lfdb_hash(c, 0, PCARD_HASH_SHA256, h, sizeof h, &hl), PCARD_OK);
	assert_int_equal(hl, wl);
	assert_memory_equal(h, want, wl);
	if (tv_get(tc, "LFDBSHA1") != NULL) {
		wl = tv_hex(tc, "LFDBSHA1", want, sizeof want);
		assert_int_equal(pcard_cap_lfdb_hash(c, 0, PCARD_HASH_SHA1, h, sizeof h, &hl),
		    PCARD_OK);
		assert_int_equal(hl, 20);
		assert_memory_equal(h, want, 20);
	}

	/* Load file = C4 || BER length || LFDB (all samples are 128..65535 bytes: 81/82 form). */
	assert_int_equal(pcard_cap_load_file(c, 0, lf, BIG, &lflen), PCARD_OK);
	assert_int_equal(pcard_cap_load_file_len(c, 0), lflen);
	assert_int_equal(lf[0], 0xC4);
	if (len < 256) {
		assert_int_equal(lf[1], 0x81);
		assert_int_equal(lf[2], len);
		assert_int_equal(lflen, len + 3);
		assert_memory_equal(lf + 3, lfdb, len);
	} else {
		assert_int_equal(lf[1], 0x82);
		assert_int_equal((lf[2] << 8) | lf[3], len);
		assert_int_equal(lflen, len + 4);
		assert_memory_equal(lf + 4, lfdb, len);
	}
	free(lfdb);
	free(lf);
}

static void
test_shared_caps(void **state)
{
	tv_file *f = tv_load("vectors/cap.txt");

	(void)state;
	assert_true(f->ncases >= 6);
	for (size_t i = 0; i < f->ncases; i++) {
		const tv_case *tc = &f->cases[i];
		char rel[256];
		pcard_cap *c = NULL, *c2 = NULL, *c3 = NULL;
		uint8_t *buf, *lfdb = malloc(BIG);
		size_t n, len;

		assert_non_null(lfdb);
		snprintf(rel, sizeof rel, "cap/%s", tv_str(tc, "File"));
		assert_int_equal(pcard_cap_open_file(tv_path(rel), &c), PCARD_OK);
		check_case(tc, c);

		/* The same from memory, and from the LFDB alone. */
		buf = read_all(tv_path(rel), &n);
		assert_int_equal(pcard_cap_open_mem(buf, n, &c2), PCARD_OK);
		check_case(tc, c2);
		assert_int_equal(pcard_cap_lfdb(c, 0, lfdb, BIG, &len), PCARD_OK);
		assert_int_equal(pcard_cap_open_lfdb(lfdb, len, &c3), PCARD_OK);
		check_case(tc, c3);
		assert_string_equal(pcard_cap_get_info(c3)->package_path, "");
		assert_true(strlen(pcard_cap_get_info(c)->package_path) > 0);
		pcard_cap_free(c);
		pcard_cap_free(c2);
		pcard_cap_free(c3);
		free(buf);
		free(lfdb);
	}
	tv_free(f);
}

static void
test_gppro_details(void **state)
{
	pcard_cap *c = NULL;
	const pcard_cap_info *ci;
	const uint8_t *p;
	size_t n, len;
	uint8_t small[16], h[64];

	(void)state;
	assert_int_equal(pcard_cap_open_file(tv_path("cap/gppro-empty-2.2.1.cap"), &c), PCARD_OK);
	ci = pcard_cap_get_info(c);
	assert_string_equal(ci->package_path, "testapplets/empty");
	assert_int_equal(ci->cap_major, 2);
	assert_int_equal(ci->cap_minor, 1);
	assert_int_equal(ci->flags, PCARD_CAP_ACC_APPLET);
	assert_int_equal(ci->pkg_major, 0);
	assert_int_equal(ci->pkg_minor, 0);
	assert_int_equal(ci->applets[0].install_offset, 0x13);
	assert_int_equal(ci->comp_len[PCARD_CAP_HEADER], 18);
	assert_int_equal(ci->comp_len[PCARD_CAP_DESCRIPTOR], 72);
	assert_int_equal(ci->comp_len[PCARD_CAP_EXPORT], 0);
	assert_int_equal(pcard_cap_component(c, PCARD_CAP_EXPORT, &p, &n), PCARD_E_NOT_FOUND);
	assert_int_equal(pcard_cap_component(c, PCARD_CAP_METHOD, &p, &n), PCARD_OK);
	assert_int_equal(n, 45);
	assert_int_equal(p[0], 7);
	assert_int_equal(pcard_cap_component(c, (pcard_cap_comp)13, &p, &n), PCARD_E_INVALID_ARG);
	assert_string_equal(pcard_cap_comp_name(PCARD_CAP_CONSTANT_POOL), "ConstantPool");
	assert_null(pcard_cap_comp_name((pcard_cap_comp)0));
	/* Descriptor on request, appended after RefLocation. */
	assert_int_equal(pcard_cap_lfdb_len(c, PCARD_CAP_LFDB_DESCRIPTOR), 211 + 72);
	assert_int_equal(pcard_cap_lfdb_len(c, PCARD_CAP_LFDB_DEBUG), 211);
	assert_int_equal(pcard_cap_lfdb(c, 0, small, sizeof small, &len), PCARD_E_NOSPACE);
	assert_int_equal(pcard_cap_load_file(c, 0, small, sizeof small, &len), PCARD_E_NOSPACE);
	assert_int_equal(pcard_cap_lfdb_hash(c, 0, PCARD_HASH_SHA512, h, sizeof h, &len),
	    PCARD_OK);
	assert_int_equal(len, 64);
	assert_int_not_equal(pcard_cap_lfdb_hash(c, 0, PCARD_HASH_SHA512, h, 32, &len), PCARD_OK);
	pcard_cap_free(c);
	pcard_cap_free(NULL);
}

/* Every cut of every shared CAP is refused as a bad file; nothing crashes. */
static void
test_truncated(void **state)
{
	tv_file *f = tv_load("vectors/cap.txt");

	(void)state;
	for (size_t i = 0; i < f->ncases; i++) {
		char rel[256];
		size_t n;
		uint8_t *buf;

		snprintf(rel, sizeof rel, "cap/%s", tv_str(&f->cases[i], "File"));
		buf = read_all(tv_path(rel), &n);
		/* Every cut point for the first file, a stride for the rest. */
		for (size_t cut = 0; cut < n; cut += (i == 0 ? 1 : 13)) {
			pcard_cap *c = NULL;
			uint8_t *copy = malloc(cut > 0 ? cut : 1);

			memcpy(copy, buf, cut);
			assert_int_equal(pcard_cap_open_mem(copy, cut, &c), PCARD_E_BAD_FILE);
			assert_null(c);
			free(copy);
		}
		free(buf);
	}
	tv_free(f);
}

/* Flipped bytes anywhere: an error or a consistent result, never a crash. */
static void
test_corrupted(void **state)
{
	size_t n, errors = 0, tries = 0;
	uint8_t *buf = read_all(tv_path("cap/openjavacard-app-demo.cap"), &n);

	(void)state;
	for (size_t pos = 0; pos < n; pos += 3) {
		for (unsigned x = 0; x < 2; x++) {
			uint8_t *copy = malloc(n);
			pcard_cap *c = NULL;
			pcard_err err;

			memcpy(copy, buf, n);
			copy[pos] ^= x == 0 ? 0xFF : 0x01;
			err = pcard_cap_open_mem(copy, n, &c);
			tries++;
			if (err != PCARD_OK) {
				errors++;
				assert_null(c);
				assert_true(err == PCARD_E_BAD_FILE || err == PCARD_E_UNSUPPORTED);
			} else {
				assert_true(pcard_cap_get_info(c)->package.len >= 5);
				pcard_cap_free(c);
			}
			free(copy);
		}
	}
	/* Compressed data and CRCs make almost every flip fatal. */
	assert_true(errors > tries / 2);
	free(buf);
}

/* LFDB-level corruption of the gppro Empty CAP: each check raises its error. */
static void
test_component_checks(void **state)
{
	pcard_cap *c = NULL, *bad = NULL;
	uint8_t lfdb[512], m[512];
	size_t len;
	pcard_rd info;
	uint8_t tag;
	const uint8_t comp_ok[] = { 0x05, 0x00, 0x02, 0x00, 0x00 };

	(void)state;
	assert_int_equal(pcard_cap_open_file(tv_path("cap/gppro-empty-2.2.1.cap"), &c), PCARD_OK);
	assert_int_equal(pcard_cap_lfdb(c, 0, lfdb, sizeof lfdb, &len), PCARD_OK);
	assert_int_equal(len, 211);
	/* Offsets in this LFDB: Header 0 (18), Directory 18 (34), Import 52 (34), Applet 86. */

	/* Every cut of the LFDB is refused. */
	for (size_t cut = 0; cut < len; cut++) {
		assert_int_equal(pcard_cap_open_lfdb(lfdb, cut, &bad), PCARD_E_BAD_FILE);
		assert_null(bad);
	}
	/* Trailing byte. */
	memcpy(m, lfdb, len);
	m[len] = 0x01;
	assert_int_equal(pcard_cap_open_lfdb(m, len + 1, &bad), PCARD_E_BAD_FILE);
	/* A component twice. */
	memcpy(m, lfdb, len);
	memcpy(m + len, lfdb, 18);
	assert_int_equal(pcard_cap_open_lfdb(m, len + 18, &bad), PCARD_E_BAD_FILE);
	/* Bad magic. */
	memcpy(m, lfdb, len);
	m[3] = 0xCA;
	assert_int_equal(pcard_cap_open_lfdb(m, len, &bad), PCARD_E_BAD_FILE);
	/* CAP major version 3 and the extended flag are unsupported. */
	memcpy(m, lfdb, len);
	m[8] = 3;
	assert_int_equal(pcard_cap_open_lfdb(m, len, &bad), PCARD_E_UNSUPPORTED);
	memcpy(m, lfdb, len);
	m[9] |= PCARD_CAP_ACC_EXTENDED;
	assert_int_equal(pcard_cap_open_lfdb(m, len, &bad), PCARD_E_UNSUPPORTED);
	/* Package AID length 4 (with the size kept consistent it is still refused). */
	memcpy(m, lfdb, len);
	m[12] = 4;
	assert_int_equal(pcard_cap_open_lfdb(m, len, &bad), PCARD_E_BAD_FILE);
	/* Directory lists a wrong size for Header. */
	memcpy(m, lfdb, len);
	m[18 + 3 + 1] ^= 1;
	assert_int_equal(pcard_cap_open_lfdb(m, len, &bad), PCARD_E_BAD_FILE);
	/* Directory import count disagrees with the Import component. */
	memcpy(m, lfdb, len);
	m[18 + 3 + 28] = 2;
	assert_int_equal(pcard_cap_open_lfdb(m, len, &bad), PCARD_E_BAD_FILE);
	/* Applet install offset outside Method (Applet: 03 000c 01 08 AID(8) offset(2)). */
	memcpy(m, lfdb, len);
	m[86 + 3 + 1 + 1 + 8] = 0x7F;
	assert_int_equal(pcard_cap_open_lfdb(m, len, &bad), PCARD_E_BAD_FILE);
	/* Component size field one too large. */
	memcpy(m, lfdb, len);
	m[52 + 2] += 1;
	assert_int_equal(pcard_cap_open_lfdb(m, len, &bad), PCARD_E_BAD_FILE);
	/* Unknown component tag. */
	memcpy(m, lfdb, len);
	m[86] = 13;
	assert_int_equal(pcard_cap_open_lfdb(m, len, &bad), PCARD_E_BAD_FILE);
	/* Empty input: no Header. */
	assert_int_equal(pcard_cap_open_lfdb(NULL, 0, &bad), PCARD_E_BAD_FILE);
	assert_null(bad);
	assert_int_equal(pcard_cap_open_lfdb(NULL, 5, &bad), PCARD_E_INVALID_ARG);

	assert_int_equal(pcard_cap_parse_component(comp_ok, sizeof comp_ok, &tag, &info),
	    PCARD_OK);
	assert_int_equal(tag, 5);
	assert_int_equal(pcard_rd_left(&info), 2);
	assert_int_equal(pcard_cap_parse_component(comp_ok, 4, &tag, &info), PCARD_E_BAD_FILE);
	assert_int_equal(pcard_cap_parse_component(comp_ok, 2, &tag, &info), PCARD_E_BAD_FILE);
	pcard_cap_free(c);
}

/* Write a ZIP with the given (name, data) entries into a heap buffer. */
static uint8_t *
make_zip(const char *const *names, const uint8_t *const *data, const size_t *lens, size_t n,
    size_t *out_len)
{
	zip_error_t ze;
	zip_source_t *src;
	zip_t *za;
	zip_stat_t st;
	uint8_t *out;

	zip_error_init(&ze);
	src = zip_source_buffer_create(NULL, 0, 0, &ze);
	assert_non_null(src);
	zip_source_keep(src);
	za = zip_open_from_source(src, ZIP_TRUNCATE, &ze);
	assert_non_null(za);
	for (size_t i = 0; i < n; i++) {
		zip_source_t *s = zip_source_buffer(za, data[i], lens[i], 0);

		assert_non_null(s);
		assert_true(zip_file_add(za, names[i], s, ZIP_FL_ENC_UTF_8) >= 0);
	}
	assert_int_equal(zip_close(za), 0);
	assert_int_equal(zip_source_open(src), 0);
	zip_stat_init(&st);
	assert_int_equal(zip_source_stat(src, &st), 0);
	out = malloc(st.size);
	assert_non_null(out);
	assert_int_equal(zip_source_read(src, out, st.size), (zip_int64_t)st.size);
	zip_source_close(src);
	zip_source_free(src);
	zip_error_fini(&ze);
	*out_len = st.size;
	return out;
}

static void
test_zip_layer(void **state)
{
	pcard_cap *c = NULL, *src = NULL;
	const uint8_t *hdr, *dir;
	size_t hn, dn, zn;
	uint8_t *z, *bomb;
	const char *const two_pkgs[] = { "a/javacard/Header.cap", "b/javacard/Directory.cap" };
	const char *const no_comps[] = { "META-INF/MANIFEST.MF" };
	const char *const dup[] = { "a/javacard/Header.cap", "a/javacard/Directory.cap",
		"a/javacard/Headex.cap" };
	const char *const bigname[] = { "a/javacard/Header.cap" };
	const uint8_t *datav[3];
	size_t lenv[3];
	char *many[PCARD_CAP_MAX_COMPONENT_FILES + 1];
	const uint8_t *manyd[PCARD_CAP_MAX_COMPONENT_FILES + 1];
	size_t manyl[PCARD_CAP_MAX_COMPONENT_FILES + 1];
	const uint8_t junk[] = "PK\x03\x04 this is not really a zip file";

	(void)state;
	assert_int_equal(pcard_cap_open_file(tv_path("cap/gppro-empty-2.2.1.cap"), &src),
	    PCARD_OK);
	assert_int_equal(pcard_cap_component(src, PCARD_CAP_HEADER, &hdr, &hn), PCARD_OK);
	assert_int_equal(pcard_cap_component(src, PCARD_CAP_DIRECTORY, &dir, &dn), PCARD_OK);

	/* Not a ZIP, empty, missing file. */
	assert_int_equal(pcard_cap_open_mem(junk, sizeof junk, &c), PCARD_E_BAD_FILE);
	assert_int_equal(pcard_cap_open_mem(NULL, 0, &c), PCARD_E_BAD_FILE);
	assert_int_equal(pcard_cap_open_file("/nonexistent/x.cap", &c), PCARD_E_IO);
	assert_int_equal(pcard_cap_open_file(NULL, &c), PCARD_E_INVALID_ARG);

	/* Components in two package directories. */
	datav[0] = hdr;
	lenv[0] = hn;
	datav[1] = dir;
	lenv[1] = dn;
	z = make_zip(two_pkgs, datav, lenv, 2, &zn);
	assert_int_equal(pcard_cap_open_mem(z, zn, &c), PCARD_E_BAD_FILE);
	free(z);
	/* No components at all. */
	z = make_zip(no_comps, datav, lenv, 1, &zn);
	assert_int_equal(pcard_cap_open_mem(z, zn, &c), PCARD_E_BAD_FILE);
	free(z);
	/*
	 * The same component twice: libzip will not write two equal names, so write
	 * "Headex.cap" and patch its name (stored uncompressed, twice) into "Header.cap".
	 */
	datav[2] = hdr;
	lenv[2] = hn;
	z = make_zip(dup, datav, lenv, 3, &zn);
	for (size_t i = 0, patched = 0; i + 10 <= zn; i++)
		if (memcmp(z + i, "Headex.cap", 10) == 0) {
			memcpy(z + i, "Header.cap", 10);
			assert_true(++patched <= 2);
		}
	assert_int_equal(pcard_cap_open_mem(z, zn, &c), PCARD_E_BAD_FILE);
	free(z);
	/* A zip bomb: 8 MiB of zeros compress to a few KB; refused from its declared size. */
	bomb = calloc(1, 8u << 20);
	assert_non_null(bomb);
	datav[0] = bomb;
	lenv[0] = 8u << 20;
	z = make_zip(bigname, datav, lenv, 1, &zn);
	assert_true(zn < 100000);
	assert_int_equal(pcard_cap_open_mem(z, zn, &c), PCARD_E_BAD_FILE);
	free(z);
	free(bomb);
	/* Too many component files. */
	for (size_t i = 0; i <= PCARD_CAP_MAX_COMPONENT_FILES; i++) {
		many[i] = malloc(64);
		snprintf(many[i], 64, "p/javacard/Custom%zu.cap", i);
		manyd[i] = hdr;
		manyl[i] = hn;
	}
	z = make_zip((const char *const *)many, manyd, manyl, PCARD_CAP_MAX_COMPONENT_FILES + 1,
	    &zn);
	assert_int_equal(pcard_cap_open_mem(z, zn, &c), PCARD_E_BAD_FILE);
	free(z);
	for (size_t i = 0; i <= PCARD_CAP_MAX_COMPONENT_FILES; i++)
		free(many[i]);
	assert_null(c);
	pcard_cap_free(src);
}

static void
build_params(pcard_capbuild_params *p, pcard_cap_aid *apps, pcard_cap_import *imps)
{
	memset(p, 0, sizeof *p);
	aid_from_hex("A000000151000099", &p->package);
	p->pkg_major = 1;
	p->pkg_minor = 4;
	aid_from_hex("A00000015100009901", &apps[0]);
	aid_from_hex("A0000001510000990201020304050607", &apps[1]);
	aid_from_hex("A0000000620101", &imps[0].aid);
	imps[0].major = 1;
	imps[0].minor = 3;
	aid_from_hex("A0000000620001", &imps[1].aid);
	imps[1].major = 1;
	imps[1].minor = 0;
	p->applets = apps;
	p->napplets = 2;
	p->imports = imps;
	p->nimports = 2;
	p->package_path = "com/example/gen";
}

static void
check_built(const pcard_capbuild_params *p, size_t code)
{
	uint8_t *z = malloc(BIG), *lfdb = malloc(BIG), *lfdb2 = malloc(BIG);
	size_t zn, ln, ln2;
	pcard_cap *c = NULL;
	const pcard_cap_info *ci;

	assert_non_null(z);
	assert_non_null(lfdb);
	assert_non_null(lfdb2);
	assert_int_equal(pcard_capbuild_mem(p, z, BIG, &zn), PCARD_OK);
	assert_int_equal(pcard_cap_open_mem(z, zn, &c), PCARD_OK);
	ci = pcard_cap_get_info(c);
	assert_int_equal(ci->package.len, p->package.len);
	assert_memory_equal(ci->package.b, p->package.b, p->package.len);
	assert_int_equal(ci->pkg_major, p->pkg_major);
	assert_int_equal(ci->pkg_minor, p->pkg_minor);
	assert_string_equal(ci->package_path, p->package_path);
	assert_int_equal(ci->napplets, p->napplets);
	for (size_t i = 0; i < p->napplets; i++) {
		assert_int_equal(ci->applets[i].aid.len, p->applets[i].len);
		assert_memory_equal(ci->applets[i].aid.b, p->applets[i].b, p->applets[i].len);
		assert_true(ci->applets[i].install_offset < ci->comp_len[PCARD_CAP_METHOD] - 3);
	}
	assert_int_equal(ci->nimports, p->nimports);
	for (size_t i = 0; i < p->nimports; i++) {
		assert_memory_equal(ci->imports[i].aid.b, p->imports[i].aid.b, p->imports[i].aid.len);
		assert_int_equal(ci->imports[i].major, p->imports[i].major);
		assert_int_equal(ci->imports[i].minor, p->imports[i].minor);
	}
	assert_int_equal(ci->comp_len[PCARD_CAP_CLASS] + ci->comp_len[PCARD_CAP_METHOD], code);
	assert_int_equal(ci->comp_len[PCARD_CAP_DESCRIPTOR], 6);
	assert_int_equal(pcard_cap_lfdb(c, 0, lfdb, BIG, &ln), PCARD_OK);
	assert_int_equal(pcard_capbuild_lfdb(p, lfdb2, BIG, &ln2), PCARD_OK);
	assert_int_equal(ln, ln2);
	assert_memory_equal(lfdb, lfdb2, ln);
	pcard_cap_free(c);
	free(z);
	free(lfdb);
	free(lfdb2);
}

static void
test_capbuild(void **state)
{
	pcard_capbuild_params p;
	pcard_cap_aid apps[2];
	pcard_cap_import imps[2];
	uint8_t small[64], *z;
	size_t n, n2;
	char path[] = "/tmp/pcard-capbuild-XXXXXX";
	int fd;
	pcard_cap *c = NULL;

	(void)state;
	build_params(&p, apps, imps);
	/* Smallest, 30 KB, Method full, Method and Class full. */
	check_built(&p, pcard_capbuild_min_code(&p));
	p.code_size = 30000;
	check_built(&p, 30000);
	p.code_size = 3 + 65535 + 3;
	check_built(&p, p.code_size);
	p.code_size = PCARD_CAPBUILD_MAX_CODE;
	check_built(&p, p.code_size);
	/* A library: no Applet component. */
	p.napplets = 0;
	p.code_size = 0;
	check_built(&p, pcard_capbuild_min_code(&p));
	assert_int_equal(pcard_capbuild_min_code(&p), 7);

	/* Deterministic output; NOSPACE tells the size needed. */
	build_params(&p, apps, imps);
	p.code_size = 30000;
	z = malloc(BIG);
	assert_int_equal(pcard_capbuild_mem(&p, z, BIG, &n), PCARD_OK);
	assert_int_equal(pcard_capbuild_mem(&p, small, sizeof small, &n2), PCARD_E_NOSPACE);
	assert_int_equal(n2, n);
	assert_int_equal(pcard_capbuild_mem(&p, z + n, BIG - n, &n2), PCARD_OK);
	assert_memory_equal(z, z + n, n);

	/* To a file, read back by path. */
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(pcard_capbuild_file(&p, path), PCARD_OK);
	assert_int_equal(pcard_cap_open_file(path, &c), PCARD_OK);
	assert_int_equal(pcard_cap_get_info(c)->napplets, 2);
	pcard_cap_free(c);
	unlink(path);
	assert_int_equal(pcard_capbuild_file(&p, "/nonexistent-dir/x.cap"), PCARD_E_IO);

	/* Invalid arguments. */
	p.code_size = PCARD_CAPBUILD_MAX_CODE + 1;
	assert_int_equal(pcard_capbuild_mem(&p, z, BIG, &n), PCARD_E_INVALID_ARG);
	p.code_size = pcard_capbuild_min_code(&p) - 1;
	assert_int_equal(pcard_capbuild_mem(&p, z, BIG, &n), PCARD_E_INVALID_ARG);
	p.code_size = 0;
	p.package.len = 4;
	assert_int_equal(pcard_capbuild_mem(&p, z, BIG, &n), PCARD_E_INVALID_ARG);
	p.package.len = 8;
	apps[1].len = 17;
	assert_int_equal(pcard_capbuild_mem(&p, z, BIG, &n), PCARD_E_INVALID_ARG);
	apps[1].len = 8;
	imps[0].aid.len = 0;
	assert_int_equal(pcard_capbuild_lfdb(&p, z, BIG, &n), PCARD_E_INVALID_ARG);
	imps[0].aid.len = 7;
	p.package_path = "/abs/path";
	assert_int_equal(pcard_capbuild_mem(&p, z, BIG, &n), PCARD_E_INVALID_ARG);
	p.package_path = "a/../b";
	assert_int_equal(pcard_capbuild_mem(&p, z, BIG, &n), PCARD_E_INVALID_ARG);
	p.package_path = "";
	assert_int_equal(pcard_capbuild_mem(&p, z, BIG, &n), PCARD_E_INVALID_ARG);
	p.package_path = NULL;	/* default path */
	assert_int_equal(pcard_capbuild_mem(&p, z, BIG, &n), PCARD_OK);
	assert_int_equal(pcard_cap_open_mem(z, n, &c), PCARD_OK);
	assert_string_equal(pcard_cap_get_info(c)->package_path, "postcard/gen");
	pcard_cap_free(c);
	p.napplets = 256;
	assert_int_equal(pcard_capbuild_mem(&p, z, BIG, &n), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_capbuild_mem(NULL, z, BIG, &n), PCARD_E_INVALID_ARG);
	free(z);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shared_caps),
		cmocka_unit_test(test_gppro_details),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_corrupted),
		cmocka_unit_test(test_component_checks),
		cmocka_unit_test(test_zip_layer),
		cmocka_unit_test(test_capbuild),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
