#include "sender/progress.hpp"

#include <cstdio>

#include "util/text.hpp"
#include "util/units.hpp"

namespace ferry::send {

void progress_meter::start_file(const std::string& name, std::uint64_t size, bool size_known) {
  file_ = name;
  file_size_ = size;
  file_size_known_ = size_known;
  file_done_ = 0;
  draw(false);
}

void progress_meter::add(std::uint64_t bytes) {
  done_ += bytes;
  file_done_ += bytes;
  draw(false);
}

void progress_meter::clear() {
  if (!enabled_ || !drawn_) return;
  std::lock_guard lock(log_.stderr_mutex());
  std::fputs("\r\033[K", stderr);
  drawn_ = false;
}

void progress_meter::draw(bool force) {
  if (!enabled_) return;
  const auto now = clock::now();
  if (!force && now - last_draw_ < std::chrono::milliseconds(200)) return;
  last_draw_ = now;
  const double secs = std::chrono::duration<double>(now - start_).count();
  const double rate = secs > 0 ? static_cast<double>(done_) / secs : 0;
  const double eta = rate > 0 && total_ >= done_ ? static_cast<double>(total_ - done_) / rate : -1;
  const int pct =
      total_ > 0
          ? static_cast<int>(100.0 * static_cast<double>(done_) / static_cast<double>(total_))
          : 0;
  std::string name = printable(file_);
  if (name.size() > 30) name = "..." + name.substr(name.size() - 27);
  std::string line = "\r\033[K" + std::to_string(pct) + "% " + format_bytes(done_) + "/" +
                     format_bytes(total_) + " " + format_rate(rate) + " ETA " +
                     format_duration(eta) + "  " + name + " " + format_bytes(file_done_);
  if (file_size_known_) line += "/" + format_bytes(file_size_);
  std::lock_guard lock(log_.stderr_mutex());
  std::fputs(line.c_str(), stderr);
  drawn_ = true;
}

}  // namespace ferry::send
