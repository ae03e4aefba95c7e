#!/usr/bin/env bash
# run-sim.sh: the median round trip of an APDU to postcard-sim through pcscd + vpcd, with the
# simulator's TCP_QUICKACK on and off (postcard-sim run --no-quickack), in the same run; then
# the in-process figures of bench_card. Uses the shared PC/SC fixture (tests/pcsc-fixture.sh:
# its own pcscd with vpcd on the test port, stopped afterwards).
# Usage: bench/run-sim.sh [BUILD_DIR] [ITER] [ITER_SLOW]   (defaults: build, 2000, 40)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=${1:-"$HERE/../build"}
ITER=${2:-2000}
ITER_SLOW=${3:-40}
for p in postcard-sim bench_card; do
	[ -x "$BUILD/$p" ] || { echo "run-sim.sh: $BUILD/$p not built (cmake --build $BUILD)" >&2; exit 1; }
done
# shellcheck source=tests/pcsc-fixture.sh
. "$HERE/../tests/pcsc-fixture.sh"
TMP=$(mktemp -d)
pcsc_atexit 'rm -rf "$TMP"'
pcsc_start || exit 1
"$BUILD/postcard-sim" init "$TMP/card.pcsim" 2>/dev/null || exit 1

# one_run FLAGS ITER: serve the card with FLAGS, print bench_card --pcsc's lines
one_run() {
	local rc
	pcsc_spawn "$BUILD/postcard-sim" run "$TMP/card.pcsim" --vpcd "127.0.0.1:$PCSC_VPCD_PORT" \
		--wait-ms 5000 $1
	pcsc_wait_card yes 10 || return 1
	"$BUILD/bench_card" --pcsc "$PCSC_READER" --iter "$2"
	rc=$?
	kill -TERM "$PCSC_SPAWN_PID"
	wait "$PCSC_SPAWN_PID" 2>/dev/null
	pcsc_wait_card no 10
	return $rc
}

echo "# postcard-sim through pcscd + vpcd (reader '$PCSC_READER', port $PCSC_VPCD_PORT): round trip"
echo "## TCP_QUICKACK on ($ITER APDUs each)"
one_run "" "$ITER" 2>"$TMP/err" | tee "$TMP/on" || { cat "$TMP/err" >&2; exit 1; }
echo "## TCP_QUICKACK off, postcard-sim run --no-quickack ($ITER_SLOW APDUs each)"
one_run --no-quickack "$ITER_SLOW" 2>"$TMP/err" | tee "$TMP/off" || { cat "$TMP/err" >&2; exit 1; }
med() { awk -v k="$2" '$0 ~ k { for (i = 1; i < NF; i++) if ($i == "median") print $(i + 1) }' "$1"; }
for k in "SELECT ISD" "GET DATA 9F7F"; do
	awk -v a="$(med "$TMP/off" "$k")" -v b="$(med "$TMP/on" "$k")" -v k="$k" \
		'BEGIN { printf "# %s: median quick-ACK off / on = %.1f / %.1f us = %.0fx\n", k, a, b, a / b }'
done
echo
"$BUILD/bench_card"
