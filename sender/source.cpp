#include "sender/source.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <asio/experimental/as_tuple.hpp>
#include <cerrno>

#include "fileio/errors.hpp"

namespace ferry::send {
namespace {

constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);
constexpr std::size_t chunk_size = 1 << 20;

std::error_code last_error() {
  return {errno, std::system_category()};
}

}  // namespace

std::error_code content_source::open(const fileio::source_entry& e) {
  stdin_ = e.local_path.empty();
  fd_.reset(stdin_ ? ::dup(STDIN_FILENO) : ::open(e.local_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd_) return last_error();
  size_ = e.size;
  size_known_ = e.size_known;
  struct stat st {};
  if (::fstat(fd_.get(), &st) != 0) return {};  // read() may still work
  regular_ = S_ISREG(st.st_mode) && static_cast<std::uint64_t>(st.st_size) == e.size;
  if (stdin_ && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)))
    pipe_.emplace(ex_, ::dup(fd_.get()));
  return {};
}

bool content_source::fits_inline(std::uint64_t offset, std::uint64_t inline_max) const {
  return regular_ && size_known_ && size_ <= inline_max && offset == 0;
}

// One byte more than expected is asked for, so a file that grew is
// noticed; a short read of a regular file is its end.
std::error_code content_source::read_whole(std::span<const std::uint8_t>& out) {
  const auto size = static_cast<std::size_t>(size_);
  if (buf_.size() < size + 1) buf_.resize(size + 1);
  std::size_t got = 0;
  while (got <= size) {
    const std::size_t want = size + 1 - got;
    const ssize_t n = ::pread(fd_.get(), buf_.data() + got, want, static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return last_error();
    got += static_cast<std::size_t>(n);
    if (static_cast<std::size_t>(n) < want) break;
  }
  if (got != size) return got < size ? fileio::errc::shrank : fileio::errc::grew;
  out = {buf_.data(), size};
  return {};
}

std::error_code content_source::stream_from(std::uint64_t pos) {
  ::posix_fadvise(fd_.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  if (buf_.size() < chunk_size) buf_.resize(chunk_size);
  if (pos > 0 && ::lseek(fd_.get(), static_cast<off_t>(pos), SEEK_SET) < 0) return last_error();
  return {};
}

// Content is read into our buffer, never mapped: the TLS cipher reading a
// mapping of a file that shrinks would take SIGBUS, and the copy costs
// little beside the encryption.
asio::awaitable<std::int64_t> content_source::next(std::uint64_t, std::uint64_t want,
                                                   std::span<const std::uint8_t>& out) {
  const auto n = co_await read_some(want);
  if (n > 0) out = {buf_.data(), static_cast<std::size_t>(n)};
  co_return n;
}

// Regular files are read directly (they never block for long); a pipe or
// socket on stdin through the event loop.
asio::awaitable<std::int64_t> content_source::read_some(std::uint64_t want) {
  const auto n_want = static_cast<std::size_t>(std::min<std::uint64_t>(want, buf_.size()));
  if (pipe_) {
    auto [ec, n] = co_await pipe_->async_read_some(asio::buffer(buf_.data(), n_want), use_tuple);
    if (ec == asio::error::eof) co_return 0;
    if (ec) {
      errno = ec.value();
      co_return -1;
    }
    co_return static_cast<std::int64_t>(n);
  }
  while (true) {
    const auto n = ::read(fd_.get(), buf_.data(), n_want);
    if (n < 0 && errno == EINTR) continue;
    co_return n;
  }
}

void content_source::cancel() {
  if (pipe_) pipe_->close();
}

}  // namespace ferry::send
