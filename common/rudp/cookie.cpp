#include "rudp/cookie.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/random.h>

#include <cstring>
#include <stdexcept>
#include <vector>

namespace ferry::rudp {
namespace {

void put32(std::uint8_t* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i)
    p[i] = static_cast<std::uint8_t>(v >> (24 - 8 * i));
}

std::uint32_t get32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

std::uint32_t seconds_of(time_point t) {
  return static_cast<std::uint32_t>(std::chrono::duration_cast<std::chrono::seconds>(t).count());
}

}  // namespace

cookie_jar::cookie_jar() {
  std::size_t got = 0;
  while (got < secret_.size()) {
    const ssize_t n = ::getrandom(secret_.data() + got, secret_.size() - got, 0);
    if (n < 0) throw std::runtime_error("getrandom failed");
    got += static_cast<std::size_t>(n);
  }
}

void cookie_jar::mac(std::uint32_t issued, std::span<const std::uint8_t> source,
                     std::uint32_t client_cid, std::uint8_t* out16) const {
  std::uint8_t input[8 + 32];
  put32(input, issued);
  put32(input + 4, client_cid);
  const std::size_t n = std::min<std::size_t>(source.size(), 32);
  std::memcpy(input + 8, source.data(), n);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()), input, 8 + n, md, &md_len);
  std::memcpy(out16, md, 16);
}

std::size_t cookie_jar::issue(std::span<const std::uint8_t> source, std::uint32_t client_cid,
                              time_point now, std::span<std::uint8_t, max_token_size> out) const {
  const std::uint32_t issued = seconds_of(now);
  put32(out.data(), issued);
  mac(issued, source, client_cid, out.data() + 4);
  return token_size;
}

bool cookie_jar::check(std::span<const std::uint8_t> token, std::span<const std::uint8_t> source,
                       std::uint32_t client_cid, time_point now) const {
  if (token.size() != token_size) return false;
  const std::uint32_t issued = get32(token.data());
  const std::uint32_t t = seconds_of(now);
  const auto life = static_cast<std::uint32_t>(lifetime.count() / 1000000);
  if (issued > t || t - issued > life) return false;
  std::uint8_t expect[16];
  mac(issued, source, client_cid, expect);
  return CRYPTO_memcmp(expect, token.data() + 4, 16) == 0;
}

}  // namespace ferry::rudp
