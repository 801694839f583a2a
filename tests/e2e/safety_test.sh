#!/usr/bin/env bash
# Receiver confinement with a symlink planted in its tree; sender symlink
# handling; per-file limits.
source "$(dirname "$0")/lib.sh"

mkdir -p "$WORK/inbox" "$WORK/outside" "$WORK/src/evil"
ln -s "$WORK/outside" "$WORK/inbox/evil"
printf 'payload\n' >"$WORK/src/evil/x.txt"
start_recv "$WORK/inbox"
send --json "$WORK/src/evil"
expect_rc 1 "symlink in destination"
[ -z "$(ls -A "$WORK/outside")" ] || fail "wrote through a symlink out of the receive directory"
has_event "$SEND_OUT" '.event=="file_done" and .status=="rejected" and .path=="evil/x.txt" and (.reason | test("symlink"))' ||
  fail "rejection does not name the symlink"
pass "symlink inside the receive tree is not followed"

# Sender: symlinks skipped with a warning, or followed on request.
mkdir -p "$WORK/src/links"
printf 'target\n' >"$WORK/src/target.txt"
ln -s "$WORK/src/target.txt" "$WORK/src/links/link.txt"
send "$WORK/src/links"
expect_rc 0 "symlink skipped"
grep -q 'skipping symlink' "$SEND_ERR" || fail "no symlink warning"
[ ! -e "$WORK/inbox/links/link.txt" ] || fail "symlink was sent without --follow-symlinks"
send --follow-symlinks "$WORK/src/links"
expect_rc 0 "symlink followed"
cmp "$WORK/src/target.txt" "$WORK/inbox/links/link.txt" || fail "--follow-symlinks content"
pass "sender symlinks"

# --max-file-size: an over-limit file is rejected, smaller ones still land.
mkdir -p "$WORK/src/sized"
head -c 2048 /dev/urandom >"$WORK/src/sized/big"
printf 'small\n' >"$WORK/src/sized/small"
start_recv "$WORK/inbox2" --max-file-size 1K
send "$WORK/src/sized"
expect_rc 1 "max-file-size"
grep -q 'big: rejected by receiver: file too large' "$SEND_ERR" || fail "size reason"
[[ ! -e "$WORK/inbox2/sized/big" && -f "$WORK/inbox2/sized/small" ]] || fail "max-file-size outcome"
mkdir -p "$WORK/src/deep/er"
head -c 2048 /dev/urandom >"$WORK/src/deep/er/big"
send "$WORK/src/deep/er/big"
expect_rc 1 "max-file-size, single file"
[ ! -e "$WORK/inbox2/big" ] || fail "over-limit file kept"
# A stream over the limit is cut off while it arrives.
send - --name stream.bin < <(head -c 4096 /dev/urandom)
expect_rc 1 "max-file-size on a stream"
[ ! -e "$WORK/inbox2/stream.bin" ] || fail "over-limit stream kept"
no_leftovers "$WORK/inbox2"
pass "max-file-size"

# --max-session-bytes
mkdir -p "$WORK/src/sess"
for i in 1 2 3; do head -c 1000 /dev/urandom >"$WORK/src/sess/f$i"; done
start_recv "$WORK/inbox3" --max-session-bytes 2500
send "$WORK/src/sess"
expect_rc 1 "max-session-bytes"
[ "$(find "$WORK/inbox3/sess" -type f | wc -l)" -eq 2 ] || fail "session limit let in the wrong number of files"
pass "max-session-bytes"

# --max-sessions: one sender holds the only session; the next is refused
# with a reason and exit 3 (retry later); the first still completes.
start_recv "$WORK/inbox4" --max-sessions 1
open_stall
"$SEND" -q "127.0.0.1:$RECV_PORT" - --name held.bin <"$STALL" {STALL_FD}>&- 2>"$WORK/held.err" &
held=$!
printf 'held\n' >&"$STALL_FD"
wait_event "$RECV_OUT" '.event=="session_start"' 10
send "$WORK/src/target.txt"
expect_rc 3 "second session over --max-sessions"
grep -q 'receiver is busy' "$SEND_ERR" || fail "busy reason: $(cat "$SEND_ERR")"
exec {STALL_FD}>&-
wait_exit "$held" 10
[ "$WAIT_RC" -eq 0 ] || fail "held session exit $WAIT_RC: $(cat "$WORK/held.err")"
[ "$(cat "$WORK/inbox4/held.bin")" = held ] || fail "held session content"
pass "max-sessions"
