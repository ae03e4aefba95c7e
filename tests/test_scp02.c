/*
 * test_scp02.c: the SCP02 known-answer session of ../shared/testdata/vectors/scp02.txt
 * (osmocom/pysim test_globalplatform.py, i = 55 family, level 01), host side byte for byte,
 * and card side with KVN 70 requested (the vector's card answers KVN 70 to a request for 20).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "postcard/bytes.h"
#include "postcard/crypto.h"
#include "postcard/keys.h"
#include "postcard/scp.h"
#include "testvec.h"
#include "tvkeys.h"

#define CASE "pysim-scp02-c-mac"

typedef struct fixture {
	tv_file *tv;
	const tv_case *c;
	pcard_keys *keys;
	pcard_scp_keyset ks;
} fixture;

/* SCP02 keys (static and session) are double-length 3DES keys. */
static void
import(pcard_keys *k, const tv_case *c, const char *field, pcard_keyh *h)
{
	assert_int_equal(tv_import_key(k, PCARD_KEY_DES3, c, field, h), 16);
}

static void
assert_key_is(pcard_keys *k, pcard_keyh h, const tv_case *c, const char *field)
{
	tv_assert_key_is(k, h, PCARD_KEY_DES3, c, field);
}

static int
setup(void **state)
{
	static fixture f;

	memset(&f, 0, sizeof f);
	f.tv = tv_load("vectors/scp02.txt");
	f.c = tv_find(f.tv, CASE);
	*state = &f;
	return 0;
}

static int
teardown(void **state)
{
	fixture *f = *state;

	tv_free(f->tv);
	return 0;
}

static int
each_setup(void **state)
{
	fixture *f = *state;

	assert_int_equal(pcard_keys_mem_new(32, &f->keys), PCARD_OK);
	import(f->keys, f->c, "KeyENC", &f->ks.enc);
	import(f->keys, f->c, "KeyMAC", &f->ks.mac);
	import(f->keys, f->c, "KeyDEK", &f->ks.dek);
	return 0;
}

static int
each_teardown(void **state)
{
	fixture *f = *state;

	pcard_keys_free(f->keys);
	f->keys = NULL;
	return 0;
}

static const char *const plain_f[] = { "PlainCmd1", "PlainCmd2", "PlainCmd3", "PlainCmd4" };
static const char *const wrapped_f[] = {
	"WrappedCmd1", "WrappedCmd2", "WrappedCmd3", "WrappedCmd4",
};

static void
host_open(fixture *f, pcard_scp *s, uint8_t expect_kvn)
{
	const tv_case *c = f->c;
	uint8_t hc[8], iu[32], resp[40], ea[32], buf[64], level[1], hcrypt[8];
	size_t niu, nresp, nea, n;
	pcard_scp_host_params p;
	pcard_err want = expect_kvn != 0 ? PCARD_E_KEY : PCARD_OK;

	assert_int_equal(tv_hex(c, "HostChallenge", hc, sizeof hc), 8);
	niu = tv_hex(c, "InitUpdateCmd", iu, sizeof iu);
	nresp = tv_hex(c, "InitUpdateResp", resp, sizeof resp - 2);
	nea = tv_hex(c, "ExtAuthCmd", ea, sizeof ea);
	assert_int_equal(tv_hex(c, "SecurityLevel", level, 1), 1);
	assert_int_equal(tv_hex(c, "HostCryptogram", hcrypt, 8), 8);
	memset(&p, 0, sizeof p);
	p.kvn = iu[2];
	p.expect_kvn = expect_kvn;
	p.scp = 2;
	p.scp02_i = 0x55;
	p.host_chal = hc;
	p.host_chal_len = 8;
	pcard_scp_init(s);
	assert_int_equal(pcard_scp_host_init_update(s, f->keys, &f->ks, &p, buf, sizeof buf, &n),
	    PCARD_OK);
	assert_int_equal(n, niu);
	assert_memory_equal(buf, iu, niu);
	memcpy(buf, resp, nresp);
	buf[nresp] = 0x90;
	buf[nresp + 1] = 0x00;
	assert_int_equal(pcard_scp_host_auth(s, buf, nresp + 2), want);
	if (want != PCARD_OK)
		return;
	assert_int_equal(pcard_scp_version(s), 2);
	assert_int_equal(pcard_scp_seq(s), resp[12] << 8 | resp[13]);
	assert_key_is(f->keys, s->s_enc, c, "SEnc");
	assert_key_is(f->keys, s->s_mac, c, "SMac");
	assert_key_is(f->keys, s->s_rmac, c, "SRmac");
	assert_key_is(f->keys, s->s_dek, c, "SDek");
	assert_int_equal(pcard_scp_host_ext_auth(s, level[0], buf, sizeof buf, &n), PCARD_OK);
	assert_int_equal(n, nea);
	assert_memory_equal(buf, ea, nea);
	assert_memory_equal(buf + 5, hcrypt, 8);
	assert_int_equal(pcard_scp_host_ext_auth_rsp(s, (const uint8_t *)"\x90\x00", 2),
	    PCARD_OK);
}

