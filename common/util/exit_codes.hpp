// Process exit codes shared by ferry-send and ferry-recv. They are part of
// the scripting contract: documented in README.md and --help, never reused.
#pragma once

namespace ferry {

enum class exit_code : int {
  ok = 0,             // everything offered was stored (or already there)
  partial = 1,        // some files were rejected or skipped by policy
  usage = 2,          // bad command line
  connect = 3,        // could not reach the peer / bind the listen address
  proxy = 4,          // SOCKS5 proxy failure
  protocol = 5,       // peer broke the protocol or speaks another version
  integrity = 6,      // a file failed its hash (or size) check
  local_io = 7,       // a local file could not be read or written
  timeout = 8,        // a peer was silent longer than --timeout
  remote_io = 9,      // the receiver could not store a file (disk full, ...)
  auth = 10,          // authentication failed: pin, known key, sender, code or token
  interrupted = 128,  // plus the signal number: 130 SIGINT, 143 SIGTERM
};

inline constexpr int to_int(exit_code c) {
  return static_cast<int>(c);
}

/// Help text block listing every code, used by both programs' --help.
inline constexpr const char* exit_code_help =
    "Exit codes:\n"
    "  0    success: every entry stored, or already there and identical\n"
    "  1    partial: the receiver's policy refused some entries (a different file\n"
    "       exists, something in the way, a size limit, an unsafe path), or the\n"
    "       session's --to\n"
    "  2    usage error\n"
    "  3    cannot connect or listen, receiver busy, or connection lost\n"
    "  4    proxy failure\n"
    "  5    protocol error or version mismatch\n"
    "  6    integrity failure (hash or size mismatch)\n"
    "  7    local I/O error\n"
    "  8    timeout\n"
    "  9    the receiver accepted a file but could not store it (disk full,\n"
    "       permission, read-only)\n"
    "  10   authentication failed: receiver key not the --pin or changed, sender not\n"
    "       authorised, wrong or burned code, wrong token\n"
    "  130  interrupted by SIGINT, 143 by SIGTERM (128 + signal)\n";

/// When several things went wrong, the most severe code wins.
inline int severity(exit_code c) {
  switch (c) {
    case exit_code::ok:
      return 0;
    case exit_code::partial:
      return 1;
    case exit_code::remote_io:
      return 2;
    case exit_code::local_io:
      return 3;
    case exit_code::integrity:
      return 4;
    default:
      return 5;
  }
}

inline exit_code worse(exit_code a, exit_code b) {
  return severity(b) > severity(a) ? b : a;
}

}  // namespace ferry
