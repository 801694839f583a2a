// The link layer in process, over real loopback sockets: classify() as a
// table, and dial()/listener's failures as error values (code and step),
// never as message text.
#include <gtest/gtest.h>

#include <asio.hpp>
#include <chrono>
#include <optional>

#include "fileio/errors.hpp"
#include "framing/error.hpp"
#include "link/classify.hpp"
#include "link/dial.hpp"
#include "link/listen.hpp"
#include "net/errors.hpp"
#include "rudp/error.hpp"
#include "socks5/codec.hpp"
#include "socks5/errors.hpp"

namespace ferry::link {
namespace {

using namespace std::chrono_literals;

TEST(Classify, EachLayerAndStepGivesItsExitCode) {
  struct row {
    std::error_code code;
    step at;
    exit_code want;
  };
  const row table[] = {
      {std::make_error_code(std::errc::connection_refused), step::connect, exit_code::connect},
      {asio::error::host_not_found, step::resolve, exit_code::connect},
      {std::make_error_code(std::errc::connection_reset), step::transfer, exit_code::connect},
      {std::make_error_code(std::errc::address_in_use), step::listen, exit_code::connect},
      {net::errc::closed, step::handshake, exit_code::connect},
      {net::errc::idle_timeout, step::transfer, exit_code::timeout},
      {net::errc::deadline, step::handshake, exit_code::timeout},
      {net::errc::timed_out, step::connect, exit_code::timeout},
      {net::errc::not_an_address, step::listen, exit_code::usage},
      {std::make_error_code(std::errc::no_such_file_or_directory), step::configure,
       exit_code::usage},
      {socks5::errc::too_long, step::configure, exit_code::usage},
      {socks5::rep_error(1), step::proxy, exit_code::proxy},
      {socks5::errc::command_not_supported, step::proxy, exit_code::proxy},
      {socks5::errc::unreachable, step::proxy, exit_code::proxy},
      {socks5::error::bad_version, step::proxy, exit_code::proxy},
      {std::make_error_code(std::errc::connection_reset), step::proxy, exit_code::proxy},
      {framing::error::bad_magic, step::handshake, exit_code::protocol},
      {framing::error::malformed, step::transfer, exit_code::protocol},
      {rudp::error::version_mismatch, step::handshake, exit_code::protocol},
      {rudp::error::handshake_timeout, step::handshake, exit_code::timeout},
      {rudp::error::peer_timeout, step::transfer, exit_code::connect},
      {rudp::error::protocol_violation, step::transfer, exit_code::protocol},
      {rudp::error::protocol_violation, step::handshake, exit_code::protocol},
      {rudp::error::flow_control, step::transfer, exit_code::protocol},
      {rudp::error::peer_closed, step::transfer, exit_code::connect},
      {rudp::error::proxy_closed, step::transfer, exit_code::connect},
      {fileio::errc::shrank, step::local, exit_code::local_io},
      {net::errc::source_fault, step::transfer, exit_code::local_io},
      {std::make_error_code(std::errc::permission_denied), step::local, exit_code::local_io},
  };
  for (const auto& r : table)
    EXPECT_EQ(classify(r.code, r.at), r.want)
        << r.code.category().name() << " " << r.code.value() << " at " << to_string(r.at);
}

// Runs `body` on `io` until it ends (at most 20 s); rethrows its exception.
template <class F>
void run(asio::io_context& io, F body) {
  bool done = false;
  std::exception_ptr failed;
  asio::co_spawn(io, body(), [&](std::exception_ptr e) {
    failed = e;
    done = true;
  });
  const auto until = std::chrono::steady_clock::now() + 20s;
  while (!done && std::chrono::steady_clock::now() < until)
    io.run_one_for(100ms);
  ASSERT_TRUE(done) << "did not finish within 20 s";
  if (failed) std::rethrow_exception(failed);
}

// A loopback port where nothing listens (TCP or UDP): bound, then closed.
std::uint16_t free_port() {
  asio::io_context io;
  asio::ip::tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();
}

// Dials `plan`; returns the failure it ended with (none when it connected).
std::optional<failure> dial_failure(asio::io_context& io, const dial_plan& plan) {
  std::optional<failure> out;
  run(io, [&]() -> asio::awaitable<void> {
    try {
      auto d = co_await dial(plan);
      d.transport->close();
    } catch (const failure& f) {
      out = f;
    }
  });
  return out;
}

TEST(Dial, TcpToAClosedPortIsRefusedAtConnect) {
  asio::io_context io;
  dial_plan plan;
  plan.dest = {"127.0.0.1", free_port()};
  const auto f = dial_failure(io, plan);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->code(), asio::error::connection_refused);
  EXPECT_EQ(f->step(), step::connect);
  EXPECT_EQ(classify(*f), exit_code::connect);
}

TEST(Dial, UdpToAClosedPortIsRefusedAtConnect) {
  asio::io_context io;
  dial_plan plan;
  plan.dest = {"127.0.0.1", free_port()};
  plan.udp = true;
  plan.connect_timeout = 5s;
  const auto f = dial_failure(io, plan);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->code(), asio::error::connection_refused);
  EXPECT_EQ(f->step(), step::connect);
}

