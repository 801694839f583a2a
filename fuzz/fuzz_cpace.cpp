// Fuzzes CPace's handling of a hostile peer (common/secure/cpace): the input is an
// initiator's MSGa as a responder receives it, and its last 64 bytes double as the
// initiator's confirmation tag. Whatever the bytes, nothing may crash or read out of
// bounds; a refused message must leave the party inert, and an accepted one must hold
// to the framing and never confirm with the responder's own tag.
#include <cstddef>
#include <cstdint>
#include <span>

#include "secure/cpace.hpp"

using namespace ferry::secure::cpace;

namespace {

constexpr std::uint8_t prs[] = {'P', 'a', 's', 's', 'w', 'o', 'r', 'd'};
constexpr std::uint8_t ci[] = {'f', 'u', 'z', 'z'};
constexpr std::uint8_t sid[] = {0x7e, 0x4b, 0x47, 0x91, 0xd6, 0xa8, 0xef, 0x01};
constexpr std::uint8_t adb[] = {'A', 'D', 'b'};
// Fixed so that a crash reproduces from its input alone.
constexpr std::uint8_t yb[scalar_size] = {
    0xd2, 0x31, 0x6b, 0x45, 0x47, 0x18, 0xc3, 0x53, 0x62, 0xd8, 0x3d, 0x69, 0xdf, 0x63, 0x20, 0xf3,
    0x85, 0x78, 0xed, 0x59, 0x84, 0x65, 0x14, 0x35, 0xe2, 0x94, 0x97, 0x62, 0xd9, 0x00, 0xb8, 0x0d};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> in(data, size);
  party b(role::responder, prs, ci, sid, adb, std::span<const std::uint8_t, scalar_size>(yb));
  const auto tag = in.last(size < tag_size ? size : tag_size);

  if (!b.receive(in)) {
    if (b.established() || !b.isk().empty() || !b.peer_ad().empty() || !b.confirmation().empty() ||
        b.verify(tag))
      __builtin_trap();
    return 0;
  }
  if (size > max_message_size || size < 1 + point_size + 1) __builtin_trap();
  if (b.isk().size() != isk_size || b.peer_ad().size() > size - (1 + point_size + 1))
    __builtin_trap();
  // Ta is over MSGa, Tb over MSGb; with the shares forced apart they can never agree.
  const auto own = b.confirmation();
  if (own.size() != tag_size || b.verify(own)) __builtin_trap();
  (void)b.verify(tag);  // may hold only if the input carries a real Ta; exercised, not judged
  if (b.receive(in)) __builtin_trap();  // single use
  return 0;
}
