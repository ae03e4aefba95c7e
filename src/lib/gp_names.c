/*
 * gp_names.c: AIDs, privilege names and coding (CS 11.1.2), life-cycle names (CS 11.1.1),
 * and the APDU framing shared by the GP builders.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "postcard/apdu.h"
#include "postcard/gp.h"
#include "gp_int.h"

pcard_err
gp_cmd(uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2, const uint8_t *data, size_t n,
    int has_le, uint8_t *out, size_t out_cap, size_t *out_len)
{
	pcard_apdu a;

	if (out_len == NULL || (n > 0 && data == NULL))
		return PCARD_E_INVALID_ARG;
	memset(&a, 0, sizeof a);
	a.cla = cla;
	a.ins = ins;
	a.p1 = p1;
	a.p2 = p2;
	a.data = n > 0 ? data : NULL;
	a.lc = n;
	a.has_le = has_le;
	/* Le 00 (256) short; with extended data, Le 0000 (65536) so it stays "all there is". */
	a.le = n > PCARD_APDU_SHORT_MAX ? 65536 : 256;
	return pcard_apdu_encode(&a, out, out_cap, out_len);
}

pcard_err
pcard_gp_aid_set(pcard_gp_aid *a, const uint8_t *p, size_t n)
{
	if (a == NULL || n > PCARD_GP_AID_MAX || (n > 0 && p == NULL))
		return PCARD_E_INVALID_ARG;
	memset(a, 0, sizeof *a);
	if (n > 0)
		memcpy(a->b, p, n);
	a->len = n;
	return PCARD_OK;
}

pcard_err
pcard_gp_aid_from_hex(pcard_gp_aid *a, const char *hex)
{
	uint8_t b[PCARD_GP_AID_MAX];
	size_t n = 0;

	if (a == NULL || hex == NULL)
		return PCARD_E_INVALID_ARG;
	if (pcard_hex_decode(hex, b, sizeof b, &n) != PCARD_OK || n == 0)
		return PCARD_E_BAD_ENCODING;
	return pcard_gp_aid_set(a, b, n);
}

pcard_err
pcard_gp_aid_to_hex(const pcard_gp_aid *a, char *out, size_t out_cap)
{
	if (a == NULL || a->len > PCARD_GP_AID_MAX)
		return PCARD_E_INVALID_ARG;
	return pcard_hex_encode(a->b, a->len, out, out_cap);
}

int
pcard_gp_aid_eq(const pcard_gp_aid *a, const pcard_gp_aid *b)
{
	return a != NULL && b != NULL && a->len == b->len && a->len <= PCARD_GP_AID_MAX &&
	    memcmp(a->b, b->b, a->len) == 0;
}

static const struct {
	const char *name;
	uint32_t bits;
} privs[] = {
	{ "SecurityDomain", PCARD_PRIV_SECURITY_DOMAIN },
	{ "DAPVerification", PCARD_PRIV_DAP_VERIFICATION },
	{ "DelegatedManagement", PCARD_PRIV_DELEGATED_MANAGEMENT },
	{ "CardLock", PCARD_PRIV_CARD_LOCK },
	{ "CardTerminate", PCARD_PRIV_CARD_TERMINATE },
	{ "CardReset", PCARD_PRIV_CARD_RESET },
	{ "CVMManagement", PCARD_PRIV_CVM_MANAGEMENT },
	{ "MandatedDAPVerification", PCARD_PRIV_MANDATED_DAP_VERIFICATION },
	{ "TrustedPath", PCARD_PRIV_TRUSTED_PATH },
	{ "AuthorizedManagement", PCARD_PRIV_AUTHORIZED_MANAGEMENT },
	{ "TokenVerification", PCARD_PRIV_TOKEN_VERIFICATION },
	{ "GlobalDelete", PCARD_PRIV_GLOBAL_DELETE },
	{ "GlobalLock", PCARD_PRIV_GLOBAL_LOCK },
	{ "GlobalRegistry", PCARD_PRIV_GLOBAL_REGISTRY },
	{ "FinalApplication", PCARD_PRIV_FINAL_APPLICATION },
	{ "GlobalService", PCARD_PRIV_GLOBAL_SERVICE },
	{ "ReceiptGeneration", PCARD_PRIV_RECEIPT_GENERATION },
	{ "CipheredLoadFileDataBlock", PCARD_PRIV_CIPHERED_LOAD_FILE_DATA_BLOCK },
	{ "ContactlessActivation", PCARD_PRIV_CONTACTLESS_ACTIVATION },
	{ "ContactlessSelfActivation", PCARD_PRIV_CONTACTLESS_SELF_ACTIVATION },
	{ "PrivacyTrusted", PCARD_PRIV_PRIVACY_TRUSTED },
};

