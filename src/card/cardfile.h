/*
 * cardfile.h: the card file: one file that holds the whole persistent card state, written
 * atomically across power loss (docs/card-file.md).
 *
 * Commit protocol: the new content goes to PATH.new, which is fsynced, closed, renamed over
 * PATH, and the directory is fsynced. After a power cut at any point the card reopens with
 * exactly the state of the last commit that reached its rename, or of the one before.
 * Open removes a leftover PATH.new (a commit that never reached its rename).
 *
 * Every state-changing command calls pcard_cardfile_commit once, before its response leaves
 * the card. When a commit fails, the response must not leave the card (answer 6581 or stop):
 * the disk holds the state before or after it, and the next successful commit writes the
 * whole state again.
 */
#ifndef PCARD_CARDFILE_H
#define PCARD_CARDFILE_H

#include <stddef.h>
#include <stdint.h>

#include "cardio.h"
#include "cardstate.h"
#include "postcard/err.h"

#define PCARD_CARDFILE_MAGIC "PCARDSIM"
#define PCARD_CARDFILE_VERSION 1
#define PCARD_CARDFILE_HEADER_BYTES 24
#define PCARD_CARDFILE_DIGEST_BYTES 32
#define PCARD_CARDFILE_MAX_BYTES (64u * 1024 * 1024)
#define PCARD_CARDFILE_CHUNK 4096	/* writes are issued in chunks of this size */

/* Caller-held; do not copy it (io may point at own_io inside it). */
typedef struct pcard_cardfile {
	char path[PCARD_CARDIO_PATH_MAX];
	char tmp[PCARD_CARDIO_PATH_MAX + 8];
	char dir[PCARD_CARDIO_PATH_MAX];
	pcard_cardio *io;		/* borrowed, or &own_io */
	pcard_cardio own_io;
	uint64_t generation;		/* of the last commit read or written */
	int open;
} pcard_cardfile;

/*
 * Serialize: the whole file image (header, body, SHA-256) for state cs with the given
 * generation, into a new heap buffer (*out owned: free it; it holds key values, so wipe it
 * first or use pcard_cardfile_image_free).
 */
pcard_err pcard_cardfile_image(const pcard_cardstate *cs, uint64_t generation, uint8_t **out,
    size_t *out_len);
void pcard_cardfile_image_free(uint8_t *img, size_t len);

/*
 * Parse a file image (untrusted bytes): header, length, checksum, then the body.
 * cs is cleared first and left empty on error; generation may be NULL.
 * @retval PCARD_E_TRUNCATED shorter than its header or than the length it states
 * @retval PCARD_E_TRAILING_DATA bytes after the checksum
 * @retval PCARD_E_BAD_FILE wrong magic, checksum mismatch, or a body the decoder rejects
 * @retval PCARD_E_UNSUPPORTED a format version or flags this build does not know
 */
pcard_err pcard_cardfile_parse(const uint8_t *img, size_t n, pcard_cardstate *cs,
    uint64_t *generation);

/*
 * Create PATH holding cs (generation 1), atomically; PCARD_E_INVALID_ARG if PATH exists.
 * io may be NULL (no fault injection). f is left open on success.
 */
pcard_err pcard_cardfile_create(pcard_cardfile *f, pcard_cardio *io, const char *path,
    const pcard_cardstate *cs);
/* Open PATH and read its state into cs. io may be NULL. */
pcard_err pcard_cardfile_open(pcard_cardfile *f, pcard_cardio *io, const char *path,
    pcard_cardstate *cs);
/* Persist cs atomically (io->mode SAFE; the other modes are negative controls). */
pcard_err pcard_cardfile_commit(pcard_cardfile *f, const pcard_cardstate *cs);
/* Forget the handle (there is no descriptor held between commits). NULL is fine. */
void pcard_cardfile_close(pcard_cardfile *f);
/* Read PATH without keeping a handle (postcard-sim dump). */
pcard_err pcard_cardfile_load(const char *path, pcard_cardstate *cs);

/*
 * Counters that must be on the disk before the answer that depends on them leaves the card.
 * Each changes cs in memory, commits, and returns the commit's error. On failure the
 * in-memory value stays changed: the disk may already hold it, so a retry must never hand out
 * the old value again (a counter never goes backwards). The caller must not answer on failure.
 */
/* ks->seq + 1, committed; *seq = the new value. PCARD_E_STATE when it is at PCARD_CS_SEQ_MAX. */
pcard_err pcard_cardfile_seq_next(pcard_cardfile *f, pcard_cardstate *cs, pcard_card_keyset *ks,
    uint32_t *seq);
/* A failed authentication: fails + 1 (saturating), blocked once fails >= cs->auth_limit. */
pcard_err pcard_cardfile_auth_failed(pcard_cardfile *f, pcard_cardstate *cs,
    pcard_card_keyset *ks);
/* A successful authentication: fails back to 0 (commits only when it was not 0). */
pcard_err pcard_cardfile_auth_ok(pcard_cardfile *f, pcard_cardstate *cs, pcard_card_keyset *ks);
/* The confirmation counter for the next receipt (2 bytes; PCARD_E_STATE at FFFF). */
pcard_err pcard_cardfile_receipt_next(pcard_cardfile *f, pcard_cardstate *cs,
    uint32_t *counter);

#endif
