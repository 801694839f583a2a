// The receive directory against a real file system: confinement with
// symlinks planted inside it, part-file locking, no-replace commits.
#include "fileio/dest.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "../support/temp_dir.hpp"

namespace ferry::fileio {
namespace {

namespace fs = std::filesystem;
using test::temp_dir;

std::span<const std::uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// The parent directory of `components` under `root`, shared as part files
// take it.
shared_dir parent_in(const dest_root& root, const std::vector<std::string>& components) {
  unique_fd parent;
  EXPECT_FALSE(root.open_parent(components, true, parent));
  return std::make_shared<const unique_fd>(std::move(parent));
}

// `file` holds `content` with mode 0640 and mtime 1e9 s + 123 ns.
void expect_committed(const fs::path& file, const std::string& content) {
  EXPECT_EQ(test::read_file(file), content);
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_EQ(st.st_mtim.tv_sec, 1'000'000'000);
  EXPECT_EQ(st.st_mtim.tv_nsec, 123);
  EXPECT_EQ(st.st_nlink, 1u);
}

TEST(DestRoot, CreatesTheDirectoryAndParents) {
  temp_dir t;
  dest_root root;
  ASSERT_FALSE(dest_root::open((t / "a/b/inbox").string(), root));
  EXPECT_TRUE(fs::is_directory(t / "a/b/inbox"));
}

TEST(DestRoot, NeverFollowsASymlinkInsideTheTreeOutOfIt) {
  temp_dir t;
  fs::create_directories(t / "inbox");
  fs::create_directories(t / "outside");
  fs::create_directory_symlink(t / "outside", t / "inbox/evil");
  dest_root root;
  ASSERT_FALSE(dest_root::open((t / "inbox").string(), root));
  unique_fd parent;
  const auto ec = root.open_parent({"evil", "x.txt"}, true, parent);
  EXPECT_EQ(ec, std::errc::too_many_symbolic_link_levels);
  parent_cache cache;
  shared_dir dir;
  EXPECT_EQ(cache.get(root, {"evil", "sub", "x.txt"}, dir),
            std::errc::too_many_symbolic_link_levels);
  ASSERT_FALSE(root.open_parent({"x.txt"}, true, parent));
  EXPECT_EQ(make_dir_at(parent.get(), "evil"), std::errc::too_many_symbolic_link_levels);
  EXPECT_FALSE(fs::exists(t / "outside/sub"));
}

TEST(ParentCache, ReusesTheDirectoryWhilePathsStayInIt) {
  temp_dir t;
  dest_root root;
  ASSERT_FALSE(dest_root::open((t / "inbox").string(), root));
  parent_cache cache;
  shared_dir a, b, c, d;
  ASSERT_FALSE(cache.get(root, {"x", "y", "1"}, a));
  ASSERT_FALSE(cache.get(root, {"x", "y", "2"}, b));
  EXPECT_EQ(a, b);                                // the same open directory, no second walk
  ASSERT_FALSE(cache.get(root, {"x", "y1"}, c));  // "x/y" + "1" is not "x/y1"
  EXPECT_NE(c, b);
  EXPECT_TRUE(fs::is_directory(t / "inbox/x/y"));
  // A directory replaced by a symlink after it was cached: the next path
  // elsewhere walks again and is refused.
  fs::create_directories(t / "outside");
  fs::create_directory_symlink(t / "outside", t / "inbox/z");
  EXPECT_EQ(cache.get(root, {"z", "f"}, d), std::errc::too_many_symbolic_link_levels);
  ASSERT_FALSE(cache.get(root, {"x", "y", "3"}, d));
  EXPECT_NE(d, a);  // walked afresh after the miss
}

TEST(DestRoot, AFileInTheWayOfADirectoryIsAnError) {
  temp_dir t;
  test::write_file(t / "inbox/photos", "not a dir");
  dest_root root;
  ASSERT_FALSE(dest_root::open((t / "inbox").string(), root));
  unique_fd parent;
  EXPECT_EQ(root.open_parent({"photos", "a.jpg"}, true, parent), std::errc::not_a_directory);
}

TEST(PartFile, CommitLeavesExactlyTheOfferedPermissionBits) {
  temp_dir t;
  dest_root root;
  ASSERT_FALSE(dest_root::open((t / "inbox").string(), root));
  // Created with the mode up front (whatever the umask strips is set at
  // commit), owner write kept until then, set-id bits never.
  for (const std::uint32_t mode : {0644u, 0600u, 0444u, 0755u, 0777u, 04755u, 0000u}) {
    part_file part;
    const std::string name = "f" + std::to_string(mode);
    ASSERT_FALSE(part_file::create(parent_in(root, {"f"}), name, mode, part));
    ASSERT_FALSE(part.write(bytes("x")));
    ASSERT_FALSE(part.commit(mode, 0, false, false));
    struct stat st {};
    ASSERT_EQ(::stat((t / "inbox" / name).c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, mode & 0777) << std::oct << mode;
  }
}

TEST(PartFile, CommitRenamesOnlyThen) {
  temp_dir t;
  dest_root root;
  ASSERT_FALSE(dest_root::open((t / "inbox").string(), root));
  part_file part;
  ASSERT_FALSE(part_file::create(parent_in(root, {"d", "f.txt"}), "f.txt", 0644, part));
  ASSERT_FALSE(part.write(bytes("hello")));
  EXPECT_FALSE(fs::exists(t / "inbox/d/f.txt"));
  EXPECT_TRUE(fs::exists(t / "inbox/d" / part_name_for("f.txt")));
  ASSERT_FALSE(part.commit(0640, 1'000'000'000'000'000'123, false, false));
  EXPECT_FALSE(fs::exists(t / "inbox/d" / part_name_for("f.txt")));
  expect_committed(t / "inbox/d/f.txt", "hello");
}

// A session discarding its part file removes it only while the name is
// still its own: when the file was removed under it and another session
// made a new part of the same name, that one stays (the bench's cleanup
// once made ferry-recv lose a transfer this way).
TEST(PartFile, DiscardLeavesAnotherSessionsPartUnderTheSameName) {
  temp_dir t;
  dest_root root;
  ASSERT_FALSE(dest_root::open((t / "inbox").string(), root));
  part_file old_part, new_part;
  ASSERT_FALSE(part_file::create(parent_in(root, {"f"}), "f", 0644, old_part));
  ASSERT_FALSE(old_part.write(bytes("old")));
  fs::remove(t / "inbox" / part_name_for("f"));
  ASSERT_FALSE(part_file::create(parent_in(root, {"f"}), "f", 0644, new_part));
  ASSERT_FALSE(new_part.write(bytes("new")));
  old_part.discard();
  EXPECT_TRUE(fs::exists(t / "inbox" / part_name_for("f")));
  ASSERT_FALSE(new_part.commit(0640, 1'000'000'000'000'000'123, false, false));
  expect_committed(t / "inbox/f", "new");
}

// An anonymous part file has no name at all until commit() links it under
// the final one, with mode and mtime; discarding leaves nothing.
TEST(PartFile, AnonymousHasNoNameUntilCommit) {
  temp_dir t;
  dest_root root;
  ASSERT_FALSE(dest_root::open((t / "inbox").string(), root));
  const auto dir = parent_in(root, {"d", "f.txt"});
  part_file part;
  ASSERT_FALSE(part_file::create_anonymous(dir, "f.txt", 0640, part));
  EXPECT_TRUE(part.anonymous());
  ASSERT_FALSE(part.write(bytes("hello")));
  EXPECT_TRUE(fs::is_empty(t / "inbox/d"));
  ASSERT_FALSE(part.commit(0640, 1'000'000'000'000'000'123, false, false));
  expect_committed(t / "inbox/d/f.txt", "hello");
  {
    part_file gone;
    ASSERT_FALSE(part_file::create_anonymous(dir, "g.txt", 0644, gone));
    ASSERT_FALSE(gone.write(bytes("partial")));
  }
  EXPECT_EQ(std::distance(fs::directory_iterator(t / "inbox/d"), fs::directory_iterator()), 1);
}

// Linking never replaces what is there (like RENAME_NOREPLACE), and an
// anonymous part refuses to replace at all.
TEST(PartFile, AnonymousNeverReplaces) {
  temp_dir t;
  test::write_file(t / "inbox/f", "theirs");
  dest_root root;
  ASSERT_FALSE(dest_root::open((t / "inbox").string(), root));
  const auto dir = parent_in(root, {"f"});
  part_file a, b;
  ASSERT_FALSE(part_file::create_anonymous(dir, "f", 0644, a));
  ASSERT_FALSE(a.write(bytes("ours")));
  EXPECT_EQ(a.commit(0644, 0, false, false), std::errc::file_exists);
  ASSERT_FALSE(part_file::create_anonymous(dir, "f", 0644, b));
  EXPECT_EQ(b.commit(0644, 0, false, true), std::errc::invalid_argument);
  EXPECT_EQ(test::read_file(t / "inbox/f"), "theirs");
}

// An unprivileged receiver stores anonymous files too. Before Linux 6.10 a
// descriptor cannot be linked without CAP_DAC_READ_SEARCH, and the
// /proc/self/fd name is used instead; later kernels allow it to the user
// who opened it. (Run in a child that drops to nobody; needs root to.)
TEST(PartFile, AnonymousCommitWorksWithoutPrivileges) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to switch to an unprivileged user";
  temp_dir t;
  fs::create_directories(t / "inbox");
  fs::permissions(t.path(), fs::perms::all);
  fs::permissions(t / "inbox", fs::perms::all);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(2);
    dest_root root;
    unique_fd parent;
    part_file part;
    if (dest_root::open((t / "inbox").string(), root) || root.open_parent({"f"}, false, parent) ||
        part_file::create_anonymous(std::make_shared<const unique_fd>(std::move(parent)), "f", 0644,
                                    part) ||
        part.write(bytes("unprivileged")) || part.commit(0644, 0, false, false))
      ::_exit(1);
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(test::read_file(t / "inbox/f"), "unprivileged");
}

TEST(PartFile, DiscardedWhenDestroyedUncommitted) {
  temp_dir t;
  dest_root root;
  ASSERT_FALSE(dest_root::open((t / "inbox").string(), root));
  {
    part_file part;
    ASSERT_FALSE(part_file::create(parent_in(root, {"f"}), "f", 0644, part));
    ASSERT_FALSE(part.write(bytes("partial")));
  }
  EXPECT_TRUE(fs::is_empty(t / "inbox"));
}

TEST(PartFile, SecondWriterOfTheSameNameIsBusy) {
  temp_dir t;
  dest_root root;
  ASSERT_FALSE(dest_root::open((t / "inbox").string(), root));
  part_file a, b;
  ASSERT_FALSE(part_file::create(parent_in(root, {"f"}), "f", 0644, a));
  EXPECT_EQ(part_file::create(parent_in(root, {"f"}), "f", 0644, b),
            std::errc::device_or_resource_busy);
}

TEST(PartFile, KeptPartIsAdoptedAtItsEnd) {
  temp_dir t;
  dest_root root;
  ASSERT_FALSE(dest_root::open(t.path().string(), root));
  auto parent_of = [&] { return parent_in(root, {"f"}); };
  part_file none;
  std::uint64_t kept = 0;
  EXPECT_EQ(part_file::adopt(parent_of(), "f", 100, none, kept),
            std::errc::no_such_file_or_directory);
  {
    part_file part;
    ASSERT_FALSE(part_file::create(parent_of(), "f", 0644, part));
    ASSERT_FALSE(part.write(bytes("hello ")));
    part.keep();
  }
  const auto part_path = t / part_name_for("f");
  ASSERT_TRUE(fs::exists(part_path));  // keep() left it, destruction did not remove it
  part_file small;
  EXPECT_EQ(part_file::adopt(parent_of(), "f", 5, small, kept), std::errc::file_too_large);
  part_file a;
  ASSERT_FALSE(part_file::adopt(parent_of(), "f", 100, a, kept));
  EXPECT_EQ(kept, 6u);
  part_file b;  // locked by `a`
  EXPECT_EQ(part_file::adopt(parent_of(), "f", 100, b, kept), std::errc::device_or_resource_busy);
  ASSERT_FALSE(a.write(bytes("world")));  // appends after the kept bytes
  ASSERT_FALSE(a.commit(0644, 0, false, false));
  std::ifstream in(t / "f");
  std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(text, "hello world");
}

TEST(PartFile, AHardLinkFromOutsideIsNeverWrittenMeasuredOrHashed) {
  temp_dir t;
  dest_root root;
  ASSERT_FALSE(dest_root::open((t / "inbox").string(), root));
  test::write_file(t / "secret", "outside the receive directory");
  const auto part_path = t / "inbox" / part_name_for("f");
  fs::create_hard_link(t / "secret", part_path);
  // Adopting it would reveal its size and, to the sender, its hash.
  part_file adopted;
  std::uint64_t kept = 0;
  EXPECT_EQ(part_file::adopt(parent_in(root, {"f"}), "f", 1 << 20, adopted, kept),
            std::errc::no_such_file_or_directory);
  EXPECT_FALSE(adopted.is_open());
  // Creating the part drops the link and makes a file of its own.
  part_file part;
  ASSERT_FALSE(part_file::create(parent_in(root, {"f"}), "f", 0644, part));
  ASSERT_FALSE(part.write(bytes("new")));
  ASSERT_FALSE(part.commit(0644, 0, false, false));
  EXPECT_EQ(test::read_file(t / "secret"), "outside the receive directory");
  EXPECT_EQ(test::read_file(t / "inbox/f"), "new");
  EXPECT_EQ(fs::hard_link_count(t / "secret"), 1u);
}

TEST(PartFile, AFifoOrSymlinkUnderThePartNameIsReplacedNotOpened) {
  temp_dir t;
  dest_root root;
  ASSERT_FALSE(dest_root::open((t / "inbox").string(), root));
  ASSERT_EQ(::mkfifo((t / "inbox" / part_name_for("p")).c_str(), 0600), 0);
  fs::create_symlink(t / "target", t / "inbox" / part_name_for("s"));
  for (const char* name : {"p", "s"}) {
    part_file adopted;
    std::uint64_t kept = 0;
    EXPECT_EQ(part_file::adopt(parent_in(root, {name}), name, 100, adopted, kept),
              std::errc::no_such_file_or_directory)
        << name;
    part_file part;
    ASSERT_FALSE(part_file::create(parent_in(root, {name}), name, 0644, part)) << name;
    ASSERT_FALSE(part.write(bytes("x")));
    ASSERT_FALSE(part.commit(0644, 0, false, false));
  }
  EXPECT_FALSE(fs::exists(t / "target"));
}

TEST(Partials, OldUnheldPartsAreRemovedTheRestCounted) {
  temp_dir t;
  dest_root root;
  ASSERT_FALSE(dest_root::open((t / "inbox").string(), root));
  auto keep = [&](const std::vector<std::string>& comps, const std::string& content) {
    part_file part;
    ASSERT_FALSE(part_file::create(parent_in(root, comps), comps.back(), 0644, part));
    ASSERT_FALSE(part.write(bytes(content)));
    part.keep();
  };
  keep({"old.bin"}, "0123456789");
  keep({"deep", "er", "old2.bin"}, "abc");
  keep({"deep", "new.bin"}, "fresh");
  const auto old_time = fs::file_time_type::clock::now() - std::chrono::hours(24 * 8);
  fs::last_write_time(t / "inbox" / part_name_for("old.bin"), old_time);
  fs::last_write_time(t / "inbox/deep/er" / part_name_for("old2.bin"), old_time);
  part_file held;  // a session writes this one now: never touched
  ASSERT_FALSE(part_file::create(parent_in(root, {"held.bin"}), "held.bin", 0644, held));
  fs::last_write_time(t / "inbox" / part_name_for("held.bin"), old_time);
  test::write_file(t / "outside", "x");  // a link from outside: left alone
  fs::create_hard_link(t / "outside", t / "inbox" / part_name_for("link"));
  fs::last_write_time(t / "outside", old_time);

  const auto now = std::chrono::system_clock::now();
  auto r = root.sweep_partials(std::chrono::hours(24 * 7), now);
  EXPECT_EQ(r.removed, 2u);
  EXPECT_EQ(r.removed_bytes, 13u);
  EXPECT_EQ(r.kept, 1u);
  EXPECT_EQ(r.kept_bytes, 5u);
  EXPECT_FALSE(fs::exists(t / "inbox" / part_name_for("old.bin")));
  EXPECT_TRUE(fs::exists(t / "inbox" / part_name_for("held.bin")));
  EXPECT_TRUE(fs::exists(t / "inbox" / part_name_for("link")));
  r = root.sweep_partials(std::chrono::seconds(0), now + std::chrono::hours(24 * 365));
  EXPECT_EQ(r.removed, 0u);  // ttl 0 keeps them
  EXPECT_EQ(r.kept, 1u);
}

TEST(PartFile, NoReplaceCommitKeepsAFileThatAppearedMeanwhile) {
  temp_dir t;
  dest_root root;
  ASSERT_FALSE(dest_root::open((t / "inbox").string(), root));
  part_file part;
  ASSERT_FALSE(part_file::create(parent_in(root, {"f"}), "f", 0644, part));
  ASSERT_FALSE(part.write(bytes("new")));
  test::write_file(t / "inbox/f", "theirs");
  EXPECT_EQ(part.commit(0644, 0, false, false), std::errc::file_exists);
  EXPECT_EQ(test::read_file(t / "inbox/f"), "theirs");
  ASSERT_FALSE(part.commit(0644, 0, false, true));
  EXPECT_EQ(test::read_file(t / "inbox/f"), "new");
}

TEST(StatAt, ReportsWhatIsThereWithoutFollowing) {
  temp_dir t;
  test::write_file(t / "f", "abc");
  fs::create_directory(t / "d");
  fs::create_symlink("/etc/passwd", t / "l");
  unique_fd dir(::open(t.path().c_str(), O_RDONLY | O_DIRECTORY));
  existing_entry e;
  ASSERT_FALSE(stat_at(dir.get(), "f", e));
  EXPECT_EQ(e.kind, existing_entry::type::regular);
  EXPECT_EQ(e.size, 3u);
  ASSERT_FALSE(stat_at(dir.get(), "d", e));
  EXPECT_EQ(e.kind, existing_entry::type::directory);
  ASSERT_FALSE(stat_at(dir.get(), "l", e));
  EXPECT_EQ(e.kind, existing_entry::type::other);
  ASSERT_FALSE(stat_at(dir.get(), "missing", e));
  EXPECT_EQ(e.kind, existing_entry::type::none);
}

}  // namespace
}  // namespace ferry::fileio
