// ferry-test-offer-flood: many sessions that each offer a long run of
// directories with long paths and nothing else, the way a hostile sender
// would try to make a receiver hold memory. For measuring the receiver's
// peak memory (scripts/measure_offer_flood.sh), not for the test suite.
//
//   ferry-test-offer-flood --port N [--sessions 1] [--offers 1000000]
//                          [--path-bytes 4096] [--limit SECONDS]
//
// Talks to 127.0.0.1:N (a receiver run with --allow-any-sender). Each
// session: handshake, then its offers as fast as the receiver reads them
// (answers drained between batches), then END and BYE. Prints one line per session: accepted,
// rejected, seconds. Stops by itself after --limit seconds (default 900).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <optional>

#include "framing/frame.hpp"
#include "tests/support/wire.hpp"

namespace {

using namespace ferry::framing;
using clock_type = std::chrono::steady_clock;

struct settings {
  std::uint16_t port = 0;
  unsigned sessions = 1;
  std::uint64_t offers = 1'000'000;
  std::size_t path_bytes = 4096;
  clock_type::time_point end;
};

// One session over the scripted peer (tests/support/wire.hpp): TLS and
// the authorisation step, then offers in small batches, draining the
// answers between batches (one thread: a TLS session is not shared).
void run_session(const settings& s, unsigned index) {
  std::optional<ferry::test::wire> w;
  try {
    w.emplace(ferry::test::wire::connect_to(s.port));
  } catch (const std::exception& e) {
    std::printf("session %u: connect failed: %s\n", index, e.what());
    return;
  }
  if (!w->handshake()) {
    std::printf("session %u: handshake failed (is the receiver run with --allow-any-sender?)\n",
                index);
    return;
  }
  std::uint64_t accepted = 0, rejected = 0;
  std::string last_reason;
  bool over = false;
  auto on = [&](const message& m) {
    if (const auto* an = std::get_if<answer>(&m)) {
      if (an->kind == answer_kind::reject) {
        ++rejected;
        if (last_reason.empty()) last_reason = an->reason;
      } else {
        ++accepted;
      }
    }
    if (const auto* e = std::get_if<error_frame>(&m)) last_reason = "ERROR: " + e->message;
    if (std::holds_alternative<bye>(m) || std::holds_alternative<error_frame>(m)) over = true;
  };
  const auto start = clock_type::now();
  // Paths of path_bytes: a shared parent of 200-byte components, then a
  // distinct last one, so that each offer is one new directory.
  std::string parent = "flood" + std::to_string(index);
  while (parent.size() + 1 + 200 + 1 + 20 < s.path_bytes)
    parent += "/" + std::string(200, 'd');
  std::uint64_t sent = 0;
  byte_buffer batch;
  try {
    while (!over && sent < s.offers && clock_type::now() < s.end) {
      batch.clear();
      for (int k = 0; k < 8 && sent < s.offers; ++k, ++sent) {
        std::string path = parent + "/";
        const std::string tail = std::to_string(sent);
        path += std::string(s.path_bytes - path.size() - tail.size(), 'x');
        path += tail;
        encode(
            offer{static_cast<std::uint32_t>(sent), entry_kind::directory, true, 0755, 0, 0, path},
            batch);
      }
      w->send(batch);
      while (!over)
        if (auto m = w->read_frame(std::chrono::milliseconds(0)))
          on(*m);
        else
          break;
    }
    w->send(end{});
    while (!over && clock_type::now() < s.end)
      if (auto m = w->read_frame(std::chrono::milliseconds(1000))) on(*m);
  } catch (const std::exception& e) {
    last_reason = e.what();
  }
  const double secs = std::chrono::duration<double>(clock_type::now() - start).count();
  std::printf(
      "session %u: %llu offers sent, %llu accepted, %llu rejected, %.1f s; first "
      "refusal: %s\n",
      index, static_cast<unsigned long long>(sent), static_cast<unsigned long long>(accepted),
      static_cast<unsigned long long>(rejected), secs, last_reason.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  settings s;
  unsigned limit = 900;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    const char* v = argv[i + 1];
    if (k == "--port")
      s.port = static_cast<std::uint16_t>(std::strtoul(v, nullptr, 10));
    else if (k == "--sessions")
      s.sessions = static_cast<unsigned>(std::strtoul(v, nullptr, 10));
    else if (k == "--offers")
      s.offers = std::strtoull(v, nullptr, 10);
    else if (k == "--path-bytes")
      s.path_bytes = std::strtoul(v, nullptr, 10);
    else if (k == "--limit")
      limit = static_cast<unsigned>(std::strtoul(v, nullptr, 10));
  }
  if (s.port == 0 || s.path_bytes < 300 || s.path_bytes > max_path_bytes) {
    std::fprintf(stderr,
                 "usage: ferry-test-offer-flood --port N [--sessions N] [--offers N] "
                 "[--path-bytes 300..4096] [--limit SECONDS]\n");
    return 2;
  }
  s.end = clock_type::now() + std::chrono::seconds(limit);
  std::vector<std::thread> threads;
  for (unsigned i = 0; i < s.sessions; ++i)
    threads.emplace_back(run_session, std::cref(s), i);
  for (auto& t : threads)
    t.join();
  return 0;
}
