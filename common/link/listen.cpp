#include "link/listen.hpp"

#include <sys/socket.h>

#include <asio/experimental/as_tuple.hpp>

#include "net/errors.hpp"
#include "rudp/stream.hpp"
#include "socks5/connector.hpp"
#include "util/failure.hpp"

namespace ferry::link {
namespace {

constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

asio::ip::tcp::endpoint listen_endpoint(const net::host_port& hp) {
  if (hp.host.empty()) return {asio::ip::tcp::v6(), hp.port};
  std::error_code ec;
  const auto addr = asio::ip::make_address(hp.host, ec);
  if (ec)
    throw failure(net::errc::not_an_address, step::listen,
                  "--listen: '" + hp.host + "' is not an IP address (use a literal)");
  return {addr, hp.port};
}

}  // namespace

listener::listener(std::vector<std::unique_ptr<asio::io_context>>& pool,
                   asio::strand<asio::io_context::executor_type> strand, listen_plan plan, hooks h)
    : pool_(pool),
      strand_(strand),
      plan_(std::move(plan)),
      hooks_(std::move(h)),
      acceptor_(strand) {}

listener::~listener() = default;

void listener::start() {
  if (plan_.via_bind) {
    asio::co_spawn(strand_, bind_loop(), asio::detached);
    return;
  }
  auto ep = listen_endpoint(plan_.address);
  std::error_code ec;
  auto open_and_bind = [&](const asio::ip::tcp::endpoint& e) {
    acceptor_.close(ec);
    acceptor_.open(e.protocol(), ec);
    if (ec) return;
    acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    // The default [::] listens for IPv4 too.
    if (e.protocol() == asio::ip::tcp::v6() && plan_.address.host.empty())
      acceptor_.set_option(asio::ip::v6_only(false), ec);
    acceptor_.bind(e, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  };
  open_and_bind(ep);
  if (ec && plan_.address.host.empty()) {  // a host without IPv6
    ep = {asio::ip::tcp::v4(), plan_.address.port};
    open_and_bind(ep);
  }
  if (ec) throw failure(ec, step::listen, "listen on " + net::to_string(ep) + ": " + ec.message());
  const auto bound = acceptor_.local_endpoint();
  if (plan_.udp) listen_udp(bound);
  hooks_.on_listening(listening{bound.address().to_string(), bound.port(), plan_.udp, {}});
  asio::co_spawn(strand_, accept_loop(), asio::detached);
}

void listener::listen_udp(const asio::ip::tcp::endpoint& bound) {
  const asio::ip::udp::endpoint ep(bound.address(), bound.port());
  rudp::config cfg;
  cfg.max_packet = rudp::max_packet_size;  // the sender picks the size
  cfg.send_buffer = 1u << 20;              // we send answers, not content
  cfg.send_buffer_max = cfg.send_buffer;
  // Until the session authenticates the sender (a TLS handshake and AUTH
  // are a few KiB), its connection holds at most this much out of order.
  cfg.untrusted_reorder = 256u << 10;
  cfg.idle_timeout = rudp::idle_timeout_for(plan_.idle_timeout);
  // Every UDP session's reorder ring grows into one pool: a peer may fill
  // its window with data it never completes, 64 peers 64 windows.
  cfg.recv_pool = std::make_shared<rudp::memory_pool>(plan_.udp_reorder_bytes);
  for (auto& ctx : pool_) {
    asio::ip::udp::socket s(*ctx);
    std::error_code ec;
    s.open(ep.protocol(), ec);
    if (!ec) {
      s.set_option(asio::socket_base::reuse_address(true), ec);
      const int one = 1;
      ::setsockopt(s.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
      if (ep.protocol() == asio::ip::udp::v6() && plan_.address.host.empty())
        s.set_option(asio::ip::v6_only(false), ec);
      s.bind(ep, ec);
    }
    if (ec)
      throw failure(ec, step::listen,
                    "listen on UDP " + net::to_string(bound) + ": " + ec.message() +
                        " (--no-udp serves TCP only)");
    rudp::size_buffers(s, 8 << 20);
    auto endpoint = std::make_shared<rudp::endpoint>(std::move(s), rudp::max_packet_size + 64);
    endpoint->listen(
        cfg,
        [this](std::shared_ptr<rudp::conn_driver> d) {
          if (plan_.once) asio::post(strand_, [this] { stop_accepting(); });
          hooks_.serve(std::make_unique<rudp::stream>(std::move(d)), {});
        },
        plan_.max_udp_connections);
    endpoint->start();
    udp_.push_back(std::move(endpoint));
  }
}

void listener::stop_accepting() {
  stopped_ = true;
  std::error_code ignored;
  acceptor_.close(ignored);
  if (pending_bind_ != nullptr) pending_bind_->close(ignored);
  stop_udp(false);
}

void listener::close() {
  stop_accepting();
  stop_udp(true);
}

// Each endpoint is closed or stopped on its own thread.
void listener::stop_udp(bool close) {
  for (auto& ep : udp_) {
    asio::post(ep->executor(), [ep, close] {
      if (close)
        ep->close();
      else
        ep->stop_accepting();
    });
  }
}

asio::awaitable<void> listener::accept_loop() {
  while (acceptor_.is_open()) {
    // Sessions go round robin to the pool's io_contexts and stay there.
    auto& ctx = *pool_[next_++ % pool_.size()];
    auto [ec, socket] = co_await acceptor_.async_accept(ctx, use_tuple);
    if (ec) {
      if (!acceptor_.is_open()) break;
      // Out of descriptors and the like: report, back off briefly, go on.
      hooks_.on_warning("accept: " + ec.message());
      asio::steady_timer pause(strand_, std::chrono::milliseconds(100));
      co_await pause.async_wait(use_tuple);
      continue;
    }
    if (plan_.once) stop_accepting();
    hooks_.serve(std::make_unique<net::tcp_transport>(std::move(socket)), {});
  }
}

asio::awaitable<void> listener::bind_loop() {
  const auto& via = *plan_.via_bind;
  while (!stopped_) {
    std::optional<failure> failed;
    std::optional<socks5::bind_ticket> ticket;
    try {
      const socks5::address anyone{"0.0.0.0", 0};  // named: no temporaries around co_await
      auto t = co_await socks5::bind_via(via, anyone, plan_.connect_timeout);
      ticket.emplace(std::move(t));
    } catch (const failure& e) {
      failed.emplace(e);
    }
    if (stopped_) break;
    if (!ticket) {
      // The proxy will not (or no longer) listen for us: stop, as a
      // listener that cannot bind would.
      stopped_ = true;
      hooks_.on_failed(*failed);
      break;
    }
    const auto& at = ticket->listening;
    hooks_.on_listening(listening{at.host, at.port, false, via.display()});
    pending_bind_ = &ticket->socket;
    std::string peer;
    try {
      const auto who = co_await socks5::await_bind_peer(*ticket, via);
      peer = net::to_string(net::host_port{who.host, who.port}) + " via " + via.display();
    } catch (const failure& e) {
      failed.emplace(e);
    }
    pending_bind_ = nullptr;
    if (stopped_) break;
    if (peer.empty()) {
      hooks_.on_warning(failed ? failed->message() : std::string("socks5 bind: no peer"));
      continue;  // ask the proxy again
    }
    hooks_.serve(std::make_unique<net::tcp_transport>(std::move(ticket->socket)), peer);
    if (plan_.once) break;
  }
}

}  // namespace ferry::link
