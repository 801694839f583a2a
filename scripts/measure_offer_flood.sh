#!/usr/bin/env bash
# The receiver's peak memory under a flood of directory offers: SESSIONS
# hostile sessions (default 1), each offering OFFERS directories (default
# 1,000,000) with PATH_BYTES-byte paths (default 4096) and nothing else.
# Prints the receiver's peak RSS (VmHWM) before and after, and what each
# session was told. Loopback only; bounded by --limit (15 min).
#   scripts/measure_offer_flood.sh [SESSIONS] [OFFERS] [PATH_BYTES]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=lib/recv.sh
source "$root/scripts/lib/recv.sh"
build=${FERRY_BUILD_DIR:-$root/build}
sessions=${1:-1}
offers=${2:-1000000}
path_bytes=${3:-4096}
"$root/scripts/build.sh" "$build" Release >/dev/null
work=$(mktemp -d "${TMPDIR:-/tmp}/ferry-flood.XXXXXX")
trap 'kill "$recv" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
"$build/bin/ferry-recv" --listen 127.0.0.1:0 --dir "$work/inbox" --json --quiet \
  --config-dir "$work/config" --allow-any-sender \
  --max-sessions 128 --max-sessions-per-host 128 >"$work/recv.out" 2>"$work/recv.err" &
recv=$!
port=$(recv_port "$work/recv.out") || { echo "ferry-recv did not start: $(cat "$work/recv.err")" >&2; exit 1; }
hwm() { awk '/VmHWM/{print $2}' "/proc/$recv/status"; }
echo "receiver peak RSS before: $(hwm) KiB"
start=$(date +%s)
"$build/bin/ferry-test-offer-flood" --port "$port" --sessions "$sessions" --offers "$offers" \
  --path-bytes "$path_bytes" --limit 900 | sort -t: -k1,1 | head -n 5
echo "($sessions sessions x $offers directory offers of $path_bytes-byte paths, $(($(date +%s) - start)) s)"
echo "receiver peak RSS after: $(hwm) KiB; directories created: $(find "$work/inbox" -mindepth 1 -type d | wc -l)"
