// Round-trip time estimate from unambiguous samples (every packet number is
// sent once, so an ACK always names the transmission it answers), after
// RFC 9002 section 5: latest, minimum, smoothed and variation.
#pragma once

#include <algorithm>

#include "rudp/time.hpp"

namespace ferry::rudp {

class rtt_estimator {
 public:
  static constexpr duration initial_rtt = 100ms;
  static constexpr duration granularity = 1ms;

  /// One sample: `latest` from send to ACK, `ack_delay` as the peer reported.
  void on_sample(duration latest, duration ack_delay) {
    latest_ = latest;
    if (!has_sample_) {
      has_sample_ = true;
      min_ = smoothed_ = latest;
      var_ = latest / 2;
      return;
    }
    min_ = std::min(min_, latest);
    duration adjusted = latest;
    if (latest >= min_ + ack_delay) adjusted = latest - ack_delay;
    const duration diff = smoothed_ > adjusted ? smoothed_ - adjusted : adjusted - smoothed_;
    var_ = (var_ * 3 + diff) / 4;
    smoothed_ = (smoothed_ * 7 + adjusted) / 8;
  }

  /// How long to wait for an ACK before probing (without backoff).
  duration pto(duration max_ack_delay) const {
    return smoothed_ + std::max(var_ * 4, granularity) + max_ack_delay;
  }
  /// How long after a later packet was acknowledged an older one counts as lost.
  duration loss_delay() const {
    return std::max(std::max(smoothed_, latest_) * 9 / 8, granularity);
  }

  bool has_sample() const { return has_sample_; }
  duration smoothed() const { return smoothed_; }
  duration latest() const { return latest_; }
  duration min() const { return min_; }
  duration var() const { return var_; }

 private:
  bool has_sample_ = false;
  duration latest_ = initial_rtt;
  duration smoothed_ = initial_rtt;
  duration var_ = initial_rtt / 2;
  duration min_ = initial_rtt;
};

}  // namespace ferry::rudp
