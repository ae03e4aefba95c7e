/*
 * cardfile.c: the card file's image (header, body, checksum) and its atomic commit.
 *
 *   offset  size  field
 *        0     8  magic "PCARDSIM"
 *        8     2  format version (1), big-endian
 *       10     2  flags (0)
 *       12     8  generation: commits since creation, big-endian
 *       20     4  body length n, big-endian
 *       24     n  body (cardstate.c, pcard_cardstate_encode)
 *     24+n    32  SHA-256 over bytes 0 .. 24+n-1
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cardfile.h"
#include "postcard/bytes.h"
#include "postcard/crypto.h"

void
pcard_cardfile_image_free(uint8_t *img, size_t len)
{
	if (img == NULL)
		return;
	pcard_wipe(img, len);
	free(img);
}

pcard_err
pcard_cardfile_image(const pcard_cardstate *cs, uint64_t generation, uint8_t **out,
    size_t *out_len)
{
	uint8_t *img = NULL;
	size_t body = 0, total = 0, n, dn;
	pcard_wr w;
	pcard_err err = PCARD_E_INTERNAL;

	if (cs == NULL || out == NULL || out_len == NULL)
		return PCARD_E_INVALID_ARG;
	*out = NULL;
	*out_len = 0;
	if ((err = pcard_cardstate_encode(cs, NULL, 0, &body)) != PCARD_OK)
		goto out;
	err = PCARD_E_NOSPACE;
	if (body >= PCARD_CARDFILE_MAX_BYTES - PCARD_CARDFILE_HEADER_BYTES -
	    PCARD_CARDFILE_DIGEST_BYTES)
		goto out;
	total = PCARD_CARDFILE_HEADER_BYTES + body + PCARD_CARDFILE_DIGEST_BYTES;
	err = PCARD_E_NOMEM;
	if ((img = malloc(total)) == NULL)
		goto out;
	pcard_wr_init(&w, img, PCARD_CARDFILE_HEADER_BYTES);
	pcard_wr_bytes(&w, PCARD_CARDFILE_MAGIC, 8);
	pcard_wr_u16(&w, PCARD_CARDFILE_VERSION);
	pcard_wr_u16(&w, 0);
	pcard_wr_u32(&w, (uint32_t)(generation >> 32));
	pcard_wr_u32(&w, (uint32_t)generation);
	pcard_wr_u32(&w, (uint32_t)body);
	if ((err = pcard_wr_finish(&w, &n)) != PCARD_OK)
		goto out;
	if ((err = pcard_cardstate_encode(cs, img + PCARD_CARDFILE_HEADER_BYTES, body, &n)) !=
	    PCARD_OK)
		goto out;
	err = PCARD_E_INTERNAL;
	if (n != body)
		goto out;
	if ((err = pcard_digest(PCARD_HASH_SHA256, img, PCARD_CARDFILE_HEADER_BYTES + body,
	    img + PCARD_CARDFILE_HEADER_BYTES + body, PCARD_CARDFILE_DIGEST_BYTES, &dn)) !=
	    PCARD_OK)
		goto out;
	*out = img;
	*out_len = total;
	img = NULL;
	err = PCARD_OK;
out:
	pcard_cardfile_image_free(img, total);
	return err;
}

pcard_err
pcard_cardfile_parse(const uint8_t *img, size_t n, pcard_cardstate *cs, uint64_t *generation)
{
	uint8_t dig[PCARD_CARDFILE_DIGEST_BYTES];
	const uint8_t *magic, *body, *want;
	uint16_t version, flags;
	uint32_t hi, lo, blen;
	size_t dn;
	pcard_rd r;
	pcard_err err = PCARD_E_INTERNAL;

	if (cs == NULL || (img == NULL && n > 0))
		return PCARD_E_INVALID_ARG;
	pcard_cardstate_clear(cs);
	pcard_rd_init(&r, img, n);
	err = PCARD_E_TRUNCATED;
	if (pcard_rd_view(&r, 8, &magic) != PCARD_OK)
		goto out;
	err = PCARD_E_BAD_FILE;
	if (memcmp(magic, PCARD_CARDFILE_MAGIC, 8) != 0)
		goto out;
	err = PCARD_E_TRUNCATED;
	if (pcard_rd_u16(&r, &version) != PCARD_OK || pcard_rd_u16(&r, &flags) != PCARD_OK ||
	    pcard_rd_u32(&r, &hi) != PCARD_OK || pcard_rd_u32(&r, &lo) != PCARD_OK ||
	    pcard_rd_u32(&r, &blen) != PCARD_OK)
		goto out;
	err = version == 0 ? PCARD_E_BAD_FILE : PCARD_E_UNSUPPORTED;
	if (version != PCARD_CARDFILE_VERSION || flags != 0)
		goto out;
	err = PCARD_E_TRUNCATED;
	if (pcard_rd_view(&r, blen, &body) != PCARD_OK ||
	    pcard_rd_view(&r, PCARD_CARDFILE_DIGEST_BYTES, &want) != PCARD_OK)
		goto out;
	if ((err = pcard_rd_expect_end(&r)) != PCARD_OK)
		goto out;
	if ((err = pcard_digest(PCARD_HASH_SHA256, img, PCARD_CARDFILE_HEADER_BYTES + (size_t)blen,
	    dig, sizeof dig, &dn)) != PCARD_OK)
		goto out;
	err = PCARD_E_BAD_FILE;
	if (dn != sizeof dig || !pcard_ct_eq(dig, want, sizeof dig))
		goto out;
	if ((err = pcard_cardstate_decode(body, blen, cs)) != PCARD_OK)
		goto out;
	if (generation != NULL)
		*generation = (uint64_t)hi << 32 | lo;
	err = PCARD_OK;
out:
	return err;
}

/* Paths of the handle: PATH, PATH.new and PATH's directory. */
static pcard_err
set_paths(pcard_cardfile *f, pcard_cardio *io, const char *path)
{
	const char *slash;
	size_t n;

	memset(f, 0, sizeof *f);
	if (path == NULL || (n = strlen(path)) == 0 || n >= sizeof f->path)
		return PCARD_E_INVALID_ARG;
	pcard_cardio_init(&f->own_io);
	f->io = io != NULL ? io : &f->own_io;
	memcpy(f->path, path, n + 1);
	snprintf(f->tmp, sizeof f->tmp, "%s.new", path);
	if ((slash = strrchr(path, '/')) == NULL)
		snprintf(f->dir, sizeof f->dir, ".");
	else if (slash == path)
		snprintf(f->dir, sizeof f->dir, "/");
	else
		snprintf(f->dir, sizeof f->dir, "%.*s", (int)(slash - path), path);
	return PCARD_OK;
}

