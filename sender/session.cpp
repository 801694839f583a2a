#include "sender/session.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <asio/experimental/as_tuple.hpp>
#include <chrono>
#include <cstring>
#include <optional>
#include <unordered_map>

#include "fileio/fd.hpp"
#include "fileio/hash.hpp"
#include "link/classify.hpp"
#include "link/dial.hpp"
#include "net/frame_stream.hpp"
#include "secure/errors.hpp"
#include "sender/source.hpp"
#include "session/compress.hpp"
#include "session/hashing.hpp"
#include "util/session_error.hpp"
#include "util/text.hpp"
#include "util/units.hpp"

namespace ferry::send {
namespace {

using namespace framing;
using clock = std::chrono::steady_clock;
constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);
constexpr std::size_t chunk_size = 1 << 20;

const char* kind_text(entry_kind k) {
  return k == entry_kind::directory ? "directory" : "file";
}

const char* verdict_text(verdict_kind k) {
  switch (k) {
    case verdict_kind::stored:
      return "stored";
    case verdict_kind::hash_mismatch:
      return "hash_mismatch";
    case verdict_kind::size_mismatch:
      return "size_mismatch";
    case verdict_kind::io_error:
      return "receiver_io_error";
    case verdict_kind::too_large:
      return "too_large";
    case verdict_kind::aborted:
      return "aborted";
  }
  return "unknown";
}

// How a receiver's error frame ends our run: busy or stopping is like a
// refused connection (try again later), silence is a timeout.
exit_code code_for(error_code c) {
  switch (c) {
    case error_code::limit:
    case error_code::shutdown:
      return exit_code::connect;
    case error_code::timeout:
      return exit_code::timeout;
    case error_code::auth_failed:
      return exit_code::auth;
    default:
      return exit_code::protocol;
  }
}

double since(clock::time_point t) {
  return std::chrono::duration<double>(clock::now() - t).count();
}

class sender_session {
 public:
  sender_session(const options& o, const std::vector<fileio::source_entry>& e,
                 std::vector<std::optional<hash128>> hashes, logger& l, progress_meter& p,
                 net::frame_stream& s)
      : opts_(o),
        entries_(e),
        log_(l),
        progress_(p),
        stream_(s),
        wake_(s.executor()),
        hashes_(std::move(hashes)),
        answers_(e.size()),
        verdicts_(e.size()),
        aborted_(e.size()) {
    wake_.expires_at(clock::time_point::max());
    hello_ = hello{0, "ferry-send/" FERRY_VERSION, opts_.to};
    if (!opts_.to.empty()) hello_.features |= feature::to;
    if (opts_.compress) hello_.features |= feature::compress;
  }

  /// Queues our HELLO on the stream (once). The handshake may send it right
  /// behind AUTH, saving the round trip of waiting for AUTH_REPLY.
  void queue_hello() {
    if (hello_queued_) return;
    hello_queued_ = true;
    stream_.queue(hello_);
  }

  asio::awaitable<void> run() {
    const hello& h = hello_;
    queue_hello();
    co_await stream_.flush();  // (nothing left to send when the handshake took it)
    auto first = co_await stream_.read_frame("handshake");
    if (auto* e = std::get_if<error_frame>(&first)) {
      // `refused` answers a HELLO's `to`: from a receiver asked for none it
      // is out of place.
      const bool asked = (h.features & feature::to) != 0;
      throw session_error(
          e->code == error_code::refused && asked ? exit_code::partial : code_for(e->code),
          "handshake: receiver refused: " + e->message);
    }
    const auto* w = std::get_if<welcome>(&first);
    if (w == nullptr)
      throw session_error(exit_code::protocol,
                          std::string("handshake: expected welcome, got ") + type_name(first));
    // A receiver that does not confirm --to would store the tree elsewhere.
    if ((h.features & feature::to) != 0 && (w->features & feature::to) == 0)
      throw session_error(exit_code::protocol,
                          "handshake: the receiver did not take --to; nothing was sent");
    if ((h.features & w->features & feature::compress) != 0) {
      compressor_.emplace(opts_.compress_level);
      result_.compressed = true;
    } else if (opts_.compress)
      log_.warn("the receiver does not take --compress: sending content as it is");
    stream_.clear_deadline();
    // The reader runs beside the writer; the writer waits for it at the end.
    // Only the writer writes (and flushes): see set_flush_on_read.
    stream_.set_flush_on_read(false);
    asio::co_spawn(stream_.executor(), reader(), [this](std::exception_ptr e) {
      reader_error_ = e;
      reader_finished_ = true;
      wake_.cancel();
    });
    std::exception_ptr writer_error;
    try {
      co_await writer();
    } catch (...) {
      writer_error = std::current_exception();
    }
    while (!reader_finished_)
      co_await wait();
    // The reader's account of a failure (an error frame, a timeout) is the
    // more telling one; a writer failure stands only when the reader had none.
    if (reader_error_) std::rethrow_exception(reader_error_);
    if (writer_error) std::rethrow_exception(writer_error);
  }

