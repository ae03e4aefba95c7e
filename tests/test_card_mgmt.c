/*
 * test_card_mgmt.c: card-management commands of the simulated card, in-process: SET STATUS
 * (card and application, P1 80/40/60, Card Lock / Card Terminate / Global Lock for an SSD),
 * STORE DATA (block order, decryption with b7b6 = 11, block number reset), the INSTALL roles,
 * SSD creation with its own secure channel and key sets, an SSD touching another SD's
 * application, delegated management tokens and receipts, DAP and Mandated DAP, quotas and
 * memory exhaustion, GET RESPONSE, security levels, replayed and reordered commands.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "card_fixture.h"
#include "card_int.h"	/* white box: card_store_decrypt and the channel it uses */
#include "postcard/crypto.h"

static const uint8_t no_priv[3] = { 0 };

typedef struct mg {
	pcard_cardstate cs;
	pcard_card *c;
	ch_host h;
} mg;

/* A populated SCP03 card in SECURED; the SSD gets ssd_priv. Call mg_go after editing cs. */
static void
mg_init(mg *m, const uint8_t ssd_priv[3])
{
	memset(m, 0, sizeof *m);
	pcard_cardstate_init(&m->cs);
	assert_int_equal(fx_state(&m->cs, 3, PCARD_CARD_SECURED, ssd_priv), 0);
}

static void
mg_go(mg *m)
{
	assert_non_null(m->c = fx_card(&m->cs, NULL, NULL));
	assert_int_equal(fx_host(&m->h, m->c, 3), 0);
}

static void
mg_free(mg *m)
{
	ch_clear(&m->h);
	pcard_card_free(m->c);
	pcard_cardstate_clear(&m->cs);
}

static pcard_card_app *
app(mg *m, const char *hex)
{
	pcard_aid a = fx_aid(hex);

	return pcard_cardstate_app_find((pcard_cardstate *)pcard_card_state(m->c), &a);
}

static pcard_card_app *
cs_app(pcard_cardstate *cs, const char *hex)
{
	pcard_aid a = fx_aid(hex);

	return pcard_cardstate_app_find(cs, &a);
}

/* Select sd (hex) and open its session at level. */
static uint16_t
open_on(ch_host *h, const char *sd, uint8_t level)
{
	uint16_t sw;

	if ((sw = fx_select(h, sd)) != 0x9000)
		return sw;
	sw = ch_open(h, 0, level, 0);
	h->open = sw == 0x9000;
	return sw;
}

static uint16_t
set_status(ch_host *h, uint8_t p1, uint8_t st, const char *aid_hex)
{
	uint8_t cmd[40];
	size_t nc;
	pcard_aid a;

	memset(&a, 0, sizeof a);
	if (aid_hex != NULL)
		a = fx_aid(aid_hex);
	assert_int_equal(pcard_gp_set_status_cmd(p1, st, a.b, a.len, cmd, sizeof cmd, &nc),
	    PCARD_OK);
	return fx_send(h, cmd, nc);
}

/* ------------------------------------------------------------------------------------- */

static void
test_set_status(void **state)
{
	mg m;
	static const uint8_t lock[3] = { PCARD_PRIV1_CARD_LOCK, 0, 0 };
	static const uint8_t term[3] = { PCARD_PRIV1_CARD_TERMINATE, 0, 0 };
	static const uint8_t glock[3] = { 0, PCARD_PRIV2_GLOBAL_LOCK, 0 };

	(void)state;
	/* an SSD without Card Lock / Card Terminate */
	mg_init(&m, no_priv);
	mg_go(&m);
	assert_int_equal(open_on(&m.h, FX_SSD, 0x03), 0x9000);
	assert_int_equal(set_status(&m.h, 0x80, PCARD_CARD_LOCKED, NULL), 0x6982);
	assert_int_equal(set_status(&m.h, 0x80, PCARD_CARD_TERMINATED, NULL), 0x6982);
	assert_int_equal(pcard_card_state(m.c)->life_cycle, PCARD_CARD_SECURED);
	/* it manages its own application, not the ISD's */
	assert_int_equal(set_status(&m.h, 0x40, 0x80, FX_APP), 0x6982);
	assert_int_equal(app(&m, FX_APP)->life_cycle, 0x07);
	assert_int_equal(set_status(&m.h, 0x40, 0x80, FX_SSD_APP), 0x9000);
	assert_int_equal(app(&m, FX_SSD_APP)->life_cycle, 0x87);
	/* P1 and data checks */
	assert_int_equal(fx_send_hex(&m.h, "80F0208008" FX_SSD_APP), 0x6A86);
	assert_int_equal(set_status(&m.h, 0x40, 0x80, FX_SSD_APP), 0x6985);	/* locked twice */
	assert_int_equal(set_status(&m.h, 0x40, 0x00, FX_SSD_APP), 0x9000);
	assert_int_equal(set_status(&m.h, 0x40, 0x00, FX_SSD_APP), 0x6985);	/* not locked */
	assert_int_equal(set_status(&m.h, 0x40, 0x80, FX_ISD), 0x6985);
	assert_int_equal(set_status(&m.h, 0x40, 0x80, "A0000000FF0199"), 0x6A88);
	assert_int_equal(set_status(&m.h, 0x60, 0x80, FX_SSD_APP), 0x6A80);
	mg_free(&m);

	/* Card Lock: lock (the SSD's own selection falls to the ISD), the ISD unlocks */
	mg_init(&m, lock);
	mg_go(&m);
	assert_int_equal(open_on(&m.h, FX_SSD, 0x03), 0x9000);
	assert_int_equal(set_status(&m.h, 0x80, PCARD_CARD_TERMINATED, NULL), 0x6982);
	assert_int_equal(set_status(&m.h, 0x80, PCARD_CARD_LOCKED, NULL), 0x9000);
	assert_int_equal(pcard_card_state(m.c)->life_cycle, PCARD_CARD_LOCKED);
	assert_int_equal(fx_select(&m.h, FX_SSD), 0x6A82);
	assert_int_equal(open_on(&m.h, FX_ISD, 0x03), 0x6283);
	m.h.open = ch_open(&m.h, 0, 0x03, 0) == 0x9000;
	assert_true(m.h.open);
	assert_int_equal(set_status(&m.h, 0x80, PCARD_CARD_SECURED, NULL), 0x9000);
	assert_int_equal(pcard_card_state(m.c)->life_cycle, PCARD_CARD_SECURED);
	mg_free(&m);

	/* Card Terminate */
	mg_init(&m, term);
	mg_go(&m);
	assert_int_equal(open_on(&m.h, FX_SSD, 0x03), 0x9000);
	assert_int_equal(set_status(&m.h, 0x80, PCARD_CARD_LOCKED, NULL), 0x6982);
	assert_int_equal(set_status(&m.h, 0x80, PCARD_CARD_TERMINATED, NULL), 0x9000);
	assert_int_equal(pcard_card_state(m.c)->life_cycle, PCARD_CARD_TERMINATED);
	assert_int_equal(ch_hex(&m.h, "80CA004200"), 0x9000);
	assert_int_equal(ch_hex(&m.h, "8050000008010203040506070800"), 0x6985);
	mg_free(&m);

	/* Global Lock: an SSD may lock (not unlock) another SD's application */
	mg_init(&m, glock);
	mg_go(&m);
	assert_int_equal(open_on(&m.h, FX_SSD, 0x03), 0x9000);
	assert_int_equal(set_status(&m.h, 0x40, 0x80, FX_APP), 0x9000);
	assert_int_equal(app(&m, FX_APP)->life_cycle, 0x87);
	assert_int_equal(set_status(&m.h, 0x40, 0x00, FX_APP), 0x6982);
	/* P1 60: the SD and its applications */
	assert_int_equal(open_on(&m.h, FX_ISD, 0x03), 0x9000);
	assert_int_equal(set_status(&m.h, 0x60, 0x80, FX_SSD), 0x9000);
	assert_int_equal(app(&m, FX_SSD)->life_cycle, 0x8F);
	assert_int_equal(app(&m, FX_SSD_APP)->life_cycle, 0x87);
	assert_int_equal(fx_select(&m.h, FX_SSD), 0x6A82);
	assert_int_equal(open_on(&m.h, FX_ISD, 0x03), 0x9000);
	assert_int_equal(set_status(&m.h, 0x60, 0x00, FX_SSD), 0x9000);
	assert_int_equal(app(&m, FX_SSD)->life_cycle, 0x0F);
	assert_int_equal(app(&m, FX_SSD_APP)->life_cycle, 0x07);
	mg_free(&m);
}

