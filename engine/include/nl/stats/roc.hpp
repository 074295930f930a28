// nl/stats/roc.hpp: ROC analysis of one continuous predictor against a binary outcome,
// with pROC 1.18 semantics (Robin et al. 2011): the curve, its AUC, DeLong's confidence
// interval (`ci.auc(method = "delong")`) and the Youden-optimal cut-off
// (`coords(r, "best", best.method = "youden")`).
//
// Labels are +1 (cases) and -1 (controls). Direction: Less means controls score lower
// than cases (pROC `direction = "<"`: a subject is called positive when its score is at
// or above the threshold); Greater the reverse (`">"`: positive at or below); Auto picks
// Less when median(controls) <= median(cases), else Greater, as pROC does by default.
//
// Thresholds (pROC roc.utils.thresholds): -inf, the midpoints between consecutive
// distinct scores, +inf, with pROC's adjustment when a midpoint rounds onto one of the
// two scores; listed in pROC's order, from sensitivity 1 to sensitivity 0 (ascending
// for Less, descending for Greater). At each threshold: sensitivity = TP / n_cases,
// specificity = (n_controls - FP) / n_controls.
//
// AUC = P(case scores above control) + P(tie) / 2 in the chosen direction (so AUC >= 0.5
// for Auto unless the medians mislead). DeLong (1988) variance from the placement values
// V10_i (cases) and V01_j (controls): S = var(V10) / n_cases + var(V01) / n_controls
// (sample variances); CI = AUC -+ z_{(1+level)/2} sqrt(S), clipped to [0, 1]; NaN with
// fewer than 2 cases or 2 controls (pROC gives NA).
//
// Youden: maximise sensitivity + specificity over the thresholds. Every threshold that
// attains the maximum (exact equality in double, as pROC) is reported, in the order of
// the curve; the first is `cutoff`.
//
// Errors (ValueError): lengths differ, a non-finite score (its position), a label that is
// not +1/-1, fewer than one case or one control.
#pragma once

#include <cstdint>
#include <vector>

#include "nl/core/linalg.hpp"

namespace nl::stats {

enum class RocDirection { Auto, Less, Greater };

struct Roc {
  RocDirection direction = RocDirection::Less;  // as used (never Auto)
  Eigen::Index n_cases = 0, n_controls = 0;
  double auc = 0;
  double auc_sd = 0;  // DeLong standard deviation
  double ci_low = 0, ci_high = 0;
  double level = 0.95;
  Vector thresholds, sensitivity, specificity;  // the curve, in pROC's order
  std::vector<Eigen::Index> best;               // Youden-optimal rows of the above
  double cutoff = 0, cutoff_sensitivity = 0, cutoff_specificity = 0;
  double youden = 0;  // sensitivity + specificity - 1 at the cut-off
};

Roc roc(const Vector& scores, const Vector& labels, RocDirection direction = RocDirection::Less, double level = 0.95);

// The sensitivity at each given specificity, as pROC's
// coords(r, x = specificities, input = "specificity", ret = "sensitivity"): on the curve
// sorted by increasing specificity, the first point with exactly that specificity (the
// highest sensitivity there), else linear interpolation between the two neighbouring
// points. ValueError for a specificity outside [0, 1].
Vector sensitivity_at(const Roc& r, const Vector& specificities);

// A pointwise confidence band of the ROC curve: pROC's ci.se(r, specificities, boot.n,
// conf.level, boot.stratified = TRUE). Each of `boot` replicates resamples the cases
// and the controls with replacement, separately, builds the replicate's curve in the
// direction of `r`, and reads its sensitivity at each specificity (sensitivity_at); the
// band is the (1 - level) / 2, 0.5 and (1 + level) / 2 quantiles (R's type 7) of those
// over replicates. Replicate k draws from Rng(seed, k), so the band depends on the seed
// only. (The random stream is not R's: the band agrees with pROC's within Monte-Carlo
// error, not digit for digit.)
struct RocBand {
  Vector specificity, lower, median, upper;
  int boot = 0;
  double level = 0.95;
  std::uint64_t seed = 0;
};
RocBand roc_band(const Vector& scores, const Vector& labels, const Roc& r, const Vector& specificities, int boot,
                 double level, std::uint64_t seed);

}  // namespace nl::stats
