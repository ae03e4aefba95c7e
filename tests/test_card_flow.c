/*
 * test_card_flow.c: the simulated card driven in-process through libpostcard's host side:
 * selection and GET DATA, SCP03 and SCP02 sessions, counters (persisted and reread from the
 * card file), blocking after failed authentications, wrong MACs, loading the shared CAPs in
 * dependency order (6438 before the libraries), install, list, lock/unlock, delete, PUT KEY.
 * State is checked through pcard_card_state, not only through the answers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "card_host.h"
#include "cardfile.h"
#include "postcard/cap.h"
#include "postcard/putkey.h"
#include "testvec.h"

static pcard_card *
new_card(uint8_t scp, const char *path)
{
	pcard_cardstate cs;
	pcard_cardstate_opts o;
	pcard_card *c = NULL;
	uint8_t atr[40];
	size_t n;

	memset(&o, 0, sizeof o);
	o.scp = scp;
	pcard_cardstate_init(&cs);
	assert_int_equal(pcard_cardstate_default(&cs, &o), PCARD_OK);
	assert_int_equal(pcard_card_open_state(&cs, path, NULL, &c), PCARD_OK);
	pcard_cardstate_clear(&cs);
	assert_int_equal(pcard_card_power_on(c, atr, sizeof atr, &n), PCARD_OK);
	return c;
}

static void
host_init(ch_host *h, pcard_card *c, uint8_t scp)
{
	memset(h, 0, sizeof *h);
	pcard_scp_init(&h->scp);
	h->card = c;
	assert_int_equal(ch_keys(h, scp == 3 ? PCARD_KEY_AES : PCARD_KEY_DES3, ch_test_key, 16), 0);
}

static void
test_select_get_data(void **state)
{
	pcard_card *c = new_card(3, NULL);
	ch_host h;
	pcard_gp_fci fci;

	(void)state;
	host_init(&h, c, 3);
	assert_int_equal(ch_hex(&h, "00A4040000"), 0x9000);
	assert_int_equal(pcard_gp_parse_fci(h.rsp, h.rlen - 2, &fci), PCARD_OK);
	assert_int_equal(fci.aid.len, 8);
	assert_int_equal(fci.max_cmd_len, 255);
	assert_true(fci.has_crd);
	assert_int_equal(fci.crd.scp, 3);
	assert_int_equal(fci.crd.scp_i, 0x70);
	assert_int_equal(ch_hex(&h, "00A4040008A000000151000000"), 0x9000);
	assert_int_equal(ch_hex(&h, "00A4040005A000000151"), 0x9000);	/* partial */
	assert_int_equal(ch_hex(&h, "00A4040005D276000085"), 0x6A82);
	assert_int_equal(ch_hex(&h, "80CA9F7F00"), 0x9000);
	assert_int_equal(h.rlen, 3 + 42 + 2);
	assert_int_equal(ch_hex(&h, "80CA004200"), 0x9000);
	assert_int_equal(ch_hex(&h, "00CA004500"), 0x9000);
	assert_int_equal(ch_hex(&h, "80CA00CF00"), 0x9000);
	assert_int_equal(ch_hex(&h, "80CA00C100"), 0x9000);
	assert_int_equal(h.rlen, 5 + 2);
	{
		pcard_gp_crd crd;

		assert_int_equal(ch_hex(&h, "80CA006600"), 0x9000);
		assert_int_equal(pcard_gp_parse_crd(h.rsp, h.rlen - 2, &crd), PCARD_OK);
		assert_true(crd.is_gp);
		assert_string_equal(crd.gp_version, "2.3.1");
		assert_string_equal(crd.javacard, "3");
	}
	{
		pcard_gp_caps caps;

		assert_int_equal(ch_hex(&h, "80CA006700"), 0x9000);
		assert_int_equal(pcard_gp_parse_caps(h.rsp, h.rlen - 2, &caps), PCARD_OK);
		assert_int_equal(caps.n_scp, 2);
	}
	{
		pcard_gp_keyinfo ki[8];
		size_t n;

		assert_int_equal(ch_hex(&h, "80CA00E000"), 0x9000);
		assert_int_equal(pcard_gp_parse_keyinfo(h.rsp, h.rlen - 2, ki, 8, &n), PCARD_OK);
		assert_int_equal(n, 3);
		assert_int_equal(ki[0].kvn, 0xFF);
	}
	assert_int_equal(ch_hex(&h, "80CA00FE00"), 0x6A88);
	assert_int_equal(ch_hex(&h, "80"), 0x6700);
	assert_int_equal(ch_hex(&h, "A0CA004200"), 0x6E00);
	assert_int_equal(ch_hex(&h, "80CB004200"), 0x6D00);
	assert_int_equal(ch_hex(&h, "81CA004200"), 0x6881);	/* channel 1 not open */
	assert_int_equal(ch_hex(&h, "0070000001"), 0x9000);
	assert_int_equal(h.rsp[0], 1);
	assert_int_equal(ch_hex(&h, "81CA004200"), 0x9000);
	assert_int_equal(ch_hex(&h, "0070800100"), 0x9000);
	assert_int_equal(ch_hex(&h, "81CA004200"), 0x6881);
	/* no session: management commands refused */
	assert_int_equal(ch_hex(&h, "80F28002024F0000"), 0x6982);
	ch_clear(&h);
	pcard_card_free(c);
}

