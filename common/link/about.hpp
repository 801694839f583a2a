// What --version prints: the program's version, the protocol's, and the
// libraries it was built with and runs with (they can differ: a Debian
// update of OpenSSL or libsodium does not rebuild ferry). Included only by
// the two option parsers, which link everything it names.
#pragma once

#include <openssl/crypto.h>
#include <sodium.h>
#include <xxhash.h>
#include <zstd.h>

#include <asio/version.hpp>
#include <cxxopts.hpp>
#include <string>

#include "framing/frame.hpp"

#ifndef FERRY_VERSION
#define FERRY_VERSION "0.0.0"
#endif

namespace ferry {

inline std::string about_text(const std::string& program) {
  auto dotted = [](unsigned long v, unsigned long a, unsigned long b) {
    return std::to_string(v / a) + "." + std::to_string(v / b % (a / b)) + "." +
           std::to_string(v % b);
  };
  const unsigned xxh = XXH_versionNumber();
  std::string out = program + " " + FERRY_VERSION + " (protocol " +
                    std::to_string(framing::protocol_version) + ")\n";
  out += "built with:";
  out += " OpenSSL " + std::string(OpenSSL_version(OPENSSL_VERSION_STRING)) + " (built " +
         OPENSSL_VERSION_STR + "),";
  out += " libsodium " + std::string(sodium_version_string()) + " (built " + SODIUM_VERSION_STRING +
         "),";
  out += " xxHash " + dotted(xxh, 10000, 100) + ",";
  out += " zstd " + std::string(ZSTD_versionString()) + " (built " + ZSTD_VERSION_STRING + "),";
  out += " Asio " + dotted(ASIO_VERSION, 100000, 100) + ",";
  out += " cxxopts " + std::to_string(CXXOPTS__VERSION_MAJOR) + "." +
         std::to_string(CXXOPTS__VERSION_MINOR) + "." + std::to_string(CXXOPTS__VERSION_PATCH) +
         "\n";
  return out;
}

}  // namespace ferry
