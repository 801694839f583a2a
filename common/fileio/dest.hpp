// The receive directory: every file-system operation the receiver performs
// on behalf of a peer. All lookups walk from the root descriptor one
// component at a time with O_NOFOLLOW, so a symlink inside the tree can
// never lead a write outside it; content goes to a locked part file that is
// renamed into place only by commit().
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include "fileio/fd.hpp"

namespace ferry::fileio {

/// Part files that interrupted transfers left for a resume.
struct partials_report {
  std::uint64_t kept = 0;  // still there
  std::uint64_t kept_bytes = 0;
  std::uint64_t removed = 0;  // older than the time to live
  std::uint64_t removed_bytes = 0;
};

/// What sits at a destination name now (never following a symlink).
struct existing_entry {
  enum class type { none, regular, directory, other } kind = type::none;
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
};

class dest_root {
 public:
  /// Opens `dir`, creating it (and missing parents) when absent.
  [[nodiscard]] static std::error_code open(const std::string& dir, dest_root& out);

  /// Opens the directory `components` under this root as a root of its
  /// own, creating what is missing (at most `*budget` directories when
  /// given), never following a symlink: a session's --to subdirectory.
  [[nodiscard]] std::error_code open_sub(const std::vector<std::string>& components, dest_root& out,
                                         std::uint64_t* budget = nullptr) const;

  /// Opens the directory that holds the last of `components`, creating
  /// missing directories on the way when `create` is set: at most `*budget`
  /// of them when given (counted down; fileio::errc::dir_budget past it).
  /// A symlink or a non-directory on the way yields an error (ELOOP /
  /// ENOTDIR).
  [[nodiscard]] std::error_code open_parent(const std::vector<std::string>& components, bool create,
                                            unique_fd& parent,
                                            std::uint64_t* budget = nullptr) const;

  /// Sets a directory's mode and mtime; used once its contents are written.
  [[nodiscard]] std::error_code set_dir_attrs(const std::vector<std::string>& components,
                                              std::uint32_t mode, std::int64_t mtime_ns) const;

  /// Bytes available to us and the size of the file system holding the root.
  [[nodiscard]] std::error_code space(std::uint64_t& available, std::uint64_t& total) const;

  /// Walks the tree (never following a symlink, at most 512 levels deep)
  /// for named part files no session holds: those last written longer
  /// than `ttl` before `now` ago are removed (ttl 0: none), the rest are
  /// counted. Parts that are not regular files of ours with one link are
  /// left alone, as create() would treat them.
  partials_report sweep_partials(std::chrono::seconds ttl,
                                 std::chrono::system_clock::time_point now) const;

  const std::string& path() const { return path_; }

 private:
  unique_fd fd_;
  std::string path_;
};

/// A directory descriptor several part files (and a cache) may share.
using shared_dir = std::shared_ptr<const unique_fd>;

/// Looks up `name` in the directory `parent` without following symlinks.
[[nodiscard]] std::error_code stat_at(int parent, const std::string& name, existing_entry& out);

/// Creates the directory `name` in `parent` unless it exists; ELOOP or
/// ENOTDIR when a symlink or a non-directory is in the way.
[[nodiscard]] std::error_code make_dir_at(int parent, const std::string& name);

/// The directory holding a path's last component, kept open while the
/// following paths stay in it: files come grouped by directory, and a walk
/// from the root for each would cost two system calls per component.
class parent_cache {
 public:
  /// Opens (or reuses) the parent of `components`, creating missing
  /// directories (at most `*budget`, as open_parent()).
  [[nodiscard]] std::error_code get(const dest_root& root,
                                    const std::vector<std::string>& components, shared_dir& out,
                                    std::uint64_t* budget = nullptr);

