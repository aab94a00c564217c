#!/bin/bash
# test_cli_intake.sh - `settle intake --watch` against a real local cluster
# (`settle cluster up`): an 837 and a JSON file dropped in are submitted,
# acknowledged and moved to done/; a bad file goes to failed/; then a file
# of many one-claim batches is interrupted with SIGKILL mid-way, one batch
# that was sent and applied has its answer removed from the journal (the
# crash window between the node's answer and its being written down), and
# the restarted intake must finish the file without applying anything
# twice.  A payment cycle then pays every claim exactly once.
#
# usage: test_cli_intake.sh BUILD_ENGINE_DIR SOURCE_DIR [curve|plain]
# The third argument is the cluster's transport (cluster up --transport).
# Bounded (every step under `timeout`); the cluster is stopped on exit.
set -u
BIN=$(cd "$1" && pwd)
SRC=$(cd "$2" && pwd)
SETTLE=$BIN/settle
TRANSPORT=(${3:+--transport "$3"})
TOP=$(mktemp -d "${TMPDIR:-/tmp}/settle-intake.XXXXXX")
C=$TOP/cluster
IN=$TOP/in
INTAKE_PID=

cleanup() {
    [ -n "$INTAKE_PID" ] && kill -KILL "$INTAKE_PID" 2>/dev/null
    timeout 20 "$SETTLE" cluster down --dir "$C" >/dev/null 2>&1
    [ -n "${KEEP:-}" ] && echo "kept $TOP" >&2
    [ -n "${KEEP:-}" ] || rm -rf "$TOP"
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    for log in "$C"/node-*.log; do echo "--- $log (tail)" >&2; tail -n 5 "$log" >&2; done
    exit 1
}

timeout 60 "$SETTLE" cluster up --dir "$C" --nodes 3 ${TRANSPORT[@]+"${TRANSPORT[@]}"} \
    >"$TOP/up.out" 2>&1 || fail "cluster up: $(cat "$TOP/up.out")"
# shellcheck disable=SC1091
. "$C/cluster.env"
KEY=$SETTLE_PAYER_KEY

# Sequence numbers are given explicitly, so that this test runs against a
# node with or without the `participant` verb.
submit() {
    timeout 60 "$SETTLE" submit --key "$KEY" --sequence "$@" >>"$TOP/submit.out" 2>&1 ||
        fail "submit $*: $(tail -3 "$TOP/submit.out")"
}
submit 0 deploy "$SRC/contracts/plans/ppo.yaml"
submit 1 enroll "$SRC/fixtures/enrollment.yaml"
submit 2 fund 100000000

# 1. Two good files (an 837 made from a JSON claim, and a JSON claim) and a
# bad one; a partial file (.part) that must be left alone.
mkdir -p "$IN"
sed 's/OV-2026-0001/IN-X12-1/' "$SRC/fixtures/claims/office-visit.json" >"$TOP/x12.json"
"$SETTLE" convert --to x12 "$TOP/x12.json" >"$IN/.a.837" 2>/dev/null || fail "convert to 837"
mv "$IN/.a.837" "$IN/a.837"
sed 's/OV-2026-0001/IN-JSON-1/' "$SRC/fixtures/claims/office-visit.json" >"$IN/b.json"
echo "ISA*garbage" >"$IN/c.837"
echo "half a file" >"$IN/d.837.part"
timeout 60 "$SETTLE" intake --watch "$IN" --key "$KEY" --once --stable-ms 0 --sequence 3 >"$TOP/intake1.out" 2>&1
rc=$?
[ $rc = 1 ] || fail "intake with a bad file: exit $rc, expected 1: $(cat "$TOP/intake1.out")"
[ -f "$IN/done/a.837" ] && [ -f "$IN/done/a.837.999" ] && [ -f "$IN/done/a.837.277" ] &&
    [ -f "$IN/done/a.837.answer" ] || fail "a.837 not in done/ with its 999, 277 and answer"
grep -q "^claim IN-X12-1 " "$IN/done/a.837.answer" || fail "a.837's answer lacks its claim"
grep -q "IK5\*A" "$IN/done/a.837.999" || fail "a.837's 999 does not accept it"
grep -q "STC\*A2:20" "$IN/done/a.837.277" || fail "a.837's 277CA does not accept the claim"
[ -f "$IN/done/b.json" ] && grep -q "^claim IN-JSON-1 " "$IN/done/b.json.answer" ||
    fail "b.json not in done/ with its answer"
[ -f "$IN/failed/c.837" ] && [ -f "$IN/failed/c.837.ack.json" ] || fail "c.837 not in failed/"
[ -f "$IN/d.837.part" ] || fail "the .part file was taken"
[ -z "$(ls "$IN/.intake")" ] || fail "the journal is not empty after a clean pass"

