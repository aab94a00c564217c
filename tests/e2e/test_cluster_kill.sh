#!/bin/bash
# test_cluster_kill.sh - issue 5's real-process test: three settled
# processes on loopback (libraft's TCP transport and on-disk log, each node
# its own data directory), genesis + deploy + enroll + fund + claims, the
# leader killed with SIGKILL mid-stream, more claims, the leader restarted;
# then all three must reach the same head index and hash, and no
# acknowledged claim may be missing or paid twice.
#
# usage: test_cluster_kill.sh BUILD_ENGINE_DIR SOURCE_DIR
# Bounded (every wait has a deadline); every child is killed on exit.
set -u
BIN=$(cd "$1" && pwd)
SRC=$(cd "$2" && pwd)
# The cluster helpers: DIR, KEY, ports, configs, start_node, head_of,
# submit, start_cluster (every child killed on exit).
NODES=3
. "$SRC/tests/e2e/cluster_lib.sh"

# Claims: batch B has claims OV-B<B>-<C>, copies of a fixture claim.
make_batch() {
    local files=()
    for c in 1 2 3 4 5; do
        local f="$DIR/claims/b$1-c$c.json"
        sed "s/OV-2026-0001/OV-B$1-$c/" "$SRC/fixtures/claims/office-visit.json" >"$f"
        files+=("$f")
    done
    echo "${files[@]}"
}
mkdir -p "$DIR/claims"

start_cluster

submit 0 deploy "$SRC/contracts/plans/ppo.yaml"
submit 1 enroll "$SRC/fixtures/enrollment.yaml"
submit 2 fund 100000000
ACKED=()
for b in 0 1 2 3 4; do
    # shellcheck disable=SC2046
    submit $((3 + b)) $(make_batch $b)
    for c in 1 2 3 4 5; do ACKED+=("OV-B$b-$c"); done
done

LEADER=""
for i in 1 2 3; do
    l=$(head_of $i | cut -d' ' -f3)
    [ -n "$l" ] && [ "$l" != 0 ] && LEADER=$l && break
done
[ -n "$LEADER" ] || fail "no leader known"
# Kill the leader with batch 5 in flight: its client resends the same
# bytes to the others until it gets an answer (applied, or a replay).
# shellcheck disable=SC2046
(trap - EXIT; submit 8 $(make_batch 5)) &
IN_FLIGHT=$!
sleep 0.0$((RANDOM % 10))
echo "killing leader $LEADER (pid ${NODE_PID[$LEADER]})"
kill -KILL "${NODE_PID[$LEADER]}"
wait "${NODE_PID[$LEADER]}" 2>/dev/null
wait $IN_FLIGHT || fail "the batch in flight when the leader died was not answered"
for c in 1 2 3 4 5; do ACKED+=("OV-B5-$c"); done
# The same bytes once more, as a client that lost its answer would: the
# replay is answered, never applied (the claim counts below prove it).
# shellcheck disable=SC2046
submit 8 $(make_batch 5)
grep -qx 8 "$DIR/replays" 2>/dev/null || fail "batch 5 sent again was not answered as a replay"

for b in 6 7 8 9; do
    # shellcheck disable=SC2046
    submit $((3 + b)) $(make_batch $b)
    for c in 1 2 3 4 5; do ACKED+=("OV-B$b-$c"); done
done

echo "restarting node $LEADER"
start_node "$LEADER"
for b in 10 11; do
    # shellcheck disable=SC2046
    submit $((3 + b)) $(make_batch $b)
    for c in 1 2 3 4 5; do ACKED+=("OV-B$b-$c"); done
done
submit 15 pay

deadline=$((SECONDS + 20))
while :; do
    h1=$(head_of 1 | cut -d' ' -f1,2)
    h2=$(head_of 2 | cut -d' ' -f1,2)
    h3=$(head_of 3 | cut -d' ' -f1,2)
    [ -n "$h1" ] && [ "$h1" = "$h2" ] && [ "$h2" = "$h3" ] && break
    [ $SECONDS -lt $deadline ] || fail "heads differ: [$h1] [$h2] [$h3]"
    sleep 0.2
done
echo "converged: $h1"

stop_cluster

for i in 1 2 3; do
    db="$DIR/data$i/ledger.sqlite"
    q() { sqlite3 -readonly "$db" "$1"; }
    head=$(q "SELECT entry_index || ' ' || lower(hex(hash)) FROM chain ORDER BY entry_index DESC LIMIT 1")
    [ "$head" = "$h1" ] || fail "node $i: ledger head [$head], nodes said [$h1]"
    for id in "${ACKED[@]}"; do
        n=$(q "SELECT count(*) FROM claims WHERE payer = 'ACMEHP' AND claim_id = '$id'")
        [ "$n" = 1 ] || fail "node $i: acknowledged claim $id found $n times"
    done
    total=$(q "SELECT count(*) FROM claims")
    [ "$total" = "${#ACKED[@]}" ] || fail "node $i: $total claims, ${#ACKED[@]} acknowledged"
    unpaid=$(q "SELECT count(*) FROM claims WHERE paid_cents > 0 AND settlement <> 'paid'")
    [ "$unpaid" = 0 ] || fail "node $i: $unpaid payable claims left after the cycle"
    bad=$(q "SELECT count(*) FROM payments p WHERE total_cents <> (SELECT sum(net_cents)
             FROM claims c WHERE c.payment_id = p.payment_id)
             OR claim_count <> (SELECT count(*) FROM claims c WHERE c.payment_id = p.payment_id)")
    [ "$bad" = 0 ] || fail "node $i: $bad payments do not add up to their claims"
    paid=$(q "SELECT count(*) FROM transfers WHERE kind = 'payment'")
    payments=$(q "SELECT count(*) FROM payments")
    [ "$paid" = "$payments" ] || fail "node $i: $paid payment transfers for $payments payments"
    balance=$(q "SELECT sum(debits_cents) - sum(credits_cents) FROM accounts")
    [ "$balance" = 0 ] || fail "node $i: debits and credits differ by $balance"
done
replays=$(cat "$DIR/replays" 2>/dev/null | wc -l)
echo "ok: ${#ACKED[@]} acknowledged claims ($replays resubmissions answered as replays)," \
    "each once on every node; heads agree at $h1"