  send_result& result() { return result_; }

 private:
  // ---- writer: offers ahead, content for accepted files in order -----------
  asio::awaitable<void> writer() {
    std::size_t next_offer = 0;
    for (std::size_t i = 0; i < entries_.size(); ++i) {
      for (; next_offer < entries_.size() && next_offer < i + offer_window; ++next_offer)
        co_await queue_offer(next_offer);
      // Offers and small files gather in the queue; it goes out when it is
      // large, or before we wait for the receiver.
      if (stream_.queued() >= flush_bytes) co_await stream_.flush();
      while (!answers_[i]) {
        if (reader_done_) co_return;  // the session ended under us
        if (stream_.queued() > 0) {
          // Check again after writing: the answer may arrive meanwhile, and
          // its wake-up would be lost on a wait not yet begun.
          co_await stream_.flush();
          continue;
        }
        co_await wait();
      }
      const answer& a = *answers_[i];
      if (entries_[i].kind == entry_kind::file &&
          (a.kind == answer_kind::accept || a.kind == answer_kind::resume))
        co_await send_content(i, a);
    }
    stream_.queue(end{});
    co_await stream_.flush();
  }

  asio::awaitable<void> queue_offer(std::size_t i) {
    const auto& e = entries_[i];
    const bool regular = e.kind == entry_kind::file && e.size_known && !e.local_path.empty();
    offer o{static_cast<std::uint32_t>(i),
            e.kind,
            e.size_known,
            e.mode,
            e.mtime_ns,
            e.size,
            e.remote_path};
    o.resume = opts_.resume && regular;
    if (i < hashes_.size() && hashes_[i]) {  // --skip-identical: hashed before we connected
      o.has_hash = true;
      o.hash = *hashes_[i];
    }
    // The receiver may hash its copy (to compare it, or a kept prefix)
    // before it answers: its KEEPALIVEs meanwhile are progress, for as
    // long as that takes.
    if (o.has_hash || o.resume) stream_.expect_peer_hashing(e.size);
    stream_.queue(o);
    log_.event([&] {
      return json_line("file_offered")
          .num("id", static_cast<std::uint64_t>(i))
          .str("path", e.remote_path)
          .str("kind", kind_text(e.kind))
          .num("size", e.size);
    });
    co_return;
  }

