// CPace password-authenticated key exchange, suite CPACE-RISTR255-SHA512, on libsodium.
// Follows draft-irtf-cfrg-cpace-21 (the text in cfrg/draft-irtf-cfrg-cpace,
// draft-irtf-cfrg-cpace-21/draft-irtf-cfrg-cpace.txt): generator per sections 8.1 and 8.3,
// protocol per 7.2 in the initiator-responder setting (transcript_ir), lengths as LEB128
// (prepend_len / lv_cat, appendix A.1).
//
// Wire: MSGa = lv_cat(Ya, ADa), MSGb = lv_cat(Yb, ADb); 34 bytes with empty AD, never
// more than max_message_size. A peer message must be exactly that framing with minimal
// LEB128 lengths, so the bytes received are the bytes the transcript hashes.
//
// Key confirmation: section 10.4 only recommends one; this is that recommendation with
// HMAC-SHA-512 as the MAC:
//   mac_key = SHA-512(b"CPaceMac" || sid || ISK)      (plain concatenation, as 10.4 writes it)
//   Ta = HMAC-SHA-512(mac_key, MSGa),  Tb = HMAC-SHA-512(mac_key, MSGb)    (64 bytes each)
// The draft gives no vectors for it; the tests pin values derived independently from the
// draft's ISK vector.
//
// One addition to the draft: a peer share equal to our own is refused. Otherwise a reflected
// MSGa (and reflected Ta, which then equals the expected Tb) would let an initiator confirm
// a "peer" that is only itself (the loopback case of section 10.1.2). An honest peer never
// sends our share.
//
// Shares with bit 255 set are refused explicitly: libsodium 1.0.18 masks that bit off
// instead of failing the decode as RFC 9496 requires.
//
// K is never exposed (section 10.3). Secrets are wiped when no longer needed and on
// destruction.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace ferry::secure::cpace {

inline constexpr std::size_t point_size = 32;
inline constexpr std::size_t scalar_size = 32;
inline constexpr std::size_t isk_size = 64;
inline constexpr std::size_t tag_size = 64;
/// Upper bound on MSGa / MSGb, ours and the peer's.
inline constexpr std::size_t max_message_size = 512;

enum class role { initiator, responder };

class party {
 public:
  // prs: password bytes; ci: channel identifier; sid: session id; ad: this party's
  // associated data. Throws std::invalid_argument if ad would make message() longer than
  // max_message_size, std::runtime_error if libsodium cannot initialise.
  party(role r, std::span<const std::uint8_t> prs, std::span<const std::uint8_t> ci,
        std::span<const std::uint8_t> sid, std::span<const std::uint8_t> ad);
  // Same, with a fixed secret scalar (little-endian, reduced modulo the group order), for
  // the test vectors. Also throws std::invalid_argument if the scalar is 0 modulo the order.
  party(role r, std::span<const std::uint8_t> prs, std::span<const std::uint8_t> ci,
        std::span<const std::uint8_t> sid, std::span<const std::uint8_t> ad,
        std::span<const std::uint8_t, scalar_size> scalar);
  ~party();
  party(const party&) = delete;
  party& operator=(const party&) = delete;

  /// This party's MSGa (initiator) or MSGb (responder), to send.
  const std::vector<std::uint8_t>& message() const { return message_; }

  /// Takes the peer's message; single use. False if it does not decode (bad length
  /// framing, trailing bytes, longer than max_message_size, invalid or non-canonical point,
  /// our own share reflected, identity result), or on a second call: the party is then
  /// unusable (isk() and peer_ad() empty, confirmation() empty, verify() false).
  [[nodiscard]] bool receive(std::span<const std::uint8_t> peer_message) noexcept;

  /// True after a successful receive().
  bool established() const { return state_ == state::established; }
  /// ISK (64 bytes) once established, else empty.
  std::span<const std::uint8_t> isk() const;
  /// The peer's AD once established, else empty. Section 10.1: an application that puts
  /// party identities in AD must check this one.
  std::span<const std::uint8_t> peer_ad() const;
  /// Ta (initiator) or Tb (responder) once established, else empty.
  std::vector<std::uint8_t> confirmation() const;
  /// Whether peer_tag is the peer's Tb / Ta; constant time. False unless established.
  [[nodiscard]] bool verify(std::span<const std::uint8_t> peer_tag) const;

 private:
  enum class state : std::uint8_t { awaiting_peer, established, failed };

  void start(std::span<const std::uint8_t> prs, std::span<const std::uint8_t> ci,
             std::span<const std::uint8_t> ad);
  bool fail() noexcept;
  void tag_of(std::span<const std::uint8_t> msg, std::span<std::uint8_t, tag_size> out) const;

  role role_;
  state state_ = state::awaiting_peer;
  std::array<std::uint8_t, scalar_size> scalar_{};
  std::array<std::uint8_t, point_size> own_share_{};
  std::vector<std::uint8_t> message_;
  std::vector<std::uint8_t> sid_;
  std::array<std::uint8_t, max_message_size> peer_message_{};
  std::size_t peer_size_ = 0;
  std::size_t peer_ad_offset_ = 0;
  std::array<std::uint8_t, isk_size> isk_{};
  std::array<std::uint8_t, 64> mac_key_{};
};

/// G.calculate_generator(SHA-512, prs, ci, sid), encoded; exposed for the vectors.
std::array<std::uint8_t, point_size> generator(std::span<const std::uint8_t> prs,
                                               std::span<const std::uint8_t> ci,
                                               std::span<const std::uint8_t> sid);

/// G.scalar_mult_vfy(y, X): encode(y * decode(X)), or G.I (all zero) if X is not a canonical
/// encoding or the result is the identity. y is little-endian, reduced modulo the order.
std::array<std::uint8_t, point_size> scalar_mult_vfy(std::span<const std::uint8_t, scalar_size> y,
                                                     std::span<const std::uint8_t, point_size> x);

}  // namespace ferry::secure::cpace
