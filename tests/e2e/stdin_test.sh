#!/usr/bin/env bash
# Streaming stdin of unknown length (tar c data | ferry-send - --name ...).
source "$(dirname "$0")/lib.sh"

make_sample "$WORK/src/data" 2
start_recv "$WORK/inbox"
send --json - --name data.tar < <(tar --format=posix -C "$WORK/src" -cf - data)
expect_rc 0 "stdin stream"
mkdir -p "$WORK/untar"
tar -C "$WORK/untar" -xf "$WORK/inbox/data.tar"
same_tree "$WORK/src/data" "$WORK/untar/data" || fail "tar through stdin differs"
has_event "$SEND_OUT" '.event=="file_done" and .path=="data.tar" and .status == "stored"' ||
  fail "no file_done for the stream"
pass "stdin stream"

# An empty stream is an empty file.
send - --name empty.bin </dev/null
expect_rc 0 "empty stdin"
[[ -f "$WORK/inbox/empty.bin" && ! -s "$WORK/inbox/empty.bin" ]] || fail "empty stream"
pass "empty stdin"

# ferry-recv --once --stdout: the nc pair, verified. tar c | ferry-send -
# on one side, ferry-recv --stdout | tar x on the other; the receiver's exit
# code says whether the hash matched.
# stdout_recv NAME [ARGS...]: a --once --stdout receiver writing to
# $WORK/NAME.stdout, its log in $WORK/NAME.err; sets SO_PID and SO_PORT.
stdout_recv() {
  local name=$1
  shift
  "$RECV" --listen 127.0.0.1:0 --once --stdout --dir "$WORK/unused" "$@" \
    >"$WORK/$name.stdout" 2>"$WORK/$name.err" &
  SO_PID=$!
  _pids+=("$SO_PID")
  log_port "$WORK/$name.err"
  SO_PORT=$LOG_PORT
}
stdout_recv tar
mkdir -p "$WORK/untar2"
rc=0
tar --format=posix -C "$WORK/src" -cf - data |
  "$SEND" "127.0.0.1:$SO_PORT" - --name data.tar 2>"$WORK/so-send.err" || rc=$?
[ "$rc" -eq 0 ] || fail "sender to --stdout: exit $rc: $(cat "$WORK/so-send.err")"
wait_exit "$SO_PID" 20
[ "$WAIT_RC" -eq 0 ] || fail "--stdout receiver exit $WAIT_RC: $(cat "$WORK/tar.err")"
tar -C "$WORK/untar2" -xf "$WORK/tar.stdout"
same_tree "$WORK/src/data" "$WORK/untar2/data" || fail "tar through --stdout differs"
[ ! -e "$WORK/unused" ] || [ -z "$(ls -A "$WORK/unused")" ] || fail "--stdout wrote into --dir"
pass "--once --stdout: tar c | ferry-send - and ferry-recv --stdout | tar x, verified, exit 0"

# A regular file goes the same way, byte for byte; a second entry or a
# directory is refused (the sender exits 1, the receiver with its session).
head -c 3000000 /dev/urandom >"$WORK/src/one.bin"
stdout_recv one
rc=0
"$SEND" "127.0.0.1:$SO_PORT" "$WORK/src/one.bin" "$WORK/src/data" 2>"$WORK/so-two.err" || rc=$?
[ "$rc" -eq 1 ] || fail "two entries to --stdout: sender exit $rc, expected 1: $(cat "$WORK/so-two.err")"
grep -q 'data: rejected by receiver: --stdout: the receiver takes a file, not a directory' "$WORK/so-two.err" ||
  fail "the directory's refusal: $(cat "$WORK/so-two.err")"
wait_exit "$SO_PID" 20
[ "$WAIT_RC" -eq 1 ] || fail "--stdout receiver exit $WAIT_RC after a refused entry, expected 1"
cmp "$WORK/src/one.bin" "$WORK/one.stdout" || fail "the file through --stdout differs"
stdout_recv two
"$SEND" "127.0.0.1:$SO_PORT" "$WORK/src/one.bin" "$WORK/src/data/README.txt" 2>"$WORK/so-two.err" || true
grep -q 'README.txt: rejected by receiver: --stdout: the receiver takes one file per session' "$WORK/so-two.err" ||
  fail "the second file's refusal: $(cat "$WORK/so-two.err")"