static void
test_scp03_session_and_status(void **state)
{
	pcard_card *c = new_card(3, NULL);
	ch_host h;
	pcard_gp_status_entry e[32];
	size_t n;

	(void)state;
	host_init(&h, c, 3);
	assert_int_equal(ch_hex(&h, "8050050008" "0102030405060708"), 0x6A88);
	assert_int_equal(ch_open(&h, 0, 0x03, 0), 0x9000);
	assert_int_equal(pcard_card_state(c)->isd.sd_info.keysets[0].seq, 1);
	assert_int_equal(ch_sec_hex(&h, "80F28002024F0000"), 0x9000);
	assert_int_equal(pcard_gp_parse_status(0x80, 0x02, h.rsp, h.rlen - 2, e, 32, &n),
	    PCARD_OK);
	assert_int_equal(n, 1);
	assert_int_equal(e[0].lifecycle, 0x0F);
	/* ELFs: the ROM packages, in pieces with 6310 */
	{
		size_t total = 0;
		uint16_t sw = ch_sec_hex(&h, "80F22002024F0000");

		while (sw == 0x6310 || sw == 0x9000) {
			assert_int_equal(pcard_gp_parse_status(0x20, 0x02, h.rsp, h.rlen - 2, e, 32,
			    &n), PCARD_OK);
			total += n;
			if (sw == 0x9000)
				break;
			sw = ch_sec_hex(&h, "80F22003024F0000");
		}
		assert_int_equal(total, pcard_card_state(c)->nelfs);
	}
	assert_int_equal(ch_sec_hex(&h, "80F24002024F0000"), 0x6A88);	/* no apps */
	assert_int_equal(ch_sec_hex(&h, "80F29002024F0000"), 0x6A86);
	/* plain command while the session is at C-MAC: refused */
	assert_int_equal(ch_hex(&h, "80F28002024F0000"), 0x6982);
	ch_clear(&h);
	pcard_card_free(c);
}

static void
test_wrong_mac_and_blocking(void **state)
{
	pcard_card *c = new_card(3, NULL);
	ch_host h;
	uint8_t bad[16];

	(void)state;
	host_init(&h, c, 3);
	assert_int_equal(ch_open(&h, 0, 0x01, 0), 0x9000);
	{
		uint8_t w[64], cmd[] = { 0x80, 0xF2, 0x80, 0x02, 0x02, 0x4F, 0x00, 0x00 };
		size_t nw;

		assert_int_equal(pcard_scp_wrap_cmd(&h.scp, cmd, sizeof cmd, w, sizeof w, &nw),
		    PCARD_OK);
		w[nw - 2] ^= 1;
		assert_int_equal(ch_raw(&h, w, nw), 0x6982);
		/* session dead: a correctly wrapped next command is refused too */
		assert_int_equal(ch_sec_hex(&h, "80F28002024F0000"), 0x6982);
	}
	memset(bad, 0x11, sizeof bad);
	assert_int_equal(ch_keys(&h, PCARD_KEY_AES, bad, 16), 0);
	for (int i = 0; i < 10; i++) {
		uint16_t sw = ch_open(&h, 0, 0x01, 0);

		assert_int_not_equal(sw, 0x9000);	/* cryptogram mismatch: host stops */
	}
	/* host-side cryptogram checks stop before EXTERNAL AUTHENTICATE: count nothing */
	assert_int_equal(pcard_card_state(c)->isd.sd_info.keysets[0].fails, 0);
	ch_clear(&h);
	pcard_card_free(c);
}

