// Stateless retry tokens: the receiver answers a first INIT with a token
// bound to the sender's address, port and connection id, and creates state
// only for an INIT that brings it back. A spoofed source never sees its
// token, so it can make the receiver neither hold state nor send more bytes
// than it received. Token: u32 issue time (s) | 16 bytes HMAC-SHA256.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "rudp/packet.hpp"
#include "rudp/time.hpp"

namespace ferry::rudp {

class cookie_jar {
 public:
  static constexpr std::size_t token_size = 20;
  static constexpr duration lifetime = 10s;

  /// A fresh random secret (from the kernel's CSPRNG).
  cookie_jar();
  explicit cookie_jar(const std::array<std::uint8_t, 32>& secret) : secret_(secret) {}

  /// Writes a token for this source into `out`; returns its size.
  std::size_t issue(std::span<const std::uint8_t> source, std::uint32_t client_cid, time_point now,
                    std::span<std::uint8_t, max_token_size> out) const;
  /// True when `token` was issued by us for this source and is not stale.
  bool check(std::span<const std::uint8_t> token, std::span<const std::uint8_t> source,
             std::uint32_t client_cid, time_point now) const;

 private:
  void mac(std::uint32_t issued, std::span<const std::uint8_t> source, std::uint32_t client_cid,
           std::uint8_t* out16) const;
  std::array<std::uint8_t, 32> secret_{};
};

}  // namespace ferry::rudp
