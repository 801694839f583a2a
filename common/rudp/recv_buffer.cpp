#include "rudp/recv_buffer.hpp"

#include <algorithm>
#include <bit>
#include <cstring>

#include "rudp/error.hpp"

namespace ferry::rudp {

recv_buffer::recv_buffer(std::size_t window)
    : window_(std::bit_ceil(std::max<std::size_t>(window, 4096))),
      mask_(window_ - 1),
      ring_(new std::uint8_t[window_]) {}

std::error_code recv_buffer::on_frame(std::uint64_t offset, std::span<const std::uint8_t> data,
                                      bool fin) {
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
  std::uint64_t at = std::max(offset, contiguous_);
  std::size_t skip = static_cast<std::size_t>(at - offset);
  while (at < end) {
    const std::size_t pos = static_cast<std::size_t>(at & mask_);
    const std::size_t piece = std::min(static_cast<std::size_t>(end - at), window_ - pos);
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

std::size_t recv_buffer::read(std::span<std::uint8_t> out) {
  const std::size_t n = std::min(out.size(), readable());
  std::size_t done = 0;
  while (done < n) {
    const std::size_t pos = static_cast<std::size_t>((read_ + done) & mask_);
    const std::size_t piece = std::min(n - done, window_ - pos);
    std::memcpy(out.data() + done, ring_.get() + pos, piece);
    done += piece;
  }
  read_ += n;
  return n;
}

}  // namespace ferry::rudp
