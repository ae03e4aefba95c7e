/*
 * capbuild.h: a generator of structurally valid CAP files, for tests, fuzz seeds, the card
 * simulator and `postcard cap build`.
 *
 * The generated CAP (format 2.1) holds META-INF/MANIFEST.MF and, under
 * <package path>/javacard/, Header, Directory, Import, Applet (when there are applets),
 * ConstantPool, Class, Method, StaticField, RefLocation and Descriptor. Every cross-reference a
 * loader checks is consistent: the Directory lists the real component sizes and the import and
 * applet counts, and each applet's install method offset points at a method header inside the
 * Method component. The bytecode is not meant to run: each install method is a bare `return`
 * and the rest of Method (and of Class, past 65535 bytes of Method) is filler.
 */
#ifndef POSTCARD_CAPBUILD_H
#define POSTCARD_CAPBUILD_H

#include <stddef.h>
#include <stdint.h>

#include "postcard/cap.h"
#include "postcard/err.h"

/* Largest code_size: a full Method and a full Class component. */
#define PCARD_CAPBUILD_MAX_CODE (2u * PCARD_CAP_MAX_COMPONENT_BYTES)

typedef struct pcard_capbuild_params {
	pcard_cap_aid package;		/* 5 to 16 bytes */
	uint8_t pkg_major, pkg_minor;
	size_t napplets;		/* 0 makes a library package (no Applet component) */
	const pcard_cap_aid *applets;	/* borrowed; napplets entries, each 5 to 16 bytes */
	size_t nimports;
	const pcard_cap_import *imports;	/* borrowed */
	/*
	 * Total length of the Class and Method components, headers included. 0 asks for the
	 * smallest possible; otherwise it must lie in [pcard_capbuild_min_code(p),
	 * PCARD_CAPBUILD_MAX_CODE] and the generated components add up to exactly this.
	 */
	size_t code_size;
	/* Package directory inside the ZIP, e.g. "com/example/app"; NULL means "postcard/gen". */
	const char *package_path;
} pcard_capbuild_params;

/* The smallest code_size for these parameters (depends on the number of applets). */
size_t pcard_capbuild_min_code(const pcard_capbuild_params *p);

/*
 * Write the CAP file into out[0..out_cap).
 * @retval PCARD_E_INVALID_ARG an AID outside 5..16 bytes, more than 255 applets or imports,
 *         code_size out of range, a package path that is empty, absolute or too long
 * @retval PCARD_E_NOSPACE out_cap too small; *out_len then holds the size needed
 */
pcard_err pcard_capbuild_mem(const pcard_capbuild_params *p, uint8_t *out, size_t out_cap,
    size_t *out_len);
/* Write the CAP file to path (replaced if it exists). @retval PCARD_E_IO cannot write */
pcard_err pcard_capbuild_file(const pcard_capbuild_params *p, const char *path);
/* The LFDB the generated CAP carries (what pcard_cap_lfdb gives back for flags 0). */
pcard_err pcard_capbuild_lfdb(const pcard_capbuild_params *p, uint8_t *out, size_t out_cap,
    size_t *out_len);

#endif
