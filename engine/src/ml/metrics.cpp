// Binary classification metrics (see nl/ml/metrics.hpp for the definitions).
#include "nl/ml/metrics.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

namespace nl::ml {

namespace {

constexpr double NaN = std::numeric_limits<double>::quiet_NaN();

// ---------------------------------------------------------------- validation

struct ClassCounts {
  std::int64_t pos = 0, neg = 0;
};

ClassCounts check_inputs(const Eigen::Ref<const Vector>& s, const Eigen::Ref<const Vector>& y, const char* what) {
  if (s.size() != y.size()) throw ValueError(fmt::format("{}: {} scores but {} labels", what, s.size(), y.size()));
  ClassCounts n;
  for (Eigen::Index i = 0; i < y.size(); ++i) {
    if (y[i] == 1.0)
      ++n.pos;
    else if (y[i] == -1.0)
      ++n.neg;
    else
      throw ValueError(fmt::format("{}: label {} at position {} is not +1 or -1", what, y[i], i + 1));
    if (!std::isfinite(s[i])) throw ValueError(fmt::format("{}: score {} is not finite ({})", what, i + 1, s[i]));
  }
  return n;
}

// AUC and ROC compare the two classes: with one of them missing there is nothing to rank.
void require_both_classes(const ClassCounts& n, const char* what) {
  if (n.pos == 0 || n.neg == 0)
    throw ValueError(fmt::format("{} needs both classes, but all {} labels are {}", what, n.pos + n.neg,
                                 n.pos == 0 ? "-1" : "+1"));
}

// Positions 0..n-1 ordered by score; ties keep no particular order (only groups matter).
std::vector<Eigen::Index> order_by_score(const Eigen::Ref<const Vector>& s, bool descending) {
  std::vector<Eigen::Index> idx(static_cast<std::size_t>(s.size()));
  std::iota(idx.begin(), idx.end(), Eigen::Index{0});
  if (descending)
    std::sort(idx.begin(), idx.end(), [&](Eigen::Index a, Eigen::Index b) { return s[a] > s[b]; });
  else
    std::sort(idx.begin(), idx.end(), [&](Eigen::Index a, Eigen::Index b) { return s[a] < s[b]; });
  return idx;
}

double ratio(std::int64_t a, std::int64_t b) {
  return b == 0 ? NaN : static_cast<double>(a) / static_cast<double>(b);
}

}  // namespace

// ---------------------------------------------------------------- confusion table

Confusion confusion(const Eigen::Ref<const Vector>& scores, const Eigen::Ref<const Vector>& labels) {
  check_inputs(scores, labels, "confusion");
  Confusion c;
  for (Eigen::Index i = 0; i < scores.size(); ++i) {
    const bool pos = labels[i] > 0;
    if (scores[i] > 0)
      ++(pos ? c.TP : c.FP);
    else if (scores[i] < 0)
      ++(pos ? c.FN : c.TN);
    else
      ++c.undecided;
  }
  c.sensitivity = ratio(c.TP, c.TP + c.FN);
  c.specificity = ratio(c.TN, c.TN + c.FP);
  c.BAC = (c.sensitivity + c.specificity) / 2;
  c.PPV = ratio(c.TP, c.TP + c.FP);
  c.NPV = ratio(c.TN, c.TN + c.FN);
  c.accuracy = ratio(c.TP + c.TN, c.TP + c.TN + c.FP + c.FN);
  return c;
}

// ---------------------------------------------------------------- AUC

// Mann-Whitney: U = R_pos - n_pos (n_pos + 1) / 2 with R_pos the sum of the midranks of
// the +1 samples. Twice every midrank is an integer, so 2 U is summed exactly in
// integers and the only rounding is the final division.
double auc(const Eigen::Ref<const Vector>& scores, const Eigen::Ref<const Vector>& labels) {
  const ClassCounts n = check_inputs(scores, labels, "AUC");
  require_both_classes(n, "AUC");
  const auto idx = order_by_score(scores, false);
  std::int64_t R2 = 0;  // 2 R_pos
  const auto size = static_cast<std::int64_t>(idx.size());
  for (std::int64_t r = 0; r < size;) {
    // Tie group: sorted positions r .. e-1, ranks r+1 .. e, midrank (r + 1 + e) / 2.
    std::int64_t e = r, pos_in_group = 0;
    const double v = scores[idx[static_cast<std::size_t>(r)]];
    for (; e < size && scores[idx[static_cast<std::size_t>(e)]] == v; ++e)
      pos_in_group += labels[idx[static_cast<std::size_t>(e)]] > 0;
    R2 += pos_in_group * (r + 1 + e);
    r = e;
  }
  const std::int64_t U2 = R2 - n.pos * (n.pos + 1);
  return static_cast<double>(U2) / (2.0 * static_cast<double>(n.pos) * static_cast<double>(n.neg));
}

// ---------------------------------------------------------------- ROC curve

RocCurve roc_curve(const Eigen::Ref<const Vector>& scores, const Eigen::Ref<const Vector>& labels) {
  const ClassCounts n = check_inputs(scores, labels, "ROC curve");
  require_both_classes(n, "ROC curve");
  const auto idx = order_by_score(scores, true);
  std::vector<double> fpr{0.0}, tpr{0.0}, thr{std::numeric_limits<double>::infinity()};
  std::int64_t tps = 0, fps = 0;
  for (std::size_t k = 0; k < idx.size();) {
    // One point per distinct score, after counting every sample at or above it.
    const double v = scores[idx[k]];
    for (; k < idx.size() && scores[idx[k]] == v; ++k) ++(labels[idx[k]] > 0 ? tps : fps);
    thr.push_back(v);
    tpr.push_back(static_cast<double>(tps) / static_cast<double>(n.pos));
    fpr.push_back(static_cast<double>(fps) / static_cast<double>(n.neg));
  }
  RocCurve roc;
  roc.fpr = Eigen::Map<const Vector>(fpr.data(), static_cast<Eigen::Index>(fpr.size()));
  roc.tpr = Eigen::Map<const Vector>(tpr.data(), static_cast<Eigen::Index>(tpr.size()));
  roc.thresholds = Eigen::Map<const Vector>(thr.data(), static_cast<Eigen::Index>(thr.size()));
  return roc;
}

// ---------------------------------------------------------------- regression

RegressionMetrics regression_metrics(const Eigen::Ref<const Vector>& s, const Eigen::Ref<const Vector>& y) {
  if (s.size() != y.size())
    throw ValueError(fmt::format("regression metrics: {} predictions but {} targets", s.size(), y.size()));
  if (y.size() < 2) throw ValueError(fmt::format("regression metrics: need at least 2 values, got {}", y.size()));
  for (Eigen::Index i = 0; i < y.size(); ++i) {
    if (!std::isfinite(s[i]))
      throw ValueError(fmt::format("regression metrics: prediction {} is not finite ({})", i + 1, s[i]));
    if (!std::isfinite(y[i])) throw ValueError(fmt::format("regression metrics: target {} is not finite ({})", i + 1, y[i]));
  }
  RegressionMetrics m;
  m.n = y.size();
  const double n = static_cast<double>(y.size());
  const Vector e = y - s;
  m.mae = e.cwiseAbs().sum() / n;
  m.rmse = std::sqrt(e.squaredNorm() / n);
  const Vector yc = y.array() - y.mean(), sc = s.array() - s.mean();
  const double syy = yc.squaredNorm(), sss = sc.squaredNorm();
  m.r2 = syy > 0 ? 1.0 - e.squaredNorm() / syy : NaN;
  m.r = syy > 0 && sss > 0 ? yc.dot(sc) / std::sqrt(syy * sss) : NaN;
  return m;
}

}  // namespace nl::ml
