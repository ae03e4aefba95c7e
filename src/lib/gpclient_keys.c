/*
 * gpclient_keys.c: PUT KEY and DELETE key (CS 11.8, 11.2), INSTALL [for personalization] and
 * STORE DATA (CS 11.11) over the client's channel. Key values are only ever handled by the
 * key provider (putkey.h wraps them under the session's DEK).
 */
#include <string.h>

#include "gpclient_int.h"
#include "postcard/putkey.h"

static pcard_err
session_dek(const pcard_gpc *g, pcard_keyh *dek, pcard_cipher_alg *alg)
{
	if (!g->open)
		return PCARD_E_STATE;
	return pcard_scp_dek(&g->scp, dek, alg);
}

/*
 * Send PUT KEY with data and check the answer against exp. A data field over the largest
 * command of the channel goes as a chain (CS 11.8.2.1): consecutive pieces with P1 b8 set on
 * all but the last, each answered 9000; the last gets the KVN || KCVs answer.
 */
static pcard_err
put_key_send(pcard_gpc *g, uint8_t replace_kvn, uint8_t key_id, int multiple,
    const uint8_t *data, size_t n, const pcard_putkey_expect *exp)
{
	uint8_t cmd[PCARD_APDU_SHORT_MAX + 16], rsp[PCARD_GPC_MAX_RSP];
	size_t nc = 0, nr = 0, max = gpc_max_data(g), off = 0;
	pcard_err err = PCARD_E_INTERNAL;

	if (max == 0 || n == 0 || n > PCARD_GPC_PUTKEY_MAX)
		return PCARD_E_INVALID_ARG;
	for (;;) {
		size_t piece = n - off > max ? max : n - off;
		int more = off + piece < n;

		if ((err = pcard_gp_put_key_cmd(replace_kvn, key_id, multiple, more, data + off,
		    piece, cmd, sizeof cmd, &nc)) != PCARD_OK ||
		    (err = gpc_cmd(g, cmd, nc, rsp, sizeof rsp, &nr)) != PCARD_OK)
			goto out;
		if (g->last_sw != PCARD_SW_OK) {
			err = PCARD_E_CARD_STATUS;
			goto out;
		}
		off += piece;
		if (!more)
			break;
	}
	err = pcard_putkey_check_response(exp, rsp, nr - 2);
out:
	pcard_wipe(cmd, sizeof cmd);
	return err;
}

pcard_err
pcard_gpc_put_keyset(pcard_gpc *g, uint8_t new_kvn, uint8_t replace_kvn,
    const pcard_keyh set[3])
{
	uint8_t data[1 + 3 * PCARD_PUTKEY_SYM_BLOCK_MAX];
	size_t n = 0;
	pcard_putkey_expect exp;
	pcard_cipher_alg alg;
	pcard_keyh dek;
	pcard_err err = PCARD_E_INTERNAL;

	if (g == NULL || set == NULL || new_kvn == 0 || new_kvn > 0x7F || replace_kvn > 0x7F)
		return PCARD_E_INVALID_ARG;
	if ((err = session_dek(g, &dek, &alg)) != PCARD_OK ||
	    (err = pcard_putkey_set(g->keys, dek, new_kvn, set, data, sizeof data, &n, &exp)) !=
	    PCARD_OK)
		goto out;
	err = put_key_send(g, replace_kvn, 0x01, 1, data, n, &exp);
out:
	pcard_wipe(data, sizeof data);
	return err;
}

pcard_err
pcard_gpc_put_key(pcard_gpc *g, uint8_t new_kvn, uint8_t replace_kvn, uint8_t key_id,
    pcard_keyh key)
{
	uint8_t data[1 + PCARD_PUTKEY_SYM_BLOCK_MAX];
	size_t n = 0;
	pcard_putkey_expect exp;
	pcard_cipher_alg alg;
	pcard_keyh dek;
	pcard_err err = PCARD_E_INTERNAL;

	if (g == NULL || new_kvn == 0 || new_kvn > 0x7F || replace_kvn > 0x7F ||
	    key_id == 0 || key_id > 0x7F)
		return PCARD_E_INVALID_ARG;
	if ((err = session_dek(g, &dek, &alg)) != PCARD_OK ||
	    (err = pcard_putkey_single(g->keys, dek, new_kvn, key, data, sizeof data, &n,
	    &exp)) != PCARD_OK)
		goto out;
	err = put_key_send(g, replace_kvn, key_id, 0, data, n, &exp);
out:
	pcard_wipe(data, sizeof data);
	return err;
}

