/* test_cardstate.c: the card's persistent state: defaults, registry, compare, body codec, JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cardstate.h"
#include "postcard/bytes.h"
#include "postcard/crypto.h"

static const uint8_t test_key[16] = {
	0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47,
	0x48, 0x49, 0x4A, 0x4B, 0x4C, 0x4D, 0x4E, 0x4F,
};

static pcard_aid
aid(const char *hex)
{
	pcard_aid a;

	assert_int_equal(pcard_aid_from_hex(&a, hex), PCARD_OK);
	return a;
}

/* A state with every kind of field set to something other than its default. */
static void
make_rich(pcard_cardstate *cs)
{
	pcard_card_elf elf;
	pcard_card_app app;
	pcard_card_keyset ks;
	pcard_card_key key;
	uint8_t blob[300];

	assert_int_equal(pcard_cardstate_default(cs, NULL), PCARD_OK);
	cs->life_cycle = PCARD_CARD_LOCKED;
	cs->flags = PCARD_CS_FLAG_PUTKEY_REPLACES_FF;
	cs->auth_limit = 3;
	cs->max_cmd_len = 239;
	cs->nvm_used = 12345;
	cs->receipt_counter = 77;
	cs->cplc[41] = 0x99;
	cs->isd.sd_info.min_level = 0x33;
	cs->isd.sd_info.token.kvn = 0x70;
	cs->isd.sd_info.token.id = 0x01;
	cs->isd.sd_info.receipt.kvn = 0x71;
	cs->isd.sd_info.receipt.id = 0x01;

	memset(&elf, 0, sizeof elf);
	elf.aid = aid("A00000FFFFF0");
	elf.major = 1;
	elf.minor = 2;
	elf.sd = cs->isd.aid;
	elf.size = 4321;
	elf.hash_len = 32;
	memset(elf.hash, 0xAB, 32);
	elf.nmodules = 2;
	elf.modules[0] = aid("A00000FFFFF001");
	elf.modules[1] = aid("A00000FFFFF002");
	elf.nimports = 2;
	elf.imports[0].aid = aid("A0000000620101");
	elf.imports[0].major = 1;
	elf.imports[0].minor = 3;
	elf.imports[1].aid = aid("A00000FFFFA0");
	assert_int_equal(pcard_cardstate_elf_add(cs, &elf), PCARD_OK);

	memset(&app, 0, sizeof app);
	app.aid = aid("A00000FFFFF00101");
	app.life_cycle = 0x87;
	app.priv[0] = PCARD_PRIV1_CARD_LOCK;
	app.priv[1] = PCARD_PRIV2_FINAL_APP;
	app.elf = elf.aid;
	app.module = elf.modules[0];
	app.sd = cs->isd.aid;
	app.params_len = 4;
	memcpy(app.params, "\xC9\x02\x01\x02", 4);
	app.nv_quota = 1000;
	app.v_quota = 200;
	app.nv_used = 321;
	app.nimplicit = 2;
	app.implicit[0] = 0x80;
	app.implicit[1] = 0x81;
	app.default_selected = 1;
	app.data_version = 9;
	for (size_t i = 0; i < sizeof blob; i++)
		blob[i] = (uint8_t)(i * 7 + 3);	/* no run of the test key in it */
	assert_int_equal(pcard_card_app_set_data(&app, blob, sizeof blob), PCARD_OK);
	assert_int_equal(pcard_cardstate_app_add(cs, &app), PCARD_OK);
	pcard_card_app_clear(&app);

	/* a supplementary SD with an SCP02 key set and an EC public token key */
	memset(&app, 0, sizeof app);
	app.aid = aid("A000000151535344");
	app.life_cycle = PCARD_SD_PERSONALIZED;
	app.priv[0] = PCARD_PRIV1_SD | PCARD_PRIV1_DM;
	app.priv[2] = PCARD_PRIV3_RECEIPT;
	app.sd = cs->isd.aid;
	app.is_sd = 1;
	app.sd_info.scp = 0x02;
	app.sd_info.i = 0x55;
	app.sd_info.dap.kvn = 0x20;
	app.sd_info.dap.id = 0x01;
	memset(&ks, 0, sizeof ks);
	ks.kvn = 0x20;
	ks.seq = 0x000102;
	ks.fails = 2;
	memset(&key, 0, sizeof key);
	key.id = 1;
	key.type = PCARD_KEYTYPE_EC_PUB;
	key.len = 65;
	key.value[0] = 0x04;
	memset(key.value + 1, 0x5A, 64);
	key.param_len = 1;
	key.param[0] = 0;
	key.usage = 0x82;
	key.access = 0x01;
	assert_int_equal(pcard_card_keyset_put_key(&ks, &key), PCARD_OK);
	assert_int_equal(pcard_card_sd_keyset_put(&app, &ks), PCARD_OK);
	memset(&ks, 0, sizeof ks);
	ks.kvn = 0x21;
	ks.blocked = 1;
	for (uint8_t id = 1; id <= 3; id++) {
		memset(&key, 0, sizeof key);
		key.id = id;
		key.type = PCARD_KEYTYPE_DES3;
		key.len = 16;
		memset(key.value, 0x10 + id, 16);
		assert_int_equal(pcard_card_keyset_put_key(&ks, &key), PCARD_OK);
	}
	assert_int_equal(pcard_card_sd_keyset_put(&app, &ks), PCARD_OK);
	assert_int_equal(pcard_cardstate_app_add(cs, &app), PCARD_OK);
	pcard_card_app_clear(&app);
	assert_int_equal(pcard_cardstate_check(cs), PCARD_OK);
}

