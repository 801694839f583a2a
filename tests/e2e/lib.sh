# shellcheck shell=bash
# Shared helpers for the end-to-end tests: real binaries on loopback, port 0.
# Sourced by each test; FERRY_BIN (the build's bin/) comes from CTest.
set -euo pipefail
: "${FERRY_BIN:?FERRY_BIN must name the directory holding ferry-send and ferry-recv}"
SEND=$FERRY_BIN/ferry-send
RECV=$FERRY_BIN/ferry-recv
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../../scripts/lib/sample.sh
source "$here/../../scripts/lib/sample.sh"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/ferry-e2e.XXXXXX")
_pids=()
MOUNTS=()  # file systems a test mounted under WORK, unmounted at the end
# _cleanup [STATUS]: the test's exit status (default: the one it ended with).
_cleanup() {
  local rc=${1:-$?} p m outs=()
  for p in "${_pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  # Every event a passing test saw must be in docs/events.md, field by field.
  if [ "$rc" -eq 0 ]; then
    mapfile -t outs < <(find "$WORK" -maxdepth 2 -name '*.out' -type f)
    if [ ${#outs[@]} -gt 0 ] &&
      ! python3 "$here/check_events.py" "$here/../../docs/events.md" "${outs[@]}" >&2; then
      echo "FAIL: JSON events do not match docs/events.md" >&2
      rc=1
    fi
  fi
  for m in "${MOUNTS[@]}"; do umount "$m" 2>/dev/null || true; done
  [ -n "${KEEP:-}" ] || rm -rf "$WORK"
  exit "$rc"
}
trap _cleanup EXIT
# A command that fails unchecked ends the test under set -e: say where,
# or the test ends without a word (in the main shell only: command
# substitutions inherit the trap with -E, and their failures are checked).
set -E
trap 'rc=$?; [ "$BASH_SUBSHELL" -ne 0 ] ||
  echo "FAIL: line ${LINENO} (${FUNCNAME[0]:-main}): $BASH_COMMAND exited $rc" >&2' ERR

# Every test has its own identity: one key serves both programs
# (FERRY_CONFIG_DIR) and is listed in its own authorized_senders, so the
# sessions are encrypted and authorised by key, as in a scripted setup.
export FERRY_CONFIG_DIR=$WORK/config
unset FERRY_CODE FERRY_TOKEN
"$SEND" --show-identity >"$WORK/identity" 2>&1 || {
  cat "$WORK/identity" >&2
  echo "FAIL: ferry-send --show-identity" >&2
  exit 1
}
head -n 1 "$WORK/identity" >"$FERRY_CONFIG_DIR/authorized_senders"

fail() {
  echo "FAIL: $*" >&2
  for f in "$WORK"/*.err; do [ -s "$f" ] && { echo "--- $f" >&2; tail -n 20 "$f" >&2; }; done
  exit 1
}
pass() { echo "ok: $*"; }

# skip REASON: ends the test as skipped (CTest's SKIP_RETURN_CODE 77).
skip() {
  echo "SKIP: $*"
  exit 77
}

# start_recv DIR [ARGS...]: starts ferry-recv on RECV_LISTEN (default
# 127.0.0.1:0) with --json, prefixed by the command in RECV_PREFIX (an
# array, e.g. setpriv) if set; waits (bounded) for its listening event.
# Sets RECV_PID, RECV_PORT, RECV_OUT (events) and RECV_ERR (log).
_n=0
RECV_PREFIX=()
start_recv() {
  local dir=$1
  shift
  _n=$((_n + 1))
  RECV_OUT=$WORK/recv$_n.out
  RECV_ERR=$WORK/recv$_n.err
  # Made before the job starts: under set -e and pipefail, reading a log
  # the background shell has not opened yet would end the test.
  : >"$RECV_OUT"
  : >"$RECV_ERR"
  "${RECV_PREFIX[@]}" "$RECV" --listen "${RECV_LISTEN:-127.0.0.1:0}" --dir "$dir" --json "$@" \
    >"$RECV_OUT" 2>"$RECV_ERR" &
  RECV_PID=$!
  _pids+=("$RECV_PID")
  RECV_PORT=
  for _ in $(seq 1 200); do
    RECV_PORT=$(live_events "$RECV_OUT" 'select(.event=="listening") | .port' | head -n 1)
    [ -n "$RECV_PORT" ] && return 0
    kill -0 "$RECV_PID" 2>/dev/null || fail "ferry-recv exited at start: $(cat "$RECV_ERR")"
    sleep 0.05
  done
  fail "ferry-recv did not report a listening port within 10s"
}

# wait_exit PID SECONDS: waits for PID (a child of this shell) to end,
# bounded; sets WAIT_RC to its exit status. Not for use in $(...): a
# subshell cannot wait for its parent's children.
wait_exit() {
  local pid=$1 limit=$2
  for _ in $(seq 1 $((limit * 20))); do
    # shellcheck disable=SC2034 # WAIT_RC is read by the tests that source this file
    if ! kill -0 "$pid" 2>/dev/null; then
      WAIT_RC=0
      wait "$pid" || WAIT_RC=$?
      return 0
    fi
    sleep 0.05
  done
  fail "process $pid still running after ${limit}s"
}

# live_events FILE JQ_PROGRAM: JQ_PROGRAM's raw output over each whole
# NDJSON line of a log that a process may still be writing. A half-written
# last line is skipped (the next read has it whole) and a log not yet
# created gives nothing: under set -e and pipefail, a failing read would
# end the test.
live_events() {
  jq -rcR "fromjson? | $2" "$1" 2>/dev/null || true
}

# log_port LOG [SECONDS]: waits (10 s by default) until a program's stderr
# LOG says "listening on 127.0.0.1:PORT" (the log may not exist yet) and
# sets LOG_PORT; fails the test with the log otherwise.
log_port() {
  local log=$1 limit=${2:-10}
  LOG_PORT=
  for _ in $(seq 1 $((limit * 20))); do
    LOG_PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$log" 2>/dev/null |
      head -n 1 || true)
    [ -n "$LOG_PORT" ] && return 0
    sleep 0.05
  done
  fail "no 'listening on 127.0.0.1:PORT' in $log within ${limit}s: $(cat "$log" 2>/dev/null || true)"
}

# wait_event FILE JQ_FILTER SECONDS: waits until an NDJSON line matches.
wait_event() {
  local file=$1 filter=$2 limit=$3
  for _ in $(seq 1 $((limit * 20))); do
    [ -n "$(live_events "$file" "select($filter)" | head -n 1)" ] && return 0
    sleep 0.05
  done
  fail "no event matching '$filter' in $file within ${limit}s"
}

# has_event FILE JQ_CONDITION: some NDJSON line in FILE satisfies the
# condition. (jq 1.6's -e looks at the last input only, so slurp.)
has_event() {
  jq -s -e "any(.[]; $2)" "$1" >/dev/null
}

# send [ARGS...]: runs ferry-send to the current receiver at SEND_HOST
# (default 127.0.0.1); sets SEND_RC, SEND_OUT, SEND_ERR. Never fails the
# test by itself.
send() {
  _n=$((_n + 1))
  SEND_OUT=$WORK/send$_n.out
  SEND_ERR=$WORK/send$_n.err
  SEND_RC=0
  timeout 120 "$SEND" "${SEND_HOST:-127.0.0.1}:$RECV_PORT" "$@" >"$SEND_OUT" 2>"$SEND_ERR" ||
    SEND_RC=$?
}

expect_rc() {
  [ "$SEND_RC" -eq "$1" ] || fail "$2: ferry-send exited $SEND_RC, expected $1: $(cat "$SEND_ERR")"
}

# open_stall: makes a FIFO the test holds open (fd STALL_FD), so that a
# sender reading it as stdin (started with {STALL_FD}>&- so that it holds
# no write end itself) gets what the test writes and then waits,
# mid-file, for more. Sets STALL (its path).
open_stall() {
  STALL=$WORK/stall.$RANDOM
  mkfifo "$STALL"
  # shellcheck disable=SC2034 # STALL_FD is read by the tests that source this file
  exec {STALL_FD}<>"$STALL"
}

# no_leftovers DIR: no part files anywhere under DIR.
no_leftovers() {
  local left
  left=$(find "$1" -name '.ferry-part-*' | head -n 5)
  [ -z "$left" ] || fail "part files left behind: $left"
}

# start_helper NAME PROGRAM ARGS...: starts a test helper that prints
# "port N" once it listens; sets NAME_PID and NAME_PORT (bounded wait).
start_helper() {
  local name=$1 program=$2 out port
  # (mktemp: a unique name, and a file that exists before the background
  # job opens it, since the loop below reads it at once.)
  out=$(mktemp "$WORK/helper.XXXXXX")
  shift 2
  "$FERRY_BIN/$program" "$@" >"$out" 2>"$out.err" &
  printf -v "${name}_PID" '%s' "$!"
  _pids+=("$!")
  for _ in $(seq 1 100); do
    port=$(awk '/^port /{print $2}' "$out")
    if [ -n "$port" ]; then
      printf -v "${name}_PORT" '%s' "$port"
      return 0
    fi
    sleep 0.05
  done
  fail "$program did not start: $(cat "$out.err")"
}

# start_relay ARGS...: starts ferry-test-relay (a TCP relay on 127.0.0.1
# that can throttle or corrupt, see tests/support/relay.cpp) towards
# --to HOST:PORT; sets RELAY_PID and RELAY_PORT.
start_relay() { start_helper RELAY ferry-test-relay "$@"; }

# start_udp_relay ARGS...: starts ferry-test-udp-relay (a UDP relay, plain
# or SOCKS5, that cuts long datagrams: tests/support/udp_relay.cpp); sets
# UDP_RELAY_PID and UDP_RELAY_PORT.
start_udp_relay() { start_helper UDP_RELAY ferry-test-udp-relay --limit 120 "$@"; }

# part_size DIR: bytes in the (single) part file under DIR, 0 if none.
part_size() {
  local f
  # (A part file may vanish while find walks: that is no error here.)
  f=$(find "$1" -name '.ferry-part-*' 2>/dev/null | head -n 1 || true)
  [ -n "$f" ] && stat -c %s "$f" || echo 0
}

# wait_part DIR BYTES SECONDS: waits until a part file under DIR holds at
# least BYTES.
wait_part() {
  for _ in $(seq 1 $(($3 * 20))); do
    [ "$(part_size "$1")" -ge "$2" ] && return 0
    sleep 0.05
  done
  fail "no part file of $2 bytes under $1 within $3s (have $(part_size "$1"))"
}

# session_ends: how many sessions the current receiver has ended so far.
session_ends() {
  live_events "$RECV_OUT" 'select(.event=="session_end")' | wc -l
}

# wait_session_end COUNT SECONDS: waits until the current receiver has ended
# more than COUNT sessions (its part files are then unlocked).
wait_session_end() {
  for _ in $(seq 1 $(($2 * 20))); do
    [ "$(session_ends)" -gt "$1" ] && return 0
    sleep 0.05
  done
  fail "the receiver did not end a session within $2s"
}

# expect_resumed LABEL SRC DIR KEPT: the last send (with --json) stored SRC
# in DIR byte-exact by resuming after the KEPT bytes the receiver had kept:
# the sender verified them, put only the rest on the wire, and the current
# receiver logged the resume. The stored copy is removed afterwards.
expect_resumed() {
  local label=$1 src=$2 dir=$3 kept=$4 size name
  size=$(stat -c %s "$src")
  name=$(basename "$src")
  expect_rc 0 "$label"
  cmp "$src" "$dir/$name" || fail "$label: file differs after resume"
  no_leftovers "$dir"
  has_event "$SEND_OUT" ".event==\"session_end\" and .resumed==1 and .restarted==0 and .resumed_bytes==$kept and .bytes==$((size - kept))" ||
    fail "$label: not resumed after $kept kept bytes: $(tail -n 1 "$SEND_OUT")"
  has_event "$RECV_OUT" ".event==\"file_done\" and .path==\"$name\" and .status==\"stored\" and .resumed_bytes==$kept and .bytes==$size" ||
    fail "$label: the receiver did not log a resume after $kept bytes"
  rm "$dir/$name"
}
