#include "fileio/dest.hpp"

#include "fileio/errors.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <xxhash.h>

#include <dirent.h>

#include <cerrno>
#include <cstdio>

#include "fileio/path.hpp"

namespace ferry::fileio {
namespace {

std::error_code last_error() {
  return {errno, std::system_category()};
}

timespec to_timespec(std::int64_t ns) {
  timespec ts{};
  ts.tv_sec = ns / 1'000'000'000;
  ts.tv_nsec = ns % 1'000'000'000;
  if (ts.tv_nsec < 0) {
    ts.tv_nsec += 1'000'000'000;
    ts.tv_sec -= 1;
  }
  return ts;
}

constexpr int dir_flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

// The process's umask, read without changing it (umask(2) would, for a
// moment, for every thread); nothing when /proc cannot tell.
std::optional<mode_t> process_umask() {
  static const std::optional<mode_t> mask = []() -> std::optional<mode_t> {
    std::FILE* f = std::fopen("/proc/self/status", "re");
    if (f == nullptr) return std::nullopt;
    char line[256];
    std::optional<mode_t> found;
    unsigned value = 0;
    while (std::fgets(line, sizeof line, f) != nullptr)
      if (std::sscanf(line, "Umask: %o", &value) == 1) {
        found = static_cast<mode_t>(value & 0777);
        break;
      }
    std::fclose(f);
    return found;
  }();
  return mask;
}

// The mode a part file is created with: the offered permission bits, and
// the owner keeps read and write so that a later session can adopt it.
mode_t part_create_mode(std::uint32_t mode) {
  return static_cast<mode_t>((mode & 0777) | 0600);
}

// What a file created with `mode` got: the umask takes its bits (unknown
// when the umask is).
std::optional<std::uint32_t> created_mode(mode_t mode) {
  const auto mask = process_umask();
  if (!mask) return std::nullopt;
  return mode & ~*mask;
}

// Opens `name` under `parent` as a directory, creating it first if asked.
std::error_code open_dir_at(int parent, const std::string& name, bool create, unique_fd& out,
                            std::uint64_t* budget = nullptr) {
  int fd = ::openat(parent, name.c_str(), dir_flags);
  if (fd < 0 && errno == ENOENT && create) {
    if (budget != nullptr && *budget == 0) return errc::dir_budget;
    if (::mkdirat(parent, name.c_str(), 0755) == 0) {
      if (budget != nullptr) --*budget;
    } else if (errno != EEXIST) {
      return last_error();
    }
    fd = ::openat(parent, name.c_str(), dir_flags);
  }
  if (fd < 0) {
    const auto ec = last_error();
    // O_DIRECTORY|O_NOFOLLOW on a symlink fails with ENOTDIR; say what it is.
    struct stat st {};
    if (errno == ENOTDIR && ::fstatat(parent, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
        S_ISLNK(st.st_mode))
      return std::make_error_code(std::errc::too_many_symbolic_link_levels);
    return ec;
  }
  out.reset(fd);
  return {};
}

}  // namespace

std::error_code dest_root::open(const std::string& dir, dest_root& out) {
  // Create the receive directory itself like `mkdir -p`; the operator chose it.
  std::string prefix;
  std::size_t pos = 0;
  while (pos != std::string::npos) {
    pos = dir.find('/', pos + 1);
    prefix = dir.substr(0, pos);
    if (!prefix.empty() && ::mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST)
      return last_error();
  }
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return last_error();
  out.fd_.reset(fd);
  out.path_ = dir;
  return {};
}

std::error_code dest_root::open_parent(const std::vector<std::string>& components, bool create,
                                       unique_fd& parent, std::uint64_t* budget) const {
  unique_fd cur(::dup(fd_.get()));
  if (!cur) return last_error();
  for (std::size_t i = 0; i + 1 < components.size(); ++i) {
    unique_fd next;
    if (auto ec = open_dir_at(cur.get(), components[i], create, next, budget)) return ec;
    cur = std::move(next);
  }
  parent = std::move(cur);
  return {};
}

std::error_code dest_root::open_sub(const std::vector<std::string>& components, dest_root& out,
                                    std::uint64_t* budget) const {
  unique_fd cur(::dup(fd_.get()));
  if (!cur) return last_error();
  std::string path = path_;
  for (const auto& name : components) {
    unique_fd next;
    if (auto ec = open_dir_at(cur.get(), name, true, next, budget)) return ec;
    cur = std::move(next);
    path += "/" + name;
  }
  out.fd_ = std::move(cur);
  out.path_ = std::move(path);
  return {};
}

std::error_code dest_root::set_dir_attrs(const std::vector<std::string>& components,
                                         std::uint32_t mode, std::int64_t mtime_ns) const {
  unique_fd parent;
  if (auto ec = open_parent(components, false, parent)) return ec;
  unique_fd dir;
  if (auto ec = open_dir_at(parent.get(), components.back(), false, dir)) return ec;
  // Never hand out setuid/setgid/sticky bits from the network; keep the
  // owner able to enter and write so later sessions can add to the tree.
  if (::fchmod(dir.get(), (mode & 0777) | 0700) != 0) return last_error();
  const timespec times[2] = {{0, UTIME_OMIT}, to_timespec(mtime_ns)};
  if (::futimens(dir.get(), times) != 0) return last_error();
  return {};
}

std::error_code dest_root::space(std::uint64_t& available, std::uint64_t& total) const {
  struct statvfs v {};
  if (::fstatvfs(fd_.get(), &v) != 0) return last_error();
  available = static_cast<std::uint64_t>(v.f_bavail) * v.f_frsize;
  total = static_cast<std::uint64_t>(v.f_blocks) * v.f_frsize;
  return {};
}

std::error_code stat_at(int parent, const std::string& name, existing_entry& out) {
  struct stat st {};
  out = {};
  if (::fstatat(parent, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return {};
    return last_error();
  }
  if (S_ISREG(st.st_mode))
    out.kind = existing_entry::type::regular;
  else if (S_ISDIR(st.st_mode))
    out.kind = existing_entry::type::directory;
  else
    out.kind = existing_entry::type::other;
  out.size = static_cast<std::uint64_t>(st.st_size);
  out.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  return {};
}

std::error_code make_dir_at(int parent, const std::string& name) {
  unique_fd dir;
  return open_dir_at(parent, name, true, dir);
}

std::error_code parent_cache::get(const dest_root& root, const std::vector<std::string>& components,
                                  shared_dir& out, std::uint64_t* budget) {
  std::string key;
  for (std::size_t i = 0; i + 1 < components.size(); ++i)
    (key += components[i]) += '/';
  if (!dir_ || key != key_) {
    unique_fd fd;
    if (auto ec = root.open_parent(components, true, fd, budget)) return ec;
    dir_ = std::make_shared<const unique_fd>(std::move(fd));
    key_ = std::move(key);
  }
  out = dir_;
  return {};
}

std::string part_name_for(const std::string& final_name) {
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx",
                static_cast<unsigned long long>(XXH3_64bits(final_name.data(), final_name.size())));
  return std::string(part_prefix) + hex;
}

namespace {

bool is_own_part(const struct stat& st) {
  return S_ISREG(st.st_mode) && st.st_uid == ::geteuid() && st.st_nlink == 1;
}

// Opens and locks the existing part file `part` when it is one we may
// touch: a regular file of ours with no other name (a hard link from
// outside --dir would let a peer overwrite, measure or hash that file).
// EBUSY when another session holds it; ENOENT when there is none; EPERM
// when something else sits under the name.
std::error_code open_own_part(int dir, const std::string& part, unique_fd& out) {
  // O_NONBLOCK: a FIFO under the name must not hang us (regular files
  // ignore it).
  const int fd = ::openat(dir, part.c_str(), O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    return errno == ELOOP ? std::make_error_code(std::errc::operation_not_permitted) : last_error();
  unique_fd file(fd);
  struct stat st {};
  if (::fstat(file.get(), &st) != 0) return last_error();
  if (!is_own_part(st)) return std::make_error_code(std::errc::operation_not_permitted);
  if (::flock(file.get(), LOCK_EX | LOCK_NB) != 0) {
    return errno == EWOULDBLOCK ? std::make_error_code(std::errc::device_or_resource_busy)
                                : last_error();
  }
  // Linked elsewhere between the check and the lock: not ours to write.
  if (::fstat(file.get(), &st) != 0) return last_error();
  if (!is_own_part(st)) return std::make_error_code(std::errc::operation_not_permitted);
  out = std::move(file);
  return {};
}

}  // namespace

std::error_code part_file::create(shared_dir parent, const std::string& final_name,
                                  std::uint32_t mode, part_file& out) {
  const std::string part = part_name_for(final_name);
  const mode_t create_mode = part_create_mode(mode);
  constexpr int flags = O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
  for (int attempt = 0; attempt < 3; ++attempt) {
    // Usually there is none: create it, and no one else can have it locked.
    const int fd = ::openat(parent->get(), part.c_str(), flags, create_mode);
    if (fd >= 0) {
      unique_fd file(fd);
      // Locked from the start: others see it as busy, not as one to take.
      if (::flock(file.get(), LOCK_EX | LOCK_NB) != 0) return last_error();
      out.take(std::move(parent), std::move(file), part, final_name, created_mode(create_mode));
      return {};
    }
    if (errno != EEXIST) return last_error();
    // One is there. Ours and unlocked (kept, or stale): it goes, and a new
    // one is created in its place. Locked: another session writes it.
    // Anything else (a link to a file elsewhere, a FIFO, a symlink) loses
    // its name here and nothing else.
    unique_fd existing;
    const std::error_code ec = open_own_part(parent->get(), part, existing);
    if (ec == std::errc::device_or_resource_busy) return ec;
    if (ec && ec != std::errc::operation_not_permitted &&
        ec != std::errc::no_such_file_or_directory)
      return ec;
    if (::unlinkat(parent->get(), part.c_str(), 0) != 0 && errno != ENOENT) return last_error();
  }
  return std::make_error_code(std::errc::device_or_resource_busy);  // raced three times
}

std::error_code part_file::create_anonymous(shared_dir parent, const std::string& final_name,
                                            std::uint32_t mode, part_file& out) {
  const mode_t create_mode = part_create_mode(mode);
  const int fd = ::openat(parent->get(), ".", O_TMPFILE | O_RDWR | O_CLOEXEC, create_mode);
  if (fd < 0) {
    // No O_TMPFILE on this file system (or kernel): a named part file.
    if (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)
      return create(std::move(parent), final_name, mode, out);
    return last_error();
  }
  out.take(std::move(parent), unique_fd(fd), {}, final_name, created_mode(create_mode));
  return {};
}

std::error_code part_file::adopt(shared_dir parent, const std::string& final_name,
                                 std::uint64_t max_size, part_file& out, std::uint64_t& kept) {
  const std::string part = part_name_for(final_name);
  unique_fd file;
  if (auto ec = open_own_part(parent->get(), part, file))
    return ec == std::errc::operation_not_permitted
               ? std::make_error_code(std::errc::no_such_file_or_directory)
               : ec;
  struct stat st {};
  if (::fstat(file.get(), &st) != 0) return last_error();
  if (st.st_size <= 0) return std::make_error_code(std::errc::no_such_file_or_directory);
  if (static_cast<std::uint64_t>(st.st_size) > max_size)
    return std::make_error_code(std::errc::file_too_large);
  if (::lseek(file.get(), 0, SEEK_END) < 0) return last_error();
  out.take(std::move(parent), std::move(file), part, final_name, st.st_mode & 07777);
  kept = static_cast<std::uint64_t>(st.st_size);
  return {};
}

std::error_code part_file::write(std::span<const std::uint8_t> bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd_.get(), bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return last_error();
    }
    bytes = bytes.subspan(static_cast<std::size_t>(n));
  }
  return {};
}

std::error_code part_file::stream_to(int fd, part_file& out) {
  unique_fd copy(::fcntl(fd, F_DUPFD_CLOEXEC, 3));
  if (!copy) return last_error();
  out.discard();
  out.fd_ = std::move(copy);
  out.parent_.reset();
  out.part_name_.clear();
  out.final_name_.clear();
  out.stream_ = true;
  struct stat st {};
  if (::fstat(out.fd_.get(), &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))) {
    const int flags = ::fcntl(out.fd_.get(), F_GETFL);
    if (flags >= 0 && ::fcntl(out.fd_.get(), F_SETFL, flags | O_NONBLOCK) == 0)
      out.restore_flags_ = flags;
  }
  return {};
}

