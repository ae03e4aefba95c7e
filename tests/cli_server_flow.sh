#!/usr/bin/env bash
# cli_server_flow.sh: postcardd (HTTPS on 127.0.0.1, demo PKI, a private SoftHSM token) with
# postcard-agent and postcard-sim over the TCP link (docs/agent-protocol.md, docs/server.md).
#
# For an SCP03 i=70 card (level 33) and an SCP02 i=75 card (level 13), each with a store of
# its own:
#   - a card whose cryptogram does not verify: 403, not enrolled, nothing stored;
#   - enrolment at first contact under a profile whose keys match (template none, key set FF);
#   - every job type (install, personalise, data-change, delete, lock-app, unlock-app,
#     rotate-keys to a KDF/EMV-diversified key set, lock-card, unlock-card, terminate) done
#     in sessions of 3 exchanges, checked in the card's dump and in the server's view;
#   - the same jobs through the per-APDU relay on a copy of the card: 3 + bundle steps;
#   - an agent killed after APDU k of the bundle: the next session reconciles (4 exchanges)
#     and every job ends done exactly once;
#   - a replayed answer (old responses in a new session) and an altered one (one R-MAC bit
#     flipped): 422 PCARD_E_MAC, nothing recorded as done; the next session reconciles;
#   - a second agent while the card is in a session: 409;
#   - a repeated message gets the same reply and changes nothing;
#   - libraries (load-only installs) and the demo applet that imports them, queued applet
#     first: one bundle, libraries loaded first; delete of load files; the applet without a
#     library: 6438 (bare on SCP03), reconciled, failed with the SW explained;
#   - with "reconcile": false (negative control) an interrupted install is sent again blindly
#     and fails on the card (the load file is already there).
set -eu

