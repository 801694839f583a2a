// The sender's view of its arguments: expands files and directories into
// the ordered list of entries to offer, with the names they get remotely.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "framing/frame.hpp"

namespace ferry::fileio {

struct source_entry {
  std::string local_path;   // where to read it; empty for stdin
  std::string remote_path;  // relative '/'-separated name on the receiver
  framing::entry_kind kind = framing::entry_kind::file;
  bool size_known = true;
  std::uint64_t size = 0;
  std::uint32_t mode = 0;
  std::int64_t mtime_ns = 0;
};

struct source_list {
  std::vector<source_entry> entries;
  std::vector<std::string> warnings;  // skipped symlinks, special files
  std::vector<std::string> errors;    // unreadable or missing paths
};

/// Expands `paths` like `cp -r`: a directory "photos/" or "/abs/photos"
/// becomes "photos/..."; files keep their last component. Symlinks are
/// skipped with a warning unless `follow_symlinks` (then directory loops are
/// detected and skipped). Directory entries are sorted by name.
source_list collect_sources(const std::vector<std::string>& paths, bool follow_symlinks);

/// The name a command-line path gets on the receiver ("a/b/" -> "b").
/// Empty when there is none ("/").
std::string remote_name_for(const std::string& path);

}  // namespace ferry::fileio
