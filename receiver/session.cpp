#include "receiver/session.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <asio/experimental/as_tuple.hpp>
#include <chrono>
#include <optional>
#include <unordered_map>
#include <vector>

#include "fileio/errors.hpp"
#include "fileio/hash.hpp"
#include "fileio/path.hpp"
#include "link/classify.hpp"
#include "receiver/policy.hpp"
#include "session/compress.hpp"
#include "session/hashing.hpp"
#include "util/checked.hpp"
#include "util/session_error.hpp"
#include "util/units.hpp"

namespace ferry::recv {
namespace {

using namespace framing;
using clock = std::chrono::steady_clock;

/// More accepted-but-unsent offers than this is a peer trying to make us
/// hold memory; a well-behaved sender keeps at most 256 in flight.
constexpr std::size_t max_pending_offers = 1024;
/// What the memory budget counts for an accepted offer waiting for its
/// content, and for a directory waiting for its mode and mtime: the path
/// plus the bookkeeping around it.
constexpr std::uint64_t offer_overhead = 192;
constexpr std::uint64_t directory_overhead = 48;
/// While a file of known size is written (into its reservation), the file
/// system is checked each time this much more has arrived: something else
/// may have filled it.
constexpr std::uint64_t space_check_bytes = 16 << 20;
/// An mtime further ahead of our clock than this is stored as now + this,
/// so that a file from the far future cannot block --overwrite newer.
constexpr std::chrono::hours max_future_mtime{24};
/// Files up to this size are sent whole rather than resumed, so they need
/// no named part file: they are written anonymously and linked into place
/// (cheaper than a rename, and nothing is left behind whatever happens).
constexpr std::uint64_t small_file_size = 1 << 20;
/// A session that finds another holding the part file it needs waits this
/// long for it: the holder's peer silent this long is taken as gone (a
/// killed sender or proxy in UDP mode, a cut path), and the newcomer takes
/// the part over instead of waiting for the holder's timeout.
constexpr auto takeover_silence = std::chrono::seconds(3);
/// Answers are flushed at least this often (see on_offer).
constexpr std::size_t answer_batch = 32;

bool small_file(const offer& o) {
  return o.size_known && o.size <= small_file_size;
}

/// What an interrupted session left of a file: the part file (locked now),
/// its length, and the hash of those bytes (which the sender checks).
struct kept_prefix {
  fileio::part_file part;
  std::uint64_t length = 0;
  fileio::hasher hash;
  part_claim claim;
};

struct accepted_file {
  offer o;
  bool replace = false;             // may the final name be replaced?
  std::optional<kept_prefix> kept;  // answered resume: content continues after it
  space_reservation space;          // known size: the content still to come
  std::uint64_t memory = 0;         // what it holds of the session's memory budget
};

/// A directory whose mode and mtime are set at the end of the session.
struct pending_directory {
  std::string path;
  std::uint32_t mode = 0;
  std::int64_t mtime_ns = 0;
};

std::int64_t clamp_mtime(std::int64_t mtime_ns) {
  const auto limit = std::chrono::duration_cast<std::chrono::nanoseconds>(
                         (std::chrono::system_clock::now() + max_future_mtime).time_since_epoch())
                         .count();
  return std::min<std::int64_t>(mtime_ns, limit);
}

struct current_file {
  accepted_file f;
  part_claim claim;  // (declared before the part: released after it is closed)
  fileio::part_file part;
  fileio::hasher hash;
  std::uint64_t received = 0;
  bool failed = false;  // a verdict was sent early; drain until done/abort
  clock::time_point start = clock::now();
};

class receiver_session {
 public:
  receiver_session(std::shared_ptr<net::frame_stream> s, const options& o,
                   const fileio::dest_root& r, std::string home, logger& l,
                   asio::any_io_executor disk, shared_budgets& budgets)
      : self_(std::move(s)),
        stream_(*self_),
        budgets_(budgets),
        opts_(o),
        root_(&r),
        home_(std::move(home)),
        log_(l),
        disk_(std::move(disk)),
        space_(budgets.space),
        memory_(budgets.memory, session_memory_limit) {}

