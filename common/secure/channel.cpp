#include "secure/channel.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "net/errors.hpp"
#include "secure/errors.hpp"
#include "util/failure.hpp"

namespace ferry::secure {
namespace {

// Ciphertext is read from the inner transport in pieces of up to this size.
constexpr std::size_t in_capacity = 256 * 1024;
// Plaintext sealed per write_some: a few records' worth of syscalls saved,
// a bounded buffer kept.
constexpr std::size_t write_batch = 512 * 1024;

int accept_any(int, X509_STORE_CTX*) {
  // The certificate is only a carrier for the key: the caller compares the
  // key after the handshake (pin, known_receivers, authorized_senders).
  // TLS 1.3's CertificateVerify has proved the peer holds its private key.
  return 1;
}

std::string openssl_errors() {
  std::string out;
  while (const unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    const char* reason = ERR_reason_error_string(e);
    if (!out.empty()) out += "; ";
    out += reason != nullptr ? reason : buf;
  }
  return out.empty() ? "unknown TLS error" : out;
}

}  // namespace

// The BIO between OpenSSL and the channel's buffers.
struct bio_glue {
  static BIO_METHOD* method() {
    static BIO_METHOD* m = [] {
      BIO_METHOD* bm = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "ferry-channel");
      BIO_meth_set_write(bm, write);
      BIO_meth_set_read(bm, read);
      BIO_meth_set_ctrl(bm, ctrl);
      BIO_meth_set_create(bm, [](BIO* b) {
        BIO_set_init(b, 1);
        return 1;
      });
      return bm;
    }();
    return m;
  }
  static int write(BIO* b, const char* data, int len) {
    auto* c = static_cast<channel*>(BIO_get_data(b));
    c->out_.insert(c->out_.end(), data, data + len);
    return len;
  }
  static int read(BIO* b, char* data, int len) {
    auto* c = static_cast<channel*>(BIO_get_data(b));
    BIO_clear_retry_flags(b);
    const std::size_t have = c->in_end_ - c->in_pos_;
    if (have == 0) {
      BIO_set_retry_read(b);
      return -1;
    }
    const std::size_t n = std::min(have, static_cast<std::size_t>(len));
    std::memcpy(data, c->in_.data() + c->in_pos_, n);
    c->in_pos_ += n;
    return static_cast<int>(n);
  }
  static long ctrl(BIO*, int cmd, long, void*) { return cmd == BIO_CTRL_FLUSH ? 1 : 0; }
};

