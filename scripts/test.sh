#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, runs ctest.
# Exits non-zero on any failure. .ci/run calls exactly this.
#
# With CI=true (or FERRY_SANITIZE_SUITE=1) the suite runs twice: the
# Release build, then an ASan+UBSan build; warnings are errors in CI.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${FERRY_BUILD_DIR:-$root/build}
"$root/scripts/setup.sh"

run_suite() {  # run_suite BUILD_DIR
  (cd "$1" && ctest --output-on-failure --timeout 300 -j2)
}

"$root/scripts/build.sh" "$build" Release
run_suite "$build"

if [ "${CI:-}" = "true" ] || [ "${FERRY_SANITIZE_SUITE:-}" = "1" ]; then
  echo "== the suite again under AddressSanitizer + UndefinedBehaviorSanitizer"
  asan=${build}-asan
  cmake -S "$root" -B "$asan" -DCMAKE_BUILD_TYPE=Debug -DFERRY_SANITIZE=address,undefined \
    -DFERRY_WARNINGS_AS_ERRORS="$([ "${CI:-}" = "true" ] && echo ON || echo OFF)" >/dev/null
  cmake --build "$asan" -j2
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 run_suite "$asan"
fi
