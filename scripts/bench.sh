#!/usr/bin/env bash
# The benchmark suite: every case side by side with the tools a user would
# otherwise pick, in the same run, several rounds each (tools take turns
# round by round; one untimed warm-up each), on loopback or in network
# namespaces this script creates. Writes bench/results.md (tables with
# median, min-max and ratios against the targets), bench/results.csv and
# one PNG chart per case (gnuplot).
#
#   scripts/bench.sh [--quick] [--runs N] [--only CASE,...] [--out DIR]
#
# Cases: file (1 GiB over TCP: nc, socat -b 1M, iperf3 -Z as the ceiling;
# peak RSS of ferry-send and ferry-recv), small (10,000 x 4 KiB: tar|nc,
# rsync daemon), medium (1,000 x 1 MiB: tar|nc, rsync daemon), dante (1 GiB
# through dante: nc -X 5 -x; ferry direct), udp (1 GiB in UDP mode vs TCP
# mode), lossy (veth at 100 Mbit/s with 0/1/5% random loss: UDP mode vs TCP
# mode with cubic and bbr and iperf3; root only), concurrent (32 senders x
# 32 MiB vs one sender of the same bytes), encryption (1 GiB, every tool
# encrypting: socat OPENSSL with TLS 1.3, scp -c aes128-gcm@openssh.com and
# rsync -e ssh through a throw-away sshd on 127.0.0.1 (root only); MB/s
# and CPU seconds per GiB of each side; each run cut at 300 s, 120 s with
# --quick), compress (a text tree, /usr/include, and the big file over
# loopback and over a 100 Mbit/s veth: ferry with and without --compress
# against rsync -z), wan (an emulated 100 Mbit/s path, ferry-test-wan over
# TUN: round trips of 20, 100 and 200 ms x 0, 1 and 5% loss, 256 MiB: UDP
# mode, TCP mode with cubic and bbr, iperf3; the simulator's figure for the
# same path beside them; and 1 Gbit/s at 100 ms, 0 and 1%, 1 GiB), fair
# (UDP mode beside one TCP cubic, then bbr, flow on 100 Mbit/s, 50 ms:
# each flow's share). wan and fair need root and /dev/net/tun. --quick
# shrinks every size and runs 3 rounds.
# Output files go to BENCH_DIR (default a temp dir under /tmp: ext4,
# through the page cache); each run writes into a fresh name and is
# removed afterwards, untimed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
quick=0 runs='' only='' out=$root/bench
while [ $# -gt 0 ]; do
  case $1 in
    --quick) quick=1 ;;
    --runs) runs=$2; shift ;;
    --only) only=$2; shift ;;
    --out) out=$2; shift ;;
    -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
    *) echo "bench: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
if [ "$quick" = 1 ]; then
  : "${runs:=3}"
  big_mib=256 small_n=2000 medium_n=200 lossy_mib=8 lossy_limit=15 conc_n=8 conc_mib=16 enc_limit=120
  wan_mib=48 wan_limit=30 fair_secs=20
else
  : "${runs:=5}"
  big_mib=1024 small_n=10000 medium_n=1000 lossy_mib=32 lossy_limit=30 conc_n=32 conc_mib=32 enc_limit=300
  wan_mib=256 wan_limit=60 fair_secs=40
fi
# The wan case's 1 Gbit/s paths (RTT:LOSS; FERRY_WAN_1G="" for none), 4x the size.
wan_1g=${FERRY_WAN_1G-100:0 100:1} wan_1g_mib=$((wan_mib * 4))
build=${FERRY_BUILD_DIR:-$root/build}
"$root/scripts/setup.sh" --bench
"$root/scripts/build.sh" "$build" Release >/dev/null
bin=$build/bin
# shellcheck source=lib/proxy.sh
source "$root/scripts/lib/proxy.sh"
# shellcheck source=lib/netns.sh
source "$root/scripts/lib/netns.sh"

work=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/ferry-bench.XXXXXX")
pids=()
cmp_cleanup=''
cleanup() {
  stop_proxies
  netns_down
  declare -F wan_down >/dev/null && wan_down
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
  [ -z "$cmp_cleanup" ] || rm -rf "$cmp_cleanup"
}
trap cleanup EXIT
mkdir -p "$out"
# Every session is encrypted and authorised: one throw-away identity serves
# both programs and lists itself in authorized_senders, as a scripted
# deployment would (the receivers run with -q, so no code is printed).
export FERRY_CONFIG_DIR=$work/config
"$bin/ferry-send" --show-identity | head -n 1 >"$work/identity.pub"
cp "$work/identity.pub" "$FERRY_CONFIG_DIR/authorized_senders"
raw=$work/raw.csv
: >"$raw"

wanted() { [ -z "$only" ] || [[ ",$only," == *",$1,"* ]]; }
now_ns() { date +%s%N; }
secs_since() { awk -v a="$1" -v b="$(now_ns)" 'BEGIN { printf "%.6f", (b - a) / 1e9 }'; }
say() { echo "bench: $*" >&2; }

# Free ports and readiness: scripts/lib/proxy.sh's bounded helpers.
free_port() { proxy_free_port || { say "no free port found"; exit 1; }; }
wait_listen() { proxy_wait "$1" "$2" || { say "nothing listening on $2"; exit 1; }; }  # PID PORT

# record CASE TOOL UNIT VALUE
record() { echo "$1,$2,$3,$4" >>"$raw"; }

# start_ferry_recv DIR LISTEN [PREFIX...]: a receiver kept for a whole
# case; sets RPORT.
start_ferry_recv() {
  local dir=$1 listen=$2
  shift 2
  mkdir -p "$dir"
  # As an operator runs it: no per-file output (-q, no --json).
  "$@" "$bin/ferry-recv" -q --listen "$listen" --dir "$dir" --max-sessions-per-host 64 \
    --min-free 0 2>"$dir.err" &
  pids+=($!)
  RPORT=$(recv_port "$dir.err")
}

