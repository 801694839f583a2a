// JSON escaping, sizes and durations, host:port parsing.
#include <gtest/gtest.h>

#include "net/address.hpp"
#include "util/json.hpp"
#include "util/units.hpp"

namespace ferry {
namespace {

TEST(Json, EscapesControlQuotesAndInvalidUtf8) {
  const auto line =
      json_line("e").str("p", "a\"b\\c\nd\x01\xc3\xa9\xff").num("n", std::uint64_t{7}).finish();
  EXPECT_EQ(line, "{\"event\":\"e\",\"p\":\"a\\\"b\\\\c\\nd\\u0001\xc3\xa9\\ufffd\",\"n\":7}\n");
}

TEST(Units, ParseSize) {
  EXPECT_EQ(parse_size("0"), 0u);
  EXPECT_EQ(parse_size("10K"), 10240u);
  EXPECT_EQ(parse_size("5M"), 5u << 20);
  EXPECT_EQ(parse_size("2GiB"), 2ull << 30);
  EXPECT_EQ(parse_size("1T"), 1ull << 40);
  EXPECT_EQ(parse_size("12B"), 12u);
  EXPECT_FALSE(parse_size(""));
  EXPECT_FALSE(parse_size("M"));
  EXPECT_FALSE(parse_size("10X"));
  EXPECT_FALSE(parse_size("99999999999999999999"));
  EXPECT_FALSE(parse_size("20000000000T"));
}

TEST(Units, ParseSeconds) {
  EXPECT_EQ(parse_seconds("30"), 30.0);
  EXPECT_EQ(parse_seconds("2.5s"), 2.5);
  EXPECT_EQ(parse_seconds("500ms"), 0.5);
  EXPECT_EQ(parse_seconds("2m"), 120.0);
  EXPECT_FALSE(parse_seconds("0"));
  EXPECT_FALSE(parse_seconds("-1"));
  EXPECT_FALSE(parse_seconds("abc"));
}

TEST(Units, Format) {
  EXPECT_EQ(format_bytes(512), "512 B");
  EXPECT_EQ(format_bytes(1536), "1.5 KiB");
  EXPECT_EQ(format_rate(2.5e9), "2.5 GB/s");
  EXPECT_EQ(format_duration(65), "1m05s");
  EXPECT_EQ(format_duration(0.25), "0.25s");
  EXPECT_EQ(format_duration(12), "12s");
}

TEST(Address, HostPortForms) {
  using net::host_port;
  using net::parse_host_port;
  EXPECT_EQ(parse_host_port("host"), (host_port{"host", 7070}));
  EXPECT_EQ(parse_host_port("host:80"), (host_port{"host", 80}));
  EXPECT_EQ(parse_host_port("10.0.0.1:0"), (host_port{"10.0.0.1", 0}));
  EXPECT_EQ(parse_host_port("[::1]:9"), (host_port{"::1", 9}));
  EXPECT_EQ(parse_host_port("[::1]"), (host_port{"::1", 7070}));
  EXPECT_EQ(parse_host_port("::1"), (host_port{"::1", 7070}));
  EXPECT_EQ(parse_host_port(":7071"), (host_port{"", 7071}));
  EXPECT_FALSE(parse_host_port("host:"));
  EXPECT_FALSE(parse_host_port("host:65536"));
  EXPECT_FALSE(parse_host_port("host:x"));
  EXPECT_FALSE(parse_host_port("[::1"));
  EXPECT_FALSE(parse_host_port("[::1]x"));
  EXPECT_FALSE(parse_host_port(""));
  EXPECT_EQ(net::to_string(host_port{"::1", 5}), "[::1]:5");
}

}  // namespace
}  // namespace ferry
