// Content compression for --compress: each segment is one zstd frame of its
// own (a resume or a lost session never needs an earlier one), sent only
// when it saves. Pure: no I/O, no clock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace ferry::session {

/// Levels --compress-level takes (zstd's; 1 is fastest).
inline constexpr int min_compress_level = 1;
inline constexpr int max_compress_level = 19;

/// The sender's half. Data that does not compress (already compressed
/// media, archives, random bytes) is detected per file and then probed
/// less and less often, so it costs little more than sending it raw.
class compressor {
 public:
  explicit compressor(int level);
  ~compressor();
  compressor(const compressor&) = delete;
  compressor& operator=(const compressor&) = delete;

  /// A new file starts: forget what the last one was like.
  void start_file() {
    skip_ = 0;
    backoff_ = 0;
  }
  /// The zstd frame for `raw`, when it is worth sending instead (it saves
  /// at least 1/64 of the bytes); empty when `raw` should go as it is. The
  /// span stays valid until the next call.
  std::span<const std::uint8_t> compress(std::span<const std::uint8_t> raw);

 private:
  struct state;
  std::unique_ptr<state> s_;
  unsigned skip_ = 0;     // segments still to send raw without trying
  unsigned backoff_ = 0;  // how many to skip after the next failure
};

/// The receiver's half. Memory is bounded by `max_length` (the output
/// buffer) and zstd's fixed context, whatever the peer sends.
class decompressor {
 public:
  explicit decompressor(std::size_t max_length);
  ~decompressor();
  decompressor(const decompressor&) = delete;
  decompressor& operator=(const decompressor&) = delete;

  /// Decompresses `z`, which must be exactly one zstd frame giving exactly
  /// `length` (<= max_length) bytes. On success `out` views them (valid
  /// until the next call) and the result is empty; otherwise it says what
  /// was wrong.
  std::string decompress(std::span<const std::uint8_t> z, std::size_t length,
                         std::span<const std::uint8_t>& out);

 private:
  struct state;
  std::unique_ptr<state> s_;
};

}  // namespace ferry::session
