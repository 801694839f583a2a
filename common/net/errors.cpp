#include "net/errors.hpp"

#include <string>

namespace ferry::net {
namespace {

class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "ferry.net"; }
  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::idle_timeout:
        return "no progress from the peer within the timeout";
      case errc::deadline:
        return "deadline passed";
      case errc::timed_out:
        return "timed out";
      case errc::closed:
        return "connection closed by peer";
      case errc::not_an_address:
        return "not an IP address";
      case errc::source_fault:
        return "a file being sent shrank under us";
    }
    return "unknown network error";
  }
};

}  // namespace

const std::error_category& net_category() noexcept {
  static const category instance;
  return instance;
}

}  // namespace ferry::net
