// The sender's side of protocol v1: connect, handshake, then offers kept in
// flight by a writer while a reader collects answers and verdicts.
#pragma once

#include <asio.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fileio/tree.hpp"
#include "net/frame_stream.hpp"
#include "net/transport.hpp"
#include "secure/handshake.hpp"
#include "sender/options.hpp"
#include "sender/progress.hpp"
#include "util/exit_codes.hpp"
#include "util/log.hpp"

namespace ferry::send {

struct send_result {
  exit_code code = exit_code::ok;
  std::uint64_t files = 0;        // regular files (and streams) stored
  std::uint64_t directories = 0;  // directories created or already there
  std::uint64_t skipped = 0;
  std::uint64_t rejected = 0;
  std::uint64_t failed = 0;
  std::uint64_t bytes = 0;                   // content bytes put on the wire
  std::uint64_t wire_bytes = 0;              // what they took there (less with --compress)
  bool compressed = false;                   // the receiver granted --compress
  std::uint64_t resumed = 0;                 // files continued after a verified kept prefix
  std::uint64_t resumed_bytes = 0;           // bytes those prefixes held (not sent again)
  std::uint64_t restarted = 0;               // files whose kept prefix differed: sent whole
  std::optional<net::transport_stats> link;  // the transport's figures (UDP mode keeps them)
  std::string transport;                     // "tcp" or "udp": what the session ran over; empty
                                             // when it never connected
};

/// Offers at most this many entries ahead of the one whose content is being
/// sent; answers for them flow back while content streams.
inline constexpr std::size_t offer_window = 256;

/// Regular files up to this size are read whole and queued with their
/// frames (many per write); larger ones stream from a mapping.
inline constexpr std::uint64_t inline_max = 256 * 1024;

/// The queue of frames (and small files) is written once it holds this much.
inline constexpr std::size_t flush_bytes = 1 << 20;

/// Sends `entries` to opts.dest. Throws session_error for failures that end
/// the session (connect, protocol, timeout); per-file outcomes are logged,
/// emitted as events and summarised in `result`, which holds what was done
/// also when it throws (its `failed` is added to, not replaced).
/// The session runs inside the secure channel: `id` is our identity, `plan`
/// how we check the receiver and prove ourselves.
asio::awaitable<void> run_send(const options& opts,
                               const std::vector<fileio::source_entry>& entries, logger& log,
                               progress_meter& progress, send_result& result,
                               const secure::identity& id, const secure::client_plan& plan);

/// Queues the session's first frames (HELLO) on the stream, for a
/// handshake that can send them before it hears back (secure::connect).
using early_frames = std::function<void(net::frame_stream&)>;
/// What runs on the stream before the session (run_send: the secure
/// channel's handshake and authorisation), given the session's early frames.
using before_session = std::function<asio::awaitable<void>(net::frame_stream&, early_frames)>;

/// The session over a connected transport (what run_send does once it has
/// dialed): the tests run it over a memory transport. `hashes` holds
/// --skip-identical's (or nothing); the --connect-timeout runs from
/// `started`. `before` runs first on the stream. Taken by value: a
/// coroutine keeps its parameters, and a reference to a temporary would
/// dangle.
asio::awaitable<void> run_session(std::unique_ptr<net::transport> carrier, const options& opts,
                                  const std::vector<fileio::source_entry>& entries,
                                  std::vector<std::optional<hash128>> hashes, logger& log,
                                  progress_meter& progress, send_result& result,
                                  std::chrono::steady_clock::time_point started,
                                  before_session before = {});

}  // namespace ferry::send
