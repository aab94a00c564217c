#!/bin/bash
# test_settled_config.sh - settled's command line, configuration and
# genesis errors: each names FILE:LINE:COLUMN and exits 2 (configuration)
# or 3 (cannot start) without starting anything.
#
# usage: test_settled_config.sh BUILD_ENGINE_DIR SOURCE_DIR
set -u
BIN=$(cd "$1" && pwd)
SRC=$(cd "$2" && pwd)
DIR=$(mktemp -d "${TMPDIR:-/tmp}/settle-config.XXXXXX")
trap 'rm -rf "$DIR"' EXIT
FAILS=0

# expect RC PATTERN FILE: settled --config FILE exits RC, stderr matches PATTERN.
expect() {
    local out rc
    out=$(timeout 10 "$BIN/settled" --config "$3" 2>&1 >/dev/null)
    rc=$?
    if [ $rc != "$1" ] || ! echo "$out" | grep -q -- "$2"; then
        echo "FAIL: $3: expected exit $1 and /$2/, got $rc: $out" >&2
        FAILS=$((FAILS + 1))
    fi
}

"$BIN/settled" --version | grep -q '^settled ' || { echo "FAIL: --version" >&2; FAILS=$((FAILS + 1)); }
"$BIN/settled" --help | grep -q -- '--config FILE' || { echo "FAIL: --help" >&2; FAILS=$((FAILS + 1)); }
"$BIN/settled" 2>/dev/null; [ $? = 2 ] || { echo "FAIL: no arguments" >&2; FAILS=$((FAILS + 1)); }

peers='peers:
  - {id: 1, raft_address: "127.0.0.1:1", intake: "tcp://127.0.0.1:2"}'

printf 'id: 1\ndata_dir: %s/d\ngenesis: g.yaml\ncolour: blue\n%s\n' "$DIR" "$peers" >"$DIR/unknown.yaml"
expect 2 "unknown.yaml:4:1: .*unknown key.*colour" "$DIR/unknown.yaml"

printf 'id: 1\ndata_dir: %s/d\ngenesis: g.yaml\npeers:\n  - {id: 1, raft_address: "10.0.0.1:9", intake: "tcp://127.0.0.1:2"}\n' "$DIR" >"$DIR/remote.yaml"
expect 2 "remote.yaml:5:27: .*127.0.0.1:PORT" "$DIR/remote.yaml"

# checkpoint_interval takes 0 (never) and up; not a negative or a word.
printf 'id: 1\ndata_dir: %s/d\ngenesis: g.yaml\ncheckpoint_interval: -5\n%s\n' "$DIR" "$peers" >"$DIR/interval.yaml"
expect 2 "interval.yaml:4:22: .*checkpoint_interval: expected 0\.\." "$DIR/interval.yaml"

printf 'id: 1\ndata_dir: %s/d\ngenesis: g.yaml\nsnapshot_log_percent: half\n%s\n' "$DIR" "$peers" >"$DIR/percent.yaml"
expect 2 "percent.yaml:4:23: .*snapshot_log_percent: expected 0\.\.10000" "$DIR/percent.yaml"

# A Raft log segment: whole 64 KiB units, room for two of the biggest entries.
printf 'id: 1\ndata_dir: %s/d\ngenesis: g.yaml\ntransport: plain\nlog_segment_size: 1000000\n%s\n' "$DIR" "$peers" >"$DIR/segment.yaml"
expect 2 "segment.yaml: .*log_segment_size: 1000000 is not a multiple of 65536" "$DIR/segment.yaml"
printf 'id: 1\ndata_dir: %s/d\ngenesis: g.yaml\ntransport: plain\nlog_segment_size: 1048576\nentry_bytes_max: 1048576\nmessage_size_max: 1048576\n%s\n' "$DIR" "$peers" >"$DIR/small.yaml"
expect 2 "small.yaml: .*at least twice the biggest entry (1048576" "$DIR/small.yaml"

printf 'id: 1\ndata_dir: [\n' >"$DIR/syntax.yaml"
expect 2 "syntax.yaml:3:1: " "$DIR/syntax.yaml"

printf 'id: 2\ndata_dir: %s/d\ngenesis: g.yaml\n%s\n' "$DIR" "$peers" >"$DIR/self.yaml"
expect 2 "self.yaml: .*this node's id is not listed" "$DIR/self.yaml"

# CurveZMQ is the default transport, and it needs the node's key.
printf 'id: 1\ndata_dir: %s/d\ngenesis: g.yaml\n%s\n' "$DIR" "$peers" >"$DIR/nokey.yaml"
expect 2 "nokey.yaml: .*transport: curve (the default) needs the node's key" "$DIR/nokey.yaml"

# Genesis errors stop the start (exit 3) and name the genesis file's place.
printf 'id: 1\ndata_dir: %s/d\ngenesis: g.yaml\ntransport: plain\n%s\n' "$DIR" "$peers" >"$DIR/node.yaml"
printf 'participants:\n  - id: ACMEHP\n    role: payer\n    public_key: abc\n' >"$DIR/g.yaml"
expect 3 "g.yaml:2:5: .*64 hex digits" "$DIR/node.yaml"
printf 'participants:\n  - id: ACMEHP\n    role: king\n    key_file: %s/fixtures/genesis/keys/acmehp.key.pub\n' "$SRC" >"$DIR/g.yaml"
expect 3 "g.yaml:2:5: .*role: expected payer" "$DIR/node.yaml"
printf 'participants:\n  - id: p\n    role: provider\n    key_file: %s/fixtures/genesis/keys/prov-a.key.pub\n' "$SRC" >"$DIR/g.yaml"
expect 3 "g.yaml:2:5: .*NPI" "$DIR/node.yaml"
printf 'participants:\n  - {id: x, role: node, key_file: nowhere.pub}\n' >"$DIR/g.yaml"
expect 3 "g.yaml:2:5: .*key_file: cannot open" "$DIR/node.yaml"
printf 'participant:\n  - {id: x}\n' >"$DIR/g.yaml"
expect 3 "g.yaml:1:1: .*unknown key" "$DIR/node.yaml"

[ $FAILS = 0 ] && echo "ok: settled configuration and genesis errors" && exit 0
exit 1