void
pcard_privs_names(uint32_t p, const char **names, size_t cap, size_t *n, uint32_t *unknown)
{
	uint32_t covered = 0;
	size_t k = 0;

	for (size_t i = 0; i < sizeof privs / sizeof privs[0]; i++) {
		if ((p & privs[i].bits) != privs[i].bits)
			continue;
		if (k < cap && names != NULL)
			names[k] = privs[i].name;
		k++;
		covered |= privs[i].bits;
	}
	if (n != NULL)
		*n = k;
	if (unknown != NULL)
		*unknown = p & ~covered;
}

pcard_err
pcard_privs_to_string(uint32_t p, char *out, size_t out_cap)
{
	const char *names[32];
	size_t n = 0, len = 0, k;
	uint32_t unknown;

	if (out == NULL || out_cap == 0)
		return PCARD_E_INVALID_ARG;
	out[0] = '\0';
	pcard_privs_names(p, names, 32, &n, &unknown);
	for (size_t i = 0; i < n; i++) {
		k = strlen(names[i]);
		if (len + (i > 0) + k + 1 > out_cap)
			return PCARD_E_NOSPACE;
		if (i > 0)
			out[len++] = ',';
		memcpy(out + len, names[i], k + 1);
		len += k;
	}
	if (unknown != 0) {
		char hex[16];
		uint8_t b[3] = { (uint8_t)(unknown >> 16), (uint8_t)(unknown >> 8),
			(uint8_t)unknown };

		(void)pcard_hex_encode(b, 3, hex, sizeof hex);
		k = strlen(hex) + 2;
		if (len + (n > 0) + k + 1 > out_cap)
			return PCARD_E_NOSPACE;
		if (n > 0)
			out[len++] = ',';
		memcpy(out + len, "0x", 2);
		memcpy(out + len + 2, hex, strlen(hex) + 1);
	}
	return PCARD_OK;
}

pcard_err
pcard_priv_from_name(const char *name, uint32_t *bits)
{
	if (name == NULL || bits == NULL)
		return PCARD_E_INVALID_ARG;
	for (size_t i = 0; i < sizeof privs / sizeof privs[0]; i++)
		if (strcasecmp(name, privs[i].name) == 0) {
			*bits = privs[i].bits;
			return PCARD_OK;
		}
	return PCARD_E_NOT_FOUND;
}

static int
is_hex_value(const char *s, uint32_t *v)
{
	uint8_t b[3];
	size_t n = 0;
	uint32_t x = 0;

	if (strncmp(s, "0x", 2) == 0 || strncmp(s, "0X", 2) == 0)
		s += 2;
	if (strlen(s) != 2 && strlen(s) != 6)
		return 0;
	if (pcard_hex_decode(s, b, sizeof b, &n) != PCARD_OK || (n != 1 && n != 3))
		return 0;
	if (pcard_privs_decode(b, n, &x) != PCARD_OK)
		return 0;
	*v = x;
	return 1;
}

pcard_err
pcard_privs_from_string(const char *s, uint32_t *out)
{
	char word[64];
	uint32_t acc = 0, bits;
	size_t k;

	if (s == NULL || out == NULL)
		return PCARD_E_INVALID_ARG;
	while (*s != '\0') {
		while (*s == ',' || *s == '|' || *s == ' ' || *s == '\t')
			s++;
		if (*s == '\0')
			break;
		for (k = 0; s[k] != '\0' && s[k] != ',' && s[k] != '|' && s[k] != ' ' &&
		    s[k] != '\t'; k++)
			;
		if (k >= sizeof word)
			return PCARD_E_NOT_FOUND;
		memcpy(word, s, k);
		word[k] = '\0';
		s += k;
		if (pcard_priv_from_name(word, &bits) != PCARD_OK && !is_hex_value(word, &bits))
			return PCARD_E_NOT_FOUND;
		acc |= bits;
	}
	*out = acc;
	return PCARD_OK;
}

