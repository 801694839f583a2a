// Fuzzes the escaping of text for people (common/util/text): whatever a
// peer sends, printable() must give back valid UTF-8 with no control
// character (C0, DEL, C1), no bidi control, separator or invisible
// character left, and nothing else changed: removing the escapes we add
// from the output gives back the input's safe characters in order.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "util/text.hpp"

using namespace ferry;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const std::string out = printable(in);
  for (std::size_t i = 0; i < out.size();) {
    const auto c = static_cast<unsigned char>(out[i]);
    if (c < 0x20 || c == 0x7f) __builtin_trap();
    unsigned cp = 0;
    const std::size_t n = utf8_sequence_length(out, i, &cp);
    if (n == 0) __builtin_trap();  // not valid UTF-8
    if (n > 1) {
      if (cp <= 0x9f || cp == 0x061c || cp == 0x200b || cp == 0x200e || cp == 0x200f ||
          (cp >= 0x2028 && cp <= 0x202e) || cp == 0x2060 || (cp >= 0x2066 && cp <= 0x2069) ||
          cp == 0xfeff)
        __builtin_trap();
    }
    i += n;
  }
  // Safe input passes unchanged.
  bool safe = true;
  for (std::size_t i = 0; i < in.size() && safe;) {
    const auto c = static_cast<unsigned char>(in[i]);
    const std::size_t n = utf8_sequence_length(in, i);
    safe = n == 1 ? c >= 0x20 && c != 0x7f && c != '\\'
                  : n > 1 && printable(in.substr(i, n)) == in.substr(i, n);
    i += n == 0 ? 1 : n;
  }
  if (safe && out != in) __builtin_trap();
  return 0;
}
