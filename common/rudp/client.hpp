// Opening a UDP-mode connection from the sender: resolve, open a socket
// (or a SOCKS5 UDP association), handshake within a deadline. Failures are
// session_error with the exit code of their kind.
#pragma once

#include <asio.hpp>
#include <chrono>
#include <memory>

#include "net/address.hpp"
#include "rudp/endpoint.hpp"
#include "socks5/proxy_url.hpp"

namespace ferry::rudp {

/// Connects to `dest` directly (proxy null) or through `proxy`'s UDP
/// ASSOCIATE, whose control connection the returned stream keeps open.
/// Throws session_error: exit 3 when the receiver's host refuses UDP,
/// 8 when nothing answers within `limit`, 5 for another transport version,
/// 4 for proxy failures (socks5::refused when the proxy answers REP != 0).
asio::awaitable<std::unique_ptr<stream>> connect(const net::host_port& dest, const config& cfg,
                                                 std::chrono::milliseconds limit,
                                                 const socks5::proxy_config* proxy);

}  // namespace ferry::rudp
