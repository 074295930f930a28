// core/warnings.cpp: the warning sink and the convergence tally (nl/core/warnings.hpp).
#include "nl/core/warnings.hpp"

#include <fmt/format.h>

#include <utility>

namespace nl {

namespace {
std::mutex g_sink_mu;
WarningSink g_sink;
thread_local ConvergenceTally* t_tally = nullptr;

std::string failure_line(const std::string& head, const std::string& detail, const std::string& hint) {
  std::string s = head;
  if (!detail.empty()) s += " " + detail;
  if (!hint.empty()) s += "; " + hint;
  return s;
}
}  // namespace

void set_warning_sink(WarningSink sink) {
  std::lock_guard<std::mutex> lock(g_sink_mu);
  g_sink = std::move(sink);
}

void warn(const std::string& message) {
  std::lock_guard<std::mutex> lock(g_sink_mu);
  if (g_sink) g_sink(message);
}

void solver_outcome(const char* solver, bool converged, const std::string& detail, const std::string& hint) {
  if (ConvergenceTally* t = t_tally) {
    t->add(solver, converged, detail, hint);
    return;
  }
  if (!converged) warn(failure_line(fmt::format("{} did not converge", solver), detail, hint));
}

// ---------------------------------------------------------------- tally

ConvergenceTally::ConvergenceTally(std::string what) : what_(std::move(what)), previous_(t_tally) { t_tally = this; }

ConvergenceTally::~ConvergenceTally() { t_tally = previous_; }

void ConvergenceTally::add(const char* solver, bool converged, const std::string& detail, const std::string& hint) {
  std::lock_guard<std::mutex> lock(mu_);
  Count& c = counts_[solver];
  ++c.fits;
  if (!converged && c.failed++ == 0) {
    c.detail = detail;
    c.hint = hint;
  }
}

void ConvergenceTally::finish() {
  std::map<std::string, Count> counts;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (finished_) return;
    finished_ = true;
    counts.swap(counts_);
  }
  for (const auto& [solver, c] : counts) {
    if (c.failed == 0) continue;
    const std::string head = fmt::format("{} of {} {} fits in {} did not converge", c.failed, c.fits, solver, what_);
    warn(failure_line(head, c.detail, c.hint));
  }
}

namespace detail {
ConvergenceTally* current_tally() noexcept { return t_tally; }
void set_current_tally(ConvergenceTally* t) noexcept { t_tally = t; }
}  // namespace detail

}  // namespace nl
