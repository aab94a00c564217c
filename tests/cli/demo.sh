#!/bin/sh
# make demo: the whole story, on a three-node cluster on loopback, in
# well under a minute.
#
# 1. Starts the cluster; its genesis registers a payer, two providers and
#    an auditor.
# 2. The payer deploys its reference plans, enrolls its members and funds
#    its account.
# 3. The payer submits an X12 837P of sample claims; each claim's decision.
# 4. A provider watches for its payments while the payer runs a payment
#    cycle: the provider's signed confirmation, the start of its 835, and
#    the patient's identifiers opened with its own key.
# 5. The leader is killed; claims keep coming (the client follows the new
#    leader); the killed node restarts, catches up, and all three nodes
#    agree on the same head hash.
# 6. The cluster stops.
#
# usage: demo.sh [BUILD_DIR]   (default build; relative to the repository)
# Every wait is bounded; the cluster is stopped on exit, failure included,
# and any failed step makes the exit status non-zero.  KEEP=1 keeps the
# temporary folder (the nodes' logs) for a look afterwards.
set -u
build=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
case "$build" in
/*) bin="$build/engine" ;;
*) bin="$top/$build/engine" ;;
esac
settle=$bin/settle
settled=$bin/settled
cd "$top" || exit 1
if [ ! -x "$settle" ] || [ ! -x "$settled" ]; then
    echo "demo: $settle or $settled is missing; run make build" >&2
    exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/settle-demo.XXXXXX") || exit 1
C=$work/cluster
watcher=
started=$(date +%s)

cleanup() {
    status=$?
    [ -n "$watcher" ] && kill "$watcher" 2>/dev/null
    if [ -d "$C" ] && ls "$C"/node-*.pid >/dev/null 2>&1; then
        timeout 20 "$settle" cluster down --dir "$C" >/dev/null 2>&1 ||
            echo "demo: settle cluster down --dir $C failed" >&2
    fi
    if [ -n "${KEEP:-}" ]; then echo "demo: kept $work" >&2; else rm -rf "$work"; fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

fail() {
    echo >&2
    echo "demo: FAILED: $*" >&2
    for log in "$C"/node-*.log; do
        [ -f "$log" ] || continue
        echo "--- $log (last lines)" >&2
        tail -n 5 "$log" >&2
    done
    exit 1
}

# run NAME COMMAND...: runs it, bounded, with its output in $work/NAME.out
# and $work/NAME.err; fails the demo when it fails.
run() {
    name=$1
    shift
    timeout 60 "$@" >"$work/$name.out" 2>"$work/$name.err" ||
        fail "$* (exit $?): $(cat "$work/$name.err" "$work/$name.out")"
}

section() {
    printf '\n== %s ==\n' "$1"
    shift
    printf '   %s\n' "$@"
    printf '\n'
}

# dollars: reads lines, rewrites the amounts in cents (billed=26500,
# adj=CO-45:5500,PR-1:800) as dollars (billed=$265.00, adj=CO-45:$55.00,...).
dollars() {
    awk 'function d(c,  sign) {
            sign = c < 0 ? "-" : ""; if (c < 0) c = -c
            return sprintf("%s$%d.%02d", sign, int(c / 100), c % 100)
        }
        {
            for (i = 1; i <= NF; i++) {
                if (split($i, kv, "=") != 2) continue
                if (kv[1] ~ /^(billed|allowed|paid|patient|net|total)$/ && kv[2] ~ /^-?[0-9]+$/)
                    $i = kv[1] "=" d(kv[2] + 0)
                else if (kv[1] == "adj" && kv[2] != "-") {
                    n = split(kv[2], parts, ","); out = ""
                    for (j = 1; j <= n; j++) {
                        k = split(parts[j], gc, ":")
                        out = out (j > 1 ? "," : "") (k == 2 ? gc[1] ":" d(gc[2] + 0) : parts[j])
                    }
                    $i = "adj=" out
                }
            }
            print
        }'
}

# head_of ENDPOINT: "INDEX HASH" of that node's head, nothing when it does
# not answer within half a second.
head_of() {
    timeout 5 "$settle" head --node "$1" --tries 1 --timeout-ms 500 2>/dev/null |
        awk '$1 == "index" {i = $2} $1 == "hash" {h = $2} END {if (i != "") print i, h}'
}

# claim_answers FILE: a submit's answer, one claim a line, with its index.
claim_answers() {
    awk '$1 == "index" {index_n = $2} $1 == "claim" {print $0, "index=" index_n}' "$1" |
        sed 's/ duplicate=0//' | dollars | sed 's/^/   /'
}

# ------------------------------------------------------------------------
section "1. A three-node cluster on loopback" \
    "Three settled daemons elect a leader; the first applies the genesis, which registers who may do what." \
    "Clients reach the nodes over CurveZMQ: a node lets in only keys the ledger has registered."
run up "$settle" cluster up --nodes 3 --dir "$C"
# shellcheck disable=SC1091
. "$C/cluster.env"
grep '^  node-' "$work/up.out" | sed 's/^  /   /'
echo
echo "   the participants the genesis registered (genesis.yaml):"
sed -n 's/^  - {id: \([^,]*\), role: \([^,]*\),.*name: \([^,}]*\)\(, npi: "\([0-9]*\)"\)\{0,1\}}$/\1|\2|\5|\3/p' \
    "$C/genesis.yaml" | awk -F'|' '$2 != "node" {
        printf "   %-8s %-9s %-15s %s\n", $1, $2, ($3 == "" ? "" : "NPI " $3), $4
    }'
grep -q "id: ACMEHP, role: payer" "$C/genesis.yaml" || fail "the genesis has no payer ACMEHP"

# ------------------------------------------------------------------------
section "2. The payer ACMEHP sets up" \
    "It deploys its plan contracts, enrolls its members and funds its account, each a signed command."
KEY=$SETTLE_PAYER_KEY
deployed=0
for plan in contracts/plans/*.yaml; do
    payer=$(sed -n 's/^payer: *//p' "$plan")
    [ "$payer" = "$SETTLE_PAYER" ] || continue
    contract=$(sed -n 's/^contract: *//p' "$plan")
    run deploy "$settle" submit --key "$KEY" deploy "$plan"
    printf '   deploy  %-34s %-15s %s\n' "$plan" "$contract" \
        "$(awk '$1 == "index" {i = $2} $1 == "command" {s = $4} END {print s, "at index", i}' "$work/deploy.out")"
    deployed=$((deployed + 1))