tls_context::tls_context(const identity& id, enum side s) : side_(s) {
  ctx_ = SSL_CTX_new(TLS_method());
  if (ctx_ == nullptr) throw std::runtime_error("TLS: " + openssl_errors());
  bool ok = SSL_CTX_set_min_proto_version(ctx_, TLS1_3_VERSION) == 1 &&
            SSL_CTX_set_max_proto_version(ctx_, TLS1_3_VERSION) == 1;
  // AES-GCM first (AES-NI on the machines ferry targets); the client's
  // order decides, so ChaCha20-Poly1305 is only ever a peer's own choice.
  ok = ok && SSL_CTX_set_ciphersuites(ctx_,
                                      "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256:"
                                      "TLS_AES_256_GCM_SHA384") == 1;
  ok = ok && SSL_CTX_set1_sigalgs_list(ctx_, "ed25519") == 1;
  ok = ok && SSL_CTX_use_certificate(ctx_, id.certificate()) == 1;
  ok = ok && SSL_CTX_use_PrivateKey(ctx_, id.pkey()) == 1;
  ok = ok && SSL_CTX_check_private_key(ctx_) == 1;
  if (!ok) {
    const auto why = openssl_errors();
    SSL_CTX_free(ctx_);
    throw std::runtime_error("TLS setup: " + why);
  }
  SSL_CTX_set_options(ctx_, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_num_tickets(ctx_, 0);
  SSL_CTX_set_session_cache_mode(ctx_, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_max_early_data(ctx_, 0);
  SSL_CTX_set_max_cert_list(ctx_, max_certificate_bytes);
  SSL_CTX_set_read_ahead(ctx_, 1);
  // Both sides present a certificate; the server demands one.
  SSL_CTX_set_verify(ctx_,
                     SSL_VERIFY_PEER | (s == side::server ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0),
                     accept_any);
}

tls_context::~tls_context() {
  SSL_CTX_free(ctx_);
}

channel::channel(std::unique_ptr<net::transport> inner, const tls_context& ctx,
                 std::span<const std::uint8_t> early)
    : inner_(std::move(inner)), in_(std::max(in_capacity, early.size())) {
  ssl_ = SSL_new(ctx.get());
  if (ssl_ == nullptr) throw std::runtime_error("TLS: " + openssl_errors());
  BIO* bio = BIO_new(bio_glue::method());
  BIO_set_data(bio, this);
  SSL_set_bio(ssl_, bio, bio);  // one BIO both ways; SSL owns it
  if (ctx.side() == side::client)
    SSL_set_connect_state(ssl_);
  else
    SSL_set_accept_state(ssl_);
  std::copy(early.begin(), early.end(), in_.begin());
  in_end_ = early.size();
  out_.reserve(write_batch + write_batch / 32);
}

void channel::give_early(std::span<const std::uint8_t> bytes) {
  if (in_.size() - in_end_ < bytes.size()) in_.resize(in_end_ + bytes.size());
  std::copy(bytes.begin(), bytes.end(), in_.begin() + static_cast<std::ptrdiff_t>(in_end_));
  in_end_ += bytes.size();
}

channel::~channel() {
  SSL_free(ssl_);
}

std::error_code channel::ssl_error(int ret) {
  const int e = SSL_get_error(ssl_, ret);
  if (e == SSL_ERROR_ZERO_RETURN) return asio::error::eof;
  if (e == SSL_ERROR_SSL) {
    // After the handshake, a record our side refuses (its tag, its header)
    // was changed in transit: an honest peer never sends one. So was one
    // the peer refused when its alert says bad_record_mac. Other alerts
    // from the peer are its own failures.
    bool forged = false;
    while (const unsigned long err = ERR_get_error()) {
      const int reason = ERR_GET_REASON(err);
      const bool peer_alert = reason >= SSL_AD_REASON_OFFSET;
      forged = forged || (established_ && !peer_alert) ||
               reason == SSL_R_DECRYPTION_FAILED_OR_BAD_RECORD_MAC ||
               reason == SSL_R_SSLV3_ALERT_BAD_RECORD_MAC;
    }
    return forged ? errc::record_forged : errc::tls_failed;
  }
  ERR_clear_error();
  return errc::tls_failed;
}

asio::awaitable<std::error_code> channel::fill() {
  if (in_pos_ == in_end_) {
    in_pos_ = in_end_ = 0;
  } else if (in_pos_ > 0) {
    std::memmove(in_.data(), in_.data() + in_pos_, in_end_ - in_pos_);
    in_end_ -= in_pos_;
    in_pos_ = 0;
  }
  // (OpenSSL takes whole records from the BIO as they come; the buffer
  // never fills with an unread record.)
  const std::span<std::uint8_t> room(in_.data() + in_end_, in_.size() - in_end_);
  const auto r = co_await inner_->read_some(room);
  if (r.ec) co_return r.ec;
  in_end_ += r.n;
  co_return std::error_code{};
}

asio::awaitable<std::error_code> channel::flush() {
  flushing_ = true;
  struct done_flushing {
    bool& f;
    ~done_flushing() { f = false; }
  } reset{flushing_};
  while (!out_.empty()) {
    sending_.clear();
    std::swap(sending_, out_);
    std::size_t done = 0;
    while (done < sending_.size()) {
      const auto r = co_await inner_->write_some(
          std::span<const std::uint8_t>(sending_).subspan(done), std::span<const std::uint8_t>());
      if (r.ec) co_return r.ec;
      done += r.n;
    }
  }
  if (shutdown_pending_) {
    shutdown_pending_ = false;
    inner_->shutdown_send();
  }
  co_return std::error_code{};
}

asio::awaitable<void> channel::send_first_flight() {
  ERR_clear_error();
  const int r = SSL_do_handshake(ssl_);
  if (r != 1 && SSL_get_error(ssl_, r) != SSL_ERROR_WANT_READ)
    throw failure(errc::tls_failed, step::handshake, "TLS handshake: " + openssl_errors());
  ERR_clear_error();
  const auto ec = co_await flush();
  if (ec) throw failure(ec, step::handshake, "TLS handshake: connection lost: " + ec.message());
}

asio::awaitable<void> channel::handshake() {
  while (true) {
    ERR_clear_error();
    const int r = SSL_do_handshake(ssl_);
    std::string why;
    const int e = r == 1 ? SSL_ERROR_NONE : SSL_get_error(ssl_, r);
    if (e != SSL_ERROR_NONE && e != SSL_ERROR_WANT_READ) why = openssl_errors();
    // Our flight, or the alert that says why we stop, goes out either way.
    const auto wec = co_await flush();
    if (!why.empty()) throw failure(errc::tls_failed, step::handshake, "TLS handshake: " + why);
    if (wec)
      throw failure(wec, step::handshake,
                    "TLS handshake: " + std::string(wec == asio::error::eof
                                                        ? "connection closed by peer"
                                                        : "connection lost: " + wec.message()));
    if (r == 1) break;
    const auto rec = co_await fill();
    if (rec == asio::error::eof)
      throw failure(net::errc::closed, step::handshake,
                    "TLS handshake: the peer closed the connection");
    if (rec)
      throw failure(rec, step::handshake, "TLS handshake: connection lost: " + rec.message());
  }
  established_ = true;
  X509* cert = SSL_get0_peer_certificate(ssl_);
  EVP_PKEY* key = cert != nullptr ? X509_get0_pubkey(cert) : nullptr;
  std::size_t len = peer_key_.size();
  if (key == nullptr || EVP_PKEY_get_base_id(key) != EVP_PKEY_ED25519 ||
      EVP_PKEY_get_raw_public_key(key, peer_key_.data(), &len) != 1 || len != peer_key_.size())
    throw failure(errc::tls_failed, step::handshake,
                  "TLS handshake: the peer's certificate holds no Ed25519 key");
}

std::array<std::uint8_t, 32> channel::exporter(std::string_view label,
                                               std::span<const std::uint8_t> context) const {
  std::array<std::uint8_t, 32> out{};
  if (SSL_export_keying_material(ssl_, out.data(), out.size(), label.data(), label.size(),
                                 context.data(), context.size(), 1) != 1)
    throw failure(errc::tls_failed, step::handshake, "TLS exporter failed");
  return out;
}

std::string channel::cipher() const {
  const char* name = SSL_get_cipher_name(ssl_);
  return name != nullptr ? name : "";
}

asio::awaitable<net::io_result> channel::read_some(std::span<std::uint8_t> out) {
  while (true) {
    std::size_t total = 0;
    int err = SSL_ERROR_NONE;
    ERR_clear_error();
    // Everything already decryptable, up to `out`'s size, in one call.
    while (total < out.size() && !read_failed_) {
      std::size_t got = 0;
      const int ret = SSL_read_ex(ssl_, out.data() + total, out.size() - total, &got);
      if (ret != 1) {
        err = SSL_get_error(ssl_, ret);
        // Judged now, while OpenSSL's error queue still says why; reported
        // after the bytes before it are delivered.
        if (err != SSL_ERROR_WANT_READ) read_failed_ = ssl_error(ret);
        break;
      }
      total += got;
    }
    if (total > 0) co_return net::io_result{{}, total};
    if (read_failed_) {
      // OpenSSL queued an alert saying why (bad_record_mac): the peer should
      // hear it, unless our writer is busy, whose flush takes it along.
      if (!flushing_ && !out_.empty()) {
        const auto alert_ec = co_await flush();
        (void)alert_ec;
      }
      co_return net::io_result{read_failed_, 0};
    }
    const auto ec = co_await fill();
    if (ec == asio::error::eof) {
      // An end without close_notify may be an attacker's cut.
      co_return net::io_result{(SSL_get_shutdown(ssl_) & SSL_RECEIVED_SHUTDOWN) != 0
                                   ? std::error_code(asio::error::eof)
                                   : make_error_code(errc::truncated),
                               0};
    }
    if (ec) co_return net::io_result{ec, 0};
  }
}

asio::awaitable<net::io_result> channel::write_some(std::span<const std::uint8_t> a,
                                                    std::span<const std::uint8_t> b) {
  if (close_notify_sent_) co_return net::io_result{asio::error::shut_down, 0};
  if (since_update_ >= update_after_) {
    if (SSL_key_update(ssl_, SSL_KEY_UPDATE_NOT_REQUESTED) == 1) ++key_updates_;
    since_update_ = 0;
  }
  std::size_t taken = 0;
  for (const auto part : {a, b}) {
    const std::size_t n = std::min(part.size(), write_batch - taken);
    if (n == 0) continue;
    ERR_clear_error();
    std::size_t written = 0;
    const int r = SSL_write_ex(ssl_, part.data(), n, &written);
    if (r != 1) co_return net::io_result{ssl_error(r), 0};
    taken += written;
    if (taken >= write_batch) break;
  }
  since_update_ += taken;
  const auto ec = co_await flush();
  if (ec) co_return net::io_result{ec, 0};
  co_return net::io_result{{}, taken};
}

void channel::shutdown_send() {
  if (!close_notify_sent_) {
    ERR_clear_error();
    (void)SSL_shutdown(ssl_);
    close_notify_sent_ = true;
  }
  shutdown_pending_ = true;
}

asio::awaitable<void> channel::finish(std::chrono::milliseconds limit) {
  if (!close_notify_sent_ && inner_->is_open()) {
    ERR_clear_error();
    (void)SSL_shutdown(ssl_);
    close_notify_sent_ = true;
  }
  ERR_clear_error();
  const auto ec = co_await flush();  // (named: GCC 12 and co_await in a condition)
  if (!ec) co_await inner_->finish(limit);
}

}  // namespace ferry::secure
