# shellcheck shell=bash
# Shared by the proxy tests: the real SOCKS5 servers (skip when missing)
# and a cleanup that stops them and removes a throw-away login user.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/proxy.sh"
if ! command -v microsocks >/dev/null || ! command -v danted >/dev/null; then
  skip "microsocks and danted are not installed (scripts/setup.sh installs them)"
fi
_proxy_cleanup() {
  local rc=$?
  stop_proxies
  [ -n "${TEST_USER:-}" ] && userdel "$TEST_USER" 2>/dev/null
  _cleanup "$rc"
}
trap _proxy_cleanup EXIT
