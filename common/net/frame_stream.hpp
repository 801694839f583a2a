// A connected byte stream carrying ferry frames, with an idle watchdog: the
// session fails with a timeout when neither direction makes progress for
// the configured time. Reading progress is a whole frame, or 64 KiB of raw
// content, not a byte: a peer trickling one byte at a time (slowloris) is
// dropped after the timeout like a silent one. A KEEPALIVE is progress only
// while the session expects the peer to be busy (allow_keepalives_until):
// a peer that sends nothing else cannot hold the session open. A deadline
// (the handshake's) ends the stream whatever the progress. The stream is
// driven by coroutines on one strand.
#pragma once

#include <array>
#include <asio.hpp>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "framing/frame.hpp"
#include "net/errors.hpp"
#include "net/transport.hpp"
#include "util/failure.hpp"

namespace ferry::net {

class frame_stream {
 public:
  using clock = std::chrono::steady_clock;

  /// Starts the idle watchdog: when neither direction makes progress for
  /// `idle_timeout`, the socket is closed, pending operations fail, and
  /// they report a timeout. (A plain timer callback rather than a coroutine
  /// raced with `||`: GCC 12 miscompiles Asio's awaitable operators here.)
  frame_stream(std::unique_ptr<transport> t, clock::duration idle_timeout);
  frame_stream(asio::ip::tcp::socket socket, clock::duration idle_timeout);
  ~frame_stream();
  frame_stream(const frame_stream&) = delete;
  frame_stream& operator=(const frame_stream&) = delete;

  /// Reads the peer's preamble; throws failure (framing::error) on bad magic.
  asio::awaitable<std::uint16_t> read_preamble();

  /// Reads one frame. `step` names what we were waiting for in errors.
  asio::awaitable<framing::message> read_frame(const char* step);

  /// Returns between 1 and `max` raw bytes that follow a DATA frame; the
  /// span is valid until the caller next suspends (it may point into the
  /// transport's own buffer).
  asio::awaitable<std::span<const std::uint8_t>> read_raw(std::size_t max, const char* step);

  /// Writes whatever is queued, then all of `a`, then all of `b` (queued
  /// frames and a small `a` leave in the same system call as `b`).
  asio::awaitable<void> write(std::span<const std::uint8_t> a,
                              std::span<const std::uint8_t> b = {});

  /// Encodes a frame for the next flush; reads flush first, so replies to
  /// a batch of pipelined requests leave in one write. (There is no
  /// send(msg) coroutine on purpose: GCC 12 destroys a temporary message in
  /// a co_await expression twice. Queue, then co_await flush().)
  void queue(const framing::message& msg) { framing::encode(msg, out_); }
  /// Queues raw bytes (the content after a queued DATA frame): small files
  /// travel with their frames, many to one write.
  void queue_raw(std::span<const std::uint8_t> bytes) {
    out_.insert(out_.end(), bytes.begin(), bytes.end());
  }
  /// Bytes queued for the next flush.
  std::size_t queued() const { return out_.size(); }
  /// Reads flush the queue first (the default: replies to a batch leave
  /// before we wait). A side that reads in one coroutine and writes in
  /// another turns this off and flushes from its writer only: a flush
  /// from the reader could overlap the writer's own writes, leaving what
  /// the writer queued meanwhile unsent while both wait on the peer.
  void set_flush_on_read(bool on) { flush_on_read_ = on; }
  asio::awaitable<void> flush();

  /// Closes the transport; pending operations complete with an error.
  void close();
  /// Tells the peer why with `e`, then closes: for a stream whose own
  /// coroutines are stuck waiting on the peer (a receiver shutting down).
  /// Sent only when no write is in flight (a frame inside another write
  /// would break the stream); writes after it fail.
  asio::awaitable<void> close_saying(framing::error_frame e);
  /// The graceful end of a session: the peer gets all we sent (UDP mode
  /// waits for its acknowledgements, at most the idle timeout), then close.
  asio::awaitable<void> finish();
  /// Ends our direction; the peer reads end-of-stream after our data.
  void shutdown_send() { transport_->shutdown_send(); }

  /// Paces what we write to `bytes_per_second` (0: no cap), in slices of
  /// at most 50 ms worth, so the cap holds over any stretch of a second.
  void set_pace(std::uint64_t bytes_per_second) { pace_ = bytes_per_second; }

  /// Changes the idle timeout from now on.
  void set_idle_timeout(clock::duration d) {
    idle_timeout_ = d;
    arm_watchdog();
  }

