// Writes the checked-in seed corpora under DIR (fuzz/corpus): real encoded
// messages for each fuzz target, so the fuzzer starts from valid input.
//   build-fuzz/bin/make_seeds fuzz/corpus
#include <array>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "framing/frame.hpp"
#include "rudp/packet.hpp"
#include "socks5/codec.hpp"

namespace fs = std::filesystem;
using bytes = std::vector<std::uint8_t>;

namespace {

void put(const fs::path& dir, const std::string& name, const bytes& b) {
  fs::create_directories(dir);
  std::ofstream(dir / name, std::ios::binary)
      .write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

bytes with_prefix(std::uint8_t first, const bytes& rest) {
  bytes b{first};
  b.insert(b.end(), rest.begin(), rest.end());
  return b;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const fs::path root = argv[1];
  namespace fr = ferry::framing;

  // Frames: a session's worth, one file each, plus one with all of them.
  const std::vector<fr::message> msgs = {
      fr::hello{0, "ferry-send/0.1.0"},
      fr::welcome{0, 1 << 20, "ferry-recv/0.1.0"},
      fr::offer{1, fr::entry_kind::file, true, 0644, 1'700'000'000'000'000'000, 5, "a/b.txt"},
      fr::offer{2, fr::entry_kind::file, true, 0600, 0, 9, "r", true, true, fr::hash128{1, 2}},
      fr::answer{1, fr::answer_kind::resume, 4096, "", fr::hash128{3, 4}},
      fr::data{1, 5},
      fr::done{1, 5, fr::hash128{5, 6}},
      fr::restart{2},
      fr::keepalive{},
      fr::abort_file{1, "gone"},
      fr::verdict{1, fr::verdict_kind::stored, ""},
      fr::end{},
      fr::bye{1, 5},
      fr::error_frame{fr::error_code::limit, "busy"},
      fr::auth{fr::auth_method::code, fr::binding_value{1, 2, 3}, std::string(34, 'a')},
      fr::auth_reply{fr::auth_status::code_continue, fr::binding_value{4}, std::string(34, 'b'),
                     std::string(64, 't')},
  };
  fr::byte_buffer all;
  fr::encode_preamble(all);
  for (std::size_t i = 0; i < msgs.size(); ++i) {
    fr::byte_buffer one;
    fr::encode_preamble(one);
    fr::encode(msgs[i], one);
    fr::encode(msgs[i], all);
    put(root / "frame", "msg" + std::to_string(i), one);
  }
  put(root / "frame", "session", all);

  // SOCKS5: first byte picks the parser (0 method, 1 login, 2 reply, 3 UDP).
  namespace s5 = ferry::socks5;
  put(root / "socks5", "method", {0, 5, 0});
  put(root / "socks5", "login", {1, 1, 0});
  int n = 0;
  for (const auto& host : {"10.1.2.3", "::1", "proxy.example"}) {
    s5::byte_buffer r;
    s5::encode_reply(s5::reply{0, s5::address{host, 1080}}, r);
    put(root / "socks5", "reply" + std::to_string(n), with_prefix(2, r));
    s5::byte_buffer u;
    if (!s5::encode_udp_header(s5::address{host, 7070}, u)) {
      u.insert(u.end(), {'F', 'R', 'D', 'P'});
      put(root / "socks5", "udp" + std::to_string(n), with_prefix(3, u));
    }
    ++n;
  }

  // rUDP datagrams: INIT with a token, ACCEPT, and a data packet with
  // PING, ACK, STREAM, STREAM_FIN, MAX_DATA and CLOSE.
  namespace ru = ferry::rudp;
  std::array<std::uint8_t, 1500> buf{};
  ru::handshake_body body;
  body.max_packet = 1200;
  body.max_data = 8 << 20;
  body.token_len = 4;
  const ru::long_header init{ru::packet_type::init, ru::wire_version, 0, 77};
  auto len = ru::encode_handshake(init, body, buf, 600);
  put(root / "rudp", "init", bytes(buf.begin(), buf.begin() + static_cast<long>(len)));
  const ru::long_header acc{ru::packet_type::accept, ru::wire_version, 77, 88};
  len = ru::encode_handshake(acc, body, buf);
  put(root / "rudp", "accept", bytes(buf.begin(), buf.begin() + static_cast<long>(len)));
  ru::cursor c(buf);
  ru::encode_data_header(88, 5, c);
  ru::encode_ping(c);
  const std::array<ru::ack_range, 2> ranges{ru::ack_range{10, 12}, ru::ack_range{2, 7}};
  ru::encode_ack(ranges, 250, c);
  ru::encode_stream_header(0, 3, false, c);
  c.raw(std::array<std::uint8_t, 3>{'a', 'b', 'c'});
  ru::encode_stream_header(3, 2, true, c);
  c.raw(std::array<std::uint8_t, 2>{'d', 'e'});
  ru::encode_max_data(1 << 20, c);
  ru::encode_close(ru::close_code::normal, "bye", c);
  put(root / "rudp", "data", bytes(buf.begin(), buf.begin() + static_cast<long>(c.size())));

  // Paths: safe ones and each kind of unsafe one.
  const std::vector<std::string> paths = {
      "a.txt",  "photos/2024/é.jpg", "../etc/passwd", "/abs", "a//b", "a/./b",
      "tab\tx", ".ferry-part-1",     "dir/"};
  for (std::size_t i = 0; i < paths.size(); ++i)
    put(root / "path", "p" + std::to_string(i), bytes(paths[i].begin(), paths[i].end()));
  return 0;
}
