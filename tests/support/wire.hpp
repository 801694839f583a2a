// A scripted ferry peer over a plain loopback socket, for the hostile-peer
// tests: sends exactly the bytes a test chooses and reads frames back with
// a deadline on every wait.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

#include "framing/frame.hpp"

namespace ferry::test {

using namespace std::chrono_literals;

class wire {
 public:
  /// Connects to 127.0.0.1:port.
  static wire connect_to(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
      ::close(fd);
      throw std::runtime_error("connect failed");
    }
    return wire(fd);
  }
  explicit wire(int fd) : fd_(fd) {}
  wire(wire&& o) noexcept : fd_(o.fd_), buf_(std::move(o.buf_)) { o.fd_ = -1; }
  ~wire() {
    if (fd_ >= 0) ::close(fd_);
  }
  /// Closes our end now (the peer reads end-of-stream).
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  void send(std::span<const std::uint8_t> bytes) {
    while (!bytes.empty()) {
      const auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) throw std::runtime_error("send failed");
      bytes = bytes.subspan(static_cast<std::size_t>(n));
    }
  }
  void send(std::string_view s) {
    send({reinterpret_cast<const std::uint8_t*>(s.data()), s.size()});
  }
  void send(const framing::message& m) {
    framing::byte_buffer b;
    framing::encode(m, b);
    send(b);
  }
  void send_preamble(std::uint16_t version = framing::protocol_version) {
    framing::byte_buffer b;
    framing::encode_preamble(b, version);
    send(b);
  }

  /// Client handshake: preamble + hello, then the receiver's preamble and
  /// welcome. Returns false if anything else came back.
  bool handshake() {
    send_preamble();
    send(framing::hello{0, "hostile-test"});
    const auto v = read_preamble();
    const auto w = read_frame();
    return v == framing::protocol_version && w && std::holds_alternative<framing::welcome>(*w);
  }

  std::optional<std::uint16_t> read_preamble(std::chrono::milliseconds limit = 10s) {
    while (true) {
      std::uint16_t v = 0;
      const auto ec = framing::decode_preamble(buf_, v);
      if (!ec) {
        buf_.erase(buf_.begin(), buf_.begin() + framing::preamble_size);
        return v;
      }
      if (ec != framing::error::need_more || !fill(limit)) return std::nullopt;
    }
  }

  /// The next frame, or nullopt on EOF, timeout or undecodable bytes.
  std::optional<framing::message> read_frame(std::chrono::milliseconds limit = 10s) {
    while (true) {
      framing::message m;
      std::size_t used = 0;
      const auto ec = framing::decode(buf_, m, used);
      if (!ec) {
        buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(used));
        return m;
      }
      if (ec != framing::error::need_more || !fill(limit)) return std::nullopt;
    }
  }

  template <class T>
  std::optional<T> read_as(std::chrono::milliseconds limit = 10s) {
    auto m = read_frame(limit);
    if (!m || !std::holds_alternative<T>(*m)) return std::nullopt;
    return std::get<T>(*m);
  }

  /// Reads `n` raw bytes (content after a DATA frame).
  bool read_raw(std::size_t n, std::chrono::milliseconds limit = 10s) {
    while (buf_.size() < n)
      if (!fill(limit)) return false;
    buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(n));
    return true;
  }

  /// Reads exactly `n` raw bytes and keeps them for taken().
  bool read_exact(std::size_t n, std::chrono::milliseconds limit = 10s) {
    while (buf_.size() < n)
      if (!fill(limit)) return false;
    taken_.assign(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(n));
    buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(n));
    return true;
  }
  const framing::byte_buffer& taken() const { return taken_; }

  /// True once the peer has closed (EOF or reset) within `limit`; whatever
  /// else arrives first is discarded.
  bool closed_within(std::chrono::milliseconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      std::uint8_t tmp[4096];
      const auto n = ::recv(fd_, tmp, sizeof tmp, 0);
      if (n <= 0) return true;
    }
    return false;
  }

 private:
  bool fill(std::chrono::milliseconds limit) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(limit.count())) <= 0) return false;
    std::uint8_t tmp[65536];
    const auto n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) return false;
    buf_.insert(buf_.end(), tmp, tmp + n);
    return true;
  }

  int fd_ = -1;
  framing::byte_buffer buf_;
  framing::byte_buffer taken_;
};

/// A listening socket on 127.0.0.1, port 0: a scripted receiver.
class listener {
 public:
  /// `backlog` 0 with nobody accepting makes the kernel drop SYNs once one
  /// connection is queued: a real connect timeout, on loopback.
  explicit listener(int backlog = 8) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 ||
        ::listen(fd_, backlog) != 0)
      throw std::runtime_error("listen failed");
    socklen_t len = sizeof sa;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &len);
    port_ = ntohs(sa.sin_port);
  }
  ~listener() { ::close(fd_); }
  std::uint16_t port() const { return port_; }

  std::optional<wire> accept(std::chrono::milliseconds limit = 10s) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(limit.count())) <= 0) return std::nullopt;
    const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) return std::nullopt;
    return wire(c);
  }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

}  // namespace ferry::test
