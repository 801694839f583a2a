#include "fileio/exclude.hpp"

#include <utility>

namespace ferry::fileio {
namespace {

// Matches one [...] class at p[i] (p[i] == '['), against c. Sets `end` past
// the class; false with end == i when the class is not closed (then '['
// is an ordinary character, as in rsync).
bool class_match(std::string_view p, std::size_t i, char c, std::size_t& end) {
  std::size_t j = i + 1;
  const bool negated = j < p.size() && (p[j] == '!' || p[j] == '^');
  if (negated) ++j;
  bool hit = false;
  bool first = true;
  for (; j < p.size() && (p[j] != ']' || first); ++j, first = false) {
    char lo = p[j];
    if (lo == '\\' && j + 1 < p.size()) lo = p[++j];
    char hi = lo;
    if (j + 2 < p.size() && p[j + 1] == '-' && p[j + 2] != ']') {
      hi = p[j + 2];
      if (hi == '\\' && j + 3 < p.size()) hi = p[++j + 2];
      j += 2;
    }
    if (lo <= c && c <= hi) hit = true;
  }
  if (j >= p.size()) {
    end = i;
    return false;
  }
  end = j + 1;
  return hit != negated && c != '/';
}

// One piece of a pattern: a star ("*" stops at '/', "**" does not), or
// something that matches exactly one character.
struct token {
  enum kind_t { star, any_star, one } kind = one;
  std::size_t begin = 0;  // in the pattern: '?', a class, an escape or a literal
};

std::vector<token> tokens_of(std::string_view p) {
  std::vector<token> out;
  for (std::size_t i = 0; i < p.size();) {
    if (p[i] == '*') {
      std::size_t n = 1;
      while (i + n < p.size() && p[i + n] == '*')
        ++n;
      out.push_back({n > 1 ? token::any_star : token::star, i});
      i += n;
      continue;
    }
    out.push_back({token::one, i});
    std::size_t end = i;
    if (p[i] == '[') class_match(p, i, 'a', end);
    if (end != i)
      i = end;
    else
      i += (p[i] == '\\' && i + 1 < p.size()) ? std::size_t{2} : std::size_t{1};
  }
  return out;
}

bool one_matches(std::string_view p, std::size_t i, char c) {
  if (p[i] == '?') return c != '/';
  if (p[i] == '[') {
    std::size_t end = i;
    const bool hit = class_match(p, i, c, end);
    if (end != i) return hit;
  }
  if (p[i] == '\\' && i + 1 < p.size()) return c == p[i + 1];
  return c == p[i];
}

}  // namespace

// Dynamic programming over (token, position) from the ends backwards: time
// |pattern| x |text| and two rows of memory, whatever the stars (a naive
// backtracking match is exponential in them).
bool glob_match(std::string_view pattern, std::string_view text) {
  const auto tokens = tokens_of(pattern);
  const std::size_t n = text.size();
  std::vector<char> next(n + 1, 0), cur(n + 1, 0);
  next[n] = 1;  // the empty pattern matches the empty rest
  for (std::size_t k = tokens.size(); k-- > 0;) {
    const auto& t = tokens[k];
    for (std::size_t j = n + 1; j-- > 0;) {
      bool m = false;
      switch (t.kind) {
        case token::star:
          m = next[j] != 0 || (j < n && text[j] != '/' && cur[j + 1] != 0);
          break;
        case token::any_star:
          m = next[j] != 0 || (j < n && cur[j + 1] != 0);
          break;
        case token::one:
          m = j < n && one_matches(pattern, t.begin, text[j]) && next[j + 1] != 0;
          break;
      }
      cur[j] = m ? 1 : 0;
    }
    std::swap(cur, next);
  }
  return next[0] != 0;
}

void exclude_rules::add(std::string_view pattern) {
  rule r;
  if (pattern.size() > 1 && pattern.ends_with('/')) {
    r.dir_only = true;
    pattern.remove_suffix(1);
  }
  if (pattern.starts_with('/')) {
    r.anchored = true;
    pattern.remove_prefix(1);
  }
  if (pattern.empty()) return;
  r.glob = std::string(pattern);
  r.whole_path = r.anchored || pattern.find('/') != std::string_view::npos ||
                 pattern.find("**") != std::string_view::npos;
  rules_.push_back(std::move(r));
}

void exclude_rules::add_lines(std::string_view text) {
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (line.empty() || line.front() == '#' || line.front() == ';') continue;
    add(line);
  }
}

bool exclude_rules::excluded(std::string_view path, bool is_dir) const {
  const std::size_t slash = path.rfind('/');
  const std::string_view last = slash == std::string_view::npos ? path : path.substr(slash + 1);
  for (const auto& r : rules_) {
    if (r.dir_only && !is_dir) continue;
    if (!r.whole_path) {
      if (glob_match(r.glob, last)) return true;
      continue;
    }
    if (r.anchored) {
      if (glob_match(r.glob, path)) return true;
      continue;
    }
    // The end of the path, from the start or just after any '/'.
    if (glob_match(r.glob, path)) return true;
    for (std::size_t i = path.find('/'); i != std::string_view::npos; i = path.find('/', i + 1))
      if (glob_match(r.glob, path.substr(i + 1))) return true;
  }
  return false;
}

}  // namespace ferry::fileio
