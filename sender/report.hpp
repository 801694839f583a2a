// The run report: what a person reads at the end (summary lines on
// stderr) and what a script reads (the error and summary events), from a
// send_result and how the run ended.
#pragma once

#include <string>

#include "sender/session.hpp"
#include "util/exit_codes.hpp"
#include "util/log.hpp"

namespace ferry::send {

/// `error` is empty when the run ended without a failure of its own
/// (entries may still have failed: see result).
void report_run(logger& log, const send_result& result, exit_code code, const std::string& error,
                double seconds);

}  // namespace ferry::send
