// --exclude patterns: rsync's glob rules, anchoring and directory-only
// patterns, against paths as they arrive on the receiver.
#include <gtest/gtest.h>

#include "fileio/exclude.hpp"

namespace ferry::fileio {
namespace {

TEST(Glob, StarsQuestionMarksAndClasses) {
  EXPECT_TRUE(glob_match("*.log", "a.log"));
  EXPECT_TRUE(glob_match("*.log", ".log"));
  EXPECT_FALSE(glob_match("*.log", "a.log.1"));
  EXPECT_FALSE(glob_match("*.log", "d/a.log"));  // '*' stops at '/'
  EXPECT_TRUE(glob_match("**.log", "d/a.log"));
  EXPECT_TRUE(glob_match("d/**", "d/x/y/z"));
  EXPECT_FALSE(glob_match("d/**", "d"));
  EXPECT_TRUE(glob_match("a?c", "abc"));
  EXPECT_FALSE(glob_match("a?c", "a/c"));
  EXPECT_FALSE(glob_match("a?c", "ac"));
  EXPECT_TRUE(glob_match("[ab]*", "b1"));
  EXPECT_FALSE(glob_match("[ab]*", "c1"));
  EXPECT_TRUE(glob_match("[!ab]*", "c1"));
  EXPECT_TRUE(glob_match("[^ab]*", "c1"));
  EXPECT_TRUE(glob_match("f[0-9][0-9]", "f42"));
  EXPECT_FALSE(glob_match("f[0-9]", "fa"));
  EXPECT_TRUE(glob_match("[]x]", "]"));   // ']' first is literal
  EXPECT_TRUE(glob_match("a[b", "a[b"));  // an unclosed class is literal
  EXPECT_TRUE(glob_match("\\*x", "*x"));  // escaped
  EXPECT_FALSE(glob_match("\\*x", "ax"));
  EXPECT_TRUE(glob_match("***", "a/b"));
  EXPECT_TRUE(glob_match("", ""));
  EXPECT_FALSE(glob_match("", "a"));
}

TEST(Glob, ManyStarsStayCheapEnough) {
  // Backtracking is bounded by the path (4 KiB at most): a pathological
  // pattern on a long name still answers.
  const std::string name(200, 'a');
  EXPECT_FALSE(glob_match("*a*a*a*a*a*b", name));
}

TEST(Exclude, RsyncRules) {
  exclude_rules r;
  r.add("*.log");      // a name at any depth
  r.add("cache/");     // directories only
  r.add("/t/build");   // anchored at the top
  r.add("sub/x.txt");  // a tail of the path at a component boundary
  r.add("**/deep/*.bin");
  EXPECT_TRUE(r.excluded("t/a.log", false));
  EXPECT_TRUE(r.excluded("t/d/e/a.log", false));
  EXPECT_TRUE(r.excluded("t/cache", true));
  EXPECT_FALSE(r.excluded("t/cache", false));  // a file named cache stays
  EXPECT_TRUE(r.excluded("t/build", true));
  EXPECT_FALSE(r.excluded("t/x/build", true));  // anchored: only at the top
  EXPECT_TRUE(r.excluded("t/a/sub/x.txt", false));
  EXPECT_TRUE(r.excluded("sub/x.txt", false));
  EXPECT_FALSE(r.excluded("t/asub/x.txt", false));  // not at a boundary
  EXPECT_TRUE(r.excluded("t/a/deep/f.bin", false));
  EXPECT_FALSE(r.excluded("t/a/deep/g/f.bin", false));
  EXPECT_FALSE(r.excluded("t/keep.txt", false));
}

TEST(Exclude, LinesWithComments) {
  exclude_rules r;
  r.add_lines("# comment\n; also\n\n*.o\r\nnode_modules/\n/");
  EXPECT_TRUE(r.excluded("a/b.o", false));
  EXPECT_TRUE(r.excluded("a/node_modules", true));
  EXPECT_FALSE(r.excluded("a/b.c", false));
  EXPECT_FALSE(r.excluded("# comment", false));
  exclude_rules none;
  EXPECT_TRUE(none.empty());
  none.add("/");  // nothing left to match: ignored
  EXPECT_TRUE(none.empty());
}

}  // namespace
}  // namespace ferry::fileio
