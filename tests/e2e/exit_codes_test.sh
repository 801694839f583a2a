#!/usr/bin/env bash
# Each documented exit code that real processes can produce (the rest are
# provoked by scripted peers in hostile_peer_test).
source "$(dirname "$0")/lib.sh"

mkdir -p "$WORK/src"
printf 'hello\n' >"$WORK/src/a.txt"

# 2: usage, both programs.
rc=0; "$SEND" >/dev/null 2>&1 || rc=$?; [ "$rc" -eq 2 ] || fail "send usage exit $rc"
rc=0; "$RECV" --overwrite maybe >/dev/null 2>&1 || rc=$?; [ "$rc" -eq 2 ] || fail "recv usage exit $rc"
"$SEND" --help | grep -q '^  8    timeout' || fail "send --help lacks exit codes"
"$RECV" --help | grep -q '^  9    the receiver accepted a file but could not store it' || fail "recv --help lacks exit codes"
pass "2 usage"

# 0 and --once: the receiver exits with the session's status.
start_recv "$WORK/inbox" --once
send "$WORK/src/a.txt"
expect_rc 0 "plain send"
wait_exit "$RECV_PID" 10; [ "$WAIT_RC" -eq 0 ] || fail "--once receiver did not exit 0"
pass "0 success, --once"

# 1: partial, and the --once receiver reports it too.
printf 'changed\n' >"$WORK/src/a.txt"
start_recv "$WORK/inbox" --once
send "$WORK/src/a.txt"
expect_rc 1 "partial"
wait_exit "$RECV_PID" 10; [ "$WAIT_RC" -eq 1 ] || fail "--once receiver did not exit 1 on a partial session"
pass "1 partial"

# Something in the way is refused when offered: 1 (not 9, which is for a
# file accepted and then not storable). An identical file skipped is 0.
mkdir -p "$WORK/inbox1/a.txt"
start_recv "$WORK/inbox1"
send --json "$WORK/src/a.txt"
expect_rc 1 "a directory in the way of a file"
has_event "$SEND_OUT" '.event=="file_done" and .path=="a.txt" and .status=="rejected"' ||
  fail "a directory in the way: no rejected file_done"
rmdir "$WORK/inbox1/a.txt"
send "$WORK/src/a.txt"
expect_rc 0 "stored once the way is clear"
send --json "$WORK/src/a.txt"
expect_rc 0 "an identical file skipped"
has_event "$SEND_OUT" '.event=="file_done" and .path=="a.txt" and .status=="skipped"' ||
  fail "an identical file: no skipped file_done"
pass "1 for something in the way, 0 for an identical file skipped"

# Two paths that would arrive under one name: a usage error before anything
# connects, never one of them dropped quietly.
mkdir -p "$WORK/src2"
printf 'other\n' >"$WORK/src2/a.txt"
start_recv "$WORK/dup"
send "$WORK/src/a.txt" "$WORK/src2/a.txt"
expect_rc 2 "duplicate name"
grep -q "$WORK/src/a.txt and $WORK/src2/a.txt both arrive as a.txt" "$SEND_ERR" ||
  fail "collision message: $(cat "$SEND_ERR")"
! has_event "$RECV_OUT" '.event=="session_start"' || fail "connected despite a name collision"
[ -z "$(ls -A "$WORK/dup")" ] || fail "something was sent despite a name collision"
# The same path named twice is sent once.
send "$WORK/src/a.txt" "$WORK/src/a.txt"
expect_rc 0 "the same path twice"
cmp "$WORK/src/a.txt" "$WORK/dup/a.txt" || fail "the same path twice"
pass "duplicate names"

# 3: nothing listening; and a receiver that cannot bind.
start_recv "$WORK/inbox"
port=$RECV_PORT
kill "$RECV_PID"
wait_exit "$RECV_PID" 10
rc=0; "$SEND" --connect-timeout 5 "127.0.0.1:$port" "$WORK/src/a.txt" 2>"$WORK/c.err" || rc=$?
[ "$rc" -eq 3 ] || fail "connect refused exit $rc"
grep -q "connect to 127.0.0.1:$port: Connection refused" "$WORK/c.err" || fail "connect error text: $(cat "$WORK/c.err")"
start_recv "$WORK/inbox"
rc=0; "$RECV" --listen "127.0.0.1:$RECV_PORT" --dir "$WORK/inbox" 2>"$WORK/b.err" || rc=$?
[ "$rc" -eq 3 ] || fail "bind failure exit $rc"
grep -q "Address already in use" "$WORK/b.err" || fail "bind error text"
pass "3 connect / listen"

