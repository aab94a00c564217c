#!/bin/bash
# cluster_lib.sh - a cluster of settled processes on loopback for the
# end-to-end tests and the cluster benchmark, sourced by their scripts.
#
# The caller sets, before sourcing:
#   BIN      the build's engine folder (settled, settle)
#   SRC      the source tree (fixtures/, contracts/)
# and may set:
#   NODES          how many nodes (1..3) [3]
#   CLUSTER_EXTRA  configuration lines added to every node's file
#                  (e.g. "log_level: warn")
#   CLIENT_ARGS    (an array) options head_of and submit give every
#                  `settle` call, e.g. (--node-key HEX --key FILE) for nodes
#                  with `transport: curve`
#   EVENTS         when set, every node publishes events (events_of I)
#
# It makes DIR (a mktemp -d folder removed on exit), KEY (the payer's key,
# mode 0600, with its PHI secret acmehp.phi beside it), and offers pick_ports, write_configs, start_node, head_of,
# start_cluster, submit, leader_intake and cleanup (installed as the EXIT
# trap: every child is killed, even on failure).  Every wait has a deadline.

NODES=${NODES:-3}
CLUSTER_EXTRA=${CLUSTER_EXTRA:-}
[ -n "${CLIENT_ARGS+set}" ] || CLIENT_ARGS=()
SETTLED=$BIN/settled
SETTLE=$BIN/settle
DIR=$(mktemp -d "${TMPDIR:-/tmp}/settle-e2e.XXXXXX")
# git keeps no file modes but the executable bit: a copy made private, as
# sign_key_load demands.
KEY=$DIR/acmehp.key
cp "$SRC/fixtures/genesis/keys/acmehp.key" "$KEY" && chmod 600 "$KEY"
# The payer's PHI secret beside its key, where `settle submit` finds it.
cp "$SRC/fixtures/genesis/keys/acmehp.phi" "$DIR/acmehp.phi" && chmod 600 "$DIR/acmehp.phi"
PIDS=()

cleanup() {
    for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null; done
    wait 2>/dev/null
    [ -n "${KEEP:-}" ] && echo "kept $DIR" >&2
    [ -n "${KEEP:-}" ] || rm -rf "$DIR"
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    for i in $(seq 1 "$NODES"); do
        echo "--- node $i log (tail)" >&2
        tail -n 15 "$DIR/log$i" >&2
    done
    exit 1
}

# Ports: ten from a base derived from our pid, below the ephemeral range
# (32768 and up) so that no outgoing connection holds one; moved on while
# any of them is in use, and again if a node cannot bind at start.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
BASE=$((20000 + ($$ % 1000) * 10))
pick_ports() {
    for _ in $(seq 1 50); do
        BASE=$((20000 + (BASE - 20000 + 10) % 10000))
        ok=1
        for k in $(seq 1 $((3 * NODES))); do port_free $((BASE + k)) || ok=0; done
        [ $ok = 1 ] && return 0
    done
    fail "no free ports"
}
raft_port() { echo $((BASE + $1)); }
intake_port() { echo $((BASE + NODES + $1)); }
intake_of() { echo "tcp://127.0.0.1:$(intake_port "$1")"; }
events_of() { echo "tcp://127.0.0.1:$((BASE + 2 * NODES + $1))"; }

write_configs() {
    for i in $(seq 1 "$NODES"); do
        {
            echo "id: $i"
            echo "data_dir: $DIR/data$i"
            echo "genesis: $SRC/fixtures/genesis/genesis.yaml"
            echo "election_timeout_ms: 500"
            echo "heartbeat_timeout_ms: 50"
            # plain TCP, said explicitly, unless the caller asks for curve
            case "$CLUSTER_EXTRA" in *transport:*) ;; *) echo "transport: plain" ;; esac
            [ -n "$CLUSTER_EXTRA" ] && printf '%s\n' "$CLUSTER_EXTRA"
            echo "peers:"
            for j in $(seq 1 "$NODES"); do
                events=""
                [ -n "${EVENTS:-}" ] && events=", events: \"$(events_of "$j")\""
                echo "  - {id: $j, raft_address: \"127.0.0.1:$(raft_port "$j")\", intake: \"$(intake_of "$j")\"$events}"
            done
        } >"$DIR/node$i.yaml"
    done
    ALL=$(for j in $(seq 1 "$NODES"); do intake_of "$j"; done | paste -sd,)
}

NODE_PID=(0 0 0 0 0 0 0 0)
start_node() {
    "$SETTLED" --config "$DIR/node$1.yaml" 2>>"$DIR/log$1" &
    NODE_PID[$1]=$!
    PIDS+=($!)
}