/* ------------------------------------------------------------------------------------- */

#define DS_PKG "F0706F73746361726401"
#define DS_MOD "F0706F7374636172640101"

static void
add_datastore(pcard_cardstate *cs)
{
	pcard_card_elf e;
	pcard_card_app a;

	memset(&e, 0, sizeof e);
	e.aid = fx_aid(DS_PKG);
	e.major = 1;
	e.sd = fx_aid(FX_ISD);
	e.nmodules = 1;
	e.modules[0] = fx_aid(DS_MOD);
	assert_int_equal(pcard_cardstate_elf_add(cs, &e), PCARD_OK);
	memset(&a, 0, sizeof a);
	a.aid = fx_aid(DS_MOD);
	a.elf = e.aid;
	a.module = e.modules[0];
	a.sd = e.sd;
	a.life_cycle = PCARD_APP_SELECTABLE;
	assert_int_equal(pcard_cardstate_app_add(cs, &a), PCARD_OK);
}

static void
test_store_data(void **state)
{
	mg m;
	uint8_t plain[16] = { 0xC1, 0x04, 0, 0, 0, 1, 0xDF, 0x20, 0x02, 0xAA, 0xBB, 0x80, 0, 0, 0, 0 };
	uint8_t enc[16], cmd[64];
	size_t nc;

	(void)state;
	mg_init(&m, no_priv);
	add_datastore(&m.cs);
	mg_go(&m);
	assert_int_equal(open_on(&m.h, FX_ISD, 0x03), 0x9000);
	/* block numbers in sequence from 00 */
	assert_int_equal(fx_send_hex(&m.h, "80E2000102AABB"), 0x6A86);
	assert_int_equal(fx_send_hex(&m.h, "80E2000002AABB"), 0x9000);
	assert_int_equal(fx_send_hex(&m.h, "80E2000002AABB"), 0x6A86);
	assert_int_equal(fx_send_hex(&m.h, "80E2800102AABB"), 0x9000);
	assert_int_equal(fx_send_hex(&m.h, "80E2800002AABB"), 0x9000);	/* reset after last */
	/* P1 checks */
	assert_int_equal(fx_send_hex(&m.h, "80E2820002AABB"), 0x6A86);
	assert_int_equal(fx_send_hex(&m.h, "80E2C00002AABB"), 0x6A86);
	assert_int_equal(fx_send_hex(&m.h, "80E2E00003AABBCC"), 0x6A80);	/* not a block */
	/* a new session resets the block number */
	assert_int_equal(fx_send_hex(&m.h, "80E2000002AABB"), 0x9000);
	m.h.open = ch_open(&m.h, 0, 0x03, 0) == 0x9000;
	assert_int_equal(fx_send_hex(&m.h, "80E2000102AABB"), 0x6A86);
	assert_int_equal(fx_send_hex(&m.h, "80E2000002AABB"), 0x9000);
	/* and so does a new selection */
	assert_int_equal(open_on(&m.h, FX_ISD, 0x03), 0x9000);
	assert_int_equal(fx_send_hex(&m.h, "80E2800102AABB"), 0x6A86);
	/* b7b6 = 11: decrypted with the DEK before the applet sees it */
	assert_int_equal(fx_send_hex(&m.h, "80E62000110000" "0B" DS_MOD "00000000"), 0x9000);
	assert_int_equal(pcard_keys_cipher(m.h.keys, m.h.ks.dek, PCARD_CIPHER_AES_CBC, 1, NULL,
	    plain, sizeof plain, enc), PCARD_OK);
	assert_int_equal(pcard_gp_store_data_cmd(0xE0, 0, enc, sizeof enc, cmd, sizeof cmd, &nc),
	    PCARD_OK);
	assert_int_equal(fx_send(&m.h, cmd, nc), 0x9000);
	assert_int_equal(app(&m, DS_MOD)->data_version, 1);
	assert_int_equal(fx_select(&m.h, DS_MOD), 0x9000);
	assert_int_equal(ch_hex(&m.h, "80CADF2000"), 0x9000);
	assert_int_equal(m.h.rlen, 5 + 2);
	assert_memory_equal(m.h.rsp, plain + 6, 5);
	/* to the SD itself, BER-TLV 4F renames the ISD */
	assert_int_equal(open_on(&m.h, FX_ISD, 0x03), 0x9000);
	assert_int_equal(fx_send_hex(&m.h, "80E290000A4F08A000000151000001"), 0x9000);
	{
		pcard_aid n = fx_aid("A000000151000001");

		assert_true(pcard_aid_eq(&pcard_card_state(m.c)->isd.aid, &n));
		assert_true(pcard_aid_eq(&app(&m, FX_APP)->sd, &n));
	}
	/* encrypted BER-TLV to the SD: the padding is removed before the TLV is read */
	{
		uint8_t rn[16] = { 0x4F, 0x08, 0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00,
		    0x80, 0, 0, 0, 0, 0 };
		pcard_aid back = fx_aid(FX_ISD);

		/* no padding (the plain text ends inside a TLV-looking 00 run): 6A80 */
		rn[10] = 0x00;
		assert_int_equal(pcard_keys_cipher(m.h.keys, m.h.ks.dek, PCARD_CIPHER_AES_CBC, 1,
		    NULL, rn, sizeof rn, enc), PCARD_OK);
		assert_int_equal(pcard_gp_store_data_cmd(0xF0, 0, enc, sizeof enc, cmd, sizeof cmd,
		    &nc), PCARD_OK);
		assert_int_equal(fx_send(&m.h, cmd, nc), 0x6A80);
		assert_false(pcard_aid_eq(&pcard_card_state(m.c)->isd.aid, &back));
		rn[10] = 0x80;
		assert_int_equal(pcard_keys_cipher(m.h.keys, m.h.ks.dek, PCARD_CIPHER_AES_CBC, 1,
		    NULL, rn, sizeof rn, enc), PCARD_OK);
		assert_int_equal(pcard_gp_store_data_cmd(0xF0, 0, enc, sizeof enc, cmd, sizeof cmd,
		    &nc), PCARD_OK);
		assert_int_equal(fx_send(&m.h, cmd, nc), 0x9000);
		assert_true(pcard_aid_eq(&pcard_card_state(m.c)->isd.aid, &back));
		assert_true(pcard_aid_eq(&app(&m, FX_APP)->sd, &back));
	}
	/* an application without store_data (the generic applet) */
	assert_int_equal(fx_send_hex(&m.h, "80E620000E000008" FX_APP "000000"), 0x9000);
	assert_int_equal(fx_send_hex(&m.h, "80E2800002AABB"), 0x6A81);
	mg_free(&m);
}

/* ------------------------------------------------------------------------------------- */

