/*
 * sim_main_init.c: `postcard-sim init CARD-FILE ...`: a new card file (cardstate.h defaults
 * with the options given), written atomically; an existing file is replaced only with --force.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cardfile.h"
#include "cardstate.h"
#include "postcard/bytes.h"
#include "postcard/crypto.h"
#include "postcard/keydiv.h"
#include "postcard/keys.h"
#include "sim_main_int.h"

#define CMD "init"
#define KEY_FILE_MAX 4096

static const uint8_t gp_test_key[16] = {
	0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47,
	0x48, 0x49, 0x4A, 0x4B, 0x4C, 0x4D, 0x4E, 0x4F,
};

static void
help(void)
{
	printf(
	    "usage: " SIM_PROG " init CARD-FILE [--scp 02|03] [--i HEX] [--key HEX | --key-file F]\n"
	    "           [--isd AID] [--life-cycle NAME] [--memory BYTES] [--auth-limit N]\n"
	    "           [--putkey-replaces-ff] [--serial HEX] [--force]\n"
	    "\n"
	    "Create a new simulated card in CARD-FILE: an Issuer Security Domain with key set FF\n"
	    "(ENC = MAC = DEK = the key), the Java Card 3.0.5 API packages in ROM, and the\n"
	    "identity of docs/card-file.md.\n"
	    "\n"
	    "  --scp 02|03           secure channel protocol (default 03)\n"
	    "  --i HEX               SCP option i (default 70 for SCP03, 55 for SCP02;\n"
	    "                        SCP02 also 15, 35, 75)\n"
	    "  --key HEX             the ISD key: 16, 24 or 32 bytes for SCP03, 16 or 24 for\n"
	    "                        SCP02 (default the GlobalPlatform test key 404142..4F)\n"
	    "  --key-file F          read the key as hex from file F\n"
	    "  --isd AID             ISD AID, 5 to 16 bytes (default A000000151000000)\n"
	    "  --life-cycle NAME     OP_READY, INITIALIZED, SECURED (default), CARD_LOCKED or\n"
	    "                        TERMINATED\n"
	    "  --memory BYTES        non-volatile memory size (default 262144)\n"
	    "  --auth-limit N        failed authentications before a key set blocks (default 10)\n"
	    "  --putkey-replaces-ff  the first PUT KEY that adds a key set deletes key set FF\n"
	    "  --master HEX          diversify instead: the ISD gets key set --kvn (not FF) with\n"
	    "                        ENC, MAC, DEK derived from this master key and the card's\n"
	    "                        KDD with --kdf (AES master for SCP03, 3DES for SCP02)\n"
	    "  --master-file F       read the master key as hex from file F\n"
	    "  --kdf NAME            emv, visa2, visa, kdf3, none or a template (keydiv.h)\n"
	    "  --kvn HEX             key version of that set, 01..7F (default 01)\n"
	    "  --serial HEX          IC serial number, 4 bytes (default 00000001): in the CPLC\n"
	    "                        (so in postcardd's card id), the KDD and the CIN, so that\n"
	    "                        several cards are told apart\n"
	    "  --force               replace CARD-FILE if it exists\n"
	    "\n"
	    "An existing CARD-FILE is never replaced without --force (exit 2). Using the\n"
	    "well-known test key prints a warning.\n"
	    "\n"
	    "Matching a postcardd key profile (docs/keys.md): a profile {master, template,\n"
	    "kvn} serves this card when it was made with --master (the same value as the\n"
	    "HSM's master) --kdf TEMPLATE --kvn KVN; the demo profiles demo-scp03 (kdf3) and\n"
	    "demo-scp02 (emv), kvn 01, use the public demo master 404142..4F. A card made\n"
	    "with --key only matches a profile with template none and kvn FF whose master\n"
	    "was imported with pcard-hsm-import --static.\n"
	    "\n"
	    "Examples:\n"
	    "  " SIM_PROG " init card.pcsim\n"
	    "  " SIM_PROG " init scp02.pcsim --scp 02 --i 15\n"
	    "  " SIM_PROG " init card.pcsim --force --key-file isd.key --memory 65536 --auth-limit 3\n"
	    "  " SIM_PROG " init demo3.pcsim --master 404142434445464748494A4B4C4D4E4F --kdf kdf3\n"
	    "  " SIM_PROG " init demo2.pcsim --scp 02 --i 75 --master-file m.hex --kdf emv\n");
}

static int
parse_life_cycle(const char *s, uint8_t *lc)
{
	static const struct {
		const char *name;
		uint8_t v;
	} t[] = {
		{ "OP_READY", PCARD_CARD_OP_READY }, { "INITIALIZED", PCARD_CARD_INITIALIZED },
		{ "SECURED", PCARD_CARD_SECURED }, { "CARD_LOCKED", PCARD_CARD_LOCKED },
		{ "LOCKED", PCARD_CARD_LOCKED }, { "TERMINATED", PCARD_CARD_TERMINATED },
	};

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		if (strcasecmp(s, t[i].name) == 0) {
			*lc = t[i].v;
			return 0;
		}
	return -1;
}

/*
 * Replace the ISD's key set FF by set kvn holding ENC, MAC, DEK derived from master and the
 * card's KDD with template kdf: what a postcardd key profile {master, kdf, kvn} derives in its
 * HSM for this card. The bytes are computed with the template's derivation data
 * (pcard_keydiv_data) over the memory provider, and each is checked against
 * pcard_keydiv_derive's key by KCV. kcv[k] receives key k+1's KCV.
 * @retval PCARD_E_BAD_ENCODING kdf is no template
 * @retval PCARD_E_INVALID_ARG template or master length not for this card's SCP
 * @retval PCARD_E_VERIFY the two derivations differ (a bug)
 */
