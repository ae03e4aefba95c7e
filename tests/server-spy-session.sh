#!/usr/bin/env bash
# server-spy-session.sh DIR: postcardd with its HSM module set to OpenSC's pkcs11-spy in front
# of SoftHSM, serving postcard-agent sessions for an SCP03 i=70 card and
# an SCP02 i=75 card (postcard-sim over the TCP link) that run every job type (one server and
# store per card, logs DIR/spy-scp03.log and DIR/spy-scp02.log). Used by
# tests/test_server_spy.c, which then checks every template in the log (docs/keys.md) and
# tries to read and wrap the master keys directly on the token (DIR/hsm).
#
# Per card: enrolment under a template-none profile of static masters (key set FF), then
#   A  install x2, personalise (encrypted), lock-app, rotate-keys to the diversified demo
#      profile (kdf3 / emv master), lock-card                         (3 exchanges)
#   B  unlock-card, unlock-app, data-change, the agent killed after bundle APDU 3, then the
#      next session reconciles                                        (diversified keys)
#   C  delete through the per-APDU relay
#   D  terminate
# Every job must end done; the job types done are printed.
set -eu

dir=$1
src=${PCARD_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
SPY=/usr/lib/x86_64-linux-gnu/pkcs11/pkcs11-spy.so
SOFTHSM=/usr/lib/softhsm/libsofthsm2.so
for p in postcardd postcard postcard-agent postcard-sim pcard-hsm-import jq openssl; do
	command -v $p >/dev/null || { echo "server-spy-session: $p not on PATH" >&2; exit 1; }
done
for f in $SPY $SOFTHSM; do
	[ -f "$f" ] || { echo "server-spy-session: $f missing (scripts/bootstrap)" >&2; exit 1; }
done
export PCARD_BUILD_DIR=$(dirname "$(command -v pcard-hsm-import)")

spid=
cpid=
cleanup() {
	for p in $cpid $spid; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
fail() {
	echo "server-spy-session: FAIL: $*" >&2
	[ -f "$dir/srv.log" ] && tail -5 "$dir/srv.log" >&2
	exit 1
}

"$src/scripts/softhsm-init" "$dir/hsm" --import-demo-keys >/dev/null
export SOFTHSM2_CONF=$dir/hsm/softhsm2.conf
# the simulator's key set FF (ENC = MAC = DEK = the GP test key) as static master keys
for t in aes des3; do
	printf '404142434445464748494A4B4C4D4E4F\n' | pcard-hsm-import --token postcard \
	    --label "sim-$t" --type $t --static --pin-file "$dir/hsm/user.pin" 2>/dev/null
done
"$src/scripts/demo-pki" "$dir/pki" --hsm "$dir/hsm" 2>/dev/null
pki=$dir/pki
AG=(--cert "$pki/agent.pem" --key "$pki/agent.key" --cacert "$pki/ca.pem")
export POSTCARD_ADMIN_TOKEN_FILE=$pki/admin.token POSTCARD_CACERT=$pki/ca.pem
A() { postcard --json admin "$@"; }

jq --arg spy "$SPY" '.hsm.module = $spy | .profiles += [
     {"name":"sim-scp03","labels":["sim-aes"],"template":"none","kvn":255,"scp":3,"i":112,"enrol":true},
     {"name":"sim-scp02","labels":["sim-des3"],"template":"none","kvn":255,"scp":2,"i":117,"enrol":true}]' \
    "$pki/postcardd.json" >"$pki/spy.json"
# pkcs11-spy never frees its copy of the function lists (sanitizer builds)
echo 'leak:pkcs11-spy.so' >"$dir/lsan.supp"

# start_server NAME: postcardd on store NAME.db, its PKCS#11 calls logged in DIR/spy-NAME.log
# (one server per card: two fresh simulator cards have the same CPLC, so the same identity)
start_server() {
	rm -f "$dir/spy-$1.log" "$pki/postcardd.port"
	jq --arg db "$1.db" '.store = $db' "$pki/spy.json" >"$pki/$1.json"
	PKCS11SPY=$SOFTHSM PKCS11SPY_OUTPUT=$dir/spy-$1.log LSAN_OPTIONS=suppressions=$dir/lsan.supp \
	    postcardd --config "$pki/$1.json" -v 2>>"$dir/srv.log" &
	spid=$!
	for _ in $(seq 200); do [ -s "$pki/postcardd.port" ] && break; sleep 0.05; done
	[ -s "$pki/postcardd.port" ] || fail "postcardd did not start"
	grep -q 'pkcs11' "$dir/srv.log" || fail "postcardd started without its key provider"
	export POSTCARD_SERVER=https://127.0.0.1:$(cat "$pki/postcardd.port")
}
# stop_server: SIGTERM, so that the spy finalises the module and closes its log
stop_server() {
	kill -TERM "$spid"
	wait "$spid" || fail "postcardd exit status $?"
	spid=
}

start_card() {
	if [ -n "$cpid" ]; then kill "$cpid"; wait "$cpid" 2>/dev/null || true; cpid=; fi
	# empty the logs here, not in the background job: its redirections run in the child,
	# so the loop below could otherwise read the previous simulator's port
	: >"$dir/sim.out"
	: >"$dir/sim.log"
	postcard-sim run "$1" --tcp 0 >"$dir/sim.out" 2>"$dir/sim.log" &
	cpid=$!
	cport=
	for _ in $(seq 200); do
		cport=$(grep -ho 'listening on 127.0.0.1:[0-9]*' "$dir/sim.out" "$dir/sim.log" 2>/dev/null |
		    head -1 | sed 's/.*://')
		[ -n "$cport" ] && break
		sleep 0.05
	done
	[ -n "$cport" ] || fail "simulator port: $(cat "$dir/sim.log")"
}
agent() {
	local out=$1
	shift
	set +e
	postcard-agent --server "$POSTCARD_SERVER" --tcp "127.0.0.1:$cport" "${AG[@]}" --once --json \
	    "$@" >"$out" 2>"$out.err"
	local rc=$?
	set -e
	return $rc
}

postcard-sim cap datastore -o "$dir/ds.cap" 2>/dev/null
postcard-sim cap purse -o "$dir/purse.cap" 2>/dev/null
DS_APP=F0706F7374636172640101
PURSE_APP=F0706F7374636172640201

# card SCP I NEWPROFILE
card() {
	local scp=$1 i=$2 newprof=$3 c=$dir/c$1.pcsim id lf_ds lf_pu
	start_server "scp0$scp"
	lf_ds=$(A upload "$dir/ds.cap" | jq .id)
	lf_pu=$(A upload "$dir/purse.cap" | jq .id)
	postcard-sim init "$c" --scp "$scp" --i "$i" --force 2>/dev/null
	start_card "$c"
	agent "$dir/e$scp.json" || fail "SCP$scp: enrolment: $(cat "$dir/e$scp.json.err")"
	id=$(postcard-sim dump "$c" --json | jq -r '.identity.cplc | .[0:8] + .[24:36]')
	A card "$id" >/dev/null || fail "SCP$scp: card $id not enrolled"
	# A: 3 exchanges; the rotation goes to the diversified profile
	A queue "$id" install --params "{\"loadfile\": $lf_ds}" >/dev/null
	A queue "$id" install --params "{\"loadfile\": $lf_pu}" >/dev/null
	A queue "$id" personalise --params "{\"aid\":\"$DS_APP\",\"version\":1,\"items\":\"5F2003616263\",\"encrypt\":true}" >/dev/null
	A queue "$id" lock-app --params "{\"aid\":\"$PURSE_APP\"}" >/dev/null
	A queue "$id" rotate-keys --params "{\"new_kvn\":48,\"profile\":\"$newprof\"}" >/dev/null
	A queue "$id" lock-card >/dev/null
	agent "$dir/a$scp.json" || fail "SCP$scp: session A: $(cat "$dir/a$scp.json.err")"
	# B: interrupted, then reconciled, under the diversified keys
	A queue "$id" unlock-card >/dev/null
	A queue "$id" unlock-app --params "{\"aid\":\"$PURSE_APP\"}" >/dev/null
	A queue "$id" data-change --params "{\"aid\":\"$DS_APP\",\"version\":2,\"expected\":1,\"items\":\"5F2003646566\"}" >/dev/null
	PCARD_AGENT_KILL_AT=apdu:2:3 agent "$dir/b$scp.json" && fail "SCP$scp: the agent did not die"
	agent "$dir/b$scp-2.json" || fail "SCP$scp: reconciliation: $(cat "$dir/b$scp-2.json.err")"
	# C: per-APDU relay; D: terminate
	A queue "$id" delete --params "{\"aid\":\"$PURSE_APP\"}" >/dev/null
	agent "$dir/c$scp.json" --relay || fail "SCP$scp: relay: $(cat "$dir/c$scp.json.err")"
	A queue "$id" terminate --params '{"confirm": true}' >/dev/null
	agent "$dir/d$scp.json" || fail "SCP$scp: terminate: $(cat "$dir/d$scp.json.err")"
	A jobs "$id" >"$dir/jobs$scp.json"
	jq -e '[.jobs[].state] | all(. == "done") and length == 11' "$dir/jobs$scp.json" >/dev/null ||
		fail "SCP$scp: jobs $(jq -c '[.jobs[] | [.type, .state]]' "$dir/jobs$scp.json")"
	[ "$(postcard-sim dump "$c" --json | jq -r .life_cycle_name)" = TERMINATED ] ||
		fail "SCP$scp: the card is not terminated"
	echo "SCP$scp i=$i: $(jq -r '[.jobs[].type] | group_by(.) | map("\(.[0]) \(length)") | join(", ")' \
	    "$dir/jobs$scp.json") done; rotated to $newprof"
	stop_server
}

card 3 70 demo-scp03
card 2 75 demo-scp02
grep -q 'Sanitizer' "$dir/srv.log" && fail "sanitizer report in the server log"
echo "server-spy-session: done, $(cat "$dir"/spy-*.log | grep -c ': C_') PKCS#11 calls logged"
