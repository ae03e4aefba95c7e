#!/usr/bin/env bash
# cli_agent_kill.sh: exactly once under kills (issue 5, "Kill tests"). For each job type a job
# is queued and one session is interrupted at one kill point, then sessions resume until the
# server has decided; every case must end with the job done exactly once, the card in the
# state the job leads to (postcard-sim dump --json), and the resumed session within
# 3 + 1 exchanges (reconciliation adds at most one). Kill points (docs/agent.md):
#   the agent killed (SIGKILL) before/after each HTTP request and response: send:N sent:N recv:N
#   the agent killed after APDU k of each bundle, for every k:                apdu:S:k
#   the card powered off after APDU k of the bundle, for every k:             cardoff:2:k
#   postcardd killed (SIGKILL) and restarted, at the agent's points:          peer-...
#   postcardd killed between the store's commit of exchange N and its reply:  commit:N
#     (postcardd's PCARD_SRV_KILL_AT=commit:N, src/server/srv_killpoint.c)
#   the card's simulator stopped mid-bundle and started again (a sample):     sleep-apdu + stop
# Over the TCP link; cli_pcsc_agent.sh runs a sample through pcscd. Prints the cases tried per
# job type and the failures (0). Then the negative control: the same kills against a
# postcardd with "reconcile": false (unknown jobs resent blindly) on a few cases, each on a
# fresh card, must go wrong at least once.
#
# AGENT_KILL_SET=full (default: every job type at every point; 240 cases, 131 s in the gcc
# build, 247 s under ASan) or quick (114 cases, 81 s under ASan: install and rotate-keys at
# every point, the other types at the apdu:2:k, cardoff:2:k and commit:N points);
# CMakeLists.txt sets full for the plain build and quick for the sanitizer build. The output
# says which set ran.
# Never skipped: a server that does not serve sessions is a failure.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/agent-fixture.sh"
trap af_cleanup EXIT
AF_CONFIG_EXTRA='{"limits": {"session_expiry": 1}}'

af_setup
CAPS=${PCARD_TESTDATA:-$here/../../shared/testdata}/cap
postcard-sim cap datastore -o "$AF/ds.cap" >/dev/null
HW=$(af_upload "$CAPS/kaoh-helloworld.cap")
DS=$(af_upload "$AF/ds.cap")
HW_APP=$(postcard --json admin loadfiles | jq -r ".loadfiles[] | select(.id == $HW) | .applets[0]")
HW_PKG=$(postcard --json admin loadfiles | jq -r ".loadfiles[] | select(.id == $HW) | .aid")
DSA=$AF_DS_AID
C=k3
af_card "$C" scp03

declare -A TRIED FAILED
VERSION=0
KVN=1
FAILS=0
LOG=$AF/failures.log

NEG=0
note_fail() {
	FAILS=$((FAILS + 1))
	FAILED[$1]=$((${FAILED[$1]:-0} + 1))
	if [ "$NEG" = 1 ]; then
		echo "negative control: $1 at $2 goes wrong as expected: $3" >>"$LOG"
	else
		echo "FAIL $1 at $2: $3" | tee -a "$LOG" >&2
	fi
}

# agent_once [env...]: one session, no kill; prints the JSON; sets ARC. A 409 (the killed
# agent's session still live) waits for its expiry and tries again.
agent_once() {
	local i out
	for i in 1 2 3 4; do
		ARC=0
		out=$(af_agent "$C" --timeout 10) || ARC=$?
		if jq -e '.error.code == "PCARD_E_CONFLICT"' <<<"$out" >/dev/null 2>&1; then
			sleep 1.1
			continue
		fi
		break
	done
	printf '%s' "$out"
}

job_state() { postcard --json admin job "$1" | jq -r .state; }

# clean TYPE PARAMS: queue and run without a kill; the job must be done
clean() {
	local id out
	id=$(af_queue "$C" "$1" "$2")
	out=$(agent_once)
	[ "$(job_state "$id")" = done ] || { echo "$out" >&2; echo "setup job $1 not done" >&2; exit 1; }
}