src=${PCARD_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
for p in postcardd postcard postcard-agent postcard-sim pcard-hsm-import curl jq openssl \
    sqlite3 python3; do
	command -v $p >/dev/null || { echo "cli_server_flow: $p not on PATH" >&2; exit 1; }
done
export PCARD_BUILD_DIR=$(dirname "$(command -v pcard-hsm-import)")

tmp=$(mktemp -d)
spid=
cpid=
cleanup() {
	for p in $spid $cpid; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
	echo "cli_server_flow: FAIL: $*" >&2
	[ -f "$tmp/srv.log" ] && tail -5 "$tmp/srv.log" >&2
	exit 1
}
ok() { echo "ok - $*"; }

"$src/scripts/softhsm-init" "$tmp/hsm" --import-demo-keys >/dev/null
export SOFTHSM2_CONF=$tmp/hsm/softhsm2.conf
# the simulator's key set FF (ENC = MAC = DEK = the GP test key) as static master keys
for t in aes des3; do
	printf '404142434445464748494A4B4C4D4E4F\n' | pcard-hsm-import --token postcard \
	    --label "sim-$t" --type $t --static --pin-file "$tmp/hsm/user.pin" 2>/dev/null
done
"$src/scripts/demo-pki" "$tmp/pki" --hsm "$tmp/hsm" 2>/dev/null
pki=$tmp/pki
AG=(--cert "$pki/agent.pem" --key "$pki/agent.key" --cacert "$pki/ca.pem")
export POSTCARD_ADMIN_TOKEN_FILE=$pki/admin.token POSTCARD_CACERT=$pki/ca.pem
A() { postcard --json admin "$@"; }

# start_server NAME [RECONCILE]: postcardd on its own store NAME.db
start_server() {
	stop_server
	jq --arg db "$1.db" --argjson rec "${2:-true}" '.store = $db | .reconcile = $rec |
	    .profiles += [
	     {"name":"sim-scp03","labels":["sim-aes"],"template":"none","kvn":255,"scp":3,"i":112,"enrol":true},
	     {"name":"sim-scp02","labels":["sim-des3"],"template":"none","kvn":255,"scp":2,"i":117,"enrol":true}]' \
	    "$pki/postcardd.json" >"$pki/$1.json"
	rm -f "$pki/postcardd.port"
	postcardd --config "$pki/$1.json" -v 2>>"$tmp/srv.log" &
	spid=$!
	for _ in $(seq 100); do [ -s "$pki/postcardd.port" ] && break; sleep 0.05; done
	port=$(cat "$pki/postcardd.port")
	export POSTCARD_SERVER=https://127.0.0.1:$port
	db=$pki/$1.db
}
stop_server() {
	if [ -n "$spid" ]; then kill "$spid"; wait "$spid" 2>/dev/null || true; spid=; fi
}
# start_card FILE: serve FILE on a free TCP port ($cport)
start_card() {
	stop_card
	# empty the logs here, not in the background job: its redirections run in the child,
	# so the loop below could otherwise read the previous simulator's port
	: >"$tmp/sim.out"
	: >"$tmp/sim.log"
	postcard-sim run "$1" --tcp 0 >"$tmp/sim.out" 2>"$tmp/sim.log" &
	cpid=$!
	for _ in $(seq 100); do grep -q listening "$tmp/sim.out" "$tmp/sim.log" 2>/dev/null && break; sleep 0.05; done
	sleep 0.1
	cport=$(grep -ho 'listening on 127.0.0.1:[0-9]*' "$tmp/sim.out" "$tmp/sim.log" | head -1 | sed 's/.*://')
	[ -n "$cport" ] || fail "simulator port: $(cat "$tmp/sim.log")"
}
stop_card() {
	if [ -n "$cpid" ]; then kill "$cpid"; wait "$cpid" 2>/dev/null || true; cpid=; fi
}
# agent OUT [args]: one agent run, JSON summary in OUT; returns the agent's exit status
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
jobstate() { A job "$1" | jq -r .state; }
dump() { postcard-sim dump "$1" --json; }

DS_PKG=F0706F73746361726401
DS_APP=F0706F7374636172640101
PURSE_APP=F0706F7374636172640201

# the rogue agent: plays like the real one but replays or alters answers (stdlib only)
cat >"$tmp/rogue.py" <<'PY'
import http.client, json, socket, ssl, struct, sys
mode, sport, cport, pki = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
state = sys.argv[5] if len(sys.argv) > 5 else None
ctx = ssl.create_default_context(cafile=pki + "/ca.pem")
ctx.load_cert_chain(pki + "/agent.pem", pki + "/agent.key")
h = http.client.HTTPSConnection("127.0.0.1", sport, context=ctx)
def post(m):
    h.request("POST", "/agent/v1/session", json.dumps(m), {"Content-Type": "application/json"})
    r = h.getresponse()
    return r.status, json.loads(r.read())
c = socket.create_connection(("127.0.0.1", cport))
def frame(b):
    c.sendall(struct.pack(">H", len(b)) + b)
def rd(n):
    d = b""
    while len(d) < n:
        d += c.recv(n - len(d))
    return d
def apdu(b):
    frame(b)
    return rd(struct.unpack(">H", rd(2))[0])
frame(b"\x01"); frame(b"\x04"); atr = rd(struct.unpack(">H", rd(2))[0])
apdu(bytes.fromhex("00A4040000"))
cplc = apdu(bytes.fromhex("80CA9F7F00"))[:-2]
st, m = post({"v": 1, "type": "hello", "session": "", "step": 0, "agent": "demo-agent",
    "relay": False, "card": {"atr": atr.hex(), "cplc": cplc.hex()}})
assert st == 200, (st, m)
def play(m):
    out = []
    for s in m["steps"]:
        r = apdu(bytes.fromhex(s["apdu"]))
        out.append(r.hex())
        if r[-2:].hex().upper() not in s["expect"]:
            return out, "unexpected_sw"
    return out, "complete"
rs, stop = play(m)
st, m = post({"v": 1, "type": "responses", "session": m["session"], "step": 1, "responses": rs, "stop": stop})
assert st == 200 and m["type"] == "bundle", (st, m)
sid, step = m["session"], m["step"]
if mode == "capture":
    # play the bundle, keep the answers, never send them (the agent "dies")
    rs, stop = play(m)
    json.dump({"responses": rs, "stop": stop}, open(state, "w"))
    print(json.dumps({"steps": len(m["steps"])}))
    sys.exit(0)
if mode == "replay":
    old = json.load(open(state))
    rs, stop = old["responses"][:len(m["steps"])], "unexpected_sw"
else:
    rs, stop = play(m)
    # flip one bit of the first answer that carries data (its R-MAC or R-ENC data)
    for k, r in enumerate(rs):
        if len(r) > 4:
            b = bytearray.fromhex(r); b[0] ^= 1; rs[k] = b.hex(); break
msg = {"v": 1, "type": "responses", "session": sid, "step": step, "responses": rs, "stop": stop}
st, m = post(msg)
st2, m2 = post(msg)   # the same message again: the same answer, nothing more happens
print(json.dumps({"status": st, "reply": m, "again": st2 == st and m2 == m}))
PY

# queue_a CARD: the jobs of session A (ids in $jobs_a)
queue_a() {
	local lf_ds lf_pu
	lf_ds=$(A loadfiles | jq -r --arg a "$DS_PKG" '.loadfiles[] | select(.aid == $a) | .id')
	lf_pu=$(A loadfiles | jq -r '.loadfiles[] | select(.aid == "F0706F73746361726402") | .id')
	jobs_a="$(A queue "$1" install --params "{\"loadfile\": $lf_ds}" | jq .id)"
	jobs_a="$jobs_a $(A queue "$1" install --params "{\"loadfile\": $lf_pu}" | jq .id)"
	jobs_a="$jobs_a $(A queue "$1" personalise --params "{\"aid\":\"$DS_APP\",\"version\":1,\"items\":\"5F2003616263DF010107\",\"encrypt\":true}" | jq .id)"
	jobs_a="$jobs_a $(A queue "$1" lock-app --params "{\"aid\":\"$PURSE_APP\"}" | jq .id)"
	jobs_a="$jobs_a $(A queue "$1" rotate-keys --params "{\"new_kvn\":48,\"profile\":\"$newprof\"}" | jq .id)"
	jobs_a="$jobs_a $(A queue "$1" lock-card | jq .id)"
}

# flow SCP I LEVEL PROFILE NEWPROFILE: the whole scenario on one card type
flow() {
	local scp=$1 i=$2 level=$3 prof=$4 newprof=$5 card out n
	local c=$tmp/c$scp.pcsim
	start_server "s$scp"

	# a card with other keys: the cryptogram does not verify, nothing is stored
	postcard-sim init "$tmp/bad.pcsim" --scp "$scp" --i "$i" --key 00112233445566778899AABBCCDDEEFF \
	    --force 2>/dev/null
	start_card "$tmp/bad.pcsim"
	agent "$tmp/a0.json" && fail "SCP$scp: a card with other keys was served"
	jq -e '.error.code == "PCARD_E_AUTH"' "$tmp/a0.json" >/dev/null || fail "SCP$scp: bad card: $(cat "$tmp/a0.json")"
	[ "$(sqlite3 "$db" 'SELECT count(*) FROM cards; SELECT count(*) FROM sessions' | tr '\n' ' ')" = "0 0 " ] ||
		fail "SCP$scp: the card with other keys left rows"
	ok "SCP$scp: a card whose cryptogram does not verify: 403 PCARD_E_AUTH, not enrolled, no session stored"

	# enrolment at first contact
	postcard-sim init "$c" --scp "$scp" --i "$i" --force 2>/dev/null
	start_card "$c"
	agent "$tmp/a1.json" || fail "SCP$scp: enrolment: $(cat "$tmp/a1.json.err")"
	card=$(sqlite3 "$db" 'SELECT id FROM cards')
	A card "$card" | jq -e --arg p "$prof" '.card.profile == $p and .card.key_versions == [255]' >/dev/null ||
		fail "SCP$scp: enrolled card row"
	A audit | jq -e '[.records[].action] | index("card.enrol") != null' >/dev/null || fail "enrol audit"
	ok "SCP$scp: unknown card enrolled under $prof once its cryptogram verified (2 exchanges, no job)"

	# session A: install x2, personalise, lock-app, rotate-keys, lock-card
	A upload "$tmp/ds.cap" >/dev/null 2>&1 || true
	A upload "$tmp/purse.cap" >/dev/null 2>&1 || true
	cp "$c" "$tmp/relay.pcsim"
	queue_a "$card"
	agent "$tmp/a2.json" || fail "SCP$scp: session A: $(cat "$tmp/a2.json.err")"
	jq -e '.sessions[0].exchanges == 3 and .jobs.done == 6' "$tmp/a2.json" >/dev/null ||
		fail "SCP$scp: session A: $(jq -c '.sessions[0] | [.exchanges, .results]' "$tmp/a2.json")"
	n=$(jq '.sessions[0].http[1].steps' "$tmp/a2.json")
	for j in $jobs_a; do
		[ "$(jobstate "$j")" = done ] || fail "SCP$scp: job $j $(jobstate "$j")"
	done
	dump "$c" >"$tmp/d.json"
	jq -e --arg a "$DS_APP" --arg p "$PURSE_APP" '
	    (.applications[] | select(.aid == $a) | .data_version == 1 and .life_cycle_name == "SELECTABLE") and
	    (.applications[] | select(.aid == $p) | .life_cycle_name == "LOCKED") and
	    .life_cycle_name == "CARD_LOCKED" and
	    ([.isd.sd.key_sets[].kvn] == ["30"])' "$tmp/d.json" >/dev/null ||
		fail "SCP$scp: card after A: $(jq -c '[.life_cycle_name, [.applications[] | [.aid, .life_cycle_name, .data_version]], [.isd.sd.key_sets[].kvn]]' "$tmp/d.json")"
	A card "$card" | jq -e --arg np "$newprof" --arg p "$PURSE_APP" '.card.profile == $np and
	    .card.key_versions == [48] and .contents.life_cycle == "CARD_LOCKED" and
	    .contents.applications[$p].state == "locked"' >/dev/null || fail "SCP$scp: server view after A"
	lvl=$(A audit | jq -r '[.records[] | select(.action == "session.auth")] | last | .details.level')
	[ "$lvl" = "$level" ] || fail "SCP$scp: session level $lvl, expected $level"
	ok "SCP$scp: install x2, personalise (encrypted), lock-app, rotate-keys FF->30 ($newprof), lock-card: 3 exchanges ($n bundle steps), level $level, card dump and server view agree"

	# the same jobs through the per-APDU relay, on the card as it was, with a store of its own
	start_server "r$scp"
	reg_other
	start_card "$tmp/relay.pcsim"
	agent "$tmp/ar0.json" || fail "SCP$scp: relay enrolment"
	A upload "$tmp/ds.cap" >/dev/null
	A upload "$tmp/purse.cap" >/dev/null
	queue_a "$card"
	agent "$tmp/ar.json" --relay || fail "SCP$scp: relay: $(cat "$tmp/ar.json.err")"
	jq -e --argjson n "$n" '.sessions[0].exchanges == $n + 3 and .jobs.done == 6' "$tmp/ar.json" \
	    >/dev/null || fail "SCP$scp: relay: $(jq -c '.sessions[0] | [.exchanges, .jobs]' "$tmp/ar.json")"
	dump "$tmp/relay.pcsim" | jq -e '.life_cycle_name == "CARD_LOCKED" and
	    ([.isd.sd.key_sets[].kvn] == ["30"])' >/dev/null || fail "SCP$scp: relay card"
	ok "SCP$scp: per-APDU relay: the same 6 jobs in $(jq .sessions[0].exchanges "$tmp/ar.json") exchanges (3 + $n) instead of 3"
	start_server "s$scp"
	start_card "$c"

	# session B, interrupted: unlock-card, unlock-app, data-change; the agent dies after APDU
	# 3 of the bundle; the next session reconciles (at most 4 exchanges), each job once
	j_uc=$(A queue "$card" unlock-card | jq .id)
	j_ua=$(A queue "$card" unlock-app --params "{\"aid\":\"$PURSE_APP\"}" | jq .id)
	j_dc=$(A queue "$card" data-change --params "{\"aid\":\"$DS_APP\",\"version\":2,\"expected\":1,\"items\":\"DF010108\"}" | jq .id)
	PCARD_AGENT_KILL_AT=apdu:2:3 agent "$tmp/a3.json" && fail "SCP$scp: the agent did not die"
	[ "$(jobstate "$j_uc") $(jobstate "$j_dc")" = "sent sent" ] ||
		fail "SCP$scp: after the kill: $(jobstate "$j_uc") $(jobstate "$j_dc") $(cat "$tmp/a3.json.err") $(jq -c .sessions "$tmp/a3.json")"
	agent "$tmp/a4.json" || fail "SCP$scp: after the kill: $(jq -c ".sessions[] | [.exchanges, .results]" "$tmp/a4.json")"
	jq -e '.sessions[0].exchanges <= 4 and .jobs.done == 3' "$tmp/a4.json" >/dev/null ||
		fail "SCP$scp: reconciliation took $(jq .sessions[0].exchanges "$tmp/a4.json") exchanges"
	for j in $j_uc $j_ua $j_dc; do
		[ "$(jobstate "$j")" = done ] || fail "SCP$scp: job $j $(jobstate "$j") after reconciliation"
	done
	dump "$c" >"$tmp/d.json"
	jq -e --arg a "$DS_APP" --arg p "$PURSE_APP" '.life_cycle_name == "SECURED" and
	    (.applications[] | select(.aid == $p) | .life_cycle_name == "SELECTABLE") and
	    (.applications[] | select(.aid == $a) | .data_version == 2)' "$tmp/d.json" >/dev/null ||
		fail "SCP$scp: card after B: $(jq -c '[.life_cycle_name, [.applications[] | [.aid, .data_version]]]' "$tmp/d.json")"
	ok "SCP$scp: unlock-card, unlock-app, data-change: agent killed after bundle APDU 3, next session reconciled in $(jq .sessions[0].exchanges "$tmp/a4.json") exchanges, each job done once (dump)"

	# an altered answer: 422, nothing recorded as done, the jobs reconciled next time
	j_x=$(A queue "$card" delete --params "{\"aid\":\"$PURSE_APP\"}" | jq .id)
	python3 "$tmp/rogue.py" alter "$port" "$cport" "$pki" >"$tmp/r1.json" || fail "rogue alter"
	jq -e '.status == 422 and .reply.error.code == "PCARD_E_MAC" and .again' "$tmp/r1.json" \
	    >/dev/null || fail "SCP$scp: altered answer: $(cat "$tmp/r1.json")"
	[ "$(jobstate "$j_x")" = needs_reconcile ] || fail "SCP$scp: altered: job $(jobstate "$j_x")"
	agent "$tmp/a5.json" || fail "SCP$scp: after the altered answer: $(cat "$tmp/a5.json.err")"
	[ "$(jobstate "$j_x")" = done ] || fail "SCP$scp: altered then reconciled: $(jobstate "$j_x")"
	dump "$c" | jq -e --arg p "$PURSE_APP" '[.applications[] | select(.aid == $p)] == []' >/dev/null ||
		fail "SCP$scp: purse not deleted"
	ok "SCP$scp: an altered answer (one bit): 422 PCARD_E_MAC (the repeat gets the same), job left needs_reconcile, then reconciled done"

	# a replayed answer: old responses in a new session
	j_y=$(A queue "$card" lock-app --params "{\"aid\":\"$DS_APP\"}" | jq .id)
	python3 "$tmp/rogue.py" capture "$port" "$cport" "$pki" "$tmp/old.json" >/dev/null || fail "rogue capture"
	python3 "$tmp/rogue.py" replay "$port" "$cport" "$pki" "$tmp/old.json" >"$tmp/r2.json" || fail "rogue replay"
	jq -e '.status == 422 and .reply.error.code == "PCARD_E_MAC"' "$tmp/r2.json" >/dev/null ||
		fail "SCP$scp: replayed answers: $(cat "$tmp/r2.json")"
	[ "$(jobstate "$j_y")" = needs_reconcile ] || fail "SCP$scp: replay: job $(jobstate "$j_y")"
	agent "$tmp/a6.json" || fail "SCP$scp: after the replay: $(cat "$tmp/a6.json.err")"
	[ "$(jobstate "$j_y")" = done ] || fail "SCP$scp: replay then reconciled: $(jobstate "$j_y")"
	ok "SCP$scp: answers of an earlier session replayed: 422 PCARD_E_MAC, nothing done; the next session reconciled"

	# a second agent while the card is in a session: 409
	cplc=$(dump "$c" | jq -r .identity.cplc)
	hello="{\"v\":1,\"type\":\"hello\",\"session\":\"\",\"step\":0,\"card\":{\"atr\":\"3B00\",\"cplc\":\"$cplc\"}}"
	st=$(curl -sS --cacert "$pki/ca.pem" --cert "$pki/agent.pem" --key "$pki/agent.key" \
	    -o "$tmp/h1" -w '%{http_code}' -H 'Content-Type: application/json' -d "$hello" \
	    "$POSTCARD_SERVER/agent/v1/session")
	[ "$st" = 200 ] || fail "hello: $st $(cat "$tmp/h1")"
	n=$(sqlite3 "$db" 'SELECT count(*) FROM audit')
	st=$(curl -sS --cacert "$pki/ca.pem" --cert "$tmp/other.pem" --key "$tmp/other.key" \
	    -o "$tmp/h2" -w '%{http_code}' -H 'Content-Type: application/json' -d "$hello" \
	    "$POSTCARD_SERVER/agent/v1/session")
	[ "$st" = 409 ] && jq -e '.error.code == "PCARD_E_CONFLICT"' "$tmp/h2" >/dev/null ||
		fail "second agent: $st $(cat "$tmp/h2")"
	[ "$(sqlite3 "$db" 'SELECT count(*) FROM audit')" = "$n" ] || fail "409 changed the audit log"
	ok "SCP$scp: a second agent for a card in session: 409 PCARD_E_CONFLICT, nothing changed"

	# terminate (the same agent supersedes its open session)
	j_t=$(A queue "$card" terminate --params '{"confirm": true}' | jq .id)
	agent "$tmp/a7.json" || fail "terminate: $(cat "$tmp/a7.json.err")"
	[ "$(jobstate "$j_t")" = done ] && [ "$(dump "$c" | jq -r .life_cycle_name)" = TERMINATED ] ||
		fail "SCP$scp: terminate"
	A audit-verify | jq -e .ok >/dev/null || fail "audit chain"
	ok "SCP$scp: terminate done (dump TERMINATED); audit chain verifies"
	stop_card
}

postcard-sim cap datastore -o "$tmp/ds.cap" 2>/dev/null
postcard-sim cap purse -o "$tmp/purse.cap" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/other.key" 2>/dev/null
openssl req -new -key "$tmp/other.key" -subj "/CN=desk-9" -out "$tmp/other.csr" 2>/dev/null
openssl x509 -req -in "$tmp/other.csr" -CA "$pki/ca.pem" -CAkey "$pki/ca.key" -CAcreateserial \
    -days 2 -out "$tmp/other.pem" 2>/dev/null
reg_other() {
	A register-agent --id desk-9 --fingerprint "$(openssl x509 -in "$tmp/other.pem" -outform DER |
	    openssl dgst -sha256 -r | cut -d' ' -f1)" >/dev/null
}

