#include "rudp/ack_tracker.hpp"

#include <algorithm>

namespace ferry::rudp {

bool ack_tracker::on_packet(std::uint64_t pn, bool ack_eliciting, time_point now) {
  if (seen(pn)) {
    // The peer resent or the network duplicated: tell it again soon, its
    // ACK may have been lost.
    if (ack_eliciting) deadline_ = std::min(deadline_, now);
    return false;
  }
  const bool in_order = received_.empty() || pn == largest_ + 1;
  received_.insert(pn, pn + 1);
  if (received_.empty() || pn >= largest_) {
    largest_ = pn;
    largest_time_ = now;
  }
  while (received_.size() > max_ranges) {
    floor_ = received_.front().second;
    received_.pop_front();
  }
  if (!ack_eliciting) return true;
  ++unacked_;
  if (!in_order || unacked_ >= ack_threshold)
    deadline_ = now;  // a gap (or a filled one) tells the sender about loss: at once
  else
    deadline_ = std::min(deadline_, now + max_ack_delay);
  return true;
}

std::size_t ack_tracker::ranges(std::span<ack_range> out) const {
  std::size_t n = 0;
  for (auto it = received_.end(); it != received_.begin() && n < out.size();) {
    --it;
    out[n++] = {it->first, it->second - 1};
  }
  return n;
}

std::uint32_t ack_tracker::delay_us(time_point now) const {
  const auto d = now - largest_time_;
  if (d.count() <= 0) return 0;
  return static_cast<std::uint32_t>(std::min<std::int64_t>(d.count(), UINT32_MAX));
}

void ack_tracker::on_ack_sent() {
  unacked_ = 0;
  deadline_ = never;
}

}  // namespace ferry::rudp
