// The Asio driver of the reliable-UDP transport. It only moves bytes and
// time: an endpoint owns one UDP socket (batched receive and send), routes
// datagrams to connections by connection id, answers new INITs through the
// stateless listener (receiver side), wraps and unwraps the SOCKS5 UDP
// header (sender through a proxy), and runs a timer per connection that
// calls the core when it asked to be woken. `stream` puts a connection
// behind net::transport, so the sessions run over it unchanged.
#pragma once

#include <asio.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "framing/bytes.hpp"
#include "net/transport.hpp"
#include "rudp/connection.hpp"
#include "rudp/datagram_io.hpp"
#include "rudp/listener.hpp"

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

class endpoint : public std::enable_shared_from_this<endpoint> {
 public:
  using accept_handler = std::function<void(std::unique_ptr<net::transport>)>;

  /// `max_datagram`: the largest datagram it will receive.
  endpoint(udp::socket socket, std::size_t max_datagram);

  /// Receiver side: answer INITs and hand each new connection to `on_accept`.
  void listen(const config& cfg, accept_handler on_accept, std::size_t max_connections);
  /// Stops answering new INITs; connections go on.
  void stop_accepting() { accepting_ = false; }
  /// Sender side: the socket is connect()ed to the peer.
  void set_connected() { connected_ = true; }
  /// Sender side through a proxy: datagrams go to `relay` behind `header`,
  /// and only the relay's datagrams are taken.
  void set_relay(udp::endpoint relay, framing::byte_buffer header);
  std::size_t header_size() const { return header_.size(); }
  /// Closes the socket once its last connection is gone (sender side).
  void close_when_empty() { close_when_empty_ = true; }

  void start();
  /// Closes the socket and ends every connection.
  void close();

  void add(const std::shared_ptr<conn_driver>& d);
  std::uint32_t new_cid();
  std::size_t connections() const { return conns_.size(); }
  asio::any_io_executor executor() { return socket_.get_executor(); }

 private:
  friend class conn_driver;
  void wait_readable();
  void on_readable();
  void dispatch(const datagram_io::received& d, time_point now);
  void on_init(std::span<const std::uint8_t> data, const udp::endpoint& from, time_point now);
  void remove(std::uint32_t cid);
  void wait_writable(const std::shared_ptr<conn_driver>& d);

  udp::socket socket_;
  datagram_io io_;
  std::vector<datagram_io::received> batch_;
  std::unordered_map<std::uint32_t, std::shared_ptr<conn_driver>> conns_;
  std::map<std::pair<udp::endpoint, std::uint32_t>, std::uint32_t> by_peer_;
  std::vector<std::shared_ptr<conn_driver>> touched_;
  std::optional<listener> listener_;
  config server_cfg_;
  accept_handler on_accept_;
  std::size_t max_connections_ = 0;
  bool accepting_ = false;
  bool connected_ = false;
  std::optional<udp::endpoint> relay_;
  framing::byte_buffer header_;
  bool close_when_empty_ = false;
  bool write_waiting_ = false;
  std::vector<std::weak_ptr<conn_driver>> blocked_;
  std::uint64_t cid_state_;
};

/// A connection as a session's byte stream.
class stream final : public net::transport {
 public:
  explicit stream(std::shared_ptr<conn_driver> d);
  ~stream() override;
  /// Keeps a SOCKS5 control connection open as long as the stream.
  void hold(asio::ip::tcp::socket control);

  asio::any_io_executor executor() override { return d_->ep->executor(); }
  asio::awaitable<net::io_result> read_some(std::span<std::uint8_t> out) override;
  /// Content is lent straight from the connection's reorder ring.
  bool lends() const override { return true; }
  asio::awaitable<net::io_result> read_lent(std::size_t max,
                                            std::span<const std::uint8_t>& out) override;
  asio::awaitable<net::io_result> write_some(std::span<const std::uint8_t> a,
                                             std::span<const std::uint8_t> b) override;
  asio::awaitable<void> finish(std::chrono::milliseconds limit) override;
  void shutdown_send() override;
  void close() override;
  bool is_open() const override { return d_->conn.established(); }
  std::string remote() const override { return d_->name; }
  net::transport_kind kind() const override { return net::transport_kind::udp; }
  std::optional<net::transport_stats> statistics() const override;
  const conn_driver& driver() const { return *d_; }

 private:
  asio::awaitable<void> wait_readable();
  net::io_result unreadable() const;

  std::shared_ptr<conn_driver> d_;
  std::optional<asio::ip::tcp::socket> control_;
};

}  // namespace ferry::rudp