start_server s3 && reg_other
flow 3 70 51 sim-scp03 demo-scp03
start_server s2 && reg_other
flow 2 75 19 sim-scp02 demo-scp02

# libraries (load only) and the applet that imports them: the demo queued first, the three
# openjavacard libraries after; the server loads the libraries first (the CAP's imports)
start_server libs
postcard-sim init "$tmp/l.pcsim" --force 2>/dev/null
start_card "$tmp/l.pcsim"
agent "$tmp/l0.json" || fail "libraries: enrolment"
card=$(sqlite3 "$db" 'SELECT id FROM cards')
caps=$src/../shared/testdata/cap
lf_demo=$(A upload "$caps/openjavacard-app-demo.cap" | jq .id)
lf_libs=
for l in ber debug fortuna; do lf_libs="$lf_libs $(A upload "$caps/openjavacard-lib-$l.cap" | jq .id)"; done
jl="$(A queue "$card" install --params "{\"loadfile\": $lf_demo}" | jq .id)"
for l in $lf_libs; do
	j=$(A queue "$card" install --params "{\"loadfile\": $l}" | jq .id)
	A job "$j" | jq -e '.params | has("instance") | not' >/dev/null || fail "library job has an instance"
	jl="$jl $j"
done
agent "$tmp/l1.json" || fail "libraries: $(jq -c '.sessions[0].results' "$tmp/l1.json")"
jq -e '.sessions[0].exchanges == 3' "$tmp/l1.json" >/dev/null || fail "libraries: exchanges"
for j in $jl; do [ "$(jobstate "$j")" = done ] || fail "libraries: job $j $(jobstate "$j")"; done
dump "$tmp/l.pcsim" | jq -e '[.load_files[].aid] as $e | (["A00000FFFFF0","A00000FFFFA0",
    "A00000FFFFA3","A00000FFFFA2"] - $e) == [] and ([.applications[].aid] | index("A00000FFFFF001") != null)' \
    >/dev/null || fail "libraries: dump $(dump "$tmp/l.pcsim" | jq -c '[[.load_files[].aid], [.applications[].aid]]')"
