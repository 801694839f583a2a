// A reliable-UDP connection as a session's byte stream: net::transport
// over a conn_driver, so the sessions run over UDP mode unchanged.
#pragma once

#include <asio.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "net/transport.hpp"
#include "rudp/endpoint.hpp"

namespace ferry::rudp {

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
  void peer_authenticated() override { d_->conn.trust_peer(); }
  const conn_driver& driver() const { return *d_; }

 private:
  asio::awaitable<void> wait_readable();
  net::io_result unreadable() const;

  std::shared_ptr<conn_driver> d_;
  std::optional<asio::ip::tcp::socket> control_;
};

}  // namespace ferry::rudp