  asio::awaitable<void> send_content(std::size_t i, const answer& a) {
    const std::uint64_t offset = a.kind == answer_kind::resume ? a.offset : 0;
    const auto& e = entries_[i];
    const auto id = static_cast<std::uint32_t>(i);
    const auto start = clock::now();
    sending_ = i;
    content_source src(stream_.executor(), buf_);
    source_ = &src;
    struct forget {  // the reader may cancel it only while it lives
      content_source*& p;
      ~forget() { p = nullptr; }
    } forget_source{source_};
    if (auto ec = src.open(e)) {
      const std::string why = ec.message();  // named: see abort_file_
      co_await abort_file_(i, why.c_str());
      co_return;
    }
    if (src.fits_inline(offset, inline_max)) {
      co_await send_inline(i, src, start);
      co_return;
    }
    fileio::hasher hash;
    progress_.start_file(e.remote_path, e.size, e.size_known);

    // A resumed file's hash still covers the whole file: hash the prefix.
    std::uint64_t pos = offset;
    std::span<const std::uint8_t> chunk;
    if (offset > 0) {
      progress_.phase("verifying kept bytes", e.remote_path, offset);
      const std::error_code ec = co_await session::hash_keeping_alive(
          stream_, stream_.executor(), src.fd(), 0, offset, hash,
          [this](std::uint64_t n) { progress_.phase_add(n); });
      progress_.end_phase();
      if (ec) {
        const std::string why =
            ec == std::errc::io_error ? "file shrank below the resume offset" : ec.message();
        co_await abort_file_(i, why.c_str());
        co_return;
      }
      if (hash.digest() == a.prefix_hash) {
        ++result_.resumed;
        result_.resumed_bytes += offset;
        progress_.kept(offset);
      } else {
        // What the receiver kept is not the start of this file: say so, and
        // send all of it.
        stream_.queue(restart{id});
        log_.event(json_line("file_restarted")
                       .num("id", static_cast<std::uint64_t>(i))
                       .str("path", e.remote_path)
                       .num("kept_bytes", offset));
        ++result_.restarted;
        hash.reset();
        pos = 0;
      }
      // (Queued frames, RESTART among them, leave before the content.)
    }
    if (compressor_) compressor_->start_file();
    if (auto ec = src.stream_from(pos)) {
      const std::string why = ec.message();  // named: see abort_file_
      co_await abort_file_(i, why.c_str());
      co_return;
    }

    while (true) {
      if (cancelled_) {
        // The receiver already gave its verdict (disk full, limit, ...).
        progress_.abandon(e.remote_path, e.size);
        stream_.queue(abort_file{id, "receiver refused the file"});
        aborted_[id] = true;
        co_await stream_.flush();
        sending_.reset();
        cancelled_ = false;
        co_return;
      }
      const std::uint64_t want =
          e.size_known ? std::min<std::uint64_t>(chunk_size, e.size - pos) : chunk_size;
      if (want == 0) break;
      const auto n = co_await src.next(pos, want, chunk);
      stream_.touch();  // waiting on our own disk or pipe is not the peer's silence
      if (n < 0) {
        co_await abort_file_(i, std::strerror(errno));
        co_return;
      }
      if (n == 0) {
        if (e.size_known) {
          co_await abort_file_(i, "file shrank while being sent");
          co_return;
        }
        break;
      }
      hash.update(chunk);
      const auto body = encode_segment(id, chunk);
      co_await stream_.write(header_, body);
      pos += static_cast<std::uint64_t>(n);
      result_.bytes += static_cast<std::uint64_t>(n);
      progress_.add(static_cast<std::uint64_t>(n));
    }
    progress_.file_finished();
    finish_file(id, pos, hash.digest(), start);
  }

  // Queues a file's DONE (it leaves with the next write, or before the
  // writer waits) and notes what was sent for its verdict's event.
  void finish_file(std::uint32_t id, std::uint64_t size, const hash128& digest,
                   clock::time_point start) {
    stream_.queue(done{id, size, digest});
    sent_[id] = sent_info{size, digest, since(start)};
    sending_.reset();
  }

  // A small regular file: read whole, hashed, and queued with its DATA and
  // DONE frames, so that many small files leave in one write.
  asio::awaitable<void> send_inline(std::size_t i, content_source& src, clock::time_point start) {
    const auto& e = entries_[i];
    const auto id = static_cast<std::uint32_t>(i);
    std::span<const std::uint8_t> content;
    if (auto ec = src.read_whole(content)) {
      const std::string why = ec.message();  // named: see abort_file_
      co_await abort_file_(i, why.c_str());
      co_return;
    }
    fileio::hasher hash;
    hash.update(content);
    if (compressor_) compressor_->start_file();
    if (!content.empty()) {
      const auto body = encode_segment(id, content);
      stream_.queue_raw(header_);
      stream_.queue_raw(body);
    }
    result_.bytes += e.size;
    progress_.start_file(e.remote_path, e.size, true);
    progress_.add(e.size);
    progress_.file_finished();
    stream_.touch();
    finish_file(id, e.size, hash.digest(), start);
  }

  // Puts the frame for one segment of file `id` in header_ and returns
  // the bytes that follow it: the compressed stream's part when --compress
  // was granted and the compressor tried this segment (sent whatever it
  // saved: the stream holds it now), else `raw` as it is.
  std::span<const std::uint8_t> encode_segment(std::uint32_t id,
                                               std::span<const std::uint8_t> raw) {
    header_.clear();
    const auto z = compressor_ && raw.size() <= max_zdata_segment ? compressor_->compress(raw)
                                                                  : std::span<const std::uint8_t>();
    const auto length = static_cast<std::uint32_t>(raw.size());
    if (z.empty())
      encode(data{id, length}, header_);
    else
      encode(zdata{id, length, static_cast<std::uint32_t>(z.size())}, header_);
    const auto body = z.empty() ? raw : z;
    result_.wire_bytes += body.size();
    return body;
  }

