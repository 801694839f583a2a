#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, runs ctest.
# Exits non-zero on any failure. .ci/run calls exactly this.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${FERRY_BUILD_DIR:-$root/build}
"$root/scripts/setup.sh"
"$root/scripts/build.sh" "$build" Release
cd "$build"
ctest --output-on-failure --timeout 300 -j2
