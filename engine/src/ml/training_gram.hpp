// ml/training_gram.hpp (internal): a PCA's cross-product from the cross-product of the
// raw training rows, for the CV1 partitions of a nested CV (issue 21: the partitions of
// one CV2 training set share their rows, and the cross-product of each, n p^2 / 2, was
// the largest single cost of the nested CV at n >= 1,600).
//
// The steps before the PCA map the raw training rows X (n x p) column by column and
// affinely, Y = X(:, src) diag(a) + 1 b' (scale: slopes a; prune: the kept columns),
// with at most one regress_out among them, which projects its input off the span of its
// design D = [1, coded covariates] on the training rows: (I - P_D), P_D = U_r U_r' from
// the thin SVD of D with pinv's rank rule. The PCA centres its input, and both the
// centring and (I - P_D) remove 1 b' (1 is in the span of D), so its cross-product is
//   Yc' Yc = diag(a) [Xc' (I - P) Xc](src, src) diag(a),
// Xc = X - 1 m' for any m, P = P_D (or 1 1' / n without regress_out), and
//   Xc' (I - P) Xc = G - W' W,  G = Xc' Xc (the sum of per-fold blocks), W = U_r' Xc.
#pragma once

#include <vector>

#include "nl/ml/pipeline.hpp"
#include "nl/ml/transform.hpp"

namespace nl::ml::detail {

// Follows the column map of the steps fitted so far.
class GramTrack {
 public:
  explicit GramTrack(Eigen::Index p);
  // After a step is fitted: false (and the track stops) when the step is not scale,
  // prune or a first regress_out.
  bool follow(const Transform& step);
  bool active() const noexcept { return active_; }
  // Yc' Yc of the PCA's input, as above; X: the raw training rows given to
  // fit_preprocessing, covariates theirs.
  Matrix cross(const TrainingGram& gram, const Matrix& X, const Table* covariates) const;

 private:
  std::vector<Eigen::Index> src_;
  Vector a_;
  const RegressOut* project_ = nullptr;
  bool active_ = true;
};

// Whether fit_preprocessing would use a TrainingGram for spec: its first steps are scale,
// prune and at most one regress_out, followed by a pca.
bool uses_training_gram(const PipelineSpec& spec);

// sum over the rows of (X(r, :) - m')' (X(r, :) - m'), the full symmetric p x p matrix
// (lower triangle by a rank update, then mirrored).
Matrix centred_cross(const Matrix& X, const std::vector<Eigen::Index>& rows, const Vector& m);

// The number of rows in the largest of the folds 0..folds-1 of an assignment.
std::size_t largest_fold(const std::vector<int>& assign, int folds);

// centred_cross of each fold's rows (rows[k] in fold assign[k], folds 0..folds-1), or
// none when a CV1 partition (all folds but one) would have fewer rows than columns
// (its PCA is then wide and does not use them).
std::vector<Matrix> fold_blocks(const Matrix& X, const std::vector<Eigen::Index>& rows, const std::vector<int>& assign,
                                int folds, const Vector& m);

// The sum of every block but block `skip`, in block order.
Matrix sum_except(const std::vector<Matrix>& blocks, int skip);

}  // namespace nl::ml::detail
