#!/bin/bash
# test_audit.sh - issue 8's `settle audit` against a real ledger: a
# three-node cluster applies genesis, a contract, an enrollment, funding,
# claims (with a void) and a payment cycle; then
#   - `audit verify` on a node's live ledger.sqlite (read-only, beside the
#     serving node) and on a copy verifies, and its head equals the
#     cluster's `settle head`;
#   - copies tampered in each way an attacker could (an amount changed, a
#     claim row deleted, an entry's signature byte altered, two entries
#     swapped, a contract's YAML changed, a chain row deleted) each fail
#     with exit 1 and a line that names the entry and what differs;
#   - `audit claim` prints the claim's history in text and JSON;
#   - `audit export` writes the chain to a file that verifies alone with
#     the cluster's head; tampered exports (a signature, a link hash, an
#     entry's byte) are refused with the entry named; a truncated export
#     and one not from entry 1 are refused (exit 3);
#   - `audit report` in Markdown and HTML holds the ledger's totals, the
#     payments' trace numbers and the chart, the same bytes twice.
#
# usage: test_audit.sh BUILD_ENGINE_DIR SOURCE_DIR
# Needs the sqlite3 command-line tool (its .backup, readfile, writefile).
set -u
BIN=$(cd "$1" && pwd)
SRC=$(cd "$2" && pwd)
NODES=3
. "$SRC/tests/e2e/cluster_lib.sh"
command -v sqlite3 >/dev/null || { echo "SKIP: no sqlite3 command-line tool"; exit 0; }

make_batch() {
    local files=()
    for c in 1 2 3 4 5; do
        local f="$DIR/claims/b$1-c$c.json"
        sed "s/OV-2026-0001/OV-A$1-$c/" "$SRC/fixtures/claims/office-visit.json" >"$f"
        files+=("$f")
    done
    echo "${files[@]}"
}
mkdir -p "$DIR/claims"

start_cluster
submit 0 deploy "$SRC/contracts/plans/ppo.yaml"
submit 1 enroll "$SRC/fixtures/enrollment.yaml"
submit 2 fund 100000000
for b in 0 1 2; do
    # shellcheck disable=SC2046
    submit $((3 + b)) $(make_batch $b)
done
submit 6 pay
# shellcheck disable=SC2046
submit 7 $(make_batch 3)

# Every node at the same head before reading one.
one_head
LEDGER=$DIR/data1/ledger.sqlite
[ -f "$LEDGER" ] || fail "no ledger at $LEDGER"

# verify FILE: runs audit verify, output in $DIR/verify.out, exit code in RC.
verify() {
    timeout 60 "$SETTLE" audit verify "$1" >"$DIR/verify.out" 2>"$DIR/verify.err"
    RC=$?
}

# The live file, read-only, while node 1 serves it.
verify "$LEDGER"
[ $RC = 0 ] || fail "live ledger does not verify (rc $RC): $(cat "$DIR/verify.out" "$DIR/verify.err")"
got=$(awk '$1 == "index" || $1 == "hash" {printf "%s%s", sep, $2; sep=" "}' "$DIR/verify.out")
[ "$got" = "$HEAD" ] || fail "verify's head \"$got\" is not the cluster's \"$HEAD\""
grep -q "^claims 20$" "$DIR/verify.out" || fail "verify counted other claims: $(cat "$DIR/verify.out")"
grep -q "^payments [1-9]" "$DIR/verify.out" || fail "verify counted no payment: $(cat "$DIR/verify.out")"
[ -s "$DIR/verify.err" ] && fail "verify wrote on stderr while piped: $(cat "$DIR/verify.err")"
kill -0 "${NODE_PID[1]}" || fail "node 1 died while audited"

# A consistent copy, taken while the node runs.
sqlite3 -readonly "$LEDGER" ".backup '$DIR/clean.sqlite'" || fail "cannot back up the ledger"
verify "$DIR/clean.sqlite"
[ $RC = 0 ] || fail "the copy does not verify: $(cat "$DIR/verify.out" "$DIR/verify.err")"

