#!/usr/bin/env bash
# Throughput of ferry against nc (netcat-openbsd) and socat -b 1048576 in the
# same run: one file over loopback into a directory, best of N runs each.
#
#   scripts/bench.sh [SIZE_MIB (default 1024)] [RUNS (default 3)]
#
# With dante installed, two more take their turns: ferry and nc -X 5 -x,
# each through the same dante on loopback.
#
# Every tool writes to the same file system (BENCH_DIR, default a temp dir
# under /tmp). Prints MB/s (10^6 bytes/s) and ferry's ratio to each peer.
# Timing: from the sender's start until the received file is complete (for
# ferry: hash-verified and renamed into place). Page-cache state swings a
# 1 GiB write between 0.3 and 3 GB/s here, so every run starts alike: the
# previous output is removed and dirty pages are flushed (sync, untimed),
# and the tools take turns round by round.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
size_mib=${1:-1024}
runs=${2:-3}
build=${FERRY_BUILD_DIR:-$root/build}
"$root/scripts/setup.sh"
"$root/scripts/build.sh" "$build" Release >/dev/null
bin=$build/bin
source "$root/scripts/lib/proxy.sh"

work=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/ferry-bench.XXXXXX")
pids=()
cleanup() {
  stop_proxies
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

src=$work/src.bin
head -c $((size_mib * 1024 * 1024)) /dev/urandom >"$src"
bytes=$(stat -c %s "$src")
cat "$src" >/dev/null  # warm the page cache for every tool alike

now_ns() { date +%s%N; }

free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 40000))
    ss -Htln "sport = :$p" | grep -q . || { echo "$p"; return; }
  done
}

wait_listen() {
  local port=$1 i
  for i in $(seq 1 200); do
    ss -Htln "sport = :$port" | grep -q . && return 0
    sleep 0.02
  done
  echo "bench: nothing listening on $port" >&2
  return 1
}

check() {
  cmp -s "$src" "$1" || { echo "bench: $2 delivered a different file" >&2; exit 1; }
  rm -rf "$1" "$work/inbox"
  sync
}

run_ferry() {
  run_ferry_via ""
}

run_ferry_dante() {
  run_ferry_via "--proxy=socks5://127.0.0.1:$dante_port"
}

run_ferry_via() {
  "$bin/ferry-recv" --once -q --listen 127.0.0.1:0 --dir "$work/inbox" --json >"$work/recv.json" 2>/dev/null &
  local rpid=$! port= i
  for i in $(seq 1 200); do
    port=$(jq -r 'select(.event=="listening") | .port' "$work/recv.json" 2>/dev/null | head -n 1)
    [ -n "$port" ] && break
    sleep 0.02
  done
  local t0
  t0=$(now_ns)
  "$bin/ferry-send" -q ${1:+"$1"} "127.0.0.1:$port" "$src"
  wait "$rpid"
  echo $(($(now_ns) - t0))
  check "$work/inbox/src.bin" ferry
}

run_nc() {
  run_nc_via
}

run_nc_dante() {
  run_nc_via -X 5 -x "127.0.0.1:$dante_port"
}

run_nc_via() {  # extra nc client options (a proxy), if any
  local port
  port=$(free_port)
  nc -l 127.0.0.1 "$port" >"$work/nc.out" &
  local rpid=$!
  wait_listen "$port"
  local t0
  t0=$(now_ns)
  nc -N "$@" 127.0.0.1 "$port" <"$src"
  wait "$rpid"
  echo $(($(now_ns) - t0))
  check "$work/nc.out" "nc $*"
}

run_socat() {
  local port
  port=$(free_port)
  socat -b 1048576 -u "TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr" "OPEN:$work/socat.out,creat,trunc" &
  local rpid=$!
  wait_listen "$port"
  local t0
  t0=$(now_ns)
  socat -b 1048576 -u "OPEN:$src" "TCP:127.0.0.1:$port"
  wait "$rpid"
  echo $(($(now_ns) - t0))
  check "$work/socat.out" socat
}

mbps() { awk -v b="$bytes" -v ns="$1" 'BEGIN { printf "%.0f", b / (ns / 1e9) / 1e6 }'; }

tools=(ferry nc socat)
if command -v danted >/dev/null && start_dante "$work/dante" >/dev/null; then
  dante_port=$PROXY_PORT
  tools+=(ferry_dante nc_dante)
else
  echo "bench: dante not available, skipping the proxy runs" >&2
fi
declare -A best all
sync
# One untimed warm-up run of each tool: the first transfer after the source
# is written runs several times slower whatever the tool.
for tool in "${tools[@]}"; do "run_$tool" >/dev/null; done
for round in $(seq 1 "$runs"); do
  for tool in "${tools[@]}"; do
    t=$("run_$tool")
    all[$tool]="${all[$tool]:-} $(mbps "$t")"
    if [ -z "${best[$tool]:-}" ] || [ "$t" -lt "${best[$tool]}" ]; then best[$tool]=$t; fi
  done
done

median() { tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

echo "ferry bench: ${size_mib} MiB file over loopback into $(df --output=fstype "$work" | tail -n 1) ($work), $runs rounds, $(nproc) cores"
declare -A rate med
for tool in "${tools[@]}"; do
  rate[$tool]=$(mbps "${best[$tool]}")
  med[$tool]=$(echo "${all[$tool]}" | median)
  printf '  %-12s best %6s MB/s  median %6s MB/s  (runs:%s)\n' "$tool" "${rate[$tool]}" "${med[$tool]}" "${all[$tool]}"
done
ratio() {  # ratio A B: "A / B" for best and median
  awk -v a="${rate[$1]}" -v b="${rate[$2]}" -v c="${med[$1]}" -v d="${med[$2]}" -v l="$1 / $2" \
    'BEGIN { printf "  %-26s best %.2f  median %.2f\n", l, a / b, c / d }'
}
ratio ferry nc
ratio ferry socat
if [ -n "${dante_port:-}" ]; then
  ratio ferry_dante nc_dante
  ratio ferry_dante ferry
fi
