#include "sender/options.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cxxopts.hpp>

#include "fileio/path.hpp"
#include "link/about.hpp"
#include "util/exit_codes.hpp"
#include "util/units.hpp"

namespace ferry::send {
namespace {

early_exit usage_error(const std::string& msg) {
  return ferry::usage_error("ferry-send", msg);
}

constexpr const char* usage_line = "usage: ferry-send [OPTIONS] HOST[:PORT] PATH...";

bool is_ipv6_literal(const std::string& s) {
  in6_addr a{};
  return ::inet_pton(AF_INET6, s.c_str(), &a) == 1;
}

// HOST:PORT with a port: what a destination typed in a path's place looks like.
bool looks_like_destination(const std::string& s) {
  if (s.find('/') != std::string::npos || s.starts_with('.')) return false;
  const auto hp = net::parse_host_port(s);
  return hp && hp->port != 0 && !hp->host.empty() && std::count(s.begin(), s.end(), ':') == 1;
}

}  // namespace

std::optional<std::string> destination_problem(const std::string& t) {
  const std::string no_path =
      "ferry has no remote path or login: files land in the receiver's --dir";
  if (t.find("://") != std::string::npos)
    return "'" + t + "' is a URL, not a destination HOST[:PORT] (a proxy goes in --proxy; " +
           no_path + ")";
  if (t.find('@') != std::string::npos)
    return "'" + t + "' is not a destination HOST[:PORT]: " + no_path;
  if (t.find('/') != std::string::npos)
    return "'" + t + "' looks like a path, not a destination HOST[:PORT] (" + no_path + ")";
  if (!t.starts_with('[') && std::count(t.begin(), t.end(), ':') > 1 && !is_ipv6_literal(t))
    return "'" + t + "' has more than one ':' (an IPv6 address goes in brackets, [::1]:7070; " +
           no_path + ")";
  const auto colon = t.rfind(':');
  if (colon != std::string::npos &&
      (t.starts_with('[') || std::count(t.begin(), t.end(), ':') == 1)) {
    const std::string port = t.substr(colon + 1);
    const bool digits =
        !port.empty() && port.size() <= 10 &&
        std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (digits && (std::stoull(port) == 0 || std::stoull(port) > 65535))
      return "port " + port + " is out of range (1-65535)";
  }
  return std::nullopt;
}

std::vector<std::string> split_path_list(const std::string& text, bool null_separated) {
  std::vector<std::string> out;
  const char sep = null_separated ? '\0' : '\n';
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t stop = text.find(sep, start);
    if (stop == std::string::npos) stop = text.size();
    std::string item = text.substr(start, stop - start);
    if (!null_separated && item.ends_with('\r')) item.pop_back();
    if (!item.empty()) out.push_back(std::move(item));
    start = stop + 1;
  }
  return out;
}

namespace {

// Fills o.proxy from the flag or the environment; returns a usage error.
std::optional<early_exit> resolve_proxy(options& o, const std::string& flag, bool no_proxy,
                                        const env_lookup& env) {
  if (no_proxy) return std::nullopt;
  auto get = [&](const char* name) -> std::string {
    const char* v = env ? env(name) : nullptr;
    return v != nullptr ? v : "";
  };
  std::string url = flag;
  std::string source = "--proxy";
  for (const char* name : {"FERRY_PROXY", "ALL_PROXY", "all_proxy"}) {
    if (!url.empty()) break;
    url = get(name);
    source = name;
  }
  if (url.empty()) return std::nullopt;
  std::string why;
  auto p = link::parse_proxy_url(url, why);
  if (!p) {
    // ALL_PROXY is shared with other tools and may name an HTTP proxy.
    if (source == "ALL_PROXY" || source == "all_proxy") {
      o.warnings.push_back("ignoring " + source + " (" + why + ")");
      return std::nullopt;
    }
    return usage_error(source + ": " + why);
  }
  if (const auto bad = link::use_password_from_env(*p, env ? env("FERRY_PROXY_PASSWORD") : nullptr);
      !bad.empty())
    return usage_error(bad);
  o.proxy = std::move(*p);
  return std::nullopt;
}

}  // namespace

