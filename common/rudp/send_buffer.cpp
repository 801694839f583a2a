#include "rudp/send_buffer.hpp"

#include <algorithm>
#include <bit>
#include <cstring>

#include "rudp/ring.hpp"

namespace ferry::rudp {

send_buffer::send_buffer(std::size_t capacity)
    : capacity_(std::bit_ceil(std::max<std::size_t>(capacity, 4096))),
      mask_(capacity_ - 1),
      // uninitialised: pages are only touched as the stream reaches them
      ring_(new std::uint8_t[capacity_]) {}

std::size_t send_buffer::writable() const {
  if (fin_) return 0;
  return capacity_ - static_cast<std::size_t>(end_ - base_);
}

void send_buffer::grow(std::size_t capacity) {
  const std::size_t bigger = std::bit_ceil(capacity);
  if (bigger <= capacity_) return;
  std::unique_ptr<std::uint8_t[]> ring(new std::uint8_t[bigger]);
  move_ring(ring_.get(), capacity_, ring.get(), bigger, base_, end_);
  ring_ = std::move(ring);
  capacity_ = bigger;
  mask_ = bigger - 1;
}

std::size_t send_buffer::write(std::span<const std::uint8_t> bytes) {
  const std::size_t n = std::min(bytes.size(), writable());
  std::size_t done = 0;
  while (done < n) {
    const std::size_t at = static_cast<std::size_t>((end_ + done) & mask_);
    const std::size_t piece = std::min(n - done, capacity_ - at);
    std::memcpy(ring_.get() + at, bytes.data() + done, piece);
    done += piece;
  }
  end_ += n;
  return n;
}

void send_buffer::finish() {
  if (fin_) return;
  fin_ = true;
  fin_pending_ = true;
}

bool send_buffer::has_pending(std::uint64_t limit) const {
  if (!retx_.empty()) return true;
  if (next_new_ < end_ && next_new_ < limit) return true;
  return fin_pending_ && next_new_ == end_;
}

bool send_buffer::next(std::uint64_t limit, std::size_t max_len, chunk& out) {
  if (!retx_.empty()) {
    const auto [b, e] = retx_.front();
    const std::size_t len = static_cast<std::size_t>(std::min<std::uint64_t>(e - b, max_len));
    retx_.erase(b, b + len);
    out = {b, len, false, true};
  } else if (next_new_ < end_ && next_new_ < limit) {
    const std::uint64_t stop = std::min(end_, limit);
    const std::size_t len =
        static_cast<std::size_t>(std::min<std::uint64_t>(stop - next_new_, max_len));
    out = {next_new_, len, false, false};
    next_new_ += len;
  } else if (fin_pending_ && next_new_ == end_) {
    out = {end_, 0, false, false};
  } else {
    return false;
  }
  if (fin_pending_ && next_new_ == end_ && out.offset + out.len == end_) {
    out.fin = true;
    fin_pending_ = false;
  }
  return true;
}

void send_buffer::copy(std::uint64_t offset, std::size_t len, std::uint8_t* dst) const {
  std::size_t done = 0;
  while (done < len) {
    const std::size_t at = static_cast<std::size_t>((offset + done) & mask_);
    const std::size_t piece = std::min(len - done, capacity_ - at);
    std::memcpy(dst + done, ring_.get() + at, piece);
    done += piece;
  }
}

void send_buffer::on_acked(std::uint64_t offset, std::size_t len, bool fin) {
  if (fin) {
    fin_acked_ = true;
    fin_pending_ = false;
  }
  if (len == 0) return;
  const std::uint64_t e = offset + len;
  retx_.erase(offset, e);
  if (e <= base_) return;
  acked_.insert(std::max(offset, base_), e);
  while (!acked_.empty() && acked_.front().first <= base_) {
    base_ = std::max(base_, acked_.front().second);
    acked_.pop_front();
  }
}

void send_buffer::on_lost(std::uint64_t offset, std::size_t len, bool fin) {
  if (fin && !fin_acked_) fin_pending_ = true;
  std::uint64_t b = std::max(offset, base_);
  const std::uint64_t e = offset + len;
  // Queue the parts not acknowledged meanwhile.
  for (auto it = acked_.begin(); it != acked_.end() && b < e; ++it) {
    if (it->second <= b) continue;
    if (it->first >= e) break;
    if (it->first > b) retx_.insert(b, it->first);
    b = std::max(b, it->second);
  }
  if (b < e) retx_.insert(b, e);
}

}  // namespace ferry::rudp
