/*
 * cardio.c: counted file operations with power-cut injection and crash models (cardio.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cardio.h"

void
pcard_cardio_init(pcard_cardio *io)
{
	memset(io, 0, sizeof *io);
	io->powered = 1;
	io->seed = 1;
}

static void
forget(pcard_cardio *io)
{
	for (size_t i = 0; i < io->nrenames; i++)
		free(io->renames[i].old);
	io->nrenames = 0;
	io->nfiles = 0;
	io->ndirfds = 0;
	io->overflow = 0;
}

void
pcard_cardio_clear(pcard_cardio *io)
{
	if (io == NULL)
		return;
	forget(io);
}

void
pcard_cardio_reset_count(pcard_cardio *io)
{
	io->ops = 0;
}

void
pcard_cardio_cut_at(pcard_cardio *io, unsigned long k, pcard_cardio_torn torn)
{
	io->cut_at = k;
	io->torn = torn;
}

void
pcard_cardio_power_cut(pcard_cardio *io)
{
	io->powered = 0;
}

/* Counts one operation; 0 when it may proceed, else -1 (the power is or just went off). */
static int
step(pcard_cardio *io)
{
	io->ops++;
	if (io->powered && io->cut_at != 0 && io->ops >= io->cut_at)
		io->powered = 0;
	return io->powered ? 0 : -1;
}

static uint32_t
next_rand(pcard_cardio *io)
{
	/* xorshift32: deterministic per seed, so a failing tear point can be replayed */
	uint32_t x = io->seed != 0 ? io->seed : 0x9E3779B9u;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	io->seed = x;
	return x;
}

static struct pcard_cardio_file *
file_by_fd(pcard_cardio *io, int fd)
{
	for (size_t i = 0; i < io->nfiles; i++)
		if (io->files[i].fd == fd)
			return &io->files[i];
	return NULL;
}

static int
is_dirfd(pcard_cardio *io, int fd)
{
	for (size_t i = 0; i < io->ndirfds; i++)
		if (io->dirfds[i] == fd)
			return 1;
	return 0;
}

static int
write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

pcard_err
pcard_cardio_open(pcard_cardio *io, const char *path, int flags, mode_t mode, int *fd)
{
	struct stat st;
	int d;

	*fd = -1;
	if (step(io) != 0)
		return PCARD_E_IO;
	do
		d = open(path, flags | O_CLOEXEC, mode);
	while (d < 0 && errno == EINTR);
	if (d < 0)
		return errno == ENOENT ? PCARD_E_NOT_FOUND : PCARD_E_IO;
	if (io->crash != PCARD_CARDIO_KEEP_ALL) {
		if ((flags & O_DIRECTORY) != 0) {
			size_t keep = 0;

			for (size_t i = 0; i < io->ndirfds; i++)
				if (io->dirfds[i] >= 0)
					io->dirfds[keep++] = io->dirfds[i];
			io->ndirfds = keep;
			if (io->ndirfds < PCARD_CARDIO_TRACK)
				io->dirfds[io->ndirfds++] = d;
			else
				io->overflow = 1;
		} else if ((flags & O_ACCMODE) != O_RDONLY) {
			struct pcard_cardio_file *f = NULL;
			size_t keep = 0;

			/* forget closed files with nothing left to lose */
			for (size_t i = 0; i < io->nfiles; i++)
				if (io->files[i].fd >= 0 ||
				    (io->files[i].dirty && io->files[i].path[0] != '\0'))
					io->files[keep++] = io->files[i];
			io->nfiles = keep;
			/* a path already tracked keeps its durable length (it was never synced) */
			for (size_t i = 0; i < io->nfiles; i++)
				if (strcmp(io->files[i].path, path) == 0)
					f = &io->files[i];
			if (f == NULL && io->nfiles < PCARD_CARDIO_TRACK &&
			    strlen(path) < PCARD_CARDIO_PATH_MAX) {
				f = &io->files[io->nfiles++];
				snprintf(f->path, sizeof f->path, "%s", path);
				/* what the disk durably holds: nothing after O_TRUNC (pessimistic:
				 * the truncation is taken as durable, the new bytes are not) */
				f->durable = (flags & O_TRUNC) == 0 && fstat(d, &st) == 0 ? st.st_size : 0;
				f->dirty = (flags & O_TRUNC) != 0;
			} else if (f == NULL) {
				io->overflow = 1;
			}
			if (f != NULL)
				f->fd = d;
		}
	}
	*fd = d;
	return PCARD_OK;
}