static void
test_install_roles(void **state)
{
	mg m;

	(void)state;
	mg_init(&m, no_priv);
	mg_go(&m);
	assert_int_equal(open_on(&m.h, FX_ISD, 0x03), 0x9000);
	/* make selectable: unknown, already selectable without privileges */
	assert_int_equal(fx_send_hex(&m.h, "80E608000E000008A0000000FF010199000000"), 0x6A88);
	assert_int_equal(fx_send_hex(&m.h, "80E608000E000008" FX_APP "000000"), 0x6985);
	/* install without make selectable, then make selectable */
	assert_int_equal(fx_send_hex(&m.h, "80E604001E06" FX_ELF "07" FX_MOD2 "08" FX_NEW
	    "010002C90000"), 0x9000);
	assert_int_equal(app(&m, FX_NEW)->life_cycle, PCARD_APP_INSTALLED);
	assert_int_equal(fx_select(&m.h, FX_NEW), 0x6A82);
	assert_int_equal(open_on(&m.h, FX_ISD, 0x03), 0x9000);
	assert_int_equal(fx_send_hex(&m.h, "80E608000E000008" FX_NEW "000000"), 0x9000);
	assert_int_equal(app(&m, FX_NEW)->life_cycle, PCARD_APP_SELECTABLE);
	/* module or ELF unknown, instance taken */
	assert_int_equal(fx_send_hex(&m.h, "80E60C001E06" FX_ELF "07A0000000FF0199" "08"
	    "A0000000FF010106" "010002C90000"), 0x6A88);
	assert_int_equal(fx_send_hex(&m.h, "80E60C001E06A0000000FF09" "07" FX_MOD2 "08"
	    "A0000000FF010106" "010002C90000"), 0x6A88);
	assert_int_equal(fx_send_hex(&m.h, "80E60C001E06" FX_ELF "07" FX_MOD2 "08" FX_APP
	    "010002C90000"), 0x6985);
	/* privileges of two bytes */
	assert_int_equal(fx_send_hex(&m.h, "80E60C001F06" FX_ELF "07" FX_MOD2 "08"
	    "A0000000FF010106" "02000002C90000"), 0x6A80);
	/* extradition: to something that is not an SD, an unknown AID, then to the SSD */
	assert_int_equal(fx_send_hex(&m.h, "80E6100016" "08" FX_APP "0008" FX_NEW "00000000"),
	    0x6A88);
	assert_int_equal(fx_send_hex(&m.h, "80E6100015" "07" FX_SSD "0008A0000000FF010199"
	    "00000000"), 0x6A88);
	assert_int_equal(fx_send_hex(&m.h, "80E6100015" "07" FX_SSD "0008" FX_NEW "00000000"),
	    0x9000);
	{
		pcard_aid s = fx_aid(FX_SSD);

		assert_true(pcard_aid_eq(&app(&m, FX_NEW)->sd, &s));
	}
	/* an SD cannot go below itself */
	assert_int_equal(fx_send_hex(&m.h, "80E6100014" "07" FX_SSD "0007" FX_SSD "00000000"),
	    0x6985);
	/* registry update: privileges (not the SD bit), association */
	assert_int_equal(fx_send_hex(&m.h, "80E640000F000008" FX_APP "0104000000"), 0x9000);
	assert_int_equal(app(&m, FX_APP)->priv[0], PCARD_PRIV1_CARD_RESET);
	assert_true(app(&m, FX_APP)->default_selected);
	assert_int_equal(fx_send_hex(&m.h, "80E640000F000008" FX_APP "0180000000"), 0x6A80);
	assert_int_equal(fx_send_hex(&m.h, "80E6400016" "07" FX_SSD "0008" FX_APP "0100000000"),
	    0x9000);
	{
		pcard_aid s = fx_aid(FX_SSD);

		assert_true(pcard_aid_eq(&app(&m, FX_APP)->sd, &s));
	}
	/* the Card Reset holder is now the default application */
	pcard_card_reset(m.c);
	assert_int_equal(ch_hex(&m.h, "0001000000"), 0x6D00);
	/* personalization of an unknown application */
	assert_int_equal(open_on(&m.h, FX_ISD, 0x03), 0x9000);
	assert_int_equal(fx_send_hex(&m.h, "80E620000E000008A0000000FF010199000000"), 0x6A88);
	/* roles that do not exist, combined load+install */
	assert_int_equal(fx_send_hex(&m.h, "80E601000E000008" FX_APP "000000"), 0x6A86);
	assert_int_equal(fx_send_hex(&m.h, "80E60E010E000008" FX_APP "000000"), 0x6A86);
	mg_free(&m);
}

/* ------------------------------------------------------------------------------------- */

static void
test_ssd_creation(void **state)
{
	mg m;
	uint32_t isd_seq;

	(void)state;
	mg_init(&m, no_priv);
	mg_go(&m);
	assert_int_equal(open_on(&m.h, FX_ISD, 0x03), 0x9000);
	/* the SSD module without the Security Domain privilege: refused */
	assert_int_equal(fx_send_hex(&m.h, "80E60C001F07" FX_SSD_PKG "08" FX_SSD_MOD
	    "07A0000000FF5345" "010002C90000"), 0x6A80);
	assert_int_equal(fx_send_hex(&m.h, "80E60C001F07" FX_SSD_PKG "08" FX_SSD_MOD
	    "07A0000000FF5345" "018002C90000"), 0x9000);
	assert_non_null(app(&m, "A0000000FF5345"));
	assert_true(app(&m, "A0000000FF5345")->is_sd);
	assert_int_equal(app(&m, "A0000000FF5345")->sd_info.nkeysets, 1);
	assert_int_equal(app(&m, "A0000000FF5345")->sd_info.keysets[0].seq, 0);
	isd_seq = pcard_card_state(m.c)->isd.sd_info.keysets[0].seq;
	/* its own secure channel, its own counter */
	assert_int_equal(open_on(&m.h, "A0000000FF5345", 0x03), 0x9000);
	assert_int_equal(app(&m, "A0000000FF5345")->sd_info.keysets[0].seq, 1);
	assert_int_equal(pcard_card_state(m.c)->isd.sd_info.keysets[0].seq, isd_seq);
	/* its own key sets: replace FF by 30 */
	assert_int_equal(fx_put_key_aes(&m.h, 0xFF, 0x30, 0x77), 0x9000);
	assert_int_equal(app(&m, "A0000000FF5345")->sd_info.nkeysets, 1);
	assert_int_equal(app(&m, "A0000000FF5345")->sd_info.keysets[0].kvn, 0x30);
	assert_int_equal(pcard_card_state(m.c)->isd.sd_info.keysets[0].kvn, 0xFF);
	/* the old keys no longer open it; the new ones do; the ISD's are unchanged */
	assert_int_equal(fx_select(&m.h, "A0000000FF5345"), 0x9000);
	assert_int_equal(ch_open(&m.h, 0xFF, 0x03, 0), 0x6A88);
	{
		uint8_t k[16];

		memset(k, 0x77, sizeof k);
		assert_int_equal(ch_keys(&m.h, PCARD_KEY_AES, k, 16), 0);
	}
	assert_int_equal(open_on(&m.h, "A0000000FF5345", 0x03), 0x9000);
	/* without Authorized or Delegated Management it installs nothing */
	assert_int_equal(fx_send_hex(&m.h, "80E60C001F07" FX_SSD_PKG "08" FX_SSD_MOD
	    "07A0000000FF5346" "018002C90000"), 0x6982);
	assert_int_equal(ch_keys(&m.h, PCARD_KEY_AES, ch_test_key, 16), 0);
	assert_int_equal(open_on(&m.h, FX_ISD, 0x03), 0x9000);
	mg_free(&m);
}

/* An SSD touching what belongs to another SD: refused with 6982, nothing changes. */
static void
test_ssd_other_sd(void **state)
{
	static const uint8_t am[3] = { 0, PCARD_PRIV2_AM, 0 };
	mg m;

	(void)state;
	mg_init(&m, am);
	mg_go(&m);
	assert_int_equal(open_on(&m.h, FX_SSD, 0x03), 0x9000);
	assert_int_equal(fx_send_hex(&m.h, "80E400000A4F08" FX_APP "00"), 0x6982);
	assert_int_equal(fx_send_hex(&m.h, "80E4000008" "4F06" FX_ELF "00"), 0x6982);
	assert_int_equal(set_status(&m.h, 0x40, 0x80, FX_APP), 0x6982);
	assert_int_equal(fx_send_hex(&m.h, "80E6100015" "07" FX_SSD "0008" FX_APP "00000000"),
	    0x6982);
	assert_int_equal(fx_send_hex(&m.h, "80E608000E000008" FX_APP "000000"), 0x6982);
	assert_int_equal(fx_send_hex(&m.h, "80E620000E000008" FX_APP "000000"), 0x6982);
	assert_int_equal(fx_send_hex(&m.h, "80E640000F000008" FX_APP "0100000000"), 0x6982);
	assert_true(fx_eq_but_counters(pcard_card_state(m.c), &m.cs, NULL, 0));
	/* it grants only privileges it holds itself */
	assert_int_equal(fx_send_hex(&m.h, "80E60C001F07" FX_SSD_PKG "08" FX_SSD_MOD
	    "07A0000000FF5346" "01C002C90000"), 0x6A80);
	assert_int_equal(fx_send_hex(&m.h, "80E60C001F07" FX_SSD_PKG "08" FX_SSD_MOD
	    "07A0000000FF5346" "018002C90000"), 0x9000);
	{
		pcard_aid s = fx_aid(FX_SSD);

		assert_true(pcard_aid_eq(&app(&m, "A0000000FF5346")->sd, &s));
	}
	/* its own application: fine (Authorized Management) */
	assert_int_equal(fx_send_hex(&m.h, "80E400000A4F08" FX_SSD_APP "00"), 0x9000);
	assert_null(app(&m, FX_SSD_APP));
	/* GET STATUS without Global Registry lists only its own (itself and its new SSD) */
	assert_int_equal(fx_send_hex(&m.h, "80F24002024F0000"), 0x9000);
	{
		pcard_gp_status_entry e[8];
		size_t n;

		assert_int_equal(pcard_gp_parse_status(0x40, 0x02, m.h.rsp, m.h.rlen - 2, e, 8, &n),
		    PCARD_OK);
		assert_int_equal(n, 2);
		assert_int_equal(e[0].aid.len, 7);
		assert_int_equal(e[1].aid.len, 7);
	}
	mg_free(&m);
}

