/*
 * applet_harness.h: drives postcard-sim's card in-process for the native applet tests
 * (test_hotp.c, test_applet_datastore.c, test_applet_purse.c): the real card manager
 * (pcard_card_open_state + pcard_card_apdu) behind an in-process pcard_transport, with the
 * host side of libpostcard (scp.h secure channel, keys.h in-memory provider).
 *
 * An instance is put into the card's registry before the card is opened (hx_add_native):
 * that is what INSTALL [for install] leaves behind, minus the applet's install() call, which
 * the applets do not need (an empty blob reads as their defaults). hx_install_via_gp goes
 * the GlobalPlatform way (INSTALL [for load], LOAD, INSTALL [for install and make selectable])
 * through the ISD's secure channel.
 *
 * Header-only (static inline functions): include it from one test file per executable.
 */
#ifndef PCARD_APPLET_HARNESS_H
#define PCARD_APPLET_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "card.h"
#include "cardstate.h"
#include "natives.h"
#include "postcard/apdu.h"
#include "postcard/bytes.h"
#include "postcard/crypto.h"
#include "postcard/gp.h"
#include "postcard/keys.h"
#include "postcard/scp.h"
#include "postcard/transport.h"

static const uint8_t hx_test_key[16] = {
	0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47,
	0x48, 0x49, 0x4A, 0x4B, 0x4C, 0x4D, 0x4E, 0x4F,
};

typedef struct hx {
	pcard_cardstate cs;	/* the state before hx_open */
	pcard_card *card;
	pcard_transport *t;
	pcard_keys *keys;
	pcard_scp_keyset ks;
	pcard_scp scp;
	uint8_t scp_ver;
	int sc;			/* a host session is open */
	uint8_t rsp[PCARD_CARD_RSP_MAX + 256];
	size_t rlen;		/* data bytes of the last response */
	uint16_t sw;		/* its SW */
} hx;

static inline pcard_err
hx_card_fn(void *ctx, const uint8_t *cmd, size_t n, uint8_t *resp, size_t cap, size_t *len)
{
	return pcard_card_apdu(ctx, cmd, n, resp, cap, len);
}

/* A default card (SCP03 i=70, or SCP02 i=55 when scp is 2). */
static inline void
hx_init(hx *h, uint8_t scp)
{
	pcard_cardstate_opts o;

	memset(h, 0, sizeof *h);
	pcard_cardstate_init(&h->cs);
	memset(&o, 0, sizeof o);
	o.scp = scp;
	h->scp_ver = scp;
	assert_int_equal(pcard_cardstate_default(&h->cs, &o), PCARD_OK);
	pcard_scp_init(&h->scp);
}

/*
 * Register the native applet's package (its first module) and an instance with AID = the
 * module's AID, selectable, associated with the ISD, with privilege bytes priv1/priv2.
 */
static inline void
hx_add_native(hx *h, const pcard_applet_ops *ops, uint8_t priv1, uint8_t priv2)
{
	pcard_card_elf elf;
	pcard_card_app app;

	memset(&elf, 0, sizeof elf);
	assert_int_equal(pcard_aid_set(&elf.aid, ops->package, ops->package_len), PCARD_OK);
	elf.major = ops->pkg_major;
	elf.minor = ops->pkg_minor;
	elf.sd = h->cs.isd.aid;
	elf.size = 1000;
	elf.nmodules = 1;
	elf.modules[0] = ops->modules[0];
	assert_int_equal(pcard_cardstate_elf_add(&h->cs, &elf), PCARD_OK);
	memset(&app, 0, sizeof app);
	app.aid = ops->modules[0];
	app.life_cycle = PCARD_APP_SELECTABLE;
	app.priv[0] = priv1;
	app.priv[1] = priv2;
	app.elf = elf.aid;
	app.module = ops->modules[0];
	app.sd = h->cs.isd.aid;
	assert_int_equal(pcard_cardstate_app_add(&h->cs, &app), PCARD_OK);
}

static inline void
hx_open(hx *h)
{
	uint8_t atr[64];
	size_t n;
	pcard_keytype kt = h->scp_ver == 2 ? PCARD_KEY_DES3 : PCARD_KEY_AES;

	assert_int_equal(pcard_card_open_state(&h->cs, NULL, NULL, &h->card), PCARD_OK);
	assert_int_equal(pcard_card_power_on(h->card, atr, sizeof atr, &n), PCARD_OK);
	assert_int_equal(pcard_inproc_open(hx_card_fn, NULL, h->card, &h->t), PCARD_OK);
	assert_int_equal(pcard_keys_mem_new(16, &h->keys), PCARD_OK);
	assert_int_equal(pcard_keys_mem_import(h->keys, "enc", kt, hx_test_key, 16, &h->ks.enc),
	    PCARD_OK);
	assert_int_equal(pcard_keys_mem_import(h->keys, "mac", kt, hx_test_key, 16, &h->ks.mac),
	    PCARD_OK);
	assert_int_equal(pcard_keys_mem_import(h->keys, "dek", kt, hx_test_key, 16, &h->ks.dek),
	    PCARD_OK);
}

