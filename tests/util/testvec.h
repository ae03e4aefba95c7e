/*
 * testvec.h: reads the known-answer vector files of ../shared/testdata/vectors.
 * Format: "[name]" starts a case; "Field = HEX-or-text" lines; "#" starts a comment.
 * A missing or unreadable file fails the calling cmocka test (it never skips).
 */
#ifndef PCARD_TESTVEC_H
#define PCARD_TESTVEC_H

#include <stddef.h>
#include <stdint.h>

#define TV_MAX_FIELDS 64

typedef struct tv_case {
	char name[128];
	size_t nfields;
	struct {
		char key[64];
		char *val;	/* owned by the tv_file */
	} f[TV_MAX_FIELDS];
} tv_case;

typedef struct tv_file {
	size_t ncases;
	tv_case *cases;
} tv_file;

/* Directory of the shared test data ($PCARD_TESTDATA, else the path CMake compiled in). */
const char *tv_datadir(void);
/* Load testdata/<relpath>, e.g. "vectors/scp03.txt". Fails the test when missing or empty. */
tv_file *tv_load(const char *relpath);
void tv_free(tv_file *f);
/* The case named name; fails the test when absent. */
const tv_case *tv_find(const tv_file *f, const char *name);
/* Field value as text, or NULL when the case lacks it. */
const char *tv_get(const tv_case *c, const char *key);
/* Field value as text; fails the test when absent. */
const char *tv_str(const tv_case *c, const char *key);
/* Field decoded from hex into out; fails the test when absent or not hex. Returns the length. */
size_t tv_hex(const tv_case *c, const char *key, uint8_t *out, size_t cap);
/* Hex text s (a literal of the test) decoded into out; fails the test when it is not hex or
 * longer than cap. Returns the length. */
size_t tv_unhex(const char *s, uint8_t *out, size_t cap);
/* Absolute path of testdata/<relpath> in a static buffer. */
const char *tv_path(const char *relpath);

#endif