# recv_port LOG: the port ferry-recv's "listening on ADDR:PORT" line names
# (waits for it).
recv_port() {
  local p
  for _ in $(seq 1 250); do
    p=$(sed -n 's/.*listening on .*:\([0-9][0-9]*\) (.*/\1/p' "$1" | head -n 1)
    [ -n "$p" ] && { echo "$p"; return 0; }
    sleep 0.02
  done
  say "ferry-recv did not start: $(cat "$1")"
  exit 1
}

warmup=1
# rounds CASE UNIT AMOUNT TOOL...: one untimed warm-up of each tool (unless
# warmup=0), then
# RUNS rounds in which the tools take turns. run_<tool> prints seconds;
# AMOUNT/seconds is recorded (MB/s: bytes/1e6; files/s: files). run_<tool>
# sees $round: 0 in the warm-up, then 1..RUNS.
rounds() {
  local case=$1 unit=$2 amount=$3
  shift 3
  local tool s round=0
  [ "$warmup" = 1 ] && for tool in "$@"; do "run_$tool" >/dev/null; done
  for round in $(seq 1 "$runs"); do
    for tool in "$@"; do
      s=$("run_$tool")
      record "$case" "$tool" "$unit" "$(awk -v a="$amount" -v s="$s" 'BEGIN { printf "%.1f", a / s }')"
    done
  done
}

check_file() { cmp -s "$1" "$2" || { say "$3 delivered a different file"; exit 1; }; }
check_tree() { diff -rq "$1" "$2" >/dev/null || { say "$3 delivered a different tree"; exit 1; }; }

# ferry_big DIR PORT [ARGS...]: ferry-send ARGS the big file to a receiver
# on 127.0.0.1:PORT storing into DIR; prints seconds, checks, cleans up.
# Runs under GNU time: $work/send.rss holds its peak RSS (KiB).
ferry_big() {
  local dir=$1 port=$2 t0
  shift 2
  t0=$(now_ns)
  /usr/bin/time -f %M -o "$work/send.rss" "$bin/ferry-send" -q "$@" "127.0.0.1:$port" "$big"
  secs_since "$t0"
  check_file "$big" "$dir/big.bin" "ferry $*"
  rm -f "$dir/big.bin"
  sync
}

# nc_big [NC_ARGS...]: the big file through nc (NC_ARGS: a proxy, if any).
nc_big() {
  local port t0
  port=$(free_port)
  nc -l 127.0.0.1 "$port" >"$work/nc.out" &
  local rpid=$!
  wait_listen "$rpid" "$port"
  t0=$(now_ns)
  nc -N "$@" 127.0.0.1 "$port" <"$big"
  wait "$rpid"
  secs_since "$t0"
  check_file "$big" "$work/nc.out" "nc $*"
  rm -f "$work/nc.out"
  sync
}

# ---- file: one large file over TCP --------------------------------------------
big=$work/big.bin
make_big() {
  [ -f "$big" ] && return 0
  head -c $((big_mib * 1024 * 1024)) /dev/urandom >"$big"
  cat "$big" >/dev/null
  big_bytes=$(stat -c %s "$big")
}
rss_log=$work/rss.csv
: >"$rss_log"
run_ferry() {
  ferry_big "$work/file" "$FILE_PORT"
  echo "send,$(cat "$work/send.rss")" >>"$rss_log"
}
run_nc() { nc_big; }
run_socat() {
  local port t0
  port=$(free_port)
  socat -b 1048576 -u "TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr" "OPEN:$work/socat.out,creat,trunc" &
  local rpid=$!
  wait_listen "$rpid" "$port"
  t0=$(now_ns)
  socat -b 1048576 -u "OPEN:$big" "TCP:127.0.0.1:$port"
  wait "$rpid"
  secs_since "$t0"
  check_file "$big" "$work/socat.out" socat
  rm -f "$work/socat.out"
  sync
}
run_iperf3() {  # memory to memory: the ceiling, no file at either end
  local port
  port=$(free_port)
  iperf3 -s -1 -B 127.0.0.1 -p "$port" >/dev/null 2>&1 &
  local rpid=$!
  wait_listen "$rpid" "$port"
  iperf3 -c 127.0.0.1 -p "$port" -Z -n "$big_bytes" -J >"$work/iperf.json"
  wait "$rpid" || true
  jq -r --argjson b "$big_bytes" '$b * 8 / .end.sum_received.bits_per_second' "$work/iperf.json"
}
if wanted file; then
  say "file: ${big_mib} MiB over TCP, $runs rounds"
  make_big
  # The receiver runs under GNU time for its peak RSS; it is stopped (and
  # reports) after the case.
  mkdir -p "$work/file"
  /usr/bin/time -f %M -o "$work/recv.rss" "$bin/ferry-recv" -q --listen 127.0.0.1:0 \
    --dir "$work/file" --min-free 0 2>"$work/file.err" &
  recv_time_pid=$!
  FILE_PORT=$(recv_port "$work/file.err")
  rounds file MB/s "$(awk -v b="$big_bytes" 'BEGIN { print b / 1e6 }')" ferry nc socat iperf3
  pkill -INT -P "$recv_time_pid" ferry-recv || true
  wait "$recv_time_pid" || true
  echo "recv,$(cat "$work/recv.rss")" >>"$rss_log"
fi

