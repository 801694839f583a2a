#include "rudp/listener.hpp"

namespace ferry::rudp {

listener::result listener::on_init(std::span<const std::uint8_t> datagram,
                                   std::span<const std::uint8_t> source, time_point now,
                                   std::span<std::uint8_t> reply) const {
  result r;
  long_header h;
  handshake_body b;
  if (decode_handshake(datagram, h, b) || h.type != packet_type::init) return r;
  // Small INITs are not answered: every answer must be smaller than what
  // provoked it.
  if (datagram.size() < min_init_size) return r;
  if (h.version != wire_version) {
    long_header vh{packet_type::version, wire_version, h.src_cid, 0};
    r.reply_size = encode_handshake(vh, handshake_body{.peer_version = wire_version}, reply);
    r.v = r.reply_size ? verdict::reply : verdict::drop;
    return r;
  }
  if (b.max_packet < min_packet_size) return r;
  if (b.token_len == 0 || !jar_.check(b.token_span(), source, h.src_cid, now)) {
    long_header rh{packet_type::retry, wire_version, h.src_cid, 0};
    handshake_body rb;
    rb.token_len = static_cast<std::uint8_t>(jar_.issue(source, h.src_cid, now, rb.token));
    r.reply_size = encode_handshake(rh, rb, reply);
    r.v = r.reply_size ? verdict::reply : verdict::drop;
    return r;
  }
  r.v = verdict::accept;
  r.peer_cid = h.src_cid;
  r.init = b;
  return r;
}

}  // namespace ferry::rudp
