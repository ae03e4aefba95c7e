/*
 * test_pcsc_transport.c: libpostcard's PC/SC transport against a real pcscd + vpcd, with
 * pcard-echo-card as the card (SELECT -> 9000, anything else -> its data || 9000).
 *
 * Needs the shared fixture (tests/pcsc-fixture.sh). Run bare (as ctest does), it re-runs itself
 * under bash inside the fixture: pcscd started, the echo card connected to vpcd, and
 * PCSC_FIXTURE_READY, PCSC_READER, PCSC_SPAWN_PID (the card's PID), PCSC_ECHO_ATR set.
 * tests/cli_pcsc_link.sh runs it the same way inside its own fixture. Because its name
 * contains "pcsc", ctest gives it RESOURCE_LOCK pcscd. Negative control for the stall check:
 * PCSC_ECHO_EXTRA=--no-quickack makes test_no_delayed_ack_stall fail.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "postcard/bytes.h"
#include "postcard/transport.h"

static const char *reader;

static pcard_transport *
open_card(int transaction)
{
	pcard_pcsc_opts o = { NULL, 0, 0, PCARD_PCSC_LEAVE, PCARD_PCSC_TANY };
	pcard_transport *t = NULL;

	o.reader = reader;
	o.transaction = transaction;
	assert_int_equal(pcard_pcsc_open(&o, &t), PCARD_OK);
	assert_non_null(t);
	return t;
}

static void
test_readers(void **state)
{
	pcard_reader_info r[8];
	size_t n = 0, hits = 0;

	(void)state;
	assert_int_equal(pcard_pcsc_list_readers(r, 8, &n), PCARD_OK);
	assert_true(n >= 2);	/* vpcd makes two readers */
	for (size_t i = 0; i < n && i < 8; i++)
		if (strcmp(r[i].name, reader) == 0) {
			hits++;
			assert_int_equal(r[i].card_present, 1);
		}
	assert_int_equal(hits, 1);
}

static void
test_atr_and_apdus(void **state)
{
	pcard_transport *t;
	uint8_t atr[40], want[40], resp[5000], cmd[4100];
	size_t n = 0, want_len = 0;
	const uint8_t sel[] = { 0x00, 0xA4, 0x04, 0x00, 0x08, 0xA0, 0x00, 0x00, 0x01, 0x51, 0x00,
		0x00, 0x00, 0x00 };
	const uint8_t case4[] = { 0x80, 0xCA, 0x00, 0x66, 0x03, 0x11, 0x22, 0x33, 0x00 };
	const uint8_t case1[] = { 0x80, 0xF2, 0x80, 0x00 };

	(void)state;
	assert_int_equal(pcard_hex_decode(getenv("PCSC_ECHO_ATR"), want, sizeof want, &want_len),
	    PCARD_OK);
	t = open_card(1);
	assert_string_equal(pcard_pcsc_reader_name(t), reader);
	assert_int_equal(pcard_transport_atr(t, atr, sizeof atr, &n), PCARD_OK);
	assert_int_equal(n, want_len);
	assert_memory_equal(atr, want, n);

	assert_int_equal(pcard_transport_transmit(t, sel, sizeof sel, resp, sizeof resp, &n),
	    PCARD_OK);
	assert_int_equal(n, 2);
	assert_int_equal(resp[0], 0x90);
	assert_int_equal(pcard_transport_transmit(t, case4, sizeof case4, resp, sizeof resp, &n),
	    PCARD_OK);
	assert_int_equal(n, 5);
	assert_memory_equal(resp, "\x11\x22\x33\x90\x00", 5);
	assert_int_equal(pcard_transport_transmit(t, case1, sizeof case1, resp, sizeof resp, &n),
	    PCARD_OK);
	assert_int_equal(n, 2);

	/* an extended APDU with 4000 data bytes passes through pcscd and vpcd both ways */
	memcpy(cmd, "\x80\xE2\x00\x00\x00\x0F\xA0", 7);
	for (size_t i = 0; i < 4000; i++)
		cmd[7 + i] = (uint8_t)(i * 13);
	cmd[4007] = 0x00;
	cmd[4008] = 0x00;	/* Le 0000 */
	assert_int_equal(pcard_transport_raw(t, cmd, 4009, resp, sizeof resp, &n), PCARD_OK);
	assert_int_equal(n, 4002);
	assert_memory_equal(resp, cmd + 7, 4000);

	/* warm and cold resets: the card answers again afterwards */
	assert_int_equal(pcard_transport_reset(t, 0), PCARD_OK);
	assert_int_equal(pcard_transport_transmit(t, sel, sizeof sel, resp, sizeof resp, &n),
	    PCARD_OK);
	assert_int_equal(pcard_transport_reset(t, 1), PCARD_OK);
	assert_int_equal(pcard_transport_transmit(t, case4, sizeof case4, resp, sizeof resp, &n),
	    PCARD_OK);
	assert_int_equal(n, 5);
	pcard_transport_close(t);
}

static long long
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int
cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

