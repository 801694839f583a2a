#include "rudp/connection.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace ferry::rudp {
namespace {

constexpr std::uint64_t packet_threshold = 3;
constexpr duration initial_init_timeout = 250ms;
constexpr int max_retries = 1;
constexpr int max_pto_backoff = 8;
// Path MTU discovery: a size lost this many times in a row is too big; the
// search stops within this many bytes of the answer, or after so many probes.
constexpr int max_probe_losses = 3;
constexpr std::size_t min_probe_step = 64;
constexpr std::uint64_t max_mtu_probes = 40;

}  // namespace

connection::connection(const config& cfg, std::uint32_t local_cid, time_point now)
    : cfg_(cfg),
      role_(role::client),
      state_(state::handshake),
      local_cid_(local_cid),
      max_packet_(std::clamp(cfg.max_packet, min_packet_size, max_packet_size)),
      send_(cfg.send_buffer),
      recv_(cfg.recv_window, cfg.recv_pool),
      cc_(max_packet_, cfg.rate_cap) {
  if (cfg.probe_max > max_packet_) {
    probe_hi_ = std::min(cfg.probe_max, max_packet_size);
    probe_size_ = probe_hi_;
  }
  last_received_ = now;
  next_init_ = now;
  advertised_max_data_ = recv_.limit();
}

connection::connection(const config& cfg, std::uint32_t local_cid, std::uint32_t peer_cid,
                       const handshake_body& init, time_point now)
    : cfg_(cfg),
      role_(role::server),
      state_(state::established),
      local_cid_(local_cid),
      peer_cid_(peer_cid),
      max_packet_(std::clamp(std::min<std::size_t>(cfg.max_packet, init.max_packet),
                             min_packet_size, max_packet_size)),
      send_(cfg.send_buffer),
      recv_(cfg.recv_window, cfg.recv_pool),
      cc_(max_packet_, cfg.rate_cap) {
  last_received_ = now;
  last_eliciting_sent_ = now;
  accept_pending_ = true;
  if (cfg.untrusted_reorder != 0) recv_.limit_ring(cfg.untrusted_reorder);
  peer_max_data_ = init.max_data;
  advertised_max_data_ = recv_.limit();
}

std::size_t connection::read(std::span<std::uint8_t> out) {
  const std::size_t n = recv_.read(out);
  after_read(n);
  return n;
}

void connection::consume(std::size_t n) {
  recv_.consume(n);
  after_read(n);
}

void connection::after_read(std::size_t n) {
  // Grant more window once a quarter of it was consumed.
  if (n > 0 && recv_.limit() - advertised_max_data_ >= recv_.window() / 4) max_data_dirty_ = true;
}

bool connection::eof() const {
  if (recv_.eof()) return true;
  return peer_closed_normally_ && recv_.readable() == 0;
}

stats connection::statistics() const {
  stats s = stats_;
  s.packet_size = max_packet_;
  s.srtt = rtt_.smoothed();
  s.min_rtt = rtt_.min();
  return s;
}

void connection::close(close_code code, std::string_view reason, time_point now) {
  if (state_ == state::closing || state_ == state::draining || state_ == state::closed) return;
  if (state_ == state::handshake) {
    state_ = state::closed;
    if (!err_ && code != close_code::normal) err_ = error::closed;
    return;
  }
  state_ = state::closing;
  close_code_ = code;
  close_reason_ = std::string(reason.substr(0, max_reason_size));
  close_pending_ = true;
  close_deadline_ = now + rtt_.pto(ack_tracker::max_ack_delay) * 3;
}

void connection::fail(close_code code, std::error_code ec, std::string_view why, time_point now) {
  if (!err_) err_ = ec;
  close(code, why, now);
}

// ---- receiving ----