/* One DGI: tag, length (1 byte), value encrypted alone with the DEK (AES-CBC, ICV 0). */
static size_t
dgi_enc(ch_host *h, uint16_t tag, const uint8_t *v, size_t n, uint8_t *out)
{
	out[0] = (uint8_t)(tag >> 8);
	out[1] = (uint8_t)tag;
	out[2] = (uint8_t)n;
	if (n > 0)
		assert_int_equal(pcard_keys_cipher(h->keys, h->ks.dek, PCARD_CIPHER_AES_CBC, 1,
		    NULL, v, n, out + 3), PCARD_OK);
	return 3 + n;
}

/*
 * Encrypted DGIs (P1 b7b6 = 11, b5b4 = 01): tag and length in clear, each value encrypted on
 * its own (EMV CPS, GlobalPlatformPro); the card decrypts value by value. White box: the
 * plain field card_store_decrypt gives is compared with the DGIs sent.
 */
static void
test_store_data_dgi(void **state)
{
	static const uint8_t h3[5] = { 0x01, 0x03, 0xFF, 0x00, 0x10 };
	uint8_t v1[16], v2[32], field[128], plain[128], out[128], cmd[160], f3[5 + 16];
	size_t n = 0, pn = 0, nc;
	mg m;

	(void)state;
	memset(v1, 0x11, sizeof v1);
	v1[15] = 0x80;		/* a value that happens to end like padding stays as it is */
	for (size_t i = 0; i < sizeof v2; i++)
		v2[i] = (uint8_t)i;
	mg_init(&m, no_priv);
	add_datastore(&m.cs);
	mg_go(&m);
	assert_int_equal(open_on(&m.h, FX_ISD, 0x03), 0x9000);
	n += dgi_enc(&m.h, 0x0101, v1, sizeof v1, field + n);
	n += dgi_enc(&m.h, 0x8000, v2, sizeof v2, field + n);
	n += dgi_enc(&m.h, 0x0202, NULL, 0, field + n);	/* empty: nothing to decrypt */
	memcpy(plain, "\x01\x01\x10", 3);
	memcpy(plain + 3, v1, 16);
	memcpy(plain + 19, "\x80\x00\x20", 3);
	memcpy(plain + 22, v2, 32);
	memcpy(plain + 54, "\x02\x02\x00", 3);
	pn = 57;
	assert_int_equal(n, pn);
	/* to the SD itself (accepted, not kept): the whole field is 57 bytes, not whole blocks */
	assert_int_equal(pcard_gp_store_data_cmd(0xE8, 0, field, n, cmd, sizeof cmd, &nc),
	    PCARD_OK);
	assert_int_equal(fx_send(&m.h, cmd, nc), 0x9000);
	assert_int_equal(card_store_decrypt(&m.c->ch[0], 0xE8, field, n, out, sizeof out),
	    SW_OK);
	assert_memory_equal(out, plain, pn);
	/* the same bytes as BER-TLV or unformatted are one cryptogram: 57 is no block multiple */
	assert_int_equal(card_store_decrypt(&m.c->ch[0], 0xF0, field, n, out, sizeof out),
	    SW_WRONG_DATA);
	assert_int_equal(card_store_decrypt(&m.c->ch[0], 0xE0, field, n, out, sizeof out),
	    SW_WRONG_DATA);
	assert_int_equal(card_store_decrypt(&m.c->ch[0], 0xE8, field, n, out, 56),
	    SW_WRONG_DATA);
	/* a value that is not whole blocks, a DGI running past the field, cut headers */
	assert_int_equal(fx_send_hex(&m.h, "80E2E8000401010100"), 0x6A80);
	assert_int_equal(fx_send_hex(&m.h, "80E2E80012010110" "00112233445566778899AABBCCDDEE"),
	    0x6A80);
	assert_int_equal(fx_send_hex(&m.h, "80E2E8001301011100112233445566778899AABBCCDDEEFF"),
	    0x6A80);
	assert_int_equal(fx_send_hex(&m.h, "80E2E800020101"), 0x6A80);
	assert_int_equal(fx_send_hex(&m.h, "80E2E8000401FF0001"), 0x6A80);
	/* the three-byte length form */
	memcpy(f3, h3, sizeof h3);
	assert_int_equal(pcard_keys_cipher(m.h.keys, m.h.ks.dek, PCARD_CIPHER_AES_CBC, 1, NULL,
	    v1, 16, f3 + 5), PCARD_OK);
	assert_int_equal(card_store_decrypt(&m.c->ch[0], 0x68, f3, sizeof f3, out, sizeof out),
	    SW_OK);
	assert_memory_equal(out, h3, sizeof h3);
	assert_memory_equal(out + 5, v1, 16);
	/* through INSTALL [for personalization] the datastore gets the DGIs decrypted: it then
	 * refuses the DGI format itself (6A86), where a card that cannot read them says 6A80 */
	assert_int_equal(fx_send_hex(&m.h, "80E62000110000" "0B" DS_MOD "00000000"), 0x9000);
	assert_int_equal(fx_send_hex(&m.h, "80E2E8000401010100"), 0x6A80);
	assert_int_equal(fx_send(&m.h, cmd, nc), 0x6A86);
	assert_true(fx_eq_but_counters(pcard_card_state(m.c), &m.cs, NULL, 0));
	mg_free(&m);
}

/* ------------------------------------------------------------------------------------- */

/* Token key (ISD, KVN 70) and receipt key (ISD, KVN 71), Receipt Generation on the ISD. */
static void
add_dm_keys(pcard_cardstate *cs)
{
	assert_int_equal(fx_add_aes_keyset(&cs->isd, 0x70, 0x33), 0);
	assert_int_equal(fx_add_aes_keyset(&cs->isd, 0x71, 0x44), 0);
	cs->isd.sd_info.token.kvn = 0x70;
	cs->isd.sd_info.token.id = 1;
	cs->isd.sd_info.receipt.kvn = 0x71;
	cs->isd.sd_info.receipt.id = 1;
	cs->isd.priv[2] |= PCARD_PRIV3_RECEIPT;
}

/* INSTALL or DELETE data with a token (k NULL: empty token). */
static uint16_t
send_tokened(ch_host *h, uint8_t ins, uint8_t p1, const char *hex, const pcard_dapkey *k)
{
	uint8_t d[256], cmd[300];
	size_t n, nt = 0;

	assert_int_equal(pcard_hex_decode(hex, d, sizeof d, &n), PCARD_OK);
	cmd[0] = 0x80;
	cmd[1] = ins;
	cmd[2] = p1;
	cmd[3] = 0;
	if (k != NULL) {
		assert_int_equal(pcard_token_append(k, ins, p1, 0, d, n, cmd + 5, sizeof cmd - 6,
		    &nt), PCARD_OK);
	} else {
		memcpy(cmd + 5, d, n);
		nt = n;
		if (ins == PCARD_INS_INSTALL)
			cmd[5 + nt++] = 0x00;
	}
	cmd[4] = (uint8_t)nt;
	cmd[5 + nt] = 0x00;
	return fx_send(h, cmd, 6 + nt);
}

