#!/usr/bin/env bash
# cli_agent.sh: postcardd + postcard-agent + postcard-sim over the TCP link, every job type on
# an SCP03 i=70 card (level 33) and an SCP02 i=75 card (level 13), checked in the card file
# (postcard-sim dump --json) and in the server's job states, with the exchange counts:
# 3 HTTP exchanges per session whatever the jobs and the load-file size (a generated 30 KB
# CAP included); the per-APDU relay's count printed beside it. Both cards share one server
# (each has its own identity: postcard-sim init --serial) and its catalogue.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/agent-fixture.sh"
trap af_cleanup EXIT

fail() { echo "cli_agent: FAIL: $*" >&2; exit 1; }
ok() { echo "cli_agent: ok: $*"; }

af_setup
CAPS=${PCARD_TESTDATA:-$here/../../shared/testdata}/cap
postcard-sim cap datastore -o "$AF/ds.cap" >/dev/null
postcard cap build --package A0000001515000 --applet A000000151500001 \
	--import A0000000620101:1.3 --size 30000 -o "$AF/big.cap" >/dev/null
DSA=$AF_DS_AID

# run NAME [agent args]: one session; sets R (the agent's JSON) and checks every job done
run() {
	local name=$1 rc=0
	shift
	R=$(af_agent "$name" "$@") || rc=$?
	[ "$rc" = 0 ] || { echo "$R" >&2; fail "$name: agent exit $rc"; }
	[ "$(jq -r .ok <<<"$R")" = true ] || { echo "$R" >&2; fail "$name: not ok"; }
	[ "$(jq '.jobs.failed + .jobs.unknown + .jobs.not_done' <<<"$R")" = 0 ] ||
		{ echo "$R" >&2; fail "$name: jobs not all done"; }
}
exchanges() { jq -r .exchanges <<<"$R"; }
app() { af_dump "$1" | jq -r ".applications[] | select(.aid==\"$2\") | .$3"; }
all_done() {
	local bad
	bad=$(af_jobs "$1" | awk '$3 != "done"')
	[ -z "$bad" ] || fail "$1: jobs not done on the server: $bad"
}
# the server's result for every job says the card's R-MACed answer decided it
rmac_checked() {
	local n
	n=$(jq '[.sessions[-1].results[] | select(.why | test("R-MAC"))] | length' <<<"$R")
	[ "$n" = "$(jq '.sessions[-1].results | length' <<<"$R")" ] ||
		{ echo "$R" >&2; fail "not every result rests on a verified R-MAC"; }
}

# --serial gives each card its own identity (a bad value is a usage error)
rc=0
postcard-sim init "$AF/bad.pcsim" --serial 00A1 2>/dev/null || rc=$?
[ "$rc" = 2 ] || fail "init --serial 00A1: exit $rc, want 2"
HW=$(af_upload "$CAPS/kaoh-helloworld.cap")
DS=$(af_upload "$AF/ds.cap")
BIG=$(af_upload "$AF/big.cap")
HW_APP=$(postcard --json admin loadfiles | jq -r ".loadfiles[] | select(.id == $HW) | .applets[0]")
HW_PKG=$(postcard --json admin loadfiles | jq -r ".loadfiles[] | select(.id == $HW) | .aid")
af_card card_scp03 scp03
af_card card_scp02 scp02
[ "$(af_id card_scp03)" != "$(af_id card_scp02)" ] || fail "the two cards have one identity"
[ "$(postcard --json admin card "$(af_id card_scp02)" | jq -r .card.scp)" = 2 ] ||
	fail "card $(af_id card_scp02) is not the SCP02 card on the server"
ok "two cards on one server: $(af_id card_scp03) (SCP03), $(af_id card_scp02) (SCP02)"

