// One NDJSON object per line: the machine-readable event stream of both
// programs. Flat objects only; strings are escaped per RFC 8259.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ferry {

class json_line {
 public:
  explicit json_line(std::string_view event) { str("event", event); }

  json_line& str(std::string_view key, std::string_view value);
  json_line& num(std::string_view key, std::uint64_t value);
  json_line& num(std::string_view key, std::int64_t value);
  json_line& num(std::string_view key, int value) {
    return num(key, static_cast<std::int64_t>(value));
  }
  json_line& real(std::string_view key, double value);
  json_line& boolean(std::string_view key, bool value);

  /// The object with a trailing newline.
  std::string finish() const { return out_ + "}\n"; }

 private:
  void key(std::string_view k);
  std::string out_ = "{";
};

/// Appends `s` as a JSON string literal (quotes included). Bytes that are not
/// valid UTF-8 become U+FFFD so the line stays valid JSON.
void append_json_string(std::string& out, std::string_view s);

}  // namespace ferry
