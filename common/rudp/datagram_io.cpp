#include "rudp/datagram_io.hpp"

#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/udp.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

namespace ferry::rudp {

void size_buffers(udp::socket& s, int bytes) {
  const int fd = s.native_handle();
  for (int opt : {SO_SNDBUF, SO_RCVBUF}) {
    const int force = opt == SO_SNDBUF ? SO_SNDBUFFORCE : SO_RCVBUFFORCE;
    if (::setsockopt(fd, SOL_SOCKET, force, &bytes, sizeof bytes) != 0)
      (void)::setsockopt(fd, SOL_SOCKET, opt, &bytes, sizeof bytes);
  }
}

std::size_t route_payload_limit(const udp::endpoint& to) {
  // A connected socket of the same family learns the route's MTU.
  const bool v4 = to.address().is_v4();
  const int fd = ::socket(v4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  int mtu = 0;
  socklen_t len = sizeof mtu;
  const bool ok =
      ::connect(fd, to.data(), static_cast<socklen_t>(to.size())) == 0 &&
      ::getsockopt(fd, v4 ? IPPROTO_IP : IPPROTO_IPV6, v4 ? IP_MTU : IPV6_MTU, &mtu, &len) == 0;
  ::close(fd);
  const std::size_t headers = v4 ? 20 + 8 : 40 + 8;
  if (!ok || mtu <= 0 || static_cast<std::size_t>(mtu) <= headers) return 0;
  return static_cast<std::size_t>(mtu) - headers;
}

void never_fragment(udp::socket& s) {
  const int fd = s.native_handle();
  int v4 = IP_PMTUDISC_PROBE, v6 = IPV6_PMTUDISC_PROBE;
  (void)::setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &v4, sizeof v4);
  (void)::setsockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &v6, sizeof v6);
}

namespace {

/// Cleared for good the first time the kernel refuses a GSO message.
std::atomic<bool> gso_works{true};
/// One GSO message carries at most this many datagrams and bytes.
constexpr std::size_t gso_max_segments = 64;
constexpr std::size_t gso_max_bytes = 65000;

}  // namespace

datagram_io::datagram_io(udp::socket& s, std::size_t batch, std::size_t max_size, bool gro)
    : batch_(batch), msgs_(batch), controls_(batch), iovs_(batch), addrs_(batch) {
  int on = 1;
  gro_ = gro && ::setsockopt(s.native_handle(), SOL_UDP, UDP_GRO, &on, sizeof on) == 0;
  max_size_ = gro_ ? std::max<std::size_t>(max_size, 65536) : max_size;
  storage_.reset(new std::uint8_t[batch_ * max_size_]);
}

std::size_t datagram_io::receive(udp::socket& s, std::vector<received>& out, std::error_code& ec) {
  out.clear();
  ec.clear();
  auto& msgs = msgs_;
  auto& iovs = iovs_;
  auto& addrs = addrs_;
  for (std::size_t i = 0; i < batch_; ++i) {
    iovs[i] = {storage_.get() + i * max_size_, max_size_};
    msgs[i] = {};
    msgs[i].msg_hdr.msg_iov = &iovs[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_name = &addrs[i];
    msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
    if (gro_) {
      msgs[i].msg_hdr.msg_control = controls_[i].data();
      msgs[i].msg_hdr.msg_controllen = controls_[i].size();
    }
  }
  int n;
  do {
    n = ::recvmmsg(s.native_handle(), msgs.data(), static_cast<unsigned>(batch_), MSG_DONTWAIT,
                   nullptr);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK) ec = {errno, std::system_category()};
    return 0;
  }
  for (std::size_t i = 0; i < static_cast<std::size_t>(n); ++i) {
    // A datagram larger than our buffer is truncated: not one of ours.
    if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) continue;
    received r;
    r.from.resize(msgs[i].msg_hdr.msg_namelen);
    std::memcpy(r.from.data(), &addrs[i],
                std::min<std::size_t>(msgs[i].msg_hdr.msg_namelen, sizeof(sockaddr_storage)));
    // A coalesced run (UDP_GRO) says its segment size; cut it up again.
    std::size_t segment = msgs[i].msg_len;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msgs[i].msg_hdr); c != nullptr;
         c = CMSG_NXTHDR(&msgs[i].msg_hdr, c)) {
      if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
        int size = 0;
        std::memcpy(&size, CMSG_DATA(c), sizeof size);
        if (size > 0) segment = static_cast<std::size_t>(size);
      }
    }
    const std::uint8_t* base = storage_.get() + i * max_size_;
    for (std::size_t off = 0; off < msgs[i].msg_len; off += segment) {
      r.data = {base + off, std::min<std::size_t>(segment, msgs[i].msg_len - off)};
      out.push_back(r);
    }
  }
  return static_cast<std::size_t>(n);
}

