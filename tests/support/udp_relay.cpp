// ferry-test-udp-relay: a UDP relay that cuts long datagrams short, as some
// widely used SOCKS5 proxies do (they relay at most 2048 bytes of a
// datagram and drop the rest without a word). For the tests of UDP mode
// through such a path.
//
//   ferry-test-udp-relay --truncate BYTES --to HOST:PORT   (a plain relay)
//   ferry-test-udp-relay --truncate BYTES --socks5         (a SOCKS5 server:
//                                                           UDP ASSOCIATE only)
//   [--limit SECONDS]
//
// Listens on 127.0.0.1, port 0, and prints "port N" once listening (for
// --socks5, the TCP port of its SOCKS5 service). Plain: datagrams from the
// first client go to --to, the answers back to that client. --socks5: one
// association at a time, no authentication; the datagrams carry RFC 1928's
// UDP request header (IPv4 destinations only), which the relay removes on
// the way out and adds on the way back; CONNECT and BIND get REP 7. A
// datagram (payload, after the header) longer than --truncate is cut to
// that size in both directions. It exits when the association's TCP
// connection closes (--socks5), or after --limit seconds (default 300).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "ferry-test-udp-relay: %s: %s\n", what, std::strerror(errno));
  std::exit(1);
}

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

int bound_socket(int type, sockaddr_in& at) {
  const int fd = ::socket(AF_INET, type, 0);
  if (fd < 0) die("socket");
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&at), sizeof at) != 0) die("bind");
  socklen_t len = sizeof at;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&at), &len);
  return fd;
}

bool same(const sockaddr_in& a, const sockaddr_in& b) {
  return a.sin_port == b.sin_port && a.sin_addr.s_addr == b.sin_addr.s_addr;
}

// Reads exactly n bytes from a TCP socket (false on EOF or error).
bool read_exact(int fd, std::uint8_t* p, std::size_t n) {
  while (n > 0) {
    const ssize_t k = ::read(fd, p, n);
    if (k <= 0) return false;
    p += k;
    n -= static_cast<std::size_t>(k);
  }
  return true;
}

struct relay {
  std::size_t cut = 2048;
  std::chrono::steady_clock::time_point end;
  std::uint64_t cut_count = 0;

  std::size_t clip(std::size_t n) {
    if (n <= cut) return n;
    ++cut_count;
    return cut;
  }
  bool expired() const { return std::chrono::steady_clock::now() >= end; }
};

