#include "rudp/congestion.hpp"

#include <algorithm>

namespace ferry::rudp {
namespace {

constexpr double high_gain = 2.885;  // 2/ln(2): doubles the rate each round
constexpr std::array<double, 8> cycle_gains{1.25, 0.75, 1, 1, 1, 1, 1, 1};
constexpr std::uint64_t initial_cwnd_packets = 32;
constexpr std::uint64_t min_cwnd_packets = 4;
constexpr duration min_rtt_window = 10s;
constexpr duration probe_rtt_time = 200ms;
constexpr double loss_threshold = 0.15;
constexpr std::uint64_t loss_min_packets = 8;
constexpr std::uint64_t ack_threshold_packets = 8;  // ack_tracker::ack_threshold
constexpr duration startup_queue_min = 10ms;  // below this, queueing is not told from ACK delay
constexpr int startup_delayed_samples = 4;
constexpr double startup_cwnd_gain = 2;  // as BBRv3: 2.885 overran a queue of one BDP

double seconds(duration d) {
  return static_cast<double>(d.count()) / 1e6;
}

}  // namespace

congestion::congestion(std::size_t mss, std::uint64_t rate_cap)
    : mss_(mss),
      rate_cap_(static_cast<double>(rate_cap)),
      pacing_gain_(high_gain),
      cwnd_gain_(startup_cwnd_gain),
      cwnd_(initial_cwnd_packets * mss) {
  on_initial_rtt(100ms);
}

void congestion::on_initial_rtt(duration rtt) {
  if (rtt <= duration::zero()) rtt = 1ms;
  pacing_rate_ = capped(window_rate(rtt));
}

double congestion::window_rate(duration rtt) const {
  return high_gain * static_cast<double>(cwnd_) / seconds(rtt);
}

double congestion::capped(double rate) const {
  return rate_cap_ > 0 ? std::min(rate, rate_cap_) : rate;
}

double congestion::bandwidth() const {
  double best = 0;
  for (const auto& s : bw_)
    if (s.round + bw_.size() > round_) best = std::max(best, s.rate);
  return best;
}

double congestion::bdp(double gain) const {
  const double bw = capped(bandwidth());
  if (bw <= 0 || min_rtt_ == duration::max())
    return static_cast<double>(initial_cwnd_packets * mss_);
  return gain * bw * seconds(min_rtt_);
}

rate_stamp congestion::on_send(time_point now, std::uint64_t in_flight) {
  if (in_flight == 0) first_sent_time_ = delivered_time_ = now;
  return {delivered_, delivered_time_, first_sent_time_, app_limited_until_ > 0};
}

void congestion::on_app_limited(std::uint64_t in_flight) {
  app_limited_until_ = std::max<std::uint64_t>(delivered_ + in_flight, 1);
}

void congestion::on_acked(const rate_stamp& s, std::uint32_t bytes, time_point sent,
                          time_point now) {
  delivered_ += bytes;
  delivered_time_ = now;
  acked_in_ack_ += bytes;
  if (app_limited_until_ > 0 && delivered_ > app_limited_until_) app_limited_until_ = 0;
  // Keep the sample of the packet sent most recently.
  if (s.delivered < sample_delivered_ && sample_valid_) return;
  first_sent_time_ = sent;
  const duration send_elapsed = sent - s.first_sent_time;
  const duration ack_elapsed = now - s.delivered_time;
  const duration interval = std::max(send_elapsed, ack_elapsed);
  sample_delivered_ = s.delivered;
  update_round(s);
  // An interval shorter than the path's RTT comes from ACK compression.
  if (interval <= duration::zero() || (min_rtt_ != duration::max() && interval < min_rtt_)) return;
  sample_rate_ = static_cast<double>(delivered_ - s.delivered) / seconds(interval);
  sample_app_limited_ = s.app_limited;
  sample_valid_ = true;
}

void congestion::update_round(const rate_stamp& s) {
  if (s.delivered >= next_round_delivered_) {
    next_round_delivered_ = delivered_;
    ++round_;
    round_start_ = true;
  }
}

void congestion::on_lost(std::uint32_t bytes) {
  lost_in_round_ += bytes;
  ++lost_packets_in_round_;
}

void congestion::enter_probe_bw(time_point now) {
  mode_ = mode::probe_bw;
  pacing_gain_ = 1;
  cwnd_gain_ = 2;
  // Start anywhere but the draining phase, as BBR does.
  cycle_index_ = (static_cast<std::size_t>(now.count()) % 7 + 2) % cycle_gains.size();
  pacing_gain_ = cycle_gains[cycle_index_];
  cycle_stamp_ = now;
}

void congestion::on_ack_done(time_point now, std::uint64_t in_flight, duration rtt) {
  // Bandwidth filter.
  if (sample_valid_ && (!sample_app_limited_ || sample_rate_ >= bandwidth())) {
    auto& s = bw_[round_ % bw_.size()];
    if (s.round != round_) s = {round_, 0};
    s.rate = std::max(s.rate, sample_rate_);
  }

  // Loss guard, once per round.
  if (round_start_) {
    const std::uint64_t delivered_round = delivered_ - delivered_at_round_start_;
    const double total = static_cast<double>(delivered_round + lost_in_round_);
    const bool queueing = min_rtt_ != duration::max() &&
                          max_rtt_in_round_ > min_rtt_ + std::max(min_rtt_ / 4, duration(2ms));
    if (queueing && lost_packets_in_round_ >= loss_min_packets && total > 0 &&
        static_cast<double>(lost_in_round_) / total > loss_threshold) {
      inflight_hi_ = std::max<std::uint64_t>(
          min_cwnd_packets * mss_, static_cast<std::uint64_t>(static_cast<double>(cwnd_) * 0.85));
      if (mode_ == mode::startup) filled_pipe_ = true;
    } else if (inflight_hi_ != UINT64_MAX) {
      inflight_hi_ += inflight_hi_ / 8 + mss_;
      if (static_cast<double>(inflight_hi_) > 4 * bdp(1) + 16.0 * static_cast<double>(mss_))
        inflight_hi_ = UINT64_MAX;
    }
    lost_in_round_ = lost_packets_in_round_ = 0;
    max_rtt_in_round_ = duration::zero();
    delivered_at_round_start_ = delivered_;
  }

  // Startup also ends when the path's queue starts to fill: RTT samples
  // well above the minimum, several in a row (one late ACK is not a
  // queue). Waiting for the rate to stop growing would let the last round,
  // paced at nearly three times the path, overflow a queue of about one
  // bandwidth-delay product before any loss could say so.
  if (mode_ == mode::startup && rtt > duration::zero() && min_rtt_ != duration::max()) {
    if (rtt > min_rtt_ + std::max(min_rtt_ / 8, startup_queue_min))
      ++startup_delayed_;
    else
      startup_delayed_ = 0;
    if (startup_delayed_ >= startup_delayed_samples) filled_pipe_ = true;
  }

  // Startup ends when three rounds in a row grow the estimate by < 25%.
  // Rounds where the application had nothing to send (a handshake's
  // exchanges before the content) say nothing about the path and do not
  // count. Rounds held back by the flow-control window or our own full
  // buffer are not marked so (see connection::send_data): their rate is all
  // we can use, and staying in startup would pace at nearly three times it.
  if (sample_valid_ && !sample_app_limited_) path_sample_in_round_ = true;
  if (!filled_pipe_ && round_start_ && path_sample_in_round_) {
    const double bw = bandwidth();
    if (bw >= full_bw_ * 1.25) {
      full_bw_ = bw;
      full_bw_count_ = 0;
    } else if (++full_bw_count_ >= 3) {
      filled_pipe_ = true;
    }
  }
  if (round_start_) path_sample_in_round_ = false;
  if (mode_ == mode::startup && filled_pipe_) {
    mode_ = mode::drain;
    pacing_gain_ = 1 / high_gain;
    cwnd_gain_ = high_gain;
  }
  if (mode_ == mode::drain && static_cast<double>(in_flight) <= bdp(1)) enter_probe_bw(now);

  // Gain cycle: each phase lasts about one min RTT.
  if (mode_ == mode::probe_bw && min_rtt_ != duration::max()) {
    const bool elapsed = now - cycle_stamp_ > min_rtt_;
    bool advance = elapsed;
    if (pacing_gain_ < 1) advance = elapsed || static_cast<double>(in_flight) <= bdp(1);
    if (advance) {
      cycle_index_ = (cycle_index_ + 1) % cycle_gains.size();
      pacing_gain_ = cycle_gains[cycle_index_];
      cycle_stamp_ = now;
    }
  }

  if (rtt > max_rtt_in_round_) max_rtt_in_round_ = rtt;

  // Min RTT, and a short dip in flight when it has not been seen for 10 s.
  if (rtt > duration::zero()) {
    const bool expired = now > min_rtt_stamp_ + min_rtt_window;
    if (rtt <= min_rtt_ || expired) {
      min_rtt_ = rtt;
      min_rtt_stamp_ = now;
    } else if (min_rtt_ != duration::max() &&
               rtt <= min_rtt_ + std::max(min_rtt_ / 16, duration(2ms))) {
      // A sample this close to the minimum shows no standing queue: the
      // minimum still holds and needs no dip in flight to be seen again
      // (the gain cycle's drain phase empties the queue every 8 rounds).
      // A dip costs a round trip and 200 ms at four packets, every 10 s.
      min_rtt_stamp_ = now;
    }
    if (expired && mode_ != mode::probe_rtt && min_rtt_ != duration::max() && filled_pipe_) {
      mode_ = mode::probe_rtt;
      ++probe_rtts_;
      pacing_gain_ = 1;
      prior_cwnd_ = cwnd_;
      probe_rtt_done_ = never;
    }
  }
  if (mode_ == mode::probe_rtt) {
    if (probe_rtt_done_ == never && in_flight <= min_cwnd_packets * mss_) {
      probe_rtt_done_ = now + std::max(probe_rtt_time, min_rtt_);
      probe_rtt_round_done_ = false;
    } else if (probe_rtt_done_ != never) {
      if (round_start_) probe_rtt_round_done_ = true;
      if (probe_rtt_round_done_ && now >= probe_rtt_done_) {
        min_rtt_stamp_ = now;
        cwnd_ = std::max(cwnd_, prior_cwnd_);
        enter_probe_bw(now);
      }
    }
  }

  set_rate_and_cwnd(acked_in_ack_);
  acked_in_ack_ = 0;
  sample_valid_ = false;
  sample_delivered_ = 0;
  round_start_ = false;
}

void congestion::set_rate_and_cwnd(std::uint64_t acked) {
  double rate = pacing_gain_ * bandwidth();  // 0 before a sample
  // In startup the pace also follows the window, as it began (see
  // on_initial_rtt). Paced from the bandwidth estimate alone, which trails
  // a round behind, a round's packets spread over the whole round trip, and
  // the queue the round builds shows in RTT samples only after the next
  // round has gone out: at 200 ms over a 100 ms queue that round overflowed
  // it (about 600 drops; none now). Paced from the window, a round leaves
  // within about a third of the round trip.
  if (!filled_pipe_ && min_rtt_ != duration::max()) rate = std::max(rate, window_rate(min_rtt_));
  // In startup the pace only grows.
  if (rate > 0 && (filled_pipe_ || capped(rate) > pacing_rate_)) pacing_rate_ = capped(rate);
  const std::uint64_t floor = min_cwnd_packets * mss_;
  if (mode_ == mode::probe_rtt) {
    cwnd_ = floor;
    return;
  }
  // Room beyond the BDP for the peer's delayed ACKs (it answers every
  // ack_threshold packets), or a short path would wait on them.
  const std::uint64_t target = static_cast<std::uint64_t>(bdp(cwnd_gain_)) +
                               (ack_threshold_packets + 4) * static_cast<std::uint64_t>(mss_);
  if (filled_pipe_)
    cwnd_ = std::min(cwnd_ + acked, target);
  else if (cwnd_ < target || delivered_ < initial_cwnd_packets * mss_)
    cwnd_ += acked;
  cwnd_ = std::max(std::min(cwnd_, inflight_hi_), floor);
}

}  // namespace ferry::rudp
