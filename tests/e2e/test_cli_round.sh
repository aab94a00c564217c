#!/bin/bash
# test_cli_round.sh - the client commands, one round against a real local
# cluster: `settle cluster up`, submit (sequence numbers asked of the node),
# status, pay (each payment's 835 fetched), remit, watch (each provider
# receives its own signed confirmations, and only those), stats, and
# `settle cluster down`.
#
# usage: test_cli_round.sh BUILD_ENGINE_DIR SOURCE_DIR [curve|plain]
# The third argument is the cluster's transport (cluster up --transport;
# default: cluster up's): with curve, every command above talks CurveZMQ
# with the keys cluster.env names.
# Bounded (every step under `timeout`); the cluster is stopped on exit.
set -u
BIN=$(cd "$1" && pwd)
SRC=$(cd "$2" && pwd)
SETTLE=$BIN/settle
TRANSPORT=(${3:+--transport "$3"})
TOP=$(mktemp -d "${TMPDIR:-/tmp}/settle-round.XXXXXX")
C=$TOP/cluster
WATCHERS=()

cleanup() {
    for pid in "${WATCHERS[@]}"; do kill -KILL "$pid" 2>/dev/null; done
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

# run NAME COMMAND...: runs it bounded, output in $TOP/NAME.out and .err.
run() {
    local name=$1
    shift
    timeout 60 "$@" >"$TOP/$name.out" 2>"$TOP/$name.err"
}

run up "$SETTLE" cluster up --dir "$C" --nodes 3 ${TRANSPORT[@]+"${TRANSPORT[@]}"} ||
    fail "cluster up: $(cat "$TOP/up.err")"
if [ "${3:-}" = curve ]; then
    grep -q "^transport: curve" "$C/node-1.yaml" || fail "cluster up --transport curve wrote no curve"
    grep -q "level=warn event=transport" "$C/node-1.log" && fail "a curve node warned of plain TCP"
fi
# shellcheck disable=SC1091
. "$C/cluster.env"
grep -q "^SETTLE_NODE=\|^export SETTLE_NODE=" "$C/cluster.env" || fail "cluster.env has no SETTLE_NODE"
run head "$SETTLE" head || fail "head: $(cat "$TOP/head.err")"
events=$(awk '$1 == "events" {print $2}' "$TOP/head.out")
run probe "$SETTLE" status PROBE-NO-SUCH-CLAIM
if [ -z "$events" ] || [ "$events" = "-" ] || grep -q "does not know the" "$TOP/probe.err"; then
    fail "the node has no events endpoint or no query verbs (events=${events:-none}):" \
        "$(cat "$TOP/probe.err")"
fi
KEY=$SETTLE_PAYER_KEY

# Setup, sequence numbers asked of the node.
run deploy "$SETTLE" submit --key "$KEY" deploy "$SRC/contracts/plans/ppo.yaml" ||
    fail "deploy: $(cat "$TOP/deploy.err")"
run enroll "$SETTLE" submit --key "$KEY" enroll "$SRC/fixtures/enrollment.yaml" ||
    fail "enroll: $(cat "$TOP/enroll.err")"
run fund "$SETTLE" submit --key "$KEY" fund 100000000 || fail "fund: $(cat "$TOP/fund.err")"
# A wrong key is refused before anything is sent.
run wrongkey "$SETTLE" submit --key "$C/prov-a.key" --as ACMEHP fund 1
[ $? = 1 ] && grep -q "not the key registered for ACMEHP" "$TOP/wrongkey.err" ||
    fail "a submit with another participant's key was not refused: $(cat "$TOP/wrongkey.err")"

# Claims for both providers: RA-1 billed by A, RB-1 billed by B.
sed 's/OV-2026-0001/RA-1/' "$SRC/fixtures/claims/office-visit.json" >"$TOP/ra.json"
sed -e 's/OV-2026-0001/RB-1/' -e 's/"billing_npi": "1234567893"/"billing_npi": "1987654328"/' \
    "$SRC/fixtures/claims/office-visit.json" >"$TOP/rb.json"
grep -q '"billing_npi": "1987654328"' "$TOP/rb.json" || fail "could not make provider B's claim"
run claims "$SETTLE" submit --key "$KEY" "$TOP/ra.json" "$TOP/rb.json" ||
    fail "claims: $(cat "$TOP/claims.out" "$TOP/claims.err")"
grep -q "^claim RA-1 " "$TOP/claims.out" && grep -q "^claim RB-1 " "$TOP/claims.out" ||
    fail "submit did not print each claim's decision: $(cat "$TOP/claims.out")"

# Follower forwarding: a client that knows only a follower is sent to the
# leader and gets its claim decided.
leader=$(awk '$1 == "leader" {print $2}' "$TOP/head.out")
follower=""
for k in 1 2 3; do
    [ "$k" != "$leader" ] && follower=$(eval echo "\$SETTLE_NODE_$k") && break
done
[ -n "$follower" ] || fail "no follower found (leader $leader)"
sed 's/OV-2026-0001/RF-1/' "$SRC/fixtures/claims/office-visit.json" >"$TOP/rf.json"
run viafollower "$SETTLE" submit --node "$follower" --key "$KEY" "$TOP/rf.json" ||
    fail "submit through follower $follower: $(cat "$TOP/viafollower.err")"
grep -q "^claim RF-1 paid " "$TOP/viafollower.out" ||
    fail "the claim sent to a follower was not decided: $(cat "$TOP/viafollower.out")"

# status
run status "$SETTLE" status RA-1 --payer ACMEHP || fail "status: $(cat "$TOP/status.err")"
grep -qx "claim RA-1" "$TOP/status.out" && grep -qx "settlement payable" "$TOP/status.out" ||
    fail "status RA-1: $(cat "$TOP/status.out")"
run nostatus "$SETTLE" status NO-SUCH-CLAIM
[ $? = 1 ] || fail "status of an unknown claim: exit not 1"

# Watchers, one per provider, started before the payment cycle.
# Each with the provider's own key: over CurveZMQ the node applies a
# subscription to payment.NPI only for that provider (or an auditor).
for npi in "$SETTLE_PROVIDER_A" "$SETTLE_PROVIDER_B"; do
    key=$SETTLE_PROVIDER_A_KEY
    [ "$npi" = "$SETTLE_PROVIDER_B" ] && key=$SETTLE_PROVIDER_B_KEY
    timeout 30 "$SETTLE" watch --provider "$npi" --key "$key" --count 1 --timeout 20 \
        >"$TOP/watch-$npi.out" 2>"$TOP/watch-$npi.err" &
    WATCHERS+=($!)
done
deadline=$((SECONDS + 10))
until grep -q "watching" "$TOP/watch-$SETTLE_PROVIDER_A.err" 2>/dev/null &&
      grep -q "watching" "$TOP/watch-$SETTLE_PROVIDER_B.err" 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || fail "the watchers did not subscribe"
    sleep 0.1
done
sleep 0.5 # a subscription reaches the publisher a moment after connecting

# pay: the payments, and each one's 835
mkdir -p "$TOP/remits"
run pay "$SETTLE" pay --payer ACMEHP --key "$KEY" --out "$TOP/remits" ||
    fail "pay: $(cat "$TOP/pay.out" "$TOP/pay.err")"
[ "$(grep -c "^payment " "$TOP/pay.out")" = 2 ] || fail "pay: two payments expected: $(cat "$TOP/pay.out")"
PAYMENT_A=$(awk -v npi="$SETTLE_PROVIDER_A" '$1 == "payment" && $2 == npi {print $3}' "$TOP/pay.out")
[ -n "$PAYMENT_A" ] && [ "$PAYMENT_A" != "-" ] || fail "no payment for provider A"
[ -s "$TOP/remits/$PAYMENT_A.835" ] && grep -q "ST\*835" "$TOP/remits/$PAYMENT_A.835" ||
    fail "pay did not write $PAYMENT_A.835"

# remit, both formats
# With the payer's PHI secret, the same 835 pay wrote (patients' member ids
# put back, where the ledger has member keys).
run remit "$SETTLE" remit --payment "$PAYMENT_A" --format x12 --payer ACMEHP \
    --phi "$SETTLE_PAYER_PHI" || fail "remit: $(cat "$TOP/remit.err")"
cmp -s "$TOP/remit.out" "$TOP/remits/$PAYMENT_A.835" || fail "remit x12 differs from pay's 835"
grep -q "NM1\*QC\*1\*[^~]*\*MI\*ACM1" "$TOP/remit.out" || fail "remit: no member id put back"
run remitfhir "$SETTLE" remit --payment "$PAYMENT_A" --format fhir ||
    fail "remit fhir: $(cat "$TOP/remitfhir.err")"
grep -q '"resourceType"' "$TOP/remitfhir.out" || fail "remit fhir: not FHIR"

# watch: each provider received its own confirmation, verified, and nothing else
for i in 0 1; do
    wait "${WATCHERS[$i]}" || fail "watcher $i exited $?: $(cat "$TOP"/watch-*.err)"
done
WATCHERS=()
for npi in "$SETTLE_PROVIDER_A" "$SETTLE_PROVIDER_B"; do
    out="$TOP/watch-$npi.out"
    [ "$(wc -l <"$out")" = 1 ] || fail "watch $npi: one confirmation expected: $(cat "$out")"
    awk -v npi="$npi" '$1 != "payment" || $3 != npi || $NF != "verified" {bad = 1} END {exit bad}' \
        "$out" || fail "watch $npi received another's or an unverified confirmation: $(cat "$out")"
done
grep -q " $PAYMENT_A " "$TOP/watch-$SETTLE_PROVIDER_A.out" ||
    fail "provider A's confirmation is not payment $PAYMENT_A"

# status after the cycle, stats
run paid "$SETTLE" status RA-1 || fail "status after pay"
grep -qx "settlement paid" "$TOP/paid.out" && grep -qx "payment $PAYMENT_A" "$TOP/paid.out" ||
    fail "RA-1 not paid by $PAYMENT_A: $(cat "$TOP/paid.out")"
run stats "$SETTLE" stats || fail "stats: $(cat "$TOP/stats.err")"
[ -s "$TOP/stats.out" ] || fail "stats printed nothing"
run prom "$SETTLE" stats --prometheus || fail "stats --prometheus: $(cat "$TOP/prom.err")"
grep -q "^# TYPE " "$TOP/prom.out" || fail "stats --prometheus: no # TYPE lines"

run down "$SETTLE" cluster down --dir "$C" || fail "cluster down: $(cat "$TOP/down.err")"
[ "$(grep -c ": stopped" "$TOP/down.out")" = 3 ] || fail "cluster down: $(cat "$TOP/down.out")"
ls "$C"/node-*.pid >/dev/null 2>&1 && fail "pid files left after down"
echo "ok: cluster up, submit (also through a follower), status, pay, remit, watch (own confirmations only, verified)," \
    "stats, cluster down"
