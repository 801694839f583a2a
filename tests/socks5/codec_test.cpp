// SOCKS5 codec: every message, every truncated prefix of every reply, bad
// version bytes, overlong names and credentials.
#include "socks5/codec.hpp"
#include "socks5/proxy_url.hpp"

#include <gtest/gtest.h>

namespace ferry::socks5 {
namespace {

byte_buffer bytes(std::initializer_list<int> v) {
  byte_buffer b;
  for (int x : v)
    b.push_back(static_cast<std::uint8_t>(x));
  return b;
}

TEST(Socks5, GreetingOffersPasswordOnlyWithCredentials) {
  byte_buffer b;
  encode_greeting(false, b);
  EXPECT_EQ(b, bytes({5, 1, 0}));
  b.clear();
  encode_greeting(true, b);
  EXPECT_EQ(b, bytes({5, 2, 0, 2}));
}

TEST(Socks5, MethodSelection) {
  std::uint8_t m = 9;
  EXPECT_FALSE(decode_method_selection(bytes({5, 2}), m));
  EXPECT_EQ(m, 2);
  EXPECT_EQ(decode_method_selection(bytes({5}), m), error::need_more);
  EXPECT_EQ(decode_method_selection({}, m), error::need_more);
  EXPECT_EQ(decode_method_selection(bytes({4, 0}), m), error::bad_version);
  EXPECT_EQ(decode_method_selection(bytes({0x48}), m), error::bad_version);  // "HTTP/1.1"
}

TEST(Socks5, LoginRoundTripAndBounds) {
  byte_buffer b;
  ASSERT_FALSE(encode_login("alice", "s3cret", b));
  EXPECT_EQ(b, bytes({1, 5, 'a', 'l', 'i', 'c', 'e', 6, 's', '3', 'c', 'r', 'e', 't'}));
  byte_buffer none;
  EXPECT_EQ(encode_login(std::string(256, 'u'), "p", none), error::credential_too_long);
  EXPECT_EQ(encode_login("u", std::string(256, 'p'), none), error::credential_too_long);
  EXPECT_EQ(encode_login("", "p", none), error::credential_too_long);
  EXPECT_TRUE(none.empty()) << "nothing may be written for a refused login";
  ASSERT_FALSE(encode_login(std::string(255, 'u'), std::string(255, 'p'), none));
  std::uint8_t st = 9;
  EXPECT_FALSE(decode_login_reply(bytes({1, 0}), st));
  EXPECT_EQ(st, 0);
  EXPECT_FALSE(decode_login_reply(bytes({1, 2}), st));  // microsocks' refusal
  EXPECT_EQ(st, 2);
  EXPECT_EQ(decode_login_reply(bytes({1}), st), error::need_more);
  EXPECT_EQ(decode_login_reply(bytes({5, 0}), st), error::bad_version);
}

TEST(Socks5, RequestPicksTheAddressType) {
  byte_buffer b;
  ASSERT_FALSE(encode_request(command::connect, {"10.1.2.3", 7070}, b));
  EXPECT_EQ(b, bytes({5, 1, 0, 1, 10, 1, 2, 3, 0x1b, 0x9e}));
  b.clear();
  ASSERT_FALSE(encode_request(command::bind, {"::1", 80}, b));
  EXPECT_EQ(b, bytes({5, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 80}));
  b.clear();
  ASSERT_FALSE(encode_request(command::connect, {"files.example", 1}, b));
  EXPECT_EQ(b.size(), 4u + 1 + 13 + 2);
  EXPECT_EQ(b[3], 3);
  EXPECT_EQ(b[4], 13);
  byte_buffer none;
  EXPECT_EQ(encode_request(command::connect, {std::string(256, 'h'), 1}, none),
            error::name_too_long);
  EXPECT_EQ(encode_request(command::connect, {"", 1}, none), error::name_too_long);
  EXPECT_TRUE(none.empty());
  ASSERT_FALSE(encode_request(command::connect, {std::string(255, 'h'), 1}, none));
}

std::vector<reply> sample_replies() {
  return {{0, {"127.0.0.1", 40000}}, {0, {"0.0.0.0", 0}},         {5, {"::1", 1080}},
          {0, {"proxy.example", 9}}, {0, {"2001:db8::7", 65535}}, {7, {"0.0.0.0", 0}}};
}

TEST(Socks5, ReplyRoundTripsInEveryLegalForm) {
  for (const auto& r : sample_replies()) {
    byte_buffer b;
    encode_reply(r, b);
    b.push_back(0xAA);  // the next bytes on the stream are not part of it
    reply out;
    std::size_t used = 0;
    ASSERT_FALSE(decode_reply(b, out, used)) << r.bound.host;
    EXPECT_EQ(out, r);
    EXPECT_EQ(used, b.size() - 1);
  }
}

TEST(Socks5, EveryTruncatedReplyNeedsMore) {
  for (const auto& r : sample_replies()) {
    byte_buffer b;
    encode_reply(r, b);
    for (std::size_t n = 0; n < b.size(); ++n) {
      reply out;
      std::size_t used = 99;
      EXPECT_EQ(decode_reply(std::span(b).first(n), out, used), error::need_more)
          << r.bound.host << " prefix " << n;
      EXPECT_EQ(used, 0u);
    }
  }
}

TEST(Socks5, MalformedRepliesAreRefused) {
  reply out;
  std::size_t used = 0;
  EXPECT_EQ(decode_reply(bytes({4, 0, 0, 1, 0, 0, 0, 0, 0, 0}), out, used), error::bad_version);
  EXPECT_EQ(decode_reply(bytes({5, 0, 1, 1, 0, 0, 0, 0, 0, 0}), out, used), error::bad_reserved);
  EXPECT_EQ(decode_reply(bytes({5, 0, 0, 9, 0, 0}), out, used), error::bad_address_type);
  // An empty name, or one with a NUL inside, is no address; fuzz_socks5
  // found both (the NUL one re-encoded as the IPv6 literal "::").
  EXPECT_EQ(decode_reply(bytes({5, 0, 0, 3, 0, 0x1f, 0x90}), out, used), error::bad_name);
  EXPECT_EQ(decode_reply(bytes({5, 0, 0, 3, 3, ':', ':', 0, 0x1f, 0x90}), out, used),
            error::bad_name);
  udp_header h;
  EXPECT_EQ(decode_udp_header(bytes({0, 0, 0, 3, 3, 'a', 10, 'b', 0x1f, 0x90}), h),
            error::bad_name);
  EXPECT_EQ(decode_reply(bytes({5, 0, 0, 2}), out, used), error::bad_address_type);
}

TEST(Socks5, UdpHeaderRoundTripAndTruncation) {
  for (const address& a : {address{"127.0.0.1", 5}, address{"::1", 6}, address{"h.example", 7}}) {
    byte_buffer b;
    ASSERT_FALSE(encode_udp_header(a, b));
    const std::size_t header = b.size();
    b.push_back('x');
    udp_header h;
    ASSERT_FALSE(decode_udp_header(b, h));
    EXPECT_EQ(h.dst, a);
    EXPECT_EQ(h.frag, 0);
    EXPECT_EQ(h.length, header);
    for (std::size_t n = 0; n < header; ++n)
      EXPECT_EQ(decode_udp_header(std::span(b).first(n), h), error::need_more) << n;
  }
  udp_header h;
  EXPECT_EQ(decode_udp_header(bytes({0, 1, 0, 1, 1, 2, 3, 4, 0, 1}), h), error::bad_reserved);
  ASSERT_FALSE(decode_udp_header(bytes({0, 0, 3, 1, 1, 2, 3, 4, 0, 1}), h));
  EXPECT_EQ(h.frag, 3) << "FRAG is reported so that the caller can drop fragments";
}

TEST(Socks5, ReplyMessagesFollowRfc1928) {
  EXPECT_STREQ(reply_message(1), "general SOCKS server failure");
  EXPECT_STREQ(reply_message(2), "connection not allowed by ruleset");
  EXPECT_STREQ(reply_message(3), "network unreachable");
  EXPECT_STREQ(reply_message(4), "host unreachable");
  EXPECT_STREQ(reply_message(5), "connection refused");
  EXPECT_STREQ(reply_message(6), "TTL expired");
  EXPECT_STREQ(reply_message(7), "command not supported");
  EXPECT_STREQ(reply_message(8), "address type not supported");
  EXPECT_STREQ(reply_message(9), "unknown reply code");
}

}  // namespace
}  // namespace ferry::socks5

