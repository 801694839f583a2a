#include "rudp/error.hpp"

#include <string>

namespace ferry::rudp {
namespace {

class category : public std::error_category {
 public:
  const char* name() const noexcept override { return "rudp"; }
  std::string message(int ev) const override {
    switch (static_cast<error>(ev)) {
      case error::truncated:
        return "truncated packet";
      case error::unknown_type:
        return "unknown packet or frame type";
      case error::bad_magic:
        return "not a ferry packet";
      case error::bad_frame:
        return "malformed frame";
      case error::handshake_timeout:
        return "no answer from the receiver over UDP";
      case error::version_mismatch:
        return "peer speaks another UDP transport version";
      case error::peer_timeout:
        return "peer stopped answering";
      case error::peer_closed:
        return "connection closed by peer";
      case error::protocol_violation:
        return "peer broke the transport protocol";
      case error::flow_control:
        return "peer sent beyond the flow-control window";
      case error::closed:
        return "connection closed";
      case error::proxy_closed:
        return "the proxy ended the UDP association";
      case error::no_room:
        return "no memory left for out-of-order data";
    }
    return "unknown rudp error";
  }
};

}  // namespace

const std::error_category& rudp_category() noexcept {
  static const category c;
  return c;
}

}  // namespace ferry::rudp
