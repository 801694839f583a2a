// Errors of the framing codec: what decode_* report when bytes are not a
// valid ferry frame. need_more is not a failure: the caller reads more bytes.
#pragma once

#include <system_error>

namespace ferry::framing {

enum class error {
  need_more = 1,    // the input is a valid prefix; more bytes are needed
  bad_magic,        // the stream does not start with the ferry preamble
  unknown_type,     // frame type byte is not one we know
  frame_too_large,  // declared payload length exceeds the bound for its type
  malformed,        // payload shorter or longer than its fields
  string_too_long,  // a text or path field exceeds its bound
  bad_value,        // an enum field holds a value we do not know
};

const std::error_category& framing_category() noexcept;

inline std::error_code make_error_code(error e) noexcept {
  return {static_cast<int>(e), framing_category()};
}

}  // namespace ferry::framing

template <>
struct std::is_error_code_enum<ferry::framing::error> : std::true_type {};
