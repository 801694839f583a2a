#include "sender/run.hpp"

#include <unistd.h>

#include <asio.hpp>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <functional>
#include <optional>

#include "link/classify.hpp"
#include "secure/handshake.hpp"
#include "sender/gather.hpp"
#include "sender/progress.hpp"
#include "sender/report.hpp"
#include "sender/session.hpp"
#include "util/session_error.hpp"
#include "util/units.hpp"

namespace ferry::send {
namespace {

// A secret from FILE ("-" = stdin) or the environment: its first line.
std::string read_secret(const std::string& file, const std::string& env_value, const char* what) {
  if (file.empty()) return env_value;
  std::FILE* f = file == "-" ? stdin : std::fopen(file.c_str(), "r");
  if (f == nullptr)
    throw session_error(exit_code::usage,
                        std::string(what) + " " + file + ": " + std::strerror(errno));
  char buf[512] = {};
  const bool got = std::fgets(buf, sizeof buf, f) != nullptr;
  if (f != stdin) std::fclose(f);
  if (!got) throw session_error(exit_code::usage, std::string(what) + " " + file + ": empty");
  return buf;
}

secure::client_plan plan_for(const options& opts, const secure::identity& id,
                             const std::filesystem::path& dir) {
  secure::client_plan plan;
  plan.own = id.key();
  plan.receiver_name = net::to_string(opts.dest);
  plan.known_file = dir / "known_receivers";
  plan.pin = opts.pin;
  if (const auto t = read_secret(opts.token_file, opts.token_env, "--token-file"); !t.empty()) {
    plan.token = secure::parse_token(t);
    if (!plan.token)
      throw session_error(exit_code::usage,
                          std::string(opts.token_file.empty() ? "FERRY_TOKEN" : "--token-file") +
                              ": not a ferry token (44 base64 characters, from ferry-recv "
                              "--new-token)");
  }
  if (const auto c = read_secret(opts.code_file, opts.code_env, "--code-file"); !c.empty()) {
    plan.code = secure::normalise_code(c);
    if (!plan.code)
      throw session_error(exit_code::usage,
                          std::string(opts.code_file.empty() ? "FERRY_CODE" : "--code-file") +
                              ": not a ferry code (10 letters and digits, as the receiver "
                              "printed it: xxxxx-xxxxx)");
  }
  return plan;
}

}  // namespace

// What an interruption leaves, and that the same command picks it up: the
// receiver keeps the part of a large file it got, and skips what it stored.
static std::string progress_note(const progress_state& st, bool resume) {
  if (st.files_done == 0 && st.done == 0) return {};
  std::string note = "; ";
  if (resume && !st.name.empty() && st.file_size_known && st.file_size > inline_max &&
      st.file_done > 0 && st.file_done < st.file_size)
    note += "up to " + format_bytes(st.file_done) + " of " + st.name +
            " sent: the receiver keeps what reached it; ";
  return note + "run the same command again to resume";
}

int show_identity(const options& opts) {
  try {
    const auto dir = secure::config_dir(opts.config_dir);
    const auto id = secure::identity::load_or_create(dir, "");
    std::printf("%s\n%s\n", id.line().c_str(), secure::fingerprint(id.key()).c_str());
    return 0;
  } catch (const failure& e) {
    std::fprintf(stderr, "ferry-send: %s\n", e.message().c_str());
    return to_int(link::classify(e));
  }
}

int run(const options& opts) {
  if (opts.show_identity) return show_identity(opts);
  logger log("ferry-send", opts.json, opts.quiet);
  for (const auto& w : opts.warnings)
    log.warn(w);
  const auto start = std::chrono::steady_clock::now();
  exit_code code = exit_code::ok;
  send_result result;
  std::string error;
  int signal_number = 0;
  std::optional<progress_meter> progress;
  bool from_files = false;  // a file, not only stdin: the same command can resume
  try {
    // Keys and secrets first: a setup mistake fails before any work.
    const auto dir = secure::config_dir(opts.config_dir);
    const auto id = secure::identity::load_or_create(dir, "");
    const auto plan = plan_for(opts, id, dir);
    auto g = gather(opts, log);
    code = g.code;
    result.failed = g.failed;
    const auto entries = std::move(g.entries);
    if (entries.empty())
      throw session_error(code == exit_code::ok ? exit_code::usage : code, "nothing to send");
    std::uint64_t total = 0, files = 0;
    bool sizes_known = true;
    for (const auto& e : entries) {
      total += e.size;
      if (e.kind == entry_kind::file) ++files;
      if (e.kind == entry_kind::file && !e.local_path.empty()) from_files = true;
      sizes_known = sizes_known && e.size_known;
    }
    progress.emplace(log, !opts.quiet && ::isatty(STDERR_FILENO) != 0, total, sizes_known, files);

    asio::io_context ctx;
    asio::signal_set signals(ctx, SIGINT, SIGTERM);
    signals.async_wait([&](const std::error_code& ec, int signo) {
      if (ec) return;
      signal_number = signo;
      ctx.stop();  // destroys the session; the receiver discards the part file
    });
    // The line and the events move with time too, not only with writes
    // (a whole slow file may sit in the transport's buffers at once).
    // `ended`, not only cancel(): a tick that expired together with the
    // session's end is already queued as a success, and cancel() cannot
    // take it back; it would re-arm the ticker and keep ctx.run() going
    // for ever (a deadline at a multiple of 250 ms hung the sender).
    asio::steady_timer ticker(ctx);
    bool ended = false;
    std::function<void()> tick = [&] {
      ticker.expires_after(std::chrono::milliseconds(250));
      ticker.async_wait([&](const std::error_code& ec) {
        if (ec || ended) return;
        progress->refresh();
        tick();
      });
    };
    tick();
    std::exception_ptr failed;
    asio::co_spawn(ctx, run_send(opts, entries, log, *progress, result, id, plan),
                   [&](std::exception_ptr ex) {
                     failed = ex;
                     ended = true;
                     signals.cancel();
                     ticker.cancel();
                   });
    ctx.run();
    if (!result.transport.empty()) progress->finish();  // a session ran
    progress->clear();
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
    if (progress && from_files) error += progress_note(progress->state(), opts.resume);
  }
  if (code == exit_code::auth) log.event(json_line("auth_failed").str("message", error));
  report_run(log, result, code, error,
             std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return to_int(code);
}

}  // namespace ferry::send
