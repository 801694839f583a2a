// JSON escaping, sizes and durations, host:port parsing.
#include <gtest/gtest.h>

#include <limits>
#include <regex>

#include "net/address.hpp"
#include "util/checked.hpp"
#include "util/json.hpp"
#include "util/text.hpp"
#include "util/units.hpp"

namespace ferry {
namespace {

TEST(Json, EscapesControlQuotesAndInvalidUtf8) {
  const auto line =
      json_line("e").str("p", "a\"b\\c\nd\x01\xc3\xa9\xff").num("n", std::uint64_t{7}).finish();
  // {"event":"e","time":"2026-12-01T05:10:00.123Z",...}
  ASSERT_EQ(line.substr(0, 21), "{\"event\":\"e\",\"time\":\"");
  const auto time = line.substr(21, 24);
  EXPECT_TRUE(std::regex_match(time, std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")))
      << time;
  EXPECT_EQ(line.substr(45), "\",\"p\":\"a\\\"b\\\\c\\nd\\u0001\xc3\xa9\\ufffd\",\"n\":7}\n");
}

// Valid UTF-8 that steers a terminal printing the field verbatim (found by
// a hostile receiver's error text): C1 controls, bidi overrides and
// isolates, line separators. Other text stays as it is.
TEST(Json, EscapesCodePointsThatSteerAReader) {
  const auto line = json_line("e")
                        .str("p",
                             "a\xc2\x85"
                             "b\xe2\x80\xae"
                             "c\xe2\x81\xa6"
                             "d\xe2\x80\xa8"
                             "e\xd8\x9c"
                             "f\xe2\x82\xac\xc3\xa9")
                        .finish();
  EXPECT_NE(line.find("\"p\":\"a\\u0085b\\u202ec\\u2066d\\u2028e\\u061cf\xe2\x82\xac\xc3\xa9"
                      "\""),
            std::string::npos)
      << line;
}

TEST(Json, RealsArePlainDecimals) {
  EXPECT_EQ(plain_decimal(6.0551e-05), "0.000061");
  EXPECT_EQ(plain_decimal(2.5), "2.5");
  EXPECT_EQ(plain_decimal(3.0), "3");
  EXPECT_EQ(plain_decimal(0.0), "0");
  EXPECT_EQ(plain_decimal(-1e-9), "0");
  EXPECT_EQ(plain_decimal(1.2e9), "1200000000");
  EXPECT_EQ(plain_decimal(1e300).find('e'), std::string::npos);
  EXPECT_EQ(plain_decimal(std::numeric_limits<double>::infinity()), "0");
}

TEST(Printable, EscapesWhatCouldDriveATerminalOrForgeALine) {
  // Colour, window title (OSC ... BEL), a forged log line, DEL.
  EXPECT_EQ(printable("a\x1b[31mred\x1b]0;title\x07"), "a\\x1b[31mred\\x1b]0;title\\x07");
  EXPECT_EQ(printable("x\nferry-recv: forged"), "x\\nferry-recv: forged");
  EXPECT_EQ(printable("tab\there\r\x7f"), "tab\\there\\r\\x7f");
  // C1 CSI (U+009B) and the bidi overrides are valid UTF-8 but not text.
  EXPECT_EQ(printable("\xc2\x9b"
                      "31m"),
            "\\u{009b}31m");
  EXPECT_EQ(printable("evil\xe2\x80\xaegpj.exe"), "evil\\u{202e}gpj.exe");
  EXPECT_EQ(printable("\xe2\x81\xa6x\xe2\x81\xa9\xe2\x80\x8f\xd8\x9c"),
            "\\u{2066}x\\u{2069}\\u{200f}\\u{061c}");
  // Line and paragraph separators split lines in some viewers; invisible
  // characters make two names look alike.
  EXPECT_EQ(printable("a\xe2\x80\xa8"
                      "b\xe2\x80\xa9"
                      "c"),
            "a\\u{2028}b\\u{2029}c");
  EXPECT_EQ(printable("\xef\xbb\xbfx\xe2\x80\x8by\xe2\x81\xa0"), "\\u{feff}x\\u{200b}y\\u{2060}");
  // Joiners stay: scripts and emoji sequences need them.
  EXPECT_EQ(printable("\xe2\x80\x8c\xe2\x80\x8d"), "\xe2\x80\x8c\xe2\x80\x8d");
  // Invalid UTF-8: lone bytes, overlong forms, surrogates, truncated.
  EXPECT_EQ(printable("\xff\xc0\xaf"), "\\xff\\xc0\\xaf");
  EXPECT_EQ(printable("\xed\xa0\x80"), "\\xed\\xa0\\x80");
  EXPECT_EQ(printable("ab\xe2\x82"), "ab\\xe2\\x82");
  EXPECT_EQ(printable(std::string_view("a\0b", 3)), "a\\x00b");
}

TEST(Printable, LeavesTextAloneAndStaysUnambiguous) {
  EXPECT_EQ(printable("photos/été 日本 😀.jpg"), "photos/été 日本 😀.jpg");
  EXPECT_EQ(printable(""), "");
  // A literal backslash sequence never reads like an escape we made.
  EXPECT_EQ(printable("a\\x1b"), "a\\\\x1b");
  EXPECT_NE(printable("a\\x1b"), printable("a\x1b"));
}

TEST(Checked, SumsNeverWrap) {
  constexpr std::uint64_t max = ~std::uint64_t{0};
  constexpr std::uint64_t two63 = std::uint64_t{1} << 63;
  EXPECT_EQ(checked_add(0, 0), 0u);
  EXPECT_EQ(checked_add(max, 0), max);
  EXPECT_FALSE(checked_add(max, 1));
  EXPECT_FALSE(checked_add(two63, two63));
  EXPECT_EQ(checked_add(two63, two63 - 1), max);
  EXPECT_EQ(saturating_add(900 << 10, max - (800 << 10)), max);
  EXPECT_EQ(saturating_mul(two63, 2), max);
  EXPECT_EQ(saturating_mul(0, max), 0u);
  EXPECT_EQ(saturating_sub(1, 2), 0u);
  EXPECT_EQ(saturating_sub(max, max), 0u);
  // The issue's case: 900 KiB committed, then a file of 2^64 - 800 KiB
  // must not fit under a 1 MiB limit.
  EXPECT_FALSE(fits_limit(900 << 10, max - (800 << 10) + 1, 1 << 20));
  EXPECT_TRUE(fits_limit(900 << 10, 124 << 10, 1 << 20));
  EXPECT_FALSE(fits_limit(900 << 10, (124 << 10) + 1, 1 << 20));
  EXPECT_TRUE(fits_limit(max, max, 0));  // 0: no limit
  EXPECT_FALSE(fits_limit(1, max, max));
  EXPECT_TRUE(fits_limit(0, max, max));
  EXPECT_EQ(max_file_bytes, two63 - 1);
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
