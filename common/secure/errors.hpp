// Errors of the secure channel and of authentication, one category
// ("ferry.secure"). link::classify() maps the auth_* ones to exit code 10,
// key-file problems to 2, a cut stream to 3 and the rest to 5.
#pragma once

#include <system_error>

namespace ferry::secure {

enum class errc {
  // The channel.
  tls_failed = 1,    // the TLS handshake failed (an alert, a bad certificate)
  record_forged,     // a record failed its authentication: changed in transit
  truncated,         // the stream ended without TLS close_notify
  version_mismatch,  // the peer speaks another protocol version
  preamble_altered,  // the preambles each side saw differ
  // Authentication (exit code 10).
  auth_pin_mismatch,    // the receiver's key is not the --pin
  auth_key_changed,     // the receiver's key differs from known_receivers
  auth_refused,         // the receiver did not authorise us
  auth_unknown_sender,  // (receiver) the sender is in no list
  auth_wrong_secret,    // a token or code that did not prove out
  auth_code_burned,     // the code was used up or burned meanwhile
  // Key files (exit code 2: fix the setup).
  key_file,  // unreadable, malformed or too open a key or list file
};

const std::error_category& secure_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), secure_category()};
}

/// Whether `ec` is one of the authentication failures (exit code 10).
bool is_auth_failure(const std::error_code& ec) noexcept;

}  // namespace ferry::secure

template <>
struct std::is_error_code_enum<ferry::secure::errc> : std::true_type {};
