#include "secure/identity.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "fileio/path.hpp"
#include "secure/errors.hpp"
#include "util/failure.hpp"

namespace ferry::secure {
namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail(const std::string& what) {
  throw failure(errc::key_file, step::configure, what);
}

std::string errno_text() {
  return std::strerror(errno);
}

// The lists are small text files a person edits; a huge one is a mistake.
constexpr std::uintmax_t max_list_bytes = 1 << 20;

std::string read_text(const fs::path& file, bool& exists) {
  exists = false;
  std::error_code ec;
  const auto size = fs::file_size(file, ec);
  if (ec) {
    if (ec == std::errc::no_such_file_or_directory) return {};
    fail(file.string() + ": " + ec.message());
  }
  if (size > max_list_bytes) fail(file.string() + ": larger than 1 MiB");
  std::ifstream in(file, std::ios::binary);
  if (!in) fail(file.string() + ": cannot read: " + errno_text());
  exists = true;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string_view> words(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t'))
      ++i;
    const std::size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t')
      ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

/// Calls f(line_number, line) for each non-blank, non-comment line.
template <class F>
void each_line(const std::string& text, F&& f) {
  std::size_t n = 0;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    auto nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    std::string_view line(text.data() + pos, nl - pos);
    ++n;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const auto first = line.find_first_not_of(" \t");
    if (first != std::string_view::npos && line[first] != '#') f(n, line);
    pos = nl + 1;
  }
}

/// Writes `text` to `file` through a temporary name and rename.
void write_atomically(const fs::path& file, const std::string& text, mode_t mode) {
  const fs::path tmp = file.string() + ".tmp." + std::to_string(::getpid());
  ::unlink(tmp.c_str());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) fail(tmp.string() + ": cannot create: " + errno_text());
  std::size_t done = 0;
  while (done < text.size()) {
    const auto n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const auto why = errno_text();
      ::close(fd);
      fail(tmp.string() + ": cannot write: " + why);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) fail(tmp.string() + ": cannot write: " + errno_text());
  if (::rename(tmp.c_str(), file.c_str()) != 0)
    fail(file.string() + ": cannot rename into place: " + errno_text());
}

// Every directory made here is 0700, parents included (mkdir -p would
// leave them to the umask).
void ensure_dir(const fs::path& dir) {
  std::error_code ec;
  if (dir.empty() || fs::is_directory(dir, ec)) return;
  ensure_dir(dir.parent_path());
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    fail(dir.string() + ": cannot create the config directory: " + errno_text());
  if (!fs::is_directory(dir, ec)) fail(dir.string() + ": not a directory");
}

// One write with O_APPEND: lines that several processes add at once (two
// senders meeting a receiver for the first time) all land, whole.
void append_line(const fs::path& file, const std::string& line, mode_t mode) {
  const int fd = ::open(file.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, mode);
  if (fd < 0) fail(file.string() + ": cannot open for appending: " + errno_text());
  std::string text = line + "\n";
  struct stat st {};
  if (::fstat(fd, &st) == 0 && st.st_size > 0) {
    char last = '\n';
    if (::pread(fd, &last, 1, st.st_size - 1) == 1 && last != '\n') text = "\n" + text;
  }
  const auto n = ::write(fd, text.data(), text.size());
  const bool ok = n == static_cast<ssize_t>(text.size());
  const auto why = errno_text();
  ::close(fd);
  if (!ok) fail(file.string() + ": cannot append: " + why);
}

public_key raw_public(EVP_PKEY* pkey) {
  public_key key{};
  std::size_t len = key.size();
  if (EVP_PKEY_get_raw_public_key(pkey, key.data(), &len) != 1 || len != key.size())
    fail("cannot read the identity's public key");
  return key;
}

X509* self_signed(EVP_PKEY* pkey) {
  X509* cert = X509_new();
  if (cert == nullptr) fail("out of memory");
  bool ok = X509_set_version(cert, 2) == 1;
  ok = ok && ASN1_INTEGER_set(X509_get_serialNumber(cert), 1) == 1;
  ok = ok && X509_gmtime_adj(X509_getm_notBefore(cert), -86400) != nullptr;
  ok = ok && X509_time_adj_ex(X509_getm_notAfter(cert), 36500, 0, nullptr) != nullptr;
  ok = ok && X509_set_pubkey(cert, pkey) == 1;
  X509_NAME* name = X509_get_subject_name(cert);
  ok = ok &&
       X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                  reinterpret_cast<const unsigned char*>("ferry"), -1, -1, 0) == 1;
  ok = ok && X509_set_issuer_name(cert, name) == 1;
  ok = ok && X509_sign(cert, pkey, nullptr) > 0;
  if (!ok) {
    X509_free(cert);
    fail("cannot make the identity's certificate");
  }
  return cert;
}