A card "$card" | jq -e '.contents.load_files | has("A00000FFFFA0") and has("A00000FFFFA3") and
    has("A00000FFFFA2") and has("A00000FFFFF0")' >/dev/null || fail "libraries: server view"
ok "load-only installs: the demo applet queued before its 3 libraries, loaded after them in one bundle (3 exchanges); card dump and server view list the 4 load files and the instance"

# delete of load files: the demo's with related objects (its instance goes too), then a library
j1=$(A queue "$card" delete --params '{"aid":"A00000FFFFF0","related":true}' | jq .id)
j2=$(A queue "$card" delete --params '{"aid":"A00000FFFFA2"}' | jq .id)
agent "$tmp/l2.json" || fail "delete load files: $(jq -c '.sessions[0].results' "$tmp/l2.json")"
[ "$(jobstate "$j1") $(jobstate "$j2")" = "done done" ] || fail "delete load files: $(jobstate "$j1") $(jobstate "$j2")"
dump "$tmp/l.pcsim" | jq -e '([.load_files[].aid] | (index("A00000FFFFF0") == null and
    index("A00000FFFFA2") == null)) and ([.applications[].aid] | index("A00000FFFFF001") == null)' \
    >/dev/null || fail "delete load files: dump"
A card "$card" | jq -e '(.contents.load_files | has("A00000FFFFF0") or has("A00000FFFFA2") | not) and
    (.contents.applications | has("A00000FFFFF001") | not)' >/dev/null || fail "delete load files: view"
