#include "receiver/server.hpp"

#include <csignal>
#include <optional>
#include <thread>

#include "framing/frame.hpp"
#include "link/classify.hpp"
#include "receiver/session.hpp"
#include "secure/errors.hpp"
#include "secure/handshake.hpp"
#include "util/session_error.hpp"
#include "util/text.hpp"
#include "util/units.hpp"

namespace ferry::recv {
server::server(std::vector<std::unique_ptr<asio::io_context>>& pool, const options& opts,
               const fileio::dest_root& root, logger& log)
    : pool_(pool),
      opts_(opts),
      root_(root),
      log_(log),
      strand_(asio::make_strand(*pool.front())),
      listener_(pool, strand_, plan_for(opts), listener_hooks()),
      signals_(strand_, SIGINT, SIGTERM),
      grace_timer_(strand_),
      sweep_timer_(strand_),
      budgets_{
          space_ledger([&root](std::uint64_t& a, std::uint64_t& t) { return root.space(a, t); },
                       opts.min_free, opts.min_free_percent),
          memory_pool(memory_pool_size)},
      config_dir_(secure::config_dir(opts.config_dir)),
      id_(secure::identity::load_or_create(config_dir_, "")),
      tls_(std::make_unique<secure::tls_context>(id_, secure::side::server)),
      authz_(
          secure::auth_policy{config_dir_, opts.allow_any_sender, opts.code_uses,
                              opts.remember_senders},
          [this](const std::string& code, const std::string& why) { announce_code(code, why); }) {
  for (auto& ctx : pool_)
    keep_running_.push_back(asio::make_work_guard(*ctx));
}

link::listen_plan server::plan_for(const options& opts) {
  link::listen_plan p;
  p.address = opts.listen;
  p.udp = opts.udp;
  if (opts.via_bind) p.via_bind = opts.proxy;
  // --once ends after the first authorised session (server::serve); the
  // listener keeps accepting until then. Through a BIND there is one
  // connection per BIND: --once stops after it.
  p.once = opts.once && opts.via_bind;
  p.connect_timeout = opts.connect_timeout;
  p.idle_timeout = opts.timeout;
  p.max_udp_connections = opts.max_sessions + 16;
  p.udp_reorder_bytes = udp_reorder_pool;
  return p;
}

link::listener::hooks server::listener_hooks() {
  link::listener::hooks h;
  h.serve = [this](std::unique_ptr<net::transport> t, std::string peer) {
    auto ex = t->executor();
    asio::co_spawn(ex, serve(std::move(t), std::move(peer)), asio::detached);
  };
  h.on_listening = [this](const link::listening& at) { on_listening(at); };
  h.on_warning = [this](const std::string& what) { log_.warn(what); };
  // The proxy will not (or no longer) listen for us: stop, as a listener
  // that cannot bind would.
  h.on_failed = [this](const failure& why) {
    log_.warn(why.message());
    std::lock_guard lock(mu_);
    stopping_ = true;
    if (status_ == 0) status_ = to_int(link::classify(why));
    if (active_ == 0) asio::post(strand_, [this] { finish(); });
  };
  return h;
}

void server::on_listening(const link::listening& at) {
  const std::string fp = secure::fingerprint(id_.key());
  auto ev = json_line("listening");
  ev.str("address", at.host).num("port", static_cast<std::uint64_t>(at.port));
  ev.str("fingerprint", fp);
  if (at.via.empty()) {
    log_.warn("listening on " + net::to_string(net::host_port{at.host, at.port}) +
              (at.udp ? " (TCP and UDP)" : " (TCP)") + ", storing into " + root_.path() + ", key " +
              fp);
    ev.boolean("udp", at.udp).str("dir", root_.path());
  } else {
    log_.warn("listening via " + at.via + ": senders connect to " +
              net::to_string(net::host_port{at.host, at.port}) + ", storing into " + root_.path() +
              ", key " + fp);
    ev.str("dir", root_.path()).str("via", at.via);
  }
  ev.str("senders", authz_what_);
  log_.event(ev);
  if (!authz_started_) {
    authz_started_ = true;
    if (opts_.allow_any_sender)
      log_.warn(
          "--allow-any-sender: anyone who reaches this port can store files here "
          "(sessions are still encrypted)");
    else
      log_.info("senders are authorised by " + authz_what_);
    if (!pending_code_.empty()) announce_code(pending_code_, "");
  }
}

void server::announce_code(const std::string& code, const std::string& why) {
  if (!authz_started_) {
    pending_code_ = code;  // shown after the listening line
    return;
  }
  // The operator's own view: the one place a secret is printed.
  log_.warn((why.empty() ? std::string() : why + "; ") + "code: " + code);
  log_.event(json_line("code")
                 .str("code", code)
                 .num("uses", static_cast<std::uint64_t>(opts_.code_uses))
                 .str("why", why));
}

void server::finish() {
  listener_.close();
  grace_timer_.cancel();
  sweep_timer_.cancel();
  signals_.cancel();
  keep_running_.clear();
}

void server::start() {
  authz_what_ = authz_.start();
  signals_.async_wait([this](const std::error_code& e, int signo) {
    if (!e) on_signal(signo);
  });
  sweep_partials();
  listener_.start();
}

// On strand_: no new sessions, over TCP or UDP (--once after the first,
// or a signal). Sessions in progress go on.
void server::stop_accepting() {
  listener_.stop_accepting();
}

// "127.0.0.1:5000" -> "127.0.0.1", "[::1]:5000" -> "[::1]".
std::string server::host_of(const std::string& peer) {
  const auto colon = peer.rfind(':');
  return colon == std::string::npos ? peer : peer.substr(0, colon);
}

asio::awaitable<void> server::refuse(net::frame_stream& stream, const std::string& why) {
  log_.warn(stream.peer() + ": refused: " + why);
  framing::byte_buffer out;
  framing::encode_preamble(out);
  framing::encode(framing::error_frame{framing::error_code::limit, why}, out);
  // Say why, then wait (briefly) for the peer to close: closing with its
  // hello still unread would send a reset that can destroy our answer.
  try {
    co_await stream.write(out);
    stream.shutdown_send();
    // At most 64 KiB, so a refused peer cannot keep us busy.
    for (std::size_t n = 0; n < 64 * 1024;)
      n += (co_await stream.read_raw(4096, "refusing")).size();
  } catch (const std::exception&) {
  }
}

asio::awaitable<void> server::serve(std::unique_ptr<net::transport> t, std::string peer_name) {
  // Sessions through a BIND all come from the proxy: count them globally only.
  const std::string host = peer_name.empty() ? host_of(t->remote()) : std::string();
  std::string refusal;
  {
    std::lock_guard lock(mu_);
    if (stopping_) {
      refusal = "receiver is shutting down";
    } else if (active_ >= opts_.max_sessions) {
      refusal = "receiver is busy (" + std::to_string(opts_.max_sessions) +
                " sessions, its --max-sessions)";
    } else if (!host.empty() && per_host_[host] >= opts_.max_sessions_per_host) {
      refusal = "receiver is busy (" + std::to_string(opts_.max_sessions_per_host) +
                " sessions from " + host + ", its --max-sessions-per-host)";
    } else {
      ++active_;
      if (!host.empty()) ++per_host_[host];
    }
  }
  if (!refusal.empty()) {
    // In clear, before TLS: a refused peer costs no handshake.
    net::frame_stream clear(std::move(t), std::chrono::seconds(2));
    co_await refuse(clear, refusal);
    co_return;
  }
  // The one place the receiver's secure channel begins: every transport the
  // listener accepts, TCP, UDP or through a BIND.
  auto ch = std::make_unique<secure::channel>(std::move(t), *tls_);
  secure::channel& chan = *ch;
  auto stream = std::make_shared<net::frame_stream>(std::move(ch), opts_.timeout);
  {
    std::lock_guard lock(mu_);
    sessions_.insert(stream);
    if (closed_all_) asio::post(stream->executor(), [stream] { stream->close(); });
  }
  if (!peer_name.empty()) stream->set_peer(peer_name);
  const auto peer = stream->peer();
  const auto start = std::chrono::steady_clock::now();
  log_.event(json_line("session_start").str("peer", peer));

  session_result result;
  bool authorised = false;
  std::string home;                          // the sender's dir= in authorized_senders
  std::optional<framing::error_frame> tell;  // what the peer hears when it is not served
  try {
    // A stranger holds its slot only this long, and gets nothing before
    // it is authorised: no answer about the tree, no file, no part file.
    stream->set_deadline(
        start + opts_.connect_timeout,
        "handshake not finished within " +
            format_duration(std::chrono::duration<double>(opts_.connect_timeout).count()) +
            ", the receiver's --connect-timeout");
    const auto who = co_await secure::accept(*stream, chan, authz_, id_.key());
    stream->clear_deadline();
    home = who.dir;
    authorised = true;
    bool taken = false;
    if (opts_.once) {
      std::lock_guard lock(mu_);
      taken = once_taken_;
      once_taken_ = true;
    }
    if (taken) {
      tell = framing::error_frame{framing::error_code::limit,
                                  "receiver is busy (--once: it serves one session)"};
      throw session_error(exit_code::connect, "--once: the receiver serves one session");
    }
    if (opts_.once) asio::post(strand_, [this] { stop_accepting(); });
    const std::string fp = secure::fingerprint(who.key);
    log_.info(peer + ": sender " + fp + " authorised by " + who.how + " (" + chan.cipher() + ")");
    log_.event(json_line("authenticated")
                   .str("peer", peer)
                   .str("fingerprint", fp)
                   .str("how", who.how)
                   .str("cipher", chan.cipher()));
  } catch (const secure::refused& r) {
    // The sender gave up during the handshake and said why.
    result.code = exit_code::protocol;
    result.message = "handshake: the sender reported an error: " + r.frame.message;
  } catch (const session_error& e) {
    result.code = e.code();
    result.message = e.message();
  } catch (const failure& e) {
    result.code = link::classify(e);
    result.message = e.message();
    // A frame out of place inside TLS gets the protocol's ERROR; bytes that
    // are not ferry's (bad magic) get nothing.
    if (e.code().category() == framing::framing_category() && e.code() != framing::error::bad_magic)
      tell = framing::error_frame{framing::error_code::protocol, e.message()};
    // A list file broken while we run: every sender is turned away (never
    // served unconfined), and told so rather than cut off.
    if (e.code() == secure::errc::key_file)
      tell = framing::error_frame{framing::error_code::internal,
                                  "the receiver cannot read its list of authorised senders or "
                                  "tokens; its operator must fix it (nothing was stored)"};
  } catch (const std::exception& e) {
    // Whatever else went wrong, the slot below is given back.
    result.code = exit_code::protocol;
    result.message = std::string("handshake: ") + e.what();
  }
  if (tell && stream->carrier().is_open()) {
    try {
      stream->queue(*tell);
      co_await stream->flush();
    } catch (const std::exception&) {
    }
  }
  if (authorised && result.message.empty()) {
    result = co_await run_session(stream, opts_, root_, home, log_, disk_.get_executor(), budgets_);
  } else if (result.code == exit_code::auth) {
    log_.event(json_line("auth_failed").str("peer", peer).str("message", result.message));
  }
  stream->close();

  bool cut = false;
  {
    std::lock_guard lock(mu_);
    sessions_.erase(stream);
    --active_;
    if (!host.empty() && --per_host_[host] == 0) per_host_.erase(host);
    cut = stopping_ && result.code != exit_code::ok && result.message.size() > 0;
    if (cut) cut_sessions_ = true;
    // The last session out lets the process end: nothing else may wait.
    if (stopping_ && active_ == 0) asio::post(strand_, [this] { finish(); });
  }
  // What a closed socket said ("Operation aborted.") is our own doing.
  if (cut) result.message = "receiver is shutting down: session cut short";

  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::string message = result.message;
  while (!message.empty() && (message.back() == '.' || message.back() == ' '))
    message.pop_back();
  std::string line = peer + ": session ";
  line += message.empty() ? "done" : "failed: " + message;
  line += "; stored " + std::to_string(result.files_stored) +
          (result.files_stored == 1 ? " file" : " files") + " and " +
          std::to_string(result.directories) +
          (result.directories == 1 ? " directory" : " directories") + ", " +
          format_bytes(result.bytes_stored);
  if (result.resumed_bytes > 0)
    line += " (" + format_bytes(result.resumed_bytes) + " of it kept from before, " +
            format_bytes(result.bytes_stored - result.resumed_bytes) + " received)";
  line += " in " + format_duration(secs) + "; " + std::to_string(result.skipped) + " skipped, " +
          std::to_string(result.files_rejected) + " rejected, " +
          std::to_string(result.files_failed) + " failed";
  if (result.refusals_unlogged > 0)
    line += " (" + std::to_string(result.refusals_unlogged) + " of those not logged one by one)";
  if (message.empty())
    log_.info(line);
  else
    log_.warn(line);
  log_.event(json_line("session_end")
                 .str("peer", peer)
                 .num("files", result.files_stored)
                 .num("directories", result.directories)
                 .num("bytes", result.bytes_stored)
                 .num("resumed_bytes", result.resumed_bytes)
                 .num("skipped", result.skipped)
                 .num("rejected", result.files_rejected)
                 .num("failed", result.files_failed)
                 .num("unlogged", result.refusals_unlogged)
                 .real("seconds", secs)
                 .num("exit_code", to_int(result.code))
                 .str("error", message));

  // --once: the session it served (one that was not authorised does not count).
  if (opts_.once && authorised) {
    std::lock_guard lock(mu_);
    if (!once_done_) {
      once_done_ = true;
      status_ = stop_signal_ != 0 ? 128 + stop_signal_ : to_int(result.code);
      asio::post(strand_, [this] { finish(); });
    }
  }
}

// Part files that interrupted transfers left: count them (the operator
// sees what resumes could use), remove those older than --partial-ttl.
// The walk runs on the disk pool; the result is logged from there.
void server::sweep_partials() {
  asio::post(disk_, [this] {
    const auto r = root_.sweep_partials(opts_.partial_ttl, std::chrono::system_clock::now());
    if (r.kept > 0 || r.removed > 0) {
      std::string line = std::to_string(r.kept) + (r.kept == 1 ? " part file (" : " part files (") +
                         format_bytes(r.kept_bytes) + ") kept for resumes in " + root_.path();
      if (r.removed > 0)
        line += "; removed " + std::to_string(r.removed) + " (" + format_bytes(r.removed_bytes) +
                ") older than --partial-ttl";
      log_.info(line);
    }
    log_.event(json_line("partials")
                   .num("kept", r.kept)
                   .num("kept_bytes", r.kept_bytes)
                   .num("removed", r.removed)
                   .num("removed_bytes", r.removed_bytes));
  });
  if (opts_.partial_ttl.count() == 0) return;
  sweep_timer_.expires_after(std::chrono::hours(1));
  sweep_timer_.async_wait([this](const std::error_code& e) {
    if (!e) sweep_partials();
  });
}

void server::on_signal(int signo) {
  stop_accepting();
  std::size_t open = 0;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    stop_signal_ = signo;
    open = active_;
    if (opts_.once && open == 0) status_ = 128 + signo;
  }
  log_.info(
      std::string("caught ") + (signo == SIGINT ? "SIGINT" : "SIGTERM") + ", shutting down" +
      (open > 0 ? " (waiting for " + std::to_string(open) + (open == 1 ? " session)" : " sessions)")
                : ""));
  if (open == 0) {
    finish();
    return;
  }
  grace_timer_.expires_after(opts_.grace);
  grace_timer_.async_wait([this](const std::error_code& e) {
    if (!e) shut_down_sessions();
  });
  // A second signal stops at once.
  signals_.async_wait([this](const std::error_code& e, int) {
    if (!e) shut_down_sessions();
  });
}

namespace {
// A coroutine with its stream by value (a lambda's captures would dangle once
// co_spawn returns), and its frame named (GCC 12 destroys a temporary in a
// co_await expression twice).
asio::awaitable<void> say_shutting_down(std::shared_ptr<net::frame_stream> s) {
  framing::error_frame last{framing::error_code::shutdown, "receiver is shutting down"};
  co_await s->close_saying(std::move(last));
}
}  // namespace

void server::shut_down_sessions() {
  std::lock_guard lock(mu_);
  cut_sessions_ = cut_sessions_ || active_ > 0;
  closed_all_ = true;
  for (const auto& s : sessions_) {
    // Each stream belongs to its session's strand: tell its sender why and
    // close it there.
    asio::co_spawn(s->executor(), say_shutting_down(s), asio::detached);
  }
  if (!opts_.once || status_ == 0) status_ = 128 + stop_signal_;
}

}  // namespace ferry::recv
