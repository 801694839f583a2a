// The one mapping from an error value to the documented exit code. Each
// program calls it at its edge (ferry-send's main, ferry-recv's end of a
// session); nothing below the sessions names an exit code.
#pragma once

#include <system_error>

#include "util/exit_codes.hpp"
#include "util/failure.hpp"

namespace ferry::link {

exit_code classify(const std::error_code& code, step at);

inline exit_code classify(const failure& f) {
  return classify(f.code(), f.step());
}

}  // namespace ferry::link
