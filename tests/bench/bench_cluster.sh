#!/bin/bash
# bench_cluster.sh - the cluster benchmark: three settled processes on
# loopback (tests/e2e/cluster_lib.sh, log_level warn), the reference PPO
# deployed, fixtures/enrollment.yaml enrolled, the payer funded; then
# bench_cluster drives the leader's intake with pre-signed claim batches
# and prints committed claims per second and per-request latency:
#
#   a   one single-claim batch in flight at a time
#   b   1,000 submitters, one DEALER each, single-claim batches
#   b1  the same 1,000 requests in flight over one DEALER
#   c   16 clients, one DEALER each, batches of 100 claims
#   c1  the same 16 batches in flight over one DEALER
#
# Each command carries the payer's next sequence number, in send order.
# Requests spread over many connections reach the leader interleaved; the
# ledger's sequence window (1,024 numbers, engine/README.md) applies each
# once in any order, so b and c see no rejections, and b1 and c1 show what
# one connection (arrival order = send order) changes.
#
# usage: bench_cluster.sh [BUILD_DIR [SOURCE_DIR]]     (default: build .)
# environment: BENCH_RUNS=N       runs of each scenario (default 3; the
#                                 table gives each run and the median)
#              BENCH_SCENARIOS    default "a b b1 c c1"
#              BENCH_SCALE=N      percent of the default request counts
#              BENCH_PERF=NAME    perf record -g on the leader during
#                                 scenario NAME's first run
#              BENCH_PERF_RUN=N   ... during its Nth run instead
#              BENCH_PERF_OPTS    perf record options instead of -g
#                                 (e.g. "--call-graph dwarf,16384")
#              BENCH_PERF_NODE=follower  perf a follower instead
#              BENCH_PERF_NODE=all       perf the three nodes at once
#                                 (perf report --sort comm,dso,sym)
#              BENCH_EXTRA="..."  driver options added to every run
#                                 (e.g. "--inflight 500"; later ones win)
#              BENCH_LOG_LEVEL    the nodes' log_level (default warn; with
#                                 KEEP=1 their logs stay in the folder)
#              BENCH_NODE_EXTRA   node configuration lines (node.h), e.g.
#                                 "entry_commands_max: 8"
#              TMPDIR             where the nodes' data directories go
# Everything it starts is killed on exit; each run is bounded (120 s).
set -u
echo "command: $0 $*"
BUILD=$(cd "${1:-build}" && pwd)
SRC=$(cd "${2:-.}" && pwd)
BIN=$BUILD/engine
DRIVER=$BUILD/tests/bench/bench_cluster
RUNS=${BENCH_RUNS:-3}
SCENARIOS=${BENCH_SCENARIOS:-a b b1 c c1}
SCALE=${BENCH_SCALE:-100}
PERF=${BENCH_PERF:-}
[ -x "$DRIVER" ] || { echo "bench_cluster.sh: no $DRIVER (make bench builds it)" >&2; exit 2; }

NODES=3
CLUSTER_EXTRA="log_level: ${BENCH_LOG_LEVEL:-warn}${BENCH_NODE_EXTRA:+
$BENCH_NODE_EXTRA}"
. "$SRC/tests/e2e/cluster_lib.sh"
# A thousand connections to the leader need as many descriptors.
ulimit -n "$(ulimit -Hn)" 2>/dev/null

start_cluster
submit 0 deploy "$SRC/contracts/plans/ppo.yaml"
submit 1 enroll "$SRC/fixtures/enrollment.yaml"
submit 2 fund 100000000000000
LEADER=$(leader_intake)
[ -n "$LEADER" ] || fail "no leader known"
LEADER_ID=$(head_of 1 | cut -d' ' -f3)
echo "cluster: $NODES nodes on 127.0.0.1, data in $DIR, leader $LEADER_ID at $LEADER"

scaled() { local n=$(($1 * SCALE / 100)); [ "$n" -ge 1 ] && echo "$n" || echo 1; }
# scenario NAME: the driver's options for it.
scenario() {
    case $1 in
    a) echo "--requests $(scaled 2000) --claims-per-request 1 --inflight 1 --sockets 1" ;;
    b) echo "--requests $(scaled 20000) --claims-per-request 1 --inflight 1000 --sockets 1000" ;;
    b1) echo "--requests $(scaled 20000) --claims-per-request 1 --inflight 1000 --sockets 1" ;;
    c) echo "--requests $(scaled 400) --claims-per-request 100 --inflight 16 --sockets 16" ;;
    c1) echo "--requests $(scaled 400) --claims-per-request 100 --inflight 16 --sockets 1" ;;
    *) fail "unknown scenario $1" ;;
    esac
}

