/*
 * fuzz_natives.c: postcard-sim's native applets (datastore, purse, hotp) fed arbitrary bytes
 * through the real card manager in-process: their STORE DATA message parsers (plain, and
 * encrypted by the host so that the card decrypts to the fuzzed plain text), their command
 * parsers, and their persistent data-blob parsers (a blob taken from the input, as a corrupt
 * or hand-edited card file would hold it). After the sequence the card's state goes through
 * the `postcard-sim dump` path (pcard_cardstate_json + pcard_native_json_redact). The shared
 * helpers of natives.h are also called directly. Persistence is off.
 *
 * Input:
 *
 *   mode (1)        b1b0 applet: 0 datastore, 1 purse, 2 hotp, 3 datastore
 *                   b2 the instance holds Card Lock; b3 SCP02 card (i=55), else SCP03 i=70
 *                   b4 an initial data blob follows
 *   [bloblen (2, big-endian, at most 1024) blob data_version (4)]     when b4
 *   records: op (1) len (1) bytes (len); the input ends at a record that does not fit
 *     op & 7 = 0  STORE DATA through the ISD: INSTALL [for personalization] for the instance
 *                 once per session, then STORE DATA P1 = bytes[0] | 80 (last block), data =
 *                 bytes[1..]; when P1 b7b6 = 11 and op b3 is clear the host pads and
 *                 encrypts the data with the session DEK first (else it goes as given)
 *              1  STORE DATA sent to the selected instance under a session of its SD (as 0)
 *              2  bytes as a plain command to the selected instance
 *              3  bytes as a command wrapped by a session of the instance's SD
 *              4  power cycle (op b3 set) or warm reset of the card
 *              5, 6, 7  direct calls: pcard_native_store_msg(bytes[0], bytes[1..]) and
 *                 pcard_native_public_len over bytes for each applet's package
 *   Sessions are opened at level 03 (C-MAC + C-DEC), or 33 when op b4 is set and the SCP
 *   offers R-MAC/R-ENC.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../tests/card_host.h"
#include "cardstate.h"
#include "natives.h"
#include "postcard/bytes.h"
#include "postcard/crypto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_BLOB_MAX 1024

enum fz_where { FZ_NONE, FZ_ISD, FZ_ISD_SC, FZ_APP, FZ_APP_SC };

typedef struct fz {
	ch_host h;
	const pcard_applet_ops *ops;
	pcard_aid isd;
	uint8_t scp;
	int where;
	int perso_sent;		/* INSTALL [for personalization] accepted in this session */
} fz;

static const pcard_applet_ops *
pick(uint8_t mode)
{
	switch (mode & 3) {
	case 1: return &pcard_applet_purse;
	case 2: return &pcard_applet_hotp;
	default: return &pcard_applet_datastore;
	}
}

static void
select_aid(fz *f, const pcard_aid *a)
{
	uint8_t cmd[32];
	size_t n;

	f->h.open = 0;
	f->perso_sent = 0;
	if (pcard_gp_select_cmd(a->b, a->len, cmd, sizeof cmd, &n) == PCARD_OK)
		(void)ch_raw(&f->h, cmd, n);
}

/* A wrapped command; a session the host or the card dropped is marked closed. */
static void
sec(fz *f, const uint8_t *cmd, size_t n)
{
	uint16_t sw = ch_sec(&f->h, cmd, n);

	if (sw < 3 || sw == 0x6982 || sw == 0x6988 ||
	    pcard_scp_state_of(&f->h.scp) != PCARD_SCP_OPEN) {
		f->h.open = 0;
		f->perso_sent = 0;
		f->where = FZ_NONE;
	}
}

/* Bring the card to `want` (ISD or instance selected, with or without a session). */
static int
go(fz *f, int want, uint8_t level)
{
	int app = want == FZ_APP || want == FZ_APP_SC;
	int sc = want == FZ_ISD_SC || want == FZ_APP_SC;

	if (f->where == want && (!sc || f->h.open))
		return 0;
	if (f->where == FZ_NONE || (app != (f->where == FZ_APP || f->where == FZ_APP_SC)) ||
	    (!sc && f->h.open)) {
		select_aid(f, app ? &f->ops->modules[0] : &f->isd);
		f->where = app ? FZ_APP : FZ_ISD;
		if (f->h.sw != 0x9000)
			return -1;
	}
	if (sc && !f->h.open) {
		f->perso_sent = 0;
		if (ch_open(&f->h, 0, level, f->scp == 2 ? 0x55 : 0) != 0x9000)
			return -1;
	}
	f->where = want;
	return 0;
}

