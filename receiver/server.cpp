#include "receiver/server.hpp"

#include <sys/socket.h>

#include <asio/experimental/as_tuple.hpp>
#include <csignal>
#include <optional>
#include <thread>

#include "framing/frame.hpp"
#include "receiver/session.hpp"
#include "socks5/connector.hpp"
#include "util/units.hpp"

namespace ferry::recv {
namespace {

constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

asio::ip::tcp::endpoint listen_endpoint(const net::host_port& hp) {
  if (hp.host.empty()) return {asio::ip::tcp::v6(), hp.port};
  std::error_code ec;
  const auto addr = asio::ip::make_address(hp.host, ec);
  if (ec)
    throw session_error(exit_code::usage,
                        "--listen: '" + hp.host + "' is not an IP address (use a literal)");
  return {addr, hp.port};
}

}  // namespace

server::server(std::vector<std::unique_ptr<asio::io_context>>& pool, const options& opts,
               const fileio::dest_root& root, logger& log)
    : pool_(pool),
      opts_(opts),
      root_(root),
      log_(log),
      strand_(asio::make_strand(*pool.front())),
      acceptor_(strand_),
      signals_(strand_, SIGINT, SIGTERM),
      grace_timer_(strand_),
      sweep_timer_(strand_),
      budgets_{
          space_ledger([&root](std::uint64_t& a, std::uint64_t& t) { return root.space(a, t); },
                       opts.min_free, opts.min_free_percent),
          memory_pool(memory_pool_size)} {
  for (auto& ctx : pool_)
    keep_running_.push_back(asio::make_work_guard(*ctx));
}

void server::finish() {
  stop_udp(true);
  grace_timer_.cancel();
  sweep_timer_.cancel();
  signals_.cancel();
  keep_running_.clear();
}

void server::start() {
  signals_.async_wait([this](const std::error_code& e, int signo) {
    if (!e) on_signal(signo);
  });
  sweep_partials();
  if (opts_.via_bind) {
    asio::co_spawn(strand_, bind_loop(), asio::detached);
    return;
  }
  auto ep = listen_endpoint(opts_.listen);
  std::error_code ec;
  auto open_and_bind = [&](const asio::ip::tcp::endpoint& e) {
    acceptor_.close(ec);
    acceptor_.open(e.protocol(), ec);
    if (ec) return;
    acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    // The default [::] listens for IPv4 too.
    if (e.protocol() == asio::ip::tcp::v6() && opts_.listen.host.empty())
      acceptor_.set_option(asio::ip::v6_only(false), ec);
    acceptor_.bind(e, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  };
  open_and_bind(ep);
  if (ec && opts_.listen.host.empty()) {  // a host without IPv6
    ep = {asio::ip::tcp::v4(), opts_.listen.port};
    open_and_bind(ep);
  }
  if (ec)
    throw session_error(exit_code::connect,
                        "listen on " + net::to_string(ep) + ": " + ec.message());
  const auto bound = acceptor_.local_endpoint();
  if (opts_.udp) listen_udp(bound);
  log_.warn("listening on " + net::to_string(bound) + (opts_.udp ? " (TCP and UDP)" : " (TCP)") +
            ", storing into " + root_.path());
  log_.event(json_line("listening")
                 .str("address", bound.address().to_string())
                 .num("port", static_cast<std::uint64_t>(bound.port()))
                 .boolean("udp", opts_.udp)
                 .str("dir", root_.path()));
  asio::co_spawn(strand_, accept_loop(), asio::detached);
}

void server::listen_udp(const asio::ip::tcp::endpoint& bound) {
  const asio::ip::udp::endpoint ep(bound.address(), bound.port());
  rudp::config cfg;
  cfg.max_packet = rudp::max_packet_size;  // the sender picks the size
  cfg.send_buffer = 1u << 20;              // we send answers, not content
  cfg.idle_timeout = rudp::idle_timeout_for(opts_.timeout);
  // Every UDP session's reorder ring grows into one pool: a peer may fill
  // its window with data it never completes, 64 peers 64 windows.
  cfg.recv_pool = std::make_shared<rudp::memory_pool>(udp_reorder_pool);
  for (auto& ctx : pool_) {
    asio::ip::udp::socket s(*ctx);
    std::error_code ec;
    s.open(ep.protocol(), ec);
    if (!ec) {
      s.set_option(asio::socket_base::reuse_address(true), ec);
      const int one = 1;
      ::setsockopt(s.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
      if (ep.protocol() == asio::ip::udp::v6() && opts_.listen.host.empty())
        s.set_option(asio::ip::v6_only(false), ec);
      s.bind(ep, ec);
    }
    if (ec)
      throw session_error(exit_code::connect, "listen on UDP " + net::to_string(bound) + ": " +
                                                  ec.message() + " (--no-udp serves TCP only)");
    rudp::size_buffers(s, 8 << 20);
    auto endpoint = std::make_shared<rudp::endpoint>(std::move(s), rudp::max_packet_size + 64);
    auto* c = ctx.get();
    endpoint->listen(
        cfg,
        [this, c](std::unique_ptr<net::transport> t) {
          if (opts_.once) asio::post(strand_, [this] { stop_accepting(); });
          asio::co_spawn(*c, serve(std::move(t)), asio::detached);
        },
        opts_.max_sessions + 16);
    endpoint->start();
    udp_.push_back(std::move(endpoint));
  }
}

// On strand_: no new sessions, over TCP or UDP (--once after the first,
// or a signal). Sessions in progress go on.
void server::stop_accepting() {
  std::error_code ignored;
  acceptor_.close(ignored);
  stop_udp(false);
}

// Stops answering new UDP senders; with `close`, ends the sockets too (the
// io_contexts can then run out of work). Each endpoint on its own thread.
void server::stop_udp(bool close) {
  for (auto& ep : udp_) {
    asio::post(ep->executor(), [ep, close] {
      if (close)
        ep->close();
      else
        ep->stop_accepting();
    });
  }
}

// "127.0.0.1:5000" -> "127.0.0.1", "[::1]:5000" -> "[::1]".
std::string server::host_of(const std::string& peer) {
  const auto colon = peer.rfind(':');
  return colon == std::string::npos ? peer : peer.substr(0, colon);
}

asio::awaitable<void> server::accept_loop() {
  while (acceptor_.is_open()) {
    // Sessions go round robin to the pool's io_contexts and stay there.
    auto& ctx = *pool_[next_++ % pool_.size()];
    auto [ec, socket] = co_await acceptor_.async_accept(ctx, use_tuple);
    if (ec) {
      if (!acceptor_.is_open()) break;
      // Out of descriptors and the like: report, back off briefly, go on.
      log_.warn("accept: " + ec.message());
      asio::steady_timer pause(strand_, std::chrono::milliseconds(100));
      co_await pause.async_wait(use_tuple);
      continue;
    }
    if (opts_.once) stop_accepting();  // signals stay armed: the session may be interrupted
    auto exec = socket.get_executor();
    asio::co_spawn(exec, serve(std::make_unique<net::tcp_transport>(std::move(socket))),
                   asio::detached);
  }
}

asio::awaitable<void> server::refuse(net::frame_stream& stream, const std::string& why) {
  log_.warn(stream.peer() + ": refused: " + why);
  framing::byte_buffer out;
  framing::encode_preamble(out);
  framing::encode(framing::error_frame{framing::error_code::limit, why}, out);
  // Say why, then wait (briefly) for the peer to close: closing with its
  // hello still unread would send a reset that can destroy our answer.
  try {
    co_await stream.write(out);
    stream.shutdown_send();
    // At most 64 KiB, so a refused peer cannot keep us busy.
    for (std::size_t n = 0; n < 64 * 1024;)
      n += (co_await stream.read_raw(4096, "refusing")).size();
  } catch (const std::exception&) {
  }
}

asio::awaitable<void> server::bind_loop() {
  const auto& proxy = *opts_.proxy;
  while (true) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) break;
    }
    std::string failure;
    std::optional<socks5::bind_ticket> ticket;
    try {
      const socks5::address anyone{"0.0.0.0", 0};  // named: no temporaries around co_await
      auto t = co_await socks5::bind_via(proxy, anyone, opts_.connect_timeout);
      ticket.emplace(std::move(t));
    } catch (const session_error& e) {
      failure = e.message();
    }
    if (!ticket) {
      // The proxy will not (or no longer) listen for us: stop, as a
      // listener that cannot bind would.
      log_.warn(failure);
      std::lock_guard lock(mu_);
      stopping_ = true;
      if (status_ == 0) status_ = to_int(exit_code::proxy);
      if (sessions_.empty()) asio::post(strand_, [this] { finish(); });
      break;
    }
    const auto& at = ticket->listening;
    log_.warn("listening via " + proxy.display() + ": senders connect to " +
              net::to_string(net::host_port{at.host, at.port}) + ", storing into " + root_.path());
    log_.event(json_line("listening")
                   .str("address", at.host)
                   .num("port", static_cast<std::uint64_t>(at.port))
                   .str("dir", root_.path())
                   .str("via", proxy.display()));
    pending_bind_ = &ticket->socket;
    std::string peer;
    try {
      const auto who = co_await socks5::await_bind_peer(*ticket, proxy);
      peer = net::to_string(net::host_port{who.host, who.port}) + " via " + proxy.display();
    } catch (const session_error& e) {
      failure = e.what();
    }
    pending_bind_ = nullptr;
    {
      std::lock_guard lock(mu_);
      if (stopping_) break;
    }
    if (peer.empty()) {
      log_.warn(failure);
      continue;  // ask the proxy again
    }
    asio::co_spawn(strand_,
                   serve(std::make_unique<net::tcp_transport>(std::move(ticket->socket)), peer),
                   asio::detached);
    if (opts_.once) break;
  }
}

