/*
 * cap.h: Java Card CAP files (JCVM 2.2 ch. 6) and the GlobalPlatform load file built from them
 * (CS 11.6, gp-facts 3.19).
 *
 * A CAP file is a ZIP archive holding <package path>/javacard/<Component>.cap entries; each
 * component is
 *
 *     +-----+----------+------------------+
 *     | tag | size (2) | info (size bytes)|
 *     +-----+----------+------------------+
 *
 * The Load File Data Block (LFDB) is the concatenation of the components in the order Header,
 * Directory, Import, Applet, Class, Method, StaticField, Export, ConstantPool, RefLocation,
 * optionally followed by Descriptor and then Debug; the load file sent by LOAD is
 * C4 || BER length || LFDB.
 *
 * A pcard_cap is a heap object (pcard_cap_open_* / pcard_cap_free) holding copies of the
 * components; everything it hands out is borrowed and valid until pcard_cap_free.
 * Every corruption found (ZIP layer, component sizes, Header/Applet/Import/Directory contents)
 * is PCARD_E_BAD_FILE; a valid CAP of a kind postcard does not handle (extended format,
 * CAP major version other than 2) is PCARD_E_UNSUPPORTED.
 */
#ifndef POSTCARD_CAP_H
#define POSTCARD_CAP_H

#include <stddef.h>
#include <stdint.h>

#include "postcard/bytes.h"
#include "postcard/crypto.h"
#include "postcard/err.h"

#define PCARD_CAP_AID_MIN 5		/* JCVM: an AID is 5 to 16 bytes */
#define PCARD_CAP_AID_MAX 16
#define PCARD_CAP_MAX_APPLETS 255	/* count is a u1 */
#define PCARD_CAP_MAX_IMPORTS 255	/* count is a u1 */
/*
 * Limits that turn a ZIP bomb or a huge file into PCARD_E_BAD_FILE. A component's size field
 * is a u2, so no component entry can be longer than 3 + 65535 bytes uncompressed; the reader
 * refuses a longer one from its declared size and never inflates more than that.
 */
#define PCARD_CAP_MAX_COMPONENT_BYTES (3u + 65535u)
#define PCARD_CAP_MAX_COMPONENT_FILES 64	/* .cap entries under a javacard/ directory */
#define PCARD_CAP_MAX_ZIP_ENTRIES 65536	/* entries in the archive as a whole */
#define PCARD_CAP_MAX_FILE_BYTES (64u * 1024u * 1024u)	/* pcard_cap_open_file */
#define PCARD_CAP_MAX_PATH 256		/* package path, e.g. "org/example/pkg" */
/* An LFDB of all twelve components fits in this. */
#define PCARD_CAP_MAX_LFDB_BYTES (12u * PCARD_CAP_MAX_COMPONENT_BYTES)

/* Component tags (JCVM 6.1). */
typedef enum pcard_cap_comp {
	PCARD_CAP_HEADER = 1,
	PCARD_CAP_DIRECTORY = 2,
	PCARD_CAP_APPLET = 3,
	PCARD_CAP_IMPORT = 4,
	PCARD_CAP_CONSTANT_POOL = 5,
	PCARD_CAP_CLASS = 6,
	PCARD_CAP_METHOD = 7,
	PCARD_CAP_STATIC_FIELD = 8,
	PCARD_CAP_REF_LOCATION = 9,
	PCARD_CAP_EXPORT = 10,
	PCARD_CAP_DESCRIPTOR = 11,
	PCARD_CAP_DEBUG = 12,
} pcard_cap_comp;
#define PCARD_CAP_COMP_MAX 12

/* Header flags (JCVM 6.3). */
#define PCARD_CAP_ACC_INT 0x01
#define PCARD_CAP_ACC_EXPORT 0x02
#define PCARD_CAP_ACC_APPLET 0x04
#define PCARD_CAP_ACC_EXTENDED 0x08

/* Flags of pcard_cap_lfdb and friends: append these components after the standard ten. */
#define PCARD_CAP_LFDB_DESCRIPTOR 0x01u
#define PCARD_CAP_LFDB_DEBUG 0x02u

typedef struct pcard_cap_aid {
	size_t len;			/* 5 to 16 (0 in an unset value) */
	uint8_t b[PCARD_CAP_AID_MAX];
} pcard_cap_aid;

