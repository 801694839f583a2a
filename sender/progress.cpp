#include "sender/progress.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdio>
#include <vector>

#include "util/text.hpp"
#include "util/units.hpp"

namespace ferry::send {

void rate_window::sample(clock::time_point now, std::uint64_t total) {
  samples_.emplace_back(now, total);
  // Keep one sample older than the span: it anchors the window's start.
  while (samples_.size() > 2 && now - samples_[1].first >= span_)
    samples_.pop_front();
}

double rate_window::rate() const {
  if (samples_.size() < 2) return 0;
  const auto& [t0, b0] = samples_.front();
  const auto& [t1, b1] = samples_.back();
  const double secs = std::chrono::duration<double>(t1 - t0).count();
  if (secs < 1.0 || b1 < b0) return 0;
  return static_cast<double>(b1 - b0) / secs;
}

std::string format_eta(double seconds) {
  if (!(seconds >= 0) || seconds > 99 * 3600.0) return "-:--:--";
  const auto s = static_cast<unsigned long>(seconds + 0.5);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%lu:%02lu:%02lu", s / 3600, s / 60 % 60, s % 60);
  return buf;
}

namespace {

// Columns a printable() string takes: one per code point.
std::size_t columns(const std::string& s) {
  std::size_t n = 0;
  for (const char c : s)
    if ((static_cast<unsigned char>(c) & 0xc0) != 0x80) ++n;
  return n;
}

// The last `cols` columns of `s`, behind "...", cut between code points.
std::string shorten(const std::string& s, std::size_t cols) {
  if (columns(s) <= cols) return s;
  if (cols <= 3) return std::string(cols, '.');
  std::size_t keep = cols - 3, i = s.size();
  while (i > 0 && keep > 0) {
    --i;
    if ((static_cast<unsigned char>(s[i]) & 0xc0) != 0x80) --keep;
  }
  while (i < s.size() && (static_cast<unsigned char>(s[i]) & 0xc0) == 0x80)
    ++i;
  return "..." + s.substr(i);
}

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) {
    if (p.empty()) continue;
    if (!out.empty()) out += ' ';
    out += p;
  }
  return out;
}

std::string percent(std::uint64_t done, std::uint64_t total) {
  if (total == 0) return "100%";
  const auto pct = static_cast<int>(100.0 * static_cast<double>(done) / static_cast<double>(total));
  return std::to_string(pct > 100 ? 100 : pct) + "%";
}

}  // namespace

std::string render_progress(const progress_state& s, int width) {
  const std::size_t room = width > 1 ? static_cast<std::size_t>(width - 1) : 0;
  std::string pct, amount, rate, eta, files, suffix;
  if (!s.phase.empty()) {
    pct = s.phase + " " + percent(s.phase_done, s.phase_total);
    amount = format_bytes(s.phase_done) + "/" + format_bytes(s.phase_total);
  } else {
    if (s.total_known) {
      pct = percent(s.done, s.total);
      amount = format_bytes(s.done) + "/" + format_bytes(s.total);
      const double left = s.total >= s.done ? static_cast<double>(s.total - s.done) : 0;
      eta = "ETA " + format_eta(s.rate > 0 ? left / s.rate : -1);
    } else {
      amount = format_bytes(s.done);
    }
    rate = format_rate(s.rate);
    files = "files " + std::to_string(s.files_done) + "/" + std::to_string(s.files_total);
    // The current file's share, or its bytes when its size is unknown.
    if (!s.name.empty() && s.file_size_known && s.file_size != s.total)
      suffix = "(" + percent(s.file_done, s.file_size) + ")";
    else if (!s.name.empty() && !s.file_size_known)
      suffix = format_bytes(s.file_done);
  }
  // Shed what matters least until the name has some room.
  constexpr std::size_t min_name = 12;
  std::vector<std::string*> shed{&suffix, &eta, &files, &rate, &amount};
  std::string head = join({pct, amount, rate, eta, files});
  for (auto* part : shed) {
    if (columns(head) + 2 + std::min(min_name, columns(s.name)) + 1 + columns(suffix) <= room)
      break;
    part->clear();
    head = join({pct, amount, rate, eta, files});
  }
  std::string line = head;
  if (!s.name.empty() && columns(head) + 2 < room) {
    const std::size_t tail = suffix.empty() ? 0 : columns(suffix) + 1;
    const std::size_t name_room =
        room - columns(head) - 2 - std::min(tail, room - columns(head) - 2);
    if (name_room > 0) {
      line += "  " + shorten(s.name, name_room);
      if (!suffix.empty()) line += " " + suffix;
    }
  }
  if (columns(line) > room) line = shorten(line, room);
  return line;
}

