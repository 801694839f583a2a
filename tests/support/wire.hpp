// A scripted ferry peer over a loopback socket, for the hostile-peer
// tests: sends exactly the bytes a test chooses and reads frames back with
// a deadline on every wait. After the clear preambles it speaks TLS 1.3
// (OpenSSL on the blocking socket) with a throw-away identity, and the
// authorisation step by key, so every hostile case reaches the session
// inside the channel as a real peer's bytes would.
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

#include <openssl/ssl.h>
#include <sys/time.h>

#include <csignal>

#include <cstdlib>
#include <filesystem>
#include <memory>

#include "framing/frame.hpp"
#include "secure/channel.hpp"
#include "secure/identity.hpp"

namespace ferry::test {

using namespace std::chrono_literals;

/// The scripted peers' identity, one per test process, in a temp directory.
inline const secure::identity& wire_identity() {
  static const secure::identity id = [] {
    char tmpl[] = "/tmp/ferry-wire-id.XXXXXX";
    const char* dir = ::mkdtemp(tmpl);
    if (dir == nullptr) throw std::runtime_error("mkdtemp failed");
    return secure::identity::load_or_create(dir, "hostile-test");
  }();
  return id;
}

inline const secure::tls_context& wire_tls(secure::side s) {
  static const secure::tls_context client(wire_identity(), secure::side::client);
  static const secure::tls_context server(wire_identity(), secure::side::server);
  return s == secure::side::client ? client : server;
}

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
  explicit wire(int fd) : fd_(fd) {
    // Every blocking TLS call is bounded too.
    timeval tv{10, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  }
  wire(wire&& o) noexcept : fd_(o.fd_), buf_(std::move(o.buf_)), ssl_(o.ssl_), seen_(o.seen_) {
    o.fd_ = -1;
    o.ssl_ = nullptr;
  }
  ~wire() {
    if (ssl_ != nullptr) SSL_free(ssl_);
    if (fd_ >= 0) ::close(fd_);
  }
  /// Closes our end now (the peer reads end-of-stream, without close_notify).
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  /// Sends TLS close_notify (a clean end of the channel).
  void close_notify() {
    if (ssl_ != nullptr) SSL_shutdown(ssl_);
  }

  /// Client: the preambles (ours `version`), TLS, and AUTH by key; true
  /// when the receiver accepted us. Frames go through TLS from then on.
  bool secure_client(std::uint16_t version = framing::protocol_version, bool authorise = true) {
    send_preamble(version);
    const auto v = read_preamble();
    if (!v || *v != framing::protocol_version || !buf_.empty()) return false;
    framing::byte_buffer pre;
    framing::encode_preamble(pre, version);
    framing::encode_preamble(pre, *v);
    std::copy(pre.begin(), pre.end(), seen_.begin());
    if (!start_tls(secure::side::client)) return false;
    if (!authorise) return true;
    framing::auth a;
    a.binding = binding();
    send(a);
    const auto r = read_as<framing::auth_reply>();
    return r && r->status == framing::auth_status::accepted && r->binding == a.binding;
  }

  /// Server: after read_preamble() gave the sender's, our preamble, TLS,
  /// and the sender's AUTH answered "accepted" (unless `answer` is false:
  /// then accept_auth() answers it later).
  bool secure_server(bool answer = true) {
    framing::byte_buffer pre;
    framing::encode_preamble(pre);
    framing::encode_preamble(pre);
    std::copy(pre.begin(), pre.end(), seen_.begin());
    send_preamble();
    if (!buf_.empty() || !start_tls(secure::side::server)) return false;
    const auto a = read_as<framing::auth>();
    if (!a) return false;
    if (answer) accept_auth();
    return true;
  }
  void accept_auth() {
    send(framing::auth_reply{framing::auth_status::accepted, binding(), {}, {}});
  }

  /// True when the peer has sent bytes we have not read, within `limit`.
  bool readable_within(std::chrono::milliseconds limit) {
    if (!buf_.empty() || (ssl_ != nullptr && SSL_has_pending(ssl_) != 0)) return true;
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, static_cast<int>(limit.count())) > 0;
  }

  void send(std::span<const std::uint8_t> bytes) {
    if (ssl_ != nullptr) {
      while (!bytes.empty()) {
        std::size_t n = 0;
        if (SSL_write_ex(ssl_, bytes.data(), bytes.size(), &n) != 1)
          throw std::runtime_error("TLS send failed");
        bytes = bytes.subspan(n);
      }
      return;
    }
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

  /// Client handshake: preambles, TLS, authorisation, then hello and the
  /// receiver's welcome. Returns false if anything else came back.
  /// `features` and `to` go into the hello; the welcome is kept in
  /// `welcomed`.
  bool handshake(std::uint32_t features = 0, std::string to = {}) {
    if (!secure_client()) return false;
    send(framing::hello{features, "hostile-test", std::move(to)});
    const auto w = read_frame();
    if (!w || !std::holds_alternative<framing::welcome>(*w)) return false;
    welcomed = std::get<framing::welcome>(*w);
    return true;
  }
  framing::welcome welcomed;

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
      if (ssl_ == nullptr || SSL_has_pending(ssl_) == 0) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 50) <= 0) continue;
      }
      std::uint8_t tmp[4096];
      if (ssl_ != nullptr) {
        std::size_t n = 0;
        if (SSL_read_ex(ssl_, tmp, sizeof tmp, &n) != 1) return true;
        continue;
      }
      const auto n = ::recv(fd_, tmp, sizeof tmp, 0);
      if (n <= 0) return true;
    }
    return false;
  }

 private:
  bool start_tls(secure::side s) {
    ::signal(SIGPIPE, SIG_IGN);  // OpenSSL writes with write(), not send(MSG_NOSIGNAL)
    ssl_ = SSL_new(wire_tls(s).get());
    SSL_set_fd(ssl_, fd_);
    return (s == secure::side::client ? SSL_connect(ssl_) : SSL_accept(ssl_)) == 1;
  }
  framing::binding_value binding() const {
    framing::binding_value b{};
    const std::string_view label = "EXPORTER-ferry-binding";
    SSL_export_keying_material(ssl_, b.data(), b.size(), label.data(), label.size(), seen_.data(),
                               seen_.size(), 1);
    return b;
  }
  bool fill(std::chrono::milliseconds limit) {
    if (ssl_ == nullptr || SSL_has_pending(ssl_) == 0) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(limit.count())) <= 0) return false;
    }
    std::uint8_t tmp[65536];
    if (ssl_ != nullptr) {
      std::size_t n = 0;
      if (SSL_read_ex(ssl_, tmp, sizeof tmp, &n) != 1) return false;
      buf_.insert(buf_.end(), tmp, tmp + n);
      return true;
    }
    // Before TLS only the preamble is ours to read: the bytes after it
    // belong to the TLS library.
    const std::size_t want =
        buf_.size() < framing::preamble_size ? framing::preamble_size - buf_.size() : sizeof tmp;
    const auto n = ::recv(fd_, tmp, want, 0);
    if (n <= 0) return false;
    buf_.insert(buf_.end(), tmp, tmp + n);
    return true;
  }

  int fd_ = -1;
  framing::byte_buffer buf_;
  framing::byte_buffer taken_;
  SSL* ssl_ = nullptr;
  std::array<std::uint8_t, 2 * framing::preamble_size> seen_{};  // both preambles, sender's first
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
