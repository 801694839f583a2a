#!/usr/bin/env bash
# Installs what ferry needs to build, test, demo and (--bench) benchmark, from Debian's
# packages, when it is missing. Uses sudo when not root. Idempotent.
set -euo pipefail

packages=(
  # build
  g++ cmake make pkg-config
  libasio-dev libcxxopts-dev libxxhash-dev libgtest-dev libssl-dev libsodium-dev libzstd-dev
  # tests, demo, batch helper; real SOCKS5 servers for the proxy tests
  jq python3 rsync help2man dpkg-dev iproute2 procps xxhash util-linux passwd dante-server microsocks tcpdump
  # the suite's lint of every shell script
  shellcheck
  # fuzzing (libFuzzer) with clang's sanitizer runtimes
  clang libclang-rt-14-dev
  # kernel-level packet loss in network namespaces (UDP tests and benchmarks);
  # iperf3 measures the emulated WAN link (tests/e2e/wan_test.sh)
  nftables iperf3
  # benchmarks (peers measured in the same run)
  netcat-openbsd socat
)
# scripts/bench.sh --bench: the rest of the peers (scp and rsync over ssh
# through a throw-away sshd; socat's TLS with an openssl-made certificate),
# GNU time for peak RSS and CPU time, and gnuplot for the charts.
if [ "${1:-}" = --bench ]; then
  packages+=(iperf3 rsync tar time gnuplot-nox openssh-server openssh-client openssl)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "setup: installing ${missing[*]}" >&2
as_root=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup: need root or sudo to install ${missing[*]}" >&2; exit 1; }
  as_root=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
