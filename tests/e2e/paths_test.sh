#!/usr/bin/env bash
# What the sender names on the receiver, and that nothing the user named is
# left out quietly: --files-from entries keep their relative path (the
# README's find -print0 example with repeated basenames), -R does the same
# for arguments, collisions are usage errors before anything connects, an
# unreadable path fails the run with a path_error event.
source "$(dirname "$0")/lib.sh"

# 5,000 .csv files under 100 repeated basenames (50 directories of 100).
mkdir -p "$WORK/data"
for d in $(seq 1 50); do
  mkdir -p "$WORK/data/d$d/sub"
  for f in $(seq 1 100); do printf '%s %s\n' "$d" "$f" >"$WORK/data/d$d/sub/r$f.csv"; done
  printf 'not a csv\n' >"$WORK/data/d$d/notes.txt"
done
start_recv "$WORK/inbox"
cd "$WORK"
find data -name '*.csv' -print0 | {
  send --files-from - -0 --json
  expect_rc 0 "find -print0 | --files-from - -0"
  [ "$(jq -s '[.[] | select(.event=="session_end")][0].files' "$SEND_OUT")" -eq 5000 ] ||
    fail "expected 5000 stored: $(tail -n 1 "$SEND_OUT")"
}
[ "$(find "$WORK/inbox/data" -name '*.csv' | wc -l)" -eq 5000 ] || fail "not every csv arrived"
cmp "$WORK/data/d17/sub/r42.csv" "$WORK/inbox/data/d17/sub/r42.csv" || fail "content under its path"
[ ! -e "$WORK/inbox/data/d1/notes.txt" ] || fail "an entry not in the list was sent"
pass "--files-from keeps 5,000 relative paths under 100 repeated basenames"

# Leading ./ and / are dropped; a '..' is a usage error naming the entry.
printf '%s\n' ./data/d1/notes.txt "$WORK/data/d2/notes.txt" >"$WORK/list.txt"
send --files-from "$WORK/list.txt"
expect_rc 0 "./ and / stripped"
cmp "$WORK/data/d1/notes.txt" "$WORK/inbox/data/d1/notes.txt" || fail "./ entry"
cmp "$WORK/data/d2/notes.txt" "$WORK/inbox/${WORK#/}/data/d2/notes.txt" || fail "/ entry"
printf '%s\n' data/d1/notes.txt data/../data/d3/notes.txt >"$WORK/bad.txt"
send --files-from "$WORK/bad.txt"
expect_rc 2 "a .. entry"
grep -q "entry 2: 'data/../data/d3/notes.txt' has a '..' component" "$SEND_ERR" ||
  fail "'..' message: $(cat "$SEND_ERR")"
pass "--files-from: ./ and / stripped, '..' refused"

# Path arguments: the last component (cp -r), or the whole path with -R.
start_recv "$WORK/inbox-r"
send -R data/d3/sub/r1.csv data/d4
expect_rc 0 "-R"
cmp data/d3/sub/r1.csv "$WORK/inbox-r/data/d3/sub/r1.csv" || fail "-R file"
same_tree data/d4 "$WORK/inbox-r/data/d4" || fail "-R directory"
send data/d5/sub/r1.csv data/d6/sub/r1.csv data/d7/sub/r1.csv
expect_rc 2 "two arguments on one name"
grep -q "2 entries arrive under a name another entry has: data/d5/sub/r1.csv and data/d6/sub/r1.csv both arrive as r1.csv" "$SEND_ERR" ||
  fail "collision message: $(cat "$SEND_ERR")"
grep -q -- "-R keeps whole relative paths" "$SEND_ERR" || fail "no hint at -R"
[ ! -e "$WORK/inbox-r/r1.csv" ] || fail "sent despite a collision"
# A list with collisions (two entries that strip to one name) is refused too.
printf '%s\n' data/d8/notes.txt ./data/d8/notes.txt "$WORK/data/d8/notes.txt" >"$WORK/dups.txt"
send --files-from "$WORK/dups.txt" --json
expect_rc 0 "the same entry spelt twice is sent once"
pass "-R keeps the whole path; collisions are usage errors before connecting"

# An unreadable path: counted as failed, a path_error event, never exit 0.
send --json data/d9/notes.txt data/missing.txt
expect_rc 7 "one path missing"
has_event "$SEND_OUT" '.event=="path_error" and .path=="data/missing.txt"' || fail "no path_error event"
has_event "$SEND_OUT" '.event=="session_end" and .failed==1 and .files==1 and .directories==0 and .status=="partial"' ||
  fail "summary: $(tail -n 1 "$SEND_OUT")"
cmp data/d9/notes.txt "$WORK/inbox-r/notes.txt" || fail "the readable path was still sent"
# A symlink named on the command line and not followed is not sent: exit 1.
ln -s "$WORK/data/d9/notes.txt" "$WORK/link.txt"
send --json "$WORK/link.txt"
[ "$SEND_RC" -ne 0 ] || fail "a named symlink left out, yet exit 0"
has_event "$SEND_OUT" '.event=="path_error" and .path=="'"$WORK/link.txt"'"' || fail "no path_error for the symlink"
pass "unreadable and skipped named paths fail the run"
