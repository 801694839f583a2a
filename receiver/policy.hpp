// The receiver's decision about an offer, as pure functions of what it
// knows: the offer, the session's tallies and limits, what exists at the
// path, the overwrite mode. No disk, clock or budget here: the session
// creates parents, stats the path and hashes an existing file around
// these calls (receiver/session.cpp), and the table in
// tests/receiver/policy_test.cpp pins each rule.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fileio/dest.hpp"
#include "framing/frame.hpp"
#include "receiver/options.hpp"

namespace ferry::recv {

enum class choice {
  accept,           // create it; a directory that is already here: use it, as it is
  replace,          // a different file is there and may be replaced; a directory
                    // here takes the offer's mode and mtime
  skip,             // an identical file is there
  reject,           // say why, store nothing
  compare_content,  // same size and the sender sent its hash: hash ours, then ask again
};

struct decision {
  choice what = choice::accept;
  std::string reason;  // for skip and reject
};

/// What the session has agreed to so far, before this offer.
struct session_tally {
  std::uint64_t offers = 0;           // offers decided (each counts, rejected or not)
  std::uint64_t committed_bytes = 0;  // sizes of the files accepted
  std::size_t root_depth = 0;         // the session's directory below --dir (dir=, --to)
};

/// The checks that need nothing but the offer: entry and size limits, a
/// path that may be created. accept (with the path's components in
/// `components`) or reject; nothing may touch the disk for a reject.
decision check_offer(const framing::offer& o, const options& limits, const session_tally& tally,
                     std::vector<std::string>& components);

/// What to do given what exists at the path. `mtime_ns` is the offer's,
/// already clamped to the near future; `same_content`, once known, whether
/// the existing file hashes to the offer's hash.
decision against_existing(const framing::offer& o, std::int64_t mtime_ns,
                          const fileio::existing_entry& have, overwrite_policy overwrite,
                          std::optional<bool> same_content = std::nullopt);

}  // namespace ferry::recv
