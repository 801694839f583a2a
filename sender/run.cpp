#include "sender/run.hpp"

#include <unistd.h>

#include <asio.hpp>
#include <csignal>

#include "link/classify.hpp"
#include "sender/gather.hpp"
#include "sender/progress.hpp"
#include "sender/report.hpp"
#include "sender/session.hpp"
#include "util/session_error.hpp"

namespace ferry::send {

int run(const options& opts) {
  logger log("ferry-send", opts.json, opts.quiet);
  for (const auto& w : opts.warnings)
    log.warn(w);
  const auto start = std::chrono::steady_clock::now();
  exit_code code = exit_code::ok;
  send_result result;
  std::string error;
  int signal_number = 0;
  try {
    auto g = gather(opts, log);
    code = g.code;
    result.failed = g.failed;
    const auto entries = std::move(g.entries);
    if (entries.empty())
      throw session_error(code == exit_code::ok ? exit_code::usage : code, "nothing to send");
    std::uint64_t total = 0;
    for (const auto& e : entries)
      total += e.size;
    progress_meter progress(log, !opts.quiet && ::isatty(STDERR_FILENO) != 0, total);

    asio::io_context ctx;
    asio::signal_set signals(ctx, SIGINT, SIGTERM);
    signals.async_wait([&](const std::error_code& ec, int signo) {
      if (ec) return;
      signal_number = signo;
      ctx.stop();  // destroys the session; the receiver discards the part file
    });
    std::exception_ptr failed;
    asio::co_spawn(ctx, run_send(opts, entries, log, progress, result), [&](std::exception_ptr ex) {
      failed = ex;
      signals.cancel();
    });
    ctx.run();
    progress.clear();
    if (failed) std::rethrow_exception(failed);
    code = worse(code, result.code);
  } catch (const session_error& e) {
    code = e.code();
    error = e.message();
  } catch (const failure& e) {
    code = link::classify(e);
    error = e.message();
  }
  if (signal_number != 0) {
    code = static_cast<exit_code>(128 + signal_number);
    error = signal_number == SIGINT ? "interrupted by SIGINT" : "interrupted by SIGTERM";
  }
  report_run(log, result, code, error,
             std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return to_int(code);
}

}  // namespace ferry::send
