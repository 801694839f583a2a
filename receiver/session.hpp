// One receiving session: the receiver's side of the protocol over a
// connected stream. Decides each offer, writes content to part files, checks
// hashes, and renames verified files into place.
#pragma once

#include <asio.hpp>
#include <cstdint>
#include <string>

#include "fileio/dest.hpp"
#include "net/frame_stream.hpp"
#include "receiver/options.hpp"
#include "util/exit_codes.hpp"
#include "util/log.hpp"

namespace ferry::recv {

struct session_result {
  exit_code code = exit_code::ok;
  std::string message;  // why the session failed, empty on success
  std::uint64_t files_stored = 0;
  std::uint64_t bytes_stored = 0;
  std::uint64_t files_rejected = 0;
  std::uint64_t files_failed = 0;
};

/// Runs one session over `stream` to its end. Never throws for peer or
/// file-system trouble: failures are reported to the peer, logged, and
/// returned. Part files of files that failed are removed; those of files
/// cut off with the session (and offered resumable) are kept for a resume.
/// Files are hashed (resume, --skip-identical) on `disk`, not on the
/// session's thread.
asio::awaitable<session_result> run_session(net::frame_stream& stream, const options& opts,
                                            const fileio::dest_root& root, logger& log,
                                            asio::any_io_executor disk);

}  // namespace ferry::recv
