// Batched datagram system calls on a non-blocking UDP socket: recvmmsg to
// take up to a batch of datagrams per call, sendmmsg to send one. Each
// outgoing datagram may carry a prefix (the SOCKS5 UDP header) gathered
// from its own buffer, so packets are never copied to be wrapped.
//
// Segmentation offload where the kernel has it: runs of equal-sized
// datagrams without a prefix leave as one UDP_SEGMENT (GSO) message, cut
// into datagrams by the kernel (or never, on loopback to a GRO socket);
// a socket with UDP_GRO receives coalesced runs, split here again. Both
// fall back to plain datagrams when the kernel refuses.
#pragma once

#include <sys/socket.h>

#include <array>
#include <asio.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <system_error>
#include <vector>

namespace ferry::rudp {

using udp = asio::ip::udp;

/// Sets large socket buffers (bulk UDP drops at the kernel's defaults);
/// as root beyond the sysctl limits.
void size_buffers(udp::socket& s, int bytes);

/// The largest UDP payload the route to `to` carries unfragmented as far
/// as this host knows (the outgoing interface's MTU); 0 when it cannot tell.
std::size_t route_payload_limit(const udp::endpoint& to);

/// Sends everything from `s` with the don't-fragment bit and never
/// fragments locally: a datagram the interface cannot carry whole fails
/// (EMSGSIZE) instead. ICMP "too big" messages are ignored, as path MTU
/// discovery by probing (see connection) does not trust them.
void never_fragment(udp::socket& s);

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

  /// `batch` datagrams of up to `max_size` bytes per receive call (64 KiB
  /// each when `gro`, which asks the socket for coalesced runs).
  datagram_io(udp::socket& s, std::size_t batch, std::size_t max_size, bool gro = true);

  /// Receives what is queued, up to one batch. 0 with no error: nothing
  /// queued (EAGAIN). An error such as ECONNREFUSED (an ICMP answer on a
  /// connected socket) is returned as such.
  std::size_t receive(udp::socket& s, std::vector<received>& out, std::error_code& ec);

  /// Sends `dgrams` to `to` (ignored when `connected`); returns how many
  /// left. Fewer than asked with no error: the socket buffer is full.
  static std::size_t send(udp::socket& s, const udp::endpoint& to, bool connected,
                          std::span<const outgoing> dgrams, std::error_code& ec);

 private:
  // Sends as runs (one GSO message each, when `gso`) or one by one; sets
  // `refused` when the kernel will not take a GSO message.
  static std::size_t send_runs(udp::socket& s, const udp::endpoint& to, bool connected,
                               std::span<const outgoing> dgrams, bool gso, std::error_code& ec,
                               bool& refused);

  std::size_t batch_;
  std::size_t max_size_;
  std::unique_ptr<std::uint8_t[]> storage_;  // not zero-filled: pages cost as used
  std::vector<mmsghdr> msgs_;
  std::vector<std::array<char, 64>> controls_;  // per message: the UDP_GRO segment size
  bool gro_ = false;
  std::vector<iovec> iovs_;
  std::vector<sockaddr_storage> addrs_;
};

}  // namespace ferry::rudp
