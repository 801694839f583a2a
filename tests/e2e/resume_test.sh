#!/usr/bin/env bash
# Verified resume and --skip-identical over real sockets, TCP and UDP mode:
# a sender SIGKILLed mid-file leaves a part file (never a final name); the
# next run continues after the kept bytes, which the sender checks by hash
# first, and sends only the rest. A kept prefix that differs (corrupted on
# the receiver's disk) is detected and the file sent whole.
source "$(dirname "$0")/lib.sh"

MIB=$((1024 * 1024))
mkdir -p "$WORK/src"
head -c $((32 * MIB)) /dev/urandom >"$WORK/src/big.bin"
start_recv "$WORK/inbox"
start_relay --to "127.0.0.1:$RECV_PORT" --rate 8000000  # 8 MB/s: 4 s for the file

# kill_mid_file ARGS...: starts a sender with ARGS, SIGKILLs it once the
# receiver holds 8 MiB of big.bin, and waits for the receiver to end that
# session (so its part file is unlocked).
kill_mid_file() {
  local ended
  ended=$(session_ends)
  "$SEND" "$@" -q "$WORK/src/big.bin" >/dev/null 2>"$WORK/killed.err" &
  local pid=$!
  _pids+=("$pid")
  wait_part "$WORK/inbox" $((8 * MIB)) 30
  kill -9 "$pid"
  wait "$pid" 2>/dev/null || true
  wait_session_end "$ended" 20
  [ ! -e "$WORK/inbox/big.bin" ] || fail "a partial file appeared under its final name"
  KEPT=$(part_size "$WORK/inbox")
  [ "$KEPT" -ge $((8 * MIB)) ] || fail "the receiver did not keep the part file ($KEPT bytes)"
}

# TCP: sender killed mid-file, then resumed directly.
kill_mid_file "127.0.0.1:$RELAY_PORT"
send --json "$WORK/src/big.bin"
expect_resumed "TCP resume" "$WORK/src/big.bin" "$WORK/inbox" "$KEPT"
grep -q 'resumed 1 file after' "$SEND_ERR" || fail "no human resume line: $(cat "$SEND_ERR")"
# Progress events for wrappers: at least one at the start and one at the
# end, which counts every byte (the kept ones included) and the file.
[ "$(jq -s '[.[] | select(.event=="progress")] | length' "$SEND_OUT")" -ge 2 ] ||
  fail "fewer than 2 progress events"
jq -e -s "[.[] | select(.event==\"progress\")] | last | .bytes==$((32 * MIB)) and .total_bytes==$((32 * MIB)) and .files==1 and .total_files==1" \
  "$SEND_OUT" >/dev/null || fail "the last progress event does not count everything"
pass "TCP: sender SIGKILLed at $KEPT bytes, resumed: only the rest sent, byte-exact"

# SIGINT mid-file: exit 130, and the sender says what is kept and how to go
# on. The same command then resumes, on a terminal: it says it verifies the
# kept bytes, and its rate is the wire's (the relay's 8 MB/s), never the
# kept bytes counted as sent in no time (a resume once showed 3.9 GB/s).
ended=$(session_ends)
"$SEND" "127.0.0.1:$RELAY_PORT" "$WORK/src/big.bin" 2>"$WORK/int.err" &
pid=$!
_pids+=("$pid")
wait_part "$WORK/inbox" $((8 * MIB)) 30
kill -INT "$pid"
wait_exit "$pid" 10
[ "$WAIT_RC" -eq 130 ] || fail "SIGINT mid-file: exit $WAIT_RC, expected 130"
grep -qE 'interrupted by SIGINT; up to [0-9.]+ MiB of big.bin sent: the receiver keeps what reached it; run the same command again to resume' \
  "$WORK/int.err" || fail "the interruption does not say what is kept: $(cat "$WORK/int.err")"
wait_session_end "$ended" 20
script -qec "$SEND 127.0.0.1:$RELAY_PORT $WORK/src/big.bin" /dev/null >"$WORK/tty.out" </dev/null ||
  fail "resume on a terminal failed: $(tail -c 400 "$WORK/tty.out")"
