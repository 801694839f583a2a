#include "util/json.hpp"

#include <cmath>
#include <cstdio>
#include <ctime>

#include "util/text.hpp"

namespace ferry {

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '"':
          out += "\\\"";
          break;
        case '\\':
          out += "\\\\";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        default:
          if (c < 0x20 || c == 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
          } else {
            out += static_cast<char>(c);
          }
      }
      ++i;
      continue;
    }
    const std::size_t n = utf8_sequence_length(s, i);
    if (n == 0) {
      out += "\\ufffd";
      ++i;
      continue;
    }
    // Valid, but a reader that prints the field as it is would be steered
    // by it: C1 controls, bidirectional overrides and isolates, the line
    // and paragraph separators. Escaped, the value stays the same.
    const auto b = [&](std::size_t k) {
      return static_cast<unsigned>(static_cast<unsigned char>(s[i + k]));
    };
    unsigned cp = 0;
    if (n == 2) cp = (b(0) & 0x1f) << 6 | (b(1) & 0x3f);
    if (n == 3) cp = (b(0) & 0x0f) << 12 | (b(1) & 0x3f) << 6 | (b(2) & 0x3f);
    const bool steering = (cp >= 0x80 && cp <= 0x9f) || cp == 0x61c || cp == 0x200e ||
                          cp == 0x200f || (cp >= 0x2028 && cp <= 0x202e) ||
                          (cp >= 0x2066 && cp <= 0x2069);
    if (steering) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", cp);
      out += buf;
    } else {
      out.append(s.substr(i, n));
    }
    i += n;
  }
  out += '"';
}

void json_line::key(std::string_view k) {
  if (out_.size() > 1) out_ += ',';
  append_json_string(out_, k);
  out_ += ':';
}

json_line& json_line::str(std::string_view k, std::string_view value) {
  key(k);
  append_json_string(out_, value);
  return *this;
}

json_line& json_line::num(std::string_view k, std::uint64_t value) {
  key(k);
  out_ += std::to_string(value);
  return *this;
}

json_line& json_line::num(std::string_view k, std::int64_t value) {
  key(k);
  out_ += std::to_string(value);
  return *this;
}

std::string rfc3339_now() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  tm utc{};
  ::gmtime_r(&ts.tv_sec, &utc);
  char buf[40];
  const auto n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(buf + n, sizeof buf - n, ".%03ldZ", ts.tv_nsec / 1000000);
  return buf;
}

std::string plain_decimal(double value) {
  if (!std::isfinite(value)) value = 0;
  // Six places, never an exponent (6.0551e-05 is 0.000061), no trailing
  // zeros (2.500000 is 2.5, 3.000000 is 3).
  char buf[400];
  std::snprintf(buf, sizeof buf, "%.6f", value);
  std::string s = buf;
  s.erase(s.find_last_not_of('0') + 1);
  if (s.back() == '.') s.pop_back();
  if (s == "-0") s = "0";
  return s;
}

json_line::json_line(std::string_view event) {
  str("event", event);
  str("time", rfc3339_now());
}

json_line& json_line::real(std::string_view k, double value) {
  key(k);
  out_ += plain_decimal(value);
  return *this;
}

json_line& json_line::boolean(std::string_view k, bool value) {
  key(k);
  out_ += value ? "true" : "false";
  return *this;
}

}  // namespace ferry
