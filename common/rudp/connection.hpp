// One reliable-UDP connection as a sans-I/O state machine: fed datagrams
// and the current time, it yields datagrams to send and the time it next
// needs attention. It carries one ordered byte stream each way, with
// selective ACKs, loss detection (reordering threshold and timer), probe
// timeouts, BBR-style congestion control with pacing, flow control, a
// keepalive, an idle timeout and a close handshake.
//
// Driving it: after datagrams arrive or the timer fires, call on_timeout()
// and then poll_send() until it returns 0; arm the timer for next_timeout().
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <system_error>

#include "rudp/ack_tracker.hpp"
#include "rudp/congestion.hpp"
#include "rudp/packet.hpp"
#include "rudp/recv_buffer.hpp"
#include "rudp/rtt.hpp"
#include "rudp/send_buffer.hpp"
#include "rudp/time.hpp"

namespace ferry::rudp {

struct config {
  std::size_t max_packet = 1200;       // our largest packet (datagram minus any SOCKS5 header)
  std::size_t probe_max = 0;           // path MTU discovery up to this packet size; 0: none
  std::size_t send_buffer = 8u << 20;  // bytes written but not yet acknowledged
  std::size_t recv_window = 8u << 20;  // flow-control window granted to the peer
  // How far each grows with the path's bandwidth-delay product: the send
  // buffer is kept at twice the congestion window, the window doubles while
  // the peer uses a quarter of it within half a round trip.
  std::size_t send_buffer_max = 32u << 20;
  std::size_t recv_window_max = 32u << 20;
  /// Reorder memory a connection may hold before trust_peer() (the session
  /// authenticated the peer); 0: no such bound. A retry token proves only
  /// an address: strangers must not fill the receiver's shared pool.
  std::size_t untrusted_reorder = 0;
  duration idle_timeout = 10s;  // silence after which the peer is dead
  std::uint64_t rate_cap = 0;   // bytes per second; 0 for none
  /// Where the reorder ring grows past 64 KiB, shared by every connection
  /// of a receiver; none: each may grow to its window.
  std::shared_ptr<memory_pool> recv_pool;
};

/// The transport's idle timeout for a session timeout: half of it, 1 to
/// 10 s. Keepalives flow at least every second, so a dead peer shows within
/// this, and below the session's own timeout a dead peer is reported as
/// such (exit 3) rather than as a silent one (exit 8).
inline duration idle_timeout_for(std::chrono::milliseconds session_timeout) {
  return std::clamp<duration>(session_timeout / 2, std::chrono::seconds(1),
                              std::chrono::seconds(10));
}

struct stats {
  std::uint64_t packets_sent = 0;
  std::uint64_t packets_received = 0;
  std::uint64_t packets_lost = 0;  // declared lost (ours)
  std::uint64_t duplicates = 0;    // packets received twice
  std::uint64_t bytes_sent = 0;    // packet bytes
  std::uint64_t bytes_received = 0;
  std::uint64_t bytes_retransmitted = 0;  // stream bytes sent again
  std::uint64_t probes = 0;               // probe timeouts
  std::uint64_t mtu_probes = 0;           // larger packets tried (path MTU discovery)
  std::uint64_t packets_cut = 0;          // received malformed or shorter than sent: dropped
  std::uint64_t packets_no_room = 0;      // dropped: the shared reorder memory was spent
  std::size_t packet_size = 0;            // our largest packet now
  duration srtt{};
  duration min_rtt{};
};

class connection {
 public:
  enum class role { client, server };
  enum class state { handshake, established, closing, draining, closed };

  /// A client: its first poll_send() is the INIT.
  connection(const config& cfg, std::uint32_t local_cid, time_point now);
  /// A server for a verified INIT (see listener): its first poll_send() is
  /// the ACCEPT.
  connection(const config& cfg, std::uint32_t local_cid, std::uint32_t peer_cid,
             const handshake_body& init, time_point now);

  /// Handles one packet addressed to us.
  void on_datagram(std::span<const std::uint8_t> packet, time_point now);
  /// Handles whatever timers expired by `now`.
  void on_timeout(time_point now);
  /// Writes the next packet into `out` (at least max_packet() bytes);
  /// returns its size, 0 when nothing is to be sent now.
  std::size_t poll_send(std::span<std::uint8_t> out, time_point now);
  /// When on_timeout/poll_send next have work; `never` when closed.
  time_point next_timeout() const;

  // The stream, as the application sees it.
  std::size_t writable() const { return state_ <= state::established ? send_.writable() : 0; }
  std::size_t write(std::span<const std::uint8_t> bytes) { return send_.write(bytes); }
  /// Our direction ends after what was written.
  void finish() { send_.finish(); }
  std::size_t readable() const { return recv_.readable(); }
  std::size_t read(std::span<std::uint8_t> out);
  /// Reading without a copy: the next in-order bytes in one piece (at most
  /// `max`), valid until the connection is next fed a datagram; consume()
  /// marks them read.
  std::span<const std::uint8_t> peek(std::size_t max) const { return recv_.peek(max); }
  void consume(std::size_t n);
  /// The peer's stream ended (its FIN, or its normal close) and all was read.
  bool eof() const;
  /// Everything we wrote, and our FIN, is acknowledged.
  bool all_acked() const { return send_.all_acked(); }
  /// Ends the connection: tells the peer (CLOSE, resent while it keeps
  /// talking), then lingers briefly. A normal close after all_acked() is
  /// the graceful end.
  void close(close_code code, std::string_view reason, time_point now);
  /// The session authenticated the peer: config::untrusted_reorder lifts.
  void trust_peer() { recv_.limit_ring(0); }

