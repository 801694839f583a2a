// The one exception type of the session layer: a message that names the
// step and the cause, and the exit code it maps to.
#pragma once

#include <stdexcept>
#include <string>

#include "util/exit_codes.hpp"

namespace ferry {

class session_error : public std::runtime_error {
 public:
  session_error(exit_code code, const std::string& what)
      : std::runtime_error(what), code_(code), message_(what) {}
  exit_code code() const { return code_; }
  /// The whole message: what() stops at a NUL a peer's text may hold.
  const std::string& message() const { return message_; }

 private:
  exit_code code_;
  std::string message_;
};

}  // namespace ferry
