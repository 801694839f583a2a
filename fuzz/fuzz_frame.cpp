// Fuzzes the ferry frame decoder (common/framing): a preamble then frames
// back to back, as a receiver or sender reads them. Every frame that decodes
// must encode back to the very same bytes and decode to an equal message.
#include <cstddef>
#include <cstdint>
#include <span>

#include "framing/frame.hpp"

using namespace ferry::framing;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::span<const std::uint8_t> in(data, size);
  std::uint16_t version = 0;
  if (decode_preamble(in, version)) return 0;
  in = in.subspan(preamble_size);
  while (!in.empty()) {
    message msg;
    std::size_t used = 0;
    if (decode(in, msg, used)) break;
    if (used == 0 || used > in.size()) __builtin_trap();
    byte_buffer again;
    encode(msg, again);
    if (again.size() != used || !std::equal(again.begin(), again.end(), in.begin()))
      __builtin_trap();
    message back;
    std::size_t used_back = 0;
    if (decode(again, back, used_back) || !(back == msg)) __builtin_trap();
    in = in.subspan(used);
  }
  return 0;
}
