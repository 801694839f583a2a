#include "net/frame_stream.hpp"

#include <algorithm>
#include <asio/experimental/as_tuple.hpp>

#include "net/address.hpp"

namespace ferry::net {
namespace {

constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

constexpr std::size_t buffer_size = 1 << 20;
/// Where frames are read (a frame is at most 64 KiB + 5): see fill().
constexpr std::size_t frame_window = 128 << 10;

double seconds(frame_stream::clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

}  // namespace

frame_stream::frame_stream(std::unique_ptr<transport> t, clock::duration idle_timeout)
    : transport_(std::move(t)),
      watchdog_(std::make_shared<watchdog_state>(transport_->executor())),
      idle_timeout_(idle_timeout),
      last_progress_(clock::now()),
      peer_(transport_->remote()),
      buf_(new std::uint8_t[buffer_size]) {
  watchdog_->owner = this;
  arm_watchdog();
}

frame_stream::frame_stream(asio::ip::tcp::socket socket, clock::duration idle_timeout)
    : frame_stream(std::make_unique<tcp_transport>(std::move(socket)), idle_timeout) {}

asio::awaitable<void> frame_stream::close_saying(framing::error_frame e) {
  if (!writing_ && !closing_ && transport_->is_open()) {
    closing_ = true;
    framing::byte_buffer last;
    framing::encode(e, last);
    try {
      co_await write_spans(last, {});
      // Delivered, not only written (UDP mode waits for the ACK), briefly.
      co_await transport_->finish(std::chrono::milliseconds(1000));
    } catch (const std::exception&) {  // the peer may be gone already
    }
  }
  close();
}

asio::awaitable<void> frame_stream::finish() {
  co_await flush();
  const auto limit = std::chrono::duration_cast<std::chrono::milliseconds>(idle_timeout_);
  co_await transport_->finish(limit);
  close();
}

frame_stream::~frame_stream() {
  watchdog_->owner = nullptr;
  watchdog_->timer.cancel();
}

void frame_stream::arm_watchdog() {
  watchdog_->timer.expires_at(std::min(last_progress_ + idle_timeout_, deadline_));
  watchdog_->timer.async_wait([state = watchdog_](const std::error_code& ec) {
    frame_stream* self = state->owner;
    if (ec || self == nullptr || !self->transport_->is_open()) return;
    const auto now = clock::now();
    if (now >= self->last_progress_ + self->idle_timeout_ || now >= self->deadline_) {
      self->deadline_hit_ = now >= self->deadline_;
      self->timed_out_ = true;
      self->close();
      return;
    }
    self->arm_watchdog();  // there was progress since: wait for the new deadline
  });
}

void frame_stream::expect_peer_hashing(std::uint64_t bytes) {
  const auto busy = std::chrono::duration_cast<clock::duration>(
      std::chrono::duration<double>(static_cast<double>(bytes) / min_hash_rate));
  keepalive_allowance_ = std::max(keepalive_allowance_, clock::now()) + busy;
}

void frame_stream::set_deadline(clock::time_point t, std::string what) {
  deadline_ = t;
  deadline_what_ = std::move(what);
  arm_watchdog();
}

void frame_stream::close() {
  transport_->close();
  watchdog_->timer.cancel();
}

void frame_stream::fail(const char* what, const std::error_code& ec) const {
  const enum ferry::step at =
      deadline_ != clock::time_point::max() ? ferry::step::handshake : ferry::step::transfer;
  if (timed_out_ && deadline_hit_)
    throw failure(net::errc::deadline, at,
                  std::string(what) + ": timed out (" + deadline_what_ + ")");
  if (timed_out_) {
    throw failure(net::errc::idle_timeout, at,
                  std::string(what) + ": timed out (no progress from the peer for " +
                      std::to_string(static_cast<int>(seconds(idle_timeout_))) + "s)");
  }
  // The sender writes straight from a mapped file: a file cut short under
  // the mapping makes the kernel's copy fail.
  if (ec == asio::error::fault)
    throw failure(errc::source_fault, ferry::step::local,
                  std::string(what) + ": a file being sent shrank under us");
  // A lost connection is a network failure, not a protocol violation.
  if (ec == asio::error::eof)
    throw failure(net::errc::closed, at, std::string(what) + ": connection closed by peer");
  throw failure(ec, at, std::string(what) + ": connection lost: " + ec.message());
}

namespace {
/// Raw content that counts as reading progress (see the header).
constexpr std::size_t raw_progress_bytes = 64 * 1024;
}  // namespace

asio::awaitable<void> frame_stream::fill(const char* step, bool content) {
  if (flush_on_read_) co_await flush();
  if (begin_ == end_) {
    begin_ = end_ = 0;
  } else if (begin_ > 0 && (end_ == buffer_size || (!content && end_ > frame_window / 2))) {
    // What is left is less than one frame (or than the buffer): cheap to move.
    std::copy(buf_.get() + begin_, buf_.get() + end_, buf_.get());
    end_ -= begin_;
    begin_ = 0;
  }
  std::size_t room_size = buffer_size - end_;
  if (!content && end_ < frame_window) room_size = frame_window - end_;
  const std::span<std::uint8_t> room(buf_.get() + end_, room_size);
  const io_result r = co_await transport_->read_some(room);
  if (r.ec) fail(step, r.ec);
  end_ += r.n;
  heard();
}

asio::awaitable<std::uint16_t> frame_stream::read_preamble() {
  while (true) {
    std::uint16_t version = 0;
    const auto ec = framing::decode_preamble({buf_.get() + begin_, end_ - begin_}, version);
    if (!ec) {
      begin_ += framing::preamble_size;
      progress();
      co_return version;
    }
    if (ec != framing::error::need_more)
      throw failure(ec, ferry::step::handshake, "handshake: " + ec.message());
    co_await fill("handshake");
  }
}

asio::awaitable<framing::message> frame_stream::read_frame(const char* step) {
  while (true) {
    framing::message msg;
    std::size_t used = 0;
    const auto ec = framing::decode({buf_.get() + begin_, end_ - begin_}, msg, used);
    if (!ec) {
      begin_ += used;
      // A KEEPALIVE says "busy, not gone": progress only while we expect
      // the peer to be busy.
      if (!std::holds_alternative<framing::keepalive>(msg) || clock::now() < keepalive_allowance_)
        progress();
      co_return msg;
    }
    if (ec != framing::error::need_more)
      throw failure(ec, ferry::step::transfer, std::string(step) + ": " + ec.message());
    co_await fill(step);
  }
}

asio::awaitable<std::span<const std::uint8_t>> frame_stream::read_raw(std::size_t max,
                                                                      const char* step) {
  std::span<const std::uint8_t> out;
  if (begin_ == end_ && transport_->lends()) {
    // Content straight from the transport's buffer, one copy fewer.
    if (flush_on_read_) co_await flush();
    const io_result r = co_await transport_->read_lent(max, out);
    if (r.ec) fail(step, r.ec);
    heard();
  } else {
    if (begin_ == end_) co_await fill(step, true);
    out = {buf_.get() + begin_, std::min(max, end_ - begin_)};
    begin_ += out.size();
  }
  const std::size_t n = out.size();
  raw_since_progress_ += n;
  if (raw_since_progress_ >= raw_progress_bytes) {
    raw_since_progress_ = 0;
    progress();
  }
  co_return out;
}

asio::awaitable<void> frame_stream::write(std::span<const std::uint8_t> a,
                                          std::span<const std::uint8_t> b) {
  if (closing_) fail("send", asio::error::operation_aborted);
  if (out_.empty() || writing_) {
    co_await write_spans(a, b);
    co_return;
  }
  // Queued frames go first; a small `a` (a DATA header) joins them.
  if (a.size() <= 64 * 1024) {
    out_.insert(out_.end(), a.begin(), a.end());
    co_await write_queued(b);
  } else {
    co_await write_queued({});
    co_await write_spans(a, b);
  }
}

asio::awaitable<void> frame_stream::write_queued(std::span<const std::uint8_t> b) {
  std::swap(out_, sending_);
  out_.clear();
  co_await write_spans(sending_, b);
  sending_.clear();
}

asio::awaitable<void> frame_stream::write_spans(std::span<const std::uint8_t> a,
                                                std::span<const std::uint8_t> b) {
  // write_some in a loop rather than async_write, so that a slow but moving
  // peer keeps the watchdog fed between partial writes.
  const std::size_t total = a.size() + b.size();
  std::size_t off = 0;
  writing_ = true;
  struct reset_flag {
    bool& f;
    ~reset_flag() { f = false; }
  } guard{writing_};
  while (off < total) {
    std::span<const std::uint8_t> first, second;
    if (off < a.size()) {
      first = a.subspan(off);
      second = b;
    } else {
      first = b.subspan(off - a.size());
    }
    if (pace_ != 0) {
      // --rate: wait for our turn (our own doing, not the peer's silence),
      // then write at most 50 ms worth.
      const auto now = clock::now();
      if (pace_next_ > now) {
        asio::steady_timer wait(transport_->executor());
        wait.expires_at(pace_next_);
        co_await wait.async_wait(use_tuple);
        progress();
      }
      pace_next_ = std::max(pace_next_, clock::now() - std::chrono::milliseconds(50));
      const std::size_t slice = std::max<std::size_t>(1024, pace_ / 20);
      if (first.size() >= slice) {
        first = first.first(slice);
        second = {};
      } else if (first.size() + second.size() > slice) {
        second = second.first(slice - first.size());
      }
    }
    const io_result r = co_await transport_->write_some(first, second);
    if (pace_ != 0)
      pace_next_ += std::chrono::duration_cast<clock::duration>(
          std::chrono::duration<double>(static_cast<double>(r.n) / static_cast<double>(pace_)));
    if (r.ec) fail("send", r.ec);
    off += r.n;
    progress();
    last_sent_ = last_progress_;
  }
}

asio::awaitable<void> frame_stream::keep_alive() {
  progress();
  if (clock::now() - last_sent_ < idle_timeout_ / 4) co_return;
  queue(framing::keepalive{});
  co_await flush();
}

asio::awaitable<void> frame_stream::flush() {
  if (closing_) fail("send", asio::error::operation_aborted);
  // A reader may flush while another coroutine is mid-write on the same
  // socket; that writer's data must not be interleaved, so leave it be.
  if (out_.empty() || writing_) co_return;
  co_await write_queued({});
}

}  // namespace ferry::net
