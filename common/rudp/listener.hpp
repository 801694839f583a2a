// The receiver's stateless front door for UDP: answers INITs without
// creating any per-peer state until the peer proved it receives at its
// source address (a retry token round trip). Pure: datagram and source in,
// a decision and perhaps a reply out; the driver routes everything else.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "rudp/cookie.hpp"
#include "rudp/packet.hpp"
#include "rudp/time.hpp"

namespace ferry::rudp {

class listener {
 public:
  enum class verdict {
    drop,    // not for us, malformed, or too small to answer
    reply,   // send the `reply_size` bytes written to `reply` back to the source
    accept,  // a verified INIT: create a connection for `peer_cid` / `init`
  };
  struct result {
    verdict v = verdict::drop;
    std::size_t reply_size = 0;
    std::uint32_t peer_cid = 0;
    handshake_body init{};
  };

  listener() = default;
  explicit listener(const cookie_jar& jar) : jar_(jar) {}

  /// Handles an INIT from `source` (the address and port as bytes) that no
  /// connection owns yet. `reply` must hold at least 64 bytes.
  result on_init(std::span<const std::uint8_t> datagram, std::span<const std::uint8_t> source,
                 time_point now, std::span<std::uint8_t> reply) const;

 private:
  cookie_jar jar_;
};

}  // namespace ferry::rudp