void connection::on_datagram(std::span<const std::uint8_t> packet, time_point now) {
  packet_type type{};
  if (peek_type(packet, type)) return;
  if (type != packet_type::data) {
    on_handshake_packet(packet, now);
    return;
  }
  std::uint32_t dst = 0;
  std::uint64_t pn = 0;
  std::span<const std::uint8_t> frames;
  if (decode_data_header(packet, dst, pn, frames) || dst != local_cid_) return;
  if (state_ == state::handshake || state_ == state::closed || state_ == state::draining) return;
  if (state_ == state::closing) {
    // The peer's own CLOSE: both ends are done, nothing to linger for.
    // Anything else: the peer keeps talking, it missed our CLOSE.
    frame f;
    for (auto rest = frames; !rest.empty() && !decode_frame(rest, f);) {
      if (f.type == frame_type::close && packet_intact(packet, frames)) {
        state_ = state::closed;
        return;
      }
    }
    close_pending_ = true;
    return;
  }
  if (!packet_intact(packet, frames)) {
    // Cut on the way (a proxy that relays only so many bytes) or garbled:
    // as if lost. Not acknowledged, so what it carried is sent again.
    ++stats_.packets_cut;
    return;
  }
  if (role_ == role::server && !confirmed_) {
    confirmed_ = true;
    accept_pending_ = false;
  }
  last_received_ = now;
  ++stats_.packets_received;
  stats_.bytes_received += packet.size();

  // A packet the network duplicated is only acknowledged again (soon, if it
  // asked for an ACK: ours may have been lost); its frames were applied the
  // first time. Rare, so its frames are decoded only to learn that.
  if (acks_.seen(pn)) {
    bool asks = false;
    frame d;
    for (auto rest = frames; !rest.empty() && !decode_frame(rest, d);)
      asks = asks || (d.type != frame_type::ack && d.type != frame_type::padding);
    (void)acks_.on_packet(pn, asks, now);
    ++stats_.duplicates;
    return;
  }
  bool eliciting = false;
  frame f;
  std::span<const std::uint8_t> rest = frames;
  while (!rest.empty()) {
    if (decode_frame(rest, f)) return;  // (packet_intact() checked it)
    if (f.type != frame_type::ack && f.type != frame_type::padding) eliciting = true;
    switch (f.type) {
      case frame_type::padding:
      case frame_type::ping:
      case frame_type::probe:
        break;
      case frame_type::ack:
        on_ack_frame(f.ack, now);
        if (state_ != state::established) return;
        break;
      case frame_type::stream:
      case frame_type::stream_fin:
        if (auto ec = recv_.on_frame(f.stream.offset, f.stream.data, f.stream.fin)) {
          if (ec == error::no_room) {  // as if lost: not acknowledged, sent again
            ++stats_.packets_no_room;
            return;
          }
          fail(close_code::protocol, ec, ec.message(), now);
          return;
        }
        break;
      case frame_type::max_data:
        peer_max_data_ = std::max(peer_max_data_, f.max_data);
        break;
      case frame_type::close:
        if (f.close.code == close_code::normal) {
          peer_closed_normally_ = true;
        } else if (!err_) {
          err_ = error::peer_closed;
          peer_reason_ = std::string(f.close.reason);
        }
        state_ = state::draining;
        close_pending_ = true;  // one CLOSE back, then silence
        close_code_ = close_code::normal;
        close_reason_.clear();
        close_deadline_ = now + rtt_.pto(ack_tracker::max_ack_delay) * 3;
        return;
    }
  }
  (void)acks_.on_packet(pn, eliciting, now);
}

