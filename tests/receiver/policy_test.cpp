// The receiver's offer policy as tables: offer, limits, what exists,
// overwrite mode -> choice. No disk.
#include <gtest/gtest.h>

#include <limits>

#include "receiver/policy.hpp"
#include "util/checked.hpp"

namespace ferry::recv {
namespace {

using framing::entry_kind;
using type = fileio::existing_entry::type;

framing::offer file(std::uint64_t size, std::int64_t mtime = 1000, bool hash = false) {
  framing::offer o;
  o.kind = entry_kind::file;
  o.size = size;
  o.mtime_ns = mtime;
  o.path = "a/b.txt";
  o.has_hash = hash;
  return o;
}

framing::offer directory() {
  framing::offer o;
  o.kind = entry_kind::directory;
  o.path = "a/dir";
  return o;
}

framing::offer dir_at(std::int64_t mtime) {
  auto o = directory();
  o.mtime_ns = mtime;
  return o;
}

const char* name(choice c) {
  switch (c) {
    case choice::accept:
      return "accept";
    case choice::replace:
      return "replace";
    case choice::skip:
      return "skip";
    case choice::reject:
      return "reject";
    case choice::compare_content:
      return "compare_content";
  }
  return "?";
}

TEST(Policy, CheckOfferLimits) {
  options limits;
  limits.max_session_files = 10;
  limits.max_file_size = 1000;
  limits.max_session_bytes = 5000;
  auto unsafe = file(1);
  unsafe.path = "../etc/passwd";
  auto unknown_size = file(0);
  unknown_size.size_known = false;
  unknown_size.size = std::numeric_limits<std::uint64_t>::max();
  struct row {
    const char* what;
    framing::offer o;
    session_tally tally;
    choice want;
  } table[] = {
      {"a small file", file(10), {}, choice::accept},
      {"the tenth entry", file(10), {9, 0}, choice::accept},
      {"the eleventh entry", file(10), {10, 0}, choice::reject},
      {"a directory past the entry limit", directory(), {10, 0}, choice::reject},
      {"an unsafe path", unsafe, {}, choice::reject},
      {"at --max-file-size", file(1000), {}, choice::accept},
      {"one byte over --max-file-size", file(1001), {}, choice::reject},
      {"beyond any file", file(max_file_bytes + 1), {}, choice::reject},
      {"2^64-1 bytes", file(std::numeric_limits<std::uint64_t>::max()), {}, choice::reject},
      {"filling the session exactly", file(1000), {0, 4000}, choice::accept},
      {"one byte past the session", file(1000), {0, 4001}, choice::reject},
      {"a sum that would wrap",
       file(1000),
       {0, std::numeric_limits<std::uint64_t>::max()},
       choice::reject},
      {"a stream of unknown size", unknown_size, {0, 4999}, choice::accept},
      {"a directory", directory(), {}, choice::accept},
  };
  for (const auto& r : table) {
    std::vector<std::string> comps;
    const auto d = check_offer(r.o, limits, r.tally, comps);
    EXPECT_EQ(d.what, r.want) << r.what << ": got " << name(d.what) << " (" << d.reason << ")";
    if (d.what == choice::reject) {
      EXPECT_FALSE(d.reason.empty()) << r.what;
    } else {
      EXPECT_EQ(comps.size(), 2u) << r.what;
    }
  }
}

TEST(Policy, NoLimitsMeansNoLimits) {
  options limits;  // --max-file-size and --max-session-bytes 0: unlimited
  std::vector<std::string> comps;
  EXPECT_EQ(check_offer(file(max_file_bytes), limits, {0, max_file_bytes}, comps).what,
            choice::accept);
}

TEST(Policy, AgainstWhatExists) {
  const fileio::existing_entry none{};
  const fileio::existing_entry dir{type::directory, 0, 0};
  const fileio::existing_entry older_dir{type::directory, 0, 5};
  const fileio::existing_entry newer_dir{type::directory, 0, 50};
  const fileio::existing_entry other{type::other, 0, 0};
  const fileio::existing_entry same_size_same_time{type::regular, 10, 1000};
  const fileio::existing_entry same_size_older{type::regular, 10, 500};
  const fileio::existing_entry other_size_newer{type::regular, 99, 5000};
  using o = overwrite_policy;
  struct row {
    const char* what;
    framing::offer offer;
    fileio::existing_entry have;
    o mode;
    std::optional<bool> same;
    choice want;
  } table[] = {
      {"file, nothing there", file(10), none, o::never, {}, choice::accept},
      {"file over a directory", file(10), dir, o::always, {}, choice::reject},
      {"file over a device or fifo", file(10), other, o::always, {}, choice::reject},
      {"same size and mtime", file(10), same_size_same_time, o::never, {}, choice::skip},
      {"same size and mtime, always", file(10), same_size_same_time, o::always, {}, choice::skip},
      {"same size, other mtime, never", file(10), same_size_older, o::never, {}, choice::reject},
      {"same size, other mtime, always", file(10), same_size_older, o::always, {}, choice::replace},
      {"ours older, newer", file(10, 1000), same_size_older, o::newer, {}, choice::replace},
      {"ours newer, newer", file(10, 1000), other_size_newer, o::newer, {}, choice::reject},
      {"as new, newer", file(10, 5000), other_size_newer, o::newer, {}, choice::reject},
      {"hash sent, same size: compare first",
       file(10, 1, true),
       same_size_older,
       o::never,
       {},
       choice::compare_content},
      {"hash sent, same content", file(10, 1, true), same_size_older, o::never, true, choice::skip},
      {"hash sent, same content even with equal mtime", file(10, 1000, true), same_size_same_time,
       o::always, true, choice::skip},
      {"hash sent, different content, never", file(10, 1000, true), same_size_same_time, o::never,
       false, choice::reject},
      {"hash sent, different content, always", file(10, 1000, true), same_size_same_time, o::always,
       false, choice::replace},
      {"hash sent, other size: no hashing",
       file(10, 1, true),
       other_size_newer,
       o::always,
       {},
       choice::replace},
      {"directory, nothing there", directory(), none, o::never, {}, choice::accept},
      {"directory over a directory, never: kept as it is",
       directory(),
       dir,
       o::never,
       {},
       choice::accept},
      {"directory over a directory, always: takes the offer's times",
       directory(),
       dir,
       o::always,
       {},
       choice::replace},
      {"directory over an older directory, newer",
       dir_at(10),
       older_dir,
       o::newer,
       {},
       choice::replace},
      {"directory over a newer directory, newer",
       dir_at(10),
       newer_dir,
       o::newer,
       {},
       choice::accept},
      {"directory over a file", directory(), same_size_older, o::always, {}, choice::reject},
      {"directory over a fifo", directory(), other, o::always, {}, choice::reject},
  };
  for (const auto& r : table) {
    const auto d = against_existing(r.offer, r.offer.mtime_ns, r.have, r.mode, r.same);
    EXPECT_EQ(d.what, r.want) << r.what << ": got " << name(d.what) << " (" << d.reason << ")";
    if (d.what == choice::reject || d.what == choice::skip) {
      EXPECT_FALSE(d.reason.empty()) << r.what;
    }
  }
}

TEST(Policy, AnOfferedSizeThatDiffersIsNeverIdentical) {
  // Unknown size (a stream): never skipped, whatever its mtime says.
  auto stream = file(10, 1000);
  stream.size_known = false;
  const fileio::existing_entry same{type::regular, 10, 1000};
  EXPECT_EQ(against_existing(stream, 1000, same, overwrite_policy::always).what, choice::replace);
}

}  // namespace
}  // namespace ferry::recv
