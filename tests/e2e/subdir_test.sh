#!/usr/bin/env bash
# Where a session's entries go: ferry-send --to SUBDIR puts them under the
# receiver's --dir/SUBDIR (made if missing, confined like every path), the
# receiver can refuse it (--no-sender-subdir), and a dir= option in
# authorized_senders confines a sender to its own subdirectory whatever it
# asks.
source "$(dirname "$0")/lib.sh"

mkdir -p "$WORK/src/photos/2026" "$WORK/outside"
printf 'a picture\n' >"$WORK/src/photos/2026/one.jpg"
printf 'notes\n' >"$WORK/src/photos/notes.txt"
head -c 3000000 /dev/urandom >"$WORK/src/photos/big.bin"  # a part file's size
cd "$WORK/src"

# --to: made if missing, trailing / allowed; the events name the path
# under --dir; a second send finds the files there (skipped as identical).
start_recv "$WORK/inbox"
send --json --to backup/laptop/ photos
expect_rc 0 "--to backup/laptop/"
same_tree photos "$WORK/inbox/backup/laptop/photos" || fail "--to: tree under the subdirectory"
[ ! -e "$WORK/inbox/photos" ] || fail "--to: something arrived at the top"
has_event "$RECV_OUT" '.event=="file_done" and .path=="backup/laptop/photos/2026/one.jpg" and .status=="stored"' ||
  fail "--to: the receiver's event does not name the path under --dir"
grep -q "storing under $WORK/inbox/backup/laptop" "$RECV_ERR" || fail "--to: not logged"
send --json --to backup/laptop photos
expect_rc 0 "--to again"
has_event "$SEND_OUT" '.event=="session_end" and .skipped==3' ||
  fail "--to again: the files were not found under the subdirectory: $(tail -n 1 "$SEND_OUT")"
no_leftovers "$WORK/inbox"
pass "--to stores under --dir/SUBDIR, makes it, and finds it again"

# The sender checks --to like the receiver checks a path: before connecting.
for bad in ../up /abs a//b . a/./b .ferry-part-x; do
  send --to "$bad" photos
  expect_rc 2 "--to $bad"
  grep -q "^ferry-send: --to: '$bad' is not a relative path inside the receiver's directory" "$SEND_ERR" ||
    fail "--to $bad: message: $(cat "$SEND_ERR")"
done
send --to "" photos
expect_rc 2 "--to ''"
pass "--to ../up, /abs, a//b, ., a/./b, a part name and '' are usage errors"

# A symlink or a file in the way of the subdirectory refuses the session
# (exit 1) before any entry; nothing lands outside --dir.
ln -s "$WORK/outside" "$WORK/inbox/link"
printf 'x' >"$WORK/inbox/afile"
send --to link/sub photos
expect_rc 1 "--to through a symlink"
grep -q "receiver refused: cannot make the session's subdirectory: symlink in the destination path" "$SEND_ERR" ||
  fail "symlink: message: $(cat "$SEND_ERR")"
[ -z "$(ls -A "$WORK/outside")" ] || fail "symlink: something was written outside --dir"
send --to afile/sub photos
expect_rc 1 "--to through a file"
grep -q "a file is in the way of the directory path" "$SEND_ERR" || fail "file: $(cat "$SEND_ERR")"
kill "$RECV_PID"
wait_exit "$RECV_PID" 10
pass "a symlink or a file in the way of --to refuses the session (exit 1)"

# --no-sender-subdir: a --to is refused with the reason, exit 1, nothing
# stored; a session without --to still goes to --dir.
start_recv "$WORK/strict" --no-sender-subdir
send --to elsewhere photos
expect_rc 1 "--to against --no-sender-subdir"
grep -q "receiver refused: this receiver takes no --to (it runs with --no-sender-subdir)" "$SEND_ERR" ||
  fail "--no-sender-subdir: message: $(cat "$SEND_ERR")"
{ [ ! -e "$WORK/strict/elsewhere" ] && [ ! -e "$WORK/strict/photos" ]; } ||
  fail "--no-sender-subdir: something was stored"
send photos
expect_rc 0 "no --to against --no-sender-subdir"
same_tree photos "$WORK/strict/photos" || fail "--no-sender-subdir: plain session"
kill "$RECV_PID"
wait_exit "$RECV_PID" 10
pass "--no-sender-subdir refuses --to (exit 1) and takes plain sessions"

