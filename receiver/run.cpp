#include "receiver/run.hpp"

#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "fileio/dest.hpp"
#include "link/classify.hpp"
#include "receiver/server.hpp"
#include "secure/identity.hpp"
#include "util/units.hpp"

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

// Whether anything could be stored in `dir` at all: a read-only file
// system, a directory we may not write in, or a file system no larger than
// the --min-free reserve would refuse every file, each with a message that
// hides the cause. Returns why not; warns when the reserve is already
// reached (space may yet be freed).
std::optional<std::string> cannot_store(const std::string& dir, const options& opts, logger& log) {
  struct statvfs st {};
  if (::statvfs(dir.c_str(), &st) == 0) {
    if ((st.f_flag & ST_RDONLY) != 0)
      return "cannot store into " + dir + ": it is on a read-only file system";
    const std::uint64_t total = static_cast<std::uint64_t>(st.f_blocks) * st.f_frsize;
    const std::uint64_t avail = static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize;
    const std::uint64_t keep =
        opts.min_free_percent != 0 ? total / 100 * opts.min_free_percent : opts.min_free;
    if (keep > 0 && total <= keep)
      return "cannot store into " + dir + ": its file system holds " + format_bytes(total) +
             " in all, no more than the --min-free reserve of " + format_bytes(keep) +
             ", so every file would be refused (lower --min-free)";
    if (keep > 0 && avail <= keep)
      log.warn("only " + format_bytes(avail) + " free for " + dir + ", within the --min-free " +
               "reserve of " + format_bytes(keep) + ": files are refused until space is freed");
  }
  // Writable? A nameless file tells without leaving anything behind (a
  // named probe, removed at once, where the file system has no O_TMPFILE).
  int fd = ::open(dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
    std::string probe = dir + "/.ferry-probe-XXXXXX";
    fd = ::mkostemp(probe.data(), O_CLOEXEC);
    if (fd >= 0) ::unlink(probe.c_str());
  }
  if (fd < 0) {
    const int err = errno;
    if (err == EROFS) return "cannot store into " + dir + ": it is on a read-only file system";
    return "cannot store into " + dir + ": cannot create a file there: " + std::strerror(err);
  }
  ::close(fd);
  return std::nullopt;
}

}  // namespace

int run(const options& opts) {
  if (opts.show_identity || !opts.new_token.empty()) return key_command(opts);
  if (opts.to_stdout) {
    // A closed fd 1 would be taken by the next file or socket opened, and
    // the content written there: refuse. A reader that goes away gives
    // EPIPE (a message and exit 7), not a silent death by SIGPIPE.
    if (::fcntl(STDOUT_FILENO, F_GETFL) < 0) {
      std::fprintf(stderr, "ferry-recv: --stdout: standard output is closed\n");
      return to_int(exit_code::usage);
    }
    std::signal(SIGPIPE, SIG_IGN);
  }
  logger log("ferry-recv", opts.json, opts.quiet);
  fileio::dest_root root;
  auto fatal = [&](const std::string& message, exit_code code) {
    log.warn(message);
    log.event(json_line("error").str("message", message).num("exit_code", to_int(code)));
    return to_int(code);
  };
  if (auto ec = fileio::dest_root::open(opts.dir, root))
    return fatal("open receive directory " + opts.dir + ": " + ec.message(), exit_code::local_io);
  if (!opts.to_stdout)
    if (auto why = cannot_store(opts.dir, opts, log)) return fatal(*why, exit_code::local_io);
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
    return fatal(e.message(), link::classify(e));
  } catch (const std::exception& e) {
    return fatal(std::string("internal error: ") + e.what(), exit_code::local_io);
  }
}

}  // namespace ferry::recv