namespace ferry::socks5 {
namespace {

TEST(ProxyUrl, Forms) {
  std::string why;
  auto p = parse_proxy_url("socks5h://127.0.0.1:1080", why);
  ASSERT_TRUE(p) << why;
  EXPECT_TRUE(p->remote_dns);
  EXPECT_EQ(p->server, (net::host_port{"127.0.0.1", 1080}));
  EXPECT_TRUE(p->user.empty());
  p = parse_proxy_url("socks5://alice:s3cret@[::1]:1081/", why);
  ASSERT_TRUE(p) << why;
  EXPECT_FALSE(p->remote_dns);
  EXPECT_EQ(p->server, (net::host_port{"::1", 1081}));
  EXPECT_EQ(p->user, "alice");
  EXPECT_EQ(p->password, "s3cret");
  EXPECT_EQ(p->display(), "socks5://[::1]:1081");  // never the credentials
  EXPECT_EQ(parse_proxy_url("socks5://proxy", why)->server.port, 1080);
  EXPECT_EQ(parse_proxy_url("socks5://[::1]", why)->server.port, 1080);
  p = parse_proxy_url("socks5://a%40b:p%3Aw%25@h:1", why);
  ASSERT_TRUE(p) << why;
  EXPECT_EQ(p->user, "a@b");
  EXPECT_EQ(p->password, "p:w%");
  p = parse_proxy_url("socks5://u:p@ss@h:1", why);  // the last @ ends the credentials
  ASSERT_TRUE(p) << why;
  EXPECT_EQ(p->password, "p@ss");
}

TEST(ProxyUrl, BadOnesSayWhyWithoutTheSecret) {
  std::string why;
  EXPECT_FALSE(parse_proxy_url("http://127.0.0.1:3128", why));
  EXPECT_NE(why.find("unsupported proxy scheme 'http'"), std::string::npos);
  EXPECT_FALSE(parse_proxy_url("127.0.0.1:1080", why));
  EXPECT_FALSE(parse_proxy_url("socks5://u:p%zz@h", why));
  EXPECT_EQ(why.find("p%zz"), std::string::npos);
  EXPECT_FALSE(parse_proxy_url("socks5://" + std::string(256, 'u') + ":p@h", why));
  EXPECT_FALSE(parse_proxy_url("socks5://h:0", why));
  EXPECT_FALSE(parse_proxy_url("socks5://h:99999", why));
  EXPECT_FALSE(parse_proxy_url("socks5://", why));
}

TEST(ProxyUrl, UnbracketedIpv6IsRefusedWithTheBracketedForm) {
  std::string why;
  EXPECT_FALSE(parse_proxy_url("socks5://::1:1080", why));
  EXPECT_NE(why.find("in brackets: socks5://[::1]:1080"), std::string::npos) << why;
  EXPECT_FALSE(parse_proxy_url("socks5h://u:p@fe80::1", why));
  EXPECT_NE(why.find("socks5h://[fe80::1]"), std::string::npos) << why;
  EXPECT_EQ(why.find("u:p"), std::string::npos);
  EXPECT_FALSE(parse_proxy_url("socks5://::1", why));
}

TEST(ProxyUrl, PercentDecode) {
  EXPECT_EQ(percent_decode("a%20b%2f"), "a b/");
  EXPECT_FALSE(percent_decode("%2"));
  EXPECT_FALSE(percent_decode("%g0"));
}

}  // namespace
}  // namespace ferry::socks5