void connection::on_handshake_packet(std::span<const std::uint8_t> packet, time_point now) {
  long_header h;
  handshake_body b;
  if (decode_handshake(packet, h, b)) return;
  if (role_ == role::server) {
    // A repeated INIT: our ACCEPT was lost.
    if (h.type == packet_type::init && !confirmed_ && state_ == state::established &&
        h.src_cid == peer_cid_)
      accept_pending_ = true;
    return;
  }
  if (state_ != state::handshake || h.dst_cid != local_cid_) return;
  switch (h.type) {
    case packet_type::retry:
      // One RETRY per connection: a second one (answering an INIT we
      // resent) would only restart the handshake.
      if (h.version != wire_version || retries_ >= max_retries) return;
      ++retries_;
      hs_.token = b.token;
      hs_.token_len = b.token_len;
      init_sent_ = 0;
      next_init_ = now;
      last_received_ = now;
      return;
    case packet_type::accept:
      if (h.version != wire_version) return;
      if (b.max_packet < min_packet_size) {
        state_ = state::closed;
        err_ = error::protocol_violation;
        return;
      }
      peer_cid_ = h.src_cid;
      max_packet_ = std::min<std::size_t>(max_packet_, b.max_packet);
      peer_max_data_ = b.max_data;
      state_ = state::established;
      last_received_ = now;
      last_eliciting_sent_ = now;
      if (init_sent_ == 1) {  // an unambiguous sample
        rtt_.on_sample(now - first_init_, duration::zero());
        cc_.on_initial_rtt(now - first_init_);
      }
      return;
    case packet_type::version:
      state_ = state::closed;
      err_ = error::version_mismatch;
      peer_version_ = b.peer_version;
      if (h.version != wire_version) peer_version_ = h.version;
      return;
    case packet_type::init:
    case packet_type::data:
      return;
  }
}

void connection::on_ack_frame(const ack_frame& f, time_point now) {
  const std::uint64_t largest = f.ranges[0].largest;
  if (largest >= next_pn_) {
    fail(close_code::protocol, error::protocol_violation, "ack for a packet never sent", now);
    return;
  }
  duration rtt_sample = duration::zero();
  bool newly = false;
  for (std::size_t i = 0; i < f.count; ++i) {
    const auto& r = f.ranges[i];
    auto it = std::lower_bound(sent_.begin(), sent_.end(), r.smallest,
                               [](const sent_packet& p, std::uint64_t pn) { return p.pn < pn; });
    for (; it != sent_.end() && it->pn <= r.largest; ++it) {
      if (it->st == sent_packet::status::acked) continue;
      if (it->pn == largest && it->st == sent_packet::status::in_flight)
        rtt_sample = now - it->time;
      on_packet_acked(*it, now);
      newly = true;
    }
  }
  if (!any_acked_ || largest > largest_acked_) {
    largest_acked_ = largest;
    any_acked_ = true;
  }
  if (!newly) return;
  if (rtt_sample > duration::zero()) {
    const duration delay = std::min(duration(f.delay_us), ack_tracker::max_ack_delay);
    rtt_.on_sample(rtt_sample, delay);
  }
  pto_count_ = 0;
  detect_lost(now);
  cc_.on_ack_done(now, bytes_in_flight_, rtt_sample);
  drop_resolved();
  tune_send_buffer();
}

// The send buffer holds what is in flight and what waits to go: below
// twice the congestion window the window would wait on the application's
// buffer, not on the path.
void connection::tune_send_buffer() {
  const std::uint64_t want = 2 * cc_.cwnd();
  if (want <= send_.capacity() || send_.capacity() >= cfg_.send_buffer_max) return;
  send_.grow(
      static_cast<std::size_t>(std::min<std::uint64_t>(std::bit_ceil(want), cfg_.send_buffer_max)));
}

// A quarter of the window used up within half a round trip: the window is
// below twice the bandwidth-delay product and would hold the peer back.
void connection::tune_window(time_point now) {
  if (last_grant_ != never && now - last_grant_ < rtt_.smoothed() / 2 &&
      recv_.window() < cfg_.recv_window_max)
    recv_.widen(std::min(recv_.window() * 2, cfg_.recv_window_max));
  last_grant_ = now;
}

void connection::on_packet_acked(sent_packet& p, time_point now) {
  if (p.mtu_probe && p.st == sent_packet::status::in_flight) {
    // The path carries this size: use it, and look between it and the
    // smallest size known too big.
    probe_in_flight_ = false;
    probe_losses_ = 0;
    max_packet_ = std::max<std::size_t>(max_packet_, p.bytes);
    cc_.set_mss(max_packet_);
    next_probe_size();
  }
  if (p.st == sent_packet::status::in_flight) {
    bytes_in_flight_ -= p.bytes;
    cc_.on_acked(p.rate, p.bytes, p.time, now);
  }
  if (p.has_stream) send_.on_acked(p.stream_offset, p.stream_len, p.fin);
  p.st = sent_packet::status::acked;
}

