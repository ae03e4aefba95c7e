#!/usr/bin/env bash
# cli_pcsc_sim.sh: issue 3's first acceptance test. postcard-sim is connected to pcscd's vpcd
# driver (the shared fixture, tests/pcsc-fixture.sh) and driven by PC/SC programs only:
# opensc-tool reads its ATR (and fails once the simulator stops), then `postcard -r READER`
# authenticates (SCP03 i=70), loads and installs every CAP of ../shared/testdata/cap in
# dependency order (the demo applet is refused with 6438 before its three libraries and
# accepted after), lists, personalises the datastore native applet (plain and encrypted
# STORE DATA, a retry and a stale write) and reads it back with GET DATA, locks and unlocks
# an application, deletes with related objects; then the same authentication and
# load/install/delete on SCP02 cards (i=55 and i=75 with R-MAC). Every answer is checked, and
# the card file afterwards with `postcard-sim dump --json` (never through postcard).
# Its name contains "pcsc": ctest gives it RESOURCE_LOCK pcscd.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/pcsc-fixture.sh
. "$HERE/pcsc-fixture.sh"
TMP=$(mktemp -d)
pcsc_atexit 'rm -rf "$TMP"'
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
for p in postcard-sim postcard opensc-tool jq openssl xxd; do
	command -v "$p" >/dev/null || { echo "FAIL: $p not on PATH" >&2; exit 1; }
done
CAPS=${PCARD_TESTDATA:-$HERE/../../shared/testdata}/cap
[ -d "$CAPS" ] || { echo "FAIL: no CAP directory $CAPS" >&2; exit 1; }
pcsc_start || { echo "FAIL: could not start the PC/SC fixture" >&2; exit 1; }
echo "pcscd ready: reader '$PCSC_READER', vpcd port $PCSC_VPCD_PORT"
R=(-r "$PCSC_READER")
SIM=

# ---- helpers ----

