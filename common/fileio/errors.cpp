#include "fileio/errors.hpp"

#include <string>

namespace ferry::fileio {
namespace {

class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "ferry.fileio"; }
  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::shrank:
        return "file shrank while being sent";
      case errc::grew:
        return "file grew while being sent";
      case errc::dir_budget:
        return "too many directories to create";
    }
    return "unknown file error";
  }
};

}  // namespace

const std::error_category& fileio_category() noexcept {
  static const category instance;
  return instance;
}

}  // namespace ferry::fileio