std::optional<std::string> validate(const options& o) {
  if (o.show_identity) return std::nullopt;
  if (o.null_separated && o.files_from.empty()) return "-0 needs --files-from";
  const auto dashes = std::count(o.paths.begin(), o.paths.end(), "-");
  if (dashes > 1) return "'-' (stdin) may be given only once";
  if (dashes == 1 && o.files_from == "-")
    return "stdin cannot be both content ('-') and --files-from -";
  if (dashes == 1 && o.stdin_name.empty())
    return "streaming stdin ('-') needs --name NAME for the receiver";
  if (dashes == 0 && !o.stdin_name.empty()) return "--name applies only to '-'";
  if (o.paths.empty() && o.files_from.empty())
    return "nothing to send (give paths or --files-from)";
  if (!o.to.empty()) {
    std::vector<std::string> parts;
    if (const auto ec = fileio::split_safe_path(o.to, parts))
      return "--to: '" + o.to + "' is not a relative path inside the receiver's directory (" +
             ec.message() + ")";
  }
  const bool has_code = !o.code_env.empty() || !o.code_file.empty();
  const bool has_token = !o.token_env.empty() || !o.token_file.empty();
  if (has_code && has_token)
    return "a one-time code (FERRY_CODE, --code-file) and a token (FERRY_TOKEN, --token-file) "
           "exclude each other";
  if (o.code_file == "-" && (dashes == 1 || o.files_from == "-"))
    return "stdin can carry only one of the code (--code-file -), content ('-') and --files-from -";
  if (o.pin && has_code)
    return "--pin and a one-time code exclude each other (the code proves the receiver)";
  if (o.pin && (o.pin->size() != 50 || !o.pin->starts_with("SHA256:")))
    return "--pin: expected SHA256: and 43 base64 characters, as the receiver's --show-identity "
           "prints";
  return std::nullopt;
}