static void
test_default_scp03(void **state)
{
	pcard_cardstate cs;
	pcard_card_keyset *ks;
	pcard_card_elf *e;
	pcard_aid a = aid("A000000151000000");
	uint8_t tck = 0;

	(void)state;
	pcard_cardstate_init(&cs);
	assert_int_equal(pcard_cardstate_default(&cs, NULL), PCARD_OK);
	assert_true(pcard_aid_eq(&cs.isd.aid, &a));
	assert_int_equal(cs.life_cycle, PCARD_CARD_SECURED);
	assert_int_equal(cs.auth_limit, 10);
	assert_int_equal(cs.isd.sd_info.scp, 0x03);
	assert_int_equal(cs.isd.sd_info.i, 0x70);
	assert_int_equal(cs.isd.priv[0] & PCARD_PRIV1_SD, PCARD_PRIV1_SD);
	ks = pcard_card_sd_keyset_find(&cs.isd, 0xFF);
	assert_non_null(ks);
	assert_int_equal(ks->nkeys, 3);
	for (uint8_t id = 1; id <= 3; id++) {
		pcard_card_key *k = pcard_card_keyset_key_find(ks, id);

		assert_non_null(k);
		assert_int_equal(k->type, PCARD_KEYTYPE_AES);
		assert_int_equal(k->len, 16);
		assert_memory_equal(k->value, test_key, 16);
	}
	/* ATR check byte: XOR of T0..last is 0 */
	for (size_t i = 1; i < cs.atr_len; i++)
		tck ^= cs.atr[i];
	assert_int_equal(tck, 0);
	a = aid("A0000000620101");
	assert_non_null(e = pcard_cardstate_elf_find(&cs, &a));
	assert_int_equal(e->major, 1);
	assert_int_equal(e->minor, 6);
	assert_int_equal(e->rom, 1);
	for (const char *const *p = (const char *const[]){ "A0000000620001", "A0000000620102",
	    "A0000000620201", "A0000000620209", NULL }; *p != NULL; p++) {
		a = aid(*p);
		assert_non_null(pcard_cardstate_elf_find(&cs, &a));
	}
	assert_int_equal(pcard_cardstate_check(&cs), PCARD_OK);
	pcard_cardstate_clear(&cs);
	pcard_cardstate_clear(&cs);	/* twice is fine */
	pcard_cardstate_clear(NULL);
}

