// Our outgoing stream: bytes the application wrote, kept until the peer
// acknowledges them. Knows what was never sent, what must be sent again
// (lost), and what is acknowledged; a bounded ring, so `writable()` is the
// application's back-pressure.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "rudp/range_set.hpp"

namespace ferry::rudp {

/// A piece of the stream to put in one STREAM frame.
struct chunk {
  std::uint64_t offset = 0;
  std::size_t len = 0;
  bool fin = false;
  bool retransmit = false;
};

class send_buffer {
 public:
  /// `capacity` is rounded up to a power of two.
  explicit send_buffer(std::size_t capacity);

  std::size_t writable() const;
  std::size_t capacity() const { return capacity_; }
  /// Makes the ring hold `capacity` bytes (rounded up to a power of two;
  /// never smaller), moving what it holds.
  void grow(std::size_t capacity);
  /// Appends up to writable() bytes; returns how many. Nothing after finish().
  std::size_t write(std::span<const std::uint8_t> bytes);
  /// The stream ends after what was written.
  void finish();
  bool finished() const { return fin_; }

  /// True when there is something to send: a retransmission, or new bytes
  /// below the peer's flow-control `limit`, or the FIN.
  bool has_pending(std::uint64_t limit) const;
  /// True when only the peer's flow-control window holds new bytes back.
  bool blocked_by(std::uint64_t limit) const { return next_new_ < end_ && next_new_ >= limit; }
  /// Takes the next piece to send (retransmissions first), at most
  /// `max_len` bytes, and counts it as sent. False when nothing is pending.
  bool next(std::uint64_t limit, std::size_t max_len, chunk& out);
  /// Copies stream bytes [offset, offset+len) (still held) to `dst`.
  void copy(std::uint64_t offset, std::size_t len, std::uint8_t* dst) const;

  void on_acked(std::uint64_t offset, std::size_t len, bool fin);
  /// Queues the piece to be sent again, except what is acknowledged.
  void on_lost(std::uint64_t offset, std::size_t len, bool fin);

  /// Everything written, including the FIN, is acknowledged.
  bool all_acked() const { return fin_ && fin_acked_ && base_ == end_; }
  /// Bytes written but not yet acknowledged.
  std::uint64_t unacked() const { return end_ - base_; }
  std::uint64_t end() const { return end_; }

 private:
  std::size_t capacity_;
  std::size_t mask_;
  std::unique_ptr<std::uint8_t[]> ring_;
  std::uint64_t base_ = 0;      // everything below is acknowledged and freed
  std::uint64_t end_ = 0;       // written so far
  std::uint64_t next_new_ = 0;  // first byte never sent
  range_set acked_;             // acknowledged above base_
  range_set retx_;              // to send again
  bool fin_ = false;
  bool fin_pending_ = false;  // the FIN must be (re)sent
  bool fin_acked_ = false;
};

}  // namespace ferry::rudp
