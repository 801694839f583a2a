#include "rudp/datagram_io.hpp"

#include <sys/socket.h>

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

datagram_io::datagram_io(std::size_t batch, std::size_t max_size)
    : batch_(batch),
      max_size_(max_size),
      storage_(batch * max_size),
      msgs_(batch),
      iovs_(batch),
      addrs_(batch) {}

std::size_t datagram_io::receive(udp::socket& s, std::vector<received>& out, std::error_code& ec) {
  out.clear();
  ec.clear();
  auto& msgs = msgs_;
  auto& iovs = iovs_;
  auto& addrs = addrs_;
  for (std::size_t i = 0; i < batch_; ++i) {
    iovs[i] = {storage_.data() + i * max_size_, max_size_};
    msgs[i] = {};
    msgs[i].msg_hdr.msg_iov = &iovs[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_name = &addrs[i];
    msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
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
    r.data = {storage_.data() + i * max_size_, msgs[i].msg_len};
    r.from.resize(msgs[i].msg_hdr.msg_namelen);
    std::memcpy(r.from.data(), &addrs[i],
                std::min<std::size_t>(msgs[i].msg_hdr.msg_namelen, sizeof(sockaddr_storage)));
    out.push_back(r);
  }
  return static_cast<std::size_t>(n);
}

std::size_t datagram_io::send(udp::socket& s, const udp::endpoint& to, bool connected,
                              std::span<const outgoing> dgrams, std::error_code& ec) {
  ec.clear();
  constexpr std::size_t max_batch = 64;
  std::size_t done = 0;
  while (done < dgrams.size()) {
    const std::size_t count = std::min(max_batch, dgrams.size() - done);
    mmsghdr msgs[max_batch];
    iovec iovs[max_batch][2];
    for (std::size_t i = 0; i < count; ++i) {
      const auto& d = dgrams[done + i];
      std::size_t k = 0;
      if (!d.prefix.empty())
        iovs[i][k++] = {const_cast<std::uint8_t*>(d.prefix.data()), d.prefix.size()};
      iovs[i][k++] = {const_cast<std::uint8_t*>(d.data.data()), d.data.size()};
      msgs[i] = {};
      msgs[i].msg_hdr.msg_iov = iovs[i];
      msgs[i].msg_hdr.msg_iovlen = k;
      if (!connected) {
        msgs[i].msg_hdr.msg_name = const_cast<sockaddr*>(to.data());
        msgs[i].msg_hdr.msg_namelen = static_cast<socklen_t>(to.size());
      }
    }
    int n;
    do {
      n = ::sendmmsg(s.native_handle(), msgs, static_cast<unsigned>(count), MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) return done;
      // ECONNREFUSED and friends report an earlier datagram's fate; the
      // ones in this call were not sent.
      ec = {errno, std::system_category()};
      return done;
    }
    done += static_cast<std::size_t>(n);
    if (static_cast<std::size_t>(n) < count) return done;
  }
  return done;
}

}  // namespace ferry::rudp
