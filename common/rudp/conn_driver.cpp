#include "rudp/conn_driver.hpp"

#include <asio/experimental/as_tuple.hpp>

#include "rudp/endpoint.hpp"

namespace ferry::rudp {
namespace {

constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);
constexpr std::size_t send_batch = 32;

std::chrono::steady_clock::time_point to_steady(time_point t) {
  return std::chrono::steady_clock::time_point(
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(t));
}

}  // namespace

time_point clock_now() {
  return std::chrono::duration_cast<time_point>(
      std::chrono::steady_clock::now().time_since_epoch());
}

conn_driver::conn_driver(std::shared_ptr<endpoint> e, connection c, udp::endpoint p, std::string n)
    : conn(std::move(c)),
      peer(std::move(p)),
      name(std::move(n)),
      ep(std::move(e)),
      stride_(conn.packet_ceiling()),
      slots_(send_batch * stride_),
      lens_(send_batch),
      timer_(ep->executor()),
      read_ev_(ep->executor()),
      write_ev_(ep->executor()) {}

std::error_code conn_driver::failure() const {
  if (conn.error()) return conn.error();
  if (abort_ec_) return abort_ec_;
  if (conn.current() == connection::state::established) return {};
  if (conn.current() == connection::state::handshake) return {};
  // The peer ended it (normally) while we still wanted to talk.
  if (conn.peer_closed_normally()) return error::peer_closed;
  return asio::error::operation_aborted;
}

void conn_driver::abort(std::error_code ec) {
  if (!abort_ec_) abort_ec_ = ec;
  conn.abort(ec);
  pump();
}

void conn_driver::wake() {
  if (read_waiting_) read_ev_.cancel();
  if (write_waiting_) write_ev_.cancel();
}

asio::awaitable<void> conn_driver::wait_read() {
  read_waiting_ = true;
  read_ev_.expires_at(std::chrono::steady_clock::time_point::max());
  co_await read_ev_.async_wait(use_tuple);
  read_waiting_ = false;
}

asio::awaitable<void> conn_driver::wait_write() {
  write_waiting_ = true;
  write_ev_.expires_at(std::chrono::steady_clock::time_point::max());
  co_await write_ev_.async_wait(use_tuple);
  write_waiting_ = false;
}

void conn_driver::pump() {
  const time_point now = clock_now();
  conn.on_timeout(now);
  const std::size_t mp = stride_;
  while (!blocked_ && ep->socket_.is_open()) {
    if (sent_ == staged_) {
      staged_ = sent_ = 0;
      while (staged_ < send_batch) {
        const std::size_t n = conn.poll_send({slots_.data() + staged_ * mp, mp}, now);
        if (n == 0) break;
        lens_[staged_++] = n;
      }
      if (staged_ == 0) break;
    }
    datagram_io::outgoing out[send_batch];
    const std::size_t count = staged_ - sent_;
    for (std::size_t i = 0; i < count; ++i)
      out[i] = {ep->header_, {slots_.data() + (sent_ + i) * mp, lens_[sent_ + i]}};
    std::error_code ec;
    const std::size_t n = datagram_io::send(ep->socket_, peer, ep->connected_, {out, count}, ec);
    sent_ += n;
    if (ec) {
      // On a connected socket an ICMP "port unreachable" for an earlier
      // datagram comes back here: nothing listens on the peer's UDP port.
      if (ec == std::errc::connection_refused && ep->connected_) {
        abort_ec_ = ec;
        conn.abort(ec);
        break;
      }
      ++sent_;  // drop the datagram the kernel would not take; loss recovery resends
    } else if (sent_ < staged_) {
      blocked_ = true;
      ep->wait_writable(shared_from_this());
    }
  }
  arm(conn.next_timeout(), now);
  wake();
  if (conn.closed()) ep->remove(conn.local_cid());
}

void conn_driver::arm(time_point deadline, time_point now) {
  if (deadline == never) return;
  if (deadline < now) deadline = now;
  if (timer_armed_ && deadline >= armed_at_) return;  // an earlier wake is set
  timer_armed_ = true;
  armed_at_ = deadline;
  timer_.expires_at(to_steady(deadline));
  timer_.async_wait([w = weak_from_this()](const std::error_code& ec) {
    if (ec) return;
    auto self = w.lock();
    if (!self) return;
    self->timer_armed_ = false;
    self->pump();
  });
}

}  // namespace ferry::rudp
