#include "socks5/errors.hpp"

#include <string>

#include "socks5/codec.hpp"

namespace ferry::socks5 {
namespace {

class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "ferry.socks5.proxy"; }
  std::string message(int ev) const override {
    if (ev > 0 && ev < 256) return reply_message(static_cast<std::uint8_t>(ev));
    switch (static_cast<errc>(ev)) {
      case errc::unreachable:
        return "cannot reach the proxy";
      case errc::no_method:
        return "no acceptable authentication method";
      case errc::auth_required:
        return "the proxy requires authentication";
      case errc::auth_refused:
        return "authentication refused";
      case errc::bad_reply:
        return "malformed reply";
      case errc::closed:
        return "the proxy closed the connection";
      case errc::timed_out:
        return "the proxy did not answer in time";
      case errc::too_long:
        return "a field over 255 bytes";
      case errc::local_resolve_failed:
        return "cannot resolve the destination locally";
      default:
        return "unknown SOCKS5 error";
    }
  }
};

}  // namespace

const std::error_category& proxy_category() noexcept {
  static const category instance;
  return instance;
}

}  // namespace ferry::socks5
