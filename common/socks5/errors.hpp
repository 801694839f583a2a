// Errors of the SOCKS5 client. Codes 1 to 255 are the proxy's own REP
// field (RFC 1928 section 6: 1 general failure ... 8 address type not
// supported); the codes above are failures before or around a reply.
// One category, "socks5.proxy" (the codec has its own, "socks5").
#pragma once

#include <cstdint>
#include <system_error>

namespace ferry::socks5 {

enum class errc {
  // The REP values a proxy answers with.
  general_failure = 1,
  not_allowed = 2,
  network_unreachable = 3,
  host_unreachable = 4,
  connection_refused = 5,
  ttl_expired = 6,
  command_not_supported = 7,
  address_type_not_supported = 8,
  // Ours.
  unreachable = 256,     // the proxy itself cannot be resolved or reached
  no_method,             // it accepts none of the methods we offered
  auth_required,         // it wants a login and the URL has none
  auth_refused,          // it refused the login
  bad_reply,             // a reply that is not SOCKS5 or not well formed
  closed,                // it closed without a reply
  timed_out,             // it did not answer in time
  too_long,              // a name or credential over 255 bytes
  local_resolve_failed,  // socks5://: we could not resolve the destination
};

const std::error_category& proxy_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), proxy_category()};
}

/// The code for a proxy's REP field (1..255).
inline std::error_code rep_error(std::uint8_t rep) noexcept {
  return {static_cast<int>(rep), proxy_category()};
}

}  // namespace ferry::socks5

template <>
struct std::is_error_code_enum<ferry::socks5::errc> : std::true_type {};
