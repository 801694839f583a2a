// One reliable-UDP connection driven by Asio: the core (connection), its
// timer, the packets staged for the endpoint's socket, and the waiting
// reader and writer. The endpoint routes datagrams to it; a stream reads
// and writes through it.
#pragma once

#include <asio.hpp>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "rudp/connection.hpp"
#include "rudp/datagram_io.hpp"

namespace ferry::rudp {

/// The core's clock: steady_clock in microseconds.
time_point clock_now();

class endpoint;

/// One connection on an endpoint: the core, its timer, and the waiting
/// reader and writer.
class conn_driver : public std::enable_shared_from_this<conn_driver> {
 public:
  conn_driver(std::shared_ptr<endpoint> ep, connection c, udp::endpoint peer, std::string name);

  /// Sends what the core has, re-arms the timer, wakes waiters.
  void pump();
  /// Ends the connection now with `ec` (e.g. the proxy's control connection closed).
  void abort(std::error_code ec);
  asio::awaitable<void> wait_read();
  asio::awaitable<void> wait_write();
  void wake();
  /// Why reads and writes fail now (empty while usable).
  std::error_code failure() const;

  connection conn;
  const udp::endpoint peer;  // where datagrams go (the relay through a proxy)
  const std::string name;
  std::shared_ptr<endpoint> ep;

 private:
  friend class endpoint;
  void arm(time_point deadline, time_point now);
  std::size_t stride_;               // slot size: the largest packet the connection may send
  std::vector<std::uint8_t> slots_;  // staged packets, one per stride
  std::vector<std::size_t> lens_;
  std::size_t staged_ = 0, sent_ = 0;
  bool blocked_ = false;  // the socket buffer is full; the endpoint calls back
  asio::steady_timer timer_;
  bool timer_armed_ = false;
  time_point armed_at_ = never;
  asio::steady_timer read_ev_, write_ev_;
  bool read_waiting_ = false, write_waiting_ = false;
  std::error_code abort_ec_;
};

}  // namespace ferry::rudp
