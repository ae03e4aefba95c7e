#!/usr/bin/env bash
# cli_pcsc_card_all.sh: every scenario of cli_card.sh (all the card commands of `postcard`,
# the refusals, the state checked with `postcard-sim dump --json`) through real PC/SC:
# pcscd with the vpcd driver from tests/pcsc-fixture.sh, each card on vpcd, every postcard
# call with -r "$PCSC_READER" (CLI_CARD_TRANSPORT=pcsc). Issue 4's acceptance asks for the
# integration tests over pcscd+vpcd; cli_card.sh alone runs them over the TCP link.
# Its name contains "pcsc": ctest gives it RESOURCE_LOCK pcscd; it holds the fixture's lock
# for the whole run, the child does not take it again.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/pcsc-fixture.sh
. "$HERE/pcsc-fixture.sh"
pcsc_start || { echo "FAIL: could not start the PC/SC fixture" >&2; exit 1; }
start=$(date +%s)
# the lock descriptor is closed in the child (pcsc_spawn), so nothing it leaves behind could
# hold the lock
pcsc_spawn env CLI_CARD_TRANSPORT=pcsc bash "$HERE/cli_card.sh"
wait "$PCSC_SPAWN_PID"
rc=$?
echo "cli_pcsc_card_all: cli_card.sh over pcscd+vpcd exit $rc in $(( $(date +%s) - start )) s"
exit $rc
