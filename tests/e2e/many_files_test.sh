#!/usr/bin/env bash
# 1,000 small files in one session, sent through --files-from lists.
source "$(dirname "$0")/lib.sh"

mkdir -p "$WORK/src/many"
for i in $(seq 1 1000); do printf 'file %d\n' "$i" >"$WORK/src/many/f$i.txt"; done
start_recv "$WORK/inbox"
send "$WORK/src/many"
expect_rc 0 "1000 files"
same_tree "$WORK/src/many" "$WORK/inbox/many" || fail "1000-file tree differs"
[ "$(jq -c 'select(.event=="session_start")' "$RECV_OUT" | wc -l)" -eq 1 ] || fail "expected one session"
pass "1000 files in one session"

# --files-from, newline-separated, with a name containing a space.
mkdir -p "$WORK/list"
printf 'one\n' >"$WORK/list/a 1.txt"
printf 'two\n' >"$WORK/list/b.txt"
printf '%s\n' "list/a 1.txt" "./list/b.txt" >"$WORK/paths.txt"
start_recv "$WORK/inbox2"
cd "$WORK"  # list entries are read, and named, relative to here
send --files-from "$WORK/paths.txt"
expect_rc 0 "--files-from"
if ! cmp "$WORK/list/a 1.txt" "$WORK/inbox2/list/a 1.txt" || ! cmp "$WORK/list/b.txt" "$WORK/inbox2/list/b.txt"; then
  fail "--files-from content (entries keep their relative path)"
fi
# -0 from stdin, as find -print0 makes it.
cd "$WORK"
find list -type f -print0 | {
  send --files-from - -0 --json
  expect_rc 0 "--files-from - -0"
  [ "$(jq -c 'select(.event=="file_done" and .status=="skipped")' "$SEND_OUT" | wc -l)" -eq 2 ] || fail "-0 list not read"
}
pass "--files-from and -0"
