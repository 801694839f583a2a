#!/usr/bin/env bash
# The helpers in scripts/: the demo with the built binaries, and the batch
# helper keeping going past failures and summarising each line.
source "$(dirname "$0")/lib.sh"
root=$(cd "$(dirname "$0")/../.." && pwd)

FERRY_BIN=$FERRY_BIN bash "$root/scripts/demo.sh" >"$WORK/demo.log" 2>&1 || fail "demo failed: $(tail -n 20 "$WORK/demo.log")"
grep -q "== demo passed" "$WORK/demo.log" || fail "demo did not finish"
pass "demo"

mkdir -p "$WORK/src/docs"
printf 'a\n' >"$WORK/src/docs/a.txt"
printf 'b\n' >"$WORK/src/b file.txt"
start_recv "$WORK/inbox"
good_port=$RECV_PORT
start_recv "$WORK/dead"
dead_port=$RECV_PORT
kill "$RECV_PID"
wait_exit "$RECV_PID" 10
cat >"$WORK/manifest" <<MANIFEST
# destination and paths
127.0.0.1:$good_port $WORK/src/docs
127.0.0.1:$dead_port $WORK/src/docs

127.0.0.1:$good_port $WORK/src/missing.txt
127.0.0.1:$good_port	$WORK/src/b file.txt
MANIFEST
rc=0
# Found through FERRY_BIN, as the other scripts find the binaries.
FERRY_BIN=$FERRY_BIN bash "$root/scripts/batch.sh" "$WORK/manifest" >"$WORK/batch.out" 2>&1 || rc=$?
cat "$WORK/batch.out"
[ "$rc" -eq 1 ] || fail "batch exit $rc, expected 1 (some lines failed)"
[ "$(grep -c "^127.0.0.1" "$WORK/batch.out")" -eq 4 ] || fail "batch table should have 4 rows"
# docs/ and docs/a.txt: one file and one directory counted apart, 2 bytes.
grep -qE "^127.0.0.1:$good_port +1 +1 +2 +ok$" "$WORK/batch.out" || fail "first line not ok"
grep -qE "^127.0.0.1:$dead_port +0 +0 +0 +connect-failed: .*Connection refused" "$WORK/batch.out" || fail "dead line"
grep -qE "local-io-error" "$WORK/batch.out" || fail "missing path line"
[ -f "$WORK/inbox/b file.txt" ] || fail "tab-separated line with a space in the path"
pass "batch"