  // Takes a C string: a std::string temporary in a co_await expression is
  // destroyed twice by GCC 12's coroutine lowering.
  asio::awaitable<void> abort_file_(std::size_t i, const char* why) {
    // The session ended under us (the reader cancelled our read): its own
    // error says why; "Operation canceled" about this file would mislead.
    if (reader_done_) co_return;
    const auto& e = entries_[i];
    progress_.abandon(e.remote_path, e.size);
    progress_.clear();
    log_.warn((e.local_path.empty() ? std::string("stdin") : e.local_path) + ": " + why +
              " (not sent)");
    const std::string reason = why;
    result_.code = worse(result_.code, exit_code::local_io);
    stream_.queue(abort_file{static_cast<std::uint32_t>(i), reason});
    aborted_[i] = true;
    co_await stream_.flush();
    sending_.reset();
    cancelled_ = false;
  }

  // ---- reader: answers and verdicts ---------------------------------------
  asio::awaitable<void> reader() {
    try {
      co_await read_loop();
    } catch (...) {
      reader_done_ = true;
      // The session is over: wake the writer wherever it waits (stdin
      // pipe, the socket, or the next answer) so that it ends too.
      if (source_ != nullptr) source_->cancel();
      stream_.close();
      wake_.cancel();
      throw;
    }
    reader_done_ = true;
  }

  asio::awaitable<void> read_loop() {
    while (true) {
      auto msg = co_await stream_.read_frame("waiting for the receiver");
      if (auto* a = std::get_if<answer>(&msg)) {
        on_answer(std::move(*a));
      } else if (auto* v = std::get_if<verdict>(&msg)) {
        on_verdict(std::move(*v));
      } else if (std::holds_alternative<keepalive>(msg)) {
        // The receiver is hashing; reading the frame fed our watchdog.
      } else if (std::holds_alternative<bye>(msg)) {
        for (std::size_t i = 0; i < entries_.size(); ++i) {
          if (!answers_[i] || (expects_verdict(i) && !verdicts_[i]))
            throw session_error(
                exit_code::protocol,
                "receiver ended the session without deciding on " + entries_[i].remote_path);
        }
        co_return;
      } else if (auto* e = std::get_if<error_frame>(&msg)) {
        throw session_error(code_for(e->code), "receiver reported an error: " + e->message);
      } else {
        throw session_error(exit_code::protocol,
                            std::string("unexpected ") + type_name(msg) + " from the receiver");
      }
    }
  }

  bool expects_verdict(std::size_t i) const {
    return entries_[i].kind == entry_kind::file && answers_[i] &&
           (answers_[i]->kind == answer_kind::accept || answers_[i]->kind == answer_kind::resume);
  }

  void on_answer(answer a) {
    if (a.id >= entries_.size() || answers_[a.id])
      throw session_error(exit_code::protocol,
                          "receiver answered unknown or repeated offer " + std::to_string(a.id));
    const auto& e = entries_[a.id];
    if (a.kind == answer_kind::resume) {
      // Only what we offered resumable, and only inside it: 0 < offset <= size.
      const bool resumable =
          opts_.resume && e.kind == entry_kind::file && e.size_known && !e.local_path.empty();
      if (!resumable)
        throw session_error(exit_code::protocol,
                            "receiver answered resume for " + e.remote_path +
                                (opts_.resume ? ", which was not offered resumable"
                                              : ", offered with --no-resume"));
      if (a.offset == 0 || a.offset > e.size)
        throw session_error(exit_code::protocol, "receiver asked to resume " + e.remote_path +
                                                     " at byte " + std::to_string(a.offset) +
                                                     ", outside 1.." + std::to_string(e.size));
    }
    // Every entry ends in one file_done event: here when the answer
    // settles it (a directory, a skip, a refusal), else at its verdict.
    const char* status = nullptr;
    switch (a.kind) {
      case answer_kind::accept:
      case answer_kind::resume:
        if (e.kind == entry_kind::directory) {
          ++result_.directories;
          status = "stored";
        }
        break;
      case answer_kind::skip:
        ++result_.skipped;
        status = "skipped";
        break;
      case answer_kind::reject:
        ++result_.rejected;
        result_.code = worse(result_.code, exit_code::partial);
        progress_.clear();
        log_.warn(e.remote_path + ": rejected by receiver: " + a.reason);
        status = "rejected";
        break;
    }
    if (status) progress_.settled(e.size, e.kind == entry_kind::file);
    log_.event([&] {
      if (status)
        return json_line("file_done")
            .num("id", static_cast<std::uint64_t>(a.id))
            .str("path", e.remote_path)
            .str("kind", kind_text(e.kind))
            .str("status", status)
            .num("bytes", std::uint64_t{0})
            .real("seconds", 0)
            .str("reason", a.reason);
      return json_line("file_accepted")
          .num("id", static_cast<std::uint64_t>(a.id))
          .str("path", e.remote_path)
          .num("offset", a.offset);
    });
    answers_[a.id] = std::move(a);
    wake_.cancel();
  }

