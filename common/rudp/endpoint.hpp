// The Asio driver of the reliable-UDP transport. It only moves bytes and
// time: an endpoint owns one UDP socket (batched receive and send), routes
// datagrams to connections by connection id, answers new INITs through the
// stateless listener (receiver side), wraps and unwraps the SOCKS5 UDP
// header (sender through a proxy), and runs a timer per connection that
// calls the core when it asked to be woken. The connections are conn_drivers
// (conn_driver.hpp); stream.hpp puts one behind net::transport.
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
#include "rudp/conn_driver.hpp"
#include "rudp/connection.hpp"
#include "rudp/datagram_io.hpp"
#include "rudp/listener.hpp"

namespace ferry::rudp {

class endpoint : public std::enable_shared_from_this<endpoint> {
 public:
  using accept_handler = std::function<void(std::shared_ptr<conn_driver>)>;

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

}  // namespace ferry::rudp
