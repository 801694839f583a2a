// Content compression for --compress. The DATA_Z segments of a session, in
// order, are one zstd frame that never ends: each segment is compressed
// with what came before as history (up to a 1 MiB window, as a stream
// compressor such as rsync -z does) and flushed, so it decodes whole on
// arrival. Segments sent raw (DATA) are not part of the stream. Pure: no
// I/O, no clock.
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
/// The stream's window, the history both sides keep: 2^20 bytes.
inline constexpr int compress_window_log = 20;

/// The sender's half. Data that does not compress (already compressed
/// media, archives, random bytes) is detected per file and then tried less
/// and less often, so it costs little more than sending it raw.
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
  /// Either empty: send `raw` as it is (DATA), the stream untouched; or
  /// `raw` compressed into the stream, which must then be sent (DATA_Z),
  /// even when it did not shrink: the receiver's history must match ours.
  /// The span stays valid until the next call.
  std::span<const std::uint8_t> compress(std::span<const std::uint8_t> raw);

 private:
  struct state;
  std::unique_ptr<state> s_;
  unsigned skip_ = 0;     // segments still to send raw without trying
  unsigned backoff_ = 0;  // how many to skip after the next failure
};

/// The receiver's half. Memory is bounded by `max_length` (the output
/// buffer) and the 1 MiB window, whatever the peer sends.
class decompressor {
 public:
  explicit decompressor(std::size_t max_length);
  ~decompressor();
  decompressor(const decompressor&) = delete;
  decompressor& operator=(const decompressor&) = delete;

  /// Decodes the next segment of the stream, `z`, which must give exactly
  /// `length` (<= max_length) bytes. On success `out` views them (valid
  /// until the next call) and the result is empty; otherwise it says what
  /// was wrong, and the stream cannot go on.
  std::string decompress(std::span<const std::uint8_t> z, std::size_t length,
                         std::span<const std::uint8_t>& out);

 private:
  struct state;
  std::unique_ptr<state> s_;
};

}  // namespace ferry::session
