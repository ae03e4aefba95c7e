#!/usr/bin/env bash
# cli_server_keys.sh: simulator cards whose keys match a diversified key profile from the start
# (postcard-sim init --master KEY --kdf T --kvn N; docs/keys.md "Cards that match a profile").
#
#   - SCP03 kdf3 and SCP02 emv cards made with the demo master: their key set 01 has the KCVs
#     that `postcard put-key --new-kdf` (libpostcard's keydiv on the host) puts on a card with
#     the same KDD;
#   - postcardd with the demo PKI and profiles (demo-scp03 kdf3, demo-scp02 emv, kvn 01,
#     enrolment on): each card enrols at first contact under its diversified profile, an
#     install is done in 3 exchanges, and a rotation to a second diversified profile is done;
#     a rotation to a template-none profile fails at once with its reason;
#   - a card made with another master: 403 PCARD_E_AUTH, nothing stored;
#   - bad option combinations: exit 2 (usage) and no file written.
set -eu

src=${PCARD_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
for p in postcardd postcard postcard-agent postcard-sim pcard-hsm-import jq openssl sqlite3; do
	command -v $p >/dev/null || { echo "cli_server_keys: $p not on PATH" >&2; exit 1; }
done
export PCARD_BUILD_DIR=$(dirname "$(command -v pcard-hsm-import)")

tmp=$(mktemp -d)
spid=
cpid=
cleanup() {
	for p in $cpid $spid; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
	echo "cli_server_keys: FAIL: $*" >&2
	[ -f "$tmp/srv.log" ] && tail -5 "$tmp/srv.log" >&2
	exit 1
}
ok() { echo "ok - $*"; }
M=404142434445464748494A4B4C4D4E4F	# the public demo master (scripts/softhsm-init)
kcvs() { postcard-sim dump "$1" --json | jq -r --arg k "$2" '.isd.sd.key_sets[] | select(.kvn == $k) |
    [.keys[].kcv] | join(" ")'; }

# usage errors: exit 2, no file
st=0; postcard-sim init "$tmp/x.pcsim" --kdf kdf3 2>/dev/null || st=$?
[ $st = 2 ] && [ ! -e "$tmp/x.pcsim" ] || fail "--kdf without --master: $st"
st=0; postcard-sim init "$tmp/x.pcsim" --master $M 2>/dev/null || st=$?
[ $st = 2 ] || fail "--master without --kdf: $st"
st=0; postcard-sim init "$tmp/x.pcsim" --master $M --kdf emv 2>/dev/null || st=$?
[ $st = 2 ] && [ ! -e "$tmp/x.pcsim" ] || fail "emv (3DES) on SCP03: $st"
st=0; postcard-sim init "$tmp/x.pcsim" --scp 02 --master $M --kdf kdf3 2>/dev/null || st=$?
[ $st = 2 ] || fail "kdf3 (AES) on SCP02: $st"
st=0; postcard-sim init "$tmp/x.pcsim" --master $M --kdf nonsense 2>/dev/null || st=$?
[ $st = 2 ] || fail "unknown template: $st"
st=0; postcard-sim init "$tmp/x.pcsim" --master 0011 --kdf kdf3 2>/dev/null || st=$?
[ $st = 2 ] || fail "2-byte master: $st"
st=0; postcard-sim init "$tmp/x.pcsim" --master $M --kdf kdf3 --kvn 80 2>/dev/null || st=$?
[ $st = 2 ] || fail "--kvn 80: $st"
st=0; postcard-sim init "$tmp/x.pcsim" --master $M --kdf kdf3 --key $M 2>/dev/null || st=$?
[ $st = 2 ] && [ ! -e "$tmp/x.pcsim" ] || fail "--key with --master: $st"
ok "postcard-sim init --master/--kdf/--kvn: 8 bad combinations refused (exit 2), no file written"

# the same keys as postcard put-key --new-kdf puts (host keydiv, the card's KDD)
start_card() {
	if [ -n "$cpid" ]; then kill "$cpid"; wait "$cpid" 2>/dev/null || true; cpid=; fi
	# empty the logs here, not in the background job: its redirections run in the child,
	# so the loop below could otherwise read the previous simulator's port
	: >"$tmp/sim.out"
	: >"$tmp/sim.log"
	postcard-sim run "$1" --tcp 0 >"$tmp/sim.out" 2>"$tmp/sim.log" &
	cpid=$!
	cport=
	for _ in $(seq 200); do
		cport=$(grep -ho 'listening on 127.0.0.1:[0-9]*' "$tmp/sim.out" "$tmp/sim.log" 2>/dev/null |
		    head -1 | sed 's/.*://')
		[ -n "$cport" ] && break
		sleep 0.05
	done
	[ -n "$cport" ] || fail "simulator port: $(cat "$tmp/sim.log")"
}
for kind in "03 70 kdf3" "02 75 emv"; do
	set -- $kind
	postcard-sim init "$tmp/m$1.pcsim" --scp "$1" --i "$2" --master $M --kdf "$3" 2>/dev/null
	postcard-sim init "$tmp/p$1.pcsim" --scp "$1" --i "$2" --putkey-replaces-ff 2>/dev/null
	start_card "$tmp/p$1.pcsim"
	MV=$M postcard -q put-key --tcp "127.0.0.1:$cport" --new-kvn 01 --new-key-env MV \
	    --new-kdf "$3" 2>/dev/null || fail "put-key --new-kdf $3"
	a=$(kcvs "$tmp/m$1.pcsim" 01)
	b=$(kcvs "$tmp/p$1.pcsim" 01)
	[ -n "$a" ] && [ "$a" = "$b" ] || fail "SCP$1 $3: init '$a', put-key '$b'"
	[ "$(postcard-sim dump "$tmp/m$1.pcsim" --json | jq -c '[.isd.sd.key_sets[].kvn]')" = '["01"]' ] ||
		fail "SCP$1: key set FF left"
	ok "SCP$1 $3: init --master gives key set 01 only, KCVs $a, equal to put-key --new-kdf's"
done

# postcardd: the cards enrol under the diversified demo profiles at first contact
"$src/scripts/softhsm-init" "$tmp/hsm" --import-demo-keys >/dev/null
export SOFTHSM2_CONF=$tmp/hsm/softhsm2.conf
pcard-hsm-import --token postcard --label next-scp03 --type aes --generate 16 \
    --pin-file "$tmp/hsm/user.pin" >/dev/null 2>&1
pcard-hsm-import --token postcard --label next-scp02 --type des3 --generate 16 \
    --pin-file "$tmp/hsm/user.pin" >/dev/null 2>&1
printf '%s\n' $M | pcard-hsm-import --token postcard --label static-aes --type aes --static \
    --pin-file "$tmp/hsm/user.pin" >/dev/null 2>&1
"$src/scripts/demo-pki" "$tmp/pki" --hsm "$tmp/hsm" --enrol 2>/dev/null
pki=$tmp/pki
export POSTCARD_ADMIN_TOKEN_FILE=$pki/admin.token POSTCARD_CACERT=$pki/ca.pem
jq '.profiles += [
    {"name":"next-scp03","labels":["next-scp03"],"template":"kdf3","kvn":2,"scp":3,"i":112,"enrol":false},
    {"name":"next-scp02","labels":["next-scp02"],"template":"emv","kvn":2,"scp":2,"i":117,"enrol":false},
    {"name":"static-scp03","labels":["static-aes"],"template":"none","kvn":255,"scp":3,"i":112,"enrol":false}]' \
    "$pki/postcardd.json" >"$pki/k.json"
start_server() {
	if [ -n "$spid" ]; then kill "$spid"; wait "$spid" 2>/dev/null || true; spid=; fi
	rm -f "$pki/postcardd.port"
	jq --arg db "$1.db" '.store = $db' "$pki/k.json" >"$pki/$1.json"
	postcardd --config "$pki/$1.json" 2>>"$tmp/srv.log" &
	spid=$!
	for _ in $(seq 200); do [ -s "$pki/postcardd.port" ] && break; sleep 0.05; done
	[ -s "$pki/postcardd.port" ] || fail "postcardd did not start"
	export POSTCARD_SERVER=https://127.0.0.1:$(cat "$pki/postcardd.port")
	db=$pki/$1.db
}
agent() {
	local out=$1
	shift
	set +e
	postcard-agent --server "$POSTCARD_SERVER" --tcp "127.0.0.1:$cport" --cert "$pki/agent.pem" \
	    --key "$pki/agent.key" --cacert "$pki/ca.pem" --once --json "$@" >"$out" 2>"$out.err"
	local rc=$?
	set -e
	return $rc
}
A() { postcard --json admin "$@"; }
postcard-sim cap datastore -o "$tmp/ds.cap" 2>/dev/null
for kind in "03 70 kdf3 demo-scp03 next-scp03" "02 75 emv demo-scp02 next-scp02"; do
	set -- $kind
	start_server "s$1"
	# another master: the cryptogram does not verify under the demo profile
	postcard-sim init "$tmp/o$1.pcsim" --scp "$1" --i "$2" --master 00112233445566778899AABBCCDDEEFF \
	    --kdf "$3" 2>/dev/null
	start_card "$tmp/o$1.pcsim"
	agent "$tmp/o.json" && fail "SCP$1: a card of another master was served"
	jq -e '.error.code == "PCARD_E_AUTH"' "$tmp/o.json" >/dev/null || fail "SCP$1: other master: $(cat "$tmp/o.json")"
	[ "$(sqlite3 "$db" 'SELECT count(*) FROM cards')" = 0 ] || fail "SCP$1: other master enrolled"
	# the demo master: enrolled under the diversified profile, then jobs
	start_card "$tmp/m$1.pcsim"
	agent "$tmp/e.json" || fail "SCP$1: enrolment: $(cat "$tmp/e.json.err")"
	card=$(sqlite3 "$db" 'SELECT id FROM cards')
	A card "$card" | jq -e --arg p "$4" '.card.profile == $p and .card.key_versions == [1]' >/dev/null ||
		fail "SCP$1: enrolled as $(A card "$card" | jq -c '.card | [.profile, .key_versions]')"
	lf=$(A upload "$tmp/ds.cap" | jq .id)
	j1=$(A queue "$card" install --params "{\"loadfile\": $lf}" | jq .id)
	j2=$(A queue "$card" rotate-keys --params "{\"new_kvn\": 2, \"profile\": \"$5\"}" | jq .id)
	agent "$tmp/a.json" || fail "SCP$1: session: $(jq -c '.sessions[0].results' "$tmp/a.json")"
	jq -e '.sessions[0].exchanges == 3' "$tmp/a.json" >/dev/null || fail "SCP$1: exchanges"
	[ "$(A job "$j1" | jq -r .state) $(A job "$j2" | jq -r .state)" = "done done" ] || fail "SCP$1: jobs"
	[ "$(postcard-sim dump "$tmp/m$1.pcsim" --json | jq -c '[.isd.sd.key_sets[].kvn]')" = '["02"]' ] ||
		fail "SCP$1: key sets after the rotation"
	# and the rotated card is served under the new profile; a rotation to a template-none
	# profile fails with its reason (the HSM never wraps a master), the other job is done
	jn=$(A queue "$card" rotate-keys --params '{"new_kvn": 3, "profile": "static-scp03"}' | jq .id)
	jl=$(A queue "$card" lock-card | jq .id)
	agent "$tmp/b.json" || true
	[ "$(A job "$jl" | jq -r .state)" = done ] || fail "SCP$1: after the rotation: $(cat "$tmp/b.json.err")"
	A job "$jn" | jq -e '.state == "failed" and (.reason | test("template none"))' >/dev/null ||
		fail "SCP$1: rotation to template none: $(A job "$jn" | jq -c '[.state, .reason]')"
	ok "SCP$1 $3: a card of another master 403, nothing stored; init --master card enrolled under $4 (kvn 01), install + rotation to $5 (kvn 02) in 3 exchanges, then served under $5 (a rotation to a template-none profile failed with its reason)"
done
echo "cli_server_keys: all passed"
