#!/usr/bin/env bash
# The receiver's disk failing under it: full (a 1 MiB tmpfs: the free-space
# reserve refuses up front, without it ENOSPC mid-file) and permission
# denied (the receiver running as nobody). The sender gets a clear error
# naming the file, nothing half-written stays, the receiver keeps serving.
# Needs root (mounts, setpriv); runs in its own mount namespace.
if [ "${FERRY_IN_MOUNT_NS:-}" != 1 ]; then
  [ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root (tmpfs mount, running the receiver as nobody)"; exit 77; }
  command -v unshare >/dev/null || { echo "SKIP: unshare missing"; exit 77; }
  FERRY_IN_MOUNT_NS=1 exec unshare -m --propagation private bash "$0" "$@"
fi
source "$(dirname "$0")/lib.sh"

# Disk full.
mkdir -p "$WORK/small" "$WORK/src"
mount -t tmpfs -o size=1m tmpfs "$WORK/small" || skip "cannot mount tmpfs here"
MOUNTS+=("$WORK/small")
head -c $((2 * 1024 * 1024)) /dev/urandom >"$WORK/src/big.bin"
printf 'small\n' >"$WORK/src/small.txt"
# A file system no larger than the --min-free reserve (256 MiB by default)
# could store nothing: the receiver says so at start and exits 7.
mkdir -p "$WORK/small/inbox"
rc=0
timeout 20 "$RECV" --listen 127.0.0.1:0 --dir "$WORK/small/inbox" 2>"$WORK/tiny.err" || rc=$?
[ "$rc" -eq 7 ] || fail "receiver on a 1 MiB file system with a 256 MiB reserve: exit $rc, expected 7"
grep -q 'cannot store into .*/small/inbox: its file system holds 1.0 MiB in all, no more than the --min-free reserve of 256.0 MiB' \
  "$WORK/tiny.err" || fail "reserve larger than the file system: $(cat "$WORK/tiny.err")"
pass "a file system smaller than the --min-free reserve: refused at start (exit 7)"

# With a reserve that fits, a file that would eat into it is refused up
# front: nothing is written.
start_recv "$WORK/small/inbox" --min-free 512K
send --json "$WORK/src/big.bin"
expect_rc 1 "offer beyond the free-space reserve"
grep -q 'big.bin: rejected by receiver: not enough free space on the receiver (.* free, .* promised to transfers in progress, keeps 512.0 KiB free: its --min-free)' "$SEND_ERR" ||
  fail "free-space rejection message: $(cat "$SEND_ERR")"
[ -z "$(ls -A "$WORK/small/inbox")" ] || fail "something was written for a file refused for space"
kill "$RECV_PID"
pass "a file that would eat the --min-free reserve is rejected before any byte is written"

# A read-only file system: said at start, exit 7 (not "not enough space").
mkdir -p "$WORK/ro"
mount -t tmpfs -o size=1g,ro tmpfs "$WORK/ro" || skip "cannot mount a read-only tmpfs here"
MOUNTS+=("$WORK/ro")
rc=0
timeout 20 "$RECV" --listen 127.0.0.1:0 --dir "$WORK/ro" 2>"$WORK/ro.err" || rc=$?
[ "$rc" -eq 7 ] || fail "receiver on a read-only file system: exit $rc, expected 7"
grep -q "cannot store into $WORK/ro: it is on a read-only file system" "$WORK/ro.err" ||
  fail "read-only message: $(cat "$WORK/ro.err")"
pass "a read-only file system: refused at start (exit 7)"

# Without the reserve the disk fills mid-file: ENOSPC, reported and cleaned.
start_recv "$WORK/small/inbox" --min-free 0
send --json "$WORK/src/big.bin"
expect_rc 9 "disk full"
grep -q 'big.bin: not stored by receiver: write failed: No space left on device' "$SEND_ERR" ||
  fail "disk-full message: $(cat "$SEND_ERR")"
has_event "$SEND_OUT" '.event=="file_done" and .path=="big.bin" and .status=="receiver_io_error"' ||
  fail "no receiver_io_error event"
[ ! -e "$WORK/small/inbox/big.bin" ] || fail "a file was kept under its final name on a full disk"
no_leftovers "$WORK/small"
send "$WORK/src/small.txt"
expect_rc 0 "receiver serving after disk full"
cmp "$WORK/src/small.txt" "$WORK/small/inbox/small.txt" || fail "small file after disk full"
pass "disk full"

# The reserve holds for everyone at once: one receiver-wide ledger reserves
# known sizes at offer time and a stream of unknown size chunk by chunk,
# so neither a fast stream nor concurrent senders eat into --min-free by
# more than one write buffer (1 MiB) per session.
mkdir -p "$WORK/res"
mount -t tmpfs -o size=64m tmpfs "$WORK/res" || skip "cannot mount tmpfs here"
MOUNTS+=("$WORK/res")
free_bytes() { echo $(($(stat -f -c '%a * %S' "$1"))); }
# Samples the free space every 20 ms (at most 60 s) into $1 until $2 exists.
sample_free() {
  local out=$1 stop=$2 i min
  min=$(free_bytes "$WORK/res")
  for i in $(seq 1 3000); do
    [ -e "$stop" ] && break
    local f
    f=$(free_bytes "$WORK/res")
    [ "$f" -lt "$min" ] && min=$f
    sleep 0.02
  done
  echo "$min" >"$out"
}
reserve=$((32 << 20))
buffer=$((1 << 20))
start_recv "$WORK/res/inbox" --min-free 32M
sample_free "$WORK/min.stream" "$WORK/stop.stream" &
sampler=$!
send --json - --name stream.bin < <(head -c $((48 << 20)) /dev/urandom)
touch "$WORK/stop.stream"
wait "$sampler"
expect_rc 9 "a stream past the reserve"
grep -q 'stream.bin: not stored by receiver: not enough free space on the receiver' "$SEND_ERR" ||
  fail "stream past the reserve: $(cat "$SEND_ERR")"
min=$(cat "$WORK/min.stream")
echo "stream of unknown size: lowest free $((min >> 10)) KiB, reserve $((reserve >> 10)) KiB"
[ "$min" -ge $((reserve - buffer)) ] ||
  fail "a stream went $(((reserve - min) >> 10)) KiB into the 32 MiB reserve"
[ ! -e "$WORK/res/inbox/stream.bin" ] || fail "a cut stream was stored"
no_leftovers "$WORK/res"

for i in 1 2 3 4 5 6 7 8; do head -c $((6 << 20)) /dev/urandom >"$WORK/src/c$i.bin"; done
sample_free "$WORK/min.many" "$WORK/stop.many" &
sampler=$!
pids=()
for i in 1 2 3 4 5 6 7 8; do
  timeout 120 "$SEND" "127.0.0.1:$RECV_PORT" --json "$WORK/src/c$i.bin" \
    >"$WORK/c$i.out" 2>"$WORK/c$i.err" &
  pids+=($!)
done
# The stream again, beside them.
head -c $((48 << 20)) /dev/urandom |
  timeout 120 "$SEND" "127.0.0.1:$RECV_PORT" - --name stream2.bin >/dev/null 2>"$WORK/c9.err" &
pids+=($!)
for p in "${pids[@]}"; do wait "$p" || true; done
touch "$WORK/stop.many"
wait "$sampler"
min=$(cat "$WORK/min.many")
stored=$(cat "$WORK"/c?.out | jq -s '[.[] | select(.event=="file_done" and .status=="stored")] | length')
refused=$(cat "$WORK"/c?.out | jq -s '[.[] | select(.event=="file_done" and .status=="rejected")] | length')
echo "8 senders x 6 MiB and a 48 MiB stream: $stored stored, $refused refused up front," \
  "lowest free $((min >> 10)) KiB, reserve $((reserve >> 10)) KiB"
if ! [ "$stored" -ge 1 ] || ! [ "$refused" -ge 1 ]; then fail "expected some stored and some refused"; fi
[ "$min" -ge $((reserve - 9 * buffer)) ] ||
  fail "concurrent senders went $(((reserve - min) >> 10)) KiB into the 32 MiB reserve"
[ "$(free_bytes "$WORK/res")" -ge "$reserve" ] || fail "the reserve is eaten after the run"
no_leftovers "$WORK/res"
kill "$RECV_PID"
pass "the --min-free reserve holds against a stream and 8 concurrent senders"

# Permission denied: the receive directory is root's, the receiver nobody.
command -v setpriv >/dev/null || skip "setpriv missing"
chmod 0755 "$WORK"
mkdir -p "$WORK/locked"
RECV_PREFIX=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
cp -r "$FERRY_CONFIG_DIR" "$WORK/config-nobody"
chown -R nobody:nogroup "$WORK/config-nobody"
# A directory it cannot write in: said at start, exit 7.
rc=0
timeout 20 "${RECV_PREFIX[@]}" "$RECV" --listen 127.0.0.1:0 --dir "$WORK/locked" \
  --config-dir "$WORK/config-nobody" 2>"$WORK/locked.err" || rc=$?
[ "$rc" -eq 7 ] || fail "receiver in a directory it cannot write: exit $rc, expected 7"
grep -q "cannot store into $WORK/locked: cannot create a file there: Permission denied" "$WORK/locked.err" ||
  fail "unwritable directory message: $(cat "$WORK/locked.err")"
[ -z "$(ls -A "$WORK/locked")" ] || fail "something was written into the locked directory"
# Per file, the real cause: its own directory is root's, the rest writable.
mkdir -p "$WORK/open/sub"
chown nobody:nogroup "$WORK/open"
start_recv "$WORK/open" --config-dir "$WORK/config-nobody"
mkdir -p "$WORK/src/sub/newdir"
printf 'x\n' >"$WORK/src/sub/inner.txt"
send "$WORK/src/sub"
expect_rc 9 "permission denied in a subdirectory"
grep -q 'sub/inner.txt: not stored by receiver: cannot write it: permission denied in its directory' "$SEND_ERR" ||
  fail "permission message: $(cat "$SEND_ERR")"
grep -q 'sub/newdir: rejected by receiver: cannot create directory: Permission denied' "$SEND_ERR" ||
  fail "directory permission message: $(cat "$SEND_ERR")"
[ -z "$(ls -A "$WORK/open/sub")" ] || fail "something was written into the root-owned subdirectory"
pass "permission denied: refused at start for the receive directory, named per file below it"