std::variant<options, early_exit> parse_options(int argc, const char* const* argv,
                                                const env_lookup& env) {
  cxxopts::Options spec("ferry-send", "Send files and directories to a ferry-recv.");
  spec.custom_help("[OPTIONS] HOST[:PORT] [PATH...]");
  spec.positional_help("");
  // clang-format off
  spec.add_options()
    ("files-from", "Read more paths from FILE, one per line ('-' = stdin); each arrives under "
                   "its path as written (leading ./ and / dropped; '..' refused)",
                   cxxopts::value<std::string>(), "FILE")
    ("0,null", "The --files-from list is NUL-separated (find -print0)")
    ("name", "Name on the receiver for content read from stdin ('-' path)",
             cxxopts::value<std::string>(), "NAME")
    ("to", "Put everything under SUBDIR of the receiver's directory (made if missing; "
           "a relative path without '..'). The receiver may refuse it (exit 1)",
           cxxopts::value<std::string>(), "SUBDIR")
    ("R,relative", "Path arguments arrive under their whole path as written (a/b/c.txt as "
                   "a/b/c.txt, like rsync -R; a '/./' marks where it starts), not only their "
                   "last component")
    ("exclude", "Leave out what matches PATTERN (repeatable), by rsync's rules: * and ? "
                "stop at /, ** does not, [...] classes; a trailing / matches directories "
                "only; a leading / anchors at the top of the argument (its name on the "
                "receiver); a pattern without / matches names at any depth. A matching "
                "directory is not descended", cxxopts::value<std::vector<std::string>>(),
                "PATTERN")
    ("exclude-from", "Read --exclude patterns from FILE, one per line ('#' and ';' start "
                     "comments)", cxxopts::value<std::string>(), "FILE")
    ("follow-symlinks", "Send what symlinks point to (default: skip them with a warning)")
    ("proxy", "Connect through a SOCKS5 proxy: socks5://[USER[:PASS]@]HOST[:PORT] (we "
              "resolve names) or socks5h://... (the proxy resolves them). Default: "
              "$FERRY_PROXY, then $ALL_PROXY / $all_proxy; the password may come from "
              "$FERRY_PROXY_PASSWORD", cxxopts::value<std::string>(), "URL")
    ("no-proxy", "Connect directly, whatever --proxy or the environment say")
    ("udp", "Use the reliable UDP transport (=strict: fail rather than fall back to TCP when "
            "a proxy has no UDP)", cxxopts::value<std::string>()->implicit_value("on"), "strict")
    ("rate", "Cap the send rate, in bits/s (K, M, G suffixes: 200M): UDP mode paces its "
             "packets; TCP mode paces its writes (and asks the kernel to pace the "
             "connection, SO_MAX_PACING_RATE)",
             cxxopts::value<std::string>(), "RATE")
    ("z,compress", "Compress content with zstd, segment by segment (what does not compress "
                   "is sent as it is), when the receiver agrees. Worth it on links slower "
                   "than the CPU: text over a 100 Mbit/s link moves several times faster")
    ("compress-level", "zstd level for --compress, 1 (fastest) to 19 (default 3)",
                       cxxopts::value<std::string>(), "N")
    ("udp-size", "UDP mode: datagram size in bytes, SOCKS5 header included (1000-65000), "
                 "or auto: start at 1200 and use larger datagrams once the path is shown "
                 "to carry them whole",
                 cxxopts::value<std::string>()->default_value("auto"), "BYTES|auto")
    ("tcp-congestion", "TCP mode: congestion control for the connection (TCP_CONGESTION), "
                       "e.g. cubic or bbr", cxxopts::value<std::string>(), "NAME")
    ("resume", "Continue files an interrupted transfer left on the receiver, after checking "
               "the kept bytes' hash (the default)")
    ("no-resume", "Send every file whole, ignoring what an interrupted transfer left")
    ("skip-identical", "Hash each file before connecting; the receiver skips it when it "
                       "already holds the same size and XXH3-128 (whatever the mtime)")
    ("pin", "Require the receiver's key to have this fingerprint (from its --show-identity); "
            "records nothing in known_receivers", cxxopts::value<std::string>(), "SHA256:...")
    ("token-file", "Prove a token the receiver made (ferry-recv --new-token) from FILE; "
                   "default $FERRY_TOKEN", cxxopts::value<std::string>(), "FILE")
    ("code-file", "Prove the receiver's one-time code, read from FILE ('-' = stdin); default "
                  "$FERRY_CODE. Never on the command line", cxxopts::value<std::string>(), "FILE")
    ("config-dir", "Where our key and known_receivers live (default $FERRY_CONFIG_DIR, else "
                   "$XDG_CONFIG_HOME/ferry, else ~/.config/ferry)",
                   cxxopts::value<std::string>(), "DIR")
    ("show-identity", "Print our public key line and fingerprint (making the key if need be) "
                      "and exit")
    ("json", "NDJSON events on stdout, one object per line")
    ("q,quiet", "No progress and no summary on stderr (warnings and errors still shown)")
    ("connect-timeout", "Give up when the session has not started after this long: connecting, "
                        "the proxy's exchange and the receiver's handshake (s, ms, m suffixes)",
                        cxxopts::value<std::string>()->default_value("10"), "SECONDS")
    ("timeout", "Give up when the receiver makes no progress this long (KEEPALIVEs count only "
                "while it may be hashing what we offered)",
                cxxopts::value<std::string>()->default_value("30"), "SECONDS")
    ("V,version", "Print the version, the protocol version and the libraries' versions, and exit")
    ("h,help", "Print this help and exit")
    ("dest", "", cxxopts::value<std::string>())
    ("paths", "", cxxopts::value<std::vector<std::string>>());
  // clang-format on
  spec.parse_positional({"dest", "paths"});
  try {
    const auto args = spec.parse(argc, argv);
    if (args.count("help"))
      return early_exit{
          0, tidy_help(spec.help({""}) +
                       "\nHOST[:PORT] is the receiver; PORT defaults to 7070. Files land in "
                       "the receiver's --dir: there is no remote path.\n"
                       "A directory argument is sent recursively under its own name (photos/ "
                       "arrives as photos/...); with -R, and for --files-from entries, the "
                       "whole relative path is kept (data/x/a.csv arrives as data/x/a.csv). "
                       "Two entries that would arrive under one name are a usage error.\n"
                       "'-' as a PATH streams stdin (needs --name).\n"
                       "\nEvery session is encrypted (TLS 1.3). The receiver's key is checked "
                       "against --pin, else known_receivers (recorded on first contact; a "
                       "changed key is fatal). The receiver authorises us by our key (its "
                       "authorized_senders), a token ($FERRY_TOKEN) or its one-time code "
                       "($FERRY_CODE). See docs/security.md.\n\n" +
                       exit_code_help)};
    if (args.count("version")) return early_exit{0, about_text("ferry-send")};
    options o;
    if (args.count("config-dir")) o.config_dir = args["config-dir"].as<std::string>();
    if (args.count("show-identity")) {
      o.show_identity = true;
      return o;
    }
    if (!args.count("dest"))
      return usage_error(std::string("missing destination HOST[:PORT]\n") + usage_line);

    const auto dest_text = args["dest"].as<std::string>();
    if (args.count("paths")) {
      // The two swapped: ferry-send a.txt host:7070.
      for (const auto& p : args["paths"].as<std::vector<std::string>>())
        if (dest_text.find(':') == std::string::npos && looks_like_destination(p))
          return usage_error("'" + p + "' looks like a destination and '" + dest_text +
                             "' like a path: the destination comes first (a file named like " +
                             "a destination can be given as ./" + p + ")\n" + usage_line);
    } else if (args.count("files-from") == 0) {
      // ferry-send file.txt: the host forgotten.
      return usage_error("nothing to send: '" + dest_text +
                         "' was read as the destination HOST[:PORT]; the paths follow it\n" +
                         usage_line);
    }
    if (auto why = destination_problem(dest_text)) return usage_error(*why + "\n" + usage_line);
    const auto hp = net::parse_host_port(dest_text);
    if (!hp || hp->host.empty() || hp->port == 0)
      return usage_error("bad destination '" + dest_text + "' (expected HOST[:PORT])");
    o.dest = *hp;
    if (args.count("paths")) o.paths = args["paths"].as<std::vector<std::string>>();
    if (args.count("files-from")) o.files_from = args["files-from"].as<std::string>();
    o.null_separated = args.count("null") > 0;
    if (args.count("name")) o.stdin_name = args["name"].as<std::string>();
    if (args.count("to")) {
      o.to = args["to"].as<std::string>();
      while (o.to.size() > 1 && o.to.back() == '/')  // photos/ as photos
        o.to.pop_back();
      if (o.to.empty()) return usage_error("--to: expected a subdirectory, not ''");
    }
    if (args.count("exclude")) o.exclude = args["exclude"].as<std::vector<std::string>>();
    if (args.count("exclude-from")) o.exclude_from = args["exclude-from"].as<std::string>();
    o.follow_symlinks = args.count("follow-symlinks") > 0;
    o.relative = args.count("relative") > 0;
    o.json = args.count("json") > 0;
    o.quiet = args.count("quiet") > 0;
    if (args.count("resume") && args.count("no-resume"))
      return usage_error("--resume and --no-resume exclude each other");
    o.resume = args.count("no-resume") == 0;
    o.skip_identical = args.count("skip-identical") > 0;

    for (const auto& [name, field] :
         {std::pair{"connect-timeout", &o.connect_timeout}, std::pair{"timeout", &o.timeout}}) {
      const auto v = parse_seconds(args[name].as<std::string>());
      if (!v) return usage_error(std::string("--") + name + ": expected a positive duration");
      *field = std::chrono::milliseconds(static_cast<std::int64_t>(*v * 1000));
    }
    if (args.count("udp")) {
      const auto mode = args["udp"].as<std::string>();
      if (mode != "on" && mode != "strict")
        return usage_error("--udp takes no value or =strict, not '" + mode + "'");
      o.udp = true;
      o.udp_strict = mode == "strict";
    }
    if (args.count("rate")) {
      const auto r = parse_rate(args["rate"].as<std::string>());
      if (!r || *r == 0) return usage_error("--rate: expected bits per second such as 200M");
      // The receiver counts 64 KiB of content as progress: at 64 kbit/s
      // that comes every 8 s, well inside its --timeout; much slower, an
      // honest transfer is dropped as silent (and below 8 bits/s the byte
      // rate rounded to no cap at all).
      if (*r < 64000)
        return usage_error("--rate: at least 64K (64000 bits/s), not '" +
                           args["rate"].as<std::string>() + "'");
      o.rate_bits = *r;
    }
    {
      const auto text = args["udp-size"].as<std::string>();
      const auto n = parse_size(text);
      if (text != "auto" && (!n || *n < 1000 || *n > 65000))
        return usage_error("--udp-size: expected 1000 to 65000 bytes, or auto");
      if (!o.udp && args.count("udp-size") && !args["udp-size"].has_default())
        return usage_error("--udp-size applies to UDP mode (add --udp)");
      o.udp_size = text == "auto" ? 0 : static_cast<std::size_t>(*n);
    }
    o.compress = args.count("compress") > 0;
    if (args.count("compress-level")) {
      const auto text = args["compress-level"].as<std::string>();
      const auto n = parse_size(text);
      if (!n || *n < 1 || *n > 19 || text.find_first_not_of("0123456789") != std::string::npos)
        return usage_error("--compress-level: expected 1 to 19, not '" + text + "'");
      if (!o.compress) return usage_error("--compress-level needs --compress");
      o.compress_level = static_cast<int>(*n);
    }
    if (args.count("tcp-congestion")) o.tcp_congestion = args["tcp-congestion"].as<std::string>();
    if (auto err = resolve_proxy(o, args.count("proxy") ? args["proxy"].as<std::string>() : "",
                                 args.count("no-proxy") > 0, env))
      return *err;
    if (args.count("pin")) o.pin = args["pin"].as<std::string>();
    if (args.count("token-file")) o.token_file = args["token-file"].as<std::string>();
    if (args.count("code-file")) o.code_file = args["code-file"].as<std::string>();
    if (env) {
      if (const char* t = env("FERRY_TOKEN"); t != nullptr && o.token_file.empty()) o.token_env = t;
      if (const char* c = env("FERRY_CODE"); c != nullptr && o.code_file.empty()) o.code_env = c;
    }
    if (auto why = validate(o)) return usage_error(*why);
    return o;
  } catch (const cxxopts::exceptions::exception& e) {
    return usage_error(e.what());
  }
}

}  // namespace ferry::send
