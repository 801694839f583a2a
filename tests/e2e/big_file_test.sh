#!/usr/bin/env bash
# A 256 MiB file arrives byte-exact.
source "$(dirname "$0")/lib.sh"

mkdir -p "$WORK/src"
head -c $((256 * 1024 * 1024)) /dev/urandom >"$WORK/src/big.bin"
start_recv "$WORK/inbox"
send -q "$WORK/src/big.bin"
expect_rc 0 "256 MiB file"
cmp "$WORK/src/big.bin" "$WORK/inbox/big.bin" || fail "256 MiB file differs"
no_leftovers "$WORK/inbox"
pass "256 MiB byte-exact"
