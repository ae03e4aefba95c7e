/*
 * cli_pkcs11.h: the PKCS#11 URI (RFC 7512) subset postcard's --key accepts, parsed from
 * untrusted command-line text:
 *
 *   pkcs11:token=LABEL;object=KEYLABEL?module-path=/path/lib.so&pin-source=file:/path
 *
 * Path attributes (;-separated): object (required), token (postcard requires it too), type
 * (only "secret-key").
 * Query attributes ('&'-separated): module-path, pin-source ("file:PATH", a bare absolute
 * PATH, or "env:VAR", our extension). pin-value is refused: argv is visible to every local
 * user. Values are percent-decoded (%XX); a decoded NUL or control byte is refused, as are
 * unknown or repeated attributes and empty values. The scheme name is case-insensitive.
 */
#ifndef POSTCARD_CLI_PKCS11_H
#define POSTCARD_CLI_PKCS11_H

#include <stddef.h>

#include "postcard/err.h"

#define CLI_P11_LABEL_MAX 64	/* token and object labels, including the NUL */
#define CLI_P11_PATH_MAX 1024	/* module path and PIN file, including the NUL */
#define CLI_P11_ENV_MAX 128	/* PIN environment variable name, including the NUL */

typedef struct cli_p11uri {
	char token[CLI_P11_LABEL_MAX];		/* "" when absent */
	char object[CLI_P11_LABEL_MAX];
	char module[CLI_P11_PATH_MAX];		/* "" when absent: the caller's default */
	char pin_file[CLI_P11_PATH_MAX];	/* "" when absent */
	char pin_env[CLI_P11_ENV_MAX];		/* "" when absent */
} cli_p11uri;

/*
 * Parse s (NUL-terminated) into *u. On failure *u is zeroed and why (why_cap bytes, may be
 * 0) holds a one-line reason that never quotes a value (a URI may hold a PIN).
 * @retval PCARD_E_USAGE malformed, unknown or repeated attribute, value too long, missing
 *         object
 * @retval PCARD_E_UNSUPPORTED pin-value, or a pin-source scheme other than file: and env:
 */
pcard_err cli_p11uri_parse(const char *s, cli_p11uri *u, char *why, size_t why_cap);

#endif
