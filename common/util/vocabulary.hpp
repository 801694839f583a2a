// The few types and limits every layer speaks of: what an entry is, a
// file's XXH3-128, how long a path may be. The wire codec, file I/O and
// the sessions all use these, so none has to include another for them.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ferry {

enum class entry_kind : std::uint8_t { file = 1, directory = 2 };

/// XXH3-128 of a file, high half first on the wire (XXH128 canonical form).
struct hash128 {
  std::uint64_t high = 0;
  std::uint64_t low = 0;
  friend bool operator==(const hash128&, const hash128&) = default;
};

/// A relative path, whole (bytes), and one name in it: the wire's bound
/// and the receiver's.
inline constexpr std::size_t max_path_bytes = 4096;
inline constexpr std::size_t max_name_bytes = 255;
/// Directories an entry may lie below the receive directory (a session's
/// --to counts): deeper trees are refused, so that every part file stays
/// within the receiver's sweep and its descriptors.
inline constexpr std::size_t max_depth = 500;

}  // namespace ferry