static void
test_delegated_management(void **state)
{
	static const uint8_t dm[3] = { PCARD_PRIV1_DM, 0, 0 };
	const char *inst = "06" FX_ELF "07" FX_MOD2 "08" FX_NEW "0100" "02C900";
	pcard_keys *tk = NULL, *wk = NULL, *rk = NULL;
	pcard_dapkey tok, wrong, rcpt;
	uint8_t ctx[64], uniq[32];
	size_t ctxn;
	pcard_confirm conf;
	mg m;

	(void)state;
	assert_int_equal(fx_cmac_key(&tk, &tok, 0x33), 0);
	assert_int_equal(fx_cmac_key(&wk, &wrong, 0x34), 0);
	assert_int_equal(fx_cmac_key(&rk, &rcpt, 0x44), 0);
	mg_init(&m, dm);
	add_dm_keys(&m.cs);
	mg_go(&m);
	assert_int_equal(open_on(&m.h, FX_SSD, 0x03), 0x9000);
	/* missing and wrong tokens */
	assert_int_equal(send_tokened(&m.h, 0xE6, 0x0C, inst, NULL), 0x6982);
	assert_int_equal(send_tokened(&m.h, 0xE6, 0x0C, inst, &wrong), 0x6982);
	assert_null(app(&m, FX_NEW));
	/* the right token: installed, with a receipt over ELF and instance */
	assert_int_equal(send_tokened(&m.h, 0xE6, 0x0C, inst, &tok), 0x9000);
	assert_non_null(app(&m, FX_NEW));
	{
		pcard_aid e = fx_aid(FX_ELF), i = fx_aid(FX_NEW);

		assert_int_equal(pcard_receipt_context(PCARD_RECEIPT_INSTALL, e.b, e.len, i.b, i.len,
		    NULL, 0, ctx, sizeof ctx, &ctxn), PCARD_OK);
	}
	assert_int_equal(pcard_receipt_verify(rk, rcpt.h, m.h.rsp, m.h.rlen - 2, ctx, ctxn,
	    &conf), PCARD_OK);
	assert_int_equal(conf.counter, 1);
	memcpy(uniq, pcard_card_state(m.c)->iin, pcard_card_state(m.c)->iin_len);
	memcpy(uniq + pcard_card_state(m.c)->iin_len, pcard_card_state(m.c)->cin,
	    pcard_card_state(m.c)->cin_len);
	assert_int_equal(conf.sd_unique_len, (size_t)pcard_card_state(m.c)->iin_len +
	    pcard_card_state(m.c)->cin_len);
	assert_memory_equal(conf.sd_unique, uniq, conf.sd_unique_len);
	/* a receipt made with another key does not verify */
	assert_int_equal(pcard_receipt_verify(wk, wrong.h, m.h.rsp, m.h.rlen - 2, ctx, ctxn,
	    NULL), PCARD_E_VERIFY);
	/* DELETE with a token; the receipt counter moves on */
	assert_int_equal(send_tokened(&m.h, 0xE4, 0x00, "4F08" FX_NEW, &wrong), 0x6982);
	assert_int_equal(send_tokened(&m.h, 0xE4, 0x00, "4F08" FX_NEW, NULL), 0x6982);
	assert_int_equal(send_tokened(&m.h, 0xE4, 0x00, "4F08" FX_NEW, &tok), 0x9000);
	{
		pcard_aid i = fx_aid(FX_NEW);

		assert_int_equal(pcard_receipt_context(PCARD_RECEIPT_DELETE, i.b, i.len, NULL, 0,
		    NULL, 0, ctx, sizeof ctx, &ctxn), PCARD_OK);
	}
	assert_int_equal(pcard_receipt_verify(rk, rcpt.h, m.h.rsp, m.h.rlen - 2, ctx, ctxn,
	    &conf), PCARD_OK);
	assert_int_equal(conf.counter, 2);
	assert_int_equal(pcard_card_state(m.c)->receipt_counter, 2);
	assert_null(app(&m, FX_NEW));
	/* the ISD needs no token, and answers 00 without a receipt */
	assert_int_equal(open_on(&m.h, FX_ISD, 0x03), 0x9000);
	assert_int_equal(fx_send_hex(&m.h, "80E400000A4F08" FX_APP "00"), 0x9000);
	assert_int_equal(m.h.rlen, 3);
	assert_int_equal(m.h.rsp[0], 0x00);
	mg_free(&m);

	/* neither Authorized nor Delegated Management: refused */
	mg_init(&m, no_priv);
	add_dm_keys(&m.cs);
	mg_go(&m);
	assert_int_equal(open_on(&m.h, FX_SSD, 0x03), 0x9000);
	assert_int_equal(send_tokened(&m.h, 0xE6, 0x0C, inst, &tok), 0x6982);
	mg_free(&m);
	pcard_keys_free(tk);
	pcard_keys_free(wk);
	pcard_keys_free(rk);
}

/* ------------------------------------------------------------------------------------- */

#define EMPTY_CAP "cap/gppro-empty-2.2.1.cap"

static void
test_dap(void **state)
{
	static const uint8_t dap[3] = { PCARD_PRIV1_DAP, 0, 0 };
	static const uint8_t mandated[3] = { PCARD_PRIV1_DAP | PCARD_PRIV1_MANDATED_DAP, 0, 0 };
	pcard_keys *dk = NULL, *wk = NULL;
	pcard_dapkey good, wrong;
	pcard_aid ssd = fx_aid(FX_SSD), pkg;
	fx_load_opts o;
	mg m;

	(void)state;
	assert_int_equal(fx_cmac_key(&dk, &good, 0x55), 0);
	assert_int_equal(fx_cmac_key(&wk, &wrong, 0x56), 0);
	/* DAP Verification: loads into the SSD need its DAP */
	mg_init(&m, dap);
	assert_int_equal(fx_add_aes_keyset(cs_app(&m.cs, FX_SSD), 0x72, 0x55), 0);
	cs_app(&m.cs, FX_SSD)->sd_info.dap.kvn = 0x72;
	cs_app(&m.cs, FX_SSD)->sd_info.dap.id = 1;
	mg_go(&m);
	assert_int_equal(open_on(&m.h, FX_ISD, 0x03), 0x9000);
	memset(&o, 0, sizeof o);
	o.sd = &ssd;
	assert_int_equal(fx_load_cap_ex(&m.h, EMPTY_CAP, &o, &pkg), 0x6A80);	/* no hash */
	o.hash = 1;
	assert_int_equal(fx_load_cap_ex(&m.h, EMPTY_CAP, &o, &pkg), 0x6982);	/* no DAP */
	o.dap = &wrong;
	o.dap_sd = &ssd;
	assert_int_equal(fx_load_cap_ex(&m.h, EMPTY_CAP, &o, &pkg), 0x6982);	/* wrong key */
	o.dap = &good;
	o.corrupt_dap = 1;
	assert_int_equal(fx_load_cap_ex(&m.h, EMPTY_CAP, &o, &pkg), 0x6982);	/* mismatch */
	assert_true(fx_eq_but_counters(pcard_card_state(m.c), &m.cs, NULL, 0));
	o.corrupt_dap = 0;
	assert_int_equal(fx_load_cap_ex(&m.h, EMPTY_CAP, &o, &pkg), 0x9000);
	assert_non_null(pcard_cardstate_elf_find((pcard_cardstate *)pcard_card_state(m.c), &pkg));
	/* a load into the ISD does not need the SSD's DAP */
	assert_int_equal(fx_send_hex(&m.h, "80E400000A4F08" FX_APP "00"), 0x9000);
	mg_free(&m);

	/* Mandated DAP: every load, whichever its SD, needs the SSD's DAP */
	mg_init(&m, mandated);
	assert_int_equal(fx_add_aes_keyset(cs_app(&m.cs, FX_SSD), 0x72, 0x55), 0);
	cs_app(&m.cs, FX_SSD)->sd_info.dap.kvn = 0x72;
	cs_app(&m.cs, FX_SSD)->sd_info.dap.id = 1;
	mg_go(&m);
	assert_int_equal(open_on(&m.h, FX_ISD, 0x03), 0x9000);
	memset(&o, 0, sizeof o);
	o.hash = 1;
	assert_int_equal(fx_load_cap_ex(&m.h, EMPTY_CAP, &o, &pkg), 0x6982);
	o.dap = &good;
	o.dap_sd = &ssd;
	o.corrupt_dap = 1;
	assert_int_equal(fx_load_cap_ex(&m.h, EMPTY_CAP, &o, &pkg), 0x6982);
	o.corrupt_dap = 0;
	assert_int_equal(fx_load_cap_ex(&m.h, EMPTY_CAP, &o, &pkg), 0x9000);
	{
		pcard_aid isd = fx_aid(FX_ISD);

		assert_true(pcard_aid_eq(&pcard_cardstate_elf_find(
		    (pcard_cardstate *)pcard_card_state(m.c), &pkg)->sd, &isd));
	}
	mg_free(&m);
	pcard_keys_free(dk);
	pcard_keys_free(wk);
}

