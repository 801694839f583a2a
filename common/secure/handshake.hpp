// The steps between a connected transport and the session's HELLO (see
// docs/security.md, byte by byte in docs/protocol.md):
//   1. clear preambles (the sender's first; the receiver answers with its
//      own, or with its own and a clear ERROR: busy, version mismatch);
//   2. TLS 1.3 over the transport (sender = client, receiver = server);
//   3. the sender checks the receiver's key: --pin, else known_receivers
//      (recorded on first contact);
//   4. authorisation inside TLS: AUTH / AUTH_REPLY frames, by key, token
//      (HMAC over an exporter value) or one-time code (CPace), every one
//      carrying an exporter value over both preambles, so a preamble
//      changed in transit fails here.
// Both run on a frame_stream whose transport is the channel, so the
// stream's deadline bounds every step.
#pragma once

#include <array>
#include <asio.hpp>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>

#include "framing/frame.hpp"
#include "net/frame_stream.hpp"
#include "secure/channel.hpp"
#include "secure/identity.hpp"

namespace ferry::secure {

/// The receiver ended the connection with an ERROR frame (a clear one
/// before TLS, busy or shutting down; or inside TLS, not authorised).
struct refused : std::runtime_error {
  explicit refused(framing::error_frame f, bool clear = false)
      : std::runtime_error(f.message), frame(std::move(f)), in_clear(clear) {}
  framing::error_frame frame;
  /// Sent before TLS: anyone on the path can forge it, so it is worth no
  /// more than a closed connection (only its text is shown).
  bool in_clear = false;
};

// ---- Sender ------------------------------------------------------------------

struct client_plan {
  public_key own{};           // our identity's key (CPace's channel identifier)
  std::string receiver_name;  // "host:port": its entry in known_receivers
  std::filesystem::path known_file;
  std::optional<std::string> pin;  // "SHA256:..."
  std::optional<std::array<std::uint8_t, 32>> token;
  std::optional<std::string> code;  // normalised (see normalise_code)
};

enum class trust {
  pinned,         // matched --pin
  known,          // matched known_receivers
  first_contact,  // recorded now, on trust (TOFU)
  paired,         // proved by the one-time code, recorded now
};

struct client_outcome {
  public_key receiver{};
  enum trust trust = trust::known;
  std::string cipher;
};

/// Throws failure (secure::errc, framing, net) or refused. `early`, when
/// given, queues the session's first frames right behind AUTH when nothing
/// needs to come back first (a key or a token; a code's CPace exchange goes
/// first): they leave with AUTH, a round trip sooner. They go only to the
/// receiver whose key we checked, inside TLS; a receiver that refuses us
/// never reads them.
asio::awaitable<client_outcome> connect(net::frame_stream& stream, channel& ch,
                                        const client_plan& plan,
                                        std::function<void(net::frame_stream&)> early = {});

// ---- Receiver ----------------------------------------------------------------

struct auth_policy {
  std::filesystem::path dir;  // config directory: authorized_senders, tokens
  bool allow_any = false;
  unsigned code_uses = 1;
  bool remember_senders = false;
};

/// The receiver's decisions, shared by its sessions (thread-safe): the
/// lists in its config directory, and the one-time code.
class authorizer {
 public:
  /// `announce(code, why)` is called with each new code (why: empty for the
  /// first, else what happened to the previous one).
  authorizer(auth_policy p, std::function<void(const std::string&, const std::string&)> announce);
  /// Reads the lists; with neither keys nor tokens (and not allow_any),
  /// makes the first code. Returns what authorises senders, for the log:
  /// "authorized_senders (2 keys)", "tokens (1)", "one-time code", "any sender".
  std::string start();
  bool code_mode() const { return code_mode_; }
  const auth_policy& policy() const { return policy_; }

  /// The sender's entry in authorized_senders.
  std::optional<listed_key> listed(const public_key& key) const;
  /// The name of the token whose HMAC over `challenge` is `mac`.
  std::optional<std::string> token_for(std::span<const std::uint8_t> mac,
                                       std::span<const std::uint8_t, 32> challenge) const;

  struct ticket {
    std::string code;
    std::uint64_t generation = 0;
  };
  /// A code attempt begins; it counts as failed until succeed(). Nothing
  /// when there is no code or three attempts are failed or in flight.
  std::optional<ticket> begin_code_attempt();
  void fail(const ticket& t);
  /// False when the code was burned or used up meanwhile.
  bool succeed(const ticket& t);
  /// The code now (tests).
  std::string current_code() const;

 private:
  void new_code_locked(const std::string& why, std::string& announce_code);
  auth_policy policy_;
  std::function<void(const std::string&, const std::string&)> announce_;
  bool code_mode_ = false;
  mutable std::mutex mu_;
  std::string code_;
  std::uint64_t generation_ = 0;
  unsigned uses_left_ = 0;
  unsigned failures_ = 0;
  unsigned in_flight_ = 0;
};

/// At most this many failed (or unfinished) proofs per code; then it burns.
inline constexpr unsigned code_attempts = 3;

struct sender_identity {
  public_key key{};
  std::string how;  // "key laptop", "token 'ci'", "one-time code", "any sender"
  std::string dir;  // its authorized_senders dir=: where it is confined ("" = nowhere)
};

/// Throws failure (secure::errc auth_* after telling the sender why, or
/// framing, net).
/// `own`: the receiver's key (CPace's channel identifier).
asio::awaitable<sender_identity> accept(net::frame_stream& stream, channel& ch, authorizer& authz,
                                        const public_key& own);

// ---- Codes -------------------------------------------------------------------

/// A new code: 10 characters of Crockford's base32 (50 bits), "xxxxx-xxxxx".
std::string make_code();
/// The code as typed, without case, blanks or dashes, with i/l read as 1
/// and o as 0; nothing when it is not a ferry code.
std::optional<std::string> normalise_code(std::string_view typed);

}  // namespace ferry::secure