static void
test_default_options(void **state)
{
	static const uint8_t i_values[] = { 0x15, 0x35, 0x55, 0x75 };
	pcard_cardstate cs;
	pcard_cardstate_opts o;
	pcard_aid isd = aid("A000000003000000");
	uint8_t k24[24] = { 0 };

	(void)state;
	pcard_cardstate_init(&cs);
	for (size_t i = 0; i < sizeof i_values; i++) {
		memset(&o, 0, sizeof o);
		o.scp = 0x02;
		o.i = i_values[i];
		assert_int_equal(pcard_cardstate_default(&cs, &o), PCARD_OK);
		assert_int_equal(cs.isd.sd_info.scp, 0x02);
		assert_int_equal(cs.isd.sd_info.i, i_values[i]);
		assert_int_equal(cs.isd.sd_info.keysets[0].keys[0].type, PCARD_KEYTYPE_DES3);
	}
	memset(&o, 0, sizeof o);
	o.isd_aid = &isd;
	o.key = k24;
	o.key_len = sizeof k24;
	o.life_cycle = PCARD_CARD_OP_READY;
	o.nvm_size = 4096;
	o.auth_limit = 3;
	assert_int_equal(pcard_cardstate_default(&cs, &o), PCARD_OK);
	assert_true(pcard_aid_eq(&cs.isd.aid, &isd));
	assert_int_equal(cs.isd.sd_info.keysets[0].keys[2].len, 24);
	assert_int_equal(cs.nvm_size, 4096);
	assert_int_equal(cs.life_cycle, PCARD_CARD_OP_READY);

	memset(&o, 0, sizeof o);
	o.scp = 0x01;
	assert_int_equal(pcard_cardstate_default(&cs, &o), PCARD_E_INVALID_ARG);
	o.scp = 0x02;
	o.key = k24;
	o.key_len = 24;	/* SCP02 keys are 16 bytes */
	assert_int_equal(pcard_cardstate_default(&cs, &o), PCARD_E_INVALID_ARG);
	memset(&o, 0, sizeof o);
	o.life_cycle = 0x03;
	assert_int_equal(pcard_cardstate_default(&cs, &o), PCARD_E_INVALID_ARG);
	memset(&o, 0, sizeof o);
	isd.len = 3;
	o.isd_aid = &isd;
	assert_int_equal(pcard_cardstate_default(&cs, &o), PCARD_E_INVALID_ARG);
	pcard_cardstate_clear(&cs);
}

static void
test_aid(void **state)
{
	pcard_aid a;

	(void)state;
	assert_int_equal(pcard_aid_from_hex(&a, "A0000001"), PCARD_E_INVALID_ARG);	/* 4 */
	assert_int_equal(pcard_aid_from_hex(&a, "A0000000000000000000000000000000FF"),
	    PCARD_E_INVALID_ARG);						/* 17 */
	assert_int_equal(pcard_aid_from_hex(&a, "A00000000X"), PCARD_E_BAD_ENCODING);
	assert_int_equal(pcard_aid_from_hex(&a, NULL), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_aid_set(&a, (const uint8_t *)"\xA0\0\0\0\x62", 5), PCARD_OK);
	assert_int_equal(a.len, 5);
}