ok "delete of load files: the demo's with related objects and a library, done; dump and server view agree"

# the demo without one of its libraries: the card refuses its LOAD with 6438 (SCP03 sends it
# bare); the next session's R-MACed load file listing shows it absent: failed, SW explained
j=$(A queue "$card" install --params "{\"loadfile\": $lf_demo}" | jq .id)
agent "$tmp/l3.json" || true
[ "$(jobstate "$j")" = needs_reconcile ] || fail "missing library: first session left $(jobstate "$j")"
agent "$tmp/l4.json" || true
A job "$j" | jq -e '.state == "failed" and (.reason | test("^6438 .*imported package")) and
    .result.rmac == false' >/dev/null || fail "missing library: $(A job "$j" | jq -c '[.state, .reason, .result]')"
ok "the demo applet without its library: 6438 on LOAD (bare on SCP03), reconciled not loaded, failed: $(A job "$j" | jq -r .reason)"

# negative control: reconciliation off; an install interrupted after its LOAD is sent again
# blindly, and the card refuses INSTALL [for load] (the load file is there): never done
start_server neg false
postcard-sim init "$tmp/n.pcsim" --force 2>/dev/null
start_card "$tmp/n.pcsim"
agent "$tmp/n0.json" || fail "negative control: enrolment"
card=$(sqlite3 "$db" 'SELECT id FROM cards')
A upload "$tmp/ds.cap" >/dev/null
j=$(A queue "$card" install --params '{"loadfile": 1}' | jq .id)
PCARD_AGENT_KILL_AT=apdu:2:3 agent "$tmp/n1.json" && fail "negative control: the agent did not die"
agent "$tmp/n2.json" || true
st=$(jobstate "$j")
[ "$st" != done ] || fail "negative control: the install ended done with reconciliation off"
[ "$(jq -r '.sessions[0].results[0].sw' "$tmp/n2.json")" = 6985 ] ||
	fail "negative control: $(jq -c '.sessions[0].results' "$tmp/n2.json")"
ok "negative control: reconcile=false resends an interrupted install blindly: 6985 on INSTALL [for load], job $st, never done"

curl -sS --cacert "$pki/ca.pem" -H "Authorization: Bearer $(cat "$pki/admin.token")" \
    "$POSTCARD_SERVER/admin/v1/metrics" | jq -e '.agent.exchanges > 0 and .hsm.calls > 0 and
    .store.transactions > 0' >/dev/null || fail "metrics"
ok "GET /admin/v1/metrics: exchanges, HSM calls, store transactions"
stop_server
if grep -q 'Sanitizer' "$tmp/srv.log"; then fail "sanitizer report in the server log"; fi
echo "cli_server_flow: all passed"