done
[ "$deployed" -gt 0 ] || fail "no plan in contracts/plans/ belongs to $SETTLE_PAYER"
run enroll "$settle" submit --key "$KEY" enroll fixtures/enrollment.yaml
printf '   enroll  %-34s %-15s %s\n' fixtures/enrollment.yaml \
    "$(grep -c '^  - {id:' fixtures/enrollment.yaml) members" \
    "$(awk '$1 == "index" {i = $2} $1 == "command" {s = $4} END {print s, "at index", i}' "$work/enroll.out")"
run fund "$settle" submit --key "$KEY" fund 100000000
# shellcheck disable=SC2016 # a dollar sign, not an expansion
printf '   fund    %-34s %-15s %s\n' '$1,000,000.00' "" \
    "$(awk '$1 == "index" {i = $2} $1 == "command" {s = $4} END {print s, "at index", i}' "$work/fund.out")"

# ------------------------------------------------------------------------
section "3. The payer submits claims as an X12 837P" \
    "Two sample claims (fixtures/claims) written as an 837P, signed as one batch; the ledger answers with each decision." \
    "Before signing, the client seals what names the patient with the payer's PHI secret: the ledger sees member keys."
run convert "$settle" convert --to x12 --sender ACMEHP --receiver SETTLE \
    fixtures/claims/office-visit.json fixtures/claims/physical-therapy.json
cp "$work/convert.out" "$work/claims.837"
tr -d '\r\n' <"$work/claims.837" | tr '~' '\n' |
    awk '/^NM1\*PR\*/ && !seen[$0]++ {print} /^CLM\*/ {print}' | sed 's/^/   837: /'
echo
run claims "$settle" submit --key "$KEY" "$work/claims.837"
claim_answers "$work/claims.out"
[ "$(grep -c '^claim ' "$work/claims.out")" = 2 ] || fail "two claim answers expected: $(cat "$work/claims.out")"
echo
echo "   line by line, OV-2026-0001 (settle status):"
run status "$settle" status OV-2026-0001 --payer ACMEHP
grep '^line ' "$work/status.out" | dollars | sed 's/^/   /'
echo
echo "   who the patient is: the ledger holds a member key and a sealed envelope; the"
echo "   payer's PHI secret ($(basename "$SETTLE_PAYER_PHI"), beside its key) opens it:"
member=$(awk '$1 == "member" {print $2}' "$work/status.out")
case "$member" in mk*) ;; *) fail "the ledger knows OV-2026-0001's patient as \"$member\"" ;; esac
echo "   on the ledger: member $member"
grep '^patient_' "$work/status.out" | sed 's/^/   opened:       /'
grep -q '^patient_member_id ACM100234501$' "$work/status.out" ||
    fail "the payer's secret did not open OV-2026-0001's envelope"

# ------------------------------------------------------------------------
section "4. A payment cycle, and the provider's signed confirmation" \
    "Provider 1234567893 subscribes to its own payments; the payer pays what is payable, with an 835 per provider."
# Over CurveZMQ the node lets a provider's key read only its own topics.
timeout 45 "$settle" watch --provider "$SETTLE_PROVIDER_A" --key "$SETTLE_PROVIDER_A_KEY" \
    --count 1 --timeout 30 \
    >"$work/watch.out" 2>"$work/watch.err" &
watcher=$!
deadline=$(($(date +%s) + 10))
until grep -q "watching" "$work/watch.err" 2>/dev/null; do
    [ "$(date +%s)" -lt "$deadline" ] || fail "the watcher did not subscribe: $(cat "$work/watch.err")"
    sleep 0.1
