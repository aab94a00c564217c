#!/bin/sh
# The client commands' command lines, offline: help, usage errors (exit 2)
# and a node that does not answer (exit 3, bounded), each with its message.
# (Against real nodes: tests/e2e/test_cli_round.sh and test_cli_intake.sh.)
#   test_client.sh SETTLE_BINARY
set -u
settle=$1
. "$(dirname "$0")/lib.sh"
unset SETTLE_NODE
# A port nothing listens on: bound by nobody, asked once, briefly.
nowhere="--node tcp://127.0.0.1:9 --tries 1 --timeout-ms 100"

for command in status pay remit watch stats intake submit head; do
    expect 0 "$command --help" -- "$settle" $command --help
    grep -q "settle $command " "$tmp/out" || fail "$command --help: no usage line"
done
expect 0 "cluster --help" -- "$settle" cluster --help
contains "$tmp/out" "       settle cluster down --dir DIR"
expect 2 "cluster without up or down" -- "$settle" cluster
expect 2 "cluster sideways" -- "$settle" cluster sideways --dir x
expect 2 "cluster up without --dir" -- "$settle" cluster up
expect 2 "cluster up with 9 nodes" -- "$settle" cluster up --dir "$tmp/c" --nodes 9
expect 1 "cluster down where there is none" -- "$settle" cluster down --dir "$tmp"
contains "$tmp/err" "settle cluster down: $tmp: no node-K.pid files (no cluster here?)"

expect 2 "status without a node" -- "$settle" status X
contains "$tmp/err" "settle status: no node given: --node ENDPOINT or SETTLE_NODE"
expect 2 "status without a claim" -- "$settle" status $nowhere
expect 2 "remit without --payment" -- "$settle" remit $nowhere
expect 2 "remit in a bad format" -- "$settle" remit --payment P --format pdf $nowhere
expect 2 "pay without a key" -- "$settle" pay --payer ACMEHP $nowhere
expect 2 "pay into a missing folder" -- "$settle" pay --payer ACMEHP --key k --out "$tmp/none" $nowhere
contains "$tmp/err" "settle pay: --out $tmp/none: not a folder"
expect 2 "watch with a bad NPI" -- "$settle" watch --provider 12345 $nowhere
contains "$tmp/err" "settle watch: --provider takes a ten-digit NPI"
expect 2 "intake without --watch" -- "$settle" intake --key k $nowhere
expect 2 "submit with a bad sequence" -- "$settle" submit --key k --sequence -1 $nowhere fund 1
contains "$tmp/err" 'settle: --sequence takes a number from 0, not "-1"'
expect 2 "submit with nothing to submit" -- "$settle" submit --key k --as ACMEHP $nowhere
expect 3 "head from SETTLE_NODE, no answer" -- env SETTLE_NODE=tcp://127.0.0.1:9 "$settle" head --tries 1 --timeout-ms 100
contains "$tmp/err" "settle: head: no answer from tcp://127.0.0.1:9 after 1 tries of 100 ms"
expect 3 "status, no answer" -- "$settle" status X $nowhere
expect 3 "stats, no answer" -- "$settle" stats $nowhere
expect 3 "submit, no answer for the sequence" -- "$settle" submit --key k --as ACMEHP $nowhere fund 1
contains "$tmp/err" "settle: participant: no answer from tcp://127.0.0.1:9 after 1 tries of 100 ms"
# intake with no node: the file stays where it is, for the next pass.
mkdir "$tmp/inbox"
cp fixtures/claims/office-visit.json "$tmp/inbox/"
cp fixtures/genesis/keys/acmehp.key "$tmp/ACMEHP.key"
chmod 600 "$tmp/ACMEHP.key"
expect 2 "intake without a PHI secret" -- "$settle" intake --watch "$tmp/inbox" --key "$tmp/ACMEHP.key" --once --stable-ms 0 $nowhere
contains "$tmp/err" "settle intake: no PHI secret: --phi FILE, or KEY.phi beside the key (settle keygen --phi FILE makes one)"
cp fixtures/genesis/keys/acmehp.phi "$tmp/ACMEHP.phi"
chmod 600 "$tmp/ACMEHP.phi"
expect 3 "intake, no answer" -- "$settle" intake --watch "$tmp/inbox" --key "$tmp/ACMEHP.key" --once --stable-ms 0 $nowhere
[ -f "$tmp/inbox/office-visit.json" ] || fail "intake moved a file it could not submit"
[ -z "$(ls -A "$tmp/inbox/.intake")$(ls -A "$tmp/inbox/failed")" ] || fail "intake left a journal or a failed file"
finish test_client