/* Reads the whole file at path through io into a new heap buffer. */
static pcard_err
read_file(pcard_cardio *io, const char *path, uint8_t **out, size_t *out_len)
{
	uint8_t *buf = NULL, *nb;
	size_t len = 0, cap = 0, got;
	int fd = -1;
	pcard_err err = PCARD_E_INTERNAL;

	*out = NULL;
	*out_len = 0;
	if ((err = pcard_cardio_open(io, path, O_RDONLY, 0, &fd)) != PCARD_OK)
		goto out;
	for (;;) {
		size_t ncap = cap == 0 ? 65536 : cap * 2;

		err = PCARD_E_BAD_FILE;
		if (cap >= PCARD_CARDFILE_MAX_BYTES)
			goto out;	/* as large as no card file we write */
		err = PCARD_E_NOMEM;
		if ((nb = realloc(buf, ncap)) == NULL)
			goto out;
		buf = nb;
		cap = ncap;
		if ((err = pcard_cardio_read(io, fd, buf + len, cap - len, &got)) != PCARD_OK)
			goto out;
		len += got;
		if (len < cap)
			break;
	}
	*out = buf;
	*out_len = len;
	buf = NULL;
	err = PCARD_OK;
out:
	if (fd >= 0 && pcard_cardio_close(io, fd) != PCARD_OK && err == PCARD_OK) {
		pcard_cardfile_image_free(*out, *out_len);
		*out = NULL;
		*out_len = 0;
		err = PCARD_E_IO;
	}
	pcard_cardfile_image_free(buf, cap);
	return err;
}

