#!/bin/bash
# test_sequence_window.sh - the replay window on real processes: three
# settled nodes on loopback, and many `settle submit` clients sharing the
# payer's key at once, their sequence numbers shuffled, as a thousand
# connections of one payer would be.  Every command must be applied once
# (none refused for arriving out of order); each sent again is answered as
# a replayed sequence; a number below the window is refused as too old;
# the three ledgers agree, and their funding balance is exactly the sum of
# the commands accepted.
#
# usage: test_sequence_window.sh BUILD_ENGINE_DIR SOURCE_DIR
# Bounded (every wait has a deadline); every child is killed on exit.
set -u
BIN=$(cd "$1" && pwd)
SRC=$(cd "$2" && pwd)
SETTLED=$BIN/settled
SETTLE=$BIN/settle
DIR=$(mktemp -d "${TMPDIR:-/tmp}/settle-e2e-window.XXXXXX")
KEY=$DIR/acmehp.key
cp "$SRC/fixtures/genesis/keys/acmehp.key" "$KEY" && chmod 600 "$KEY"
PIDS=()
CLIENTS=40 # concurrent submitters, sequences 0..CLIENTS-1 in a shuffled order

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

# Ports as test_cluster_kill.sh picks them, from another base.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
BASE=$((25000 + ($$ % 500) * 10))
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
            echo "transport: plain"
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

head_of() {
    "$SETTLE" head --node "tcp://127.0.0.1:$(intake_port $1)" --timeout-ms 300 --tries 1 2>/dev/null |
        awk '{v[$1]=$2} END {if (v["index"] != "") print v["index"], v["hash"], v["leader"]}'
}

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

# fund SEQUENCE: one fund command of 100 cents; its output in out.SEQUENCE,
# its exit code in rc.SEQUENCE (0: applied; 1: refused, with the reason).
fund() {
    "$SETTLE" submit --node "$ALL" --key "$KEY" --payer ACMEHP --sequence "$1" \
        --timeout-ms 2000 --tries 30 fund 100 >"$DIR/out.$1" 2>&1
    echo $? >"$DIR/rc.$1"
}

for attempt in 1 2 3 4; do
    start_cluster && break
    [ $attempt = 4 ] && fail "the cluster did not start"
done

# All at once, in a shuffled order: before the window, most of these were
# refused ("expected N") for arriving after a higher number.
CLIENT_PIDS=()
for s in $(seq 0 $((CLIENTS - 1)) | shuf); do
    fund "$s" &
    CLIENT_PIDS+=($!)
done
for pid in "${CLIENT_PIDS[@]}"; do wait "$pid"; done
for s in $(seq 0 $((CLIENTS - 1))); do
    [ "$(cat "$DIR/rc.$s" 2>/dev/null)" = 0 ] || fail "sequence $s refused: $(cat "$DIR/out.$s")"
done

# The same numbers again: answered as replays, never applied.
for s in 0 7 $((CLIENTS - 1)); do
    fund "$s"
    [ "$(cat "$DIR/rc.$s")" = 1 ] || fail "sequence $s sent twice was not refused"
    grep -q "replayed sequence $s of ACMEHP" "$DIR/out.$s" ||
        fail "sequence $s sent twice: $(cat "$DIR/out.$s")"
done

# A jump, a number inside the window below it, and one below the window.
fund 2000
[ "$(cat "$DIR/rc.2000")" = 0 ] || fail "sequence 2000 refused: $(cat "$DIR/out.2000")"
fund 1000
[ "$(cat "$DIR/rc.1000")" = 0 ] || fail "sequence 1000 refused: $(cat "$DIR/out.1000")"
fund 900
[ "$(cat "$DIR/rc.900")" = 1 ] && grep -q "sequence 900 of ACMEHP too old" "$DIR/out.900" ||
    fail "sequence 900, below the window, was not refused as too old: $(cat "$DIR/out.900")"
ACCEPTED=$((CLIENTS + 2))

deadline=$((SECONDS + 20))
while :; do
    h1=$(head_of 1 | cut -d' ' -f1,2)
    h2=$(head_of 2 | cut -d' ' -f1,2)
    h3=$(head_of 3 | cut -d' ' -f1,2)
    [ -n "$h1" ] && [ "$h1" = "$h2" ] && [ "$h2" = "$h3" ] && break
    [ $SECONDS -lt $deadline ] || fail "heads differ: [$h1] [$h2] [$h3]"
    sleep 0.2
done

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
    n=$(q "SELECT count(*) FROM commands WHERE participant = 'ACMEHP' AND accepted = 1")
    [ "$n" = $ACCEPTED ] || fail "node $i: $n commands of ACMEHP accepted, $ACCEPTED expected"
    d=$(q "SELECT count(DISTINCT sequence) FROM commands WHERE participant = 'ACMEHP' AND accepted = 1")
    [ "$d" = $ACCEPTED ] || fail "node $i: a sequence number accepted twice"
    funded=$(q "SELECT credits_cents - debits_cents FROM accounts WHERE id = 'funding/ACMEHP'")
    [ "$funded" = $((ACCEPTED * 100)) ] || fail "node $i: funding/ACMEHP holds $funded cents"
    # Proof that they did arrive out of order: pairs applied in the reverse
    # of their numbers (a shuffle of 40 sorted by chance: 1 in 40!).
    inversions=$(q "SELECT count(*) FROM commands a JOIN commands b
                    ON a.participant = 'ACMEHP' AND b.participant = 'ACMEHP'
                    AND a.accepted = 1 AND b.accepted = 1 AND a.sequence < $CLIENTS
                    AND b.sequence < a.sequence
                    AND (b.entry_index, b.position) > (a.entry_index, a.position)")
    [ "$inversions" -gt 0 ] || fail "node $i: the commands were applied in order after all"
    next=$(q "SELECT next_sequence || ' ' || length(sequence_window) FROM participants WHERE id = 'ACMEHP'")
    [ "$next" = "2001 128" ] || fail "node $i: ACMEHP's window is [$next]"
done
echo "ok: $CLIENTS concurrent submitters, shuffled ($inversions pairs applied out of" \
    "order), each applied once; replays and a number too old refused; heads agree at $h1"
