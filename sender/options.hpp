// ferry-send's command line, parsed without touching the process so that
// tests can call it directly.
#pragma once

#include <chrono>
#include <string>
#include <variant>
#include <vector>

#include "net/address.hpp"

namespace ferry::send {

struct options {
  net::host_port dest;
  std::vector<std::string> paths;  // "-" means stdin content
  std::string files_from;          // "" none, "-" stdin
  bool null_separated = false;     // -0: --files-from is NUL-separated
  std::string stdin_name;          // --name for "-"
  bool follow_symlinks = false;
  bool json = false;
  bool quiet = false;
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds timeout{30'000};
};

struct early_exit {
  int code = 0;
  std::string text;
};

std::variant<options, early_exit> parse_options(int argc, const char* const* argv);

/// Splits a --files-from list: lines (trailing '\r' removed, empty lines
/// skipped) or NUL-separated names.
std::vector<std::string> split_path_list(const std::string& text, bool null_separated);

}  // namespace ferry::send
