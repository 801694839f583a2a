// Streaming XXH3-128, the whole-file integrity hash of the protocol.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <system_error>

#include "util/vocabulary.hpp"

namespace ferry::fileio {

class hasher {
 public:
  hasher();
  ~hasher();
  hasher(const hasher&) = delete;
  hasher& operator=(const hasher&) = delete;
  hasher(hasher&&) noexcept;
  hasher& operator=(hasher&&) noexcept;

  void update(std::span<const std::uint8_t> bytes);
  [[nodiscard]] hash128 digest() const;
  void reset();

 private:
  struct state;
  std::unique_ptr<state> state_;
};

/// Feeds `length` bytes of the open file `fd` from `offset` on (read with
/// pread) into `h`. A file that ends sooner is reported as
/// std::errc::io_error; read errors come back as they are.
[[nodiscard]] std::error_code hash_file_range(int fd, std::uint64_t offset, std::uint64_t length,
                                              hasher& h);

/// Large files are hashed in slices of this size, so that the caller can
/// keep its peer informed (a KEEPALIVE frame) in between.
inline constexpr std::uint64_t hash_slice = 64 << 20;

/// 32 lowercase hex digits, the same text `xxh128sum` prints.
std::string to_hex(const hash128& h);

}  // namespace ferry::fileio
