/*
 * test_hsm.c: the PKCS#11 key provider (src/hsm) on a private SoftHSMv2 token made in a
 * temporary directory (SOFTHSM2_CONF of our own, softhsm2-util --init-token): the known-answer
 * vectors of the in-memory provider (keydiv.txt KCVs, scp03.txt and scp02.txt sessions byte for
 * byte), in-process host (HSM) <-> card (memory) sessions, PUT KEY blocks equal to the memory
 * provider's, master keys that cannot be read or wrapped, signatures, every error, and every
 * template the layer sends, read back from OpenSC's pkcs11-spy log.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <p11-kit/pkcs11.h>

#include "hsm.h"
#include "postcard/bytes.h"
#include "postcard/crypto.h"
#include "postcard/keydiv.h"
#include "postcard/keys.h"
#include "postcard/putkey.h"
#include "postcard/scp.h"
#include "spylog.h"
#include "testvec.h"

#define SOFTHSM "/usr/lib/softhsm/libsofthsm2.so"
#define SPY "/usr/lib/x86_64-linux-gnu/pkcs11/pkcs11-spy.so"
#define TOKEN "postcard-test"
#define PIN "1234"		/* demo-only PIN of a throw-away token */
#define SO_PIN "12345678"

/* OpenSC's pkcs11-spy never frees its copy of the function lists: not ours to fix. */
const char *__lsan_default_suppressions(void);
const char *
__lsan_default_suppressions(void)
{
	return "leak:pkcs11-spy.so\n";
}

static char dir[256];		/* the private token directory */
static pcard_hsm *H;		/* opened directly on SoftHSM */

/* ------------------------------------------------------------------------------------------ */
/* Token setup */

static void
sh(const char *fmt, const char *arg)
{
	char cmd[1024];

	snprintf(cmd, sizeof cmd, fmt, arg, arg, arg);
	assert_int_equal(system(cmd), 0);
}

