#!/usr/bin/env bash
# The quick start's first command: installs what is missing, builds Release,
# runs ferry-recv on loopback, pairs a ferry-send with it by the one-time code
# it prints, sends the built-in sample tree (encrypted), sends again by key,
# verifies every byte, mode and mtime arrived, prints what happened, cleans up.
set -euo pipefail
# FERRY_BIN=DIR uses already built binaries from DIR (no setup, no build).
root=$(cd "$(dirname "$0")/.." && pwd)
if [ -n "${FERRY_BIN:-}" ]; then
  bin=$FERRY_BIN
else
  build=${FERRY_BUILD_DIR:-$root/build}
  "$root/scripts/setup.sh"
  "$root/scripts/build.sh" "$build" Release >/dev/null
  bin=$build/bin
fi
# shellcheck source=lib/sample.sh
source "$root/scripts/lib/sample.sh"
# shellcheck source=lib/recv.sh
source "$root/scripts/lib/recv.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/ferry-demo.XXXXXX")
recv_pid=
cleanup() {
  if [ -n "$recv_pid" ]; then kill "$recv_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "== making the sample tree (nested dirs, empty dir, empty file, 16 MiB file, odd names)"
make_sample "$work/sample" 16
(cd "$work" && find sample | LC_ALL=C sort | sed 's/^/   /')

# Throw-away identities: the demo touches nothing in ~/.config/ferry.
export FERRY_CONFIG_DIR=$work/sender-config
unset FERRY_CODE FERRY_TOKEN
echo "== starting ferry-recv on 127.0.0.1 (free port), storing into $work/inbox"
"$bin/ferry-recv" --listen 127.0.0.1:0 --dir "$work/inbox" --json --config-dir "$work/receiver-config" \
  --remember-senders >"$work/recv.json" 2>"$work/recv.log" &
recv_pid=$!
port=$(recv_port "$work/recv.json") || { echo "ferry-recv did not start: $(cat "$work/recv.log")" >&2; exit 1; }
fingerprint=$(jq -r 'select(.event=="listening") | .fingerprint' "$work/recv.json" | head -n 1)
code=''
for _ in $(seq 1 100); do
  code=$(jq -r 'select(.event=="code") | .code' "$work/recv.json" 2>/dev/null | head -n 1)
  [ -n "$code" ] && break
  sleep 0.05
done
[ -n "$code" ] || { echo "ferry-recv printed no one-time code: $(cat "$work/recv.log")" >&2; exit 1; }
echo "   receiver key $fingerprint; it printed the one-time code $code"

echo "== FERRY_CODE=$code ferry-send 127.0.0.1:$port sample/   (encrypted; the code pairs the two)"
rc=0
FERRY_CODE=$code "$bin/ferry-send" "127.0.0.1:$port" "$work/sample/" || rc=$?
[ "$rc" -eq 0 ] || { echo "ferry-send failed with exit code $rc" >&2; exit 1; }
echo "   the sender recorded the receiver:"
sed 's/^/     /' "$FERRY_CONFIG_DIR/known_receivers"

echo "== ferry-send again, no code: each side now knows the other's key"
rc=0
"$bin/ferry-send" "127.0.0.1:$port" "$work/sample/" || rc=$?
[ "$rc" -eq 0 ] || { echo "second ferry-send failed with exit code $rc" >&2; exit 1; }

echo "== receiver's log"
sed 's/^/   /' "$work/recv.log"

echo "== verifying"
same_tree "$work/sample" "$work/inbox/sample"
files=$(find "$work/sample" -type f | wc -l)
dirs=$(find "$work/sample" -type d | wc -l)
bytes=$(find "$work/sample" -type f -printf '%s\n' | awk '{s+=$1} END {print s}')
echo "   $files files, $dirs directories, $bytes bytes: content, names, modes and mtimes identical"

kill -TERM "$recv_pid"
wait "$recv_pid" || { echo "ferry-recv did not stop cleanly" >&2; exit 1; }
recv_pid=
echo "== demo passed"