cmp "$WORK/src/big.bin" "$WORK/inbox/big.bin" || fail "resumed on a terminal: file differs"
grep -q 'verifying kept bytes' "$WORK/tty.out" || fail "no 'verifying kept bytes' while the prefix was hashed"
grep -q 'resumed 1 file after' "$WORK/tty.out" || fail "the terminal run did not resume"
fastest=$(tr '\r' '\n' <"$WORK/tty.out" | grep -oE '[0-9.]+ [kMG]B/s' |
  awk '{ v = $1 * ($2 ~ /^G/ ? 1000 : $2 ~ /^M/ ? 1 : 0.001); if (v > m) m = v } END { print m + 0 }')
awk -v f="$fastest" 'BEGIN { exit !(f < 24) }' ||
  fail "the progress line showed $fastest MB/s through an 8 MB/s relay: kept bytes counted as sent"
rm "$WORK/inbox/big.bin"
pass "SIGINT mid-file: 130, says what is kept; the same command resumes ('verifying kept bytes', rate $fastest MB/s at most)"

# UDP mode, rate-capped so that the kill lands mid-file.
kill_mid_file "127.0.0.1:$RECV_PORT" --udp --rate 64M
send --udp --json "$WORK/src/big.bin"
expect_resumed "UDP resume" "$WORK/src/big.bin" "$WORK/inbox" "$KEPT"
has_event "$SEND_OUT" '.event=="session_end" and .transport=="udp"' || fail "UDP resume not over UDP"
pass "UDP: sender SIGKILLed at $KEPT bytes, resumed over UDP, byte-exact"

# A retry right after a killed UDP sender, before the receiver could notice
# (no FIN in UDP mode: the dead session would hold the part file until its
# timeout): the new session waits for the holder's peer to be silent for
# 3 s, takes the part over and resumes it.
"$SEND" "127.0.0.1:$RECV_PORT" --udp --rate 64M -q "$WORK/src/big.bin" >/dev/null 2>"$WORK/killed.err" &
pid=$!
_pids+=("$pid")
wait_part "$WORK/inbox" $((8 * MIB)) 30
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
send --udp --json --timeout 60 "$WORK/src/big.bin"
expect_rc 0 "a retry right after a killed UDP sender"
cmp "$WORK/src/big.bin" "$WORK/inbox/big.bin" || fail "file differs after a takeover"
grep -q 'big.bin: taking the part file over from 127.0.0.1:[0-9]*, silent for' "$RECV_ERR" ||
  fail "no takeover in the receiver's log: $(tail -n 5 "$RECV_ERR")"
has_event "$SEND_OUT" '.event=="session_end" and .resumed==1 and .resumed_bytes >= 8388608' ||
  fail "the retry did not resume the dead session's part: $(tail -n 1 "$SEND_OUT")"
no_leftovers "$WORK/inbox"
rm "$WORK/inbox/big.bin"
pass "UDP: a retry right after a killed sender takes the part over and resumes"

# The kept prefix is damaged on the receiver's disk: the prefix hash differs,
# the sender restarts the file, nothing damaged is kept.
kill_mid_file "127.0.0.1:$RELAY_PORT"
part=$(find "$WORK/inbox" -name '.ferry-part-*')
printf 'X' | dd of="$part" bs=1 seek=1000 conv=notrunc status=none
send --json "$WORK/src/big.bin"
expect_rc 0 "restart after a damaged prefix"
cmp "$WORK/src/big.bin" "$WORK/inbox/big.bin" || fail "file differs after restart"
has_event "$SEND_OUT" ".event==\"session_end\" and .resumed==0 and .restarted==1 and .bytes==$((32 * MIB))" ||
  fail "damaged prefix not detected: $(tail -n 1 "$SEND_OUT")"
has_event "$SEND_OUT" '.event=="file_restarted" and .path=="big.bin"' || fail "no file_restarted event"
rm "$WORK/inbox/big.bin"
pass "damaged kept prefix detected by its hash: file sent whole, byte-exact"

# --no-resume: the kept bytes are ignored and overwritten.
kill_mid_file "127.0.0.1:$RELAY_PORT"
send --json --no-resume "$WORK/src/big.bin"
expect_rc 0 "--no-resume"
cmp "$WORK/src/big.bin" "$WORK/inbox/big.bin" || fail "file differs with --no-resume"
has_event "$SEND_OUT" ".event==\"session_end\" and .resumed==0 and .bytes==$((32 * MIB))" ||
  fail "--no-resume resumed: $(tail -n 1 "$SEND_OUT")"
no_leftovers "$WORK/inbox"
rm "$WORK/inbox/big.bin"
pass "--no-resume sends the whole file over a kept part"

