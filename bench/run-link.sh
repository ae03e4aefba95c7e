#!/usr/bin/env bash
# run-link.sh: run bench_link inside the shared PC/SC fixture (tests/pcsc-fixture.sh starts
# pcscd with vpcd on its test port and stops it afterwards).
# Usage: bench/run-link.sh [BUILD_DIR] [bench_link options]   (BUILD_DIR default: build)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=${1:-"$HERE/../build"}
[ $# -gt 0 ] && shift
BENCH="$BUILD/bench_link"
[ -x "$BENCH" ] || { echo "run-link.sh: $BENCH not built (cmake --build $BUILD)" >&2; exit 1; }
# shellcheck source=tests/pcsc-fixture.sh
. "$HERE/../tests/pcsc-fixture.sh"
pcsc_start || exit 1
"$BENCH" --port "$PCSC_VPCD_PORT" --reader "$PCSC_READER" "$@"