static pcard_err
diversified_set(pcard_cardstate *cs, const char *kdf, const uint8_t *master, size_t mlen,
    uint8_t kvn, uint8_t kcv[3][PCARD_KCV_BYTES])
{
	int aes = cs->isd.sd_info.scp == 3;
	pcard_keytype kt = aes ? PCARD_KEY_AES : PCARD_KEY_DES3;
	pcard_keys *k = NULL;
	pcard_keydiv t;
	pcard_keyh mh = PCARD_KEYH_NONE, dh = PCARD_KEYH_NONE, ch = PCARD_KEYH_NONE;
	pcard_card_keyset *ks = NULL;
	uint8_t data[PCARD_KEYDIV_MAX_DATA], other[PCARD_KCV_BYTES];
	size_t dlen = 0;
	pcard_err err = PCARD_E_INTERNAL;

	if ((err = pcard_keydiv_parse(kdf, &t)) != PCARD_OK)
		return PCARD_E_BAD_ENCODING;
	if (cs->kdd_len != PCARD_KEYDIV_KDD_BYTES || kvn == 0 || kvn > 0x7F ||
	    (aes && t.kind == PCARD_KEYDIV_DES3_ECB) || (!aes && t.kind == PCARD_KEYDIV_AES_KDF) ||
	    (aes && mlen != 16 && mlen != 24 && mlen != 32) ||
	    (!aes && mlen != 16 && mlen != 24))
		return PCARD_E_INVALID_ARG;
	if ((ks = calloc(1, sizeof *ks)) == NULL)
		return PCARD_E_NOMEM;
	if ((err = pcard_keys_mem_new(8, &k)) != PCARD_OK ||
	    (err = pcard_keys_mem_import(k, NULL, kt, master, mlen, &mh)) != PCARD_OK)
		goto out;
	ks->kvn = kvn;
	ks->nkeys = 3;
	for (uint8_t no = 1; no <= 3; no++) {
		pcard_card_key *key = &ks->keys[no - 1];

		key->id = no;
		key->type = aes ? PCARD_KEYTYPE_AES : PCARD_KEYTYPE_DES3;
		if (t.kind != PCARD_KEYDIV_NONE &&
		    (err = pcard_keydiv_data(&t, cs->kdd, no, data, sizeof data, &dlen)) != PCARD_OK)
			goto out;
		switch (t.kind) {
		case PCARD_KEYDIV_NONE:
			memcpy(key->value, master, mlen);
			key->len = (uint16_t)mlen;
			break;
		case PCARD_KEYDIV_DES3_ECB:	/* card key = 3DES-ECB(master, data) */
			if (dlen > sizeof key->value) {
				err = PCARD_E_INVALID_ARG;
				goto out;
			}
			if ((err = pcard_keys_cipher(k, mh, PCARD_CIPHER_DES3_ECB, 1, NULL, data, dlen,
			    key->value)) != PCARD_OK)
				goto out;
			key->len = (uint16_t)dlen;
			break;
		default:	/* AES KDF: as long as the master */
			if ((err = pcard_keys_kdf_data(k, mh, data, dlen, t.counter_pos, key->value,
			    mlen)) != PCARD_OK)
				goto out;
			key->len = (uint16_t)mlen;
			break;
		}
		/* the provider's own derivation of this key must have the same KCV */
		if ((err = pcard_keydiv_derive(k, mh, &t, cs->kdd, no, &dh)) != PCARD_OK ||
		    (err = pcard_keys_kcv(k, dh, kcv[no - 1])) != PCARD_OK ||
		    (err = pcard_keys_mem_import(k, NULL, kt, key->value, key->len, &ch)) !=
		    PCARD_OK ||
		    (err = pcard_keys_kcv(k, ch, other)) != PCARD_OK)
			goto out;
		pcard_keydiv_release(k, mh, dh);
		pcard_keys_release(k, ch);
		dh = ch = PCARD_KEYH_NONE;
		if (!pcard_ct_eq(kcv[no - 1], other, PCARD_KCV_BYTES)) {
			err = PCARD_E_VERIFY;
			goto out;
		}
	}
	if ((err = pcard_card_sd_keyset_remove(&cs->isd, 0xFF)) != PCARD_OK ||
	    (err = pcard_card_sd_keyset_put(&cs->isd, ks)) != PCARD_OK)
		goto out;
	err = PCARD_OK;
out:
	if (dh != PCARD_KEYH_NONE)
		pcard_keydiv_release(k, mh, dh);
	pcard_keys_free(k);	/* wipes every key it held */
	pcard_wipe(data, sizeof data);
	if (ks != NULL) {
		pcard_wipe(ks, sizeof *ks);
		free(ks);
	}
	return err;
}

