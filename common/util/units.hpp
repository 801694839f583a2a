// Human-readable sizes and rates, and parsing of size options ("10G").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ferry {

/// "1.5 MiB", "512 B".
std::string format_bytes(std::uint64_t bytes);
/// "123.4 MB/s" (decimal, as network tools print).
std::string format_rate(double bytes_per_second);
/// "1m05s", "12s".
std::string format_duration(double seconds);

/// Parses "123", "10K", "5M", "2G", "1T" (binary multiples, optional "iB"/"B").
std::optional<std::uint64_t> parse_size(std::string_view text);

/// Parses a rate in bits per second: "800", "200K", "200M", "1.5G"
/// (decimal multiples, as network rates go; optional "bit", "bps" or "b/s").
std::optional<std::uint64_t> parse_rate(std::string_view text);

/// Parses a duration in seconds: "30", "2.5", "500ms", "10s", "2m".
std::optional<double> parse_seconds(std::string_view text);

}  // namespace ferry
