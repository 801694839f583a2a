// The receiver's path sanitizer: decides whether a relative path from the
// network may be created under the receive directory. Pure: no file system.
#pragma once

#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "util/vocabulary.hpp"

namespace ferry::fileio {

enum class path_error {
  empty = 1,           // "" or only separators
  absolute,            // starts with '/'
  too_long,            // whole path over max_path_bytes
  component_too_long,  // one name over max_name_bytes
  empty_component,     // "a//b", trailing '/'
  dot_component,       // "." or ".." anywhere
  control_char,        // NUL, 0x01..0x1f or 0x7f
  reserved_name,       // our own part-file prefix
};

using ferry::max_name_bytes;
using ferry::max_path_bytes;
/// Prefix of in-progress part files; senders may not use it.
inline constexpr std::string_view part_prefix = ".ferry-part-";

const std::error_category& path_category() noexcept;
inline std::error_code make_error_code(path_error e) noexcept {
  return {static_cast<int>(e), path_category()};
}

/// Splits `path` into its components when it is safe to create under the
/// receive directory; otherwise returns the first rule it breaks.
[[nodiscard]] std::error_code split_safe_path(std::string_view path,
                                              std::vector<std::string>& components);

}  // namespace ferry::fileio

template <>
struct std::is_error_code_enum<ferry::fileio::path_error> : std::true_type {};
