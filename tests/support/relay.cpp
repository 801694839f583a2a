// ferry-test-relay: a TCP relay the end-to-end tests put between a sender
// and a receiver on loopback, to make the wire misbehave on purpose.
//
//   ferry-test-relay --to HOST:PORT [--rate BYTES_PER_S] [--corrupt-at N]
//                    [--corrupt-xor MASK] [--limit SECONDS]
//
// Listens on 127.0.0.1, port 0; prints "port N" on stdout once listening.
// Every accepted connection is relayed to --to. Towards the target (the
// sender's direction) it can cap the rate (so a test can act mid-file) and
// flip the bits (all, or those of MASK) of the byte at stream offset N of
// the first connection (a corrupted wire, a rewritten preamble). It exits by itself after --limit
// seconds (default 300).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

namespace {

struct settings {
  sockaddr_in target{};
  double rate = 0;               // bytes/s towards the target; 0 = no cap
  std::int64_t corrupt_at = -1;  // stream offset to flip, first connection only
  unsigned corrupt_xor = 0xff;   // what the flip XORs in (1 turns version 3 into 2)
  unsigned limit_seconds = 300;
};

std::atomic<bool> corrupted{false};

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "ferry-test-relay: %s: %s\n", what, std::strerror(errno));
  std::exit(1);
}

// Copies from `from` to `to` until EOF or an error, then half-closes `to`.
void pump(int from, int to, const settings* s, bool first_connection) {
  char buf[16384];
  std::uint64_t total = 0;
  const auto start = std::chrono::steady_clock::now();
  while (true) {
    std::size_t want = sizeof buf;
    if (s != nullptr && s->rate > 0) want = std::min<std::size_t>(want, 4096);
    const ssize_t n = ::read(from, buf, want);
    if (n <= 0) break;
    if (s != nullptr && first_connection && s->corrupt_at >= 0 && !corrupted) {
      const auto at = static_cast<std::uint64_t>(s->corrupt_at);
      if (at >= total && at < total + static_cast<std::uint64_t>(n)) {
        buf[at - total] = static_cast<char>(buf[at - total] ^ static_cast<char>(s->corrupt_xor));
        corrupted = true;
      }
    }
    for (ssize_t off = 0; off < n;) {
      const ssize_t w = ::write(to, buf + off, static_cast<std::size_t>(n - off));
      if (w <= 0) goto done;
      off += w;
    }
    total += static_cast<std::uint64_t>(n);
    if (s != nullptr && s->rate > 0) {
      const auto due = start + std::chrono::duration<double>(static_cast<double>(total) / s->rate);
      std::this_thread::sleep_until(
          std::chrono::time_point_cast<std::chrono::steady_clock::duration>(due));
    }
  }
done:
  ::shutdown(to, SHUT_WR);
  ::shutdown(from, SHUT_RD);
}

void relay(int client, settings s, bool first) {
  const int up = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (up < 0 || ::connect(up, reinterpret_cast<const sockaddr*>(&s.target), sizeof s.target) != 0) {
    ::close(client);
    if (up >= 0) ::close(up);
    return;
  }
  std::thread down([client, up] { pump(up, client, nullptr, false); });
  pump(client, up, &s, first);
  down.join();
  ::close(up);
  ::close(client);
}

}  // namespace

int main(int argc, char** argv) {
  settings s;
  bool have_target = false;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const std::string value = argv[i + 1];
    if (flag == "--to") {
      const auto colon = value.rfind(':');
      s.target.sin_family = AF_INET;
      s.target.sin_port = htons(static_cast<std::uint16_t>(std::stoi(value.substr(colon + 1))));
      if (colon == std::string::npos ||
          ::inet_pton(AF_INET, value.substr(0, colon).c_str(), &s.target.sin_addr) != 1) {
        std::fprintf(stderr, "ferry-test-relay: --to wants IPV4:PORT\n");
        return 2;
      }
      have_target = true;
    } else if (flag == "--rate") {
      s.rate = std::stod(value);
    } else if (flag == "--corrupt-at") {
      s.corrupt_at = std::stoll(value);
    } else if (flag == "--corrupt-xor") {
      s.corrupt_xor = static_cast<unsigned>(std::stoul(value, nullptr, 0)) & 0xff;
    } else if (flag == "--limit") {
      s.limit_seconds = static_cast<unsigned>(std::stoul(value));
    } else {
      std::fprintf(stderr, "ferry-test-relay: unknown option %s\n", flag.c_str());
      return 2;
    }
  }
  if (!have_target) {
    std::fprintf(stderr,
                 "usage: ferry-test-relay --to IPV4:PORT [--rate B/s] [--corrupt-at N] "
                 "[--corrupt-xor MASK]\n");
    return 2;
  }
  ::alarm(s.limit_seconds);    // never outlive a test that forgot us
  ::signal(SIGPIPE, SIG_IGN);  // a peer gone mid-write ends that relay only

  const int l = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (l < 0 || ::bind(l, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(l, 64) != 0 || ::getsockname(l, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    die("listen");
  std::printf("port %u\n", ntohs(addr.sin_port));
  std::fflush(stdout);
  bool first = true;
  while (true) {
    const int c = ::accept4(l, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) {
      if (errno == EINTR) continue;
      die("accept");
    }
    std::thread(relay, c, s, first).detach();
    first = false;
  }
}
