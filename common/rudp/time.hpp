// Time as the reliable-UDP core sees it: microseconds on a monotonic clock
// whose origin the caller chooses (the Asio driver: steady_clock; the tests:
// a virtual clock). The core never reads a clock itself.
#pragma once

#include <chrono>
#include <cstdint>

namespace ferry::rudp {

using duration = std::chrono::microseconds;
/// A point in time as a duration since the caller's origin.
using time_point = std::chrono::microseconds;

inline constexpr time_point never = time_point::max();

using namespace std::chrono_literals;

}  // namespace ferry::rudp
