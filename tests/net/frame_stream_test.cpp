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
    } catch (const session_error&) {
      timed_out = s.timed_out();
    }
  });
  EXPECT_TRUE(timed_out);
}

}  // namespace
}  // namespace ferry::net