  /// Ends the connection at once, without telling the peer (its path is
  /// gone: the network said so, or the proxy's association ended).
  void abort(std::error_code ec) {
    state_ = state::closed;
    if (!err_) err_ = ec;
  }

  state current() const { return state_; }
  bool established() const { return state_ == state::established; }
  bool closed() const { return state_ == state::closed; }
  /// Why the connection ended or failed (empty while healthy and after a
  /// normal close). peer_reason() holds the text of the peer's CLOSE.
  std::error_code error() const { return err_; }
  const std::string& peer_reason() const { return peer_reason_; }
  /// The peer sent CLOSE with code 0.
  bool peer_closed_normally() const { return peer_closed_normally_; }
  std::uint8_t peer_version() const { return peer_version_; }

  std::uint32_t local_cid() const { return local_cid_; }
  /// The largest packet we send now; path MTU discovery may raise it.
  std::size_t max_packet() const { return max_packet_; }
  /// The largest packet we may ever send (the size poll_send's buffer
  /// needs for a path MTU probe).
  std::size_t packet_ceiling() const { return std::max(max_packet_, probe_hi_); }
  stats statistics() const;
  const congestion& cc() const { return cc_; }
  std::uint64_t bytes_in_flight() const { return bytes_in_flight_; }
  /// The flow-control window we grant now (it grows, see tune_window()).
  std::size_t recv_window() const { return recv_.window(); }
  /// Bytes our send buffer holds now (it grows, see tune_send_buffer()).
  std::size_t send_capacity() const { return send_.capacity(); }

 private:
  struct sent_packet {
    std::uint64_t pn = 0;
    time_point time{};
    std::uint32_t bytes = 0;
    enum class status : std::uint8_t { in_flight, acked, lost } st = status::in_flight;
    bool has_stream = false;
    bool fin = false;
    bool max_data = false;
    bool mtu_probe = false;  // PING and padding only, to learn if the path carries this size
    std::uint16_t stream_len = 0;
    std::uint64_t stream_offset = 0;
    rate_stamp rate;
  };

  void after_read(std::size_t n);
  void on_handshake_packet(std::span<const std::uint8_t> packet, time_point now);
  void on_ack_frame(const ack_frame& f, time_point now);
  void on_packet_acked(sent_packet& p, time_point now);
  void on_packet_lost(sent_packet& p);
  void detect_lost(time_point now);
  void drop_resolved();
  void fail(close_code code, std::error_code ec, std::string_view why, time_point now);
  time_point pto_time() const;
  duration keepalive() const;
  double pacing_allowance_us() const;
  std::size_t send_handshake(std::span<std::uint8_t> out, time_point now);
  std::size_t send_close(std::span<std::uint8_t> out);
  std::size_t send_data(std::span<std::uint8_t> out, time_point now);
  bool may_send_eliciting(time_point now) const;
  std::size_t send_mtu_probe(std::span<std::uint8_t> out, time_point now);
  void on_mtu_probe_lost(std::size_t size);
  void next_probe_size();
  void record_sent(sent_packet& rec, time_point now);
  void tune_window(time_point now);
  void tune_send_buffer();
  bool has_eliciting_work() const;

  config cfg_;
  role role_;
  state state_;
  std::uint32_t local_cid_;
  std::uint32_t peer_cid_ = 0;
  std::size_t max_packet_;

  // Path MTU discovery (the client's; RFC 8899's idea): a packet of
  // probe_size_ with only PING and padding is sent; once acknowledged, that
  // size is ours. A size lost max_probe_losses times in a row is too big
  // and the search halves the distance, down to a step of min_probe_step.
  std::size_t probe_hi_ = 0;    // largest size still worth trying (0: not searching)
  std::size_t probe_size_ = 0;  // the size tried next / now
  bool probe_in_flight_ = false;
  int probe_losses_ = 0;  // losses of probe_size_ in a row

  // handshake
  handshake_body hs_{};  // client: our INIT (token); server: unused
  int init_sent_ = 0;    // INITs since the last RETRY
  int retries_ = 0;
  time_point next_init_ = time_point::zero();
  time_point first_init_{};
  bool accept_pending_ = false;
  bool confirmed_ = false;  // server: the client sent a data packet

  std::uint64_t next_pn_ = 0;
  ack_tracker acks_;
  send_buffer send_;
  recv_buffer recv_;
  std::uint64_t peer_max_data_ = 0;
  std::uint64_t advertised_max_data_ = 0;
  bool max_data_dirty_ = false;
  time_point last_grant_ = never;  // when we last sent MAX_DATA

  std::deque<sent_packet> sent_;
  std::uint64_t bytes_in_flight_ = 0;
  std::uint64_t largest_acked_ = 0;
  bool any_acked_ = false;
  time_point loss_time_ = never;
  int pto_count_ = 0;
  int probes_ = 0;
  bool ping_pending_ = false;
  time_point last_eliciting_sent_{};
  time_point last_received_{};
  double next_send_us_ = 0;  // pacing

  rtt_estimator rtt_;
  congestion cc_;

  bool close_pending_ = false;
  close_code close_code_ = close_code::normal;
  std::string close_reason_;
  time_point close_deadline_ = never;
  bool peer_closed_normally_ = false;
  std::error_code err_;
  std::string peer_reason_;
  std::uint8_t peer_version_ = 0;

  stats stats_;
};

}  // namespace ferry::rudp
