#!/bin/bash
# test_curve.sh - CurveZMQ on a node with `transport: curve` (issue 7,
# "Transport"): the registered payer's submit is answered over Curve; a
# client whose key is registered by no one is refused by the ZAP handler
# (no answer) while the node keeps serving the registered client; a
# plain-TCP client gets nothing; a key revoked on the ledger is refused
# from its next connection on, and what it had subscribed to ends with the
# revocation; a node told `transport: curve` without a
# key refuses to start.  Each request reaches the loop with the
# participant id ZAP found for its key (the node's debug log says so), and
# a query is answered as that participant's role may read: a provider
# does not see another provider's claim.  Events, too, go only where the
# subscriber's role may read them: prov-b subscribing to prov-a's payment
# topic, or prov-a to `payment.` or `claim.` alone, receives nothing while
# prov-a receives its own confirmation and claim answer, the payer its
# claim answers, and the auditor everything.
#
# usage: test_curve.sh BUILD_ENGINE_DIR SOURCE_DIR
# Bounded (every wait has a deadline); every child is killed on exit.
set -u
BIN=$(cd "$1" && pwd)
SRC=$(cd "$2" && pwd)
NODES=1
EVENTS=1
. "$SRC/tests/e2e/cluster_lib.sh"

for who in node-1 prov-a prov-b auditor; do
    cp "$SRC/fixtures/genesis/keys/$who.key" "$DIR/$who.key" && chmod 600 "$DIR/$who.key"
done
NODE_KEY=$(cat "$SRC/fixtures/genesis/keys/node-1.key.pub")
"$SETTLE" keygen --out "$DIR/stranger.key" >/dev/null 2>&1 || fail "keygen"
CLUSTER_EXTRA="transport: curve
log_level: debug
participant: node-1
key: $DIR/node-1.key"
CLIENT_ARGS=(--node-key "$NODE_KEY" --key "$KEY")

# head_with NAME ARGS...: `settle head` on node 1 with ARGS, briefly; its
# exit code, output in $DIR/NAME.out and .err.
head_with() {
    local name=$1
    shift
    timeout 20 "$SETTLE" head --node "$(intake_of 1)" --timeout-ms 500 --tries 2 "$@" \
        >"$DIR/$name.out" 2>"$DIR/$name.err"
}

start_cluster
grep -q "transport=curve" "$DIR/log1" || fail "the node does not say it runs curve"
grep -q "plain TCP" "$DIR/log1" && fail "a curve node warns of plain TCP"

# The registered payer, over Curve: a submit applied.
submit 1 fund 100000
grep -q "accepted" "$DIR/client.log" || fail "the payer's fund was not accepted: $(cat "$DIR/client.log")"
# The intake knew who sent it: the ZAP handler's participant id.
grep -q "event=request verb=submit sender=ACMEHP" "$DIR/log1" ||
    fail "the submit did not arrive as ACMEHP's: $(grep event=request "$DIR/log1" | tail -3)"

# An unregistered key: refused by ZAP, so no answer at all.
head_with stranger --node-key "$NODE_KEY" --key "$DIR/stranger.key"
rc=$?
[ $rc = 3 ] || fail "a stranger's key got exit $rc, not 3 (no answer): $(cat "$DIR/stranger.out")"
[ -s "$DIR/stranger.out" ] && fail "a stranger's key got an answer: $(cat "$DIR/stranger.out")"
grep -q "event=zap refused curve key" "$DIR/log1" || fail "the node did not log the refusal"

# Plain TCP to a curve node: nothing.
head_with plain
rc=$?
[ $rc = 3 ] || fail "a plain client got exit $rc, not 3: $(cat "$DIR/plain.out")"
[ -s "$DIR/plain.out" ] && fail "a plain client got an answer: $(cat "$DIR/plain.out")"

# The node still serves the registered clients: the payer, and prov-a.
head_with payer "${CLIENT_ARGS[@]}" || fail "the payer is no longer served: $(cat "$DIR/payer.err")"
grep -q "^index " "$DIR/payer.out" || fail "the payer's head: $(cat "$DIR/payer.out")"
head_with prova --node-key "$NODE_KEY" --key "$DIR/prov-a.key" ||
    fail "prov-a (registered) is not served: $(cat "$DIR/prova.err")"
submit 2 fund 100000

# Queries answer what the asker's role may read: prov-a's claim to the
# payer and to prov-a, not to prov-b (answered as absent).
submit 3 deploy "$SRC/contracts/plans/ppo.yaml"
submit 4 enroll "$SRC/fixtures/enrollment.yaml"

