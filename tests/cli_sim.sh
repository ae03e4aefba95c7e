#!/usr/bin/env bash
# cli_sim.sh: postcard-sim as a user drives it, without PC/SC: init/dump round trips checked
# with jq (key sets as KCVs computed here with openssl, never key values; the ROM packages;
# life cycles; SCP options), refusal to overwrite, bad command lines (exit 2), corrupt card
# files (exit 3, one line), run on the loopback TCP link (SIGTERM exit 0; no vpcd exit 7),
# and `cap` output read back by `postcard cap info`. Built programs are on PATH under ctest.
set -u

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
for p in postcard-sim postcard jq openssl; do
	command -v "$p" >/dev/null || { echo "FAIL: $p not on PATH" >&2; exit 1; }
done
TEST_KEY=404142434445464748494A4B4C4D4E4F
C="$TMP/card.pcsim"

# expect CODE CMD...: run CMD, check its exit code; stderr in $TMP/err, stdout in $TMP/out
expect() {
	local want=$1 rc
	shift
	"$@" > "$TMP/out" 2> "$TMP/err"
	rc=$?
	[ "$rc" = "$want" ] || fail "'$*' exit $rc, want $want: $(head -c 300 "$TMP/err")"
}
# one_line: the last command's stderr is exactly one line starting with "postcard-sim: "
one_line() {
	[ "$(wc -l < "$TMP/err")" = 1 ] && grep -q '^postcard-sim: ' "$TMP/err" ||
		fail "$1: stderr is not one 'postcard-sim: ' line: $(cat "$TMP/err")"
}
# KCV of an AES key (AmdD 7.2: AES(key, 01 x 16), first 3 bytes), with openssl
kcv_aes() {
	printf '01010101010101010101010101010101' | xxd -r -p |
		openssl enc -aes-$((${#1} * 4))-ecb -K "$1" -nopad | xxd -p | head -c 6 |
		tr a-f A-F
}
# KCV of a 3DES key: 3DES(key, 00 x 8), first 3 bytes
kcv_des3() {
	printf '0000000000000000' | xxd -r -p |
		openssl enc -des-ede3 -K "$1${1:0:16}" -nopad 2>/dev/null | xxd -p | head -c 6 |
		tr a-f A-F
}

# 1. A default card: SCP03 i=70, test key (with a warning), SECURED, ROM packages.
expect 0 postcard-sim init "$C"
grep -q 'warning: .*well-known GlobalPlatform test key' "$TMP/err" || fail "no test-key warning"
expect 0 postcard-sim dump "$C" --json
cp "$TMP/out" "$TMP/d.json"
j() { jq -r "$1" "$TMP/d.json"; }
[ "$(j .life_cycle)/$(j .life_cycle_name)" = "0F/SECURED" ] || fail "life cycle $(j .life_cycle)"
[ "$(j .isd.aid)" = A000000151000000 ] || fail "ISD AID $(j .isd.aid)"
[ "$(j .isd.sd.scp)/$(j .isd.sd.i)" = "03/70" ] || fail "SCP $(j .isd.sd.scp) i $(j .isd.sd.i)"
[ "$(j '.isd.sd.key_sets | length')" = 1 ] || fail "key sets"
[ "$(j '.isd.sd.key_sets[0].kvn')" = FF ] || fail "KVN $(j '.isd.sd.key_sets[0].kvn')"
want=$(kcv_aes $TEST_KEY)
[ "$(j '[.isd.sd.key_sets[0].keys[] | "\(.id):\(.type):\(.kcv)"] | join(",")')" = \
	"01:AES:$want,02:AES:$want,03:AES:$want" ] || fail "keys/KCVs (want $want): $(j '.isd.sd.key_sets[0].keys')"
[ "$(j '[.. | objects | select(has("value"))] | length')" = 0 ] || fail "a key value in the dump"
grep -qi "$TEST_KEY" "$TMP/d.json" && fail "the key itself appears in dump --json"
[ "$(j '.isd.sd.key_sets[0].sequence_counter')" = 0 ] || fail "sequence counter"
[ "$(j '.isd.sd.key_sets[0].failure_limit')" = 10 ] || fail "failure limit"
for pkg in A0000000620001:1.0 A0000000620101:1.6 A0000000620102:1.6 A0000000620201:1.6 \
	A0000000620209:1.0; do
	[ "$(j ".load_files[] | select(.aid == \"${pkg%%:*}\") | \"\(.version) \(.rom)\"")" = \
		"${pkg##*:} true" ] || fail "ROM package $pkg missing"
done
[ "$(j '.applications | length')" = 0 ] || fail "applications on a new card"
[ "$(j .memory.size)/$(j .memory.used)" = "262144/0" ] || fail "memory $(j .memory)"
# the human-readable form says the same, without key values
expect 0 postcard-sim dump "$C"
grep -q '^life cycle  SECURED (0F)' "$TMP/out" || fail "human dump: life cycle"
grep -q "key 01 AES .*KCV $want" "$TMP/out" || fail "human dump: KCV"
grep -q 'A0000000620101 .*1.6 .*ROM' "$TMP/out" || fail "human dump: ROM package"
grep -qi "$TEST_KEY" "$TMP/out" && fail "the key itself appears in the human dump"

# 2. An existing card file is not replaced without --force (exit 2, file unchanged).
before=$(sha256sum < "$C")
expect 2 postcard-sim init "$C" --scp 02
one_line "init over an existing file"
[ "$(sha256sum < "$C")" = "$before" ] || fail "refused init changed the file"

# 3. --force with every option: SCP02 i=15, own key (no warning), life cycle, memory, limit.
KEY=00112233445566778899AABBCCDDEEFF
printf '%s\n' "$KEY" > "$TMP/isd.key"
expect 0 postcard-sim init "$C" --force --scp 02 --i 15 --key-file "$TMP/isd.key" \
	--isd A0000001510000 --life-cycle initialized --memory 65536 --auth-limit 3 \
	--putkey-replaces-ff
grep -q warning "$TMP/err" && fail "warning with an own key"
expect 0 postcard-sim dump --json "$C"
cp "$TMP/out" "$TMP/d.json"
[ "$(j .life_cycle_name)" = INITIALIZED ] || fail "forced: life cycle $(j .life_cycle_name)"
[ "$(j .isd.aid)" = A0000001510000 ] || fail "forced: ISD AID"
[ "$(j .isd.sd.scp)/$(j .isd.sd.i)" = "02/15" ] || fail "forced: SCP"
[ "$(j .memory.size)" = 65536 ] || fail "forced: memory"
[ "$(j .config.failure_limit)/$(j .config.put_key_replaces_ff)" = "3/true" ] || fail "forced: config"
want=$(kcv_des3 $KEY)
[ "$(j '.isd.sd.key_sets[0].keys[0] | "\(.type):\(.kcv)"')" = "DES3:$want" ] ||
	fail "forced: key (want DES3:$want): $(j '.isd.sd.key_sets[0].keys[0]')"
grep -qi "$KEY" "$TMP/d.json" && fail "own key appears in dump --json"
[ ! -e "$C.init" ] || fail "temporary file left behind"

# 4. Bad command lines: exit 2, one line.
expect 2 postcard-sim
expect 2 postcard-sim frobnicate
one_line "unknown command"
expect 2 postcard-sim init
one_line "init without file"
expect 2 postcard-sim init "$TMP/x" --bogus
one_line "unknown option"
expect 2 postcard-sim init "$TMP/x" --scp 04
expect 2 postcard-sim init "$TMP/x" --i 7
expect 2 postcard-sim init "$TMP/x" --key zz
expect 2 postcard-sim init "$TMP/x" --key 0011223344
one_line "short key"
expect 2 postcard-sim init "$TMP/x" --scp 02 --key "${KEY}${KEY}"
expect 2 postcard-sim init "$TMP/x" --life-cycle ASLEEP
expect 2 postcard-sim init "$TMP/x" --memory 12k
expect 2 postcard-sim init "$TMP/x" --auth-limit 0
expect 2 postcard-sim init "$TMP/x" --key "$KEY" --key-file "$TMP/isd.key"
[ ! -e "$TMP/x" ] || fail "a refused init created a file"
expect 2 postcard-sim dump
expect 2 postcard-sim dump "$C" "$C"
expect 2 postcard-sim run "$C" --vpcd localhost:35963
expect 2 postcard-sim run "$C" --vpcd 127.0.0.1:99999
expect 2 postcard-sim run "$C" --tcp 1 --vpcd 127.0.0.1:1
expect 2 postcard-sim cap nosuch -o "$TMP/n.cap"
expect 2 postcard-sim cap hotp
expect 2 postcard-sim applets extra
# a key file that is not hex is bad input (3)
echo "not a key" > "$TMP/bad.key"
expect 3 postcard-sim init "$TMP/x" --key-file "$TMP/bad.key"
one_line "bad key file"

# 5. Every command has help with examples (exit 0).
for cmd in init run dump cap applets; do
	expect 0 postcard-sim "$cmd" --help
	grep -q '^Examples:' "$TMP/out" || fail "$cmd --help has no examples"
	expect 0 postcard-sim help "$cmd"
done
expect 0 postcard-sim --help

# 6. Corrupt card files: exit 3 and one line, for dump and run.
cp "$C" "$TMP/flip.pcsim"
printf '\x55' | dd of="$TMP/flip.pcsim" bs=1 seek=40 conv=notrunc status=none
expect 3 postcard-sim dump "$TMP/flip.pcsim"
one_line "dump of a corrupt file"
expect 3 postcard-sim run "$TMP/flip.pcsim" --tcp 0
one_line "run of a corrupt file"
head -c 100 "$C" > "$TMP/short.pcsim"
expect 3 postcard-sim dump --json "$TMP/short.pcsim"
one_line "dump of a truncated file"
printf 'hello' > "$TMP/junk.pcsim"
expect 3 postcard-sim dump "$TMP/junk.pcsim"
one_line "dump of a non-card file"

# 7. run: on the loopback TCP link until SIGTERM (exit 0); with no vpcd, exit 7 in one line.
: > "$TMP/run"
postcard-sim run "$C" --tcp 0 2> "$TMP/run" &
pid=$!
for _ in $(seq 1 50); do
	grep -q 'listening on 127.0.0.1:' "$TMP/run" && break
	sleep 0.1
done
grep -q 'listening on 127.0.0.1:' "$TMP/run" || fail "run --tcp never listened: $(cat "$TMP/run")"
kill -TERM "$pid"
wait "$pid"
rc=$?
[ "$rc" = 0 ] || fail "run --tcp exit $rc after SIGTERM, want 0: $(cat "$TMP/run")"
# a port nothing listens on: bind one, close it, use it
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
expect 7 postcard-sim run "$C" --vpcd "127.0.0.1:$port"
grep -q 'Connection refused' "$TMP/err" || fail "no vpcd: $(cat "$TMP/err")"
[ "$(grep -c '^postcard-sim: vpcd' "$TMP/err")" = 1 ] || fail "no vpcd: not one error line"

# 8. cap: each native applet's CAP, read back by postcard cap info; matches `applets`.
expect 0 postcard-sim applets --json
cp "$TMP/out" "$TMP/apps.json"
[ "$(jq -r '[.applets[].name] | join(",")' "$TMP/apps.json")" = "datastore,purse,hotp" ] ||
	fail "applets: $(cat "$TMP/apps.json")"
for name in datastore purse hotp; do
	expect 0 postcard-sim cap "$name" -o "$TMP/$name.cap"
	if ! postcard --json cap info "$TMP/$name.cap" > "$TMP/info.json" 2> "$TMP/err"; then
		fail "cap info $name: $(cat "$TMP/err")"
		continue
	fi
	pkg=$(jq -r ".applets[] | select(.name == \"$name\") | .package" "$TMP/apps.json")
	app=$(jq -r ".applets[] | select(.name == \"$name\") | .applets[0]" "$TMP/apps.json")
	case $pkg in F0706F737463617264??) ;; *) fail "$name: package $pkg not under F0706F737463617264" ;; esac
	[ "$(jq -r .package_aid "$TMP/info.json")" = "$pkg" ] || fail "$name: package_aid"
	[ "$(jq -r .package_version "$TMP/info.json")" = 1.0 ] || fail "$name: version"
	[ "$(jq -r '[.applets[].aid] | join(",")' "$TMP/info.json")" = "$app" ] || fail "$name: applets"
	[ "$(jq -r '[.imports[] | "\(.aid) \(.version)"] | join(",")' "$TMP/info.json")" = \
		"A0000000620001 1.0,A0000000620101 1.3" ] || fail "$name: imports"
done

if [ "$fails" -ne 0 ]; then
	echo "$fails check(s) failed" >&2
	exit 1
fi
echo "cli_sim: all checks passed"