void part_file::restore_stream() {
  if (stream_ && fd_ && restore_flags_ >= 0) ::fcntl(fd_.get(), F_SETFL, restore_flags_);
  restore_flags_ = -1;
}

std::error_code part_file::commit(std::uint32_t mode, std::int64_t mtime_ns, bool fsync,
                                  bool replace) {
  if (stream_) {
    restore_stream();
    fd_.reset();
    return {};
  }
  if (mode_ != (mode & 0777) && ::fchmod(fd_.get(), mode & 0777) != 0) return last_error();
  const timespec times[2] = {{0, UTIME_OMIT}, to_timespec(mtime_ns)};
  if (::futimens(fd_.get(), times) != 0) return last_error();
  if (fsync && ::fsync(fd_.get()) != 0) return last_error();
  if (part_name_.empty()) {
    if (replace) return std::make_error_code(std::errc::invalid_argument);  // (see header)
    if (auto ec = link_anonymous()) return ec;
  } else if (::renameat2(parent_->get(), part_name_.c_str(), parent_->get(), final_name_.c_str(),
                         replace ? 0u : RENAME_NOREPLACE) != 0) {
    // RENAME_NOREPLACE closes the window between the offer's check and now.
    return last_error();
  }
  if (fsync) ::fsync(parent_->get());
  fd_.reset();
  parent_.reset();
  return {};
}

