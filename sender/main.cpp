// ferry-send: send files and directories to a ferry-recv.
#include <unistd.h>

#include <asio.hpp>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <set>

#include "fileio/tree.hpp"
#include "sender/options.hpp"
#include "sender/progress.hpp"
#include "sender/session.hpp"
#include "util/session_error.hpp"
#include "util/units.hpp"

namespace {

using namespace ferry;

// Reads the --files-from list; throws session_error(local_io) when it cannot.
std::vector<std::string> read_path_list(const send::options& opts) {
  std::string text;
  if (opts.files_from == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), {});
  } else {
    std::ifstream in(opts.files_from, std::ios::binary);
    if (!in)
      throw session_error(exit_code::local_io, "--files-from " + opts.files_from + ": cannot open");
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  return send::split_path_list(text, opts.null_separated);
}

std::vector<fileio::source_entry> gather(const send::options& opts, logger& log, exit_code& code) {
  std::vector<std::string> paths;
  bool stream_stdin = false;
  for (const auto& p : opts.paths) {
    if (p == "-")
      stream_stdin = true;
    else
      paths.push_back(p);
  }
  if (!opts.files_from.empty()) {
    auto more = read_path_list(opts);
    paths.insert(paths.end(), more.begin(), more.end());
  }
  auto sources = fileio::collect_sources(paths, opts.follow_symlinks);
  for (const auto& w : sources.warnings) {
    log.warn(w);
    log.event(json_line("warning").str("message", w));
  }
  for (const auto& e : sources.errors) {
    log.warn(e);
    log.event(json_line("warning").str("message", e));
    code = exit_code::local_io;
  }
  // One name, one offer: a path named twice (or two arguments with the same
  // last component) would race itself on the receiver.
  std::set<std::string> seen;
  std::erase_if(sources.entries, [&](const fileio::source_entry& e) {
    if (seen.insert(e.remote_path).second) return false;
    const std::string w =
        "skipping " + e.local_path + ": " + e.remote_path + " is already being sent";
    log.warn(w);
    log.event(json_line("warning").str("message", w));
    return true;
  });
  if (stream_stdin) {
    if (seen.contains(opts.stdin_name)) {
      throw session_error(exit_code::usage,
                          "--name " + opts.stdin_name + " is also the name of a path being sent");
    }
    fileio::source_entry e;
    e.remote_path = opts.stdin_name;
    e.size_known = false;
    e.mode = 0644;
    e.mtime_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
    sources.entries.push_back(std::move(e));
  }
  return std::move(sources.entries);
}

}  // namespace

double loss_percent(const rudp::stats& u) {
  return u.packets_sent
             ? 100.0 * static_cast<double>(u.packets_lost) / static_cast<double>(u.packets_sent)
             : 0.0;
}

