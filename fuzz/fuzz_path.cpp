// Fuzzes the receiver's path sanitizer (common/fileio/path). A path it
// accepts must really be safe: relative, no empty, "." or ".." component,
// no control byte, no '/' inside a component, bounded lengths, not our
// part-file prefix, and the components must join back to the input.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fileio/path.hpp"

using namespace ferry::fileio;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view path(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> parts;
  if (split_safe_path(path, parts)) return 0;
  if (parts.empty() || path.size() > max_path_bytes || path.front() == '/') __builtin_trap();
  std::string joined;
  for (const auto& c : parts) {
    if (c.empty() || c == "." || c == ".." || c.size() > max_name_bytes) __builtin_trap();
    if (c.starts_with(part_prefix)) __builtin_trap();
    for (const unsigned char ch : c)
      if (ch == '/' || ch < 0x20 || ch == 0x7f) __builtin_trap();
    if (!joined.empty()) joined += '/';
    joined += c;
  }
  if (joined != path) __builtin_trap();
  return 0;
}