std::string default_comment() {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  const char* user = std::getenv("USER");
  return std::string(user != nullptr ? user : "ferry") + "@" + host;
}

bool token_name_ok(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (const char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-'))
      return false;
  return true;
}

}  // namespace

std::string base64(std::span<const std::uint8_t> bytes, bool pad) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes.data(),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  if (!pad)
    while (!out.empty() && out.back() == '=')
      out.pop_back();
  return out;
}

std::optional<std::vector<std::uint8_t>> unbase64(std::string_view text) {
  static constexpr std::string_view alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  while (!text.empty() && text.back() == '=')
    text.remove_suffix(1);
  if (text.size() % 4 == 1) return std::nullopt;
  std::vector<std::uint8_t> out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (const char c : text) {
    const auto v = alphabet.find(c);
    if (v == std::string_view::npos) return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<std::uint8_t>((acc >> bits) & 0xff));
    }
  }
  // Leftover bits must be zero: one text per byte string.
  if ((acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

std::string fingerprint(const public_key& key) {
  std::array<std::uint8_t, SHA256_DIGEST_LENGTH> digest{};
  SHA256(key.data(), key.size(), digest.data());
  return "SHA256:" + base64(digest, false);
}

std::string key_line(const public_key& key, std::string_view comment) {
  std::string line = std::string(key_type) + " " + base64(key);
  if (!comment.empty()) line += " " + std::string(comment);
  return line;
}

std::optional<public_key> parse_key(std::string_view type, std::string_view text) {
  if (type != key_type) return std::nullopt;
  const auto bytes = unbase64(text);
  if (!bytes || bytes->size() != 32) return std::nullopt;
  public_key key{};
  std::copy(bytes->begin(), bytes->end(), key.begin());
  return key;
}

fs::path config_dir(const std::string& flag) {
  if (!flag.empty()) return flag;
  if (const char* d = std::getenv("FERRY_CONFIG_DIR"); d != nullptr && *d != '\0') return d;
  if (const char* x = std::getenv("XDG_CONFIG_HOME"); x != nullptr && *x == '/')
    return fs::path(x) / "ferry";
  const char* home = std::getenv("HOME");
  if (home == nullptr || *home == '\0')
    fail("no config directory: set HOME, XDG_CONFIG_HOME or FERRY_CONFIG_DIR, or use --config-dir");
  return fs::path(home) / ".config" / "ferry";
}

identity::identity(identity&& o) noexcept
    : pkey_(std::exchange(o.pkey_, nullptr)),
      cert_(std::exchange(o.cert_, nullptr)),
      key_(o.key_),
      line_(std::move(o.line_)) {}

identity& identity::operator=(identity&& o) noexcept {
  if (this != &o) {
    EVP_PKEY_free(pkey_);
    X509_free(cert_);
    pkey_ = std::exchange(o.pkey_, nullptr);
    cert_ = std::exchange(o.cert_, nullptr);
    key_ = o.key_;
    line_ = std::move(o.line_);
  }
  return *this;
}

identity::~identity() {
  EVP_PKEY_free(pkey_);
  X509_free(cert_);
}

identity identity::load_or_create(const fs::path& dir, const std::string& comment) {
  const fs::path priv = dir / "id_ed25519";
  const fs::path pub = dir / "id_ed25519.pub";
  identity id;
  struct stat st {};
  if (::stat(priv.c_str(), &st) == 0) {
    if ((st.st_mode & 077) != 0) {
      char mode[8];
      std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
      fail(priv.string() + ": the private key is accessible by group or others (mode " + mode +
           "); run: chmod 600 " + priv.string());
    }
    std::FILE* f = std::fopen(priv.c_str(), "r");
    if (f == nullptr) fail(priv.string() + ": cannot read: " + errno_text());
    id.pkey_ = PEM_read_PrivateKey(f, nullptr, nullptr, nullptr);
    std::fclose(f);
    if (id.pkey_ == nullptr || EVP_PKEY_get_base_id(id.pkey_) != EVP_PKEY_ED25519)
      fail(priv.string() + ": not an Ed25519 private key in PEM");
  } else if (errno != ENOENT) {
    fail(priv.string() + ": " + errno_text());
  } else {
    ensure_dir(dir);
    id.pkey_ = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
    if (id.pkey_ == nullptr) fail("cannot make an Ed25519 key");
    BIO* mem = BIO_new(BIO_s_mem());
    if (mem == nullptr ||
        PEM_write_bio_PrivateKey(mem, id.pkey_, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
      BIO_free(mem);
      fail("cannot encode the new private key");
    }
    char* data = nullptr;
    const long len = BIO_get_mem_data(mem, &data);
    std::string pem(data, static_cast<std::size_t>(len));
    BIO_free(mem);
    write_atomically(priv, pem, 0600);
    const auto key = raw_public(id.pkey_);
    write_atomically(pub, key_line(key, comment.empty() ? default_comment() : comment) + "\n",
                     0644);
  }
  id.key_ = raw_public(id.pkey_);
  id.cert_ = self_signed(id.pkey_);
  bool exists = false;
  const std::string text = read_text(pub, exists);
  std::string line;
  if (exists) {
    each_line(text, [&](std::size_t, std::string_view l) {
      if (line.empty()) line = std::string(l);
    });
  }
  const auto w = words(line);
  const auto listed = w.size() >= 2 ? parse_key(w[0], w[1]) : std::nullopt;
  // The .pub file is a convenience; the private key is the truth.
  id.line_ = listed && *listed == id.key_ ? line : key_line(id.key_, default_comment());
  return id;
}

std::vector<listed_key> read_key_list(const fs::path& file) {
  bool exists = false;
  const std::string text = read_text(file, exists);
  std::vector<listed_key> out;
  each_line(text, [&](std::size_t n, std::string_view line) {
    const std::string where = file.string() + ", line " + std::to_string(n);
    auto w = words(line);
    listed_key k;
    // Options first, as in ssh's authorized_keys: "dir=photos ferry-ed25519 ...".
    if (!w.empty() && w[0] != key_type && w[0].find('=') != std::string_view::npos) {
      std::string_view opts = w[0];
      while (!opts.empty()) {
        const auto comma = opts.find(',');
        const auto opt = opts.substr(0, comma);
        opts = comma == std::string_view::npos ? std::string_view() : opts.substr(comma + 1);
        if (opt.substr(0, 4) != "dir=")
          fail(where + ": unknown option '" + std::string(opt.substr(0, opt.find('='))) +
               "' (the one option is dir=SUBDIR)");
        std::vector<std::string> parts;
        if (!k.dir.empty() || fileio::split_safe_path(opt.substr(4), parts))
          fail(where +
               ": dir= wants one relative path inside the receive directory, without "
               "'..', '.' or empty parts");
        if (opt.find_first_of("\"'") != std::string_view::npos)
          fail(where + ": dir= takes no quotes (a name with blanks cannot be given)");
        k.dir = std::string(opt.substr(4));
      }
      w.erase(w.begin());
    }
    const auto key = w.size() >= 2 ? parse_key(w[0], w[1]) : std::nullopt;
    if (!key) fail(where + ": expected '[dir=SUBDIR] ferry-ed25519 <base64 key> [comment]'");
    k.key = *key;
    // One key, one confinement: a second line that would confine it
    // differently (an appended dir= line) must not lose to the first.
    for (const auto& other : out)
      if (other.key == k.key && other.dir != k.dir)
        fail(where + ": this key is listed before with " +
             (other.dir.empty() ? std::string("no dir=") : "dir=" + other.dir) +
             "; give each key one line");
    if (w.size() > 2)
      k.comment = std::string(line.substr(static_cast<std::size_t>(w[2].data() - line.data())));
    out.push_back(std::move(k));
  });
  return out;
}

void append_key(const fs::path& file, const public_key& key, std::string_view comment) {
  for (const auto& k : read_key_list(file))
    if (k.key == key) return;
  ensure_dir(file.parent_path());
  append_line(file, key_line(key, comment), 0644);
}

std::optional<known_entry> find_known(const fs::path& file, std::string_view name) {
  bool exists = false;
  const std::string text = read_text(file, exists);
  std::optional<known_entry> found;
  each_line(text, [&](std::size_t n, std::string_view line) {
    const auto w = words(line);
    if (found || w.empty() || w[0] != name) return;
    const auto key = w.size() >= 3 ? parse_key(w[1], w[2]) : std::nullopt;
    if (!key)
      fail(file.string() + ", line " + std::to_string(n) +
           ": expected '<host:port> ferry-ed25519 <base64 key>'");
    found = known_entry{*key, n};
  });
  return found;
}

void record_known(const fs::path& file, std::string_view name, const public_key& key) {
  ensure_dir(file.parent_path());
  append_line(file, std::string(name) + " " + key_line(key), 0644);
}

std::vector<token> read_tokens(const fs::path& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) == 0 && (st.st_mode & 077) != 0)
    fail(file.string() + ": the tokens file is accessible by group or others; run: chmod 600 " +
         file.string());
  bool exists = false;
  const std::string text = read_text(file, exists);
  std::vector<token> out;
  each_line(text, [&](std::size_t n, std::string_view line) {
    const auto w = words(line);
    const auto secret = w.size() == 2 ? parse_token(w[1]) : std::nullopt;
    if (!secret)
      fail(file.string() + ", line " + std::to_string(n) + ": expected '<name> <base64 secret>'");
    out.push_back({std::string(w[0]), *secret});
  });
  return out;
}

std::string new_token(const fs::path& file, const std::string& name) {
  if (!token_name_ok(name))
    throw failure(errc::key_file, step::configure,
                  "--new-token: a name is 1 to 64 of A-Z a-z 0-9 . _ -");
  for (const auto& t : read_tokens(file))
    if (t.name == name) fail(file.string() + ": a token named '" + name + "' exists already");
  std::array<std::uint8_t, 32> secret{};
  if (RAND_bytes(secret.data(), static_cast<int>(secret.size())) != 1)
    fail("no randomness for a token");
  const std::string text = base64(secret);
  ensure_dir(file.parent_path());
  append_line(file, name + " " + text, 0600);
  return text;
}

std::optional<std::array<std::uint8_t, 32>> parse_token(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
    text.remove_suffix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())))
    text.remove_prefix(1);
  const auto bytes = unbase64(text);
  if (!bytes || bytes->size() != 32) return std::nullopt;
  std::array<std::uint8_t, 32> out{};
  std::copy(bytes->begin(), bytes->end(), out.begin());
  return out;
}

}  // namespace ferry::secure
