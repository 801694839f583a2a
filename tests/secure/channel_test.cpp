// The secure channel and the authorisation step, in process: two channels
// over a memory transport pair (reads split at every size, the link broken
// at every byte), and connect()/accept() with real keys, lists, tokens and
// codes in temporary config directories.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <asio.hpp>
#include <functional>
#include <optional>

#include "link/classify.hpp"
#include "net/frame_stream.hpp"
#include "secure/channel.hpp"
#include "secure/errors.hpp"
#include "secure/handshake.hpp"
#include "secure/identity.hpp"
#include "tests/support/memory_transport.hpp"
#include "tests/support/temp_dir.hpp"

namespace ferry::secure {
namespace {

using test::direction_rules;
using test::memory_transport;
using test::temp_dir;
using namespace std::chrono_literals;

// Flips one byte of what it reads at stream offset `at` (XOR `mask`).
class flip_transport final : public net::transport {
 public:
  flip_transport(std::unique_ptr<net::transport> inner, std::uint64_t at, std::uint8_t mask)
      : inner_(std::move(inner)), at_(at), mask_(mask) {}
  asio::any_io_executor executor() override { return inner_->executor(); }
  asio::awaitable<net::io_result> read_some(std::span<std::uint8_t> out) override {
    auto r = co_await inner_->read_some(out);
    if (!r.ec && at_ >= pos_ && at_ < pos_ + r.n) out[at_ - pos_] ^= mask_;
    pos_ += r.n;
    co_return r;
  }
  asio::awaitable<net::io_result> write_some(std::span<const std::uint8_t> a,
                                             std::span<const std::uint8_t> b) override {
    co_return co_await inner_->write_some(a, b);
  }
  asio::awaitable<void> finish(std::chrono::milliseconds l) override { co_await inner_->finish(l); }
  void shutdown_send() override { inner_->shutdown_send(); }
  void close() override { inner_->close(); }
  bool is_open() const override { return inner_->is_open(); }
  std::string remote() const override { return inner_->remote(); }
  net::transport_kind kind() const override { return inner_->kind(); }