pcard_err
pcard_privs_decode(const uint8_t *p, size_t n, uint32_t *out)
{
	if (out == NULL || (p == NULL && n > 0))
		return PCARD_E_INVALID_ARG;
	if (n == 1)
		*out = (uint32_t)p[0] << 16;
	else if (n == 3)
		*out = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
	else
		return PCARD_E_BAD_ENCODING;
	return PCARD_OK;
}

size_t
pcard_privs_encode(uint32_t p, uint8_t out[3])
{
	out[0] = (uint8_t)(p >> 16);
	out[1] = (uint8_t)(p >> 8);
	out[2] = (uint8_t)p;
	return (p & 0xFFFF) == 0 ? 1 : 3;
}

const char *
pcard_lifecycle_name(int kind, uint8_t s)
{
	switch (kind) {
	case PCARD_GP_KIND_CARD:
		switch (s) {
		case PCARD_LC_OP_READY: return "OP_READY";
		case PCARD_LC_INITIALIZED: return "INITIALIZED";
		case PCARD_LC_SECURED: return "SECURED";
		case PCARD_LC_CARD_LOCKED: return "CARD_LOCKED";
		case PCARD_LC_TERMINATED: return "TERMINATED";
		default: return "UNKNOWN";
		}
	case PCARD_GP_KIND_ELF:
		return s == PCARD_LC_LOADED ? "LOADED" : "UNKNOWN";
	case PCARD_GP_KIND_SD:
		if ((s & PCARD_LC_LOCKED) != 0 && (s & 0x03) == 0x03)
			return "LOCKED";
		if (s == PCARD_LC_PERSONALIZED)
			return "PERSONALIZED";
		if (s == PCARD_LC_SELECTABLE)
			return "SELECTABLE";
		if (s == PCARD_LC_INSTALLED)
			return "INSTALLED";
		return "UNKNOWN";
	case PCARD_GP_KIND_APP:
		if ((s & PCARD_LC_LOCKED) != 0 && (s & 0x03) == 0x03)
			return "LOCKED";
		if ((s & 0x87) == PCARD_LC_SELECTABLE)
			return "SELECTABLE";	/* b7-b4 application specific */
		if (s == PCARD_LC_INSTALLED)
			return "INSTALLED";
		return "UNKNOWN";
	default:
		return "UNKNOWN";
	}
}

pcard_err
pcard_lifecycle_from_name(int kind, const char *name, uint8_t *state)
{
	static const struct {
		int kind;
		const char *name;
		uint8_t v;
	} t[] = {
		{ PCARD_GP_KIND_CARD, "OP_READY", PCARD_LC_OP_READY },
		{ PCARD_GP_KIND_CARD, "INITIALIZED", PCARD_LC_INITIALIZED },
		{ PCARD_GP_KIND_CARD, "SECURED", PCARD_LC_SECURED },
		{ PCARD_GP_KIND_CARD, "CARD_LOCKED", PCARD_LC_CARD_LOCKED },
		{ PCARD_GP_KIND_CARD, "LOCKED", PCARD_LC_CARD_LOCKED },
		{ PCARD_GP_KIND_CARD, "TERMINATED", PCARD_LC_TERMINATED },
		{ PCARD_GP_KIND_ELF, "LOADED", PCARD_LC_LOADED },
		{ PCARD_GP_KIND_APP, "INSTALLED", PCARD_LC_INSTALLED },
		{ PCARD_GP_KIND_APP, "SELECTABLE", PCARD_LC_SELECTABLE },
		{ PCARD_GP_KIND_APP, "LOCKED", PCARD_LC_LOCKED | PCARD_LC_SELECTABLE },
		{ PCARD_GP_KIND_SD, "INSTALLED", PCARD_LC_INSTALLED },
		{ PCARD_GP_KIND_SD, "SELECTABLE", PCARD_LC_SELECTABLE },
		{ PCARD_GP_KIND_SD, "PERSONALIZED", PCARD_LC_PERSONALIZED },
		{ PCARD_GP_KIND_SD, "LOCKED", PCARD_LC_LOCKED | PCARD_LC_PERSONALIZED },
	};

	if (name == NULL || state == NULL)
		return PCARD_E_INVALID_ARG;
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		if (t[i].kind == kind && strcasecmp(t[i].name, name) == 0) {
			*state = t[i].v;
			return PCARD_OK;
		}
	return PCARD_E_NOT_FOUND;
}
