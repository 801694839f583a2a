// The progress line on stderr (total and current file: bytes, rate, ETA),
// drawn only when stderr is a terminal and not --quiet.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "util/log.hpp"

namespace ferry::send {

class progress_meter {
 public:
  progress_meter(logger& log, bool enabled, std::uint64_t total_bytes)
      : log_(log), enabled_(enabled), total_(total_bytes) {}

  void start_file(const std::string& name, std::uint64_t size, bool size_known);
  void add(std::uint64_t bytes);
  /// Erases the line so that a warning can be printed cleanly.
  void clear();

 private:
  void draw(bool force);

  using clock = std::chrono::steady_clock;
  logger& log_;
  bool enabled_;
  std::uint64_t total_;
  std::uint64_t done_ = 0;
  std::string file_;
  std::uint64_t file_size_ = 0;
  bool file_size_known_ = true;
  std::uint64_t file_done_ = 0;
  clock::time_point start_ = clock::now();
  clock::time_point last_draw_{};
  bool drawn_ = false;
};

}  // namespace ferry::send