# tamper NAME SQL EXPECTED...: a fresh copy, SQL run on it; verify must
# exit 1 with a divergence line holding each EXPECTED string.
tamper() {
    local name=$1 sql=$2
    shift 2
    cp "$DIR/clean.sqlite" "$DIR/$name.sqlite"
    (cd "$DIR" && sqlite3 "$DIR/$name.sqlite" "$sql") || fail "$name: sqlite3 failed"
    verify "$DIR/$name.sqlite"
    [ $RC = 1 ] || fail "$name: verify exited $RC: $(cat "$DIR/verify.out" "$DIR/verify.err")"
    for expected in "$@"; do
        grep -q -- "$expected" "$DIR/verify.out" ||
            fail "$name: no \"$expected\" in: $(cat "$DIR/verify.out")"
    done
    echo "$name: $(cat "$DIR/verify.out")"
}

PAID_ROW=$(sqlite3 "$DIR/clean.sqlite" "SELECT claim_row FROM claims WHERE paid_cents > 0 ORDER BY claim_row LIMIT 1")
PAID_ID=$(sqlite3 "$DIR/clean.sqlite" "SELECT claim_id FROM claims WHERE claim_row = $PAID_ROW")
tamper amount "UPDATE claims SET paid_cents = paid_cents + 100 WHERE claim_row = $PAID_ROW" \
    "claims: claim ACMEHP/$PAID_ID: paid_cents: stored" "divergence at entry [1-9]"
tamper deleted_claim "DELETE FROM claims WHERE claim_id = 'OV-A1-3'" \
    "claims: claim ACMEHP/OV-A1-3: missing from the stored ledger" "divergence at entry [1-9]"

# The entry that carried batch 1: a byte of its last command's signature
# flipped (the signature is a command's last 64 bytes; an entry ends with
# its last command, then at most 7 bytes of padding).
E=$(sqlite3 "$DIR/clean.sqlite" "SELECT entry_index FROM claims WHERE claim_id = 'OV-A1-3'")
sqlite3 "$DIR/clean.sqlite" "SELECT writefile('$DIR/entry.bin', entry) FROM chain WHERE entry_index = $E" >/dev/null
size=$(stat -c %s "$DIR/entry.bin")
offset=$((size - 20))
byte=$(od -An -tu1 -j $offset -N1 "$DIR/entry.bin" | tr -d ' ')
printf "$(printf '\\%03o' $(((byte + 1) % 256)))" |
    dd of="$DIR/entry.bin" bs=1 seek=$offset conv=notrunc status=none
tamper signature "UPDATE chain SET entry = readfile('$DIR/entry.bin') WHERE entry_index = $E" \
    "divergence at entry $E:" "signature"

A=$((E - 1))
tamper swapped "UPDATE chain SET entry = CASE entry_index
        WHEN $A THEN (SELECT entry FROM chain WHERE entry_index = $E)
        ELSE (SELECT entry FROM chain WHERE entry_index = $A) END
    WHERE entry_index IN ($A, $E)" "divergence at entry $A:"
tamper contract "UPDATE contracts SET yaml = CAST(CAST(yaml AS TEXT) || '# swapped' AS BLOB)
    WHERE deployment = 1" "contracts: row deployment=1: yaml: stored"
tamper dropped "DELETE FROM chain WHERE entry_index = $E" \
    "divergence at entry $E: chain: entry $E is missing"
# The chain's own columns are checked as each link is replayed (the chain
# table is not compared again at the end): the stamp beside the entry, and
# the entry's bytes stored as a text.
tamper timestamp "UPDATE chain SET timestamp_ms = timestamp_ms + 1 WHERE entry_index = $E" \
    "divergence at entry $E: chain: row entry_index=$E: timestamp_ms: stored"
tamper entry_type "UPDATE chain SET entry = CAST(entry AS TEXT) WHERE entry_index = $E" \
    "divergence at entry $E: chain: row entry_index=$E: entry: stored"
# What a payment cycle changes in a claim row after it was written.
tamper unpaid "UPDATE claims SET settlement = 'payable', payment_id = ''
    WHERE claim_row = (SELECT min(claim_row) FROM claims WHERE settlement = 'paid')" \
    "claims: claim ACMEHP/[^:]*: settlement: stored \"payable\", recomputed \"paid\""
