// stats/roc.cpp: ROC curve, DeLong CI and Youden cut-off with pROC semantics.
#include "nl/stats/roc.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "nl/core/core.hpp"
#include "nl/core/mpi.hpp"
#include "nl/stats/classical.hpp"
#include "nl/stats/distributions.hpp"

namespace nl::stats {

namespace {

using Index = Eigen::Index;
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// pROC's roc.utils.thresholds: midpoints of the sorted distinct scores between -inf and
// +inf; a midpoint that rounds onto one of its neighbours is moved onto the one that
// keeps that neighbour on the positive side.
std::vector<double> thresholds(std::vector<double> u, RocDirection dir) {
  std::sort(u.begin(), u.end());
  u.erase(std::unique(u.begin(), u.end()), u.end());
  std::vector<double> t(u.size() + 1);
  t.front() = -kInf;
  t.back() = kInf;
  for (std::size_t i = 1; i < u.size(); ++i) {
    const double lo = u[i - 1], hi = u[i];
    double mid = (lo + hi) / 2;
    if (std::fabs(mid) > 1e100) mid = lo / 2 + hi / 2;
    if (mid == lo && dir == RocDirection::Less) mid = hi;
    if (mid == hi && dir == RocDirection::Greater) mid = lo;
    t[i] = mid;
  }
  return t;
}

}  // namespace

Roc roc(const Vector& scores, const Vector& labels, RocDirection direction, double level) {
  if (scores.size() != labels.size())
    throw ValueError(fmt::format("{} scores but {} labels", scores.size(), labels.size()));
  if (!(level > 0 && level < 1)) throw ValueError("confidence level must be in (0, 1)");
  std::vector<double> cases, controls;
  for (Index i = 0; i < scores.size(); ++i) {
    if (!std::isfinite(scores(i))) throw ValueError(fmt::format("scores: entry {} is not finite", i + 1));
    if (labels(i) == 1) cases.push_back(scores(i));
    else if (labels(i) == -1) controls.push_back(scores(i));
    else throw ValueError(fmt::format("labels: entry {} is {}, expected +1 or -1", i + 1, labels(i)));
  }
  if (cases.empty() || controls.empty())
    throw ValueError(fmt::format("ROC needs both classes: {} cases (+1) and {} controls (-1)", cases.size(),
                                 controls.size()));
  Roc r;
  r.level = level;
  r.n_cases = static_cast<Index>(cases.size());
  r.n_controls = static_cast<Index>(controls.size());
  if (direction == RocDirection::Auto)
    direction = median(controls) <= median(cases) ? RocDirection::Less : RocDirection::Greater;
  r.direction = direction;

  // ---- the curve
  std::vector<double> all(cases);
  all.insert(all.end(), controls.begin(), controls.end());
  std::vector<double> t = thresholds(all, direction);
  std::vector<double> sc = cases, sn = controls;
  std::sort(sc.begin(), sc.end());
  std::sort(sn.begin(), sn.end());
  const auto nc = static_cast<double>(cases.size()), nn = static_cast<double>(controls.size());
  // Number of values in sorted v that are called positive at threshold x.
  auto positive = [&](const std::vector<double>& v, double x) {
    if (direction == RocDirection::Less) return static_cast<double>(v.end() - std::lower_bound(v.begin(), v.end(), x));
    return static_cast<double>(std::upper_bound(v.begin(), v.end(), x) - v.begin());
  };
  const auto K = static_cast<Index>(t.size());
  r.thresholds.resize(K);
  r.sensitivity.resize(K);
  r.specificity.resize(K);
  // pROC's order: from sensitivity 1 to 0, i.e. thresholds ascending for "<" and
  // descending for ">".
  if (direction == RocDirection::Greater) std::reverse(t.begin(), t.end());
  for (Index k = 0; k < K; ++k) {
    const double x = t[static_cast<std::size_t>(k)];
    r.thresholds(k) = x;
    r.sensitivity(k) = positive(sc, x) / nc;
    r.specificity(k) = (nn - positive(sn, x)) / nn;
  }

  // ---- Youden: every threshold at the maximum of sensitivity + specificity
  double best = -kInf;
  for (Index k = 0; k < K; ++k) best = std::max(best, r.sensitivity(k) + r.specificity(k));
  for (Index k = 0; k < K; ++k)
    if (r.sensitivity(k) + r.specificity(k) == best) r.best.push_back(k);
  const Index b = r.best.front();
  r.cutoff = r.thresholds(b);
  r.cutoff_sensitivity = r.sensitivity(b);
  r.cutoff_specificity = r.specificity(b);
  r.youden = best - 1;

  // ---- AUC and DeLong placements (scores negated for ">": cases then score higher)
  const double sign = direction == RocDirection::Less ? 1.0 : -1.0;
  Vector x(static_cast<Index>(all.size()));
  for (std::size_t i = 0; i < all.size(); ++i) x(static_cast<Index>(i)) = sign * all[i];
  const Vector rank_all = midranks(x);
  const Vector rank_cases = midranks(x.head(r.n_cases));
  const Vector rank_controls = midranks(x.tail(r.n_controls));
  // V10_i: fraction of controls below case i (ties 1/2); V01_j: of cases above control j.
  const Vector V10 = (rank_all.head(r.n_cases) - rank_cases) / nn;
  const Vector V01 = (nc - (rank_all.tail(r.n_controls) - rank_controls).array()).matrix() / nc;
  r.auc = V10.mean();
  if (r.n_cases < 2 || r.n_controls < 2) {
    r.auc_sd = r.ci_low = r.ci_high = kNaN;
    return r;
  }
  const double sx = (V10.array() - r.auc).square().sum() / (nc - 1);
  const double sy = (V01.array() - r.auc).square().sum() / (nn - 1);
  r.auc_sd = std::sqrt(sx / nc + sy / nn);
  const double z = normal_quantile(0.5 + level / 2);
  r.ci_low = std::max(0.0, r.auc - z * r.auc_sd);
  r.ci_high = std::min(1.0, r.auc + z * r.auc_sd);
  return r;
}

Vector sensitivity_at(const Roc& r, const Vector& specificities) {
  // pROC sorts the curve by increasing specificity (sort.roc reverses it when needed).
  const Index K = r.specificity.size();
  std::vector<double> sp(static_cast<std::size_t>(K)), se(static_cast<std::size_t>(K));
  const bool increasing = K < 2 || r.specificity(0) <= r.specificity(K - 1);
  for (Index k = 0; k < K; ++k) {
    const Index j = increasing ? k : K - 1 - k;
    sp[static_cast<std::size_t>(k)] = r.specificity(j);
    se[static_cast<std::size_t>(k)] = r.sensitivity(j);
  }
  Vector out(specificities.size());
  for (Index i = 0; i < specificities.size(); ++i) {
    const double v = specificities(i);
    if (!(v >= sp.front() && v <= sp.back()))
      throw ValueError(fmt::format("specificities: entry {} is {}, outside the curve's range [{}, {}]", i + 1, v,
                                   sp.front(), sp.back()));
    // First index with specificity == v, else the first index with specificity > v.
    const auto it = std::find(sp.begin(), sp.end(), v);
    if (it != sp.end()) {
      out(i) = se[static_cast<std::size_t>(it - sp.begin())];
      continue;
    }
    const auto next = static_cast<std::size_t>(std::upper_bound(sp.begin(), sp.end(), v) - sp.begin());
    const double proportion = (v - sp[next]) / (sp[next - 1] - sp[next]);
    out(i) = se[next] + proportion * (se[next - 1] - se[next]);
  }
  return out;
}

namespace {

// R's quantile(type = 7) of sorted values.
double quantile7(const std::vector<double>& sorted, double p) {
  const double h = (static_cast<double>(sorted.size()) - 1) * p;
  const auto lo = static_cast<std::size_t>(std::floor(h));
  const std::size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (h - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

}  // namespace

RocBand roc_band(const Vector& scores, const Vector& labels, const Roc& r, const Vector& specificities, int boot,
                 double level, std::uint64_t seed) {
  if (boot < 2) throw ValueError(fmt::format("boot must be at least 2, got {}", boot));
  if (!(level > 0 && level < 1)) throw ValueError("confidence level must be in (0, 1)");
  if (scores.size() != labels.size())
    throw ValueError(fmt::format("{} scores but {} labels", scores.size(), labels.size()));
  for (Index i = 0; i < specificities.size(); ++i)
    if (!(specificities(i) >= 0 && specificities(i) <= 1))
      throw ValueError(fmt::format("specificities: entry {} is {}, expected a value in [0, 1]", i + 1,
                                   specificities(i)));
  std::vector<double> cases, controls;
  for (Index i = 0; i < scores.size(); ++i) (labels(i) == 1 ? cases : controls).push_back(scores(i));
  const auto nc = static_cast<Index>(cases.size()), nn = static_cast<Index>(controls.size());
  if (nc == 0 || nn == 0)
    throw ValueError(fmt::format("ROC band needs both classes: {} cases and {} controls", nc, nn));
  const Index S = specificities.size();
  Vector y(nc + nn);
  y.head(nc).setOnes();
  y.tail(nn).setConstant(-1);
  // Replicate k's sensitivities in row k: the replicates run on threads and, under MPI,
  // in blocks over ranks (nl/core/mpi.hpp); each depends on k only.
  const auto B = static_cast<std::size_t>(std::max(boot, 0)), W = static_cast<std::size_t>(S);
  std::vector<double> rows(B * W, 0.0);
  mpi::distributed_for(B, [&](std::size_t k) {
    Rng rng(seed, static_cast<std::uint64_t>(k));
    Vector s(nc + nn);
    for (Index i = 0; i < nn; ++i) s(nc + i) = controls[rng.below(static_cast<std::uint64_t>(nn))];
    for (Index i = 0; i < nc; ++i) s(i) = cases[rng.below(static_cast<std::uint64_t>(nc))];
    const Vector se = sensitivity_at(roc(s, y, r.direction, r.level), specificities);
    std::copy(se.data(), se.data() + S, rows.begin() + static_cast<std::ptrdiff_t>(k * W));
  });
  mpi::share_blocks(B, W, rows.data());
  std::vector<std::vector<double>> perfs(W, std::vector<double>(B));
  for (std::size_t k = 0; k < B; ++k)
    for (std::size_t j = 0; j < W; ++j) perfs[j][k] = rows[k * W + j];
  RocBand b;
  b.specificity = specificities;
  b.lower.resize(S);
  b.median.resize(S);
  b.upper.resize(S);
  b.boot = boot;
  b.level = level;
  b.seed = seed;
  for (Index j = 0; j < S; ++j) {
    auto& v = perfs[static_cast<std::size_t>(j)];
    std::sort(v.begin(), v.end());
    b.lower(j) = quantile7(v, (1 - level) / 2);
    b.median(j) = quantile7(v, 0.5);
    b.upper(j) = quantile7(v, 1 - (1 - level) / 2);
  }
  return b;
}

}  // namespace nl::stats
