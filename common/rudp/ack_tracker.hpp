// Which packet numbers arrived, and when an ACK for them is due. Keeps a
// bounded number of ranges: packet numbers below the oldest one kept count
// as already seen (a real retransmission always has a new number).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "rudp/packet.hpp"
#include "rudp/range_set.hpp"
#include "rudp/time.hpp"

namespace ferry::rudp {

class ack_tracker {
 public:
  /// How many ack-eliciting packets may arrive before an ACK goes out, and
  /// how long the first of them may wait for it.
  static constexpr std::size_t ack_threshold = 8;
  static constexpr duration max_ack_delay = 5ms;
  static constexpr std::size_t max_ranges = 128;

  /// Records packet `pn`. Returns false for a duplicate (or a number too old
  /// to tell), whose frames the caller ignores.
  bool on_packet(std::uint64_t pn, bool ack_eliciting, time_point now);

  /// True when `pn` arrived before (or is too old to tell).
  bool seen(std::uint64_t pn) const { return pn < floor_ || received_.contains(pn); }

  /// When an ACK must be sent: `now` or earlier when due at once, `never`
  /// when nothing waits for one.
  time_point deadline() const { return deadline_; }
  bool has_ranges() const { return !received_.empty(); }

  /// Fills `out` with received ranges, highest first; returns how many.
  std::size_t ranges(std::span<ack_range> out) const;
  /// Microseconds since the largest packet arrived (the ACK's delay field).
  std::uint32_t delay_us(time_point now) const;
  /// An ACK with the current ranges went out.
  void on_ack_sent();
  std::uint64_t largest() const { return largest_; }

 private:
  range_set received_;
  std::uint64_t floor_ = 0;  // numbers below are treated as seen
  std::uint64_t largest_ = 0;
  time_point largest_time_{};
  std::size_t unacked_ = 0;
  time_point deadline_ = never;
};

}  // namespace ferry::rudp