/* ------------------------------------------------------------------------------------- */

/* PUT KEY of one AES-128 key (every byte v) as key id into set kvn, P1 old (0 = add). */
static uint16_t
put_aes_single(ch_host *h, uint8_t old, uint8_t kvn, uint8_t id, uint8_t v)
{
	uint8_t key[16], data[64], cmd[128];
	size_t n = 0;
	pcard_putkey_expect exp;
	pcard_keyh k;

	memset(key, v, sizeof key);
	if (pcard_keys_mem_import(h->keys, NULL, PCARD_KEY_AES, key, 16, &k) != PCARD_OK ||
	    pcard_putkey_single(h->keys, h->ks.dek, kvn, k, data, sizeof data, &n, &exp) !=
	    PCARD_OK)
		return 0;
	cmd[0] = 0x80;
	cmd[1] = 0xD8;
	cmd[2] = old;
	cmd[3] = id;
	cmd[4] = (uint8_t)n;
	memcpy(cmd + 5, data, n);
	cmd[5 + n] = 0x00;
	return fx_send(h, cmd, 6 + n);
}

static const pcard_card_keyref *
ref_of(mg *m, const char *sd, int which)
{
	const pcard_card_app *a = strcmp(sd, FX_ISD) == 0 ? &pcard_card_state(m->c)->isd :
	    app(m, sd);

	return which == 0 ? &a->sd_info.token : which == 1 ? &a->sd_info.receipt :
	    &a->sd_info.dap;
}

/*
 * GP key version conventions: a PUT KEY that creates KVN 70 / 71 / 73 (key 01) in an SD makes
 * it that SD's token verification / receipt generation / DAP verification key; DELETE of the
 * key clears the reference. Then the keys work: a DAP-verified load into an SSD with DAP
 * Verification, and a token-verified delegated install with a receipt, all set up by APDUs.
 */
static void
test_key_conventions(void **state)
{
	static const uint8_t ssd_priv[3] = { PCARD_PRIV1_DAP | PCARD_PRIV1_DM, 0, 0 };
	const char *inst = "06" FX_ELF "07" FX_MOD2 "08" FX_NEW "0100" "02C900";
	pcard_keys *dk = NULL, *tk = NULL, *rk = NULL;
	pcard_dapkey dap, tok, rcpt;
	pcard_aid ssd = fx_aid(FX_SSD), pkg;
	uint8_t ctx[64];
	size_t ctxn;
	fx_load_opts o;
	mg m;

	(void)state;
	assert_int_equal(fx_cmac_key(&dk, &dap, 0x55), 0);
	assert_int_equal(fx_cmac_key(&tk, &tok, 0x33), 0);
	assert_int_equal(fx_cmac_key(&rk, &rcpt, 0x44), 0);
	mg_init(&m, ssd_priv);
	m.cs.isd.priv[2] |= PCARD_PRIV3_RECEIPT;
	mg_go(&m);
	/* the SSD's own session puts its DAP key; other KVNs and key ids set nothing */
	assert_int_equal(open_on(&m.h, FX_SSD, 0x03), 0x9000);
	assert_int_equal(put_aes_single(&m.h, 0, 0x72, 1, 0x55), 0x9000);
	assert_int_equal(put_aes_single(&m.h, 0, 0x73, 2, 0x55), 0x9000);
	assert_int_equal(ref_of(&m, FX_SSD, 2)->kvn, 0);
	assert_int_equal(fx_send_hex(&m.h, "80E4000003D2017300"), 0x9000);	/* set 73 */
	assert_int_equal(put_aes_single(&m.h, 0, 0x73, 1, 0x55), 0x9000);
	assert_int_equal(ref_of(&m, FX_SSD, 2)->kvn, 0x73);
	assert_int_equal(ref_of(&m, FX_SSD, 2)->id, 1);
	assert_int_equal(ref_of(&m, FX_SSD, 0)->kvn, 0);
	/* the ISD's token and receipt keys */
	assert_int_equal(open_on(&m.h, FX_ISD, 0x03), 0x9000);
	assert_int_equal(put_aes_single(&m.h, 0, 0x70, 1, 0x33), 0x9000);
	assert_int_equal(put_aes_single(&m.h, 0, 0x71, 1, 0x44), 0x9000);
	assert_int_equal(ref_of(&m, FX_ISD, 0)->kvn, 0x70);
	assert_int_equal(ref_of(&m, FX_ISD, 1)->kvn, 0x71);
	assert_int_equal(ref_of(&m, FX_ISD, 2)->kvn, 0);
	/* DAP-verified load into the SSD: refused without or with a wrong DAP, then accepted */
	memset(&o, 0, sizeof o);
	o.sd = &ssd;
	o.hash = 1;
	assert_int_equal(fx_load_cap_ex(&m.h, EMPTY_CAP, &o, &pkg), 0x6982);
	o.dap = &tok;
	o.dap_sd = &ssd;
	assert_int_equal(fx_load_cap_ex(&m.h, EMPTY_CAP, &o, &pkg), 0x6982);
	o.dap = &dap;
	assert_int_equal(fx_load_cap_ex(&m.h, EMPTY_CAP, &o, &pkg), 0x9000);
	assert_non_null(pcard_cardstate_elf_find((pcard_cardstate *)pcard_card_state(m.c), &pkg));
	/* delegated management: the SSD installs with a token of the ISD's key 70 and gets a
	 * receipt of key 71 */
	assert_int_equal(open_on(&m.h, FX_SSD, 0x03), 0x9000);
	assert_int_equal(send_tokened(&m.h, 0xE6, 0x0C, inst, &dap), 0x6982);
	assert_null(app(&m, FX_NEW));
	assert_int_equal(send_tokened(&m.h, 0xE6, 0x0C, inst, &tok), 0x9000);
	assert_non_null(app(&m, FX_NEW));
	{
		pcard_aid e = fx_aid(FX_ELF), i = fx_aid(FX_NEW);

		assert_int_equal(pcard_receipt_context(PCARD_RECEIPT_INSTALL, e.b, e.len, i.b, i.len,
		    NULL, 0, ctx, sizeof ctx, &ctxn), PCARD_OK);
	}
	assert_int_equal(pcard_receipt_verify(rk, rcpt.h, m.h.rsp, m.h.rlen - 2, ctx, ctxn,
	    NULL), PCARD_OK);
	/* replacing key 01 of set 70 keeps the reference; deleting the set clears it */
	assert_int_equal(open_on(&m.h, FX_ISD, 0x03), 0x9000);
	assert_int_equal(put_aes_single(&m.h, 0x70, 0x70, 1, 0x35), 0x9000);
	assert_int_equal(ref_of(&m, FX_ISD, 0)->kvn, 0x70);
	assert_int_equal(fx_send_hex(&m.h, "80E4000006D00101D2017000"), 0x9000); /* key 1 of 70 */
	assert_int_equal(ref_of(&m, FX_ISD, 0)->kvn, 0);
	assert_int_equal(ref_of(&m, FX_ISD, 1)->kvn, 0x71);
	assert_int_equal(fx_send_hex(&m.h, "80E4000003D2017100"), 0x9000);	/* set 71 */
	assert_int_equal(ref_of(&m, FX_ISD, 1)->kvn, 0);
	/* with no token key left, delegated management is refused */
	assert_int_equal(open_on(&m.h, FX_SSD, 0x03), 0x9000);
	assert_int_equal(send_tokened(&m.h, 0xE4, 0x00, "4F08" FX_NEW, &tok), 0x6982);
	assert_non_null(app(&m, FX_NEW));
	mg_free(&m);
	pcard_keys_free(dk);
	pcard_keys_free(tk);
	pcard_keys_free(rk);
}

/* ------------------------------------------------------------------------------------- */