tamper settlement "UPDATE claims SET settlement = 'XXXX'
    WHERE claim_row = (SELECT min(claim_row) FROM claims WHERE settlement = 'paid')" \
    "claims: claim ACMEHP/[^:]*: settlement: stored \"XXXX\", recomputed \"paid\""

# ---- export (issue 8): the chain in a portable file verify reads alone ----
"$SETTLE" audit export --ledger "$LEDGER" --out "$DIR/export.bin" >"$DIR/export.out" 2>&1 ||
    fail "audit export: $(cat "$DIR/export.out")"
grep -q "^from 1$" "$DIR/export.out" || fail "export: $(cat "$DIR/export.out")"
[ "$(head -c 8 "$DIR/export.bin")" = "SETLAUDX" ] || fail "the export has no magic"
verify "$DIR/export.bin"
[ $RC = 0 ] || fail "the export does not verify: $(cat "$DIR/verify.out" "$DIR/verify.err")"
got=$(awk '$1 == "index" || $1 == "hash" {printf "%s%s", sep, $2; sep=" "}' "$DIR/verify.out")
[ "$got" = "$HEAD" ] || fail "the export's head \"$got\" is not the cluster's \"$HEAD\""
grep -q "^claims 20$" "$DIR/verify.out" || fail "the export rebuilt other claims: $(cat "$DIR/verify.out")"