done
sleep 0.5 # a subscription reaches the publisher a moment after connecting
mkdir "$work/remits"
run pay "$settle" pay --payer ACMEHP --key "$KEY" --out "$work/remits"
grep '^payment ' "$work/pay.out" | dollars | sed 's/^/   pay:   /'
payment=$(awk -v npi="$SETTLE_PROVIDER_A" '$1 == "payment" && $2 == npi {print $3}' "$work/pay.out")
case "$payment" in "" | -) fail "no payment for provider $SETTLE_PROVIDER_A" ;; esac
wait "$watcher" || fail "the watcher exited $?: $(cat "$work/watch.err")"
watcher=
echo
dollars <"$work/watch.out" | sed 's/^/   watch: /'
grep -q "^payment $payment $SETTLE_PROVIDER_A .* verified$" "$work/watch.out" ||
    fail "provider $SETTLE_PROVIDER_A did not receive a verified confirmation of $payment"
echo
echo "   the start of its 835 ($payment.835), one segment a line:"
[ -s "$work/remits/$payment.835" ] || fail "pay wrote no $payment.835"
tr -d '\r\n' <"$work/remits/$payment.835" | tr '~' '\n' | head -n 15 | sed 's/^/   /'
echo
echo "   the provider opens its own copy of OV-2026-0001's sealed identifiers with its key:"
run provstatus "$settle" status OV-2026-0001 --payer ACMEHP --key "$SETTLE_PROVIDER_A_KEY"
grep '^patient_' "$work/provstatus.out" | sed 's/^/   /'
grep -q '^patient_member_id ACM100234501$' "$work/provstatus.out" ||
    fail "provider $SETTLE_PROVIDER_A could not open its copy: $(cat "$work/provstatus.out")"

# ------------------------------------------------------------------------
section "5. The leader dies; the cluster goes on" \
    "SIGKILL the leader, keep submitting (the client finds the new leader), restart the node and watch it catch up."
# Each submit is a new client: it asks the nodes in SETTLE_NODE who leads
# (half a second for the dead one) and the leader for the payer's next
# sequence number.  The first waits for the survivors to elect a leader.
run head "$settle" head
leader=$(awk '$1 == "leader" {print $2}' "$work/head.out")
case "$leader" in [1-3]) ;; *) fail "no leader: $(cat "$work/head.out")" ;; esac
kill -KILL "$(cat "$C/node-$leader.pid")" || fail "could not kill node-$leader"
echo "   killed node-$leader (the leader, pid $(cat "$C/node-$leader.pid")) with SIGKILL"
echo "   three more claims, each its own submit; the first waits while the two survivors"
echo "   elect a new leader, and the client finds it:"
n=0
for source in office-visit:OV-2026-0001:OV-2026-0002 physical-therapy:PT-88120:PT-88121 \
    office-visit:OV-2026-0001:OV-2026-0003; do
    file=${source%%:*}
    ids=${source#*:}
    n=$((n + 1))
    sed "s/\"${ids%:*}\"/\"${ids#*:}\"/" "fixtures/claims/$file.json" >"$work/more-$n.json"
    t0=$(date +%s)
    run more "$settle" submit --key "$KEY" "$work/more-$n.json"
    claim_answers "$work/more.out" | sed "s/\$/ ($(($(date +%s) - t0)) s)/"
done
run head2 "$settle" head
echo "   the new leader: node-$(awk '$1 == "leader" {print $2}' "$work/head2.out")"
echo
(exec "$settled" --config "$C/node-$leader.yaml" </dev/null >>"$C/node-$leader.log" 2>&1) &
echo $! >"$C/node-$leader.pid"
echo "   restarted node-$leader (pid $(cat "$C/node-$leader.pid")); waiting for the three heads to agree"
restarted=$(date +%s)
deadline=$((restarted + 30))
while :; do
    h1=$(head_of "$SETTLE_NODE_1")
    h2=$(head_of "$SETTLE_NODE_2")
    h3=$(head_of "$SETTLE_NODE_3")
    [ -n "$h1" ] && [ "$h1" = "$h2" ] && [ "$h2" = "$h3" ] && break
    [ "$(date +%s)" -lt "$deadline" ] ||
        fail "the heads did not agree in 30 s: node-1 ${h1:-?} / node-2 ${h2:-?} / node-3 ${h3:-?}"
    sleep 0.2
done
echo
printf '   %-7s %-6s %s\n' node index hash
# shellcheck disable=SC2086 # each head is "INDEX HASH": two columns
printf '   %-7s %-6s %s\n' node-1 $h1 node-2 $h2 node-3 $h3
echo "   (node-$leader caught up in $(($(date +%s) - restarted)) s)"
echo
echo "all three nodes agree on head $h1"

# ------------------------------------------------------------------------
section "6. The cluster stops" "settle cluster down: SIGTERM to each node, a clean stop."
run down "$settle" cluster down --dir "$C"
grep ': stopped' "$work/down.out" | sed 's/^/   /'
[ "$(grep -c ': stopped' "$work/down.out")" = 3 ] || fail "cluster down: $(cat "$work/down.out")"
echo
echo "demo: done in $(($(date +%s) - started)) s"
