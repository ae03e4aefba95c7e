/*
 * keydiv.c: card-key diversification templates (keydiv.h, gp-facts 3.3b). Builds derivation
 * data from the KDD and the key number and asks the key provider to derive; no key bytes here.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "postcard/bytes.h"
#include "postcard/keydiv.h"

/* src[] codes: where a byte of the derivation data comes from */
enum {
	SRC_LIT = 0,
	SRC_KDD0 = 1,	/* .. SRC_KDD0 + 9 */
	SRC_KEYNO = 11,
	SRC_CTR = 12,
};

static const struct {
	const char *name;
	const char *tmpl;	/* NULL: no diversification */
} builtins[] = {
	{ "none", NULL },
	{ "emv", "$4$5$6$7$8$9 F0 $k $4$5$6$7$8$9 0F $k" },
	{ "visa2", "$0$1$4$5$6$7 F0 $k $0$1$4$5$6$7 0F $k" },
	{ "visa", "$0$1$2$3$8$9 F0 $k $0$1$2$3$8$9 0F $k" },
	{ "kdf3", "$_ 000000 $k 00 $0$1$2$3$4$5$6$7$8$9" },
};

static pcard_err
parse_tokens(const char *s, pcard_keydiv *t)
{
	size_t n = 0, ctr = 0;

	while (*s != '\0') {
		if (isspace((unsigned char)*s)) {
			s++;
			continue;
		}
		if (n >= PCARD_KEYDIV_MAX_DATA)
			return PCARD_E_BAD_ENCODING;
		if (*s == '$') {
			char c = s[1];

			if (c >= '0' && c <= '9')
				t->src[n] = (uint8_t)(SRC_KDD0 + (c - '0'));
			else if (c == 'k' || c == 'K')
				t->src[n] = SRC_KEYNO;
			else if (c == '_') {
				t->src[n] = SRC_CTR;
				t->counter_pos = n;
				ctr++;
			} else
				return PCARD_E_BAD_ENCODING;
			s += 2;
		} else {
			int hi = pcard_hex_digit((unsigned char)s[0]), lo;

			if (hi < 0 || (lo = pcard_hex_digit((unsigned char)s[1])) < 0)
				return PCARD_E_BAD_ENCODING;
			t->src[n] = SRC_LIT;
			t->lit[n] = (uint8_t)(hi << 4 | lo);
			s += 2;
		}
		n++;
	}
	if (n == 0 || ctr > 1)
		return PCARD_E_BAD_ENCODING;
	if (ctr == 0 && n != 16 && n != 24)
		return PCARD_E_BAD_ENCODING;
	t->len = n;
	t->kind = ctr ? PCARD_KEYDIV_AES_KDF : PCARD_KEYDIV_DES3_ECB;
	return PCARD_OK;
}

pcard_err
pcard_keydiv_parse(const char *s, pcard_keydiv *out)
{
	pcard_keydiv t;
	pcard_err err;
	size_t i;

	if (s == NULL || out == NULL)
		return PCARD_E_INVALID_ARG;
	memset(&t, 0, sizeof t);
	for (i = 0; i < sizeof builtins / sizeof builtins[0]; i++) {
		if (strcasecmp(s, builtins[i].name) != 0)
			continue;
		if (builtins[i].tmpl != NULL &&
		    (err = parse_tokens(builtins[i].tmpl, &t)) != PCARD_OK)
			return PCARD_E_INTERNAL;
		memcpy(t.name, builtins[i].name, strlen(builtins[i].name) + 1);
		*out = t;
		return PCARD_OK;
	}
	if ((err = parse_tokens(s, &t)) != PCARD_OK)
		return err;
	memcpy(t.name, "custom", sizeof "custom");
	*out = t;
	return PCARD_OK;
}

pcard_err
pcard_keydiv_data(const pcard_keydiv *t, const uint8_t kdd[PCARD_KEYDIV_KDD_BYTES],
    uint8_t keyno, uint8_t *out, size_t out_cap, size_t *out_len)
{
	size_t i;

	if (t == NULL || kdd == NULL || out_len == NULL || (out == NULL && out_cap > 0))
		return PCARD_E_INVALID_ARG;
	if (keyno < 1 || keyno > 3 || t->len > PCARD_KEYDIV_MAX_DATA)
		return PCARD_E_INVALID_ARG;
	if (t->len > out_cap)
		return PCARD_E_NOSPACE;
	for (i = 0; i < t->len; i++) {
		uint8_t src = t->src[i];

		if (src == SRC_LIT)
			out[i] = t->lit[i];
		else if (src >= SRC_KDD0 && src < SRC_KDD0 + PCARD_KEYDIV_KDD_BYTES)
			out[i] = kdd[src - SRC_KDD0];
		else if (src == SRC_KEYNO)
			out[i] = keyno;
		else if (src == SRC_CTR)
			out[i] = 0x00;
		else
			return PCARD_E_INVALID_ARG;
	}
	*out_len = t->len;
	return PCARD_OK;
}

