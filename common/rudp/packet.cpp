#include "rudp/packet.hpp"

#include <algorithm>
#include <cstring>

#include "framing/bytes.hpp"

namespace ferry::rudp {

bool cursor::be(std::uint64_t v, std::size_t n) {
  if (room() < n) return false;
  for (std::size_t i = 0; i < n; ++i)
    out_[pos_ + i] = static_cast<std::uint8_t>(v >> (8 * (n - 1 - i)));
  pos_ += n;
  return true;
}

bool cursor::raw(std::span<const std::uint8_t> b) {
  if (room() < b.size()) return false;
  if (!b.empty()) std::memcpy(out_.data() + pos_, b.data(), b.size());
  pos_ += b.size();
  return true;
}

bool cursor::zeros(std::size_t n) {
  if (room() < n) return false;
  std::memset(out_.data() + pos_, 0, n);
  pos_ += n;
  return true;
}

std::error_code peek_type(std::span<const std::uint8_t> in, packet_type& type) {
  if (in.empty()) return error::truncated;
  switch (in[0]) {
    case 0x01:
    case 0x02:
    case 0x03:
    case 0x04:
    case 0x10:
      type = static_cast<packet_type>(in[0]);
      return {};
    default:
      return error::unknown_type;
  }
}

std::error_code peek_dst_cid(std::span<const std::uint8_t> in, std::uint32_t& cid) {
  packet_type t{};
  if (auto ec = peek_type(in, t)) return ec;
  const std::size_t at = t == packet_type::data ? 1 : 6;
  if (in.size() < at + 4) return error::truncated;
  framing::reader r(in.subspan(at, 4));
  cid = r.u32();
  return {};
}

std::size_t encode_handshake(const long_header& h, const handshake_body& b,
                             std::span<std::uint8_t> out, std::size_t pad_to) {
  cursor c(out);
  bool ok = c.u8(static_cast<std::uint8_t>(h.type)) && c.u32(magic) && c.u8(h.version) &&
            c.u32(h.dst_cid) && c.u32(h.src_cid);
  switch (h.type) {
    case packet_type::init:
      ok = ok && c.u16(b.max_packet) && c.u64(b.max_data) && c.u8(b.token_len) &&
           c.raw(b.token_span());
      if (ok && pad_to > c.size()) ok = c.zeros(pad_to - c.size());
      break;
    case packet_type::retry:
      ok = ok && c.u8(b.token_len) && c.raw(b.token_span());
      break;
    case packet_type::accept:
      ok = ok && c.u16(b.max_packet) && c.u64(b.max_data);
      break;
    case packet_type::version:
      ok = ok && c.u8(b.peer_version);
      break;
    case packet_type::data:
      ok = false;
      break;
  }
  return ok ? c.size() : 0;
}

std::error_code decode_handshake(std::span<const std::uint8_t> in, long_header& h,
                                 handshake_body& b) {
  packet_type t{};
  if (auto ec = peek_type(in, t)) return ec;
  if (t == packet_type::data) return error::unknown_type;
  framing::reader r(in);
  r.u8();
  const std::uint32_t m = r.u32();
  if (!r.ok()) return error::truncated;
  if (m != magic) return error::bad_magic;
  h.type = t;
  h.version = r.u8();
  h.dst_cid = r.u32();
  h.src_cid = r.u32();
  if (!r.ok()) return error::truncated;
  b = handshake_body{};
  if (h.version != wire_version) return {};
  auto token = [&]() -> std::error_code {
    b.token_len = r.u8();
    if (!r.ok()) return error::truncated;
    if (b.token_len > max_token_size) return error::bad_frame;
    auto bytes = r.bytes(b.token_len);
    if (!r.ok()) return error::truncated;
    std::copy(bytes.begin(), bytes.end(), b.token.begin());
    return {};
  };
  switch (t) {
    case packet_type::init:
      b.max_packet = r.u16();
      b.max_data = r.u64();
      if (auto ec = token()) return ec;
      break;  // the rest is padding
    case packet_type::retry:
      if (auto ec = token()) return ec;
      break;
    case packet_type::accept:
      b.max_packet = r.u16();
      b.max_data = r.u64();
      break;
    case packet_type::version:
      b.peer_version = r.u8();
      break;
    case packet_type::data:
      break;
  }
  return r.ok() ? std::error_code{} : std::error_code(error::truncated);
}

bool encode_data_header(std::uint32_t dst_cid, std::uint64_t pn, cursor& out) {
  if (out.room() < short_header_size) return false;
  return out.u8(static_cast<std::uint8_t>(packet_type::data)) && out.u32(dst_cid) && out.u64(pn);
}

std::error_code decode_data_header(std::span<const std::uint8_t> in, std::uint32_t& dst_cid,
                                   std::uint64_t& pn, std::span<const std::uint8_t>& frames) {
  if (in.size() < short_header_size) return error::truncated;
  if (in[0] != static_cast<std::uint8_t>(packet_type::data)) return error::unknown_type;
  framing::reader r(in.subspan(1, short_header_size - 1));
  dst_cid = r.u32();
  pn = r.u64();
  frames = in.subspan(short_header_size);
  return {};
}

bool encode_probe(std::uint16_t packet_size, cursor& out) {
  if (out.room() < 3) return false;
  out.u8(static_cast<std::uint8_t>(frame_type::probe));
  out.u16(packet_size);
  return true;
}

bool packet_intact(std::span<const std::uint8_t> packet, std::span<const std::uint8_t> frames) {
  frame f;
  while (!frames.empty()) {
    if (decode_frame(frames, f)) return false;
    if (f.type == frame_type::probe && f.probe_size != packet.size()) return false;
  }
  return true;
}

bool encode_ping(cursor& out) {
  return out.u8(static_cast<std::uint8_t>(frame_type::ping));
}

bool encode_ack(std::span<const ack_range> ranges, std::uint32_t delay_us, cursor& out) {
  if (ranges.empty()) return true;
  constexpr std::size_t fixed = 1 + 8 + 4 + 1 + 4;
  if (out.room() < fixed) return false;
  const std::size_t fit = (out.room() - fixed) / 8;
  std::size_t extra = std::min({ranges.size() - 1, max_ack_ranges, fit});
  const auto& first = ranges[0];
  out.u8(static_cast<std::uint8_t>(frame_type::ack));
  out.u64(first.largest);
  out.u32(delay_us);
  out.u8(static_cast<std::uint8_t>(extra));
  out.u32(static_cast<std::uint32_t>(
      std::min<std::uint64_t>(first.largest - first.smallest, UINT32_MAX)));
  for (std::size_t i = 1; i <= extra; ++i) {
    const auto& prev = ranges[i - 1];
    const auto& cur = ranges[i];
    // gap counts the missing numbers between the ranges, minus one
    out.u32(static_cast<std::uint32_t>(prev.smallest - cur.largest - 2));
    out.u32(static_cast<std::uint32_t>(cur.largest - cur.smallest));
  }
  return true;
}

bool encode_stream_header(std::uint64_t offset, std::uint16_t len, bool fin, cursor& out) {
  if (out.room() < stream_header_size + len) return false;
  const auto t = fin ? frame_type::stream_fin : frame_type::stream;
  return out.u8(static_cast<std::uint8_t>(t)) && out.u64(offset) && out.u16(len);
}

bool encode_max_data(std::uint64_t limit, cursor& out) {
  if (out.room() < 9) return false;
  return out.u8(static_cast<std::uint8_t>(frame_type::max_data)) && out.u64(limit);
}

bool encode_close(close_code code, std::string_view reason, cursor& out) {
  reason = reason.substr(0, max_reason_size);
  if (out.room() < 3 + reason.size()) return false;
  out.u8(static_cast<std::uint8_t>(frame_type::close));
  out.u8(static_cast<std::uint8_t>(code));
  out.u8(static_cast<std::uint8_t>(reason.size()));
  return out.raw({reinterpret_cast<const std::uint8_t*>(reason.data()), reason.size()});
}

std::error_code decode_frame(std::span<const std::uint8_t>& in, frame& f) {
  if (in.empty()) return error::truncated;
  framing::reader r(in);
  const std::uint8_t t = r.u8();
  switch (t) {
    case 0x00:  // padding: the rest of the packet
      f.type = frame_type::padding;
      in = in.subspan(in.size());
      return {};
    case 0x01:
      f.type = frame_type::ping;
      break;
    case 0x02: {
      f.type = frame_type::ack;
      const std::uint64_t largest = r.u64();
      f.ack.delay_us = r.u32();
      const std::size_t extra = r.u8();
      const std::uint64_t first_len = r.u32();
      if (!r.ok()) return error::truncated;
      if (extra > max_ack_ranges || first_len > largest) return error::bad_frame;
      f.ack.count = 0;
      f.ack.ranges[f.ack.count++] = {largest - first_len, largest};
      std::uint64_t smallest = largest - first_len;
      for (std::size_t i = 0; i < extra; ++i) {
        const std::uint64_t gap = r.u32();
        const std::uint64_t len = r.u32();
        if (!r.ok()) return error::truncated;
        if (smallest < gap + 2) return error::bad_frame;
        const std::uint64_t hi = smallest - gap - 2;
        if (len > hi) return error::bad_frame;
        f.ack.ranges[f.ack.count++] = {hi - len, hi};
        smallest = hi - len;
      }
      break;
    }
    case 0x03:
    case 0x04: {
      f.type = t == 0x03 ? frame_type::stream : frame_type::stream_fin;
      f.stream.offset = r.u64();
      const std::size_t len = r.u16();
      f.stream.data = r.bytes(len);
      f.stream.fin = t == 0x04;
      if (!r.ok()) return error::truncated;
      if (f.stream.offset > (std::uint64_t{1} << 62)) return error::bad_frame;
      break;
    }
    case 0x05:
      f.type = frame_type::max_data;
      f.max_data = r.u64();
      break;
    case 0x07:
      f.type = frame_type::probe;
      f.probe_size = r.u16();
      break;
    case 0x06: {
      f.type = frame_type::close;
      f.close.code = static_cast<close_code>(r.u8());
      const std::size_t len = r.u8();
      if (len > max_reason_size) return error::bad_frame;
      auto bytes = r.bytes(len);
      if (!r.ok()) return error::truncated;
      f.close.reason = {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
      break;
    }
    default:
      return error::unknown_type;
  }
  if (!r.ok()) return error::truncated;
  in = in.subspan(in.size() - r.remaining());
  return {};
}

}  // namespace ferry::rudp