/* STORE DATA (last block) with data as given or padded and encrypted under the DEK. */
static void
store(fz *f, uint8_t p1, const uint8_t *msg, size_t n, int encrypt)
{
	uint8_t buf[256], cmd[300];
	size_t dn = n, len;

	if (n > 240)
		return;
	memcpy(buf, msg, n);
	if (encrypt) {
		pcard_keyh dek;
		pcard_cipher_alg alg;
		size_t blk;

		if (pcard_scp_dek(&f->h.scp, &dek, &alg) != PCARD_OK)
			goto out;
		blk = alg == PCARD_CIPHER_AES_CBC || alg == PCARD_CIPHER_AES_ECB ? 16 : 8;
		if (pcard_pad_iso(msg, n, blk, buf, sizeof buf, &dn) != PCARD_OK ||
		    pcard_keys_cipher(f->h.keys, dek, alg, 1, NULL, buf, dn, buf) != PCARD_OK)
			goto out;
	}
	if (pcard_gp_store_data_cmd((uint8_t)(p1 | PCARD_SD_LAST), 0, buf, dn, cmd, sizeof cmd,
	    &len) == PCARD_OK)
		sec(f, cmd, len);
out:
	pcard_wipe(buf, sizeof buf);
}

static void
perso(fz *f)
{
	uint8_t cmd[40];
	const pcard_aid *a = &f->ops->modules[0];
	size_t n = 0;

	if (f->perso_sent)
		return;
	cmd[n++] = 0x80;
	cmd[n++] = 0xE6;
	cmd[n++] = 0x20;
	cmd[n++] = 0x00;
	cmd[n++] = (uint8_t)(a->len + 6);	/* Lc: 00 00 len AID 00 00 00 */
	cmd[n++] = 0x00;
	cmd[n++] = 0x00;
	cmd[n++] = (uint8_t)a->len;
	memcpy(cmd + n, a->b, a->len);
	n += a->len;
	cmd[n++] = 0x00;
	cmd[n++] = 0x00;
	cmd[n++] = 0x00;
	f->perso_sent = ch_sec(&f->h, cmd, n) == 0x9000;
	if (!f->perso_sent)
		f->where = FZ_NONE;	/* start over with a new session */
}

static void
direct(const uint8_t *b, size_t n)
{
	static const pcard_applet_ops *const all[] = {
		&pcard_applet_datastore, &pcard_applet_purse, &pcard_applet_hotp,
	};
	pcard_rd msg;
	int enc;
	pcard_aid elf;

	if (n == 0)
		return;
	if (pcard_native_store_msg(b[0], b + 1, n - 1, &msg, &enc) == PCARD_NSW_OK &&
	    (pcard_rd_left(&msg) == 0 || pcard_rd_left(&msg) > n - 1))
		abort();	/* a message is never empty and never longer than the data */
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
		memset(&elf, 0, sizeof elf);
		if (pcard_aid_set(&elf, all[i]->package, all[i]->package_len) != PCARD_OK)
			abort();
		if (pcard_native_public_len(&elf, b, n) > n)
			abort();
	}
}

/* The `postcard-sim dump --json` path over the card's state. */
static void
dump(const pcard_cardstate *cs)
{
	json_t *root = NULL;

	if (pcard_cardstate_json(cs, &root) != PCARD_OK)
		abort();
	if (pcard_native_json_redact(cs, root) != PCARD_OK)
		abort();
	for (size_t i = 0; i < cs->napps; i++) {
		const pcard_card_app *a = &cs->apps[i];

		if (!a->is_sd && pcard_native_public_len(&a->elf, a->data, a->data_len) >
		    a->data_len)
			abort();
	}
	json_decref(root);
}