/* PUT KEY piece: P1 (old | 80 when more), P2 01, data d[0..n). */
static uint16_t
put_key_piece(ch_host *h, uint8_t p1, const uint8_t *d, size_t n)
{
	uint8_t cmd[300];

	cmd[0] = 0x80;
	cmd[1] = 0xD8;
	cmd[2] = p1;
	cmd[3] = 0x01;
	cmd[4] = (uint8_t)n;
	memcpy(cmd + 5, d, n);
	cmd[5 + n] = 0x00;
	return fx_send(h, cmd, 6 + n);
}

/*
 * PUT KEY chaining (P1 b8 "more PUT KEY commands", CS 11.8.2.1): an RSA-2048 public key (267
 * bytes of data field) in pieces of 200 and 67; every piece but the last answers 9000 without
 * data and changes nothing; the last stores the key (and, KVN 73, makes it the SSD's DAP key,
 * which then verifies an RSASSA-PSS DAP). Refusals: P1 or P2 changing inside a chain 6A86,
 * more than the card keeps 6A84, a chain cut by another command (the last piece alone) 6A80.
 */
static void
test_putkey_chain(void **state)
{
	static const uint8_t dap_priv[3] = { PCARD_PRIV1_DAP, 0, 0 };
	uint8_t data[1024], big[200];
	size_t n = 0;
	pcard_putkey_expect exp;
	pcard_pkey *pk = NULL;
	pcard_dapkey dk;
	pcard_aid ssd = fx_aid(FX_SSD), pkg;
	pcard_card_keyset *ks;
	fx_load_opts o;
	mg m;

	(void)state;
	assert_int_equal(pcard_pkey_gen_rsa(2048, &pk), PCARD_OK);
	assert_int_equal(pcard_putkey_public(0x73, pk, data, sizeof data, &n, &exp), PCARD_OK);
	assert_int_equal(n, 267);
	mg_init(&m, dap_priv);
	mg_go(&m);
	assert_int_equal(open_on(&m.h, FX_SSD, 0x03), 0x9000);
	/* P2 or P1 changing inside the chain */
	assert_int_equal(put_key_piece(&m.h, 0x80, data, 200), 0x9000);
	assert_int_equal(m.h.rlen, 2);
	assert_true(fx_eq_but_counters(pcard_card_state(m.c), &m.cs, NULL, 0));
	{
		uint8_t cmd[300];

		cmd[0] = 0x80;
		cmd[1] = 0xD8;
		cmd[2] = 0x00;
		cmd[3] = 0x02;
		cmd[4] = 67;
		memcpy(cmd + 5, data + 200, 67);
		cmd[72] = 0;
		assert_int_equal(fx_send(&m.h, cmd, 73), 0x6A86);
	}
	assert_int_equal(put_key_piece(&m.h, 0x80, data, 200), 0x9000);
	assert_int_equal(put_key_piece(&m.h, 0x05, data + 200, n - 200), 0x6A86);
	/* another command cuts the chain: the last piece alone is no key data field */
	assert_int_equal(put_key_piece(&m.h, 0x80, data, 200), 0x9000);
	assert_int_equal(fx_send_hex(&m.h, "80F21000024F0000"), 0x9000);
	assert_int_equal(put_key_piece(&m.h, 0x00, data + 200, n - 200), 0x6A80);
	/* over the card's chain buffer */
	memset(big, 0x01, sizeof big);
	for (int i = 0; i < 5; i++)
		assert_int_equal(put_key_piece(&m.h, 0x80, big, sizeof big), 0x9000);
	assert_int_equal(put_key_piece(&m.h, 0x80, big, sizeof big), 0x6A84);
	assert_true(fx_eq_but_counters(pcard_card_state(m.c), &m.cs, NULL, 0));
	/* the whole chain */
	assert_int_equal(put_key_piece(&m.h, 0x80, data, 200), 0x9000);
	assert_int_equal(put_key_piece(&m.h, 0x00, data + 200, n - 200), 0x9000);
	assert_int_equal(m.h.rlen, 3);
	assert_int_equal(m.h.rsp[0], 0x73);
	assert_non_null(ks = pcard_card_sd_keyset_find(app(&m, FX_SSD), 0x73));
	assert_int_equal(ks->keys[0].type, PCARD_KEYTYPE_RSA_PUB);
	assert_int_equal(ks->keys[0].len, 256);
	assert_int_equal(app(&m, FX_SSD)->sd_info.dap.kvn, 0x73);
	/* a DAP-verified load with the 2048-bit key (RSASSA-PSS SHA-256) */
	memset(&dk, 0, sizeof dk);
	dk.alg = PCARD_DAP_RSA_PSS_SHA256;
	dk.pkey = pk;
	assert_int_equal(open_on(&m.h, FX_ISD, 0x03), 0x9000);
	memset(&o, 0, sizeof o);
	o.sd = &ssd;
	o.hash = 1;
	o.dap = &dk;
	o.dap_sd = &ssd;
	o.corrupt_dap = 1;
	assert_int_equal(fx_load_cap_ex(&m.h, EMPTY_CAP, &o, &pkg), 0x6982);
	o.corrupt_dap = 0;
	assert_int_equal(fx_load_cap_ex(&m.h, EMPTY_CAP, &o, &pkg), 0x9000);
	mg_free(&m);
	pcard_pkey_free(pk);
}

/* ------------------------------------------------------------------------------------- */

static void
test_quotas_and_memory(void **state)
{
	uint8_t params[32];
	size_t pn;
	fx_load_opts o;
	mg m;
	char hex[200];

	(void)state;
	mg_init(&m, no_priv);
	mg_go(&m);
	assert_int_equal(open_on(&m.h, FX_ISD, 0x03), 0x9000);
	/* C6 over the free memory: INSTALL [for load] refuses */
	assert_int_equal(pcard_gp_load_params(pcard_card_state(m.c)->nvm_size, 0, 0, params,
	    sizeof params, &pn), PCARD_OK);
	memset(&o, 0, sizeof o);
	o.params = params;
	o.params_len = pn;
	assert_int_equal(fx_load_cap_ex(&m.h, EMPTY_CAP, &o, NULL), 0x6A84);
	/* C7 over the volatile memory */
	assert_int_equal(pcard_gp_load_params(0, 9000, 0, params, sizeof params, &pn), PCARD_OK);
	o.params_len = pn;
	assert_int_equal(fx_load_cap_ex(&m.h, EMPTY_CAP, &o, NULL), 0x6A84);
	/* a C6 within limits is charged when bigger than the load file */
	assert_int_equal(pcard_gp_load_params(5000, 0, 0, params, sizeof params, &pn), PCARD_OK);
	o.params_len = pn;
	{
		uint32_t used = pcard_card_state(m.c)->nvm_used;

		assert_int_equal(fx_load_cap_ex(&m.h, EMPTY_CAP, &o, NULL), 0x9000);
		assert_int_equal(pcard_card_state(m.c)->nvm_used, used + 5000);
	}
	/* INSTALL with C8 over the free memory, C7 over 8 KiB */
	snprintf(hex, sizeof hex, "80E60C0026" "06" FX_ELF "07" FX_MOD2 "08" FX_NEW "0100"
	    "0A" "C900" "EF06C804%08X" "0000", pcard_card_state(m.c)->nvm_size);
	assert_int_equal(fx_send_hex(&m.h, hex), 0x6A84);
	assert_int_equal(fx_send_hex(&m.h, "80E60C0026" "06" FX_ELF "07" FX_MOD2 "08" FX_NEW
	    "0100" "0A" "C900" "EF06C70400002329" "0000"), 0x6A84);
	assert_null(app(&m, FX_NEW));
	assert_int_equal(fx_send_hex(&m.h, "80E60C0026" "06" FX_ELF "07" FX_MOD2 "08" FX_NEW
	    "0100" "0A" "C900" "EF06C80400000100" "0000"), 0x9000);
	assert_int_equal(app(&m, FX_NEW)->nv_quota, 0x100);
	mg_free(&m);

	/* memory exhausted: LOAD answers 6A84 and nothing is registered */
	mg_init(&m, no_priv);
	m.cs.nvm_size = m.cs.nvm_used + 100;
	mg_go(&m);
	assert_int_equal(open_on(&m.h, FX_ISD, 0x03), 0x9000);
	assert_int_equal(fx_load_cap(&m.h, EMPTY_CAP, NULL), 0x6A84);
	assert_true(fx_eq_but_counters(pcard_card_state(m.c), &m.cs, NULL, 0));
	/* the unfinished LOAD is abandoned */
	assert_int_equal(fx_send_hex(&m.h, "80E8800001C400"), 0x6985);
	mg_free(&m);
}