static void
test_registry(void **state)
{
	pcard_cardstate cs;
	pcard_card_elf elf, *e;
	pcard_card_app app, *ap;
	pcard_aid a, m;
	size_t idx = 99, nelfs;

	(void)state;
	pcard_cardstate_init(&cs);
	assert_int_equal(pcard_cardstate_default(&cs, NULL), PCARD_OK);
	nelfs = cs.nelfs;
	memset(&elf, 0, sizeof elf);
	elf.aid = aid("A00000FFFFA0");
	elf.nmodules = 1;
	elf.modules[0] = aid("A00000FFFFA001");
	assert_int_equal(pcard_cardstate_elf_add(&cs, &elf), PCARD_OK);
	assert_int_equal(pcard_cardstate_elf_add(&cs, &elf), PCARD_E_INVALID_ARG);	/* dup */
	elf.aid = aid("A00000FFFFA1");
	elf.modules[1] = elf.modules[0];
	elf.nmodules = 2;		/* duplicate module inside one load file */
	assert_int_equal(pcard_cardstate_elf_add(&cs, &elf), PCARD_E_INVALID_ARG);
	a = aid("A00000FFFFA0");
	m = aid("A00000FFFFA001");
	assert_non_null(e = pcard_cardstate_elf_find(&cs, &a));
	assert_ptr_equal(pcard_cardstate_module_find(&cs, &m, &idx), e);
	assert_int_equal(idx, 0);
	assert_int_equal(cs.nelfs, nelfs + 1);

	memset(&app, 0, sizeof app);
	app.aid = aid("A00000FFFFA00101");
	app.life_cycle = PCARD_APP_SELECTABLE;
	app.elf = a;
	app.module = m;
	assert_int_equal(pcard_cardstate_app_add(&cs, &app), PCARD_OK);
	assert_int_equal(pcard_cardstate_app_add(&cs, &app), PCARD_E_INVALID_ARG);
	app.aid = cs.isd.aid;		/* cannot shadow the ISD */
	assert_int_equal(pcard_cardstate_app_add(&cs, &app), PCARD_E_INVALID_ARG);
	app.aid = aid("A00000FFFFA00102");
	app.life_cycle = 0x04;		/* b2b1 must be 11 */
	assert_int_equal(pcard_cardstate_app_add(&cs, &app), PCARD_E_INVALID_ARG);
	app.life_cycle = PCARD_APP_INSTALLED;
	app.priv[0] = PCARD_PRIV1_SD;	/* SD privilege without SD data */
	assert_int_equal(pcard_cardstate_app_add(&cs, &app), PCARD_E_INVALID_ARG);
	app.is_sd = 1;
	app.sd_info.scp = 0x03;
	app.sd_info.i = 0x70;
	assert_int_equal(pcard_cardstate_app_add(&cs, &app), PCARD_OK);
	assert_non_null(pcard_cardstate_sd_find(&cs, &app.aid));
	assert_ptr_equal(pcard_cardstate_sd_find(&cs, &cs.isd.aid), &cs.isd);
	a = aid("A00000FFFFA00101");
	assert_null(pcard_cardstate_sd_find(&cs, &a));	/* an app, not an SD */
	assert_non_null(ap = pcard_cardstate_app_find(&cs, &a));
	assert_int_equal(pcard_card_app_set_data(ap, (const uint8_t *)"abc", 3), PCARD_OK);
	assert_int_equal(pcard_card_app_set_data(ap, NULL, PCARD_CS_DATA_MAX + 1),
	    PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_cardstate_app_remove(&cs, &a), PCARD_OK);
	assert_int_equal(pcard_cardstate_app_remove(&cs, &a), PCARD_E_NOT_FOUND);
	assert_null(pcard_cardstate_app_find(&cs, &a));
	assert_int_equal(cs.napps, 1);
	a = aid("A00000FFFFA0");
	assert_int_equal(pcard_cardstate_elf_remove(&cs, &a), PCARD_OK);
	assert_int_equal(pcard_cardstate_elf_remove(&cs, &a), PCARD_E_NOT_FOUND);
	assert_null(pcard_cardstate_module_find(&cs, &m, NULL));

	/* array maxima */
	memset(&elf, 0, sizeof elf);
	while (cs.nelfs < PCARD_CS_MAX_ELFS) {
		elf.aid = aid("A0000000000000");
		elf.aid.b[5] = (uint8_t)(cs.nelfs >> 8);
		elf.aid.b[6] = (uint8_t)cs.nelfs;
		assert_int_equal(pcard_cardstate_elf_add(&cs, &elf), PCARD_OK);
	}
	elf.aid = aid("A0000000FFFFFF");
	assert_int_equal(pcard_cardstate_elf_add(&cs, &elf), PCARD_E_NOSPACE);
	pcard_cardstate_clear(&cs);
}

