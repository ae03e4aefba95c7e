# shellcheck shell=bash
# pcsc-fixture.sh: the one pcscd (with the vpcd driver) that every PC/SC test shares.
# Source it from a bash test, then:
#
#   pcsc_start                 start (or reuse, see the policy) pcscd; exports PCSC_READER,
#                              PCSC_READER2, PCSC_VPCD_PORT; installs the exit trap
#   pcsc_spawn CMD ARGS...     run CMD in the background (a card program), killed by pcsc_stop;
#                              its PID is left in PCSC_SPAWN_PID
#   pcsc_wait_card yes|no [S]  wait up to S seconds (default 10) until PCSC_READER shows a card,
#                              or shows none
#   pcsc_atexit 'COMMANDS'     run COMMANDS at exit, before pcscd stops (use it instead of
#                              `trap ... EXIT`, which would replace the fixture's trap)
#   pcsc_owned                 true when pcsc_stop will stop pcscd (false for a kept one)
#   pcsc_stop                  kill the spawned programs, stop pcscd if this fixture owns it,
#                              release the lock; called by the exit trap, safe to call twice
#   pcsc_stop_daemon           the same but keep the lock (to test what happens without pcscd
#                              while no other test can start one)
#
# Policy (only one pcscd can run on a machine; it always serves /run/pcscd/pcscd.comm):
#  - Every user of the fixture takes an exclusive flock on $PCSC_FIXTURE_DIR/lock first (waits
#    up to PCSC_FIXTURE_LOCK_WAIT seconds, default 600). This serialises PC/SC tests across
#    ctest runs, build directories and people; inside one ctest run the tests also carry
#    RESOURCE_LOCK pcscd so that ctest does not waste parallel slots waiting.
#  - A running pcscd is reused only if it is ours: its command line names this fixture's
#    reader.conf.d directory. Any other pcscd (the system's, someone's debugging session) is
#    never touched: pcsc_start fails and says which PID to stop.
#  - Ours and kept (PCSC_FIXTURE_KEEP=1 when it was started, marker file "keep"): reused and
#    left running. Ours without the marker is a leftover of a test that was killed before its
#    trap ran: it is adopted and stopped at the end like one we started.
#  - Otherwise start `pcscd -f -c DIR` with a private vpcd entry on PCSC_FIXTURE_PORT (default
#    29450, below Linux's ephemeral range; vpcd also takes the next port) and stop it by PID.
#
# pcscd's vpcd listens on 0.0.0.0 (it cannot be told otherwise); cards connect via 127.0.0.1.

PCSC_FIXTURE_DIR=${PCSC_FIXTURE_DIR:-/tmp/postcard-pcsc-fixture}
PCSC_VPCD_PORT=${PCSC_FIXTURE_PORT:-29450}
PCSC_READER="Virtual PCD 00 00"
PCSC_READER2="Virtual PCD 00 01"
export PCSC_VPCD_PORT PCSC_READER PCSC_READER2

_pcsc_owned=0		# 1: pcsc_stop stops pcscd
_pcsc_pid=
_pcsc_lock_fd=
_pcsc_spawned=()
_pcsc_atexit=()
_pcsc_driver=/usr/lib/pcsc/drivers/serial/libifdvpcd.so

_pcsc_log() { echo "pcsc-fixture: $*" >&2; }

# PIDs of running processes named pcscd (read from /proc; nothing is signalled here).
_pcsc_running() {
	local d
	for d in /proc/[0-9]*; do
		[ "$(cat "$d/comm" 2>/dev/null)" = pcscd ] && echo "${d#/proc/}"
	done
	return 0
}

# 0 when process $1 is a pcscd reading our reader.conf.d.
_pcsc_is_ours() {
	local args
	args=$(tr '\0' ' ' < "/proc/$1/cmdline" 2>/dev/null) || return 1
	case " $args " in
	*" -c $PCSC_FIXTURE_DIR/reader.conf.d "*) return 0 ;;
	*) return 1 ;;
	esac
}