progress_meter::progress_meter(logger& log, bool draw, std::uint64_t total_bytes, bool total_known,
                               std::uint64_t files_total)
    : log_(log), draw_(draw) {
  state_.total = total_bytes;
  state_.total_known = total_known;
  state_.files_total = files_total;
  window_.sample(clock::now(), 0);
}

void progress_meter::phase(const std::string& what, const std::string& name, std::uint64_t total) {
  // A new phase is drawn at once; the next file of the same phase waits
  // for the usual pace (--skip-identical over many small files).
  const bool fresh = state_.phase != what || state_.phase_total != total;
  if (fresh) state_.phase_done = 0;
  state_.phase = what;
  state_.name = printable(name);
  state_.phase_total = total;
  tick(fresh);
}

void progress_meter::phase_add(std::uint64_t bytes) {
  state_.phase_done += bytes;
  tick(false);
}

void progress_meter::end_phase() {
  state_.phase.clear();
  tick(false);
}

void progress_meter::start_file(const std::string& name, std::uint64_t size, bool size_known) {
  state_.name = printable(name);
  state_.file_size = size;
  state_.file_size_known = size_known;
  state_.file_done = 0;
  // A new name is worth a redraw sooner than new figures (small files go
  // by fast), and at once when the line names no file yet.
  const auto now = clock::now();
  tick(shown_name_.empty() || now - last_draw_ >= std::chrono::milliseconds(50));
}

void progress_meter::add(std::uint64_t bytes) {
  sent_ += bytes;
  state_.done += bytes;
  state_.file_done += bytes;
  tick(false);
}

void progress_meter::kept(std::uint64_t bytes) {
  state_.done += bytes;
  state_.file_done += bytes;
  tick(false);
}

void progress_meter::settled(std::uint64_t size, bool is_file) {
  state_.done += size;
  if (is_file) ++state_.files_done;
  tick(false);
}

void progress_meter::abandon(const std::string& name, std::uint64_t size) {
  const std::uint64_t got = printable(name) == state_.name ? std::min(state_.file_done, size) : 0;
  settled(size - got, true);
}

void progress_meter::clear() {
  if (!draw_ || !drawn_) return;
  std::lock_guard lock(log_.stderr_mutex());
  std::fputs("\r\033[K", stderr);
  std::fflush(stderr);
  drawn_ = false;
}

void progress_meter::tick(bool force) {
  if (!draw_ && !log_.json()) return;
  const auto now = clock::now();
  if (!force && now - last_draw_ < std::chrono::milliseconds(200)) return;
  last_draw_ = now;
  window_.sample(now, sent_);
  state_.rate = window_.rate();
  if (log_.json() && now - last_event_ >= std::chrono::milliseconds(500)) emit_event(now);
  if (!draw_) return;
  // Asked each time (at most five a second): a resized window (SIGWINCH)
  // is fitted on the next redraw.
  winsize ws{};
  const int width = ::ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 ? ws.ws_col : 80;
  const std::string line = "\r\033[K" + render_progress(state_, width);
  shown_name_ = state_.name;
  std::lock_guard lock(log_.stderr_mutex());
  std::fputs(line.c_str(), stderr);
  std::fflush(stderr);
  drawn_ = true;
}

void progress_meter::refresh() {
  tick(false);
}

void progress_meter::finish() {
  if (!log_.json()) return;
  const auto now = clock::now();
  window_.sample(now, sent_);
  state_.rate = window_.rate();
  emit_event(now);
}

void progress_meter::emit_event(clock::time_point now) {
  last_event_ = now;
  json_line ev("progress");
  ev.num("bytes", state_.done);
  if (state_.total_known) ev.num("total_bytes", state_.total);
  ev.num("files", state_.files_done)
      .num("total_files", state_.files_total)
      .real("bytes_per_second", state_.rate);
  if (state_.total_known && state_.rate > 0 && state_.total >= state_.done)
    ev.real("eta_seconds", static_cast<double>(state_.total - state_.done) / state_.rate);
  ev.str("phase", state_.phase.empty() ? "sending" : state_.phase);
  log_.event(ev);
}

}  // namespace ferry::send
