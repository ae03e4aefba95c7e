/*
 * cardio.h: the file operations of the card file, with fault injection for tear tests.
 *
 * Every open, read, write, fsync, rename, unlink and close the card does goes through here
 * (cardfile.c), each counted as one operation. A test can cut the power at operation k:
 * operation k and every later one fail with PCARD_E_IO, as if the machine stopped there; when
 * k is a write it may first write a prefix of its bytes (a torn write). pcard_cardio_power_on
 * then plays the crash on the disk according to a crash model and lets the card reopen.
 *
 * Crash models (what a power cut does to bytes the kernel had accepted):
 *   KEEP_ALL   everything written before the cut survives (a kernel that flushed it all);
 *   LOSE_DATA  file data not yet fsynced is lost (files go back to their length at their
 *              last fsync, or to empty) while renames survive: the "zero-length file after
 *              rename" case of delayed allocation;
 *   LOSE_ALL   as LOSE_DATA, and renames not followed by an fsync of the directory are
 *              undone (the replaced file comes back).
 * Real file systems lie between these; a commit that is atomic under all three is atomic on
 * any of them that honours fsync. Bookkeeping is in memory, for a handful of files.
 *
 * Not thread-safe; one pcard_cardio per card.
 */
#ifndef PCARD_CARDIO_H
#define PCARD_CARDIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "postcard/err.h"

typedef enum pcard_cardio_torn {
	PCARD_CARDIO_CLEAN = 0,		/* the cut write writes nothing */
	PCARD_CARDIO_TORN_HALF,		/* the cut write writes the first half of its bytes */
	PCARD_CARDIO_TORN_RANDOM,	/* ... a pseudo-random prefix (0..n-1 bytes), seeded */
} pcard_cardio_torn;

typedef enum pcard_cardio_crash {
	PCARD_CARDIO_KEEP_ALL = 0,
	PCARD_CARDIO_LOSE_DATA,
	PCARD_CARDIO_LOSE_ALL,
} pcard_cardio_crash;

/* How cardfile_commit writes: SAFE is the real mechanism; the others exist only as negative
 * controls for the tear tests and are never used by postcard-sim. */
typedef enum pcard_cardio_commit_mode {
	PCARD_CARDIO_SAFE = 0,		/* new file, fsync, rename, fsync directory */
	PCARD_CARDIO_UNSAFE_IN_PLACE,	/* truncate the card file and write it in place */
	PCARD_CARDIO_UNSAFE_NO_FSYNC,	/* new file and rename, but no fsync at all */
} pcard_cardio_commit_mode;

#define PCARD_CARDIO_PATH_MAX 512
#define PCARD_CARDIO_TRACK 16

typedef struct pcard_cardio {
	/* public: read and set by tests */
	unsigned long ops;		/* operations attempted since init/reset_count */
	unsigned long cut_at;		/* 0 = never; else operation cut_at and later fail */
	pcard_cardio_torn torn;
	pcard_cardio_crash crash;
	pcard_cardio_commit_mode mode;
	uint32_t seed;			/* for TORN_RANDOM */
	int powered;			/* 0 once the power was cut, until power_on */
	unsigned long torn_bytes;	/* bytes the torn write left (for reports) */
	/* private: crash bookkeeping */
	int overflow;
	struct pcard_cardio_file {
		int fd;			/* -1 once closed */
		int dirty;		/* written since the last fsync */
		off_t durable;		/* length at the last fsync (or when opened) */
		char path[PCARD_CARDIO_PATH_MAX];
	} files[PCARD_CARDIO_TRACK];
	size_t nfiles;
	struct pcard_cardio_rename {
		char from[PCARD_CARDIO_PATH_MAX], to[PCARD_CARDIO_PATH_MAX];
		uint8_t *old;		/* what `to` held before (owned), when had_old */
		size_t old_len;
		int had_old;
	} renames[PCARD_CARDIO_TRACK];
	size_t nrenames;
	int dirfds[PCARD_CARDIO_TRACK];
	size_t ndirfds;
} pcard_cardio;

/* No faults, KEEP_ALL, SAFE, powered. */
void pcard_cardio_init(pcard_cardio *io);
/* Frees the crash bookkeeping. Safe on an initialised io, twice too. */
void pcard_cardio_clear(pcard_cardio *io);
/* ops = 0 (the count the next cut_at refers to). */
void pcard_cardio_reset_count(pcard_cardio *io);
/* Arms a cut at operation k (counted from the last reset_count), with a torn mode. */
void pcard_cardio_cut_at(pcard_cardio *io, unsigned long k, pcard_cardio_torn torn);
/* Cuts the power now (no operation in flight). */
void pcard_cardio_power_cut(pcard_cardio *io);
/*
 * Restores power: applies the crash model to the files touched since the last durable point
 * when the power had been cut, forgets the bookkeeping, disarms the cut and resets the count.
 * @retval PCARD_E_INTERNAL the bookkeeping overflowed (more files than it tracks)
 * @retval PCARD_E_IO the crash could not be played on the disk
 */
pcard_err pcard_cardio_power_on(pcard_cardio *io);

/*
 * The operations. Each counts one; each returns PCARD_E_IO when the power is cut or the
 * system call fails, PCARD_E_NOT_FOUND for open/unlink of a missing path.
 * open flags are open(2)'s; a directory is opened with O_DIRECTORY (for fsync).
 * write writes all n bytes (looping over short writes) or fails.
 * read reads up to cap bytes (fewer only at end of file) into buf.
 */
pcard_err pcard_cardio_open(pcard_cardio *io, const char *path, int flags, mode_t mode, int *fd);
pcard_err pcard_cardio_write(pcard_cardio *io, int fd, const uint8_t *p, size_t n);
pcard_err pcard_cardio_read(pcard_cardio *io, int fd, uint8_t *buf, size_t cap, size_t *got);
pcard_err pcard_cardio_fsync(pcard_cardio *io, int fd);
pcard_err pcard_cardio_close(pcard_cardio *io, int fd);
pcard_err pcard_cardio_rename(pcard_cardio *io, const char *from, const char *to);
pcard_err pcard_cardio_unlink(pcard_cardio *io, const char *path);

#endif
