/*
 * test_scp03.c: SCP03 known-answer sessions from ../shared/testdata/vectors/scp03.txt
 * (kaoh/globalplatform scp03Test.c, osmocom/pysim test_globalplatform.py), replayed on the
 * host side and on the card side, byte for byte, through the in-memory key provider.
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

typedef struct fixture {
	tv_file *tv;
	pcard_keys *keys;
	pcard_scp_keyset ks;
} fixture;

static void
load_keys(fixture *f, const tv_case *c)
{
	assert_int_equal(pcard_keys_mem_new(32, &f->keys), PCARD_OK);
	tv_import_key(f->keys, PCARD_KEY_AES, c, "KeyENC", &f->ks.enc);
	tv_import_key(f->keys, PCARD_KEY_AES, c, "KeyMAC", &f->ks.mac);
	tv_import_key(f->keys, PCARD_KEY_AES, c, "KeyDEK", &f->ks.dek);
}

/* The session key behind handle h has the value of field (type, length and KCV). */
static void
assert_key_is(pcard_keys *k, pcard_keyh h, const tv_case *c, const char *field)
{
	tv_assert_key_is(k, h, PCARD_KEY_AES, c, field);
}

static int
setup(void **state)
{
	static fixture f;

	memset(&f, 0, sizeof f);
	f.tv = tv_load("vectors/scp03.txt");
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

static void
with_sw(const uint8_t *p, size_t n, uint8_t *out, size_t *out_len)
{
	memcpy(out, p, n);
	out[n] = 0x90;
	out[n + 1] = 0x00;
	*out_len = n + 2;
}

static void
wrap_expect(pcard_scp *s, const char *plain_hex, const tv_case *c, const char *field)
{
	uint8_t plain[300], want[300], got[PCARD_SCP_MAX_CMD];
	size_t np, nw, ng;

	assert_int_equal(pcard_hex_decode(plain_hex, plain, sizeof plain, &np), PCARD_OK);
	nw = tv_hex(c, field, want, sizeof want);
	assert_int_equal(pcard_scp_wrap_cmd(s, plain, np, got, sizeof got, &ng), PCARD_OK);
	assert_int_equal(ng, nw);
	assert_memory_equal(got, want, nw);
}

/* Host side of one case up to EXTERNAL AUTHENTICATE; returns with the channel open. */
static void
host_open(fixture *f, const tv_case *c, pcard_scp *s)
{
	uint8_t iu[64], resp[64], aid[16], ea[64], buf[64], level[1], seq[3], cc[16];
	size_t niu, nresp, naid, nea, n;
	pcard_scp_host_params p;

	load_keys(f, c);
	niu = tv_hex(c, "InitUpdateCmd", iu, sizeof iu);
	nresp = tv_hex(c, "InitUpdateResp", resp, sizeof resp - 2);
	naid = tv_hex(c, "InvokingAID", aid, sizeof aid);
	nea = tv_hex(c, "ExtAuthCmd", ea, sizeof ea);
	assert_int_equal(tv_hex(c, "SecurityLevel", level, 1), 1);
	assert_int_equal(niu, 14);
	memset(&p, 0, sizeof p);
	p.kvn = iu[2];
	p.host_chal = iu + 5;	/* the vector's host challenge, as in its command */
	p.host_chal_len = 8;
	p.aid = aid;
	p.aid_len = naid;
	pcard_scp_init(s);
	assert_int_equal(pcard_scp_host_init_update(s, f->keys, &f->ks, &p, buf, sizeof buf, &n),
	    PCARD_OK);
	assert_int_equal(n, niu);
	assert_memory_equal(buf, iu, niu);
	with_sw(resp, nresp, buf, &n);
	assert_int_equal(pcard_scp_host_auth(s, buf, n), PCARD_OK);
	assert_int_equal(pcard_scp_version(s), 3);
	assert_int_equal(pcard_scp_i(s), resp[12]);
	assert_int_equal(pcard_scp_kvn(s), resp[10]);
	assert_memory_equal(pcard_scp_kdd(s), resp, 10);
	assert_key_is(f->keys, s->s_enc, c, "SEnc");
	assert_key_is(f->keys, s->s_mac, c, "SMac");
	assert_key_is(f->keys, s->s_rmac, c, "SRmac");
	if (tv_get(c, "SeqCounter") != NULL) {
		tv_hex(c, "SeqCounter", seq, 3);
		assert_int_equal(pcard_scp_seq(s), (uint32_t)seq[0] << 16 | seq[1] << 8 | seq[2]);
		assert_int_equal(tv_hex(c, "CardChallenge", cc, sizeof cc), 8);
		assert_memory_equal(s->card_chal, cc, 8);
	}
	assert_int_equal(pcard_scp_host_ext_auth(s, level[0], buf, sizeof buf, &n), PCARD_OK);
	assert_int_equal(n, nea);
	assert_memory_equal(buf, ea, nea);
	assert_int_equal(pcard_scp_host_ext_auth_rsp(s, (const uint8_t *)"\x90\x00", 2),
	    PCARD_OK);
	assert_int_equal(pcard_scp_level(s), level[0]);
}

static void
test_host_kaoh_mutual_auth(void **state)
{
	fixture *f = *state;
	const tv_case *c = tv_find(f->tv, "kaoh-mutual-auth");
	uint8_t hc[8];
	pcard_scp s;

	assert_int_equal(tv_hex(c, "HostChallenge", hc, sizeof hc), 8);
	host_open(f, c, &s);
	assert_memory_equal(s.host_chal, hc, 8);
	/* HostCryptogram is the first half of ExtAuthCmd (checked there); the card's: */
	{
		uint8_t cc[8], resp[64];

		tv_hex(c, "CardCryptogram", cc, sizeof cc);
		tv_hex(c, "InitUpdateResp", resp, sizeof resp);
		assert_memory_equal(resp + 21, cc, 8);
	}
	pcard_scp_clear(&s);
	pcard_keys_free(f->keys);
}

static void
test_host_kaoh_delete(void **state)
{
	fixture *f = *state;
	const tv_case *c = tv_find(f->tv, "kaoh-delete-application");
	pcard_scp s;

	host_open(f, c, &s);
	wrap_expect(&s, tv_str(c, "PlainCmd1"), c, "WrappedCmd1");
	pcard_scp_clear(&s);
	pcard_keys_free(f->keys);
}

static const char *const pysim_plain[] = {
	"80F22002", "80ca006600", "80F220020a4f0212345c054f9f70c5", "80f28002024f0000",
};
static const char *const pysim_wrapped[] = { "Case1", "Case2", "Case3", "Case4" };
static const char pysim_eid_cmd[] = "80E2910006BF3E035C015A00";
static const char pysim_eid_data[] = "bf3e125a1089882119900000000000000000000005";

static void
test_host_pysim_sl11(void **state)
{
	fixture *f = *state;
	const tv_case *c = tv_find(f->tv, "pysim-aes128-sl11");
	uint8_t rsp[64], out[64], want[64], hcrypt[8], ea[32];
	size_t n, no, nw;
	pcard_scp s;
	size_t i;

	host_open(f, c, &s);
	assert_int_equal(tv_hex(c, "HostCryptogram", hcrypt, sizeof hcrypt), 8);
	tv_hex(c, "ExtAuthCmd", ea, sizeof ea);
	assert_memory_equal(ea + 5, hcrypt, 8);
	assert_int_equal(tv_hex(c, "KVN", out, 1), 1);
	assert_int_equal(pcard_scp_kvn(&s), out[0]);
	wrap_expect(&s, pysim_eid_cmd, c, "GetEidWrapped");
	/* the card's answer verifies under R-MAC and unwraps to the plain EID data */
	n = tv_hex(c, "GetEidCardResp", rsp, sizeof rsp - 2);
	with_sw(rsp, n, rsp, &n);
	assert_int_equal(pcard_scp_unwrap_rsp(&s, rsp, n, out, sizeof out, &no), PCARD_OK);
	assert_int_equal(pcard_hex_decode(pysim_eid_data, want, sizeof want, &nw), PCARD_OK);
	assert_int_equal(no, nw + 2);
	assert_memory_equal(out, want, nw);
	assert_int_equal(out[nw] << 8 | out[nw + 1], 0x9000);
	for (i = 0; i < 4; i++)
		wrap_expect(&s, pysim_plain[i], c, pysim_wrapped[i]);
	pcard_scp_clear(&s);
	pcard_keys_free(f->keys);
}

/* A flipped bit in the R-MAC of the pysim response is caught and kills the session. */
static void
test_host_pysim_rmac_flip(void **state)
{
	fixture *f = *state;
	const tv_case *c = tv_find(f->tv, "pysim-aes128-sl11");
	uint8_t rsp[64], out[64], cmd[64], wr[64];
	size_t n, no, nc;
	pcard_scp s;

	host_open(f, c, &s);
	assert_int_equal(pcard_hex_decode(pysim_eid_cmd, cmd, sizeof cmd, &nc), PCARD_OK);
	assert_int_equal(pcard_scp_wrap_cmd(&s, cmd, nc, wr, sizeof wr, &no), PCARD_OK);
	n = tv_hex(c, "GetEidCardResp", rsp, sizeof rsp - 2);
	with_sw(rsp, n, rsp, &n);
	rsp[n - 3] ^= 0x01;
	assert_int_equal(pcard_scp_unwrap_rsp(&s, rsp, n, out, sizeof out, &no), PCARD_E_MAC);
	assert_int_equal(pcard_scp_state_of(&s), PCARD_SCP_DEAD);
	assert_int_equal(pcard_scp_wrap_cmd(&s, cmd, nc, wr, sizeof wr, &no),
	    PCARD_E_SESSION_DEAD);
	pcard_scp_clear(&s);
	pcard_keys_free(f->keys);
}

/* Card side: the card builds InitUpdateResp itself (pseudo-random challenge from its counter),
 * accepts ExtAuthCmd and unwraps the wrapped commands back to the plain ones. */
static void
card_open(fixture *f, const tv_case *c, pcard_scp *s)
{
	uint8_t iu[64], resp[64], aid[16], ea[64], out[80];
	size_t niu, nresp, naid, nea, n;
	uint32_t seq, new_seq = 0;
	pcard_scp_card_params p;

	load_keys(f, c);
	niu = tv_hex(c, "InitUpdateCmd", iu, sizeof iu);
	nresp = tv_hex(c, "InitUpdateResp", resp, sizeof resp - 2);
	naid = tv_hex(c, "InvokingAID", aid, sizeof aid);
	nea = tv_hex(c, "ExtAuthCmd", ea, sizeof ea);
	assert_int_equal(nresp, 32);
	seq = (uint32_t)resp[29] << 16 | resp[30] << 8 | resp[31];
	memset(&p, 0, sizeof p);
	p.scp = 3;
	p.i = resp[12];
	p.kvn = resp[10];
	p.kdd = resp;
	p.seq = seq - 1;	/* the value in persistent memory before this session */
	p.aid = aid;
	p.aid_len = naid;
	pcard_scp_init(s);
	assert_int_equal(pcard_scp_card_init_update(s, f->keys, &f->ks, &p, iu, niu, out,
	    sizeof out, &n, &new_seq), PCARD_OK);
	assert_int_equal(new_seq, seq);
	assert_int_equal(n, nresp + 2);
	assert_memory_equal(out, resp, nresp);
	assert_int_equal(out[nresp] << 8 | out[nresp + 1], 0x9000);
	assert_int_equal(pcard_scp_card_ext_auth(s, ea, nea, &new_seq), PCARD_OK);
	assert_int_equal(new_seq, seq);
	assert_int_equal(pcard_scp_state_of(s), PCARD_SCP_OPEN);
}

static void
unwrap_expect(pcard_scp *s, const tv_case *c, const char *wfield, const char *plain_hex)
{
	uint8_t w[300], want[300], got[300];
	size_t nw, np, ng;

	nw = tv_hex(c, wfield, w, sizeof w);
	assert_int_equal(pcard_hex_decode(plain_hex, want, sizeof want, &np), PCARD_OK);
	assert_int_equal(pcard_scp_unwrap_cmd(s, w, nw, got, sizeof got, &ng), PCARD_OK);
	assert_int_equal(ng, np);
	assert_memory_equal(got, want, np);
}

static void
test_card_kaoh(void **state)
{
	fixture *f = *state;
	const tv_case *c = tv_find(f->tv, "kaoh-mutual-auth");
	pcard_scp s;

	card_open(f, c, &s);
	pcard_scp_clear(&s);
	pcard_keys_free(f->keys);
	c = tv_find(f->tv, "kaoh-delete-application");
	card_open(f, c, &s);
	unwrap_expect(&s, c, "WrappedCmd1", tv_str(c, "PlainCmd1"));
	pcard_scp_clear(&s);
	pcard_keys_free(f->keys);
}

static void
test_card_pysim(void **state)
{
	fixture *f = *state;
	const tv_case *c = tv_find(f->tv, "pysim-aes128-sl11");
	uint8_t data[64], want[64], out[64];
	size_t nd, nw, no, i;
	pcard_scp s;

	card_open(f, c, &s);
	unwrap_expect(&s, c, "GetEidWrapped", pysim_eid_cmd);
	/* the card's R-MAC over the EID answer is the one in the vector */
	assert_int_equal(pcard_hex_decode(pysim_eid_data, data, sizeof data, &nd), PCARD_OK);
	nw = tv_hex(c, "GetEidCardResp", want, sizeof want);
	assert_int_equal(pcard_scp_wrap_rsp(&s, data, nd, 0x9000, out, sizeof out, &no),
	    PCARD_OK);
	assert_int_equal(no, nw + 2);
	assert_memory_equal(out, want, nw);
	for (i = 0; i < 4; i++) {
		unwrap_expect(&s, c, pysim_wrapped[i], pysim_plain[i]);
		assert_int_equal(pcard_scp_wrap_rsp(&s, NULL, 0, 0x9000, out, sizeof out, &no),
		    PCARD_OK);
	}
	pcard_scp_clear(&s);
	pcard_keys_free(f->keys);
}

/* Card side: a replayed command is refused and the session dies. */
static void
test_card_replay(void **state)
{
	fixture *f = *state;
	const tv_case *c = tv_find(f->tv, "pysim-aes128-sl11");
	uint8_t w[64], out[64];
	size_t nw, no;
	pcard_scp s;

	card_open(f, c, &s);
	nw = tv_hex(c, "Case1", w, sizeof w);
	/* Case1 out of order (GET EID was first) */
	assert_int_equal(pcard_scp_unwrap_cmd(&s, w, nw, out, sizeof out, &no), PCARD_E_MAC);
	assert_int_equal(pcard_scp_card_sw(PCARD_E_MAC), 0x6982);
	nw = tv_hex(c, "GetEidWrapped", w, sizeof w);
	assert_int_equal(pcard_scp_unwrap_cmd(&s, w, nw, out, sizeof out, &no),
	    PCARD_E_SESSION_DEAD);
	pcard_scp_clear(&s);
	pcard_scp_clear(&s);	/* twice is fine */
	pcard_scp_clear(NULL);
	pcard_keys_free(f->keys);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_host_kaoh_mutual_auth),
		cmocka_unit_test(test_host_kaoh_delete),
		cmocka_unit_test(test_host_pysim_sl11),
		cmocka_unit_test(test_host_pysim_rmac_flip),
		cmocka_unit_test(test_card_kaoh),
		cmocka_unit_test(test_card_pysim),
		cmocka_unit_test(test_card_replay),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
