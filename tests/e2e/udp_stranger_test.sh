#!/usr/bin/env bash
# UDP mode against strangers: a retry token proves only an address, so a
# peer that has not authenticated must not hold the receiver's shared
# reorder memory. Ten such peers each send a full 8 MiB window out of order
# (byte 0 withheld, so nothing can be read): the receiver holds at most
# 256 KiB of it per connection, drops the rest unacknowledged, and an honest
# sender still gets its file through, byte-exact. Loopback only.
source "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || skip "python3 is not installed"

head -c $((4 * 1024 * 1024)) /dev/urandom >"$WORK/big.bin"
start_recv "$WORK/inbox" --allow-any-sender --timeout 10
rss_kib() { awk '/^VmRSS/{print $2}' "/proc/$RECV_PID/status"; }
before=$(rss_kib)

# The stranger: INIT, RETRY, INIT with the token, ACCEPT (docs/protocol.md,
# "UDP transport"), then STREAM frames from offset 8 to 8 MiB, paced a
# little; it keeps its sockets open while the receiver's memory is read.
python3 - "$RECV_PORT" 10 >"$WORK/stranger.out" 2>&1 <<'PY' &
import os, random, socket, struct, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
MAGIC = 0x46524450
def long_hdr(t, dst, src): return struct.pack('>BIBII', t, MAGIC, 2, dst, src)
def init(src, token=b''):
    p = long_hdr(1, 0, src) + struct.pack('>HQB', 1200, 8 << 20, len(token)) + token
    return p + b'\0' * (1200 - len(p))
socks = []
for i in range(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(('127.0.0.1', 0)); s.settimeout(2)
    cid = random.getrandbits(32) | 1
    s.sendto(init(cid), ('127.0.0.1', port))
    d = s.recv(2048); assert d[0] == 2, 'expected RETRY'
    tok = d[15:15 + d[14]]
    s.sendto(init(cid, tok), ('127.0.0.1', port))
    d = s.recv(2048); assert d[0] == 3, 'expected ACCEPT'
    peer = struct.unpack('>I', d[10:14])[0]
    socks.append((s, peer))
blob = os.urandom(1100)
deadline = time.time() + 30
for s, peer in socks:
    pn, off = 0, 8
    while off < (8 << 20) and time.time() < deadline:
        frame = struct.pack('>BQH', 3, off, len(blob)) + blob
        s.sendto(struct.pack('>BIQ', 0x10, peer, pn) + frame, ('127.0.0.1', port))
        pn += 1; off += len(blob)
        if pn % 64 == 0: time.sleep(0.001)
print('sent', flush=True)
time.sleep(8)
PY
stranger=$!
_pids+=("$stranger")
for _ in $(seq 1 300); do
  grep -q sent "$WORK/stranger.out" && break
  kill -0 "$stranger" 2>/dev/null || fail "the stranger failed: $(cat "$WORK/stranger.out")"
  sleep 0.1
done
grep -q sent "$WORK/stranger.out" || fail "the stranger did not finish sending within 30 s"
sleep 0.5
during=$(rss_kib)
grown=$(((during - before) / 1024))
# 10 x 256 KiB held, plus allocator slack; before the bound: about 80 MiB
# (the sanitizers' shadow memory and quarantine add their share).
bound=24
[ -n "${FERRY_SANITIZED:-}" ] && bound=48
[ "$grown" -lt "$bound" ] || fail "10 unauthenticated UDP peers grew the receiver by $grown MiB"
pass "10 unauthenticated UDP peers with 8 MiB out of order each grew the receiver by $grown MiB"

send --udp "$WORK/big.bin"
expect_rc 0 "an honest sender beside the strangers"
cmp "$WORK/big.bin" "$WORK/inbox/big.bin" || fail "the honest sender's file differs"
pass "an honest sender beside them stores its file byte-exact"