  /// Ends the stream at `t` whatever the progress (a handshake that must be
  /// over by then); `what` names it in the timeout error. clear_deadline()
  /// lifts it.
  void set_deadline(clock::time_point t, std::string what);
  void clear_deadline() { deadline_ = clock::time_point::max(); }

  /// The peer has `bytes` more to hash before it can go on (a resume
  /// prefix, a file to compare): its KEEPALIVEs count as progress for as
  /// long as that takes at min_hash_rate, queued after what it had to do
  /// already; never beyond.
  void expect_peer_hashing(std::uint64_t bytes);

  /// Counts as progress: the caller was busy with local work, not waiting.
  void touch() { progress(); }

  /// Long local work (hashing a large file) calls this between slices: when
  /// we have sent nothing for a quarter of the idle timeout, a KEEPALIVE
  /// (with whatever is queued) goes out, so the peer's watchdog knows we
  /// are alive. Counts as progress for our own watchdog too.
  asio::awaitable<void> keep_alive();

  bool timed_out() const { return timed_out_; }
  /// Throws the failure for `ec` met while `what` (a timeout when the
  /// watchdog or deadline closed the stream): for work done on the
  /// transport directly, such as the secure channel's handshake.
  [[noreturn]] void raise(const char* what, const std::error_code& ec) const { fail(what, ec); }
  /// How long since bytes last arrived from the peer. Safe to call from
  /// another thread (another session asking whether this one is dead).
  clock::duration silent_for() const {
    return clock::now() -
           clock::time_point(clock::duration(last_heard_.load(std::memory_order_relaxed)));
  }
  std::string peer() const { return peer_; }
  /// Names the peer in logs when the socket's remote end is a proxy.
  void set_peer(std::string name) { peer_ = std::move(name); }
  asio::any_io_executor executor() { return transport_->executor(); }
  /// The transport underneath: its kind and statistics.
  const transport& carrier() const { return *transport_; }

 private:
  [[noreturn]] void fail(const char* step, const std::error_code& ec) const;
  /// Reads more into buf_. Waiting for frames (`content` false) it keeps
  /// to the buffer's first frame_window bytes, so a session that sends only
  /// control frames touches (and costs) that much of it, not all 1 MiB.
  asio::awaitable<void> fill(const char* step, bool content = false);
  /// Raw content bytes read since the last progress mark.
  std::size_t raw_since_progress_ = 0;
  void progress() { last_progress_ = clock::now(); }
  void heard() {
    last_heard_.store(clock::now().time_since_epoch().count(), std::memory_order_relaxed);
  }
  void arm_watchdog();

  // Shared with the pending timer callback, which may outlive the stream.
  struct watchdog_state {
    explicit watchdog_state(const asio::any_io_executor& ex) : timer(ex) {}
    asio::steady_timer timer;
    frame_stream* owner = nullptr;
  };

  std::unique_ptr<transport> transport_;
  std::shared_ptr<watchdog_state> watchdog_;
  clock::duration idle_timeout_;
  clock::time_point last_progress_;
  std::atomic<clock::rep> last_heard_{clock::now().time_since_epoch().count()};
  clock::time_point deadline_ = clock::time_point::max();
  std::string deadline_what_;
  bool deadline_hit_ = false;
  clock::time_point keepalive_allowance_ = clock::time_point::min();
  clock::time_point last_sent_ = clock::now();
  bool timed_out_ = false;
  bool writing_ = false;
  bool closing_ = false;           // close_saying() has the last word
  std::uint64_t pace_ = 0;         // bytes per second we may write; 0: no cap
  clock::time_point pace_next_{};  // when the next paced write may start
  bool flush_on_read_ = true;
  std::string peer_;
  // Not zero-filled: a page costs memory only once data lands in it, so an
  // idle or handshaking session holds a few KiB, not the whole buffer.
  std::unique_ptr<std::uint8_t[]> buf_;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  framing::byte_buffer out_;
  framing::byte_buffer sending_;  // what a flush is writing (out_ keeps queueing)
  asio::awaitable<void> write_spans(std::span<const std::uint8_t> a,
                                    std::span<const std::uint8_t> b);
  // Writes the queue (new frames queue meanwhile), then `b`.
  asio::awaitable<void> write_queued(std::span<const std::uint8_t> b);
};

/// The slowest hashing (bytes per second) a peer's KEEPALIVEs are excused
/// for: what a slow disk reads.
inline constexpr std::uint64_t min_hash_rate = 16 << 20;

}  // namespace ferry::net
