#!/bin/sh
# The settle command as a user meets it: help, exit codes, error lines, and
# the output on the sample claims, compared byte for byte with fixtures/expected.
#   test_cli.sh SETTLE_BINARY
set -u
settle=$1
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0

# expect CODE DESCRIPTION -- COMMAND...: runs the command, checks its exit code.
expect() {
    code=$1 what=$2
    shift 3
    "$@" >"$tmp/out" 2>"$tmp/err"
    got=$?
    if [ "$got" -ne "$code" ]; then
        echo "FAIL: $what: exit $got, expected $code"
        sed 's/^/  | /' "$tmp/err"
        failures=$((failures + 1))
    fi
}
# contains FILE TEXT: the file has a line equal to TEXT.
contains() {
    if ! grep -qxF -- "$2" "$tmp/$1"; then
        echo "FAIL: expected in $1: $2"
        sed 's/^/  | /' "$tmp/$1"
        failures=$((failures + 1))
    fi
}

expect 0 "help" -- "$settle" --help
contains out "  show         print claims in canonical JSON with their content hashes"
expect 0 "version" -- "$settle" --version
contains out "settle 0.1.0"
expect 2 "no command" -- "$settle"
expect 2 "unknown command" -- "$settle" frobnicate
contains err 'settle: unknown command "frobnicate"'
expect 0 "show help" -- "$settle" show --help
expect 2 "show without files" -- "$settle" show
expect 2 "show with a bad option" -- "$settle" show --bogus fixtures/claims/office-visit.json
contains err 'settle show: unknown option "--bogus"'

samples="fixtures/claims/emergency-visit.json fixtures/claims/office-visit.json fixtures/claims/physical-therapy.json fixtures/claims/corrections.jsonl"
# shellcheck disable=SC2086
expect 0 "show the samples" -- "$settle" show $samples
cmp -s "$tmp/out" fixtures/expected/show.txt || { echo "FAIL: show output differs from fixtures/expected/show.txt"; diff "$tmp/out" fixtures/expected/show.txt | head -20; failures=$((failures + 1)); }
contains err "settle show: 6 claims from 4 files, 0 files rejected"
# shellcheck disable=SC2086
expect 0 "hashes of the samples" -- "$settle" show --hashes $samples
cmp -s "$tmp/out" fixtures/expected/show-hashes.txt || { echo "FAIL: hashes differ from fixtures/expected/show-hashes.txt"; failures=$((failures + 1)); }

expect 0 "standard input" -- sh -c "\"$settle\" show --hashes - < fixtures/claims/office-visit.json"
contains out "1d4ad347fabd047253824a1af97ea93cd6621ca45eaa44fcf4a192a5c8b23a8f  OV-2026-0001  -"

expect 1 "a missing file" -- "$settle" show fixtures/no-such-file.json
contains err "settle: fixtures/no-such-file.json: cannot open: No such file or directory"
expect 1 "a syntax error" -- "$settle" show fixtures/bad/syntax.json
contains err "settle: fixtures/bad/syntax.json:4:43: invalid JSON: string or '}' expected near '}'"
expect 1 "an unknown key" -- "$settle" show fixtures/bad/unknown-key.json
contains err "settle: fixtures/bad/unknown-key.json:1: lines[0].unit: unknown key"
expect 1 "a total that does not add up" -- "$settle" show --hashes fixtures/bad/total-mismatch.jsonl fixtures/claims/office-visit.json
contains err "settle: fixtures/bad/total-mismatch.jsonl:2: claims[1]: total charge 150.00 is not the sum of the line charges 110.00"
contains err "settle show: 2 claims from 2 files, 1 file rejected"
[ "$(wc -l <"$tmp/out")" -eq 2 ] || { echo "FAIL: the good claims around the bad one were not all shown"; failures=$((failures + 1)); }

expect 0 "keygen" -- "$settle" keygen --out "$tmp/payer.key"
[ "$(stat -c %a "$tmp/payer.key")" = 600 ] || { echo "FAIL: the private key is not mode 600"; failures=$((failures + 1)); }
grep -qE '^[0-9a-f]{64}$' "$tmp/out" || { echo "FAIL: keygen did not print a public key"; failures=$((failures + 1)); }
cmp -s "$tmp/out" "$tmp/payer.key.pub" || { echo "FAIL: printed and saved public keys differ"; failures=$((failures + 1)); }
cp "$tmp/payer.key" "$tmp/before"
expect 1 "keygen over an existing key" -- "$settle" keygen --out "$tmp/payer.key"
contains err "settle keygen: $tmp/payer.key.pub: a file is already there; settle never overwrites a key"
cmp -s "$tmp/payer.key" "$tmp/before" || { echo "FAIL: keygen changed an existing key"; failures=$((failures + 1)); }
expect 2 "keygen with a stray argument" -- "$settle" keygen extra

if [ $failures -ne 0 ]; then
    echo "$failures check(s) failed"
    exit 1
fi
echo "settle command: all checks passed"
