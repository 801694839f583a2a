#include "socks5/connector.hpp"

#include <asio/experimental/as_tuple.hpp>
#include <optional>

#include "net/connect.hpp"
#include "util/failure.hpp"
#include "util/units.hpp"

namespace ferry::socks5 {
namespace {

constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);
using asio::ip::tcp;

class handshake {
 public:
  handshake(const proxy_config& proxy, std::string what, std::chrono::milliseconds limit,
            const asio::any_io_executor& ex)
      : proxy_(proxy), what_(std::move(what)), limit_(limit), socket_(ex), resolver_(ex) {}

  [[noreturn]] void fail(std::error_code code, const std::string& cause) const {
    throw failure(code, step::proxy, what_ + " via " + proxy_.display() + ": " + cause);
  }

  // One deadline over every step from here to disarm().
  void arm() { deadline_.emplace(socket_, &resolver_, limit_); }
  void disarm() { deadline_.reset(); }
  bool expired() const { return deadline_ && deadline_->expired(); }

  asio::awaitable<void> open() {
    const auto result = co_await net::resolve_and_connect(resolver_, socket_, proxy_.server);
    if (expired())
      fail(errc::timed_out, result.while_resolving ? "resolving the proxy timed out"
                                                   : "cannot reach proxy: timed out");
    if (result.ec)
      fail(errc::unreachable,
           (result.while_resolving ? "cannot resolve proxy host: " : "cannot reach proxy: ") +
               result.ec.message());
  }

  asio::awaitable<void> send(const byte_buffer& msg, const char* step) {
    auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(msg), use_tuple);
    (void)n;
    if (ec) io_failure(step, ec);
  }

  // Reads exactly n more bytes into in_.
  asio::awaitable<void> read(std::size_t n, const char* step) {
    const std::size_t old = in_.size();
    in_.resize(old + n);
    auto [ec, got] =
        co_await asio::async_read(socket_, asio::buffer(in_.data() + old, n), use_tuple);
    (void)got;
    if (ec) io_failure(step, ec);
  }

  [[noreturn]] void io_failure(const char* step, const std::error_code& ec) const {
    if (expired())
      fail(errc::timed_out, std::string("proxy did not answer within ") +
                                format_duration(std::chrono::duration<double>(limit_).count()) +
                                " (" + step + ")");
    if (ec == asio::error::eof || ec == asio::error::connection_reset)
      fail(errc::closed, std::string("proxy closed the connection without a reply (") + step + ")");
    fail(ec, std::string(step) + ": " + ec.message());
  }

  // Greeting, method selection and login: the session is ready for a request.
  asio::awaitable<void> negotiate() {
    byte_buffer out;
    const bool login = !proxy_.user.empty();
    encode_greeting(login, out);
    co_await send(out, "greeting");
    in_.clear();
    co_await read(2, "method selection");
    std::uint8_t method = 0;
    if (auto ec = decode_method_selection(in_, method))
      fail(errc::bad_reply, "malformed method selection: " + ec.message());
    if (method == method_unacceptable) {
      if (login)
        fail(errc::no_method,
             "proxy accepts none of our authentication methods (no-auth, username/password)");
      fail(errc::auth_required,
           "proxy requires authentication (give user:password in the proxy URL)");
    }
    if (method == method_password) {
      if (!login) fail(errc::bad_reply, "proxy chose username/password, which we did not offer");
      out.clear();
      if (encode_login(proxy_.user, proxy_.password, out))
        fail(errc::too_long, "user name or password over 255 bytes");
      co_await send(out, "login");
      in_.clear();
      co_await read(2, "login reply");
      std::uint8_t status = 0;
      if (auto ec = decode_login_reply(in_, status))
        fail(errc::bad_reply, "malformed login reply: " + ec.message());
      if (status != 0)
        fail(errc::auth_refused,
             "authentication refused by proxy (status " + std::to_string(status) + ")");
    } else if (method != method_none) {
      fail(errc::no_method, "proxy chose unsupported method " + std::to_string(method));
    }
  }

  // Reads one reply exactly: its length follows from ATYP (and a name's
  // length byte), so no byte of the stream behind it is consumed.
  asio::awaitable<reply> read_reply(const char* step) {
    in_.clear();
    co_await read(5, step);
    std::size_t rest = 0;
    if (in_[0] != version)
      fail(errc::bad_reply, std::string("malformed reply (") + step + "): not SOCKS5");
    switch (in_[3]) {
      case 1:
        rest = 4 - 1 + 2;
        break;
      case 4:
        rest = 16 - 1 + 2;
        break;
      case 3:
        rest = std::size_t{in_[4]} + 2;
        break;
      default:
        fail(errc::bad_reply, std::string("malformed reply (") + step + "): unknown address type");
    }
    co_await read(rest, step);
    reply r;
    std::size_t used = 0;
    if (auto ec = decode_reply(in_, r, used))
      fail(errc::bad_reply, std::string("malformed reply (") + step + "): " + ec.message());
    if (r.rep != 0)
      fail(rep_error(r.rep),
           std::string(reply_message(r.rep)) + " by proxy (REP " + std::to_string(r.rep) + ")");
    co_return r;
  }

