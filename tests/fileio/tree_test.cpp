// The sender's expansion of command-line paths.
#include "fileio/tree.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "../support/temp_dir.hpp"

namespace ferry::fileio {
namespace {

namespace fs = std::filesystem;

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
      collect_sources({(t / "photos").string() + "/", (t / "notes.txt").string()}, false);
  EXPECT_TRUE(l.errors.empty());
  EXPECT_EQ(names(l), (std::vector<std::string>{"photos", "photos/a.jpg", "photos/b.jpg",
                                                "photos/empty", "notes.txt"}));
  EXPECT_EQ(l.entries[1].size, 1u);
  EXPECT_EQ(l.entries[0].kind, framing::entry_kind::directory);
}

TEST(Collect, SymlinksSkippedWithAWarningUnlessFollowed) {
  test::temp_dir t;
  test::write_file(t / "d/real.txt", "x");
  fs::create_symlink(t / "d/real.txt", t / "d/link.txt");
  fs::create_directory_symlink(t / "d", t / "d/loop");
  auto l = collect_sources({(t / "d").string()}, false);
  EXPECT_EQ(names(l), (std::vector<std::string>{"d", "d/real.txt"}));
  EXPECT_EQ(l.warnings.size(), 2u);
  l = collect_sources({(t / "d").string()}, true);
  EXPECT_EQ(names(l), (std::vector<std::string>{"d", "d/link.txt", "d/real.txt"}));
  ASSERT_EQ(l.warnings.size(), 1u);  // the loop back to d
  EXPECT_NE(l.warnings[0].find("loop"), std::string::npos);
}

TEST(Collect, MissingPathIsAnErrorOthersStillListed) {
  test::temp_dir t;
  test::write_file(t / "a", "a");
  const auto l = collect_sources({(t / "missing").string(), (t / "a").string()}, false);
  ASSERT_EQ(l.errors.size(), 1u);
  EXPECT_NE(l.errors[0].find("No such file"), std::string::npos);
  EXPECT_EQ(names(l), (std::vector<std::string>{"a"}));
}

}  // namespace
}  // namespace ferry::fileio
