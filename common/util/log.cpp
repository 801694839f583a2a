#include "util/log.hpp"

#include <cstdio>

#include "util/text.hpp"

namespace ferry {

void logger::info(std::string_view text) {
  if (quiet_) return;
  warn(text);
}

void logger::warn(std::string_view text) {
  // Lines carry file names and what peers said: printable() is the one
  // place all of it is made safe for a terminal or a log file.
  const std::string line = program_ + ": " + printable(text) + "\n";
  std::lock_guard lock(mu_);
  std::fwrite(line.data(), 1, line.size(), lines_);
}

void logger::event(const json_line& line) {
  if (!json_) return;
  const std::string s = line.finish();
  std::lock_guard lock(mu_);
  std::fwrite(s.data(), 1, s.size(), events_);
  std::fflush(events_);
}

}  // namespace ferry