  asio::awaitable<void> run() {
    // A peer gets a slot only for as long as a handshake takes.
    stream_.set_deadline(
        clock::now() + opts_.connect_timeout,
        "handshake not finished within " +
            format_duration(std::chrono::duration<double>(opts_.connect_timeout).count()) +
            ", the receiver's --connect-timeout");
    auto first = co_await stream_.read_frame("handshake");
    const auto* h = std::get_if<hello>(&first);
    if (h == nullptr)
      protocol_error(std::string("handshake: expected hello, got ") + type_name(first));
    std::uint32_t granted = opts_.no_compress ? 0 : h->features & feature::compress;
    compress_granted_ = granted != 0;
    co_await choose_root(*h, granted);
    stream_.queue(welcome{granted, opts_.max_file_size, "ferry-recv/" FERRY_VERSION});
    co_await stream_.flush();
    stream_.clear_deadline();

    while (true) {
      auto msg = co_await stream_.read_frame("waiting for the sender");
      if (auto* m = std::get_if<offer>(&msg)) {
        co_await on_offer(*m);
      } else if (auto* d = std::get_if<data>(&msg)) {
        co_await on_data(*d);
      } else if (auto* z = std::get_if<zdata>(&msg)) {
        co_await on_zdata(*z);
      } else if (auto* dn = std::get_if<done>(&msg)) {
        co_await on_done(*dn);
      } else if (auto* a = std::get_if<abort_file>(&msg)) {
        co_await on_abort(*a);
      } else if (auto* r = std::get_if<restart>(&msg)) {
        on_restart(*r);
      } else if (std::holds_alternative<keepalive>(msg)) {
        // The sender is hashing; reading the frame was the point.
      } else if (std::holds_alternative<end>(msg)) {
        co_await on_end();
        co_return;
      } else if (auto* e = std::get_if<error_frame>(&msg)) {
        throw session_error(exit_code::protocol, "sender reported an error: " + e->message);
      } else {
        protocol_error(std::string("unexpected ") + type_name(msg) + " frame");
      }
    }
  }

  session_result& result() { return result_; }

  // Where this session's entries go: --dir, then the sender's dir= from
  // authorized_senders, then its --to, made if missing with the same rules
  // as an offer's path. A --to the receiver does not take refuses the
  // session before any entry (ERROR refused: the sender exits 1).
  asio::awaitable<void> choose_root(const hello& h, std::uint32_t& granted) {
    std::vector<std::string> comps;
    std::string why;
    if (!home_.empty() && fileio::split_safe_path(home_, comps))
      why = "the sender's dir= in authorized_senders is not a safe path";
    if (why.empty() && (h.features & feature::to) != 0) {
      std::vector<std::string> more;
      if (opts_.no_sender_subdir)
        why = "this receiver takes no --to (it runs with --no-sender-subdir)";
      else if (const auto ec = fileio::split_safe_path(h.to, more))
        why = "--to '" + h.to + "' refused: " + ec.message();
      comps.insert(comps.end(), more.begin(), more.end());
      granted |= feature::to;
    }
    if (why.empty() && (h.features & feature::to) != 0 && opts_.to_stdout)
      why = "this receiver writes its one file to its stdout (--stdout): --to has no place there";
    // Checked before anything is made: a refused --to leaves nothing behind.
    if (why.empty() && comps.size() > opts_.max_session_files)
      why = "--to is deeper than the receiver's --max-session-files";
    if (why.empty() && comps.size() >= max_depth)
      why = "--to is deeper than " + std::to_string(max_depth) + " directories";
    if (why.empty() && !comps.empty() && !opts_.to_stdout) {
      std::uint64_t may_create = opts_.max_session_files;
      const auto ec = root_->open_sub(comps, own_root_, &may_create);
      if (ec == fileio::errc::dir_budget)
        why = "--to is deeper than the receiver's --max-session-files";
      else if (ec)
        why = "cannot make the session's subdirectory: " + describe(ec);
      else
        root_ = &own_root_;
      offers_ = opts_.max_session_files - may_create;
      root_depth_ = comps.size();
      for (const auto& c : comps)
        shown_prefix_ += c + "/";
    }
    if (!why.empty()) {
      peer_told_ = true;
      stream_.queue(error_frame{error_code::refused, why});
      co_await stream_.flush();
      throw session_error(exit_code::partial, "session refused: " + why);
    }
    if (!shown_prefix_.empty()) log_.info(stream_.peer() + ": storing under " + own_root_.path());
  }

  /// The session broke off: leave the part files of unfinished files the
  /// sender can resume (offered with the resume flag) in place, unlocked,
  /// for next time; the rest are removed.
  void keep_partials() {
    // (Content of unknown length cannot be resumed: its part goes.)
    if (cur_ && cur_->f.o.resume && cur_->f.o.size_known && !cur_->failed && cur_->received > 0)
      cur_->part.keep();
    for (auto& [id, f] : accepted_)
      if (f.kept) f.kept->part.keep();
  }
  /// Whether the peer has been told why the session ends (or should not be).
  bool peer_told() const { return peer_told_; }

 private:
  // ---- offers -------------------------------------------------------------
  asio::awaitable<void> on_offer(const offer& o) {
    if (accepted_.contains(o.id) || (cur_ && cur_->f.o.id == o.id))
      protocol_error("duplicate offer id " + std::to_string(o.id));
    if (accepted_.size() >= max_pending_offers) protocol_error("too many offers in flight");
    answer a = co_await decide(o);
    if (a.kind == answer_kind::reject) {
      ++result_.files_rejected;
      result_.code = worse(result_.code, exit_code::partial);
    }
    if (a.kind == answer_kind::skip) ++result_.skipped;
    if (a.kind == answer_kind::reject || a.kind == answer_kind::skip) {
      log_refusal(o, 0, 0, a.kind == answer_kind::reject ? "rejected" : "skipped", a.reason);
    } else if (o.kind == entry_kind::directory) {
      ++result_.directories;
      log_file(o, 0, 0, 0, "stored", {});
    }
    stream_.queue(a);
    // Answers go out in small batches even while content keeps us busy:
    // the sender sends a file's content only once it has its answer.
    if (++unsent_answers_ >= answer_batch) {
      unsent_answers_ = 0;
      co_await stream_.flush();
    }
  }