# watch_as NAME KEYFILE ARGS...: `settle watch` on node 1 in the background
# as KEYFILE's participant; output in $DIR/watch-NAME.out and .err.
WATCHERS=()
WATCHES=0
watch_as() {
    local name=$1 key=$2
    shift 2
    timeout 40 "$SETTLE" watch --node "$(intake_of 1)" --node-key "$NODE_KEY" --key "$DIR/$key" \
        --timeout-ms 1000 --tries 5 "$@" >"$DIR/watch-$name.out" 2>"$DIR/watch-$name.err" &
    WATCHERS+=($!)
    WATCHES=$((WATCHES + 1))
}
PROV_A=1234567893
watch_as a-own prov-a.key --provider $PROV_A --count 1 --timeout 30
watch_as a-claims prov-a.key --topic claim.ACMEHP.$PROV_A --timeout 12
watch_as a-payments prov-a.key --topic payment. --timeout 12
watch_as a-claim prov-a.key --topic claim. --timeout 12
watch_as b-payments-of-a prov-b.key --topic payment.$PROV_A --timeout 12
watch_as b-claims-of-a prov-b.key --topic claim.ACMEHP.$PROV_A --timeout 12
watch_as payer-claims acmehp.key --topic claim.ACMEHP. --timeout 12
watch_as payer-payments acmehp.key --topic payment. --timeout 12
watch_as auditor auditor.key --topic "" --timeout 12
# Every subscription has reached the node (it logs each, applied or not).
deadline=$((SECONDS + 20))
until [ "$(grep -c "event=subscribe" "$DIR/log1")" -ge $WATCHES ]; do
    [ $SECONDS -lt $deadline ] || fail "the watchers did not subscribe: $(grep event=subscribe "$DIR/log1")"
    sleep 0.1
done
for refused in "payment.\" from=prov-a" "claim.\" from=prov-a" "payment.$PROV_A\" from=prov-b" \
    "claim.ACMEHP.$PROV_A\" from=prov-b" "payment.\" from=ACMEHP"; do
    grep -q "event=subscribe prefix=\"$refused refused" "$DIR/log1" ||
        fail "not refused: $refused: $(grep event=subscribe "$DIR/log1")"
done
grep -q "event=subscribe prefix=\"\" from=auditor applied" "$DIR/log1" ||
    fail "the auditor's subscription to everything was not applied"

submit 5 "$SRC/fixtures/claims/office-visit.json"
submit 6 pay
for pid in "${WATCHERS[@]}"; do
    wait "$pid" || fail "a watcher exited $?: $(tail -n 2 "$DIR"/watch-*.err)"
done
grep -q "^payment .* $PROV_A .* verified$" "$DIR/watch-a-own.out" ||
    fail "prov-a did not receive its confirmation: $(cat "$DIR/watch-a-own.out" "$DIR/watch-a-own.err")"
grep -q "^claim.ACMEHP.$PROV_A claim OV-2026-0001 " "$DIR/watch-a-claims.out" ||
    fail "prov-a did not receive its claim answer: $(cat "$DIR/watch-a-claims.out")"
grep -q "^claim.ACMEHP.$PROV_A claim OV-2026-0001 " "$DIR/watch-payer-claims.out" ||
    fail "the payer did not receive its claim answer: $(cat "$DIR/watch-payer-claims.out")"
for nothing in a-payments a-claim b-payments-of-a b-claims-of-a payer-payments; do
    [ -s "$DIR/watch-$nothing.out" ] &&
        fail "watch $nothing received what its role may not read: $(cat "$DIR/watch-$nothing.out")"
done
for topic in "claim.ACMEHP.$PROV_A claim OV-2026-0001" "payment.$PROV_A payment " "chain index "; do
    grep -q "^$topic" "$DIR/watch-auditor.out" ||
        fail "the auditor did not receive $topic: $(cat "$DIR/watch-auditor.out")"
done
metric=$("$SETTLE" stats --node "$(intake_of 1)" "${CLIENT_ARGS[@]}" 2>&1)
echo "$metric" | grep -q "^subscriptions_refused 5$" ||
    fail "refused subscriptions not counted: $(echo "$metric" | grep subscriptions)"
