// nl/ml/metrics.hpp: binary classification metrics from decision scores, and regression
// metrics of predictions (regression_metrics, at the end).
//
// Inputs everywhere: scores s_i (finite; a decision value, a median score, any
// real-valued predictor where larger means "more +1") and true labels y_i in {+1, -1}.
//
// Classification (METHODS.md, NeuroMiner): s_i > 0 predicts +1, s_i < 0 predicts -1, and
// s_i = 0 exactly predicts nothing: such a sample is counted in no cell of the
// confusion table and in no denominator below (Confusion::undecided counts them).
//
//   sensitivity = TP / (TP + FN)        specificity = TN / (TN + FP)
//   BAC         = (sensitivity + specificity) / 2
//   PPV         = TP / (TP + FP)        NPV         = TN / (TN + FN)
//   accuracy    = (TP + TN) / (TP + TN + FP + FN)
//
// All are fractions in [0, 1] (NeuroMiner prints percentages). A ratio whose
// denominator is 0 is NaN (IEEE 0/0), and BAC is NaN when either half is; nothing
// throws for it, so a fold without, say, predicted positives still reports the rest.
//
// AUC: the Mann-Whitney statistic U / (n_pos n_neg), the probability that a random +1
// sample scores above a random -1 sample, with ties counting 1/2 (Hanley & McNeil
// 1982). Computed from midranks in O(n log n); all scores take part, zeros included.
// It equals the trapezoidal area under roc_curve, scikit-learn's roc_auc_score and
// R pROC's auc().
//
// ROC curve: scikit-learn's roc_curve(y, s, drop_intermediate = False). thresholds are
// the distinct scores in decreasing order, preceded by +infinity; point k has
// tpr = #(+1 with s >= thresholds[k]) / n_pos and fpr = #(-1 with s >= thresholds[k])
// / n_neg, so the curve runs from (0, 0) to (1, 1). (scikit-learn 1.3 and later also start
// at +infinity; 1.2 used max(s) + 1.)
//
// Errors (nl::ValueError): scores and labels of different lengths, a label that is not
// +1 or -1, a non-finite score (naming its 1-based position); for auc and roc_curve also
// an input without both classes, where neither is defined.
#pragma once

#include <cstdint>
#include <string>

#include "nl/core/core.hpp"
#include "nl/core/linalg.hpp"

namespace nl::ml {

struct Confusion {
  std::int64_t TP = 0, TN = 0, FP = 0, FN = 0;
  std::int64_t undecided = 0;  // samples with a score of exactly 0
  double sensitivity = 0, specificity = 0, BAC = 0, PPV = 0, NPV = 0, accuracy = 0;
};

Confusion confusion(const Eigen::Ref<const Vector>& scores, const Eigen::Ref<const Vector>& labels);

double auc(const Eigen::Ref<const Vector>& scores, const Eigen::Ref<const Vector>& labels);

struct RocCurve {
  Vector fpr, tpr, thresholds;  // equal lengths: number of distinct scores + 1
};

RocCurve roc_curve(const Eigen::Ref<const Vector>& scores, const Eigen::Ref<const Vector>& labels);

// Regression metrics of predictions s_i of targets y_i (finite, equal lengths, n >= 2):
//   r    = Pearson correlation of s and y (NaN when either is constant)
//   R^2  = 1 - sum (y - s)^2 / sum (y - mean y)^2  (scikit-learn's r2_score; can be < 0;
//          NaN when y is constant)
//   MAE  = mean |y - s|,  RMSE = sqrt(mean (y - s)^2)
// Errors (nl::ValueError): different lengths, fewer than 2 values, a non-finite value
// (naming its 1-based position).
struct RegressionMetrics {
  std::int64_t n = 0;
  double r = 0, r2 = 0, mae = 0, rmse = 0;
};
RegressionMetrics regression_metrics(const Eigen::Ref<const Vector>& predictions, const Eigen::Ref<const Vector>& targets);

// How a caller's class labels were mapped to +1/-1 (the engine works on +1/-1 only):
// the kind of the original values and the positive (+1) and negative (-1) values as
// text ("responder", "1", "true"; negative is empty when the labels held one class).
// Kept by a nested-CV result to print its classes and to read new labels as training
// did.
struct ClassLabels {
  enum class Kind : std::uint8_t { Number = 0, Boolean = 1, Text = 2 };
  Kind kind = Kind::Number;
  std::string positive = "1", negative = "-1";
};

}  // namespace nl::ml
