# shellcheck shell=bash
# agent-fixture.sh: postcardd + SoftHSM + postcard-sim cards + postcard-agent for the agent
# tests (tests/cli_agent*.sh, tests/cli_*agent_kill*.sh) and bench/bench_session.sh.
# Source it from bash after `set -eu`; needs jq and the built programs on PATH
# (PCARD_BUILD_DIR).
#
#   af_setup                 work dir ($AF), SoftHSM token with the demo masters and a
#                            generated second SCP03 master, demo PKI, postcardd started
#   af_server_start / af_server_kill [SIG] / af_server_restart
#   af_card NAME scp03|scp02 a postcard-sim card file $AF/NAME.pcsim of its own identity
#                            (init --serial: a new IC serial number per card, so any number
#                            of cards share one server) whose key set 01 matches profile
#                            demo-scp03 / demo-scp02 (init --master --kdf), served on TCP
#                            (port in AF_PORT_<NAME>), registered with the server (AF_ID_<NAME>)
#   af_card_init FILE scp03|scp02   just the card file (for a card served elsewhere, pcscd)
#   af_card_stop NAME / af_card_start NAME     stop (SIGTERM: the card is powered off) or
#                            start the card's simulator again on the same port
#   af_agent NAME [ARGS]     postcard-agent --once --json on the card's TCP link; JSON on stdout
#   af_queue NAME TYPE JSON  queue a job, prints its id
#   af_jobs NAME             "id type state" lines
#   af_dump NAME             postcard-sim dump --json of the card file
# Everything started is stopped at exit (af_cleanup from the caller's EXIT trap or
# pcsc_atexit).

AF_MASTER=404142434445464748494A4B4C4D4E4F	# the public demo master (softhsm-init)
AF_DS_AID=F0706F7374636172640101
AF_SRV_PID=
AF_SIM_PIDS=()
AF_NCARDS=0

_af_log() { echo "agent-fixture: $*" >&2; }

af_cleanup() {
	local p
	for p in "${AF_SIM_PIDS[@]}"; do
		[ -n "$p" ] && kill -TERM "$p" 2>/dev/null || true
	done
	if [ -n "$AF_SRV_PID" ]; then
		kill -TERM "$AF_SRV_PID" 2>/dev/null || true
	fi
	# only our own children: a bare wait would also wait for the PC/SC fixture's pcscd
	for p in "${AF_SIM_PIDS[@]}" $AF_SRV_PID; do
		wait "$p" 2>/dev/null || true
	done
	AF_SRV_PID=
	if [ -n "${AF:-}" ] && [ "${AF_KEEP:-0}" != 1 ]; then
		rm -rf "$AF"
	fi
}

af_setup() {
	local src=${PCARD_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
	AF=$(mktemp -d /tmp/postcard-agent-test.XXXXXX)
	export AF PCARD_BUILD_DIR=${PCARD_BUILD_DIR:-$src/build}
	export PATH=$PCARD_BUILD_DIR:$PATH
	"$src/scripts/softhsm-init" "$AF/hsm" --import-demo-keys >/dev/null
	export SOFTHSM2_CONF=$AF/hsm/softhsm2.conf
	pcard-hsm-import --token postcard --label demo-scp03-master-2 --type aes --generate 16 \
		--pin-file "$AF/hsm/user.pin" >/dev/null
	pcard-hsm-import --token postcard --label demo-scp02-master-2 --type des3 --generate 16 \
		--pin-file "$AF/hsm/user.pin" >/dev/null
	"$src/scripts/demo-pki" "$AF/pki" --hsm "$AF/hsm" 2>/dev/null
	jq --argjson extra "${AF_CONFIG_EXTRA:-{\}}" '.profiles += [
		{"name": "demo-scp03-next", "labels": ["demo-scp03-master-2"], "template": "kdf3",
		 "kvn": 2, "scp": 3, "i": 112, "enrol": false},
		{"name": "demo-scp02-next", "labels": ["demo-scp02-master-2"], "template": "emv",
		 "kvn": 2, "scp": 2, "i": 117, "enrol": false}] | . * $extra' \
		"$AF/pki/postcardd.json" >"$AF/pki/c.json"
	mv "$AF/pki/c.json" "$AF/pki/postcardd.json"
	AF_CERTS=(--cert "$AF/pki/agent.pem" --key "$AF/pki/agent.key" --cacert "$AF/pki/ca.pem")
	export POSTCARD_ADMIN_TOKEN_FILE=$AF/pki/admin.token POSTCARD_CACERT=$AF/pki/ca.pem
	af_server_start
	# later restarts keep the port the first start got
	jq --argjson p "$AF_SRV_PORT" '.port = $p' "$AF/pki/postcardd.json" >"$AF/pki/c.json"
	mv "$AF/pki/c.json" "$AF/pki/postcardd.json"
}

