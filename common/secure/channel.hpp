// TLS 1.3 (OpenSSL) over any net::transport: the secure channel is itself a
// transport, so TCP, UDP mode and every SOCKS5 path get it from one place.
// OpenSSL never touches a socket: a small BIO hands it the bytes we read
// from the inner transport and collects what it writes, and the coroutines
// here move them. Settings: TLS 1.3 only, Ed25519 certificates on both sides
// (the key is the identity; names and dates are ignored), no session
// tickets, no 0-RTT. See docs/security.md.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "net/transport.hpp"
#include "secure/identity.hpp"

using SSL = struct ssl_st;
using SSL_CTX = struct ssl_ctx_st;
using BIO = struct bio_st;

namespace ferry::secure {

enum class side { client, server };

/// The TLS settings of one program: its identity and role.
class tls_context {
 public:
  tls_context(const identity& id, side s);
  ~tls_context();
  tls_context(const tls_context&) = delete;
  tls_context& operator=(const tls_context&) = delete;
  SSL_CTX* get() const { return ctx_; }
  enum side side() const { return side_; }

 private:
  SSL_CTX* ctx_ = nullptr;
  enum side side_;
};

/// Both sides send a key update after this many bytes (OpenSSL never does).
inline constexpr std::uint64_t key_update_bytes = 4ull << 30;
/// A peer's certificate chain larger than this fails the handshake.
inline constexpr long max_certificate_bytes = 16 * 1024;

class channel final : public net::transport {
 public:
  /// `early` holds bytes already read from `inner` that belong to TLS.
  channel(std::unique_ptr<net::transport> inner, const tls_context& ctx,
          std::span<const std::uint8_t> early = {});
  ~channel() override;

  /// The transport underneath, for the clear preamble before TLS.
  net::transport& inner() { return *inner_; }
  /// Bytes read from inner() that belong to TLS (read ahead of it).
  void give_early(std::span<const std::uint8_t> bytes);
  /// Client: sends the ClientHello without waiting for an answer, so the
  /// caller can look at the server's first byte (TLS, or a clear refusal).
  asio::awaitable<void> send_first_flight();
  /// Runs the TLS handshake; throws failure (secure::errc::tls_failed, or the
  /// inner transport's error) at step handshake.
  asio::awaitable<void> handshake();
  /// The peer's Ed25519 key (after the handshake).
  const public_key& peer_key() const { return peer_key_; }
  /// RFC 8446 exporter: 32 bytes bound to this session, `label` and `context`.
  std::array<std::uint8_t, 32> exporter(std::string_view label,
                                        std::span<const std::uint8_t> context) const;
  /// The negotiated suite, e.g. "TLS_AES_128_GCM_SHA256".
  std::string cipher() const;
  /// For tests: how often our keys were updated, and after how many bytes.
  std::uint64_t key_updates() const { return key_updates_; }
  void set_key_update_bytes(std::uint64_t n) { update_after_ = n; }

  asio::any_io_executor executor() override { return inner_->executor(); }
  asio::awaitable<net::io_result> read_some(std::span<std::uint8_t> out) override;
  asio::awaitable<net::io_result> write_some(std::span<const std::uint8_t> a,
                                             std::span<const std::uint8_t> b) override;
  /// Sends close_notify, then finishes the inner transport.
  asio::awaitable<void> finish(std::chrono::milliseconds limit) override;
  /// Queues close_notify; it leaves with the next write or finish(), which
  /// then ends the inner stream.
  void shutdown_send() override;
  void close() override { inner_->close(); }
  bool is_open() const override { return inner_->is_open(); }
  std::string remote() const override { return inner_->remote(); }
  net::transport_kind kind() const override { return inner_->kind(); }
  std::optional<net::transport_stats> statistics() const override { return inner_->statistics(); }
  void peer_authenticated() override { inner_->peer_authenticated(); }

 private:
  friend struct bio_glue;
  /// Reads more ciphertext from the inner transport; false at its end.
  asio::awaitable<std::error_code> fill();
  /// Writes every ciphertext byte OpenSSL has produced.
  asio::awaitable<std::error_code> flush();
  std::error_code ssl_error(int ret);

  std::unique_ptr<net::transport> inner_;
  SSL* ssl_ = nullptr;
  // Ciphertext read from the inner transport, [in_pos_, in_end_) unread.
  std::vector<std::uint8_t> in_;
  std::size_t in_pos_ = 0;
  std::size_t in_end_ = 0;
  std::error_code read_failed_;  // sticky: TLS refused what it read
  bool established_ = false;     // the handshake is over
  // Ciphertext OpenSSL wrote; swapped into sending_ while it is written.
  std::vector<std::uint8_t> out_;
  std::vector<std::uint8_t> sending_;
  bool flushing_ = false;
  bool shutdown_pending_ = false;
  bool close_notify_sent_ = false;
  public_key peer_key_{};
  std::uint64_t since_update_ = 0;
  std::uint64_t update_after_ = key_update_bytes;
  std::uint64_t key_updates_ = 0;
};

}  // namespace ferry::secure
