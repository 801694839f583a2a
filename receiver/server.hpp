// ferry-recv's listener: accepts connections, runs each session on its own
// strand, caps concurrent sessions, and stops cleanly on SIGINT/SIGTERM.
#pragma once

#include <asio.hpp>
#include <memory>
#include <mutex>
#include <set>

#include "fileio/dest.hpp"
#include "net/frame_stream.hpp"
#include "receiver/options.hpp"
#include "util/exit_codes.hpp"
#include "util/log.hpp"

namespace ferry::recv {

class server {
 public:
  server(asio::io_context& ctx, const options& opts, const fileio::dest_root& root, logger& log);

  /// Binds the listen address and starts accepting; throws session_error
  /// (exit_code::connect) when the address cannot be bound.
  void start();

  /// The process exit status once the io_context has run out of work.
  int exit_status() const { return status_; }

 private:
  asio::awaitable<void> accept_loop();
  asio::awaitable<void> serve(asio::ip::tcp::socket socket);
  asio::awaitable<void> refuse(net::frame_stream& stream, const std::string& why);
  void on_signal(int signo);
  void shut_down_sessions();

  asio::io_context& ctx_;
  const options& opts_;
  const fileio::dest_root& root_;
  logger& log_;
  asio::strand<asio::io_context::executor_type> strand_;
  asio::ip::tcp::acceptor acceptor_;
  asio::signal_set signals_;
  asio::steady_timer grace_timer_;

  std::mutex mu_;  // guards the fields below; sessions run on other strands
  std::set<std::shared_ptr<net::frame_stream>> sessions_;
  bool stopping_ = false;
  int stop_signal_ = 0;
  bool cut_sessions_ = false;
  int status_ = 0;
};

}  // namespace ferry::recv
