// The byte stream a session runs over: plain TCP (also when a SOCKS5 proxy
// carries it) or the reliable-UDP transport. frame_stream owns one; the
// sessions never see which.
#pragma once

#include <asio.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <system_error>

#include "net/address.hpp"

namespace ferry::net {

/// "1.2.3.4:5" / "[::1]:5": a TCP or UDP endpoint as people read it.
template <class Protocol>
std::string to_string(const asio::ip::basic_endpoint<Protocol>& ep) {
  return to_string(host_port{ep.address().to_string(), ep.port()});
}

struct io_result {
  std::error_code ec;  // asio::error::eof when the peer ended its stream
  std::size_t n = 0;
};

enum class transport_kind { tcp, udp };

inline const char* to_string(transport_kind k) {
  return k == transport_kind::udp ? "udp" : "tcp";
}

/// A transport's account of itself, for the run report (UDP mode keeps one).
struct transport_stats {
  std::uint64_t packets_sent = 0;
  std::uint64_t packets_lost = 0;  // declared lost and sent again
  std::uint64_t duplicates = 0;    // received twice
  std::uint64_t bytes_retransmitted = 0;
  std::uint64_t mtu_probes = 0;  // larger packets tried
  std::size_t packet_size = 0;   // the largest packet in use at the end
  std::chrono::microseconds srtt{};
  std::chrono::microseconds min_rtt{};
};

class transport {
 public:
  virtual ~transport() = default;
  virtual asio::any_io_executor executor() = 0;
  /// Reads at least one byte into `out`.
  virtual asio::awaitable<io_result> read_some(std::span<std::uint8_t> out) = 0;
  /// Whether read_lent() works: the transport holds received bytes in its
  /// own memory and can lend them rather than copy them out.
  virtual bool lends() const { return false; }
  /// Points `out` at between 1 and `max` received bytes, now counted as
  /// read. They stay valid only until the caller next suspends.
  virtual asio::awaitable<io_result> read_lent(std::size_t, std::span<const std::uint8_t>&) {
    co_return io_result{std::make_error_code(std::errc::operation_not_supported), 0};
  }
  /// Writes a prefix of `a` then `b` (at least one byte).
  virtual asio::awaitable<io_result> write_some(std::span<const std::uint8_t> a,
                                                std::span<const std::uint8_t> b) = 0;
  /// The graceful end: waits (at most `limit`) until the peer has all we
  /// wrote, then closes. TCP leaves that to the kernel.
  virtual asio::awaitable<void> finish(std::chrono::milliseconds limit) = 0;
  /// Ends our direction; the peer reads end-of-stream after our data.
  virtual void shutdown_send() = 0;
  /// Closes at once; pending operations complete with an error. Idempotent.
  virtual void close() = 0;
  virtual bool is_open() const = 0;
  /// The peer as "1.2.3.4:5" (the proxy when one carries the stream).
  virtual std::string remote() const = 0;
  virtual transport_kind kind() const = 0;
  /// What the transport measured; none when it keeps no figures.
  virtual std::optional<transport_stats> statistics() const { return std::nullopt; }
  /// The session authenticated the peer: what a transport holds strangers
  /// to may lift (UDP mode's reorder memory).
  virtual void peer_authenticated() {}
};

/// A connected TCP socket as a transport.
class tcp_transport final : public transport {
 public:
  explicit tcp_transport(asio::ip::tcp::socket socket);
  asio::any_io_executor executor() override { return socket_.get_executor(); }
  asio::awaitable<io_result> read_some(std::span<std::uint8_t> out) override;
  asio::awaitable<io_result> write_some(std::span<const std::uint8_t> a,
                                        std::span<const std::uint8_t> b) override;
  asio::awaitable<void> finish(std::chrono::milliseconds) override { co_return; }
  void shutdown_send() override;
  void close() override;
  bool is_open() const override { return socket_.is_open(); }
  std::string remote() const override;
  transport_kind kind() const override { return transport_kind::tcp; }
  asio::ip::tcp::socket& socket() { return socket_; }

 private:
  asio::ip::tcp::socket socket_;
};

}  // namespace ferry::net
