#!/usr/bin/env bash
# cli_p11_card.sh: postcard card commands with --key pkcs11:URI (the secure channel's key is a
# SoftHSMv2 token object, never in postcard's memory) against postcard-sim over TCP, on a
# private token made by scripts/softhsm-init in a temporary folder:
#  - template none: the token object is the card's static key (imported --static);
#  - --kdf kdf3: the token object is the master, the HSM derives the card keys;
#  - refusals give one 'postcard: ' line and the documented exit code: malformed URI and
#    pin-value (2, 8), unknown object (3), unknown token (3), module that does not load (7),
#    no PIN (3), wrong PIN (5), an AES object on an SCP02 card (3).
set -u

TMP=$(mktemp -d)
SIM_PID=
trap '[ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null; rm -rf "$TMP"' EXIT
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
for p in postcard-sim postcard pcard-hsm-import softhsm2-util jq; do
	command -v "$p" >/dev/null || { echo "FAIL: $p not on PATH" >&2; exit 1; }
done
HERE=$(cd "$(dirname "$0")" && pwd)
CAP=${PCARD_TESTDATA:-$HERE/../../shared/testdata}/cap/kaoh-helloworld.cap
MODULE=${PCARD_HSM_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
GPKEY=404142434445464748494A4B4C4D4E4F
unset PCARD_HSM_PIN

# the private token "p11test", SOFTHSM2_CONF pointing at it
eval "$(PCARD_BUILD_DIR=$(dirname "$(command -v pcard-hsm-import)") \
    bash "$HERE/../scripts/softhsm-init" "$TMP/hsm" --label p11test | grep '^export')" ||
	{ echo "FAIL: softhsm-init" >&2; exit 1; }
PIN=$TMP/hsm/user.pin
printf '%s\n' $GPKEY | pcard-hsm-import --token p11test --label gp-static --type aes \
    --static --module "$MODULE" --pin-file "$PIN" || fail "import gp-static"
printf '%s\n' $GPKEY | pcard-hsm-import --token p11test --label gp-master --type aes \
    --module "$MODULE" --pin-file "$PIN" || fail "import gp-master"
URI="pkcs11:token=p11test;object=gp-static?module-path=$MODULE&pin-source=file:$PIN"
MURI="pkcs11:token=p11test;object=gp-master?module-path=$MODULE&pin-source=file:$PIN"

start() {
	local port=
	stop
	postcard-sim run "$1" --tcp 0 > "$TMP/sim.log" 2>&1 &
	SIM_PID=$!
	for _ in $(seq 50); do
		port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$TMP/sim.log")
		[ -n "$port" ] && break
		sleep 0.1
	done
	T=(--tcp "127.0.0.1:$port")
	for _ in $(seq 100); do
		postcard -q apdu 80CA00CF00 "${T[@]}" >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	fail "postcard-sim did not come up: $(cat "$TMP/sim.log")"
}
stop() {
	if [ -n "$SIM_PID" ]; then
		kill "$SIM_PID" 2>/dev/null
		wait "$SIM_PID" 2>/dev/null
		SIM_PID=
	fi
}
expect() {
	local want=$1 rc
	shift
	"$@" > "$TMP/out" 2> "$TMP/err"
	rc=$?
	[ "$rc" = "$want" ] || fail "'$*' exit $rc, want $want: $(head -c 400 "$TMP/err")"
}
one_line() {
	[ "$(grep -cv '^warning:' "$TMP/err")" = 1 ] && grep -q '^postcard: ' "$TMP/err" ||
		fail "$1: stderr is not one 'postcard: ' line: $(cat "$TMP/err")"
}
no_warning() {
	grep -q 'warning' "$TMP/err" && fail "$1: unexpected warning: $(cat "$TMP/err")"
}
dump() { postcard-sim dump "$1" --json; }

# ---- template none: the token object is the ISD's static key ----
C=$TMP/static.pcsim
postcard-sim init "$C" 2>/dev/null || fail "init static"
start "$C"
expect 0 postcard --json info "${T[@]}" --key "$URI"
[ "$(jq '.keys | length' "$TMP/out")" = 3 ] || fail "info: key info"
expect 0 postcard --json list "${T[@]}" --key "$URI"
no_warning "list"
[ "$(jq -r '.entries[0].kind + .entries[0].aid' "$TMP/out")" = isdA000000151000000 ] ||
	fail "list: isd first"
[ "$(jq -r '.channel.level + .channel.scp' "$TMP/out")" = 0303 ] || fail "list: channel"
expect 0 postcard --json install "$CAP" "${T[@]}" --key "$URI"
no_warning "install"
stop
dump "$C" | jq -e '[.. | .aid? // empty] | index("D0D1D2D3D4D50101") != null' >/dev/null ||
	fail "install: applet D0D1D2D3D4D50101 not in the card dump"
dump "$C" | jq -e '[.. | .aid? // empty] | index("D0D1D2D3D4D501") != null' >/dev/null ||
	fail "install: package D0D1D2D3D4D501 not in the card dump"
start "$C"
# PIN from the environment (env: source, and the default variable)
expect 0 env MYPIN="$(cat "$PIN")" postcard list "${T[@]}" \
    --key "pkcs11:token=p11test;object=gp-static?module-path=$MODULE&pin-source=env:MYPIN"
expect 0 env PCARD_HSM_PIN="$(cat "$PIN")" postcard list "${T[@]}" \
    --key "pkcs11:token=p11test;object=gp-static?module-path=$MODULE"
# percent-encoded attribute values
expect 0 postcard list "${T[@]}" \
    --key "pkcs11:token=p11%74est;object=gp%2Dstatic?module-path=$MODULE&pin-source=file:$PIN"

# ---- refusals ----
expect 3 postcard list "${T[@]}" \
    --key "pkcs11:token=p11test;object=nosuch?module-path=$MODULE&pin-source=file:$PIN"
one_line "unknown object"; grep -q "nosuch" "$TMP/err" || fail "unknown object not named"
expect 3 postcard list "${T[@]}" \
    --key "pkcs11:token=nosuchtoken;object=gp-static?module-path=$MODULE&pin-source=file:$PIN"
one_line "unknown token"
expect 7 postcard list "${T[@]}" \
    --key "pkcs11:token=p11test;object=gp-static?module-path=$TMP/none.so&pin-source=file:$PIN"
one_line "module missing"
expect 3 postcard list "${T[@]}" --key "pkcs11:token=p11test;object=gp-static?module-path=$MODULE"
one_line "no PIN"
printf 'wrong-pin\n' > "$TMP/bad.pin"
expect 5 postcard list "${T[@]}" \
    --key "pkcs11:token=p11test;object=gp-static?module-path=$MODULE&pin-source=file:$TMP/bad.pin"
one_line "wrong PIN"
for bad in 'pkcs11:token=p11test' 'pkcs11:object=gp-static' 'pkcs11:object=a;object=b' 'pkcs11:object=a;serial=1' \
    'pkcs11:object=%4' 'pkcs11:object=a;' 'pkcs11:object=a?module=x' \
    'pkcs11:object=a;type=private' 'pkcs11:object=a?pin-source=env:'; do
	expect 2 postcard list "${T[@]}" --key "$bad"
	one_line "bad URI $bad"
done
expect 8 postcard list "${T[@]}" --key 'pkcs11:object=a?pin-value=98765'
one_line "pin-value"; grep -q 98765 "$TMP/err" && fail "pin-value echoed"
expect 8 postcard list "${T[@]}" --key 'pkcs11:object=a?pin-source=https://x/pin'
one_line "pin-source scheme"
expect 2 postcard list "${T[@]}" --key "$URI" --key-enc $GPKEY
one_line "URI with --key-enc"
# the master (derive-only) object used as a static key: the HSM refuses to use it so
expect 3 postcard list "${T[@]}" --key "$MURI" --no-guess
one_line "master as static key"
stop

# ---- --kdf kdf3: the token object is the master ----
C=$TMP/kdf3.pcsim
postcard-sim init "$C" --master $GPKEY --kdf kdf3 2>/dev/null || fail "init kdf3"
start "$C"
expect 0 postcard --json list "${T[@]}" --key "$MURI" --kdf kdf3
no_warning "kdf3 list"
[ "$(jq -r '.channel.kdf' "$TMP/out")" = kdf3 ] || fail "kdf3: channel.kdf"
[ "$(jq -r '.channel.kvn' "$TMP/out")" = 01 ] || fail "kdf3: kvn"
expect 0 postcard --json install "$CAP" "${T[@]}" --key "$MURI" --kdf kdf3
stop
dump "$C" | jq -e '[.. | .aid? // empty] | index("D0D1D2D3D4D50101") != null' >/dev/null ||
	fail "kdf3 install: applet not in the card dump"

# ---- an AES object on an SCP02 card ----
C=$TMP/scp02.pcsim
postcard-sim init "$C" --scp 02 2>/dev/null || fail "init scp02"
start "$C"
expect 3 postcard list "${T[@]}" --key "$URI"
one_line "AES object, SCP02 card"
stop

[ "$fails" = 0 ] && echo "cli_p11_card: all passed"
exit $((fails > 0))
