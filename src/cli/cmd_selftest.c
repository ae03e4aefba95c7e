/*
 * cmd_selftest.c: `postcard selftest`: an in-process secure-channel session between the host
 * side and the card side of libpostcard, with no reader. It shows the protocol at work (the
 * APDU trace, key-bearing data redacted) and checks that a tampered response is rejected and
 * that the channel stays closed afterwards.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "postcard/apdu.h"
#include "postcard/bytes.h"
#include "postcard/crypto.h"
#include "postcard/keys.h"
#include "postcard/scp.h"
#include "postcard/transport.h"

static const char selftest_help[] =
    "usage: postcard selftest [--scp 02|03] [--i HEX] [--level HEX] [--key HEX] [--trace]\n"
    "\n"
    "Open a secure channel between postcard's host side and its card side in this process\n"
    "(no reader, no simulator), exchange wrapped commands whose answers the card echoes, then\n"
    "flip one bit of a response and check that the host refuses it and every later command.\n"
    "\n"
    "Options:\n"
    "  --scp 02|03     secure channel protocol (default 03)\n"
    "  --i HEX         i parameter (default 70 for SCP03, 55 for SCP02)\n"
    "  --level HEX     security level (default 33 for SCP03 i with R-ENC, else the highest the\n"
    "                  i allows)\n"
    "  --key HEX       static key used as ENC = MAC = DEK (default: the GlobalPlatform test key)\n"
    "  --trace         print every APDU\n"
    "\n"
    "JSON fields: scp, i, level, commands, tamper_rejected, dead_after_tamper, ok.\n"
    "\n"
    "Examples:\n"
    "  postcard selftest --trace\n"
    "  postcard selftest --scp 02 --i 75 --level 13\n"
    "  postcard --json selftest --scp 03 --i 00 --level 03\n";

static const uint8_t test_key[16] = {
	0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47,
	0x48, 0x49, 0x4A, 0x4B, 0x4C, 0x4D, 0x4E, 0x4F,
};
static const uint8_t isd_aid[8] = { 0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00 };
static const uint8_t kdd[PCARD_SCP_KDD_BYTES] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 };

/* The card end: one key set, a sequence counter, an echo application behind the channel. */
typedef struct mini_card {
	pcard_keys *keys;
	pcard_scp_keyset ks;
	pcard_scp scp;
	uint8_t scp_ver, i;
	uint32_t seq;
	int tamper_next;	/* flip a bit of the next wrapped response */
} mini_card;

static pcard_err
card_answer(mini_card *c, uint16_t sw, const uint8_t *data, size_t n, uint8_t *resp, size_t cap,
    size_t *resp_len)
{
	pcard_err err;

	if ((err = pcard_scp_wrap_rsp(&c->scp, data, n, sw, resp, cap, resp_len)) != PCARD_OK)
		return err;
	if (c->tamper_next && *resp_len > 2) {
		resp[*resp_len - 3] ^= 0x01;	/* last byte before the SW: R-MAC or data */
		c->tamper_next = 0;
	}
	return PCARD_OK;
}

static pcard_err
card_apdu(void *ctx, const uint8_t *cmd, size_t n, uint8_t *resp, size_t cap, size_t *resp_len)
{
	mini_card *c = ctx;
	uint8_t plain[PCARD_SCP_MAX_CMD];
	size_t plen = 0;
	pcard_apdu a;
	pcard_err err;

	if (n < 4 || cap < 2)
		return PCARD_E_INVALID_ARG;
	if (cmd[1] == 0x50) {
		pcard_scp_card_params p = {
			.scp = c->scp_ver, .i = c->i, .kvn = 0x30, .kdd = kdd, .seq = c->seq,
			.aid = isd_aid, .aid_len = sizeof isd_aid,
		};
		uint32_t new_seq = c->seq;

		err = pcard_scp_card_init_update(&c->scp, c->keys, &c->ks, &p, cmd, n, resp, cap,
		    resp_len, &new_seq);
		c->seq = new_seq;	/* a real card persists it before answering */
		goto sw_only;
	}
	if (cmd[1] == 0x82) {
		uint32_t new_seq = c->seq;

		err = pcard_scp_card_ext_auth(&c->scp, cmd, n, &new_seq);
		c->seq = new_seq;
		if (err == PCARD_OK) {
			resp[0] = 0x90;
			resp[1] = 0x00;
			*resp_len = 2;
		}
		goto sw_only;
	}
	if ((err = pcard_scp_unwrap_cmd(&c->scp, cmd, n, plain, sizeof plain, &plen)) != PCARD_OK)
		goto sw_only;
	if ((err = pcard_apdu_parse(plain, plen, &a)) != PCARD_OK)
		return card_answer(c, 0x6700, NULL, 0, resp, cap, resp_len);
	/* The echo application: data back, 9000. */
	return card_answer(c, PCARD_SW_OK, a.data, a.lc, resp, cap, resp_len);
sw_only:
	if (err != PCARD_OK) {
		uint16_t sw = pcard_scp_card_sw(err);

		resp[0] = (uint8_t)(sw >> 8);
		resp[1] = (uint8_t)sw;
		*resp_len = 2;
	}
	return PCARD_OK;
}

