// The reliable-UDP packet format as a pure codec (byte layout in
// docs/protocol.md, "UDP transport"). Every datagram is one packet; there is
// no "need more": a packet is whole or malformed.
//
// Handshake packets carry a long header:
//   u8 type | u32 magic "FRDP" | u8 version | u32 dst_cid | u32 src_cid | body
// Data packets a short one, followed by frames:
//   u8 type=0x10 | u32 dst_cid | u64 packet_number | frame...
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <system_error>

#include "rudp/error.hpp"

namespace ferry::rudp {

inline constexpr std::uint32_t magic = 0x46524450;  // "FRDP"
/// 2 added the PROBE frame (a packet that states its own size).
inline constexpr std::uint8_t wire_version = 2;
inline constexpr std::size_t long_header_size = 14;
inline constexpr std::size_t short_header_size = 13;
inline constexpr std::size_t max_token_size = 32;
inline constexpr std::size_t max_reason_size = 200;
inline constexpr std::size_t max_ack_ranges = 32;  // ranges in one ACK frame
/// Smallest INIT a receiver answers: its answers are far shorter, so a
/// spoofed INIT can never make it send more bytes than it received.
inline constexpr std::size_t min_init_size = 512;
/// Smallest and largest packet (datagram payload without a SOCKS5 header).
inline constexpr std::size_t min_packet_size = 600;
inline constexpr std::size_t max_packet_size = 65000;

enum class packet_type : std::uint8_t {
  init = 0x01,     // client -> server: open, optionally with a retry token
  retry = 0x02,    // server -> client: come back with this token (stateless)
  accept = 0x03,   // server -> client: connection established
  version = 0x04,  // server -> client: versions I speak (stateless)
  data = 0x10,     // either way: frames
};

enum class frame_type : std::uint8_t {
  padding = 0x00,  // to the end of the packet
  ping = 0x01,     // asks for an ACK
  ack = 0x02,      // u64 largest | u32 delay_us | u8 extra | u32 first | extra x (u32 gap, u32 len)
  stream = 0x03,   // u64 offset | u16 length | bytes
  stream_fin = 0x04,  // as stream; the stream ends after these bytes
  max_data = 0x05,    // u64: the peer may send stream bytes below this offset
  close = 0x06,       // u8 code | u8 reason length | reason
  probe = 0x07,       // u16: the size of the packet it is in (path MTU probe)
};

/// CLOSE codes.
enum class close_code : std::uint8_t { normal = 0, protocol = 1, timeout = 2, internal = 3 };

struct long_header {
  packet_type type = packet_type::init;
  std::uint8_t version = 0;
  std::uint32_t dst_cid = 0;
  std::uint32_t src_cid = 0;
};

/// Body of INIT, RETRY, ACCEPT and VERSION (fields not used by a type are 0).
struct handshake_body {
  std::uint16_t max_packet = 0;  // INIT: the client's; ACCEPT: the agreed size
  std::uint64_t max_data = 0;    // INIT/ACCEPT: initial flow-control window granted
  std::uint8_t token_len = 0;    // INIT/RETRY
  std::array<std::uint8_t, max_token_size> token{};
  std::uint8_t peer_version = 0;  // VERSION: the version the server speaks
  std::span<const std::uint8_t> token_span() const { return {token.data(), token_len}; }
};

struct ack_range {
  std::uint64_t smallest = 0;  // inclusive
  std::uint64_t largest = 0;   // inclusive
};

/// A decoded ACK frame: ranges from the highest down, disjoint.
struct ack_frame {
  std::uint32_t delay_us = 0;
  std::size_t count = 0;
  std::array<ack_range, max_ack_ranges + 1> ranges{};
};

struct stream_frame {
  std::uint64_t offset = 0;
  std::span<const std::uint8_t> data;
  bool fin = false;
};

struct close_frame {
  close_code code = close_code::normal;
  std::string_view reason;
};

/// One frame of a data packet; which member holds is given by `type`.
struct frame {
  frame_type type = frame_type::padding;
  ack_frame ack;
  stream_frame stream;
  std::uint64_t max_data = 0;
  close_frame close;
  std::uint16_t probe_size = 0;  // PROBE: the packet's size as sent
};

/// Writes into a fixed buffer; every put fails (returns false, writes
/// nothing) when the field does not fit.
class cursor {
 public:
  explicit cursor(std::span<std::uint8_t> out) : out_(out) {}
  bool u8(std::uint8_t v) { return be(v, 1); }
  bool u16(std::uint16_t v) { return be(v, 2); }
  bool u32(std::uint32_t v) { return be(v, 4); }
  bool u64(std::uint64_t v) { return be(v, 8); }
  bool raw(std::span<const std::uint8_t> b);
  bool zeros(std::size_t n);
  std::size_t size() const { return pos_; }
  std::size_t room() const { return out_.size() - pos_; }
  std::uint8_t* here() { return out_.data() + pos_; }
  void advance(std::size_t n) { pos_ += n; }

