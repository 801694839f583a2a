#!/usr/bin/env bash
# Turns the suite's raw measurements into bench/results.csv, bench/results.md
# and a PNG chart per case. Called by scripts/bench.sh:
#   bench_report.sh RAW_CSV RSS_CSV OUT_DIR QUICK RUNS SIZES FSTYPE [ONLY]
# RAW_CSV lines: case,tool,unit,value (one per timed run). A case CASE-cpu-send
# or CASE-cpu-recv (unit CPU s/GiB) adds columns to CASE's table.
set -euo pipefail
raw=$1 rss=$2 out=$3 quick=$4 runs=$5 sizes=$6 fstype=$7 only=${8:-}
mkdir -p "$out"
stats=$out/results.csv

# case,tool,unit,median,min,max,runs - in the order the cases ran.
order=$(awk -F, '!seen[$1]++ { print $1 }' "$raw")
{
  echo "case,tool,unit,median,min,max,runs"
  for c in $order; do
    while read -r t; do
      awk -F, -v c="$c" -v t="$t" '$1 == c && $2 == t { print $4 " " $3 }' "$raw" | sort -g |
        awk -v c="$c" -v t="$t" '{ v[NR] = $1; u = substr($0, length($1) + 2) }
          END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
                f = (u ~ /^CPU/) ? "%.2f" : "%.1f"
                printf "%s,%s,%s," f "," f "," f ",%d\n", c, t, u, m, v[1], v[NR], NR }'
    done < <(awk -F, -v c="$c" '$1 == c && !seen[$2]++ { print $2 }' "$raw")
  done
} >"$stats"

