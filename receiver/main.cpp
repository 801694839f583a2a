// ferry-recv: receive files from ferry-send into a directory.
#include <cstdio>
#include <thread>

#include "fileio/dest.hpp"
#include "receiver/options.hpp"
#include "receiver/server.hpp"

int main(int argc, char** argv) {
  using namespace ferry;
  const auto parsed = recv::parse_options(argc, argv);
  if (const auto* e = std::get_if<recv::early_exit>(&parsed)) {
    std::fputs(e->text.c_str(), e->code == 0 ? stdout : stderr);
    return e->code;
  }
  const auto& opts = std::get<recv::options>(parsed);
  logger log("ferry-recv", opts.json, opts.quiet);
  fileio::dest_root root;
  if (auto ec = fileio::dest_root::open(opts.dir, root)) {
    log.warn("open receive directory " + opts.dir + ": " + ec.message());
    return to_int(exit_code::local_io);
  }
  try {
    asio::io_context ctx;
    recv::server srv(ctx, opts, root, log);
    srv.start();
    // Two threads: sessions on different strands use both cores.
    std::thread helper([&ctx] { ctx.run(); });
    ctx.run();
    helper.join();
    return srv.exit_status();
  } catch (const session_error& e) {
    log.warn(e.what());
    return to_int(e.code());
  } catch (const std::exception& e) {
    log.warn(std::string("internal error: ") + e.what());
    return to_int(exit_code::local_io);
  }
}
