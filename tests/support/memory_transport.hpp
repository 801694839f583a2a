// A connected pair of net::transports in memory, on one io_context: what
// one side writes, the other reads. Each direction can hand out at most
// `max_read` bytes per read, and can break after `fail_at` bytes (a reset:
// both directions fail, as a TCP reset does) or end after `close_at` bytes
// (the connection closes: both sides then read end-of-stream). For session
// tests without sockets, sleeps or timing.
#pragma once

#include <algorithm>
#include <asio.hpp>
#include <cstdint>
#include <deque>
#include <limits>
#include <memory>
#include <utility>

#include "net/transport.hpp"

namespace ferry::test {

struct direction_rules {
  std::size_t max_read = std::numeric_limits<std::size_t>::max();
  std::uint64_t fail_at = std::numeric_limits<std::uint64_t>::max();
  std::uint64_t close_at = std::numeric_limits<std::uint64_t>::max();
};

class memory_transport final : public net::transport {
 public:
  /// One direction, shared by the end that writes and the end that reads.
  struct channel {
    explicit channel(asio::any_io_executor ex, direction_rules r) : wake(ex), rules(r) {
      wake.expires_at(asio::steady_timer::time_point::max());
    }
    std::deque<std::uint8_t> bytes;
    std::uint64_t carried = 0;  // bytes ever accepted
    std::uint64_t reads = 0;    // reads that returned bytes
    bool ended = false;         // end-of-stream after `bytes`
    bool reset = false;         // the connection broke
    asio::steady_timer wake;    // the reader waits on it
    direction_rules rules;
    void notify() { wake.cancel(); }
  };

  memory_transport(asio::any_io_executor ex, std::shared_ptr<channel> in,
                   std::shared_ptr<channel> out)
      : ex_(std::move(ex)), in_(std::move(in)), out_(std::move(out)) {}

  asio::any_io_executor executor() override { return ex_; }
  /// What this end writes into (its `carried` counts the bytes it sent).
  std::shared_ptr<const channel> outgoing() const { return out_; }

  asio::awaitable<net::io_result> read_some(std::span<std::uint8_t> out) override {
    while (true) {
      if (closed_) co_return net::io_result{asio::error::operation_aborted, 0};
      if (!in_->bytes.empty()) {
        const std::size_t n = std::min({out.size(), in_->bytes.size(), in_->rules.max_read});
        std::copy_n(in_->bytes.begin(), n, out.begin());
        in_->bytes.erase(in_->bytes.begin(), in_->bytes.begin() + static_cast<std::ptrdiff_t>(n));
        ++in_->reads;
        co_return net::io_result{{}, n};
      }
      if (in_->reset) co_return net::io_result{asio::error::connection_reset, 0};
      if (in_->ended) co_return net::io_result{asio::error::eof, 0};
      in_->wake.expires_at(asio::steady_timer::time_point::max());
      std::error_code ignored;
      co_await in_->wake.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    }
  }

  asio::awaitable<net::io_result> write_some(std::span<const std::uint8_t> a,
                                             std::span<const std::uint8_t> b) override {
    if (closed_) co_return net::io_result{asio::error::bad_descriptor, 0};
    if (out_->reset) co_return net::io_result{asio::error::connection_reset, 0};
    if (out_->ended) co_return net::io_result{asio::error::broken_pipe, 0};
    const auto& r = out_->rules;
    const std::uint64_t limit = std::min(r.fail_at, r.close_at);
    if (out_->carried >= limit) {
      if (r.fail_at <= r.close_at) {
        break_both();
        co_return net::io_result{asio::error::connection_reset, 0};
      }
      end_both();
      co_return net::io_result{asio::error::broken_pipe, 0};
    }
    const std::uint64_t room = limit - out_->carried;
    std::size_t n = 0;
    for (const auto part : {a, b}) {
      const auto take = static_cast<std::size_t>(std::min<std::uint64_t>(part.size(), room - n));
      out_->bytes.insert(out_->bytes.end(), part.begin(),
                         part.begin() + static_cast<std::ptrdiff_t>(take));
      n += take;
      if (n == room) break;
    }
    out_->carried += n;
    out_->notify();
    co_return net::io_result{{}, n};
  }

  asio::awaitable<void> finish(std::chrono::milliseconds) override { co_return; }
  void shutdown_send() override {
    out_->ended = true;
    out_->notify();
  }
  void close() override {
    if (closed_) return;
    closed_ = true;
    out_->ended = true;  // the peer reads what was sent, then the end
    out_->notify();
    in_->notify();  // our own pending read ends
  }
  bool is_open() const override { return !closed_; }
  std::string remote() const override { return "memory"; }
  net::transport_kind kind() const override { return net::transport_kind::tcp; }

  /// Two connected ends: `to_b` rules the bytes a writes and b reads.
  static std::pair<std::unique_ptr<memory_transport>, std::unique_ptr<memory_transport>> pair(
      asio::any_io_executor ex, direction_rules to_b = {}, direction_rules to_a = {}) {
    auto ab = std::make_shared<channel>(ex, to_b);
    auto ba = std::make_shared<channel>(ex, to_a);
    return {std::make_unique<memory_transport>(ex, ba, ab),
            std::make_unique<memory_transport>(ex, ab, ba)};
  }

 private:
  void break_both() {
    for (auto* c : {in_.get(), out_.get()}) {
      c->reset = true;  // after what was already sent: the peer reads exactly `fail_at`
      c->notify();
    }
  }
  void end_both() {
    for (auto* c : {in_.get(), out_.get()}) {
      c->ended = true;
      c->notify();
    }
  }

  asio::any_io_executor ex_;
  std::shared_ptr<channel> in_, out_;
  bool closed_ = false;
};

}  // namespace ferry::test
