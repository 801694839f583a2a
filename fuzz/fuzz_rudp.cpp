// Fuzzes the reliable-UDP packet decoder (common/rudp/packet) with whole
// datagrams as the endpoint receives them: type and connection id peeks,
// the long header and handshake body, or the short header and every frame,
// with STREAM frames fed into a receive buffer (reassembly, flow-control
// and end-of-stream checks) as a connection would.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "rudp/packet.hpp"
#include "rudp/recv_buffer.hpp"

using namespace ferry::rudp;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> in(data, size);
  packet_type type{};
  if (peek_type(in, type)) return 0;
  std::uint32_t cid = 0;
  (void)peek_dst_cid(in, cid);
  if (type != packet_type::data) {
    long_header h;
    handshake_body b;
    if (!decode_handshake(in, h, b) && b.token_len > max_token_size) __builtin_trap();
    return 0;
  }
  std::uint64_t pn = 0;
  std::span<const std::uint8_t> frames;
  if (decode_data_header(in, cid, pn, frames)) return 0;
  // An intact packet is one whose every frame decodes.
  const bool intact = packet_intact(in, frames);
  if (intact) {
    frame g;
    for (auto rest = frames; !rest.empty();)
      if (decode_frame(rest, g)) __builtin_trap();
  }
  recv_buffer rb(64 * 1024);
  std::vector<std::uint8_t> out(4096);
  while (!frames.empty()) {
    const std::size_t before = frames.size();
    frame f;
    if (decode_frame(frames, f)) break;
    if (frames.size() >= before && f.type != frame_type::padding) __builtin_trap();
    if (f.type == frame_type::ack) {
      if (f.ack.count == 0 || f.ack.count > max_ack_ranges + 1) __builtin_trap();
      for (std::size_t i = 0; i < f.ack.count; ++i) {
        if (f.ack.ranges[i].smallest > f.ack.ranges[i].largest) __builtin_trap();
        if (i > 0 && f.ack.ranges[i].largest >= f.ack.ranges[i - 1].smallest) __builtin_trap();
      }
    }
    if (f.type == frame_type::stream || f.type == frame_type::stream_fin) {
      if (!rb.on_frame(f.stream.offset, f.stream.data, f.type == frame_type::stream_fin))
        while (rb.readable() > 0)
          (void)rb.read(out);
    }
    if (f.type == frame_type::padding) break;
  }
  return 0;
}