label() {
  case $1 in
    ferry|tree_ferry) echo "ferry" ;;
    nc) echo "nc (netcat-openbsd)" ;;
    socat) echo "socat -b 1048576" ;;
    iperf3) echo "iperf3 -Z (memory to memory: ceiling)" ;;
    tree_tarnc) echo "tar \\| nc" ;;
    tree_rsync) echo "rsync daemon (rsync://)" ;;
    ferry_dante) echo "ferry via dante" ;;
    nc_dante) echo "nc -X 5 -x via dante" ;;
    ferry_direct) echo "ferry direct (no proxy)" ;;
    ferry_tcp) echo "ferry TCP mode" ;;
    ferry_udp) echo "ferry UDP mode (default: path MTU discovery)" ;;
    ferry_udp1200) echo "ferry UDP mode (fixed 1200 B datagrams)" ;;
    lossy_udp) echo "ferry UDP mode" ;;
    lossy_cubic) echo "ferry TCP mode, cubic" ;;
    lossy_bbr) echo "ferry TCP mode, bbr" ;;
    lossy_iperf3) echo "iperf3 TCP (cubic)" ;;
    sim_udp) echo "UDP mode in the simulator (virtual time, same path)" ;;
    fair_udp) echo "ferry UDP mode" ;;
    fair_tcp) echo "iperf3 TCP flow beside it" ;;
    conc_many) echo "senders at once (aggregate)" ;;
    conc_one) echo "one sender, same files" ;;
    enc_ferry) echo "ferry (TCP mode)" ;;
    enc_socat) echo "socat OPENSSL, TLS 1.3" ;;
    enc_scp) echo "scp -c aes128-gcm" ;;
    enc_rsync) echo "rsync -W -e ssh" ;;
    cmp_ferry) echo "ferry (no compression)" ;;
    cmp_ferryz) echo "ferry --compress" ;;
    cmp_rsyncz) echo "rsync -a -z (daemon)" ;;
    *) echo "$1" ;;
  esac
}
title() {
  case $1 in
    file) echo "One large file over TCP, loopback, into the page cache" ;;
    small) echo "Many small files (4 KiB each), loopback" ;;
    medium) echo "Many 1 MiB files, loopback" ;;
    dante) echo "One large file through dante (SOCKS5) on loopback" ;;
    udp) echo "UDP mode against TCP mode, clean loopback" ;;
    lossy0) echo "100 Mbit/s veth, no loss" ;;
    lossy1) echo "100 Mbit/s veth, 1% random loss" ;;
    lossy5) echo "100 Mbit/s veth, 5% random loss" ;;
    concurrent) echo "Concurrent senders into one receiver" ;;
    encryption) echo "One large file, encrypted by every tool, loopback" ;;
    wan1g*)
      local r=${1#wan1g}
      echo "Emulated path, 1 Gbit/s: ${r%%ms*} ms round trip, ${r#*ms}% random loss" ;;
    wan*)
      local r=${1#wan}
      echo "Emulated path, 100 Mbit/s: ${r%%ms*} ms round trip, ${r#*ms}% random loss" ;;
    fair_*) echo "Fairness: UDP mode beside one TCP ${1#fair_} flow, 100 Mbit/s, 50 ms, no loss" ;;
    cmp_text_lo) echo "Compression: a text tree (/usr/include), loopback" ;;
    cmp_rand_lo) echo "Compression: one random file, loopback" ;;
    cmp_text_100m) echo "Compression: a text tree (/usr/include), 100 Mbit/s veth" ;;
    cmp_rand_100m) echo "Compression: one random file, 100 Mbit/s veth" ;;
    *) echo "$1" ;;
  esac
}
med() { awk -F, -v c="$1" -v t="$2" '$1 == c && $2 == t { print $4 }' "$stats"; }
# target_row TEXT VALUE GOAL [UNIT]: a row of the targets table: VALUE
# against GOAL, worded as the figure and the goal ("1.90x, goal 2.0x: 95% of
# the goal"), never a bare "not met" for a ratio that may well be a win.
# UNIT is "x" (a ratio, the default) or a unit such as "Mbit/s".
target_row() {
  awk -v text="$1" -v v="$2" -v g="$3" -v u="${4:-x}" -v only="$only" 'BEGIN {
    sep = (u == "x") ? "" : " "
    if (v == "") {  # (an --only run lists only the targets it measured)
      if (only == "") printf "| %s | not run | %s%s%s | |\n", text, g, sep, u
      exit
    }
    verdict = (v + 0 >= g + 0) ? "goal reached" : sprintf("%.0f%% of the goal", 100 * v / g)
    printf "| %s | %.2f%s%s | %s%s%s | %s |\n", text, v, sep, u, g, sep, u, verdict }'
}
# info_row TEXT VALUE: a measured ratio the targets table names without a goal.
info_row() {
  awk -v text="$1" -v v="$2" -v only="$only" 'BEGIN {
    if (v == "" && only != "") exit
    printf "| %s | %s | (no goal) | %s |\n", text, (v == "" ? "not run" : sprintf("%.2fx", v)), "" }'
}
# notes CASE: what a reader needs to know under CASE's table.
notes() {
  case $1 in
    encryption)
      echo "CPU: user + system seconds per GiB, medians of the timed runs; \`sender\` is the"
      echo "side that reads the file. GNU time measures each process the bench starts"
      echo "(ferry-send, a \`ferry-recv --once\` per run, both socat ends, the scp and"
      echo "rsync clients with their ssh). The receiving side of scp and rsync runs under"
      echo "the throw-away sshd: its CPU is the listening sshd's growth in reaped"
      echo "children's time (the connection's sshd processes with sftp-server or"
      echo "\`rsync --server\`), so it includes sshd's key exchange and authentication."
      echo "Tools: ferry TLS 1.3 as always; \`socat -b 1048576\` OPENSSL-LISTEN / OPENSSL with"
      echo "\`openssl-min-proto-version=TLS1.3\`, a self-signed P-256 certificate, \`verify=0\`;"
      echo "\`scp -c aes128-gcm@openssh.com\` (the SFTP protocol, OpenSSH 9's default);"
      echo "\`rsync -W --inplace -e ssh\` with the same cipher (no compression)."
      ;;
    wan*)
      echo "Mbit/s of the file's bytes over the whole run (connecting, the handshake and"
      echo "startup included), so utilisation is the figure over the link's rate; the link"
      echo "counts whole IP packets, so about 96% is the most a file's bytes can reach. A"
      echo "run that did not finish within the limit counts what arrived."
      if [ -s "$out/wan-loss.csv" ]; then
        awk -F, -v c="$1" '$1 == c && $4 > 0 {
          printf "UDP mode sent %d packets and counted %.2f%% lost; in the same run the link dropped %.2f%% of the packets it got from the sender (%d at random, %d from its full queue).\n",
            $2, $3, ($5 + $6) * 100 / $4, $5, $6 }' "$out/wan-loss.csv"
      fi
      ;;
    fair_*)
      echo "Each flow's Mbit/s over the same window (iperf3's first 5 s omitted, ferry's"
      echo "part file measured at the same moments); a flow's share is its rate over the sum."
      ;;
    cmp_*)
      echo "MB/s of the data's own bytes (what a user moves), whatever crossed the wire."
      echo "ferry encrypts as always (TLS 1.3); the rsync daemon does not encrypt."
      echo "\`rsync -z\` negotiates its compressor (zstd with rsync 3.2 or later on both"
      echo "ends). ferry --compress: one zstd stream per session, level 3, 1 MiB window."
      ;;
  esac
}
ratio() { [ -n "$1" ] && [ -n "$2" ] && awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b }'; }
maxof() { printf '%s\n' "$@" | grep . | sort -g | tail -n 1; }

