// nl/ml/filter.hpp: the univariate filter, a label-dependent preprocessing step that ranks
// the input features by a statistic of each feature against the labels or targets and
// keeps the best ones (scikit-learn's SelectKBest / SelectPercentile with f_classif,
// f_regression or r_regression).
//
// Scores of feature x (n training rows; y the labels +1/-1 or the targets), each one
// computed with centred sums (two passes, not the moment formulas scikit-learn uses):
//
//   FClassif:    one-way ANOVA between the classes (scikit-learn's f_classif),
//                  F = [n+ (m+ - m)^2 + n- (m- - m)^2] / [SSW / (n - 2)],
//                  SSW = sum over the rows of (x_i - m_class(i))^2;
//   TTest:       |t|, the pooled two-sample t statistic (equal variances, not Welch's),
//                  t = (m+ - m-) / sqrt(SSW / (n - 2) (1 / n+ + 1 / n-)),
//                which equals sqrt(F) in exact arithmetic, so it ranks as FClassif does;
//   FRegression: F of the simple regression on the target (scikit-learn's f_regression,
//                center = True), F = r^2 / (1 - r^2) (n - 2), r Pearson's correlation;
//   Correlation: |r| (scikit-learn's r_regression, in absolute value).
//
// Special cases. A feature constant in the training rows scores 0 for every kind
// (scikit-learn's f_classif gives NaN, which SelectKBest's argsort puts after every
// number and so keeps FIRST; f_regression's force_finite gives 0), so it is never
// chosen ahead of an informative one. A target constant in the training rows gives r = 0
// (f_regression's force_finite). Classes separated with no spread inside either class
// (SSW = 0) give F = |t| = +inf, as f_classif; |r| = 1 gives F = +inf (f_regression's
// force_finite gives the largest double; the ranking is the same).
//
// The amount kept: k features (1 <= k <= p; k > p is a ValueError at fit), or
// ceil(fraction * p) features, at least 1, for fraction in (0, 1] (a product within
// 1e-9 of an integer counts as that integer: 0.1 * 30 keeps 3). scikit-learn's
// SelectPercentile(percentile = 100 fraction) keeps the scores strictly above their
// (100 - percentile)-th percentile (linear interpolation), that is ceil(fraction (p - 1))
// features when the scores are distinct: the two agree when the fractional part of
// fraction * p is 0 or above fraction (p = 20: fractions 0.1, 0.25, 0.33 and 0.5 agree;
// 0.052 keeps 2 here, 1 there).
//
// Ranking: the highest scores, equal scores by the lower column index first
// (scikit-learn's stable argsort takes the higher index among equal scores). The kept
// columns are output in ascending column order (get_support's order).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nl/ml/transform.hpp"

namespace nl::ml {

enum class FilterScore : std::uint8_t { FClassif = 0, TTest = 1, FRegression = 2, Correlation = 3 };

// Whether the score compares two classes (y must be +1/-1) rather than a continuous target.
inline bool is_classification(FilterScore s) { return s == FilterScore::FClassif || s == FilterScore::TTest; }
// The Lua name of the score ("f_classif", "t", "f_regression", "correlation").
const char* filter_score_name(FilterScore s);

// Exactly one of k (>= 1) and fraction (in (0, 1]); the other is 0.
struct FilterOptions {
  FilterScore score = FilterScore::FClassif;
  Eigen::Index k = 0;
  double fraction = 0.0;
};

// The score of every column of X (n x p) against y (n), as above. ValueError (messages
// start with "filter: ") for y of another length than the rows of X, fewer than 3 rows,
// a non-finite X (naming its 1-based row and column), labels other than +1/-1 or one
// class only for the classification scores (naming the first bad row), non-finite
// targets for the regression scores.
Vector univariate_scores(const Matrix& X, const Vector& y, FilterScore score);

// The number of features kept out of p (ValueError when k > p).
Eigen::Index filter_count(const FilterOptions& o, Eigen::Index p);

// The 0-based columns of the `count` highest scores, equal scores by the lower column
// first, returned in ascending column order.
std::vector<Eigen::Index> best_features(const Vector& scores, Eigen::Index count);

class UnivariateFilter final : public Transform {
 public:
  // ValueError unless exactly one of k >= 1 and fraction in (0, 1] is given.
  explicit UnivariateFilter(FilterOptions options);
  std::unique_ptr<Transform> clone() const override;
  std::unique_ptr<Transform> copy() const override;
  // Throws ValueError: the step needs the labels (fit_labelled).
  void fit(const Matrix& X, const Table* covariates) override;
  bool label_dependent() const override { return true; }
  // Scores the columns of X against y and keeps the best (covariates are ignored, but
  // their rows must line up with X's).
  void fit_labelled(const Matrix& X, const Vector& y, const Table* covariates) override;
  Matrix apply(const Matrix& X, const Table* covariates) const override;
  std::string name() const override { return "filter"; }
  // filter{score = "f_classif", k = 10} or filter{score = "t", fraction = 0.2}.
  std::string options() const override;
  // scores_ (1 x p) and kept_ (1 x k, the 1-based kept columns, as Prune's).
  std::vector<StateItem> state() const override;
  // The weights of the kept columns at their input columns, 0 elsewhere.
  Matrix backproject(const Matrix& w) const override;
  void save(Writer& w) const override;
  Eigen::Index n_features_out() const override;

  const FilterOptions& filter_options() const noexcept { return o_; }
  // 0-based indices of the kept input features, ascending.
  const std::vector<Eigen::Index>& kept() const noexcept { return keep_; }
  // The score of every input feature (empty before fit).
  const Vector& scores() const noexcept { return scores_; }

 private:
  void load(Reader& r) override;
  FilterOptions o_;
  Vector scores_;
  std::vector<Eigen::Index> keep_;
};

}  // namespace nl::ml
