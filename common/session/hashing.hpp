// What both sessions share: hashing a large file (a resume's kept prefix,
// --skip-identical) while the peer is told we are busy, not gone.
#pragma once

#include <asio.hpp>
#include <cstdint>
#include <functional>
#include <system_error>

#include "fileio/hash.hpp"
#include "net/frame_stream.hpp"

namespace ferry::session {

/// Feeds `length` bytes of the file `fd` from `offset` on into `h`, a
/// fileio::hash_slice at a time run on `where` (a disk pool, or the
/// stream's own executor), with stream.keep_alive() between slices: a
/// large file can take longer to hash than the peer waits in silence.
/// `hashed`, when set, hears of each slice (a progress display).
asio::awaitable<std::error_code> hash_keeping_alive(net::frame_stream& stream,
                                                    asio::any_io_executor where, int fd,
                                                    std::uint64_t offset, std::uint64_t length,
                                                    fileio::hasher& h,
                                                    std::function<void(std::uint64_t)> hashed = {});

}  // namespace ferry::session
