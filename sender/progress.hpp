// What the sender shows while it works: a progress line on stderr (drawn
// only on a terminal and without --quiet, fitted to its width) and, with
// --json, `progress` events a few times a second for wrappers that draw
// their own bars.
//
// Counts: an entry is done when it is stored, skipped, rejected or failed;
// bytes are done when sent, kept by the receiver (resume) or settled
// without being sent (a skip). The rate is what went on the wire over the
// last five seconds, so kept bytes never inflate it or the ETA.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <string>

#include "util/log.hpp"

namespace ferry::send {

/// Bytes per second over a sliding window (like rsync's five seconds).
class rate_window {
 public:
  using clock = std::chrono::steady_clock;
  explicit rate_window(clock::duration span = std::chrono::seconds(5)) : span_(span) {}
  /// `total` is the running count of bytes sent at `now`.
  void sample(clock::time_point now, std::uint64_t total);
  /// 0 until two samples at least 1 s apart (a socket buffer filling at
  /// the start is not the rate).
  double rate() const;

 private:
  clock::duration span_;
  std::deque<std::pair<clock::time_point, std::uint64_t>> samples_;
};

/// Everything the line shows.
struct progress_state {
  std::uint64_t done = 0;  // bytes sent, kept or settled
  std::uint64_t total = 0;
  bool total_known = true;  // false: a stream of unknown size is in the run
  std::uint64_t files_done = 0;
  std::uint64_t files_total = 0;
  double rate = 0;    // bytes per second on the wire
  std::string phase;  // "", "hashing", "verifying kept bytes"
  std::uint64_t phase_done = 0;
  std::uint64_t phase_total = 0;
  std::string name;  // the current file, printable()
  std::uint64_t file_done = 0;
  std::uint64_t file_size = 0;
  bool file_size_known = true;
};

/// The line for a terminal `width` columns wide, never wider than width - 1
/// (the last column would wrap on some terminals). The name is shortened
/// first, then the ETA and the file counter are dropped.
std::string render_progress(const progress_state& s, int width);
/// "0:00:17", "1:02:03"; "-:--:--" when unknown.
std::string format_eta(double seconds);

class progress_meter {
 public:
  using clock = std::chrono::steady_clock;
  /// `files_total` counts the run's files (and streams), not directories.
  progress_meter(logger& log, bool draw, std::uint64_t total_bytes, bool total_known,
                 std::uint64_t files_total);

  /// A phase with its own progress ("hashing" for --skip-identical,
  /// "verifying kept bytes" before a resume); end_phase() returns to the
  /// transfer.
  void phase(const std::string& what, const std::string& name, std::uint64_t total);
  void phase_add(std::uint64_t bytes);
  void end_phase();

  void start_file(const std::string& name, std::uint64_t size, bool size_known);
  /// Bytes put on the wire.
  void add(std::uint64_t bytes);
  /// Bytes the receiver kept: done, but not sent now.
  void kept(std::uint64_t bytes);
  /// An entry that ends without content (skipped, rejected, a directory):
  /// its bytes and, for a file, its count are done.
  void settled(std::uint64_t size, bool is_file);
  /// A file given up part way (or before it began): the rest of its bytes
  /// are done, and so is the file.
  void abandon(const std::string& name, std::uint64_t size);
  /// A file's content has all been sent (its verdict may follow).
  void file_finished() { ++state_.files_done; }

  /// Redraws (and writes an event) when due, even with no bytes moving: a
  /// stalled or slow transfer still shows its rate falling and time passing.
  void refresh();
  /// The run is over: a last `progress` event, whatever the throttle.
  void finish();
  /// Erases the line so that a warning can be printed cleanly.
  void clear();
  /// The current file and how far it got, for the interruption message.
  const progress_state& state() const { return state_; }
  /// Bytes put on the wire (what the rate is measured over).
  std::uint64_t sent() const { return sent_; }

 private:
  void tick(bool force);
  void emit_event(clock::time_point now);

  logger& log_;
  bool draw_;
  progress_state state_;
  std::uint64_t sent_ = 0;
  rate_window window_;
  clock::time_point last_draw_{};
  clock::time_point last_event_{};
  bool drawn_ = false;
  std::string shown_name_;  // the file the drawn line names
};

}  // namespace ferry::send
