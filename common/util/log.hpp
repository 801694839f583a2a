// Output of both programs: human lines on stderr ("ferry-recv: ..."), NDJSON
// events on stdout when --json is on. Safe to call from several threads.
// Human lines go through printable(): peer text and file names never reach
// the terminal raw (JSON strings are escaped by json_line instead).
#pragma once

#include <concepts>
#include <cstdio>
#include <mutex>
#include <string>
#include <string_view>

#include "util/json.hpp"

namespace ferry {

class logger {
 public:
  /// Lines go to `lines` (stderr), events to `events` (stdout).
  logger(std::string program, bool json, bool quiet, std::FILE* lines = stderr,
         std::FILE* events = stdout)
      : program_(std::move(program)), json_(json), quiet_(quiet), lines_(lines), events_(events) {}

  /// A line for people; suppressed by --quiet.
  void info(std::string_view text);
  /// Warnings, errors and the few lines a script needs; always shown.
  void warn(std::string_view text);
  /// An NDJSON event; written only in --json mode.
  void event(const json_line& line);
  /// The same, built only in --json mode: `build()` returns the json_line.
  /// For per-file events, whose formatting nobody may read.
  template <std::invocable Build>
  void event(Build&& build) {
    if (json_) event(std::forward<Build>(build)());
  }

  bool json() const { return json_; }
  bool quiet() const { return quiet_; }
  const std::string& program() const { return program_; }

  /// Serialises other writers to stderr (the progress line).
  std::mutex& stderr_mutex() { return mu_; }

 private:
  std::string program_;
  bool json_;
  bool quiet_;
  std::FILE* lines_;
  std::FILE* events_;
  std::mutex mu_;
};

}  // namespace ferry
