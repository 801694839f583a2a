// ferry-send: send files and directories to a ferry-recv.
#include <csignal>
#include <cstdio>
#include <cstdlib>

#include "sender/options.hpp"
#include "sender/run.hpp"

int main(int argc, char** argv) {
  using namespace ferry;
  const auto parsed = send::parse_options(argc, argv, [](const char* n) { return std::getenv(n); });
  if (const auto* e = std::get_if<send::early_exit>(&parsed)) {
    std::fputs(e->text.c_str(), e->code == 0 ? stdout : stderr);
    return e->code;
  }
  std::signal(SIGPIPE, SIG_IGN);
  return send::run(std::get<send::options>(parsed));
}
