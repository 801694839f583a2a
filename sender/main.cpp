// ferry-send: send files and directories to a ferry-recv.
#include <unistd.h>

#include <algorithm>
#include <asio.hpp>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>

#include "fileio/tree.hpp"
#include "link/classify.hpp"
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

/// What the sender will offer, and what it could not.
struct gathered {
  std::vector<fileio::source_entry> entries;
  std::size_t failed = 0;  // named paths (or paths inside them) that are not sent
  exit_code code = exit_code::ok;
};

// Each path the user named, with the name it gets on the receiver: path
// arguments by cp -r's rule (or whole, with -R), --files-from entries
// whole, as rsync keeps them. Throws a usage error for a list entry that
// cannot be kept as written.
std::vector<fileio::source_arg> name_paths(const send::options& opts) {
  std::vector<fileio::source_arg> args;
  std::string why;
  for (const auto& p : opts.paths) {
    if (p == "-") continue;
    std::string remote =
        opts.relative ? fileio::relative_remote_name(p, why) : fileio::remote_name_for(p);
    if (opts.relative && remote.empty())
      throw session_error(exit_code::usage, "-R: " + p + " " + why);
    args.push_back({p, std::move(remote)});
  }
  if (!opts.files_from.empty()) {
    const auto list = read_path_list(opts);
    for (std::size_t i = 0; i < list.size(); ++i) {
      std::string remote = fileio::relative_remote_name(list[i], why);
      if (remote.empty())
        throw session_error(exit_code::usage, "--files-from " + opts.files_from + ", entry " +
                                                  std::to_string(i + 1) + ": '" + list[i] + "' " +
                                                  why);
      args.push_back({list[i], std::move(remote)});
    }
  }
  return args;
}

gathered gather(const send::options& opts, logger& log) {
  gathered g;
  auto sources = fileio::collect_sources(name_paths(opts), opts.follow_symlinks);
  for (const auto& w : sources.warnings) {
    log.warn(w);
    log.event(json_line("warning").str("message", w));
  }
  // Nothing the user named is left out quietly: each one not sent counts
  // as failed, and the run cannot end with 0.
  for (const auto& e : sources.errors) {
    log.warn(e.message);
    log.event(json_line("path_error").str("path", e.path).str("message", e.message));
    ++g.failed;
    const bool unreadable = !e.message.starts_with("not sending ");
    g.code = worse(g.code, unreadable ? exit_code::local_io : exit_code::partial);
  }
  // One name, one entry: two files that would land on one name are a
  // mistake to fix before anything is sent.
  constexpr std::size_t shown = 5;
  std::size_t collisions = 0;
  const auto clashes = fileio::remove_duplicates(sources.entries, shown, collisions);
  if (collisions > 0) {
    std::string msg = std::to_string(collisions) +
                      (collisions == 1 ? " entry arrives" : " entries arrive") +
                      " under a name another entry has: ";
    for (std::size_t i = 0; i < clashes.size(); ++i)
      msg += (i ? "; " : "") + clashes[i];
    if (collisions > clashes.size()) msg += "; ...";
    msg += opts.relative || !opts.files_from.empty()
               ? ""
               : " (-R keeps whole relative paths, --files-from does too)";
    throw session_error(exit_code::usage, msg);
  }
  if (std::any_of(opts.paths.begin(), opts.paths.end(), [](const auto& p) { return p == "-"; })) {
    if (std::any_of(sources.entries.begin(), sources.entries.end(),
                    [&](const auto& e) { return e.remote_path == opts.stdin_name; })) {
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
  g.entries = std::move(sources.entries);
  return g;
}

}  // namespace

double loss_percent(const net::transport_stats& u) {
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
    auto g = gather(opts, log);
    code = g.code;
    result.failed = g.failed;
    const auto entries = std::move(g.entries);
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
    asio::co_spawn(ctx, send::run_send(opts, entries, log, progress, result),
                   [&](std::exception_ptr ex) {
                     failure = ex;
                     signals.cancel();
                   });
    ctx.run();
    progress.clear();
    if (failure) std::rethrow_exception(failure);
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
    if (const auto& u = result.link) {
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
      .str("transport", result.transport.empty() ? "none" : result.transport);
  if (const auto& u = result.link) {
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