static void
test_keysets(void **state)
{
	pcard_cardstate cs;
	pcard_card_keyset ks, *p;
	pcard_card_key key;
	pcard_card_app app;

	(void)state;
	pcard_cardstate_init(&cs);
	assert_int_equal(pcard_cardstate_default(&cs, NULL), PCARD_OK);
	memset(&ks, 0, sizeof ks);
	ks.kvn = 0x30;
	memset(&key, 0, sizeof key);
	key.id = 1;
	key.type = PCARD_KEYTYPE_AES;
	key.len = 20;			/* not an AES length */
	assert_int_equal(pcard_card_keyset_put_key(&ks, &key), PCARD_E_INVALID_ARG);
	key.len = 32;
	assert_int_equal(pcard_card_keyset_put_key(&ks, &key), PCARD_OK);
	key.value[0] = 1;
	assert_int_equal(pcard_card_keyset_put_key(&ks, &key), PCARD_OK);	/* replaces id 1 */
	assert_int_equal(ks.nkeys, 1);
	assert_int_equal(ks.keys[0].value[0], 1);
	key.type = PCARD_KEYTYPE_RSA_PUB;
	key.id = 2;
	key.len = 256;
	key.param_len = 3;
	memcpy(key.param, "\x01\x00\x01", 3);
	assert_int_equal(pcard_card_keyset_put_key(&ks, &key), PCARD_OK);
	key.id = 0x80;			/* ids are 01..7F */
	assert_int_equal(pcard_card_keyset_put_key(&ks, &key), PCARD_E_INVALID_ARG);
	for (uint8_t id = 3; id <= PCARD_CS_MAX_KEYS; id++) {
		key.id = id;
		assert_int_equal(pcard_card_keyset_put_key(&ks, &key), PCARD_OK);
	}
	key.id = 0x7F;
	assert_int_equal(pcard_card_keyset_put_key(&ks, &key), PCARD_E_NOSPACE);

	assert_int_equal(pcard_card_sd_keyset_put(&cs.isd, &ks), PCARD_OK);
	assert_int_equal(cs.isd.sd_info.nkeysets, 2);
	ks.seq = 5;
	assert_int_equal(pcard_card_sd_keyset_put(&cs.isd, &ks), PCARD_OK);	/* replace */
	assert_int_equal(cs.isd.sd_info.nkeysets, 2);
	assert_non_null(p = pcard_card_sd_keyset_find(&cs.isd, 0x30));
	assert_int_equal(p->seq, 5);
	ks.kvn = 0;			/* KVN 00 is not a key version */
	assert_int_equal(pcard_card_sd_keyset_put(&cs.isd, &ks), PCARD_E_INVALID_ARG);
	ks.kvn = 0x31;
	ks.seq = PCARD_CS_SEQ_MAX + 1;
	assert_int_equal(pcard_card_sd_keyset_put(&cs.isd, &ks), PCARD_E_INVALID_ARG);
	ks.seq = 0;
	for (uint8_t kvn = 0x31; cs.isd.sd_info.nkeysets < PCARD_CS_MAX_KEYSETS; kvn++) {
		ks.kvn = kvn;
		assert_int_equal(pcard_card_sd_keyset_put(&cs.isd, &ks), PCARD_OK);
	}
	ks.kvn = 0x70;
	assert_int_equal(pcard_card_sd_keyset_put(&cs.isd, &ks), PCARD_E_NOSPACE);
	memset(&app, 0, sizeof app);	/* not an SD */
	assert_int_equal(pcard_card_sd_keyset_put(&app, &ks), PCARD_E_INVALID_ARG);
	assert_null(pcard_card_sd_keyset_find(&app, 0x30));

	assert_int_equal(pcard_card_sd_keyset_remove(&cs.isd, 0xFF), PCARD_OK);
	assert_int_equal(pcard_card_sd_keyset_remove(&cs.isd, 0xFF), PCARD_E_NOT_FOUND);
	while (cs.isd.sd_info.nkeysets > 0)
		assert_int_equal(pcard_card_sd_keyset_remove(&cs.isd,
		    cs.isd.sd_info.keysets[0].kvn), PCARD_OK);
	assert_null(cs.isd.sd_info.keysets);
	pcard_cardstate_clear(&cs);
}

