#include "fileio/mapped.hpp"

#include <setjmp.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <mutex>

namespace ferry::fileio {
namespace {

thread_local sigjmp_buf* bus_jump = nullptr;

void on_sigbus(int signo) {
  if (bus_jump != nullptr) siglongjmp(*bus_jump, 1);
  // Not ours: die the way SIGBUS would have killed us.
  std::signal(signo, SIG_DFL);
  std::raise(signo);
}

void install_sigbus_handler() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa {};
    sa.sa_handler = on_sigbus;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_NODEFER;
    ::sigaction(SIGBUS, &sa, nullptr);
  });
}

// Kept out of line and free of C++ objects: siglongjmp skips no destructor.
[[gnu::noinline]] bool update_or_jump(hasher& h, const std::uint8_t* p, std::size_t n) {
  sigjmp_buf jb;
  // No mask to save: the handler runs with SA_NODEFER and an empty sa_mask,
  // so the mask is the same after the jump; saving it would cost a system
  // call per chunk on the sender's hot path.
  if (sigsetjmp(jb, 0) != 0) {
    bus_jump = nullptr;
    return false;
  }
  bus_jump = &jb;
  h.update({p, n});
  bus_jump = nullptr;
  return true;
}

}  // namespace

std::error_code mapped_window::map(int fd, std::uint64_t offset, std::size_t length) {
  unmap();
  if (length == 0) return {};
  static const auto page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
  const std::uint64_t aligned = offset - offset % page;
  const auto lead = static_cast<std::size_t>(offset - aligned);
  void* p = ::mmap(nullptr, length + lead, PROT_READ, MAP_SHARED | MAP_POPULATE, fd,
                   static_cast<off_t>(aligned));
  if (p == MAP_FAILED) return {errno, std::system_category()};
  // No MADV_SEQUENTIAL: on ext4 it sent every fault of an already cached
  // file through the readahead scan (page_cache_next_miss), up to 2.8 s of
  // CPU per GiB. MAP_POPULATE already faults the window in one go.
  base_ = p;
  base_length_ = length + lead;
  data_ = static_cast<const std::uint8_t*>(p) + lead;
  length_ = length;
  return {};
}

void mapped_window::unmap() {
  if (base_ != nullptr) ::munmap(base_, base_length_);
  base_ = nullptr;
  data_ = nullptr;
  base_length_ = length_ = 0;
}

bool hash_guarded(hasher& h, std::span<const std::uint8_t> bytes) {
  install_sigbus_handler();
  return update_or_jump(h, bytes.data(), bytes.size());
}

}  // namespace ferry::fileio