static int
setup(fz *f, uint8_t mode, const uint8_t *blob, size_t bloblen, int have_blob, uint32_t ver,
    pcard_cardstate *cs)
{
	pcard_cardstate_opts o;
	pcard_card_elf elf;
	pcard_card_app app;
	uint8_t atr[40];
	size_t n;
	int rc = -1;

	memset(&o, 0, sizeof o);
	o.scp = f->scp;
	memset(&app, 0, sizeof app);
	if (pcard_cardstate_default(cs, &o) != PCARD_OK)
		return -1;
	f->isd = cs->isd.aid;
	memset(&elf, 0, sizeof elf);
	if (pcard_aid_set(&elf.aid, f->ops->package, f->ops->package_len) != PCARD_OK)
		goto out;
	elf.major = f->ops->pkg_major;
	elf.minor = f->ops->pkg_minor;
	elf.sd = cs->isd.aid;
	elf.size = 1000;
	elf.nmodules = 1;
	elf.modules[0] = f->ops->modules[0];
	if (pcard_cardstate_elf_add(cs, &elf) != PCARD_OK)
		goto out;
	app.aid = f->ops->modules[0];
	app.life_cycle = PCARD_APP_SELECTABLE;
	app.priv[0] = (mode & 4) ? PCARD_PRIV1_CARD_LOCK : 0;
	app.elf = elf.aid;
	app.module = f->ops->modules[0];
	app.sd = cs->isd.aid;
	if (have_blob) {
		if (pcard_card_app_set_data(&app, blob, bloblen) != PCARD_OK)
			goto out;
		app.data_version = ver;
	}
	if (pcard_cardstate_app_add(cs, &app) != PCARD_OK ||
	    pcard_card_open_state(cs, NULL, NULL, &f->h.card) != PCARD_OK)
		goto out;
	(void)pcard_card_power_on(f->h.card, atr, sizeof atr, &n);
	pcard_scp_init(&f->h.scp);
	if (ch_keys(&f->h, f->scp == 3 ? PCARD_KEY_AES : PCARD_KEY_DES3, ch_test_key, 16) != 0)
		goto out;
	rc = 0;
out:
	pcard_card_app_clear(&app);
	return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pcard_cardstate cs;
	pcard_rd r;
	fz f;
	uint8_t mode;
	const uint8_t *blob = NULL;
	size_t bloblen = 0;
	uint32_t ver = 0;

	pcard_rd_init(&r, data, size);
	if (pcard_rd_u8(&r, &mode) != PCARD_OK)
		return 0;
	if (mode & 0x10) {
		uint16_t bl;

		if (pcard_rd_u16(&r, &bl) != PCARD_OK || bl > FZ_BLOB_MAX ||
		    pcard_rd_view(&r, bl, &blob) != PCARD_OK || pcard_rd_u32(&r, &ver) != PCARD_OK)
			return 0;
		bloblen = bl;
	}
	memset(&f, 0, sizeof f);
	f.ops = pick(mode);
	f.scp = (mode & 8) ? 2 : 3;
	pcard_cardstate_init(&cs);
	if (setup(&f, mode, blob, bloblen, (mode & 0x10) != 0, ver, &cs) != 0)
		goto out;
	for (;;) {
		uint8_t op, len;
		const uint8_t *b;
		uint8_t level = 0x03;

		if (pcard_rd_u8(&r, &op) != PCARD_OK || pcard_rd_u8(&r, &len) != PCARD_OK ||
		    pcard_rd_view(&r, len, &b) != PCARD_OK)
			break;
		/* R-MAC + R-ENC: SCP03 i=70 offers it; SCP02 i=55 has no R-MAC */
		if ((op & 0x10) && f.scp == 3)
			level = 0x33;
		switch (op & 7) {
		case 0:
		case 1:
			if (len == 0 ||
			    go(&f, (op & 7) == 0 ? FZ_ISD_SC : FZ_APP_SC, level) != 0)
				break;
			if ((op & 7) == 0) {
				perso(&f);
				if (!f.perso_sent)
					break;
			}
			store(&f, (uint8_t)(b[0] & 0x7F), b + 1, len - 1U,
			    (b[0] & 0x60) == 0x60 && !(op & 8));
			break;
		case 2:
			if (go(&f, FZ_APP, level) == 0 && len > 0)
				(void)ch_raw(&f.h, b, len);
			break;
		case 3:
			if (go(&f, FZ_APP_SC, level) == 0 && len > 0)
				sec(&f, b, len);
			break;
		case 4:
			if (op & 8) {
				uint8_t atr[40];
				size_t n;

				pcard_card_power_off(f.h.card);
				(void)pcard_card_power_on(f.h.card, atr, sizeof atr, &n);
			} else {
				pcard_card_reset(f.h.card);
			}
			f.h.open = 0;
			f.perso_sent = 0;
			f.where = FZ_NONE;
			break;
		default:
			direct(b, len);
			break;
		}
	}
	dump(pcard_card_state(f.h.card));
out:
	ch_clear(&f.h);
	pcard_card_free(f.h.card);
	pcard_cardstate_clear(&cs);
	return 0;
}