void part_file::take(shared_dir parent, unique_fd fd, std::string part_name,
                     const std::string& final_name, std::optional<std::uint32_t> mode) {
  discard();
  stream_ = false;
  parent_ = std::move(parent);
  fd_ = std::move(fd);
  part_name_ = std::move(part_name);
  final_name_ = final_name;
  mode_ = mode;
}

// Gives the anonymous file its final name; like RENAME_NOREPLACE, never
// over an existing one.
std::error_code part_file::link_anonymous() {
  // The descriptor itself can be linked with CAP_DAC_READ_SEARCH (or, from
  // Linux 6.10, by whoever opened it); otherwise through its /proc name.
  if (::linkat(fd_.get(), "", parent_->get(), final_name_.c_str(), AT_EMPTY_PATH) == 0) return {};
  if (errno != ENOENT && errno != EPERM) return last_error();
  const std::string proc = "/proc/self/fd/" + std::to_string(fd_.get());
  if (::linkat(AT_FDCWD, proc.c_str(), parent_->get(), final_name_.c_str(), AT_SYMLINK_FOLLOW) != 0)
    return last_error();
  return {};
}

void part_file::keep() {
  restore_stream();
  fd_.reset();  // closing drops the lock
  parent_.reset();
}

void part_file::discard() {
  if (!fd_) return;
  restore_stream();
  // Only while the name is still ours: when someone removed our part file
  // and another session made a new one under the same name, that one stays.
  struct stat mine {};
  struct stat named {};
  if (!part_name_.empty() && ::fstat(fd_.get(), &mine) == 0 &&
      ::fstatat(parent_->get(), part_name_.c_str(), &named, AT_SYMLINK_NOFOLLOW) == 0 &&
      mine.st_dev == named.st_dev && mine.st_ino == named.st_ino)
    ::unlinkat(parent_->get(), part_name_.c_str(), 0);
  fd_.reset();
  parent_.reset();
}

