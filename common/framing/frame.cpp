#include "framing/frame.hpp"

#include <algorithm>
#include <type_traits>

namespace ferry::framing {
namespace {

// OFFER flag bits; any other bit set is a bad value.
constexpr std::uint8_t offer_size_known = 1;
constexpr std::uint8_t offer_resume = 2;
constexpr std::uint8_t offer_has_hash = 4;
constexpr std::uint8_t offer_flags = offer_size_known | offer_resume | offer_has_hash;

template <class T>
constexpr frame_type type_of() {
  if constexpr (std::is_same_v<T, hello>) return frame_type::hello;
  if constexpr (std::is_same_v<T, welcome>) return frame_type::welcome;
  if constexpr (std::is_same_v<T, offer>) return frame_type::offer;
  if constexpr (std::is_same_v<T, answer>) return frame_type::answer;
  if constexpr (std::is_same_v<T, data>) return frame_type::data;
  if constexpr (std::is_same_v<T, done>) return frame_type::done;
  if constexpr (std::is_same_v<T, abort_file>) return frame_type::abort;
  if constexpr (std::is_same_v<T, verdict>) return frame_type::verdict;
  if constexpr (std::is_same_v<T, end>) return frame_type::end;
  if constexpr (std::is_same_v<T, bye>) return frame_type::bye;
  if constexpr (std::is_same_v<T, error_frame>) return frame_type::error;
  if constexpr (std::is_same_v<T, restart>) return frame_type::restart;
  if constexpr (std::is_same_v<T, keepalive>) return frame_type::keepalive;
  if constexpr (std::is_same_v<T, auth>) return frame_type::auth;
  if constexpr (std::is_same_v<T, auth_reply>) return frame_type::auth_reply;
  if constexpr (std::is_same_v<T, zdata>) return frame_type::zdata;
}

std::string_view clip(std::string_view s, std::size_t max) {
  return s.substr(0, max);
}

void encode_payload(writer& w, const hello& m) {
  w.u32(m.features);
  w.str16(clip(m.agent, max_text_bytes));
  if ((m.features & feature::to) != 0) w.str16(clip(m.to, max_path_bytes));
}
void encode_payload(writer& w, const welcome& m) {
  w.u32(m.features);
  w.u64(m.max_file_size);
  w.str16(clip(m.agent, max_text_bytes));
}
void encode_payload(writer& w, const offer& m) {
  w.u32(m.id);
  w.u8(static_cast<std::uint8_t>(m.kind));
  w.u8((m.size_known ? offer_size_known : 0) | (m.resume ? offer_resume : 0) |
       (m.has_hash ? offer_has_hash : 0));
  w.u32(m.mode);
  w.i64(m.mtime_ns);
  w.u64(m.size);
  w.u64(m.hash.high);
  w.u64(m.hash.low);
  w.str16(clip(m.path, max_path_bytes));
}
void encode_payload(writer& w, const answer& m) {
  w.u32(m.id);
  w.u8(static_cast<std::uint8_t>(m.kind));
  w.u64(m.offset);
  w.u64(m.prefix_hash.high);
  w.u64(m.prefix_hash.low);
  w.str16(clip(m.reason, max_text_bytes));
}
void encode_payload(writer& w, const data& m) {
  w.u32(m.id);
  w.u32(m.length);
}
void encode_payload(writer& w, const zdata& m) {
  w.u32(m.id);
  w.u32(m.length);
  w.u32(m.zlength);
}
void encode_payload(writer& w, const done& m) {
  w.u32(m.id);
  w.u64(m.size);
  w.u64(m.hash.high);
  w.u64(m.hash.low);
}
void encode_payload(writer& w, const abort_file& m) {
  w.u32(m.id);
  w.str16(clip(m.reason, max_text_bytes));
}
void encode_payload(writer& w, const verdict& m) {
  w.u32(m.id);
  w.u8(static_cast<std::uint8_t>(m.kind));
  w.str16(clip(m.reason, max_text_bytes));
}
void encode_payload(writer& w, const restart& m) {
  w.u32(m.id);
}
void encode_payload(writer&, const end&) {}
void encode_payload(writer&, const keepalive&) {}
void encode_payload(writer& w, const bye& m) {
  w.u64(m.files_stored);
  w.u64(m.bytes_stored);
}
void encode_payload(writer& w, const auth& m) {
  w.u8(static_cast<std::uint8_t>(m.method));
  w.raw(m.binding);
  w.str16(clip(m.proof, max_proof_bytes));
}
void encode_payload(writer& w, const auth_reply& m) {
  w.u8(static_cast<std::uint8_t>(m.status));
  w.raw(m.binding);
  w.str16(clip(m.message, max_proof_bytes));
  w.str16(clip(m.tag, max_proof_bytes));
}
void encode_payload(writer& w, const error_frame& m) {
  w.u16(static_cast<std::uint16_t>(m.code));
  w.str16(clip(m.message, max_text_bytes));
}

// The 32-byte binding of the authorisation frames (left zero when short).
binding_value read_binding(reader& r) {
  binding_value out{};
  const auto b = r.bytes(binding_size);
  std::copy(b.begin(), b.end(), out.begin());
  return out;
}

// Each decoder reads its fields; the caller checks r.ok() and r.at_end().
bool valid_kind(std::uint8_t v) {
  return v == 1 || v == 2;
}

std::error_code decode_payload(reader& r, frame_type t, message& out) {
  switch (t) {
    case frame_type::hello: {
      hello m;
      m.features = r.u32();
      m.agent = r.str16(max_text_bytes);
      if ((m.features & feature::to) != 0) m.to = r.str16(max_path_bytes);
      out = std::move(m);
      break;
    }
    case frame_type::welcome: {
      welcome m;
      m.features = r.u32();
      m.max_file_size = r.u64();
      m.agent = r.str16(max_text_bytes);
      out = std::move(m);
      break;
    }
    case frame_type::offer: {
      offer m;
      m.id = r.u32();
      const auto kind = r.u8();
      const auto flags = r.u8();
      m.mode = r.u32();
      m.mtime_ns = r.i64();
      m.size = r.u64();
      m.hash.high = r.u64();
      m.hash.low = r.u64();
      m.path = r.str16(max_path_bytes);
      if (r.ok() && (!valid_kind(kind) || (flags & ~offer_flags) != 0 || m.mode > 07777))
        return error::bad_value;
      m.kind = static_cast<entry_kind>(kind);
      m.size_known = (flags & offer_size_known) != 0;
      m.resume = (flags & offer_resume) != 0;
      m.has_hash = (flags & offer_has_hash) != 0;
      out = std::move(m);
      break;
    }
    case frame_type::answer: {
      answer m;
      m.id = r.u32();
      const auto kind = r.u8();
      m.offset = r.u64();
      m.prefix_hash.high = r.u64();
      m.prefix_hash.low = r.u64();
      m.reason = r.str16(max_text_bytes);
      if (r.ok() && kind > 3) return error::bad_value;
      m.kind = static_cast<answer_kind>(kind);
      out = std::move(m);
      break;
    }
    case frame_type::data: {
      data m;
      m.id = r.u32();
      m.length = r.u32();
      if (r.ok() && m.length > max_data_segment) return error::frame_too_large;
      out = m;
      break;
    }
    case frame_type::zdata: {
      zdata m;
      m.id = r.u32();
      m.length = r.u32();
      m.zlength = r.u32();
      if (r.ok() && m.length > max_zdata_segment) return error::frame_too_large;
      if (r.ok() && (m.length == 0 || m.zlength == 0 || m.zlength > zdata_bound(m.length)))
        return error::bad_value;
      out = m;
      break;
    }
    case frame_type::done: {
      done m;
      m.id = r.u32();
      m.size = r.u64();
      m.hash.high = r.u64();
      m.hash.low = r.u64();
      out = m;
      break;
    }
    case frame_type::abort: {
      abort_file m;
      m.id = r.u32();
      m.reason = r.str16(max_text_bytes);
      out = std::move(m);
      break;
    }
    case frame_type::verdict: {
      verdict m;
      m.id = r.u32();
      const auto kind = r.u8();
      m.reason = r.str16(max_text_bytes);
      if (r.ok() && kind > 5) return error::bad_value;
      m.kind = static_cast<verdict_kind>(kind);
      out = std::move(m);
      break;
    }
    case frame_type::restart: {
      restart m;
      m.id = r.u32();
      out = m;
      break;
    }
    case frame_type::end:
      out = end{};
      break;
    case frame_type::keepalive:
      out = keepalive{};
      break;
    case frame_type::bye: {
      bye m;
      m.files_stored = r.u64();
      m.bytes_stored = r.u64();
      out = m;
      break;
    }
    case frame_type::auth: {
      auth m;
      const auto method = r.u8();
      m.binding = read_binding(r);
      m.proof = r.str16(max_proof_bytes);
      if (r.ok() && (method < 1 || method > 4)) return error::bad_value;
      m.method = static_cast<auth_method>(method);
      out = std::move(m);
      break;
    }
    case frame_type::auth_reply: {
      auth_reply m;
      const auto status = r.u8();
      m.binding = read_binding(r);
      m.message = r.str16(max_proof_bytes);
      m.tag = r.str16(max_proof_bytes);
      if (r.ok() && status > 1) return error::bad_value;
      m.status = static_cast<auth_status>(status);
      out = std::move(m);
      break;
    }
    case frame_type::error: {
      error_frame m;
      m.code = static_cast<error_code>(r.u16());
      m.message = r.str16(max_text_bytes);
      out = std::move(m);
      break;
    }
    default:
      return error::unknown_type;
  }
  if (r.too_long()) return error::string_too_long;
  if (!r.ok() || !r.at_end()) return error::malformed;
  return {};
}

bool known_type(std::uint8_t t) {
  switch (static_cast<frame_type>(t)) {
    case frame_type::hello:
    case frame_type::welcome:
    case frame_type::offer:
    case frame_type::answer:
    case frame_type::data:
    case frame_type::done:
    case frame_type::abort:
    case frame_type::verdict:
    case frame_type::end:
    case frame_type::bye:
    case frame_type::error:
    case frame_type::restart:
    case frame_type::keepalive:
    case frame_type::auth:
    case frame_type::auth_reply:
    case frame_type::zdata:
      return true;
  }
  return false;
}

}  // namespace

void encode_preamble(byte_buffer& out, std::uint16_t version) {
  writer w(out);
  w.raw(magic);
  w.u16(version);
}

std::error_code decode_preamble(std::span<const std::uint8_t> in, std::uint16_t& version) {
  // Reject a wrong magic as early as the first differing byte.
  const std::size_t n = std::min(in.size(), magic.size());
  if (!std::equal(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(n), magic.begin()))
    return error::bad_magic;
  if (in.size() < preamble_size) return error::need_more;
  reader r(in.subspan(magic.size(), 2));
  version = r.u16();
  return {};
}

void encode(const message& msg, byte_buffer& out) {
  std::visit(
      [&out](const auto& m) {
        using T = std::decay_t<decltype(m)>;
        const std::size_t start = out.size();
        writer w(out);
        w.u8(static_cast<std::uint8_t>(type_of<T>()));
        w.u32(0);  // length, patched below
        encode_payload(w, m);
        const auto len = static_cast<std::uint32_t>(out.size() - start - header_size);
        for (std::size_t i = 0; i < 4; ++i)
          out[start + 1 + i] = static_cast<std::uint8_t>(len >> (8 * (3 - i)));
      },
      msg);
}

std::error_code decode(std::span<const std::uint8_t> in, message& msg, std::size_t& consumed) {
  consumed = 0;
  if (in.empty()) return error::need_more;
  if (!known_type(in[0])) return error::unknown_type;
  if (in.size() < header_size) return error::need_more;
  reader h(in.first(header_size));
  const auto type = static_cast<frame_type>(h.u8());
  const std::uint32_t length = h.u32();
  if (length > max_payload) return error::frame_too_large;
  if (in.size() - header_size < length) return error::need_more;
  reader r(in.subspan(header_size, length));
  if (auto ec = decode_payload(r, type, msg)) return ec;
  consumed = header_size + length;
  return {};
}

const char* type_name(const message& msg) {
  static constexpr const char* names[] = {
      "hello", "welcome", "offer", "answer",  "data",      "done", "abort",      "verdict",
      "end",   "bye",     "error", "restart", "keepalive", "auth", "auth_reply", "zdata"};
  return names[msg.index()];
}

}  // namespace ferry::framing
