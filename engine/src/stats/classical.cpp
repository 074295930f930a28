// stats/classical.cpp: correlations, t-tests, chi-squared, repeated-measures ANOVA.
#include "nl/stats/classical.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "nl/core/core.hpp"

namespace nl::stats {

namespace {

using Index = Eigen::Index;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

void require_finite(const Vector& v, const char* what) {
  for (Index i = 0; i < v.size(); ++i)
    if (!std::isfinite(v(i)))
      throw ValueError(fmt::format("{}: entry {} is {}", what, i + 1, std::isnan(v(i)) ? "NaN" : "infinite"));
}

void require_count(Index n, Index at_least, const char* what) {
  if (n < at_least) throw ValueError(fmt::format("{} has {} observation(s); at least {} are needed", what, n, at_least));
}

double mean(const Vector& v) { return v.sum() / static_cast<double>(v.size()); }

// Sample variance (n - 1), two-pass.
double variance(const Vector& v) {
  const double m = mean(v);
  return (v.array() - m).square().sum() / static_cast<double>(v.size() - 1);
}

// p-value and 95 % interval of an estimate with a t-distributed pivot against the
// value `null` it has under the null hypothesis.
void finish_t(TTest& r, Tail tail, double null = 0.0) {
  r.t = (r.estimate - null) / r.se;
  r.p = t_pvalue(r.t, r.df, tail);
  const double q2 = t_quantile(0.975, r.df), q1 = t_quantile(0.95, r.df);
  switch (tail) {
    case Tail::Two:
      r.ci_low = r.estimate - q2 * r.se;
      r.ci_high = r.estimate + q2 * r.se;
      break;
    case Tail::Right:
      r.ci_low = r.estimate - q1 * r.se;
      r.ci_high = kInf;
      break;
    case Tail::Left:
      r.ci_low = -kInf;
      r.ci_high = r.estimate + q1 * r.se;
      break;
  }
}

Correlation correlate(const Vector& x, const Vector& y, Tail tail) {
  Correlation c;
  c.n = x.size();
  c.df = static_cast<double>(c.n - 2);
  const Eigen::ArrayXd dx = x.array() - mean(x), dy = y.array() - mean(y);
  const double sxx = dx.square().sum(), syy = dy.square().sum();
  if (sxx == 0) throw ValueError("x is constant: the correlation is undefined");
  if (syy == 0) throw ValueError("y is constant: the correlation is undefined");
  c.r = std::clamp((dx * dy).sum() / std::sqrt(sxx * syy), -1.0, 1.0);
  c.t = std::fabs(c.r) == 1.0 ? std::copysign(kInf, c.r) : c.r * std::sqrt(c.df / ((1 - c.r) * (1 + c.r)));
  c.p = t_pvalue(c.t, c.df, tail);
  return c;
}

void check_pair(const Vector& x, const Vector& y, Index at_least) {
  if (x.size() != y.size()) throw ValueError(fmt::format("x has {} values but y has {}", x.size(), y.size()));
  require_finite(x, "x");
  require_finite(y, "y");
  require_count(x.size(), at_least, "x");
}

}  // namespace

// ---------------------------------------------------------------- correlation

Correlation pearson(const Vector& x, const Vector& y, Tail tail) {
  check_pair(x, y, 3);
  Correlation c = correlate(x, y, tail);
  c.ci_low = c.ci_high = kNaN;
  if (c.n >= 4) {
    // Fisher's z, as R's cor.test.
    const double z = std::atanh(c.r), sd = 1.0 / std::sqrt(static_cast<double>(c.n - 3));
    switch (tail) {
      case Tail::Two:
        c.ci_low = std::tanh(z - normal_quantile(0.975) * sd);
        c.ci_high = std::tanh(z + normal_quantile(0.975) * sd);
        break;
      case Tail::Right:
        c.ci_low = std::tanh(z - normal_quantile(0.95) * sd);
        c.ci_high = 1;
        break;
      case Tail::Left:
        c.ci_low = -1;
        c.ci_high = std::tanh(z + normal_quantile(0.95) * sd);
        break;
    }
  }
  return c;
}

Vector midranks(const Vector& x) {
  const Index n = x.size();
  std::vector<Index> idx(static_cast<std::size_t>(n));
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](Index a, Index b) { return x(a) < x(b); });
  Vector r(n);
  for (Index i = 0; i < n;) {
    Index j = i;
    while (j + 1 < n && x(idx[static_cast<std::size_t>(j + 1)]) == x(idx[static_cast<std::size_t>(i)])) ++j;
    const double rank = 0.5 * static_cast<double>(i + j) + 1.0;
    for (Index k = i; k <= j; ++k) r(idx[static_cast<std::size_t>(k)]) = rank;
    i = j + 1;
  }
  return r;
}

Correlation spearman(const Vector& x, const Vector& y, Tail tail) {
  check_pair(x, y, 3);
  Correlation c = correlate(midranks(x), midranks(y), tail);
  c.ci_low = c.ci_high = kNaN;
  return c;
}

// ---------------------------------------------------------------- t-tests

TTest ttest_one(const Vector& x, double mu, Tail tail) {
  require_finite(x, "x");
  require_count(x.size(), 2, "x");
  if (!std::isfinite(mu)) throw ValueError("mu must be finite");
  TTest r;
  r.n_x = x.size();
  r.mean_x = mean(x);
  r.mean_y = mu;
  r.df = static_cast<double>(r.n_x - 1);
  const double v = variance(x);
  if (v == 0) throw ValueError("x is constant: the t statistic is undefined");
  r.estimate = r.mean_x;
  r.se = std::sqrt(v / static_cast<double>(r.n_x));
  finish_t(r, tail, mu);
  return r;
}