pcard_err
pcard_cardfile_open(pcard_cardfile *f, pcard_cardio *io, const char *path, pcard_cardstate *cs)
{
	uint8_t *img = NULL;
	size_t n = 0;
	pcard_err err = PCARD_E_INTERNAL;

	if (f == NULL || cs == NULL)
		return PCARD_E_INVALID_ARG;
	if ((err = set_paths(f, io, path)) != PCARD_OK)
		goto out;
	/* a PATH.new is a commit that never reached its rename: it never happened */
	if ((err = pcard_cardio_unlink(f->io, f->tmp)) != PCARD_OK && err != PCARD_E_NOT_FOUND)
		goto out;
	if ((err = read_file(f->io, f->path, &img, &n)) != PCARD_OK ||
	    (err = pcard_cardfile_parse(img, n, cs, &f->generation)) != PCARD_OK)
		goto out;
	f->open = 1;
	err = PCARD_OK;
out:
	pcard_cardfile_image_free(img, n);
	return err;
}

pcard_err
pcard_cardfile_load(const char *path, pcard_cardstate *cs)
{
	pcard_cardfile f;
	pcard_err err = pcard_cardfile_open(&f, NULL, path, cs);

	pcard_cardfile_close(&f);
	return err;
}

/* Writes img to an open descriptor in chunks (each one write operation). */
static pcard_err
write_chunks(pcard_cardio *io, int fd, const uint8_t *img, size_t n)
{
	pcard_err err;

	for (size_t off = 0; off < n; off += PCARD_CARDFILE_CHUNK) {
		size_t k = n - off < PCARD_CARDFILE_CHUNK ? n - off : PCARD_CARDFILE_CHUNK;

		if ((err = pcard_cardio_write(io, fd, img + off, k)) != PCARD_OK)
			return err;
	}
	return PCARD_OK;
}

/* The mechanism: PATH.new, fsync, close, rename over PATH, fsync the directory. */
static pcard_err
commit_safe(pcard_cardfile *f, const uint8_t *img, size_t n, int do_fsync)
{
	pcard_cardio *io = f->io;
	int fd = -1, dfd = -1;
	pcard_err err = PCARD_E_INTERNAL;

	if ((err = pcard_cardio_open(io, f->tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600, &fd)) !=
	    PCARD_OK ||
	    (err = write_chunks(io, fd, img, n)) != PCARD_OK ||
	    (do_fsync && (err = pcard_cardio_fsync(io, fd)) != PCARD_OK))
		goto out;
	err = pcard_cardio_close(io, fd);
	fd = -1;
	if (err != PCARD_OK || (err = pcard_cardio_rename(io, f->tmp, f->path)) != PCARD_OK)
		goto out;
	if (do_fsync) {
		if ((err = pcard_cardio_open(io, f->dir, O_RDONLY | O_DIRECTORY, 0, &dfd)) !=
		    PCARD_OK || (err = pcard_cardio_fsync(io, dfd)) != PCARD_OK)
			goto out;
		err = pcard_cardio_close(io, dfd);
		dfd = -1;
		if (err != PCARD_OK)
			goto out;
	}
	err = PCARD_OK;
out:
	if (fd >= 0) {
		(void)pcard_cardio_close(io, fd);
		if (io->powered)
			(void)pcard_cardio_unlink(io, f->tmp);
	}
	if (dfd >= 0)
		(void)pcard_cardio_close(io, dfd);
	return err;
}

/* Negative control only: truncate PATH and write it in place. */
static pcard_err
commit_in_place(pcard_cardfile *f, const uint8_t *img, size_t n)
{
	pcard_cardio *io = f->io;
	int fd = -1;
	pcard_err err = PCARD_E_INTERNAL;

	if ((err = pcard_cardio_open(io, f->path, O_WRONLY | O_CREAT | O_TRUNC, 0600, &fd)) !=
	    PCARD_OK ||
	    (err = write_chunks(io, fd, img, n)) != PCARD_OK ||
	    (err = pcard_cardio_fsync(io, fd)) != PCARD_OK)
		goto out;
	err = pcard_cardio_close(io, fd);
	fd = -1;
out:
	if (fd >= 0)
		(void)pcard_cardio_close(io, fd);
	return err;
}

