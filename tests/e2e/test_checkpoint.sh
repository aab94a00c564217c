#!/bin/bash
# test_checkpoint.sh - issue 8's signed checkpoints on a real cluster: three
# nodes with checkpoint_interval 5, all speaking as node-1 with its key
# (only the leader signs), take a contract, an enrollment, funding and
# batches of claims; then
#   - the ledger holds checkpoints signed by node-1, each naming a link
#     whose stored hash it carries, every 5 links or so;
#   - `settle audit verify` replays the chain (every checkpoint's signature
#     checked again), reports the checkpoints and the last link they vouch
#     for, and its head is the cluster's.
#
# usage: test_checkpoint.sh BUILD_ENGINE_DIR SOURCE_DIR
set -u
BIN=$(cd "$1" && pwd)
SRC=$(cd "$2" && pwd)
NODES=3
. "$SRC/tests/e2e/cluster_lib.sh"

cp "$SRC/fixtures/genesis/keys/node-1.key" "$DIR/node-1.key" && chmod 600 "$DIR/node-1.key"
CLUSTER_EXTRA="participant: node-1
key: $DIR/node-1.key
checkpoint_interval: 5"

make_batch() {
    local files=()
    for c in 1 2 3; do
        local f="$DIR/claims/b$1-c$c.json"
        sed "s/OV-2026-0001/OV-K$1-$c/" "$SRC/fixtures/claims/office-visit.json" >"$f"
        files+=("$f")
    done
    echo "${files[@]}"
}
mkdir -p "$DIR/claims"

start_cluster
submit 0 deploy "$SRC/contracts/plans/ppo.yaml"
submit 1 enroll "$SRC/fixtures/enrollment.yaml"
submit 2 fund 100000000
for b in 0 1 2 3 4 5 6 7 8; do
    # shellcheck disable=SC2046
    submit $((3 + b)) $(make_batch $b)
done

# verify: audit verify on node 1's live ledger into $DIR/verify.out.
verify() {
    timeout 60 "$SETTLE" audit verify "$DIR/data1/ledger.sqlite" >"$DIR/verify.out" 2>"$DIR/verify.err"
}
field() { awk -v k="$1" '$1 == k {print $2}' "$DIR/verify.out"; }

# 13 links (genesis, 12 submits) and their checkpoints: wait for one head
# everywhere and at least two checkpoints verified.
deadline=$((SECONDS + 20))
while :; do
    h1=$(head_of 1 | cut -d' ' -f1-2); h2=$(head_of 2 | cut -d' ' -f1-2); h3=$(head_of 3 | cut -d' ' -f1-2)
    if [ -n "$h1" ] && [ "$h1" = "$h2" ] && [ "$h2" = "$h3" ] && verify &&
        [ "$(field checkpoints)" -ge 2 ] 2>/dev/null; then
        # the same head still, after the verify: nothing was in flight
        [ "$(head_of 1 | cut -d' ' -f1-2)" = "$h1" ] && break
    fi
    [ $SECONDS -lt $deadline ] || fail "no two checkpoints at one head: $h1 / $h2 / $h3; $(cat "$DIR/verify.out" "$DIR/verify.err" 2>/dev/null)"
    sleep 0.3
done

got="$(field index) $(field hash)"
[ "$got" = "$h1" ] || fail "verify's head \"$got\" is not the cluster's \"$h1\""
last=$(field checkpoint_index)
count=$(field checkpoints)
index=$(field index)
[ "$last" -ge 5 ] && [ "$last" -lt "$index" ] ||
    fail "last checkpointed link $last is not within 5..$index: $(cat "$DIR/verify.out")"
# One every 5 links: 13 links of commands plus the checkpoints' own.
[ "$count" -le $((index / 5 + 1)) ] || fail "$count checkpoints for $index links: too many"

if command -v sqlite3 >/dev/null; then
    rows=$(sqlite3 "$DIR/data1/ledger.sqlite" \
        "SELECT count(*) FROM checkpoints k JOIN chain c ON c.entry_index = k.chain_index
         WHERE k.hash = c.hash AND k.signer = 'node-1' AND k.entry_index > k.chain_index")
    [ "$rows" = "$count" ] || fail "$rows of $count checkpoints carry their link's hash, by node-1"
    accepted=$(sqlite3 "$DIR/data1/ledger.sqlite" \
        "SELECT count(*) FROM commands WHERE type = 'checkpoint' AND accepted = 0")
    [ "$accepted" = 0 ] || fail "$accepted checkpoint commands were rejected"
fi
stop_cluster
echo "ok: $count checkpoints, the last of link $last, verified at head $index"
