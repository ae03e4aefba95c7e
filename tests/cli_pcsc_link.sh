#!/usr/bin/env bash
# cli_pcsc_link.sh: a card program on vpcd, seen by ordinary PC/SC tools through pcscd.
# Starts the shared fixture (tests/pcsc-fixture.sh), connects pcard-echo-card, checks
# opensc-tool's view (ATR, APDUs), runs test_pcsc_transport (libpostcard's PC/SC transport)
# inside the same fixture, checks that the card disappears when its program stops and that a
# card program exits with a clear message when pcscd goes away. Built programs are on PATH
# under ctest. Its name contains "pcsc": ctest gives it RESOURCE_LOCK pcscd.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/pcsc-fixture.sh
. "$HERE/pcsc-fixture.sh"
TMP=$(mktemp -d)
pcsc_atexit 'rm -rf "$TMP"'
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

for p in pcard-echo-card test_pcsc_transport opensc-tool; do
	command -v "$p" >/dev/null || { echo "FAIL: $p not on PATH" >&2; exit 1; }
done
pcsc_start || { echo "FAIL: could not start the PC/SC fixture" >&2; exit 1; }
echo "pcscd ready: reader '$PCSC_READER', vpcd port $PCSC_VPCD_PORT"

# ATR "3B 8A 80 01 'POSTCARD-1' TCK" as opensc-tool prints it.
colon() { echo "$1" | tr 'A-F' 'a-f' | sed 's/../&:/g; s/:$//'; }

# 1. No card yet: the reader exists and is empty.
opensc-tool -l > "$TMP/l" 2>&1
grep -q "No .*$PCSC_READER" "$TMP/l" || fail "reader not listed empty: $(cat "$TMP/l")"
opensc-tool -r "$PCSC_READER" -a > "$TMP/a" 2>&1 && fail "ATR read with no card: $(cat "$TMP/a")"

# 2. libpostcard's PC/SC transport against an echo card (the program stops that card last).
ATR1=3B8A8001504F5354434152442D311B
pcsc_spawn pcard-echo-card --port "$PCSC_VPCD_PORT" --atr "$ATR1" --wait-ms 5000
pcsc_wait_card yes 10 || fail "echo card 1 never appeared"
if ! PCSC_FIXTURE_READY=1 PCSC_ECHO_ATR=$ATR1 PCSC_SPAWN_PID=$PCSC_SPAWN_PID \
	test_pcsc_transport > "$TMP/t" 2>&1; then
	cat "$TMP/t" >&2
	fail "test_pcsc_transport"
fi
grep '^# median' "$TMP/t"

# 3. opensc-tool sees a second card's ATR and exchanges APDUs with it.
pcsc_wait_card no 10 || fail "card 1 still present after its program stopped"
ATR2=3B021402
pcsc_spawn pcard-echo-card --port "$PCSC_VPCD_PORT" --atr "$ATR2" --wait-ms 5000
card2=$PCSC_SPAWN_PID
pcsc_wait_card yes 10 || fail "echo card 2 never appeared"
got=$(opensc-tool -r "$PCSC_READER" -a 2>&1)
[ "$got" = "$(colon "$ATR2")" ] || fail "opensc-tool -a printed '$got', want $(colon "$ATR2")"
opensc-tool -r "$PCSC_READER" -s 00A4040000 -s 80CA00660311223300 > "$TMP/s" 2>&1 ||
	fail "opensc-tool -s failed: $(cat "$TMP/s")"
[ "$(grep -c 'SW1=0x90, SW2=0x00' "$TMP/s")" = 2 ] || fail "APDUs: $(cat "$TMP/s")"
grep -q '^11 22 33 ' "$TMP/s" || fail "echo data missing: $(cat "$TMP/s")"

# 4. The card program stops: the reader is empty and opensc-tool fails.
kill -TERM "$card2"
wait "$card2"
rc=$?
[ "$rc" = 0 ] || fail "echo card exit code $rc after SIGTERM, want 0"
pcsc_wait_card no 10 || fail "card 2 still present after its program stopped"
if opensc-tool -r "$PCSC_READER" -a > "$TMP/a" 2>&1; then
	fail "opensc-tool -a still sees a card: $(cat "$TMP/a")"
fi
grep -qi "card not present\|no card" "$TMP/a" || fail "unexpected opensc-tool error: $(cat "$TMP/a")"

# 5. pcscd goes away under a connected card: the card program says so and exits with 7 (I/O).
# (Not with a pcscd kept running on purpose by PCSC_FIXTURE_KEEP=1: that one is not ours to stop.)
if pcsc_owned; then
	pcard-echo-card --port "$PCSC_VPCD_PORT" --wait-ms 5000 2> "$TMP/c3" &
	card3=$!
	pcsc_wait_card yes 10 || fail "echo card 3 never appeared"
	pcsc_stop_daemon
	for _ in $(seq 1 50); do
		kill -0 "$card3" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$card3" 2>/dev/null; then
		fail "card program still running 5 s after pcscd stopped"
		kill -KILL "$card3"
	fi
	wait "$card3"
	rc=$?
	[ "$rc" = 7 ] || fail "card exit code $rc when pcscd stopped, want 7"
	grep -q "vpcd closed the connection" "$TMP/c3" || fail "card message: $(cat "$TMP/c3")"
	# connecting to a vpcd that is not there is a clear error too
	pcard-echo-card --port "$PCSC_VPCD_PORT" 2> "$TMP/c4"
	rc=$?
	[ "$rc" = 7 ] || fail "card exit code $rc with no vpcd, want 7"
	grep -q "Connection refused" "$TMP/c4" || fail "card message: $(cat "$TMP/c4")"
else
	echo "NOTE: pcscd is kept (PCSC_FIXTURE_KEEP): the pcscd-stops checks were not run"
fi

if [ "$fails" -ne 0 ]; then
	echo "$fails check(s) failed" >&2
	exit 1
fi
echo "cli_pcsc_link: all checks passed"
