/*
 * test_natives.c: the helpers the native applets share (natives.c: names, STORE DATA message
 * reader, dump redaction lengths), and the three applets the GlobalPlatform way through the
 * real card manager: their CAPs (as `postcard-sim cap` makes them) loaded and installed over
 * the ISD's secure channel, personalised with INSTALL [for personalization] and encrypted
 * STORE DATA sent to the ISD, then used.
 */
#include <stdlib.h>

#include "applet_harness.h"
#include "postcard/cap.h"
#include "postcard/capbuild.h"

static void
test_table(void **state)
{
	static const uint8_t prefix[] = { PCARD_NATIVE_RID_PREFIX };
	static const char *names[] = { "datastore", "purse", "hotp" };

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		const pcard_applet_ops *a = pcard_native_find(names[i]);

		assert_non_null(a);
		assert_string_equal(a->name, names[i]);
		assert_int_equal(a->package_len, PCARD_NATIVE_PKG_LEN);
		assert_memory_equal(a->package, prefix, sizeof prefix);
		assert_int_equal(a->package[PCARD_NATIVE_PREFIX_LEN], i + 1);
		assert_ptr_equal(pcard_applet_find(a->package, a->package_len), a);
		assert_int_equal(a->nmodules, 1);
		assert_int_equal(a->modules[0].len, PCARD_NATIVE_MODULE_LEN);
		assert_memory_equal(a->modules[0].b, a->package, a->package_len);
		assert_non_null(a->process);
		assert_non_null(a->store_data);
	}
	assert_null(pcard_native_find("generic"));
	assert_null(pcard_native_find(NULL));
	/* package AIDs are unique in the whole table */
	for (size_t i = 0; pcard_applets[i] != NULL; i++)
		for (size_t k = i + 1; pcard_applets[k] != NULL; k++)
			assert_false(pcard_applets[i]->package_len == pcard_applets[k]->package_len &&
			    memcmp(pcard_applets[i]->package, pcard_applets[k]->package,
			    pcard_applets[i]->package_len) == 0);
}

static void
test_store_msg(void **state)
{
	static const uint8_t plain[] = { 0xC2, 0x01, 0x06 };
	uint8_t padded[16] = { 0xC2, 0x01, 0x06, 0x80 };
	uint8_t nopad[16] = { 0xC2, 0x01, 0x06 };
	pcard_rd r;
	int enc = -1;

	(void)state;
	assert_int_equal(pcard_native_store_msg(0x80, plain, 3, &r, &enc), 0x9000);
	assert_int_equal(enc, 0);
	assert_int_equal(pcard_rd_left(&r), 3);
	assert_int_equal(pcard_native_store_msg(0x90, plain, 3, &r, &enc), 0x9000);
	assert_int_equal(pcard_native_store_msg(0xE0, padded, 16, &r, &enc), 0x9000);
	assert_int_equal(enc, 1);
	assert_int_equal(pcard_rd_left(&r), 3);
	assert_int_equal(pcard_native_store_msg(0xE0, nopad, 16, &r, &enc), 0x6A80);
	assert_int_equal(pcard_native_store_msg(0xE0, NULL, 0, &r, &enc), 0x6A80);
	assert_int_equal(pcard_native_store_msg(0x80, NULL, 0, &r, &enc), 0x6A80);
	/* a padded message with nothing in it */
	memset(padded, 0, sizeof padded);
	padded[0] = 0x80;
	assert_int_equal(pcard_native_store_msg(0xE0, padded, 16, &r, &enc), 0x6A80);
	assert_int_equal(pcard_native_store_msg(0xA0, plain, 3, &r, &enc), 0x6A86);	/* b7b6 01 */
	assert_int_equal(pcard_native_store_msg(0x88, plain, 3, &r, &enc), 0x6A86);	/* DGI */
	assert_int_equal(pcard_native_store_msg(0x98, plain, 3, &r, &enc), 0x6A86);	/* b5b4 11 */
}

static void
test_next_item(void **state)
{
	static const uint8_t msg[] = { 0xC2, 0x01, 0x06, 0xC3, 0x00, 0xC4, 0x02, 0x01 };
	const uint8_t *v;
	uint32_t tag;
	size_t vn;
	pcard_rd r;

	(void)state;
	pcard_rd_init(&r, msg, sizeof msg);
	assert_int_equal(pcard_native_next_item(&r, &tag, &v, &vn), 0x9000);
	assert_int_equal(tag, 0xC2);
	assert_int_equal(vn, 1);
	assert_int_equal(v[0], 0x06);
	assert_int_equal(pcard_native_next_item(&r, &tag, &v, &vn), 0x9000);
	assert_int_equal(tag, 0xC3);
	assert_int_equal(vn, 0);
	/* C4 announces 2 bytes and holds 1 */
	assert_int_equal(pcard_native_next_item(&r, &tag, &v, &vn), 0x6A80);
	assert_int_equal(pcard_rd_left(&r), 3);
}