int main(int argc, char** argv) {
  const auto parsed = send::parse_options(argc, argv, [](const char* n) { return std::getenv(n); });
  if (const auto* e = std::get_if<send::early_exit>(&parsed)) {
    std::fputs(e->text.c_str(), e->code == 0 ? stdout : stderr);
    return e->code;
  }
  const auto& opts = std::get<send::options>(parsed);
  std::signal(SIGPIPE, SIG_IGN);
  logger log("ferry-send", opts.json, opts.quiet);
  for (const auto& w : opts.warnings)
    log.warn(w);
  const auto start = std::chrono::steady_clock::now();
  exit_code code = exit_code::ok;
  send::send_result result;
  std::string error;
  int signal_number = 0;
  try {
    const auto entries = gather(opts, log, code);
    if (entries.empty()) {
      throw session_error(code == exit_code::ok ? exit_code::usage : code, "nothing to send");
    }
    std::uint64_t total = 0;
    for (const auto& e : entries)
      total += e.size;
    send::progress_meter progress(log, !opts.quiet && ::isatty(STDERR_FILENO) != 0, total);

    asio::io_context ctx;
    asio::signal_set signals(ctx, SIGINT, SIGTERM);
    signals.async_wait([&](const std::error_code& ec, int signo) {
      if (ec) return;
      signal_number = signo;
      ctx.stop();  // destroys the session; the receiver discards the part file
    });
    std::exception_ptr failure;
    asio::co_spawn(ctx, send::run_send(opts, entries, log, progress),
                   [&](std::exception_ptr ex, send::send_result r) {
                     failure = ex;
                     result = r;
                     signals.cancel();
                   });
    ctx.run();
    progress.clear();
    if (failure) std::rethrow_exception(failure);
    code = worse(code, result.code);
  } catch (const session_error& e) {
    code = e.code();
    error = e.what();
  }
  if (signal_number != 0) {
    code = static_cast<exit_code>(128 + signal_number);
    error = signal_number == SIGINT ? "interrupted by SIGINT" : "interrupted by SIGTERM";
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!error.empty()) {
    log.warn(error);
    log.event(json_line("error").str("message", error).num("exit_code", to_int(code)));
  }
  const double rate = secs > 0 ? static_cast<double>(result.bytes) / secs : 0;
  if (error.empty()) {
    const auto files = result.stored - result.directories;
    log.info("stored " + std::to_string(files) + (files == 1 ? " file" : " files") + " and " +
             std::to_string(result.directories) +
             (result.directories == 1 ? " directory, " : " directories, ") +
             format_bytes(result.bytes) + " in " + format_duration(secs) + " (" +
             format_rate(rate) + "); " + std::to_string(result.skipped) + " skipped, " +
             std::to_string(result.rejected) + " rejected, " + std::to_string(result.failed) +
             " failed");
    if (result.resumed > 0)
      log.info("resumed " + std::to_string(result.resumed) +
               (result.resumed == 1 ? " file" : " files") + " after " +
               format_bytes(result.bytes_resumed) + " the receiver had kept (hash verified)");
    if (result.restarted > 0)
      log.info(std::to_string(result.restarted) + (result.restarted == 1 ? " file" : " files") +
               " sent whole: the bytes the receiver had kept did not match");
    if (const auto& u = result.udp) {
      char line[200];
      std::snprintf(line, sizeof line,
                    "udp: rtt %.2f ms (min %.2f), %llu packets of up to %zu bytes sent, %llu "
                    "lost (%.2f%%), %s retransmitted",
                    static_cast<double>(u->srtt.count()) / 1000,
                    static_cast<double>(u->min_rtt.count()) / 1000,
                    static_cast<unsigned long long>(u->packets_sent), u->packet_size,
                    static_cast<unsigned long long>(u->packets_lost), loss_percent(*u),
                    format_bytes(u->bytes_retransmitted).c_str());
      log.info(line);
    }
  }
  json_line summary("summary");
  summary.num("stored", result.stored)
      .num("directories", result.directories)
      .num("skipped", result.skipped)
      .num("rejected", result.rejected)
      .num("failed", result.failed)
      .num("bytes", result.bytes)
      .num("resumed", result.resumed)
      .num("bytes_resumed", result.bytes_resumed)
      .num("restarted", result.restarted)
      .real("seconds", secs)
      .real("bytes_per_second", rate)
      .num("exit_code", to_int(code))
      .str("status", code == exit_code::ok ? "ok"
                     : error.empty()       ? "partial"
                                           : "error")
      .str("transport", opts.udp && result.udp ? "udp" : "tcp");
  if (const auto& u = result.udp) {
    summary.real("rtt_ms", static_cast<double>(u->srtt.count()) / 1000)
        .real("min_rtt_ms", static_cast<double>(u->min_rtt.count()) / 1000)
        .num("packets_sent", u->packets_sent)
        .num("packet_size", static_cast<std::uint64_t>(u->packet_size))
        .num("mtu_probes", u->mtu_probes)
        .num("packets_lost", u->packets_lost)
        .real("loss_percent", loss_percent(*u))
        .num("retransmitted_bytes", u->bytes_retransmitted)
        .num("duplicate_packets", u->duplicates);
  }
  log.event(summary);
  return to_int(code);
}
