#include "rudp/endpoint.hpp"

#include <random>

#include "net/transport.hpp"
#include "socks5/codec.hpp"

namespace ferry::rudp {
namespace {

constexpr std::size_t recv_batch = 32;
constexpr int recv_rounds = 8;  // batches per wake before others get a turn
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

}  // namespace

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
      net::to_string(from));
  add(drv);
  by_peer_[{from, r.peer_cid}] = drv->conn.local_cid();
  touched_.push_back(drv);
  on_accept_(drv);
}

}  // namespace ferry::rudp
