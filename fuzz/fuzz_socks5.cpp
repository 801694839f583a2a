// Fuzzes the SOCKS5 parsers (common/socks5/codec) with what a proxy sends:
// method selection, RFC 1929 login reply, CONNECT/BIND/UDP ASSOCIATE
// replies, and the UDP request header in front of relayed datagrams. The
// first byte picks the parser. A decoded reply must re-encode to one that
// decodes (a name that is an address literal, "::F", comes back in its
// canonical form "::f") and from then on round-trip exactly; consumed
// lengths must stay within the input.
#include <cstddef>
#include <cstdint>
#include <span>

#include "socks5/codec.hpp"

using namespace ferry::socks5;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::span<const std::uint8_t> in(data + 1, size - 1);
  switch (data[0] % 4) {
    case 0: {
      std::uint8_t method = 0;
      (void)decode_method_selection(in, method);
      break;
    }
    case 1: {
      std::uint8_t status = 0;
      (void)decode_login_reply(in, status);
      break;
    }
    case 2: {
      reply r;
      std::size_t used = 0;
      if (decode_reply(in, r, used)) break;
      if (used == 0 || used > in.size()) __builtin_trap();
      byte_buffer again;
      encode_reply(r, again);
      reply back;
      std::size_t used_back = 0;
      if (decode_reply(again, back, used_back) || used_back != again.size()) __builtin_trap();
      byte_buffer third;
      encode_reply(back, third);
      if (third != again) __builtin_trap();
      break;
    }
    case 3: {
      udp_header h;
      if (decode_udp_header(in, h)) break;
      if (h.length > in.size()) __builtin_trap();
      break;
    }
  }
  return 0;
}
