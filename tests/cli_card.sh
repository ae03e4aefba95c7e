#!/usr/bin/env bash
# cli_card.sh: `postcard` card commands driven as a user would, against postcard-sim, on an
# SCP03 and an SCP02 card. The card's state afterwards is read with `postcard-sim dump --json`
# on the card file, never with postcard itself. Refusals (wrong key, wrong diversification,
# referenced package, mistyped command) must give one line on stderr, the documented exit
# code, and leave registry, keys and life cycle unchanged.
#
# Transport (CLI_CARD_TRANSPORT):
#   tcp (default)  each card listens on a free loopback port (postcard-sim run --tcp 0) and
#                  every postcard call gets --tcp 127.0.0.1:PORT
#   pcsc           the caller runs the PC/SC fixture (tests/pcsc-fixture.sh; see
#                  cli_pcsc_card_all.sh, which holds its lock): each card goes into the vpcd
#                  reader (postcard-sim run --vpcd 127.0.0.1:$PCSC_VPCD_PORT) and every postcard
#                  call gets -r "$PCSC_READER", through pcscd
set -u

TMP=$(mktemp -d)
SIM_PID=
trap '[ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null; rm -rf "$TMP"' EXIT
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
for p in postcard-sim postcard jq openssl xxd; do
	command -v "$p" >/dev/null || { echo "FAIL: $p not on PATH" >&2; exit 1; }
done
CAP=${PCARD_TESTDATA:-$(dirname "$0")/../../shared/testdata}/cap/kaoh-helloworld.cap
PKG=D0D1D2D3D4D501
APP=D0D1D2D3D4D50101

# start CARD: serve CARD (see Transport above) and set T to the connection options of every
# postcard call (an array, in the caller's scope); wait until the card answers. Free ports
# keep concurrent TCP runs of this test (other build directories) apart.
MODE=${CLI_CARD_TRANSPORT:-tcp}
case $MODE in
tcp) ;;
pcsc)
	[ -n "${PCSC_READER:-}" ] && [ -n "${PCSC_VPCD_PORT:-}" ] ||
		{ echo "FAIL: CLI_CARD_TRANSPORT=pcsc needs PCSC_READER and PCSC_VPCD_PORT" >&2; exit 1; } ;;
*) echo "FAIL: CLI_CARD_TRANSPORT is tcp or pcsc, not '$MODE'" >&2; exit 1 ;;
esac
start() {
	local port=
	stop
	rm -f "$TMP/sim.log"
	if [ "$MODE" = pcsc ]; then
		postcard-sim run "$1" --vpcd "127.0.0.1:$PCSC_VPCD_PORT" --wait-ms 5000 \
		    > "$TMP/sim.log" 2>&1 &
		SIM_PID=$!
		T=(-r "$PCSC_READER")
	else
		postcard-sim run "$1" --tcp 0 > "$TMP/sim.log" 2>&1 &
		SIM_PID=$!
		for _ in $(seq 50); do
			port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$TMP/sim.log" \
			    2>/dev/null)
			[ -n "$port" ] && break
			sleep 0.1
		done
		T=(--tcp "127.0.0.1:$port")
	fi
	for _ in $(seq 100); do
		[ "$MODE" = tcp ] || reader_has_card true &&
			postcard -q apdu 80CA00CF00 "${T[@]}" >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	fail "postcard-sim did not come up ($MODE): $(cat "$TMP/sim.log")"
}
# reader_has_card true|false: whether pcscd shows a card in $PCSC_READER (pcsc mode). pcscd
# polls vpcd, so a card that left is only seen gone a moment later: stop waits for that
# before the next card comes, or pcscd could report the removal while the new card is used.
reader_has_card() {
	[ "$(postcard --json readers 2>/dev/null |
	    jq -r ".readers[] | select(.name==\"$PCSC_READER\") | .card_present")" = "$1" ]
}
stop() {
	if [ -n "$SIM_PID" ]; then
		kill "$SIM_PID" 2>/dev/null
		wait "$SIM_PID" 2>/dev/null
		SIM_PID=
		if [ "$MODE" = pcsc ]; then
			for _ in $(seq 200); do
				reader_has_card false && break
				sleep 0.05
			done
		fi
	fi
}
# expect CODE CMD...: exit code check; stdout in $TMP/out, stderr in $TMP/err
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
dump() { postcard-sim dump "$1" --json; }
# the state without counters (sequence counters may move on refusals)
state() { dump "$1" | jq -S 'del(.. | .sequence_counter?) | del(.receipt_counter)'; }
kcv_aes() {
	printf '01010101010101010101010101010101' | xxd -r -p |
		openssl enc -aes-128-ecb -K "$1" -nopad | xxd -p | head -c 6 | tr a-f A-F
}

