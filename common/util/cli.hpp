// What both programs' command-line parsers share: their result when the
// program should not run, and an injectable environment lookup.
#pragma once

#include <algorithm>
#include <functional>
#include <string>
#include <string_view>

#include "util/exit_codes.hpp"
#include "util/text.hpp"

namespace ferry {

/// Looks up an environment variable (std::getenv in the programs; tests
/// pass their own).
using env_lookup = std::function<const char*(const char*)>;

/// What parsing decided instead of running: print `text`, exit `code`
/// (help and version exit 0, usage errors 2).
struct early_exit {
  int code = 0;
  std::string text;
};

/// Help text as both programs print it: no line wider than `width`
/// columns (broken at spaces, keeping the indentation), no trailing
/// spaces, implicit values shown as typed ("--udp[=strict]").
std::string tidy_help(std::string_view text, std::size_t width = 80);

inline early_exit usage_error(std::string_view program, const std::string& msg) {
  const std::string p(program);
  // Each line escaped on its own: a usage line after the message stays a line.
  std::string text;
  std::size_t start = 0;
  while (start <= msg.size()) {
    const std::size_t nl = std::min(msg.find('\n', start), msg.size());
    text +=
        (start == 0 ? p + ": " : std::string()) + printable(msg.substr(start, nl - start)) + "\n";
    start = nl + 1;
  }
  return {to_int(exit_code::usage), text + "Try '" + p + " --help'.\n"};
}

}  // namespace ferry