# head_of I: "INDEX HASH LEADER" from node I, or "" when it does not answer.
head_of() {
    "$SETTLE" head --node "$(intake_of "$1")" --timeout-ms 300 --tries 1 \
        ${CLIENT_ARGS[@]+"${CLIENT_ARGS[@]}"} 2>/dev/null |
        awk '{v[$1]=$2} END {if (v["index"] != "") print v["index"], v["hash"], v["leader"]}'
}

# one_head: waits (15 s at most) until nodes 1 to 3 answer the same head,
# and sets HEAD to its "INDEX HASH"; fails otherwise.
one_head() {
    local deadline=$((SECONDS + 15)) h1 h2 h3
    while :; do
        h1=$(head_of 1 | cut -d' ' -f1-2); h2=$(head_of 2 | cut -d' ' -f1-2); h3=$(head_of 3 | cut -d' ' -f1-2)
        [ -n "$h1" ] && [ "$h1" = "$h2" ] && [ "$h2" = "$h3" ] && break
        [ $SECONDS -lt $deadline ] || fail "the nodes did not reach one head: $h1 / $h2 / $h3"
        sleep 0.2
    done
    HEAD=$h1
}

# leader_intake: the leader's intake endpoint, or "" when none is known.
leader_intake() {
    local l
    for i in $(seq 1 "$NODES"); do
        l=$(head_of "$i" | cut -d' ' -f3)
        if [ -n "$l" ] && [ "$l" != 0 ]; then
            intake_of "$l"
            return 0
        fi
    done
}

# submit SEQUENCE WHAT...: succeeds when the command was applied, now or by
# an earlier copy (a replayed sequence number is answered, not applied).
submit() {
    local sequence=$1
    shift
    local out
    out=$("$SETTLE" submit --node "$ALL" --key "$KEY" --payer ACMEHP --sequence "$sequence" \
        --timeout-ms 1000 --tries 30 ${CLIENT_ARGS[@]+"${CLIENT_ARGS[@]}"} "$@" 2>&1)
    local rc=$?
    echo "$out" >>"$DIR/client.log"
    # A copy refused as a replay: exit 1 when this call's first copy was
    # answered so, exit 0 (with a note) when an earlier copy of this call
    # went unanswered and was applied.
    if { [ $rc = 1 ] || [ $rc = 0 ]; } && echo "$out" | grep -q "sequence $sequence of ACMEHP"; then
        echo "sequence $sequence: a replay, answered" >>"$DIR/client.log"
        echo "$sequence" >>"$DIR/replays"
        return 0
    fi
    [ $rc = 0 ] && return 0
    fail "submit sequence $sequence (rc $rc): $out"
}

# start_cluster_once: 0 when genesis is applied, 1 when a node exited at
# start (a port taken meanwhile: the caller picks others), fails after 15 s.
start_cluster_once() {
    pick_ports
    write_configs
    rm -rf "$DIR"/data*
    for i in $(seq 1 "$NODES"); do start_node "$i"; done
    local deadline=$((SECONDS + 15))
    while :; do
        for i in $(seq 1 "$NODES"); do
            [ "$(head_of "$i" | cut -d' ' -f1)" = 1 ] && return 0
        done
        [ $SECONDS -lt $deadline ] || fail "no genesis applied within 15 s"
        for i in $(seq 1 "$NODES"); do
            if ! kill -0 "${NODE_PID[$i]}" 2>/dev/null; then
                echo "node $i exited at start; trying other ports" >&2
                for j in $(seq 1 "$NODES"); do kill -KILL "${NODE_PID[$j]}" 2>/dev/null; done
                wait 2>/dev/null
                return 1
            fi
        done
        sleep 0.2
    done
}

# start_cluster: starts the nodes (up to four tries on fresh ports) and
# waits for the genesis entry.
start_cluster() {
    for attempt in 1 2 3 4; do
        start_cluster_once && return 0
        [ $attempt = 4 ] && fail "the cluster did not start"
    done
}

# stop_cluster: SIGTERM to every node; fails unless each exits 0 within
# its bound.
stop_cluster() {
    for i in $(seq 1 "$NODES"); do kill -TERM "${NODE_PID[$i]}" 2>/dev/null; done
    for i in $(seq 1 "$NODES"); do
        wait "${NODE_PID[$i]}"
        rc=$?
        [ $rc = 0 ] || fail "node $i exited $rc after SIGTERM"
    done
}
