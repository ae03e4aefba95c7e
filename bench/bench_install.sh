#!/usr/bin/env bash
# bench_install.sh: what `postcard install` costs on the wire, through pcscd+vpcd (the shared
# fixture, tests/pcsc-fixture.sh), for each shared CAP (../shared/testdata/cap, libraries
# first so that the application finds its imports) and for a generated 30 KB CAP.
#
# For each CAP: APDUs postcard sent (its --json "apdus", the client's pcard_gpc_stats)
# against the minimum
#   SELECT + INITIALIZE UPDATE + EXTERNAL AUTHENTICATE + INSTALL [for load]
#   + ceil(load file / largest LOAD payload at the level) + INSTALL [for install]
# (no INSTALL [for install] for a library); command bytes before secure messaging
# ("bytes_sent") against the load file plus a 5-byte header per LOAD, and as they went to the
# reader ("wire_bytes": C-MAC, padding and encryption added); and the wall time of the whole
# command (process start to exit, median of --runs).
# The largest LOAD payload at level 03 (C-MAC + C-DEC) is 239 bytes on both SCPs (255 minus
# the 8-byte MAC, rounded down to whole cipher blocks, minus the one byte of padding that is
# always added); at level 01 (C-MAC only) 247.
#
# A benchmark, not a test: CI does not run it. Usage:
#   bench/bench_install.sh [BUILD_DIR] [--scp 02|03] [--level 01|03] [--runs N]
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD="$HERE/../build"
if [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; then BUILD=$1; shift; fi
SCP=03 LEVEL=03 RUNS=3
while [ $# -gt 0 ]; do
	case $1 in
	--scp) SCP=$2; shift 2 ;;
	--level) LEVEL=$2; shift 2 ;;
	--runs) RUNS=$2; shift 2 ;;
	*) echo "usage: $0 [BUILD_DIR] [--scp 02|03] [--level 01|03] [--runs N]" >&2; exit 2 ;;
	esac
done
for p in postcard postcard-sim; do
	[ -x "$BUILD/$p" ] || { echo "bench_install: $BUILD/$p not built" >&2; exit 1; }
done
command -v jq >/dev/null || { echo "bench_install: jq missing" >&2; exit 1; }
PATH="$BUILD:$PATH"
CAPDIR=${PCARD_TESTDATA:-$HERE/../../shared/testdata}/cap
case $LEVEL in 01) MAXLOAD=247 ;; 03) MAXLOAD=239 ;; *) echo "--level 01 or 03" >&2; exit 2 ;; esac

# shellcheck source=tests/pcsc-fixture.sh
. "$HERE/../tests/pcsc-fixture.sh"
TMP=$(mktemp -d)
pcsc_atexit 'rm -rf "$TMP"'
pcsc_start || exit 1

postcard cap build --package D0D1D2D3D4D530 --applet D0D1D2D3D4D53001 \
    --import A0000000620101:1.3 --size 30000 -o "$TMP/gen-30k.cap" 2>/dev/null || exit 1
CAPS=("$CAPDIR/openjavacard-lib-ber.cap" "$CAPDIR/openjavacard-lib-debug.cap"
	"$CAPDIR/openjavacard-lib-fortuna.cap" "$CAPDIR/openjavacard-app-demo.cap"
	"$CAPDIR/gppro-empty-2.2.1.cap" "$CAPDIR/kaoh-helloworld.cap" "$TMP/gen-30k.cap")

if [ "$SCP" = 02 ]; then
	postcard-sim init "$TMP/card.pcsim" --scp 02 --i 55 --memory 200000 2>/dev/null || exit 1
else
	postcard-sim init "$TMP/card.pcsim" --memory 200000 2>/dev/null || exit 1
fi
pcsc_spawn postcard-sim run "$TMP/card.pcsim" --vpcd "127.0.0.1:$PCSC_VPCD_PORT" --wait-ms 5000
pcsc_wait_card yes 10 || exit 1
R=(-r "$PCSC_READER" --level "$LEVEL" -q)

now_us() { echo $(( $(date +%s%N) / 1000 )); }

printf 'SCP%s, level %s, largest LOAD payload %d bytes, %d runs, through pcscd+vpcd\n' \
    "$SCP" "$LEVEL" "$MAXLOAD" "$RUNS"
printf '%-26s %6s %5s %4s %5s %7s %7s %5s %7s %5s %8s\n' CAP "LF" APDUs min ratio plain \
    "min(*)" ratio wire ratio "ms (med)"
for cap in "${CAPS[@]}"; do
	name=$(basename "$cap" .cap)
	info=$(postcard --json cap info "$cap")
	pkg=$(jq -r '.package_aid' <<<"$info")
	napp=$(jq -r '.applets | length' <<<"$info")
	lfl=$(jq -r '.load_file_length' <<<"$info")
	cmd=load
	[ "$napp" -gt 0 ] && cmd=install
	times=()
	for run in $(seq "$RUNS"); do
		if [ "$run" -gt 1 ]; then
			postcard delete "$pkg" -f "${R[@]}" >/dev/null 2>&1 || {
				echo "bench_install: delete $pkg failed" >&2; exit 1; }
		fi
		t0=$(now_us)
		if ! postcard --json "$cmd" "$cap" "${R[@]}" > "$TMP/out" 2> "$TMP/err"; then
			echo "bench_install: $cmd $name failed: $(cat "$TMP/err")" >&2
			exit 1
		fi
		t1=$(now_us)
		times+=($(( (t1 - t0) / 1000 )))
	done
	apdus=$(jq -r '.apdus' "$TMP/out")
	bytes=$(jq -r '.bytes_sent' "$TMP/out")
	wire=$(jq -r '.wire_bytes' "$TMP/out")
	nload=$(( (lfl + MAXLOAD - 1) / MAXLOAD ))
	min=$(( 4 + nload + (napp > 0 ? 1 : 0) ))
	minb=$(( lfl + nload * 5 ))
	med=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p")
	printf '%-26s %6d %5d %4d %5.2f %7d %7d %5.2f %7d %5.2f %8d\n' "$name" "$lfl" "$apdus" \
	    "$min" "$(echo "$apdus / $min" | bc -l)" "$bytes" "$minb" \
	    "$(echo "$bytes / $minb" | bc -l)" "$wire" "$(echo "$wire / $minb" | bc -l)" "$med"
done
echo "LF: load file bytes (C4 + length + LFDB). (*) the load file plus a 5-byte header per LOAD;"
echo "plain/wire also hold SELECT, the handshake, both INSTALLs and each LOAD's Le byte."
