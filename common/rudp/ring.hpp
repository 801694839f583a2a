// Power-of-two byte rings (send_buffer, recv_buffer): moving what one
// holds into a bigger one, each byte to the place its offset maps to.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace ferry::rudp {

/// Copies stream offsets [from, to) from a ring of `old_size` bytes into
/// one of `new_size` bytes (both powers of two).
inline void move_ring(const std::uint8_t* old_ring, std::size_t old_size, std::uint8_t* new_ring,
                      std::size_t new_size, std::uint64_t from, std::uint64_t to) {
  for (std::uint64_t at = from; at < to;) {
    const std::size_t src = static_cast<std::size_t>(at & (old_size - 1));
    const std::size_t dst = static_cast<std::size_t>(at & (new_size - 1));
    const std::size_t piece =
        std::min({static_cast<std::size_t>(to - at), old_size - src, new_size - dst});
    std::memcpy(new_ring + dst, old_ring + src, piece);
    at += piece;
  }
}

}  // namespace ferry::rudp
