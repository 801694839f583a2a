// The sender's expansion of command-line paths.
#include "fileio/tree.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "../support/temp_dir.hpp"

namespace ferry::fileio {
namespace {

namespace fs = std::filesystem;

// Path arguments as ferry-send names them by default (cp -r's rule).
std::vector<source_arg> cp_args(const std::vector<std::string>& paths) {
  std::vector<source_arg> out;
  for (const auto& p : paths)
    out.push_back({p, remote_name_for(p)});
  return out;
}

std::vector<std::string> names(const source_list& l) {
  std::vector<std::string> out;
  for (const auto& e : l.entries)
    out.push_back(e.remote_path);
  return out;
}

TEST(RemoteName, LikeCpR) {
  EXPECT_EQ(remote_name_for("photos/"), "photos");
  EXPECT_EQ(remote_name_for("/abs/photos"), "photos");
  EXPECT_EQ(remote_name_for("a/b/report.pdf"), "report.pdf");
  EXPECT_EQ(remote_name_for("photos//"), "photos");
  EXPECT_EQ(remote_name_for("/"), "");
}

TEST(Collect, DirectoryArrivesUnderItsOwnNameSortedWithEmptyDirs) {
  test::temp_dir t;
  test::write_file(t / "photos/b.jpg", "b");
  test::write_file(t / "photos/a.jpg", "a");
  fs::create_directories(t / "photos/empty");
  test::write_file(t / "notes.txt", "n");
  const auto l =
      collect_sources(cp_args({(t / "photos").string() + "/", (t / "notes.txt").string()}), false);
  EXPECT_TRUE(l.errors.empty());
  EXPECT_EQ(names(l), (std::vector<std::string>{"photos", "photos/a.jpg", "photos/b.jpg",
                                                "photos/empty", "notes.txt"}));
  EXPECT_EQ(l.entries[1].size, 1u);
  EXPECT_EQ(l.entries[0].kind, entry_kind::directory);
}

TEST(Collect, SymlinksSkippedWithAWarningUnlessFollowed) {
  test::temp_dir t;
  test::write_file(t / "d/real.txt", "x");
  fs::create_symlink(t / "d/real.txt", t / "d/link.txt");
  fs::create_directory_symlink(t / "d", t / "d/loop");
  auto l = collect_sources(cp_args({(t / "d").string()}), false);
  EXPECT_EQ(names(l), (std::vector<std::string>{"d", "d/real.txt"}));
  EXPECT_EQ(l.warnings.size(), 2u);
  l = collect_sources(cp_args({(t / "d").string()}), true);
  EXPECT_EQ(names(l), (std::vector<std::string>{"d", "d/link.txt", "d/real.txt"}));
  ASSERT_EQ(l.warnings.size(), 1u);  // the loop back to d
  EXPECT_NE(l.warnings[0].find("loop"), std::string::npos);
}

TEST(Collect, MissingPathIsAnErrorOthersStillListed) {
  test::temp_dir t;
  test::write_file(t / "a", "a");
  const auto l = collect_sources(cp_args({(t / "missing").string(), (t / "a").string()}), false);
  ASSERT_EQ(l.errors.size(), 1u);
  EXPECT_NE(l.errors[0].message.find("No such file"), std::string::npos);
  EXPECT_EQ(l.errors[0].path, (t / "missing").string());
  EXPECT_EQ(names(l), (std::vector<std::string>{"a"}));
}

TEST(RelativeName, KeepsThePathAsWrittenLikeRsyncR) {
  std::string why;
  EXPECT_EQ(relative_remote_name("data/x/a.csv", why), "data/x/a.csv");
  EXPECT_EQ(relative_remote_name("./data//x/a.csv/", why), "data/x/a.csv");
  EXPECT_EQ(relative_remote_name("/abs/photos/", why), "abs/photos");
  EXPECT_EQ(relative_remote_name("/srv/./site/index.html", why), "site/index.html");
  EXPECT_EQ(relative_remote_name("a/b/./c", why), "c");
  for (const char* bad : {"../x", "a/../b", "a/..", "/", ".", "./", ""}) {
    why.clear();
    EXPECT_EQ(relative_remote_name(bad, why), "") << bad;
    EXPECT_FALSE(why.empty()) << bad;
  }
  relative_remote_name("x/../y", why);
  EXPECT_NE(why.find("'..'"), std::string::npos) << why;
}

TEST(Collect, ANamedSymlinkThatIsNotFollowedIsAnError) {
  test::temp_dir t;
  test::write_file(t / "real.txt", "r");
  fs::create_symlink(t / "real.txt", t / "link.txt");
  fs::create_directories(t / "d");
  fs::create_symlink(t / "real.txt", t / "d/inner-link");
  const auto l = collect_sources(cp_args({(t / "link.txt").string(), (t / "d").string()}), false);
  ASSERT_EQ(l.errors.size(), 1u);  // named: not sent, and says so
  EXPECT_EQ(l.errors[0].path, (t / "link.txt").string());
  EXPECT_EQ(l.warnings.size(), 1u);  // inside a directory: a warning
  EXPECT_EQ(names(l), (std::vector<std::string>{"d"}));
}

source_entry entry(std::string local, std::string remote) {
  source_entry e;
  e.local_path = std::move(local);
  e.remote_path = std::move(remote);
  return e;
}

TEST(Duplicates, TwoPathsOnOneNameAreReportedTheSamePathTwiceIsSentOnce) {
  std::vector<source_entry> v = {entry("a/x.csv", "x.csv"), entry("b/x.csv", "x.csv"),
                                 entry("c.txt", "c.txt"), entry("c.txt", "c.txt"),
                                 entry("d/x.csv", "x.csv")};
  std::size_t n = 0;
  const auto report = remove_duplicates(v, 1, n);
  EXPECT_EQ(n, 2u);
  ASSERT_EQ(report.size(), 1u);
  EXPECT_EQ(report[0], "a/x.csv and b/x.csv both arrive as x.csv");
  EXPECT_EQ(v.size(), 4u);  // the second c.txt is gone
  std::vector<source_entry> fine = {entry("a/x.csv", "a/x.csv"), entry("b/x.csv", "b/x.csv")};
  EXPECT_TRUE(remove_duplicates(fine, 5, n).empty());
  EXPECT_EQ(n, 0u);
}

}  // namespace
}  // namespace ferry::fileio
