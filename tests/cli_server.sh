#!/usr/bin/env bash
# cli_server.sh: postcardd on 127.0.0.1 (ephemeral port) with the demo PKI in a temporary
# directory; every admin endpoint through `postcard admin` (and curl), and every bad input
# of issue 5 that needs no card: malformed JSON, oversized bodies (with and without a
# Content-Length), unknown members and types, an admin call without or with a wrong token,
# an agent without a certificate / with one from another CA / with an unregistered one.
# Each gets a clear 4xx JSON error, and the audit log and the store are unchanged after it.
set -eu

src=${PCARD_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
td=${PCARD_TESTDATA:-$src/../shared/testdata}
for p in postcardd postcard curl jq openssl sqlite3; do
	command -v $p >/dev/null || { echo "cli_server: $p not on PATH" >&2; exit 1; }
done

tmp=$(mktemp -d)
pid=
cleanup() {
	if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
	rm -rf "$tmp"
}
trap cleanup EXIT

fail() { echo "cli_server: FAIL: $*" >&2; [ -f "$tmp/srv.log" ] && tail -5 "$tmp/srv.log" >&2; exit 1; }
ok() { echo "ok - $*"; }

# a private SoftHSM token (no keys needed here): the server then has a key provider
"$src/scripts/softhsm-init" "$tmp/hsm" >/dev/null
export SOFTHSM2_CONF=$tmp/hsm/softhsm2.conf
"$src/scripts/demo-pki" "$tmp/pki" --hsm "$tmp/hsm" 2>/dev/null
cfg=$tmp/pki/postcardd.json
postcardd check-config "$cfg" >/dev/null || fail "check-config"

# a configuration with a stray member is refused at start (exit 3) with its name
jq '.colour = "blue"' "$cfg" >"$tmp/pki/bad.json"
set +e
postcardd --config "$tmp/pki/bad.json" 2>"$tmp/bad.err"; rc=$?
set -e
[ $rc -eq 3 ] && grep -q "unknown member 'colour'" "$tmp/bad.err" || fail "bad config: rc $rc"
ok "configuration with an unknown member refused (exit 3)"

postcardd --config "$cfg" -v 2>"$tmp/srv.log" &
pid=$!
for _ in $(seq 100); do [ -s "$tmp/pki/postcardd.port" ] && break; sleep 0.05; done
port=$(cat "$tmp/pki/postcardd.port")
[ -n "$port" ] || fail "no port file"
url=https://127.0.0.1:$port
db=$tmp/pki/postcard.db
tok=$tmp/pki/admin.token
export POSTCARD_SERVER=$url POSTCARD_ADMIN_TOKEN_FILE=$tok POSTCARD_CACERT=$tmp/pki/ca.pem
A() { postcard --json admin "$@"; }
# raw request: C METHOD PATH [curl args...] -> prints "STATUS BODY"
C() {
	local m=$1 p=$2
	shift 2
	curl -sS --cacert "$tmp/pki/ca.pem" -o "$tmp/body" -w '%{http_code}' -X "$m" "$@" "$url$p"
}
AUTH=(-H "Authorization: Bearer $(cat "$tok")")
JS=(-H 'Content-Type: application/json')

# snapshot of everything a refused request must leave alone
snap() {
	sqlite3 "$db" "SELECT count(*) FROM audit; SELECT count(*) FROM cards;
		SELECT count(*) FROM jobs; SELECT count(*) FROM load_files; SELECT count(*) FROM agents;
		SELECT count(*) FROM sessions; SELECT group_concat(state) FROM jobs;" | tr '\n' ' '
}
# expect STATUS CODE METHOD PATH [curl args]: the reply is that 4xx with that error code and
# the store is unchanged
expect() {
	local st=$1 code=$2 before after got
	shift 2
	before=$(snap)
	got=$(C "$@") || true
	after=$(snap)
	[ "$got" = "$st" ] || fail "$*: HTTP $got, expected $st: $(cat "$tmp/body")"
	[ "$(jq -r .error.code "$tmp/body")" = "$code" ] ||
		fail "$*: code $(jq -r .error.code "$tmp/body"), expected $code"
	[ "$(jq -r .error.status "$tmp/body")" = "$st" ] || fail "$*: status member"
	[ -n "$(jq -r .error.message "$tmp/body")" ] || fail "$*: no message"
	[ "$before" = "$after" ] || fail "$*: store changed: $before -> $after"
}

# ---- transport ----
[ "$(C GET /health)" = 200 ] || fail health
set +e
curl -sS --cacert "$tmp/pki/ca.pem" --tls-max 1.1 "$url/health" >/dev/null 2>&1; rc=$?
set -e
[ $rc -ne 0 ] || fail "TLS 1.1 accepted"
curl -sS --cacert "$tmp/pki/ca.pem" --tlsv1.2 --tls-max 1.2 "$url/health" | jq -e .ok >/dev/null ||
	fail "TLS 1.2 refused"
curl -sv --cacert "$tmp/pki/ca.pem" "$url/health" "$url/health" 2>"$tmp/ka" >/dev/null
grep -qi 'Re-using existing connection' "$tmp/ka" || fail "no keep-alive"
ok "HTTPS: TLS 1.1 refused, 1.2 accepted, keep-alive reuses the connection"

# ---- start-up wrote the profiles and the agent, audited ----
A audit-verify | jq -e '.ok and .records == 3' >/dev/null || fail "start-up audit"
A profile demo-scp03 | jq -e '.kvn == 1 and .scp == 3 and .i == 112 and .enrol == false' \
	>/dev/null || fail profile
A agent demo-agent | jq -e ".fingerprint == \"$(cat "$tmp/pki/agent.sha256")\"" >/dev/null ||
	fail agent
ok "configured profiles and agent in the store, 3 audit records"

# ---- admin credential ----
expect 401 unauthorized GET /admin/v1/loadfiles
expect 401 unauthorized GET /admin/v1/loadfiles -H "Authorization: Bearer wrong-token-0123456789"
expect 401 unauthorized POST /admin/v1/cards "${JS[@]}" -d '{"id":"AA","profile":"demo-scp03"}'
expect 401 unauthorized POST /admin/v1/cards "${JS[@]}" -H "Authorization: Basic YWRtaW46YWRtaW4=" \
	-d '{"id":"AA","profile":"demo-scp03"}'
grep -q WWW-Authenticate <(curl -sSi --cacert "$tmp/pki/ca.pem" "$url/admin/v1/audit") ||
	fail "401 without WWW-Authenticate"
echo wrong-token-0123456789 >"$tmp/wrong.token"
set +e
postcard admin --admin-token-file "$tmp/wrong.token" loadfiles 2>"$tmp/err"; rc=$?
set -e
[ $rc -eq 5 ] && grep -q 'HTTP 401' "$tmp/err" || fail "postcard admin with a wrong token: rc $rc"
ok "admin calls without a token, with a wrong one, or Basic: 401, nothing changed"

# ---- load files ----
cap=$td/cap
A upload "$cap/openjavacard-lib-ber.cap" >"$tmp/lf1"
jq -e '.id == 1 and .aid == "A00000FFFFA0" and .applets == [] and (.lfdb_hash | length) == 64' \
	"$tmp/lf1" >/dev/null || fail "upload lib"
A upload "$cap/openjavacard-app-demo.cap" | jq -e '.id == 2 and .applets == ["A00000FFFFF001"]' \
	>/dev/null || fail "upload app"
# the LFDB hash is SHA-256 over the LFDB as `postcard cap` computes it
want=$(postcard --json cap info "$cap/openjavacard-lib-ber.cap" | jq -r .lfdb_sha256)
[ "$want" = "$(jq -r .lfdb_hash "$tmp/lf1")" ] || fail "LFDB hash differs from postcard cap ($want)"
A loadfiles | jq -e '.loadfiles | length == 2' >/dev/null || fail "list"
A loadfiles | jq -e '.loadfiles[0].aid == "A00000FFFFA0"' >/dev/null || fail "list order"
curl -sS --cacert "$tmp/pki/ca.pem" "${AUTH[@]}" "$url/admin/v1/loadfiles/2" |
	jq -e '.version == "0.0" and .size > 0' >/dev/null || fail "loadfile get"
expect 409 exists POST /admin/v1/loadfiles "${AUTH[@]}" -H 'Content-Type: application/octet-stream' \
	--data-binary "@$cap/openjavacard-lib-ber.cap"
head -c 3000 /dev/urandom >"$tmp/junk.cap"
expect 400 bad_cap POST /admin/v1/loadfiles "${AUTH[@]}" -H 'Content-Type: application/octet-stream' \
	--data-binary "@$tmp/junk.cap"
expect 415 bad_content_type POST /admin/v1/loadfiles "${AUTH[@]}" "${JS[@]}" \
	--data-binary "@$cap/openjavacard-lib-debug.cap"
head -c 1100000 /dev/zero >"$tmp/huge.cap"
expect 413 too_large POST /admin/v1/loadfiles "${AUTH[@]}" -H 'Content-Type: application/octet-stream' \
	--data-binary "@$tmp/huge.cap"
ok "load files: upload (CAP parsed, LFDB SHA-256), list, get; duplicate 409, junk 400, JSON 415, 1.1 MB 413"

# ---- cards ----
A register-card --id a0b1c2d3e4f5 --profile demo-scp03 --kdd 00112233445566778899 |
	jq -e '.id == "A0B1C2D3E4F5" and .scp == 3 and .i == 112 and .key_versions == [1]' \
	>/dev/null || fail "register card"
A register-card --id 0102030405060708 --profile demo-scp02 --scp 2 --i 0x75 |
	jq -e '.i == 117 and .profile == "demo-scp02"' >/dev/null || fail "register scp02 card"
expect 409 exists POST /admin/v1/cards "${AUTH[@]}" "${JS[@]}" -d '{"id":"A0B1C2D3E4F5","profile":"demo-scp03"}'
expect 422 unknown_profile POST /admin/v1/cards "${AUTH[@]}" "${JS[@]}" -d '{"id":"AABB","profile":"nope"}'
expect 400 bad_json POST /admin/v1/cards "${AUTH[@]}" "${JS[@]}" -d '{"id": "AABB", "profile":'
expect 400 bad_json POST /admin/v1/cards "${AUTH[@]}" "${JS[@]}" -d '["AABB"]'
expect 400 bad_json POST /admin/v1/cards "${AUTH[@]}" "${JS[@]}" -d '{"id":"AABB","id":"CCDD","profile":"demo-scp03"}'
expect 400 bad_json POST /admin/v1/cards "${AUTH[@]}" "${JS[@]}"
expect 400 unknown_field POST /admin/v1/cards "${AUTH[@]}" "${JS[@]}" -d '{"id":"AABB","profile":"demo-scp03","pin":"1234"}'
expect 400 bad_type POST /admin/v1/cards "${AUTH[@]}" "${JS[@]}" -d '{"id":1234,"profile":"demo-scp03"}'
expect 400 bad_type POST /admin/v1/cards "${AUTH[@]}" "${JS[@]}" -d '{"id":"AABB","profile":"demo-scp03","scp":"3"}'
expect 400 bad_value POST /admin/v1/cards "${AUTH[@]}" "${JS[@]}" -d '{"id":"XYZ!","profile":"demo-scp03"}'
expect 400 bad_value POST /admin/v1/cards "${AUTH[@]}" "${JS[@]}" -d '{"id":"AABB","profile":"demo-scp03","kdd":"0011G2"}'
expect 400 bad_value POST /admin/v1/cards "${AUTH[@]}" "${JS[@]}" -d '{"id":"AABB","profile":"demo-scp03","scp":1}'
expect 400 missing_field POST /admin/v1/cards "${AUTH[@]}" "${JS[@]}" -d '{"id":"AABB"}'
expect 415 bad_content_type POST /admin/v1/cards "${AUTH[@]}" -H 'Content-Type: text/plain' -d '{"id":"AABB","profile":"demo-scp03"}'
awk 'BEGIN { printf "{\"id\":\"AABB\",\"profile\":\"demo-scp03\",\"x\":\""; for (i = 0; i < 70000; i++) printf "a"; printf "\"}" }' >"$tmp/big.json"
expect 413 too_large POST /admin/v1/cards "${AUTH[@]}" "${JS[@]}" --data-binary "@$tmp/big.json"
expect 413 too_large POST /admin/v1/cards "${AUTH[@]}" "${JS[@]}" -H 'Transfer-Encoding: chunked' \
	--data-binary "@$tmp/big.json"
expect 404 not_found GET /admin/v1/cards/FFFF "${AUTH[@]}"
expect 404 not_found GET /admin/v1/nothing "${AUTH[@]}"
expect 405 method_not_allowed DELETE /admin/v1/cards/A0B1C2D3E4F5 "${AUTH[@]}"
ok "cards: register (hex normalised, profile defaults); duplicate 409, unknown profile 422, malformed/array/duplicate-key/empty JSON 400, unknown member, types, values, missing 400, text/plain 415, 70 KB 413 (with length and chunked)"

# ---- jobs, every type ----
card=A0B1C2D3E4F5
q() { A queue "$card" "$@"; }
q install --params '{"loadfile": 1}' | jq -e '.state == "queued" and (.params | has("module") | not)' >/dev/null || fail "install library"
q install --params '{"loadfile": 2, "instance": "A00000FFFFF00101", "privileges": 0}' |
	jq -e '.params.module == "A00000FFFFF001" and .params.instance == "A00000FFFFF00101"' >/dev/null || fail "install app"
q personalise --params '{"aid": "A000000151000001", "version": 1, "items": "5F200441424344"}' |
	jq -e '.type == "personalise" and .params.encrypt == false' >/dev/null || fail personalise
q data-change --params '{"aid": "A000000151000001", "version": 2, "expected": 1, "items": "5F200445464748", "encrypt": true}' |
	jq -e '.params.expected == 1' >/dev/null || fail data-change
q lock-app --params '{"aid": "A00000FFFFF00101"}' >/dev/null || fail lock-app
q unlock-app --params '{"aid": "A00000FFFFF00101"}' >/dev/null || fail unlock-app
q delete --params '{"aid": "A00000FFFFF0", "related": true}' | jq -e '.params.related' >/dev/null || fail delete
q lock-card >/dev/null || fail lock-card
q unlock-card >/dev/null || fail unlock-card
q rotate-keys --params '{"new_kvn": 2, "profile": "demo-scp03"}' | jq -e '.params.new_kvn == 2' >/dev/null || fail rotate-keys
jid=$(q terminate --params '{"confirm": true}' | jq .id)
[ "$jid" = 11 ] || fail "terminate job id $jid"
A job 11 | jq -e '.state == "queued" and .type == "terminate" and .attempts == 0' >/dev/null || fail "job status"
A cancel 11 | jq -e '.state == "failed" and .reason == "cancelled by the admin"' >/dev/null || fail cancel
expect 409 state POST /admin/v1/jobs/11/cancel "${AUTH[@]}"
A jobs "$card" --state queued | jq -e '.jobs | length == 10' >/dev/null || fail "jobs queued"
A jobs "$card" --state failed | jq -e '.jobs | length == 1' >/dev/null || fail "jobs failed"
J=(POST /admin/v1/cards/$card/jobs "${AUTH[@]}" "${JS[@]}")
expect 400 bad_value "${J[@]}" -d '{"type":"format-card"}'
expect 400 unknown_field "${J[@]}" -d '{"type":"lock-card","priority":1}'
expect 400 unknown_field "${J[@]}" -d '{"type":"lock-card","params":{"aid":"A00000FFFFF001"}}'
expect 400 bad_type "${J[@]}" -d '{"type":"lock-app","params":[]}'
expect 400 missing_field "${J[@]}" -d '{"type":"lock-app","params":{}}'
expect 400 bad_value "${J[@]}" -d '{"type":"lock-app","params":{"aid":"A000"}}'
expect 400 bad_type "${J[@]}" -d '{"type":"delete","params":{"aid":"A00000FFFFF0","related":"yes"}}'
expect 422 unknown_loadfile "${J[@]}" -d '{"type":"install","params":{"loadfile":99}}'
expect 422 bad_value "${J[@]}" -d '{"type":"install","params":{"loadfile":2,"module":"A00000FFFFF002"}}'
expect 422 bad_value "${J[@]}" -d '{"type":"install","params":{"loadfile":1,"instance":"A00000FFFFA001"}}'
expect 400 bad_value "${J[@]}" -d '{"type":"personalise","params":{"aid":"A000000151000001","version":1,"items":"5F2004414243"}}'
expect 400 bad_value "${J[@]}" -d '{"type":"data-change","params":{"aid":"A000000151000001","version":2,"expected":2,"items":"C10101"}}'
expect 400 bad_value "${J[@]}" -d '{"type":"data-change","params":{"aid":"A000000151000001","version":0,"items":"C10101"}}'
expect 400 bad_value "${J[@]}" -d "{\"type\":\"personalise\",\"params\":{\"aid\":\"A000000151000001\",\"version\":1,\"items\":\"$(head -c 300 /dev/zero | od -An -tx1 | tr -d ' \n')\"}}"
expect 400 missing_field "${J[@]}" -d '{"type":"terminate"}'
expect 400 bad_value "${J[@]}" -d '{"type":"terminate","params":{"confirm":false}}'
expect 400 bad_value "${J[@]}" -d '{"type":"rotate-keys","params":{"new_kvn":128,"profile":"demo-scp03"}}'
expect 422 unknown_profile "${J[@]}" -d '{"type":"rotate-keys","params":{"new_kvn":2,"profile":"nope"}}'
expect 404 not_found POST /admin/v1/cards/BEEF/jobs "${AUTH[@]}" "${JS[@]}" -d '{"type":"lock-card"}'
expect 404 not_found GET /admin/v1/jobs/999 "${AUTH[@]}"
expect 400 bad_value GET "/admin/v1/cards/$card/jobs?state=lost" "${AUTH[@]}"
ok "jobs: all ten types queued with normalised params, status, cancel (twice: 409), lists by state; 19 invalid requests refused"

# ---- card view ----
A card "$card" | jq -e '.card.id == "A0B1C2D3E4F5" and .contents == null and (.jobs | length) == 11' \
	>/dev/null || fail "card view"
ok "card view: record, contents (none yet), jobs"

# ---- agents ----
A register-agent --id desk-2 --fingerprint "$(printf '%064d' 7)" --name "desk 2" |
	jq -e '.id == "desk-2" and .name == "desk 2"' >/dev/null || fail "register agent"
expect 409 exists POST /admin/v1/agents "${AUTH[@]}" "${JS[@]}" -d "{\"id\":\"desk-3\",\"fingerprint\":\"$(printf '%064d' 7)\"}"
expect 409 exists POST /admin/v1/agents "${AUTH[@]}" "${JS[@]}" -d "{\"id\":\"desk-2\",\"fingerprint\":\"$(printf '%064d' 8)\"}"
expect 400 bad_value POST /admin/v1/agents "${AUTH[@]}" "${JS[@]}" -d '{"id":"desk-4","fingerprint":"abcd"}'
expect 400 bad_value POST /admin/v1/agents "${AUTH[@]}" "${JS[@]}" -d "{\"id\":\"desk 4\",\"fingerprint\":\"$(printf '%064d' 9)\"}"
ok "agents: register, duplicate fingerprint or id 409, bad fingerprint or id 400"

# ---- agent endpoints: client certificates ----
AG=(POST /agent/v1/session "${JS[@]}" -d '{"type":"hello","version":1}')
expect 401 no_certificate "${AG[@]}"
expect 401 no_certificate "${AG[@]}" "${AUTH[@]}"
# a certificate from another CA (same subject): refused
mkdir "$tmp/rogue"
(
	cd "$tmp/rogue"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key \
		-subj "/O=postcard demo/CN=postcard demo CA" -days 30 -out ca.pem 2>/dev/null
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout agent.key \
		-subj "/O=postcard demo/CN=demo-agent" -out agent.csr 2>/dev/null
	openssl x509 -req -in agent.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 \
		-out agent.pem 2>/dev/null
)
expect 403 bad_certificate "${AG[@]}" --cert "$tmp/rogue/agent.pem" --key "$tmp/rogue/agent.key"
# a self-signed certificate registered by fingerprint is still refused: the CA is the gate
fp=$(openssl x509 -in "$tmp/rogue/agent.pem" -outform DER | openssl dgst -sha256 -r | cut -d' ' -f1)
A register-agent --id rogue --fingerprint "$fp" >/dev/null
expect 403 bad_certificate "${AG[@]}" --cert "$tmp/rogue/agent.pem" --key "$tmp/rogue/agent.key"
# a certificate of the right CA that no agent was registered with
(
	cd "$tmp/pki"
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tmp/other.key" \
		-subj "/O=postcard demo/CN=other" -out "$tmp/other.csr" 2>/dev/null
	printf 'extendedKeyUsage=clientAuth\n' >"$tmp/other.ext"
	openssl x509 -req -in "$tmp/other.csr" -CA ca.pem -CAkey ca.key -CAserial ca.srl -days 30 \
		-extfile "$tmp/other.ext" -out "$tmp/other.pem" 2>/dev/null
)
expect 403 unknown_agent "${AG[@]}" --cert "$tmp/other.pem" --key "$tmp/other.key"
# the registered agent passes the gate; the admin token does not open agent endpoints
AGC=(--cert "$tmp/pki/agent.pem" --key "$tmp/pki/agent.key")
awk 'BEGIN { printf "{\"type\":\"hello\",\"x\":\""; for (i = 0; i < 1100000; i++) printf "a"; printf "\"}" }' >"$tmp/bigagent.json"
expect 413 too_large POST /agent/v1/session "${JS[@]}" "${AGC[@]}" --data-binary "@$tmp/bigagent.json"
# and the admin API does not take an agent certificate instead of the token
expect 401 unauthorized GET /admin/v1/audit "${AGC[@]}"
ok "agent endpoints: no certificate 401, another CA 403 (even when registered), unregistered 403, 1.1 MB 413; the credentials do not cross"

# ---- audit ----
n=$(sqlite3 "$db" 'SELECT count(*) FROM audit')
# 3 start-up + 2 load files + 2 cards + 11 jobs + 1 cancel + 2 agents = 21
[ "$n" = 21 ] || fail "audit records $n, expected 21"
A audit --after 3 --limit 2 | jq -e '.records | length == 2 and .[0].id == 4 and .[0].action == "loadfile.add" and .[0].actor == "admin"' \
	>/dev/null || fail "audit page"
A audit --limit 1000 | jq -e '[.records[].action] | map(select(. == "job.queue")) | length == 11' >/dev/null ||
	fail "audit job.queue"
A audit-verify | jq -e '.ok and .records == 21 and .first_bad == 0' >/dev/null || fail "audit verify"
postcard admin audit-verify | grep -q 'audit chain: sound (21 records' || fail "audit-verify text"
A audit | jq -e '[.records[] | select(.actor == "server")] | length == 3' >/dev/null || fail "server records"
expect 400 bad_value GET "/admin/v1/audit?limit=5000" "${AUTH[@]}"
ok "audit: one record per change (21), pages, chain verifies"

# ---- agent hello: unknown card, session, second agent ----
# expect_agent STATUS PCARD_CODE JSON [curl args]: a protocol error message, store unchanged
expect_agent() {
	local st=$1 code=$2 body=$3 before after got
	shift 3
	before=$(snap)
	got=$(C POST /agent/v1/session "${JS[@]}" -d "$body" "$@") || true
	after=$(snap)
	[ "$got" = "$st" ] || fail "agent $body: HTTP $got, expected $st: $(cat "$tmp/body")"
	jq -e ".type == \"error\" and .error.code == \"$code\" and (.error.message | length) > 0" \
		"$tmp/body" >/dev/null || fail "agent $body: $(cat "$tmp/body")"
	[ "$before" = "$after" ] || fail "agent $body: store changed: $before -> $after"
}
hello() { printf '{"v":1,"type":"hello","session":"","step":0,"agent":"%s","relay":false,"card":{"atr":"3B8F8001","iin":"%s","cin":"%s"}}' "$@"; }
expect_agent 400 PCARD_E_BAD_ENCODING '{"type":' "${AGC[@]}"
expect_agent 400 PCARD_E_BAD_ENCODING '{"v":1,"type":"hello","session":"","step":0,"card":{"atr":"3B00"},"extra":1}' "${AGC[@]}"
expect_agent 400 PCARD_E_BAD_ENCODING '{"v":1,"type":"hello","session":"","step":0,"card":{"atr":"3B00"}}' "${AGC[@]}"
expect_agent 403 PCARD_E_AUTH "$(hello demo-agent 420112 45034455)" "${AGC[@]}"
expect_agent 403 PCARD_E_AUTH "$(hello desk-2 A0B1C2 D3E4F5)" "${AGC[@]}"
n0=$(sqlite3 "$db" 'SELECT count(*) FROM audit')
[ "$(C POST /agent/v1/session "${JS[@]}" "${AGC[@]}" -d "$(hello demo-agent A0B1C2 D3E4F5)")" = 200 ] ||
	fail "hello: $(cat "$tmp/body")"
jq -e '.type == "bundle" and .step == 1 and (.session | length) == 32 and (.steps | length) == 2 and
	.steps[0].apdu == "00A4040000" and (.steps[1].apdu | startswith("8050000008")) and
	(.steps[1].apdu | length) == 28' "$tmp/body" >/dev/null || fail "step-1 bundle: $(cat "$tmp/body")"
sid=$(jq -r .session "$tmp/body")
[ "$(sqlite3 "$db" "SELECT card || ' ' || agent || ' ' || step || ' ' || state FROM sessions WHERE id = '$sid'")" = \
	"A0B1C2D3E4F5 demo-agent 1 hello" ] || fail "session row"
[ "$(sqlite3 "$db" 'SELECT count(*) FROM audit')" = $((n0 + 1)) ] || fail "session audit"
A audit --after "$n0" | jq -e '.records[0].action == "session.open" and .records[0].actor == "agent:demo-agent"' \
	>/dev/null || fail "session audit record"
# a second agent for the card in session: 409, nothing changes
A register-agent --id desk-9 --fingerprint "$(openssl x509 -in "$tmp/other.pem" -outform DER | openssl dgst -sha256 -r | cut -d' ' -f1)" >/dev/null
expect_agent 409 PCARD_E_CONFLICT "$(hello desk-9 A0B1C2 D3E4F5)" --cert "$tmp/other.pem" --key "$tmp/other.key"
# the same agent again (it restarted): its old session is superseded, a new one opened
[ "$(C POST /agent/v1/session "${JS[@]}" "${AGC[@]}" -d "$(hello demo-agent A0B1C2 D3E4F5)")" = 200 ] ||
	fail "second hello of the same agent: $(cat "$tmp/body")"
sid2=$(jq -r .session "$tmp/body")
[ "$sid2" != "$sid" ] || fail "no new session"
[ "$(sqlite3 "$db" "SELECT state FROM sessions WHERE id = '$sid'") $(sqlite3 "$db" "SELECT state FROM sessions WHERE id = '$sid2'")" = "closed hello" ] ||
	fail "supersede: session states"
A audit --after "$n0" | jq -e '[.records[].action | select(startswith("session"))] == ["session.open", "session.superseded", "session.open"]' \
	>/dev/null || fail "supersede audit"
ok "agent hello: malformed 400, unknown card without enrolment profile 403, agent mismatch 403, session opened (step-1 bundle SELECT + INITIALIZE UPDATE, audited), second agent 409, the same agent again supersedes its session; all refusals change nothing"

# ---- no secret in the database ----
if sqlite3 "$db" .dump | grep -qi "$(cat "$tok")"; then fail "admin token in the database"; fi
ok "the admin token is nowhere in the store"

kill "$pid"
wait "$pid" || true
pid=
grep -q 'stopping after' "$tmp/srv.log" || fail "no clean stop"
if grep -q 'Sanitizer' "$tmp/srv.log"; then fail "sanitizer report in the server log"; fi
ok "postcardd stops cleanly on SIGTERM"
echo "cli_server: all passed"
