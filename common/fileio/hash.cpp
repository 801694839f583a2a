#include "fileio/hash.hpp"

#include <xxhash.h>
#if defined(__x86_64__)
// Debian's libxxhash carries runtime-dispatched (SSE2/AVX2/AVX512) entry
// points; the plain ones are built for the SSE2 baseline and run at about
// half the speed on AVX2 machines.
#include <xxh_x86dispatch.h>
#endif

#include <cstdio>
#include <new>

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

framing::hash128 hasher::digest() const {
  const XXH128_hash_t h = XXH3_128bits_digest(state_->s);
  return {h.high64, h.low64};
}

std::string to_hex(const framing::hash128& h) {
  char buf[33];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(h.high),
                static_cast<unsigned long long>(h.low));
  return buf;
}

}  // namespace ferry::fileio
