// One run of ferry-recv: open the receive directory, serve on a pool of
// io_contexts (one thread each) until a signal or --once ends it.
#pragma once

#include "receiver/options.hpp"

namespace ferry::recv {

/// The process exit code.
int run(const options& opts);

}  // namespace ferry::recv
