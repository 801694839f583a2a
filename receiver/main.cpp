// ferry-recv: receive files from ferry-send into a directory.
#include <cstdio>
#include <cstdlib>

#include "receiver/options.hpp"
#include "receiver/run.hpp"

int main(int argc, char** argv) {
  using namespace ferry;
  const auto parsed = recv::parse_options(argc, argv, [](const char* n) { return std::getenv(n); });
  if (const auto* e = std::get_if<recv::early_exit>(&parsed)) {
    std::fputs(e->text.c_str(), e->code == 0 ? stdout : stderr);
    return e->code;
  }
  return recv::run(std::get<recv::options>(parsed));
}
