// SOCKS5 (RFC 1928) and its username/password login (RFC 1929) as a pure
// codec: messages in, bytes out, and back. No sockets here; the driver in
// connector.hpp moves the bytes, one message per write.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <system_error>

#include "framing/bytes.hpp"

namespace ferry::socks5 {

using framing::byte_buffer;

enum class error {
  need_more = 1,        // a valid prefix; read more bytes
  bad_version,          // reply's version byte is not 5 (or 1 for the login)
  bad_address_type,     // ATYP not 1, 3 or 4
  name_too_long,        // a domain name over 255 bytes (or empty)
  credential_too_long,  // a user name or password over 255 bytes (or empty user)
  bad_reserved,         // a reserved byte is not zero
  bad_name,             // a name in a reply that is empty or holds a control byte or space
};

const std::error_category& socks5_category() noexcept;
inline std::error_code make_error_code(error e) noexcept {
  return {static_cast<int>(e), socks5_category()};
}

inline constexpr std::uint8_t version = 5;
inline constexpr std::uint8_t method_none = 0x00;
inline constexpr std::uint8_t method_password = 0x02;
inline constexpr std::uint8_t method_unacceptable = 0xff;

enum class command : std::uint8_t { connect = 1, bind = 2, udp_associate = 3 };

/// An address as SOCKS5 carries it: an IPv4 or IPv6 literal, or a name.
struct address {
  std::string host;  // literal ("10.0.0.1", "::1") or a name
  std::uint16_t port = 0;
  friend bool operator==(const address&, const address&) = default;
};

/// Greeting: the methods we offer (no-auth, plus username/password when we
/// have credentials).
void encode_greeting(bool offer_password, byte_buffer& out);

/// The proxy's method selection: VER METHOD.
[[nodiscard]] std::error_code decode_method_selection(std::span<const std::uint8_t> in,
                                                      std::uint8_t& method);

/// RFC 1929 request: VER=1 ULEN UNAME PLEN PASSWD. credential_too_long when
/// either is over 255 bytes or the user is empty; nothing is written then.
[[nodiscard]] std::error_code encode_login(const std::string& user, const std::string& password,
                                           byte_buffer& out);

/// RFC 1929 reply: VER=1 STATUS (0 = success).
[[nodiscard]] std::error_code decode_login_reply(std::span<const std::uint8_t> in,
                                                 std::uint8_t& status);

/// Request: VER CMD RSV ATYP DST.ADDR DST.PORT. An IP literal is sent as
/// ATYP 1 or 4, anything else as a name (ATYP 3); name_too_long otherwise.
[[nodiscard]] std::error_code encode_request(command cmd, const address& dst, byte_buffer& out);

struct reply {
  std::uint8_t rep = 0;  // 0 = succeeded
  address bound;         // BND.ADDR / BND.PORT, in whatever form the proxy chose
  friend bool operator==(const reply&, const reply&) = default;
};

/// Reply: VER REP RSV ATYP BND.ADDR BND.PORT; `consumed` is its length.
[[nodiscard]] std::error_code decode_reply(std::span<const std::uint8_t> in, reply& out,
                                           std::size_t& consumed);

/// Encodes a reply (for scripted proxies in tests).
void encode_reply(const reply& r, byte_buffer& out);

/// UDP request header (RFC 1928 section 7): RSV(2) FRAG ATYP DST PORT.
[[nodiscard]] std::error_code encode_udp_header(const address& dst, byte_buffer& out);

struct udp_header {
  std::uint8_t frag = 0;
  address dst;
  std::size_t length = 0;  // header bytes; the payload follows
  friend bool operator==(const udp_header&, const udp_header&) = default;
};

/// Decodes the header in front of a relayed datagram. A datagram is whole,
/// so a short one is need_more only in the sense that it is truncated.
[[nodiscard]] std::error_code decode_udp_header(std::span<const std::uint8_t> in, udp_header& out);

/// RFC 1928's meaning of a REP code ("connection refused", ...), or
/// "unknown reply code" past 8.
const char* reply_message(std::uint8_t rep);

}  // namespace ferry::socks5

template <>
struct std::is_error_code_enum<ferry::socks5::error> : std::true_type {};
