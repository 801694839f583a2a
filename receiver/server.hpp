// ferry-recv's listener: accepts connections, hands each session to one
// io_context of a pool (one thread each, so a session never hops between
// cores), caps concurrent sessions, and stops cleanly on SIGINT/SIGTERM.
#pragma once

#include <asio.hpp>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <vector>

#include "fileio/dest.hpp"
#include "link/listen.hpp"
#include "net/frame_stream.hpp"
#include "receiver/budget.hpp"
#include "receiver/options.hpp"
#include "secure/channel.hpp"
#include "secure/handshake.hpp"
#include "secure/identity.hpp"
#include "util/exit_codes.hpp"
#include "util/log.hpp"

namespace ferry::recv {

class server {
 public:
  /// `pool` holds one io_context per thread; the first also runs the
  /// acceptor and the signal handling. Each is kept running until the
  /// server is done, so run them all until they return.
  server(std::vector<std::unique_ptr<asio::io_context>>& pool, const options& opts,
         const fileio::dest_root& root, logger& log);

  /// Binds the listen address and starts accepting (or asks the proxy to
  /// BIND); throws session_error (exit_code::connect) when the address
  /// cannot be bound.
  void start();

  /// The process exit status once the io_contexts have run out of work.
  int exit_status() const { return status_; }

 private:
  static link::listen_plan plan_for(const options& opts);
  link::listener::hooks listener_hooks();
  void on_listening(const link::listening& at);
  /// Prints a one-time code (stderr and the `code` event) for the operator.
  void announce_code(const std::string& code, const std::string& why);
  /// Every accepted transport, from the listener: the one place a session begins.
  asio::awaitable<void> serve(std::unique_ptr<net::transport> t, std::string peer = {});
  void stop_accepting();
  asio::awaitable<void> refuse(net::frame_stream& stream, const std::string& why);
  void on_signal(int signo);
  void sweep_partials();  // now on the disk pool, then every hour
  void shut_down_sessions();
  void finish();  // on strand_: let every io_context run out of work
  static std::string host_of(const std::string& peer);

  std::vector<std::unique_ptr<asio::io_context>>& pool_;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> keep_running_;
  const options& opts_;
  const fileio::dest_root& root_;
  logger& log_;
  asio::strand<asio::io_context::executor_type> strand_;
  link::listener listener_;  // on strand_
  asio::signal_set signals_;
  asio::steady_timer grace_timer_;
  asio::steady_timer sweep_timer_;
  // Hashing existing and kept files (resume, --skip-identical) runs here, so
  // a large file does not hold up the sessions sharing a session thread.
  asio::thread_pool disk_{2};
  // Free space and memory every session draws on.
  shared_budgets budgets_;

  // Who we are, our TLS settings, and who may send (secure/).
  std::filesystem::path config_dir_;
  secure::identity id_;
  std::unique_ptr<secure::tls_context> tls_;
  secure::authorizer authz_;
  std::string authz_what_;
  std::atomic<bool> authz_started_{false};  // set on strand_ (on_listening)
  std::string pending_code_;
  std::mutex mu_;            // guards the fields below; sessions run on other strands
  std::size_t active_ = 0;   // sessions holding a slot
  bool closed_all_ = false;  // shut_down_sessions() ran: late sessions close at once
  bool once_taken_ = false;  // --once: the authorised session has begun
  bool once_done_ = false;
  std::set<std::shared_ptr<net::frame_stream>> sessions_;
  std::map<std::string, std::size_t> per_host_;  // open sessions by peer address
  bool stopping_ = false;
  int stop_signal_ = 0;
  bool cut_sessions_ = false;
  int status_ = 0;
};

}  // namespace ferry::recv
