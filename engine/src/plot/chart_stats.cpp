// The statistics the charts draw (nl/plot/chart.hpp): type-7 quantiles, Tukey boxes,
// histogram bin counts, the OLS confidence band and the heat maps' clustering order
// (through nl::fc's Ward linkage, tested against SciPy in tests/engine/fc).
#include <algorithm>
#include <cmath>
#include <numeric>

#include "nl/core/core.hpp"
#include "nl/fc/fc.hpp"
#include "nl/plot/chart.hpp"
#include "nl/stats/distributions.hpp"

namespace nl::plot {

double quantile7(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return kNaN;
  const double pos = q * static_cast<double>(sorted.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const std::size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (pos - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

BoxStats box_stats(const Vector& v) {
  BoxStats b;
  if (v.size() == 0) return b;
  std::vector<double> s(v.data(), v.data() + v.size());
  std::sort(s.begin(), s.end());
  b.q1 = quantile7(s, 0.25);
  b.median = quantile7(s, 0.5);
  b.q3 = quantile7(s, 0.75);
  const double iqr = b.q3 - b.q1;
  const double lo_fence = b.q1 - 1.5 * iqr, hi_fence = b.q3 + 1.5 * iqr;
  b.whisker_lo = b.q1;
  b.whisker_hi = b.q3;
  for (double x : s) {
    if (x < lo_fence || x > hi_fence) {
      b.outliers.push_back(x);
      continue;
    }
    b.whisker_lo = std::min(b.whisker_lo, x);
    b.whisker_hi = std::max(b.whisker_hi, x);
  }
  return b;
}

int auto_bins(const Vector& v) {
  const auto n = static_cast<double>(v.size());
  if (v.size() < 2) return 1;
  std::vector<double> s(v.data(), v.data() + v.size());
  std::sort(s.begin(), s.end());
  const double range = s.back() - s.front();
  if (!(range > 0)) return 1;
  const double iqr = quantile7(s, 0.75) - quantile7(s, 0.25);
  double bins;
  if (iqr > 0) bins = std::ceil(range / (2 * iqr * std::pow(n, -1.0 / 3.0)));
  else bins = std::ceil(std::log2(n)) + 1;
  return static_cast<int>(std::clamp(bins, 1.0, 100.0));
}

OlsBand ols_band(const Vector& x, const Vector& y, const Vector& at, double level) {
  const Eigen::Index n = x.size();
  if (y.size() != n) throw ValueError("y: length " + std::to_string(y.size()) + " differs from x (" + std::to_string(n) + ")");
  if (n < 3) throw ValueError("x: a fitted line needs at least 3 points");
  const double mx = x.mean(), my = y.mean();
  const double sxx = (x.array() - mx).square().sum();
  if (!(sxx > 0)) throw ValueError("x: a fitted line needs at least two distinct x values");
  OlsBand b;
  b.slope = ((x.array() - mx) * (y.array() - my)).sum() / sxx;
  b.intercept = my - b.slope * mx;
  const double rss = (y.array() - b.intercept - b.slope * x.array()).square().sum();
  const double s = std::sqrt(rss / static_cast<double>(n - 2));
  const double t = nl::stats::t_quantile(0.5 + level / 2, static_cast<double>(n - 2));
  b.fit = (b.intercept + b.slope * at.array()).matrix();
  const Vector se = (s * (1.0 / static_cast<double>(n) + (at.array() - mx).square() / sxx).sqrt()).matrix();
  b.lo = b.fit - t * se;
  b.hi = b.fit + t * se;
  return b;
}

HeatmapOrder heatmap_order(const HeatmapChart& ch) {
  HeatmapOrder out;
  const Eigen::Index n = ch.M.rows();
  out.rows.resize(static_cast<std::size_t>(n));
  std::iota(out.rows.begin(), out.rows.end(), 0);
  if (ch.ordering == Ordering::Given) out.rows = ch.order;
  if (ch.ordering != Ordering::Hierarchy) return out;
  nl::fc::Hierarchy h;
  if (ch.netmat) {
    Matrix Z = ch.M;
    Z.diagonal().setZero();  // a netmat's diagonal (1, inf or NaN) is not data
    h = nl::fc::hierarchy(Z);
  } else {
    Vector d(n * (n - 1) / 2);
    Eigen::Index k = 0;
    for (Eigen::Index i = 0; i < n; ++i)
      for (Eigen::Index j = i + 1; j < n; ++j) d(k++) = (ch.M.row(i) - ch.M.row(j)).norm();
    h = nl::fc::ward_linkage(d, n, true);
  }
  out.rows.assign(h.order.begin(), h.order.end());
  out.linkage = h.linkage;
  return out;
}

}  // namespace nl::plot
