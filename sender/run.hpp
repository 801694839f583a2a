// One run of ferry-send: gather the entries, run the session on an
// io_context that also watches SIGINT/SIGTERM, report, and turn how it
// ended into the exit code (link::classify() for the layers' failures).
#pragma once

#include "sender/options.hpp"

namespace ferry::send {

/// The process exit code.
int run(const options& opts);

}  // namespace ferry::send
