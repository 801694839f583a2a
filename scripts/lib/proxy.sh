# shellcheck shell=bash
# Real SOCKS5 servers on loopback for tests and benchmarks (sourced).
#   start_microsocks DIR [--v6] [--user U --pass P]
#   start_dante DIR [--user U]        (--user: username/password checked
#                                      against the system user U; needs root)
# Each sets PROXY_PORT and PROXY_PID (and appends the PID to PROXY_PIDS);
# stop_proxies kills them all. Ports are free ones, readiness is polled
# with ss (bounded), never slept for.

PROXY_PIDS=()

proxy_free_port() {
  local p
  for _ in $(seq 1 100); do
    p=$((20000 + RANDOM % 40000))
    ss -Hltn "sport = :$p" | grep -q . || { echo "$p"; return 0; }
  done
  return 1
}

# proxy_wait PID PORT: until something listens on PORT (or PID died); 10 s.
proxy_wait() {
  local pid=$1 port=$2
  for _ in $(seq 1 200); do
    kill -0 "$pid" 2>/dev/null || return 1
    ss -Hltn "sport = :$port" | grep -q . && return 0
    sleep 0.05
  done
  return 1
}

# proxy_launch NAME DIR WRITE_CONF CMD...: starts CMD (with {PORT} in its
# arguments replaced by a free port; WRITE_CONF, if not "-", is called with
# the port first) until it listens; retried because a port picked free can
# be taken before the server binds it.
proxy_launch() {
  local name=$1 dir=$2 conf_fn=$3
  shift 3
  mkdir -p "$dir"
  local port pid
  for _ in 1 2 3 4 5; do
    port=$(proxy_free_port)
    [ "$conf_fn" = - ] || "$conf_fn" "$port"
    "${@//\{PORT\}/$port}" >"$dir/$name-$port.log" 2>&1 &
    pid=$!
    if proxy_wait "$pid" "$port"; then
      # shellcheck disable=SC2034 # both are read by the scripts that source this file
      PROXY_PORT=$port PROXY_PID=$pid
      PROXY_PIDS+=("$pid")
      return 0
    fi
    # (It may be gone already, its port taken: under set -e a failing kill
    # would end the caller without a word.)
    kill "$pid" 2>/dev/null || true
  done
  echo "start $name: could not start (see $dir)" >&2
  return 1
}

start_microsocks() {
  local dir=$1 listen=127.0.0.1 args=()
  shift
  while [ $# -gt 0 ]; do
    case $1 in
      --v6) listen=::1 ;;
      --user) args+=(-u "$2"); shift ;;
      --pass) args+=(-P "$2"); shift ;;
    esac
    shift
  done
  proxy_launch microsocks "$dir" - microsocks -i "$listen" -p "{PORT}" "${args[@]}"
}

start_dante() {
  local dir=$1 user=
  shift
  [ "${1:-}" = --user ] && user=$2
  _dante_dir=$dir _dante_user=$user
  proxy_launch danted "$dir" _dante_conf danted -f "$dir/danted-{PORT}.conf" -p "$dir/danted-{PORT}.pid"
}

# _dante_conf PORT: writes the configuration start_dante asked for.
_dante_conf() {
  local port=$1 user=$_dante_user method=none
  [ -n "$user" ] && method=username
  {
    echo "logoutput: stderr"
    echo "internal: 127.0.0.1 port = $port"
    echo "internal: ::1 port = $port"
    echo "external: 127.0.0.1"
    echo "external: ::1"
    echo "clientmethod: none"
    echo "socksmethod: $method"
    [ -n "$user" ] && echo "user.privileged: root"
    echo "timeout.connect: 5"
    echo "timeout.negotiate: 10"
    echo "client pass { from: 127.0.0.0/8 to: 0/0 }"
    echo "client pass { from: ::1/128 to: 0/0 }"
    for net in 127.0.0.0/8 ::1/128; do
      echo "socks pass {"
      echo "  from: 0/0 to: $net"
      echo "  command: connect bind bindreply udpassociate udpreply"
      [ -n "$user" ] && echo "  socksmethod: username"
      echo "  log: error connect"
      echo "}"
    done
    echo "socks block {"
    echo "  from: 0/0 to: 0/0"
    echo "  log: error connect"
    echo "}"
  } >"$_dante_dir/danted-$port.conf"
}

stop_proxies() {
  local p
  for p in "${PROXY_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PROXY_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  PROXY_PIDS=()
}
