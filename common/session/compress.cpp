#include "session/compress.hpp"

#include <zstd.h>

#include <algorithm>
#include <new>
#include <stdexcept>
#include <vector>

namespace ferry::session {

namespace {
// After a segment that did not compress, skip 1, 2, 4, ... up to this many
// before trying again: a 1 GiB random file is tried about 40 times, not
// 1024, and a file that turns compressible is noticed within 32 MiB.
constexpr unsigned max_backoff = 32;
}  // namespace

struct compressor::state {
  ZSTD_CCtx* ctx = nullptr;
  std::vector<std::uint8_t> out;
  ~state() { ZSTD_freeCCtx(ctx); }
};

compressor::compressor(int level) : s_(std::make_unique<state>()) {
  s_->ctx = ZSTD_createCCtx();
  if (s_->ctx == nullptr) throw std::bad_alloc();
  ZSTD_CCtx_setParameter(s_->ctx, ZSTD_c_compressionLevel,
                         std::clamp(level, min_compress_level, max_compress_level));
  ZSTD_CCtx_setParameter(s_->ctx, ZSTD_c_windowLog, compress_window_log);
  // The receiver knows each segment's length from DATA_Z; no checksum
  // either: TLS and each file's XXH3-128 already guard the bytes.
  ZSTD_CCtx_setParameter(s_->ctx, ZSTD_c_contentSizeFlag, 0);
  ZSTD_CCtx_setParameter(s_->ctx, ZSTD_c_checksumFlag, 0);
}

compressor::~compressor() = default;

std::span<const std::uint8_t> compressor::compress(std::span<const std::uint8_t> raw) {
  if (raw.size() < 64) return {};
  if (skip_ > 0) {
    --skip_;
    return {};
  }
  // Flushed whole: the output grows past compressBound only by the frame
  // header, once.
  s_->out.resize(ZSTD_compressBound(raw.size()) + 32);  // + the frame header (at most 18)
  ZSTD_inBuffer in{raw.data(), raw.size(), 0};
  ZSTD_outBuffer out{s_->out.data(), s_->out.size(), 0};
  while (true) {
    const std::size_t left = ZSTD_compressStream2(s_->ctx, &out, &in, ZSTD_e_flush);
    if (ZSTD_isError(left)) throw std::runtime_error(ZSTD_getErrorName(left));
    if (left == 0) break;
    if (out.pos == out.size) {  // (not expected: the buffer is the bound)
      s_->out.resize(s_->out.size() * 2);
      out.dst = s_->out.data();
      out.size = s_->out.size();
    }
  }
  if (out.pos <= raw.size() - raw.size() / 64) {
    backoff_ = 0;
  } else {
    backoff_ = std::min(max_backoff, backoff_ == 0 ? 1 : backoff_ * 2);
    skip_ = backoff_;
  }
  return {s_->out.data(), out.pos};
}

struct decompressor::state {
  ZSTD_DCtx* ctx = nullptr;
  std::vector<std::uint8_t> out;
  bool started = false;
  ~state() { ZSTD_freeDCtx(ctx); }
};

decompressor::decompressor(std::size_t max_length) : s_(std::make_unique<state>()) {
  s_->ctx = ZSTD_createDCtx();
  if (s_->ctx == nullptr) throw std::bad_alloc();
  // A frame asking for a larger window is refused: that is the memory cap.
  ZSTD_DCtx_setParameter(s_->ctx, ZSTD_d_windowLogMax, compress_window_log);
  s_->out.resize(max_length);
}

decompressor::~decompressor() = default;

std::string decompressor::decompress(std::span<const std::uint8_t> z, std::size_t length,
                                     std::span<const std::uint8_t>& out) {
  if (length > s_->out.size()) return "a segment longer than the limit";
  // The stream is one frame of today's format: never a skippable frame or
  // one of the legacy formats libzstd can still read (their decoders need
  // not face the network), and it never ends within a session, so no
  // second frame can start.
  if (!s_->started) {
    const std::uint32_t magic = z.size() < 4 ? 0
                                             : static_cast<std::uint32_t>(z[0]) |
                                                   static_cast<std::uint32_t>(z[1]) << 8 |
                                                   static_cast<std::uint32_t>(z[2]) << 16 |
                                                   static_cast<std::uint32_t>(z[3]) << 24;
    if (magic != ZSTD_MAGICNUMBER) return "not a zstd frame";
    s_->started = true;
  }
  ZSTD_inBuffer in{z.data(), z.size(), 0};
  ZSTD_outBuffer o{s_->out.data(), length, 0};
  while (in.pos < in.size) {
    const std::size_t before_in = in.pos, before_out = o.pos;
    const std::size_t ret = ZSTD_decompressStream(s_->ctx, &o, &in);
    if (ZSTD_isError(ret)) return std::string("zstd: ") + ZSTD_getErrorName(ret);
    if (ret == 0) return "the compressed stream ended within the session";
    if (in.pos == before_in && o.pos == before_out)
      return "more than the " + std::to_string(length) + " bytes announced";
  }
  // Whatever the segment decoded must be out now: a byte still held back
  // would belong to it and make it longer than announced.
  std::uint8_t extra = 0;
  ZSTD_inBuffer none{nullptr, 0, 0};
  ZSTD_outBuffer spare{&extra, 1, 0};
  const std::size_t ret = ZSTD_decompressStream(s_->ctx, &spare, &none);
  if (ZSTD_isError(ret)) return std::string("zstd: ") + ZSTD_getErrorName(ret);
  if (spare.pos != 0 || o.pos != length)
    return "decoded to " + std::string(spare.pos != 0 ? "more" : std::to_string(o.pos)) +
           " bytes, not the " + std::to_string(length) + " announced";
  out = {s_->out.data(), o.pos};
  return {};
}

}  // namespace ferry::session