static void
test_copy_eq(void **state)
{
	pcard_cardstate a, b;
	char why[64];

	(void)state;
	pcard_cardstate_init(&a);
	pcard_cardstate_init(&b);
	make_rich(&a);
	assert_int_equal(pcard_cardstate_copy(&b, &a), PCARD_OK);
	assert_true(pcard_cardstate_eq(&a, &b, why, sizeof why));
	assert_string_equal(why, "");

	/* one change at a time, each named */
	b.apps[0].data[299] ^= 1;
	assert_false(pcard_cardstate_eq(&a, &b, why, sizeof why));
	assert_string_equal(why, "apps[0].data");
	b.apps[0].data[299] ^= 1;
	b.apps[1].sd_info.keysets[1].keys[2].value[15] ^= 1;
	assert_false(pcard_cardstate_eq(&a, &b, why, sizeof why));
	assert_string_equal(why, "apps[1].keysets[1].keys[2]");
	b.apps[1].sd_info.keysets[1].keys[2].value[15] ^= 1;
	b.isd.sd_info.keysets[0].seq++;
	assert_false(pcard_cardstate_eq(&a, &b, why, sizeof why));
	assert_string_equal(why, "isd.keysets[0].seq");
	b.isd.sd_info.keysets[0].seq--;
	b.elfs[b.nelfs - 1].imports[1].minor = 1;
	assert_false(pcard_cardstate_eq(&a, &b, why, sizeof why));
	b.elfs[b.nelfs - 1].imports[1].minor = 0;
	b.receipt_counter++;
	assert_false(pcard_cardstate_eq(&a, &b, NULL, 0));
	b.receipt_counter--;
	b.apps[0].priv[2] = 1;
	assert_false(pcard_cardstate_eq(&a, &b, why, sizeof why));
	assert_string_equal(why, "apps[0].privileges");
	b.apps[0].priv[2] = 0;
	assert_true(pcard_cardstate_eq(&a, &b, why, sizeof why));
	pcard_cardstate_clear(&a);
	pcard_cardstate_clear(&b);
}

/* Encodes cs into a new heap buffer. */
static uint8_t *
encode(const pcard_cardstate *cs, size_t *n)
{
	uint8_t *buf;
	size_t m;

	assert_int_equal(pcard_cardstate_encode(cs, NULL, 0, n), PCARD_OK);
	assert_non_null(buf = malloc(*n));
	assert_int_equal(pcard_cardstate_encode(cs, buf, *n, &m), PCARD_OK);
	assert_int_equal(m, *n);
	return buf;
}

static void
test_roundtrip(void **state)
{
	pcard_cardstate a, b;
	uint8_t *buf, *buf2, small[16];
	size_t n, n2, m;
	char why[64];

	(void)state;
	pcard_cardstate_init(&a);
	pcard_cardstate_init(&b);
	make_rich(&a);
	buf = encode(&a, &n);
	printf("rich card body: %zu bytes\n", n);
	assert_int_equal(pcard_cardstate_decode(buf, n, &b), PCARD_OK);
	assert_true(pcard_cardstate_eq(&a, &b, why, sizeof why));
	/* canonical: the decoded state encodes to the same bytes */
	buf2 = encode(&b, &n2);
	assert_int_equal(n, n2);
	assert_memory_equal(buf, buf2, n);
	assert_int_equal(pcard_cardstate_encode(&a, small, sizeof small, &m), PCARD_E_NOSPACE);
	free(buf2);
	free(buf);

	pcard_cardstate_clear(&a);
	assert_int_equal(pcard_cardstate_default(&a, NULL), PCARD_OK);
	buf = encode(&a, &n);
	printf("default card body: %zu bytes\n", n);
	assert_int_equal(pcard_cardstate_decode(buf, n, &b), PCARD_OK);
	assert_true(pcard_cardstate_eq(&a, &b, NULL, 0));
	free(buf);

	/* an invalid state is not encoded */
	a.life_cycle = 0x02;
	assert_int_equal(pcard_cardstate_encode(&a, NULL, 0, &n), PCARD_E_INVALID_ARG);
	pcard_cardstate_clear(&a);
	pcard_cardstate_clear(&b);
}

