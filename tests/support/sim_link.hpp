// A simulated network path for the reliable-UDP core, in virtual time: per
// direction a delay, a bottleneck rate with a bounded queue, random loss,
// reordering (extra delay on some packets), duplication, and an optional
// drop rule for fixed patterns. Seeded, so every run is the same.
#pragma once

#include <cstdint>
#include <functional>
#include <queue>
#include <random>
#include <span>
#include <vector>

#include "rudp/time.hpp"

namespace ferry::test {

struct link_params {
  rudp::duration delay{};       // one way
  double rate = 0;              // bytes per second; 0 = unlimited
  std::size_t queue_limit = 0;  // bytes waiting at the bottleneck; 0 = unlimited
  std::size_t header = 0;       // bytes each packet costs on the wire beyond its own
                                // (IPv4 and UDP: 28), counted by rate and queue
  double loss = 0;              // probability, random
  double reorder = 0;           // probability of an extra delay
  rudp::duration reorder_delay = rudp::duration(10000);
  double duplicate = 0;      // probability
  std::size_t mtu = 0;       // larger packets are dropped; 0 = any size passes
  std::size_t truncate = 0;  // larger packets arrive cut to this size (as some proxies
                             // relay them); 0 = whole
  /// Drops the packet when it returns true: (index of the packet on this
  /// direction, its send time).
  std::function<bool(std::uint64_t, rudp::time_point)> drop;
};

class sim_direction {
 public:
  struct arrival {
    rudp::time_point at;
    std::uint64_t seq;
    std::vector<std::uint8_t> bytes;
    bool operator>(const arrival& o) const { return at != o.at ? at > o.at : seq > o.seq; }
  };

  sim_direction(link_params p, std::uint64_t seed) : p_(std::move(p)), rng_(seed) {}

  void send(std::span<const std::uint8_t> bytes, rudp::time_point now) {
    const std::uint64_t index = sent_++;
    if (p_.drop && p_.drop(index, now)) {
      ++dropped_;
      return;
    }
    if (p_.loss > 0 && coin(p_.loss)) {
      ++dropped_;
      return;
    }
    if (p_.mtu > 0 && bytes.size() > p_.mtu) {
      ++dropped_;
      return;
    }
    rudp::time_point leave = now;
    if (p_.rate > 0) {
      const rudp::time_point start = std::max(now, busy_until_);
      const double backlog_bytes = static_cast<double>((start - now).count()) * p_.rate / 1e6;
      const double wire = static_cast<double>(bytes.size() + p_.header);
      if (p_.queue_limit > 0 && backlog_bytes + wire > static_cast<double>(p_.queue_limit)) {
        ++overflowed_;
        return;
      }
      busy_until_ = start + rudp::duration(static_cast<std::int64_t>(wire / p_.rate * 1e6));
      leave = busy_until_;
    }
    rudp::time_point at = leave + p_.delay;
    if (p_.reorder > 0 && coin(p_.reorder)) at += p_.reorder_delay;
    if (p_.truncate > 0 && bytes.size() > p_.truncate) {
      bytes = bytes.first(p_.truncate);
      ++truncated_;
    }
    q_.push({at, seq_++, {bytes.begin(), bytes.end()}});
    if (p_.duplicate > 0 && coin(p_.duplicate))
      q_.push({at + rudp::duration(100), seq_++, {bytes.begin(), bytes.end()}});
  }

  rudp::time_point next() const { return q_.empty() ? rudp::never : q_.top().at; }
  bool pop_due(rudp::time_point now, std::vector<std::uint8_t>& out) {
    if (q_.empty() || q_.top().at > now) return false;
    out = q_.top().bytes;
    q_.pop();
    return true;
  }
  std::uint64_t sent() const { return sent_; }
  std::uint64_t dropped() const { return dropped_; }
  std::uint64_t overflowed() const { return overflowed_; }
  std::uint64_t truncated() const { return truncated_; }

 private:
  bool coin(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
  link_params p_;
  std::mt19937_64 rng_;
  std::priority_queue<arrival, std::vector<arrival>, std::greater<>> q_;
  rudp::time_point busy_until_{};
  std::uint64_t sent_ = 0, seq_ = 0, dropped_ = 0, overflowed_ = 0, truncated_ = 0;
};

}  // namespace ferry::test
