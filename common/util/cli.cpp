#include "util/cli.hpp"

#include <regex>

namespace ferry {

std::string tidy_help(std::string_view text, std::size_t width) {
  // cxxopts writes an implicit value as "--udp [=strict(=on)]": say it as
  // the option is typed ("--udp[=strict]"), keeping the description column.
  static const std::regex implicit(R"( \[=([^(\]]*)\(=[^)]*\)\])");
  std::string out;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string line(text.substr(start, end - start));
    start = end + 1;
    // cxxopts writes "Usage:" alone above "  prog ...": one line, as GNU
    // tools (and help2man, which makes the man pages) have it.
    if (line == "Usage:" && start < text.size() && text.substr(start, 2) == "  ") {
      std::size_t next = text.find('\n', start);
      if (next == std::string_view::npos) next = text.size();
      line = "Usage: " + std::string(text.substr(start + 2, next - start - 2));
      start = next + 1;
    }
    std::smatch m;
    if (std::regex_search(line, m, implicit)) {
      const std::string shorter = "[=" + m[1].str() + "]";
      line = m.prefix().str() + shorter +
             std::string(static_cast<std::size_t>(m.length(0)) - shorter.size(), ' ') +
             m.suffix().str();
    }
    line.erase(line.find_last_not_of(" \t") + 1);
    // Too wide: break at the last space that fits, continuing at the
    // line's own indentation.
    const std::size_t indent =
        line.find_first_not_of(' ') == std::string::npos ? 0 : line.find_first_not_of(' ');
    while (line.size() > width) {
      const std::size_t cut = line.rfind(' ', width);
      if (cut == std::string::npos || cut <= indent) break;
      std::string head = line.substr(0, cut);
      head.erase(head.find_last_not_of(' ') + 1);
      out += head + "\n";
      line = std::string(indent, ' ') + line.substr(line.find_first_not_of(' ', cut));
    }
    out += line + "\n";
  }
  return out;
}

}  // namespace ferry