app_lc() { af_dump "$C" | jq -r ".applications[] | select(.aid==\"$1\") | .life_cycle_name"; }

# check TYPE: the card shows the job's effect exactly once
check() {
	local d
	d=$(af_dump "$C")
	case $1 in
	install) [ "$(jq "[.applications[] | select(.aid==\"$HW_APP\")] | length" <<<"$d")" = 1 ] ;;
	delete) [ "$(jq "[.applications[] | select(.aid==\"$HW_APP\")] + [.load_files[] | select(.aid==\"$HW_PKG\")] | length" <<<"$d")" = 0 ] ;;
	data) [ "$(jq -r ".applications[] | select(.aid==\"$DSA\") | .data_version" <<<"$d")" = "$VERSION" ] ;;
	lock-app) [ "$(app_lc "$HW_APP")" = LOCKED ] ;;
	unlock-app) [ "$(app_lc "$HW_APP")" = SELECTABLE ] ;;
	lock-card) [ "$(jq -r .life_cycle <<<"$d")" = 7F ] ;;
	unlock-card) [ "$(jq -r .life_cycle <<<"$d")" = 0F ] ;;
	rotate-keys) [ "$(jq -c '[.isd.sd.key_sets[].kvn]' <<<"$d")" = "[\"0$KVN\"]" ] ;;
	esac
}

# prepare TYPE: put the card where TYPE applies; sets JT (job type) and JP (params)
prepare() {
	case $1 in
	install)
		JT=install JP="{\"loadfile\": $HW}" ;;
	delete)
		clean install "{\"loadfile\": $HW}"
		JT=delete JP="{\"aid\": \"$HW_PKG\", \"related\": true}" ;;
	data)
		VERSION=$((VERSION + 1))
		JT=data-change JP="{\"aid\": \"$DSA\", \"version\": $VERSION, \"items\": \"DF0102$(printf '%04X' "$VERSION")\", \"encrypt\": true}" ;;
	lock-app)
		clean install "{\"loadfile\": $HW}"
		JT=lock-app JP="{\"aid\": \"$HW_APP\"}" ;;
	unlock-app)
		clean install "{\"loadfile\": $HW}"
		clean lock-app "{\"aid\": \"$HW_APP\"}"
		JT=unlock-app JP="{\"aid\": \"$HW_APP\"}" ;;
	lock-card)
		JT=lock-card JP='{}' ;;
	unlock-card)
		clean lock-card '{}'
		JT=unlock-card JP='{}' ;;
	rotate-keys)
		if [ "$KVN" = 1 ]; then
			KVN=2
			JT=rotate-keys JP='{"new_kvn": 2, "profile": "demo-scp03-next"}'
		else
			KVN=1
			JT=rotate-keys JP='{"new_kvn": 1, "profile": "demo-scp03"}'
		fi ;;
	esac
}

# undo TYPE: back to the neutral state (hello world absent, card SECURED)
undo() {
	case $1 in
	install | lock-app | unlock-app)
		clean delete "{\"aid\": \"$HW_PKG\", \"related\": true}" ;;
	lock-card) clean unlock-card '{}' ;;
	esac
}

