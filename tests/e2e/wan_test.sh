#!/usr/bin/env bash
# The emulated WAN link (ferry-test-wan, scripts/lib/wan.sh) does what it
# says, measured through it: a TCP connect takes the round trip (within
# 2 ms), iperf3 moves the rate (within 5%), and random loss is the share
# set. Then ferry itself over a long lossy path: UDP and TCP mode arrive
# byte-exact, and UDP mode's own loss count matches the link's. Needs root,
# /dev/net/tun and iperf3; skipped otherwise. Under the sanitizers the
# link's figures get wider bounds: the emulator runs instrumented too.
source "$(dirname "$0")/lib.sh"
# shellcheck source=../../scripts/lib/wan.sh
source "$here/../../scripts/lib/wan.sh"

[ "$(id -u)" -eq 0 ] || skip "needs root for network namespaces"
[ -c /dev/net/tun ] || skip "no /dev/net/tun"
command -v iperf3 >/dev/null || skip "iperf3 is not installed (scripts/setup.sh --bench)"
trap 'wan_down; _cleanup' EXIT

# connect_ms: milliseconds a TCP connect from A to B takes (median of 5).
connect_ms() {
  ip netns exec "$WAN_NS_B" timeout 20 python3 -c '
import socket, sys
s = socket.socket(); s.bind((sys.argv[1], 7301)); s.listen(16)
for _ in range(5): s.accept()[0].close()' "$WAN_ADDR_B" &
  local lpid=$!
  sleep 0.3
  ip netns exec "$WAN_NS_A" timeout 20 python3 -c '
import socket, sys, time
t = []
for _ in range(5):
    c = socket.socket(); a = time.monotonic(); c.connect((sys.argv[1], 7301)); t.append(time.monotonic() - a); c.close()
print("%.2f" % (sorted(t)[2] * 1000))' "$WAN_ADDR_B"
  wait "$lpid" || true
}

rtt_hi=102 rate_lo=95
[ -n "${FERRY_SANITIZED:-}" ] && rtt_hi=120 rate_lo=70
wan_up "$FERRY_BIN" 100M 100 0
got=$(connect_ms)
awk -v g="$got" -v hi="$rtt_hi" 'BEGIN { exit !(g >= 99 && g <= hi) }' ||
  fail "a TCP connect over a 100 ms path took $got ms"
pass "a TCP connect over the 100 ms path takes $got ms"

# Rate, on a 10 ms path (a short round trip lets TCP fill it in seconds).
wan_down
wan_up "$FERRY_BIN" 100M 10 0
ip netns exec "$WAN_NS_B" timeout 30 iperf3 -s -1 -B "$WAN_ADDR_B" -p 7302 >/dev/null 2>&1 &
spid=$!
sleep 0.5
ip netns exec "$WAN_NS_A" timeout 30 iperf3 -c "$WAN_ADDR_B" -p 7302 -t 6 -O 1 -J >"$WORK/iperf.json" ||
  fail "iperf3 through the link: $(tail -n 5 "$WORK/iperf.json")"
wait "$spid" || true
mbit=$(jq -r '.end.sum_received.bits_per_second / 1e6' "$WORK/iperf.json")
awk -v m="$mbit" -v lo="$rate_lo" 'BEGIN { exit !(m >= lo && m <= 105) }' ||
  fail "iperf3 through a 100 Mbit/s link: $mbit Mbit/s"
pass "iperf3 through the 100 Mbit/s link: $(printf '%.1f' "$mbit") Mbit/s"

# Loss: 4,000 datagrams at 5% loss, counted by the link and by the
# receiver; both within 1.5 points of 5% (3 standard deviations).
wan_down
wan_up "$FERRY_BIN" 100M 10 5
ip netns exec "$WAN_NS_B" timeout 30 python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((sys.argv[1], 7303)); s.settimeout(2)
n = 0
try:
    while True: s.recv(2048); n += 1
except socket.timeout: pass
print(n)' "$WAN_ADDR_B" >"$WORK/udp.count" &
rpid=$!
sleep 0.3
ip netns exec "$WAN_NS_A" timeout 30 python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(4000):
    s.sendto(b"x" * 1000, (sys.argv[1], 7303))
    if i % 100 == 99: time.sleep(0.01)' "$WAN_ADDR_B"
wait "$rpid" || true
wan_down
got=$(cat "$WORK/udp.count")
read -r in lost <<<"$(wan_counters | awk '/^a_to_b:/ { print $3, $5 }')"
awk -v g="$got" -v i="$in" -v l="$lost" 'BEGIN { r = 1 - g / 4000; c = l / i
  exit !(r >= 0.035 && r <= 0.065 && c >= 0.035 && c <= 0.065) }' ||
  fail "5% loss: the receiver got $got of 4000; the link dropped $lost of $in"
pass "5% random loss: the receiver got $got of 4000 datagrams; the link dropped $lost of $in"

# ferry over 100 Mbit/s, 100 ms, 1% loss each way: a tree and 8 MiB in UDP
# mode, byte-exact, UDP mode counting about the loss the link applied to its
# packets; the tree alone in TCP mode (cubic crawls at this loss).
make_sample "$WORK/src/sample" 2
head -c $((8 * 1024 * 1024)) /dev/urandom >"$WORK/src/big.bin"
wan_up "$FERRY_BIN" 100M 100 1
RECV_PREFIX=(ip netns exec "$WAN_NS_B")
RECV_LISTEN="$WAN_ADDR_B:0" start_recv "$WORK/inbox" --timeout 10
wan_send() {  # wan_send LABEL ARGS...
  local label=$1
  shift
  rm -rf "$WORK/inbox/sample" "$WORK/inbox/big.bin"
  SEND_OUT=$WORK/$label.out SEND_ERR=$WORK/$label.err SEND_RC=0
  ip netns exec "$WAN_NS_A" timeout 120 "$SEND" --json "$@" >"$SEND_OUT" 2>"$SEND_ERR" ||
    SEND_RC=$?
  expect_rc 0 "ferry $label over 100 ms and 1% loss"
  same_tree "$WORK/src/sample" "$WORK/inbox/sample" || fail "ferry $label: the tree differs"
}
wan_send udp --udp "$WAN_ADDR_B:$RECV_PORT" "$WORK/src/sample" "$WORK/src/big.bin"
cmp "$WORK/src/big.bin" "$WORK/inbox/big.bin" || fail "ferry --udp: big.bin differs"
sent=$(jq -r 'select(.event == "session_end") | .packets_sent' "$WORK/udp.out")
lost=$(jq -r 'select(.event == "session_end") | .packets_lost' "$WORK/udp.out")
awk -v s="$sent" -v l="$lost" 'BEGIN { exit !(s > 5000 && l > 0 && l / s < 0.03) }' ||
  fail "UDP mode over 1% loss: $lost of $sent packets counted lost"
wan_send tcp "$WAN_ADDR_B:$RECV_PORT" "$WORK/src/sample"
pass "ferry over 100 ms and 1% loss: byte-exact in UDP and TCP mode; UDP mode counted $lost of $sent packets lost"