pcard_err
pcard_cardio_write(pcard_cardio *io, int fd, const uint8_t *p, size_t n)
{
	struct pcard_cardio_file *f = io->crash != PCARD_CARDIO_KEEP_ALL ? file_by_fd(io, fd) : NULL;

	if (f != NULL)
		f->dirty = 1;
	if (step(io) != 0) {
		/* the write the power died in may have put a prefix on the disk */
		if (io->ops == io->cut_at && io->torn != PCARD_CARDIO_CLEAN && n > 0) {
			size_t k = io->torn == PCARD_CARDIO_TORN_HALF ? n / 2 : next_rand(io) % n;

			if (write_all(fd, p, k) == 0)
				io->torn_bytes = k;
		}
		return PCARD_E_IO;
	}
	return write_all(fd, p, n) == 0 ? PCARD_OK : PCARD_E_IO;
}

pcard_err
pcard_cardio_read(pcard_cardio *io, int fd, uint8_t *buf, size_t cap, size_t *got)
{
	size_t n = 0;

	*got = 0;
	if (step(io) != 0)
		return PCARD_E_IO;
	while (n < cap) {
		ssize_t r = read(fd, buf + n, cap - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return PCARD_E_IO;
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*got = n;
	return PCARD_OK;
}

pcard_err
pcard_cardio_fsync(pcard_cardio *io, int fd)
{
	struct pcard_cardio_file *f;
	struct stat st;

	if (step(io) != 0)
		return PCARD_E_IO;
	if (fsync(fd) != 0)
		return PCARD_E_IO;
	if (io->crash == PCARD_CARDIO_KEEP_ALL)
		return PCARD_OK;
	if (is_dirfd(io, fd)) {
		/* every rename into this directory is now durable (one directory in use) */
		for (size_t i = 0; i < io->nrenames; i++)
			free(io->renames[i].old);
		io->nrenames = 0;
	} else if ((f = file_by_fd(io, fd)) != NULL && fstat(fd, &st) == 0) {
		f->durable = st.st_size;
		f->dirty = 0;
	}
	return PCARD_OK;
}

pcard_err
pcard_cardio_close(pcard_cardio *io, int fd)
{
	struct pcard_cardio_file *f;
	int cut = step(io) != 0;

	/* the descriptor is released either way: that is the process, not the disk */
	if ((f = file_by_fd(io, fd)) != NULL)
		f->fd = -1;
	for (size_t i = 0; i < io->ndirfds; i++)
		if (io->dirfds[i] == fd)
			io->dirfds[i] = -1;
	if (close(fd) != 0 || cut)
		return PCARD_E_IO;
	return PCARD_OK;
}

/* The whole content of path into a new heap buffer (bookkeeping only; not counted). */
static int
slurp(const char *path, uint8_t **out, size_t *out_len)
{
	struct stat st;
	uint8_t *b = NULL;
	size_t n = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) != 0)
		goto fail;
	if ((b = malloc(st.st_size > 0 ? (size_t)st.st_size : 1)) == NULL)
		goto fail;
	while (n < (size_t)st.st_size) {
		ssize_t r = read(fd, b + n, (size_t)st.st_size - n);

		if (r <= 0)
			goto fail;
		n += (size_t)r;
	}
	close(fd);
	*out = b;
	*out_len = n;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	free(b);
	return -1;
}

