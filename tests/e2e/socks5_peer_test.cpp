// Scripted SOCKS5 proxies against the real ferry-send, for the replies real
// servers cannot be made to give on demand: an unknown REP, a malformed
// reply, a stall, a close after the greeting, and every legal reply form.
#include <gtest/gtest.h>

#include <thread>

#include "../support/process.hpp"
#include "../support/temp_dir.hpp"
#include "../support/wire.hpp"
#include "socks5/codec.hpp"

namespace ferry::test {
namespace {

using namespace std::chrono_literals;
using socks5::byte_buffer;

class ScriptedProxy : public ::testing::Test {
 protected:
  void SetUp() override { ::setenv("FERRY_CONFIG_DIR", (tmp_ / "config").c_str(), 1); }
  // Starts ferry-send to 10.0.0.5:7070 (never contacted: the proxy is
  // scripted) through our listener.
  std::unique_ptr<child> run(const std::string& scheme = "socks5",
                             const std::string& dest = "10.0.0.5:7070") {
    write_file(tmp_ / "a.txt", "payload");
    return std::make_unique<child>(
        std::vector<std::string>{FERRY_SEND_BIN, "--connect-timeout", "2", "--proxy",
                                 scheme + "://127.0.0.1:" + std::to_string(proxy_.port()), dest,
                                 (tmp_ / "a.txt").string()},
        tmp_ / "out", tmp_ / "err");
  }
  // Reads the greeting (no auth offered) and selects no-auth.
  static bool greet(wire& w) {
    if (!w.read_exact(3) || w.taken() != byte_buffer{5, 1, 0}) return false;
    w.send(byte_buffer{5, 0});
    return true;
  }
  // Reads a CONNECT request, returns its bytes.
  static byte_buffer request(wire& w, std::size_t n) {
    if (!w.read_exact(n)) return {};
    return w.taken();
  }
  // Accepts ferry-send, greets it, reads its IPv4 CONNECT and reports success.
  std::optional<wire> connected() {
    auto w = proxy_.accept();
    if (!w || !greet(*w) || request(*w, 10).empty()) return std::nullopt;
    byte_buffer r;
    socks5::encode_reply({0, {"10.0.0.5", 7070}}, r);
    w->send(r);
    return w;
  }
  std::string err() const { return read_file(tmp_ / "err"); }

