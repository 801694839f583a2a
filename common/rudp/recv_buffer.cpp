#include "rudp/recv_buffer.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>

#include "rudp/error.hpp"
#include "rudp/ring.hpp"

namespace ferry::rudp {

recv_buffer::recv_buffer(std::size_t window, std::shared_ptr<memory_pool> pool)
    : window_(std::bit_ceil(std::max<std::size_t>(window, 4096))),
      pool_(std::move(pool)),
      capacity_(std::min(window_, initial_capacity)),
      mask_(capacity_ - 1),
      ring_(new std::uint8_t[capacity_]) {}

recv_buffer::~recv_buffer() {
  if (pool_ && capacity_ > initial_capacity) pool_->give(capacity_ - initial_capacity);
}

// Makes the ring hold [read_, end): a bigger power of two (never past the
// window), with the bytes stored so far moved to their new places. False
// when the pool cannot lend the difference.
bool recv_buffer::grow(std::uint64_t end) {
  const auto need = static_cast<std::size_t>(end - read_);
  if (need <= capacity_) return true;
  const std::size_t bigger = std::min(window_, std::bit_ceil(need));
  if (ring_cap_ != 0 && bigger > ring_cap_) return false;
  if (pool_) {
    const std::size_t counted = capacity_ > initial_capacity ? capacity_ - initial_capacity : 0;
    if (!pool_->take(bigger - initial_capacity - counted)) return false;
  }
  std::unique_ptr<std::uint8_t[]> ring(new std::uint8_t[bigger]);
  move_ring(ring_.get(), capacity_, ring.get(), bigger, read_, high_);
  ring_ = std::move(ring);
  capacity_ = bigger;
  mask_ = bigger - 1;
  return true;
}

std::error_code recv_buffer::on_frame(std::uint64_t offset, std::span<const std::uint8_t> data,
                                      bool fin) {
  // (The packet decoder bounds offsets at 2^62; this holds without it.)
  if (offset > std::numeric_limits<std::uint64_t>::max() - data.size()) return error::flow_control;
  const std::uint64_t end = offset + data.size();
  if (fin) {
    if (final_ && *final_ != end) return error::protocol_violation;
    if (end < contiguous_ || (!ahead_.empty() && ahead_.back().second > end))
      return error::protocol_violation;
    final_ = end;
  } else if (final_ && end > *final_) {
    return error::protocol_violation;
  }
  if (end > limit()) return error::flow_control;
  if (end <= contiguous_) return {};  // all of it arrived before
  // Each separate piece ahead costs a node: tiny frames at every other
  // offset would cost 50 bytes of bookkeeping per byte of window. Past the
  // bound the packet is dropped as if lost, and sent again.
  if (offset > contiguous_ && ahead_.size() >= max_ahead_pieces) return error::no_room;
  if (!grow(end)) return error::no_room;
  std::uint64_t at = std::max(offset, contiguous_);
  std::size_t skip = static_cast<std::size_t>(at - offset);
  high_ = std::max(high_, end);
  while (at < end) {
    const std::size_t pos = static_cast<std::size_t>(at & mask_);
    const std::size_t piece = std::min(static_cast<std::size_t>(end - at), capacity_ - pos);
    std::memcpy(ring_.get() + pos, data.data() + skip, piece);
    at += piece;
    skip += piece;
  }
  ahead_.insert(std::max(offset, contiguous_), end);
  while (!ahead_.empty() && ahead_.front().first <= contiguous_) {
    contiguous_ = std::max(contiguous_, ahead_.front().second);
    ahead_.pop_front();
  }
  return {};
}

std::span<const std::uint8_t> recv_buffer::peek(std::size_t max) const {
  const std::size_t pos = static_cast<std::size_t>(read_ & mask_);
  return {ring_.get() + pos, std::min({max, readable(), capacity_ - pos})};
}

std::size_t recv_buffer::read(std::span<std::uint8_t> out) {
  std::size_t done = 0;
  while (done < out.size()) {
    const auto piece = peek(out.size() - done);
    if (piece.empty()) break;
    std::memcpy(out.data() + done, piece.data(), piece.size());
    consume(piece.size());
    done += piece.size();
  }
  return done;
}

}  // namespace ferry::rudp
