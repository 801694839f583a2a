// UDP mode's half of dial(): a UDP socket to the receiver, or a SOCKS5 UDP
// association to it, then the transport's handshake within what is left
// of the connect timeout.
#pragma once

#include <asio.hpp>
#include <memory>

#include "link/dial.hpp"
#include "net/transport.hpp"

namespace ferry::link {

/// Throws ferry::failure: std::errc::connection_refused when the
/// receiver's host refuses UDP, rudp::error::handshake_timeout when nothing
/// answers in time, rudp::error::version_mismatch for another transport
/// version, socks5 codes (the proxy's REP) at step::proxy.
asio::awaitable<std::unique_ptr<net::transport>> dial_udp(const dial_plan& plan);

}  // namespace ferry::link
