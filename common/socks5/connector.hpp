// The SOCKS5 client driver: connects to a proxy and performs the handshake
// from codec.hpp over it. It only moves bytes: each message in one write,
// the next only after its answer (some proxies drop pipelined messages),
// replies read exactly (never past their end), a deadline on every wait.
// Failures are ferry::failure at step::proxy, in the socks5 category
// (the proxy's REP when it refused), naming proxy and target.
#pragma once

#include <asio.hpp>
#include <chrono>
#include <string>

#include "socks5/codec.hpp"
#include "socks5/errors.hpp"
#include "socks5/proxy_url.hpp"
#include "util/failure.hpp"

namespace ferry::socks5 {

/// Connects through `proxy` to `dst` (host:port as the user gave it; with
/// socks5:// the host is resolved here, with socks5h:// by the proxy).
/// Returns a socket that now carries the stream to `dst`.
asio::awaitable<asio::ip::tcp::socket> connect_via(const proxy_config& proxy,
                                                   const net::host_port& dst,
                                                   std::chrono::milliseconds limit);

/// A BIND in progress: the socket to the proxy, and where the proxy listens
/// for the peer (first reply; 0.0.0.0 already replaced by the proxy's
/// address).
struct bind_ticket {
  asio::ip::tcp::socket socket;
  address listening;
};

/// Asks `proxy` to listen for one incoming connection (BIND). `expected`
/// is the peer we expect (0.0.0.0:0 when unknown).
asio::awaitable<bind_ticket> bind_via(const proxy_config& proxy, const address& expected,
                                      std::chrono::milliseconds limit);

/// A UDP association: the TCP control connection (the association lasts
/// as long as it stays open) and the relay to send wrapped datagrams to
/// (0.0.0.0 or :: already replaced by the proxy's address).
struct udp_association {
  asio::ip::tcp::socket control;
  asio::ip::udp::endpoint relay;
};

/// UDP ASSOCIATE: `from` is where our datagrams will come from (0.0.0.0:0
/// when not known yet). A REP != 0 is the failure's code (7: the proxy has
/// no UDP support, 2: not allowed by its rules).
asio::awaitable<udp_association> udp_associate_via(const proxy_config& proxy, const address& from,
                                                   std::chrono::milliseconds limit);

/// Waits, without a deadline, for the proxy's second BIND reply: a peer has
/// connected. Returns the peer's address; the socket then carries its stream.
asio::awaitable<address> await_bind_peer(bind_ticket& ticket, const proxy_config& proxy);

}  // namespace ferry::socks5