md=$out/results.md
# The cases with a table and a chart (CPU figures go into their case's table).
cases=$(awk -F, '!seen[$1]++ && $1 !~ /-cpu-(send|recv)$/ { print $1 }' "$raw")
{
  echo "# ferry benchmark results"
  echo
  echo "Generated by \`scripts/bench.sh$([ "$quick" = 1 ] && echo " --quick")$([ -n "$only" ] && echo " --only $only")\` on $(date -u +%Y-%m-%d), $(nproc) cores,"
  echo "$(uname -r), output on $fstype. Sizes: $sizes. Each tool $runs timed rounds"
  echo "after one untimed warm-up, tools taking turns round by round; figures are"
  echo "medians with the min-max range. MB/s is 10^6 bytes per second. Only"
  echo "ratios within this one run mean anything: the machine is noisy."
  echo
  echo "## Targets"
  echo
  echo "A ratio is ferry's figure over the other tool's (2.00x: twice as fast);"
  echo "the last column says how far the median got towards the goal."
  echo
  echo "| target | measured (median) | goal | against the goal |"
  echo "| --- | --- | --- | --- |"
  target_row "1 large file: ferry / best of nc, socat" "$(ratio "$(med file ferry)" "$(maxof "$(med file nc)" "$(med file socat)")")" 1.0
  target_row "1 large file: ferry / nc" "$(ratio "$(med file ferry)" "$(med file nc)")" 2.0
  target_row "small files: ferry / tar\\|nc (files/s)" "$(ratio "$(med small tree_ferry)" "$(med small tree_tarnc)")" 0.9
  target_row "small files: ferry / rsync (files/s)" "$(ratio "$(med small tree_ferry)" "$(med small tree_rsync)")" 2.0
  target_row "1 MiB files: ferry / better of tar\\|nc, rsync" "$(ratio "$(med medium tree_ferry)" "$(maxof "$(med medium tree_tarnc)" "$(med medium tree_rsync)")")" 1.0
  target_row "through dante: ferry / nc -X 5" "$(ratio "$(med dante ferry_dante)" "$(med dante nc_dante)")" 0.9
  target_row "through dante: ferry via dante / ferry direct" "$(ratio "$(med dante ferry_dante)" "$(med dante ferry_direct)")" 0.9
  target_row "UDP mode / TCP mode, clean loopback" "$(ratio "$(med udp ferry_udp)" "$(med udp ferry_tcp)")" 0.75
  target_row "UDP mode, 100 Mbit/s, 0% loss" "$(med lossy0 lossy_udp)" 90 Mbit/s
  target_row "UDP mode, 100 Mbit/s, 1% loss" "$(med lossy1 lossy_udp)" 85 Mbit/s
  target_row "UDP mode, 100 Mbit/s, 5% loss" "$(med lossy5 lossy_udp)" 70 Mbit/s
  target_row "concurrent senders / one sender" "$(ratio "$(med concurrent conc_many)" "$(med concurrent conc_one)")" 0.9
  target_row "encrypted large file: ferry / socat OPENSSL (TLS 1.3)" "$(ratio "$(med encryption enc_ferry)" "$(med encryption enc_socat)")" 1.5
  target_row "encrypted large file: ferry / scp -c aes128-gcm" "$(ratio "$(med encryption enc_ferry)" "$(med encryption enc_scp)")" 3.0
  info_row "encrypted large file: ferry / rsync -e ssh" "$(ratio "$(med encryption enc_ferry)" "$(med encryption enc_rsync)")"
  target_row "UDP mode, emulated 100 Mbit/s, 100 ms, 0% loss" "$(med wan100ms0 lossy_udp)" 90 Mbit/s
  target_row "UDP mode, emulated 100 Mbit/s, 100 ms, 1% loss" "$(med wan100ms1 lossy_udp)" 85 Mbit/s
  target_row "UDP mode, emulated 100 Mbit/s, 100 ms, 5% loss" "$(med wan100ms5 lossy_udp)" 75 Mbit/s
  target_row "UDP mode, emulated 100 Mbit/s, 200 ms, 1% loss" "$(med wan200ms1 lossy_udp)" 80 Mbit/s
  target_row "100 ms, 1%: UDP mode / TCP cubic" "$(ratio "$(med wan100ms1 lossy_udp)" "$(med wan100ms1 lossy_cubic)")" 20
  target_row "100 ms, 1%: UDP mode / TCP bbr" "$(ratio "$(med wan100ms1 lossy_udp)" "$(med wan100ms1 lossy_bbr)")" 1.3
  info_row "1 Gbit/s, 100 ms, 0%: UDP mode / TCP bbr" "$(ratio "$(med wan1g100ms0 lossy_udp)" "$(med wan1g100ms0 lossy_bbr)")"
  info_row "1 Gbit/s, 100 ms, 1%: UDP mode / TCP bbr" "$(ratio "$(med wan1g100ms1 lossy_udp)" "$(med wan1g100ms1 lossy_bbr)")"
  while read -r c; do
    info_row "$c: UDP mode, emulated / simulated" "$(ratio "$(med "$c" lossy_udp)" "$(med "$c" sim_udp)")"
  done < <(awk -F, '$2 == "sim_udp" { print $1 }' "$stats")
  for cc in cubic bbr; do
    u=$(med "fair_$cc" fair_udp) t=$(med "fair_$cc" fair_tcp)
    if [ -n "$u" ] && [ -n "$t" ]; then
      target_row "beside TCP $cc: UDP mode's share of the link" "$(awk -v u="$u" -v t="$t" 'BEGIN { print u / (u + t) }')" 0.25
      target_row "beside TCP $cc: the TCP flow's share" "$(awk -v u="$u" -v t="$t" 'BEGIN { print t / (u + t) }')" 0.25
    else
      target_row "beside TCP $cc: each flow's share of the link" "" 0.25
    fi
  done
  target_row "text, 100 Mbit/s: ferry --compress / ferry" "$(ratio "$(med cmp_text_100m cmp_ferryz)" "$(med cmp_text_100m cmp_ferry)")" 2.0
  target_row "random, 100 Mbit/s: ferry --compress / ferry" "$(ratio "$(med cmp_rand_100m cmp_ferryz)" "$(med cmp_rand_100m cmp_ferry)")" 0.95
  info_row "text, 100 Mbit/s: ferry --compress / rsync -z" "$(ratio "$(med cmp_text_100m cmp_ferryz)" "$(med cmp_text_100m cmp_rsyncz)")"
  info_row "text, loopback: ferry --compress / ferry" "$(ratio "$(med cmp_text_lo cmp_ferryz)" "$(med cmp_text_lo cmp_ferry)")"
  info_row "random, loopback: ferry --compress / ferry" "$(ratio "$(med cmp_rand_lo cmp_ferryz)" "$(med cmp_rand_lo cmp_ferry)")"
  if [ -s "$rss" ]; then
    s=$(awk -F, '$1 == "send" { if ($2 > m) m = $2 } END { printf "%.1f", m / 1024 }' "$rss")
    r=$(awk -F, '$1 == "recv" { if ($2 > m) m = $2 } END { printf "%.1f", m / 1024 }' "$rss")
    echo "| peak RSS, large file: ferry-send (worst run) | $s MiB | ≤ 64 MiB | $(awk -v v="$s" 'BEGIN { print (v <= 64 ? "goal reached" : "over the goal") }') |"
    echo "| peak RSS, large file: ferry-recv (whole case) | $r MiB | ≤ 64 MiB | $(awk -v v="$r" 'BEGIN { print (v <= 64 ? "goal reached" : "over the goal") }') |"
  fi
  for c in $cases; do
    unit=$(awk -F, -v c="$c" '$1 == c { print $3; exit }' "$stats")
    first=$(awk -F, -v c="$c" '$1 == c { print $2; exit }' "$stats")
    cpu=''
    if grep -q "^$c-cpu-" "$stats"; then cpu=1; fi
    echo
    echo "## $(title "$c")"
    echo
    echo "![$c]($c.png)"
    echo
    if [ -n "$cpu" ]; then
      echo "| tool | median $unit | min-max | first tool / this | sender CPU s/GiB | receiver CPU s/GiB |"
      echo "| --- | ---: | ---: | ---: | ---: | ---: |"
    else
      echo "| tool | median $unit | min-max | first tool / this |"
      echo "| --- | ---: | ---: | ---: |"
    fi
    awk -F, -v c="$c" '$1 == c { print $2 "," $4 "," $5 "," $6 }' "$stats" | while IFS=, read -r t m lo hi; do
      if [ -n "$cpu" ]; then
        echo "| $(label "$t") | $m | $lo-$hi | $(ratio "$(med "$c" "$first")" "$m") | $(med "$c-cpu-send" "$t") | $(med "$c-cpu-recv" "$t") |"
      else
        echo "| $(label "$t") | $m | $lo-$hi | $(ratio "$(med "$c" "$first")" "$m") |"
      fi
    done
    n=$(notes "$c")
    [ -z "$n" ] || printf '\n%s\n' "$n"
  done
} >"$md"

