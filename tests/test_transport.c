/* test_transport.c: generic transport rules (61xx, 6Cxx, tracing) over a fake in-process
 * card, the in-process transport itself, and the PC/SC transport's error path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "postcard/apdu.h"
#include "postcard/bytes.h"
#include "postcard/transport.h"

/* A scripted fake card: modes select behaviours. */
enum { FAKE_ECHO, FAKE_61, FAKE_6C, FAKE_61_FOREVER, FAKE_SHORT, FAKE_FAIL, FAKE_6C_AGAIN };

typedef struct fake {
	int mode;
	unsigned calls;
	uint8_t last[300];
	size_t last_len;
	size_t chunk;		/* FAKE_61: bytes per GET RESPONSE */
	size_t total;		/* FAKE_61: bytes in all */
	size_t sent;
	int resets, cold;
} fake;

static pcard_err
put(uint8_t *resp, size_t cap, size_t *len, const uint8_t *d, size_t n, uint16_t sw)
{
	if (n + 2 > cap)
		return PCARD_E_NOSPACE;
	for (size_t i = 0; i < n; i++)
		resp[i] = d[i];
	resp[n] = (uint8_t)(sw >> 8);
	resp[n + 1] = (uint8_t)sw;
	*len = n + 2;
	return PCARD_OK;
}

static pcard_err
fake_fn(void *ctx, const uint8_t *cmd, size_t n, uint8_t *resp, size_t cap, size_t *resp_len)
{
	fake *f = ctx;
	uint8_t data[1024];
	size_t left, k;

	for (size_t i = 0; i < sizeof data; i++)
		data[i] = (uint8_t)i;
	f->calls++;
	if (n <= sizeof f->last) {
		memcpy(f->last, cmd, n);
		f->last_len = n;
	}
	switch (f->mode) {
	case FAKE_ECHO:
		return put(resp, cap, resp_len, cmd, n, 0x9000);
	case FAKE_61:
		if (cmd[1] != 0xC0) {
			/* first answer: 3 bytes and 61xx */
			f->sent = 3;
			return put(resp, cap, resp_len, data, 3,
			    (uint16_t)(0x6100 | ((f->total - 3) > f->chunk ? f->chunk & 0xFF :
			    (f->total - 3) & 0xFF)));
		}
		k = cmd[4] == 0 ? 256 : cmd[4];
		left = f->total - f->sent;
		if (k > left)
			k = left;
		{
			size_t off = f->sent;

			f->sent += k;
			left = f->total - f->sent;
			return put(resp, cap, resp_len, data + off, k, left == 0 ? 0x9000 :
			    (uint16_t)(0x6100 | (left > f->chunk ? f->chunk & 0xFF : left & 0xFF)));
		}
	case FAKE_6C:
		if (n == 5 && cmd[4] == 0x08)
			return put(resp, cap, resp_len, data, 8, 0x9000);
		return put(resp, cap, resp_len, NULL, 0, 0x6C08);
	case FAKE_6C_AGAIN:
		return put(resp, cap, resp_len, NULL, 0, 0x6C08);
	case FAKE_61_FOREVER:
		return put(resp, cap, resp_len, NULL, 0, 0x6100);
	case FAKE_SHORT:
		resp[0] = 0x90;
		*resp_len = 1;
		return PCARD_OK;
	default:
		return PCARD_E_NO_CARD;
	}
}

static pcard_err
fake_reset(void *ctx, int cold)
{
	fake *f = ctx;

	f->resets++;
	f->cold = cold;
	return PCARD_OK;
}

typedef struct trace_log {
	unsigned cmds, resps;
	size_t last_resp_len;
} trace_log;

static void
trace_fn(void *ctx, int dir, const uint8_t *p, size_t n)
{
	trace_log *l = ctx;

	(void)p;
	if (dir == PCARD_TRACE_CMD)
		l->cmds++;
	else
		l->resps++;
	l->last_resp_len = n;
}

