// frame_stream over a real loopback TCP connection: the KEEPALIVE that long
// local work sends so that the peer's idle watchdog does not fire, and the
// rule that trickled bytes are not reading progress.
#include "net/frame_stream.hpp"

#include <gtest/gtest.h>

#include <chrono>

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

TEST(FrameStream, KeepAliveOnlyAfterAQuarterOfTheTimeoutWithoutSending) {
  pair p;
  frame_stream s(std::move(p.a), 800ms);
  run(p, [&]() -> asio::awaitable<void> {
    co_await s.keep_alive();  // just created: nothing due
    EXPECT_EQ(p.b.available(), 0u);
    co_await sleep_for(250ms);
    co_await s.keep_alive();  // > 200 ms since we last sent
    co_await sleep_for(20ms);
    EXPECT_EQ(p.b.available(), framing::header_size);  // one empty KEEPALIVE frame
    co_await s.keep_alive();                           // just sent: nothing due
    co_await sleep_for(20ms);
    EXPECT_EQ(p.b.available(), framing::header_size);
    s.close();
  });
  std::array<std::uint8_t, framing::header_size> got{};
  asio::read(p.b, asio::buffer(got));
  framing::message m;
  std::size_t used = 0;
  ASSERT_FALSE(framing::decode(got, m, used));
  EXPECT_TRUE(std::holds_alternative<framing::keepalive>(m));
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
