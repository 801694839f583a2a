# shellcheck shell=bash
# A lossy path between two network namespaces, for tests and benchmarks
# (sourced; needs root). The sender's namespace shapes its egress with tbf
# (netem, for added delay, is not in every kernel, so none is added; the
# simulated link in tests/rudp covers long RTTs); the receiver's namespace drops a random share
# of what arrives, in nftables' prerouting hook. Drops must be on the
# receiving side's input: a drop on the sender's own output comes back to
# the sender as a send error instead of a lost packet.
#
#   netns_up RATE LOSS_PERCENT           e.g. netns_up 100mbit 1
#       sets NS_SEND, NS_RECV, ADDR_SEND, ADDR_RECV, NS_DEV_SEND, NS_DEV_RECV
#   netns_loss PERCENT                   changes the drop rate
#   netns_down                           removes both namespaces
# Only addresses inside these namespaces are used; nothing leaves them.

netns_up() {
  local rate=$1 loss=$2
  local tag=f$$$RANDOM
  tag=${tag:0:10}
  NS_SEND=${tag}s
  NS_RECV=${tag}r
  NS_DEV_SEND=${tag}a
  NS_DEV_RECV=${tag}b
  ADDR_SEND=10.231.0.1
  ADDR_RECV=10.231.0.2
  ip netns add "$NS_SEND"
  ip netns add "$NS_RECV"
  ip link add "$NS_DEV_SEND" type veth peer name "$NS_DEV_RECV"
  ip link set "$NS_DEV_SEND" netns "$NS_SEND"
  ip link set "$NS_DEV_RECV" netns "$NS_RECV"
  ip -n "$NS_SEND" addr add "$ADDR_SEND/24" dev "$NS_DEV_SEND"
  ip -n "$NS_RECV" addr add "$ADDR_RECV/24" dev "$NS_DEV_RECV"
  ip -n "$NS_SEND" link set lo up
  ip -n "$NS_RECV" link set lo up
  ip -n "$NS_SEND" link set "$NS_DEV_SEND" up
  ip -n "$NS_RECV" link set "$NS_DEV_RECV" up
  tc -n "$NS_SEND" qdisc add dev "$NS_DEV_SEND" root tbf rate "$rate" burst 64kb latency 50ms
  ip netns exec "$NS_RECV" nft -f - <<NFT
table inet ferry_loss {
  chain pre {
    type filter hook prerouting priority -300; policy accept;
    ip saddr $ADDR_SEND numgen random mod 100 < $loss drop
  }
}
NFT
}

netns_loss() {
  ip netns exec "$NS_RECV" nft flush chain inet ferry_loss pre
  if [ "$1" -ge 100 ]; then
    ip netns exec "$NS_RECV" nft add rule inet ferry_loss pre ip saddr "$ADDR_SEND" drop
  else
    ip netns exec "$NS_RECV" nft add rule inet ferry_loss pre ip saddr "$ADDR_SEND" numgen random mod 100 "<" "$1" drop
  fi
}

netns_down() {
  [ -n "${NS_SEND:-}" ] && ip netns del "$NS_SEND" 2>/dev/null
  [ -n "${NS_RECV:-}" ] && ip netns del "$NS_RECV" 2>/dev/null
  NS_SEND='' NS_RECV=''
  return 0
}