  temp_dir tmp_;
  listener proxy_;
};

TEST_F(ScriptedProxy, UnknownReplyCodeIsNamed) {
  auto p = run();
  auto w = proxy_.accept();
  ASSERT_TRUE(w && greet(*w));
  ASSERT_FALSE(request(*w, 10).empty());
  byte_buffer r;
  socks5::encode_reply({9, {"0.0.0.0", 0}}, r);
  w->send(r);
  EXPECT_EQ(p->wait_for(10s), 4);
  EXPECT_NE(err().find("socks5 connect to 10.0.0.5:7070 via socks5://127.0.0.1:" +
                       std::to_string(proxy_.port()) + ": unknown reply code by proxy (REP 9)"),
            std::string::npos)
      << err();
}

TEST_F(ScriptedProxy, SuccessThenCloseBlamesTheProxyNotTheReceiver) {
  auto p = run();
  auto w = connected();
  ASSERT_TRUE(w);
  w.reset();  // "connected", then gone
  EXPECT_EQ(p->wait_for(10s), 4);
  EXPECT_NE(err().find("handshake with 10.0.0.5:7070 via socks5://127.0.0.1:" +
                       std::to_string(proxy_.port()) +
                       ": the connection closed before the receiver said a word; the proxy "
                       "reported it had connected, but it may not have reached 10.0.0.5:7070"),
            std::string::npos)
      << err();
  const auto events = read_file(tmp_ / "out");
  EXPECT_EQ(events.find("\"transport\":\"udp\""), std::string::npos);
}

TEST_F(ScriptedProxy, SuccessThenSilenceEndsWithinTheConnectTimeout) {
  auto p = run();  // --connect-timeout 2
  auto w = connected();
  ASSERT_TRUE(w);
  EXPECT_EQ(p->wait_for(20s), 8) << err();
}

TEST_F(ScriptedProxy, EveryRfcReplyCodeIsNamed) {
  for (std::uint8_t rep = 1; rep <= 8; ++rep) {
    auto p = run();
    auto w = proxy_.accept();
    ASSERT_TRUE(w && greet(*w));
    ASSERT_FALSE(request(*w, 10).empty());
    byte_buffer r;
    socks5::encode_reply({rep, {"0.0.0.0", 0}}, r);
    w->send(r);
    EXPECT_EQ(p->wait_for(10s), 4);
    EXPECT_NE(err().find(std::string(socks5::reply_message(rep)) + " by proxy (REP " +
                         std::to_string(rep) + ")"),
              std::string::npos)
        << err();
  }
}

TEST_F(ScriptedProxy, MalformedReplyIsRefused) {
  auto p = run();
  auto w = proxy_.accept();
  ASSERT_TRUE(w && greet(*w));
  ASSERT_FALSE(request(*w, 10).empty());
  w->send(byte_buffer{4, 0, 0, 1, 0, 0, 0, 0, 0, 0});  // SOCKS4-ish version byte
  EXPECT_EQ(p->wait_for(10s), 4);
  EXPECT_NE(err().find("malformed reply"), std::string::npos) << err();
}

TEST_F(ScriptedProxy, StallIsBoundedByOurOwnDeadline) {
  auto p = run();
  auto w = proxy_.accept();
  ASSERT_TRUE(w && greet(*w));
  // ... and never answer the request.
  EXPECT_EQ(p->wait_for(15s), 4);
  EXPECT_NE(err().find("proxy did not answer within 2.00s (connect reply)"), std::string::npos)
      << err();
}

TEST_F(ScriptedProxy, CloseAfterGreetingIsNamed) {
  auto p = run();
  {
    auto w = proxy_.accept();
    ASSERT_TRUE(w && w->read_exact(3));
  }  // closed without a method selection
  EXPECT_EQ(p->wait_for(10s), 4);
  EXPECT_NE(err().find("proxy closed the connection without a reply (method selection)"),
            std::string::npos)
      << err();
}

TEST_F(ScriptedProxy, NameIsSentToTheProxyWithSocks5h) {
  auto p = run("socks5h", "files.example:7070");
  auto w = proxy_.accept();
  ASSERT_TRUE(w && greet(*w));
  const auto req = request(*w, 4 + 1 + 13 + 2);
  const byte_buffer want_prefix = {5, 1, 0, 3, 13};
  ASSERT_EQ(byte_buffer(req.begin(), req.begin() + 5), want_prefix);
  EXPECT_EQ(std::string(req.begin() + 5, req.begin() + 18), "files.example");
  byte_buffer r;
  socks5::encode_reply({4, {"0.0.0.0", 0}}, r);
  w->send(r);
  EXPECT_EQ(p->wait_for(10s), 4);
}

// A successful reply in each legal form, then a scripted ferry receiver on
// the same connection: the sender must carry on past every form.
TEST_F(ScriptedProxy, EveryLegalReplyFormIsAccepted) {
  for (const socks5::address& bnd :
       {socks5::address{"proxy.example", 4242}, socks5::address{"0.0.0.0", 0},
        socks5::address{"192.0.2.1", 1}}) {
    auto p = run("socks5", "[::1]:7070");  // IPv4-typed BND for an IPv6 target, too
    auto w = proxy_.accept();
    ASSERT_TRUE(w && greet(*w));
    ASSERT_FALSE(request(*w, 4 + 16 + 2).empty());
    byte_buffer r;
    socks5::encode_reply({0, bnd}, r);
    w->send(r);
    // Now be the receiver.
    ASSERT_EQ(w->read_preamble(), framing::protocol_version) << bnd.host;
    ASSERT_TRUE(w->secure_server()) << bnd.host;
    ASSERT_TRUE(w->read_as<framing::hello>());
    w->send(framing::welcome{0, 0, "scripted"});
    auto o = w->read_as<framing::offer>();
    ASSERT_TRUE(o);
    w->send(framing::answer{o->id, framing::answer_kind::reject, 0, "scripted"});
    ASSERT_TRUE(w->read_as<framing::end>());
    w->send(framing::bye{0, 0});
    EXPECT_EQ(p->wait_for(10s), 1) << bnd.host << ": " << err();
  }
}

}  // namespace
}  // namespace ferry::test
