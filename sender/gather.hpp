// What the sender will offer: each path the user named (arguments by cp
// -r's rule or whole with -R, --files-from entries whole), walked, with
// the names they get on the receiver. What cannot be sent is counted, not
// dropped; two entries under one name are a usage error.
#pragma once

#include <cstddef>
#include <vector>

#include "fileio/tree.hpp"
#include "sender/options.hpp"
#include "util/exit_codes.hpp"
#include "util/log.hpp"

namespace ferry::send {

/// What the sender will offer, and what it could not.
struct gathered {
  std::vector<fileio::source_entry> entries;
  std::size_t failed = 0;  // named paths (or paths inside them) that are not sent
  exit_code code = exit_code::ok;
};

/// Throws session_error: usage for name collisions and bad list entries,
/// local_io when the --files-from list cannot be read.
gathered gather(const options& opts, logger& log);

}  // namespace ferry::send
