#include "net/connect.hpp"

#include <asio/experimental/as_tuple.hpp>
#include <string>

namespace ferry::net {

deadline::deadline(asio::ip::tcp::socket& socket, asio::ip::tcp::resolver* resolver,
                   std::chrono::milliseconds limit)
    : state_(std::make_shared<state>()), timer_(socket.get_executor(), limit) {
  state_->socket = &socket;
  state_->resolver = resolver;
  timer_.async_wait([s = state_](const std::error_code& ec) {
    if (ec || s->finished) return;
    s->expired = true;
    if (s->resolver != nullptr) s->resolver->cancel();
    std::error_code ignored;
    s->socket->close(ignored);
  });
}

void deadline::disarm() {
  state_->finished = true;
  timer_.cancel();
}

asio::awaitable<connect_error> resolve_and_connect(asio::ip::tcp::resolver& resolver,
                                                   asio::ip::tcp::socket& socket,
                                                   const host_port& where) {
  constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);
  const std::string service = std::to_string(where.port);
  auto [rec, endpoints] = co_await resolver.async_resolve(where.host, service, use_tuple);
  if (rec) co_return connect_error{rec, true};
  auto [cec, ep] = co_await asio::async_connect(socket, endpoints, use_tuple);
  (void)ep;
  if (!cec) {
    std::error_code ignored;
    socket.set_option(asio::ip::tcp::no_delay(true), ignored);
  }
  co_return connect_error{cec, false};
}

}  // namespace ferry::net
