// Congestion control: a model-based controller after BBR (v1, with a loss
// guard from v2). It estimates the path's bottleneck bandwidth (the highest
// delivery rate over the last ten round trips) and its minimum RTT, paces at
// that rate and keeps about two bandwidth-delay products in flight.
//
// Random loss does not shrink the estimate, so a lossy but idle path stays
// full (where loss-based TCP halves its window at every drop). Real
// congestion does: when competing flows take their share, our delivery rate
// falls and the estimate follows within ten rounds; a round that loses more
// than 15% of its packets while the RTT shows a standing queue (the mark of
// congestive rather than random loss) caps what we keep in flight.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "rudp/time.hpp"

namespace ferry::rudp {

/// Delivery state stamped on each packet when sent (for rate samples).
struct rate_stamp {
  std::uint64_t delivered = 0;
  time_point delivered_time{};
  time_point first_sent_time{};
  bool app_limited = false;
};

class congestion {
 public:
  enum class mode { startup, drain, probe_bw, probe_rtt };

  /// `mss`: our packet size; `rate_cap`: bytes per second, 0 for none.
  congestion(std::size_t mss, std::uint64_t rate_cap);

  /// A packet is about to leave with `in_flight` bytes already out.
  rate_stamp on_send(time_point now, std::uint64_t in_flight);
  /// One packet of an ACK was newly acknowledged.
  void on_acked(const rate_stamp& s, std::uint32_t bytes, time_point sent, time_point now);
  /// One packet was declared lost.
  void on_lost(std::uint32_t bytes);
  /// After an ACK's packets were handled; `rtt` is the ACK's RTT sample
  /// (zero when it gave none).
  void on_ack_done(time_point now, std::uint64_t in_flight, duration rtt);
  /// We could send but had nothing to: the samples that follow are not
  /// the path's capacity.
  void on_app_limited(std::uint64_t in_flight);
  /// Our packets grew (path MTU discovery).
  void set_mss(std::size_t mss) { mss_ = mss; }
  /// The first RTT estimate (from the handshake) sets the starting pace.
  void on_initial_rtt(duration rtt);

  std::uint64_t cwnd() const { return cwnd_; }
  /// Bytes per second.
  double pacing_rate() const { return pacing_rate_; }
  /// Bottleneck bandwidth estimate in bytes per second (0 before a sample).
  double bandwidth() const;
  mode state() const { return mode_; }
  /// How often the flow dipped to re-measure the minimum RTT.
  std::uint64_t probe_rtts() const { return probe_rtts_; }

 private:
  void update_round(const rate_stamp& s);
  void enter_probe_bw(time_point now);
  void set_rate_and_cwnd(std::uint64_t acked);
  double bdp(double gain) const;
  /// Startup's pace for the window: high_gain × cwnd per `rtt`.
  double window_rate(duration rtt) const;
  /// `rate` held to --rate, if any.
  double capped(double rate) const;

  std::size_t mss_;
  double rate_cap_;
  mode mode_ = mode::startup;
  double pacing_gain_;
  double cwnd_gain_;
  std::uint64_t cwnd_;
  double pacing_rate_;

  // delivery rate sampling
  std::uint64_t delivered_ = 0;
  time_point delivered_time_{};
  time_point first_sent_time_{};
  std::uint64_t app_limited_until_ = 0;
  // the newest sample of the ACK being handled
  double sample_rate_ = 0;
  bool sample_valid_ = false;
  bool sample_app_limited_ = false;
  std::uint64_t sample_delivered_ = 0;
  std::uint64_t acked_in_ack_ = 0;

  // rounds
  std::uint64_t round_ = 0;
  std::uint64_t next_round_delivered_ = 0;
  bool round_start_ = false;

  // windowed max of the delivery rate over 10 rounds: one slot per round
  struct slot {
    std::uint64_t round = 0;
    double rate = 0;
  };
  std::array<slot, 10> bw_{};

  duration min_rtt_ = duration::max();
  time_point min_rtt_stamp_{};
  time_point probe_rtt_done_ = never;
  bool probe_rtt_round_done_ = false;
  std::uint64_t prior_cwnd_ = 0;
  std::uint64_t probe_rtts_ = 0;

  // startup exit
  double full_bw_ = 0;
  int full_bw_count_ = 0;
  bool filled_pipe_ = false;
  bool path_sample_in_round_ = false;  // a sample not limited by the application
  int startup_delayed_ = 0;            // RTT samples in a row that show a queue

  // probe_bw gain cycle
  std::size_t cycle_index_ = 0;
  time_point cycle_stamp_{};

  // loss guard
  std::uint64_t lost_in_round_ = 0;
  std::uint64_t lost_packets_in_round_ = 0;
  std::uint64_t delivered_at_round_start_ = 0;
  duration max_rtt_in_round_{};
  std::uint64_t inflight_hi_ = UINT64_MAX;
};

}  // namespace ferry::rudp
