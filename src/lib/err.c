/* err.c: strings and exit codes for pcard_err. */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include "postcard/err.h"

static const struct {
	const char *name;
	const char *text;
	int exit;
} errs[PCARD_E__COUNT] = {
	[PCARD_OK] = { "PCARD_OK", "success", PCARD_EXIT_OK },
	[PCARD_E_INTERNAL] = { "PCARD_E_INTERNAL", "internal error", PCARD_EXIT_INTERNAL },
	[PCARD_E_INVALID_ARG] = { "PCARD_E_INVALID_ARG", "invalid argument", PCARD_EXIT_INTERNAL },
	[PCARD_E_NOSPACE] = { "PCARD_E_NOSPACE", "output buffer too small", PCARD_EXIT_INTERNAL },
	[PCARD_E_NOMEM] = { "PCARD_E_NOMEM", "out of memory", PCARD_EXIT_INTERNAL },
	[PCARD_E_TRUNCATED] = { "PCARD_E_TRUNCATED", "input is truncated", PCARD_EXIT_BAD_INPUT },
	[PCARD_E_TRAILING_DATA] = { "PCARD_E_TRAILING_DATA", "unexpected data after the end of the input", PCARD_EXIT_BAD_INPUT },
	[PCARD_E_BAD_ENCODING] = { "PCARD_E_BAD_ENCODING", "malformed input", PCARD_EXIT_BAD_INPUT },
	[PCARD_E_BAD_FILE] = { "PCARD_E_BAD_FILE", "input file is unreadable or corrupt", PCARD_EXIT_BAD_INPUT },
	[PCARD_E_UNSUPPORTED] = { "PCARD_E_UNSUPPORTED", "not supported", PCARD_EXIT_UNSUPPORTED },
	[PCARD_E_NOT_FOUND] = { "PCARD_E_NOT_FOUND", "not found", PCARD_EXIT_BAD_INPUT },
	[PCARD_E_CRYPTO] = { "PCARD_E_CRYPTO", "cryptographic library failure", PCARD_EXIT_INTERNAL },
	[PCARD_E_PADDING] = { "PCARD_E_PADDING", "bad padding after decryption", PCARD_EXIT_SECURE_CHANNEL },
	[PCARD_E_VERIFY] = { "PCARD_E_VERIFY", "signature, DAP, token or receipt does not verify", PCARD_EXIT_VERIFY },
	[PCARD_E_AUTH] = { "PCARD_E_AUTH", "authentication failed: card cryptogram does not match (wrong keys or diversification)", PCARD_EXIT_AUTH },
	[PCARD_E_MAC] = { "PCARD_E_MAC", "MAC verification failed; secure channel closed", PCARD_EXIT_SECURE_CHANNEL },
	[PCARD_E_SESSION_DEAD] = { "PCARD_E_SESSION_DEAD", "secure channel closed after an earlier failure", PCARD_EXIT_SECURE_CHANNEL },
	[PCARD_E_STATE] = { "PCARD_E_STATE", "operation not allowed in the current state", PCARD_EXIT_INTERNAL },
	[PCARD_E_SECURITY_LEVEL] = { "PCARD_E_SECURITY_LEVEL", "security level not allowed for this secure channel protocol", PCARD_EXIT_UNSUPPORTED },
	[PCARD_E_CARD_STATUS] = { "PCARD_E_CARD_STATUS", "the card refused the command", PCARD_EXIT_CARD_REFUSED },
	[PCARD_E_TRANSPORT] = { "PCARD_E_TRANSPORT", "transport failure (reader, socket or peer)", PCARD_EXIT_IO },
	[PCARD_E_NO_READER] = { "PCARD_E_NO_READER", "no such reader", PCARD_EXIT_IO },
	[PCARD_E_NO_CARD] = { "PCARD_E_NO_CARD", "no card in the reader", PCARD_EXIT_IO },
	[PCARD_E_IO] = { "PCARD_E_IO", "I/O error", PCARD_EXIT_IO },
	[PCARD_E_USAGE] = { "PCARD_E_USAGE", "usage error", PCARD_EXIT_USAGE },
	[PCARD_E_KEY] = { "PCARD_E_KEY", "key missing, or of the wrong type or length", PCARD_EXIT_BAD_INPUT },
	[PCARD_E_EXISTS] = { "PCARD_E_EXISTS", "already exists", PCARD_EXIT_BAD_INPUT },
	[PCARD_E_CONFLICT] = { "PCARD_E_CONFLICT", "conflict: the stored state changed (retried or concurrent request)", PCARD_EXIT_INTERNAL },
	[PCARD_E_BUSY] = { "PCARD_E_BUSY", "the store is busy (locked by another writer)", PCARD_EXIT_IO },
};

const char *
pcard_strerror(pcard_err err)
{
	if ((unsigned)err >= PCARD_E__COUNT || errs[err].text == NULL)
		return "unknown error";
	return errs[err].text;
}

const char *
pcard_errname(pcard_err err)
{
	if ((unsigned)err >= PCARD_E__COUNT || errs[err].name == NULL)
		return "PCARD_E_UNKNOWN";
	return errs[err].name;
}

int
pcard_exit_code(pcard_err err)
{
	if ((unsigned)err >= PCARD_E__COUNT || errs[err].name == NULL)
		return PCARD_EXIT_INTERNAL;
	return errs[err].exit;
}

pcard_err
pcard_errf(char *msg, size_t cap, pcard_err e, const char *fmt, ...)
{
	va_list ap;

	if (msg != NULL && cap > 0) {
		va_start(ap, fmt);
		vsnprintf(msg, cap, fmt, ap);
		va_end(ap);
	}
	return e;
}