start_sim() {	# start_sim CARD: serve CARD on the fixture's vpcd port, wait for the card
	pcsc_spawn postcard-sim run "$1" --vpcd "127.0.0.1:$PCSC_VPCD_PORT" --wait-ms 5000
	SIM=$PCSC_SPAWN_PID
	pcsc_wait_card yes 10 || fail "postcard-sim with $1 never appeared in '$PCSC_READER'"
}
stop_sim() {	# SIGTERM: exit 0, the reader empties
	local rc
	[ -n "$SIM" ] || return 0
	kill -TERM "$SIM" 2>/dev/null
	wait "$SIM"
	rc=$?
	SIM=
	[ "$rc" = 0 ] || fail "postcard-sim exit code $rc after SIGTERM, want 0"
	pcsc_wait_card no 10 || fail "card still present after postcard-sim stopped"
}
# expect CODE CMD...: exit code check; stdout in $TMP/out, stderr in $TMP/err
expect() {
	local want=$1 rc
	shift
	"$@" > "$TMP/out" 2> "$TMP/err"
	rc=$?
	[ "$rc" = "$want" ] || fail "'$*' exit $rc, want $want: $(head -c 400 "$TMP/err")"
}
# jout FILTER: jq over the last command's stdout
jout() { jq -r "$1" "$TMP/out"; }
colon() { echo "$1" | tr 'A-F' 'a-f' | sed 's/../&:/g; s/:$//'; }
# the card file, read directly (only while postcard-sim is stopped or between commands:
# every answered command is committed before its response leaves the card)
dump() { postcard-sim dump "$1" --json; }
app() { dump "$1" | jq -r ".applications[] | select(.aid==\"$2\") | $3"; }
elf() { dump "$1" | jq -r ".load_files[] | select(.aid==\"$2\") | $3"; }
# AES-128-CBC, ICV 0, under key $1 (hex) of the hex message $2 with ISO 7816-4 padding
# added here (80 00..), with openssl
enc_aes() {
	local p=${2}80
	while [ $(( ${#p} % 32 )) != 0 ]; do p=${p}00; done
	printf '%s' "$p" | xxd -r -p |
		openssl enc -aes-128-cbc -K "$1" -iv 00000000000000000000000000000000 -nopad |
		xxd -p | tr -d '\n' | tr a-f A-F
}
hexlen() { printf '%02X' $(( ${#1} / 2 )); }

TEST_KEY=404142434445464748494A4B4C4D4E4F
ISD=A000000151000000
DEMO_PKG=A00000FFFFF0 DEMO_APP=A00000FFFFF001
LIBS="A00000FFFFA0:openjavacard-lib-ber A00000FFFFA3:openjavacard-lib-debug
A00000FFFFA2:openjavacard-lib-fortuna"
KAOH_PKG=D0D1D2D3D4D501 KAOH_APP=D0D1D2D3D4D50101
EMPTY_PKG=0102030405 EMPTY_APP=0102030405060708
DS_PKG=F0706F73746361726401 DS_APP=F0706F7374636172640101

# ---- 1. the ATR through pcscd, and no card once the simulator stops ----

C3="$TMP/scp03.pcsim"
postcard-sim init "$C3" 2>/dev/null || fail "init scp03"
ATR=$(dump "$C3" | jq -r .identity.atr)
[ ${#ATR} -ge 4 ] || fail "no ATR in the dump"
start_sim "$C3"
got=$(opensc-tool -r "$PCSC_READER" -a 2>&1)
[ "$got" = "$(colon "$ATR")" ] || fail "opensc-tool -a printed '$got', want $(colon "$ATR")"
opensc-tool -r "$PCSC_READER" -s 00A4040008$ISD > "$TMP/s" 2>&1 ||
	fail "opensc-tool -s SELECT ISD: $(cat "$TMP/s")"
grep -q 'SW1=0x90, SW2=0x00' "$TMP/s" || fail "SELECT ISD through opensc-tool: $(cat "$TMP/s")"
stop_sim
if opensc-tool -r "$PCSC_READER" -a > "$TMP/a" 2>&1; then
	fail "opensc-tool -a still sees a card after postcard-sim stopped: $(cat "$TMP/a")"
fi
grep -qi "card not present\|no card" "$TMP/a" || fail "opensc-tool error: $(cat "$TMP/a")"
start_sim "$C3"
got=$(opensc-tool -r "$PCSC_READER" -a 2>&1)
[ "$got" = "$(colon "$ATR")" ] || fail "ATR after restart: '$got'"

# ---- 2. SCP03: authenticate ----

expect 0 postcard --json info "${R[@]}"
[ "$(jout '.card_recognition.scp')" = 03 ] || fail "info: scp $(jout '.card_recognition.scp')"
[ "$(jout .kdd)" = "$(dump "$C3" | jq -r .identity.kdd)" ] || fail "info: KDD differs from dump"
[ "$(jout .card_locked)" = false ] || fail "info: card_locked"
expect 0 postcard --json list "${R[@]}"
[ "$(jout '.channel.level + .channel.scp + .channel.i')" = 030370 ] ||
	fail "list: channel $(jout .channel)"
[ "$(jout '.entries[0].kind + .entries[0].aid')" = isd$ISD ] || fail "list: ISD first"
SEQ=$(dump "$C3" | jq '.isd.sd.key_sets[0].sequence_counter')
[ "$SEQ" -ge 1 ] || fail "the session of list did not advance the sequence counter ($SEQ)"
MEM0=$(dump "$C3" | jq .memory.used)

# ---- 3. every CAP, in dependency order; the demo refused before its libraries ----

expect 0 postcard --json install "$CAPS/gppro-empty-2.2.1.cap" "${R[@]}"
[ "$(jout .instance)" = $EMPTY_APP ] || fail "gppro-empty: instance $(jout .instance)"
expect 0 postcard --json install "$CAPS/kaoh-helloworld.cap" "${R[@]}"
[ "$(jout .instance)" = $KAOH_APP ] || fail "kaoh: instance $(jout .instance)"
before=$(dump "$C3" | jq -S 'del(.. | .sequence_counter?)')
expect 4 postcard --json install "$CAPS/openjavacard-app-demo.cap" "${R[@]}"
[ "$(jout .error.sw)" = 6438 ] || fail "demo before its libraries: SW $(jout .error.sw), want 6438"
[ "$(jout .error.exit)" = 4 ] || fail "demo refusal: json exit $(jout .error.exit)"
[ "$(grep -cv '^warning:' "$TMP/err")" = 1 ] || fail "demo refusal: stderr not one line: $(cat "$TMP/err")"
[ "$(dump "$C3" | jq -S 'del(.. | .sequence_counter?)')" = "$before" ] ||
	fail "the refused LOAD changed the card (beyond the sequence counter)"
for l in $LIBS; do
	expect 0 postcard --json load "$CAPS/${l#*:}.cap" "${R[@]}"
	[ "$(jout .package)" = "${l%%:*}" ] || fail "load ${l#*:}: package $(jout .package)"
	[ "$(jout .ok)" = true ] || fail "load ${l#*:}: not ok"
done
expect 0 postcard --json install "$CAPS/openjavacard-app-demo.cap" "${R[@]}"
[ "$(jout .instance)" = $DEMO_APP ] || fail "demo after its libraries: $(jout .instance)"
D=$(dump "$C3")
for p in $EMPTY_PKG $KAOH_PKG $DEMO_PKG A00000FFFFA0 A00000FFFFA3 A00000FFFFA2; do
	[ "$(jq -r ".load_files[] | select(.aid==\"$p\") | .rom" <<<"$D")" = false ] ||
		fail "dump: load file $p missing"
done
for a in $EMPTY_APP $KAOH_APP $DEMO_APP; do
	[ "$(jq -r ".applications[] | select(.aid==\"$a\") | .life_cycle_name" <<<"$D")" = \
		SELECTABLE ] || fail "dump: $a not SELECTABLE"
done
[ "$(jq -r ".load_files[] | select(.aid==\"$DEMO_PKG\") | [.imports[].aid] | sort | join(\",\")" \
	<<<"$D")" = A0000000620001,A0000000620101,A00000FFFFA0,A00000FFFFA2,A00000FFFFA3 ] ||
	fail "dump: demo imports"
[ "$(jq .memory.used <<<"$D")" -gt "$MEM0" ] || fail "dump: no memory charged for the loads"

# ---- 4. list ----

expect 0 postcard --json list "${R[@]}"
for a in $EMPTY_APP $KAOH_APP $DEMO_APP; do
	[ "$(jout "[.entries[] | select(.aid==\"$a\")] | length")" = 1 ] || fail "list: $a missing"
done
for p in $EMPTY_PKG $KAOH_PKG $DEMO_PKG A00000FFFFA0 A00000FFFFA3 A00000FFFFA2; do
	[ "$(jout "[.entries[] | select(.aid==\"$p\")] | length")" -ge 1 ] ||
		fail "list: package $p missing"
done
[ "$(jout '[.entries[] | select(.aid=="A0000000620101")] | length')" -ge 1 ] ||
	fail "list: ROM javacard.framework missing"

# ---- 5. the datastore native applet: personalise, read back ----

expect 0 postcard-sim cap datastore -o "$TMP/ds.cap"
expect 0 postcard --json install "$TMP/ds.cap" "${R[@]}"
[ "$(jout .instance)" = $DS_APP ] || fail "datastore instance $(jout .instance)"
[ "$(app "$C3" $DS_APP .applet)" = datastore ] || fail "dump: not bound to the datastore"
[ "$(app "$C3" $DS_APP .data_version)" = 0 ] || fail "datastore: version before perso"
# version 1: C1 04 00000001, DF01 "ABC", 5F20 "postcard"; plain STORE DATA through the ISD
MSG1=C10400000001DF01034142435F2008706F737463617264
expect 0 postcard --json personalize $DS_APP --data "$MSG1" "${R[@]}"
[ "$(jout .ok)" = true ] || fail "personalize: not ok"
[ "$(app "$C3" $DS_APP .data_version)" = 1 ] || fail "dump: data_version after perso"
# GET DATA by anyone, instance selected: the items, the tag list, the version
SEL_DS=00A404000B$DS_APP
expect 4 postcard --json apdu $SEL_DS 00CADF0100 00CA5F2000 00CA005C00 00CA00C100 00CA00C200 \
	"${R[@]}"
[ "$(jout '[.responses[].sw] | join(",")')" = 9000,9000,9000,9000,9000,6A88 ] ||
	fail "GET DATA SWs: $(jout '[.responses[].sw] | join(",")')"
[ "$(jout '.responses[1].data')" = DF0103414243 ] || fail "GET DATA DF01: $(jout '.responses[1].data')"
[ "$(jout '.responses[2].data')" = 5F2008706F737463617264 ] || fail "GET DATA 5F20"
[ "$(jout '.responses[3].data')" = 5C045F20DF01 ] || fail "GET DATA 5C: $(jout '.responses[3].data')"
[ "$(jout '.responses[4].data')" = C10400000001 ] || fail "GET DATA C1: $(jout '.responses[4].data')"
# the same message again (a retry): 9000, nothing changes; another one with version 1: 6985
sha1=$(app "$C3" $DS_APP .data_sha256)
expect 0 postcard personalize $DS_APP --data "$MSG1" "${R[@]}"
[ "$(app "$C3" $DS_APP .data_sha256)" = "$sha1" ] || fail "a retried message changed the data"
expect 4 postcard --json personalize $DS_APP --data C10400000001DF010158 "${R[@]}"
[ "$(jout .error.sw)" = 6985 ] || fail "same version, other message: SW $(jout .error.sw)"
# version 2, encrypted (P1 E0: AES-CBC under the static DEK), compare-and-set on version 1,
# deleting 5F20 and changing DF01: INSTALL [for personalization] then STORE DATA, wrapped
MSG2=C00400000001C10400000002DF0102585A5F2000
CT=$(enc_aes $TEST_KEY "$MSG2")
[ ${#CT} = 64 ] || fail "encryption with openssl: '$CT'"
PERSO=80E62000110000$(hexlen $DS_APP)${DS_APP}000000	# INSTALL [for personalization]
expect 0 postcard --json apdu --secure "$PERSO" "80E2E000$(hexlen "$CT")$CT" "${R[@]}"
[ "$(jout '[.responses[].sw] | join(",")')" = 9000,9000 ] ||
	fail "encrypted STORE DATA: $(jout '[.responses[].sw] | join(",")')"
[ "$(app "$C3" $DS_APP .data_version)" = 2 ] || fail "dump: data_version after the encrypted write"
expect 4 postcard --json apdu $SEL_DS 00CADF0100 00CA5F2000 00CA00C100 "${R[@]}"
[ "$(jout '[.responses[] | .sw + ":" + .data] | join(",")')" = \
	"9000:,9000:DF0102585A,6A88:,9000:C10400000002" ] ||
	fail "after the encrypted write: $(jout '[.responses[] | .sw + ":" + .data] | join(",")')"
# a stale write (version 1 < 2) is refused and changes nothing
sha2=$(app "$C3" $DS_APP .data_sha256)
expect 4 postcard --json personalize $DS_APP --data C10400000001DF010159 "${R[@]}"
[ "$(jout .error.sw)" = 6985 ] || fail "stale version: SW $(jout .error.sw)"
[ "$(app "$C3" $DS_APP .data_sha256)/$(app "$C3" $DS_APP .data_version)" = "$sha2/2" ] ||
	fail "a stale write changed the data"

# ---- 6. lock and unlock an application ----

expect 0 postcard --json lock-app $KAOH_APP "${R[@]}"
[ "$(app "$C3" $KAOH_APP .life_cycle)" = 87 ] || fail "lock-app: life cycle $(app "$C3" $KAOH_APP .life_cycle)"
expect 4 postcard --json apdu 00A4040008$KAOH_APP "${R[@]}"
[ "$(jout '.responses[0].sw')" = 6A82 ] || fail "SELECT of a locked application: $(jout '.responses[0].sw')"
expect 0 postcard --json unlock-app $KAOH_APP "${R[@]}"
[ "$(app "$C3" $KAOH_APP .life_cycle)" = 07 ] || fail "unlock-app: life cycle"
expect 0 postcard --json apdu 00A4040008$KAOH_APP "${R[@]}"
[ "$(jout '.responses[0].sw')" = 9000 ] || fail "SELECT after unlock: $(jout '.responses[0].sw')"

# ---- 7. delete, with related objects ----

expect 4 postcard --json delete A00000FFFFA0 "${R[@]}"
[ "$(jout .error.sw)" = 6985 ] || fail "delete of an imported library: SW $(jout .error.sw)"
expect 0 postcard --json delete $DEMO_PKG -f "${R[@]}"
[ "$(jout .related)" = true ] || fail "delete -f: related not reported"
for l in $LIBS; do
	expect 0 postcard delete "${l%%:*}" "${R[@]}"
done
expect 0 postcard delete $KAOH_PKG -f "${R[@]}"
expect 0 postcard delete $EMPTY_PKG -f "${R[@]}"
expect 0 postcard delete $DS_PKG -f "${R[@]}"
expect 4 postcard --json delete $KAOH_APP "${R[@]}"
[ "$(jout .error.sw)" = 6A88 ] || fail "delete of a deleted instance: SW $(jout .error.sw)"
stop_sim
D=$(dump "$C3")
[ "$(jq '.applications | length' <<<"$D")" = 0 ] || fail "dump: applications left: $(jq -c '[.applications[].aid]' <<<"$D")"
[ "$(jq '[.load_files[] | select(.rom | not)] | length' <<<"$D")" = 0 ] ||
	fail "dump: loaded packages left"
[ "$(jq .memory.used <<<"$D")" = "$MEM0" ] || fail "dump: memory $(jq .memory.used <<<"$D"), want $MEM0"
[ "$(jq -r .life_cycle_name <<<"$D")" = SECURED ] || fail "dump: card life cycle"
[ "$(jq '.isd.sd.key_sets[0].failed_authentications' <<<"$D")" = 0 ] ||
	fail "dump: failed authentications counted"
# one INITIALIZE UPDATE per authenticated postcard run above: 26 (list 2, install 5, load 3,
# personalize 4, apdu --secure 1, lock/unlock 2, delete 9)
[ "$(jq '.isd.sd.key_sets[0].sequence_counter' <<<"$D")" = 26 ] ||
	fail "dump: sequence counter $(jq '.isd.sd.key_sets[0].sequence_counter' <<<"$D"), want 26"

# ---- 8. SCP02: i=55, and i=75 (R-MAC) ----

scp02() {	# scp02 I LEVEL
	local C="$TMP/scp02-$1.pcsim"
	postcard-sim init "$C" --scp 02 --i "$1" 2>/dev/null || fail "init scp02 i=$1"
	start_sim "$C"
	expect 0 postcard --json info "${R[@]}"
	[ "$(jout '.card_recognition.scp + .card_recognition.i')" = "02$1" ] ||
		fail "scp02 i=$1: info $(jout .card_recognition)"
	expect 0 postcard --json list --level "$2" "${R[@]}"
	[ "$(jout '.channel.scp + .channel.i + .channel.level')" = "02$1$2" ] ||
		fail "scp02 i=$1: channel $(jq -c .channel "$TMP/out")"
	expect 4 postcard --json install "$CAPS/openjavacard-app-demo.cap" --level "$2" "${R[@]}"
	[ "$(jout .error.sw)" = 6438 ] || fail "scp02 i=$1: demo SW $(jout .error.sw)"
	expect 0 postcard --json install "$CAPS/kaoh-helloworld.cap" --level "$2" "${R[@]}"
	[ "$(jout .instance)" = $KAOH_APP ] || fail "scp02 i=$1: install"
	[ "$(app "$C" $KAOH_APP .life_cycle_name)" = SELECTABLE ] || fail "scp02 i=$1: dump"
	expect 0 postcard --json delete $KAOH_PKG -f --level "$2" "${R[@]}"
	stop_sim
	[ "$(dump "$C" | jq '[.applications[], (.load_files[] | select(.rom | not))] | length')" = \
		0 ] || fail "scp02 i=$1: content left after delete"
	[ "$(dump "$C" | jq -r '.isd.sd.scp + .isd.sd.i')" = "02$1" ] || fail "scp02 i=$1: dump SCP"
}
scp02 55 03
scp02 75 13

if [ "$fails" -ne 0 ]; then
	echo "$fails check(s) failed" >&2
	exit 1
fi
echo "cli_pcsc_sim: all checks passed"
