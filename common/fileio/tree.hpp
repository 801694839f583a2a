// The sender's view of its arguments: expands files and directories into
// the ordered list of entries to offer, with the names they get remotely.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fileio/exclude.hpp"
#include "util/vocabulary.hpp"

namespace ferry::fileio {

struct source_entry {
  std::string local_path;   // where to read it; empty for stdin
  std::string remote_path;  // relative '/'-separated name on the receiver
  entry_kind kind = entry_kind::file;
  bool size_known = true;
  std::uint64_t size = 0;
  std::uint32_t mode = 0;
  std::int64_t mtime_ns = 0;
  std::uint64_t device = 0, inode = 0;  // which file it is (0: stdin)
};

/// A path the user named, and the name it gets on the receiver.
struct source_arg {
  std::string local;
  std::string remote;
};

/// A path the user named (or one inside it) that is not sent.
struct path_problem {
  std::string path;
  std::string message;
};

struct source_list {
  std::vector<source_entry> entries;
  std::vector<std::string> warnings;  // symlinks and special files skipped inside a directory
  std::vector<path_problem> errors;   // unreadable or missing paths, named ones skipped
  std::size_t excluded = 0;           // entries --exclude left out (a directory counts once)
};

/// Expands each argument, a directory recursively: "photos" named
/// "photos" becomes "photos/...". Symlinks are skipped unless
/// `follow_symlinks` (then directory loops are detected and skipped): with a
/// warning inside a directory, as an error when the user named the symlink
/// itself (so the run cannot report success). Directory entries are sorted
/// by name. What `exclude` matches (by its remote path) is left out, a
/// directory with all it holds.
source_list collect_sources(const std::vector<source_arg>& args, bool follow_symlinks,
                            const exclude_rules& exclude = {});

/// The name a command-line path gets on the receiver by cp -r's rule, its
/// last component ("a/b/" -> "b"). Empty when there is none ("/").
std::string remote_name_for(const std::string& path);

/// The name a path gets with --relative and --files-from: the whole path as
/// written, like rsync's -R: leading "/" and "./" dropped, "//" and "/./"
/// collapsed, a trailing "/" dropped; "dir/./sub/f" keeps only "sub/f" (the
/// "/./" marks where the kept part starts). Empty, with `why` set, for a
/// ".." component or a path that names nothing ("/", ".").
std::string relative_remote_name(std::string_view path, std::string& why);

/// Two different entries that would arrive under one name: one line each
/// ("a/x.csv and b/x.csv both arrive as x.csv"), at most `limit` of them.
/// The same file named twice under the same name (however the path was
/// spelt) is dropped from `entries`, not reported.
std::vector<std::string> remove_duplicates(std::vector<source_entry>& entries, std::size_t limit,
                                           std::size_t& collisions);

}  // namespace ferry::fileio
