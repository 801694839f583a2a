#!/usr/bin/env bash
# Several senders at once into one receiver.
source "$(dirname "$0")/lib.sh"

for k in 1 2 3 4 5 6; do
  mkdir -p "$WORK/src/s$k"
  head -c $((3 * 1024 * 1024 + k)) /dev/urandom >"$WORK/src/s$k/data.bin"
  for i in $(seq 1 50); do printf '%d %d\n' "$k" "$i" >"$WORK/src/s$k/f$i"; done
done
start_recv "$WORK/inbox"
pids=()
for k in 1 2 3 4 5 6; do
  timeout 120 "$SEND" -q "127.0.0.1:$RECV_PORT" "$WORK/src/s$k" 2>"$WORK/s$k.err" &
  pids+=($!)
done
for k in 1 2 3 4 5 6; do
  rc=0
  wait "${pids[$((k - 1))]}" || rc=$?
  [ "$rc" -eq 0 ] || fail "sender $k exited $rc: $(cat "$WORK/s$k.err")"
done
for k in 1 2 3 4 5 6; do same_tree "$WORK/src/s$k" "$WORK/inbox/s$k" || fail "sender $k tree"; done
[ "$(jq -c 'select(.event=="session_end" and .exit_code==0)' "$RECV_OUT" | wc -l)" -eq 6 ] ||
  fail "expected 6 clean sessions"
pass "6 concurrent senders"
