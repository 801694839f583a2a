#include "rudp/stream.hpp"

namespace ferry::rudp {

stream::stream(std::shared_ptr<conn_driver> d) : d_(std::move(d)) {}

std::optional<net::transport_stats> stream::statistics() const {
  const stats s = d_->conn.statistics();
  net::transport_stats out;
  out.packets_sent = s.packets_sent;
  out.packets_lost = s.packets_lost;
  out.duplicates = s.duplicates;
  out.bytes_retransmitted = s.bytes_retransmitted;
  out.mtu_probes = s.mtu_probes;
  out.packet_size = s.packet_size;
  out.srtt = s.srtt;
  out.min_rtt = s.min_rtt;
  return out;
}

stream::~stream() {
  close();
}

void stream::hold(asio::ip::tcp::socket control) {
  control_.emplace(std::move(control));
  // The proxy closing the control connection ends the association: fail
  // the transfer then, rather than wait for the idle timeout. (Nothing is
  // expected on it; any byte also ends the watch, never a second read.)
  auto buf = std::make_shared<std::array<std::uint8_t, 64>>();
  control_->async_read_some(asio::buffer(*buf), [w = std::weak_ptr<conn_driver>(d_), buf](
                                                    const std::error_code& ec, std::size_t) {
    if (!ec || ec == asio::error::operation_aborted) return;
    auto d = w.lock();
    if (d && !d->conn.closed()) d->abort(error::proxy_closed);
  });
}

asio::awaitable<void> stream::wait_readable() {
  auto& c = d_->conn;
  while (c.readable() == 0 && !c.eof() && !d_->failure())
    co_await d_->wait_read();
}

// Why nothing can be read (readable() is 0 after wait_readable()).
net::io_result stream::unreadable() const {
  if (d_->conn.eof()) return net::io_result{asio::error::eof, 0};
  return net::io_result{d_->failure(), 0};
}

asio::awaitable<net::io_result> stream::read_some(std::span<std::uint8_t> out) {
  co_await wait_readable();
  if (d_->conn.readable() == 0) co_return unreadable();
  const std::size_t n = d_->conn.read(out);
  d_->pump();  // may grant the peer more window
  co_return net::io_result{{}, n};
}

asio::awaitable<net::io_result> stream::read_lent(std::size_t max,
                                                  std::span<const std::uint8_t>& out) {
  co_await wait_readable();
  if (d_->conn.readable() == 0) co_return unreadable();
  // The ring is written only when a datagram is fed in, which takes this
  // thread: the bytes stay put until our caller suspends.
  out = d_->conn.peek(max);
  d_->conn.consume(out.size());
  d_->pump();
  co_return net::io_result{{}, out.size()};
}

asio::awaitable<net::io_result> stream::write_some(std::span<const std::uint8_t> a,
                                                   std::span<const std::uint8_t> b) {
  auto& c = d_->conn;
  while (true) {
    if (auto ec = d_->failure()) co_return net::io_result{ec, 0};
    if (c.writable() > 0) {
      std::size_t n = c.write(a);
      if (n == a.size()) n += c.write(b);
      d_->pump();
      co_return net::io_result{{}, n};
    }
    co_await d_->wait_write();
  }
}

asio::awaitable<void> stream::finish(std::chrono::milliseconds limit) {
  auto& c = d_->conn;
  c.finish();
  d_->pump();
  // Wait until the peer acknowledged everything (our FIN included), so
  // that our last frame cannot be lost to the close.
  asio::steady_timer deadline(d_->ep->executor());
  deadline.expires_after(limit);
  bool expired = false;
  deadline.async_wait([w = std::weak_ptr<conn_driver>(d_), &expired](const std::error_code& ec) {
    if (ec) return;
    expired = true;
    if (auto d = w.lock()) d->wake();
  });
  while (!c.all_acked() && !d_->failure() && !expired)
    co_await d_->wait_write();
  deadline.cancel();
  if (!d_->failure()) {
    c.close(close_code::normal, "", clock_now());
    d_->pump();
  }
}

void stream::shutdown_send() {
  d_->conn.finish();
  d_->pump();
}

void stream::close() {
  if (d_->conn.current() == connection::state::established ||
      d_->conn.current() == connection::state::handshake) {
    d_->conn.close(close_code::internal, "session aborted", clock_now());
    d_->pump();
  }
  d_->wake();
  if (control_) {
    std::error_code ignored;
    control_->close(ignored);
  }
}

}  // namespace ferry::rudp
