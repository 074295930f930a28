// core/warnings.cpp: the warning sink and the convergence tally (nl/core/warnings.hpp).
#include "nl/core/warnings.hpp"

#include <fmt/format.h>

#include <cstring>
#include <utility>

#include "nl/core/mpi.hpp"

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
// Every rank's counts summed (solvers in name order); the detail and hint of the first
// failure come from the lowest rank that had one. Collective.
template <class Count>
void merge_ranks(std::map<std::string, Count>& counts) {
  std::vector<std::string> parts(static_cast<std::size_t>(mpi::size()));
  std::string& mine = parts[static_cast<std::size_t>(mpi::rank())];
  auto put = [&](const std::string& s) {
    const std::uint64_t len = s.size();
    mine.append(reinterpret_cast<const char*>(&len), sizeof len);
    mine += s;
  };
  for (const auto& [solver, c] : counts) {
    put(solver);
    put(std::to_string(c.fits));
    put(std::to_string(c.failed));
    put(c.detail);
    put(c.hint);
  }
  mpi::share_units(parts.size(), parts);
  std::map<std::string, Count> all;
  for (const std::string& part : parts) {
    std::size_t at = 0;
    auto get = [&] {
      std::uint64_t len = 0;
      std::memcpy(&len, part.data() + at, sizeof len);
      at += sizeof len;
      std::string s = part.substr(at, static_cast<std::size_t>(len));
      at += static_cast<std::size_t>(len);
      return s;
    };
    while (at < part.size()) {
      const std::string solver = get();
      const long long fits = std::stoll(get()), failed = std::stoll(get());
      std::string detail = get(), hint = get();
      Count& c = all[solver];
      c.fits += fits;
      if (failed > 0 && c.failed == 0) {
        c.detail = std::move(detail);
        c.hint = std::move(hint);
      }
      c.failed += failed;
    }
  }
  counts.swap(all);
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
  if (spans_ranks_ && mpi::size() > 1) merge_ranks(counts);
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
