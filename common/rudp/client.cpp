#include "rudp/client.hpp"

#include <asio/experimental/as_tuple.hpp>

#include <algorithm>

#include "socks5/codec.hpp"
#include "socks5/connector.hpp"
#include "util/session_error.hpp"
#include "util/units.hpp"

namespace ferry::rudp {
namespace {

constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);
constexpr int socket_buffer = 8 << 20;

std::string seconds_text(std::chrono::milliseconds d) {
  return format_duration(std::chrono::duration<double>(d).count());
}

}  // namespace

asio::awaitable<std::unique_ptr<stream>> connect(const net::host_port& dest, const config& cfg,
                                                 std::chrono::milliseconds limit,
                                                 const socks5::proxy_config* proxy) {
  const auto ex = co_await asio::this_coro::executor;
  const std::string where = "udp connect to " + net::to_string(dest) +
                            (proxy ? " via " + proxy->display() : std::string());
  const auto started = std::chrono::steady_clock::now();

  std::optional<socks5::udp_association> assoc;
  udp::endpoint peer;
  framing::byte_buffer header;
  std::optional<udp::socket> sock;
  if (proxy) {
    // The datagram header names the destination: a name with socks5h://,
    // an address we resolved with socks5://.
    socks5::address target{dest.host, dest.port};
    if (!proxy->remote_dns) {
      udp::resolver resolver(ex);
      const std::string service = std::to_string(dest.port);
      auto [ec, eps] = co_await resolver.async_resolve(dest.host, service, use_tuple);
      if (ec || eps.empty())
        throw session_error(exit_code::proxy, where + ": cannot resolve " + dest.host +
                                                  " locally: " + ec.message() +
                                                  " (socks5h:// lets the proxy resolve it)");
      target.host = eps.begin()->endpoint().address().to_string();
    }
    if (socks5::encode_udp_header(target, header))
      throw session_error(exit_code::usage, where + ": destination name is over 255 bytes");
    const socks5::address unknown{"0.0.0.0", 0};
    assoc.emplace(co_await socks5::udp_associate_via(*proxy, unknown, limit));
    peer = assoc->relay;
    // Send from the address the proxy saw our control connection come from.
    std::error_code ec;
    const auto local = assoc->control.local_endpoint(ec);
    sock.emplace(ex);
    sock->open(peer.protocol(), ec);
    if (!ec && local.address().is_v4() == peer.address().is_v4())
      sock->bind(udp::endpoint(local.address(), 0), ec);
    if (ec)
      throw session_error(exit_code::proxy, where + ": cannot open a UDP socket: " + ec.message());
  } else {
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
      throw session_error(exit_code::timeout, where + ": name resolution timed out");
    if (ec || eps.empty())
      throw session_error(exit_code::connect, where + ": cannot resolve host: " + ec.message());
    peer = eps.begin()->endpoint();
    sock.emplace(ex);
    sock->open(peer.protocol(), ec);
    // A connected socket hears the ICMP "port unreachable" of a host where
    // nothing listens on UDP, so that fails at once instead of timing out.
    if (!ec) sock->connect(peer, ec);
    if (ec) throw session_error(exit_code::connect, where + ": " + ec.message());
  }
  size_buffers(*sock, socket_buffer);

  // Packet sizes count without the SOCKS5 header the datagram carries.
  config c = cfg;
  c.max_packet = std::max(cfg.max_packet, header.size() + min_packet_size) - header.size();
  if (cfg.probe_max != 0) {
    // Larger packets are tried up to what the route takes (through a proxy,
    // the route to it; the probes tell what gets through beyond), never
    // fragmented: a fragment lost loses the whole datagram.
    const std::size_t route = std::min(route_payload_limit(peer), cfg.probe_max);
    c.probe_max = route > header.size() ? route - header.size() : 0;
    never_fragment(*sock);
  }
  auto ep = std::make_shared<endpoint>(std::move(*sock), max_packet_size + 300);
  if (proxy)
    ep->set_relay(peer, header);
  else
    ep->set_connected();
  ep->close_when_empty();
  ep->start();
  std::string name = net::to_string(dest);
  auto drv =
      std::make_shared<conn_driver>(ep, connection(c, ep->new_cid(), clock_now()), peer, name);
  ep->add(drv);
  auto s = std::make_unique<stream>(drv);

  // Handshake, within what is left of the limit.
  const auto left = limit - std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::steady_clock::now() - started);
  asio::steady_timer deadline(ex);
  deadline.expires_after(std::max(left, std::chrono::milliseconds(1)));
  bool expired = false;
  deadline.async_wait([w = std::weak_ptr<conn_driver>(drv), &expired](const std::error_code& e) {
    if (e) return;
    expired = true;
    if (auto d = w.lock()) d->wake();
  });
  drv->pump();
  while (drv->conn.current() == connection::state::handshake && !drv->failure() && !expired)
    co_await drv->wait_write();
  deadline.cancel();

  if (drv->conn.established()) {
    if (assoc) {
      // The association lives as long as its TCP connection: when the
      // proxy drops it, the transfer cannot go on.
      s->hold(std::move(assoc->control));
    }
    co_return s;
  }
  const auto ec = drv->failure();
  if (ec == error::version_mismatch)
    throw session_error(exit_code::protocol, where + ": receiver speaks UDP transport version " +
                                                 std::to_string(drv->conn.peer_version()) +
                                                 ", we speak " + std::to_string(wire_version));
  if (ec == std::errc::connection_refused)
    throw session_error(exit_code::connect,
                        where + ": connection refused (nothing listens on UDP port " +
                            std::to_string(dest.port) + ")");
  if (expired || ec == error::handshake_timeout)
    throw session_error(exit_code::timeout,
                        where + ": no answer within " + seconds_text(limit) +
                            (proxy ? " (the proxy may not relay UDP to it)"
                                   : " (is ferry-recv running? is UDP blocked?)"));
  throw session_error(exit_code::connect, where + ": " + ec.message());
}

}  // namespace ferry::rudp