wait_exit "$SO_PID" 20
cmp "$WORK/src/one.bin" "$WORK/two.stdout" || fail "the first file through --stdout differs"
# A directory first: refused, and so is every file in it (nothing reaches
# stdout as if the tree were one file).
stdout_recv tree
"$SEND" "127.0.0.1:$SO_PORT" "$WORK/src/data" 2>"$WORK/so-tree.err" || true
wait_exit "$SO_PID" 20
[ ! -s "$WORK/tree.stdout" ] || fail "a directory's files reached --stdout"
# A reader that stops reading: the receiver still hears its signals (it
# waits on the full pipe without blocking its thread) and ends at SIGTERM.
"$RECV" --listen 127.0.0.1:0 --once --stdout --dir "$WORK/unused" 2>"$WORK/slow.err" |
  (sleep 15; cat >/dev/null) &
pipeline=$!
_pids+=("$pipeline")
log_port "$WORK/slow.err"
SO_PORT=$LOG_PORT
head -c $((8 * 1024 * 1024)) /dev/urandom >"$WORK/src/eight.bin"
"$SEND" "127.0.0.1:$SO_PORT" "$WORK/src/eight.bin" 2>/dev/null &
_pids+=($!)
sleep 2
rpid=$(pgrep -f -- "--stdout --dir $WORK/unused" | head -n 1)
[ -n "$rpid" ] || fail "cannot find the slow-reader receiver"
kill -TERM "$rpid"
for _ in $(seq 1 160); do kill -0 "$rpid" 2>/dev/null || break; sleep 0.05; done
! kill -0 "$rpid" 2>/dev/null || fail "a receiver blocked on a full stdout ignored SIGTERM for 8 s"
grep -q 'caught SIGTERM' "$WORK/slow.err" || fail "no SIGTERM line: $(cat "$WORK/slow.err")"
# A reader that goes away: a message and exit 7, not a silent SIGPIPE.
"$RECV" --listen 127.0.0.1:0 --once --stdout --dir "$WORK/unused" 2>"$WORK/gone.err" |
  head -c 10 >/dev/null &
log_port "$WORK/gone.err"
SO_PORT=$LOG_PORT
"$SEND" "127.0.0.1:$SO_PORT" "$WORK/src/eight.bin" 2>"$WORK/gone-send.err" || true
for _ in $(seq 1 200); do grep -q 'session failed' "$WORK/gone.err" && break; sleep 0.05; done
grep -q 'Broken pipe' "$WORK/gone.err" || fail "a reader gone: $(cat "$WORK/gone.err")"
# stdout closed: refused before anything can take fd 1.
rc=0; timeout 10 "$RECV" --listen 127.0.0.1:0 --once --stdout --dir "$WORK/unused" >&- 2>"$WORK/closed.err" || rc=$?
[ "$rc" -eq 2 ] || fail "--stdout with stdout closed: exit $rc"
grep -q 'standard output is closed' "$WORK/closed.err" || fail "closed stdout message"
pass "--stdout: a directory refused whole; a full pipe does not deafen it; a vanished reader is EPIPE; a closed stdout refused"

# Usage: --stdout needs --once, and leaves stdout to the content (no --json).
rc=0; timeout 10 "$RECV" --stdout --dir "$WORK/unused" 2>/dev/null || rc=$?
[ "$rc" -eq 2 ] || fail "--stdout without --once: exit $rc"
rc=0; timeout 10 "$RECV" --stdout --once --json --dir "$WORK/unused" 2>/dev/null || rc=$?
[ "$rc" -eq 2 ] || fail "--stdout with --json: exit $rc"
pass "--stdout: a file byte for byte, a second entry or a directory refused, usage errors"