/* The IC serial number of the card's identity: CPLC bytes 12-15 (GP CS Table H-1), the KDD's
 * bytes 4-7 and the CIN's last 4 bytes (where the default identity has 00000001). */
static void
set_serial(pcard_cardstate *cs, const uint8_t serial[4])
{
	memcpy(cs->cplc + 12, serial, 4);
	if (cs->kdd_len >= 8)
		memcpy(cs->kdd + 4, serial, 4);
	if (cs->cin_len >= 4)
		memcpy(cs->cin + cs->cin_len - 4, serial, 4);
}

static pcard_err
read_key_file(const char *path, uint8_t *key, size_t cap, size_t *len)
{
	char buf[KEY_FILE_MAX + 1];
	size_t n, b = 0, e;
	FILE *f;
	pcard_err err;

	if ((f = fopen(path, "r")) == NULL)
		return PCARD_E_IO;
	n = fread(buf, 1, KEY_FILE_MAX, f);
	if (ferror(f) || !feof(f)) {
		err = ferror(f) ? PCARD_E_IO : PCARD_E_BAD_FILE;
		fclose(f);
		pcard_wipe(buf, sizeof buf);
		return err;
	}
	fclose(f);
	buf[n] = '\0';
	/* surrounding white space is fine */
	while (b < n && isspace((unsigned char)buf[b]))
		b++;
	e = n;
	while (e > b && isspace((unsigned char)buf[e - 1]))
		buf[--e] = '\0';
	err = pcard_hex_decode(buf + b, key, cap, len);
	pcard_wipe(buf, sizeof buf);
	return err == PCARD_OK ? PCARD_OK : PCARD_E_BAD_FILE;
}

