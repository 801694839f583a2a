#include "receiver/budget.hpp"

#include <utility>

#include "util/checked.hpp"
#include "util/units.hpp"

namespace ferry::recv {

namespace {
// statvfs at most this often; writes in between are counted by the ledger.
constexpr auto restat_interval = std::chrono::milliseconds(100);
}  // namespace

space_ledger::space_ledger(stat_fn stat, std::uint64_t min_free, unsigned min_free_percent)
    : stat_(std::move(stat)), min_free_(min_free), min_free_percent_(min_free_percent) {}

std::optional<std::string> space_ledger::shortfall(std::uint64_t more) {
  const auto now = clock::now();
  if (!known_ || now - when_ >= restat_interval) {
    std::uint64_t a = 0, t = 0;
    if (stat_(a, t)) return std::nullopt;  // cannot tell: let writes decide
    available_ = a;
    total_ = t;
    written_ = 0;
    known_ = true;
    when_ = now;
  }
  const std::uint64_t keep = min_free_percent_ != 0 ? total_ / 100 * min_free_percent_ : min_free_;
  const std::uint64_t free_now = saturating_sub(available_, written_);
  const std::uint64_t needed = saturating_add(saturating_add(keep, reserved_), more);
  if (free_now >= needed) return std::nullopt;
  return "not enough free space on the receiver (" + format_bytes(free_now) + " free, " +
         format_bytes(reserved_) + " promised to transfers in progress, keeps " +
         format_bytes(keep) + " free: its --min-free)";
}

std::optional<std::string> space_ledger::reserve(std::uint64_t bytes) {
  if (!enabled()) return std::nullopt;
  std::lock_guard lock(mu_);
  if (auto why = shortfall(bytes)) return why;
  reserved_ = saturating_add(reserved_, bytes);
  return std::nullopt;
}

void space_ledger::consume(std::uint64_t bytes) {
  if (!enabled()) return;
  std::lock_guard lock(mu_);
  reserved_ = saturating_sub(reserved_, bytes);
  written_ = saturating_add(written_, bytes);
}

void space_ledger::release(std::uint64_t bytes) {
  if (!enabled()) return;
  std::lock_guard lock(mu_);
  reserved_ = saturating_sub(reserved_, bytes);
}

std::optional<std::string> space_ledger::check() {
  if (!enabled()) return std::nullopt;
  std::lock_guard lock(mu_);
  return shortfall(0);
}

std::uint64_t space_ledger::reserved() const {
  std::lock_guard lock(mu_);
  return reserved_;
}

std::optional<std::string> space_reservation::extend(space_ledger& ledger, std::uint64_t bytes) {
  if (ledger_ != nullptr && ledger_ != &ledger) reset();
  if (auto why = ledger.reserve(bytes)) return why;
  ledger_ = &ledger;
  left_ = saturating_add(left_, bytes);
  return std::nullopt;
}

void space_reservation::consume(std::uint64_t bytes) {
  if (ledger_ == nullptr) return;
  const std::uint64_t n = bytes < left_ ? bytes : left_;
  ledger_->consume(n);
  left_ -= n;
}

void space_reservation::reset() {
  if (ledger_ != nullptr && left_ > 0) ledger_->release(left_);
  ledger_ = nullptr;
  left_ = 0;
}

void part_holders::claim(const key& k, std::weak_ptr<net::frame_stream> holder) {
  std::lock_guard lock(mu_);
  held_[k] = std::move(holder);
}

void part_holders::release(const key& k, const std::weak_ptr<net::frame_stream>& holder) {
  std::lock_guard lock(mu_);
  const auto it = held_.find(k);
  if (it == held_.end()) return;
  // Compared without lock(): a strong reference taken here could be the
  // last, and end another session's stream on this thread.
  const bool same = !it->second.owner_before(holder) && !holder.owner_before(it->second);
  if (same || it->second.expired()) held_.erase(it);
}

std::shared_ptr<net::frame_stream> part_holders::holder(const key& k) const {
  std::lock_guard lock(mu_);
  const auto it = held_.find(k);
  return it == held_.end() ? nullptr : it->second.lock();
}

std::size_t part_holders::size() const {
  std::lock_guard lock(mu_);
  return held_.size();
}

bool memory_budget::take(std::uint64_t n) {
  if (!fits_limit(used_, n, limit_) || !pool_.take(n)) return false;
  used_ += n;
  return true;
}

void memory_budget::give(std::uint64_t n) {
  const std::uint64_t k = n < used_ ? n : used_;
  pool_.give(k);
  used_ -= k;
}

}  // namespace ferry::recv
