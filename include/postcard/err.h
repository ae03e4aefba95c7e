/*
 * err.h: the one error enum of postcard, its strings and the programs' exit codes.
 */
#ifndef POSTCARD_ERR_H
#define POSTCARD_ERR_H

#include <stddef.h>

/*
 * Every function that can fail returns a pcard_err. Status words from a card are data, not
 * errors: the caller keeps the SW and the call returns PCARD_E_CARD_STATUS.
 * Append new values before PCARD_E__COUNT; test_err.c checks that each has a string.
 */
typedef enum pcard_err {
	PCARD_OK = 0,
	PCARD_E_INTERNAL,	/* a bug or an impossible state */
	PCARD_E_INVALID_ARG,	/* caller passed an argument outside the contract */
	PCARD_E_NOSPACE,	/* output buffer too small: give a bigger one */
	PCARD_E_NOMEM,		/* allocation failed */
	PCARD_E_TRUNCATED,	/* input ends inside an object */
	PCARD_E_TRAILING_DATA,	/* bytes left after the last expected object */
	PCARD_E_BAD_ENCODING,	/* input is malformed (TLV, APDU, hex, ...) */
	PCARD_E_BAD_FILE,	/* an input file (CAP, key file, vectors) is unreadable or corrupt */
	PCARD_E_UNSUPPORTED,	/* valid but not supported (algorithm, option, SCP variant) */
	PCARD_E_NOT_FOUND,	/* a named object does not exist */
	PCARD_E_CRYPTO,		/* the crypto library failed */
	PCARD_E_PADDING,	/* ISO 7816-4 padding is wrong after decryption */
	PCARD_E_VERIFY,		/* a signature, DAP, token or receipt does not verify */
	PCARD_E_AUTH,		/* a cryptogram does not match: wrong keys or diversification */
	PCARD_E_MAC,		/* a C-MAC or R-MAC does not verify; the session is now dead */
	PCARD_E_SESSION_DEAD,	/* the secure channel failed earlier; open a new one */
	PCARD_E_STATE,		/* call out of order (e.g. wrap before EXTERNAL AUTHENTICATE) */
	PCARD_E_SECURITY_LEVEL,	/* security level not allowed for this SCP and i */
	PCARD_E_CARD_STATUS,	/* the card answered a status word other than the expected */
	PCARD_E_TRANSPORT,	/* the reader, socket or peer failed */
	PCARD_E_NO_READER,	/* no such reader */
	PCARD_E_NO_CARD,	/* no card in the reader, or it was removed */
	PCARD_E_IO,		/* a file or device could not be read or written */
	PCARD_E_USAGE,		/* a command line or request is malformed */
	PCARD_E_KEY,		/* a key is missing, of the wrong type or length */
	PCARD_E_EXISTS,		/* the object already exists (duplicate id, a second live session) */
	PCARD_E_CONFLICT,	/* a compare-and-set lost: the stored state is not the expected one */
	PCARD_E_BUSY,		/* the store is locked by another writer; retry later */
	PCARD_E__COUNT
} pcard_err;

/* A static, one-line English description; never NULL (unknown values get a generic string). */
const char *pcard_strerror(pcard_err err);

/* The stable name of the value, e.g. "PCARD_E_MAC"; used in --json output. */
const char *pcard_errname(pcard_err err);

/*
 * Format a message into msg[0..cap) (skipped when msg is NULL or cap is 0) and return e, so
 * a parser that explains its refusals can write `return pcard_errf(msg, cap, e, ...)`.
 */
pcard_err pcard_errf(char *msg, size_t cap, pcard_err e, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * Exit codes shared by every postcard program (docs/exit-codes.md is the table users read;
 * test_err.c checks that both agree).
 */
enum pcard_exit {
	PCARD_EXIT_OK = 0,
	PCARD_EXIT_INTERNAL = 1,	/* internal error, out of memory */
	PCARD_EXIT_USAGE = 2,		/* bad command line */
	PCARD_EXIT_BAD_INPUT = 3,	/* bad input file or data (CAP, key, hex, JSON) */
	PCARD_EXIT_CARD_REFUSED = 4,	/* the card answered an error status word */
	PCARD_EXIT_AUTH = 5,		/* authentication failed: wrong keys, cryptogram mismatch */
	PCARD_EXIT_SECURE_CHANNEL = 6,	/* secure channel broken: MAC failure, dead session */
	PCARD_EXIT_IO = 7,		/* reader, card, network or file I/O failed */
	PCARD_EXIT_UNSUPPORTED = 8,	/* valid request the card or postcard does not support */
	PCARD_EXIT_VERIFY = 9,		/* a signature, DAP, token or receipt did not verify */
};

/* The exit code a program returns when a command ends with err. */
int pcard_exit_code(pcard_err err);

#endif