pcard_err
pcard_gpc_put_pubkey(pcard_gpc *g, uint8_t new_kvn, uint8_t replace_kvn, uint8_t key_id,
    const pcard_pkey *pk)
{
	uint8_t data[PCARD_GPC_PUTKEY_MAX];
	size_t n = 0;
	pcard_putkey_expect exp;
	pcard_err err;

	if (g == NULL || pk == NULL || new_kvn == 0 || new_kvn > 0x7F || replace_kvn > 0x7F ||
	    key_id == 0 || key_id > 0x7F)
		return PCARD_E_INVALID_ARG;
	if (!g->open)
		return PCARD_E_STATE;
	if ((err = pcard_putkey_public(new_kvn, pk, data, sizeof data, &n, &exp)) != PCARD_OK)
		return err == PCARD_E_NOSPACE ? PCARD_E_UNSUPPORTED : err;
	return put_key_send(g, replace_kvn, key_id, 0, data, n, &exp);
}

pcard_err
pcard_gpc_delete_key(pcard_gpc *g, int kvn, int key_id)
{
	uint8_t cmd[32];
	size_t nc = 0;
	pcard_err err;

	if (g == NULL)
		return PCARD_E_INVALID_ARG;
	if ((err = pcard_gp_delete_key_cmd(key_id, kvn, cmd, sizeof cmd, &nc)) != PCARD_OK)
		return err;
	return gpc_cmd_ok(g, cmd, nc);
}

/* ---- Personalisation ---- */

pcard_err
pcard_gpc_personalize(pcard_gpc *g, const pcard_gp_aid *aid)
{
	uint8_t cmd[64];
	size_t nc = 0;
	pcard_gp_install in;
	pcard_err err;

	if (g == NULL || aid == NULL || aid->len == 0)
		return PCARD_E_INVALID_ARG;
	memset(&in, 0, sizeof in);
	in.p1 = PCARD_INSTALL_FOR_PERSONALIZATION;
	in.instance = aid->b;
	in.instance_len = aid->len;
	in.params_mode = PCARD_PARAMS_RAW;
	if ((err = pcard_gp_install_cmd(&in, cmd, sizeof cmd, &nc)) != PCARD_OK)
		return err;
	return gpc_cmd_ok(g, cmd, nc);
}

pcard_err
pcard_gpc_store_data(pcard_gpc *g, uint8_t flags, const uint8_t *data, size_t n)
{
	uint8_t cmd[PCARD_APDU_SHORT_MAX + 16];
	size_t count = 0, block;
	pcard_err err = PCARD_E_INTERNAL;

	if (g == NULL || (data == NULL && n > 0) || (flags & PCARD_SD_LAST))
		return PCARD_E_INVALID_ARG;
	block = gpc_max_data(g);
	if ((err = pcard_gp_store_data_count(n, block, &count)) != PCARD_OK)
		return err;
	for (size_t i = 0; i < count; i++) {
		size_t nc = 0;

		if ((err = pcard_gp_store_data_piece(flags, 0, data, n, block, i, cmd, sizeof cmd,
		    &nc)) != PCARD_OK ||
		    (err = gpc_cmd_ok(g, cmd, nc)) != PCARD_OK)
			break;
	}
	pcard_wipe(cmd, sizeof cmd);
	return err;
}

/* One DGI from r: tag (2), length (1, or FF then 2), value (borrowed). */
static pcard_err
dgi_next(pcard_rd *r, uint16_t *tag, const uint8_t **val, size_t *len)
{
	pcard_rd save = *r;
	uint8_t l1 = 0;
	uint16_t l2 = 0;
	pcard_err err;

	if ((err = pcard_rd_u16(r, tag)) != PCARD_OK || (err = pcard_rd_u8(r, &l1)) != PCARD_OK)
		goto fail;
	if (l1 == 0xFF && (err = pcard_rd_u16(r, &l2)) != PCARD_OK)
		goto fail;
	*len = l1 == 0xFF ? l2 : l1;
	if ((err = pcard_rd_view(r, *len, val)) != PCARD_OK)
		goto fail;
	return PCARD_OK;
fail:
	*r = save;
	return PCARD_E_BAD_ENCODING;
}

