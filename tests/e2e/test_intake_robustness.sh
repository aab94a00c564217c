#!/bin/bash
# test_intake_robustness.sh - the intake against bad and excessive input:
# one settled node (queue_length 4, message_size_max 65536) with the PPO
# deployed, members enrolled and the payer funded; then intake_probe sends
# a request without a verb, an empty request id, an unknown verb, garbage
# as a command, requests past message_size_max, the request id, size and
# frame count limits each at the limit and one past, and a flood that fills the
# queue; each must be answered with the right status, and the node must
# keep serving (head, a valid submit decided, stats with busy > 0, valid
# Prometheus text).  Finally the node must stop cleanly on SIGTERM.
#
# usage: test_intake_robustness.sh BUILD_ENGINE_DIR SOURCE_DIR PROBE
# Bounded (every wait has a deadline); every child is killed on exit.
set -u
BIN=$(cd "$1" && pwd)
SRC=$(cd "$2" && pwd)
PROBE=$3
NODES=1
CLUSTER_EXTRA="log_level: warn
queue_length: 4
message_size_max: 65536"
. "$SRC/tests/e2e/cluster_lib.sh"

start_cluster
submit 0 deploy "$SRC/contracts/plans/ppo.yaml"
submit 1 enroll "$SRC/fixtures/enrollment.yaml"
submit 2 fund 100000000
timeout 60 "$PROBE" "$(intake_of 1)" "$KEY" "$SRC/fixtures/claims/office-visit.json" ||
    fail "the intake probe failed (exit $?)"
kill -0 "${NODE_PID[1]}" 2>/dev/null || fail "the node died"
stop_cluster
echo "ok: the intake survived every probe"
