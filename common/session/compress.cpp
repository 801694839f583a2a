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
  // The receiver knows the length from DATA_Z; no checksum either: TLS
  // and the whole file's XXH3-128 already guard the bytes.
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
  const std::size_t bound = ZSTD_compressBound(raw.size());
  if (s_->out.size() < bound) s_->out.resize(bound);
  const std::size_t n =
      ZSTD_compress2(s_->ctx, s_->out.data(), s_->out.size(), raw.data(), raw.size());
  if (!ZSTD_isError(n) && n <= raw.size() - raw.size() / 64) {
    backoff_ = 0;
    return {s_->out.data(), n};
  }
  backoff_ = std::min(max_backoff, backoff_ == 0 ? 1 : backoff_ * 2);
  skip_ = backoff_;
  return {};
}

struct decompressor::state {
  ZSTD_DCtx* ctx = nullptr;
  std::vector<std::uint8_t> out;
  ~state() { ZSTD_freeDCtx(ctx); }
};

decompressor::decompressor(std::size_t max_length) : s_(std::make_unique<state>()) {
  s_->ctx = ZSTD_createDCtx();
  if (s_->ctx == nullptr) throw std::bad_alloc();
  s_->out.resize(max_length);
}

decompressor::~decompressor() = default;

std::string decompressor::decompress(std::span<const std::uint8_t> z, std::size_t length,
                                     std::span<const std::uint8_t>& out) {
  if (length > s_->out.size()) return "a segment longer than the limit";
  // Exactly one frame of today's format, as ferry-send makes: no skippable
  // frames, no concatenation, and none of the legacy formats libzstd can
  // still read (their decoders need not face the network).
  const std::uint32_t magic = z.size() < 4 ? 0
                                           : static_cast<std::uint32_t>(z[0]) |
                                                 static_cast<std::uint32_t>(z[1]) << 8 |
                                                 static_cast<std::uint32_t>(z[2]) << 16 |
                                                 static_cast<std::uint32_t>(z[3]) << 24;
  if (magic != ZSTD_MAGICNUMBER) return "not a zstd frame";
  if (ZSTD_findFrameCompressedSize(z.data(), z.size()) != z.size())
    return "not exactly one zstd frame";
  // One pass into a buffer of exactly `length`: more output is an error
  // (dstSize_tooSmall), so a frame that inflates without end stops there.
  const std::size_t n = ZSTD_decompressDCtx(s_->ctx, s_->out.data(), length, z.data(), z.size());
  if (ZSTD_isError(n)) return std::string("zstd: ") + ZSTD_getErrorName(n);
  if (n != length)
    return "decompressed to " + std::to_string(n) + " bytes, not the " + std::to_string(length) +
           " announced";
  out = {s_->out.data(), n};
  return {};
}

}  // namespace ferry::session
