#!/bin/sh
# make demo: what settle does today, on the sample claims in fixtures/.
#
# Reads each sample claim (professional and institutional, an original, a
# replacement, a void, a secondary claim with the primary payer's payment),
# checks it, and prints it in canonical JSON with its content hash - the
# SHA-256 of its canonical binary encoding, which is how the ledger will
# know it.  Then shows what a user sees when a claim file is wrong.
set -eu
build=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
case "$build" in
/*) settle="$build/engine/settle" ;;
*) settle="$top/$build/engine/settle" ;;
esac
cd "$top"

echo "== settle demo: the sample claims, checked and in canonical form =="
echo
"$settle" show fixtures/claims/*.json fixtures/claims/*.jsonl
echo "== content hashes =="
"$settle" show --hashes fixtures/claims/*.json fixtures/claims/*.jsonl 2>/dev/null
echo
echo "== a file with a mistake in it: settle names the file, the line and the field =="
if "$settle" show fixtures/bad/total-mismatch.jsonl >/dev/null; then
    echo "demo: the bad file was accepted" >&2
    exit 1
fi
echo
echo "(exit code 1: some input was rejected; the good claims before it were still read)"
