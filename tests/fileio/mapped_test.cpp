// Mapped windows and the SIGBUS guard, with a file truncated under a map.
#include "fileio/mapped.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "../support/temp_dir.hpp"
#include "fileio/fd.hpp"

namespace ferry::fileio {
namespace {

TEST(MappedWindow, UnalignedWindowSeesTheRightBytesAndHashesLikeABuffer) {
  test::temp_dir t;
  std::string content(3 * 4096 + 123, '\0');
  for (std::size_t i = 0; i < content.size(); ++i)
    content[i] = static_cast<char>(i * 7);
  test::write_file(t / "f", content);
  unique_fd fd(::open((t / "f").c_str(), O_RDONLY));
  mapped_window w;
  ASSERT_FALSE(w.map(fd.get(), 5000, 6000));
  ASSERT_EQ(w.bytes().size(), 6000u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(w.bytes().data()), 6000),
            content.substr(5000, 6000));
  hasher a, b;
  ASSERT_TRUE(hash_guarded(a, w.bytes()));
  b.update({reinterpret_cast<const std::uint8_t*>(content.data()) + 5000, 6000});
  EXPECT_EQ(a.digest(), b.digest());
}

TEST(MappedWindow, FileTruncatedUnderTheMapFailsCleanlyInsteadOfCrashing) {
  test::temp_dir t;
  test::write_file(t / "f", std::string(64 * 1024, 'x'));
  unique_fd fd(::open((t / "f").c_str(), O_RDWR));
  mapped_window w;
  ASSERT_FALSE(w.map(fd.get(), 0, 64 * 1024));
  ASSERT_EQ(::ftruncate(fd.get(), 0), 0);
  hasher h;
  EXPECT_FALSE(hash_guarded(h, w.bytes()));  // SIGBUS caught
  // The guard is reusable afterwards.
  const std::uint8_t ok[] = {1, 2, 3};
  hasher h2;
  EXPECT_TRUE(hash_guarded(h2, ok));
}

}  // namespace
}  // namespace ferry::fileio