static void
test_decode_errors(void **state)
{
	pcard_cardstate a, b;
	uint8_t *buf, *big;
	size_t n, truncated = 0;

	(void)state;
	pcard_cardstate_init(&a);
	pcard_cardstate_init(&b);
	make_rich(&a);
	buf = encode(&a, &n);

	/* every proper prefix is an error (never a crash, never a partial state) */
	for (size_t k = 0; k < n; k++) {
		pcard_err e = pcard_cardstate_decode(buf, k, &b);

		assert_int_not_equal(e, PCARD_OK);
		assert_int_equal(b.napps, 0);
		assert_int_equal(b.nelfs, 0);
		if (e == PCARD_E_TRUNCATED)
			truncated++;
	}
	assert_true(truncated > n / 2);
	assert_int_equal(pcard_cardstate_decode(buf, 0, &b), PCARD_E_TRUNCATED);

	/* one byte more: trailing data */
	assert_non_null(big = malloc(n + 1));
	memcpy(big, buf, n);
	big[n] = 0;
	assert_int_equal(pcard_cardstate_decode(big, n + 1, &b), PCARD_E_TRAILING_DATA);

	/* the ATR length (first byte) over its capacity */
	memcpy(big, buf, n);
	big[0] = PCARD_CS_ATR_MAX + 1;
	assert_int_equal(pcard_cardstate_decode(big, n, &b), PCARD_E_BAD_FILE);
	/* the card life cycle (after atr, cplc, iin, cin, kdd) out of its set */
	{
		size_t off = 1 + a.atr_len + 42 + 1 + a.iin_len + 1 + a.cin_len + 1 + a.kdd_len;

		memcpy(big, buf, n);
		assert_int_equal(big[off], PCARD_CARD_LOCKED);
		big[off] = 0x03;
		assert_int_equal(pcard_cardstate_decode(big, n, &b), PCARD_E_BAD_FILE);
		/* auth limit 0 */
		memcpy(big, buf, n);
		big[off + 2] = 0;
		assert_int_equal(pcard_cardstate_decode(big, n, &b), PCARD_E_BAD_FILE);
		/* nvm_used > nvm_size */
		memcpy(big, buf, n);
		memset(big + off + 9, 0xFF, 4);
		assert_int_equal(pcard_cardstate_decode(big, n, &b), PCARD_E_BAD_FILE);
		/* the ISD record length one too long swallows the ELF count: a record that
		 * does not end where it says is trailing data inside it */
		memcpy(big, buf, n);
		big[off + 18]++;
		assert_int_not_equal(pcard_cardstate_decode(big, n, &b), PCARD_OK);
	}
	/* semantic duplicates: two ELFs with the same AID */
	{
		pcard_cardstate c;
		uint8_t *d;
		size_t dn;

		pcard_cardstate_init(&c);
		assert_int_equal(pcard_cardstate_copy(&c, &a), PCARD_OK);
		c.elfs[1].aid = c.elfs[0].aid;
		assert_int_equal(pcard_cardstate_check(&c), PCARD_E_BAD_FILE);
		c.elfs[1].aid.b[4] ^= 0xFF;	/* valid again, then forge the dup in bytes */
		d = encode(&c, &dn);
		for (size_t k = 0; k + 7 < dn; k++)
			if (memcmp(d + k, c.elfs[1].aid.b, 7) == 0) {
				d[k + 4] ^= 0xFF;
				break;
			}
		assert_int_equal(pcard_cardstate_decode(d, dn, &b), PCARD_E_BAD_FILE);
		free(d);
		pcard_cardstate_clear(&c);
	}
	/* a key with a length its type does not allow: DES3 key of 8 bytes */
	{
		pcard_cardstate c;
		uint8_t *d;
		size_t dn;
		pcard_card_keyset *ks;

		pcard_cardstate_init(&c);
		assert_int_equal(pcard_cardstate_copy(&c, &a), PCARD_OK);
		ks = &c.apps[1].sd_info.keysets[1];
		ks->keys[2].type = PCARD_KEYTYPE_AES;	/* 16 bytes, AES: still valid */
		d = encode(&c, &dn);
		/* the last key of the set: id 03, type 88, len 0010 -> make it type 77 */
		for (size_t k = 0; k + 4 < dn; k++)
			if (d[k] == 0x03 && d[k + 1] == 0x88 && d[k + 2] == 0 && d[k + 3] == 16) {
				d[k + 1] = 0x77;
				break;
			}
		assert_int_equal(pcard_cardstate_decode(d, dn, &b), PCARD_E_BAD_FILE);
		free(d);
		pcard_cardstate_clear(&c);
	}
	assert_int_equal(pcard_cardstate_decode(NULL, 5, &b), PCARD_E_INVALID_ARG);
	free(big);
	free(buf);
	pcard_cardstate_clear(&a);
	pcard_cardstate_clear(&b);
}

