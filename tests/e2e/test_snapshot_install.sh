#!/bin/bash
# test_snapshot_install.sh - a lagging node catches up by snapshot install
# between real processes: three settled nodes with a snapshot every 8
# entries (whatever their size: snapshot_log_percent 0); a follower is killed with SIGKILL early, the others apply forty
# more entries (so the leader's log no longer holds what the follower
# lacks), the follower restarts with a fresh ledger, is sent the leader's
# snapshot, and ends on the same head hash, with its stats counting the
# snapshot it installed and every claim in its ledger.
#
# usage: test_snapshot_install.sh BUILD_ENGINE_DIR SOURCE_DIR
# Bounded (every wait has a deadline); every child is killed on exit.
set -u
BIN=$(cd "$1" && pwd)
SRC=$(cd "$2" && pwd)
NODES=3
CLUSTER_EXTRA="snapshot_threshold: 8
snapshot_log_percent: 0
log_level: warn"
# shellcheck source=cluster_lib.sh
. "$SRC/tests/e2e/cluster_lib.sh"

start_cluster
submit 0 deploy "$SRC/contracts/plans/ppo.yaml"
submit 1 enroll "$SRC/fixtures/enrollment.yaml"
submit 2 fund 100000000

# The lagging node: a follower, killed before the leader's first snapshot.
leader=$(head_of 1 | cut -d' ' -f3)
lag=3
[ "$leader" = 3 ] && lag=2
kill -KILL "${NODE_PID[$lag]}"
wait "${NODE_PID[$lag]}" 2>/dev/null

mkdir -p "$DIR/claims"
for b in $(seq 1 40); do
    f="$DIR/claims/c$b.json"
    sed "s/OV-2026-0001/SN-$b/" "$SRC/fixtures/claims/office-visit.json" >"$f"
    submit $((2 + b)) "$f"
done
other=1
[ "$lag" = 1 ] && other=2
[ "$other" = "$leader" ] || true
taken=$("$SETTLE" stats --node "$(leader_intake)" 2>/dev/null | awk '$1 == "snapshots_taken" {print $2}')
[ "${taken:-0}" -ge 1 ] || fail "the leader took no snapshot (snapshots_taken=${taken:-none})"

start_node "$lag"
deadline=$((SECONDS + 30))
while :; do
    h_lag=$(head_of "$lag" | cut -d' ' -f1,2)
    h_leader=$(head_of "$(head_of "$other" | cut -d' ' -f3)" | cut -d' ' -f1,2)
    [ -n "$h_lag" ] && [ "$h_lag" = "$h_leader" ] && break
    [ $SECONDS -lt $deadline ] || fail "node $lag did not catch up: [$h_lag] vs [$h_leader]"
    sleep 0.2
done
restored=$("$SETTLE" stats --node "$(intake_of "$lag")" | awk '$1 == "snapshots_restored" {print $2}')
[ "${restored:-0}" -ge 1 ] || fail "node $lag caught up without a snapshot (snapshots_restored=${restored:-none})"
for b in 1 20 40; do
    "$SETTLE" status "SN-$b" --payer ACMEHP --node "$(intake_of "$lag")" >/dev/null 2>&1 ||
        fail "node $lag has no claim SN-$b after the install"
done
stop_cluster
echo "ok: node $lag installed a snapshot ($restored) and reached head $h_lag"