  // One request on a fresh connection: open, negotiate, send, read the
  // reply; ends the deadline. A bound address of 0.0.0.0 (or ::) means
  // "the proxy's own address" and is replaced by it.
  asio::awaitable<reply> request(command cmd, const address& dst, const std::string& name) {
    co_await open();
    co_await negotiate();
    byte_buffer req;
    if (encode_request(cmd, dst, req))
      fail(errc::too_long, cmd == command::connect
                               ? "destination name '" + dst.host + "' is over 255 bytes"
                               : "bad address '" + dst.host + "' in the " + name + " request");
    const std::string sent = name + " request", answer = name + " reply";
    co_await send(req, sent.c_str());
    reply r = co_await read_reply(answer.c_str());
    disarm();
    if (r.bound.host == "0.0.0.0" || r.bound.host == "::") {
      std::error_code ec;
      const auto ep = socket_.remote_endpoint(ec);
      if (!ec) r.bound.host = ep.address().to_string();
    }
    co_return r;
  }

  tcp::socket& socket() { return socket_; }

 private:
  const proxy_config& proxy_;
  std::string what_;
  std::chrono::milliseconds limit_;
  tcp::socket socket_;
  tcp::resolver resolver_;
  std::optional<net::deadline> deadline_;
  byte_buffer in_;
};

// socks5:// resolves the destination here and sends an address; socks5h://
// hands the name to the proxy.
asio::awaitable<address> target_for(const proxy_config& proxy, const net::host_port& dst,
                                    handshake& h) {
  if (proxy.remote_dns) co_return address{dst.host, dst.port};
  const auto ex = co_await asio::this_coro::executor;
  tcp::resolver resolver(ex);
  const std::string service = std::to_string(dst.port);
  auto [ec, eps] = co_await resolver.async_resolve(dst.host, service, use_tuple);
  if (ec || eps.empty())
    h.fail(errc::local_resolve_failed, "cannot resolve " + dst.host + " locally: " + ec.message() +
                                           " (socks5h:// lets the proxy resolve it)");
  co_return address{eps.begin()->endpoint().address().to_string(), dst.port};
}

}  // namespace

asio::awaitable<tcp::socket> connect_via(const proxy_config& proxy, const net::host_port& dst,
                                         std::chrono::milliseconds limit) {
  // No co_await in a full-expression with temporaries (GCC 12 destroys
  // them twice): fetch the executor first.
  const auto ex = co_await asio::this_coro::executor;
  handshake h(proxy, "socks5 connect to " + net::to_string(dst), limit, ex);
  h.arm();
  const address target = co_await target_for(proxy, dst, h);
  co_await h.request(command::connect, target, "connect");
  co_return std::move(h.socket());
}

asio::awaitable<bind_ticket> bind_via(const proxy_config& proxy, const address& expected,
                                      std::chrono::milliseconds limit) {
  const auto ex = co_await asio::this_coro::executor;
  handshake h(proxy, "socks5 bind", limit, ex);
  h.arm();
  const reply r = co_await h.request(command::bind, expected, "bind");
  co_return bind_ticket{std::move(h.socket()), r.bound};
}

asio::awaitable<udp_association> udp_associate_via(const proxy_config& proxy, const address& from,
                                                   std::chrono::milliseconds limit) {
  const auto ex = co_await asio::this_coro::executor;
  handshake h(proxy, "socks5 udp associate", limit, ex);
  h.arm();
  const reply r = co_await h.request(command::udp_associate, from, "udp associate");
  std::error_code ec;
  const auto relay = asio::ip::make_address(r.bound.host, ec);
  if (ec) h.fail(errc::bad_reply, "relay address '" + r.bound.host + "' is not an IP address");
  co_return udp_association{std::move(h.socket()), {relay, r.bound.port}};
}

asio::awaitable<address> await_bind_peer(bind_ticket& ticket, const proxy_config& proxy) {
  // The second reply has no deadline: it comes when a sender connects.
  byte_buffer in(5);
  auto fail = [&](std::error_code code, const std::string& cause) {
    throw failure(code, step::proxy, "socks5 bind via " + proxy.display() + ": " + cause);
  };
  auto lost = [](std::error_code ec) {
    return ec == asio::error::eof ? std::error_code(errc::closed) : ec;
  };
  auto [ec, n] = co_await asio::async_read(ticket.socket, asio::buffer(in), use_tuple);
  (void)n;
  if (ec) fail(lost(ec), "waiting for a peer: " + ec.message());
  std::size_t rest = 0;
  switch (in[3]) {
    case 1:
      rest = 5;
      break;
    case 4:
      rest = 17;
      break;
    case 3:
      rest = std::size_t{in[4]} + 2;
      break;
    default:
      fail(errc::bad_reply, "malformed second bind reply");
  }
  in.resize(5 + rest);
  auto [ec2, n2] =
      co_await asio::async_read(ticket.socket, asio::buffer(in.data() + 5, rest), use_tuple);
  (void)n2;
  if (ec2) fail(lost(ec2), "waiting for a peer: " + ec2.message());
  reply r;
  std::size_t used = 0;
  if (auto dec = decode_reply(in, r, used))
    fail(errc::bad_reply, "malformed second bind reply: " + dec.message());
  if (r.rep != 0)
    fail(rep_error(r.rep),
         std::string(reply_message(r.rep)) + " by proxy (REP " + std::to_string(r.rep) + ")");
  co_return r.bound;
}

}  // namespace ferry::socks5