# 0 when something listens on TCP port $1 (any address, IPv4 or IPv6).
_pcsc_listening() {
	local hex
	hex=$(printf '%04X' "$1")
	awk -v p=":$hex" 'NR > 1 && $4 == "0A" && substr($2, length($2) - 4) == p { f = 1 }
		END { exit !f }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# Card column of opensc-tool -l for reader $1: prints Yes or No (nothing if no such reader).
_pcsc_card_column() {
	opensc-tool -l 2>/dev/null |
		awk -v r="$1" '/^[0-9]+[ \t]/ && index($0, r) > 0 { print $2; exit }'
}

_pcsc_on_exit() {
	local rc=$? c
	for c in "${_pcsc_atexit[@]}"; do
		eval "$c" || true
	done
	_pcsc_atexit=()
	pcsc_stop
	return $rc
}

pcsc_atexit() { _pcsc_atexit+=("$1"); }

pcsc_start() {
	local pid want_conf i

	for i in pcscd opensc-tool flock; do
		command -v "$i" >/dev/null || { _pcsc_log "$i missing (run scripts/bootstrap)"; return 1; }
	done
	[ -r "$_pcsc_driver" ] || { _pcsc_log "vpcd driver missing: $_pcsc_driver (vsmartcard-vpcd)"; return 1; }
	mkdir -p "$PCSC_FIXTURE_DIR/reader.conf.d" /run/pcscd || return 1
	trap _pcsc_on_exit EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM

	if [ -z "$_pcsc_lock_fd" ]; then
		exec {_pcsc_lock_fd}>"$PCSC_FIXTURE_DIR/lock" || return 1
		if ! flock -w "${PCSC_FIXTURE_LOCK_WAIT:-600}" "$_pcsc_lock_fd"; then
			_pcsc_log "another PC/SC test holds $PCSC_FIXTURE_DIR/lock; gave up waiting"
			exec {_pcsc_lock_fd}>&-
			_pcsc_lock_fd=
			return 1
		fi
	fi

	want_conf=$(printf 'FRIENDLYNAME "Virtual PCD"\nDEVICENAME /dev/null:0x%04X\nLIBPATH %s\nCHANNELID 0x%04X\n' \
		"$PCSC_VPCD_PORT" "$_pcsc_driver" "$PCSC_VPCD_PORT")

	for pid in $(_pcsc_running); do
		if ! _pcsc_is_ours "$pid"; then
			_pcsc_log "a pcscd this fixture did not start is running (PID $pid:" \
				"$(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null)); only one can run."
			_pcsc_log "stop it (kill $pid) and run the test again."
			return 1
		fi
		if [ "$(cat "$PCSC_FIXTURE_DIR/reader.conf.d/vpcd" 2>/dev/null)" != "$want_conf" ]; then
			_pcsc_log "our pcscd (PID $pid) runs with another vpcd port; stop it (kill $pid)"
			return 1
		fi
		_pcsc_pid=$pid
		if [ -e "$PCSC_FIXTURE_DIR/keep" ]; then
			_pcsc_owned=0
			_pcsc_log "reusing kept pcscd PID $pid"
		else
			_pcsc_owned=1
			_pcsc_log "adopting leftover pcscd PID $pid (stopped at exit)"
		fi
		break
	done

	if [ -z "$_pcsc_pid" ]; then
		# no pcscd runs: a socket or PID file left in /run/pcscd is stale
		rm -f /run/pcscd/pcscd.comm /run/pcscd/pcscd.pid
		rm -f "$PCSC_FIXTURE_DIR/keep"
		printf '%s\n' "$want_conf" > "$PCSC_FIXTURE_DIR/reader.conf.d/vpcd"
		# the lock's descriptor is closed in pcscd, so a leftover daemon never holds the lock
		# shellcheck disable=SC2086
		pcscd -f -c "$PCSC_FIXTURE_DIR/reader.conf.d" ${PCSC_FIXTURE_PCSCD_ARGS:-} \
			> "$PCSC_FIXTURE_DIR/pcscd.log" 2>&1 {_pcsc_lock_fd}>&- &
		_pcsc_pid=$!
		_pcsc_owned=1
		echo "$_pcsc_pid" > "$PCSC_FIXTURE_DIR/pcscd.pid"
	fi
	[ "${PCSC_FIXTURE_KEEP:-0}" = 1 ] && touch "$PCSC_FIXTURE_DIR/keep"

	# ready: the daemon lives, its socket exists, vpcd listens, and the reader is listed
	for i in $(seq 1 100); do
		if ! kill -0 "$_pcsc_pid" 2>/dev/null; then
			_pcsc_log "pcscd exited at start; its log:"
			cat "$PCSC_FIXTURE_DIR/pcscd.log" >&2
			_pcsc_pid=
			_pcsc_owned=0
			return 1
		fi
		if [ -S /run/pcscd/pcscd.comm ] && _pcsc_listening "$PCSC_VPCD_PORT" &&
			[ -n "$(_pcsc_card_column "$PCSC_READER")" ]; then
			return 0
		fi
		sleep 0.1
	done
	_pcsc_log "pcscd (PID $_pcsc_pid) not ready after 10 s; log in $PCSC_FIXTURE_DIR/pcscd.log"
	return 1
}

pcsc_owned() {
	[ -n "$_pcsc_pid" ] && [ "$_pcsc_owned" = 1 ] && [ "${PCSC_FIXTURE_KEEP:-0}" != 1 ]
}

pcsc_spawn() {
	"$@" {_pcsc_lock_fd}>&- &
	PCSC_SPAWN_PID=$!
	_pcsc_spawned+=("$PCSC_SPAWN_PID")
}

pcsc_wait_card() {
	local want=$1 secs=${2:-10} i got
	case $want in yes) want=Yes ;; no) want=No ;; *) _pcsc_log "pcsc_wait_card yes|no"; return 2 ;; esac
	for i in $(seq 1 $((secs * 10))); do
		got=$(_pcsc_card_column "$PCSC_READER")
		[ "$got" = "$want" ] && return 0
		sleep 0.1
	done
	_pcsc_log "reader '$PCSC_READER' card column is '$got' after ${secs} s, wanted $want"
	return 1
}

# Stop process $1 (SIGTERM, then SIGKILL after 5 s) and reap it if it is our child.
_pcsc_kill() {
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null || return 0
	for i in $(seq 1 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

pcsc_stop_daemon() {
	local pid
	for pid in "${_pcsc_spawned[@]}"; do
		_pcsc_kill "$pid"
	done
	_pcsc_spawned=()
	if pcsc_owned; then
		_pcsc_kill "$_pcsc_pid"
		rm -f "$PCSC_FIXTURE_DIR/pcscd.pid"
	fi
	_pcsc_pid=
	_pcsc_owned=0
	return 0
}

pcsc_stop() {
	pcsc_stop_daemon
	if [ -n "$_pcsc_lock_fd" ]; then
		exec {_pcsc_lock_fd}>&-
		_pcsc_lock_fd=
	fi
	return 0
}
