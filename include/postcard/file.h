/*
 * file.h: reading a whole small file into memory, bounded.
 */
#ifndef POSTCARD_FILE_H
#define POSTCARD_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "postcard/err.h"

/*
 * Read all of path, at most max bytes, into a new buffer of max + 1 bytes that the caller
 * frees. The bytes are followed by a NUL, so a text file can be used as a string.
 * PCARD_E_IO when the file cannot be opened or read, PCARD_E_BAD_FILE when it is longer than
 * max, PCARD_E_NOMEM; on failure *out and *out_len are untouched and any bytes read are wiped.
 */
pcard_err pcard_file_read(const char *path, size_t max, uint8_t **out, size_t *out_len);

#endif
