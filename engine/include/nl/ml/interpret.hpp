// nl/ml/interpret.hpp: which regions drive a nested-CV model (METHODS.md section 1,
// "Interpretation").
//
// Each base model's SVC weights (zeros for the components the wrapper left out) are
// back-projected through its fitted preprocessing, step by step from the last to the
// first, with Transform::backproject (the transpose of each step's linear part): the
// post-PCA scaling multiplies each component weight by that component's scale factor,
// (Rob)PCA maps component weights to features with its loadings, covariate regression
// leaves them unchanged and pruning puts 0 at the pruned features. By default the
// projection stops at the output of a leading scale step (the paper's "region space":
// every region on the [-1, 1] range of its training data, so weights compare across
// regions); `raw_units` also goes through that scaling, giving weights per unit of the
// input (per ml of GM volume).
//
// Identical base models count once (same CV2 fold, preprocessing, features and SVC:
// with refit_preprocessing the base models of a CV2 fold share their training rows, and
// those with the same features are one fit). Across the M distinct base models, per
// feature: mean and SD (n - 1) of the weights; the CV
// ratio mean / SD (NeuroMiner's default) or mean / (1.96 SD / sqrt(M)) (option
// StandardError, the paper's "standard error" wording); the sign-based consistency of
// Gomez-Verdejo et al. (2019): I = |frac(w > 0) - frac(w < 0)|, Z = I / SD over
// features of I, p = Phi(-Z) (one-sided), and Benjamini-Hochberg q-values; a feature is
// significant when q <= the FDR level. When every feature has the same I the SD is 0
// and Z, p and q are NaN (nothing is significant).
#pragma once

#include "nl/ml/nested_cv.hpp"

namespace nl::ml {

enum class CvrKind { Sd, StandardError };

struct InterpretOptions {
  bool raw_units = false;
  CvrKind cvr = CvrKind::Sd;
  double fdr = 0.05;
};

struct Interpretation {
  std::vector<std::size_t> models;  // the M distinct base models, indices into result.models
  Matrix weights;                   // M distinct base models x p input features
  Vector mean, sd, cvr, frac_pos, frac_neg, consistency, z, p, q;
  std::vector<bool> significant;
};

// The base model's weights on the input features (p_in), as described above.
// p_data: the width of the training data (the input of the first step).
Vector backproject_model(const BaseModel& model, Eigen::Index p_data, bool raw_units);

Interpretation interpret(const NestedCvResult& result, const InterpretOptions& options = {});

}  // namespace nl::ml