static void
trace(void *ctx, int dir, const uint8_t *p, size_t n)
{
	(void)ctx;
	cli_trace_apdu(dir, p, n);
}

static pcard_err
import_set(pcard_keys *k, pcard_keytype type, const uint8_t *key, size_t len,
    pcard_scp_keyset *ks)
{
	pcard_err err;

	if ((err = pcard_keys_mem_import(k, "enc", type, key, len, &ks->enc)) != PCARD_OK ||
	    (err = pcard_keys_mem_import(k, "mac", type, key, len, &ks->mac)) != PCARD_OK ||
	    (err = pcard_keys_mem_import(k, "dek", type, key, len, &ks->dek)) != PCARD_OK)
		return err;
	return PCARD_OK;
}

/* Exchange one command; check the echo. */
static pcard_err
echo(pcard_transport *t, pcard_scp *s, const uint8_t *cmd, size_t n, size_t data_len,
    const uint8_t *data)
{
	uint8_t out[PCARD_SCP_MAX_RSP];
	size_t len = 0;
	pcard_err err;

	if ((err = pcard_scp_transmit(t, s, cmd, n, out, sizeof out, &len)) != PCARD_OK)
		return err;
	if (len != data_len + 2 || out[len - 2] != 0x90 || out[len - 1] != 0x00 ||
	    (data_len > 0 && memcmp(out, data, data_len) != 0))
		return PCARD_E_INTERNAL;
	return PCARD_OK;
}

int
cmd_selftest(cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "scp", required_argument, NULL, 's' },
		{ "i", required_argument, NULL, 'i' },
		{ "level", required_argument, NULL, 'l' },
		{ "key", required_argument, NULL, 'k' },
		{ "trace", no_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint8_t key[32], cmd[PCARD_SCP_MAX_CMD], data[200];
	size_t key_len = sizeof test_key, ncmds = 0;
	long scp_ver = 3, i_param = -1, level = -1;
	int do_trace = 0, c, rc = PCARD_EXIT_INTERNAL, tamper_rejected = 0, dead_after = 0;
	const char *what = "selftest";
	pcard_keys *host_keys = NULL;
	pcard_transport *t = NULL;
	pcard_scp_keyset hks = { 0, 0, 0 };
	pcard_scp host;
	mini_card card;
	pcard_err err = PCARD_E_INTERNAL;

	memset(&card, 0, sizeof card);
	pcard_scp_init(&host);
	pcard_scp_init(&card.scp);
	memcpy(key, test_key, sizeof test_key);
	cli_getopt_reset();
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		char *end = NULL;

		switch (c) {
		case 's':
			scp_ver = strtol(optarg, &end, 16);
			if (*end != '\0' || (scp_ver != 2 && scp_ver != 3))
				return cli_usage(ctx, "selftest: --scp takes 02 or 03");
			break;
		case 'i':
			i_param = strtol(optarg, &end, 16);
			if (*end != '\0' || i_param < 0 || i_param > 0xFF)
				return cli_usage(ctx, "selftest: --i takes one hex byte");
			break;
		case 'l':
			level = strtol(optarg, &end, 16);
			if (*end != '\0' || level < 0 || level > 0xFF)
				return cli_usage(ctx, "selftest: --level takes one hex byte");
			break;
		case 'k':
			if (pcard_hex_decode(optarg, key, sizeof key, &key_len) != PCARD_OK ||
			    (key_len != 16 && key_len != 24 && key_len != 32))
				return cli_usage(ctx, "selftest: --key takes 16, 24 or 32 bytes of hex");
			break;
		case 't':
			do_trace = 1;
			break;
		case 'h':
			fputs(selftest_help, stdout);
			return PCARD_EXIT_OK;
		default:
			return cli_bad_option(ctx, "selftest", c, argv);
		}
	}
	if (optind != argc)
		return cli_usage(ctx, "selftest: unexpected argument '%s'", argv[optind]);
	if (i_param < 0)
		i_param = scp_ver == 3 ? 0x70 : 0x55;
	if (level < 0) {
		if (scp_ver == 3)
			level = (i_param & PCARD_SCP03_I_RENC) ? 0x33 :
			    (i_param & PCARD_SCP03_I_RMAC) ? 0x13 : 0x03;
		else
			level = (i_param & PCARD_SCP02_I_RMAC) ? 0x13 : 0x03;
	}
	if (scp_ver == 2 && key_len != 16)
		return cli_usage(ctx, "selftest: SCP02 keys are 16 bytes");
	if (!pcard_scp_level_ok((uint8_t)scp_ver, (uint8_t)i_param, (uint8_t)level)) {
		err = PCARD_E_SECURITY_LEVEL;
		what = "selftest: this level with this SCP and i";
		goto out;
	}
	if (memcmp(key, test_key, sizeof test_key) == 0 && key_len == sizeof test_key)
		cli_info(ctx, "warning: using the well-known GlobalPlatform test key 404142...4F\n");

	card.scp_ver = (uint8_t)scp_ver;
	card.i = (uint8_t)i_param;
	card.seq = 0x10;
	if ((err = pcard_keys_mem_new(16, &host_keys)) != PCARD_OK ||
	    (err = pcard_keys_mem_new(16, &card.keys)) != PCARD_OK ||
	    (err = import_set(host_keys, scp_ver == 3 ? PCARD_KEY_AES : PCARD_KEY_DES3, key,
	    key_len, &hks)) != PCARD_OK ||
	    (err = import_set(card.keys, scp_ver == 3 ? PCARD_KEY_AES : PCARD_KEY_DES3, key,
	    key_len, &card.ks)) != PCARD_OK ||
	    (err = pcard_inproc_open(card_apdu, NULL, &card, &t)) != PCARD_OK)
		goto out;
	if (do_trace)
		pcard_transport_set_trace(t, trace, NULL);

	{
		pcard_scp_host_params p = {
			.kvn = 0x30, .scp = (uint8_t)scp_ver,
			.scp02_i = scp_ver == 2 ? (uint8_t)i_param : 0,
			.aid = isd_aid, .aid_len = sizeof isd_aid,
		};
		uint16_t sw = 0;

		what = "opening the secure channel";
		if ((err = pcard_scp_open(t, host_keys, &hks, &p, (uint8_t)level, &host, &sw)) !=
		    PCARD_OK)
			goto out;
	}

	/* Case 1, case 3 with data, case 4 with data and Le, and a near-maximal data field. */
	what = "exchanging wrapped commands";
	for (size_t k = 0; k < sizeof data; k++)
		data[k] = (uint8_t)(k * 7 + 1);
	{
		const uint8_t case1[] = { 0x80, 0xF2, 0x80, 0x00 };
		size_t maxd = pcard_scp_max_data(&host);
		size_t sizes[] = { 5, 32, maxd < sizeof data ? maxd : sizeof data };

		if ((err = echo(t, &host, case1, sizeof case1, 0, NULL)) != PCARD_OK)
			goto out;
		ncmds++;
		for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
			pcard_apdu a = { .cla = 0x80, .ins = 0xE2, .p1 = 0x00, .p2 = (uint8_t)k,
				.data = data, .lc = sizes[k], .le = 256, .has_le = k != 1 };
			size_t n = 0;

			if ((err = pcard_apdu_encode(&a, cmd, sizeof cmd, &n)) != PCARD_OK ||
			    (err = echo(t, &host, cmd, n, sizes[k], data)) != PCARD_OK)
				goto out;
			ncmds++;
		}
	}

	/* A tampered response must be refused, and the channel must stay closed. */
	what = "tamper check";
	{
		const uint8_t probe[] = { 0x80, 0xE2, 0x00, 0x09, 0x02, 0x12, 0x34, 0x00 };

		card.tamper_next = 1;
		err = echo(t, &host, probe, sizeof probe, 2, probe + 5);
		tamper_rejected = err == PCARD_E_MAC || err == PCARD_E_PADDING;
		err = echo(t, &host, probe, sizeof probe, 2, probe + 5);
		dead_after = err == PCARD_E_SESSION_DEAD;
		if ((level & PCARD_SCP_RMAC) == 0) {
			/* Without R-MAC nothing protects the response: the check does not apply. */
			tamper_rejected = dead_after = -1;
		} else if (!tamper_rejected || !dead_after) {
			err = PCARD_E_INTERNAL;
			goto out;
		}
	}
	err = PCARD_OK;
