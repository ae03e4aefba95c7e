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
# time of the agent run, the HTTP exchanges and APDUs, and the server's own measures of the
# session from its session.close audit record: PKCS#11 calls and store transactions. With
# OpenSC's pkcs11-spy installed, a separate pass (whose logging would distort the timing)
# counts the PKCS#11 calls in the spy's log too, as a cross-check.
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
audit_head() { postcard --json admin audit-verify | jq .records; }
# close_metrics AFTER: the metrics of the last session.close record after id AFTER
close_metrics() {
	postcard --json admin audit --after "$1" --limit 1000 |
		jq -c '[.records[] | select(.action == "session.close")] | last | .details.metrics'
}

# one SIZE MODE: queue an install, run one session (prints the agent's JSON), then a delete
one_install() {
	local size=$1 mode=$2 lf args=()
	lf=$(eval "echo \$LF_$size")
	[ "$mode" = relay ] && args=(--relay)
	af_queue b install "{\"loadfile\": $lf}" >/dev/null
	af_agent b "${args[@]}"
}
delete_it() {
	local lf pkg
	lf=$(eval "echo \$LF_$1")
	pkg=$(postcard --json admin loadfiles | jq -r ".loadfiles[] | select(.id == $lf) | .aid")
	af_queue b delete "{\"aid\": \"$pkg\", \"related\": true}" >/dev/null
	af_agent b >/dev/null
}

# row SIZE MODE(bundle|relay): prints one result line, sets ROW_RATE
row() {
	local size=$1 mode=$2 i c0 c1 t0 t1 a0 m cpu=0 wall=0 x=0 ap=0 hsm=0 tx=0 out
	for i in $(seq 1 "$N"); do
		a0=$(audit_head)
		c0=$(cpu_ms)
		t0=$(date +%s%N)
		out=$(one_install "$size" "$mode")
		t1=$(date +%s%N)
		c1=$(cpu_ms)
		[ "$(jq -r .ok <<<"$out")" = true ] || { echo "$out" >&2; echo "bench: session failed" >&2; exit 1; }
		m=$(close_metrics "$a0")
		cpu=$(awk -v a="$cpu" -v b="$c0" -v c="$c1" 'BEGIN { print a + c - b }')
		wall=$(( wall + (t1 - t0) / 1000 ))
		hsm=$(( hsm + $(jq .hsm_calls <<<"$m") ))
		tx=$(( tx + $(jq .store_tx <<<"$m") ))
		x=$(jq .exchanges <<<"$out")
		ap=$(jq .apdus <<<"$out")
		delete_it "$size"
	done
	ROW_RATE=$(awk -v n="$N" -v cpu="$cpu" 'BEGIN { c = cpu / n; printf "%.1f", (c > 0 ? 1000 / c : 0) }')
	awk -v n="$N" -v cpu="$cpu" -v wall="$wall" -v x="$x" -v ap="$ap" -v s="$size" -v m="$mode" \
		-v hsm="$hsm" -v tx="$tx" -v spy="${SPYCALLS:-n/a}" 'BEGIN {
		c = cpu / n; printf "%6d B  %-6s %4d exchanges %4d APDUs  server CPU %7.2f ms  %6.1f sessions/s/core  agent wall %7.1f ms  HSM calls %5.0f (spy %s)  store tx %4.0f\n",
		s, m, x, ap, c, (c > 0 ? 1000 / c : 0), wall / n / 1000, hsm / n, spy, tx / n }'
}

# PKCS#11 calls per install session counted in pkcs11-spy's log: one pass
spy_calls() {
	local size=$1 mode=$2 before after
	before=$(grep -c '^[0-9]*: C_' "$AF/spy.log" 2>/dev/null || true)
	one_install "$size" "$mode" >/dev/null
	after=$(grep -c '^[0-9]*: C_' "$AF/spy.log" 2>/dev/null || true)
	delete_it "$size"
	echo $(( ${after:-0} - ${before:-0} ))
}

declare -A SPYOF
if [ -r "$SPY" ]; then
	af_server_kill TERM
	cp "$AF/pki/postcardd.json" "$AF/pki/plain.json"
	jq --arg m "$SPY" '.hsm.module = $m' "$AF/pki/plain.json" >"$AF/pki/postcardd.json"
	PKCS11SPY=/usr/lib/softhsm/libsofthsm2.so PKCS11SPY_OUTPUT=$AF/spy.log start_pinned
	for size in 3000 30000; do
		for mode in bundle relay; do
			SPYOF[$size$mode]=$(spy_calls "$size" "$mode")
		done
	done
	af_server_kill TERM
	cp "$AF/pki/plain.json" "$AF/pki/postcardd.json"
	start_pinned
fi

echo "bench_session: $N install sessions per row (each followed by an unmeasured delete)," \
	"postcardd on core $srv_core of $ncpu, SoftHSM $(softhsm2-util --version 2>/dev/null)," \
	"$(uname -m), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
declare -A RATE
for size in 3000 30000; do
	for mode in bundle relay; do
		SPYCALLS=${SPYOF[$size$mode]:-n/a} row "$size" "$mode"
		RATE[$size$mode]=$ROW_RATE
	done
	awk -v b="${RATE[${size}bundle]}" -v r="${RATE[${size}relay]}" -v s="$size" 'BEGIN {
		printf "%6d B  bundled / relay: %.1fx the sessions per core\n", s, (r > 0 ? b / r : 0) }'
done
m=$(curl -s --cacert "$AF/pki/ca.pem" -H "Authorization: Bearer $(cat "$AF/pki/admin.token")" \
	"$AF_URL/admin/v1/metrics")
echo "server metrics since the last start: $(jq -c '{agent, hsm, store}' <<<"$m")"
