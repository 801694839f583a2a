// Errors of the reliable-UDP transport: the packet decoder's (a datagram is
// always whole, so there is no "need more") and the connection's (why a
// connection ended). One category, "rudp".
#pragma once

#include <system_error>

namespace ferry::rudp {

enum class error {
  // decoder
  truncated = 1,  // a field runs past the end of the datagram
  unknown_type,   // packet or frame type byte we do not know
  bad_magic,      // a long header without the ferry magic
  bad_frame,      // a frame field out of range (ack ranges, lengths)
  // connection
  handshake_timeout,   // no ACCEPT within the connect deadline
  version_mismatch,    // the peer speaks another transport version
  peer_timeout,        // nothing heard from the peer for the idle timeout
  peer_closed,         // the peer closed the connection with an error
  protocol_violation,  // the peer broke the transport's rules
  flow_control,        // the peer sent beyond the window we granted
  closed,              // we closed the connection
  proxy_closed,        // the SOCKS5 proxy ended the UDP association
  no_room,             // the receiver's shared reorder memory is spent: packet dropped
};

const std::error_category& rudp_category() noexcept;

inline std::error_code make_error_code(error e) noexcept {
  return {static_cast<int>(e), rudp_category()};
}

}  // namespace ferry::rudp

template <>
struct std::is_error_code_enum<ferry::rudp::error> : std::true_type {};
