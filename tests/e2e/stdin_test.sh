#!/usr/bin/env bash
# Streaming stdin of unknown length (tar c data | ferry-send - --name ...).
source "$(dirname "$0")/lib.sh"

make_sample "$WORK/src/data" 2
start_recv "$WORK/inbox"
send --json - --name data.tar < <(tar --format=posix -C "$WORK/src" -cf - data)
expect_rc 0 "stdin stream"
mkdir -p "$WORK/untar"
tar -C "$WORK/untar" -xf "$WORK/inbox/data.tar"
same_tree "$WORK/src/data" "$WORK/untar/data" || fail "tar through stdin differs"
has_event "$SEND_OUT" '.event=="file_done" and .path=="data.tar" and .status == "stored"' ||
  fail "no file_done for the stream"
pass "stdin stream"

# An empty stream is an empty file.
send - --name empty.bin </dev/null
expect_rc 0 "empty stdin"
[[ -f "$WORK/inbox/empty.bin" && ! -s "$WORK/inbox/empty.bin" ]] || fail "empty stream"
pass "empty stdin"
