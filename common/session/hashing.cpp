#include "session/hashing.hpp"

namespace ferry::session {

asio::awaitable<std::error_code> hash_keeping_alive(net::frame_stream& stream,
                                                    asio::any_io_executor where, int fd,
                                                    std::uint64_t offset, std::uint64_t length,
                                                    fileio::hasher& h,
                                                    std::function<void(std::uint64_t)> hashed) {
  for (std::uint64_t off = 0; off < length; off += fileio::hash_slice) {
    const std::uint64_t n = std::min(fileio::hash_slice, length - off);
    const std::uint64_t at = offset + off;
    const std::error_code ec = co_await asio::co_spawn(
        where,
        [fd, at, n, &h]() -> asio::awaitable<std::error_code> {
          co_return fileio::hash_file_range(fd, at, n, h);
        },
        asio::use_awaitable);
    if (ec) co_return ec;
    if (hashed) hashed(n);
    co_await stream.keep_alive();
  }
  co_return std::error_code{};
}

}  // namespace ferry::session
