// nl/core/progress.hpp: what a long computation tells its caller while it runs and when
// it is stopped: progress callbacks, and an interruption that says what had finished.
//
// Interruption (nl/core/core.hpp) in long runs: check_interrupt() leaves the request set,
// so every worker of a parallel_for, and every loop around the one that noticed it,
// stops at its next poll (a request cleared by the first poll left the other workers
// running their task to the end: 37-97 s in a nested CV with the wrapper). The host
// clears it with clear_interrupt() when the interrupted computation has ended (the REPL
// and the batch runner do so around each chunk they run).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>

#include "nl/core/core.hpp"

namespace nl {

// How a long computation reports progress: called with the units done so far and the
// total (the unit is the computation's: a permutation, a model fit, a run). It may be
// called from the worker threads of a parallel_for, concurrently and with `done` out of
// order, so it must be thread-safe and cheap; it must not throw. Empty: no report.
using Progress = std::function<void(std::int64_t done, std::int64_t total)>;

// An Interrupted whose message says what had finished ("interrupted after 412 of 1000
// permutations; ..."). Caught as Interrupted.
class InterruptedAfter : public Interrupted {
 public:
  explicit InterruptedAfter(std::string message) : message_(std::move(message)) {}
  const char* what() const noexcept override { return message_.c_str(); }

 private:
  std::string message_;
};

}  // namespace nl