/* EXTERNAL AUTHENTICATE with a wrong host cryptogram: built with the right keys, then
 * corrupted. */
static uint16_t
bad_ext_auth(ch_host *h)
{
	pcard_scp_host_params hp;
	uint8_t cmd[64];
	size_t nc;

	memset(&hp, 0, sizeof hp);
	pcard_scp_clear(&h->scp);
	pcard_scp_init(&h->scp);
	assert_int_equal(pcard_scp_host_init_update(&h->scp, h->keys, &h->ks, &hp, cmd, sizeof cmd,
	    &nc), PCARD_OK);
	if (ch_raw(h, cmd, nc) != 0x9000)
		return h->sw;
	assert_int_equal(pcard_scp_host_auth(&h->scp, h->rsp, h->rlen), PCARD_OK);
	assert_int_equal(pcard_scp_host_ext_auth(&h->scp, 1, cmd, sizeof cmd, &nc), PCARD_OK);
	cmd[5] ^= 0x01;
	return ch_raw(h, cmd, nc);
}

static void
test_counters_persist_and_block(void **state)
{
	char dir[] = "/tmp/pcard-card-XXXXXX", path[256];
	pcard_card *c;
	pcard_cardstate cs;
	ch_host h;
	uint8_t atr[40];
	size_t n;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/card", dir);
	c = new_card(3, path);
	host_init(&h, c, 3);
	assert_int_equal(ch_open(&h, 0, 0x01, 0), 0x9000);
	assert_int_equal(ch_open(&h, 0, 0x01, 0), 0x9000);
	for (int i = 0; i < 3; i++)
		assert_int_equal(bad_ext_auth(&h), 0x6300);
	pcard_cardstate_init(&cs);
	assert_int_equal(pcard_cardfile_load(path, &cs), PCARD_OK);
	assert_int_equal(cs.isd.sd_info.keysets[0].seq, 5);
	assert_int_equal(cs.isd.sd_info.keysets[0].fails, 3);
	pcard_cardstate_clear(&cs);
	/* success resets the failure count */
	assert_int_equal(ch_open(&h, 0, 0x01, 0), 0x9000);
	assert_int_equal(pcard_card_state(c)->isd.sd_info.keysets[0].fails, 0);
	for (int i = 0; i < 10; i++)
		assert_int_equal(bad_ext_auth(&h), 0x6300);
	assert_int_equal(pcard_card_state(c)->isd.sd_info.keysets[0].blocked, 1);
	assert_int_equal(ch_open(&h, 0, 0x01, 0), 0x6983);
	pcard_card_free(c);
	/* reopen: blocked, counters as left */
	assert_int_equal(pcard_card_open_file(path, NULL, &c), PCARD_OK);
	assert_int_equal(pcard_card_power_on(c, atr, sizeof atr, &n), PCARD_OK);
	h.card = c;
	assert_int_equal(ch_open(&h, 0, 0x01, 0), 0x6983);
	assert_int_equal(pcard_card_state(c)->isd.sd_info.keysets[0].seq, 16);
	ch_clear(&h);
	pcard_card_free(c);
	unlink(path);
	rmdir(dir);
}

static uint16_t
load_cap(ch_host *h, const char *name, pcard_cap **capp)
{
	pcard_cap *cap;
	const pcard_cap_info *info;
	uint8_t *lf, cmd[300];
	size_t lfn, nc, blk, count;
	pcard_gp_install in;
	uint16_t sw;

	assert_int_equal(pcard_cap_open_file(tv_path(name), &cap), PCARD_OK);
	info = pcard_cap_get_info(cap);
	lfn = pcard_cap_load_file_len(cap, 0);
	lf = malloc(lfn);
	assert_non_null(lf);
	assert_int_equal(pcard_cap_load_file(cap, 0, lf, lfn, &lfn), PCARD_OK);
	memset(&in, 0, sizeof in);
	in.p1 = PCARD_INSTALL_FOR_LOAD;
	in.elf = info->package.b;
	in.elf_len = info->package.len;
	assert_int_equal(pcard_gp_install_cmd(&in, cmd, sizeof cmd, &nc), PCARD_OK);
	if ((sw = ch_sec(h, cmd, nc)) != 0x9000)
		goto out;
	blk = pcard_scp_max_data(&h->scp);
	assert_int_equal(pcard_gp_load_count(lfn, blk, &count), PCARD_OK);
	for (size_t i = 0; i < count; i++) {
		assert_int_equal(pcard_gp_load_cmd(lf, lfn, blk, i, cmd, sizeof cmd, &nc), PCARD_OK);
		if ((sw = ch_sec(h, cmd, nc)) != 0x9000)
			break;
	}
out:
	free(lf);
	if (capp != NULL && sw == 0x9000)
		*capp = cap;
	else
		pcard_cap_free(cap);
	return sw;
}

