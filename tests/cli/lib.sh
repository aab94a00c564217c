# lib.sh - what the command-line tests share; sourced, not run.
#
# After `. tests/cli/lib.sh`: the working folder is the repository's top,
# $tmp is a scratch folder removed on exit, and these are defined:
#   expect CODE DESCRIPTION -- COMMAND...  runs COMMAND (stdout to $tmp/out,
#                                          stderr to $tmp/err), checks its exit code
#   contains FILE TEXT                     FILE has a line equal to TEXT
#   fail MESSAGE                           counts a failure
#   finish NAME                            prints the verdict, exits 0 or 1
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0

fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

expect() {
    code=$1 what=$2
    shift 3
    "$@" >"$tmp/out" 2>"$tmp/err"
    got=$?
    if [ "$got" -ne "$code" ]; then
        fail "$what: exit $got, expected $code"
        sed 's/^/  | /' "$tmp/err"
    fi
}

contains() {
    if ! grep -qxF -- "$2" "$1"; then
        fail "expected in $1: $2"
        sed 's/^/  | /' "$1" | head -40
    fi
}

finish() {
    if [ "$failures" -ne 0 ]; then
        echo "$failures check(s) failed"
        exit 1
    fi
    echo "$1: all checks passed"
    exit 0
}
