#!/usr/bin/env bash
# --overwrite never|always|newer, and a file in the way of a directory.
source "$(dirname "$0")/lib.sh"

mkdir -p "$WORK/src" "$WORK/inbox"
printf 'new content\n' >"$WORK/src/doc.txt"
touch -d '2022-01-01' "$WORK/src/doc.txt"
printf 'old\n' >"$WORK/inbox/doc.txt"
touch -d '2021-01-01' "$WORK/inbox/doc.txt"

start_recv "$WORK/inbox"  # never (default)
send --json "$WORK/src/doc.txt"
expect_rc 1 "never policy"
grep -q 'doc.txt: rejected by receiver: a different file exists' "$SEND_ERR" || fail "reason not printed"
has_event "$SEND_OUT" '.event=="file_done" and .status=="rejected" and (.reason | test("different file exists"))' ||
  fail "no file_done event with status rejected"
[ "$(cat "$WORK/inbox/doc.txt")" = old ] || fail "never policy replaced the file"
pass "never rejects, exit 1"

start_recv "$WORK/inbox" --overwrite newer
send "$WORK/src/doc.txt"
expect_rc 0 "newer policy, incoming newer"
[ "$(cat "$WORK/inbox/doc.txt")" = "new content" ] || fail "newer policy kept the older file"
touch -d '2020-01-01' "$WORK/src/doc.txt"
printf 'older content\n' >"$WORK/src/doc.txt"
touch -d '2020-01-01' "$WORK/src/doc.txt"
send "$WORK/src/doc.txt"
expect_rc 1 "newer policy, incoming older"
[ "$(cat "$WORK/inbox/doc.txt")" = "new content" ] || fail "newer policy replaced a newer file"
pass "newer"

start_recv "$WORK/inbox" --overwrite always
send "$WORK/src/doc.txt"
expect_rc 0 "always policy"
[ "$(cat "$WORK/inbox/doc.txt")" = "older content" ] || fail "always policy did not replace"
pass "always"

# A file where a directory must go: rejected with a reason, nothing lost.
mkdir -p "$WORK/src/photos"
printf 'x\n' >"$WORK/src/photos/a.jpg"
printf 'keep me\n' >"$WORK/inbox/photos"
send "$WORK/src/photos"
expect_rc 1 "file in the way"
[ "$(cat "$WORK/inbox/photos")" = "keep me" ] || fail "file in the way was touched"
pass "file in the way"