# ---- small and medium: many files ---------------------------------------------
# make_tree DIR COUNT BYTES: COUNT files of BYTES in 100 directories.
make_tree() {
  local dir=$1 n=$2 size=$3 i
  [ -d "$dir" ] && return 0
  mkdir -p "$dir"
  head -c $((n * size)) /dev/urandom >"$work/blob"
  for i in $(seq 0 99); do mkdir -p "$dir/d$i"; done
  # split cuts the blob into files; then spread them over the directories.
  (cd "$dir" && split -a 6 -d -b "$size" "$work/blob" f)
  for i in $(seq 0 $((n - 1))); do mv "$dir/$(printf 'f%06d' "$i")" "$dir/d$((i % 100))/"; done
  rm -f "$work/blob"
}
# A new, unused output directory name (runs happen in subshells, so no
# counters).
fresh() { mkdir -p "$work/out" && mktemp -u "$work/out/$1-XXXXXX"; }
run_tree_ferry() {
  local t0
  t0=$(now_ns)
  "$bin/ferry-send" -q "127.0.0.1:$TREE_PORT" "$TREE_SRC"
  secs_since "$t0"
  check_tree "$TREE_SRC" "$work/trees/$(basename "$TREE_SRC")" ferry
  mv "$work/trees/$(basename "$TREE_SRC")" "$(fresh ferry)"
}
run_tree_tarnc() {
  local port dest t0
  port=$(free_port)
  dest=$(fresh tarnc)
  mkdir -p "$dest"
  (nc -l 127.0.0.1 "$port" | tar -x -C "$dest") &
  local rpid=$!
  wait_listen "$rpid" "$port"
  t0=$(now_ns)
  tar -c -C "$(dirname "$TREE_SRC")" "$(basename "$TREE_SRC")" | nc -N 127.0.0.1 "$port"
  wait "$rpid"
  secs_since "$t0"
  check_tree "$TREE_SRC" "$dest/$(basename "$TREE_SRC")" "tar|nc"
}
run_tree_rsync() {
  local t0 name
  name=$(basename "$(fresh rsync)")
  t0=$(now_ns)
  rsync -a "$TREE_SRC" "rsync://127.0.0.1:$RSYNC_PORT/bench/$name/"
  secs_since "$t0"
  check_tree "$TREE_SRC" "$work/out/$name/$(basename "$TREE_SRC")" rsync
}
start_rsyncd() {
  [ -n "${RSYNC_PORT:-}" ] && return 0
  mkdir -p "$work/out"
  rsyncd_at "$work/out" 127.0.0.1
  RSYNC_PORT=$RSYNCD_PORT
}
# rsyncd_at DIR ADDR [PREFIX...]: an rsync daemon on ADDR (run under
# PREFIX, e.g. ip netns exec) whose module "bench" writes into DIR; sets
# RSYNCD_PORT once it answers (bounded).
rsyncd_at() {
  local dir=$1 addr=$2
  shift 2
  RSYNCD_PORT=$(free_port)
  cat >"$work/rsyncd-$RSYNCD_PORT.conf" <<CONF
pid file = $work/rsyncd-$RSYNCD_PORT.pid
use chroot = false
[bench]
  path = $dir
  read only = false
  uid = $(id -u)
  gid = $(id -g)
CONF
  "$@" rsync --daemon --no-detach --address="$addr" --port="$RSYNCD_PORT" \
    --config="$work/rsyncd-$RSYNCD_PORT.conf" &
  pids+=($!)
  for _ in $(seq 1 100); do
    "$@" bash -c "exec 3<>/dev/tcp/$addr/$RSYNCD_PORT" 2>/dev/null && return 0
    sleep 0.05
  done
  say "rsync daemon did not start on $addr:$RSYNCD_PORT"
  exit 1
}
# tree_case CASE COUNT BYTES UNIT: the three tools on one tree; outputs
# are removed after the case (file creation slows down for a while after a
# large removal, so never between timed runs).
tree_case() {
  local case=$1 n=$2 size=$3 unit=$4 amount
  say "$case: $n files of $size bytes, $runs rounds"
  TREE_SRC=$work/src-$case/$case
  make_tree "$TREE_SRC" "$n" "$size"
  sync
  start_rsyncd
  [ -n "${TREE_PORT:-}" ] || { start_ferry_recv "$work/trees" 127.0.0.1:0; TREE_PORT=$RPORT; }
  amount=$n
  [ "$unit" = MB/s ] && amount=$(awk -v n="$n" -v s="$size" 'BEGIN { print n * s / 1e6 }')
  rounds "$case" "$unit" "$amount" tree_ferry tree_tarnc tree_rsync
  rm -rf "$work/out"/* "$work/src-$case"
  sync
}
wanted small && tree_case small "$small_n" 4096 files/s
wanted medium && tree_case medium "$medium_n" 1048576 MB/s

# ---- dante: one large file through the same proxy -----------------------------
run_ferry_dante() { ferry_big "$work/dante" "$DANTE_RPORT" --proxy "socks5://127.0.0.1:$DANTE_PORT"; }
run_nc_dante() { nc_big -X 5 -x "127.0.0.1:$DANTE_PORT"; }
run_ferry_direct() { ferry_big "$work/dante" "$DANTE_RPORT"; }  # the same receiver, no proxy
if wanted dante; then
  say "dante: ${big_mib} MiB through dante (and ferry direct), $runs rounds"
  make_big
  start_dante "$work/px" >/dev/null
  DANTE_PORT=$PROXY_PORT
  start_ferry_recv "$work/dante" 127.0.0.1:0
  DANTE_RPORT=$RPORT
  rounds dante MB/s "$(awk -v b="$big_bytes" 'BEGIN { print b / 1e6 }')" ferry_dante nc_dante ferry_direct
fi

# ---- udp: UDP mode against TCP mode on clean loopback ------------------------
run_ferry_tcp() { ferry_big "$work/udp" "$UDP_RPORT"; }
run_ferry_udp() { ferry_big "$work/udp" "$UDP_RPORT" --udp; }
run_ferry_udp1200() { ferry_big "$work/udp" "$UDP_RPORT" --udp --udp-size 1200; }
if wanted udp; then
  say "udp: ${big_mib} MiB, UDP mode vs TCP mode, $runs rounds"
  make_big
  start_ferry_recv "$work/udp" 127.0.0.1:0
  UDP_RPORT=$RPORT
  rounds udp MB/s "$(awk -v b="$big_bytes" 'BEGIN { print b / 1e6 }')" ferry_tcp ferry_udp ferry_udp1200
fi

# ---- lossy: a 100 Mbit/s veth with random loss --------------------------------
# Each run is bounded by lossy_limit seconds; a run that does not finish
# counts the bytes that arrived (the part file) over the limit.
lossy_send() {  # lossy_send ARGS...
  local t0 rc=0 s got snap0='' snap1
  # On the emulated link (wan case), UDP mode's own loss count against
  # what the link applied to its packets during the run: to wan-loss.csv.
  if [ -n "${WAN_CASE:-}" ] && [ "$1" = --udp ]; then snap0=$(wan_snapshot); fi
  t0=$(now_ns)
  timeout "$lossy_limit" ip netns exec "$NS_SEND" "$bin/ferry-send" -q --json "$@" \
    "$ADDR_RECV:$LOSSY_RPORT" "$work/lossy.bin" >"$work/lossy.json" || rc=$?
  s=$(secs_since "$t0")
  if [ -n "$snap0" ]; then
    snap1=$(wan_snapshot)
    # case, packets UDP mode sent, its loss_percent, link in, random, queue drops
    printf '%s,%s,%s\n' "$WAN_CASE" \
      "$(jq -r 'select(.event == "session_end") | "\(.packets_sent),\(.loss_percent)"' \
        "$work/lossy.json" | tail -n 1)" \
      "$(awk -v a="$snap0" -v b="$snap1" 'BEGIN { split(a, x, " "); split(b, y, " ")
          printf "%d,%d,%d", y[1] - x[1], y[2] - x[2], y[3] - x[3] }')" >>"$out/wan-loss.csv"
  fi
  if [ "$rc" -eq 0 ]; then
    check_file "$work/lossy.bin" "$work/lossyin/lossy.bin" "ferry $*"
    awk -v b="$lossy_bytes" -v s="$s" 'BEGIN { printf "%.6f", b / s }' >"$work/lossy.rate"
  else
    got=$(find "$work/lossyin" -name '.ferry-part-*' -exec stat -c %s {} + 2>/dev/null | head -n 1)
    awk -v b="${got:-0}" -v s="$s" 'BEGIN { printf "%.6f", b / s }' >"$work/lossy.rate"
    sleep 1
  fi
  rm -rf "$work/lossyin"/lossy.bin "$work/lossyin"/.ferry-part-*
  # seconds for the whole file at the measured rate
  awk -v b="$lossy_bytes" -v r="$(cat "$work/lossy.rate")" 'BEGIN { printf "%.6f", (r > 0 ? b / r : 1e9) }'
}
run_lossy_udp() { lossy_send --udp; }
run_lossy_cubic() { lossy_send --no-resume --tcp-congestion cubic; }
run_lossy_bbr() { lossy_send --no-resume --tcp-congestion bbr; }
run_lossy_iperf3() {
  local port
  port=$(free_port)
  ip netns exec "$NS_RECV" iperf3 -s -1 -B "$ADDR_RECV" -p "$port" >/dev/null 2>&1 &
  local rpid=$!
  sleep 0.3
  # -C cubic: the kernel's default may be another (Debian's is cubic, this
  # machine's bbr); the row compares with ferry's cubic run.
  timeout $((lossy_limit + 5)) ip netns exec "$NS_SEND" iperf3 -c "$ADDR_RECV" -p "$port" \
    -C cubic -t $((lossy_limit / 3)) -J >"$work/iperf.json" 2>/dev/null || true
  wait "$rpid" 2>/dev/null || true
  jq -r --argjson b "$lossy_bytes" \
    'if .end.sum_received.bits_per_second > 0 then $b * 8 / .end.sum_received.bits_per_second else 1e9 end' \
    "$work/iperf.json"
}
if wanted lossy; then
  if [ "$(id -u)" -ne 0 ] || ! command -v nft >/dev/null; then
    say "lossy: skipped (needs root and nftables for network namespaces)"
  else
    head -c $((lossy_mib * 1024 * 1024)) /dev/urandom >"$work/lossy.bin"
    lossy_bytes=$(stat -c %s "$work/lossy.bin")
    netns_up 100mbit 0
    start_ferry_recv "$work/lossyin" "$ADDR_RECV:0" ip netns exec "$NS_RECV"
    LOSSY_RPORT=$RPORT
    for loss in 0 1 5; do
      say "lossy: 100 Mbit/s veth, ${loss}% loss, ${lossy_mib} MiB (at most ${lossy_limit}s a run), $runs rounds"
      netns_loss "$loss"
      rounds "lossy${loss}" Mbit/s "$(awk -v b="$lossy_bytes" 'BEGIN { print b * 8 / 1e6 }')" \
        lossy_udp lossy_cubic lossy_bbr lossy_iperf3
    done
    netns_down
  fi
fi

# ---- compress: --compress against rsync -z, loopback and 100 Mbit/s veth ------
# Text: a copy of /usr/include (C and C++ headers, source text every build
# machine has; symlinks left out, as ferry skips them). Random: the big
# file. Each over loopback and over the veth of the lossy case without
# loss; ferry with and without -z and rsync -z (rsync 3.2+ picks zstd) in
# the same rounds. The receivers run where the case's addresses are.
cmp_send_prefix=()
run_cmp_ferry() { cmp_ferry; }
run_cmp_ferryz() { cmp_ferry -z; }
cmp_ferry() {
  local t0 name
  name=$(basename "$CMP_SRC")
  t0=$(now_ns)
  "${cmp_send_prefix[@]}" "$bin/ferry-send" -q "$@" "$CMP_ADDR:$CMP_FPORT" "$CMP_SRC"
  secs_since "$t0"
  if [ -d "$CMP_SRC" ]; then check_tree "$CMP_SRC" "$CMP_OUT/$name" "ferry $*"; else
    check_file "$CMP_SRC" "$CMP_OUT/$name" "ferry $*"; fi
  rm -rf "${CMP_OUT:?}/$name"
}
run_cmp_rsyncz() {
  local t0 name
  name=r$RANDOM$RANDOM
  t0=$(now_ns)
  "${cmp_send_prefix[@]}" rsync -a -z "$CMP_SRC" "rsync://$CMP_ADDR:$CMP_RPORT/bench/$name/"
  secs_since "$t0"
  if [ -d "$CMP_SRC" ]; then check_tree "$CMP_SRC" "$cmp_mem/cmpout/$name/$(basename "$CMP_SRC")" "rsync -z"
  else check_file "$CMP_SRC" "$cmp_mem/cmpout/$name/$(basename "$CMP_SRC")" "rsync -z"; fi
  rm -rf "${cmp_mem:?}/cmpout/$name"
}
# cmp_rsyncd ADDR [PREFIX...]: an rsync daemon writing into
# $cmp_mem/cmpout; sets CMP_RPORT.
cmp_rsyncd() {
  mkdir -p "$cmp_mem/cmpout"
  rsyncd_at "$cmp_mem/cmpout" "$@"
  CMP_RPORT=$RSYNCD_PORT
}
# cmp_cases WHERE: the text and the random file, ferry / ferry -z / rsync -z.
cmp_cases() {
  local where=$1 mb
  CMP_SRC=$work/cmp-text/include
  mb=$(du -sb --apparent-size "$CMP_SRC" | awk '{ printf "%.3f", $1 / 1e6 }')
  say "compress, $where: text ($mb MB in $(find "$CMP_SRC" -type f | wc -l) files), $runs rounds"
  rounds "cmp_text_$where" MB/s "$mb" cmp_ferry cmp_ferryz cmp_rsyncz
  CMP_SRC=$big
  # 1 GiB at 100 Mbit/s is 86 s a run: two rounds, no warm-up (the link,
  # not a cache, sets the pace).
  local saved=$runs
  if [ "$where" = 100m ]; then runs=$((runs < 2 ? runs : 2)) warmup=0; fi
  say "compress, $where: random ${big_mib} MiB, $runs rounds"
  rounds "cmp_rand_$where" MB/s "$(awk -v b="$big_bytes" 'BEGIN { print b / 1e6 }')" \
    cmp_ferry cmp_ferryz cmp_rsyncz
  runs=$saved warmup=1
}
if wanted compress; then
  make_big
  mkdir -p "$work/cmp-text/include"
  rsync -a --no-links /usr/include/ "$work/cmp-text/include/"
  # Everything is received into tmpfs: on this VM's disk, making 8,684
  # files holds every tool to 25-50 MB/s, which would hide the link and
  # the compression this case is about.
  cmp_mem=$work
  if [ -d /dev/shm ] && [ "$(df --output=avail -k /dev/shm | tail -n 1)" -gt $((3 * big_mib * 1024)) ]; then
    cmp_mem=$(mktemp -d /dev/shm/ferry-bench-cmp.XXXXXX)
    cmp_cleanup=$cmp_mem
  fi
  # Loopback.
  CMP_OUT=$cmp_mem/cmpin-lo CMP_ADDR=127.0.0.1
  start_ferry_recv "$CMP_OUT" 127.0.0.1:0
  CMP_FPORT=$RPORT
  cmp_rsyncd 127.0.0.1
  cmp_send_prefix=()
  cmp_cases lo
  # The veth (root and nftables only, as the lossy case).
  if [ "$(id -u)" -ne 0 ] || ! command -v nft >/dev/null; then
    say "compress: 100 Mbit/s cases skipped (need root and nftables for network namespaces)"
  else
    netns_up 100mbit 0
    CMP_OUT=$cmp_mem/cmpin-100m CMP_ADDR=$ADDR_RECV
    start_ferry_recv "$CMP_OUT" "$ADDR_RECV:0" ip netns exec "$NS_RECV"
    CMP_FPORT=$RPORT
    cmp_rsyncd "$ADDR_RECV" ip netns exec "$NS_RECV"
    cmp_send_prefix=(ip netns exec "$NS_SEND")
    cmp_cases 100m
    netns_down
  fi
fi

# ---- wan: an emulated long, fat, lossy path (ferry-test-wan, TUN) ---------------
# Round trips of 20, 100 and 200 ms with 0, 1 and 5% random loss at
# 100 Mbit/s (a drop-tail queue of 100 ms), through scripts/lib/wan.sh:
# ferry UDP mode, TCP mode with cubic and bbr, and iperf3 cubic, each run
# cut at wan_limit seconds (then counting what arrived). No warm-up (the
# path sets the pace) and at most 2 rounds: 9 paths x 4 tools is long.
# FERRY_WAN_RTTS and FERRY_WAN_LOSSES pick a subset ("100", "1 5"),
# FERRY_WAN_1G the 1 Gbit/s paths ("" for none).
if wanted wan; then
  if [ "$(id -u)" -ne 0 ] || [ ! -c /dev/net/tun ]; then
    say "wan: skipped (needs root and /dev/net/tun)"
  else
    # shellcheck source=lib/wan.sh
    source "$root/scripts/lib/wan.sh"
    head -c $((wan_mib * 1024 * 1024)) /dev/urandom >"$work/lossy.bin"
    lossy_bytes=$(stat -c %s "$work/lossy.bin")
    saved_runs=$runs saved_limit=$lossy_limit
    runs=$((runs < 2 ? runs : 2)) warmup=0 lossy_limit=$wan_limit
    : >"$out/wan-loss.csv"
    # 100 Mbit/s over every round trip and loss; 1 Gbit/s (the emulator
    # carries about 2.7) at 100 ms without and with 1% loss, 4x the size.
    paths=''
    for rtt in ${FERRY_WAN_RTTS:-20 100 200}; do
      for loss in ${FERRY_WAN_LOSSES:-0 1 5}; do paths+=" 100M:$rtt:$loss"; done
    done
    for p in $wan_1g; do paths+=" 1G:$p"; done
    for path in $paths; do
      IFS=: read -r rate rtt loss <<<"$path"
      WAN_CASE=wan${rtt}ms${loss} size_mib=$wan_mib
      if [ "$rate" = 1G ]; then
        WAN_CASE=wan1g${rtt}ms${loss} size_mib=$wan_1g_mib
      fi
      [ "$(stat -c %s "$work/lossy.bin")" -eq $((size_mib * 1024 * 1024)) ] ||
        head -c $((size_mib * 1024 * 1024)) /dev/urandom >"$work/lossy.bin"
      lossy_bytes=$(stat -c %s "$work/lossy.bin")
      wan_up "$bin" "$rate" "$rtt" "$loss" 100
      NS_SEND=$WAN_NS_A NS_RECV=$WAN_NS_B ADDR_RECV=$WAN_ADDR_B
      start_ferry_recv "$work/lossyin" "$ADDR_RECV:0" ip netns exec "$NS_RECV"
      LOSSY_RPORT=$RPORT
      say "wan: $rate, ${rtt} ms, ${loss}% loss, ${size_mib} MiB (at most ${wan_limit}s a run), $runs rounds"
      rounds "$WAN_CASE" Mbit/s "$(awk -v b="$lossy_bytes" 'BEGIN { print b * 8 / 1e6 }')" \
        lossy_udp lossy_cubic lossy_bbr lossy_iperf3
      kill "${pids[-1]}" 2>/dev/null || true
      wan_down
      say "wan: link counters: $(wan_counters | tr '\n' ' ')"
      if [ "$rate" = 100M ]; then
        # The virtual-time simulator on the same path and size (tests/rudp/
        # sim_test.cpp, sim_wan): its whole-transfer rate, handshake chatter
        # included, beside the emulator's.
        if [ -x "$bin/rudp_test" ]; then
          sim=$(FERRY_SIM_MIB=$wan_mib "$bin/rudp_test" \
            --gtest_filter="paths/sim_wan.*/rtt${rtt}_loss${loss}" 2>/dev/null |
            sed -n 's/.*whole \([0-9.]*\) Mbit\/s.*/\1/p' | head -n 1)
          [ -z "$sim" ] || echo "wan${rtt}ms${loss},sim_udp,Mbit/s,$sim" >>"$raw"
          say "wan: the simulator: ${sim:-?} Mbit/s"
        fi
      fi
      NS_SEND='' NS_RECV='' WAN_CASE=''
    done
    runs=$saved_runs warmup=1 lossy_limit=$saved_limit
  fi