pcard_err
pcard_cardio_rename(pcard_cardio *io, const char *from, const char *to)
{
	struct pcard_cardio_rename *rn = NULL;

	if (step(io) != 0)
		return PCARD_E_IO;
	if (io->crash == PCARD_CARDIO_LOSE_ALL) {
		if (io->nrenames >= PCARD_CARDIO_TRACK || strlen(from) >= PCARD_CARDIO_PATH_MAX ||
		    strlen(to) >= PCARD_CARDIO_PATH_MAX) {
			io->overflow = 1;
		} else {
			rn = &io->renames[io->nrenames];
			memset(rn, 0, sizeof *rn);
			snprintf(rn->from, sizeof rn->from, "%s", from);
			snprintf(rn->to, sizeof rn->to, "%s", to);
			rn->had_old = slurp(to, &rn->old, &rn->old_len) == 0;
		}
	}
	if (rename(from, to) != 0) {
		if (rn != NULL)
			free(rn->old);
		return errno == ENOENT ? PCARD_E_NOT_FOUND : PCARD_E_IO;
	}
	if (rn != NULL)
		io->nrenames++;
	if (io->crash != PCARD_CARDIO_KEEP_ALL) {
		for (size_t i = 0; i < io->nfiles; i++) {
			if (strcmp(io->files[i].path, to) == 0)
				io->files[i].path[0] = '\0';	/* the replaced file is gone */
		}
		for (size_t i = 0; i < io->nfiles; i++)
			if (strcmp(io->files[i].path, from) == 0)
				snprintf(io->files[i].path, sizeof io->files[i].path, "%s", to);
	}
	return PCARD_OK;
}

pcard_err
pcard_cardio_unlink(pcard_cardio *io, const char *path)
{
	if (step(io) != 0)
		return PCARD_E_IO;
	if (unlink(path) != 0)
		return errno == ENOENT ? PCARD_E_NOT_FOUND : PCARD_E_IO;
	for (size_t i = 0; i < io->nfiles; i++)
		if (strcmp(io->files[i].path, path) == 0)
			io->files[i].path[0] = '\0';
	return PCARD_OK;
}

/* Puts bytes back as the content of path (bookkeeping; not counted). */
static int
restore(const char *path, const uint8_t *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int rc;

	if (fd < 0)
		return -1;
	rc = write_all(fd, p, n);
	if (close(fd) != 0)
		rc = -1;
	return rc;
}

pcard_err
pcard_cardio_power_on(pcard_cardio *io)
{
	pcard_err err = PCARD_OK;

	if (!io->powered && io->overflow)
		err = PCARD_E_INTERNAL;
	if (!io->powered && !io->overflow && io->crash != PCARD_CARDIO_KEEP_ALL) {
		/* undo renames that no directory fsync made durable, newest first */
		for (size_t i = io->nrenames; i-- > 0;) {
			struct pcard_cardio_rename *rn = &io->renames[i];

			if (rename(rn->to, rn->from) != 0 ||
			    (rn->had_old ? restore(rn->to, rn->old, rn->old_len) != 0 : 0))
				err = PCARD_E_IO;
			for (size_t j = 0; j < io->nfiles; j++)
				if (strcmp(io->files[j].path, rn->to) == 0)
					snprintf(io->files[j].path, sizeof io->files[j].path, "%s",
					    rn->from);
		}
		/* then drop file data that no fsync made durable */
		for (size_t i = 0; i < io->nfiles; i++) {
			struct pcard_cardio_file *f = &io->files[i];

			if (f->dirty && f->path[0] != '\0' && truncate(f->path, f->durable) != 0 &&
			    errno != ENOENT)
				err = PCARD_E_IO;
		}
	}
	forget(io);
	io->powered = 1;
	io->cut_at = 0;
	io->ops = 0;
	io->torn_bytes = 0;
	return err;
}