 private:
  std::unique_ptr<net::transport> inner_;
  std::uint64_t at_;
  std::uint64_t pos_ = 0;
  std::uint8_t mask_;
};

struct identities {
  temp_dir dir;
  identity client = identity::load_or_create(dir / "client", "client");
  identity server = identity::load_or_create(dir / "server", "server");
  tls_context client_tls{client, side::client};
  tls_context server_tls{server, side::server};
};

identities& ids() {
  static identities i;
  return i;
}

std::vector<std::uint8_t> pattern(std::size_t n) {
  std::vector<std::uint8_t> v(n);
  for (std::size_t i = 0; i < n; ++i)
    v[i] = static_cast<std::uint8_t>(i * 7 + i / 251);
  return v;
}

// Runs a client and a server coroutine side by side until both are done
// (or `limit` passes).
template <class Client, class Server>
void run_pair(asio::io_context& io, Client client, Server server,
              std::chrono::seconds limit = 10s) {
  asio::co_spawn(io, std::move(client), asio::detached);
  asio::co_spawn(io, std::move(server), asio::detached);
  io.run_for(limit);
}

asio::awaitable<void> write_all(net::transport& t, std::span<const std::uint8_t> b) {
  while (!b.empty()) {
    const auto r = co_await t.write_some(b, {});
    if (r.ec) throw std::system_error(r.ec);
    b = b.subspan(r.n);
  }
}

asio::awaitable<std::vector<std::uint8_t>> read_n(net::transport& t, std::size_t n,
                                                  std::error_code& ec) {
  std::vector<std::uint8_t> got;
  std::vector<std::uint8_t> buf(7000);
  while (got.size() < n) {
    const auto r = co_await t.read_some(buf);
    if (r.ec) {
      ec = r.ec;
      co_return got;
    }
    got.insert(got.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(r.n));
  }
  co_return got;
}

struct outcome {
  std::optional<std::error_code> client_error, server_error;
  std::vector<std::uint8_t> client_got, server_got;
  bool client_done = false, server_done = false;
};

// A handshake, then `up` bytes client→server and `down` server→client, then
// close_notify both ways.
outcome exchange(direction_rules to_server, direction_rules to_client, std::size_t up,
                 std::size_t down, std::function<void(channel&, channel&)> tweak = {}) {
  asio::io_context io;
  auto [a, b] = memory_transport::pair(io.get_executor(), to_server, to_client);
  channel c(std::move(a), ids().client_tls);
  channel s(std::move(b), ids().server_tls);
  if (tweak) tweak(c, s);
  outcome out;
  const auto up_bytes = pattern(up);
  const auto down_bytes = pattern(down);
  auto side = [&](channel& me, const std::vector<std::uint8_t>& mine, std::size_t theirs,
                  std::vector<std::uint8_t>& got, std::optional<std::error_code>& err,
                  bool& done) -> asio::awaitable<void> {
    try {
      co_await me.handshake();
      co_await write_all(me, mine);
      std::error_code ec;
      got = co_await read_n(me, theirs, ec);
      if (ec) err = ec;
      co_await me.finish(1s);
    } catch (const failure& f) {
      err = f.code();
      me.close();
    } catch (const std::system_error& e) {
      err = e.code();
      me.close();
    }
    done = true;
  };
  run_pair(io, side(c, up_bytes, down, out.client_got, out.client_error, out.client_done),
           side(s, down_bytes, up, out.server_got, out.server_error, out.server_done), 20s);
  return out;
}

TEST(Channel, CarriesBytesBothWaysWhateverTheReadSizes) {
  for (const std::size_t max_read :
       {std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{5}, std::size_t{7},
        std::size_t{13}, std::size_t{64}, std::size_t{517}, std::size_t{4096}, std::size_t{16389},
        std::size_t{1} << 20}) {
    auto o = exchange({max_read}, {max_read}, 100'000, 30'000);
    ASSERT_TRUE(o.client_done && o.server_done) << max_read;
    EXPECT_FALSE(o.client_error) << max_read << ": " << o.client_error->message();
    EXPECT_FALSE(o.server_error) << max_read << ": " << o.server_error->message();
    EXPECT_EQ(o.server_got, pattern(100'000)) << max_read;
    EXPECT_EQ(o.client_got, pattern(30'000)) << max_read;
  }
}

// The link breaks at every byte offset of a handshake and a short exchange,
// in each direction: both sides end (no hang, no crash), and no byte
// arrives that was not sent.
TEST(Channel, ALinkBrokenAtAnyByteFailsCleanly) {
  // How many bytes cross each way in the whole exchange.
  std::uint64_t total = 0;
  for (std::uint64_t at = 0; at < 6000; at += 1) {
    for (const bool upward : {true, false}) {
      direction_rules broken;
      broken.fail_at = at;
      auto o = upward ? exchange(broken, {}, 300, 200) : exchange({}, broken, 300, 200);
      ASSERT_TRUE(o.client_done && o.server_done) << at << (upward ? " up" : " down");
      const auto up = pattern(300);
      const auto down = pattern(200);
      // Whatever arrived is a prefix of what was sent.
      ASSERT_TRUE(std::equal(o.server_got.begin(), o.server_got.end(), up.begin()));
      ASSERT_TRUE(std::equal(o.client_got.begin(), o.client_got.end(), down.begin()));
      if (!o.client_error && !o.server_error) {
        total = at;
        break;
      }
    }
    if (total != 0) break;
  }
  // The loop ran past the whole exchange (a TLS handshake with Ed25519
  // certificates and the data: about 800 bytes the shorter way).
  EXPECT_GT(total, 500u);
}

TEST(Channel, AnEndWithoutCloseNotifyIsTruncation) {
  asio::io_context io;
  auto [a, b] = memory_transport::pair(io.get_executor());
  auto* raw_server = b.get();
  channel c(std::move(a), ids().client_tls);
  channel s(std::move(b), ids().server_tls);
  std::error_code ec;
  std::vector<std::uint8_t> got;
  run_pair(
      io,
      [&]() -> asio::awaitable<void> {
        co_await c.handshake();
        got = co_await read_n(c, 1000, ec);
      },
      [&]() -> asio::awaitable<void> {
        co_await s.handshake();
        co_await write_all(s, pattern(10));
        raw_server->close();  // the transport ends, TLS never said close_notify
      },
      10s);
  EXPECT_EQ(got, pattern(10));
  EXPECT_EQ(ec, errc::truncated) << ec.message();
  EXPECT_EQ(link::classify(ec, step::transfer), exit_code::connect);
}

TEST(Channel, CloseNotifyIsACleanEnd) {
  auto o = exchange({}, {}, 10, 0);
  EXPECT_FALSE(o.client_error);
  EXPECT_FALSE(o.server_error);
  asio::io_context io;
  auto [a, b] = memory_transport::pair(io.get_executor());
  channel c(std::move(a), ids().client_tls);
  channel s(std::move(b), ids().server_tls);
  std::error_code ec;
  run_pair(
      io,
      [&]() -> asio::awaitable<void> {
        co_await c.handshake();
        (void)co_await read_n(c, 1, ec);
      },
      [&]() -> asio::awaitable<void> {
        co_await s.handshake();
        co_await s.finish(1s);
      },
      10s);
  EXPECT_EQ(ec, asio::error::eof) << ec.message();
}

// A byte changed in flight after the handshake: the record is refused, and
// the failure is an integrity one (exit 6), not garbage delivered.
TEST(Channel, AFlippedByteIsAForgedRecord) {
  for (const std::uint64_t at : {3000u, 5000u, 20000u}) {
    asio::io_context io;
    auto [a, b] = memory_transport::pair(io.get_executor());
    channel c(std::move(a), ids().client_tls);
    channel s(std::make_unique<flip_transport>(std::move(b), at, 0x01), ids().server_tls);
    std::error_code ec;
    std::vector<std::uint8_t> got;
    run_pair(
        io,
        [&]() -> asio::awaitable<void> {
          co_await c.handshake();
          co_await write_all(c, pattern(50'000));
        },
        [&]() -> asio::awaitable<void> {
          co_await s.handshake();
          got = co_await read_n(s, 50'000, ec);
        },
        10s);
    EXPECT_EQ(ec, errc::record_forged) << at << ": " << ec.message();
    EXPECT_EQ(link::classify(ec, step::transfer), exit_code::integrity);
    const auto sent = pattern(50'000);
    EXPECT_TRUE(std::equal(got.begin(), got.end(), sent.begin())) << "forged bytes delivered";
  }
}

TEST(Channel, KeysAreUpdatedAfterTheConfiguredVolume) {
  std::uint64_t updates = 0;
  asio::io_context io;
  auto [a, b] = memory_transport::pair(io.get_executor());
  channel c(std::move(a), ids().client_tls);
  channel s(std::move(b), ids().server_tls);
  c.set_key_update_bytes(256 * 1024);
  std::error_code ec;
  std::vector<std::uint8_t> got;
  run_pair(
      io,
      [&]() -> asio::awaitable<void> {
        co_await c.handshake();
        for (int i = 0; i < 16; ++i)
          co_await write_all(c, pattern(256 * 1024));
        updates = c.key_updates();
      },
      [&]() -> asio::awaitable<void> {
        co_await s.handshake();
        got = co_await read_n(s, 16 * 256 * 1024, ec);
      },
      20s);
  EXPECT_FALSE(ec) << ec.message();
  ASSERT_EQ(got.size(), 16u * 256 * 1024);
  const auto piece = pattern(256 * 1024);
  for (std::size_t i = 0; i < 16; ++i)
    ASSERT_TRUE(std::equal(piece.begin(), piece.end(),
                           got.begin() + static_cast<std::ptrdiff_t>(i * piece.size())))
        << i;
  EXPECT_GE(updates, 15u);
}

// ---- connect() / accept() ------------------------------------------------------

struct auth_run {
  std::optional<client_outcome> client;
  std::optional<sender_identity> server;
  std::optional<failure> client_failed, server_failed;
  std::optional<framing::error_frame> client_refused;
};

struct receiver_setup {
  temp_dir dir;
  std::vector<std::string> codes;
  auth_policy policy() {
    auth_policy p;
    p.dir = dir.path();
    return p;
  }
};

auth_run authenticate(authorizer& authz, const client_plan& plan, std::uint64_t flip_up_at = ~0ull,
                      std::uint8_t mask = 0) {
  asio::io_context io;
  auto [a, b] = memory_transport::pair(io.get_executor());
  std::unique_ptr<net::transport> server_side = std::move(b);
  if (flip_up_at != ~0ull)
    server_side = std::make_unique<flip_transport>(std::move(server_side), flip_up_at, mask);
  auto cch = std::make_unique<channel>(std::move(a), ids().client_tls);
  auto sch = std::make_unique<channel>(std::move(server_side), ids().server_tls);
  channel& c = *cch;
  channel& s = *sch;
  net::frame_stream cs(std::move(cch), 10s);
  net::frame_stream ss(std::move(sch), 10s);
  auth_run out;
  run_pair(
      io,
      [&]() -> asio::awaitable<void> {
        try {
          out.client = co_await connect(cs, c, plan);
        } catch (const refused& r) {
          out.client_refused = r.frame;
        } catch (const failure& f) {
          out.client_failed = f;
        }
        cs.close();
      },
      [&]() -> asio::awaitable<void> {
        try {
          out.server = co_await accept(ss, s, authz, ids().server.key());
        } catch (const failure& f) {
          out.server_failed = f;
        }
        ss.close();
      },
      20s);
  return out;
}

client_plan plan_in(const temp_dir& d) {
  client_plan p;
  p.own = ids().client.key();
  p.receiver_name = "127.0.0.1:7070";
  p.known_file = d / "known_receivers";
  return p;
}

TEST(Auth, AListedKeyIsAcceptedAndTheReceiverRecordedOnFirstContact) {
  receiver_setup r;
  append_key(r.dir / "authorized_senders", ids().client.key(), "laptop");
  authorizer az(r.policy(), [](const std::string&, const std::string&) {});
  EXPECT_EQ(az.start(), "authorized_senders (1 key)");
  temp_dir s;
  auto first = authenticate(az, plan_in(s));
  ASSERT_TRUE(first.client && first.server);
  EXPECT_EQ(first.client->trust, trust::first_contact);
  EXPECT_EQ(first.server->how, "key laptop");
  auto second = authenticate(az, plan_in(s));
  ASSERT_TRUE(second.client);
  EXPECT_EQ(second.client->trust, trust::known);
}

TEST(Auth, AnUnknownSenderIsRefusedWithExitTen) {
  receiver_setup r;
  append_key(r.dir / "authorized_senders", ids().server.key(), "someone else");
  authorizer az(r.policy(), [](const std::string&, const std::string&) {});
  az.start();
  temp_dir s;
  auto o = authenticate(az, plan_in(s));
  ASSERT_TRUE(o.client_refused);
  EXPECT_EQ(o.client_refused->code, framing::error_code::auth_failed);
  EXPECT_NE(o.client_refused->message.find(fingerprint(ids().client.key())), std::string::npos);
  ASSERT_TRUE(o.server_failed);
  EXPECT_EQ(o.server_failed->code(), errc::auth_unknown_sender);
  EXPECT_EQ(link::classify(*o.server_failed), exit_code::auth);
}

TEST(Auth, TokensProveThemselvesAndAWrongOneFails) {
  receiver_setup r;
  const auto text = new_token(r.dir / "tokens", "ci");
  struct stat st {};
  ASSERT_EQ(::stat((r.dir / "tokens").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  authorizer az(r.policy(), [](const std::string&, const std::string&) {});
  az.start();
  temp_dir s;
  auto plan = plan_in(s);
  plan.token = parse_token(text);
  ASSERT_TRUE(plan.token);
  auto ok = authenticate(az, plan);
  ASSERT_TRUE(ok.server) << (ok.server_failed ? ok.server_failed->message() : "");
  EXPECT_EQ(ok.server->how, "token 'ci'");
  (*plan.token)[0] ^= 1;
  auto bad = authenticate(az, plan);
  ASSERT_TRUE(bad.client_refused);
  EXPECT_EQ(bad.client_refused->message, "wrong token");
  ASSERT_TRUE(bad.server_failed);
  EXPECT_EQ(bad.server_failed->code(), errc::auth_wrong_secret);
}

TEST(Auth, TheCodePairsAndAWrongCodeFailsOnBothSides) {
  receiver_setup r;
  std::vector<std::string> codes;
  authorizer az(r.policy(), [&](const std::string& c, const std::string&) { codes.push_back(c); });
  EXPECT_EQ(az.start(), "one-time code");
  ASSERT_EQ(codes.size(), 1u);
  temp_dir s;
  auto plan = plan_in(s);
  plan.code = normalise_code(codes[0]);
  auto ok = authenticate(az, plan);
  ASSERT_TRUE(ok.client && ok.server);
  EXPECT_EQ(ok.client->trust, trust::paired);
  EXPECT_EQ(ok.server->how, "one-time code");
  EXPECT_TRUE(find_known(s / "known_receivers", "127.0.0.1:7070"));
  // Single use: a new code replaced it.
  ASSERT_EQ(codes.size(), 2u);
  EXPECT_NE(codes[1], codes[0]);
  // The used code no longer works; the sender says the code did not match.
  temp_dir s2;
  auto plan2 = plan_in(s2);
  plan2.code = normalise_code(codes[0]);
  auto bad = authenticate(az, plan2);
  ASSERT_TRUE(bad.client_failed);
  EXPECT_EQ(bad.client_failed->code(), errc::auth_wrong_secret);
  EXPECT_EQ(link::classify(*bad.client_failed), exit_code::auth);
  ASSERT_TRUE(bad.server_failed);
  EXPECT_EQ(bad.server_failed->code(), errc::auth_wrong_secret);
  EXPECT_FALSE(find_known(s2 / "known_receivers", "127.0.0.1:7070")) << "recorded an impostor";
}

TEST(Auth, ThreeFailedProofsBurnTheCode) {
  receiver_setup r;
  std::vector<std::string> codes;
  std::vector<std::string> whys;
  authorizer az(r.policy(), [&](const std::string& c, const std::string& why) {
    codes.push_back(c);
    whys.push_back(why);
  });
  az.start();
  const std::string real = codes[0];
  temp_dir s;
  auto plan = plan_in(s);
  plan.code = normalise_code(real == "00000-00000" ? "11111-11111" : "00000-00000");
  for (int i = 0; i < 3; ++i) {
    auto bad = authenticate(az, plan);
    ASSERT_TRUE(bad.client_failed) << i;
  }
  ASSERT_EQ(codes.size(), 2u);
  EXPECT_NE(codes[1], real);
  EXPECT_NE(whys[1].find("burned"), std::string::npos) << whys[1];
  // The old code is gone even for someone who knows it.
  plan.code = normalise_code(real);
  auto late = authenticate(az, plan);
  EXPECT_TRUE(late.client_failed);
}

// A black-box attack found this: a sender holding a code took a receiver
// that accepted it without CPace (one serving any sender) on trust, and
// sent it the file. A code sender meeting a receiver for the first time
// needs the code proved.
TEST(Auth, ACodeSenderRefusesAReceiverThatSkipsTheProof) {
  receiver_setup r;
  auto p = r.policy();
  p.allow_any = true;
  authorizer az(p, [](const std::string&, const std::string&) {});
  az.start();
  temp_dir s;
  auto plan = plan_in(s);
  plan.code = normalise_code("abcde-fghjk");
  auto o = authenticate(az, plan);
  ASSERT_TRUE(o.client_failed);
  EXPECT_EQ(o.client_failed->code(), errc::auth_refused);
  EXPECT_EQ(link::classify(*o.client_failed), exit_code::auth);
  EXPECT_FALSE(std::filesystem::exists(s / "known_receivers"));
  // A receiver already known is fine: its key needs no proof.
  record_known(s / "known_receivers", "127.0.0.1:7070", ids().server.key());
  EXPECT_TRUE(authenticate(az, plan).client);
}

TEST(Auth, APinMismatchAndAChangedKeyAreFatal) {
  receiver_setup r;
  authorizer az(r.policy(), [](const std::string&, const std::string&) {});
  append_key(r.dir / "authorized_senders", ids().client.key(), "");
  az.start();
  temp_dir s;
  auto plan = plan_in(s);
  plan.pin = fingerprint(ids().client.key());  // not the receiver's
  auto pinned = authenticate(az, plan);
  ASSERT_TRUE(pinned.client_failed);
  EXPECT_EQ(pinned.client_failed->code(), errc::auth_pin_mismatch);
  EXPECT_FALSE(std::filesystem::exists(s / "known_receivers"));
  plan.pin = fingerprint(ids().server.key());
  EXPECT_TRUE(authenticate(az, plan).client);
  EXPECT_FALSE(std::filesystem::exists(s / "known_receivers")) << "--pin records nothing";

  record_known(s / "known_receivers", "127.0.0.1:7070", ids().client.key());
  auto changed = authenticate(az, plan_in(s));
  ASSERT_TRUE(changed.client_failed);
  EXPECT_EQ(changed.client_failed->code(), errc::auth_key_changed);
  EXPECT_EQ(link::classify(*changed.client_failed), exit_code::auth);
}

TEST(Auth, APreambleRewrittenToTheOldVersionFails) {
  receiver_setup r;
  authorizer az(r.policy(), [](const std::string&, const std::string&) {});
  r.policy();
  temp_dir s;
  // Byte 7 is the version's low byte: 3 XOR 1 = 2.
  auto o = authenticate(az, plan_in(s), 7, 0x01);
  ASSERT_TRUE(o.server_failed);
  EXPECT_EQ(o.server_failed->code(), errc::version_mismatch);
  EXPECT_FALSE(o.client);
  EXPECT_TRUE(o.client_failed || o.client_refused);
}

TEST(Auth, ConfigDirectoriesAreMadePrivateParentsIncluded) {
  temp_dir d;
  (void)identity::load_or_create(d / "a/b/c", "x");
  for (const char* dir : {"a", "a/b", "a/b/c"}) {
    struct stat st {};
    ASSERT_EQ(::stat((d / dir).c_str(), &st), 0) << dir;
    EXPECT_EQ(st.st_mode & 0777, 0700u) << dir;
  }
}

TEST(Auth, ThePrivateKeyMustNotBeReadableByOthers) {
  temp_dir d;
  (void)identity::load_or_create(d.path(), "x");
  ASSERT_EQ(::chmod((d / "id_ed25519").c_str(), 0644), 0);
  try {
    (void)identity::load_or_create(d.path(), "x");
    FAIL() << "a 0644 private key was accepted";
  } catch (const failure& f) {
    EXPECT_EQ(f.code(), errc::key_file);
    EXPECT_EQ(link::classify(f), exit_code::usage);
    EXPECT_NE(f.message().find("chmod 600"), std::string::npos) << f.message();
  }
}

TEST(Auth, CodesAreNormalisedAsPeopleTypeThem) {
  EXPECT_EQ(normalise_code("AB1CD-EF2GH"), "ab1cd-ef2gh");
  EXPECT_EQ(normalise_code(" ab1cd ef2gh\n"), "ab1cd-ef2gh");
  EXPECT_EQ(normalise_code("abicd-efOgh"), "ab1cd-ef0gh");
  EXPECT_FALSE(normalise_code("ab1cd-ef2g"));
  EXPECT_FALSE(normalise_code("ab1cd-ef2ghj"));
  EXPECT_FALSE(normalise_code("ab1cd-ef2gu"));  // u is not in the alphabet
  const auto c = make_code();
  EXPECT_EQ(c.size(), 11u);
  EXPECT_EQ(normalise_code(c), c);
}

TEST(Auth, KeyLinesAndFingerprintsRoundTrip) {
  const auto& k = ids().client.key();
  const auto line = key_line(k, "me@host");
  EXPECT_TRUE(line.starts_with("ferry-ed25519 "));
  const auto fp = fingerprint(k);
  EXPECT_EQ(fp.size(), 50u);
  EXPECT_TRUE(fp.starts_with("SHA256:"));
  EXPECT_EQ(parse_key("ferry-ed25519", line.substr(14, 44)), k);
  EXPECT_FALSE(parse_key("ssh-ed25519", line.substr(14, 44)));
  EXPECT_EQ(parse_key("ferry-ed25519", line.substr(14, 43)), k);  // unpadded
  EXPECT_FALSE(parse_key("ferry-ed25519", line.substr(14, 40)));
  EXPECT_FALSE(unbase64("ab$d"));
}

}  // namespace
}  // namespace ferry::secure
