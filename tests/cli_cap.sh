#!/usr/bin/env bash
# cli_cap.sh: `postcard cap` end to end, against ../shared/testdata/vectors/cap.txt.
# Runs the built postcard (on PATH under ctest). Needs jq (scripts/bootstrap installs it).
set -u

DATA=${PCARD_TESTDATA:?PCARD_TESTDATA not set}
VEC="$DATA/vectors/cap.txt"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fails=0

fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
command -v postcard >/dev/null || { echo "FAIL: postcard not on PATH" >&2; exit 1; }
command -v jq >/dev/null || { echo "FAIL: jq missing (run scripts/bootstrap)" >&2; exit 1; }
[ -r "$VEC" ] || { echo "FAIL: $VEC missing" >&2; exit 1; }

lc() { tr 'A-F' 'a-f'; }

# Field of case [name] in cap.txt.
field() {
	awk -v c="[$1]" -v k="$2" '
		/^\[/ { in_case = ($0 == c); next }
		in_case { split($0, kv, " = "); if (kv[1] == k) { sub(/^[^=]*= ?/, ""); print; exit } }
	' "$VEC"
}

# 1. Every case of cap.txt: package, applets, imports (with versions), LFDB length and hashes.
ncases=0
for name in $(grep -o '^\[[^]]*\]' "$VEC" | tr -d '[]'); do
	ncases=$((ncases + 1))
	file="$DATA/cap/$(field "$name" File)"
	if ! postcard --json cap info "$file" > "$TMP/out.json" 2> "$TMP/err"; then
		fail "$name: cap info failed: $(cat "$TMP/err")"
		continue
	fi
	j() { jq -r "$1" "$TMP/out.json"; }
	[ "$(j .package_aid | lc)" = "$(field "$name" PackageAID | lc)" ] ||
		fail "$name: package_aid $(j .package_aid)"
	want_apps=$(field "$name" AppletAIDs | tr -d ' ' | lc)
	got_apps=$(j '[.applets[].aid] | join(",")' | lc)
	[ "$got_apps" = "$want_apps" ] || fail "$name: applets '$got_apps' != '$want_apps'"
	want_imps=$(field "$name" Imports | sed 's/, /,/g' | lc)
	got_imps=$(j '[.imports[] | "\(.aid) v\(.version)"] | join(",")' | lc)
	[ "$got_imps" = "$want_imps" ] || fail "$name: imports '$got_imps' != '$want_imps'"
	[ "$(j .lfdb_length)" = "$(field "$name" LFDBLength)" ] ||
		fail "$name: lfdb_length $(j .lfdb_length)"
	[ "$(j .lfdb_sha256 | lc)" = "$(field "$name" LFDBSHA256 | lc)" ] ||
		fail "$name: lfdb_sha256 $(j .lfdb_sha256)"
	sha1=$(field "$name" LFDBSHA1)
	if [ -n "$sha1" ]; then
		[ "$(j .lfdb_sha1 | lc)" = "$(echo "$sha1" | lc)" ] || fail "$name: lfdb_sha1"
	fi
	# The text output carries the same hash.
	postcard cap info "$file" | grep -qi "SHA-256: *$(field "$name" LFDBSHA256)" ||
		fail "$name: text output lacks the SHA-256"
done
[ "$ncases" -ge 6 ] || fail "only $ncases cases in cap.txt"

# 2. A truncated CAP: exactly one line on stderr, nothing on stdout, exit code 3.
head -c 1000 "$DATA/cap/openjavacard-app-demo.cap" > "$TMP/trunc.cap"
postcard cap info "$TMP/trunc.cap" > "$TMP/out" 2> "$TMP/err"
rc=$?
[ "$rc" -eq 3 ] || fail "truncated CAP: exit $rc, want 3"
[ "$(wc -l < "$TMP/err")" -eq 1 ] || fail "truncated CAP: stderr has $(wc -l < "$TMP/err") lines"
grep -q '^postcard: .*trunc.cap: ' "$TMP/err" || fail "truncated CAP: message '$(cat "$TMP/err")'"
[ ! -s "$TMP/out" ] || fail "truncated CAP: stdout not empty"
# ... and with --json the error is also a JSON object on stdout.
postcard --json cap info "$TMP/trunc.cap" > "$TMP/out" 2> /dev/null
[ "$(jq -r .error.code "$TMP/out")" = "PCARD_E_BAD_FILE" ] || fail "json error object"
# A missing file is an I/O error (7).
postcard cap info "$TMP/does-not-exist.cap" 2> /dev/null
rc=$?
[ "$rc" -eq 7 ] || fail "missing file: exit $rc, want 7"

# 3. cap build, read back by cap info.
postcard -q cap build --package A000000151000099 --version 1.2 \
	--applet A00000015100009901 --applet A0000001510000990201 \
	--import A0000000620101:1.3 --import A0000000620001:1.0 \
	--size 30000 --package-path com/example/big -o "$TMP/big.cap" 2> "$TMP/err" ||
	fail "cap build: $(cat "$TMP/err")"
[ ! -s "$TMP/err" ] || fail "cap build -q printed: $(cat "$TMP/err")"
if postcard --json cap info "$TMP/big.cap" > "$TMP/out.json"; then
	j() { jq -r "$1" "$TMP/out.json"; }
	[ "$(j .package_aid)" = "A000000151000099" ] || fail "build: package_aid"
	[ "$(j .package_version)" = "1.2" ] || fail "build: package_version"
	[ "$(j .package_path)" = "com/example/big" ] || fail "build: package_path"
	[ "$(j '[.applets[].aid] | join(",")')" = "A00000015100009901,A0000001510000990201" ] ||
		fail "build: applets"
	[ "$(j '[.imports[] | "\(.aid):\(.version)"] | join(",")')" = \
		"A0000000620101:1.3,A0000000620001:1.0" ] || fail "build: imports"
	[ "$(j '.components.Class + .components.Method')" = "30000" ] || fail "build: size"
else
	fail "cap info on the built CAP"
fi
# A library (no applet) with the default size.
postcard -q cap build --package D0D1D2D3D4D501 -o "$TMP/lib.cap" || fail "build library"
[ "$(postcard --json cap info "$TMP/lib.cap" | jq '.applets | length')" = "0" ] ||
	fail "library has applets"

# 4. Usage errors exit 2 with one line on stderr.
expect_usage() {
	"$@" > /dev/null 2> "$TMP/err"
	local rc=$?
	[ "$rc" -eq 2 ] || fail "'$*': exit $rc, want 2"
	[ "$(wc -l < "$TMP/err")" -eq 1 ] || fail "'$*': stderr not one line"
}
expect_usage postcard frobnicate
expect_usage postcard --no-such-option
expect_usage postcard cap
expect_usage postcard cap nosuch
expect_usage postcard cap info
expect_usage postcard cap info a.cap b.cap
expect_usage postcard cap info --hash md5 "$TMP/big.cap"
expect_usage postcard cap info --bogus "$TMP/big.cap"
expect_usage postcard cap build --package 0102 -o "$TMP/x.cap"
expect_usage postcard cap build --package A000000151000099
expect_usage postcard cap build --package A000000151000099 --import A0000000620101 -o x.cap
expect_usage postcard cap build --package A000000151000099 --size 3 -o "$TMP/x.cap"
expect_usage postcard cap build --package A000000151000099 --version 1 -o "$TMP/x.cap"
expect_usage postcard cap build --package A000000151000099 -o
expect_usage postcard help nosuch
expect_usage postcard cap dap "$TMP/big.cap" --sd A000000151000000

# 5. Help and version.
postcard --help | grep -q '^  cap ' || fail "--help lists cap"
postcard help cap | grep -q 'Examples:' || fail "help cap"
postcard cap info --help | grep -q 'Examples:' || fail "cap info --help"
postcard cap build --help | grep -q 'Examples:' || fail "cap build --help"
postcard cap dap --help | grep -q 'Examples:' || fail "cap dap --help"
postcard --version | grep -q '^postcard [0-9]' || fail "--version"
[ "$(postcard --version --json | jq -r .version)" != "null" ] || fail "--version --json"

# 6. cap dap: an AES-CMAC DAP block over the gppro Empty LFDB (SHA-256 for AES-128).
blk=$(postcard cap dap "$DATA/cap/gppro-empty-2.2.1.cap" --sd A000000151000000 \
	--aes-key 404142434445464748494A4B4C4D4E4F) || fail "cap dap aes"
case "$blk" in
E21C4F08A000000151000000C310*) [ ${#blk} -eq 60 ] || fail "dap block length ${#blk}" ;;
*) fail "dap block '$blk'" ;;
esac
[ "$(postcard --json cap dap "$DATA/cap/gppro-empty-2.2.1.cap" --sd A000000151000000 \
	--aes-key 404142434445464748494A4B4C4D4E4F | jq -r .lfdb_hash | lc)" = \
	"$(field gppro-empty LFDBSHA256)" ] || fail "cap dap lfdb_hash"
# SHA-1 is too weak for an AES-128 DAP (exit 8); a 15-byte AES key is a bad key (3).
postcard cap dap "$DATA/cap/gppro-empty-2.2.1.cap" --sd A000000151000000 --hash sha1 \
	--aes-key 404142434445464748494A4B4C4D4E4F > /dev/null 2>&1
rc=$?
[ "$rc" -eq 8 ] || fail "cap dap weak hash: exit $rc, want 8"
postcard cap dap "$DATA/cap/gppro-empty-2.2.1.cap" --sd A000000151000000 \
	--aes-key 404142434445464748494A4B4C4D4E > /dev/null 2>&1
rc=$?
[ "$rc" -eq 3 ] || fail "cap dap bad key: exit $rc, want 3"
# A DES retail-MAC DAP block is 8 bytes of signature.
blk=$(postcard cap dap "$DATA/cap/gppro-empty-2.2.1.cap" --sd A000000151000000 \
	--des-key 404142434445464748494A4B4C4D4E4F) || fail "cap dap des"
[ ${#blk} -eq 44 ] || fail "des dap block '$blk'"

if [ "$fails" -ne 0 ]; then
	echo "cli_cap: $fails failure(s)" >&2
	exit 1
fi
echo "cli_cap: all checks passed ($ncases CAP files)"
