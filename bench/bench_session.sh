#!/usr/bin/env bash
# bench_session.sh: agent sessions per second on one core with SoftHSM, for a 3 KB and a 30 KB
# generated CAP, bundled (3 exchanges) and through the per-APDU relay, in the same run.
#
#   bench/bench_session.sh [SESSIONS]       (default 20 measured install sessions per row)
#
# postcardd is pinned to one core (taskset) with its SoftHSM token; postcard-sim serves the
# card over TCP and postcard-agent runs once per session, both on another core. Each row
# alternates an install session (measured) with a delete session (not measured), so every
# measured session loads and installs the whole CAP. Per measured session it prints the
# server's CPU time (utime + stime of postcardd from /proc, so the agent's process start and
# the card do not count), the sessions per second one core sustains (1 / CPU time), the wall
# time of the agent run, the HTTP exchanges and APDUs, and the PKCS#11 calls the server made
# (counted in a separate pass through OpenSC's pkcs11-spy, whose logging would distort the
# timing). Store transactions per session come from the server's metrics when it has them.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
export PCARD_SOURCE_DIR=$here
. "$here/tests/agent-fixture.sh"
trap af_cleanup EXIT
N=${1:-20}
SPY=/usr/lib/x86_64-linux-gnu/pkcs11/pkcs11-spy.so
ncpu=$(nproc)
srv_core=0
other=$([ "$ncpu" -gt 1 ] && echo 1 || echo 0)

af_setup
af_server_kill TERM
AF_SRV_ARGS=
# the server on one core; everything else elsewhere
taskset -pc "$other" $$ >/dev/null
start_pinned() {
	af_server_start
	taskset -pc "$srv_core" "$AF_SRV_PID" >/dev/null
}
start_pinned
af_card b scp03

for size in 3000 30000; do
	postcard cap build --package A000000151500$((size / 1000 % 10)) \
		--applet A000000151500$((size / 1000 % 10))01 --import A0000000620101:1.3 \
		--size "$size" -o "$AF/cap$size.cap" >/dev/null
	eval "LF_$size=$(af_upload "$AF/cap$size.cap")"
done

cpu_ms() {	# utime + stime of the server in ms
	awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) * 1000 / hz }' "/proc/$AF_SRV_PID/stat"
}

# row SIZE MODE(bundle|relay): prints one result line
row() {
	local size=$1 mode=$2 lf pkg i c0 c1 t0 t1 cpu=0 wall=0 x=0 ap=0 out args=()
	lf=$(eval "echo \$LF_$size")
	pkg=$(postcard --json admin loadfiles | jq -r ".loadfiles[] | select(.id == $lf) | .aid")
	[ "$mode" = relay ] && args=(--relay)
	for i in $(seq 1 "$N"); do
		af_queue b install "{\"loadfile\": $lf}" >/dev/null
		c0=$(cpu_ms)
		t0=$(date +%s%N)
		out=$(af_agent b "${args[@]}")
		t1=$(date +%s%N)
		c1=$(cpu_ms)
		[ "$(jq -r .ok <<<"$out")" = true ] || { echo "$out" >&2; echo "bench: session failed" >&2; exit 1; }
		cpu=$(awk -v a="$cpu" -v b="$c0" -v c="$c1" 'BEGIN { print a + c - b }')
		wall=$(( wall + (t1 - t0) / 1000 ))
		x=$(jq .exchanges <<<"$out")
		ap=$(jq .apdus <<<"$out")
		af_queue b delete "{\"aid\": \"$pkg\", \"related\": true}" >/dev/null
		af_agent b >/dev/null
	done
	awk -v n="$N" -v cpu="$cpu" -v wall="$wall" -v x="$x" -v ap="$ap" -v s="$size" -v m="$mode" \
		-v calls="${CALLS:-n/a}" 'BEGIN {
		c = cpu / n; printf "%6d B  %-6s  %4d exchanges %4d APDUs  server CPU %7.2f ms  %7.1f sessions/s/core  agent wall %7.1f ms  HSM calls %s\n",
		s, m, x, ap, c, (c > 0 ? 1000 / c : 0), wall / n / 1000, calls }'
}

# HSM calls per install session: one pass through pkcs11-spy
count_calls() {
	local size=$1 mode=$2 lf pkg before after args=()
	lf=$(eval "echo \$LF_$size")
	pkg=$(postcard --json admin loadfiles | jq -r ".loadfiles[] | select(.id == $lf) | .aid")
	[ "$mode" = relay ] && args=(--relay)
	af_queue b install "{\"loadfile\": $lf}" >/dev/null
	before=$(grep -c '^[0-9]*: C_' "$AF/spy.log" 2>/dev/null || echo 0)
	af_agent b "${args[@]}" >/dev/null
	after=$(grep -c '^[0-9]*: C_' "$AF/spy.log" 2>/dev/null || echo 0)
	af_queue b delete "{\"aid\": \"$pkg\", \"related\": true}" >/dev/null
	af_agent b >/dev/null
	echo $((after - before))
}

declare -A CALLSOF
if [ -r "$SPY" ]; then
	af_server_kill TERM
	jq --arg m "$SPY" '.hsm.module = $m' "$AF/pki/postcardd.json" >"$AF/pki/spy.json"
	cp "$AF/pki/postcardd.json" "$AF/pki/plain.json"
	cp "$AF/pki/spy.json" "$AF/pki/postcardd.json"
	PKCS11SPY=/usr/lib/softhsm/libsofthsm2.so PKCS11SPY_OUTPUT=$AF/spy.log start_pinned
	for size in 3000 30000; do
		for mode in bundle relay; do
			CALLSOF[$size$mode]=$(count_calls "$size" "$mode")
		done
	done
	af_server_kill TERM
	cp "$AF/pki/plain.json" "$AF/pki/postcardd.json"
	start_pinned
fi

echo "bench_session: $N install sessions per row, postcardd on core $srv_core, SoftHSM $(softhsm2-util --version 2>/dev/null)"
for size in 3000 30000; do
	for mode in bundle relay; do
		CALLS=${CALLSOF[$size$mode]:-n/a} row "$size" "$mode"
	done
done
m=$(curl -s --cacert "$AF/pki/ca.pem" -H "Authorization: Bearer $(cat "$AF/pki/admin.token")" \
	"$AF_URL/admin/v1/metrics" 2>/dev/null || true)
if jq -e . <<<"$m" >/dev/null 2>&1 && ! jq -e .error <<<"$m" >/dev/null 2>&1; then
	echo "server metrics: $(jq -c . <<<"$m")"
else
	echo "store transactions per session: the server has no metrics endpoint yet (docs/store.md: one per exchange)"
fi
