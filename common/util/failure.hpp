// An error as a value: what failed, as a code in its layer's category (net,
// socks5 with the proxy's REP, rudp, framing, fileio), the step it failed
// at, and the words for a person. The layers below the sessions throw it
// and never name an exit code; link::classify() alone turns one into the
// documented exit code, at each program's edge.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <system_error>

namespace ferry {

enum class step : std::uint8_t {
  resolve,    // looking up a name
  connect,    // reaching the peer
  proxy,      // anything with the SOCKS5 proxy
  listen,     // binding the receiver's address
  configure,  // a socket option the user asked for
  handshake,  // from connected to the session's first frame
  transfer,   // the session's frames and content
  local,      // our own files
};

inline const char* to_string(step s) {
  switch (s) {
    case step::resolve:
      return "resolve";
    case step::connect:
      return "connect";
    case step::proxy:
      return "proxy";
    case step::listen:
      return "listen";
    case step::configure:
      return "configure";
    case step::handshake:
      return "handshake";
    case step::transfer:
      return "transfer";
    case step::local:
      return "local";
  }
  return "unknown";
}

class failure : public std::runtime_error {
 public:
  failure(std::error_code code, enum step s, const std::string& message)
      : std::runtime_error(message), code_(code), step_(s), message_(message) {}
  const std::error_code& code() const { return code_; }
  enum step step() const { return step_; }
  /// The whole message: what() stops at a NUL a peer's text may hold.
  const std::string& message() const { return message_; }

 private:
  std::error_code code_;
  enum step step_;
  std::string message_;
};

}  // namespace ferry
