#!/usr/bin/env bash
# cli_softhsm_init: scripts/softhsm-init makes a private token with the demo master keys, twice
# in a row without change (idempotent), and never touches the system token store.
set -eu
src=${PCARD_SOURCE_DIR:?}
tmp=$(mktemp -d /tmp/pcard-cli-softhsm.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

out=$("$src/scripts/softhsm-init" "$tmp/hsm" --label pc-test --import-demo-keys)
echo "$out" | grep -q "^export SOFTHSM2_CONF=$tmp/hsm/softhsm2.conf$" || fail "no export line: $out"
"$src/scripts/softhsm-init" "$tmp/hsm" --label pc-test --import-demo-keys >/dev/null
export SOFTHSM2_CONF=$tmp/hsm/softhsm2.conf
[ "$(softhsm2-util --show-slots | grep -Ec 'Label: +pc-test *$')" = 1 ] || fail "token not there once"
[ "$(stat -c %a "$tmp/hsm/user.pin")" = 600 ] || fail "PIN file mode"
objs=$(pkcs11-tool --module /usr/lib/softhsm/libsofthsm2.so --token-label pc-test --login \
	--pin "$(cat "$tmp/hsm/user.pin")" -O 2>/dev/null)
[ "$(echo "$objs" | grep -c 'label: *demo-scp0[23]-master')" = 2 ] || fail "demo keys: $objs"
[ "$(echo "$objs" | grep -c 'Access: *sensitive')" = 2 ] || fail "demo keys not sensitive only"
# reading a demo master's value fails
if pkcs11-tool --module /usr/lib/softhsm/libsofthsm2.so --token-label pc-test --login \
	--pin "$(cat "$tmp/hsm/user.pin")" --read-object --type secrkey \
	--label demo-scp03-master >/dev/null 2>&1; then
	fail "master key value readable"
fi
echo "cli_softhsm_init: ok"
