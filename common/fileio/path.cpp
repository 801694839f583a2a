#include "fileio/path.hpp"

namespace ferry::fileio {
namespace {

class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "ferry.path"; }
  std::string message(int ev) const override {
    switch (static_cast<path_error>(ev)) {
      case path_error::empty:
        return "empty path";
      case path_error::absolute:
        return "absolute path";
      case path_error::too_long:
        return "path too long";
      case path_error::component_too_long:
        return "file name too long";
      case path_error::empty_component:
        return "empty path component";
      case path_error::dot_component:
        return "'.' or '..' component";
      case path_error::control_char:
        return "control character in path";
      case path_error::reserved_name:
        return "reserved file name";
    }
    return "bad path";
  }
};

}  // namespace

const std::error_category& path_category() noexcept {
  static const category instance;
  return instance;
}

std::error_code split_safe_path(std::string_view path, std::vector<std::string>& components) {
  components.clear();
  if (path.empty()) return path_error::empty;
  if (path.front() == '/') return path_error::absolute;
  if (path.size() > max_path_bytes) return path_error::too_long;
  for (std::size_t i = 0; i < path.size(); ++i) {
    const auto u = static_cast<unsigned char>(path[i]);
    if (u < 0x20 || u == 0x7f) return path_error::control_char;
    // C1 controls (U+0080-U+009F) as UTF-8: 0xC2 0x80-0x9F. (Bytes 0x80-0x9F
    // alone are UTF-8 continuation bytes, or another encoding's letters.)
    if (u == 0xc2 && i + 1 < path.size()) {
      const auto next = static_cast<unsigned char>(path[i + 1]);
      if (next >= 0x80 && next <= 0x9f) return path_error::control_char;
    }
  }
  std::size_t start = 0;
  while (true) {
    const std::size_t slash = path.find('/', start);
    const std::string_view name = path.substr(
        start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (name.empty()) return path_error::empty_component;
    if (name == "." || name == "..") return path_error::dot_component;
    if (name.size() > max_name_bytes) return path_error::component_too_long;
    if (name.starts_with(part_prefix)) return path_error::reserved_name;
    components.emplace_back(name);
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return {};
}

}  // namespace ferry::fileio