# dir= in authorized_senders: this sender's entries go under its own
# subdirectory; its --to goes below that, and never out of it.
key_line=$(head -n 1 "$WORK/identity")
printf 'dir=people/alice %s\n' "$key_line" >"$FERRY_CONFIG_DIR/authorized_senders"
start_recv "$WORK/shared"
send photos
expect_rc 0 "confined sender"
same_tree photos "$WORK/shared/people/alice/photos" || fail "dir=: tree under the sender's dir"
send --to trip photos/notes.txt
expect_rc 0 "confined sender with --to"
cmp photos/notes.txt "$WORK/shared/people/alice/trip/notes.txt" || fail "dir= and --to"
[ "$(find "$WORK/shared" -mindepth 1 -maxdepth 1)" = "$WORK/shared/people" ] ||
  fail "dir=: something outside people/: $(ls -A "$WORK/shared")"
kill "$RECV_PID"
wait_exit "$RECV_PID" 10
# --no-sender-subdir still confines by dir=.
start_recv "$WORK/shared2" --no-sender-subdir
send photos/notes.txt
expect_rc 0 "confined sender, --no-sender-subdir"
cmp photos/notes.txt "$WORK/shared2/people/alice/notes.txt" || fail "dir= under --no-sender-subdir"
kill "$RECV_PID"
wait_exit "$RECV_PID" 10
pass "authorized_senders dir= confines a sender, with or without its --to"

# A dir= that leaves --dir, or an option we do not know, is an error in
# the file: the receiver does not start (and never reads it as no option).
for line in "dir=../x $key_line" "dir=/etc $key_line" "dir=a,dir=b $key_line" \
  "from=10.0.0.1 $key_line" "dir=\"alice\" $key_line" "$key_line
dir=alice $key_line"; do
  printf '%s\n' "$line" >"$FERRY_CONFIG_DIR/authorized_senders"
  rc=0
  timeout 10 "$RECV" --listen 127.0.0.1:0 --dir "$WORK/bad" >"$WORK/bad.log" 2>&1 || rc=$?
  [ "$rc" -eq 2 ] || fail "'${line%% *}': the receiver started or exited $rc, not 2"
  grep -qE "authorized_senders, line [12]: " "$WORK/bad.log" || fail "'${line%% *}': $(cat "$WORK/bad.log")"
done
[ ! -e "$WORK/bad" ] || [ -z "$(ls -A "$WORK/bad")" ] || fail "a refused start stored something"
grep -q "this key is listed before with no dir=; give each key one line" "$WORK/bad.log" ||
  fail "an appended dir= line for a listed key: $(cat "$WORK/bad.log")"
pass "a bad dir=, quotes, an unknown option or a key listed twice apart stops the receiver at start"

# Broken while the receiver runs: every sender is turned away, and told why
# (not cut off as if the network failed); nothing is stored unconfined.
printf 'dir=people/alice %s\n' "$key_line" >"$FERRY_CONFIG_DIR/authorized_senders"
start_recv "$WORK/live"
printf 'dirx=alice %s\n' "$key_line" >"$FERRY_CONFIG_DIR/authorized_senders"
send photos/notes.txt
expect_rc 5 "authorized_senders broken while running"
grep -q "the receiver cannot read its list of authorised senders or tokens; its operator must fix it" "$SEND_ERR" ||
  fail "broken list: $(cat "$SEND_ERR")"
[ -z "$(find "$WORK/live" -type f)" ] || fail "broken list: something was stored"
grep -q "authorized_senders, line 1: unknown option 'dirx'" "$RECV_ERR" ||
  fail "broken list: the receiver's log does not name the line"
kill "$RECV_PID"
wait_exit "$RECV_PID" 10
pass "authorized_senders broken while running: senders are told, nothing is stored"

# --stdout has no directory to put a --to in: refused, not ignored.
printf '%s\n' "$key_line" >"$FERRY_CONFIG_DIR/authorized_senders"
"$RECV" --listen 127.0.0.1:0 --dir "$WORK/unused" --once --stdout >"$WORK/content.bin" \
  2>"$WORK/stdout-recv.log" &
_pids+=("$!")
log_port "$WORK/stdout-recv.log"
RECV_PORT=$LOG_PORT
send --to sub photos/notes.txt
expect_rc 1 "--to against --stdout"
grep -q "receiver refused: this receiver writes its one file to its stdout (--stdout)" "$SEND_ERR" ||
  fail "--stdout and --to: $(cat "$SEND_ERR")"
pass "--to against a --stdout receiver is refused (exit 1)"
