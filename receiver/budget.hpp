// What all of a receiver's sessions draw on together: the free space of the
// receive file system (a reservation ledger over the --min-free reserve) and
// the memory sessions may hold for their peers (offers waiting for content,
// directories waiting for their mode and mtime). One instance per receiver,
// shared by every session on every thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <utility>

#include "util/memory_pool.hpp"

namespace ferry::net {
class frame_stream;
}

namespace ferry::recv {

/// Free space on the receive file system, shared by every session. Known
/// sizes are reserved when an offer is accepted and given back on commit
/// or failure; content of unknown size is reserved chunk by chunk before
/// it is written. Bytes written since the last statvfs are counted too, so
/// the estimate never lags the writes: the reserve can be overshot only by
/// what other programs write, and by the chunk a session is writing.
class space_ledger {
 public:
  /// Reads (available, total) bytes of the file system, as statvfs does.
  using stat_fn = std::function<std::error_code(std::uint64_t& available, std::uint64_t& total)>;
  using clock = std::chrono::steady_clock;

  /// `min_free` bytes, or `min_free_percent` of the file system when not
  /// zero, are kept free; both zero turns every check off.
  space_ledger(stat_fn stat, std::uint64_t min_free, unsigned min_free_percent);

  bool enabled() const { return min_free_ != 0 || min_free_percent_ != 0; }

  /// Reserves `bytes` for content to come. Returns why not when they would
  /// eat into the reserve (nothing is reserved then).
  [[nodiscard]] std::optional<std::string> reserve(std::uint64_t bytes);
  /// `bytes` of a reservation were written: they now count as used.
  void consume(std::uint64_t bytes);
  /// Gives back the unused part of a reservation.
  void release(std::uint64_t bytes);
  /// Whether the file system still holds every reservation plus the
  /// reserve (something else may have filled it); why not otherwise.
  [[nodiscard]] std::optional<std::string> check();

  /// Bytes reserved and not yet written (for tests and logs).
  std::uint64_t reserved() const;

 private:
  // Under mu_: room left above the reserve and the reservations.
  std::optional<std::string> shortfall(std::uint64_t more);

  stat_fn stat_;
  const std::uint64_t min_free_;
  const unsigned min_free_percent_;
  mutable std::mutex mu_;
  std::uint64_t reserved_ = 0;
  std::uint64_t written_ = 0;  // since the cached statvfs figures were taken
  std::uint64_t available_ = 0;
  std::uint64_t total_ = 0;
  bool known_ = false;
  clock::time_point when_{};
};

/// Content a session has reserved in the ledger; what is left of it is
/// given back when this goes away.
class space_reservation {
 public:
  space_reservation() = default;
  space_reservation(space_ledger* ledger, std::uint64_t bytes) : ledger_(ledger), left_(bytes) {}
  space_reservation(space_reservation&& o) noexcept
      : ledger_(std::exchange(o.ledger_, nullptr)), left_(std::exchange(o.left_, 0)) {}
  space_reservation& operator=(space_reservation&& o) noexcept {
    if (this != &o) {
      reset();
      ledger_ = std::exchange(o.ledger_, nullptr);
      left_ = std::exchange(o.left_, 0);
    }
    return *this;
  }
  ~space_reservation() { reset(); }

  /// Reserves `bytes` more in `ledger`; why not, when they do not fit.
  [[nodiscard]] std::optional<std::string> extend(space_ledger& ledger, std::uint64_t bytes);
  /// `bytes` were written: they move from reserved to used (up to what is
  /// left of the reservation).
  void consume(std::uint64_t bytes);
  void reset();
  std::uint64_t left() const { return left_; }

 private:
  space_ledger* ledger_ = nullptr;
  std::uint64_t left_ = 0;
};

/// Memory a session holds for its peer: offers accepted but not yet sent,
/// and directories whose mode and mtime are applied at the end. Limited per
/// session, and drawn from the receiver-wide pool; given back when it ends.
class memory_budget {
 public:
  memory_budget(memory_pool& pool, std::uint64_t session_limit)
      : pool_(pool), limit_(session_limit) {}
  ~memory_budget() { pool_.give(used_); }
  memory_budget(const memory_budget&) = delete;
  memory_budget& operator=(const memory_budget&) = delete;

  /// Takes `n` bytes; false (nothing taken) past the session's limit or
  /// when the receiver as a whole holds its maximum.
  [[nodiscard]] bool take(std::uint64_t n);
  void give(std::uint64_t n);
  std::uint64_t used() const { return used_; }

 private:
  memory_pool& pool_;
  const std::uint64_t limit_;
  std::uint64_t used_ = 0;
};

/// Which session holds which named part file, so that a new session for
/// the same file can take over from one whose peer has gone (killed, cut
/// off) without waiting for its timeout. Keyed by the part's directory
/// (device, inode) and the final name.
class part_holders {
 public:
  struct key {
    std::uint64_t device = 0, inode = 0;
    std::string name;
    friend auto operator<=>(const key&, const key&) = default;
  };
  void claim(const key& k, std::weak_ptr<net::frame_stream> holder);
  /// Forgets `k` if `holder` still holds it (or its holder is gone).
  void release(const key& k, const std::weak_ptr<net::frame_stream>& holder);
  /// The session holding `k`, if it still runs. (A stream belongs to its
  /// session's thread: whoever takes this must let it go there.)
  std::shared_ptr<net::frame_stream> holder(const key& k) const;
  std::size_t size() const;

 private:
  mutable std::mutex mu_;
  std::map<key, std::weak_ptr<net::frame_stream>> held_;
};

/// A claim in part_holders, given up when this goes away.
class part_claim {
 public:
  part_claim() = default;
  part_claim(part_holders& h, part_holders::key k, const std::shared_ptr<net::frame_stream>& s)
      : holders_(&h), key_(std::move(k)), self_(s) {
    holders_->claim(key_, s);
  }
  part_claim(part_claim&& o) noexcept
      : holders_(std::exchange(o.holders_, nullptr)),
        key_(std::move(o.key_)),
        self_(std::move(o.self_)) {}
  part_claim& operator=(part_claim&& o) noexcept {
    if (this != &o) {
      reset();
      holders_ = std::exchange(o.holders_, nullptr);
      key_ = std::move(o.key_);
      self_ = std::move(o.self_);
    }
    return *this;
  }
  ~part_claim() { reset(); }
  void reset() {
    if (holders_ != nullptr) holders_->release(key_, self_);
    holders_ = nullptr;
  }

 private:
  part_holders* holders_ = nullptr;
  part_holders::key key_;
  std::weak_ptr<net::frame_stream> self_;
};

/// What every session of a receiver shares, built once by the server.
struct shared_budgets {
  space_ledger space;
  memory_pool memory;
  part_holders parts;
};

}  // namespace ferry::recv
