#!/usr/bin/env bash
# Faults injected into real transfers, TCP and UDP mode: the receiver
# SIGKILLed mid-file, the SOCKS5 proxy (dante) SIGKILLed mid-file, bytes
# corrupted on the wire by a relay. Each time the sender exits with its
# documented code and a clear message, nothing is kept under a final name
# unverified, and the next run (new receiver, new proxy) resumes after the
# kept bytes and ends byte-exact. (Sender SIGKILL: resume_test.sh; disk
# full and permission denied: disk_test.sh.)
source "$(dirname "$0")/proxy_lib.sh"

MIB=$((1024 * 1024))
mkdir -p "$WORK/src"
head -c $((32 * MIB)) /dev/urandom >"$WORK/src/big.bin"
FAULTS=0

# run_bg ARGS...: ferry-send ARGS big.bin in the background; sets BG_PID,
# BG_OUT, BG_ERR.
run_bg() {
  _n=$((_n + 1))
  BG_OUT=$WORK/bg$_n.out BG_ERR=$WORK/bg$_n.err
  timeout 120 "$SEND" "$@" --json -q "$WORK/src/big.bin" >"$BG_OUT" 2>"$BG_ERR" &
  BG_PID=$!
  _pids+=("$BG_PID")
}

# expect_bg_exit CODE TEXT LABEL: the background sender ended with CODE and
# said TEXT; nothing was stored under the final name.
expect_bg_exit() {
  wait_exit "$BG_PID" 40
  [ "$WAIT_RC" -eq "$1" ] || fail "$3: sender exited $WAIT_RC, expected $1: $(cat "$BG_ERR")"
  grep -q "$2" "$BG_ERR" || fail "$3: unclear error: $(cat "$BG_ERR")"
  [ ! -e "$WORK/inbox/big.bin" ] || fail "$3: a partial file appeared under its final name"
  FAULTS=$((FAULTS + 1))
}

# resume_big LABEL SEND_ARGS...: the part file the fault left is final now;
# sends big.bin again with SEND_ARGS and expects a resume after exactly it.
resume_big() {
  local label=$1 kept
  shift
  kept=$(part_size "$WORK/inbox")
  [ "$kept" -gt 0 ] || fail "$label: the receiver kept no part file"
  send --json "$@" "$WORK/src/big.bin"
  expect_resumed "$label" "$WORK/src/big.bin" "$WORK/inbox" "$kept"
}

# ---- receiver SIGKILLed mid-file --------------------------------------------
# TCP, through a throttling relay so that the kill lands mid-file.
start_recv "$WORK/inbox"
start_relay --to "127.0.0.1:$RECV_PORT" --rate 8000000
run_bg "127.0.0.1:$RELAY_PORT"
wait_part "$WORK/inbox" $((8 * MIB)) 30
kill -9 "$RECV_PID"
expect_bg_exit 3 "connection closed by peer\|connection reset" "TCP, receiver killed"
kill -9 "$RELAY_PID" 2>/dev/null || true
start_recv "$WORK/inbox"
resume_big "TCP, new receiver after a kill"
pass "TCP: receiver SIGKILLed mid-file → sender exit 3; a new receiver resumes, byte-exact"

# UDP, rate-capped.
run_bg "127.0.0.1:$RECV_PORT" --udp --rate 64M
wait_part "$WORK/inbox" $((8 * MIB)) 30
kill -9 "$RECV_PID"
expect_bg_exit 3 "connection lost\|connection refused\|stopped answering" "UDP, receiver killed"
# The summary of a failed UDP session says UDP, as its session_start did.
has_event "$BG_OUT" '.event=="session_end" and .transport=="udp" and .exit_code==3' ||
  fail "summary of the failed UDP session: $(tail -n 1 "$BG_OUT")"
start_recv "$WORK/inbox"
resume_big "UDP, new receiver after a kill" --udp
has_event "$SEND_OUT" '.event=="session_end" and .transport=="udp"' || fail "UDP resume not over UDP"
pass "UDP: receiver SIGKILLed mid-file → sender exit 3; a new receiver resumes over UDP, byte-exact"

# ---- proxy SIGKILLed mid-file -----------------------------------------------
kill_dante() {
  pkill -9 -P "$PROXY_PID" || true  # its io-children relay on by themselves
  kill -9 "$PROXY_PID"
}
# TCP: sender → dante → throttling relay → receiver.
start_relay --to "127.0.0.1:$RECV_PORT" --rate 8000000
start_dante "$WORK/px"
ended=$(session_ends)
run_bg --proxy "socks5://127.0.0.1:$PROXY_PORT" "127.0.0.1:$RELAY_PORT"
wait_part "$WORK/inbox" $((8 * MIB)) 30
kill_dante
expect_bg_exit 3 "connection closed by peer\|connection reset" "TCP, proxy killed"
# The relay (the rest of the path) still delivers what it holds; the
# receiver ends that session when the stream ends, and only then lets go
# of the part file.
wait_session_end "$ended" 30
start_dante "$WORK/px"
resume_big "TCP, through a new proxy" --proxy "socks5://127.0.0.1:$PROXY_PORT"
pass "TCP: dante SIGKILLed mid-file → sender exit 3; resumed through a new dante, byte-exact"

# UDP through dante (UDP ASSOCIATE), rate-capped.
ended=$(session_ends)
run_bg --udp=strict --rate 64M --proxy "socks5://127.0.0.1:$PROXY_PORT" "127.0.0.1:$RECV_PORT"
wait_part "$WORK/inbox" $((8 * MIB)) 30
kill_dante
expect_bg_exit 3 "the proxy ended the UDP association" "UDP, proxy killed"
wait_session_end "$ended" 30  # the receiver's idle timeout (UDP: 10 s at most)
start_dante "$WORK/px"
resume_big "UDP, through a new proxy" --udp=strict --proxy "socks5://127.0.0.1:$PROXY_PORT"
pass "UDP: dante SIGKILLed mid-file → sender exit 3; resumed through a new dante over UDP, byte-exact"

# ---- bytes corrupted on the wire ----------------------------------------------
# One byte of file content flipped in flight (2 MiB into the stream, past
# the handshake): TLS finds the record forged, the receiver says so (a
# bad_record_mac alert) and the session ends; nothing is kept, the next
# session goes through.
start_relay --to "127.0.0.1:$RECV_PORT" --corrupt-at $((2 * MIB + 4321))
SEND_HOST=127.0.0.1 RECV_PORT_SAVED=$RECV_PORT
RECV_PORT=$RELAY_PORT send --json "$WORK/src/big.bin"
RECV_PORT=$RECV_PORT_SAVED
expect_rc 6 "corrupted wire"
grep -q 'integrity check (changed in transit)' "$SEND_ERR" ||
  fail "corruption not reported as an integrity failure: $(cat "$SEND_ERR")"
has_event "$SEND_OUT" '.event=="session_end" and .exit_code==6' || fail "no summary with exit code 6"
[ ! -e "$WORK/inbox/big.bin" ] || fail "a corrupted file was kept"
# What TLS authenticated before the forged record is a sound prefix: kept
# for a resume, which the next send makes.
FAULTS=$((FAULTS + 1))
send "$WORK/src/big.bin"
expect_rc 0 "clean send after the corrupted one"
cmp "$WORK/src/big.bin" "$WORK/inbox/big.bin" || fail "clean send differs"
no_leftovers "$WORK/inbox"
pass "a byte flipped on the wire → exit 6 (TLS record forged), file not kept, receiver serving"
echo "faults injected and survived: $FAULTS"