out:
	if (err == PCARD_OK) {
		if (ctx->json) {
			json_t *o = json_pack("{s:i,s:s,s:s,s:i,s:O,s:O,s:b}", "scp", (int)scp_ver,
			    "i", "", "level", "", "commands", (int)ncmds,
			    "tamper_rejected", tamper_rejected < 0 ? json_null() :
			    json_boolean(tamper_rejected),
			    "dead_after_tamper", dead_after < 0 ? json_null() : json_boolean(dead_after),
			    "ok", 1);
			char hx[3];

			snprintf(hx, sizeof hx, "%02X", (unsigned)i_param);
			json_object_set_new(o, "i", json_string(hx));
			snprintf(hx, sizeof hx, "%02X", (unsigned)level);
			json_object_set_new(o, "level", json_string(hx));
			cli_json_print(o);
		} else {
			printf("SCP%02lX i=%02lX level %02lX: channel opened, %zu wrapped commands echoed",
			    scp_ver, i_param, level, ncmds);
			if (tamper_rejected > 0)
				printf(", tampered response rejected, channel closed after it");
			else
				printf(" (no R-MAC at this level: responses are not authenticated)");
			printf("\n");
		}
		rc = PCARD_EXIT_OK;
	} else {
		rc = cli_fail(ctx, err, "%s", what);
	}
	pcard_scp_clear(&host);
	pcard_scp_clear(&card.scp);
	pcard_transport_close(t);
	pcard_keys_free(host_keys);
	pcard_keys_free(card.keys);
	pcard_wipe(key, sizeof key);
	return rc;
}
