#include "rudp/endpoint.hpp"

#include <asio/experimental/as_tuple.hpp>
#include <random>

#include "net/address.hpp"
#include "socks5/codec.hpp"

namespace ferry::rudp {
namespace {

constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);
constexpr std::size_t send_batch = 32;
constexpr std::size_t recv_batch = 32;
constexpr int recv_rounds = 8;  // batches per wake before others get a turn

std::chrono::steady_clock::time_point to_steady(time_point t) {
  return std::chrono::steady_clock::time_point(
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(t));
}

// The source as bytes for the retry token: address then port.
std::vector<std::uint8_t> source_bytes(const udp::endpoint& ep) {
  std::vector<std::uint8_t> out;
  if (ep.address().is_v4()) {
    const auto b = ep.address().to_v4().to_bytes();
    out.assign(b.begin(), b.end());
  } else {
    const auto b = ep.address().to_v6().to_bytes();
    out.assign(b.begin(), b.end());
  }
  out.push_back(static_cast<std::uint8_t>(ep.port() >> 8));
  out.push_back(static_cast<std::uint8_t>(ep.port()));
  return out;
}

std::string name_of(const udp::endpoint& ep) {
  return net::to_string(net::host_port{ep.address().to_string(), ep.port()});
}

}  // namespace

time_point clock_now() {
  return std::chrono::duration_cast<time_point>(
      std::chrono::steady_clock::now().time_since_epoch());
}

// ---- conn_driver ----

conn_driver::conn_driver(std::shared_ptr<endpoint> e, connection c, udp::endpoint p, std::string n)
    : conn(std::move(c)),
      peer(std::move(p)),
      name(std::move(n)),
      ep(std::move(e)),
      stride_(conn.packet_ceiling()),
      slots_(send_batch * stride_),
      lens_(send_batch),
      timer_(ep->executor()),
      read_ev_(ep->executor()),
      write_ev_(ep->executor()) {}

std::error_code conn_driver::failure() const {
  if (conn.error()) return conn.error();
  if (abort_ec_) return abort_ec_;
  if (conn.current() == connection::state::established) return {};
  if (conn.current() == connection::state::handshake) return {};
  return asio::error::operation_aborted;
}

void conn_driver::abort(std::error_code ec) {
  if (!abort_ec_) abort_ec_ = ec;
  conn.abort(ec);
  pump();
}

void conn_driver::wake() {
  if (read_waiting_) read_ev_.cancel();
  if (write_waiting_) write_ev_.cancel();
}

asio::awaitable<void> conn_driver::wait_read() {
  read_waiting_ = true;
  read_ev_.expires_at(std::chrono::steady_clock::time_point::max());
  co_await read_ev_.async_wait(use_tuple);
  read_waiting_ = false;
}

asio::awaitable<void> conn_driver::wait_write() {
  write_waiting_ = true;
  write_ev_.expires_at(std::chrono::steady_clock::time_point::max());
  co_await write_ev_.async_wait(use_tuple);
  write_waiting_ = false;
}

void conn_driver::pump() {
  const time_point now = clock_now();
  conn.on_timeout(now);
  const std::size_t mp = stride_;
  while (!blocked_ && ep->socket_.is_open()) {
    if (sent_ == staged_) {
      staged_ = sent_ = 0;
      while (staged_ < send_batch) {
        const std::size_t n = conn.poll_send({slots_.data() + staged_ * mp, mp}, now);
        if (n == 0) break;
        lens_[staged_++] = n;
      }
      if (staged_ == 0) break;
    }
    datagram_io::outgoing out[send_batch];
    const std::size_t count = staged_ - sent_;
    for (std::size_t i = 0; i < count; ++i)
      out[i] = {ep->header_, {slots_.data() + (sent_ + i) * mp, lens_[sent_ + i]}};
    std::error_code ec;
    const std::size_t n = datagram_io::send(ep->socket_, peer, ep->connected_, {out, count}, ec);
    sent_ += n;
    if (ec) {
      // On a connected socket an ICMP "port unreachable" for an earlier
      // datagram comes back here: nothing listens on the peer's UDP port.
      if (ec == std::errc::connection_refused && ep->connected_) {
        abort_ec_ = ec;
        conn.abort(ec);
        break;
      }
      ++sent_;  // drop the datagram the kernel would not take; loss recovery resends
    } else if (sent_ < staged_) {
      blocked_ = true;
      ep->wait_writable(shared_from_this());
    }
  }
  arm(conn.next_timeout(), now);
  wake();
  if (conn.closed()) ep->remove(conn.local_cid());
}

