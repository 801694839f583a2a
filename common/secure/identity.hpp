// Who a ferry program is: an Ed25519 key in its config directory, made on
// first use, and the plain-text lists beside it (ssh's model, see
// docs/security.md):
//   id_ed25519          private key, PKCS#8 PEM, mode 0600 (refused if group-
//                       or world-accessible)
//   id_ed25519.pub      "ferry-ed25519 <base64> <comment>"
//   known_receivers     (sender) "<host:port> ferry-ed25519 <base64> [comment]"
//   authorized_senders  (receiver) "ferry-ed25519 <base64> [comment]"
//   tokens              (receiver) "<name> <base64 secret>", mode 0600
// Errors throw ferry::failure with secure::errc::key_file at step configure.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

using EVP_PKEY = struct evp_pkey_st;
using X509 = struct x509_st;

namespace ferry::secure {

using public_key = std::array<std::uint8_t, 32>;
inline constexpr std::string_view key_type = "ferry-ed25519";

/// "SHA256:" + unpadded base64 of the key's SHA-256, as ssh prints it.
std::string fingerprint(const public_key& key);
/// "ferry-ed25519 <base64>[ <comment>]".
std::string key_line(const public_key& key, std::string_view comment = {});
/// The key of a "ferry-ed25519 <base64> ..." line's two first words.
std::optional<public_key> parse_key(std::string_view type, std::string_view base64);

std::string base64(std::span<const std::uint8_t> bytes, bool pad = true);
/// Decodes standard base64 (padded or not); nothing on any other byte.
std::optional<std::vector<std::uint8_t>> unbase64(std::string_view text);

/// --config-dir, else $FERRY_CONFIG_DIR, else $XDG_CONFIG_HOME/ferry, else
/// ~/.config/ferry.
std::filesystem::path config_dir(const std::string& flag);

class identity {
 public:
  /// The key in `dir`, made (with `dir`, mode 0700) when there is none.
  /// `comment` goes in the .pub line of a new key.
  static identity load_or_create(const std::filesystem::path& dir, const std::string& comment);
  identity(identity&&) noexcept;
  identity& operator=(identity&&) noexcept;
  ~identity();

  const public_key& key() const { return key_; }
  /// The .pub line: "ferry-ed25519 <base64> <comment>".
  const std::string& line() const { return line_; }
  EVP_PKEY* pkey() const { return pkey_; }
  /// A self-signed certificate carrying the key (names and dates mean nothing).
  X509* certificate() const { return cert_; }

 private:
  identity() = default;
  EVP_PKEY* pkey_ = nullptr;
  X509* cert_ = nullptr;
  public_key key_{};
  std::string line_;
};

/// A key and the rest of its line, from one of the lists.
struct listed_key {
  public_key key{};
  std::string comment;
  std::string dir;  // dir=SUBDIR: the sender's entries go under it ("" = --dir itself)
};

/// The keys in an authorized_senders-style file ("[dir=SUBDIR] ferry-ed25519
/// <b64> [comment]", '#' comments, blank lines); none when the file is
/// absent. A line that does not parse, or an unknown option, is an error.
std::vector<listed_key> read_key_list(const std::filesystem::path& file);
/// Appends a key line (creating the file, mode 0644); a key already listed
/// is not added twice.
void append_key(const std::filesystem::path& file, const public_key& key, std::string_view comment);

/// known_receivers: what is recorded for `name` ("host:port").
struct known_entry {
  public_key key{};
  std::size_t line = 0;
};
std::optional<known_entry> find_known(const std::filesystem::path& file, std::string_view name);
void record_known(const std::filesystem::path& file, std::string_view name, const public_key& key);

/// tokens: named 256-bit secrets, for scripts.
struct token {
  std::string name;
  std::array<std::uint8_t, 32> secret{};
};
std::vector<token> read_tokens(const std::filesystem::path& file);
/// Makes, stores and returns a new token (its secret in base64); `name`
/// must be 1-64 of [A-Za-z0-9._-] and not taken.
std::string new_token(const std::filesystem::path& file, const std::string& name);
/// The secret of a token as a person holds it (base64, surrounding blanks
/// ignored); nothing when it is not 32 bytes of base64.
std::optional<std::array<std::uint8_t, 32>> parse_token(std::string_view text);

}  // namespace ferry::secure
