#include "link/dial.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "link/udp_dial.hpp"
#include "net/connect.hpp"
#include "net/errors.hpp"
#include "socks5/connector.hpp"
#include "socks5/errors.hpp"
#include "util/failure.hpp"
#include "util/units.hpp"

namespace ferry::link {
namespace {

// Connects to the first reachable address of host:port within `limit`.
asio::awaitable<asio::ip::tcp::socket> connect_direct(const net::host_port& dest,
                                                      std::chrono::milliseconds limit) {
  const auto ex = co_await asio::this_coro::executor;
  const std::string where = "connect to " + net::to_string(dest);
  asio::ip::tcp::resolver resolver(ex);
  asio::ip::tcp::socket socket(ex);
  net::deadline deadline(socket, &resolver, limit);
  const auto result = co_await net::resolve_and_connect(resolver, socket, dest);
  const step at = result.while_resolving ? step::resolve : step::connect;
  if (deadline.expired())
    throw failure(
        net::errc::timed_out, at,
        where + (result.while_resolving
                     ? ": name resolution timed out"
                     : ": timed out after " +
                           format_duration(std::chrono::duration<double>(limit).count())));
  if (result.ec)
    throw failure(
        result.ec, at,
        where + (result.while_resolving ? ": cannot resolve host: " : ": ") + result.ec.message());
  co_return socket;
}

asio::awaitable<std::unique_ptr<net::transport>> dial_tcp(const dial_plan& plan) {
  // (No co_await inside a conditional expression: GCC 12 miscompiles it.)
  std::optional<asio::ip::tcp::socket> socket;
  if (plan.via)
    socket.emplace(co_await socks5::connect_via(*plan.via, plan.dest, plan.connect_timeout));
  else
    socket.emplace(co_await connect_direct(plan.dest, plan.connect_timeout));
  const auto& cc = plan.tcp_congestion;
  if (!cc.empty() && ::setsockopt(socket->native_handle(), IPPROTO_TCP, TCP_CONGESTION, cc.data(),
                                  static_cast<socklen_t>(cc.size())) != 0)
    throw failure(std::error_code(errno, std::system_category()), step::configure,
                  "--tcp-congestion " + cc + ": " + std::strerror(errno));
  // --rate: the kernel paces the connection too (TCP's own pacing; fq is
  // not needed), headers and TLS included; where it is refused, the
  // sender's own pacing of its writes still holds the cap.
  if (plan.rate_cap != 0) {
    const std::uint64_t rate = plan.rate_cap;
    ::setsockopt(socket->native_handle(), SOL_SOCKET, SO_MAX_PACING_RATE, &rate, sizeof rate);
  }
  std::unique_ptr<net::transport> t = std::make_unique<net::tcp_transport>(std::move(*socket));
  co_return t;
}

}  // namespace

// A proxy without UDP (REP 7: command not supported, or 2: not allowed by
// its rules) means TCP, unless the plan is strict.
asio::awaitable<dialed> dial(const dial_plan& plan) {
  dialed out;
  if (plan.udp) {
    try {
      out.transport = co_await dial_udp(plan);
      co_return out;
    } catch (const failure& e) {
      const bool no_udp =
          e.code() == socks5::errc::command_not_supported || e.code() == socks5::errc::not_allowed;
      if (plan.udp_strict || !no_udp) throw;
      out.notice = e.message() + "; falling back to TCP (--udp=strict fails instead)";
    }
  }
  out.transport = co_await dial_tcp(plan);
  co_return out;
}

}  // namespace ferry::link