namespace {

void sweep_dir(int dir, int depth, std::chrono::seconds ttl,
               std::chrono::system_clock::time_point now, partials_report& r) {
  const int copy = ::dup(dir);  // fdopendir takes the descriptor it is given
  if (copy < 0) return;
  DIR* d = ::fdopendir(copy);
  if (d == nullptr) {
    ::close(copy);
    return;
  }
  ::rewinddir(d);  // a dup shares the offset an earlier walk left at the end
  std::vector<std::string> subdirs;
  while (const dirent* ent = ::readdir(d)) {
    const std::string_view name = ent->d_name;
    if (name == "." || name == "..") continue;
    unsigned char type = ent->d_type;
    if (type == DT_UNKNOWN) {  // some file systems do not say
      struct stat st {};
      if (::fstatat(dir, ent->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
      type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : DT_UNKNOWN;
    }
    if (type == DT_DIR) {
      subdirs.emplace_back(name);
      continue;
    }
    if (type != DT_REG || !name.starts_with(part_prefix)) continue;
    unique_fd part;
    if (open_own_part(dir, std::string(name), part)) continue;  // held, or not ours
    struct stat st {};
    if (::fstat(part.get(), &st) != 0) continue;
    const auto written = std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::seconds(st.st_mtim.tv_sec)));
    const auto bytes = static_cast<std::uint64_t>(st.st_size);
    if (ttl.count() > 0 && now - written > ttl && ::unlinkat(dir, ent->d_name, 0) == 0) {
      ++r.removed;
      r.removed_bytes += bytes;
    } else {
      ++r.kept;
      r.kept_bytes += bytes;
    }
  }
  ::closedir(d);
  if (depth >= 512) return;
  for (const auto& name : subdirs) {
    const int sub = ::openat(dir, name.c_str(), dir_flags);
    if (sub < 0) continue;
    unique_fd guard(sub);
    sweep_dir(sub, depth + 1, ttl, now, r);
  }
}

}  // namespace

partials_report dest_root::sweep_partials(std::chrono::seconds ttl,
                                          std::chrono::system_clock::time_point now) const {
  partials_report r;
  sweep_dir(fd_.get(), 0, ttl, now, r);
  return r;
}

}  // namespace ferry::fileio
