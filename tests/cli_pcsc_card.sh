#!/usr/bin/env bash
# cli_pcsc_card.sh: `postcard` through real PC/SC: postcard-sim on vpcd behind the shared
# pcscd (tests/pcsc-fixture.sh). readers lists the virtual reader with its card; -r by name,
# substring and index and PCARD_READER pick it; info, list, install, personalize and delete
# run on an SCP03 and an SCP02 card, checked with `postcard-sim dump --json` on the card file
# once the card program has stopped. A reader that does not exist is one line and exit 7.
# Its name contains "pcsc": ctest gives it RESOURCE_LOCK pcscd.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/pcsc-fixture.sh
. "$HERE/pcsc-fixture.sh"
TMP=$(mktemp -d)
pcsc_atexit 'rm -rf "$TMP"'
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
for p in postcard-sim postcard jq; do
	command -v "$p" >/dev/null || { echo "FAIL: $p not on PATH" >&2; exit 1; }
done
CAP=${PCARD_TESTDATA:-$HERE/../../shared/testdata}/cap/kaoh-helloworld.cap
PKG=D0D1D2D3D4D501
APP=D0D1D2D3D4D50101
DS=F0706F7374636172640101

expect() {	# expect CODE CMD...: stdout in $TMP/out, stderr in $TMP/err
	local want=$1 rc
	shift
	"$@" > "$TMP/out" 2> "$TMP/err"
	rc=$?
	[ "$rc" = "$want" ] || fail "'$*' exit $rc, want $want: $(head -c 400 "$TMP/err")"
}
card_on() {	# card_on FILE: serve FILE in the first vpcd reader, wait for pcscd to see it
	pcsc_spawn postcard-sim run "$1" --vpcd "127.0.0.1:$PCSC_VPCD_PORT" --wait-ms 5000
	CARD_PID=$PCSC_SPAWN_PID
	pcsc_wait_card yes 10 || fail "card $1 never appeared in '$PCSC_READER'"
}
card_off() {
	kill "$CARD_PID" 2>/dev/null
	wait "$CARD_PID" 2>/dev/null
	pcsc_wait_card no 10 || fail "card did not leave the reader"
}

pcsc_start || { echo "FAIL: could not start the PC/SC fixture" >&2; exit 1; }

# no card: the reader is listed empty
expect 0 postcard --json readers
[ "$(jq -r ".readers[] | select(.name==\"$PCSC_READER\") | .card_present" "$TMP/out")" = \
    false ] || fail "readers: '$PCSC_READER' not listed empty: $(cat "$TMP/out")"
expect 7 postcard info -r "$PCSC_READER"
[ "$(wc -l < "$TMP/err")" = 1 ] || fail "info on an empty reader: not one line"

scenario() {	# scenario 03|02
	local C="$TMP/card$1.pcsim" idx
	if [ "$1" = 02 ]; then
		postcard-sim init "$C" --scp 02 --i 55 2>/dev/null || fail "init $1"
	else
		postcard-sim init "$C" 2>/dev/null || fail "init $1"
	fi
	postcard-sim cap datastore -o "$TMP/ds.cap" || fail "cap datastore"
	card_on "$C"

	expect 0 postcard --json readers
	[ "$(jq -r ".readers[] | select(.name==\"$PCSC_READER\") | .card_present" "$TMP/out")" = \
	    true ] || fail "readers $1: no card in '$PCSC_READER'"
	idx=$(jq -r ".readers[] | select(.name==\"$PCSC_READER\") | .index" "$TMP/out")
	expect 0 postcard readers
	grep -q "^$idx: $PCSC_READER\$" "$TMP/out" || fail "readers $1: text listing"

	expect 0 postcard --json info -r "$PCSC_READER"
	[ "$(jq -r '.card_recognition.scp' "$TMP/out")" = "$1" ] || fail "info $1 by name"
	expect 0 postcard --json info -r "PCD 00 00"
	[ "$(jq -r '.sd' "$TMP/out")" = A000000151000000 ] || fail "info $1 by substring"
	expect 0 postcard --json list -r "$idx"
	[ "$(jq -r '.entries[0].kind' "$TMP/out")" = isd ] || fail "list $1 by index"
	expect 0 env PCARD_READER="$PCSC_READER" postcard --json list
	[ "$(jq -r '.channel.scp' "$TMP/out")" = "$1" ] || fail "list $1 with PCARD_READER"
	expect 7 postcard list -r "No Such Reader 42"
	[ "$(grep -c '^postcard: ' "$TMP/err")" = 1 ] || fail "unknown reader $1: not one line"

	expect 0 postcard --json install "$CAP" -r "$PCSC_READER"
	[ "$(jq -r '.instance' "$TMP/out")" = $APP ] || fail "install $1"
	expect 0 postcard install "$TMP/ds.cap" -r "$PCSC_READER"
	printf 'tlv enc C1 04 00000007 5F20 02 CAFE\n' > "$TMP/p.perso"
	expect 0 postcard personalize $DS --perso-file "$TMP/p.perso" -r "$PCSC_READER"
	expect 0 postcard lock-app $APP -r "$PCSC_READER"
	card_off
	postcard-sim dump "$C" --json > "$TMP/d"
	[ "$(jq -r ".applications[] | select(.aid==\"$APP\") | .life_cycle" "$TMP/d")" = 87 ] ||
		fail "$1: lock-app not in the dump"
	[ "$(jq -r ".applications[] | select(.aid==\"$DS\") | .data_version" "$TMP/d")" = 7 ] ||
		fail "$1: personalize not in the dump"
	card_on "$C"
	expect 0 postcard delete $PKG -f -r "$PCSC_READER"
	expect 0 postcard load "$CAP" -r "$PCSC_READER"
	card_off
	postcard-sim dump "$C" --json > "$TMP/d"
	jq -e ".applications[] | select(.aid==\"$APP\")" "$TMP/d" >/dev/null &&
		fail "$1: delete -f left the applet"
	jq -e ".load_files[] | select(.aid==\"$PKG\")" "$TMP/d" >/dev/null ||
		fail "$1: load did not load the package"
}

scenario 03
scenario 02
[ "$fails" = 0 ] || { echo "$fails failure(s)" >&2; exit 1; }
echo "cli_pcsc_card: all passed"
