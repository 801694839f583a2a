// Fuzzes --compress's stream (common/session/compress): a hostile sender's
// DATA_Z segments into the receiver's decompressor, and, as a check on both
// halves, our compressor's own stream back through it.
//   byte 0 even: the rest is segments, each u16 length (the output it
//   claims), u16 zlength, then zlength bytes; decoding stops at the first
//   error, as the session would. A success must give exactly `length`.
//   byte 0 odd: the rest is content, cut into segments by its own bytes;
//   what the compressor makes (or sends raw) must decode to the same bytes.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "session/compress.hpp"

using namespace ferry::session;

namespace {
constexpr std::size_t max_length = 1 << 20;  // framing::max_zdata_segment
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::span<const std::uint8_t> in(data + 1, size - 1);
  decompressor d(max_length);
  std::span<const std::uint8_t> out;
  if ((data[0] & 1) == 0) {
    while (in.size() >= 4) {
      const std::size_t length = static_cast<std::size_t>(in[0]) << 8 | in[1];
      const std::size_t zlength = static_cast<std::size_t>(in[2]) << 8 | in[3];
      in = in.subspan(4);
      if (zlength > in.size()) break;
      const auto z = in.first(zlength);
      in = in.subspan(zlength);
      if (!d.decompress(z, length, out).empty()) break;
      if (out.size() != length) __builtin_trap();
    }
    return 0;
  }
  compressor c(1 + data[0] / 2 % 3);
  while (!in.empty()) {
    const std::size_t n = std::min<std::size_t>(in.size(), 1 + in[0] * 37u);
    const auto raw = in.first(n);
    in = in.subspan(n);
    if (n % 5 == 0) c.start_file();
    const auto z = c.compress(raw);
    if (z.empty()) continue;  // sent raw: not part of the stream
    if (!d.decompress(z, raw.size(), out).empty()) __builtin_trap();
    if (out.size() != raw.size() || std::memcmp(out.data(), raw.data(), raw.size()) != 0)
      __builtin_trap();
  }
  return 0;
}
