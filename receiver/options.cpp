#include "receiver/options.hpp"

#include <algorithm>
#include <cxxopts.hpp>

#include "link/about.hpp"
#include "util/exit_codes.hpp"
#include "util/units.hpp"

namespace ferry::recv {
namespace {

early_exit usage_error(const std::string& msg) {
  return ferry::usage_error("ferry-recv", msg);
}

}  // namespace

std::optional<std::string> validate(const options& o) {
  if (o.via_bind && !o.proxy) return "--via-bind needs --proxy";
  if (o.to_stdout && !o.once) return "--stdout needs --once (one session, one file)";
  if (o.to_stdout && o.json)
    return "--stdout and --json exclude each other (both would write to stdout)";
  if (o.proxy && !o.via_bind) return "--proxy is used with --via-bind (receiving through a proxy)";
  return std::nullopt;
}

std::variant<options, early_exit> parse_options(int argc, const char* const* argv,
                                                const env_lookup& env) {
  cxxopts::Options spec("ferry-recv", "Receive files sent by ferry-send into a directory.");
  spec.custom_help("[OPTIONS]");
  // clang-format off
  spec.add_options()
    ("l,listen", "Address to listen on: HOST:PORT, [V6]:PORT, :PORT or PORT "
                 "(default: all addresses, port 7070; port 0 picks a free one)",
                 cxxopts::value<std::string>(), "ADDR")
    ("d,dir", "Directory to store received files in (created if missing)",
              cxxopts::value<std::string>()->default_value("."), "DIR")
    ("once", "Serve one authorised session, then exit with its status")
    ("no-compress", "Do not take compressed content (ferry-send --compress sends it as it is): "
                    "decoding costs CPU a sender can make cheaply")
    ("no-sender-subdir", "Refuse sessions whose sender asks for a subdirectory (ferry-send "
                         "--to); a dir= in authorized_senders still applies")
    ("stdout", "With --once: write the session's one file (or stream) to stdout as it "
               "arrives, not into --dir; it is verified by its hash at the end and the exit "
               "code says whether it matched (6 when not: what was written cannot be taken "
               "back). A second entry or a directory is refused")
    ("overwrite", "Existing different file: never (reject), always, newer (replace if the "
                  "incoming mtime is newer)",
                  cxxopts::value<std::string>()->default_value("never"), "POLICY")
    ("max-file-size", "Reject files larger than SIZE (K/M/G/T suffixes; 0 = no limit)",
                      cxxopts::value<std::string>()->default_value("0"), "SIZE")
    ("max-session-bytes", "Stop accepting content past SIZE in one session (0 = no limit)",
                          cxxopts::value<std::string>()->default_value("0"), "SIZE")
    ("no-udp", "Serve TCP only (by default UDP mode is served on the same port)")
    ("max-session-files", "Refuse offers past N entries (files and directories) in one "
                          "session", cxxopts::value<std::uint64_t>()->default_value("1000000"), "N")
    ("min-free", "Reject files that would leave less than SIZE (or PCT%) free on the receive "
                 "file system, and fail a file being written once it does (0 = off)",
                 cxxopts::value<std::string>()->default_value("256M"), "SIZE|PCT%")
    ("max-sessions", "Concurrent sessions; more are refused",
                     cxxopts::value<std::size_t>()->default_value("64"), "N")
    ("max-sessions-per-host", "Concurrent sessions from one peer address; more are refused",
                              cxxopts::value<std::size_t>()->default_value("16"), "N")
    ("max-session-hash", "Hash at most SIZE of files already here for one session (resume "
                         "proofs, --skip-identical; 0 = no limit)",
                         cxxopts::value<std::string>()->default_value("64G"), "SIZE")
    ("timeout", "Drop a session that makes no progress this long, keepalives or not "
                "(s, ms, m suffixes)",
                cxxopts::value<std::string>()->default_value("30"), "SECONDS")
    ("connect-timeout", "A sender's handshake (preamble, TLS, authorisation), and then its HELLO"
                        ", and with --via-bind the "
                        "proxy's BIND handshake, must finish within this",
                        cxxopts::value<std::string>()->default_value("10"), "SECONDS")
    ("partial-ttl", "Remove kept part files (of interrupted transfers) older than this, at "
                    "start and every hour (h, d suffixes; 0 = keep them)",
                    cxxopts::value<std::string>()->default_value("7d"), "DURATION")
    ("proxy", "SOCKS5 proxy for --via-bind: socks5://[USER[:PASS]@]HOST[:PORT] (password "
              "also from $FERRY_PROXY_PASSWORD)", cxxopts::value<std::string>(), "URL")
    ("via-bind", "Receive through --proxy: ask it to listen (SOCKS5 BIND), print the address "
                 "senders must use, serve the sender that connects there, then ask again")
    ("fsync", "fsync each file before renaming it into place")
    ("config-dir", "Where our key, authorized_senders and tokens live (default "
                   "$FERRY_CONFIG_DIR, else $XDG_CONFIG_HOME/ferry, else ~/.config/ferry)",
                   cxxopts::value<std::string>(), "DIR")
    ("show-identity", "Print our public key line and fingerprint (making the key if need be) "
                      "and exit")
    ("new-token", "Make a token for scripts (a sender presents it from $FERRY_TOKEN), store it "
                  "under NAME in the config directory, print it once and exit",
                  cxxopts::value<std::string>(), "NAME")
    ("code-uses", "Sessions one one-time code admits before a new code is made",
                  cxxopts::value<unsigned>()->default_value("1"), "N")
    ("remember-senders", "A sender that proves the one-time code is added to authorized_senders")
    ("allow-any-sender", "Serve every sender without authorisation (still encrypted): anyone "
                         "who reaches the port can store files")
    ("json", "NDJSON events on stdout, one object per line")
    ("q,quiet", "No per-file log lines on stderr")
    ("V,version", "Print the version, the protocol version and the libraries' versions, and exit")
    ("h,help", "Print this help and exit");
  // clang-format on
  try {
    const auto args = spec.parse(argc, argv);
    if (args.count("help"))
      return early_exit{
          0, tidy_help(spec.help() +
                       "\nEvery session is encrypted (TLS 1.3). Senders are authorised by "
                       "their key (authorized_senders in the config directory), by a token "
                       "(--new-token), or, when neither is set up, by the one-time code "
                       "printed at start (code: ...). See docs/security.md.\n\n" +
                       exit_code_help)};
    if (args.count("version")) return early_exit{0, about_text("ferry-recv")};
    if (!args.unmatched().empty())
      return usage_error("unexpected argument '" + args.unmatched().front() + "'");

    options o;
    if (args.count("config-dir")) o.config_dir = args["config-dir"].as<std::string>();
    o.show_identity = args.count("show-identity") > 0;
    if (args.count("new-token")) o.new_token = args["new-token"].as<std::string>();
    if (o.show_identity || !o.new_token.empty()) return o;
    o.code_uses = args["code-uses"].as<unsigned>();
    if (o.code_uses == 0) return usage_error("--code-uses must be at least 1");
    o.remember_senders = args.count("remember-senders") > 0;
    o.allow_any_sender = args.count("allow-any-sender") > 0;
    if (o.allow_any_sender && o.remember_senders)
      return usage_error("--remember-senders needs the one-time code; --allow-any-sender has none");
    if (args.count("listen")) {
      const auto text = args["listen"].as<std::string>();
      // A bare port listens on every address, as nc -l PORT does.
      const bool bare_port =
          !text.empty() && text.size() <= 5 &&
          std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
      const auto hp = net::parse_host_port(bare_port ? ":" + text : text);
      if (!hp || (bare_port && std::stoul(text) > 65535))
        return usage_error("--listen: expected ADDR:PORT, ADDR or PORT, got '" + text + "'");
      o.listen = *hp;
      if (o.listen.host == "localhost") o.listen.host = "127.0.0.1";
    }
    o.dir = args["dir"].as<std::string>();
    if (o.dir.empty()) return usage_error("--dir must not be empty");
    o.once = args.count("once") > 0;
    o.to_stdout = args.count("stdout") > 0;
    o.no_sender_subdir = args.count("no-sender-subdir") > 0;
    o.no_compress = args.count("no-compress") > 0;
    const auto pol = args["overwrite"].as<std::string>();
    if (pol == "never")
      o.overwrite = overwrite_policy::never;
    else if (pol == "always")
      o.overwrite = overwrite_policy::always;
    else if (pol == "newer")
      o.overwrite = overwrite_policy::newer;
    else
      return usage_error("--overwrite: expected never, always or newer, got '" + pol + "'");
    for (const auto& [name, field] : {std::pair{"max-file-size", &o.max_file_size},
                                      std::pair{"max-session-bytes", &o.max_session_bytes},
                                      std::pair{"max-session-hash", &o.max_session_hash}}) {
      const auto text = args[name].as<std::string>();
      const auto v = parse_size(text);
      if (!v) return usage_error(std::string("--") + name + ": bad size '" + text + "'");
      *field = *v;
    }
    o.udp = args.count("no-udp") == 0;
    o.max_sessions = args["max-sessions"].as<std::size_t>();
    if (o.max_sessions == 0) return usage_error("--max-sessions must be at least 1");
    o.max_sessions_per_host = args["max-sessions-per-host"].as<std::size_t>();
    if (o.max_sessions_per_host == 0)
      return usage_error("--max-sessions-per-host must be at least 1");
    // A count, like --max-sessions: no size suffixes (1M would mean 1048576).
    o.max_session_files = args["max-session-files"].as<std::uint64_t>();
    if (o.max_session_files == 0) return usage_error("--max-session-files must be at least 1");
    const auto free_text = args["min-free"].as<std::string>();
    if (free_text.ends_with('%')) {
      const auto pct = parse_size(free_text.substr(0, free_text.size() - 1));
      if (!pct || *pct > 99) return usage_error("--min-free: bad percentage '" + free_text + "'");
      o.min_free = 0;
      o.min_free_percent = static_cast<unsigned>(*pct);
    } else {
      const auto v = parse_size(free_text);
      if (!v) return usage_error("--min-free: bad size '" + free_text + "'");
      o.min_free = *v;
    }
    for (const auto& [name, field] :
         {std::pair{"timeout", &o.timeout}, std::pair{"connect-timeout", &o.connect_timeout}}) {
      const auto t = parse_seconds(args[name].as<std::string>());
      if (!t || *t > 86400 * 365)
        return usage_error(std::string("--") + name + ": expected a positive duration");
      *field = std::chrono::milliseconds(static_cast<std::int64_t>(*t * 1000));
    }
    if (const auto ttl = args["partial-ttl"].as<std::string>(); ttl != "0") {
      const auto t = parse_seconds(ttl);
      if (!t || *t > 86400.0 * 36500)
        return usage_error("--partial-ttl: expected a duration such as 7d, or 0");
      o.partial_ttl = std::chrono::seconds(static_cast<std::int64_t>(*t < 1 ? 1 : *t));
    } else {
      o.partial_ttl = std::chrono::seconds(0);
    }
    o.fsync = args.count("fsync") > 0;
    o.json = args.count("json") > 0;
    o.quiet = args.count("quiet") > 0;
    o.via_bind = args.count("via-bind") > 0;
    if (args.count("proxy")) {
      std::string why;
      auto p = link::parse_proxy_url(args["proxy"].as<std::string>(), why);
      if (!p) return usage_error("--proxy: " + why);
      if (const auto bad =
              link::use_password_from_env(*p, env ? env("FERRY_PROXY_PASSWORD") : nullptr);
          !bad.empty())
        return usage_error(bad);
      o.proxy = std::move(*p);
    }
    if (auto why = validate(o)) return usage_error(*why);
    if (o.via_bind && args.count("listen"))
      return usage_error("--listen and --via-bind exclude each other (the proxy listens)");
    return o;
  } catch (const cxxopts::exceptions::exception& e) {
    return usage_error(e.what());
  }
}

}  // namespace ferry::recv
