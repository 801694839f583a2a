#include "receiver/run.hpp"

#include <algorithm>
#include <memory>
#include <thread>
#include <vector>

#include "fileio/dest.hpp"
#include "link/classify.hpp"
#include "receiver/server.hpp"

namespace ferry::recv {

int run(const options& opts) {
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