fi

# ---- fair: UDP mode beside one TCP flow on the same emulated link ----------------
# 100 Mbit/s, 50 ms, no loss, a 100 ms queue: a ferry UDP-mode transfer and,
# a second later, iperf3 with cubic (then bbr) for fair_secs; each flow's
# rate over the same window (iperf3's first 5 s omitted, ferry's part file
# sampled at the same moments) and its share of their sum.
fair_pair() {  # fair_pair CC: appends fair_CC rows to the raw CSV
  local cc=$1 port fpid ipid a b t0 t1 got0 got1 fmbit imbit
  rm -rf "$work/fairin"/.ferry-part-* "$work/fairin"/lossy.bin
  port=$(free_port)
  ip netns exec "$NS_RECV" iperf3 -s -1 -B "$ADDR_RECV" -p "$port" >/dev/null 2>&1 &
  ipid=$!
  timeout $((fair_secs + 20)) ip netns exec "$NS_SEND" "$bin/ferry-send" -q --udp --no-resume \
    "$ADDR_RECV:$FAIR_RPORT" "$work/lossy.bin" >/dev/null 2>&1 &
  fpid=$!
  sleep 1
  timeout $((fair_secs + 20)) ip netns exec "$NS_SEND" iperf3 -c "$ADDR_RECV" -p "$port" -C "$cc" \
    -t $((fair_secs + 5)) -O 5 -J >"$work/fair.json" 2>/dev/null &
  a=$!
  sleep 5
  t0=$(now_ns)
  got0=$(find "$work/fairin" -name '.ferry-part-*' -exec stat -c %s {} + 2>/dev/null | head -n 1)
  sleep "$fair_secs"
  t1=$(now_ns)
  got1=$(find "$work/fairin" -name '.ferry-part-*' -exec stat -c %s {} + 2>/dev/null | head -n 1)
  wait "$a" 2>/dev/null || true
  wait "$ipid" 2>/dev/null || true
  kill "$fpid" 2>/dev/null || true
  wait "$fpid" 2>/dev/null || true
  b=$(jq -r '.end.sum_received.bits_per_second // 0' "$work/fair.json")
  fmbit=$(awk -v x="${got0:-0}" -v y="${got1:-0}" -v a="$t0" -v b="$t1" \
    'BEGIN { printf "%.2f", (y - x) * 8 / ((b - a) / 1e9) / 1e6 }')
  imbit=$(awk -v v="$b" 'BEGIN { printf "%.2f", v / 1e6 }')
  echo "fair_$cc,fair_udp,Mbit/s,$fmbit" >>"$raw"
  echo "fair_$cc,fair_tcp,Mbit/s,$imbit" >>"$raw"
  say "fair: UDP mode $fmbit Mbit/s beside TCP $cc $imbit Mbit/s"
}
if wanted fair; then
  if [ "$(id -u)" -ne 0 ] || [ ! -c /dev/net/tun ]; then
    say "fair: skipped (needs root and /dev/net/tun)"
  else
    # shellcheck source=lib/wan.sh
    source "$root/scripts/lib/wan.sh"
    # enough to outlast the window at the whole link's rate
    head -c $(((fair_secs + 10) * 13 * 1024 * 1024)) /dev/urandom >"$work/lossy.bin"
    wan_up "$bin" 100M 50 0 100
    NS_SEND=$WAN_NS_A NS_RECV=$WAN_NS_B ADDR_RECV=$WAN_ADDR_B
    start_ferry_recv "$work/fairin" "$ADDR_RECV:0" ip netns exec "$NS_RECV"
    FAIR_RPORT=$RPORT
    say "fair: 100 Mbit/s, 50 ms: UDP mode beside one TCP flow, ${fair_secs}s each"
    for cc in cubic bbr; do fair_pair "$cc"; done
    kill "${pids[-1]}" 2>/dev/null || true
    wan_down
    NS_SEND='' NS_RECV=''
  fi
