// ml/filter.cpp: the univariate filter step (nl/ml/filter.hpp): its scores, the ranking,
// and its record in a model file.
#include "nl/ml/filter.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "nl/core/core.hpp"
#include "nl/io/serial.hpp"

namespace nl::ml {

const char* filter_score_name(FilterScore s) {
  switch (s) {
    case FilterScore::FClassif: return "f_classif";
    case FilterScore::TTest: return "t";
    case FilterScore::FRegression: return "f_regression";
    case FilterScore::Correlation: return "correlation";
  }
  return "?";
}

// ---------------------------------------------------------------- scores

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// The values of a non-constant vector times a power of two that brings the largest
// magnitude into [0.5, 1): exact (no rounding), and every score is scale-invariant, so
// the scores are those of the raw values while sums of squares cannot overflow.
Vector scaled(const Vector& v) {
  int e = 0;
  std::frexp(v.cwiseAbs().maxCoeff(), &e);
  return (v.array() * std::ldexp(1.0, -e)).matrix();
}

bool constant(const Vector& v) { return (v.array() == v(0)).all(); }

void check_inputs(const Matrix& X, const Vector& y, FilterScore score) {
  if (y.size() != X.rows())
    throw ValueError(fmt::format("filter: {} {} for {} rows of data", y.size(),
                                 is_classification(score) ? "labels" : "targets", X.rows()));
  if (X.rows() < 3) throw ValueError(fmt::format("filter: needs at least 3 rows to score features, got {}", X.rows()));
  for (Eigen::Index j = 0; j < X.cols(); ++j)
    for (Eigen::Index i = 0; i < X.rows(); ++i)
      if (!std::isfinite(X(i, j)))
        throw ValueError(fmt::format("filter: the data hold a non-finite value ({}) at row {}, column {} (impute or "
                                     "prune before filtering)",
                                     X(i, j), i + 1, j + 1));
  if (is_classification(score)) {
    Eigen::Index pos = 0;
    for (Eigen::Index i = 0; i < y.size(); ++i) {
      if (y(i) != 1.0 && y(i) != -1.0)
        throw ValueError(fmt::format("filter: score \"{}\" needs labels +1 or -1, got {} at row {}",
                                     filter_score_name(score), y(i), i + 1));
      if (y(i) > 0) ++pos;
    }
    if (pos == 0 || pos == y.size())
      throw ValueError(fmt::format("filter: score \"{}\" needs both classes, but every label is {}",
                                   filter_score_name(score), pos ? "+1" : "-1"));
  } else {
    for (Eigen::Index i = 0; i < y.size(); ++i)
      if (!std::isfinite(y(i)))
        throw ValueError(fmt::format("filter: score \"{}\" needs finite targets, got {} at row {}",
                                     filter_score_name(score), y(i), i + 1));
  }
}

// F between the classes and the pooled t of one feature (x scaled, not constant).
void two_class(const Vector& x, const Vector& y, double& F, double& t) {
  const Eigen::Index n = x.size();
  double sum_pos = 0, sum_neg = 0;
  Eigen::Index n_pos = 0;
  for (Eigen::Index i = 0; i < n; ++i) {
    if (y(i) > 0) {
      sum_pos += x(i);
      ++n_pos;
    } else {
      sum_neg += x(i);
    }
  }
  const Eigen::Index n_neg = n - n_pos;
  const double m_pos = sum_pos / static_cast<double>(n_pos), m_neg = sum_neg / static_cast<double>(n_neg);
  const double m = (sum_pos + sum_neg) / static_cast<double>(n);
  double ssw = 0;
  for (Eigen::Index i = 0; i < n; ++i) {
    const double d = x(i) - (y(i) > 0 ? m_pos : m_neg);
    ssw += d * d;
  }
  const double ssb = static_cast<double>(n_pos) * (m_pos - m) * (m_pos - m) +
                     static_cast<double>(n_neg) * (m_neg - m) * (m_neg - m);
  const double msw = ssw / static_cast<double>(n - 2);
  if (msw == 0) {
    // Each class constant: separated (or, when the means are equal too, the feature
    // would be constant, which the caller has excluded).
    F = t = kInf;
    return;
  }
  F = ssb / msw;
  t = std::abs(m_pos - m_neg) / std::sqrt(msw * (1.0 / static_cast<double>(n_pos) + 1.0 / static_cast<double>(n_neg)));
}

// Pearson's r of x and y (both scaled, not constant), with centring.
double pearson(const Vector& x, const Vector& yc) {
  const Vector xc = (x.array() - x.mean()).matrix();
  const double sxx = xc.squaredNorm(), syy = yc.squaredNorm();
  if (sxx == 0 || syy == 0) return 0.0;
  return std::clamp(xc.dot(yc) / std::sqrt(sxx * syy), -1.0, 1.0);
}

}  // namespace

