#!/usr/bin/env bash
# Batch transfers from a manifest, built only on ferry-send's scripting
# contract (exit codes and --json events).
#
#   scripts/batch.sh MANIFEST
#
# Each manifest line: DESTINATION PATH [PATH...], fields separated by
# whitespace; if a line contains a tab, fields are separated by tabs only
# (for paths with spaces). Blank lines and lines starting with # are
# ignored. Every line is sent, whatever happened to the ones before; a
# summary table follows: destination, files and directories stored, bytes
# sent, and the status (ferry-send's exit code by name, with the first
# reason). Exit status: 0 when every line succeeded, 1 when any did not, 2
# for a usage error.
#
# ferry-send is found as the other scripts find it: $FERRY_SEND, else
# $FERRY_BIN/ferry-send, else $FERRY_BUILD_DIR/bin (default build/), else
# ferry-send on PATH (an installed one).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if [ -n "${FERRY_SEND:-}" ]; then
  send=$FERRY_SEND
elif [ -n "${FERRY_BIN:-}" ]; then
  send=$FERRY_BIN/ferry-send
elif [ -x "${FERRY_BUILD_DIR:-$root/build}/bin/ferry-send" ]; then
  send=${FERRY_BUILD_DIR:-$root/build}/bin/ferry-send
else
  send=$(command -v ferry-send || echo "${FERRY_BUILD_DIR:-$root/build}/bin/ferry-send")
fi
if [ $# -ne 1 ] || [ ! -r "$1" ]; then
  echo "usage: $0 MANIFEST (a readable file)" >&2
  exit 2
fi
[ -x "$send" ] || { echo "batch: $send not found; run scripts/build.sh first" >&2; exit 2; }
command -v jq >/dev/null || { echo "batch: needs jq (scripts/setup.sh installs it)" >&2; exit 2; }

status_name() {
  case $1 in
    0) echo ok ;; 1) echo partial ;; 2) echo usage-error ;; 3) echo connect-failed ;;
    4) echo proxy-failed ;; 5) echo protocol-error ;; 6) echo integrity-failed ;;
    7) echo local-io-error ;; 8) echo timeout ;; 9) echo remote-io-error ;;
    10) echo auth-failed ;; 130) echo interrupted ;; 143) echo terminated ;; *) echo "exit-$1" ;;
  esac
}

rows=()
failed=0
lineno=0
while IFS= read -r line || [ -n "$line" ]; do
  lineno=$((lineno + 1))
  [[ "$line" =~ ^[[:space:]]*(#|$) ]] && continue
  if [[ "$line" == *$'\t'* ]]; then
    IFS=$'\t' read -r -a fields <<<"$line"
  else
    read -r -a fields <<<"$line"
  fi
  dest=${fields[0]}
  paths=("${fields[@]:1}")
  if [ ${#paths[@]} -eq 0 ]; then
    rows+=("$dest|0|0|0|usage-error (line $lineno has no paths)")
    failed=1
    continue
  fi
  events=$(mktemp)
  rc=0
  "$send" --json -q "$dest" "${paths[@]}" >"$events" 2>"$events.err" || rc=$?
  files=$(jq -rs 'map(select(.event=="session_end")) | (.[0].files // 0)' "$events" 2>/dev/null || echo 0)
  dirs=$(jq -rs 'map(select(.event=="session_end")) | (.[0].directories // 0)' "$events" 2>/dev/null || echo 0)
  bytes=$(jq -rs 'map(select(.event=="session_end")) | (.[0].bytes // 0)' "$events" 2>/dev/null || echo 0)
  status=$(status_name "$rc")
  if [ "$rc" -ne 0 ]; then
    failed=1
    why=$(jq -rs 'map(select(.event=="error")) | (.[0].message // "")' "$events" 2>/dev/null)
    [ -z "$why" ] && why=$(jq -rs 'map(select(.event=="file_done" and .status!="stored" and .status!="skipped")) | (.[0] | if . then "\(.path): \(.reason)" else "" end)' "$events" 2>/dev/null)
    [ -n "$why" ] && status="$status: $why"
  fi
  rows+=("$dest|$files|$dirs|$bytes|$status")
  rm -f "$events" "$events.err"
done <"$1"

printf '%-28s %8s %6s %14s  %s\n' DESTINATION FILES DIRS BYTES STATUS
for r in "${rows[@]}"; do
  IFS='|' read -r dest files dirs bytes status <<<"$r"
  printf '%-28s %8s %6s %14s  %s\n' "$dest" "$files" "$dirs" "$bytes" "$status"
done
exit "$failed"