fi

# ---- concurrent: many senders into one receiver ------------------------------
run_conc_many() {
  local t0 i
  t0=$(now_ns)
  local cp=()
  for i in $(seq 1 "$conc_n"); do
    "$bin/ferry-send" -q "127.0.0.1:$CONC_RPORT" "$work/conc/src/c$i.bin" &
    cp+=($!)
  done
  for i in "${cp[@]}"; do wait "$i"; done
  secs_since "$t0"
  for i in $(seq 1 "$conc_n"); do check_file "$work/conc/src/c$i.bin" "$work/concin/c$i.bin" "sender $i"; done
  rm -f "$work/concin"/c*.bin
  sync
}
run_conc_one() {
  local t0
  t0=$(now_ns)
  "$bin/ferry-send" -q "127.0.0.1:$CONC_RPORT" "$work/conc/src/"
  secs_since "$t0"
  check_tree "$work/conc/src" "$work/concin/src" "one sender"
  rm -rf "$work/concin/src"
  sync
}
if wanted concurrent; then
  say "concurrent: $conc_n senders x $conc_mib MiB vs one sender of the same files, $runs rounds"
  mkdir -p "$work/conc/src"
  for i in $(seq 1 "$conc_n"); do head -c $((conc_mib * 1024 * 1024)) /dev/urandom >"$work/conc/src/c$i.bin"; done
  start_ferry_recv "$work/concin" 127.0.0.1:0
  CONC_RPORT=$RPORT
  rounds concurrent MB/s "$(awk -v n="$conc_n" -v m="$conc_mib" 'BEGIN { print n * m * 1048576 / 1e6 }')" \
    conc_many conc_one
