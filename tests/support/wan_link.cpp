// ferry-test-wan: a long, fat, lossy link in user space, between two TUN
// devices, for tests and benchmarks on a kernel without netem (issue 17).
//
//   ferry-test-wan --a NAME --b NAME --rate BITS [--delay MS] [--jitter MS]
//                  [--loss PERCENT] [--queue MS] [--reorder PERCENT]
//                  [--seed N] [--limit SECONDS]
//
// Opens two TUN devices (IFF_TUN, no packet information) and prints "ready"
// once both exist; scripts/lib/wan.sh then moves each into its own network
// namespace and gives it an address (the descriptors stay with us). Every
// packet read from one is written to the other after the emulated link,
// each direction on its own:
//   loss     seeded, independent per packet (--loss, percent, default 0);
//   rate     a serialiser at --rate bits/s (K, M, G suffixes);
//   queue    drop-tail: a packet that would wait longer than --queue ms
//            (default 100) behind the serialiser is dropped;
//   delay    a fixed one-way delay (--delay ms, default 0) plus a uniform
//            jitter of 0..--jitter ms that never reorders packets, unless
//            --reorder sends that share of packets --jitter + 1 ms late.
// On SIGINT or SIGTERM, or after --limit seconds (default 600), it prints
// per direction: packets in, lost (random), queue drops, out, bytes out;
// then exits, and the devices vanish with their descriptors. SIGUSR1 prints
// the a-to-b counters so far ("snapshot a_to_b: ...") and goes on.
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <queue>
#include <random>
#include <string>
#include <vector>

namespace {

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "ferry-test-wan: %s: %s\n", what.c_str(), std::strerror(errno));
  std::exit(1);
}

[[noreturn]] void usage(const std::string& what) {
  std::fprintf(stderr, "ferry-test-wan: %s\n", what.c_str());
  std::exit(2);
}

std::int64_t now_ns() {
  timespec t{};
  clock_gettime(CLOCK_MONOTONIC, &t);
  return std::int64_t{t.tv_sec} * 1'000'000'000 + t.tv_nsec;
}

// "100M" -> 100000000.
double parse_rate(const std::string& s) {
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  const std::string unit = end;
  if (unit == "K" || unit == "k")
    v *= 1e3;
  else if (unit == "M" || unit == "m")
    v *= 1e6;
  else if (unit == "G" || unit == "g")
    v *= 1e9;
  else if (!unit.empty())
    usage("--rate: expected bits/s such as 100M, not '" + s + "'");
  if (v <= 0) usage("--rate: must be positive");
  return v;
}

int open_tun(const std::string& name) {
  const int fd = ::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) die("/dev/net/tun");
  ifreq ifr{};
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  if (name.size() >= IFNAMSIZ) usage("device name too long: " + name);
  std::memcpy(ifr.ifr_name, name.data(), name.size());
  if (::ioctl(fd, TUNSETIFF, &ifr) != 0) die("TUNSETIFF " + name);
  return fd;
}

struct packet {
  std::int64_t release = 0;
  std::uint64_t order = 0;  // ties leave in arrival order
  std::vector<std::uint8_t> bytes;
  bool operator>(const packet& o) const {
    return release != o.release ? release > o.release : order > o.order;
  }
};

struct settings {
  double rate = 0;
  std::int64_t delay = 0, jitter = 0, queue = 100'000'000;
  double loss = 0, reorder = 0;
};

// One direction of the link.
class direction {
 public:
  direction(const settings& s, std::uint64_t seed) : s_(s), rng_(seed) {}

  void arrive(std::vector<std::uint8_t> bytes, std::int64_t now) {
    ++in_;
    if (chance() < s_.loss) {
      ++lost_;
      return;
    }
    const auto serialise =
        static_cast<std::int64_t>(static_cast<double>(bytes.size()) * 8e9 / s_.rate);
    const std::int64_t start = std::max(now, busy_until_);
    if (start - now > s_.queue || held_ > max_held) {
      ++queue_drops_;
      return;
    }
    busy_until_ = start + serialise;
    std::int64_t release = busy_until_ + s_.delay;
    if (s_.jitter > 0)
      release += static_cast<std::int64_t>(chance() * static_cast<double>(s_.jitter));
    if (s_.reorder > 0 && chance() < s_.reorder) {
      release += s_.jitter + 1'000'000;  // overtaken by what follows
    } else {
      release = std::max(release, last_release_);
      last_release_ = release;
    }
    held_ += bytes.size();
    heap_.push(packet{release, order_++, std::move(bytes)});
  }

  // Writes what is due to `fd`; returns when the next packet is due (or -1).
  std::int64_t deliver(int fd, std::int64_t now) {
    while (!heap_.empty() && heap_.top().release <= now) {
      const auto& p = heap_.top();
      if (::write(fd, p.bytes.data(), p.bytes.size()) == static_cast<ssize_t>(p.bytes.size())) {
        ++out_;
        bytes_out_ += p.bytes.size();
      } else {
        ++write_drops_;
      }
      held_ -= p.bytes.size();
      heap_.pop();
    }
    return heap_.empty() ? -1 : heap_.top().release;
  }