// Plain relay: one client, one target.
void run_plain(relay& r, const sockaddr_in& target) {
  sockaddr_in front_at = loopback(0), back_at = loopback(0);
  const int front = bound_socket(SOCK_DGRAM, front_at);
  const int back = bound_socket(SOCK_DGRAM, back_at);
  std::printf("port %u\n", ntohs(front_at.sin_port));
  std::fflush(stdout);
  std::vector<std::uint8_t> buf(70000);
  sockaddr_in client{};
  bool have_client = false;
  while (!r.expired()) {
    pollfd p[2] = {{front, POLLIN, 0}, {back, POLLIN, 0}};
    if (::poll(p, 2, 200) <= 0) continue;
    if (p[0].revents & POLLIN) {
      sockaddr_in from{};
      socklen_t len = sizeof from;
      const ssize_t n =
          ::recvfrom(front, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
      if (n > 0 && (!have_client || same(from, client))) {
        client = from;
        have_client = true;
        ::sendto(back, buf.data(), r.clip(static_cast<std::size_t>(n)), 0,
                 reinterpret_cast<const sockaddr*>(&target), sizeof target);
      }
    }
    if (p[1].revents & POLLIN) {
      const ssize_t n = ::recv(back, buf.data(), buf.size(), 0);
      if (n > 0 && have_client)
        ::sendto(front, buf.data(), r.clip(static_cast<std::size_t>(n)), 0,
                 reinterpret_cast<const sockaddr*>(&client), sizeof client);
    }
  }
}

// One SOCKS5 session: greeting, then UDP ASSOCIATE relayed until the TCP
// connection closes.
void serve_socks5(relay& r, int control) {
  std::uint8_t head[2];
  if (!read_exact(control, head, 2) || head[0] != 5) return;
  std::vector<std::uint8_t> methods(head[1]);
  if (!read_exact(control, methods.data(), methods.size())) return;
  const std::uint8_t no_auth[] = {5, 0};
  if (::write(control, no_auth, 2) != 2) return;
  std::uint8_t req[4];
  if (!read_exact(control, req, 4)) return;
  std::size_t addr_len = req[3] == 1 ? 4 : req[3] == 4 ? 16 : 0;
  if (req[3] == 3) {
    std::uint8_t n = 0;
    if (!read_exact(control, &n, 1)) return;
    addr_len = n;
  }
  std::vector<std::uint8_t> addr(addr_len + 2);
  if (!read_exact(control, addr.data(), addr.size())) return;
  if (req[1] != 3) {  // CONNECT, BIND: not here
    const std::uint8_t refuse[] = {5, 7, 0, 1, 0, 0, 0, 0, 0, 0};
    (void)::write(control, refuse, sizeof refuse);
    return;
  }
  sockaddr_in relay_at = loopback(0), out_at = loopback(0);
  const int front = bound_socket(SOCK_DGRAM, relay_at);
  const int back = bound_socket(SOCK_DGRAM, out_at);
  std::uint8_t ok[10] = {5, 0, 0, 1};
  std::memcpy(ok + 4, &relay_at.sin_addr.s_addr, 4);
  std::memcpy(ok + 8, &relay_at.sin_port, 2);
  if (::write(control, ok, sizeof ok) != sizeof ok) return;

  std::vector<std::uint8_t> buf(70000);
  sockaddr_in client{};
  bool have_client = false;
  while (!r.expired()) {
    pollfd p[3] = {{front, POLLIN, 0}, {back, POLLIN, 0}, {control, POLLIN, 0}};
    if (::poll(p, 3, 200) <= 0) continue;
    if (p[2].revents & (POLLIN | POLLHUP | POLLERR)) {
      std::uint8_t x;
      if (::read(control, &x, 1) <= 0) break;  // the association ends with its connection
    }
    if (p[0].revents & POLLIN) {
      sockaddr_in from{};
      socklen_t len = sizeof from;
      const ssize_t n =
          ::recvfrom(front, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
      // RSV RSV FRAG ATYP=1 ADDR(4) PORT(2) DATA
      if (n > 10 && buf[2] == 0 && buf[3] == 1) {
        client = from;
        have_client = true;
        sockaddr_in dest{};
        dest.sin_family = AF_INET;
        std::memcpy(&dest.sin_addr.s_addr, buf.data() + 4, 4);
        std::memcpy(&dest.sin_port, buf.data() + 8, 2);
        ::sendto(back, buf.data() + 10, r.clip(static_cast<std::size_t>(n) - 10), 0,
                 reinterpret_cast<const sockaddr*>(&dest), sizeof dest);
      }
    }
    if (p[1].revents & POLLIN) {
      sockaddr_in from{};
      socklen_t len = sizeof from;
      const ssize_t n = ::recvfrom(back, buf.data() + 10, buf.size() - 10, 0,
                                   reinterpret_cast<sockaddr*>(&from), &len);
      if (n > 0 && have_client) {
        buf[0] = buf[1] = buf[2] = 0;
        buf[3] = 1;
        std::memcpy(buf.data() + 4, &from.sin_addr.s_addr, 4);
        std::memcpy(buf.data() + 8, &from.sin_port, 2);
        ::sendto(front, buf.data(), 10 + r.clip(static_cast<std::size_t>(n)), 0,
                 reinterpret_cast<const sockaddr*>(&client), sizeof client);
      }
    }
  }
  ::close(front);
  ::close(back);
}

void run_socks5(relay& r) {
  sockaddr_in at = loopback(0);
  const int listener = bound_socket(SOCK_STREAM, at);
  if (::listen(listener, 8) != 0) die("listen");
  std::printf("port %u\n", ntohs(at.sin_port));
  std::fflush(stdout);
  while (!r.expired()) {
    pollfd p{listener, POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) continue;
    const int control = ::accept(listener, nullptr, nullptr);
    if (control < 0) continue;
    serve_socks5(r, control);
    ::close(control);
    std::fprintf(stderr, "ferry-test-udp-relay: association ended, %llu datagrams cut\n",
                 static_cast<unsigned long long>(r.cut_count));
  }
}

}  // namespace

int main(int argc, char** argv) {
  relay r;
  unsigned limit = 300;
  bool socks5 = false;
  sockaddr_in target{};
  bool have_target = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const char* next = i + 1 < argc ? argv[i + 1] : nullptr;
    if (a == "--truncate" && next != nullptr) {
      r.cut = std::strtoul(argv[++i], nullptr, 10);
    } else if (a == "--limit" && next != nullptr) {
      limit = static_cast<unsigned>(std::strtoul(argv[++i], nullptr, 10));
    } else if (a == "--socks5") {
      socks5 = true;
    } else if (a == "--to" && next != nullptr) {
      const std::string hp = argv[++i];
      const auto colon = hp.rfind(':');
      if (colon == std::string::npos) break;
      target.sin_family = AF_INET;
      target.sin_port = htons(static_cast<std::uint16_t>(std::stoi(hp.substr(colon + 1))));
      if (::inet_pton(AF_INET, hp.substr(0, colon).c_str(), &target.sin_addr) != 1) break;
      have_target = true;
    } else {
      std::fprintf(stderr,
                   "usage: ferry-test-udp-relay --truncate BYTES (--to HOST:PORT | "
                   "--socks5) [--limit SECONDS]\n");
      return 2;
    }
  }
  if (!socks5 && !have_target) {
    std::fprintf(stderr, "ferry-test-udp-relay: --to HOST:PORT or --socks5\n");
    return 2;
  }
  r.end = std::chrono::steady_clock::now() + std::chrono::seconds(limit);
  if (socks5)
    run_socks5(r);
  else
    run_plain(r, target);
  return 0;
}