static void
test_cap_params(void **state)
{
	pcard_cap_aid mods[4];
	pcard_capbuild_params p;

	(void)state;
	for (size_t i = 0; pcard_applets[i] != NULL; i++) {
		const pcard_applet_ops *a = pcard_applets[i];

		assert_int_equal(pcard_native_cap_params(a, mods, 4, &p), PCARD_OK);
		assert_int_equal(p.package.len, a->package_len);
		assert_memory_equal(p.package.b, a->package, a->package_len);
		assert_int_equal(p.pkg_major, a->pkg_major);
		assert_int_equal(p.pkg_minor, a->pkg_minor);
		assert_int_equal(p.napplets, a->nmodules);
		assert_ptr_equal(p.applets, mods);
		assert_int_equal(mods[0].len, a->modules[0].len);
		assert_memory_equal(mods[0].b, a->modules[0].b, a->modules[0].len);
		assert_int_equal(p.nimports, PCARD_NATIVE_NIMPORTS);
		assert_ptr_equal(p.imports, pcard_native_imports);
		assert_null(p.package_path);
		assert_int_equal(pcard_native_cap_params(a, mods, a->nmodules - 1, &p),
		    PCARD_E_NOSPACE);
	}
}

static void
test_public_len(void **state)
{
	uint8_t blob[64];
	pcard_aid elf;

	(void)state;
	memset(blob, 0, sizeof blob);
	assert_int_equal(pcard_native_public_len(NULL, blob, 40), 40);
	assert_int_equal(pcard_native_public_len(&pcard_applet_hotp.modules[0], NULL, 0), 0);
	assert_int_equal(pcard_aid_set(&elf, pcard_applet_hotp.package, PCARD_NATIVE_PKG_LEN),
	    PCARD_OK);
	assert_int_equal(pcard_native_public_len(&elf, blob, 31), PCARD_HOTP_PUBLIC_BYTES);
	assert_int_equal(pcard_native_public_len(&elf, blob, 5), 5);
	assert_int_equal(pcard_aid_set(&elf, pcard_applet_purse.package, PCARD_NATIVE_PKG_LEN),
	    PCARD_OK);
	assert_int_equal(pcard_native_public_len(&elf, blob, 41), PCARD_PURSE_PUBLIC_BYTES);
	assert_int_equal(pcard_aid_set(&elf, pcard_applet_datastore.package,
	    PCARD_NATIVE_PKG_LEN), PCARD_OK);
	assert_int_equal(pcard_native_public_len(&elf, blob, 41), 41);
	assert_int_equal(pcard_aid_from_hex(&elf, "A0000000620001"), PCARD_OK);
	assert_int_equal(pcard_native_public_len(&elf, blob, 41), 41);
}

/* LOAD the native's CAP and INSTALL [for install and make selectable] an instance. */
static void
load_install(hx *h, const pcard_applet_ops *a, uint32_t privs)
{
	pcard_capbuild_params p;
	pcard_cap_aid mod;
	pcard_gp_install in;
	pcard_cap *cap;
	uint8_t *capb, *lf, cmd[300];
	size_t capn, lfn, nc, count, blk;

	assert_int_equal(pcard_native_cap_params(a, &mod, 1, &p), PCARD_OK);
	assert_int_equal(pcard_capbuild_mem(&p, NULL, 0, &capn), PCARD_E_NOSPACE);
	capb = malloc(capn);
	assert_non_null(capb);
	assert_int_equal(pcard_capbuild_mem(&p, capb, capn, &capn), PCARD_OK);
	assert_int_equal(pcard_cap_open_mem(capb, capn, &cap), PCARD_OK);
	lfn = pcard_cap_load_file_len(cap, 0);
	lf = malloc(lfn);
	assert_non_null(lf);
	assert_int_equal(pcard_cap_load_file(cap, 0, lf, lfn, &lfn), PCARD_OK);

	memset(&in, 0, sizeof in);
	in.p1 = PCARD_INSTALL_FOR_LOAD;
	in.elf = a->package;
	in.elf_len = a->package_len;
	assert_int_equal(pcard_gp_install_cmd(&in, cmd, sizeof cmd, &nc), PCARD_OK);
	assert_int_equal(hx_send(h, cmd, nc, 1), 0x9000);
	blk = pcard_scp_max_data(&h->scp);
	assert_int_equal(pcard_gp_load_count(lfn, blk, &count), PCARD_OK);
	for (size_t i = 0; i < count; i++) {
		assert_int_equal(pcard_gp_load_cmd(lf, lfn, blk, i, cmd, sizeof cmd, &nc), PCARD_OK);
		assert_int_equal(hx_send(h, cmd, nc, 1), 0x9000);
	}
	memset(&in, 0, sizeof in);
	in.p1 = PCARD_INSTALL_FOR_INSTALL | PCARD_INSTALL_FOR_MAKE_SELECTABLE;
	in.elf = a->package;
	in.elf_len = a->package_len;
	in.module = mod.b;
	in.module_len = mod.len;
	in.instance = mod.b;
	in.instance_len = mod.len;
	in.privs = privs;
	assert_int_equal(pcard_gp_install_cmd(&in, cmd, sizeof cmd, &nc), PCARD_OK);
	assert_int_equal(hx_send(h, cmd, nc, 1), 0x9000);
	free(lf);
	free(capb);
	pcard_cap_free(cap);
}