asio::awaitable<void> server::serve(std::unique_ptr<net::transport> t, std::string peer_name) {
  auto stream = std::make_shared<net::frame_stream>(std::move(t), opts_.timeout);
  // Sessions through a BIND all come from the proxy: count them globally only.
  const std::string host = peer_name.empty() ? host_of(stream->peer()) : std::string();
  std::string refusal;
  {
    std::lock_guard lock(mu_);
    if (stopping_) {
      refusal = "receiver is shutting down";
    } else if (sessions_.size() >= opts_.max_sessions) {
      refusal = "receiver is busy (" + std::to_string(opts_.max_sessions) +
                " sessions, its --max-sessions)";
    } else if (!host.empty() && per_host_[host] >= opts_.max_sessions_per_host) {
      refusal = "receiver is busy (" + std::to_string(opts_.max_sessions_per_host) +
                " sessions from " + host + ", its --max-sessions-per-host)";
    } else {
      sessions_.insert(stream);
      if (!host.empty()) ++per_host_[host];
    }
  }
  if (!refusal.empty()) {
    stream->set_idle_timeout(std::chrono::seconds(2));  // a refused peer gets no more
    co_await refuse(*stream, refusal);
    co_return;
  }
  if (!peer_name.empty()) stream->set_peer(peer_name);
  const auto peer = stream->peer();
  const auto start = std::chrono::steady_clock::now();
  log_.event(json_line("session_start").str("peer", peer));

  session_result result =
      co_await run_session(stream, opts_, root_, log_, disk_.get_executor(), budgets_);
  stream->close();

  bool cut = false;
  {
    std::lock_guard lock(mu_);
    sessions_.erase(stream);
    if (!host.empty() && --per_host_[host] == 0) per_host_.erase(host);
    cut = stopping_ && result.code != exit_code::ok && result.message.size() > 0;
    if (cut) cut_sessions_ = true;
    // The last session out lets the process end: nothing else may wait.
    if (stopping_ && sessions_.empty()) asio::post(strand_, [this] { finish(); });
  }
  if (cut) result.message = "cut short by shutdown: " + result.message;

  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::string line = peer + ": session ";
  line += result.message.empty() ? "done" : "failed: " + result.message;
  line += ", " + std::to_string(result.files_stored) + " files, " +
          format_bytes(result.bytes_stored) + " stored";
  if (result.refusals_unlogged > 0)
    line += " (" + std::to_string(result.refusals_unlogged) +
            " more rejected or skipped entries not logged one by one)";
  if (result.message.empty())
    log_.info(line);
  else
    log_.warn(line);
  log_.event(json_line("session_end")
                 .str("peer", peer)
                 .num("files", result.files_stored)
                 .num("bytes", result.bytes_stored)
                 .num("rejected", result.files_rejected)
                 .num("failed", result.files_failed)
                 .num("unlogged", result.refusals_unlogged)
                 .real("seconds", secs)
                 .num("exit_code", to_int(result.code))
                 .str("error", result.message));

  if (opts_.once) {
    std::lock_guard lock(mu_);
    status_ = stop_signal_ != 0 ? 128 + stop_signal_ : to_int(result.code);
    asio::post(strand_, [this] { finish(); });
  }
}