static void
test_host(void **state)
{
	fixture *f = *state;
	uint8_t plain[64], want[64], got[PCARD_SCP_MAX_CMD];
	size_t np, nw, ng, i;
	pcard_keyh dek;
	pcard_cipher_alg alg;
	pcard_scp s;

	host_open(f, &s, 0);
	for (i = 0; i < 4; i++) {
		np = tv_hex(f->c, plain_f[i], plain, sizeof plain);
		nw = tv_hex(f->c, wrapped_f[i], want, sizeof want);
		assert_int_equal(pcard_scp_wrap_cmd(&s, plain, np, got, sizeof got, &ng), PCARD_OK);
		assert_int_equal(ng, nw);
		assert_memory_equal(got, want, nw);
	}
	/* PUT KEY encrypts under the session DEK with 3DES-ECB */
	assert_int_equal(pcard_scp_dek(&s, &dek, &alg), PCARD_OK);
	assert_int_equal(alg, PCARD_CIPHER_DES3_ECB);
	assert_key_is(f->keys, dek, f->c, "SDek");
	pcard_scp_clear(&s);
	assert_int_equal(pcard_scp_dek(&s, &dek, &alg), PCARD_E_STATE);
}

/* The host insisting on KVN 20 refuses the card's KVN 70. */
static void
test_host_kvn_mismatch(void **state)
{
	fixture *f = *state;
	pcard_scp s;

	host_open(f, &s, 0x20);
	assert_int_equal(pcard_scp_state_of(&s), PCARD_SCP_NONE);
	pcard_scp_clear(&s);
}

/* A wrong card cryptogram: PCARD_E_AUTH, no EXTERNAL AUTHENTICATE can be built. */
static void
test_host_bad_cryptogram(void **state)
{
	fixture *f = *state;
	uint8_t hc[8], resp[40], buf[64];
	size_t nresp, n;
	pcard_scp_host_params p;
	pcard_scp s;

	tv_hex(f->c, "HostChallenge", hc, sizeof hc);
	nresp = tv_hex(f->c, "InitUpdateResp", resp, sizeof resp - 2);
	memset(&p, 0, sizeof p);
	p.scp02_i = 0x15;
	p.host_chal = hc;
	pcard_scp_init(&s);
	assert_int_equal(pcard_scp_host_init_update(&s, f->keys, &f->ks, &p, buf, sizeof buf, &n),
	    PCARD_OK);
	resp[nresp - 1] ^= 0x80;
	resp[nresp] = 0x90;
	resp[nresp + 1] = 0x00;
	assert_int_equal(pcard_scp_host_auth(&s, resp, nresp + 2), PCARD_E_AUTH);
	assert_int_equal(pcard_scp_state_of(&s), PCARD_SCP_DEAD);
	assert_int_equal(pcard_scp_host_ext_auth(&s, 0x01, buf, sizeof buf, &n),
	    PCARD_E_SESSION_DEAD);
	pcard_scp_clear(&s);
}

