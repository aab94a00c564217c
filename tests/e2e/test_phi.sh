#!/bin/bash
# test_phi.sh - issue 7's patient data on a real ledger: a three-node
# cluster takes the payer's enrollment and claims (canonical JSON, and an
# X12 837 carrying patients' names, addresses and birth dates) through
# `settle submit`, which protects them with the payer's PHI secret; a
# payment cycle runs (`settle pay`, whose 835s get the patients' names and
# member ids back from the envelopes); the nodes stop.  Then
#   - every file the nodes wrote (ledger.sqlite with its WAL, libraft's log
#     and snapshots) is searched for every direct identifier in those
#     fixtures - member ids, family ids, birth dates (ISO and X12's
#     CCYYMMDD), names, street addresses - and none is found, while the
#     claim ids and member keys (the positive control: the search does
#     find what is there) are;
#   - `settle status` with the payer's secret shows the identifiers again,
#     and with another secret refuses (exit 1) and shows none of them; the
#     billing provider's own key opens its copy (status and its 835),
#     another provider's key opens nothing;
#   - a client without a secret refuses to send identifiers in the clear
#     (exit 1), and nothing reaches the ledger.
#
# usage: test_phi.sh BUILD_ENGINE_DIR SOURCE_DIR
set -u
BIN=$(cd "$1" && pwd)
SRC=$(cd "$2" && pwd)
NODES=3
CLUSTER_EXTRA="payer_tax_id: 591234567" # the 835's TRN03
. "$SRC/tests/e2e/cluster_lib.sh"

NAMED=$SRC/fixtures/claims/patients-named.json
ENROLLMENT=$SRC/fixtures/enrollment.yaml

start_cluster
submit 0 deploy "$SRC/contracts/plans/ppo.yaml"
submit 1 enroll "$ENROLLMENT"
submit 2 fund 100000000
submit 3 "$SRC/fixtures/claims/office-visit.json" "$SRC/fixtures/claims/emergency-visit.json"
"$SETTLE" convert --to x12 --sender ACMEHP --receiver SETTLE "$NAMED" >"$DIR/named.837" \
    2>"$DIR/convert.err" || fail "convert: $(cat "$DIR/convert.err")"
grep -q "NM1\*IL\*1\*" "$DIR/named.837" || fail "the 837 carries no subscriber name"
submit 4 "$DIR/named.837"
mkdir "$DIR/remits"
"$SETTLE" pay --payer ACMEHP --key "$KEY" --sequence 5 --out "$DIR/remits" --node "$ALL" \
    >"$DIR/pay.out" 2>"$DIR/pay.err" || fail "pay: $(cat "$DIR/pay.err")"
# The node's 835 knows the patient by member key; the payer's client puts
# the names and member id back.
grep -q "NM1\*QC\*1\*ALVAREZ\*MATEO\*JULIAN\*\*\*MI\*ACM100234503~" "$DIR"/remits/*.835 ||
    fail "no patient in the 835: $(cat "$DIR"/remits/*.835)"
grep -q "NM1\*QC\*1\*\*\*\*\*\*MI\*ACM100234501~" "$DIR"/remits/*.835 ||
    fail "no member id in the 835 of a claim without names"
grep -q "MI\*mk" "$DIR"/remits/*.835 && fail "a member key left in the payer's 835"

# Without a secret the client refuses identifiers in the clear, and sends
# nothing: the head does not move.  (Every node at one head first: a
# follower may still be applying the payment when it is asked.)
one_head
before=$HEAD
mkdir "$DIR/nosecret"
cp "$KEY" "$DIR/nosecret/acmehp.key"
out=$("$SETTLE" submit --node "$ALL" --key "$DIR/nosecret/acmehp.key" --payer ACMEHP \
    --sequence 6 --tries 3 "$SRC/fixtures/claims/physical-therapy.json" 2>&1)
rc=$?
[ $rc = 1 ] || fail "a submit without a PHI secret exited $rc: $out"
echo "$out" | grep -q "carries the patient's identifiers in the clear and no PHI secret" ||
    fail "no reason for refusing: $out"
[ "$(head_of 1 | cut -d' ' -f1-2)" = "$before" ] || fail "the head moved: $before"

# The payer reads its patients back; another secret opens nothing.
status=$("$SETTLE" status OV-2026-0001 --payer ACMEHP --node "$ALL" --phi "$DIR/acmehp.phi") ||
    fail "status with the payer's secret"
echo "$status" | grep -qx "patient_member_id ACM100234501" || fail "no member id: $status"
echo "$status" | grep -qx "patient_birth_date 1968-04-12" || fail "no birth date: $status"
member_key=$(echo "$status" | awk '$1 == "member" {print $2}')
case "$member_key" in mk????????????????????????????????) ;; *) fail "member key: $member_key" ;; esac
named_id=$(sed -n 's/.*"claim_id": *"\([^"]*\)".*/\1/p' "$NAMED" | head -n 1)
last_name=$(sed -n 's/.*"last_name": *"\([^"]*\)".*/\1/p' "$NAMED" | head -n 1)
named=$("$SETTLE" status "$named_id" --payer ACMEHP --node "$ALL" --phi "$DIR/acmehp.phi") ||
    fail "status of $named_id"