af_server_start() {
	local i
	rm -f "$AF/pki/postcardd.port"
	postcardd --config "$AF/pki/postcardd.json" ${AF_SRV_ARGS:-} 2>>"$AF/postcardd.log" &
	AF_SRV_PID=$!
	for i in $(seq 1 200); do
		[ -s "$AF/pki/postcardd.port" ] && break
		kill -0 "$AF_SRV_PID" 2>/dev/null || { cat "$AF/postcardd.log" >&2; _af_log "postcardd died"; return 1; }
		sleep 0.05
	done
	AF_SRV_PORT=$(cat "$AF/pki/postcardd.port")
	AF_URL=https://127.0.0.1:$AF_SRV_PORT
	export POSTCARD_SERVER=$AF_URL
}

af_server_kill() {
	[ -n "$AF_SRV_PID" ] || return 0
	kill "-${1:-KILL}" "$AF_SRV_PID" 2>/dev/null || true
	wait "$AF_SRV_PID" 2>/dev/null || true
	AF_SRV_PID=
}

af_server_restart() {
	af_server_kill "${1:-KILL}"
	af_server_start
}

# af_card_init FILE scp03|scp02: a card of a new identity (IC serial 0000A001, A002, ...)
# holding key set 01 of the demo master diversified with its KDD (kdf3 / emv); sets AF_CARD_ID
# to the id the server knows it by (CPLC: IC fabricator, type, serial number, batch)
af_card_init() {
	local f=$1 kind=$2 cplc args
	AF_NCARDS=$((AF_NCARDS + 1))
	args=(--serial "$(printf '0000%04X' $((0xA000 + AF_NCARDS)))" --master "$AF_MASTER" --force)
	case $kind in
	scp03) postcard-sim init "$f" "${args[@]}" --kdf kdf3 2>/dev/null ;;
	scp02) postcard-sim init "$f" "${args[@]}" --scp 02 --i 75 --kdf emv 2>/dev/null ;;
	*) _af_log "af_card_init: scp03 or scp02"; return 2 ;;
	esac
	cplc=$(postcard-sim dump "$f" --json | jq -r .identity.cplc)
	AF_CARD_ID=${cplc:0:8}${cplc:24:12}
}

# af_card NAME scp03|scp02 [no-register]
af_card() {
	local name=$1 kind=$2
	af_card_init "$AF/$name.pcsim" "$kind"
	af_card_start "$name" 0
	eval "AF_ID_$name=$AF_CARD_ID"
	eval "AF_KIND_$name=$kind"
	[ "${3:-}" = no-register ] && return 0
	postcard -q admin register-card --id "$(af_id "$name")" \
		--profile "demo-${kind}" >/dev/null
}

af_id() { eval "echo \$AF_ID_$1"; }
af_port() { eval "echo \$AF_PORT_$1"; }

# af_card_start NAME [PORT]: PORT 0 = a new free port; default the card's port
af_card_start() {
	local name=$1 port=${2:-$(af_port "$1")} i p
	rm -f "$AF/$name.sim.log"
	postcard-sim run "$AF/$name.pcsim" --tcp "$port" >"$AF/$name.sim.log" 2>&1 &
	eval "AF_SIMPID_$name=$!"
	AF_SIM_PIDS+=("$!")
	for i in $(seq 1 200); do
		p=$(grep -o 'listening on 127.0.0.1:[0-9]*' "$AF/$name.sim.log" 2>/dev/null | cut -d: -f2)
		[ -n "$p" ] && break
		sleep 0.02
	done
	[ -n "$p" ] || { cat "$AF/$name.sim.log" >&2; _af_log "postcard-sim did not start"; return 1; }
	eval "AF_PORT_$name=$p"
}

af_card_stop() {
	local pid
	pid=$(eval "echo \${AF_SIMPID_$1:-}")
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	eval "AF_SIMPID_$1="
}

af_agent() {
	local name=$1
	shift
	postcard-agent --server "$AF_URL" --tcp "127.0.0.1:$(af_port "$name")" "${AF_CERTS[@]}" \
		--once --json --retries "${AF_RETRIES:-3}" "$@"
}

af_queue() {
	postcard --json admin queue "$(af_id "$1")" "$2" --params "$3" | jq -r .id
}

af_jobs() {
	postcard --json admin jobs "$(af_id "$1")" | jq -r '.jobs[] | "\(.id) \(.type) \(.state)"'
}

af_dump() { postcard-sim dump "$AF/$1.pcsim" --json; }

# af_new_store NAME: restart postcardd on an empty store NAME.db
af_new_store() {
	af_server_kill TERM
	jq --arg s "$1.db" '.store = $s' "$AF/pki/postcardd.json" >"$AF/pki/c.json"
	mv "$AF/pki/c.json" "$AF/pki/postcardd.json"
	af_server_start
}

# af_upload FILE.cap: prints the load file id
af_upload() { postcard --json admin upload "$1" | jq -r .id; }