void conn_driver::arm(time_point deadline, time_point now) {
  if (deadline == never) return;
  if (deadline < now) deadline = now;
  if (timer_armed_ && deadline >= armed_at_) return;  // an earlier wake is set
  timer_armed_ = true;
  armed_at_ = deadline;
  timer_.expires_at(to_steady(deadline));
  timer_.async_wait([w = weak_from_this()](const std::error_code& ec) {
    if (ec) return;
    auto self = w.lock();
    if (!self) return;
    self->timer_armed_ = false;
    self->pump();
  });
}

// ---- endpoint ----

endpoint::endpoint(udp::socket socket, std::size_t max_datagram)
    : socket_(std::move(socket)), io_(socket_, recv_batch, max_datagram) {
  std::error_code ec;
  socket_.non_blocking(true, ec);
  std::random_device rd;
  cid_state_ = (std::uint64_t{rd()} << 32) | rd();
}

void endpoint::listen(const config& cfg, accept_handler on_accept, std::size_t max_connections) {
  listener_.emplace();
  server_cfg_ = cfg;
  on_accept_ = std::move(on_accept);
  max_connections_ = max_connections;
  accepting_ = true;
}

void endpoint::set_relay(udp::endpoint relay, framing::byte_buffer header) {
  relay_ = relay;
  header_ = std::move(header);
}

void endpoint::start() {
  wait_readable();
}

void endpoint::close() {
  accepting_ = false;
  std::error_code ignored;
  socket_.close(ignored);
  auto conns = conns_;
  for (auto& [cid, d] : conns)
    d->abort(asio::error::operation_aborted);
  conns_.clear();
  by_peer_.clear();
}

