// The sender's one door to its transports: a plain description of where
// and how to connect in, a connected net::transport out. TCP, or UDP mode;
// directly, or through a SOCKS5 proxy (CONNECT, or UDP ASSOCIATE, with TCP
// as the fallback when the proxy has no UDP). Whatever wraps a transport
// (the secure channel) wraps what dial() returns.
#pragma once

#include <asio.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "link/proxy.hpp"
#include "net/address.hpp"
#include "net/transport.hpp"

namespace ferry::link {

struct dial_plan {
  net::host_port dest;
  std::optional<proxy> via;  // none: connect directly
  /// Everything up to a connected transport (resolving, the proxy's
  /// handshake, UDP mode's own handshake) happens within this.
  std::chrono::milliseconds connect_timeout{10000};
  /// The session's idle timeout; UDP mode declares a silent peer dead
  /// within half of it (1 to 10 s).
  std::chrono::milliseconds idle_timeout{30000};

  bool udp = false;
  /// UDP mode through a proxy that has no UDP (REP 7 or 2): fail instead
  /// of falling back to TCP.
  bool udp_strict = false;
  /// UDP mode's datagram size; 0: start at 1200 bytes and probe the path.
  std::size_t udp_packet = 0;
  /// UDP mode's pacing cap in bytes per second; 0: none.
  std::uint64_t rate_cap = 0;
  /// TCP's congestion control (TCP_CONGESTION); empty: the system's.
  std::string tcp_congestion;
};

struct dialed {
  std::unique_ptr<net::transport> transport;
  /// Set when the plan was bent (UDP mode fell back to TCP): say it.
  std::string notice;
};

/// Connects as `plan` says. Throws ferry::failure when it cannot.
asio::awaitable<dialed> dial(const dial_plan& plan);

}  // namespace ferry::link