/* Encrypt (optionally padded) value with the DEK into out; *out_len its length. */
static pcard_err
dgi_encrypt(pcard_gpc *g, const uint8_t *val, size_t n, int pad, uint8_t *out, size_t cap,
    size_t *out_len)
{
	pcard_cipher_alg alg;
	pcard_keyh dek;
	size_t blk, len = n;
	pcard_err err;

	if ((err = session_dek(g, &dek, &alg)) != PCARD_OK)
		return err;
	blk = (alg == PCARD_CIPHER_AES_CBC || alg == PCARD_CIPHER_AES_ECB) ? 16 : 8;
	if (pad) {
		if ((err = pcard_pad_iso(val, n, blk, out, cap, &len)) != PCARD_OK)
			return err == PCARD_E_NOSPACE ? PCARD_E_INVALID_ARG : err;
	} else {
		if (n % blk != 0 || n > cap)
			return PCARD_E_INVALID_ARG;
		memcpy(out, val, n);
	}
	if ((err = pcard_keys_cipher(g->keys, dek, alg, 1, NULL, out, len, out)) != PCARD_OK)
		return err;
	*out_len = len;
	return PCARD_OK;
}

/* Build tag || len || value for one STORE DATA. */
static pcard_err
dgi_build(uint16_t tag, const uint8_t *v, size_t n, uint8_t *out, size_t cap, size_t *len)
{
	pcard_wr w;

	pcard_wr_init(&w, out, cap);
	pcard_wr_u16(&w, tag);
	if (n < 0xFF) {
		pcard_wr_u8(&w, (uint8_t)n);
	} else {
		pcard_wr_u8(&w, 0xFF);
		pcard_wr_u16(&w, (uint16_t)n);
	}
	pcard_wr_bytes(&w, v, n);
	return pcard_wr_finish(&w, len);
}

static pcard_err
dgi_send(pcard_gpc *g, uint16_t tag, const uint8_t *val, size_t vlen, int encrypt, int pad,
    uint8_t p1, uint8_t p2)
{
	uint8_t enc[PCARD_APDU_SHORT_MAX + 16], data[PCARD_APDU_SHORT_MAX + 16];
	uint8_t cmd[PCARD_APDU_SHORT_MAX + 16];
	size_t elen = vlen, dlen = 0, nc = 0;
	pcard_err err = PCARD_E_INTERNAL;

	if (vlen > PCARD_APDU_SHORT_MAX)
		return PCARD_E_INVALID_ARG;
	if (encrypt) {
		if ((err = dgi_encrypt(g, val, vlen, pad, enc, sizeof enc, &elen)) != PCARD_OK)
			goto out;
	} else {
		memcpy(enc, val, vlen);
	}
	if ((err = dgi_build(tag, enc, elen, data, sizeof data, &dlen)) != PCARD_OK ||
	    dlen > gpc_max_data(g)) {
		err = PCARD_E_INVALID_ARG;
		goto out;
	}
	if ((err = pcard_gp_store_data_cmd(p1, p2, data, dlen, cmd, sizeof cmd, &nc)) !=
	    PCARD_OK)
		goto out;
	err = gpc_cmd_ok(g, cmd, nc);
out:
	pcard_wipe(enc, sizeof enc);
	pcard_wipe(data, sizeof data);
	pcard_wipe(cmd, sizeof cmd);
	return err;
}

pcard_err
pcard_gpc_store_dgis(pcard_gpc *g, const uint8_t *dgis, size_t n, int encrypt, int pad)
{
	pcard_rd r, scan;
	const uint8_t *val;
	uint16_t tag;
	size_t len, count = 0;
	pcard_err err;

	if (g == NULL || (dgis == NULL && n > 0))
		return PCARD_E_INVALID_ARG;
	pcard_rd_init(&scan, dgis, n);
	while (pcard_rd_left(&scan) > 0) {
		if ((err = dgi_next(&scan, &tag, &val, &len)) != PCARD_OK)
			return err;
		count++;
	}
	if (count == 0 || count > 256)
		return count == 0 ? PCARD_E_BAD_ENCODING : PCARD_E_INVALID_ARG;
	pcard_rd_init(&r, dgis, n);
	for (size_t i = 0; i < count; i++) {
		uint8_t p1 = PCARD_SD_FMT_DGI | (encrypt ? PCARD_SD_ENC_ALL : 0) |
		    (i + 1 == count ? PCARD_SD_LAST : 0);

		if ((err = dgi_next(&r, &tag, &val, &len)) != PCARD_OK ||
		    (err = dgi_send(g, tag, val, len, encrypt, pad, p1, (uint8_t)i)) != PCARD_OK)
			return err;
	}
	return PCARD_OK;
}