Vector univariate_scores(const Matrix& X, const Vector& y, FilterScore score) {
  check_inputs(X, y, score);
  const Eigen::Index n = X.rows(), p = X.cols();
  Vector out = Vector::Zero(p);
  // A constant target: r = 0 for every feature (scikit-learn's force_finite).
  const bool regression = !is_classification(score);
  if (regression && constant(y)) return out;
  Vector yc;
  if (regression) {
    yc = scaled(y);
    yc.array() -= yc.mean();
  }
  for (Eigen::Index j = 0; j < p; ++j) {
    const Vector col = X.col(j);
    // A constant feature scores 0 (scikit-learn's f_classif gives NaN, which SelectKBest
    // would keep first): it can never be chosen ahead of an informative one.
    if (constant(col)) continue;
    const Vector x = scaled(col);
    if (regression) {
      const double r = pearson(x, yc);
      if (score == FilterScore::Correlation) {
        out(j) = std::abs(r);
      } else {
        const double r2 = r * r;
        out(j) = r2 >= 1.0 ? kInf : r2 / (1.0 - r2) * static_cast<double>(n - 2);
      }
    } else {
      double F = 0, t = 0;
      two_class(x, y, F, t);
      out(j) = score == FilterScore::FClassif ? F : t;
    }
  }
  return out;
}

Eigen::Index filter_count(const FilterOptions& o, Eigen::Index p) {
  if (o.k > 0) {
    if (o.k > p)
      throw ValueError(fmt::format("filter: k = {} is more than the {} features of the data (keep at most {})", o.k,
                                   p, p));
    return o.k;
  }
  // ceil(fraction p), with a product within 1e-9 of an integer taken as that integer.
  const double c = o.fraction * static_cast<double>(p);
  const double r = std::round(c);
  const auto count = static_cast<Eigen::Index>(std::abs(c - r) <= 1e-9 * std::max(1.0, c) ? r : std::ceil(c));
  return std::clamp<Eigen::Index>(count, std::min<Eigen::Index>(1, p), p);
}

std::vector<Eigen::Index> best_features(const Vector& scores, Eigen::Index count) {
  const Eigen::Index p = scores.size();
  count = std::clamp<Eigen::Index>(count, 0, p);
  std::vector<Eigen::Index> order(static_cast<std::size_t>(p));
  std::iota(order.begin(), order.end(), Eigen::Index{0});
  // Highest first; equal scores by the lower column (a NaN, which the scores above never
  // hold, would rank last).
  const auto higher = [&scores](Eigen::Index a, Eigen::Index b) {
    const double sa = std::isnan(scores(a)) ? -kInf : scores(a), sb = std::isnan(scores(b)) ? -kInf : scores(b);
    return sa > sb || (sa == sb && a < b);
  };
  std::partial_sort(order.begin(), order.begin() + count, order.end(), higher);
  order.resize(static_cast<std::size_t>(count));
  std::sort(order.begin(), order.end());
  return order;
}

// ---------------------------------------------------------------- the step

namespace {

void check_options(const FilterOptions& o) {
  if (static_cast<std::uint8_t>(o.score) > static_cast<std::uint8_t>(FilterScore::Correlation))
    throw ValueError("filter: unknown score");
  const bool has_k = o.k != 0, has_fraction = o.fraction != 0.0;
  if (has_k == has_fraction)
    throw ValueError("filter: give exactly one of k (the number of features kept) and fraction (the share kept)");
  if (has_k && o.k < 1) throw ValueError(fmt::format("filter: k must be at least 1, got {}", o.k));
  if (has_fraction && !(o.fraction > 0.0 && o.fraction <= 1.0))
    throw ValueError(fmt::format("filter: fraction must be in (0, 1], got {}", o.fraction));
}

}  // namespace

