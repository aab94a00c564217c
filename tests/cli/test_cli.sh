#!/bin/sh
# The settle command as a user meets it: help, exit codes, error lines, and
# the output on the sample claims, compared byte for byte with fixtures/expected.
#   test_cli.sh SETTLE_BINARY
set -u
settle=$1
. "$(dirname "$0")/lib.sh"

expect 0 "help" -- "$settle" --help
contains "$tmp/out" "  show         print claims in canonical JSON with their content hashes"
expect 0 "version" -- "$settle" --version
contains "$tmp/out" "settle 0.1.0"
expect 2 "no command" -- "$settle"
expect 2 "unknown command" -- "$settle" frobnicate
contains "$tmp/err" 'settle: unknown command "frobnicate"'
expect 0 "show help" -- "$settle" show --help
expect 2 "show without files" -- "$settle" show
expect 2 "show with a bad option" -- "$settle" show --bogus fixtures/claims/office-visit.json
contains "$tmp/err" 'settle show: unknown option "--bogus"'

samples="fixtures/claims/emergency-visit.json fixtures/claims/office-visit.json fixtures/claims/physical-therapy.json fixtures/claims/corrections.jsonl"
# shellcheck disable=SC2086
expect 0 "show the samples" -- "$settle" show $samples
cmp -s "$tmp/out" fixtures/expected/show.txt || { echo "FAIL: show output differs from fixtures/expected/show.txt"; diff "$tmp/out" fixtures/expected/show.txt | head -20; failures=$((failures + 1)); }
contains "$tmp/err" "settle show: 6 claims from 4 files, 0 files rejected"
# shellcheck disable=SC2086
expect 0 "hashes of the samples" -- "$settle" show --hashes $samples
cmp -s "$tmp/out" fixtures/expected/show-hashes.txt || fail "hashes differ from fixtures/expected/show-hashes.txt"

expect 0 "standard input" -- sh -c "\"$settle\" show --hashes - < fixtures/claims/office-visit.json"
contains "$tmp/out" "68375f3753d4e1320d75d25e8316f9f5fc0633bc8423a8200adf6971eafabec1  OV-2026-0001  -"

expect 1 "a missing file" -- "$settle" show fixtures/no-such-file.json
contains "$tmp/err" "settle: fixtures/no-such-file.json: cannot open: No such file or directory"
expect 1 "a syntax error" -- "$settle" show fixtures/bad/syntax.json
contains "$tmp/err" "settle: fixtures/bad/syntax.json:4:43: invalid JSON: string or '}' expected near '}'"
expect 1 "an unknown key" -- "$settle" show fixtures/bad/unknown-key.json
contains "$tmp/err" "settle: fixtures/bad/unknown-key.json:1: lines[0].unit: unknown key"
expect 1 "a total that does not add up" -- "$settle" show --hashes fixtures/bad/total-mismatch.jsonl fixtures/claims/office-visit.json
contains "$tmp/err" "settle: fixtures/bad/total-mismatch.jsonl:2: claims[1]: total charge 150.00 is not the sum of the line charges 110.00"
contains "$tmp/err" "settle show: 2 claims from 2 files, 1 file rejected"
[ "$(wc -l <"$tmp/out")" -eq 2 ] || fail "the good claims around the bad one were not all shown"

expect 0 "keygen" -- "$settle" keygen --out "$tmp/payer.key"
[ "$(stat -c %a "$tmp/payer.key")" = 600 ] || fail "the private key is not mode 600"
grep -qE '^[0-9a-f]{64}$' "$tmp/out" || fail "keygen did not print a public key"
cmp -s "$tmp/out" "$tmp/payer.key.pub" || fail "printed and saved public keys differ"
cp "$tmp/payer.key" "$tmp/before"
expect 1 "keygen over an existing key" -- "$settle" keygen --out "$tmp/payer.key"
contains "$tmp/err" "settle keygen: $tmp/payer.key.pub: a file is already there; settle never overwrites a key"
cmp -s "$tmp/payer.key" "$tmp/before" || fail "keygen changed an existing key"
expect 2 "keygen with a stray argument" -- "$settle" keygen extra
# A payer's PHI secret: 64 hex digits, private, never overwritten; submit
# finds it beside the key and refuses one others can read.
expect 0 "keygen --phi" -- "$settle" keygen --phi "$tmp/payer.phi"
[ "$(stat -c %a "$tmp/payer.phi")" = 600 ] || fail "the PHI secret is not mode 600"
grep -qxE '[0-9a-f]{64}' "$tmp/payer.phi" || fail "the PHI secret is not 64 hex digits"
cp "$tmp/payer.phi" "$tmp/before"
expect 1 "keygen --phi over an existing secret" -- "$settle" keygen --phi "$tmp/payer.phi"
contains "$tmp/err" "settle: $tmp/payer.phi: a file is already there; settle never overwrites a key"
cmp -s "$tmp/payer.phi" "$tmp/before" || fail "keygen --phi changed an existing secret"
chmod 644 "$tmp/payer.phi"
expect 2 "submit with a PHI secret others can read" -- "$settle" submit --key "$tmp/payer.key" \
    --node tcp://127.0.0.1:9 --sequence 0 fixtures/claims/office-visit.json
contains "$tmp/err" "settle: $tmp/payer.phi: the secret can be read by others (mode 0644); chmod 600 it"

finish "settle command"
