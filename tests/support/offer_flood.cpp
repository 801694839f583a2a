// ferry-test-offer-flood: many sessions that each offer a long run of
// directories with long paths and nothing else, the way a hostile sender
// would try to make a receiver hold memory. For measuring the receiver's
// peak memory (scripts/measure_offer_flood.sh), not for the test suite.
//
//   ferry-test-offer-flood --port N [--sessions 1] [--offers 1000000]
//                          [--path-bytes 4096] [--limit SECONDS]
//
// Talks to 127.0.0.1:N. Each session: handshake, then its offers as fast as
// the receiver reads them (answers are read concurrently), then END and
// BYE. Prints one line per session: accepted, rejected, seconds. Stops by
// itself after --limit seconds (default 900).
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

#include "framing/frame.hpp"

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

bool write_all(int fd, const std::uint8_t* p, std::size_t n) {
  while (n > 0) {
    const ssize_t k = ::send(fd, p, n, MSG_NOSIGNAL);
    if (k <= 0) return false;
    p += k;
    n -= static_cast<std::size_t>(k);
  }
  return true;
}

// Reads frames from `fd` into a buffer; calls `on` for each; stops at EOF,
// BYE, ERROR or the deadline.
template <class On>
void read_frames(int fd, const settings& s, On on) {
  std::vector<std::uint8_t> buf;
  std::uint8_t tmp[65536];
  bool preamble = false;
  while (clock_type::now() < s.end) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) continue;
    const ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
    if (n <= 0) return;
    buf.insert(buf.end(), tmp, tmp + n);
    std::size_t at = 0;
    if (!preamble) {
      if (buf.size() < preamble_size) continue;
      at = preamble_size;
      preamble = true;
    }
    while (true) {
      message m;
      std::size_t used = 0;
      if (decode({buf.data() + at, buf.size() - at}, m, used)) break;
      at += used;
      if (!on(m)) return;
    }
    buf.erase(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(at));
  }
}

void run_session(const settings& s, unsigned index) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(s.port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) {
    std::printf("session %u: connect failed: %s\n", index, std::strerror(errno));
    return;
  }
  byte_buffer out;
  encode_preamble(out);
  encode(hello{0, "offer-flood"}, out);
  write_all(fd, out.data(), out.size());

  std::atomic<std::uint64_t> accepted{0}, rejected{0};
  std::atomic<bool> welcomed{false}, over{false};
  std::string last_reason;
  const auto start = clock_type::now();
  std::thread reader([&] {
    read_frames(fd, s, [&](const message& m) {
      if (std::holds_alternative<welcome>(m)) welcomed = true;
      if (const auto* an = std::get_if<answer>(&m)) {
        if (an->kind == answer_kind::reject) {
          ++rejected;
          if (last_reason.empty()) last_reason = an->reason;
        } else {
          ++accepted;
        }
      }
      if (const auto* e = std::get_if<error_frame>(&m)) last_reason = "ERROR: " + e->message;
      return !std::holds_alternative<bye>(m) && !std::holds_alternative<error_frame>(m);
    });
    over = true;
  });
  while (!welcomed && !over && clock_type::now() < s.end)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));

  // Paths of path_bytes: a shared parent of 200-byte components, then a
  // distinct last one, so that each offer is one new directory.
  std::string parent = "flood" + std::to_string(index);
  while (parent.size() + 1 + 200 + 1 + 20 < s.path_bytes)
    parent += "/" + std::string(200, 'd');
  std::uint64_t sent = 0;
  byte_buffer batch;
  while (!over && sent < s.offers && clock_type::now() < s.end) {
    batch.clear();
    for (int k = 0; k < 64 && sent < s.offers; ++k, ++sent) {
      std::string path = parent + "/";
      const std::string tail = std::to_string(sent);
      path += std::string(s.path_bytes - path.size() - tail.size(), 'x');
      path += tail;
      encode(offer{static_cast<std::uint32_t>(sent), entry_kind::directory, true, 0755, 0, 0, path},
             batch);
    }
    if (!write_all(fd, batch.data(), batch.size())) break;
  }
  batch.clear();
  encode(end{}, batch);
  write_all(fd, batch.data(), batch.size());
  reader.join();
  ::close(fd);
  const double secs = std::chrono::duration<double>(clock_type::now() - start).count();
  std::printf(
      "session %u: %llu offers sent, %llu accepted, %llu rejected, %.1f s; first "
      "refusal: %s\n",
      index, static_cast<unsigned long long>(sent),
      static_cast<unsigned long long>(accepted.load()),
      static_cast<unsigned long long>(rejected.load()), secs, last_reason.c_str());
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
