// datagram_io over real loopback sockets: runs of equal datagrams leave as
// GSO messages and arrive (coalesced by GRO or not) split back into the
// very same datagrams, in order; prefixed datagrams (SOCKS5 headers) and
// odd sizes pass one by one.
#include "rudp/datagram_io.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

namespace ferry::rudp {
namespace {

TEST(DatagramIo, RunsOfDatagramsArriveExactlyAsSent) {
  asio::io_context io;
  udp::socket rx(io, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  udp::socket tx(io, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  size_buffers(rx, 8 << 20);
  datagram_io rxio(rx, 32, 1500);

  // 60 datagrams of 1200 B, one of 700 (ends a run), 5 with a 10-byte
  // prefix, then 20 more of 1200: each byte says which datagram it is in.
  std::vector<std::vector<std::uint8_t>> payloads;
  std::vector<std::uint8_t> prefix(10, 0xEE);
  std::vector<datagram_io::outgoing> out;
  auto add = [&](std::size_t size, bool with_prefix) {
    payloads.emplace_back(size, static_cast<std::uint8_t>(payloads.size()));
    out.push_back(
        {with_prefix ? std::span<const std::uint8_t>(prefix) : std::span<const std::uint8_t>(),
         payloads.back()});
  };
  payloads.reserve(100);
  for (int i = 0; i < 60; ++i)
    add(1200, false);
  add(700, false);
  for (int i = 0; i < 5; ++i)
    add(300, true);
  for (int i = 0; i < 20; ++i)
    add(1200, false);

  std::error_code ec;
  std::size_t sent = 0;
  for (int tries = 0; sent < out.size() && tries < 100; ++tries) {
    sent += datagram_io::send(tx, rx.local_endpoint(), false, std::span(out).subspan(sent), ec);
    ASSERT_FALSE(ec) << ec.message();
  }
  ASSERT_EQ(sent, out.size());

  std::vector<std::vector<std::uint8_t>> got;
  std::vector<datagram_io::received> batch;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (got.size() < out.size() && std::chrono::steady_clock::now() < until) {
    if (rxio.receive(rx, batch, ec) == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    ASSERT_FALSE(ec) << ec.message();
    for (const auto& r : batch)
      got.emplace_back(r.data.begin(), r.data.end());
  }
  ASSERT_EQ(got.size(), out.size());
  for (std::size_t i = 0; i < out.size(); ++i) {
    std::vector<std::uint8_t> want(out[i].prefix.begin(), out[i].prefix.end());
    want.insert(want.end(), payloads[i].begin(), payloads[i].end());
    EXPECT_EQ(got[i], want) << "datagram " << i;
  }
}

}  // namespace
}  // namespace ferry::rudp