/* ------------------------------------------------------------------------------------- */

/* The datastore filled with items until its tag list (GET DATA 5C) is over 256 bytes. */
static void
test_get_response(void **state)
{
	mg m;
	size_t total = 0;
	uint8_t all[1024];
	uint16_t sw;

	(void)state;
	mg_init(&m, no_priv);
	add_datastore(&m.cs);
	mg_go(&m);
	assert_int_equal(ch_hex(&m.h, "00C0000000"), 0x6985);	/* nothing pending */
	assert_int_equal(open_on(&m.h, FX_ISD, 0x03), 0x9000);
	assert_int_equal(fx_send_hex(&m.h, "80E62000110000" "0B" DS_MOD "00000000"), 0x9000);
	for (unsigned msg = 0; msg < 4; msg++) {
		uint8_t d[255], cmd[300];
		size_t n = 0, nc;

		d[n++] = 0xC1;
		d[n++] = 4;
		d[n++] = 0;
		d[n++] = 0;
		d[n++] = 0;
		d[n++] = (uint8_t)(msg + 1);
		for (unsigned k = 0; k < 48; k++) {
			unsigned t = msg * 48 + k;

			d[n++] = t < 96 ? 0xDF : 0x9F;
			d[n++] = (uint8_t)(0x20 + t % 96);
			d[n++] = 1;
			d[n++] = (uint8_t)t;
		}
		assert_int_equal(pcard_gp_store_data_cmd(0x80, 0, d, n, cmd, sizeof cmd, &nc),
		    PCARD_OK);
		assert_int_equal(fx_send(&m.h, cmd, nc), 0x9000);
	}
	assert_int_equal(fx_select(&m.h, DS_MOD), 0x9000);
	sw = ch_hex(&m.h, "80CA005C00");
	assert_int_equal(sw, 0x6100 | ((4 + 384 - 256) & 0xFF));
	assert_int_equal(m.h.rlen, 256 + 2);
	memcpy(all, m.h.rsp, 256);
	total = 256;
	/* GET RESPONSE in two pieces (Le 40, then the rest) */
	sw = ch_hex(&m.h, "00C0000040");
	assert_int_equal(m.h.rlen, 0x40 + 2);
	assert_int_equal(sw >> 8, 0x61);
	memcpy(all + total, m.h.rsp, 0x40);
	total += 0x40;
	assert_int_equal(ch_hex(&m.h, "00C0000000"), 0x9000);
	memcpy(all + total, m.h.rsp, m.h.rlen - 2);
	total += m.h.rlen - 2;
	assert_int_equal(total, 4 + 384);
	assert_int_equal(all[0], 0x5C);
	assert_int_equal(all[1], 0x82);
	assert_int_equal(all[2] << 8 | all[3], 384);
	assert_int_equal(ch_hex(&m.h, "00C0000000"), 0x6985);
	/* another command drops what was pending */
	assert_int_equal(ch_hex(&m.h, "80CA005C00") >> 8, 0x61);
	assert_int_equal(ch_hex(&m.h, "80CA00C100"), 0x9000);
	assert_int_equal(ch_hex(&m.h, "00C0000000"), 0x6985);
	mg_free(&m);
}

/* ------------------------------------------------------------------------------------- */

static void
test_levels(void **state)
{
	mg m;
	uint8_t cmd[64];
	size_t nc;
	pcard_scp_host_params hp;

	(void)state;
	/* SCP03 i=00: no R-MAC; EXTERNAL AUTHENTICATE asking for it is refused */
	mg_init(&m, no_priv);
	m.cs.isd.sd_info.i = 0x00;
	mg_go(&m);
	assert_false(pcard_scp_level_ok(3, 0x00, 0x13));
	assert_true(pcard_scp_level_ok(3, 0x70, 0x13));
	memset(&hp, 0, sizeof hp);
	assert_int_equal(pcard_scp_host_init_update(&m.h.scp, m.h.keys, &m.h.ks, &hp, cmd,
	    sizeof cmd, &nc), PCARD_OK);
	assert_int_equal(ch_raw(&m.h, cmd, nc), 0x9000);
	assert_int_equal(pcard_scp_host_auth(&m.h.scp, m.h.rsp, m.h.rlen), PCARD_OK);
	if (pcard_scp_host_ext_auth(&m.h.scp, 0x13, cmd, sizeof cmd, &nc) == PCARD_OK) {
		assert_int_equal(ch_raw(&m.h, cmd, nc), 0x6982);
	} else {
		/* the host refuses too: send one made for level 03 with P1 changed */
		assert_int_equal(pcard_scp_host_ext_auth(&m.h.scp, 0x03, cmd, sizeof cmd, &nc),
		    PCARD_OK);
		cmd[2] = 0x13;
		assert_int_equal(ch_raw(&m.h, cmd, nc), 0x6982);
	}
	assert_int_equal(pcard_card_state(m.c)->isd.sd_info.keysets[0].fails, 0);
	assert_int_equal(ch_open(&m.h, 0, 0x03, 0), 0x9000);
	mg_free(&m);

	/* an SD with minimum level C-MAC + C-DEC */
	mg_init(&m, no_priv);
	m.cs.isd.sd_info.min_level = 0x03;
	mg_go(&m);
	assert_int_equal(ch_open(&m.h, 0, 0x01, 0), 0x6982);
	assert_int_equal(ch_open(&m.h, 0, 0x03, 0), 0x9000);
	m.h.open = 1;
	/* a command below its level: plain in a C-MAC session */
	assert_int_equal(ch_hex(&m.h, "80F24002024F0000"), 0x6982);
	assert_int_equal(fx_send_hex(&m.h, "80F24002024F0000"), 0x9000);
	mg_free(&m);
}

/* Replayed and reordered commands: 6982 and the session is dead. */
static void
test_replay_reorder(void **state)
{
	static const uint8_t gs[] = { 0x80, 0xF2, 0x40, 0x02, 0x02, 0x4F, 0x00, 0x00 };
	uint8_t w1[64], w2[64];
	size_t n1, n2;
	mg m;

	(void)state;
	mg_init(&m, no_priv);
	mg_go(&m);
	assert_int_equal(open_on(&m.h, FX_ISD, 0x03), 0x9000);
	assert_int_equal(pcard_scp_wrap_cmd(&m.h.scp, gs, sizeof gs, w1, sizeof w1, &n1),
	    PCARD_OK);
	assert_int_equal(ch_raw(&m.h, w1, n1), 0x9000);
	assert_int_equal(ch_raw(&m.h, w1, n1), 0x6982);	/* replayed */
	assert_int_equal(fx_send_hex(&m.h, "80F24002024F0000"), 0x6982);	/* session dead */
	assert_int_equal(open_on(&m.h, FX_ISD, 0x03), 0x9000);
	assert_int_equal(pcard_scp_wrap_cmd(&m.h.scp, gs, sizeof gs, w1, sizeof w1, &n1),
	    PCARD_OK);
	assert_int_equal(pcard_scp_wrap_cmd(&m.h.scp, gs, sizeof gs, w2, sizeof w2, &n2),
	    PCARD_OK);
	assert_int_equal(ch_raw(&m.h, w2, n2), 0x6982);	/* reordered */
	assert_int_equal(ch_raw(&m.h, w1, n1), 0x6982);	/* and the session is gone */
	mg_free(&m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set_status),
		cmocka_unit_test(test_store_data),
		cmocka_unit_test(test_store_data_dgi),
		cmocka_unit_test(test_install_roles),
		cmocka_unit_test(test_ssd_creation),
		cmocka_unit_test(test_ssd_other_sd),
		cmocka_unit_test(test_delegated_management),
		cmocka_unit_test(test_dap),
		cmocka_unit_test(test_key_conventions),
		cmocka_unit_test(test_putkey_chain),
		cmocka_unit_test(test_quotas_and_memory),
		cmocka_unit_test(test_get_response),
		cmocka_unit_test(test_levels),
		cmocka_unit_test(test_replay_reorder),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
