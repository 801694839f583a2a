// Read-only windows of a file mapped into memory, so that the sender can
// hash content and hand it to the socket without first copying it into a
// buffer. A file truncated underneath a mapping raises SIGBUS on access;
// hash_guarded() turns that into a clean failure instead of a crash.
#pragma once

#include <cstdint>
#include <span>
#include <system_error>

#include "fileio/hash.hpp"

namespace ferry::fileio {

class mapped_window {
 public:
  mapped_window() = default;
  ~mapped_window() { unmap(); }
  mapped_window(const mapped_window&) = delete;
  mapped_window& operator=(const mapped_window&) = delete;

  /// Maps [offset, offset + length) of `fd` read-only (offset need not be
  /// page-aligned). Returns the errno of mmap on failure.
  [[nodiscard]] std::error_code map(int fd, std::uint64_t offset, std::size_t length);
  void unmap();

  std::span<const std::uint8_t> bytes() const { return {data_, length_}; }

 private:
  void* base_ = nullptr;
  std::size_t base_length_ = 0;
  const std::uint8_t* data_ = nullptr;
  std::size_t length_ = 0;
};

/// h.update(bytes), except that a SIGBUS while reading them (the mapped
/// file shrank) makes it return false; `h` is then unusable for this file.
[[nodiscard]] bool hash_guarded(hasher& h, std::span<const std::uint8_t> bytes);

}  // namespace ferry::fileio
