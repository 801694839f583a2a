// Parsing of "host:port" arguments: names, IPv4, and bracketed IPv6.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ferry::net {

inline constexpr std::uint16_t default_port = 7070;

struct host_port {
  std::string host;  // name or literal, without brackets
  std::uint16_t port = default_port;
  friend bool operator==(const host_port&, const host_port&) = default;
};

/// Accepts "host", "host:port", "1.2.3.4:port", "[::1]:port", "[::1]" and
/// ":port" (empty host). A bare IPv6 literal without brackets ("::1") is
/// taken whole as the host. Returns nullopt for a bad or zero-length port
/// text or a port over 65535.
std::optional<host_port> parse_host_port(std::string_view text);

/// "host:port", bracketing IPv6 literals.
std::string to_string(const host_port& hp);

}  // namespace ferry::net