static uint16_t
install(ch_host *h, const pcard_cap_aid *elf, const pcard_cap_aid *mod, uint8_t p1,
    uint32_t privs)
{
	pcard_gp_install in;
	uint8_t cmd[300];
	size_t nc;

	memset(&in, 0, sizeof in);
	in.p1 = p1;
	in.elf = elf->b;
	in.elf_len = elf->len;
	in.module = mod->b;
	in.module_len = mod->len;
	in.instance = mod->b;
	in.instance_len = mod->len;
	in.privs = privs;
	assert_int_equal(pcard_gp_install_cmd(&in, cmd, sizeof cmd, &nc), PCARD_OK);
	return ch_sec(h, cmd, nc);
}

static void
test_load_install_delete(void **state)
{
	pcard_card *c = new_card(3, NULL);
	ch_host h;
	pcard_cap *demo = NULL, *hello = NULL;
	pcard_aid aid;
	const pcard_cardstate *cs;
	uint8_t cmd[300];
	size_t nc;

	(void)state;
	host_init(&h, c, 3);
	assert_int_equal(ch_open(&h, 0, 0x03, 0), 0x9000);
	assert_int_equal(load_cap(&h, "cap/openjavacard-app-demo.cap", NULL), 0x6438);
	assert_int_equal(pcard_card_state(c)->nelfs, 14);
	assert_int_equal(load_cap(&h, "cap/openjavacard-lib-ber.cap", NULL), 0x9000);
	assert_int_equal(load_cap(&h, "cap/openjavacard-lib-debug.cap", NULL), 0x9000);
	assert_int_equal(load_cap(&h, "cap/openjavacard-lib-fortuna.cap", NULL), 0x9000);
	assert_int_equal(load_cap(&h, "cap/openjavacard-app-demo.cap", &demo), 0x9000);
	assert_int_equal(load_cap(&h, "cap/kaoh-helloworld.cap", &hello), 0x9000);
	assert_int_equal(load_cap(&h, "cap/gppro-empty-2.2.1.cap", NULL), 0x9000);
	cs = pcard_card_state(c);
	assert_int_equal(cs->nelfs, 20);
	assert_true(cs->nvm_used > 0);
	/* the same package again: refused */
	assert_int_equal(load_cap(&h, "cap/gppro-empty-2.2.1.cap", NULL), 0x6985);
	/* LOAD without INSTALL [for load] */
	assert_int_equal(ch_sec_hex(&h, "80E8800001C400"), 0x6985);
	{
		const pcard_cap_info *hi = pcard_cap_get_info(hello);

		assert_true(hi->napplets >= 1);
		assert_int_equal(install(&h, &hi->package, &hi->applets[0].aid, 0x0C, 0), 0x9000);
		assert_int_equal(install(&h, &hi->package, &hi->applets[0].aid, 0x0C, 0), 0x6985);
		assert_int_equal(pcard_aid_set(&aid, hi->applets[0].aid.b, hi->applets[0].aid.len),
		    PCARD_OK);
		cs = pcard_card_state(c);
		assert_int_equal(cs->napps, 1);
		assert_int_equal(cs->apps[0].life_cycle, 0x07);
		/* lock, then unlock */
		assert_int_equal(pcard_gp_set_status_cmd(0x40, 0x80, aid.b, aid.len, cmd, sizeof cmd,
		    &nc), PCARD_OK);
		assert_int_equal(ch_sec(&h, cmd, nc), 0x9000);
		assert_int_equal(pcard_card_state(c)->apps[0].life_cycle, 0x87);
		assert_int_equal(ch_sec(&h, cmd, nc), 0x6985);
		/* a locked app is not selectable (on channel 1: the session stays on 0) */
		assert_int_equal(ch_hex(&h, "0070000001"), 0x9000);
		{
			uint8_t sel[32] = { 0x01, 0xA4, 0x04, 0x00, aid.len };

			memcpy(sel + 5, aid.b, aid.len);
			assert_int_equal(ch_raw(&h, sel, 5 + aid.len), 0x6A82);
			assert_int_equal(pcard_gp_set_status_cmd(0x40, 0x00, aid.b, aid.len, cmd,
			    sizeof cmd, &nc), PCARD_OK);
			assert_int_equal(ch_sec(&h, cmd, nc), 0x9000);
			assert_int_equal(pcard_card_state(c)->apps[0].life_cycle, 0x07);
			assert_int_equal(ch_raw(&h, sel, 5 + aid.len), 0x9000);
			/* generic applet: other commands 6D00 */
			assert_int_equal(ch_hex(&h, "01CA000000"), 0x6D00);
		}
	}
	/* DELETE: an ELF with an instance needs P2 80; a library still imported is refused */
	{
		const pcard_cap_info *hi = pcard_cap_get_info(hello);
		const pcard_cap_info *di = pcard_cap_get_info(demo);
		pcard_gp_aid lib;

		assert_int_equal(pcard_gp_delete_cmd(hi->package.b, hi->package.len, 0, NULL, 0, cmd,
		    sizeof cmd, &nc), PCARD_OK);
		assert_int_equal(ch_sec(&h, cmd, nc), 0x6985);
		assert_int_equal(pcard_gp_delete_cmd(hi->package.b, hi->package.len, 1, NULL, 0, cmd,
		    sizeof cmd, &nc), PCARD_OK);
		assert_int_equal(ch_sec(&h, cmd, nc), 0x9000);
		assert_int_equal(pcard_card_state(c)->napps, 0);
		assert_null(pcard_cardstate_elf_find((pcard_cardstate *)pcard_card_state(c), &aid));
		assert_int_equal(ch_sec(&h, cmd, nc), 0x6A88);
		assert_int_equal(pcard_gp_aid_from_hex(&lib, "A00000FFFFA0"), PCARD_OK);
		assert_int_equal(pcard_gp_delete_cmd(lib.b, lib.len, 0, NULL, 0, cmd, sizeof cmd,
		    &nc), PCARD_OK);
		assert_int_equal(ch_sec(&h, cmd, nc), 0x6985);
		assert_int_equal(pcard_gp_delete_cmd(di->package.b, di->package.len, 0, NULL, 0, cmd,
		    sizeof cmd, &nc), PCARD_OK);
		assert_int_equal(ch_sec(&h, cmd, nc), 0x9000);
		assert_int_equal(pcard_gp_delete_cmd(lib.b, lib.len, 0, NULL, 0, cmd, sizeof cmd,
		    &nc), PCARD_OK);
		assert_int_equal(ch_sec(&h, cmd, nc), 0x9000);
		/* ROM package */
		assert_int_equal(ch_sec_hex(&h, "80E40000094F07A000000062000100"), 0x6985);
	}
	pcard_cap_free(demo);
	pcard_cap_free(hello);
	ch_clear(&h);
	pcard_card_free(c);
}