  void report(const char* name) const {
    std::printf("%s: in %llu lost %llu queue_drops %llu out %llu bytes_out %llu write_drops %llu\n",
                name, static_cast<unsigned long long>(in_), static_cast<unsigned long long>(lost_),
                static_cast<unsigned long long>(queue_drops_),
                static_cast<unsigned long long>(out_), static_cast<unsigned long long>(bytes_out_),
                static_cast<unsigned long long>(write_drops_));
  }

 private:
  // What a direction may hold in flight: far above any rate x (queue +
  // delay) the tests use (1 Gbit/s x 300 ms is 37.5 MB).
  static constexpr std::size_t max_held = 256u << 20;

  double chance() { return std::uniform_real_distribution<double>(0, 1)(rng_); }

  const settings& s_;
  std::mt19937_64 rng_;
  std::priority_queue<packet, std::vector<packet>, std::greater<>> heap_;
  std::int64_t busy_until_ = 0, last_release_ = 0;
  std::uint64_t order_ = 0, in_ = 0, lost_ = 0, queue_drops_ = 0, out_ = 0, bytes_out_ = 0,
                write_drops_ = 0;
  std::size_t held_ = 0;
};

volatile std::sig_atomic_t stop = 0;
volatile std::sig_atomic_t snapshot = 0;
void on_signal(int) {
  stop = 1;
}
void on_snapshot(int) {
  snapshot = 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string a, b;
  settings s;
  std::uint64_t seed = 1;
  int limit = 600;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) usage("missing value for " + arg);
    const std::string v = argv[++i];
    const double ms = std::strtod(v.c_str(), nullptr);
    if (arg == "--a")
      a = v;
    else if (arg == "--b")
      b = v;
    else if (arg == "--rate")
      s.rate = parse_rate(v);
    else if (arg == "--delay")
      s.delay = static_cast<std::int64_t>(ms * 1e6);
    else if (arg == "--jitter")
      s.jitter = static_cast<std::int64_t>(ms * 1e6);
    else if (arg == "--queue")
      s.queue = static_cast<std::int64_t>(ms * 1e6);
    else if (arg == "--loss")
      s.loss = ms / 100;
    else if (arg == "--reorder")
      s.reorder = ms / 100;
    else if (arg == "--seed")
      seed = std::strtoull(v.c_str(), nullptr, 10);
    else if (arg == "--limit")
      limit = std::atoi(v.c_str());
    else
      usage("unknown option " + arg);
  }
  if (a.empty() || b.empty() || s.rate <= 0) usage("--a, --b and --rate are required");
  if (s.loss < 0 || s.loss > 1 || s.reorder < 0 || s.reorder > 1 || s.delay < 0 || s.jitter < 0)
    usage("out of range: --loss and --reorder are percentages, times are not negative");
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::signal(SIGUSR1, on_snapshot);
  const int fds[2] = {open_tun(a), open_tun(b)};
  direction dirs[2] = {direction(s, seed), direction(s, seed * 7919 + 1)};  // a->b, b->a
  std::printf("ready\n");
  std::fflush(stdout);
  const std::int64_t end = now_ns() + std::int64_t{limit} * 1'000'000'000;
  std::vector<std::uint8_t> buf(65536);
  while (stop == 0) {
    if (snapshot != 0) {  // the counters so far, for a caller measuring one run
      snapshot = 0;
      std::printf("snapshot ");
      dirs[0].report("a_to_b");
      std::fflush(stdout);
    }
    std::int64_t now = now_ns();
    if (now >= end) break;
    std::int64_t next = end;
    for (int d = 0; d < 2; ++d) {
      const std::int64_t due = dirs[d].deliver(fds[1 - d], now);
      if (due >= 0) next = std::min(next, due);
    }
    pollfd p[2] = {{fds[0], POLLIN, 0}, {fds[1], POLLIN, 0}};
    const std::int64_t wait = std::max<std::int64_t>(0, next - now);
    timespec t{static_cast<time_t>(wait / 1'000'000'000), static_cast<long>(wait % 1'000'000'000)};
    if (::ppoll(p, 2, &t, nullptr) < 0 && errno != EINTR) die("ppoll");
    now = now_ns();
    for (int d = 0; d < 2; ++d) {
      if ((p[d].revents & POLLIN) == 0) continue;
      for (int k = 0; k < 256; ++k) {  // a batch, then the other side's turn
        const ssize_t n = ::read(fds[d], buf.data(), buf.size());
        if (n <= 0) break;
        dirs[d].arrive(std::vector<std::uint8_t>(buf.begin(), buf.begin() + n), now);
      }
    }
  }
  dirs[0].report("a_to_b");
  dirs[1].report("b_to_a");
  return 0;
}