typedef struct pcard_cap_applet {
	pcard_cap_aid aid;
	uint16_t install_offset;	/* into the Method component's info */
} pcard_cap_applet;

typedef struct pcard_cap_import {
	pcard_cap_aid aid;
	uint8_t major, minor;
} pcard_cap_import;

/* What the Header, Applet, Import and Directory components say. */
typedef struct pcard_cap_info {
	uint8_t cap_major, cap_minor;	/* CAP file format version, e.g. 2.1 */
	uint8_t flags;			/* PCARD_CAP_ACC_* */
	uint8_t pkg_major, pkg_minor;	/* package version */
	pcard_cap_aid package;
	size_t napplets;
	pcard_cap_applet applets[PCARD_CAP_MAX_APPLETS];
	size_t nimports;
	pcard_cap_import imports[PCARD_CAP_MAX_IMPORTS];
	/* Whole component lengths (3-byte header included), by tag; 0 when absent. */
	size_t comp_len[PCARD_CAP_COMP_MAX + 1];
	/* Package directory in the ZIP ("" when read from an LFDB), NUL-terminated. */
	char package_path[PCARD_CAP_MAX_PATH];
} pcard_cap_info;

typedef struct pcard_cap pcard_cap;

/*
 * Read a CAP file (ZIP) from a path: the file (at most PCARD_CAP_MAX_FILE_BYTES) is read into
 * memory and handed to pcard_cap_open_mem, so the fuzzed path is the path that runs.
 * @retval PCARD_E_IO cannot open or read the file
 * @retval PCARD_E_BAD_FILE not a ZIP, corrupt, no or duplicate components, limits exceeded
 */
pcard_err pcard_cap_open_file(const char *path, pcard_cap **out);
/* Read a CAP file (ZIP) from memory; buf is only read during the call. */
pcard_err pcard_cap_open_mem(const uint8_t *buf, size_t n, pcard_cap **out);
/*
 * Read a concatenation of components (an LFDB as carried by LOAD, any order, each tag at most
 * once, Header and Directory required). buf is only read during the call.
 */
pcard_err pcard_cap_open_lfdb(const uint8_t *buf, size_t n, pcard_cap **out);
/* Free c and its components; NULL is ignored. */
void pcard_cap_free(pcard_cap *c);

/* The parsed fields; borrowed, valid until pcard_cap_free(c). */
const pcard_cap_info *pcard_cap_get_info(const pcard_cap *c);
/* A whole component (tag, size, info); borrowed. @retval PCARD_E_NOT_FOUND absent */
pcard_err pcard_cap_component(const pcard_cap *c, pcard_cap_comp tag, const uint8_t **p,
    size_t *n);
/* English component name ("Header", "ConstantPool", ...) or NULL for an unknown tag. */
const char *pcard_cap_comp_name(pcard_cap_comp tag);

/* Length of the LFDB with the given PCARD_CAP_LFDB_* flags. */
size_t pcard_cap_lfdb_len(const pcard_cap *c, unsigned flags);
/* The LFDB into out[0..out_cap). @retval PCARD_E_NOSPACE out_cap < pcard_cap_lfdb_len */
pcard_err pcard_cap_lfdb(const pcard_cap *c, unsigned flags, uint8_t *out, size_t out_cap,
    size_t *out_len);
/* Length of the load file below: 1 + BER length octets + LFDB length. */
size_t pcard_cap_load_file_len(const pcard_cap *c, unsigned flags);
/* The load file C4 || BER length || LFDB (no DAP blocks). */
pcard_err pcard_cap_load_file(const pcard_cap *c, unsigned flags, uint8_t *out, size_t out_cap,
    size_t *out_len);
/* Hash of the LFDB (the value of C4, not its tag or length): the LFDBH of CS C.2. */
pcard_err pcard_cap_lfdb_hash(const pcard_cap *c, unsigned flags, pcard_hash h, uint8_t *out,
    size_t out_cap, size_t *out_len);

/*
 * Parse one whole component tag || size(2) || info held in p[0..n): size must equal n - 3.
 * *info reads exactly the info bytes (borrowed from p).
 * @retval PCARD_E_BAD_FILE shorter than 3 bytes, or the size field disagrees with n
 */
pcard_err pcard_cap_parse_component(const uint8_t *p, size_t n, uint8_t *tag, pcard_rd *info);

#endif