  void on_verdict(verdict v) {
    if (v.id >= entries_.size() || !expects_verdict(v.id) || verdicts_[v.id])
      throw session_error(exit_code::protocol,
                          "receiver sent a verdict for unknown file " + std::to_string(v.id));
    const auto& e = entries_[v.id];
    const auto it = sent_.find(v.id);
    // "stored" only after our DONE, "aborted" only after our ABORT; a
    // failure (disk full, a limit) may come at any time.
    if (v.kind == verdict_kind::stored && it == sent_.end())
      throw session_error(exit_code::protocol, "receiver said it stored " + e.remote_path +
                                                   " before it had all the content");
    if (v.kind == verdict_kind::aborted && !aborted_[v.id])
      throw session_error(exit_code::protocol,
                          "receiver said " + e.remote_path + " was aborted; it was not");
    const sent_info info = it != sent_.end() ? it->second : sent_info{};
    if (v.kind == verdict_kind::stored) {
      ++result_.files;
    } else {
      ++result_.failed;
      exit_code c = exit_code::partial;
      if (v.kind == verdict_kind::hash_mismatch || v.kind == verdict_kind::size_mismatch)
        c = exit_code::integrity;
      else if (v.kind == verdict_kind::io_error)
        c = exit_code::remote_io;
      else if (v.kind == verdict_kind::aborted)
        c = exit_code::local_io;
      result_.code = worse(result_.code, c);
      if (v.kind != verdict_kind::aborted) {
        progress_.clear();
        log_.warn(e.remote_path + ": not stored by receiver: " + v.reason);
      }
      if (sending_ && *sending_ == v.id) cancelled_ = true;
    }
    log_.event([&] {
      return json_line("file_done")
          .num("id", static_cast<std::uint64_t>(v.id))
          .str("path", e.remote_path)
          .str("kind", kind_text(e.kind))
          .str("status", verdict_text(v.kind))
          .num("bytes", info.bytes)
          .str("hash", info.hash ? fileio::to_hex(*info.hash) : std::string())
          .real("seconds", info.seconds)
          .str("reason", v.reason);
    });
    if (it != sent_.end()) sent_.erase(it);
    verdicts_[v.id] = true;
  }

  asio::awaitable<void> wait() {
    wake_.expires_at(clock::time_point::max());
    co_await wake_.async_wait(use_tuple);
  }

  struct sent_info {
    std::uint64_t bytes = 0;
    std::optional<hash128> hash;  // none: content never sent
    double seconds = 0;
  };

  const options& opts_;
  const std::vector<fileio::source_entry>& entries_;
  logger& log_;
  progress_meter& progress_;
  net::frame_stream& stream_;
  asio::steady_timer wake_;                     // writer waits here; the reader cancels it
  std::vector<std::optional<hash128>> hashes_;  // --skip-identical: each file's XXH3-128
  std::vector<std::optional<answer>> answers_;
  std::vector<bool> verdicts_;
  std::vector<bool> aborted_;  // we sent ABORT for it
  std::unordered_map<std::uint32_t, sent_info> sent_;
  std::optional<std::size_t> sending_;
  bool cancelled_ = false;
  bool reader_done_ = false;
  bool reader_finished_ = false;
  hello hello_;
  bool hello_queued_ = false;
  std::exception_ptr reader_error_;
  byte_buffer header_;
  std::optional<session::compressor> compressor_;  // when the receiver granted --compress
  std::vector<std::uint8_t> buf_;                  // read scratch, shared by each file's source
  content_source* source_ = nullptr;               // the file being sent, while it is
  send_result result_;
};

}  // namespace

