// Table tests of the receiver's path sanitizer: good and hostile names.
#include "fileio/path.hpp"

#include <gtest/gtest.h>

#include <string>

namespace ferry::fileio {
namespace {

struct row {
  std::string path;
  std::error_code expected;
};

class PathRules : public ::testing::TestWithParam<row> {};

TEST_P(PathRules, Decides) {
  std::vector<std::string> comps;
  EXPECT_EQ(split_safe_path(GetParam().path, comps), GetParam().expected)
      << "path: " << GetParam().path;
}

const std::error_code ok{};

INSTANTIATE_TEST_SUITE_P(
    Table, PathRules,
    ::testing::Values(
        row{"a", ok}, row{"a/b/c.txt", ok}, row{"name with spaces/é ü ñ.txt", ok},
        row{"..hidden", ok}, row{"a/...", ok}, row{".profile", ok}, row{"日本語/ファイル", ok},
        row{std::string(255, 'x'), ok}, row{"a\\..\\b", ok},  // backslash is a plain byte here
        row{"", path_error::empty}, row{"/etc/passwd", path_error::absolute},
        row{"/", path_error::absolute}, row{"..", path_error::dot_component},
        row{"../x", path_error::dot_component}, row{"a/../../x", path_error::dot_component},
        row{"a/..", path_error::dot_component}, row{"./a", path_error::dot_component},
        row{"a/./b", path_error::dot_component}, row{"a//b", path_error::empty_component},
        row{"a/", path_error::empty_component},
        row{std::string("a\0b", 3), path_error::control_char},
        row{"a\nb", path_error::control_char}, row{"a\x1b[31m", path_error::control_char},
        row{"del\x7f", path_error::control_char},
        // C1 controls as UTF-8 (U+009B is a CSI in some terminals); U+00A0 and
        // a lone 0x9b byte (not UTF-8: another encoding's) are names.
        row{"c1\xc2\x9b"
            "2J",
            path_error::control_char},
        row{"x\xc2\x80", path_error::control_char}, row{"nbsp\xc2\xa0", ok}, row{"latin\x9b", ok},
        row{std::string(256, 'x'), path_error::component_too_long},
        row{std::string(5000, 'a'), path_error::too_long},
        row{".ferry-part-0123456789abcdef", path_error::reserved_name},
        row{"dir/.ferry-part-x", path_error::reserved_name}));

TEST(PathRules, SplitsIntoComponents) {
  std::vector<std::string> comps;
  ASSERT_FALSE(split_safe_path("photos/2024/a b.jpg", comps));
  EXPECT_EQ(comps, (std::vector<std::string>{"photos", "2024", "a b.jpg"}));
}

TEST(PathRules, LongPathOfShortNamesWithinBoundIsFine) {
  std::string p;
  while (p.size() + 2 <= max_path_bytes)
    p += p.empty() ? "a" : "/a";
  std::vector<std::string> comps;
  EXPECT_FALSE(split_safe_path(p, comps));
}

}  // namespace
}  // namespace ferry::fileio
