// The UDP packet codec, the stateless listener and the buffers: round
// trips, every truncated prefix refused, bounds checked before use.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "rudp/ack_tracker.hpp"
#include "rudp/listener.hpp"
#include "rudp/packet.hpp"
#include "rudp/recv_buffer.hpp"
#include "rudp/send_buffer.hpp"

namespace ferry::rudp {
namespace {

std::vector<std::uint8_t> init_packet(std::span<const std::uint8_t> token = {},
                                      std::size_t pad = 1200, std::uint8_t ver = wire_version) {
  long_header h{packet_type::init, ver, 0, 0xabcd};
  handshake_body b;
  b.max_packet = 1200;
  b.max_data = 1 << 20;
  b.token_len = static_cast<std::uint8_t>(token.size());
  std::copy(token.begin(), token.end(), b.token.begin());
  std::vector<std::uint8_t> out(1500);
  out.resize(encode_handshake(h, b, out, pad));
  return out;
}

TEST(packet, handshake_round_trip_and_truncation) {
  for (auto type :
       {packet_type::init, packet_type::retry, packet_type::accept, packet_type::version}) {
    long_header h{type, wire_version, 7, 9};
    handshake_body b;
    b.max_packet = 1200;
    b.max_data = 123456;
    b.token_len = 3;
    b.token[0] = 1;
    b.peer_version = 1;
    std::vector<std::uint8_t> out(100);
    out.resize(encode_handshake(h, b, out));
    ASSERT_GT(out.size(), long_header_size);
    long_header h2;
    handshake_body b2;
    ASSERT_FALSE(decode_handshake(out, h2, b2));
    EXPECT_EQ(h2.type, type);
    EXPECT_EQ(h2.dst_cid, 7u);
    EXPECT_EQ(h2.src_cid, 9u);
    for (std::size_t n = 0; n < out.size(); ++n) {
      const std::span<const std::uint8_t> prefix(out.data(), n);
      EXPECT_TRUE(decode_handshake(prefix, h2, b2)) << "prefix " << n;
    }
  }
}

TEST(packet, bad_magic_and_oversized_token) {
  auto p = init_packet();
  p[1] ^= 0xff;
  long_header h;
  handshake_body b;
  EXPECT_EQ(decode_handshake(p, h, b), error::bad_magic);
  p = init_packet();
  p[long_header_size + 10] = max_token_size + 1;  // token length byte
  EXPECT_EQ(decode_handshake(p, h, b), error::bad_frame);
}

TEST(packet, frames_round_trip_and_truncation) {
  std::vector<std::uint8_t> buf(400);
  cursor c(buf);
  ASSERT_TRUE(encode_data_header(42, 1000, c));
  const ack_range ranges[] = {{90, 100}, {50, 80}, {10, 20}};
  ASSERT_TRUE(encode_ack(ranges, 250, c));
  const std::uint8_t data[] = {1, 2, 3, 4, 5};
  ASSERT_TRUE(encode_stream_header(777, 5, true, c));
  c.raw(data);
  ASSERT_TRUE(encode_max_data(1 << 30, c));
  ASSERT_TRUE(encode_ping(c));
  ASSERT_TRUE(encode_close(close_code::protocol, "bad", c));
  buf.resize(c.size());

  std::uint32_t cid = 0;
  std::uint64_t pn = 0;
  std::span<const std::uint8_t> frames;
  ASSERT_FALSE(decode_data_header(buf, cid, pn, frames));
  EXPECT_EQ(cid, 42u);
  EXPECT_EQ(pn, 1000u);
  frame f;
  ASSERT_FALSE(decode_frame(frames, f));
  ASSERT_EQ(f.type, frame_type::ack);
  ASSERT_EQ(f.ack.count, 3u);
  EXPECT_EQ(f.ack.ranges[1].smallest, 50u);
  EXPECT_EQ(f.ack.ranges[2].largest, 20u);
  EXPECT_EQ(f.ack.delay_us, 250u);
  ASSERT_FALSE(decode_frame(frames, f));
  ASSERT_EQ(f.type, frame_type::stream_fin);
  EXPECT_EQ(f.stream.offset, 777u);
  EXPECT_EQ(f.stream.data.size(), 5u);
  ASSERT_FALSE(decode_frame(frames, f));
  EXPECT_EQ(f.max_data, 1u << 30);
  ASSERT_FALSE(decode_frame(frames, f));
  EXPECT_EQ(f.type, frame_type::ping);
  ASSERT_FALSE(decode_frame(frames, f));
  EXPECT_EQ(f.close.reason, "bad");
  EXPECT_TRUE(frames.empty());

  // Every truncation of the frames after the header fails cleanly (a
  // prefix ending exactly between frames is valid up to there).
  std::span<const std::uint8_t> all;
  (void)decode_data_header(buf, cid, pn, all);
  for (std::size_t n = 1; n < all.size(); ++n) {
    std::span<const std::uint8_t> in = all.first(n);
    std::error_code ec;
    while (!in.empty() && !(ec = decode_frame(in, f))) {
    }
    const bool boundary = n == 34 || n == 50 || n == 59 || n == 60;  // ack|stream|max_data|ping|
    if (!boundary) {
      EXPECT_TRUE(ec) << "prefix " << n;
    }
  }
}

TEST(packet, a_probe_states_its_size_and_a_cut_one_is_not_intact) {
  std::vector<std::uint8_t> buf(3000);
  cursor c(buf);
  ASSERT_TRUE(encode_data_header(7, 1, c));
  ASSERT_TRUE(encode_probe(3000, c));
  ASSERT_TRUE(c.zeros(c.room()));
  std::uint32_t cid = 0;
  std::uint64_t pn = 0;
  std::span<const std::uint8_t> frames;
  ASSERT_FALSE(decode_data_header(buf, cid, pn, frames));
  frame f;
  auto rest = frames;
  ASSERT_FALSE(decode_frame(rest, f));
  EXPECT_EQ(f.type, frame_type::probe);
  EXPECT_EQ(f.probe_size, 3000u);
  EXPECT_TRUE(packet_intact(buf, frames));
  // Cut to 2048 bytes (as a relaying proxy might): the padding still
  // decodes, but the packet no longer is the size it says.
  const std::span<const std::uint8_t> cut = std::span<const std::uint8_t>(buf).first(2048);
  ASSERT_FALSE(decode_data_header(cut, cid, pn, frames));
  EXPECT_FALSE(packet_intact(cut, frames));
  // A cut stream frame is not intact either; a whole one is.
  std::vector<std::uint8_t> d(100);
  cursor k(d);
  ASSERT_TRUE(encode_data_header(7, 2, k));
  ASSERT_TRUE(encode_stream_header(0, 50, false, k));
  ASSERT_TRUE(k.zeros(50));
  d.resize(k.size());
  ASSERT_FALSE(decode_data_header(d, cid, pn, frames));
  EXPECT_TRUE(packet_intact(d, frames));
  // A PROBE that states 0, the largest u16, or one byte more than the
  // packet: never intact.
  for (const std::uint16_t said : {std::uint16_t{0}, std::uint16_t{65535}, std::uint16_t{101}}) {
    std::vector<std::uint8_t> q(100);
    cursor qc(q);
    ASSERT_TRUE(encode_data_header(7, 3, qc));
    ASSERT_TRUE(encode_probe(said, qc));
    ASSERT_TRUE(qc.zeros(qc.room()));
    ASSERT_FALSE(decode_data_header(q, cid, pn, frames));
    EXPECT_FALSE(packet_intact(q, frames)) << said;
  }
  const auto short_one = std::span<const std::uint8_t>(d).first(d.size() - 1);
  ASSERT_FALSE(decode_data_header(short_one, cid, pn, frames));
  EXPECT_FALSE(packet_intact(short_one, frames));
}

TEST(packet, ack_ranges_are_bounded) {
  std::vector<std::uint8_t> buf(64);
  cursor c(buf);
  c.u8(0x02);
  c.u64(10);
  c.u32(0);
  c.u8(0);
  c.u32(11);  // first range longer than the largest number
  buf.resize(c.size());
  std::span<const std::uint8_t> in = buf;
  frame f;
  EXPECT_EQ(decode_frame(in, f), error::bad_frame);
  buf[13] = max_ack_ranges + 1;  // too many ranges
  in = buf;
  EXPECT_EQ(decode_frame(in, f), error::bad_frame);
}

const std::uint8_t alice[] = {127, 0, 0, 1, 0x30, 0x39};
const std::uint8_t mallory[] = {127, 0, 0, 2, 0x30, 0x39};

TEST(listener, creates_state_only_for_a_returned_token) {
  const listener front(cookie_jar{std::array<std::uint8_t, 32>{9}});
  std::uint8_t reply[64];
  const time_point now = 100s;
  // First INIT: a RETRY, smaller than the INIT, and no connection.
  auto p = init_packet();
  auto r = front.on_init(p, alice, now, reply);
  ASSERT_EQ(r.v, listener::verdict::reply);
  EXPECT_LT(r.reply_size, p.size());
  long_header h;
  handshake_body b;
  ASSERT_FALSE(decode_handshake({reply, r.reply_size}, h, b));
  ASSERT_EQ(h.type, packet_type::retry);
  EXPECT_EQ(h.dst_cid, 0xabcdu);
  // Back with the token from the same source: accepted.
  p = init_packet(b.token_span());
  EXPECT_EQ(front.on_init(p, alice, now + 1s, reply).v, listener::verdict::accept);
  // The same token from another source (a spoofer who saw it), or stale,
  // or altered: another RETRY, never a connection.
  EXPECT_EQ(front.on_init(p, mallory, now, reply).v, listener::verdict::reply);
  EXPECT_EQ(front.on_init(p, alice, now + 11s, reply).v, listener::verdict::reply);
  auto forged = b;
  forged.token[10] ^= 1;
  p = init_packet(forged.token_span());
  EXPECT_EQ(front.on_init(p, alice, now, reply).v, listener::verdict::reply);
}

TEST(listener, small_or_foreign_inits_get_nothing_or_less) {
  const listener front;
  std::uint8_t reply[64];
  EXPECT_EQ(front.on_init(init_packet({}, 0), alice, 1s, reply).v, listener::verdict::drop);
  const auto other = init_packet({}, 1200, 9);
  const auto r = front.on_init(other, alice, 1s, reply);
  ASSERT_EQ(r.v, listener::verdict::reply);
  long_header h;
  handshake_body b;
  ASSERT_FALSE(decode_handshake({reply, r.reply_size}, h, b));
  EXPECT_EQ(h.type, packet_type::version);
  EXPECT_EQ(b.peer_version, wire_version);
}

TEST(buffers, send_buffer_retransmits_only_what_is_unacked) {
  send_buffer sb(1 << 16);
  std::vector<std::uint8_t> data(10000, 7);
  ASSERT_EQ(sb.write(data), data.size());
  sb.finish();
  chunk a, b2, c2;
  ASSERT_TRUE(sb.next(1 << 20, 4000, a));
  ASSERT_TRUE(sb.next(1 << 20, 4000, b2));
  ASSERT_TRUE(sb.next(1 << 20, 4000, c2));
  EXPECT_TRUE(c2.fin);
  sb.on_acked(b2.offset, b2.len, false);
  sb.on_lost(0, 10000, true);  // all declared lost; the middle was acked
  chunk r;
  ASSERT_TRUE(sb.next(1 << 20, 65535, r));
  EXPECT_EQ(r.offset, 0u);
  EXPECT_EQ(r.len, 4000u);
  ASSERT_TRUE(sb.next(1 << 20, 65535, r));
  EXPECT_EQ(r.offset, 8000u);
  EXPECT_TRUE(r.fin);
  EXPECT_FALSE(sb.next(1 << 20, 65535, r));
  sb.on_acked(0, 4000, false);
  sb.on_acked(8000, 2000, true);
  EXPECT_TRUE(sb.all_acked());
}

TEST(buffers, recv_buffer_reorders_and_bounds) {
  recv_buffer rb(4096);
  const std::vector<std::uint8_t> a(100, 1), b(100, 2);
  ASSERT_FALSE(rb.on_frame(100, b, true));
  EXPECT_EQ(rb.readable(), 0u);
  ASSERT_FALSE(rb.on_frame(0, a, false));
  ASSERT_FALSE(rb.on_frame(0, a, false));  // duplicate
  EXPECT_EQ(rb.readable(), 200u);
  std::vector<std::uint8_t> out(300);
  EXPECT_EQ(rb.read(out), 200u);
  EXPECT_EQ(out[150], 2);
  EXPECT_TRUE(rb.eof());
  EXPECT_EQ(rb.on_frame(150, a, false), error::protocol_violation);  // past the end
  recv_buffer small(4096);
  EXPECT_EQ(small.on_frame(4096, a, false), error::flow_control);
}

// A stranger's connection (not yet authenticated) holds at most its ring
// cap out of order: a piece beyond is refused (no_room: dropped as if
// lost), whatever the window; once trusted, the window is the bound again.
TEST(buffers, recv_buffer_holds_a_stranger_to_its_ring_cap) {
  recv_buffer rb(8u << 20);
  rb.limit_ring(256u << 10);
  const std::vector<std::uint8_t> piece(1000, 7);
  EXPECT_FALSE(rb.on_frame(100000, piece, false));  // within 256 KiB
  EXPECT_EQ(rb.on_frame(300000, piece, false), error::no_room);
  EXPECT_EQ(rb.on_frame(4u << 20, piece, false), error::no_room);
  EXPECT_LE(rb.capacity(), 256u << 10);
  rb.limit_ring(0);
  EXPECT_FALSE(rb.on_frame(4u << 20, piece, false));
  EXPECT_GT(rb.capacity(), 4u << 20);
}

// A widened window moves the flow-control edge with it, and only it: data
// up to the new edge is taken, one byte past it is a flow_control error,
// and widen() never narrows (a second call with less changes nothing).
TEST(buffers, recv_buffer_a_widened_window_is_still_an_edge) {
  recv_buffer rb(8u << 20);
  const std::vector<std::uint8_t> piece(1000, 7);
  EXPECT_EQ(rb.on_frame((8u << 20) - 999, piece, false), error::flow_control);
  rb.widen(12u << 20);  // rounded up to a power of two
  EXPECT_EQ(rb.window(), 16u << 20);
  rb.widen(1u << 20);
  EXPECT_EQ(rb.window(), 16u << 20);
  EXPECT_EQ(rb.limit(), 16u << 20);
  EXPECT_FALSE(rb.on_frame((16u << 20) - 1000, piece, false));
  EXPECT_EQ(rb.on_frame((16u << 20) - 999, piece, false), error::flow_control);
  EXPECT_EQ(rb.on_frame(~std::uint64_t{0} - 10, piece, false), error::flow_control);
}

// Reading without a copy: peek() lends the in-order bytes up to the ring's
// end (never past what arrived or `max`), consume() frees them, and the
// bytes read that way are the stream's, across the wrap.
// One-byte frames at every other offset (a black-box attack's 4.2 million
// of them grew the receiver to 280 MiB): past max_ahead_pieces they are
// dropped as if lost, and the in-order bytes still complete the stream.
TEST(buffers, recv_buffer_bounds_the_pieces_waiting_ahead) {
  recv_buffer rb(8u << 20);
  const std::uint8_t byte[1] = {7};
  std::size_t dropped = 0;
  for (std::uint64_t off = 1; off < 2 * max_ahead_pieces + 1000; off += 2) {
    const auto ec = rb.on_frame(off, byte, false);
    if (ec == error::no_room)
      ++dropped;
    else
      ASSERT_FALSE(ec);
  }
  EXPECT_EQ(dropped, 500u);
  // The gaps filled in order: everything sent again is taken.
  for (std::uint64_t off = 0; off < 2 * max_ahead_pieces + 1000; ++off)
    ASSERT_FALSE(rb.on_frame(off, byte, false)) << off;
  EXPECT_EQ(rb.readable(), 2 * max_ahead_pieces + 1000);
}

TEST(buffers, recv_buffer_lends_in_order_bytes_across_the_wrap) {
  recv_buffer rb(recv_buffer::initial_capacity);
  const std::size_t cap = rb.capacity();
  std::vector<std::uint8_t> stream(3 * cap);
  for (std::size_t i = 0; i < stream.size(); ++i)
    stream[i] = static_cast<std::uint8_t>(i * 7 + (i >> 9));
  std::vector<std::uint8_t> got;
  std::size_t fed = 0;
  while (got.size() < stream.size()) {
    // Feed 1000 bytes at a time while the window allows; lend 3000 at most.
    while (fed < stream.size() && fed + 1000 <= got.size() + cap) {
      const std::size_t n = std::min<std::size_t>(1000, stream.size() - fed);
      ASSERT_FALSE(rb.on_frame(fed, std::span(stream).subspan(fed, n), fed + n == stream.size()));
      fed += n;
    }
    const auto lent = rb.peek(3000);
    ASSERT_FALSE(lent.empty());
    EXPECT_LE(lent.size(), rb.readable());
    const std::size_t pos = got.size() % cap;
    EXPECT_LE(lent.size(), cap - pos) << "a lent piece crossed the ring's end";
    got.insert(got.end(), lent.begin(), lent.end());
    rb.consume(lent.size());
  }
  EXPECT_EQ(got, stream);
  EXPECT_TRUE(rb.eof());
  EXPECT_TRUE(rb.peek(100).empty());
}

// The ring starts small and grows (keeping what it holds, wrapped or not)
// only as far as data lands ahead of the reader.
TEST(buffers, recv_buffer_grows_only_as_needed_and_keeps_bytes) {
  constexpr std::size_t total = 3 << 20;
  std::vector<std::uint8_t> stream(total);
  std::mt19937 rng(7);
  for (auto& b : stream)
    b = static_cast<std::uint8_t>(rng());
  recv_buffer rb(8 << 20);
  EXPECT_EQ(rb.capacity(), recv_buffer::initial_capacity);
  std::vector<std::uint8_t> got, out(5000);
  auto piece = [&](std::size_t off, std::size_t len) {
    len = std::min(len, total - off);
    return rb.on_frame(off, std::span(stream).subspan(off, len), off + len == total);
  };
  // In order with the reader keeping up: the ring never grows.
  for (std::size_t off = 0; off < 1 << 20; off += 1200) {
    ASSERT_FALSE(piece(off, 1200));
    while (rb.readable() > 0)
      got.insert(got.end(), out.begin(), out.begin() + static_cast<long>(rb.read(out)));
  }
  EXPECT_EQ(rb.capacity(), recv_buffer::initial_capacity);
  // Then out of order, far ahead (the read position is mid-ring): it grows.
  std::vector<std::size_t> offs;
  for (std::size_t off = got.size(); off < total; off += 1000)
    offs.push_back(off);
  std::shuffle(offs.begin(), offs.end(), rng);
  for (const auto off : offs) {
    ASSERT_FALSE(piece(off, 1000));
    if (rng() % 8 == 0)
      while (rb.readable() > 0)
        got.insert(got.end(), out.begin(), out.begin() + static_cast<long>(rb.read(out)));
  }
  while (rb.readable() > 0)
    got.insert(got.end(), out.begin(), out.begin() + static_cast<long>(rb.read(out)));
  EXPECT_GT(rb.capacity(), recv_buffer::initial_capacity);
  EXPECT_LE(rb.capacity(), rb.window());
  EXPECT_TRUE(rb.eof());
  EXPECT_TRUE(got == stream);
}

TEST(buffers, recv_buffers_grow_only_into_their_shared_pool) {
  auto pool = std::make_shared<memory_pool>(1u << 20);  // 1 MiB past the first 64 KiB each
  const std::vector<std::uint8_t> piece(1000, 7);
  {
    recv_buffer a(8u << 20, pool), b(8u << 20, pool);
    // Data far ahead of what is read: a's ring grows to 1 MiB (960 KiB from the pool).
    EXPECT_FALSE(a.on_frame(1000000, piece, false));
    EXPECT_EQ(a.capacity(), 1u << 20);
    EXPECT_EQ(pool->used(), (1u << 20) - recv_buffer::initial_capacity);
    // b would need 512 KiB more than the pool has left: refused, nothing stored.
    EXPECT_EQ(b.on_frame(500000, piece, false), error::no_room);
    EXPECT_EQ(b.capacity(), recv_buffer::initial_capacity);
    // In its first 64 KiB it still takes data, and in order reads work.
    const std::vector<std::uint8_t> start(100, 1);
    EXPECT_FALSE(b.on_frame(0, start, false));
    EXPECT_EQ(b.readable(), 100u);
    // a grows again: beyond what is left.
    EXPECT_EQ(a.on_frame(3000000, piece, false), error::no_room);
  }
  EXPECT_EQ(pool->used(), 0u);  // both gave back what they took
}

TEST(buffers, ack_tracker_acks_gaps_at_once_and_bounds_ranges) {
  ack_tracker t;
  EXPECT_TRUE(t.on_packet(0, true, 0us));
  EXPECT_EQ(t.deadline(), time_point(ack_tracker::max_ack_delay));
  EXPECT_TRUE(t.on_packet(2, true, 1us));  // a gap: ACK now
  EXPECT_EQ(t.deadline(), time_point(1us));
  EXPECT_FALSE(t.on_packet(2, true, 2us));  // duplicate
  for (std::uint64_t pn = 4; pn < 1000; pn += 2)
    t.on_packet(pn, true, 3us);
  ack_range r[40];
  EXPECT_EQ(t.ranges(r), 40u);
  EXPECT_EQ(r[0].largest, 998u);
  EXPECT_FALSE(t.on_packet(1, true, 4us));  // forgotten: treated as seen
}

}  // namespace
}  // namespace ferry::rudp