// --skip-identical: the XXH3-128 of each regular file, computed before we
// connect (as rsync -c does), so that the receiver never waits on our disk
// with nothing but KEEPALIVEs to show. A file that cannot be read gets no
// hash (its offer then fails the usual way).
asio::awaitable<std::vector<std::optional<hash128>>> hash_sources(
    const std::vector<fileio::source_entry>& entries, progress_meter& progress) {
  std::vector<std::optional<hash128>> out(entries.size());
  auto hashable = [](const fileio::source_entry& e) {
    return e.kind == entry_kind::file && e.size_known && !e.local_path.empty();
  };
  std::uint64_t total = 0;
  for (const auto& e : entries)
    if (hashable(e)) total += e.size;
  const auto ex = co_await asio::this_coro::executor;
  progress.phase("hashing", "", total);
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const auto& e = entries[i];
    if (!hashable(e)) continue;
    progress.phase("hashing", e.remote_path, total);
    fileio::unique_fd fd(::open(e.local_path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) continue;
    fileio::hasher h;
    std::error_code ec;
    for (std::uint64_t off = 0; off < e.size && !ec; off += fileio::hash_slice) {
      const std::uint64_t n = std::min(fileio::hash_slice, e.size - off);
      ec = fileio::hash_file_range(fd.get(), off, n, h);
      progress.phase_add(n);
      co_await asio::post(ex, asio::use_awaitable);  // a signal may stop us between slices
    }
    if (!ec) out[i] = h.digest();
  }
  progress.end_phase();
  co_return out;
}

namespace {

// Preambles, TLS, the receiver's key, our authorisation (secure/handshake).
asio::awaitable<void> start_secure(net::frame_stream& stream, secure::channel& chan,
                                   const secure::client_plan& plan, const options& opts,
                                   logger& log, early_frames early) {
  secure::client_outcome out;
  std::optional<error_frame> refusal;
  bool in_clear = false;
  try {
    out = co_await secure::connect(stream, chan, plan, early);
  } catch (const secure::refused& r) {
    refusal = r.frame;
    in_clear = r.in_clear;
  } catch (const failure& e) {
    // Some proxies report CONNECT success before they have connected,
    // then close (or reset): that is not the receiver's doing.
    if (!opts.proxy || link::classify(e) != exit_code::connect || e.step() != step::handshake)
      throw;
    const std::string dest = net::to_string(opts.dest);
    throw session_error(exit_code::proxy,
                        "handshake with " + dest + " via " + opts.proxy->display() +
                            ": the connection closed before the receiver said a word; the "
                            "proxy reported it had connected, but it may not have reached " +
                            dest);
  }
  // Before TLS a receiver only says busy, shutting down or another
  // version; whatever else a clear ERROR claims (an authentication failure,
  // a refusal) is unauthenticated and counts as a closed connection (3).
  if (refusal && in_clear) {
    const auto code = refusal->code;
    const bool clear_kind = code == error_code::limit || code == error_code::shutdown ||
                            code == error_code::version_mismatch;
    throw session_error(
        code == error_code::version_mismatch ? exit_code::protocol : exit_code::connect,
        "handshake: receiver refused: " + refusal->message +
            (clear_kind ? "" : " (sent in clear, before TLS: unauthenticated)"));
  }
  if (refusal)
    throw session_error(code_for(refusal->code),
                        "handshake: receiver refused: " + refusal->message);
  const std::string fp = secure::fingerprint(out.receiver);
  const char* how = "known";
  switch (out.trust) {
    case secure::trust::pinned:
      how = "pinned";
      break;
    case secure::trust::known:
      break;
    case secure::trust::first_contact:
      how = "first_contact";
      log.warn("first contact with " + plan.receiver_name + ": recorded its key " + fp + " in " +
               plan.known_file.string() +
               " (trust on first use: compare it with the receiver's --show-identity, or use "
               "--pin)");
      break;
    case secure::trust::paired:
      how = "paired";
      log.info("paired with " + plan.receiver_name + " by its one-time code: recorded its key " +
               fp + " in " + plan.known_file.string());
      break;
  }
  if (out.trust == secure::trust::first_contact || out.trust == secure::trust::paired)
    log.event(json_line("receiver_key_recorded")
                  .str("receiver", plan.receiver_name)
                  .str("fingerprint", fp)
                  .str("file", plan.known_file.string())
                  .str("by", out.trust == secure::trust::paired ? "code" : "first_contact"));
  log.event(json_line("authenticated")
                .str("peer", stream.peer())
                .str("fingerprint", fp)
                .str("how", how)
                .str("cipher", out.cipher));
}

}  // namespace

