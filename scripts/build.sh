#!/usr/bin/env bash
# Configures and builds ferry. Usage: scripts/build.sh [BUILD_DIR] [BUILD_TYPE]
# Binaries land in BUILD_DIR/bin. In CI (CI=true) warnings are errors.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
type=${2:-Release}
werror=OFF
[ "${CI:-}" = "true" ] && werror=ON
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE="$type" -DFERRY_WARNINGS_AS_ERRORS="$werror" >/dev/null
cmake --build "$build" -j2