/* INSTALL [for personalization] of the instance, then one encrypted STORE DATA to the ISD. */
static uint16_t
perso(hx *h, const pcard_applet_ops *a, const uint8_t *msg, size_t n)
{
	pcard_gp_install in;
	uint8_t cmd[64];
	size_t nc;

	memset(&in, 0, sizeof in);
	in.p1 = PCARD_INSTALL_FOR_PERSONALIZATION;
	in.instance = a->modules[0].b;
	in.instance_len = a->modules[0].len;
	assert_int_equal(pcard_gp_install_cmd(&in, cmd, sizeof cmd, &nc), PCARD_OK);
	assert_int_equal(hx_send(h, cmd, nc, 1), 0x9000);
	return hx_store(h, PCARD_SD_CASE4, msg, n, 1);
}

static void
test_gp_way(void **state)
{
	static const uint8_t ds_msg[] = { 0xC1, 4, 0, 0, 0, 1, 0x01, 2, 0xAB, 0xCD };
	uint8_t hotp_msg[22] = { 0xC1, 20 }, purse_msg[18 + 10] = { 0xC3, 16 };
	const pcard_cardstate *cs;
	hx h;

	(void)state;
	memcpy(hotp_msg + 2, "12345678901234567890", 20);
	memset(purse_msg + 2, 0x5A, 16);
	memcpy(purse_msg + 18, (const uint8_t[]){ 0xC2, 8, 0, 0, 0, 1, 0, 0, 0, 100 }, 10);
	hx_init(&h, 3);
	hx_open(&h);
	assert_int_equal(hx_select_aid(&h, &h.cs.isd.aid), 0x9000);
	hx_open_sc(&h, PCARD_SCP_CMAC | PCARD_SCP_CDEC);
	load_install(&h, &pcard_applet_datastore, 0);
	load_install(&h, &pcard_applet_purse, 0x100000);	/* Card Lock */
	load_install(&h, &pcard_applet_hotp, 0);
	cs = pcard_card_state(h.card);
	assert_int_equal(cs->napps, 3);
	/* install() ran: each blob holds its defaults */
	assert_int_equal(hx_app(&h, &pcard_applet_datastore.modules[0])->data_len, 9);
	assert_int_equal(hx_app(&h, &pcard_applet_purse.modules[0])->data_len,
	    PCARD_PURSE_PUBLIC_BYTES);
	assert_int_equal(hx_app(&h, &pcard_applet_hotp.modules[0])->data_len,
	    PCARD_HOTP_PUBLIC_BYTES);
	assert_int_equal(hx_app(&h, &pcard_applet_purse.modules[0])->priv[0],
	    PCARD_PRIV1_CARD_LOCK);
	/* personalisation through the ISD */
	assert_int_equal(perso(&h, &pcard_applet_datastore, ds_msg, sizeof ds_msg), 0x9000);
	assert_int_equal(perso(&h, &pcard_applet_hotp, hotp_msg, sizeof hotp_msg), 0x9000);
	assert_int_equal(perso(&h, &pcard_applet_purse, purse_msg, sizeof purse_msg), 0x9000);
	assert_int_equal(h.rlen, 8);
	assert_int_equal(pcard_native_get32(h.rsp), 100);
	/* use */
	assert_int_equal(hx_select_aid(&h, &pcard_applet_datastore.modules[0]), 0x9000);
	assert_int_equal(hx_hex(&h, "00CA000100"), 0x9000);
	assert_int_equal(h.rlen, 4);
	assert_memory_equal(h.rsp, "\x01\x02\xAB\xCD", 4);
	assert_int_equal(hx_select_aid(&h, &pcard_applet_hotp.modules[0]), 0x9000);
	assert_int_equal(hx_hex(&h, "8010000000"), 0x9000);
	assert_int_equal(h.rlen, 14);
	assert_memory_equal(h.rsp + 8, "755224", 6);	/* RFC 4226 Appendix D, count 0 */
	assert_int_equal(hx_select_aid(&h, &pcard_applet_purse.modules[0]), 0x9000);
	assert_int_equal(hx_hex(&h, "8032000000"), 0x9000);
	assert_int_equal(pcard_native_get32(h.rsp), 100);
	/* three bad debits lock the card */
	for (int i = 0; i < 3; i++)
		assert_int_equal(hx_hex(&h, "803000000C000000010000000000000000 00"), 0x63C2 - i);
	assert_int_equal(pcard_card_state(h.card)->life_cycle, PCARD_CARD_LOCKED);
	/* the ISD answers SELECT with 6283 on a locked card */
	assert_int_equal(hx_select_aid(&h, &h.cs.isd.aid), 0x6283);
	hx_free(&h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_store_msg),
		cmocka_unit_test(test_next_item),
		cmocka_unit_test(test_cap_params),
		cmocka_unit_test(test_public_len),
		cmocka_unit_test(test_gp_way),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
