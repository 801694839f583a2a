// The sender's progress line and its rate, on a fake clock: what a person
// sees after a resume, with skipped files, on a narrow terminal.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "sender/progress.hpp"

namespace ferry::send {
namespace {

using namespace std::chrono_literals;
constexpr std::uint64_t MB = 1000 * 1000;
constexpr std::uint64_t GiB = 1ull << 30;

std::size_t columns(const std::string& s) {
  std::size_t n = 0;
  for (const char c : s)
    if ((static_cast<unsigned char>(c) & 0xc0) != 0x80) ++n;
  return n;
}

TEST(RateWindow, IsTheLastFiveSecondsOnTheWire) {
  rate_window w;
  const auto t0 = rate_window::clock::time_point{} + 100s;
  w.sample(t0, 0);
  EXPECT_EQ(w.rate(), 0);  // one sample: no rate yet
  // 10 s at 50 MB/s, then 10 s at 10 MB/s: the window forgets the first.
  std::uint64_t sent = 0;
  for (int s = 1; s <= 20; ++s) {
    sent += (s <= 10 ? 50 : 10) * MB;
    w.sample(t0 + std::chrono::seconds(s), sent);
  }
  EXPECT_NEAR(w.rate(), 10.0 * MB, 0.01 * MB);
}

TEST(ProgressState, KeptBytesAreDoneButNotSent) {
  // A 2 GiB file resumed after 1.7 GiB: rsync-like figures, not 3.9 GB/s.
  logger log("t", false, true);
  progress_meter m(log, false, 2 * GiB, true, 1);
  m.start_file("big.iso", 2 * GiB, true);
  m.kept(17 * GiB / 10);
  m.add(1000);
  EXPECT_EQ(m.state().done, 17 * GiB / 10 + 1000);
  EXPECT_EQ(m.state().file_done, 17 * GiB / 10 + 1000);
  EXPECT_EQ(m.sent(), 1000u);  // the rate's measure: the kept bytes are not in it
}

TEST(ProgressState, SkippedRejectedAndAbandonedEntriesCountAsDone) {
  logger log("t", false, true);
  progress_meter m(log, false, 300, true, 3);
  m.settled(100, true);  // skipped: identical
  m.settled(0, false);   // a directory
  m.start_file("b", 100, true);
  m.add(40);
  m.abandon("b", 100);  // the receiver refused it part way
  m.start_file("c", 100, true);
  m.add(100);
  m.file_finished();
  EXPECT_EQ(m.state().done, 300u);
  EXPECT_EQ(m.state().files_done, 3u);
  progress_state s = m.state();
  EXPECT_EQ(render_progress(s, 80).substr(0, 4), "100%");
}

progress_state transfer(std::string name) {
  progress_state s;
  s.total = 2 * GiB;
  s.done = 17 * GiB / 10;
  s.rate = 50.0 * MB;
  s.files_done = 12;
  s.files_total = 200;
  s.name = std::move(name);
  s.file_size = 2 * GiB;
  s.file_done = 17 * GiB / 10;
  return s;
}

TEST(ProgressLine, ShowsPercentRateEtaAsClockAndTheFileCounter) {
  // (84%: a percent is never rounded up to done.)
  progress_state s = transfer("big.iso");
  EXPECT_EQ(render_progress(s, 120),
            "84% 1.7 GiB/2.0 GiB 50.0 MB/s ETA 0:00:06 files 12/200  big.iso");
  // Beside other files, the current file's own share.
  s.total = 4 * GiB;
  EXPECT_EQ(render_progress(s, 120),
            "42% 1.7 GiB/4.0 GiB 50.0 MB/s ETA 0:00:49 files 12/200  big.iso (84%)");
  EXPECT_EQ(format_eta(3723), "1:02:03");
  EXPECT_EQ(format_eta(-1), "-:--:--");
}

TEST(ProgressLine, FitsTheTerminalShorteningTheNameFirst) {
  const std::string name = std::string(60, 'd') + "/" + "the-file-at-the-end.bin";
  for (const int width : {200, 100, 80, 60, 40, 20, 10, 1}) {
    const auto line = render_progress(transfer(name), width);
    EXPECT_LE(columns(line), static_cast<std::size_t>(width > 1 ? width - 1 : 0))
        << width << ": " << line;
    if (width >= 80) {
      EXPECT_NE(line.find("ETA"), std::string::npos) << line;
    }
  }
  auto many = transfer(name);
  many.total = 4 * GiB;
  const auto line = render_progress(many, 80);
  EXPECT_NE(line.find("...at-the-end.bin (84%)"), std::string::npos) << line;
  EXPECT_EQ(line.find("ddddddddddddddddddddddddddddddddddddddddd"), std::string::npos) << line;
  // Multi-byte names are cut between code points.
  const auto utf8 = render_progress(transfer(std::string(40, 'x') + "\xc3\xa9t\xc3\xa9.txt"), 70);
  EXPECT_LE(columns(utf8), 69u) << utf8;
  EXPECT_NE(utf8.find("\xc3\xa9t\xc3\xa9.txt"), std::string::npos) << utf8;
}

TEST(ProgressLine, AStreamOfUnknownSizeHasNoPercentOrTotal) {
  progress_state s;
  s.total_known = false;
  s.done = 5 * MB;
  s.rate = 1.0 * MB;
  s.files_total = 1;
  s.name = "stdin";
  s.file_size_known = false;
  s.file_done = 5 * MB;
  const auto line = render_progress(s, 80);
  EXPECT_EQ(line.find('%'), std::string::npos) << line;
  EXPECT_EQ(line.find("ETA"), std::string::npos) << line;
  EXPECT_EQ(line.find("/0 B"), std::string::npos) << line;
  EXPECT_EQ(line, "4.8 MiB 1.0 MB/s files 0/1  stdin 4.8 MiB");
}

TEST(ProgressLine, PhasesShowTheirOwnProgress) {
  progress_state s = transfer("big.iso");
  s.phase = "verifying kept bytes";
  s.phase_done = GiB / 2;
  s.phase_total = GiB;
  EXPECT_EQ(render_progress(s, 80), "verifying kept bytes 50% 512.0 MiB/1.0 GiB  big.iso");
}

}  // namespace
}  // namespace ferry::send