static void
test_json(void **state)
{
	pcard_cardstate cs;
	json_t *j = NULL, *k;
	char *s1, *s2, kcvhex[7];
	uint8_t kcv[3];

	(void)state;
	pcard_cardstate_init(&cs);
	make_rich(&cs);
	assert_int_equal(pcard_cardstate_json(&cs, &j), PCARD_OK);
	s1 = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
	assert_non_null(s1);
	/* never a key value: neither the test key nor the SSD's DES keys */
	assert_null(strstr(s1, "404142434445464748494A4B4C4D4E4F"));
	assert_null(strstr(s1, "11111111111111111111111111111111"));
	/* the KCV of the test key, computed here independently */
	assert_int_equal(pcard_kcv_aes(test_key, 16, kcv), PCARD_OK);
	assert_int_equal(pcard_hex_encode(kcv, 3, kcvhex, sizeof kcvhex), PCARD_OK);
	k = json_object_get(json_array_get(json_object_get(json_array_get(json_object_get(
	    json_object_get(json_object_get(j, "isd"), "sd"), "key_sets"), 0), "keys"), 0), "kcv");
	assert_string_equal(json_string_value(k), kcvhex);
	assert_string_equal(json_string_value(json_object_get(j, "life_cycle_name")),
	    "CARD_LOCKED");
	assert_int_equal(json_integer_value(json_object_get(j, "receipt_counter")), 77);
	assert_int_equal(json_array_size(json_object_get(j, "applications")), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    json_object_get(j, "applications"), 0), "life_cycle_name")), "LOCKED");
	assert_non_null(strstr(s1, "\"fingerprint\""));
	assert_non_null(strstr(s1, "\"sequence_counter\":258"));
	json_decref(j);
	/* stable: the same state prints the same bytes */
	assert_int_equal(pcard_cardstate_json(&cs, &j), PCARD_OK);
	s2 = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
	assert_string_equal(s1, s2);
	free(s1);
	free(s2);
	json_decref(j);
	assert_int_equal(pcard_cardstate_json(NULL, &j), PCARD_E_INVALID_ARG);
	assert_string_equal(pcard_card_lc_name(0x42), "UNKNOWN");
	pcard_cardstate_clear(&cs);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_scp03),
		cmocka_unit_test(test_default_options),
		cmocka_unit_test(test_aid),
		cmocka_unit_test(test_registry),
		cmocka_unit_test(test_keysets),
		cmocka_unit_test(test_copy_eq),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_decode_errors),
		cmocka_unit_test(test_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
