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
# With its default --min-free reserve (256 MiB) the receiver refuses the
# file up front: nothing is written.
start_recv "$WORK/small/inbox"
send --json "$WORK/src/big.bin"
expect_rc 1 "offer beyond the free-space reserve"
grep -q 'big.bin: rejected by receiver: not enough free space on the receiver (.* free, keeps 256.0 MiB free: its --min-free)' "$SEND_ERR" ||
  fail "free-space rejection message: $(cat "$SEND_ERR")"
[ -z "$(ls -A "$WORK/small/inbox")" ] || fail "something was written for a file refused for space"
kill "$RECV_PID"
pass "a file that would eat the --min-free reserve is rejected before any byte is written"

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

# Permission denied: the receive directory is root's, the receiver nobody.
command -v setpriv >/dev/null || skip "setpriv missing"
chmod 0755 "$WORK"
mkdir -p "$WORK/locked"
RECV_PREFIX=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
start_recv "$WORK/locked"
mkdir -p "$WORK/src/sub"
printf 'x\n' >"$WORK/src/sub/inner.txt"
send "$WORK/src/small.txt"
expect_rc 9 "permission denied on the file"
grep -q 'small.txt: not stored by receiver: cannot create part file: Permission denied' "$SEND_ERR" ||
  fail "permission message: $(cat "$SEND_ERR")"
send "$WORK/src/sub"
expect_rc 1 "permission denied on a directory"
grep -q 'sub: rejected by receiver: cannot create directory: Permission denied' "$SEND_ERR" ||
  fail "directory permission message: $(cat "$SEND_ERR")"
[ -z "$(ls -A "$WORK/locked")" ] || fail "something was written into the locked directory"
pass "permission denied"
