#!/usr/bin/env bash
# UDP mode through a path that cuts datagrams longer than 2048 bytes, as
# some widely used SOCKS5 proxies relay them (tests/support/udp_relay.cpp):
# directly and as a SOCKS5 UDP ASSOCIATE relay. Path MTU discovery must not
# take a cut probe for a carried size (the probe states its own length);
# a cut data packet is loss, never a reason to close. 20 MiB must arrive.
source "$(dirname "$0")/lib.sh"

MIB=$((1024 * 1024))
mkdir -p "$WORK/src"
head -c $((20 * MIB)) /dev/urandom >"$WORK/src/big.bin"
start_recv "$WORK/inbox"

# check_cut LABEL: big.bin arrived whole over UDP, in datagrams that fit.
check_cut() {
  expect_rc 0 "$1"
  cmp "$WORK/src/big.bin" "$WORK/inbox/big.bin" || fail "$1: file differs"
  has_event "$SEND_OUT" '.event=="session_end" and .transport=="udp" and .mtu_probes > 0' ||
    fail "$1: not UDP mode with probing: $(tail -n 1 "$SEND_OUT")"
  local size
  size=$(jq -s '[.[] | select(.event=="session_end")][0].packet_size' "$SEND_OUT")
  [ "$size" -le 2048 ] || fail "$1: settled on $size-byte packets through a 2048-byte cut"
  echo "$1: settled on $size-byte packets"
  rm "$WORK/inbox/big.bin"
}

start_udp_relay --truncate 2048 --to "127.0.0.1:$RECV_PORT"
# (send() names the receiver itself: ferry-send is pointed at the relay here.)
SEND_OUT=$WORK/direct.out SEND_ERR=$WORK/direct.err SEND_RC=0
timeout 120 "$SEND" --udp=strict --json --timeout 20 "127.0.0.1:$UDP_RELAY_PORT" "$WORK/src/big.bin" \
  >"$SEND_OUT" 2>"$SEND_ERR" || SEND_RC=$?
check_cut "20 MiB through a plain relay that cuts datagrams at 2048 bytes"
kill "$UDP_RELAY_PID" 2>/dev/null || true
pass "UDP mode through a relay that cuts long datagrams: probes settle below the cut"

start_udp_relay --truncate 2048 --socks5
send --udp=strict --json --timeout 20 --proxy "socks5://127.0.0.1:$UDP_RELAY_PORT" "$WORK/src/big.bin"
check_cut "20 MiB through a SOCKS5 UDP relay that cuts datagrams at 2048 bytes"
pass "UDP mode through a SOCKS5 proxy that cuts long datagrams: probes settle below the cut"
