// The ferry wire protocol (version 3) as a pure codec: messages in, bytes out, and
// back. No sockets, clocks, files or logs here. docs/protocol.md is the
// byte-by-byte description; keep the two in step.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <system_error>
#include <variant>

#include "framing/bytes.hpp"
#include "framing/error.hpp"
#include "util/vocabulary.hpp"

namespace ferry::framing {

// ---- Preamble -------------------------------------------------------------
// Each side's first 8 bytes: "FERRY\0" then its protocol version (u16 BE).
inline constexpr std::array<std::uint8_t, 6> magic = {'F', 'E', 'R', 'R', 'Y', 0};
inline constexpr std::uint16_t protocol_version = 3;
inline constexpr std::size_t preamble_size = 8;

// ---- Frame header ----------------------------------------------------------
// type:u8, length:u32 BE, then `length` payload bytes.
inline constexpr std::size_t header_size = 5;
/// Upper bound on any control frame payload; checked before allocating.
inline constexpr std::uint32_t max_payload = 64 * 1024;
/// Upper bound on the raw content that follows one DATA frame.
inline constexpr std::uint32_t max_data_segment = 16 * 1024 * 1024;
/// Bounds of text fields (bytes); paths: util/vocabulary.hpp.
using ferry::max_path_bytes;
inline constexpr std::size_t max_text_bytes = 1024;

enum class frame_type : std::uint8_t {
  hello = 0x01,       // sender -> receiver, after the preamble
  welcome = 0x02,     // receiver -> sender, answer to hello
  auth = 0x03,        // sender -> receiver, inside TLS: how it proves it may send
  auth_reply = 0x04,  // receiver -> sender: accepted, or CPace's answer
  offer = 0x10,       // sender: an entry it wants to send
  answer = 0x11,      // receiver: what to do with an offer
  data = 0x12,        // sender: `length` raw content bytes follow this frame
  done = 0x13,        // sender: end of a file's content, with its hash
  abort = 0x14,       // sender: gives up on a file it had started
  verdict = 0x15,     // receiver: whether a file was stored
  restart = 0x16,     // sender: the kept prefix differs; content follows from byte 0
  zdata = 0x17,       // sender: `zlength` bytes of zstd follow (feature::compress)
  end = 0x20,         // sender: no more offers
  bye = 0x21,         // receiver: every verdict sent; session over
  keepalive = 0x22,   // either side: busy with local work (hashing), not gone
  error = 0x7f,       // either side: fatal session error, then close
};

using ferry::hash128;

/// Bits of the `features` words. HELLO: what the sender asks for; WELCOME:
/// what the receiver grants (only bits the sender asked for). Unknown bits
/// are ignored; a feature that needs a new field comes with a new version.
namespace feature {
/// DATA_Z segments (zstd) may carry content.
inline constexpr std::uint32_t compress = 1;
/// HELLO carries `to`: the session's entries go under that subdirectory.
inline constexpr std::uint32_t to = 2;
}  // namespace feature

struct hello {
  std::uint32_t features = 0;  // feature:: bits asked for
  std::string agent;           // e.g. "ferry-send/0.1.0", informational
  std::string to;              // with feature::to: a relative path, as an offer's
  friend bool operator==(const hello&, const hello&) = default;
};

struct welcome {
  std::uint32_t features = 0;       // feature:: bits granted
  std::uint64_t max_file_size = 0;  // 0 = no limit
  std::string agent;
  friend bool operator==(const welcome&, const welcome&) = default;
};

// ---- Authorisation (inside TLS, before HELLO) --------------------------------
/// Bound of the proof fields (a CPace message, a tag, an HMAC).
inline constexpr std::size_t max_proof_bytes = 512;
inline constexpr std::size_t binding_size = 32;
using binding_value = std::array<std::uint8_t, binding_size>;

enum class auth_method : std::uint8_t {
  key = 1,           // the sender's TLS key is all it has
  token = 2,         // proof: HMAC-SHA256(token, exporter)
  code = 3,          // proof: CPace MSGa
  code_confirm = 4,  // proof: the sender's CPace confirmation tag
};

struct auth {
  auth_method method = auth_method::key;
  binding_value binding{};  // TLS exporter over both preambles: each side checks it
  std::string proof;
  friend bool operator==(const auth&, const auth&) = default;
};

enum class auth_status : std::uint8_t {
  accepted = 0,       // go on with HELLO
  code_continue = 1,  // CPace: `message` is MSGb, `tag` the receiver's confirmation
};

struct auth_reply {
  auth_status status = auth_status::accepted;
  binding_value binding{};
  std::string message;
  std::string tag;
  friend bool operator==(const auth_reply&, const auth_reply&) = default;
};

using ferry::entry_kind;

struct offer {
  std::uint32_t id = 0;  // sender-chosen, unique within the session
  entry_kind kind = entry_kind::file;
  bool size_known = true;  // false for streams of unknown length (stdin)
  std::uint32_t mode = 0;  // permission bits (0..07777)
  std::int64_t mtime_ns = 0;
  std::uint64_t size = 0;  // bytes; meaningful when size_known
  std::string path;        // relative, '/'-separated, UTF-8
  bool resume = false;     // the receiver may answer resume (a kept part file)
  bool has_hash = false;   // `hash` is the file's XXH3-128 (--skip-identical)
  hash128 hash;
  friend bool operator==(const offer&, const offer&) = default;
};

enum class answer_kind : std::uint8_t {
  accept = 0,  // send the whole content
  skip = 1,    // receiver already has an identical file
  resume = 2,  // send content from `offset`
  reject = 3,  // refused by policy; `reason` says why
};

struct answer {
  std::uint32_t id = 0;
  answer_kind kind = answer_kind::accept;
  std::uint64_t offset = 0;
  std::string reason;
  hash128 prefix_hash;  // resume: XXH3-128 of the kept first `offset` bytes
  friend bool operator==(const answer&, const answer&) = default;
};

/// Header of one content segment; `length` raw bytes follow on the stream.
struct data {
  std::uint32_t id = 0;
  std::uint32_t length = 0;
  friend bool operator==(const data&, const data&) = default;
};

/// Upper bound on the original content of one DATA_Z segment: what the
/// receiver decompresses into is bounded by it, whatever the frame claims.
inline constexpr std::uint32_t max_zdata_segment = 1024 * 1024;
/// Most bytes a DATA_Z of `length` may carry: incompressible content costs
/// zstd a little over its size (block headers, the frame header once).
inline constexpr std::uint64_t zdata_bound(std::uint32_t length) {
  return std::uint64_t{length} + length / 128 + 128;
}

/// Header of a compressed content segment (only once WELCOME granted
/// feature::compress): `zlength` bytes follow, the session's zstd stream
/// from where the previous DATA_Z left it, which decode to exactly
/// `length` bytes of the file (0 < length <= max_zdata_segment,
/// 0 < zlength <= zdata_bound(length)).
struct zdata {
  std::uint32_t id = 0;
  std::uint32_t length = 0;
  std::uint32_t zlength = 0;
  friend bool operator==(const zdata&, const zdata&) = default;
};

struct done {
  std::uint32_t id = 0;
  std::uint64_t size = 0;  // total file size, including a resumed prefix
  hash128 hash;            // XXH3-128 of the whole file
  friend bool operator==(const done&, const done&) = default;
};

struct abort_file {
  std::uint32_t id = 0;
  std::string reason;
  friend bool operator==(const abort_file&, const abort_file&) = default;
};

enum class verdict_kind : std::uint8_t {
  stored = 0,         // verified and renamed into place
  hash_mismatch = 1,  // content did not match the sender's hash
  size_mismatch = 2,  // fewer or more bytes than offered
  io_error = 3,       // the receiver could not write it (reason says why)
  too_large = 4,      // went over --max-file-size / --max-session-bytes
  aborted = 5,        // the sender aborted the file
};

/// The sender's copy differs from the receiver's kept prefix: the receiver
/// drops it and takes the whole content, from byte 0.
struct restart {
  std::uint32_t id = 0;
  friend bool operator==(const restart&, const restart&) = default;
};

struct verdict {
  std::uint32_t id = 0;
  verdict_kind kind = verdict_kind::stored;
  std::string reason;
  friend bool operator==(const verdict&, const verdict&) = default;
};

struct end {
  friend bool operator==(const end&, const end&) = default;
};

/// Sent while a side works locally for long (hashing a large file) so that
/// the peer's idle watchdog knows it is alive. Empty; carries no state.
struct keepalive {
  friend bool operator==(const keepalive&, const keepalive&) = default;
};

struct bye {
  std::uint64_t files_stored = 0;
  std::uint64_t bytes_stored = 0;
  friend bool operator==(const bye&, const bye&) = default;
};

enum class error_code : std::uint16_t {
  protocol = 1,          // peer broke the protocol
  version_mismatch = 2,  // no common protocol version
  limit = 3,             // a session limit was exceeded
  timeout = 4,           // peer was silent too long
  shutdown = 5,          // receiver is stopping
  internal = 6,
  auth_failed = 7,  // the sender was not authorised (or its proof failed)
  refused = 8,      // the receiver's policy refuses what HELLO asks (--to)
};

struct error_frame {
  error_code code = error_code::protocol;
  std::string message;
  friend bool operator==(const error_frame&, const error_frame&) = default;
};

using message = std::variant<hello, welcome, offer, answer, data, done, abort_file, verdict, end,
                             bye, error_frame, restart, keepalive, auth, auth_reply, zdata>;

/// Appends the 8-byte preamble announcing `version`.
void encode_preamble(byte_buffer& out, std::uint16_t version = protocol_version);

/// Decodes a preamble. Returns need_more on a short prefix, bad_magic when the
/// bytes are not ferry's; on success stores the peer's version.
[[nodiscard]] std::error_code decode_preamble(std::span<const std::uint8_t> in,
                                              std::uint16_t& version);

/// Appends one complete frame. Text fields longer than their bound are cut
/// to the bound (paths are checked by the caller before they get here).
void encode(const message& msg, byte_buffer& out);

/// Decodes one frame from the front of `in`. On success stores it in `msg`
/// and the bytes used in `consumed`. Errors: need_more (valid prefix),
/// unknown_type, frame_too_large (checked from the header alone, before any
/// payload is buffered), malformed, string_too_long, bad_value.
[[nodiscard]] std::error_code decode(std::span<const std::uint8_t> in, message& msg,
                                     std::size_t& consumed);

/// Name of a frame type for messages ("offer", "answer", ...).
const char* type_name(const message& msg);

}  // namespace ferry::framing
