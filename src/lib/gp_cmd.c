/*
 * gp_cmd.c: LOAD (CS 11.6), DELETE (11.2), SET STATUS (11.10), PUT KEY framing (11.8) and
 * STORE DATA (11.11) builders.
 */
#include <string.h>

#include "postcard/apdu.h"
#include "postcard/gp.h"
#include "postcard/tlv.h"
#include "gp_int.h"

#define MAX_BLOCKS 256		/* P2 block numbers 00..FF */

pcard_err
pcard_gp_load_count(size_t n, size_t block, size_t *count)
{
	size_t c;

	if (count == NULL || n == 0 || block == 0 || block > PCARD_APDU_EXT_MAX)
		return PCARD_E_INVALID_ARG;
	c = n / block + (n % block != 0);
	if (c > MAX_BLOCKS)
		return PCARD_E_INVALID_ARG;
	*count = c;
	return PCARD_OK;
}

pcard_err
pcard_gp_load_cmd(const uint8_t *file, size_t n, size_t block, size_t index, uint8_t *out,
    size_t out_cap, size_t *out_len)
{
	size_t count, off, len;
	pcard_err err;

	if (file == NULL || (err = pcard_gp_load_count(n, block, &count)) != PCARD_OK)
		return file == NULL ? PCARD_E_INVALID_ARG : err;
	if (index >= count)
		return PCARD_E_INVALID_ARG;
	off = index * block;
	len = n - off < block ? n - off : block;
	return gp_cmd(0x80, 0xE8, index + 1 == count ? 0x80 : 0x00, (uint8_t)index, file + off,
	    len, 1, out, out_cap, out_len);
}

pcard_err
pcard_gp_delete_cmd(const uint8_t *aid, size_t aid_len, int related, const uint8_t *token,
    size_t token_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	uint8_t data[2 + PCARD_GP_AID_MAX + 4 + 1024];
	pcard_wr w;
	size_t n = 0;
	pcard_err err;

	if (aid == NULL || aid_len == 0 || aid_len > PCARD_GP_AID_MAX ||
	    (token_len > 0 && token == NULL) || token_len > 1024)
		return PCARD_E_INVALID_ARG;
	pcard_wr_init(&w, data, sizeof data);
	pcard_tlv_put(&w, 0x4F, aid, aid_len);
	if (token_len > 0)
		pcard_tlv_put(&w, 0x9E, token, token_len);
	if ((err = pcard_wr_finish(&w, &n)) != PCARD_OK)
		return err;
	return gp_cmd(0x80, 0xE4, 0x00, related ? 0x80 : 0x00, data, n, 1, out, out_cap, out_len);
}

pcard_err
pcard_gp_delete_key_cmd(int key_id, int kvn, uint8_t *out, size_t out_cap, size_t *out_len)
{
	uint8_t data[6];
	size_t n = 0;

	if ((key_id < 0 && kvn < 0) || key_id > 0xFF || kvn > 0xFF)
		return PCARD_E_INVALID_ARG;
	if (key_id >= 0) {
		data[n++] = 0xD0;
		data[n++] = 0x01;
		data[n++] = (uint8_t)key_id;
	}
	if (kvn >= 0) {
		data[n++] = 0xD2;
		data[n++] = 0x01;
		data[n++] = (uint8_t)kvn;
	}
	return gp_cmd(0x80, 0xE4, 0x00, 0x00, data, n, 1, out, out_cap, out_len);
}

pcard_err
pcard_gp_set_status_cmd(uint8_t p1, uint8_t state, const uint8_t *aid, size_t aid_len,
    uint8_t *out, size_t out_cap, size_t *out_len)
{
	if ((p1 != PCARD_SS_CARD && p1 != PCARD_SS_APP && p1 != PCARD_SS_SD_AND_APPS) ||
	    aid_len > PCARD_GP_AID_MAX || (aid_len > 0 && aid == NULL) ||
	    (p1 != PCARD_SS_CARD && aid_len == 0))
		return PCARD_E_INVALID_ARG;
	return gp_cmd(0x80, 0xF0, p1, state, aid, aid_len, 0, out, out_cap, out_len);
}

pcard_err
pcard_gp_put_key_cmd(uint8_t old_kvn, uint8_t key_id, int multiple, int more,
    const uint8_t *data, size_t data_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	if (old_kvn > 0x7F || key_id > 0x7F || data == NULL || data_len == 0)
		return PCARD_E_INVALID_ARG;
	return gp_cmd(0x80, 0xD8, (uint8_t)(old_kvn | (more ? 0x80 : 0x00)),
	    (uint8_t)(key_id | (multiple ? 0x80 : 0x00)), data, data_len, 1, out, out_cap,
	    out_len);
}

pcard_err
pcard_gp_store_data_cmd(uint8_t p1, uint8_t block, const uint8_t *data, size_t data_len,
    uint8_t *out, size_t out_cap, size_t *out_len)
{
	if (data_len > 0 && data == NULL)
		return PCARD_E_INVALID_ARG;
	return gp_cmd(0x80, 0xE2, p1, block, data, data_len, (p1 & PCARD_SD_CASE4) != 0, out,
	    out_cap, out_len);
}

pcard_err
pcard_gp_store_data_count(size_t n, size_t block, size_t *count)
{
	size_t c;

	if (count == NULL || block == 0 || block > PCARD_APDU_EXT_MAX)
		return PCARD_E_INVALID_ARG;
	c = n == 0 ? 1 : n / block + (n % block != 0);
	if (c > MAX_BLOCKS)
		return PCARD_E_INVALID_ARG;
	*count = c;
	return PCARD_OK;
}

pcard_err
pcard_gp_store_data_piece(uint8_t flags, uint8_t first_block, const uint8_t *data, size_t n,
    size_t block, size_t index, uint8_t *out, size_t out_cap, size_t *out_len)
{
	size_t count, off, len;
	pcard_err err;

	if ((flags & PCARD_SD_LAST) != 0 || (n > 0 && data == NULL))
		return PCARD_E_INVALID_ARG;
	if ((err = pcard_gp_store_data_count(n, block, &count)) != PCARD_OK)
		return err;
	if (index >= count || (size_t)first_block + index > 0xFF)
		return PCARD_E_INVALID_ARG;
	off = index * block;
	len = n - off < block ? n - off : block;
	return pcard_gp_store_data_cmd(
	    (uint8_t)(flags | (index + 1 == count ? PCARD_SD_LAST : 0)),
	    (uint8_t)(first_block + index), len > 0 ? data + off : NULL, len, out, out_cap,
	    out_len);
}
