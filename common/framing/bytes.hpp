// Explicit big-endian load/store over byte spans: the only way the codecs
// touch multi-byte integers (no packed structs, no reinterpret_cast).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::framing {

using byte_buffer = std::vector<std::uint8_t>;

/// Appends big-endian integers and length-prefixed strings to a buffer.
class writer {
 public:
  explicit writer(byte_buffer& out) : out_(out) {}

  void u8(std::uint8_t v) { out_.push_back(v); }
  void u16(std::uint16_t v) { be(v, 2); }
  void u32(std::uint32_t v) { be(v, 4); }
  void u64(std::uint64_t v) { be(v, 8); }
  void i64(std::int64_t v) { u64(static_cast<std::uint64_t>(v)); }
  void raw(std::span<const std::uint8_t> bytes) {
    out_.insert(out_.end(), bytes.begin(), bytes.end());
  }
  /// u16 length then bytes; the caller has bounded the length.
  void str16(std::string_view s) {
    u16(static_cast<std::uint16_t>(s.size()));
    out_.insert(out_.end(), s.begin(), s.end());
  }

 private:
  void be(std::uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i)
      out_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  }
  byte_buffer& out_;
};

/// Reads big-endian fields from a span; any read past the end sets a sticky
/// failure flag and yields zeros, so decoders check ok() once at the end.
class reader {
 public:
  explicit reader(std::span<const std::uint8_t> in) : in_(in) {}

  std::uint8_t u8() { return static_cast<std::uint8_t>(be(1)); }
  std::uint16_t u16() { return static_cast<std::uint16_t>(be(2)); }
  std::uint32_t u32() { return static_cast<std::uint32_t>(be(4)); }
  std::uint64_t u64() { return be(8); }
  std::int64_t i64() { return static_cast<std::int64_t>(u64()); }
  /// Reads a u16-prefixed string; fails (too_long()) when it exceeds max_len.
  std::string str16(std::size_t max_len) {
    const std::size_t n = u16();
    if (n > max_len) {
      too_long_ = true;
      return {};
    }
    if (!take(n)) return {};
    return {reinterpret_cast<const char*>(in_.data() + pos_ - n), n};
  }
  std::span<const std::uint8_t> bytes(std::size_t n) {
    if (!take(n)) return {};
    return in_.subspan(pos_ - n, n);
  }

  bool ok() const { return !short_ && !too_long_; }
  std::size_t remaining() const { return in_.size() - pos_; }
  bool too_long() const { return too_long_; }
  bool at_end() const { return pos_ == in_.size(); }

 private:
  bool take(std::size_t n) {
    if (short_ || in_.size() - pos_ < n) {
      short_ = true;
      return false;
    }
    pos_ += n;
    return true;
  }
  std::uint64_t be(std::size_t n) {
    if (!take(n)) return 0;
    std::uint64_t v = 0;
    for (std::size_t i = pos_ - n; i < pos_; ++i)
      v = (v << 8) | in_[i];
    return v;
  }

  std::span<const std::uint8_t> in_;
  std::size_t pos_ = 0;
  bool short_ = false;
  bool too_long_ = false;
};

}  // namespace ferry::framing
