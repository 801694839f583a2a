// ferry-send's command line, parsed without touching the process so that
// tests can call it directly.
#pragma once

#include <chrono>
#include <string>
#include <variant>
#include <vector>

#include <optional>

#include "link/proxy.hpp"
#include "net/address.hpp"
#include "util/cli.hpp"

namespace ferry::send {

struct options {
  net::host_port dest;
  std::vector<std::string> paths;    // "-" means stdin content
  std::string files_from;            // "" none, "-" stdin
  bool null_separated = false;       // -0: --files-from is NUL-separated
  std::string stdin_name;            // --name for "-"
  std::string to;                    // --to: a subdirectory of the receiver's --dir
  std::vector<std::string> exclude;  // --exclude patterns (fileio/exclude.hpp)
  std::string exclude_from;          // --exclude-from FILE
  bool follow_symlinks = false;
  bool relative = false;  // -R: path arguments keep their whole relative path
  bool json = false;
  bool quiet = false;
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds timeout{30'000};
  std::optional<link::proxy> proxy;   // after --proxy / environment
  bool udp = false;                   // --udp: the reliable-UDP transport
  bool udp_strict = false;            // --udp=strict: no fallback to TCP
  std::uint64_t rate_bits = 0;        // --rate in bits/s; 0 = no cap
  bool compress = false;              // -z, --compress: zstd segments when the receiver agrees
  int compress_level = 3;             // --compress-level (zstd's 1-19)
  std::size_t udp_size = 0;           // --udp-size: datagram bytes; 0: auto
  std::string tcp_congestion;         // --tcp-congestion: TCP_CONGESTION, "" = system's
  bool resume = true;                 // --no-resume: never continue a kept part file
  bool skip_identical = false;        // --skip-identical: hash first, skip equal content
  std::vector<std::string> warnings;  // e.g. an ignored ALL_PROXY
  // Security (docs/security.md).
  std::string config_dir;          // --config-dir; "" = $FERRY_CONFIG_DIR, XDG, ~/.config/ferry
  bool show_identity = false;      // --show-identity: print our key and exit
  std::optional<std::string> pin;  // --pin SHA256:...
  std::string token_env;           // $FERRY_TOKEN
  std::string token_file;          // --token-file
  std::string code_env;            // $FERRY_CODE
  std::string code_file;           // --code-file ("-" = stdin)
};

using ferry::early_exit;
using ferry::env_lookup;

/// The rules between options (what needs what, what excludes what), apart
/// from reading them: the usage message, or nothing when `o` holds together.
std::optional<std::string> validate(const options& o);

/// Parses the command line, then validate()s it. The proxy comes from --proxy, else FERRY_PROXY,
/// else ALL_PROXY / all_proxy (a non-SOCKS one there is ignored with a
/// warning); --no-proxy wins over all; FERRY_PROXY_PASSWORD supplies the
/// password so that it need not appear in the process list.
std::variant<options, early_exit> parse_options(int argc, const char* const* argv,
                                                const env_lookup& env = {});

/// What is wrong with a destination as typed (a URL, user@, a path, an
/// unbracketed second colon, a port out of range), for a usage error that
/// says so; nothing when it can be a HOST[:PORT].
std::optional<std::string> destination_problem(const std::string& text);

/// Splits a --files-from list: lines (trailing '\r' removed, empty lines
/// skipped) or NUL-separated names.
std::vector<std::string> split_path_list(const std::string& text, bool null_separated);

}  // namespace ferry::send