# cpu_ms PID: the process's user + system CPU time so far, in ms.
TICKS=$(getconf CLK_TCK)
cpu_ms() {
    awk -v t="$TICKS" '{sub(/.*\) /, ""); print int(($12 + $13) * 1000 / t)}' "/proc/$1/stat" 2>/dev/null || echo 0
}
nodes_cpu_ms() { for i in $(seq 1 "$NODES"); do cpu_ms "${NODE_PID[$i]}"; done | paste -sd' '; }
# thread_cpu_ms NAME PID: the CPU of the process's threads called NAME
# (settled names its own: settled-wal, settled-log, settled-bus...).
thread_cpu_ms() {
    local t ms=0
    for t in /proc/"$2"/task/*; do
        [ "$(cat "$t/comm" 2>/dev/null)" = "$1" ] || continue
        ms=$((ms + $(cpu_ms "${t#/proc/}")))
    done
    echo "$ms"
}
nodes_thread_cpu_ms() { for i in $(seq 1 "$NODES"); do thread_cpu_ms "$1" "${NODE_PID[$i]}"; done | paste -sd' '; }
# minor_faults PID: the pages the process has touched for the first time
# (or again after giving them back), a cost that grows on a virtual machine.
minor_faults() { awk '{sub(/.*\) /, ""); print $8}' "/proc/$1/stat" 2>/dev/null || echo 0; }
nodes_minor_faults() { for i in $(seq 1 "$NODES"); do minor_faults "${NODE_PID[$i]}"; done | paste -sd' '; }
# io_kib FIELD PID: what a node has written (wchar) or read (rchar) with
# write(2), read(2) and their kin, sockets included, in KiB.
io_kib() { awk -v f="$1:" '$1 == f {print int($2 / 1024)}' "/proc/$2/io" 2>/dev/null || echo 0; }
nodes_io_kib() { for i in $(seq 1 "$NODES"); do io_kib "$1" "${NODE_PID[$i]}"; done | paste -sd' '; }

# perf_pid: the node(s) BENCH_PERF records (the leader, the first follower,
# or all three, comma-separated as perf -p takes them).
perf_pid() {
    local i
    if [ "${BENCH_PERF_NODE:-leader}" = all ]; then
        echo "${NODE_PID[1]},${NODE_PID[2]},${NODE_PID[3]}"
        return
    fi
    if [ "${BENCH_PERF_NODE:-leader}" = follower ]; then
        for i in $(seq 1 "$NODES"); do
            [ "$i" != "$LEADER_ID" ] && { echo "${NODE_PID[$i]}"; return; }
        done
    fi
    echo "${NODE_PID[$LEADER_ID]}"
}

SEQUENCE=3
: >"$DIR/results"
for name in $SCENARIOS; do
    for run in $(seq 1 "$RUNS"); do
        # shellcheck disable=SC2046
        set -- "$DRIVER" --node "$LEADER" --key "$KEY" --payer ACMEHP \
            --claim "$SRC/fixtures/claims/office-visit.json" --sequence "$SEQUENCE" \
            --name "$name" --prefix "$name-r$run" --timeout-s 120 $(scenario "$name") ${BENCH_EXTRA:-}
        echo
        echo "run: $*"
        perf_pid=""
        if [ "$PERF" = "$name" ] && [ "$run" = "${BENCH_PERF_RUN:-1}" ] && command -v perf >/dev/null; then
            perf record ${BENCH_PERF_OPTS:--g} -o "$BUILD/bench_cluster.perf.data" -p "$(perf_pid)" \
                2>"$DIR/perf.log" >/dev/null &
            perf_pid=$!
            sleep 0.5
        fi
        before=($(nodes_cpu_ms))
        wal_before=($(nodes_thread_cpu_ms settled-wal))
        wbefore=($(nodes_io_kib wchar))
        fbefore=($(nodes_minor_faults))
        rbefore=($(nodes_io_kib rchar))
        "$@" >"$DIR/out" 2>&1
        rc=$?
        after=($(nodes_cpu_ms))
        wal_after=($(nodes_thread_cpu_ms settled-wal))
        wafter=($(nodes_io_kib wchar))
        fafter=($(nodes_minor_faults))
        rafter=($(nodes_io_kib rchar))
        if [ -n "$perf_pid" ]; then
            kill -INT "$perf_pid"
            wait "$perf_pid"
            echo "perf data: $BUILD/bench_cluster.perf.data" \
                "(perf report -i $BUILD/bench_cluster.perf.data --no-children)"
        fi
        cat "$DIR/out"
        line="CPU ms during the run (including preparation):"
        for i in $(seq 1 "$NODES"); do
            role=follower
            [ "$i" = "$LEADER_ID" ] && role=leader
            line="$line node $i ($role) $((after[i - 1] - before[i - 1]))"
        done
        echo "$line; driver while timed $(sed -n 's/.*driver_cpu_ms=\([0-9]*\).*/\1/p' "$DIR/out")"
        line="of which the WAL checkpoint thread (the idle copy of the run before included):"
        for i in $(seq 1 "$NODES"); do
            line="$line node $i $((wal_after[i - 1] - wal_before[i - 1]))"
        done
        echo "$line"
        line="MiB written/read during the run (files and sockets):"
        for i in $(seq 1 "$NODES"); do
            line="$line node $i $(((wafter[i - 1] - wbefore[i - 1]) / 1024))/$(((rafter[i - 1] - rbefore[i - 1]) / 1024))"
        done
        echo "$line"
        line="minor page faults during the run:"
        for i in $(seq 1 "$NODES"); do
            line="$line node $i $((fafter[i - 1] - fbefore[i - 1]))"
        done
        echo "$line"
        [ $rc = 0 ] || echo "(the driver exited $rc)"
        grep '^RESULT ' "$DIR/out" | sed "s/^RESULT /RESULT run=$run /" >>"$DIR/results"
        next=$(awk '/^next_sequence/ {print $2}' "$DIR/out")
        [ -n "$next" ] && SEQUENCE=$next
    done
done

# The table: every run, then the median of each column per scenario.
echo
echo "settle cluster benchmark: $NODES nodes, $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)," \
    "commit $(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo '?')"
awk '
function field(name,   i, kv) {
    for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == name) return kv[2] }
    return ""
}
function median(list,   n, v, i, j, t) {
    n = split(list, v, " ")
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] + 0 < v[i] + 0) { t = v[i]; v[i] = v[j]; v[j] = t }
    return n ? v[int((n + 1) / 2)] : ""
}
BEGIN {
    split("claims_per_s p50_us p99_us max_us committed_claims rejected errors retries busy unanswered", cols, " ")
    printf "%-8s %-4s %12s %10s %10s %10s %10s %9s %7s %8s %7s %6s\n", "scenario", "run", "claims/s", "p50 us", "p99 us", "max us", "committed", "rejected", "errors", "retries", "busy", "lost"
}
{
    name = field("name"); run = field("run")
    if (!(name in seen)) { seen[name] = 1; order[++count] = name }
    line = sprintf("%-8s %-4s", name, run)
    for (c = 1; c <= 10; c++) {
        v = field(cols[c]); all[name, c] = all[name, c] " " v
        line = line sprintf(c == 1 ? " %12s" : c <= 5 ? " %10s" : c == 6 ? " %9s" : c == 7 ? " %7s" : c == 8 ? " %8s" : c == 9 ? " %7s" : " %6s", v)
    }
    print line
}
END {
    for (k = 1; k <= count; k++) {
        name = order[k]; line = sprintf("%-8s %-4s", name, "med")
        for (c = 1; c <= 10; c++) { v = median(all[name, c]); line = line sprintf(c == 1 ? " %12s" : c <= 5 ? " %10s" : c == 6 ? " %9s" : c == 7 ? " %7s" : c == 8 ? " %8s" : c == 9 ? " %7s" : " %6s", v) }
        print line
    }
}' "$DIR/results"
echo "targets (2 cores): a p50 <= 500 us; b (or b1) >= 15000 claims/s with p99 <= 150000 us;" \
    "c (or c1) >= 85000 claims/s"

echo
for i in $(seq 1 "$NODES"); do
    echo "--- node $i stats"
    "$DRIVER" --node "$(intake_of "$i")" --stats text || echo "(no answer)"
done
stop_cluster
