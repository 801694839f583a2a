#!/usr/bin/env bash
# UDP mode through real SOCKS5 servers: dante relays it with UDP ASSOCIATE
# (no-auth, username/password, socks5 and socks5h); microsocks has no UDP
# (REP 7), so the sender falls back to TCP with a warning, or fails with
# exit 4 under --udp=strict.
source "$(dirname "$0")/proxy_lib.sh"

make_sample "$WORK/src/sample" 2
RECV_LISTEN=':0' start_recv "$WORK/inbox"

# associations: UDP associations the proxies have logged. Together with the
# sender's own "transport":"udp", this shows the datagrams went through the
# proxy (with a proxy set, the sender's UDP socket only talks to the relay).
associations() { cat "$WORK"/px/*.log 2>/dev/null | grep -c 'udp/udpassociate' || true; }

# udp_via URL LABEL: the sample tree in UDP mode through URL, checked.
udp_via() {
  local url=$1 label=$2 before
  rm -rf "$WORK/inbox/sample"
  before=$(associations)
  send --udp=strict --proxy "$url" --json "$WORK/src/sample"
  expect_rc 0 "$label"
  same_tree "$WORK/src/sample" "$WORK/inbox/sample" || fail "$label: tree differs"
  has_event "$SEND_OUT" '.event=="session_end" and .transport=="udp" and .packets_sent > 20' ||
    fail "$label: not carried in UDP mode: $(tail -n 1 "$SEND_OUT")"
  [ "$(associations)" -gt "$before" ] || fail "$label: the proxy logged no UDP association"
  pass "$label"
}

start_dante "$WORK/px"
dante=$PROXY_PORT
udp_via "socks5://127.0.0.1:$dante" "UDP via dante, socks5"
SEND_HOST=localhost udp_via "socks5h://127.0.0.1:$dante" "UDP via dante, socks5h with a name"

# A big file, so that loss of pacing or buffering in the relay would show.
head -c $((64 * 1024 * 1024)) /dev/urandom >"$WORK/src/big.bin"
before=$(associations)
send --udp=strict -q --json --proxy "socks5://127.0.0.1:$dante" "$WORK/src/big.bin"
expect_rc 0 "64 MiB via dante"
has_event "$SEND_OUT" '.event=="session_end" and .transport=="udp"' || fail "64 MiB not in UDP mode"
[ "$(associations)" -gt "$before" ] || fail "64 MiB: dante logged no UDP association"
cmp "$WORK/src/big.bin" "$WORK/inbox/big.bin" || fail "64 MiB via dante differs"
pass "64 MiB byte-exact in UDP mode via dante ($(jq -r 'select(.event=="session_end") | "\(.packet_size) B packets, \(.loss_percent|floor)% lost"' "$SEND_OUT"))"

# The proxy dies mid-file: its control connection closes, which ends the
# association; the sender says so and exits 3 (not at the idle timeout).
start_dante "$WORK/px"
open_stall
timeout 60 "$SEND" --udp=strict --proxy "socks5://127.0.0.1:$PROXY_PORT" --name stream.bin \
  "127.0.0.1:$RECV_PORT" - <"$STALL" >"$WORK/pxdies.out" 2>"$WORK/pxdies.err" {STALL_FD}>&- &
spid=$!
_pids+=("$spid")
head -c 1000000 /dev/urandom >&"$STALL_FD"
wait_event "$RECV_OUT" '.event=="session_start" and .peer != null' 10
pkill -9 -P "$PROXY_PID" || true  # its children carry the association
kill -9 "$PROXY_PID"
wait_exit "$spid" 30
[ "$WAIT_RC" -eq 3 ] || fail "sender exited $WAIT_RC when the proxy died, expected 3: $(cat "$WORK/pxdies.err")"
grep -q 'the proxy ended the UDP association' "$WORK/pxdies.err" ||
  fail "unclear error when the proxy died: $(cat "$WORK/pxdies.err")"
pass "proxy killed mid-transfer: exit 3, the association's end named"

if [ "$(id -u)" -eq 0 ] && command -v useradd >/dev/null; then
  TEST_USER=ferry$RANDOM
  useradd --system --no-create-home --shell /usr/sbin/nologin "$TEST_USER"
  echo "$TEST_USER:pa55-word" | chpasswd
  start_dante "$WORK/px" --user "$TEST_USER"
  FERRY_PROXY_PASSWORD=pa55-word udp_via "socks5://$TEST_USER@127.0.0.1:$PROXY_PORT" \
    "UDP via dante, username/password"
else
  echo "SKIP (part): dante username/password needs root to create a throw-away user"
fi

# microsocks answers UDP ASSOCIATE with REP 7.
start_microsocks "$WORK/px"
micro=$PROXY_PORT
rm -rf "$WORK/inbox/sample"
send --udp --proxy "socks5://127.0.0.1:$micro" --json "$WORK/src/sample"
expect_rc 0 "fallback to TCP"
grep -q 'command not supported by proxy (REP 7); falling back to TCP' "$SEND_ERR" ||
  fail "no fallback warning: $(cat "$SEND_ERR")"
has_event "$SEND_OUT" '.event=="warning" and (.message | test("falling back to TCP"))' ||
  fail "no fallback warning event"
has_event "$SEND_OUT" '.event=="session_end" and .transport=="tcp"' || fail "fallback summary does not say tcp"
same_tree "$WORK/src/sample" "$WORK/inbox/sample" || fail "fallback tree differs"
grep -q "$RECV_PORT" "$WORK/px/microsocks-$micro.log" || fail "microsocks did not carry the fallback"
pass "microsocks (no UDP): warning, then TCP through it"

send --udp=strict --proxy "socks5://127.0.0.1:$micro" "$WORK/src/sample"
expect_rc 4 "strict UDP through microsocks"
grep -q "socks5 udp associate via socks5://127.0.0.1:$micro: command not supported by proxy (REP 7)" "$SEND_ERR" ||
  fail "strict refusal message: $(cat "$SEND_ERR")"
pass "--udp=strict through microsocks: exit 4, REP 7 named"
