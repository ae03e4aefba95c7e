/*
 * spylog.h: tests only: reads the log OpenSC's pkcs11-spy writes (PKCS11SPY_OUTPUT) and checks
 * what a program sent to its PKCS#11 module against docs/keys.md:
 *
 *  - every key template (C_DeriveKey, C_CreateObject, C_GenerateKey, C_UnwrapKey) sets
 *    CKA_SENSITIVE TRUE and CKA_EXTRACTABLE FALSE, except the two twins docs/keys.md lists
 *    (label "pcard-twin-wrap": sensitive and extractable; "pcard-twin-read": C_DeriveKey,
 *    not sensitive, extractable);
 *  - C_GetAttributeValue returned a CKA_VALUE only for a live readable twin;
 *  - no master key (a token object: created or generated with CKA_TOKEN TRUE, or found by
 *    label with C_FindObjects) had its CKA_VALUE returned or was wrapped with success.
 *
 * The log is a sequence of calls, each starting with a line "N: C_Name" followed by
 * "[in] ..." / "[out] ..." lines, attribute dumps indented by four spaces, and
 * "Returned:  0 CKR_OK". Used by tests/test_hsm.c (the provider alone) and
 * tests/test_server_spy.c (postcardd during agent sessions).
 */
#ifndef PCARD_TEST_SPYLOG_H
#define PCARD_TEST_SPYLOG_H

#include <stddef.h>

typedef struct spy_report {
	size_t calls;		/* every C_* call in the log */
	size_t templates;	/* C_DeriveKey / C_CreateObject / C_GenerateKey / C_UnwrapKey */
	size_t derive, create, generate, unwrap;	/* ... by call */
	size_t token_templates;	/* templates with CKA_TOKEN TRUE (masters) */
	size_t twin_wrap, twin_read;	/* the docs/keys.md exceptions seen */
	size_t bad;		/* templates breaking the rule */
	size_t value_reads;	/* C_GetAttributeValue returning a CKA_VALUE with CKR_OK */
	size_t bad_reads;	/* ... of an object that is not a live readable twin */
	size_t refused_reads;	/* CKA_VALUE asked and refused */
	size_t wraps;		/* C_WrapKey calls that returned CKR_OK */
	size_t bad_wraps;	/* ... of a key that is not a live wrappable twin */
	size_t masters;		/* master (token) object handles seen */
	size_t master_value_reads;	/* CKA_VALUE of a master returned (must be 0) */
	size_t master_wraps;	/* C_WrapKey of a master that returned CKR_OK (must be 0) */
	size_t master_derives;	/* C_DeriveKey calls on a master (card keys, L = AES_K(0)) */
} spy_report;

/*
 * Parse the spy log at path into r (zeroed first). Every template that breaks the rule and
 * every forbidden read or wrap is printed with its call line. A log that cannot be read fails
 * the calling cmocka test.
 */
void spy_parse(const char *path, spy_report *r);

#endif
