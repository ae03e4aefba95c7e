#!/usr/bin/env bash
# cli_pcsc_agent.sh: postcard-agent through real pcscd + vpcd (tests/pcsc-fixture.sh): one
# PC/SC connection for the whole session (transaction held, SCARD_LEAVE_CARD), so the secure
# channel survives between the HTTP exchanges. Every job type on an SCP03 i=70 card and an
# SCP02 i=75 card, checked in the card file; the exchange counts; and a sample of the kill
# tests (agent killed after APDU k, card powered off) resumed through pcscd.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/pcsc-fixture.sh"
. "$here/agent-fixture.sh"
pcsc_start
pcsc_atexit af_cleanup

fail() { echo "cli_pcsc_agent: FAIL: $*" >&2; exit 1; }
ok() { echo "cli_pcsc_agent: ok: $*"; }

AF_CONFIG_EXTRA='{"limits": {"session_expiry": 1}}'
af_setup
CAPS=${PCARD_TESTDATA:-$here/../../shared/testdata}/cap
postcard-sim cap datastore -o "$AF/ds.cap" >/dev/null
DSA=$AF_DS_AID

pagent() {
	postcard-agent --server "$AF_URL" --reader "$PCSC_READER" "${AF_CERTS[@]}" --once --json \
		--retries 3 "$@"
}
app() { postcard-sim dump "$CARD" --json | jq -r ".applications[] | select(.aid==\"$1\") | .$2"; }
job_state() { postcard --json admin job "$1" | jq -r .state; }

HW=$(af_upload "$CAPS/kaoh-helloworld.cap")
DS=$(af_upload "$AF/ds.cap")
HW_APP=$(postcard --json admin loadfiles | jq -r ".loadfiles[] | select(.id == $HW) | .applets[0]")
HW_PKG=$(postcard --json admin loadfiles | jq -r ".loadfiles[] | select(.id == $HW) | .aid")

# both cards on one server (each its own identity, init --serial), one after the other in
# the reader
for kind in scp03 scp02; do
	CARD=$AF/pcsc_$kind.pcsim
	af_card_init "$CARD" "$kind"
	CID=$AF_CARD_ID
	pcsc_spawn postcard-sim run "$CARD" --vpcd "127.0.0.1:$PCSC_VPCD_PORT" --wait-ms 5000
	SIM=$PCSC_SPAWN_PID
	pcsc_wait_card yes
	postcard -q admin register-card --id "$CID" --profile "demo-$kind" >/dev/null
	q() { postcard --json admin queue "$CID" "$1" --params "$2" | jq -r .id; }

	q install "{\"loadfile\": $HW}" >/dev/null
	q install "{\"loadfile\": $DS}" >/dev/null
	q personalise "{\"aid\": \"$DSA\", \"version\": 1, \"items\": \"5F2005414C494345\", \"encrypt\": true}" >/dev/null
	q data-change "{\"aid\": \"$DSA\", \"version\": 2, \"expected\": 1, \"items\": \"DF0102000A\"}" >/dev/null
	q lock-app "{\"aid\": \"$HW_APP\"}" >/dev/null
	q rotate-keys "{\"new_kvn\": 2, \"profile\": \"demo-$kind-next\"}" >/dev/null
	q lock-card '{}' >/dev/null
	rc=0
	R=$(pagent) || rc=$?
	[ "$rc" = 0 ] || { echo "$R" >&2; fail "$kind: agent exit $rc"; }
	[ "$(jq .exchanges <<<"$R")" = 3 ] || fail "$kind: $(jq .exchanges <<<"$R") exchanges"
	[ "$(jq .jobs.done <<<"$R")" = 7 ] || fail "$kind: not 7 done"
	[ "$(postcard-sim dump "$CARD" --json | jq -r .life_cycle)" = 7F ] || fail "$kind: not locked"
	[ "$(app "$HW_APP" life_cycle_name)" = LOCKED ] || fail "$kind: app not locked"
	[ "$(app "$DSA" data_version)" = 2 ] || fail "$kind: data version"
	[ "$(postcard-sim dump "$CARD" --json | jq -c '[.isd.sd.key_sets[].kvn]')" = '["02"]' ] ||
		fail "$kind: key sets"
	ok "$kind through pcscd: 7 jobs in 3 exchanges, $(jq .apdus <<<"$R") APDUs"

	# kill sample: the agent killed after APDU 3 of bundle 2, then the card powered off
	# after APDU 2; each time a new session through pcscd finishes the jobs once
	q unlock-card '{}' >/dev/null
	j1=$(q unlock-app "{\"aid\": \"$HW_APP\"}")
	j2=$(q data-change "{\"aid\": \"$DSA\", \"version\": 3, \"items\": \"DF0102001E\"}")
	PCARD_AGENT_KILL_AT=apdu:2:3 pagent >/dev/null 2>&1 || true
	sleep 1.1	# the killed agent's session expires (session_expiry 1; a 409 is retried)
	for i in 1 2 3 4 5; do
		R=$(pagent) || true
		jq -e '.error.code == "PCARD_E_CONFLICT"' <<<"$R" >/dev/null || break
		sleep 1
	done
	[ "$(job_state "$j1")" = done ] && [ "$(job_state "$j2")" = done ] ||
		{ echo "$R" >&2; fail "$kind: jobs not done after the agent was killed"; }
	[ "$(app "$DSA" data_version)" = 3 ] || fail "$kind: data version after resume"
	j3=$(q delete "{\"aid\": \"$HW_PKG\", \"related\": true}")
	PCARD_AGENT_KILL_AT=cardoff:2:2 pagent >/dev/null 2>&1 || true
	R=$(pagent) || true
	[ "$(job_state "$j3")" = done ] || { echo "$R" >&2; fail "$kind: delete not done after power-off"; }
	[ -z "$(app "$HW_APP" aid)" ] || fail "$kind: hello world still there"
	ok "$kind kill sample through pcscd: agent killed after APDU 3, card off after APDU 2, resumed"

	kill -TERM "$SIM" 2>/dev/null || true
	wait "$SIM" 2>/dev/null || true
	pcsc_wait_card no
done
echo "cli_pcsc_agent: all passed"
