#include "socks5/proxy_url.hpp"

#include <cctype>

#include <arpa/inet.h>

namespace ferry::socks5 {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<std::string> percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    const int hi = hex_value(s[i + 1]);
    const int lo = hex_value(s[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

std::string use_password_from_env(proxy_config& p, const char* password) {
  if (password == nullptr || *password == '\0') return {};
  if (p.user.empty()) return "FERRY_PROXY_PASSWORD needs a user name in the proxy URL";
  const std::string pw = password;
  if (pw.size() > 255) return "FERRY_PROXY_PASSWORD is over 255 bytes";
  p.password = pw;
  return {};
}

std::string proxy_config::display() const {
  return std::string(remote_dns ? "socks5h://" : "socks5://") + net::to_string(server);
}

std::optional<proxy_config> parse_proxy_url(std::string_view url, std::string& why) {
  proxy_config p;
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) {
    why = "expected socks5://HOST[:PORT] or socks5h://HOST[:PORT]";
    return std::nullopt;
  }
  // Schemes are case-insensitive (RFC 3986 3.1), as curl takes them.
  std::string scheme(url.substr(0, scheme_end));
  for (auto& c : scheme)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (scheme == "socks5") {
    p.remote_dns = false;
  } else if (scheme == "socks5h") {
    p.remote_dns = true;
  } else {
    why = "unsupported proxy scheme '" + std::string(scheme) + "' (use socks5 or socks5h)";
    return std::nullopt;
  }
  std::string_view rest = url.substr(scheme_end + 3);
  while (!rest.empty() && rest.back() == '/')
    rest.remove_suffix(1);
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) {
    const auto creds = rest.substr(0, at);
    rest = rest.substr(at + 1);
    const auto colon = creds.find(':');
    const auto user = percent_decode(creds.substr(0, colon));
    const auto pass = colon == std::string_view::npos ? std::optional<std::string>(std::string())
                                                      : percent_decode(creds.substr(colon + 1));
    if (!user || !pass) {
      why = "bad %-escape in the proxy credentials";
      return std::nullopt;
    }
    if (user->empty() || user->size() > 255 || pass->size() > 255) {
      why = "proxy user name must be 1 to 255 bytes and the password at most 255";
      return std::nullopt;
    }
    p.user = *user;
    p.password = *pass;
  }
  if (!rest.starts_with('[') && rest.find(':') != rest.rfind(':')) {
    // "::1:1080" could be [::1]:1080 or [::1:1080]: a URL needs brackets.
    const auto last = rest.rfind(':');
    const auto tail = rest.substr(last + 1);
    in6_addr scratch{};
    const bool port_like =
        !tail.empty() && tail.size() <= 5 &&
        tail.find_first_not_of("0123456789") == std::string_view::npos &&
        ::inet_pton(AF_INET6, std::string(rest.substr(0, last)).c_str(), &scratch) == 1;
    why = "an IPv6 proxy address goes in brackets: " + std::string(scheme) + "://" +
          (port_like ? "[" + std::string(rest.substr(0, last)) + "]:" + std::string(tail)
                     : "[" + std::string(rest) + "]");
    return std::nullopt;
  }
  const auto hp = net::parse_host_port(rest);
  if (!hp || hp->host.empty()) {
    why = "bad proxy address '" + std::string(rest) + "'";
    return std::nullopt;
  }
  p.server = *hp;
  const bool port_given = rest.starts_with('[') ? rest.find("]:") != std::string_view::npos
                                                : rest.find(':') != std::string_view::npos &&
                                                      rest.find(':') == rest.rfind(':');
  if (!port_given) p.server.port = default_proxy_port;
  if (p.server.port == 0) {
    why = "proxy port must not be 0";
    return std::nullopt;
  }
  return p;
}

}  // namespace ferry::socks5