  // The policy (receiver/policy.hpp) decides; this does the I/O around
  // it: budgets, parent directories, what exists, hashing an existing file.
  asio::awaitable<answer> decide(const offer& o) {
    answer a{o.id, answer_kind::accept, 0, {}};
    auto reject = [&](std::string why) {
      a.kind = answer_kind::reject;
      a.reason = std::move(why);
      return a;
    };
    std::vector<std::string> comps;
    const decision first = check_offer(o, opts_, {offers_++, committed_bytes_, root_depth_}, comps);
    if (first.what == choice::reject) co_return reject(first.reason);
    if (opts_.to_stdout) {
      // One file, to stdout: nothing here touches --dir.
      // The session's first entry decides: a directory is refused, and so
      // is everything after it (a tree's files must not reach stdout one by
      // one as if the tree were a file).
      const bool first_entry = !stdout_taken_;
      stdout_taken_ = true;
      if (o.kind != entry_kind::file)
        co_return reject("--stdout: the receiver takes a file, not a directory");
      if (!first_entry) co_return reject("--stdout: the receiver takes one file per session");
      accepted_.emplace(o.id, accepted_file{o, false, {}, space_reservation{}, 0});
      co_return a;
    }
    // Budgets before anything touches the disk: a refused file creates no
    // parent directories.
    space_reservation space;
    if (o.kind == entry_kind::file && o.size_known && o.size > 0) {
      if (auto why = space.extend(space_, o.size)) co_return reject(*why);
    }
    const std::uint64_t memory =
        o.path.size() + (o.kind == entry_kind::file ? offer_overhead : directory_overhead);
    if (!memory_.take(memory))
      co_return reject(
          memory_.used() + memory > session_memory_limit
              ? "too many entries waiting in this session (the receiver holds at most " +
                    format_bytes(session_memory_limit) +
                    " of paths per session for files in flight and directories "
                    "whose times are set at the end)"
              : "the receiver holds all it can for its senders now (" +
                    format_bytes(memory_pool_size) + " of paths); try again later");
    struct give_back {  // memory stays taken only by what is kept below
      memory_budget& budget;
      std::uint64_t n;
      ~give_back() { budget.give(n); }
    } unless_kept{memory_, memory};

    // Parent directories it has to create count as entries too.
    fileio::shared_dir parent;
    std::uint64_t may_create =
        opts_.max_session_files > offers_ ? opts_.max_session_files - offers_ : 0;
    const std::uint64_t could_create = may_create;
    const auto made = offer_dirs_.get(*root_, comps, parent, &may_create);
    offers_ += could_create - may_create;
    if (made == fileio::errc::dir_budget)
      co_return reject("session entry limit reached (" + std::to_string(opts_.max_session_files) +
                       ", the receiver's --max-session-files; parent directories count)");
    if (made) co_return reject("cannot create parent directory: " + describe(made));
    fileio::existing_entry have;
    if (auto ec = fileio::stat_at(parent->get(), comps.back(), have))
      co_return reject("cannot inspect destination: " + ec.message());
    const std::int64_t mtime = clamp_mtime(o.mtime_ns);
    decision d = against_existing(o, mtime, have, opts_.overwrite);
    if (d.what == choice::compare_content) {
      if (!take_hash_budget(o.size))
        co_return reject("the session's hashing budget is spent (" +
                         format_bytes(opts_.max_session_hash) +
                         ", the receiver's --max-session-hash)");
      const bool same = co_await same_content(parent->get(), comps.back(), o);
      d = against_existing(o, mtime, have, opts_.overwrite, same);
    }
    switch (d.what) {
      case choice::reject:
        co_return reject(d.reason);
      case choice::skip:
        a.kind = answer_kind::skip;
        a.reason = d.reason;
        co_return a;
      case choice::accept:
      case choice::replace:
      case choice::compare_content:
        break;
    }

    if (o.kind == entry_kind::directory) {
      if (auto ec = fileio::make_dir_at(parent->get(), comps.back()))
        co_return reject("cannot create directory: " + describe(ec));
      // Mode and mtime are set at END: on what we created, or may replace.
      if (have.kind == fileio::existing_entry::type::none || d.what == choice::replace) {
        dirs_.push_back({o.path, o.mode, mtime});
        unless_kept.n = 0;
      }
      co_return a;
    }
    if (o.size_known) committed_bytes_ = saturating_add(committed_bytes_, o.size);
    accepted_file f{o, d.what == choice::replace, {}, std::move(space), memory};
    f.o.mtime_ns = mtime;
    if (o.resume && o.size_known && !small_file(o)) co_await try_resume(parent, comps.back(), f, a);
    unless_kept.n = 0;
    accepted_.emplace(o.id, std::move(f));
    co_return a;
  }

