#include "receiver/run.hpp"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <thread>
#include <vector>

#include "fileio/dest.hpp"
#include "link/classify.hpp"
#include "receiver/server.hpp"
#include "secure/identity.hpp"

namespace ferry::recv {

namespace {

// --show-identity, --new-token: print and exit.
int key_command(const options& opts) {
  try {
    const auto dir = secure::config_dir(opts.config_dir);
    const auto id = secure::identity::load_or_create(dir, "");
    if (opts.show_identity) {
      std::printf("%s\n%s\n", id.line().c_str(), secure::fingerprint(id.key()).c_str());
      return 0;
    }
    const auto token = secure::new_token(dir / "tokens", opts.new_token);
    std::printf("%s\n", token.c_str());
    std::fprintf(stderr,
                 "ferry-recv: token '%s' stored in %s; it is shown only this once. Senders "
                 "present it from $FERRY_TOKEN or --token-file.\n",
                 opts.new_token.c_str(), (dir / "tokens").c_str());
    return 0;
  } catch (const failure& e) {
    std::fprintf(stderr, "ferry-recv: %s\n", e.message().c_str());
    return to_int(link::classify(e));
  }
}

}  // namespace

int run(const options& opts) {
  if (opts.show_identity || !opts.new_token.empty()) return key_command(opts);
  logger log("ferry-recv", opts.json, opts.quiet);
  fileio::dest_root root;
  if (auto ec = fileio::dest_root::open(opts.dir, root)) {
    log.warn("open receive directory " + opts.dir + ": " + ec.message());
    return to_int(exit_code::local_io);
  }
  try {
    // One io_context per core (at most 8), each run by one thread.
    const unsigned threads = std::clamp(std::thread::hardware_concurrency(), 1u, 8u);
    std::vector<std::unique_ptr<asio::io_context>> pool;
    for (unsigned k = 0; k < threads; ++k)
      pool.push_back(std::make_unique<asio::io_context>(1));
    server srv(pool, opts, root, log);
    srv.start();
    std::vector<std::thread> helpers;
    for (unsigned k = 1; k < threads; ++k)
      helpers.emplace_back([&ctx = *pool[k]] { ctx.run(); });
    pool[0]->run();
    for (auto& t : helpers)
      t.join();
    return srv.exit_status();
  } catch (const failure& e) {  // the listen address, bound before anything runs
    log.warn(e.message());
    return to_int(link::classify(e));
  } catch (const std::exception& e) {
    log.warn(std::string("internal error: ") + e.what());
    return to_int(exit_code::local_io);
  }
}

}  // namespace ferry::recv