# verify_export NAME EXPECTED_RC EXPECTED...: verify a file, check rc and output.
verify_export() {
    local name=$1 rc=$2
    shift 2
    verify "$DIR/$name"
    [ $RC = "$rc" ] || fail "$name: verify exited $RC: $(cat "$DIR/verify.out" "$DIR/verify.err")"
    for expected in "$@"; do
        grep -q -- "$expected" "$DIR/verify.out" "$DIR/verify.err" ||
            fail "$name: no \"$expected\" in: $(cat "$DIR/verify.out" "$DIR/verify.err")"
    done
    echo "$name: $(cat "$DIR/verify.out" "$DIR/verify.err")"
}
# flip FILE OFFSET: adds 1 to the byte at OFFSET.
flip() {
    local b
    b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
    printf "$(printf '\\%03o' $(((b + 1) % 256)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
# The export of the copy whose entry E's signature was altered: refused at E.
"$SETTLE" audit export --ledger "$DIR/signature.sqlite" --out "$DIR/export_signature.bin" >/dev/null ||
    fail "cannot export the tampered copy"
verify_export export_signature.bin 1 "divergence at entry $E:" "signature"
# A byte of the last link's stored hash (the file's last byte) changed.
HEAD_INDEX=${HEAD%% *}
cp "$DIR/export.bin" "$DIR/export_hash.bin"
flip "$DIR/export_hash.bin" $(($(stat -c %s "$DIR/export.bin") - 1))
verify_export export_hash.bin 1 "divergence at entry $HEAD_INDEX: chain: hash: stored"
# A byte inside entry E's bytes: found at E, whatever it breaks.
"$SETTLE" audit export --ledger "$LEDGER" --from 1 --to $((E - 1)) --out "$DIR/before.bin" >/dev/null ||
    fail "cannot export a range"
cp "$DIR/export.bin" "$DIR/export_entry.bin"
flip "$DIR/export_entry.bin" $(($(stat -c %s "$DIR/before.bin") + 20 + 10))
verify_export export_entry.bin 1 "divergence at entry $E:"
# Cut short, and a range not from entry 1: refused, not faked.
head -c $(($(stat -c %s "$DIR/export.bin") - 5)) "$DIR/export.bin" >"$DIR/export_short.bin"
verify_export export_short.bin 3 "ends after"
"$SETTLE" audit export --ledger "$LEDGER" --from $E --out "$DIR/export_range.bin" >/dev/null ||
    fail "cannot export from $E"
verify_export export_range.bin 3 "verify needs an export from entry 1"
"$SETTLE" audit export --ledger "$LEDGER" --from 0 --out "$DIR/x.bin" >/dev/null 2>&1
[ $? = 2 ] || fail "--from 0 is not a usage error"

# ---- report: totals an auditor can check against the ledger ----
for format in md html; do
    "$SETTLE" audit report --ledger "$DIR/clean.sqlite" --format $format --out "$DIR/report.$format" ||
        fail "audit report --format $format failed"
    "$SETTLE" audit report --ledger "$DIR/clean.sqlite" --format $format >"$DIR/report2.$format" ||
        fail "audit report --format $format on stdout failed"
    cmp -s "$DIR/report.$format" "$DIR/report2.$format" || fail "the $format report is not the same bytes twice"
done
money() { sqlite3 "$DIR/clean.sqlite" "SELECT printf('%d.%02d', s / 100, s % 100) FROM (SELECT $1 AS s FROM $2)"; }
PAID=$(money "sum(paid_cents)" claims)
BILLED=$(money "sum(billed_cents)" claims)
ALLOWED=$(money "sum(allowed_cents)" claims)
DAY=$(sqlite3 "$DIR/clean.sqlite" "SELECT date(timestamp_ms / 1000, 'unixepoch') FROM chain WHERE entry_index = $E")
PAYMENT=$(sqlite3 "$DIR/clean.sqlite" "SELECT payment_id FROM payments ORDER BY payment_id LIMIT 1")
PAYMENT_TOTAL=$(money "total_cents" "payments WHERE payment_id = '$PAYMENT'")
for f in md html; do
    for expected in "$PAID" "$BILLED" "$ALLOWED" "$PAYMENT" "$PAYMENT_TOTAL" ACMEHP "CO-45" "$DAY"; do
        grep -qF -- "$expected" "$DIR/report.$f" || fail "report.$f: no \"$expected\""
    done
done
grep -qF "| all | 20 | $BILLED | $ALLOWED | $PAID |" "$DIR/report.md" ||
    fail "report.md: no totals row: $(grep '| all' "$DIR/report.md")"
grep -q "^[0-9-]* claims   #* 20$" "$DIR/report.md" || fail "report.md: no text chart of 20 claims"
grep -q "<svg " "$DIR/report.html" || fail "report.html has no inline SVG"
grep -qiE "<script|src=|href=" "$DIR/report.html" && fail "report.html refers to something outside itself"
echo "report: paid $PAID billed $BILLED payment $PAYMENT $PAYMENT_TOTAL"

# A file that is not a ledger: exit 3; bad usage: exit 2.
echo "not a database" >"$DIR/junk.sqlite"
verify "$DIR/junk.sqlite"
[ $RC = 3 ] || fail "a junk file gave exit $RC"
"$SETTLE" audit verify >/dev/null 2>&1
[ $? = 2 ] || fail "audit verify without a file is not a usage error"
"$SETTLE" audit --help | grep -q "settle audit verify LEDGER" || fail "no help"

# The history of a paid claim, text and JSON.
"$SETTLE" audit claim "$PAID_ID" --ledger "$LEDGER" >"$DIR/claim.txt" 2>"$DIR/claim.err" ||
    fail "audit claim: $(cat "$DIR/claim.err")"
for expected in "claim $PAID_ID of payer ACMEHP" "submitted by ACMEHP" "path verifies" \
    "adjudicated" "contract" "paid in payment"; do
    grep -q -- "$expected" "$DIR/claim.txt" || fail "audit claim: no \"$expected\" in: $(cat "$DIR/claim.txt")"
done
"$SETTLE" audit claim "$PAID_ID" --ledger "$LEDGER" --format json >"$DIR/claim.json" ||
    fail "audit claim --format json failed"
grep -q "\"path_verifies\":true" "$DIR/claim.json" || fail "json: $(cat "$DIR/claim.json")"
grep -q "\"payment_id\":" "$DIR/claim.json" || fail "json has no payment: $(cat "$DIR/claim.json")"
"$SETTLE" audit claim NO-SUCH --ledger "$LEDGER" >/dev/null 2>&1
[ $? = 1 ] || fail "an unknown claim is not exit 1"
cat "$DIR/claim.txt"
echo "PASS"
