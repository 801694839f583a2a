// Errors of the network layer that the system's codes do not name: the
// watchdog's and deadlines' timeouts, the peer's end of stream. One
// category, "net". (A connection reset or refused keeps its system code.)
#pragma once

#include <system_error>

namespace ferry::net {

enum class errc {
  idle_timeout = 1,  // no progress from the peer for the idle timeout
  deadline,          // a deadline over several steps (the handshake's) passed
  timed_out,         // resolving or connecting took longer than allowed
  closed,            // the peer ended the stream where we needed more
  not_an_address,    // a listen address that is not an IP literal
  source_fault,      // the bytes being sent could not be read (a mapped file shrank)
};

const std::error_category& net_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), net_category()};
}

}  // namespace ferry::net

template <>
struct std::is_error_code_enum<ferry::net::errc> : std::true_type {};
