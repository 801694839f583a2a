#include "receiver/policy.hpp"

#include "fileio/path.hpp"
#include "util/checked.hpp"
#include "util/units.hpp"

namespace ferry::recv {
namespace {

decision reject(std::string why) {
  return {choice::reject, std::move(why)};
}

}  // namespace

decision check_offer(const framing::offer& o, const options& limits, const session_tally& tally,
                     std::vector<std::string>& components) {
  if (tally.offers >= limits.max_session_files)
    return reject("session entry limit reached (" + std::to_string(limits.max_session_files) +
                  ", the receiver's --max-session-files)");
  if (auto ec = fileio::split_safe_path(o.path, components))
    return reject("unsafe path: " + ec.message());
  if (tally.root_depth + components.size() > max_depth + 1)
    return reject("path deeper than " + std::to_string(max_depth) +
                  " directories under the receive directory");
  if (o.kind != framing::entry_kind::file || !o.size_known) return {};
  // Every sum here is on the peer's numbers.
  if (o.size > max_file_bytes)
    return reject("file size " + std::to_string(o.size) + " is beyond what a file can have");
  if (limits.max_file_size != 0 && o.size > limits.max_file_size)
    return reject("file too large (" + std::to_string(o.size) + " bytes > limit " +
                  std::to_string(limits.max_file_size) + ", the receiver's --max-file-size)");
  if (!fits_limit(tally.committed_bytes, o.size, limits.max_session_bytes))
    return reject("session byte limit reached (" + format_bytes(limits.max_session_bytes) + ")");
  return {};
}

decision against_existing(const framing::offer& o, std::int64_t mtime_ns,
                          const fileio::existing_entry& have, overwrite_policy overwrite,
                          std::optional<bool> same_content) {
  using type = fileio::existing_entry::type;
  if (o.kind == framing::entry_kind::directory) {
    if (have.kind != type::none && have.kind != type::directory)
      return reject("a non-directory exists at this path");
    if (have.kind == type::none) return {};
    // A directory already here is used as it is; its mode and mtime change
    // only as a file's would be replaced.
    switch (overwrite) {
      case overwrite_policy::never:
        return {};
      case overwrite_policy::newer:
        return mtime_ns > have.mtime_ns ? decision{choice::replace, {}} : decision{};
      case overwrite_policy::always:
        return {choice::replace, {}};
    }
    return {};
  }
  if (have.kind == type::directory || have.kind == type::other)
    return reject("a directory or special file exists at this path");
  if (have.kind == type::none) return {};
  // A regular file is there. With the sender's hash (--skip-identical) the
  // content decides; without it, size and mtime do.
  if (o.size_known && have.size == o.size) {
    if (o.has_hash && !same_content) return {choice::compare_content, {}};
    if (o.has_hash && *same_content)
      return {choice::skip, "identical file exists (same size and XXH3-128)"};
    if (!o.has_hash && have.mtime_ns == o.mtime_ns)
      return {choice::skip, "identical file exists (same size and mtime)"};
  }
  switch (overwrite) {
    case overwrite_policy::never:
      return reject("a different file exists (receiver's --overwrite is never)");
    case overwrite_policy::newer:
      if (mtime_ns <= have.mtime_ns)
        return reject("the existing file is newer or as new (receiver's --overwrite is newer)");
      break;
    case overwrite_policy::always:
      break;
  }
  return {choice::replace, {}};
}

}  // namespace ferry::recv
