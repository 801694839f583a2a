#include "fileio/tree.hpp"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <set>
#include <utility>

#include "fileio/fd.hpp"

namespace ferry::fileio {
namespace {

std::int64_t mtime_of(const struct stat& st) {
  return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

class walker {
 public:
  walker(bool follow, source_list& out) : follow_(follow), out_(out) {}

  void visit(const std::string& local, const std::string& remote) {
    struct stat st {};
    if (::lstat(local.c_str(), &st) != 0) {
      out_.errors.push_back(local + ": " + std::strerror(errno));
      return;
    }
    if (S_ISLNK(st.st_mode)) {
      if (!follow_) {
        out_.warnings.push_back("skipping symlink " + local + " (use --follow-symlinks)");
        return;
      }
      if (::stat(local.c_str(), &st) != 0) {
        out_.warnings.push_back("skipping dangling symlink " + local);
        return;
      }
    }
    source_entry e;
    e.local_path = local;
    e.remote_path = remote;
    e.mode = static_cast<std::uint32_t>(st.st_mode & 07777);
    e.mtime_ns = mtime_of(st);
    if (S_ISREG(st.st_mode)) {
      e.kind = framing::entry_kind::file;
      e.size = static_cast<std::uint64_t>(st.st_size);
      out_.entries.push_back(std::move(e));
    } else if (S_ISDIR(st.st_mode)) {
      const auto key = std::make_pair(st.st_dev, st.st_ino);
      if (!active_.insert(key).second) {
        out_.warnings.push_back("skipping directory loop at " + local);
        return;
      }
      e.kind = framing::entry_kind::directory;
      out_.entries.push_back(std::move(e));
      walk_dir(local, remote);
      active_.erase(key);
    } else {
      out_.warnings.push_back("skipping special file " + local);
    }
  }

 private:
  void walk_dir(const std::string& local, const std::string& remote) {
    DIR* d = ::opendir(local.c_str());
    if (d == nullptr) {
      out_.errors.push_back(local + ": " + std::strerror(errno));
      return;
    }
    std::vector<std::string> names;
    while (const dirent* ent = ::readdir(d)) {
      const std::string_view name = ent->d_name;
      if (name != "." && name != "..") names.emplace_back(name);
    }
    ::closedir(d);
    std::sort(names.begin(), names.end());
    const std::string base = local.ends_with('/') ? local : local + "/";
    for (const auto& name : names)
      visit(base + name, remote + "/" + name);
  }

  bool follow_;
  source_list& out_;
  std::set<std::pair<dev_t, ino_t>> active_;
};

}  // namespace

std::string remote_name_for(const std::string& path) {
  std::string p = path;
  while (p.size() > 1 && p.ends_with('/'))
    p.pop_back();
  std::string name = p.substr(p.rfind('/') + 1);
  if (name.empty() || name == "." || name == "..") {
    // "." and ".." name the directory they resolve to, as cp -r would.
    char* real = ::realpath(p.c_str(), nullptr);
    if (real == nullptr) return {};
    const std::string r = real;
    std::free(real);
    name = r.substr(r.rfind('/') + 1);
  }
  return name;
}

source_list collect_sources(const std::vector<std::string>& paths, bool follow_symlinks) {
  source_list out;
  walker w(follow_symlinks, out);
  for (const auto& p : paths) {
    const std::string name = remote_name_for(p);
    if (name.empty()) {
      out.errors.push_back(p + ": cannot send a path without a name (such as /)");
      continue;
    }
    w.visit(p, name);
  }
  return out;
}

}  // namespace ferry::fileio