status_as() {
    timeout 20 "$SETTLE" status OV-2026-0001 --node "$(intake_of 1)" --node-key "$NODE_KEY" \
        --key "$DIR/$1" --timeout-ms 1000 --tries 5 >"$DIR/status-$1.out" 2>&1
}
status_as acmehp.key || fail "the payer cannot read its claim: $(cat "$DIR/status-acmehp.key.out")"
status_as prov-a.key || fail "prov-a cannot read its claim: $(cat "$DIR/status-prov-a.key.out")"
grep -qx "provider 1234567893" "$DIR/status-prov-a.key.out" || fail "prov-a's status: not its claim"
status_as prov-b.key
rc=$?
[ $rc = 1 ] && grep -q "no claim OV-2026-0001" "$DIR/status-prov-b.key.out" ||
    fail "prov-b read prov-a's claim (rc $rc): $(cat "$DIR/status-prov-b.key.out")"

# A revoked key: let in no more, from its next connection on; and what it
# subscribed to before ends with the revocation (the node drops every
# events connection; the others reconnect through ZAP and subscribe again).
applied() { grep -c "event=subscribe prefix=\"claim.ACMEHP.\" from=auditor applied" "$DIR/log1"; }
timeout 40 "$SETTLE" watch --node "$(intake_of 1)" --node-key "$NODE_KEY" --key "$DIR/prov-a.key" \
    --timeout-ms 1000 --tries 5 --topic claim.ACMEHP.$PROV_A --timeout 15 \
    >"$DIR/watch-revoked.out" 2>"$DIR/watch-revoked.err" &
revoked_watch=$!
timeout 40 "$SETTLE" watch --node "$(intake_of 1)" --node-key "$NODE_KEY" \
    --key "$DIR/auditor.key" --timeout-ms 1000 --tries 5 --topic claim.ACMEHP. --timeout 15 \
    >"$DIR/watch-kept.out" 2>"$DIR/watch-kept.err" &
kept_watch=$!
deadline=$((SECONDS + 20))
until [ "$(applied)" -ge 1 ] &&
    grep -q "event=subscribe prefix=\"claim.ACMEHP.$PROV_A\" from=prov-a applied" "$DIR/log1" &&
    [ "$(grep -c "prefix=\"claim.ACMEHP.$PROV_A\" from=prov-a applied" "$DIR/log1")" -ge 2 ]; do
    [ $SECONDS -lt $deadline ] || fail "the last watchers did not subscribe"
    sleep 0.1
done
out=$("$SETTLE" submit --node "$ALL" --node-key "$NODE_KEY" --key "$DIR/node-1.key" --as node-1 \
    --timeout-ms 1000 --tries 20 revoke prov-a 2>&1) || fail "node-1 revoking prov-a: $out"
deadline=$((SECONDS + 20))
until [ "$(applied)" -ge 2 ]; do # the auditor is back, through ZAP
    [ $SECONDS -lt $deadline ] || fail "the auditor did not subscribe again: $(grep event= "$DIR/log1" | tail -n 5)"
    sleep 0.1
done
grep -q "a participant was revoked: every subscriber reconnects through ZAP" "$DIR/log1" ||
    fail "the node did not drop its events connections on the revocation"
sed 's/OV-2026-0001/OV-2026-0009/' "$SRC/fixtures/claims/office-visit.json" >"$DIR/after.json"
submit 7 "$DIR/after.json"
wait "$kept_watch"
wait "$revoked_watch"
grep -q "^claim.ACMEHP.$PROV_A claim OV-2026-0009 " "$DIR/watch-kept.out" ||
    fail "the auditor lost its subscription: $(cat "$DIR/watch-kept.out" "$DIR/watch-kept.err")"
[ -s "$DIR/watch-revoked.out" ] &&
    fail "a revoked provider still received events: $(cat "$DIR/watch-revoked.out")"
head_with revoked --node-key "$NODE_KEY" --key "$DIR/prov-a.key"
rc=$?
[ $rc = 3 ] || fail "a revoked key got exit $rc, not 3: $(cat "$DIR/revoked.out")"
grep -q "revoked" "$DIR/log1" || fail "the node did not log the revoked key's refusal"
head_with after "${CLIENT_ARGS[@]}" || fail "the payer is no longer served after a revocation"
stop_cluster

# transport: curve without a key: a configuration error, no start.
sed -e '/^key: /d' "$DIR/node1.yaml" >"$DIR/nokey.yaml"
timeout 10 "$SETTLED" --config "$DIR/nokey.yaml" >"$DIR/nokey.out" 2>&1
rc=$?
[ $rc != 0 ] && [ $rc != 124 ] || fail "a curve node without a key started (rc $rc)"
grep -q "transport: curve (the default) needs the node's key" "$DIR/nokey.out" ||
    fail "no reason given for the missing key: $(cat "$DIR/nokey.out")"
echo "ok: curve: the registered are heard, strangers, plain clients and revoked keys are not;" \
    "events go only where the subscriber's role may read them"
