// Where a file's content comes from, for the sender's session: a small
// regular file read whole (it travels with its frames), read() in chunks
// for other regular files (never mapped: see next()), and stdin, through
// the event loop when it is a pipe or socket, so that signals and the
// watchdog are served while it waits.
#pragma once

#include <asio.hpp>
#include <cstdint>
#include <optional>
#include <span>
#include <system_error>
#include <vector>

#include "fileio/fd.hpp"
#include "fileio/tree.hpp"

namespace ferry::send {

class content_source {
 public:
  /// `buf`: scratch memory for reads, the session's, kept from file to file.
  content_source(asio::any_io_executor ex, std::vector<std::uint8_t>& buf)
      : ex_(std::move(ex)), buf_(buf) {}

  /// Opens the entry's file, or stdin when it has no local path.
  std::error_code open(const fileio::source_entry& e);
  /// Whether the whole content should be read now and go inline: a small
  /// regular file of the offered size, sent from its start.
  bool fits_inline(std::uint64_t offset, std::uint64_t inline_max) const;
  /// Reads the whole small file (it must still be `size` bytes:
  /// fileio::errc::shrank or grew otherwise).
  std::error_code read_whole(std::span<const std::uint8_t>& out);

  /// Streams from `pos` on (after a resume's prefix was hashed).
  std::error_code stream_from(std::uint64_t pos);
  /// Up to `want` bytes at `pos` (the position after the previous call):
  /// the count, 0 at the end, -1 with errno on failure. `out` stays valid
  /// until the next call.
  asio::awaitable<std::int64_t> next(std::uint64_t pos, std::uint64_t want,
                                     std::span<const std::uint8_t>& out);

  int fd() const { return fd_.get(); }
  /// Wakes a read waiting on a pipe (it fails); the session is over.
  void cancel();

 private:
  asio::awaitable<std::int64_t> read_some(std::uint64_t want);

  asio::any_io_executor ex_;
  fileio::unique_fd fd_;
  bool regular_ = false;
  bool stdin_ = false;
  std::uint64_t size_ = 0;  // the offered size (when known)
  bool size_known_ = true;
  std::vector<std::uint8_t>& buf_;
  std::optional<asio::posix::stream_descriptor> pipe_;  // stdin when it is a pipe
};

}  // namespace ferry::send
