#!/usr/bin/env bash
# --compress with the real binaries: text crosses the wire as zstd and
# random bytes as they are, over TCP and UDP mode, and every file arrives
# byte-exact; a resume after a cut mid-file is still exact; a pipe to
# --stdout works compressed.
source "$(dirname "$0")/lib.sh"

MIB=$((1024 * 1024))
# text_file NAME LINES: log-like text (compressible, as source and logs are).
text_file() {
  seq 1 "$2" | awk '{ printf "2026-12-01 %08d session %d stored file-%d.dat of %d bytes\n", $1, $1 % 7, $1 % 1000, $1 * 37 % 100000 }' >"$1"
}
mkdir -p "$WORK/src/tree/logs" "$WORK/src/tree/media"
text_file "$WORK/src/tree/logs/app.log" 150000  # about 9 MB
for i in 1 2 3 4 5; do text_file "$WORK/src/tree/logs/small$i.txt" $((i * 40)); done
head -c $((3 * MIB)) /dev/urandom >"$WORK/src/tree/media/photo.jpg"
: >"$WORK/src/tree/empty"
raw=$(du -sb --apparent-size "$WORK/src/tree" | cut -f1)

for mode in tcp udp; do
  extra=()
  [ "$mode" = udp ] && extra=(--udp=strict)
  start_recv "$WORK/inbox-$mode"
  send --json -z "${extra[@]}" "$WORK/src/tree"
  expect_rc 0 "-z over $mode"
  same_tree "$WORK/src/tree" "$WORK/inbox-$mode/tree" || fail "-z over $mode: trees differ"
  bytes=$(jq -s '[.[] | select(.event=="session_end")][0].bytes' "$SEND_OUT")
  wire=$(jq -s '[.[] | select(.event=="session_end")][0].wire_bytes' "$SEND_OUT")
  has_event "$SEND_OUT" '.event=="session_end" and .compressed==true' || fail "$mode: not compressed"
  # The random 3 MiB cannot shrink; the 9 MB of text shrinks several times.
  { [ "$wire" -ge $((3 * MIB)) ] && [ "$wire" -lt $((5 * MIB)) ]; } ||
    fail "$mode: $bytes content bytes took $wire on the wire"
  grep -q "^ferry-send: compressed: .* of content took .* on the wire" "$SEND_ERR" ||
    fail "$mode: no compression line: $(cat "$SEND_ERR")"
  kill "$RECV_PID"
  wait_exit "$RECV_PID" 10
  pass "-z over $mode: $bytes content bytes took $wire on the wire, tree exact"
done
[ "$bytes" -le "$raw" ] || fail "content bytes $bytes over the tree's $raw"

# Without -z nothing is compressed, and the figures say so.
start_recv "$WORK/inbox-plain"
send --json "$WORK/src/tree"
expect_rc 0 "no -z"
has_event "$SEND_OUT" '.event=="session_end" and .compressed==false and .wire_bytes==.bytes' ||
  fail "no -z: $(tail -n 1 "$SEND_OUT")"
kill "$RECV_PID"
wait_exit "$RECV_PID" 10
start_recv "$WORK/inbox-nocompress" --no-compress
send --json -z "$WORK/src/tree"
expect_rc 0 "-z against --no-compress"
same_tree "$WORK/src/tree" "$WORK/inbox-nocompress/tree" || fail "-z against --no-compress: trees differ"
has_event "$SEND_OUT" '.event=="session_end" and .compressed==false and .wire_bytes==.bytes' ||
  fail "-z against --no-compress: $(tail -n 1 "$SEND_OUT")"
grep -q "the receiver does not take --compress: sending content as it is" "$SEND_ERR" ||
  fail "-z against --no-compress: no warning: $(cat "$SEND_ERR")"
send --compress-level 3 "$WORK/src/tree"
expect_rc 2 "--compress-level without --compress"
send -z --compress-level 20 "$WORK/src/tree"
expect_rc 2 "--compress-level 20"
pass "without -z, or against --no-compress, the wire carries the bytes as they are; --compress-level is checked"

# A cut mid-file, then a compressed resume: the kept bytes are the file's
# own (offsets are in the file's bytes, not the wire's), checked by hash,
# and the result is exact. Half random, half text, so both kinds cross.
big=$WORK/src/mixed.bin
for i in $(seq 1 12); do
  head -c "$MIB" /dev/urandom
  text_file "$WORK/block" 17000
  head -c "$MIB" "$WORK/block"
done >"$big"
start_recv "$WORK/inbox-resume"
start_relay --to "127.0.0.1:$RECV_PORT" --rate 4000000
ended=$(session_ends)
"$SEND" "127.0.0.1:$RELAY_PORT" -z -q "$big" >/dev/null 2>"$WORK/killed.err" &
pid=$!
_pids+=("$pid")
wait_part "$WORK/inbox-resume" $((6 * MIB)) 30
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
wait_session_end "$ended" 20
KEPT=$(part_size "$WORK/inbox-resume")
[ ! -e "$WORK/inbox-resume/mixed.bin" ] || fail "a partial file under its final name"
send --json -z "$big"
expect_resumed "compressed resume" "$big" "$WORK/inbox-resume" "$KEPT"
pass "a compressed transfer cut mid-file resumes exactly after $KEPT kept bytes"

# A pipe: tar | ferry-send -z - ... and ferry-recv --once --stdout | tar x.
out=$WORK/stdout.tar
"$RECV" --listen 127.0.0.1:0 --dir "$WORK/unused" --once --stdout \
  >"$out" 2>"$WORK/recv-stdout.err" &
rpid=$!
_pids+=("$rpid")
log_port "$WORK/recv-stdout.err"
port=$LOG_PORT
tar -C "$WORK/src" -c tree | timeout 60 "$SEND" "127.0.0.1:$port" -z -q - --name tree.tar ||
  fail "tar | ferry-send -z -"
wait_exit "$rpid" 20
[ "$WAIT_RC" -eq 0 ] || fail "--stdout receiver exited $WAIT_RC: $(cat "$WORK/recv-stdout.err")"
mkdir -p "$WORK/untar"
tar -C "$WORK/untar" -xf "$out"
diff -r "$WORK/src/tree" "$WORK/untar/tree" >&2 || fail "tar through -z and --stdout differs"  # (tar keeps whole seconds)
pass "tar | ferry-send -z - and ferry-recv --once --stdout | tar x"
