// The peer's stream as it arrives: the reorder buffer. Pieces are stored
// where they belong in a ring; the application reads the in-order prefix.
// The ring starts small and doubles when a piece lands beyond it, up to the
// flow-control window, so a connection whose reader keeps up holds little
// memory. The window bounds it: a piece beyond it is a flow-control
// violation.
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <system_error>

#include "rudp/range_set.hpp"
#include "util/memory_pool.hpp"

namespace ferry::rudp {

/// Every reorder ring of a receiver grows into one pool: a peer may fill
/// its own window with data it never completes, and 64 peers 64 windows.
using ferry::memory_pool;

/// At most this many separate pieces wait beyond the in-order bytes (a
/// real sender, every other packet of a full window lost, leaves a few
/// thousand): about 1 MiB of bookkeeping per connection at most.
inline constexpr std::size_t max_ahead_pieces = 16384;

class recv_buffer {
 public:
  /// `window` is rounded up to a power of two. Growth past the first
  /// 64 KiB is drawn from `pool` when one is given.
  explicit recv_buffer(std::size_t window, std::shared_ptr<memory_pool> pool = nullptr);
  ~recv_buffer();
  recv_buffer(const recv_buffer&) = delete;
  recv_buffer& operator=(const recv_buffer&) = delete;
  /// (The moved-from buffer has no pool left to give back to.)
  recv_buffer(recv_buffer&&) noexcept = default;
  recv_buffer& operator=(recv_buffer&&) = delete;

  /// Stores a STREAM frame. Errors: flow_control (beyond the window),
  /// protocol_violation (data past the end, or two different ends),
  /// no_room (the ring would have to grow and the pool is spent: nothing
  /// stored; the caller drops the packet, which the peer then resends).
  [[nodiscard]] std::error_code on_frame(std::uint64_t offset, std::span<const std::uint8_t> data,
                                         bool fin);

  /// In-order bytes ready to read.
  std::size_t readable() const { return static_cast<std::size_t>(contiguous_ - read_); }
  std::size_t read(std::span<std::uint8_t> out);
  /// The next in-order bytes that lie in one piece of the ring, at most
  /// `max`: read without a copy. Valid until on_frame() or consume().
  std::span<const std::uint8_t> peek(std::size_t max) const;
  /// Marks `n` (at most readable()) bytes as read.
  void consume(std::size_t n) { read_ += n; }
  /// The peer's stream ended and everything was read.
  bool eof() const { return final_ && read_ == *final_; }
  bool fin_received() const { return final_.has_value() && contiguous_ == *final_; }

  /// The highest offset the peer may send below, as we would advertise it now.
  std::uint64_t limit() const { return read_ + window_; }
  std::size_t window() const { return window_; }
  /// Bounds the ring at `bytes` (0: the window): a piece that would need
  /// more is refused (no_room) and sent again. A stranger's connection is
  /// held to a little until the session says the peer is authenticated.
  void limit_ring(std::size_t bytes) { ring_cap_ = bytes; }
  /// Widens the window to `window` (rounded up to a power of two; never
  /// narrower). The ring still grows only as data needs it.
  void widen(std::size_t window) { window_ = std::max(window_, std::bit_ceil(window)); }
  /// Bytes of ring allocated now (at most the window).
  std::size_t capacity() const { return capacity_; }

  /// First ring size.
  static constexpr std::size_t initial_capacity = 64 * 1024;

 private:
  [[nodiscard]] bool grow(std::uint64_t end);

  std::size_t window_;
  std::size_t ring_cap_ = 0;  // 0: the window
  std::shared_ptr<memory_pool> pool_;
  std::size_t capacity_;
  std::size_t mask_;
  std::unique_ptr<std::uint8_t[]> ring_;
  std::uint64_t high_ = 0;        // end of the highest piece stored
  std::uint64_t read_ = 0;        // consumed by the application
  std::uint64_t contiguous_ = 0;  // everything below has arrived
  range_set ahead_;               // arrived beyond contiguous_
  std::optional<std::uint64_t> final_;
};

}  // namespace ferry::rudp