pcard_err
pcard_keydiv_derive(pcard_keys *keys, pcard_keyh master, const pcard_keydiv *t,
    const uint8_t kdd[PCARD_KEYDIV_KDD_BYTES], uint8_t keyno, pcard_keyh *out)
{
	uint8_t data[PCARD_KEYDIV_MAX_DATA];
	pcard_keytype type;
	size_t len, mlen;
	pcard_err err = PCARD_E_INTERNAL;

	if (out != NULL)
		*out = PCARD_KEYH_NONE;
	if (keys == NULL || t == NULL || kdd == NULL || out == NULL)
		return PCARD_E_INVALID_ARG;
	if (keyno < 1 || keyno > 3)
		return PCARD_E_INVALID_ARG;
	if ((err = pcard_keys_info(keys, master, &type, &mlen)) != PCARD_OK)
		goto out;
	switch (t->kind) {
	case PCARD_KEYDIV_NONE:
		if (type != PCARD_KEY_AES && type != PCARD_KEY_DES3) {
			err = PCARD_E_KEY;
			goto out;
		}
		*out = master;
		err = PCARD_OK;
		goto out;
	case PCARD_KEYDIV_DES3_ECB:
		if (type != PCARD_KEY_DES3) {
			err = PCARD_E_KEY;
			goto out;
		}
		if ((err = pcard_keydiv_data(t, kdd, keyno, data, sizeof data, &len)) != PCARD_OK)
			goto out;
		err = pcard_keys_derive(keys, master, PCARD_DERIVE_DES3_ECB, data, len, 0,
		    PCARD_KEY_DES3, len, out);
		break;
	case PCARD_KEYDIV_AES_KDF:
		if (type != PCARD_KEY_AES) {
			err = PCARD_E_KEY;
			goto out;
		}
		if ((err = pcard_keydiv_data(t, kdd, keyno, data, sizeof data, &len)) != PCARD_OK)
			goto out;
		err = pcard_keys_derive(keys, master, PCARD_DERIVE_AES_KDF, data, len,
		    t->counter_pos, PCARD_KEY_AES, mlen, out);
		break;
	default:
		err = PCARD_E_INVALID_ARG;
		break;
	}
out:
	pcard_wipe(data, sizeof data);
	return err;
}

pcard_err
pcard_keydiv_derive_set(pcard_keys *keys, const pcard_keyh masters[3], const pcard_keydiv *t,
    const uint8_t kdd[PCARD_KEYDIV_KDD_BYTES], pcard_keyh out[3])
{
	pcard_keyh got[3] = { PCARD_KEYH_NONE, PCARD_KEYH_NONE, PCARD_KEYH_NONE };
	pcard_err err = PCARD_E_INTERNAL;
	size_t i;

	if (out == NULL || masters == NULL)
		return PCARD_E_INVALID_ARG;
	for (i = 0; i < 3; i++)
		out[i] = PCARD_KEYH_NONE;
	for (i = 0; i < 3; i++)
		if ((err = pcard_keydiv_derive(keys, masters[i], t, kdd, (uint8_t)(i + 1),
		    &got[i])) != PCARD_OK)
			goto out;
	for (i = 0; i < 3; i++)
		out[i] = got[i];
	err = PCARD_OK;
out:
	if (err != PCARD_OK)
		pcard_keydiv_release_set(keys, masters, got);
	return err;
}

void
pcard_keydiv_release(pcard_keys *keys, pcard_keyh master, pcard_keyh card_key)
{
	if (card_key != PCARD_KEYH_NONE && card_key != master)
		pcard_keys_release(keys, card_key);
}

void
pcard_keydiv_release_set(pcard_keys *keys, const pcard_keyh masters[3], pcard_keyh set[3])
{
	size_t i;

	if (masters == NULL || set == NULL)
		return;
	for (i = 0; i < 3; i++) {
		pcard_keydiv_release(keys, masters[i], set[i]);
		set[i] = PCARD_KEYH_NONE;
	}
}
