#!/bin/sh
# `settle adjudicate` as a user runs it: claims in each format the readers
# know, the table for people, the remittances for providers, exit codes and
# error lines.  Outputs are compared byte for byte with fixtures/expected.
#   test_adjudicate.sh SETTLE_BINARY
set -u
settle=$1
. "$(dirname "$0")/lib.sh"
plans="--contract contracts/plans/ppo.yaml --contract contracts/plans/visit-limits.yaml --contract contracts/plans/hdhp.yaml"
run() {
    # shellcheck disable=SC2086
    "$settle" adjudicate $plans --enrollment fixtures/enrollment.yaml --received 2026-11-20 "$@" \
        >"$tmp/out" 2>"$tmp/err"
}

# The office visit, its replacement and the emergency visit, as a table and
# as remittances: the replaced claim is reversed, not paid twice.
grep '"OV-2026-0001R"' fixtures/claims/corrections.jsonl >"$tmp/replacement.jsonl"
run --format table --remit x12 --payer-name "ACME HEALTH PLAN" --payer-tax-id 591234567 \
    --out "$tmp" fixtures/claims/office-visit.json "$tmp/replacement.jsonl" \
    fixtures/claims/emergency-visit.json
[ $? -eq 0 ] || fail "table and remittances: exit code"
cmp -s "$tmp/out" fixtures/expected/adjudicate-table.txt || {
    fail "the table differs from fixtures/expected/adjudicate-table.txt"
    diff "$tmp/out" fixtures/expected/adjudicate-table.txt | head -10
}
cmp -s "$tmp/1234567893.835" fixtures/expected/remit-1234567893.835 || {
    fail "the 835 differs from fixtures/expected/remit-1234567893.835"
    diff "$tmp/1234567893.835" fixtures/expected/remit-1234567893.835 | head -10
}
grep -q "^BPR\*C\*88\*C\*CHK" "$tmp/1234567893.835" || fail "the 835 does not pay 92 - 92 + 88 = 88"
grep -qF "wrote $tmp/1678901236.835: 1 claim, payment 0.00" "$tmp/err" || fail "no line for the second 835"

# FHIR remittances for the same claims.
run --remit fhir --out "$tmp" fixtures/claims/office-visit.json
[ $? -eq 0 ] || fail "FHIR remittance: exit code"
grep -q '"resourceType": "Bundle"' "$tmp/1234567893.claimresponse.json" || fail "no ClaimResponse bundle"

# An 837 and FHIR claims read directly, bad claims reported and skipped; the
# FHIR claim, served in early 2026, is past timely filing on 2026-11-20 (29).
run --summary fixtures/x12/settle_837p_three_claims.txt fixtures/fhir/claim-professional.json \
    fixtures/fhir/bad-net-three-decimals.json
[ $? -eq 1 ] || fail "mixed inputs with bad claims: exit code, expected 1"
grep -qxF 'settle: fixtures/x12/settle_837p_three_claims.txt: segment 32 (CLM), element CLM02: bad amount "12.345"; expected an amount like 125.50 (at most two decimals)' "$tmp/err" ||
    fail "the 837's bad claim is not named by segment and element"
grep -qxF 'settle: fixtures/fhir/bad-net-three-decimals.json:31:24: item[0].net.value: expected an amount with at most two decimals (found 132.005)' "$tmp/err" ||
    fail "the FHIR file's bad amount is not named by line, column and path"
grep -q '^{"claim_id":"LFM-2026-1001","status":"denied"' "$tmp/out" || fail "the FHIR claim was not adjudicated"
grep -q '^{"claim_id":"PCN001","status":"rejected"' "$tmp/out" || fail "the 837 claims were not adjudicated"
grep -q '^{"summary":{"claims":3,' "$tmp/out" || fail "the summary does not count 3 claims"

# Usage errors.
run --remit x12 fixtures/claims/office-visit.json
[ $? -eq 2 ] || fail "--remit x12 without --payer-tax-id: exit code, expected 2"
grep -qF -- "--remit x12 needs --payer-tax-id" "$tmp/err" || fail "no reason for the missing tax id"
run --format xml fixtures/claims/office-visit.json
[ $? -eq 2 ] || fail "--format xml: exit code, expected 2"

finish "settle adjudicate"
