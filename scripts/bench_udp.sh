#!/usr/bin/env bash
# UDP mode against TCP mode, measured in the same run, three ways:
#   1. clean loopback: one file, TCP mode vs UDP mode (1200 B and 65000 B
#      datagrams), best of RUNS;
#   2. (root) a veth pair between two network namespaces shaped to
#      100 Mbit/s, with 1% and then 5% random loss on the receiver's input:
#      UDP mode vs TCP mode with cubic and with bbr (--tcp-congestion, which
#      sets TCP_CONGESTION on the socket), one file each;
#   3. through dante on loopback: UDP mode via its UDP ASSOCIATE vs direct.
#
#   scripts/bench_udp.sh [SIZE_MIB (default 1024)] [RUNS (default 3)] [LOSSY_MIB (default 64)]
#
# Prints MB/s (10^6 bytes/s) or Mbit/s and the ratios. Output goes to
# BENCH_DIR (default a temp dir under /tmp; /dev/shm keeps the disk out).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
size_mib=${1:-1024}
runs=${2:-3}
lossy_mib=${3:-64}
build=${FERRY_BUILD_DIR:-$root/build}
"$root/scripts/setup.sh"
"$root/scripts/build.sh" "$build" Release >/dev/null
bin=$build/bin
source "$root/scripts/lib/proxy.sh"
source "$root/scripts/lib/netns.sh"

work=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/ferry-bench-udp.XXXXXX")
pids=()
cleanup() {
  stop_proxies
  netns_down
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

now() { date +%s.%N; }
rate() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.0f", b / s / 1e6 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }

# start_receiver DIR [PREFIX...]: ferry-recv on port 0, sets RPORT
start_receiver() {
  local dir=$1 listen=$2
  shift 2
  mkdir -p "$dir"
  "$@" "$bin/ferry-recv" --listen "$listen" --dir "$dir" --json >"$dir.events" 2>/dev/null &
  pids+=($!)
  RPORT=
  for _ in $(seq 1 100); do
    RPORT=$(jq -r 'select(.event=="listening") | .port' "$dir.events" 2>/dev/null | head -n 1)
    [ -n "$RPORT" ] && return 0
    sleep 0.05
  done
  echo "bench: receiver did not start" >&2
  exit 1
}

# timed_send SECONDS_VAR PREFIX... -- ARGS...: runs ferry-send, sets the var
timed_send() {
  local __var=$1
  shift
  local pre=()
  while [ "$1" != "--" ]; do pre+=("$1"); shift; done
  shift
  local s e
  s=$(now)
  "${pre[@]}" "$bin/ferry-send" -q "$@"
  e=$(now)
  printf -v "$__var" '%s' "$(awk -v s="$s" -v e="$e" 'BEGIN { print e - s }')"
}

src=$work/src.bin
head -c $((size_mib * 1024 * 1024)) /dev/urandom >"$src"
bytes=$(stat -c %s "$src")

echo "== 1. clean loopback, ${size_mib} MiB, best of $runs (MB/s)"
start_receiver "$work/lo" 127.0.0.1:0
declare -A best
for _ in $(seq 1 "$runs"); do
  for mode in tcp udp1200 udp65000; do
    case $mode in
      tcp) args=(--no-proxy) ;;
      udp1200) args=(--udp) ;;
      udp65000) args=(--udp --udp-size 65000) ;;
    esac
    rm -f "$work/lo/src.bin"
    sync
    timed_send secs -- "${args[@]}" "127.0.0.1:$RPORT" "$src"
    r=$(rate "$bytes" "$secs")
    [ "${best[$mode]:-0}" -ge "$r" ] || best[$mode]=$r
  done
done
printf '%-28s %8s\n' "ferry TCP mode" "${best[tcp]}"
printf '%-28s %8s   (%s of TCP)\n' "ferry UDP, 1200 B datagrams" "${best[udp1200]}" "$(ratio "${best[udp1200]}" "${best[tcp]}")"
printf '%-28s %8s   (%s of TCP)\n' "ferry UDP, 65000 B datagrams" "${best[udp65000]}" "$(ratio "${best[udp65000]}" "${best[tcp]}")"

if command -v danted >/dev/null; then
  echo "== 3. through dante on loopback, ${size_mib} MiB, best of $runs (MB/s)"
  start_dante "$work/px"
  best[dante]=0
  best[direct]=0
  for _ in $(seq 1 "$runs"); do
    rm -f "$work/lo/src.bin"
    sync
    timed_send secs -- --udp=strict --proxy "socks5://127.0.0.1:$PROXY_PORT" "127.0.0.1:$RPORT" "$src"
    r=$(rate "$bytes" "$secs")
    [ "${best[dante]}" -ge "$r" ] || best[dante]=$r
    rm -f "$work/lo/src.bin"
    sync
    timed_send secs -- --udp "127.0.0.1:$RPORT" "$src"
    r=$(rate "$bytes" "$secs")
    [ "${best[direct]}" -ge "$r" ] || best[direct]=$r
  done
  printf '%-28s %8s\n' "UDP mode direct" "${best[direct]}"
  printf '%-28s %8s   (%s of direct)\n' "UDP mode via dante" "${best[dante]}" "$(ratio "${best[dante]}" "${best[direct]}")"
fi

if [ "$(id -u)" -ne 0 ] || ! command -v nft >/dev/null; then
  echo "== 2. skipped: the lossy path needs root and nftables"
  exit 0
fi
lsrc=$work/lossy.bin
head -c $((lossy_mib * 1024 * 1024)) /dev/urandom >"$lsrc"
lbytes=$(stat -c %s "$lsrc")
netns_up 100mbit 1
start_receiver "$work/ns" "$ADDR_RECV:0" ip netns exec "$NS_RECV"
for loss in 1 5; do
  netns_loss "$loss"
  echo "== 2. veth 100 Mbit/s, ${loss}% random loss, ${lossy_mib} MiB (Mbit/s)"
  declare -A got=()
  for mode in udp cubic bbr; do
    args=(--no-proxy --tcp-congestion "$mode")
    [ "$mode" = udp ] && args=(--udp)
    rm -f "$work/ns/lossy.bin"
    timed_send secs ip netns exec "$NS_SEND" -- "${args[@]}" "$ADDR_RECV:$RPORT" "$lsrc"
    got[$mode]=$(awk -v b="$lbytes" -v s="$secs" 'BEGIN { printf "%.1f", b * 8 / s / 1e6 }')
  done
  printf '%-28s %8s\n' "ferry UDP mode" "${got[udp]}"
  printf '%-28s %8s   (UDP/cubic %s)\n' "ferry TCP mode, cubic" "${got[cubic]}" "$(ratio "${got[udp]}" "${got[cubic]}")"
  printf '%-28s %8s   (UDP/bbr %s)\n' "ferry TCP mode, bbr" "${got[bbr]}" "$(ratio "${got[udp]}" "${got[bbr]}")"
done
