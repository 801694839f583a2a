#include "link/udp_dial.hpp"

#include <asio/experimental/as_tuple.hpp>

#include <algorithm>
#include <optional>

#include "net/errors.hpp"
#include "rudp/stream.hpp"
#include "socks5/codec.hpp"
#include "socks5/connector.hpp"
#include "socks5/errors.hpp"
#include "util/failure.hpp"
#include "util/units.hpp"

namespace ferry::link {
namespace {

using rudp::udp;
using clock = std::chrono::steady_clock;
constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);
constexpr int socket_buffer = 8 << 20;

// Where datagrams go: the receiver itself, or the proxy's relay behind a
// SOCKS5 UDP header naming the receiver.
struct route {
  std::optional<udp::socket> socket;
  udp::endpoint peer;
  framing::byte_buffer header;                   // empty when direct
  std::optional<socks5::udp_association> assoc;  // its control connection
};

rudp::config transport_config(const dial_plan& plan) {
  rudp::config cfg;
  if (plan.udp_packet == 0) {  // auto: the safe size first, then what the path shows it carries
    cfg.max_packet = 1200;
    cfg.probe_max = rudp::max_packet_size;
  } else {
    cfg.max_packet = plan.udp_packet;
  }
  cfg.rate_cap = plan.rate_cap;
  cfg.idle_timeout = rudp::idle_timeout_for(plan.idle_timeout);
  return cfg;
}

asio::awaitable<route> open_direct(const net::host_port& dest, std::chrono::milliseconds limit,
                                   const std::string& where) {
  const auto ex = co_await asio::this_coro::executor;
  udp::resolver resolver(ex);
  asio::steady_timer t(ex);
  t.expires_after(limit);
  t.async_wait([&resolver](const std::error_code& e) {
    if (!e) resolver.cancel();
  });
  const std::string service = std::to_string(dest.port);
  auto [ec, eps] = co_await resolver.async_resolve(dest.host, service, use_tuple);
  t.cancel();
  if (ec == asio::error::operation_aborted)
    throw failure(net::errc::timed_out, step::resolve, where + ": name resolution timed out");
  if (ec || eps.empty())
    throw failure(ec ? ec : asio::error::host_not_found, step::resolve,
                  where + ": cannot resolve host: " + ec.message());
  route r;
  r.peer = eps.begin()->endpoint();
  r.socket.emplace(ex);
  r.socket->open(r.peer.protocol(), ec);
  // A connected socket hears the ICMP "port unreachable" of a host where
  // nothing listens on UDP, so that fails at once instead of timing out.
  if (!ec) r.socket->connect(r.peer, ec);
  if (ec) throw failure(ec, step::connect, where + ": " + ec.message());
  co_return r;
}

asio::awaitable<route> open_via(const net::host_port& dest, const proxy& via,
                                std::chrono::milliseconds limit, const std::string& where) {
  const auto ex = co_await asio::this_coro::executor;
  // The datagram header names the destination: a name with socks5h://,
  // an address we resolved with socks5://.
  socks5::address target{dest.host, dest.port};
  if (!via.remote_dns) {
    udp::resolver resolver(ex);
    const std::string service = std::to_string(dest.port);
    auto [ec, eps] = co_await resolver.async_resolve(dest.host, service, use_tuple);
    if (ec || eps.empty())
      throw failure(socks5::errc::local_resolve_failed, step::proxy,
                    where + ": cannot resolve " + dest.host + " locally: " + ec.message() +
                        " (socks5h:// lets the proxy resolve it)");
    target.host = eps.begin()->endpoint().address().to_string();
  }
  route r;
  if (socks5::encode_udp_header(target, r.header))
    throw failure(socks5::errc::too_long, step::configure,
                  where + ": destination name is over 255 bytes");
  const socks5::address unknown{"0.0.0.0", 0};
  r.assoc.emplace(co_await socks5::udp_associate_via(via, unknown, limit));
  r.peer = r.assoc->relay;
  // Send from the address the proxy saw our control connection come from.
  std::error_code ec;
  const auto local = r.assoc->control.local_endpoint(ec);
  r.socket.emplace(ex);
  r.socket->open(r.peer.protocol(), ec);
  if (!ec && local.address().is_v4() == r.peer.address().is_v4())
    r.socket->bind(udp::endpoint(local.address(), 0), ec);
  if (ec) throw failure(ec, step::proxy, where + ": cannot open a UDP socket: " + ec.message());
  co_return r;
}

// Packet sizes count without the SOCKS5 header the datagram carries.
rudp::config fit_to_route(rudp::config c, route& r) {
  const auto h = r.header.size();
  c.max_packet = std::max(c.max_packet, h + rudp::min_packet_size) - h;
  if (c.probe_max != 0) {
    // Larger packets are tried up to what the route takes (through a proxy,
    // the route to it; the probes tell what gets through beyond), never
    // fragmented: a fragment lost loses the whole datagram.
    const std::size_t limit = std::min(rudp::route_payload_limit(r.peer), c.probe_max);
    c.probe_max = limit > h ? limit - h : 0;
    rudp::never_fragment(*r.socket);
  }
  return c;
}

// Runs the handshake until established, failed or `left` has passed;
// returns whether the time ran out.
asio::awaitable<bool> handshake(const std::shared_ptr<rudp::conn_driver>& drv,
                                std::chrono::milliseconds left) {
  const auto ex = co_await asio::this_coro::executor;
  asio::steady_timer deadline(ex);
  deadline.expires_after(std::max(left, std::chrono::milliseconds(1)));
  bool expired = false;
  deadline.async_wait(
      [w = std::weak_ptr<rudp::conn_driver>(drv), &expired](const std::error_code& e) {
        if (e) return;
        expired = true;
        if (auto d = w.lock()) d->wake();
      });
  drv->pump();
  while (drv->conn.current() == rudp::connection::state::handshake && !drv->failure() && !expired)
    co_await drv->wait_write();
  deadline.cancel();
  co_return expired;
}

[[noreturn]] void explain(const rudp::conn_driver& drv, bool expired, const dial_plan& plan,
                          const std::string& where) {
  const auto ec = drv.failure();
  if (ec == rudp::error::version_mismatch)
    throw failure(ec, step::handshake,
                  where + ": receiver speaks UDP transport version " +
                      std::to_string(drv.conn.peer_version()) + ", we speak " +
                      std::to_string(rudp::wire_version));
  // (The core reports it in the system category; TCP's dial, in Asio's.)
  if (ec == std::errc::connection_refused)
    throw failure(asio::error::connection_refused, step::connect,
                  where + ": connection refused (nothing listens on UDP port " +
                      std::to_string(plan.dest.port) + ")");
  if (expired || ec == rudp::error::handshake_timeout)
    throw failure(rudp::error::handshake_timeout, step::handshake,
                  where + ": no answer within " +
                      format_duration(std::chrono::duration<double>(plan.connect_timeout).count()) +
                      (plan.via ? " (the proxy may not relay UDP to it)"
                                : " (is ferry-recv running? is UDP blocked?)"));
  throw failure(ec, step::handshake, where + ": " + ec.message());
}

}  // namespace