std::uint32_t endpoint::new_cid() {
  while (true) {
    // splitmix64 over a random seed: ids an off-path attacker cannot guess
    // cheaply, and no two alike on this endpoint.
    std::uint64_t z = (cid_state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    const auto cid = static_cast<std::uint32_t>(z ^ (z >> 31));
    if (cid != 0 && !conns_.contains(cid)) return cid;
  }
}

void endpoint::add(const std::shared_ptr<conn_driver>& d) {
  conns_[d->conn.local_cid()] = d;
}

void endpoint::remove(std::uint32_t cid) {
  auto it = conns_.find(cid);
  if (it == conns_.end()) return;
  for (auto p = by_peer_.begin(); p != by_peer_.end();) {
    if (p->second == cid)
      p = by_peer_.erase(p);
    else
      ++p;
  }
  conns_.erase(it);
  if (conns_.empty() && close_when_empty_) {
    std::error_code ignored;
    socket_.close(ignored);
  }
}

void endpoint::wait_writable(const std::shared_ptr<conn_driver>& d) {
  blocked_.push_back(d);
  if (write_waiting_) return;
  write_waiting_ = true;
  socket_.async_wait(udp::socket::wait_write, [self = shared_from_this()](std::error_code ec) {
    self->write_waiting_ = false;
    auto blocked = std::move(self->blocked_);
    self->blocked_.clear();
    for (auto& w : blocked) {
      if (auto drv = w.lock()) {
        drv->blocked_ = false;
        if (!ec) drv->pump();
      }
    }
  });
}

void endpoint::wait_readable() {
  socket_.async_wait(udp::socket::wait_read, [self = shared_from_this()](std::error_code ec) {
    if (ec || !self->socket_.is_open()) return;
    self->on_readable();
  });
}

void endpoint::on_readable() {
  for (int round = 0; round < recv_rounds; ++round) {
    std::error_code ec;
    const std::size_t n = io_.receive(socket_, batch_, ec);
    if (ec) {
      if (ec == std::errc::connection_refused && connected_) {
        auto conns = conns_;
        for (auto& [cid, d] : conns)
          d->abort(ec);
        return;
      }
      continue;  // other errors belong to one datagram; go on
    }
    if (n == 0) break;
    const time_point now = clock_now();
    for (const auto& d : batch_)
      dispatch(d, now);
  }
  auto touched = std::move(touched_);
  touched_.clear();
  for (auto& d : touched)
    d->pump();
  if (socket_.is_open()) wait_readable();
}

void endpoint::dispatch(const datagram_io::received& d, time_point now) {
  std::span<const std::uint8_t> data = d.data;
  if (relay_) {
    if (d.from != *relay_) return;
    socks5::udp_header h;
    if (socks5::decode_udp_header(data, h) || h.frag != 0) return;
    data = data.subspan(h.length);
  }
  packet_type type{};
  if (peek_type(data, type)) return;
  if (type == packet_type::init) {
    on_init(data, d.from, now);
    return;
  }
  std::uint32_t cid = 0;
  if (peek_dst_cid(data, cid)) return;
  auto it = conns_.find(cid);
  if (it == conns_.end()) return;
  auto& drv = it->second;
  // Only the peer may speak for a connection (the relay, through a proxy).
  if (d.from != drv->peer) return;
  drv->conn.on_datagram(data, now);
  if (std::find(touched_.begin(), touched_.end(), drv) == touched_.end()) touched_.push_back(drv);
}

void endpoint::on_init(std::span<const std::uint8_t> data, const udp::endpoint& from,
                       time_point now) {
  if (!listener_) return;
  long_header h;
  handshake_body b;
  if (decode_handshake(data, h, b)) return;
  // A repeated INIT of a connection we have: its ACCEPT was lost.
  if (auto it = by_peer_.find({from, h.src_cid}); it != by_peer_.end()) {
    auto c = conns_.find(it->second);
    if (c != conns_.end()) {
      c->second->conn.on_datagram(data, now);
      touched_.push_back(c->second);
    }
    return;
  }
  if (!accepting_) return;
  std::uint8_t reply[64];
  const auto src = source_bytes(from);
  const auto r = listener_->on_init(data, src, now, reply);
  if (r.v == listener::verdict::reply) {
    datagram_io::outgoing out{{}, {reply, r.reply_size}};
    std::error_code ignored;
    datagram_io::send(socket_, from, false, {&out, 1}, ignored);  // best effort
    return;
  }
  if (r.v != listener::verdict::accept || conns_.size() >= max_connections_) return;
  auto drv = std::make_shared<conn_driver>(
      shared_from_this(), connection(server_cfg_, new_cid(), r.peer_cid, r.init, now), from,
      name_of(from));
  add(drv);
  by_peer_[{from, r.peer_cid}] = drv->conn.local_cid();
  touched_.push_back(drv);
  on_accept_(std::make_unique<stream>(drv));
}

// ---- stream ----

stream::stream(std::shared_ptr<conn_driver> d) : d_(std::move(d)) {}

std::optional<net::transport_stats> stream::statistics() const {
  const stats s = d_->conn.statistics();
  net::transport_stats out;
  out.packets_sent = s.packets_sent;
  out.packets_lost = s.packets_lost;
  out.duplicates = s.duplicates;
  out.bytes_retransmitted = s.bytes_retransmitted;
  out.mtu_probes = s.mtu_probes;
  out.packet_size = s.packet_size;
  out.srtt = s.srtt;
  out.min_rtt = s.min_rtt;
  return out;
}

stream::~stream() {
  close();
}

void stream::hold(asio::ip::tcp::socket control) {
  control_.emplace(std::move(control));
  // The proxy closing the control connection ends the association: fail
  // the transfer then, rather than wait for the idle timeout. (Nothing is
  // expected on it; any byte also ends the watch, never a second read.)
  auto buf = std::make_shared<std::array<std::uint8_t, 64>>();
  control_->async_read_some(asio::buffer(*buf), [w = std::weak_ptr<conn_driver>(d_), buf](
                                                    const std::error_code& ec, std::size_t) {
    if (!ec || ec == asio::error::operation_aborted) return;
    auto d = w.lock();
    if (d && !d->conn.closed()) d->abort(error::proxy_closed);
  });
}

asio::awaitable<void> stream::wait_readable() {
  auto& c = d_->conn;
  while (c.readable() == 0 && !c.eof() && !d_->failure())
    co_await d_->wait_read();
}

// Why nothing can be read (readable() is 0 after wait_readable()).
net::io_result stream::unreadable() const {
  if (d_->conn.eof()) return net::io_result{asio::error::eof, 0};
  return net::io_result{d_->failure(), 0};
}

asio::awaitable<net::io_result> stream::read_some(std::span<std::uint8_t> out) {
  co_await wait_readable();
  if (d_->conn.readable() == 0) co_return unreadable();
  const std::size_t n = d_->conn.read(out);
  d_->pump();  // may grant the peer more window
  co_return net::io_result{{}, n};
}

asio::awaitable<net::io_result> stream::read_lent(std::size_t max,
                                                  std::span<const std::uint8_t>& out) {
  co_await wait_readable();
  if (d_->conn.readable() == 0) co_return unreadable();
  // The ring is written only when a datagram is fed in, which takes this
  // thread: the bytes stay put until our caller suspends.
  out = d_->conn.peek(max);
  d_->conn.consume(out.size());
  d_->pump();
  co_return net::io_result{{}, out.size()};
}

asio::awaitable<net::io_result> stream::write_some(std::span<const std::uint8_t> a,
                                                   std::span<const std::uint8_t> b) {
  auto& c = d_->conn;
  while (true) {
    if (auto ec = d_->failure()) co_return net::io_result{ec, 0};
    if (c.writable() > 0) {
      std::size_t n = c.write(a);
      if (n == a.size()) n += c.write(b);
      d_->pump();
      co_return net::io_result{{}, n};
    }
    co_await d_->wait_write();
  }
}

asio::awaitable<void> stream::finish(std::chrono::milliseconds limit) {
  auto& c = d_->conn;
  c.finish();
  d_->pump();
  // Wait until the peer acknowledged everything (our FIN included), so
  // that our last frame cannot be lost to the close.
  asio::steady_timer deadline(d_->ep->executor());
  deadline.expires_after(limit);
  bool expired = false;
  deadline.async_wait([w = std::weak_ptr<conn_driver>(d_), &expired](const std::error_code& ec) {
    if (ec) return;
    expired = true;
    if (auto d = w.lock()) d->wake();
  });
  while (!c.all_acked() && !d_->failure() && !expired)
    co_await d_->wait_write();
  deadline.cancel();
  if (!d_->failure()) {
    c.close(close_code::normal, "", clock_now());
    d_->pump();
  }
}

void stream::shutdown_send() {
  d_->conn.finish();
  d_->pump();
}

void stream::close() {
  if (d_->conn.current() == connection::state::established ||
      d_->conn.current() == connection::state::handshake) {
    d_->conn.close(close_code::internal, "session aborted", clock_now());
    d_->pump();
  }
  d_->wake();
  if (control_) {
    std::error_code ignored;
    control_->close(ignored);
  }
}

}  // namespace ferry::rudp