asio::awaitable<void> run_send(const options& opts,
                               const std::vector<fileio::source_entry>& entries, logger& log,
                               progress_meter& progress, send_result& result,
                               const secure::identity& id, const secure::client_plan& plan) {
  std::vector<std::optional<hash128>> hashes;
  if (opts.skip_identical) hashes = co_await hash_sources(entries, progress);
  const secure::tls_context tls(id, secure::side::client);
  const auto started = clock::now();
  link::dial_plan dial;
  dial.dest = opts.dest;
  dial.via = opts.proxy;
  dial.connect_timeout = opts.connect_timeout;
  dial.idle_timeout = opts.timeout;
  dial.udp = opts.udp;
  dial.udp_strict = opts.udp_strict;
  dial.udp_packet = opts.udp_size;
  dial.rate_cap = opts.rate_bits / 8;
  dial.tcp_congestion = opts.tcp_congestion;
  auto dialed = co_await link::dial(dial);
  if (!dialed.notice.empty()) {
    log.warn(dialed.notice);
    log.event(json_line("warning").str("message", dialed.notice));
  }
  // The one place the sender's secure channel begins: every transport dial()
  // returns, TCP or UDP, direct or through a proxy.
  auto ch = std::make_unique<secure::channel>(std::move(dialed.transport), tls);
  secure::channel& chan = *ch;
  auto secure_start = [&](net::frame_stream& stream, early_frames early) -> asio::awaitable<void> {
    co_await start_secure(stream, chan, plan, opts, log, std::move(early));
  };
  co_await run_session(std::move(ch), opts, entries, std::move(hashes), log, progress, result,
                       started, secure_start);
}

asio::awaitable<void> run_session(std::unique_ptr<net::transport> carrier, const options& opts,
                                  const std::vector<fileio::source_entry>& entries,
                                  std::vector<std::optional<hash128>> hashes, logger& log,
                                  progress_meter& progress, send_result& result,
                                  std::chrono::steady_clock::time_point started,
                                  before_session before) {
  const char* transport = net::to_string(carrier->kind());
  result.transport = transport;
  net::frame_stream stream(std::move(carrier), opts.timeout);
  // --rate in TCP mode: we pace our writes (UDP mode paces its packets).
  if (opts.rate_bits != 0 && std::string_view(transport) == "tcp")
    stream.set_pace(opts.rate_bits / 8);
  // --connect-timeout covers everything up to the receiver's WELCOME: a
  // peer (or a proxy) that accepts and then says nothing is given up on.
  stream.set_deadline(
      started + opts.connect_timeout,
      "no answer from the receiver within " +
          format_duration(std::chrono::duration<double>(opts.connect_timeout).count()) +
          " of connecting, the --connect-timeout");
  std::string peer = net::to_string(opts.dest);
  if (opts.proxy) peer += " via " + opts.proxy->display();
  std::uint64_t total = 0;
  for (const auto& e : entries)
    total += e.size;
  log.event(json_line("session_start")
                .str("peer", peer)
                .num("entries", static_cast<std::uint64_t>(entries.size()))
                .num("bytes", total)
                .num("protocol", static_cast<std::uint64_t>(protocol_version))
                .str("transport", transport));
  sender_session s(opts, entries, std::move(hashes), log, progress, stream);
  // What the session did reaches the caller whether it ends well or not.
  struct report {
    sender_session& s;
    send_result& out;
    const net::transport& carrier;
    ~report() {
      const std::uint64_t failed_before = out.failed;
      const std::string kind = out.transport;
      out = s.result();
      out.failed += failed_before;
      out.transport = kind;
      out.link = carrier.statistics();
    }
  } on_exit{s, result, stream.carrier()};
  if (before) co_await before(stream, [&s](net::frame_stream&) { s.queue_hello(); });
  co_await s.run();
  co_await stream.finish();
}

}  // namespace ferry::send
