// Command-line parsing of both programs, without a process.
#include <gtest/gtest.h>

#include <initializer_list>
#include <map>
#include <string>
#include <vector>

#include "receiver/options.hpp"
#include "sender/options.hpp"

namespace ferry {
namespace {

// argv for the parsers, with the program name in front.
class argv {
 public:
  argv(std::initializer_list<std::string> args) : store_(args) {
    store_.insert(store_.begin(), "prog");
    for (auto& s : store_)
      ptrs_.push_back(s.c_str());
  }
  int argc() const { return static_cast<int>(ptrs_.size()); }
  const char* const* get() const { return ptrs_.data(); }

 private:
  std::vector<std::string> store_;
  std::vector<const char*> ptrs_;
};

send::options parse_send(std::initializer_list<std::string> args) {
  argv a(args);
  auto r = send::parse_options(a.argc(), a.get());
  if (auto* e = std::get_if<send::early_exit>(&r)) ADD_FAILURE() << e->text;
  return std::get<send::options>(r);
}

int send_exit(std::initializer_list<std::string> args) {
  argv a(args);
  auto r = send::parse_options(a.argc(), a.get());
  const auto* e = std::get_if<send::early_exit>(&r);
  return e != nullptr ? e->code : -1;
}

TEST(SendCli, DestinationAndPaths) {
  const auto o = parse_send({"host:7071", "a.txt", "photos/"});
  EXPECT_EQ(o.dest.host, "host");
  EXPECT_EQ(o.dest.port, 7071);
  EXPECT_EQ(o.paths, (std::vector<std::string>{"a.txt", "photos/"}));
  EXPECT_EQ(o.connect_timeout.count(), 10'000);
  EXPECT_EQ(o.timeout.count(), 30'000);
  EXPECT_FALSE(o.json);
}

TEST(SendCli, DefaultPortAndIpv6) {
  EXPECT_EQ(parse_send({"host", "a"}).dest.port, 7070);
  const auto o = parse_send({"[::1]:9000", "a"});
  EXPECT_EQ(o.dest.host, "::1");
  EXPECT_EQ(o.dest.port, 9000);
}

TEST(SendCli, StdinStreamNeedsAName) {
  const auto o = parse_send({"h:1", "-", "--name", "data.tar"});
  EXPECT_EQ(o.paths, (std::vector<std::string>{"-"}));
  EXPECT_EQ(o.stdin_name, "data.tar");
  EXPECT_EQ(send_exit({"h:1", "-"}), 2);
  EXPECT_EQ(send_exit({"h:1", "-", "-", "--name", "x"}), 2);
  EXPECT_EQ(send_exit({"h:1", "a", "--name", "x"}), 2);
  EXPECT_EQ(send_exit({"h:1", "-", "--name", "x", "--files-from", "-"}), 2);
}

TEST(SendCli, FilesFromAndNul) {
  const auto o = parse_send({"h:1", "--files-from", "list.txt", "-0"});
  EXPECT_EQ(o.files_from, "list.txt");
  EXPECT_TRUE(o.null_separated);
  EXPECT_EQ(send_exit({"h:1", "a", "-0"}), 2);
}

TEST(SendCli, TimeoutsAndFlags) {
  const auto o = parse_send({"--connect-timeout", "500ms", "--timeout", "2m", "--json", "-q",
                             "--follow-symlinks", "h:1", "a"});
  EXPECT_EQ(o.connect_timeout.count(), 500);
  EXPECT_EQ(o.timeout.count(), 120'000);
  EXPECT_TRUE(o.json && o.quiet && o.follow_symlinks);
  EXPECT_EQ(send_exit({"--timeout", "0", "h:1", "a"}), 2);
}

TEST(SendCli, ResumeAndSkipIdentical) {
  const auto d = parse_send({"h", "a"});
  EXPECT_TRUE(d.resume);
  EXPECT_FALSE(d.skip_identical);
  EXPECT_TRUE(parse_send({"h", "a", "--resume"}).resume);
  EXPECT_FALSE(parse_send({"h", "a", "--no-resume"}).resume);
  EXPECT_TRUE(parse_send({"h", "a", "--skip-identical"}).skip_identical);
  EXPECT_EQ(send_exit({"h", "a", "--resume", "--no-resume"}), 2);
}

TEST(SendCli, UdpSizeIsAutoUnlessFixed) {
  EXPECT_EQ(parse_send({"h", "a", "--udp"}).udp_size, 0u);  // 0: path MTU discovery
  EXPECT_EQ(parse_send({"h", "a", "--udp", "--udp-size", "auto"}).udp_size, 0u);
  EXPECT_EQ(parse_send({"h", "a", "--udp", "--udp-size", "1200"}).udp_size, 1200u);
  EXPECT_EQ(parse_send({"h", "a", "--udp", "--udp-size", "65000"}).udp_size, 65000u);
  EXPECT_EQ(send_exit({"h", "a", "--udp", "--udp-size", "999"}), 2);
  EXPECT_EQ(send_exit({"h", "a", "--udp", "--udp-size", "65001"}), 2);
  EXPECT_EQ(send_exit({"h", "a", "--udp", "--udp-size", "big"}), 2);
  EXPECT_EQ(send_exit({"h", "a", "--udp-size", "1200"}), 2);  // needs --udp
}

TEST(SendCli, UsageErrorsExitTwo) {
  EXPECT_EQ(send_exit({}), 2);
  EXPECT_EQ(send_exit({"h:1"}), 2);       // nothing to send
  EXPECT_EQ(send_exit({"h:", "a"}), 2);   // bad port
  EXPECT_EQ(send_exit({"h:0", "a"}), 2);  // port 0
  EXPECT_EQ(send_exit({"--bogus", "h:1", "a"}), 2);
  EXPECT_EQ(send_exit({"--help"}), 0);
  EXPECT_EQ(send_exit({"--version"}), 0);
}

TEST(SendCli, HelpListsExitCodes) {
  argv a({"--help"});
  auto r = send::parse_options(a.argc(), a.get());
  const auto& text = std::get<send::early_exit>(r).text;
  EXPECT_NE(text.find("Exit codes"), std::string::npos);
  EXPECT_NE(text.find("--files-from"), std::string::npos);
}

TEST(SendCli, PathListSplitting) {
  EXPECT_EQ(send::split_path_list("a\nb c\r\n\n", false), (std::vector<std::string>{"a", "b c"}));
  EXPECT_EQ(send::split_path_list(std::string("a\nb\0c\0", 6), true),
            (std::vector<std::string>{"a\nb", "c"}));
}

// Sender proxy precedence with a fake environment.
send::options parse_send_env(std::initializer_list<std::string> args,
                             std::map<std::string, std::string> env) {
  argv a(args);
  auto r = send::parse_options(a.argc(), a.get(), [&env](const char* n) -> const char* {
    auto it = env.find(n);
    return it == env.end() ? nullptr : it->second.c_str();
  });
  if (auto* e = std::get_if<send::early_exit>(&r)) {
    ADD_FAILURE() << e->text;
    return {};
  }
  return std::get<send::options>(r);
}

TEST(SendCli, ProxyPrecedence) {
  const std::map<std::string, std::string> env = {{"FERRY_PROXY", "socks5://f:1"},
                                                  {"ALL_PROXY", "socks5://a:2"},
                                                  {"all_proxy", "socks5://l:3"}};
  EXPECT_EQ(parse_send_env({"--proxy", "socks5h://p:4", "h:1", "x"}, env).proxy->server.host, "p");
  EXPECT_EQ(parse_send_env({"h:1", "x"}, env).proxy->server.host, "f");
  EXPECT_EQ(parse_send_env({"h:1", "x"}, {{"ALL_PROXY", "socks5://a:2"}}).proxy->server.host, "a");
  EXPECT_EQ(parse_send_env({"h:1", "x"}, {{"all_proxy", "socks5://l:3"}}).proxy->server.host, "l");
  EXPECT_FALSE(parse_send_env({"--no-proxy", "--proxy", "socks5://p", "h:1", "x"}, env).proxy);
  EXPECT_FALSE(parse_send_env({"h:1", "x"}, {}).proxy);
  const auto o = parse_send_env({"h:1", "x"}, {{"ALL_PROXY", "http://corp:3128"}});
  EXPECT_FALSE(o.proxy);
  ASSERT_EQ(o.warnings.size(), 1u);
  EXPECT_NE(o.warnings[0].find("ignoring ALL_PROXY"), std::string::npos);
}

TEST(SendCli, ProxyPasswordFromTheEnvironment) {
  const auto o = parse_send_env({"--proxy", "socks5://alice@p:1", "h:1", "x"},
                                {{"FERRY_PROXY_PASSWORD", "s3cret"}});
  EXPECT_EQ(o.proxy->user, "alice");
  EXPECT_EQ(o.proxy->password, "s3cret");
}

// Both programs take the password the same way (link::use_password_from_env):
// it needs a user in the URL and fits SOCKS5's 255 bytes.
TEST(Cli, ProxyPasswordRulesAreTheSameForBoth) {
  const std::string long_pw(256, 'p');
  const std::pair<std::string, int> cases[] = {{"socks5://alice@p:1", 0}, {"socks5://p:1", 2}};
  for (const auto& [url, want] : cases) {
    for (const auto& pw : {std::string("s3cret"), long_pw}) {
      const int expect = pw == long_pw ? 2 : want;
      auto lookup = [&pw](const char* n) -> const char* {
        return std::string_view(n) == "FERRY_PROXY_PASSWORD" ? pw.c_str() : nullptr;
      };
      argv s({"--proxy", url, "h:1", "x"});
      const auto sr = send::parse_options(s.argc(), s.get(), lookup);
      const auto* se = std::get_if<send::early_exit>(&sr);
      EXPECT_EQ(se ? se->code : 0, expect) << "ferry-send " << url << " pw " << pw.size();
      argv r({"--proxy", url, "--via-bind"});
      const auto rr = recv::parse_options(r.argc(), r.get(), lookup);
      const auto* re = std::get_if<recv::early_exit>(&rr);
      EXPECT_EQ(re ? re->code : 0, expect) << "ferry-recv " << url << " pw " << pw.size();
      if (expect == 0) {
        EXPECT_EQ(std::get<recv::options>(rr).proxy->password, pw);
      }
    }
  }
}

TEST(SendCli, BadProxyIsAUsageError) {
  EXPECT_EQ(send_exit({"--proxy", "http://p:1", "h:1", "x"}), 2);
  EXPECT_EQ(send_exit({"--proxy", "socks5://p:0", "h:1", "x"}), 2);
  EXPECT_EQ(send_exit({"--proxy", "socks5://::1:1080", "h:1", "x"}), 2);
}

TEST(SendCli, RelativeFlag) {
  EXPECT_FALSE(parse_send({"h", "a"}).relative);
  EXPECT_TRUE(parse_send({"h", "-R", "a/b"}).relative);
  EXPECT_TRUE(parse_send({"h", "--relative", "a/b"}).relative);
}

recv::options parse_recv(std::initializer_list<std::string> args) {
  argv a(args);
  auto r = recv::parse_options(a.argc(), a.get());
  if (auto* e = std::get_if<recv::early_exit>(&r)) ADD_FAILURE() << e->text;
  return std::get<recv::options>(r);
}

int recv_exit(std::initializer_list<std::string> args) {
  argv a(args);
  auto r = recv::parse_options(a.argc(), a.get());
  const auto* e = std::get_if<recv::early_exit>(&r);
  return e != nullptr ? e->code : -1;
}

TEST(RecvCli, Defaults) {
  const auto o = parse_recv({});
  EXPECT_EQ(o.listen.host, "");
  EXPECT_EQ(o.listen.port, 7070);
  EXPECT_EQ(o.dir, ".");
  EXPECT_EQ(o.overwrite, recv::overwrite_policy::never);
  EXPECT_FALSE(o.once);
  EXPECT_EQ(o.max_file_size, 0u);
}

TEST(RecvCli, AllOptions) {
  const auto o = parse_recv({"--listen", "[::1]:0", "--dir", "inbox", "--once", "--overwrite",
                             "newer", "--max-file-size", "10M", "--max-session-bytes", "1G",
                             "--timeout", "5", "--json", "--fsync", "--max-sessions", "3"});
  EXPECT_EQ(o.listen.host, "::1");
  EXPECT_EQ(o.listen.port, 0);
  EXPECT_EQ(o.dir, "inbox");
  EXPECT_TRUE(o.once && o.json && o.fsync);
  EXPECT_EQ(o.overwrite, recv::overwrite_policy::newer);
  EXPECT_EQ(o.max_file_size, 10u << 20);
  EXPECT_EQ(o.max_session_bytes, 1ull << 30);
  EXPECT_EQ(o.timeout.count(), 5000);
  EXPECT_EQ(o.max_sessions, 3u);
}

TEST(RecvCli, Limits) {
  const auto d = parse_recv({});
  EXPECT_EQ(d.max_sessions, 64u);
  EXPECT_EQ(d.max_sessions_per_host, 16u);
  EXPECT_EQ(d.max_session_files, 1'000'000u);
  EXPECT_EQ(d.min_free, 256u << 20);
  EXPECT_EQ(d.min_free_percent, 0u);
  const auto o =
      parse_recv({"--max-sessions-per-host", "4", "--max-session-files", "10", "--min-free", "5%"});
  EXPECT_EQ(o.max_sessions_per_host, 4u);
  EXPECT_EQ(o.max_session_files, 10u);
  EXPECT_EQ(o.min_free, 0u);
  EXPECT_EQ(o.min_free_percent, 5u);
  const auto off = parse_recv({"--min-free", "0"});
  EXPECT_EQ(off.min_free, 0u);
  EXPECT_EQ(off.min_free_percent, 0u);
  EXPECT_EQ(recv_exit({"--max-sessions-per-host", "0"}), 2);
  EXPECT_EQ(recv_exit({"--max-session-files", "0"}), 2);
  EXPECT_EQ(recv_exit({"--max-session-files", "1M"}), 2);  // a count, not a size
  EXPECT_EQ(recv_exit({"--min-free", "100%"}), 2);
  EXPECT_EQ(recv_exit({"--min-free", "lots"}), 2);
}

TEST(RecvCli, ViaBind) {
  const auto o = parse_recv({"--proxy", "socks5://u:p@127.0.0.1:1080", "--via-bind"});
  EXPECT_TRUE(o.via_bind);
  ASSERT_TRUE(o.proxy);
  EXPECT_EQ(o.proxy->server.port, 1080);
  EXPECT_EQ(recv_exit({"--via-bind"}), 2);
  EXPECT_EQ(recv_exit({"--proxy", "socks5://p:1"}), 2);
  EXPECT_EQ(recv_exit({"--proxy", "http://p:1", "--via-bind"}), 2);
  EXPECT_EQ(recv_exit({"--proxy", "socks5://p:1", "--via-bind", "--listen", ":1"}), 2);
}

TEST(RecvCli, UsageErrorsExitTwo) {
  EXPECT_EQ(recv_exit({"--overwrite", "sometimes"}), 2);
  EXPECT_EQ(recv_exit({"--max-file-size", "lots"}), 2);
  EXPECT_EQ(recv_exit({"--listen", "host:"}), 2);
  EXPECT_EQ(recv_exit({"stray"}), 2);
  EXPECT_EQ(recv_exit({"--max-sessions", "0"}), 2);
  EXPECT_EQ(recv_exit({"--help"}), 0);
}

TEST(RecvCli, NewLimitsAndTimes) {
  const auto d = parse_recv({});
  EXPECT_EQ(d.max_session_hash, 64ull << 30);
  EXPECT_EQ(d.connect_timeout, std::chrono::seconds(10));
  EXPECT_EQ(d.partial_ttl, std::chrono::hours(24 * 7));
  const auto o =
      parse_recv({"--max-session-hash", "0", "--connect-timeout", "2", "--partial-ttl", "36h"});
  EXPECT_EQ(o.max_session_hash, 0u);
  EXPECT_EQ(o.connect_timeout, std::chrono::seconds(2));
  EXPECT_EQ(o.partial_ttl, std::chrono::hours(36));
  EXPECT_EQ(parse_recv({"--partial-ttl", "0"}).partial_ttl.count(), 0);
  EXPECT_EQ(recv_exit({"--partial-ttl", "soon"}), 2);
  EXPECT_EQ(recv_exit({"--connect-timeout", "0"}), 2);
  EXPECT_EQ(recv_exit({"--connect-timeout", "1e300"}), 2);
  EXPECT_EQ(recv_exit({"--partial-ttl", "100000d"}), 2);
  EXPECT_EQ(recv_exit({"--partial-ttl", "-1d"}), 2);
  EXPECT_EQ(recv_exit({"--max-session-hash", "99999999999999999999"}), 2);
}

}  // namespace
}  // namespace ferry

namespace ferry {
namespace {

// The rules between options, checked without a command line.
TEST(SendCli, ValidateTable) {
  struct row {
    const char* what;
    void (*set)(send::options&);
    bool ok;
  };
  const row table[] = {
      {"a path", [](send::options& o) { o.paths = {"a"}; }, true},
      {"nothing to send", [](send::options&) {}, false},
      {"a list only", [](send::options& o) { o.files_from = "l"; }, true},
      {"-0 without a list",
       [](send::options& o) {
         o.paths = {"a"};
         o.null_separated = true;
       },
       false},
      {"-0 with a list",
       [](send::options& o) {
         o.files_from = "l";
         o.null_separated = true;
       },
       true},
      {"stdin with a name",
       [](send::options& o) {
         o.paths = {"-"};
         o.stdin_name = "x";
       },
       true},
      {"stdin without a name", [](send::options& o) { o.paths = {"-"}; }, false},
      {"stdin twice",
       [](send::options& o) {
         o.paths = {"-", "-"};
         o.stdin_name = "x";
       },
       false},
      {"stdin as content and list",
       [](send::options& o) {
         o.paths = {"-"};
         o.stdin_name = "x";
         o.files_from = "-";
       },
       false},
      {"a name without stdin",
       [](send::options& o) {
         o.paths = {"a"};
         o.stdin_name = "x";
       },
       false},
      {"a rate in TCP mode (paced by the sender)",
       [](send::options& o) {
         o.paths = {"a"};
         o.rate_bits = 8;
       },
       true},
      {"a rate with UDP",
       [](send::options& o) {
         o.paths = {"a"};
         o.rate_bits = 8;
         o.udp = true;
       },
       true},
  };
  for (const auto& r : table) {
    send::options o;
    r.set(o);
    const auto why = send::validate(o);
    EXPECT_EQ(!why, r.ok) << r.what << (why ? ": " + *why : std::string());
  }
}

TEST(RecvCli, ValidateTable) {
  recv::options o;
  EXPECT_FALSE(recv::validate(o));
  o.via_bind = true;
  EXPECT_TRUE(recv::validate(o));  // needs a proxy
  o.proxy = link::proxy{};
  EXPECT_FALSE(recv::validate(o));
  o.via_bind = false;
  EXPECT_TRUE(recv::validate(o));  // a proxy only serves --via-bind
}

}  // namespace
}  // namespace ferry

namespace ferry {
namespace {

// Secrets come from the environment or files, never argv; the rules between
// the security options are checked before anything runs.
TEST(SendCli, SecurityOptions) {
  const std::string pin = "SHA256:" + std::string(43, 'A');
  EXPECT_EQ(parse_send({"h", "a", "--pin", pin}).pin, pin);
  EXPECT_EQ(send_exit({"h", "a", "--pin", "SHA256:short"}), 2);
  EXPECT_EQ(send_exit({"h", "a", "--pin", "MD5:" + std::string(46, 'A')}), 2);
  EXPECT_EQ(parse_send({"h", "a", "--config-dir", "/tmp/c"}).config_dir, "/tmp/c");
  EXPECT_TRUE(parse_send({"--show-identity"}).show_identity);  // needs no destination
  EXPECT_EQ(parse_send_env({"h", "a"}, {{"FERRY_CODE", "abcde-fghjk"}}).code_env, "abcde-fghjk");
  EXPECT_EQ(parse_send_env({"h", "a"}, {{"FERRY_TOKEN", "t"}}).token_env, "t");
  // --code-file wins over the environment.
  EXPECT_EQ(parse_send_env({"h", "a", "--code-file", "f"}, {{"FERRY_CODE", "x"}}).code_env, "");
  // A code and a token together, a code with --pin, stdin twice: usage errors.
  EXPECT_EQ(send_exit({"h", "a", "--code-file", "c", "--token-file", "t"}), 2);
  EXPECT_EQ(send_exit({"h", "a", "--code-file", "c", "--pin", pin}), 2);
  EXPECT_EQ(send_exit({"h", "-", "--name", "x", "--code-file", "-"}), 2);
  EXPECT_EQ(send_exit({"h", "--files-from", "-", "--code-file", "-"}), 2);
}

TEST(RecvCli, SecurityOptions) {
  const auto d = parse_recv({});
  EXPECT_EQ(d.code_uses, 1u);
  EXPECT_FALSE(d.allow_any_sender);
  EXPECT_FALSE(d.remember_senders);
  const auto o = parse_recv({"--code-uses", "3", "--remember-senders", "--config-dir", "/c"});
  EXPECT_EQ(o.code_uses, 3u);
  EXPECT_TRUE(o.remember_senders);
  EXPECT_EQ(o.config_dir, "/c");
  EXPECT_TRUE(parse_recv({"--allow-any-sender"}).allow_any_sender);
  EXPECT_EQ(parse_recv({"--new-token", "ci"}).new_token, "ci");
  EXPECT_TRUE(parse_recv({"--show-identity"}).show_identity);
  EXPECT_EQ(recv_exit({"--code-uses", "0"}), 2);
  EXPECT_EQ(recv_exit({"--allow-any-sender", "--remember-senders"}), 2);
}

std::string help_of(bool sender) {
  argv a({"--help"});
  if (sender) return std::get<send::early_exit>(send::parse_options(a.argc(), a.get())).text;
  return std::get<recv::early_exit>(recv::parse_options(a.argc(), a.get())).text;
}

TEST(Cli, BothHelpsNameExitCodeTen) {
  for (const bool sender : {true, false}) {
    const std::string text = help_of(sender);
    EXPECT_NE(text.find("10   authentication failed"), std::string::npos) << sender;
    EXPECT_NE(text.find("--config-dir"), std::string::npos) << sender;
    EXPECT_NE(text.find("--show-identity"), std::string::npos) << sender;
  }
}

// Both helps fit an 80-column terminal, end no line in spaces, and show
// options as they are typed (not cxxopts' "--udp [=[=strict](=on)]").
TEST(Cli, HelpFitsEightyColumnsWithoutTrailingSpaces) {
  for (const bool sender : {true, false}) {
    const std::string text = help_of(sender);
    std::size_t start = 0, lines = 0;
    while (start < text.size()) {
      const std::size_t end = text.find('\n', start);
      const std::string line = text.substr(start, end - start);
      start = end + 1;
      ++lines;
      EXPECT_LE(line.size(), 80u) << sender << ": " << line;
      if (!line.empty()) {
        EXPECT_NE(line.back(), ' ') << sender << ": '" << line << "'";
      }
    }
    EXPECT_GT(lines, 40u);
    EXPECT_EQ(text.find("(=on)"), std::string::npos) << sender;
    EXPECT_EQ(text.find("[=["), std::string::npos) << sender;
  }
  const auto text = help_of(true);
  EXPECT_NE(text.find("--udp[=strict]"), std::string::npos);
  EXPECT_NE(text.find("PORT defaults to 7070"), std::string::npos);
}

TEST(Cli, TidyHelpBreaksAtSpacesKeepingTheIndent) {
  EXPECT_EQ(tidy_help("ab cd ef  \n", 5), "ab cd\nef\n");
  EXPECT_EQ(tidy_help("Intro.\nUsage:\n  prog [OPTIONS] X\n\n  -a  b\n"),
            "Intro.\nUsage: prog [OPTIONS] X\n\n  -a  b\n");
  EXPECT_EQ(tidy_help("    one two three four\n", 14), "    one two\n    three four\n");
  EXPECT_EQ(tidy_help("  --x [=m(=on)]   desc\n"), "  --x[=m]         desc\n");
  const std::string unbreakable(90, 'x');
  EXPECT_EQ(tidy_help(unbreakable + "\n"), unbreakable + "\n");
}

}  // namespace
}  // namespace ferry

namespace ferry {
namespace {

std::string send_error(std::initializer_list<std::string> args) {
  argv a(args);
  auto r = send::parse_options(a.argc(), a.get());
  const auto* e = std::get_if<send::early_exit>(&r);
  return e != nullptr ? e->text : "";
}

// Typos that used to reach DNS (exit 3, the "worth a retry" code, so a
// retry loop spun on them) or read a file as a host: usage errors (exit 2)
// that say what is wrong.
TEST(SendCli, MistakenDestinationsAreUsageErrors) {
  for (const std::string dest : {"host:7070:backup/", "ferry://h:7070", "root@h:7070", "h/x",
                                 "./a.txt", "h:70000", "h:0", "a:b:c"}) {
    EXPECT_EQ(send_exit({dest, "a.txt"}), 2) << dest;
    EXPECT_NE(send_error({dest, "a.txt"}).find("usage: ferry-send"), std::string::npos) << dest;
  }
  EXPECT_NE(send_error({"h:70000", "a"}).find("port 70000 is out of range"), std::string::npos);
  EXPECT_NE(send_error({"host:7070:backup/", "a"}).find("no remote path"), std::string::npos);
  // The host forgotten, and the two swapped.
  EXPECT_NE(send_error({"file.txt"}).find("'file.txt' was read as the destination"),
            std::string::npos);
  EXPECT_NE(send_error({"a.txt", "host:7070"}).find("'host:7070' looks like a destination"),
            std::string::npos);
  // Still fine: IPv6 literals, bracketed or not, names, a file named ./x:1.
  EXPECT_EQ(parse_send({"::1", "a"}).dest.host, "::1");
  EXPECT_EQ(parse_send({"[fe80::1]:9", "a"}).dest.port, 9);
  EXPECT_EQ(parse_send({"files.example", "a"}).dest.host, "files.example");
  EXPECT_EQ(parse_send({"h:1", "./x:1"}).paths.front(), "./x:1");
}

TEST(SendCli, ProxySchemesIgnoreCase) {
  const auto o = parse_send({"--proxy", "SOCKS5H://127.0.0.1:1080", "h", "a"});
  ASSERT_TRUE(o.proxy);
  EXPECT_TRUE(o.proxy->remote_dns);
}

TEST(RecvCli, ListenTakesABarePortAndLocalhost) {
  const auto bare = parse_recv({"--listen", "7272"});
  EXPECT_EQ(bare.listen.host, "");
  EXPECT_EQ(bare.listen.port, 7272);
  EXPECT_EQ(parse_recv({"--listen", "localhost:9"}).listen.host, "127.0.0.1");
  EXPECT_EQ(recv_exit({"--listen", "70000"}), 2);
  EXPECT_EQ(recv_exit({"--listen", "h:x"}), 2);
}

}  // namespace
}  // namespace ferry

namespace ferry {
namespace {

TEST(Cli, VersionNamesProtocolAndLibraries) {
  for (const bool sender : {true, false}) {
    argv a({"--version"});
    const auto text = sender
                          ? std::get<send::early_exit>(send::parse_options(a.argc(), a.get())).text
                          : std::get<recv::early_exit>(recv::parse_options(a.argc(), a.get())).text;
    EXPECT_EQ(text.rfind(sender ? "ferry-send " FERRY_VERSION " (protocol 3)\n"
                                : "ferry-recv " FERRY_VERSION " (protocol 3)\n",
                         0),
              0u)
        << text;
    for (const char* lib :
         {"OpenSSL 3.", "libsodium 1.", "xxHash 0.", "zstd 1.", "Asio 1.", "cxxopts 3."})
      EXPECT_NE(text.find(lib), std::string::npos) << lib << " in " << text;
  }
}

TEST(Cli, UsageErrorsKeepTheirLines) {
  // "missing destination\nusage: ..." printed a literal \n once.
  const auto e = usage_error("ferry-send", "first line\nusage: ferry-send HOST PATH\x1b");
  EXPECT_EQ(e.text,
            "ferry-send: first line\nusage: ferry-send HOST PATH\\x1b\nTry 'ferry-send --help'.\n");
}

TEST(SendCli, RateHasAFloor) {
  EXPECT_EQ(send_exit({"h", "a", "--rate", "63999"}), 2);
  EXPECT_EQ(send_exit({"h", "a", "--rate", "1"}), 2);
  EXPECT_EQ(parse_send({"h", "a", "--rate", "64K"}).rate_bits, 64000u);
}

TEST(SendCli, ExcludePatternsRepeat) {
  const auto o = parse_send(
      {"h", "a", "--exclude", "*.log", "--exclude", "cache/", "--exclude-from", "ex.txt"});
  EXPECT_EQ(o.exclude, (std::vector<std::string>{"*.log", "cache/"}));
  EXPECT_EQ(o.exclude_from, "ex.txt");
}

}  // namespace
}  // namespace ferry
