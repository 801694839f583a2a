// ferry-recv's command line, parsed without touching the process so that
// tests can call it directly.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <variant>

#include <optional>

#include "link/proxy.hpp"
#include "net/address.hpp"
#include "util/cli.hpp"

namespace ferry::recv {

enum class overwrite_policy { never, always, newer };

struct options {
  net::host_port listen{"", net::default_port};  // empty host: all addresses
  std::string dir = ".";
  bool once = false;
  bool to_stdout = false;         // --stdout: the one file goes to stdout, not --dir
  bool no_sender_subdir = false;  // --no-sender-subdir: refuse a sender's --to
  bool no_compress = false;       // --no-compress: never grant compression
  overwrite_policy overwrite = overwrite_policy::never;
  std::uint64_t max_file_size = 0;      // 0: unlimited
  std::uint64_t max_session_bytes = 0;  // 0: unlimited
  std::size_t max_sessions = 64;
  std::size_t max_sessions_per_host = 16;
  std::uint64_t max_session_files = 1'000'000;   // entries offered in one session
  std::uint64_t min_free = 256ull << 20;         // bytes the receive file system keeps free
  unsigned min_free_percent = 0;                 // or a percentage of it (--min-free 5%)
  std::uint64_t max_session_hash = 64ull << 30;  // bytes of files already here one session may
                                                 // make us hash (resume, --skip-identical)
  std::chrono::milliseconds timeout{30'000};
  std::chrono::milliseconds connect_timeout{10'000};  // a sender's handshake; a BIND's
  std::chrono::seconds partial_ttl{7 * 86400};        // kept part files older go; 0: keep
  std::chrono::milliseconds grace{3'000};
  bool fsync = false;
  bool json = false;
  bool quiet = false;
  std::optional<link::proxy> proxy;  // with via_bind: receive through it
  bool via_bind = false;
  bool udp = true;  // serve UDP mode on the same port (--no-udp: TCP only)
  // Security (docs/security.md).
  std::string config_dir;         // --config-dir; "" = $FERRY_CONFIG_DIR, XDG, ~/.config/ferry
  bool show_identity = false;     // --show-identity: print our key and exit
  std::string new_token;          // --new-token NAME: make a token, print it, exit
  unsigned code_uses = 1;         // --code-uses: sessions one code admits
  bool remember_senders = false;  // --remember-senders: a code's sender joins authorized_senders
  bool allow_any_sender = false;  // --allow-any-sender: no authorisation (still encrypted)
};

using ferry::early_exit;
using ferry::env_lookup;

/// The rules between options, apart from reading them: the usage message,
/// or nothing when `o` holds together.
std::optional<std::string> validate(const options& o);

/// `env` supplies FERRY_PROXY_PASSWORD (std::getenv in the program).
std::variant<options, early_exit> parse_options(int argc, const char* const* argv,
                                                const env_lookup& env = {});

}  // namespace ferry::recv
