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
SETTLED=$BIN/settled
SETTLE=$BIN/settle
DIR=$(mktemp -d "${TMPDIR:-/tmp}/settle-e2e.XXXXXX")
# git keeps no file modes but the executable bit: a copy made private, as
# sign_key_load demands.
KEY=$DIR/acmehp.key
cp "$SRC/fixtures/genesis/keys/acmehp.key" "$KEY" && chmod 600 "$KEY"
PIDS=()

cleanup() {
    for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$DIR"
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    for i in 1 2 3; do echo "--- node $i log (tail)" >&2; tail -n 15 "$DIR/log$i" >&2; done
    exit 1
}

# Ports: six from a base derived from our pid, below the ephemeral range
# (32768 and up) so that no outgoing connection holds one; moved on while
# any of them is in use, and again if a node cannot bind at start.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
BASE=$((20000 + ($$ % 1000) * 10))
pick_ports() {
    for _ in $(seq 1 50); do
        BASE=$((20000 + (BASE - 20000 + 10) % 10000))
        ok=1
        for k in 1 2 3 4 5 6; do port_free $((BASE + k)) || ok=0; done
        [ $ok = 1 ] && return 0
    done
    fail "no free ports"
}
raft_port() { echo $((BASE + $1)); }
intake_port() { echo $((BASE + 3 + $1)); }

write_configs() {
for i in 1 2 3; do
    {
        echo "id: $i"
        echo "data_dir: $DIR/data$i"
        echo "genesis: $SRC/fixtures/genesis/genesis.yaml"
        echo "election_timeout_ms: 500"
        echo "heartbeat_timeout_ms: 50"
        echo "peers:"
        for j in 1 2 3; do
            echo "  - {id: $j, raft_address: \"127.0.0.1:$(raft_port $j)\", intake: \"tcp://127.0.0.1:$(intake_port $j)\"}"
        done
    } >"$DIR/node$i.yaml"
done
ALL="tcp://127.0.0.1:$(intake_port 1),tcp://127.0.0.1:$(intake_port 2),tcp://127.0.0.1:$(intake_port 3)"
}

NODE_PID=(0 0 0 0)
start_node() {
    "$SETTLED" --config "$DIR/node$1.yaml" 2>>"$DIR/log$1" &
    NODE_PID[$1]=$!
    PIDS+=($!)
}

# head_of I: "INDEX HASH LEADER" from node I, or "" when it does not answer.
head_of() {
    "$SETTLE" head --node "tcp://127.0.0.1:$(intake_port $1)" --timeout-ms 300 --tries 1 2>/dev/null |
        awk '{v[$1]=$2} END {if (v["index"] != "") print v["index"], v["hash"], v["leader"]}'
}

# submit SEQUENCE WHAT...: succeeds when the command was applied, now or by
# an earlier copy (a replayed sequence number is answered, not applied).
submit() {
    local sequence=$1
    shift
    local out
    out=$("$SETTLE" submit --node "$ALL" --key "$KEY" --payer ACMEHP --sequence "$sequence" \
        --timeout-ms 1000 --tries 30 "$@" 2>&1)
    local rc=$?
    echo "$out" >>"$DIR/client.log"
    [ $rc = 0 ] && return 0
    if [ $rc = 1 ] && echo "$out" | grep -q "sequence $sequence of ACMEHP"; then
        echo "sequence $sequence: a replay, answered" >>"$DIR/client.log"
        echo "$sequence" >>"$DIR/replays"
        return 0
    fi
    fail "submit sequence $sequence (rc $rc): $out"
}

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

# start_cluster: 0 when genesis is applied, 1 when a node exited at start
# (a port taken meanwhile: the caller picks others), fails after 15 s.
start_cluster() {
    pick_ports
    write_configs
    rm -rf "$DIR"/data*
    for i in 1 2 3; do start_node $i; done
    local deadline=$((SECONDS + 15))
    until [ "$(head_of 1 | cut -d' ' -f1)" = 1 ] || [ "$(head_of 2 | cut -d' ' -f1)" = 1 ]; do
        [ $SECONDS -lt $deadline ] || fail "no genesis applied within 15 s"
        for i in 1 2 3; do
            if ! kill -0 "${NODE_PID[$i]}" 2>/dev/null; then
                echo "node $i exited at start; trying other ports" >&2
                for j in 1 2 3; do kill -KILL "${NODE_PID[$j]}" 2>/dev/null; done
                wait 2>/dev/null
                return 1
            fi
        done
        sleep 0.2
    done
}
for attempt in 1 2 3 4; do
    start_cluster && break
    [ $attempt = 4 ] && fail "the cluster did not start"
done

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

for i in 1 2 3; do kill -TERM "${NODE_PID[$i]}"; done
for i in 1 2 3; do
    wait "${NODE_PID[$i]}"
    rc=$?
    [ $rc = 0 ] || fail "node $i exited $rc after SIGTERM"
done

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