static void
test_put_key(void **state)
{
	pcard_card *c = new_card(3, NULL);
	ch_host h;
	pcard_keys *nk = NULL;
	pcard_keyh set[3];
	uint8_t data[128], cmd[300], newkey[16];
	size_t n, nc;
	pcard_putkey_expect exp;

	(void)state;
	host_init(&h, c, 3);
	assert_int_equal(ch_open(&h, 0, 0x03, 0), 0x9000);
	memset(newkey, 0x5A, sizeof newkey);
	assert_int_equal(pcard_keys_mem_new(8, &nk), PCARD_OK);
	for (int i = 0; i < 3; i++)
		assert_int_equal(pcard_keys_mem_import(h.keys, NULL, PCARD_KEY_AES, newkey, 16,
		    &set[i]), PCARD_OK);
	assert_int_equal(pcard_putkey_set(h.keys, h.ks.dek, 0x30, set, data, sizeof data, &n,
	    &exp), PCARD_OK);
	/* replace a set that does not exist */
	assert_int_equal(pcard_gp_put_key_cmd(0x31, 1, 1, 0, data, n, cmd, sizeof cmd, &nc),
	    PCARD_OK);
	assert_int_equal(ch_sec(&h, cmd, nc), 0x6A88);
	/* add */
	assert_int_equal(pcard_gp_put_key_cmd(0x00, 1, 1, 0, data, n, cmd, sizeof cmd, &nc),
	    PCARD_OK);
	assert_int_equal(ch_sec(&h, cmd, nc), 0x9000);
	assert_int_equal(pcard_putkey_check_response(&exp, h.rsp, h.rlen - 2), PCARD_OK);
	assert_int_equal(pcard_card_state(c)->isd.sd_info.nkeysets, 2);
	/* the same KVN again: refused */
	assert_int_equal(ch_sec(&h, cmd, nc), 0x6A80);
	/* KCV mismatch */
	data[n - 1] ^= 0x01;
	assert_int_equal(pcard_gp_put_key_cmd(0x30, 1, 1, 0, data, n, cmd, sizeof cmd, &nc),
	    PCARD_OK);
	assert_int_equal(ch_sec(&h, cmd, nc), 0x6A80);
	/* open with the new set */
	assert_int_equal(ch_keys(&h, PCARD_KEY_AES, newkey, 16), 0);
	assert_int_equal(ch_open(&h, 0x30, 0x01, 0), 0x9000);
	/* DELETE key set FF */
	assert_int_equal(ch_sec_hex(&h, "80E4000003D201FF00"), 0x9000);
	assert_int_equal(pcard_card_state(c)->isd.sd_info.nkeysets, 1);
	assert_int_equal(ch_sec_hex(&h, "80E4000003D201FF00"), 0x6A88);
	pcard_keys_free(nk);
	ch_clear(&h);
	pcard_card_free(c);
}

