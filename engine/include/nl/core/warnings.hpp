// nl/core/warnings.hpp: one-line warnings from the engine, such as an iterative solver
// that stopped at its iteration limit.
//
// The engine never prints: warn() hands the line to the sink the host set (the Lua
// bindings print it on standard error as "warning: ..." and keep it for
// nl.warnings()). Without a sink, warnings are dropped.
//
// A computation that fits many models (a nested CV fits thousands of SVCs) would bury the
// user under identical lines. Inside a ConvergenceTally, solver_outcome() only counts,
// and finish() sends one line per solver that failed somewhere:
//   "7 of 225 SVC fits in the nested CV did not converge (max_iter 1000); raise max_iter
//    or scale the features"
// The tally covers the thread that made it and the tasks of the parallel_for calls it
// starts (core.cpp hands it to the workers).
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>

namespace nl {

using WarningSink = std::function<void(const std::string& message)>;

// Replaces the sink (thread-safe; empty: drop warnings).
void set_warning_sink(WarningSink sink);
// Sends one line (no "warning: " prefix, no newline) to the sink. Thread-safe; the sink
// is called with a lock held, so warnings from several threads never interleave.
void warn(const std::string& message);

// Reports one fit of an iterative solver (`solver` names it for the user: "SVC",
// "ROBPCA", "MCD", "LMM"). Outside a tally a failed fit warns at once with
// "<solver> did not converge <detail>; <hint>"; inside one it is counted.
void solver_outcome(const char* solver, bool converged, const std::string& detail, const std::string& hint);

class ConvergenceTally {
 public:
  // `what` names the computation in the summary ("the nested CV").
  explicit ConvergenceTally(std::string what);
  ~ConvergenceTally();
  ConvergenceTally(const ConvergenceTally&) = delete;
  ConvergenceTally& operator=(const ConvergenceTally&) = delete;

  // Sends the summary lines (once); call when the computation has succeeded. A tally
  // destroyed by an exception sends nothing: the error says what happened.
  void finish();

  void add(const char* solver, bool converged, const std::string& detail, const std::string& hint);

  // Called by mpi::distributed_for: the fits are spread over ranks, so finish() (then
  // collective) sums every rank's counts before it reports.
  void span_ranks() noexcept { spans_ranks_ = true; }

 private:
  struct Count {
    long long fits = 0, failed = 0;
    std::string detail, hint;  // of the first failure
  };
  std::string what_;
  std::mutex mu_;
  std::map<std::string, Count> counts_;
  ConvergenceTally* previous_;
  bool finished_ = false;
  bool spans_ranks_ = false;
};

namespace detail {
// The calling thread's innermost tally (nullptr: none); parallel_for copies it into its
// workers.
ConvergenceTally* current_tally() noexcept;
void set_current_tally(ConvergenceTally* t) noexcept;
}  // namespace detail

}  // namespace nl
