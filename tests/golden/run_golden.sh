#!/bin/sh
# run_golden.sh SETTLE DIR - runs every golden case under DIR/cases through
# `settle adjudicate` with DIR/plan.yaml and DIR/members.yaml, and compares
# the output with the case's expected.jsonl byte for byte.  Each case's
# notes.txt shows the hand computation behind the expected cents.  Every
# case runs twice, and the two runs must agree too (determinism).
# A case may bring its own plan.yaml and members.yaml, or name a reference
# plan in a file "plan-ref" (a path relative to DIR, such as
# ../../contracts/plans/hdhp.yaml).
#
# run_golden.sh SETTLE DIR OTHER_SETTLE - also runs every case through a
# second build of settle (CI passes the AddressSanitizer Debug build beside
# the release one) and requires the same bytes from both.
settle=$1
dir=$2
other=${3:-}
failed=0
count=0
work=$(mktemp -d) || exit 1
trap 'rm -rf "$work"' EXIT
for case in "$dir"/cases/*/; do
    count=$((count + 1))
    args=$(cat "$case/args")
    plan="$dir/plan.yaml"
    members="$dir/members.yaml"
    [ -f "$case/plan.yaml" ] && plan="$case/plan.yaml"
    [ -f "$case/plan-ref" ] && plan="$dir/$(cat "$case/plan-ref")"
    [ -f "$case/members.yaml" ] && members="$case/members.yaml"
    # shellcheck disable=SC2086
    "$settle" adjudicate --contract "$plan" --enrollment "$members" $args \
        "$case/claims.jsonl" >"$work/out" 2>&1
    "$settle" adjudicate --contract "$plan" --enrollment "$members" $args \
        "$case/claims.jsonl" >"$work/again" 2>&1
    if [ -n "$other" ]; then
        # shellcheck disable=SC2086
        "$other" adjudicate --contract "$plan" --enrollment "$members" $args \
            "$case/claims.jsonl" >"$work/again" 2>&1
    fi
    if ! cmp -s "$case/expected.jsonl" "$work/out" || ! cmp -s "$work/out" "$work/again"; then
        echo "golden: FAIL $case"
        diff "$case/expected.jsonl" "$work/out" | head -20
        failed=$((failed + 1))
    fi
done
echo "golden: $count cases, $failed failed${other:+ (each also through $other)}"
[ "$count" -gt 0 ] && [ "$failed" -eq 0 ]