# 2. A crash mid-file: 40 claims, one batch each (sequences 5..44).
N=40
for i in $(seq 1 $N); do
    sed "s/OV-2026-0001/CR-$i/" "$SRC/fixtures/claims/office-visit.json" | tr -d '\n'
    echo
done >"$IN/.big.jsonl"
mv "$IN/.big.jsonl" "$IN/big.jsonl"
"$SETTLE" intake --watch "$IN" --key "$KEY" --stable-ms 0 --sequence 5 --batch-claims 1 --interval-ms 100 \
    >"$TOP/intake2.out" 2>&1 &
INTAKE_PID=$!
deadline=$((SECONDS + 30))
until ls "$IN"/.intake/*/batch-000002.answer >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || fail "the intake answered no batch in 30 s: $(cat "$TOP/intake2.out")"
    kill -0 $INTAKE_PID 2>/dev/null || fail "the intake exited early: $(cat "$TOP/intake2.out")"
    sleep 0.005
done
kill -KILL $INTAKE_PID
wait $INTAKE_PID 2>/dev/null
INTAKE_PID=
job=$(ls -d "$IN"/.intake/*/ 2>/dev/null | head -1)
[ -n "$job" ] || fail "the file was finished before the kill; nothing to recover"
answered=$(ls "$job" | grep -c '\.answer$')
echo "killed the intake with $answered of $N batches answered"
# The crash window: batch 1 was sent and applied, its answer never written.
rm -f "$job/batch-000001.answer"
timeout 60 "$SETTLE" intake --watch "$IN" --key "$KEY" --once --stable-ms 0 --sequence 999 >"$TOP/intake3.out" 2>&1 ||
    fail "the restarted intake: $(cat "$TOP/intake3.out")"
[ -f "$IN/done/big.jsonl" ] || fail "big.jsonl not in done/ after the restart: $(cat "$TOP/intake3.out")"
grep -q "^replay" "$IN/done/big.jsonl.answer" || fail "batch 1 was not answered as a replay"
claims=$(grep -c '^claim CR-' "$IN/done/big.jsonl.answer")
replays=$(grep -c '^replay' "$IN/done/big.jsonl.answer")
[ $((claims + replays)) = $N ] || fail "$claims claims answered and $replays replays, for $N batches"
[ -z "$(ls "$IN/.intake")" ] || fail "the journal is not empty after the restart"

# 3. Pay, stop, and count on every node's ledger.
timeout 60 "$SETTLE" submit --key "$KEY" --sequence $((5 + N)) pay >"$TOP/pay.out" 2>&1 ||
    fail "pay: $(cat "$TOP/pay.out")"
# Every node applies the whole log before it is stopped.
head_index() { "$SETTLE" head --node "$1" --timeout-ms 300 --tries 1 2>/dev/null | awk '$1 == "index" {print $2}'; }
deadline=$((SECONDS + 20))
until [ "$(head_index "$SETTLE_NODE_1")" = "$(head_index "$SETTLE_NODE_2")" ] &&
      [ "$(head_index "$SETTLE_NODE_2")" = "$(head_index "$SETTLE_NODE_3")" ]; do
    [ $SECONDS -lt $deadline ] || fail "the nodes' heads did not converge in 20 s"
    sleep 0.1
done
timeout 20 "$SETTLE" cluster down --dir "$C" >/dev/null 2>&1 || fail "cluster down"
for db in "$C"/node-*.data/ledger.sqlite; do
    q() { sqlite3 -readonly "$db" "$1"; }
    got=$(q "SELECT count(*) || ' ' || count(DISTINCT claim_id) FROM claims WHERE claim_id LIKE 'CR-%'")
    [ "$got" = "$N $N" ] || fail "$db: CR claims [$got], expected [$N $N]"
    for id in IN-X12-1 IN-JSON-1; do
        [ "$(q "SELECT count(*) FROM claims WHERE claim_id = '$id'")" = 1 ] || fail "$db: $id not once"
    done
    unpaid=$(q "SELECT count(*) FROM claims WHERE paid_cents > 0 AND settlement <> 'paid'")
    [ "$unpaid" = 0 ] || fail "$db: $unpaid payable claims left after the cycle"
    bad=$(q "SELECT count(*) FROM payments p WHERE total_cents <> (SELECT sum(net_cents)
             FROM claims c WHERE c.payment_id = p.payment_id)")
    [ "$bad" = 0 ] || fail "$db: $bad payments do not add up to their claims"
    [ "$(q "SELECT count(*) FROM transfers WHERE kind = 'payment'")" = \
      "$(q "SELECT count(*) FROM payments")" ] || fail "$db: payment transfers differ from payments"
done
echo "ok: intake acknowledged, submitted and moved every file; a crash mid-file was" \
    "finished from the journal; $N claims each once, paid once"
