#include "link/classify.hpp"

#include "fileio/errors.hpp"
#include "framing/error.hpp"
#include "net/errors.hpp"
#include "rudp/error.hpp"
#include "secure/errors.hpp"
#include "socks5/codec.hpp"
#include "socks5/errors.hpp"

namespace ferry::link {

exit_code classify(const std::error_code& code, step at) {
  const auto& cat = code.category();
  // What the user asked for cannot be done (a congestion control the
  // kernel lacks, a name no proxy can carry): fix the command line.
  if (at == step::configure || code == net::errc::not_an_address) return exit_code::usage;
  // Whatever goes wrong with the proxy is the proxy's failure (exit 4).
  if (cat == socks5::proxy_category() || cat == socks5::socks5_category() || at == step::proxy)
    return exit_code::proxy;
  if (cat == framing::framing_category()) return exit_code::protocol;
  if (cat == secure::secure_category()) {
    if (secure::is_auth_failure(code)) return exit_code::auth;
    if (code == secure::errc::key_file) return exit_code::usage;
    // A stream cut without close_notify: the connection broke (or was
    // broken); worth a retry like any lost connection.
    if (code == secure::errc::truncated) return exit_code::connect;
    // Content changed in transit: caught by TLS rather than by the hash.
    if (code == secure::errc::record_forged) return exit_code::integrity;
    return exit_code::protocol;
  }
  if (cat == fileio::fileio_category() || code == net::errc::source_fault || at == step::local)
    return exit_code::local_io;
  if (cat == rudp::rudp_category()) {
    switch (static_cast<rudp::error>(code.value())) {
      case rudp::error::version_mismatch:
      case rudp::error::protocol_violation:  // the peer broke the transport's rules:
      case rudp::error::flow_control:        // not worth a retry
        return exit_code::protocol;
      case rudp::error::handshake_timeout:
        return exit_code::timeout;
      // peer_timeout: the transport's keepalives went unanswered, well
      // within the session's own timeout; a dead peer, not a silent one.
      default:
        return exit_code::connect;
    }
  }
  if (code == net::errc::idle_timeout || code == net::errc::deadline ||
      code == net::errc::timed_out || code == std::errc::timed_out)
    return exit_code::timeout;
  // Resolving, connecting, listening, a connection lost: worth a retry.
  return exit_code::connect;
}

}  // namespace ferry::link
