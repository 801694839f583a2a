#include "net/address.hpp"

#include <charconv>

namespace ferry::net {
namespace {

std::optional<std::uint16_t> parse_port(std::string_view s) {
  unsigned v = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size() || v > 65535)
    return std::nullopt;
  return static_cast<std::uint16_t>(v);
}

}  // namespace

std::optional<host_port> parse_host_port(std::string_view text) {
  host_port out;
  if (text.starts_with('[')) {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close == 1) return std::nullopt;
    out.host = std::string(text.substr(1, close - 1));
    const auto rest = text.substr(close + 1);
    if (rest.empty()) return out;
    if (!rest.starts_with(':')) return std::nullopt;
    const auto port = parse_port(rest.substr(1));
    if (!port) return std::nullopt;
    out.port = *port;
    return out;
  }
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    if (text.empty()) return std::nullopt;
    out.host = std::string(text);
    return out;
  }
  if (text.find(':') != colon) {  // several colons: an unbracketed IPv6 literal
    out.host = std::string(text);
    return out;
  }
  const auto port = parse_port(text.substr(colon + 1));
  if (!port) return std::nullopt;
  out.host = std::string(text.substr(0, colon));
  out.port = *port;
  return out;
}

std::string to_string(const host_port& hp) {
  const bool v6 = hp.host.find(':') != std::string::npos;
  return (v6 ? "[" + hp.host + "]" : hp.host) + ":" + std::to_string(hp.port);
}

}  // namespace ferry::net