TEST(Dial, AProxyThatIsNotThereIsAProxyFailure) {
  asio::io_context io;
  dial_plan plan;
  plan.dest = {"127.0.0.1", 7070};
  plan.via = proxy{};
  plan.via->server = {"127.0.0.1", free_port()};
  for (const bool udp : {false, true}) {
    plan.udp = udp;
    const auto f = dial_failure(io, plan);
    ASSERT_TRUE(f);
    EXPECT_EQ(f->code(), socks5::errc::unreachable) << "udp " << udp;
    EXPECT_EQ(f->step(), step::proxy);
    EXPECT_EQ(classify(*f), exit_code::proxy);
  }
}

TEST(Dial, AnUnknownCongestionControlIsAUsageError) {
  asio::io_context io;
  asio::ip::tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
  dial_plan plan;
  plan.dest = {"127.0.0.1", a.local_endpoint().port()};
  plan.tcp_congestion = "no-such-algorithm";
  const auto f = dial_failure(io, plan);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->step(), step::configure);
  EXPECT_EQ(classify(*f), exit_code::usage);
}

// One SOCKS5 request from `s` (no login, an IPv4 target, as dial() sends
// for 127.0.0.1) answered with `rep`; returns the command.
asio::awaitable<std::uint8_t> answer_request(asio::ip::tcp::socket& s, std::uint8_t rep_for_udp) {
  std::uint8_t greeting[3];
  co_await asio::async_read(s, asio::buffer(greeting), asio::use_awaitable);
  const std::uint8_t method[2] = {5, 0};
  co_await asio::async_write(s, asio::buffer(method), asio::use_awaitable);
  std::uint8_t req[10];  // VER CMD RSV ATYP(1) ADDR(4) PORT(2)
  co_await asio::async_read(s, asio::buffer(req), asio::use_awaitable);
  socks5::reply r;
  r.rep = req[1] == 3 ? rep_for_udp : 0;
  r.bound = {"127.0.0.1", 9};  // the relay: nothing answers there
  socks5::byte_buffer out;
  socks5::encode_reply(r, out);
  co_await asio::async_write(s, asio::buffer(out), asio::use_awaitable);
  co_return req[1];
}

// A SOCKS5 proxy that answers UDP ASSOCIATE with `udp_rep` and CONNECT
// with success, then holds the connection: only the REP codes a real
// proxy's rules produce, which no proxy on this machine can be made to
// give on demand for one command and not the other.
asio::awaitable<void> fake_proxy(asio::ip::tcp::acceptor& acc, std::uint8_t udp_rep,
                                 std::vector<asio::ip::tcp::socket>& held) {
  while (true) {
    auto s = co_await acc.async_accept(asio::use_awaitable);
    (void)co_await answer_request(s, udp_rep);
    held.push_back(std::move(s));
  }
}

TEST(Dial, AProxyWithoutUdpMeansTcpUnlessStrict) {
  for (const std::uint8_t rep : std::initializer_list<std::uint8_t>{7, 2, 1}) {
    for (const bool strict : {false, true}) {
      asio::io_context io;
      asio::ip::tcp::acceptor acc(io, {asio::ip::make_address("127.0.0.1"), 0});
      std::vector<asio::ip::tcp::socket> held;
      asio::co_spawn(io, fake_proxy(acc, rep, held), asio::detached);
      dial_plan plan;
      plan.dest = {"127.0.0.1", 7070};
      plan.via = proxy{};
      plan.via->server = {"127.0.0.1", acc.local_endpoint().port()};
      plan.udp = true;
      plan.udp_strict = strict;
      std::optional<failure> f;
      std::optional<net::transport_kind> kind;
      std::string notice;
      run(io, [&]() -> asio::awaitable<void> {
        try {
          auto d = co_await dial(plan);
          kind = d.transport->kind();
          notice = d.notice;
          d.transport->close();
        } catch (const failure& e) {
          f = e;
        }
      });
      const bool falls_back = !strict && rep != 1;
      SCOPED_TRACE("REP " + std::to_string(rep) + (strict ? " strict" : ""));
      if (falls_back) {
        ASSERT_FALSE(f) << f->message();
        EXPECT_EQ(kind, net::transport_kind::tcp);
        EXPECT_FALSE(notice.empty());
      } else {
        ASSERT_TRUE(f);
        EXPECT_EQ(f->code(), socks5::rep_error(rep));
        EXPECT_EQ(f->step(), step::proxy);
      }
      acc.close();
    }
  }
}

