/*
 * file.c: whole-file reading with a size limit (file.h).
 */
#include <stdio.h>
#include <stdlib.h>

#include "postcard/crypto.h"
#include "postcard/file.h"

pcard_err
pcard_file_read(const char *path, size_t max, uint8_t **out, size_t *out_len)
{
	FILE *f = NULL;
	uint8_t *p = NULL;
	size_t n;
	pcard_err err = PCARD_E_INTERNAL;

	if (path == NULL || out == NULL || out_len == NULL || max == SIZE_MAX)
		return PCARD_E_INVALID_ARG;
	if ((f = fopen(path, "rb")) == NULL) {
		err = PCARD_E_IO;
		goto out;
	}
	/* One byte past the limit tells "too long" from "exactly the limit"; it then holds the NUL. */
	if ((p = malloc(max + 1)) == NULL) {
		err = PCARD_E_NOMEM;
		goto out;
	}
	n = fread(p, 1, max + 1, f);
	if (ferror(f)) {
		err = PCARD_E_IO;
		goto out;
	}
	if (n > max) {
		err = PCARD_E_BAD_FILE;
		goto out;
	}
	p[n] = 0;
	*out = p;
	*out_len = n;
	p = NULL;
	err = PCARD_OK;
out:
	if (f != NULL)
		fclose(f);
	if (p != NULL) {
		pcard_wipe(p, max + 1);
		free(p);
	}
	return err;
}
