// ferry-send's session against ferry-recv's, in process: one io_context,
// a memory transport pair, no sockets and no sleeps. A clean run stores a
// tree byte for byte; reads split at every small size change nothing; a
// connection that resets or closes at any point of either direction ends
// both sessions with "connection lost" and never leaves a wrong file
// under a final name.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "link/classify.hpp"
#include "receiver/session.hpp"
#include "sender/gather.hpp"
#include "sender/session.hpp"
#include "tests/support/memory_transport.hpp"
#include "util/session_error.hpp"

namespace ferry {
namespace {

namespace fs = std::filesystem;
using test::direction_rules;
using test::memory_transport;

std::string random_bytes(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s)
    c = static_cast<char>(rng());
  return s;
}

// Log-like lines: compressible, as a tree of text is.
std::string text_lines(std::size_t n) {
  std::string s;
  for (std::size_t i = 0; s.size() < n; ++i)
    s += "2026-12-01 line " + std::to_string(i) + ": session " + std::to_string(i % 7) +
         " stored a file of " + std::to_string(i * 37 % 1000) + " bytes\n";
  s.resize(n);
  return s;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

// The tree every test sends: an inline file, an empty one, a directory,
// and one file above inline_max (mapped, sent in DATA segments).
class Session : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = fs::temp_directory_path() /
            ("ferry-session-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(base_);
    src_ = base_ / "src" / "tree";
    fs::create_directories(src_ / "sub" / "deeper");
    write("small.txt", random_bytes(1000, 1));
    write("empty", "");
    write("sub/inline.bin", random_bytes(20000, 2));
    write("sub/deeper/large.bin", random_bytes(300 * 1024, 3));
    // Text, for --compress: one inline file and one streamed in segments.
    write("sub/notes.txt", text_lines(3000));
    write("sub/deeper/log.txt", text_lines(280 * 1024));
    null_ = std::fopen("/dev/null", "w");
  }
  void TearDown() override {
    std::fclose(null_);
    fs::remove_all(base_);
  }
  void write(const std::string& rel, const std::string& content) {
    std::ofstream(src_ / rel, std::ios::binary) << content;
    files_[rel] = content;
  }

  struct outcome {
    bool finished = false;
    std::uint64_t to_recv = 0, to_send = 0;        // bytes each direction carried
    std::uint64_t recv_reads = 0, send_reads = 0;  // reads that returned bytes, each side
    std::optional<exit_code> send_failed;          // how the sender's session ended, when it failed
    send::send_result sent;
    recv::session_result received;
  };

  // One session over a fresh pair and a fresh receive directory.
  outcome run(direction_rules to_recv, direction_rules to_send) {
    const fs::path dst = base_ / "dst";
    fs::remove_all(dst);
    fs::create_directories(dst);
    fileio::dest_root root;
    EXPECT_FALSE(fileio::dest_root::open(dst.string(), root));
    asio::io_context io;
    auto [a, b] = memory_transport::pair(io.get_executor(), to_recv, to_send);
    const auto carried_to_recv = a->outgoing();
    const auto carried_to_send = b->outgoing();

    send::options sopts;
    sopts.dest = {"memory", 7070};
    sopts.paths = {src_.string()};
    sopts.quiet = true;
    sopts.compress = compress_;
    sopts.to = to_;
    logger slog("ferry-send", false, true, null_, null_);
    auto g = send::gather(sopts, slog);
    send::progress_meter progress(slog, false, 0, true, 0);
    recv::options ropts;
    ropts.quiet = true;
    ropts.min_free = 0;
    logger rlog("ferry-recv", false, true, null_, null_);
    recv::shared_budgets budgets{
        recv::space_ledger(
            [&root](std::uint64_t& av, std::uint64_t& t) { return root.space(av, t); }, 0, 0),
        memory_pool(recv::memory_pool_size)};

    outcome out;
    int done = 0;
    auto stream = std::make_shared<net::frame_stream>(std::move(b), ropts.timeout);
    asio::co_spawn(io, recv::run_session(stream, ropts, root, "", rlog, io.get_executor(), budgets),
                   [&](std::exception_ptr e, recv::session_result r) {
                     EXPECT_FALSE(e) << "the receiver's session threw";
                     out.received = std::move(r);
                     stream->close();
                     ++done;
                   });
    asio::co_spawn(io,
                   send::run_session(std::move(a), sopts, g.entries, {}, slog, progress, out.sent,
                                     std::chrono::steady_clock::now()),
                   [&](std::exception_ptr e) {
                     try {
                       if (e) std::rethrow_exception(e);
                     } catch (const failure& f) {
                       out.send_failed = link::classify(f);
                     } catch (const session_error& s) {
                       out.send_failed = s.code();
                     }
                     ++done;
                   });
    // Everything is in memory: both sessions end without any timer firing.
    io.run_for(std::chrono::seconds(20));
    out.finished = done == 2;
    out.to_recv = carried_to_recv->carried;
    out.to_send = carried_to_send->carried;
    out.recv_reads = carried_to_recv->reads;
    out.send_reads = carried_to_send->reads;
    return out;
  }

  // Nothing but complete, correct files under final names; part files at most.
  void expect_nothing_wrong_stored(const std::string& context) {
    const fs::path dst = dst_tree();
    if (!fs::exists(dst)) return;
    for (const auto& e : fs::recursive_directory_iterator(dst)) {
      if (!e.is_regular_file()) continue;
      const auto name = e.path().filename().string();
      if (name.starts_with(".ferry-part-")) continue;
      const auto rel = fs::relative(e.path(), dst).string();
      ASSERT_TRUE(files_.contains(rel)) << context << ": unexpected " << rel;
      EXPECT_EQ(read_file(e.path()), files_[rel]) << context << ": wrong content in " << rel;
    }
  }

  void expect_all_stored(const std::string& context) {
    for (const auto& [rel, content] : files_)
      EXPECT_EQ(read_file(dst_tree() / rel), content) << context << ": " << rel;
  }

  fs::path dst_tree() const { return base_ / "dst" / to_ / "tree"; }

  // Cuts (a reset, or a close) both directions at every byte of the first
  // 4 KiB and every 997th after, checking that both sessions end and that
  // nothing wrong is stored.
  void cut_everywhere();

  fs::path base_, src_;
  std::map<std::string, std::string> files_;
  std::FILE* null_ = nullptr;
  bool compress_ = false;  // the sender's --compress
  std::string to_;         // the sender's --to
};

TEST_F(Session, ACleanRunStoresTheTree) {
  const auto r = run({}, {});
  ASSERT_TRUE(r.finished);
  EXPECT_FALSE(r.send_failed);
  EXPECT_EQ(r.sent.code, exit_code::ok);
  EXPECT_EQ(r.sent.files, 6u);
  EXPECT_EQ(r.sent.directories, 3u);
  EXPECT_EQ(r.received.directories, 3u);
  EXPECT_EQ(r.received.code, exit_code::ok) << r.received.message;
  EXPECT_EQ(r.received.files_stored, 6u);
  EXPECT_FALSE(r.sent.compressed);
  EXPECT_EQ(r.sent.wire_bytes, r.sent.bytes);
  expect_all_stored("clean");
}

// --compress: the text goes as zstd, the random files as they are (the
// compressor sees they do not shrink), and every byte arrives.
TEST_F(Session, CompressedContentArrivesExactAndSmaller) {
  const auto plain = run({}, {});
  ASSERT_TRUE(plain.finished);
  compress_ = true;
  const auto r = run({}, {});
  ASSERT_TRUE(r.finished);
  EXPECT_FALSE(r.send_failed);
  EXPECT_EQ(r.received.code, exit_code::ok) << r.received.message;
  EXPECT_EQ(r.received.files_stored, 6u);
  EXPECT_TRUE(r.sent.compressed);
  EXPECT_EQ(r.sent.bytes, plain.sent.bytes);
  // The text (about 280 KiB, past inline_max: streamed) shrinks to a few percent; the 320 KiB of
  // random bytes cannot. The wire carries about that much less.
  const std::uint64_t random = 1000 + 20000 + 300 * 1024;
  EXPECT_LT(r.sent.wire_bytes, random + 60 * 1024);
  EXPECT_GE(r.sent.wire_bytes, random);
  EXPECT_LT(r.to_recv + 200 * 1024, plain.to_recv);
  expect_all_stored("compressed");
}

TEST_F(Session, CompressedReadsSplitAtAnySizeChangeNothing) {
  compress_ = true;
  for (const std::size_t cap : {1u, 2u, 3u, 7u, 13u, 64u, 1000u}) {
    const std::string ctx = "reads of at most " + std::to_string(cap) + " bytes";
    const auto r = run(direction_rules{cap}, direction_rules{cap});
    ASSERT_TRUE(r.finished) << ctx;
    EXPECT_FALSE(r.send_failed) << ctx;
    EXPECT_EQ(r.received.code, exit_code::ok) << ctx << ": " << r.received.message;
    expect_all_stored(ctx);
  }
}

// --to: the tree goes under the subdirectory, made on the way.
TEST_F(Session, ToPutsTheTreeUnderTheSubdirectory) {
  to_ = "backup/laptop";
  const auto r = run({}, {});
  ASSERT_TRUE(r.finished);
  EXPECT_FALSE(r.send_failed);
  EXPECT_EQ(r.received.code, exit_code::ok) << r.received.message;
  EXPECT_FALSE(fs::exists(base_ / "dst" / "tree"));
  expect_all_stored("--to");
}

TEST_F(Session, ReadsSplitAtAnySizeChangeNothing) {
  for (std::size_t cap = 1; cap <= 40; ++cap) {
    const std::string ctx = "reads of at most " + std::to_string(cap) + " bytes";
    const direction_rules split{cap};
    const auto r = run(split, split);
    ASSERT_TRUE(r.finished) << ctx;
    EXPECT_FALSE(r.send_failed) << ctx;
    EXPECT_EQ(r.received.code, exit_code::ok) << ctx << ": " << r.received.message;
    expect_all_stored(ctx);
    // The cap held: no read returned more than `cap` bytes.
    EXPECT_GE(r.recv_reads * cap, r.to_recv) << ctx;
    EXPECT_GE(r.send_reads * cap, r.to_send) << ctx;
  }
}

// Both directions, every byte of the first 4 KiB (handshake, offers,
// answers, the small files), then every 997th byte to the end.
std::vector<std::uint64_t> cut_points(std::uint64_t total) {
  std::vector<std::uint64_t> out;
  for (std::uint64_t n = 0; n < std::min<std::uint64_t>(total, 4096); ++n)
    out.push_back(n);
  for (std::uint64_t n = 4096; n < total; n += 997)
    out.push_back(n);
  return out;
}

TEST_F(Session, AConnectionLostAnywhereEndsBothSessionsCleanly) {
  cut_everywhere();
}

// The same with --compress: a cut inside a DATA_Z's zstd frame leaves no
// file under its final name, and no session hangs.
TEST_F(Session, ACompressedSessionLostAnywhereEndsCleanly) {
  compress_ = true;
  cut_everywhere();
}

void Session::cut_everywhere() {
  // How many bytes each direction carries in a clean run.
  const auto clean = run({}, {});
  ASSERT_TRUE(clean.finished);
  ASSERT_FALSE(clean.send_failed);
  const std::uint64_t to_recv_total = clean.to_recv, to_send_total = clean.to_send;
  ASSERT_GT(to_recv_total, 300u * 1024);  // the random files, whatever compression does
  ASSERT_GT(to_send_total, 0u);
  std::size_t runs = 0, failed = 0;
  for (const bool reset : {true, false}) {
    for (const bool to_receiver : {true, false}) {
      const std::uint64_t total = to_receiver ? to_recv_total : to_send_total;
      for (const auto n : cut_points(total)) {
        direction_rules cut;
        (reset ? cut.fail_at : cut.close_at) = n;
        const auto r = to_receiver ? run(cut, {}) : run({}, cut);
        const std::string ctx = std::string(reset ? "reset" : "close") + " after " +
                                std::to_string(n) + " bytes to the " +
                                (to_receiver ? "receiver" : "sender");
        ++runs;
        ASSERT_TRUE(r.finished) << ctx << ": a session did not end";
        if (!r.send_failed) {
          // The cut came after everything that mattered (the receiver's
          // last bytes, or past the end): then it is a clean run.
          EXPECT_EQ(r.sent.code, exit_code::ok) << ctx;
          expect_all_stored(ctx);
          continue;
        }
        ++failed;
        EXPECT_EQ(*r.send_failed, exit_code::connect) << ctx;
        // A cut before the sender's last byte reached the receiver fails
        // the receiver's session too.
        if (to_receiver && n < to_recv_total) {
          EXPECT_NE(r.received.code, exit_code::ok) << ctx;
        }
        expect_nothing_wrong_stored(ctx);
        if (HasFailure()) return;
      }
    }
  }
  // Nearly every cut lands inside the session (the last few of each
  // direction may fall after what either side still needed).
  EXPECT_GT(failed, runs * 9 / 10) << failed << " of " << runs << " runs failed";
  RecordProperty("runs", static_cast<int>(runs));
}

}  // namespace
}  // namespace ferry
