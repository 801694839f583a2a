// Errors of our own files that the system's codes do not name. One
// category, "fileio". (A file that cannot be opened keeps its errno.)
#pragma once

#include <system_error>

namespace ferry::fileio {

enum class errc {
  shrank = 1,  // a file got shorter while being sent
  grew,        // a file got longer while being sent
  dir_budget,  // creating a path's parents would pass the directories allowed
};

const std::error_category& fileio_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), fileio_category()};
}

}  // namespace ferry::fileio

template <>
struct std::is_error_code_enum<ferry::fileio::errc> : std::true_type {};