/*
 * The card sets TCP_QUICKACK around its reads: a round trip must not show vpcd's delayed-ACK
 * stall (about 44 ms, platform-facts.md). 10 ms leaves room for a loaded machine.
 */
static void
test_no_delayed_ack_stall(void **state)
{
	pcard_transport *t;
	const uint8_t case4[] = { 0x80, 0xCA, 0x00, 0x66, 0x03, 0x11, 0x22, 0x33, 0x00 };
	uint8_t resp[64];
	long long us[31];
	size_t n;

	(void)state;
	t = open_card(1);
	for (size_t i = 0; i < 31; i++) {
		long long t0 = now_us();

		assert_int_equal(pcard_transport_raw(t, case4, sizeof case4, resp, sizeof resp, &n),
		    PCARD_OK);
		us[i] = now_us() - t0;
	}
	pcard_transport_close(t);
	qsort(us, 31, sizeof us[0], cmp_ll);
	printf("# median round trip through pcscd+vpcd: %lld us\n", us[15]);
	assert_true(us[15] < 10000);
}

/* Runs last: the card leaves the reader. */
static void
test_card_removed(void **state)
{
	pcard_transport *t;
	const uint8_t sel[] = { 0x00, 0xA4, 0x04, 0x00, 0x00 };
	uint8_t resp[64];
	size_t n;
	pcard_err err = PCARD_OK;
	long pid = strtol(getenv("PCSC_SPAWN_PID"), NULL, 10);
	pcard_transport *t2 = NULL;
	pcard_pcsc_opts o = { NULL, 0, 0, PCARD_PCSC_LEAVE, PCARD_PCSC_TANY };

	(void)state;
	assert_true(pid > 1);
	t = open_card(0);
	assert_int_equal(pcard_transport_raw(t, sel, sizeof sel, resp, sizeof resp, &n), PCARD_OK);
	assert_int_equal(kill((pid_t)pid, SIGTERM), 0);	/* the fixture's echo card */
	for (int i = 0; i < 100 && err == PCARD_OK; i++) {
		usleep(50000);
		err = pcard_transport_raw(t, sel, sizeof sel, resp, sizeof resp, &n);
	}
	assert_true(err == PCARD_E_NO_CARD || err == PCARD_E_TRANSPORT);
	pcard_transport_close(t);
	/* pcscd notices the removal at its next presence poll */
	o.reader = reader;
	for (int i = 0; i < 100; i++) {
		err = pcard_pcsc_open(&o, &t2);
		if (err != PCARD_OK)
			break;
		pcard_transport_close(t2);
		t2 = NULL;
		usleep(50000);
	}
	assert_int_equal(err, PCARD_E_NO_CARD);
}

/* Outside the fixture: run again inside it (bash keeps the fixture alive around us). */
static int
reexec_in_fixture(void)
{
	char self[4096];
	ssize_t k;

	static const char script[] =
	    "set -u\n"
	    ". \"$PCARD_SOURCE_DIR/tests/pcsc-fixture.sh\" || exit 1\n"
	    "pcsc_start || exit 1\n"
	    "PCSC_ECHO_ATR=3B8A8001504F5354434152442D311B\n"
	    "pcsc_spawn \"$PCARD_BUILD_DIR/pcard-echo-card\" --port \"$PCSC_VPCD_PORT\" "
	    "--atr \"$PCSC_ECHO_ATR\" --wait-ms 5000 ${PCSC_ECHO_EXTRA:-}\n"
	    "pcsc_wait_card yes 10 || exit 1\n"
	    "PCSC_FIXTURE_READY=1 PCSC_ECHO_ATR=$PCSC_ECHO_ATR PCSC_SPAWN_PID=$PCSC_SPAWN_PID "
	    "\"$0\"\n"
	    "exit $?\n";	/* not the last command: bash must not exec it over the trap */

	if (getenv("PCARD_SOURCE_DIR") == NULL || getenv("PCARD_BUILD_DIR") == NULL) {
		fprintf(stderr, "test_pcsc_transport: PCARD_SOURCE_DIR and PCARD_BUILD_DIR must "
		    "be set (ctest sets them)\n");
		return 1;
	}
	if ((k = readlink("/proc/self/exe", self, sizeof self - 1)) <= 0) {
		perror("test_pcsc_transport: /proc/self/exe");
		return 1;
	}
	self[k] = '\0';
	execl("/bin/bash", "bash", "-c", script, self, (char *)NULL);
	perror("test_pcsc_transport: exec bash");
	return 1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_readers),
		cmocka_unit_test(test_atr_and_apdus),
		cmocka_unit_test(test_no_delayed_ack_stall),
		cmocka_unit_test(test_card_removed),
	};

	if (getenv("PCSC_FIXTURE_READY") == NULL)
		return reexec_in_fixture();
	if ((reader = getenv("PCSC_READER")) == NULL || getenv("PCSC_SPAWN_PID") == NULL ||
	    getenv("PCSC_ECHO_ATR") == NULL) {
		fprintf(stderr, "test_pcsc_transport: PCSC_READER, PCSC_SPAWN_PID, PCSC_ECHO_ATR "
		    "not set by the fixture\n");
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