asio::awaitable<std::unique_ptr<net::transport>> dial_udp(const dial_plan& plan) {
  const auto started = clock::now();
  const std::string where = "udp connect to " + net::to_string(plan.dest) +
                            (plan.via ? " via " + plan.via->display() : std::string());
  // (No co_await inside a conditional expression: GCC 12 miscompiles it.)
  route r;
  if (plan.via)
    r = co_await open_via(plan.dest, *plan.via, plan.connect_timeout, where);
  else
    r = co_await open_direct(plan.dest, plan.connect_timeout, where);
  rudp::size_buffers(*r.socket, socket_buffer);
  const rudp::config cfg = fit_to_route(transport_config(plan), r);

  auto ep = std::make_shared<rudp::endpoint>(std::move(*r.socket), rudp::max_packet_size + 300);
  if (plan.via)
    ep->set_relay(r.peer, r.header);
  else
    ep->set_connected();
  ep->close_when_empty();
  ep->start();
  auto drv = std::make_shared<rudp::conn_driver>(
      ep, rudp::connection(cfg, ep->new_cid(), rudp::clock_now()), r.peer,
      net::to_string(plan.dest));
  ep->add(drv);
  auto s = std::make_unique<rudp::stream>(drv);
  // The association lives as long as its TCP connection: when the proxy
  // drops it, during the handshake or the transfer, the stream fails at once.
  if (r.assoc) s->hold(std::move(r.assoc->control));

  const auto left = plan.connect_timeout -
                    std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - started);
  const bool expired = co_await handshake(drv, left);
  if (!drv->conn.established()) explain(*drv, expired, plan, where);
  std::unique_ptr<net::transport> t = std::move(s);
  co_return t;
}

}  // namespace ferry::link
