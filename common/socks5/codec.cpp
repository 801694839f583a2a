#include "socks5/codec.hpp"

#include <algorithm>

#include <arpa/inet.h>

#include <array>

namespace ferry::socks5 {
namespace {

using framing::reader;
using framing::writer;

class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "ferry.socks5"; }
  std::string message(int ev) const override {
    switch (static_cast<error>(ev)) {
      case error::need_more:
        return "need more bytes";
      case error::bad_version:
        return "not a SOCKS5 reply (bad version byte)";
      case error::bad_address_type:
        return "unknown address type in reply";
      case error::name_too_long:
        return "host name empty or over 255 bytes";
      case error::credential_too_long:
        return "user name or password empty or over 255 bytes";
      case error::bad_reserved:
        return "reserved byte not zero";
      case error::bad_name:
        return "host name in reply is empty or holds a control byte";
    }
    return "socks5 error";
  }
};

constexpr std::uint8_t atyp_ipv4 = 1;
constexpr std::uint8_t atyp_name = 3;
constexpr std::uint8_t atyp_ipv6 = 4;

std::error_code encode_address(const address& a, writer& w) {
  std::array<std::uint8_t, 16> raw{};
  if (::inet_pton(AF_INET, a.host.c_str(), raw.data()) == 1) {
    w.u8(atyp_ipv4);
    w.raw(std::span(raw).first(4));
  } else if (::inet_pton(AF_INET6, a.host.c_str(), raw.data()) == 1) {
    w.u8(atyp_ipv6);
    w.raw(raw);
  } else {
    if (a.host.empty() || a.host.size() > 255) return error::name_too_long;
    w.u8(atyp_name);
    w.u8(static_cast<std::uint8_t>(a.host.size()));
    w.raw({reinterpret_cast<const std::uint8_t*>(a.host.data()), a.host.size()});
  }
  w.u16(a.port);
  return {};
}

// Reads ATYP ADDR PORT. need_more when short, bad_address_type otherwise.
std::error_code decode_address(reader& r, address& out) {
  const std::uint8_t atyp = r.u8();
  if (!r.ok()) return error::need_more;
  char text[INET6_ADDRSTRLEN] = {};
  switch (atyp) {
    case atyp_ipv4: {
      const auto b = r.bytes(4);
      if (!r.ok()) return error::need_more;
      ::inet_ntop(AF_INET, b.data(), text, sizeof text);
      out.host = text;
      break;
    }
    case atyp_ipv6: {
      const auto b = r.bytes(16);
      if (!r.ok()) return error::need_more;
      ::inet_ntop(AF_INET6, b.data(), text, sizeof text);
      out.host = text;
      break;
    }
    case atyp_name: {
      const std::size_t n = r.u8();
      const auto b = r.bytes(n);
      if (!r.ok()) return error::need_more;
      // An empty name, or one with a NUL or control byte, is no address
      // (found by fuzz_socks5: "::\0..." reached the resolver as "::").
      if (n == 0 ||
          std::any_of(b.begin(), b.end(), [](std::uint8_t c) { return c <= 0x20 || c == 0x7f; }))
        return error::bad_name;
      out.host.assign(reinterpret_cast<const char*>(b.data()), b.size());
      break;
    }
    default:
      return error::bad_address_type;
  }
  out.port = r.u16();
  return r.ok() ? std::error_code{} : error::need_more;
}

}  // namespace

const std::error_category& socks5_category() noexcept {
  static const category instance;
  return instance;
}

void encode_greeting(bool offer_password, byte_buffer& out) {
  writer w(out);
  w.u8(version);
  if (offer_password) {
    w.u8(2);
    w.u8(method_none);
    w.u8(method_password);
  } else {
    w.u8(1);
    w.u8(method_none);
  }
}

std::error_code decode_method_selection(std::span<const std::uint8_t> in, std::uint8_t& method) {
  if (!in.empty() && in[0] != version) return error::bad_version;
  if (in.size() < 2) return error::need_more;
  method = in[1];
  return {};
}

std::error_code encode_login(const std::string& user, const std::string& password,
                             byte_buffer& out) {
  if (user.empty() || user.size() > 255 || password.size() > 255) return error::credential_too_long;
  writer w(out);
  w.u8(1);
  w.u8(static_cast<std::uint8_t>(user.size()));
  w.raw({reinterpret_cast<const std::uint8_t*>(user.data()), user.size()});
  w.u8(static_cast<std::uint8_t>(password.size()));
  w.raw({reinterpret_cast<const std::uint8_t*>(password.data()), password.size()});
  return {};
}

std::error_code decode_login_reply(std::span<const std::uint8_t> in, std::uint8_t& status) {
  if (!in.empty() && in[0] != 1) return error::bad_version;
  if (in.size() < 2) return error::need_more;
  status = in[1];
  return {};
}

std::error_code encode_request(command cmd, const address& dst, byte_buffer& out) {
  byte_buffer tmp;
  writer w(tmp);
  w.u8(version);
  w.u8(static_cast<std::uint8_t>(cmd));
  w.u8(0);
  if (auto ec = encode_address(dst, w)) return ec;
  out.insert(out.end(), tmp.begin(), tmp.end());
  return {};
}

std::error_code decode_reply(std::span<const std::uint8_t> in, reply& out, std::size_t& consumed) {
  consumed = 0;
  if (!in.empty() && in[0] != version) return error::bad_version;
  if (in.size() > 2 && in[2] != 0) return error::bad_reserved;
  reader r(in);
  r.u8();
  out.rep = r.u8();
  r.u8();
  if (!r.ok()) return error::need_more;
  if (auto ec = decode_address(r, out.bound)) return ec;
  consumed = in.size() - r.remaining();
  return {};
}

void encode_reply(const reply& rp, byte_buffer& out) {
  writer w(out);
  w.u8(version);
  w.u8(rp.rep);
  w.u8(0);
  (void)encode_address(rp.bound, w);
}

std::error_code encode_udp_header(const address& dst, byte_buffer& out) {
  byte_buffer tmp;
  writer w(tmp);
  w.u16(0);
  w.u8(0);
  if (auto ec = encode_address(dst, w)) return ec;
  out.insert(out.end(), tmp.begin(), tmp.end());
  return {};
}

std::error_code decode_udp_header(std::span<const std::uint8_t> in, udp_header& out) {
  reader r(in);
  const auto rsv = r.u16();
  out.frag = r.u8();
  if (!r.ok()) return error::need_more;
  if (rsv != 0) return error::bad_reserved;
  if (auto ec = decode_address(r, out.dst)) return ec;
  out.length = in.size() - r.remaining();
  return {};
}

const char* reply_message(std::uint8_t rep) {
  switch (rep) {
    case 0:
      return "succeeded";
    case 1:
      return "general SOCKS server failure";
    case 2:
      return "connection not allowed by ruleset";
    case 3:
      return "network unreachable";
    case 4:
      return "host unreachable";
    case 5:
      return "connection refused";
    case 6:
      return "TTL expired";
    case 7:
      return "command not supported";
    case 8:
      return "address type not supported";
    default:
      return "unknown reply code";
  }
}

}  // namespace ferry::socks5
