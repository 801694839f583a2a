#!/usr/bin/env bash
# The whole test suite: installs what is missing, lints every shell script
# (shellcheck), builds, runs ctest. Exits non-zero on any failure, a lint
# finding included. .ci/run calls exactly this.
#
# With CI=true (or FERRY_SANITIZE_SUITE=1) it goes on: the whole suite again
# under ASan+UBSan, the concurrent tests (many sessions on the receiver's
# threads) under TSan, and each libFuzzer target for FERRY_FUZZ_SECONDS
# (default 60). Warnings are errors in CI.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${FERRY_BUILD_DIR:-$root/build}
"$root/scripts/setup.sh"

# Every shell script: .ci/run and each *.sh git tracks or would add (its
# ignores leave build trees out; outside a git checkout, those under scripts/
# and tests/). -x follows what they source, as .shellcheckrc says.
echo "== shellcheck"
if git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  found=$(git -C "$root" ls-files --cached --others --exclude-standard -- '*.sh')
else
  found=$(cd "$root" && find scripts tests -name '*.sh')
fi
scripts=(.ci/run)
while IFS= read -r f; do
  if [ -f "$root/$f" ]; then scripts+=("$f"); fi  # not one deleted but still tracked
done <<<"$found"
(cd "$root" && shellcheck -x "${scripts[@]}")

run_suite() {  # run_suite BUILD_DIR [CTEST ARGS...]
  local dir=$1
  shift
  (cd "$dir" && ctest --output-on-failure --timeout 300 -j2 "$@")
}

"$root/scripts/build.sh" "$build" Release
run_suite "$build"

if [ "${CI:-}" = "true" ] || [ "${FERRY_SANITIZE_SUITE:-}" = "1" ]; then
  echo "== the suite again under AddressSanitizer + UndefinedBehaviorSanitizer"
  asan=${build}-asan
  cmake -S "$root" -B "$asan" -DCMAKE_BUILD_TYPE=Debug -DFERRY_SANITIZE=address,undefined \
    -DFERRY_WARNINGS_AS_ERRORS="$([ "${CI:-}" = "true" ] && echo ON || echo OFF)" >/dev/null
  cmake --build "$asan" -j2
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    FERRY_SANITIZED=1 run_suite "$asan"

  echo "== the receiver's concurrency under ThreadSanitizer"
  tsan=${build}-tsan
  # Asio's fences draw -Wtsan notes from GCC; they are not our code's.
  cmake -S "$root" -B "$tsan" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFERRY_SANITIZE=thread \
    -DCMAKE_CXX_FLAGS=-Wno-tsan -DFERRY_WARNINGS_AS_ERRORS=OFF >/dev/null
  cmake --build "$tsan" -j2 --target ferry-send ferry-recv ferry-test-relay ferry-test-udp-relay
  reports=$(mktemp -d "${TMPDIR:-/tmp}/ferry-tsan.XXXXXX")
  TSAN_OPTIONS="halt_on_error=1 log_path=$reports/report" FERRY_SANITIZED=1 \
    run_suite "$tsan" -R 'e2e_(concurrent|load|udp|interrupt|resume)'
  if [ -n "$(ls -A "$reports")" ]; then
    cat "$reports"/* >&2
    echo "ThreadSanitizer reported the above" >&2
    exit 1
  fi
  rm -rf "$reports"

  echo "== fuzzing: each target for ${FERRY_FUZZ_SECONDS:-60}s"
  FERRY_FUZZ_BUILD_DIR=${build}-fuzz "$root/scripts/fuzz.sh" "${FERRY_FUZZ_SECONDS:-60}"
fi
