#!/bin/sh
# make demo: what settle does today, offline, on the samples in fixtures/.
#
# 1. Reads the sample claims (professional and institutional; an original,
#    a replacement, a void, a secondary claim), checks them, and prints each
#    one's content hash - the SHA-256 of its canonical encoding, the
#    identity the ledger gives it.
# 2. Adjudicates them against the reference plans in contracts/plans for
#    the members in fixtures/enrollment.yaml, line by line, with the
#    standard reason codes, carrying deductibles and out-of-pocket totals
#    from claim to claim.
# 3. Writes the 835 remittance each provider would receive, and shows one.
# 4. Shows what a user sees when a claim file is wrong.
set -eu
build=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
case "$build" in
/*) settle="$build/engine/settle" ;;
*) settle="$top/$build/engine/settle" ;;
esac
cd "$top"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
claims="fixtures/claims/office-visit.json fixtures/claims/physical-therapy.json
fixtures/claims/emergency-visit.json fixtures/claims/corrections.jsonl"
plans="--contract contracts/plans/ppo.yaml --contract contracts/plans/visit-limits.yaml
--contract contracts/plans/hdhp.yaml"

echo "== 1. the sample claims, checked, with their content hashes =="
# shellcheck disable=SC2086
"$settle" show --hashes $claims
echo
echo "== 2. adjudicated against the plan contracts, received 2026-11-20 =="
# shellcheck disable=SC2086
"$settle" adjudicate $plans --enrollment fixtures/enrollment.yaml --received 2026-11-20 \
    --format table --remit x12 --payer-name "ACME HEALTH PLAN" --payer-tax-id 591234567 \
    --out "$out" $claims 2>"$out/log" || true
sed "s|$out/||" "$out/log"
echo
echo "== 3. the 835 remittance for the office visit's provider (NPI 1234567893) =="
cat "$out/1234567893.835"
echo
echo
echo "== 4. a file with a mistake in it: settle names the file, the line and the field =="
if "$settle" show fixtures/bad/total-mismatch.jsonl >/dev/null; then
    echo "demo: the bad file was accepted" >&2
    exit 1
fi
echo "(exit code 1: some input was rejected; the good claims before it were still read)"
