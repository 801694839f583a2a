#include "fileio/hash.hpp"

#include <xxhash.h>

#include <algorithm>
#if defined(__x86_64__)
// Debian's libxxhash carries runtime-dispatched (SSE2/AVX2/AVX512) entry
// points; the plain ones are built for the SSE2 baseline and run at about
// half the speed on AVX2 machines.
#include <xxh_x86dispatch.h>
#endif

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <new>
#include <vector>

namespace ferry::fileio {

struct hasher::state {
  XXH3_state_t* s = XXH3_createState();
  ~state() { XXH3_freeState(s); }
};

hasher::hasher() : state_(std::make_unique<state>()) {
  if (state_->s == nullptr) throw std::bad_alloc();
  reset();
}
hasher::~hasher() = default;
hasher::hasher(hasher&&) noexcept = default;
hasher& hasher::operator=(hasher&&) noexcept = default;

void hasher::reset() {
  XXH3_128bits_reset(state_->s);
}

void hasher::update(std::span<const std::uint8_t> bytes) {
  XXH3_128bits_update(state_->s, bytes.data(), bytes.size());
}

hash128 hasher::digest() const {
  const XXH128_hash_t h = XXH3_128bits_digest(state_->s);
  return {h.high64, h.low64};
}

std::error_code hash_file_range(int fd, std::uint64_t offset, std::uint64_t length, hasher& h) {
  std::vector<std::uint8_t> buf(std::min<std::uint64_t>(length, 1 << 20));
  std::uint64_t pos = 0;
  while (pos < length) {
    const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), length - pos));
    const ssize_t n = ::pread(fd, buf.data(), want, static_cast<off_t>(offset + pos));
    if (n < 0) {
      if (errno == EINTR) continue;
      return {errno, std::system_category()};
    }
    if (n == 0) return std::make_error_code(std::errc::io_error);
    h.update({buf.data(), static_cast<std::size_t>(n)});
    pos += static_cast<std::uint64_t>(n);
  }
  return {};
}

std::string to_hex(const hash128& h) {
  char buf[33];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(h.high),
                static_cast<unsigned long long>(h.low));
  return buf;
}

}  // namespace ferry::fileio
