# shellcheck shell=bash
# An emulated long, fat, lossy path between two network namespaces, for
# tests and benchmarks (sourced; needs root and /dev/net/tun). The link is
# ferry-test-wan (tests/support/wan_link.cpp): two TUN devices, one in each
# namespace, joined in user space with a one-way delay, a rate, a drop-tail
# queue and seeded random loss per direction. Only addresses inside these
# namespaces are used; nothing leaves them.
#
#   wan_up BIN RATE RTT_MS LOSS_PERCENT [QUEUE_MS] [EXTRA...]
#       BIN: the directory holding ferry-test-wan; RTT_MS is split evenly
#       between the two directions; EXTRA goes to ferry-test-wan
#       (--jitter MS, --reorder PERCENT, --seed N). Sets WAN_NS_A, WAN_NS_B,
#       WAN_ADDR_A, WAN_ADDR_B, WAN_PID, WAN_LOG.
#   wan_down                             stops the link (its counters land
#                                        in WAN_LOG) and removes both namespaces
#   wan_counters                         the link's counters, after wan_down
#   wan_snapshot                         "in lost queue_drops" of a_to_b so far

wan_up() {
  local bin=$1 rate=$2 rtt=$3 loss=$4 queue=${5:-100}
  shift 5 2>/dev/null || shift $#
  local tag=w$$$RANDOM
  tag=${tag:0:9}
  WAN_NS_A=${tag}a
  WAN_NS_B=${tag}b
  WAN_ADDR_A=10.233.0.1
  WAN_ADDR_B=10.233.0.2
  WAN_LOG=$(mktemp "${TMPDIR:-/tmp}/ferry-wan.XXXXXX")
  ip netns add "$WAN_NS_A"
  ip netns add "$WAN_NS_B"
  "$bin/ferry-test-wan" --a "${tag}ta" --b "${tag}tb" --rate "$rate" \
    --delay "$(awk -v r="$rtt" 'BEGIN { print r / 2 }')" --loss "$loss" --queue "$queue" \
    --limit "${WAN_LIMIT:-900}" "$@" >"$WAN_LOG" 2>&1 &
  WAN_PID=$!
  local _
  for _ in $(seq 1 100); do
    grep -q '^ready' "$WAN_LOG" && break
    kill -0 "$WAN_PID" 2>/dev/null || { cat "$WAN_LOG" >&2; return 1; }
    sleep 0.05
  done
  grep -q '^ready' "$WAN_LOG" || { echo "wan: the link did not start" >&2; return 1; }
  ip link set "${tag}ta" netns "$WAN_NS_A"
  ip link set "${tag}tb" netns "$WAN_NS_B"
  ip -n "$WAN_NS_A" addr add "$WAN_ADDR_A" peer "$WAN_ADDR_B" dev "${tag}ta"
  ip -n "$WAN_NS_B" addr add "$WAN_ADDR_B" peer "$WAN_ADDR_A" dev "${tag}tb"
  ip -n "$WAN_NS_A" link set "${tag}ta" mtu 1500 up
  ip -n "$WAN_NS_B" link set "${tag}tb" mtu 1500 up
  ip -n "$WAN_NS_A" link set lo up
  ip -n "$WAN_NS_B" link set lo up
}

wan_down() {
  if [ -n "${WAN_PID:-}" ]; then
    kill "$WAN_PID" 2>/dev/null || true
    wait "$WAN_PID" 2>/dev/null || true
    WAN_PID=''
  fi
  [ -n "${WAN_NS_A:-}" ] && ip netns del "$WAN_NS_A" 2>/dev/null
  [ -n "${WAN_NS_B:-}" ] && ip netns del "$WAN_NS_B" 2>/dev/null
  WAN_NS_A='' WAN_NS_B=''
  return 0
}

# wan_counters: "a_to_b: in N lost N queue_drops N out N bytes_out N ..."
# and the same for b_to_a (after wan_down).
wan_counters() { grep -E '^(a_to_b|b_to_a):' "$WAN_LOG"; }

# wan_snapshot: the a-to-b counters so far, "IN LOST QUEUE_DROPS" (the link
# prints them on SIGUSR1; waits for the new line, bounded).
wan_snapshot() {
  local before _
  before=$(grep -c '^snapshot' "$WAN_LOG")
  kill -USR1 "$WAN_PID" 2>/dev/null || return 1
  for _ in $(seq 1 50); do
    [ "$(grep -c '^snapshot' "$WAN_LOG")" -gt "$before" ] && break
    sleep 0.02
  done
  grep '^snapshot a_to_b:' "$WAN_LOG" | tail -n 1 | awk '{ print $4, $6, $8 }'
}