static inline void
hx_free(hx *h)
{
	pcard_scp_clear(&h->scp);
	pcard_transport_close(h->t);
	pcard_keys_free(h->keys);
	pcard_card_free(h->card);
	pcard_cardstate_clear(&h->cs);
}

static inline void
hx_split(hx *h, size_t n)
{
	assert_true(n >= 2);
	h->rlen = n - 2;
	h->sw = (uint16_t)(h->rsp[n - 2] << 8 | h->rsp[n - 1]);
}

/* Send cmd (plain, or wrapped when a session is open and wrap is 1); returns the SW. */
static inline uint16_t
hx_send(hx *h, const uint8_t *cmd, size_t n, int wrap)
{
	size_t len;

	if (wrap) {
		assert_true(h->sc);
		assert_int_equal(pcard_scp_transmit(h->t, &h->scp, cmd, n, h->rsp, sizeof h->rsp,
		    &len), PCARD_OK);
	} else {
		assert_int_equal(pcard_transport_transmit(h->t, cmd, n, h->rsp, sizeof h->rsp, &len),
		    PCARD_OK);
	}
	hx_split(h, len);
	return h->sw;
}

/* Send an APDU given in hex, plain. */
static inline uint16_t
hx_hex(hx *h, const char *hex)
{
	uint8_t b[300];
	size_t n;

	assert_int_equal(pcard_hex_decode(hex, b, sizeof b, &n), PCARD_OK);
	return hx_send(h, b, n, 0);
}

/* SELECT by AID (ends the host session: the card drops it on a new selection). */
static inline uint16_t
hx_select(hx *h, const uint8_t *aid, size_t n)
{
	uint8_t b[32];
	size_t len;

	pcard_scp_clear(&h->scp);
	h->sc = 0;
	assert_int_equal(pcard_gp_select_cmd(aid, n, b, sizeof b, &len), PCARD_OK);
	return hx_send(h, b, len, 0);
}

static inline uint16_t
hx_select_aid(hx *h, const pcard_aid *a)
{
	return hx_select(h, a->b, a->len);
}

/* Open a secure channel with the selected application's SD at level; asserts success. */
static inline void
hx_open_sc(hx *h, uint8_t level)
{
	pcard_scp_host_params p;
	uint16_t sw = 0;

	memset(&p, 0, sizeof p);
	p.scp = h->scp_ver;
	pcard_scp_clear(&h->scp);
	assert_int_equal(pcard_scp_open(h->t, h->keys, &h->ks, &p, level, &h->scp, &sw), PCARD_OK);
	h->sc = 1;
}

/*
 * STORE DATA of one message (last block, block 00), wrapped. When encrypt is 1 the message
 * is ISO-padded and encrypted with the session's DEK and P1 gets b7b6 = 11. p1 adds flags
 * (PCARD_SD_CASE4, format bits).
 */
static inline uint16_t
hx_store(hx *h, uint8_t p1, const uint8_t *msg, size_t n, int encrypt)
{
	uint8_t data[256], cmd[300];
	size_t dn = n, len;

	assert_true(n <= sizeof data);
	memcpy(data, msg, n);
	if (encrypt) {
		pcard_keyh dek;
		pcard_cipher_alg alg;
		size_t blk;

		assert_int_equal(pcard_scp_dek(&h->scp, &dek, &alg), PCARD_OK);
		blk = alg == PCARD_CIPHER_AES_CBC || alg == PCARD_CIPHER_AES_ECB ? 16 : 8;
		assert_int_equal(pcard_pad_iso(msg, n, blk, data, sizeof data, &dn), PCARD_OK);
		assert_int_equal(pcard_keys_cipher(h->keys, dek, alg, 1, NULL, data, dn, data),
		    PCARD_OK);
		p1 |= PCARD_SD_ENC_ALL;
	}
	assert_int_equal(pcard_gp_store_data_cmd((uint8_t)(p1 | PCARD_SD_LAST), 0, data, dn, cmd,
	    sizeof cmd, &len), PCARD_OK);
	pcard_wipe(data, sizeof data);
	return hx_send(h, cmd, len, 1);
}

/* The instance's entry in the card's current state. */
static inline const pcard_card_app *
hx_app(hx *h, const pcard_aid *aid)
{
	const pcard_cardstate *cs = pcard_card_state(h->card);

	for (size_t i = 0; i < cs->napps; i++)
		if (pcard_aid_eq(&cs->apps[i].aid, aid))
			return &cs->apps[i];
	fail_msg("instance not in the registry");
	return NULL;
}

/* 1 when needle occurs in hay. */
static inline int
hx_contains(const uint8_t *hay, size_t n, const uint8_t *needle, size_t m)
{
	for (size_t i = 0; m > 0 && i + m <= n; i++)
		if (memcmp(hay + i, needle, m) == 0)
			return 1;
	return 0;
}

#endif