static void
test_card(void **state)
{
	fixture *f = *state;
	const tv_case *c = f->c;
	uint8_t iu[32], resp[40], ea[32], out[64], w[64], plain[64];
	size_t niu, nresp, nea, n, nw, np, i;
	uint32_t new_seq = 0;
	pcard_scp_card_params p;
	pcard_scp s;

	niu = tv_hex(c, "InitUpdateCmd", iu, sizeof iu);
	nresp = tv_hex(c, "InitUpdateResp", resp, sizeof resp);
	nea = tv_hex(c, "ExtAuthCmd", ea, sizeof ea);
	assert_int_equal(nresp, 28);
	memset(&p, 0, sizeof p);
	p.scp = 2;
	p.i = 0x15;		/* the vector's card challenge is not the pseudo-random one */
	p.kvn = resp[10];
	p.kdd = resp;
	p.seq = (uint32_t)(resp[12] << 8 | resp[13]);
	p.card_chal = resp + 14;
	pcard_scp_init(&s);
	/* as recorded, P1 asks for KVN 20: a strict card answers 6A88 */
	assert_int_equal(pcard_scp_card_init_update(&s, f->keys, &f->ks, &p, iu, niu, out,
	    sizeof out, &n, &new_seq), PCARD_E_NOT_FOUND);
	assert_int_equal(pcard_scp_card_sw(PCARD_E_NOT_FOUND), 0x6A88);
	iu[2] = resp[10];
	assert_int_equal(pcard_scp_card_init_update(&s, f->keys, &f->ks, &p, iu, niu, out,
	    sizeof out, &n, &new_seq), PCARD_OK);
	assert_int_equal(n, nresp + 2);
	assert_memory_equal(out, resp, nresp);
	assert_int_equal(new_seq, p.seq);	/* SCP02: unchanged until EXTERNAL AUTHENTICATE */
	assert_int_equal(pcard_scp_card_ext_auth(&s, ea, nea, &new_seq), PCARD_OK);
	assert_int_equal(new_seq, p.seq + 1);
	for (i = 0; i < 4; i++) {
		nw = tv_hex(c, wrapped_f[i], w, sizeof w);
		np = tv_hex(c, plain_f[i], plain, sizeof plain);
		assert_int_equal(pcard_scp_unwrap_cmd(&s, w, nw, out, sizeof out, &n), PCARD_OK);
		assert_int_equal(n, np);
		assert_memory_equal(out, plain, np);
		assert_int_equal(pcard_scp_wrap_rsp(&s, NULL, 0, 0x6A88, out, sizeof out, &n),
		    PCARD_OK);
		assert_int_equal(n, 2);	/* level 01: no R-MAC; the chain survives error SWs */
	}
	pcard_scp_clear(&s);
}

/* Card side: a wrong host cryptogram is reported for the failure counter (6300). */
static void
test_card_bad_host_cryptogram(void **state)
{
	fixture *f = *state;
	const tv_case *c = f->c;
	uint8_t iu[32], resp[40], ea[32], out[64];
	size_t niu, nea, n;
	uint32_t new_seq = 0;
	pcard_scp_card_params p;
	pcard_scp s;

	niu = tv_hex(c, "InitUpdateCmd", iu, sizeof iu);
	tv_hex(c, "InitUpdateResp", resp, sizeof resp);
	nea = tv_hex(c, "ExtAuthCmd", ea, sizeof ea);
	memset(&p, 0, sizeof p);
	p.scp = 2;
	p.i = 0x15;
	p.kvn = 0x70;
	p.kdd = resp;
	p.seq = 1;
	p.card_chal = resp + 14;
	iu[2] = 0x00;		/* any key set */
	pcard_scp_init(&s);
	assert_int_equal(pcard_scp_card_init_update(&s, f->keys, &f->ks, &p, iu, niu, out,
	    sizeof out, &n, &new_seq), PCARD_OK);
	ea[6] ^= 0x01;
	assert_int_equal(pcard_scp_card_ext_auth(&s, ea, nea, &new_seq), PCARD_E_AUTH);
	assert_int_equal(pcard_scp_card_sw(PCARD_E_AUTH), 0x6300);
	ea[6] ^= 0x01;
	assert_int_equal(pcard_scp_card_ext_auth(&s, ea, nea, &new_seq), PCARD_E_SESSION_DEAD);
	/* a new INITIALIZE UPDATE starts over */
	assert_int_equal(pcard_scp_card_init_update(&s, f->keys, &f->ks, &p, iu, niu, out,
	    sizeof out, &n, &new_seq), PCARD_OK);
	ea[nea - 1] ^= 0x01;	/* now the C-MAC */
	assert_int_equal(pcard_scp_card_ext_auth(&s, ea, nea, &new_seq), PCARD_E_MAC);
	pcard_scp_clear(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_host, each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(test_host_kvn_mismatch, each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(test_host_bad_cryptogram, each_setup,
		    each_teardown),
		cmocka_unit_test_setup_teardown(test_card, each_setup, each_teardown),
		cmocka_unit_test_setup_teardown(test_card_bad_host_cryptogram, each_setup,
		    each_teardown),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
