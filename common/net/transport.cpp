#include "net/transport.hpp"

#include <array>
#include <asio/experimental/as_tuple.hpp>

#include "net/address.hpp"

namespace ferry::net {
namespace {
constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);
}  // namespace

tcp_transport::tcp_transport(asio::ip::tcp::socket socket) : socket_(std::move(socket)) {
  std::error_code ec;
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
}

asio::awaitable<io_result> tcp_transport::read_some(std::span<std::uint8_t> out) {
  auto [ec, n] = co_await socket_.async_read_some(asio::buffer(out.data(), out.size()), use_tuple);
  co_return io_result{ec, n};
}

asio::awaitable<io_result> tcp_transport::write_some(std::span<const std::uint8_t> a,
                                                     std::span<const std::uint8_t> b) {
  const std::array<asio::const_buffer, 2> bufs{asio::buffer(a.data(), a.size()),
                                               asio::buffer(b.data(), b.size())};
  auto [ec, n] = co_await socket_.async_write_some(bufs, use_tuple);
  co_return io_result{ec, n};
}

void tcp_transport::shutdown_send() {
  std::error_code ignored;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
}

void tcp_transport::close() {
  std::error_code ignored;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
}

std::string tcp_transport::remote() const {
  std::error_code ec;
  const auto ep = socket_.remote_endpoint(ec);
  if (ec) return "unknown peer";
  return to_string(ep);
}

}  // namespace ferry::net