static void
test_scp02(void **state)
{
	pcard_card *c = new_card(2, NULL);
	ch_host h;

	(void)state;
	host_init(&h, c, 2);
	assert_int_equal(ch_open(&h, 0, 0x01, 0x55), 0x9000);
	assert_int_equal(pcard_card_state(c)->isd.sd_info.keysets[0].seq, 1);
	assert_int_equal(ch_sec_hex(&h, "80F28002024F0000"), 0x9000);
	/* counter of SCP02 moves at EXTERNAL AUTHENTICATE */
	assert_int_equal(ch_open(&h, 0, 0x03, 0x55), 0x9000);
	assert_int_equal(pcard_card_state(c)->isd.sd_info.keysets[0].seq, 2);
	assert_int_equal(ch_sec_hex(&h, "80F24002024F0000"), 0x6A88);
	ch_clear(&h);
	pcard_card_free(c);
}

static void
test_power_drops_volatile(void **state)
{
	pcard_card *c = new_card(3, NULL);
	ch_host h;
	uint8_t atr[40];
	size_t n;

	(void)state;
	host_init(&h, c, 3);
	assert_int_equal(ch_open(&h, 0, 0x01, 0), 0x9000);
	assert_int_equal(ch_hex(&h, "0070000001"), 0x9000);
	pcard_card_reset(c);
	assert_int_equal(ch_sec_hex(&h, "80F28002024F0000"), 0x6982);
	assert_int_equal(ch_hex(&h, "81CA004200"), 0x6881);
	pcard_card_power_off(c);
	assert_int_equal(pcard_card_apdu(c, (const uint8_t *)"\x80\xCA\x00\x42", 4, h.rsp,
	    sizeof h.rsp, &n), PCARD_E_STATE);
	assert_int_equal(pcard_card_power_on(c, atr, sizeof atr, &n), PCARD_OK);
	ch_clear(&h);
	pcard_card_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_select_get_data),
		cmocka_unit_test(test_scp03_session_and_status),
		cmocka_unit_test(test_wrong_mac_and_blocking),
		cmocka_unit_test(test_counters_persist_and_block),
		cmocka_unit_test(test_load_install_delete),
		cmocka_unit_test(test_put_key),
		cmocka_unit_test(test_scp02),
		cmocka_unit_test(test_power_drops_volatile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
