// Proxy settings from a URL, curl's way: socks5:// resolves names locally,
// socks5h:// lets the proxy resolve them. Credentials may ride in the URL
// (percent-encoded); display() never shows them.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "net/address.hpp"

namespace ferry::socks5 {

inline constexpr std::uint16_t default_proxy_port = 1080;

struct proxy_config {
  bool remote_dns = false;  // socks5h
  net::host_port server{"", default_proxy_port};
  std::string user;  // empty: no login offered
  std::string password;
  /// "socks5h://127.0.0.1:1080", without credentials.
  std::string display() const;
  friend bool operator==(const proxy_config&, const proxy_config&) = default;
};

/// Parses "socks5[h]://[user[:password]@]host[:port]". On failure returns
/// nullopt and says why in `why` (without echoing the credentials).
std::optional<proxy_config> parse_proxy_url(std::string_view url, std::string& why);

/// Applies FERRY_PROXY_PASSWORD's value (null or empty: nothing to do).
/// Returns why it cannot be used, or an empty string.
std::string use_password_from_env(proxy_config& p, const char* password);

/// Decodes %XX escapes; nullopt for a malformed escape.
std::optional<std::string> percent_decode(std::string_view s);

}  // namespace ferry::socks5