fi

# ---- encryption: one large file, every tool encrypting ----------------------
# ferry (TCP mode; TLS 1.3 as always) against socat's OPENSSL (TLS 1.3, a
# self-signed P-256 certificate), scp (SFTP protocol, OpenSSH 9's default)
# and rsync over ssh (whole file, in place, no compression), both with
# aes128-gcm@openssh.com, through a throw-away sshd on 127.0.0.1. Besides
# MB/s, each timed run records the CPU (user + system) of both sides per GiB:
# GNU time around each process we start (ferry-send and a ferry-recv --once
# per run; both socat ends; the scp and rsync clients with their ssh). The
# receiving side of scp and rsync runs under sshd: its CPU is what the
# listening sshd gains in reaped children's time (cutime + cstime in
# /proc/PID/stat: the connection's sshd processes, sftp-server or
# rsync --server) once the connection's processes are gone. Every tool run
# is cut at enc_limit seconds (timeout also stops what it started).
clk_tck=$(getconf CLK_TCK)
# gnu_cpu FILE: user + system seconds from GNU time's -f '%U %S' -o FILE.
gnu_cpu() { tail -n 1 "$1" | awk '{ printf "%.2f", $1 + $2 }'; }
# reaped_cpu PID: user + system seconds of PID's reaped children.
reaped_cpu() { awk -v t="$clk_tck" '{ sub(/^.*\) /, ""); printf "%.2f", ($14 + $15) / t }' "/proc/$1/stat"; }
# enc_cpu TOOL SIDE SECONDS: records SIDE's (send, recv) CPU per GiB in a
# timed round (not in the warm-up).
enc_cpu() {
  [ "$round" -gt 0 ] || return 0
  record "encryption-cpu-$2" "$1" "CPU s/GiB" \
    "$(awk -v s="$3" -v b="$big_bytes" 'BEGIN { printf "%.3f", s * 1073741824 / b }')"
}
# enc_fail PID MESSAGE: stops a run's listener (a timeout, which passes the
# signal on to its process group), if any, and gives up.
enc_fail() {
  [ -z "$1" ] || kill "$1" 2>/dev/null || true
  say "encryption: $2"
  exit 1
}
# enc_done FILE: checks what a tool delivered, removes it (untimed).
enc_done() {
  check_file "$big" "$1" "$2"
  rm -f "$1"
  sync
}
run_enc_ferry() {
  local dir=$work/enc/ferry port rpid t0 s
  mkdir -p "$dir"
  timeout "$enc_limit" /usr/bin/time -f '%U %S' -o "$work/enc/recv.time" \
    "$bin/ferry-recv" -q --once --listen 127.0.0.1:0 --dir "$dir" --min-free 0 2>"$dir.err" &
  rpid=$!
  port=$(recv_port "$dir.err") || enc_fail "$rpid" "ferry-recv did not start"
  t0=$(now_ns)
  timeout "$enc_limit" /usr/bin/time -f '%U %S' -o "$work/enc/send.time" \
    "$bin/ferry-send" -q --pin "$ENC_PIN" "127.0.0.1:$port" "$big" || enc_fail "$rpid" "ferry-send failed or timed out"
  s=$(secs_since "$t0")
  wait "$rpid" || enc_fail "" "ferry-recv --once failed or timed out: $(cat "$dir.err")"
  enc_cpu enc_ferry send "$(gnu_cpu "$work/enc/send.time")"
  enc_cpu enc_ferry recv "$(gnu_cpu "$work/enc/recv.time")"
  enc_done "$dir/big.bin" "ferry (encryption)"
  echo "$s"
}
run_enc_socat() {
  local port rpid t0 s tls=openssl-min-proto-version=TLS1.3
  port=$(free_port)
  timeout "$enc_limit" /usr/bin/time -f '%U %S' -o "$work/enc/recv.time" socat -b 1048576 -u \
    "OPENSSL-LISTEN:$port,bind=127.0.0.1,cert=$work/enc/tls.crt,key=$work/enc/tls.key,verify=0,$tls,reuseaddr" \
    "OPEN:$work/enc/socat.out,creat,trunc" &
  rpid=$!
  proxy_wait "$rpid" "$port" || enc_fail "$rpid" "socat OPENSSL-LISTEN did not listen on $port"
  t0=$(now_ns)
  timeout "$enc_limit" /usr/bin/time -f '%U %S' -o "$work/enc/send.time" socat -b 1048576 -u \
    "OPEN:$big" "OPENSSL:127.0.0.1:$port,verify=0,$tls" || enc_fail "$rpid" "socat OPENSSL failed or timed out"
  wait "$rpid" || enc_fail "" "socat OPENSSL-LISTEN failed or timed out"
  s=$(secs_since "$t0")
  enc_cpu enc_socat send "$(gnu_cpu "$work/enc/send.time")"
  enc_cpu enc_socat recv "$(gnu_cpu "$work/enc/recv.time")"
  enc_done "$work/enc/socat.out" "socat OPENSSL"
  echo "$s"
}
# enc_ssh TOOL DEST CMD...: CMD copies the big file to DEST through the
# throw-away sshd; prints seconds, records both sides' CPU.
enc_ssh() {
  local tool=$1 dest=$2 c0 c1 t0 s
  shift 2
  c0=$(reaped_cpu "$SSHD_PID")
  t0=$(now_ns)
  timeout "$enc_limit" /usr/bin/time -f '%U %S' -o "$work/enc/send.time" "$@" ||
    enc_fail "" "$tool failed or timed out (sshd log: $work/enc/ssh)"
  s=$(secs_since "$t0")
  # The listening sshd reaps the connection's process (which reaped its own).
  for _ in $(seq 1 200); do
    pgrep -P "$SSHD_PID" >/dev/null || break
    sleep 0.05
  done
  if pgrep -P "$SSHD_PID" >/dev/null; then enc_fail "" "sshd's side of $tool did not end in 10 s"; fi
  c1=$(reaped_cpu "$SSHD_PID")
  enc_cpu "enc_$tool" send "$(gnu_cpu "$work/enc/send.time")"
  enc_cpu "enc_$tool" recv "$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.2f", b - a }')"
  enc_done "$dest" "$tool"
  echo "$s"
}
run_enc_scp() {
  enc_ssh scp "$work/enc/scp.bin" scp -q "${ssh_opts[@]}" -P "$SSH_PORT" "$big" "$ssh_user@127.0.0.1:$work/enc/scp.bin"
}
run_enc_rsync() {
  enc_ssh rsync "$work/enc/rsync.bin" rsync -W --inplace -e "ssh ${ssh_opts[*]} -p $SSH_PORT" \
    "$big" "$ssh_user@127.0.0.1:$work/enc/rsync.bin"
}
# start_sshd: a throw-away sshd on 127.0.0.1 (keys, config and pid file in
# the work dir; stopped by stop_proxies in the cleanup). Sets SSH_PORT,
# SSHD_PID, ssh_user and ssh_opts.
start_sshd() {
  local d=$work/enc/ssh
  mkdir -p "$d" /run/sshd
  ssh-keygen -q -t ed25519 -N '' -C bench-host -f "$d/host_key"
  ssh-keygen -q -t ed25519 -N '' -C bench-client -f "$d/client_key"
  cp "$d/client_key.pub" "$d/authorized_keys"
  cat >"$d/sshd_config" <<CONF
ListenAddress 127.0.0.1
HostKey $d/host_key
AuthorizedKeysFile $d/authorized_keys
PidFile $d/sshd.pid
StrictModes no
UsePAM no
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PrintMotd no
UseDNS no
Subsystem sftp /usr/lib/openssh/sftp-server
CONF
  # proxy_launch: any server that listens on {PORT}; retried if the port
  # picked is taken first. -e: its log goes to $d/sshd-PORT.log.
  proxy_launch sshd "$d" - /usr/sbin/sshd -D -e -f "$d/sshd_config" -p '{PORT}' || exit 1
  SSH_PORT=$PROXY_PORT SSHD_PID=$PROXY_PID
  ssh_user=$(id -un)
  # -F /dev/null: no ~/.ssh/config of whoever runs the bench.
  ssh_opts=(-F /dev/null -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes
    -o LogLevel=ERROR -i "$d/client_key" -c aes128-gcm@openssh.com)
}
if wanted encryption; then
  say "encryption: ${big_mib} MiB over loopback, every tool encrypting, $runs rounds"
  make_big
  mkdir -p "$work/enc"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=bench \
    -keyout "$work/enc/tls.key" -out "$work/enc/tls.crt" 2>/dev/null
  # A new receiver port each run: the receiver's key is pinned rather than
  # recorded (trust on first use) under every HOST:PORT.
  ENC_PIN=$("$bin/ferry-recv" --show-identity | sed -n 2p)
  enc_tools=(enc_ferry enc_socat)
  if [ "$(id -u)" -eq 0 ] && [ -x /usr/sbin/sshd ]; then
    start_sshd
    enc_tools+=(enc_scp enc_rsync)
  else
    say "encryption: scp and rsync over ssh skipped (need root and /usr/sbin/sshd for a throw-away sshd)"
  fi
  rounds encryption MB/s "$(awk -v b="$big_bytes" 'BEGIN { print b / 1e6 }')" "${enc_tools[@]}"