  // Takes `bytes` of hashing (of files already here) from the session's
  // budget: an offer costs the peer a few bytes, the hash a read of the file.
  bool take_hash_budget(std::uint64_t bytes) {
    if (!fits_limit(hashed_bytes_, bytes, opts_.max_session_hash)) return false;
    hashed_bytes_ += bytes;
    return true;
  }

  // Whether the existing file `name` has exactly the offered content.
  asio::awaitable<bool> same_content(int parent, const std::string& name, const offer& o) {
    fileio::unique_fd fd(::openat(parent, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) co_return false;
    fileio::hasher h;
    const std::error_code ec = co_await hash_file(fd.get(), o.size, h);
    co_return !ec && h.digest() == o.hash;
  }

  // Hashes the first `length` bytes of `fd` on the disk pool: other
  // sessions on this thread go on meanwhile.
  asio::awaitable<std::error_code> hash_file(int fd, std::uint64_t length, fileio::hasher& h) {
    return session::hash_keeping_alive(stream_, disk_, fd, 0, length, h);
  }

  // An interrupted session left a part file for this name: offer to resume
  // from its end, with the hash of what it holds for the sender to check.
  asio::awaitable<void> try_resume(fileio::shared_dir& parent, const std::string& name,
                                   accepted_file& f, answer& a) {
    std::uint64_t kept = 0;
    fileio::part_file part;
    part_claim claim;
    if (co_await acquire_part(parent, name, claim, [&] {
          return fileio::part_file::adopt(parent, name, f.o.size, part, kept);
        }))
      co_return;                             // none, busy, or longer than the offer: send it whole
    if (!take_hash_budget(kept)) co_return;  // the session has hashed enough: send it whole
    fileio::hasher h;
    const std::error_code ec = co_await hash_file(part.fd(), kept, h);
    if (ec) co_return;  // unreadable: drop it
    a.kind = answer_kind::resume;
    a.offset = kept;
    a.prefix_hash = h.digest();
    stream_.expect_peer_hashing(kept);  // the sender checks its own first `kept` bytes
    f.kept.emplace(kept_prefix{std::move(part), kept, std::move(h), std::move(claim)});
    f.space.consume(kept);  // already on disk
  }

  // The sender's file does not start with our kept prefix: drop it, the
  // whole content follows.
  void on_restart(const restart& r) {
    const auto it = accepted_.find(r.id);
    if (it == accepted_.end() || !it->second.kept)
      protocol_error("restart for file " + std::to_string(r.id) +
                     " that is not waiting to be resumed");
    auto& f = it->second;
    const std::uint64_t kept = f.kept->length;
    f.kept.reset();  // removes the part file
    // Its bytes are free again, and the whole file is to come: reserve them
    // back (best effort: they were ours a moment ago).
    (void)f.space.extend(space_, kept);
  }

  // ---- content ------------------------------------------------------------
  // Makes `id` the file in progress, opening its part file. Returns false
  // when the file failed (a verdict has then been queued).
  asio::awaitable<void> begin_file(std::uint32_t id) {
    if (cur_) {
      if (cur_->f.o.id == id) co_return;
      protocol_error("content for file " + std::to_string(id) + " while file " +
                     std::to_string(cur_->f.o.id) + " is unfinished");
    }
    const auto it = accepted_.find(id);
    if (it == accepted_.end())
      protocol_error("content for file " + std::to_string(id) + " that was not accepted");
    cur_.emplace();
    cur_->f = std::move(it->second);
    accepted_.erase(it);
    memory_.give(std::exchange(cur_->f.memory, 0));
    if (auto& kept = cur_->f.kept) {  // resumed: carry on after the kept prefix
      cur_->claim = std::move(kept->claim);
      cur_->part = std::move(kept->part);
      cur_->hash = std::move(kept->hash);
      cur_->received = kept->length;  // (kept->length stays, for the log)
      co_return;
    }
    if (opts_.to_stdout) {
      if (auto ec = fileio::part_file::stream_to(STDOUT_FILENO, cur_->part))
        fail_current(verdict_kind::io_error, "cannot write to stdout: " + describe(ec));
      co_return;
    }
    fileio::shared_dir parent;
    std::vector<std::string> comps;  // (the path was checked at offer time)
    std::error_code ec = fileio::split_safe_path(cur_->f.o.path, comps);
    if (!ec) ec = content_dirs_.get(*root_, comps, parent);
    // Other files get a named part file, which a later session may resume
    // (or replace, when an earlier one kept it); so do replacing writes.
    const auto& o = cur_->f.o;
    if (!ec && small_file(o) && !cur_->f.replace) {
      ec = fileio::part_file::create_anonymous(parent, comps.back(), o.mode, cur_->part);
    } else if (!ec) {
      const auto& name = comps.back();
      ec = co_await acquire_part(parent, name, cur_->claim, [&] {
        return fileio::part_file::create(parent, name, o.mode, cur_->part);
      });
    }
    if (ec) {
      const std::string why = ec == std::errc::device_or_resource_busy
                                  ? "another session is receiving this file"
                                  : "cannot write it: " + write_cause(ec);
      fail_current(verdict_kind::io_error, why);
    }
  }

  asio::awaitable<void> on_data(const data& d) {
    co_await begin_file(d.id);
    std::uint32_t left = d.length;
    while (left > 0) {
      const auto chunk = co_await stream_.read_raw(left, "receiving file content");
      left -= static_cast<std::uint32_t>(chunk.size());
      co_await take_content(chunk);
    }
  }

  // A compressed segment (only when we granted feature::compress): read
  // whole (at most zdata_bound(1 MiB) bytes, the frame codec saw to that),
  // decoded as the next part of the session's zstd stream into a buffer
  // of exactly the announced length, and taken like raw content.
  asio::awaitable<void> on_zdata(const zdata& z) {
    if (!compress_granted_) protocol_error("compressed content (DATA_Z) without compress granted");
    co_await begin_file(z.id);
    zin_.clear();
    std::uint32_t left = z.zlength;
    while (left > 0) {
      const auto chunk = co_await stream_.read_raw(left, "receiving file content");
      left -= static_cast<std::uint32_t>(chunk.size());
      zin_.insert(zin_.end(), chunk.begin(), chunk.end());
    }
    // Decoded even for a file that failed: the stream's history is the
    // sender's, segment by segment, and the next segment builds on it.
    if (!unzip_) unzip_.emplace(max_zdata_segment);
    // What decodes for a file that failed is thrown away: a sender that
    // keeps it coming costs us CPU (zstd turns 49 bytes into 1 MiB) for
    // nothing. An honest one stops once it reads the verdict.
    if (cur_->failed) {
      discarded_z_ = saturating_add(discarded_z_, z.length);
      if (discarded_z_ > max_discarded_z)
        protocol_error("compressed content for files that already failed passed " +
                       format_bytes(max_discarded_z) + " in this session");
    }
    std::span<const std::uint8_t> out;
    const std::string why = unzip_->decompress(zin_, z.length, out);
    if (!why.empty())
      protocol_error("compressed content of " + cur_->f.o.path + " is broken: " + why);
    co_await take_content(out);
  }

  // Content of the current file, as it came or decompressed: checked
  // against the offer and the limits, hashed, written.
  asio::awaitable<void> take_content(std::span<const std::uint8_t> chunk) {
    if (cur_->failed) co_return;
    const auto& o = cur_->f.o;
    const std::uint64_t after = saturating_add(cur_->received, chunk.size());
    if (o.size_known && after > o.size) {
      fail_current(verdict_kind::size_mismatch,
                   "more content than the offered " + std::to_string(o.size) + " bytes");
      co_return;
    }
    if (opts_.max_file_size != 0 && after > opts_.max_file_size) {
      fail_current(verdict_kind::too_large,
                   "file exceeds the receiver's limit of " + format_bytes(opts_.max_file_size));
      co_return;
    }
    // A stream of unknown size counts as it arrives, and what arrived
    // stays counted whether the file is stored or not.
    if (!o.size_known && !fits_limit(committed_bytes_, chunk.size(), opts_.max_session_bytes)) {
      fail_current(verdict_kind::too_large, "session byte limit reached");
      co_return;
    }
    if (!o.size_known) {
      // No reservation to write into: each chunk is reserved before it
      // is written, against every other session's reservations.
      if (auto why = cur_->f.space.extend(space_, chunk.size())) {
        fail_current(verdict_kind::io_error, *why);
        co_return;
      }
    } else if (after / space_check_bytes != cur_->received / space_check_bytes) {
      if (auto why = space_.check()) {
        fail_current(verdict_kind::io_error, *why);
        co_return;
      }
    }
    cur_->hash.update(chunk);
    std::error_code ec;
    if (opts_.to_stdout)
      ec = co_await write_stdout(chunk);
    else
      ec = cur_->part.write(chunk);
    cur_->f.space.consume(chunk.size());
    if (ec) {
      fail_current(verdict_kind::io_error, "write failed: " + describe(ec));
      co_return;
    }
    cur_->received = after;
    if (!o.size_known) committed_bytes_ = saturating_add(committed_bytes_, chunk.size());
  }

  asio::awaitable<void> on_done(const done& d) {
    co_await begin_file(d.id);
    if (cur_->failed) {
      cur_.reset();
      co_return;
    }
    const auto& o = cur_->f.o;
    verdict v{d.id, verdict_kind::stored, {}};
    if ((o.size_known && cur_->received != o.size) || d.size != cur_->received) {
      v.kind = verdict_kind::size_mismatch;
      v.reason = "received " + std::to_string(cur_->received) + " bytes; the offer said " +
                 (o.size_known ? std::to_string(o.size) : std::string("(unknown)")) +
                 ", DONE says " + std::to_string(d.size);
    } else if (cur_->hash.digest() != d.hash) {
      v.kind = verdict_kind::hash_mismatch;
      v.reason = "XXH3-128 mismatch: got " + fileio::to_hex(cur_->hash.digest()) + ", sender has " +
                 fileio::to_hex(d.hash);
    } else if (auto ec = cur_->part.commit(o.mode, o.mtime_ns, opts_.fsync, cur_->f.replace)) {
      v.kind = verdict_kind::io_error;
      v.reason = ec == std::errc::file_exists ? "a file appeared at this path meanwhile"
                                              : "cannot store file: " + describe(ec);
    }
    if (v.kind == verdict_kind::stored) {
      const std::uint64_t kept = cur_->f.kept ? cur_->f.kept->length : 0;
      ++result_.files_stored;
      result_.bytes_stored += cur_->received;
      result_.resumed_bytes += kept;
      log_file(o, cur_->received, kept, seconds_since(cur_->start), "stored", {});
      stream_.queue(v);
      cur_.reset();
    } else {
      fail_current(v.kind, v.reason);
      cur_.reset();
    }
    co_return;
  }

  asio::awaitable<void> on_abort(const abort_file& a) {
    if (!cur_ || cur_->f.o.id != a.id) {
      const auto it = accepted_.find(a.id);
      if (it == accepted_.end())
        protocol_error("abort for file " + std::to_string(a.id) + " that was not accepted");
      log_refusal(it->second.o, 0, 0, "aborted", a.reason);
      note_aborted();
      stream_.queue(verdict{a.id, verdict_kind::aborted, "aborted by sender: " + a.reason});
      memory_.give(it->second.memory);
      accepted_.erase(it);
      co_return;
    }
    if (!cur_->failed) {
      log_refusal(cur_->f.o, cur_->received, seconds_since(cur_->start), "aborted", a.reason);
      note_aborted();
      stream_.queue(verdict{a.id, verdict_kind::aborted, "aborted by sender: " + a.reason});
    }
    cur_.reset();  // removes the part file
  }

  asio::awaitable<void> on_end() {
    if (cur_) protocol_error("end of session while a file is unfinished");
    // Every accepted file gets a verdict: one neither sent nor aborted
    // would end a session that looks complete without it.
    if (!accepted_.empty())
      protocol_error("end of session with " + std::to_string(accepted_.size()) +
                     " accepted files neither sent nor aborted (" +
                     accepted_.begin()->second.o.path + (accepted_.size() > 1 ? ", ..." : "") +
                     ")");
    // Directory times last, deepest first, so writing their files does not
    // disturb them.
    auto depth = [](const pending_directory& d) { return std::ranges::count(d.path, '/'); };
    std::sort(dirs_.begin(), dirs_.end(),
              [&](const auto& a, const auto& b) { return depth(a) > depth(b); });
    std::vector<std::string> comps;
    for (const auto& d : dirs_) {
      std::error_code ec = fileio::split_safe_path(d.path, comps);  // (checked at offer)
      if (!ec) ec = root_->set_dir_attrs(comps, d.mode, d.mtime_ns);
      if (ec)
        log_.warn(stream_.peer() + " " + d.path +
                  ": cannot set directory mode/mtime: " + ec.message());
    }
    stream_.queue(bye{result_.files_stored, result_.bytes_stored});
    co_await stream_.flush();
  }

  // ---- helpers ------------------------------------------------------------
  // A file the sender gave up on was not stored: the session cannot end 0.
  void note_aborted() {
    ++result_.files_failed;
    result_.code = worse(result_.code, exit_code::partial);
  }

  // Runs `open` (which takes the named part file for `name`) and claims
  // the part for this session. When another session holds it, waits (at
  // most takeover_silence) for it to let go; a holder whose peer has been
  // silent that long is closed, and the part taken over.
  template <class Open>
  asio::awaitable<std::error_code> acquire_part(const fileio::shared_dir& parent,
                                                const std::string& name, part_claim& claim,
                                                Open open) {
    std::error_code ec = open();
    struct stat dir {};
    if (ec && ec != std::errc::device_or_resource_busy) co_return ec;
    if (::fstat(parent->get(), &dir) != 0) co_return ec;  // (cannot name it: no claim, no wait)
    const auto key = key_for(dir, name);
    asio::steady_timer pause(stream_.executor());
    const auto give_up = clock::now() + takeover_silence + std::chrono::seconds(2);
    bool closed = false;
    while (ec == std::errc::device_or_resource_busy && clock::now() < give_up) {
      auto holder = budgets_.parts.holder(key);
      if (holder == self_) break;  // this session offered the name twice
      if (holder) {
        const bool close_now = !closed && holder->silent_for() >= takeover_silence;
        if (close_now) {
          log_.warn(stream_.peer() + " " + name + ": taking the part file over from " +
                    holder->peer() + ", silent for " +
                    format_duration(std::chrono::duration<double>(holder->silent_for()).count()));
          closed = true;
        }
        // The holder's stream is closed (if it is to be) and let go on its
        // own thread: our reference may be the last one.
        const auto where = holder->executor();
        asio::post(where, [h = std::move(holder), close_now]() {
          if (close_now) h->close();
        });
      }
      pause.expires_after(std::chrono::milliseconds(100));
      co_await pause.async_wait(asio::use_awaitable);
      stream_.touch();  // waiting on our side, not on our peer
      ec = open();
    }
    if (!ec) claim = part_claim(budgets_.parts, key, self_);
    co_return ec;
  }

  static part_holders::key key_for(const struct stat& dir, const std::string& name) {
    return {static_cast<std::uint64_t>(dir.st_dev), static_cast<std::uint64_t>(dir.st_ino), name};
  }

  void fail_current(verdict_kind kind, const std::string& why) {
    cur_->failed = true;
    cur_->part.discard();
    ++result_.files_failed;
    // --stdout: what went out cannot be taken back, so a failure after the
    // first byte means stdout holds no verified file (6), whatever the cause.
    const bool integrity = kind == verdict_kind::hash_mismatch ||
                           kind == verdict_kind::size_mismatch ||
                           (opts_.to_stdout && cur_->received > 0);
    result_.code = worse(result_.code, integrity                        ? exit_code::integrity
                                       : kind == verdict_kind::io_error ? exit_code::local_io
                                                                        : exit_code::partial);
    log_refusal(cur_->f.o, cur_->received, seconds_since(cur_->start), "failed", why);
    // Sent at once so the sender can stop streaming a file we cannot keep.
    stream_.queue(verdict{cur_->f.o.id, kind, why});
  }

  // Queues an error frame for the peer (run_session flushes it) and ends
  // the session.
  [[noreturn]] void protocol_error(const std::string& why) {
    stream_.queue(error_frame{error_code::protocol, why});
    peer_told_ = true;
    throw session_error(exit_code::protocol, why);
  }

  // --stdout: all of `bytes` to the (non-blocking, when a pipe) stdout. A
  // full pipe is waited on with a timer, so this thread's other work, the
  // watchdog and the signals go on; a reader that takes nothing for
  // --timeout ends the session.
  asio::awaitable<std::error_code> write_stdout(std::span<const std::uint8_t> bytes) {
    auto stalled_since = clock::now();
    while (!bytes.empty()) {
      const ssize_t n = ::write(cur_->part.fd(), bytes.data(), bytes.size());
      if (n > 0) {
        bytes = bytes.subspan(static_cast<std::size_t>(n));
        stalled_since = clock::now();
        stream_.touch();
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno != EAGAIN) co_return std::error_code(errno, std::system_category());
      if (!stream_.carrier().is_open()) co_return make_error_code(std::errc::operation_canceled);
      if (clock::now() - stalled_since > opts_.timeout)
        co_return make_error_code(std::errc::timed_out);
      stream_.touch();  // our reader is slow, not the peer
      asio::steady_timer wait(stream_.executor());
      wait.expires_after(std::chrono::milliseconds(10));
      co_await wait.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
    }
    co_return std::error_code{};
  }

  // Why a file could not be written, in the user's terms (not "part file").
  static std::string write_cause(const std::error_code& ec) {
    if (ec == std::errc::read_only_file_system) return "the receive directory is read-only";
    if (ec == std::errc::permission_denied || ec == std::errc::operation_not_permitted)
      return "permission denied in its directory";
    if (ec == std::errc::no_space_on_device) return "no space left on the receiver's disk";
    if (ec == std::errc::is_a_directory || ec == std::errc::file_exists)
      return "something is in the way of its temporary name (.ferry-part-*)";
    return describe(ec);
  }

  static std::string describe(const std::error_code& ec) {
    if (ec == std::errc::too_many_symbolic_link_levels) return "symlink in the destination path";
    if (ec == std::errc::not_a_directory) return "a file is in the way of the directory path";
    return ec.message();
  }

  static double seconds_since(clock::time_point t) {
    return std::chrono::duration<double>(clock::now() - t).count();
  }

  // An entry not stored (rejected, skipped, failed, aborted): logged one by
  // one for the first logged_refusals of a session, then only counted, so
  // a peer cannot turn cheap offers into an endless log.
  void log_refusal(const offer& o, std::uint64_t bytes, double secs, const char* status,
                   const std::string& reason) {
    if (++refusals_ <= logged_refusals)
      log_file(o, bytes, 0, secs, status, reason);
    else
      ++result_.refusals_unlogged;
  }

  // `bytes` is the file's size as stored, `kept` the part of it a resume
  // found here: the rate is over what came now.
  void log_file(const offer& o, std::uint64_t bytes, std::uint64_t kept, double secs,
                const char* status, const std::string& reason) {
    const bool stored = std::string_view(status) == "stored";
    // Per file, so nothing is formatted that nobody will read. Directories
    // are events only: a tree's lines are its files.
    if (!log_.quiet() && o.kind == entry_kind::file) {
      std::string line = stream_.peer() + " " + shown_prefix_ + o.path + ": " + status;
      if (bytes > 0 || stored) {
        const std::uint64_t now = bytes - std::min(kept, bytes);
        line += ", " + format_bytes(bytes);
        if (kept > 0)
          line += " (" + format_bytes(kept) + " kept, " + format_bytes(now) + " received)";
        line += " in " + format_duration(secs) + " (" +
                format_rate(secs > 0 ? static_cast<double>(now) / secs : 0) + ")";
      }
      if (!reason.empty()) line += " (" + reason + ")";
      log_.info(line);
    }
    log_.event([&] {
      return json_line("file_done")
          .str("peer", stream_.peer())
          .str("path", shown_prefix_ + o.path)
          .str("kind", o.kind == entry_kind::file ? "file" : "directory")
          .str("status", status)
          .num("bytes", bytes)
          .num("resumed_bytes", kept)
          .real("seconds", secs)
          .str("reason", reason);
    });
  }

  std::shared_ptr<net::frame_stream> self_;
  net::frame_stream& stream_;
  shared_budgets& budgets_;
  const options& opts_;
  const fileio::dest_root* root_;  // --dir, or own_root_ below it
  std::string home_;               // the sender's dir= (authorized_senders)
  fileio::dest_root own_root_;     // the session's dir= and --to, when given
  std::string shown_prefix_;       // own_root_ relative to --dir, for the log ("a/b/")
  std::size_t root_depth_ = 0;     // own_root_'s components
  logger& log_;
  asio::any_io_executor disk_;  // where files are hashed, off the session's thread
  session_result result_;
  std::unordered_map<std::uint32_t, accepted_file> accepted_;
  std::optional<current_file> cur_;
  bool stdout_taken_ = false;  // --stdout: the session's one file is accepted
  std::vector<pending_directory> dirs_;
  std::uint64_t committed_bytes_ = 0;  // accepted known sizes, and streams' bytes as they came
  std::uint64_t offers_ = 0;           // entries offered so far
  std::uint64_t refusals_ = 0;         // entries rejected, skipped, failed or aborted so far
  std::size_t unsent_answers_ = 0;     // answers queued since on_offer last flushed
  // Offers run up to 256 files ahead of content, so each keeps its own
  // open directory.
  fileio::parent_cache offer_dirs_;
  fileio::parent_cache content_dirs_;
  space_ledger& space_;             // the receiver's free space, shared by all sessions
  memory_budget memory_;            // paths held for offers in flight and pending directories
  std::uint64_t hashed_bytes_ = 0;  // of files already here, for the hash budget
  bool peer_told_ = false;
  bool compress_granted_ = false;               // WELCOME said compress: DATA_Z may come
  std::vector<std::uint8_t> zin_;               // one DATA_Z's zstd frame, read whole
  std::optional<session::decompressor> unzip_;  // made at the first DATA_Z
  std::uint64_t discarded_z_ = 0;               // decoded for files that had failed
};

}  // namespace

asio::awaitable<session_result> run_session(std::shared_ptr<net::frame_stream> stream_ptr,
                                            const options& opts, const fileio::dest_root& root,
                                            std::string home, logger& log,
                                            asio::any_io_executor disk, shared_budgets& budgets) {
  net::frame_stream& stream = *stream_ptr;
  receiver_session s(std::move(stream_ptr), opts, root, std::move(home), log, std::move(disk),
                     budgets);
  bool failed = false;
  try {
    co_await s.run();
    co_await stream.finish();  // UDP mode: until the sender has our BYE
  } catch (const session_error& e) {
    s.result().code = worse(s.result().code, e.code());
    s.result().message = e.message();
    failed = true;
  } catch (const failure& e) {
    s.result().code = worse(s.result().code, link::classify(e));
    s.result().message = e.message();
    failed = true;
  } catch (const std::system_error& e) {
    s.result().code = worse(s.result().code, exit_code::protocol);
    s.result().message = e.what();
    failed = true;
  }
  if (failed) s.keep_partials();
  if (failed && !stream.timed_out()) {
    // Best effort: tell the peer why (a framing error found by the stream
    // has no error frame queued yet), then close.
    if (!s.peer_told() && s.result().code == exit_code::protocol)
      stream.queue(framing::error_frame{framing::error_code::protocol, s.result().message});
    try {
      co_await stream.flush();
    } catch (const failure&) {
    }
  }
  co_return s.result();
}

}  // namespace ferry::recv
