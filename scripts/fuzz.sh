#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/) with clang + ASan + UBSan and runs
# each for SECONDS (default 60) from its checked-in seed corpus. Fails on
# any crash, leak, timeout or sanitizer report, leaving the input that
# caused it in build-fuzz/findings/. Prints executions per target.
#   scripts/fuzz.sh [SECONDS] [TARGET...]     (targets: frame socks5 rudp path text cpace zstream)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(frame socks5 rudp path text cpace zstream)
build=${FERRY_FUZZ_BUILD_DIR:-$root/build-fuzz}
"$root/scripts/setup.sh"

cmake -S "$root/fuzz" -B "$build" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j2 >/dev/null

work=$(mktemp -d "${TMPDIR:-/tmp}/ferry-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$build/findings"
status=0
for t in "${targets[@]}"; do
  mkdir -p "$work/$t"
  log=$work/$t.log
  rc=0
  # New inputs go to a scratch corpus; the checked-in seeds stay as they are.
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    "$build/bin/fuzz_$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$build/findings/$t-" \
    "$work/$t" "$root/fuzz/corpus/$t" >"$log" 2>&1 || rc=$?
  execs=$(awk '/stat::number_of_executed_units/{print $2}' "$log")
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
  if [ "$rc" -ne 0 ]; then
    echo "fuzz_$t: FAILED (exit $rc) after ${execs:-?} executions" >&2
    grep -E 'ERROR|SUMMARY|Test unit written|runtime error' "$log" | head -n 20 >&2
    status=1
  else
    echo "fuzz_$t: ${execs} executions in ${secs}s, ${cov:-cov: ?}, no findings"
  fi
done
exit $status
