// Arithmetic on numbers a peer chose: sums that cannot wrap. Every sum,
// product or comparison that involves a size, offset or count from the
// wire goes through these, so a crafted value near 2^64 cannot slip past a
// limit by wrapping around.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>

namespace ferry {

/// The largest size a file can have here (off_t is signed 64-bit): offers
/// beyond it are refused before any limit is computed with them.
inline constexpr std::uint64_t max_file_bytes =
    static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());

/// a + b, or nothing when it does not fit in 64 bits.
[[nodiscard]] inline constexpr std::optional<std::uint64_t> checked_add(std::uint64_t a,
                                                                        std::uint64_t b) {
  std::uint64_t r = 0;
  if (__builtin_add_overflow(a, b, &r)) return std::nullopt;
  return r;
}

/// a + b, capped at 2^64 - 1: for totals compared against a limit, where
/// "more than anything" is the right answer.
[[nodiscard]] inline constexpr std::uint64_t saturating_add(std::uint64_t a, std::uint64_t b) {
  return checked_add(a, b).value_or(std::numeric_limits<std::uint64_t>::max());
}

/// a * b, capped at 2^64 - 1.
[[nodiscard]] inline constexpr std::uint64_t saturating_mul(std::uint64_t a, std::uint64_t b) {
  std::uint64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r)) return std::numeric_limits<std::uint64_t>::max();
  return r;
}

/// a - b, or 0 when b > a.
[[nodiscard]] inline constexpr std::uint64_t saturating_sub(std::uint64_t a, std::uint64_t b) {
  return a > b ? a - b : 0;
}

/// Whether used + more stays within limit (limit 0 is "no limit").
[[nodiscard]] inline constexpr bool fits_limit(std::uint64_t used, std::uint64_t more,
                                               std::uint64_t limit) {
  if (limit == 0) return true;
  const auto total = checked_add(used, more);
  return total && *total <= limit;
}

}  // namespace ferry
