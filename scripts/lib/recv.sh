# shellcheck shell=bash
# Helpers for scripts that start a ferry-recv of their own.

# recv_port EVENTS_FILE: prints the port from the receiver's --json
# `listening` event once it appears (waits at most 10 s); fails otherwise.
recv_port() {
  local port=''
  for _ in $(seq 1 200); do
    port=$(jq -r 'select(.event=="listening") | .port' "$1" 2>/dev/null | head -n 1)
    [ -n "$port" ] && { echo "$port"; return 0; }
    sleep 0.05
  done
  return 1
}
