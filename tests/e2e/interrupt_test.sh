#!/usr/bin/env bash
# Killing a sender mid-file leaves no file under its final name and no part
# file, and the receiver keeps serving. SIGTERM stops the receiver cleanly.
source "$(dirname "$0")/lib.sh"

start_recv "$WORK/inbox"
open_stall
"$SEND" -q "127.0.0.1:$RECV_PORT" - --name victim.bin <"$STALL" {STALL_FD}>&- &
spid=$!
head -c 3000000 /dev/urandom >&"$STALL_FD"
wait_event "$RECV_OUT" '.event=="session_start"' 10
sleep 0.5
kill -9 "$spid"
wait_event "$RECV_OUT" '.event=="session_end"' 10
[ ! -e "$WORK/inbox/victim.bin" ] || fail "killed transfer left a final file"
no_leftovers "$WORK/inbox"
pass "SIGKILL mid-file leaves nothing"

mkdir -p "$WORK/src"
printf 'after\n' >"$WORK/src/after.txt"
send "$WORK/src/after.txt"
expect_rc 0 "receiver still serving"
pass "receiver keeps serving"

# SIGTERM while idle: prompt exit 0.
kill -TERM "$RECV_PID"
wait_exit "$RECV_PID" 5; [ "$WAIT_RC" -eq 0 ] || fail "idle receiver did not exit 0 on SIGTERM"
pass "idle SIGTERM exits 0"

# SIGTERM with a stalled session: cut after the grace period, exit 143, the
# sender is told the receiver is shutting down, no part file remains.
start_recv "$WORK/inbox"
"$SEND" -q "127.0.0.1:$RECV_PORT" - --name stalled.bin <"$STALL" {STALL_FD}>&- 2>"$WORK/stalled.err" &
spid=$!
head -c 100000 /dev/urandom >&"$STALL_FD"
wait_event "$RECV_OUT" '.event=="session_start"' 10
sleep 0.3
kill -TERM "$RECV_PID"
wait_exit "$RECV_PID" 10; [ "$WAIT_RC" -eq 143 ] || fail "receiver with a cut session did not exit 143"
[ ! -e "$WORK/inbox/stalled.bin" ] || fail "cut session left a final file"
no_leftovers "$WORK/inbox"
wait_exit "$spid" 25; rc=$WAIT_RC
[ "$rc" -eq 3 ] || fail "sender exit $rc after the receiver stopped, expected 3: $(cat "$WORK/stalled.err")"
grep -q 'receiver reported an error: receiver is shutting down' "$WORK/stalled.err" ||
  fail "the sender was not told the receiver is shutting down: $(cat "$WORK/stalled.err")"
grep -q 'caught SIGTERM, shutting down (waiting for 1 session)' "$RECV_ERR" ||
  fail "the receiver did not say it is shutting down"
grep -qE ': session failed: receiver is shutting down: session cut short; stored 0 files' "$RECV_ERR" ||
  fail "the cut session's line: $(grep 'session failed' "$RECV_ERR")"
! grep -q 'aborted\.,' "$RECV_ERR" || fail "stray punctuation in the receiver's log"
pass "SIGTERM with a session: 143, nothing half-written"