void connection::on_packet_lost(sent_packet& p) {
  p.st = sent_packet::status::lost;
  bytes_in_flight_ -= p.bytes;
  if (p.mtu_probe) {  // says nothing about congestion, carries nothing to resend
    on_mtu_probe_lost(p.bytes);
    return;
  }
  ++stats_.packets_lost;
  cc_.on_lost(p.bytes);
  if (p.has_stream) send_.on_lost(p.stream_offset, p.stream_len, p.fin);
  if (p.max_data) max_data_dirty_ = true;
}

void connection::on_mtu_probe_lost(std::size_t size) {
  probe_in_flight_ = false;
  if (++probe_losses_ < max_probe_losses) return;  // maybe just a lost packet: again
  probe_losses_ = 0;
  probe_hi_ = size - 1;
  next_probe_size();
}

void connection::next_probe_size() {
  if (probe_hi_ < max_packet_ + min_probe_step) {
    probe_hi_ = 0;  // close enough: done
    return;
  }
  probe_size_ = max_packet_ + (probe_hi_ - max_packet_ + 1) / 2;
}

void connection::detect_lost(time_point now) {
  loss_time_ = never;
  if (!any_acked_) return;
  const duration delay = rtt_.loss_delay();
  for (auto& p : sent_) {
    if (p.pn >= largest_acked_) break;
    if (p.st != sent_packet::status::in_flight) continue;
    if (largest_acked_ - p.pn >= packet_threshold || p.time + delay <= now)
      on_packet_lost(p);
    else
      loss_time_ = std::min(loss_time_, p.time + delay);
  }
}

void connection::drop_resolved() {
  while (!sent_.empty() && sent_.front().st != sent_packet::status::in_flight)
    sent_.pop_front();
}

// ---- timers ----

duration connection::keepalive() const {
  return std::clamp(cfg_.idle_timeout / 4, duration(50ms), duration(1s));
}

time_point connection::pto_time() const {
  if (bytes_in_flight_ == 0) return never;
  const int shift = std::min(pto_count_, max_pto_backoff);
  return last_eliciting_sent_ + rtt_.pto(ack_tracker::max_ack_delay) * (1 << shift);
}

time_point connection::next_timeout() const {
  if (state_ == state::closed) return never;
  time_point t = last_received_ + cfg_.idle_timeout;
  if (state_ == state::closing || state_ == state::draining) {
    t = std::min(t, close_deadline_);
    return close_pending_ ? time_point::min() : t;
  }
  if (state_ == state::handshake) return std::min(t, next_init_);
  if (accept_pending_) return time_point::min();
  // Until the client's first packet confirms the handshake, the server
  // sends nothing but ACCEPT (again when an INIT repeats): nothing else to
  // wake for, however much is queued.
  if (role_ == role::server && !confirmed_) return t;
  t = std::min(t, acks_.deadline());
  t = std::min(t, loss_time_ != never ? loss_time_ : pto_time());
  if (confirmed_ || role_ == role::client) t = std::min(t, last_eliciting_sent_ + keepalive());
  if (probes_ > 0 || ping_pending_) return time_point::min();
  if (has_eliciting_work() && bytes_in_flight_ + max_packet_ <= cc_.cwnd())
    t = std::min(
        t, time_point(static_cast<std::int64_t>(std::ceil(next_send_us_ - pacing_allowance_us()))));
  return t;
}

void connection::on_timeout(time_point now) {
  if (state_ == state::closed) return;
  if (now >= last_received_ + cfg_.idle_timeout) {
    const state was = state_;
    state_ = state::closed;
    if (!err_ && was == state::handshake) err_ = error::handshake_timeout;
    if (!err_ && was == state::established) err_ = error::peer_timeout;
    return;
  }
  if (state_ == state::closing || state_ == state::draining) {
    if (now >= close_deadline_) state_ = state::closed;
    return;
  }
  if (state_ == state::handshake) return;
  if (loss_time_ != never && now >= loss_time_) {
    detect_lost(now);
    drop_resolved();
  } else if (now >= pto_time()) {
    ++pto_count_;
    ++stats_.probes;
    probes_ = 2;
    // Send the oldest unacknowledged data again; it stays in flight.
    for (auto& p : sent_) {
      if (p.st == sent_packet::status::in_flight && p.has_stream) {
        send_.on_lost(p.stream_offset, p.stream_len, p.fin);
        break;
      }
    }
    last_eliciting_sent_ = now;  // restart the probe clock even if sending stalls
  }
  if ((confirmed_ || role_ == role::client) && now >= last_eliciting_sent_ + keepalive())
    ping_pending_ = true;
}

