#include "fileio/tree.hpp"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <set>
#include <unordered_map>
#include <utility>

#include "fileio/fd.hpp"

namespace ferry::fileio {
namespace {

std::int64_t mtime_of(const struct stat& st) {
  return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

class walker {
 public:
  walker(bool follow, source_list& out, const exclude_rules& exclude)
      : follow_(follow), out_(out), exclude_(exclude) {}

  // `named`: the user gave this path (not found inside a directory).
  void visit(const std::string& local, const std::string& remote, bool named = false) {
    struct stat st {};
    if (::lstat(local.c_str(), &st) != 0) {
      out_.errors.push_back({local, local + ": " + std::strerror(errno)});
      return;
    }
    if (!exclude_.empty()) {
      // A followed symlink is what it points to, as with rsync -L.
      struct stat target {};
      const bool is_dir =
          S_ISDIR(st.st_mode) || (S_ISLNK(st.st_mode) && follow_ &&
                                  ::stat(local.c_str(), &target) == 0 && S_ISDIR(target.st_mode));
      if (exclude_.excluded(remote, is_dir)) {
        ++out_.excluded;
        return;
      }
    }
    // What the user named is sent or reported as not sent; what a
    // directory holds may be skipped with a warning.
    auto skip = [&](std::string why) {
      if (named)
        out_.errors.push_back({local, "not sending " + why});
      else
        out_.warnings.push_back("skipping " + why);
    };
    if (S_ISLNK(st.st_mode)) {
      if (!follow_) {
        skip("symlink " + local + " (use --follow-symlinks)");
        return;
      }
      if (::stat(local.c_str(), &st) != 0) {
        skip("dangling symlink " + local);
        return;
      }
    }
    source_entry e;
    e.local_path = local;
    e.remote_path = remote;
    e.mode = static_cast<std::uint32_t>(st.st_mode & 07777);
    e.mtime_ns = mtime_of(st);
    e.device = static_cast<std::uint64_t>(st.st_dev);
    e.inode = static_cast<std::uint64_t>(st.st_ino);
    if (S_ISREG(st.st_mode)) {
      e.kind = entry_kind::file;
      e.size = static_cast<std::uint64_t>(st.st_size);
      out_.entries.push_back(std::move(e));
    } else if (S_ISDIR(st.st_mode)) {
      const auto key = std::make_pair(st.st_dev, st.st_ino);
      if (!active_.insert(key).second) {
        skip("directory loop at " + local);
        return;
      }
      e.kind = entry_kind::directory;
      out_.entries.push_back(std::move(e));
      walk_dir(local, remote);
      active_.erase(key);
    } else {
      skip("special file " + local);
    }
  }

 private:
  void walk_dir(const std::string& local, const std::string& remote) {
    DIR* d = ::opendir(local.c_str());
    if (d == nullptr) {
      out_.errors.push_back({local, local + ": " + std::strerror(errno)});
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
  const exclude_rules& exclude_;
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

std::string relative_remote_name(std::string_view path, std::string& why) {
  if (const auto marker = path.find("/./"); marker != std::string_view::npos)
    path.remove_prefix(marker + 3);
  std::string out;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t stop = path.find('/', start);
    if (stop == std::string_view::npos) stop = path.size();
    const std::string_view comp = path.substr(start, stop - start);
    if (comp == "..") {
      why =
          "has a '..' component (ferry keeps the path as written; name paths below the "
          "current directory)";
      return {};
    }
    if (!comp.empty() && comp != ".") {
      if (!out.empty()) out += '/';
      out.append(comp);
    }
    start = stop + 1;
  }
  if (out.empty()) why = "names no file or directory below the current one";
  return out;
}

source_list collect_sources(const std::vector<source_arg>& args, bool follow_symlinks,
                            const exclude_rules& exclude) {
  source_list out;
  walker w(follow_symlinks, out, exclude);
  for (const auto& a : args) {
    if (a.remote.empty()) {
      out.errors.push_back({a.local, a.local + ": cannot send a path without a name (such as /)"});
      continue;
    }
    w.visit(a.local, a.remote, true);
  }
  return out;
}

std::vector<std::string> remove_duplicates(std::vector<source_entry>& entries, std::size_t limit,
                                           std::size_t& collisions) {
  std::vector<std::string> report;
  collisions = 0;
  std::unordered_map<std::string_view, std::size_t> first;  // remote name -> index
  first.reserve(entries.size());
  std::vector<bool> drop(entries.size(), false);
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const auto [it, fresh] = first.emplace(entries[i].remote_path, i);
    if (fresh) continue;
    const auto& earlier = entries[it->second];
    const bool same_file = earlier.local_path == entries[i].local_path ||
                           (earlier.inode != 0 && earlier.device == entries[i].device &&
                            earlier.inode == entries[i].inode);
    if (same_file) {
      drop[i] = true;  // the same file named twice: send it once
      continue;
    }
    if (++collisions <= limit)
      report.push_back(earlier.local_path + " and " + entries[i].local_path + " both arrive as " +
                       entries[i].remote_path);
  }
  std::size_t k = 0;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (drop[i]) continue;
    if (k != i) entries[k] = std::move(entries[i]);
    ++k;
  }
  entries.resize(k);
  return report;
}

}  // namespace ferry::fileio
