// frame_stream over a real loopback TCP connection: the KEEPALIVE that long
// local work sends so that the peer's idle watchdog does not fire (only
// when we have been quiet), and the rule that trickled bytes are not
// reading progress.
#include "net/frame_stream.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <vector>

namespace ferry::net {
namespace {

using namespace std::chrono_literals;

struct pair {
  asio::io_context io;
  asio::ip::tcp::socket a{io}, b{io};
  pair() {
    asio::ip::tcp::acceptor acc(io, {asio::ip::make_address("127.0.0.1"), 0});
    a.connect(acc.local_endpoint());
    b = acc.accept();
  }
};

// Runs `body` as a coroutine on the pair's io_context to its end.
template <class F>
void run(pair& p, F body) {
  bool done = false;
  asio::co_spawn(p.io, body(), [&](std::exception_ptr e) {
    done = true;
    if (e) std::rethrow_exception(e);
  });
  p.io.run();
  ASSERT_TRUE(done);
}

asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(asio::use_awaitable);
}

// Everything the peer received until we closed, decoded.
std::vector<framing::message> received(asio::ip::tcp::socket& b) {
  framing::byte_buffer all;
  std::error_code ec;
  asio::read(b, asio::dynamic_buffer(all), ec);  // to end-of-stream
  std::vector<framing::message> out;
  std::span<const std::uint8_t> rest(all);
  while (!rest.empty()) {
    framing::message m;
    std::size_t used = 0;
    if (framing::decode(rest, m, used)) break;
    out.push_back(m);
    rest = rest.subspan(used);
  }
  EXPECT_TRUE(rest.empty()) << "undecodable bytes";
  return out;
}

// The peer received exactly one frame, of type T.
template <class T>
void expect_only(asio::ip::tcp::socket& peer) {
  const auto got = received(peer);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<T>(got[0]));
}

// Margins are wide (a quarter of 60 s; 600 ms against 500 ms) so that a
// slow machine cannot turn either answer around.
TEST(FrameStream, NoKeepAliveWhileWeSentRecently) {
  pair p;
  frame_stream s(std::move(p.a), 60s);
  run(p, [&]() -> asio::awaitable<void> {
    co_await s.keep_alive();  // just created
    s.queue(framing::end{});
    co_await s.flush();
    co_await s.keep_alive();  // just sent
    s.close();
  });
  expect_only<framing::end>(p.b);
}

TEST(FrameStream, KeepAliveAfterAQuarterOfTheTimeoutWithoutSending) {
  pair p;
  frame_stream s(std::move(p.a), 2s);
  run(p, [&]() -> asio::awaitable<void> {
    co_await sleep_for(600ms);  // more than 2 s / 4 without sending
    co_await s.keep_alive();
    s.close();
  });
  expect_only<framing::keepalive>(p.b);
}

TEST(FrameStream, TrickledBytesAreNotProgress) {
  pair p;
  frame_stream s(std::move(p.a), 500ms);
  bool timed_out = false;
  run(p, [&]() -> asio::awaitable<void> {
    // The peer sends the preamble one byte every 100 ms: never a whole
    // frame within the timeout after the preamble, so the read times out
    // although bytes keep coming.
    asio::co_spawn(
        p.io,
        [&]() -> asio::awaitable<void> {
          framing::byte_buffer pre;
          framing::encode_preamble(pre);
          framing::encode(framing::hello{0, "slow"}, pre);
          for (const auto byte : pre) {
            co_await sleep_for(100ms);
            std::error_code ec;
            asio::write(p.b, asio::buffer(&byte, 1), ec);
            if (ec) co_return;
          }
        },
        asio::detached);
    try {
      (void)co_await s.read_preamble();
      (void)co_await s.read_frame("hello");
    } catch (const failure& e) {
      timed_out = s.timed_out() && e.code() == errc::idle_timeout;
    }
  });
  EXPECT_TRUE(timed_out);
}

// The peer sends `frames` KEEPALIVEs, one every `every`, then END.
asio::awaitable<void> keepalives_then_end(asio::ip::tcp::socket& b, int frames,
                                          std::chrono::milliseconds every) {
  framing::byte_buffer pre;
  framing::encode_preamble(pre);
  std::error_code ec;
  asio::write(b, asio::buffer(pre), ec);
  for (int i = 0; i < frames && !ec; ++i) {
    co_await sleep_for(every);
    framing::byte_buffer k;
    framing::encode(framing::keepalive{}, k);
    asio::write(b, asio::buffer(k), ec);
  }
  framing::byte_buffer e;
  framing::encode(framing::end{}, e);
  asio::write(b, asio::buffer(e), ec);
}

// Reads frames until END (true) or a failure (false), which `why` gets.
struct outcome {
  std::error_code code;
  ferry::step at = ferry::step::transfer;
  std::string text;
};
asio::awaitable<bool> read_to_end(frame_stream& s, outcome& why) {
  try {
    (void)co_await s.read_preamble();
    while (true) {
      const auto m = co_await s.read_frame("test");
      if (std::holds_alternative<framing::end>(m)) co_return true;
    }
  } catch (const failure& e) {
    why = {e.code(), e.step(), e.message()};
  }
  co_return false;
}

TEST(FrameStream, KeepalivesAloneDoNotHoldTheStreamOpen) {
  pair p;
  frame_stream s(std::move(p.a), 600ms);
  bool reached_end = true;
  outcome why;
  run(p, [&]() -> asio::awaitable<void> {
    // Five per timeout, for 12 timeouts: a peer that sends only these.
    asio::co_spawn(p.io, keepalives_then_end(p.b, 60, 120ms), asio::detached);
    reached_end = co_await read_to_end(s, why);
    s.close();
  });
  EXPECT_FALSE(reached_end);
  EXPECT_TRUE(s.timed_out());
  EXPECT_EQ(why.code, errc::idle_timeout) << why.text;
  EXPECT_EQ(why.at, ferry::step::transfer) << why.text;
}

TEST(FrameStream, KeepalivesCountWhileThePeerHashesWhatWeAskedFor) {
  pair p;
  frame_stream s(std::move(p.a), 600ms);
  bool reached_end = false;
  outcome why;
  run(p, [&]() -> asio::awaitable<void> {
    // 64 MiB to hash at min_hash_rate: 4 s of excused silence; the peer
    // needs 2.4 s (four timeouts) of KEEPALIVEs.
    s.expect_peer_hashing(4 * min_hash_rate);
    asio::co_spawn(p.io, keepalives_then_end(p.b, 20, 120ms), asio::detached);
    reached_end = co_await read_to_end(s, why);
    s.close();
  });
  EXPECT_TRUE(reached_end) << why.text;
}

TEST(FrameStream, ADeadlineEndsTheStreamWhateverThePeerSends) {
  pair p;
  frame_stream s(std::move(p.a), 60s);
  bool reached_end = true;
  outcome why;
  run(p, [&]() -> asio::awaitable<void> {
    s.set_deadline(frame_stream::clock::now() + 500ms, "handshake not finished in time");
    s.expect_peer_hashing(100 * min_hash_rate);  // keepalives count: the deadline still holds
    asio::co_spawn(p.io, keepalives_then_end(p.b, 50, 100ms), asio::detached);
    reached_end = co_await read_to_end(s, why);
    s.close();
  });
  EXPECT_FALSE(reached_end);
  EXPECT_EQ(why.code, errc::deadline) << why.text;
  EXPECT_EQ(why.at, ferry::step::handshake) << why.text;
  EXPECT_NE(why.text.find("handshake not finished in time"), std::string::npos) << why.text;
}

}  // namespace
}  // namespace ferry::net
