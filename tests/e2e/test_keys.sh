#!/bin/bash
# test_keys.sh - key rotation and revocation through `settle submit` on a
# real node: a rotation to a key the client does not hold is refused
# before anything is sent; the payer rotates to a new key (the client
# signs the new key's proof of possession), after which a command signed
# with the old one is refused (a bad signature) and one signed with the
# new one applied; a provider may not revoke the payer; the node revokes a
# provider, whose own commands are then refused as revoked; the payer
# revokes itself, and its next command is refused too.
#
# usage: test_keys.sh BUILD_ENGINE_DIR SOURCE_DIR
# Bounded (every wait has a deadline); every child is killed on exit.
set -u
BIN=$(cd "$1" && pwd)
SRC=$(cd "$2" && pwd)
NODES=1
. "$SRC/tests/e2e/cluster_lib.sh"

for who in node-1 prov-a; do
    cp "$SRC/fixtures/genesis/keys/$who.key" "$DIR/$who.key" && chmod 600 "$DIR/$who.key"
done
"$SETTLE" keygen --out "$DIR/new.key" >/dev/null 2>&1 || fail "keygen"

# run EXPECTED_RC PATTERN ARGS...: settle submit ARGS must exit
# EXPECTED_RC with PATTERN in what it prints.
run() {
    local expected=$1 pattern=$2
    shift 2
    local out rc
    out=$("$SETTLE" submit --node "$ALL" --timeout-ms 1000 --tries 20 "$@" 2>&1)
    rc=$?
    echo "$out" >>"$DIR/client.log"
    [ "$rc" = "$expected" ] || fail "submit $* exited $rc, not $expected: $out"
    echo "$out" | grep -q -- "$pattern" || fail "submit $*: no \"$pattern\" in: $out"
}

start_cluster
# Rotating to a public key alone (here the node's) is refused by the
# client: the proof of possession needs the private half.  Nothing is sent.
mkdir -p "$DIR/pub-only" && cp "$SRC/fixtures/genesis/keys/node-1.key.pub" "$DIR/pub-only/" ||
    fail "copy node-1.key.pub"
run 2 "needs the new private key" --key "$KEY" --as ACMEHP rotate "$DIR/pub-only/node-1.key.pub"
run 0 "accepted" --key "$KEY" --as ACMEHP rotate "$DIR/new.key"
# The old key: the client's own check against the node refuses it first;
# given a sequence number, the node refuses the signature.
run 1 "not the key registered" --key "$KEY" --as ACMEHP fund 100
run 1 "signature" --key "$KEY" --as ACMEHP --sequence 1 fund 100
run 0 "accepted" --key "$DIR/new.key" --as ACMEHP fund 100
run 1 "may not revoke" --key "$DIR/prov-a.key" --as prov-a revoke ACMEHP
run 0 "accepted" --key "$DIR/node-1.key" --as node-1 revoke prov-a
run 1 "prov-a was revoked at entry" --key "$DIR/prov-a.key" --as prov-a --sequence 1 revoke prov-a
run 0 "accepted" --key "$DIR/new.key" --as ACMEHP revoke ACMEHP
run 1 "ACMEHP was revoked at entry" --key "$DIR/new.key" --as ACMEHP fund 100
stop_cluster
echo "ok: rotate and revoke through settle submit"