# The source changed size meanwhile: a kept part longer than the offer is
# not resumed from.
kill_mid_file "127.0.0.1:$RELAY_PORT"
mkdir -p "$WORK/src/short"
head -c $((4 * MIB)) "$WORK/src/big.bin" >"$WORK/src/short/big.bin"
send --json "$WORK/src/short/big.bin"
expect_rc 0 "shorter file over a longer kept part"
cmp "$WORK/src/short/big.bin" "$WORK/inbox/big.bin" || fail "short file differs"
has_event "$SEND_OUT" '.event=="session_end" and .resumed==0' || fail "resumed from a part longer than the file"
no_leftovers "$WORK/inbox"
rm "$WORK/inbox/big.bin"
pass "a kept part longer than the offered file is discarded"

# --skip-identical: same bytes, different mtime → skipped by content; same
# size and mtime but different bytes → not skipped.
mkdir -p "$WORK/src/same"
head -c 100000 /dev/urandom >"$WORK/src/same/a.bin"
# (byte 5 is 'A', so the 'Z' written over it below always differs)
printf 'A' | dd of="$WORK/src/same/a.bin" bs=1 seek=5 conv=notrunc status=none
start_recv "$WORK/inbox2" --overwrite always
send "$WORK/src/same"
expect_rc 0 "first copy"
touch -d '2001-01-01' "$WORK/inbox2/same/a.bin"
send --json --skip-identical "$WORK/src/same"
expect_rc 0 "--skip-identical, same content"
has_event "$SEND_OUT" '.event=="file_done" and .status=="skipped" and .path=="same/a.bin" and (.reason|contains("XXH3-128"))' ||
  fail "identical content with another mtime not skipped: $(cat "$SEND_OUT")"
has_event "$SEND_OUT" '.event=="session_end" and .bytes==0' || fail "--skip-identical sent content"
# Same size and mtime, different bytes: mtime alone would skip it.
printf 'Z' | dd of="$WORK/inbox2/same/a.bin" bs=1 seek=5 conv=notrunc status=none
touch -r "$WORK/src/same/a.bin" "$WORK/inbox2/same/a.bin"
send --json --skip-identical "$WORK/src/same"
expect_rc 0 "--skip-identical, different content"
cmp "$WORK/src/same/a.bin" "$WORK/inbox2/same/a.bin" || fail "different content was skipped"
has_event "$SEND_OUT" '.event=="session_end" and .bytes==100000 and .skipped==0' ||
  fail "different content with same size and mtime not sent: $(tail -n 1 "$SEND_OUT")"
pass "--skip-identical skips by content (size + XXH3-128), not by mtime"

# Kept parts expire: at start (and every hour) the receiver removes those
# older than --partial-ttl and reports the rest.
mkdir -p "$WORK/ttl/sub"
head -c 1000 /dev/urandom >"$WORK/ttl/.ferry-part-00000000000000aa"
head -c 500 /dev/urandom >"$WORK/ttl/sub/.ferry-part-00000000000000bb"
touch -d '10 days ago' "$WORK/ttl/.ferry-part-00000000000000aa"
start_recv "$WORK/ttl" --partial-ttl 7d
wait_event "$RECV_OUT" '.event=="partials"' 10
has_event "$RECV_OUT" '.event=="partials" and .kept==1 and .kept_bytes==500 and .removed==1 and .removed_bytes==1000' ||
  fail "partials event: $(cat "$RECV_OUT")"
[ ! -e "$WORK/ttl/.ferry-part-00000000000000aa" ] || fail "an expired part was kept"
[ -e "$WORK/ttl/sub/.ferry-part-00000000000000bb" ] || fail "a fresh part was removed"
grep -q '1 part file (500 B) kept for resumes in .*; removed 1 (1000 B) older than --partial-ttl' "$RECV_ERR" ||
  fail "no report of kept parts: $(cat "$RECV_ERR")"
kill "$RECV_PID"
touch -d '10 days ago' "$WORK/ttl/sub/.ferry-part-00000000000000bb"
start_recv "$WORK/ttl" --partial-ttl 0
wait_event "$RECV_OUT" '.event=="partials"' 10
has_event "$RECV_OUT" '.event=="partials" and .kept==1 and .removed==0' || fail "--partial-ttl 0 removed a part"
kill "$RECV_PID"
pass "--partial-ttl removes expired kept parts at start and reports the rest"
