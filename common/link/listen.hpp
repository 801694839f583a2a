// The receiver's one door: TCP and UDP mode on one port (one UDP socket per
// io_context, SO_REUSEPORT), or a SOCKS5 proxy's BIND, asked again after
// each sender. Every accepted transport, however it came, goes to one
// serve function; whatever wraps a transport (the secure channel) wraps it
// there.
#pragma once

#include <asio.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "link/proxy.hpp"
#include "net/address.hpp"
#include "net/transport.hpp"
#include "util/failure.hpp"

namespace ferry::rudp {
class endpoint;
}

namespace ferry::link {

struct listen_plan {
  net::host_port address;                            // host empty: every address, IPv6 and IPv4
  bool udp = true;                                   // UDP mode on the TCP port too
  std::optional<proxy> via_bind;                     // receive through this proxy's BIND instead
  bool once = false;                                 // stop accepting after the first sender
  std::chrono::milliseconds connect_timeout{10000};  // each BIND request
  std::chrono::milliseconds idle_timeout{30000};     // the sessions' (UDP mode derives its own)
  std::size_t max_udp_connections = 0;
  /// UDP mode's reorder rings, all connections together, grow into this.
  std::size_t udp_reorder_bytes = 64 << 20;
};

/// Where senders reach the receiver now.
struct listening {
  std::string host;
  std::uint16_t port = 0;
  bool udp = false;
  std::string via;  // the proxy (BIND), without credentials; empty when direct
};

class listener {
 public:
  struct hooks {
    /// Each accepted transport, with its peer's name when the transport's
    /// own (remote()) would name the proxy instead.
    std::function<void(std::unique_ptr<net::transport>, std::string peer)> serve;
    std::function<void(const listening&)> on_listening;
    /// Something went wrong and the listener goes on (accept failed, a
    /// BIND ended without a sender).
    std::function<void(const std::string&)> on_warning;
    /// The listener cannot go on (the proxy no longer binds for us).
    std::function<void(const failure&)> on_failed;
  };

  /// Accepts on `strand` (BIND too); sessions go round robin to `pool`.
  listener(std::vector<std::unique_ptr<asio::io_context>>& pool,
           asio::strand<asio::io_context::executor_type> strand, listen_plan plan, hooks h);
  ~listener();

  /// Binds and starts accepting (or asks the proxy to BIND). Throws
  /// ferry::failure (step::listen) when the address cannot be bound.
  void start();
  /// On the strand: no new senders; transports already handed over go on.
  void stop_accepting();
  /// On the strand: stop_accepting(), and the UDP sockets close once
  /// their connections have ended.
  void close();

 private:
  asio::awaitable<void> accept_loop();
  asio::awaitable<void> bind_loop();
  void listen_udp(const asio::ip::tcp::endpoint& bound);
  void stop_udp(bool close);

  std::vector<std::unique_ptr<asio::io_context>>& pool_;
  asio::strand<asio::io_context::executor_type> strand_;
  const listen_plan plan_;
  const hooks hooks_;
  std::size_t next_ = 0;  // round robin over pool_
  asio::ip::tcp::acceptor acceptor_;
  // One UDP endpoint per io_context, all bound to the TCP port with
  // SO_REUSEPORT: the kernel spreads senders over them by address.
  std::vector<std::shared_ptr<rudp::endpoint>> udp_;
  asio::ip::tcp::socket* pending_bind_ = nullptr;  // the BIND awaiting a sender
  bool stopped_ = false;
};

}  // namespace ferry::link
