#!/bin/sh
# The checker must pass the repository and must catch each violation
# planted in tests/checksrc/sample (a check that cannot fail is no check).
set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
status=0

if ! perl "$here/checksrc.pl" "$repo"; then
    echo "FAIL: the repository has findings (above)"
    status=1
fi

out=$(perl "$here/checksrc.pl" "$here/sample")
rc=$?
[ $rc -eq 1 ] || { echo "FAIL: exit $rc on the samples, expected 1"; status=1; }
for expected in \
    "contracts/uses_float.c:2: double: no floating point in deterministic code" \
    "contracts/uses_float.c:3: time(): not allowed in deterministic code" \
    "contracts/uses_float.c:3: rand(): not allowed in deterministic code" \
    "contracts/uses_float.c:4: getenv(): not allowed in deterministic code" \
    "engine/ledger_sample.c:2: float: no floating point in deterministic code" \
    "adapters/unbounded.c:3: strcpy(): unbounded: use memcpy with a checked length" \
    "adapters/unbounded.c:3: sprintf(): unbounded: use snprintf" \
    "adapters/unbounded.c:4: atoi(): cannot report a bad number: parse with a checked function" \
    "checksrc: 9 finding(s)"; do
    printf '%s\n' "$out" | grep -qxF "$expected" || { echo "FAIL: missing finding: $expected"; status=1; }
done
# Comments, strings and floating point outside deterministic code are not findings.
if printf '%s\n' "$out" | grep -q -e "ledger_sample.c:3" -e "unbounded.c:2"; then
    echo "FAIL: a comment, a string or a permitted double was reported"
    status=1
fi
[ $status -eq 0 ] && echo "checksrc: repository clean, all planted violations caught"
exit $status
