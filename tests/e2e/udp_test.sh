#!/usr/bin/env bash
# UDP mode over real sockets on loopback: the same sessions as TCP mode,
# byte-exact, with the transport's figures in the summary; concurrency;
# clear failures when nothing listens or the receiver dies.
source "$(dirname "$0")/lib.sh"

make_sample "$WORK/src/sample" 3
start_recv "$WORK/inbox"
send --udp --json "$WORK/src/sample/"
expect_rc 0 "sample tree over UDP"
same_tree "$WORK/src/sample" "$WORK/inbox/sample" || fail "sample tree differs"
no_leftovers "$WORK/inbox"
has_event "$SEND_OUT" '.event=="session_start" and .transport=="udp"' || fail "session_start does not say udp"
# On loopback path MTU discovery takes the packets from 1200 bytes to the
# largest size (one probe).
has_event "$SEND_OUT" '.event=="session_end" and .exit_code==0 and .transport=="udp" and .packets_sent > 40 and .packet_size == 65000 and .mtu_probes == 1 and (.rtt_ms|type)=="number" and (.loss_percent|type)=="number" and (.retransmitted_bytes|type)=="number"' ||
  fail "summary lacks the UDP figures: $(tail -n 1 "$SEND_OUT")"
grep -q '^ferry-send: udp: rtt' "$SEND_ERR" || fail "no human UDP summary line"
pass "sample tree over UDP, 65000-byte packets found on loopback, summary with rtt/loss/retransmissions"

send --udp "$WORK/src/sample"
expect_rc 0 "identical resend over UDP"
grep -q '9 skipped' "$SEND_ERR" || fail "identical files were not skipped over UDP: $(cat "$SEND_ERR")"
pass "identical resend skipped over UDP"

# 256 MiB, default and large datagrams; IPv6 loopback for one of them.
head -c $((256 * 1024 * 1024)) /dev/urandom >"$WORK/src/big.bin"
# carried_by_udp LABEL: the last send's summary shows UDP packets.
carried_by_udp() {
  has_event "$SEND_OUT" '.event=="session_end" and .transport=="udp" and .packets_sent > 0' ||
    fail "$1: not carried in UDP mode: $(tail -n 1 "$SEND_OUT")"
}
send --udp -q --json "$WORK/src/big.bin"
expect_rc 0 "256 MiB over UDP"
carried_by_udp "256 MiB"
has_event "$SEND_OUT" '.event=="session_end" and .packet_size == 65000 and .packets_sent < 20000' ||
  fail "--udp-size auto did not find 65000-byte packets on loopback: $(tail -n 1 "$SEND_OUT")"
cmp "$WORK/src/big.bin" "$WORK/inbox/big.bin" || fail "256 MiB file differs"
rm "$WORK/inbox/big.bin"
send --udp --udp-size 1200 -q --json "$WORK/src/big.bin"
expect_rc 0 "256 MiB over UDP with 1200-byte datagrams"
carried_by_udp "256 MiB, 1200-byte datagrams"
has_event "$SEND_OUT" '.event=="session_end" and .packet_size == 1200 and .mtu_probes == 0 and .packets_sent > 200000' ||
  fail "--udp-size 1200 did not keep to 1200-byte datagrams: $(tail -n 1 "$SEND_OUT")"
cmp "$WORK/src/big.bin" "$WORK/inbox/big.bin" || fail "256 MiB file differs (1200-byte datagrams)"
pass "256 MiB byte-exact over UDP (auto-sized 65000 B and fixed 1200 B datagrams)"

if [ -n "$(ip -6 addr show dev lo 2>/dev/null)" ]; then
  RECV_LISTEN="[::1]:0" start_recv "$WORK/inbox6"
  SEND_HOST="[::1]" send --udp --json "$WORK/src/sample"
  expect_rc 0 "UDP over IPv6"
  carried_by_udp "IPv6"
  has_event "$SEND_OUT" '.event=="session_end" and .packet_size > 1200' ||
    fail "IPv6: path MTU discovery did not grow the packets: $(tail -n 1 "$SEND_OUT")"
  same_tree "$WORK/src/sample" "$WORK/inbox6/sample" || fail "IPv6 tree differs"
  pass "UDP over IPv6 loopback"
fi

# Eight UDP senders and two TCP senders at once into one receiver.
start_recv "$WORK/many"
for k in $(seq 1 10); do
  mkdir -p "$WORK/src/m$k"
  head -c $((2 * 1024 * 1024 + k)) /dev/urandom >"$WORK/src/m$k/data.bin"
  for i in $(seq 1 30); do printf '%d %d\n' "$k" "$i" >"$WORK/src/m$k/f$i"; done
done
pids=()
for k in $(seq 1 10); do
  mode=--udp
  [ "$k" -gt 8 ] && mode=--no-proxy
  timeout 120 "$SEND" -q --json $mode "127.0.0.1:$RECV_PORT" "$WORK/src/m$k" \
    >"$WORK/m$k.out" 2>"$WORK/m$k.err" &
  pids+=($!)
done
for k in $(seq 1 10); do
  rc=0
  wait "${pids[$((k - 1))]}" || rc=$?
  [ "$rc" -eq 0 ] || fail "sender $k exited $rc: $(cat "$WORK/m$k.err")"
done
for k in $(seq 1 10); do same_tree "$WORK/src/m$k" "$WORK/many/m$k" || fail "sender $k tree"; done
for k in $(seq 1 8); do
  has_event "$WORK/m$k.out" '.event=="session_end" and .transport=="udp"' || fail "sender $k did not use UDP"
done
[ "$(jq -c 'select(.event=="session_end" and .exit_code==0)' "$RECV_OUT" | wc -l)" -eq 10 ] ||
  fail "expected 10 clean sessions"
pass "8 UDP and 2 TCP senders at once"

# Nothing listens on UDP: refused at once (ICMP), exit 3, not a timeout.
start_recv "$WORK/tcponly" --no-udp
has_event "$RECV_OUT" '.event=="listening" and .udp==false' || fail "listening event lacks udp:false"
send --udp --connect-timeout 20 "$WORK/src/sample"
expect_rc 3 "UDP to a TCP-only receiver"
grep -q 'udp connect to 127.0.0.1:[0-9]*: connection refused (nothing listens on UDP port' "$SEND_ERR" ||
  fail "unclear refusal: $(cat "$SEND_ERR")"
pass "TCP-only receiver: UDP sender exits 3 with a clear message"

# The receiver dies mid-file: the sender notices (on loopback the kernel
# answers for the closed port; elsewhere unanswered keepalives end it within
# the timeout, see netem_test.sh) and exits 3, naming the loss.
start_recv "$WORK/dies"
open_stall
timeout 60 "$SEND" --udp --timeout 3 --name stream.bin "127.0.0.1:$RECV_PORT" - <"$STALL" \
  >"$WORK/dies.out" 2>"$WORK/dies.err" {STALL_FD}>&- &
spid=$!
_pids+=("$spid")
head -c 1000000 /dev/urandom >&"$STALL_FD"
wait_event "$RECV_OUT" '.event=="session_start"' 10
sleep 0.5
kill -9 "$RECV_PID"
wait_exit "$spid" 30
[ "$WAIT_RC" -eq 3 ] || fail "sender exited $WAIT_RC after the receiver died, expected 3: $(cat "$WORK/dies.err")"
grep -Eq 'connection lost: (peer stopped answering|Connection refused)' "$WORK/dies.err" ||
  fail "unclear error: $(cat "$WORK/dies.err")"
pass "receiver killed: UDP sender exits 3 (connection lost)"