# 7: a path that does not exist (the others are still sent).
send "$WORK/src/a.txt" "$WORK/src/missing.txt"
expect_rc 7 "missing path"
grep -q 'missing.txt: No such file or directory' "$SEND_ERR" || fail "missing path message"
pass "7 local I/O"

# 8: a receiver that accepts but never answers (stopped with SIGSTOP; the
# kernel still completes the TCP handshake).
kill -STOP "$RECV_PID"
rc=0; timeout 30 "$SEND" --timeout 1 "127.0.0.1:$RECV_PORT" "$WORK/src/a.txt" 2>"$WORK/t.err" || rc=$?
kill -CONT "$RECV_PID"
[ "$rc" -eq 8 ] || fail "silent receiver exit $rc: $(cat "$WORK/t.err")"
grep -q 'timed out' "$WORK/t.err" || fail "timeout message"
pass "8 timeout"

# 9: the receiver cannot create the part file (a directory occupies its
# name), so it cannot store the file. (Files over 1 MiB get a named part
# file; smaller ones are written anonymously.)
name_hash=$(printf '%s' big9.bin | xxhsum -H3 - | awk '{print $NF}')
mkdir -p "$WORK/inbox9/.ferry-part-$name_hash"
head -c $((2 * 1024 * 1024)) /dev/urandom >"$WORK/src/big9.bin"
start_recv "$WORK/inbox9"
send "$WORK/src/big9.bin"
expect_rc 9 "remote I/O"
grep -q 'big9.bin: not stored by receiver: cannot write it: something is in the way of its temporary name' "$SEND_ERR" ||
  fail "remote I/O message: $(cat "$SEND_ERR")"
pass "9 remote I/O"
# The same obstacle at a small file's part name does not matter: small
# files are written without a name until they are verified.
small_hash=$(printf '%s' a.txt | xxhsum -H3 - | awk '{print $NF}')
mkdir -p "$WORK/inbox9/.ferry-part-$small_hash"
send "$WORK/src/a.txt"
expect_rc 0 "small file beside an occupied part name"
cmp "$WORK/src/a.txt" "$WORK/inbox9/a.txt" || fail "small file not stored beside an occupied part name"
pass "small files need no part name"

# 130 / 143: interrupted while streaming, never 0.
start_recv "$WORK/inbox"
open_stall
for sig in INT TERM; do
  "$SEND" "127.0.0.1:$RECV_PORT" - --name "stream-$sig.bin" <"$STALL" {STALL_FD}>&- 2>"$WORK/sig.err" &
  spid=$!
  head -c 100000 /dev/urandom >&"$STALL_FD"
  wait_event "$RECV_OUT" ".event==\"session_start\"" 10
  sleep 0.3
  kill -"$sig" "$spid"
  wait_exit "$spid" 10; rc=$WAIT_RC
  want=130; [ "$sig" = TERM ] && want=143
  [ "$rc" -eq "$want" ] || fail "SIG$sig exit $rc, expected $want"
done
wait_event "$RECV_OUT" '.event=="session_end" and .exit_code != 0' 10
# A --once receiver can be interrupted while its one session is open.
start_recv "$WORK/inbox-once" --once
"$SEND" "127.0.0.1:$RECV_PORT" - --name once.bin <"$STALL" {STALL_FD}>&- 2>"$WORK/once.err" &
spid=$!
printf 'partial' >&"$STALL_FD"
wait_event "$RECV_OUT" '.event=="session_start"' 10
kill -INT "$RECV_PID"
wait_exit "$RECV_PID" 10
[ "$WAIT_RC" -eq 130 ] || fail "--once receiver interrupted mid-session exited $WAIT_RC, expected 130"
wait_exit "$spid" 10
[ ! -e "$WORK/inbox-once/once.bin" ] || fail "interrupted --once session kept a file"
[[ ! -e "$WORK/inbox/stream-INT.bin" && ! -e "$WORK/inbox/stream-TERM.bin" ]] || fail "interrupted stream kept"
pass "130/143 interrupted"

# Every row of the README's exit-code table is produced by some test
# (expect_rc N, or a status compared with N).
readme="$(dirname "$0")/../../README.md"
codes=$(sed -n '/^### Exit codes/,/^### JSON/p' "$readme" | grep -oE '^\| [0-9]+(, [0-9]+)*' | tr -d '|,')
[ "$(echo "$codes" | wc -w)" -ge 12 ] || fail "README exit-code table not found ($codes)"
for code in $codes; do
  grep -qE "(expect_rc|-eq|want=) *\"?$code\b" "$(dirname "$0")"/*.sh ||
    fail "exit code $code is in the README's table but no test produces it"
done
pass "every exit code in the README's table is produced by a test: $(tr '\n' ' ' <<<"$codes")"

