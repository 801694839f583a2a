// Bounded connection set-up, shared by direct connections and the SOCKS5
// driver: a deadline that closes the socket (and cancels the resolver) when
// it passes, and resolve-then-connect to the first reachable address.
#pragma once

#include <asio.hpp>
#include <chrono>
#include <memory>
#include <system_error>

#include "net/address.hpp"

namespace ferry::net {

/// Armed on construction; when `limit` passes before it is destroyed or
/// disarmed, the socket is closed and the resolver cancelled, so whatever
/// operation is pending fails; expired() then says why.
class deadline {
 public:
  deadline(asio::ip::tcp::socket& socket, asio::ip::tcp::resolver* resolver,
           std::chrono::milliseconds limit);
  ~deadline() { disarm(); }
  deadline(const deadline&) = delete;
  deadline& operator=(const deadline&) = delete;

  bool expired() const { return state_->expired; }
  void disarm();

 private:
  // Shared with the timer callback, which may run after we are gone.
  struct state {
    asio::ip::tcp::socket* socket = nullptr;
    asio::ip::tcp::resolver* resolver = nullptr;
    bool expired = false;
    bool finished = false;
  };
  std::shared_ptr<state> state_;
  asio::steady_timer timer_;
};

struct connect_error {
  std::error_code ec;            // empty on success
  bool while_resolving = false;  // the name did not resolve (vs. no address answered)
};

/// Resolves `where` and connects `socket` to the first address that answers.
asio::awaitable<connect_error> resolve_and_connect(asio::ip::tcp::resolver& resolver,
                                                   asio::ip::tcp::socket& socket,
                                                   const host_port& where);

}  // namespace ferry::net