# Charts: median bars with min-max error bars, one PNG per case.
if command -v gnuplot >/dev/null; then
  for c in $cases; do
    unit=$(awk -F, -v c="$c" '$1 == c { print $3; exit }' "$stats")
    awk -F, -v c="$c" '$1 == c { print $2 "," $4 "," $5 "," $6 }' "$stats" | while IFS=, read -r t m lo hi; do
      # shellcheck disable=SC1003 # '\\' is tr's escaped backslash, not a quote escape
      # Names wrapped at about 22 columns (gnuplot reads \n in a quoted
      # field as a line break): long ones no longer run into each other.
      printf '"%s" %s %s %s\n' "$(label "$t" | tr -d '\\' | fold -s -w 22 | sed 's/ *$//' |
        awk 'NR > 1 { printf "\\n" } { printf "%s", $0 }')" "$m" "$lo" "$hi"
    done >"$out/$c.dat"
    gnuplot <<GP
set terminal pngcairo size 960,480 font ",10"
set output "$out/$c.png"
set title "$(title "$c")"
set ylabel "$unit (median, min-max)"
set yrange [0:*]
set offsets 0.5, 0.5, graph 0.12, 0
set style fill solid 0.7 border -1
set boxwidth 0.6
set grid ytics
# Long tool names are wrapped (above), with room below for three lines.
set xtics noenhanced
set bmargin 5
set key off
# The value sits above its error bar's top, so the two never cross.
plot "$out/$c.dat" using 0:2:xtic(1) with boxes lc rgb "#4477aa", \
     "" using 0:2:3:4 with yerrorbars lc rgb "black" pt 7 ps 0, \
     "" using 0:4:(sprintf("%.0f", \$2)) with labels offset 0,0.9
GP
    rm -f "$out/$c.dat"
  done
fi
echo "bench: wrote $md, $stats and $(find "$out" -mindepth 1 -maxdepth 1 -name '[!.]*.png' | wc -l) charts in $out" >&2
cat "$md"