# srv_up: postcardd's process is there and not a zombie (kill -0 succeeds on a zombie)
srv_up() {
	local st
	st=$(cut -d' ' -f3 "/proc/$AF_SRV_PID/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}
# srv_answers: postcardd answers /health (a server killed a moment ago may still be exiting)
srv_answers() {
	srv_up && curl -sf --max-time 3 --cacert "$AF/pki/ca.pem" "$AF_URL/health" >/dev/null
}

# watch_server APID: while the agent APID runs, start postcardd again (without a kill point)
# whenever it died; then reap the agent (sets rc) and make sure a server answers
watch_server() {
	local apid=$1
	while kill -0 "$apid" 2>/dev/null; do
		if ! srv_up; then
			af_server_kill KILL
			af_server_start
		fi
		sleep 0.02
	done
	{ wait "$apid"; } 2>/dev/null || rc=$?
	if ! srv_answers; then
		af_server_kill KILL
		af_server_start
	fi
}

# one_case TYPE POINT: returns 0, or 3 when the kill point was never reached (past the end)
one_case() {
	local type=$1 point=$2 id out rc=0 reached=1 x i state
	prepare "$type"
	id=$(af_queue "$C" "$JT" "$JP")
	TRIED[$type]=$((${TRIED[$type]:-0} + 1))
	KINDS[${point%%:*}]=$((${KINDS[${point%%:*}]:-0} + 1))
	case $point in
	peer-*)
		PCARD_AGENT_KILL_AT=$point PCARD_AGENT_KILL_PID=$AF_SRV_PID \
			af_agent "$C" --retries 10 --timeout 10 >"$AF/a.json" 2>/dev/null &
		watch_server $! 2>>"$AF/watch.log"
		;;
	commit:*)
		# postcardd dies right after committing exchange N, before its reply; the agent
		# resends the same message to the restarted server
		af_server_kill TERM
		PCARD_SRV_KILL_AT=$point af_server_start
		af_agent "$C" --retries 10 --timeout 10 >"$AF/a.json" 2>/dev/null &
		watch_server $! 2>>"$AF/watch.log"	# bash's "Killed" notices
		grep -q "PCARD_SRV_KILL_AT=$point: exchange" "$AF/postcardd.log" ||
			note_fail "$type" "$point" "postcardd was not killed at $point"
		;;
	stopcard:*)
		# the simulator stopped while the agent sleeps after APDU k, started again after
		PCARD_AGENT_KILL_AT=sleep-apdu:2:${point#stopcard:}:600 af_agent "$C" >"$AF/a.json" 2>/dev/null &
		local apid=$!
		sleep 0.3
		af_card_stop "$C"
		{ wait "$apid"; } 2>/dev/null || rc=$?
		af_card_start "$C"
		;;
	*)
		{ PCARD_AGENT_KILL_AT=$point af_agent "$C" >"$AF/a.json" 2>/dev/null; } 2>/dev/null || rc=$?
		;;
	esac
	# an apdu/cardoff point past the bundle's end is never reached: the session ran clean
	case $point in
	apdu:* | cardoff:* | stopcard:*)
		if [ "$rc" = 0 ] && [ "$(job_state "$id")" = done ]; then
			reached=0
		fi ;;
	esac
	# resume: new sessions until the job is decided (at most 3)
	x=0
	for i in 1 2 3; do
		state=$(job_state "$id")
		case $state in done | failed) break ;; esac
		out=$(agent_once)
		x=$(jq '[.sessions[].exchanges] | add // 0' <<<"$out" 2>/dev/null || echo 0)
		[ "$x" -le 4 ] || note_fail "$type" "$point" "resume took $x exchanges (> 3 + 1)"
	done
	state=$(job_state "$id")
	if [ "$state" != done ]; then
		note_fail "$type" "$point" "job $id is $state after resuming"
	elif ! check "$type"; then
		note_fail "$type" "$point" "the card does not show $type exactly once"
	fi
	[ "$NEG" = 1 ] || undo "$type"
	[ "$reached" = 1 ] || return 3
	return 0
}

POINTS_HTTP="send:1 sent:1 recv:1 send:2 sent:2 recv:2 send:3 sent:3 recv:3 apdu:1:1 apdu:1:2"
POINTS_COMMIT="commit:1 commit:2 commit:3"
POINTS_PEER="peer-sent:1 peer-send:2 peer-sent:2 peer-recv:2 peer-send:3 peer-sent:3 peer-recv:3 peer-apdu:2:1"
TYPES="install delete data lock-app unlock-app lock-card unlock-card rotate-keys"
SET=${AGENT_KILL_SET:-full}
case $SET in
full) FULL_TYPES=$TYPES ;;	# every point for every type
quick) FULL_TYPES="install rotate-keys" ;;
*) echo "cli_agent_kill: AGENT_KILL_SET is full or quick" >&2; exit 2 ;;
esac
declare -A KINDS

