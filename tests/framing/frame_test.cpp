// Codec tests: every message round-trips, every truncated prefix is
// need_more, and over-limit or malformed input is refused without
// buffering the payload.
#include "framing/frame.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ferry::framing {
namespace {

std::vector<message> samples() {
  return {
      hello{0, "ferry-send/0.1.0"},
      hello{feature::to | feature::compress, "ferry-send/0.2.0", "backup/laptop"},
      hello{0xffff0000u, "a later sender", ""},
      welcome{7, 1ull << 40, "ferry-recv/0.1.0"},
      offer{1, entry_kind::file, true, 0644, 1'600'000'000'123'456'789, 5'000'000,
            "photos/a b/é.jpg"},
      offer{2, entry_kind::directory, true, 0755, -5, 0, "empty"},
      offer{3, entry_kind::file, false, 0600, 0, 0, "stdin.tar"},
      offer{4, entry_kind::file, true, 0600, 7, 9, "r", true, true, hash128{1, 2}},
      answer{1, answer_kind::accept, 0, ""},
      answer{2, answer_kind::skip, 0, "identical"},
      answer{3, answer_kind::resume, 4096, "", hash128{0xabcdull, 0x1234ull}},
      restart{3},
      keepalive{},
      answer{4, answer_kind::reject, 0, "exists"},
      data{9, max_data_segment},
      zdata{9, max_zdata_segment, max_zdata_segment - 1},
      zdata{9, 2, 1},
      done{9, 123, hash128{0x0123456789abcdefull, 0xfedcba9876543210ull}},
      abort_file{9, "read error"},
      verdict{9, verdict_kind::hash_mismatch, "mismatch"},
      end{},
      bye{10, 1ull << 33},
      error_frame{error_code::version_mismatch, "version"},
      auth{auth_method::key, binding_value{1, 2, 3}, ""},
      auth{auth_method::code, binding_value{}, std::string(34, 'y')},
      auth_reply{auth_status::code_continue, binding_value{9}, std::string(34, 'b'),
                 std::string(64, 't')},
      auth_reply{auth_status::accepted, binding_value{}, "", ""},
  };
}

TEST(Frame, EveryMessageRoundTrips) {
  for (const auto& msg : samples()) {
    byte_buffer buf;
    encode(msg, buf);
    message out;
    std::size_t used = 0;
    ASSERT_FALSE(decode(buf, out, used)) << type_name(msg);
    EXPECT_EQ(used, buf.size()) << type_name(msg);
    EXPECT_EQ(out, msg) << type_name(msg);
  }
}

TEST(Frame, BackToBackFramesDecodeInOrder) {
  byte_buffer buf;
  const auto all = samples();
  for (const auto& m : all)
    encode(m, buf);
  std::span<const std::uint8_t> rest(buf);
  for (const auto& expected : all) {
    message out;
    std::size_t used = 0;
    ASSERT_FALSE(decode(rest, out, used));
    EXPECT_EQ(out, expected);
    rest = rest.subspan(used);
  }
  EXPECT_TRUE(rest.empty());
}

TEST(Frame, EveryTruncatedPrefixNeedsMore) {
  for (const auto& msg : samples()) {
    byte_buffer buf;
    encode(msg, buf);
    for (std::size_t n = 0; n < buf.size(); ++n) {
      message out;
      std::size_t used = 99;
      const auto ec = decode(std::span(buf).first(n), out, used);
      EXPECT_EQ(ec, error::need_more) << type_name(msg) << " prefix " << n;
      EXPECT_EQ(used, 0u);
    }
  }
}

TEST(Frame, UnknownTypeIsRefusedFromTheFirstByte) {
  for (const int t : {0x00, 0x05, 0x18, 0x47, 0x7e, 0xff}) {
    const byte_buffer buf = {static_cast<std::uint8_t>(t)};
    message out;
    std::size_t used = 0;
    EXPECT_EQ(decode(buf, out, used), error::unknown_type) << int(t);
  }
}

// The authorisation frames come from a peer not yet authorised: every
// field is checked (method and status values, the binding's size, the
// proof's bound) before anything is kept.
TEST(Frame, AuthFramesRefuseBadValuesAndLongProofs) {
  auto payload_of = [](const message& m) {
    byte_buffer b;
    encode(m, b);
    return b;
  };
  for (const std::uint8_t method : {std::uint8_t{0}, std::uint8_t{5}, std::uint8_t{255}}) {
    auto b = payload_of(auth{auth_method::key, {}, ""});
    b[header_size] = method;
    message out;
    std::size_t used = 0;
    EXPECT_EQ(decode(b, out, used), error::bad_value) << int(method);
  }
  {
    auto b = payload_of(auth_reply{auth_status::accepted, {}, "", ""});
    b[header_size] = 2;
    message out;
    std::size_t used = 0;
    EXPECT_EQ(decode(b, out, used), error::bad_value);
  }
  {
    // A proof one byte over its bound: the encoder clips, so build it by hand.
    const std::string proof(max_proof_bytes + 1, 'x');
    byte_buffer b;
    writer w(b);
    w.u8(static_cast<std::uint8_t>(frame_type::auth));
    w.u32(static_cast<std::uint32_t>(1 + binding_size + 2 + proof.size()));
    w.u8(1);
    w.raw(binding_value{});
    w.str16(proof);
    message out;
    std::size_t used = 0;
    EXPECT_EQ(decode(b, out, used), error::string_too_long);
  }
  {
    // A binding cut short is malformed, not read past.
    byte_buffer b = {static_cast<std::uint8_t>(frame_type::auth), 0, 0, 0, 5, 1, 0, 0, 0, 0};
    message out;
    std::size_t used = 0;
    EXPECT_EQ(decode(b, out, used), error::malformed);
  }
}

TEST(Frame, OverLimitLengthIsRefusedFromTheHeaderAlone) {
  // Only the five header bytes are present: the decoder must not wait for
  // (or allocate) a 4 GiB payload.
  for (const std::uint32_t len : {max_payload + 1, 0x7fffffffu, 0xffffffffu}) {
    byte_buffer buf = {static_cast<std::uint8_t>(frame_type::offer)};
    for (int i = 3; i >= 0; --i)
      buf.push_back(static_cast<std::uint8_t>(len >> (8 * i)));
    message out;
    std::size_t used = 0;
    EXPECT_EQ(decode(buf, out, used), error::frame_too_large) << len;
  }
}

TEST(Frame, OverLimitDataSegmentIsRefused) {
  byte_buffer buf;
  encode(data{1, 0}, buf);
  const std::uint32_t len = max_data_segment + 1;
  for (std::size_t i = 0; i < 4; ++i)
    buf[buf.size() - 4 + i] = static_cast<std::uint8_t>(len >> (8 * (3 - i)));
  message out;
  std::size_t used = 0;
  EXPECT_EQ(decode(buf, out, used), error::frame_too_large);
}

TEST(Frame, CompressedSegmentsAreBounded) {
  auto decoded = [](const zdata& z) {
    byte_buffer buf;
    encode(z, buf);
    message out;
    std::size_t used = 0;
    return decode(buf, out, used);
  };
  EXPECT_EQ(decoded(zdata{1, max_zdata_segment + 1, 10}), error::frame_too_large);
  EXPECT_EQ(decoded(zdata{1, 0xffffffffu, 10}), error::frame_too_large);
  EXPECT_EQ(decoded(zdata{1, 100, 0}), error::bad_value);  // nothing to decode
  EXPECT_EQ(decoded(zdata{1, 0, 10}), error::bad_value);   // nothing to give
  EXPECT_EQ(decoded(zdata{1, 0, 0}), error::bad_value);
  // Incompressible content may cost zstd a little more than its size, and
  // no more: 100 + 0 + 128 bytes at most for 100.
  EXPECT_FALSE(decoded(zdata{1, 100, 99}));
  EXPECT_FALSE(decoded(zdata{1, 100, 228}));
  EXPECT_EQ(decoded(zdata{1, 100, 229}), error::bad_value);
  EXPECT_FALSE(decoded(
      zdata{1, max_zdata_segment, static_cast<std::uint32_t>(zdata_bound(max_zdata_segment))}));
  EXPECT_EQ(decoded(zdata{1, max_zdata_segment,
                          static_cast<std::uint32_t>(zdata_bound(max_zdata_segment) + 1)}),
            error::bad_value);
  EXPECT_EQ(decoded(zdata{1, 100, 0xffffffffu}), error::bad_value);
}

TEST(Frame, HelloCarriesToOnlyWithItsBit) {
  // Without the bit there is no field: bytes after the agent are malformed.
  byte_buffer buf;
  encode(hello{feature::to, "a", "sub"}, buf);
  buf[header_size + 3] = 0;  // clear the bit, keep the field
  message out;
  std::size_t used = 0;
  EXPECT_EQ(decode(buf, out, used), error::malformed);
  // With the bit and no field: malformed too.
  buf.clear();
  encode(hello{0, "a", ""}, buf);
  buf[header_size + 3] = static_cast<std::uint8_t>(feature::to);
  EXPECT_EQ(decode(buf, out, used), error::malformed);
  // A path over the limit is refused like an offer's.
  buf.clear();
  encode(hello{feature::to, "a", std::string(max_path_bytes, 'p')}, buf);
  ASSERT_FALSE(decode(buf, out, used));
  EXPECT_EQ(std::get<hello>(out).to.size(), max_path_bytes);
}

TEST(Frame, OverlongPathIsRefused) {
  offer o{1, entry_kind::file, true, 0644, 0, 1, std::string(max_path_bytes, 'a')};
  byte_buffer buf;
  encode(o, buf);
  message out;
  std::size_t used = 0;
  ASSERT_FALSE(decode(buf, out, used));  // exactly at the bound is fine
  // Hand-craft one byte more than the bound.
  byte_buffer bad = {static_cast<std::uint8_t>(frame_type::offer), 0, 0, 0, 0};
  writer w(bad);
  w.u32(1);
  w.u8(1);
  w.u8(1);
  w.u32(0644);
  w.i64(0);
  w.u64(1);
  w.u16(static_cast<std::uint16_t>(max_path_bytes + 1));
  bad.resize(bad.size() + max_path_bytes + 1, 'a');
  const auto len = static_cast<std::uint32_t>(bad.size() - header_size);
  for (std::size_t i = 0; i < 4; ++i)
    bad[1 + i] = static_cast<std::uint8_t>(len >> (8 * (3 - i)));
  EXPECT_EQ(decode(bad, out, used), error::string_too_long);
}

TEST(Frame, PayloadLongerOrShorterThanItsFieldsIsMalformed) {
  byte_buffer buf;
  encode(bye{1, 2}, buf);
  // One byte more in the payload than a bye holds.
  buf.push_back(0);
  buf[4] = static_cast<std::uint8_t>(buf[4] + 1);
  message out;
  std::size_t used = 0;
  EXPECT_EQ(decode(buf, out, used), error::malformed);
  // A string length pointing past the payload end.
  byte_buffer b2;
  encode(abort_file{1, "abc"}, b2);
  b2[4] = static_cast<std::uint8_t>(b2[4] - 1);  // payload cut by one
  b2.pop_back();
  EXPECT_EQ(decode(b2, out, used), error::malformed);
}

TEST(Frame, BadEnumValuesAreRefused) {
  auto patch = [](const message& m, std::size_t offset, std::uint8_t v) {
    byte_buffer buf;
    encode(m, buf);
    buf[header_size + offset] = v;
    message out;
    std::size_t used = 0;
    return decode(buf, out, used);
  };
  const offer o{1, entry_kind::file, true, 0644, 0, 1, "a"};
  EXPECT_EQ(patch(o, 4, 0), error::bad_value);     // kind 0
  EXPECT_EQ(patch(o, 4, 3), error::bad_value);     // kind 3
  EXPECT_EQ(patch(o, 5, 8), error::bad_value);     // unknown flag bit
  EXPECT_EQ(patch(o, 5, 0x80), error::bad_value);  // unknown flag bit
  EXPECT_EQ(patch(o, 6, 0x01), error::bad_value);  // mode > 07777
  EXPECT_EQ(patch(answer{1, answer_kind::accept, 0, ""}, 4, 4), error::bad_value);
  EXPECT_EQ(patch(verdict{1, verdict_kind::stored, ""}, 4, 6), error::bad_value);
}

TEST(Preamble, RoundTripAndVersion) {
  byte_buffer buf;
  encode_preamble(buf, 3);
  ASSERT_EQ(buf.size(), preamble_size);
  std::uint16_t v = 0;
  ASSERT_FALSE(decode_preamble(buf, v));
  EXPECT_EQ(v, 3);
  for (std::size_t n = 0; n < buf.size(); ++n)
    EXPECT_EQ(decode_preamble(std::span(buf).first(n), v), error::need_more) << n;
}

TEST(Preamble, WrongMagicIsRefusedAtTheFirstWrongByte) {
  const std::string http = "GET / HTTP/1.1\r\n";
  std::uint16_t v = 0;
  EXPECT_EQ(decode_preamble({reinterpret_cast<const std::uint8_t*>(http.data()), 1}, v),
            error::bad_magic);
  const byte_buffer almost = {'F', 'E', 'R', 'R', 'X'};
  EXPECT_EQ(decode_preamble(almost, v), error::bad_magic);
}

TEST(Frame, ErrorMessagesAreShortAndLowercase) {
  EXPECT_EQ(make_error_code(error::frame_too_large).message(), "frame length over limit");
  EXPECT_STREQ(framing_category().name(), "ferry.framing");
}

}  // namespace
}  // namespace ferry::framing
