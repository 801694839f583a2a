// One receiving session: the receiver's side of the protocol over a
// connected stream. Decides each offer, writes content to part files, checks
// hashes, and renames verified files into place.
#pragma once

#include <asio.hpp>
#include <cstdint>
#include <string>

#include "fileio/dest.hpp"
#include "net/frame_stream.hpp"
#include "receiver/budget.hpp"
#include "receiver/options.hpp"
#include "util/exit_codes.hpp"
#include "util/log.hpp"

namespace ferry::recv {

/// What one session may hold in memory for its peer (paths of offers
/// waiting for content and of directories waiting for their times), and
/// all sessions together: see shared_budgets::memory.
inline constexpr std::uint64_t session_memory_limit = 8 << 20;
inline constexpr std::uint64_t memory_pool_size = 32 << 20;
/// What the reorder rings of all UDP sessions may grow to together, past
/// their first 64 KiB each; a packet that would need more is dropped (and
/// sent again by its sender).
inline constexpr std::size_t udp_reorder_pool = 64 << 20;

/// Content a session may have us decode (--compress) for files that had
/// already failed, whose bytes are thrown away; past it the session ends.
/// An honest sender stops at the verdict, with what is in flight then.
inline constexpr std::uint64_t max_discarded_z = 256ull << 20;

struct session_result {
  exit_code code = exit_code::ok;
  std::string message;              // why the session failed, empty on success
  std::uint64_t files_stored = 0;   // regular files
  std::uint64_t directories = 0;    // directories made or already there
  std::uint64_t bytes_stored = 0;   // the stored files' sizes
  std::uint64_t resumed_bytes = 0;  // of which a resume had kept
  std::uint64_t skipped = 0;
  std::uint64_t files_rejected = 0;
  std::uint64_t files_failed = 0;
  std::uint64_t refusals_unlogged = 0;  // not stored, past the per-session log cap
};

/// Rejected and skipped entries logged one by one per session (line and
/// event); the rest are only counted, so that a peer offering a million
/// refused entries cannot make the receiver write a million log lines.
inline constexpr std::uint64_t logged_refusals = 1000;

/// Runs one session over `stream` to its end. Never throws for peer or
/// file-system trouble: failures are reported to the peer, logged, and
/// returned. Part files of files that failed are removed; those of files
/// cut off with the session (and offered resumable) are kept for a resume.
/// Files are hashed (resume, --skip-identical) on `disk`, not on the
/// session's thread. Free space and memory are drawn from `budgets`, which
/// every session of the receiver shares. `home` is where the sender is
/// confined under `root` (its authorized_senders dir=; "" for none); a
/// --to in its HELLO goes below that.
asio::awaitable<session_result> run_session(std::shared_ptr<net::frame_stream> stream,
                                            const options& opts, const fileio::dest_root& root,
                                            std::string home, logger& log,
                                            asio::any_io_executor disk, shared_budgets& budgets);

}  // namespace ferry::recv