clean install "{\"loadfile\": $DS}"
VERSION=1
clean personalise "{\"aid\": \"$DSA\", \"version\": 1, \"items\": \"5F2005414C494345\"}"

echo "cli_agent_kill: set $SET: every job type at apdu:2:k and cardoff:2:k for every k and" \
	"at $POINTS_COMMIT; $FULL_TYPES also at $POINTS_HTTP, $POINTS_PEER, stopcard:1 stopcard:2"
start=$SECONDS
for t in $TYPES; do
	t0=$SECONDS
	for kind in apdu cardoff; do
		k=1
		while one_case "$t" "$kind:2:$k"; do
			k=$((k + 1))
		done
	done
	for p in $POINTS_COMMIT; do
		one_case "$t" "$p" || true
	done
	case " $FULL_TYPES " in *" $t "*)
		for p in $POINTS_HTTP $POINTS_PEER stopcard:1 stopcard:2; do
			one_case "$t" "$p" || true
		done ;;
	esac
	echo "cli_agent_kill: $t: ${TRIED[$t]} cases, ${FAILED[$t]:-0} failures ($((SECONDS - t0)) s)"
done

total=0
for t in $TYPES; do total=$((total + TRIED[$t])); done
kinds=
for k in "${!KINDS[@]}"; do kinds="$kinds $k=${KINDS[$k]}"; done
echo "cli_agent_kill: cases by kill point:$(tr ' ' '\n' <<<"$kinds" | sort | tr '\n' ' ')"
echo "cli_agent_kill: $total cases, $FAILS failures, $((SECONDS - start)) s"
postcard --json admin audit-verify | jq -e .ok >/dev/null || { echo "audit chain broken" >&2; exit 1; }
[ "$FAILS" = 0 ] || exit 1

# Negative control: postcardd with "reconcile": false resends unknown jobs blindly instead of
# reading the card back. The same kills on a fresh card each (nothing to undo): an install
# interrupted after its load file is complete, or after INSTALL [for install], is sent again
# and refused (6985); a delete whose answer was lost is sent again for an AID that is gone
# (6A88). Some of these cases must go wrong, or the test above could not tell. (A rotation
# is not among them: the card's INITIALIZE UPDATE names the new key version, which proves it
# without any read-back; a data write is idempotent by its version.)
jq '.reconcile = false' "$AF/pki/postcardd.json" >"$AF/pki/c.json"
mv "$AF/pki/c.json" "$AF/pki/postcardd.json"
af_server_restart TERM
NEG=1
FAILS=0
FAILED=()
TRIED=()
KINDS=()
n=0
neg_case() {	# TYPE POINT: on a new card (its own identity) on the same server
	n=$((n + 1))
	af_card_stop "$C"
	C=neg$n
	af_card "$C" scp03
	one_case "$1" "$2" || true
}
nstart=$SECONDS
for k in 1 2 3 4 5 6; do neg_case install "apdu:2:$k"; done
neg_case delete apdu:2:2
neg_total=$((TRIED[install] + TRIED[delete]))
echo "cli_agent_kill: negative control (reconcile off): $FAILS of $neg_total cases wrong" \
	"(install ${FAILED[install]:-0} of ${TRIED[install]}, delete ${FAILED[delete]:-0} of 1)," \
	"$((SECONDS - nstart)) s"
sed 's/^/  /' "$LOG" 2>/dev/null || true
[ "$FAILS" -gt 0 ] || { echo "cli_agent_kill: FAIL: the negative control found nothing wrong" >&2; exit 1; }
echo "cli_agent_kill: all passed"