// ---- sending ----

std::size_t connection::poll_send(std::span<std::uint8_t> out, time_point now) {
  if (out.size() < max_packet_) return 0;
  if (state_ != state::established) out = out.first(max_packet_);
  switch (state_) {
    case state::closed:
      return 0;
    case state::closing:
    case state::draining:
      return close_pending_ ? send_close(out) : 0;
    case state::handshake:
      return send_handshake(out, now);
    case state::established:
      break;
  }
  if (role_ == role::server && !confirmed_) {
    if (!accept_pending_) return 0;
    accept_pending_ = false;
    long_header h{packet_type::accept, wire_version, peer_cid_, local_cid_};
    handshake_body b;
    b.max_packet = static_cast<std::uint16_t>(max_packet_);
    b.max_data = advertised_max_data_;
    return encode_handshake(h, b, out);
  }
  return send_data(out, now);
}

std::size_t connection::send_handshake(std::span<std::uint8_t> out, time_point now) {
  if (now < next_init_) return 0;
  long_header h{packet_type::init, wire_version, 0, local_cid_};
  hs_.max_packet = static_cast<std::uint16_t>(max_packet_);
  hs_.max_data = advertised_max_data_;
  const std::size_t n = encode_handshake(h, hs_, out, max_packet_);
  if (init_sent_ == 0) first_init_ = now;
  ++init_sent_;
  next_init_ = now + initial_init_timeout * (1 << std::min(init_sent_ - 1, 2));
  ++stats_.packets_sent;
  stats_.bytes_sent += n;
  return n;
}

std::size_t connection::send_close(std::span<std::uint8_t> out) {
  close_pending_ = false;
  // Draining (the peer closed first): this one CLOSE back is all we say.
  // Nothing is left to wait for: a late packet of this connection finds no
  // connection and is dropped, so the program need not linger (a sender
  // would otherwise end its session three PTOs late).
  if (state_ == state::draining) state_ = state::closed;
  cursor c(out);
  encode_data_header(peer_cid_, next_pn_++, c);
  encode_close(close_code_, close_reason_, c);
  ++stats_.packets_sent;
  stats_.bytes_sent += c.size();
  return c.size();
}

double connection::pacing_allowance_us() const {
  // A burst of up to 1 ms worth at the current rate (at least two packets,
  // at most 256 KiB) may leave at once: timers are not finer than that.
  const double rate = cc_.pacing_rate();
  const double quantum = std::clamp(rate / 1000.0, 2.0 * static_cast<double>(max_packet_),
                                    std::max(262144.0, 2.0 * static_cast<double>(max_packet_)));
  return quantum / rate * 1e6;
}

bool connection::has_eliciting_work() const {
  return max_data_dirty_ || send_.has_pending(peer_max_data_);
}

bool connection::may_send_eliciting(time_point now) const {
  if (probes_ > 0 || ping_pending_) return true;
  if (bytes_in_flight_ + max_packet_ > cc_.cwnd()) return false;
  return static_cast<double>(now.count()) + pacing_allowance_us() >= next_send_us_;
}

std::size_t connection::send_mtu_probe(std::span<std::uint8_t> out, time_point now) {
  sent_packet rec;
  rec.pn = next_pn_++;
  rec.mtu_probe = true;
  cursor c(out.first(probe_size_));
  encode_data_header(peer_cid_, rec.pn, c);
  // The receiver acknowledges it only if it arrives whole: a proxy that
  // cuts it short must not make the size look carried.
  encode_probe(static_cast<std::uint16_t>(probe_size_), c);
  c.zeros(c.room());  // PADDING to the size tried
  ++stats_.packets_sent;
  ++stats_.mtu_probes;
  stats_.bytes_sent += c.size();
  probe_in_flight_ = true;
  rec.bytes = static_cast<std::uint32_t>(c.size());
  record_sent(rec, now);
  return c.size();
}