UnivariateFilter::UnivariateFilter(FilterOptions options) : o_(options) { check_options(o_); }

std::unique_ptr<Transform> UnivariateFilter::clone() const { return std::make_unique<UnivariateFilter>(o_); }
std::unique_ptr<Transform> UnivariateFilter::copy() const { return std::make_unique<UnivariateFilter>(*this); }

std::string UnivariateFilter::options() const {
  if (o_.k > 0) return fmt::format("filter{{score = \"{}\", k = {}}}", filter_score_name(o_.score), o_.k);
  return fmt::format("filter{{score = \"{}\", fraction = {}}}", filter_score_name(o_.score), o_.fraction);
}

void UnivariateFilter::fit(const Matrix&, const Table*) {
  throw ValueError(
      "filter: needs the labels (it is a label-dependent step: fit it with labels, t:fit(X, y), or use it in a "
      "pipeline)");
}

void UnivariateFilter::fit_labelled(const Matrix& X, const Vector& y, const Table* covariates) {
  begin_fit(X, covariates);
  const Eigen::Index count = filter_count(o_, X.cols());
  Vector scores = univariate_scores(X, y, o_.score);
  keep_ = best_features(scores, count);
  scores_ = std::move(scores);
  fitted_ = true;
}

Matrix UnivariateFilter::apply(const Matrix& X, const Table* covariates) const {
  check_apply(X, covariates);
  return X(Eigen::all, keep_);
}

std::vector<StateItem> UnivariateFilter::state() const {
  if (!fitted_) return {};
  Matrix kept(1, static_cast<Eigen::Index>(keep_.size()));
  for (std::size_t k = 0; k < keep_.size(); ++k)
    kept(0, static_cast<Eigen::Index>(k)) = static_cast<double>(keep_[k] + 1);
  return {{"scores_", scores_.transpose()}, {"kept_", kept}};
}

Matrix UnivariateFilter::backproject(const Matrix& w) const {
  check_backproject(w, static_cast<Eigen::Index>(keep_.size()));
  Matrix out = Matrix::Zero(p_in_, w.cols());
  for (std::size_t k = 0; k < keep_.size(); ++k) out.row(keep_[k]) = w.row(static_cast<Eigen::Index>(k));
  return out;
}

Eigen::Index UnivariateFilter::n_features_out() const {
  return fitted_ ? static_cast<Eigen::Index>(keep_.size()) : 0;
}

// ---------------------------------------------------------------- serialization

// Record (model format 4): tag "step", "filter", the score, k, fraction, the fitted flag
// and input width, then (fitted) the scores and the kept columns (0-based, ascending).
void UnivariateFilter::save(Writer& w) const {
  w.tag("step");
  w.str(name());
  w.u8(static_cast<std::uint8_t>(o_.score));
  w.i64(o_.k);
  w.f64(o_.fraction);
  save_base(w);
  if (!fitted_) return;
  w.vector(scores_);
  w.indices(keep_);
}

void UnivariateFilter::load(Reader& r) {
  if (r.version() < 4) r.fail("a filter step in a model file older than format 4");
  FilterOptions o;
  const std::uint8_t s = r.u8();
  if (s > static_cast<std::uint8_t>(FilterScore::Correlation)) r.fail("unknown filter score");
  o.score = static_cast<FilterScore>(s);
  o.k = r.i64();
  o.fraction = r.f64();
  try {
    check_options(o);
  } catch (const ValueError& e) {
    r.fail(e.what());
  }
  o_ = o;
  load_base(r);
  scores_.resize(0);
  keep_.clear();
  if (!fitted_) return;
  scores_ = r.vector();
  keep_ = r.indices();
  if (scores_.size() != p_in_) r.fail("filter scores do not match its input width");
  if (o_.k > p_in_ || static_cast<Eigen::Index>(keep_.size()) != filter_count(o_, p_in_))
    r.fail("filter keeps another number of features than its options give");
  for (std::size_t k = 0; k < keep_.size(); ++k)
    if (keep_[k] < 0 || keep_[k] >= p_in_ || (k > 0 && keep_[k] <= keep_[k - 1])) r.fail("filter state is invalid");
}

}  // namespace nl::ml