static pcard_err
commit_image(pcard_cardfile *f, const uint8_t *img, size_t n)
{
	switch (f->io->mode) {
	case PCARD_CARDIO_SAFE:
		return commit_safe(f, img, n, 1);
	case PCARD_CARDIO_UNSAFE_NO_FSYNC:
		return commit_safe(f, img, n, 0);
	case PCARD_CARDIO_UNSAFE_IN_PLACE:
		return commit_in_place(f, img, n);
	}
	return PCARD_E_INVALID_ARG;
}

pcard_err
pcard_cardfile_commit(pcard_cardfile *f, const pcard_cardstate *cs)
{
	uint8_t *img = NULL;
	size_t n = 0;
	pcard_err err = PCARD_E_INTERNAL;

	if (f == NULL || cs == NULL || !f->open)
		return PCARD_E_INVALID_ARG;
	/* the generation moves on even when the commit fails: the disk may hold it already */
	f->generation++;
	if ((err = pcard_cardfile_image(cs, f->generation, &img, &n)) != PCARD_OK ||
	    (err = commit_image(f, img, n)) != PCARD_OK)
		goto out;
	err = PCARD_OK;
out:
	pcard_cardfile_image_free(img, n);
	return err;
}

pcard_err
pcard_cardfile_create(pcard_cardfile *f, pcard_cardio *io, const char *path,
    const pcard_cardstate *cs)
{
	struct stat st;
	pcard_err err = PCARD_E_INTERNAL;

	if (f == NULL || cs == NULL)
		return PCARD_E_INVALID_ARG;
	if ((err = set_paths(f, io, path)) != PCARD_OK)
		return err;
	if (stat(f->path, &st) == 0)
		return PCARD_E_INVALID_ARG;
	f->open = 1;
	f->generation = 0;
	if ((err = pcard_cardfile_commit(f, cs)) != PCARD_OK)
		f->open = 0;
	return err;
}

void
pcard_cardfile_close(pcard_cardfile *f)
{
	if (f == NULL)
		return;
	pcard_cardio_clear(&f->own_io);
	f->open = 0;
}

pcard_err
pcard_cardfile_seq_next(pcard_cardfile *f, pcard_cardstate *cs, pcard_card_keyset *ks,
    uint32_t *seq)
{
	pcard_err err;

	if (f == NULL || cs == NULL || ks == NULL || seq == NULL)
		return PCARD_E_INVALID_ARG;
	if (ks->seq >= PCARD_CS_SEQ_MAX)
		return PCARD_E_STATE;
	ks->seq++;
	*seq = ks->seq;
	err = pcard_cardfile_commit(f, cs);
	return err;
}

pcard_err
pcard_cardfile_auth_failed(pcard_cardfile *f, pcard_cardstate *cs, pcard_card_keyset *ks)
{
	if (f == NULL || cs == NULL || ks == NULL)
		return PCARD_E_INVALID_ARG;
	if (ks->fails < UINT16_MAX)
		ks->fails++;
	if (ks->fails >= cs->auth_limit)
		ks->blocked = 1;
	return pcard_cardfile_commit(f, cs);
}

pcard_err
pcard_cardfile_auth_ok(pcard_cardfile *f, pcard_cardstate *cs, pcard_card_keyset *ks)
{
	if (f == NULL || cs == NULL || ks == NULL)
		return PCARD_E_INVALID_ARG;
	if (ks->fails == 0)
		return PCARD_OK;
	ks->fails = 0;
	return pcard_cardfile_commit(f, cs);
}

pcard_err
pcard_cardfile_receipt_next(pcard_cardfile *f, pcard_cardstate *cs, uint32_t *counter)
{
	if (f == NULL || cs == NULL || counter == NULL)
		return PCARD_E_INVALID_ARG;
	if (cs->receipt_counter >= 0xFFFF)
		return PCARD_E_STATE;
	cs->receipt_counter++;
	*counter = cs->receipt_counter;
	return pcard_cardfile_commit(f, cs);
}