std::size_t connection::send_data(std::span<std::uint8_t> out, time_point now) {
  // A path MTU probe goes while there is data to send (a larger packet
  // then pays off), one at a time, within a bounded number of tries.
  if (probe_hi_ != 0 && !probe_in_flight_ && stats_.mtu_probes < max_mtu_probes &&
      out.size() >= probe_size_ && send_.has_pending(peer_max_data_) && may_send_eliciting(now))
    return send_mtu_probe(out, now);
  if (out.size() > max_packet_) out = out.first(max_packet_);
  const bool ack_due = acks_.deadline() <= now;
  const bool may = may_send_eliciting(now);
  const bool work = has_eliciting_work() || ping_pending_ || probes_ > 0;
  if (!(may && work)) {
    // Idle with room to send: the rate samples that follow show what the
    // application gave, not what the path carries. Held back by the peer's
    // window or by our own full buffer is a limit of the transfer itself.
    if (may && !work && bytes_in_flight_ + max_packet_ <= cc_.cwnd() &&
        !send_.blocked_by(peer_max_data_) && send_.writable() > 0)
      cc_.on_app_limited(bytes_in_flight_);
    if (!ack_due) return 0;
  }
  cursor c(out);
  const std::uint64_t pn = next_pn_;
  encode_data_header(peer_cid_, pn, c);
  if (acks_.deadline() != never || ack_due) {
    ack_range ranges[max_ack_ranges + 1];
    const std::size_t n = acks_.ranges(ranges);
    if (n > 0 && encode_ack({ranges, n}, acks_.delay_us(now), c)) acks_.on_ack_sent();
  }
  sent_packet rec;
  rec.pn = pn;
  rec.time = now;
  bool eliciting = false;
  if (may && work) {
    if (max_data_dirty_) tune_window(now);
    if (max_data_dirty_ && encode_max_data(recv_.limit(), c)) {
      advertised_max_data_ = recv_.limit();
      max_data_dirty_ = false;
      rec.max_data = true;
      eliciting = true;
    }
    chunk ch;
    if (c.room() > stream_header_size &&
        send_.next(peer_max_data_, std::min<std::size_t>(c.room() - stream_header_size, 65535),
                   ch)) {
      encode_stream_header(ch.offset, static_cast<std::uint16_t>(ch.len), ch.fin, c);
      send_.copy(ch.offset, ch.len, c.here());
      c.advance(ch.len);
      rec.has_stream = true;
      rec.stream_offset = ch.offset;
      rec.stream_len = static_cast<std::uint16_t>(ch.len);
      rec.fin = ch.fin;
      if (ch.retransmit) stats_.bytes_retransmitted += ch.len;
      eliciting = true;
    }
    if (!eliciting && encode_ping(c)) eliciting = true;
  }
  if (c.size() == short_header_size) return 0;
  ++next_pn_;
  ++stats_.packets_sent;
  stats_.bytes_sent += c.size();
  if (!eliciting) return c.size();

  ping_pending_ = false;
  if (probes_ > 0) --probes_;
  rec.bytes = static_cast<std::uint32_t>(c.size());
  record_sent(rec, now);
  return c.size();
}

// An ack-eliciting packet left: in flight, on the probe clock, and paced.
void connection::record_sent(sent_packet& rec, time_point now) {
  rec.time = now;
  rec.rate = cc_.on_send(now, bytes_in_flight_);
  bytes_in_flight_ += rec.bytes;
  last_eliciting_sent_ = now;
  sent_.push_back(rec);
  // Pacing: the next packet may leave size/rate later, with a burst allowance.
  const double now_us = static_cast<double>(now.count());
  const double base = std::max(next_send_us_, now_us - pacing_allowance_us());
  next_send_us_ = base + static_cast<double>(rec.bytes) / cc_.pacing_rate() * 1e6;
}

}  // namespace ferry::rudp