 private:
  bool be(std::uint64_t v, std::size_t n);
  std::span<std::uint8_t> out_;
  std::size_t pos_ = 0;
};

/// Type of a datagram from its first byte; unknown_type for anything else.
[[nodiscard]] std::error_code peek_type(std::span<const std::uint8_t> in, packet_type& type);

/// Destination connection id of any packet (both headers put it at the same
/// place only after the magic, so this reads per type).
[[nodiscard]] std::error_code peek_dst_cid(std::span<const std::uint8_t> in, std::uint32_t& cid);

/// Encodes a handshake packet. INIT is padded with zeros to `pad_to` bytes.
/// Returns the packet size, 0 when `out` is too small.
std::size_t encode_handshake(const long_header& h, const handshake_body& b,
                             std::span<std::uint8_t> out, std::size_t pad_to = 0);

/// Decodes a handshake packet. bad_magic when the magic differs; the
/// version is returned as found (the caller decides what it accepts), and
/// the body is decoded only for version 1.
[[nodiscard]] std::error_code decode_handshake(std::span<const std::uint8_t> in, long_header& h,
                                               handshake_body& b);

/// Writes a data packet's short header.
bool encode_data_header(std::uint32_t dst_cid, std::uint64_t pn, cursor& out);

/// Decodes a data packet's short header; `frames` is what follows it.
[[nodiscard]] std::error_code decode_data_header(std::span<const std::uint8_t> in,
                                                 std::uint32_t& dst_cid, std::uint64_t& pn,
                                                 std::span<const std::uint8_t>& frames);

/// Frame encoders: false (nothing written) when the frame does not fit.
bool encode_ping(cursor& out);
/// Writes at most max_ack_ranges+1 ranges of `ranges` (highest first) and
/// as many as fit.
bool encode_ack(std::span<const ack_range> ranges, std::uint32_t delay_us, cursor& out);
/// Stream frame header for `len` bytes the caller then writes at out.here().
bool encode_stream_header(std::uint64_t offset, std::uint16_t len, bool fin, cursor& out);
inline constexpr std::size_t stream_header_size = 11;
bool encode_max_data(std::uint64_t limit, cursor& out);
bool encode_close(close_code code, std::string_view reason, cursor& out);
/// PROBE: the packet it is in is `packet_size` bytes; a receiver that gets
/// fewer knows the packet was cut on the way.
bool encode_probe(std::uint16_t packet_size, cursor& out);

/// Whether every frame of a data packet decodes and the packet is as long
/// as a PROBE frame in it says. A packet that fails is dropped whole (as
/// if lost): a proxy that cuts long datagrams must not end the connection,
/// and a cut probe must not pass for a size the path carries.
[[nodiscard]] bool packet_intact(std::span<const std::uint8_t> packet,
                                 std::span<const std::uint8_t> frames);

/// Decodes the next frame from `in` and advances it. Spans in `f` point
/// into the datagram.
[[nodiscard]] std::error_code decode_frame(std::span<const std::uint8_t>& in, frame& f);

}  // namespace ferry::rudp