int
sim_cmd_init(int argc, char **argv)
{
	enum { O_SCP = 256, O_I, O_KEY, O_KEYFILE, O_ISD, O_LC, O_MEM, O_AUTH, O_FF, O_FORCE,
		O_MASTER, O_MASTERFILE, O_KDF, O_KVN, O_SERIAL };
	static const struct option opts[] = {
		{ "scp", required_argument, NULL, O_SCP },
		{ "i", required_argument, NULL, O_I },
		{ "key", required_argument, NULL, O_KEY },
		{ "key-file", required_argument, NULL, O_KEYFILE },
		{ "isd", required_argument, NULL, O_ISD },
		{ "life-cycle", required_argument, NULL, O_LC },
		{ "memory", required_argument, NULL, O_MEM },
		{ "auth-limit", required_argument, NULL, O_AUTH },
		{ "putkey-replaces-ff", no_argument, NULL, O_FF },
		{ "force", no_argument, NULL, O_FORCE },
		{ "master", required_argument, NULL, O_MASTER },
		{ "master-file", required_argument, NULL, O_MASTERFILE },
		{ "kdf", required_argument, NULL, O_KDF },
		{ "kvn", required_argument, NULL, O_KVN },
		{ "serial", required_argument, NULL, O_SERIAL },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	pcard_cardstate_opts o;
	pcard_cardstate cs;
	pcard_cardfile f;
	pcard_aid isd;
	uint8_t key[64], master[64], kcv[3][PCARD_KCV_BYTES], kvn = 0x01, serial[4];
	size_t key_len = 0, master_len = 0, n;
	const char *path, *key_file = NULL, *key_hex = NULL, *master_hex = NULL;
	const char *master_file = NULL, *kdf = NULL;
	char tmp[PCARD_CARDIO_PATH_MAX + 16];
	unsigned long v;
	int c, force = 0, have_serial = 0, rc = PCARD_EXIT_INTERNAL;
	pcard_err err;

	memset(&o, 0, sizeof o);
	pcard_cardstate_init(&cs);
	sim_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			help();
			return 0;
		case O_SCP:
			if (strcmp(optarg, "02") == 0 || strcmp(optarg, "2") == 0)
				o.scp = 2;
			else if (strcmp(optarg, "03") == 0 || strcmp(optarg, "3") == 0)
				o.scp = 3;
			else
				return sim_usage(CMD, "--scp: 02 or 03, not '%s'", optarg);
			break;
		case O_I:
			if (pcard_hex_decode(optarg, &o.i, 1, &n) != PCARD_OK || n != 1)
				return sim_usage(CMD, "--i: one byte of hex, not '%s'", optarg);
			break;
		case O_KEY:
			key_hex = optarg;
			break;
		case O_KEYFILE:
			key_file = optarg;
			break;
		case O_ISD:
			if (pcard_aid_from_hex(&isd, optarg) != PCARD_OK)
				return sim_usage(CMD, "--isd: 5 to 16 bytes of hex, not '%s'", optarg);
			o.isd_aid = &isd;
			break;
		case O_LC:
			if (parse_life_cycle(optarg, &o.life_cycle) != 0)
				return sim_usage(CMD, "--life-cycle: unknown state '%s'", optarg);
			break;
		case O_MEM:
			if (sim_parse_ulong(optarg, 1, UINT32_MAX, &v) != 0)
				return sim_usage(CMD, "--memory: a number of bytes, not '%s'", optarg);
			o.nvm_size = (uint32_t)v;
			break;
		case O_AUTH:
			if (sim_parse_ulong(optarg, 1, 255, &v) != 0)
				return sim_usage(CMD, "--auth-limit: 1 to 255, not '%s'", optarg);
			o.auth_limit = (uint8_t)v;
			break;
		case O_FF:
			o.flags |= PCARD_CS_FLAG_PUTKEY_REPLACES_FF;
			break;
		case O_FORCE:
			force = 1;
			break;
		case O_MASTER:
			master_hex = optarg;
			break;
		case O_MASTERFILE:
			master_file = optarg;
			break;
		case O_KDF:
			kdf = optarg;
			break;
		case O_KVN:
			if (pcard_hex_decode(optarg, &kvn, 1, &n) != PCARD_OK || n != 1 || kvn == 0 ||
			    kvn > 0x7F)
				return sim_usage(CMD, "--kvn: 01 to 7F, not '%s'", optarg);
			break;
		case O_SERIAL:
			if (pcard_hex_decode(optarg, serial, sizeof serial, &n) != PCARD_OK ||
			    n != sizeof serial)
				return sim_usage(CMD, "--serial: 4 bytes of hex, not '%s'", optarg);
			have_serial = 1;
			break;
		default:
			return sim_bad_option(CMD, c, argv);
		}
	}
	if (optind != argc - 1)
		return sim_usage(CMD, optind >= argc ? "CARD-FILE missing" : "too many arguments");
	path = argv[optind];
	if (key_hex != NULL && key_file != NULL)
		return sim_usage(CMD, "--key and --key-file exclude each other");
	if (master_hex != NULL && master_file != NULL)
		return sim_usage(CMD, "--master and --master-file exclude each other");
	if ((master_hex != NULL || master_file != NULL) != (kdf != NULL))
		return sim_usage(CMD, "--master (or --master-file) and --kdf go together");
	if (kdf != NULL && (key_hex != NULL || key_file != NULL))
		return sim_usage(CMD, "--key and --master exclude each other");
	if (strlen(path) >= PCARD_CARDIO_PATH_MAX)
		return sim_usage(CMD, "CARD-FILE path too long");
	if (key_hex != NULL) {
		if (pcard_hex_decode(key_hex, key, sizeof key, &key_len) != PCARD_OK) {
			pcard_wipe(key, sizeof key);
			return sim_usage(CMD, "--key: not hex");
		}
	} else if (key_file != NULL) {
		if ((err = read_key_file(key_file, key, sizeof key, &key_len)) != PCARD_OK) {
			pcard_wipe(key, sizeof key);
			return sim_fail(err, "--key-file %s", key_file);
		}
	}
	if (master_hex != NULL) {
		if (pcard_hex_decode(master_hex, master, sizeof master, &master_len) != PCARD_OK) {
			rc = sim_usage(CMD, "--master: not hex");
			goto out;
		}
	} else if (master_file != NULL) {
		if ((err = read_key_file(master_file, master, sizeof master, &master_len)) !=
		    PCARD_OK) {
			rc = sim_fail(err, "--master-file %s", master_file);
			goto out;
		}
	}
	if (key_len > 0) {
		o.key = key;
		o.key_len = key_len;
	}
	if (!force && access(path, F_OK) == 0) {
		rc = sim_usage(CMD, "%s exists; add --force to replace it", path);
		goto out;
	}
	if ((err = pcard_cardstate_default(&cs, &o)) != PCARD_OK) {
		/* the options were each well-formed, but do not go together (key length, i) */
		rc = err == PCARD_E_INVALID_ARG ?
		    sim_usage(CMD, "the key length, SCP and i given do not go together") :
		    sim_fail(err, "new card state");
		goto out;
	}
	if (have_serial)
		set_serial(&cs, serial);	/* before the keys: the KDD diversifies them */
	if (kdf != NULL && (err = diversified_set(&cs, kdf, master, master_len, kvn, kcv)) !=
	    PCARD_OK) {
		rc = err == PCARD_E_BAD_ENCODING ? sim_usage(CMD, "--kdf: no such template '%s'",
		    kdf) : err == PCARD_E_INVALID_ARG ? sim_usage(CMD, "--kdf %s and a %zu-byte "
		    "master do not go with SCP%02X", kdf, master_len, cs.isd.sd_info.scp) :
		    sim_fail(err, "diversified keys");
		goto out;
	}
	/* create next to the target, then rename over it: an old file survives any failure */
	snprintf(tmp, sizeof tmp, "%s.init", path);
	(void)unlink(tmp);
	memset(&f, 0, sizeof f);
	if ((err = pcard_cardfile_create(&f, NULL, tmp, &cs)) != PCARD_OK) {
		rc = sim_fail(err, "create %s", tmp);
		goto out;
	}
	pcard_cardfile_close(&f);
	if (rename(tmp, path) != 0) {
		fprintf(stderr, SIM_PROG ": rename %s to %s: %s\n", tmp, path, strerror(errno));
		(void)unlink(tmp);
		rc = PCARD_EXIT_IO;
		goto out;
	}
	if (kdf != NULL) {
		fprintf(stderr, SIM_PROG ": key set %02X: ENC, MAC, DEK = %s of the master and KDD, "
		    "KCVs %02X%02X%02X %02X%02X%02X %02X%02X%02X\n", kvn, kdf, kcv[0][0], kcv[0][1],
		    kcv[0][2], kcv[1][0], kcv[1][1], kcv[1][2], kcv[2][0], kcv[2][1], kcv[2][2]);
		if (master_len == sizeof gp_test_key &&
		    memcmp(master, gp_test_key, sizeof gp_test_key) == 0)
			fprintf(stderr, SIM_PROG ": warning: %s's keys come from the public demo "
			    "master 404142..4F; anyone can manage this card\n", path);
	} else if (key_len == 0 || (key_len == sizeof gp_test_key &&
	    memcmp(key, gp_test_key, sizeof gp_test_key) == 0))
		fprintf(stderr, SIM_PROG ": warning: %s uses the well-known GlobalPlatform test key "
		    "404142434445464748494A4B4C4D4E4F; anyone can manage this card\n", path);
	{
		char aid[2 * PCARD_AID_MAX + 1];

		(void)pcard_hex_encode(cs.isd.aid.b, cs.isd.aid.len, aid, sizeof aid);
		fprintf(stderr, SIM_PROG ": created %s: SCP%02X i=%02X, ISD %s, %s, %lu bytes of "
		    "memory\n", path, cs.isd.sd_info.scp, cs.isd.sd_info.i, aid,
		    pcard_card_lc_name(cs.life_cycle), (unsigned long)cs.nvm_size);
	}
	rc = 0;
out:
	pcard_wipe(key, sizeof key);
	pcard_wipe(master, sizeof master);
	pcard_cardstate_clear(&cs);
	return rc;
}