static void
test_echo_and_trace(void **state)
{
	fake f = { .mode = FAKE_ECHO };
	trace_log log = { 0 };
	pcard_transport *t = NULL;
	const uint8_t cmd[] = { 0x00, 0xA4, 0x04, 0x00, 0x00 };
	uint8_t resp[64];
	size_t n;

	(void)state;
	assert_int_equal(pcard_inproc_open(fake_fn, NULL, &f, &t), PCARD_OK);
	pcard_transport_set_trace(t, trace_fn, &log);
	assert_int_equal(pcard_transport_transmit(t, cmd, sizeof cmd, resp, sizeof resp, &n),
	    PCARD_OK);
	assert_int_equal(n, sizeof cmd + 2);
	assert_memory_equal(resp, cmd, sizeof cmd);
	assert_int_equal(resp[n - 2], 0x90);
	assert_int_equal(log.cmds, 1);
	assert_int_equal(log.resps, 1);
	/* trace removed */
	pcard_transport_set_trace(t, NULL, NULL);
	assert_int_equal(pcard_transport_raw(t, cmd, sizeof cmd, resp, sizeof resp, &n), PCARD_OK);
	assert_int_equal(log.cmds, 1);
	/* no reset hook, no ATR */
	assert_int_equal(pcard_transport_reset(t, 0), PCARD_E_UNSUPPORTED);
	assert_int_equal(pcard_transport_atr(t, resp, sizeof resp, &n), PCARD_E_UNSUPPORTED);
	/* not a PC/SC transport */
	assert_null(pcard_pcsc_reader_name(t));
	/* the fake's own NOSPACE passes through */
	assert_int_equal(pcard_transport_transmit(t, cmd, sizeof cmd, resp, 6, &n),
	    PCARD_E_NOSPACE);
	/* invalid arguments */
	assert_int_equal(pcard_transport_transmit(t, cmd, 3, resp, sizeof resp, &n),
	    PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_transport_transmit(t, NULL, 5, resp, sizeof resp, &n),
	    PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_transport_raw(NULL, cmd, 5, resp, sizeof resp, &n),
	    PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_transport_reset(NULL, 0), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_transport_atr(NULL, resp, 1, &n), PCARD_E_INVALID_ARG);
	pcard_transport_close(t);
	pcard_transport_close(NULL);
	assert_int_equal(pcard_inproc_open(NULL, NULL, &f, &t), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_inproc_open(fake_fn, NULL, &f, NULL), PCARD_E_INVALID_ARG);
}

static void
test_get_response(void **state)
{
	/* total bytes, chunk per GET RESPONSE, GET RESPONSEs expected */
	static const struct {
		size_t total, chunk;
		unsigned rounds;
	} t[] = {
		{ 3 + 16, 255, 1 },
		{ 3 + 256, 255, 2 },	/* 61FF then 6101 */
		{ 3 + 256, 256, 1 },	/* 6100 = 256 */
		{ 3 + 600, 200, 3 },
	};
	uint8_t resp[1024];
	const uint8_t cmd[] = { 0x81, 0xCA, 0x00, 0x66, 0x00 };	/* channel 1 */
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		fake f = { .mode = FAKE_61, .total = t[i].total, .chunk = t[i].chunk };
		trace_log log = { 0 };
		pcard_transport *tr = NULL;

		assert_int_equal(pcard_inproc_open(fake_fn, NULL, &f, &tr), PCARD_OK);
		pcard_transport_set_trace(tr, trace_fn, &log);
		assert_int_equal(pcard_transport_transmit(tr, cmd, sizeof cmd, resp, sizeof resp,
		    &n), PCARD_OK);
		assert_int_equal(n, t[i].total + 2);
		for (size_t j = 0; j < t[i].total; j++)
			assert_int_equal(resp[j], (uint8_t)j);
		assert_int_equal(resp[n - 2], 0x90);
		assert_int_equal(resp[n - 1], 0x00);
		assert_int_equal(f.calls, 1 + t[i].rounds);
		assert_int_equal(log.cmds, 1 + t[i].rounds);
		/* GET RESPONSE keeps the logical channel: 01 C0 00 00 xx */
		assert_int_equal(f.last[0], 0x01);
		assert_int_equal(f.last[1], 0xC0);
		assert_int_equal(f.last_len, 5);
		/* too small a buffer for all of it */
		f.sent = 0;
		f.calls = 0;
		assert_int_equal(pcard_transport_transmit(tr, cmd, sizeof cmd, resp, t[i].total,
		    &n), PCARD_E_NOSPACE);
		pcard_transport_close(tr);
	}
}

static void
test_wrong_le(void **state)
{
	fake f = { .mode = FAKE_6C };
	pcard_transport *t = NULL;
	const uint8_t cmd[] = { 0x80, 0xCA, 0x9F, 0x7F, 0x00 };
	const uint8_t ext[] = { 0x80, 0xCA, 0x9F, 0x7F, 0x00, 0x00, 0x00 };
	uint8_t resp[64];
	size_t n;

	(void)state;
	assert_int_equal(pcard_inproc_open(fake_fn, NULL, &f, &t), PCARD_OK);
	assert_int_equal(pcard_transport_transmit(t, cmd, sizeof cmd, resp, sizeof resp, &n),
	    PCARD_OK);
	assert_int_equal(n, 10);
	assert_int_equal(f.calls, 2);
	assert_int_equal(f.last[4], 0x08);
	/* only once: a second 6Cxx is handed back */
	f.mode = FAKE_6C_AGAIN;
	f.calls = 0;
	assert_int_equal(pcard_transport_transmit(t, cmd, sizeof cmd, resp, sizeof resp, &n),
	    PCARD_OK);
	assert_int_equal(f.calls, 2);
	assert_int_equal(n, 2);
	assert_int_equal(resp[0], 0x6C);
	/* 6Cxx on an extended command is not handled */
	assert_int_equal(pcard_transport_transmit(t, ext, sizeof ext, resp, sizeof resp, &n),
	    PCARD_E_UNSUPPORTED);
	pcard_transport_close(t);
}