TTest ttest_paired(const Vector& x, const Vector& y, Tail tail) {
  check_pair(x, y, 2);
  const Vector d = x - y;
  if (variance(d) == 0) throw ValueError("x - y is constant: the t statistic is undefined");
  TTest r = ttest_one(d, 0.0, tail);
  r.mean_x = mean(x);
  r.mean_y = mean(y);
  r.n_y = y.size();
  return r;
}

TTest ttest_two(const Vector& x, const Vector& y, bool welch, Tail tail) {
  require_finite(x, "x");
  require_finite(y, "y");
  const Index nx = x.size(), ny = y.size();
  if (welch) {
    require_count(nx, 2, "x");
    require_count(ny, 2, "y");
  } else {
    require_count(nx, 1, "x");
    require_count(ny, 1, "y");
    if (nx + ny < 3) throw ValueError("x and y have 2 observations together; at least 3 are needed");
  }
  TTest r;
  r.n_x = nx;
  r.n_y = ny;
  r.mean_x = mean(x);
  r.mean_y = mean(y);
  r.estimate = r.mean_x - r.mean_y;
  const double dnx = static_cast<double>(nx), dny = static_cast<double>(ny);
  const double vx = nx > 1 ? variance(x) : 0.0, vy = ny > 1 ? variance(y) : 0.0;
  if (welch) {
    const double ax = vx / dnx, ay = vy / dny;
    r.se = std::sqrt(ax + ay);
    r.df = (ax + ay) * (ax + ay) / (ax * ax / (dnx - 1) + ay * ay / (dny - 1));
  } else {
    r.df = dnx + dny - 2;
    const double pooled = ((dnx - 1) * vx + (dny - 1) * vy) / r.df;
    r.se = std::sqrt(pooled * (1 / dnx + 1 / dny));
  }
  if (!(r.se > 0)) throw ValueError("x and y are constant: the t statistic is undefined");
  finish_t(r, tail);
  return r;
}

// ---------------------------------------------------------------- chi-squared

Chi2Test chi2_independence(const Matrix& table, bool yates) {
  const Index R = table.rows(), C = table.cols();
  if (R < 2 || C < 2) throw ValueError(fmt::format("table must be at least 2 x 2, got {} x {}", R, C));
  for (Index i = 0; i < R; ++i)
    for (Index j = 0; j < C; ++j)
      if (!std::isfinite(table(i, j)) || table(i, j) < 0)
        throw ValueError(fmt::format("table: entry ({}, {}) is {}; counts must be finite and non-negative", i + 1,
                                     j + 1, table(i, j)));
  const Vector rows = table.rowwise().sum(), cols = table.colwise().sum().transpose();
  const double total = rows.sum();
  for (Index i = 0; i < R; ++i)
    if (rows(i) == 0) throw ValueError(fmt::format("table: row {} sums to 0, so its expected counts are 0", i + 1));
  for (Index j = 0; j < C; ++j)
    if (cols(j) == 0) throw ValueError(fmt::format("table: column {} sums to 0, so its expected counts are 0", j + 1));
  Chi2Test r;
  r.df = static_cast<double>((R - 1) * (C - 1));
  r.expected = rows * cols.transpose() / total;
  r.yates = yates && r.df == 1;
  for (Index i = 0; i < R; ++i)
    for (Index j = 0; j < C; ++j) {
      double d = std::fabs(table(i, j) - r.expected(i, j));
      if (r.yates) d -= std::min(0.5, d);
      r.chi2 += d * d / r.expected(i, j);
    }
  r.p = chi2_upper(r.chi2, r.df);
  return r;
}

// ---------------------------------------------------------------- repeated measures

RmAnova anova_rm(const Matrix& Y) {
  const Index n = Y.rows(), k = Y.cols();
  if (n < 2) throw ValueError(fmt::format("data have {} subject(s) (rows); at least 2 are needed", n));
  if (k < 2) throw ValueError(fmt::format("data have {} condition(s) (columns); at least 2 are needed", k));
  for (Index j = 0; j < k; ++j)
    for (Index i = 0; i < n; ++i)
      if (!std::isfinite(Y(i, j)))
        throw ValueError(fmt::format("data: entry (subject {}, condition {}) is not finite; the design must be "
                                     "complete",
                                     i + 1, j + 1));
  const double dn = static_cast<double>(n), dk = static_cast<double>(k);
  const double grand = Y.mean();
  RmAnova r;
  r.means = Y.colwise().mean().transpose();
  const Vector subj = Y.rowwise().mean();
  r.ss_conditions = dn * (r.means.array() - grand).square().sum();
  r.ss_subjects = dk * (subj.array() - grand).square().sum();
  const double ss_total = (Y.array() - grand).square().sum();
  r.ss_error = std::max(ss_total - r.ss_subjects - r.ss_conditions, 0.0);
  r.df1 = dk - 1;
  r.df2 = (dn - 1) * (dk - 1);
  if (!(r.ss_error > 1e-24 * ss_total))
    throw ValueError("data: no residual variation (every subject differs between conditions by the same amount)");
  r.F = (r.ss_conditions / r.df1) / (r.ss_error / r.df2);
  r.p = f_upper(r.F, r.df1, r.df2);
  return r;
}

// ---------------------------------------------------------------- multiple comparisons

Vector bonferroni(const Vector& p) {
  double m = 0;
  for (Index i = 0; i < p.size(); ++i) m += std::isnan(p(i)) ? 0 : 1;
  Vector out(p.size());
  for (Index i = 0; i < p.size(); ++i) out(i) = std::isnan(p(i)) ? kNaN : std::min(1.0, m * p(i));
  return out;
}

}  // namespace nl::stats
