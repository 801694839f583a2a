#!/usr/bin/env bash
# The sample tree arrives byte-identical with modes and mtimes; a second
# send of the same tree is skipped as identical (exit 0).
source "$(dirname "$0")/lib.sh"

make_sample "$WORK/src/sample" 3
start_recv "$WORK/inbox"
send --json "$WORK/src/sample/"
expect_rc 0 "sample tree"
same_tree "$WORK/src/sample" "$WORK/inbox/sample" || fail "sample tree differs"
no_leftovers "$WORK/inbox"
has_event "$SEND_OUT" '.event=="session_end" and .exit_code == 0 and .failed == 0' ||
  fail "summary event missing or wrong: $(tail -n 1 "$SEND_OUT")"
# One file_done per entry; files and directories counted apart.
[ "$(jq -c 'select(.event=="file_done" and .kind=="file")' "$SEND_OUT" | wc -l)" -eq 9 ] ||
  fail "expected 9 file_done events for files"
dirs=$(find "$WORK/src/sample" -type d | wc -l)
[ "$(jq -c 'select(.event=="file_done" and .kind=="directory" and .status=="stored")' "$SEND_OUT" | wc -l)" -eq "$dirs" ] ||
  fail "expected $dirs file_done events for directories"
has_event "$SEND_OUT" ".event==\"session_end\" and .files==9 and .directories==$dirs" ||
  fail "session_end does not count 9 files and $dirs directories apart: $(tail -n 1 "$SEND_OUT")"
has_event "$RECV_OUT" ".event==\"session_end\" and .files==9 and .directories==$dirs" ||
  fail "the receiver's session_end does not count 9 files and $dirs directories apart"
grep -q "stored 9 files and $dirs directories" "$SEND_ERR" || fail "the sender's summary line miscounts"
grep -q "session done; stored 9 files and $dirs directories" "$RECV_ERR" || fail "the receiver's session line miscounts"
has_event "$SEND_OUT" '.event=="file_done" and .path=="sample/big/random.bin" and (.hash | test("^[0-9a-f]{32}$"))' ||
  fail "file_done lacks a hash"
expected=$(xxhsum -H2 "$WORK/src/sample/big/random.bin" | cut -d' ' -f1 | sed 's/^XXH128_//')
has_event "$SEND_OUT" ".event==\"file_done\" and .hash==\"$expected\"" || fail "file_done hash is not the file's XXH3-128 ($expected)"
pass "sample tree identical"

send --json "$WORK/src/sample"
expect_rc 0 "identical resend"
[ "$(jq -c 'select(.event=="file_done" and .status=="skipped")' "$SEND_OUT" | wc -l)" -eq 9 ] || fail "identical files were not skipped"
pass "identical files skipped"

# Receiver's per-file events and log lines name peer, path, bytes and verdict.
has_event "$RECV_OUT" '.event=="file_done" and .path=="sample/big/random.bin" and .status=="stored" and .bytes == 3145728' ||
  fail "receiver file event missing"
grep -q 'sample/big/random.bin: stored, 3.0 MiB' "$RECV_ERR" || fail "receiver log line missing"
pass "receiver logs"

# IPv6, and the default all-addresses listener taking IPv4 and IPv6 alike.
RECV_LISTEN='[::1]:0' start_recv "$WORK/inbox6"
SEND_HOST='[::1]' send "$WORK/src/sample"
expect_rc 0 "IPv6"
same_tree "$WORK/src/sample" "$WORK/inbox6/sample" || fail "IPv6 tree differs"
RECV_LISTEN=':0' start_recv "$WORK/inbox-any"
has_event "$RECV_OUT" '.event=="listening" and .address=="::"' || fail "default listener is not [::]"
SEND_HOST='127.0.0.1' send "$WORK/src/sample/README.txt"
expect_rc 0 "IPv4 to the dual-stack listener"
SEND_HOST='[::1]' send "$WORK/src/sample/docs"
expect_rc 0 "IPv6 to the dual-stack listener"
[[ -f "$WORK/inbox-any/README.txt" && -f "$WORK/inbox-any/docs/run.sh" ]] || fail "dual-stack delivery"
pass "IPv6 and dual-stack"

# Progress goes to stderr only on a terminal (script(1) gives us one).
RECV_LISTEN='' start_recv "$WORK/inbox-tty"
script -qec "$SEND 127.0.0.1:$RECV_PORT $WORK/src/sample/big" /dev/null >"$WORK/tty.out" </dev/null ||
  fail "send on a tty failed: $(cat "$WORK/tty.out")"
grep -q 'ETA' "$WORK/tty.out" || fail "no progress line on a terminal"
grep -q 'random.bin' "$WORK/tty.out" || fail "progress does not name the current file"
! grep -q 'ETA' "$SEND_ERR" || fail "progress written to a non-terminal"
pass "progress on a terminal only"