static void
test_failures(void **state)
{
	fake f = { .mode = FAKE_61_FOREVER };
	pcard_transport *t = NULL;
	const uint8_t cmd[] = { 0x80, 0xF2, 0x80, 0x02, 0x02, 0x4F, 0x00, 0x00 };
	uint8_t resp[64];
	size_t n;

	(void)state;
	assert_int_equal(pcard_inproc_open(fake_fn, fake_reset, &f, &t), PCARD_OK);
	assert_int_equal(pcard_transport_transmit(t, cmd, sizeof cmd, resp, sizeof resp, &n),
	    PCARD_E_TRANSPORT);
	assert_int_equal(f.calls, 1 + PCARD_TRANSPORT_MAX_GET_RESPONSE);
	f.mode = FAKE_SHORT;
	assert_int_equal(pcard_transport_transmit(t, cmd, sizeof cmd, resp, sizeof resp, &n),
	    PCARD_E_TRANSPORT);
	f.mode = FAKE_FAIL;
	assert_int_equal(pcard_transport_transmit(t, cmd, sizeof cmd, resp, sizeof resp, &n),
	    PCARD_E_NO_CARD);
	assert_int_equal(pcard_transport_reset(t, 1), PCARD_OK);
	assert_int_equal(f.resets, 1);
	assert_int_equal(f.cold, 1);
	pcard_transport_close(t);
}

static void
test_redact(void **state)
{
	static const struct {
		uint8_t hdr[4];
		int redact;
	} t[] = {
		{ { 0x84, 0xD8, 0x01, 0x81 }, 1 },	/* PUT KEY */
		{ { 0x80, 0xE2, 0x60, 0x00 }, 1 },	/* STORE DATA, all encrypted */
		{ { 0x80, 0xE2, 0x28, 0x00 }, 1 },	/* STORE DATA, app-dependent encryption */
		{ { 0x80, 0xE2, 0x88, 0x00 }, 0 },	/* STORE DATA, DGI, clear */
		{ { 0x80, 0xE6, 0x0C, 0x00 }, 0 },	/* INSTALL */
	};

	(void)state;
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		assert_int_equal(pcard_trace_redact(t[i].hdr, 4), t[i].redact);
	assert_int_equal(pcard_trace_redact(t[0].hdr, 3), 0);
}

/* PC/SC without a reachable pcscd: point the client at a socket that does not exist. */
static void
test_pcsc_no_service(void **state)
{
	pcard_reader_info r[4];
	pcard_transport *t = (pcard_transport *)1;
	pcard_pcsc_opts o = { "nonexistent reader", 0, 1, PCARD_PCSC_LEAVE, PCARD_PCSC_TANY };
	size_t count = 99;
	pcard_err err;

	(void)state;
	setenv("PCSCLITE_CSOCK_NAME", "/nonexistent/postcard-test/pcscd.comm", 1);
	err = pcard_pcsc_list_readers(r, 4, &count);
	assert_int_equal(err, PCARD_E_TRANSPORT);
	assert_int_equal(count, 99);
	err = pcard_pcsc_open(&o, &t);
	assert_int_equal(err, PCARD_E_TRANSPORT);
	assert_null(t);
	err = pcard_pcsc_open(NULL, &t);
	assert_int_equal(err, PCARD_E_TRANSPORT);
	o.disposition = 7;
	assert_int_equal(pcard_pcsc_open(&o, &t), PCARD_E_INVALID_ARG);
	o.disposition = PCARD_PCSC_RESET;
	o.protocol = 9;
	assert_int_equal(pcard_pcsc_open(&o, &t), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_pcsc_open(&o, NULL), PCARD_E_INVALID_ARG);
	assert_int_equal(pcard_pcsc_list_readers(NULL, 4, &count), PCARD_E_INVALID_ARG);
	assert_null(pcard_pcsc_reader_name(NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_echo_and_trace),
		cmocka_unit_test(test_get_response),
		cmocka_unit_test(test_wrong_le),
		cmocka_unit_test(test_failures),
		cmocka_unit_test(test_redact),
		cmocka_unit_test(test_pcsc_no_service),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
