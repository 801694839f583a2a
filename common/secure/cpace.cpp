// CPACE-RISTR255-SHA512 on libsodium; see cpace.hpp for the draft revision and choices.
#include "secure/cpace.hpp"

#include <sodium.h>

#include <algorithm>
#include <mutex>
#include <stdexcept>
#include <string_view>

namespace ferry::secure::cpace {
namespace {

constexpr std::string_view dsi = "CPaceRistretto255";
constexpr std::string_view dsi_isk = "CPaceRistretto255_ISK";
constexpr std::string_view mac_label = "CPaceMac";
constexpr std::size_t sha512_block_size = 128;  // H.s_in_bytes
// Any length a message within max_message_size can carry fits in two LEB128 bytes.
constexpr std::size_t max_len_bytes = 2;
static_assert(max_message_size < (std::size_t{1} << (7 * max_len_bytes)));

void ensure_sodium() {
  static std::once_flag once;
  static bool ok = false;
  std::call_once(once, [] { ok = sodium_init() >= 0; });
  if (!ok) throw std::runtime_error("cpace: libsodium failed to initialise");
}

std::span<const std::uint8_t> bytes_of(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// prepend_len's prefix: LEB128, 7 bits a byte, least significant first.
struct length_prefix {
  std::array<std::uint8_t, 10> bytes{};
  std::size_t size = 0;
  explicit length_prefix(std::size_t n) {
    do {
      auto b = static_cast<std::uint8_t>(n & 0x7f);
      n >>= 7;
      if (n != 0) b = static_cast<std::uint8_t>(b | 0x80);
      bytes[size++] = b;
    } while (n != 0);
  }
  std::span<const std::uint8_t> view() const { return std::span(bytes).first(size); }
};

// Incremental SHA-512, so secret inputs (PRS, K) are never copied into a heap buffer.
class sha512 {
 public:
  sha512() { crypto_hash_sha512_init(&state_); }
  ~sha512() { sodium_memzero(&state_, sizeof state_); }
  sha512(const sha512&) = delete;
  sha512& operator=(const sha512&) = delete;

  void update(std::span<const std::uint8_t> data) {
    if (!data.empty()) crypto_hash_sha512_update(&state_, data.data(), data.size());
  }
  void update_lv(std::span<const std::uint8_t> data) {
    update(length_prefix(data.size()).view());
    update(data);
  }
  void final(std::span<std::uint8_t, 64> out) { crypto_hash_sha512_final(&state_, out.data()); }

 private:
  crypto_hash_sha512_state state_;
};

// Little-endian scalar to its canonical residue modulo the group order.
std::array<std::uint8_t, scalar_size> reduce(std::span<const std::uint8_t, scalar_size> y) {
  ensure_sodium();
  std::array<std::uint8_t, crypto_core_ristretto255_NONREDUCEDSCALARBYTES> wide{};
  std::copy(y.begin(), y.end(), wide.begin());
  std::array<std::uint8_t, scalar_size> out{};
  crypto_core_ristretto255_scalar_reduce(out.data(), wide.data());
  sodium_memzero(wide.data(), wide.size());
  return out;
}

// Reads one minimal LEB128 length at pos. Minimal only: a padded encoding would make the
// received bytes differ from the lv_cat the transcript is defined over.
bool read_length(std::span<const std::uint8_t> in, std::size_t& pos, std::size_t& length) {
  length = 0;
  for (std::size_t i = 0; i < max_len_bytes; ++i) {
    if (pos >= in.size()) return false;
    const std::uint8_t b = in[pos++];
    length |= static_cast<std::size_t>(b & 0x7f) << (7 * i);
    if ((b & 0x80) == 0) return i == 0 || b != 0;
  }
  return false;
}

// Splits lv_cat(Y, AD) that fills `in` exactly; gives the offset of AD.
bool parse_message(std::span<const std::uint8_t> in, std::size_t& ad_offset) {
  if (in.size() > max_message_size) return false;
  std::size_t pos = 0;
  std::size_t length = 0;
  if (!read_length(in, pos, length) || length != point_size) return false;
  if (in.size() - pos < point_size) return false;
  pos += point_size;
  if (!read_length(in, pos, length)) return false;
  if (length != in.size() - pos) return false;
  ad_offset = pos;
  return true;
}

// scalar_mult_vfy with a reduced scalar; false where the draft returns G.I. libsodium 1.0.18
// decodes with bit 255 masked off rather than refused (RFC 9496 4.3.1 refuses it), so a
// second encoding of every point would get through without the explicit check.
bool mult_vfy(std::span<std::uint8_t, point_size> out,
              std::span<const std::uint8_t, scalar_size> reduced,
              std::span<const std::uint8_t, point_size> x) {
  if ((x[point_size - 1] & 0x80) != 0 ||
      crypto_scalarmult_ristretto255(out.data(), reduced.data(), x.data()) != 0 ||
      sodium_is_zero(out.data(), out.size())) {
    sodium_memzero(out.data(), out.size());
    return false;
  }
  return true;
}

std::size_t message_size(std::size_t ad_size) {
  return 1 + point_size + length_prefix(ad_size).size + ad_size;
}

}  // namespace

std::array<std::uint8_t, point_size> generator(std::span<const std::uint8_t> prs,
                                               std::span<const std::uint8_t> ci,
                                               std::span<const std::uint8_t> sid) {
  ensure_sodium();
  // The zero padding makes DSI and PRS fill the whole first SHA-512 block (8.1), so the
  // work on that block does not depend on the password's length; the 1 is the padding's
  // own length byte.
  const std::size_t head =
      1 + length_prefix(dsi.size()).size + dsi.size() + length_prefix(prs.size()).size + prs.size();
  const std::size_t zpad = head < sha512_block_size ? sha512_block_size - head : 0;
  static constexpr std::array<std::uint8_t, sha512_block_size> zeros{};

  sha512 h;
  h.update_lv(bytes_of(dsi));
  h.update_lv(prs);
  h.update_lv(std::span(zeros).first(zpad));
  h.update_lv(ci);
  h.update_lv(sid);
  std::array<std::uint8_t, 64> digest{};
  h.final(digest);
  std::array<std::uint8_t, point_size> g{};
  crypto_core_ristretto255_from_hash(g.data(), digest.data());
  sodium_memzero(digest.data(), digest.size());
  return g;
}

std::array<std::uint8_t, point_size> scalar_mult_vfy(std::span<const std::uint8_t, scalar_size> y,
                                                     std::span<const std::uint8_t, point_size> x) {
  auto reduced = reduce(y);
  std::array<std::uint8_t, point_size> out{};
  mult_vfy(out, reduced, x);
  sodium_memzero(reduced.data(), reduced.size());
  return out;
}

party::party(role r, std::span<const std::uint8_t> prs, std::span<const std::uint8_t> ci,
             std::span<const std::uint8_t> sid, std::span<const std::uint8_t> ad)
    : role_(r), sid_(sid.begin(), sid.end()) {
  ensure_sodium();
  // Uniform in [1, order - 1]: the alternative sampling that section 8.3 allows.
  crypto_core_ristretto255_scalar_random(scalar_.data());
  start(prs, ci, ad);
}

party::party(role r, std::span<const std::uint8_t> prs, std::span<const std::uint8_t> ci,
             std::span<const std::uint8_t> sid, std::span<const std::uint8_t> ad,
             std::span<const std::uint8_t, scalar_size> scalar)
    : role_(r), scalar_(reduce(scalar)), sid_(sid.begin(), sid.end()) {
  if (sodium_is_zero(scalar_.data(), scalar_.size())) {
    throw std::invalid_argument("cpace: scalar is 0 modulo the group order");
  }
  start(prs, ci, ad);
}

void party::start(std::span<const std::uint8_t> prs, std::span<const std::uint8_t> ci,
                  std::span<const std::uint8_t> ad) {
  if (ad.size() > max_message_size || message_size(ad.size()) > max_message_size) {
    sodium_memzero(scalar_.data(), scalar_.size());
    throw std::invalid_argument("cpace: associated data too long for one message");
  }
  auto g = generator(prs, ci, sid_);
  const int rc = crypto_scalarmult_ristretto255(own_share_.data(), scalar_.data(), g.data());
  sodium_memzero(g.data(), g.size());
  if (rc != 0) {
    // Only if the password hashed to the identity: negligible, but never send G.I.
    sodium_memzero(scalar_.data(), scalar_.size());
    throw std::runtime_error("cpace: generator is the identity");
  }
  message_.reserve(message_size(ad.size()));
  const length_prefix share_len(point_size);
  const length_prefix ad_len(ad.size());
  message_.insert(message_.end(), share_len.view().begin(), share_len.view().end());
  message_.insert(message_.end(), own_share_.begin(), own_share_.end());
  message_.insert(message_.end(), ad_len.view().begin(), ad_len.view().end());
  message_.insert(message_.end(), ad.begin(), ad.end());
}

party::~party() {
  sodium_memzero(scalar_.data(), scalar_.size());
  sodium_memzero(isk_.data(), isk_.size());
  sodium_memzero(mac_key_.data(), mac_key_.size());
}

bool party::fail() noexcept {
  sodium_memzero(scalar_.data(), scalar_.size());
  sodium_memzero(isk_.data(), isk_.size());
  sodium_memzero(mac_key_.data(), mac_key_.size());
  peer_size_ = 0;
  peer_ad_offset_ = 0;
  state_ = state::failed;
  return false;
}

bool party::receive(std::span<const std::uint8_t> peer_message) noexcept {
  if (state_ != state::awaiting_peer) return fail();
  std::size_t ad_offset = 0;
  if (!parse_message(peer_message, ad_offset)) return fail();
  std::copy(peer_message.begin(), peer_message.end(), peer_message_.begin());
  peer_size_ = peer_message.size();
  peer_ad_offset_ = ad_offset;

  const std::span<const std::uint8_t, point_size> peer_share(peer_message_.data() + 1, point_size);
  if (sodium_memcmp(peer_share.data(), own_share_.data(), point_size) == 0) return fail();

  std::array<std::uint8_t, point_size> k{};
  if (!mult_vfy(k, scalar_, peer_share)) return fail();
  // ya / yb is single use (10.9): gone as soon as K exists.
  sodium_memzero(scalar_.data(), scalar_.size());

  const std::span<const std::uint8_t> own(message_);
  const std::span<const std::uint8_t> peer(peer_message_.data(), peer_size_);
  {
    sha512 h;
    h.update_lv(bytes_of(dsi_isk));
    h.update_lv(sid_);
    h.update_lv(k);
    // transcript_ir: the initiator's lv_cat(Ya, ADa) first, whoever computes it.
    h.update(role_ == role::initiator ? own : peer);
    h.update(role_ == role::initiator ? peer : own);
    h.final(isk_);
  }
  sodium_memzero(k.data(), k.size());
  {
    sha512 h;
    h.update(bytes_of(mac_label));
    h.update(sid_);
    h.update(isk_);
    h.final(mac_key_);
  }
  state_ = state::established;
  return true;
}

std::span<const std::uint8_t> party::isk() const {
  if (state_ != state::established) return {};
  return isk_;
}

std::span<const std::uint8_t> party::peer_ad() const {
  if (state_ != state::established) return {};
  return std::span(peer_message_).first(peer_size_).subspan(peer_ad_offset_);
}

void party::tag_of(std::span<const std::uint8_t> msg, std::span<std::uint8_t, tag_size> out) const {
  crypto_auth_hmacsha512_state st;
  // The 64-byte key needs the keylen-taking init: crypto_auth_hmacsha512() takes 32.
  crypto_auth_hmacsha512_init(&st, mac_key_.data(), mac_key_.size());
  if (!msg.empty()) crypto_auth_hmacsha512_update(&st, msg.data(), msg.size());
  crypto_auth_hmacsha512_final(&st, out.data());
  sodium_memzero(&st, sizeof st);
}

std::vector<std::uint8_t> party::confirmation() const {
  if (state_ != state::established) return {};
  std::vector<std::uint8_t> tag(tag_size);
  tag_of(message_, std::span<std::uint8_t, tag_size>(tag.data(), tag_size));
  return tag;
}

bool party::verify(std::span<const std::uint8_t> peer_tag) const {
  if (state_ != state::established || peer_tag.size() != tag_size) return false;
  std::array<std::uint8_t, tag_size> expected{};
  tag_of(std::span(peer_message_).first(peer_size_), expected);
  const bool ok = sodium_memcmp(expected.data(), peer_tag.data(), tag_size) == 0;
  sodium_memzero(expected.data(), expected.size());
  return ok;
}

}  // namespace ferry::secure::cpace
