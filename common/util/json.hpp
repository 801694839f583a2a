// One NDJSON object per line: the machine-readable event stream of both
// programs. Flat objects only; strings are escaped per RFC 8259.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ferry {

/// Every event starts {"event":NAME,"time":RFC 3339 UTC with milliseconds,
/// ...}; docs/events.md lists them all.
class json_line {
 public:
  explicit json_line(std::string_view event);

  json_line& str(std::string_view key, std::string_view value);
  json_line& num(std::string_view key, std::uint64_t value);
  json_line& num(std::string_view key, std::int64_t value);
  json_line& num(std::string_view key, int value) {
    return num(key, static_cast<std::int64_t>(value));
  }
  /// A plain decimal (never an exponent), at most six places.
  json_line& real(std::string_view key, double value);
  json_line& boolean(std::string_view key, bool value);

  /// The object with a trailing newline.
  std::string finish() const { return out_ + "}\n"; }

 private:
  void key(std::string_view k);
  std::string out_ = "{";
};

/// The wall clock as 2026-12-01T05:10:00.123Z.
std::string rfc3339_now();
/// `value` as JSON writes it: 0.000061, 2.5, 1200000000.
std::string plain_decimal(double value);

/// Appends `s` as a JSON string literal (quotes included). Bytes that are not
/// valid UTF-8 become U+FFFD so the line stays valid JSON.
void append_json_string(std::string& out, std::string_view s);

}  // namespace ferry
