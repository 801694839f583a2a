#include "secure/errors.hpp"

#include <string>

namespace ferry::secure {
namespace {

class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "ferry.secure"; }
  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::tls_failed:
        return "TLS handshake failed";
      case errc::record_forged:
        return "a record failed its integrity check (changed in transit)";
      case errc::truncated:
        return "connection closed by peer without TLS close_notify (cut short)";
      case errc::version_mismatch:
        return "protocol version mismatch";
      case errc::preamble_altered:
        return "the preamble was altered in transit";
      case errc::auth_pin_mismatch:
        return "the receiver's key does not match --pin";
      case errc::auth_key_changed:
        return "the receiver's key changed";
      case errc::auth_refused:
        return "the receiver refused to authorise us";
      case errc::auth_unknown_sender:
        return "unknown sender";
      case errc::auth_wrong_secret:
        return "wrong code or token";
      case errc::auth_code_burned:
        return "the code is no longer valid";
      case errc::key_file:
        return "bad key file";
    }
    return "unknown secure-channel error";
  }
};

}  // namespace

const std::error_category& secure_category() noexcept {
  static const category instance;
  return instance;
}

bool is_auth_failure(const std::error_code& ec) noexcept {
  if (ec.category() != secure_category()) return false;
  const auto e = static_cast<errc>(ec.value());
  return e >= errc::auth_pin_mismatch && e <= errc::auth_code_burned;
}

}  // namespace ferry::secure
