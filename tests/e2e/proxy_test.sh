#!/usr/bin/env bash
# Transfers through real SOCKS5 servers started on loopback: microsocks and
# dante, without and with username/password, IPv4 and IPv6 proxy addresses,
# socks5 (we resolve) and socks5h (the proxy resolves), and their failures.
source "$(dirname "$0")/proxy_lib.sh"

make_sample "$WORK/src/sample" 2
RECV_LISTEN=':0' start_recv "$WORK/inbox"  # dual-stack: names may resolve to ::1
recv_port=$RECV_PORT

# carried: how many connections to the receiver the proxies have logged
# (microsocks "127.0.0.1:PORT", dante "127.0.0.1.PORT"). The sender's own
# "via" text proves nothing about where its bytes went; this does.
carried() {
  cat "$WORK"/px/*.log 2>/dev/null | grep -cE "[.:]$recv_port([^0-9]|\$)" || true
}

# send_via URL DIR_NAME [ARGS...]: the sample tree through URL, checked.
send_via() {
  local url=$1 label=$2 before
  shift 2
  rm -rf "$WORK/inbox/sample"
  before=$(carried)
  send --proxy "$url" --json "$@" "$WORK/src/sample"
  expect_rc 0 "$label"
  [ "$(carried)" -gt "$before" ] || fail "$label: no proxy log shows the connection to the receiver"
  same_tree "$WORK/src/sample" "$WORK/inbox/sample" || fail "$label: tree differs"
  has_event "$SEND_OUT" ".event==\"session_start\" and (.peer | test(\"via socks5\"))" ||
    fail "$label: session_start does not name the proxy"
  pass "$label"
}

start_microsocks "$WORK/px"
send_via "socks5://127.0.0.1:$PROXY_PORT" "microsocks, socks5"
SEND_HOST=localhost send_via "socks5h://127.0.0.1:$PROXY_PORT" "microsocks, socks5h with a name"
micro=$PROXY_PORT

start_microsocks "$WORK/px" --v6
send_via "socks5h://[::1]:$PROXY_PORT" "microsocks on IPv6"

start_microsocks "$WORK/px" --user alice --pass 's3cr:t@%'
micro_auth=$PROXY_PORT
send_via "socks5://alice:s3cr%3At%40%25@127.0.0.1:$micro_auth" "microsocks, password in the URL (percent-encoded)"
FERRY_PROXY_PASSWORD='s3cr:t@%' send_via "socks5://alice@127.0.0.1:$micro_auth" "microsocks, FERRY_PROXY_PASSWORD"
for f in "$SEND_OUT" "$SEND_ERR" "$RECV_OUT" "$RECV_ERR"; do
  ! grep -q 's3cr' "$f" || fail "the proxy password appears in $f"
done
pass "credentials stay out of logs and events"

send --proxy "socks5://alice:wrong@127.0.0.1:$micro_auth" "$WORK/src/sample/README.txt"
expect_rc 4 "wrong password"
grep -q "socks5 connect to 127.0.0.1:$recv_port via socks5://127.0.0.1:$micro_auth: authentication refused by proxy" "$SEND_ERR" ||
  fail "wrong-password message: $(cat "$SEND_ERR")"
! grep -q wrong "$SEND_ERR" || fail "the wrong password was echoed"
send --proxy "socks5://127.0.0.1:$micro_auth" "$WORK/src/sample/README.txt"
expect_rc 4 "no acceptable method"
grep -q 'proxy requires authentication' "$SEND_ERR" || fail "no-method message: $(cat "$SEND_ERR")"
pass "microsocks login failures"

start_dante "$WORK/px"
dante=$PROXY_PORT
send_via "socks5://127.0.0.1:$dante" "dante, socks5"
SEND_HOST=localhost send_via "socks5h://127.0.0.1:$dante" "dante, socks5h with a name"
send_via "socks5://[::1]:$dante" "dante on IPv6"

# Destination refused (nothing listens there): REP 5, named.
start_recv "$WORK/gone"
gone=$RECV_PORT
kill "$RECV_PID"
wait_exit "$RECV_PID" 10
RECV_PORT=$gone send --proxy "socks5://127.0.0.1:$dante" "$WORK/src/sample/README.txt"
expect_rc 4 "refused destination"
grep -q "socks5 connect to 127.0.0.1:$gone via socks5://127.0.0.1:$dante: connection refused by proxy (REP 5)" "$SEND_ERR" ||
  fail "REP 5 message: $(cat "$SEND_ERR")"
RECV_PORT=$recv_port
pass "REP 5"

# Proxy not listening.
stop_port=$(proxy_free_port)
send --proxy "socks5://127.0.0.1:$stop_port" "$WORK/src/sample/README.txt"
expect_rc 4 "proxy not listening"
grep -q "cannot reach proxy: Connection refused" "$SEND_ERR" || fail "unreachable proxy message"
pass "proxy not listening"

# The environment: ALL_PROXY like curl, FERRY_PROXY first, --no-proxy wins.
rm -rf "$WORK/inbox/sample"
before=$(carried)
ALL_PROXY="socks5h://127.0.0.1:$micro" send --json "$WORK/src/sample"
expect_rc 0 "ALL_PROXY"
[ "$(carried)" -gt "$before" ] || fail "ALL_PROXY: the proxy did not carry the connection"
has_event "$SEND_OUT" ".event==\"session_start\" and (.peer | test(\"via socks5h://127.0.0.1:$micro\"))" ||
  fail "ALL_PROXY not used"
FERRY_PROXY="socks5://127.0.0.1:$dante" ALL_PROXY="socks5://127.0.0.1:$micro" send --json "$WORK/src/sample/README.txt"
has_event "$SEND_OUT" ".event==\"session_start\" and (.peer | test(\"$dante\"))" || fail "FERRY_PROXY not preferred"
before=$(carried)
FERRY_PROXY="socks5://127.0.0.1:$micro" send --no-proxy --json "$WORK/src/sample/README.txt"
expect_rc 0 "--no-proxy"
[ "$(carried)" -eq "$before" ] || fail "--no-proxy: a proxy carried the connection"
has_event "$SEND_OUT" '.event=="session_start" and (.peer | test("via") | not)' || fail "--no-proxy used a proxy"
ALL_PROXY="http://127.0.0.1:3128" send "$WORK/src/sample/README.txt"
expect_rc 0 "HTTP ALL_PROXY ignored"
grep -q 'ignoring ALL_PROXY' "$SEND_ERR" || fail "no warning for an HTTP ALL_PROXY"
pass "proxy from the environment"

# dante with username/password: needs a throw-away system user (root).
if [ "$(id -u)" -eq 0 ] && command -v useradd >/dev/null; then
  TEST_USER=ferry$RANDOM
  useradd --system --no-create-home --shell /usr/sbin/nologin "$TEST_USER"
  echo "$TEST_USER:pa55-word" | chpasswd
  start_dante "$WORK/px" --user "$TEST_USER"
  send_via "socks5://$TEST_USER:pa55-word@127.0.0.1:$PROXY_PORT" "dante, username/password"
  send --proxy "socks5://$TEST_USER:nope@127.0.0.1:$PROXY_PORT" "$WORK/src/sample/README.txt"
  expect_rc 4 "dante wrong password"
  grep -q 'authentication refused by proxy' "$SEND_ERR" || fail "dante wrong-password message: $(cat "$SEND_ERR")"
  pass "dante login failures"
else
  echo "SKIP (part): dante username/password needs root to create a throw-away user"
fi

# Receiving through a proxy with BIND (dante): the receiver announces where
# senders must connect, serves one, then announces a new address.
start_dante "$WORK/px"
bind_proxy=$PROXY_PORT
RECV_OUT=$WORK/bind.out
RECV_ERR=$WORK/bind.err
"$RECV" --proxy "socks5://127.0.0.1:$bind_proxy" --via-bind --dir "$WORK/bound" --json \
  >"$RECV_OUT" 2>"$RECV_ERR" &
bind_pid=$!
_pids+=("$bind_pid")
for round in 1 2; do
  wait_event "$RECV_OUT" ".event==\"listening\"" 10
  for _ in $(seq 1 100); do
    [ "$(jq -c 'select(.event=="listening")' "$RECV_OUT" | wc -l)" -ge "$round" ] && break
    sleep 0.05
  done
  at=$(live_events "$RECV_OUT" 'select(.event=="listening") | "\(.address):\(.port)"' | sed -n "${round}p")
  [ -n "$at" ] || fail "no BIND address announced for round $round"
  has_event "$RECV_OUT" ".event==\"listening\" and .via==\"socks5://127.0.0.1:$bind_proxy\"" ||
    fail "listening event does not name the proxy"
  rm -rf "$WORK/bound/sample"
  rc=0
  timeout 60 "$SEND" "$at" "$WORK/src/sample" 2>"$WORK/bind-send.err" || rc=$?
  [ "$rc" -eq 0 ] || fail "send to the BIND address $at exited $rc: $(cat "$WORK/bind-send.err")"
  same_tree "$WORK/src/sample" "$WORK/bound/sample" || fail "tree through BIND differs"
done
grep -q "listening via socks5://127.0.0.1:$bind_proxy: senders connect to" "$RECV_ERR" ||
  fail "no human line with the BIND address"
kill -TERM "$bind_pid"
wait_exit "$bind_pid" 10
[ "$WAIT_RC" -eq 0 ] || fail "BIND receiver exit $WAIT_RC on SIGTERM"
pass "receive through dante with BIND, twice"

# microsocks has no BIND: a clear error and the proxy exit code.
start_microsocks "$WORK/px"
rc=0
timeout 20 "$RECV" --proxy "socks5://127.0.0.1:$PROXY_PORT" --via-bind --dir "$WORK/nobind" \
  2>"$WORK/nobind.err" || rc=$?
[ "$rc" -eq 4 ] || fail "BIND refused: exit $rc, expected 4"
grep -q "socks5 bind via socks5://127.0.0.1:$PROXY_PORT: command not supported by proxy (REP 7)" \
  "$WORK/nobind.err" || fail "REP 7 message: $(cat "$WORK/nobind.err")"
pass "BIND refused by microsocks"
