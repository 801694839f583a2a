// Batched datagram system calls on a non-blocking UDP socket: recvmmsg to
// take up to a batch of datagrams per call, sendmmsg to send one. Each
// outgoing datagram may carry a prefix (the SOCKS5 UDP header) gathered
// from its own buffer, so packets are never copied to be wrapped.
#pragma once

#include <sys/socket.h>

#include <asio.hpp>
#include <cstddef>
#include <cstdint>
#include <span>
#include <system_error>
#include <vector>

namespace ferry::rudp {

using udp = asio::ip::udp;

/// Sets large socket buffers (bulk UDP drops at the kernel's defaults);
/// as root beyond the sysctl limits.
void size_buffers(udp::socket& s, int bytes);

class datagram_io {
 public:
  struct received {
    std::span<const std::uint8_t> data;
    udp::endpoint from;
  };
  struct outgoing {
    std::span<const std::uint8_t> prefix;
    std::span<const std::uint8_t> data;
  };

  /// `batch` datagrams of up to `max_size` bytes per receive call.
  datagram_io(std::size_t batch, std::size_t max_size);

  /// Receives what is queued, up to one batch. 0 with no error: nothing
  /// queued (EAGAIN). An error such as ECONNREFUSED (an ICMP answer on a
  /// connected socket) is returned as such.
  std::size_t receive(udp::socket& s, std::vector<received>& out, std::error_code& ec);

  /// Sends `dgrams` to `to` (ignored when `connected`); returns how many
  /// left. Fewer than asked with no error: the socket buffer is full.
  static std::size_t send(udp::socket& s, const udp::endpoint& to, bool connected,
                          std::span<const outgoing> dgrams, std::error_code& ec);

 private:
  std::size_t batch_;
  std::size_t max_size_;
  std::vector<std::uint8_t> storage_;
  std::vector<mmsghdr> msgs_;
  std::vector<iovec> iovs_;
  std::vector<sockaddr_storage> addrs_;
};

}  // namespace ferry::rudp