for kind in scp03 scp02; do
	c=card_$kind

	# session A: install x2, personalise, data change, lock-app, rotate keys, lock card
	af_queue "$c" install "{\"loadfile\": $HW}" >/dev/null
	af_queue "$c" install "{\"loadfile\": $DS}" >/dev/null
	af_queue "$c" personalise "{\"aid\": \"$DSA\", \"version\": 1, \"items\": \"5F2005414C494345DF0102000A\", \"encrypt\": true}" >/dev/null
	af_queue "$c" data-change "{\"aid\": \"$DSA\", \"version\": 2, \"expected\": 1, \"items\": \"DF0102001E\"}" >/dev/null
	af_queue "$c" lock-app "{\"aid\": \"$HW_APP\"}" >/dev/null
	af_queue "$c" rotate-keys "{\"new_kvn\": 2, \"profile\": \"demo-$kind-next\"}" >/dev/null
	af_queue "$c" lock-card '{}' >/dev/null
	run "$c"
	[ "$(exchanges)" = 3 ] || fail "$kind session A: $(exchanges) exchanges, want 3"
	[ "$(jq .jobs.done <<<"$R")" = 7 ] || fail "$kind session A: not 7 jobs done"
	rmac_checked
	all_done "$c"
	d=$(af_dump "$c")
	[ "$(jq -r .life_cycle <<<"$d")" = 7F ] || fail "$kind: card not CARD_LOCKED"
	[ "$(app "$c" "$HW_APP" life_cycle_name)" = LOCKED ] || fail "$kind: hello world not locked"
	[ "$(app "$c" "$DSA" data_version)" = 2 ] || fail "$kind: data version not 2"
	[ "$(jq -c '[.isd.sd.key_sets[].kvn]' <<<"$d")" = '["02"]' ] ||
		fail "$kind: key sets $(jq -c '[.isd.sd.key_sets[].kvn]' <<<"$d"), want only 02"
	ok "$kind session A: 7 jobs (2 installs, personalise, data change, lock-app, rotate-keys, lock-card) in $(exchanges) exchanges, $(jq .apdus <<<"$R") APDUs"

	# session B: unlock card, unlock app, data change, delete with related objects
	af_queue "$c" unlock-card '{}' >/dev/null
	af_queue "$c" unlock-app "{\"aid\": \"$HW_APP\"}" >/dev/null
	af_queue "$c" data-change "{\"aid\": \"$DSA\", \"version\": 3, \"items\": \"DF01020028\"}" >/dev/null
	run "$c"
	[ "$(exchanges)" = 3 ] || fail "$kind session B: $(exchanges) exchanges"
	all_done "$c"
	d=$(af_dump "$c")
	[ "$(jq -r .life_cycle <<<"$d")" = 0F ] || fail "$kind: card not SECURED again"
	[ "$(app "$c" "$HW_APP" life_cycle_name)" = SELECTABLE ] || fail "$kind: hello world not unlocked"
	# delete comes first in the safe order, so it gets a session of its own after the unlock
	af_queue "$c" delete "{\"aid\": \"$HW_PKG\", \"related\": true}" >/dev/null
	run "$c"
	[ "$(exchanges)" = 3 ] || fail "$kind delete: $(exchanges) exchanges"
	all_done "$c"
	d=$(af_dump "$c")
	[ -z "$(app "$c" "$HW_APP" aid)" ] || fail "$kind: hello world still there"
	[ "$(jq "[.load_files[] | select(.aid==\"$HW_PKG\")] | length" <<<"$d")" = 0 ] ||
		fail "$kind: hello world package still there"
	[ "$(app "$c" "$DSA" data_version)" = 3 ] || fail "$kind: data version not 3"
	ok "$kind session B: unlock-card, unlock-app, data change, delete in $(exchanges) exchanges"

	# session C: the 30 KB CAP, then the same through the per-APDU relay
	af_queue "$c" install "{\"loadfile\": $BIG}" >/dev/null
	run "$c"
	[ "$(exchanges)" = 3 ] || fail "$kind 30 KB install: $(exchanges) exchanges"
	big_apdus=$(jq .apdus <<<"$R")
	[ -n "$(app "$c" A000000151500001 aid)" ] || fail "$kind: 30 KB applet not installed"
	af_queue "$c" delete '{"aid": "A0000001515000", "related": true}' >/dev/null
	run "$c"
	af_queue "$c" install "{\"loadfile\": $BIG}" >/dev/null
	run "$c" --relay
	relay_x=$(exchanges)
	[ -n "$(app "$c" A000000151500001 aid)" ] || fail "$kind: relay install not done"
	[ "$relay_x" -gt 100 ] || fail "$kind: relay took only $relay_x exchanges"
	ok "$kind 30 KB CAP: 3 exchanges for $big_apdus APDUs; per-APDU relay: $relay_x exchanges"

	# session D: terminate
	af_queue "$c" terminate '{"confirm": true}' >/dev/null
	run "$c"
	all_done "$c"
	[ "$(af_dump "$c" | jq -r .life_cycle)" = FF ] || fail "$kind: card not TERMINATED"
	ok "$kind terminate in $(exchanges) exchanges"
	af_card_stop "$c"
done
echo "cli_agent: all passed"