echo "$named" | grep -q "^patient_name $last_name, " || fail "no patient name: $named"
echo "$named" | grep -q "^patient_address " || fail "no patient address: $named"
"$SETTLE" keygen --phi "$DIR/other.phi" 2>/dev/null
"$SETTLE" status OV-2026-0001 --payer ACMEHP --node "$ALL" --phi "$DIR/other.phi" \
    >"$DIR/other.out" 2>"$DIR/other.err"
rc=$?
[ $rc = 1 ] || fail "status with another payer's secret exited $rc"
grep -q "do not authenticate" "$DIR/other.err" || fail "no reason: $(cat "$DIR/other.err")"
grep -q "ACM100234501\|1968-04-12" "$DIR/other.out" && fail "another secret showed identifiers"
grep -qx "patient_sealed does not open" "$DIR/other.out" || fail "no sealed line"

# The billing provider opens its own copy with its own key; another
# provider's key opens nothing (over plain TCP the node answers anyone).
for who in prov-a prov-b; do
    cp "$SRC/fixtures/genesis/keys/$who.key" "$DIR/$who.key" && chmod 600 "$DIR/$who.key"
done
"$SETTLE" status "$named_id" --payer ACMEHP --node "$ALL" --key "$DIR/prov-a.key" \
    >"$DIR/prov-a.out" 2>&1 || fail "status as prov-a: $(cat "$DIR/prov-a.out")"
grep -q "^patient_name $last_name, MATEO JULIAN$" "$DIR/prov-a.out" ||
    fail "the billing provider cannot open its copy: $(cat "$DIR/prov-a.out")"
"$SETTLE" status "$named_id" --payer ACMEHP --node "$ALL" --key "$DIR/prov-b.key" \
    >"$DIR/prov-b.out" 2>&1 || fail "status as prov-b: $(cat "$DIR/prov-b.out")"
grep -qx "patient_sealed not for this key" "$DIR/prov-b.out" || fail "prov-b: $(cat "$DIR/prov-b.out")"
grep -q "$last_name" "$DIR/prov-b.out" && fail "another provider's key opened the envelope"
payment=$(awk '$1 == "payment" && $2 == "1234567893" {print $3}' "$DIR/pay.out")
"$SETTLE" remit --payment "$payment" --node "$ALL" --key "$DIR/prov-a.key" >"$DIR/prov-a.835" \
    2>"$DIR/prov-a.err" || fail "remit as prov-a: $(cat "$DIR/prov-a.err")"
grep -q "NM1\*QC\*1\*ALVAREZ\*MATEO\*JULIAN\*\*\*MI\*ACM100234503~" "$DIR/prov-a.835" ||
    fail "the provider's 835 has no patient: $(cat "$DIR/prov-a.835")"

stop_cluster

# The identifiers of the fixtures: member and family ids and birth dates of
# the enrollment; member ids, birth dates, names and address lines of the
# claims submitted.
identifiers=$DIR/identifiers
{
    grep -o 'id: [A-Za-z0-9-]*' "$ENROLLMENT" | awk '{print $2}'
    grep -o 'family: [A-Za-z0-9-]*' "$ENROLLMENT" | awk '{print $2}'
    grep -o 'birth_date: [0-9-]*' "$ENROLLMENT" | awk '{print $2; gsub("-", "", $2); print $2}'
    for f in "$SRC/fixtures/claims/office-visit.json" "$SRC/fixtures/claims/emergency-visit.json" \
        "$NAMED"; do
        for key in member_id birth_date last_name first_name middle_name address_1 address_2 \
            city postal_code; do
            sed -n "s/.*\"$key\": *\"\\([^\"]*\\)\".*/\\1/p" "$f"
        done
    done | while read -r value; do
        echo "$value"
        case "$value" in [0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]) echo "${value//-/}" ;; esac
    done
} | sort -u | grep -v '^$' >"$identifiers"
[ "$(wc -l <"$identifiers")" -ge 12 ] || fail "too few identifiers: $(cat "$identifiers")"
grep -qx "$last_name" "$identifiers" || fail "the names are not among the identifiers"

files=$(find "$DIR"/data1 "$DIR"/data2 "$DIR"/data3 -type f)
[ -n "$files" ] || fail "the nodes wrote no files"
found=0
while read -r value; do
    # shellcheck disable=SC2086 # a list of paths without spaces
    if hits=$(grep -a -l -F -- "$value" $files); then
        echo "FOUND \"$value\" in: $hits" >&2
        found=$((found + 1))
    fi
done <"$identifiers"
[ $found = 0 ] || fail "$found identifiers in the clear in the nodes' files"
# The positive control: what is in the clear is found.
grep -a -r -q -F "OV-2026-0001" "$DIR/data1" || fail "the search does not find a claim id"
grep -a -r -q -F "$member_key" "$DIR/data1" || fail "the search does not find the member key"
echo "ok: $(wc -l <"$identifiers") identifiers, none in the $(echo "$files" | wc -l) files the nodes wrote"
