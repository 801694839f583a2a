#include "sender/gather.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "util/session_error.hpp"

namespace ferry::send {
namespace {

// The whole of a list file (`-`: stdin) named by option `what`; throws
// session_error(local_io) with the reason when it cannot (a directory, no
// permission, an unreadable special file), never an exception of the
// stream library.
std::string read_list_file(const std::string& path, const char* what) {
  const int fd = path == "-" ? STDIN_FILENO : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  auto fail = [&](int err) {
    throw session_error(exit_code::local_io,
                        std::string(what) + " " + path + ": " + std::strerror(err));
  };
  if (fd < 0) fail(errno);
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    if (fd != STDIN_FILENO) ::close(fd);
    fail(EISDIR);
  }
  std::string text;
  char buf[65536];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      if (fd != STDIN_FILENO) ::close(fd);
      fail(err);
    }
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
  }
  if (fd != STDIN_FILENO) ::close(fd);
  return text;
}

// Reads the --files-from list; throws session_error(local_io) when it cannot.
std::vector<std::string> read_path_list(const options& opts) {
  return split_path_list(read_list_file(opts.files_from, "--files-from"), opts.null_separated);
}

// Each path the user named, with the name it gets on the receiver: path
// arguments by cp -r's rule (or whole, with -R), --files-from entries
// whole, as rsync keeps them. Throws a usage error for a list entry that
// cannot be kept as written.
std::vector<fileio::source_arg> name_paths(const options& opts) {
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

// The --exclude and --exclude-from patterns; throws session_error(local_io)
// when the file cannot be read.
fileio::exclude_rules exclude_rules_of(const options& opts) {
  fileio::exclude_rules rules;
  for (const auto& p : opts.exclude)
    rules.add(p);
  if (!opts.exclude_from.empty())
    rules.add_lines(read_list_file(opts.exclude_from, "--exclude-from"));
  return rules;
}

}  // namespace

gathered gather(const options& opts, logger& log) {
  gathered g;
  const auto rules = exclude_rules_of(opts);
  auto sources = fileio::collect_sources(name_paths(opts), opts.follow_symlinks, rules);
  if (sources.excluded > 0)
    log.info("excluded " + std::to_string(sources.excluded) +
             (sources.excluded == 1 ? " entry" : " entries") + " (--exclude)");
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

}  // namespace ferry::send
