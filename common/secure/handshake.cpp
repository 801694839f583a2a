#include "secure/handshake.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <ctime>

#include "framing/bytes.hpp"
#include "net/errors.hpp"
#include "secure/cpace.hpp"
#include "secure/errors.hpp"
#include "util/failure.hpp"
#include "util/text.hpp"

namespace ferry::secure {
namespace {

using framing::byte_buffer;
using preambles = std::array<std::uint8_t, 2 * framing::preamble_size>;

constexpr std::string_view binding_label = "EXPORTER-ferry-binding";
constexpr std::string_view token_label = "EXPORTER-ferry-token";
constexpr std::string_view cpace_label = "EXPORTER-ferry-cpace";
constexpr std::string_view code_alphabet = "0123456789abcdefghjkmnpqrstvwxyz";
constexpr std::size_t code_chars = 10;

std::span<const std::uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::string string_of(std::span<const std::uint8_t> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// Clear bytes before TLS, straight on the transport under the channel. The
// stream's deadline closes it; raise() then reports the timeout.
asio::awaitable<void> write_clear(net::frame_stream& stream, channel& ch,
                                  std::span<const std::uint8_t> bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const auto r = co_await ch.inner().write_some(bytes.subspan(done), {});
    if (r.ec) stream.raise("handshake", r.ec);
    done += r.n;
  }
}

asio::awaitable<void> read_clear(net::frame_stream& stream, channel& ch,
                                 std::span<std::uint8_t> out) {
  std::size_t done = 0;
  while (done < out.size()) {
    const auto r = co_await ch.inner().read_some(out.subspan(done));
    if (r.ec) stream.raise("handshake", r.ec);
    done += r.n;
  }
}

/// A clear ERROR frame whose type byte was already read; bounded.
asio::awaitable<framing::error_frame> read_clear_error(net::frame_stream& stream, channel& ch,
                                                       std::uint8_t type) {
  std::array<std::uint8_t, framing::header_size> header{type};
  co_await read_clear(stream, ch, std::span(header).subspan(1));
  framing::reader h(std::span<const std::uint8_t>(header).subspan(1));
  const std::uint32_t length = h.u32();
  if (length > 2 + framing::max_text_bytes + 2)
    throw failure(framing::error::frame_too_large, step::handshake,
                  "handshake: the receiver's clear ERROR frame is too large");
  byte_buffer frame(header.begin(), header.end());
  frame.resize(framing::header_size + length);
  co_await read_clear(stream, ch, std::span(frame).subspan(framing::header_size));
  framing::message msg;
  std::size_t used = 0;
  if (auto ec = framing::decode(frame, msg, used);
      ec || !std::holds_alternative<framing::error_frame>(msg))
    throw failure(ec ? ec : make_error_code(framing::error::malformed), step::handshake,
                  "handshake: the receiver's answer is neither TLS nor an ERROR frame");
  co_return std::get<framing::error_frame>(msg);
}

/// A TLS step (`step`: the channel's handshake or first flight), with the
/// deadline's words when the stream's watchdog cut it short.
asio::awaitable<void> tls_step(net::frame_stream& stream, asio::awaitable<void> step) {
  try {
    co_await std::move(step);
  } catch (const failure& f) {
    if (stream.timed_out()) stream.raise("TLS handshake", f.code());
    throw;
  }
}

template <class T>
asio::awaitable<T> expect(net::frame_stream& stream, const char* what) {
  auto msg = co_await stream.read_frame(what);
  if (auto* e = std::get_if<framing::error_frame>(&msg)) throw refused(*e);
  if (auto* t = std::get_if<T>(&msg)) co_return std::move(*t);
  throw failure(framing::error::bad_value, step::handshake,
                std::string(what) + ": unexpected " + framing::type_name(msg) + " frame");
}

std::vector<std::uint8_t> channel_id(const public_key& receiver, const public_key& sender) {
  // lv_cat(receiver key, sender key): each 32 bytes, so one length byte each.
  std::vector<std::uint8_t> ci(2 + receiver.size() + sender.size());
  ci[0] = 32;
  std::copy(receiver.begin(), receiver.end(), ci.begin() + 1);
  ci[1 + receiver.size()] = 32;
  std::copy(sender.begin(), sender.end(),
            ci.begin() + 2 + static_cast<std::ptrdiff_t>(receiver.size()));
  return ci;
}

std::array<std::uint8_t, 32> hmac_sha256(std::span<const std::uint8_t> key,
                                         std::span<const std::uint8_t> msg) {
  std::array<std::uint8_t, 32> out{};
  unsigned len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), msg.data(), msg.size(), out.data(),
       &len);
  return out;
}