std::size_t datagram_io::send(udp::socket& s, const udp::endpoint& to, bool connected,
                              std::span<const outgoing> dgrams, std::error_code& ec) {
  ec.clear();
  bool refused = false;
  const std::size_t n = send_runs(s, to, connected, dgrams, gso_works.load(), ec, refused);
  if (!refused) return n;
  gso_works = false;  // this kernel or device will not: plain datagrams from now on
  ec.clear();
  return n + send_runs(s, to, connected, dgrams.subspan(n), false, ec, refused);
}

std::size_t datagram_io::send_runs(udp::socket& s, const udp::endpoint& to, bool connected,
                                   std::span<const outgoing> dgrams, bool gso, std::error_code& ec,
                                   bool& refused) {
  constexpr std::size_t max_msgs = 64;
  constexpr std::size_t max_iovs = 4 * gso_max_segments;
  const std::size_t max_run = gso ? gso_max_segments : 1;
  std::size_t done = 0;
  while (done < dgrams.size()) {
    mmsghdr msgs[max_msgs];
    iovec iovs[max_iovs];
    alignas(cmsghdr) char controls[max_msgs][CMSG_SPACE(sizeof(std::uint16_t))];
    std::size_t counts[max_msgs];
    std::size_t nmsgs = 0, at = done, used = 0;
    // Each message is one datagram, or (GSO) a run of datagrams of one
    // size without a prefix, the last of which may be shorter.
    while (nmsgs < max_msgs && at < dgrams.size() && used + 2 * max_run <= max_iovs) {
      const std::size_t size = dgrams[at].data.size();
      iovec* first = iovs + used;
      std::size_t k = 0, bytes = 0;
      while (at + k < dgrams.size() && k < max_run) {
        const auto& d = dgrams[at + k];
        const std::size_t len = d.prefix.size() + d.data.size();
        if (k > 0 && (!d.prefix.empty() || len > size || bytes + len > gso_max_bytes)) break;
        if (!d.prefix.empty())
          iovs[used++] = {const_cast<std::uint8_t*>(d.prefix.data()), d.prefix.size()};
        iovs[used++] = {const_cast<std::uint8_t*>(d.data.data()), d.data.size()};
        bytes += len;
        ++k;
        if (len < size || !d.prefix.empty()) break;  // a shorter one ends the run
      }
      auto& m = msgs[nmsgs];
      m = {};
      m.msg_hdr.msg_iov = first;
      m.msg_hdr.msg_iovlen = static_cast<std::size_t>(iovs + used - first);
      if (!connected) {
        m.msg_hdr.msg_name = const_cast<sockaddr*>(to.data());
        m.msg_hdr.msg_namelen = static_cast<socklen_t>(to.size());
      }
      if (k > 1) {
        m.msg_hdr.msg_control = controls[nmsgs];
        m.msg_hdr.msg_controllen = sizeof controls[nmsgs];
        cmsghdr* c = CMSG_FIRSTHDR(&m.msg_hdr);
        c->cmsg_level = SOL_UDP;
        c->cmsg_type = UDP_SEGMENT;
        c->cmsg_len = CMSG_LEN(sizeof(std::uint16_t));
        const auto seg = static_cast<std::uint16_t>(size);
        std::memcpy(CMSG_DATA(c), &seg, sizeof seg);
      }
      counts[nmsgs++] = k;
      at += k;
    }
    int n;
    do {
      n = ::sendmmsg(s.native_handle(), msgs, static_cast<unsigned>(nmsgs), MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) return done;
      // EIO/EINVAL/EOPNOTSUPP on a GSO message: no offload here.
      if ((errno == EIO || errno == EINVAL || errno == EOPNOTSUPP) && counts[0] > 1) {
        refused = true;
        return done;
      }
      // ECONNREFUSED and friends report an earlier datagram's fate; the
      // ones in this call were not sent.
      ec = {errno, std::system_category()};
      return done;
    }
    for (int i = 0; i < n; ++i)
      done += counts[i];
    if (static_cast<std::size_t>(n) < nmsgs) return done;
  }
  return done;
}

}  // namespace ferry::rudp