// Part files that interrupted transfers left: count them (the operator
// sees what resumes could use), remove those older than --partial-ttl.
// The walk runs on the disk pool; the result is logged from there.
void server::sweep_partials() {
  asio::post(disk_, [this] {
    const auto r = root_.sweep_partials(opts_.partial_ttl, std::chrono::system_clock::now());
    if (r.kept > 0 || r.removed > 0) {
      std::string line = std::to_string(r.kept) + " part files (" + format_bytes(r.kept_bytes) +
                         ") kept for resumes in " + root_.path();
      if (r.removed > 0)
        line += "; removed " + std::to_string(r.removed) + " (" + format_bytes(r.removed_bytes) +
                ") older than --partial-ttl";
      log_.info(line);
    }
    log_.event(json_line("partials")
                   .num("kept", r.kept)
                   .num("kept_bytes", r.kept_bytes)
                   .num("removed", r.removed)
                   .num("removed_bytes", r.removed_bytes));
  });
  if (opts_.partial_ttl.count() == 0) return;
  sweep_timer_.expires_after(std::chrono::hours(1));
  sweep_timer_.async_wait([this](const std::error_code& e) {
    if (!e) sweep_partials();
  });
}

void server::on_signal(int signo) {
  stop_accepting();
  std::error_code ignored;
  if (pending_bind_ != nullptr) pending_bind_->close(ignored);
  std::size_t open = 0;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    stop_signal_ = signo;
    open = sessions_.size();
    if (opts_.once && open == 0) status_ = 128 + signo;
  }
  log_.info(std::string("caught ") + (signo == SIGINT ? "SIGINT" : "SIGTERM") + ", stopping" +
            (open > 0 ? " (waiting for " + std::to_string(open) + " sessions)" : ""));
  if (open == 0) {
    finish();
    return;
  }
  grace_timer_.expires_after(opts_.grace);
  grace_timer_.async_wait([this](const std::error_code& e) {
    if (!e) shut_down_sessions();
  });
  // A second signal stops at once.
  signals_.async_wait([this](const std::error_code& e, int) {
    if (!e) shut_down_sessions();
  });
}

void server::shut_down_sessions() {
  std::lock_guard lock(mu_);
  cut_sessions_ = cut_sessions_ || !sessions_.empty();
  for (const auto& s : sessions_) {
    // Each stream belongs to its session's strand; close it there.
    asio::post(s->executor(), [s] { s->close(); });
  }
  if (!opts_.once || status_ == 0) status_ = 128 + stop_signal_;
}

}  // namespace ferry::recv