fi

# ---- report --------------------------------------------------------------------
# The sizes of the cases this run measured (an --only run names only its own).
sizes=()
if wanted file || wanted dante || wanted udp; then sizes+=("big=${big_mib}MiB"); fi
wanted small && sizes+=("small=${small_n}")
wanted medium && sizes+=("medium=${medium_n}")
wanted lossy && sizes+=("lossy=${lossy_mib}MiB/${lossy_limit}s")
if wanted wan; then
  if [ -n "$wan_1g" ]; then
    sizes+=("wan=${wan_mib}MiB/${wan_limit}s (1 Gbit/s: ${wan_1g_mib}MiB)")
  else
    sizes+=("wan=${wan_mib}MiB/${wan_limit}s")
  fi
fi
wanted concurrent && sizes+=("concurrent=${conc_n}x${conc_mib}MiB")
wanted encryption && sizes+=("encryption=${big_mib}MiB/${enc_limit}s")
wanted compress && sizes+=("compress=/usr/include and ${big_mib}MiB random")
wanted fair && sizes+=("fair=${fair_secs}s window")
"$root/scripts/lib/bench_report.sh" "$raw" "$rss_log" "$out" "$quick" "$runs" \
  "${sizes[*]}" "$(df --output=fstype "$work" | tail -n 1)" "$only"
