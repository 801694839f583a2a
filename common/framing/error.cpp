#include "framing/error.hpp"

#include <string>

namespace ferry::framing {
namespace {

class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "ferry.framing"; }
  std::string message(int ev) const override {
    switch (static_cast<error>(ev)) {
      case error::need_more:
        return "need more bytes";
      case error::bad_magic:
        return "not a ferry peer (bad magic)";
      case error::unknown_type:
        return "unknown frame type";
      case error::frame_too_large:
        return "frame length over limit";
      case error::malformed:
        return "malformed frame";
      case error::string_too_long:
        return "text field over limit";
      case error::bad_value:
        return "invalid field value";
    }
    return "unknown framing error";
  }
};

}  // namespace

const std::error_category& framing_category() noexcept {
  static const category instance;
  return instance;
}

}  // namespace ferry::framing