static int
group_setup(void **state)
{
	char path[600];
	FILE *f;
	pcard_hsm_params p;

	(void)state;
	snprintf(dir, sizeof dir, "/tmp/pcard-test-hsm.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof path, "%s/softhsm2.conf", dir);
	if ((f = fopen(path, "w")) == NULL)
		return -1;
	fprintf(f, "directories.tokendir = %s/tokens\nobjectstore.backend = file\n"
	    "log.level = ERROR\nslots.removable = false\n", dir);
	fclose(f);
	setenv("SOFTHSM2_CONF", path, 1);
	snprintf(path, sizeof path, "mkdir -p %s/tokens && softhsm2-util --init-token --free "
	    "--label " TOKEN " --so-pin " SO_PIN " --pin " PIN " >/dev/null", dir);
	if (system(path) != 0)
		return -1;
	/* a second token for the run through pkcs11-spy (created before SoftHSM starts) */
	snprintf(path, sizeof path, "softhsm2-util --init-token --free --label " TOKEN "-spy "
	    "--so-pin " SO_PIN " --pin " PIN " >/dev/null");
	if (system(path) != 0)
		return -1;
	memset(&p, 0, sizeof p);
	p.token_label = TOKEN;
	p.pin = PIN;
	return pcard_hsm_open(&p, &H) == PCARD_OK ? 0 : -1;
}

static int
group_teardown(void **state)
{
	(void)state;
	pcard_hsm_close(H);
	if (getenv("PCARD_TEST_KEEP") == NULL)	/* keep the token and spy log to debug */
		sh("rm -rf %s", dir);
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Helpers */

/* Import field of c as a master (token) key named label into H. */
static pcard_keyh
import_field(const tv_case *c, const char *field, const char *label, pcard_keytype t,
    unsigned usage)
{
	uint8_t key[32];
	size_t n = tv_hex(c, field, key, sizeof key);
	pcard_keyh h;

	assert_int_equal(pcard_hsm_import_secret(H, label, t, key, n, usage, &h), PCARD_OK);
	pcard_wipe(key, sizeof key);
	return h;
}

/* The KCV of the key behind handle k equals the KCV of the bytes in field of c. */
static void
assert_kcv_of(pcard_keys *k, pcard_keyh h, const tv_case *c, const char *field,
    pcard_keytype t)
{
	uint8_t key[32], a[3], b[3];
	size_t n = tv_hex(c, field, key, sizeof key);

	assert_int_equal(pcard_keys_kcv(k, h, a), PCARD_OK);
	if (t == PCARD_KEY_AES)
		assert_int_equal(pcard_kcv_aes(key, n, b), PCARD_OK);
	else
		assert_int_equal(pcard_kcv_des3(key, n, b), PCARD_OK);
	assert_memory_equal(a, b, 3);
}

/* ------------------------------------------------------------------------------------------ */
/* keydiv.txt through the HSM */

static void
test_keydiv_vectors(void **state)
{
	static const char *const kcv_fields[3] = { "KcvENC", "KcvMAC", "KcvDEK" };
	tv_file *f = tv_load("vectors/keydiv.txt");
	pcard_keys *k = pcard_hsm_keys(H);
	size_t i, j;

	(void)state;
	assert_int_equal(f->ncases, 5);
	for (i = 0; i < f->ncases; i++) {
		const tv_case *c = &f->cases[i];
		char name[32], label[200];
		const char *dash = strchr(c->name, '-');
		pcard_keydiv t;
		pcard_keyh mk, masters[3], set[3];
		pcard_keytype type, ct;
		uint8_t kdd[10], want[3], got[3];
		size_t len, ml;

		memcpy(name, c->name, (size_t)(dash - c->name));
		name[dash - c->name] = '\0';
		assert_int_equal(pcard_keydiv_parse(name, &t), PCARD_OK);
		type = t.kind == PCARD_KEYDIV_AES_KDF ? PCARD_KEY_AES : PCARD_KEY_DES3;
		snprintf(label, sizeof label, "kd-%s", c->name);
		mk = import_field(c, "MK", label, type, PCARD_HSM_USE_MASTER);
		assert_int_equal(pcard_keys_info(k, mk, &ct, &ml), PCARD_OK);
		assert_int_equal(ct, type);
		assert_int_equal(tv_hex(c, "KDD", kdd, sizeof kdd), 10);
		masters[0] = masters[1] = masters[2] = mk;
		assert_int_equal(pcard_keydiv_derive_set(k, masters, &t, kdd, set), PCARD_OK);
		for (j = 0; j < 3; j++) {
			assert_int_equal(tv_hex(c, kcv_fields[j], want, 3), 3);
			assert_int_equal(pcard_keys_kcv(k, set[j], got), PCARD_OK);
			assert_memory_equal(got, want, 3);
			assert_int_equal(pcard_keys_info(k, set[j], &ct, &len), PCARD_OK);
			assert_int_equal(ct, type);
			assert_int_equal(len, ml);
		}
		pcard_keydiv_release_set(k, masters, set);
		/* the master's own KCV: encrypt (AES) or CKA_CHECK_VALUE (3DES, derive only) */
		assert_kcv_of(k, mk, c, "MK", type);
		pcard_keys_release(k, mk);
	}
	tv_free(f);
}


/* ------------------------------------------------------------------------------------------ */
/* scp03.txt and scp02.txt replayed host-side with the HSM provider */

static void
with_sw(const uint8_t *p, size_t n, uint8_t *out, size_t *out_len)
{
	memmove(out, p, n);
	out[n] = 0x90;
	out[n + 1] = 0x00;
	*out_len = n + 2;
}

static void
wrap_expect(pcard_scp *s, const uint8_t *plain, size_t np, const tv_case *c, const char *field)
{
	uint8_t want[300], got[PCARD_SCP_MAX_CMD];
	size_t nw, ng;

	nw = tv_hex(c, field, want, sizeof want);
	assert_int_equal(pcard_scp_wrap_cmd(s, plain, np, got, sizeof got, &ng), PCARD_OK);
	assert_int_equal(ng, nw);
	assert_memory_equal(got, want, nw);
}

static void
wrap_expect_hex(pcard_scp *s, const char *plain_hex, const tv_case *c, const char *field)
{
	uint8_t plain[300];
	size_t np;

	assert_int_equal(pcard_hex_decode(plain_hex, plain, sizeof plain, &np), PCARD_OK);
	wrap_expect(s, plain, np, c, field);
}

/* The static keys of case c as token keys "<prefix>-enc/mac/dek", used as is. */
static void
import_static(const tv_case *c, const char *prefix, pcard_keytype t, pcard_scp_keyset *ks)
{
	char label[64];

	snprintf(label, sizeof label, "%s-enc", prefix);
	ks->enc = import_field(c, "KeyENC", label, t, PCARD_HSM_USE_STATIC);
	snprintf(label, sizeof label, "%s-mac", prefix);
	ks->mac = import_field(c, "KeyMAC", label, t, PCARD_HSM_USE_STATIC);
	snprintf(label, sizeof label, "%s-dek", prefix);
	ks->dek = import_field(c, "KeyDEK", label, t, PCARD_HSM_USE_STATIC);
}

static void
release_static(pcard_scp_keyset *ks)
{
	pcard_keys *k = pcard_hsm_keys(H);

	pcard_keys_release(k, ks->enc);
	pcard_keys_release(k, ks->mac);
	pcard_keys_release(k, ks->dek);
}

/* Host side of an SCP03 case through EXTERNAL AUTHENTICATE, byte for byte. */
static void
scp03_host_open(const tv_case *c, const char *prefix, pcard_scp_keyset *ks, pcard_scp *s)
{
	pcard_keys *k = pcard_hsm_keys(H);
	uint8_t iu[64], resp[64], aid[16], ea[64], buf[64], level[1], cc[16], hc[8];
	size_t niu, nresp, naid, nea, n;
	pcard_scp_host_params p;

	import_static(c, prefix, PCARD_KEY_AES, ks);
	niu = tv_hex(c, "InitUpdateCmd", iu, sizeof iu);
	nresp = tv_hex(c, "InitUpdateResp", resp, sizeof resp - 2);
	naid = tv_hex(c, "InvokingAID", aid, sizeof aid);
	nea = tv_hex(c, "ExtAuthCmd", ea, sizeof ea);
	assert_int_equal(tv_hex(c, "SecurityLevel", level, 1), 1);
	memset(&p, 0, sizeof p);
	p.kvn = iu[2];
	p.host_chal = iu + 5;
	p.host_chal_len = 8;
	p.aid = aid;
	p.aid_len = naid;
	pcard_scp_init(s);
	assert_int_equal(pcard_scp_host_init_update(s, k, ks, &p, buf, sizeof buf, &n), PCARD_OK);
	assert_int_equal(n, niu);
	assert_memory_equal(buf, iu, niu);
	with_sw(resp, nresp, buf, &n);
	/* card cryptogram and pseudo-random card challenge checked in the HSM */
	assert_int_equal(pcard_scp_host_auth(s, buf, n), PCARD_OK);
	assert_kcv_of(k, s->s_enc, c, "SEnc", PCARD_KEY_AES);
	assert_kcv_of(k, s->s_mac, c, "SMac", PCARD_KEY_AES);
	assert_kcv_of(k, s->s_rmac, c, "SRmac", PCARD_KEY_AES);
	if (tv_get(c, "CardChallenge") != NULL) {
		assert_int_equal(tv_hex(c, "CardChallenge", cc, sizeof cc), 8);
		assert_memory_equal(s->card_chal, cc, 8);
		assert_int_equal(tv_hex(c, "CardCryptogram", cc, sizeof cc), 8);
		assert_memory_equal(resp + 21, cc, 8);
	}
	if (tv_get(c, "HostCryptogram") != NULL) {
		assert_int_equal(tv_hex(c, "HostCryptogram", hc, sizeof hc), 8);
		assert_memory_equal(ea + 5, hc, 8);
	}
	assert_int_equal(pcard_scp_host_ext_auth(s, level[0], buf, sizeof buf, &n), PCARD_OK);
	assert_int_equal(n, nea);
	assert_memory_equal(buf, ea, nea);
	assert_int_equal(pcard_scp_host_ext_auth_rsp(s, (const uint8_t *)"\x90\x00", 2),
	    PCARD_OK);
}

static void
test_scp03_vectors(void **state)
{
	static const char *const pysim_plain[] = {
		"80F22002", "80ca006600", "80F220020a4f0212345c054f9f70c5", "80f28002024f0000",
	};
	static const char *const pysim_wrapped[] = { "Case1", "Case2", "Case3", "Case4" };
	tv_file *f = tv_load("vectors/scp03.txt");
	const tv_case *c;
	pcard_scp_keyset ks;
	pcard_scp s;
	uint8_t rsp[64], out[64], want[64];
	size_t n, no, nw, i;

	(void)state;
	c = tv_find(f, "kaoh-mutual-auth");
	scp03_host_open(c, "v03a", &ks, &s);
	pcard_scp_clear(&s);
	release_static(&ks);

	c = tv_find(f, "kaoh-delete-application");
	scp03_host_open(c, "v03b", &ks, &s);
	wrap_expect_hex(&s, tv_str(c, "PlainCmd1"), c, "WrappedCmd1");
	pcard_scp_clear(&s);
	release_static(&ks);

	c = tv_find(f, "pysim-aes128-sl11");
	scp03_host_open(c, "v03c", &ks, &s);
	wrap_expect_hex(&s, "80E2910006BF3E035C015A00", c, "GetEidWrapped");
	n = tv_hex(c, "GetEidCardResp", rsp, sizeof rsp - 2);
	with_sw(rsp, n, rsp, &n);
	assert_int_equal(pcard_scp_unwrap_rsp(&s, rsp, n, out, sizeof out, &no), PCARD_OK);
	assert_int_equal(pcard_hex_decode("bf3e125a1089882119900000000000000000000005", want,
	    sizeof want, &nw), PCARD_OK);
	assert_int_equal(no, nw + 2);
	assert_memory_equal(out, want, nw);
	for (i = 0; i < 4; i++)
		wrap_expect_hex(&s, pysim_plain[i], c, pysim_wrapped[i]);
	pcard_scp_clear(&s);
	release_static(&ks);
	tv_free(f);
}

static void
test_scp02_vectors(void **state)
{
	static const char *const plain_f[] = { "PlainCmd1", "PlainCmd2", "PlainCmd3",
		"PlainCmd4" };
	static const char *const wrapped_f[] = { "WrappedCmd1", "WrappedCmd2", "WrappedCmd3",
		"WrappedCmd4" };
	tv_file *f = tv_load("vectors/scp02.txt");
	const tv_case *c = tv_find(f, "pysim-scp02-c-mac");
	pcard_keys *k = pcard_hsm_keys(H);
	uint8_t hc[8], iu[32], resp[40], ea[32], buf[64], level[1], hcrypt[8], plain[64];
	size_t niu, nresp, nea, n, np, i;
	pcard_scp_keyset ks;
	pcard_scp_host_params p;
	pcard_keyh dek;
	pcard_cipher_alg alg;
	pcard_scp s;

	(void)state;
	import_static(c, "v02", PCARD_KEY_DES3, &ks);
	assert_int_equal(tv_hex(c, "HostChallenge", hc, sizeof hc), 8);
	niu = tv_hex(c, "InitUpdateCmd", iu, sizeof iu);
	nresp = tv_hex(c, "InitUpdateResp", resp, sizeof resp - 2);
	nea = tv_hex(c, "ExtAuthCmd", ea, sizeof ea);
	assert_int_equal(tv_hex(c, "SecurityLevel", level, 1), 1);
	assert_int_equal(tv_hex(c, "HostCryptogram", hcrypt, 8), 8);
	memset(&p, 0, sizeof p);
	p.kvn = iu[2];
	p.scp = 2;
	p.scp02_i = 0x55;
	p.host_chal = hc;
	p.host_chal_len = 8;
	pcard_scp_init(&s);
	assert_int_equal(pcard_scp_host_init_update(&s, k, &ks, &p, buf, sizeof buf, &n),
	    PCARD_OK);
	assert_int_equal(n, niu);
	assert_memory_equal(buf, iu, niu);
	with_sw(resp, nresp, buf, &n);
	assert_int_equal(pcard_scp_host_auth(&s, buf, n), PCARD_OK);
	assert_kcv_of(k, s.s_enc, c, "SEnc", PCARD_KEY_DES3);
	assert_kcv_of(k, s.s_mac, c, "SMac", PCARD_KEY_DES3);
	assert_kcv_of(k, s.s_rmac, c, "SRmac", PCARD_KEY_DES3);
	assert_kcv_of(k, s.s_dek, c, "SDek", PCARD_KEY_DES3);
	assert_int_equal(pcard_scp_host_ext_auth(&s, level[0], buf, sizeof buf, &n), PCARD_OK);
	assert_int_equal(n, nea);
	assert_memory_equal(buf, ea, nea);
	assert_memory_equal(buf + 5, hcrypt, 8);
	assert_int_equal(pcard_scp_host_ext_auth_rsp(&s, (const uint8_t *)"\x90\x00", 2),
	    PCARD_OK);
	for (i = 0; i < 4; i++) {
		np = tv_hex(c, plain_f[i], plain, sizeof plain);
		wrap_expect(&s, plain, np, c, wrapped_f[i]);
	}
	assert_int_equal(pcard_scp_dek(&s, &dek, &alg), PCARD_OK);
	assert_int_equal(alg, PCARD_CIPHER_DES3_ECB);
	assert_kcv_of(k, dek, c, "SDek", PCARD_KEY_DES3);
	pcard_scp_clear(&s);
	release_static(&ks);
	tv_free(f);
}


/* ------------------------------------------------------------------------------------------ */
/* In-process sessions: host on the HSM, card on the memory provider, same masters */

static const uint8_t AID[] = { 0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00 };
static const uint8_t KDD[10] = { 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0x0A };

typedef struct duo {
	pcard_keys *mem;	/* the card's keys (and the reference for PUT KEY blocks) */
	pcard_keyh hmaster, mmaster;
	pcard_keyh hset[3], mset[3];	/* card keys derived in the HSM and in memory */
	pcard_keydiv t;
	pcard_scp h, c;
	uint32_t seq;
} duo;

static void
master_bytes(uint8_t *key, size_t len, uint8_t salt)
{
	size_t i;

	for (i = 0; i < len; i++)
		key[i] = (uint8_t)(0x30 + 7 * i + salt);
}

/* A master of type/len named label in the HSM and the same bytes in mem; card keys of KDD. */
static void
duo_keys(duo *d, const char *label, pcard_keytype type, size_t len, const char *tmpl,
    uint8_t salt)
{
	uint8_t key[32];
	pcard_keyh hm[3], mm[3];

	master_bytes(key, len, salt);
	assert_int_equal(pcard_keydiv_parse(tmpl, &d->t), PCARD_OK);
	assert_int_equal(pcard_hsm_import_secret(H, label, type, key, len, PCARD_HSM_USE_MASTER,
	    &d->hmaster), PCARD_OK);
	assert_int_equal(pcard_keys_mem_import(d->mem, NULL, type, key, len, &d->mmaster),
	    PCARD_OK);
	pcard_wipe(key, sizeof key);
	hm[0] = hm[1] = hm[2] = d->hmaster;
	mm[0] = mm[1] = mm[2] = d->mmaster;
	assert_int_equal(pcard_keydiv_derive_set(pcard_hsm_keys(H), hm, &d->t, KDD, d->hset),
	    PCARD_OK);
	assert_int_equal(pcard_keydiv_derive_set(d->mem, mm, &d->t, KDD, d->mset), PCARD_OK);
}

static void
duo_drop_keys(duo *d)
{
	pcard_keyh hm[3] = { d->hmaster, d->hmaster, d->hmaster };
	pcard_keyh mm[3] = { d->mmaster, d->mmaster, d->mmaster };

	pcard_keydiv_release_set(pcard_hsm_keys(H), hm, d->hset);
	pcard_keydiv_release_set(d->mem, mm, d->mset);
	pcard_keys_release(pcard_hsm_keys(H), d->hmaster);
	pcard_keys_release(d->mem, d->mmaster);
}

static void
duo_open(duo *d, uint8_t scp, uint8_t i, uint8_t level)
{
	uint8_t cmd[64], rsp[64];
	size_t nc, nr;
	uint32_t ns = 0;
	pcard_scp_host_params hp;
	pcard_scp_card_params cp;
	pcard_scp_keyset hks = { d->hset[0], d->hset[1], d->hset[2] };
	pcard_scp_keyset cks = { d->mset[0], d->mset[1], d->mset[2] };

	assert_true(pcard_scp_level_ok(scp, i, level));
	memset(&hp, 0, sizeof hp);
	hp.scp = scp;
	hp.scp02_i = scp == 2 ? i : 0;
	hp.aid = AID;
	hp.aid_len = sizeof AID;
	memset(&cp, 0, sizeof cp);
	cp.scp = scp;
	cp.i = i;
	cp.kvn = 0x30;
	cp.kdd = KDD;
	cp.seq = d->seq;
	cp.aid = AID;
	cp.aid_len = sizeof AID;
	pcard_scp_init(&d->h);
	pcard_scp_init(&d->c);
	assert_int_equal(pcard_scp_host_init_update(&d->h, pcard_hsm_keys(H), &hks, &hp, cmd,
	    sizeof cmd, &nc), PCARD_OK);
	assert_int_equal(pcard_scp_card_init_update(&d->c, d->mem, &cks, &cp, cmd, nc, rsp,
	    sizeof rsp, &nr, &ns), PCARD_OK);
	d->seq = ns;
	assert_int_equal(pcard_scp_host_auth(&d->h, rsp, nr), PCARD_OK);
	assert_int_equal(pcard_scp_host_ext_auth(&d->h, level, cmd, sizeof cmd, &nc), PCARD_OK);
	assert_int_equal(pcard_scp_card_ext_auth(&d->c, cmd, nc, &ns), PCARD_OK);
	d->seq = ns;
	assert_int_equal(pcard_scp_host_ext_auth_rsp(&d->h, (const uint8_t *)"\x90\x00", 2),
	    PCARD_OK);
	assert_int_equal(pcard_scp_level(&d->c), level);
}

/* n commands of growing length, host -> card -> host, with response data. */
static void
duo_exchange(duo *d, size_t n)
{
	uint8_t plain[PCARD_SCP_MAX_CMD], w[PCARD_SCP_MAX_CMD], got[PCARD_SCP_MAX_CMD];
	uint8_t rdata[64], r[PCARD_SCP_MAX_RSP], back[PCARD_SCP_MAX_RSP];
	size_t k, j, len, nw, ng, nr, nb, maxd = pcard_scp_max_data(&d->h);

	for (k = 0; k < n; k++) {
		size_t dl = (k * 37) % (maxd + 1), rl = (k * 13) % sizeof rdata;

		len = 0;
		plain[len++] = 0x80;
		plain[len++] = 0xCA;
		plain[len++] = 0x00;
		plain[len++] = (uint8_t)k;
		if (dl > 0) {
			plain[len++] = (uint8_t)dl;
			for (j = 0; j < dl; j++)
				plain[len++] = (uint8_t)(j * 3 + k);
		}
		plain[len++] = 0x00;
		assert_int_equal(pcard_scp_wrap_cmd(&d->h, plain, len, w, sizeof w, &nw), PCARD_OK);
		assert_int_equal(pcard_scp_unwrap_cmd(&d->c, w, nw, got, sizeof got, &ng),
		    PCARD_OK);
		assert_int_equal(ng, len);
		assert_memory_equal(got, plain, len);
		for (j = 0; j < rl; j++)
			rdata[j] = (uint8_t)(0xA5 ^ j ^ k);
		assert_int_equal(pcard_scp_wrap_rsp(&d->c, rdata, rl, 0x9000, r, sizeof r, &nr),
		    PCARD_OK);
		assert_int_equal(pcard_scp_unwrap_rsp(&d->h, r, nr, back, sizeof back, &nb),
		    PCARD_OK);
		assert_int_equal(nb, rl + 2);
		assert_memory_equal(back, rdata, rl);
	}
}

static void
duo_close(duo *d)
{
	pcard_scp_clear(&d->h);
	pcard_scp_clear(&d->c);
}

/* DES keys come back parity-adjusted from SoftHSM: compare the values under the DEK (the
 * memory provider decrypts) without their parity bits. */
static void
assert_des_blocks_equal(pcard_keys *mem, pcard_keyh mdek, const uint8_t *a, const uint8_t *b)
{
	uint8_t pa[16], pb[16];
	size_t i, diff = 0;

	assert_int_equal(pcard_keys_cipher(mem, mdek, PCARD_CIPHER_DES3_ECB, 0, NULL, a, 16, pa),
	    PCARD_OK);
	assert_int_equal(pcard_keys_cipher(mem, mdek, PCARD_CIPHER_DES3_ECB, 0, NULL, b, 16, pb),
	    PCARD_OK);
	for (i = 0; i < 16; i++) {
		assert_int_equal(pa[i] & 0xFE, pb[i] & 0xFE);
		diff += pa[i] != pb[i];
	}
	pcard_wipe(pa, sizeof pa);
	pcard_wipe(pb, sizeof pb);
	(void)diff;
}

/* PUT KEY of a new key set (new master, same KDD) under the session's DEK, both providers. */
static void
duo_putkey(duo *d, pcard_keytype type, size_t len, const char *label)
{
	duo nk;
	uint8_t hb[128], mb[128];
	size_t hl, ml;
	pcard_keyh hdek, mdek;
	pcard_cipher_alg ha, ma;
	pcard_putkey_expect he, me;

	memset(&nk, 0, sizeof nk);
	nk.mem = d->mem;
	duo_keys(&nk, label, type, len, type == PCARD_KEY_AES ? "kdf3" : "emv", 0x55);
	assert_int_equal(pcard_scp_dek(&d->h, &hdek, &ha), PCARD_OK);
	assert_int_equal(pcard_scp_dek(&d->c, &mdek, &ma), PCARD_OK);
	assert_int_equal(ha, ma);
	assert_int_equal(pcard_putkey_set(pcard_hsm_keys(H), hdek, 0x31, nk.hset, hb, sizeof hb,
	    &hl, &he), PCARD_OK);
	assert_int_equal(pcard_putkey_set(d->mem, mdek, 0x31, nk.mset, mb, sizeof mb, &ml, &me),
	    PCARD_OK);
	assert_int_equal(hl, ml);
	assert_memory_equal(&he, &me, sizeof he);	/* KVN and KCVs */
	if (type == PCARD_KEY_AES) {
		assert_memory_equal(hb, mb, hl);	/* byte for byte */
	} else {
		size_t off = 1, i;

		/* 80 10 <16> 03 <KCV>, three times, under the SCP02 session DEK */
		for (i = 0; i < 3; i++, off += 22) {
			assert_memory_equal(hb + off, mb + off, 2);
			assert_des_blocks_equal(d->mem, mdek, hb + off + 2, mb + off + 2);
			assert_memory_equal(hb + off + 18, mb + off + 18, 4);
		}
	}
	duo_drop_keys(&nk);
}

static void
test_inproc_scp03(void **state)
{
	static const size_t lens[] = { 16, 24, 32 };
	size_t i;

	(void)state;
	for (i = 0; i < 3; i++) {
		duo d;
		char label[32], nlabel[32];

		memset(&d, 0, sizeof d);
		assert_int_equal(pcard_keys_mem_new(64, &d.mem), PCARD_OK);
		snprintf(label, sizeof label, "in03-%zu", lens[i]);
		snprintf(nlabel, sizeof nlabel, "in03-new-%zu", lens[i]);
		duo_keys(&d, label, PCARD_KEY_AES, lens[i], "kdf3", 0);
		d.seq = 0x20;
		duo_open(&d, 3, 0x70, 0x33);
		duo_exchange(&d, 12);
		duo_putkey(&d, PCARD_KEY_AES, lens[i], nlabel);
		duo_exchange(&d, 2);
		duo_close(&d);
		/* a second session on the same card keys */
		duo_open(&d, 3, 0x70, 0x13);
		duo_exchange(&d, 3);
		duo_close(&d);
		duo_drop_keys(&d);
		pcard_keys_free(d.mem);
	}
}

static void
test_inproc_scp02(void **state)
{
	static const uint8_t is[] = { 0x35, 0x75 };
	size_t i;

	(void)state;
	for (i = 0; i < 2; i++) {
		duo d;
		char label[32], nlabel[32];

		memset(&d, 0, sizeof d);
		assert_int_equal(pcard_keys_mem_new(64, &d.mem), PCARD_OK);
		snprintf(label, sizeof label, "in02-%02x", is[i]);
		snprintf(nlabel, sizeof nlabel, "in02-new-%02x", is[i]);
		duo_keys(&d, label, PCARD_KEY_DES3, 16, "emv", 0);
		d.seq = 0x0102;
		duo_open(&d, 2, is[i], 0x13);
		duo_exchange(&d, 12);
		duo_putkey(&d, PCARD_KEY_DES3, 16, nlabel);
		duo_exchange(&d, 2);
		duo_close(&d);
		duo_drop_keys(&d);
		pcard_keys_free(d.mem);
	}
}


/* ------------------------------------------------------------------------------------------ */
/* Master keys cannot leave the HSM */

static CK_FUNCTION_LIST_PTR
p11(CK_SESSION_HANDLE *sess)
{
	unsigned long sh;
	CK_FUNCTION_LIST_PTR fl = pcard_hsm_p11(H, &sh);

	*sess = sh;
	return fl;
}

static void
assert_bool_attr(CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type, CK_BBOOL want)
{
	CK_SESSION_HANDLE sess;
	CK_FUNCTION_LIST_PTR fl = p11(&sess);
	CK_BBOOL v = 2;
	CK_ATTRIBUTE a = { type, &v, sizeof v };

	assert_int_equal(fl->C_GetAttributeValue(sess, o, &a, 1), CKR_OK);
	assert_int_equal(v, want);
}

/* CKA_VALUE cannot be read and C_WrapKey refuses the key, under wrapping key kek. Imported
 * keys (and keys derived from them) are not CKA_ALWAYS_SENSITIVE: they were once outside. */
static void
assert_unexportable(pcard_keyh k, pcard_keyh kek, int generated)
{
	CK_SESSION_HANDLE sess;
	CK_FUNCTION_LIST_PTR fl = p11(&sess);
	CK_OBJECT_HANDLE o = pcard_hsm_object(H, k), w = pcard_hsm_object(H, kek);
	uint8_t buf[64], iv[16];
	CK_ATTRIBUTE a = { CKA_VALUE, buf, sizeof buf };
	CK_MECHANISM m1 = { CKM_AES_CBC, iv, sizeof iv }, m2 = { CKM_AES_KEY_WRAP, NULL, 0 };
	CK_ULONG ol = sizeof buf;

	memset(iv, 0, sizeof iv);
	assert_true(o != 0 && w != 0);
	assert_int_equal(fl->C_GetAttributeValue(sess, o, &a, 1), CKR_ATTRIBUTE_SENSITIVE);
	assert_int_not_equal(fl->C_WrapKey(sess, &m1, w, o, buf, &ol), CKR_OK);
	ol = sizeof buf;
	assert_int_not_equal(fl->C_WrapKey(sess, &m2, w, o, buf, &ol), CKR_OK);
	assert_bool_attr(o, CKA_SENSITIVE, CK_TRUE);
	assert_bool_attr(o, CKA_EXTRACTABLE, CK_FALSE);
	/* only a key generated in the HSM has never been seen outside it */
	assert_bool_attr(o, CKA_ALWAYS_SENSITIVE, generated ? CK_TRUE : CK_FALSE);
	assert_bool_attr(o, CKA_NEVER_EXTRACTABLE, generated ? CK_TRUE : CK_FALSE);
}

static void
test_masters_protected(void **state)
{
	pcard_keys *k = pcard_hsm_keys(H);
	uint8_t key[32], out[64], kdd[10] = { 0 };
	size_t ol;
	pcard_keyh am, dm, ga, gd, gd24, card[3], dmset[3], kek;
	pcard_keydiv t;

	(void)state;
	master_bytes(key, 32, 9);
	assert_int_equal(pcard_hsm_import_secret(H, "prot-aes", PCARD_KEY_AES, key, 16,
	    PCARD_HSM_USE_MASTER, &am), PCARD_OK);
	assert_int_equal(pcard_hsm_import_secret(H, "prot-des", PCARD_KEY_DES3, key, 16,
	    PCARD_HSM_USE_MASTER, &dm), PCARD_OK);
	assert_int_equal(pcard_hsm_generate_secret(H, "prot-gen-aes", PCARD_KEY_AES, 32,
	    PCARD_HSM_USE_MASTER, &ga), PCARD_OK);
	assert_int_equal(pcard_hsm_generate_secret(H, "prot-gen-des", PCARD_KEY_DES3, 16,
	    PCARD_HSM_USE_MASTER, &gd), PCARD_OK);
	assert_int_equal(pcard_hsm_generate_secret(H, "prot-gen-des24", PCARD_KEY_DES3, 24,
	    PCARD_HSM_USE_STATIC, &gd24), PCARD_OK);
	pcard_wipe(key, sizeof key);
	/* a wrapping key the attacker could use: a derived AES key (CKA_WRAP) */
	assert_int_equal(pcard_keydiv_parse("kdf3", &t), PCARD_OK);
	assert_int_equal(pcard_keydiv_derive(k, am, &t, kdd, 3, &kek), PCARD_OK);
	assert_unexportable(am, kek, 0);
	assert_unexportable(dm, kek, 0);
	assert_unexportable(ga, kek, 1);
	assert_unexportable(gd, kek, 1);
	assert_unexportable(gd24, kek, 1);
	assert_unexportable(kek, kek, 0);	/* derived keys are no more exportable */
	/* the provider refuses to wrap a master (no twin: masters have no recipe) */
	assert_int_equal(pcard_keys_wrap(k, kek, PCARD_CIPHER_AES_CBC, am, out, sizeof out, &ol),
	    PCARD_E_KEY);
	assert_int_equal(pcard_keys_wrap(k, kek, PCARD_CIPHER_AES_CBC, ga, out, sizeof out, &ol),
	    PCARD_E_KEY);
	/* nor single-DES steps on one (their key bytes would have to come out) */
	assert_int_equal(pcard_keys_mac(k, dm, PCARD_MAC_DES_RETAIL, NULL, out, 8, out,
	    sizeof out, &ol), PCARD_E_KEY);
	assert_int_equal(pcard_keys_cipher(k, dm, PCARD_CIPHER_DES_ECB_K1, 1, NULL, out, 8, out),
	    PCARD_E_KEY);
	/* generated masters work: derive, KCV */
	{
		pcard_keyh gm[3] = { ga, ga, ga }, dms[3] = { gd, gd, gd };
		uint8_t kc[3];

		assert_int_equal(pcard_keydiv_derive_set(k, gm, &t, kdd, card), PCARD_OK);
		assert_int_equal(pcard_keydiv_parse("emv", &t), PCARD_OK);
		assert_int_equal(pcard_keydiv_derive_set(k, dms, &t, kdd, dmset), PCARD_OK);
		assert_int_equal(pcard_keys_kcv(k, ga, kc), PCARD_OK);
		assert_int_equal(pcard_keys_kcv(k, gd, kc), PCARD_OK);
		assert_int_equal(pcard_keys_kcv(k, gd24, kc), PCARD_OK);
		pcard_keydiv_release_set(k, gm, card);
		pcard_keydiv_release_set(k, dms, dmset);
	}
	pcard_keys_release(k, kek);
	/* a master found again by label after release: the same token object */
	pcard_keys_release(k, am);
	assert_int_equal(pcard_keys_find(k, "prot-aes", &am), PCARD_OK);
	assert_unexportable(am, ga, 0);
	/* release of a token key forgets it; it stays on the token */
	assert_int_equal(pcard_hsm_destroy_token_key(H, "prot-gen-des24"), PCARD_OK);
	assert_int_equal(pcard_keys_find(k, "prot-gen-des24", &gd24), PCARD_E_NOT_FOUND);
	assert_int_equal(pcard_hsm_destroy_token_key(H, "prot-gen-des24"), PCARD_E_NOT_FOUND);
}

/* ------------------------------------------------------------------------------------------ */
/* Every operation gives what the memory provider gives, on the same derived keys */

static void
test_ops_match_mem(void **state)
{
	static const pcard_cipher_alg aes_algs[] = { PCARD_CIPHER_AES_ECB, PCARD_CIPHER_AES_CBC };
	static const pcard_cipher_alg des_algs[] = { PCARD_CIPHER_DES3_ECB,
		PCARD_CIPHER_DES3_CBC, PCARD_CIPHER_DES_ECB_K1 };
	pcard_keys *k = pcard_hsm_keys(H);
	duo a, d;
	uint8_t msg[200], iv[16], x[256], y[256];
	size_t n, i, j, xl, yl;
	pcard_hsm_stats st0, st1;

	(void)state;
	for (i = 0; i < sizeof msg; i++)
		msg[i] = (uint8_t)(i * 11 + 5);
	for (i = 0; i < sizeof iv; i++)
		iv[i] = (uint8_t)(0xF0 - i);
	memset(&a, 0, sizeof a);
	memset(&d, 0, sizeof d);
	assert_int_equal(pcard_keys_mem_new(64, &a.mem), PCARD_OK);
	d.mem = a.mem;
	duo_keys(&a, "ops-aes", PCARD_KEY_AES, 32, "kdf3", 3);
	duo_keys(&d, "ops-des", PCARD_KEY_DES3, 16, "visa2", 4);
	for (n = 0; n <= 64; n += 16) {
		for (j = 0; j < 2; j++) {
			for (i = 0; i < 2; i++) {
				const uint8_t *v = aes_algs[j] == PCARD_CIPHER_AES_CBC ? iv : NULL;

				assert_int_equal(pcard_keys_cipher(k, a.hset[0], aes_algs[j],
				    (int)i, v, msg, n, x), PCARD_OK);
				assert_int_equal(pcard_keys_cipher(a.mem, a.mset[0], aes_algs[j],
				    (int)i, v, msg, n, y), PCARD_OK);
				assert_memory_equal(x, y, n);
			}
		}
		for (j = 0; j < 3; j++) {
			for (i = 0; i < 2; i++) {
				const uint8_t *v = des_algs[j] == PCARD_CIPHER_DES3_CBC ? iv : NULL;

				assert_int_equal(pcard_keys_cipher(k, d.hset[1], des_algs[j],
				    (int)i, v, msg, n, x), PCARD_OK);
				assert_int_equal(pcard_keys_cipher(d.mem, d.mset[1], des_algs[j],
				    (int)i, v, msg, n, y), PCARD_OK);
				assert_memory_equal(x, y, n);
			}
		}
	}
	/* in place */
	memcpy(x, msg, 48);
	assert_int_equal(pcard_keys_cipher(k, a.hset[1], PCARD_CIPHER_AES_CBC, 1, iv, x, 48, x),
	    PCARD_OK);
	assert_int_equal(pcard_keys_cipher(a.mem, a.mset[1], PCARD_CIPHER_AES_CBC, 1, iv, msg,
	    48, y), PCARD_OK);
	assert_memory_equal(x, y, 48);
	for (n = 0; n < sizeof msg; n += 23) {
		assert_int_equal(pcard_keys_mac(k, a.hset[2], PCARD_MAC_AES_CMAC, NULL, msg, n, x,
		    sizeof x, &xl), PCARD_OK);
		assert_int_equal(pcard_keys_mac(a.mem, a.mset[2], PCARD_MAC_AES_CMAC, NULL, msg, n,
		    y, sizeof y, &yl), PCARD_OK);
		assert_int_equal(xl, 16);
		assert_int_equal(yl, 16);
		assert_memory_equal(x, y, 16);
		for (j = 0; j < 2; j++) {
			pcard_mac_alg alg = j ? PCARD_MAC_DES_RETAIL : PCARD_MAC_DES3_CBC;

			for (i = 0; i < 2; i++) {
				const uint8_t *v = i ? iv : NULL;

				assert_int_equal(pcard_keys_mac(k, d.hset[0], alg, v, msg, n, x,
				    8, &xl), PCARD_OK);
				assert_int_equal(pcard_keys_mac(d.mem, d.mset[0], alg, v, msg, n,
				    y, 8, &yl), PCARD_OK);
				assert_int_equal(xl, 8);
				assert_memory_equal(x, y, 8);
			}
		}
		if (n > 0) {
			/* kdf_data at any counter position, any output length */
			size_t ol = 1 + n % 40;

			assert_int_equal(pcard_keys_kdf_data(k, a.hset[0], msg, n, n / 2, x, ol),
			    PCARD_OK);
			assert_int_equal(pcard_keys_kdf_data(a.mem, a.mset[0], msg, n, n / 2, y,
			    ol), PCARD_OK);
			assert_memory_equal(x, y, ol);
		}
	}
	/* AES KDF derivation with data of every length class and counter place */
	for (n = 1; n <= 64; n += 7) {
		for (j = 16; j <= 32; j += 8) {
			pcard_keyh hk, mk;
			uint8_t kh[3], km[3];

			assert_int_equal(pcard_keys_derive(k, a.hmaster, PCARD_DERIVE_AES_KDF, msg, n,
			    (n * 5) % n, PCARD_KEY_AES, j, &hk), PCARD_OK);
			assert_int_equal(pcard_keys_derive(a.mem, a.mmaster, PCARD_DERIVE_AES_KDF,
			    msg, n, (n * 5) % n, PCARD_KEY_AES, j, &mk), PCARD_OK);
			assert_int_equal(pcard_keys_kcv(k, hk, kh), PCARD_OK);
			assert_int_equal(pcard_keys_kcv(a.mem, mk, km), PCARD_OK);
			assert_memory_equal(kh, km, 3);
			pcard_keys_release(k, hk);
			pcard_keys_release(a.mem, mk);
		}
	}
	/* the single-DES key bytes are read once per key and kept: one read for many MACs */
	pcard_hsm_get_stats(H, &st0);
	for (i = 0; i < 5; i++)
		assert_int_equal(pcard_keys_mac(k, d.hset[2], PCARD_MAC_DES_RETAIL, NULL, msg, 30,
		    x, 8, &xl), PCARD_OK);
	pcard_hsm_get_stats(H, &st1);
	assert_int_equal(st1.host_key_reads - st0.host_key_reads, 1);
	duo_drop_keys(&a);
	duo_drop_keys(&d);
	pcard_keys_free(a.mem);
}


/* ------------------------------------------------------------------------------------------ */
/* Every template the layer sends, through OpenSC's pkcs11-spy */

static void
test_spy_templates(void **state)
{
	char log[400];
	pcard_hsm_params p;
	spy_report r;

	/* SoftHSM finalised first, so the spy initialises (and later finalises) it itself:
	 * the spy frees its state only in its own C_Finalize */
	pcard_hsm_close(H);
	H = NULL;
	snprintf(log, sizeof log, "%s/spy.log", dir);
	setenv("PKCS11SPY", SOFTHSM, 1);
	setenv("PKCS11SPY_OUTPUT", log, 1);
	memset(&p, 0, sizeof p);
	p.module = SPY;
	p.token_label = TOKEN "-spy";
	p.pin = PIN;
	assert_int_equal(pcard_hsm_open(&p, &H), PCARD_OK);
	/* everything the layer does, on the second token, through the spy */
	test_keydiv_vectors(state);
	test_scp03_vectors(state);
	test_scp02_vectors(state);
	test_inproc_scp03(state);
	test_inproc_scp02(state);
	test_masters_protected(state);
	test_ops_match_mem(state);
	pcard_hsm_close(H);
	p.module = NULL;
	p.token_label = TOKEN;
	assert_int_equal(pcard_hsm_open(&p, &H), PCARD_OK);
	spy_parse(log, &r);
	print_message("spy: %zu templates, %zu wrap twins, %zu readable twins, %zu CKA_VALUE "
	    "reads (of twins), %zu refused, %zu wraps (of twins), %zu masters\n", r.templates,
	    r.twin_wrap, r.twin_read, r.value_reads, r.refused_reads, r.wraps, r.masters);
	assert_true(r.templates > 100);
	assert_int_equal(r.bad, 0);
	assert_int_equal(r.bad_reads, 0);
	assert_true(r.twin_wrap > 0);	/* AES-128/256 PUT KEY blocks */
	assert_true(r.twin_read > 0);	/* AES-192 and DES PUT KEY blocks, SCP02 S-MAC/S-RMAC */
	assert_int_equal(r.value_reads, r.twin_read);
	assert_true(r.refused_reads >= 7);	/* test_masters_protected's attempts */
	assert_int_equal(r.bad_wraps, 0);
	assert_int_equal(r.master_value_reads, 0);
	assert_int_equal(r.master_wraps, 0);
	assert_true(r.masters > 0 && r.master_derives > 0);
}


/* ------------------------------------------------------------------------------------------ */
/* Signatures with token private keys */

/* Generate a key pair on the token through PKCS#11 (the provider only finds and uses it). */
static void
gen_pair(const char *label, int ec, pcard_pkey **pub)
{
	static const uint8_t p256[] = { 0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01,
		0x07 };
	CK_SESSION_HANDLE sess;
	CK_FUNCTION_LIST_PTR fl = p11(&sess);
	CK_MECHANISM m = { ec ? CKM_EC_KEY_PAIR_GEN : CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0 };
	CK_ULONG bits = 2048;
	CK_BBOOL t = CK_TRUE, f = CK_FALSE;
	uint8_t e[3] = { 1, 0, 1 }, big[600];
	CK_ATTRIBUTE pubt[4], privt[6];
	CK_ATTRIBUTE get[2];
	CK_OBJECT_HANDLE po, ko;
	CK_ULONG np = 0;

	pubt[np].type = CKA_TOKEN, pubt[np].pValue = &t, pubt[np++].ulValueLen = 1;
	pubt[np].type = CKA_VERIFY, pubt[np].pValue = &t, pubt[np++].ulValueLen = 1;
	if (ec) {
		pubt[np].type = CKA_EC_PARAMS, pubt[np].pValue = (void *)p256;
		pubt[np++].ulValueLen = sizeof p256;
	} else {
		pubt[np].type = CKA_MODULUS_BITS, pubt[np].pValue = &bits;
		pubt[np++].ulValueLen = sizeof bits;
		pubt[np].type = CKA_PUBLIC_EXPONENT, pubt[np].pValue = e;
		pubt[np++].ulValueLen = sizeof e;
	}
	privt[0].type = CKA_TOKEN, privt[0].pValue = &t, privt[0].ulValueLen = 1;
	privt[1].type = CKA_SIGN, privt[1].pValue = &t, privt[1].ulValueLen = 1;
	privt[2].type = CKA_SENSITIVE, privt[2].pValue = &t, privt[2].ulValueLen = 1;
	privt[3].type = CKA_EXTRACTABLE, privt[3].pValue = &f, privt[3].ulValueLen = 1;
	privt[4].type = CKA_PRIVATE, privt[4].pValue = &t, privt[4].ulValueLen = 1;
	privt[5].type = CKA_LABEL, privt[5].pValue = (void *)label;
	privt[5].ulValueLen = strlen(label);
	assert_int_equal(fl->C_GenerateKeyPair(sess, &m, pubt, np, privt, 6, &po, &ko), CKR_OK);
	if (ec) {
		get[0].type = CKA_EC_POINT, get[0].pValue = big, get[0].ulValueLen = sizeof big;
		assert_int_equal(fl->C_GetAttributeValue(sess, po, get, 1), CKR_OK);
		/* DER OCTET STRING 04 41 around 04 || X || Y */
		assert_int_equal(get[0].ulValueLen, 67);
		assert_int_equal(pcard_pkey_ec_from_point("P-256", big + 2, 65, pub), PCARD_OK);
	} else {
		uint8_t ex[8];

		get[0].type = CKA_MODULUS, get[0].pValue = big, get[0].ulValueLen = sizeof big;
		get[1].type = CKA_PUBLIC_EXPONENT, get[1].pValue = ex;
		get[1].ulValueLen = sizeof ex;
		assert_int_equal(fl->C_GetAttributeValue(sess, po, get, 2), CKR_OK);
		assert_int_equal(pcard_pkey_rsa_from_parts(big, get[0].ulValueLen, ex,
		    get[1].ulValueLen, pub), PCARD_OK);
	}
}

static void
test_sign(void **state)
{
	static const uint8_t msg[] = "postcard receipt";
	pcard_keys *k = pcard_hsm_keys(H);
	pcard_pkey *rpub, *epub;
	pcard_keyh rk, ek;
	pcard_keytype t;
	uint8_t sig[512];
	size_t sl, len;

	(void)state;
	gen_pair("sig-rsa", 0, &rpub);
	gen_pair("sig-ec", 1, &epub);
	assert_int_equal(pcard_keys_find(k, "sig-rsa", &rk), PCARD_OK);
	assert_int_equal(pcard_keys_find(k, "sig-ec", &ek), PCARD_OK);
	assert_int_equal(pcard_keys_info(k, rk, &t, &len), PCARD_OK);
	assert_int_equal(t, PCARD_KEY_PKEY);
	assert_int_equal(len, 256);
	assert_int_equal(pcard_keys_info(k, ek, &t, &len), PCARD_OK);
	assert_int_equal(len, 32);
	assert_int_equal(pcard_keys_sign(k, rk, PCARD_SIG_RSA_PKCS1, PCARD_HASH_SHA256, msg,
	    sizeof msg, sig, sizeof sig, &sl), PCARD_OK);
	assert_int_equal(sl, 256);
	assert_int_equal(pcard_verify(rpub, PCARD_SIG_RSA_PKCS1, PCARD_HASH_SHA256, msg,
	    sizeof msg, sig, sl), PCARD_OK);
	assert_int_equal(pcard_keys_sign(k, rk, PCARD_SIG_RSA_PKCS1, PCARD_HASH_SHA1, msg,
	    sizeof msg, sig, sizeof sig, &sl), PCARD_OK);
	assert_int_equal(pcard_verify(rpub, PCARD_SIG_RSA_PKCS1, PCARD_HASH_SHA1, msg,
	    sizeof msg, sig, sl), PCARD_OK);
	assert_int_equal(pcard_keys_sign(k, rk, PCARD_SIG_RSA_PSS, PCARD_HASH_SHA256, msg,
	    sizeof msg, sig, sizeof sig, &sl), PCARD_OK);
	assert_int_equal(pcard_verify(rpub, PCARD_SIG_RSA_PSS, PCARD_HASH_SHA256, msg,
	    sizeof msg, sig, sl), PCARD_OK);
	sig[10] ^= 1;
	assert_int_equal(pcard_verify(rpub, PCARD_SIG_RSA_PSS, PCARD_HASH_SHA256, msg,
	    sizeof msg, sig, sl), PCARD_E_VERIFY);
	assert_int_equal(pcard_keys_sign(k, ek, PCARD_SIG_ECDSA, PCARD_HASH_SHA256, msg,
	    sizeof msg, sig, sizeof sig, &sl), PCARD_OK);
	assert_int_equal(sl, 64);	/* r || s */
	assert_int_equal(pcard_verify(epub, PCARD_SIG_ECDSA, PCARD_HASH_SHA256, msg, sizeof msg,
	    sig, sl), PCARD_OK);
	/* errors */
	assert_int_equal(pcard_keys_sign(k, ek, PCARD_SIG_RSA_PKCS1, PCARD_HASH_SHA256, msg,
	    sizeof msg, sig, sizeof sig, &sl), PCARD_E_KEY);
	assert_int_equal(pcard_keys_sign(k, rk, PCARD_SIG_ECDSA, PCARD_HASH_SHA256, msg,
	    sizeof msg, sig, sizeof sig, &sl), PCARD_E_KEY);
	assert_int_equal(pcard_keys_sign(k, rk, PCARD_SIG_RSA_PKCS1, PCARD_HASH_NONE, msg,
	    sizeof msg, sig, sizeof sig, &sl), PCARD_E_UNSUPPORTED);
	assert_int_equal(pcard_keys_sign(k, rk, (pcard_sig_scheme)9, PCARD_HASH_SHA256, msg,
	    sizeof msg, sig, sizeof sig, &sl), PCARD_E_UNSUPPORTED);
	assert_int_equal(pcard_keys_sign(k, rk, PCARD_SIG_RSA_PKCS1, PCARD_HASH_SHA256, msg,
	    sizeof msg, sig, 255, &sl), PCARD_E_NOSPACE);
	assert_int_equal(pcard_keys_sign(k, ek, PCARD_SIG_ECDSA, PCARD_HASH_SHA256, msg,
	    sizeof msg, sig, 63, &sl), PCARD_E_NOSPACE);
	pcard_keys_release(k, rk);
	pcard_keys_release(k, ek);
	pcard_pkey_free(rpub);
	pcard_pkey_free(epub);
}

/* ------------------------------------------------------------------------------------------ */
/* Every error the layer returns */

static void
test_open_errors(void **state)
{
	char pinfile[400];
	pcard_hsm_params p;
	pcard_hsm *h = (pcard_hsm *)1;
	FILE *f;

	(void)state;
	memset(&p, 0, sizeof p);
	p.token_label = TOKEN;
	assert_int_equal(pcard_hsm_open(NULL, &h), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_hsm_open(&p, NULL), PCARD_E_INVALID_ARG);
	unsetenv(PCARD_HSM_PIN_ENV);
	assert_int_equal(pcard_hsm_open(&p, &h), PCARD_E_INVALID_ARG);	/* no PIN */
	assert_null(h);
	/* (on the token nobody is logged in to yet: PKCS#11 shares a login between the
	 * sessions of a process, so a second open on TOKEN would not check the PIN) */
	p.token_label = TOKEN "-spy";
	p.pin = "9999";
	assert_int_equal(pcard_hsm_open(&p, &h), PCARD_E_AUTH);
	p.pin = PIN;
	p.token_label = "no-such-token";
	assert_int_equal(pcard_hsm_open(&p, &h), PCARD_E_NOT_FOUND);
	p.token_label = NULL;
	p.slot_id = 0x7FFFFFF0;
	assert_int_equal(pcard_hsm_open(&p, &h), PCARD_E_NOT_FOUND);
	p.token_label = TOKEN;
	p.module = "/nonexistent/libpkcs11.so";
	assert_int_equal(pcard_hsm_open(&p, &h), PCARD_E_IO);
	p.module = "libc.so.6";	/* loads, but has no C_GetFunctionList */
	assert_int_equal(pcard_hsm_open(&p, &h), PCARD_E_IO);
	p.module = NULL;
	p.max_keys = 0x10000;
	assert_int_equal(pcard_hsm_open(&p, &h), PCARD_E_INVALID_ARG);
	p.max_keys = 0;
	/* the PIN from a file, then from the environment (named or default variable) */
	p.pin = NULL;
	snprintf(pinfile, sizeof pinfile, "%s/pin", dir);
	p.pin_file = pinfile;
	assert_int_equal(pcard_hsm_open(&p, &h), PCARD_E_INVALID_ARG);	/* unreadable */
	assert_non_null(f = fopen(pinfile, "w"));
	fprintf(f, "%s\n", PIN);
	fclose(f);
	assert_int_equal(pcard_hsm_open(&p, &h), PCARD_OK);
	pcard_hsm_close(h);
	p.pin_file = NULL;
	p.pin_env = "PCARD_TEST_PIN";
	setenv("PCARD_TEST_PIN", PIN, 1);
	assert_int_equal(pcard_hsm_open(&p, &h), PCARD_OK);
	pcard_hsm_close(h);
	setenv("PCARD_TEST_PIN", "", 1);
	assert_int_equal(pcard_hsm_open(&p, &h), PCARD_E_INVALID_ARG);
	p.pin_env = NULL;
	setenv(PCARD_HSM_PIN_ENV, PIN, 1);
	assert_int_equal(pcard_hsm_open(&p, &h), PCARD_OK);
	pcard_hsm_close(h);
	unsetenv(PCARD_HSM_PIN_ENV);
	pcard_hsm_close(NULL);
}

static void
test_errors(void **state)
{
	pcard_keys *k = pcard_hsm_keys(H);
	uint8_t key[32], data[80], out[64];
	size_t ol;
	pcard_keyh a, d, ad, dd, stale, x;
	pcard_hsm *small;
	pcard_hsm_params p;
	CK_SESSION_HANDLE sess;
	CK_FUNCTION_LIST_PTR fl = p11(&sess);

	(void)state;
	memset(data, 0x21, sizeof data);
	master_bytes(key, 32, 1);
	/* import / generate */
	assert_int_equal(pcard_hsm_import_secret(H, "err-aes", PCARD_KEY_AES, key, 16,
	    PCARD_HSM_USE_MASTER, &a), PCARD_OK);
	assert_int_equal(pcard_hsm_import_secret(H, "err-aes", PCARD_KEY_AES, key, 16,
	    PCARD_HSM_USE_MASTER, &x), PCARD_E_INVALID_ARG);	/* label taken */
	assert_int_equal(x, PCARD_KEYH_NONE);
	assert_int_equal(pcard_hsm_import_secret(H, "", PCARD_KEY_AES, key, 16, 0, &x),
	    PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_hsm_import_secret(H, "err-x", PCARD_KEY_AES, key, 16, 7, &x),
	    PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_hsm_import_secret(H, "err-x", PCARD_KEY_AES, NULL, 16, 0, &x),
	    PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_hsm_import_secret(H, "err-x", PCARD_KEY_AES, key, 20, 0, &x),
	    PCARD_E_KEY);
	assert_int_equal(pcard_hsm_import_secret(H, "err-x", PCARD_KEY_DES3, key, 8, 0, &x),
	    PCARD_E_KEY);
	assert_int_equal(pcard_hsm_generate_secret(H, "err-x", PCARD_KEY_PKEY, 16, 0, &x),
	    PCARD_E_KEY);
	assert_int_equal(pcard_hsm_import_secret(H, "err-des", PCARD_KEY_DES3, key, 16,
	    PCARD_HSM_USE_MASTER, &d), PCARD_OK);
	pcard_wipe(key, sizeof key);
	/* find */
	assert_int_equal(pcard_keys_find(k, "err-none", &x), PCARD_E_NOT_FOUND);
	assert_int_equal(pcard_keys_find(k, "", &x), PCARD_E_INVALID_ARG);
	{
		/* two token objects with one label: refused, a label names one key */
		CK_OBJECT_CLASS cls = CKO_DATA;
		CK_BBOOL t = CK_TRUE;
		CK_ATTRIBUTE dt[3] = {
			{ CKA_CLASS, &cls, sizeof cls },
			{ CKA_TOKEN, &t, 1 },
			{ CKA_LABEL, (void *)"err-aes", 7 },
		};
		CK_OBJECT_HANDLE o;

		assert_int_equal(fl->C_CreateObject(sess, dt, 3, &o), CKR_OK);
		pcard_keys_release(k, a);
		assert_int_equal(pcard_keys_find(k, "err-aes", &x), PCARD_E_KEY);
		assert_int_equal(fl->C_DestroyObject(sess, o), CKR_OK);
		dt[2].pValue = (void *)"err-data";
		dt[2].ulValueLen = 8;
		assert_int_equal(fl->C_CreateObject(sess, dt, 3, &o), CKR_OK);
		assert_int_equal(pcard_keys_find(k, "err-data", &x), PCARD_E_KEY);	/* no key */
		assert_int_equal(pcard_keys_find(k, "err-aes", &a), PCARD_OK);
	}
	assert_int_equal(pcard_hsm_destroy_token_key(H, "err-none"), PCARD_E_NOT_FOUND);
	assert_int_equal(pcard_hsm_destroy_token_key(H, ""), PCARD_E_INVALID_ARG);
	/* derive */
	assert_int_equal(pcard_keys_derive(k, a, PCARD_DERIVE_AES_KDF, data, 32, 15,
	    PCARD_KEY_AES, 16, &ad), PCARD_OK);
	assert_int_equal(pcard_keys_derive(k, d, PCARD_DERIVE_DES3_ECB, data, 16, 0,
	    PCARD_KEY_DES3, 16, &dd), PCARD_OK);
	assert_int_equal(pcard_keys_derive(k, a, PCARD_DERIVE_AES_KDF, data, 16, 0,
	    PCARD_KEY_AES, 16, &stale), PCARD_OK);
	pcard_keys_release(k, stale);
	assert_int_equal(pcard_keys_derive(k, stale, PCARD_DERIVE_AES_KDF, data, 16, 0,
	    PCARD_KEY_AES, 16, &x), PCARD_E_KEY);
	assert_int_equal(pcard_keys_derive(k, a, PCARD_DERIVE_DES3_ECB, data, 16, 0,
	    PCARD_KEY_DES3, 16, &x), PCARD_E_KEY);
	assert_int_equal(pcard_keys_derive(k, d, PCARD_DERIVE_AES_KDF, data, 16, 0,
	    PCARD_KEY_AES, 16, &x), PCARD_E_KEY);
	assert_int_equal(pcard_keys_derive(k, d, PCARD_DERIVE_DES3_ECB, data, 8, 0,
	    PCARD_KEY_DES3, 8, &x), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_keys_derive(k, d, PCARD_DERIVE_DES3_CBC, data, 24, 0,
	    PCARD_KEY_DES3, 24, &x), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_keys_derive(k, a, PCARD_DERIVE_AES_KDF, data, 16, 0,
	    PCARD_KEY_AES, 20, &x), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_keys_derive(k, a, PCARD_DERIVE_AES_KDF, data, 16, 16,
	    PCARD_KEY_AES, 16, &x), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_keys_derive(k, a, PCARD_DERIVE_AES_KDF, data, 65, 0,
	    PCARD_KEY_AES, 16, &x), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_keys_derive(k, a, (pcard_derive_mech)77, data, 16, 0,
	    PCARD_KEY_AES, 16, &x), PCARD_E_UNSUPPORTED);
	/* kdf_data */
	assert_int_equal(pcard_keys_kdf_data(k, d, data, 16, 0, out, 16), PCARD_E_KEY);
	assert_int_equal(pcard_keys_kdf_data(k, ad, data, 0, 0, out, 16), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_keys_kdf_data(k, ad, data, 16, 16, out, 16),
	    PCARD_E_INVALID_ARG);
	/* mac */
	assert_int_equal(pcard_keys_mac(k, ad, PCARD_MAC_AES_CMAC, data, data, 16, out,
	    sizeof out, &ol), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_keys_mac(k, ad, PCARD_MAC_AES_CMAC, NULL, data, 16, out, 15,
	    &ol), PCARD_E_NOSPACE);
	assert_int_equal(pcard_keys_mac(k, dd, PCARD_MAC_DES3_CBC, NULL, data, 16, out, 7,
	    &ol), PCARD_E_NOSPACE);
	assert_int_equal(pcard_keys_mac(k, ad, PCARD_MAC_DES3_CBC, NULL, data, 16, out, 8,
	    &ol), PCARD_E_KEY);
	assert_int_equal(pcard_keys_mac(k, dd, PCARD_MAC_AES_CMAC, NULL, data, 16, out, 16,
	    &ol), PCARD_E_KEY);
	assert_int_equal(pcard_keys_mac(k, dd, (pcard_mac_alg)9, NULL, data, 16, out, 16, &ol),
	    PCARD_E_UNSUPPORTED);
	/* cipher */
	assert_int_equal(pcard_keys_cipher(k, ad, PCARD_CIPHER_AES_ECB, 1, NULL, data, 15, out),
	    PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_keys_cipher(k, ad, PCARD_CIPHER_DES3_ECB, 1, NULL, data, 8, out),
	    PCARD_E_KEY);
	assert_int_equal(pcard_keys_cipher(k, ad, (pcard_cipher_alg)42, 1, NULL, data, 16, out),
	    PCARD_E_UNSUPPORTED);
	/* the master 3DES key may derive but not encrypt */
	assert_int_equal(pcard_keys_cipher(k, d, PCARD_CIPHER_DES3_ECB, 1, NULL, data, 8, out),
	    PCARD_E_KEY);
	/* wrap */
	assert_int_equal(pcard_keys_wrap(k, ad, PCARD_CIPHER_AES_CBC, ad, out, 15, &ol),
	    PCARD_E_NOSPACE);
	assert_int_equal(pcard_keys_wrap(k, ad, PCARD_CIPHER_AES_ECB, ad, out, sizeof out, &ol),
	    PCARD_E_UNSUPPORTED);
	assert_int_equal(pcard_keys_wrap(k, ad, PCARD_CIPHER_AES_CBC, dd, out, sizeof out, &ol),
	    PCARD_E_KEY);
	assert_int_equal(pcard_keys_wrap(k, ad, PCARD_CIPHER_AES_CBC, ad, out, sizeof out, &ol),
	    PCARD_OK);
	assert_int_equal(ol, 16);
	assert_int_equal(pcard_keys_wrap(k, dd, PCARD_CIPHER_DES3_ECB, d, out, sizeof out, &ol),
	    PCARD_E_KEY);
	/* a key whose base is gone has no twin */
	assert_int_equal(pcard_keys_derive(k, ad, PCARD_DERIVE_AES_KDF, data, 16, 0,
	    PCARD_KEY_AES, 16, &x), PCARD_OK);
	pcard_keys_release(k, ad);
	assert_int_equal(pcard_keys_wrap(k, x, PCARD_CIPHER_AES_CBC, x, out, sizeof out, &ol),
	    PCARD_E_KEY);
	pcard_keys_release(k, x);
	/* kcv, info */
	assert_int_equal(pcard_keys_kcv(k, stale, out), PCARD_E_KEY);
	assert_int_equal(pcard_keys_info(k, stale, (pcard_keytype *)data, &ol), PCARD_E_KEY);
	assert_int_equal(pcard_keys_sign(k, a, PCARD_SIG_ECDSA, PCARD_HASH_SHA256, data, 16, out,
	    sizeof out, &ol), PCARD_E_KEY);
	pcard_keys_release(k, dd);
	/* a full key table */
	memset(&p, 0, sizeof p);
	p.token_label = TOKEN;
	p.pin = PIN;
	p.max_keys = 2;
	assert_int_equal(pcard_hsm_open(&p, &small), PCARD_OK);
	k = pcard_hsm_keys(small);
	assert_int_equal(pcard_keys_find(k, "err-aes", &a), PCARD_OK);
	assert_int_equal(pcard_keys_derive(k, a, PCARD_DERIVE_AES_KDF, data, 16, 0,
	    PCARD_KEY_AES, 16, &ad), PCARD_OK);
	assert_int_equal(pcard_keys_derive(k, a, PCARD_DERIVE_AES_KDF, data, 16, 0,
	    PCARD_KEY_AES, 16, &x), PCARD_E_NOSPACE);
	assert_int_equal(pcard_keys_find(k, "err-des", &x), PCARD_E_NOSPACE);
	/* pcard_keys_free forgets every key but leaves the HSM open */
	pcard_keys_free(k);
	assert_int_equal(pcard_keys_kcv(k, a, out), PCARD_E_KEY);
	assert_int_equal(pcard_keys_find(k, "err-des", &x), PCARD_OK);
	pcard_hsm_close(small);
}

/* The call counter counts (bench_hsm relies on it). */
static void
test_stats(void **state)
{
	pcard_keys *k = pcard_hsm_keys(H);
	pcard_hsm_stats st;
	pcard_keyh a, x;
	uint8_t data[16] = { 0 }, out[16];
	size_t ol;

	(void)state;
	/* a fresh slot for the master: its L = AES_K(0) not yet cached */
	assert_int_equal(pcard_keys_find(k, "err-aes", &a), PCARD_OK);
	pcard_keys_release(k, a);
	assert_int_equal(pcard_keys_find(k, "err-aes", &a), PCARD_OK);
	pcard_hsm_reset_stats(H);
	assert_int_equal(pcard_keys_derive(k, a, PCARD_DERIVE_AES_KDF, data, 16, 0,
	    PCARD_KEY_AES, 16, &x), PCARD_OK);
	assert_int_equal(pcard_keys_mac(k, x, PCARD_MAC_AES_CMAC, NULL, data, 16, out,
	    sizeof out, &ol), PCARD_OK);
	pcard_keys_release(k, x);
	pcard_hsm_get_stats(H, &st);
	/* L (2 calls), C_DeriveKey (1), CMAC (2), C_DestroyObject (1) */
	assert_int_equal(st.derive, 1);
	assert_int_equal(st.sign, 2);
	assert_int_equal(st.crypt, 2);
	assert_int_equal(st.destroy, 1);
	assert_int_equal(st.calls, 6);
	assert_int_equal(st.host_key_reads, 0);
	/* a second derivation from the same master reuses L: 1 call */
	pcard_hsm_reset_stats(H);
	assert_int_equal(pcard_keys_derive(k, a, PCARD_DERIVE_AES_KDF, data, 16, 0,
	    PCARD_KEY_AES, 16, &x), PCARD_OK);
	pcard_hsm_get_stats(H, &st);
	assert_int_equal(st.calls, 1);
	pcard_keys_release(k, x);
	pcard_keys_release(k, a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keydiv_vectors),
		cmocka_unit_test(test_scp03_vectors),
		cmocka_unit_test(test_scp02_vectors),
		cmocka_unit_test(test_inproc_scp03),
		cmocka_unit_test(test_inproc_scp02),
		cmocka_unit_test(test_masters_protected),
		cmocka_unit_test(test_ops_match_mem),
		cmocka_unit_test(test_sign),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_stats),
		cmocka_unit_test(test_spy_templates),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
