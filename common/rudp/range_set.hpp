// A set of disjoint half-open ranges [begin, end) of 64-bit numbers, kept
// merged and sorted. The reliable-UDP core uses it for received packet
// numbers (ack tracking), acknowledged and to-be-resent stream bytes (send
// buffer) and stream bytes received out of order (reorder buffer).
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <map>

namespace ferry::rudp {

class range_set {
 public:
  using map_type = std::map<std::uint64_t, std::uint64_t>;  // begin -> end
  using const_iterator = map_type::const_iterator;

  /// Adds [begin, end), merging with neighbours. Returns how many of its
  /// numbers were not in the set before.
  std::uint64_t insert(std::uint64_t begin, std::uint64_t end) {
    if (begin >= end) return 0;
    std::uint64_t covered = 0;
    auto it = r_.upper_bound(begin);
    if (it != r_.begin()) {
      auto prev = std::prev(it);
      if (prev->second >= begin) it = prev;
    }
    std::uint64_t nb = begin, ne = end;
    while (it != r_.end() && it->first <= ne) {
      const std::uint64_t ob = it->first, oe = it->second;
      const std::uint64_t lo = ob > begin ? ob : begin;
      const std::uint64_t hi = oe < end ? oe : end;
      if (hi > lo) covered += hi - lo;
      if (ob < nb) nb = ob;
      if (oe > ne) ne = oe;
      it = r_.erase(it);
    }
    r_.emplace(nb, ne);
    return (end - begin) - covered;
  }

  /// Removes [begin, end) from the set.
  void erase(std::uint64_t begin, std::uint64_t end) {
    if (begin >= end) return;
    auto it = r_.upper_bound(begin);
    if (it != r_.begin()) {
      auto prev = std::prev(it);
      if (prev->second > begin) it = prev;
    }
    while (it != r_.end() && it->first < end) {
      const std::uint64_t ob = it->first, oe = it->second;
      it = r_.erase(it);
      if (ob < begin) r_.emplace(ob, begin);
      if (oe > end) {
        r_.emplace(end, oe);
        break;
      }
    }
  }

  bool contains(std::uint64_t v) const {
    auto it = r_.upper_bound(v);
    if (it == r_.begin()) return false;
    return std::prev(it)->second > v;
  }

  /// True when every number of [begin, end) is in the set.
  bool covers(std::uint64_t begin, std::uint64_t end) const {
    if (begin >= end) return true;
    auto it = r_.upper_bound(begin);
    if (it == r_.begin()) return false;
    --it;
    return it->first <= begin && it->second >= end;
  }

  /// Drops every range ending at or below `floor` and trims one that spans it.
  void erase_below(std::uint64_t floor) {
    while (!r_.empty() && r_.begin()->first < floor) {
      auto it = r_.begin();
      const std::uint64_t e = it->second;
      r_.erase(it);
      if (e > floor) {
        r_.emplace(floor, e);
        break;
      }
    }
  }

  /// Drops the lowest range (to bound memory).
  void pop_front() { r_.erase(r_.begin()); }

  bool empty() const { return r_.empty(); }
  std::size_t size() const { return r_.size(); }
  const_iterator begin() const { return r_.begin(); }
  const_iterator end() const { return r_.end(); }
  /// Lowest range; the set must not be empty.
  std::pair<std::uint64_t, std::uint64_t> front() const { return *r_.begin(); }
  /// Highest range; the set must not be empty.
  std::pair<std::uint64_t, std::uint64_t> back() const { return *r_.rbegin(); }
  void clear() { r_.clear(); }

 private:
  map_type r_;
};

}  // namespace ferry::rudp