bool same(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string today() {
  const std::time_t t = std::time(nullptr);
  char buf[16];
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

/// Tells the sender why (inside TLS), then fails the session.
asio::awaitable<void> refuse(net::frame_stream& stream, errc why, std::string text) {
  // A preamble changed in transit is the network's doing, not the sender's
  // credentials: a protocol error (exit 5) on both sides.
  const auto code = why == errc::preamble_altered ? framing::error_code::protocol
                                                  : framing::error_code::auth_failed;
  stream.queue(framing::error_frame{code, text});
  co_await stream.flush();
  throw failure(why, step::handshake, "not authorised: " + text);
}

}  // namespace

// ---- Sender --------------------------------------------------------------------

asio::awaitable<client_outcome> connect(net::frame_stream& stream, channel& ch,
                                        const client_plan& plan,
                                        std::function<void(net::frame_stream&)> early) {
  preambles seen{};
  {
    byte_buffer ours;
    framing::encode_preamble(ours);
    std::copy(ours.begin(), ours.end(), seen.begin());
    co_await write_clear(stream, ch, ours);
  }
  // Our ClientHello goes out right behind the preamble, a round trip
  // sooner than waiting for the receiver's: a version 3 receiver reads it
  // next; one that refuses in clear (busy, shutting down, another
  // version) drops what it did not read.
  co_await tls_step(stream, ch.send_first_flight());
  const auto theirs = std::span(seen).subspan(framing::preamble_size);
  co_await read_clear(stream, ch, theirs);
  std::uint16_t version = 0;
  if (framing::decode_preamble(theirs, version))
    throw failure(framing::error::bad_magic, step::handshake,
                  "handshake: not a ferry peer (no ferry preamble)");
  if (version != framing::protocol_version) {
    // It answers in its own framing: take its error text when we can read it.
    std::string detail;
    try {
      std::uint8_t type = 0;
      co_await read_clear(stream, ch, std::span(&type, 1));
      if (type == static_cast<std::uint8_t>(framing::frame_type::error)) {
        const auto e = co_await read_clear_error(stream, ch, type);
        detail = " (" + printable(e.message) + ")";
      }
    } catch (const std::exception&) {
    }
    throw failure(errc::version_mismatch, step::handshake,
                  "handshake: protocol version mismatch: we speak " +
                      std::to_string(framing::protocol_version) + ", receiver speaks " +
                      std::to_string(version) + detail);
  }
  // The answer to our ClientHello is TLS, or a clear refusal (busy,
  // shutting down) the receiver sent before reading anything.
  std::uint8_t first = 0;
  co_await read_clear(stream, ch, std::span(&first, 1));
  if (first == static_cast<std::uint8_t>(framing::frame_type::error)) {
    auto e = co_await read_clear_error(stream, ch, first);
    throw refused(std::move(e), true);
  }
  ch.give_early(std::span(&first, 1));
  co_await tls_step(stream, ch.handshake());

  client_outcome out;
  out.receiver = ch.peer_key();
  out.cipher = ch.cipher();
  const std::string fp = fingerprint(out.receiver);
  if (plan.pin) {
    if (fp != *plan.pin)
      throw failure(
          errc::auth_pin_mismatch, step::handshake,
          "the receiver's key is " + fp + ", not the pinned " + *plan.pin + "; nothing was sent");
    out.trust = trust::pinned;
  } else {
    const auto known = find_known(plan.known_file, plan.receiver_name);
    if (known && known->key != out.receiver)
      throw failure(errc::auth_key_changed, step::handshake,
                    "the receiver at " + plan.receiver_name + " has a new key " + fp + "; " +
                        plan.known_file.string() + " line " + std::to_string(known->line) +
                        " records " + fingerprint(known->key) +
                        ". Someone may be in the middle; nothing was sent. If the receiver "
                        "really changed its key, delete that line");
    out.trust = known ? trust::known : trust::first_contact;
  }

  const auto binding = ch.exporter(binding_label, seen);
  framing::auth a;
  a.binding = binding;
  std::optional<cpace::party> party;
  if (plan.code) {
    a.method = framing::auth_method::code;
    const auto sid = ch.exporter(cpace_label, seen);
    party.emplace(cpace::role::initiator, bytes_of(*plan.code), channel_id(out.receiver, plan.own),
                  sid, std::span<const std::uint8_t>());
    a.proof = string_of(party->message());
  } else if (plan.token) {
    a.method = framing::auth_method::token;
    a.proof = string_of(hmac_sha256(*plan.token, ch.exporter(token_label, seen)));
  }
  stream.queue(a);
  if (early && !party) early(stream);
  co_await stream.flush();
  auto reply = co_await expect<framing::auth_reply>(stream, "authorisation");
  if (reply.binding != binding)
    throw failure(errc::preamble_altered, step::handshake,
                  "handshake: the preambles the receiver saw are not ours: changed in transit");
  if (reply.status == framing::auth_status::code_continue) {
    if (!party)
      throw failure(framing::error::bad_value, step::handshake,
                    "authorisation: the receiver answered a code we did not offer");
    const bool proved =
        party->receive(bytes_of(reply.message)) && party->verify(bytes_of(reply.tag));
    if (!proved) {
      framing::error_frame e{framing::error_code::auth_failed, "the code did not match"};
      stream.queue(e);
      co_await stream.flush();
      throw failure(errc::auth_wrong_secret, step::handshake,
                    "the one-time code did not match: mistyped, already used, or not this "
                    "receiver's; nothing was sent");
    }
    framing::auth confirm;
    confirm.method = framing::auth_method::code_confirm;
    confirm.binding = binding;
    confirm.proof = string_of(party->confirmation());
    stream.queue(confirm);
    co_await stream.flush();
    reply = co_await expect<framing::auth_reply>(stream, "authorisation");
    if (reply.status != framing::auth_status::accepted || reply.binding != binding)
      throw failure(framing::error::bad_value, step::handshake,
                    "authorisation: unexpected answer to the code's confirmation");
    // The code proved the key: a receiver seen for the first time is paired.
    if (out.trust == trust::first_contact) out.trust = trust::paired;
  } else if (party && out.trust == trust::first_contact) {
    // We hold a code and have never seen this receiver: only the code can
    // prove its key, and it accepted us without the proof. It may not be
    // the receiver that printed the code.
    framing::error_frame e{framing::error_code::auth_failed,
                           "the code was not proved: a code sender needs CPace"};
    stream.queue(e);
    co_await stream.flush();
    throw failure(errc::auth_refused, step::handshake,
                  "the receiver at " + plan.receiver_name + " (key " + fp +
                      ") accepted us without proving the one-time code: it may not be the "
                      "receiver that printed it; nothing was sent");
  }
  if (out.trust == trust::first_contact || out.trust == trust::paired)
    record_known(plan.known_file, plan.receiver_name, out.receiver);
  co_return out;
}

// ---- Receiver ------------------------------------------------------------------

authorizer::authorizer(auth_policy p,
                       std::function<void(const std::string&, const std::string&)> announce)
    : policy_(std::move(p)), announce_(std::move(announce)) {}

std::string authorizer::start() {
  const auto keys = read_key_list(policy_.dir / "authorized_senders");
  const auto tokens = read_tokens(policy_.dir / "tokens");
  std::string what;
  if (!keys.empty())
    what = "authorized_senders (" + std::to_string(keys.size()) +
           (keys.size() == 1 ? " key)" : " keys)");
  if (!tokens.empty())
    what +=
        (what.empty() ? "" : ", ") + std::string("tokens (") + std::to_string(tokens.size()) + ")";
  if (policy_.allow_any) return "any sender (--allow-any-sender)";
  if (!what.empty()) return what;
  code_mode_ = true;
  std::string code;
  {
    std::lock_guard lock(mu_);
    new_code_locked("", code);
  }
  announce_(code, "");
  return "one-time code";
}

void authorizer::new_code_locked(const std::string&, std::string& announce_code) {
  code_ = make_code();
  ++generation_;
  uses_left_ = std::max(1u, policy_.code_uses);
  failures_ = 0;
  announce_code = code_;
}

std::optional<listed_key> authorizer::listed(const public_key& key) const {
  for (auto& k : read_key_list(policy_.dir / "authorized_senders"))
    if (k.key == key) return k;
  return std::nullopt;
}

std::optional<std::string> authorizer::token_for(
    std::span<const std::uint8_t> mac, std::span<const std::uint8_t, 32> challenge) const {
  std::optional<std::string> found;
  for (const auto& t : read_tokens(policy_.dir / "tokens"))
    if (same(mac, hmac_sha256(t.secret, challenge)) && !found) found = t.name;
  return found;
}

std::optional<authorizer::ticket> authorizer::begin_code_attempt() {
  std::lock_guard lock(mu_);
  if (!code_mode_ || code_.empty() || failures_ + in_flight_ >= code_attempts) return std::nullopt;
  ++in_flight_;
  return ticket{code_, generation_};
}

void authorizer::fail(const ticket& t) {
  std::string code;
  {
    std::lock_guard lock(mu_);
    --in_flight_;
    if (t.generation != generation_) return;
    if (++failures_ < code_attempts) return;
    new_code_locked("", code);
  }
  announce_(code, "the previous code is burned after " + std::to_string(code_attempts) +
                      " failed attempts");
}

bool authorizer::succeed(const ticket& t) {
  std::string code;
  {
    std::lock_guard lock(mu_);
    --in_flight_;
    if (t.generation != generation_) return false;
    if (--uses_left_ > 0) return true;
    new_code_locked("", code);
  }
  announce_(code, "the previous code is used up");
  return true;
}

std::string authorizer::current_code() const {
  std::lock_guard lock(mu_);
  return code_;
}

namespace {

// CPace, the receiver's half: MSGa came in `a`; answer MSGb and our tag,
// then check the sender's tag. The attempt counts as failed unless it does.
asio::awaitable<void> prove_code(net::frame_stream& stream, channel& ch, authorizer& authz,
                                 const public_key& own, const preambles& seen,
                                 const framing::binding_value& binding, const framing::auth& a,
                                 sender_identity& who) {
  auto t = authz.begin_code_attempt();
  if (!t) {
    const std::string why = "too many code attempts at once; wait for the receiver's next code";
    co_await refuse(stream, errc::auth_code_burned, why);
  }
  struct attempt {
    authorizer& az;
    authorizer::ticket t;
    bool done = false;
    ~attempt() {
      if (!done) az.fail(t);
    }
  } guard{authz, *t};
  const auto sid = ch.exporter(cpace_label, seen);
  const auto ci = channel_id(own, who.key);
  cpace::party party(cpace::role::responder, bytes_of(guard.t.code), ci, sid,
                     std::span<const std::uint8_t>());
  if (!party.receive(bytes_of(a.proof))) {
    const std::string why = "the code's CPace message is malformed";
    co_await refuse(stream, errc::auth_wrong_secret, why);
  }
  stream.queue(framing::auth_reply{framing::auth_status::code_continue, binding,
                                   string_of(party.message()), string_of(party.confirmation())});
  co_await stream.flush();
  std::optional<framing::auth> confirm;
  std::string gave_up;
  try {
    confirm = co_await expect<framing::auth>(stream, "code confirmation");
  } catch (const refused& r) {
    gave_up = printable(r.frame.message);
  }
  if (!gave_up.empty())
    throw failure(errc::auth_wrong_secret, step::handshake,
                  "not authorised: wrong code (the sender says: " + gave_up + ")");
  if (confirm->method != framing::auth_method::code_confirm || confirm->binding != binding ||
      !party.verify(bytes_of(confirm->proof))) {
    const std::string why = "wrong code";
    co_await refuse(stream, errc::auth_wrong_secret, why);
  }
  guard.done = true;
  if (!authz.succeed(guard.t)) {
    const std::string why = "the code was replaced meanwhile; ask for the new one";
    co_await refuse(stream, errc::auth_code_burned, why);
  }
  who.how = "one-time code";
  if (authz.policy().remember_senders)
    append_key(authz.policy().dir / "authorized_senders", who.key, "paired-by-code " + today());
}

}  // namespace

asio::awaitable<sender_identity> accept(net::frame_stream& stream, channel& ch, authorizer& authz,
                                        const public_key& own) {
  preambles seen{};
  const auto theirs = std::span(seen).first(framing::preamble_size);
  co_await read_clear(stream, ch, theirs);
  std::uint16_t version = 0;
  if (framing::decode_preamble(theirs, version))
    throw failure(framing::error::bad_magic, step::handshake, "not a ferry peer");
  byte_buffer ours;
  framing::encode_preamble(ours);
  std::copy(ours.begin(), ours.end(), seen.begin() + framing::preamble_size);
  if (version != framing::protocol_version) {
    framing::encode(framing::error_frame{framing::error_code::version_mismatch,
                                         "protocol version mismatch: receiver speaks " +
                                             std::to_string(framing::protocol_version) +
                                             ", sender speaks " + std::to_string(version)},
                    ours);
    co_await write_clear(stream, ch, ours);
    throw failure(errc::version_mismatch, step::handshake,
                  "handshake: sender speaks protocol " + std::to_string(version));
  }
  co_await write_clear(stream, ch, ours);
  co_await tls_step(stream, ch.handshake());

  sender_identity who;
  who.key = ch.peer_key();
  const auto binding = ch.exporter(binding_label, seen);
  const auto a = co_await expect<framing::auth>(stream, "authorisation");
  if (a.binding != binding) {
    const std::string why = "the preambles we saw differ: changed in transit";
    co_await refuse(stream, errc::preamble_altered, why);
  }

  const std::string fp = fingerprint(who.key);
  if (const auto k = authz.listed(who.key)) {
    who.how = "key " + (k->comment.empty() ? fp : printable(k->comment));
    who.dir = k->dir;
  } else if (authz.policy().allow_any) {
    who.how = "any sender (--allow-any-sender)";
  } else if (a.method == framing::auth_method::token) {
    const auto challenge = ch.exporter(token_label, seen);
    const auto name = authz.token_for(bytes_of(a.proof), challenge);
    if (!name) {
      const std::string why = "wrong token";
      co_await refuse(stream, errc::auth_wrong_secret, why);
    }
    who.how = "token '" + *name + "'";
  } else if (a.method == framing::auth_method::code && authz.code_mode()) {
    co_await prove_code(stream, ch, authz, own, seen, binding, a, who);
  } else if (a.method == framing::auth_method::code) {
    const std::string why = "this receiver takes no one-time codes; your key " + fp +
                            " is not in its authorized_senders";
    co_await refuse(stream, errc::auth_unknown_sender, why);
  } else {
    const std::string why = authz.code_mode()
                                ? "this receiver wants its one-time code: set FERRY_CODE"
                                : "your key " + fp + " is not in the receiver's authorized_senders";
    co_await refuse(stream, errc::auth_unknown_sender, why);
  }
  ch.peer_authenticated();
  stream.queue(framing::auth_reply{framing::auth_status::accepted, binding, {}, {}});
  co_await stream.flush();
  co_return who;
}

// ---- Codes ---------------------------------------------------------------------

std::string make_code() {
  std::array<std::uint8_t, code_chars> r{};
  if (RAND_bytes(r.data(), static_cast<int>(r.size())) != 1)
    throw std::runtime_error("no randomness for a code");
  std::string code;
  for (std::size_t i = 0; i < code_chars; ++i) {
    if (i == code_chars / 2) code += '-';
    code += code_alphabet[r[i] & 31];  // 256 is a multiple of 32: uniform
  }
  return code;
}

std::optional<std::string> normalise_code(std::string_view typed) {
  std::string out;
  for (const char raw : typed) {
    char c = static_cast<char>(std::tolower(static_cast<unsigned char>(raw)));
    if (c == '-' || c == ' ' || c == '\t' || c == '\n' || c == '\r') continue;
    if (c == 'i' || c == 'l') c = '1';
    if (c == 'o') c = '0';
    if (code_alphabet.find(c) == std::string_view::npos) return std::nullopt;
    out += c;
  }
  if (out.size() != code_chars) return std::nullopt;
  return out.substr(0, code_chars / 2) + "-" + out.substr(code_chars / 2);
}

}  // namespace ferry::secure
