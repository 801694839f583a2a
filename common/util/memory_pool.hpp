// A fixed amount of memory that many owners draw on together (the reorder
// rings of all UDP connections, the paths all sessions hold for their
// peers): a draw that does not fit is refused, nothing is allocated here.
// Thread-safe.
#pragma once

#include <atomic>
#include <cstddef>

namespace ferry {

class memory_pool {
 public:
  explicit memory_pool(std::size_t capacity) : capacity_(capacity) {}

  /// Takes `n` bytes; false (nothing taken) when they do not fit.
  [[nodiscard]] bool take(std::size_t n) {
    std::size_t used = used_.load(std::memory_order_relaxed);
    do {
      if (n > capacity_ - used) return false;
    } while (!used_.compare_exchange_weak(used, used + n, std::memory_order_relaxed));
    return true;
  }
  /// Gives back `n` bytes taken before.
  void give(std::size_t n) { used_.fetch_sub(n, std::memory_order_relaxed); }
  std::size_t used() const { return used_.load(std::memory_order_relaxed); }
  std::size_t capacity() const { return capacity_; }

 private:
  const std::size_t capacity_;
  std::atomic<std::size_t> used_{0};
};

}  // namespace ferry
