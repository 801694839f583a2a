// Streaming XXH3-128, the whole-file integrity hash of protocol v1.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "framing/frame.hpp"

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
  [[nodiscard]] framing::hash128 digest() const;
  void reset();

 private:
  struct state;
  std::unique_ptr<state> state_;
};

/// 32 lowercase hex digits, the same text `xxh128sum` prints.
std::string to_hex(const framing::hash128& h);

}  // namespace ferry::fileio
