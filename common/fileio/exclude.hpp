// --exclude patterns with rsync's common rules, for the sender's walk:
//   *      any run of characters except '/'
//   **     any run of characters, '/' included
//   ?      one character except '/'
//   [...]  one character of a class ([a-z], [!x] or [^x] negated)
//   \x     x itself
// A pattern ending in '/' matches directories only. A pattern starting with
// '/' is anchored: it must match the whole path from the top of the
// argument (the name it arrives under: "photos/2024/a.jpg"). Otherwise a
// pattern with a '/' or "**" matches the end of the path at a component
// boundary ("cache/x" matches "a/cache/x"), and one without matches the
// last component at any depth ("*.log"). A directory that matches is not
// descended.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ferry::fileio {

/// Whether `text` matches the glob `pattern` (the rules above, no anchoring).
bool glob_match(std::string_view pattern, std::string_view text);

class exclude_rules {
 public:
  void add(std::string_view pattern);
  /// Reads patterns from `text`, one per line; blank lines and lines
  /// starting with '#' or ';' are comments, as in rsync's --exclude-from.
  void add_lines(std::string_view text);
  bool empty() const { return rules_.empty(); }
  /// `path`: '/'-separated, relative, as it arrives on the receiver.
  bool excluded(std::string_view path, bool is_dir) const;

 private:
  struct rule {
    std::string glob;
    bool dir_only = false;
    bool anchored = false;
    bool whole_path = false;  // has a '/' or "**": match the path, not its last name
  };
  std::vector<rule> rules_;
};

}  // namespace ferry::fileio