scenario_scp03() {
	local C="$TMP/scp03.pcsim" T= before
	postcard-sim init "$C" 2>/dev/null || fail "init scp03"
	start "$C"

	if [ "$MODE" = pcsc ]; then	# the card really sits in the vpcd reader
		expect 0 postcard --json readers
		[ "$(jq -r ".readers[] | select(.name==\"$PCSC_READER\") | .card_present" \
		    "$TMP/out")" = true ] || fail "pcsc: no card in '$PCSC_READER'"
	fi
	expect 0 postcard --json info "${T[@]}"
	[ "$(jq -r '.card_recognition.scp' "$TMP/out")" = 03 ] || fail "info: scp"
	[ "$(jq -r '.kdd' "$TMP/out")" = 00005043000000010001 ] || fail "info: kdd"
	[ "$(jq '.keys | length' "$TMP/out")" = 3 ] || fail "info: key info"
	[ "$(jq -r '.card_locked' "$TMP/out")" = false ] || fail "info: locked"

	expect 0 postcard --json list "${T[@]}"
	[ "$(jq -r '.entries[0].kind + .entries[0].aid' "$TMP/out")" = isdA000000151000000 ] ||
		fail "list: isd first"
	[ "$(jq -r '.channel.level + .channel.scp + .channel.i' "$TMP/out")" = 030370 ] ||
		fail "list: channel 03 / SCP03 i=70"
	grep -q 'test key' "$TMP/err" || fail "list: no default-key warning"

	expect 0 postcard --json install "$CAP" "${T[@]}"
	[ "$(jq -r '.instance' "$TMP/out")" = $APP ] || fail "install: DWIM applet"
	stop
	dump "$C" > "$TMP/d"
	[ "$(jq -r ".applications[] | select(.aid==\"$APP\") | .life_cycle_name" "$TMP/d")" = \
	    SELECTABLE ] || fail "install: applet not SELECTABLE in dump"
	jq -e ".load_files[] | select(.aid==\"$PKG\")" "$TMP/d" >/dev/null ||
		fail "install: package not in dump"
	start "$C"

	expect 0 postcard lock-app $APP "${T[@]}"
	stop
	[ "$(dump "$C" | jq -r ".applications[] | select(.aid==\"$APP\") | .life_cycle")" = 87 ] ||
		fail "lock-app: not 87"
	start "$C"
	expect 0 postcard unlock-app $APP "${T[@]}"
	expect 0 postcard make-default $APP "${T[@]}"

	# refusals leave the state unchanged
	stop; before=$(state "$C"); start "$C"
	expect 4 postcard delete $PKG "${T[@]}"
	one_line "delete referenced"; grep -q '6985 on DELETE' "$TMP/err" || fail "delete: no 6985"
	expect 5 postcard list "${T[@]}" --key 000102030405060708090A0B0C0D0E0F
	one_line "wrong key"
	grep -q 'EXTERNAL AUTHENTICATE not sent' "$TMP/err" || fail "wrong key: message"
	grep -q 'visible to other users' "$TMP/err" || fail "wrong key: no argv warning"
	expect 5 postcard list "${T[@]}" --kdf kdf3
	grep -q 'does with --kdf none' "$TMP/err" || fail "wrong kdf: no template named"
	expect 2 postcard lsit "${T[@]}"
	one_line "mistyped command"
	expect 2 postcard card terminate "${T[@]}"
	expect 4 postcard --json delete D000000000 "${T[@]}"
	[ "$(jq -r '.error.sw' "$TMP/out")" = 6A88 ] || fail "delete json: sw"
	stop
	[ "$(state "$C")" = "$before" ] || fail "refusals changed the card state"
	[ "$(dump "$C" | jq '.isd.sd.key_sets[0].failed_authentications')" = 0 ] ||
		fail "a wrong key counted a failed authentication"
	start "$C"

	# keys: add set 30 from the environment, use it, delete it
	export NEWKEY=00112233445566778899AABBCCDDEEFF
	expect 0 postcard put-key --new-kvn 30 --new-key-env NEWKEY --trace "${T[@]}"
	grep -q 'redacted' "$TMP/err" || fail "put-key trace not redacted"
	grep -qi "$NEWKEY" "$TMP/err" && fail "put-key trace shows the key"
	expect 0 postcard --json list --key-env NEWKEY --key-ver 30 "${T[@]}"
	[ "$(jq -r '.channel.kvn' "$TMP/out")" = 30 ] || fail "list with set 30"
	stop
	[ "$(dump "$C" | jq -r '.isd.sd.key_sets[] | select(.kvn=="30") | .keys[0].kcv')" = \
	    "$(kcv_aes $NEWKEY)" ] || fail "put-key: KCV in dump"
	start "$C"
	expect 0 postcard delete-key 30 "${T[@]}"

	expect 0 postcard --json apdu 80CA00CF00 "${T[@]}"
	[ "$(jq -r '.responses[0].sw' "$TMP/out")" = 9000 ] || fail "apdu sw"
	expect 0 postcard domain create D0D1D2D3D4D5AA "${T[@]}"
	expect 0 postcard move $APP --to D0D1D2D3D4D5AA "${T[@]}"
	expect 0 postcard registry-update $APP --privs CardLock "${T[@]}"
	expect 0 postcard delete $PKG -f "${T[@]}"
	expect 0 postcard card lock "${T[@]}"
	expect 0 postcard --json info "${T[@]}"
	[ "$(jq -r '.card_locked' "$TMP/out")" = true ] || fail "locked card: 6283 not reported"
	expect 0 postcard card unlock "${T[@]}"
	stop
	dump "$C" > "$TMP/d"
	jq -e '.isd.sd.key_sets[] | select(.kvn=="30")' "$TMP/d" >/dev/null &&
		fail "delete-key: set 30 still there"
	jq -e ".applications[] | select(.aid==\"$APP\")" "$TMP/d" >/dev/null &&
		fail "delete -f: applet still there"
	[ "$(jq -r '.applications[] | select(.aid=="D0D1D2D3D4D5AA") | .privileges' "$TMP/d")" = \
	    800000 ] || fail "domain create: SSD missing"
	[ "$(jq -r '.life_cycle' "$TMP/d")" = 0F ] || fail "card unlock: not SECURED"
	start "$C"
	expect 0 postcard card terminate --really-terminate "${T[@]}"
	stop
	[ "$(dump "$C" | jq -r '.life_cycle')" = FF ] || fail "terminate"
}

scenario_scp02() {
	local C="$TMP/scp02.pcsim" T=
	postcard-sim init "$C" --scp 02 --i 15 2>/dev/null || fail "init scp02"
	start "$C"
	expect 0 postcard --json list "${T[@]}"
	[ "$(jq -r '.channel.scp + .channel.i' "$TMP/out")" = 0215 ] || fail "scp02: i from CRD"
	expect 0 postcard install "$CAP" "${T[@]}"
	expect 5 postcard list --kdf emv "${T[@]}"
	grep -q 'does with --kdf none' "$TMP/err" || fail "scp02 wrong kdf"
	expect 0 postcard delete $PKG -f "${T[@]}"
	stop
	dump "$C" | jq -e ".load_files[] | select(.aid==\"$PKG\")" >/dev/null &&
		fail "scp02: package still there"
}

# personalisation of the datastore native applet: INSTALL [for personalization] through the
# ISD then STORE DATA records from a perso file (plain and encrypted), and store-data to the
# ISD itself; the applet's data version and hash are read from the dump
scenario_perso() {	# scenario_perso SCP
	local C="$TMP/perso$1.pcsim" T= DS=F0706F7374636172640101 h1
	if [ "$1" = 02 ]; then
		postcard-sim init "$C" --scp 02 --i 55 2>/dev/null || fail "perso: init $1"
	else
		postcard-sim init "$C" 2>/dev/null || fail "perso: init $1"
	fi
	postcard-sim cap datastore -o "$TMP/ds.cap" || fail "perso: cap datastore"
	start "$C"
	expect 0 postcard install "$TMP/ds.cap" "${T[@]}"
	expect 0 postcard install "$CAP" "${T[@]}"
	printf '# first write\ntlv C1 04 00000001 5F20 03 414243\n' > "$TMP/p1.perso"
	expect 0 postcard --json personalize $DS --perso-file "$TMP/p1.perso" "${T[@]}"
	[ "$(jq -r '.records' "$TMP/out")" = 1 ] || fail "perso $1: records"
	stop
	dump "$C" > "$TMP/d"
	[ "$(jq -r ".applications[] | select(.aid==\"$DS\") | .data_version" "$TMP/d")" = 1 ] ||
		fail "perso $1: data version not 1"
	h1=$(jq -r ".applications[] | select(.aid==\"$DS\") | .data_sha256" "$TMP/d")
	start "$C"
	# encrypted, compare-and-set on version 1; the trace must not show the plain text
	printf 'tlv enc C1 04 00000002 C0 04 00000001 5F21 04 DEADBEEF\n' > "$TMP/p2.perso"
	expect 0 postcard personalize $DS --perso-file "$TMP/p2.perso" --trace "${T[@]}"
	grep -q 'E2F000 <.* bytes redacted>' "$TMP/err" || fail "perso $1: encrypted record not redacted"
	grep -qi 'DEADBEEF' "$TMP/err" && fail "perso $1: trace shows the encrypted data"
	# a stale write (version 1 again) is refused by the applet: 6985, nothing changes
	stop; local before; before=$(state "$C"); start "$C"
	expect 4 postcard personalize $DS --perso-file "$TMP/p1.perso" "${T[@]}"
	one_line "perso $1 stale"; grep -q '6985' "$TMP/err" || fail "perso $1: stale not 6985"
	# malformed perso file: exit 3 with the line, nothing sent
	printf 'tlv C1 04 00000003\nfoo 01\n' > "$TMP/bad.perso"
	expect 3 postcard personalize $DS --perso-file "$TMP/bad.perso" "${T[@]}"
	one_line "perso $1 bad file"; grep -q 'line 2' "$TMP/err" || fail "perso $1: bad line not named"
	# the generic applet has no STORE DATA: the card manager answers 6A81
	expect 4 postcard personalize $APP --perso-file "$TMP/p1.perso" "${T[@]}"
	grep -q '6A81' "$TMP/err" || fail "perso $1: generic applet not 6A81"
	stop
	[ "$(state "$C")" = "$before" ] || fail "perso $1: refusals changed the card state"
	dump "$C" > "$TMP/d"
	[ "$(jq -r ".applications[] | select(.aid==\"$DS\") | .data_version" "$TMP/d")" = 2 ] ||
		fail "perso $1: encrypted write not applied"
	[ "$(jq -r ".applications[] | select(.aid==\"$DS\") | .data_sha256" "$TMP/d")" != "$h1" ] ||
		fail "perso $1: data unchanged"
	jq -r ".applications[] | select(.aid==\"$DS\") | .data" "$TMP/d" | grep -q '5F2104DEADBEEF' ||
		fail "perso $1: item 5F21 missing"
	start "$C"
	# store-data: raw blocks to the ISD itself (BER-TLV 4F renames it), then --data encrypted
	expect 0 postcard --json store-data --data 4F08A000000151000001 --format tlv "${T[@]}"
	expect 0 postcard store-data --data 0102030405 --encrypt --trace "${T[@]}"
	grep -q 'E2E000 <' "$TMP/err" || fail "store-data $1: --encrypt not redacted"
	# encrypted BER-TLV to the ISD: the card removes the padding before reading the 4F
	expect 0 postcard store-data --data 4F08A000000151000002 --format tlv --encrypt --trace "${T[@]}"
	grep -q 'E2F000 <' "$TMP/err" || fail "store-data $1: encrypted tlv not P1 F0"
	expect 2 postcard store-data --perso-file "$TMP/p1.perso" --data 00 "${T[@]}"
	one_line "store-data two sources"
	# encrypted DGIs: tag and length in clear, each value encrypted alone (EMV CPS); the ISD
	# reads them (a card decrypting the whole field would answer 6A80), the datastore gets
	# them decrypted and refuses the DGI format itself (6A86)
	printf '0101 03 AABBCC 8000 10 00112233445566778899AABBCCDDEEFF' | tr -d ' ' | xxd -r -p \
	    > "$TMP/p.dgi"
	expect 0 postcard store-data --dgi-file "$TMP/p.dgi" --encrypt --pad --trace "${T[@]}"
	grep -q '^>> 84E26800 <' "$TMP/err" && grep -q '^>> 84E2E801 <' "$TMP/err" ||
		fail "dgi $1: not P1 68 then E8"
	printf 'dgi enc 0101 AABBCC\ndgi 0202 0102\n' > "$TMP/d.perso"
	expect 0 postcard store-data --perso-file "$TMP/d.perso" "${T[@]}"
	expect 4 postcard personalize $DS --dgi-file "$TMP/p.dgi" --encrypt --pad "${T[@]}"
	one_line "dgi $1 datastore"; grep -q '6A86' "$TMP/err" || fail "dgi $1: datastore not 6A86"
	stop
	[ "$(dump "$C" | jq -r '.isd.aid')" = A000000151000002 ] || fail "store-data $1: ISD not renamed"
}

# keys (public, single), DAP, --combined, --bs, key sources and --mode on an SCP03 i=70 card
scenario_extras() {
	local C="$TMP/x.pcsim" T= SSD=D0D1D2D3D4D5AA before lfl n
	postcard-sim init "$C" 2>/dev/null || fail "extras: init"
	openssl ecparam -name prime256v1 -genkey -noout -out "$TMP/ec.pem" 2>/dev/null
	openssl ec -in "$TMP/ec.pem" -pubout -out "$TMP/ecpub.pem" 2>/dev/null
	openssl genrsa -out "$TMP/rsa1k.pem" 1024 2>/dev/null
	openssl rsa -in "$TMP/rsa1k.pem" -pubout -out "$TMP/rsa1kpub.pem" 2>/dev/null
	openssl genrsa -out "$TMP/rsa2k.pem" 2048 2>/dev/null
	openssl rsa -in "$TMP/rsa2k.pem" -pubout -out "$TMP/rsa2kpub.pem" 2>/dev/null
	start "$C"

	# key sources: file and environment give no argv warning, --key does
	printf '40414243 44454647\n48494A4B4C4D4E4F\n' > "$TMP/k.hex"
	expect 0 postcard list --key-file "$TMP/k.hex" "${T[@]}"
	grep -q 'visible to other users' "$TMP/err" && fail "--key-file: argv warning"
	export PCK=404142434445464748494A4B4C4D4E4F
	expect 0 postcard list --key-env PCK "${T[@]}"
	grep -q 'visible to other users' "$TMP/err" && fail "--key-env: argv warning"
	expect 0 postcard list --key $PCK "${T[@]}"
	grep -q 'visible to other users' "$TMP/err" || fail "--key: no argv warning"
	# PKCS#11 URIs wait for the HSM module: exit 8, one line, the URI (and its PIN) not echoed
	expect 8 postcard list --key 'pkcs11:token=t;object=k?pin-value=98765' "${T[@]}"
	one_line "--key pkcs11:"; grep -q 98765 "$TMP/err" && fail "--key pkcs11: PIN echoed"
	expect 8 postcard put-key --new-kvn 30 --new-key 'pkcs11:object=k' "${T[@]}"
	one_line "--new-key pkcs11:"
	expect 7 postcard list --key-file "$TMP/nonexistent" "${T[@]}"
	one_line "--key-file missing"
	printf 'not hex\n' > "$TMP/bad.hex"
	expect 3 postcard list --key-file "$TMP/bad.hex" "${T[@]}"
	one_line "--key-file not hex"
	expect 3 postcard list --key-env PCARD_NO_SUCH_VAR "${T[@]}"
	one_line "--key-env unset"

	# security levels on SCP03 i=70
	for m in clr:00 mac:01 enc:03 rmac:11 renc:33; do
		expect 0 postcard --json list --mode "${m%%:*}" "${T[@]}"
		[ "$(jq -r '.channel.level' "$TMP/out")" = "${m##*:}" ] || fail "--mode ${m%%:*}"
	done
	expect 0 postcard --json list --mode enc --mode rmac "${T[@]}"
	[ "$(jq -r '.channel.level' "$TMP/out")" = 13 ] || fail "--mode enc --mode rmac"

	# public keys (DAP/token verification) and a single secret key
	expect 0 postcard put-key --new-kvn 73 --id 1 --pubkey "$TMP/ecpub.pem" "${T[@]}"
	expect 0 postcard put-key --new-kvn 74 --id 1 --pubkey "$TMP/rsa1kpub.pem" "${T[@]}"
	expect 0 postcard put-key --new-kvn 71 --id 1 --single --new-key-env NEWKEY "${T[@]}"
	# RSA-2048: 267 bytes of data field, sent as a PUT KEY chain (P1 b8 on the first piece)
	expect 0 postcard put-key --new-kvn 75 --id 1 --pubkey "$TMP/rsa2kpub.pem" --trace "${T[@]}"
	[ "$(grep -c '^>> 84D8' "$TMP/err")" = 2 ] || fail "put-key RSA-2048: not two PUT KEY"
	grep -q '^>> 84D88001 <' "$TMP/err" && grep -q '^>> 84D80001 <' "$TMP/err" ||
		fail "put-key RSA-2048: not P1 80 then 00"
	stop; before=$(state "$C"); start "$C"
	expect 3 postcard put-key --new-kvn 75 --id 1 --pubkey "$TMP/k.hex" "${T[@]}"
	one_line "put-key --pubkey not PEM"
	expect 4 postcard delete-key 7E "${T[@]}"
	one_line "delete-key absent"; grep -q '6A88' "$TMP/err" || fail "delete-key absent: 6A88"
	stop
	[ "$(state "$C")" = "$before" ] || fail "put-key refusals changed the state"
	dump "$C" > "$TMP/d"
	[ "$(jq -r '.isd.sd.key_sets[] | select(.kvn=="73") | .keys[0].type + .keys[0].curve' \
	    "$TMP/d")" = EC_PUBLICP-256 ] || fail "put-key EC: not in dump"
	[ "$(jq -r '.isd.sd.key_sets[] | select(.kvn=="74") | .keys[0].type' "$TMP/d")" = \
	    RSA_PUBLIC ] || fail "put-key RSA-1024: not in dump"
	[ "$(jq -r '.isd.sd.key_sets[] | select(.kvn=="75") | .keys[0].type + " " +
	    (.keys[0].length | tostring)' "$TMP/d")" = "RSA_PUBLIC 256" ] ||
		fail "put-key RSA-2048: not in dump"
	[ "$(jq -r '.isd.sd.key_sets[] | select(.kvn=="71") | .keys[0].kcv' "$TMP/d")" = \
	    "$(kcv_aes $NEWKEY)" ] || fail "put-key --single: KCV"
	start "$C"
	expect 0 postcard delete-key 73 --id 1 "${T[@]}"
	expect 0 postcard delete-key 74 "${T[@]}"
	expect 0 postcard delete-key 75 "${T[@]}"
	stop
	dump "$C" > "$TMP/d"
	jq -e '.isd.sd.key_sets[] | select(.kvn=="73" or .kvn=="74")' "$TMP/d" >/dev/null &&
		fail "delete-key: 73 or 74 still there"
	jq -e '.isd.sd.key_sets[] | select(.kvn=="71")' "$TMP/d" >/dev/null ||
		fail "delete-key: 71 went too"
	start "$C"

	# --bs: LOAD blocks of at most 64 bytes on the wire (level 03: 47 plain bytes each)
	expect 0 postcard --json load "$CAP" --bs 64 --trace "${T[@]}"
	lfl=$(jq -r '.load_file_length' "$TMP/out")
	n=$(grep -c '^>> 84E8' "$TMP/err")
	[ "$n" = $(( (lfl + 46) / 47 )) ] || fail "--bs 64: $n LOAD APDUs for $lfl bytes"
	grep '^>> 84E8' "$TMP/err" | cut -c12-13 | while read -r lc; do
		[ $((16#$lc)) -le 64 ] || echo "Lc $lc"
	done | grep -q . && fail "--bs 64: a LOAD over 64 bytes"
	expect 0 postcard delete $PKG -f "${T[@]}"

	# --combined: this card manager does not support combined load-install (6A86)
	expect 4 postcard install "$CAP" --combined "${T[@]}"
	one_line "--combined"; grep -q '6A86 on INSTALL' "$TMP/err" || fail "--combined: no 6A86"

	# DAP: put-key of a public key into KVN 73 of an SSD makes it the SSD's DAP verification
	# key (GP convention); with DAP Verification every load into it needs a DAP block (sent
	# before C4). Refusals first (none, another key's, a corrupt one), then accepted loads.
	openssl ecparam -name prime256v1 -genkey -noout -out "$TMP/ec2.pem" 2>/dev/null
	expect 0 postcard domain create $SSD --privs DAPVerification "${T[@]}"
	expect 0 postcard put-key --sd $SSD --new-kvn 73 --id 1 --pubkey "$TMP/ecpub.pem" "${T[@]}"
	stop; before=$(state "$C"); start "$C"
	[ "$(jq -c ".applications[] | select(.aid==\"$SSD\") | .sd.dap_key" <<<"$before")" = \
	    '{"id":"01","kvn":"73"}' ] || fail "put-key 73: not the SSD's DAP key"
	expect 4 postcard load "$CAP" --to $SSD "${T[@]}"
	one_line "load without DAP"; grep -q '6A80 on LOAD' "$TMP/err" || fail "no DAP: not 6A80"
	expect 4 postcard load "$CAP" --to $SSD --dap-key "$TMP/ec2.pem" "${T[@]}"
	one_line "load with another key's DAP"; grep -q '6982 on LOAD' "$TMP/err" ||
		fail "wrong DAP key: not 6982"
	expect 0 postcard cap dap "$CAP" --sd $SSD --key "$TMP/ec.pem"
	cp "$TMP/out" "$TMP/dap.hex"
	tr '0123456789ABCDEF' '123456789ABCDEF0' < "$TMP/dap.hex" > "$TMP/dapbad.hex"
	expect 4 postcard load "$CAP" --to $SSD --dap-file "$TMP/dapbad.hex" "${T[@]}"
	one_line "load with a corrupt DAP"
	stop
	[ "$(state "$C")" = "$before" ] || fail "DAP refusals changed the state"
	[ "$(dump "$C" | jq -r ".applications[] | select(.aid==\"$SSD\") | .privileges")" = \
	    C00000 ] || fail "domain create --privs DAPVerification"
	start "$C"
	expect 0 postcard load "$CAP" --to $SSD --dap-key "$TMP/ec.pem" --mode mac --trace "${T[@]}"
	grep -q "^>> 84E80000..E2..4F07${SSD}C340" "$TMP/err" || fail "--dap-key: no E2 block first"
	stop
	[ "$(dump "$C" | jq -r ".load_files[] | select(.aid==\"$PKG\") | .security_domain")" = $SSD ] ||
		fail "DAP-verified load (EC): not in the SSD"
	start "$C"
	expect 0 postcard delete $PKG "${T[@]}"
	expect 0 postcard load "$CAP" --to $SSD --dap-file "$TMP/dap.hex" --mode mac --trace "${T[@]}"
	grep -q "^>> 84E80000..$(head -c 40 "$TMP/dap.hex")" "$TMP/err" ||
		fail "--dap-file: block not sent first"
	expect 0 postcard delete $PKG "${T[@]}"
	# the same with an RSA-1024 key (PKCS#1 v1.5 SHA-1) on a second SSD
	expect 0 postcard domain create ${SSD}02 --privs DAPVerification "${T[@]}"
	expect 0 postcard put-key --sd ${SSD}02 --new-kvn 73 --id 1 --pubkey "$TMP/rsa1kpub.pem" "${T[@]}"
	expect 4 postcard load "$CAP" --to ${SSD}02 --dap-key "$TMP/ec.pem" "${T[@]}"
	one_line "RSA DAP SSD with an EC signature"
	expect 0 postcard load "$CAP" --to ${SSD}02 --dap-key "$TMP/rsa1k.pem" "${T[@]}"
	stop
	[ "$(dump "$C" | jq -r ".load_files[] | select(.aid==\"$PKG\") | .security_domain")" = \
	    ${SSD}02 ] || fail "DAP-verified load (RSA): not in the SSD"
	start "$C"
	expect 0 postcard delete $PKG "${T[@]}"
	# and RSA-2048 (chained PUT KEY; RSASSA-PSS SHA-256 DAP) on a third
	expect 0 postcard domain create ${SSD}03 --privs DAPVerification "${T[@]}"
	expect 0 postcard put-key --sd ${SSD}03 --new-kvn 73 --id 1 --pubkey "$TMP/rsa2kpub.pem" "${T[@]}"
	expect 4 postcard load "$CAP" --to ${SSD}03 --dap-key "$TMP/rsa1k.pem" "${T[@]}"
	one_line "RSA-2048 DAP SSD with an RSA-1024 signature"
	expect 0 postcard load "$CAP" --to ${SSD}03 --dap-key "$TMP/rsa2k.pem" "${T[@]}"
	stop
	[ "$(dump "$C" | jq -r ".load_files[] | select(.aid==\"$PKG\") | .security_domain")" = \
	    ${SSD}03 ] || fail "DAP-verified load (RSA-2048): not in the SSD"
}

# S16 on an SCP03 i=71 card; R-MAC levels on SCP02 i=75
scenario_levels() {
	local C="$TMP/s16.pcsim" T=
	postcard-sim init "$C" --i 71 2>/dev/null || fail "s16: init"
	start "$C"
	expect 0 postcard --json list --s16 --trace "${T[@]}"
	[ "$(jq -r '.channel.s16' "$TMP/out")" = true ] || fail "--s16: not S16"
	[ "$(grep -c '^>> 8050000010' "$TMP/err")" = 1 ] || fail "--s16: no 16-byte challenge"
	grep -q '^>> 8050000008' "$TMP/err" && fail "--s16: an 8-byte challenge was sent"
	expect 0 postcard --json list --trace "${T[@]}"
	grep -q '^<< 6700' "$TMP/err" || fail "S16 card without --s16: no 6700 first"
	[ "$(jq -r '.channel.s16' "$TMP/out")" = true ] || fail "S16 after 6700"
	stop
	C="$TMP/scp02i75.pcsim"; T=
	postcard-sim init "$C" --scp 02 --i 75 2>/dev/null || fail "i=75: init"
	start "$C"
	for m in mac:01 rmac:11 enc:03; do
		expect 0 postcard --json list --mode "${m%%:*}" "${T[@]}"
		[ "$(jq -r '.channel.level' "$TMP/out")" = "${m##*:}" ] || fail "i=75 --mode ${m%%:*}"
	done
	expect 0 postcard --json install "$CAP" --mode enc --mode rmac "${T[@]}"
	[ "$(jq -r '.channel.level' "$TMP/out")" = 13 ] || fail "i=75 install at 13"
	expect 8 postcard list --mode renc "${T[@]}"
	one_line "SCP02 renc"
	stop
	dump "$C" | jq -e ".applications[] | select(.aid==\"$APP\")" >/dev/null ||
		fail "i=75: install at level 13 did not install"
}

# The acceptance refusals on a card holding applet data: a wrong key, a wrong
# diversification, a missing import, a full card, a locked card and a mistyped command each
# give one line, the exit code of docs/exit-codes.md, and leave registry, keys, life cycles
# and applet data (data, data_version, data_sha256) as they were; counters may move.
scenario_errors() {	# scenario_errors SCP
	local C="$TMP/err$1.pcsim" T= before wrong kdf
	if [ "$1" = 02 ]; then
		postcard-sim init "$C" --scp 02 --i 55 --memory 6000 2>/dev/null || fail "errors: init"
		wrong=000102030405060708090A0B0C0D0E0F; kdf=emv
	else
		postcard-sim init "$C" --memory 6000 2>/dev/null || fail "errors: init"
		wrong=000102030405060708090A0B0C0D0E0F; kdf=kdf3
	fi
	postcard-sim cap datastore -o "$TMP/ds.cap"
	postcard cap build --package D0D1D2D3D4D577 --applet D0D1D2D3D4D57701 \
	    --import A0000000629999:1.0 -o "$TMP/missing.cap" 2>/dev/null || fail "cap build missing"
	postcard cap build --package D0D1D2D3D4D588 --applet D0D1D2D3D4D58801 \
	    --import A0000000620101:1.3 --size 8000 -o "$TMP/big.cap" 2>/dev/null || fail "cap build big"
	start "$C"
	expect 0 postcard install "$TMP/ds.cap" "${T[@]}"
	expect 0 postcard install "$CAP" "${T[@]}"
	printf 'tlv enc C1 04 00000001 5F20 02 0102\n' > "$TMP/e.perso"
	expect 0 postcard personalize F0706F7374636172640101 --perso-file "$TMP/e.perso" "${T[@]}"
	stop; before=$(state "$C"); start "$C"
	jq -e '.applications[] | select(.data_version == 1)' <<<"$before" >/dev/null ||
		fail "errors $1: no applet data to protect"

	expect 5 env WRONGKEY=$wrong postcard list --key-env WRONGKEY "${T[@]}"
	one_line "errors $1 wrong key"; grep -q 'wrong key?' "$TMP/err" || fail "errors $1: wrong key text"
	expect 5 postcard list --kdf $kdf "${T[@]}"
	one_line "errors $1 wrong kdf"; grep -q 'does with --kdf none' "$TMP/err" ||
		fail "errors $1: wrong kdf text"
	expect 4 postcard install "$TMP/missing.cap" "${T[@]}"
	one_line "errors $1 missing import"; grep -q '6438 on LOAD' "$TMP/err" ||
		fail "errors $1: missing import not 6438"
	expect 4 postcard install "$TMP/big.cap" "${T[@]}"
	one_line "errors $1 full card"; grep -q '6A84 on LOAD: not enough memory' "$TMP/err" ||
		fail "errors $1: full card not 6A84"
	expect 2 postcard instal "$CAP" "${T[@]}"
	one_line "errors $1 mistyped command"; grep -q "'instal' is not a postcard command" \
	    "$TMP/err" || fail "errors $1: mistyped command text"
	expect 2 postcard install "$CAP" --forse "${T[@]}"
	one_line "errors $1 mistyped option"
	stop
	[ "$(state "$C")" = "$before" ] || fail "errors $1: a refusal changed the card"
	start "$C"
	expect 0 postcard card lock "${T[@]}"
	stop; before=$(state "$C"); start "$C"
	expect 4 postcard install "$CAP" -f "${T[@]}"
	one_line "errors $1 locked card"; grep -q 'CARD_LOCKED' "$TMP/err" ||
		fail "errors $1: locked card not named"
	expect 4 postcard personalize F0706F7374636172640101 --perso-file "$TMP/e.perso" "${T[@]}"
	one_line "errors $1 locked card perso"
	stop
	[ "$(state "$C")" = "$before" ] || fail "errors $1: a refusal changed the locked card"
}

# every command is in `postcard --help`, has --help with examples, and is in the man page,
# which man renders without warnings
scenario_help() {
	local c cmds man1 MAN
	man1=$(dirname "$0")/../docs/postcard.1
	cmds=$(postcard --help | awk '/^Commands:/ { f = 1; next } /^$/ { f = 0 } f { print $1 }')
	local card_cmds="cap selftest readers info list load install delete make-default lock-app
	    unlock-app card put-key delete-key personalize store-data registry-update move domain
	    apdu"
	for c in $card_cmds; do
		grep -qx -- "$c" <<<"$cmds" || fail "postcard --help does not list $c"
	done
	[ -r "$man1" ] || { fail "docs/postcard.1 missing"; return; }
	if command -v man >/dev/null; then
		MAN=$(MANWIDTH=100 man --warnings -l "$man1" 2>"$TMP/manerr" | col -b)
		[ -s "$TMP/manerr" ] && fail "man -l docs/postcard.1: $(cat "$TMP/manerr")"
	else
		MAN=$(sed 's/\\-/-/g' "$man1")
	fi
	for c in $cmds; do
		expect 0 postcard help "$c"
		grep -q '^Examples:' "$TMP/out" || fail "postcard help $c: no examples"
		grep -q '^usage: postcard' "$TMP/out" || fail "postcard help $c: no usage line"
	done
	for c in $card_cmds; do
		grep -Eq "^ *([a-z-]+, )*$c(,| |\$)" <<<"$MAN" || fail "man page: no entry for $c"
	done
}

scenario_help
scenario_scp03
scenario_scp02
scenario_errors 03
scenario_errors 02
scenario_extras
scenario_levels
scenario_perso 03
scenario_perso 02
stop
[ "$fails" = 0 ] || { echo "$fails failure(s)" >&2; exit 1; }
echo "cli_card: all passed"