 private:
  shared_dir dir_;
  std::string key_;  // the parent's components, each followed by '/'
};

/// A file being received. Either anonymous (O_TMPFILE: it has no name
/// until commit() links it under the final one, and vanishes by itself if
/// the process dies), or named ".ferry-part-<hash of the final name>" in
/// the final directory and held under an exclusive flock so two sessions
/// cannot write the same destination at once (the second gets EBUSY): a
/// named part can outlive a broken session for a later one to resume.
/// Destroying an uncommitted part file removes it, unless keep() was called
/// on a named one: then it stays, unlocked, for a later session (adopt()).
class part_file {
 public:
  part_file() = default;
  ~part_file() { discard(); }
  part_file(part_file&&) noexcept = default;
  part_file& operator=(part_file&&) noexcept = default;

  /// Creates (or takes over and empties) the part file for `final_name`.
  /// A new one is created with `mode` (plus owner read and write), so that
  /// commit() usually has no mode left to set.
  [[nodiscard]] static std::error_code create(shared_dir parent, const std::string& final_name,
                                              std::uint32_t mode, part_file& out);

  /// An anonymous part file for `final_name` in `parent`, created with
  /// `mode` (plus owner read and write). commit() never replaces an
  /// existing file (EEXIST; asking it to is EINVAL). Falls back to a named
  /// one where the file system has no O_TMPFILE.
  [[nodiscard]] static std::error_code create_anonymous(shared_dir parent,
                                                        const std::string& final_name,
                                                        std::uint32_t mode, part_file& out);

  /// Takes over the part file an interrupted session left for `final_name`:
  /// opened without following symlinks, locked, positioned at its end; its
  /// length is stored in `kept`. ENOENT when there is none (or it is empty),
  /// EBUSY when another session holds it, EFBIG when longer than `max_size`.
  [[nodiscard]] static std::error_code adopt(shared_dir parent, const std::string& final_name,
                                             std::uint64_t max_size, part_file& out,
                                             std::uint64_t& kept);

  /// Not a file but a stream the content is written through as it comes
  /// (ferry-recv --stdout: a duplicate of `fd`): commit() only closes it,
  /// and nothing written can be taken back, so the verdict is all a
  /// failure leaves. A pipe or socket is made non-blocking while it is
  /// ours (writes then give EAGAIN: the caller waits without blocking its
  /// thread), and its flags are put back when it is closed.
  [[nodiscard]] static std::error_code stream_to(int fd, part_file& out);

  /// Appends all of `bytes`; ENOSPC, EDQUOT, EIO come back as they are.
  [[nodiscard]] std::error_code write(std::span<const std::uint8_t> bytes);

  /// Applies mode and mtime, optionally fsyncs, and renames (links, when
  /// anonymous) to the final name. Unless `replace`, an existing final name
  /// is left alone and the result is EEXIST. After success the part file no
  /// longer exists.
  [[nodiscard]] std::error_code commit(std::uint32_t mode, std::int64_t mtime_ns, bool fsync,
                                       bool replace);

  /// Removes the part file if it still exists.
  void discard();

  /// Closes the part file without removing it: what it holds is a prefix of
  /// the file that a later session may resume from. (An anonymous one is
  /// gone once closed.)
  void keep();

  bool is_open() const { return static_cast<bool>(fd_); }
  bool anonymous() const { return is_open() && part_name_.empty(); }
  int fd() const { return fd_.get(); }

 private:
  shared_dir parent_;
  unique_fd fd_;
  std::string part_name_;  // empty: anonymous
  std::string final_name_;
  std::optional<std::uint32_t> mode_;  // permission bits, when known
  bool stream_ = false;                // stream_to(): no file behind it
  int restore_flags_ = -1;             // stream_to() on a pipe: its flags before
  void restore_stream();

  // Makes this the part file `fd` (discarding any it was).
  void take(shared_dir parent, unique_fd fd, std::string part_name, const std::string& final_name,
            std::optional<std::uint32_t> mode);
  [[nodiscard]] std::error_code link_anonymous();
};

/// Name of the part file for `final_name`.
std::string part_name_for(const std::string& final_name);

}  // namespace ferry::fileio