// A proxy that grants UDP ASSOCIATE and then drops the association before
// the receiver answered: the dial fails at once, not at the connect timeout.
asio::awaitable<void> associate_then_close(asio::ip::tcp::acceptor& acc) {
  auto s = co_await acc.async_accept(asio::use_awaitable);
  const std::uint8_t cmd = co_await answer_request(s, 0);
  EXPECT_EQ(cmd, 3) << "not a UDP ASSOCIATE";
  s.close();
}

TEST(Dial, TheProxyDroppingTheAssociationMidHandshakeFailsAtOnce) {
  asio::io_context io;
  asio::ip::tcp::acceptor acc(io, {asio::ip::make_address("127.0.0.1"), 0});
  asio::co_spawn(io, associate_then_close(acc), asio::detached);
  dial_plan plan;
  plan.dest = {"127.0.0.1", 7070};
  plan.via = proxy{};
  plan.via->server = {"127.0.0.1", acc.local_endpoint().port()};
  plan.udp = true;
  plan.connect_timeout = 60s;  // run() gives up after 20 s: only "at once" passes
  const auto f = dial_failure(io, plan);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->code(), rudp::error::proxy_closed) << f->message();
  EXPECT_EQ(classify(*f), exit_code::connect);
}

TEST(Listen, AListenAddressThatIsNotAnIpIsAUsageError) {
  std::vector<std::unique_ptr<asio::io_context>> pool;
  pool.push_back(std::make_unique<asio::io_context>());
  listen_plan plan;
  plan.address = {"localhost.invalid", 0};
  listener l(pool, asio::make_strand(*pool[0]), plan, {});
  try {
    l.start();
    FAIL() << "started";
  } catch (const failure& f) {
    EXPECT_EQ(f.code(), net::errc::not_an_address);
    EXPECT_EQ(f.step(), step::listen);
    EXPECT_EQ(classify(f), exit_code::usage);
  }
}

TEST(Listen, APortInUseIsAListenFailure) {
  std::vector<std::unique_ptr<asio::io_context>> pool;
  pool.push_back(std::make_unique<asio::io_context>());
  asio::ip::tcp::acceptor taken(*pool[0], {asio::ip::make_address("127.0.0.1"), 0});
  listen_plan plan;
  plan.address = {"127.0.0.1", taken.local_endpoint().port()};
  plan.udp = false;
  listener l(pool, asio::make_strand(*pool[0]), plan, {});
  try {
    l.start();
    FAIL() << "started";
  } catch (const failure& f) {
    EXPECT_EQ(f.code(), asio::error::address_in_use);
    EXPECT_EQ(f.step(), step::listen);
    EXPECT_EQ(classify(f), exit_code::connect);
  }
}

// One port, both doors: a TCP and a UDP-mode dial each reach serve(), as
// a transport of their kind.
TEST(Listen, TcpAndUdpOnOnePortReachOneServe) {
  std::vector<std::unique_ptr<asio::io_context>> pool;
  pool.push_back(std::make_unique<asio::io_context>());
  auto& io = *pool[0];
  auto strand = asio::make_strand(io);
  listen_plan plan;
  plan.address = {"127.0.0.1", 0};
  plan.udp = true;
  plan.max_udp_connections = 4;
  std::vector<std::unique_ptr<net::transport>> served;
  std::uint16_t port = 0;
  listener::hooks h;
  h.serve = [&](std::unique_ptr<net::transport> t, std::string) { served.push_back(std::move(t)); };
  h.on_listening = [&](const listening& at) {
    port = at.port;
    EXPECT_TRUE(at.udp);
    EXPECT_TRUE(at.via.empty());
  };
  listener l(pool, strand, plan, h);
  l.start();
  ASSERT_NE(port, 0);
  std::vector<net::transport_kind> dialed;
  run(io, [&]() -> asio::awaitable<void> {
    for (const bool udp : {false, true}) {
      dial_plan d;
      d.dest = {"127.0.0.1", port};
      d.udp = udp;
      d.connect_timeout = 5s;
      auto c = co_await dial(d);
      dialed.push_back(c.transport->kind());
      // Until the listener has handed it over.
      for (int i = 0; i < 100 && served.size() < dialed.size(); ++i) {
        asio::steady_timer t(io, 10ms);
        co_await t.async_wait(asio::use_awaitable);
      }
      c.transport->close();
    }
  });
  ASSERT_EQ(served.size(), 2u);
  EXPECT_EQ(served[0]->kind(), net::transport_kind::tcp);
  EXPECT_EQ(served[1]->kind(), net::transport_kind::udp);
  EXPECT_EQ(dialed, (std::vector{net::transport_kind::tcp, net::transport_kind::udp}));
  EXPECT_TRUE(served[1]->statistics().has_value());
  EXPECT_FALSE(served[0]->statistics().has_value());
  for (auto& t : served)
    t->close();
  asio::post(strand, [&] { l.close(); });
  io.run_for(200ms);
}

}  // namespace
}  // namespace ferry::link
