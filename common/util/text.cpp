#include "util/text.hpp"

#include <cstdio>

namespace ferry {

std::size_t utf8_sequence_length(std::string_view s, std::size_t i, unsigned* code_point) {
  const auto c = static_cast<unsigned char>(s[i]);
  std::size_t n = 0;
  unsigned min = 0;
  if (c < 0x80) {
    if (code_point != nullptr) *code_point = c;
    return 1;
  }
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2;
    min = 0x80;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    min = 0x800;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    min = 0x10000;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  unsigned cp = c & (0x7fu >> n);
  for (std::size_t k = 1; k < n; ++k) {
    const auto cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (cc & 0x3fu);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  if (code_point != nullptr) *code_point = cp;
  return n;
}

namespace {

// C1 controls, the characters that change the display order of the text
// around them, line and paragraph separators, and invisible ones that
// make two names look alike (zero width space, word joiner, BOM). (Zero
// width joiner and non-joiner stay: scripts and emoji need them.)
bool invisible_control(unsigned cp) {
  return (cp >= 0x80 && cp <= 0x9f) || cp == 0x061c || cp == 0x200b || cp == 0x200e ||
         cp == 0x200f || (cp >= 0x2028 && cp <= 0x202e) || cp == 0x2060 ||
         (cp >= 0x2066 && cp <= 0x2069) || cp == 0xfeff;
}

void append_byte(std::string& out, unsigned char c) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "\\x%02x", c);
  out += buf;
}

void append_code_point(std::string& out, unsigned cp) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "\\u{%04x}", cp);
  out += buf;
}

}  // namespace

std::string printable(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (c == '\n')
        out += "\\n";
      else if (c == '\r')
        out += "\\r";
      else if (c == '\t')
        out += "\\t";
      else if (c == '\\')
        out += "\\\\";
      else if (c < 0x20 || c == 0x7f)
        append_byte(out, c);
      else
        out += static_cast<char>(c);
      ++i;
      continue;
    }
    unsigned cp = 0;
    const std::size_t n = utf8_sequence_length(s, i, &cp);
    if (n == 0) {
      append_byte(out, c);
      ++i;
      continue;
    }
    if (invisible_control(cp))
      append_code_point(out, cp);
    else
      out.append(s.substr(i, n));
    i += n;
  }
  return out;
}

}  // namespace ferry
